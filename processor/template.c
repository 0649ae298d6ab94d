/*
 * template.c - reading and checking notice templates (see template.h).
 *
 * Owns: the table of notices todoke sends (name, scope, the audiences
 * that need a template), the file name and header block of a template,
 * the lexer of its body (tags stay on one line; a line of nothing but
 * block tags and blanks leaves nothing behind), the parser into the tree
 * of template_int.h with every variable, filter and audience checked, and
 * loading the ja and en directories as one immutable set.
 *
 * Every refusal is "file:line: message" in err. A struct template owns its
 * tree; template_free() and templates_free() release (NULL is fine).
 */
#include "template_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------ notices */

static const struct notice_def {
	const char *name;
	int scope;
	unsigned audiences; /* each needs a template in both languages */
} notice_defs[] = {
	{ "acknowledgement", TEMPLATE_CASE, TA_DISCOVERER },
	{ "acceptance", TEMPLATE_CASE, TA_DISCOVERER },
	{ "non-acceptance", TEMPLATE_CASE, TA_DISCOVERER },
	{ "stage1", TEMPLATE_CASE, TA_OPERATOR | TA_DEVELOPER },
	{ "stage1-reminder", TEMPLATE_CASE, TA_OPERATOR | TA_DEVELOPER },
	{ "contact-reminder", TEMPLATE_CASE, TA_OPERATOR | TA_DEVELOPER },
	{ "postal-letter", TEMPLATE_CASE, TA_OPERATOR | TA_DEVELOPER },
	{ "stage2", TEMPLATE_CASE, TA_OPERATOR | TA_DEVELOPER },
	{ "reminder-first-reply", TEMPLATE_CASE, TA_OPERATOR | TA_DEVELOPER },
	{ "reminder-investigation", TEMPLATE_CASE, TA_OPERATOR | TA_DEVELOPER },
	{ "reminder-fix", TEMPLATE_CASE, TA_OPERATOR | TA_DEVELOPER },
	{ "unreachable", TEMPLATE_CASE, TA_DISCOVERER },
	{ "ended", TEMPLATE_CASE, TA_DISCOVERER | TA_OPERATOR },
	{ "completion", TEMPLATE_CASE, TA_DISCOVERER },
	{ "published", TEMPLATE_CASE, TA_DISCOVERER },
	{ "priority-provided", TEMPLATE_CASE, TA_DISCOVERER },
	{ "forward", TEMPLATE_CASE, TA_COORDINATOR },
	{ "staff-notice", TEMPLATE_CASE_OPTIONAL, TA_STAFF },
	{ "digest", TEMPLATE_DESK, TA_STAFF },
	{ "transcript", TEMPLATE_CASE_OPTIONAL, TA_STAFF },
	{ "fix-report-form", TEMPLATE_ATTACHMENT, TA_OPERATOR },
};

static const char *const audience_names[] = {
	"discoverer", "operator", "developer", "coordinator", "staff",
};

static const char *const langs[] = { "ja", "en" };

static const struct notice_def *notice_find(const char *name)
{
	for (size_t i = 0; name != NULL && i < G_N_ELEMENTS(notice_defs); i++)
		if (strcmp(notice_defs[i].name, name) == 0)
			return &notice_defs[i];
	return NULL;
}

int template_notice_scope(const char *notice)
{
	const struct notice_def *d = notice_find(notice);

	return d != NULL ? d->scope : 0;
}

unsigned tpl_audience_bit(const char *name)
{
	for (size_t i = 0; name != NULL && i < G_N_ELEMENTS(audience_names); i++)
		if (strcmp(audience_names[i], name) == 0)
			return 1u << i;
	return 0;
}

const char *tpl_audience_name(unsigned bit)
{
	for (size_t i = 0; i < G_N_ELEMENTS(audience_names); i++)
		if (bit & (1u << i))
			return audience_names[i];
	return "?";
}

const char *template_default_audience(const char *notice, int case_kind)
{
	const struct notice_def *d = notice_find(notice);

	if (d == NULL)
		return NULL;
	if ((d->audiences & TA_OPERATOR) && (d->audiences & TA_DEVELOPER))
		return case_kind == CASE_KIND_PRODUCT ? "developer" : "operator";
	return tpl_audience_name(d->audiences);
}

bool template_audience_sees_pii(const char *audience)
{
	return (tpl_audience_bit(audience) & TA_PII_ALLOWED) != 0;
}

/* ------------------------------------------------------------- freeing */

static void cond_free(struct tpl_cond *c)
{
	if (c == NULL)
		return;
	cond_free(c->left);
	cond_free(c->right);
	g_free(c->expr.literal);
	g_free(c->operand);
	g_free(c);
}

void tpl_node_free(gpointer p)
{
	struct tpl_node *n = p;

	if (n == NULL)
		return;
	g_free(n->text);
	g_free(n->expr.literal);
	for (int i = 0; i < n->n_filters; i++)
		g_free(n->filters[i].text);
	for (int i = 0; i < n->n_branches; i++) {
		cond_free(n->branches[i].cond);
		if (n->branches[i].body != NULL)
			g_ptr_array_unref(n->branches[i].body);
	}
	g_free(n->branches);
	if (n->body != NULL)
		g_ptr_array_unref(n->body);
	g_free(n);
}

static GPtrArray *node_list(void)
{
	return g_ptr_array_new_with_free_func(tpl_node_free);
}

void template_free(struct template *tp)
{
	if (tp == NULL)
		return;
	g_free(tp->path);
	g_free(tp->notice);
	g_free(tp->file_audience);
	if (tp->subject != NULL)
		g_ptr_array_unref(tp->subject);
	g_free(tp->filename);
	g_strfreev(tp->attach);
	if (tp->body != NULL)
		g_ptr_array_unref(tp->body);
	g_free(tp);
}

const char *template_notice(const struct template *tp) { return tp->notice; }
bool template_uses_pii(const struct template *tp) { return tp->uses_pii; }

bool template_has_audience(const struct template *tp, const char *audience)
{
	unsigned bit = tpl_audience_bit(audience);

	return bit != 0 && (tp->audiences & bit) != 0;
}

const char *const *template_attachments(const struct template *tp)
{
	static const char *const none[] = { NULL };

	return tp->attach != NULL ? (const char *const *)tp->attach : none;
}

/* -------------------------------------------------------------- errors */

struct parser {
	const char *path;
	struct template *tp;
	tdk_err *err;
	char *loops[TEMPLATE_NESTING_MAX]; /* loop variables, outermost first */
	int n_loops;
	int depth;                          /* open if / for blocks */
};

