/*
 * certs.c - PostgreSQL: certificate rows and the revoked walk, the audit
 * trail, CRLs, domain validations and enrollment tokens (the same
 * statements as src/store/sqlite/, in PostgreSQL's dialect).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "store/pg/pg.h"

/* ---- certificates ---------------------------------------------------------- */

#define CERT_COLUMNS                                                                               \
	"serial, issuer, profile, subject, names, not_before, not_after, der, fingerprint,"        \
	" status, revoked_at, reason, requester, created_at"

static const char sql_cert_insert[] =
    "INSERT INTO certificates (serial, issuer, profile, subject, names, not_before,"
    " not_after, der, fingerprint, status, revoked_at, reason, requester, created_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'valid', NULL, NULL, $10, $11)";
static const char sql_cert_get[] = "SELECT " CERT_COLUMNS " FROM certificates WHERE serial = $1";
static const char sql_cert_list[] =
    "SELECT " CERT_COLUMNS " FROM certificates"
    " WHERE ($1::text IS NULL"
    "  OR ($1 = 'valid' AND status = 'valid' AND not_after > $5::bigint)"
    "  OR ($1 = 'expired' AND status = 'valid' AND not_after <= $5::bigint)"
    "  OR ($1 = 'revoked' AND status = 'revoked'))"
    " AND ($2::text IS NULL OR profile = $2) AND ($3::text IS NULL OR serial > $3)"
    " ORDER BY serial LIMIT $4::bigint";
static const char sql_cert_revoked[] =
    "SELECT serial, revoked_at, reason FROM certificates"
    " WHERE status = 'revoked' AND issuer = $1 AND not_after > $2::bigint ORDER BY serial";
static const char sql_cert_revoke[] =
    "UPDATE certificates SET status = 'revoked', revoked_at = $2::bigint,"
    " reason = $3 WHERE serial = $1 AND status = 'valid'";
static const char sql_cert_exists[] = "SELECT 1 FROM certificates WHERE serial = $1";

mca_rc
mca_pg_cert_insert(void *impl, const struct mca_cert_rec *r, struct mca_error *err)
{
	struct mca_pg_params p = {0};

	mca_pg_text(&p, r->serial);
	mca_pg_text(&p, r->issuer);
	mca_pg_text(&p, r->profile);
	mca_pg_text(&p, r->subject ? r->subject : "");
	mca_pg_text(&p, r->names ? r->names : "[]");
	mca_pg_int(&p, r->not_before);
	mca_pg_int(&p, r->not_after);
	mca_pg_blob(&p, r->der, r->der_len);
	mca_pg_text(&p, r->fingerprint);
	mca_pg_text(&p, r->requester);
	mca_pg_int(&p, r->created_at ? r->created_at : (int64_t)mca_now());
	return mca_pg_cmd(impl, sql_cert_insert, &p, NULL, err);
}

/* Fill `r` from row `i` of CERT_COLUMNS. */
static mca_rc
row_to_rec(const PGresult *s, int i, struct mca_cert_rec *r, struct mca_error *err)
{
	r->serial = mca_pg_str(s, i, 0);
	r->issuer = mca_pg_str(s, i, 1);
	r->profile = mca_pg_str(s, i, 2);
	r->subject = mca_pg_str(s, i, 3);
	r->names = mca_pg_str(s, i, 4);
	r->not_before = mca_pg_i64(s, i, 5);
	r->not_after = mca_pg_i64(s, i, 6);
	r->der = mca_pg_bytes(s, i, 7, &r->der_len);
	r->fingerprint = mca_pg_str(s, i, 8);
	r->status = mca_pg_str(s, i, 9);
	r->revoked_at = mca_pg_i64(s, i, 10);
	r->reason = mca_pg_str(s, i, 11);
	r->requester = mca_pg_str(s, i, 12);
	r->created_at = mca_pg_i64(s, i, 13);
	if (r->serial == NULL || r->issuer == NULL || r->profile == NULL || r->subject == NULL ||
	    r->names == NULL || r->der == NULL || r->fingerprint == NULL || r->status == NULL ||
	    r->requester == NULL) {
		mca_cert_rec_clear(r);
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	}
	return MCA_OK;
}

