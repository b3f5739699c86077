/*
 * test_proc.c - the signer process (signer/proc.h) and its client backend
 * (signer/client.h), with a real process: the test forks one that loads a
 * throwaway CA's key from files, jails itself (seccomp included, unless
 * MTLSCAD_SECCOMP=0) and serves several socketpairs.
 *  - through the client: a valid TBSCertificate and TBSCertList are
 *    signed and verify with the CA key; the probe works; a foreign issuer,
 *    CA:TRUE, a validity past the CA's and a CRL number that does not
 *    increase are refused with the lint's rule and message; the public key
 *    is checked against the certificate; the root key, offline, is not
 *    served; the TLS key is handed over once.
 *  - frames: a length over the bound, an unknown op, a frame without its
 *    key octet and a truncated frame each end their connection (seen as
 *    end of file) with a line in the process's log, and the process keeps
 *    serving the other channel.
 *  - the process gone (SIGKILL): MCA_ERR_SIGNER, the channel down.
 *  - throughput of one mutexed channel (printed).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>

#include "common/util.h"
#include "signer/client.h"
#include "signer/proc.h"
#include "lintca.h"
#include "testutil.h"

#define NCHAN 5

static struct lca ca, foreign;
static char dir[256], key_path[300], cert_path[300], tls_path[300], log_path[300];
static pid_t child = -1;
static int raw[NCHAN]; /* our ends; raw[0] is the client's */
static struct mca_signer_chan *chan;
static struct mca_signer *cs; /* the client signer for the CA key */

static void
write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void
setup(void)
{
	struct mca_signerproc_conf c;
	struct mca_signerproc *p = NULL;
	struct mca_error err = {0};
	char *pem = NULL;
	int sv[NCHAN][2], theirs[NCHAN], i, lfd;
	const char *env = getenv(MCA_SIGNER_SECCOMP_ENV);

	lca_make(&ca, "Proc CA");
	lca_make(&foreign, "Foreign CA");
	tu_mkdtemp(dir, sizeof(dir), "proc");
	snprintf(key_path, sizeof(key_path), "%s/ca.key", dir);
	snprintf(cert_path, sizeof(cert_path), "%s/ca.crt", dir);
	snprintf(tls_path, sizeof(tls_path), "%s/server.key", dir);
	snprintf(log_path, sizeof(log_path), "%s/signer.log", dir);
	ck_assert_int_eq(mca_key_to_pem(ca.key, &pem, &err), MCA_OK);
	write_file(key_path, pem);
	mca_free_secret(pem);
	ck_assert_int_eq(mca_key_to_pem(foreign.key, &pem, &err), MCA_OK);
	write_file(tls_path, pem);
	mca_free_secret(pem);
	ck_assert_int_eq(mca_cert_save(cert_path, ca.cert, &err), MCA_OK);
	for (i = 0; i < NCHAN; i++) {
		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv[i]), 0);
		raw[i] = sv[i][0];
		theirs[i] = sv[i][1];
	}
	memset(&c, 0, sizeof(c));
	c.ca_key = key_path;
	c.ca_cert = cert_path;
	c.tls_key = tls_path;
	c.seccomp = env == NULL || strcmp(env, "0") != 0;
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		lfd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
		dup2(lfd, STDERR_FILENO);
		for (i = 0; i < NCHAN; i++)
			close(raw[i]);
		if (mca_signerproc_open(&c, &p, &err) != MCA_OK ||
		    mca_signerproc_jail(&c, &err) != MCA_OK) {
			fprintf(stderr, "signer: %s\n", err.msg);
			_exit(1);
		}
		mca_signerproc_serve(p, theirs, NCHAN);
		mca_signerproc_free(p);
		_exit(0); /* not exit(): no atexit work (sanitizers) under seccomp */
	}
	for (i = 0; i < NCHAN; i++)
		close(theirs[i]);
	ck_assert_int_eq(mca_signer_chan_new(raw[0], &chan, &err), MCA_OK);
	ck_assert_msg(mca_signer_client_new(chan, MCA_SIGKEY_CA, ca.cert, cert_path, &cs, &err) ==
	                  MCA_OK,
	              "%s", err.msg);
	ck_assert_str_eq(mca_signer_backend(cs), "process");
}

