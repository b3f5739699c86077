/*
 * test_crlset.c - the pre-encoded CRL entries: the store's crl_entries ops
 * (store.h: seq given by the store, key order, the shard and expiry
 * filters, one entry per serial, the rows added since a seq), the
 * in-memory set mtlscad publishes from (ca/crlset.h: incremental sync
 * whoever added the rows, serial order whatever the order of insertion,
 * the same bytes as the store, a damaged row refused), and migration 0006
 * (the entries of certificates revoked before it, encoded as a revocation
 * now would), and the stored CRLs' size without their DER and the pruning
 * of old DERs.  SQLite databases in a temporary directory; with
 * $MCA_TEST_PG (tests/integration/store_pg.sh) the same tests on that
 * PostgreSQL database, migration pg/0003 and the pruned DERs checked there.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include "ca/crlset.h"
#include "common/der.h"
#include "pki/crl.h"
#include "store/store.h"
#include "testutil.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define DN       "CN=Test CA"

static char tmpdir[PATH_MAX];
static char db_path[PATH_MAX + 32];

static void
setup(void)
{
	tu_mkdtemp(tmpdir, sizeof(tmpdir), "crlset");
	if (tu_pg() != NULL) {
		snprintf(db_path, sizeof(db_path), "%s", tu_pg());
		tu_pg_reset(db_path);
	} else {
		snprintf(db_path, sizeof(db_path), "%s/ca.db", tmpdir);
	}
}

static void
teardown(void)
{
	tu_rmtree(tmpdir);
}

static struct mca_store *
open_db(void)
{
	struct mca_error err = {0};
	struct mca_store *st = NULL;

	ck_assert_msg(mca_store_open(db_path, 1, &st, &err) == MCA_OK, "%s", err.msg);
	return st;
}

/* Add the entry of serial `v` (one octet .. three), expiring at `not_after`, in `shard`. */
static mca_rc
add(struct mca_store *st, uint32_t v, int64_t not_after, int shard, struct mca_error *err)
{
	struct mca_crl_entry e;
	struct mca_crl_entry_row r;
	unsigned char der[MCA_CRL_ENTRY_MAX], key[MCA_CRL_KEY_MAX];

	memset(&e, 0, sizeof(e));
	e.serial[0] = (unsigned char)(v >> 16);
	e.serial[1] = (unsigned char)(v >> 8);
	e.serial[2] = (unsigned char)v;
	e.serial_len = 3;
	e.revoked_at = 1700000000;
	e.reason = v % 2;
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(mca_crl_entry_encode(&e, der, &r.entry_len, key, &r.key_len, NULL),
	                 MCA_OK);
	r.issuer = DN;
	r.key = key;
	r.entry = der;
	r.not_after = not_after;
	r.shard = shard;
	r.seq = 999; /* ignored */
	return mca_store_crl_entry_add(st, &r, err);
}

/* The serials (as numbers) and seqs the walk hands over, in its order. */
struct seen {
	uint32_t serial[64];
	int64_t seq[64];
	size_t n;
};

static uint32_t
serial_of_entry(const unsigned char *e)
{
	uint32_t v = 0;
	size_t i;

	for (i = 0; i < e[3]; i++)
		v = v << 8 | e[4 + i];
	return v;
}

static int
collect(void *arg, const struct mca_crl_entry_row *r)
{
	struct seen *s = arg;

	ck_assert_uint_lt(s->n, NELEM(s->serial));
	ck_assert_str_eq(r->issuer, DN);
	s->serial[s->n] = serial_of_entry(r->entry);
	s->seq[s->n] = r->seq;
	s->n++;
	return 0;
}

static int
stop(void *arg, const struct mca_crl_entry_row *r)
{
	(void)arg;
	(void)r;
	return 1;
}

/* The serials in `d` (concatenated entries), in order. */
static size_t
serials_in(const struct mca_der *d, uint32_t *out, size_t max)
{
	const unsigned char *p = d->buf, *end = d->buf + d->len, *v;
	size_t n = 0, len;
	unsigned tag;

	while (p < end) {
		const unsigned char *start = p;

		ck_assert(mca_der_next(&p, end, &tag, &v, &len));
		ck_assert_uint_lt(n, max);
		out[n++] = serial_of_entry(start);
	}
	return n;
}

