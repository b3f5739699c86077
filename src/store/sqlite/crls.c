/* crls.c - SQLite: published CRLs. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "store/sqlite/sqlite.h"

static const char sql_max[] = "SELECT coalesce(max(number), 0) FROM crls WHERE issuer = ?1";
static const char sql_insert[] = "INSERT INTO crls (issuer, number, this_update, next_update, der)"
                                 " VALUES (?1, ?2, ?3, ?4, ?5)";
static const char sql_latest[] = "SELECT number, this_update, next_update, der FROM crls"
                                 " WHERE issuer = ?1 ORDER BY number DESC LIMIT 1";

mca_rc
mca_sq_crl_max_number(void *impl, const char *issuer, int64_t *number, struct mca_error *err)
{
	struct mca_sq *c = impl;
	sqlite3_stmt *s = mca_sq_stmt(c, sql_max, err);
	mca_rc rc = MCA_OK;

	if (s == NULL)
		return MCA_ERR_DB;
	sqlite3_bind_text(s, 1, issuer, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		*number = sqlite3_column_int64(s, 0);
	else
		rc = mca_sq_err(c, err);
	sqlite3_reset(s);
	return rc;
}

mca_rc
mca_sq_crl_insert(void *impl, const char *issuer, int64_t number, int64_t this_update,
                  int64_t next_update, const unsigned char *der, size_t der_len,
                  struct mca_error *err)
{
	struct mca_sq *c = impl;
	sqlite3_stmt *s = mca_sq_stmt(c, sql_insert, err);

	if (s == NULL)
		return MCA_ERR_DB;
	sqlite3_bind_text(s, 1, issuer, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, number);
	sqlite3_bind_int64(s, 3, this_update);
	sqlite3_bind_int64(s, 4, next_update);
	sqlite3_bind_blob(s, 5, der, (int)der_len, SQLITE_STATIC);
	return mca_sq_done(c, s, err);
}

mca_rc
mca_sq_crl_latest(void *impl, const char *issuer, struct mca_crl_rec *out, struct mca_error *err)
{
	struct mca_sq *c = impl;
	sqlite3_stmt *s = mca_sq_stmt(c, sql_latest, err);
	int step;
	mca_rc rc = MCA_OK;

	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return MCA_ERR_DB;
	sqlite3_bind_text(s, 1, issuer, -1, SQLITE_STATIC);
	step = sqlite3_step(s);
	if (step == SQLITE_ROW) {
		out->number = sqlite3_column_int64(s, 0);
		out->this_update = sqlite3_column_int64(s, 1);
		out->next_update = sqlite3_column_int64(s, 2);
		out->der_len = (size_t)sqlite3_column_bytes(s, 3);
		out->der = malloc(out->der_len ? out->der_len : 1);
		if (out->der == NULL)
			rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		else
			memcpy(out->der, sqlite3_column_blob(s, 3), out->der_len);
	} else if (step == SQLITE_DONE) {
		rc = mca_error_set(err, MCA_ERR_NOTFOUND, "no %s CRL published yet", issuer);
	} else {
		rc = mca_sq_err(c, err);
	}
	sqlite3_reset(s);
	return rc;
}

static const char sql_prune[] = "UPDATE crls SET der = x'' WHERE issuer = ?1 AND number < ?2"
                                " AND length(der) > 0";

mca_rc
mca_sq_crl_prune(void *impl, const char *issuer, int64_t below, struct mca_error *err)
{
	struct mca_sq *c = impl;
	sqlite3_stmt *s = mca_sq_stmt(c, sql_prune, err);

	if (s == NULL)
		return MCA_ERR_DB;
	sqlite3_bind_text(s, 1, issuer, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, below);
	return mca_sq_done(c, s, err);
}

static const char sql_latest_info[] =
    "SELECT number, this_update, next_update, length(der) FROM crls"
    " WHERE issuer = ?1 ORDER BY number DESC LIMIT 1";

mca_rc
mca_sq_crl_latest_info(void *impl, const char *issuer, struct mca_crl_rec *out,
                       struct mca_error *err)
{
	struct mca_sq *c = impl;
	sqlite3_stmt *s = mca_sq_stmt(c, sql_latest_info, err);
	int step;
	mca_rc rc = MCA_OK;

	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return MCA_ERR_DB;
	sqlite3_bind_text(s, 1, issuer, -1, SQLITE_STATIC);
	step = sqlite3_step(s);
	if (step == SQLITE_ROW) {
		out->number = sqlite3_column_int64(s, 0);
		out->this_update = sqlite3_column_int64(s, 1);
		out->next_update = sqlite3_column_int64(s, 2);
		out->der_len = (size_t)sqlite3_column_int64(s, 3);
	} else if (step == SQLITE_DONE) {
		rc = mca_error_set(err, MCA_ERR_NOTFOUND, "no %s CRL published yet", issuer);
	} else {
		rc = mca_sq_err(c, err);
	}
	sqlite3_reset(s);
	return rc;
}

/* ---- pre-encoded entries ---- */

static const char sql_issuer_add[] = "INSERT OR IGNORE INTO crl_issuers (dn) VALUES (?1)";
static const char sql_entry_add[] =
    "INSERT INTO crl_entries (issuer_id, key, not_after, shard, seq, entry)"
    " VALUES ((SELECT id FROM crl_issuers WHERE dn = ?1), ?2, ?3, ?4,"
    " (SELECT coalesce(max(seq), 0) + 1 FROM crl_entries), ?5)";
