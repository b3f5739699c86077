/*
 * proc.c - the signer process (see proc.h): load, jail, serve; and its
 * start from mtlscad (fork + exec, so that it shares no memory with the
 * HTTP process, also when restarted once threads run).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <syslog.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <seccomp.h>

#include "common/log.h"
#include "common/util.h"
#include "pki/keys.h"
#include "signer/lint.h"
#include "signer/p11uri.h"
#include "signer/pkcs11.h"
#include "signer/proc.h"
#include "signer/signer.h"

/* ---- frames ---- */

mca_rc
mca_sigframe_sendv(int fd, struct iovec *iov, size_t n, struct mca_error *err)
{
	struct msghdr m;
	ssize_t sent;

	memset(&m, 0, sizeof(m));
	while (n > 0) {
		m.msg_iov = iov;
		m.msg_iovlen = n;
		sent = sendmsg(fd, &m, MSG_NOSIGNAL);
		if (sent < 0 && errno == EINTR)
			continue;
		if (sent <= 0)
			return mca_error_set(err, MCA_ERR_IO, "signer channel: %s",
			                     sent < 0 ? strerror(errno) : "closed");
		for (; n > 0 && (size_t)sent >= iov->iov_len; iov++, n--)
			sent -= (ssize_t)iov->iov_len;
		if (n > 0) {
			iov->iov_base = (unsigned char *)iov->iov_base + sent;
			iov->iov_len -= (size_t)sent;
		}
	}
	return MCA_OK;
}

void
mca_sigframe_header_put(unsigned char hdr[5], unsigned op, size_t len)
{
	hdr[0] = (unsigned char)op;
	hdr[1] = (unsigned char)(len >> 24);
	hdr[2] = (unsigned char)(len >> 16);
	hdr[3] = (unsigned char)(len >> 8);
	hdr[4] = (unsigned char)len;
}