static void
teardown(void)
{
	int i, status = 0;

	mca_signer_free(cs);
	cs = NULL;
	mca_signer_chan_free(chan); /* closes raw[0] */
	chan = NULL;
	for (i = 1; i < NCHAN; i++)
		close(raw[i]);
	if (child > 0) {
		ck_assert_int_eq(waitpid(child, &status, 0), child);
		child = -1;
	}
	lca_free(&ca);
	lca_free(&foreign);
	tu_rmtree(dir);
}

/* The signed form of `tbs` through the client, verified with the CA key. */
static mca_rc
sign_via(enum mca_sign_kind kind, const unsigned char *tbs, size_t len, struct mca_error *err)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	size_t der_len = 0;
	X509 *x;
	X509_CRL *crl;
	mca_rc rc = mca_signer_wrap(cs, kind, tbs, len, &der, &der_len, err);

	if (rc != MCA_OK) {
		ck_assert_ptr_null(der);
		return rc;
	}
	p = der;
	if (kind == MCA_SIGN_CERT) {
		x = d2i_X509(NULL, &p, (long)der_len);
		ck_assert_ptr_nonnull(x);
		ck_assert_int_eq(X509_verify(x, ca.key), 1);
		X509_free(x);
	} else {
		crl = d2i_X509_CRL(NULL, &p, (long)der_len);
		ck_assert_ptr_nonnull(crl);
		ck_assert_int_eq(X509_CRL_verify(crl, ca.key), 1);
		X509_CRL_free(crl);
	}
	free(der);
	return MCA_OK;
}

static void
expect_refused(const struct leaf *l, const char *rule, const char *msg)
{
	struct mca_error err = {0};
	size_t len = 0;
	unsigned char *tbs = leaf_tbs(&ca, l, &len);

	ck_assert_int_eq(sign_via(MCA_SIGN_CERT, tbs, len, &err), MCA_ERR_INTERNAL);
	ck_assert_str_eq(err.rule, rule);
	ck_assert_str_eq(err.msg, msg);
	OPENSSL_free(tbs);
}

