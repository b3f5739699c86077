/* certs.c - SQLite: certificate rows and the revoked walk CRLs are built from. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "store/sqlite/sqlite.h"

#define CERT_COLUMNS                                                                               \
	"serial, issuer, profile, subject, names, not_before, not_after, der, fingerprint,"        \
	" status, revoked_at, reason, requester, created_at, crl_shard"

static const char sql_insert[] =
    "INSERT INTO certificates (serial, issuer, profile, subject, names, not_before,"
    " not_after, der, fingerprint, status, revoked_at, reason, requester, created_at, crl_shard)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'valid', NULL, NULL, ?10, ?11, ?12)";
static const char sql_get[] = "SELECT " CERT_COLUMNS " FROM certificates WHERE serial = ?1";
static const char sql_list[] = "SELECT " CERT_COLUMNS " FROM certificates"
                               " WHERE (?1 IS NULL"
                               "  OR (?1 = 'valid' AND status = 'valid' AND not_after > ?5)"
                               "  OR (?1 = 'expired' AND status = 'valid' AND not_after <= ?5)"
                               "  OR (?1 = 'revoked' AND status = 'revoked'))"
                               " AND (?2 IS NULL OR profile = ?2) AND (?3 IS NULL OR serial > ?3)"
                               " ORDER BY serial LIMIT ?4";
static const char sql_revoked[] =
    "SELECT serial, revoked_at, reason FROM certificates"
    " WHERE status = 'revoked' AND issuer = ?1 AND not_after > ?2 ORDER BY serial";
static const char sql_revoke[] = "UPDATE certificates SET status = 'revoked', revoked_at = ?2,"
                                 " reason = ?3 WHERE serial = ?1 AND status = 'valid'";
static const char sql_exists[] = "SELECT 1 FROM certificates WHERE serial = ?1";

mca_rc
mca_sq_cert_insert(void *impl, const struct mca_cert_rec *r, struct mca_error *err)
{
	struct mca_sq *c = impl;
	sqlite3_stmt *s = mca_sq_stmt(c, sql_insert, err);

	if (s == NULL)
		return MCA_ERR_DB;
	sqlite3_bind_text(s, 1, r->serial, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, r->issuer, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, r->profile, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, r->subject ? r->subject : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, r->names ? r->names : "[]", -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 6, r->not_before);
	sqlite3_bind_int64(s, 7, r->not_after);
	sqlite3_bind_blob(s, 8, r->der, (int)r->der_len, SQLITE_STATIC);
	sqlite3_bind_text(s, 9, r->fingerprint, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 10, r->requester, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 11, r->created_at ? r->created_at : (int64_t)mca_now());
	if (r->crl_shard >= 0)
		sqlite3_bind_int(s, 12, r->crl_shard);
	return mca_sq_done(c, s, err);
}

/* Fill `r` from a row of CERT_COLUMNS. */
static mca_rc
row_to_rec(sqlite3_stmt *s, struct mca_cert_rec *r, struct mca_error *err)
{
	r->serial = mca_sq_col_text(s, 0);
	r->issuer = mca_sq_col_text(s, 1);
	r->profile = mca_sq_col_text(s, 2);
	r->subject = mca_sq_col_text(s, 3);
	r->names = mca_sq_col_text(s, 4);
	r->not_before = sqlite3_column_int64(s, 5);
	r->not_after = sqlite3_column_int64(s, 6);
	r->der_len = (size_t)sqlite3_column_bytes(s, 7);
	r->der = malloc(r->der_len ? r->der_len : 1);
	if (r->der != NULL && r->der_len > 0)
		memcpy(r->der, sqlite3_column_blob(s, 7), r->der_len);
	r->fingerprint = mca_sq_col_text(s, 8);
	r->status = mca_sq_col_text(s, 9);
	r->revoked_at = sqlite3_column_int64(s, 10);
	r->reason = mca_sq_col_text(s, 11);
	r->requester = mca_sq_col_text(s, 12);
	r->created_at = sqlite3_column_int64(s, 13);
	r->crl_shard = sqlite3_column_type(s, 14) == SQLITE_NULL ? -1 : sqlite3_column_int(s, 14);
	if (r->serial == NULL || r->issuer == NULL || r->profile == NULL || r->subject == NULL ||
	    r->names == NULL || r->der == NULL || r->fingerprint == NULL || r->status == NULL ||
	    r->requester == NULL) {
		mca_cert_rec_clear(r);
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	}
	return MCA_OK;
}

