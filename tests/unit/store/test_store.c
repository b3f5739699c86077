/*
 * test_store.c - unit tests of store.h: schema migration and versioning,
 * certificate and CRL rows, the audit trail written with them, the
 * revoked-certificate walk used to build CRLs, transactions, and the
 * pragmas the durability story depends on.
 *
 * Databases live in a mkdtemp(3) directory created once per test case in
 * the parent process (an unchecked fixture), so it is removed even when a
 * forked test fails half-way.  What another connection sees is read
 * through a second store.  A raw sqlite3 connection is used only where a
 * test must do what the store API never does: make the file look as a
 * newer program or a broken schema left it, and read the SQLite pragmas
 * the durability story depends on (journal_mode, integrity_check).
 *
 * Tests of library bugs these tests found (fixed since) live in the
 * "regressions" test case; see the comment above each of them.
 */
#include "config.h" /* defines _GNU_SOURCE: asprintf, nftw */

#include <ftw.h>
#include <pthread.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>
#include <sqlite3.h>

#include "common/util.h"
#include "store/backend.h"
#include "store/store.h"
#include "testutil.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define ISSUER "CN=Test Issuing CA,O=mtlsca tests"
#define NOW    ((time_t)1700000000)

/* ---- temporary directory and raw SQL ----------------------------------- */

static char tmpdir[PATH_MAX];
static char db_path[PATH_MAX + 32];

/* With $MCA_TEST_PG (tu_pg) every test runs on that PostgreSQL database instead. */
static void
tmp_setup(void)
{
	tu_mkdtemp(tmpdir, sizeof(tmpdir), "store");
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

/* Per test: no database left over from an earlier test, and a pinned clock. */
static void
test_setup(void)
{
	if (tu_pg() != NULL)
		tu_pg_reset(db_path);
	else
		tu_db_remove(db_path);
	mca_time_set_fake(NOW);
}

static void
test_teardown(void)
{
	mca_time_set_fake(0);
}

/* A second connection to `path`, independent of the library's. */
static sqlite3 *
raw_open(const char *path)
{
	sqlite3 *db = NULL;

	ck_assert_int_eq(
	    sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
	    SQLITE_OK);
	sqlite3_busy_timeout(db, 10000);
	return db;
}

/* Run `sql` on a fresh raw connection to db_path. */
static void
raw_exec(const char *sql)
{
	sqlite3 *db = raw_open(db_path);
	char *msg = NULL;
	int r = sqlite3_exec(db, sql, NULL, NULL, &msg);

	ck_assert_msg(r == SQLITE_OK, "%s: %s", sql, msg ? msg : "?");
	sqlite3_free(msg);
	sqlite3_close(db);
}

/* First column of the first row of `sql` as an integer (raw connection). */
static int64_t
raw_int(const char *sql)
{
	sqlite3 *db = raw_open(db_path);
	sqlite3_stmt *s = NULL;
	int64_t v;

	ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK, "%s: %s", sql,
	              sqlite3_errmsg(db));
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

/* First column of the first row of `sql` as text into buf ("(null)" for NULL). */
static void
raw_text(const char *sql, char *buf, size_t len)
{
	sqlite3 *db = raw_open(db_path);
	sqlite3_stmt *s = NULL;
	const unsigned char *t;

	ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK, "%s: %s", sql,
	              sqlite3_errmsg(db));
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	t = sqlite3_column_text(s, 0);
	snprintf(buf, len, "%s", t != NULL ? (const char *)t : "(null)");
	sqlite3_finalize(s);
	sqlite3_close(db);
}

/* The schema version a fresh database gets from the backend under test. */
static int
schema_latest(void)
{
	return tu_pg() != NULL ? mca_store_pg_schema_latest() : mca_store_schema_latest();
}

/* Open (creating) db_path through the library, failing the test on error. */
static struct mca_store *
store_open(void)
{
	struct mca_error err = {0};
	struct mca_store *st = NULL;

	ck_assert_msg(mca_store_open(db_path, 1, &st, &err) == MCA_OK, "%s", err.msg);
	ck_assert_ptr_nonnull(st);
	return st;
}

/* Rows in `table` as a second connection sees them (what others see). */
static int64_t
other_count(const char *table)
{
	struct mca_error err = {0};
	struct mca_store *o = NULL;
	int64_t n;

	ck_assert_msg(mca_store_open(db_path, 0, &o, &err) == MCA_OK, "%s", err.msg);
	n = mca_store_count(o, table);
	mca_store_close(o);
	return n;
}

/* A copy of one audit row, found by mca_store_audit_list. */
struct audit_copy {
	const char *action; /* wanted action; NULL: the last row */
	int found;
	int64_t at;
	char actor[64], got_action[64], serial[64], detail[128];
};

static int
audit_copy_cb(void *arg, const struct mca_audit_rec *r)
{
	struct audit_copy *a = arg;

	if (a->action != NULL && strcmp(a->action, r->action) != 0)
		return 0;
	a->found = 1;
	a->at = r->at;
	snprintf(a->actor, sizeof(a->actor), "%s", r->actor);
	snprintf(a->got_action, sizeof(a->got_action), "%s", r->action);
	snprintf(a->serial, sizeof(a->serial), "%s", r->serial ? r->serial : "(null)");
	snprintf(a->detail, sizeof(a->detail), "%s", r->detail);
	return a->action != NULL; /* the first match, or walk on to the last row */
}

/* The first audit row with `action` (NULL: the last row); fails the test when none. */
static void
audit_get(struct mca_store *st, const char *action, struct audit_copy *out)
{
	struct mca_error err = {0};

	memset(out, 0, sizeof(*out));
	out->action = action;
	ck_assert_int_eq(mca_store_audit_list(st, 0, audit_copy_cb, out, &err), MCA_OK);
	ck_assert_msg(out->found, "no audit row %s", action ? action : "at all");
}

/* Revoke `serial` at `at` for `reason` through the store, failing the test on error. */
static void
revoke_cert(struct mca_store *st, const char *serial, int64_t at, const char *reason)
{
	struct mca_error err = {0};
	int changed = 0;

	ck_assert_msg(mca_store_cert_revoke(st, serial, at, reason, "test", &changed, &err) ==
	                  MCA_OK,
	              "%s: %s", serial, err.msg);
	ck_assert_int_eq(changed, 1);
}

/* ---- records ------------------------------------------------------------- */

#define FAKE_DER_LEN 300

/*
 * A heap certificate record with every field set; the fake DER contains
 * NUL octets so a blob cut at the first NUL would show.  Free with
 * mca_cert_rec_free.
 */
