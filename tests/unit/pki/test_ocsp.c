/*
 * test_ocsp.c - OCSP on the wire (pki/ocsp.h).
 *  - the request parser, table-driven: requests as OpenSSL and RFC 5019
 *    clients send them (SHA-1 or SHA-256, with or without NULL parameters,
 *    a nonce, an explicit v1, a requestorName, a signature, up to four
 *    certificates) parse with the fields right; every malformation (BER
 *    lengths, trailing octets, empty lists, bad versions and serials,
 *    unknown critical extensions, two nonces, a nonce over 32 octets,
 *    oversize) is refused with rule ocsp.malformed and a message naming
 *    it; five certificates are ocsp.too_many; every truncation of a valid
 *    request is refused.
 *  - responses: a ResponseData with good, revoked (time, reason) and
 *    unknown answers and a nonce, signed and wrapped with a responder
 *    certificate, is read back by OpenSSL with every field and its
 *    signature verifies; the error responses carry their status.
 *  - CertID matching agrees with OpenSSL's CertIDs, for both hashes.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>

#include "common/der.h"
#include "pki/certgen.h"
#include "pki/crl.h"
#include "pki/ocsp.h"
#include "signer/signer.h"

#define SHA1_ALG   "300906052b0e03021a0500"
#define SHA1_NOPAR "300706052b0e03021a"
#define SHA256_ALG "300d06096086480165030402010500"
#define H20        "1111111111111111111111111111111111111111"
#define K20        "2222222222222222222222222222222222222222"
#define NONCE_EXT                                                                                  \
	"a21a30183016"                                                                             \
	"06092b0601050507300102"                                                                   \
	"0409"                                                                                     \
	"0407"                                                                                     \
	"01020304050607"

static size_t
unhex(const char *hex, unsigned char *out)
{
	size_t n = 0;
	unsigned v;

	for (; hex[0] && hex[1]; hex += 2) {
		ck_assert_int_eq(sscanf(hex, "%2x", &v), 1);
		out[n++] = (unsigned char)v;
	}
	return n;
}

/* A request, described by its parts (hex; NULL: the default or nothing). */
struct req_case {
	const char *name;
	const char *alg;        /* CertID hashAlgorithm; NULL: SHA-1 with NULL */
	const char *serial;     /* the serialNumber TLV; NULL: 02 01 12 */
	int ncerts;             /* 0: 1 */
	const char *tbs_prefix; /* before requestList: version, requestorName */
	const char *single_ext; /* a singleRequestExtensions TLV */
	const char *req_ext;    /* a requestExtensions TLV */
	const char *after_tbs;  /* inside OCSPRequest after TBSRequest (signature) */
	const char *trailer;    /* after the OCSPRequest */
	mca_rc rc;
	const char *rule, *msg; /* expected on failure */
	enum mca_ocsp_hash hash;
	const char *want_serial;
	size_t nonce_len;
};

static unsigned char *
build(const struct req_case *c, size_t *len)
{
	unsigned char buf[4096];
	struct mca_der d;
	size_t top, tbs, list, one, cid, i, n;
	int ncerts = c->ncerts ? c->ncerts : 1;

	mca_der_init(&d);
	top = mca_der_open(&d, MCA_DER_SEQUENCE);
	tbs = mca_der_open(&d, MCA_DER_SEQUENCE);
	if (c->tbs_prefix)
		mca_der_raw(&d, buf, unhex(c->tbs_prefix, buf));
	list = mca_der_open(&d, MCA_DER_SEQUENCE);
	for (i = 0; i < (size_t)ncerts; i++) {
		one = mca_der_open(&d, MCA_DER_SEQUENCE);
		cid = mca_der_open(&d, MCA_DER_SEQUENCE);
		mca_der_raw(&d, buf, unhex(c->alg ? c->alg : SHA1_ALG, buf));
		n = unhex(H20, buf);
		mca_der_tlv(&d, MCA_DER_OCTETS, buf, n);
		n = unhex(K20, buf);
		mca_der_tlv(&d, MCA_DER_OCTETS, buf, n);
		mca_der_raw(&d, buf, unhex(c->serial ? c->serial : "020112", buf));
		mca_der_close(&d, cid);
		if (c->single_ext)
			mca_der_raw(&d, buf, unhex(c->single_ext, buf));
		mca_der_close(&d, one);
	}
	mca_der_close(&d, list);
	if (c->req_ext)
		mca_der_raw(&d, buf, unhex(c->req_ext, buf));
	mca_der_close(&d, tbs);
	if (c->after_tbs)
		mca_der_raw(&d, buf, unhex(c->after_tbs, buf));
	mca_der_close(&d, top);
	if (c->trailer)
		mca_der_raw(&d, buf, unhex(c->trailer, buf));
	ck_assert(!d.failed);
	*len = d.len;
	return d.buf;
}

