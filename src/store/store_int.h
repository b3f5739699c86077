/*
 * store_int.h - for modules that keep their own SQL next to their logic
 * (the ACME data layer) but share the store's connection, transactions
 * and per-connection statement cache.  Not for general use: everything
 * else goes through store.h.
 */
#ifndef MCA_STORE_INT_H
#define MCA_STORE_INT_H

#include <sqlite3.h>

#include "store/store.h"

/*
 * The cached prepared statement for `sql` on this connection, reset and
 * unbound.  `sql` must be a string constant: the cache is keyed by its
 * address.  NULL with err set on failure.
 */
sqlite3_stmt *mca_store_stmt(struct mca_store *st, const char *sql, struct mca_error *err);

/* Step a statement to completion; duplicate keys are MCA_ERR_EXISTS. */
mca_rc mca_store_done(struct mca_store *st, sqlite3_stmt *s, struct mca_error *err);

/* Rows changed by the last statement on this connection. */
int mca_store_changes(struct mca_store *st);

/* An MCA_ERR_DB error with SQLite's message. */
mca_rc mca_store_dberr(struct mca_store *st, struct mca_error *err);

/* malloc'd copy of a text column (NULL for NULL). */
char *mca_store_col_text(sqlite3_stmt *s, int col);

#endif
