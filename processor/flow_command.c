/*
 * flow_command.c - staff commands applied to a case (see flow.h and
 * command.h). Each handler checks everything first and names the problem
 * precisely; only then does it change the case.
 */
#include "flow_int.h"

#include <string.h>

#define FAIL(f, status, c, ...) \
	cmd_fail((f), (status), (c), __VA_ARGS__)

static int cmd_fail(struct flow *f, int status, const struct command *cmd,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int cmd_fail(struct flow *f, int status, const struct command *cmd,
		    const char *fmt, ...)
{
	va_list ap;
	g_autofree char *msg = NULL;

	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	return tdk_err_set(f->err, status, "%s: %s: %s", cmd->case_text,
			   command_verb_name(cmd->verb), msg);
}

static int wrong_state(struct flow *f, const struct command *cmd,
		       const struct case_rec *c, const char *expected)
{
	return FAIL(f, TDK_ESTATE, cmd, "the case is %s%s%s; this needs %s",
		    case_state_name(c->state), c->paused ? " (paused)" : "",
		    c->kind != CASE_KIND_NONE ? "" : "", expected);
}

static bool in_states(const struct case_rec *c, const int *states)
{
	for (; *states != 0; states++)
		if (c->state == *states)
			return true;
	return false;
}

static int64_t date_instant(const struct flow *f, civil_day day)
{
	int64_t t = f->now;

	cal_end_of_day(f->cal, day, &t);
	return t;
}

/* ------------------------------------------------------------ intake */

static int cmd_accept(struct flow *f, struct case_rec *c, const struct command *cmd)
{
	if (c->state != CS_RECEIVED)
		return wrong_state(f, cmd, c, "received");
	c->kind = cmd->kind == RULE_KIND_WEB ? CASE_KIND_WEB : CASE_KIND_PRODUCT;
	c->accepted = f->now;
	flow_set_state(c, CS_ACCEPTED);
	int rc = flow_event(f, c, "accepted", 0, NULL, "accepted as a %s case",
			    case_kind_name(c->kind));

	return rc == TDK_OK ? flow_notice_role(f, c, "acceptance", ROLE_DISCOVERER, NULL)
			    : rc;
}

static int cmd_reject(struct flow *f, struct case_rec *c, const struct command *cmd)
{
	if (c->state != CS_RECEIVED)
		return wrong_state(f, cmd, c, "received");
	if (rules_find_reason(&f->rules->not_accepted, cmd->code) == NULL)
		return FAIL(f, TDK_EINVAL, cmd, "unknown reason code '%s'", cmd->code);
	flow_stop_all_clocks(c);
	c->not_accepted = f->now;
	c->state_before = c->state;
	flow_set_state(c, CS_NOT_ACCEPTED);
	g_free(c->reason_code);
	c->reason_code = g_strdup(cmd->code);
	g_free(c->close_text);
	c->close_text = g_strdup(cmd->text);
	case_clock_start(c, CLOCK_RETENTION, f->now, f->rules->retention.personal_data);
	if (c->hold)
		flow_stop_clock(c, CLOCK_RETENTION);
	int rc = flow_event(f, c, "not-accepted", 0, NULL, "not accepted, reason %s",
			    cmd->code);

	return rc == TDK_OK ? flow_notice_role(f, c, "non-acceptance", ROLE_DISCOVERER,
					       cmd->code)
			    : rc;
}

/* ------------------------------------------------------------ parties */

/* The discoverer's new personal data, written by the caller just before
 * the commit of the commands (flow.pii_pending): a later command that
 * fails leaves it unwritten. */
static int discoverer_pii(struct flow *f, struct case_rec *c,
			  const struct command *cmd)
{
	struct pii_rec *old = NULL, *pii;
	int rc = flow_pii_pending_get(f, c->number, &old);

	if (rc != TDK_OK && c->pii_destroyed != 0)
		return FAIL(f, TDK_ESTATE, cmd,
			    "the discoverer's personal data was destroyed");
	pii = g_new0(struct pii_rec, 1);
	pii->address = g_strdup(cmd->address != NULL ? cmd->address : (old ? old->address : NULL));
	pii->name = g_strdup(cmd->name != NULL ? cmd->name : (old ? old->name : NULL));
	pii->postal = g_strdup(cmd->postal != NULL ? cmd->postal : (old ? old->postal : NULL));
	pii->phone = g_strdup(old != NULL ? old->phone : NULL);
	pii->report = old != NULL && old->report != NULL ? g_bytes_ref(old->report) : NULL;
	pii->decrypted = old != NULL && old->decrypted != NULL ? g_bytes_ref(old->decrypted) : NULL;
	pii->stored = old != NULL ? old->stored : f->now;
	pii_rec_free(old);
	flow_pii_pending_set(f, c->number, pii);
	return TDK_OK;
}

static void set_str(char **field, const char *value)
{
	if (value != NULL) {
		g_free(*field);
		*field = g_strdup(value);
	}
}

static int cmd_party(struct flow *f, struct case_rec *c, const struct command *cmd)
{
	int role = (int)cmd->role; /* the enums share their numbers */
	int idx;
	int rc;

	if (role == ROLE_DISCOVERER) {
		idx = case_party_find_role(c, ROLE_DISCOVERER);
		if (idx < 0)
			idx = (int)case_party_add(c, ROLE_DISCOVERER, NULL, NULL,
						  cmd->lang, cmd->key, NULL, f->now);
		set_str(&c->parties[idx].lang, cmd->lang);
		set_str(&c->parties[idx].key, cmd->key);
		if (cmd->key != NULL)
			set_str(&c->parties[idx].key_source, "staff");
		set_str(&c->lang, cmd->lang);
		rc = discoverer_pii(f, c, cmd);
		return rc == TDK_OK ? flow_event(f, c, "party", 0, NULL,
						 "discoverer details updated")
				    : rc;
	}
	idx = case_party_find_address(c, cmd->address);
	if (idx >= 0 && c->parties[idx].role != role)
		return FAIL(f, TDK_EINVAL, cmd, "%s is already the case's %s",
			    cmd->address, case_role_name(c->parties[idx].role));
	if (idx < 0)
		idx = (int)case_party_add(c, role, cmd->address, cmd->name,
					  cmd->lang != NULL ? cmd->lang : "ja", cmd->key,
					  cmd->postal, f->now);
	else {
		set_str(&c->parties[idx].name, cmd->name);
		set_str(&c->parties[idx].lang, cmd->lang);
		set_str(&c->parties[idx].key, cmd->key);
		set_str(&c->parties[idx].postal, cmd->postal);
	}
	if (cmd->key != NULL)
		set_str(&c->parties[idx].key_source, "staff");
	return flow_event(f, c, "party", 0, NULL, "%s %s%s%s", case_role_name(role),
			  cmd->address, cmd->key != NULL ? " key " : "",
			  cmd->key != NULL ? cmd->key : "");
}

/* ---------------------------------------------------------------- set */

static int cmd_set(struct flow *f, struct case_rec *c, const struct command *cmd)
{
	const char *v = cmd->value;
	const char *field = cmd->field;

	if (strcmp(field, "url") == 0)
		set_str(&c->url, v);
	else if (strcmp(field, "product") == 0)
		set_str(&c->product, v);
	else if (strcmp(field, "vuln-type") == 0)
		set_str(&c->vuln_type, v);
	else if (strcmp(field, "threat") == 0)
		set_str(&c->threat, v);
	else if (strcmp(field, "description") == 0)
		set_str(&c->description, v);
	else if (strcmp(field, "title") == 0)
		set_str(&c->title, v);
	else if (strcmp(field, "impact") == 0)
		c->impact = rules_impact_from_name(v);
	else if (strcmp(field, "verifiable") == 0)
		c->verifiable = strcmp(v, "yes") == 0 ? 1 : 2;
	else if (strcmp(field, "check-wanted") == 0)
		c->check_wanted = strcmp(v, "yes") == 0 ? 1 : 2;
	else if (strcmp(field, "fix-kind") == 0)
		c->fix_kind = strcmp(v, "fix") == 0 ? 1
			      : strcmp(v, "workaround") == 0 ? 2 : 3;
	else if (strcmp(field, "lang") == 0) {
		int d = case_party_find_role(c, ROLE_DISCOVERER);

		set_str(&c->lang, v);
		if (d >= 0)
			set_str(&c->parties[d].lang, v);
	} else
		return FAIL(f, TDK_EINVAL, cmd, "unknown field '%s'", field);
	return flow_event(f, c, "set", 0, NULL, "%s set", field);
}

/* --------------------------------------------------------------- send */

static int party_for_send(const struct case_rec *c, int role)
{
	int p = flow_contact_party(c);

	if (p >= 0 && c->parties[p].role == role)
		return p;
	return case_party_find_role(c, role);
}

static int cmd_send(struct flow *f, struct case_rec *c, const struct command *cmd)
{
	static const int stage2_from[] = { CS_CONTACTING, CS_UNREACHABLE,
					   CS_CONTACT_KNOWN, CS_ACCEPTED, 0 };
	int target = c->kind == CASE_KIND_PRODUCT ? ROLE_DEVELOPER : ROLE_OPERATOR;
	int p;

	if (c->paused)
		return FAIL(f, TDK_ESTATE, cmd, "the case is paused; resume it first");
	switch (cmd->send) {
	case CMD_SEND_STAGE1:
		if (c->state != CS_ACCEPTED)
			return wrong_state(f, cmd, c, "accepted");
		if (c->kind == CASE_KIND_WEB && c->url == NULL)
			return FAIL(f, TDK_ESTATE, cmd,
				    "no site URL: 'set CASE url …' first");
		if ((p = party_for_send(c, target)) < 0)
			return FAIL(f, TDK_ESTATE, cmd, "no %s: 'party CASE %s ADDRESS' first",
				    case_role_name(target), case_role_name(target));
		if (c->kind == CASE_KIND_PRODUCT) {
			c->overview_sent = f->now; /* 起算日 */
			case_clock_start(c, CLOCK_NONDISCLOSURE, f->now,
					 f->rules->product.nondisclosure_withdrawal);
		}
		return flow_contact_start(f, c, p);
	case CMD_SEND_STAGE2:
		if (!in_states(c, stage2_from))
			return wrong_state(f, cmd, c,
					   "contacting, unreachable, contact-known or accepted");
		if ((p = party_for_send(c, target)) < 0)
			return FAIL(f, TDK_ESTATE, cmd, "no %s: 'party CASE %s ADDRESS' first",
				    case_role_name(target), case_role_name(target));
		if (c->state == CS_UNREACHABLE) {
			c->resumed_at = f->now;
			c->resumptions++;
		}
		return flow_send_stage2(f, c, p);
	case CMD_SEND_FORWARD:
		if (c->kind != CASE_KIND_PRODUCT)
			return FAIL(f, TDK_ESTATE, cmd, "only a product case is forwarded");
		if (!case_state_is_open(c->state) || c->state == CS_RECEIVED)
			return wrong_state(f, cmd, c, "an accepted, open product case");
		if ((p = case_party_find_role(c, ROLE_COORDINATOR)) < 0)
			p = (int)case_party_add(c, ROLE_COORDINATOR,
						f->config->coordinator_address, NULL,
						"ja", NULL, NULL, f->now);
		if (c->state == CS_ACCEPTED)
			flow_set_state(c, CS_FORWARDED);
		c->forwarded = f->now;
		return flow_notice(f, c, "forward", p, NULL, 0);
	case CMD_SEND_REMINDER: {
		const char *notice;

		switch (c->state) {
		case CS_CONTACTING: notice = "stage1-reminder"; break;
		case CS_DETAIL_SENT: notice = "reminder-first-reply"; break;
		case CS_ACKNOWLEDGED: notice = "reminder-investigation"; break;
		case CS_FIXING: notice = "reminder-fix"; break;
		default:
			return wrong_state(f, cmd, c,
					   "contacting, detail-sent, acknowledged or fixing");
		}
		if ((p = flow_contact_party(c)) < 0)
			return FAIL(f, TDK_ESTATE, cmd, "no contact party to remind");
		return flow_notice(f, c, notice, p, "sent by staff", 0);
	}
	}
	return FAIL(f, TDK_EINVAL, cmd, "unknown notice");
}

/* ------------------------------------------------------------ contact */

static int cmd_contacted(struct flow *f, struct case_rec *c, const struct command *cmd)
{
	bool post = strcmp(cmd->channel, "post") == 0;
	int rc;

	if (c->state != CS_CONTACTING)
		return wrong_state(f, cmd, c, "contacting");
	if (post && !c->awaiting_post)
		return FAIL(f, TDK_ESTATE, cmd, "no postal attempt is waiting");
	if (!post && !c->awaiting_post)
		c->contact_attempts++; /* a phone call is an attempt of its own */
	c->awaiting_post = false;
	case_clock_start(c, CLOCK_CONTACT, f->now, f->rules->contact.interval);
	rc = flow_event(f, c, "contacted", 0, NULL, "contact attempt %d by %s%s%s",
			c->contact_attempts, cmd->channel, cmd->text != NULL ? ": " : "",
			cmd->text != NULL ? cmd->text : "");
	return rc;
}

static int cmd_unreachable(struct flow *f, struct case_rec *c, const struct command *cmd)
{
	if (c->state != CS_CONTACTING)
		return wrong_state(f, cmd, c, "contacting");
	return flow_unreachable(f, c, "declared by staff");
}

/* ------------------------------------------------------------- clocks */

static int cmd_extend(struct flow *f, struct case_rec *c, const struct command *cmd)
{
	static const int clock_of[] = {
		[CMD_CLOCK_INVESTIGATION] = CLOCK_INVESTIGATION,
		[CMD_CLOCK_FIX] = CLOCK_FIX,
		[CMD_CLOCK_COMPLETION] = CLOCK_COMPLETION,
		[CMD_CLOCK_CONTACT] = CLOCK_CONTACT,
		[CMD_CLOCK_FIRST_REPLY] = CLOCK_FIRST_REPLY,
	};
	int id = clock_of[cmd->clock];
	struct case_clock *k = &c->clocks[id];
	char period[CAL_PERIOD_LEN];
	int64_t due;

	if (!case_state_is_open(c->state))
		return wrong_state(f, cmd, c, "an open case");
	if (k->start == 0 || (!k->active && !k->fired))
		return FAIL(f, TDK_ESTATE, cmd, "the %s clock is not running",
			    case_clock_name(id));
	if (k->n_periods >= CLOCK_PERIODS_MAX)
		return FAIL(f, TDK_ELIMIT, cmd, "the %s clock was extended %d times already",
			    case_clock_name(id), CLOCK_PERIODS_MAX - 1);
	k->periods[k->n_periods++] = cmd->period;
	if (case_clock_due(f->cal, k, &due) != TDK_OK)
		return FAIL(f, TDK_ERANGE, cmd, "the new deadline is outside the calendar");
	k->active = true;
	k->fired = false;
	if (id == CLOCK_COMPLETION && c->state == CS_EXPIRED) {
		flow_set_state(c, c->state_before != 0 ? c->state_before : CS_FIXING);
		c->expired_at = 0;
	}
	cal_period_format(cmd->period, period, sizeof period);
	char when[CAL_INSTANT_LEN] = "";

	cal_format_instant(f->cal, due, when, sizeof when);
	return flow_event(f, c, "extended", 0, NULL, "%s clock extended by %s to %s: %s",
			  case_clock_name(id), period, when, cmd->text);
}

static int cmd_pause(struct flow *f, struct case_rec *c, const struct command *cmd)
{
	if (!case_state_is_open(c->state))
		return wrong_state(f, cmd, c, "an open case");
	if (c->paused)
		return FAIL(f, TDK_ESTATE, cmd, "the case is already paused");
	c->paused = true;
	c->paused_at = f->now;
	set_str(&c->pause_reason, cmd->text);
	return flow_event(f, c, "paused", 0, NULL, "clocks stopped: %s", cmd->text);
}

static int cmd_resume(struct flow *f, struct case_rec *c, const struct command *cmd)
{
	int64_t span;

	if (!c->paused)
		return FAIL(f, TDK_ESTATE, cmd, "the case is not paused");
	span = f->now - c->paused_at;
	for (int id = 1; id < CLOCK_COUNT; id++)
		if (c->clocks[id].active)
			c->clocks[id].paused += span;
	c->paused = false;
	c->paused_at = 0;
	g_free(c->pause_reason);
	c->pause_reason = NULL;
	return flow_event(f, c, "resumed-clocks", 0, NULL,
			  "clocks restarted after %" G_GINT64_FORMAT " s", span);
}

/* -------------------------------------------------- ending and notes */

static int cmd_close(struct flow *f, struct case_rec *c, const struct command *cmd)
{
	const struct rule_outcome *o = rules_find_outcome(f->rules, cmd->outcome);
	unsigned kind_bit = c->kind == CASE_KIND_WEB ? RULE_KIND_WEB : RULE_KIND_PRODUCT;

	if (!case_state_is_open(c->state))
		return wrong_state(f, cmd, c, "an open case");
	if (c->kind == CASE_KIND_NONE)
		return FAIL(f, TDK_ESTATE, cmd,
			    "the case is not accepted; use 'reject' for a report "
			    "that is not accepted");
	if (o == NULL)
		return FAIL(f, TDK_EINVAL, cmd, "unknown outcome '%s'", cmd->outcome);
	if ((o->kinds & kind_bit) == 0)
		return FAIL(f, TDK_EINVAL, cmd, "outcome '%s' is not for a %s case",
			    cmd->outcome, case_kind_name(c->kind));
	if (o->needs_reason) {
		const struct rule_reason_list *list = c->kind == CASE_KIND_WEB
			? &f->rules->web_end : &f->rules->product_end;

		if (cmd->code == NULL || rules_find_reason(list, cmd->code) == NULL)
			return FAIL(f, TDK_EINVAL, cmd,
				    "outcome '%s' needs a %s reason code, not '%s'",
				    cmd->outcome, case_kind_name(c->kind),
				    cmd->code != NULL ? cmd->code : "");
	}
	if (c->state == CS_CHECKING && c->checked == 0 &&
	    g_str_has_prefix(cmd->outcome, "fixed"))
		return FAIL(f, TDK_ESTATE, cmd,
			    "the operator asked for the desk's check; "
			    "'record CASE checked DATE' first");
	return flow_close(f, c, cmd->outcome, o->needs_reason ? cmd->code : NULL,
			  cmd->text);
}

static int cmd_reopen(struct flow *f, struct case_rec *c, const struct command *cmd)
{
	static const int from[] = { CS_CLOSED, CS_NOT_ACCEPTED, CS_UNREACHABLE,
				    CS_EXPIRED, 0 };
	int before = c->state;

	if (!in_states(c, from))
		return wrong_state(f, cmd, c, "closed, not-accepted, unreachable or expired");
	if (c->state == CS_UNREACHABLE) {
		flow_set_state(c, CS_CONTACT_KNOWN);
		c->resumed_at = f->now;
		c->resumptions++;
	} else {
		flow_set_state(c, c->state_before != 0 && case_state_is_open(c->state_before)
					  ? c->state_before : CS_RECEIVED);
	}
	flow_stop_clock(c, CLOCK_RETENTION);
	c->closed = 0;
	c->expired_at = 0;
	return flow_event(f, c, "reopened", 0, NULL, "reopened from %s",
			  case_state_name(before));
}

static int cmd_hold(struct flow *f, struct case_rec *c, const struct command *cmd,
		    bool hold)
{
	if (c->hold == hold)
		return FAIL(f, TDK_ESTATE, cmd, "the legal hold is already %s",
			    hold ? "on" : "off");
	c->hold = hold;
	if (hold)
		flow_stop_clock(c, CLOCK_RETENTION);
	else if (!case_state_is_open(c->state) && c->pii_destroyed == 0 &&
		 c->clocks[CLOCK_RETENTION].start != 0)
		c->clocks[CLOCK_RETENTION].active = true; /* fires when due */
	return flow_event(f, c, hold ? "hold" : "release", 0, NULL,
			  hold ? "legal hold on: personal data is kept"
			       : "legal hold released");
}

static int cmd_note(struct flow *f, struct case_rec *c, const struct command *cmd)
{
	return flow_event(f, c, "note", 0, NULL, "%s", cmd->text);
}

static int cmd_record(struct flow *f, struct case_rec *c, const struct command *cmd)
{
	int64_t when = date_instant(f, cmd->date);
	const char *text = cmd->text != NULL ? cmd->text : "";
	int rc;

	if (when > f->now + 86400)
		return FAIL(f, TDK_EINVAL, cmd, "the date is in the future");
	switch (cmd->record) {
	case CMD_REC_PUBLISHED:
		if (c->kind != CASE_KIND_PRODUCT)
			return FAIL(f, TDK_ESTATE, cmd, "only a product case is published");
		if (c->published != 0)
			return FAIL(f, TDK_ESTATE, cmd, "publication is recorded already");
		c->published = when;
		if (case_state_is_open(c->state))
			flow_set_state(c, CS_PUBLISHED);
		rc = flow_event(f, c, "published", 0, NULL, "published %s", text);
		return rc == TDK_OK ? flow_notice_role(f, c, "published", ROLE_DISCOVERER, NULL)
				    : rc;
	case CMD_REC_PRIORITY_PROVIDED:
		c->priority_provided = when;
		rc = flow_event(f, c, "priority-provided", 0, NULL,
				"priority information provision %s", text);
		return rc == TDK_OK ? flow_notice_role(f, c, "priority-provided",
						       ROLE_DISCOVERER, NULL)
				    : rc;
	case CMD_REC_GOV_NOTIFIED:
		c->gov_notified = when;
		return flow_event(f, c, "gov-notified", 0, NULL,
				  "Cabinet Office notified %s", text);
	case CMD_REC_COORDINATOR_UPDATE:
		return flow_event(f, c, "coordinator-update", 0, NULL, "%s", text);
	case CMD_REC_CHECKED:
		if (c->state != CS_CHECKING && c->state != CS_FIX_REPORTED)
			return wrong_state(f, cmd, c, "checking or fix-reported");
		c->checked = when;
		flow_set_state(c, CS_FIX_REPORTED);
		return flow_event(f, c, "checked", 0, NULL, "the desk's check is done %s",
				  text);
	}
	return FAIL(f, TDK_EINVAL, cmd, "unknown record");
}

int flow_apply_command(struct flow *f, const struct command *cmd)
{
	struct case_rec *c = NULL;
	int rc;

	f->case_number = cmd->case_number;
	f->what = command_verb_name(cmd->verb);
	rc = store_case_get(f->txn, cmd->case_number, &c, NULL);
	if (rc == TDK_ENOENT)
		return tdk_err_set(f->err, TDK_ENOENT, "%s: %s: unknown case",
				   cmd->case_text, command_verb_name(cmd->verb));
	if (rc != TDK_OK)
		return flow_load(f, cmd->case_number, &c);
	switch (cmd->verb) {
	case CMD_ACCEPT: rc = cmd_accept(f, c, cmd); break;
	case CMD_REJECT: rc = cmd_reject(f, c, cmd); break;
	case CMD_PARTY: rc = cmd_party(f, c, cmd); break;
	case CMD_SET: rc = cmd_set(f, c, cmd); break;
	case CMD_SEND: rc = cmd_send(f, c, cmd); break;
	case CMD_CONTACTED: rc = cmd_contacted(f, c, cmd); break;
	case CMD_EXTEND: rc = cmd_extend(f, c, cmd); break;
	case CMD_PAUSE: rc = cmd_pause(f, c, cmd); break;
	case CMD_RESUME: rc = cmd_resume(f, c, cmd); break;
	case CMD_UNREACHABLE: rc = cmd_unreachable(f, c, cmd); break;
	case CMD_REOPEN: rc = cmd_reopen(f, c, cmd); break;
	case CMD_CLOSE: rc = cmd_close(f, c, cmd); break;
	case CMD_HOLD: rc = cmd_hold(f, c, cmd, true); break;
	case CMD_RELEASE: rc = cmd_hold(f, c, cmd, false); break;
	case CMD_NOTE: rc = cmd_note(f, c, cmd); break;
	case CMD_RECORD: rc = cmd_record(f, c, cmd); break;
	default:
		rc = tdk_err_set(f->err, TDK_EINVAL, "%s: unknown command", cmd->case_text);
	}
	if (rc == TDK_OK) {
		/* The discoverer's details belong in the personal data store
		 * only: the event log, kept for good, gets no copy. */
		g_autofree char *line =
			cmd->verb == CMD_PARTY && cmd->role == CMD_ROLE_DISCOVERER
				? g_strdup_printf("party %s discoverer (personal data "
						  "not logged)", cmd->case_text)
				: command_to_text(cmd);

		rc = flow_event(f, c, "command", f->spool_id, f->message_id, "%s", line);
	}
	if (rc == TDK_OK)
		rc = flow_save(f, c);
	case_free(c);
	return rc;
}

int flow_command_mail(struct flow *f, uint64_t number, const char *text)
{
	struct case_rec *c = NULL;
	int rc = flow_load(f, number, &c);

	if (rc == TDK_OK)
		rc = flow_event(f, c, "command-mail", f->spool_id, f->message_id,
				"%s", text);
	if (rc == TDK_OK)
		rc = flow_save(f, c);
	case_free(c);
	return rc;
}
