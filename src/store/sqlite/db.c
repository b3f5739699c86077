/*
 * db.c - the SQLite backend's connection: open, pragmas, the SQL
 * functions migrations use, migrations from the embedded sql/NNNN-*.sql,
 * transactions, the statement cache, and the backend's ops table.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <sys/stat.h>
#include <openssl/x509.h>

#include "common/embedded.h"
#include "common/util.h"
#include "pki/crl.h"
#include "policy/names.h"
#include "store/sqlite/sqlite.h"

/*
 * Closing leaves the WAL as it is (sq_close) when this connection made it
 * grow by MCA_SQ_WAL_GREW or more and it stays below MCA_SQ_WAL_KEEP.
 */
#define MCA_SQ_WAL_GREW (4LL << 20)
#define MCA_SQ_WAL_KEEP (128LL << 20)
/* mca_store_checkpoint_due: SQLite's own autocheckpoint threshold (4 MB of 4 KiB pages). */
#define MCA_SQ_CKPT_FRAMES 1000

/* The size of the WAL of `path` now, 0 when there is none. */
static long long
wal_size(const char *path)
{
	struct stat sb;
	char *wal = NULL;
	long long n = 0;

	if (path != NULL && asprintf(&wal, "%s-wal", path) >= 0 && stat(wal, &sb) == 0)
		n = (long long)sb.st_size;
	free(wal);
	return n;
}

static const char sql_ping[] = "SELECT count(*) FROM sqlite_schema";
static const char sql_begin[] = "BEGIN IMMEDIATE";
static const char sql_commit[] = "COMMIT";
static const char sql_rollback[] = "ROLLBACK";
static const char sql_savepoint[] = "SAVEPOINT row";
static const char sql_release[] = "RELEASE row";
static const char sql_rollback_to[] = "ROLLBACK TO row";

/* An MCA_ERR_DB error for SQLite result `code` on this connection. */
static mca_rc
sq_fail(struct mca_sq *c, int code, struct mca_error *err)
{
	int primary = code & 0xff;

	if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
		return mca_error_rule(err, MCA_ERR_DB, MCA_STORE_CONFLICT, "%s: %s", c->path,
		                      sqlite3_errmsg(c->db));
	return mca_error_set(err, MCA_ERR_DB, "%s: %s", c->path, sqlite3_errmsg(c->db));
}

mca_rc
mca_sq_err(struct mca_sq *c, struct mca_error *err)
{
	return sq_fail(c, sqlite3_extended_errcode(c->db), err);
}

sqlite3_stmt *
mca_sq_stmt(struct mca_sq *c, const char *sql, struct mca_error *err)
{
	sqlite3_stmt *s = NULL;
	size_t i;

	for (i = 0; i < c->n_stmt; i++)
		if (c->stmt[i].sql == sql) {
			sqlite3_reset(c->stmt[i].stmt);
			sqlite3_clear_bindings(c->stmt[i].stmt);
			return c->stmt[i].stmt;
		}
	if (c->n_stmt == MCA_SQ_STMT_MAX) {
		mca_error_set(err, MCA_ERR_INTERNAL,
		              "statement cache full (raise MCA_SQ_STMT_MAX)");
		return NULL;
	}
	if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK) {
		mca_error_set(err, MCA_ERR_DB, "%s: prepare: %s", c->path, sqlite3_errmsg(c->db));
		return NULL;
	}
	c->stmt[c->n_stmt].sql = sql;
	c->stmt[c->n_stmt].stmt = s;
	c->n_stmt++;
	return s;
}

mca_rc
mca_sq_done(struct mca_sq *c, sqlite3_stmt *s, struct mca_error *err)
{
	int r = sqlite3_step(s);

	while (r == SQLITE_ROW)
		r = sqlite3_step(s);
	sqlite3_reset(s);
	if (r == SQLITE_DONE)
		return MCA_OK;
	/* Only a duplicate key means "exists"; other constraints are bad input or our bug. */
	if (r == SQLITE_CONSTRAINT_PRIMARYKEY || r == SQLITE_CONSTRAINT_UNIQUE)
		return mca_error_set(err, MCA_ERR_EXISTS, "%s: %s", c->path, sqlite3_errmsg(c->db));
	return sq_fail(c, r, err);
}

