/* lint.c - the signer's checks before it signs (see lint.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "common/der.h"
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
	const unsigned char *end = p + len, *v, *q, *qe, *x;
	size_t n, m;
	unsigned tag;

	if (len == 0)
		return 0;
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
	const unsigned char *end = p + len, *v, *q, *qe, *x;
	size_t n, m;
	unsigned tag;
	long i;

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
