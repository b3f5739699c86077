/*
 * crlentries.c - PostgreSQL: the pre-encoded CRL entries (sql/pg/0003),
 * the stored CRLs' sizes without their DER, and the pruning of old DERs
 * (the same statements as src/store/sqlite/crls.c, in PostgreSQL's
 * dialect).  Writers run under the store's write lock (db.c), so the next
 * seq (max + 1) is never taken twice.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "store/pg/pg.h"

#define ENTRY_COLUMNS "SELECT key, not_after, shard, seq, entry FROM crl_entries"
#define OF_ISSUER     " issuer_id = (SELECT id FROM crl_issuers WHERE dn = $1)"

static const char sql_latest_info[] =
    "SELECT number, this_update, next_update, length(der) FROM crls"
    " WHERE issuer = $1 ORDER BY number DESC LIMIT 1";
static const char sql_prune[] = "UPDATE crls SET der = ''::bytea WHERE issuer = $1"
                                " AND number < $2::bigint AND length(der) > 0";
static const char sql_issuer_add[] =
    "INSERT INTO crl_issuers (dn) VALUES ($1) ON CONFLICT (dn) DO NOTHING";
static const char sql_entry_add[] =
    "INSERT INTO crl_entries (issuer_id, key, not_after, shard, seq, entry)"
    " VALUES ((SELECT id FROM crl_issuers WHERE dn = $1), $2, $3::bigint, $4::integer,"
    " (SELECT coalesce(max(seq), 0) + 1 FROM crl_entries), $5)";
static const char sql_entries_all[] =
    ENTRY_COLUMNS " WHERE" OF_ISSUER " AND not_after > $2::bigint ORDER BY key";
static const char sql_entries_shard[] =
    ENTRY_COLUMNS " WHERE" OF_ISSUER " AND shard = $3::integer AND not_after > $2::bigint"
                  " ORDER BY key";
static const char sql_entries_after[] =
    ENTRY_COLUMNS " WHERE seq > $2::bigint AND" OF_ISSUER " ORDER BY seq";
/* The row of the highest seq stays: the next seq is max + 1, and must never go back. */
static const char sql_entries_purge[] =
    "DELETE FROM crl_entries WHERE" OF_ISSUER " AND not_after <= $2::bigint"
    " AND seq < (SELECT max(seq) FROM crl_entries)";

mca_rc
mca_pg_crl_latest_info(void *impl, const char *issuer, struct mca_crl_rec *out,
                       struct mca_error *err)
{
	struct mca_pg_params p = {0};
	PGresult *s = NULL;
	mca_rc rc = MCA_OK;

	memset(out, 0, sizeof(*out));
	mca_pg_text(&p, issuer);
	if ((rc = mca_pg_run(impl, sql_latest_info, &p, &s, err)) != MCA_OK)
		return rc;
	if (PQntuples(s) == 0) {
		rc = mca_error_set(err, MCA_ERR_NOTFOUND, "no %s CRL published yet", issuer);
	} else {
		out->number = mca_pg_i64(s, 0, 0);
		out->this_update = mca_pg_i64(s, 0, 1);
		out->next_update = mca_pg_i64(s, 0, 2);
		out->der_len = (size_t)mca_pg_i64(s, 0, 3);
	}
	PQclear(s);
	return rc;
}

mca_rc
mca_pg_crl_prune(void *impl, const char *issuer, int64_t below, struct mca_error *err)
{
	struct mca_pg_params p = {0};

	mca_pg_text(&p, issuer);
	mca_pg_int(&p, below);
	return mca_pg_cmd(impl, sql_prune, &p, NULL, err);
}

mca_rc
mca_pg_crl_entry_add(void *impl, const struct mca_crl_entry_row *r, struct mca_error *err)
{
	struct mca_pg_params p = {0}, q = {0};
	mca_rc rc;

	mca_pg_text(&q, r->issuer);
	if ((rc = mca_pg_cmd(impl, sql_issuer_add, &q, NULL, err)) != MCA_OK)
		return rc;
	mca_pg_text(&p, r->issuer);
	mca_pg_blob(&p, r->key, r->key_len);
	mca_pg_int(&p, r->not_after);
	if (r->shard >= 0)
		mca_pg_int(&p, r->shard);
	else
		mca_pg_null(&p);
	mca_pg_blob(&p, r->entry, r->entry_len);
	return mca_pg_cmd(impl, sql_entry_add, &p, NULL, err);
}

/* Hand each row of `s` (ENTRY_COLUMNS) to cb. */
static mca_rc
walk(PGresult *s, const char *issuer, mca_crl_entry_cb cb, void *arg, struct mca_error *err)
{
	struct mca_crl_entry_row r;
	unsigned char *key, *entry;
	int i, n = PQntuples(s);
	mca_rc rc = MCA_OK;

	for (i = 0; i < n && rc == MCA_OK; i++) {
		memset(&r, 0, sizeof(r));
		r.issuer = issuer;
		r.key = key = mca_pg_bytes(s, i, 0, &r.key_len);
		r.not_after = mca_pg_i64(s, i, 1);
		r.shard = PQgetisnull(s, i, 2) ? -1 : (int)mca_pg_i64(s, i, 2);
		r.seq = mca_pg_i64(s, i, 3);
		r.entry = entry = mca_pg_bytes(s, i, 4, &r.entry_len);
		if (key == NULL || entry == NULL)
			rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		else if (cb(arg, &r) != 0)
			rc = mca_error_set(err, MCA_ERR_INTERNAL, "CRL entry walk failed");
		free(key);
		free(entry);
	}
	return rc;
}

mca_rc
mca_pg_crl_entries(void *impl, const char *issuer_dn, int shard, int64_t since, mca_crl_entry_cb cb,
                   void *arg, struct mca_error *err)
{
	struct mca_pg_params p = {0};
	PGresult *s = NULL;
	mca_rc rc;

	mca_pg_text(&p, issuer_dn);
	mca_pg_int(&p, since);
	if (shard >= 0)
		mca_pg_int(&p, shard);
	if ((rc = mca_pg_run(impl, shard >= 0 ? sql_entries_shard : sql_entries_all, &p, &s,
	                     err)) != MCA_OK)
		return rc;
	rc = walk(s, issuer_dn, cb, arg, err);
	PQclear(s);
	return rc;
}

mca_rc
mca_pg_crl_entries_after(void *impl, const char *issuer_dn, int64_t after, mca_crl_entry_cb cb,
                         void *arg, struct mca_error *err)
{
	struct mca_pg_params p = {0};
	PGresult *s = NULL;
	mca_rc rc;

	mca_pg_text(&p, issuer_dn);
	mca_pg_int(&p, after);
	if ((rc = mca_pg_run(impl, sql_entries_after, &p, &s, err)) != MCA_OK)
		return rc;
	rc = walk(s, issuer_dn, cb, arg, err);
	PQclear(s);
	return rc;
}

mca_rc
mca_pg_crl_entries_purge(void *impl, const char *issuer_dn, int64_t before, int64_t *n,
                         struct mca_error *err)
{
	struct mca_pg_params p = {0};
	int changed = 0;
	mca_rc rc;

	mca_pg_text(&p, issuer_dn);
	mca_pg_int(&p, before);
	rc = mca_pg_cmd(impl, sql_entries_purge, &p, &changed, err);
	*n = changed;
	return rc;
}