static int perr(struct parser *ps, int line, int status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int perr(struct parser *ps, int line, int status, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (line > 0)
		return tdk_err_set(ps->err, status, "%s:%d: %s", ps->path, line, msg);
	return tdk_err_set(ps->err, status, "%s: %s", ps->path, msg);
}

/* ----------------------------------------------------- words of a tag */

enum word_kind { W_IDENT = 1, W_STRING, W_INT, W_PUNCT };

struct word {
	enum word_kind kind;
	char *text;
};

#define WORDS_MAX 64

struct words {
	struct word w[WORDS_MAX];
	int n;
};

static void words_clear(struct words *ws)
{
	for (int i = 0; i < ws->n; i++)
		g_free(ws->w[i].text);
	ws->n = 0;
}

static bool ident_char(char ch, bool first)
{
	return g_ascii_isalpha(ch) || ch == '_' || (!first && (g_ascii_isdigit(ch) || ch == '.'));
}

/* Splits the inside of a tag into identifiers, "strings", integers and
 * the punctuation | ( ) == !=. On failure ws is left empty. */
static int split_words(struct parser *ps, int line, const char *s, struct words *ws)
{
	int rc = TDK_OK;

	ws->n = 0;
	while (*s != '\0' && rc == TDK_OK) {
		struct word w = { 0 };

		if (*s == ' ' || *s == '\t') {
			s++;
			continue;
		}
		if (ws->n == WORDS_MAX) {
			rc = perr(ps, line, TDK_ELIMIT, "too many words in one tag");
			break;
		}
		if (*s == '"') {
			GString *lit = g_string_new(NULL);

			for (s++; *s != '"' && *s != '\0'; s++) {
				if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
					s++;
				g_string_append_c(lit, *s);
			}
			if (*s == '\0') {
				g_string_free(lit, TRUE);
				rc = perr(ps, line, TDK_ESYNTAX, "a string is not closed with '\"'");
				break;
			}
			s++;
			w.kind = W_STRING;
			w.text = g_string_free(lit, FALSE);
		} else if (g_ascii_isdigit(*s)) {
			const char *start = s;

			while (g_ascii_isdigit(*s))
				s++;
			if (s - start > 6) {
				rc = perr(ps, line, TDK_ERANGE, "number too large");
				break;
			}
			w.kind = W_INT;
			w.text = g_strndup(start, (gsize)(s - start));
		} else if (ident_char(*s, true)) {
			const char *start = s;

			while (ident_char(*s, false))
				s++;
			w.kind = W_IDENT;
			w.text = g_strndup(start, (gsize)(s - start));
		} else if ((s[0] == '=' || s[0] == '!') && s[1] == '=') {
			w.kind = W_PUNCT;
			w.text = g_strndup(s, 2);
			s += 2;
		} else if (*s == '|' || *s == '(' || *s == ')') {
			w.kind = W_PUNCT;
			w.text = g_strndup(s, 1);
			s++;
		} else {
			rc = perr(ps, line, TDK_ESYNTAX, "unexpected character '%.*s' in a tag",
				  (int)(g_utf8_next_char(s) - s), s);
			break;
		}
		ws->w[ws->n++] = w;
	}
	if (rc != TDK_OK)
		words_clear(ws);
	return rc;
}

static bool word_is(const struct words *ws, int i, enum word_kind kind,
		    const char *text)
{
	return i < ws->n && ws->w[i].kind == kind &&
	       (text == NULL || strcmp(ws->w[i].text, text) == 0);
}

static bool is_keyword(const char *s)
{
	static const char *const kw[] = { "if", "elif", "else", "endif", "for", "in",
					  "endfor", "not", "and", "or", NULL };

	for (const char *const *k = kw; *k != NULL; k++)
		if (strcmp(*k, s) == 0)
			return true;
	return false;
}

/* ------------------------------------------------------------ variables */

/* Resolves a dotted name against the loops in scope and the schema. */
static int resolve(struct parser *ps, int line, const char *path,
		   struct tpl_expr *e)
{
	const char *dot = strchr(path, '.');
	size_t root_len = dot != NULL ? (size_t)(dot - path) : strlen(path);
	const struct tpl_var *v;

	memset(e, 0, sizeof *e);
	if (path[strlen(path) - 1] == '.' || strstr(path, "..") != NULL)
		return perr(ps, line, TDK_ESYNTAX, "malformed name '%s'", path);
	for (int d = ps->n_loops - 1; d >= 0; d--) {
		if (strlen(ps->loops[d]) != root_len ||
		    strncmp(ps->loops[d], path, root_len) != 0)
			continue;
		if (dot == NULL)
			return perr(ps, line, TDK_EINVAL,
				    "'%s' is a party: name one of its fields "
				    "(%s.role, .name, .address, .postal, .lang)",
				    path, path);
		if ((v = tpl_party_field_find(dot + 1)) == NULL)
			return perr(ps, line, TDK_ENOENT,
				    "unknown variable '%s' (a party has role, name, "
				    "address, postal, lang)", path);
		e->var = v;
		e->loop = d;
		return TDK_OK;
	}
	if (root_len == 4 && strncmp(path, "loop", 4) == 0) {
		if (ps->n_loops == 0)
			return perr(ps, line, TDK_EINVAL, "'%s' outside {%% for %%}", path);
		if (dot == NULL || (v = tpl_loop_field_find(dot + 1)) == NULL)
			return perr(ps, line, TDK_ENOENT,
				    "unknown variable '%s' (loop.index, loop.first, loop.last)",
				    path);
		e->var = v;
		e->loop = ps->n_loops - 1;
		return TDK_OK;
	}
	v = tpl_var_find(path);
	if (v == NULL)
		return perr(ps, line, TDK_ENOENT, "unknown variable '%s'%s", path,
			    tpl_var_is_root(path) ? ": name one of its members" : "");
	if (ps->tp->scope == TEMPLATE_DESK && (v->flags & TV_CASE))
		return perr(ps, line, TDK_EINVAL,
			    "'%s' belongs to a case; the desk-wide notice '%s' has none",
			    path, ps->tp->notice);
	if (v->flags & TV_PII) {
		unsigned denied = ps->tp->audiences & ~(unsigned)TA_PII_ALLOWED;

		if (denied != 0)
			return perr(ps, line, TDK_EPERM,
				    "'%s' is the discoverer's personal data: a template "
				    "for the %s may not use it", path,
				    tpl_audience_name(denied));
		if (!ps->tp->uses_pii)
			ps->tp->pii_line = line;
		ps->tp->uses_pii = true;
	}
	e->var = v;
	return TDK_OK;
}

/* -------------------------------------------------------------- filters */

static const struct {
	const char *name;
	enum tpl_filter_id id;
	enum tpl_type input; /* 0: any value that prints */
	enum word_kind arg;  /* 0: none; W_INT: (N), optional; W_STRING: ("text") */
} filter_defs[] = {
	{ "date", TF_DATE, TT_TIME, 0 },
	{ "era", TF_ERA, TT_TIME, 0 },
	{ "datetime", TF_DATETIME, TT_TIME, 0 },
	{ "period_words", TF_PERIOD_WORDS, TT_PERIOD, 0 },
	{ "indent", TF_INDENT, 0, W_INT },
	{ "quote", TF_QUOTE, 0, 0 },
	{ "upper", TF_UPPER, 0, 0 },
	{ "default", TF_DEFAULT, 0, W_STRING },
};

/* {{ EXPR | filter | filter(N) }} */
static int parse_output(struct parser *ps, int line, const char *content,
			struct tpl_node *n)
{
	struct words ws;
	enum tpl_type type;
	const char *shown;
	int i = 1, rc = split_words(ps, line, content, &ws);

	if (rc != TDK_OK)
		return rc;
	if (ws.n == 0) {
		rc = perr(ps, line, TDK_ESYNTAX, "empty {{ }}");
		goto out;
	}
	if (ws.w[0].kind == W_STRING) {
		n->expr.literal = g_strdup(ws.w[0].text);
		type = TT_TEXT;
	} else if (ws.w[0].kind == W_IDENT && !is_keyword(ws.w[0].text)) {
		if ((rc = resolve(ps, line, ws.w[0].text, &n->expr)) != TDK_OK)
			goto out;
		type = n->expr.var->type;
	} else {
		rc = perr(ps, line, TDK_ESYNTAX, "expected a variable after '{{', got '%s'",
			  ws.w[0].text);
		goto out;
	}
	shown = ws.w[0].kind == W_STRING ? "the string" : ws.w[0].text;
	if (type == TT_LIST) {
		rc = perr(ps, line, TDK_EINVAL,
			  "'%s' is a list: go through it with {%% for %%}", shown);
		goto out;
	}
	while (i < ws.n) {
		size_t f;

		if (!word_is(&ws, i, W_PUNCT, "|")) {
			rc = perr(ps, line, TDK_ESYNTAX, "expected '|' or '}}', got '%s'",
				  ws.w[i].text);
			goto out;
		}
		if (!word_is(&ws, i + 1, W_IDENT, NULL)) {
			rc = perr(ps, line, TDK_ESYNTAX, "expected a filter name after '|'");
			goto out;
		}
		for (f = 0; f < G_N_ELEMENTS(filter_defs); f++)
			if (strcmp(filter_defs[f].name, ws.w[i + 1].text) == 0)
				break;
		if (f == G_N_ELEMENTS(filter_defs)) {
			rc = perr(ps, line, TDK_ENOENT,
				  "unknown filter '%s' (date, era, datetime, period_words, "
				  "indent, quote, upper, default)", ws.w[i + 1].text);
			goto out;
		}
		if (filter_defs[f].input != 0 && filter_defs[f].input != type) {
			rc = perr(ps, line, TDK_EINVAL, "filter '%s' needs %s; %s is %s",
				  filter_defs[f].name, tpl_type_name(filter_defs[f].input),
				  shown, n->n_filters > 0 ? "text by then" : tpl_type_name(type));
			goto out;
		}
		if (n->n_filters == TPL_FILTERS_MAX) {
			rc = perr(ps, line, TDK_ELIMIT, "more than %d filters", TPL_FILTERS_MAX);
			goto out;
		}
		n->filters[n->n_filters].id = filter_defs[f].id;
		n->filters[n->n_filters].arg = filter_defs[f].id == TF_INDENT ? 4 : 0;
		i += 2;
		if (word_is(&ws, i, W_PUNCT, "(") || filter_defs[f].arg == W_STRING) {
			enum word_kind want = filter_defs[f].arg;
			long v;

			if (want == 0 || !word_is(&ws, i, W_PUNCT, "(") ||
			    !word_is(&ws, i + 1, want, NULL) || !word_is(&ws, i + 2, W_PUNCT, ")")) {
				rc = perr(ps, line, TDK_ESYNTAX, "filter '%s' takes %s",
					  filter_defs[f].name,
					  want == W_INT ? "one number: (N)"
					  : want == W_STRING ? "one string: (\"text\")" : "no argument");
				goto out;
			}
			if (want == W_STRING) {
				n->filters[n->n_filters].text = g_strdup(ws.w[i + 1].text);
			} else {
				v = strtol(ws.w[i + 1].text, NULL, 10);
				if (v < 1 || v > 32) {
					rc = perr(ps, line, TDK_ERANGE,
						  "indent width %ld: must be 1 to 32", v);
					goto out;
				}
				n->filters[n->n_filters].arg = (int)v;
			}
			i += 3;
		}
		n->n_filters++;
		type = TT_TEXT;
	}
out:
	words_clear(&ws);
	return rc;
}

/* ---------------------------------------------------------- conditions */

static int parse_term(struct parser *ps, int line, const struct words *ws,
		      int *i, struct tpl_cond **out)
{
	struct tpl_cond *c = g_new0(struct tpl_cond, 1);
	int rc;

	c->op = TC_TEST;
	if (word_is(ws, *i, W_IDENT, "not")) {
		c->negate = true;
		(*i)++;
	}
	if (!word_is(ws, *i, W_IDENT, NULL) || is_keyword(ws->w[*i].text)) {
		cond_free(c);
		return perr(ps, line, TDK_ESYNTAX, "expected a variable in the condition%s%s",
			    *i < ws->n ? ", got " : "", *i < ws->n ? ws->w[*i].text : "");
	}
	rc = resolve(ps, line, ws->w[*i].text, &c->expr);
	if (rc != TDK_OK) {
		cond_free(c);
		return rc;
	}
	(*i)++;
	if (word_is(ws, *i, W_PUNCT, "==") || word_is(ws, *i, W_PUNCT, "!=")) {
		c->compare = ws->w[*i].text[0] == '=' ? 1 : 2;
		if (c->expr.var->type == TT_LIST) {
			cond_free(c);
			return perr(ps, line, TDK_EINVAL, "a list cannot be compared");
		}
		if (!word_is(ws, *i + 1, W_STRING, NULL)) {
			cond_free(c);
			return perr(ps, line, TDK_ESYNTAX, "expected a \"string\" after '%s'",
				    ws->w[*i].text);
		}
		c->operand = g_strdup(ws->w[*i + 1].text);
		*i += 2;
	}
	*out = c;
	return TDK_OK;
}

static struct tpl_cond *cond_join(enum tpl_cond_op op, struct tpl_cond *l,
				  struct tpl_cond *r)
{
	struct tpl_cond *c = g_new0(struct tpl_cond, 1);

	c->op = op;
	c->left = l;
	c->right = r;
	return c;
}

/* COND := AND ('or' AND)*; AND := TERM ('and' TERM)* */
static int parse_cond(struct parser *ps, int line, const struct words *ws, int i,
		      struct tpl_cond **out)
{
	struct tpl_cond *result = NULL, *conj = NULL, *term = NULL;
	int rc;

	if (i >= ws->n)
		return perr(ps, line, TDK_ESYNTAX, "the condition is missing");
	for (;;) {
		if ((rc = parse_term(ps, line, ws, &i, &term)) != TDK_OK)
			break;
		conj = conj == NULL ? term : cond_join(TC_AND, conj, term);
		if (word_is(ws, i, W_IDENT, "and")) {
			i++;
			continue;
		}
		result = result == NULL ? conj : cond_join(TC_OR, result, conj);
		conj = NULL;
		if (word_is(ws, i, W_IDENT, "or")) {
			i++;
			continue;
		}
		if (i < ws->n) {
			rc = perr(ps, line, TDK_ESYNTAX,
				  "unexpected '%s' in the condition (expected and, or, "
				  "== or != \"text\")", ws->w[i].text);
			break;
		}
		*out = result;
		return TDK_OK;
	}
	cond_free(conj);
	cond_free(result);
	return rc;
}

/* --------------------------------------------------------------- lexer */

enum tok_kind { TK_TEXT = 1, TK_OUT, TK_BLOCK };

struct token {
	enum tok_kind kind;
	int line;
	char *text;
};

static void token_clear(gpointer p)
{
	g_free(((struct token *)p)->text);
}

static void add_token(GArray *toks, enum tok_kind kind, int line, const char *s,
		      size_t len)
{
	struct token t = { kind, line, NULL };

	if (kind == TK_TEXT && toks->len > 0) {
		struct token *last = &g_array_index(toks, struct token, toks->len - 1);

		if (last->kind == TK_TEXT) {
			char *joined = g_strdup_printf("%s%.*s", last->text, (int)len, s);

			g_free(last->text);
			last->text = joined;
			return;
		}
	}
	t.text = g_strndup(s, len);
	g_array_append_val(toks, t);
}

static bool blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t')
			return false;
	return true;
}

