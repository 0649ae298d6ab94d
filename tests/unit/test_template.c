/*
 * test_template.c - the notice template language and the shipped
 * templates: every construct, every filter with numbers, each load-time
 * error with its file:line, the audience and personal-data refusals, the
 * subject restrictions and CR/LF in case data.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <gmime/gmime.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixreport.h"
#include "template.h"

/* ------------------------------------------------------------ fixture */

struct fx {
	const struct rules *rules;
	struct cal *cal;
	const struct tdk_config *config;
	const struct templates *shipped;
	struct case_rec *c;
	struct pii_rec pii;
	struct outbox_item item;
};

static struct fx *F;

static char *rules_dir(void)
{
	const char *srcdir = getenv("TOP_SRCDIR");

	return g_strdup_printf("%s/rules", srcdir != NULL ? srcdir : ".");
}

static int64_t at(const char *iso)
{
	int64_t t = 0;

	assert_int_equal(cal_parse_instant(iso, &t, NULL), TDK_OK);
	return t;
}

static int setup(void **state)
{
	g_autofree char *dir = rules_dir();
	struct fx *fx = g_new0(struct fx, 1);
	tdk_err err;

	g_mime_init();
	if (rules_load_dir(dir, &fx->rules, &err) != TDK_OK)
		fail_msg("%s", err.text);
	assert_int_equal(rules_build_calendar(fx->rules, "Asia/Tokyo", &fx->cal, NULL), TDK_OK);
	assert_int_equal(conf_load(NULL, NULL, 0, &fx->config, NULL), TDK_OK);
	if (templates_load(dir, &fx->shipped, &err) != TDK_OK)
		fail_msg("%s", err.text);
	F = fx;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	templates_free(fx->shipped);
	conf_free(fx->config);
	cal_free(fx->cal);
	rules_free(fx->rules);
	g_free(fx);
	g_mime_shutdown();
	return 0;
}

/* A web case in detail-sent, with the discoverer 山田太郎 (personal data
 * store), an operator and a coordinator; the intent goes to the operator. */
static int case_setup(void **state)
{
	struct fx *fx = *state;
	struct case_rec *c = case_new(12);
	struct cal_period bd20 = { 20, CAL_BUSINESS_DAYS }, m3 = { 3, CAL_MONTHS };

	c->kind = CASE_KIND_WEB;
	c->state = CS_DETAIL_SENT;
	c->url = g_strdup("https://www.example.co.jp/search");
	c->vuln_type = g_strdup("クロスサイト・スクリプティング");
	c->threat = g_strdup("悪意のあるスクリプトの実行");
	c->description = g_strdup("検索欄のスクリプトが実行される");
	c->product = g_strdup("ExampleCMS 3.2");
	c->lang = g_strdup("ja");
	c->received = at("2027-03-01T10:00:00+09:00");
	c->accepted = at("2027-03-02T10:00:00+09:00");
	c->stage2_sent = at("2027-03-03T10:00:00+09:00");
	case_party_add(c, ROLE_DISCOVERER, NULL, NULL, "ja", NULL, NULL, c->received);
	case_party_add(c, ROLE_OPERATOR, "sec@example.co.jp", "Example 株式会社", "ja",
		       NULL, "東京都千代田区 1-1", c->accepted);
	case_party_add(c, ROLE_COORDINATOR, "coord@example.org", NULL, "ja", NULL, NULL,
		       c->accepted);
	c->contact_party = 1;
	case_clock_start(c, CLOCK_INVESTIGATION, c->stage2_sent, bd20);
	case_clock_start(c, CLOCK_FIX, c->stage2_sent, m3);
	fx->c = c;
	memset(&fx->pii, 0, sizeof fx->pii);
	fx->pii.name = "山田太郎";
	fx->pii.address = "taro@discoverer.example";
	fx->pii.postal = "大阪府";
	memset(&fx->item, 0, sizeof fx->item);
	fx->item.case_number = 12;
	fx->item.notice = "stage2";
	fx->item.audience = "operator";
	fx->item.party = 1;
	fx->item.lang = "ja";
	fx->item.created = at("2027-03-03T10:00:00+09:00");
	return 0;
}

static int case_teardown(void **state)
{
	struct fx *fx = *state;

	case_free(fx->c);
	fx->c = NULL;
	return 0;
}

static struct render_input input(const struct pii_rec *pii)
{
	return (struct render_input){ .c = F->c, .item = &F->item, .rules = F->rules,
				      .cal = F->cal, .config = F->config, .pii = pii,
				      .now = at("2027-03-03T10:00:00+09:00") };
}

/* Parses name with text (which must load) and renders its body. */
static char *body_of(const char *name, const char *text)
{
	struct template *tp = NULL;
	struct render_input in = input(NULL);
	char *subject = NULL, *body = NULL;
	tdk_err err;

	if (template_parse(name, text, strlen(text), &tp, &err) != TDK_OK)
		fail_msg("%s", err.text);
	if (template_render_with(tp, &in, &subject, &body, &err) != TDK_OK)
		fail_msg("%s", err.text);
	g_free(subject);
	template_free(tp);
	return body;
}

/* A body for the operator's stage 2, rendered. */
static char *op(const char *body_text)
{
	g_autofree char *text = g_strdup_printf("Subject: [{{case}}] x\nAudience: operator\n\n%s",
					       body_text);

	return body_of("stage2.operator.txt", text);
}

#define assert_op(text, want) do { \
		g_autofree char *got_ = op(text); \
		assert_string_equal(got_, want); \
	} while (0)

/* Parsing text as name must fail with status and a message starting
 * with want. */
static void expect_parse_error(const char *name, const char *text, int status,
			       const char *want)
{
	struct template *tp = NULL;
	tdk_err err = { "" };
	int rc = template_parse(name, text, strlen(text), &tp, &err);

	if (rc == TDK_OK)
		fail_msg("%s parsed, expected: %s", name, want);
	assert_null(tp);
	if (strncmp(err.text, want, strlen(want)) != 0)
		fail_msg("got:  %s\nwant: %s", err.text, want);
	assert_int_equal(rc, status);
}

/* An operator stage 2 with this body must fail at path:line. */
static void expect_body_error(const char *body, int status, const char *want)
{
	g_autofree char *text = g_strdup_printf("Subject: [{{case}}] x\nAudience: operator\n\n%s",
					       body);

	expect_parse_error("stage2.operator.txt", text, status, want);
}

/* --------------------------------------------------------- constructs */

