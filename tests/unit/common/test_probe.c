/*
 * test_probe.c - unit tests of probe.h: a check runs at most once per
 * interval, its result (healthy or not) is what callers get in between,
 * and concurrent callers share one run.
 */
#include "config.h"

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>

#include <check.h>

#include "common/probe.h"

#define SEC ((int64_t)1000000000)

struct fake {
	int healthy;
	int calls;
	int inside, max_inside; /* concurrent runs of the check */
	pthread_mutex_t lock;
};

static int
fake_check(void *arg)
{
	struct fake *f = arg;
	int ok;

	pthread_mutex_lock(&f->lock);
	f->calls++;
	if (++f->inside > f->max_inside)
		f->max_inside = f->inside;
	ok = f->healthy;
	pthread_mutex_unlock(&f->lock);
	sched_yield();
	pthread_mutex_lock(&f->lock);
	f->inside--;
	pthread_mutex_unlock(&f->lock);
	return ok;
}

static struct fake *
fake_new(int healthy)
{
	struct fake *f = calloc(1, sizeof(*f));

	ck_assert_ptr_nonnull(f);
	f->healthy = healthy;
	pthread_mutex_init(&f->lock, NULL);
	return f;
}

START_TEST(test_once_per_interval)
{
	struct fake *f = fake_new(1);
	struct mca_probe *p = mca_probe_new(5 * SEC, fake_check, f);
	int64_t t0 = 1000 * SEC, t;

	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(mca_probe_runs(p), 0);
	for (t = t0; t < t0 + 5 * SEC; t += SEC / 10)
		ck_assert_int_eq(mca_probe_ok(p, t), 1);
	ck_assert_int_eq(f->calls, 1);
	ck_assert_uint_eq(mca_probe_runs(p), 1);
	ck_assert_int_eq(mca_probe_ok(p, t0 + 5 * SEC), 1);
	ck_assert_int_eq(f->calls, 2);
	ck_assert_int_eq(mca_probe_ok(p, t0 + 9 * SEC), 1);
	ck_assert_int_eq(f->calls, 2);
	ck_assert_uint_eq(mca_probe_runs(p), 2);
	mca_probe_free(p);
	free(f);
}
END_TEST

START_TEST(test_failure_reported_and_cached)
{
	struct fake *f = fake_new(1);
	struct mca_probe *p = mca_probe_new(5 * SEC, fake_check, f);

	ck_assert_int_eq(mca_probe_ok(p, 0), 1);
	f->healthy = 0; /* the signer breaks: seen at the next interval */
	ck_assert_int_eq(mca_probe_ok(p, 4 * SEC), 1);
	ck_assert_int_eq(mca_probe_ok(p, 5 * SEC), 0);
	ck_assert_int_eq(mca_probe_ok(p, 6 * SEC), 0); /* cached failure, no new run */
	ck_assert_int_eq(f->calls, 2);
	f->healthy = 1;
	ck_assert_int_eq(mca_probe_ok(p, 9 * SEC), 0);
	ck_assert_int_eq(mca_probe_ok(p, 10 * SEC), 1);
	ck_assert_int_eq(f->calls, 3);
	mca_probe_free(p);
	free(f);
}
END_TEST

START_TEST(test_clock_backwards)
{
	struct fake *f = fake_new(1);
	struct mca_probe *p = mca_probe_new(5 * SEC, fake_check, f);

	mca_probe_ok(p, 100 * SEC);
	mca_probe_ok(p, 50 * SEC); /* not cached "forever" after a step back */
	ck_assert_int_eq(f->calls, 2);
	mca_probe_ok(p, 51 * SEC);
	ck_assert_int_eq(f->calls, 2);
	mca_probe_free(p);
	free(f);
}
END_TEST

struct worker {
	struct mca_probe *p;
	int bad;
};

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	int i;

	for (i = 0; i < 2000; i++)
		if (mca_probe_ok(w->p, 7 * SEC + (i % 3)) != 1)
			w->bad++;
	return NULL;
}

START_TEST(test_threads_share_one_run)
{
	struct fake *f = fake_new(1);
	struct mca_probe *p = mca_probe_new(5 * SEC, fake_check, f);
	pthread_t th[8];
	struct worker w[8];
	int i;

	for (i = 0; i < 8; i++) {
		w[i].p = p;
		w[i].bad = 0;
		ck_assert_int_eq(pthread_create(&th[i], NULL, worker_run, &w[i]), 0);
	}
	for (i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(w[i].bad, 0);
	}
	ck_assert_int_eq(f->calls, 1);
	ck_assert_int_eq(f->max_inside, 1);
	mca_probe_free(p);
	free(f);
}
END_TEST

static Suite *
probe_suite(void)
{
	Suite *s = suite_create("probe");
	TCase *tc = tcase_create("probe");

	tcase_add_test(tc, test_once_per_interval);
	tcase_add_test(tc, test_failure_reported_and_cached);
	tcase_add_test(tc, test_clock_backwards);
	tcase_add_test(tc, test_threads_share_one_run);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(probe_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