static struct mca_cert_rec *
make_rec(const char *serial, const char *issuer, int64_t not_after)
{
	struct mca_cert_rec *r = calloc(1, sizeof(*r));
	size_t i;

	ck_assert_ptr_nonnull(r);
	r->serial = strdup(serial);
	r->issuer = strdup(issuer);
	r->profile = strdup("private");
	r->subject = strdup("CN=client.example.com,O=Example");
	r->names = strdup("[\"client.example.com\",\"10.0.0.7\"]");
	r->not_before = 1699990000;
	r->not_after = not_after;
	r->der_len = FAKE_DER_LEN;
	r->der = malloc(FAKE_DER_LEN);
	ck_assert_ptr_nonnull(r->der);
	for (i = 0; i < FAKE_DER_LEN; i++)
		r->der[i] = (unsigned char)(i * 7 + serial[0]);
	r->der[0] = 0x30;
	r->der[5] = 0x00;
	ck_assert_int_ge(asprintf(&r->fingerprint, "%064x", (unsigned)strtoul(serial, NULL, 16)),
	                 0);
	r->status = strdup("valid");
	r->requester = strdup("token:abc123");
	r->created_at = 1699999999;
	ck_assert(r->serial && r->issuer && r->profile && r->subject && r->names &&
	          r->fingerprint && r->status && r->requester);
	return r;
}

/* Insert a fresh record for `serial` as "test"/"issue", failing the test on error. */
static void
insert_cert(struct mca_store *st, const char *serial, const char *issuer, int64_t not_after)
{
	struct mca_error err = {0};
	struct mca_cert_rec *r = make_rec(serial, issuer, not_after);

	ck_assert_msg(mca_store_cert_insert(st, r, "test", "issue", &err) == MCA_OK, "%s: %s",
	              serial, err.msg);
	mca_cert_rec_free(r);
}

/* ---- opening and schema ------------------------------------------------- */

/* A new database is migrated to the latest schema, with all tables present and empty. */
START_TEST(test_open_fresh)
{
	struct mca_store *st = store_open();
	struct mca_error err = {0};

	ck_assert_int_ge(mca_store_schema_latest(), 1);
	ck_assert_int_eq(mca_store_schema_version(st), schema_latest());
	ck_assert_int_eq(mca_store_count(st, "certificates"), 0);
	ck_assert_int_eq(mca_store_count(st, "crls"), 0);
	ck_assert_int_eq(mca_store_count(st, "tokens"), 0);
	ck_assert_int_eq(mca_store_count(st, "audit"), 0);
	ck_assert_int_eq(mca_store_ping(st, &err), MCA_OK);
	/* count refuses unknown tables and anything that is not a plain name. */
	ck_assert_int_eq(mca_store_count(st, "no_such_table"), -1);
	ck_assert_int_eq(mca_store_count(st, "audit; DELETE FROM audit"), -1);
	ck_assert_int_eq(mca_store_count(st, "Audit"), -1);
	mca_store_close(st);
	/* The version is recorded in the file itself: a new connection reads it. */
	ck_assert_int_eq(mca_store_open(db_path, 0, &st, &err), MCA_OK);
	ck_assert_int_eq(mca_store_schema_version(st), schema_latest());
	mca_store_close(st);
	mca_store_close(NULL); /* documented as fine */
}
END_TEST

/* Re-opening keeps rows and version, and create=0 opens an existing database. */
START_TEST(test_reopen_keeps_data)
{
	struct mca_error err = {0};
	struct mca_store *st = store_open();
	struct mca_cert_rec *got = NULL;

	insert_cert(st, "1a2b", ISSUER, 1800000000);
	ck_assert_int_eq(
	    mca_store_crl_insert(st, "ca", 1, 100, 200, (const unsigned char *)"x", 1, &err),
	    MCA_OK);
	mca_store_close(st);

	ck_assert_int_eq(mca_store_open(db_path, 0, &st, &err), MCA_OK);
	ck_assert_int_eq(mca_store_schema_version(st), schema_latest());
	ck_assert_int_eq(mca_store_count(st, "certificates"), 1);
	ck_assert_int_eq(mca_store_count(st, "crls"), 1);
	ck_assert_int_eq(mca_store_count(st, "audit"), 1);
	ck_assert_int_eq(mca_store_cert_get(st, "1a2b", &got, &err), MCA_OK);
	ck_assert_str_eq(got->issuer, ISSUER);
	mca_cert_rec_free(got);
	mca_store_close(st);

	/* And once more with create=1: an existing database is not recreated. */
	st = store_open();
	ck_assert_int_eq(mca_store_count(st, "certificates"), 1);
	mca_store_close(st);
}
END_TEST

/* A database from a newer mtlsca is refused untouched, whether it has tables or not. */
START_TEST(test_open_newer_schema)
{
	struct mca_error err = {0};
	struct mca_store *st = store_open();
	char sql[64];
	int newer = mca_store_schema_latest() + 1;

	mca_store_close(st);
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", newer);
	raw_exec(sql);

	st = (struct mca_store *)&err; /* must be reset to NULL */
	ck_assert_int_eq(mca_store_open(db_path, 0, &st, &err), MCA_ERR_SCHEMA);
	ck_assert_ptr_null(st);
	ck_assert_int_eq(err.code, MCA_ERR_SCHEMA);
	ck_assert_ptr_nonnull(strstr(err.msg, "newer"));
	ck_assert_ptr_nonnull(strstr(err.msg, db_path));
	ck_assert_int_eq(raw_int("PRAGMA user_version"), newer);

	mca_error_clear(&err);
	ck_assert_int_eq(mca_store_open(db_path, 1, &st, &err), MCA_ERR_SCHEMA);
	ck_assert_ptr_null(st);
	ck_assert_ptr_nonnull(strstr(err.msg, "newer"));

	/* A bare file (no tables) stamped with a far newer version. */
	test_setup();
	raw_exec("PRAGMA user_version = 1000");
	mca_error_clear(&err);
	ck_assert_int_eq(mca_store_open(db_path, 0, &st, &err), MCA_ERR_SCHEMA);
	ck_assert_ptr_null(st);
	ck_assert_ptr_nonnull(strstr(err.msg, "newer"));
	ck_assert_int_eq(raw_int("SELECT count(*) FROM sqlite_schema"), 0);
}
END_TEST