static void test_interpolation(void **state)
{
	assert_op("{{ case }} {{url}} {{ vuln_type }}\n",
		  "IPA#00000012 https://www.example.co.jp/search クロスサイト・スクリプティング\n");
	assert_op("{{ \"{{ literal }}\" }}", "{{ literal }}\n");
	assert_op("{{ \"a \\\"}}\\\" b\" | upper }}", "A \"}}\" B\n");
	assert_op("a {{ title }}b\n", "a b\n");  /* unset: empty */
	assert_op("{{ kind }}/{{ state }}/{{ lang }}\n", "web/detail-sent/ja\n");
	assert_op("{{ recipient.name }} <{{ recipient.address }}> {{ recipient.role }}\n",
		  "Example 株式会社 <sec@example.co.jp> operator\n");
	assert_op("{{ desk.contact_address }} {{ desk.report_address }}\n",
		  "vuln-contact@localhost vuln-info@localhost\n");
	assert_op("{{ attempts }}|{{ attempt }}|{{ period.investigation }}\n", "3|0|20bd\n");
	assert_op("{{ dates.received }}\n", "2027-03-01\n");
	/* Comments vanish; a line of only tags leaves no line. */
	assert_op("a{# inline #}b\n{# alone #}\n  {% if url %}  \nc\n{% endif %}\nd",
		  "ab\nc\nd\n");
	/* A body without a final newline gets one. */
	assert_op("x", "x\n");
	assert_op("", "\n");
}

static void test_conditionals(void **state)
{
	assert_op("{% if url %}yes{% else %}no{% endif %}\n", "yes\n");
	assert_op("{% if title %}yes{% else %}no{% endif %}\n", "no\n");
	assert_op("{% if not title %}none{% endif %}\n", "none\n");
	assert_op("{% if kind == \"web\" %}W{% elif kind == \"product\" %}P{% else %}?{% endif %}\n",
		  "W\n");
	assert_op("{% if kind != \"web\" %}W{% elif state == \"detail-sent\" %}D{% endif %}\n",
		  "D\n");
	assert_op("{% if url and title %}1{% elif url and not title %}2{% endif %}\n", "2\n");
	assert_op("{% if title or url %}1{% endif %}{% if title or product == \"x\" %}2{% endif %}\n",
		  "1\n");
	/* and binds tighter than or */
	assert_op("{% if url or title and product == \"no\" %}yes{% endif %}\n", "yes\n");
	assert_op("{% if parties %}some{% endif %}\n", "some\n");
	assert_op("{% if dates.closed %}closed{% else %}open{% endif %}\n", "open\n");
	assert_op("{% if period.fix %}{{ period.fix }}{% endif %}\n", "3M\n");
	assert_op("{% if attempts == \"3\" %}three{% endif %}\n", "three\n");
	/* nested */
	assert_op("{% if url %}{% if title %}a{% else %}{% if product %}b{% endif %}{% endif %}{% endif %}\n",
		  "b\n");
}

static void test_loops(void **state)
{
	/* The discoverer is never in the list. */
	assert_op("{% for p in parties %}{{ loop.index }}:{{ p.role }}={{ p.address }}"
		  "{% if not loop.last %}, {% endif %}{% endfor %}\n",
		  "1:operator=sec@example.co.jp, 2:coordinator=coord@example.org\n");
	assert_op("{% for p in parties %}\n- {{ p.name | default(\"-\") }} {{ p.postal }}"
		  "{% if loop.first %} (first){% endif %}\n{% endfor %}\n",
		  "- Example 株式会社 東京都千代田区 1-1 (first)\n- - \n");
	assert_op("{% for a in parties %}{% for b in parties %}{{ a.role }}/{{ b.role }} "
		  "{% endfor %}{% endfor %}\n",
		  "operator/operator operator/coordinator coordinator/operator "
		  "coordinator/coordinator \n");
	F->c->n_parties = 1; /* the discoverer alone */
	F->item.party = -1;
	assert_op("[{% for p in parties %}{{ p.role }}{% endfor %}]"
		  "{% if parties %}some{% else %}none{% endif %}\n", "[]none\n");
	F->c->n_parties = 3;
}

/* ------------------------------------------------------------ filters */

static char *filtered(const char *expr, const char *lang, int64_t when)
{
	g_autofree char *text = g_strdup_printf("{{ %s }}", expr);
	char *body;

	F->c->closed = when;
	F->item.lang = (char *)lang;
	body = op(text);
	body[strlen(body) - 1] = '\0';
	F->item.lang = "ja";
	F->c->closed = 0;
	return body;
}

#define assert_filter(expr, lang, iso, want) do { \
		g_autofree char *got_ = filtered(expr, lang, (iso) != NULL ? at(iso) : 0); \
		assert_string_equal(got_, want); \
	} while (0)

static void test_filter_dates(void **state)
{
	assert_filter("dates.closed | date", "ja", "2027-04-12T10:00:00+09:00", "2027-04-12");
	/* The desk's zone: 23:30 UTC is the next day in Tokyo. */
	assert_filter("dates.closed | date", "ja", "2027-04-12T23:30:00Z", "2027-04-13");
	assert_filter("dates.closed | datetime", "ja", "2027-04-12T01:02:03Z",
		      "2027-04-12 10:02 +09:00");
	assert_filter("dates.closed | date", "ja", NULL, "");
	assert_filter("dates.closed | era", "ja", NULL, "");
	assert_filter("dates.closed | datetime", "ja", NULL, "");
	/* Eras: 令和 from 2019-05-01, its first year 元年. */
	assert_filter("dates.closed | era", "ja", "2019-04-30T12:00:00+09:00", "平成31年4月30日");
	assert_filter("dates.closed | era", "ja", "2019-05-01T00:00:00+09:00", "令和元年5月1日");
	assert_filter("dates.closed | era", "ja", "2019-04-30T15:00:00Z", "令和元年5月1日");
	assert_filter("dates.closed | era", "ja", "2019-12-31T12:00:00+09:00", "令和元年12月31日");
	assert_filter("dates.closed | era", "ja", "2020-01-01T12:00:00+09:00", "令和2年1月1日");
	assert_filter("dates.closed | era", "en", "2026-01-05T12:00:00+09:00", "令和8年1月5日");
	assert_filter("dates.closed | era", "ja", "2026-12-31T12:00:00+09:00", "令和8年12月31日");
	assert_filter("dates.closed | era", "ja", "1989-01-07T12:00:00+09:00", "昭和64年1月7日");
	assert_filter("dates.closed | era", "ja", "1989-01-08T12:00:00+09:00", "平成元年1月8日");
	assert_filter("dates.closed | era", "ja", "1990-02-03T12:00:00+09:00", "平成2年2月3日");
	assert_filter("dates.closed | era", "ja", "1960-06-15T12:00:00+09:00", "昭和35年6月15日");
	/* Due dates: a started clock's deadline (20bd from 2027-03-03,
	 * past the equinox substitute holiday), a 3-month one, and one not
	 * yet started: its deadline from now. */
	assert_filter("due.investigation | date", "ja", NULL, "2027-04-01");
	assert_filter("due.fix | era", "ja", NULL, "令和9年6月3日");
	assert_filter("due.completion | date", "ja", NULL, "2027-12-03");
	assert_filter("due.first_reply", "ja", NULL, "2027-03-10");
}

