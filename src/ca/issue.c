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
#include "common/util.h"
#include "pki/certgen.h"
#include "pki/crl.h"
#include "pki/keys.h"
#include "policy/inspect.h"
#include "policy/names.h"
#include "policy/policy.h"

mca_rc (*mca_issue_test_hook)(X509 **cert, struct mca_signer *signer);

struct mca_issuer {
	struct mca_signer *signer;
	X509 *ca_cert;
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

	*out = NULL;
	if (X509_get0_subject_key_id(ca_cert) == NULL)
		return mca_error_set(err, MCA_ERR_CONFIG,
		                     "the issuing CA certificate has no subjectKeyIdentifier");
	is = calloc(1, sizeof(*is));
	if (is == NULL)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
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

/* The certificate the policy approved, built (unsigned). */
static mca_rc
build(struct mca_issuer *is, const struct mca_profile *p, const struct mca_csr *csr,
      const struct mca_policy_result *res, const unsigned char *serial, const char *crl_url,
      X509 **out, struct mca_error *err)
{
	struct mca_certgen g;
	GENERAL_NAMES *san = NULL;
	X509_NAME *subject = NULL;
	size_t i;
	int type;
	mca_rc rc;

	memset(&g, 0, sizeof(g));
	san = sk_GENERAL_NAME_new_null();
	subject = X509_NAME_new();
	if (san == NULL || subject == NULL) {
		rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < res->n_names; i++) {
		type = res->names[i].type == MCA_NAME_DNS   ? GEN_DNS
		       : res->names[i].type == MCA_NAME_IP  ? GEN_IPADD
		       : res->names[i].type == MCA_NAME_URI ? GEN_URI
		                                            : GEN_EMAIL;
		if ((rc = mca_san_add(san, type, res->names[i].value, err)) != MCA_OK)
			goto out;
	}
	if (res->cn != NULL &&
	    !X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
	                                (const unsigned char *)res->cn, -1, -1, 0)) {
		rc = mca_error_ssl(err, MCA_ERR_INTERNAL, "subject");
		goto out;
	}
	g.serial = serial;
	g.serial_len = MCA_SERIAL_LEN;
	g.subject = subject;
	g.pubkey = csr->pubkey;
	g.spki = csr->spki;
	g.issuer = is->ca_cert;
	g.not_before = res->not_before;
	g.not_after = res->not_after;
	g.key_usage = res->key_usage;
	g.ext_key_usage = res->ext_key_usage;
	g.san = san;
	g.san_critical = res->cn == NULL;
	g.ski = p->ski;
	g.crl_url = crl_url;
	g.ca_issuers_url = is->ca_issuers_url;
	g.ocsp_url = is->ocsp_url;
	for (i = 0; i < MCA_CERTGEN_MAX_POLICIES && p->policies[i] != NULL; i++)
		g.policies[i] = p->policies[i];
	rc = mca_certgen_build(&g, out, err);
out:
	GENERAL_NAMES_free(san);
	X509_NAME_free(subject);
	return rc;
}

struct record_direct_arg {
	const struct mca_issue_req *req;
	X509 *cert;
	const char *profile, *serial;
};

/* The certificate and req->on_record, in record_direct's transaction. */
static mca_rc
record_direct_txn(struct mca_store *st, void *arg, struct mca_error *err)
{
	const struct record_direct_arg *a = arg;
	const char *action = a->req->action ? a->req->action : "issue";
	mca_rc rc;

	if ((rc = mca_record_cert(st, a->cert, a->profile, a->req->requester, a->req->actor, action,
	                          err)) != MCA_OK)
		return rc;
	return a->req->on_record->fn(a->req->on_record->arg, st, a->serial, err);
}

