/* issue.c - the issuance engine. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "ca/issue.h"
#include "ca/record.h"
#include "common/der.h"
#include "common/util.h"
#include "pki/certgen.h"
#include "pki/crl.h"
#include "pki/keys.h"
#include "pki/leafgen.h"
#include "policy/inspect.h"
#include "policy/names.h"
#include "policy/policy.h"

mca_rc (*mca_issue_test_hook)(X509 **cert, struct mca_signer *signer);

struct mca_issuer {
	struct mca_signer *signer;
	X509 *ca_cert;
	struct mca_leaf_issuer leaf; /* the CA's name and key id, encoded once */
	int64_t ca_not_after;
	const struct mca_profiles *profiles;
	const char *crl_url;
	const char *ca_issuers_url;
	unsigned crl_shards; /* partitioned CRLs: the CDP is crl_shard_url + serial mod this */
	const char *crl_shard_url;
	const char *ocsp_url; /* NULL: no OCSP responder */
};

void
mca_issuer_set_crl_shards(struct mca_issuer *is, unsigned shards, const char *shard_url)
{
	is->crl_shards = shard_url != NULL ? shards : 0;
	is->crl_shard_url = shard_url;
}

/* The CDP of the certificate with `serial`: its shard's CRL, or the complete one. */
static const char *
cdp_of(const struct mca_issuer *is, const unsigned char *serial, char *buf, size_t len)
{
	if (is->crl_shards == 0)
		return is->crl_url;
	snprintf(buf, len, "%s%u", is->crl_shard_url,
	         mca_crl_shard_of(serial, MCA_SERIAL_LEN, is->crl_shards));
	return buf;
}

mca_rc
mca_issuer_new(struct mca_signer *ca_signer, X509 *ca_cert, const struct mca_profiles *profiles,
               const char *crl_url, const char *ca_issuers_url, struct mca_issuer **out,
               struct mca_error *err)
{
	struct mca_issuer *is;
	mca_rc rc;

	*out = NULL;
	is = calloc(1, sizeof(*is));
	if (is == NULL)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	if ((rc = mca_leaf_issuer_init(&is->leaf, ca_cert, err)) != MCA_OK) {
		free(is);
		return rc;
	}
	is->signer = ca_signer;
	is->ca_cert = ca_cert;
	is->ca_not_after = mca_asn1_time_unix(X509_get0_notAfter(ca_cert));
	is->profiles = profiles;
	is->crl_url = crl_url;
	is->ca_issuers_url = ca_issuers_url;
	*out = is;
	return MCA_OK;
}

void
mca_issuer_set_ocsp_url(struct mca_issuer *is, const char *ocsp_url)
{
	is->ocsp_url = ocsp_url;
}

void
mca_issuer_free(struct mca_issuer *is)
{
	if (is == NULL)
		return;
	mca_leaf_issuer_clear(&is->leaf);
	free(is);
}

/*
 * Whether the approved name is covered by one of the typed `allowed` names
 * (names.h): same SAN type and value; DNS patterns only with `patterns`.
 */
static int
name_allowed(const struct mca_name *n, const char *const *allowed, int patterns)
{
	size_t i;

	for (i = 0; allowed != NULL && allowed[i] != NULL; i++)
		if (mca_typed_name_match(allowed[i], n, patterns))
			return 1;
	return 0;
}

/* Whether one of the approved names is the typed name `typed`. */
static int
approved_has(const struct mca_policy_result *res, const char *typed)
{
	size_t i;

	for (i = 0; i < res->n_names; i++)
		if (mca_typed_name_match(typed, &res->names[i], 0))
			return 1;
	return 0;
}

