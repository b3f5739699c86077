/*
 * db.c - the PostgreSQL backend's connection: connect and reconnect with
 * back-off, session settings, migrations from the embedded sql/pg/NNNN-*.sql
 * under an advisory lock, transactions, the statement cache, errors by
 * SQLSTATE, and the backend's ops table.
 *
 * Write transactions are serialised across every connection to the
 * database, in every instance: begin takes the transaction-scoped
 * advisory lock MCA_PG_LOCK_WRITE, the equivalent of SQLite's BEGIN
 * IMMEDIATE.  Inside it the default READ COMMITTED isolation sees every
 * committed row, so read-then-write steps (the next CRL number, a token's
 * uses, an order's claim) cannot interleave with another instance's.
 * Single statements outside a transaction are atomic on their own.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/embedded.h"
#include "common/log.h"
#include "store/pg/pg.h"

#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS   2000

/* ---- parameters and columns ------------------------------------------------ */

/* Past MCA_PG_PARAM_MAX: n becomes MCA_PG_PARAM_MAX + 1 and mca_pg_run refuses to run. */
void
mca_pg_text(struct mca_pg_params *p, const char *v)
{
	if (p->n >= MCA_PG_PARAM_MAX) {
		p->n = MCA_PG_PARAM_MAX + 1;
		return;
	}
	p->v[p->n] = v;
	p->len[p->n] = 0;
	p->fmt[p->n] = 0;
	p->n++;
}

void
mca_pg_null(struct mca_pg_params *p)
{
	mca_pg_text(p, NULL);
}

void
mca_pg_int(struct mca_pg_params *p, int64_t v)
{
	if (p->n >= MCA_PG_PARAM_MAX) {
		p->n = MCA_PG_PARAM_MAX + 1;
		return;
	}
	snprintf(p->num[p->n], sizeof(p->num[0]), "%lld", (long long)v);
	mca_pg_text(p, p->num[p->n]);
}

void
mca_pg_blob(struct mca_pg_params *p, const unsigned char *v, size_t len)
{
	/* Binary format: the bytes as they are, NUL octets included. */
	if (p->n >= MCA_PG_PARAM_MAX || len > INT_MAX) {
		p->n = MCA_PG_PARAM_MAX + 1;
		return;
	}
	p->v[p->n] = v != NULL ? (const char *)v : "";
	p->len[p->n] = (int)len;
	p->fmt[p->n] = 1;
	p->n++;
}

char *
mca_pg_str(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL : strdup(PQgetvalue(r, row, col));
}

