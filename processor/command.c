/*
 * command.c - parsing and printing the staff command language (see
 * command.h for the grammar and who frees what).
 *
 * A line is first checked as a whole (length, UTF-8, control characters),
 * so every token taken from it is clean text. A cursor then walks it:
 * next_word() takes one WORD, rest_text() the rest of the line as TEXT.
 * After the verb and the case number, one handler per verb reads the
 * remaining arguments into the struct command and names the first problem.
 */
#include "command.h"

#include <glib.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define SHOWN_MAX 60      /* bytes of user text quoted in a message */
#define LOCAL_PART_MAX 64 /* bytes before the '@' of an address */
#define LABEL_MAX 63      /* bytes in one domain label */

/* ------------------------------------------------------------ names */

static const char *const verb_names[] = {
	[CMD_ACCEPT] = "accept", [CMD_REJECT] = "reject", [CMD_PARTY] = "party",
	[CMD_SET] = "set", [CMD_SEND] = "send", [CMD_CONTACTED] = "contacted",
	[CMD_EXTEND] = "extend", [CMD_PAUSE] = "pause", [CMD_RESUME] = "resume",
	[CMD_UNREACHABLE] = "unreachable", [CMD_REOPEN] = "reopen",
	[CMD_CLOSE] = "close", [CMD_HOLD] = "hold", [CMD_RELEASE] = "release",
	[CMD_NOTE] = "note", [CMD_RECORD] = "record",
};

static const char *const role_names[] = {
	[CMD_ROLE_DISCOVERER] = "discoverer", [CMD_ROLE_OPERATOR] = "operator",
	[CMD_ROLE_DEVELOPER] = "developer", [CMD_ROLE_COORDINATOR] = "coordinator",
	[CMD_ROLE_STAFF_CC] = "staff-cc",
};

static const char *const send_names[] = {
	[CMD_SEND_STAGE1] = "stage1", [CMD_SEND_STAGE2] = "stage2",
	[CMD_SEND_FORWARD] = "forward", [CMD_SEND_REMINDER] = "reminder",
};

static const char *const clock_names[] = {
	[CMD_CLOCK_INVESTIGATION] = "investigation", [CMD_CLOCK_FIX] = "fix",
	[CMD_CLOCK_COMPLETION] = "completion", [CMD_CLOCK_CONTACT] = "contact",
	[CMD_CLOCK_FIRST_REPLY] = "first-reply",
};

static const char *const record_names[] = {
	[CMD_REC_PUBLISHED] = "published",
	[CMD_REC_PRIORITY_PROVIDED] = "priority-provided",
	[CMD_REC_GOV_NOTIFIED] = "gov-notified",
	[CMD_REC_COORDINATOR_UPDATE] = "coordinator-update",
	[CMD_REC_CHECKED] = "checked",
};

/* Party options, in the order command_to_text() writes them. */
enum party_option { OPT_NAME = 1, OPT_LANG, OPT_KEY, OPT_POSTAL };
static const char *const option_names[] = {
	[OPT_NAME] = "name", [OPT_LANG] = "lang", [OPT_KEY] = "key",
	[OPT_POSTAL] = "postal",
};

static const char *const channel_names[] = { NULL, "post", "phone" };
static const char *const lang_names[] = { NULL, "ja", "en" };
static const char *const yes_no[] = { NULL, "yes", "no" };
static const char *const impact_names[] = { NULL, "priority", "normal", "simple" };
static const char *const fix_kind_names[] = { NULL, "fix", "workaround",
					      "page-deleted" };

enum field_type { FIELD_TEXT, FIELD_URL, FIELD_ENUM };

static const struct field_spec {
	const char *name;
	enum field_type type;
	const char *const *values; /* FIELD_ENUM: names from index 1 */
	size_t n_values;
	const char *expected;      /* FIELD_ENUM: for messages */
} fields[] = {
	{ "url", FIELD_URL, NULL, 0, NULL },
	{ "product", FIELD_TEXT, NULL, 0, NULL },
	{ "vuln-type", FIELD_TEXT, NULL, 0, NULL },
	{ "threat", FIELD_TEXT, NULL, 0, NULL },
	{ "description", FIELD_TEXT, NULL, 0, NULL },
	{ "title", FIELD_TEXT, NULL, 0, NULL },
	{ "impact", FIELD_ENUM, impact_names, G_N_ELEMENTS(impact_names),
	  "priority, normal or simple" },
	{ "verifiable", FIELD_ENUM, yes_no, G_N_ELEMENTS(yes_no), "yes or no" },
	{ "fix-kind", FIELD_ENUM, fix_kind_names, G_N_ELEMENTS(fix_kind_names),
	  "fix, workaround or page-deleted" },
	{ "check-wanted", FIELD_ENUM, yes_no, G_N_ELEMENTS(yes_no), "yes or no" },
	{ "lang", FIELD_ENUM, lang_names, G_N_ELEMENTS(lang_names), "ja or en" },
};
#define FIELD_LIST "url, product, vuln-type, threat, description, title, " \
	"impact, verifiable, fix-kind, check-wanted or lang"

/* Index (>= 1) of word among names[1..n-1], ignoring ASCII case; or 0. */
static size_t find_name(const char *const *names, size_t n, const char *word)
{
	for (size_t i = 1; i < n; i++)
		if (names[i] != NULL && g_ascii_strcasecmp(names[i], word) == 0)
			return i;
	return 0;
}

static const char *name_of(const char *const *names, size_t n, int value)
{
	if (value <= 0 || (size_t)value >= n || names[value] == NULL)
		return "?";
	return names[value];
}

