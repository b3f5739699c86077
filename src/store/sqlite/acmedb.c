/* acmedb.c - SQLite: the ACME server's accounts, orders, authorizations, challenges. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "store/sqlite/sqlite.h"

#define T(s, i) mca_sq_col_text(s, i)

static const char sql_acct_add[] =
    "INSERT INTO acme_accounts (id, profile, thumbprint, jwk, status, contact, created_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
static const char sql_acct_get[] =
    "SELECT id, profile, thumbprint, jwk, status, contact, created_at FROM acme_accounts"
    " WHERE id = ?1";
static const char sql_acct_by_key[] =
    "SELECT id, profile, thumbprint, jwk, status, contact, created_at FROM acme_accounts"
    " WHERE profile = ?1 AND thumbprint = ?2";
static const char sql_acct_update[] =
    "UPDATE acme_accounts SET status = coalesce(?2, status), contact = coalesce(?3, contact)"
    " WHERE id = ?1";
static const char sql_order_add[] =
    "INSERT INTO acme_orders (id, account, profile, status, expires_at, identifiers,"
    " created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
static const char sql_order_get[] =
    "SELECT id, account, profile, status, identifiers, error, serial, expires_at, created_at"
    " FROM acme_orders WHERE id = ?1";
static const char sql_order_by_serial[] =
    "SELECT id, account, profile, status, identifiers, error, serial, expires_at, created_at"
    " FROM acme_orders WHERE serial = ?1";
static const char sql_order_set[] =
    "UPDATE acme_orders SET status = ?2, error = coalesce(?3, error),"
    " serial = coalesce(?4, serial) WHERE id = ?1";
static const char sql_order_claim[] =
    "UPDATE acme_orders SET status = 'processing' WHERE id = ?1 AND status = 'ready'";
static const char sql_authz_settle[] =
    "UPDATE acme_authzs SET status = ?2 WHERE id = ?1 AND status = 'pending' AND expires_at > ?3";
static const char sql_order_count[] =
    "SELECT count(*) FROM acme_orders WHERE account = ?1 AND created_at >= ?2";
static const char sql_order_list[] =
    "SELECT id FROM acme_orders WHERE account = ?1 ORDER BY created_at DESC, id LIMIT ?2";
static const char sql_authz_add[] =
    "INSERT INTO acme_authzs (id, order_id, name, wildcard, status, expires_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
static const char sql_authz_get[] =
    "SELECT id, order_id, name, wildcard, status, expires_at FROM acme_authzs WHERE id = ?1";
static const char sql_authz_set[] = "UPDATE acme_authzs SET status = ?2 WHERE id = ?1";
static const char sql_authz_list[] =
    "SELECT id, order_id, name, wildcard, status, expires_at FROM acme_authzs"
    " WHERE order_id = ?1 ORDER BY rowid";
static const char sql_chall_add[] =
    "INSERT INTO acme_challenges (id, authz, type, token, status) VALUES (?1, ?2, ?3, ?4, ?5)";
static const char sql_chall_get[] =
    "SELECT id, authz, type, token, status, error, coalesce(validated_at, 0)"
    " FROM acme_challenges WHERE id = ?1";
static const char sql_chall_set[] =
    "UPDATE acme_challenges SET status = ?2, validated_at = nullif(?3, 0), error = ?4"
    " WHERE id = ?1";
static const char sql_chall_start[] =
    "UPDATE acme_challenges SET status = 'processing' WHERE id = ?1 AND status = 'pending'";
static const char sql_chall_list[] =
    "SELECT id, authz, type, token, status, error, coalesce(validated_at, 0)"
    " FROM acme_challenges WHERE authz = ?1 ORDER BY rowid";
static const char sql_chall_processing[] =
    "SELECT id FROM acme_challenges WHERE status = 'processing' LIMIT 1000";
static const char sql_purge_orders[] =
    "DELETE FROM acme_orders WHERE expires_at < ?1 AND status <> 'valid'";

/* Run a one-row SELECT; fill with `row` (MCA_ERR_NOTFOUND when no row). */
static mca_rc
get_one(struct mca_sq *c, sqlite3_stmt *s, int (*row)(sqlite3_stmt *, void *), void *out,
        const char *what, struct mca_error *err)
{
	int step = sqlite3_step(s);
	mca_rc rc;

	if (step == SQLITE_ROW)
		rc = row(s, out) ? MCA_OK : mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	else if (step == SQLITE_DONE)
		rc = mca_error_set(err, MCA_ERR_NOTFOUND, "no such %s", what);
	else
		rc = mca_sq_err(c, err);
	sqlite3_reset(s);
	return rc;
}