static const struct req_case req_cases[] = {
    {.name = "plain SHA-1", .hash = MCA_OCSP_SHA1, .want_serial = "12"},
    {.name = "SHA-1 without parameters",
     .alg = SHA1_NOPAR,
     .hash = MCA_OCSP_SHA1,
     .want_serial = "12"},
    {.name = "SHA-256", .alg = SHA256_ALG, .hash = MCA_OCSP_SHA256, .want_serial = "12"},
    {.name = "unknown hash: parsed, matches nothing",
     .alg = "300b06092a864886f70d010105",
     .hash = MCA_OCSP_HASH_OTHER,
     .want_serial = "12"},
    {.name = "16-octet serial with a leading zero",
     .serial = "021100"
               "90112233445566778899aabbccddeeff",
     .hash = MCA_OCSP_SHA1,
     .want_serial = "90112233445566778899aabbccddeeff"},
    {.name = "nonce",
     .req_ext = NONCE_EXT,
     .hash = MCA_OCSP_SHA1,
     .want_serial = "12",
     .nonce_len = 9},
    {.name = "explicit v1", .tbs_prefix = "a003020100", .hash = MCA_OCSP_SHA1, .want_serial = "12"},
    {.name = "requestorName ignored",
     .tbs_prefix = "a10d820b6578616d706c652e6f7267",
     .hash = MCA_OCSP_SHA1,
     .want_serial = "12"},
    {.name = "optionalSignature ignored",
     .after_tbs = "a0053003020100",
     .hash = MCA_OCSP_SHA1,
     .want_serial = "12"},
    {.name = "non-critical single extension ignored",
     .single_ext = "a00d300b3009060355040a040201ff",
     .hash = MCA_OCSP_SHA1,
     .want_serial = "12"},
    {.name = "four certificates", .ncerts = 4, .hash = MCA_OCSP_SHA1, .want_serial = "12"},
    {.name = "five certificates",
     .ncerts = 5,
     .rc = MCA_ERR_POLICY,
     .rule = "ocsp.too_many",
     .msg = "more than 4 certificates in one request"},
    {.name = "trailing octet",
     .trailer = "00",
     .rc = MCA_ERR_INVAL,
     .msg = "not one DER OCSPRequest"},
    {.name = "garbage after TBSRequest",
     .after_tbs = "0500",
     .rc = MCA_ERR_INVAL,
     .msg = "trailing data after TBSRequest"},
    {.name = "version 2",
     .tbs_prefix = "a003020101",
     .rc = MCA_ERR_INVAL,
     .msg = "version is not v1"},
    {.name = "empty requestList", .ncerts = -1, .rc = MCA_ERR_INVAL, .msg = "requestList is empty"},
    {.name = "negative serial",
     .serial = "020180",
     .rc = MCA_ERR_INVAL,
     .msg = "CertID: serialNumber is not a minimal positive INTEGER"},
    {.name = "non-minimal serial",
     .serial = "02020012",
     .rc = MCA_ERR_INVAL,
     .msg = "CertID: serialNumber is not a minimal positive INTEGER"},
    {.name = "zero serial",
     .serial = "020100",
     .rc = MCA_ERR_INVAL,
     .msg = "CertID: serialNumber is zero or longer than 20 octets"},
    {.name = "21-octet serial",
     .serial = "0215"
               "010203040506070809101112131415161718192021",
     .rc = MCA_ERR_INVAL,
     .msg = "CertID: serialNumber is zero or longer than 20 octets"},
    {.name = "hash parameters not NULL",
     .alg = "300a06052b0e03021a020100",
     .rc = MCA_ERR_INVAL,
     .msg = "CertID: hashAlgorithm parameters are not NULL"},
    {.name = "hash OID unterminated",
     .alg = "300906052bf0fcfde50500",
     .rc = MCA_ERR_INVAL,
     .msg = "CertID: hashAlgorithm without a valid OID"},
    {.name = "hash OID not minimal",
     .alg = "300706052b800e0302",
     .rc = MCA_ERR_INVAL,
     .msg = "CertID: hashAlgorithm without a valid OID"},
    {.name = "empty extension OID",
     .req_ext = "a20a30083006060004020500",
     .rc = MCA_ERR_INVAL,
     .msg = "Extension: no valid extnID"},
    {.name = "unknown critical request extension",
     .req_ext = "a210300e300c060355040a0101ff04020500",
     .rc = MCA_ERR_INVAL,
     .msg = "unknown critical extension"},
    {.name = "critical FALSE encoded (not DER)",
     .req_ext = "a210300e300c060355040a01010004020500",
     .rc = MCA_ERR_INVAL,
     .msg = "Extension: critical is not DER TRUE"},
    {.name = "two nonces",
     .req_ext = "a2283026"
                "3011"
                "06092b0601050507300102"
                "0404"
                "04020102"
                "3011"
                "06092b0601050507300102"
                "0404"
                "04020102",
     .rc = MCA_ERR_INVAL,
     .msg = "two nonce extensions"},
    {.name = "nonce of 40 octets",
     .req_ext = "a23b3039"
                "3037"
                "06092b0601050507300102"
                "042a"
                "0428"
                "00000000000000000000000000000000000000000000000000000000000000000000000000000000",
     .rc = MCA_ERR_INVAL,
     .msg = "nonce of 42 octets (1 to 32)"},
    {.name = "empty extensions",
     .req_ext = "a2023000",
     .rc = MCA_ERR_INVAL,
     .msg = "empty Extensions"},
};