/* Token names bound the request; a renewal keeps exactly the names it had. */
static mca_rc
check_authorization(const struct mca_issuer *is, struct mca_store *st,
                    const struct mca_issue_req *req, const struct mca_profile *p,
                    const struct mca_policy_result *res, struct mca_error *err)
{
	static const char *const http01[] = {"http-01", "dns-01", NULL};
	static const char *const dns01[] = {"dns-01", NULL};
	size_t i, j = 0, n_allowed = 0;
	int found = 0;
	mca_rc rc;

	switch (req->auth) {
	case MCA_ISSUE_TOKEN:
		if (!(p->authorization & MCA_AUTH_TOKEN))
			return mca_error_rule(err, MCA_ERR_POLICY, "auth.method",
			                      "profile '%s' does not issue against tokens",
			                      p->name);
		for (i = 0; i < res->n_names; i++)
			if (!name_allowed(&res->names[i], req->allowed_names, 1))
				return mca_error_rule(
				    err, MCA_ERR_POLICY, "auth.name_not_allowed",
				    "%s '%s' is not among the names the token allows",
				    mca_name_type_str(res->names[i].type), res->names[i].value);
		return MCA_OK;
	case MCA_ISSUE_RENEWAL:
		if (!(p->authorization & MCA_AUTH_RENEWAL))
			return mca_error_rule(err, MCA_ERR_POLICY, "auth.method",
			                      "profile '%s' does not allow renewal", p->name);
		while (req->allowed_names != NULL && req->allowed_names[n_allowed] != NULL)
			n_allowed++;
		/* The same set of typed names: literal values, not patterns. */
		for (i = 0; i < res->n_names; i++)
			if (!name_allowed(&res->names[i], req->allowed_names, 0))
				break;
		for (j = 0; i == res->n_names && j < n_allowed; j++)
			if (!approved_has(res, req->allowed_names[j]))
				break;
		if (i < res->n_names || j < n_allowed)
			return mca_error_rule(err, MCA_ERR_POLICY, "auth.names_changed",
			                      "a renewal must keep exactly the names of the "
			                      "certificate it renews");
		return MCA_OK;
	case MCA_ISSUE_ACME:
		return MCA_OK;
	case MCA_ISSUE_ADMIN:
		break;
	}
	/* An admin is authorized, but domain validation is proof, not permission. */
	if (!(p->authorization & (MCA_AUTH_TOKEN | MCA_AUTH_RENEWAL)) &&
	    (p->authorization & MCA_AUTH_ACME)) {
		for (i = 0; i < res->n_names; i++) {
			rc = mca_store_validation_current(
			    st, res->names[i].value,
			    strncmp(res->names[i].value, "*.", 2) == 0 ? dns01 : http01,
			    (int64_t)mca_now() - p->validation_reuse, NULL, &found, NULL, err);
			if (rc != MCA_OK)
				return rc;
			if (!found)
				return mca_error_rule(err, MCA_ERR_POLICY, "auth.validation",
				                      "'%s' has no valid domain validation in the "
				                      "last %lld days",
				                      res->names[i].value,
				                      (long long)(p->validation_reuse / 86400));
		}
	}
	(void)is;
	return MCA_OK;
}

/* The TBSCertificate the policy approved, encoded to be signed by the issuer's key. */
static mca_rc
build_tbs(struct mca_issuer *is, const struct mca_profile *p, const struct mca_csr *csr,
          const struct mca_policy_result *res, const unsigned char *serial, const char *crl_url,
          unsigned char **tbs, size_t *tbs_len, struct mca_error *err)
{
	struct mca_leafgen g;
	size_t i;

	memset(&g, 0, sizeof(g));
	g.serial = serial;
	g.serial_len = MCA_SERIAL_LEN;
	g.alg = mca_signer_algor_der(is->signer, &g.alg_len);
	g.issuer = &is->leaf;
	g.cn = res->cn;
	g.spki = csr->spki;
	g.not_before = res->not_before;
	g.not_after = res->not_after;
	g.key_usage = res->key_usage;
	g.ext_key_usage = res->ext_key_usage;
	g.names = res->names;
	g.n_names = res->n_names;
	g.ski = p->ski;
	g.crl_url = crl_url;
	g.ca_issuers_url = is->ca_issuers_url;
	g.ocsp_url = is->ocsp_url;
	for (i = 0; i < MCA_CERTGEN_MAX_POLICIES && p->policies[i] != NULL; i++)
		g.policies[i] = p->policies[i];
	return mca_leafgen_tbs(&g, tbs, tbs_len, err);
}

