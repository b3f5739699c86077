/*
 * inspect.c - the second look at a signed certificate.  Deliberately
 * written against OpenSSL's parsed view (X509_get_* and the decoded
 * extensions), not against the builder's structures; the key and the
 * signature against the DER's own bytes.
 */
#include "config.h"

#include <arpa/inet.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "pki/certgen.h"
#include "pki/keys.h"
#include "policy/inspect.h"

#define BAD(...) mca_error_set(err, MCA_ERR_INTERNAL, "second look: " __VA_ARGS__)

/* Extensions a leaf may carry; anything else is a mismatch. */
static const int allowed_ext[] = {
    NID_basic_constraints,
    NID_key_usage,
    NID_ext_key_usage,
    NID_subject_alt_name,
    NID_authority_key_identifier,
    NID_subject_key_identifier,
    NID_crl_distribution_points,
    NID_info_access,
    NID_certificate_policies,
};

static int
ext_critical(X509 *x, int nid)
{
	int idx = X509_get_ext_by_NID(x, nid, -1);

	return idx >= 0 ? X509_EXTENSION_get_critical(X509_get_ext(x, idx)) : -1;
}

static mca_rc
check_extension_set(X509 *x, const struct mca_inspect_expect *e, struct mca_error *err)
{
	int i, j, nid, n = X509_get_ext_count(x), seen[sizeof(allowed_ext) / sizeof(int)];

	memset(seen, 0, sizeof(seen));
	for (i = 0; i < n; i++) {
		nid = OBJ_obj2nid(X509_EXTENSION_get_object(X509_get_ext(x, i)));
		for (j = 0; j < (int)(sizeof(allowed_ext) / sizeof(int)); j++)
			if (allowed_ext[j] == nid)
				break;
		if (j == (int)(sizeof(allowed_ext) / sizeof(int)))
			return BAD("unexpected extension %s", OBJ_nid2sn(nid));
		if (seen[j]++)
			return BAD("duplicate extension %s", OBJ_nid2sn(nid));
	}
	if (ext_critical(x, NID_subject_key_identifier) >= 0 && !e->profile->ski)
		return BAD("subjectKeyIdentifier present, profile '%s' forbids it",
		           e->profile->name);
	if (ext_critical(x, NID_subject_key_identifier) < 0 && e->profile->ski)
		return BAD("subjectKeyIdentifier missing");
	return MCA_OK;
}

/* Where the parts the masked parse cannot judge are in the certificate's DER. */
struct spans {
	size_t tbs_off, tbs_len;       /* the TBSCertificate element */
	size_t spki_off, spki_len;     /* the SubjectPublicKeyInfo element */
	size_t keyoid_off, keyoid_len; /* the content of its algorithm OID */
};

/*
 * One DER header at der[*off] (within `end`): *off moves past it, *len is
 * the content's length; 0 when it is not a definite-length header that fits.
 */
static int
header(const unsigned char *der, size_t end, size_t *off, size_t *len, int *tag)
{
	const unsigned char *p = der + *off;
	long l = 0;
	int xclass = 0, r;

	if (*off >= end)
		return 0;
	r = ASN1_get_object(&p, &l, tag, &xclass, (long)(end - *off));
	if ((r & 0x80) || r == 0x21 || l < 0 || (size_t)l > end - (size_t)(p - der))
		return 0;
	*off = (size_t)(p - der);
	*len = (size_t)l;
	return 1;
}

