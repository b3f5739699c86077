/* certgen.c - X.509 v3 construction with explicitly chosen extensions. */
#include "config.h"

#include <string.h>

#include <openssl/err.h>

#include "pki/certgen.h"
#include "pki/serial.h"

/* Add a DER-able extension object; consumes nothing. */
static int
add_ext(X509 *x, int nid, void *value, int critical)
{
	return X509_add1_ext_i2d(x, nid, value, critical, X509V3_ADD_REPLACE) == 1;
}

static int
add_basic_constraints(X509 *x, const struct mca_certgen *g)
{
	BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
	int ok = 0;

	if (bc == NULL)
		return 0;
	bc->ca = g->ca ? 0xff : 0;
	if (g->ca && g->pathlen >= 0) {
		bc->pathlen = ASN1_INTEGER_new();
		if (bc->pathlen == NULL || !ASN1_INTEGER_set(bc->pathlen, g->pathlen))
			goto out;
	}
	ok = add_ext(x, NID_basic_constraints, bc, 1);
out:
	BASIC_CONSTRAINTS_free(bc);
	return ok;
}

static int
add_key_usage(X509 *x, unsigned ku)
{
	ASN1_BIT_STRING *bs = ASN1_BIT_STRING_new();
	int bit, ok = 0;

	if (bs == NULL)
		return 0;
	for (bit = 0; bit < 9; bit++)
		if ((ku & (1u << bit)) && !ASN1_BIT_STRING_set_bit(bs, bit, 1))
			goto out;
	ok = add_ext(x, NID_key_usage, bs, 1);
out:
	ASN1_BIT_STRING_free(bs);
	return ok;
}

static int
add_eku(X509 *x, unsigned eku)
{
	EXTENDED_KEY_USAGE *sk = sk_ASN1_OBJECT_new_null();
	int ok = 0;

	if (sk == NULL)
		return 0;
	if ((eku & MCA_EKU_SERVER_AUTH) && !sk_ASN1_OBJECT_push(sk, OBJ_nid2obj(NID_server_auth)))
		goto out;
	if ((eku & MCA_EKU_CLIENT_AUTH) && !sk_ASN1_OBJECT_push(sk, OBJ_nid2obj(NID_client_auth)))
		goto out;
	if ((eku & MCA_EKU_OCSP_SIGNING) && !sk_ASN1_OBJECT_push(sk, OBJ_nid2obj(NID_OCSP_sign)))
		goto out;
	ok = add_ext(x, NID_ext_key_usage, sk, 0);
out:
	/* Objects from OBJ_nid2obj are static: free only the stack. */
	sk_ASN1_OBJECT_free(sk);
	return ok;
}

/* SKI as the SHA-1 of the subjectPublicKey BIT STRING (RFC 5280 4.2.1.2 (1)). */
static int
add_ski(X509 *x)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	ASN1_OCTET_STRING *os = NULL;
	int ok = 0;

	if (!X509_pubkey_digest(x, EVP_sha1(), md, &n))
		return 0;
	os = ASN1_OCTET_STRING_new();
	if (os != NULL && ASN1_OCTET_STRING_set(os, md, (int)n))
		ok = add_ext(x, NID_subject_key_identifier, os, 0);
	ASN1_OCTET_STRING_free(os);
	return ok;
}

/* AKI keyIdentifier = the issuer's SKI (our own for a self-signed root). */
static int
add_aki(X509 *x, X509 *issuer)
{
	const ASN1_OCTET_STRING *ski;
	AUTHORITY_KEYID *akid = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	int ok = 0;

	akid = AUTHORITY_KEYID_new();
	if (akid == NULL || (akid->keyid = ASN1_OCTET_STRING_new()) == NULL)
		goto out;
	if (issuer != NULL) {
		ski = X509_get0_subject_key_id(issuer);
		if (ski == NULL || !ASN1_STRING_copy(akid->keyid, ski))
			goto out;
	} else if (!X509_pubkey_digest(x, EVP_sha1(), md, &n) ||
	           !ASN1_OCTET_STRING_set(akid->keyid, md, (int)n)) {
		goto out;
	}
	ok = add_ext(x, NID_authority_key_identifier, akid, 0);
out:
	AUTHORITY_KEYID_free(akid);
	return ok;
}

static GENERAL_NAME *
uri_name(const char *uri)
{
	return a2i_GENERAL_NAME(NULL, NULL, NULL, GEN_URI, uri, 0);
}

