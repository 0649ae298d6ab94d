/*
 * ctl_case.c - todokectl's window on the case store: `do` (staff commands,
 * through the same code as mail commands), `cases`, `case`, `timeline`,
 * `outbox` and `attention`.
 *
 * Owns: the arguments and output of those subcommands. Reads open the
 * store read-only; `do` opens it for writing and applies its commands
 * all-or-nothing in one transaction.
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "casenum.h"
#include "cli.h"
#include "clock.h"
#include "command.h"
#include "ctl.h"
#include "engine.h"
#include "flow.h"
#include "json_print.h"

#define SCRIPT_MAX (1024 * 1024)

struct ctl_case_env {
	const struct ctl_env *env;
	struct engine *eng;
	struct casenum_format fmt;
	int64_t now;
};

static int fail(const struct ctl_env *env, const tdk_err *err)
{
	fprintf(stderr, "%s: %s\n", env->program, err->text);
	return EXIT_NO;
}

/* Takes "--now ISO" out of argv; the wall clock otherwise. */
static int take_now(const struct ctl_env *env, int *argc, char **argv,
		    int64_t *now)
{
	struct tdk_clock clock;
	int kept = 0;
	tdk_err err;

	tdk_clock_init_system(&clock);
	*now = tdk_clock_now(&clock);
	for (int i = 0; i < *argc; i++) {
		if (strcmp(argv[i], "--now") == 0) {
			if (i + 1 >= *argc)
				return ctl_usage_error(env, "--now needs an instant");
			if (cal_parse_instant(argv[i + 1], now, &err) != TDK_OK)
				return ctl_usage_error(env, "--now: %s", err.text);
			i++;
		} else {
			argv[kept++] = argv[i];
		}
	}
	*argc = kept;
	argv[kept] = NULL;
	return 0;
}

static int open_env(const struct ctl_env *env, bool write, struct ctl_case_env *ce)
{
	tdk_err err;

	ce->env = env;
	ce->fmt.prefix = env->config->case_prefix;
	ce->fmt.width = (int)env->config->case_width;
	if (engine_open(env->config, ENGINE_NO_SPOOL | (write ? 0 : ENGINE_READONLY),
			&ce->eng, &err) != TDK_OK)
		return fail(env, &err);
	return 0;
}

static char *case_text(const struct ctl_case_env *ce, uint64_t number)
{
	return g_strdup_printf("%s%0*" G_GUINT64_FORMAT, ce->fmt.prefix,
			       ce->fmt.width, number);
}

static int parse_case(const struct ctl_case_env *ce, const char *text,
		      uint64_t *number)
{
	size_t plen = strlen(ce->fmt.prefix);
	guint64 v;

	if (g_ascii_strncasecmp(text, ce->fmt.prefix, plen) == 0)
		text += plen;
	if (*text == '\0' || strlen(text) > (size_t)ce->fmt.width ||
	    !g_ascii_string_to_unsigned(text, 10, 1, G_MAXUINT64, &v, NULL))
		return ctl_usage_error(ce->env, "'%s' is not a case number", text);
	*number = v;
	return 0;
}

/* ------------------------------------------------------------------ do */

static char *actor_name(void)
{
	const struct passwd *pw = getpwuid(getuid());

	return g_strdup_printf("todokectl:%s", pw != NULL ? pw->pw_name : "?");
}

static char *read_stdin(size_t *len)
{
	GString *s = g_string_new(NULL);
	char buf[8192];
	size_t n;

	while ((n = fread(buf, 1, sizeof buf, stdin)) > 0 && s->len <= SCRIPT_MAX)
		g_string_append_len(s, buf, (gssize)n);
	*len = s->len;
	return g_string_free(s, FALSE);
}

