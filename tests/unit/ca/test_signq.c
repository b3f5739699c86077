/*
 * test_signq.c - unit tests of signq.h, the asynchronous issuing stage, on
 * a real CA directory (mca_init_run) with its group committer, and its
 * signer either in this process (the generic batch: one sign per item) or
 * a real signer process (forked, jailed, serving a socketpair: the batch
 * in one write).
 *  - N submissions from several threads all come back exactly once, each
 *    with its own certificate (its CSR's key, signed by the CA, recorded).
 *  - one job the signer process refuses (notAfter past the CA's, set
 *    after decide) fails alone with the lint's rule and message; the
 *    others are issued; and so in one mca_signer_sign_many batch.
 *  - the process stopped, a batch written to it, then killed: every job
 *    fails with MCA_ERR_SIGNER, nothing is recorded; after a new process
 *    (mca_signer_chan_reset) the next batch is issued.
 *  - shutdown with jobs queued behind a batch the process holds: the
 *    batch fails with MCA_ERR_SIGNER, every queued job with
 *    "the issuing stage is shutting down", each exactly once.
 */
#include "config.h"

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <openssl/x509v3.h>

#include "ca/committer.h"
#include "ca/conf.h"
#include "ca/issue.h"
#include "ca/pkiinit.h"
#include "ca/signq.h"
#include "common/util.h"
#include "pki/certgen.h"
#include "pki/csr.h"
#include "pki/keys.h"
#include "policy/profile.h"
#include "signer/client.h"
#include "signer/proc.h"
#include "store/store.h"
#include "testutil.h"

/* ---- the CA directory (parent process, once per test case): cadir.h ------ */

#define CADIR_TAG  "signq"
#define CADIR_NAME "Signq Test CA"
#include "cadir.h"

/* ---- per test: signer (local or process), issuer, committer, stage ------- */

enum backend { LOCAL, PROCESS };

static struct mca_conf *conf;
static X509 *ca_cert;
static struct mca_profiles *profiles;
static struct mca_store *store;
static struct mca_signer *signer;
static struct mca_signer_chan *chan;
static pid_t child = -1;
static struct mca_issuer *issuer;
static struct mca_committer *committer;
static struct mca_signq *q;

/* A signer process over a new socketpair: its pid in `child`, our end returned. */
static int
start_signer(void)
{
	struct mca_signerproc_conf c;
	struct mca_signerproc *p = NULL;
	struct mca_error err = {0};
	const char *env = getenv(MCA_SIGNER_SECCOMP_ENV);
	int sv[2];

	memset(&c, 0, sizeof(c));
	c.ca_key = conf->ca_key;
	c.ca_cert = conf->ca_cert;
	c.seccomp = env == NULL || strcmp(env, "0") != 0;
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		close(sv[0]);
		if (mca_signerproc_open(&c, &p, &err) != MCA_OK ||
		    mca_signerproc_jail(&c, &err) != MCA_OK) {
			fprintf(stderr, "signer: %s\n", err.msg);
			_exit(1);
		}
		mca_signerproc_serve(p, &sv[1], 1);
		mca_signerproc_free(p);
		_exit(0);
	}
	close(sv[1]);
	return sv[0];
}

static void
kill_signer(void)
{
	int status = 0;

	ck_assert_int_eq(kill(child, SIGKILL), 0);
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	child = -1;
}

