/* store.c - SQLite persistence with per-connection prepared statements. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <sqlite3.h>
#include <openssl/x509.h>

#include "common/embedded.h"
#include "common/util.h"
#include "policy/names.h"
#include "store/store.h"
#include "store/store_int.h"

/* Every statement this module runs, prepared once per connection on first use. */
#define STORE_STMTS(X)                                                                             \
	X(ST_CERT_INSERT,                                                                          \
	  "INSERT INTO certificates (serial, issuer, profile, subject, names, not_before,"         \
	  " not_after, der, fingerprint, status, revoked_at, reason, requester, created_at)"       \
	  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'valid', NULL, NULL, ?10, ?11)")           \
	X(ST_CERT_GET,                                                                             \
	  "SELECT serial, issuer, profile, subject, names, not_before, not_after, der,"            \
	  " fingerprint, status, revoked_at, reason, requester, created_at"                        \
	  " FROM certificates WHERE serial = ?1")                                                  \
	X(ST_AUDIT_INSERT,                                                                         \
	  "INSERT INTO audit (at, actor, action, serial, detail) VALUES (?1, ?2, ?3, ?4, ?5)")     \
	X(ST_CRL_MAX, "SELECT coalesce(max(number), 0) FROM crls WHERE issuer = ?1")               \
	X(ST_CRL_INSERT, "INSERT INTO crls (issuer, number, this_update, next_update, der)"        \
	                 " VALUES (?1, ?2, ?3, ?4, ?5)")                                           \
	X(ST_CRL_LATEST,                                                                           \
	  "SELECT number, this_update, next_update, der FROM crls WHERE issuer = ?1"               \
	  " ORDER BY number DESC LIMIT 1")                                                         \
	X(ST_REVOKED,                                                                              \
	  "SELECT serial, revoked_at, reason FROM certificates"                                    \
	  " WHERE status = 'revoked' AND issuer = ?1 AND not_after > ?2 ORDER BY serial")          \
	X(ST_VALIDATION_CURRENT,                                                                   \
	  "SELECT method FROM validations WHERE name = ?1 AND outcome = 'valid'"                   \
	  " AND validated_at >= ?2 AND (?3 IS NULL OR account = ?3)")                              \
	X(ST_VALIDATION_ADD,                                                                       \
	  "INSERT INTO validations (name, method, validated_at, outcome, error, account)"          \
	  " VALUES (?1, ?2, ?3, ?4, ?5, ?6)")                                                      \
	X(ST_CERT_LIST,                                                                            \
	  "SELECT serial, issuer, profile, subject, names, not_before, not_after, der,"            \
	  " fingerprint, status, revoked_at, reason, requester, created_at FROM certificates"      \
	  " WHERE (?1 IS NULL"                                                                     \
	  "  OR (?1 = 'valid' AND status = 'valid' AND not_after > ?5)"                            \
	  "  OR (?1 = 'expired' AND status = 'valid' AND not_after <= ?5)"                         \
	  "  OR (?1 = 'revoked' AND status = 'revoked'))"                                          \
	  " AND (?2 IS NULL OR profile = ?2) AND (?3 IS NULL OR serial > ?3)"                      \
	  " ORDER BY serial LIMIT ?4")                                                             \
	X(ST_TOKEN_INSERT,                                                                         \
	  "INSERT INTO tokens (id, hash, profile, names, uses_left, uses_total, expires_at,"       \
	  " created_at, created_by) VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7, ?8)")                  \
	X(ST_TOKEN_GET,                                                                            \
	  "SELECT id, hash, profile, names, uses_left, uses_total, expires_at, created_at,"        \
	  " coalesce(revoked_at, 0), created_by FROM tokens WHERE id = ?1")                        \
	X(ST_TOKEN_LIST,                                                                           \
	  "SELECT id, hash, profile, names, uses_left, uses_total, expires_at, created_at,"        \
	  " coalesce(revoked_at, 0), created_by FROM tokens ORDER BY created_at DESC, id")         \
	X(ST_TOKEN_CONSUME,                                                                        \
	  "UPDATE tokens SET uses_left = uses_left - 1 WHERE id = ?1 AND uses_left > 0"            \
	  " AND expires_at > ?2 AND revoked_at IS NULL")                                           \
	X(ST_TOKEN_REFUND,                                                                         \
	  "UPDATE tokens SET uses_left = uses_left + 1 WHERE id = ?1 AND uses_left < uses_total")  \
	X(ST_TOKEN_REVOKE,                                                                         \
	  "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL")                \
	X(ST_TOKEN_PURGE, "DELETE FROM tokens WHERE expires_at < ?1")                              \
	X(ST_CERT_REVOKE,                                                                          \
	  "UPDATE certificates SET status = 'revoked', revoked_at = ?2, reason = ?3"               \
	  " WHERE serial = ?1 AND status = 'valid'")                                               \
	X(ST_CERT_EXISTS, "SELECT 1 FROM certificates WHERE serial = ?1")                          \
	X(ST_SAVEPOINT, "SAVEPOINT row")                                                           \
	X(ST_RELEASE, "RELEASE row")                                                               \
	X(ST_ROLLBACK_TO, "ROLLBACK TO row")                                                       \
	X(ST_PING, "SELECT count(*) FROM sqlite_schema")                                           \
	X(ST_BEGIN, "BEGIN IMMEDIATE")                                                             \
	X(ST_COMMIT, "COMMIT")                                                                     \
	X(ST_ROLLBACK, "ROLLBACK")