START_TEST(request_table)
{
	const struct req_case *c = &req_cases[_i];
	struct mca_ocsp_request req;
	struct mca_error err = {0};
	unsigned char *der;
	size_t len = 0, i;
	struct req_case copy = *c;
	mca_rc rc;

	if (c->ncerts < 0) {
		/* an empty requestList: build one certificate, then cut it out by hand */
		static const unsigned char empty[] = {0x30, 0x04, 0x30, 0x02, 0x30, 0x00};

		der = malloc(sizeof(empty));
		memcpy(der, empty, sizeof(empty));
		len = sizeof(empty);
	} else {
		der = build(&copy, &len);
	}
	rc = mca_ocsp_request_parse(der, len, &req, &err);
	ck_assert_msg(rc == c->rc, "%s: rc %d (%s), want %d", c->name, rc, err.msg, c->rc);
	if (rc != MCA_OK) {
		ck_assert_str_eq(err.rule, c->rule ? c->rule : "ocsp.malformed");
		ck_assert_str_eq(err.msg, c->msg);
	} else {
		ck_assert_uint_eq(req.n, c->ncerts ? (size_t)c->ncerts : 1);
		for (i = 0; i < req.n; i++) {
			ck_assert_int_eq(req.ids[i].hash, c->hash);
			ck_assert_str_eq(req.ids[i].serial, c->want_serial);
			ck_assert_uint_eq(req.ids[i].name_hash_len, 20);
			ck_assert_int_eq(req.ids[i].name_hash[0], 0x11);
			ck_assert_int_eq(req.ids[i].key_hash[19], 0x22);
			/* the CertID is echoed exactly: it starts inside the request */
			ck_assert(req.ids[i].der > der &&
			          req.ids[i].der + req.ids[i].der_len <= der + len);
			ck_assert_int_eq(req.ids[i].der[0], 0x30);
		}
		ck_assert_uint_eq(req.nonce_len, c->nonce_len);
		ck_assert(c->nonce_len == 0 || req.nonce != NULL);
	}
	free(der);
}
END_TEST

