/*
 * mailcmd_transcript.c - the transcript reply to a staff command mail
 * (see mailcmd.h).
 *
 * Owns: the text of the transcript: which mail and signature it answers,
 * the verdict, every command line with its result or the precise reason
 * it was refused, and the touched cases' states and due dates (given by
 * the engine, which reads them in the transaction that changed them).
 * Plain text in English, lines of command text as the signer wrote them;
 * rendering, signing and encryption are the outbound side's.
 */
#include "mailcmd.h"

#include <string.h>

static void signature_line(GString *s, const struct mailcmd *m,
			   const struct cal *cal)
{
	char when[CAL_INSTANT_LEN] = "unknown time";

	if (m->fingerprint == NULL) {
		g_string_append(s, "Signature:  none\n");
		return;
	}
	if (m->signed_at != 0)
		cal_format_instant(cal, m->signed_at, when, sizeof when);
	g_string_append_printf(s, "Signature:  key %s, made %s", m->fingerprint, when);
	if (m->signer != NULL)
		g_string_append_printf(s, " (%s, %s)", m->signer->address,
				       conf_staff_role_name(m->signer->role));
	if (m->form != NULL)
		g_string_append_printf(s, ", %s", m->form);
	g_string_append_c(s, '\n');
}

/* The first line that failed, in the order of the mail. */
static const struct mailcmd_line *first_error(const struct mailcmd *m)
{
	for (size_t i = 0; i < m->n_lines; i++)
		if (m->lines[i].error != NULL)
			return &m->lines[i];
	return NULL;
}

static void result_line(GString *s, const struct mailcmd *m, bool applied)
{
	const struct mailcmd_line *bad = first_error(m);
	size_t n_errors = 0;

	for (size_t i = 0; i < m->n_lines; i++)
		n_errors += m->lines[i].error != NULL;
	g_string_append(s, "Result:     ");
	if (m->auth != MAILCMD_AUTH_OK)
		g_string_append_printf(s, "refused, nothing was changed: %s\n", m->reason);
	else if (applied)
		g_string_append_printf(s, "applied, %zu command%s\n", m->n_lines,
				       m->n_lines == 1 ? "" : "s");
	else if (bad != NULL && n_errors == 1)
		g_string_append_printf(s, "refused, nothing was changed: line %zu "
				       "cannot be applied\n", bad->lineno);
	else if (bad != NULL)
		g_string_append_printf(s, "refused, nothing was changed: %zu lines "
				       "cannot be applied, the first is line %zu\n",
				       n_errors, bad->lineno);
	else
		g_string_append(s, "refused, nothing was changed: no command in the "
				   "signed text\n");
}

/* Whether a command line sets the discoverer's details: "party [CASE]
 * discoverer ...". Those are personal data; the transcript (kept in the
 * outbox) does not repeat them, whether the line parsed or not. */
static bool names_discoverer(const char *text)
{
	gchar **words = g_strsplit_set(text != NULL ? text : "", " \t", 5);
	int seen = 0;
	bool party = false, discoverer = false;

	for (int i = 0; words[i] != NULL && seen < 3; i++) {
		if (*words[i] == '\0')
			continue;
		if (seen == 0)
			party = g_ascii_strcasecmp(words[i], "party") == 0;
		else if (g_ascii_strcasecmp(words[i], "discoverer") == 0)
			discoverer = true;
		seen++;
	}
	g_strfreev(words);
	return party && discoverer;
}

static void command_lines(GString *s, const struct mailcmd *m, bool applied)
{
	if (m->n_lines == 0)
		return;
	g_string_append(s, "\nCommands:\n");
	for (size_t i = 0; i < m->n_lines; i++) {
		const struct mailcmd_line *l = &m->lines[i];

		if (names_discoverer(l->text))
			g_string_append(s, "> party ... discoverer (the discoverer's "
					   "details are not repeated)\n");
		else
			g_string_append_printf(s, "> %s\n", l->text);
		if (l->effective != NULL && !names_discoverer(l->text))
			g_string_append_printf(s, "  (read as: %s)\n", l->effective);
		if (l->error != NULL)
			g_string_append_printf(s, "  line %zu: refused: %s\n", l->lineno,
					       l->error);
		else if (applied && l->applied)
			g_string_append(s, "  applied\n");
		else
			g_string_append(s, "  not applied: the mail has a line that "
					   "cannot be applied\n");
	}
}

char *mailcmd_transcript(const struct mailcmd *m, bool applied,
			 const char *cases, const struct cal *cal)
{
	GString *s = g_string_new("Transcript of a command mail to the desk.\n\n");

	g_string_append_printf(s, "Message-ID: <%s>\n",
			       m->message_id != NULL ? m->message_id : "none");
	signature_line(s, m, cal);
	if (m->default_case != NULL)
		g_string_append_printf(s, "Case:       %s, from the Subject, for "
				       "commands without one\n", m->default_case);
	result_line(s, m, applied);
	if (m->auth == MAILCMD_AUTH_OK)
		command_lines(s, m, applied);
	if (applied && cases != NULL && *cases != '\0')
		g_string_append_printf(s, "\nCases now:\n%s", cases);
	return g_string_free(s, FALSE);
}
