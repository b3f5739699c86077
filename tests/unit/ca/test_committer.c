/*
 * test_committer.c - group commit: certificates recorded by many threads
 * at once all land, each with its audit row, and are visible to other
 * connections when the callers return; a duplicate serial fails alone
 * without taking its batch down; a record hook's writes commit with its
 * certificate, and its failure records neither.  Submitted without
 * waiting, each certificate hears its outcome once, in order, and only
 * when its row is visible to another connection (durable).
 */
#include "config.h" /* defines _GNU_SOURCE: nftw */

#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <openssl/x509.h>

#include "ca/committer.h"
#include "ca/pkiinit.h"
#include "ca/record.h"
#include "pki/certgen.h"
#include "pki/keys.h"
#include "pki/serial.h"
#include "signer/signer.h"
#include "store/store.h"
#include "testutil.h"

#define THREADS    8
#define PER_THREAD 25

static char tmpdir[PATH_MAX];
static char db[PATH_MAX + 32];
static struct mca_signer *signer;
static X509 *ca;
static EVP_PKEY *leafkey;

/* A CA made by init in a temporary directory; its issuing key signs the test leaves. */
static void
setup(void)
{
	struct mca_init_opts o;
	struct mca_init_result res;
	struct mca_error err = {0};
	char dir[PATH_MAX + 8], path[PATH_MAX + 32];

	tu_mkdtemp(tmpdir, sizeof(tmpdir), "committer");
	snprintf(dir, sizeof(dir), "%s/ca", tmpdir);
	memset(&o, 0, sizeof(o));
	o.dir = dir;
	o.name = "Committer Test";
	o.key_type = MCA_KEY_EC_P256;
	o.dns[0] = "localhost";
	o.listen = "127.0.0.1:0";
	o.http_listen = "127.0.0.1:0";
	o.public_url = "http://ca.test.internal:8080"; /* port 0 cannot go into certificates */
	ck_assert_msg(mca_init_run(&o, &res, &err) == MCA_OK, "init: %s", err.msg);
	snprintf(db, sizeof(db), "%s/mtlsca.db", dir);
	snprintf(path, sizeof(path), "%s/ca.key", dir);
	ck_assert_msg(mca_signer_load(path, NULL, NULL, NULL, &signer, &err) == MCA_OK, "%s",
	              err.msg);
	snprintf(path, sizeof(path), "%s/ca.crt", dir);
	ck_assert_msg(mca_cert_load(path, &ca, &err) == MCA_OK, "%s", err.msg);
	ck_assert_int_eq(mca_key_generate(MCA_KEY_EC_P256, &leafkey, &err), MCA_OK);
}

static void
teardown(void)
{
	EVP_PKEY_free(leafkey);
	X509_free(ca);
	mca_signer_free(signer);
	tu_rmtree(tmpdir);
}

/* A leaf with a fresh serial, signed by the test CA. */
static X509 *
leaf(void)
{
	struct mca_certgen g;
	struct mca_error err = {0};
	unsigned char serial[MCA_SERIAL_LEN];
	X509_NAME *subject = X509_NAME_new();
	X509 *x = NULL;

	ck_assert_int_eq(mca_serial_generate(serial, &err), MCA_OK);
	X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8, (const unsigned char *)"t", -1, -1,
	                           0);
	memset(&g, 0, sizeof(g));
	g.serial = serial;
	g.serial_len = sizeof(serial);
	g.subject = subject;
	g.pubkey = leafkey;
	g.issuer = ca;
	g.not_before = time(NULL) - 60;
	g.not_after = time(NULL) + 3600;
	g.key_usage = MCA_KU_DIGITAL_SIGNATURE;
	g.ext_key_usage = MCA_EKU_CLIENT_AUTH;
	ck_assert_int_eq(mca_certgen_build(&g, &x, &err), MCA_OK);
	ck_assert_int_eq(mca_signer_sign_cert(signer, &x, &err), MCA_OK);
	X509_NAME_free(subject);
	return x;
}