static void test_filter_periods(void **state)
{
	assert_filter("period.investigation | period_words", "ja", NULL, "20 営業日");
	assert_filter("period.investigation | period_words", "en", NULL, "20 business days");
	assert_filter("period.fix | period_words", "ja", NULL, "3 ヶ月");
	assert_filter("period.fix | period_words", "en", NULL, "3 months");
	assert_filter("period.completion | period_words", "en", NULL, "9 months");
	assert_filter("period.long_running | period_words", "ja", NULL, "90 日");
	assert_filter("period.long_running | period_words", "en", NULL, "90 days");
	assert_filter("period.nondisclosure | period_words", "ja", NULL, "1 年");
	assert_filter("period.nondisclosure | period_words", "en", NULL, "1 year");
	assert_filter("period.contact | period_words", "en", NULL, "10 business days");
	assert_filter("period.first_reply | period_words | upper", "en", NULL, "5 BUSINESS DAYS");
}

static void test_filter_text(void **state)
{
	g_free(F->c->threat);
	F->c->threat = g_strdup("line one\n\nline two");
	assert_filter("threat | quote", "ja", NULL, "> line one\n>\n> line two");
	assert_filter("threat | indent", "ja", NULL, "    line one\n\n    line two");
	assert_filter("threat | indent(2)", "ja", NULL, "  line one\n\n  line two");
	assert_filter("threat | indent(1) | quote", "ja", NULL, ">  line one\n>\n>  line two");
	assert_filter("threat | upper", "ja", NULL, "LINE ONE\n\nLINE TWO");
	assert_filter("url | upper", "ja", NULL, "HTTPS://WWW.EXAMPLE.CO.JP/SEARCH");
	assert_filter("title | default(\"(none)\")", "ja", NULL, "(none)");
	assert_filter("url | default(\"(none)\")", "ja", NULL, "https://www.example.co.jp/search");
	assert_filter("title | default(\"say \\\"hi\\\"\") | upper", "ja", NULL, "SAY \"HI\"");
	assert_filter("dates.closed | date | default(\"-\")", "ja", NULL, "-");
	assert_filter("attempts | quote", "ja", NULL, "> 3");
}

/* ------------------------------------------------------------- errors */

static void test_syntax_errors(void **state)
{
	expect_body_error("a\n{% if url %}\nb\n", TDK_ESYNTAX,
			  "stage2.operator.txt:5: '{% if %}' is not closed by '{% endif %}'");
	expect_body_error("a\n\n{% endif %}\n", TDK_ESYNTAX,
			  "stage2.operator.txt:6: '{% endif %}' without '{% if %}'");
	expect_body_error("{% for p in parties %}\n", TDK_ESYNTAX,
			  "stage2.operator.txt:4: '{% for %}' is not closed by '{% endfor %}'");
	expect_body_error("x\n{% endfor %}", TDK_ESYNTAX,
			  "stage2.operator.txt:5: '{% endfor %}' without '{% for %}'");
	expect_body_error("{% if url %}{% else %}{% else %}{% endif %}", TDK_ESYNTAX,
			  "stage2.operator.txt:4: '{% else %}' after '{% else %}'");
	expect_body_error("{% if url %}\n{% else %}\n{% elif url %}{% endif %}", TDK_ESYNTAX,
			  "stage2.operator.txt:6: '{% elif %}' after '{% else %}'");
	expect_body_error("{% if url %}{% endif url %}", TDK_ESYNTAX,
			  "stage2.operator.txt:4: '{% endif %}' takes nothing after it");
	expect_body_error("\n\n{% include \"x\" %}", TDK_ESYNTAX,
			  "stage2.operator.txt:6: unknown tag '{% include %}'");
	expect_body_error("{{ url }\n", TDK_ESYNTAX,
			  "stage2.operator.txt:4: '{{' is not closed by '}}' on this line");
	expect_body_error("{% if url\n%}", TDK_ESYNTAX,
			  "stage2.operator.txt:4: '{%' is not closed by '%}' on this line");
	expect_body_error("{# a\n#}", TDK_ESYNTAX,
			  "stage2.operator.txt:4: '{#' is not closed by '#}' on this line");
	expect_body_error("{{ }}", TDK_ESYNTAX, "stage2.operator.txt:4: empty {{ }}");
	expect_body_error("{{ url url }}", TDK_ESYNTAX,
			  "stage2.operator.txt:4: expected '|' or '}}', got 'url'");
	expect_body_error("{{ url | }}", TDK_ESYNTAX,
			  "stage2.operator.txt:4: expected a filter name after '|'");
	expect_body_error("{{ url ; }}", TDK_ESYNTAX,
			  "stage2.operator.txt:4: unexpected character ';' in a tag");
	expect_body_error("{{ \"open }}", TDK_ESYNTAX,
			  "stage2.operator.txt:4: '{{' is not closed by '}}' on this line");
	expect_body_error("{{ \"a\\\" }}\" | upper }} {{ \"b\" \"c\" }}", TDK_ESYNTAX,
			  "stage2.operator.txt:4: expected '|' or '}}', got 'c'");
	expect_body_error("{% if %}{% endif %}", TDK_ESYNTAX,
			  "stage2.operator.txt:4: the condition is missing");
	expect_body_error("{% if url title %}{% endif %}", TDK_ESYNTAX,
			  "stage2.operator.txt:4: unexpected 'title' in the condition");
	expect_body_error("{% if url == title %}{% endif %}", TDK_ESYNTAX,
			  "stage2.operator.txt:4: expected a \"string\" after '=='");
	expect_body_error("{% for p parties %}{% endfor %}", TDK_ESYNTAX,
			  "stage2.operator.txt:4: expected '{% for NAME in LIST %}'");
	expect_body_error("{% if url %}{% endif %}\n{%  %}", TDK_ESYNTAX,
			  "stage2.operator.txt:5: empty or malformed {% %} tag");
}