/* Exactly `len` octets; *got says how many came (for "truncated" vs "closed"). */
static mca_rc
read_all(int fd, unsigned char *p, size_t len, size_t *got, struct mca_error *err)
{
	ssize_t n;

	*got = 0;
	while (*got < len) {
		n = recv(fd, p + *got, len - *got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			return mca_error_set(err, MCA_ERR_IO, "signer channel: %s",
			                     *got ? "truncated frame" : "closed");
		if (n < 0)
			return mca_error_set(err, MCA_ERR_IO, "signer channel: %s",
			                     errno == EAGAIN || errno == EWOULDBLOCK
			                         ? "no answer in time (truncated frame?)"
			                         : strerror(errno));
		*got += (size_t)n;
	}
	return MCA_OK;
}

mca_rc
mca_sigframe_write(int fd, unsigned op, const void *a, size_t alen, const void *b, size_t blen,
                   struct mca_error *err)
{
	unsigned char hdr[5];
	struct iovec iov[3];
	size_t len = alen + blen, n = 0;

	if (op > 0xff ||
	    len > (op == MCA_SIGOP_SIGN_CRL ? MCA_SIGNER_CRL_FRAME_MAX : MCA_SIGNER_FRAME_MAX))
		return mca_error_set(err, MCA_ERR_INVAL,
		                     "signer frame of %zu octets over the bound", len);
	mca_sigframe_header_put(hdr, op, len);
	/* One sendmsg for the whole frame, not one send per part. */
	iov[n].iov_base = hdr;
	iov[n++].iov_len = sizeof(hdr);
	if (alen) {
		iov[n].iov_base = (void *)(uintptr_t)a;
		iov[n++].iov_len = alen;
	}
	if (blen) {
		iov[n].iov_base = (void *)(uintptr_t)b;
		iov[n++].iov_len = blen;
	}
	return mca_sigframe_sendv(fd, iov, n, err);
}

mca_rc
mca_sigframe_header(const unsigned char hdr[5], unsigned *op, size_t *len, struct mca_error *err)
{
	uint32_t n =
	    (uint32_t)hdr[1] << 24 | (uint32_t)hdr[2] << 16 | (uint32_t)hdr[3] << 8 | hdr[4];

	*op = hdr[0];
	*len = 0;
	/* A TBSCertList may be long; everything else is short (replies too: signatures). */
	if (n > (*op == MCA_SIGOP_SIGN_CRL ? MCA_SIGNER_CRL_FRAME_MAX : MCA_SIGNER_FRAME_MAX))
		return mca_error_set(
		    err, MCA_ERR_INVAL, "frame length %lu over the bound of %lu", (unsigned long)n,
		    (unsigned long)(*op == MCA_SIGOP_SIGN_CRL ? MCA_SIGNER_CRL_FRAME_MAX
		                                              : MCA_SIGNER_FRAME_MAX));
	*len = n;
	return MCA_OK;
}

mca_rc
mca_sigframe_read(int fd, unsigned *op, unsigned char **payload, size_t *len, struct mca_error *err)
{
	unsigned char hdr[5], *buf = NULL;
	size_t n = 0, got = 0;
	mca_rc rc;

	*payload = NULL;
	*len = 0;
	if ((rc = read_all(fd, hdr, sizeof(hdr), &got, err)) != MCA_OK ||
	    (rc = mca_sigframe_header(hdr, op, &n, err)) != MCA_OK)
		return rc;
	if (n == 0)
		return MCA_OK;
	buf = malloc(n);
	if (buf == NULL)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	if ((rc = read_all(fd, buf, n, &got, err)) != MCA_OK) {
		if (rc == MCA_ERR_IO && got == 0)
			mca_error_set(err, MCA_ERR_IO, "signer channel: truncated frame");
		free(buf);
		return rc;
	}
	*payload = buf;
	*len = n;
	return MCA_OK;
}

/* ---- buffered frames ---- */

void
mca_sigframe_rd_init(struct mca_sigframe_rd *rd, int fd)
{
	rd->fd = fd;
	rd->off = rd->len = 0;
}

int
mca_sigframe_rd_ready(const struct mca_sigframe_rd *rd)
{
	const unsigned char *h = rd->buf + rd->off;
	size_t avail = rd->len - rd->off;

	return avail >= 5 &&
	       avail - 5 >= ((size_t)h[1] << 24 | (size_t)h[2] << 16 | (size_t)h[3] << 8 | h[4]);
}

/* At least `want` (<= the buffer) octets buffered, or MCA_ERR_IO as read_all says it. */
static mca_rc
rd_fill(struct mca_sigframe_rd *rd, size_t want, struct mca_error *err)
{
	ssize_t n;

	if (rd->len - rd->off >= want)
		return MCA_OK;
	if (rd->off > 0) {
		memmove(rd->buf, rd->buf + rd->off, rd->len - rd->off);
		rd->len -= rd->off;
		rd->off = 0;
	}
	while (rd->len < want) {
		n = recv(rd->fd, rd->buf + rd->len, sizeof(rd->buf) - rd->len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			return mca_error_set(err, MCA_ERR_IO, "signer channel: %s",
			                     rd->len ? "truncated frame" : "closed");
		if (n < 0)
			return mca_error_set(err, MCA_ERR_IO, "signer channel: %s",
			                     errno == EAGAIN || errno == EWOULDBLOCK
			                         ? "no answer in time (truncated frame?)"
			                         : strerror(errno));
		rd->len += (size_t)n;
	}
	return MCA_OK;
}

mca_rc
mca_sigframe_rd_next(struct mca_sigframe_rd *rd, unsigned *op, unsigned char **payload, size_t *len,
                     struct mca_error *err)
{
	unsigned char *buf = NULL;
	size_t n = 0, have, got = 0;
	mca_rc rc;

	*payload = NULL;
	*len = 0;
	if ((rc = rd_fill(rd, 5, err)) != MCA_OK ||
	    (rc = mca_sigframe_header(rd->buf + rd->off, op, &n, err)) != MCA_OK)
		return rc;
	rd->off += 5;
	if (n == 0)
		return MCA_OK;
	/* A frame that fits is completed in the buffer; a longer one (a CRL) is read into its own.
	 */
	if (n <= sizeof(rd->buf) && (rc = rd_fill(rd, n, err)) != MCA_OK) {
		if (rc == MCA_ERR_IO &&
		    strcmp(err != NULL ? err->msg : "", "signer channel: closed") == 0)
			mca_error_set(err, MCA_ERR_IO, "signer channel: truncated frame");
		return rc;
	}
	buf = malloc(n);
	if (buf == NULL)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	have = rd->len - rd->off < n ? rd->len - rd->off : n;
	memcpy(buf, rd->buf + rd->off, have);
	rd->off += have;
	if (have < n && (rc = read_all(rd->fd, buf + have, n - have, &got, err)) != MCA_OK) {
		if (rc == MCA_ERR_IO && got == 0)
			mca_error_set(err, MCA_ERR_IO, "signer channel: truncated frame");
		free(buf);
		return rc;
	}
	if (rd->off == rd->len)
		rd->off = rd->len = 0;
	*payload = buf;
	*len = n;
	return MCA_OK;
}

/* ---- the process ---- */

struct key {
	struct mca_signer *signer; /* local: the key in this process */
	X509 *cert;
	struct mca_lint_ca lint;
	int64_t last_crl; /* the last CRL number signed; 0: none since start */
	unsigned char last_crl_hash[EVP_MAX_MD_SIZE]; /* of its TBS, zero-padded */
};

struct mca_signerproc {
	struct key ca, root;     /* root.signer NULL: offline */
	struct mca_signer *ocsp; /* the OCSP responder key, NULL: not started with one */
	char *tls_key_pem;       /* until handed over once */
};

static mca_rc
load_key(struct key *k, const char *key_path, const char *cert_path,
         const struct mca_signerproc_conf *c, struct mca_error *err)
{
	const struct mca_p11conf p11 = {c->pkcs11_module, c->pkcs11_pin_file};
	const unsigned char *alg;
	size_t alg_len = 0;
	mca_rc rc;

	if ((rc = mca_cert_load(cert_path, &k->cert, err)) != MCA_OK ||
	    (rc = mca_signer_open(key_path, c->passphrase_file, &p11, k->cert, cert_path,
	                          &k->signer, err)) != MCA_OK)
		return rc;
	alg = mca_signer_algor_der(k->signer, &alg_len);
	return mca_lint_ca_init(&k->lint, k->cert, alg, alg_len, err);
}

/* A fresh OCSP responder key, only ever in this process's memory. */
static mca_rc
ocsp_key_new(struct mca_signer **out, struct mca_error *err)
{
	EVP_PKEY *key = NULL;
	mca_rc rc;

	if ((rc = mca_key_generate(MCA_KEY_EC_P256, &key, err)) != MCA_OK)
		return rc;
	rc = mca_signer_local_new(key, out, err);
	EVP_PKEY_free(key);
	return rc;
}

/*
 * The OCSP responder key: c->ocsp_key (a key file, 0600 and with the
 * passphrase file, or a pkcs11: URI; errors say which setting), which may
 * not be a CA key; else a generated one.
 */
static mca_rc
ocsp_key_open(struct mca_signerproc *p, const struct mca_signerproc_conf *c, struct mca_error *err)
{
	const struct mca_p11conf p11 = {c->pkcs11_module, c->pkcs11_pin_file};
	struct mca_error e = {0};
	EVP_PKEY *k;
	mca_rc rc;

	if (c->ocsp_key == NULL)
		return ocsp_key_new(&p->ocsp, err);
	if ((rc = mca_signer_open(c->ocsp_key, c->passphrase_file, &p11, NULL, NULL, &p->ocsp,
	                          &e)) != MCA_OK)
		return mca_error_set(err, rc, "ocsp.responder_key: %s", e.msg);
	k = mca_signer_pubkey(p->ocsp);
	if (EVP_PKEY_eq(k, mca_signer_pubkey(p->ca.signer)) == 1 ||
	    (p->root.signer != NULL && EVP_PKEY_eq(k, mca_signer_pubkey(p->root.signer)) == 1)) {
		ERR_clear_error();
		return mca_error_set(err, MCA_ERR_CONFIG,
		                     "ocsp.responder_key: is a CA key; the responder needs a key "
		                     "of its own (CA keys sign no OCSP responses)");
	}
	ERR_clear_error();
	return MCA_OK;
}

mca_rc
mca_signerproc_open(const struct mca_signerproc_conf *c, struct mca_signerproc **out,
                    struct mca_error *err)
{
	struct mca_signerproc *p = NULL;
	EVP_PKEY *tls = NULL;
	char *pass = NULL;
	mca_rc rc;

	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	if ((rc = load_key(&p->ca, c->ca_key, c->ca_cert, c, err)) != MCA_OK ||
	    (c->root_key != NULL &&
	     (rc = load_key(&p->root, c->root_key, c->root_cert, c, err)) != MCA_OK))
		goto fail;
	if (c->ocsp && (rc = ocsp_key_open(p, c, err)) != MCA_OK)
		goto fail;
	if (c->tls_key != NULL) {
		if ((c->passphrase_file != NULL &&
		     (rc = mca_passphrase_read(c->passphrase_file, &pass, err)) != MCA_OK) ||
		    (rc = mca_key_load(c->tls_key, pass, &tls, err)) != MCA_OK ||
		    (rc = mca_key_to_pem(tls, &p->tls_key_pem, err)) != MCA_OK)
			goto fail;
	}
	EVP_PKEY_free(tls);
	mca_free_secret(pass);
	*out = p;
	return MCA_OK;
fail:
	EVP_PKEY_free(tls);
	mca_free_secret(pass);
	mca_signerproc_free(p);
	return rc;
}

void
mca_signerproc_free(struct mca_signerproc *p)
{
	if (p == NULL)
		return;
	mca_signer_free(p->ca.signer); /* EVP_PKEY_free: OpenSSL clears the private key */
	mca_signer_free(p->root.signer);
	mca_signer_free(p->ocsp);
	X509_free(p->ca.cert);
	X509_free(p->root.cert);
	mca_free_secret(p->tls_key_pem);
	free(p);
}

/*
 * The system calls the serving loop needs (signing, logging, memory, exit).
 * With `pkcs11` also what a PKCS#11 module needs to sign and to log in
 * again after the token went away (measured with strace on SoftHSM 2,
 * doc/pkcs11.md): openat (SoftHSM reads its object files at each
 * operation and rewrites token.object and generation at login: O_RDWR,
 * O_CREAT), ftruncate, lseek, fcntl locks and flags only (F_GETFL, F_GETFD,
 * F_SETLK, F_SETLKW, F_GETLK), and getdents64 (it lists the token
 * directory).  Still refused: unlink, rename, mkdir, exec, new network
 * connections.  A module that logs to syslog (SoftHSM does, on errors)
 * uses the socket mca_signerproc_jail connected before the filter; a new
 * socket fails with EACCES instead of killing the process.
 */
static mca_rc
install_seccomp(int pkcs11, struct mca_error *err)
{
	static const int allowed[] = {
	    SCMP_SYS(read),
	    SCMP_SYS(write),
	    SCMP_SYS(writev),
	    SCMP_SYS(recvfrom),
	    SCMP_SYS(sendto),
	    SCMP_SYS(recvmsg),
	    SCMP_SYS(sendmsg),
	    SCMP_SYS(poll),
	    SCMP_SYS(ppoll),
	    SCMP_SYS(close),
	    SCMP_SYS(brk),
	    SCMP_SYS(mmap),
	    SCMP_SYS(munmap),
	    SCMP_SYS(mremap),
	    SCMP_SYS(madvise),
	    SCMP_SYS(mprotect),
	    SCMP_SYS(futex),
	    SCMP_SYS(getrandom),
	    SCMP_SYS(clock_gettime),
	    SCMP_SYS(gettimeofday),
	    SCMP_SYS(time),
	    SCMP_SYS(getpid),
	    SCMP_SYS(gettid),
	    SCMP_SYS(fstat),
	    SCMP_SYS(newfstatat),
	    SCMP_SYS(rt_sigreturn),
	    SCMP_SYS(rt_sigprocmask),
	    SCMP_SYS(exit),
	    SCMP_SYS(exit_group),
	    SCMP_SYS(tgkill),
	    SCMP_SYS(sched_yield),
	    SCMP_SYS(nanosleep),
	    SCMP_SYS(clock_nanosleep),
	    /* the kernel's way back into a poll interrupted by SIGSTOP/SIGCONT */
	    SCMP_SYS(restart_syscall),
	};
	static const int p11_allowed[] = {SCMP_SYS(lseek), SCMP_SYS(getdents64), SCMP_SYS(openat),
	                                  SCMP_SYS(ftruncate)};
	static const int p11_fcntl[] = {F_GETFL, F_GETFD, F_SETLK, F_SETLKW, F_GETLK};
	scmp_filter_ctx ctx;
	size_t i;
	int r = 0;

	ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (ctx == NULL)
		return mca_error_set(err, MCA_ERR_CONFIG, "seccomp: cannot make a filter");
	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]) && r == 0; i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
	/* serve sets its own receive and send timeouts */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(setsockopt), 1,
		                     SCMP_A1(SCMP_CMP_EQ, SOL_SOCKET));
	for (i = 0; pkcs11 && i < sizeof(p11_allowed) / sizeof(p11_allowed[0]) && r == 0; i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, p11_allowed[i], 0);
	for (i = 0; pkcs11 && i < sizeof(p11_fcntl) / sizeof(p11_fcntl[0]) && r == 0; i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1,
		                     SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)p11_fcntl[i]));
	if (pkcs11 && r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 0);
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r != 0)
		return mca_error_set(
		    err, MCA_ERR_CONFIG,
		    "seccomp: cannot install the filter (%s); where seccomp is not "
		    "available, set %s=0",
		    strerror(-r), MCA_SIGNER_SECCOMP_ENV);
	return MCA_OK;
}