int ctl_do(const struct ctl_env *env, int argc, char **argv)
{
	struct ctl_case_env ce = { 0 };
	struct command **cmds = NULL;
	size_t n = 0, len;
	g_autofree char *text = NULL, *actor = NULL;
	tdk_err err;
	int rc;

	if ((rc = take_now(env, &argc, argv, &ce.now)) != 0)
		return rc;
	if (argc != 2)
		return ctl_usage_error(env, "usage: do 'COMMAND' | do - (commands on stdin)");
	if (strcmp(argv[1], "-") == 0) {
		text = read_stdin(&len);
		if (len > SCRIPT_MAX)
			return ctl_usage_error(env, "more than %d bytes of commands", SCRIPT_MAX);
	} else {
		text = g_strdup(argv[1]);
		len = strlen(text);
	}
	if ((rc = open_env(env, true, &ce)) != 0)
		return rc;
	rc = command_parse_script(text, len, &ce.fmt, ce.eng->rules, &cmds, &n, &err);
	if (rc == TDK_OK && n == 0)
		rc = tdk_err_set(&err, TDK_EINVAL, "no command given");
	actor = actor_name();
	if (rc == TDK_OK)
		rc = engine_commands(ce.eng, ce.now, actor, cmds, n, &err);
	if (rc == TDK_OK)
		printf("%zu command%s applied\n", n, n == 1 ? "" : "s");
	else
		fprintf(stderr, "%s: %s\n%s: nothing was changed\n", env->program,
			err.text, env->program);
	command_free_all(cmds, n);
	engine_close(ce.eng);
	return rc == TDK_OK ? 0 : (rc == TDK_ESYNTAX || rc == TDK_EINVAL || rc == TDK_ELIMIT ? EXIT_USAGE
									 : EXIT_NO);
}

/* --------------------------------------------------------------- cases */

struct list_ctx {
	struct ctl_case_env *ce;
	int state;          /* 0: any */
	bool overdue;       /* only cases with a deadline passed */
	JsonBuilder *json;
	size_t count;
};

/* The earliest running clock of c: its name and due time. */
static int next_clock(const struct ctl_case_env *ce, const struct case_rec *c,
		      int64_t *due)
{
	int best = 0;

	for (int id = 1; id < CLOCK_COUNT; id++) {
		int64_t d;

		if (!c->clocks[id].active || id == CLOCK_RETENTION ||
		    case_clock_due(ce->eng->cal, &c->clocks[id], &d) != TDK_OK)
			continue;
		if (best == 0 || d < *due) {
			best = id;
			*due = d;
		}
	}
	return best;
}

static int list_one(uint64_t number, const struct case_rec *c, void *ctx)
{
	struct list_ctx *l = ctx;
	g_autofree char *ct = case_text(l->ce, number);
	int64_t due = 0;
	int clock;
	char when[CAL_INSTANT_LEN] = "-";

	if (c == NULL) {
		fprintf(stderr, "%s: %s: the record does not decode\n",
			l->ce->env->program, ct);
		return 0;
	}
	if ((l->state != 0 && c->state != l->state) ||
	    (l->overdue && !flow_case_overdue(c, l->ce->eng->cal, l->ce->now, NULL)))
		return 0;
	l->count++;
	if (l->json != NULL) {
		case_to_json(l->json, c, l->ce->eng->cal, ct, NULL);
		return 0;
	}
	clock = next_clock(l->ce, c, &due);
	if (clock != 0)
		cal_format_instant(l->ce->eng->cal, due, when, sizeof when);
	printf("%s\t%s\t%s%s\t%s\t%s\t%s\n", ct,
	       c->kind != 0 ? case_kind_name(c->kind) : "-", case_state_name(c->state),
	       c->paused ? " (paused)" : "", clock != 0 ? case_clock_name(clock) : "-",
	       when, c->title != NULL ? c->title : (c->url != NULL ? c->url : "-"));
	return 0;
}

int ctl_cases(const struct ctl_env *env, int argc, char **argv)
{
	struct ctl_case_env ce = { 0 };
	struct list_ctx l = { .ce = &ce };
	bool json = ctl_take_flag(&argc, argv, "--json");
	bool overdue = ctl_take_flag(&argc, argv, "--overdue");
	g_autoptr(JsonBuilder) b = NULL;
	struct store_txn *txn = NULL;
	tdk_err err;
	int rc;

	if ((rc = take_now(env, &argc, argv, &ce.now)) != 0)
		return rc;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--state") == 0 && i + 1 < argc) {
			l.state = case_state_from_name(argv[++i]);
			if (l.state == 0)
				return ctl_usage_error(env, "unknown state '%s'", argv[i]);
		} else {
			return ctl_usage_error(env, "usage: cases [--state S] [--overdue] "
					       "[--now ISO] [--json]");
		}
	}
	if ((rc = open_env(env, false, &ce)) != 0)
		return rc;
	l.overdue = overdue;
	rc = store_begin(ce.eng->store, false, &txn, &err);
	if (json) {
		b = json_builder_new();
		l.json = b;
		json_builder_begin_array(b);
	}
	if (rc == TDK_OK)
		rc = store_case_foreach(txn, 0, list_one, &l, &err);
	store_abort(txn);
	if (rc == TDK_OK && json) {
		json_builder_end_array(b);
		json_print_builder(b);
	}
	engine_close(ce.eng);
	return rc == TDK_OK ? 0 : fail(env, &err);
}