static void
setup_with(enum backend b)
{
	struct mca_error err = {0};

	ck_assert_msg(mca_conf_load(conf_path, &conf, &err) == MCA_OK, "conf: %s", err.msg);
	ck_assert_msg(mca_cert_load(conf->ca_cert, &ca_cert, &err) == MCA_OK, "%s", err.msg);
	ck_assert_msg(mca_profiles_load(conf->templates_dir, &profiles, &err) == MCA_OK, "%s",
	              err.msg);
	ck_assert_msg(mca_store_open(conf->database, 0, &store, &err) == MCA_OK, "%s", err.msg);
	if (b == LOCAL) {
		ck_assert_msg(mca_signer_load(conf->ca_key, NULL, NULL, NULL, &signer, &err) ==
		                  MCA_OK,
		              "%s", err.msg);
	} else {
		ck_assert_int_eq(mca_signer_chan_new(start_signer(), &chan, &err), MCA_OK);
		ck_assert_msg(mca_signer_client_new(chan, MCA_SIGKEY_CA, ca_cert, conf->ca_cert,
		                                    &signer, &err) == MCA_OK,
		              "%s", err.msg);
	}
	ck_assert_msg(mca_issuer_new(signer, ca_cert, profiles, conf->crl_url, conf->ca_issuers_url,
	                             &issuer, &err) == MCA_OK,
	              "%s", err.msg);
	ck_assert_msg(mca_committer_new(conf->database, &committer, &err) == MCA_OK, "%s", err.msg);
	ck_assert_int_eq(mca_signq_new(&q, &err), MCA_OK);
}

static void
setup_process(void)
{
	setup_with(PROCESS);
}

static void
teardown(void)
{
	int status = 0;

	mca_signq_free(q);
	mca_committer_free(committer);
	mca_issuer_free(issuer);
	mca_signer_free(signer);
	mca_signer_chan_free(chan);
	if (child > 0)
		ck_assert_int_eq(waitpid(child, &status, 0), child);
	mca_store_close(store);
	mca_profiles_free(profiles);
	X509_free(ca_cert);
	mca_conf_free(conf);
	q = NULL;
	committer = NULL;
	issuer = NULL;
	signer = NULL;
	chan = NULL;
	child = -1;
	store = NULL;
	profiles = NULL;
	ca_cert = NULL;
	conf = NULL;
}

/* ---- jobs ------------------------------------------------------------------ */

/* One submission: its request, decision and outcome. */
struct slot {
	char name[80];
	const char *names[2];
	struct mca_csr *csr;
	struct mca_issue_req req;
	struct mca_decision d;
	struct mca_issued iss;
	int calls; /* times done ran */
	mca_rc rc;
	struct mca_error err;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t finished_cv = PTHREAD_COND_INITIALIZER;
static int finished;

static void
slot_done(void *arg, mca_rc rc, const struct mca_error *err)
{
	struct slot *s = arg;

	pthread_mutex_lock(&lock);
	s->calls++;
	s->rc = rc;
	if (err != NULL)
		s->err = *err;
	finished++;
	pthread_cond_broadcast(&finished_cv);
	pthread_mutex_unlock(&lock);
}

/* Wait until `n` jobs are done in all (30 s at most), then a little more for strays. */
static void
wait_done(int n)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 30;
	pthread_mutex_lock(&lock);
	while (finished < n)
		if (pthread_cond_timedwait(&finished_cv, &lock, &until) != 0)
			break;
	ck_assert_int_eq(finished, n);
	pthread_mutex_unlock(&lock);
	usleep(50 * 1000);
	pthread_mutex_lock(&lock);
	ck_assert_int_eq(finished, n); /* nobody called twice */
	pthread_mutex_unlock(&lock);
}

/* A CSR with a fresh P-256 key for the one DNS name `dns`. */
static struct mca_csr *
make_csr(const char *dns)
{
	struct mca_error err = {0};
	X509_REQ *req = X509_REQ_new();
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	STACK_OF(X509_EXTENSION) *exts = NULL;
	EVP_PKEY *key = NULL;
	struct mca_csr *csr = NULL;
	unsigned char *der = NULL;
	int der_len;

	ck_assert_int_eq(mca_key_generate(MCA_KEY_EC_P256, &key, &err), MCA_OK);
	ck_assert_int_eq(X509_REQ_set_version(req, 0), 1);
	ck_assert_int_eq(X509_REQ_set_pubkey(req, key), 1);
	ck_assert_int_eq(mca_san_add(gens, GEN_DNS, dns, &err), MCA_OK);
	ck_assert_int_eq(X509V3_add1_i2d(&exts, NID_subject_alt_name, gens, 0, 0), 1);
	ck_assert_int_eq(X509_REQ_add_extensions(req, exts), 1);
	ck_assert_int_gt(X509_REQ_sign(req, key, EVP_sha256()), 0);
	der_len = i2d_X509_REQ(req, &der);
	ck_assert_int_gt(der_len, 0);
	ck_assert_msg(mca_csr_parse(der, (size_t)der_len, &csr, &err) == MCA_OK, "%s", err.msg);
	OPENSSL_free(der);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	GENERAL_NAMES_free(gens);
	X509_REQ_free(req);
	EVP_PKEY_free(key);
	return csr;
}