static int
add_cdp(X509 *x, const char *url)
{
	CRL_DIST_POINTS *cdp = sk_DIST_POINT_new_null();
	DIST_POINT *dp = DIST_POINT_new();
	GENERAL_NAME *gn = uri_name(url);
	int ok = 0;

	if (cdp == NULL || dp == NULL || gn == NULL)
		goto out;
	dp->distpoint = DIST_POINT_NAME_new();
	if (dp->distpoint == NULL)
		goto out;
	dp->distpoint->type = 0;
	dp->distpoint->name.fullname = sk_GENERAL_NAME_new_null();
	if (dp->distpoint->name.fullname == NULL ||
	    !sk_GENERAL_NAME_push(dp->distpoint->name.fullname, gn))
		goto out;
	gn = NULL;
	if (!sk_DIST_POINT_push(cdp, dp))
		goto out;
	dp = NULL;
	ok = add_ext(x, NID_crl_distribution_points, cdp, 0);
out:
	GENERAL_NAME_free(gn);
	DIST_POINT_free(dp);
	sk_DIST_POINT_pop_free(cdp, DIST_POINT_free);
	return ok;
}

/* AIA: the OCSP responder first (when there is one), then caIssuers (when there is one). */
static int
add_aia(X509 *x, const char *ocsp_url, const char *url)
{
	AUTHORITY_INFO_ACCESS *aia = sk_ACCESS_DESCRIPTION_new_null();
	ACCESS_DESCRIPTION *ad = NULL;
	const char *urls[2] = {ocsp_url, url};
	const int methods[2] = {NID_ad_OCSP, NID_ad_ca_issuers};
	int ok = 0, i;

	if (aia == NULL)
		goto out;
	for (i = 0; i < 2; i++) {
		if (urls[i] == NULL)
			continue;
		ad = ACCESS_DESCRIPTION_new();
		if (ad == NULL)
			goto out;
		ASN1_OBJECT_free(ad->method);
		ad->method = OBJ_nid2obj(methods[i]);
		GENERAL_NAME_free(ad->location);
		ad->location = uri_name(urls[i]);
		if (ad->location == NULL || !sk_ACCESS_DESCRIPTION_push(aia, ad))
			goto out;
		ad = NULL;
	}
	ok = add_ext(x, NID_info_access, aia, 0);
out:
	ACCESS_DESCRIPTION_free(ad);
	sk_ACCESS_DESCRIPTION_pop_free(aia, ACCESS_DESCRIPTION_free);
	return ok;
}

static int
add_nocheck(X509 *x)
{
	ASN1_NULL *null = ASN1_NULL_new();
	int ok = null != NULL && add_ext(x, NID_id_pkix_OCSP_noCheck, null, 0);

	ASN1_NULL_free(null);
	return ok;
}

static int
add_policies(X509 *x, const char *const *oids)
{
	CERTIFICATEPOLICIES *pols = sk_POLICYINFO_new_null();
	POLICYINFO *pi = NULL;
	size_t i;
	int ok = 0;

	if (pols == NULL)
		return 0;
	for (i = 0; i < MCA_CERTGEN_MAX_POLICIES && oids[i] != NULL; i++) {
		pi = POLICYINFO_new();
		if (pi == NULL)
			goto out;
		ASN1_OBJECT_free(pi->policyid);
		pi->policyid = OBJ_txt2obj(oids[i], 1);
		if (pi->policyid == NULL || !sk_POLICYINFO_push(pols, pi))
			goto out;
		pi = NULL;
	}
	ok = add_ext(x, NID_certificate_policies, pols, 0);
out:
	POLICYINFO_free(pi);
	sk_POLICYINFO_pop_free(pols, POLICYINFO_free);
	return ok;
}

static int
set_time(X509 *x, int which, int64_t t)
{
	ASN1_TIME *at = ASN1_TIME_set(NULL, (time_t)t); /* UTCTime through 2049 */
	int ok;

	if (at == NULL)
		return 0;
	ok = which == 0 ? X509_set1_notBefore(x, at) : X509_set1_notAfter(x, at);
	ASN1_TIME_free(at);
	return ok;
}

/* A copy of an ASN1_TYPE value of type `ptype` (AlgorithmIdentifier parameters). */
static int
dup_param(int ptype, const void *pval, void **out)
{
	*out = NULL;
	switch (ptype) {
	case V_ASN1_UNDEF:
	case V_ASN1_NULL:
		return 1;
	case V_ASN1_OBJECT:
		*out = OBJ_dup(pval);
		break;
	default: /* SEQUENCE, OCTET STRING ...: an ASN1_STRING holding the encoding */
		*out = ASN1_STRING_dup(pval);
		break;
	}
	return *out != NULL;
}

