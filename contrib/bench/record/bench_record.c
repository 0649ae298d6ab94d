/*
 * bench_record.c - the CPU cost of the case record codec: a web case in
 * the fixing state as bench_processor generates them (two parties, five
 * clocks, about 1.3 KB), encoded and decoded N times.
 *
 * Usage: bench_record SRCDIR [N]
 *   SRCDIR  the source tree: tests/fuzz/records/case-format1 is the same
 *           case in the GVariant form (format 1), decoded as the baseline
 *   N       repetitions (default 100000)
 *
 * Output: one line per operation, CPU microseconds per call. For counts
 * of instructions, which the machine's load does not move, run it under
 * valgrind --tool=callgrind --toggle-collect=FN with FN encode_format2,
 * decode_format2 (N calls each) or decode_format1 (N / 10 calls).
 */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "case.h"

#define BASE_TIME INT64_C(1767571200) /* 2026-01-05T00:00:00Z */

static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct case_rec *fixing_case(void)
{
	struct case_rec *c = case_new(12345);
	int64_t s = BASE_TIME;
	static const struct cal_period periods[] = {
		{ 5, CAL_BUSINESS_DAYS }, { 20, CAL_BUSINESS_DAYS }, { 3, CAL_MONTHS },
		{ 9, CAL_MONTHS }, { 90, CAL_DAYS },
	};

	c->kind = CASE_KIND_WEB;
	c->state = CS_FIXING;
	c->received = s - 9 * 86400;
	c->accepted = s - 8 * 86400;
	c->stage1_sent = s - 6 * 86400;
	c->contact_received = s - 86400;
	c->stage2_sent = s;
	c->acknowledged = s + 2 * 86400;
	c->investigated = s + 12 * 86400;
	c->last_activity = s;
	c->lang = g_strdup("ja");
	c->title = g_strdup("site12345.example の検索フォームにおけるクロスサイト・スクリプティング");
	c->url = g_strdup("https://site12345.example/search");
	c->vuln_type = g_strdup("クロスサイト・スクリプティング");
	c->threat = g_strdup("利用者のブラウザ上で任意のスクリプトが実行される");
	c->description = g_strdup("検索フォームの入力値が、エスケープされずに結果ページに"
				  "出力されるため、細工したリンクを開いた利用者の"
				  "ブラウザ上で任意のスクリプトが実行される可能性がある。");
	c->impact = 2;
	c->verifiable = 1;
	c->n_events = 2;
	c->report_message_id = g_strdup("report.12345@finder.example");
	case_party_add(c, ROLE_DISCOVERER, NULL, NULL, "ja", NULL, NULL, c->received);
	c->contact_party = (int)case_party_add(c, ROLE_OPERATOR,
					       "webmaster@site12345.example",
					       "サイト運営者", "ja", NULL, NULL, c->accepted);
	for (int id = CLOCK_FIRST_REPLY; id <= CLOCK_LONG_RUNNING; id++) {
		case_clock_start(c, id, s, periods[id - CLOCK_FIRST_REPLY]);
		c->clocks[id].armed_due = s + 86400 * id;
	}
	c->clocks[CLOCK_FIRST_REPLY].active = false;
	c->clocks[CLOCK_INVESTIGATION].active = false;
	return c;
}

static double decode_us(const void *data, size_t len, long n)
{
	double t0 = cpu_s();

	for (long i = 0; i < n; i++) {
		struct case_rec *c = NULL;
		tdk_err err = { "" };

		if (case_decode(data, len, 12345, &c, &err) != TDK_OK) {
			fprintf(stderr, "bench_record: %s\n", err.text);
			exit(1);
		}
		case_free(c);
	}
	return (cpu_s() - t0) / (double)n * 1e6;
}

/* Apart, so that callgrind can count each one's instructions. */
G_GNUC_NO_INLINE static double decode_format2(GBytes *rec, long n)
{
	return decode_us(g_bytes_get_data(rec, NULL), g_bytes_get_size(rec), n);
}

G_GNUC_NO_INLINE static double decode_format1(const char *data, size_t len, long n)
{
	return decode_us(data, len, n);
}

G_GNUC_NO_INLINE static double encode_format2(const struct case_rec *c, long n)
{
	double t0 = cpu_s();

	for (long i = 0; i < n; i++) {
		GBytes *rec;

		if (case_encode(c, &rec, NULL) != TDK_OK)
			exit(1);
		g_bytes_unref(rec);
	}
	return (cpu_s() - t0) / (double)n * 1e6;
}

int main(int argc, char **argv)
{
	struct case_rec *c;
	GBytes *rec;
	g_autofree char *path = NULL, *v1 = NULL;
	gsize v1_len;
	long n = argc > 2 ? atol(argv[2]) : 100000;
	double enc;

	if (argc < 2 || argc > 3 || n < 1) {
		fprintf(stderr, "usage: bench_record SRCDIR [N]\n");
		return 2;
	}
	path = g_build_filename(argv[1], "tests", "fuzz", "records", "case-format1", NULL);
	if (!g_file_get_contents(path, &v1, &v1_len, NULL)) {
		fprintf(stderr, "bench_record: cannot read %s\n", path);
		return 2;
	}
	c = fixing_case();
	enc = encode_format2(c, n);
	if (case_encode(c, &rec, NULL) != TDK_OK)
		return 1;
	printf("encode  format 2  %5zu bytes  %8.2f us\n", g_bytes_get_size(rec), enc);
	printf("decode  format 2  %5zu bytes  %8.2f us\n", g_bytes_get_size(rec),
	       decode_format2(rec, n));
	printf("decode  format 1  %5zu bytes  %8.2f us (baseline)\n", v1_len,
	       decode_format1(v1, v1_len, n / 10 > 0 ? n / 10 : 1));
	g_bytes_unref(rec);
	case_free(c);
	return 0;
}