mca_rc
mca_pg_cert_get(void *impl, const char *serial, struct mca_cert_rec **out, struct mca_error *err)
{
	struct mca_pg_params p = {0};
	struct mca_cert_rec *r = NULL;
	PGresult *s = NULL;
	mca_rc rc;

	*out = NULL;
	mca_pg_text(&p, serial);
	if ((rc = mca_pg_run(impl, sql_cert_get, &p, &s, err)) != MCA_OK)
		return rc;
	if (PQntuples(s) == 0) {
		rc = mca_error_set(err, MCA_ERR_NOTFOUND, "no certificate with serial %s", serial);
		goto out;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = row_to_rec(s, 0, r, err)) != MCA_OK)
		goto out;
	*out = r;
	r = NULL;
out:
	PQclear(s);
	mca_cert_rec_free(r);
	return rc;
}

mca_rc
mca_pg_cert_list(void *impl, const struct mca_cert_filter *f, mca_cert_cb cb, void *arg,
                 struct mca_error *err)
{
	struct mca_pg_params p = {0};
	struct mca_cert_rec r;
	PGresult *s = NULL;
	int i, n;
	mca_rc rc;

	mca_pg_text(&p, f->status);
	mca_pg_text(&p, f->profile);
	mca_pg_text(&p, f->after);
	if (f->limit > 0)
		mca_pg_int(&p, f->limit);
	else
		mca_pg_null(&p);
	mca_pg_int(&p, f->now ? f->now : (int64_t)mca_now());
	if ((rc = mca_pg_run(impl, sql_cert_list, &p, &s, err)) != MCA_OK)
		return rc;
	n = PQntuples(s);
	for (i = 0; i < n; i++) {
		memset(&r, 0, sizeof(r));
		if ((rc = row_to_rec(s, i, &r, err)) != MCA_OK)
			break;
		if (cb(arg, &r) != 0)
			i = n;
		mca_cert_rec_clear(&r);
	}
	PQclear(s);
	return rc;
}

mca_rc
mca_pg_cert_revoke(void *impl, const char *serial, int64_t now, const char *reason, int *changed,
                   struct mca_error *err)
{
	struct mca_pg_params p = {0}, q = {0};
	PGresult *s = NULL;
	int exists;
	mca_rc rc;

	*changed = 0;
	mca_pg_text(&p, serial);
	mca_pg_int(&p, now);
	mca_pg_text(&p, reason);
	if ((rc = mca_pg_cmd(impl, sql_cert_revoke, &p, changed, err)) != MCA_OK || *changed != 0)
		return rc;
	mca_pg_text(&q, serial);
	if ((rc = mca_pg_run(impl, sql_cert_exists, &q, &s, err)) != MCA_OK)
		return rc;
	exists = PQntuples(s) > 0;
	PQclear(s);
	return exists
	           ? MCA_OK
	           : mca_error_set(err, MCA_ERR_NOTFOUND, "no certificate with serial %s", serial);
}

mca_rc
mca_pg_revoked_foreach(void *impl, const char *issuer_dn, int64_t since, mca_revoked_cb cb,
                       void *arg, struct mca_error *err)
{
	struct mca_pg_params p = {0};
	PGresult *s = NULL;
	int i, n;
	mca_rc rc;

	mca_pg_text(&p, issuer_dn);
	mca_pg_int(&p, since);
	if ((rc = mca_pg_run(impl, sql_cert_revoked, &p, &s, err)) != MCA_OK)
		return rc;
	n = PQntuples(s);
	for (i = 0; i < n; i++)
		if (cb(arg, PQgetvalue(s, i, 0), mca_pg_i64(s, i, 1),
		       PQgetisnull(s, i, 2) ? NULL : PQgetvalue(s, i, 2)) != 0) {
			rc = mca_error_set(err, MCA_ERR_INTERNAL, "revoked list walk failed");
			break;
		}
	PQclear(s);
	return rc;
}

/* ---- audit ----------------------------------------------------------------- */