static void test_name_errors(void **state)
{
	expect_body_error("\n{{ colour }}", TDK_ENOENT,
			  "stage2.operator.txt:5: unknown variable 'colour'");
	expect_body_error("{{ due }}", TDK_ENOENT,
			  "stage2.operator.txt:4: unknown variable 'due': name one of its members");
	expect_body_error("{{ due.investigation.x }}", TDK_ENOENT,
			  "stage2.operator.txt:4: unknown variable 'due.investigation.x'");
	expect_body_error("{{ url. }}", TDK_ESYNTAX, "stage2.operator.txt:4: malformed name 'url.'");
	expect_body_error("{% if colour %}{% endif %}", TDK_ENOENT,
			  "stage2.operator.txt:4: unknown variable 'colour'");
	expect_body_error("{{ url | bold }}", TDK_ENOENT,
			  "stage2.operator.txt:4: unknown filter 'bold'");
	expect_body_error("{{ url | date }}", TDK_EINVAL,
			  "stage2.operator.txt:4: filter 'date' needs a date; url is text");
	expect_body_error("{{ dates.received | period_words }}", TDK_EINVAL,
			  "stage2.operator.txt:4: filter 'period_words' needs a period; "
			  "dates.received is a date");
	expect_body_error("{{ dates.received | date | era }}", TDK_EINVAL,
			  "stage2.operator.txt:4: filter 'era' needs a date; dates.received is "
			  "text by then");
	expect_body_error("{{ url | indent(0) }}", TDK_ERANGE,
			  "stage2.operator.txt:4: indent width 0: must be 1 to 32");
	expect_body_error("{{ url | upper(2) }}", TDK_ESYNTAX,
			  "stage2.operator.txt:4: filter 'upper' takes no argument");
	expect_body_error("{{ url | default }}", TDK_ESYNTAX,
			  "stage2.operator.txt:4: filter 'default' takes one string");
	expect_body_error("{{ url | upper | upper | upper | upper | upper | upper | upper "
			  "| upper | upper }}", TDK_ELIMIT,
			  "stage2.operator.txt:4: more than 8 filters");
	expect_body_error("{{ parties }}", TDK_EINVAL,
			  "stage2.operator.txt:4: 'parties' is a list: go through it with {% for %}");
	expect_body_error("{% for p in url %}{% endfor %}", TDK_EINVAL,
			  "stage2.operator.txt:4: 'url' is text, not a list");
	expect_body_error("{% for due in parties %}{% endfor %}", TDK_EINVAL,
			  "stage2.operator.txt:4: 'due' cannot name a loop variable");
	expect_body_error("{% for p in parties %}{% for p in parties %}{% endfor %}{% endfor %}",
			  TDK_EINVAL,
			  "stage2.operator.txt:4: 'p' is already the variable of an outer loop");
	expect_body_error("{% for p in parties %}{{ p }}{% endfor %}", TDK_EINVAL,
			  "stage2.operator.txt:4: 'p' is a party: name one of its fields");
	expect_body_error("{% for p in parties %}{{ p.phone }}{% endfor %}", TDK_ENOENT,
			  "stage2.operator.txt:4: unknown variable 'p.phone'");
	expect_body_error("{% for p in parties %}{% endfor %}{{ p.name }}", TDK_ENOENT,
			  "stage2.operator.txt:4: unknown variable 'p.name'");
	expect_body_error("{{ loop.index }}", TDK_EINVAL,
			  "stage2.operator.txt:4: 'loop.index' outside {% for %}");
	expect_body_error("{% if parties == \"x\" %}{% endif %}", TDK_EINVAL,
			  "stage2.operator.txt:4: a list cannot be compared");
}

static void test_limits(void **state)
{
	GString *deep = g_string_new(NULL);
	g_autofree char *big = NULL;

	for (int i = 0; i < TEMPLATE_NESTING_MAX + 1; i++)
		g_string_append(deep, "{% if url %}");
	for (int i = 0; i < TEMPLATE_NESTING_MAX + 1; i++)
		g_string_append(deep, "{% endif %}");
	expect_body_error(deep->str, TDK_ELIMIT,
			  "stage2.operator.txt:4: blocks nested more than 16 deep");
	g_string_free(deep, TRUE);
	big = g_malloc0(TEMPLATE_FILE_MAX + 2);
	memset(big, 'a', TEMPLATE_FILE_MAX + 1);
	expect_parse_error("stage2.operator.txt", big, TDK_ELIMIT,
			   "stage2.operator.txt: larger than 262144 bytes");
	expect_body_error("a\x01", TDK_EINVAL, "stage2.operator.txt:4: control character 0x01");
	expect_body_error("\na\xff", TDK_EINVAL, "stage2.operator.txt:5: not valid UTF-8");
}

static void test_header_errors(void **state)
{
	expect_parse_error("stage2.operator.txt", "Subject: [{{case}}] x\nAudience: operator\n",
			   TDK_ESYNTAX,
			   "stage2.operator.txt:2: the header must end with an empty line");
	expect_parse_error("stage2.operator.txt", "Subject: [{{case}}] x\n\nbody",
			   TDK_ENOENT, "stage2.operator.txt:2: no Audience: in the header");
	expect_parse_error("stage2.operator.txt", "Audience: operator\n\nbody",
			   TDK_ENOENT, "stage2.operator.txt:2: no Subject: in the header");
	expect_parse_error("stage2.operator.txt",
			   "# a comment\nSubject: [{{case}}] x\nAudience: operator\nFrom: x\n\n",
			   TDK_ENOENT, "stage2.operator.txt:4: unknown header 'From'");
	expect_parse_error("stage2.operator.txt", "Subject: [{{case}}] x\nno colon here\n\n",
			   TDK_ESYNTAX, "stage2.operator.txt:2: expected 'Name: value'");
	expect_parse_error("stage2.operator.txt",
			   "Subject: [{{case}}] x\nSubject: [{{case}}] y\nAudience: operator\n\n",
			   TDK_EEXIST, "stage2.operator.txt:2: a second Subject:");
	expect_parse_error("stage2.operator.txt", "Subject:\nAudience: operator\n\n",
			   TDK_EINVAL, "stage2.operator.txt:1: the Subject: is empty");
	expect_parse_error("stage2.operator.txt", "Subject: [{{case}}] x\nAudience: operatr\n\n",
			   TDK_EINVAL, "stage2.operator.txt:2: unknown audience 'operatr'");
	expect_parse_error("stage2.operator.txt", "Subject: [{{case}}] x\nAudience: ,\n\n",
			   TDK_EINVAL, "stage2.operator.txt:2: Audience: names no audience");
	/* The file name's audience is the only one the file may declare. */
	expect_parse_error("stage2.operator.txt",
			   "Subject: [{{case}}] x\nAudience: operator developer\n\n",
			   TDK_EINVAL, "stage2.operator.txt:3: the file is for the operator alone");
	expect_parse_error("stage2.operator.txt",
			   "Subject: [{{case}}] x\nAudience: operator\nAttach: stage1\n\n",
			   TDK_EINVAL, "stage2.operator.txt:3: 'stage1' is not an attachment");
	expect_parse_error("stage2.operator.txt",
			   "Subject: [{{case}}] x\nAudience: operator\nFilename: a.txt\n\n",
			   TDK_EINVAL, "stage2.operator.txt:3: only an attachment has a Filename:");
	expect_parse_error("fix-report-form.txt", "Subject: [{{case}}] x\nAudience: operator\n\n",
			   TDK_EINVAL,
			   "fix-report-form.txt:1: an attachment has a Filename:, not a Subject:");
	expect_parse_error("fix-report-form.txt", "Audience: operator\n\n",
			   TDK_ENOENT, "fix-report-form.txt:2: no Filename: in the header");
	expect_parse_error("fix-report-form.txt", "Filename: ../x.txt\nAudience: operator\n\n",
			   TDK_EINVAL, "fix-report-form.txt:1: the Filename: must be a plain file name");
	expect_parse_error("stage9.txt", "Subject: [{{case}}] x\nAudience: operator\n\n",
			   TDK_ENOENT, "stage9.txt: unknown notice 'stage9'");
	expect_parse_error("stage2.boss.txt", "Subject: [{{case}}] x\nAudience: operator\n\n",
			   TDK_EINVAL, "stage2.boss.txt: unknown audience 'boss' in the file name");
	expect_parse_error("stage2.tmpl", "Subject: [{{case}}] x\nAudience: operator\n\n",
			   TDK_EINVAL, "stage2.tmpl: a template's name ends in .txt");
	/* CRLF files read as LF; header names ignore case. */
	{
		const char *crlf = "subject: [{{case}}] x\r\nAUDIENCE: operator\r\n\r\na\r\nb\r\n";
		g_autofree char *body = body_of("stage2.operator.txt", crlf);

		assert_string_equal(body, "a\nb\n");
	}
}