/* The row of `iss`, signed for `d`. */
static mca_rc
leaf_rec(const struct mca_issue_req *req, const struct mca_decision *d,
         const struct mca_issued *iss, struct mca_cert_rec *rec, struct mca_error *err)
{
	struct mca_leaf_row l;

	memset(&l, 0, sizeof(l));
	l.der = iss->der;
	l.der_len = iss->der_len;
	l.serial = iss->serial;
	l.issuer = iss->issuer;
	l.cn = d->res.cn;
	l.names = d->res.names;
	l.n_names = d->res.n_names;
	l.not_before = iss->not_before;
	l.not_after = iss->not_after;
	l.crl_shard = iss->crl_shard;
	return mca_record_from_leaf(&l, d->profile->name, req->requester, rec, err);
}

struct record_direct_arg {
	const struct mca_issue_req *req;
	const struct mca_cert_rec *rec;
};

/* The certificate and req->on_record, in record_direct's transaction. */
static mca_rc
record_direct_txn(struct mca_store *st, void *arg, struct mca_error *err)
{
	const struct record_direct_arg *a = arg;
	const char *action = a->req->action ? a->req->action : "issue";
	mca_rc rc;

	if ((rc = mca_store_cert_insert(st, a->rec, a->req->actor, action, err)) != MCA_OK)
		return rc;
	return a->req->on_record->fn(a->req->on_record->arg, st, a->rec->serial, err);
}

/* Record `rec` on `st` itself, with req->on_record in the same transaction. */
static mca_rc
record_direct(struct mca_store *st, const struct mca_issue_req *req, const struct mca_cert_rec *rec,
              struct mca_error *err)
{
	const char *action = req->action ? req->action : "issue";
	struct record_direct_arg a = {req, rec};

	if (req->on_record == NULL)
		return mca_store_cert_insert(st, rec, req->actor, action, err);
	return mca_store_txn(st, record_direct_txn, &a, err);
}

mca_rc
mca_issue_decide(struct mca_issuer *is, struct mca_store *st, const struct mca_issue_req *req,
                 struct mca_decision *d, struct mca_error *err)
{
	struct mca_policy_ctx ctx;
	mca_rc rc;

	memset(d, 0, sizeof(*d));
	d->profile = mca_profiles_find(is->profiles, req->profile);
	if (d->profile == NULL)
		return mca_error_rule(err, MCA_ERR_NOTFOUND, "profile.unknown",
		                      "no profile named '%.64s'", req->profile);
	d->csr = req->csr;
	ctx.profile = d->profile;
	ctx.now = (int64_t)mca_now();
	ctx.ca_not_after = is->ca_not_after;
	if ((rc = mca_policy_check(&ctx, req->csr, req->validity, &d->res, err)) != MCA_OK ||
	    (rc = check_authorization(is, st, req, d->profile, &d->res, err)) != MCA_OK)
		mca_decision_clear(d);
	return rc;
}

/* The test hook on the signed DER (issue.h): decoded for it, encoded again after. */
static mca_rc
run_test_hook(struct mca_signer *signer, unsigned char **der, size_t *der_len,
              struct mca_error *err)
{
	const unsigned char *p = *der;
	X509 *cert = d2i_X509(NULL, &p, (long)*der_len);
	mca_rc rc;

	if (cert == NULL)
		return mca_error_ssl(err, MCA_ERR_INTERNAL, "re-reading signed certificate");
	if ((rc = mca_issue_test_hook(&cert, signer)) == MCA_OK) {
		free(*der);
		*der = NULL;
		rc = mca_cert_to_der(cert, der, der_len, err);
	}
	X509_free(cert);
	return rc;
}

