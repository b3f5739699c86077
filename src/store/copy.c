/*
 * copy.c - copy a CA's whole database into another, empty one (store.h,
 * mca_store_copy): every table, row by row through the backends' raw
 * rows ops (backend.h), in one transaction on the target.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "store/backend.h"
#include "store/store.h"

/* Every table and column, parents before children (foreign keys). */
static const char *const certificates_cols[] = {
    "serial", "issuer",      "profile", "subject",    "names",  "not_before", "not_after",
    "der",    "fingerprint", "status",  "revoked_at", "reason", "requester",  "created_at"};
static const char *const crls_cols[] = {"issuer", "number", "this_update", "next_update", "der"};
static const char *const tokens_cols[] = {"id",         "hash",       "profile",    "names",
                                          "uses_left",  "uses_total", "expires_at", "created_at",
                                          "created_by", "revoked_at"};
static const char *const audit_cols[] = {"id", "at", "actor", "action", "serial", "detail"};
static const char *const validations_cols[] = {"id",      "name",  "method", "validated_at",
                                               "outcome", "error", "account"};
static const char *const accounts_cols[] = {"id",     "profile", "thumbprint", "jwk",
                                            "status", "contact", "created_at"};
static const char *const orders_cols[] = {"id",     "account",    "profile",
                                          "status", "expires_at", "identifiers",
                                          "error",  "serial",     "created_at"};
static const char *const authzs_cols[] = {"id",       "order_id", "name",
                                          "wildcard", "status",   "expires_at"};
static const char *const challenges_cols[] = {"id",     "authz",        "type", "token",
                                              "status", "validated_at", "error"};

#define TABLE(name, cols)                                                                          \
	{                                                                                          \
		name, cols, sizeof(cols) / sizeof(cols[0])                                         \
	}
static const struct copy_table {
	const char *name;
	const char *const *cols;
	size_t ncols;
} tables[MCA_STORE_COPY_TABLES] = {
    TABLE("certificates", certificates_cols),
    TABLE("crls", crls_cols),
    TABLE("tokens", tokens_cols),
    TABLE("audit", audit_cols),
    TABLE("validations", validations_cols),
    TABLE("acme_accounts", accounts_cols),
    TABLE("acme_orders", orders_cols),
    TABLE("acme_authzs", authzs_cols),
    TABLE("acme_challenges", challenges_cols),
};

const char *
mca_store_copy_table(size_t i)
{
	return i < MCA_STORE_COPY_TABLES ? tables[i].name : NULL;
}

struct copy_run {
	struct mca_store *src, *dst;
	const struct copy_table *t;
	struct mca_error put_err;
	mca_rc put_rc;
};

/* One source row into the target; a failure stops the walk (kept in put_err). */
static int
put_row(void *arg, const struct mca_store_val *v)
{
	struct copy_run *r = arg;

	r->put_rc = mca_store_get_ops(r->dst)->row_put(mca_store_get_impl(r->dst), r->t->name,
	                                               r->t->cols, r->t->ncols, v, &r->put_err);
	return r->put_rc != MCA_OK;
}

/* The target's transaction: every table, in order. */
static mca_rc
copy_txn(struct mca_store *dst, void *arg, struct mca_error *err)
{
	struct copy_run *r = arg;
	const struct mca_store_ops *so = mca_store_get_ops(r->src);
	size_t i;
	mca_rc rc;

	for (i = 0; i < MCA_STORE_COPY_TABLES; i++) {
		r->t = &tables[i];
		r->put_rc = MCA_OK;
		memset(&r->put_err, 0, sizeof(r->put_err));
		rc = so->rows(mca_store_get_impl(r->src), r->t->name, r->t->cols, r->t->ncols,
		              put_row, r, err);
		if (r->put_rc != MCA_OK) { /* the target's error, unchanged (conflicts retry) */
			*err = r->put_err;
			return r->put_rc;
		}
		if (rc != MCA_OK)
			return rc;
		if ((rc = mca_store_get_ops(dst)->rows_end(mca_store_get_impl(dst), r->t->name,
		                                           err)) != MCA_OK)
			return rc;
	}
	return MCA_OK;
}

/* Read the source inside its own transaction: one consistent state, writers held off. */
static mca_rc
copy_src_txn(struct mca_store *src, void *arg, struct mca_error *err)
{
	struct copy_run *r = arg;

	(void)src;
	return mca_store_txn(r->dst, copy_txn, r, err);
}

mca_rc
mca_store_copy(struct mca_store *src, struct mca_store *dst, int64_t counts[MCA_STORE_COPY_TABLES],
               struct mca_error *err)
{
	struct copy_run r;
	int64_t n;
	size_t i;
	mca_rc rc;

	memset(&r, 0, sizeof(r));
	r.src = src;
	r.dst = dst;
	for (i = 0; i < MCA_STORE_COPY_TABLES; i++) {
		counts[i] = 0;
		if ((n = mca_store_count(dst, tables[i].name)) != 0)
			return mca_error_set(
			    err, n < 0 ? MCA_ERR_DB : MCA_ERR_EXISTS,
			    n < 0 ? "target: cannot count the rows of %s"
			          : "the target database is not empty (%s has rows); "
			            "refusing to copy into it",
			    tables[i].name);
	}
	if ((rc = mca_store_txn(src, copy_src_txn, &r, err)) != MCA_OK)
		return rc;
	/* Check: as many rows on both sides, table by table. */
	for (i = 0; i < MCA_STORE_COPY_TABLES; i++) {
		counts[i] = mca_store_count(src, tables[i].name);
		n = mca_store_count(dst, tables[i].name);
		if (counts[i] < 0 || n != counts[i])
			return mca_error_set(err, MCA_ERR_INTERNAL,
			                     "%s: %lld rows in the source, %lld in the target",
			                     tables[i].name, (long long)counts[i], (long long)n);
	}
	return MCA_OK;
}
