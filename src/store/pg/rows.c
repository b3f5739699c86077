/* rows.c - PostgreSQL: raw rows of a table, for copying a database (backend.h, copy.c). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/pg/pg.h"

/* Type OIDs of pg_type that come back as other than text. */
#define OID_BYTEA 17
#define OID_INT8  20
#define OID_INT2  21
#define OID_INT4  23

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

/* The order of insertion: the ids of the tables that have one, else the key. */
static const char *
insertion_order(const char *table, const char *first_col)
{
	if (strcmp(table, "acme_authzs") == 0 || strcmp(table, "acme_challenges") == 0)
		return "seq";
	if (strcmp(table, "crls") == 0)
		return "issuer, number";
	return first_col;
}

mca_rc
mca_pg_rows(void *impl, const char *table, const char *const *cols, size_t ncols,
            int (*cb)(void *arg, const struct mca_store_val *v), void *arg, struct mca_error *err)
{
	struct mca_pg *c = impl;
	struct mca_store_val v[MCA_PG_COPY_COLS];
	unsigned char *blob[MCA_PG_COPY_COLS];
	char list[1024], sql[1200];
	PGresult *r = NULL;
	int row, n, stop = 0;
	size_t i;
	mca_rc rc;

	if (ncols == 0 || ncols > MCA_PG_COPY_COLS || !col_list(cols, ncols, list, sizeof(list)))
		return mca_error_set(err, MCA_ERR_INTERNAL, "%s: too many columns", table);
	if ((rc = mca_pg_ensure(c, err)) != MCA_OK)
		return rc;
	snprintf(sql, sizeof(sql), "SELECT %s FROM %s ORDER BY %s", list, table,
	         insertion_order(table, cols[0]));
	r = PQexec(c->conn, sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		rc = mca_pg_fail(c, r, err);
		PQclear(r);
		return rc;
	}
	n = PQntuples(r);
	for (row = 0; row < n && !stop && rc == MCA_OK; row++) {
		memset(blob, 0, sizeof(blob));
		for (i = 0; i < ncols; i++) {
			memset(&v[i], 0, sizeof(v[i]));
			if (PQgetisnull(r, row, (int)i)) {
				v[i].type = MCA_VAL_NULL;
			} else if (PQftype(r, (int)i) == OID_BYTEA) {
				v[i].type = MCA_VAL_BLOB;
				blob[i] = mca_pg_bytes(r, row, (int)i, &v[i].len);
				v[i].p = blob[i];
				if (blob[i] == NULL)
					rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
			} else if (PQftype(r, (int)i) == OID_INT8 ||
			           PQftype(r, (int)i) == OID_INT4 ||
			           PQftype(r, (int)i) == OID_INT2) {
				v[i].type = MCA_VAL_INT;
				v[i].i = mca_pg_i64(r, row, (int)i);
			} else {
				v[i].type = MCA_VAL_TEXT;
				v[i].p = PQgetvalue(r, row, (int)i);
			}
		}
		if (rc == MCA_OK && cb(arg, v) != 0) {
			rc =
			    mca_error_set(err, MCA_ERR_INTERNAL, "%s: copying a row failed", table);
			stop = 1;
		}
		for (i = 0; i < ncols; i++)
			free(blob[i]);
	}
	PQclear(r);
	return rc;
}

mca_rc
mca_pg_row_put(void *impl, const char *table, const char *const *cols, size_t ncols,
               const struct mca_store_val *v, struct mca_error *err)
{
	struct mca_pg *c = impl;
	const char *val[MCA_PG_COPY_COLS];
	int len[MCA_PG_COPY_COLS], fmt[MCA_PG_COPY_COLS];
	char num[MCA_PG_COPY_COLS][24], list[1024], marks[256], sql[1400];
	size_t i, used = 0;
	PGresult *r;
	mca_rc rc;

	if (ncols == 0 || ncols > MCA_PG_COPY_COLS || !col_list(cols, ncols, list, sizeof(list)))
		return mca_error_set(err, MCA_ERR_INTERNAL, "%s: too many columns", table);
	if ((rc = mca_pg_ensure(c, err)) != MCA_OK)
		return rc;
	for (i = 0; i < ncols; i++) {
		used += (size_t)snprintf(marks + used, sizeof(marks) - used, "%s$%zu",
		                         i ? ", " : "", i + 1);
		len[i] = 0;
		fmt[i] = 0;
		switch (v[i].type) {
		case MCA_VAL_INT:
			snprintf(num[i], sizeof(num[i]), "%lld", (long long)v[i].i);
			val[i] = num[i];
			break;
		case MCA_VAL_TEXT:
			val[i] = v[i].p;
			break;
		case MCA_VAL_BLOB:
			val[i] = v[i].p != NULL ? v[i].p : "";
			len[i] = (int)v[i].len;
			fmt[i] = 1;
			break;
		default:
			val[i] = NULL;
			break;
		}
	}
	snprintf(sql, sizeof(sql), "INSERT INTO %s (%s) VALUES (%s)", table, list, marks);
	r = PQexecParams(c->conn, sql, (int)ncols, NULL, val, len, fmt, 0);
	rc = PQresultStatus(r) == PGRES_COMMAND_OK ? MCA_OK : mca_pg_fail(c, r, err);
	PQclear(r);
	return rc;
}

mca_rc
mca_pg_rows_end(void *impl, const char *table, struct mca_error *err)
{
	static const char *const with_ids[] = {"audit", "validations"};
	struct mca_pg *c = impl;
	char sql[256];
	PGresult *r;
	size_t i;
	mca_rc rc;

	/* The identity columns go on after the copied ids. */
	for (i = 0; i < sizeof(with_ids) / sizeof(with_ids[0]); i++)
		if (strcmp(table, with_ids[i]) == 0)
			break;
	if (i == sizeof(with_ids) / sizeof(with_ids[0]))
		return MCA_OK;
	if ((rc = mca_pg_ensure(c, err)) != MCA_OK)
		return rc;
	snprintf(sql, sizeof(sql),
	         "SELECT setval(pg_get_serial_sequence('%s', 'id'),"
	         " (SELECT coalesce(max(id), 0) FROM %s) + 1, false)",
	         table, table);
	r = PQexec(c->conn, sql);
	rc = PQresultStatus(r) == PGRES_TUPLES_OK ? MCA_OK : mca_pg_fail(c, r, err);
	PQclear(r);
	return rc;
}
