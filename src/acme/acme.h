/*
 * acme.h - the ACME server (RFC 8555) of mtlscad, for every profile whose
 * template authorizes acme-http-01 or acme-dns-01.  Resources live under
 * https://HOST/acme/PROFILE/ (directory, new-nonce, new-account,
 * new-order, revoke-cert, key-change, acct/ID[/orders], order/ID,
 * authz/ID, chall/ID, finalize/ID, cert/ID).
 *
 * State is in SQLite (sql/0003-acme.sql); challenge validation runs on
 * worker threads owned by struct mca_acme, never on a request thread.
 */
#ifndef MCA_ACME_H
#define MCA_ACME_H

#include "common/err.h"
#include "mhd/mhd.h"

struct mca_server;
struct mca_req;
struct mca_acme;

/* Start the validation workers. */
mca_rc mca_acme_new(struct mca_server *srv, struct mca_acme **out, struct mca_error *err);

/* Stop the workers (pending validations are left pending) and free. */
void mca_acme_free(struct mca_acme *a);

/* Periodic cleanup: used nonces, long-expired orders. */
void mca_acme_tick(struct mca_acme *a);

/* The /acme/ prefix route's handler (GET and POST), for the route table. */
enum mca_http_result mca_ep_acme(struct mca_req *r);

/* Queue a challenge for validation; 0 when the queue is full. */
int mca_acme_enqueue(struct mca_acme *a, const char *chall_id);

#endif
