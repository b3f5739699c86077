/*
 * test_txn.c - mca_store_txn (store.h) and the backend registry behind
 * mca_store_open.
 *
 * The transaction helper is driven through a real SQLite store and, where
 * a conflict must be made to happen on demand, through a wrapper store:
 * the same connection under a copy of the SQLite ops table whose begin or
 * commit answers "conflict" (MCA_ERR_DB, rule MCA_STORE_CONFLICT) a given
 * number of times first.  One test makes a real conflict: a second
 * connection that cannot get the write lock.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "common/util.h"
#include "store/backend.h"
#include "store/store.h"
#include "testutil.h"

static char tmpdir[PATH_MAX];
static char db_path[PATH_MAX + 32];

/* With $MCA_TEST_PG (tu_pg) the tests run on that PostgreSQL database instead. */
static void
tmp_setup(void)
{
	tu_mkdtemp(tmpdir, sizeof(tmpdir), "txn");
	if (tu_pg() != NULL)
		snprintf(db_path, sizeof(db_path), "%s", tu_pg());
	else
		snprintf(db_path, sizeof(db_path), "%s/ca.db", tmpdir);
}

static void
tmp_teardown(void)
{
	tu_rmtree(tmpdir);
}

/* Each test (a forked child) starts from an empty database. */
static void
test_setup(void)
{
	if (tu_pg() != NULL)
		tu_pg_reset(db_path);
	else
		tu_db_remove(db_path);
}

static struct mca_store *
open_db(void)
{
	struct mca_error err = {0};
	struct mca_store *st = NULL;

	ck_assert_msg(mca_store_open(db_path, 1, &st, &err) == MCA_OK, "%s", err.msg);
	return st;
}

/* Certificates as a second connection sees them. */
static int64_t
other_count(void)
{
	struct mca_error err = {0};
	struct mca_store *o = NULL;
	int64_t n;

	ck_assert_msg(mca_store_open(db_path, 0, &o, &err) == MCA_OK, "%s", err.msg);
	n = mca_store_count(o, "certificates");
	mca_store_close(o);
	return n;
}

/* Insert certificate `serial` (a minimal row). */
static mca_rc
insert(struct mca_store *st, const char *serial, struct mca_error *err)
{
	static unsigned char der[] = {0x30, 0x03, 0x02, 0x01, 0x01};
	struct mca_cert_rec r;

	memset(&r, 0, sizeof(r));
	r.serial = (char *)(uintptr_t)serial;
	r.issuer = (char *)(uintptr_t) "CN=Test";
	r.profile = (char *)(uintptr_t) "private";
	r.der = der;
	r.der_len = sizeof(der);
	r.fingerprint = (char *)(uintptr_t)serial;
	r.requester = (char *)(uintptr_t) "test";
	r.not_after = 2000000000;
	return mca_store_cert_insert(st, &r, "test", "issue", err);
}

/* ---- a callback that says what to do on each call ---------------------- */

struct script {
	int calls;
	const char *serial;     /* inserted on every call (NULL: nothing) */
	mca_rc rc;              /* returned ... */
	int conflicts;          /* ... except on the first `conflicts` calls: a conflict */
	int nested_refuses;     /* run an inner transaction that refuses */
	struct mca_store *peer; /* try a transaction on this store from inside */
	mca_rc peer_rc;
	struct mca_error peer_err;
};

