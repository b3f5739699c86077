/*
 * store.c - the store's generic layer: choosing a backend from the
 * `database` setting, the transaction helper, operations that combine
 * rows, and the dispatch of everything else to the backend's ops table
 * (backend.h).  No SQL here: that lives in the backend directories.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "store/backend.h"
#include "store/store.h"

struct mca_store {
	const struct mca_store_ops *ops;
	void *impl;
	int depth; /* mca_store_txn calls running on this store */
};

#define OPS(st)  ((st)->ops)
#define IMPL(st) ((st)->impl)

mca_rc
mca_store_new(const struct mca_store_ops *ops, void *impl, struct mca_store **out,
              struct mca_error *err)
{
	struct mca_store *st = calloc(1, sizeof(*st));

	*out = NULL;
	if (st == NULL)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	st->ops = ops;
	st->impl = impl;
	*out = st;
	return MCA_OK;
}

const struct mca_store_ops *
mca_store_get_ops(const struct mca_store *st)
{
	return st->ops;
}

void *
mca_store_get_impl(const struct mca_store *st)
{
	return st->impl;
}

void
mca_store_lock_wait(struct mca_store *st, int ms)
{
	OPS(st)->lock_wait(IMPL(st), ms);
}

mca_rc
mca_store_checkpoint(struct mca_store *st, struct mca_error *err)
{
	if (OPS(st)->checkpoint == NULL)
		return MCA_OK;
	return OPS(st)->checkpoint(IMPL(st), err);
}

int
mca_store_checkpoint_due(struct mca_store *st)
{
	return OPS(st)->checkpoint_due != NULL && OPS(st)->checkpoint_due(IMPL(st));
}

/* ---- the backend registry ------------------------------------------------ */

/* Backends built in, by the prefix of the `database` string that names them. */
static const struct {
	const char *prefix;
	mca_rc (*open)(const char *location, int flags, struct mca_store **out,
	               struct mca_error *err);
	int whole; /* the backend gets the whole string (a URI), not what follows the prefix */
} backends[] = {
    {"sqlite:", mca_store_sqlite_open, 0},
    {"postgresql://", mca_store_pg_open, 1},
    {"postgres://", mca_store_pg_open, 1},
};

/* Whether `s` is a libpq keyword/value connection string ("dbname=ca host=/run/pg"). */
static int
pg_keywords(const char *s)
{
	static const char *const keys[] = {
	    "dbname=", "host=", "hostaddr=", "service=", "port=", "user="};
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strncmp(s, keys[i], strlen(keys[i])) == 0)
			return 1;
	return 0;
}

/* Length of a URI scheme followed by "://" at the start of `s`, 0 when none. */
static size_t
uri_scheme_len(const char *s)
{
	size_t n = 0;

	if (!isalpha((unsigned char)s[0]))
		return 0;
	while (isalnum((unsigned char)s[n]) || s[n] == '+' || s[n] == '-' || s[n] == '.')
		n++;
	return strncmp(s + n, "://", 3) == 0 ? n : 0;
}

int
mca_store_is_server(const char *database)
{
	return database != NULL &&
	       (strncmp(database, "postgresql://", 13) == 0 ||
	        strncmp(database, "postgres://", 11) == 0 || pg_keywords(database));
}

mca_rc
mca_store_open(const char *database, int flags, struct mca_store **out, struct mca_error *err)
{
	int create = (flags & MCA_STORE_CREATE) != 0;
	size_t i, n;

	*out = NULL;
	if (database == NULL || database[0] == '\0')
		return mca_error_set(err, MCA_ERR_CONFIG, "database: not set");
	for (i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
		n = strlen(backends[i].prefix);
		if (strncmp(database, backends[i].prefix, n) == 0) {
			if (database[n] == '\0')
				return mca_error_set(err, MCA_ERR_CONFIG,
				                     "database: %s without a path",
				                     backends[i].prefix);
			if (backends[i].whole)
				return backends[i].open(database, flags, out, err);
			return backends[i].open(database + n, create, out, err);
		}
	}
	if (pg_keywords(database))
		return mca_store_pg_open(database, flags, out, err);
	/* The rest of a URI may hold a password: name the scheme only. */
	if ((n = uri_scheme_len(database)) > 0)
		return mca_error_set(err, MCA_ERR_CONFIG,
		                     "database: unknown backend \"%.*s://\"; use a SQLite path, "
		                     "sqlite:PATH or postgresql://...",
		                     (int)(n > 32 ? 32 : n), database);
	return mca_store_sqlite_open(database, create, out, err);
}