static const char sql_audit_insert[] =
    "INSERT INTO audit (at, actor, action, serial, detail) VALUES ($1, $2, $3, $4, $5)";
static const char sql_audit_list[] = "SELECT id, at, actor, action, serial, detail FROM audit"
                                     " WHERE id > $1::bigint ORDER BY id";

mca_rc
mca_pg_audit(void *impl, const char *actor, const char *action, const char *serial,
             const char *detail_json, struct mca_error *err)
{
	struct mca_pg_params p = {0};

	mca_pg_int(&p, (int64_t)mca_now());
	mca_pg_text(&p, actor);
	mca_pg_text(&p, action);
	mca_pg_text(&p, serial);
	mca_pg_text(&p, detail_json ? detail_json : "{}");
	return mca_pg_cmd(impl, sql_audit_insert, &p, NULL, err);
}

mca_rc
mca_pg_audit_list(void *impl, int64_t after_id, int (*cb)(void *arg, const struct mca_audit_rec *r),
                  void *arg, struct mca_error *err)
{
	struct mca_pg_params p = {0};
	struct mca_audit_rec r;
	PGresult *s = NULL;
	int i, n;
	mca_rc rc;

	mca_pg_int(&p, after_id);
	if ((rc = mca_pg_run(impl, sql_audit_list, &p, &s, err)) != MCA_OK)
		return rc;
	n = PQntuples(s);
	for (i = 0; i < n; i++) {
		r.id = mca_pg_i64(s, i, 0);
		r.at = mca_pg_i64(s, i, 1);
		r.actor = PQgetvalue(s, i, 2);
		r.action = PQgetvalue(s, i, 3);
		r.serial = PQgetisnull(s, i, 4) ? NULL : PQgetvalue(s, i, 4);
		r.detail = PQgetvalue(s, i, 5);
		if (cb(arg, &r) != 0)
			break;
	}
	PQclear(s);
	return MCA_OK;
}

/* ---- CRLs ------------------------------------------------------------------ */

static const char sql_crl_max[] = "SELECT coalesce(max(number), 0) FROM crls WHERE issuer = $1";
static const char sql_crl_insert[] =
    "INSERT INTO crls (issuer, number, this_update, next_update, der)"
    " VALUES ($1, $2, $3, $4, $5)";
static const char sql_crl_latest[] = "SELECT number, this_update, next_update, der FROM crls"
                                     " WHERE issuer = $1 ORDER BY number DESC LIMIT 1";

mca_rc
mca_pg_crl_max_number(void *impl, const char *issuer, int64_t *number, struct mca_error *err)
{
	struct mca_pg_params p = {0};
	PGresult *s = NULL;
	mca_rc rc;

	mca_pg_text(&p, issuer);
	if ((rc = mca_pg_run(impl, sql_crl_max, &p, &s, err)) != MCA_OK)
		return rc;
	*number = mca_pg_i64(s, 0, 0);
	PQclear(s);
	return MCA_OK;
}

mca_rc
mca_pg_crl_insert(void *impl, const char *issuer, int64_t number, int64_t this_update,
                  int64_t next_update, const unsigned char *der, size_t der_len,
                  struct mca_error *err)
{
	struct mca_pg_params p = {0};

	mca_pg_text(&p, issuer);
	mca_pg_int(&p, number);
	mca_pg_int(&p, this_update);
	mca_pg_int(&p, next_update);
	mca_pg_blob(&p, der, der_len);
	return mca_pg_cmd(impl, sql_crl_insert, &p, NULL, err);
}

mca_rc
mca_pg_crl_latest(void *impl, const char *issuer, struct mca_crl_rec *out, struct mca_error *err)
{
	struct mca_pg_params p = {0};
	PGresult *s = NULL;
	mca_rc rc;

	memset(out, 0, sizeof(*out));
	mca_pg_text(&p, issuer);
	if ((rc = mca_pg_run(impl, sql_crl_latest, &p, &s, err)) != MCA_OK)
		return rc;
	if (PQntuples(s) == 0) {
		rc = mca_error_set(err, MCA_ERR_NOTFOUND, "no %s CRL published yet", issuer);
	} else {
		out->number = mca_pg_i64(s, 0, 0);
		out->this_update = mca_pg_i64(s, 0, 1);
		out->next_update = mca_pg_i64(s, 0, 2);
		if ((out->der = mca_pg_bytes(s, 0, 3, &out->der_len)) == NULL)
			rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	}
	PQclear(s);
	return rc;
}