START_TEST(signs_and_refuses)
{
	struct mca_error err = {0};
	struct leaf l;
	unsigned char *tbs;
	size_t len = 0;

	memset(&l, 0, sizeof(l));
	tbs = leaf_tbs(&ca, &l, &len);
	ck_assert_msg(sign_via(MCA_SIGN_CERT, tbs, len, &err) == MCA_OK, "%s", err.msg);
	/* a TBSCertificate is not signed as a CRL */
	ck_assert_int_eq(sign_via(MCA_SIGN_CRL, tbs, len, &err), MCA_ERR_INTERNAL);
	ck_assert_str_eq(err.msg, "signer refused: not one DER TBSCertList");
	OPENSSL_free(tbs);
	ck_assert_msg(mca_signer_probe(cs, &err) == MCA_OK, "%s", err.msg);

	memset(&l, 0, sizeof(l));
	l.issuer = foreign.cert;
	expect_refused(&l, "signer.lint.issuer", "signer refused: issuer is not the CA's subject");
	memset(&l, 0, sizeof(l));
	l.ca = 1;
	expect_refused(&l, "signer.lint.ca", "signer refused: basicConstraints CA:TRUE");
	memset(&l, 0, sizeof(l));
	l.not_after = mca_asn1_time_unix(X509_get0_notAfter(ca.cert)) + 86400;
	expect_refused(&l, "signer.lint.validity",
	               "signer refused: notAfter is past the CA certificate's");

	/* CRLs: increasing numbers only, remembered by the process */
	tbs = crl_tbs(&ca, NULL, 3, &len);
	ck_assert_msg(sign_via(MCA_SIGN_CRL, tbs, len, &err) == MCA_OK, "%s", err.msg);
	/* the very same bytes again (a rerun store transaction): the same CRL, signed */
	ck_assert_msg(sign_via(MCA_SIGN_CRL, tbs, len, &err) == MCA_OK, "%s", err.msg);
	free(tbs);
	/* number 3 with other content: refused */
	tbs = crl_tbs_at(&ca, NULL, 3, 1000, &len);
	ck_assert_int_eq(sign_via(MCA_SIGN_CRL, tbs, len, &err), MCA_ERR_INTERNAL);
	ck_assert_str_eq(err.rule, "signer.lint.crl_number");
	ck_assert_str_eq(err.msg,
	                 "signer refused: CRL number 3 is not greater than 3, the last signed");
	free(tbs);
	tbs = crl_tbs(&ca, NULL, 2, &len);
	ck_assert_int_eq(sign_via(MCA_SIGN_CRL, tbs, len, &err), MCA_ERR_INTERNAL);
	free(tbs);
	tbs = crl_tbs(&ca, NULL, 4, &len);
	ck_assert_msg(sign_via(MCA_SIGN_CRL, tbs, len, &err) == MCA_OK, "%s", err.msg);
	free(tbs);
	tbs = crl_tbs(&ca, foreign.cert, 5, &len);
	ck_assert_int_eq(sign_via(MCA_SIGN_CRL, tbs, len, &err), MCA_ERR_INTERNAL);
	ck_assert_str_eq(err.msg, "signer refused: issuer is not the CA's subject");
	free(tbs);
	/* still serving after all the refusals */
	ck_assert_msg(mca_signer_probe(cs, &err) == MCA_OK, "%s", err.msg);
}
END_TEST

START_TEST(keys)
{
	struct mca_error err = {0};
	struct mca_signer *s = NULL;
	char *pem = NULL;

	/* the public key is checked against the certificate it is meant for */
	ck_assert_int_eq(
	    mca_signer_client_new(chan, MCA_SIGKEY_CA, foreign.cert, "foreign.crt", &s, &err),
	    MCA_ERR_CONFIG);
	ck_assert_str_eq(err.msg, "the signer process's key does not match foreign.crt");
	ck_assert_ptr_null(s);
	/* the root key is offline in this process */
	ck_assert_int_eq(mca_signer_client_new(chan, MCA_SIGKEY_ROOT, NULL, NULL, &s, &err),
	                 MCA_ERR_NOTFOUND);
	ck_assert_str_eq(err.msg, "the root key is not online");
	/* the TLS key, once */
	ck_assert_msg(mca_signer_chan_tls_key(chan, &pem, &err) == MCA_OK, "%s", err.msg);
	ck_assert_ptr_nonnull(strstr(pem, "-----BEGIN PRIVATE KEY-----"));
	mca_free_secret(pem);
	ck_assert_int_eq(mca_signer_chan_tls_key(chan, &pem, &err), MCA_ERR_NOTFOUND);
	ck_assert_ptr_null(pem);
	ck_assert_int_eq(mca_signer_chan_down(chan), 0);
}
END_TEST

/* The peer closed `fd` within a few seconds (recv gives end of file). */
static void
expect_closed(int fd)
{
	const struct timeval tv = {MCA_SIGNER_FRAME_TIMEOUT_S + 3, 0};
	unsigned char b[16];
	ssize_t n;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	n = recv(fd, b, sizeof(b), 0);
	ck_assert_msg(n == 0, "the signer kept the connection (recv %zd, %s)", n,
	              n < 0 ? strerror(errno) : "data");
}

