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