mca_rc
mca_signerproc_jail(const struct mca_signerproc_conf *c, struct mca_error *err)
{
	struct passwd *pw;
	int pkcs11;

	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return mca_error_set(err, MCA_ERR_CONFIG, "prctl: %s", strerror(errno));
	if (c->user != NULL && geteuid() == 0) {
		pw = getpwnam(c->user);
		if (pw == NULL)
			return mca_error_set(err, MCA_ERR_CONFIG, "signer_user '%s': no such user",
			                     c->user);
		if (setgroups(0, NULL) != 0 || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) != 0 ||
		    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) != 0)
			return mca_error_set(err, MCA_ERR_CONFIG, "signer_user '%s': %s", c->user,
			                     strerror(errno));
		/* setuid makes the process dumpable again */
		if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
			return mca_error_set(err, MCA_ERR_CONFIG, "prctl: %s", strerror(errno));
	}
	pkcs11 = mca_p11uri_is(c->ca_key) || mca_p11uri_is(c->root_key) ||
	         (c->ocsp && mca_p11uri_is(c->ocsp_key));
	/* the module's syslog messages: connect now, while socket() is allowed */
	if (pkcs11)
		openlog("mtlscad-signer", LOG_NDELAY | LOG_PID, LOG_DAEMON);
	return c->seccomp ? install_seccomp(pkcs11, err) : MCA_OK;
}