enum store_stmt {
#define X_ENUM(id, sql) id,
	STORE_STMTS(X_ENUM)
#undef X_ENUM
	    ST__COUNT
};

static const char *const store_sql[] = {
#define X_SQL(id, sql) sql,
    STORE_STMTS(X_SQL)
#undef X_SQL
};

/* Statements other modules prepare through store_int.h, keyed by SQL address. */
#define EXTRA_MAX 64

struct mca_store {
	sqlite3 *db;
	sqlite3_stmt *stmt[ST__COUNT];
	struct {
		const char *sql;
		sqlite3_stmt *stmt;
	} extra[EXTRA_MAX];
	size_t n_extra;
	char *path;
};

int
mca_store_schema_latest(void)
{
	int n = 0;

	while (mca_embedded_sql[n].name != NULL)
		n++;
	return n;
}

/* Prepared statement `id`, reset and unbound, or NULL with err set. */
static sqlite3_stmt *
stmt_get(struct mca_store *st, enum store_stmt id, struct mca_error *err)
{
	if (st->stmt[id] == NULL &&
	    sqlite3_prepare_v3(st->db, store_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &st->stmt[id],
	                       NULL) != SQLITE_OK) {
		mca_error_set(err, MCA_ERR_DB, "%s: prepare: %s", st->path, sqlite3_errmsg(st->db));
		return NULL;
	}
	sqlite3_reset(st->stmt[id]);
	sqlite3_clear_bindings(st->stmt[id]);
	return st->stmt[id];
}

/* Run a statement that returns no rows (or whose rows are ignored). */
static mca_rc
stmt_done(struct mca_store *st, sqlite3_stmt *s, struct mca_error *err)
{
	int r = sqlite3_step(s);

	while (r == SQLITE_ROW)
		r = sqlite3_step(s);
	sqlite3_reset(s);
	if (r == SQLITE_DONE)
		return MCA_OK;
	/* Only a duplicate key means "exists"; other constraints are bad input or our bug. */
	if (r == SQLITE_CONSTRAINT_PRIMARYKEY || r == SQLITE_CONSTRAINT_UNIQUE)
		return mca_error_set(err, MCA_ERR_EXISTS, "%s: %s", st->path,
		                     sqlite3_errmsg(st->db));
	return mca_error_set(err, MCA_ERR_DB, "%s: %s", st->path, sqlite3_errmsg(st->db));
}

static mca_rc
exec_sql(struct mca_store *st, const char *sql, struct mca_error *err)
{
	char *msg = NULL;
	mca_rc rc = MCA_OK;

	if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		rc = mca_error_set(err, MCA_ERR_DB, "%s: %s", st->path,
		                   msg ? msg : sqlite3_errmsg(st->db));
		sqlite3_free(msg);
	}
	return rc;
}

int
mca_store_schema_version(struct mca_store *st)
{
	sqlite3_stmt *s = NULL;
	int v = -1;

	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) == SQLITE_OK &&
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

/* The functions migrations use (sql/0005-typed-names.sql). */
static mca_rc
register_functions(struct mca_store *st, struct mca_error *err)
{
	int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY;

	if (sqlite3_create_function(st->db, "mca_der_names", 1, flags, NULL, sql_der_names, NULL,
	                            NULL) != SQLITE_OK ||
	    sqlite3_create_function(st->db, "mca_ip_canon", 1, flags, NULL, sql_ip_canon, NULL,
	                            NULL) != SQLITE_OK)
		return mca_error_set(err, MCA_ERR_DB, "%s: cannot register SQL functions: %s",
		                     st->path, sqlite3_errmsg(st->db));
	return MCA_OK;
}