/* `x`'s row (mca_record_from_x509), recorded through the committer with `hook`. */
static mca_rc
record_x(struct mca_committer *c, X509 *x, const struct mca_record_hook *hook,
         struct mca_error *err)
{
	struct mca_cert_rec rec;
	mca_rc rc;

	ck_assert_int_eq(mca_record_from_x509(x, "private", "test", &rec, err), MCA_OK);
	rc = mca_committer_record_with(c, &rec, "test:actor", "issue", hook, err);
	if (rc == MCA_OK)
		ck_assert_ptr_null(rec.serial); /* moved into the queue */
	mca_cert_rec_clear(&rec);
	return rc;
}

/* `x`'s row submitted to the committer; the row is the committer's after MCA_OK. */
static mca_rc
submit_x(struct mca_committer *c, X509 *x, mca_committer_done_fn done, void *arg,
         struct mca_error *err)
{
	struct mca_cert_rec rec;
	mca_rc rc;

	ck_assert_int_eq(mca_record_from_x509(x, "private", "test", &rec, err), MCA_OK);
	rc = mca_committer_submit(c, &rec, "test:actor", "issue", NULL, done, arg, err);
	if (rc == MCA_OK)
		ck_assert_ptr_null(rec.der);
	mca_cert_rec_clear(&rec);
	return rc;
}

struct worker {
	struct mca_committer *c;
	int ok;
};

/* Record PER_THREAD leaves; count the successes. */
static void *
record_many(void *arg)
{
	struct worker *w = arg;
	struct mca_error err = {0};
	X509 *x;
	int i;

	for (i = 0; i < PER_THREAD; i++) {
		x = leaf();
		if (record_x(w->c, x, NULL, &err) == MCA_OK)
			w->ok++;
		X509_free(x);
	}
	return NULL;
}

/* Concurrent callers: every row lands with its audit row. */
START_TEST(test_concurrent)
{
	struct mca_committer *c = NULL;
	struct mca_store *st = NULL;
	struct mca_error err = {0};
	struct worker w[THREADS];
	pthread_t t[THREADS];
	int64_t before, audits_before;
	int i, total = 0;

	ck_assert_int_eq(mca_store_open(db, 0, &st, &err), MCA_OK);
	before = mca_store_count(st, "certificates");
	audits_before = mca_store_count(st, "audit");
	ck_assert_msg(mca_committer_new(db, &c, &err) == MCA_OK, "%s", err.msg);
	for (i = 0; i < THREADS; i++) {
		w[i].c = c;
		w[i].ok = 0;
		ck_assert_int_eq(pthread_create(&t[i], NULL, record_many, &w[i]), 0);
	}
	for (i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		total += w[i].ok;
	}
	ck_assert_int_eq(total, THREADS * PER_THREAD);
	/* Visible to another connection as soon as the callers returned. */
	ck_assert_int_eq(mca_store_count(st, "certificates"), before + THREADS * PER_THREAD);
	ck_assert_int_eq(mca_store_count(st, "audit"), audits_before + THREADS * PER_THREAD);
	mca_committer_free(c);
	mca_store_close(st);
}
END_TEST

struct dup {
	struct mca_committer *c;
	X509 *x;
	mca_rc rc;
};

static void *
record_one(void *arg)
{
	struct dup *d = arg;
	struct mca_error err = {0};

	d->rc = record_x(d->c, d->x, NULL, &err);
	return NULL;
}

