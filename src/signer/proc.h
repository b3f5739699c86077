/*
 * proc.h - the signer process: the only process of mtlscad that holds the
 * CA's private keys (the issuing CA's, and the root's while it is online)
 * and reads the passphrase file.  In the manner of OpenBSD acme-client's
 * keyproc: it opens the keys, drops what it does not need (every other
 * descriptor, core dumps and ptrace by the same uid, new privileges, the
 * uid when started as root with signer_user, every system call but a few
 * under a seccomp allow-list) and serves a tiny fixed-format protocol on
 * its socket(s).  It checks before it signs (signer/lint.h).
 *
 * The protocol (both directions, over a SOCK_STREAM socketpair):
 *   frame = op or status (1 octet) | length (4 octets, big-endian,
 *           at most MCA_SIGNER_FRAME_MAX; a SIGN_CRL request at most
 *           MCA_SIGNER_CRL_FRAME_MAX) | payload (length octets)
 * Requests (op):
 *   SIGN_CERT  key octet | TBSCertificate DER     -> the signature
 *   SIGN_CRL   key octet | TBSCertList DER        -> the signature (its number
 *              must exceed the last signed, or the TBS be that one's, byte for byte)
 *   PROBE      key octet  (signs MCA_SIGNER_PROBE_MSG, nothing else) -> the signature
 *   PUBKEY     key octet                          -> SubjectPublicKeyInfo DER
 *   SIGN_OCSP  key octet | OCSP ResponseData DER  -> the signature (key OCSP:
 *              the delegated responder, for the issuing CA's certificates;
 *              key ROOT: the root, for the CA certificates it issued;
 *              signer/lint.h mca_lint_ocsp)
 *   TLS_KEY    (empty; once per process, only when started with one)
 *              -> the server TLS key, unencrypted PEM (so that the HTTP
 *              process never reads the passphrase file)
 * Replies: status 0 and the result, or status = an mca_rc and the payload
 * "RULE\0MESSAGE" (RULE may be empty).  The key octet is MCA_SIGKEY_CA,
 * MCA_SIGKEY_ROOT or MCA_SIGKEY_OCSP.  The OCSP responder key (started with
 * `ocsp`) is `ocsp_key` (a key file or a pkcs11: URI, opened like the CA
 * keys before the jail, and refused when it is the CA's or the root's key)
 * or else a P-256 key the process generates at start and never writes
 * out: it signs OCSP responses only, the CA key never does; the daemon
 * certifies it again whenever the process is new (daemon/ocspcache.h).
 * The first frame the process sends, unasked, is HELLO: status 0, or the
 * rc and message of why it could not start.
 * A frame that is too long, truncated (its rest does not arrive within
 * MCA_SIGNER_FRAME_TIMEOUT_S), of an unknown op or without its key octet
 * ends that connection (logged); the process keeps serving its others and
 * exits when none is left.
 *
 * Thread-safety: the frame functions are reentrant; the process side is
 * single-threaded by design.
 */
#ifndef MCA_SIGNER_PROC_H
#define MCA_SIGNER_PROC_H

#include <stddef.h>
#include <sys/uio.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

#define MCA_SIGNER_FRAME_MAX 65536
/* A CRL of some six million entries (pki/crl.h: about 40 octets each). */
#define MCA_SIGNER_CRL_FRAME_MAX   (256u << 20)
#define MCA_SIGNER_FRAME_TIMEOUT_S 2
/* The descriptor of its channel in the exec'd signer process. */
#define MCA_SIGNER_FD 3
/* Set to 0 where seccomp is not available (doc/mtlscad.md); anything else: required. */
#define MCA_SIGNER_SECCOMP_ENV "MTLSCAD_SECCOMP"

enum mca_sigop {
	MCA_SIGOP_HELLO = 0,
	MCA_SIGOP_SIGN_CERT = 1,
	MCA_SIGOP_SIGN_CRL = 2,
	MCA_SIGOP_PROBE = 3,
	MCA_SIGOP_PUBKEY = 4,
	MCA_SIGOP_TLS_KEY = 5,
	MCA_SIGOP_SIGN_OCSP = 6,
};

enum mca_sigkey {
	MCA_SIGKEY_CA = 1,
	MCA_SIGKEY_ROOT = 2,
	MCA_SIGKEY_OCSP = 3,
};

/* What a signer process loads.  Strings borrowed. */
struct mca_signerproc_conf {
	const char *ca_key, *ca_cert;     /* required */
	const char *root_key, *root_cert; /* NULL: the root key stays offline */
	const char *passphrase_file;      /* NULL: the keys are not encrypted */
	const char *pkcs11_module;        /* keys that are pkcs11: URIs (signer/pkcs11.h) */
	const char *pkcs11_pin_file;
	const char *tls_key;  /* NULL: no TLS_KEY op */
	const char *user;     /* when root: run as this user; NULL: stay */
	int seccomp;          /* install the allow-list (refuse if it fails) */
	int ocsp;             /* an OCSP responder key: ocsp_key, or generated */
	const char *ocsp_key; /* with ocsp: a key file or pkcs11: URI; NULL: generate */
};

