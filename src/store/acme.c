/*
 * acme.c - the ACME data layer (acme.h): record helpers, ids, and the
 * dispatch of every operation to the store's backend (backend.h).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "common/util.h"
#include "store/acme.h"
#include "store/backend.h"

void
mca_acme_account_clear(struct mca_acme_account *a)
{
	free(a->id);
	free(a->profile);
	free(a->thumbprint);
	free(a->jwk);
	free(a->status);
	free(a->contact);
	memset(a, 0, sizeof(*a));
}

void
mca_acme_order_clear(struct mca_acme_order *o)
{
	free(o->id);
	free(o->account);
	free(o->profile);
	free(o->status);
	free(o->identifiers);
	free(o->error);
	free(o->serial);
	memset(o, 0, sizeof(*o));
}

void
mca_acme_authz_clear(struct mca_acme_authz *a)
{
	free(a->id);
	free(a->order_id);
	free(a->name);
	free(a->status);
	memset(a, 0, sizeof(*a));
}

void
mca_acme_chall_clear(struct mca_acme_chall *c)
{
	free(c->id);
	free(c->authz);
	free(c->type);
	free(c->token);
	free(c->status);
	free(c->error);
	memset(c, 0, sizeof(*c));
}

mca_rc
mca_acme_new_id(char out[MCA_ACME_ID_LEN + 1], struct mca_error *err)
{
	unsigned char raw[MCA_ACME_ID_LEN / 2];

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return mca_error_ssl(err, MCA_ERR_CRYPTO, "random id");
	mca_hex(raw, sizeof(raw), out);
	return MCA_OK;
}

mca_rc
mca_acme_account_add(struct mca_store *st, const struct mca_acme_account *a, struct mca_error *err)
{
	return mca_store_get_ops(st)->acme_account_add(mca_store_get_impl(st), a, err);
}

mca_rc
mca_acme_account_get(struct mca_store *st, const char *id, struct mca_acme_account *out,
                     struct mca_error *err)
{
	return mca_store_get_ops(st)->acme_account_get(mca_store_get_impl(st), id, out, err);
}

mca_rc
mca_acme_account_by_key(struct mca_store *st, const char *profile, const char *thumbprint,
                        struct mca_acme_account *out, struct mca_error *err)
{
	return mca_store_get_ops(st)->acme_account_by_key(mca_store_get_impl(st), profile,
	                                                  thumbprint, out, err);
}

mca_rc
mca_acme_account_update(struct mca_store *st, const char *id, const char *status,
                        const char *contact, struct mca_error *err)
{
	return mca_store_get_ops(st)->acme_account_update(mca_store_get_impl(st), id, status,
	                                                  contact, err);
}

mca_rc
mca_acme_order_add(struct mca_store *st, const struct mca_acme_order *o, struct mca_error *err)
{
	return mca_store_get_ops(st)->acme_order_add(mca_store_get_impl(st), o, err);
}

mca_rc
mca_acme_order_get(struct mca_store *st, const char *id, struct mca_acme_order *out,
                   struct mca_error *err)
{
	return mca_store_get_ops(st)->acme_order_get(mca_store_get_impl(st), id, out, err);
}

mca_rc
mca_acme_order_set(struct mca_store *st, const char *id, const char *status, const char *error,
                   const char *serial, struct mca_error *err)
{
	return mca_store_get_ops(st)->acme_order_set(mca_store_get_impl(st), id, status, error,
	                                             serial, err);
}

mca_rc
mca_acme_order_claim(struct mca_store *st, const char *id, int *ok, struct mca_error *err)
{
	return mca_store_get_ops(st)->acme_order_claim(mca_store_get_impl(st), id, ok, err);
}

mca_rc
mca_acme_order_count(struct mca_store *st, const char *account, int64_t since, int64_t *n,
                     struct mca_error *err)
{
	return mca_store_get_ops(st)->acme_order_count(mca_store_get_impl(st), account, since, n,
	                                               err);
}

mca_rc
mca_acme_order_by_serial(struct mca_store *st, const char *serial, struct mca_acme_order *out,
                         struct mca_error *err)
{
	return mca_store_get_ops(st)->acme_order_by_serial(mca_store_get_impl(st), serial, out,
	                                                   err);
}

mca_rc
mca_acme_order_list(struct mca_store *st, const char *account, int limit,
                    int (*cb)(void *arg, const char *id), void *arg, struct mca_error *err)
{
	return mca_store_get_ops(st)->acme_order_list(mca_store_get_impl(st), account, limit, cb,
	                                              arg, err);
}

mca_rc
mca_acme_authz_add(struct mca_store *st, const struct mca_acme_authz *a, struct mca_error *err)
{
	return mca_store_get_ops(st)->acme_authz_add(mca_store_get_impl(st), a, err);
}

mca_rc
mca_acme_authz_get(struct mca_store *st, const char *id, struct mca_acme_authz *out,
                   struct mca_error *err)
{
	return mca_store_get_ops(st)->acme_authz_get(mca_store_get_impl(st), id, out, err);
}

mca_rc
mca_acme_authz_set(struct mca_store *st, const char *id, const char *status, struct mca_error *err)
{
	return mca_store_get_ops(st)->acme_authz_set(mca_store_get_impl(st), id, status, err);
}

mca_rc
mca_acme_authz_settle(struct mca_store *st, const char *id, const char *status, int64_t now,
                      int *ok, struct mca_error *err)
{
	return mca_store_get_ops(st)->acme_authz_settle(mca_store_get_impl(st), id, status, now, ok,
	                                                err);
}

mca_rc
mca_acme_authz_list(struct mca_store *st, const char *order_id,
                    int (*cb)(void *arg, const struct mca_acme_authz *a), void *arg,
                    struct mca_error *err)
{
	return mca_store_get_ops(st)->acme_authz_list(mca_store_get_impl(st), order_id, cb, arg,
	                                              err);
}

mca_rc
mca_acme_chall_add(struct mca_store *st, const struct mca_acme_chall *c, struct mca_error *err)
{
	return mca_store_get_ops(st)->acme_chall_add(mca_store_get_impl(st), c, err);
}

mca_rc
mca_acme_chall_get(struct mca_store *st, const char *id, struct mca_acme_chall *out,
                   struct mca_error *err)
{
	return mca_store_get_ops(st)->acme_chall_get(mca_store_get_impl(st), id, out, err);
}

mca_rc
mca_acme_chall_set(struct mca_store *st, const char *id, const char *status, int64_t validated_at,
                   const char *error, struct mca_error *err)
{
	return mca_store_get_ops(st)->acme_chall_set(mca_store_get_impl(st), id, status,
	                                             validated_at, error, err);
}

mca_rc
mca_acme_chall_start(struct mca_store *st, const char *id, int *ok, struct mca_error *err)
{
	return mca_store_get_ops(st)->acme_chall_start(mca_store_get_impl(st), id, ok, err);
}

mca_rc
mca_acme_chall_list(struct mca_store *st, const char *authz,
                    int (*cb)(void *arg, const struct mca_acme_chall *c), void *arg,
                    struct mca_error *err)
{
	return mca_store_get_ops(st)->acme_chall_list(mca_store_get_impl(st), authz, cb, arg, err);
}

mca_rc
mca_acme_chall_processing(struct mca_store *st, int (*cb)(void *arg, const char *id), void *arg,
                          struct mca_error *err)
{
	return mca_store_get_ops(st)->acme_chall_processing(mca_store_get_impl(st), cb, arg, err);
}

mca_rc
mca_acme_order_issued(struct mca_store *st, const char *id, const char *serial,
                      struct mca_error *err)
{
	return mca_store_get_ops(st)->acme_order_issued(mca_store_get_impl(st), id, serial, err);
}

mca_rc
mca_acme_order_unclaim(struct mca_store *st, const char *id, struct mca_error *err)
{
	return mca_store_get_ops(st)->acme_order_unclaim(mca_store_get_impl(st), id, err);
}

mca_rc
mca_acme_order_repair(struct mca_store *st, int64_t *n, struct mca_error *err)
{
	return mca_store_get_ops(st)->acme_order_repair(mca_store_get_impl(st), n, err);
}

mca_rc
mca_acme_purge(struct mca_store *st, int64_t before, struct mca_error *err)
{
	return mca_store_get_ops(st)->acme_purge(mca_store_get_impl(st), before, err);
}

mca_rc
mca_acme_nonce_key(struct mca_store *st, const unsigned char fresh[32], unsigned char key[32],
                   struct mca_error *err)
{
	const struct mca_store_ops *ops = mca_store_get_ops(st);

	if (ops->acme_nonce_key == NULL)
		return mca_error_set(err, MCA_ERR_NOTFOUND,
		                     "the %s backend keeps nonces per process", ops->name);
	return ops->acme_nonce_key(mca_store_get_impl(st), fresh, key, err);
}

mca_rc
mca_acme_nonce_use(struct mca_store *st, const char *nonce, int64_t expires_at, int *first,
                   struct mca_error *err)
{
	const struct mca_store_ops *ops = mca_store_get_ops(st);

	*first = 0;
	if (ops->acme_nonce_use == NULL)
		return mca_error_set(err, MCA_ERR_NOTFOUND,
		                     "the %s backend keeps nonces per process", ops->name);
	return ops->acme_nonce_use(mca_store_get_impl(st), nonce, expires_at, first, err);
}
