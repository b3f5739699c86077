/*
 * client.h - the signer backend of mtlscad: a struct mca_signer whose
 * signatures are made by the signer process (signer/proc.h) over a
 * channel.
 *
 * One channel (a socket to the process) serves both keys and every
 * thread: requests are pipelined on it (each thread writes its frame, then
 * reads its reply in turn, in the order written), so the process always
 * has the next request waiting and one round trip is not the ceiling.  When the process
 * is gone or does not answer within MCA_SIGNER_TIMEOUT_S, the channel is
 * closed and every request fails with MCA_ERR_SIGNER until
 * mca_signer_chan_reset() gives it the socket of a new process.  The
 * public keys are asked once, when the signers are made.
 *
 * Thread-safety: every function may be called from any thread.
 */
#ifndef MCA_SIGNER_CLIENT_H
#define MCA_SIGNER_CLIENT_H

#include <openssl/x509.h>

#include "common/err.h"
#include "signer/signer.h"

#define MCA_SIGNER_TIMEOUT_S 10

struct mca_signer_chan;

/* A channel over `fd` (taken). */
mca_rc mca_signer_chan_new(int fd, struct mca_signer_chan **out, struct mca_error *err);

/* A new signer process: use `fd` (taken) from now on; the old one is closed. */
void mca_signer_chan_reset(struct mca_signer_chan *c, int fd);

/* Close the socket (requests fail until a reset); nothing when closed already. */
void mca_signer_chan_close(struct mca_signer_chan *c);

/* 1 when the channel has no process behind it (closed, or failed). */
int mca_signer_chan_down(struct mca_signer_chan *c);

/* Close and free; NULL is fine.  Signers over it must be freed first. */
void mca_signer_chan_free(struct mca_signer_chan *c);

/*
 * A signer over `c` for `key` (MCA_SIGKEY_CA, _ROOT or _OCSP): asks the process
 * for the public key and, when `cert` is not NULL, checks that it is the
 * certificate's (`cert_path` names it).  The channel must outlive it.
 */
mca_rc mca_signer_client_new(struct mca_signer_chan *c, int key, X509 *cert, const char *cert_path,
                             struct mca_signer **out, struct mca_error *err);

/* The server TLS key the process was started with, as PEM (mca_free_secret). */
mca_rc mca_signer_chan_tls_key(struct mca_signer_chan *c, char **pem, struct mca_error *err);

#endif