/* create=0 on a missing file is MCA_ERR_NOTFOUND and creates nothing. */
START_TEST(test_open_missing_no_create)
{
	struct mca_error err = {0};
	struct mca_store *st = (struct mca_store *)&err;

	ck_assert_int_eq(mca_store_open(db_path, 0, &st, &err), MCA_ERR_NOTFOUND);
	ck_assert_ptr_null(st);
	ck_assert_int_eq(err.code, MCA_ERR_NOTFOUND);
	ck_assert_ptr_nonnull(strstr(err.msg, db_path));
	ck_assert(!mca_path_exists(db_path));
}
END_TEST

/* A file that is not SQLite is a database error, never silently overwritten. */
START_TEST(test_open_not_a_database)
{
	struct mca_error err = {0};
	struct mca_store *st = NULL;
	char buf[4096];
	FILE *f;

	memset(buf, 'z', sizeof(buf));
	f = fopen(db_path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(buf, 1, sizeof(buf), f), sizeof(buf));
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(mca_store_open(db_path, 1, &st, &err), MCA_ERR_DB);
	ck_assert_ptr_null(st);
	ck_assert_ptr_nonnull(strstr(err.msg, db_path));
	f = fopen(db_path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fread(buf, 1, sizeof(buf), f), sizeof(buf));
	fclose(f);
	ck_assert_int_eq(buf[0], 'z');
	ck_assert_int_eq(buf[sizeof(buf) - 1], 'z');
}
END_TEST

/*
 * A migration that fails half-way is rolled back as a whole: here the
 * audit table (created last by 0001) already exists, so the tables made
 * before it must vanish and user_version stay 0.
 */
START_TEST(test_open_migration_failure)
{
	struct mca_error err = {0};
	struct mca_store *st = NULL;

	raw_exec("CREATE TABLE audit (x)");
	ck_assert_int_eq(mca_store_open(db_path, 0, &st, &err), MCA_ERR_DB);
	ck_assert_ptr_null(st);
	ck_assert_int_eq(err.code, MCA_ERR_DB);
	ck_assert_ptr_nonnull(strstr(err.msg, "0001-initial.sql"));
	ck_assert_int_eq(raw_int("PRAGMA user_version"), 0);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM sqlite_schema WHERE name IN "
	                         "('certificates', 'crls', 'tokens')"),
	                 0);
}
END_TEST

/* WAL journal (persistent, seen from another connection) and a sound file after writes. */
START_TEST(test_pragmas)
{
	struct mca_store *st = store_open();
	char buf[64];
	int i;

	for (i = 1; i <= 20; i++) {
		snprintf(buf, sizeof(buf), "%02x", i);
		insert_cert(st, buf, ISSUER, 1800000000);
	}
	raw_text("PRAGMA journal_mode", buf, sizeof(buf));
	ck_assert_str_eq(buf, "wal");
	raw_text("PRAGMA integrity_check", buf, sizeof(buf));
	ck_assert_str_eq(buf, "ok");
	mca_store_close(st);
	raw_text("PRAGMA journal_mode", buf, sizeof(buf));
	ck_assert_str_eq(buf, "wal");
	raw_text("PRAGMA integrity_check", buf, sizeof(buf));
	ck_assert_str_eq(buf, "ok");
	ck_assert_int_eq(other_count("certificates"), 20);
}
END_TEST

/* The size of file `path` (0 when absent). */
static off_t
file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? sb.st_size : 0;
}

/*
 * A commit only logs: a 6 MB CRL (1,500 pages, past SQLite's default
 * autocheckpoint of 1,000) stays in the WAL, the database file does not
 * grow, until mca_store_checkpoint copies it in (mtlscad's tick); closing
 * after that commit (the WAL grew by 4 MB or more, and is below 128 MB)
 * leaves it, and a new connection reads it all.
 */
START_TEST(test_checkpoint_deferred)
{
	enum { BIG = 6 << 20 };
	struct mca_error err = {0};
	struct mca_store *st = store_open();
	struct mca_crl_rec rec = {0};
	unsigned char *der = malloc(BIG);
	char wal[4200];
	off_t before;

	ck_assert_ptr_nonnull(der);
	memset(der, 0x5a, BIG);
	snprintf(wal, sizeof(wal), "%s-wal", db_path);
	ck_assert_int_eq(mca_store_checkpoint(st, &err), MCA_OK);
	before = file_size(db_path);
	ck_assert_int_eq(mca_store_crl_insert(st, "ca", 1, 100, 200, der, BIG, &err), MCA_OK);
	ck_assert_int_ge(file_size(wal), BIG);
	ck_assert_int_lt(file_size(db_path), before + (1 << 20));
	ck_assert_int_eq(mca_store_checkpoint(st, &err), MCA_OK);
	ck_assert_int_ge(file_size(db_path), BIG);
	mca_store_close(st);
	ck_assert_int_ge(file_size(wal), BIG);
	ck_assert_int_eq(mca_store_open(db_path, 0, &st, &err), MCA_OK);
	ck_assert_int_eq(mca_store_crl_latest(st, "ca", &rec, &err), MCA_OK);
	ck_assert_uint_eq(rec.der_len, BIG);
	ck_assert_int_eq(memcmp(rec.der, der, BIG), 0);
	free(rec.der);
	/* a connection that grew the WAL little checkpoints as it closes last: the WAL goes */
	insert_cert(st, "1a2b", ISSUER, 1800000000);
	mca_store_close(st);
	ck_assert_int_eq(file_size(wal), 0);
	ck_assert_int_ge(file_size(db_path), BIG);
	free(der);
}
END_TEST

/* ---- certificates and audit ------------------------------------------- */

/* Every field written by cert_insert reads back identically from cert_get. */
START_TEST(test_cert_round_trip)
{
	struct mca_error err = {0};
	struct mca_store *st = store_open();
	struct mca_cert_rec *in = make_rec("7f0123456789abcdef0123456789abcd", ISSUER, 4102444800);
	struct mca_cert_rec *out = NULL;

	ck_assert_int_eq(mca_store_cert_insert(st, in, "admin:alice", "issue", &err), MCA_OK);
	ck_assert_int_eq(mca_store_cert_get(st, in->serial, &out, &err), MCA_OK);
	ck_assert_ptr_nonnull(out);
	ck_assert_str_eq(out->serial, in->serial);
	ck_assert_str_eq(out->issuer, in->issuer);
	ck_assert_str_eq(out->profile, in->profile);
	ck_assert_str_eq(out->subject, in->subject);
	ck_assert_str_eq(out->names, in->names);
	ck_assert_int_eq(out->not_before, in->not_before);
	ck_assert_int_eq(out->not_after, 4102444800); /* past 2038: 64-bit times */
	ck_assert_uint_eq(out->der_len, FAKE_DER_LEN);
	ck_assert_mem_eq(out->der, in->der, FAKE_DER_LEN);
	ck_assert_str_eq(out->fingerprint, in->fingerprint);
	ck_assert_str_eq(out->status, "valid");
	ck_assert_int_eq(out->revoked_at, 0);
	ck_assert_ptr_null(out->reason);
	ck_assert_str_eq(out->requester, in->requester);
	ck_assert_int_eq(out->created_at, in->created_at);
	mca_cert_rec_free(out);
	mca_cert_rec_free(in);
	mca_store_close(st);
}
END_TEST