/* Raw octets: BER forms, bounds. */
START_TEST(request_raw)
{
	static const struct {
		const char *hex, *msg;
	} raw[] = {
	    {"3080308030800000", "not one DER OCSPRequest"}, /* indefinite lengths */
	    {"30810430023000", "not one DER OCSPRequest"},   /* long form for a short length */
	    {"3f00", "not one DER OCSPRequest"},             /* high tag number form */
	    {"30850000000000", "not one DER OCSPRequest"},   /* five length octets */
	    {"3004300230", "not one DER OCSPRequest"},       /* inner overruns */
	    {"3000", "no TBSRequest"},                       /* empty */
	    {"30023000", "no requestList"},                  /* TBSRequest without a list */
	};
	struct mca_ocsp_request req;
	struct mca_error err = {0};
	unsigned char buf[64], *big;
	size_t i, n;

	for (i = 0; i < sizeof(raw) / sizeof(raw[0]); i++) {
		n = unhex(raw[i].hex, buf);
		ck_assert_int_eq(mca_ocsp_request_parse(buf, n, &req, &err), MCA_ERR_INVAL);
		ck_assert_str_eq(err.rule, "ocsp.malformed");
		ck_assert_str_eq(err.msg, raw[i].msg);
	}
	ck_assert_int_eq(mca_ocsp_request_parse(NULL, 0, &req, &err), MCA_ERR_INVAL);
	ck_assert_str_eq(err.msg, "empty request");
	big = calloc(1, MCA_OCSP_REQUEST_MAX + 1);
	ck_assert_int_eq(mca_ocsp_request_parse(big, MCA_OCSP_REQUEST_MAX + 1, &req, &err),
	                 MCA_ERR_INVAL);
	ck_assert_str_eq(err.msg, "request of 8193 octets (at most 8192)");
	free(big);
}
END_TEST

/* Every prefix of a valid request (with a nonce) is refused, none read past its end. */
START_TEST(request_truncated)
{
	struct req_case c = {.req_ext = NONCE_EXT, .ncerts = 2};
	struct mca_ocsp_request req;
	struct mca_error err = {0};
	unsigned char *der, *cut;
	size_t len = 0, i;

	der = build(&c, &len);
	ck_assert_int_eq(mca_ocsp_request_parse(der, len, &req, &err), MCA_OK);
	for (i = 0; i < len; i++) {
		cut = malloc(i ? i : 1); /* exactly i octets: ASan sees any overread */
		memcpy(cut, der, i);
		ck_assert_int_eq(mca_ocsp_request_parse(cut, i, &req, &err), MCA_ERR_INVAL);
		free(cut);
	}
	free(der);
}
END_TEST

/* A self-signed responder (P-256), as certificate and signer. */
static void
responder(X509 **cert, struct mca_signer **signer, EVP_PKEY **key)
{
	struct mca_certgen g;
	struct mca_error err = {0};
	unsigned char serial[16] = {0x11, 1, 2, 3};
	X509_NAME *n = X509_NAME_new();
	int64_t now = (int64_t)time(NULL);

	*key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	ck_assert_int_eq(mca_signer_local_new(*key, signer, &err), MCA_OK);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"R", -1, -1, 0);
	memset(&g, 0, sizeof(g));
	g.serial = serial;
	g.serial_len = sizeof(serial);
	g.subject = n;
	g.pubkey = *key;
	g.not_before = now - 60;
	g.not_after = now + 86400;
	g.ca = 1;
	g.pathlen = -1;
	g.key_usage = MCA_KU_KEY_CERT_SIGN | MCA_KU_DIGITAL_SIGNATURE;
	g.ext_key_usage = MCA_EKU_OCSP_SIGNING;
	g.ocsp_nocheck = 1;
	ck_assert_int_eq(mca_certgen_build(&g, cert, &err), MCA_OK);
	ck_assert_int_eq(mca_signer_sign_cert(*signer, cert, &err), MCA_OK);
	X509_NAME_free(n);
}