/* Apply every embedded migration newer than the database, each in its own transaction. */
static mca_rc
store_migrate(struct mca_store *st, struct mca_error *err)
{
	int have, latest = mca_store_schema_latest(), i;
	struct mca_error e = {0};
	char pragma[64];
	mca_rc rc;

	have = mca_store_schema_version(st);
	if (have < 0)
		return mca_error_set(err, MCA_ERR_DB, "%s: cannot read schema version: %s",
		                     st->path, sqlite3_errmsg(st->db));
	if (have > latest)
		return mca_error_set(err, MCA_ERR_SCHEMA,
		                     "%s: database schema version %d is newer than this mtlsca "
		                     "(knows up to %d); upgrade mtlsca",
		                     st->path, have, latest);
	for (i = have; i < latest; i++) {
		if ((rc = exec_sql(st, "BEGIN IMMEDIATE", err)) != MCA_OK)
			return rc;
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", i + 1);
		if ((rc = exec_sql(st, mca_embedded_sql[i].text, &e)) != MCA_OK ||
		    (rc = exec_sql(st, pragma, &e)) != MCA_OK ||
		    (rc = exec_sql(st, "COMMIT", &e)) != MCA_OK) {
			exec_sql(st, "ROLLBACK", NULL);
			return mca_error_set(err, rc, "migration %s failed: %s",
			                     mca_embedded_sql[i].name, e.msg);
		}
	}
	return MCA_OK;
}

/* Open with the given synchronous mode ("FULL" or "NORMAL"). */
static mca_rc
store_open(const char *path, int create, const char *sync, struct mca_store **out,
           struct mca_error *err)
{
	struct mca_store *st = NULL;
	char pragma[64];
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
	mca_rc rc;

	*out = NULL;
	if (!create && !mca_path_exists(path))
		return mca_error_set(err, MCA_ERR_NOTFOUND, "%s: no such database", path);
	st = calloc(1, sizeof(*st));
	if (st == NULL || (st->path = strdup(path)) == NULL) {
		free(st);
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	}
	if (create)
		flags |= SQLITE_OPEN_CREATE;
	if (sqlite3_open_v2(path, &st->db, flags, NULL) != SQLITE_OK) {
		rc = mca_error_set(err, MCA_ERR_DB, "%s: %s", path,
		                   st->db ? sqlite3_errmsg(st->db) : "cannot open");
		goto fail;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, 10000);
	/*
	 * WAL lets the CLI and the daemon share the file; synchronous=FULL
	 * fsyncs the WAL on every COMMIT so a committed certificate survives
	 * power loss (doc/durability.md).
	 */
	snprintf(pragma, sizeof(pragma), "PRAGMA synchronous = %s", sync);
	if ((rc = exec_sql(st, "PRAGMA journal_mode = WAL", err)) != MCA_OK ||
	    (rc = exec_sql(st, pragma, err)) != MCA_OK ||
	    (rc = exec_sql(st, "PRAGMA foreign_keys = ON", err)) != MCA_OK)
		goto fail;
	if ((rc = register_functions(st, err)) != MCA_OK || (rc = store_migrate(st, err)) != MCA_OK)
		goto fail;
	*out = st;
	return MCA_OK;
fail:
	mca_store_close(st);
	return rc;
}

mca_rc
mca_store_open(const char *path, int create, struct mca_store **out, struct mca_error *err)
{
	return store_open(path, create, "FULL", out, err);
}

void
mca_store_close(struct mca_store *st)
{
	size_t i;

	if (st == NULL)
		return;
	for (i = 0; i < ST__COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	for (i = 0; i < st->n_extra; i++)
		sqlite3_finalize(st->extra[i].stmt);
	sqlite3_close(st->db);
	free(st->path);
	free(st);
}

/* Run a statement that takes no parameters (transaction control, ping). */
static mca_rc
run(struct mca_store *st, enum store_stmt id, struct mca_error *err)
{
	sqlite3_stmt *s = stmt_get(st, id, err);

	return s == NULL ? MCA_ERR_DB : stmt_done(st, s, err);
}

mca_rc
mca_store_ping(struct mca_store *st, struct mca_error *err)
{
	return run(st, ST_PING, err);
}

mca_rc
mca_store_begin(struct mca_store *st, struct mca_error *err)
{
	return run(st, ST_BEGIN, err);
}

mca_rc
mca_store_commit(struct mca_store *st, struct mca_error *err)
{
	return run(st, ST_COMMIT, err);
}

void
mca_store_rollback(struct mca_store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		run(st, ST_ROLLBACK, NULL);
}

mca_rc
mca_store_audit(struct mca_store *st, const char *actor, const char *action, const char *serial,
                const char *detail_json, struct mca_error *err)
{
	sqlite3_stmt *s = stmt_get(st, ST_AUDIT_INSERT, err);

	if (s == NULL)
		return MCA_ERR_DB;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)mca_now());
	sqlite3_bind_text(s, 2, actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, action, -1, SQLITE_STATIC);
	if (serial != NULL)
		sqlite3_bind_text(s, 4, serial, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, detail_json ? detail_json : "{}", -1, SQLITE_STATIC);
	return stmt_done(st, s, err);
}