/* ------------------------------------------- confidentiality, subjects */

static void test_pii_refused_at_load(void **state)
{
	static const char *const pii_names[] = { "discoverer.name", "discoverer.address",
						 "discoverer.postal", "discoverer.phone",
						 "report.text" };
	static const struct {
		const char *file, *audience, *who;
	} refused[] = {
		{ "stage2.operator.txt", "operator", "operator" },
		{ "stage2.developer.txt", "developer", "developer" },
		{ "forward.txt", "coordinator", "coordinator" },
		{ "ended.txt", "discoverer operator", "operator" },
		{ "staff-notice.txt", "staff coordinator", "coordinator" },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(refused); i++) {
		for (size_t k = 0; k < G_N_ELEMENTS(pii_names); k++) {
			g_autofree char *text = g_strdup_printf(
				"Subject: [{{case}}] x\nAudience: %s\n\nDear\n{{ %s }}\n",
				refused[i].audience, pii_names[k]);
			g_autofree char *want = g_strdup_printf(
				"%s:5: '%s' is the discoverer's personal data: a template for "
				"the %s may not use it", refused[i].file, pii_names[k],
				refused[i].who);

			expect_parse_error(refused[i].file, text, TDK_EPERM, want);
		}
	}
	/* In a condition or a loop as well. */
	expect_parse_error("stage1.operator.txt",
			   "Subject: [{{case}}] x\nAudience: operator\n\n{% if discoverer.name %}"
			   "{% endif %}", TDK_EPERM,
			   "stage1.operator.txt:4: 'discoverer.name' is the discoverer's personal data");
	/* The discoverer and staff may. */
	for (size_t k = 0; k < G_N_ELEMENTS(pii_names); k++) {
		static const char *const ok[][2] = { { "acceptance.txt", "discoverer" },
						     { "staff-notice.txt", "staff" },
						     { "ended.txt", "discoverer staff" } };

		for (size_t i = 0; i < G_N_ELEMENTS(ok); i++) {
			g_autofree char *text = g_strdup_printf(
				"Subject: [{{case}}] x\nAudience: %s\n\n{{ %s }}\n", ok[i][1],
				pii_names[k]);
			struct template *tp = NULL;
			tdk_err err;

			if (template_parse(ok[i][0], text, strlen(text), &tp, &err) != TDK_OK)
				fail_msg("%s", err.text);
			assert_true(template_uses_pii(tp));
			template_free(tp);
		}
	}
}

static void test_pii_refused_at_render(void **state)
{
	const char *text = "Subject: [{{case}}] x\nAudience: discoverer\n\n"
			   "{{ discoverer.name }} {{ discoverer.address }}\n";
	const char *plain = "Subject: [{{case}}] x\nAudience: operator developer\n\n{{ case }}\n";
	struct template *tp = NULL, *tq = NULL;
	struct render_input in;
	char *subject = NULL, *body = NULL;
	tdk_err err;

	assert_int_equal(template_parse("ended.txt", text, strlen(text), &tp, NULL), TDK_OK);
	assert_int_equal(template_parse("stage1.txt", plain, strlen(plain), &tq, NULL), TDK_OK);
	/* To the discoverer: the personal data is there. */
	F->item.notice = "ended";
	F->item.audience = "discoverer";
	F->item.party = 0;
	in = input(&F->pii);
	assert_int_equal(template_render_with(tp, &in, &subject, &body, &err), TDK_OK);
	assert_string_equal(body, "山田太郎 taro@discoverer.example\n");
	g_free(subject);
	g_free(body);
	/* The same template asked for the operator: not its audience. */
	F->item.audience = "operator";
	F->item.party = 1;
	in = input(NULL);
	assert_int_equal(template_render_with(tp, &in, &subject, &body, &err), TDK_EPERM);
	assert_string_equal(err.text, "refused: ended.txt is not for the operator");
	/* A plain operator template given personal data: refused. */
	in = input(&F->pii);
	assert_int_equal(template_render_with(tq, &in, &subject, &body, &err), TDK_EPERM);
	assert_string_equal(err.text, "refused: the discoverer's personal data may not go to "
				      "the operator (notice ended)");
	/* An intent whose audience is not its party's role: refused. */
	in = input(NULL);
	F->item.audience = "developer";
	assert_int_equal(template_render_with(tq, &in, &subject, &body, &err), TDK_EPERM);
	assert_string_equal(err.text, "refused: notice ended is for the developer, but its "
				      "party is the operator");
	F->item.audience = "boss";
	assert_int_equal(template_render_with(tq, &in, &subject, &body, &err), TDK_EINVAL);
	/* Through the shipped set: no template for that audience. */
	F->item.notice = "acknowledgement";
	F->item.audience = "operator";
	assert_int_equal(template_render(F->shipped, &in, &subject, &body, &err), TDK_ENOENT);
	assert_string_equal(err.text,
			    "no template for notice 'acknowledgement' to the operator in 'ja'");
	template_free(tp);
	template_free(tq);
}