/*
 * Whether the signed certificate `der` carries exactly `tbs`: the signer
 * (or the test hook) handed back the certificate that was built, so that
 * what the second look inspected is that one, byte for byte.
 */
static int
carries_tbs(const unsigned char *der, size_t der_len, const unsigned char *tbs, size_t tbs_len)
{
	const unsigned char *p = der, *end = der + der_len, *val, *in;
	const unsigned char *tbs_start;
	unsigned tag;
	size_t len;

	if (!mca_der_next(&p, end, &tag, &val, &len) || tag != MCA_DER_SEQUENCE || p != end)
		return 0;
	in = val;
	tbs_start = in;
	if (!mca_der_next(&in, val + len, &tag, &val, &len))
		return 0;
	return (size_t)(in - tbs_start) == tbs_len && memcmp(tbs_start, tbs, tbs_len) == 0;
}

struct mca_signer *
mca_issuer_signer(const struct mca_issuer *is)
{
	return is->signer;
}

mca_rc
mca_issue_prepare(struct mca_issuer *is, const struct mca_decision *d, struct mca_issue_tbs *t,
                  struct mca_error *err)
{
	char cdp[MCA_ISSUE_CDP_MAX];
	mca_rc rc;

	memset(t, 0, sizeof(*t));
	if ((rc = mca_serial_generate(t->serial, err)) != MCA_OK)
		return rc;
	if ((rc = build_tbs(is, d->profile, d->csr, &d->res, t->serial,
	                    cdp_of(is, t->serial, cdp, sizeof(cdp)), &t->tbs, &t->tbs_len, err)) !=
	    MCA_OK)
		mca_issue_tbs_clear(t);
	return rc;
}

void
mca_issue_tbs_clear(struct mca_issue_tbs *t)
{
	free(t->tbs);
	memset(t, 0, sizeof(*t));
}

mca_rc
mca_issue_finish(struct mca_issuer *is, const struct mca_decision *d, const struct mca_issue_tbs *t,
                 const unsigned char *sig, size_t sig_len, struct mca_issued *out,
                 struct mca_error *err)
{
	struct mca_inspect_expect ex;
	char cdp[MCA_ISSUE_CDP_MAX];
	const char *crl_url;
	unsigned char *der = NULL;
	size_t der_len = 0;
	mca_rc rc;

	memset(out, 0, sizeof(*out));
	/* The same CDP prepare encoded: it follows from the serial. */
	crl_url = cdp_of(is, t->serial, cdp, sizeof(cdp));
	if ((rc = mca_signer_assemble(is->signer, t->tbs, t->tbs_len, sig, sig_len, &der, &der_len,
	                              err)) != MCA_OK)
		goto out;
	if (mca_issue_test_hook != NULL &&
	    (rc = run_test_hook(is->signer, &der, &der_len, err)) != MCA_OK)
		goto out;
	memset(&ex, 0, sizeof(ex));
	ex.profile = d->profile;
	ex.approved = &d->res;
	ex.serial = t->serial;
	ex.serial_len = sizeof(t->serial);
	ex.pubkey = d->csr->pubkey;
	ex.spki = d->csr->spki;
	ex.ca_cert = is->ca_cert;
	ex.crl_url = crl_url;
	ex.ca_issuers_url = is->ca_issuers_url;
	ex.ocsp_url = is->ocsp_url;
	if ((rc = mca_inspect(der, der_len, &ex, err)) != MCA_OK)
		goto out;
	if (!carries_tbs(der, der_len, t->tbs, t->tbs_len)) {
		rc = mca_error_set(err, MCA_ERR_INTERNAL,
		                   "second look: the signed certificate is not the one built");
		goto out;
	}
	/* The serial as mca_serial_from_asn1 spells it: no leading zero octet (serial.c). */
	mca_hex(t->serial, sizeof(t->serial), out->serial);
	out->der = der;
	out->der_len = der_len;
	der = NULL;
	out->not_before = d->res.not_before;
	out->not_after = d->res.not_after;
	out->crl_shard = crl_url != NULL ? mca_crl_shard_from_url(crl_url, strlen(crl_url)) : -1;
	out->issuer = is->leaf.name_text;
out:
	free(der);
	return rc;
}

