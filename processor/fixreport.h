/*
 * fixreport.h - reading a 修正完了報告書 (fix-completion report), the form
 * a web-site operator returns to the desk (DOMAIN.md §3.3, survey §3.4).
 *
 * Owns: the fixreport_ module. Input is UTF-8 text (one part of a mail, as
 * mailtext.h gives it); output is a struct fixreport of what the operator
 * filled in. Operators fill the form in free style, so parsing is
 * tolerant and never guesses where the text is ambiguous (the enums have
 * an UNKNOWN value for that).
 *
 * Text handling. Invalid UTF-8 and NUL bytes become U+FFFD; CRLF and CR
 * end lines; each line is NFKC-normalised (full-width "：", "＃", "１",
 * "［ｘ］" and the ideographic space become ":", "#", "1", "[x]" and a
 * space; half-width katakana become full-width). Every string returned is
 * taken from this normalised text (trimmed), so it is valid UTF-8.
 *
 * Detection (fixreport_detect). A title line, then at least one field
 * label on a later line. A title line is one that, with whitespace, a
 * leading "1." and surrounding brackets removed, ends in 修正完了報告書 or
 * 修正完了報告 (a trailing "(...)" is allowed), or, in ASCII lower case,
 * ends in "fix completion report". If the text as given has no form, the
 * same test is made after removing one level of "> " quoting (a report
 * quoted in a reply; unquoted lines, such as answers typed between quoted
 * lines, stay). Lines that are still quoted after that are ignored.
 *
 * The form starts at the title line. It ends at the survey (a line
 * 【アンケート】, "アンケート", "[Survey]" or "Survey") or at a second
 * title line after a field was read, or at the end of the text.
 *
 * Labels are matched at the start of a line (after spaces, an optional
 * "・" and an optional "【" or "["), ignoring whitespace inside the label
 * and ASCII case, followed by an optional "】" or "]", then ":". Labels
 * marked (L) below may also be followed by whitespace or the end of line
 * instead of ":" ("取扱番号 IPA#1"). When a label's value is empty, the
 * next line is its value if it is not blank and not itself part of the
 * form's structure. The first non-empty value of a field wins.
 *
 *   field            Japanese                          English
 *   case_text        取扱番号 (L), 取り扱い番号 (L),     Case number (L), Case No
 *                    取扱い番号 (L)
 *   url              対象ウェブページURL (L), 対象ウェブ  Target web page URL (L),
 *                    ページ, 対象ページURL, 対象URL, URL  Target web page, Target URL, URL
 *   content          対応内容 (L), 修正内容, 対策内容     What was done (L), Action taken
 *   contact_address  メールアドレス (L), E-mailアドレス,   Mail address (L), E-mail address,
 *                    Eメールアドレス, メール             Email address, E-mail, Email
 *   contact_name     ご担当者名 (L), 担当者名 (L),       Contact name, Contact person,
 *                    ご担当者, 担当者                    Name in section 3 (see below)
 *   date             日付, 報告日, 報告年月日            Date
 *   organization     組織名 (L), 組織, 会社名            Organization, Organisation, Company
 *   department       所属 (L), 所属部署, 部署名, 部署    Department, Division
 *   name             氏名 (L), お名前, 名前              Name
 *
 * English "Name:" is contact_name while inside section 3 (or after a
 * contact mail address) and before the signature block (which starts at
 * the date or an organization/department label); otherwise it is name.
 *
 * url: the first "<...>" of the value without the brackets, else the
 * value's first whitespace-separated word. content: the rest of the label
 * line plus the following lines up to the next structural line (a label,
 * the section 2 or 3 heading, an option line, a date line, the survey),
 * leading and trailing blank lines and trailing spaces removed, lines
 * joined with "\n"; a numbered list inside the content is kept.
 *
 * Sections. Section 2 starts at a line numbered 2 ("2.", "2)", "(2)",
 * "2、") that mentions 確認 or "check", at a line containing この報告の後
 * or starting "After this report" or "Check by the desk", or at a line
 * that is just IPAによる確認(作業). Section 3 starts at a line numbered 3 that mentions 連絡先 or
 * "contact", or at a line containing 同じサイトに or starting "Contact for
 * future reports".
 *
 * Options. The check options are 希望します / 希望する / "I would like a
 * check" (WANTED) and 希望しません / 希望しない / 確認不要 / 確認作業は不要
 * / "No check needed" / "Check not needed" / "I do not need a check" (NOT
 * WANTED). The contact options are アドレスを使用 / "Use the following
 * address" / "Use this address" (ADDRESS) and その都度 / 受付窓口 /
 * "Decide each time" (EACH_TIME). Options are looked for on the form's
 * lines outside the content. If only one option of a pair remains (the
 * operator deleted the other), it is chosen. If both remain, an option
 * marked on its line wins: a mark between the start of the line (or the
 * previous option on the same line) and the option -- ○ ● ◯ ◎ ◉ ■ ◆ ☑ ☒
 * ✓ ✔ ✅ → ⇒ => -> * [x] (x) [*] (*) [v] [o] [レ], or a lone x / レ --
 * or one of ← <- <= ⇐ ○ ◯ ● right after it. Unmarked boxes (□ ☐ [ ] ( ))
 * are not marks. Both marked, or neither: UNKNOWN. No option: UNKNOWN.
 *
 * Kind (from content; checked in this order):
 *   PAGE_DELETED  ページ or サイト, then up to 8 characters that are
 *                 hiragana, spaces or 自体全部, then 削除, 閉鎖, 非公開 or
 *                 廃止 ("当該ページを削除しました", "ページ自体を削除");
 *                 English: "page(s)" or "site" followed within 4 words by
 *                 deleted/removed/closed/"taken down", or preceded within
 *                 3 words by delete(d)/remove(d)/"took down"/"taken down";
 *   WORKAROUND    運用で回避, 運用により回避, 運用にて回避, 運用による回避,
 *                 運用回避, 回避策; "workaround", "work-around", "work around";
 *   FIX           any other non-empty content;
 *   UNKNOWN       no content.
 *
 * Dates: a "Date:"/"日付:" value or a line (outside the content) that
 * starts with a date: 令和N年M月D日 (令和1年 = 元年 = 2019), 平成N年M月D日
 * (平成1年 = 1989; later years than 31 are accepted as written by people
 * still using the old form: 平成38年 = 2026), R8.11.22 / H30.1.5 style,
 * 2026年11月22日, 2026-11-22, 2026/11/22, 2026.11.22, "November 22, 2026",
 * "22 November 2026" (English month names or their first three letters).
 * The day must exist. The blank "平成 年 月 日" gives no date.
 *
 * Survey (has_survey: the survey heading was found). Answers are read from
 * the lines after 回答欄 (or "Answers"), or anywhere in the survey if that
 * line is missing but then only when the value starts with "[". An answer
 * line is an optional 問 or Q, a question number 1-3 and/or a sub-question
 * (ア) (イ) (ウ) or (a) (b) (c); a sub-question alone belongs to the last
 * number. The value is the rest of the line, optionally after ":"; inside
 * "[...]" the brackets are removed, and a "[" not closed on its line
 * continues on the following lines up to "]". Empty answers stay NULL.
 *
 * Hostile input: input over FIXREPORT_INPUT_MAX bytes is refused by
 * fixreport_parse (fixreport_detect looks at that much only); the work is
 * linear in the input, times the number of labels and phrases.
 *
 * Everything returned is allocated with the GLib allocator and released
 * with fixreport_free(). No global state; thread-safe.
 */
