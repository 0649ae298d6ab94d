/*
 * fuzz_input_file.h - hands a fuzz input to a loader that reads a file:
 * the bytes go into an anonymous memory file, named by its
 * /proc/self/fd path. One file per process, rewritten for every input.
 */
#ifndef TODOKE_FUZZ_INPUT_FILE_H
#define TODOKE_FUZZ_INPUT_FILE_H

#ifndef _GNU_SOURCE
#error "define _GNU_SOURCE before any include (memfd_create)"
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* The path of a file holding exactly data; aborts if it cannot be made. */
static const char *fuzz_input_file(const uint8_t *data, size_t size)
{
	static char path[64];
	static int fd = -1;
	size_t done = 0;

	if (fd < 0) {
		fd = memfd_create("fuzz-input", 0);
		if (fd < 0)
			abort();
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) != 0)
		abort();
	while (done < size) {
		ssize_t n = pwrite(fd, data + done, size - done, (off_t)done);

		if (n <= 0)
			abort();
		done += (size_t)n;
	}
	return path;
}

#endif
