/*
 * mf_callbacks.c - the libmilter callbacks of todoke-milter.
 *
 * Owns: the two-level context (a connection holds the message being
 * received; mf_message_reset() is the one reset), protocol negotiation
 * (only the steps the milter needs, and no replies where none is needed),
 * collecting the mail of desk recipients, and the end-of-message hand-off:
 * intake, durable spool commit, header changes. Mail without a desk
 * recipient is handed back at DATA (at EOH if the MTA skips DATA), and so
 * is the desk's own outbound mail (envelope sender the bounce address):
 * a staff notice to the control address must not come back as a command.
 */
#include "config.h"

#include <string.h>

#include "log.h"
#include "milter.h"

struct mf_trust_header {
	char *name;
	int index; /* 1-based among headers of the same name */
};

#define MAX_TRUST_HEADERS 64  /* X-Todoke-* headers removed from one mail */

struct mf_message {
	char *sender;
	GPtrArray *recipients;   /* char *, all envelope recipients */
	bool for_desk;
	bool from_desk;          /* the desk's own notice: never intake */
	bool all_desk;           /* every recipient is a desk address */
	bool too_big;
	bool too_many_trust_headers;
	GByteArray *raw;         /* the mail as the MTA presents it */
	GArray *trust_headers;   /* struct mf_trust_header, to remove */
	GHashTable *header_counts; /* lower-case name -> count so far */
	size_t trust_bytes;      /* bytes of X-Todoke-* headers left out of raw */
};

struct mf_connection {
	unsigned long protocol;  /* negotiated SMFIP_* flags */
	unsigned long actions;   /* negotiated SMFIF_* flags */
	struct mf_message msg;
};

static void trust_header_clear(gpointer data)
{
	g_free(((struct mf_trust_header *)data)->name);
}

/* The one reset: drops everything of the current message. */
static void mf_message_reset(struct mf_message *m)
{
	g_clear_pointer(&m->sender, g_free);
	if (m->recipients != NULL)
		g_ptr_array_set_size(m->recipients, 0);
	else
		m->recipients = g_ptr_array_new_with_free_func(g_free);
	if (m->raw != NULL)
		g_byte_array_set_size(m->raw, 0);
	else
		m->raw = g_byte_array_new();
	if (m->trust_headers != NULL) {
		g_array_set_size(m->trust_headers, 0);
	} else {
		m->trust_headers = g_array_new(FALSE, TRUE, sizeof(struct mf_trust_header));
		g_array_set_clear_func(m->trust_headers, trust_header_clear);
	}
	if (m->header_counts != NULL)
		g_hash_table_remove_all(m->header_counts);
	else
		m->header_counts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	m->for_desk = false;
	m->from_desk = false;
	m->all_desk = true;
	m->too_big = false;
	m->too_many_trust_headers = false;
	m->trust_bytes = 0;
}

static void mf_message_free(struct mf_message *m)
{
	g_free(m->sender);
	if (m->recipients != NULL)
		g_ptr_array_unref(m->recipients);
	if (m->raw != NULL)
		g_byte_array_unref(m->raw);
	if (m->trust_headers != NULL)
		g_array_unref(m->trust_headers);
	if (m->header_counts != NULL)
		g_hash_table_unref(m->header_counts);
}

static struct mf_connection *connection(SMFICTX *ctx)
{
	struct mf_connection *conn = smfi_getpriv(ctx);

	if (conn == NULL) {
		conn = g_new0(struct mf_connection, 1);
		mf_message_reset(&conn->msg);
		smfi_setpriv(ctx, conn);
	}
	return conn;
}

static bool no_reply(const struct mf_connection *conn, unsigned long flag)
{
	return (conn->protocol & flag) != 0;
}

static const char *queue_id(SMFICTX *ctx)
{
	const char *id = smfi_getsymval(ctx, "i");

	return id != NULL ? id : "NOQUEUE";
}