static int
row_account(sqlite3_stmt *s, void *out)
{
	struct mca_acme_account *a = out;

	a->id = T(s, 0);
	a->profile = T(s, 1);
	a->thumbprint = T(s, 2);
	a->jwk = T(s, 3);
	a->status = T(s, 4);
	a->contact = T(s, 5);
	a->created_at = sqlite3_column_int64(s, 6);
	if (a->id && a->profile && a->thumbprint && a->jwk && a->status && a->contact)
		return 1;
	mca_acme_account_clear(a);
	return 0;
}

mca_rc
mca_sq_acme_account_add(void *impl, const struct mca_acme_account *a, struct mca_error *err)
{
	struct mca_sq *c = impl;
	sqlite3_stmt *s = mca_sq_stmt(c, sql_acct_add, err);

	if (s == NULL)
		return MCA_ERR_DB;
	mca_sq_bind_text(s, 1, a->id);
	mca_sq_bind_text(s, 2, a->profile);
	mca_sq_bind_text(s, 3, a->thumbprint);
	mca_sq_bind_text(s, 4, a->jwk);
	mca_sq_bind_text(s, 5, a->status);
	mca_sq_bind_text(s, 6, a->contact ? a->contact : "[]");
	sqlite3_bind_int64(s, 7, a->created_at);
	return mca_sq_done(c, s, err);
}

mca_rc
mca_sq_acme_account_get(void *impl, const char *id, struct mca_acme_account *out,
                        struct mca_error *err)
{
	struct mca_sq *c = impl;
	sqlite3_stmt *s = mca_sq_stmt(c, sql_acct_get, err);

	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return MCA_ERR_DB;
	mca_sq_bind_text(s, 1, id);
	return get_one(c, s, row_account, out, "account", err);
}

mca_rc
mca_sq_acme_account_by_key(void *impl, const char *profile, const char *thumbprint,
                           struct mca_acme_account *out, struct mca_error *err)
{
	struct mca_sq *c = impl;
	sqlite3_stmt *s = mca_sq_stmt(c, sql_acct_by_key, err);

	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return MCA_ERR_DB;
	mca_sq_bind_text(s, 1, profile);
	mca_sq_bind_text(s, 2, thumbprint);
	return get_one(c, s, row_account, out, "account", err);
}

mca_rc
mca_sq_acme_account_update(void *impl, const char *id, const char *status, const char *contact,
                           struct mca_error *err)
{
	struct mca_sq *c = impl;
	sqlite3_stmt *s = mca_sq_stmt(c, sql_acct_update, err);

	if (s == NULL)
		return MCA_ERR_DB;
	mca_sq_bind_text(s, 1, id);
	mca_sq_bind_text(s, 2, status);
	mca_sq_bind_text(s, 3, contact);
	return mca_sq_done(c, s, err);
}

static int
row_order(sqlite3_stmt *s, void *out)
{
	struct mca_acme_order *o = out;

	o->id = T(s, 0);
	o->account = T(s, 1);
	o->profile = T(s, 2);
	o->status = T(s, 3);
	o->identifiers = T(s, 4);
	o->error = T(s, 5);
	o->serial = T(s, 6);
	o->expires_at = sqlite3_column_int64(s, 7);
	o->created_at = sqlite3_column_int64(s, 8);
	if (o->id && o->account && o->profile && o->status && o->identifiers)
		return 1;
	mca_acme_order_clear(o);
	return 0;
}