/* One line of the body (without its newline) into tokens. */
static int lex_line(struct parser *ps, int line, const char *s, size_t len,
		    bool newline, GArray *toks)
{
	GArray *lt = g_array_new(FALSE, TRUE, sizeof(struct token));
	bool has_out = false, has_tag = false, only_blank = true;
	size_t p = 0;
	int rc = TDK_OK;

	g_array_set_clear_func(lt, token_clear);
	while (p < len) {
		size_t q = p, c;
		char open = 0;
		const char *closer;

		for (; q + 1 < len; q++)
			if (s[q] == '{' && (s[q + 1] == '{' || s[q + 1] == '%' || s[q + 1] == '#')) {
				open = s[q + 1];
				break;
			}
		if (open == 0) {
			only_blank = only_blank && blank(s + p, len - p);
			add_token(lt, TK_TEXT, line, s + p, len - p);
			break;
		}
		if (q > p) {
			only_blank = only_blank && blank(s + p, q - p);
			add_token(lt, TK_TEXT, line, s + p, q - p);
		}
		closer = open == '{' ? "}}" : open == '%' ? "%}" : "#}";
		/* The closer ends the tag unless it is inside a "string". */
		for (c = q + 2; c + 1 < len; c++) {
			if (open != '#' && s[c] == '"') {
				for (c++; c < len && s[c] != '"'; c++)
					if (s[c] == '\\' && c + 1 < len)
						c++;
				if (c >= len)
					break;
				continue;
			}
			if (s[c] == closer[0] && s[c + 1] == closer[1])
				break;
		}
		if (c + 1 >= len) {
			rc = perr(ps, line, TDK_ESYNTAX, "'{%c' is not closed by '%s' on this line",
				  open, closer);
			goto out;
		}
		if (open == '{')
			has_out = true;
		else
			has_tag = true;
		if (open != '#') {
			g_autofree char *inner = g_strstrip(g_strndup(s + q + 2, c - q - 2));

			add_token(lt, open == '{' ? TK_OUT : TK_BLOCK, line, inner, strlen(inner));
		}
		p = c + 2;
	}
	/* A line of nothing but block tags and blanks leaves no line. */
	if (has_tag && !has_out && only_blank) {
		for (guint i = 0; i < lt->len; i++) {
			struct token *t = &g_array_index(lt, struct token, i);

			if (t->kind == TK_BLOCK)
				add_token(toks, TK_BLOCK, t->line, t->text, strlen(t->text));
		}
		goto out;
	}
	for (guint i = 0; i < lt->len; i++) {
		struct token *t = &g_array_index(lt, struct token, i);

		add_token(toks, t->kind, t->line, t->text, strlen(t->text));
	}
	if (newline)
		add_token(toks, TK_TEXT, line, "\n", 1);
out:
	g_array_unref(lt);
	return rc;
}