int64_t
mca_pg_i64(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

unsigned char *
mca_pg_bytes(const PGresult *r, int row, int col, size_t *len)
{
	unsigned char *t, *out;
	size_t n = 0;

	*len = 0;
	t = PQunescapeBytea((const unsigned char *)PQgetvalue(r, row, col), &n);
	if (t == NULL)
		return NULL;
	out = malloc(n ? n : 1);
	if (out != NULL) {
		memcpy(out, t, n);
		*len = n;
	}
	PQfreemem(t);
	return out;
}

/* ---- errors ---------------------------------------------------------------- */

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Whether SQLSTATE `s` is worth a fresh attempt of the whole transaction. */
static int
retryable_state(const char *s)
{
	static const char *const states[] = {
	    "40001", /* serialization_failure */
	    "40P01", /* deadlock_detected */
	    "55P03", /* lock_not_available: lock_timeout ran out */
	    "57P01", /* admin_shutdown */
	    "57P02", /* crash_shutdown */
	    "57P03", /* cannot_connect_now: starting up */
	};
	size_t i;

	if (s == NULL)
		return 0;
	if (strncmp(s, "08", 2) == 0) /* connection exceptions */
		return 1;
	for (i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		if (strcmp(s, states[i]) == 0)
			return 1;
	return 0;
}

/* The error of result `r` (NULL: the connection's) as an mca_error. */
static mca_rc
pg_fail(struct mca_pg *c, const PGresult *r, struct mca_error *err)
{
	const char *state = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = r != NULL ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	char buf[400];
	size_t n;

	/* The server's primary message, else libpq's (its first line). */
	if (msg == NULL || msg[0] == '\0')
		msg = c->conn != NULL ? PQerrorMessage(c->conn) : "no connection";
	snprintf(buf, sizeof(buf), "%s", msg);
	buf[strcspn(buf, "\n")] = '\0';
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	/*
	 * No SQLSTATE: libpq's own error, the connection's (a send or read on
	 * a socket the server closed, before libpq marks the connection bad).
	 */
	if (c->conn == NULL || PQstatus(c->conn) != CONNECTION_OK || state == NULL ||
	    retryable_state(state))
		return mca_error_rule(err, MCA_ERR_DB, MCA_STORE_CONFLICT, "%s: %s", c->label, buf);
	if (state != NULL && strcmp(state, "23505") == 0) /* unique_violation */
		return mca_error_set(err, MCA_ERR_EXISTS, "%s: %s", c->label, buf);
	return mca_error_set(err, MCA_ERR_DB, "%s: %s", c->label, buf);
}

/* Run `sql` (fixed text, no parameters) with the simple protocol; OK or err. */
static mca_rc
simple(struct mca_pg *c, const char *sql, struct mca_error *err)
{
	PGresult *r = PQexec(c->conn, sql);
	ExecStatusType s = PQresultStatus(r);
	mca_rc rc = MCA_OK;

	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)
		rc = pg_fail(c, r, err);
	PQclear(r);
	return rc;
}

/* ---- migrations ------------------------------------------------------------ */

static int
pg_schema_latest(void)
{
	int n = 0;

	while (mca_embedded_pg_sql[n].name != NULL)
		n++;
	return n;
}

/* The schema version on the server: 0 when there is no mtlsca schema, -1 on error. */
static int
read_version(struct mca_pg *c, struct mca_error *err)
{
	PGresult *r;
	int v = -1;

	r = PQexec(c->conn, "SELECT to_regclass('mca_schema') IS NOT NULL");
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		pg_fail(c, r, err);
		PQclear(r);
		return -1;
	}
	if (strcmp(PQgetvalue(r, 0, 0), "t") != 0) {
		PQclear(r);
		return 0;
	}
	PQclear(r);
	r = PQexec(c->conn, "SELECT coalesce(max(version), 0) FROM mca_schema");
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		v = (int)mca_pg_i64(r, 0, 0);
	else
		pg_fail(c, r, err);
	PQclear(r);
	return v;
}

/* Apply every embedded migration newer than the database, each in its own transaction. */
static mca_rc
migrate_locked(struct mca_pg *c, struct mca_error *err)
{
	int have, latest = pg_schema_latest(), i;
	struct mca_error e = {0};
	const char *vals[1];
	char num[16];
	PGresult *r;
	mca_rc rc;

	if ((have = read_version(c, err)) < 0)
		return MCA_ERR_DB;
	if (have > latest)
		return mca_error_set(err, MCA_ERR_SCHEMA,
		                     "%s: database schema version %d is newer than this mtlsca "
		                     "(knows up to %d for PostgreSQL); upgrade mtlsca",
		                     c->label, have, latest);
	if (have == 0 && !c->create)
		return mca_error_set(err, MCA_ERR_NOTFOUND,
		                     "%s: no mtlsca schema in this database (create one with "
		                     "\"mtlsca init --database ...\" or \"mtlsca db copy\")",
		                     c->label);
	for (i = have; i < latest; i++) {
		snprintf(num, sizeof(num), "%d", i + 1);
		vals[0] = num;
		if ((rc = simple(c, "BEGIN", &e)) != MCA_OK ||
		    (rc = simple(c, mca_embedded_pg_sql[i].text, &e)) != MCA_OK ||
		    (rc = simple(c,
		                 "CREATE TABLE IF NOT EXISTS mca_schema (version INTEGER NOT NULL);"
		                 " DELETE FROM mca_schema",
		                 &e)) != MCA_OK)
			goto fail;
		r = PQexecParams(c->conn, "INSERT INTO mca_schema (version) VALUES ($1::integer)",
		                 1, NULL, vals, NULL, NULL, 0);
		rc = PQresultStatus(r) == PGRES_COMMAND_OK ? MCA_OK : pg_fail(c, r, &e);
		PQclear(r);
		if (rc != MCA_OK || (rc = simple(c, "COMMIT", &e)) != MCA_OK)
			goto fail;
		mca_log(MCA_LOG_INFO, "%s: applied migration pg/%s", c->label,
		        mca_embedded_pg_sql[i].name);
	}
	return MCA_OK;
fail:
	simple(c, "ROLLBACK", NULL);
	return mca_error_rule(err, rc, e.rule, "migration pg/%s failed: %s",
	                      mca_embedded_pg_sql[i].name, e.msg);
}