mca_rc
mca_store_cert_insert(struct mca_store *st, const struct mca_cert_rec *r, const char *actor,
                      const char *action, struct mca_error *err)
{
	sqlite3_stmt *s;
	int own = sqlite3_get_autocommit(st->db);
	mca_rc rc;

	if (own && (rc = mca_store_begin(st, err)) != MCA_OK)
		return rc;
	s = stmt_get(st, ST_CERT_INSERT, err);
	if (s == NULL) {
		rc = MCA_ERR_DB;
		goto out;
	}
	sqlite3_bind_text(s, 1, r->serial, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, r->issuer, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, r->profile, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, r->subject ? r->subject : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, r->names ? r->names : "[]", -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 6, r->not_before);
	sqlite3_bind_int64(s, 7, r->not_after);
	sqlite3_bind_blob(s, 8, r->der, (int)r->der_len, SQLITE_STATIC);
	sqlite3_bind_text(s, 9, r->fingerprint, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 10, r->requester, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 11, r->created_at ? r->created_at : (int64_t)mca_now());
	rc = stmt_done(st, s, err);
	if (rc == MCA_OK)
		rc = mca_store_audit(st, actor, action, r->serial, NULL, err);
	if (rc == MCA_OK && own)
		rc = mca_store_commit(st, err);
out:
	if (rc != MCA_OK && own)
		mca_store_rollback(st);
	return rc;
}

/* malloc'd copy of a text column, "" for NULL-able columns that must be strings. */
static char *
col_text(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	return t == NULL ? NULL : strdup((const char *)t);
}

/* Fill `r` from a row of ST_CERT_GET / ST_CERT_LIST (same column order). */
static mca_rc
row_to_rec(sqlite3_stmt *s, struct mca_cert_rec *r, struct mca_error *err)
{
	r->serial = col_text(s, 0);
	r->issuer = col_text(s, 1);
	r->profile = col_text(s, 2);
	r->subject = col_text(s, 3);
	r->names = col_text(s, 4);
	r->not_before = sqlite3_column_int64(s, 5);
	r->not_after = sqlite3_column_int64(s, 6);
	r->der_len = (size_t)sqlite3_column_bytes(s, 7);
	r->der = malloc(r->der_len ? r->der_len : 1);
	if (r->der != NULL && r->der_len > 0)
		memcpy(r->der, sqlite3_column_blob(s, 7), r->der_len);
	r->fingerprint = col_text(s, 8);
	r->status = col_text(s, 9);
	r->revoked_at = sqlite3_column_int64(s, 10);
	r->reason = col_text(s, 11);
	r->requester = col_text(s, 12);
	r->created_at = sqlite3_column_int64(s, 13);
	if (r->serial == NULL || r->issuer == NULL || r->profile == NULL || r->subject == NULL ||
	    r->names == NULL || r->der == NULL || r->fingerprint == NULL || r->status == NULL ||
	    r->requester == NULL) {
		mca_cert_rec_clear(r);
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	}
	return MCA_OK;
}

mca_rc
mca_store_cert_get(struct mca_store *st, const char *serial, struct mca_cert_rec **out,
                   struct mca_error *err)
{
	struct mca_cert_rec *r = NULL;
	sqlite3_stmt *s;
	int step;
	mca_rc rc;

	*out = NULL;
	s = stmt_get(st, ST_CERT_GET, err);
	if (s == NULL)
		return MCA_ERR_DB;
	sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
	step = sqlite3_step(s);
	if (step == SQLITE_DONE) {
		rc = mca_error_set(err, MCA_ERR_NOTFOUND, "no certificate with serial %s", serial);
		goto out;
	}
	if (step != SQLITE_ROW) {
		rc = mca_error_set(err, MCA_ERR_DB, "%s: %s", st->path, sqlite3_errmsg(st->db));
		goto out;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = row_to_rec(s, r, err)) != MCA_OK)
		goto out;
	*out = r;
	r = NULL;
	rc = MCA_OK;
out:
	sqlite3_reset(s);
	mca_cert_rec_free(r);
	return rc;
}