START_TEST(malformed_frames)
{
	static const unsigned char too_long[] = {MCA_SIGOP_SIGN_CERT, 0x00, 0x01, 0x00, 0x01};
	static const unsigned char unknown[] = {0x63, 0, 0, 0, 1, MCA_SIGKEY_CA};
	static const unsigned char no_key[] = {MCA_SIGOP_PROBE, 0, 0, 0, 0};
	static const unsigned char truncated[] = {MCA_SIGOP_SIGN_CERT, 0, 0, 0, 100, 1, 0x30};
	struct mca_error err = {0};
	char *log;

	ck_assert_int_eq(write(raw[1], too_long, sizeof(too_long)), (ssize_t)sizeof(too_long));
	expect_closed(raw[1]);
	ck_assert_int_eq(write(raw[2], unknown, sizeof(unknown)), (ssize_t)sizeof(unknown));
	expect_closed(raw[2]);
	ck_assert_int_eq(write(raw[3], no_key, sizeof(no_key)), (ssize_t)sizeof(no_key));
	expect_closed(raw[3]);
	ck_assert_int_eq(write(raw[4], truncated, sizeof(truncated)), (ssize_t)sizeof(truncated));
	expect_closed(raw[4]);
	/* the other channel is served as before */
	ck_assert_msg(mca_signer_probe(cs, &err) == MCA_OK, "%s", err.msg);
	log = tu_read(log_path);
	ck_assert_msg(strstr(log, "frame length 65537 over the bound of 65536: closing the "
	                          "connection") != NULL,
	              "%s", log);
	ck_assert_msg(strstr(log, "unknown op 99: closing the connection") != NULL, "%s", log);
	ck_assert_msg(strstr(log, "malformed frame (op 3, 0 octets): closing the connection") !=
	                  NULL,
	              "%s", log);
	ck_assert_msg(strstr(log, "truncated frame") != NULL, "%s", log);
	free(log);
}
END_TEST

START_TEST(process_gone)
{
	struct mca_error err = {0};
	unsigned char *sig = NULL;
	size_t len = 0;
	int status = 0;

	ck_assert_int_eq(kill(child, SIGKILL), 0);
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	child = -1;
	ck_assert_int_eq(mca_signer_sign_probe(cs, &sig, &len, &err), MCA_ERR_SIGNER);
	ck_assert_ptr_nonnull(strstr(err.msg, "the signer process is unavailable"));
	ck_assert_int_eq(mca_signer_chan_down(chan), 1);
	/* and stays so, without touching a socket */
	ck_assert_int_eq(mca_signer_probe(cs, &err), MCA_ERR_SIGNER);
	ck_assert_str_eq(err.msg, "the signer process is unavailable");
}
END_TEST

/* What one pipelining thread did. */
struct piper {
	pthread_t thread;
	int n, ok, unavailable, wrong; /* wrong: a reply that is not its request's */
};

/*
 * Sign `n` distinct TBSCertificates (and a probe every fourth time) through
 * the one shared channel; every signed certificate must verify over its
 * own TBS, so a reply handed to the wrong request shows.
 */
static void *
pipe_worker(void *arg)
{
	struct piper *w = arg;
	struct mca_error err = {0};
	struct leaf l = {0};
	unsigned char *tbs, *der = NULL;
	const unsigned char *p;
	size_t len = 0, der_len = 0;
	X509 *x;
	mca_rc rc;
	int i;

	for (i = 0; i < w->n; i++) {
		if (i % 4 == 3) {
			rc = mca_signer_probe(cs, &err);
			w->ok += rc == MCA_OK;
			w->unavailable += rc == MCA_ERR_SIGNER;
			w->wrong += rc != MCA_OK && rc != MCA_ERR_SIGNER;
			continue;
		}
		tbs = leaf_tbs(&ca, &l, &len);
		rc = mca_signer_wrap(cs, MCA_SIGN_CERT, tbs, len, &der, &der_len, &err);
		if (rc == MCA_OK) {
			p = der;
			x = d2i_X509(NULL, &p, (long)der_len);
			if (x != NULL && X509_verify(x, ca.key) == 1)
				w->ok++;
			else
				w->wrong++;
			X509_free(x);
			free(der);
			der = NULL;
		} else if (rc == MCA_ERR_SIGNER) {
			w->unavailable++;
		} else {
			w->wrong++;
		}
		OPENSSL_free(tbs);
	}
	return NULL;
}