/* Record `cert` on `st` itself, with req->on_record in the same transaction. */
static mca_rc
record_direct(struct mca_store *st, const struct mca_issue_req *req, X509 *cert,
              const char *profile, const char *serial, struct mca_error *err)
{
	const char *action = req->action ? req->action : "issue";
	struct record_direct_arg a = {req, cert, profile, serial};

	if (req->on_record == NULL)
		return mca_record_cert(st, cert, profile, req->requester, req->actor, action, err);
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
 * The built certificate becomes the signed one: the signature algorithm and
 * value of `der` set on `tbs`, which must then encode to `der` exactly.  So
 * what the second look inspected is, byte for byte, what is recorded and
 * returned, without decoding it once more (OpenSSL 3.0 decodes the key of
 * every certificate it parses, at several times the cost of the rest).
 */
static mca_rc
adopt_signature(X509 *tbs, const unsigned char *der, size_t der_len, struct mca_error *err)
{
	const unsigned char *p = der, *end = der + der_len;
	const ASN1_BIT_STRING *psig = NULL;
	const X509_ALGOR *palg = NULL;
	ASN1_BIT_STRING *bits = NULL, *sig;
	X509_ALGOR *alg = NULL;
	unsigned char *enc = NULL;
	int tag = 0, xclass = 0, r, enc_len;
	long len = 0;
	mca_rc rc = MCA_OK;

	r = ASN1_get_object(&p, &len, &tag, &xclass, (long)der_len);
	if (!(r & 0x80) && tag == V_ASN1_SEQUENCE) {
		/* over the TBSCertificate, to the signature algorithm and value */
		r = ASN1_get_object(&p, &len, &tag, &xclass, (long)(end - p));
		if (!(r & 0x80) && len <= end - p) {
			p += len;
			alg = d2i_X509_ALGOR(NULL, &p, (long)(end - p));
			bits = alg != NULL ? d2i_ASN1_BIT_STRING(NULL, &p, (long)(end - p)) : NULL;
		}
	}
	X509_get0_signature(&psig, &palg, tbs);
	/* OpenSSL exposes both only as const; they are the certificate's own fields. */
	sig = (ASN1_BIT_STRING *)(uintptr_t)psig;
	if (alg == NULL || bits == NULL || p != end || sig == NULL || palg == NULL ||
	    !X509_ALGOR_copy((X509_ALGOR *)(uintptr_t)palg, alg) ||
	    !ASN1_STRING_set(sig, bits->data, bits->length)) {
		rc = mca_error_ssl(err, MCA_ERR_INTERNAL,
		                   "second look: the signed certificate's "
		                   "signature cannot be read");
		goto out;
	}
	sig->flags = bits->flags;
	enc_len = i2d_X509(tbs, &enc);
	if (enc_len <= 0 || (size_t)enc_len != der_len || memcmp(enc, der, der_len) != 0)
		rc = mca_error_set(err, MCA_ERR_INTERNAL,
		                   "second look: the signed certificate is not the one built");
out:
	OPENSSL_free(enc);
	X509_ALGOR_free(alg);
	ASN1_BIT_STRING_free(bits);
	ERR_clear_error();
	return rc;
}

mca_rc
mca_issue_sign(struct mca_issuer *is, const struct mca_decision *d, X509 **out,
               struct mca_error *err)
{
	struct mca_inspect_expect ex;
	unsigned char serial[MCA_SERIAL_LEN];
	char cdp[1100];
	const char *crl_url;
	unsigned char *der = NULL;
	size_t der_len = 0;
	X509 *tbs = NULL;
	mca_rc rc;

	*out = NULL;
	if ((rc = mca_serial_generate(serial, err)) != MCA_OK)
		goto out;
	crl_url = cdp_of(is, serial, cdp, sizeof(cdp));
	if ((rc = build(is, d->profile, d->csr, &d->res, serial, crl_url, &tbs, err)) != MCA_OK ||
	    (rc = mca_signer_sign_cert_der(is->signer, tbs, &der, &der_len, err)) != MCA_OK)
		goto out;
	if (mca_issue_test_hook != NULL &&
	    (rc = run_test_hook(is->signer, &der, &der_len, err)) != MCA_OK)
		goto out;
	memset(&ex, 0, sizeof(ex));
	ex.profile = d->profile;
	ex.approved = &d->res;
	ex.serial = serial;
	ex.serial_len = sizeof(serial);
	ex.pubkey = d->csr->pubkey;
	ex.spki = d->csr->spki;
	ex.ca_cert = is->ca_cert;
	ex.crl_url = crl_url;
	ex.ca_issuers_url = is->ca_issuers_url;
	ex.ocsp_url = is->ocsp_url;
	if ((rc = mca_inspect(der, der_len, &ex, err)) != MCA_OK ||
	    (rc = adopt_signature(tbs, der, der_len, err)) != MCA_OK)
		goto out;
	*out = tbs;
	tbs = NULL;
out:
	free(der);
	X509_free(tbs);
	return rc;
}

mca_rc
mca_issue_record(struct mca_store *st, const struct mca_issue_req *req,
                 const struct mca_decision *d, X509 **cert, struct mca_issued *out,
                 struct mca_error *err)
{
	const char *action = req->action ? req->action : "issue";
	mca_rc rc;

	memset(out, 0, sizeof(*out));
	if ((rc = mca_serial_from_asn1(X509_get0_serialNumber(*cert), out->serial, err)) !=
	        MCA_OK ||
	    (rc = req->committer != NULL
	              ? mca_committer_record_with(req->committer, *cert, d->profile->name,
	                                          req->requester, req->actor, action,
	                                          req->on_record, err)
	              : record_direct(st, req, *cert, d->profile->name, out->serial, err)) !=
	        MCA_OK) {
		out->serial[0] = '\0';
		return rc;
	}
	out->cert = *cert;
	*cert = NULL;
	out->not_before = d->res.not_before;
	out->not_after = d->res.not_after;
	return MCA_OK;
}

mca_rc
mca_issue_record_submit(const struct mca_issue_req *req, const struct mca_decision *d, X509 **cert,
                        struct mca_issued *out, mca_committer_done_fn done, void *arg,
                        struct mca_error *err)
{
	const char *action = req->action ? req->action : "issue";
	mca_rc rc;

	memset(out, 0, sizeof(*out));
	if (req->committer == NULL)
		return mca_error_set(err, MCA_ERR_INTERNAL, "no group committer");
	if ((rc = mca_serial_from_asn1(X509_get0_serialNumber(*cert), out->serial, err)) !=
	        MCA_OK ||
	    (rc = mca_committer_submit(req->committer, *cert, d->profile->name, req->requester,
	                               req->actor, action, req->on_record, done, arg, err)) !=
	        MCA_OK) {
		out->serial[0] = '\0';
		return rc;
	}
	out->cert = *cert;
	*cert = NULL;
	out->not_before = d->res.not_before;
	out->not_after = d->res.not_after;
	return MCA_OK;
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
	X509 *cert = NULL;
	mca_rc rc;

	memset(out, 0, sizeof(*out));
	if ((rc = mca_issue_decide(is, st, req, &d, err)) != MCA_OK)
		return rc;
	if ((rc = mca_issue_sign(is, &d, &cert, err)) == MCA_OK)
		rc = mca_issue_record(st, req, &d, &cert, out, err);
	X509_free(cert);
	mca_decision_clear(&d);
	return rc;
}

void
mca_issued_clear(struct mca_issued *iss)
{
	X509_free(iss->cert);
	memset(iss, 0, sizeof(*iss));
}
