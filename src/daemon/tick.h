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

void mca_tick(struct mca_server *srv);

#endif