/* -------------------------------------------------------------- parser */

struct stream {
	GArray *toks;
	guint pos;
};

static int parse_nodes(struct parser *ps, struct stream *st, GPtrArray *out,
		       const char *const *stops, const struct token **stop,
		       struct words *stop_words);

static bool in_list(const char *const *list, const char *s)
{
	for (; list != NULL && *list != NULL; list++)
		if (strcmp(*list, s) == 0)
			return true;
	return false;
}

static int parse_if(struct parser *ps, struct stream *st, const struct token *open,
		    struct words *ws, struct tpl_node *n)
{
	static const char *const stops[] = { "elif", "else", "endif", NULL };
	struct tpl_cond *cond = NULL;
	bool seen_else = false;
	int rc = parse_cond(ps, open->line, ws, 1, &cond);

	n->kind = TN_IF;
	while (rc == TDK_OK) {
		const struct token *stop = NULL;
		struct words sw = { .n = 0 };
		const char *word;

		n->branches = g_renew(struct tpl_branch, n->branches, n->n_branches + 1);
		n->branches[n->n_branches].cond = cond;
		n->branches[n->n_branches].body = node_list();
		n->n_branches++;
		cond = NULL;
		rc = parse_nodes(ps, st, n->branches[n->n_branches - 1].body, stops, &stop, &sw);
		if (rc != TDK_OK)
			break;
		if (stop == NULL) {
			rc = perr(ps, open->line, TDK_ESYNTAX,
				  "'{%% if %%}' is not closed by '{%% endif %%}'");
			break;
		}
		word = sw.w[0].text;
		if (strcmp(word, "endif") == 0) {
			if (sw.n > 1)
				rc = perr(ps, stop->line, TDK_ESYNTAX,
					  "'{%% endif %%}' takes nothing after it");
			words_clear(&sw);
			break;
		}
		if (seen_else)
			rc = perr(ps, stop->line, TDK_ESYNTAX, "'{%% %s %%}' after '{%% else %%}'",
				  word);
		else if (strcmp(word, "else") == 0) {
			seen_else = true;
			if (sw.n > 1)
				rc = perr(ps, stop->line, TDK_ESYNTAX,
					  "'{%% else %%}' takes nothing after it");
		} else {
			rc = parse_cond(ps, stop->line, &sw, 1, &cond);
		}
		words_clear(&sw);
	}
	cond_free(cond);
	return rc;
}

