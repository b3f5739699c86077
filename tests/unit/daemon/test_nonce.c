/*
 * test_nonce.c - unit tests of acme/nonce.h: self-authenticating ACME
 * nonces.  Issue and redeem, replay, forgeries (changed, made-up, wrong
 * length, another key as after a restart), expiry by the embedded time,
 * the bounded used-set (a nonce older than the window is refused, never
 * accepted twice), argument checks, and threads issuing and redeeming at
 * once (every nonce redeemed exactly once).
 */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <openssl/rand.h>

#include "common/b64url.h"
#include "daemon/nonce.h"

#define NOW      1700000000
#define LIFETIME 3600

static struct mca_nonces *
make(uint64_t window, int64_t lifetime)
{
	struct mca_error err = {0};
	struct mca_nonces *ns = NULL;

	ck_assert_msg(mca_nonces_new(window, lifetime, &ns, &err) == MCA_OK, "%s", err.msg);
	ck_assert_ptr_nonnull(ns);
	return ns;
}

static void
issue(struct mca_nonces *ns, int64_t now, char out[MCA_NONCE_LEN + 1])
{
	struct mca_error err = {0};

	memset(out, 'X', MCA_NONCE_LEN + 1);
	ck_assert_msg(mca_nonce_issue(ns, now, out, &err) == MCA_OK, "%s", err.msg);
	ck_assert_uint_eq(strlen(out), MCA_NONCE_LEN);
}

static void
assert_verdict(struct mca_nonces *ns, const char *n, int64_t now, enum mca_nonce_verdict want)
{
	enum mca_nonce_verdict v = mca_nonce_redeem(ns, n, now);

	ck_assert_msg(v == want, "nonce '%s': %s, want %s", n != NULL ? n : "(null)",
	              mca_nonce_verdict_str(v), mca_nonce_verdict_str(want));
}

START_TEST(test_issue_redeem)
{
	struct mca_nonces *ns = make(1024, LIFETIME);
	char a[MCA_NONCE_LEN + 1], b[MCA_NONCE_LEN + 1];

	issue(ns, NOW, a);
	issue(ns, NOW, b);
	ck_assert_str_ne(a, b);
	/* base64url, no padding: what clients put in a JWS header as is. */
	ck_assert_uint_eq(
	    strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
	    MCA_NONCE_LEN);
	/* Either order; a nonce need not be used before a later one. */
	assert_verdict(ns, b, NOW, MCA_NONCE_OK);
	assert_verdict(ns, a, NOW + 10, MCA_NONCE_OK);
	mca_nonces_free(ns);
}
END_TEST

START_TEST(test_replay)
{
	struct mca_nonces *ns = make(1024, LIFETIME);
	char a[MCA_NONCE_LEN + 1], b[MCA_NONCE_LEN + 1];
	int i;

	issue(ns, NOW, a);
	assert_verdict(ns, a, NOW, MCA_NONCE_OK);
	assert_verdict(ns, a, NOW, MCA_NONCE_USED);
	/* Still refused after many more nonces came and went inside the window. */
	for (i = 0; i < 500; i++) {
		issue(ns, NOW, b);
		assert_verdict(ns, b, NOW, MCA_NONCE_OK);
	}
	assert_verdict(ns, a, NOW + 1, MCA_NONCE_USED);
	ck_assert_str_eq(mca_nonce_verdict_str(MCA_NONCE_USED), "already used");
	mca_nonces_free(ns);
}
END_TEST

START_TEST(test_forged)
{
	struct mca_nonces *ns = make(1024, LIFETIME), *other = make(1024, LIFETIME);
	char a[MCA_NONCE_LEN + 1], f[MCA_NONCE_LEN + 2], *enc;
	unsigned char raw[32];
	size_t i;

	issue(ns, NOW, a);
	/* Each character changed (the last one also by its unused low bits: not canonical). */
	for (i = 0; i < MCA_NONCE_LEN; i++) {
		memcpy(f, a, sizeof(a));
		f[i] = f[i] == 'A' ? 'B' : 'A';
		assert_verdict(ns, f, NOW, MCA_NONCE_FORGED);
	}
	/* Made up: random octets of the right length. */
	ck_assert_int_eq(RAND_bytes(raw, sizeof(raw)), 1);
	enc = mca_b64url_encode(raw, sizeof(raw));
	ck_assert_ptr_nonnull(enc);
	ck_assert_uint_eq(strlen(enc), MCA_NONCE_LEN);
	assert_verdict(ns, enc, NOW, MCA_NONCE_FORGED);
	free(enc);
	/* Too short, too long, not base64url, empty, absent. */
	memcpy(f, a, sizeof(a));
	f[MCA_NONCE_LEN - 1] = '\0';
	assert_verdict(ns, f, NOW, MCA_NONCE_FORGED);
	memcpy(f, a, MCA_NONCE_LEN);
	f[MCA_NONCE_LEN] = 'A';
	f[MCA_NONCE_LEN + 1] = '\0';
	assert_verdict(ns, f, NOW, MCA_NONCE_FORGED);
	memcpy(f, a, sizeof(a));
	f[5] = '+';
	assert_verdict(ns, f, NOW, MCA_NONCE_FORGED);
	assert_verdict(ns, "", NOW, MCA_NONCE_FORGED);
	assert_verdict(ns, NULL, NOW, MCA_NONCE_FORGED);
	/* Another key (another process, or this one before a restart). */
	assert_verdict(other, a, NOW, MCA_NONCE_FORGED);
	/* None of that spent the real one. */
	assert_verdict(ns, a, NOW, MCA_NONCE_OK);
	mca_nonces_free(other);
	mca_nonces_free(ns);
}
END_TEST