/* Optional fields get their defaults: subject "", names "[]", created_at = now. */
START_TEST(test_cert_defaults)
{
	struct mca_error err = {0};
	struct mca_store *st = store_open();
	struct mca_cert_rec *in = make_rec("42", ISSUER, 1800000000), *out = NULL;

	free(in->subject);
	free(in->names);
	in->subject = NULL;
	in->names = NULL;
	in->created_at = 0;
	ck_assert_int_eq(mca_store_cert_insert(st, in, "test", "issue", &err), MCA_OK);
	ck_assert_int_eq(mca_store_cert_get(st, "42", &out, &err), MCA_OK);
	ck_assert_str_eq(out->subject, "");
	ck_assert_str_eq(out->names, "[]");
	ck_assert_int_eq(out->created_at, NOW);
	/* rec_clear frees and zeroes, leaving the struct reusable. */
	mca_cert_rec_clear(out);
	ck_assert_ptr_null(out->serial);
	ck_assert_ptr_null(out->der);
	ck_assert_uint_eq(out->der_len, 0);
	free(out);
	mca_cert_rec_free(in);
	mca_cert_rec_free(NULL);
	mca_store_close(st);
}
END_TEST

/* Looking up an absent serial is MCA_ERR_NOTFOUND naming the serial. */
START_TEST(test_cert_get_missing)
{
	struct mca_error err = {0};
	struct mca_store *st = store_open();
	struct mca_cert_rec *out = (struct mca_cert_rec *)&err;

	ck_assert_int_eq(mca_store_cert_get(st, "0badc0de", &out, &err), MCA_ERR_NOTFOUND);
	ck_assert_ptr_null(out);
	ck_assert_ptr_nonnull(strstr(err.msg, "0badc0de"));
	/* Serials are compared exactly: the canonical form is the caller's job. */
	insert_cert(st, "abcd", ISSUER, 1800000000);
	ck_assert_int_eq(mca_store_cert_get(st, "ABCD", &out, &err), MCA_ERR_NOTFOUND);
	ck_assert_int_eq(mca_store_cert_get(st, "abcd", &out, &err), MCA_OK);
	mca_cert_rec_free(out);
	mca_store_close(st);
}
END_TEST

/* An insert writes exactly one audit row with the actor, action and serial given. */
START_TEST(test_cert_insert_audit_row)
{
	struct mca_error err = {0};
	struct mca_store *st = store_open();
	struct mca_cert_rec *r = make_rec("5555", ISSUER, 1800000000);
	struct audit_copy a;

	ck_assert_int_eq(mca_store_cert_insert(st, r, "admin:bob", "renew", &err), MCA_OK);
	ck_assert_int_eq(mca_store_count(st, "audit"), 1);
	audit_get(st, NULL, &a);
	ck_assert_str_eq(a.actor, "admin:bob");
	ck_assert_str_eq(a.got_action, "renew");
	ck_assert_str_eq(a.serial, "5555");
	ck_assert_str_eq(a.detail, "{}");
	ck_assert_int_eq(a.at, NOW);
	mca_cert_rec_free(r);
	mca_store_close(st);
}
END_TEST

/* mca_store_audit appends rows on its own, with or without a serial. */
START_TEST(test_audit_append)
{
	struct mca_error err = {0};
	struct mca_store *st = store_open();
	struct audit_copy a;

	ck_assert_int_eq(mca_store_audit(st, "cli", "crl.publish", NULL, "{\"number\":1}", &err),
	                 MCA_OK);
	ck_assert_int_eq(mca_store_audit(st, "cli", "revoke", "abcd", NULL, &err), MCA_OK);
	ck_assert_int_eq(mca_store_count(st, "audit"), 2);
	audit_get(st, "crl.publish", &a);
	ck_assert_str_eq(a.serial, "(null)");
	ck_assert_str_eq(a.detail, "{\"number\":1}");
	audit_get(st, "revoke", &a);
	ck_assert_str_eq(a.serial, "abcd");
	ck_assert_str_eq(a.detail, "{}");
	/* Rows come in the order of events: the last one is the revoke. */
	audit_get(st, NULL, &a);
	ck_assert_str_eq(a.got_action, "revoke");
	mca_store_close(st);
}
END_TEST

/*
 * A duplicate serial is MCA_ERR_EXISTS; the first row stays as it was and
 * the failed insert leaves no audit row behind (its transaction is rolled
 * back).
 */
START_TEST(test_cert_duplicate)
{
	struct mca_error err = {0};
	struct mca_store *st = store_open();
	struct mca_cert_rec *a = make_rec("0abc", ISSUER, 1800000000);
	struct mca_cert_rec *b = make_rec("0abc", "CN=Other", 1900000000);
	struct mca_cert_rec *c = make_rec("0def", ISSUER, 1800000000);
	struct mca_cert_rec *got = NULL;
	int64_t audit;

	ck_assert_int_eq(mca_store_cert_insert(st, a, "test", "issue", &err), MCA_OK);
	audit = mca_store_count(st, "audit");
	ck_assert_int_eq(audit, 1);

	free(b->fingerprint);
	b->fingerprint = strdup("different-fingerprint");
	ck_assert_int_eq(mca_store_cert_insert(st, b, "test", "issue", &err), MCA_ERR_EXISTS);
	ck_assert_int_eq(err.code, MCA_ERR_EXISTS);
	ck_assert_int_eq(mca_store_count(st, "certificates"), 1);
	ck_assert_int_eq(mca_store_count(st, "audit"), audit);
	ck_assert_int_eq(mca_store_cert_get(st, "0abc", &got, &err), MCA_OK);
	ck_assert_str_eq(got->issuer, ISSUER);
	ck_assert_str_eq(got->fingerprint, a->fingerprint);
	ck_assert_int_eq(got->not_after, 1800000000);
	mca_cert_rec_free(got);

	/*
	 * The serial is the only key (migration 0007): one DER cannot have two
	 * serials, so a fingerprint repeated under another serial is not
	 * refused.  No transaction is left open by the refusal above: this
	 * insert commits and is seen by others.
	 */
	free(c->fingerprint);
	c->fingerprint = strdup(a->fingerprint);
	ck_assert_int_eq(mca_store_cert_insert(st, c, "test", "issue", &err), MCA_OK);
	ck_assert_int_eq(other_count("certificates"), 2);
	ck_assert_int_eq(other_count("audit"), 2);
	mca_cert_rec_free(a);
	mca_cert_rec_free(b);
	mca_cert_rec_free(c);
	mca_store_close(st);
}
END_TEST