/* The certificate's SubjectPublicKeyInfo set to a copy of `src`'s fields. */
static int
copy_spki(X509 *x, const X509_PUBKEY *src)
{
	ASN1_OBJECT *alg = NULL, *obj = NULL;
	const ASN1_OBJECT *aobj = NULL;
	const unsigned char *key = NULL;
	unsigned char *key_copy = NULL;
	X509_ALGOR *algor = NULL;
	const void *pval = NULL;
	void *param = NULL;
	int key_len = 0, ptype = V_ASN1_UNDEF;

	if (!X509_PUBKEY_get0_param(&alg, &key, &key_len, &algor, src) || key_len <= 0)
		return 0;
	X509_ALGOR_get0(&aobj, &ptype, &pval, algor);
	obj = OBJ_dup(aobj);
	key_copy = OPENSSL_memdup(key, (size_t)key_len);
	if (obj == NULL || key_copy == NULL || !dup_param(ptype, pval, &param))
		goto fail;
	if (X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(x), obj, ptype, param, key_copy, key_len))
		return 1;
fail:
	ASN1_OBJECT_free(obj);
	OPENSSL_free(key_copy);
	if (ptype == V_ASN1_OBJECT)
		ASN1_OBJECT_free(param);
	else
		ASN1_STRING_free(param);
	return 0;
}

mca_rc
mca_certgen_build(const struct mca_certgen *g, X509 **out, struct mca_error *err)
{
	X509 *x = NULL;
	ASN1_INTEGER *serial = NULL;
	mca_rc rc = MCA_ERR_CRYPTO;
	const char *step = "building certificate";

	*out = NULL;
	x = X509_new();
	serial = mca_serial_to_asn1(g->serial, g->serial_len);
	if (x == NULL || serial == NULL || !X509_set_version(x, X509_VERSION_3) ||
	    !X509_set_serialNumber(x, serial) || !X509_set_subject_name(x, g->subject) ||
	    !X509_set_issuer_name(x, g->issuer ? X509_get_subject_name(g->issuer) : g->subject) ||
	    !set_time(x, 0, g->not_before) || !set_time(x, 1, g->not_after) ||
	    !(g->spki != NULL ? copy_spki(x, g->spki) : X509_set_pubkey(x, g->pubkey)))
		goto fail;
	step = "basicConstraints";
	if (!add_basic_constraints(x, g))
		goto fail;
	step = "keyUsage";
	if (g->key_usage != 0 && !add_key_usage(x, g->key_usage))
		goto fail;
	step = "extendedKeyUsage";
	if (g->ext_key_usage != 0 && !add_eku(x, g->ext_key_usage))
		goto fail;
	step = "subjectKeyIdentifier";
	if ((g->ski || g->issuer == NULL) && !add_ski(x))
		goto fail;
	step = "authorityKeyIdentifier";
	if (!add_aki(x, g->issuer))
		goto fail;
	step = "subjectAltName";
	if (g->san != NULL && sk_GENERAL_NAME_num(g->san) > 0 &&
	    !add_ext(x, NID_subject_alt_name, g->san, g->san_critical))
		goto fail;
	step = "cRLDistributionPoints";
	if (g->crl_url != NULL && !add_cdp(x, g->crl_url))
		goto fail;
	step = "authorityInfoAccess";
	if ((g->ca_issuers_url != NULL || g->ocsp_url != NULL) &&
	    !add_aia(x, g->ocsp_url, g->ca_issuers_url))
		goto fail;
	step = "ocspNoCheck";
	if (g->ocsp_nocheck && !add_nocheck(x))
		goto fail;
	step = "certificatePolicies";
	if (g->policies[0] != NULL && !add_policies(x, g->policies))
		goto fail;
	*out = x;
	x = NULL;
	rc = MCA_OK;
	goto out;
fail:
	rc = mca_error_ssl(err, MCA_ERR_CRYPTO, "certificate: %s", step);
out:
	ASN1_INTEGER_free(serial);
	X509_free(x);
	return rc;
}

mca_rc
mca_san_add(GENERAL_NAMES *names, int type, const char *value, struct mca_error *err)
{
	GENERAL_NAME *gn = a2i_GENERAL_NAME(NULL, NULL, NULL, type, value, 0);

	if (gn == NULL) {
		ERR_clear_error();
		return mca_error_set(err, MCA_ERR_INVAL, "invalid %s '%.200s'",
		                     type == GEN_IPADD ? "IP address"
		                     : type == GEN_URI ? "URI"
		                                       : "name",
		                     value);
	}
	if (!sk_GENERAL_NAME_push(names, gn)) {
		GENERAL_NAME_free(gn);
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	}
	return MCA_OK;
}