/* The same serial twice at once: one is recorded, the other is EXISTS; others unharmed. */
START_TEST(test_duplicate_fails_alone)
{
	struct mca_committer *c = NULL;
	struct mca_store *st = NULL;
	struct mca_error err = {0};
	struct dup d[3];
	pthread_t t[3];
	int64_t before;
	X509 *same = leaf(), *other = leaf();
	int i, ok = 0, exists = 0;

	ck_assert_int_eq(mca_store_open(db, 0, &st, &err), MCA_OK);
	before = mca_store_count(st, "certificates");
	ck_assert_int_eq(mca_committer_new(db, &c, &err), MCA_OK);
	for (i = 0; i < 3; i++) {
		d[i].c = c;
		d[i].x = i < 2 ? same : other;
		ck_assert_int_eq(pthread_create(&t[i], NULL, record_one, &d[i]), 0);
	}
	for (i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < 2; i++) {
		ok += d[i].rc == MCA_OK;
		exists += d[i].rc == MCA_ERR_EXISTS;
	}
	ck_assert_int_eq(ok, 1);
	ck_assert_int_eq(exists, 1);
	ck_assert_int_eq(d[2].rc, MCA_OK);
	ck_assert_int_eq(mca_store_count(st, "certificates"), before + 2);
	mca_committer_free(c);
	mca_store_close(st);
	X509_free(same);
	X509_free(other);
}
END_TEST

struct hook_seen {
	char serial[MCA_SERIAL_HEX_MAX];
	mca_rc result; /* what the hook answers after writing its audit row */
};

/* A hook that writes a row of its own, then answers h->result. */
static mca_rc
audit_hook(void *arg, struct mca_store *st, const char *serial, struct mca_error *err)
{
	struct hook_seen *h = arg;
	mca_rc rc;

	snprintf(h->serial, sizeof(h->serial), "%s", serial);
	if ((rc = mca_store_audit(st, "test:hook", "hooked", serial, NULL, err)) != MCA_OK)
		return rc;
	if (h->result != MCA_OK)
		return mca_error_set(err, h->result, "the hook refuses %s", serial);
	return MCA_OK;
}

/* A record hook commits with its certificate, or takes it down with it. */
START_TEST(test_hook_same_transaction)
{
	struct mca_committer *c = NULL;
	struct mca_store *st = NULL;
	struct mca_cert_rec *rec = NULL;
	struct mca_error err = {0};
	struct hook_seen h;
	struct mca_record_hook hook = {audit_hook, &h};
	char serial[MCA_SERIAL_HEX_MAX];
	int64_t certs, audits;
	X509 *x = leaf(), *y = leaf();

	ck_assert_int_eq(mca_store_open(db, 0, &st, &err), MCA_OK);
	ck_assert_int_eq(mca_committer_new(db, &c, &err), MCA_OK);
	certs = mca_store_count(st, "certificates");
	audits = mca_store_count(st, "audit");

	memset(&h, 0, sizeof(h));
	h.result = MCA_OK;
	ck_assert_int_eq(record_x(c, x, &hook, &err), MCA_OK);
	ck_assert_int_eq(mca_serial_from_asn1(X509_get0_serialNumber(x), serial, &err), MCA_OK);
	ck_assert_str_eq(h.serial, serial);
	ck_assert_int_eq(mca_store_count(st, "certificates"), certs + 1);
	ck_assert_int_eq(mca_store_count(st, "audit"), audits + 2); /* issue + hooked */

	memset(&h, 0, sizeof(h));
	h.result = MCA_ERR_INTERNAL;
	ck_assert_int_eq(record_x(c, y, &hook, &err), MCA_ERR_INTERNAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "the hook refuses"));
	ck_assert_int_eq(mca_serial_from_asn1(X509_get0_serialNumber(y), serial, &err), MCA_OK);
	ck_assert_int_eq(mca_store_cert_get(st, serial, &rec, &err), MCA_ERR_NOTFOUND);
	ck_assert_int_eq(mca_store_count(st, "certificates"), certs + 1);
	ck_assert_int_eq(mca_store_count(st, "audit"), audits + 2);

	/* NULL hook: as mca_committer_record. */
	ck_assert_int_eq(record_x(c, y, NULL, &err), MCA_OK);
	ck_assert_int_eq(mca_store_count(st, "certificates"), certs + 2);
	mca_committer_free(c);
	mca_store_close(st);
	X509_free(x);
	X509_free(y);
}
END_TEST

/*
 * Token holds: as many as the uses the check saw, then refused until one
 * is released; tokens are counted apart; a token with no use left is never
 * held; releasing what is not held changes nothing.
 */
