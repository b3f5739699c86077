/*
 * acme.h - the ACME data layer: accounts, orders, authorizations,
 * challenges (sql/0003-acme.sql; nonces are not stored, see nonce.h).
 * One function per operation, dispatched to the store's backend
 * (backend.h); callers wrap several in mca_store_txn (store.h) when they
 * must change together.
 *
 * Strings in the structs are malloc'd and owned by them (*_clear).
 */
#ifndef MCA_ACME_DB_H
#define MCA_ACME_DB_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "store/store.h"

#define MCA_ACME_ID_LEN 16 /* hex digits of every ACME object id */

struct mca_acme_account {
	char *id, *profile, *thumbprint, *jwk, *status, *contact;
	int64_t created_at;
};

struct mca_acme_order {
	char *id, *account, *profile, *status, *identifiers, *error, *serial;
	int64_t expires_at, created_at;
};

struct mca_acme_authz {
	char *id, *order_id, *name, *status;
	int wildcard;
	int64_t expires_at;
};

struct mca_acme_chall {
	char *id, *authz, *type, *token, *status, *error;
	int64_t validated_at;
};

void mca_acme_account_clear(struct mca_acme_account *a);
void mca_acme_order_clear(struct mca_acme_order *o);
void mca_acme_authz_clear(struct mca_acme_authz *a);
void mca_acme_chall_clear(struct mca_acme_chall *c);

/* A fresh random id (MCA_ACME_ID_LEN hex digits + NUL). */
mca_rc mca_acme_new_id(char out[MCA_ACME_ID_LEN + 1], struct mca_error *err);

/* Accounts (get_* give MCA_ERR_NOTFOUND when absent). */
mca_rc mca_acme_account_add(struct mca_store *st, const struct mca_acme_account *a,
                            struct mca_error *err);
mca_rc mca_acme_account_get(struct mca_store *st, const char *id, struct mca_acme_account *out,
                            struct mca_error *err);
mca_rc mca_acme_account_by_key(struct mca_store *st, const char *profile, const char *thumbprint,
                               struct mca_acme_account *out, struct mca_error *err);
mca_rc mca_acme_account_update(struct mca_store *st, const char *id, const char *status,
                               const char *contact, struct mca_error *err);

/* Orders. */
mca_rc mca_acme_order_add(struct mca_store *st, const struct mca_acme_order *o,
                          struct mca_error *err);
mca_rc mca_acme_order_get(struct mca_store *st, const char *id, struct mca_acme_order *out,
                          struct mca_error *err);
mca_rc mca_acme_order_set(struct mca_store *st, const char *id, const char *status,
                          const char *error, const char *serial, struct mca_error *err);
/* Move a ready order to processing; *ok 1 when this call did it. */
mca_rc mca_acme_order_claim(struct mca_store *st, const char *id, int *ok, struct mca_error *err);
/* Orders an account created since `since`. */
mca_rc mca_acme_order_count(struct mca_store *st, const char *account, int64_t since, int64_t *n,
                            struct mca_error *err);
/* The order that produced certificate `serial` (MCA_ERR_NOTFOUND when none). */
mca_rc mca_acme_order_by_serial(struct mca_store *st, const char *serial,
                                struct mca_acme_order *out, struct mca_error *err);
/* Call cb with each order id of an account, newest first (at most `limit`). */
mca_rc mca_acme_order_list(struct mca_store *st, const char *account, int limit,
                           int (*cb)(void *arg, const char *id), void *arg, struct mca_error *err);

/* Authorizations. */
mca_rc mca_acme_authz_add(struct mca_store *st, const struct mca_acme_authz *a,
                          struct mca_error *err);
mca_rc mca_acme_authz_get(struct mca_store *st, const char *id, struct mca_acme_authz *out,
                          struct mca_error *err);
mca_rc mca_acme_authz_set(struct mca_store *st, const char *id, const char *status,
                          struct mca_error *err);
/*
 * Record a validation outcome: only a pending, unexpired authorization
 * changes (a deactivation during the fetch stands); *ok 1 when it did.
 */
mca_rc mca_acme_authz_settle(struct mca_store *st, const char *id, const char *status, int64_t now,
                             int *ok, struct mca_error *err);
/* Call cb with each authorization of an order. */
mca_rc mca_acme_authz_list(struct mca_store *st, const char *order_id,
                           int (*cb)(void *arg, const struct mca_acme_authz *a), void *arg,
                           struct mca_error *err);

/* Challenges. */
mca_rc mca_acme_chall_add(struct mca_store *st, const struct mca_acme_chall *c,
                          struct mca_error *err);
mca_rc mca_acme_chall_get(struct mca_store *st, const char *id, struct mca_acme_chall *out,
                          struct mca_error *err);
mca_rc mca_acme_chall_set(struct mca_store *st, const char *id, const char *status,
                          int64_t validated_at, const char *error, struct mca_error *err);
/* Move a pending challenge to processing; *ok 1 when this call did it. */
mca_rc mca_acme_chall_start(struct mca_store *st, const char *id, int *ok, struct mca_error *err);
mca_rc mca_acme_chall_list(struct mca_store *st, const char *authz,
                           int (*cb)(void *arg, const struct mca_acme_chall *c), void *arg,
                           struct mca_error *err);

/* Call cb with the id of every challenge left "processing" (a restart lost its job). */
mca_rc mca_acme_chall_processing(struct mca_store *st, int (*cb)(void *arg, const char *id),
                                 void *arg, struct mca_error *err);

/*
 * Finalize's outcome, in the certificate's own transaction (committer.h
 * hook): the processing order `id` becomes valid with `serial`.  An order
 * that is not processing is MCA_ERR_INTERNAL (and the certificate must
 * then not be recorded).
 */
mca_rc mca_acme_order_issued(struct mca_store *st, const char *id, const char *serial,
                             struct mca_error *err);
/* Undo mca_acme_order_claim after a failure of ours: processing -> ready (else nothing). */
mca_rc mca_acme_order_unclaim(struct mca_store *st, const char *id, struct mca_error *err);
/*
 * At startup: orders a previous run left "processing" got no certificate
 * (it would have made them valid in the same transaction), so their
 * finalize never completed: back to "ready" for the client to finalize
 * again.  *n: how many.
 */
mca_rc mca_acme_order_repair(struct mca_store *st, int64_t *n, struct mca_error *err);

/*
 * ACME nonces shared by the instances of one database server
 * (doc/multi-instance.md).  mca_acme_nonce_key: the key every instance
 * authenticates nonces with; `fresh` (random) becomes it unless another
 * instance stored one first.  mca_acme_nonce_use: spend `nonce` (until
 * `expires_at`, when the purge drops it); *first is 1 for the one
 * redemption that counts, on any instance.  Both are MCA_ERR_NOTFOUND on
 * a backend without shared nonces (SQLite: one process, nonce.h alone).
 */
mca_rc mca_acme_nonce_key(struct mca_store *st, const unsigned char fresh[32],
                          unsigned char key[32], struct mca_error *err);
mca_rc mca_acme_nonce_use(struct mca_store *st, const char *nonce, int64_t expires_at, int *first,
                          struct mca_error *err);

/* Delete orders that expired before `before` (not valid ones), and spent nonces past expiry. */
mca_rc mca_acme_purge(struct mca_store *st, int64_t before, struct mca_error *err);

#endif