/* Decide slot `s` for `tag` and index `i` (its own name and key). */
static void
slot_decide(struct slot *s, const char *tag, int i)
{
	struct mca_error err = {0};

	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s%d.signq.internal", tag, i);
	s->csr = make_csr(s->name);
	s->req.csr = s->csr;
	s->req.profile = "private";
	s->req.auth = MCA_ISSUE_ADMIN;
	s->req.committer = committer;
	s->req.requester = "test";
	s->req.actor = "test";
	s->req.action = "issue";
	ck_assert_msg(mca_issue_decide(issuer, store, &s->req, &s->d, &err) == MCA_OK, "%s",
	              err.msg);
}

static void
slot_submit(struct slot *s)
{
	struct mca_error err = {0};

	ck_assert_msg(mca_signq_submit(q, issuer, &s->req, &s->d, &s->iss, slot_done, s, &err) ==
	                  MCA_OK,
	              "%s", err.msg);
}

static void
slot_clear(struct slot *s)
{
	mca_issued_clear(&s->iss);
	mca_decision_clear(&s->d);
	mca_csr_free(s->csr);
}

/* Slot `s` came back once with its own certificate, recorded. */
static void
ck_issued(const struct slot *s)
{
	struct mca_error err = {0};
	struct mca_cert_rec *rec = NULL;
	X509 *x;

	ck_assert_int_eq(s->calls, 1);
	ck_assert_msg(s->rc == MCA_OK, "%s: %s", s->name, s->err.msg);
	x = mca_issued_x509(&s->iss);
	ck_assert_ptr_nonnull(x);
	ck_assert_int_eq(EVP_PKEY_eq(X509_get0_pubkey(x), s->csr->pubkey), 1);
	ck_assert_int_eq(X509_verify(x, X509_get0_pubkey(ca_cert)), 1);
	ck_assert_int_eq(X509_check_host(x, s->name, 0, 0, NULL), 1);
	X509_free(x);
	ck_assert_msg(mca_store_cert_get(store, s->iss.serial, &rec, &err) == MCA_OK, "%s",
	              err.msg);
	mca_cert_rec_free(rec);
}

/* Slot `s` failed once, with `rc`, nothing handed back or recorded. */
static void
ck_failed(const struct slot *s, mca_rc rc)
{
	ck_assert_int_eq(s->calls, 1);
	ck_assert_msg(s->rc == rc, "%s: %s (%s)", s->name, mca_rc_name(s->rc), s->err.msg);
	ck_assert_int_eq(s->err.code, rc);
	ck_assert_ptr_null(s->iss.der);
}

static int
certs_count(void)
{
	int64_t n = mca_store_count(store, "certificates");

	ck_assert_int_ge(n, 4); /* init's root, ca, server, admin */
	return (int)n;
}

/* ---- many at once ---------------------------------------------------------- */

#define THREADS    4
#define PER_THREAD 40

struct submitter {
	pthread_t t;
	struct slot *slots;
};

static void *
submit_all(void *arg)
{
	struct submitter *w = arg;
	int i;

	for (i = 0; i < PER_THREAD; i++)
		slot_submit(&w->slots[i]);
	return NULL;
}

/* Both signers: the generic batch (local) and the one-write batch (process). */
static const enum backend backends[] = {LOCAL, PROCESS};