/* ---------------------------------------------------------------- case */

static void print_case_text(const struct ctl_case_env *ce, const struct case_rec *c,
			    const char *ct, const struct pii_rec *pii)
{
	const struct cal *cal = ce->eng->cal;
	char when[CAL_INSTANT_LEN];

	printf("case:        %s\nkind:        %s\nstate:       %s%s\n", ct,
	       c->kind != 0 ? case_kind_name(c->kind) : "-", case_state_name(c->state),
	       c->paused ? " (paused)" : "");
	if (c->paused)
		printf("paused:      %s\n", c->pause_reason != NULL ? c->pause_reason : "");
	if (c->hold)
		printf("legal hold:  on\n");
	if (c->url != NULL)
		printf("url:         %s\n", c->url);
	if (c->product != NULL)
		printf("product:     %s\n", c->product);
	if (c->outcome != NULL)
		printf("outcome:     %s%s%s\n", c->outcome, c->reason_code ? " " : "",
		       c->reason_code ? c->reason_code : "");
	printf("parties:\n");
	for (size_t i = 0; i < c->n_parties; i++) {
		const struct case_party *p = &c->parties[i];
		bool disc = p->role == ROLE_DISCOVERER;

		bool mailed = p->key != NULL && p->key_source != NULL &&
			      strcmp(p->key_source, "staff") != 0;

		printf("  %-12s %s%s%s%s%s%s%s%s\n", case_role_name(p->role),
		       disc ? (pii != NULL && pii->address ? pii->address : "(personal data hidden; --pii)")
			    : (p->address != NULL ? p->address : "-"),
		       p->lang != NULL ? " lang " : "", p->lang != NULL ? p->lang : "",
		       p->key != NULL ? " key " : "", p->key != NULL ? p->key : "",
		       mailed ? " (from " : "", mailed ? p->key_source : "", mailed ? ")" : "");
	}
	printf("clocks:\n");
	for (int id = 1; id < CLOCK_COUNT; id++) {
		const struct case_clock *k = &c->clocks[id];
		int64_t due;

		if (k->start == 0 || case_clock_due(cal, k, &due) != TDK_OK)
			continue;
		cal_format_instant(cal, due, when, sizeof when);
		printf("  %-14s due %s%s\n", case_clock_name(id), when,
		       k->active ? (c->paused ? " (paused)" : "")
				 : (k->fired ? " (passed)" : " (stopped)"));
	}
	printf("counts:      %d events, %d replies, %d unverified, %d notices, "
	       "%d contact attempts\n",
	       c->n_events, c->n_replies, c->n_unverified, c->n_notices,
	       c->contact_attempts);
}

static int load_case(struct ctl_case_env *ce, const char *arg, struct case_rec **c,
		     uint64_t *number)
{
	struct store_txn *txn;
	tdk_err err;
	int rc;

	if ((rc = parse_case(ce, arg, number)) != 0)
		return rc;
	if (store_begin(ce->eng->store, false, &txn, &err) != TDK_OK)
		return fail(ce->env, &err);
	rc = store_case_get(txn, *number, c, &err);
	store_abort(txn);
	if (rc == TDK_ENOENT) {
		fprintf(stderr, "%s: %s: unknown case\n", ce->env->program, arg);
		return EXIT_NO;
	}
	return rc == TDK_OK ? 0 : fail(ce->env, &err);
}

int ctl_case(const struct ctl_env *env, int argc, char **argv)
{
	struct ctl_case_env ce = { 0 };
	bool json = ctl_take_flag(&argc, argv, "--json");
	bool show_pii = ctl_take_flag(&argc, argv, "--pii");
	struct case_rec *c = NULL;
	struct pii_rec *pii = NULL;
	uint64_t number;
	int rc;

	if (argc != 2)
		return ctl_usage_error(env, "usage: case CASE [--json] [--pii]");
	if ((rc = open_env(env, false, &ce)) != 0)
		return rc;
	rc = load_case(&ce, argv[1], &c, &number);
	if (rc == 0) {
		g_autofree char *ct = case_text(&ce, number);

		if (show_pii && store_pii_get(ce.eng->store, number, &pii, NULL) != TDK_OK)
			pii = NULL;
		if (json) {
			g_autoptr(JsonBuilder) b = json_builder_new();

			case_to_json(b, c, ce.eng->cal, ct, pii);
			json_print_builder(b);
		} else {
			print_case_text(&ce, c, ct, pii);
		}
	}
	pii_rec_free(pii);
	case_free(c);
	engine_close(ce.eng);
	return rc;
}