/* Migrate under the session advisory lock: instances starting at once migrate once. */
static mca_rc
migrate(struct mca_pg *c, struct mca_error *err)
{
	char sql[96];
	mca_rc rc;

	snprintf(sql, sizeof(sql), "SELECT pg_advisory_lock(%d, %d)", MCA_PG_LOCK_NS,
	         MCA_PG_LOCK_MIGRATE);
	if ((rc = simple(c, sql, err)) != MCA_OK)
		return rc;
	rc = migrate_locked(c, err);
	snprintf(sql, sizeof(sql), "SELECT pg_advisory_unlock(%d, %d)", MCA_PG_LOCK_NS,
	         MCA_PG_LOCK_MIGRATE);
	simple(c, sql, NULL);
	return rc;
}

/* ---- the connection -------------------------------------------------------- */

static void
quiet_notices(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

/* Settings of every session: durable commits, the lock wait. */
static mca_rc
session_setup(struct mca_pg *c, struct mca_error *err)
{
	char sql[160];

	snprintf(sql, sizeof(sql),
	         "SET synchronous_commit = on; SET client_min_messages = warning;"
	         " SET lock_timeout = %d",
	         c->lock_ms);
	return simple(c, sql, err);
}

/*
 * Make sure the connection is up and its schema checked: connect (or
 * reset a lost connection) at most once per back-off interval.  Failures
 * to reach the server are conflicts, so mca_store_txn tries again.
 */
static mca_rc
ensure(struct mca_pg *c, struct mca_error *err)
{
	int64_t now;
	mca_rc rc;

	if (c->conn != NULL && PQstatus(c->conn) == CONNECTION_OK) {
		if (c->ready)
			return MCA_OK;
	} else {
		if (c->txn)
			return mca_error_rule(err, MCA_ERR_DB, MCA_STORE_CONFLICT,
			                      "%s: connection lost during a transaction", c->label);
		now = now_ms();
		if (c->next_try_ms > now)
			return mca_error_rule(err, MCA_ERR_DB, MCA_STORE_CONFLICT,
			                      "%s: not connected (next attempt in %lld ms)",
			                      c->label, (long long)(c->next_try_ms - now));
		if (c->conn != NULL)
			PQreset(c->conn);
		else
			c->conn = PQconnectdb(c->conninfo);
		if (c->conn == NULL)
			return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		if (PQstatus(c->conn) != CONNECTION_OK) {
			if (c->backoff_ms == 0)
				mca_log(MCA_LOG_WARN, "%s: cannot connect, retrying with back-off",
				        c->label);
			c->backoff_ms = c->backoff_ms == 0 ? BACKOFF_FIRST_MS : c->backoff_ms * 2;
			if (c->backoff_ms > BACKOFF_MAX_MS)
				c->backoff_ms = BACKOFF_MAX_MS;
			c->next_try_ms = now + c->backoff_ms;
			return pg_fail(c, NULL, err);
		}
		if (c->backoff_ms != 0)
			mca_log(MCA_LOG_NOTICE, "%s: connected again", c->label);
		c->backoff_ms = 0;
		c->next_try_ms = 0;
		c->n_stmt = 0; /* prepared statements do not survive the session */
		c->ready = 0;
		PQsetNoticeProcessor(c->conn, quiet_notices, NULL);
		if ((rc = session_setup(c, err)) != MCA_OK)
			return rc;
	}
	if ((rc = migrate(c, err)) != MCA_OK)
		return rc;
	c->ready = 1;
	return MCA_OK;
}

/*
 * Whether to run `sql` again at once: it found the connection dead (the
 * server restarted while it sat idle), it is a read, outside a
 * transaction, and not retried yet.  Writes are not (the server may have
 * run one whose reply was lost); in a transaction mca_store_txn retries
 * the whole.
 */
static int
read_again(struct mca_pg *c, const char *sql, int *retried, struct mca_error *err)
{
	if (*retried || c->txn || strncmp(sql, "SELECT", 6) != 0 || c->conn == NULL ||
	    PQstatus(c->conn) == CONNECTION_OK)
		return 0;
	*retried = 1;
	if (err != NULL)
		memset(err, 0, sizeof(*err));
	return 1;
}

mca_rc
mca_pg_run(struct mca_pg *c, const char *sql, const struct mca_pg_params *p, PGresult **out,
           struct mca_error *err)
{
	char name[16];
	PGresult *r;
	ExecStatusType s;
	size_t i;
	int retried = 0;
	mca_rc rc;

	*out = NULL;
	if (p != NULL && p->n > MCA_PG_PARAM_MAX)
		return mca_error_set(err, MCA_ERR_INTERNAL,
		                     "too many parameters (raise MCA_PG_PARAM_MAX)");
again:
	if ((rc = ensure(c, err)) != MCA_OK)
		return rc;
	for (i = 0; i < c->n_stmt && c->stmt[i].sql != sql; i++)
		;
	snprintf(name, sizeof(name), "mca%zu", i);
	if (i == c->n_stmt) {
		if (i == MCA_PG_STMT_MAX)
			return mca_error_set(err, MCA_ERR_INTERNAL,
			                     "statement cache full (raise MCA_PG_STMT_MAX)");
		r = PQprepare(c->conn, name, sql, 0, NULL);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			rc = pg_fail(c, r, err);
			PQclear(r);
			if (read_again(c, sql, &retried, err))
				goto again;
			return rc;
		}
		PQclear(r);
		c->stmt[i].sql = sql;
		c->n_stmt++;
	}
	r = PQexecPrepared(c->conn, name, p != NULL ? p->n : 0, p != NULL ? p->v : NULL,
	                   p != NULL ? p->len : NULL, p != NULL ? p->fmt : NULL, 0);
	s = PQresultStatus(r);
	if (s == PGRES_TUPLES_OK || s == PGRES_COMMAND_OK) {
		*out = r;
		return MCA_OK;
	}
	rc = pg_fail(c, r, err);
	PQclear(r);
	if (read_again(c, sql, &retried, err))
		goto again;
	return rc;
}