mca_rc
mca_sq_acme_order_add(void *impl, const struct mca_acme_order *o, struct mca_error *err)
{
	struct mca_sq *c = impl;
	sqlite3_stmt *s = mca_sq_stmt(c, sql_order_add, err);

	if (s == NULL)
		return MCA_ERR_DB;
	mca_sq_bind_text(s, 1, o->id);
	mca_sq_bind_text(s, 2, o->account);
	mca_sq_bind_text(s, 3, o->profile);
	mca_sq_bind_text(s, 4, o->status);
	sqlite3_bind_int64(s, 5, o->expires_at);
	mca_sq_bind_text(s, 6, o->identifiers);
	sqlite3_bind_int64(s, 7, o->created_at);
	return mca_sq_done(c, s, err);
}

mca_rc
mca_sq_acme_order_get(void *impl, const char *id, struct mca_acme_order *out, struct mca_error *err)
{
	struct mca_sq *c = impl;
	sqlite3_stmt *s = mca_sq_stmt(c, sql_order_get, err);

	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return MCA_ERR_DB;
	mca_sq_bind_text(s, 1, id);
	return get_one(c, s, row_order, out, "order", err);
}

mca_rc
mca_sq_acme_order_by_serial(void *impl, const char *serial, struct mca_acme_order *out,
                            struct mca_error *err)
{
	struct mca_sq *c = impl;
	sqlite3_stmt *s = mca_sq_stmt(c, sql_order_by_serial, err);

	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return MCA_ERR_DB;
	mca_sq_bind_text(s, 1, serial);
	return get_one(c, s, row_order, out, "order", err);
}

mca_rc
mca_sq_acme_order_set(void *impl, const char *id, const char *status, const char *error,
                      const char *serial, struct mca_error *err)
{
	struct mca_sq *c = impl;
	sqlite3_stmt *s = mca_sq_stmt(c, sql_order_set, err);

	if (s == NULL)
		return MCA_ERR_DB;
	mca_sq_bind_text(s, 1, id);
	mca_sq_bind_text(s, 2, status);
	mca_sq_bind_text(s, 3, error);
	mca_sq_bind_text(s, 4, serial);
	return mca_sq_done(c, s, err);
}

mca_rc
mca_sq_acme_order_count(void *impl, const char *account, int64_t since, int64_t *n,
                        struct mca_error *err)
{
	struct mca_sq *c = impl;
	sqlite3_stmt *s = mca_sq_stmt(c, sql_order_count, err);
	mca_rc rc = MCA_OK;

	*n = 0;
	if (s == NULL)
		return MCA_ERR_DB;
	mca_sq_bind_text(s, 1, account);
	sqlite3_bind_int64(s, 2, since);
	if (sqlite3_step(s) == SQLITE_ROW)
		*n = sqlite3_column_int64(s, 0);
	else
		rc = mca_sq_err(c, err);
	sqlite3_reset(s);
	return rc;
}

mca_rc
mca_sq_acme_order_list(void *impl, const char *account, int limit,
                       int (*cb)(void *arg, const char *id), void *arg, struct mca_error *err)
{
	struct mca_sq *c = impl;
	sqlite3_stmt *s = mca_sq_stmt(c, sql_order_list, err);
	int step = SQLITE_DONE;
	mca_rc rc = MCA_OK;

	if (s == NULL)
		return MCA_ERR_DB;
	mca_sq_bind_text(s, 1, account);
	sqlite3_bind_int64(s, 2, limit);
	while ((step = sqlite3_step(s)) == SQLITE_ROW)
		if (cb(arg, (const char *)sqlite3_column_text(s, 0)) != 0) {
			step = SQLITE_DONE;
			break;
		}
	if (step != SQLITE_DONE)
		rc = mca_sq_err(c, err);
	sqlite3_reset(s);
	return rc;
}