START_TEST(store_entries)
{
	struct mca_store *st = open_db();
	struct mca_error err = {0};
	struct seen s;

	/* inserted out of serial order; seq is the order of insertion */
	ck_assert_int_eq(add(st, 0x0300, 2000, 1, &err), MCA_OK);
	ck_assert_int_eq(add(st, 0x05, 2000, 0, &err), MCA_OK);
	ck_assert_int_eq(add(st, 0x010000, 1000, 1, &err), MCA_OK);
	ck_assert_int_eq(add(st, 0xff, 2000, -1, &err), MCA_OK);
	/* one entry per serial of an issuer */
	ck_assert_int_eq(add(st, 0x05, 3000, 0, &err), MCA_ERR_EXISTS);
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(mca_store_crl_entries(st, DN, -1, 0, collect, &s, &err), MCA_OK);
	ck_assert_uint_eq(s.n, 4);
	/* key order is numeric order */
	ck_assert_uint_eq(s.serial[0], 0x05);
	ck_assert_uint_eq(s.serial[1], 0xff);
	ck_assert_uint_eq(s.serial[2], 0x0300);
	ck_assert_uint_eq(s.serial[3], 0x010000);
	ck_assert_int_eq(s.seq[0], 2);
	ck_assert_int_eq(s.seq[1], 4);
	ck_assert_int_eq(s.seq[2], 1);
	ck_assert_int_eq(s.seq[3], 3);
	/* expired before `since`: gone (not_after > since stays) */
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(mca_store_crl_entries(st, DN, -1, 1000, collect, &s, &err), MCA_OK);
	ck_assert_uint_eq(s.n, 3);
	/* one shard */
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(mca_store_crl_entries(st, DN, 1, 0, collect, &s, &err), MCA_OK);
	ck_assert_uint_eq(s.n, 2);
	ck_assert_uint_eq(s.serial[0], 0x0300);
	ck_assert_uint_eq(s.serial[1], 0x010000);
	/* another issuer has none */
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(mca_store_crl_entries(st, "CN=Other", -1, 0, collect, &s, &err), MCA_OK);
	ck_assert_uint_eq(s.n, 0);
	/* the rows since seq 2, in seq order, expired ones too */
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(mca_store_crl_entries_after(st, DN, 2, collect, &s, &err), MCA_OK);
	ck_assert_uint_eq(s.n, 2);
	ck_assert_int_eq(s.seq[0], 3);
	ck_assert_int_eq(s.seq[1], 4);
	/* a callback that stops the walk is an error */
	ck_assert_int_eq(mca_store_crl_entries(st, DN, -1, 0, stop, NULL, &err), MCA_ERR_INTERNAL);
	ck_assert_str_eq(err.msg, "CRL entry walk failed");
	mca_store_close(st);
}
END_TEST

static int
collect_der(void *arg, const struct mca_crl_entry_row *r)
{
	mca_der_raw(arg, r->entry, r->entry_len);
	return 0;
}

/*
 * The set holds what the store holds, in serial order, whichever process
 * added the rows: a second connection adds rows between syncs, few (each
 * put in its place) or many (sorted at once).
 */