static const struct field_spec *find_field(const char *name)
{
	for (size_t i = 0; i < G_N_ELEMENTS(fields); i++)
		if (g_ascii_strcasecmp(fields[i].name, name) == 0)
			return &fields[i];
	return NULL;
}

const char *command_verb_name(enum cmd_verb v)
{
	return name_of(verb_names, G_N_ELEMENTS(verb_names), (int)v);
}

const char *command_role_name(enum cmd_role r)
{
	return name_of(role_names, G_N_ELEMENTS(role_names), (int)r);
}

const char *command_send_name(enum cmd_send s)
{
	return name_of(send_names, G_N_ELEMENTS(send_names), (int)s);
}

const char *command_clock_name(enum cmd_clock c)
{
	return name_of(clock_names, G_N_ELEMENTS(clock_names), (int)c);
}

const char *command_record_name(enum cmd_record r)
{
	return name_of(record_names, G_N_ELEMENTS(record_names), (int)r);
}

/* The reverse lookups share one shape. */
#define FROM_NAME(fn, type, names)                                     \
	int fn(const char *name, type *out)                            \
	{                                                              \
		size_t i;                                              \
		if (name == NULL || out == NULL)                       \
			return TDK_EINVAL;                             \
		i = find_name(names, G_N_ELEMENTS(names), name);       \
		if (i == 0)                                            \
			return TDK_EINVAL;                             \
		*out = (type)i;                                        \
		return TDK_OK;                                         \
	}
FROM_NAME(command_verb_from_name, enum cmd_verb, verb_names)
FROM_NAME(command_role_from_name, enum cmd_role, role_names)
FROM_NAME(command_send_from_name, enum cmd_send, send_names)
FROM_NAME(command_clock_from_name, enum cmd_clock, clock_names)
FROM_NAME(command_record_from_name, enum cmd_record, record_names)
#undef FROM_NAME

/* ------------------------------------------------------- the parser */

struct parser {
	const char *p;                    /* cursor in the NUL-terminated line */
	const struct casenum_format *fmt;
	const struct rules *rules;
	const char *verb;                 /* prefix of messages, or NULL */
	struct command *c;
	tdk_err *err;
};

/* A bounded copy of (valid UTF-8) user text for a one-line message. */
struct shown {
	char text[SHOWN_MAX + 4];
};

static const char *show(const char *s, struct shown *buf)
{
	size_t n = strlen(s);

	if (n <= SHOWN_MAX) {
		memcpy(buf->text, s, n + 1);
		return buf->text;
	}
	n = SHOWN_MAX;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--; /* do not cut a character */
	memcpy(buf->text, s, n);
	memcpy(buf->text + n, "...", 4);
	return buf->text;
}