/* Reply with an error: status rc, "RULE\0MESSAGE". */
/*
 * The replies to the frames mca_signerproc_serve handles from one read of
 * `fd` are gathered here and sent with one sendmsg after the last of them
 * (replies_flush), so that a batch of requests costs the daemon one
 * wake-up, not one per reply.  fd -1: each reply is sent at once.
 */
static struct {
	int fd;
	unsigned char *buf;
	size_t len, cap;
} replies = {-1, NULL, 0, 0};

/* Send what is gathered; 0 when the channel failed. */
static int
replies_flush(void)
{
	struct iovec iov;
	int ok = 1;

	if (replies.len > 0) {
		iov.iov_base = replies.buf;
		iov.iov_len = replies.len;
		ok = mca_sigframe_sendv(replies.fd, &iov, 1, NULL) == MCA_OK;
		replies.len = 0;
	}
	return ok;
}

/* One reply frame: gathered for `fd` when it is the one being served, else sent. */
static int
reply_frame(int fd, unsigned op, const void *a, size_t alen, const void *b, size_t blen)
{
	size_t need = 5 + alen + blen, cap;
	unsigned char *p;

	if (fd != replies.fd || alen + blen > MCA_SIGNER_FRAME_MAX)
		return mca_sigframe_write(fd, op, a, alen, b, blen, NULL) == MCA_OK;
	if (replies.cap - replies.len < need) {
		cap = replies.cap ? replies.cap : 4096;
		while (cap - replies.len < need)
			cap *= 2;
		p = realloc(replies.buf, cap);
		if (p == NULL) /* send what is there, then this one alone */
			return replies_flush() &&
			       mca_sigframe_write(fd, op, a, alen, b, blen, NULL) == MCA_OK;
		replies.buf = p;
		replies.cap = cap;
	}
	p = replies.buf + replies.len;
	mca_sigframe_header_put(p, op, alen + blen);
	if (alen)
		memcpy(p + 5, a, alen);
	if (blen)
		memcpy(p + 5 + alen, b, blen);
	replies.len += need;
	return 1;
}

