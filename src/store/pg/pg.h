/*
 * pg.h - inside the PostgreSQL backend (src/store/pg/): the connection
 * state every file of the backend shares, statement execution with bound
 * parameters, result accessors, and the ops each file provides for the
 * table in db.c.  Nothing outside this directory includes it (backend.h
 * is the backend's whole interface to the store).
 *
 * Every statement is prepared once per connection (PQprepare, named after
 * its slot in the cache) and run with PQexecPrepared: values are always
 * bound, never spliced into SQL text.  Results come back in text format;
 * BYTEA columns are decoded with PQunescapeBytea.
 *
 * Connection loss: every call first makes sure the connection is up
 * (PQstatus, then PQreset with back-off).  A lost connection, a failed
 * reconnect, a serialization failure (SQLSTATE 40001), a deadlock (40P01)
 * and a lock wait that ran out (55P03) are conflicts (MCA_STORE_CONFLICT):
 * mca_store_txn runs the transaction again, a bounded number of times.
 *
 * Thread-safety: one struct mca_pg per thread, like the store over it.
 */
#ifndef MCA_STORE_PG_H
#define MCA_STORE_PG_H

#include <stdint.h>

#include <libpq-fe.h>

#include "store/backend.h"

/* Statements prepared on this connection, keyed by the address of their SQL. */
#define MCA_PG_STMT_MAX  96
#define MCA_PG_PARAM_MAX 16

/* Advisory lock keys (two-int form): the first int is ours, the second the purpose. */
#define MCA_PG_LOCK_NS      0x6d6361 /* "mca" */
#define MCA_PG_LOCK_MIGRATE 1        /* session lock while migrating */
#define MCA_PG_LOCK_WRITE   2        /* transaction lock: the store's one writer */

struct mca_pg {
	PGconn *conn;
	char *conninfo;  /* as configured: may hold a password, never logged */
	char label[128]; /* "postgresql db=... host=...": for messages, without secrets */
	int create;      /* create the schema when the database has none */
	int txn;         /* a transaction is open on the server */
	int lock_ms;     /* lock_timeout of write transactions */
	int ready;       /* the schema was checked on this connection */
	int backoff_ms;  /* between reconnect attempts; 0 after a good one */
	int64_t next_try_ms;
	struct {
		const char *sql;
	} stmt[MCA_PG_STMT_MAX];
	size_t n_stmt;
};

/* Bound parameters of one statement; values must outlive the call; at most MCA_PG_PARAM_MAX. */
struct mca_pg_params {
	int n;
	const char *v[MCA_PG_PARAM_MAX];
	int len[MCA_PG_PARAM_MAX];
	int fmt[MCA_PG_PARAM_MAX];
	char num[MCA_PG_PARAM_MAX][24];
};

void mca_pg_text(struct mca_pg_params *p, const char *v); /* NULL: SQL NULL */
void mca_pg_int(struct mca_pg_params *p, int64_t v);
void mca_pg_blob(struct mca_pg_params *p, const unsigned char *v, size_t len);
void mca_pg_null(struct mca_pg_params *p);

/*
 * Run the cached prepared statement `sql` (a string constant: the cache is
 * keyed by its address) with `p` (NULL: no parameters).  On success *out
 * is the result (rows or a command's status), to PQclear; otherwise *out
 * is NULL and err set (a duplicate key is MCA_ERR_EXISTS, conflicts as
 * above).
 */
mca_rc mca_pg_run(struct mca_pg *c, const char *sql, const struct mca_pg_params *p, PGresult **out,
                  struct mca_error *err);

/* mca_pg_run for a command: *changed (may be NULL) gets the rows it changed. */
mca_rc mca_pg_cmd(struct mca_pg *c, const char *sql, const struct mca_pg_params *p, int *changed,
                  struct mca_error *err);