/* 8 threads, 100 requests each, on one channel: every reply is its request's. */
START_TEST(pipelined)
{
	struct piper w[8];
	int i;

	memset(w, 0, sizeof(w));
	for (i = 0; i < 8; i++) {
		w[i].n = 100;
		ck_assert_int_eq(pthread_create(&w[i].thread, NULL, pipe_worker, &w[i]), 0);
	}
	for (i = 0; i < 8; i++) {
		ck_assert_int_eq(pthread_join(w[i].thread, NULL), 0);
		ck_assert_int_eq(w[i].wrong, 0);
		ck_assert_int_eq(w[i].unavailable, 0);
		ck_assert_int_eq(w[i].ok, 100);
	}
	ck_assert_int_eq(mca_signer_chan_down(chan), 0);
}
END_TEST

/*
 * The process killed while 8 threads pipeline requests on its channel:
 * each request either got its own signature or MCA_ERR_SIGNER (none hangs,
 * none gets another's reply), and the channel is down afterwards.
 */
START_TEST(pipelined_process_gone)
{
	struct piper w[8];
	int i, status = 0, ok = 0;

	memset(w, 0, sizeof(w));
	for (i = 0; i < 8; i++) {
		w[i].n = 400;
		ck_assert_int_eq(pthread_create(&w[i].thread, NULL, pipe_worker, &w[i]), 0);
	}
	usleep(50 * 1000);
	ck_assert_int_eq(kill(child, SIGKILL), 0);
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	child = -1;
	for (i = 0; i < 8; i++) {
		ck_assert_int_eq(pthread_join(w[i].thread, NULL), 0);
		ck_assert_int_eq(w[i].wrong, 0);
		ck_assert_int_eq(w[i].ok + w[i].unavailable, 400);
		ok += w[i].ok;
	}
	ck_assert_int_lt(ok, 8 * 400);
	ck_assert_int_eq(mca_signer_chan_down(chan), 1);
}
END_TEST

/* One channel: how many certificate signatures a second (printed, not asserted). */
START_TEST(throughput)
{
	struct mca_error err = {0};
	struct leaf l = {0};
	struct timeval a, b;
	unsigned char *tbs, *sig = NULL;
	size_t len = 0, sig_len = 0;
	double secs;
	int i, n = 2000;

	tbs = leaf_tbs(&ca, &l, &len);
	gettimeofday(&a, NULL);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(mca_signer_sign(cs, MCA_SIGN_CERT, tbs, len, &sig, &sig_len, &err),
		                 MCA_OK);
		free(sig);
	}
	gettimeofday(&b, NULL);
	secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_usec - a.tv_usec) / 1e6;
	printf("signer process, one channel: %d P-256 certificate signatures in %.3f s = %.0f/s\n",
	       n, secs, n / secs);
	gettimeofday(&a, NULL);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(
		    mca_signer_sign(ca.signer, MCA_SIGN_CERT, tbs, len, &sig, &sig_len, &err),
		    MCA_OK);
		free(sig);
	}
	gettimeofday(&b, NULL);
	secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_usec - a.tv_usec) / 1e6;
	printf("in-process (local), for comparison: %d in %.3f s = %.0f/s\n", n, secs, n / secs);
	OPENSSL_free(tbs);
}
END_TEST

int
main(void)
{
	Suite *su = suite_create("proc");
	TCase *tc = tcase_create("proc");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, signs_and_refuses);
	tcase_add_test(tc, keys);
	tcase_add_test(tc, malformed_frames);
	tcase_add_test(tc, process_gone);
	tcase_add_test(tc, pipelined);
	tcase_add_test(tc, pipelined_process_gone);
	tcase_add_test(tc, throughput);
	suite_add_tcase(su, tc);
	sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
