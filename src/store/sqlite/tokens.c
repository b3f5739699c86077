/* tokens.c - SQLite: enrollment token rows (token.h holds the logic). */
#include "config.h"

#include <string.h>

#include "store/sqlite/sqlite.h"

#define TOKEN_COLUMNS                                                                              \
	"id, hash, profile, names, uses_left, uses_total, expires_at, created_at,"                 \
	" coalesce(revoked_at, 0), created_by"

static const char sql_insert[] =
    "INSERT INTO tokens (id, hash, profile, names, uses_left, uses_total, expires_at,"
    " created_at, created_by) VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7, ?8)";
static const char sql_get[] = "SELECT " TOKEN_COLUMNS " FROM tokens WHERE id = ?1";
static const char sql_list[] = "SELECT " TOKEN_COLUMNS " FROM tokens ORDER BY created_at DESC, id";
static const char sql_consume[] =
    "UPDATE tokens SET uses_left = uses_left - 1 WHERE id = ?1 AND uses_left > 0"
    " AND expires_at > ?2 AND revoked_at IS NULL";
static const char sql_refund[] =
    "UPDATE tokens SET uses_left = uses_left + 1 WHERE id = ?1 AND uses_left < uses_total";
static const char sql_revoke[] =
    "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL";
static const char sql_purge[] = "DELETE FROM tokens WHERE expires_at < ?1";

/* Fill a token row from TOKEN_COLUMNS. */
static mca_rc
row_to_token(sqlite3_stmt *s, struct mca_token_row *r, struct mca_error *err)
{
	memset(r, 0, sizeof(*r));
	r->id = mca_sq_col_text(s, 0);
	if (sqlite3_column_bytes(s, 1) == (int)sizeof(r->hash))
		memcpy(r->hash, sqlite3_column_blob(s, 1), sizeof(r->hash));
	r->profile = mca_sq_col_text(s, 2);
	r->names = mca_sq_col_text(s, 3);
	r->uses_left = sqlite3_column_int64(s, 4);
	r->uses_total = sqlite3_column_int64(s, 5);
	r->expires_at = sqlite3_column_int64(s, 6);
	r->created_at = sqlite3_column_int64(s, 7);
	r->revoked_at = sqlite3_column_int64(s, 8);
	r->created_by = mca_sq_col_text(s, 9);
	if (r->id == NULL || r->profile == NULL || r->names == NULL || r->created_by == NULL) {
		mca_token_row_clear(r);
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	}
	return MCA_OK;
}

mca_rc
mca_sq_token_insert(void *impl, const struct mca_token_row *r, struct mca_error *err)
{
	struct mca_sq *c = impl;
	sqlite3_stmt *s = mca_sq_stmt(c, sql_insert, err);

	if (s == NULL)
		return MCA_ERR_DB;
	sqlite3_bind_text(s, 1, r->id, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 2, r->hash, (int)sizeof(r->hash), SQLITE_STATIC);
	sqlite3_bind_text(s, 3, r->profile, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, r->names, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, r->uses_total);
	sqlite3_bind_int64(s, 6, r->expires_at);
	sqlite3_bind_int64(s, 7, r->created_at);
	sqlite3_bind_text(s, 8, r->created_by, -1, SQLITE_STATIC);
	return mca_sq_done(c, s, err);
}

mca_rc
mca_sq_token_get(void *impl, const char *id, struct mca_token_row *out, struct mca_error *err)
{
	struct mca_sq *c = impl;
	sqlite3_stmt *s = mca_sq_stmt(c, sql_get, err);
	int step;
	mca_rc rc;

	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return MCA_ERR_DB;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	step = sqlite3_step(s);
	if (step == SQLITE_ROW)
		rc = row_to_token(s, out, err);
	else if (step == SQLITE_DONE)
		rc = mca_error_set(err, MCA_ERR_NOTFOUND, "no token %s", id);
	else
		rc = mca_sq_err(c, err);
	sqlite3_reset(s);
	return rc;
}

mca_rc
mca_sq_token_consume(void *impl, const char *id, int64_t now, int *taken, struct mca_error *err)
{
	struct mca_sq *c = impl;
	sqlite3_stmt *s = mca_sq_stmt(c, sql_consume, err);

	*taken = 0;
	if (s == NULL)
		return MCA_ERR_DB;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, now);
	return mca_sq_changes(c, s, taken, err);
}

mca_rc
mca_sq_token_refund(void *impl, const char *id, struct mca_error *err)
{
	struct mca_sq *c = impl;
	sqlite3_stmt *s = mca_sq_stmt(c, sql_refund, err);

	if (s == NULL)
		return MCA_ERR_DB;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	return mca_sq_done(c, s, err);
}

mca_rc
mca_sq_token_revoke(void *impl, const char *id, int64_t now, int *changed, struct mca_error *err)
{
	struct mca_sq *c = impl;
	sqlite3_stmt *s = mca_sq_stmt(c, sql_revoke, err);

	*changed = 0;
	if (s == NULL)
		return MCA_ERR_DB;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, now);
	return mca_sq_changes(c, s, changed, err);
}

mca_rc
mca_sq_token_list(void *impl, int (*cb)(void *arg, const struct mca_token_row *r), void *arg,
                  struct mca_error *err)
{
	struct mca_sq *c = impl;
	sqlite3_stmt *s = mca_sq_stmt(c, sql_list, err);
	struct mca_token_row r;
	int step = SQLITE_DONE, stop = 0;
	mca_rc rc = MCA_OK;

	if (s == NULL)
		return MCA_ERR_DB;
	while (!stop && (step = sqlite3_step(s)) == SQLITE_ROW) {
		if ((rc = row_to_token(s, &r, err)) != MCA_OK)
			break;
		stop = cb(arg, &r);
		mca_token_row_clear(&r);
	}
	if (rc == MCA_OK && !stop && step != SQLITE_DONE)
		rc = mca_sq_err(c, err);
	sqlite3_reset(s);
	return rc;
}

mca_rc
mca_sq_token_purge(void *impl, int64_t before, int *n, struct mca_error *err)
{
	struct mca_sq *c = impl;
	sqlite3_stmt *s = mca_sq_stmt(c, sql_purge, err);

	*n = 0;
	if (s == NULL)
		return MCA_ERR_DB;
	sqlite3_bind_int64(s, 1, before);
	return mca_sq_changes(c, s, n, err);
}