/* A row breaking a NOT NULL column is refused and, like a duplicate, leaves no audit row. */
START_TEST(test_cert_insert_incomplete)
{
	struct mca_error err = {0};
	struct mca_store *st = store_open();
	struct mca_cert_rec *r = make_rec("99", ISSUER, 1800000000);

	free(r->requester);
	r->requester = NULL;
	ck_assert_int_ne(mca_store_cert_insert(st, r, "test", "issue", &err), MCA_OK);
	ck_assert_int_eq(mca_store_count(st, "certificates"), 0);
	ck_assert_int_eq(mca_store_count(st, "audit"), 0);
	mca_cert_rec_free(r);
	mca_store_close(st);
}
END_TEST

/* ---- CRLs ---------------------------------------------------------------- */

/* CRL numbers per issuer: 0 when none, the max after inserts, latest row returned whole. */
START_TEST(test_crl)
{
	static const unsigned char der1[] = {0x30, 0x03, 0x02, 0x01, 0x01};
	static const unsigned char der2[] = {0x30, 0x00, 0x00, 0x04, 0x02, 0x00, 0xff};
	struct mca_error err = {0};
	struct mca_store *st = store_open();
	struct mca_crl_rec crl;
	int64_t n = -1;

	ck_assert_int_eq(mca_store_crl_max_number(st, "ca", &n, &err), MCA_OK);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(mca_store_crl_max_number(st, "root", &n, &err), MCA_OK);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(mca_store_crl_latest(st, "ca", &crl, &err), MCA_ERR_NOTFOUND);
	ck_assert_int_eq(err.code, MCA_ERR_NOTFOUND);
	ck_assert_ptr_null(crl.der);

	ck_assert_int_eq(mca_store_crl_insert(st, "ca", 1, 1000, 2000, der1, sizeof(der1), &err),
	                 MCA_OK);
	ck_assert_int_eq(
	    mca_store_crl_insert(st, "ca", 2, 1500, 4102444800, der2, sizeof(der2), &err), MCA_OK);
	ck_assert_int_eq(mca_store_crl_insert(st, "root", 7, 1100, 9000, der1, sizeof(der1), &err),
	                 MCA_OK);

	ck_assert_int_eq(mca_store_crl_max_number(st, "ca", &n, &err), MCA_OK);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(mca_store_crl_max_number(st, "root", &n, &err), MCA_OK);
	ck_assert_int_eq(n, 7);

	ck_assert_int_eq(mca_store_crl_latest(st, "ca", &crl, &err), MCA_OK);
	ck_assert_int_eq(crl.number, 2);
	ck_assert_int_eq(crl.this_update, 1500);
	ck_assert_int_eq(crl.next_update, 4102444800);
	ck_assert_uint_eq(crl.der_len, sizeof(der2));
	ck_assert_mem_eq(crl.der, der2, sizeof(der2));
	free(crl.der);

	ck_assert_int_eq(mca_store_crl_latest(st, "root", &crl, &err), MCA_OK);
	ck_assert_int_eq(crl.number, 7);
	ck_assert_int_eq(crl.this_update, 1100);
	ck_assert_mem_eq(crl.der, der1, sizeof(der1));
	free(crl.der);
	ck_assert_int_eq(mca_store_count(st, "crls"), 3);
	mca_store_close(st);
}
END_TEST

/* The same (issuer, number) cannot be stored twice; other issuers may reuse the number. */
START_TEST(test_crl_duplicate)
{
	static const unsigned char der[] = {0x30, 0x00};
	struct mca_error err = {0};
	struct mca_store *st = store_open();
	struct mca_crl_rec crl;

	ck_assert_int_eq(mca_store_crl_insert(st, "ca", 3, 10, 20, der, sizeof(der), &err), MCA_OK);
	ck_assert_int_eq(mca_store_crl_insert(st, "ca", 3, 30, 40, der, sizeof(der), &err),
	                 MCA_ERR_EXISTS);
	ck_assert_int_eq(err.code, MCA_ERR_EXISTS);
	ck_assert_int_eq(mca_store_count(st, "crls"), 1);
	ck_assert_int_eq(mca_store_crl_latest(st, "ca", &crl, &err), MCA_OK);
	ck_assert_int_eq(crl.this_update, 10); /* the first one stays */
	free(crl.der);
	ck_assert_int_eq(mca_store_crl_insert(st, "root", 3, 30, 40, der, sizeof(der), &err),
	                 MCA_OK);
	ck_assert_int_eq(mca_store_count(st, "crls"), 2);
	mca_store_close(st);
}
END_TEST

/* The schema's CHECKs hold through the API: unknown issuer, number 0. */
START_TEST(test_crl_constraints)
{
	static const unsigned char der[] = {0x30, 0x00};
	struct mca_error err = {0};
	struct mca_store *st = store_open();

	ck_assert_int_ne(
	    mca_store_crl_insert(st, "intermediate", 1, 10, 20, der, sizeof(der), &err), MCA_OK);
	ck_assert_int_ne(mca_store_crl_insert(st, "ca", 0, 10, 20, der, sizeof(der), &err), MCA_OK);
	ck_assert_int_ne(mca_store_crl_insert(st, "ca", -1, 10, 20, der, sizeof(der), &err),
	                 MCA_OK);
	ck_assert_int_eq(mca_store_count(st, "crls"), 0);
	mca_store_close(st);
}
END_TEST

/* ---- revoked walk ------------------------------------------------------- */

struct walk {
	int calls;
	int stop_after; /* non-zero return on this call (0: never) */
	char serial[8][64];
	int64_t revoked_at[8];
	char reason[8][32];
};