mca_rc
mca_sq_changes(struct mca_sq *c, sqlite3_stmt *s, int *changed, struct mca_error *err)
{
	mca_rc rc = mca_sq_done(c, s, err);

	*changed = rc == MCA_OK ? sqlite3_changes(c->db) : 0;
	return rc;
}

char *
mca_sq_col_text(sqlite3_stmt *s, int col)
{
	const unsigned char *t = sqlite3_column_text(s, col);

	return t == NULL ? NULL : strdup((const char *)t);
}

void
mca_sq_bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v != NULL)
		sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, i);
}

static mca_rc
exec_sql(struct mca_sq *c, const char *sql, struct mca_error *err)
{
	char *msg = NULL;
	int r;
	mca_rc rc = MCA_OK;

	if ((r = sqlite3_exec(c->db, sql, NULL, NULL, &msg)) != SQLITE_OK) {
		if (msg == NULL)
			rc = sq_fail(c, r, err);
		else if ((r & 0xff) == SQLITE_BUSY || (r & 0xff) == SQLITE_LOCKED)
			rc = mca_error_rule(err, MCA_ERR_DB, MCA_STORE_CONFLICT, "%s: %s", c->path,
			                    msg);
		else
			rc = mca_error_set(err, MCA_ERR_DB, "%s: %s", c->path, msg);
		sqlite3_free(msg);
	}
	return rc;
}

/* Run a cached statement that takes no parameters (transaction control, ping). */
static mca_rc
run(struct mca_sq *c, const char *sql, struct mca_error *err)
{
	sqlite3_stmt *s = mca_sq_stmt(c, sql, err);

	return s == NULL ? MCA_ERR_DB : mca_sq_done(c, s, err);
}

int
mca_store_schema_latest(void)
{
	int n = 0;

	while (mca_embedded_sql[n].name != NULL)
		n++;
	return n;
}