mca_rc
mca_issue_sign(struct mca_issuer *is, const struct mca_decision *d, struct mca_issued *out,
               struct mca_error *err)
{
	struct mca_issue_tbs t;
	unsigned char *sig = NULL;
	size_t sig_len = 0;
	mca_rc rc;

	memset(out, 0, sizeof(*out));
	if ((rc = mca_issue_prepare(is, d, &t, err)) != MCA_OK)
		return rc;
	if ((rc = mca_signer_sign(is->signer, MCA_SIGN_CERT, t.tbs, t.tbs_len, &sig, &sig_len,
	                          err)) == MCA_OK)
		rc = mca_issue_finish(is, d, &t, sig, sig_len, out, err);
	free(sig);
	mca_issue_tbs_clear(&t);
	return rc;
}

mca_rc
mca_issue_record(struct mca_store *st, const struct mca_issue_req *req,
                 const struct mca_decision *d, const struct mca_issued *iss, struct mca_error *err)
{
	struct mca_cert_rec rec;
	mca_rc rc;

	if ((rc = leaf_rec(req, d, iss, &rec, err)) != MCA_OK)
		return rc;
	rc = req->committer != NULL ? mca_committer_record_with(req->committer, &rec, req->actor,
	                                                        req->action ? req->action : "issue",
	                                                        req->on_record, err)
	                            : record_direct(st, req, &rec, err);
	mca_cert_rec_clear(&rec);
	return rc;
}

mca_rc
mca_issue_record_submit(const struct mca_issue_req *req, const struct mca_decision *d,
                        const struct mca_issued *iss, mca_committer_done_fn done, void *arg,
                        struct mca_error *err)
{
	struct mca_cert_rec rec;
	mca_rc rc;

	if (req->committer == NULL)
		return mca_error_set(err, MCA_ERR_INTERNAL, "no group committer");
	if ((rc = leaf_rec(req, d, iss, &rec, err)) != MCA_OK)
		return rc;
	rc = mca_committer_submit(req->committer, &rec, req->actor,
	                          req->action ? req->action : "issue", req->on_record, done, arg,
	                          err);
	mca_cert_rec_clear(&rec);
	return rc;
}

void
mca_decision_clear(struct mca_decision *d)
{
	mca_policy_result_clear(&d->res);
	memset(d, 0, sizeof(*d));
}

mca_rc
mca_issue(struct mca_issuer *is, struct mca_store *st, const struct mca_issue_req *req,
          struct mca_issued *out, struct mca_error *err)
{
	struct mca_decision d;
	mca_rc rc;

	memset(out, 0, sizeof(*out));
	if ((rc = mca_issue_decide(is, st, req, &d, err)) != MCA_OK)
		return rc;
	if ((rc = mca_issue_sign(is, &d, out, err)) == MCA_OK &&
	    (rc = mca_issue_record(st, req, &d, out, err)) != MCA_OK)
		mca_issued_clear(out); /* not recorded: never handed out */
	mca_decision_clear(&d);
	return rc;
}

void
mca_issued_clear(struct mca_issued *iss)
{
	free(iss->der);
	memset(iss, 0, sizeof(*iss));
}

X509 *
mca_issued_x509(const struct mca_issued *iss)
{
	const unsigned char *p = iss->der;
	X509 *x;

	if (iss->der == NULL)
		return NULL;
	x = d2i_X509(NULL, &p, (long)iss->der_len);
	if (x != NULL && p != iss->der + iss->der_len) {
		X509_free(x);
		x = NULL;
	}
	ERR_clear_error();
	return x;
}