static int
reply_error(int fd, const struct mca_error *e)
{
	return reply_frame(fd, e->code ? (unsigned)e->code : MCA_ERR_INTERNAL, e->rule,
	                   strlen(e->rule) + 1, e->msg, strlen(e->msg));
}

static int
reply_ok(int fd, const unsigned char *data, size_t len)
{
	return reply_frame(fd, 0, data, len, NULL, 0);
}

/*
 * What the OCSP responder key does (PUBKEY, PROBE, SIGN_OCSP) and SIGN_OCSP
 * by the root; the responder key signs nothing else, the CA key no OCSP.
 */
static int
handle_ocsp(struct mca_signerproc *p, int fd, unsigned op, const unsigned char *pl, size_t len)
{
	struct mca_error e = {0};
	struct mca_signer *s = pl[0] == MCA_SIGKEY_OCSP ? p->ocsp : p->root.signer;
	X509 *ca = pl[0] == MCA_SIGKEY_OCSP ? p->ca.cert : p->root.cert;
	unsigned char *out = NULL;
	size_t out_len = 0;
	int len_i, ok;
	mca_rc rc;

	if (pl[0] == MCA_SIGKEY_CA) {
		mca_error_rule(&e, MCA_ERR_INTERNAL, "signer.lint.ocsp_key",
		               "signer refused: the CA key signs no OCSP responses (the "
		               "responder key does)");
		mca_log(MCA_LOG_WARN, "signer: %s", e.msg);
		return reply_error(fd, &e);
	}
	if (s == NULL) {
		mca_error_set(&e, MCA_ERR_NOTFOUND, "%s",
		              pl[0] == MCA_SIGKEY_OCSP ? "no OCSP responder key"
		                                       : "the root key is not online");
		return reply_error(fd, &e);
	}
	switch (op) {
	case MCA_SIGOP_PUBKEY:
		len_i = i2d_PUBKEY(mca_signer_pubkey(s), &out);
		if (len_i <= 0) {
			ERR_clear_error();
			mca_error_set(&e, MCA_ERR_CRYPTO, "encoding the public key");
			return reply_error(fd, &e);
		}
		ok = reply_ok(fd, out, (size_t)len_i);
		OPENSSL_free(out);
		return ok;
	case MCA_SIGOP_PROBE:
		rc = mca_signer_sign_probe(s, &out, &out_len, &e);
		break;
	case MCA_SIGOP_SIGN_OCSP:
		rc = mca_lint_ocsp(ca, mca_signer_pubkey(s), pl + 1, len - 1, (int64_t)time(NULL),
		                   &e);
		if (rc == MCA_OK)
			rc = mca_signer_sign(s, MCA_SIGN_OCSP, pl + 1, len - 1, &out, &out_len, &e);
		break;
	default:
		rc = mca_error_rule(&e, MCA_ERR_INTERNAL, "signer.lint.ocsp_key",
		                    "signer refused: the OCSP responder key signs OCSP "
		                    "responses only");
		break;
	}
	if (rc != MCA_OK) {
		mca_log(MCA_LOG_WARN, "signer: %s", e.msg);
		return reply_error(fd, &e);
	}
	ok = reply_ok(fd, out, out_len);
	free(out);
	return ok;
}

/*
 * One request.  Returns 0 when the connection must end (malformed, or the
 * reply could not be sent), 1 to keep serving it.
 */