/* ---- domain validations ---------------------------------------------------- */

static const char sql_val_current[] =
    "SELECT method FROM validations WHERE name = $1 AND outcome = 'valid'"
    " AND validated_at >= $2::bigint AND ($3::text IS NULL OR account = $3)";
static const char sql_val_add[] =
    "INSERT INTO validations (name, method, validated_at, outcome, error, account)"
    " VALUES ($1, $2, $3, $4, $5, $6)";

mca_rc
mca_pg_validation_current(void *impl, const char *name, const char *const *methods, int64_t since,
                          const char *account, int *found, char *method, struct mca_error *err)
{
	struct mca_pg_params p = {0};
	PGresult *s = NULL;
	const char *m;
	int i, n;
	size_t j;
	mca_rc rc;

	*found = 0;
	mca_pg_text(&p, name);
	mca_pg_int(&p, since);
	mca_pg_text(&p, account);
	if ((rc = mca_pg_run(impl, sql_val_current, &p, &s, err)) != MCA_OK)
		return rc;
	n = PQntuples(s);
	for (i = 0; i < n && !*found; i++) {
		m = PQgetvalue(s, i, 0);
		for (j = 0; methods[j] != NULL; j++)
			if (strcmp(methods[j], m) == 0) {
				*found = 1;
				if (method != NULL)
					snprintf(method, 16, "%s", m);
			}
	}
	PQclear(s);
	return MCA_OK;
}

mca_rc
mca_pg_validation_add(void *impl, const char *name, const char *method, int64_t at, int valid,
                      const char *error, const char *account, struct mca_error *err)
{
	struct mca_pg_params p = {0};

	mca_pg_text(&p, name);
	mca_pg_text(&p, method);
	mca_pg_int(&p, at);
	mca_pg_text(&p, valid ? "valid" : "invalid");
	mca_pg_text(&p, error);
	mca_pg_text(&p, account);
	return mca_pg_cmd(impl, sql_val_add, &p, NULL, err);
}

/* ---- tokens ---------------------------------------------------------------- */

#define TOKEN_COLUMNS                                                                              \
	"id, hash, profile, names, uses_left, uses_total, expires_at, created_at,"                 \
	" coalesce(revoked_at, 0), created_by"

static const char sql_tok_insert[] =
    "INSERT INTO tokens (id, hash, profile, names, uses_left, uses_total, expires_at,"
    " created_at, created_by) VALUES ($1, $2, $3, $4, $5::bigint, $5::bigint, $6, $7, $8)";
static const char sql_tok_get[] = "SELECT " TOKEN_COLUMNS " FROM tokens WHERE id = $1";
static const char sql_tok_list[] =
    "SELECT " TOKEN_COLUMNS " FROM tokens ORDER BY created_at DESC, id COLLATE \"C\"";
/* One statement: the row lock makes concurrent consumers (any instance) take turns. */
static const char sql_tok_consume[] =
    "UPDATE tokens SET uses_left = uses_left - 1 WHERE id = $1 AND uses_left > 0"
    " AND expires_at > $2::bigint AND revoked_at IS NULL";
static const char sql_tok_refund[] =
    "UPDATE tokens SET uses_left = uses_left + 1 WHERE id = $1 AND uses_left < uses_total";
static const char sql_tok_revoke[] =
    "UPDATE tokens SET revoked_at = $2::bigint WHERE id = $1 AND revoked_at IS NULL";
static const char sql_tok_purge[] = "DELETE FROM tokens WHERE expires_at < $1::bigint";