/* Certificate { TBSCertificate { [0]? serial sig issuer validity subject SPKI ... } ... } */
static int
locate(const unsigned char *der, size_t der_len, struct spans *s)
{
	size_t off = 0, len = 0, tbs_end, start;
	int tag = 0, i;

	if (!header(der, der_len, &off, &len, &tag) || tag != V_ASN1_SEQUENCE ||
	    off + len != der_len)
		return 0;
	s->tbs_off = off;
	if (!header(der, der_len, &off, &len, &tag) || tag != V_ASN1_SEQUENCE)
		return 0;
	s->tbs_len = off + len - s->tbs_off;
	tbs_end = off + len;
	for (i = 0; i < 6; i++) {
		start = off;
		if (!header(der, tbs_end, &off, &len, &tag))
			return 0;
		off += len;
		if (i == 0 && der[start] != 0xa0)
			i++; /* no version: that was the serial */
	}
	s->spki_off = off;
	if (!header(der, tbs_end, &off, &len, &tag) || tag != V_ASN1_SEQUENCE)
		return 0;
	s->spki_len = off + len - s->spki_off;
	if (!header(der, tbs_end, &off, &len, &tag) || tag != V_ASN1_SEQUENCE ||
	    !header(der, tbs_end, &off, &len, &tag) || tag != V_ASN1_OBJECT || len < 1)
		return 0;
	s->keyoid_off = off;
	s->keyoid_len = len;
	return 1;
}

/* The signature of `x` (the parse) over the TBS bytes as they are in `der`, with `key`. */
static int
tbs_verifies(X509 *x, const unsigned char *der, const struct spans *s, EVP_PKEY *key)
{
	const ASN1_BIT_STRING *sig = NULL;
	const X509_ALGOR *alg = NULL;
	EVP_MD_CTX *md = NULL;
	int md_nid = NID_undef, pk_nid = NID_undef, ok = 0;

	X509_get0_signature(&sig, &alg, x);
	/* as X509_verify: the outer algorithm is the TBS's own */
	if (sig == NULL || alg == NULL || X509_ALGOR_cmp(alg, X509_get0_tbs_sigalg(x)) != 0 ||
	    !OBJ_find_sigid_algs(OBJ_obj2nid(alg->algorithm), &md_nid, &pk_nid) ||
	    pk_nid == NID_rsassaPss) /* parameters of its own: not signed by us */
		return 0;
	md = EVP_MD_CTX_new();
	ok =
	    md != NULL &&
	    EVP_DigestVerifyInit_ex(md, NULL, md_nid != NID_undef ? OBJ_nid2sn(md_nid) : NULL, NULL,
	                            NULL, key, NULL) == 1 &&
	    EVP_DigestVerify(md, sig->data, (size_t)sig->length, der + s->tbs_off, s->tbs_len) == 1;
	EVP_MD_CTX_free(md);
	return ok;
}

/* The SubjectPublicKeyInfo bytes in `der` are the expected key's, exactly. */
static int
key_is(const unsigned char *der, const struct spans *s, const struct mca_inspect_expect *e)
{
	unsigned char *want = NULL;
	const unsigned char *p = der + s->spki_off;
	EVP_PKEY *got = NULL;
	int len, same;

	if (e->spki == NULL) {
		/* no structure to compare with: compare the keys */
		got = d2i_PUBKEY(NULL, &p, (long)s->spki_len);
		same = got != NULL && EVP_PKEY_eq(got, e->pubkey) == 1;
		EVP_PKEY_free(got);
		return same;
	}
	len = i2d_X509_PUBKEY(e->spki, &want);
	same = len > 0 && (size_t)len == s->spki_len && memcmp(want, p, s->spki_len) == 0;
	OPENSSL_free(want);
	return same;
}