static int
walk_cb(void *arg, const char *serial, int64_t revoked_at, const char *reason)
{
	struct walk *w = arg;

	if (w->calls < 8) {
		snprintf(w->serial[w->calls], sizeof(w->serial[0]), "%s", serial);
		w->revoked_at[w->calls] = revoked_at;
		snprintf(w->reason[w->calls], sizeof(w->reason[0]), "%s",
		         reason != NULL ? reason : "(null)");
	}
	w->calls++;
	return w->stop_after != 0 && w->calls == w->stop_after;
}

/*
 * Only revoked certificates of the given issuer that expire after `since`
 * are walked, in ascending serial order, with their time and reason.
 */
START_TEST(test_revoked_foreach)
{
	struct mca_error err = {0};
	struct mca_store *st = store_open();
	struct walk w;

	insert_cert(st, "0c", ISSUER, 5000);
	insert_cert(st, "0a", ISSUER, 5000);
	insert_cert(st, "0b", ISSUER, 2000);     /* expires at `since` */
	insert_cert(st, "0d", ISSUER, 5000);     /* stays valid */
	insert_cert(st, "0e", "CN=Other", 5000); /* another issuer */
	insert_cert(st, "0f", ISSUER, 2001);     /* expires just after `since` */

	memset(&w, 0, sizeof(w));
	ck_assert_int_eq(mca_store_revoked_foreach(st, ISSUER, 0, walk_cb, &w, &err), MCA_OK);
	ck_assert_int_eq(w.calls, 0); /* nothing revoked yet */

	revoke_cert(st, "0c", 1500, "keyCompromise");
	revoke_cert(st, "0b", 1500, "keyCompromise");
	revoke_cert(st, "0e", 1500, "keyCompromise");
	revoke_cert(st, "0a", 1400, "superseded");
	revoke_cert(st, "0f", 1400, "superseded");

	memset(&w, 0, sizeof(w));
	ck_assert_int_eq(mca_store_revoked_foreach(st, ISSUER, 2000, walk_cb, &w, &err), MCA_OK);
	ck_assert_int_eq(w.calls, 3);
	ck_assert_str_eq(w.serial[0], "0a");
	ck_assert_int_eq(w.revoked_at[0], 1400);
	ck_assert_str_eq(w.reason[0], "superseded");
	ck_assert_str_eq(w.serial[1], "0c");
	ck_assert_int_eq(w.revoked_at[1], 1500);
	ck_assert_str_eq(w.reason[1], "keyCompromise");
	ck_assert_str_eq(w.serial[2], "0f");

	/* An earlier `since` keeps the certificate that expired at 2000. */
	memset(&w, 0, sizeof(w));
	ck_assert_int_eq(mca_store_revoked_foreach(st, ISSUER, 1999, walk_cb, &w, &err), MCA_OK);
	ck_assert_int_eq(w.calls, 4);
	ck_assert_str_eq(w.serial[1], "0b");

	/* The other issuer sees only its own certificate. */
	memset(&w, 0, sizeof(w));
	ck_assert_int_eq(mca_store_revoked_foreach(st, "CN=Other", 0, walk_cb, &w, &err), MCA_OK);
	ck_assert_int_eq(w.calls, 1);
	ck_assert_str_eq(w.serial[0], "0e");
	mca_store_close(st);
}
END_TEST

/* A revoked row read through cert_get carries its status, time and reason. */
START_TEST(test_cert_get_revoked)
{
	struct mca_error err = {0};
	struct mca_store *st = store_open();
	struct mca_cert_rec *got = NULL;

	insert_cert(st, "77", ISSUER, 5000);
	revoke_cert(st, "77", 1234, "keyCompromise");
	ck_assert_int_eq(mca_store_cert_get(st, "77", &got, &err), MCA_OK);
	ck_assert_str_eq(got->status, "revoked");
	ck_assert_int_eq(got->revoked_at, 1234);
	ck_assert_str_eq(got->reason, "keyCompromise");
	mca_cert_rec_free(got);
	mca_store_close(st);
}
END_TEST

/* A callback's non-zero return stops the walk and is reported as MCA_ERR_INTERNAL. */
START_TEST(test_revoked_foreach_stop)
{
	struct mca_error err = {0};
	struct mca_store *st = store_open();
	struct walk w;

	insert_cert(st, "01", ISSUER, 5000);
	insert_cert(st, "02", ISSUER, 5000);
	insert_cert(st, "03", ISSUER, 5000);
	revoke_cert(st, "01", 1, "cessationOfOperation");
	revoke_cert(st, "02", 1, "cessationOfOperation");
	revoke_cert(st, "03", 1, "cessationOfOperation");
	memset(&w, 0, sizeof(w));
	w.stop_after = 2;
	ck_assert_int_eq(mca_store_revoked_foreach(st, ISSUER, 0, walk_cb, &w, &err),
	                 MCA_ERR_INTERNAL);
	ck_assert_int_eq(w.calls, 2);
	/* The statement is reset: a second walk starts from the beginning. */
	memset(&w, 0, sizeof(w));
	ck_assert_int_eq(mca_store_revoked_foreach(st, ISSUER, 0, walk_cb, &w, &err), MCA_OK);
	ck_assert_int_eq(w.calls, 3);
	ck_assert_str_eq(w.serial[0], "01");
	mca_store_close(st);
}
END_TEST

/* ---- transactions -------------------------------------------------------- */

/* Inserts "aa" and "bb", checks what is visible where, then refuses. */
static mca_rc
two_then_refuse(struct mca_store *st, void *arg, struct mca_error *err)
{
	(void)arg;
	insert_cert(st, "aa", ISSUER, 5000);
	insert_cert(st, "bb", ISSUER, 5000);
	ck_assert_int_eq(mca_store_count(st, "certificates"), 2); /* own writes visible */
	ck_assert_int_eq(other_count("certificates"), 0);         /* not to others */
	return mca_error_set(err, MCA_ERR_POLICY, "refused by the test");
}

/* A refusing transaction leaves neither the rows nor their audit entries. */
START_TEST(test_txn_rollback)
{
	struct mca_error err = {0};
	struct mca_store *st = store_open();

	ck_assert_int_eq(mca_store_txn(st, two_then_refuse, NULL, &err), MCA_ERR_POLICY);
	ck_assert_str_eq(err.msg, "refused by the test");
	ck_assert_int_eq(mca_store_count(st, "certificates"), 0);
	ck_assert_int_eq(mca_store_count(st, "audit"), 0);
	/* No transaction is left open: the next insert is committed on its own. */
	insert_cert(st, "cc", ISSUER, 5000);
	ck_assert_int_eq(other_count("certificates"), 1);
	mca_store_close(st);
}
END_TEST

