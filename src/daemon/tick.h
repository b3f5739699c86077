/*
 * tick.h - the daemon's periodic work.
 *
 * Called by mtlscad's main loop about once a second, on the main thread
 * only: restart the signer process when it died (mca_server_signer_check), pick up CRLs published
 * elsewhere (the CLI, another thread), republish the issuing CA's CRL every crl.refresh (and the
 * root's at half its validity while the root key is online; a warning a month before it runs out
 * otherwise), purge tokens that expired a day ago.  Errors are logged; the next tick tries again.
 */
#ifndef MCA_DAEMON_TICK_H
#define MCA_DAEMON_TICK_H

struct mca_server;
struct mca_store;

void mca_tick(struct mca_server *srv);

/*
 * On a database server (PostgreSQL) several instances may serve one
 * database: take the ACME nonce key they share (store/acme.h) into the
 * server's nonces (nonce.h) once it can be had.  mca_tick calls it; the
 * server's start too, so that the first nonces are shared already.
 */
void mca_tick_share_nonces(struct mca_server *srv, struct mca_store *st);

#endif