static mca_rc
check_basics(X509 *x, const unsigned char *der, const struct spans *sp,
             const struct mca_inspect_expect *e, struct mca_error *err)
{
	BIGNUM *want = NULL, *got = NULL;
	int same;
	struct tm tm;
	int64_t nb, na;

	if (X509_get_version(x) != X509_VERSION_3)
		return BAD("not a version 3 certificate");
	want = BN_bin2bn(e->serial, (int)e->serial_len, NULL);
	got = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	same = want != NULL && got != NULL && BN_cmp(want, got) == 0;
	BN_free(want);
	BN_free(got);
	if (!same)
		return BAD("serial differs");
	if (X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(e->ca_cert)) != 0)
		return BAD("issuer is not the issuing CA");
	if (!tbs_verifies(x, der, sp, X509_get0_pubkey(e->ca_cert))) {
		ERR_clear_error();
		return BAD("signature does not verify with the issuing CA's key");
	}
	switch (X509_get_signature_nid(x)) {
	case NID_sha1WithRSAEncryption:
	case NID_ecdsa_with_SHA1:
	case NID_md5WithRSAEncryption:
		return BAD("weak signature algorithm");
	}
	if (!key_is(der, sp, e))
		return BAD("public key is not the CSR's");
	memset(&tm, 0, sizeof(tm));
	if (!ASN1_TIME_to_tm(X509_get0_notBefore(x), &tm))
		return BAD("notBefore unreadable");
	nb = (int64_t)timegm(&tm);
	memset(&tm, 0, sizeof(tm));
	if (!ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm))
		return BAD("notAfter unreadable");
	na = (int64_t)timegm(&tm);
	if (nb != e->approved->not_before || na != e->approved->not_after)
		return BAD("validity differs from the approved window");
	if (na > mca_asn1_time_unix(X509_get0_notAfter(e->ca_cert)))
		return BAD("outlives the issuing CA");
	return MCA_OK;
}

static mca_rc
check_usage(X509 *x, const struct mca_inspect_expect *e, struct mca_error *err)
{
	uint32_t ku = X509_get_key_usage(x), want_ku = 0, xku, want_xku = 0;
	EXTENDED_KEY_USAGE *eku;
	int n;

	if (ext_critical(x, NID_basic_constraints) != 1)
		return BAD("basicConstraints missing or not critical");
	if (X509_get_extension_flags(x) & EXFLAG_CA)
		return BAD("CA:TRUE on a leaf");
	if (ext_critical(x, NID_key_usage) != 1)
		return BAD("keyUsage missing or not critical");
	if (e->approved->key_usage & MCA_KU_DIGITAL_SIGNATURE)
		want_ku |= KU_DIGITAL_SIGNATURE;
	if (e->approved->key_usage & MCA_KU_KEY_ENCIPHERMENT)
		want_ku |= KU_KEY_ENCIPHERMENT;
	if (ku != want_ku)
		return BAD("keyUsage 0x%x, want 0x%x", ku, want_ku);
	eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
	n = eku ? sk_ASN1_OBJECT_num(eku) : 0;
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	xku = X509_get_extended_key_usage(x);
	if (e->approved->ext_key_usage & MCA_EKU_SERVER_AUTH)
		want_xku |= XKU_SSL_SERVER;
	if (e->approved->ext_key_usage & MCA_EKU_CLIENT_AUTH)
		want_xku |= XKU_SSL_CLIENT;
	if (xku != want_xku || n != __builtin_popcount(want_xku))
		return BAD("extendedKeyUsage differs from the profile");
	return MCA_OK;
}

/* Text of a SAN entry for comparison with the approved names. */
static int
gn_matches(const GENERAL_NAME *gn, const struct mca_name *n)
{
	const ASN1_STRING *s;
	char buf[INET6_ADDRSTRLEN];

	switch (gn->type) {
	case GEN_DNS:
	case GEN_URI:
	case GEN_EMAIL:
		if (n->type != (gn->type == GEN_DNS   ? MCA_NAME_DNS
		                : gn->type == GEN_URI ? MCA_NAME_URI
		                                      : MCA_NAME_EMAIL))
			return 0;
		s = gn->d.ia5;
		return (size_t)ASN1_STRING_length(s) == strlen(n->value) &&
		       memcmp(ASN1_STRING_get0_data(s), n->value, strlen(n->value)) == 0;
	case GEN_IPADD:
		s = gn->d.ip;
		if (n->type != MCA_NAME_IP ||
		    (ASN1_STRING_length(s) != 4 && ASN1_STRING_length(s) != 16))
			return 0;
		return inet_ntop(ASN1_STRING_length(s) == 4 ? AF_INET : AF_INET6,
		                 ASN1_STRING_get0_data(s), buf, sizeof(buf)) != NULL &&
		       strcmp(buf, n->value) == 0;
	default:
		return 0;
	}
}