static int parse_for(struct parser *ps, struct stream *st, const struct token *open,
		     struct words *ws, struct tpl_node *n)
{
	static const char *const stops[] = { "endfor", NULL };
	const struct token *stop = NULL;
	struct words sw = { .n = 0 };
	const char *name;
	int rc;

	n->kind = TN_FOR;
	if (ws->n != 4 || !word_is(ws, 1, W_IDENT, NULL) || !word_is(ws, 2, W_IDENT, "in") ||
	    !word_is(ws, 3, W_IDENT, NULL))
		return perr(ps, open->line, TDK_ESYNTAX,
			    "expected '{%% for NAME in LIST %%}'");
	name = ws->w[1].text;
	if (strchr(name, '.') != NULL || is_keyword(name) || strcmp(name, "loop") == 0 ||
	    tpl_var_is_root(name))
		return perr(ps, open->line, TDK_EINVAL,
			    "'%s' cannot name a loop variable (it is taken)", name);
	for (int d = 0; d < ps->n_loops; d++)
		if (strcmp(ps->loops[d], name) == 0)
			return perr(ps, open->line, TDK_EINVAL,
				    "'%s' is already the variable of an outer loop", name);
	if ((rc = resolve(ps, open->line, ws->w[3].text, &n->expr)) != TDK_OK)
		return rc;
	if (n->expr.var->type != TT_LIST)
		return perr(ps, open->line, TDK_EINVAL, "'%s' is %s, not a list",
			    ws->w[3].text, tpl_type_name(n->expr.var->type));
	ps->loops[ps->n_loops++] = g_strdup(name);
	n->body = node_list();
	rc = parse_nodes(ps, st, n->body, stops, &stop, &sw);
	g_free(ps->loops[--ps->n_loops]);
	if (rc == TDK_OK && stop == NULL)
		rc = perr(ps, open->line, TDK_ESYNTAX,
			  "'{%% for %%}' is not closed by '{%% endfor %%}'");
	if (rc == TDK_OK && sw.n > 1)
		rc = perr(ps, stop->line, TDK_ESYNTAX, "'{%% endfor %%}' takes nothing after it");
	words_clear(&sw);
	return rc;
}

/*
 * Parses tokens into out until a block tag whose first word is in stops
 * (returned in *stop and stop_words) or the end (*stop NULL).
 */
static int parse_nodes(struct parser *ps, struct stream *st, GPtrArray *out,
		       const char *const *stops, const struct token **stop,
		       struct words *stop_words)
{
	*stop = NULL;
	while (st->pos < st->toks->len) {
		const struct token *t = &g_array_index(st->toks, struct token, st->pos++);
		struct tpl_node *n = g_new0(struct tpl_node, 1);
		struct words ws = { .n = 0 };
		int rc = TDK_OK;

		n->line = t->line;
		if (t->kind == TK_TEXT) {
			n->kind = TN_TEXT;
			n->text = g_strdup(t->text);
			g_ptr_array_add(out, n);
			continue;
		}
		if (t->kind == TK_OUT) {
			n->kind = TN_OUT;
			rc = parse_output(ps, t->line, t->text, n);
			if (rc != TDK_OK) {
				tpl_node_free(n);
				return rc;
			}
			g_ptr_array_add(out, n);
			continue;
		}
		rc = split_words(ps, t->line, t->text, &ws);
		if (rc == TDK_OK && (ws.n == 0 || ws.w[0].kind != W_IDENT))
			rc = perr(ps, t->line, TDK_ESYNTAX, "empty or malformed {%% %%} tag");
		if (rc == TDK_OK && in_list(stops, ws.w[0].text)) {
			tpl_node_free(n);
			*stop = t;
			*stop_words = ws;
			return TDK_OK;
		}
		if (rc == TDK_OK && (strcmp(ws.w[0].text, "if") == 0 ||
				     strcmp(ws.w[0].text, "for") == 0)) {
			if (++ps->depth > TEMPLATE_NESTING_MAX)
				rc = perr(ps, t->line, TDK_ELIMIT,
					  "blocks nested more than %d deep", TEMPLATE_NESTING_MAX);
			else if (ws.w[0].text[0] == 'i')
				rc = parse_if(ps, st, t, &ws, n);
			else
				rc = parse_for(ps, st, t, &ws, n);
			ps->depth--;
		} else if (rc == TDK_OK) {
			static const char *const closers[] = { "elif", "else", "endif",
							       "endfor", NULL };

			if (in_list(closers, ws.w[0].text))
				rc = perr(ps, t->line, TDK_ESYNTAX, "'{%% %s %%}' without %s",
					  ws.w[0].text,
					  strcmp(ws.w[0].text, "endfor") == 0
						  ? "'{% for %}'" : "'{% if %}'");
			else
				rc = perr(ps, t->line, TDK_ESYNTAX,
					  "unknown tag '{%% %s %%}' (if, elif, else, endif, "
					  "for, endfor)", ws.w[0].text);
		}
		words_clear(&ws);
		if (rc != TDK_OK) {
			tpl_node_free(n);
			return rc;
		}
		g_ptr_array_add(out, n);
	}
	return TDK_OK;
}