/* Column accessors: malloc'd text (NULL for SQL NULL), integers (0 for NULL), bytes. */
char *mca_pg_str(const PGresult *r, int row, int col);
int64_t mca_pg_i64(const PGresult *r, int row, int col);
unsigned char *mca_pg_bytes(const PGresult *r, int row, int col, size_t *len);

/* certs.c (certificates, audit, CRLs, validations, tokens) */
mca_rc mca_pg_cert_insert(void *impl, const struct mca_cert_rec *rec, struct mca_error *err);
mca_rc mca_pg_cert_get(void *impl, const char *serial, struct mca_cert_rec **out,
                       struct mca_error *err);
mca_rc mca_pg_cert_list(void *impl, const struct mca_cert_filter *f, mca_cert_cb cb, void *arg,
                        struct mca_error *err);
mca_rc mca_pg_cert_revoke(void *impl, const char *serial, int64_t now, const char *reason,
                          int *changed, struct mca_error *err);
mca_rc mca_pg_revoked_foreach(void *impl, const char *issuer_dn, int64_t since, mca_revoked_cb cb,
                              void *arg, struct mca_error *err);
mca_rc mca_pg_audit(void *impl, const char *actor, const char *action, const char *serial,
                    const char *detail_json, struct mca_error *err);
mca_rc mca_pg_audit_list(void *impl, int64_t after_id,
                         int (*cb)(void *arg, const struct mca_audit_rec *r), void *arg,
                         struct mca_error *err);
mca_rc mca_pg_crl_max_number(void *impl, const char *issuer, int64_t *number,
                             struct mca_error *err);
mca_rc mca_pg_crl_insert(void *impl, const char *issuer, int64_t number, int64_t this_update,
                         int64_t next_update, const unsigned char *der, size_t der_len,
                         struct mca_error *err);
mca_rc mca_pg_crl_latest(void *impl, const char *issuer, struct mca_crl_rec *out,
                         struct mca_error *err);
mca_rc mca_pg_validation_current(void *impl, const char *name, const char *const *methods,
                                 int64_t since, const char *account, int *found, char *method,
                                 struct mca_error *err);
mca_rc mca_pg_validation_add(void *impl, const char *name, const char *method, int64_t at,
                             int valid, const char *error, const char *account,
                             struct mca_error *err);
mca_rc mca_pg_token_insert(void *impl, const struct mca_token_row *r, struct mca_error *err);
mca_rc mca_pg_token_get(void *impl, const char *id, struct mca_token_row *out,
                        struct mca_error *err);
mca_rc mca_pg_token_consume(void *impl, const char *id, int64_t now, int *taken,
                            struct mca_error *err);
mca_rc mca_pg_token_refund(void *impl, const char *id, struct mca_error *err);
mca_rc mca_pg_token_revoke(void *impl, const char *id, int64_t now, int *changed,
                           struct mca_error *err);
mca_rc mca_pg_token_list(void *impl, int (*cb)(void *arg, const struct mca_token_row *r), void *arg,
                         struct mca_error *err);
mca_rc mca_pg_token_purge(void *impl, int64_t before, int *n, struct mca_error *err);

/* acmedb.c */
mca_rc mca_pg_acme_account_add(void *impl, const struct mca_acme_account *a, struct mca_error *err);
mca_rc mca_pg_acme_account_get(void *impl, const char *id, struct mca_acme_account *out,
                               struct mca_error *err);
mca_rc mca_pg_acme_account_by_key(void *impl, const char *profile, const char *thumbprint,
                                  struct mca_acme_account *out, struct mca_error *err);
mca_rc mca_pg_acme_account_update(void *impl, const char *id, const char *status,
                                  const char *contact, struct mca_error *err);
mca_rc mca_pg_acme_order_add(void *impl, const struct mca_acme_order *o, struct mca_error *err);
mca_rc mca_pg_acme_order_get(void *impl, const char *id, struct mca_acme_order *out,
                             struct mca_error *err);