static mca_rc
check_names(X509 *x, const struct mca_inspect_expect *e, struct mca_error *err)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	const struct mca_policy_result *a = e->approved;
	X509_NAME *subj = X509_get_subject_name(x);
	char cn[256];
	int i, n = gens ? sk_GENERAL_NAME_num(gens) : 0, len;
	size_t j;
	mca_rc rc = MCA_OK;

	if ((size_t)n != a->n_names) {
		rc = BAD("%d names, %zu approved", n, a->n_names);
		goto out;
	}
	for (j = 0; j < a->n_names; j++) {
		for (i = 0; i < n; i++)
			if (gn_matches(sk_GENERAL_NAME_value(gens, i), &a->names[j]))
				break;
		if (i == n) {
			rc = BAD("approved name '%s' missing", a->names[j].value);
			goto out;
		}
	}
	if (X509_NAME_entry_count(subj) == 0) {
		if (a->cn != NULL)
			rc = BAD("subject empty, CN '%s' approved", a->cn);
		else if (ext_critical(x, NID_subject_alt_name) != 1)
			rc = BAD("empty subject but subjectAltName not critical");
		goto out;
	}
	if (ext_critical(x, NID_subject_alt_name) != 0) {
		rc = BAD("subjectAltName critical next to a subject");
		goto out;
	}
	len = X509_NAME_get_text_by_NID(subj, NID_commonName, cn, sizeof(cn));
	if (X509_NAME_entry_count(subj) != 1 || a->cn == NULL || len < 0 || strcmp(cn, a->cn) != 0)
		rc = BAD("subject is not exactly CN=%s", a->cn ? a->cn : "(none)");
out:
	GENERAL_NAMES_free(gens);
	return rc;
}

/* The single URI of a CDP or AIA caIssuers extension equals `want`. */
static int
uri_is(const GENERAL_NAME *gn, const char *want)
{
	return gn != NULL && gn->type == GEN_URI &&
	       (size_t)ASN1_STRING_length(gn->d.ia5) == strlen(want) &&
	       memcmp(ASN1_STRING_get0_data(gn->d.ia5), want, strlen(want)) == 0;
}