static int fail(struct parser *ps, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Sets err to "verb: message" and returns status. */
static int fail(struct parser *ps, int status, const char *fmt, ...)
{
	char msg[TDK_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (ps->verb == NULL)
		return tdk_err_set(ps->err, status, "%s", msg);
	return tdk_err_set(ps->err, status, "%s: %s", ps->verb, msg);
}

/*
 * The whole line: at most COMMAND_LINE_MAX bytes of valid UTF-8 without
 * NUL or control characters except TAB.
 */
static int check_line(const char *line, size_t len, tdk_err *err)
{
	const char *end = line + len, *bad;

	if (len > COMMAND_LINE_MAX)
		return tdk_err_set(err, TDK_ELIMIT,
				   "line longer than %d bytes", COMMAND_LINE_MAX);
	bad = memchr(line, '\0', len);
	if (bad != NULL)
		return tdk_err_set(err, TDK_EINVAL,
				   "NUL byte at byte %zu is not allowed",
				   (size_t)(bad - line) + 1);
	if (!g_utf8_validate(line, (gssize)len, &bad))
		return tdk_err_set(err, TDK_EINVAL, "invalid UTF-8 at byte %zu",
				   (size_t)(bad - line) + 1);
	for (const char *p = line; p < end; p = g_utf8_next_char(p)) {
		gunichar ch = g_utf8_get_char(p);
		size_t at = (size_t)(p - line) + 1;

		if (ch == '\t')
			continue;
		if (ch == '\r')
			return tdk_err_set(err, TDK_EINVAL,
					   "carriage return (U+000D) at byte %zu is not allowed",
					   at);
		if (ch == '\n')
			return tdk_err_set(err, TDK_EINVAL,
					   "line feed (U+000A) at byte %zu is not allowed",
					   at);
		if (ch < 0x20 || (ch >= 0x7F && ch <= 0x9F) || ch == 0x2028 ||
		    ch == 0x2029)
			return tdk_err_set(err, TDK_EINVAL,
					   "control character U+%04X at byte %zu is not allowed",
					   (unsigned)ch, at);
	}
	return TDK_OK;
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

static void skip_blanks(struct parser *ps)
{
	while (is_blank(*ps->p))
		ps->p++;
}

static bool only_blanks(const char *s)
{
	while (is_blank(*s))
		s++;
	return *s == '\0';
}

/* A quoted string at the cursor (on its opening quote) into *out. */
static int quoted(struct parser *ps, char **out)
{
	const char *start = ps->p;
	struct shown sh;
	GString *s = g_string_new(NULL);
	int rc;

	for (ps->p++; *ps->p != '"'; ps->p++) {
		if (*ps->p == '\0' || (ps->p[0] == '\\' && ps->p[1] == '\0')) {
			rc = fail(ps, TDK_ESYNTAX, "unterminated quoted string %s",
				  show(start, &sh));
			goto fail;
		}
		if (*ps->p == '\\') {
			const char *next = ps->p + 1;

			if (*next != '"' && *next != '\\') {
				char esc[8] = "";

				memcpy(esc, next, (size_t)(g_utf8_next_char(next) - next));
				rc = fail(ps, TDK_ESYNTAX,
					  "bad escape '\\%s' in a quoted string (only \\\" and \\\\)",
					  esc);
				goto fail;
			}
			ps->p++;
		}
		g_string_append_c(s, *ps->p);
	}
	ps->p++;
	if (*ps->p != '\0' && !is_blank(*ps->p)) {
		rc = fail(ps, TDK_ESYNTAX,
			  "text directly after a closing quote: %s (put a space between)",
			  show(start, &sh));
		goto fail;
	}
	if (s->len > COMMAND_TEXT_MAX) {
		rc = fail(ps, TDK_ELIMIT, "quoted string longer than %d bytes",
			  COMMAND_TEXT_MAX);
		goto fail;
	}
	*out = g_string_free(s, FALSE);
	return TDK_OK;
fail:
	g_string_free(s, TRUE);
	return rc;
}

/* The next WORD into *out; *out is NULL at the end of the line. */
static int next_word(struct parser *ps, char **out)
{
	const char *start;
	struct shown sh;

	*out = NULL;
	skip_blanks(ps);
	if (*ps->p == '\0')
		return TDK_OK;
	if (*ps->p == '"')
		return quoted(ps, out);
	for (start = ps->p; *ps->p != '\0' && !is_blank(*ps->p); ps->p++)
		if (*ps->p == '"') {
			g_autofree char *word = NULL;

			while (*ps->p != '\0' && !is_blank(*ps->p))
				ps->p++;
			word = g_strndup(start, (gsize)(ps->p - start));
			return fail(ps, TDK_ESYNTAX,
				    "'\"' inside the word '%s' (quote the whole word)",
				    show(word, &sh));
		}
	if ((size_t)(ps->p - start) > COMMAND_TEXT_MAX)
		return fail(ps, TDK_ELIMIT, "word longer than %d bytes",
			    COMMAND_TEXT_MAX);
	*out = g_strndup(start, (gsize)(ps->p - start));
	return TDK_OK;
}

/* The next WORD, which must be there: "missing <what>" otherwise. */
static int need_word(struct parser *ps, const char *what, char **out)
{
	int rc = next_word(ps, out);

	if (rc == TDK_OK && *out == NULL)
		rc = fail(ps, TDK_ESYNTAX, "missing %s", what);
	return rc;
}

/*
 * The rest of the line as TEXT into *out: one quoted string alone, or the
 * unquoted rest without trailing blanks. Blank text is absent (*out NULL)
 * or, when required, "missing <what>".
 */
static int rest_text(struct parser *ps, const char *what, bool required,
		     char **out)
{
	struct shown sh;
	char *text;
	int rc;

	*out = NULL;
	skip_blanks(ps);
	if (*ps->p == '"') {
		rc = quoted(ps, &text);
		if (rc != TDK_OK)
			return rc;
		skip_blanks(ps);
		if (*ps->p != '\0') {
			g_free(text);
			return fail(ps, TDK_ESYNTAX,
				    "unexpected '%s' after the quoted %s",
				    show(ps->p, &sh), what);
		}
	} else {
		const char *end = ps->p + strlen(ps->p);

		while (end > ps->p && is_blank(end[-1]))
			end--;
		if ((size_t)(end - ps->p) > COMMAND_TEXT_MAX)
			return fail(ps, TDK_ELIMIT, "%s longer than %d bytes", what,
				    COMMAND_TEXT_MAX);
		text = g_strndup(ps->p, (gsize)(end - ps->p));
		ps->p += strlen(ps->p);
	}
	if (only_blanks(text)) {
		g_free(text);
		return required ? fail(ps, TDK_ESYNTAX, "missing %s", what) : TDK_OK;
	}
	*out = text;
	return TDK_OK;
}

/* Nothing may follow: "unexpected '...' after <after>" otherwise. */
static int expect_end(struct parser *ps, const char *after)
{
	struct shown sh;

	skip_blanks(ps);
	if (*ps->p == '\0')
		return TDK_OK;
	return fail(ps, TDK_ESYNTAX, "unexpected '%s' after %s",
		    show(ps->p, &sh), after);
}

/* ------------------------------------------------- argument checkers */

static int case_number(struct parser *ps, const char *word)
{
	const struct casenum_format *fmt = ps->fmt;
	size_t plen = strlen(fmt->prefix), ndigits = 0;
	const char *digits;
	uint64_t value = 0;
	struct shown sh;

	if (g_ascii_strncasecmp(word, fmt->prefix, plen) != 0)
		goto not_ours;
	digits = word + plen;
	if (digits[0] == '\0')
		goto not_ours;
	for (; digits[ndigits] != '\0'; ndigits++)
		if (!g_ascii_isdigit(digits[ndigits]))
			goto not_ours;
	if (ndigits > (size_t)fmt->width)
		return fail(ps, TDK_EINVAL,
			    "%s: not a case number (at most %d digits)",
			    show(word, &sh), fmt->width);
	for (size_t i = 0; i < ndigits; i++)
		value = value * 10 + (uint64_t)(digits[i] - '0');
	if (value == 0)
		return fail(ps, TDK_EINVAL,
			    "%s: not a case number (numbers start at 1)",
			    show(word, &sh));
	ps->c->case_number = value;
	ps->c->case_text = g_strdup_printf("%s%0*" PRIu64, fmt->prefix,
					   fmt->width, value);
	return TDK_OK;
not_ours:
	return fail(ps, TDK_EINVAL,
		    "%s: not a case number (expected %s and 1 to %d digits)",
		    show(word, &sh), fmt->prefix, fmt->width);
}

static bool is_atext(char ch)
{
	return g_ascii_isalnum(ch) || (ch != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", ch));
}

/* What is wrong with an address, or NULL. */
static const char *address_problem(const char *a)
{
	const char *at = strchr(a, '@'), *label;
	size_t labels = 0;

	if (strlen(a) > COMMAND_ADDRESS_MAX)
		return "longer than 254 bytes";
	if (at == NULL)
		return "no '@'";
	if (strchr(at + 1, '@') != NULL)
		return "more than one '@'";
	if (at == a)
		return "empty local part";
	if (at - a > LOCAL_PART_MAX)
		return "local part longer than 64 bytes";
	if (a[0] == '.' || at[-1] == '.')
		return "local part starts or ends with '.'";
	for (const char *p = a; p < at; p++) {
		if (*p == '.' && p[1] == '.')
			return "'..' in the local part";
		if (*p != '.' && !is_atext(*p))
			return "the local part may hold only letters, digits, '.' and !#$%&'*+-/=?^_`{|}~";
	}
	if (at[1] == '\0')
		return "empty domain";
	for (label = at + 1;; labels++) {
		size_t len = strcspn(label, ".");

		if (len == 0)
			return "empty label in the domain";
		if (len > LABEL_MAX)
			return "domain label longer than 63 bytes";
		if (label[0] == '-' || label[len - 1] == '-')
			return "domain label starts or ends with '-'";
		for (size_t i = 0; i < len; i++)
			if (!g_ascii_isalnum(label[i]) && label[i] != '-')
				return "the domain may hold only letters, digits, '-' and '.'";
		if (label[len] == '\0')
			break;
		label += len + 1;
	}
	if (labels == 0)
		return "the domain needs at least one '.'";
	return NULL;
}

/* 40 or 64 hex digits, spaces ignored, upper case; NULL if not. */
static char *fingerprint(const char *word)
{
	GString *s = g_string_new(NULL);

	for (const char *p = word; *p != '\0'; p++) {
		if (*p == ' ')
			continue;
		if (!g_ascii_isxdigit(*p) || s->len >= 64) {
			g_string_free(s, TRUE);
			return NULL;
		}
		g_string_append_c(s, g_ascii_toupper(*p));
	}
	if (s->len != 40 && s->len != 64) {
		g_string_free(s, TRUE);
		return NULL;
	}
	return g_string_free(s, FALSE);
}

/* What is wrong with a URL, or NULL. */
static const char *url_problem(const char *u)
{
	const char *host;

	if (g_ascii_strncasecmp(u, "http://", 7) == 0)
		host = u + 7;
	else if (g_ascii_strncasecmp(u, "https://", 8) == 0)
		host = u + 8;
	else
		return "expected http:// or https://";
	if (*host == '\0' || strchr("/?#", *host) != NULL)
		return "no host";
	for (const char *p = u; *p != '\0'; p = g_utf8_next_char(p)) {
		gunichar ch = g_utf8_get_char(p);

		if (g_unichar_isspace(ch))
			return "whitespace is not allowed";
		if (ch == '"' || ch == '<' || ch == '>' || ch == '\\')
			return "'\"', '<', '>' and '\\' are not allowed";
	}
	return NULL;
}

/* The canonical code of list matching word (ignoring case), or NULL. */
static const char *find_reason(const struct rule_reason_list *list,
			       const char *word)
{
	for (size_t i = 0; i < list->count; i++)
		if (g_ascii_strcasecmp(list->items[i].code, word) == 0)
			return list->items[i].code;
	return NULL;
}

/* "a, b, c" of one or two lists (either may be NULL), each code once. */
static char *reason_codes(const struct rule_reason_list *a,
			  const struct rule_reason_list *b)
{
	const struct rule_reason_list *lists[] = { a, b };
	GString *s = g_string_new(NULL);

	for (size_t l = 0; l < G_N_ELEMENTS(lists); l++) {
		if (lists[l] == NULL)
			continue;
		for (size_t i = 0; i < lists[l]->count; i++) {
			const char *code = lists[l]->items[i].code;

			if (l == 1 && a != NULL && find_reason(a, code) != NULL)
				continue;
			g_string_append_printf(s, "%s%s", s->len > 0 ? ", " : "", code);
		}
	}
	return g_string_free(s, FALSE);
}

static const struct rule_outcome *find_outcome(const struct rules *rules,
					       const char *word)
{
	for (size_t i = 0; i < rules->n_outcomes; i++)
		if (g_ascii_strcasecmp(rules->outcomes[i].code, word) == 0)
			return &rules->outcomes[i];
	return NULL;
}

static char *outcome_codes(const struct rules *rules)
{
	GString *s = g_string_new(NULL);

	for (size_t i = 0; i < rules->n_outcomes; i++)
		g_string_append_printf(s, "%s%s", i > 0 ? ", " : "",
				       rules->outcomes[i].code);
	return g_string_free(s, FALSE);
}

/* ---------------------------------------------------- verb handlers */

/* Reads a WORD that must be one of names: *index is its index. */
static int enum_word(struct parser *ps, const char *const *names, size_t n,
		     const char *what, const char *expected, size_t *index)
{
	g_autofree char *w = NULL;
	struct shown sh;
	int rc = next_word(ps, &w);

	if (rc != TDK_OK)
		return rc;
	if (w == NULL)
		return fail(ps, TDK_ESYNTAX, "missing %s (%s)", what, expected);
	*index = find_name(names, n, w);
	if (*index == 0)
		return fail(ps, TDK_EINVAL, "expected %s, got '%s'", expected,
			    show(w, &sh));
	return TDK_OK;
}

static int parse_accept(struct parser *ps)
{
	static const char *const kinds[] = { NULL, "web", "product" };
	size_t i;
	int rc = enum_word(ps, kinds, G_N_ELEMENTS(kinds), "case kind",
			   "'web' or 'product'", &i);

	if (rc != TDK_OK)
		return rc;
	ps->c->kind = i == 1 ? RULE_KIND_WEB : RULE_KIND_PRODUCT;
	return expect_end(ps, "the case kind");
}

static int parse_reject(struct parser *ps)
{
	g_autofree char *known = reason_codes(&ps->rules->not_accepted, NULL);
	g_autofree char *w = NULL;
	const char *code;
	struct shown sh;
	int rc = next_word(ps, &w);

	if (rc != TDK_OK)
		return rc;
	if (w == NULL)
		return fail(ps, TDK_ESYNTAX, "missing reason code (known: %s)", known);
	code = find_reason(&ps->rules->not_accepted, w);
	if (code == NULL)
		return fail(ps, TDK_EINVAL, "unknown reason code '%s' (known: %s)",
			    show(w, &sh), known);
	ps->c->code = g_strdup(code);
	return rest_text(ps, "text", false, &ps->c->text);
}

static int party_option(struct parser *ps, const char *keyword)
{
	struct command *c = ps->c;
	g_autofree char *v = NULL;
	g_autofree char *what = NULL;
	size_t opt = find_name(option_names, G_N_ELEMENTS(option_names), keyword);
	char **slot;
	struct shown sh;
	int rc;

	if (opt == 0)
		return fail(ps, TDK_ESYNTAX,
			    "unknown option '%s' (expected name, lang, key or postal)",
			    show(keyword, &sh));
	slot = opt == OPT_NAME ? &c->name : opt == OPT_LANG ? &c->lang :
	       opt == OPT_KEY ? &c->key : &c->postal;
	if (*slot != NULL)
		return fail(ps, TDK_ESYNTAX, "'%s' given twice", option_names[opt]);
	what = g_strdup_printf("a value after '%s'", option_names[opt]);
	rc = need_word(ps, what, &v);
	if (rc != TDK_OK)
		return rc;
	switch (opt) {
	case OPT_LANG: {
		size_t i = find_name(lang_names, G_N_ELEMENTS(lang_names), v);

		if (i == 0)
			return fail(ps, TDK_EINVAL,
				    "lang must be 'ja' or 'en', got '%s'", show(v, &sh));
		*slot = g_strdup(lang_names[i]);
		break;
	}
	case OPT_KEY:
		*slot = fingerprint(v);
		if (*slot == NULL)
			return fail(ps, TDK_EINVAL,
				    "bad key fingerprint '%s' (expected 40 or 64 hex digits)",
				    show(v, &sh));
		break;
	default:
		if (only_blanks(v))
			return fail(ps, TDK_EINVAL, "'%s' must not be empty",
				    option_names[opt]);
		*slot = g_steal_pointer(&v);
		break;
	}
	return TDK_OK;
}

static int parse_party(struct parser *ps)
{
	g_autofree char *address = NULL;
	const char *problem;
	struct shown sh;
	size_t role;
	int rc = enum_word(ps, role_names, G_N_ELEMENTS(role_names), "role",
			   "discoverer, operator, developer, coordinator or staff-cc",
			   &role);

	if (rc != TDK_OK)
		return rc;
	ps->c->role = (enum cmd_role)role;
	rc = need_word(ps, "address", &address);
	if (rc != TDK_OK)
		return rc;
	problem = address_problem(address);
	if (problem != NULL)
		return fail(ps, TDK_EINVAL, "bad address '%s' (%s)",
			    show(address, &sh), problem);
	ps->c->address = g_steal_pointer(&address);
	for (;;) {
		g_autofree char *keyword = NULL;

		rc = next_word(ps, &keyword);
		if (rc != TDK_OK || keyword == NULL)
			return rc;
		rc = party_option(ps, keyword);
		if (rc != TDK_OK)
			return rc;
	}
}

static int parse_set(struct parser *ps)
{
	g_autofree char *name = NULL;
	g_autofree char *v = NULL;
	const struct field_spec *f;
	const char *problem;
	struct shown sh;
	size_t i;
	int rc = need_word(ps, "field (" FIELD_LIST ")", &name);

	if (rc != TDK_OK)
		return rc;
	f = find_field(name);
	if (f == NULL)
		return fail(ps, TDK_EINVAL, "unknown field '%s' (expected " FIELD_LIST ")",
			    show(name, &sh));
	ps->c->field = g_strdup(f->name);
	if (f->type == FIELD_TEXT)
		return rest_text(ps, "value", true, &ps->c->value);
	rc = next_word(ps, &v);
	if (rc != TDK_OK)
		return rc;
	if (v == NULL || v[0] == '\0')
		return fail(ps, TDK_ESYNTAX, "missing value for '%s'", f->name);
	if (f->type == FIELD_URL) {
		problem = url_problem(v);
		if (problem != NULL)
			return fail(ps, TDK_EINVAL, "bad URL '%s' (%s)", show(v, &sh),
				    problem);
		ps->c->value = g_steal_pointer(&v);
	} else {
		i = find_name(f->values, f->n_values, v);
		if (i == 0)
			return fail(ps, TDK_EINVAL, "%s must be %s, got '%s'", f->name,
				    f->expected, show(v, &sh));
		ps->c->value = g_strdup(f->values[i]);
	}
	return expect_end(ps, "the value");
}

static int parse_send(struct parser *ps)
{
	size_t i;
	int rc = enum_word(ps, send_names, G_N_ELEMENTS(send_names),
			   "what to send", "stage1, stage2, forward or reminder", &i);

	if (rc != TDK_OK)
		return rc;
	ps->c->send = (enum cmd_send)i;
	return expect_end(ps, "what to send");
}

static int parse_contacted(struct parser *ps)
{
	size_t i;
	int rc = enum_word(ps, channel_names, G_N_ELEMENTS(channel_names),
			   "channel", "'post' or 'phone'", &i);

	if (rc != TDK_OK)
		return rc;
	ps->c->channel = g_strdup(channel_names[i]);
	return rest_text(ps, "text", false, &ps->c->text);
}

/* "reason TEXT", required. */
static int reason_clause(struct parser *ps)
{
	g_autofree char *w = NULL;
	struct shown sh;
	int rc = next_word(ps, &w);

	if (rc != TDK_OK)
		return rc;
	if (w == NULL)
		return fail(ps, TDK_ESYNTAX, "missing 'reason' and its text");
	if (g_ascii_strcasecmp(w, "reason") != 0)
		return fail(ps, TDK_ESYNTAX, "expected 'reason', got '%s'",
			    show(w, &sh));
	return rest_text(ps, "reason text", true, &ps->c->text);
}

static int parse_extend(struct parser *ps)
{
	g_autofree char *w = NULL;
	struct shown sh;
	tdk_err perr;
	size_t i;
	int rc = enum_word(ps, clock_names, G_N_ELEMENTS(clock_names), "clock",
			   "investigation, fix, completion, contact or first-reply",
			   &i);

	if (rc != TDK_OK)
		return rc;
	ps->c->clock = (enum cmd_clock)i;
	rc = need_word(ps, "period (e.g. 20bd, 10d, 2w, 3M)", &w);
	if (rc != TDK_OK)
		return rc;
	if (cal_period_parse(w, &ps->c->period, &perr) != TDK_OK)
		return fail(ps, TDK_EINVAL, "bad period '%s': %s", show(w, &sh),
			    perr.text);
	return reason_clause(ps);
}

static int parse_pause(struct parser *ps)
{
	return reason_clause(ps);
}

static int parse_bare(struct parser *ps)
{
	return expect_end(ps, "the case number");
}

static int parse_close(struct parser *ps)
{
	g_autofree char *known = NULL;
	g_autofree char *w = NULL;
	g_autofree char *code = NULL;
	const struct rule_outcome *o;
	const struct rule_reason_list *web, *product;
	const char *found;
	struct shown sh, sh2;
	int rc = next_word(ps, &w);

	if (rc != TDK_OK)
		return rc;
	if (w == NULL) {
		known = outcome_codes(ps->rules);
		return fail(ps, TDK_ESYNTAX, "missing outcome (known: %s)", known);
	}
	o = find_outcome(ps->rules, w);
	if (o == NULL) {
		known = outcome_codes(ps->rules);
		return fail(ps, TDK_EINVAL, "unknown outcome '%s' (known: %s)",
			    show(w, &sh), known);
	}
	ps->c->outcome = g_strdup(o->code);
	if (o->needs_reason) {
		web = o->kinds & RULE_KIND_WEB ? &ps->rules->web_end : NULL;
		product = o->kinds & RULE_KIND_PRODUCT ? &ps->rules->product_end : NULL;
		known = reason_codes(web, product);
		rc = next_word(ps, &code);
		if (rc != TDK_OK)
			return rc;
		if (code == NULL)
			return fail(ps, TDK_ESYNTAX,
				    "outcome '%s' needs a reason code (known: %s)",
				    o->code, known);
		found = web != NULL ? find_reason(web, code) : NULL;
		if (found == NULL && product != NULL)
			found = find_reason(product, code);
		if (found == NULL)
			return fail(ps, TDK_EINVAL,
				    "unknown reason code '%s' for outcome '%s' (known: %s)",
				    show(code, &sh), show(o->code, &sh2), known);
		ps->c->code = g_strdup(found);
	}
	return rest_text(ps, "text", false, &ps->c->text);
}

static int parse_note(struct parser *ps)
{
	return rest_text(ps, "text", true, &ps->c->text);
}

static int parse_record(struct parser *ps)
{
	g_autofree char *w = NULL;
	struct shown sh;
	civil_day day;
	int y, m, d;
	size_t i;
	int rc = enum_word(ps, record_names, G_N_ELEMENTS(record_names), "event",
			   "published, priority-provided, gov-notified, "
			   "coordinator-update or checked", &i);

	if (rc != TDK_OK)
		return rc;
	ps->c->record = (enum cmd_record)i;
	rc = need_word(ps, "date (YYYY-MM-DD)", &w);
	if (rc != TDK_OK)
		return rc;
	rc = civil_parse(w, &day);
	if (rc == TDK_ERANGE)
		return fail(ps, TDK_EINVAL, "bad date '%s' (no such day)",
			    show(w, &sh));
	if (rc != TDK_OK)
		return fail(ps, TDK_EINVAL, "bad date '%s' (expected YYYY-MM-DD)",
			    show(w, &sh));
	civil_to_ymd(day, &y, &m, &d);
	if (y < CAL_FIRST_YEAR || y > CAL_LAST_YEAR)
		return fail(ps, TDK_EINVAL, "bad date '%s' (outside %d..%d)",
			    show(w, &sh), CAL_FIRST_YEAR, CAL_LAST_YEAR);
	ps->c->date = day;
	return rest_text(ps, "text", false, &ps->c->text);
}

static int (*const handlers[])(struct parser *) = {
	[CMD_ACCEPT] = parse_accept, [CMD_REJECT] = parse_reject,
	[CMD_PARTY] = parse_party, [CMD_SET] = parse_set,
	[CMD_SEND] = parse_send, [CMD_CONTACTED] = parse_contacted,
	[CMD_EXTEND] = parse_extend, [CMD_PAUSE] = parse_pause,
	[CMD_RESUME] = parse_bare, [CMD_UNREACHABLE] = parse_bare,
	[CMD_REOPEN] = parse_bare, [CMD_CLOSE] = parse_close,
	[CMD_HOLD] = parse_bare, [CMD_RELEASE] = parse_bare,
	[CMD_NOTE] = parse_note, [CMD_RECORD] = parse_record,
};

/*
 * One line of len bytes (line[len] is NUL; earlier NULs are refused). A
 * blank or comment line sets *empty and gives no command.
 */
static int parse_line(const char *line, size_t len,
		      const struct casenum_format *fmt, const struct rules *rules,
		      struct command **out, bool *empty, tdk_err *err)
{
	struct parser ps = { .p = line, .fmt = fmt, .rules = rules, .err = err };
	g_autofree char *verb = NULL;
	g_autofree char *number = NULL;
	struct shown sh;
	size_t v;
	int rc;

	*out = NULL;
	*empty = false;
	rc = check_line(line, len, err);
	if (rc != TDK_OK)
		return rc;
	skip_blanks(&ps);
	if (*ps.p == '\0' || *ps.p == '#') {
		*empty = true;
		return TDK_OK;
	}
	rc = next_word(&ps, &verb);
	if (rc != TDK_OK)
		return rc;
	v = find_name(verb_names, G_N_ELEMENTS(verb_names), verb);
	if (v == 0)
		return fail(&ps, TDK_ESYNTAX, "unknown command '%s'", show(verb, &sh));
	ps.verb = verb_names[v];
	ps.c = g_new0(struct command, 1);
	ps.c->verb = (enum cmd_verb)v;
	rc = need_word(&ps, "case number", &number);
	if (rc == TDK_OK)
		rc = case_number(&ps, number);
	if (rc == TDK_OK)
		rc = handlers[v](&ps);
	if (rc != TDK_OK) {
		command_free(ps.c);
		return rc;
	}
	*out = ps.c;
	return TDK_OK;
}

static int check_args(const struct casenum_format *fmt,
		      const struct rules *rules, tdk_err *err)
{
	if (fmt == NULL || rules == NULL)
		return tdk_err_set(err, TDK_EINVAL, "command: no format or rules");
	if (casenum_format_check(fmt, err) != TDK_OK)
		return TDK_EINVAL;
	return TDK_OK;
}

int command_parse(const char *line, const struct casenum_format *fmt,
		  const struct rules *rules, struct command **out, tdk_err *err)
{
	bool empty;
	int rc;

	if (out == NULL || line == NULL)
		return tdk_err_set(err, TDK_EINVAL, "command: no line or result");
	*out = NULL;
	rc = check_args(fmt, rules, err);
	if (rc != TDK_OK)
		return rc;
	rc = parse_line(line, strnlen(line, COMMAND_LINE_MAX + 1), fmt, rules,
			out, &empty, err);
	if (rc == TDK_OK && empty)
		return tdk_err_set(err, TDK_ESYNTAX, "empty command");
	return rc;
}

int command_parse_script(const char *text, size_t len,
			 const struct casenum_format *fmt,
			 const struct rules *rules, struct command ***out,
			 size_t *n, tdk_err *err)
{
	const char *p = text, *end = text + len;
	GPtrArray *v = NULL;
	size_t lineno = 0;
	int rc;

	if (out == NULL || n == NULL || (text == NULL && len > 0))
		return tdk_err_set(err, TDK_EINVAL, "command: no text or result");
	*out = NULL;
	*n = 0;
	rc = check_args(fmt, rules, err);
	if (rc != TDK_OK)
		return rc;
	v = g_ptr_array_new();
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		p += 3;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *stop = nl != NULL ? nl : end;
		struct command *c = NULL;
		tdk_err line_err;
		char *line;
		size_t line_len;
		bool empty;

		lineno++;
		if (stop > p && stop[-1] == '\r')
			stop--;
		line_len = (size_t)(stop - p);
		if (line_len > COMMAND_LINE_MAX) {
			rc = tdk_err_set(err, TDK_ELIMIT, "line %zu: line longer than %d bytes",
					 lineno, COMMAND_LINE_MAX);
			goto fail;
		}
		line = g_malloc(line_len + 1);
		memcpy(line, p, line_len);
		line[line_len] = '\0';
		rc = parse_line(line, line_len, fmt, rules, &c, &empty, &line_err);
		g_free(line);
		if (rc != TDK_OK) {
			tdk_err_set(err, rc, "line %zu: %s", lineno, line_err.text);
			goto fail;
		}
		if (!empty) {
			if (v->len >= COMMAND_SCRIPT_MAX) {
				command_free(c);
				rc = tdk_err_set(err, TDK_ELIMIT,
						 "line %zu: more than %d commands in one script",
						 lineno, COMMAND_SCRIPT_MAX);
				goto fail;
			}
			g_ptr_array_add(v, c);
		}
		p = nl != NULL ? nl + 1 : end;
	}
	*n = v->len;
	g_ptr_array_add(v, NULL);
	*out = (struct command **)g_ptr_array_free(v, FALSE);
	return TDK_OK;
fail:
	command_free_all((struct command **)v->pdata, v->len);
	g_ptr_array_free(v, FALSE);
	return rc;
}

void command_free(struct command *c)
{
	if (c == NULL)
		return;
	g_free(c->case_text);
	g_free(c->code);
	g_free(c->outcome);
	g_free(c->text);
	g_free(c->address);
	g_free(c->name);
	g_free(c->lang);
	g_free(c->key);
	g_free(c->postal);
	g_free(c->field);
	g_free(c->value);
	g_free(c->channel);
	g_free(c);
}

void command_free_all(struct command **v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		command_free(v[i]);
	g_free(v);
}

/* ---------------------------------------------------------- printing */

/* A WORD, quoted when it is empty or holds a blank or '"'. */
static void put_word(GString *s, const char *w)
{
	g_string_append_c(s, ' ');
	if (w[0] != '\0' && strpbrk(w, " \t\"") == NULL) {
		g_string_append(s, w);
		return;
	}
	g_string_append_c(s, '"');
	for (const char *p = w; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			g_string_append_c(s, '\\');
		g_string_append_c(s, *p);
	}
	g_string_append_c(s, '"');
}

/* A TEXT, unquoted when the rest of the line reads back the same. */
static void put_text(GString *s, const char *t)
{
	size_t len = strlen(t);

	if (len == 0 || t[0] == '"' || is_blank(t[0]) || is_blank(t[len - 1])) {
		put_word(s, t);
		return;
	}
	g_string_append_c(s, ' ');
	g_string_append(s, t);
}

char *command_to_text(const struct command *c)
{
	const struct field_spec *f;
	char period[CAL_PERIOD_LEN], date[11];
	GString *s;
	bool ok = true;

	if (c == NULL || c->case_text == NULL ||
	    strcmp(command_verb_name(c->verb), "?") == 0)
		return NULL;
	if ((c->verb == CMD_PARTY && strcmp(command_role_name(c->role), "?") == 0) ||
	    (c->verb == CMD_SEND && strcmp(command_send_name(c->send), "?") == 0) ||
	    (c->verb == CMD_EXTEND && strcmp(command_clock_name(c->clock), "?") == 0) ||
	    (c->verb == CMD_RECORD && strcmp(command_record_name(c->record), "?") == 0))
		return NULL;
	s = g_string_new(command_verb_name(c->verb));
	put_word(s, c->case_text);
	switch (c->verb) {
	case CMD_ACCEPT:
		ok = c->kind == RULE_KIND_WEB || c->kind == RULE_KIND_PRODUCT;
		g_string_append(s, c->kind == RULE_KIND_WEB ? " web" : " product");
		break;
	case CMD_REJECT:
		if ((ok = c->code != NULL))
			put_word(s, c->code);
		break;
	case CMD_PARTY:
		ok = c->address != NULL;
		g_string_append_printf(s, " %s", command_role_name(c->role));
		if (ok)
			put_word(s, c->address);
		if (c->name != NULL) {
			g_string_append(s, " name");
			put_word(s, c->name);
		}
		if (c->lang != NULL)
			g_string_append_printf(s, " lang %s", c->lang);
		if (c->key != NULL)
			g_string_append_printf(s, " key %s", c->key);
		if (c->postal != NULL) {
			g_string_append(s, " postal");
			put_word(s, c->postal);
		}
		break;
	case CMD_SET:
		f = c->field != NULL ? find_field(c->field) : NULL;
		if (!(ok = f != NULL && c->value != NULL))
			break;
		g_string_append_printf(s, " %s", f->name);
		if (f->type == FIELD_TEXT)
			put_text(s, c->value);
		else
			put_word(s, c->value);
		break;
	case CMD_SEND:
		g_string_append_printf(s, " %s", command_send_name(c->send));
		break;
	case CMD_CONTACTED:
		if ((ok = c->channel != NULL))
			g_string_append_printf(s, " %s", c->channel);
		break;
	case CMD_EXTEND:
		cal_period_format(c->period, period, sizeof period);
		g_string_append_printf(s, " %s %s", command_clock_name(c->clock),
				       period);
		if (c->period.count < 1 || c->period.count > CAL_PERIOD_MAX) {
			ok = false;
			break;
		}
		/* fall through */
	case CMD_PAUSE:
		g_string_append(s, " reason");
		ok = c->text != NULL;
		break;
	case CMD_CLOSE:
		if (!(ok = c->outcome != NULL))
			break;
		put_word(s, c->outcome);
		if (c->code != NULL)
			put_word(s, c->code);
		break;
	case CMD_NOTE:
		ok = c->text != NULL;
		break;
	case CMD_RECORD:
		civil_format(c->date, date);
		g_string_append_printf(s, " %s %s", command_record_name(c->record),
				       date);
		break;
	default:
		break;
	}
	if (ok && c->text != NULL)
		put_text(s, c->text);
	return g_string_free(s, !ok);
}
