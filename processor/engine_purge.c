/*
 * engine_purge.c - destroying discoverers' personal data (DOMAIN §4.1,
 * A12): which cases are due, the destruction, and the scrub that takes
 * the bytes out of the store and spool files.
 *
 * Owns: engine_purge() (todokectl purge, with or without --dry-run) and
 * engine_scrub() (also called by engine_tick() when a retention timer
 * destroyed personal data). The destruction itself, the same for both,
 * is flow_destroy_personal_data().
 */
#include "config.h"

#include "engine.h"
#include "flow_int.h"
#include "log.h"

int engine_scrub(struct engine *eng, size_t *pages, tdk_err *err)
{
	size_t store_pages = 0, spool_pages = 0;
	int rc = store_scrub(eng->store, &store_pages, err);

	if (rc == TDK_OK && eng->spool != NULL)
		rc = spool_scrub(eng->spool, &spool_pages, err);
	if (pages != NULL)
		*pages = store_pages + spool_pages;
	if (rc == TDK_OK)
		msg_info("personal data destroyed: %zu free pages of the case store "
			 "and %zu of the spool overwritten", store_pages, spool_pages);
	return rc;
}

struct purge_scan {
	struct engine *eng;
	int64_t now;
	engine_purge_fn fn;
	void *ctx;
	GArray *due;  /* case numbers to destroy */
};

static int scan_one(uint64_t number, const struct case_rec *c, void *ctx)
{
	struct purge_scan *ps = ctx;
	const struct case_clock *k;
	struct engine_purge_item it = { .number = number };
	struct pii_rec *pii = NULL;

	if (c == NULL || case_state_is_open(c->state) || c->pii_destroyed != 0)
		return 0;
	k = &c->clocks[CLOCK_RETENTION];
	if (k->start == 0 || case_clock_due(ps->eng->cal, k, &it.due) != TDK_OK)
		return 0;
	it.ended = c->closed != 0 ? c->closed : c->not_accepted;
	it.held = c->hold;
	if (!it.held && it.due > ps->now)
		return 0;
	if (store_pii_get(ps->eng->store, number, &pii, NULL) == TDK_OK) {
		it.name = pii->name != NULL;
		it.address = pii->address != NULL;
		it.postal = pii->postal != NULL;
		it.phone = pii->phone != NULL;
		it.report_bytes = pii->report != NULL ? g_bytes_get_size(pii->report) : 0;
		it.decrypted_bytes = pii->decrypted != NULL ? g_bytes_get_size(pii->decrypted) : 0;
		pii_rec_free(pii);
	}
	if (ps->fn != NULL)
		ps->fn(&it, ps->ctx);
	if (!it.held)
		g_array_append_val(ps->due, number);
	return 0;
}

static int destroy_due(struct engine *eng, int64_t now, const GArray *due,
		       tdk_err *err)
{
	struct store_txn *txn;
	struct flow f;
	int rc = store_begin(eng->store, true, &txn, err);

	if (rc != TDK_OK)
		return rc;
	engine_flow(eng, &f, txn, now, "purge", err);
	for (guint i = 0; rc == TDK_OK && i < due->len; i++) {
		struct case_rec *c = NULL;

		rc = store_case_get(txn, g_array_index(due, uint64_t, i), &c, err);
		if (rc == TDK_OK)
			rc = flow_destroy_personal_data(&f, c);
		if (rc == TDK_OK)
			rc = store_case_put(txn, c, eng->cal, err);
		case_free(c);
	}
	flow_clear(&f);
	if (rc != TDK_OK) {
		store_abort(txn);
		return rc;
	}
	return store_commit(txn, err);
}

int engine_purge(struct engine *eng, int64_t now, bool dry_run, engine_purge_fn fn,
		 void *ctx, size_t *destroyed, tdk_err *err)
{
	struct purge_scan ps = { eng, now, fn, ctx, g_array_new(FALSE, FALSE, sizeof(uint64_t)) };
	struct store_txn *txn;
	int rc = store_begin(eng->store, false, &txn, err);

	*destroyed = 0;
	if (rc == TDK_OK) {
		rc = store_case_foreach(txn, 0, scan_one, &ps, err);
		store_abort(txn);
	}
	if (rc == TDK_OK && !dry_run && ps.due->len > 0) {
		rc = destroy_due(eng, now, ps.due, err);
		if (rc == TDK_OK) {
			*destroyed = ps.due->len;
			rc = engine_scrub(eng, NULL, err);
		}
	}
	g_array_free(ps.due, TRUE);
	return rc;
}
