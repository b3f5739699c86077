/* lint.c - the signer's checks before it signs (see lint.h). */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include "common/der.h"
#include "pki/ocsp.h"
#include "pki/serial.h"
#include "signer/lint.h"

#define REFUSE(err, check, ...)                                                                    \
	mca_error_rule(err, MCA_ERR_INTERNAL, "signer.lint." check, __VA_ARGS__)

/*
 * SEQUENCE { tbs, alg, BIT STRING (empty) }: what d2i_X509 / d2i_X509_CRL
 * take, so OpenSSL parses the TBS for us.  The outer SEQUENCE must be used
 * up exactly, so the TBS is exactly one element and what is checked is
 * what is signed.  NULL on failure (out of memory).
 */
static unsigned char *
wrap_unsigned(const struct mca_lint_ca *ca, const unsigned char *tbs, size_t tbs_len, size_t *len)
{
	static const unsigned char no_bits = 0;
	struct mca_der d;
	size_t mark, bits;

	mca_der_init(&d);
	mark = mca_der_open(&d, MCA_DER_SEQUENCE);
	mca_der_raw(&d, tbs, tbs_len);
	mca_der_raw(&d, ca->alg, ca->alg_len);
	bits = mca_der_open(&d, MCA_DER_BITSTRING);
	mca_der_raw(&d, &no_bits, 1);
	mca_der_close(&d, bits);
	mca_der_close(&d, mark);
	if (d.failed) {
		mca_der_free(&d);
		return NULL;
	}
	*len = d.len;
	return d.buf;
}

/* Step over one DER element at *p (within end); 0 when it is not one. */
static int
skip_element(const unsigned char **p, const unsigned char *end, int *tag, int enter)
{
	long len = 0;
	int xclass = 0, r;

	r = ASN1_get_object(p, &len, tag, &xclass, (long)(end - *p));
	if ((r & 0x80) || r == 0x21 || len > end - *p) /* error, or indefinite length */
		return 0;
	if (!enter)
		*p += len;
	return 1;
}

/*
 * In lint's own copy of a TBSCertificate, overwrite the content of the
 * SubjectPublicKeyInfo's algorithm OID with an unassigned OID of the same
 * length (0.1.1...).  Lint never looks at the subject's key, but OpenSSL
 * 3.0 decodes every SubjectPublicKeyInfo while it parses a certificate,
 * through its decoder framework, at several times the cost of all the
 * rest (and of the signature): with an algorithm it does not know, it
 * keeps the structure and skips the decoding.  The bytes signed are the
 * request's, untouched.  When the TBS is not laid out as expected nothing
 * is changed, and d2i_X509 judges it as it is.
 */
static void
mask_key_alg(unsigned char *tbs, size_t tbs_len)
{
	const unsigned char *p = tbs, *end = tbs + tbs_len;
	int tag = 0, i;
	long len = 0;
	int xclass = 0, r;

	if (!skip_element(&p, end, &tag, 1) || tag != V_ASN1_SEQUENCE || p >= end)
		return;
	/* version [0] (optional), serial, signature, issuer, validity, subject */
	if (*p == 0xa0 && !skip_element(&p, end, &tag, 0))
		return;
	for (i = 0; i < 5; i++)
		if (p >= end || !skip_element(&p, end, &tag, 0))
			return;
	/* SubjectPublicKeyInfo { AlgorithmIdentifier { OID ... } ... } */
	if (p >= end || !skip_element(&p, end, &tag, 1) || tag != V_ASN1_SEQUENCE || p >= end ||
	    !skip_element(&p, end, &tag, 1) || tag != V_ASN1_SEQUENCE || p >= end)
		return;
	r = ASN1_get_object(&p, &len, &tag, &xclass, (long)(end - p));
	if ((r & 0x80) || r != 0 || tag != V_ASN1_OBJECT || len < 1 || len > end - p)
		return;
	/* 0.1, then .1 for every further octet: a valid, unassigned OID */
	memset(tbs + (p - tbs), 0x01, (size_t)len);
}

