/*
 * backend.h - the seam between the store's domain API (store.h, acme.h)
 * and a database backend.  Only the store and its backends include this;
 * everything above uses store.h.
 *
 * A backend is one directory below src/store/ (sqlite/, pg/)
 * that provides an open function and one `struct mca_store_ops`: a table
 * of the row-level operations the domain API is built from, plus the
 * transaction primitives mca_store_txn() drives.  The generic layer
 * (store.c, acme.c) owns what is the same for every backend: choosing the
 * backend from the `database` setting, the transaction helper with its
 * retry loop, and operations that combine rows ("a certificate and its
 * audit row in one transaction").
 *
 * Every op takes the backend's own connection state `impl` (what the
 * backend passed to mca_store_new).  Contracts are those of the matching
 * store.h / acme.h function unless said otherwise.  Errors:
 *  - a duplicate key is MCA_ERR_EXISTS;
 *  - a conflict with another connection that a fresh attempt of the whole
 *    transaction may not meet (SQLite: SQLITE_BUSY/SQLITE_LOCKED once the
 *    lock wait is over; PostgreSQL: serialization failure, deadlock) is
 *    MCA_ERR_DB with the rule MCA_STORE_CONFLICT (mca_store_conflict());
 *  - anything else from the database is MCA_ERR_DB without that rule.
 *
 * Thread-safety: as store.h, one connection (one impl) per thread.
 */
#ifndef MCA_STORE_BACKEND_H
#define MCA_STORE_BACKEND_H

#include <stdint.h>

#include "common/err.h"
#include "store/acme.h"
#include "store/store.h"

/* The rule id (err->rule) of a retryable conflict; see mca_store_conflict. */
#define MCA_STORE_CONFLICT "db.conflict"

/* One column value of a raw row (rows, row_put). */
enum mca_store_val_type { MCA_VAL_NULL, MCA_VAL_INT, MCA_VAL_TEXT, MCA_VAL_BLOB };
struct mca_store_val {
	enum mca_store_val_type type;
	int64_t i;     /* MCA_VAL_INT */
	const void *p; /* MCA_VAL_TEXT (NUL-terminated) and MCA_VAL_BLOB */
	size_t len;    /* MCA_VAL_BLOB */
};

struct mca_store_ops {
	const char *name; /* "sqlite" */

	/* Connection. */
	void (*close)(void *impl);
	int (*schema_version)(void *impl);
	mca_rc (*ping)(void *impl, struct mca_error *err);
	int64_t (*count)(void *impl, const char *table);
	/* How long a write waits for another writer's lock before a conflict. */
	void (*lock_wait)(void *impl, int ms);
	/*
	 * Copy what commits logged into the database proper (SQLite: a passive
	 * WAL checkpoint; commits never do it themselves).  NULL: nothing to do.
	 */
	mca_rc (*checkpoint)(void *impl, struct mca_error *err);
	/* Whether this connection's commits left a log worth a checkpoint now; NULL: never. */
	int (*checkpoint_due)(void *impl);

	/*
	 * Transactions.  begin takes the write lock at once (or the backend's
	 * equivalent); rollback and rollback_to are no-ops when there is
	 * nothing to roll back.  in_txn: whether a transaction is open.
	 * Savepoints nest; release/rollback_to act on the innermost one.
	 */
	int (*in_txn)(void *impl);
	mca_rc (*begin)(void *impl, struct mca_error *err);
	mca_rc (*commit)(void *impl, struct mca_error *err);
	void (*rollback)(void *impl);
	mca_rc (*savepoint)(void *impl, struct mca_error *err);
	mca_rc (*release)(void *impl, struct mca_error *err);
	void (*rollback_to)(void *impl);

	/* Certificates: insert writes the row only (the audit row is audit()). */
	mca_rc (*cert_insert)(void *impl, const struct mca_cert_rec *rec, struct mca_error *err);
	mca_rc (*cert_get)(void *impl, const char *serial, struct mca_cert_rec **out,
	                   struct mca_error *err);
	mca_rc (*cert_list)(void *impl, const struct mca_cert_filter *f, mca_cert_cb cb, void *arg,
	                    struct mca_error *err);
	/* valid -> revoked, the row only: *changed 0 when revoked already; MCA_ERR_NOTFOUND. */
	mca_rc (*cert_revoke)(void *impl, const char *serial, int64_t now, const char *reason,
	                      int *changed, struct mca_error *err);
	mca_rc (*revoked_foreach)(void *impl, const char *issuer_dn, int64_t since,
	                          mca_revoked_cb cb, void *arg, struct mca_error *err);
	mca_rc (*audit)(void *impl, const char *actor, const char *action, const char *serial,
	                const char *detail_json, struct mca_error *err);
	mca_rc (*audit_list)(void *impl, int64_t after_id,
	                     int (*cb)(void *arg, const struct mca_audit_rec *r), void *arg,
	                     struct mca_error *err);