/* ------------------------------------------------------------ timeline */

struct timeline_ctx {
	const struct cal *cal;
	JsonBuilder *json;
};

static int timeline_one(int seq, const struct case_event *e, void *ctx)
{
	struct timeline_ctx *t = ctx;
	char when[CAL_INSTANT_LEN] = "-";

	if (t->json != NULL) {
		case_event_to_json(t->json, seq, e, t->cal);
		return 0;
	}
	cal_format_instant(t->cal, e->time, when, sizeof when);
	printf("%s\t%s\t%s\t%s\t%s\n", when, e->actor != NULL ? e->actor : "-",
	       e->type, e->state != NULL ? e->state : "-",
	       e->text != NULL ? e->text : "");
	return 0;
}

int ctl_timeline(const struct ctl_env *env, int argc, char **argv)
{
	struct ctl_case_env ce = { 0 };
	bool json = ctl_take_flag(&argc, argv, "--json");
	g_autoptr(JsonBuilder) b = json ? json_builder_new() : NULL;
	struct timeline_ctx t = { .json = b };
	struct case_rec *c = NULL;
	struct store_txn *txn;
	uint64_t number;
	tdk_err err;
	int rc;

	if (argc != 2)
		return ctl_usage_error(env, "usage: timeline CASE [--json]");
	if ((rc = open_env(env, false, &ce)) != 0)
		return rc;
	t.cal = ce.eng->cal;
	rc = load_case(&ce, argv[1], &c, &number);
	case_free(c);
	if (rc == 0 && (rc = store_begin(ce.eng->store, false, &txn, &err)) == TDK_OK) {
		if (b != NULL)
			json_builder_begin_array(b);
		rc = store_event_foreach(txn, number, timeline_one, &t, &err);
		store_abort(txn);
		if (b != NULL) {
			json_builder_end_array(b);
			json_print_builder(b);
		}
		rc = rc == TDK_OK ? 0 : fail(env, &err);
	} else if (rc == TDK_OK) {
		rc = fail(env, &err);
	}
	engine_close(ce.eng);
	return rc;
}

/* -------------------------------------------------- outbox, attention */

struct items_ctx {
	struct ctl_case_env *ce;
	JsonBuilder *json;
};

static void json_str(JsonBuilder *b, const char *key, const char *v)
{
	json_builder_set_member_name(b, key);
	if (v != NULL)
		json_builder_add_string_value(b, v);
	else
		json_builder_add_null_value(b);
}

/* Whether a rendered notice is multipart/encrypted (its top-level
 * Content-Type, within the header section). */
static bool rendered_encrypted(GBytes *rendered)
{
	gsize len;
	const char *p = g_bytes_get_data(rendered, &len);
	const char *end = g_strstr_len(p, (gssize)len, "\n\n");

	return g_strstr_len(p, end != NULL ? end - p : (gssize)len,
			    "Content-Type: multipart/encrypted") != NULL;
}

