/* acmedb.c - PostgreSQL: the ACME server's accounts, orders, authorizations, challenges. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "store/pg/pg.h"

#define T(s, i) mca_pg_str(s, 0, i)

static const char sql_acct_add[] =
    "INSERT INTO acme_accounts (id, profile, thumbprint, jwk, status, contact, created_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7)";
static const char sql_acct_get[] =
    "SELECT id, profile, thumbprint, jwk, status, contact, created_at FROM acme_accounts"
    " WHERE id = $1";
static const char sql_acct_by_key[] =
    "SELECT id, profile, thumbprint, jwk, status, contact, created_at FROM acme_accounts"
    " WHERE profile = $1 AND thumbprint = $2";
static const char sql_acct_update[] =
    "UPDATE acme_accounts SET status = coalesce($2, status), contact = coalesce($3, contact)"
    " WHERE id = $1";
static const char sql_order_add[] =
    "INSERT INTO acme_orders (id, account, profile, status, expires_at, identifiers,"
    " created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
static const char sql_order_get[] =
    "SELECT id, account, profile, status, identifiers, error, serial, expires_at, created_at"
    " FROM acme_orders WHERE id = $1";
static const char sql_order_by_serial[] =
    "SELECT id, account, profile, status, identifiers, error, serial, expires_at, created_at"
    " FROM acme_orders WHERE serial = $1";
static const char sql_order_set[] =
    "UPDATE acme_orders SET status = $2, error = coalesce($3, error),"
    " serial = coalesce($4, serial) WHERE id = $1";
static const char sql_order_claim[] =
    "UPDATE acme_orders SET status = 'processing' WHERE id = $1 AND status = 'ready'";
static const char sql_authz_settle[] = "UPDATE acme_authzs SET status = $2 WHERE id = $1"
                                       " AND status = 'pending' AND expires_at > $3::bigint";
static const char sql_order_count[] =
    "SELECT count(*) FROM acme_orders WHERE account = $1 AND created_at >= $2::bigint";
static const char sql_order_list[] = "SELECT id FROM acme_orders WHERE account = $1"
                                     " ORDER BY created_at DESC, id COLLATE \"C\" LIMIT $2";
static const char sql_authz_add[] =
    "INSERT INTO acme_authzs (id, order_id, name, wildcard, status, expires_at)"
    " VALUES ($1, $2, $3, $4, $5, $6)";
static const char sql_authz_get[] =
    "SELECT id, order_id, name, wildcard, status, expires_at FROM acme_authzs WHERE id = $1";
static const char sql_authz_set[] = "UPDATE acme_authzs SET status = $2 WHERE id = $1";
static const char sql_authz_list[] =
    "SELECT id, order_id, name, wildcard, status, expires_at FROM acme_authzs"
    " WHERE order_id = $1 ORDER BY seq";
static const char sql_chall_add[] =
    "INSERT INTO acme_challenges (id, authz, type, token, status) VALUES ($1, $2, $3, $4, $5)";
static const char sql_chall_get[] =
    "SELECT id, authz, type, token, status, error, coalesce(validated_at, 0)"
    " FROM acme_challenges WHERE id = $1";
static const char sql_chall_set[] =
    "UPDATE acme_challenges SET status = $2, validated_at = nullif($3::bigint, 0), error = $4"
    " WHERE id = $1";
static const char sql_chall_start[] =
    "UPDATE acme_challenges SET status = 'processing' WHERE id = $1 AND status = 'pending'";
static const char sql_chall_list[] =
    "SELECT id, authz, type, token, status, error, coalesce(validated_at, 0)"
    " FROM acme_challenges WHERE authz = $1 ORDER BY seq";
static const char sql_chall_processing[] =
    "SELECT id FROM acme_challenges WHERE status = 'processing' LIMIT 1000";
static const char sql_purge_orders[] =
    "DELETE FROM acme_orders WHERE expires_at < $1::bigint AND status <> 'valid'";
static const char sql_order_issued[] =
    "UPDATE acme_orders SET status = 'valid', serial = $2, error = NULL"
    " WHERE id = $1 AND status = 'processing'";
static const char sql_order_unclaim[] =
    "UPDATE acme_orders SET status = 'ready' WHERE id = $1 AND status = 'processing'";
static const char sql_order_repair[] =
    "UPDATE acme_orders SET status = 'ready' WHERE status = 'processing' AND serial IS NULL";

/* Run a one-row SELECT; fill with `row` (MCA_ERR_NOTFOUND when no row). */
static mca_rc
get_one(struct mca_pg *c, const char *sql, const struct mca_pg_params *p,
        int (*row)(const PGresult *, void *), void *out, const char *what, struct mca_error *err)
{
	PGresult *s = NULL;
	mca_rc rc;

	if ((rc = mca_pg_run(c, sql, p, &s, err)) != MCA_OK)
		return rc;
	if (PQntuples(s) == 0)
		rc = mca_error_set(err, MCA_ERR_NOTFOUND, "no such %s", what);
	else if (!row(s, out))
		rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	PQclear(s);
	return rc;
}