static mca_rc
scripted(struct mca_store *st, void *arg, struct mca_error *err)
{
	struct script *s = arg;
	mca_rc rc;

	s->calls++;
	if (s->serial != NULL && (rc = insert(st, s->serial, err)) != MCA_OK)
		return rc;
	if (s->peer != NULL) {
		struct script inner = {0};

		s->peer_rc = mca_store_txn(s->peer, scripted, &inner, &s->peer_err);
		ck_assert_int_eq(inner.calls, 0); /* never got the lock */
	}
	if (s->nested_refuses) {
		struct script inner = {.serial = "99", .rc = MCA_ERR_POLICY};

		ck_assert_int_eq(mca_store_txn(st, scripted, &inner, err), MCA_ERR_POLICY);
		ck_assert_int_eq(inner.calls, 1);
	}
	if (s->calls <= s->conflicts)
		return mca_error_rule(err, MCA_ERR_DB, MCA_STORE_CONFLICT, "scripted conflict");
	if (s->rc != MCA_OK)
		return mca_error_set(err, s->rc, "scripted refusal");
	return MCA_OK;
}

/* ---- a wrapper store whose begin/commit conflict on demand ------------- */

static const struct mca_store_ops *real_ops;
static struct mca_store_ops wrap_ops;
static int begin_calls, begin_conflicts, commit_calls, commit_conflicts;

static mca_rc
wrap_begin(void *impl, struct mca_error *err)
{
	if (++begin_calls <= begin_conflicts)
		return mca_error_rule(err, MCA_ERR_DB, MCA_STORE_CONFLICT,
		                      "injected busy at begin");
	return real_ops->begin(impl, err);
}

static mca_rc
wrap_commit(void *impl, struct mca_error *err)
{
	if (++commit_calls <= commit_conflicts)
		return mca_error_rule(err, MCA_ERR_DB, MCA_STORE_CONFLICT,
		                      "injected busy at commit");
	return real_ops->commit(impl, err);
}

static void
wrap_close(void *impl)
{
	(void)impl; /* the real store closes its connection */
}

/* A store over `real`'s connection through the conflicting wrapper. */
static struct mca_store *
wrap(struct mca_store *real)
{
	struct mca_error err = {0};
	struct mca_store *w = NULL;

	real_ops = mca_store_get_ops(real);
	wrap_ops = *real_ops;
	wrap_ops.begin = wrap_begin;
	wrap_ops.commit = wrap_commit;
	wrap_ops.close = wrap_close;
	begin_calls = commit_calls = 0;
	ck_assert_int_eq(mca_store_new(&wrap_ops, mca_store_get_impl(real), &w, &err), MCA_OK);
	return w;
}

/* ---- outcomes ----------------------------------------------------------- */

/* fn says ok: one call, committed, visible to another connection. */
START_TEST(test_commit_on_ok)
{
	struct mca_error err = {0};
	struct mca_store *st = open_db();
	struct script s = {.serial = "01"};

	ck_assert_int_eq(mca_store_txn(st, scripted, &s, &err), MCA_OK);
	ck_assert_int_eq(s.calls, 1);
	ck_assert_int_eq(other_count(), 1);
	mca_store_close(st);
}
END_TEST

/* fn refuses: rolled back, its error and message returned, never retried. */
static const mca_rc refusals[] = {MCA_ERR_POLICY, MCA_ERR_INTERNAL, MCA_ERR_EXISTS, MCA_ERR_DB};

START_TEST(test_rollback_on_refusal)
{
	struct mca_error err = {0};
	struct mca_store *st = open_db();
	struct script s = {.serial = "01", .rc = refusals[_i]};

	ck_assert_int_eq(mca_store_txn(st, scripted, &s, &err), refusals[_i]);
	ck_assert_int_eq(err.code, refusals[_i]);
	ck_assert_str_eq(err.msg, "scripted refusal");
	ck_assert_int_eq(s.calls, 1); /* a refusal, even MCA_ERR_DB, is not a conflict */
	ck_assert_int_eq(mca_store_count(st, "certificates"), 0);
	ck_assert_int_eq(mca_store_count(st, "audit"), 0);
	ck_assert_int_eq(other_count(), 0);
	mca_store_close(st);
}
END_TEST