/* ------------------------------------------------------------- subject */

/* Fixed words and [{{case}}]; nothing else may be interpolated. */
static int parse_subject(struct parser *ps, int line, const char *value)
{
	struct template *tp = ps->tp;
	const char *p = value;
	int tags = 0;

	tp->subject = node_list();
	if (strstr(value, "{%") != NULL || strstr(value, "{#") != NULL)
		return perr(ps, line, TDK_EINVAL,
			    "the subject may hold no tags: only the case, as [{{case}}]");
	while (*p != '\0') {
		const char *open = strstr(p, "{{"), *close;
		struct tpl_node *n;
		g_autofree char *inner = NULL;

		if (open == NULL)
			open = p + strlen(p);
		if (open > p) {
			n = g_new0(struct tpl_node, 1);
			n->kind = TN_TEXT;
			n->line = line;
			n->text = g_strndup(p, (gsize)(open - p));
			g_ptr_array_add(tp->subject, n);
		}
		if (*open == '\0')
			break;
		close = strstr(open + 2, "}}");
		if (close == NULL)
			return perr(ps, line, TDK_ESYNTAX, "'{{' is not closed by '}}'");
		inner = g_strstrip(g_strndup(open + 2, (gsize)(close - open - 2)));
		if (strcmp(inner, "case") != 0)
			return perr(ps, line, TDK_EPERM,
				    "the subject may not interpolate '%s': it carries only "
				    "fixed words and the case, [{{case}}]", inner);
		if (tp->scope == TEMPLATE_DESK)
			return perr(ps, line, TDK_EINVAL,
				    "the desk-wide notice '%s' has no case for its subject",
				    tp->notice);
		if (open == value || open[-1] != '[' || close[2] != ']')
			return perr(ps, line, TDK_ESYNTAX,
				    "the case goes in the subject as [{{case}}], in brackets");
		/* The '[' is part of the tag. */
		if (tp->subject->len > 0) {
			struct tpl_node *last = g_ptr_array_index(tp->subject, tp->subject->len - 1);

			last->text[strlen(last->text) - 1] = '\0';
			if (last->text[0] == '\0')
				g_ptr_array_remove_index(tp->subject, tp->subject->len - 1);
		}
		n = g_new0(struct tpl_node, 1);
		n->kind = TN_CASE_TAG;
		n->line = line;
		g_ptr_array_add(tp->subject, n);
		tags++;
		p = close + 3;
	}
	if (tp->scope != TEMPLATE_DESK && tags != 1)
		return perr(ps, line, TDK_EINVAL, tags == 0
				    ? "the subject must carry the case as [{{case}}]"
				    : "the subject carries the case more than once");
	return TDK_OK;
}

/* -------------------------------------------------------------- header */

/* Validates the whole file: UTF-8, no NUL, no control characters but TAB
 * and LF (CRLF line ends are taken as LF by the caller). */
static int check_text(struct parser *ps, const char *text, size_t len)
{
	const char *end;
	int line = 1;

	if (!g_utf8_validate(text, (gssize)len, &end)) {
		for (const char *p = text; p < end; p++)
			line += *p == '\n';
		return perr(ps, line, TDK_EINVAL, "not valid UTF-8");
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)text[i];

		if (ch == '\n')
			line++;
		else if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return perr(ps, line, TDK_EINVAL, "control character 0x%02x", ch);
	}
	return TDK_OK;
}

static int add_audiences(struct parser *ps, int line, const char *value)
{
	g_auto(GStrv) names = g_strsplit_set(value, " \t,", -1);
	int seen = 0;

	for (char **n = names; *n != NULL; n++) {
		unsigned bit;

		if (**n == '\0')
			continue;
		bit = tpl_audience_bit(*n);
		if (bit == 0)
			return perr(ps, line, TDK_EINVAL,
				    "unknown audience '%s' (discoverer, operator, developer, "
				    "coordinator, staff)", *n);
		ps->tp->audiences |= bit;
		seen++;
	}
	if (seen == 0)
		return perr(ps, line, TDK_EINVAL, "Audience: names no audience");
	return TDK_OK;
}

static int add_attachments(struct parser *ps, int line, const char *value)
{
	g_auto(GStrv) names = g_strsplit_set(value, " \t,", -1);
	GPtrArray *all = g_ptr_array_new();

	for (char **a = ps->tp->attach; a != NULL && *a != NULL; a++)
		g_ptr_array_add(all, g_strdup(*a));
	for (char **n = names; *n != NULL; n++) {
		if (**n == '\0')
			continue;
		if (template_notice_scope(*n) != TEMPLATE_ATTACHMENT) {
			g_ptr_array_set_free_func(all, g_free);
			g_ptr_array_unref(all);
			return perr(ps, line, TDK_EINVAL, "'%s' is not an attachment (fix-report-form)",
				    *n);
		}
		g_ptr_array_add(all, g_strdup(*n));
	}
	g_ptr_array_add(all, NULL);
	g_strfreev(ps->tp->attach);
	ps->tp->attach = (char **)g_ptr_array_free(all, FALSE);
	return TDK_OK;
}

/* Reads the header block; *body_at is the offset of the body, *body_line
 * its first line. */