static void test_subject_rules(void **state)
{
	static const char *const bad[] = { "url", "vuln_type", "case | upper", "title",
					   "discoverer.name" };

	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autofree char *text = g_strdup_printf(
			"Subject: [{{case}}] {{ %s }}\nAudience: discoverer\n\n", bad[i]);
		g_autofree char *want = g_strdup_printf(
			"acceptance.txt:1: the subject may not interpolate '%s'", bad[i]);

		expect_parse_error("acceptance.txt", text, TDK_EPERM, want);
	}
	expect_parse_error("acceptance.txt", "Subject: a {% if url %}x{% endif %} [{{case}}]\n"
			   "Audience: discoverer\n\n", TDK_EINVAL,
			   "acceptance.txt:1: the subject may hold no tags");
	expect_parse_error("acceptance.txt", "Subject: Report received\nAudience: discoverer\n\n",
			   TDK_EINVAL,
			   "acceptance.txt:1: the subject must carry the case as [{{case}}]");
	expect_parse_error("acceptance.txt",
			   "Subject: [{{case}}] [{{case}}]\nAudience: discoverer\n\n", TDK_EINVAL,
			   "acceptance.txt:1: the subject carries the case more than once");
	expect_parse_error("acceptance.txt", "Subject: {{case}} x\nAudience: discoverer\n\n",
			   TDK_ESYNTAX,
			   "acceptance.txt:1: the case goes in the subject as [{{case}}]");
	expect_parse_error("acceptance.txt", "Subject: [{{case}} x\nAudience: discoverer\n\n",
			   TDK_ESYNTAX,
			   "acceptance.txt:1: the case goes in the subject as [{{case}}]");
	expect_parse_error("acceptance.txt", "Subject: [{{case x\nAudience: discoverer\n\n",
			   TDK_ESYNTAX, "acceptance.txt:1: '{{' is not closed by '}}'");
	expect_parse_error("digest.txt", "Subject: [{{case}}] digest\nAudience: staff\n\n",
			   TDK_EINVAL, "digest.txt:1: the desk-wide notice 'digest' has no case");
	expect_parse_error("digest.txt", "Subject: digest\nAudience: staff\n\n{{ url }}",
			   TDK_EINVAL,
			   "digest.txt:4: 'url' belongs to a case; the desk-wide notice 'digest' "
			   "has none");
}

/* The subject never holds a line break, whatever the case data. */
static void test_injection(void **state)
{
	const char *text = "Subject: [{{ case }}]  Notice\tof\x20 problem \nAudience: operator\n\n"
			   "Dear {{ recipient.name }},\n{{ threat }}\n";
	struct tdk_config evil;
	struct template *tp = NULL;
	struct render_input in;
	char *subject = NULL, *body = NULL;
	tdk_err err;

	assert_int_equal(template_parse("stage1.operator.txt", text, strlen(text), &tp, &err),
			 TDK_OK);
	evil = *F->config;
	evil.case_prefix = "IPA\r\nBcc: victim@example.net\r\n#";
	g_free(F->c->parties[1].name);
	F->c->parties[1].name = g_strdup("Evil\r\nBcc: x@evil.example\rY\x01Z\xe2\x80\xa8W");
	g_free(F->c->threat);
	F->c->threat = g_strdup("a\r\n\r\nb\x7f\xc2\x85" "c\xff");
	F->item.notice = "stage1";
	in = input(NULL);
	in.config = &evil;
	assert_int_equal(template_render_with(tp, &in, &subject, &body, &err), TDK_OK);
	assert_null(strpbrk(subject, "\r\n"));
	assert_string_equal(subject,
			    "[IPA Bcc: victim@example.net #00000012] Notice of problem");
	assert_null(strchr(body, '\r'));
	assert_string_equal(body, "Dear Evil\nBcc: x@evil.example\nYZ\nW,\na\n\nbc\xef\xbf\xbd\n");
	g_free(subject);
	g_free(body);
	template_free(tp);
}

/* A staff notice without a case leaves the tag out of the subject. */
static void test_no_case(void **state)
{
	struct render_input in = input(NULL);
	char *subject = NULL, *body = NULL;
	struct outbox_item it = { .notice = "staff-notice", .audience = "staff",
				  .party = -1, .lang = "en", .detail = "bounce" };
	tdk_err err;

	in.c = NULL;
	in.item = &it;
	assert_int_equal(template_render(F->shipped, &in, &subject, &body, &err), TDK_OK);
	assert_string_equal(subject, "A note for staff");
	assert_non_null(strstr(body, "A notice could not be delivered."));
	assert_null(strstr(body, "Case:"));
	g_free(subject);
	g_free(body);
	it.notice = "digest";
	it.detail = "2027-03-05: 1 overdue\nIPA#00000012 investigation overdue\n";
	it.lang = "ja";
	in.c = F->c; /* ignored: the digest is desk-wide */
	assert_int_equal(template_render(F->shipped, &in, &subject, &body, &err), TDK_OK);
	assert_string_equal(subject, "todoke 日次ダイジェスト");
	assert_non_null(strstr(body, "IPA#00000012 investigation overdue"));
	g_free(subject);
	g_free(body);
	/* A case notice needs its case. */
	it.notice = "stage2";
	it.audience = "operator";
	in.c = NULL;
	assert_int_equal(template_render(F->shipped, &in, &subject, &body, &err), TDK_EINVAL);
}

/* ----------------------------------------------------- shipped set */

static void test_shipped_every_notice(void **state)
{
	static const struct {
		const char *notice, *audience;
		int party;
	} all[] = {
		{ "acknowledgement", "discoverer", 0 }, { "acceptance", "discoverer", 0 },
		{ "non-acceptance", "discoverer", 0 }, { "stage1", "operator", 1 },
		{ "stage1", "developer", 3 }, { "stage1-reminder", "operator", 1 },
		{ "stage1-reminder", "developer", 3 }, { "contact-reminder", "operator", 1 },
		{ "contact-reminder", "developer", 3 }, { "postal-letter", "operator", 1 },
		{ "postal-letter", "developer", 3 }, { "stage2", "operator", 1 },
		{ "stage2", "developer", 3 }, { "reminder-first-reply", "operator", 1 },
		{ "reminder-first-reply", "developer", 3 },
		{ "reminder-investigation", "operator", 1 },
		{ "reminder-investigation", "developer", 3 }, { "reminder-fix", "operator", 1 },
		{ "reminder-fix", "developer", 3 }, { "unreachable", "discoverer", 0 },
		{ "ended", "discoverer", 0 }, { "ended", "operator", 1 },
		{ "completion", "discoverer", 0 }, { "published", "discoverer", 0 },
		{ "priority-provided", "discoverer", 0 }, { "forward", "coordinator", 2 },
		{ "staff-notice", "staff", -1 }, { "digest", "staff", -1 },
		{ "transcript", "staff", -1 }, { "fix-report-form", "operator", 1 },
	};
	static const char *const langs[] = { "ja", "en" };

	assert_int_equal(templates_count(F->shipped), 50);
	case_party_add(F->c, ROLE_DEVELOPER, "psirt@vendor.example", "Vendor PSIRT", "en",
		       NULL, NULL, F->c->accepted);
	for (size_t l = 0; l < G_N_ELEMENTS(langs); l++) {
		for (size_t i = 0; i < G_N_ELEMENTS(all); i++) {
			bool pii_ok = template_audience_sees_pii(all[i].audience);
			struct render_input in = input(pii_ok ? &F->pii : NULL);
			char *subject = NULL, *body = NULL;
			tdk_err err;

			F->item.notice = (char *)all[i].notice;
			F->item.audience = (char *)all[i].audience;
			F->item.party = all[i].party;
			F->item.lang = (char *)langs[l];
			F->item.detail = NULL;
			if (template_render(F->shipped, &in, &subject, &body, &err) != TDK_OK)
				fail_msg("%s to %s in %s: %s", all[i].notice, all[i].audience,
					 langs[l], err.text);
			/* Nothing confidential in any subject. */
			assert_null(strstr(subject, "example.co.jp"));
			assert_null(strstr(subject, "クロスサイト"));
			assert_null(strstr(subject, "ExampleCMS"));
			assert_null(strstr(subject, "山田"));
			if (strcmp(all[i].notice, "digest") != 0 &&
			    strcmp(all[i].notice, "fix-report-form") != 0)
				assert_non_null(strstr(subject, "[IPA#00000012]"));
			if (!pii_ok) {
				assert_null(strstr(body, "山田太郎"));
				assert_null(strstr(body, "taro@discoverer.example"));
				assert_null(strstr(body, "大阪府"));
			}
			assert_null(strstr(body, "{{"));
			assert_null(strstr(body, "{%"));
			if (strcmp(all[i].notice, "acknowledgement") == 0)
				assert_non_null(strstr(body, "山田太郎"));
			g_free(subject);
			g_free(body);
		}
	}
}