START_TEST(test_concurrent)
{
	static struct slot slots[THREADS * PER_THREAD];
	struct submitter w[THREADS];
	int i, before;

	setup_with(backends[_i]);
	before = certs_count();
	for (i = 0; i < THREADS * PER_THREAD; i++)
		slot_decide(&slots[i], "many", i);
	for (i = 0; i < THREADS; i++) {
		w[i].slots = slots + i * PER_THREAD;
		ck_assert_int_eq(pthread_create(&w[i].t, NULL, submit_all, &w[i]), 0);
	}
	for (i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_join(w[i].t, NULL), 0);
	wait_done(THREADS * PER_THREAD);
	for (i = 0; i < THREADS * PER_THREAD; i++) {
		ck_issued(&slots[i]);
		/* distinct serials: nobody got another's certificate */
		if (i > 0)
			ck_assert_str_ne(slots[i].iss.serial, slots[i - 1].iss.serial);
	}
	ck_assert_int_eq(certs_count(), before + THREADS * PER_THREAD);
	for (i = 0; i < THREADS * PER_THREAD; i++)
		slot_clear(&slots[i]);
	teardown();
}
END_TEST

/* ---- one refusal ----------------------------------------------------------- */

START_TEST(test_one_refused)
{
	struct slot s[5];
	int i, before = certs_count();

	for (i = 0; i < 5; i++)
		slot_decide(&s[i], "refuse", i);
	/* Past what the policy allowed: the signer process's lint refuses it. */
	s[2].d.res.not_after = mca_asn1_time_unix(X509_get0_notAfter(ca_cert)) + 86400;
	for (i = 0; i < 5; i++)
		slot_submit(&s[i]);
	wait_done(5);
	for (i = 0; i < 5; i++)
		if (i != 2)
			ck_issued(&s[i]);
	ck_failed(&s[2], MCA_ERR_INTERNAL);
	ck_assert_str_eq(s[2].err.rule, "signer.lint.validity");
	ck_assert_str_eq(s[2].err.msg, "signer refused: notAfter is past the CA certificate's");
	ck_assert_int_eq(certs_count(), before + 4);
	for (i = 0; i < 5; i++)
		slot_clear(&s[i]);
}
END_TEST

/*
 * The same in one batch for certain: mca_signer_sign_many over the
 * process's channel (one write) with the refused TBS in the middle.
 */
START_TEST(test_batch_one_refused)
{
	struct mca_error err = {0};
	struct mca_issue_tbs t[3];
	struct mca_sign_item it[3], *many = NULL;
	struct mca_issued out;
	struct slot s[3];
	int i;

	for (i = 0; i < 3; i++) {
		slot_decide(&s[i], "batch", i);
		if (i == 1)
			s[i].d.res.not_after =
			    mca_asn1_time_unix(X509_get0_notAfter(ca_cert)) + 86400;
		ck_assert_int_eq(mca_issue_prepare(issuer, &s[i].d, &t[i], &err), MCA_OK);
		it[i].tbs = t[i].tbs;
		it[i].tbs_len = t[i].tbs_len;
	}
	mca_signer_sign_many(signer, MCA_SIGN_CERT, it, 3);
	ck_assert_int_eq(it[1].rc, MCA_ERR_INTERNAL);
	ck_assert_ptr_null(it[1].sig);
	ck_assert_str_eq(it[1].err.rule, "signer.lint.validity");
	ck_assert_str_eq(it[1].err.msg, "signer refused: notAfter is past the CA certificate's");
	for (i = 0; i < 3; i += 2) {
		ck_assert_msg(it[i].rc == MCA_OK, "%s", it[i].err.msg);
		ck_assert_msg(mca_issue_finish(issuer, &s[i].d, &t[i], it[i].sig, it[i].sig_len,
		                               &out, &err) == MCA_OK,
		              "%s", err.msg);
		mca_issued_clear(&out);
	}
	for (i = 0; i < 3; i++) {
		free(it[i].sig);
		mca_issue_tbs_clear(&t[i]);
		slot_clear(&s[i]);
	}
	/* over the bound: every item refused, nothing sent */
	many = calloc(MCA_SIGNER_MANY_MAX + 1, sizeof(*many));
	ck_assert_ptr_nonnull(many);
	mca_signer_sign_many(signer, MCA_SIGN_CERT, many, MCA_SIGNER_MANY_MAX + 1);
	ck_assert_int_eq(many[0].rc, MCA_ERR_INVAL);
	ck_assert_int_eq(many[MCA_SIGNER_MANY_MAX].rc, MCA_ERR_INVAL);
	ck_assert_str_eq(many[0].err.msg, "257 signatures in one batch: over the bound of 256");
	ck_assert_int_eq(mca_signer_chan_down(chan), 0);
	free(many);
}
END_TEST