static int
row_authz(sqlite3_stmt *s, void *out)
{
	struct mca_acme_authz *a = out;

	a->id = T(s, 0);
	a->order_id = T(s, 1);
	a->name = T(s, 2);
	a->wildcard = sqlite3_column_int(s, 3);
	a->status = T(s, 4);
	a->expires_at = sqlite3_column_int64(s, 5);
	if (a->id && a->order_id && a->name && a->status)
		return 1;
	mca_acme_authz_clear(a);
	return 0;
}

mca_rc
mca_sq_acme_authz_add(void *impl, const struct mca_acme_authz *a, struct mca_error *err)
{
	struct mca_sq *c = impl;
	sqlite3_stmt *s = mca_sq_stmt(c, sql_authz_add, err);

	if (s == NULL)
		return MCA_ERR_DB;
	mca_sq_bind_text(s, 1, a->id);
	mca_sq_bind_text(s, 2, a->order_id);
	mca_sq_bind_text(s, 3, a->name);
	sqlite3_bind_int(s, 4, a->wildcard);
	mca_sq_bind_text(s, 5, a->status);
	sqlite3_bind_int64(s, 6, a->expires_at);
	return mca_sq_done(c, s, err);
}

mca_rc
mca_sq_acme_authz_get(void *impl, const char *id, struct mca_acme_authz *out, struct mca_error *err)
{
	struct mca_sq *c = impl;
	sqlite3_stmt *s = mca_sq_stmt(c, sql_authz_get, err);

	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return MCA_ERR_DB;
	mca_sq_bind_text(s, 1, id);
	return get_one(c, s, row_authz, out, "authorization", err);
}

mca_rc
mca_sq_acme_authz_set(void *impl, const char *id, const char *status, struct mca_error *err)
{
	struct mca_sq *c = impl;
	sqlite3_stmt *s = mca_sq_stmt(c, sql_authz_set, err);

	if (s == NULL)
		return MCA_ERR_DB;
	mca_sq_bind_text(s, 1, id);
	mca_sq_bind_text(s, 2, status);
	return mca_sq_done(c, s, err);
}

/* Walk a multi-row SELECT through `row` into a stack struct handed to cb. */
static mca_rc
walk(struct mca_sq *c, sqlite3_stmt *s, int (*row)(sqlite3_stmt *, void *), void *tmp,
     void (*clear)(void *), int (*cb)(void *arg, const void *item), void *arg,
     struct mca_error *err)
{
	int step = SQLITE_DONE, stop = 0;
	mca_rc rc = MCA_OK;

	while (!stop && (step = sqlite3_step(s)) == SQLITE_ROW) {
		if (!row(s, tmp)) {
			rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
			break;
		}
		stop = cb(arg, tmp);
		clear(tmp);
	}
	if (rc == MCA_OK && !stop && step != SQLITE_DONE)
		rc = mca_sq_err(c, err);
	sqlite3_reset(s);
	return rc;
}

static void
clear_authz(void *p)
{
	mca_acme_authz_clear(p);
}

static void
clear_chall(void *p)
{
	mca_acme_chall_clear(p);
}

mca_rc
mca_sq_acme_authz_list(void *impl, const char *order_id,
                       int (*cb)(void *arg, const struct mca_acme_authz *a), void *arg,
                       struct mca_error *err)
{
	struct mca_sq *c = impl;
	sqlite3_stmt *s = mca_sq_stmt(c, sql_authz_list, err);
	struct mca_acme_authz tmp;

	memset(&tmp, 0, sizeof(tmp));
	if (s == NULL)
		return MCA_ERR_DB;
	mca_sq_bind_text(s, 1, order_id);
	return walk(c, s, row_authz, &tmp, clear_authz, (int (*)(void *, const void *))cb, arg,
	            err);
}