void
mca_cert_rec_clear(struct mca_cert_rec *r)
{
	free(r->serial);
	free(r->issuer);
	free(r->profile);
	free(r->subject);
	free(r->names);
	free(r->der);
	free(r->fingerprint);
	free(r->status);
	free(r->reason);
	free(r->requester);
	memset(r, 0, sizeof(*r));
}

void
mca_cert_rec_free(struct mca_cert_rec *r)
{
	if (r == NULL)
		return;
	mca_cert_rec_clear(r);
	free(r);
}

mca_rc
mca_store_crl_max_number(struct mca_store *st, const char *issuer, int64_t *number,
                         struct mca_error *err)
{
	sqlite3_stmt *s = stmt_get(st, ST_CRL_MAX, err);
	mca_rc rc = MCA_OK;

	if (s == NULL)
		return MCA_ERR_DB;
	sqlite3_bind_text(s, 1, issuer, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		*number = sqlite3_column_int64(s, 0);
	else
		rc = mca_error_set(err, MCA_ERR_DB, "%s: %s", st->path, sqlite3_errmsg(st->db));
	sqlite3_reset(s);
	return rc;
}

mca_rc
mca_store_crl_insert(struct mca_store *st, const char *issuer, int64_t number, int64_t this_update,
                     int64_t next_update, const unsigned char *der, size_t der_len,
                     struct mca_error *err)
{
	sqlite3_stmt *s = stmt_get(st, ST_CRL_INSERT, err);

	if (s == NULL)
		return MCA_ERR_DB;
	sqlite3_bind_text(s, 1, issuer, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, number);
	sqlite3_bind_int64(s, 3, this_update);
	sqlite3_bind_int64(s, 4, next_update);
	sqlite3_bind_blob(s, 5, der, (int)der_len, SQLITE_STATIC);
	return stmt_done(st, s, err);
}

int64_t
mca_store_count(struct mca_store *st, const char *table)
{
	sqlite3_stmt *s = NULL;
	char sql[128];
	int64_t n = -1;

	/* `table` comes from our own code, never from input; still refuse oddities. */
	if (strspn(table, "abcdefghijklmnopqrstuvwxyz_") != strlen(table))
		return -1;
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return n;
}

mca_rc
mca_store_crl_latest(struct mca_store *st, const char *issuer, struct mca_crl_rec *out,
                     struct mca_error *err)
{
	sqlite3_stmt *s = stmt_get(st, ST_CRL_LATEST, err);
	int step;
	mca_rc rc = MCA_OK;

	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return MCA_ERR_DB;
	sqlite3_bind_text(s, 1, issuer, -1, SQLITE_STATIC);
	step = sqlite3_step(s);
	if (step == SQLITE_ROW) {
		out->number = sqlite3_column_int64(s, 0);
		out->this_update = sqlite3_column_int64(s, 1);
		out->next_update = sqlite3_column_int64(s, 2);
		out->der_len = (size_t)sqlite3_column_bytes(s, 3);
		out->der = malloc(out->der_len ? out->der_len : 1);
		if (out->der == NULL)
			rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		else
			memcpy(out->der, sqlite3_column_blob(s, 3), out->der_len);
	} else if (step == SQLITE_DONE) {
		rc = mca_error_set(err, MCA_ERR_NOTFOUND, "no %s CRL published yet", issuer);
	} else {
		rc = mca_error_set(err, MCA_ERR_DB, "%s: %s", st->path, sqlite3_errmsg(st->db));
	}
	sqlite3_reset(s);
	return rc;
}

mca_rc
mca_store_revoked_foreach(struct mca_store *st, const char *issuer_dn, int64_t since,
                          mca_revoked_cb cb, void *arg, struct mca_error *err)
{
	sqlite3_stmt *s = stmt_get(st, ST_REVOKED, err);
	int step;
	mca_rc rc = MCA_OK;

	if (s == NULL)
		return MCA_ERR_DB;
	sqlite3_bind_text(s, 1, issuer_dn, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, since);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		if (cb(arg, (const char *)sqlite3_column_text(s, 0), sqlite3_column_int64(s, 1),
		       (const char *)sqlite3_column_text(s, 2)) != 0) {
			rc = mca_error_set(err, MCA_ERR_INTERNAL, "revoked list walk failed");
			break;
		}
	}
	if (rc == MCA_OK && step != SQLITE_DONE)
		rc = mca_error_set(err, MCA_ERR_DB, "%s: %s", st->path, sqlite3_errmsg(st->db));
	sqlite3_reset(s);
	return rc;
}