/* 16 inserts and a duplicate that fails alone (its own nested transaction). */
static mca_rc
sixteen_and_a_duplicate(struct mca_store *st, void *arg, struct mca_error *err)
{
	struct mca_cert_rec *dup = arg;
	char serial[8];
	int i;

	for (i = 0x10; i < 0x20; i++) {
		snprintf(serial, sizeof(serial), "%02x", i);
		insert_cert(st, serial, ISSUER, 5000);
	}
	ck_assert_int_eq(mca_store_cert_insert(st, dup, "test", "issue", err), MCA_ERR_EXISTS);
	ck_assert_int_eq(other_count("certificates"), 0);
	return MCA_OK;
}

/*
 * Many inserts in one transaction become visible to others at once on
 * commit; a duplicate inside it fails alone and does not abort the rest.
 */
START_TEST(test_txn_commit)
{
	struct mca_error err = {0};
	struct mca_store *st = store_open();
	struct mca_cert_rec *dup = make_rec("10", ISSUER, 5000);

	free(dup->fingerprint);
	dup->fingerprint = strdup("another");
	ck_assert_int_eq(mca_store_txn(st, sixteen_and_a_duplicate, dup, &err), MCA_OK);
	ck_assert_int_eq(other_count("certificates"), 16);
	ck_assert_int_eq(other_count("audit"), 16);
	mca_cert_rec_free(dup);
	mca_store_close(st);
}
END_TEST

static mca_rc
count_calls(struct mca_store *st, void *arg, struct mca_error *err)
{
	(void)st;
	(void)err;
	(*(int *)arg)++;
	return MCA_OK;
}

/* A second writer tries while the first holds the write lock. */
static mca_rc
second_writer(struct mca_store *st, void *arg, struct mca_error *err)
{
	struct mca_store *other = arg;
	struct mca_error e = {0};
	int calls = 0;

	(void)st;
	(void)err;
	ck_assert_int_eq(mca_store_txn(other, count_calls, &calls, &e), MCA_ERR_DB);
	ck_assert_msg(mca_store_conflict(MCA_ERR_DB, &e), "not a conflict: %s", e.msg);
	ck_assert_int_eq(calls, 0);
	return MCA_OK;
}

/* A transaction takes the write lock at its start: a second writer cannot begin meanwhile. */
START_TEST(test_txn_immediate)
{
	struct mca_error err = {0};
	struct mca_store *st = store_open(), *other = NULL;
	int calls = 0;

	ck_assert_int_eq(mca_store_open(db_path, 0, &other, &err), MCA_OK);
	mca_store_lock_wait(other, 0);
	ck_assert_int_eq(mca_store_txn(st, second_writer, other, &err), MCA_OK);
	/* Once the first is done, the second gets in. */
	ck_assert_int_eq(mca_store_txn(other, count_calls, &calls, &err), MCA_OK);
	ck_assert_int_eq(calls, 1);
	mca_store_close(other);
	mca_store_close(st);
}
END_TEST

/* ---- regressions: library bugs these tests found, fixed since ------------ */

/*
 * FIXED BUG (then src/store/store.c, store_migrate; now src/store/sqlite/db.c, migrate): on a
 * failed migration the message is built with mca_error_set(err, rc, "...: %s", ..., err->msg), i.e.
 * vsnprintf into err->msg reading from err->msg (overlapping, undefined
 * behaviour).  With glibc the SQLite reason is lost and the prefix is
 * repeated: "<db>: migration 0001-initial.sql failed: <db>: migration
 * 0001-initial.sql failed: " instead of ending in "table audit already
 * exists".
 */
START_TEST(test_known_bug_migration_message)
{
	struct mca_error err = {0};
	struct mca_store *st = NULL;

	raw_exec("CREATE TABLE audit (x)");
	ck_assert_int_eq(mca_store_open(db_path, 0, &st, &err), MCA_ERR_DB);
	ck_assert_msg(strstr(err.msg, "already exists") != NULL,
	              "SQLite's reason missing from \"%s\"", err.msg);
}
END_TEST

/*
 * FIXED BUG (then src/store/store.c, stmt_done; now src/store/sqlite/db.c, mca_sq_done): every
 * SQLITE_CONSTRAINT result is reported as MCA_ERR_EXISTS ("already exists"), so a CHECK or NOT NULL
 * violation (CRL number 0, unknown CRL issuer, certificate without
 * requester) tells the caller the row already exists.
 */
START_TEST(test_known_bug_constraint_code)
{
	static const unsigned char der[] = {0x30, 0x00};
	struct mca_error err = {0};
	struct mca_store *st = store_open();
	mca_rc zero, issuer;

	zero = mca_store_crl_insert(st, "ca", 0, 10, 20, der, sizeof(der), &err);
	issuer = mca_store_crl_insert(st, "intermediate", 1, 10, 20, der, sizeof(der), &err);
	mca_store_close(st);
	ck_assert_msg(zero != MCA_OK && zero != MCA_ERR_EXISTS, "CRL number 0: rc %d", zero);
	ck_assert_msg(issuer != MCA_OK && issuer != MCA_ERR_EXISTS, "CRL issuer: rc %d", issuer);
}
END_TEST

/* ---- PostgreSQL only (with $MCA_TEST_PG) --------------------------------- */

/*
 * A database whose schema a newer mtlsca made is refused, with or without
 * create, and left as it is.
 */
START_TEST(test_pg_newer_schema)
{
	struct mca_error err = {0};
	struct mca_store *st = store_open();

	ck_assert_int_eq(mca_store_schema_version(st), mca_store_pg_schema_latest());
	ck_assert_str_eq(mca_store_get_ops(st)->name, "postgresql");
	mca_store_close(st);
	tu_pg_exec(db_path, "UPDATE mca_schema SET version = 1000");
	st = NULL;
	ck_assert_int_eq(mca_store_open(db_path, 0, &st, &err), MCA_ERR_SCHEMA);
	ck_assert_ptr_null(st);
	ck_assert_ptr_nonnull(strstr(err.msg, "newer than this mtlsca"));
	ck_assert_int_eq(mca_store_open(db_path, MCA_STORE_CREATE, &st, &err), MCA_ERR_SCHEMA);
	ck_assert_int_eq(tu_pg_int(db_path, "SELECT version FROM mca_schema"), 1000);
}
END_TEST

