/* validations.c - SQLite: domain validation attempts (ACME, offline issuance). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "store/sqlite/sqlite.h"

static const char sql_current[] =
    "SELECT method FROM validations WHERE name = ?1 AND outcome = 'valid'"
    " AND validated_at >= ?2 AND (?3 IS NULL OR account = ?3)";
static const char sql_add[] =
    "INSERT INTO validations (name, method, validated_at, outcome, error, account)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

mca_rc
mca_sq_validation_current(void *impl, const char *name, const char *const *methods, int64_t since,
                          const char *account, int *found, char *method, struct mca_error *err)
{
	struct mca_sq *c = impl;
	sqlite3_stmt *s = mca_sq_stmt(c, sql_current, err);
	const char *m;
	size_t i;
	int step = SQLITE_DONE;
	mca_rc rc = MCA_OK;

	*found = 0;
	if (s == NULL)
		return MCA_ERR_DB;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, since);
	if (account != NULL)
		sqlite3_bind_text(s, 3, account, -1, SQLITE_STATIC);
	while (!*found && (step = sqlite3_step(s)) == SQLITE_ROW) {
		m = (const char *)sqlite3_column_text(s, 0);
		for (i = 0; methods[i] != NULL && m != NULL; i++)
			if (strcmp(methods[i], m) == 0) {
				*found = 1;
				if (method != NULL)
					snprintf(method, 16, "%s", m);
			}
	}
	if (!*found && step != SQLITE_DONE)
		rc = mca_sq_err(c, err);
	sqlite3_reset(s);
	return rc;
}

mca_rc
mca_sq_validation_add(void *impl, const char *name, const char *method, int64_t at, int valid,
                      const char *error, const char *account, struct mca_error *err)
{
	struct mca_sq *c = impl;
	sqlite3_stmt *s = mca_sq_stmt(c, sql_add, err);

	if (s == NULL)
		return MCA_ERR_DB;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, method, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, at);
	sqlite3_bind_text(s, 4, valid ? "valid" : "invalid", -1, SQLITE_STATIC);
	if (error != NULL)
		sqlite3_bind_text(s, 5, error, -1, SQLITE_STATIC);
	if (account != NULL)
		sqlite3_bind_text(s, 6, account, -1, SQLITE_STATIC);
	return mca_sq_done(c, s, err);
}