static int parse_header(struct parser *ps, const char *text, size_t len,
			size_t *body_at, int *body_line)
{
	struct template *tp = ps->tp;
	g_autofree char *subject = NULL;
	size_t pos = 0;
	int line = 0, subject_line = 0, rc;

	for (;;) {
		const char *s = text + pos, *nl, *colon;
		size_t n;
		g_autofree char *name = NULL, *value = NULL;

		line++;
		if (pos >= len)
			return perr(ps, line - 1 > 0 ? line - 1 : 1, TDK_ESYNTAX,
				    "the header must end with an empty line before the body");
		nl = memchr(s, '\n', len - pos);
		n = nl != NULL ? (size_t)(nl - s) : len - pos;
		pos += n + (nl != NULL ? 1 : 0);
		if (blank(s, n))
			break;
		if (s[0] == '#')
			continue;
		colon = memchr(s, ':', n);
		if (colon == NULL || colon == s)
			return perr(ps, line, TDK_ESYNTAX,
				    "expected 'Name: value' or an empty line before the body");
		name = g_strndup(s, (gsize)(colon - s));
		for (const char *c = name; *c != '\0'; c++)
			if (!g_ascii_isalpha(*c) && *c != '-')
				return perr(ps, line, TDK_ESYNTAX,
					    "expected 'Name: value' or an empty line before the body");
		value = g_strstrip(g_strndup(colon + 1, (gsize)(s + n - colon - 1)));
		if (g_ascii_strcasecmp(name, "Subject") == 0) {
			if (tp->scope == TEMPLATE_ATTACHMENT)
				return perr(ps, line, TDK_EINVAL,
					    "an attachment has a Filename:, not a Subject:");
			if (subject != NULL)
				return perr(ps, line, TDK_EEXIST, "a second Subject:");
			if (*value == '\0')
				return perr(ps, line, TDK_EINVAL, "the Subject: is empty");
			subject = g_steal_pointer(&value);
			subject_line = line;
		} else if (g_ascii_strcasecmp(name, "Audience") == 0) {
			if ((rc = add_audiences(ps, line, value)) != TDK_OK)
				return rc;
		} else if (g_ascii_strcasecmp(name, "Attach") == 0) {
			if (tp->scope == TEMPLATE_ATTACHMENT)
				return perr(ps, line, TDK_EINVAL, "an attachment has no attachments");
			if ((rc = add_attachments(ps, line, value)) != TDK_OK)
				return rc;
		} else if (g_ascii_strcasecmp(name, "Filename") == 0) {
			if (tp->scope != TEMPLATE_ATTACHMENT)
				return perr(ps, line, TDK_EINVAL,
					    "only an attachment has a Filename:");
			if (tp->filename != NULL)
				return perr(ps, line, TDK_EEXIST, "a second Filename:");
			if (*value == '\0' || strpbrk(value, "/\\{}\"\t") != NULL)
				return perr(ps, line, TDK_EINVAL,
					    "the Filename: must be a plain file name");
			tp->filename = g_steal_pointer(&value);
		} else {
			return perr(ps, line, TDK_ENOENT,
				    "unknown header '%s' (Subject, Audience, Attach, Filename)",
				    name);
		}
	}
	*body_at = pos;
	*body_line = line + 1;
	if (tp->audiences == 0)
		return perr(ps, line, TDK_ENOENT, "no Audience: in the header");
	if (tp->file_audience != NULL &&
	    tp->audiences != tpl_audience_bit(tp->file_audience))
		return perr(ps, line, TDK_EINVAL,
			    "the file is for the %s alone; its Audience: must say so",
			    tp->file_audience);
	if (tp->scope == TEMPLATE_ATTACHMENT) {
		if (tp->filename == NULL)
			return perr(ps, line, TDK_ENOENT, "no Filename: in the header");
		return TDK_OK;
	}
	if (subject == NULL)
		return perr(ps, line, TDK_ENOENT, "no Subject: in the header");
	return parse_subject(ps, subject_line, subject);
}

/* ---------------------------------------------------------------- files */

/* NOTICE.txt or NOTICE.AUDIENCE.txt */
static int parse_file_name(struct parser *ps, const char *path)
{
	g_autofree char *base = g_path_get_basename(path);
	size_t len = strlen(base);
	char *dot;
	const struct notice_def *d;

	if (len <= 4 || strcmp(base + len - 4, ".txt") != 0)
		return perr(ps, 0, TDK_EINVAL, "a template's name ends in .txt");
	base[len - 4] = '\0';
	dot = strchr(base, '.');
	if (dot != NULL) {
		*dot = '\0';
		if (tpl_audience_bit(dot + 1) == 0)
			return perr(ps, 0, TDK_EINVAL,
				    "unknown audience '%s' in the file name (discoverer, "
				    "operator, developer, coordinator, staff)", dot + 1);
		ps->tp->file_audience = g_strdup(dot + 1);
	}
	d = notice_find(base);
	if (d == NULL)
		return perr(ps, 0, TDK_ENOENT, "unknown notice '%s'", base);
	ps->tp->notice = g_strdup(base);
	ps->tp->scope = d->scope;
	return TDK_OK;
}

int template_parse(const char *path, const char *text, size_t len,
		   struct template **out, tdk_err *err)
{
	struct template *tp = g_new0(struct template, 1);
	struct parser ps = { .path = path, .tp = tp, .err = err };
	struct stream st = { NULL, 0 };
	g_autofree char *clean = NULL;
	const struct token *stop = NULL;
	struct words sw = { .n = 0 };
	size_t body_at = 0, n = 0;
	int body_line = 1, rc;

	tp->path = g_strdup(path);
	if (len > TEMPLATE_FILE_MAX) {
		rc = perr(&ps, 0, TDK_ELIMIT, "larger than %d bytes", TEMPLATE_FILE_MAX);
		goto out;
	}
	/* CRLF line ends read as LF. */
	clean = g_malloc(len + 1);
	for (size_t i = 0; i < len; i++)
		if (!(text[i] == '\r' && i + 1 < len && text[i + 1] == '\n'))
			clean[n++] = text[i];
	clean[n] = '\0';
	rc = parse_file_name(&ps, path);
	if (rc == TDK_OK)
		rc = check_text(&ps, clean, n);
	if (rc == TDK_OK)
		rc = parse_header(&ps, clean, n, &body_at, &body_line);
	if (rc != TDK_OK)
		goto out;
	st.toks = g_array_new(FALSE, TRUE, sizeof(struct token));
	g_array_set_clear_func(st.toks, token_clear);
	for (size_t pos = body_at; rc == TDK_OK && pos < n; body_line++) {
		const char *nl = memchr(clean + pos, '\n', n - pos);
		size_t end = nl != NULL ? (size_t)(nl - clean) : n;

		rc = lex_line(&ps, body_line, clean + pos, end - pos, nl != NULL, st.toks);
		pos = end + 1;
	}
	tp->body = node_list();
	if (rc == TDK_OK)
		rc = parse_nodes(&ps, &st, tp->body, NULL, &stop, &sw);
	words_clear(&sw);
out:
	if (st.toks != NULL)
		g_array_unref(st.toks);
	for (int d = 0; d < ps.n_loops; d++)
		g_free(ps.loops[d]);
	if (rc != TDK_OK) {
		template_free(tp);
		return rc;
	}
	*out = tp;
	return TDK_OK;
}

/* ------------------------------------------------------------ the set */

struct templates {
	GPtrArray *by_lang[G_N_ELEMENTS(langs)]; /* struct template * */
};