mca_rc
mca_pg_cmd(struct mca_pg *c, const char *sql, const struct mca_pg_params *p, int *changed,
           struct mca_error *err)
{
	PGresult *r = NULL;
	mca_rc rc = mca_pg_run(c, sql, p, &r, err);

	if (changed != NULL)
		*changed = rc == MCA_OK ? atoi(PQcmdTuples(r)) : 0;
	PQclear(r);
	return rc;
}

static void
pg_close(void *impl)
{
	struct mca_pg *c = impl;

	if (c == NULL)
		return;
	if (c->conn != NULL)
		PQfinish(c->conn);
	free(c->conninfo);
	free(c);
}

static int
pg_schema_version(void *impl)
{
	static const char sql[] = "SELECT coalesce(max(version), 0) FROM mca_schema";
	struct mca_pg *c = impl;
	PGresult *r = NULL;
	int v = -1;

	if (mca_pg_run(c, sql, NULL, &r, NULL) == MCA_OK && PQntuples(r) == 1)
		v = (int)mca_pg_i64(r, 0, 0);
	PQclear(r);
	return v;
}

static mca_rc
pg_ping(void *impl, struct mca_error *err)
{
	static const char sql[] = "SELECT 1";

	return mca_pg_cmd(impl, sql, NULL, NULL, err);
}

static int64_t
pg_count(void *impl, const char *table)
{
	struct mca_pg *c = impl;
	char sql[128];
	PGresult *r;
	int64_t n = -1;

	/* `table` comes from our own code, never from input; still refuse oddities. */
	if (strspn(table, "abcdefghijklmnopqrstuvwxyz_") != strlen(table) || strlen(table) > 64)
		return -1;
	if (ensure(c, NULL) != MCA_OK)
		return -1;
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	r = PQexec(c->conn, sql);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		n = mca_pg_i64(r, 0, 0);
	PQclear(r);
	return n;
}

static void
pg_lock_wait(void *impl, int ms)
{
	struct mca_pg *c = impl;

	c->lock_ms = ms < 1 ? 1 : ms;
	if (c->conn != NULL && PQstatus(c->conn) == CONNECTION_OK)
		session_setup(c, NULL);
}

static int
pg_in_txn(void *impl)
{
	return ((struct mca_pg *)impl)->txn;
}