#define ENTRY_COLUMNS "SELECT key, not_after, shard, seq, entry FROM crl_entries"
#define OF_ISSUER     " issuer_id = (SELECT id FROM crl_issuers WHERE dn = ?1)"
static const char sql_entries_all[] =
    ENTRY_COLUMNS " WHERE" OF_ISSUER " AND not_after > ?2 ORDER BY issuer_id, key";
static const char sql_entries_shard[] =
    ENTRY_COLUMNS " WHERE" OF_ISSUER " AND shard = ?3 AND not_after > ?2 ORDER BY issuer_id, key";
/* By the seq index: "+issuer_id" keeps the planner off the primary key (a full scan). */
static const char sql_entries_after[] = ENTRY_COLUMNS
    " WHERE seq > ?2 AND +issuer_id = (SELECT id FROM crl_issuers WHERE dn = ?1) ORDER BY seq";

mca_rc
mca_sq_crl_entry_add(void *impl, const struct mca_crl_entry_row *r, struct mca_error *err)
{
	struct mca_sq *c = impl;
	sqlite3_stmt *s = mca_sq_stmt(c, sql_issuer_add, err);
	mca_rc rc;

	if (s == NULL)
		return MCA_ERR_DB;
	sqlite3_bind_text(s, 1, r->issuer, -1, SQLITE_STATIC);
	if ((rc = mca_sq_done(c, s, err)) != MCA_OK)
		return rc;
	if ((s = mca_sq_stmt(c, sql_entry_add, err)) == NULL)
		return MCA_ERR_DB;
	sqlite3_bind_text(s, 1, r->issuer, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 2, r->key, (int)r->key_len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, r->not_after);
	if (r->shard >= 0)
		sqlite3_bind_int(s, 4, r->shard);
	sqlite3_bind_blob(s, 5, r->entry, (int)r->entry_len, SQLITE_STATIC);
	return mca_sq_done(c, s, err);
}

/* Step `s` (columns as sql_entries_*) and hand each row to cb. */
static mca_rc
entries_walk(struct mca_sq *c, sqlite3_stmt *s, const char *issuer, mca_crl_entry_cb cb, void *arg,
             struct mca_error *err)
{
	struct mca_crl_entry_row r;
	int step;
	mca_rc rc = MCA_OK;

	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		r.issuer = issuer;
		r.key = sqlite3_column_blob(s, 0);
		r.key_len = (size_t)sqlite3_column_bytes(s, 0);
		r.not_after = sqlite3_column_int64(s, 1);
		r.shard = sqlite3_column_type(s, 2) == SQLITE_NULL ? -1 : sqlite3_column_int(s, 2);
		r.seq = sqlite3_column_int64(s, 3);
		r.entry = sqlite3_column_blob(s, 4);
		r.entry_len = (size_t)sqlite3_column_bytes(s, 4);
		if (cb(arg, &r) != 0) {
			rc = mca_error_set(err, MCA_ERR_INTERNAL, "CRL entry walk failed");
			break;
		}
	}
	if (rc == MCA_OK && step != SQLITE_DONE)
		rc = mca_sq_err(c, err);
	sqlite3_reset(s);
	return rc;
}

mca_rc
mca_sq_crl_entries(void *impl, const char *issuer_dn, int shard, int64_t since, mca_crl_entry_cb cb,
                   void *arg, struct mca_error *err)
{
	struct mca_sq *c = impl;
	sqlite3_stmt *s = mca_sq_stmt(c, shard < 0 ? sql_entries_all : sql_entries_shard, err);

	if (s == NULL)
		return MCA_ERR_DB;
	sqlite3_bind_text(s, 1, issuer_dn, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, since);
	if (shard >= 0)
		sqlite3_bind_int(s, 3, shard);
	return entries_walk(c, s, issuer_dn, cb, arg, err);
}

mca_rc
mca_sq_crl_entries_after(void *impl, const char *issuer_dn, int64_t after, mca_crl_entry_cb cb,
                         void *arg, struct mca_error *err)
{
	struct mca_sq *c = impl;
	sqlite3_stmt *s = mca_sq_stmt(c, sql_entries_after, err);

	if (s == NULL)
		return MCA_ERR_DB;
	sqlite3_bind_text(s, 1, issuer_dn, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, after);
	return entries_walk(c, s, issuer_dn, cb, arg, err);
}

/* The row of the highest seq stays: the next seq is max + 1, and must never go back. */
static const char sql_entries_purge[] =
    "DELETE FROM crl_entries WHERE" OF_ISSUER " AND not_after <= ?2"
    " AND seq < (SELECT max(seq) FROM crl_entries)";

mca_rc
mca_sq_crl_entries_purge(void *impl, const char *issuer_dn, int64_t before, int64_t *n,
                         struct mca_error *err)
{
	struct mca_sq *c = impl;
	sqlite3_stmt *s = mca_sq_stmt(c, sql_entries_purge, err);
	int changed = 0;
	mca_rc rc;

	*n = 0;
	if (s == NULL)
		return MCA_ERR_DB;
	sqlite3_bind_text(s, 1, issuer_dn, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, before);
	rc = mca_sq_changes(c, s, &changed, err);
	*n = changed;
	return rc;
}