START_TEST(set_sync)
{
	struct mca_store *st = open_db(), *other = open_db();
	struct mca_crlset *set = mca_crlset_new(DN);
	struct mca_error err = {0};
	struct mca_der d;
	uint32_t got[600], v;
	size_t n, k, i;

	ck_assert_ptr_nonnull(set);
	ck_assert_int_eq(mca_crlset_sync(set, st, &err), MCA_OK);
	ck_assert_uint_eq(mca_crlset_count(set), 0);
	for (v = 100; v > 90; v--)
		ck_assert_int_eq(add(other, v, 2000, (int)(v % 3), &err), MCA_OK);
	ck_assert_int_eq(mca_crlset_sync(set, st, &err), MCA_OK);
	ck_assert_uint_eq(mca_crlset_count(set), 10);
	ck_assert_int_eq(mca_crlset_seq(set), 10);
	/* few more, between the ones held */
	ck_assert_int_eq(add(other, 95 * 256, 2000, 0, &err), MCA_OK);
	ck_assert_int_eq(add(other, 1, 500, 1, &err), MCA_OK);
	/* many more, in descending order */
	for (v = 900; v > 400; v--)
		ck_assert_int_eq(add(other, v, 2000, 2, &err), MCA_OK);
	for (k = 0; k < 2; k++) {
		ck_assert_int_eq(mca_crlset_sync(set, st, &err), MCA_OK);
		ck_assert_uint_eq(mca_crlset_count(set), 512); /* a second sync adds nothing */
	}
	mca_der_init(&d);
	mca_crlset_emit(set, -1, 0, &d, &n);
	ck_assert_uint_eq(n, 512);
	ck_assert_uint_eq(serials_in(&d, got, NELEM(got)), 512);
	for (i = 1; i < 512; i++)
		ck_assert_uint_lt(got[i - 1], got[i]);
	ck_assert_uint_eq(got[0], 1);
	ck_assert_uint_eq(got[511], 95 * 256);
	mca_der_free(&d);
	/* the same bytes as the store would give, shard by shard and after expiry */
	for (k = 0; k < 4; k++) {
		struct mca_der a;
		int shard = k == 3 ? -1 : (int)k;
		int64_t since = k == 3 ? 500 : 0;

		mca_der_init(&a);
		mca_der_init(&d);
		mca_crlset_emit(set, shard, since, &d, &n);
		ck_assert_int_eq(mca_store_crl_entries(st, DN, shard, since, collect_der, &a, &err),
		                 MCA_OK);
		ck_assert_uint_eq(d.len, a.len);
		ck_assert_mem_eq(d.buf, a.buf, d.len);
		mca_der_free(&a);
		mca_der_free(&d);
	}
	mca_crlset_free(set);
	mca_store_close(other);
	mca_store_close(st);
}
END_TEST

/*
 * Expired entries: the store deletes those with not_after <= before, the
 * set forgets the same ones and keeps the rest in order with the same
 * bytes; a later sync brings only new rows.
 */
START_TEST(purge_expired)
{
	struct mca_store *st = open_db();
	struct mca_crlset *set = mca_crlset_new(DN);
	struct mca_error err = {0};
	struct mca_der a, d;
	uint32_t v, got[64];
	int64_t gone = -1;
	size_t n = 0;

	for (v = 1; v <= 40; v++)
		ck_assert_int_eq(add(st, v * 7 % 41, 1000 + (int64_t)(v % 4) * 500, -1, &err),
		                 MCA_OK);
	ck_assert_int_eq(mca_crlset_sync(set, st, &err), MCA_OK);
	/* v = 40 (not_after 1000) has the highest seq: the store keeps its row */
	ck_assert_int_eq(mca_store_crl_entries_purge(st, DN, 1500, &gone, &err), MCA_OK);
	ck_assert_int_eq(gone, 19); /* not_after 1000 and 1500 */
	ck_assert_uint_eq(mca_crlset_drop_expired(set, 1500), 20);
	ck_assert_uint_eq(mca_crlset_count(set), 20);
	ck_assert_int_eq(mca_store_crl_entries_purge(st, "CN=Other", 9999, &gone, &err), MCA_OK);
	ck_assert_int_eq(gone, 0);
	ck_assert_int_eq(add(st, 1000, 3000, -1, &err), MCA_OK);
	ck_assert_int_eq(mca_crlset_sync(set, st, &err), MCA_OK);
	ck_assert_uint_eq(mca_crlset_count(set), 21);
	mca_der_init(&a);
	mca_der_init(&d);
	/* what a CRL lists (since 1500) is the same from both */
	mca_crlset_emit(set, -1, 1500, &d, &n);
	ck_assert_uint_eq(n, 21);
	ck_assert_int_eq(mca_store_crl_entries(st, DN, -1, 1500, collect_der, &a, &err), MCA_OK);
	ck_assert_uint_eq(d.len, a.len);
	ck_assert_mem_eq(d.buf, a.buf, d.len);
	ck_assert_uint_eq(serials_in(&d, got, NELEM(got)), 21);
	for (v = 1; v < 21; v++)
		ck_assert_uint_lt(got[v - 1], got[v]);
	mca_der_free(&a);
	mca_der_free(&d);
	/* nothing left to drop */
	ck_assert_uint_eq(mca_crlset_drop_expired(set, 1500), 0);
	mca_crlset_free(set);
	mca_store_close(st);
}
END_TEST