	/* CRLs. */
	mca_rc (*crl_max_number)(void *impl, const char *issuer, int64_t *number,
	                         struct mca_error *err);
	mca_rc (*crl_insert)(void *impl, const char *issuer, int64_t number, int64_t this_update,
	                     int64_t next_update, const unsigned char *der, size_t der_len,
	                     struct mca_error *err);
	mca_rc (*crl_latest)(void *impl, const char *issuer, struct mca_crl_rec *out,
	                     struct mca_error *err);
	/* Empty the der of issuer's CRLs numbered below `below`. */
	mca_rc (*crl_prune)(void *impl, const char *issuer, int64_t below, struct mca_error *err);
	/* As crl_latest, without reading der (NULL; der_len its size). */
	mca_rc (*crl_latest_info)(void *impl, const char *issuer, struct mca_crl_rec *out,
	                          struct mca_error *err);
	/*
	 * Pre-encoded CRL entries: crl_entry_add assigns r->seq itself, above
	 * every seq ever given (also after crl_entries_purge: in-memory copies
	 * read the rows above the seq they hold).
	 */
	mca_rc (*crl_entry_add)(void *impl, const struct mca_crl_entry_row *r,
	                        struct mca_error *err);
	mca_rc (*crl_entries)(void *impl, const char *issuer_dn, int shard, int64_t since,
	                      mca_crl_entry_cb cb, void *arg, struct mca_error *err);
	mca_rc (*crl_entries_after)(void *impl, const char *issuer_dn, int64_t after,
	                            mca_crl_entry_cb cb, void *arg, struct mca_error *err);
	mca_rc (*crl_entries_purge)(void *impl, const char *issuer_dn, int64_t before, int64_t *n,
	                            struct mca_error *err);

	/* Domain validations. */
	mca_rc (*validation_current)(void *impl, const char *name, const char *const *methods,
	                             int64_t since, const char *account, int *found, char *method,
	                             struct mca_error *err);
	mca_rc (*validation_add)(void *impl, const char *name, const char *method, int64_t at,
	                         int valid, const char *error, const char *account,
	                         struct mca_error *err);

	/* Tokens: insert and revoke write the row only. */
	mca_rc (*token_insert)(void *impl, const struct mca_token_row *r, struct mca_error *err);
	mca_rc (*token_get)(void *impl, const char *id, struct mca_token_row *out,
	                    struct mca_error *err);
	mca_rc (*token_consume)(void *impl, const char *id, int64_t now, int *taken,
	                        struct mca_error *err);
	mca_rc (*token_refund)(void *impl, const char *id, struct mca_error *err);
	mca_rc (*token_revoke)(void *impl, const char *id, int64_t now, int *changed,
	                       struct mca_error *err);
	mca_rc (*token_list)(void *impl, int (*cb)(void *arg, const struct mca_token_row *r),
	                     void *arg, struct mca_error *err);
	mca_rc (*token_purge)(void *impl, int64_t before, int *n, struct mca_error *err);