/* A caller that passes no error record still gets the code. */
START_TEST(test_refusal_without_err)
{
	struct mca_store *st = open_db();
	struct script s = {.serial = "01", .rc = MCA_ERR_POLICY};

	ck_assert_int_eq(mca_store_txn(st, scripted, &s, NULL), MCA_ERR_POLICY);
	ck_assert_int_eq(mca_store_count(st, "certificates"), 0);
	mca_store_close(st);
}
END_TEST

/* ---- retries -------------------------------------------------------------- */

/* A conflict inside fn: rolled back (the row is not there twice) and run again. */
START_TEST(test_retry_conflict_in_fn)
{
	struct mca_error err = {0};
	struct mca_store *st = open_db();
	struct script s = {.serial = "01", .conflicts = MCA_STORE_TXN_ATTEMPTS - 1};

	ck_assert_msg(mca_store_txn(st, scripted, &s, &err) == MCA_OK, "%s", err.msg);
	ck_assert_int_eq(s.calls, MCA_STORE_TXN_ATTEMPTS);
	ck_assert_int_eq(other_count(), 1);
	mca_store_close(st);
}
END_TEST

/* Conflicts on every attempt: exactly MCA_STORE_TXN_ATTEMPTS runs, then the conflict. */
START_TEST(test_retry_bounded)
{
	struct mca_error err = {0};
	struct mca_store *st = open_db();
	struct script s = {.serial = "01", .conflicts = 1000};

	ck_assert_int_eq(mca_store_txn(st, scripted, &s, &err), MCA_ERR_DB);
	ck_assert(mca_store_conflict(MCA_ERR_DB, &err));
	ck_assert_str_eq(err.msg, "scripted conflict");
	ck_assert_int_eq(s.calls, MCA_STORE_TXN_ATTEMPTS);
	ck_assert_int_eq(other_count(), 0);
	mca_store_close(st);
}
END_TEST

/* begin conflicts (the lock was not had in time): begun again, fn runs once. */
START_TEST(test_retry_begin)
{
	struct mca_error err = {0};
	struct mca_store *st = open_db(), *w = wrap(st);
	struct script s = {.serial = "01"};

	begin_conflicts = 1;
	ck_assert_msg(mca_store_txn(w, scripted, &s, &err) == MCA_OK, "%s", err.msg);
	ck_assert_int_eq(begin_calls, 2);
	ck_assert_int_eq(s.calls, 1);
	ck_assert_int_eq(other_count(), 1);

	/* Always busy: bounded, fn never runs, the backend's error comes back. */
	begin_conflicts = 1000;
	begin_calls = 0;
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(mca_store_txn(w, scripted, &s, &err), MCA_ERR_DB);
	ck_assert_str_eq(err.msg, "injected busy at begin");
	ck_assert_int_eq(begin_calls, MCA_STORE_TXN_ATTEMPTS);
	ck_assert_int_eq(s.calls, 0);
	mca_store_close(w);
	mca_store_close(st);
}
END_TEST

/* commit conflicts: rolled back and the whole transaction run again. */
START_TEST(test_retry_commit)
{
	struct mca_error err = {0};
	struct mca_store *st = open_db(), *w = wrap(st);
	struct script s = {.serial = "01"};

	commit_conflicts = 1;
	ck_assert_msg(mca_store_txn(w, scripted, &s, &err) == MCA_OK, "%s", err.msg);
	ck_assert_int_eq(commit_calls, 2);
	ck_assert_int_eq(s.calls, 2); /* would be MCA_ERR_EXISTS had the first run stayed */
	ck_assert_int_eq(other_count(), 1);
	mca_store_close(w);
	mca_store_close(st);
}
END_TEST

/*
 * A real conflict: while one connection holds the write lock, a second
 * one (not waiting for locks) gets MCA_STORE_TXN_ATTEMPTS begins, no run
 * of its fn, and a conflict; afterwards it gets in.
 */