/* ---- the process killed under a batch, then a new one ---------------------- */

START_TEST(test_signer_killed)
{
	struct slot s[20];
	int i, before = certs_count();

	for (i = 0; i < 20; i++)
		slot_decide(&s[i], "killed", i);
	ck_assert_int_eq(kill(child, SIGSTOP), 0);
	for (i = 0; i < 10; i++)
		slot_submit(&s[i]);
	usleep(100 * 1000); /* the batch is written; its replies never come */
	kill_signer();
	wait_done(10);
	for (i = 0; i < 10; i++) {
		ck_failed(&s[i], MCA_ERR_SIGNER);
		ck_assert_msg(strstr(s[i].err.msg, "the signer process is unavailable") != NULL,
		              "%s", s[i].err.msg);
	}
	ck_assert_int_eq(certs_count(), before);
	ck_assert_int_eq(mca_signer_chan_down(chan), 1);
	/* A new process: the next batch is issued. */
	mca_signer_chan_reset(chan, start_signer());
	for (i = 10; i < 20; i++)
		slot_submit(&s[i]);
	wait_done(20);
	for (i = 10; i < 20; i++)
		ck_issued(&s[i]);
	ck_assert_int_eq(certs_count(), before + 10);
	for (i = 0; i < 20; i++)
		slot_clear(&s[i]);
}
END_TEST

/* ---- shutdown with jobs queued --------------------------------------------- */

static void *
free_stage(void *arg)
{
	mca_signq_free(arg);
	return NULL;
}

START_TEST(test_shutdown_queued)
{
	struct slot s[12];
	pthread_t t;
	int i, shutting = 0, before = certs_count();

	for (i = 0; i < 12; i++)
		slot_decide(&s[i], "shutdown", i);
	ck_assert_int_eq(kill(child, SIGSTOP), 0);
	slot_submit(&s[0]);
	usleep(100 * 1000); /* the stage holds s[0]'s batch, waiting for the reply */
	for (i = 1; i < 12; i++)
		slot_submit(&s[i]);
	ck_assert_int_eq(pthread_create(&t, NULL, free_stage, q), 0);
	usleep(100 * 1000);
	kill_signer(); /* the batch in flight fails; the stage stops */
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	q = NULL;
	wait_done(12);
	for (i = 0; i < 12; i++) {
		ck_failed(&s[i], MCA_ERR_SIGNER);
		if (strcmp(s[i].err.msg, "the issuing stage is shutting down") == 0)
			shutting++;
		else
			ck_assert_msg(i == 0 && strstr(s[i].err.msg,
			                               "the signer process is unavailable") != NULL,
			              "%d: %s", i, s[i].err.msg);
	}
	ck_assert_int_ge(shutting, 11);
	ck_assert_int_eq(certs_count(), before);
	for (i = 0; i < 12; i++)
		slot_clear(&s[i]);
}
END_TEST

static Suite *
signq_suite(void)
{
	Suite *s = suite_create("signq");
	TCase *tc = tcase_create("signq");

	tcase_add_unchecked_fixture(tc, ca_setup, ca_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_concurrent, 0, (int)(sizeof(backends) / sizeof(backends[0])));
	suite_add_tcase(s, tc);
	tc = tcase_create("process");
	tcase_add_unchecked_fixture(tc, ca_setup, ca_teardown);
	tcase_add_checked_fixture(tc, setup_process, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_one_refused);
	tcase_add_test(tc, test_batch_one_refused);
	tcase_add_test(tc, test_signer_killed);
	tcase_add_test(tc, test_shutdown_queued);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(signq_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