static mca_rc
pg_begin(void *impl, struct mca_error *err)
{
	struct mca_pg *c = impl;
	char sql[96];
	mca_rc rc;

	if ((rc = ensure(c, err)) != MCA_OK)
		return rc;
	snprintf(sql, sizeof(sql), "BEGIN; SELECT pg_advisory_xact_lock(%d, %d)", MCA_PG_LOCK_NS,
	         MCA_PG_LOCK_WRITE);
	if ((rc = simple(c, sql, err)) == MCA_OK) {
		c->txn = 1;
		return MCA_OK;
	}
	/* mca_store_txn rolls back only what began: leave nothing open (the lock wait ran out). */
	if (PQstatus(c->conn) == CONNECTION_OK && PQtransactionStatus(c->conn) != PQTRANS_IDLE)
		simple(c, "ROLLBACK", NULL);
	c->txn = 0;
	return rc;
}

static mca_rc
pg_commit(void *impl, struct mca_error *err)
{
	struct mca_pg *c = impl;
	PGresult *r;
	mca_rc rc = MCA_OK;

	if (c->conn == NULL || PQstatus(c->conn) != CONNECTION_OK)
		return mca_error_rule(err, MCA_ERR_DB, MCA_STORE_CONFLICT,
		                      "%s: connection lost during a transaction", c->label);
	r = PQexec(c->conn, "COMMIT");
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		/*
		 * The connection went away while the server may or may not have
		 * committed: not a conflict to retry blindly, an error.
		 */
		rc = mca_error_rule(err, MCA_ERR_DB, MCA_STORE_COMMIT_UNKNOWN,
		                    "%s: commit failed (outcome unknown): %s", c->label,
		                    PQerrorMessage(c->conn));
	} else if (strcmp(PQcmdStatus(r), "COMMIT") != 0) {
		/* COMMIT of a transaction that failed earlier is a ROLLBACK. */
		rc =
		    mca_error_set(err, MCA_ERR_DB, "%s: the transaction was rolled back", c->label);
	}
	PQclear(r);
	c->txn = c->conn != NULL && PQstatus(c->conn) == CONNECTION_OK &&
	         PQtransactionStatus(c->conn) != PQTRANS_IDLE;
	return rc;
}

static void
pg_rollback(void *impl)
{
	struct mca_pg *c = impl;

	if (c->txn && c->conn != NULL && PQstatus(c->conn) == CONNECTION_OK)
		simple(c, "ROLLBACK", NULL);
	c->txn = 0;
}

static mca_rc
pg_savepoint(void *impl, struct mca_error *err)
{
	static const char sql[] = "SAVEPOINT row";

	return mca_pg_cmd(impl, sql, NULL, NULL, err);
}

static mca_rc
pg_release(void *impl, struct mca_error *err)
{
	static const char sql[] = "RELEASE row";

	return mca_pg_cmd(impl, sql, NULL, NULL, err);
}

static void
pg_rollback_to(void *impl)
{
	static const char sql_to[] = "ROLLBACK TO row";
	static const char sql_rel[] = "RELEASE row";
	struct mca_pg *c = impl;

	if (c->txn && mca_pg_cmd(c, sql_to, NULL, NULL, NULL) == MCA_OK)
		mca_pg_cmd(c, sql_rel, NULL, NULL, NULL);
}