START_TEST(response_roundtrip)
{
	static const unsigned char nonce[] = {0x04, 0x03, 7, 8, 9};
	struct mca_ocsp_single s[3];
	struct mca_error err = {0};
	struct mca_signer *signer = NULL;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	X509_STORE *store = X509_STORE_new();
	unsigned char *ids[3], *tbs = NULL, *sig = NULL, *der = NULL, *cder = NULL, h[32];
	const unsigned char *p, *alg;
	size_t tbs_len = 0, sig_len = 0, der_len = 0, alg_len = 0, hl = 0, i;
	int cder_len, st, reason, status;
	int64_t now = (int64_t)time(NULL);
	OCSP_RESPONSE *resp;
	OCSP_BASICRESP *bs;
	ASN1_GENERALIZEDTIME *rev, *tu, *nu;
	ASN1_INTEGER *ai = ASN1_INTEGER_new();
	OCSP_CERTID *id;

	responder(&cert, &signer, &key);
	X509_STORE_add_cert(store, cert);
	memset(s, 0, sizeof(s));
	for (i = 0; i < 3; i++) {
		ASN1_INTEGER_set(ai, 100 + (long)i);
		id = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(cert),
		                      X509_get0_pubkey_bitstr(cert), ai);
		ids[i] = NULL;
		s[i].certid_len = (size_t)i2d_OCSP_CERTID(id, &ids[i]);
		s[i].certid = ids[i];
		OCSP_CERTID_free(id);
		s[i].status = (enum mca_ocsp_cstatus)i;
		s[i].revoked_at = now - 100;
		s[i].reason = MCA_REASON_KEY_COMPROMISE;
		s[i].this_update = now;
		s[i].next_update = now + 3600;
	}
	ck_assert_int_eq(mca_ocsp_key_hash(key, MCA_OCSP_SHA1, h, &hl, &err), MCA_OK);
	ck_assert_uint_eq(hl, 20);
	ck_assert_int_eq(
	    mca_ocsp_tbs_build(h, now, s, 3, nonce, sizeof(nonce), &tbs, &tbs_len, &err), MCA_OK);
	ck_assert_int_eq(mca_signer_sign(signer, MCA_SIGN_OCSP, tbs, tbs_len, &sig, &sig_len, &err),
	                 MCA_OK);
	alg = mca_signer_algor_der(signer, &alg_len);
	cder_len = i2d_X509(cert, &cder);
	ck_assert_int_eq(mca_ocsp_response_wrap(tbs, tbs_len, alg, alg_len, sig, sig_len, cder,
	                                        (size_t)cder_len, &der, &der_len, &err),
	                 MCA_OK);
	p = der;
	resp = d2i_OCSP_RESPONSE(NULL, &p, (long)der_len);
	ck_assert_ptr_nonnull(resp);
	ck_assert(p == der + der_len);
	ck_assert_int_eq(OCSP_response_status(resp), OCSP_RESPONSE_STATUS_SUCCESSFUL);
	bs = OCSP_response_get1_basic(resp);
	ck_assert_ptr_nonnull(bs);
	ck_assert_int_eq(OCSP_basic_verify(bs, NULL, store, OCSP_NOCHECKS), 1);
	ck_assert_int_eq(OCSP_resp_count(bs), 3);
	for (i = 0; i < 3; i++) {
		status =
		    OCSP_single_get0_status(OCSP_resp_get0(bs, (int)i), &reason, &rev, &tu, &nu);
		st = i == 0   ? V_OCSP_CERTSTATUS_GOOD
		     : i == 1 ? V_OCSP_CERTSTATUS_REVOKED
		              : V_OCSP_CERTSTATUS_UNKNOWN;
		ck_assert_int_eq(status, st);
		ck_assert_ptr_nonnull(nu);
		ck_assert_int_eq(OCSP_check_validity(tu, nu, 0, -1), 1);
		if (i == 1) {
			ck_assert_int_eq(reason, OCSP_REVOKED_STATUS_KEYCOMPROMISE);
			ck_assert_ptr_nonnull(rev);
		}
	}
	ck_assert_int_ge(OCSP_BASICRESP_get_ext_by_NID(bs, NID_id_pkix_OCSP_Nonce, -1), 0);
	/* a response whose ResponseData changed after signing does not verify */
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	{
		unsigned char *q;

		for (i = 0; i + tbs_len <= der_len && memcmp(der + i, tbs, tbs_len) != 0; i++)
			;
		ck_assert_uint_le(i + tbs_len, der_len);
		q = der + i + tbs_len - 20; /* inside the last single response's nextUpdate */
		*q ^= 1;
		p = der;
		resp = d2i_OCSP_RESPONSE(NULL, &p, (long)der_len);
		bs = resp ? OCSP_response_get1_basic(resp) : NULL;
		ck_assert(bs == NULL || OCSP_basic_verify(bs, NULL, store, OCSP_NOCHECKS) != 1);
		ERR_clear_error();
	}
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	/* 0 or 5 single responses are not encoded, nor a time before 1970 */
	free(tbs);
	tbs = NULL;
	ck_assert_int_eq(mca_ocsp_tbs_build(h, now, s, 0, NULL, 0, &tbs, &tbs_len, &err),
	                 MCA_ERR_INVAL);
	ck_assert_int_eq(mca_ocsp_tbs_build(h, now, s, 5, NULL, 0, &tbs, &tbs_len, &err),
	                 MCA_ERR_INVAL);
	s[0].next_update = -5;
	ck_assert_int_eq(mca_ocsp_tbs_build(h, now, s, 1, NULL, 0, &tbs, &tbs_len, &err),
	                 MCA_ERR_INVAL);
	ck_assert_str_eq(err.msg, "a time outside years 1970 to 9999");
	for (i = 0; i < 3; i++)
		OPENSSL_free(ids[i]);
	OPENSSL_free(cder);
	free(der);
	free(sig);
	ck_assert_ptr_null(tbs);
	ASN1_INTEGER_free(ai);
	X509_STORE_free(store);
	X509_free(cert);
	mca_signer_free(signer);
	EVP_PKEY_free(key);
}
END_TEST