START_TEST(test_real_lock_conflict)
{
	struct mca_error err = {0};
	struct mca_store *st = open_db(), *other = NULL, *w;
	struct script s = {.serial = "01"}, again = {.serial = "02"};

	ck_assert_int_eq(mca_store_open(db_path, 0, &other, &err), MCA_OK);
	mca_store_lock_wait(other, 0);
	w = wrap(other);
	s.peer = w;
	ck_assert_msg(mca_store_txn(st, scripted, &s, &err) == MCA_OK, "%s", err.msg);
	ck_assert_int_eq(s.peer_rc, MCA_ERR_DB);
	ck_assert_msg(mca_store_conflict(s.peer_rc, &s.peer_err), "%s", s.peer_err.msg);
	ck_assert_int_eq(begin_calls, MCA_STORE_TXN_ATTEMPTS);
	ck_assert_int_eq(mca_store_txn(w, scripted, &again, &err), MCA_OK);
	ck_assert_int_eq(other_count(), 2);
	mca_store_close(w);
	mca_store_close(other);
	mca_store_close(st);
}
END_TEST

/* ---- nesting -------------------------------------------------------------- */

/* An inner refusal rolls back the inner writes only; the outer commits its own. */
START_TEST(test_nested_refusal)
{
	struct mca_error err = {0};
	struct mca_store *st = open_db();
	struct mca_cert_rec *got = NULL;
	struct script s = {.serial = "01", .nested_refuses = 1};

	ck_assert_msg(mca_store_txn(st, scripted, &s, &err) == MCA_OK, "%s", err.msg);
	ck_assert_int_eq(other_count(), 1);
	ck_assert_int_eq(mca_store_cert_get(st, "99", &got, &err), MCA_ERR_NOTFOUND);
	ck_assert_int_eq(mca_store_count(st, "audit"), 1);
	mca_store_close(st);
}
END_TEST

/* Inner transaction that conflicts once: not retried inside, the outer reruns all. */
struct outer {
	int calls;
	struct script inner;
};

static mca_rc
outer_with_conflicting_inner(struct mca_store *st, void *arg, struct mca_error *err)
{
	struct outer *o = arg;
	mca_rc rc;

	o->calls++;
	if ((rc = insert(st, "01", err)) != MCA_OK)
		return rc;
	return mca_store_txn(st, scripted, &o->inner, err);
}

START_TEST(test_nested_conflict_goes_up)
{
	struct mca_error err = {0};
	struct mca_store *st = open_db();
	struct outer o = {.inner = {.serial = "02", .conflicts = 1}};

	ck_assert_msg(mca_store_txn(st, outer_with_conflicting_inner, &o, &err) == MCA_OK, "%s",
	              err.msg);
	ck_assert_int_eq(o.calls, 2);       /* the outer ran again ... */
	ck_assert_int_eq(o.inner.calls, 2); /* ... and the inner once per outer run */
	ck_assert_int_eq(other_count(), 2);
	mca_store_close(st);
}
END_TEST

/* ---- the backend registry ----------------------------------------------- */

struct open_case {
	const char *prefix;   /* put before the temporary directory; NULL: `database` alone */
	const char *database; /* the file name in the temporary directory, or the whole string */
	mca_rc rc;
	const char *msg_has; /* in err.msg on failure */
	const char *msg_lacks;
};