START_TEST(test_expiry)
{
	struct mca_nonces *ns = make(1024, LIFETIME);
	char a[MCA_NONCE_LEN + 1], b[MCA_NONCE_LEN + 1], c[MCA_NONCE_LEN + 1];

	issue(ns, NOW, a);
	issue(ns, NOW, b);
	issue(ns, NOW, c);
	assert_verdict(ns, a, NOW + LIFETIME - 1, MCA_NONCE_OK);
	assert_verdict(ns, b, NOW + LIFETIME, MCA_NONCE_EXPIRED);
	assert_verdict(ns, c, NOW + 10 * LIFETIME, MCA_NONCE_EXPIRED);
	/* Expiry is not a use: the clock stepping back makes b good again, once. */
	assert_verdict(ns, b, NOW, MCA_NONCE_OK);
	assert_verdict(ns, b, NOW, MCA_NONCE_USED);
	/* A clock that went back after issuing does not refuse. */
	issue(ns, NOW + 100, a);
	assert_verdict(ns, a, NOW, MCA_NONCE_OK);
	mca_nonces_free(ns);
}
END_TEST

/*
 * The used-set is a window of `window` nonces: the newest ones issued.  A
 * nonce that many issues old is refused (the client retries with a fresh
 * one), so memory stays fixed and nothing is ever accepted twice.
 */
START_TEST(test_capacity)
{
	struct mca_nonces *ns = make(64, LIFETIME);
	char first[MCA_NONCE_LEN + 1], used[MCA_NONCE_LEN + 1], n[65][MCA_NONCE_LEN + 1];
	int i;

	issue(ns, NOW, used);
	assert_verdict(ns, used, NOW, MCA_NONCE_OK);
	issue(ns, NOW, first);
	for (i = 0; i < 63; i++)
		issue(ns, NOW, n[i]);
	/* 64 outstanding: all fit, the oldest included. */
	assert_verdict(ns, first, NOW, MCA_NONCE_OK);
	issue(ns, NOW, n[63]);
	issue(ns, NOW, n[64]);
	/* n[0] is now 65 issues old (n[64] reused its slot). */
	assert_verdict(ns, n[0], NOW, MCA_NONCE_EVICTED);
	assert_verdict(ns, used, NOW, MCA_NONCE_EVICTED);
	assert_verdict(ns, first, NOW, MCA_NONCE_EVICTED);
	for (i = 1; i < 65; i++)
		assert_verdict(ns, n[i], NOW, MCA_NONCE_OK);
	for (i = 1; i < 65; i++)
		assert_verdict(ns, n[i], NOW, MCA_NONCE_USED);
	ck_assert_ptr_nonnull(strstr(mca_nonce_verdict_str(MCA_NONCE_EVICTED), "old"));
	mca_nonces_free(ns);
}
END_TEST

START_TEST(test_args)
{
	struct mca_error err = {0};
	struct mca_nonces *ns = (struct mca_nonces *)&err;

	ck_assert_int_eq(mca_nonces_new(0, LIFETIME, &ns, &err), MCA_ERR_INVAL);
	ck_assert_ptr_null(ns);
	ck_assert_int_eq(mca_nonces_new(100, LIFETIME, &ns, &err), MCA_ERR_INVAL);
	ck_assert_int_eq(mca_nonces_new((uint64_t)1 << 33, LIFETIME, &ns, &err), MCA_ERR_INVAL);
	ck_assert_int_eq(mca_nonces_new(64, 0, &ns, &err), MCA_ERR_INVAL);
	ck_assert_ptr_null(ns);
	mca_nonces_free(NULL);
	ns = make(MCA_NONCE_WINDOW, MCA_NONCE_LIFETIME);
	mca_nonces_free(ns);
}
END_TEST

/* ---- threads ------------------------------------------------------------------- */

#define THREADS 8
#define PER     4000

static struct mca_nonces *shared;
static char (*pool)[MCA_NONCE_LEN + 1];

struct job {
	int index;
	int ok;     /* redeemed here */
	int failed; /* anything other than OK or USED, or an issue error */
};

/* Issue PER nonces into this thread's part of the pool. */
static void *
issuer(void *arg)
{
	struct job *j = arg;
	struct mca_error err = {0};
	int i;

	for (i = 0; i < PER; i++)
		if (mca_nonce_issue(shared, NOW, pool[j->index * PER + i], &err) != MCA_OK)
			j->failed++;
	return NULL;
}