mca_rc mca_pg_acme_order_set(void *impl, const char *id, const char *status, const char *error,
                             const char *serial, struct mca_error *err);
mca_rc mca_pg_acme_order_claim(void *impl, const char *id, int *ok, struct mca_error *err);
mca_rc mca_pg_acme_order_count(void *impl, const char *account, int64_t since, int64_t *n,
                               struct mca_error *err);
mca_rc mca_pg_acme_order_by_serial(void *impl, const char *serial, struct mca_acme_order *out,
                                   struct mca_error *err);
mca_rc mca_pg_acme_order_list(void *impl, const char *account, int limit,
                              int (*cb)(void *arg, const char *id), void *arg,
                              struct mca_error *err);
mca_rc mca_pg_acme_order_issued(void *impl, const char *id, const char *serial,
                                struct mca_error *err);
mca_rc mca_pg_acme_order_unclaim(void *impl, const char *id, struct mca_error *err);
mca_rc mca_pg_acme_order_repair(void *impl, int64_t *n, struct mca_error *err);
mca_rc mca_pg_acme_authz_add(void *impl, const struct mca_acme_authz *a, struct mca_error *err);
mca_rc mca_pg_acme_authz_get(void *impl, const char *id, struct mca_acme_authz *out,
                             struct mca_error *err);
mca_rc mca_pg_acme_authz_set(void *impl, const char *id, const char *status, struct mca_error *err);
mca_rc mca_pg_acme_authz_settle(void *impl, const char *id, const char *status, int64_t now,
                                int *ok, struct mca_error *err);
mca_rc mca_pg_acme_authz_list(void *impl, const char *order_id,
                              int (*cb)(void *arg, const struct mca_acme_authz *a), void *arg,
                              struct mca_error *err);
mca_rc mca_pg_acme_chall_add(void *impl, const struct mca_acme_chall *ch, struct mca_error *err);
mca_rc mca_pg_acme_chall_get(void *impl, const char *id, struct mca_acme_chall *out,
                             struct mca_error *err);
mca_rc mca_pg_acme_chall_set(void *impl, const char *id, const char *status, int64_t validated_at,
                             const char *error, struct mca_error *err);
mca_rc mca_pg_acme_chall_start(void *impl, const char *id, int *ok, struct mca_error *err);
mca_rc mca_pg_acme_chall_list(void *impl, const char *authz,
                              int (*cb)(void *arg, const struct mca_acme_chall *c), void *arg,
                              struct mca_error *err);
mca_rc mca_pg_acme_chall_processing(void *impl, int (*cb)(void *arg, const char *id), void *arg,
                                    struct mca_error *err);
mca_rc mca_pg_acme_purge(void *impl, int64_t before, struct mca_error *err);
mca_rc mca_pg_acme_nonce_key(void *impl, const unsigned char fresh[32], unsigned char key[32],
                             struct mca_error *err);
mca_rc mca_pg_acme_nonce_use(void *impl, const char *nonce, int64_t expires_at, int *first,
                             struct mca_error *err);

/* rows.c */
#define MCA_PG_COPY_COLS 24
mca_rc mca_pg_rows(void *impl, const char *table, const char *const *cols, size_t ncols,
                   int (*cb)(void *arg, const struct mca_store_val *v), void *arg,
                   struct mca_error *err);
mca_rc mca_pg_row_put(void *impl, const char *table, const char *const *cols, size_t ncols,
                      const struct mca_store_val *v, struct mca_error *err);
mca_rc mca_pg_rows_end(void *impl, const char *table, struct mca_error *err);
/* Make sure the connection is up (db.c); rows.c runs its own statements on it. */
mca_rc mca_pg_ensure(struct mca_pg *c, struct mca_error *err);
/* The error of a failed result (db.c). */
mca_rc mca_pg_fail(struct mca_pg *c, const PGresult *r, struct mca_error *err);

#endif