static const struct open_case open_cases[] = {
    {"", "plain.db", MCA_OK, NULL, NULL},
    {"sqlite:", "prefixed.db", MCA_OK, NULL, NULL},
    /* PostgreSQL, nothing listening: the connection fails, never showing the password. */
    {NULL, "postgresql://mca:s3cret@127.0.0.1:1/mtlsca?connect_timeout=2", MCA_ERR_DB,
     "postgresql db=mtlsca host=127.0.0.1 port=1", "s3cret"},
    {NULL, "postgres://mca:s3cret@127.0.0.1:1/mtlsca?connect_timeout=2", MCA_ERR_DB,
     "postgresql db=mtlsca", "s3cret"},
    {NULL, "host=127.0.0.1 port=1 dbname=ca password=s3cret connect_timeout=2", MCA_ERR_DB,
     "postgresql db=ca host=127.0.0.1", "s3cret"},
    /* A URI libpq cannot parse: its message (which quotes the URI) is not passed on. */
    {NULL, "postgresql://mca:s3cret@[::1/mtlsca", MCA_ERR_CONFIG, "not a valid PostgreSQL",
     "s3cret"},
    {NULL, "mysql://mca:s3cret@db.example/mtlsca", MCA_ERR_CONFIG, "unknown backend \"mysql://\"",
     "s3cret"},
    {NULL, "sqlite:", MCA_ERR_CONFIG, "without a path", NULL},
    {NULL, "", MCA_ERR_CONFIG, "not set", NULL},
};

START_TEST(test_open_registry)
{
	const struct open_case *c = &open_cases[_i];
	struct mca_error err = {0};
	struct mca_store *st = NULL;
	char database[PATH_MAX + 64], path[PATH_MAX + 64];
	mca_rc rc;

	if (c->prefix != NULL)
		snprintf(database, sizeof(database), "%s%s/%s", c->prefix, tmpdir, c->database);
	else
		snprintf(database, sizeof(database), "%s", c->database);
	rc = mca_store_open(database, 1, &st, &err);
	ck_assert_msg(rc == c->rc, "%s: rc %d (%s)", database, rc, err.msg);
	if (rc != MCA_OK) {
		ck_assert_ptr_null(st);
		ck_assert_msg(strstr(err.msg, c->msg_has) != NULL, "\"%s\" lacks \"%s\"", err.msg,
		              c->msg_has);
		ck_assert_msg(c->msg_lacks == NULL || strstr(err.msg, c->msg_lacks) == NULL,
		              "\"%s\" shows \"%s\"", err.msg, c->msg_lacks);
		return;
	}
	ck_assert_str_eq(mca_store_get_ops(st)->name, "sqlite");
	ck_assert_int_eq(mca_store_schema_version(st), mca_store_schema_latest());
	mca_store_close(st);
	/* The file is where the path (after "sqlite:") says. */
	snprintf(path, sizeof(path), "%s",
	         strncmp(database, "sqlite:", 7) == 0 ? database + 7 : database);
	ck_assert_msg(mca_path_exists(path), "%s not created", path);
}
END_TEST

static TCase *
txn_tcase(const char *name)
{
	TCase *tc = tcase_create(name);

	tcase_add_unchecked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_checked_fixture(tc, test_setup, NULL);
	tcase_set_timeout(tc, 60); /* synchronous=FULL fsyncs every commit */
	return tc;
}

static Suite *
txn_suite(void)
{
	Suite *s = suite_create("txn");
	TCase *tc;

	tc = txn_tcase("outcomes");
	tcase_add_test(tc, test_commit_on_ok);
	tcase_add_loop_test(tc, test_rollback_on_refusal, 0,
	                    (int)(sizeof(refusals) / sizeof(refusals[0])));
	tcase_add_test(tc, test_refusal_without_err);
	suite_add_tcase(s, tc);

	tc = txn_tcase("retries");
	tcase_add_test(tc, test_retry_conflict_in_fn);
	tcase_add_test(tc, test_retry_bounded);
	tcase_add_test(tc, test_retry_begin);
	tcase_add_test(tc, test_retry_commit);
	tcase_add_test(tc, test_real_lock_conflict);
	suite_add_tcase(s, tc);

	tc = txn_tcase("nesting");
	tcase_add_test(tc, test_nested_refusal);
	tcase_add_test(tc, test_nested_conflict_goes_up);
	suite_add_tcase(s, tc);

	tc = txn_tcase("registry");
	tcase_add_loop_test(tc, test_open_registry, 0,
	                    (int)(sizeof(open_cases) / sizeof(open_cases[0])));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(txn_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
