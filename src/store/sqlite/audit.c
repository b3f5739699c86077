/* audit.c - SQLite: the audit trail (append only). */
#include "config.h"

#include "common/util.h"
#include "store/sqlite/sqlite.h"

static const char sql_insert[] =
    "INSERT INTO audit (at, actor, action, serial, detail) VALUES (?1, ?2, ?3, ?4, ?5)";

mca_rc
mca_sq_audit(void *impl, const char *actor, const char *action, const char *serial,
             const char *detail_json, struct mca_error *err)
{
	struct mca_sq *c = impl;
	sqlite3_stmt *s = mca_sq_stmt(c, sql_insert, err);

	if (s == NULL)
		return MCA_ERR_DB;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)mca_now());
	sqlite3_bind_text(s, 2, actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, action, -1, SQLITE_STATIC);
	if (serial != NULL)
		sqlite3_bind_text(s, 4, serial, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, detail_json ? detail_json : "{}", -1, SQLITE_STATIC);
	return mca_sq_done(c, s, err);
}

static const char sql_list[] = "SELECT id, at, actor, action, serial, detail FROM audit"
                               " WHERE id > ?1 ORDER BY id";

mca_rc
mca_sq_audit_list(void *impl, int64_t after_id, int (*cb)(void *arg, const struct mca_audit_rec *r),
                  void *arg, struct mca_error *err)
{
	struct mca_sq *c = impl;
	sqlite3_stmt *s = mca_sq_stmt(c, sql_list, err);
	struct mca_audit_rec r;
	int step = SQLITE_DONE, stop = 0;
	mca_rc rc = MCA_OK;

	if (s == NULL)
		return MCA_ERR_DB;
	sqlite3_bind_int64(s, 1, after_id);
	while (!stop && (step = sqlite3_step(s)) == SQLITE_ROW) {
		r.id = sqlite3_column_int64(s, 0);
		r.at = sqlite3_column_int64(s, 1);
		r.actor = (const char *)sqlite3_column_text(s, 2);
		r.action = (const char *)sqlite3_column_text(s, 3);
		r.serial = (const char *)sqlite3_column_text(s, 4);
		r.detail = (const char *)sqlite3_column_text(s, 5);
		if (r.actor == NULL || r.action == NULL || r.detail == NULL) {
			rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
			break;
		}
		stop = cb(arg, &r);
	}
	if (rc == MCA_OK && !stop && step != SQLITE_DONE)
		rc = mca_sq_err(c, err);
	sqlite3_reset(s);
	return rc;
}