static sfsistat mf_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
			     unsigned long f2, unsigned long f3,
			     unsigned long *pf0, unsigned long *pf1,
			     unsigned long *pf2, unsigned long *pf3)
{
	/* EOH keeps its reply: without a DATA step it is where foreign mail
	 * is handed back. */
	static const unsigned long wanted = SMFIP_NOCONNECT | SMFIP_NOHELO |
		SMFIP_NOUNKNOWN | SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_HDR |
		SMFIP_NR_BODY | SMFIP_HDR_LEADSPC;
	static const unsigned long needed = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_DELRCPT;
	struct mf_connection *conn = connection(ctx);

	*pf0 = f0 & needed;
	*pf1 = f1 & wanted;
	*pf2 = 0;
	*pf3 = 0;
	conn->protocol = *pf1;
	conn->actions = *pf0;
	if ((f0 & needed) != needed)
		msg_warn("the MTA does not allow header and recipient changes; "
			 "desk mail on this connection will be deferred");
	return SMFIS_CONTINUE;
}

static sfsistat mf_envfrom(SMFICTX *ctx, char **argv)
{
	struct mf_connection *conn = connection(ctx);

	mf_message_reset(&conn->msg);
	conn->msg.sender = g_strdup(argv[0] != NULL ? argv[0] : "");
	conn->msg.from_desk = (intake_desk_role(&mf_state.intake, conn->msg.sender, NULL) &
			       DESK_BOUNCE) != 0;
	return mf_verdict(ctx, MF_CONTINUE, NULL, NULL, NULL,
			  no_reply(conn, SMFIP_NR_MAIL));
}

static sfsistat mf_envrcpt(SMFICTX *ctx, char **argv)
{
	struct mf_connection *conn = connection(ctx);
	const char *rcpt = argv[0] != NULL ? argv[0] : "";

	g_ptr_array_add(conn->msg.recipients, g_strdup(rcpt));
	if (!conn->msg.from_desk && intake_desk_role(&mf_state.intake, rcpt, NULL) != DESK_NONE)
		conn->msg.for_desk = true;
	else
		conn->msg.all_desk = false;
	return mf_verdict(ctx, MF_CONTINUE, NULL, NULL, NULL,
			  no_reply(conn, SMFIP_NR_RCPT));
}

static sfsistat mf_data(SMFICTX *ctx)
{
	struct mf_connection *conn = connection(ctx);

	if (!conn->msg.for_desk)
		return mf_verdict(ctx, MF_NOT_FOR_DESK, NULL, NULL, NULL, false);
	return mf_verdict(ctx, MF_CONTINUE, NULL, NULL, NULL, false);
}

/* Appends to the raw copy, up to one byte past the size cap. */
static void append_raw(struct mf_message *m, const void *data, size_t len)
{
	size_t cap = mf_state.intake.limits.message_size + 1;

	if (m->too_big || m->raw->len + m->trust_bytes + len > cap) {
		m->too_big = true;
		return;
	}
	g_byte_array_append(m->raw, data, (guint)len);
}

static sfsistat mf_header(SMFICTX *ctx, char *name, char *value)
{
	struct mf_connection *conn = connection(ctx);
	struct mf_message *m = &conn->msg;
	char *key;
	int count;

	if (!m->for_desk)
		return mf_verdict(ctx, MF_CONTINUE, NULL, NULL, NULL,
				  no_reply(conn, SMFIP_NR_HDR));
	key = g_ascii_strdown(name, -1);
	count = GPOINTER_TO_INT(g_hash_table_lookup(m->header_counts, key)) + 1;
	g_hash_table_replace(m->header_counts, key, GINT_TO_POINTER(count));
	if (intake_is_trust_header(name)) {
		/* Not kept, but counted toward the size cap all the same. */
		m->trust_bytes += strlen(name) + strlen(value) + 4;
		if (m->trust_headers->len < MAX_TRUST_HEADERS) {
			struct mf_trust_header th = { g_strdup(name), count };

			g_array_append_val(m->trust_headers, th);
		} else {
			m->too_many_trust_headers = true;
		}
	} else {
		append_raw(m, name, strlen(name));
		append_raw(m, ":", 1);
		if (!no_reply(conn, SMFIP_HDR_LEADSPC))
			append_raw(m, " ", 1);
		append_raw(m, value, strlen(value));
		append_raw(m, "\r\n", 2);
	}
	return mf_verdict(ctx, MF_CONTINUE, NULL, NULL, NULL,
			  no_reply(conn, SMFIP_NR_HDR));
}