static int
handle(struct mca_signerproc *p, int fd, unsigned op, const unsigned char *pl, size_t len)
{
	struct mca_error e = {0};
	struct key *k = NULL;
	unsigned char *out = NULL;
	size_t out_len = 0;
	unsigned char hash[EVP_MAX_MD_SIZE];
	const char *md = NULL;
	size_t hash_len = 0;
	int64_t number = 0;
	int len_i, ok, same;
	mca_rc rc;

	if (op == MCA_SIGOP_TLS_KEY) {
		if (len != 0) {
			mca_log(MCA_LOG_WARN,
			        "signer: malformed TLS_KEY frame: closing the connection");
			return 0;
		}
		if (p->tls_key_pem == NULL) {
			mca_error_set(&e, MCA_ERR_NOTFOUND, "no TLS key (handed over already?)");
			return reply_error(fd, &e);
		}
		ok = reply_ok(fd, (const unsigned char *)p->tls_key_pem, strlen(p->tls_key_pem));
		mca_free_secret(p->tls_key_pem);
		p->tls_key_pem = NULL;
		return ok;
	}
	if (op < MCA_SIGOP_SIGN_CERT || op > MCA_SIGOP_SIGN_OCSP || op == MCA_SIGOP_TLS_KEY) {
		mca_log(MCA_LOG_WARN, "signer: unknown op %u: closing the connection", op);
		return 0;
	}
	if (len < 1 || pl[0] < MCA_SIGKEY_CA || pl[0] > MCA_SIGKEY_OCSP ||
	    ((op == MCA_SIGOP_SIGN_CERT || op == MCA_SIGOP_SIGN_CRL || op == MCA_SIGOP_SIGN_OCSP) &&
	     len < 2) ||
	    ((op == MCA_SIGOP_PROBE || op == MCA_SIGOP_PUBKEY) && len != 1)) {
		mca_log(MCA_LOG_WARN,
		        "signer: malformed frame (op %u, %zu octets): closing the "
		        "connection",
		        op, len);
		return 0;
	}
	if (pl[0] == MCA_SIGKEY_OCSP || op == MCA_SIGOP_SIGN_OCSP)
		return handle_ocsp(p, fd, op, pl, len);
	k = pl[0] == MCA_SIGKEY_CA ? &p->ca : &p->root;
	if (k->signer == NULL) {
		mca_error_set(&e, MCA_ERR_NOTFOUND, "the root key is not online");
		return reply_error(fd, &e);
	}
	switch (op) {
	case MCA_SIGOP_PUBKEY:
		len_i = i2d_PUBKEY(mca_signer_pubkey(k->signer), &out);
		if (len_i <= 0) {
			ERR_clear_error();
			mca_error_set(&e, MCA_ERR_CRYPTO, "encoding the public key");
			return reply_error(fd, &e);
		}
		ok = reply_ok(fd, out, (size_t)len_i);
		OPENSSL_free(out);
		return ok;
	case MCA_SIGOP_PROBE:
		rc = mca_signer_sign_probe(k->signer, &out, &out_len, &e);
		break;
	case MCA_SIGOP_SIGN_CERT:
		if (k == &p->root) {
			rc = mca_error_rule(
			    &e, MCA_ERR_INTERNAL, "signer.lint.root",
			    "signer refused: the root key signs no certificates here");
			break;
		}
		rc = mca_lint_cert(&k->lint, pl + 1, len - 1, &e);
		if (rc == MCA_OK)
			rc = mca_signer_sign(k->signer, MCA_SIGN_CERT, pl + 1, len - 1, &out,
			                     &out_len, &e);
		break;
	default: /* MCA_SIGOP_SIGN_CRL */
		/*
		 * The very CRL signed last may be signed again (a store
		 * transaction that is rerun after a conflict builds the same
		 * bytes): the same statement, no new number.
		 */
		/*
		 * Hashed once: with the digest the key signs with, that digest is
		 * signed as it is (a million-entry TBS is 42 MB); else SHA-256.
		 */
		memset(hash, 0, sizeof(hash));
		md = mca_signer_digest_name(k->signer);
		if (md == NULL || !EVP_Q_digest(NULL, md, NULL, pl + 1, len - 1, hash, &hash_len)) {
			md = NULL;
			SHA256(pl + 1, len - 1, hash);
		}
		same = k->last_crl > 0 && memcmp(hash, k->last_crl_hash, sizeof(hash)) == 0;
		rc = mca_lint_crl(&k->lint, pl + 1, len - 1, same ? k->last_crl - 1 : k->last_crl,
		                  &number, &e);
		if (rc == MCA_OK)
			rc = md != NULL ? mca_signer_sign_digest(k->signer, hash, hash_len, &out,
			                                         &out_len, &e)
			                : mca_signer_sign(k->signer, MCA_SIGN_CRL, pl + 1, len - 1,
			                                  &out, &out_len, &e);
		if (rc == MCA_OK) {
			k->last_crl = number;
			memcpy(k->last_crl_hash, hash, sizeof(hash));
		}
		break;
	}
	if (rc != MCA_OK) {
		mca_log(MCA_LOG_WARN, "signer: %s", e.msg);
		return reply_error(fd, &e);
	}
	ok = reply_ok(fd, out, out_len);
	free(out);
	return ok;
}