mca_rc
mca_store_cert_list(struct mca_store *st, const struct mca_cert_filter *f, mca_cert_cb cb,
                    void *arg, struct mca_error *err)
{
	sqlite3_stmt *s = stmt_get(st, ST_CERT_LIST, err);
	struct mca_cert_rec r;
	int step;
	mca_rc rc = MCA_OK;

	if (s == NULL)
		return MCA_ERR_DB;
	if (f->status != NULL)
		sqlite3_bind_text(s, 1, f->status, -1, SQLITE_STATIC);
	if (f->profile != NULL)
		sqlite3_bind_text(s, 2, f->profile, -1, SQLITE_STATIC);
	if (f->after != NULL)
		sqlite3_bind_text(s, 3, f->after, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, f->limit > 0 ? f->limit : -1);
	sqlite3_bind_int64(s, 5, f->now ? f->now : (int64_t)mca_now());
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&r, 0, sizeof(r));
		if ((rc = row_to_rec(s, &r, err)) != MCA_OK)
			break;
		step = cb(arg, &r);
		mca_cert_rec_clear(&r);
		if (step != 0) {
			step = SQLITE_DONE;
			break;
		}
	}
	if (rc == MCA_OK && step != SQLITE_DONE)
		rc = mca_error_set(err, MCA_ERR_DB, "%s: %s", st->path, sqlite3_errmsg(st->db));
	sqlite3_reset(s);
	return rc;
}

mca_rc
mca_store_validation_current(struct mca_store *st, const char *name, const char *const *methods,
                             int64_t since, const char *account, int *found, char *method,
                             struct mca_error *err)
{
	sqlite3_stmt *s = stmt_get(st, ST_VALIDATION_CURRENT, err);
	const char *m;
	size_t i;
	int step = SQLITE_DONE;
	mca_rc rc = MCA_OK;

	*found = 0;
	if (s == NULL)
		return MCA_ERR_DB;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, since);
	if (account != NULL)
		sqlite3_bind_text(s, 3, account, -1, SQLITE_STATIC);
	while (!*found && (step = sqlite3_step(s)) == SQLITE_ROW) {
		m = (const char *)sqlite3_column_text(s, 0);
		for (i = 0; methods[i] != NULL && m != NULL; i++)
			if (strcmp(methods[i], m) == 0) {
				*found = 1;
				if (method != NULL)
					snprintf(method, 16, "%s", m);
			}
	}
	if (!*found && step != SQLITE_DONE)
		rc = mca_error_set(err, MCA_ERR_DB, "%s: %s", st->path, sqlite3_errmsg(st->db));
	sqlite3_reset(s);
	return rc;
}

mca_rc
mca_store_validation_add(struct mca_store *st, const char *name, const char *method, int64_t at,
                         int valid, const char *error, const char *account, struct mca_error *err)
{
	sqlite3_stmt *s = stmt_get(st, ST_VALIDATION_ADD, err);

	if (s == NULL)
		return MCA_ERR_DB;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, method, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, at);
	sqlite3_bind_text(s, 4, valid ? "valid" : "invalid", -1, SQLITE_STATIC);
	if (error != NULL)
		sqlite3_bind_text(s, 5, error, -1, SQLITE_STATIC);
	if (account != NULL)
		sqlite3_bind_text(s, 6, account, -1, SQLITE_STATIC);
	return stmt_done(st, s, err);
}

void
mca_token_row_clear(struct mca_token_row *r)
{
	free(r->id);
	free(r->profile);
	free(r->names);
	free(r->created_by);
	memset(r, 0, sizeof(*r));
}

/* Fill a token row from ST_TOKEN_GET / ST_TOKEN_LIST columns. */
static mca_rc
row_to_token(sqlite3_stmt *s, struct mca_token_row *r, struct mca_error *err)
{
	memset(r, 0, sizeof(*r));
	r->id = col_text(s, 0);
	if (sqlite3_column_bytes(s, 1) == (int)sizeof(r->hash))
		memcpy(r->hash, sqlite3_column_blob(s, 1), sizeof(r->hash));
	r->profile = col_text(s, 2);
	r->names = col_text(s, 3);
	r->uses_left = sqlite3_column_int64(s, 4);
	r->uses_total = sqlite3_column_int64(s, 5);
	r->expires_at = sqlite3_column_int64(s, 6);
	r->created_at = sqlite3_column_int64(s, 7);
	r->revoked_at = sqlite3_column_int64(s, 8);
	r->created_by = col_text(s, 9);
	if (r->id == NULL || r->profile == NULL || r->names == NULL || r->created_by == NULL) {
		mca_token_row_clear(r);
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	}
	return MCA_OK;
}