static sfsistat mf_eoh(SMFICTX *ctx)
{
	struct mf_connection *conn = connection(ctx);

	/* Without a DATA step this is where foreign mail is handed back. */
	if (!conn->msg.for_desk)
		return mf_verdict(ctx, MF_NOT_FOR_DESK, NULL, NULL, NULL, false);
	append_raw(&conn->msg, "\r\n", 2);
	return mf_verdict(ctx, MF_CONTINUE, NULL, NULL, NULL,
			  no_reply(conn, SMFIP_NR_EOH));
}

static sfsistat mf_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	struct mf_connection *conn = connection(ctx);

	append_raw(&conn->msg, chunk, len);
	return mf_verdict(ctx, MF_CONTINUE, NULL, NULL, NULL,
			  no_reply(conn, SMFIP_NR_BODY));
}

/*
 * After the commit: remove trust headers and label the delivered copy, or
 * (discard mode) take the desk recipients off a mail that also goes
 * elsewhere. Returns false if the MTA refused a change.
 */
static bool rewrite_message(SMFICTX *ctx, const struct mf_message *m,
			    const struct spool_entry *e, const char *qid)
{
	const char *case_number = e->case_subject != NULL ? e->case_subject
							   : e->case_body;
	bool ok = true;

	for (guint i = m->trust_headers->len; i > 0; i--) {
		const struct mf_trust_header *th =
			&g_array_index(m->trust_headers, struct mf_trust_header, i - 1);

		ok &= smfi_chgheader(ctx, th->name, th->index, NULL) == MI_SUCCESS;
	}
	if (mf_state.discard_after_capture) {
		for (guint i = 0; !m->all_desk && i < m->recipients->len; i++) {
			char *rcpt = g_ptr_array_index(m->recipients, i);

			if (intake_desk_role(&mf_state.intake, rcpt, NULL) != DESK_NONE)
				ok &= smfi_delrcpt(ctx, rcpt) == MI_SUCCESS;
		}
	} else {
		if (case_number != NULL)
			ok &= smfi_addheader(ctx, "X-Todoke-Case", (char *)case_number) ==
			      MI_SUCCESS;
		ok &= smfi_addheader(ctx, "X-Todoke-Class",
				     (char *)spool_class_name(e->classification)) ==
		      MI_SUCCESS;
	}
	if (!ok)
		msg_error("%s: the MTA refused a header or recipient change", qid);
	return ok;
}