/* One id parameter. */
static struct mca_pg_params
p_id(const char *id)
{
	struct mca_pg_params p = {0};

	mca_pg_text(&p, id);
	return p;
}

static int
row_account(const PGresult *s, void *out)
{
	struct mca_acme_account *a = out;

	a->id = T(s, 0);
	a->profile = T(s, 1);
	a->thumbprint = T(s, 2);
	a->jwk = T(s, 3);
	a->status = T(s, 4);
	a->contact = T(s, 5);
	a->created_at = mca_pg_i64(s, 0, 6);
	if (a->id && a->profile && a->thumbprint && a->jwk && a->status && a->contact)
		return 1;
	mca_acme_account_clear(a);
	return 0;
}

mca_rc
mca_pg_acme_account_add(void *impl, const struct mca_acme_account *a, struct mca_error *err)
{
	struct mca_pg_params p = {0};

	mca_pg_text(&p, a->id);
	mca_pg_text(&p, a->profile);
	mca_pg_text(&p, a->thumbprint);
	mca_pg_text(&p, a->jwk);
	mca_pg_text(&p, a->status);
	mca_pg_text(&p, a->contact ? a->contact : "[]");
	mca_pg_int(&p, a->created_at);
	return mca_pg_cmd(impl, sql_acct_add, &p, NULL, err);
}

mca_rc
mca_pg_acme_account_get(void *impl, const char *id, struct mca_acme_account *out,
                        struct mca_error *err)
{
	struct mca_pg_params p = p_id(id);

	memset(out, 0, sizeof(*out));
	return get_one(impl, sql_acct_get, &p, row_account, out, "account", err);
}

mca_rc
mca_pg_acme_account_by_key(void *impl, const char *profile, const char *thumbprint,
                           struct mca_acme_account *out, struct mca_error *err)
{
	struct mca_pg_params p = {0};

	memset(out, 0, sizeof(*out));
	mca_pg_text(&p, profile);
	mca_pg_text(&p, thumbprint);
	return get_one(impl, sql_acct_by_key, &p, row_account, out, "account", err);
}

mca_rc
mca_pg_acme_account_update(void *impl, const char *id, const char *status, const char *contact,
                           struct mca_error *err)
{
	struct mca_pg_params p = {0};

	mca_pg_text(&p, id);
	mca_pg_text(&p, status);
	mca_pg_text(&p, contact);
	return mca_pg_cmd(impl, sql_acct_update, &p, NULL, err);
}

static int
row_order(const PGresult *s, void *out)
{
	struct mca_acme_order *o = out;

	o->id = T(s, 0);
	o->account = T(s, 1);
	o->profile = T(s, 2);
	o->status = T(s, 3);
	o->identifiers = T(s, 4);
	o->error = T(s, 5);
	o->serial = T(s, 6);
	o->expires_at = mca_pg_i64(s, 0, 7);
	o->created_at = mca_pg_i64(s, 0, 8);
	if (o->id && o->account && o->profile && o->status && o->identifiers)
		return 1;
	mca_acme_order_clear(o);
	return 0;
}

mca_rc
mca_pg_acme_order_add(void *impl, const struct mca_acme_order *o, struct mca_error *err)
{
	struct mca_pg_params p = {0};

	mca_pg_text(&p, o->id);
	mca_pg_text(&p, o->account);
	mca_pg_text(&p, o->profile);
	mca_pg_text(&p, o->status);
	mca_pg_int(&p, o->expires_at);
	mca_pg_text(&p, o->identifiers);
	mca_pg_int(&p, o->created_at);
	return mca_pg_cmd(impl, sql_order_add, &p, NULL, err);
}

mca_rc
mca_pg_acme_order_get(void *impl, const char *id, struct mca_acme_order *out, struct mca_error *err)
{
	struct mca_pg_params p = p_id(id);

	memset(out, 0, sizeof(*out));
	return get_one(impl, sql_order_get, &p, row_order, out, "order", err);
}

