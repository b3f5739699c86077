/*
 * crls.c - PostgreSQL: the CRL ops of the partitioned CRLs and of the
 * pre-encoded entries (the same contracts as src/store/sqlite/crls.c, see
 * store.h; tables in sql/pg/0003-crl-entries.sql), and the backfill of
 * migration pg/0003.
 *
 * Seqs: crl_entry_add gives max(seq) + 1.  It runs in the revocation's
 * write transaction, which holds the advisory lock MCA_PG_LOCK_WRITE on
 * every instance (db.c): the max it reads is every committed row's, no
 * other writer can take the same number, and seqs commit in the order
 * they are given, so an in-memory set (ca/crlset.h) that read up to seq N
 * never misses a lower one committed later.  The purge keeps the row of
 * the highest seq, so a seq is never given twice.
 *
 * The entry walks stream (mca_pg_stream: binary rows, one at a time): a
 * CRL of a million entries does not sit in a PGresult.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "pki/crl.h"
#include "store/pg/pg.h"

/* ---- CRL DER and times ----------------------------------------------------- */

static const char sql_prune[] = "UPDATE crls SET der = '\\x'::bytea WHERE issuer = $1"
                                " AND number < $2::bigint AND length(der) > 0";
static const char sql_latest_info[] =
    "SELECT number, this_update, next_update, length(der) FROM crls"
    " WHERE issuer = $1 ORDER BY number DESC LIMIT 1";

mca_rc
mca_pg_crl_prune(void *impl, const char *issuer, int64_t below, struct mca_error *err)
{
	struct mca_pg_params p = {0};

	mca_pg_text(&p, issuer);
	mca_pg_int(&p, below);
	return mca_pg_cmd(impl, sql_prune, &p, NULL, err);
}