/* A row the set cannot take (not an entry this program writes) fails the sync. */
START_TEST(set_bad_row)
{
	struct mca_store *st = open_db();
	struct mca_crlset *set = mca_crlset_new(DN);
	struct mca_crl_entry_row r;
	struct mca_error err = {0};
	static const unsigned char junk[] = {0x04, 0x03, 0x01, 0x02, 0x03, 0x00, 0x00};
	static const unsigned char key[] = {0x01, 0x07};

	ck_assert_int_eq(add(st, 3, 2000, -1, &err), MCA_OK);
	memset(&r, 0, sizeof(r));
	r.issuer = DN;
	r.key = key;
	r.key_len = sizeof(key);
	r.entry = junk;
	r.entry_len = sizeof(junk);
	r.not_after = 2000;
	r.shard = -1;
	ck_assert_int_eq(mca_store_crl_entry_add(st, &r, &err), MCA_OK);
	ck_assert_int_eq(mca_crlset_sync(set, st, &err), MCA_ERR_DB);
	ck_assert_str_eq(err.msg, "a stored CRL entry is not one this program wrote");
	mca_crlset_free(set);
	mca_store_close(st);
}
END_TEST

/*
 * Migration 0006 encodes the entries of certificates revoked before it:
 * a schema-5 database (0006 undone by hand) with two revoked rows and a
 * valid one gets exactly two entries, byte for byte what a revocation
 * writes, keyed and sequenced in serial order, with no shard.
 */
START_TEST(migration)
{
	struct mca_store *st = open_db();
	struct mca_crl_entry e;
	unsigned char der[MCA_CRL_ENTRY_MAX], key[MCA_CRL_KEY_MAX];
	size_t der_len, key_len;
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	char *msg = NULL;
	int n = 0;

	mca_store_close(st);
	ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	ck_assert_msg(
	    sqlite3_exec(
	        db,
	        "DROP TABLE crl_entries; DROP TABLE crl_issuers;"
	        "ALTER TABLE certificates DROP COLUMN crl_shard;"
	        "INSERT INTO certificates (serial, issuer, profile, subject, names, not_before,"
	        " not_after, der, fingerprint, status, revoked_at, reason, requester, created_at)"
	        " VALUES ('4a0b', '" DN "', 'private', '', '[]', 1, 3000, x'00', 'f1', 'revoked',"
	        " 1700000000, 'keyCompromise', 't', 1),"
	        " ('03', '" DN "', 'private', '', '[]', 1, 4000, x'00', 'f2', 'revoked',"
	        " 1700000100, 'unspecified', 't', 1),"
	        " ('05', '" DN "', 'private', '', '[]', 1, 4000, x'00', 'f3', 'valid',"
	        " NULL, NULL, 't', 1);"
	        "PRAGMA user_version = 5;",
	        NULL, NULL, &msg) == SQLITE_OK,
	    "%s", msg);
	sqlite3_close(db);
	st = open_db();
	ck_assert_int_eq(mca_store_schema_version(st), mca_store_schema_latest());
	mca_store_close(st);
	ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db,
	                                    "SELECT key, not_after, shard, seq, entry, dn"
	                                    " FROM crl_entries JOIN crl_issuers"
	                                    " ON id = issuer_id ORDER BY seq",
	                                    -1, &q, NULL),
	                 SQLITE_OK);
	while (sqlite3_step(q) == SQLITE_ROW) {
		ck_assert_int_eq(mca_crl_entry_set(&e, n == 0 ? "03" : "4a0b",
		                                   n == 0 ? 1700000100 : 1700000000,
		                                   n == 0 ? "unspecified" : "keyCompromise", NULL),
		                 MCA_OK);
		ck_assert_int_eq(mca_crl_entry_encode(&e, der, &der_len, key, &key_len, NULL),
		                 MCA_OK);
		ck_assert_int_eq(sqlite3_column_bytes(q, 0), (int)key_len);
		ck_assert_mem_eq(sqlite3_column_blob(q, 0), key, key_len);
		ck_assert_int_eq(sqlite3_column_int64(q, 1), n == 0 ? 4000 : 3000);
		ck_assert_int_eq(sqlite3_column_type(q, 2), SQLITE_NULL);
		ck_assert_int_eq(sqlite3_column_int64(q, 3), n + 1);
		ck_assert_int_eq(sqlite3_column_bytes(q, 4), (int)der_len);
		ck_assert_mem_eq(sqlite3_column_blob(q, 4), der, der_len);
		ck_assert_str_eq((const char *)sqlite3_column_text(q, 5), DN);
		n++;
	}
	ck_assert_int_eq(n, 2);
	sqlite3_finalize(q);
	/* crls takes the shards' names now, and still nothing else */
	ck_assert_int_eq(
	    sqlite3_exec(db, "INSERT INTO crls VALUES ('ca-12', 1, 1, 2, x'00')", NULL, NULL, NULL),
	    SQLITE_OK);
	ck_assert_int_ne(
	    sqlite3_exec(db, "INSERT INTO crls VALUES ('ca-1x', 1, 1, 2, x'00')", NULL, NULL, NULL),
	    SQLITE_OK);
	ck_assert_int_ne(
	    sqlite3_exec(db, "INSERT INTO crls VALUES ('cb', 1, 1, 2, x'00')", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
}
END_TEST

/* The first column of the first row of `sql` on PostgreSQL, as text (malloc'd). */
static char *
pg_text(const char *sql)
{
	PGconn *c = PQconnectdb(db_path);
	PGresult *r;
	char *v;

	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
	r = PQexec(c, sql);
	ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0, "%s: %s", sql,
	              PQresultErrorMessage(r));
	v = strdup(PQgetvalue(r, 0, 0));
	ck_assert_ptr_nonnull(v);
	PQclear(r);
	PQfinish(c);
	return v;
}

