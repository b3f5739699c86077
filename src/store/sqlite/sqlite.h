/*
 * sqlite.h - inside the SQLite backend (src/store/sqlite/): the
 * connection state every file of the backend shares, its statement
 * cache and error helpers, and the ops each file provides for the table
 * in db.c.  Nothing outside this directory includes it (backend.h is the
 * backend's whole interface to the store).
 *
 * Thread-safety: one struct mca_sq per thread, like the store over it.
 */
#ifndef MCA_STORE_SQLITE_H
#define MCA_STORE_SQLITE_H

#include <sqlite3.h>

#include "store/backend.h"

/* Statements prepared on this connection, keyed by the address of their SQL. */
#define MCA_SQ_STMT_MAX 96

struct mca_sq {
	sqlite3 *db;
	struct {
		const char *sql;
		sqlite3_stmt *stmt;
	} stmt[MCA_SQ_STMT_MAX];
	size_t n_stmt;
	char *path;
	long long wal_at_open; /* the WAL's size when this connection opened (sq_close) */
	int wal_frames;        /* frames in the WAL after this connection's last commit */
};

/*
 * The cached prepared statement for `sql` on this connection, reset and
 * unbound.  `sql` must be a string constant (the cache is keyed by its
 * address).  NULL with err set on failure.
 */
sqlite3_stmt *mca_sq_stmt(struct mca_sq *c, const char *sql, struct mca_error *err);

/* Step a statement to completion; duplicate keys are MCA_ERR_EXISTS. */
mca_rc mca_sq_done(struct mca_sq *c, sqlite3_stmt *s, struct mca_error *err);

/* mca_sq_done, then the number of rows the statement changed in *changed. */
mca_rc mca_sq_changes(struct mca_sq *c, sqlite3_stmt *s, int *changed, struct mca_error *err);

/*
 * MCA_ERR_DB with SQLite's message for the connection's last error;
 * SQLITE_BUSY and SQLITE_LOCKED carry the MCA_STORE_CONFLICT rule.
 */
mca_rc mca_sq_err(struct mca_sq *c, struct mca_error *err);

/* malloc'd copy of a text column (NULL for SQL NULL or out of memory). */
char *mca_sq_col_text(sqlite3_stmt *s, int col);

/* Bind a text parameter, NULL as SQL NULL. */
void mca_sq_bind_text(sqlite3_stmt *s, int i, const char *v);

/* certs.c */
mca_rc mca_sq_cert_insert(void *impl, const struct mca_cert_rec *rec, struct mca_error *err);
mca_rc mca_sq_cert_get(void *impl, const char *serial, struct mca_cert_rec **out,
                       struct mca_error *err);
mca_rc mca_sq_cert_list(void *impl, const struct mca_cert_filter *f, mca_cert_cb cb, void *arg,
                        struct mca_error *err);
mca_rc mca_sq_cert_revoke(void *impl, const char *serial, int64_t now, const char *reason,
                          int *changed, struct mca_error *err);
mca_rc mca_sq_revoked_foreach(void *impl, const char *issuer_dn, int64_t since, mca_revoked_cb cb,
                              void *arg, struct mca_error *err);

/* audit.c */
mca_rc mca_sq_audit(void *impl, const char *actor, const char *action, const char *serial,
                    const char *detail_json, struct mca_error *err);
mca_rc mca_sq_audit_list(void *impl, int64_t after_id,
                         int (*cb)(void *arg, const struct mca_audit_rec *r), void *arg,
                         struct mca_error *err);

/* crls.c */
mca_rc mca_sq_crl_max_number(void *impl, const char *issuer, int64_t *number,
                             struct mca_error *err);
mca_rc mca_sq_crl_insert(void *impl, const char *issuer, int64_t number, int64_t this_update,
                         int64_t next_update, const unsigned char *der, size_t der_len,
                         struct mca_error *err);
mca_rc mca_sq_crl_latest(void *impl, const char *issuer, struct mca_crl_rec *out,
                         struct mca_error *err);
mca_rc mca_sq_crl_prune(void *impl, const char *issuer, int64_t below, struct mca_error *err);
mca_rc mca_sq_crl_latest_info(void *impl, const char *issuer, struct mca_crl_rec *out,
                              struct mca_error *err);
mca_rc mca_sq_crl_entry_add(void *impl, const struct mca_crl_entry_row *r, struct mca_error *err);
mca_rc mca_sq_crl_entries(void *impl, const char *issuer_dn, int shard, int64_t since,
                          mca_crl_entry_cb cb, void *arg, struct mca_error *err);
mca_rc mca_sq_crl_entries_purge(void *impl, const char *issuer_dn, int64_t before, int64_t *n,
                                struct mca_error *err);
mca_rc mca_sq_crl_entries_after(void *impl, const char *issuer_dn, int64_t after,
                                mca_crl_entry_cb cb, void *arg, struct mca_error *err);

/* validations.c */
mca_rc mca_sq_validation_current(void *impl, const char *name, const char *const *methods,
                                 int64_t since, const char *account, int *found, char *method,
                                 struct mca_error *err);