/* Try to redeem every nonce of the pool, starting at this thread's part. */
static void *
redeemer(void *arg)
{
	struct job *j = arg;
	enum mca_nonce_verdict v;
	int i, k;

	for (i = 0; i < THREADS * PER; i++) {
		k = (j->index * PER + i) % (THREADS * PER);
		v = mca_nonce_redeem(shared, pool[k], NOW);
		if (v == MCA_NONCE_OK)
			j->ok++;
		else if (v != MCA_NONCE_USED)
			j->failed++;
	}
	return NULL;
}

static int
cmp(const void *a, const void *b)
{
	return memcmp(a, b, MCA_NONCE_LEN + 1);
}

START_TEST(test_threads)
{
	pthread_t t[THREADS];
	struct job jobs[THREADS];
	int i, ok = 0;

	shared = make((uint64_t)1 << 16, LIFETIME);
	pool = calloc(THREADS * PER, sizeof(*pool));
	ck_assert_ptr_nonnull(pool);
	memset(jobs, 0, sizeof(jobs));
	for (i = 0; i < THREADS; i++) {
		jobs[i].index = i;
		ck_assert_int_eq(pthread_create(&t[i], NULL, issuer, &jobs[i]), 0);
	}
	for (i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
	for (i = 0; i < THREADS; i++)
		ck_assert_int_eq(jobs[i].failed, 0);
	for (i = 0; i < THREADS; i++) {
		jobs[i].index = i;
		ck_assert_int_eq(pthread_create(&t[i], NULL, redeemer, &jobs[i]), 0);
	}
	for (i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
	for (i = 0; i < THREADS; i++) {
		ck_assert_msg(jobs[i].failed == 0, "thread %d: %d unexpected verdicts", i,
		              jobs[i].failed);
		ok += jobs[i].ok;
	}
	/* Every nonce exactly once, across all threads. */
	ck_assert_int_eq(ok, THREADS * PER);
	qsort(pool, THREADS * PER, sizeof(*pool), cmp);
	for (i = 1; i < THREADS * PER; i++)
		ck_assert_msg(memcmp(pool[i - 1], pool[i], sizeof(*pool)) != 0,
		              "nonce issued twice: %s", pool[i]);
	free(pool);
	mca_nonces_free(shared);
}
END_TEST

/*
 * Instances sharing a key (mca_nonces_share): each accepts the other's
 * nonces (the shared used-set of the database decides on reuse, not this
 * module), keeps refusing its own reused ones, and refuses what it issued
 * under its key from before the switch.  A third set with another key
 * still refuses them all.
 */
START_TEST(test_shared)
{
	static const unsigned char key[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
	struct mca_nonces *a = make(1024, LIFETIME), *b = make(1024, LIFETIME);
	struct mca_nonces *other = make(1024, LIFETIME);
	struct mca_error err = {0};
	char before[MCA_NONCE_LEN + 1], na[MCA_NONCE_LEN + 1], nb[MCA_NONCE_LEN + 1];

	issue(a, NOW, before);
	ck_assert_int_eq(mca_nonces_shared(a), 0);
	ck_assert_int_eq(mca_nonces_share(a, key, &err), MCA_OK);
	ck_assert_int_eq(mca_nonces_share(b, key, &err), MCA_OK);
	ck_assert_int_eq(mca_nonces_shared(a), 1);
	ck_assert_int_eq(mca_nonce_redeem(a, before, NOW), MCA_NONCE_FORGED);
	issue(a, NOW, na);
	issue(b, NOW, nb);
	ck_assert_str_ne(na, nb);
	ck_assert_int_eq(mca_nonce_redeem(b, na, NOW), MCA_NONCE_OK);
	ck_assert_int_eq(mca_nonce_redeem(a, nb, NOW), MCA_NONCE_OK);
	ck_assert_int_eq(mca_nonce_redeem(a, na, NOW), MCA_NONCE_OK);
	ck_assert_int_eq(mca_nonce_redeem(a, na, NOW), MCA_NONCE_USED);
	ck_assert_int_eq(mca_nonce_redeem(b, na, NOW + LIFETIME), MCA_NONCE_EXPIRED);
	ck_assert_int_eq(mca_nonce_redeem(other, na, NOW), MCA_NONCE_FORGED);
	/* Sharing the same key again changes nothing: na stays spent at a. */
	ck_assert_int_eq(mca_nonces_share(a, key, &err), MCA_OK);
	ck_assert_int_eq(mca_nonce_redeem(a, na, NOW), MCA_NONCE_USED);
	mca_nonces_free(a);
	mca_nonces_free(b);
	mca_nonces_free(other);
}
END_TEST

static Suite *
nonce_suite(void)
{
	Suite *s = suite_create("nonce");
	TCase *tc = tcase_create("nonce");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_issue_redeem);
	tcase_add_test(tc, test_replay);
	tcase_add_test(tc, test_forged);
	tcase_add_test(tc, test_expiry);
	tcase_add_test(tc, test_capacity);
	tcase_add_test(tc, test_args);
	tcase_add_test(tc, test_threads);
	tcase_add_test(tc, test_shared);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(nonce_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
