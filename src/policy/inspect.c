/*
 * inspect.c - the second look at a signed certificate.  Deliberately
 * written against OpenSSL's parse (its ASN.1 decoder, its decoded names,
 * times and extensions), not against the builder's structures; the key
 * and the signature against the DER's own bytes.
 */
#include "config.h"

#include <arpa/inet.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1t.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "pki/certgen.h"
#include "pki/keys.h"
#include "policy/inspect.h"

#define BAD(...) mca_error_set(err, MCA_ERR_INTERNAL, "second look: " __VA_ARGS__)

/*
 * The certificate as OpenSSL's X509 template has it (RFC 5280 4.1), except
 * that the SubjectPublicKeyInfo is parsed as the plain SEQUENCE
 * {AlgorithmIdentifier, BIT STRING} it is: OpenSSL 3.0's X509_PUBKEY
 * decodes every key it parses through its decoder framework
 * (OSSL_DECODER_CTX_new_for_pkey, even for an algorithm it does not
 * know), at several times the cost of the rest of the parse.  The key is
 * judged as bytes (key_is), the signature over the TBS bytes as they are
 * in the DER (tbs_verifies), everything else on this parse.
 */
typedef struct {
	X509_ALGOR *algor;
	ASN1_BIT_STRING *public_key;
} INS_SPKI;

typedef struct {
	ASN1_INTEGER *version; /* NULL: v1 */
	ASN1_INTEGER *serial;
	X509_ALGOR *sig_alg;
	X509_NAME *issuer;
	X509_VAL *validity;
	X509_NAME *subject;
	INS_SPKI *spki;
	ASN1_BIT_STRING *issuer_uid, *subject_uid;
	STACK_OF(X509_EXTENSION) * exts;
} INS_TBS;

typedef struct {
	INS_TBS *tbs;
	X509_ALGOR *sig_alg;
	ASN1_BIT_STRING *signature;
} INS_CERT;