void
mca_store_close(struct mca_store *st)
{
	if (st == NULL)
		return;
	OPS(st)->rollback(IMPL(st));
	OPS(st)->close(IMPL(st));
	free(st);
}

int
mca_store_schema_version(struct mca_store *st)
{
	return OPS(st)->schema_version(IMPL(st));
}

mca_rc
mca_store_ping(struct mca_store *st, struct mca_error *err)
{
	return OPS(st)->ping(IMPL(st), err);
}

int64_t
mca_store_count(struct mca_store *st, const char *table)
{
	return OPS(st)->count(IMPL(st), table);
}

/* ---- transactions -------------------------------------------------------- */

int
mca_store_conflict(mca_rc rc, const struct mca_error *err)
{
	return rc == MCA_ERR_DB && err != NULL && strcmp(err->rule, MCA_STORE_CONFLICT) == 0;
}

int
mca_store_unavailable(mca_rc rc, const struct mca_error *err)
{
	return mca_store_conflict(rc, err) || (rc == MCA_ERR_DB && err != NULL &&
	                                       strcmp(err->rule, MCA_STORE_COMMIT_UNKNOWN) == 0);
}

/* A transaction inside an open one: a savepoint, no retry (the outermost retries). */
static mca_rc
txn_nested(struct mca_store *st, mca_store_txn_fn fn, void *arg, struct mca_error *err)
{
	mca_rc rc;

	/* An error the database answered with a rollback of its own (disk full, I/O). */
	if (!OPS(st)->in_txn(IMPL(st)))
		return mca_error_set(err, MCA_ERR_DB,
		                     "the database rolled the transaction back after an earlier "
		                     "error");
	if ((rc = OPS(st)->savepoint(IMPL(st), err)) != MCA_OK)
		return rc;
	st->depth++;
	rc = fn(st, arg, err);
	st->depth--;
	if (rc == MCA_OK && (rc = OPS(st)->release(IMPL(st), err)) == MCA_OK)
		return MCA_OK;
	OPS(st)->rollback_to(IMPL(st));
	return rc;
}

mca_rc
mca_store_txn(struct mca_store *st, mca_store_txn_fn fn, void *arg, struct mca_error *err)
{
	struct mca_error e;
	int attempt;
	mca_rc rc;

	if (st->depth > 0 || OPS(st)->in_txn(IMPL(st)))
		return txn_nested(st, fn, arg, err);
	for (attempt = 1;; attempt++) {
		memset(&e, 0, sizeof(e));
		if ((rc = OPS(st)->begin(IMPL(st), &e)) == MCA_OK) {
			st->depth++;
			rc = fn(st, arg, &e);
			st->depth--;
			if (rc == MCA_OK)
				rc = OPS(st)->commit(IMPL(st), &e);
			if (rc != MCA_OK)
				OPS(st)->rollback(IMPL(st));
		}
		if (rc == MCA_OK || !mca_store_conflict(rc, &e) ||
		    attempt >= MCA_STORE_TXN_ATTEMPTS)
			break;
		mca_log(MCA_LOG_NOTICE, "database conflict, transaction retried (%d of %d): %s",
		        attempt + 1, MCA_STORE_TXN_ATTEMPTS, e.msg);
	}
	if (rc != MCA_OK) {
		if (e.code == MCA_OK) /* fn failed without saying why */
			mca_error_set(&e, rc, "transaction failed");
		if (err != NULL)
			*err = e;
	}
	return rc;
}

/* ---- certificates -------------------------------------------------------- */

struct cert_insert_arg {
	const struct mca_cert_rec *rec;
	const char *actor, *action;
};

static mca_rc
cert_insert_txn(struct mca_store *st, void *arg, struct mca_error *err)
{
	const struct cert_insert_arg *a = arg;
	mca_rc rc;

	if ((rc = OPS(st)->cert_insert(IMPL(st), a->rec, err)) != MCA_OK)
		return rc;
	return OPS(st)->audit(IMPL(st), a->actor, a->action, a->rec->serial, NULL, err);
}

mca_rc
mca_store_cert_insert(struct mca_store *st, const struct mca_cert_rec *rec, const char *actor,
                      const char *action, struct mca_error *err)
{
	struct cert_insert_arg a = {rec, actor, action};

	return mca_store_txn(st, cert_insert_txn, &a, err);
}