mca_rc
mca_pg_acme_order_by_serial(void *impl, const char *serial, struct mca_acme_order *out,
                            struct mca_error *err)
{
	struct mca_pg_params p = p_id(serial);

	memset(out, 0, sizeof(*out));
	return get_one(impl, sql_order_by_serial, &p, row_order, out, "order", err);
}

mca_rc
mca_pg_acme_order_set(void *impl, const char *id, const char *status, const char *error,
                      const char *serial, struct mca_error *err)
{
	struct mca_pg_params p = {0};

	mca_pg_text(&p, id);
	mca_pg_text(&p, status);
	mca_pg_text(&p, error);
	mca_pg_text(&p, serial);
	return mca_pg_cmd(impl, sql_order_set, &p, NULL, err);
}

mca_rc
mca_pg_acme_order_claim(void *impl, const char *id, int *ok, struct mca_error *err)
{
	struct mca_pg_params p = p_id(id);
	int n = 0;
	mca_rc rc = mca_pg_cmd(impl, sql_order_claim, &p, &n, err);

	*ok = rc == MCA_OK && n == 1;
	return rc;
}

mca_rc
mca_pg_acme_order_count(void *impl, const char *account, int64_t since, int64_t *n,
                        struct mca_error *err)
{
	struct mca_pg_params p = {0};
	PGresult *s = NULL;
	mca_rc rc;

	*n = 0;
	mca_pg_text(&p, account);
	mca_pg_int(&p, since);
	if ((rc = mca_pg_run(impl, sql_order_count, &p, &s, err)) != MCA_OK)
		return rc;
	*n = mca_pg_i64(s, 0, 0);
	PQclear(s);
	return MCA_OK;
}

/* Call cb with column 0 of every row of `sql`; a non-zero return stops the walk. */
static mca_rc
walk_ids(struct mca_pg *c, const char *sql, const struct mca_pg_params *p,
         int (*cb)(void *arg, const char *id), void *arg, struct mca_error *err)
{
	PGresult *s = NULL;
	int i, n;
	mca_rc rc;

	if ((rc = mca_pg_run(c, sql, p, &s, err)) != MCA_OK)
		return rc;
	n = PQntuples(s);
	for (i = 0; i < n; i++)
		if (cb(arg, PQgetvalue(s, i, 0)) != 0)
			break;
	PQclear(s);
	return MCA_OK;
}

mca_rc
mca_pg_acme_order_list(void *impl, const char *account, int limit,
                       int (*cb)(void *arg, const char *id), void *arg, struct mca_error *err)
{
	struct mca_pg_params p = {0};

	mca_pg_text(&p, account);
	mca_pg_int(&p, limit);
	return walk_ids(impl, sql_order_list, &p, cb, arg, err);
}

static int
row_authz_at(const PGresult *s, int i, struct mca_acme_authz *a)
{
	a->id = mca_pg_str(s, i, 0);
	a->order_id = mca_pg_str(s, i, 1);
	a->name = mca_pg_str(s, i, 2);
	a->wildcard = (int)mca_pg_i64(s, i, 3);
	a->status = mca_pg_str(s, i, 4);
	a->expires_at = mca_pg_i64(s, i, 5);
	if (a->id && a->order_id && a->name && a->status)
		return 1;
	mca_acme_authz_clear(a);
	return 0;
}

static int
row_authz(const PGresult *s, void *out)
{
	return row_authz_at(s, 0, out);
}

mca_rc
mca_pg_acme_authz_add(void *impl, const struct mca_acme_authz *a, struct mca_error *err)
{
	struct mca_pg_params p = {0};

	mca_pg_text(&p, a->id);
	mca_pg_text(&p, a->order_id);
	mca_pg_text(&p, a->name);
	mca_pg_int(&p, a->wildcard);
	mca_pg_text(&p, a->status);
	mca_pg_int(&p, a->expires_at);
	return mca_pg_cmd(impl, sql_authz_add, &p, NULL, err);
}

mca_rc
mca_pg_acme_authz_get(void *impl, const char *id, struct mca_acme_authz *out, struct mca_error *err)
{
	struct mca_pg_params p = p_id(id);

	memset(out, 0, sizeof(*out));
	return get_one(impl, sql_authz_get, &p, row_authz, out, "authorization", err);
}

