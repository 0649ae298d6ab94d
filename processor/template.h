/*
 * template.h - the notice templates and their small template language.
 *
 * Owns: reading the template files of rules/templates/ja and .../en,
 * checking every template at load time against a fixed schema of
 * variables, and rendering a notice intent (outbox.h) of a case into a
 * subject and a body. The language executes no code; see
 * todoke-templates(5) for the whole of it.
 *
 * A template file is NOTICE.txt or NOTICE.AUDIENCE.txt: a header block
 * (Subject:, Audience:, Attach:, Filename:, and # comments) ended by an
 * empty line, then the body:
 *
 *   {{ name }}  {{ name | filter | filter }}  {{ "literal" }}
 *   {% if COND %} ... {% elif COND %} ... {% else %} ... {% endif %}
 *   {% for p in parties %} ... {{ p.name }} ... {% endfor %}
 *   {# a comment #}
 *
 * COND is `[not] name [== "text" | != "text"]`, joined by `and` / `or`.
 * Filters: date, era, datetime, period_words, indent, quote, upper and
 * default("text"). A line holding only {% %} and {# #} tags (and blanks)
 * leaves no line behind.
 *
 * Confidentiality by construction: the variables discoverer.* and report.*
 * are the discoverer's personal data; a template whose audiences include
 * operator, developer or coordinator may not name them (refused at load
 * time), and template_render() refuses personal data for such audiences
 * again. A subject is fixed words and at most the case tag [{{case}}];
 * the rendered subject holds no control characters.
 *
 * Memory: templates_load() returns an immutable set; templates_free()
 * releases it (NULL is fine). Rendered strings are g_malloc'd: g_free().
 */
#ifndef TODOKE_TEMPLATE_H
#define TODOKE_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "calendar.h"
#include "case.h"
#include "conf.h"
#include "outbox.h"
#include "rules.h"
#include "status.h"
#include "store.h"

#define TEMPLATE_DIR "templates"        /* under the rules directory */
#define TEMPLATE_FILE_MAX (256 * 1024)  /* bytes of one template file */
#define TEMPLATE_OUTPUT_MAX (4 * 1024 * 1024) /* bytes of one rendering */
#define TEMPLATE_NESTING_MAX 16         /* nested if / for blocks */
#define TEMPLATE_STEPS_MAX 1000000      /* nodes walked in one rendering */

/* What a notice is rendered for. */
enum template_scope {
	TEMPLATE_CASE = 1,      /* a notice about one case */
	TEMPLATE_CASE_OPTIONAL, /* a staff notice that may have no case */
	TEMPLATE_DESK,          /* desk-wide (the digest): no case variables */
	TEMPLATE_ATTACHMENT,    /* the text of an attachment of a notice */
};

struct templates;
struct template;

/* The scope of a notice name, or 0 for a name todoke does not know. */
int template_notice_scope(const char *notice);
/* The audience a notice goes to by default: for a notice that goes to
 * operators and developers, the operator of a web case and the developer
 * of a product case. NULL for an unknown notice. */
const char *template_default_audience(const char *notice, int case_kind);
/* Whether a notice to audience may carry the discoverer's personal data:
 * discoverer and staff only. */
bool template_audience_sees_pii(const char *audience);

/*
 * Loads every template of rules_dir/templates/ja and .../en and checks
 * them: syntax, variables, filters, audiences, subjects, attachments, and
 * that every notice todoke sends has a template for each of its audiences
 * in both languages. The first mistake is returned as "file:line: message".
 */
int templates_load(const char *rules_dir, const struct templates **out,
		   tdk_err *err);
void templates_free(const struct templates *t);
/* The number of template files loaded. */
size_t templates_count(const struct templates *t);

/* The template for a notice to audience in lang, or NULL. */
const struct template *templates_find(const struct templates *t,
				      const char *notice, const char *audience,
				      const char *lang);

/*
 * Parses one template. path names it in messages; its base name
 * (NOTICE.txt or NOTICE.AUDIENCE.txt) gives the notice and audience.
 */
int template_parse(const char *path, const char *text, size_t len,
		   struct template **out, tdk_err *err);
void template_free(struct template *tp);

/* What the template declares. */
const char *template_notice(const struct template *tp);
bool template_has_audience(const struct template *tp, const char *audience);
/* The attachments it names (Attach:), NULL-terminated. */
const char *const *template_attachments(const struct template *tp);
/* Whether it names discoverer personal data (discoverer.*, report.*). */
bool template_uses_pii(const struct template *tp);

/* Everything a rendering reads. Only `item`, `rules`, `cal` and `config`
 * are required; `c` is NULL for a desk-wide notice. */
struct render_input {
	const struct case_rec *c;
	const struct outbox_item *item;  /* notice, audience, party, lang,
					  * detail, attempt */
	const struct rules *rules;
	const struct cal *cal;
	const struct tdk_config *config;
	const struct pii_rec *pii;       /* NULL when absent or not allowed */
	const char *desk_key;            /* the desk key's fingerprint, or NULL */
	int64_t now;                     /* the rendering time (due dates of
					  * clocks not yet started) */
};

/*
 * Renders in->item with the template for its notice, audience and
 * language. Refuses (TDK_EPERM) an audience the template is not for, and
 * discoverer personal data (in->pii, or a template naming it) for an
 * audience other than discoverer and staff. TDK_ENOENT when there is no
 * template. *subject has no control characters; *body ends in a newline.
 */
int template_render(const struct templates *t, const struct render_input *in,
		    char **subject, char **body, tdk_err *err);
/* The same with a given template (tests, fuzzing). */
int template_render_with(const struct template *tp,
			 const struct render_input *in, char **subject,
			 char **body, tdk_err *err);
/*
 * The index-th attachment of in->item's notice: its file name and text.
 * TDK_ENOENT after the last one.
 */
int template_render_attachment(const struct templates *t,
			       const struct render_input *in, size_t index,
			       char **filename, char **body, tdk_err *err);

#endif