/* The AlgorithmIdentifier `a` is exactly ours. */
static int
same_alg(const struct mca_lint_ca *ca, const X509_ALGOR *a)
{
	unsigned char *der = NULL;
	int len = i2d_X509_ALGOR(a, &der), same;

	same = len > 0 && (size_t)len == ca->alg_len && memcmp(der, ca->alg, ca->alg_len) == 0;
	OPENSSL_free(der);
	return same;
}

/*
 * The TBSCertList's own signature field (after an optional version) is
 * exactly ours; OpenSSL has no getter for it.  `tbs` parsed already.
 */
static int
crl_inner_alg_is(const struct mca_lint_ca *ca, const unsigned char *tbs, size_t tbs_len)
{
	const unsigned char *p = tbs;
	long len = 0;
	int tag = 0, xclass = 0;

	if (ASN1_get_object(&p, &len, &tag, &xclass, (long)tbs_len) & 0x80)
		return 0;
	if ((size_t)(p - tbs) < tbs_len && *p == MCA_DER_INTEGER) {
		if (ASN1_get_object(&p, &len, &tag, &xclass, (long)tbs_len - (p - tbs)) & 0x80)
			return 0;
		p += len;
	}
	return (size_t)(p - tbs) + ca->alg_len <= tbs_len && memcmp(p, ca->alg, ca->alg_len) == 0;
}

/* The keyIdentifier of `aki` equals the CA's SKI. */
static int
aki_matches(const struct mca_lint_ca *ca, const ASN1_OCTET_STRING *keyid)
{
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(ca->cert);

	return keyid != NULL && ski != NULL && ASN1_OCTET_STRING_cmp(keyid, ski) == 0;
}

mca_rc
mca_lint_cert(const struct mca_lint_ca *ca, const unsigned char *tbs, size_t tbs_len,
              struct mca_error *err)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	const ASN1_INTEGER *serial;
	size_t der_len = 0;
	X509 *x = NULL;
	uint32_t flags;
	mca_rc rc;

	der = wrap_unsigned(ca, tbs, tbs_len, &der_len);
	if (der == NULL)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	/* the copy's TBS starts after the outer SEQUENCE's header */
	mask_key_alg(der + (der_len - tbs_len - ca->alg_len - 3), tbs_len);
	p = der;
	x = d2i_X509(NULL, &p, (long)der_len);
	if (x == NULL || p != der + der_len) {
		rc = REFUSE(err, "parse", "signer refused: not one DER TBSCertificate");
		goto out;
	}
	flags = X509_get_extension_flags(x);
	if (flags & EXFLAG_INVALID) {
		rc = REFUSE(err, "extensions", "signer refused: invalid or duplicate extensions");
		goto out;
	}
	if (!same_alg(ca, X509_get0_tbs_sigalg(x))) {
		rc = REFUSE(err, "algorithm",
		            "signer refused: signature algorithm is not the CA key's");
		goto out;
	}
	if (X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(ca->cert)) != 0) {
		rc = REFUSE(err, "issuer", "signer refused: issuer is not the CA's subject");
		goto out;
	}
	if (!aki_matches(ca, X509_get0_authority_key_id(x))) {
		rc = REFUSE(err, "aki",
		            "signer refused: authority key identifier is not the CA's SKI");
		goto out;
	}
	if (flags & EXFLAG_CA) {
		rc = REFUSE(err, "ca", "signer refused: basicConstraints CA:TRUE");
		goto out;
	}
	if ((flags & EXFLAG_KUSAGE) && (X509_get_key_usage(x) & KU_KEY_CERT_SIGN)) {
		rc = REFUSE(err, "key_usage", "signer refused: keyUsage keyCertSign");
		goto out;
	}
	if (ASN1_TIME_compare(X509_get0_notAfter(x), X509_get0_notAfter(ca->cert)) > 0) {
		rc = REFUSE(err, "validity",
		            "signer refused: notAfter is past the CA certificate's");
		goto out;
	}
	serial = X509_get0_serialNumber(x);
	if (ASN1_STRING_type(serial) != V_ASN1_INTEGER ||
	    ASN1_STRING_length(serial) != MCA_SERIAL_LEN || ASN1_STRING_get0_data(serial)[0] == 0 ||
	    (ASN1_STRING_get0_data(serial)[0] & 0x80)) {
		rc = REFUSE(err, "serial", "signer refused: serial is not %d octets and positive",
		            MCA_SERIAL_LEN);
		goto out;
	}
	rc = MCA_OK;