mca_rc
mca_store_token_insert(struct mca_store *st, const struct mca_token_row *r, struct mca_error *err)
{
	sqlite3_stmt *s;
	char detail[160];
	mca_rc rc;

	if ((rc = mca_store_begin(st, err)) != MCA_OK)
		return rc;
	s = stmt_get(st, ST_TOKEN_INSERT, err);
	if (s == NULL) {
		rc = MCA_ERR_DB;
		goto out;
	}
	sqlite3_bind_text(s, 1, r->id, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 2, r->hash, (int)sizeof(r->hash), SQLITE_STATIC);
	sqlite3_bind_text(s, 3, r->profile, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, r->names, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, r->uses_total);
	sqlite3_bind_int64(s, 6, r->expires_at);
	sqlite3_bind_int64(s, 7, r->created_at);
	sqlite3_bind_text(s, 8, r->created_by, -1, SQLITE_STATIC);
	snprintf(detail, sizeof(detail), "{\"token\":\"%s\",\"profile\":\"%.64s\",\"uses\":%lld}",
	         r->id, r->profile, (long long)r->uses_total);
	if ((rc = stmt_done(st, s, err)) == MCA_OK &&
	    (rc = mca_store_audit(st, r->created_by, "token.create", NULL, detail, err)) == MCA_OK)
		rc = mca_store_commit(st, err);
out:
	if (rc != MCA_OK)
		mca_store_rollback(st);
	return rc;
}

mca_rc
mca_store_token_get(struct mca_store *st, const char *id, struct mca_token_row *out,
                    struct mca_error *err)
{
	sqlite3_stmt *s = stmt_get(st, ST_TOKEN_GET, err);
	int step;
	mca_rc rc;

	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return MCA_ERR_DB;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	step = sqlite3_step(s);
	if (step == SQLITE_ROW)
		rc = row_to_token(s, out, err);
	else if (step == SQLITE_DONE)
		rc = mca_error_set(err, MCA_ERR_NOTFOUND, "no token %s", id);
	else
		rc = mca_error_set(err, MCA_ERR_DB, "%s: %s", st->path, sqlite3_errmsg(st->db));
	sqlite3_reset(s);
	return rc;
}

/* Run an UPDATE/DELETE statement and report how many rows it changed. */
static mca_rc
stmt_changes(struct mca_store *st, sqlite3_stmt *s, int *changed, struct mca_error *err)
{
	mca_rc rc = stmt_done(st, s, err);

	*changed = rc == MCA_OK ? sqlite3_changes(st->db) : 0;
	return rc;
}

mca_rc
mca_store_token_consume(struct mca_store *st, const char *id, int64_t now, int *taken,
                        struct mca_error *err)
{
	sqlite3_stmt *s = stmt_get(st, ST_TOKEN_CONSUME, err);

	*taken = 0;
	if (s == NULL)
		return MCA_ERR_DB;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, now);
	return stmt_changes(st, s, taken, err);
}

mca_rc
mca_store_token_refund(struct mca_store *st, const char *id, struct mca_error *err)
{
	sqlite3_stmt *s = stmt_get(st, ST_TOKEN_REFUND, err);

	if (s == NULL)
		return MCA_ERR_DB;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	return stmt_done(st, s, err);
}

mca_rc
mca_store_token_revoke(struct mca_store *st, const char *id, int64_t now, const char *actor,
                       int *changed, struct mca_error *err)
{
	sqlite3_stmt *s;
	char detail[64];
	mca_rc rc;

	*changed = 0;
	if ((rc = mca_store_begin(st, err)) != MCA_OK)
		return rc;
	s = stmt_get(st, ST_TOKEN_REVOKE, err);
	if (s == NULL) {
		rc = MCA_ERR_DB;
		goto out;
	}
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, now);
	snprintf(detail, sizeof(detail), "{\"token\":\"%.20s\"}", id);
	if ((rc = stmt_changes(st, s, changed, err)) == MCA_OK &&
	    (*changed == 0 ||
	     (rc = mca_store_audit(st, actor, "token.revoke", NULL, detail, err)) == MCA_OK))
		rc = mca_store_commit(st, err);
out:
	if (rc != MCA_OK)
		mca_store_rollback(st);
	return rc;
}