mca_rc
mca_store_cert_get(struct mca_store *st, const char *serial, struct mca_cert_rec **out,
                   struct mca_error *err)
{
	return OPS(st)->cert_get(IMPL(st), serial, out, err);
}

mca_rc
mca_store_cert_list(struct mca_store *st, const struct mca_cert_filter *f, mca_cert_cb cb,
                    void *arg, struct mca_error *err)
{
	return OPS(st)->cert_list(IMPL(st), f, cb, arg, err);
}

struct cert_revoke_arg {
	const char *serial, *reason, *actor;
	int64_t now;
	int *changed;
};

static mca_rc
cert_revoke_txn(struct mca_store *st, void *arg, struct mca_error *err)
{
	const struct cert_revoke_arg *a = arg;
	char detail[96];
	mca_rc rc;

	rc = OPS(st)->cert_revoke(IMPL(st), a->serial, a->now, a->reason, a->changed, err);
	if (rc != MCA_OK || *a->changed == 0)
		return rc;
	snprintf(detail, sizeof(detail), "{\"reason\":\"%.32s\"}", a->reason);
	return OPS(st)->audit(IMPL(st), a->actor, "revoke", a->serial, detail, err);
}

mca_rc
mca_store_cert_revoke(struct mca_store *st, const char *serial, int64_t now, const char *reason,
                      const char *actor, int *changed, struct mca_error *err)
{
	struct cert_revoke_arg a = {serial, reason, actor, now, changed};
	mca_rc rc;

	*changed = 0;
	if ((rc = mca_store_txn(st, cert_revoke_txn, &a, err)) != MCA_OK)
		*changed = 0;
	return rc;
}