mca_rc
mca_pg_acme_authz_set(void *impl, const char *id, const char *status, struct mca_error *err)
{
	struct mca_pg_params p = {0};

	mca_pg_text(&p, id);
	mca_pg_text(&p, status);
	return mca_pg_cmd(impl, sql_authz_set, &p, NULL, err);
}

mca_rc
mca_pg_acme_authz_settle(void *impl, const char *id, const char *status, int64_t now, int *ok,
                         struct mca_error *err)
{
	struct mca_pg_params p = {0};
	int n = 0;
	mca_rc rc;

	mca_pg_text(&p, id);
	mca_pg_text(&p, status);
	mca_pg_int(&p, now);
	rc = mca_pg_cmd(impl, sql_authz_settle, &p, &n, err);
	*ok = rc == MCA_OK && n == 1;
	return rc;
}

mca_rc
mca_pg_acme_authz_list(void *impl, const char *order_id,
                       int (*cb)(void *arg, const struct mca_acme_authz *a), void *arg,
                       struct mca_error *err)
{
	struct mca_pg_params p = p_id(order_id);
	struct mca_acme_authz tmp;
	PGresult *s = NULL;
	int i, n, stop = 0;
	mca_rc rc;

	if ((rc = mca_pg_run(impl, sql_authz_list, &p, &s, err)) != MCA_OK)
		return rc;
	n = PQntuples(s);
	for (i = 0; i < n && !stop; i++) {
		memset(&tmp, 0, sizeof(tmp));
		if (!row_authz_at(s, i, &tmp)) {
			rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
			break;
		}
		stop = cb(arg, &tmp);
		mca_acme_authz_clear(&tmp);
	}
	PQclear(s);
	return rc;
}

static int
row_chall_at(const PGresult *s, int i, struct mca_acme_chall *c)
{
	c->id = mca_pg_str(s, i, 0);
	c->authz = mca_pg_str(s, i, 1);
	c->type = mca_pg_str(s, i, 2);
	c->token = mca_pg_str(s, i, 3);
	c->status = mca_pg_str(s, i, 4);
	c->error = mca_pg_str(s, i, 5);
	c->validated_at = mca_pg_i64(s, i, 6);
	if (c->id && c->authz && c->type && c->token && c->status)
		return 1;
	mca_acme_chall_clear(c);
	return 0;
}

static int
row_chall(const PGresult *s, void *out)
{
	return row_chall_at(s, 0, out);
}

mca_rc
mca_pg_acme_chall_add(void *impl, const struct mca_acme_chall *ch, struct mca_error *err)
{
	struct mca_pg_params p = {0};

	mca_pg_text(&p, ch->id);
	mca_pg_text(&p, ch->authz);
	mca_pg_text(&p, ch->type);
	mca_pg_text(&p, ch->token);
	mca_pg_text(&p, ch->status);
	return mca_pg_cmd(impl, sql_chall_add, &p, NULL, err);
}

mca_rc
mca_pg_acme_chall_get(void *impl, const char *id, struct mca_acme_chall *out, struct mca_error *err)
{
	struct mca_pg_params p = p_id(id);

	memset(out, 0, sizeof(*out));
	return get_one(impl, sql_chall_get, &p, row_chall, out, "challenge", err);
}

mca_rc
mca_pg_acme_chall_set(void *impl, const char *id, const char *status, int64_t validated_at,
                      const char *error, struct mca_error *err)
{
	struct mca_pg_params p = {0};

	mca_pg_text(&p, id);
	mca_pg_text(&p, status);
	mca_pg_int(&p, validated_at);
	mca_pg_text(&p, error);
	return mca_pg_cmd(impl, sql_chall_set, &p, NULL, err);
}

mca_rc
mca_pg_acme_chall_start(void *impl, const char *id, int *ok, struct mca_error *err)
{
	struct mca_pg_params p = p_id(id);
	int n = 0;
	mca_rc rc = mca_pg_cmd(impl, sql_chall_start, &p, &n, err);

	*ok = rc == MCA_OK && n == 1;
	return rc;
}

mca_rc
mca_pg_acme_chall_list(void *impl, const char *authz,
                       int (*cb)(void *arg, const struct mca_acme_chall *c), void *arg,
                       struct mca_error *err)
{
	struct mca_pg_params p = p_id(authz);
	struct mca_acme_chall tmp;
	PGresult *s = NULL;
	int i, n, stop = 0;
	mca_rc rc;

