/*
 * acme.h - the ACME server (RFC 8555) of mtlscad, for every profile whose
 * template authorizes acme-http-01 or acme-dns-01.  Resources live under
 * https://HOST/acme/PROFILE/ (directory, new-nonce, new-account,
 * new-order, revoke-cert, key-change, acct/ID[/orders], order/ID,
 * authz/ID, chall/ID, finalize/ID, cert/ID).
 *
 * State is in SQLite (sql/0003-acme.sql) except replay nonces, which are
 * authenticated and tracked in memory (acme/nonce.h); challenge validation
 * runs on worker threads owned by struct mca_acme, never on a request thread.
 */
#ifndef MCA_ACME_H
#define MCA_ACME_H

#include "common/err.h"
#include "mhd/mhd.h"

struct mca_conf;
struct mca_store_pool;
struct mca_req;
struct mca_acme;

/* What mca_acme_enqueue did. */
enum mca_acme_queued {
	MCA_ACME_QUEUED,       /* the challenge will be validated */
	MCA_ACME_FULL,         /* acme.pending_validations reached (or stopping) */
	MCA_ACME_ACCOUNT_FULL, /* the account has acme.pending_validations_per_account */
};

/*
 * Start the validation workers (acme.validation_workers of them), with the
 * acme.* settings of `conf` (copied: conf may go before *out) and
 * connections from `pool`, which must outlive *out.  Before they start,
 * validations and finalizations a previous run left unfinished are
 * resumed or made ready again.
 */
mca_rc mca_acme_new(const struct mca_conf *conf, struct mca_store_pool *pool, struct mca_acme **out,
                    struct mca_error *err);

/* Stop the workers (pending validations are left pending) and free. */
void mca_acme_free(struct mca_acme *a);

/* Periodic cleanup: long-expired orders. */
void mca_acme_tick(struct mca_acme *a);

/* The /acme/ prefix route's handler (GET and POST), for the route table. */
enum mca_http_result mca_ep_acme(struct mca_req *r);

/*
 * Queue a challenge of ACME account `account` for validation, unless that
 * account already has its share of queued and running validations or the
 * queue is full.  Workers take the oldest challenge of an account that runs
 * fewer than half of them, so that one account cannot occupy all workers.
 * Thread-safe.
 */
enum mca_acme_queued mca_acme_enqueue(struct mca_acme *a, const char *chall_id,
                                      const char *account);

/* Seconds a refused client should wait before it asks again (Retry-After). */
unsigned mca_acme_retry_after(const struct mca_acme *a);

#endif