void
mca_signerproc_serve(struct mca_signerproc *p, int *fds, size_t nfds)
{
	const struct timeval tv = {MCA_SIGNER_FRAME_TIMEOUT_S, 0};
	struct pollfd pfd[8];
	struct mca_sigframe_rd *rd = calloc(8, sizeof(*rd));
	struct mca_error e = {0};
	unsigned char *pl = NULL;
	size_t i, n, len = 0, open_fds = 0;
	unsigned op = 0;
	int more;

	n = nfds < 8 ? nfds : 8;
	if (rd == NULL) {
		mca_log(MCA_LOG_ERR, "signer: out of memory");
		n = 0;
	}
	for (i = 0; i < n; i++) {
		mca_sigframe_rd_init(&rd[i], fds[i]);
		/* The rest of a frame must follow its start without delay. */
		setsockopt(fds[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fds[i], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		pfd[i].fd = fds[i];
		pfd[i].events = POLLIN;
		open_fds += fds[i] >= 0;
	}
	while (open_fds > 0) {
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			mca_log(MCA_LOG_ERR, "signer: poll: %s", strerror(errno));
			break;
		}
		for (i = 0; i < n; i++) {
			if (pfd[i].fd < 0 || pfd[i].revents == 0)
				continue;
			/*
			 * Every frame that came with the same read, before polling
			 * again; their replies go out together.
			 */
			replies.fd = pfd[i].fd;
			do {
				more = 0;
				if (mca_sigframe_rd_next(&rd[i], &op, &pl, &len, &e) != MCA_OK ||
				    !handle(p, pfd[i].fd, op, pl, len) ||
				    (!mca_sigframe_rd_ready(&rd[i]) && !replies_flush())) {
					/* the replies to the frames before it still go out */
					replies_flush();
					/* "closed" is the normal end; anything else is worth a line
					 */
					if (e.code != MCA_OK &&
					    strcmp(e.msg, "signer channel: closed") != 0)
						mca_log(MCA_LOG_WARN,
						        "signer: %s: closing the connection",
						        e.msg);
					close(pfd[i].fd);
					pfd[i].fd = -1;
					fds[i] = -1;
					open_fds--;
				} else {
					more = mca_sigframe_rd_ready(&rd[i]);
				}
				mca_error_clear(&e);
				free(pl);
				pl = NULL;
			} while (more);
			replies.fd = -1;
		}
	}
	for (i = 0; i < n; i++)
		if (pfd[i].fd >= 0)
			close(pfd[i].fd);
	for (i = n; i < nfds; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(rd);
	free(replies.buf);
	replies.buf = NULL;
	replies.len = replies.cap = 0;
}

/* ---- the exec'd process and its start ---- */

int
mca_signerproc_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"signer-process", no_argument, NULL, 'S'},
	    {"ca-key", required_argument, NULL, 'k'},
	    {"ca-cert", required_argument, NULL, 'c'},
	    {"root-key", required_argument, NULL, 'K'},
	    {"root-cert", required_argument, NULL, 'C'},
	    {"passphrase-file", required_argument, NULL, 'p'},
	    {"tls-key", required_argument, NULL, 't'},
	    {"user", required_argument, NULL, 'u'},
	    {"pkcs11-module", required_argument, NULL, 'm'},
	    {"pkcs11-pin-file", required_argument, NULL, 'P'},
	    {"ocsp-key", no_argument, NULL, 'O'},
	    {"ocsp-responder-key", required_argument, NULL, 'R'},
	    {"log-level", required_argument, NULL, 'l'},
	    {NULL, 0, NULL, 0},
	};
	struct mca_signerproc_conf c;
	struct mca_signerproc *p = NULL;
	struct mca_error err = {0};
	const char *env = getenv(MCA_SIGNER_SECCOMP_ENV);
	int o, fd = MCA_SIGNER_FD, devnull;

	mca_log_set_ident("mtlscad-signer");
	signal(SIGPIPE, SIG_IGN);
	memset(&c, 0, sizeof(c));
	c.seccomp = env == NULL || strcmp(env, "0") != 0;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'S':
			break;
		case 'k':
			c.ca_key = optarg;
			break;
		case 'c':
			c.ca_cert = optarg;
			break;
		case 'K':
			c.root_key = optarg;
			break;
		case 'C':
			c.root_cert = optarg;
			break;
		case 'p':
			c.passphrase_file = optarg;
			break;
		case 't':
			c.tls_key = optarg;
			break;
		case 'u':
			c.user = optarg;
			break;
		case 'm':
			c.pkcs11_module = optarg;
			break;
		case 'P':
			c.pkcs11_pin_file = optarg;
			break;
		case 'O':
			c.ocsp = 1;
			break;
		case 'R':
			c.ocsp = 1;
			c.ocsp_key = optarg;
			break;
		case 'l':
			mca_log_set_level((enum mca_log_level)atoi(optarg));
			break;
		default:
			return 2;
		}
	}
	if (c.ca_key == NULL || c.ca_cert == NULL || (c.root_key != NULL) != (c.root_cert != NULL))
		return 2;
	devnull = open("/dev/null", O_RDWR);
	if (devnull >= 0) {
		dup2(devnull, STDIN_FILENO);
		dup2(devnull, STDOUT_FILENO);
		if (devnull > STDERR_FILENO)
			close(devnull);
	}
	if (mca_signerproc_open(&c, &p, &err) != MCA_OK ||
	    mca_signerproc_jail(&c, &err) != MCA_OK) {
		reply_error(fd, &err);
		mca_signerproc_free(p);
		return 1;
	}
	if (!reply_ok(fd, NULL, 0)) {
		mca_signerproc_free(p);
		return 1;
	}
	mca_log(MCA_LOG_DEBUG, "signer: serving");
	mca_signerproc_serve(p, &fd, 1);
	mca_signerproc_free(p);
	return 0;
}