#ifndef TODOKE_FIXREPORT_H
#define TODOKE_FIXREPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "civil.h"
#include "status.h"

#define FIXREPORT_INPUT_MAX (256 * 1024) /* bytes of text read */

enum fixreport_kind {
	FIXREPORT_KIND_UNKNOWN = 0,
	FIXREPORT_KIND_FIX,
	FIXREPORT_KIND_WORKAROUND,   /* 運用で回避 */
	FIXREPORT_KIND_PAGE_DELETED  /* ページ(を)削除 */
};

enum fixreport_check {
	FIXREPORT_CHECK_UNKNOWN = 0,
	FIXREPORT_CHECK_WANTED,      /* 希望します: a 同意書 is then required */
	FIXREPORT_CHECK_NOT_WANTED
};

enum fixreport_contact {
	FIXREPORT_CONTACT_UNKNOWN = 0,
	FIXREPORT_CONTACT_ADDRESS,   /* 以下のアドレスを使用する */
	FIXREPORT_CONTACT_EACH_TIME  /* 受付窓口を通じて、その都度担当者を決定する */
};

/* Indexes of fixreport.survey (DOMAIN.md §3.4). */
enum fixreport_survey_item {
	FIXREPORT_SURVEY_Q1A = 0, /* 1(ア) cause: depended on */
	FIXREPORT_SURVEY_Q1B,     /* 1(イ) cause: detail */
	FIXREPORT_SURVEY_Q2A,     /* 2(ア) damage that occurred */
	FIXREPORT_SURVEY_Q2B,     /* 2(イ) damage that could have occurred */
	FIXREPORT_SURVEY_Q2C,     /* 2(ウ) kinds of information that could leak */
	FIXREPORT_SURVEY_Q3,      /* 3 opinion */
	FIXREPORT_SURVEY_N
};

struct fixreport {
	char *case_text;      /* as found after 取扱番号 (trimmed), or NULL */
	char *url;            /* 対象ウェブページ URL, no angle brackets, or NULL */
	char *content;        /* 対応内容 (may be several lines), or NULL */
	enum fixreport_kind kind;
	enum fixreport_check check;
	enum fixreport_contact contact;
	char *contact_address; /* メールアドレス (no <> or mailto:), or NULL */
	char *contact_name;    /* ご担当者名, or NULL */
	bool has_date;
	civil_day date;
	char *organization, *department, *name;
	bool has_survey;
	char *survey[FIXREPORT_SURVEY_N]; /* raw answers, NULL if empty */
};

/* True if text (NUL-terminated UTF-8; NULL gives false) looks like the
 * form: see "Detection" above. */
bool fixreport_detect(const char *text);

/*
 * Parses len bytes of text (NUL bytes and invalid UTF-8 are replaced,
 * never fatal; text may be NULL when len is 0). On TDK_OK *out is a new
 * report. TDK_EINVAL: not a form (fixreport_detect would say false), or
 * out is NULL, or text is NULL with len > 0. TDK_ELIMIT: len exceeds
 * FIXREPORT_INPUT_MAX. err gets a one-line message on failure.
 */
int fixreport_parse(const char *text, size_t len, struct fixreport **out,
		    tdk_err *err);

/* Releases r and everything in it (NULL is fine). */
void fixreport_free(struct fixreport *r);

/* "unknown", "fix", "workaround", "page-deleted" ("unknown" if invalid). */
const char *fixreport_kind_name(enum fixreport_kind k);
/* "unknown", "wanted", "not-wanted" ("unknown" if invalid). */
const char *fixreport_check_name(enum fixreport_check c);
/* "unknown", "address", "each-time" ("unknown" if invalid). */
const char *fixreport_contact_name(enum fixreport_contact c);

#endif