mca_rc
mca_store_revoked_foreach(struct mca_store *st, const char *issuer_dn, int64_t since,
                          mca_revoked_cb cb, void *arg, struct mca_error *err)
{
	return OPS(st)->revoked_foreach(IMPL(st), issuer_dn, since, cb, arg, err);
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
mca_store_audit(struct mca_store *st, const char *actor, const char *action, const char *serial,
                const char *detail_json, struct mca_error *err)
{
	return OPS(st)->audit(IMPL(st), actor, action, serial, detail_json, err);
}

mca_rc
mca_store_audit_list(struct mca_store *st, int64_t after_id,
                     int (*cb)(void *arg, const struct mca_audit_rec *r), void *arg,
                     struct mca_error *err)
{
	return OPS(st)->audit_list(IMPL(st), after_id, cb, arg, err);
}

/* ---- CRLs ------------------------------------------------------------------ */

mca_rc
mca_store_crl_max_number(struct mca_store *st, const char *issuer, int64_t *number,
                         struct mca_error *err)
{
	return OPS(st)->crl_max_number(IMPL(st), issuer, number, err);
}

mca_rc
mca_store_crl_insert(struct mca_store *st, const char *issuer, int64_t number, int64_t this_update,
                     int64_t next_update, const unsigned char *der, size_t der_len,
                     struct mca_error *err)
{
	return OPS(st)->crl_insert(IMPL(st), issuer, number, this_update, next_update, der, der_len,
	                           err);
}

mca_rc
mca_store_crl_prune(struct mca_store *st, const char *issuer, int64_t below, struct mca_error *err)
{
	return OPS(st)->crl_prune(IMPL(st), issuer, below, err);
}

mca_rc
mca_store_crl_latest_info(struct mca_store *st, const char *issuer, struct mca_crl_rec *out,
                          struct mca_error *err)
{
	return OPS(st)->crl_latest_info(IMPL(st), issuer, out, err);
}

mca_rc
mca_store_crl_entry_add(struct mca_store *st, const struct mca_crl_entry_row *r,
                        struct mca_error *err)
{
	return OPS(st)->crl_entry_add(IMPL(st), r, err);
}

mca_rc
mca_store_crl_entries(struct mca_store *st, const char *issuer_dn, int shard, int64_t since,
                      mca_crl_entry_cb cb, void *arg, struct mca_error *err)
{
	return OPS(st)->crl_entries(IMPL(st), issuer_dn, shard, since, cb, arg, err);
}

mca_rc
mca_store_crl_entries_purge(struct mca_store *st, const char *issuer_dn, int64_t before, int64_t *n,
                            struct mca_error *err)
{
	return OPS(st)->crl_entries_purge(IMPL(st), issuer_dn, before, n, err);
}

mca_rc
mca_store_crl_entries_after(struct mca_store *st, const char *issuer_dn, int64_t after,
                            mca_crl_entry_cb cb, void *arg, struct mca_error *err)
{
	return OPS(st)->crl_entries_after(IMPL(st), issuer_dn, after, cb, arg, err);
}

mca_rc
mca_store_crl_latest(struct mca_store *st, const char *issuer, struct mca_crl_rec *out,
                     struct mca_error *err)
{
	return OPS(st)->crl_latest(IMPL(st), issuer, out, err);
}

/* ---- domain validations -------------------------------------------------- */

mca_rc
mca_store_validation_current(struct mca_store *st, const char *name, const char *const *methods,
                             int64_t since, const char *account, int *found, char *method,
                             struct mca_error *err)
{
	return OPS(st)->validation_current(IMPL(st), name, methods, since, account, found, method,
	                                   err);
}

mca_rc
mca_store_validation_add(struct mca_store *st, const char *name, const char *method, int64_t at,
                         int valid, const char *error, const char *account, struct mca_error *err)
{
	return OPS(st)->validation_add(IMPL(st), name, method, at, valid, error, account, err);
}

/* ---- tokens ---------------------------------------------------------------- */

void
mca_token_row_clear(struct mca_token_row *r)
{
	free(r->id);
	free(r->profile);
	free(r->names);
	free(r->created_by);
	memset(r, 0, sizeof(*r));
}

static mca_rc
token_insert_txn(struct mca_store *st, void *arg, struct mca_error *err)
{
	const struct mca_token_row *r = arg;
	char detail[160];
	mca_rc rc;

	if ((rc = OPS(st)->token_insert(IMPL(st), r, err)) != MCA_OK)
		return rc;
	snprintf(detail, sizeof(detail), "{\"token\":\"%s\",\"profile\":\"%.64s\",\"uses\":%lld}",
	         r->id, r->profile, (long long)r->uses_total);
	return OPS(st)->audit(IMPL(st), r->created_by, "token.create", NULL, detail, err);
}

mca_rc
mca_store_token_insert(struct mca_store *st, const struct mca_token_row *r, struct mca_error *err)
{
	return mca_store_txn(st, token_insert_txn, (void *)(uintptr_t)r, err);
}

mca_rc
mca_store_token_get(struct mca_store *st, const char *id, struct mca_token_row *out,
                    struct mca_error *err)
{
	return OPS(st)->token_get(IMPL(st), id, out, err);
}

mca_rc
mca_store_token_consume(struct mca_store *st, const char *id, int64_t now, int *taken,
                        struct mca_error *err)
{
	return OPS(st)->token_consume(IMPL(st), id, now, taken, err);
}

mca_rc
mca_store_token_refund(struct mca_store *st, const char *id, struct mca_error *err)
{
	return OPS(st)->token_refund(IMPL(st), id, err);
}

struct token_revoke_arg {
	const char *id, *actor;
	int64_t now;
	int *changed;
};

static mca_rc
token_revoke_txn(struct mca_store *st, void *arg, struct mca_error *err)
{
	const struct token_revoke_arg *a = arg;
	char detail[64];
	mca_rc rc;

	rc = OPS(st)->token_revoke(IMPL(st), a->id, a->now, a->changed, err);
	if (rc != MCA_OK || *a->changed == 0)
		return rc;
	snprintf(detail, sizeof(detail), "{\"token\":\"%.20s\"}", a->id);
	return OPS(st)->audit(IMPL(st), a->actor, "token.revoke", NULL, detail, err);
}

mca_rc
mca_store_token_revoke(struct mca_store *st, const char *id, int64_t now, const char *actor,
                       int *changed, struct mca_error *err)
{
	struct token_revoke_arg a = {id, actor, now, changed};
	mca_rc rc;

	*changed = 0;
	if ((rc = mca_store_txn(st, token_revoke_txn, &a, err)) != MCA_OK)
		*changed = 0;
	return rc;
}

mca_rc
mca_store_token_list(struct mca_store *st, int (*cb)(void *arg, const struct mca_token_row *r),
                     void *arg, struct mca_error *err)
{
	return OPS(st)->token_list(IMPL(st), cb, arg, err);
}

mca_rc
mca_store_token_purge(struct mca_store *st, int64_t before, int *n, struct mca_error *err)
{
	return OPS(st)->token_purge(IMPL(st), before, n, err);
}