mca_rc
mca_sq_cert_get(void *impl, const char *serial, struct mca_cert_rec **out, struct mca_error *err)
{
	struct mca_sq *c = impl;
	struct mca_cert_rec *r = NULL;
	sqlite3_stmt *s;
	int step;
	mca_rc rc;

	*out = NULL;
	s = mca_sq_stmt(c, sql_get, err);
	if (s == NULL)
		return MCA_ERR_DB;
	sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
	step = sqlite3_step(s);
	if (step == SQLITE_DONE) {
		rc = mca_error_set(err, MCA_ERR_NOTFOUND, "no certificate with serial %s", serial);
		goto out;
	}
	if (step != SQLITE_ROW) {
		rc = mca_sq_err(c, err);
		goto out;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = row_to_rec(s, r, err)) != MCA_OK)
		goto out;
	*out = r;
	r = NULL;
out:
	sqlite3_reset(s);
	mca_cert_rec_free(r);
	return rc;
}

mca_rc
mca_sq_cert_list(void *impl, const struct mca_cert_filter *f, mca_cert_cb cb, void *arg,
                 struct mca_error *err)
{
	struct mca_sq *c = impl;
	sqlite3_stmt *s = mca_sq_stmt(c, sql_list, err);
	struct mca_cert_rec r;
	int step;
	mca_rc rc = MCA_OK;

	if (s == NULL)
		return MCA_ERR_DB;
	if (f->status != NULL)
		sqlite3_bind_text(s, 1, f->status, -1, SQLITE_STATIC);
	if (f->profile != NULL)
		sqlite3_bind_text(s, 2, f->profile, -1, SQLITE_STATIC);
	if (f->after != NULL)
		sqlite3_bind_text(s, 3, f->after, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, f->limit > 0 ? f->limit : -1);
	sqlite3_bind_int64(s, 5, f->now ? f->now : (int64_t)mca_now());
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&r, 0, sizeof(r));
		if ((rc = row_to_rec(s, &r, err)) != MCA_OK)
			break;
		step = cb(arg, &r);
		mca_cert_rec_clear(&r);
		if (step != 0) {
			step = SQLITE_DONE;
			break;
		}
	}
	if (rc == MCA_OK && step != SQLITE_DONE)
		rc = mca_sq_err(c, err);
	sqlite3_reset(s);
	return rc;
}

mca_rc
mca_sq_cert_revoke(void *impl, const char *serial, int64_t now, const char *reason, int *changed,
                   struct mca_error *err)
{
	struct mca_sq *c = impl;
	sqlite3_stmt *s = mca_sq_stmt(c, sql_revoke, err);
	int exists;
	mca_rc rc;

	*changed = 0;
	if (s == NULL)
		return MCA_ERR_DB;
	sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, now);
	sqlite3_bind_text(s, 3, reason, -1, SQLITE_STATIC);
	if ((rc = mca_sq_changes(c, s, changed, err)) != MCA_OK || *changed != 0)
		return rc;
	if ((s = mca_sq_stmt(c, sql_exists, err)) == NULL)
		return MCA_ERR_DB;
	sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
	exists = sqlite3_step(s) == SQLITE_ROW;
	sqlite3_reset(s);
	return exists
	           ? MCA_OK
	           : mca_error_set(err, MCA_ERR_NOTFOUND, "no certificate with serial %s", serial);
}

mca_rc
mca_sq_revoked_foreach(void *impl, const char *issuer_dn, int64_t since, mca_revoked_cb cb,
                       void *arg, struct mca_error *err)
{
	struct mca_sq *c = impl;
	sqlite3_stmt *s = mca_sq_stmt(c, sql_revoked, err);
	int step;
	mca_rc rc = MCA_OK;

	if (s == NULL)
		return MCA_ERR_DB;
	sqlite3_bind_text(s, 1, issuer_dn, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, since);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		if (cb(arg, (const char *)sqlite3_column_text(s, 0), sqlite3_column_int64(s, 1),
		       (const char *)sqlite3_column_text(s, 2)) != 0) {
			rc = mca_error_set(err, MCA_ERR_INTERNAL, "revoked list walk failed");
			break;
		}
	}
	if (rc == MCA_OK && step != SQLITE_DONE)
		rc = mca_sq_err(c, err);
	sqlite3_reset(s);
	return rc;
}