	/* ACME (acme.h). */
	mca_rc (*acme_account_add)(void *impl, const struct mca_acme_account *a,
	                           struct mca_error *err);
	mca_rc (*acme_account_get)(void *impl, const char *id, struct mca_acme_account *out,
	                           struct mca_error *err);
	mca_rc (*acme_account_by_key)(void *impl, const char *profile, const char *thumbprint,
	                              struct mca_acme_account *out, struct mca_error *err);
	mca_rc (*acme_account_update)(void *impl, const char *id, const char *status,
	                              const char *contact, struct mca_error *err);
	mca_rc (*acme_order_add)(void *impl, const struct mca_acme_order *o, struct mca_error *err);
	mca_rc (*acme_order_get)(void *impl, const char *id, struct mca_acme_order *out,
	                         struct mca_error *err);
	mca_rc (*acme_order_set)(void *impl, const char *id, const char *status, const char *error,
	                         const char *serial, struct mca_error *err);
	mca_rc (*acme_order_claim)(void *impl, const char *id, int *ok, struct mca_error *err);
	mca_rc (*acme_order_count)(void *impl, const char *account, int64_t since, int64_t *n,
	                           struct mca_error *err);
	mca_rc (*acme_order_by_serial)(void *impl, const char *serial, struct mca_acme_order *out,
	                               struct mca_error *err);
	mca_rc (*acme_order_list)(void *impl, const char *account, int limit,
	                          int (*cb)(void *arg, const char *id), void *arg,
	                          struct mca_error *err);
	mca_rc (*acme_order_issued)(void *impl, const char *id, const char *serial,
	                            struct mca_error *err);
	mca_rc (*acme_order_unclaim)(void *impl, const char *id, struct mca_error *err);
	mca_rc (*acme_order_repair)(void *impl, int64_t *n, struct mca_error *err);
	mca_rc (*acme_authz_add)(void *impl, const struct mca_acme_authz *a, struct mca_error *err);
	mca_rc (*acme_authz_get)(void *impl, const char *id, struct mca_acme_authz *out,
	                         struct mca_error *err);
	mca_rc (*acme_authz_set)(void *impl, const char *id, const char *status,
	                         struct mca_error *err);
	mca_rc (*acme_authz_settle)(void *impl, const char *id, const char *status, int64_t now,
	                            int *ok, struct mca_error *err);
	mca_rc (*acme_authz_list)(void *impl, const char *order_id,
	                          int (*cb)(void *arg, const struct mca_acme_authz *a), void *arg,
	                          struct mca_error *err);
	mca_rc (*acme_chall_add)(void *impl, const struct mca_acme_chall *c, struct mca_error *err);
	mca_rc (*acme_chall_get)(void *impl, const char *id, struct mca_acme_chall *out,
	                         struct mca_error *err);
	mca_rc (*acme_chall_set)(void *impl, const char *id, const char *status,
	                         int64_t validated_at, const char *error, struct mca_error *err);
	mca_rc (*acme_chall_start)(void *impl, const char *id, int *ok, struct mca_error *err);
	mca_rc (*acme_chall_list)(void *impl, const char *authz,
	                          int (*cb)(void *arg, const struct mca_acme_chall *c), void *arg,
	                          struct mca_error *err);
	mca_rc (*acme_chall_processing)(void *impl, int (*cb)(void *arg, const char *id), void *arg,
	                                struct mca_error *err);
	mca_rc (*acme_purge)(void *impl, int64_t before, struct mca_error *err);
	/*
	 * Shared ACME nonces (acme.h); NULL in a backend whose database has
	 * one process serving it (SQLite: the key stays in memory).
	 */
	mca_rc (*acme_nonce_key)(void *impl, const unsigned char fresh[32], unsigned char key[32],
	                         struct mca_error *err);
	mca_rc (*acme_nonce_use)(void *impl, const char *nonce, int64_t expires_at, int *first,
	                         struct mca_error *err);

	/*
	 * Raw rows, for copying a database to another backend (copy.c).
	 * `table` and `cols` come from copy.c's fixed list, never from input.
	 * rows: call cb with every row of `table` (values in `cols` order,
	 * valid during the call) in the order of insertion; a non-zero
	 * return stops the walk and is returned as MCA_ERR_INTERNAL.
	 * row_put: insert one row as it is (ids included).  rows_end: after
	 * the last row_put of `table` (a backend with sequences moves them
	 * past the copied ids).
	 */
	mca_rc (*rows)(void *impl, const char *table, const char *const *cols, size_t ncols,
	               int (*cb)(void *arg, const struct mca_store_val *v), void *arg,
	               struct mca_error *err);
	mca_rc (*row_put)(void *impl, const char *table, const char *const *cols, size_t ncols,
	                  const struct mca_store_val *v, struct mca_error *err);
	mca_rc (*rows_end)(void *impl, const char *table, struct mca_error *err);
};

/*
 * Wrap a backend connection into a store.  On success the store owns
 * `impl` (mca_store_close calls ops->close); on failure impl is left to
 * the caller.  `ops` must outlive the store.
 */
mca_rc mca_store_new(const struct mca_store_ops *ops, void *impl, struct mca_store **out,
                     struct mca_error *err);

/* The ops table and connection state of `st` (tests wrap them). */
const struct mca_store_ops *mca_store_get_ops(const struct mca_store *st);
void *mca_store_get_impl(const struct mca_store *st);

/* Set how long writes wait for another connection's lock (tests). */
void mca_store_lock_wait(struct mca_store *st, int ms);

/* The backends built in. */
mca_rc mca_store_sqlite_open(const char *path, int create, struct mca_store **out,
                             struct mca_error *err);
/* `conninfo`: a libpq URI or keyword string; `flags`: MCA_STORE_CREATE, MCA_STORE_WAIT. */
mca_rc mca_store_pg_open(const char *conninfo, int flags, struct mca_store **out,
                         struct mca_error *err);

#endif