static char *render_shipped(const char *notice, const char *audience, int party,
			    const char *lang, char **subject)
{
	struct render_input in = input(NULL);
	char *body = NULL, *s = NULL;
	tdk_err err;

	F->item.notice = (char *)notice;
	F->item.audience = (char *)audience;
	F->item.party = party;
	F->item.lang = (char *)lang;
	if (template_render(F->shipped, &in, &s, &body, &err) != TDK_OK)
		fail_msg("%s", err.text);
	if (subject != NULL)
		*subject = s;
	else
		g_free(s);
	return body;
}

static void test_shipped_stage2(void **state)
{
	g_autofree char *ja = render_shipped("stage2", "operator", 1, "ja", NULL);
	g_autofree char *en = render_shipped("stage2", "operator", 1, "en", NULL);
	struct render_input in = input(NULL);
	char *name = NULL, *form = NULL;
	tdk_err err;

	assert_non_null(strstr(ja, "20 営業日以内(2027-04-01 まで)"));
	assert_non_null(strstr(ja, "3 ヶ月以内(2027-06-03 まで)"));
	assert_non_null(strstr(ja, "9 ヶ月(2027-12-03)"));
	assert_non_null(strstr(ja, "Example 株式会社 様"));
	assert_non_null(strstr(ja, "=====\n\n1) セキュリティ上の問題を確認したウェブサイトの URL\n\n"
				   "<https://www.example.co.jp/search>\n\n"
				   "2) セキュリティ上の問題の種類\n\nクロスサイト・スクリプティング\n\n"
				   "3) 問題の説明\n\n検索欄のスクリプトが実行される\n\n"
				   "4) セキュリティ上の問題により発生しうる脅威\n\n"
				   "悪意のあるスクリプトの実行\n\n=====\n"));
	assert_non_null(strstr(en, "within 20 business days of receiving this mail "
				   "(by 2027-04-01)"));
	assert_non_null(strstr(en, "within\n3 months (by 2027-06-03)"));
	/* The form goes with it and reads back through the fix-report reader. */
	F->item.lang = "ja";
	assert_int_equal(template_render_attachment(F->shipped, &in, 0, &name, &form, &err),
			 TDK_OK);
	assert_string_equal(name, "修正完了報告書.txt");
	{
		struct fixreport *r = NULL;
		GString *filled = g_string_new(form);

		g_string_replace(filled, "対応内容:\n", "対応内容: 出力時のエスケープ処理を追加しました。\n", 1);
		g_string_replace(filled, "希望します (希望される場合は、同意書を提出いただきます)\n\n", "", 1);
		assert_true(fixreport_detect(filled->str));
		assert_int_equal(fixreport_parse(filled->str, filled->len, &r, NULL), TDK_OK);
		assert_string_equal(r->case_text, "IPA#00000012");
		assert_string_equal(r->url, "https://www.example.co.jp/search");
		assert_int_equal(r->kind, FIXREPORT_KIND_FIX);
		assert_int_equal(r->check, FIXREPORT_CHECK_NOT_WANTED);
		assert_true(r->has_survey);
		fixreport_free(r);
		g_string_free(filled, TRUE);
	}
	g_free(name);
	g_free(form);
	assert_int_equal(template_render_attachment(F->shipped, &in, 1, &name, &form, &err),
			 TDK_ENOENT);
	F->item.lang = "en";
	assert_int_equal(template_render_attachment(F->shipped, &in, 0, &name, &form, &err),
			 TDK_OK);
	assert_string_equal(name, "fix-completion-report.txt");
	{
		struct fixreport *r = NULL;
		GString *filled = g_string_new(form);

		g_string_replace(filled, "What was done:\n", "What was done: the page was deleted.\n", 1);
		g_string_replace(filled, "No check needed\n", "", 1);
		g_string_replace(filled, "Use the following address\n", "", 1);
		assert_int_equal(fixreport_parse(filled->str, filled->len, &r, NULL), TDK_OK);
		assert_string_equal(r->case_text, "IPA#00000012");
		assert_string_equal(r->url, "https://www.example.co.jp/search");
		assert_int_equal(r->kind, FIXREPORT_KIND_PAGE_DELETED);
		assert_int_equal(r->check, FIXREPORT_CHECK_WANTED);
		assert_int_equal(r->contact, FIXREPORT_CONTACT_EACH_TIME);
		fixreport_free(r);
		g_string_free(filled, TRUE);
	}
	g_free(name);
	g_free(form);
	/* The developer's details carry no form. */
	F->item.audience = "developer";
	case_party_add(F->c, ROLE_DEVELOPER, "psirt@vendor.example", NULL, "en", NULL, NULL, 1);
	F->item.party = 3;
	assert_int_equal(template_render_attachment(F->shipped, &in, 0, &name, &form, &err),
			 TDK_ENOENT);
}

static void test_shipped_reasons(void **state)
{
	g_autofree char *body = NULL;

	F->c->state = CS_NOT_ACCEPTED;
	F->item.detail = "c";
	body = render_shipped("non-acceptance", "discoverer", 0, "ja", NULL);
	assert_non_null(strstr(body, "理由: (ウ) 届出の対象が本ガイドラインの適用範囲に該当しない"));
	g_free(body);
	F->item.detail = "illegal";
	body = render_shipped("non-acceptance", "discoverer", 0, "en", NULL);
	assert_non_null(strstr(body, "Reason: The information was clearly obtained illegally\n"));
	assert_null(strstr(body, "report again"));
	g_free(body);
	/* A web case ended with (エ): both parties, the lapse of non-disclosure. */
	F->c->state = CS_CLOSED;
	F->c->outcome = g_strdup("ended");
	F->item.detail = "d";
	body = render_shipped("ended", "operator", 1, "ja", NULL);
	assert_non_null(strstr(body, "理由: (エ) ウェブサイト運営者から脆弱性関連情報が既知であり"));
	assert_non_null(strstr(body, "情報非開示の依頼は\n効力を失います"));
	g_free(body);
	F->item.detail = NULL;
	F->c->reason_code = g_strdup("a");
	body = render_shipped("ended", "discoverer", 0, "en", NULL);
	assert_non_null(strstr(body, "Reason: (ア) Not vulnerability-related information"));
	assert_non_null(strstr(body, "no longer applies"));
	g_free(body);
	/* Outcome labels. */
	g_free(F->c->outcome);
	F->c->outcome = g_strdup("fixed-workaround");
	body = render_shipped("completion", "discoverer", 0, "ja", NULL);
	assert_non_null(strstr(body, "区分: 修正が完了したもの(運用で回避)"));
	g_free(body);
	/* A postal letter is dated in the Japanese era. */
	F->item.attempt = 2;
	body = render_shipped("postal-letter", "operator", 1, "ja", NULL);
	assert_non_null(strstr(body, "東京都千代田区 1-1\nExample 株式会社 様\n"));
	assert_non_null(strstr(body, "令和9年3月3日"));
}