	if ((rc = mca_pg_run(impl, sql_chall_list, &p, &s, err)) != MCA_OK)
		return rc;
	n = PQntuples(s);
	for (i = 0; i < n && !stop; i++) {
		memset(&tmp, 0, sizeof(tmp));
		if (!row_chall_at(s, i, &tmp)) {
			rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
			break;
		}
		stop = cb(arg, &tmp);
		mca_acme_chall_clear(&tmp);
	}
	PQclear(s);
	return rc;
}

mca_rc
mca_pg_acme_chall_processing(void *impl, int (*cb)(void *arg, const char *id), void *arg,
                             struct mca_error *err)
{
	return walk_ids(impl, sql_chall_processing, NULL, cb, arg, err);
}

mca_rc
mca_pg_acme_purge(void *impl, int64_t before, struct mca_error *err)
{
	static const char sql_purge_nonces[] =
	    "DELETE FROM acme_nonce_uses WHERE expires_at < $1::bigint";
	struct mca_pg_params p = {0};
	mca_rc rc;

	mca_pg_int(&p, before);
	if ((rc = mca_pg_cmd(impl, sql_purge_orders, &p, NULL, err)) != MCA_OK)
		return rc;
	return mca_pg_cmd(impl, sql_purge_nonces, &p, NULL, err);
}

/* ---- shared nonces ----------------------------------------------------------- */

static const char sql_key_put[] = "INSERT INTO mca_secrets (name, value)"
                                  " VALUES ('acme_nonce_key', $1) ON CONFLICT (name) DO NOTHING";
static const char sql_key_get[] = "SELECT value FROM mca_secrets WHERE name = 'acme_nonce_key'";
static const char sql_nonce_use[] = "INSERT INTO acme_nonce_uses (nonce, expires_at)"
                                    " VALUES ($1, $2) ON CONFLICT (nonce) DO NOTHING";

mca_rc
mca_pg_acme_nonce_key(void *impl, const unsigned char fresh[32], unsigned char key[32],
                      struct mca_error *err)
{
	struct mca_pg_params p = {0};
	PGresult *s = NULL;
	unsigned char *v = NULL;
	size_t len = 0;
	mca_rc rc;

	mca_pg_blob(&p, fresh, 32);
	if ((rc = mca_pg_cmd(impl, sql_key_put, &p, NULL, err)) != MCA_OK ||
	    (rc = mca_pg_run(impl, sql_key_get, NULL, &s, err)) != MCA_OK)
		return rc;
	if (PQntuples(s) != 1 || (v = mca_pg_bytes(s, 0, 0, &len)) == NULL || len != 32)
		rc = mca_error_set(err, MCA_ERR_DB,
		                   "the shared ACME nonce key is missing or not 32 "
		                   "octets");
	else
		memcpy(key, v, 32);
	if (v != NULL)
		OPENSSL_cleanse(v, len);
	free(v);
	PQclear(s);
	return rc;
}

mca_rc
mca_pg_acme_nonce_use(void *impl, const char *nonce, int64_t expires_at, int *first,
                      struct mca_error *err)
{
	struct mca_pg_params p = {0};

	mca_pg_text(&p, nonce);
	mca_pg_int(&p, expires_at);
	return mca_pg_cmd(impl, sql_nonce_use, &p, first, err);
}

mca_rc
mca_pg_acme_order_issued(void *impl, const char *id, const char *serial, struct mca_error *err)
{
	struct mca_pg_params p = {0};
	int n = 0;
	mca_rc rc;

	mca_pg_text(&p, id);
	mca_pg_text(&p, serial);
	if ((rc = mca_pg_cmd(impl, sql_order_issued, &p, &n, err)) != MCA_OK)
		return rc;
	if (n != 1)
		return mca_error_set(err, MCA_ERR_INTERNAL,
		                     "order %s is no longer being finalized; certificate %s is "
		                     "not recorded",
		                     id, serial);
	return MCA_OK;
}

mca_rc
mca_pg_acme_order_unclaim(void *impl, const char *id, struct mca_error *err)
{
	struct mca_pg_params p = p_id(id);

	return mca_pg_cmd(impl, sql_order_unclaim, &p, NULL, err);
}

mca_rc
mca_pg_acme_order_repair(void *impl, int64_t *n, struct mca_error *err)
{
	int k = 0;
	mca_rc rc = mca_pg_cmd(impl, sql_order_repair, NULL, &k, err);

	*n = k;
	return rc;
}