static int
row_chall(sqlite3_stmt *s, void *out)
{
	struct mca_acme_chall *c = out;

	c->id = T(s, 0);
	c->authz = T(s, 1);
	c->type = T(s, 2);
	c->token = T(s, 3);
	c->status = T(s, 4);
	c->error = T(s, 5);
	c->validated_at = sqlite3_column_int64(s, 6);
	if (c->id && c->authz && c->type && c->token && c->status)
		return 1;
	mca_acme_chall_clear(c);
	return 0;
}

mca_rc
mca_sq_acme_chall_add(void *impl, const struct mca_acme_chall *ch, struct mca_error *err)
{
	struct mca_sq *c = impl;
	sqlite3_stmt *s = mca_sq_stmt(c, sql_chall_add, err);

	if (s == NULL)
		return MCA_ERR_DB;
	mca_sq_bind_text(s, 1, ch->id);
	mca_sq_bind_text(s, 2, ch->authz);
	mca_sq_bind_text(s, 3, ch->type);
	mca_sq_bind_text(s, 4, ch->token);
	mca_sq_bind_text(s, 5, ch->status);
	return mca_sq_done(c, s, err);
}

mca_rc
mca_sq_acme_chall_get(void *impl, const char *id, struct mca_acme_chall *out, struct mca_error *err)
{
	struct mca_sq *c = impl;
	sqlite3_stmt *s = mca_sq_stmt(c, sql_chall_get, err);

	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return MCA_ERR_DB;
	mca_sq_bind_text(s, 1, id);
	return get_one(c, s, row_chall, out, "challenge", err);
}

mca_rc
mca_sq_acme_chall_set(void *impl, const char *id, const char *status, int64_t validated_at,
                      const char *error, struct mca_error *err)
{
	struct mca_sq *c = impl;
	sqlite3_stmt *s = mca_sq_stmt(c, sql_chall_set, err);

	if (s == NULL)
		return MCA_ERR_DB;
	mca_sq_bind_text(s, 1, id);
	mca_sq_bind_text(s, 2, status);
	sqlite3_bind_int64(s, 3, validated_at);
	mca_sq_bind_text(s, 4, error);
	return mca_sq_done(c, s, err);
}

mca_rc
mca_sq_acme_chall_start(void *impl, const char *id, int *ok, struct mca_error *err)
{
	struct mca_sq *c = impl;
	sqlite3_stmt *s = mca_sq_stmt(c, sql_chall_start, err);
	mca_rc rc;

	*ok = 0;
	if (s == NULL)
		return MCA_ERR_DB;
	mca_sq_bind_text(s, 1, id);
	rc = mca_sq_done(c, s, err);
	*ok = rc == MCA_OK && sqlite3_changes(c->db) == 1;
	return rc;
}

mca_rc
mca_sq_acme_chall_list(void *impl, const char *authz,
                       int (*cb)(void *arg, const struct mca_acme_chall *c), void *arg,
                       struct mca_error *err)
{
	struct mca_sq *c = impl;
	sqlite3_stmt *s = mca_sq_stmt(c, sql_chall_list, err);
	struct mca_acme_chall tmp;

	memset(&tmp, 0, sizeof(tmp));
	if (s == NULL)
		return MCA_ERR_DB;
	mca_sq_bind_text(s, 1, authz);
	return walk(c, s, row_chall, &tmp, clear_chall, (int (*)(void *, const void *))cb, arg,
	            err);
}

mca_rc
mca_sq_acme_purge(void *impl, int64_t before, struct mca_error *err)
{
	struct mca_sq *c = impl;
	sqlite3_stmt *s = mca_sq_stmt(c, sql_purge_orders, err);
	if (s == NULL)
		return MCA_ERR_DB;
	sqlite3_bind_int64(s, 1, before);
	return mca_sq_done(c, s, err);
}

mca_rc
mca_sq_acme_chall_processing(void *impl, int (*cb)(void *arg, const char *id), void *arg,
                             struct mca_error *err)
{
	struct mca_sq *c = impl;
	sqlite3_stmt *s = mca_sq_stmt(c, sql_chall_processing, err);
	int step = SQLITE_DONE;
	mca_rc rc = MCA_OK;