/* Fill a token row from row `i` of TOKEN_COLUMNS. */
static mca_rc
row_to_token(const PGresult *s, int i, struct mca_token_row *r, struct mca_error *err)
{
	unsigned char *h;
	size_t len = 0;

	memset(r, 0, sizeof(*r));
	r->id = mca_pg_str(s, i, 0);
	if ((h = mca_pg_bytes(s, i, 1, &len)) != NULL && len == sizeof(r->hash))
		memcpy(r->hash, h, sizeof(r->hash));
	free(h);
	r->profile = mca_pg_str(s, i, 2);
	r->names = mca_pg_str(s, i, 3);
	r->uses_left = mca_pg_i64(s, i, 4);
	r->uses_total = mca_pg_i64(s, i, 5);
	r->expires_at = mca_pg_i64(s, i, 6);
	r->created_at = mca_pg_i64(s, i, 7);
	r->revoked_at = mca_pg_i64(s, i, 8);
	r->created_by = mca_pg_str(s, i, 9);
	if (r->id == NULL || r->profile == NULL || r->names == NULL || r->created_by == NULL) {
		mca_token_row_clear(r);
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	}
	return MCA_OK;
}

mca_rc
mca_pg_token_insert(void *impl, const struct mca_token_row *r, struct mca_error *err)
{
	struct mca_pg_params p = {0};

	mca_pg_text(&p, r->id);
	mca_pg_blob(&p, r->hash, sizeof(r->hash));
	mca_pg_text(&p, r->profile);
	mca_pg_text(&p, r->names);
	mca_pg_int(&p, r->uses_total);
	mca_pg_int(&p, r->expires_at);
	mca_pg_int(&p, r->created_at);
	mca_pg_text(&p, r->created_by);
	return mca_pg_cmd(impl, sql_tok_insert, &p, NULL, err);
}

mca_rc
mca_pg_token_get(void *impl, const char *id, struct mca_token_row *out, struct mca_error *err)
{
	struct mca_pg_params p = {0};
	PGresult *s = NULL;
	mca_rc rc;

	memset(out, 0, sizeof(*out));
	mca_pg_text(&p, id);
	if ((rc = mca_pg_run(impl, sql_tok_get, &p, &s, err)) != MCA_OK)
		return rc;
	if (PQntuples(s) == 0)
		rc = mca_error_set(err, MCA_ERR_NOTFOUND, "no token %s", id);
	else
		rc = row_to_token(s, 0, out, err);
	PQclear(s);
	return rc;
}

mca_rc
mca_pg_token_consume(void *impl, const char *id, int64_t now, int *taken, struct mca_error *err)
{
	struct mca_pg_params p = {0};

	mca_pg_text(&p, id);
	mca_pg_int(&p, now);
	return mca_pg_cmd(impl, sql_tok_consume, &p, taken, err);
}

mca_rc
mca_pg_token_refund(void *impl, const char *id, struct mca_error *err)
{
	struct mca_pg_params p = {0};

	mca_pg_text(&p, id);
	return mca_pg_cmd(impl, sql_tok_refund, &p, NULL, err);
}

mca_rc
mca_pg_token_revoke(void *impl, const char *id, int64_t now, int *changed, struct mca_error *err)
{
	struct mca_pg_params p = {0};

	mca_pg_text(&p, id);
	mca_pg_int(&p, now);
	return mca_pg_cmd(impl, sql_tok_revoke, &p, changed, err);
}

mca_rc
mca_pg_token_list(void *impl, int (*cb)(void *arg, const struct mca_token_row *r), void *arg,
                  struct mca_error *err)
{
	struct mca_token_row r;
	PGresult *s = NULL;
	int i, n;
	mca_rc rc;

	if ((rc = mca_pg_run(impl, sql_tok_list, NULL, &s, err)) != MCA_OK)
		return rc;
	n = PQntuples(s);
	for (i = 0; i < n; i++) {
		if ((rc = row_to_token(s, i, &r, err)) != MCA_OK)
			break;
		if (cb(arg, &r) != 0)
			i = n;
		mca_token_row_clear(&r);
	}
	PQclear(s);
	return rc;
}

mca_rc
mca_pg_token_purge(void *impl, int64_t before, int *n, struct mca_error *err)
{
	struct mca_pg_params p = {0};

	mca_pg_int(&p, before);
	return mca_pg_cmd(impl, sql_tok_purge, &p, n, err);
}