static const struct mca_store_ops pg_ops = {
    .name = "postgresql",
    .close = pg_close,
    .schema_version = pg_schema_version,
    .ping = pg_ping,
    .count = pg_count,
    .lock_wait = pg_lock_wait,
    .in_txn = pg_in_txn,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .savepoint = pg_savepoint,
    .release = pg_release,
    .rollback_to = pg_rollback_to,
    .cert_insert = mca_pg_cert_insert,
    .cert_get = mca_pg_cert_get,
    .cert_list = mca_pg_cert_list,
    .cert_revoke = mca_pg_cert_revoke,
    .revoked_foreach = mca_pg_revoked_foreach,
    .audit = mca_pg_audit,
    .audit_list = mca_pg_audit_list,
    .crl_max_number = mca_pg_crl_max_number,
    .crl_insert = mca_pg_crl_insert,
    .crl_latest = mca_pg_crl_latest,
    .validation_current = mca_pg_validation_current,
    .validation_add = mca_pg_validation_add,
    .token_insert = mca_pg_token_insert,
    .token_get = mca_pg_token_get,
    .token_consume = mca_pg_token_consume,
    .token_refund = mca_pg_token_refund,
    .token_revoke = mca_pg_token_revoke,
    .token_list = mca_pg_token_list,
    .token_purge = mca_pg_token_purge,
    .acme_account_add = mca_pg_acme_account_add,
    .acme_account_get = mca_pg_acme_account_get,
    .acme_account_by_key = mca_pg_acme_account_by_key,
    .acme_account_update = mca_pg_acme_account_update,
    .acme_order_add = mca_pg_acme_order_add,
    .acme_order_get = mca_pg_acme_order_get,
    .acme_order_set = mca_pg_acme_order_set,
    .acme_order_claim = mca_pg_acme_order_claim,
    .acme_order_count = mca_pg_acme_order_count,
    .acme_order_by_serial = mca_pg_acme_order_by_serial,
    .acme_order_list = mca_pg_acme_order_list,
    .acme_order_issued = mca_pg_acme_order_issued,
    .acme_order_unclaim = mca_pg_acme_order_unclaim,
    .acme_order_repair = mca_pg_acme_order_repair,
    .acme_authz_add = mca_pg_acme_authz_add,
    .acme_authz_get = mca_pg_acme_authz_get,
    .acme_authz_set = mca_pg_acme_authz_set,
    .acme_authz_settle = mca_pg_acme_authz_settle,
    .acme_authz_list = mca_pg_acme_authz_list,
    .acme_chall_add = mca_pg_acme_chall_add,
    .acme_chall_get = mca_pg_acme_chall_get,
    .acme_chall_set = mca_pg_acme_chall_set,
    .acme_chall_start = mca_pg_acme_chall_start,
    .acme_chall_list = mca_pg_acme_chall_list,
    .acme_chall_processing = mca_pg_acme_chall_processing,
    .acme_purge = mca_pg_acme_purge,
    .acme_nonce_key = mca_pg_acme_nonce_key,
    .acme_nonce_use = mca_pg_acme_nonce_use,
    .rows = mca_pg_rows,
    .row_put = mca_pg_row_put,
    .rows_end = mca_pg_rows_end,
};

/* "postgresql db=NAME host=HOST port=PORT": what messages name (never the password). */
static mca_rc
make_label(struct mca_pg *c, struct mca_error *err)
{
	PQconninfoOption *opts, *o;
	const char *db = NULL, *host = NULL, *port = NULL;
	char *msg = NULL;

	opts = PQconninfoParse(c->conninfo, &msg);
	if (opts == NULL) {
		/* libpq's message may quote the string, password and all: not shown. */
		PQfreemem(msg);
		return mca_error_set(err, MCA_ERR_CONFIG,
		                     "database: not a valid PostgreSQL connection URI or keyword "
		                     "string (see doc/multi-instance.md)");
	}
	for (o = opts; o->keyword != NULL; o++) {
		if (o->val == NULL)
			continue;
		if (strcmp(o->keyword, "dbname") == 0)
			db = o->val;
		else if (strcmp(o->keyword, "host") == 0)
			host = o->val;
		else if (strcmp(o->keyword, "port") == 0)
			port = o->val;
	}
	snprintf(c->label, sizeof(c->label), "postgresql db=%.32s host=%.48s port=%.12s",
	         db ? db : "(default)", host ? host : "(default)", port ? port : "(default)");
	PQconninfoFree(opts);
	return MCA_OK;
}

int
mca_store_pg_schema_latest(void)
{
	return pg_schema_latest();
}

mca_rc
mca_store_pg_open(const char *conninfo, int flags, struct mca_store **out, struct mca_error *err)
{
	struct mca_pg *c = NULL;
	struct mca_error e = {0};
	mca_rc rc;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL || (c->conninfo = strdup(conninfo)) == NULL) {
		free(c);
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	}
	c->create = (flags & MCA_STORE_CREATE) != 0;
	c->lock_ms = 10000;
	if ((rc = make_label(c, err)) != MCA_OK)
		goto fail;
	/* Connect now; with MCA_STORE_WAIT an unreachable server is tried again on use. */
	if ((rc = ensure(c, &e)) != MCA_OK) {
		if (!((flags & MCA_STORE_WAIT) && mca_store_conflict(rc, &e))) {
			if (err != NULL)
				*err = e;
			goto fail;
		}
		mca_log(MCA_LOG_WARN, "%s", e.msg);
	}
	if ((rc = mca_store_new(&pg_ops, c, out, err)) != MCA_OK)
		goto fail;
	return MCA_OK;
fail:
	pg_close(c);
	return rc;
}

mca_rc
mca_pg_ensure(struct mca_pg *c, struct mca_error *err)
{
	return ensure(c, err);
}

mca_rc
mca_pg_fail(struct mca_pg *c, const PGresult *r, struct mca_error *err)
{
	return pg_fail(c, r, err);
}
