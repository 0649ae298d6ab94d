/*
 * ctl_render.c - `todokectl render`: a notice as its recipient would see
 * it, and `todokectl render --check`.
 *
 * Owns: the arguments and output of render. A preview builds the notice
 * intent the processor would make (notice, audience, the party of that
 * role, its language, the case's reason code as detail, the contact
 * attempt) and renders it with the loaded templates, without sending or
 * storing anything. The discoverer's personal data is read only for a
 * notice to the discoverer or to staff.
 */
#include "config.h"

#include <gmime/gmime.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clock.h"
#include "ctl.h"
#include "engine.h"
#include "json_print.h"
#include "template.h"

struct render_args {
	bool check, json;
	const char *notice, *case_arg, *audience, *lang, *detail;
	int attempt;           /* -1: from the case */
	int64_t now;
};

static int usage(const struct ctl_env *env)
{
	return ctl_usage_error(env, "usage: render --check | render NOTICE [CASE] "
			       "[--audience A] [--lang ja|en] [--now ISO] "
			       "[--detail TEXT] [--attempt N] [--json]");
}

static int parse_args(const struct ctl_env *env, int argc, char **argv,
		      struct render_args *a)
{
	struct tdk_clock clock;
	int positional = 0;
	tdk_err err;

	memset(a, 0, sizeof *a);
	a->attempt = -1;
	tdk_clock_init_system(&clock);
	a->now = tdk_clock_now(&clock);
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		bool has_value = i + 1 < argc;

		if (strcmp(o, "--check") == 0) {
			a->check = true;
		} else if (strcmp(o, "--json") == 0) {
			a->json = true;
		} else if (strcmp(o, "--audience") == 0 && has_value) {
			a->audience = argv[++i];
		} else if (strcmp(o, "--lang") == 0 && has_value) {
			a->lang = argv[++i];
			if (strcmp(a->lang, "ja") != 0 && strcmp(a->lang, "en") != 0)
				return ctl_usage_error(env, "--lang: ja or en, not '%s'", a->lang);
		} else if (strcmp(o, "--detail") == 0 && has_value) {
			a->detail = argv[++i];
		} else if (strcmp(o, "--attempt") == 0 && has_value) {
			guint64 v;

			if (!g_ascii_string_to_unsigned(argv[++i], 10, 0, 100, &v, NULL))
				return ctl_usage_error(env, "--attempt: a number 0 to 100");
			a->attempt = (int)v;
		} else if (strcmp(o, "--now") == 0 && has_value) {
			if (cal_parse_instant(argv[++i], &a->now, &err) != TDK_OK)
				return ctl_usage_error(env, "--now: %s", err.text);
		} else if (o[0] == '-' && o[1] != '\0') {
			return usage(env);
		} else if (positional == 0) {
			a->notice = o;
			positional++;
		} else if (positional == 1) {
			a->case_arg = o;
			positional++;
		} else {
			return usage(env);
		}
	}
	if (a->check ? positional != 0 : positional == 0)
		return usage(env);
	return 0;
}

static int check(const struct ctl_env *env)
{
	const struct templates *t = NULL;
	tdk_err err;

	if (templates_load(env->config->rules_dir, &t, &err) != TDK_OK) {
		fprintf(stderr, "%s: %s\n", env->program, err.text);
		return EXIT_USAGE;
	}
	printf("%zu templates in %s/%s (ja, en): ok\n", templates_count(t),
	       env->config->rules_dir, TEMPLATE_DIR);
	templates_free(t);
	return 0;
}

static int parse_case(const struct ctl_env *env, const char *text, uint64_t *number)
{
	const char *prefix = env->config->case_prefix;
	size_t plen = strlen(prefix);
	guint64 v;

	if (g_ascii_strncasecmp(text, prefix, plen) == 0)
		text += plen;
	if (*text == '\0' || strlen(text) > (size_t)env->config->case_width ||
	    !g_ascii_string_to_unsigned(text, 10, 1, G_MAXUINT64, &v, NULL))
		return ctl_usage_error(env, "'%s' is not a case number", text);
	*number = v;
	return 0;
}

