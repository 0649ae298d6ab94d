/*
 * bench_outbox.c - the outbox benchmark: what rendering, signing and
 * encrypting a notice costs through todoke's own code, against gpg run
 * directly on the same bodies; and delivery through outbound.sendmail.
 *
 *   bench_outbox -c CONF [-o NAME=VALUE]... [-n N] [-s SLICES] -k FPR -w DIR sign
 *   bench_outbox -c CONF [-o NAME=VALUE]... -w DIR -d SINKDIR deliver|sendmail
 *   bench_outbox -c CONF [-o NAME=VALUE]... -w DIR [-H HISTORY] [-n N] pass
 *
 * sign: N stage-2 notices (the operator template, with its attachment)
 * rendered, signed and built through engine_render_notice() (as delivery
 * does), then N rendered, signed and encrypted to FPR; the baselines are
 * `gpg --detach-sign --armor` and `gpg --sign --encrypt --armor -r FPR`
 * (one gpg per body, as GPGME runs one per operation) on the very bodies
 * the notices signed. The four rows are interleaved in SLICES slices so
 * that background load hits all of them alike. The signed notices are
 * written to DIR/N.eml for the delivery rows.
 *
 * deliver: the notices of DIR are put in a fresh store as queued intents
 * of one case and handed over by engine_deliver() to outbound.sendmail;
 * sendmail: the same messages, each through outbound.sendmail with the
 * same argument vector, by a plain fork and exec. Both time from the
 * first hand-over until SINKDIR holds every message.
 *
 * pass: a store whose outbox holds HISTORY notices sent before (to 5,000
 * recipients of 5,000 cases over 30 days, each keeping DIR/1.eml as its
 * message), then N (at most 20, the daily cap) queued notices to the
 * bench case's operator: engine_deliver() renders, signs and hands them
 * over (outbound.sendmail, a cat to /dev/null in the run script), counting each
 * recipient's cap and threading each; then one more pass with nothing
 * due. What the size of the outbox costs a delivery pass.
 *
 * Prints one line per row: name, count, seconds, per second.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gmime/gmime.h>

#include "case.h"
#include "conf.h"
#include "engine.h"
#include "outbox.h"
#include "sign.h"
#include "store.h"

extern char **environ;

#define OPERATOR_ADDRESS "security@operator.example"

static double cpu_self_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
	       ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
}

static double cpu_children_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_CHILDREN, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
	       ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void __attribute__((format(printf, 1, 2), noreturn)) die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "bench_outbox: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static struct case_rec *bench_case(const char *key)
{
	struct case_rec *c = case_new(1);

	c->kind = CASE_KIND_WEB;
	c->state = CS_DETAIL_SENT;
	c->lang = g_strdup("ja");
	c->url = g_strdup("https://www.operator.example/search");
	c->vuln_type = g_strdup("クロスサイト・スクリプティング");
	c->description = g_strdup("検索欄に入力した文字列がエスケープされずに結果ページに"
				  "出力されるため、任意のスクリプトが実行されます。");
	c->threat = g_strdup("利用者のブラウザ上で任意のスクリプトが実行される可能性");
	case_party_add(c, ROLE_DISCOVERER, NULL, NULL, "ja", NULL, NULL, 0);
	case_party_add(c, ROLE_OPERATOR, OPERATOR_ADDRESS, "Operator 株式会社", "ja", key,
		       NULL, 0);
	return c;
}

static struct outbox_item *bench_item(uint64_t id)
{
	struct outbox_item *o = g_new0(struct outbox_item, 1);

	o->id = id;
	o->case_number = 1;
	o->notice = g_strdup("stage2");
	o->audience = g_strdup("operator");
	o->party = 1;
	o->to = g_strdup(OPERATOR_ADDRESS);
	o->lang = g_strdup("ja");
	o->state = g_strdup(OUTBOX_QUEUED);
	o->message_id = g_strdup_printf("todoke.IPA-00000001.n%" G_GUINT64_FORMAT "@localhost", id);
	return o;
}

/* The first part of a multipart/signed message: the signed body. */
static GBytes *signed_body(GBytes *msg)
{
	gsize len;
	const char *p = g_bytes_get_data(msg, &len);
	GMimeStream *s = g_mime_stream_mem_new_with_buffer(p, len);
	GMimeParser *parser = g_mime_parser_new_with_stream(s);
	GMimeMessage *m = g_mime_parser_construct_message(parser, NULL);
	GMimeObject *top = m != NULL ? g_mime_message_get_mime_part(m) : NULL;
	GMimeStream *out = g_mime_stream_mem_new();
	GByteArray *arr;
	GBytes *b;

	if (top == NULL || !GMIME_IS_MULTIPART_SIGNED(top))
		die("%s", "a signed notice is not multipart/signed");
	g_mime_object_write_to_stream(g_mime_multipart_get_part(GMIME_MULTIPART(top), 0),
				      NULL, out);
	arr = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(out));
	b = g_bytes_new(arr->data, arr->len);
	g_object_unref(out);
	g_object_unref(m);
	g_object_unref(parser);
	g_object_unref(s);
	return b;
}

