/*
 * template_int.h - what the template parser (template.c) and the renderer
 * (template_render.c) share: the schema of variables, the parsed form of
 * a template, and the names of audiences and notices. Not for other
 * modules.
 */
#ifndef TODOKE_TEMPLATE_INT_H
#define TODOKE_TEMPLATE_INT_H

#include "template.h"

#include <glib.h>

/* ------------------------------------------------------------ schema */

enum tpl_type { TT_TEXT = 1, TT_TIME, TT_PERIOD, TT_INT, TT_BOOL, TT_LIST };

enum tpl_var_flags {
	TV_CASE = 1 << 0, /* a case's data: not in a desk-wide notice */
	TV_PII = 1 << 1,  /* the discoverer's personal data */
};

/* Where a variable's value comes from. */
enum tpl_source {
	SRC_CASE_TEXT = 1, /* a char * member of struct case_rec (arg: offset) */
	SRC_CASE_TIME,     /* an int64_t member of struct case_rec (arg: offset) */
	SRC_CLOCK_DUE,     /* the due time of a clock (arg: enum case_clock_id) */
	SRC_RULE_PERIOD,   /* the rules' period of a clock (arg: clock id) */
	SRC_SPECIAL,       /* computed (arg: enum tpl_special) */
	SRC_PARTY,         /* a field of a loop's party (arg: enum tpl_party_field) */
	SRC_LOOP,          /* loop.index, loop.first, loop.last (arg: 0, 1, 2) */
};

enum tpl_special {
	SP_CASE = 1, SP_KIND, SP_STATE, SP_IMPACT, SP_LANG, SP_NOW, SP_DETAIL,
	SP_ATTEMPT, SP_ATTEMPTS,
	SP_REASON_CODE, SP_REASON_MARK, SP_REASON_LABEL,
	SP_OUTCOME_CODE, SP_OUTCOME_LABEL,
	SP_DESK_REPORT, SP_DESK_CONTACT, SP_DESK_CONTROL, SP_DESK_COORDINATOR,
	SP_DESK_KEY,
	SP_RECIPIENT_ROLE, SP_RECIPIENT_NAME, SP_RECIPIENT_ADDRESS,
	SP_RECIPIENT_POSTAL, SP_RECIPIENT_LANG,
	SP_PARTIES,
	SP_DISCOVERER_NAME, SP_DISCOVERER_ADDRESS, SP_DISCOVERER_POSTAL,
	SP_DISCOVERER_PHONE,
	SP_REPORT_TEXT,
};

enum tpl_party_field { PF_ROLE = 1, PF_NAME, PF_ADDRESS, PF_POSTAL, PF_LANG };

struct tpl_var {
	const char *path;   /* "due.investigation" */
	enum tpl_type type;
	unsigned flags;     /* TV_* */
	enum tpl_source source;
	size_t arg;
};

/* The variable of that dotted path, or NULL. */
const struct tpl_var *tpl_var_find(const char *path);
/* Whether name is the first part of some variable's path ("due"). */
bool tpl_var_is_root(const char *name);
/* A field of a party in a loop ("name"), or NULL. */
const struct tpl_var *tpl_party_field_find(const char *name);
/* loop.index, loop.first, loop.last, or NULL. */
const struct tpl_var *tpl_loop_field_find(const char *name);
const char *tpl_type_name(enum tpl_type type);

/* ----------------------------------------------------------- filters */

enum tpl_filter_id {
	TF_DATE = 1, TF_ERA, TF_DATETIME, TF_PERIOD_WORDS, TF_INDENT, TF_QUOTE,
	TF_UPPER, TF_DEFAULT,
};

struct tpl_filter {
	enum tpl_filter_id id;
	int arg;            /* indent width */
	char *text;         /* default("text") */
};

#define TPL_FILTERS_MAX 8

/* ------------------------------------------------------- parsed form */

struct tpl_expr {
	const struct tpl_var *var; /* NULL for a literal */
	char *literal;
	int loop;                  /* SRC_PARTY, SRC_LOOP: the loop's depth (0 = outer) */
};

enum tpl_cond_op { TC_TEST = 1, TC_AND, TC_OR };

struct tpl_cond {
	enum tpl_cond_op op;
	/* TC_TEST */
	bool negate;
	struct tpl_expr expr;
	int compare;               /* 0 none, 1 ==, 2 != */
	char *operand;
	/* TC_AND, TC_OR */
	struct tpl_cond *left, *right;
};

enum tpl_node_kind { TN_TEXT = 1, TN_OUT, TN_IF, TN_FOR, TN_CASE_TAG };

struct tpl_branch {
	struct tpl_cond *cond;     /* NULL for else */
	GPtrArray *body;           /* of struct tpl_node * */
};

struct tpl_node {
	enum tpl_node_kind kind;
	int line;
	char *text;                          /* TN_TEXT */
	struct tpl_expr expr;                /* TN_OUT; TN_FOR: the list */
	struct tpl_filter filters[TPL_FILTERS_MAX];
	int n_filters;
	struct tpl_branch *branches;         /* TN_IF */
	int n_branches;
	GPtrArray *body;                     /* TN_FOR */
};

/* Audiences as bits. */
enum tpl_audience {
	TA_DISCOVERER = 1 << 0,
	TA_OPERATOR = 1 << 1,
	TA_DEVELOPER = 1 << 2,
	TA_COORDINATOR = 1 << 3,
	TA_STAFF = 1 << 4,
};
#define TA_PII_ALLOWED (TA_DISCOVERER | TA_STAFF)

/* The bit of an audience name, or 0. */
unsigned tpl_audience_bit(const char *name);
const char *tpl_audience_name(unsigned bit);

struct template {
	char *path;
	char *notice;
	char *file_audience;   /* from NOTICE.AUDIENCE.txt, or NULL */
	int scope;             /* enum template_scope */
	unsigned audiences;    /* TA_* */
	GPtrArray *subject;    /* TN_TEXT and TN_CASE_TAG nodes; NULL for an attachment */
	char *filename;        /* attachments: Filename: */
	char **attach;         /* Attach: names, NULL-terminated */
	GPtrArray *body;
	bool uses_pii;
	int pii_line;          /* where it first does */
};

void tpl_node_free(gpointer node);

#endif