static int outbox_one(const struct outbox_item *o, void *ctx)
{
	struct items_ctx *x = ctx;
	g_autofree char *ct = o->case_number != 0 ? case_text(x->ce, o->case_number) : NULL;
	char when[CAL_INSTANT_LEN] = "-";

	char next[CAL_INSTANT_LEN] = "-", sent[CAL_INSTANT_LEN] = "-";
	bool deferred = strcmp(o->state, OUTBOX_DEFERRED) == 0 && o->next_try != 0;
	/* The discoverer's address is personal data: never listed here. */
	const char *recipient = strcmp(o->audience, "discoverer") == 0 ? NULL : o->recipient;

	cal_format_instant(x->ce->eng->cal, o->created, when, sizeof when);
	if (deferred)
		cal_format_instant(x->ce->eng->cal, o->next_try, next, sizeof next);
	if (o->sent != 0)
		cal_format_instant(x->ce->eng->cal, o->sent, sent, sizeof sent);
	if (x->json == NULL) {
		g_autofree char *reason = g_strdup(o->hold_reason != NULL ? o->hold_reason : "-");

		g_strdelimit(reason, "\t\r\n", ' ');
		printf("%" G_GUINT64_FORMAT "\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n",
		       o->id, ct != NULL ? ct : "-", o->notice, o->audience, o->state, when,
		       o->tries, next, sent, o->message_id != NULL ? o->message_id : "-",
		       reason,
		       o->detail != NULL && strpbrk(o->detail, "\t\r\n") == NULL ? o->detail : "");
		return 0;
	}
	json_builder_begin_object(x->json);
	json_builder_set_member_name(x->json, "id");
	json_builder_add_int_value(x->json, (gint64)o->id);
	json_str(x->json, "case", ct);
	json_str(x->json, "notice", o->notice);
	json_str(x->json, "audience", o->audience);
	json_builder_set_member_name(x->json, "party");
	json_builder_add_int_value(x->json, o->party);
	json_str(x->json, "to", o->to);
	json_str(x->json, "lang", o->lang);
	json_str(x->json, "state", o->state);
	json_str(x->json, "hold_reason", o->hold_reason);
	json_str(x->json, "message_id", o->message_id);
	json_str(x->json, "detail", o->detail);
	json_builder_set_member_name(x->json, "attempt");
	json_builder_add_int_value(x->json, o->attempt);
	json_str(x->json, "created", when);
	json_str(x->json, "recipient", recipient);
	json_str(x->json, "reason", o->hold_reason);
	json_builder_set_member_name(x->json, "tries");
	json_builder_add_int_value(x->json, o->tries);
	json_str(x->json, "next_try", deferred ? next : NULL);
	json_str(x->json, "sent", o->sent != 0 ? sent : NULL);
	json_builder_set_member_name(x->json, "encrypted");
	if (o->rendered != NULL)
		json_builder_add_boolean_value(x->json, rendered_encrypted(o->rendered));
	else
		json_builder_add_null_value(x->json);
	json_builder_end_object(x->json);
	return 0;
}

static int attention_one(const struct attention_item *a, void *ctx)
{
	struct items_ctx *x = ctx;
	g_autofree char *ct = a->case_number != 0 ? case_text(x->ce, a->case_number) : NULL;
	char when[CAL_INSTANT_LEN] = "-";

	cal_format_instant(x->ce->eng->cal, a->created, when, sizeof when);
	if (x->json == NULL) {
		printf("%" G_GUINT64_FORMAT "\t%s\t%s\t%s\t%s\n", a->id,
		       ct != NULL ? ct : "-", when, a->kind, a->text != NULL ? a->text : "");
		return 0;
	}
	json_builder_begin_object(x->json);
	json_builder_set_member_name(x->json, "id");
	json_builder_add_int_value(x->json, (gint64)a->id);
	json_str(x->json, "case", ct);
	json_str(x->json, "kind", a->kind);
	json_str(x->json, "text", a->text);
	json_str(x->json, "created", when);
	json_builder_end_object(x->json);
	return 0;
}

static int list_items(const struct ctl_env *env, int argc, char **argv,
		      bool outbox)
{
	struct ctl_case_env ce = { 0 };
	bool json = ctl_take_flag(&argc, argv, "--json");
	g_autoptr(JsonBuilder) b = json ? json_builder_new() : NULL;
	struct items_ctx x = { .ce = &ce, .json = b };
	struct store_txn *txn;
	tdk_err err;
	int rc;

	if (argc != 1)
		return ctl_usage_error(env, "usage: %s [--json]", argv[0]);
	if ((rc = open_env(env, false, &ce)) != 0)
		return rc;
	rc = store_begin(ce.eng->store, false, &txn, &err);
	if (rc == TDK_OK) {
		if (b != NULL)
			json_builder_begin_array(b);
		rc = outbox ? store_outbox_foreach(txn, outbox_one, &x, &err)
			    : store_attention_foreach(txn, 0, attention_one, &x, &err);
		store_abort(txn);
		if (b != NULL) {
			json_builder_end_array(b);
			json_print_builder(b);
		}
	}
	engine_close(ce.eng);
	return rc == TDK_OK ? 0 : fail(env, &err);
}

int ctl_outbox(const struct ctl_env *env, int argc, char **argv)
{
	return list_items(env, argc, argv, true);
}

int ctl_attention(const struct ctl_env *env, int argc, char **argv)
{
	return list_items(env, argc, argv, false);
}