	if (s == NULL)
		return MCA_ERR_DB;
	while ((step = sqlite3_step(s)) == SQLITE_ROW)
		if (cb(arg, (const char *)sqlite3_column_text(s, 0)) != 0) {
			step = SQLITE_DONE;
			break;
		}
	if (step != SQLITE_DONE)
		rc = mca_sq_err(c, err);
	sqlite3_reset(s);
	return rc;
}

mca_rc
mca_sq_acme_order_claim(void *impl, const char *id, int *ok, struct mca_error *err)
{
	struct mca_sq *c = impl;
	sqlite3_stmt *s = mca_sq_stmt(c, sql_order_claim, err);
	mca_rc rc;

	*ok = 0;
	if (s == NULL)
		return MCA_ERR_DB;
	mca_sq_bind_text(s, 1, id);
	rc = mca_sq_done(c, s, err);
	*ok = rc == MCA_OK && sqlite3_changes(c->db) == 1;
	return rc;
}

mca_rc
mca_sq_acme_authz_settle(void *impl, const char *id, const char *status, int64_t now, int *ok,
                         struct mca_error *err)
{
	struct mca_sq *c = impl;
	sqlite3_stmt *s = mca_sq_stmt(c, sql_authz_settle, err);
	mca_rc rc;

	*ok = 0;
	if (s == NULL)
		return MCA_ERR_DB;
	mca_sq_bind_text(s, 1, id);
	mca_sq_bind_text(s, 2, status);
	sqlite3_bind_int64(s, 3, now);
	rc = mca_sq_done(c, s, err);
	*ok = rc == MCA_OK && sqlite3_changes(c->db) == 1;
	return rc;
}

/* ---- finalize: the order's outcome with its certificate, restart repair ---- */

static const char sql_order_issued[] =
    "UPDATE acme_orders SET status = 'valid', serial = ?2, error = NULL"
    " WHERE id = ?1 AND status = 'processing'";
static const char sql_order_unclaim[] =
    "UPDATE acme_orders SET status = 'ready' WHERE id = ?1 AND status = 'processing'";
static const char sql_order_repair[] =
    "UPDATE acme_orders SET status = 'ready' WHERE status = 'processing' AND serial IS NULL";

mca_rc
mca_sq_acme_order_issued(void *impl, const char *id, const char *serial, struct mca_error *err)
{
	struct mca_sq *c = impl;
	sqlite3_stmt *s = mca_sq_stmt(c, sql_order_issued, err);
	mca_rc rc;

	if (s == NULL)
		return MCA_ERR_DB;
	mca_sq_bind_text(s, 1, id);
	mca_sq_bind_text(s, 2, serial);
	if ((rc = mca_sq_done(c, s, err)) != MCA_OK)
		return rc;
	if (sqlite3_changes(c->db) != 1)
		return mca_error_set(err, MCA_ERR_INTERNAL,
		                     "order %s is no longer being finalized; certificate %s is "
		                     "not recorded",
		                     id, serial);
	return MCA_OK;
}

mca_rc
mca_sq_acme_order_unclaim(void *impl, const char *id, struct mca_error *err)
{
	struct mca_sq *c = impl;
	sqlite3_stmt *s = mca_sq_stmt(c, sql_order_unclaim, err);

	if (s == NULL)
		return MCA_ERR_DB;
	mca_sq_bind_text(s, 1, id);
	return mca_sq_done(c, s, err);
}

mca_rc
mca_sq_acme_order_repair(void *impl, int64_t *n, struct mca_error *err)
{
	struct mca_sq *c = impl;
	sqlite3_stmt *s = mca_sq_stmt(c, sql_order_repair, err);
	mca_rc rc;

	*n = 0;
	if (s == NULL)
		return MCA_ERR_DB;
	if ((rc = mca_sq_done(c, s, err)) == MCA_OK)
		*n = sqlite3_changes(c->db);
	return rc;
}