/* The party a notice to audience goes to: the discoverer; or the contact
 * party when it has that role, else the first party of the role; -1 for
 * staff or when the case has none. */
static int party_for(const struct case_rec *c, const char *audience)
{
	int role = case_role_from_name(audience);
	int p = c != NULL && c->contact_party >= 0 &&
			(size_t)c->contact_party < c->n_parties
		? c->contact_party : -1;

	if (c == NULL || role == 0 || strcmp(audience, "staff") == 0)
		return -1;
	if (p >= 0 && c->parties[p].role == role)
		return p;
	return case_party_find_role(c, role);
}

static bool attempts_notice(const char *notice)
{
	return strcmp(notice, "stage1") == 0 || strcmp(notice, "stage1-reminder") == 0 ||
	       strcmp(notice, "contact-reminder") == 0 ||
	       strcmp(notice, "postal-letter") == 0;
}

static void print_json(const struct outbox_item *it, const char *to,
		       const char *subject, const char *body, GPtrArray *attachments)
{
	g_autoptr(JsonBuilder) b = json_builder_new();

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "notice");
	json_builder_add_string_value(b, it->notice);
	json_builder_set_member_name(b, "audience");
	json_builder_add_string_value(b, it->audience);
	json_builder_set_member_name(b, "lang");
	json_builder_add_string_value(b, it->lang);
	json_builder_set_member_name(b, "to");
	if (to != NULL)
		json_builder_add_string_value(b, to);
	else
		json_builder_add_null_value(b);
	json_builder_set_member_name(b, "subject");
	json_builder_add_string_value(b, subject);
	json_builder_set_member_name(b, "body");
	json_builder_add_string_value(b, body);
	json_builder_set_member_name(b, "attachments");
	json_builder_begin_array(b);
	for (guint i = 0; i + 1 < attachments->len; i += 2) {
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "filename");
		json_builder_add_string_value(b, g_ptr_array_index(attachments, i));
		json_builder_set_member_name(b, "body");
		json_builder_add_string_value(b, g_ptr_array_index(attachments, i + 1));
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_end_object(b);
	json_print_builder(b);
}