out:
	X509_free(x);
	free(der);
	ERR_clear_error();
	return rc;
}

/* ---- TBSCertList walking: its entries are checked without an object each ---- */

/* Extensions ::= SEQUENCE OF SEQUENCE { OID, BOOLEAN OPTIONAL, OCTET STRING } (content). */
static int
exts_ok(const unsigned char *p, size_t len)
{
	const unsigned char *end, *v, *q, *qe, *x;
	size_t n, m;
	unsigned tag;

	if (len == 0)
		return 0;
	end = p + len;
	while (p < end) {
		if (!mca_der_next(&p, end, &tag, &v, &n) || tag != 0x30)
			return 0;
		q = v;
		qe = v + n;
		if (!mca_der_next(&q, qe, &tag, &x, &m) || tag != 0x06 || m == 0)
			return 0;
		if (q < qe && *q == 0x01 &&
		    (!mca_der_next(&q, qe, &tag, &x, &m) || m != 1 || x[0] != 0xff))
			return 0;
		if (!mca_der_next(&q, qe, &tag, &x, &m) || tag != 0x04 || q != qe)
			return 0;
	}
	return 1;
}

/*
 * revokedCertificates (content): each SEQUENCE { INTEGER (positive, at
 * most 20 octets of magnitude), UTCTime or GeneralizedTime, Extensions
 * OPTIONAL }, used up exactly.  Returns the index of the first bad entry,
 * or -1 when all are well formed.
 */
static long
entries_bad(const unsigned char *p, size_t len)
{
	const unsigned char *end, *v, *q, *qe, *x;
	size_t n, m;
	unsigned tag;
	long i;

	/* No entries: p may be NULL (a CRL without revokedCertificates). */
	if (len == 0)
		return -1;
	end = p + len;
	for (i = 0; p < end; i++) {
		if (!mca_der_next(&p, end, &tag, &v, &n) || tag != 0x30)
			return i;
		q = v;
		qe = v + n;
		if (!mca_der_next(&q, qe, &tag, &x, &m) || tag != 0x02 || m == 0 || m > 21 ||
		    (x[0] & 0x80) || (m > 1 && x[0] == 0 && !(x[1] & 0x80)) ||
		    (m == 21 && x[0] != 0) || (m == 1 && x[0] == 0))
			return i;
		if (!mca_der_next(&q, qe, &tag, &x, &m) ||
		    !((tag == 0x17 && m == 13) || (tag == 0x18 && m == 15)))
			return i;
		if (q < qe &&
		    (!mca_der_next(&q, qe, &tag, &x, &m) || tag != 0x30 || !exts_ok(x, m)))
			return i;
		if (q != qe)
			return i;
	}
	return -1;
}

/*
 * Split a TBSCertList into its revokedCertificates and the rest: *rest
 * (malloc'd) is the TBS without that element, *list and *list_len its
 * content (NULL, 0 when absent).  0 when `tbs` is not one SEQUENCE of the fields
 * of RFC 5280 5.1.2 in their order (what d2i_X509_CRL then checks).
 */
