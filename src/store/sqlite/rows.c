/* rows.c - SQLite: raw rows of a table, for copying a database (backend.h, copy.c). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite/sqlite.h"

/* "c1, c2, ..." into buf; 0 when it does not fit. */
static int
col_list(const char *const *cols, size_t n, char *buf, size_t len)
{
	size_t i, used = 0;
	int k;

	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		k = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", cols[i]);
		if (k < 0 || (size_t)k >= len - used)
			return 0;
		used += (size_t)k;
	}
	return 1;
}

mca_rc
mca_sq_rows(void *impl, const char *table, const char *const *cols, size_t ncols,
            int (*cb)(void *arg, const struct mca_store_val *v), void *arg, struct mca_error *err)
{
	struct mca_sq *c = impl;
	struct mca_store_val v[MCA_SQ_COPY_COLS];
	sqlite3_stmt *s = NULL;
	char list[1024], sql[1200];
	size_t i;
	int step;
	mca_rc rc = MCA_OK;

	if (ncols > MCA_SQ_COPY_COLS || !col_list(cols, ncols, list, sizeof(list)))
		return mca_error_set(err, MCA_ERR_INTERNAL, "%s: too many columns", table);
	/* The order of insertion: ACME lists authorizations and challenges in it. */
	snprintf(sql, sizeof(sql), "SELECT %s FROM %s ORDER BY rowid", list, table);
	if (sqlite3_prepare_v2(c->db, sql, -1, &s, NULL) != SQLITE_OK)
		return mca_sq_err(c, err);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		for (i = 0; i < ncols; i++) {
			memset(&v[i], 0, sizeof(v[i]));
			switch (sqlite3_column_type(s, (int)i)) {
			case SQLITE_NULL:
				v[i].type = MCA_VAL_NULL;
				break;
			case SQLITE_INTEGER:
				v[i].type = MCA_VAL_INT;
				v[i].i = sqlite3_column_int64(s, (int)i);
				break;
			case SQLITE_BLOB:
				v[i].type = MCA_VAL_BLOB;
				v[i].p = sqlite3_column_blob(s, (int)i);
				v[i].len = (size_t)sqlite3_column_bytes(s, (int)i);
				break;
			default: /* text (the schema has no REAL column) */
				v[i].type = MCA_VAL_TEXT;
				v[i].p = sqlite3_column_text(s, (int)i);
				break;
			}
		}
		if (cb(arg, v) != 0) {
			rc =
			    mca_error_set(err, MCA_ERR_INTERNAL, "%s: copying a row failed", table);
			break;
		}
	}
	if (rc == MCA_OK && step != SQLITE_DONE)
		rc = mca_sq_err(c, err);
	sqlite3_finalize(s);
	return rc;
}

mca_rc
mca_sq_row_put(void *impl, const char *table, const char *const *cols, size_t ncols,
               const struct mca_store_val *v, struct mca_error *err)
{
	struct mca_sq *c = impl;
	sqlite3_stmt *s = NULL;
	char list[1024], marks[256], sql[1400];
	size_t i;

	if (ncols > MCA_SQ_COPY_COLS || !col_list(cols, ncols, list, sizeof(list)))
		return mca_error_set(err, MCA_ERR_INTERNAL, "%s: too many columns", table);
	for (i = 0; i < ncols; i++)
		memcpy(marks + 2 * i, i ? ",?" : " ?", 2);
	marks[2 * ncols] = '\0';
	snprintf(sql, sizeof(sql), "INSERT INTO %s (%s) VALUES (%s)", table, list, marks + 1);
	if (sqlite3_prepare_v2(c->db, sql, -1, &s, NULL) != SQLITE_OK)
		return mca_sq_err(c, err);
	for (i = 0; i < ncols; i++) {
		int k = (int)i + 1;

		if (v[i].type == MCA_VAL_INT)
			sqlite3_bind_int64(s, k, v[i].i);
		else if (v[i].type == MCA_VAL_TEXT)
			sqlite3_bind_text(s, k, v[i].p, -1, SQLITE_STATIC);
		else if (v[i].type == MCA_VAL_BLOB)
			sqlite3_bind_blob(s, k, v[i].p, (int)v[i].len, SQLITE_STATIC);
		else
			sqlite3_bind_null(s, k);
	}
	{
		mca_rc rc = mca_sq_done(c, s, err);

		sqlite3_finalize(s);
		return rc;
	}
}

mca_rc
mca_sq_rows_end(void *impl, const char *table, struct mca_error *err)
{
	/* AUTOINCREMENT follows explicit ids by itself (sqlite_sequence). */
	(void)impl;
	(void)table;
	(void)err;
	return MCA_OK;
}