/* The reply status and message of a failed HELLO into err. */
static mca_rc
hello_error(unsigned status, const unsigned char *pl, size_t len, struct mca_error *err)
{
	size_t r = pl ? strnlen((const char *)pl, len) : 0;
	mca_rc rc = status < MCA_ERR__COUNT ? (mca_rc)status : MCA_ERR_INTERNAL;

	if (pl == NULL || r >= len)
		return mca_error_set(err, rc, "the signer process failed to start");
	return mca_error_set(err, rc, "%.*s", (int)(len - r - 1), (const char *)pl + r + 1);
}

mca_rc
mca_signerproc_spawn(const char *exe, const struct mca_signerproc_conf *c, pid_t *pid, int *fd,
                     struct mca_error *err)
{
	const struct timeval tv = {60, 0}; /* loading encrypted keys takes a moment */
	char level[16];
	const char *argv[28];
	unsigned char *pl = NULL;
	size_t n = 0, len = 0;
	unsigned status = 0;
	int sv[2] = {-1, -1}, wstatus;
	pid_t child;
	mca_rc rc;

	*pid = -1;
	*fd = -1;
	snprintf(level, sizeof(level), "%d", (int)mca_log_get_level());
	argv[n++] = exe;
	argv[n++] = "--signer-process";
	argv[n++] = "--ca-key";
	argv[n++] = c->ca_key;
	argv[n++] = "--ca-cert";
	argv[n++] = c->ca_cert;
	if (c->root_key != NULL) {
		argv[n++] = "--root-key";
		argv[n++] = c->root_key;
		argv[n++] = "--root-cert";
		argv[n++] = c->root_cert;
	}
	if (c->passphrase_file != NULL) {
		argv[n++] = "--passphrase-file";
		argv[n++] = c->passphrase_file;
	}
	if (c->tls_key != NULL) {
		argv[n++] = "--tls-key";
		argv[n++] = c->tls_key;
	}
	if (c->ocsp && c->ocsp_key != NULL) {
		argv[n++] = "--ocsp-responder-key";
		argv[n++] = c->ocsp_key;
	} else if (c->ocsp) {
		argv[n++] = "--ocsp-key";
	}
	if (c->user != NULL) {
		argv[n++] = "--user";
		argv[n++] = c->user;
	}
	if (c->pkcs11_module != NULL) {
		argv[n++] = "--pkcs11-module";
		argv[n++] = c->pkcs11_module;
	}
	if (c->pkcs11_pin_file != NULL) {
		argv[n++] = "--pkcs11-pin-file";
		argv[n++] = c->pkcs11_pin_file;
	}
	argv[n++] = "--log-level";
	argv[n++] = level;
	argv[n] = NULL;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return mca_error_set(err, MCA_ERR_IO, "socketpair: %s", strerror(errno));
	child = fork();
	if (child < 0) {
		rc = mca_error_set(err, MCA_ERR_IO, "fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return rc;
	}
	if (child == 0) {
		/* Only async-signal-safe calls from here to exec. */
		sigset_t none;

		if (sv[1] == MCA_SIGNER_FD ? fcntl(sv[1], F_SETFD, 0) != 0
		                           : dup2(sv[1], MCA_SIGNER_FD) < 0)
			_exit(127);
		/* every other descriptor closed (stdin/out/err stay: the log) */
		if (close_range(MCA_SIGNER_FD + 1, ~0U, 0) != 0) {
			int i;

			for (i = MCA_SIGNER_FD + 1; i < 65536; i++)
				close(i);
		}
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execv(exe, (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	close(sv[1]);
	setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	rc = mca_sigframe_read(sv[0], &status, &pl, &len, err);
	if (rc == MCA_OK && status != 0)
		rc = hello_error(status, pl, len, err);
	else if (rc != MCA_OK)
		rc = mca_error_set(err, MCA_ERR_SIGNER, "the signer process failed to start (%s)",
		                   err->msg);
	free(pl);
	if (rc != MCA_OK) {
		close(sv[0]);
		kill(child, SIGKILL);
		while (waitpid(child, &wstatus, 0) < 0 && errno == EINTR)
			;
		return rc;
	}
	*pid = child;
	*fd = sv[0];
	return MCA_OK;
}