static int lang_index(const char *lang)
{
	for (size_t i = 0; lang != NULL && i < G_N_ELEMENTS(langs); i++)
		if (strcmp(langs[i], lang) == 0)
			return (int)i;
	return -1;
}

static void template_free_cb(gpointer p)
{
	template_free(p);
}

void templates_free(const struct templates *t)
{
	struct templates *m = (struct templates *)t;

	if (m == NULL)
		return;
	for (size_t i = 0; i < G_N_ELEMENTS(langs); i++)
		if (m->by_lang[i] != NULL)
			g_ptr_array_unref(m->by_lang[i]);
	g_free(m);
}

size_t templates_count(const struct templates *t)
{
	size_t n = 0;

	for (size_t i = 0; i < G_N_ELEMENTS(langs); i++)
		n += t->by_lang[i]->len;
	return n;
}

static const struct template *find_bit(GPtrArray *list, const char *notice,
				       unsigned bit)
{
	for (guint i = 0; i < list->len; i++) {
		const struct template *tp = g_ptr_array_index(list, i);

		if (strcmp(tp->notice, notice) == 0 && (tp->audiences & bit))
			return tp;
	}
	return NULL;
}

const struct template *templates_find(const struct templates *t,
				      const char *notice, const char *audience,
				      const char *lang)
{
	int li = lang_index(lang);
	unsigned bit = tpl_audience_bit(audience);

	if (t == NULL || li < 0 || bit == 0 || notice == NULL)
		return NULL;
	return find_bit(t->by_lang[li], notice, bit);
}

static gint compare_names(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_lang(const char *dir, GPtrArray *list, tdk_err *err)
{
	GError *gerr = NULL;
	GDir *d = g_dir_open(dir, 0, &gerr);
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	const char *name;
	int rc = TDK_OK;

	if (d == NULL) {
		rc = tdk_err_set(err, TDK_ENOENT, "%s: %s", dir, gerr->message);
		g_error_free(gerr);
		g_ptr_array_unref(names);
		return rc;
	}
	while ((name = g_dir_read_name(d)) != NULL)
		if (name[0] != '.' && g_str_has_suffix(name, ".txt"))
			g_ptr_array_add(names, g_strdup(name));
	g_dir_close(d);
	g_ptr_array_sort(names, compare_names);
	for (guint i = 0; rc == TDK_OK && i < names->len; i++) {
		g_autofree char *path = g_build_filename(dir, g_ptr_array_index(names, i), NULL);
		g_autofree char *text = NULL;
		struct template *tp = NULL;
		gsize len;

		if (!g_file_get_contents(path, &text, &len, &gerr)) {
			rc = tdk_err_set(err, TDK_EIO, "%s: %s", path, gerr->message);
			g_clear_error(&gerr);
			break;
		}
		rc = template_parse(path, text, len, &tp, err);
		if (rc != TDK_OK)
			break;
		/* One template per notice and audience. */
		for (unsigned bit = 1; bit <= TA_STAFF; bit <<= 1) {
			const struct template *other;

			if (!(tp->audiences & bit) || (other = find_bit(list, tp->notice, bit)) == NULL)
				continue;
			rc = tdk_err_set(err, TDK_EEXIST,
					 "%s: the %s already has a template for '%s': %s",
					 path, tpl_audience_name(bit), tp->notice, other->path);
			break;
		}
		if (rc != TDK_OK) {
			template_free(tp);
			break;
		}
		g_ptr_array_add(list, tp);
	}
	g_ptr_array_unref(names);
	return rc;
}

/* Every notice has its audiences, the two languages have the same
 * templates, and every attachment is there. */
static int check_set(const struct templates *t, char *const dirs[], tdk_err *err)
{
	for (size_t li = 0; li < G_N_ELEMENTS(langs); li++) {
		for (size_t k = 0; k < G_N_ELEMENTS(notice_defs); k++) {
			const struct notice_def *d = &notice_defs[k];

			for (unsigned bit = 1; bit <= TA_STAFF; bit <<= 1)
				if ((d->audiences & bit) &&
				    find_bit(t->by_lang[li], d->name, bit) == NULL)
					return tdk_err_set(err, TDK_ENOENT,
							   "%s: no template for '%s' to the %s "
							   "(%s.txt or %s.%s.txt)",
							   dirs[li], d->name, tpl_audience_name(bit),
							   d->name, d->name, tpl_audience_name(bit));
		}
	}
	for (size_t li = 0; li < G_N_ELEMENTS(langs); li++) {
		GPtrArray *list = t->by_lang[li], *other = t->by_lang[1 - li];

		for (guint i = 0; i < list->len; i++) {
			const struct template *tp = g_ptr_array_index(list, i);

			for (unsigned bit = 1; bit <= TA_STAFF; bit <<= 1) {
				if (!(tp->audiences & bit))
					continue;
				if (find_bit(other, tp->notice, bit) == NULL)
					return tdk_err_set(err, TDK_ENOENT,
							   "%s: no template for '%s' to the %s, "
							   "which %s has",
							   dirs[1 - li], tp->notice,
							   tpl_audience_name(bit), tp->path);
				for (char **a = tp->attach; a != NULL && *a != NULL; a++)
					if (find_bit(list, *a, bit) == NULL)
						return tdk_err_set(err, TDK_ENOENT,
								   "%s: attaches '%s', which has no "
								   "template for the %s in %s",
								   tp->path, *a, tpl_audience_name(bit),
								   dirs[li]);
			}
		}
	}
	return TDK_OK;
}

int templates_load(const char *rules_dir, const struct templates **out,
		   tdk_err *err)
{
	struct templates *t = g_new0(struct templates, 1);
	char *dirs[G_N_ELEMENTS(langs)] = { NULL };
	int rc = TDK_OK;

	for (size_t i = 0; i < G_N_ELEMENTS(langs); i++) {
		t->by_lang[i] = g_ptr_array_new_with_free_func(template_free_cb);
		dirs[i] = g_build_filename(rules_dir, TEMPLATE_DIR, langs[i], NULL);
	}
	for (size_t i = 0; rc == TDK_OK && i < G_N_ELEMENTS(langs); i++)
		rc = load_lang(dirs[i], t->by_lang[i], err);
	if (rc == TDK_OK)
		rc = check_set(t, dirs, err);
	for (size_t i = 0; i < G_N_ELEMENTS(langs); i++)
		g_free(dirs[i]);
	if (rc != TDK_OK) {
		templates_free(t);
		return rc;
	}
	*out = t;
	return TDK_OK;
}