static int
split_entries(const unsigned char *tbs, size_t tbs_len, unsigned char **rest, size_t *rest_len,
              const unsigned char **list, size_t *list_len)
{
	const unsigned char *p = tbs, *end = tbs + tbs_len, *v, *q, *qe, *el, *x, *lstart = NULL;
	size_t n, m, field = 0;
	unsigned tag;
	struct mca_der d;
	size_t mark;

	*rest = NULL;
	*list = NULL;
	*list_len = 0;
	if (!mca_der_next(&p, end, &tag, &v, &n) || tag != 0x30 || p != end)
		return 0;
	q = v;
	qe = v + n;
	/* version?, signature, issuer, thisUpdate, nextUpdate?, then the list if any */
	if (q < qe && *q == 0x02 && !mca_der_next(&q, qe, &tag, &x, &m))
		return 0;
	for (field = 0; field < 3; field++)
		if (!mca_der_next(&q, qe, &tag, &x, &m) ||
		    (field < 2 ? tag != 0x30 : (tag != 0x17 && tag != 0x18)))
			return 0;
	if (q < qe && (*q == 0x17 || *q == 0x18) && !mca_der_next(&q, qe, &tag, &x, &m))
		return 0;
	el = q;
	if (q < qe && *q == 0x30) {
		if (!mca_der_next(&q, qe, &tag, &x, &m))
			return 0;
		lstart = el;
		*list = x;
		*list_len = m;
	}
	mca_der_init(&d);
	mark = mca_der_open(&d, MCA_DER_SEQUENCE);
	if (lstart != NULL) {
		mca_der_raw(&d, v, (size_t)(lstart - v));
		mca_der_raw(&d, *list + *list_len, (size_t)(qe - (*list + *list_len)));
	} else {
		mca_der_raw(&d, v, n);
	}
	mca_der_close(&d, mark);
	if (d.failed) {
		mca_der_free(&d);
		return 0;
	}
	*rest = d.buf;
	*rest_len = d.len;
	return 1;
}

mca_rc
mca_lint_crl(const struct mca_lint_ca *ca, const unsigned char *tbs, size_t tbs_len, int64_t last,
             int64_t *number, struct mca_error *err)
{
	unsigned char *der = NULL, *rest = NULL;
	const unsigned char *p, *list = NULL;
	size_t der_len = 0, rest_len = 0, list_len = 0;
	long bad;
	X509_CRL *crl = NULL;
	AUTHORITY_KEYID *aki = NULL;
	ASN1_INTEGER *num = NULL;
	int64_t n = 0;
	int crit = 0;
	mca_rc rc;

	*number = 0;
	/*
	 * OpenSSL parses all but the entries (a million of them would be a
	 * million objects); the entries are walked here.
	 */
	if (!split_entries(tbs, tbs_len, &rest, &rest_len, &list, &list_len)) {
		rc = REFUSE(err, "parse", "signer refused: not one DER TBSCertList");
		goto out;
	}
	if ((bad = entries_bad(list, list_len)) >= 0) {
		rc = REFUSE(err, "parse", "signer refused: CRL entry %ld is malformed", bad);
		goto out;
	}
	der = wrap_unsigned(ca, rest, rest_len, &der_len);
	if (der == NULL) {
		rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		goto out;
	}
	p = der;
	crl = d2i_X509_CRL(NULL, &p, (long)der_len);
	if (crl == NULL || p != der + der_len) {
		rc = REFUSE(err, "parse", "signer refused: not one DER TBSCertList");
		goto out;
	}
	if (!crl_inner_alg_is(ca, tbs, tbs_len)) {
		rc = REFUSE(err, "algorithm",
		            "signer refused: signature algorithm is not the CA key's");
		goto out;
	}
	if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ca->cert)) != 0) {
		rc = REFUSE(err, "issuer", "signer refused: issuer is not the CA's subject");
		goto out;
	}
	aki = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, &crit, NULL);
	if (aki == NULL || !aki_matches(ca, aki->keyid)) {
		rc = REFUSE(err, "aki",
		            "signer refused: authority key identifier is not the CA's SKI");
		goto out;
	}
	num = X509_CRL_get_ext_d2i(crl, NID_crl_number, &crit, NULL);
	if (num == NULL || !ASN1_INTEGER_get_int64(&n, num) || n <= 0) {
		rc = REFUSE(err, "crl_number", "signer refused: no positive CRL number");
		goto out;
	}
	if (n <= last) {
		rc = REFUSE(
		    err, "crl_number",
		    "signer refused: CRL number %lld is not greater than %lld, the last signed",
		    (long long)n, (long long)last);
		goto out;
	}
	*number = n;
	rc = MCA_OK;