static int render_one(const struct ctl_env *env, struct engine *eng,
		      const struct render_args *a, struct case_rec *c)
{
	struct outbox_item it = { 0 };
	struct render_input in = { 0 };
	struct pii_rec *pii = NULL;
	g_autofree char *subject = NULL, *body = NULL;
	GPtrArray *attachments = g_ptr_array_new_with_free_func(g_free);
	const char *to = NULL;
	tdk_err err;
	int rc;

	it.notice = (char *)a->notice;
	it.audience = (char *)(a->audience != NULL
				       ? a->audience
				       : template_default_audience(a->notice,
								   c != NULL ? c->kind : 0));
	it.party = party_for(c, it.audience);
	if (a->lang != NULL)
		it.lang = (char *)a->lang;
	else if (it.party >= 0 && c->parties[it.party].lang != NULL)
		it.lang = c->parties[it.party].lang;
	else if (c != NULL && strcmp(it.audience, "discoverer") == 0 && c->lang != NULL)
		it.lang = c->lang;
	else
		it.lang = "ja";
	it.detail = (char *)a->detail;
	if (it.detail == NULL && c != NULL)
		it.detail = c->reason_code;
	it.attempt = a->attempt >= 0 ? a->attempt
		     : c != NULL && attempts_notice(a->notice) ? c->contact_attempts : 0;
	it.case_number = c != NULL ? c->number : 0;
	it.created = it.updated = a->now;
	if (strcmp(it.audience, "staff") == 0)
		to = env->config->control_address;
	else if (it.party >= 0 && c->parties[it.party].role != ROLE_DISCOVERER)
		to = c->parties[it.party].address;
	if (c != NULL && template_audience_sees_pii(it.audience) &&
	    store_pii_get(eng->store, c->number, &pii, NULL) != TDK_OK)
		pii = NULL;
	in = (struct render_input){ .c = c, .item = &it, .rules = eng->rules,
				    .cal = eng->cal, .config = env->config,
				    .pii = pii, .now = a->now };
	rc = template_render(eng->templates, &in, &subject, &body, &err);
	for (size_t i = 0; rc == TDK_OK; i++) {
		char *name = NULL, *text = NULL;
		int arc = template_render_attachment(eng->templates, &in, i, &name, &text, &err);

		if (arc == TDK_ENOENT)
			break;
		rc = arc;
		if (rc == TDK_OK) {
			g_ptr_array_add(attachments, name);
			g_ptr_array_add(attachments, text);
		}
	}
	pii_rec_free(pii);
	if (rc != TDK_OK) {
		fprintf(stderr, "%s: %s\n", env->program, err.text);
		g_ptr_array_unref(attachments);
		return rc == TDK_EPERM || rc == TDK_ENOENT ? EXIT_USAGE : EXIT_NO;
	}
	if (a->json) {
		print_json(&it, to, subject, body, attachments);
	} else {
		if (strcmp(it.audience, "discoverer") == 0)
			printf("To: (the discoverer)\n");
		else
			printf("To: %s\n", to != NULL ? to : "(no party of this role yet)");
		printf("Subject: %s\n\n%s", subject, body);
		for (guint i = 0; i + 1 < attachments->len; i += 2)
			printf("\n--- attachment: %s ---\n%s",
			       (const char *)g_ptr_array_index(attachments, i),
			       (const char *)g_ptr_array_index(attachments, i + 1));
	}
	g_ptr_array_unref(attachments);
	return 0;
}

int ctl_render(const struct ctl_env *env, int argc, char **argv)
{
	struct render_args a;
	struct engine *eng = NULL;
	struct case_rec *c = NULL;
	struct store_txn *txn = NULL;
	uint64_t number = 0;
	int scope, rc;
	tdk_err err;

	if ((rc = parse_args(env, argc, argv, &a)) != 0)
		return rc;
	if (a.check)
		return check(env);
	scope = template_notice_scope(a.notice);
	if (scope == 0)
		return ctl_usage_error(env, "unknown notice '%s'", a.notice);
	if (a.case_arg == NULL && (scope == TEMPLATE_CASE || scope == TEMPLATE_ATTACHMENT))
		return ctl_usage_error(env, "the notice '%s' needs a CASE", a.notice);
	if (a.case_arg != NULL && scope == TEMPLATE_DESK)
		return ctl_usage_error(env, "the notice '%s' is desk-wide: no CASE", a.notice);
	if (a.audience != NULL && case_role_from_name(a.audience) == 0 &&
	    strcmp(a.audience, "staff") != 0)
		return ctl_usage_error(env, "unknown audience '%s'", a.audience);
	if (a.case_arg != NULL && (rc = parse_case(env, a.case_arg, &number)) != 0)
		return rc;
	if (engine_open(env->config, ENGINE_NO_SPOOL | ENGINE_READONLY, &eng, &err) != TDK_OK) {
		fprintf(stderr, "%s: %s\n", env->program, err.text);
		return EXIT_NO;
	}
	g_mime_init();
	rc = TDK_OK;
	if (number != 0) {
		rc = store_begin(eng->store, false, &txn, &err);
		if (rc == TDK_OK)
			rc = store_case_get(txn, number, &c, &err);
		store_abort(txn);
		if (rc == TDK_ENOENT)
			fprintf(stderr, "%s: %s: unknown case\n", env->program, a.case_arg);
		else if (rc != TDK_OK)
			fprintf(stderr, "%s: %s\n", env->program, err.text);
	}
	rc = rc == TDK_OK ? render_one(env, eng, &a, c) : EXIT_NO;
	case_free(c);
	engine_close(eng);
	g_mime_shutdown();
	return rc;
}