static int
sq_schema_version(void *impl)
{
	struct mca_sq *c = impl;
	sqlite3_stmt *s = NULL;
	int v = -1;

	if (sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* SQL mca_der_names(der): the typed names JSON of a certificate (names.h), NULL if unreadable. */
static void
sql_der_names(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const unsigned char *p = sqlite3_value_blob(argv[0]);
	int len = sqlite3_value_bytes(argv[0]);
	X509 *x = NULL;
	char *names = NULL;

	(void)argc;
	if (p != NULL && len > 0)
		x = d2i_X509(NULL, &p, len);
	if (x != NULL)
		names = mca_names_json_from_x509(x);
	if (names != NULL)
		sqlite3_result_text(ctx, names, -1, free);
	else
		sqlite3_result_null(ctx);
	X509_free(x);
}

/* SQL mca_ip_canon(text): the inet_ntop form of an IP literal, NULL if not one. */
static void
sql_ip_canon(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const char *t = (const char *)sqlite3_value_text(argv[0]);
	unsigned char ip[16];
	char buf[INET6_ADDRSTRLEN];
	size_t len = 0;

	(void)argc;
	if (t != NULL && mca_ip_parse(t, ip, &len) &&
	    inet_ntop(len == 4 ? AF_INET : AF_INET6, ip, buf, sizeof(buf)) != NULL)
		sqlite3_result_text(ctx, buf, -1, SQLITE_TRANSIENT);
	else
		sqlite3_result_null(ctx);
}

/* SQL mca_crl_entry(serial, revoked_at, reason): the entry's DER (pki/crl.h), NULL if bad. */
static void
sql_crl_entry(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	unsigned char der[MCA_CRL_ENTRY_MAX], key[MCA_CRL_KEY_MAX];
	size_t der_len = 0, key_len = 0;
	struct mca_crl_entry e;
	const char *reason = (const char *)sqlite3_value_text(argv[2]);

	(void)argc;
	/* a reason this program does not know was recorded as given: unspecified then */
	if (reason != NULL && mca_crl_reason_parse(reason) < 0)
		reason = NULL;
	if (mca_crl_entry_set(&e, (const char *)sqlite3_value_text(argv[0]),
	                      sqlite3_value_int64(argv[1]), reason, NULL) == MCA_OK &&
	    mca_crl_entry_encode(&e, der, &der_len, key, &key_len, NULL) == MCA_OK)
		sqlite3_result_blob(ctx, der, (int)der_len, SQLITE_TRANSIENT);
	else
		sqlite3_result_null(ctx);
}

/* SQL mca_crl_key(serial): the entry's sort key, NULL if bad. */
static void
sql_crl_key(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	unsigned char der[MCA_CRL_ENTRY_MAX], key[MCA_CRL_KEY_MAX];
	size_t der_len = 0, key_len = 0;
	struct mca_crl_entry e;

	(void)argc;
	if (mca_crl_entry_set(&e, (const char *)sqlite3_value_text(argv[0]), 0, NULL, NULL) ==
	        MCA_OK &&
	    mca_crl_entry_encode(&e, der, &der_len, key, &key_len, NULL) == MCA_OK)
		sqlite3_result_blob(ctx, key, (int)key_len, SQLITE_TRANSIENT);
	else
		sqlite3_result_null(ctx);
}

/* The functions migrations use (sql/0005-typed-names.sql, sql/0006-crl-entries.sql). */
static mca_rc
register_functions(struct mca_sq *c, struct mca_error *err)
{
	int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY;

	if (sqlite3_create_function(c->db, "mca_der_names", 1, flags, NULL, sql_der_names, NULL,
	                            NULL) != SQLITE_OK ||
	    sqlite3_create_function(c->db, "mca_ip_canon", 1, flags, NULL, sql_ip_canon, NULL,
	                            NULL) != SQLITE_OK ||
	    sqlite3_create_function(c->db, "mca_crl_entry", 3, flags, NULL, sql_crl_entry, NULL,
	                            NULL) != SQLITE_OK ||
	    sqlite3_create_function(c->db, "mca_crl_key", 1, flags, NULL, sql_crl_key, NULL,
	                            NULL) != SQLITE_OK)
		return mca_error_set(err, MCA_ERR_DB, "%s: cannot register SQL functions: %s",
		                     c->path, sqlite3_errmsg(c->db));
	return MCA_OK;
}

/* Apply every embedded migration newer than the database, each in its own transaction. */
static mca_rc
migrate(struct mca_sq *c, struct mca_error *err)
{
	int have, latest = mca_store_schema_latest(), i;
	struct mca_error e = {0};
	char pragma[64];
	mca_rc rc;

	have = sq_schema_version(c);
	if (have < 0)
		return mca_error_set(err, MCA_ERR_DB, "%s: cannot read schema version: %s", c->path,
		                     sqlite3_errmsg(c->db));
	if (have > latest)
		return mca_error_set(err, MCA_ERR_SCHEMA,
		                     "%s: database schema version %d is newer than this mtlsca "
		                     "(knows up to %d); upgrade mtlsca",
		                     c->path, have, latest);
	for (i = have; i < latest; i++) {
		if ((rc = exec_sql(c, "BEGIN IMMEDIATE", err)) != MCA_OK)
			return rc;
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", i + 1);
		if ((rc = exec_sql(c, mca_embedded_sql[i].text, &e)) != MCA_OK ||
		    (rc = exec_sql(c, pragma, &e)) != MCA_OK ||
		    (rc = exec_sql(c, "COMMIT", &e)) != MCA_OK) {
			exec_sql(c, "ROLLBACK", NULL);
			return mca_error_set(err, rc, "migration %s failed: %s",
			                     mca_embedded_sql[i].name, e.msg);
		}
	}
	return MCA_OK;
}

static void
sq_close(void *impl)
{
	struct mca_sq *c = impl;
	long long now;
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n_stmt; i++)
		sqlite3_finalize(c->stmt[i].stmt);
	/*
	 * The last connection to close checkpoints (SQLite's default), but
	 * not after it committed a large CRL itself while the WAL stays below
	 * MCA_SQ_WAL_KEEP: a CLI publication of a million entries returns
	 * after its commit; the next close (or mtlscad's tick) copies it.
	 */
	now = wal_size(c->path);
	if (c->db != NULL && now - c->wal_at_open >= MCA_SQ_WAL_GREW && now < MCA_SQ_WAL_KEEP)
		sqlite3_db_config(c->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	sqlite3_close(c->db);
	free(c->path);
	free(c);
}

static mca_rc
sq_ping(void *impl, struct mca_error *err)
{
	return run(impl, sql_ping, err);
}

/* mca_store_checkpoint: passive (waits for nobody), the WAL restarts when every frame is in. */
static mca_rc
sq_checkpoint(void *impl, struct mca_error *err)
{
	struct mca_sq *c = impl;
	int rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);

	if (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
		return MCA_OK;
	return mca_error_set(err, MCA_ERR_DB, "%s: checkpoint: %s", c->path, sqlite3_errmsg(c->db));
}

static int
sq_checkpoint_due(void *impl)
{
	return ((struct mca_sq *)impl)->wal_frames >= MCA_SQ_CKPT_FRAMES;
}

/* SQLite's WAL hook: after each commit, how many frames the WAL holds. */
static int
wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	(void)db;
	(void)name;
	((struct mca_sq *)arg)->wal_frames = frames;
	return SQLITE_OK;
}

static int64_t
sq_count(void *impl, const char *table)
{
	struct mca_sq *c = impl;
	sqlite3_stmt *s = NULL;
	char sql[128];
	int64_t n = -1;

	/* `table` comes from our own code, never from input; still refuse oddities. */
	if (strspn(table, "abcdefghijklmnopqrstuvwxyz_") != strlen(table))
		return -1;
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	if (sqlite3_prepare_v2(c->db, sql, -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return n;
}

static void
sq_lock_wait(void *impl, int ms)
{
	sqlite3_busy_timeout(((struct mca_sq *)impl)->db, ms);
}

static int
sq_in_txn(void *impl)
{
	return !sqlite3_get_autocommit(((struct mca_sq *)impl)->db);
}

static mca_rc
sq_begin(void *impl, struct mca_error *err)
{
	return run(impl, sql_begin, err);
}

static mca_rc
sq_commit(void *impl, struct mca_error *err)
{
	return run(impl, sql_commit, err);
}

static void
sq_rollback(void *impl)
{
	if (sq_in_txn(impl))
		run(impl, sql_rollback, NULL);
}

static mca_rc
sq_savepoint(void *impl, struct mca_error *err)
{
	return run(impl, sql_savepoint, err);
}

static mca_rc
sq_release(void *impl, struct mca_error *err)
{
	return run(impl, sql_release, err);
}

static void
sq_rollback_to(void *impl)
{
	if (sq_in_txn(impl) && run(impl, sql_rollback_to, NULL) == MCA_OK)
		run(impl, sql_release, NULL);
}

static const struct mca_store_ops sqlite_ops = {
    .name = "sqlite",
    .close = sq_close,
    .schema_version = sq_schema_version,
    .ping = sq_ping,
    .count = sq_count,
    .lock_wait = sq_lock_wait,
    .checkpoint = sq_checkpoint,
    .checkpoint_due = sq_checkpoint_due,
    .in_txn = sq_in_txn,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .savepoint = sq_savepoint,
    .release = sq_release,
    .rollback_to = sq_rollback_to,
    .cert_insert = mca_sq_cert_insert,
    .cert_get = mca_sq_cert_get,
    .cert_list = mca_sq_cert_list,
    .cert_revoke = mca_sq_cert_revoke,
    .revoked_foreach = mca_sq_revoked_foreach,
    .audit = mca_sq_audit,
    .audit_list = mca_sq_audit_list,
    .crl_max_number = mca_sq_crl_max_number,
    .crl_insert = mca_sq_crl_insert,
    .crl_latest = mca_sq_crl_latest,
    .crl_latest_info = mca_sq_crl_latest_info,
    .crl_prune = mca_sq_crl_prune,
    .crl_entry_add = mca_sq_crl_entry_add,
    .crl_entries = mca_sq_crl_entries,
    .crl_entries_after = mca_sq_crl_entries_after,
    .crl_entries_purge = mca_sq_crl_entries_purge,
    .validation_current = mca_sq_validation_current,
    .validation_add = mca_sq_validation_add,
    .token_insert = mca_sq_token_insert,
    .token_get = mca_sq_token_get,
    .token_consume = mca_sq_token_consume,
    .token_refund = mca_sq_token_refund,
    .token_revoke = mca_sq_token_revoke,
    .token_list = mca_sq_token_list,
    .token_purge = mca_sq_token_purge,
    .acme_account_add = mca_sq_acme_account_add,
    .acme_account_get = mca_sq_acme_account_get,
    .acme_account_by_key = mca_sq_acme_account_by_key,
    .acme_account_update = mca_sq_acme_account_update,
    .acme_order_add = mca_sq_acme_order_add,
    .acme_order_get = mca_sq_acme_order_get,
    .acme_order_set = mca_sq_acme_order_set,
    .acme_order_claim = mca_sq_acme_order_claim,
    .acme_order_count = mca_sq_acme_order_count,
    .acme_order_by_serial = mca_sq_acme_order_by_serial,
    .acme_order_list = mca_sq_acme_order_list,
    .acme_order_issued = mca_sq_acme_order_issued,
    .acme_order_unclaim = mca_sq_acme_order_unclaim,
    .acme_order_repair = mca_sq_acme_order_repair,
    .acme_authz_add = mca_sq_acme_authz_add,
    .acme_authz_get = mca_sq_acme_authz_get,
    .acme_authz_set = mca_sq_acme_authz_set,
    .acme_authz_settle = mca_sq_acme_authz_settle,
    .acme_authz_list = mca_sq_acme_authz_list,
    .acme_chall_add = mca_sq_acme_chall_add,
    .acme_chall_get = mca_sq_acme_chall_get,
    .acme_chall_set = mca_sq_acme_chall_set,
    .acme_chall_start = mca_sq_acme_chall_start,
    .acme_chall_list = mca_sq_acme_chall_list,
    .acme_chall_processing = mca_sq_acme_chall_processing,
    .acme_purge = mca_sq_acme_purge,
    .rows = mca_sq_rows,
    .row_put = mca_sq_row_put,
    .rows_end = mca_sq_rows_end,
};

/* Open with the given synchronous mode ("FULL" or "NORMAL"). */
static mca_rc
sq_open(const char *path, int create, const char *sync, struct mca_sq **out, struct mca_error *err)
{
	struct mca_sq *c = NULL;
	char pragma[64];
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
	mca_rc rc;

	*out = NULL;
	if (!create && !mca_path_exists(path))
		return mca_error_set(err, MCA_ERR_NOTFOUND, "%s: no such database", path);
	c = calloc(1, sizeof(*c));
	if (c == NULL || (c->path = strdup(path)) == NULL) {
		free(c);
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	}
	if (create)
		flags |= SQLITE_OPEN_CREATE;
	if (sqlite3_open_v2(path, &c->db, flags, NULL) != SQLITE_OK) {
		rc = mca_error_set(err, MCA_ERR_DB, "%s: %s", path,
		                   c->db ? sqlite3_errmsg(c->db) : "cannot open");
		goto fail;
	}
	sqlite3_extended_result_codes(c->db, 1);
	sqlite3_busy_timeout(c->db, 10000);
	/*
	 * WAL lets the CLI and the daemon share the file; synchronous=FULL
	 * fsyncs the WAL on every COMMIT so a committed certificate survives
	 * power loss (doc/durability.md).
	 */
	snprintf(pragma, sizeof(pragma), "PRAGMA synchronous = %s", sync);
	if ((rc = exec_sql(c, "PRAGMA journal_mode = WAL", err)) != MCA_OK ||
	    (rc = exec_sql(c, pragma, err)) != MCA_OK ||
	    (rc = exec_sql(c, "PRAGMA foreign_keys = ON", err)) != MCA_OK)
		goto fail;
	/*
	 * No checkpoint inside a commit: a commit that logs a large CRL would
	 * otherwise copy it into the database file and fsync that too, on the
	 * request that committed it.  mca_store_checkpoint does it (mtlscad's
	 * tick), and so does the close of the last connection.
	 */
	sqlite3_wal_autocheckpoint(c->db, 0);
	sqlite3_wal_hook(c->db, wal_hook, c);
	c->wal_at_open = wal_size(c->path);
	if ((rc = register_functions(c, err)) != MCA_OK || (rc = migrate(c, err)) != MCA_OK)
		goto fail;
	*out = c;
	return MCA_OK;
fail:
	sq_close(c);
	return rc;
}

mca_rc
mca_store_sqlite_open(const char *path, int create, struct mca_store **out, struct mca_error *err)
{
	struct mca_sq *c = NULL;
	mca_rc rc;

	*out = NULL;
	if ((rc = sq_open(path, create, "FULL", &c, err)) != MCA_OK)
		return rc;
	if ((rc = mca_store_new(&sqlite_ops, c, out, err)) != MCA_OK)
		sq_close(c);
	return rc;
}