/* ------------------------------------------------------ loading a set */

static char *copy_rules(void)
{
	g_autofree char *src = rules_dir();
	char *dst = g_strdup("/tmp/todoke-tmpl-XXXXXX");
	g_autofree char *cmd = NULL;

	assert_non_null(g_mkdtemp(dst));
	cmd = g_strdup_printf("cp -R '%s/templates' '%s/'", src, dst);
	assert_int_equal(system(cmd), 0);
	return dst;
}

static void remove_tree(const char *dir)
{
	g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", dir);

	assert_int_equal(system(cmd), 0);
}

static void expect_load_error(const char *dir, const char *want)
{
	const struct templates *t = NULL;
	tdk_err err = { "" };

	assert_int_not_equal(templates_load(dir, &t, &err), TDK_OK);
	assert_null(t);
	if (strstr(err.text, want) == NULL)
		fail_msg("got:  %s\nwant: %s", err.text, want);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	g_autofree char *path = g_build_filename(dir, name, NULL);

	assert_true(g_file_set_contents(path, text, -1, NULL));
}

static void test_load_set(void **state)
{
	g_autofree char *dir = copy_rules();
	g_autofree char *ja = g_build_filename(dir, "templates", "ja", NULL);
	g_autofree char *en = g_build_filename(dir, "templates", "en", NULL);
	g_autofree char *path = NULL, *want = NULL;

	/* A mistake in one template names its file and line. */
	path = g_build_filename(en, "stage2.operator.txt", NULL);
	write_file(en, "stage2.operator.txt",
		   "Subject: [{{case}}] x\nAudience: operator\nAttach: fix-report-form\n\n"
		   "ok\n{{ discoverer.name }}\n");
	want = g_strdup_printf("%s:6: 'discoverer.name' is the discoverer's personal data", path);
	expect_load_error(dir, want);
	/* A notice without its template in one language. */
	g_unlink(path);
	want = (g_free(want), g_strdup_printf("%s: no template for 'stage2' to the operator "
					      "(stage2.txt or stage2.operator.txt)", en));
	expect_load_error(dir, want);
	/* Two templates for one audience. */
	write_file(en, "stage2.operator.txt",
		   "Subject: [{{case}}] x\nAudience: operator\nAttach: fix-report-form\n\nok\n");
	write_file(en, "stage2.txt", "Subject: [{{case}}] x\nAudience: operator developer\n\nok\n");
	expect_load_error(dir, "/en/stage2.txt: the operator already has a template for 'stage2'");
	g_free(path);
	path = g_build_filename(en, "stage2.txt", NULL);
	g_unlink(path);
	/* An audience in one language only. */
	write_file(en, "ended.operator.txt",
		   "Subject: [{{case}}] x\nAudience: operator\n\nok\n");
	write_file(en, "published.txt",
		   "Subject: [{{case}}] x\nAudience: discoverer staff\n\nok\n");
	want = (g_free(want), g_strdup_printf("%s: no template for 'published' to the staff, "
					      "which %s/published.txt has", ja, en));
	expect_load_error(dir, want);
	write_file(en, "published.txt", "Subject: [{{case}}] x\nAudience: discoverer\n\nok\n");
	/* An attachment that is not there for the audience. */
	write_file(ja, "stage2.developer.txt",
		   "Subject: [{{case}}] x\nAudience: developer\nAttach: fix-report-form\n\nok\n");
	write_file(en, "stage2.developer.txt",
		   "Subject: [{{case}}] x\nAudience: developer\nAttach: fix-report-form\n\nok\n");
	want = (g_free(want), g_strdup_printf("%s/stage2.developer.txt: attaches "
					      "'fix-report-form', which has no template for "
					      "the developer in %s", ja, ja));
	expect_load_error(dir, want);
	write_file(ja, "stage2.developer.txt", "Subject: [{{case}}] x\nAudience: developer\n\nok\n");
	write_file(en, "stage2.developer.txt", "Subject: [{{case}}] x\nAudience: developer\n\nok\n");
	/* Files not ending in .txt are not templates. */
	write_file(ja, "README", "not a template {{");
	write_file(ja, ".stage2.operator.txt.swp", "{{");
	{
		const struct templates *t = NULL;
		tdk_err err;

		if (templates_load(dir, &t, &err) != TDK_OK)
			fail_msg("%s", err.text);
		templates_free(t);
	}
	remove_tree(dir);
	expect_load_error(dir, "templates/ja:");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_interpolation, case_setup, case_teardown),
		cmocka_unit_test_setup_teardown(test_conditionals, case_setup, case_teardown),
		cmocka_unit_test_setup_teardown(test_loops, case_setup, case_teardown),
		cmocka_unit_test_setup_teardown(test_filter_dates, case_setup, case_teardown),
		cmocka_unit_test_setup_teardown(test_filter_periods, case_setup, case_teardown),
		cmocka_unit_test_setup_teardown(test_filter_text, case_setup, case_teardown),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_name_errors),
		cmocka_unit_test(test_limits),
		cmocka_unit_test_setup_teardown(test_header_errors, case_setup, case_teardown),
		cmocka_unit_test(test_pii_refused_at_load),
		cmocka_unit_test_setup_teardown(test_pii_refused_at_render, case_setup,
						case_teardown),
		cmocka_unit_test_setup_teardown(test_subject_rules, case_setup, case_teardown),
		cmocka_unit_test_setup_teardown(test_injection, case_setup, case_teardown),
		cmocka_unit_test_setup_teardown(test_no_case, case_setup, case_teardown),
		cmocka_unit_test_setup_teardown(test_shipped_every_notice, case_setup,
						case_teardown),
		cmocka_unit_test_setup_teardown(test_shipped_stage2, case_setup, case_teardown),
		cmocka_unit_test_setup_teardown(test_shipped_reasons, case_setup, case_teardown),
		cmocka_unit_test(test_load_set),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