mca_rc
mca_store_token_list(struct mca_store *st, int (*cb)(void *arg, const struct mca_token_row *r),
                     void *arg, struct mca_error *err)
{
	sqlite3_stmt *s = stmt_get(st, ST_TOKEN_LIST, err);
	struct mca_token_row r;
	int step = SQLITE_DONE, stop = 0;
	mca_rc rc = MCA_OK;

	if (s == NULL)
		return MCA_ERR_DB;
	while (!stop && (step = sqlite3_step(s)) == SQLITE_ROW) {
		if ((rc = row_to_token(s, &r, err)) != MCA_OK)
			break;
		stop = cb(arg, &r);
		mca_token_row_clear(&r);
	}
	if (rc == MCA_OK && !stop && step != SQLITE_DONE)
		rc = mca_error_set(err, MCA_ERR_DB, "%s: %s", st->path, sqlite3_errmsg(st->db));
	sqlite3_reset(s);
	return rc;
}

mca_rc
mca_store_token_purge(struct mca_store *st, int64_t before, int *n, struct mca_error *err)
{
	sqlite3_stmt *s = stmt_get(st, ST_TOKEN_PURGE, err);

	*n = 0;
	if (s == NULL)
		return MCA_ERR_DB;
	sqlite3_bind_int64(s, 1, before);
	return stmt_changes(st, s, n, err);
}

mca_rc
mca_store_cert_revoke(struct mca_store *st, const char *serial, int64_t now, const char *reason,
                      const char *actor, int *changed, struct mca_error *err)
{
	sqlite3_stmt *s;
	char detail[96];
	int exists = 0;
	mca_rc rc;

	*changed = 0;
	if ((rc = mca_store_begin(st, err)) != MCA_OK)
		return rc;
	s = stmt_get(st, ST_CERT_REVOKE, err);
	if (s == NULL) {
		rc = MCA_ERR_DB;
		goto out;
	}
	sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, now);
	sqlite3_bind_text(s, 3, reason, -1, SQLITE_STATIC);
	if ((rc = stmt_changes(st, s, changed, err)) != MCA_OK)
		goto out;
	if (*changed == 0) {
		s = stmt_get(st, ST_CERT_EXISTS, err);
		if (s == NULL) {
			rc = MCA_ERR_DB;
			goto out;
		}
		sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
		exists = sqlite3_step(s) == SQLITE_ROW;
		sqlite3_reset(s);
		rc = exists ? MCA_OK
		            : mca_error_set(err, MCA_ERR_NOTFOUND, "no certificate with serial %s",
		                            serial);
		goto out;
	}
	snprintf(detail, sizeof(detail), "{\"reason\":\"%.32s\"}", reason);
	if ((rc = mca_store_audit(st, actor, "revoke", serial, detail, err)) == MCA_OK)
		rc = mca_store_commit(st, err);
out:
	if (rc != MCA_OK || *changed == 0)
		mca_store_rollback(st);
	return rc;
}

sqlite3_stmt *
mca_store_stmt(struct mca_store *st, const char *sql, struct mca_error *err)
{
	size_t i;
	sqlite3_stmt *s = NULL;

	for (i = 0; i < st->n_extra; i++)
		if (st->extra[i].sql == sql) {
			sqlite3_reset(st->extra[i].stmt);
			sqlite3_clear_bindings(st->extra[i].stmt);
			return st->extra[i].stmt;
		}
	if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK) {
		mca_error_set(err, MCA_ERR_DB, "%s: prepare: %s", st->path, sqlite3_errmsg(st->db));
		return NULL;
	}
	if (st->n_extra == EXTRA_MAX) {
		sqlite3_finalize(s);
		mca_error_set(err, MCA_ERR_INTERNAL, "statement cache full (raise EXTRA_MAX)");
		return NULL;
	}
	st->extra[st->n_extra].sql = sql;
	st->extra[st->n_extra].stmt = s;
	st->n_extra++;
	return s;
}

mca_rc
mca_store_done(struct mca_store *st, sqlite3_stmt *s, struct mca_error *err)
{
	return stmt_done(st, s, err);
}

int
mca_store_changes(struct mca_store *st)
{
	return sqlite3_changes(st->db);
}

mca_rc
mca_store_dberr(struct mca_store *st, struct mca_error *err)
{
	return mca_error_set(err, MCA_ERR_DB, "%s: %s", st->path, sqlite3_errmsg(st->db));
}

char *
mca_store_col_text(sqlite3_stmt *s, int col)
{
	return col_text(s, col);
}

mca_rc
mca_store_savepoint(struct mca_store *st, struct mca_error *err)
{
	return run(st, ST_SAVEPOINT, err);
}

mca_rc
mca_store_savepoint_release(struct mca_store *st, struct mca_error *err)
{
	return run(st, ST_RELEASE, err);
}

void
mca_store_savepoint_rollback(struct mca_store *st)
{
	if (run(st, ST_ROLLBACK_TO, NULL) == MCA_OK)
		run(st, ST_RELEASE, NULL);
}