/* Runs argv with stdin_fd (or nothing) as its standard input and its
 * output to /dev/null, by posix_spawn as delivery does: its exit status. */
static int run(char *const argv[], int stdin_fd)
{
	posix_spawn_file_actions_t fa;
	int status, e;
	pid_t pid;

	posix_spawn_file_actions_init(&fa);
	if (stdin_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, stdin_fd, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	e = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (e != 0)
		die("cannot run %s: %s", argv[0], strerror(e));
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid: %s", strerror(errno));
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

struct row {
	const char *name;
	double seconds;
	int n;
	double self_cpu, child_cpu; /* seconds */
};

static void print_row(const struct row *r)
{
	printf("%-36s %6d %9.3f %9.2f %8.2f %8.2f\n", r->name, r->n, r->seconds,
	       r->seconds > 0 ? r->n / r->seconds : 0.0,
	       r->n > 0 ? r->self_cpu * 1000 / r->n : 0.0,
	       r->n > 0 ? r->child_cpu * 1000 / r->n : 0.0);
}

static void row_start(double *t)
{
	t[0] = now_s();
	t[1] = cpu_self_s();
	t[2] = cpu_children_s();
}

static void row_end(struct row *r, const double *t)
{
	r->seconds += now_s() - t[0];
	r->self_cpu += cpu_self_s() - t[1];
	r->child_cpu += cpu_children_s() - t[2];
}

static int cmd_sign(struct engine *eng, int n, int slices, const char *key,
		    const char *dir, const char *home)
{
	struct case_rec *c = bench_case(key);
	struct row rows[4] = { { "render+sign (todoke)", 0, 0, 0, 0 },
			       { "gpg --detach-sign", 0, 0, 0, 0 },
			       { "render+sign+encrypt (todoke)", 0, 0, 0, 0 },
			       { "gpg --sign --encrypt", 0, 0, 0, 0 } };
	g_autofree char *gpg = g_find_program_in_path("gpg");
	tdk_err err;
	int done = 0;

	if (gpg == NULL)
		die("%s", "gpg is not installed");
	for (int s = 0; s < slices; s++) {
		int upto = (int)((long)n * (s + 1) / slices);
		double t[3], u[3];

		/* render + sign */
		row_start(t);
		for (int i = done; i < upto; i++) {
			struct outbox_item *o = bench_item((uint64_t)i + 1);
			g_autofree char *path = g_strdup_printf("%s/%d.eml", dir, i + 1);
			GBytes *body;
			gsize len;
			const char *p;

			if (engine_render_notice(eng, o, c, NULL, OPERATOR_ADDRESS, NULL,
						 1803862800, &err) != TDK_OK)
				die("render: %s", err.text);
			rows[0].n++;
			/* untimed: keep the message and its body for the others */
			row_end(&rows[0], t);
			p = g_bytes_get_data(o->rendered, &len);
			if (!g_file_set_contents(path, p, (gssize)len, NULL))
				die("cannot write %s", path);
			body = signed_body(o->rendered);
			p = g_bytes_get_data(body, &len);
			g_free(path);
			path = g_strdup_printf("%s/%d.body", dir, i + 1);
			if (!g_file_set_contents(path, p, (gssize)len, NULL))
				die("cannot write %s", path);
			g_bytes_unref(body);
			outbox_item_free(o);
			row_start(t);
		}
		row_end(&rows[0], t);
		/* gpg --detach-sign on the same bodies */
		row_start(u);
		for (int i = done; i < upto; i++) {
			g_autofree char *in = g_strdup_printf("%s/%d.body", dir, i + 1);
			g_autofree char *out = g_strdup_printf("%s/%d.sig", dir, i + 1);
			char *argv[] = { gpg, "--batch", "--yes", "--homedir", (char *)home,
					 "-u", (char *)sign_desk_key(eng->signer), "--armor",
					 "--detach-sign", "-o", out, in, NULL };

			if (run(argv, -1) != 0)
				die("%s", "gpg --detach-sign failed");
			rows[1].n++;
		}
		row_end(&rows[1], u);
		/* render + sign + encrypt */
		row_start(u);
		for (int i = done; i < upto; i++) {
			struct outbox_item *o = bench_item((uint64_t)i + 1);

			if (engine_render_notice(eng, o, c, NULL, OPERATOR_ADDRESS, key,
						 1803862800, &err) != TDK_OK)
				die("render and encrypt: %s", err.text);
			rows[2].n++;
			outbox_item_free(o);
		}
		row_end(&rows[2], u);
		/* gpg --sign --encrypt on the same bodies */
		row_start(u);
		for (int i = done; i < upto; i++) {
			g_autofree char *in = g_strdup_printf("%s/%d.body", dir, i + 1);
			g_autofree char *out = g_strdup_printf("%s/%d.pgp", dir, i + 1);
			char *argv[] = { gpg, "--batch", "--yes", "--homedir", (char *)home,
					 "-u", (char *)sign_desk_key(eng->signer),
					 "--trust-model", "always", "--armor", "--sign",
					 "--encrypt", "-r", (char *)key, "-o", out, in, NULL };

			if (run(argv, -1) != 0)
				die("%s", "gpg --sign --encrypt failed");
			rows[3].n++;
		}
		row_end(&rows[3], u);
		done = upto;
	}
	printf("%-36s %6s %9s %9s %8s %8s\n", "row", "n", "seconds", "per s",
	       "self ms", "child ms");
	for (int i = 0; i < 4; i++)
		print_row(&rows[i]);
	printf("ratio sign %.2f\nratio encrypt %.2f\n", rows[0].seconds / rows[1].seconds,
	       rows[2].seconds / rows[3].seconds);
	case_free(c);
	return 0;
}

static int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		die("cannot open %s", dir);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static double wait_sink(const char *sink, int want, double t0)
{
	while (count_files(sink) < want) {
		if (now_s() - t0 > 600)
			die("%s", "the sink did not get every message in 600 s");
		usleep(20000);
	}
	return now_s() - t0;
}

static int count_messages(const char *dir)
{
	int n = 0;

	for (;; n++) {
		g_autofree char *p = g_strdup_printf("%s/%d.eml", dir, n + 1);

		if (!g_file_test(p, G_FILE_TEST_EXISTS))
			return n;
	}
}

static int cmd_deliver(struct engine *eng, const struct tdk_config *cfg, const char *dir,
		       const char *sink, bool through_engine)
{
	int n = count_messages(dir), base = count_files(sink);
	struct row r = { through_engine ? "deliver (engine_deliver, sendmail)"
					: "sendmail alone (posix_spawn)",
			 0, n, 0, 0 };
	double t0, handover;
	tdk_err err;

	if (n == 0)
		die("no messages in %s (run sign first)", dir);
	if (through_engine) {
		struct case_rec *c = bench_case(NULL);
		struct store_txn *txn = NULL;
		struct engine_stats stats = { 0 };

		if (store_begin(eng->store, true, &txn, &err) != TDK_OK ||
		    store_case_put(txn, c, eng->cal, &err) != TDK_OK)
			die("store: %s", err.text);
		for (int i = 0; i < n; i++) {
			struct outbox_item *o = bench_item(0);

			g_free(o->message_id);
			o->message_id = g_strdup_printf("todoke.IPA-00000001.n%d@localhost", i + 1);
			g_autofree char *path = g_strdup_printf("%s/%d.eml", dir, i + 1);
			char *data;
			gsize len;

			if (!g_file_get_contents(path, &data, &len, NULL))
				die("cannot read %s", path);
			o->rendered = g_bytes_new_take(data, len);
			o->recipient = g_strdup(OPERATOR_ADDRESS);
			if (store_outbox_put(txn, o, &err) != TDK_OK)
				die("store: %s", err.text);
			outbox_item_free(o);
		}
		if (store_commit(txn, &err) != TDK_OK)
			die("store: %s", err.text);
		case_free(c);
		t0 = now_s();
		if (engine_deliver(eng, 1803862800, (size_t)n, &stats, &err) != TDK_OK)
			die("deliver: %s", err.text);
		if (stats.sent != (size_t)n)
			die("%s", "not every notice was sent");
	} else {
		t0 = now_s();
		for (int i = 0; i < n; i++) {
			g_autofree char *path = g_strdup_printf("%s/%d.eml", dir, i + 1);
			g_autofree char *sender =
				g_strdup_printf("vuln-bounce+n%d@localhost", i + 1);
			char *argv[] = { cfg->outbound_sendmail, "-i", "-f", sender, "--",
					 OPERATOR_ADDRESS, NULL };
			int fd = open(path, O_RDONLY);

			if (fd < 0 || run(argv, fd) != 0)
				die("%s failed", cfg->outbound_sendmail);
			close(fd);
		}
	}
	handover = now_s() - t0;
	r.seconds = wait_sink(sink, base + n, t0);
	printf("%-36s %6d %9.3f %9.2f  (hand-over %.3f s)\n", r.name, r.n, r.seconds,
	       r.n / r.seconds, handover);
	return 0;
}

/* HISTORY sent notices of other cases, in commits of 10,000. */
static void fill_history(struct engine *eng, const char *dir, int history, int64_t now)
{
	g_autofree char *path = g_strdup_printf("%s/1.eml", dir);
	struct store_txn *txn = NULL;
	GBytes *message;
	char *data;
	gsize len;
	tdk_err err;

	if (!g_file_get_contents(path, &data, &len, NULL))
		die("cannot read %s (run sign first)", path);
	message = g_bytes_new_take(data, len);
	for (int i = 0; i < history; i++) {
		struct outbox_item *o = bench_item(0);

		if (txn == NULL && store_begin(eng->store, true, &txn, &err) != TDK_OK)
			die("store: %s", err.text);
		o->case_number = 2 + (uint64_t)(i % 5000);
		g_free(o->to);
		o->to = g_strdup_printf("operator%d@example.jp", i % 5000);
		o->recipient = g_strdup(o->to);
		g_free(o->state);
		o->state = g_strdup(OUTBOX_SENT);
		o->sent = now - (int64_t)(i % 60) * 12 * 3600 - 60;
		o->rendered = g_bytes_ref(message);
		g_free(o->message_id);
		o->message_id = g_strdup_printf("todoke.history.n%d@localhost", i + 1);
		if (store_outbox_put(txn, o, &err) != TDK_OK)
			die("store: %s", err.text);
		outbox_item_free(o);
		if ((i + 1) % 10000 == 0 || i + 1 == history) {
			if (store_commit(txn, &err) != TDK_OK)
				die("store: %s", err.text);
			txn = NULL;
		}
	}
	g_bytes_unref(message);
}

static int cmd_pass(struct engine *eng, const char *dir, int history, int n)
{
	const int64_t now = 1803862800;
	struct case_rec *c = bench_case(NULL);
	struct store_txn *txn = NULL;
	struct engine_stats stats = { 0 };
	double t0, fill, cpu0, send, idle;
	tdk_err err;

	if (n > 20)
		n = 20;
	t0 = now_s();
	fill_history(eng, dir, history, now);
	fill = now_s() - t0;
	if (store_begin(eng->store, true, &txn, &err) != TDK_OK ||
	    store_case_put(txn, c, eng->cal, &err) != TDK_OK)
		die("store: %s", err.text);
	for (int i = 0; i < n; i++) {
		struct outbox_item *o = bench_item(0);

		g_free(o->message_id);
		o->message_id = g_strdup_printf("todoke.IPA-00000001.p%d@localhost", i + 1);
		if (store_outbox_put(txn, o, &err) != TDK_OK)
			die("store: %s", err.text);
		outbox_item_free(o);
	}
	if (store_commit(txn, &err) != TDK_OK)
		die("store: %s", err.text);
	case_free(c);
	cpu0 = cpu_self_s();
	t0 = now_s();
	if (engine_deliver(eng, now, (size_t)n, &stats, &err) != TDK_OK)
		die("deliver: %s", err.text);
	send = now_s() - t0;
	if (stats.sent != (size_t)n)
		die("%zu of %d notices were sent", stats.sent, n);
	printf("%-36s %6d %9.3f %9.2f  (%.1f ms a notice, self %.1f ms; %d sent before, "
	       "stored in %.1f s)\n", "pass: render, sign, hand over", n, send, n / send,
	       1000 * send / n, 1000 * (cpu_self_s() - cpu0) / n, history, fill);
	t0 = now_s();
	if (engine_deliver(eng, now + 60, (size_t)n, &stats, &err) != TDK_OK)
		die("deliver: %s", err.text);
	idle = now_s() - t0;
	printf("%-36s %6d %9.4f  (%.2f ms)\n", "pass: nothing due", 0, idle, 1000 * idle);
	return 0;
}

int main(int argc, char **argv)
{
	const char *conf = NULL, *key = NULL, *dir = NULL, *sink = NULL;
	GPtrArray *overrides = g_ptr_array_new();
	const struct tdk_config *cfg = NULL;
	struct engine *eng = NULL;
	int n = 1000, slices = 10, history = 20000, opt, rc;
	tdk_err err;

	while ((opt = getopt(argc, argv, "c:o:n:s:k:w:d:H:")) != -1) {
		switch (opt) {
		case 'c': conf = optarg; break;
		case 'o': g_ptr_array_add(overrides, optarg); break;
		case 'n': n = atoi(optarg); break;
		case 's': slices = atoi(optarg); break;
		case 'k': key = optarg; break;
		case 'w': dir = optarg; break;
		case 'd': sink = optarg; break;
		case 'H': history = atoi(optarg); break;
		default: die("%s", "usage: see the comment at the top of bench_outbox.c");
		}
	}
	if (optind != argc - 1 || conf == NULL || dir == NULL || n < 1 || slices < 1 ||
	    history < 0 ||
	    slices > n)
		die("%s", "usage: see the comment at the top of bench_outbox.c");
	g_mime_init();
	if (conf_load(conf, (const char *const *)overrides->pdata, overrides->len, &cfg,
		      &err) != TDK_OK)
		die("config: %s", err.text);
	if (engine_open(cfg, ENGINE_NO_SPOOL, &eng, &err) != TDK_OK)
		die("engine: %s", err.text);
	if (strcmp(argv[optind], "sign") == 0) {
		if (key == NULL)
			die("%s", "sign needs -k FPR");
		rc = cmd_sign(eng, n, slices, key, dir, cfg->gnupg_home);
	} else if (strcmp(argv[optind], "deliver") == 0 ||
		   strcmp(argv[optind], "sendmail") == 0) {
		if (sink == NULL)
			die("%s", "deliver and sendmail need -d SINKDIR");
		rc = cmd_deliver(eng, cfg, dir, sink, strcmp(argv[optind], "deliver") == 0);
	} else if (strcmp(argv[optind], "pass") == 0) {
		rc = cmd_pass(eng, dir, history, n);
	} else {
		die("unknown mode %s", argv[optind]);
	}
	engine_close(eng);
	conf_free(cfg);
	g_ptr_array_unref(overrides);
	g_mime_shutdown();
	return rc;
}