mca_rc mca_sq_validation_add(void *impl, const char *name, const char *method, int64_t at,
                             int valid, const char *error, const char *account,
                             struct mca_error *err);

/* tokens.c */
mca_rc mca_sq_token_insert(void *impl, const struct mca_token_row *r, struct mca_error *err);
mca_rc mca_sq_token_get(void *impl, const char *id, struct mca_token_row *out,
                        struct mca_error *err);
mca_rc mca_sq_token_consume(void *impl, const char *id, int64_t now, int *taken,
                            struct mca_error *err);
mca_rc mca_sq_token_refund(void *impl, const char *id, struct mca_error *err);
mca_rc mca_sq_token_revoke(void *impl, const char *id, int64_t now, int *changed,
                           struct mca_error *err);
mca_rc mca_sq_token_list(void *impl, int (*cb)(void *arg, const struct mca_token_row *r), void *arg,
                         struct mca_error *err);
mca_rc mca_sq_token_purge(void *impl, int64_t before, int *n, struct mca_error *err);

/* acme.c */
mca_rc mca_sq_acme_account_add(void *impl, const struct mca_acme_account *a, struct mca_error *err);
mca_rc mca_sq_acme_account_get(void *impl, const char *id, struct mca_acme_account *out,
                               struct mca_error *err);
mca_rc mca_sq_acme_account_by_key(void *impl, const char *profile, const char *thumbprint,
                                  struct mca_acme_account *out, struct mca_error *err);
mca_rc mca_sq_acme_account_update(void *impl, const char *id, const char *status,
                                  const char *contact, struct mca_error *err);
mca_rc mca_sq_acme_order_add(void *impl, const struct mca_acme_order *o, struct mca_error *err);
mca_rc mca_sq_acme_order_get(void *impl, const char *id, struct mca_acme_order *out,
                             struct mca_error *err);
mca_rc mca_sq_acme_order_set(void *impl, const char *id, const char *status, const char *error,
                             const char *serial, struct mca_error *err);
mca_rc mca_sq_acme_order_claim(void *impl, const char *id, int *ok, struct mca_error *err);
mca_rc mca_sq_acme_order_count(void *impl, const char *account, int64_t since, int64_t *n,
                               struct mca_error *err);
mca_rc mca_sq_acme_order_by_serial(void *impl, const char *serial, struct mca_acme_order *out,
                                   struct mca_error *err);
mca_rc mca_sq_acme_order_list(void *impl, const char *account, int limit,
                              int (*cb)(void *arg, const char *id), void *arg,
                              struct mca_error *err);
mca_rc mca_sq_acme_order_issued(void *impl, const char *id, const char *serial,
                                struct mca_error *err);
mca_rc mca_sq_acme_order_unclaim(void *impl, const char *id, struct mca_error *err);
mca_rc mca_sq_acme_order_repair(void *impl, int64_t *n, struct mca_error *err);
mca_rc mca_sq_acme_authz_add(void *impl, const struct mca_acme_authz *a, struct mca_error *err);
mca_rc mca_sq_acme_authz_get(void *impl, const char *id, struct mca_acme_authz *out,
                             struct mca_error *err);
mca_rc mca_sq_acme_authz_set(void *impl, const char *id, const char *status, struct mca_error *err);
mca_rc mca_sq_acme_authz_settle(void *impl, const char *id, const char *status, int64_t now,
                                int *ok, struct mca_error *err);
mca_rc mca_sq_acme_authz_list(void *impl, const char *order_id,
                              int (*cb)(void *arg, const struct mca_acme_authz *a), void *arg,
                              struct mca_error *err);
mca_rc mca_sq_acme_chall_add(void *impl, const struct mca_acme_chall *ch, struct mca_error *err);
mca_rc mca_sq_acme_chall_get(void *impl, const char *id, struct mca_acme_chall *out,
                             struct mca_error *err);
mca_rc mca_sq_acme_chall_set(void *impl, const char *id, const char *status, int64_t validated_at,
                             const char *error, struct mca_error *err);
mca_rc mca_sq_acme_chall_start(void *impl, const char *id, int *ok, struct mca_error *err);
mca_rc mca_sq_acme_chall_list(void *impl, const char *authz,
                              int (*cb)(void *arg, const struct mca_acme_chall *c), void *arg,
                              struct mca_error *err);
mca_rc mca_sq_acme_chall_processing(void *impl, int (*cb)(void *arg, const char *id), void *arg,
                                    struct mca_error *err);
mca_rc mca_sq_acme_purge(void *impl, int64_t before, struct mca_error *err);

/* rows.c */
#define MCA_SQ_COPY_COLS 24
mca_rc mca_sq_rows(void *impl, const char *table, const char *const *cols, size_t ncols,
                   int (*cb)(void *arg, const struct mca_store_val *v), void *arg,
                   struct mca_error *err);
mca_rc mca_sq_row_put(void *impl, const char *table, const char *const *cols, size_t ncols,
                      const struct mca_store_val *v, struct mca_error *err);
mca_rc mca_sq_rows_end(void *impl, const char *table, struct mca_error *err);

#endif