static void
hex(const unsigned char *p, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
	out[2 * n] = '\0';
}

/* Back to schema 2: pg/0003 undone by hand. */
#define PG_UNDO_0003                                                                               \
	"DROP TABLE crl_entries; DROP TABLE crl_issuers;"                                          \
	"ALTER TABLE certificates DROP COLUMN crl_shard;"                                          \
	"ALTER TABLE crls DROP CONSTRAINT crls_issuer_check;"                                      \
	"ALTER TABLE crls ADD CONSTRAINT crls_issuer_check CHECK (issuer IN ('ca', 'root'));"

/*
 * A revoked certificate whose serial no CRL entry can be made of (not
 * hex) stops migration pg/0003, naming it; the database stays at schema 2
 * with none of 0003's tables.
 */
START_TEST(migration_pg_bad)
{
	struct mca_store *st = open_db();
	struct mca_error err = {0};

	mca_store_close(st);
	st = NULL;
	tu_pg_exec(
	    db_path, PG_UNDO_0003
	    "INSERT INTO certificates (serial, issuer, profile, subject, names, not_before,"
	    " not_after, der, fingerprint, status, revoked_at, reason, requester, created_at)"
	    " VALUES ('xyz', '" DN "', 'private', '', '[]', 1, 3000, '\\x00', 'f1',"
	    " 'revoked', 1700000000, 'keyCompromise', 't', 1);"
	    "UPDATE mca_schema SET version = 2");
	ck_assert_int_eq(mca_store_open(db_path, 1, &st, &err), MCA_ERR_SCHEMA);
	ck_assert_ptr_null(st);
	ck_assert_str_eq(err.msg,
	                 "migration pg/0003-crl-entries.sql failed: revoked certificate xyz:"
	                 " no CRL entry can be made of its serial and revocation");
	ck_assert_int_eq(tu_pg_int(db_path, "SELECT version FROM mca_schema"), 2);
	ck_assert_int_eq(tu_pg_int(db_path, "SELECT count(*) FROM pg_tables"
	                                    " WHERE tablename IN ('crl_entries', 'crl_issuers')"),
	                 0);
}
END_TEST