out:
	ASN1_INTEGER_free(num);
	AUTHORITY_KEYID_free(aki);
	X509_CRL_free(crl);
	free(rest);
	free(der);
	ERR_clear_error();
	return rc;
}

/*
 * ASN1_GENERALIZEDTIME as Unix time; 0 when unreadable.  By hand: timegm()
 * may read /etc/localtime, which the signer's seccomp filter forbids.
 */
static int
ocsp_time(const ASN1_GENERALIZEDTIME *t, int64_t *out)
{
	struct tm tm;
	int64_t y, m, era, yoe, doy, doe;

	if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
		return 0;
	/* days from civil (H. Hinnant) */
	y = (int64_t)tm.tm_year + 1900;
	m = tm.tm_mon + 1;
	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + tm.tm_mday - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	*out = ((era * 146097 + doe - 719468) * 86400) + tm.tm_hour * 3600 + tm.tm_min * 60 +
	       tm.tm_sec;
	return 1;
}

mca_rc
mca_lint_ocsp(X509 *issuer, EVP_PKEY *key, const unsigned char *tbs, size_t tbs_len, int64_t now,
              struct mca_error *err)
{
	static const unsigned char no_bits = 0;
	/* any AlgorithmIdentifier will do for the parse: the signature is the signer's */
	static const unsigned char alg[] = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86,
	                                    0x48, 0xce, 0x3d, 0x04, 0x03, 0x02};
	struct mca_ocsp_issuer_id iss;
	struct mca_der d;
	const unsigned char *p;
	OCSP_BASICRESP *bs = NULL;
	const ASN1_OCTET_STRING *rid_key = NULL;
	const X509_NAME *rid_name = NULL;
	ASN1_OCTET_STRING *nh = NULL, *kh = NULL;
	ASN1_OBJECT *md = NULL;
	ASN1_INTEGER *serial = NULL;
	ASN1_GENERALIZEDTIME *rev = NULL, *thisu = NULL, *nextu = NULL;
	OCSP_SINGLERESP *one;
	OCSP_CERTID *cid;
	unsigned char hash[MCA_OCSP_HASH_MAX];
	size_t hash_len = 0, mark, bits;
	int64_t produced = 0, t_this = 0, t_next = 0;
	int i, n, h, reason = 0, status;
	mca_rc rc;

	mca_der_init(&d);
	mark = mca_der_open(&d, MCA_DER_SEQUENCE);
	mca_der_raw(&d, tbs, tbs_len);
	mca_der_raw(&d, alg, sizeof(alg));
	bits = mca_der_open(&d, MCA_DER_BITSTRING);
	mca_der_raw(&d, &no_bits, 1);
	mca_der_close(&d, bits);
	mca_der_close(&d, mark);
	if (d.failed) {
		mca_der_free(&d);
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	}
	p = d.buf;
	bs = d2i_OCSP_BASICRESP(NULL, &p, (long)d.len);
	if (bs == NULL || p != d.buf + d.len ||
	    i2d_OCSP_RESPDATA(OCSP_resp_get0_respdata(bs), NULL) != (int)tbs_len) {
		rc = REFUSE(err, "parse", "signer refused: not one DER OCSP ResponseData");
		goto out;
	}
	if ((rc = mca_ocsp_key_hash(key, MCA_OCSP_SHA1, hash, &hash_len, err)) != MCA_OK ||
	    (rc = mca_ocsp_issuer_id(issuer, &iss, err)) != MCA_OK)
		goto out;
	if (!OCSP_resp_get0_id(bs, &rid_key, &rid_name) || rid_key == NULL ||
	    (size_t)ASN1_STRING_length(rid_key) != hash_len ||
	    memcmp(ASN1_STRING_get0_data(rid_key), hash, hash_len) != 0) {
		rc = REFUSE(err, "ocsp_responder",
		            "signer refused: the responderID is not the signing key's hash");
		goto out;
	}
	if (!ocsp_time(OCSP_resp_get0_produced_at(bs), &produced) ||
	    produced > now + MCA_LINT_OCSP_SKEW || produced < now - MCA_LINT_OCSP_SKEW) {
		rc = REFUSE(err, "ocsp_validity", "signer refused: producedAt is not now");
		goto out;
	}
	if (OCSP_BASICRESP_get_ext_count(bs) >
	    (OCSP_BASICRESP_get_ext_by_NID(bs, NID_id_pkix_OCSP_Nonce, -1) >= 0 ? 1 : 0)) {
		rc = REFUSE(err, "ocsp_extensions",
		            "signer refused: a response extension other than the nonce");
		goto out;
	}
	n = OCSP_resp_count(bs);
	if (n < 1 || n > MCA_OCSP_MAX_CERTS) {
		rc = REFUSE(err, "ocsp_count", "signer refused: %d single responses (1 to %d)", n,
		            MCA_OCSP_MAX_CERTS);
		goto out;
	}
	for (i = 0; i < n; i++) {
		one = OCSP_resp_get0(bs, i);
		cid = (OCSP_CERTID *)(uintptr_t)OCSP_SINGLERESP_get0_id(one);
		if (!OCSP_id_get0_info(&nh, &md, &kh, &serial, cid)) {
			rc = REFUSE(err, "parse", "signer refused: a CertID without its fields");
			goto out;
		}
		h = OBJ_obj2nid(md) == NID_sha1     ? MCA_OCSP_SHA1
		    : OBJ_obj2nid(md) == NID_sha256 ? MCA_OCSP_SHA256
		                                    : 0;
		if (h == 0 || (size_t)ASN1_STRING_length(nh) != iss.len[h] ||
		    (size_t)ASN1_STRING_length(kh) != iss.len[h] ||
		    memcmp(ASN1_STRING_get0_data(nh), iss.name[h], iss.len[h]) != 0 ||
		    memcmp(ASN1_STRING_get0_data(kh), iss.key[h], iss.len[h]) != 0) {
			rc = REFUSE(err, "ocsp_issuer",
			            "signer refused: a CertID does not name this signer's CA");
			goto out;
		}
		status = OCSP_single_get0_status(one, &reason, &rev, &thisu, &nextu);
		if (status < V_OCSP_CERTSTATUS_GOOD || status > V_OCSP_CERTSTATUS_UNKNOWN ||
		    !ocsp_time(thisu, &t_this) || !ocsp_time(nextu, &t_next) ||
		    t_this > now + MCA_LINT_OCSP_SKEW || t_next <= t_this ||
		    t_next - t_this > MCA_LINT_OCSP_MAX_VALIDITY) {
			rc = REFUSE(
			    err, "ocsp_validity",
			    "signer refused: thisUpdate/nextUpdate missing, in the future or "
			    "more than %d s apart",
			    MCA_LINT_OCSP_MAX_VALIDITY);
			goto out;
		}
		if (OCSP_SINGLERESP_get_ext_count(one) != 0) {
			rc = REFUSE(err, "ocsp_extensions",
			            "signer refused: an extension in a single response");
			goto out;
		}
	}
	rc = MCA_OK;
out:
	OCSP_BASICRESP_free(bs);
	mca_der_free(&d);
	ERR_clear_error();
	return rc;
}