/*
 * Write one frame: `op`, then a || b as the payload.  MCA_ERR_IO when the
 * peer is gone (no SIGPIPE), MCA_ERR_INVAL when over the bound.
 */
mca_rc mca_sigframe_write(int fd, unsigned op, const void *a, size_t alen, const void *b,
                          size_t blen, struct mca_error *err);

/* The 5 header octets of a frame of `op` with a `len`-octet payload. */
void mca_sigframe_header_put(unsigned char hdr[5], unsigned op, size_t len);

/*
 * Send all of the `n` buffers of `iov` (modified as they go) in as few
 * sendmsg calls as the socket takes: MCA_ERR_IO when the peer is gone (no
 * SIGPIPE).  For several frames at once.
 */
mca_rc mca_sigframe_sendv(int fd, struct iovec *iov, size_t n, struct mca_error *err);

/*
 * Check a frame header: the length (returned in *len) within the bound.
 * MCA_ERR_INVAL naming the problem otherwise.
 */
mca_rc mca_sigframe_header(const unsigned char hdr[5], unsigned *op, size_t *len,
                           struct mca_error *err);

/*
 * Read one frame; *payload is malloc'd (NULL when empty; the caller
 * frees).  MCA_ERR_IO on end of file or a truncated frame, MCA_ERR_INVAL
 * over the bound.
 */
mca_rc mca_sigframe_read(int fd, unsigned *op, unsigned char **payload, size_t *len,
                         struct mca_error *err);

/*
 * Buffered reading of the frames of one socket: a recv takes whatever has
 * arrived (several pipelined frames at once), so the next frame is often
 * there without a system call.  One reader at a time (the signer
 * process's loop; on the daemon's side the request whose turn it is).
 */
#define MCA_SIGFRAME_RDBUF 16384
struct mca_sigframe_rd {
	int fd;
	size_t off, len; /* buf[off..len) is read and not yet taken */
	unsigned char buf[MCA_SIGFRAME_RDBUF];
};

void mca_sigframe_rd_init(struct mca_sigframe_rd *rd, int fd);

/* Whether a whole frame is buffered already. */
int mca_sigframe_rd_ready(const struct mca_sigframe_rd *rd);

/*
 * The next frame, as mca_sigframe_read: *payload malloc'd (NULL when
 * empty), reading from the socket what is missing (blocking, within the
 * socket's timeouts).  Errors as mca_sigframe_read.
 */
mca_rc mca_sigframe_rd_next(struct mca_sigframe_rd *rd, unsigned *op, unsigned char **payload,
                            size_t *len, struct mca_error *err);

struct mca_signerproc;

/*
 * Load what `c` names: refuses key and passphrase files that group or
 * others may read ("chmod 600 FILE"), keys that do not match their
 * certificates.  Errors name the file.
 */
mca_rc mca_signerproc_open(const struct mca_signerproc_conf *c, struct mca_signerproc **out,
                           struct mca_error *err);

/*
 * Drop what the process does not need: PR_SET_DUMPABLE 0,
 * PR_SET_NO_NEW_PRIVS, the uid (c->user, when root), then (c->seccomp)
 * the seccomp allow-list.  Closing other descriptors is the caller's.
 */
mca_rc mca_signerproc_jail(const struct mca_signerproc_conf *c, struct mca_error *err);

/* Serve `fds` (taken: closed when done) until every one is closed. */
void mca_signerproc_serve(struct mca_signerproc *p, int *fds, size_t nfds);

/* Free what open loaded; keys and the TLS key are wiped. */
void mca_signerproc_free(struct mca_signerproc *p);

/*
 * The exec'd signer process (mtlscad --signer-process ...): its channel
 * is MCA_SIGNER_FD; open, jail, HELLO, serve.  Returns the exit status.
 */
int mca_signerproc_main(int argc, char **argv);

/*
 * Start a signer process: a socketpair, fork, and exec of `exe` (mtlscad)
 * with --signer-process and `c`; then wait for its HELLO.  On MCA_OK *pid
 * and *fd (our end) are the caller's; otherwise err says why the signer
 * could not start (its own message when it sent one) and it was reaped.
 * Safe to call once threads run (only async-signal-safe calls between fork
 * and exec).
 */
mca_rc mca_signerproc_spawn(const char *exe, const struct mca_signerproc_conf *c, pid_t *pid,
                            int *fd, struct mca_error *err);

#endif