START_TEST(test_token_holds)
{
	static const char a[] = "0123456789abcdef", b[] = "fedcba9876543210";
	struct mca_committer *c = NULL;
	struct mca_error err = {0};

	ck_assert_int_eq(mca_committer_new(db, &c, &err), MCA_OK);
	ck_assert_int_eq(mca_committer_token_hold(c, a, 2), 1);
	ck_assert_int_eq(mca_committer_token_hold(c, a, 2), 1);
	ck_assert_int_eq(mca_committer_token_hold(c, a, 2), 0);
	/* a later check that saw more uses left (a refund elsewhere) allows more */
	ck_assert_int_eq(mca_committer_token_hold(c, a, 3), 1);
	ck_assert_int_eq(mca_committer_token_hold(c, b, 1), 1);
	ck_assert_int_eq(mca_committer_token_hold(c, b, 1), 0);
	mca_committer_token_release(c, a);
	ck_assert_int_eq(mca_committer_token_hold(c, a, 3), 1);
	ck_assert_int_eq(mca_committer_token_hold(c, a, 3), 0);
	ck_assert_int_eq(mca_committer_token_hold(c, "0000000000000000", 0), 0);
	mca_committer_token_release(c, "1111111111111111");
	/* an id longer than a token id is never held */
	ck_assert_int_eq(mca_committer_token_hold(c, "0123456789abcdef0", 5), 0);
	mca_committer_token_release(c, b);
	ck_assert_int_eq(mca_committer_token_hold(c, b, 1), 1);
	/* holds still taken are freed with the committer */
	mca_committer_free(c);
}
END_TEST

#define ASYNC_N 40

struct async_seen {
	pthread_mutex_t lock;
	struct mca_store *other; /* a second connection: what is committed */
	int64_t before;          /* rows before the test */
	int calls, ok, exists, early;
	int order[ASYNC_N + 1]; /* which job the n-th call was for */
};

struct async_job {
	struct async_seen *seen;
	int index;
};

/* The done callback: the row must be committed already (visible elsewhere). */
static void
async_done(void *arg, mca_rc rc, const struct mca_error *err)
{
	struct async_job *j = arg;
	struct async_seen *s = j->seen;
	int64_t n = mca_store_count(s->other, "certificates");

	pthread_mutex_lock(&s->lock);
	if (rc == MCA_OK) {
		s->ok++;
		/* this row and every OK one heard before it are committed */
		if (n < s->before + s->ok)
			s->early++;
	} else if (rc == MCA_ERR_EXISTS && err != NULL && err->msg[0] != '\0') {
		s->exists++;
	}
	if (s->calls <= ASYNC_N)
		s->order[s->calls] = j->index;
	s->calls++;
	pthread_mutex_unlock(&s->lock);
}

/*
 * mca_committer_submit: ASYNC_N distinct leaves and one duplicate of the
 * first; every done callback runs once, in submission order, after its
 * row is durable; the duplicate hears MCA_ERR_EXISTS and only it fails.
 */
START_TEST(test_submit_async)
{
	struct mca_committer *c = NULL;
	struct mca_error err = {0};
	struct async_seen s;
	struct async_job jobs[ASYNC_N + 1];
	X509 *x[ASYNC_N];
	int i;

	memset(&s, 0, sizeof(s));
	pthread_mutex_init(&s.lock, NULL);
	ck_assert_int_eq(mca_store_open(db, 0, &s.other, &err), MCA_OK);
	s.before = mca_store_count(s.other, "certificates");
	ck_assert_int_eq(mca_committer_new(db, &c, &err), MCA_OK);
	for (i = 0; i < ASYNC_N; i++) {
		x[i] = leaf();
		jobs[i].seen = &s;
		jobs[i].index = i;
		ck_assert_int_eq(submit_x(c, x[i], async_done, &jobs[i], &err), MCA_OK);
		X509_free(i == 0 ? NULL : x[i]); /* copied in: the caller may free it */
	}
	jobs[ASYNC_N].seen = &s;
	jobs[ASYNC_N].index = ASYNC_N;
	ck_assert_int_eq(submit_x(c, x[0], async_done, &jobs[ASYNC_N], &err), MCA_OK);
	X509_free(x[0]);
	mca_committer_free(c); /* commits what is queued first */
	ck_assert_int_eq(s.calls, ASYNC_N + 1);
	ck_assert_int_eq(s.ok, ASYNC_N);
	ck_assert_int_eq(s.exists, 1);
	ck_assert_int_eq(s.early, 0);
	for (i = 0; i <= ASYNC_N; i++)
		ck_assert_int_eq(s.order[i], i);
	ck_assert_int_eq(mca_store_count(s.other, "certificates"), s.before + ASYNC_N);
	mca_store_close(s.other);
	pthread_mutex_destroy(&s.lock);
}
END_TEST