static mca_rc
check_links(X509 *x, const struct mca_inspect_expect *e, struct mca_error *err)
{
	const ASN1_OCTET_STRING *aki = X509_get0_authority_key_id(x);
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(e->ca_cert);
	CRL_DIST_POINTS *cdp = NULL;
	AUTHORITY_INFO_ACCESS *aia = NULL;
	CERTIFICATEPOLICIES *cp = NULL;
	DIST_POINT *dp;
	ACCESS_DESCRIPTION *ad;
	int i, n, ok;
	mca_rc rc = MCA_OK;

	if (aki == NULL || ski == NULL || ASN1_OCTET_STRING_cmp(aki, ski) != 0)
		return BAD("authorityKeyIdentifier is not the issuing CA's key identifier");
	cdp = X509_get_ext_d2i(x, NID_crl_distribution_points, NULL, NULL);
	if (e->crl_url != NULL) {
		dp = cdp && sk_DIST_POINT_num(cdp) == 1 ? sk_DIST_POINT_value(cdp, 0) : NULL;
		ok = dp != NULL && dp->distpoint != NULL && dp->distpoint->type == 0 &&
		     sk_GENERAL_NAME_num(dp->distpoint->name.fullname) == 1 &&
		     uri_is(sk_GENERAL_NAME_value(dp->distpoint->name.fullname, 0), e->crl_url);
		if (!ok) {
			rc = BAD("CRL distribution point is not %s", e->crl_url);
			goto out;
		}
	}
	aia = X509_get_ext_d2i(x, NID_info_access, NULL, NULL);
	if (e->ocsp_url != NULL) {
		ad = aia && sk_ACCESS_DESCRIPTION_num(aia) >= 1
		         ? sk_ACCESS_DESCRIPTION_value(aia, 0)
		         : NULL;
		if (ad == NULL || OBJ_obj2nid(ad->method) != NID_ad_OCSP ||
		    !uri_is(ad->location, e->ocsp_url)) {
			rc = BAD("the AIA OCSP responder is not %s", e->ocsp_url);
			goto out;
		}
	}
	if ((aia ? sk_ACCESS_DESCRIPTION_num(aia) : 0) !=
	    (e->ocsp_url != NULL) + (e->ca_issuers_url != NULL)) {
		rc = BAD("authorityInfoAccess has other entries than expected");
		goto out;
	}
	if (e->ca_issuers_url != NULL) {
		ad = aia ? sk_ACCESS_DESCRIPTION_value(aia, e->ocsp_url != NULL) : NULL;
		if (ad == NULL || OBJ_obj2nid(ad->method) != NID_ad_ca_issuers ||
		    !uri_is(ad->location, e->ca_issuers_url)) {
			rc = BAD("caIssuers is not %s", e->ca_issuers_url);
			goto out;
		}
	}
	cp = X509_get_ext_d2i(x, NID_certificate_policies, NULL, NULL);
	for (n = 0; e->profile->policies[n] != NULL; n++)
		;
	if ((cp ? sk_POLICYINFO_num(cp) : 0) != n) {
		rc = BAD("certificatePolicies differ from the profile");
		goto out;
	}
	for (i = 0; i < n; i++) {
		char oid[128];

		OBJ_obj2txt(oid, sizeof(oid), sk_POLICYINFO_value(cp, i)->policyid, 1);
		if (strcmp(oid, e->profile->policies[i]) != 0) {
			rc = BAD("policy %s, want %s", oid, e->profile->policies[i]);
			goto out;
		}
	}
out:
	CRL_DIST_POINTS_free(cdp);
	AUTHORITY_INFO_ACCESS_free(aia);
	CERTIFICATEPOLICIES_free(cp);
	return rc;
}

mca_rc
mca_inspect(const unsigned char *der, size_t der_len, const struct mca_inspect_expect *e,
            struct mca_error *err)
{
	struct spans sp;
	unsigned char *copy = NULL;
	const unsigned char *p;
	X509 *x = NULL;
	mca_rc rc;

	if (der_len > LONG_MAX || !locate(der, der_len, &sp))
		return BAD("DER does not parse as one certificate");
	/*
	 * OpenSSL parses a copy whose key algorithm is masked (an unassigned
	 * OID of the same length): OpenSSL 3.0 decodes every
	 * SubjectPublicKeyInfo while parsing, through its decoder framework, at
	 * several times the cost of all the rest; the key is judged here as
	 * bytes (key_is) and the signature over the TBS as it is in `der`
	 * (tbs_verifies), everything else on the parse.
	 */
	copy = malloc(der_len);
	if (copy == NULL)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	memcpy(copy, der, der_len);
	memset(copy + sp.keyoid_off, 0x01, sp.keyoid_len);
	p = copy;
	x = d2i_X509(NULL, &p, (long)der_len);
	if (x == NULL || p != copy + der_len) {
		rc = BAD("DER does not parse as one certificate");
		goto out;
	}
	if ((rc = check_basics(x, der, &sp, e, err)) == MCA_OK &&
	    (rc = check_usage(x, e, err)) == MCA_OK && (rc = check_names(x, e, err)) == MCA_OK &&
	    (rc = check_extension_set(x, e, err)) == MCA_OK)
		rc = check_links(x, e, err);
out:
	X509_free(x);
	free(copy);
	ERR_clear_error();
	return rc;
}
