/*
 * acme.h - the ACME server (RFC 8555) of mtlscad, for every profile whose
 * template authorizes acme-http-01 or acme-dns-01.  Resources live under
 * https://HOST/acme/PROFILE/ (directory, new-nonce, new-account,
 * new-order, revoke-cert, key-change, acct/ID[/orders], order/ID,
 * authz/ID, chall/ID, finalize/ID, cert/ID).
 *
 * State is in SQLite (sql/0003-acme.sql) except replay nonces, which are
 * authenticated and tracked in memory (nonce.h); challenge validation runs on
 * worker threads owned by struct mca_acme, never on a request thread.
 */
#ifndef MCA_ACME_H
#define MCA_ACME_H

#include "err.h"

struct mca_server;
struct mca_req;
struct mca_acme;

/* Start the validation workers. */
mca_rc mca_acme_new(struct mca_server *srv, struct mca_acme **out, struct mca_error *err);

/* Stop the workers (pending validations are left pending) and free. */
void mca_acme_free(struct mca_acme *a);

/* Periodic cleanup: long-expired orders. */
void mca_acme_tick(struct mca_acme *a);

/* Queue a challenge for validation; 0 when the queue is full. */
int mca_acme_enqueue(struct mca_acme *a, const char *chall_id);

#endif