/*
 * Migration pg/0003 on PostgreSQL, as 0006 on SQLite: a schema-2 database
 * (0003 undone by hand) with two revoked rows and a valid one gets exactly
 * two entries, byte for byte what a revocation writes (encoded in C by the
 * migration), sequenced in serial order, with no shard; crls then takes
 * the shards' names and nothing else.
 */
START_TEST(migration_pg)
{
	struct mca_store *st = open_db();
	struct mca_crl_entry e;
	unsigned char der[MCA_CRL_ENTRY_MAX], key[MCA_CRL_KEY_MAX];
	char want[2 * (MCA_CRL_ENTRY_MAX + MCA_CRL_KEY_MAX) + 2], kx[2 * MCA_CRL_KEY_MAX + 1];
	char sql[256], *got;
	size_t der_len, key_len;
	int n;

	mca_store_close(st);
	tu_pg_exec(
	    db_path, PG_UNDO_0003
	    "INSERT INTO certificates (serial, issuer, profile, subject, names, not_before,"
	    " not_after, der, fingerprint, status, revoked_at, reason, requester, created_at)"
	    " VALUES ('4a0b', '" DN "', 'private', '', '[]', 1, 3000, '\\x00', 'f1',"
	    " 'revoked', 1700000000, 'keyCompromise', 't', 1),"
	    " ('03', '" DN "', 'private', '', '[]', 1, 4000, '\\x00', 'f2', 'revoked',"
	    " 1700000100, 'unspecified', 't', 1),"
	    " ('05', '" DN "', 'private', '', '[]', 1, 4000, '\\x00', 'f3', 'valid',"
	    " NULL, NULL, 't', 1);"
	    "UPDATE mca_schema SET version = 2");
	st = open_db();
	ck_assert_int_eq(mca_store_schema_version(st), mca_store_pg_schema_latest());
	mca_store_close(st);
	ck_assert_int_eq(tu_pg_int(db_path, "SELECT count(*) FROM crl_entries"), 2);
	for (n = 0; n < 2; n++) {
		ck_assert_int_eq(mca_crl_entry_set(&e, n == 0 ? "03" : "4a0b",
		                                   n == 0 ? 1700000100 : 1700000000,
		                                   n == 0 ? "unspecified" : "keyCompromise", NULL),
		                 MCA_OK);
		ck_assert_int_eq(mca_crl_entry_encode(&e, der, &der_len, key, &key_len, NULL),
		                 MCA_OK);
		hex(key, key_len, kx);
		hex(der, der_len, want);
		snprintf(
		    sql, sizeof(sql),
		    "SELECT encode(key, 'hex') || ' ' || not_after || ' ' ||"
		    " coalesce(shard::text, 'null') || ' ' || seq || ' ' || encode(entry, 'hex')"
		    " || ' ' || dn FROM crl_entries JOIN crl_issuers ON id = issuer_id"
		    " WHERE seq = %d",
		    n + 1);
		got = pg_text(sql);
		snprintf(sql, sizeof(sql), "%s %d null %d %s %s", kx, n == 0 ? 4000 : 3000, n + 1,
		         want, DN);
		ck_assert_str_eq(got, sql);
		free(got);
	}
	/* crls takes the shards' names now, and still nothing else */
	tu_pg_exec(db_path, "INSERT INTO crls VALUES ('ca-12', 1, 1, 2, '\\x00')");
	ck_assert_int_eq(tu_pg_int(db_path, "SELECT count(*) FROM crls"), 1);
	{
		PGconn *c = PQconnectdb(db_path);
		static const char *const bad[] = {"ca-1x", "cb", "ca-"};
		size_t i;

		ck_assert_int_eq(PQstatus(c), CONNECTION_OK);
		for (i = 0; i < NELEM(bad); i++) {
			PGresult *r;

			snprintf(sql, sizeof(sql),
			         "INSERT INTO crls VALUES ('%s', 1, 1, 2, '\\x00')", bad[i]);
			r = PQexec(c, sql);
			ck_assert_int_eq(PQresultStatus(r), PGRES_FATAL_ERROR);
			ck_assert_str_eq(PQresultErrorField(r, PG_DIAG_SQLSTATE), "23514");
			PQclear(r);
		}
		PQfinish(c);
	}
}
END_TEST