/* clang-format off */
ASN1_SEQUENCE(INS_SPKI) = {
	ASN1_SIMPLE(INS_SPKI, algor, X509_ALGOR),
	ASN1_SIMPLE(INS_SPKI, public_key, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(INS_SPKI)

ASN1_SEQUENCE(INS_TBS) = {
	ASN1_EXP_OPT(INS_TBS, version, ASN1_INTEGER, 0),
	ASN1_SIMPLE(INS_TBS, serial, ASN1_INTEGER),
	ASN1_SIMPLE(INS_TBS, sig_alg, X509_ALGOR),
	ASN1_SIMPLE(INS_TBS, issuer, X509_NAME),
	ASN1_SIMPLE(INS_TBS, validity, X509_VAL),
	ASN1_SIMPLE(INS_TBS, subject, X509_NAME),
	ASN1_SIMPLE(INS_TBS, spki, INS_SPKI),
	ASN1_IMP_OPT(INS_TBS, issuer_uid, ASN1_BIT_STRING, 1),
	ASN1_IMP_OPT(INS_TBS, subject_uid, ASN1_BIT_STRING, 2),
	ASN1_EXP_SEQUENCE_OF_OPT(INS_TBS, exts, X509_EXTENSION, 3),
} static_ASN1_SEQUENCE_END(INS_TBS)

ASN1_SEQUENCE(INS_CERT) = {
	ASN1_SIMPLE(INS_CERT, tbs, INS_TBS),
	ASN1_SIMPLE(INS_CERT, sig_alg, X509_ALGOR),
	ASN1_SIMPLE(INS_CERT, signature, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(INS_CERT)
                    /* clang-format on */

                    /* The extensions of the parse (an empty stack when there are none). */
                    static const STACK_OF(X509_EXTENSION) *
                    exts_of(const INS_CERT *x)
{
	return x->tbs->exts;
}

/* The decoded extension `nid`: NULL when absent, repeated or undecodable. */
static void *
ext_d2i(const INS_CERT *x, int nid)
{
	return X509V3_get_d2i(exts_of(x), nid, NULL, NULL);
}

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

/* 1 critical, 0 not, -1 absent. */
static int
ext_critical(const INS_CERT *x, int nid)
{
	int idx = X509v3_get_ext_by_NID(exts_of(x), nid, -1);

	return idx >= 0 ? X509_EXTENSION_get_critical(X509v3_get_ext(exts_of(x), idx)) : -1;
}

static mca_rc
check_extension_set(const INS_CERT *x, const struct mca_inspect_expect *e, struct mca_error *err)
{
	int i, j, nid, n = X509v3_get_ext_count(exts_of(x)),
	               seen[sizeof(allowed_ext) / sizeof(int)];

	memset(seen, 0, sizeof(seen));
	for (i = 0; i < n; i++) {
		nid = OBJ_obj2nid(X509_EXTENSION_get_object(X509v3_get_ext(exts_of(x), i)));
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

/* Where the parts judged as bytes are in the certificate's DER. */
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
tbs_verifies(const INS_CERT *x, const unsigned char *der, const struct spans *s, EVP_PKEY *key)
{
	const ASN1_BIT_STRING *sig = x->signature;
	const X509_ALGOR *alg = x->sig_alg;
	EVP_MD_CTX *md = NULL;
	int md_nid = NID_undef, pk_nid = NID_undef, ok = 0;

	/* as X509_verify: the outer algorithm is the TBS's own */
	if (sig == NULL || alg == NULL || X509_ALGOR_cmp(alg, x->tbs->sig_alg) != 0 ||
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
check_basics(const INS_CERT *x, const unsigned char *der, const struct spans *sp,
             const struct mca_inspect_expect *e, struct mca_error *err)
{
	BIGNUM *want = NULL, *got = NULL;
	int same;
	struct tm tm;
	int64_t nb, na;

	if (x->tbs->version == NULL || ASN1_INTEGER_get(x->tbs->version) != X509_VERSION_3)
		return BAD("not a version 3 certificate");
	want = BN_bin2bn(e->serial, (int)e->serial_len, NULL);
	got = ASN1_INTEGER_to_BN(x->tbs->serial, NULL);
	same = want != NULL && got != NULL && BN_cmp(want, got) == 0;
	BN_free(want);
	BN_free(got);
	if (!same)
		return BAD("serial differs");
	if (X509_NAME_cmp(x->tbs->issuer, X509_get_subject_name(e->ca_cert)) != 0)
		return BAD("issuer is not the issuing CA");
	if (!tbs_verifies(x, der, sp, X509_get0_pubkey(e->ca_cert))) {
		ERR_clear_error();
		return BAD("signature does not verify with the issuing CA's key");
	}
	switch (OBJ_obj2nid(x->sig_alg->algorithm)) {
	case NID_sha1WithRSAEncryption:
	case NID_ecdsa_with_SHA1:
	case NID_md5WithRSAEncryption:
		return BAD("weak signature algorithm");
	}
	if (!key_is(der, sp, e))
		return BAD("public key is not the CSR's");
	memset(&tm, 0, sizeof(tm));
	if (!ASN1_TIME_to_tm(x->tbs->validity->notBefore, &tm))
		return BAD("notBefore unreadable");
	nb = (int64_t)timegm(&tm);
	memset(&tm, 0, sizeof(tm));
	if (!ASN1_TIME_to_tm(x->tbs->validity->notAfter, &tm))
		return BAD("notAfter unreadable");
	na = (int64_t)timegm(&tm);
	if (nb != e->approved->not_before || na != e->approved->not_after)
		return BAD("validity differs from the approved window");
	if (na > mca_asn1_time_unix(X509_get0_notAfter(e->ca_cert)))
		return BAD("outlives the issuing CA");
	return MCA_OK;
}

/* The keyUsage bits as OpenSSL keeps them (KU_*): the first two octets. */
static uint32_t
ku_bits(const ASN1_BIT_STRING *ku)
{
	uint32_t v = 0;

	if (ku->length > 0)
		v = ku->data[0];
	if (ku->length > 1)
		v |= (uint32_t)ku->data[1] << 8;
	return v;
}

static mca_rc
check_usage(const INS_CERT *x, const struct mca_inspect_expect *e, struct mca_error *err)
{
	BASIC_CONSTRAINTS *bc = NULL;
	ASN1_BIT_STRING *kus = NULL;
	EXTENDED_KEY_USAGE *eku = NULL;
	uint32_t ku, want_ku = 0, xku = 0, want_xku = 0;
	int i, n, nid;
	mca_rc rc = MCA_OK;

	if (ext_critical(x, NID_basic_constraints) != 1) {
		rc = BAD("basicConstraints missing or not critical");
		goto out;
	}
	bc = ext_d2i(x, NID_basic_constraints);
	if (bc == NULL || bc->ca || bc->pathlen != NULL) {
		rc = bc == NULL ? BAD("basicConstraints unreadable")
		     : bc->ca   ? BAD("CA:TRUE on a leaf")
		                : BAD("pathLenConstraint on a leaf");
		goto out;
	}
	if (ext_critical(x, NID_key_usage) != 1 || (kus = ext_d2i(x, NID_key_usage)) == NULL) {
		rc = BAD("keyUsage missing or not critical");
		goto out;
	}
	if (e->approved->key_usage & MCA_KU_DIGITAL_SIGNATURE)
		want_ku |= KU_DIGITAL_SIGNATURE;
	if (e->approved->key_usage & MCA_KU_KEY_ENCIPHERMENT)
		want_ku |= KU_KEY_ENCIPHERMENT;
	if ((ku = ku_bits(kus)) != want_ku) {
		rc = BAD("keyUsage 0x%x, want 0x%x", ku, want_ku);
		goto out;
	}
	if (e->approved->ext_key_usage & MCA_EKU_SERVER_AUTH)
		want_xku |= XKU_SSL_SERVER;
	if (e->approved->ext_key_usage & MCA_EKU_CLIENT_AUTH)
		want_xku |= XKU_SSL_CLIENT;
	/* exactly the wanted purposes, each once; any other one is a mismatch */
	eku = ext_d2i(x, NID_ext_key_usage);
	n = eku ? sk_ASN1_OBJECT_num(eku) : -1;
	for (i = 0; i < n; i++) {
		nid = OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i));
		xku |= nid == NID_server_auth   ? XKU_SSL_SERVER
		       : nid == NID_client_auth ? XKU_SSL_CLIENT
		                                : XKU_ANYEKU;
	}
	if (eku == NULL || xku != want_xku || n != __builtin_popcount(want_xku))
		rc = BAD("extendedKeyUsage differs from the profile");
out:
	BASIC_CONSTRAINTS_free(bc);
	ASN1_BIT_STRING_free(kus);
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	return rc;
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
check_names(const INS_CERT *x, const struct mca_inspect_expect *e, struct mca_error *err)
{
	GENERAL_NAMES *gens = ext_d2i(x, NID_subject_alt_name);
	const struct mca_policy_result *a = e->approved;
	X509_NAME *subj = x->tbs->subject;
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
check_links(const INS_CERT *x, const struct mca_inspect_expect *e, struct mca_error *err)
{
	AUTHORITY_KEYID *akid = ext_d2i(x, NID_authority_key_identifier);
	const ASN1_OCTET_STRING *aki = akid != NULL ? akid->keyid : NULL;
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(e->ca_cert);
	CRL_DIST_POINTS *cdp = NULL;
	AUTHORITY_INFO_ACCESS *aia = NULL;
	CERTIFICATEPOLICIES *cp = NULL;
	DIST_POINT *dp;
	ACCESS_DESCRIPTION *ad;
	int i, n, ok;
	mca_rc rc = MCA_OK;

	if (aki == NULL || ski == NULL || ASN1_OCTET_STRING_cmp(aki, ski) != 0) {
		rc = BAD("authorityKeyIdentifier is not the issuing CA's key identifier");
		goto out;
	}
	cdp = ext_d2i(x, NID_crl_distribution_points);
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
	aia = ext_d2i(x, NID_info_access);
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
	cp = ext_d2i(x, NID_certificate_policies);
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
	AUTHORITY_KEYID_free(akid);
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
	const unsigned char *p = der;
	INS_CERT *x = NULL;
	mca_rc rc;

	if (der_len > LONG_MAX || !locate(der, der_len, &sp))
		return BAD("DER does not parse as one certificate");
	x = (INS_CERT *)ASN1_item_d2i(NULL, &p, (long)der_len, ASN1_ITEM_rptr(INS_CERT));
	if (x == NULL || p != der + der_len) {
		rc = BAD("DER does not parse as one certificate");
		goto out;
	}
	if ((rc = check_basics(x, der, &sp, e, err)) == MCA_OK &&
	    (rc = check_usage(x, e, err)) == MCA_OK && (rc = check_names(x, e, err)) == MCA_OK &&
	    (rc = check_extension_set(x, e, err)) == MCA_OK)
		rc = check_links(x, e, err);
out:
	ASN1_item_free((ASN1_VALUE *)x, ASN1_ITEM_rptr(INS_CERT));
	ERR_clear_error();
	return rc;
}