START_TEST(error_responses)
{
	static const enum mca_ocsp_rstatus st[] = {MCA_OCSP_MALFORMED, MCA_OCSP_INTERNAL_ERROR,
	                                           MCA_OCSP_TRY_LATER, MCA_OCSP_UNAUTHORIZED};
	const unsigned char *der, *p;
	size_t len = 0, i;
	OCSP_RESPONSE *r;

	for (i = 0; i < sizeof(st) / sizeof(st[0]); i++) {
		der = mca_ocsp_error_response(st[i], &len);
		p = der;
		r = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
		ck_assert_ptr_nonnull(r);
		ck_assert_int_eq(OCSP_response_status(r), (int)st[i]);
		ck_assert_ptr_null(OCSP_response_get1_basic(r));
		OCSP_RESPONSE_free(r);
	}
}
END_TEST

/* A CertID from OpenSSL matches the issuer it was made for, in SHA-1 and SHA-256. */
START_TEST(certid_matching)
{
	struct mca_error err = {0};
	struct mca_signer *s1 = NULL, *s2 = NULL;
	EVP_PKEY *k1 = NULL, *k2 = NULL;
	X509 *c1 = NULL, *c2 = NULL;
	struct mca_ocsp_issuer_id id1, id2;
	struct mca_ocsp_request req;
	OCSP_REQUEST *oreq;
	ASN1_INTEGER *ai = ASN1_INTEGER_new();
	unsigned char *der = NULL;
	int len, h;

	responder(&c1, &s1, &k1);
	responder(&c2, &s2, &k2);
	ck_assert_int_eq(mca_ocsp_issuer_id(c1, &id1, &err), MCA_OK);
	ck_assert_int_eq(mca_ocsp_issuer_id(c2, &id2, &err), MCA_OK);
	ASN1_INTEGER_set(ai, 4242);
	for (h = 0; h < 2; h++) {
		oreq = OCSP_REQUEST_new();
		OCSP_request_add0_id(oreq, OCSP_cert_id_new(h ? EVP_sha256() : EVP_sha1(),
		                                            X509_get_subject_name(c1),
		                                            X509_get0_pubkey_bitstr(c1), ai));
		der = NULL;
		len = i2d_OCSP_REQUEST(oreq, &der);
		ck_assert_int_eq(mca_ocsp_request_parse(der, (size_t)len, &req, &err), MCA_OK);
		ck_assert_int_eq(req.ids[0].hash, h ? MCA_OCSP_SHA256 : MCA_OCSP_SHA1);
		ck_assert_str_eq(req.ids[0].serial, "1092");
		ck_assert(mca_ocsp_certid_matches(&req.ids[0], &id1));
		/* same name ("R"), other key */
		ck_assert(!mca_ocsp_certid_matches(&req.ids[0], &id2));
		OPENSSL_free(der);
		OCSP_REQUEST_free(oreq);
	}
	ASN1_INTEGER_free(ai);
	X509_free(c1);
	X509_free(c2);
	mca_signer_free(s1);
	mca_signer_free(s2);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
}
END_TEST

int
main(void)
{
	Suite *su = suite_create("ocsp");
	TCase *tc = tcase_create("ocsp");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, request_table, 0, (int)(sizeof(req_cases) / sizeof(req_cases[0])));
	tcase_add_test(tc, request_raw);
	tcase_add_test(tc, request_truncated);
	tcase_add_test(tc, response_roundtrip);
	tcase_add_test(tc, error_responses);
	tcase_add_test(tc, certid_matching);
	suite_add_tcase(su, tc);
	sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