mca_rc
mca_pg_crl_latest_info(void *impl, const char *issuer, struct mca_crl_rec *out,
                       struct mca_error *err)
{
	struct mca_pg_params p = {0};
	PGresult *s = NULL;
	mca_rc rc;

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

/* ---- pre-encoded entries --------------------------------------------------- */

static const char sql_issuer_add[] =
    "INSERT INTO crl_issuers (dn) VALUES ($1) ON CONFLICT (dn) DO NOTHING";
static const char sql_entry_add[] =
    "INSERT INTO crl_entries (issuer_id, key, not_after, shard, seq, entry)"
    " VALUES ((SELECT id FROM crl_issuers WHERE dn = $1), $2, $3::bigint, $4::integer,"
    " (SELECT coalesce(max(seq), 0) + 1 FROM crl_entries), $5)";
#define ENTRY_COLUMNS "SELECT key, not_after, shard, seq, entry FROM crl_entries"
#define OF_ISSUER     " issuer_id = (SELECT id FROM crl_issuers WHERE dn = $1)"
static const char sql_entries_all[] =
    ENTRY_COLUMNS " WHERE" OF_ISSUER " AND not_after > $2::bigint ORDER BY issuer_id, key";
static const char sql_entries_shard[] =
    ENTRY_COLUMNS " WHERE" OF_ISSUER " AND shard = $3::integer AND not_after > $2::bigint"
                  " ORDER BY issuer_id, key";
static const char sql_entries_after[] =
    ENTRY_COLUMNS " WHERE" OF_ISSUER " AND seq > $2::bigint ORDER BY seq";
/* The row of the highest seq stays: the next seq is max + 1, and must never go back. */
static const char sql_entries_purge[] =
    "DELETE FROM crl_entries WHERE" OF_ISSUER " AND not_after <= $2::bigint"
    " AND seq < (SELECT max(seq) FROM crl_entries)";

mca_rc
mca_pg_crl_entry_add(void *impl, const struct mca_crl_entry_row *r, struct mca_error *err)
{
	struct mca_pg_params p = {0};
	mca_rc rc;

	mca_pg_text(&p, r->issuer);
	if ((rc = mca_pg_cmd(impl, sql_issuer_add, &p, NULL, err)) != MCA_OK)
		return rc;
	memset(&p, 0, sizeof(p));
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

/* A big-endian integer column of a binary result (BIGINT or INTEGER); 0 for NULL. */
static int64_t
bin_int(const PGresult *s, int col)
{
	const unsigned char *v = (const unsigned char *)PQgetvalue(s, 0, col);
	int len = PQgetlength(s, 0, col), i;
	uint64_t u = 0;

	if (PQgetisnull(s, 0, col) || (len != 4 && len != 8))
		return 0;
	for (i = 0; i < len; i++)
		u = u << 8 | v[i];
	if (len == 4)
		return (int32_t)(uint32_t)u;
	return (int64_t)u;
}

struct walk {
	const char *issuer;
	mca_crl_entry_cb cb;
	void *arg;
	int stopped; /* cb asked to stop */
};

/* One binary row of ENTRY_COLUMNS to the caller's callback. */
static int
walk_row(void *arg, const PGresult *s)
{
	struct walk *w = arg;
	struct mca_crl_entry_row r;

	memset(&r, 0, sizeof(r));
	r.issuer = w->issuer;
	r.key = (const unsigned char *)PQgetvalue(s, 0, 0);
	r.key_len = (size_t)PQgetlength(s, 0, 0);
	r.not_after = bin_int(s, 1);
	r.shard = PQgetisnull(s, 0, 2) ? -1 : (int)bin_int(s, 2);
	r.seq = bin_int(s, 3);
	r.entry = (const unsigned char *)PQgetvalue(s, 0, 4);
	r.entry_len = (size_t)PQgetlength(s, 0, 4);
	if (w->cb(w->arg, &r) != 0) {
		w->stopped = 1;
		return 1;
	}
	return 0;
}

static mca_rc
walk(struct mca_pg *c, const char *sql, const struct mca_pg_params *p, const char *issuer,
     mca_crl_entry_cb cb, void *arg, struct mca_error *err)
{
	struct walk w = {issuer, cb, arg, 0};
	mca_rc rc = mca_pg_stream(c, sql, p, walk_row, &w, err);

	/* the callback's stop reads as SQLite's does */
	if (rc != MCA_OK && w.stopped)
		return mca_error_set(err, MCA_ERR_INTERNAL, "CRL entry walk failed");
	return rc;
}

mca_rc
mca_pg_crl_entries(void *impl, const char *issuer_dn, int shard, int64_t since, mca_crl_entry_cb cb,
                   void *arg, struct mca_error *err)
{
	struct mca_pg_params p = {0};

	mca_pg_text(&p, issuer_dn);
	mca_pg_int(&p, since);
	if (shard >= 0)
		mca_pg_int(&p, shard);
	return walk(impl, shard < 0 ? sql_entries_all : sql_entries_shard, &p, issuer_dn, cb, arg,
	            err);
}

mca_rc
mca_pg_crl_entries_after(void *impl, const char *issuer_dn, int64_t after, mca_crl_entry_cb cb,
                         void *arg, struct mca_error *err)
{
	struct mca_pg_params p = {0};

	mca_pg_text(&p, issuer_dn);
	mca_pg_int(&p, after);
	return walk(impl, sql_entries_after, &p, issuer_dn, cb, arg, err);
}

mca_rc
mca_pg_crl_entries_purge(void *impl, const char *issuer_dn, int64_t before, int64_t *n,
                         struct mca_error *err)
{
	struct mca_pg_params p = {0};
	int changed = 0;
	mca_rc rc;

	*n = 0;
	mca_pg_text(&p, issuer_dn);
	mca_pg_int(&p, before);
	rc = mca_pg_cmd(impl, sql_entries_purge, &p, &changed, err);
	*n = changed;
	return rc;
}

/* ---- migration pg/0003 ----------------------------------------------------- */

/* Plain statements on the migration's connection: the statement cache is not ready yet. */
static mca_rc
exec_params(struct mca_pg *c, const char *sql, int n, const char *const *v, const int *len,
            const int *fmt, PGresult **out, struct mca_error *err)
{
	PGresult *r = PQexecParams(c->conn, sql, n, NULL, v, len, fmt, 0);
	ExecStatusType s = PQresultStatus(r);

	*out = NULL;
	if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) {
		*out = r;
		return MCA_OK;
	}
	{
		mca_rc rc = mca_pg_fail(c, r, err);

		PQclear(r);
		return rc;
	}
}

mca_rc
mca_pg_crl_entries_backfill(struct mca_pg *c, struct mca_error *err)
{
	static const char sql_revoked[] =
	    "SELECT serial, revoked_at, reason, issuer, not_after FROM certificates"
	    " WHERE status = 'revoked'";
	static const char sql_stage[] =
	    "CREATE TEMP TABLE mca_crl_stage (issuer TEXT COLLATE \"C\", key BYTEA,"
	    " not_after BIGINT, entry BYTEA) ON COMMIT DROP";
	static const char sql_put[] = "INSERT INTO mca_crl_stage VALUES ($1, $2, $3::bigint, $4)";
	/* As sql/0006: seqs in the key order of the serials. */
	static const char sql_move[] =
	    "INSERT INTO crl_entries (issuer_id, key, not_after, shard, seq, entry)"
	    " SELECT (SELECT id FROM crl_issuers WHERE dn = issuer), key, not_after, NULL,"
	    " row_number() OVER (ORDER BY key, issuer), entry FROM mca_crl_stage";
	unsigned char der[MCA_CRL_ENTRY_MAX], key[MCA_CRL_KEY_MAX];
	size_t der_len, key_len;
	struct mca_crl_entry e;
	const char *v[4], *reason;
	int len[4] = {0, 0, 0, 0}, fmt[4] = {0, 1, 0, 1}, i, n;
	PGresult *all = NULL, *r = NULL;
	mca_rc rc;

	if ((rc = exec_params(c, sql_revoked, 0, NULL, NULL, NULL, &all, err)) != MCA_OK ||
	    (rc = exec_params(c, sql_stage, 0, NULL, NULL, NULL, &r, err)) != MCA_OK)
		goto out;
	PQclear(r);
	r = NULL;
	n = PQntuples(all);
	for (i = 0; i < n; i++) {
		reason = PQgetisnull(all, i, 2) ? NULL : PQgetvalue(all, i, 2);
		/* a reason this program does not know was recorded as given: unspecified then */
		if (reason != NULL && mca_crl_reason_parse(reason) < 0)
			reason = NULL;
		if (mca_crl_entry_set(&e, PQgetvalue(all, i, 0), mca_pg_i64(all, i, 1), reason,
		                      NULL) != MCA_OK ||
		    mca_crl_entry_encode(&e, der, &der_len, key, &key_len, NULL) != MCA_OK) {
			rc = mca_error_set(err, MCA_ERR_SCHEMA,
			                   "revoked certificate %.64s: no CRL entry can be made of "
			                   "its serial and revocation",
			                   PQgetvalue(all, i, 0));
			goto out;
		}
		v[0] = PQgetvalue(all, i, 3);
		v[1] = (const char *)key;
		len[1] = (int)key_len;
		v[2] = PQgetvalue(all, i, 4);
		v[3] = (const char *)der;
		len[3] = (int)der_len;
		if ((rc = exec_params(c, sql_put, 4, v, len, fmt, &r, err)) != MCA_OK)
			goto out;
		PQclear(r);
		r = NULL;
	}
	rc = exec_params(c, sql_move, 0, NULL, NULL, NULL, &r, err);
out:
	PQclear(r);
	PQclear(all);
	return rc;
}
