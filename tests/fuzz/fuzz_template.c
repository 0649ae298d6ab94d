/*
 * fuzz_template.c - libFuzzer harness for the notice template loader.
 *
 * The input is parsed as a template under several file names (a case
 * notice, a desk-wide one, a staff one, an attachment), so that seeds
 * from rules/templates load whatever their header says. Every template
 * that loads is rendered for each audience it declares, with a fixed
 * case; a crash is any of:
 *   - a template for an operator, developer or coordinator that names
 *     the discoverer's personal data and still loaded;
 *   - such an audience rendered with personal data without refusal;
 *   - a rendered subject with a control character, or a body that does
 *     not end in a newline, or is not valid UTF-8.
 * The rules file is read once, from $TOP_SRCDIR/rules or else the source
 * tree this harness was built from.
 */
#include <gmime/gmime.h>
#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template.h"

#ifndef FUZZ_RULES_DIR
#define FUZZ_RULES_DIR "rules"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = {
	"stage2.txt", "acknowledgement.txt", "staff-notice.txt", "digest.txt",
	"fix-report-form.txt",
};
static const char *const audiences[] = {
	"discoverer", "operator", "developer", "coordinator", "staff",
};

struct world {
	const struct rules *rules;
	struct cal *cal;
	const struct tdk_config *config;
	struct case_rec *c;
	struct pii_rec pii;
};

static struct world *world(void)
{
	static struct world w;
	const char *srcdir;
	char *dir;
	tdk_err err;

	if (w.rules != NULL)
		return &w;
	g_mime_init();
	srcdir = getenv("TOP_SRCDIR");
	dir = srcdir != NULL ? g_strdup_printf("%s/rules", srcdir) : g_strdup(FUZZ_RULES_DIR);
	if (rules_load_dir(dir, &w.rules, &err) != TDK_OK ||
	    rules_build_calendar(w.rules, "Asia/Tokyo", &w.cal, &err) != TDK_OK ||
	    conf_load(NULL, NULL, 0, &w.config, &err) != TDK_OK) {
		fprintf(stderr, "fuzz_template: %s\n", err.text);
		abort();
	}
	g_free(dir);
	w.c = case_new(7);
	w.c->kind = CASE_KIND_WEB;
	w.c->state = CS_DETAIL_SENT;
	w.c->url = g_strdup("https://www.example.co.jp/a\r\nb");
	w.c->vuln_type = g_strdup("XSS");
	w.c->received = 1800000000;
	w.c->stage2_sent = 1800100000;
	case_party_add(w.c, ROLE_DISCOVERER, NULL, NULL, "ja", NULL, NULL, 1800000000);
	case_party_add(w.c, ROLE_OPERATOR, "op@example.co.jp", "Op\r\nBcc: x", "ja", NULL,
		       "Tokyo", 1800000000);
	case_party_add(w.c, ROLE_DEVELOPER, "dev@example.com", NULL, "en", NULL, NULL,
		       1800000000);
	case_party_add(w.c, ROLE_COORDINATOR, "co@example.org", NULL, "ja", NULL, NULL,
		       1800000000);
	w.pii.name = "山田太郎";
	w.pii.address = "taro@discoverer.example";
	return &w;
}

static bool subject_clean(const char *s)
{
	if (!g_utf8_validate(s, -1, NULL))
		return false;
	for (const char *p = s; *p != '\0'; p = g_utf8_next_char(p)) {
		gunichar ch = g_utf8_get_char(p);

		if (ch < 0x20 || ch == 0x7f || (ch >= 0x80 && ch < 0xa0) || ch == 0x2028 ||
		    ch == 0x2029)
			return false;
	}
	return true;
}

static void render_for(struct world *w, const struct template *tp, int party,
		       const char *audience)
{
	struct outbox_item it = { .notice = (char *)template_notice(tp),
				  .audience = (char *)audience, .party = party,
				  .lang = party == 2 ? "en" : "ja", .detail = "d\r\nx",
				  .attempt = 2, .created = 1800200000 };
	bool sees = template_audience_sees_pii(audience);
	struct render_input in = { .c = w->c, .item = &it, .rules = w->rules, .cal = w->cal,
				   .config = w->config, .pii = sees ? &w->pii : NULL,
				   .now = 1800200000 };
	char *subject = NULL, *body = NULL;
	tdk_err err = { "" };
	int rc = template_render_with(tp, &in, &subject, &body, &err);

	if (rc == TDK_OK) {
		size_t n = strlen(body);

		if (!subject_clean(subject) || n == 0 || body[n - 1] != '\n' ||
		    !g_utf8_validate(body, -1, NULL)) {
			fprintf(stderr, "bad rendering for the %s:\nsubject: %s\nbody: %s\n",
				audience, subject, body);
			__builtin_trap();
		}
		g_free(subject);
		g_free(body);
	} else if (rc != TDK_ELIMIT) {
		/* a template that loaded renders for its audiences */
		fprintf(stderr, "render for the %s failed: %s\n", audience, err.text);
		__builtin_trap();
	}
	if (!sees) {
		/* Personal data offered to such an audience is refused. */
		in.pii = &w->pii;
		if (template_render_with(tp, &in, &subject, &body, NULL) != TDK_EPERM)
			__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct world *w = world();

	for (size_t k = 0; k < G_N_ELEMENTS(names); k++) {
		struct template *tp = NULL;

		if (template_parse(names[k], (const char *)data, size, &tp, NULL) != TDK_OK) {
			if (tp != NULL)
				__builtin_trap(); /* nothing is returned on failure */
			continue;
		}
		for (size_t a = 0; a < G_N_ELEMENTS(audiences); a++) {
			bool sees = template_audience_sees_pii(audiences[a]);

			if (!template_has_audience(tp, audiences[a]))
				continue;
			if (!sees && template_uses_pii(tp))
				__builtin_trap(); /* must have been refused at load time */
			render_for(w, tp, a == 4 ? -1 : (int)a, audiences[a]);
		}
		template_free(tp);
	}
	return 0;
}