/* The done calls heard so far. */
static int
calls_of(struct async_seen *s)
{
	int n;

	pthread_mutex_lock(&s->lock);
	n = s->calls;
	pthread_mutex_unlock(&s->lock);
	return n;
}

/*
 * mca_committer_plug: nothing queued while plugged is committed (not after
 * 300 ms, not while one of two nested plugs remains); the last unplug
 * lets every job through, each heard once, durable when heard.
 */
START_TEST(test_plug)
{
	enum { N = 3 };
	struct mca_committer *c = NULL;
	struct mca_error err = {0};
	struct async_seen s;
	struct async_job jobs[N];
	X509 *x;
	int i;

	memset(&s, 0, sizeof(s));
	pthread_mutex_init(&s.lock, NULL);
	ck_assert_int_eq(mca_store_open(db, 0, &s.other, &err), MCA_OK);
	s.before = mca_store_count(s.other, "certificates");
	ck_assert_int_eq(mca_committer_new(db, &c, &err), MCA_OK);
	mca_committer_plug(c);
	mca_committer_plug(c);
	for (i = 0; i < N; i++) {
		x = leaf();
		jobs[i].seen = &s;
		jobs[i].index = i;
		ck_assert_int_eq(submit_x(c, x, async_done, &jobs[i], &err), MCA_OK);
		X509_free(x);
	}
	usleep(300000);
	ck_assert_int_eq(calls_of(&s), 0);
	ck_assert_int_eq(mca_store_count(s.other, "certificates"), s.before);
	mca_committer_unplug(c);
	usleep(200000);
	ck_assert_int_eq(calls_of(&s), 0); /* one plug left */
	mca_committer_unplug(c);
	for (i = 0; i < 500 && calls_of(&s) < N; i++)
		usleep(10000);
	ck_assert_int_eq(calls_of(&s), N);
	ck_assert_int_eq(s.ok, N);
	ck_assert_int_eq(s.early, 0);
	ck_assert_int_eq(mca_store_count(s.other, "certificates"), s.before + N);
	mca_committer_free(c);
	mca_store_close(s.other);
	pthread_mutex_destroy(&s.lock);
}
END_TEST

/* Stopping with nothing queued is clean; a missing database is an error. */
START_TEST(test_lifecycle)
{
	struct mca_committer *c = NULL;
	struct mca_error err = {0};
	char missing[PATH_MAX + 32];

	ck_assert_int_eq(mca_committer_new(db, &c, &err), MCA_OK);
	mca_committer_free(c);
	snprintf(missing, sizeof(missing), "%s/none.db", tmpdir);
	c = NULL;
	ck_assert_int_eq(mca_committer_new(missing, &c, &err), MCA_ERR_NOTFOUND);
	ck_assert_ptr_null(c);
	mca_committer_free(NULL);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("committer");
	TCase *tc = tcase_create("committer");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_concurrent);
	tcase_add_test(tc, test_duplicate_fails_alone);
	tcase_add_test(tc, test_hook_same_transaction);
	tcase_add_test(tc, test_lifecycle);
	tcase_add_test(tc, test_token_holds);
	tcase_add_test(tc, test_submit_async);
	tcase_add_test(tc, test_plug);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