/*
 * Stored CRLs: crl_latest_info gives the newest's numbers and size without
 * its DER; crl_prune empties the DER below a number and leaves the rows
 * (numbers, times) and the newer DERs alone.
 */
START_TEST(store_prune)
{
	static const unsigned char der[3][4] = {{1, 1, 1, 1}, {2, 2, 2, 2}, {3, 3, 3}};
	struct mca_store *st = open_db();
	struct mca_error err = {0};
	struct mca_crl_rec rec;
	int64_t n;

	ck_assert_int_eq(mca_store_crl_latest_info(st, "ca-1", &rec, &err), MCA_ERR_NOTFOUND);
	ck_assert_str_eq(err.msg, "no ca-1 CRL published yet");
	for (n = 1; n <= 3; n++)
		ck_assert_int_eq(mca_store_crl_insert(st, "ca-1", n * 10, n, n + 100, der[n - 1],
		                                      n == 3 ? 3 : 4, &err),
		                 MCA_OK);
	ck_assert_int_eq(mca_store_crl_insert(st, "ca", 5, 1, 2, der[0], 4, &err), MCA_OK);
	ck_assert_int_eq(mca_store_crl_latest_info(st, "ca-1", &rec, &err), MCA_OK);
	ck_assert_int_eq(rec.number, 30);
	ck_assert_int_eq(rec.this_update, 3);
	ck_assert_int_eq(rec.next_update, 103);
	ck_assert_uint_eq(rec.der_len, 3);
	ck_assert_ptr_null(rec.der);
	ck_assert_int_eq(mca_store_crl_prune(st, "ca-1", 30, &err), MCA_OK);
	ck_assert_int_eq(mca_store_crl_prune(st, "ca-1", 30, &err), MCA_OK); /* again: nothing */
	ck_assert_int_eq(mca_store_count(st, "crls"), 4);
	ck_assert_int_eq(mca_store_crl_latest(st, "ca-1", &rec, &err), MCA_OK);
	ck_assert_uint_eq(rec.der_len, 3);
	ck_assert_mem_eq(rec.der, der[2], 3);
	free(rec.der);
	/* another issuer's CRL keeps its DER */
	ck_assert_int_eq(mca_store_crl_latest(st, "ca", &rec, &err), MCA_OK);
	ck_assert_uint_eq(rec.der_len, 4);
	free(rec.der);
	mca_store_close(st);
	if (tu_pg() != NULL) {
		/* 10:0, 20:0, 30:3 as below */
		ck_assert_int_eq(tu_pg_int(db_path,
		                           "SELECT count(*) FROM crls WHERE issuer = 'ca-1'"
		                           " AND length(der) = CASE number WHEN 30 THEN 3"
		                           " WHEN 10 THEN 0 WHEN 20 THEN 0 END"),
		                 3);
		return;
	}
	{
		sqlite3 *db = NULL;
		sqlite3_stmt *q = NULL;

		ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
		ck_assert_int_eq(
		    sqlite3_prepare_v2(db,
		                       "SELECT group_concat(number || ':' || length(der))"
		                       " FROM (SELECT * FROM crls WHERE issuer = 'ca-1'"
		                       " ORDER BY number)",
		                       -1, &q, NULL),
		    SQLITE_OK);
		ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
		ck_assert_str_eq((const char *)sqlite3_column_text(q, 0), "10:0,20:0,30:3");
		sqlite3_finalize(q);
		sqlite3_close(db);
	}
}
END_TEST

int
main(void)
{
	Suite *su = suite_create("crlset");
	TCase *tc = tcase_create("crlset");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, store_entries);
	tcase_add_test(tc, set_sync);
	tcase_add_test(tc, set_bad_row);
	tcase_add_test(tc, purge_expired);
	if (tu_pg() != NULL)
		tcase_add_test(tc, migration_pg);
	if (tu_pg() != NULL)
		tcase_add_test(tc, migration_pg_bad);
	else
		tcase_add_test(tc, migration);
	tcase_add_test(tc, store_prune);
	suite_add_tcase(su, tc);
	sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