/* Without create, a database lacking the mtlsca schema is "not found" and stays empty. */
START_TEST(test_pg_no_schema)
{
	struct mca_error err = {0};
	struct mca_store *st = NULL;

	ck_assert_int_eq(mca_store_open(db_path, 0, &st, &err), MCA_ERR_NOTFOUND);
	ck_assert_ptr_null(st);
	ck_assert_ptr_nonnull(strstr(err.msg, "no mtlsca schema"));
	ck_assert_int_eq(tu_pg_int(db_path, "SELECT count(*) FROM pg_tables"
	                                    " WHERE schemaname = 'public'"),
	                 0);
}
END_TEST

static void *
open_thread(void *arg)
{
	struct mca_error err = {0};
	struct mca_store *st = NULL;
	mca_rc *rc = arg;

	*rc = mca_store_open(db_path, MCA_STORE_CREATE, &st, &err);
	mca_store_close(st);
	return NULL;
}

/*
 * Instances starting at once migrate once: eight connections creating the
 * schema together all succeed (without the advisory lock the losers of
 * the race fail on "relation already exists"), one version row.
 */
START_TEST(test_pg_concurrent_migration)
{
	pthread_t t[8];
	mca_rc rc[8];
	size_t i;

	for (i = 0; i < NELEM(t); i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, open_thread, &rc[i]), 0);
	for (i = 0; i < NELEM(t); i++) {
		pthread_join(t[i], NULL);
		ck_assert_int_eq(rc[i], MCA_OK);
	}
	ck_assert_int_eq(tu_pg_int(db_path, "SELECT count(*) FROM mca_schema"), 1);
	ck_assert_int_eq(tu_pg_int(db_path, "SELECT version FROM mca_schema"),
	                 mca_store_pg_schema_latest());
}
END_TEST

/*
 * A connection the server dropped: a read outside a transaction runs again
 * at once on a fresh connection; for a transaction it is a conflict, and
 * mca_store_txn's next attempt reconnects (PQreset): the insert lands once.
 */
START_TEST(test_pg_reconnect)
{
	static const char kill_others[] =
	    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
	    " WHERE datname = current_database() AND pid <> pg_backend_pid()";
	struct mca_error err = {0};
	struct mca_store *st = store_open();
	struct mca_cert_rec *got = NULL;

	insert_cert(st, "01", ISSUER, 5000);
	tu_pg_exec(db_path, kill_others);
	ck_assert_msg(mca_store_cert_get(st, "01", &got, &err) == MCA_OK, "%s", err.msg);
	mca_cert_rec_free(got);
	tu_pg_exec(db_path, kill_others);
	insert_cert(st, "02", ISSUER, 5000);
	ck_assert_int_eq(mca_store_count(st, "certificates"), 2);
	ck_assert_int_eq(other_count("audit"), 2);
	mca_store_close(st);
}
END_TEST

/*
 * An unreachable server: the open fails (a conflict, so callers may
 * retry), or with MCA_STORE_WAIT succeeds and every use is a conflict
 * until the server answers.  The password never shows.
 */
START_TEST(test_pg_unreachable)
{
	static const char down[] = "postgresql://mca:s3cret@127.0.0.1:1/ca?connect_timeout=2";
	struct mca_error err = {0};
	struct mca_store *st = NULL;

	ck_assert_int_eq(mca_store_open(down, 0, &st, &err), MCA_ERR_DB);
	ck_assert_ptr_null(st);
	ck_assert_msg(mca_store_conflict(MCA_ERR_DB, &err), "%s", err.msg);
	ck_assert_ptr_null(strstr(err.msg, "s3cret"));
	ck_assert_int_eq(mca_store_open(down, MCA_STORE_WAIT, &st, &err), MCA_OK);
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(mca_store_ping(st, &err), MCA_ERR_DB);
	ck_assert_msg(mca_store_conflict(MCA_ERR_DB, &err), "%s", err.msg);
	ck_assert_ptr_null(strstr(err.msg, "s3cret"));
	ck_assert_int_eq(mca_store_count(st, "certificates"), -1);
	mca_store_close(st);
}
END_TEST

static TCase *
store_tcase(const char *name)
{
	TCase *tc = tcase_create(name);

	tcase_add_unchecked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_checked_fixture(tc, test_setup, test_teardown);
	tcase_set_timeout(tc, 60); /* synchronous=FULL fsyncs every commit */
	return tc;
}

static Suite *
store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc;

	tc = store_tcase("open");
	tcase_add_test(tc, test_open_fresh);
	tcase_add_test(tc, test_reopen_keeps_data);
	if (tu_pg() == NULL) {
		/* What only a SQLite file can show: the file, its pragmas. */
		tcase_add_test(tc, test_open_newer_schema);
		tcase_add_test(tc, test_open_missing_no_create);
		tcase_add_test(tc, test_open_not_a_database);
		tcase_add_test(tc, test_open_migration_failure);
		tcase_add_test(tc, test_pragmas);
		tcase_add_test(tc, test_checkpoint_deferred);
	} else {
		tcase_add_test(tc, test_pg_newer_schema);
		tcase_add_test(tc, test_pg_no_schema);
		tcase_add_test(tc, test_pg_concurrent_migration);
		tcase_add_test(tc, test_pg_reconnect);
		tcase_add_test(tc, test_pg_unreachable);
	}
	suite_add_tcase(s, tc);

	tc = store_tcase("certificates");
	tcase_add_test(tc, test_cert_round_trip);
	tcase_add_test(tc, test_cert_defaults);
	tcase_add_test(tc, test_cert_get_missing);
	tcase_add_test(tc, test_cert_insert_audit_row);
	tcase_add_test(tc, test_audit_append);
	tcase_add_test(tc, test_cert_duplicate);
	tcase_add_test(tc, test_cert_insert_incomplete);
	tcase_add_test(tc, test_cert_get_revoked);
	suite_add_tcase(s, tc);

	tc = store_tcase("crls");
	tcase_add_test(tc, test_crl);
	tcase_add_test(tc, test_crl_duplicate);
	tcase_add_test(tc, test_crl_constraints);
	tcase_add_test(tc, test_revoked_foreach);
	tcase_add_test(tc, test_revoked_foreach_stop);
	suite_add_tcase(s, tc);

	tc = store_tcase("transactions");
	tcase_add_test(tc, test_txn_rollback);
	tcase_add_test(tc, test_txn_commit);
	tcase_add_test(tc, test_txn_immediate);
	suite_add_tcase(s, tc);

	tc = store_tcase("regressions");
	if (tu_pg() == NULL)
		tcase_add_test(tc, test_known_bug_migration_message);
	tcase_add_test(tc, test_known_bug_constraint_code);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(store_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