static sfsistat mf_eom(SMFICTX *ctx)
{
	struct mf_connection *conn = connection(ctx);
	struct mf_message *m = &conn->msg;
	const char *qid = queue_id(ctx);
	struct intake_envelope env = {
		.queue_id = qid,
		.sender = m->sender,
		.recipients = (const char *const *)m->recipients->pdata,
		.n_recipients = m->recipients->len,
		.received = tdk_clock_now(&mf_state.clock),
	};
	struct intake_result result;
	struct spool_entry *entry = NULL;
	gint64 started = g_get_monotonic_time();
	char text[256];
	sfsistat verdict;
	tdk_err err;
	int rc;

	if ((conn->actions & (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_DELRCPT)) !=
	    (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_DELRCPT)) {
		msg_error("%s: deferred: the MTA does not allow header and recipient changes",
			  qid);
		verdict = mf_verdict(ctx, MF_TEMPFAIL, NULL, NULL,
				     "todoke: milter configuration error, try again later",
				     false);
		goto out;
	}
	if (m->too_many_trust_headers) {
		snprintf(text, sizeof text, "todoke: more than %d X-Todoke-* headers",
			 MAX_TRUST_HEADERS);
		msg_info("%s: refused: %s", qid, text);
		verdict = mf_verdict(ctx, MF_REFUSED_LIMIT, "554", "5.6.0", text, false);
		goto out;
	}
	if (m->too_big) {
		snprintf(text, sizeof text, "todoke: message exceeds the limit of %zu bytes",
			 mf_state.intake.limits.message_size);
		msg_info("%s: refused: %s", qid, text);
		verdict = mf_verdict(ctx, MF_REFUSED_LIMIT, "552", "5.3.4", text, false);
		goto out;
	}
	rc = intake_process(&mf_state.intake, mf_state.pgp, m->raw->data, m->raw->len,
			    &env, &entry, &result, &err);
	if (rc != TDK_OK) {
		msg_error("%s: intake failed: %s", qid, err.text);
		verdict = mf_verdict(ctx, MF_TEMPFAIL, NULL, NULL,
				     "todoke: cannot process the message now, try again later",
				     false);
		goto out;
	}
	if (result.verdict == INTAKE_REJECT_LIMIT) {
		snprintf(text, sizeof text, "todoke: %s", result.reason);
		msg_info("%s: refused: %s", qid, result.reason);
		verdict = mf_verdict(ctx, MF_REFUSED_LIMIT, result.smtp_code,
				     result.smtp_xcode, text, false);
		goto out;
	}
	rc = spool_put(mf_state.spool, entry, &err);
	if (rc != TDK_OK) {
		msg_error("%s: cannot spool: %s", qid, err.text);
		verdict = mf_verdict(ctx, MF_TEMPFAIL, NULL, NULL,
				     rc == TDK_EFULL ? "todoke: intake spool full, try again later"
						     : "todoke: intake spool unavailable, try again later",
				     false);
		goto out;
	}
	msg_info("%s: spooled entry %llu class=%s case=%s crypto=%s eom=%.3fms", qid,
		 (unsigned long long)entry->id, spool_class_name(entry->classification),
		 entry->case_subject != NULL ? entry->case_subject
		 : entry->case_body != NULL ? entry->case_body : "-",
		 spool_crypto_name(entry->crypto),
		 (double)(g_get_monotonic_time() - started) / 1000.0);
	/* The mail is safe in the spool; a refused change cannot lose it. */
	rewrite_message(ctx, m, entry, qid);
	verdict = mf_verdict(ctx, mf_state.discard_after_capture && !m->all_desk
				      ? MF_SPOOLED_SHARED : MF_SPOOLED,
			     NULL, NULL, NULL, false);
out:
	spool_entry_free(entry);
	mf_message_reset(m);
	return verdict;
}

static sfsistat mf_abort(SMFICTX *ctx)
{
	struct mf_connection *conn = smfi_getpriv(ctx);

	if (conn != NULL)
		mf_message_reset(&conn->msg);
	return SMFIS_CONTINUE;
}

static sfsistat mf_close(SMFICTX *ctx)
{
	struct mf_connection *conn = smfi_getpriv(ctx);

	if (conn != NULL) {
		mf_message_free(&conn->msg);
		g_free(conn);
		smfi_setpriv(ctx, NULL);
	}
	return SMFIS_CONTINUE;
}

struct smfiDesc mf_filter = {
	.xxfi_name = "todoke-milter",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_DELRCPT,
	.xxfi_envfrom = mf_envfrom,
	.xxfi_envrcpt = mf_envrcpt,
	.xxfi_header = mf_header,
	.xxfi_eoh = mf_eoh,
	.xxfi_body = mf_body,
	.xxfi_eom = mf_eom,
	.xxfi_abort = mf_abort,
	.xxfi_close = mf_close,
	.xxfi_data = mf_data,
	.xxfi_negotiate = mf_negotiate,
};
