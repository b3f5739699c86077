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
 * SEQUENCE { tbs, alg, BIT STRING (empty) }: what d2i_X509_CRL takes, so
 * OpenSSL parses the TBSCertList (without its entries) for us.  The outer SEQUENCE must be used
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

/* ---- DER pieces the walks below share (certificates and CRLs) ---- */

/* An OID's content: at least one octet, each sub-identifier minimal and ended. */
static int
oid_ok(const unsigned char *x, size_t m)
{
	size_t i;

	if (m == 0 || (x[m - 1] & 0x80))
		return 0;
	for (i = 0; i < m; i++)
		if (x[i] == 0x80 && (i == 0 || !(x[i - 1] & 0x80)))
			return 0; /* a sub-identifier starting with a zero septet */
	return 1;
}

/* An INTEGER's content is minimal and not negative. */
static int
uint_ok(const unsigned char *x, size_t m)
{
	return m >= 1 && !(x[0] & 0x80) && !(m > 1 && x[0] == 0 && !(x[1] & 0x80));
}

/* A BIT STRING's content: the unused-bits octet at most 7, those bits zero. */
static int
bits_ok(const unsigned char *x, size_t m)
{
	return m >= 1 && x[0] <= 7 && (m > 1 || x[0] == 0) &&
	       (m == 1 || (x[m - 1] & ((1u << x[0]) - 1)) == 0);
}

/* Seconds since 1970 of a proleptic Gregorian date and time (days from civil, H. Hinnant). */
static int64_t
civil_seconds(int64_t y, int64_t m, int64_t d, int64_t hh, int64_t mm, int64_t ss)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (era * 146097 + doe - 719468) * 86400 + hh * 3600 + mm * 60 + ss;
}

/* `n` decimal digits at `x`, or -1. */
static int
digits(const unsigned char *x, size_t n)
{
	int v = 0;

	for (; n > 0; n--, x++) {
		if (*x < '0' || *x > '9')
			return -1;
		v = v * 10 + (*x - '0');
	}
	return v;
}

/*
 * A Time (tag and content) as Unix time: UTCTime YYMMDDHHMMSSZ for the
 * years through 2049, GeneralizedTime YYYYMMDDHHMMSSZ from 2050 (RFC 5280
 * 4.1.2.5 and 5.1.2.4), an existing date, a time of day within 23:59:59.
 * 0 when it is not that.
 */
static int
time_value(unsigned tag, const unsigned char *x, size_t m, int64_t *out)
{
	static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, mo, d, hh, mi, ss;
	size_t yl;

	if (tag == 0x17 && m == 13)
		yl = 2;
	else if (tag == 0x18 && m == 15)
		yl = 4;
	else
		return 0;
	if (x[m - 1] != 'Z' || (y = digits(x, yl)) < 0 || (mo = digits(x + yl, 2)) < 1 || mo > 12 ||
	    (d = digits(x + yl + 2, 2)) < 1 || d > mdays[mo - 1] ||
	    (hh = digits(x + yl + 4, 2)) < 0 || hh > 23 || (mi = digits(x + yl + 6, 2)) < 0 ||
	    mi > 59 || (ss = digits(x + yl + 8, 2)) < 0 || ss > 59)
		return 0;
	if (yl == 2)
		y += y < 50 ? 2000 : 1900;
	else if (y < 2050)
		return 0;
	if (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return 0;
	*out = civil_seconds(y, mo, d, hh, mi, ss);
	return 1;
}

/* One Extension of an Extensions list. */
struct ext {
	const unsigned char *oid, *val; /* contents of extnID and extnValue */
	size_t oid_len, val_len;
	int critical;
};

/*
 * The Extension at *p (before `end`): SEQUENCE { OID, BOOLEAN DEFAULT
 * FALSE (so in DER absent or TRUE), OCTET STRING }, used up exactly; *p
 * moves past it.  0 when it is not that.
 */
static int
ext_next(const unsigned char **p, const unsigned char *end, struct ext *e)
{
	const unsigned char *v, *q, *qe, *x;
	size_t n, m;
	unsigned tag;

	if (!mca_der_next(p, end, &tag, &v, &n) || tag != 0x30)
		return 0;
	q = v;
	qe = v + n;
	if (!mca_der_next(&q, qe, &tag, &e->oid, &e->oid_len) || tag != 0x06 ||
	    !oid_ok(e->oid, e->oid_len))
		return 0;
	e->critical = 0;
	if (q < qe && *q == 0x01) {
		if (!mca_der_next(&q, qe, &tag, &x, &m) || m != 1 || x[0] != 0xff)
			return 0;
		e->critical = 1;
	}
	return mca_der_next(&q, qe, &tag, &e->val, &e->val_len) && tag == 0x04 && q == qe;
}

/* Extensions ::= SEQUENCE SIZE (1..MAX) OF Extension (content). */
static int
exts_ok(const unsigned char *p, size_t len)
{
	const unsigned char *end = p + len;
	struct ext e;

	if (len == 0)
		return 0;
	while (p < end)
		if (!ext_next(&p, end, &e))
			return 0;
	return 1;
}

/* `x`..`x + m` is exactly one element: its tag in *tag, its content in *v, *n. */
static int
one(const unsigned char *x, size_t m, unsigned *tag, const unsigned char **v, size_t *n)
{
	const unsigned char *q = x;

	return mca_der_next(&q, x + m, tag, v, n) && q == x + m;
}

/* ... and of tag `want`. */
static int
only(const unsigned char *x, size_t m, unsigned want, const unsigned char **v, size_t *n)
{
	unsigned tag;

	return one(x, m, &tag, v, n) && tag == want;
}

/*
 * A sequence of AttributeTypeAndValue (the content of an RDN's SET):
 * SEQUENCE { OID, one element }, at least one.
 */
static int
atvs_ok(const unsigned char *p, size_t len)
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
		if (!mca_der_next(&q, qe, &tag, &x, &m) || tag != 0x06 || !oid_ok(x, m) ||
		    !mca_der_next(&q, qe, &tag, &x, &m) || q != qe)
			return 0;
	}
	return 1;
}

/* Name (content): SEQUENCE OF RelativeDistinguishedName, each a non-empty SET. */
static int
name_ok(const unsigned char *p, size_t len)
{
	const unsigned char *end = p + len, *v;
	size_t n;
	unsigned tag;

	while (p < end)
		if (!mca_der_next(&p, end, &tag, &v, &n) || tag != 0x31 || !atvs_ok(v, n))
			return 0;
	return 1;
}

/*
 * GeneralNames (content), at least one: otherName, rfc822Name, dNSName
 * and URI (7-bit), directoryName, iPAddress (4 or 16 octets),
 * registeredID.  x400Address and ediPartyName, which certgen never
 * writes, are refused.
 */
static int
gnames_ok(const unsigned char *p, size_t len)
{
	const unsigned char *end = p + len, *v, *q, *x;
	size_t n, m, i;
	unsigned tag;

	if (len == 0)
		return 0;
	while (p < end) {
		if (!mca_der_next(&p, end, &tag, &v, &n))
			return 0;
		switch (tag) {
		case 0xa0: /* otherName: type-id OID, [0] EXPLICIT value */
			q = v;
			if (!mca_der_next(&q, v + n, &tag, &x, &m) || tag != 0x06 ||
			    !oid_ok(x, m) || !mca_der_next(&q, v + n, &tag, &x, &m) ||
			    tag != 0xa0 || q != v + n || !one(x, m, &tag, &x, &m))
				return 0;
			break;
		case 0x81:
		case 0x82:
		case 0x86:
			for (i = 0; i < n; i++)
				if (v[i] & 0x80)
					return 0;
			break;
		case 0xa4: /* directoryName: EXPLICIT Name */
			if (!only(v, n, 0x30, &x, &m) || !name_ok(x, m))
				return 0;
			break;
		case 0x87:
			if (n != 4 && n != 16)
				return 0;
			break;
		case 0x88:
			if (!oid_ok(v, n))
				return 0;
			break;
		default:
			return 0;
		}
	}
	return 1;
}

/* basicConstraints: SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLen INTEGER (0..MAX) OPTIONAL }. */
static int
bc_ok(const unsigned char *val, size_t len, int *ca)
{
	const unsigned char *q, *qe, *x;
	size_t m;
	unsigned tag;

	if (!only(val, len, 0x30, &q, &m))
		return 0;
	qe = q + m;
	*ca = 0;
	if (q < qe && *q == 0x01) {
		if (!mca_der_next(&q, qe, &tag, &x, &m) || m != 1 || x[0] != 0xff)
			return 0;
		*ca = 1;
	}
	/* a pathLen only with cA (RFC 5280 4.2.1.9) */
	if (q < qe &&
	    (!*ca || !mca_der_next(&q, qe, &tag, &x, &m) || tag != 0x02 || !uint_ok(x, m)))
		return 0;
	return q == qe;
}

/* keyUsage: a minimal BIT STRING of the nine named bits with one set (RFC 5280 4.2.1.3). */
static int
ku_ok(const unsigned char *val, size_t len, int *cert_sign)
{
	const unsigned char *x;
	size_t m;

	if (!only(val, len, 0x03, &x, &m) || m < 2 || m > 3 || !bits_ok(x, m) || x[m - 1] == 0)
		return 0;
	*cert_sign = (x[1] & 0x04) != 0; /* bit 5, keyCertSign */
	return 1;
}

/* extKeyUsage: SEQUENCE SIZE (1..MAX) OF OID. */
static int
eku_ok(const unsigned char *val, size_t len)
{
	const unsigned char *p, *end, *x;
	size_t m;
	unsigned tag;

	if (!only(val, len, 0x30, &p, &m) || m == 0)
		return 0;
	for (end = p + m; p < end;)
		if (!mca_der_next(&p, end, &tag, &x, &m) || tag != 0x06 || !oid_ok(x, m))
			return 0;
	return 1;
}

/*
 * authorityKeyIdentifier: SEQUENCE { [0] keyIdentifier, [1]
 * authorityCertIssuer GeneralNames, [2] authorityCertSerialNumber, each
 * OPTIONAL }; *keyid its keyIdentifier (NULL when absent).
 */
static int
aki_ok(const unsigned char *val, size_t len, const unsigned char **keyid, size_t *keyid_len)
{
	const unsigned char *q, *qe, *x;
	size_t m;
	unsigned tag;

	*keyid = NULL;
	*keyid_len = 0;
	if (!only(val, len, 0x30, &q, &m))
		return 0;
	qe = q + m;
	if (q < qe && *q == 0x80 && !mca_der_next(&q, qe, &tag, keyid, keyid_len))
		return 0;
	if (q < qe && *q == 0xa1 && (!mca_der_next(&q, qe, &tag, &x, &m) || !gnames_ok(x, m)))
		return 0;
	if (q < qe && *q == 0x82 && (!mca_der_next(&q, qe, &tag, &x, &m) || !uint_ok(x, m)))
		return 0;
	return q == qe;
}

/*
 * cRLDistributionPoints: SEQUENCE SIZE (1..MAX) OF SEQUENCE {
 * [0] distributionPoint { [0] fullName GeneralNames | [1] RDN },
 * [1] reasons BIT STRING, [2] cRLIssuer GeneralNames, each OPTIONAL }.
 */
static int
crldp_ok(const unsigned char *val, size_t len)
{
	const unsigned char *p, *end, *v, *q, *qe, *x;
	size_t n, m;
	unsigned tag;

	if (!only(val, len, 0x30, &p, &n) || n == 0)
		return 0;
	for (end = p + n; p < end;) {
		if (!mca_der_next(&p, end, &tag, &v, &n) || tag != 0x30)
			return 0;
		q = v;
		qe = v + n;
		if (q < qe && *q == 0xa0) {
			if (!mca_der_next(&q, qe, &tag, &x, &m) || !one(x, m, &tag, &x, &m) ||
			    !(tag == 0xa0 ? gnames_ok(x, m) : tag == 0xa1 && atvs_ok(x, m)))
				return 0;
		}
		if (q < qe && *q == 0x81 && (!mca_der_next(&q, qe, &tag, &x, &m) || !bits_ok(x, m)))
			return 0;
		if (q < qe && *q == 0xa2 &&
		    (!mca_der_next(&q, qe, &tag, &x, &m) || !gnames_ok(x, m)))
			return 0;
		if (q != qe)
			return 0;
	}
	return 1;
}

/* What the walk of a TBSCertificate found, for the checks in their order. */
struct tbs_view {
	const unsigned char *serial, *alg, *issuer;
	size_t serial_len, alg_len, issuer_len;
	int64_t not_after;
	int exts_invalid, ca, cert_sign;
	const unsigned char *keyid; /* the AKI's keyIdentifier, NULL: none */
	size_t keyid_len;
};

/* The OIDs (content) of the extensions lint reads: id-ce 19, 15, 37, 14, 35, 17, 31. */
enum { X_BC, X_KU, X_EKU, X_SKI, X_AKI, X_SAN, X_CRLDP, X_OTHER };
static const unsigned char ce_arc[2] = {0x55, 0x1d};
static const unsigned char ce_last[X_OTHER] = {19, 15, 37, 14, 35, 17, 31};

static int
ext_kind(const struct ext *e)
{
	int k;

	if (e->oid_len == 3 && memcmp(e->oid, ce_arc, 2) == 0)
		for (k = 0; k < X_OTHER; k++)
			if (e->oid[2] == ce_last[k])
				return k;
	return X_OTHER;
}

/*
 * The extensions (the content of the SEQUENCE in [3]): 0 when the list
 * is not DER Extensions; v->exts_invalid when there are more than
 * MCA_LINT_MAX_EXTS, one occurs twice, or one lint reads is malformed
 * (what OpenSSL's x509v3_cache_extensions flags EXFLAG_INVALID: a
 * basicConstraints, keyUsage (also an empty one), extKeyUsage, SKI,
 * AKI, subjectAltName or cRLDistributionPoints that does not decode, or
 * that occurs twice; here any extension twice, RFC 5280 4.2).
 */
static int
exts_walk(const unsigned char *p, size_t len, struct tbs_view *v)
{
	const unsigned char *end = p + len, *x;
	struct ext e[MCA_LINT_MAX_EXTS], one_ext;
	size_t i, j, n = 0, m;
	int ok;

	if (len == 0)
		return 0;
	for (; p < end; n++) {
		if (!ext_next(&p, end, &one_ext))
			return 0;
		if (n < MCA_LINT_MAX_EXTS)
			e[n] = one_ext;
	}
	if (n > MCA_LINT_MAX_EXTS) {
		v->exts_invalid = 1;
		return 1;
	}
	for (i = 0; i < n; i++) {
		for (j = 0; j < i; j++)
			if (e[j].oid_len == e[i].oid_len &&
			    memcmp(e[j].oid, e[i].oid, e[i].oid_len) == 0)
				v->exts_invalid = 1;
		switch (ext_kind(&e[i])) {
		case X_BC:
			ok = bc_ok(e[i].val, e[i].val_len, &v->ca);
			break;
		case X_KU:
			ok = ku_ok(e[i].val, e[i].val_len, &v->cert_sign);
			break;
		case X_EKU:
			ok = eku_ok(e[i].val, e[i].val_len);
			break;
		case X_SKI:
			ok = only(e[i].val, e[i].val_len, 0x04, &x, &m);
			break;
		case X_AKI:
			ok = aki_ok(e[i].val, e[i].val_len, &v->keyid, &v->keyid_len);
			break;
		case X_SAN:
			ok = only(e[i].val, e[i].val_len, 0x30, &x, &m) && gnames_ok(x, m);
			break;
		case X_CRLDP:
			ok = crldp_ok(e[i].val, e[i].val_len);
			break;
		default:
			ok = 1;
			break;
		}
		if (!ok)
			v->exts_invalid = 1;
	}
	return 1;
}

/* SubjectPublicKeyInfo (content): SEQUENCE { OID, parameters OPTIONAL }, BIT STRING.  The key is
 * not decoded. */
static int
spki_ok(const unsigned char *p, size_t len)
{
	const unsigned char *end = p + len, *v, *q, *x;
	size_t n, m;
	unsigned tag;

	if (!mca_der_next(&p, end, &tag, &v, &n) || tag != 0x30)
		return 0;
	q = v;
	if (!mca_der_next(&q, v + n, &tag, &x, &m) || tag != 0x06 || !oid_ok(x, m) ||
	    (q < v + n && !mca_der_next(&q, v + n, &tag, &x, &m)) || q != v + n)
		return 0;
	return mca_der_next(&p, end, &tag, &x, &m) && tag == 0x03 && bits_ok(x, m) && p == end;
}

enum tbs_bad { TBS_OK, TBS_PARSE, TBS_VERSION };

/*
 * Walk a TBSCertificate (RFC 5280 4.1): exactly one DER SEQUENCE {
 * version [0] { INTEGER 2 }, serialNumber INTEGER, signature
 * AlgorithmIdentifier, issuer Name, validity { Time, Time }, subject
 * Name, subjectPublicKeyInfo, extensions [3] { Extensions } OPTIONAL }.
 * The unique identifiers ([1], [2]) are refused: only version 2 and 3
 * certificates have them, RFC 5280 4.1.2.8 says a CA conforming to it
 * must not write them, and certgen never does.
 */
static enum tbs_bad
tbs_walk(const unsigned char *tbs, size_t tbs_len, struct tbs_view *v)
{
	const unsigned char *p = tbs, *q, *qe, *x, *s, *y, *ye;
	size_t n, m;
	unsigned tag;
	int64_t t;

	memset(v, 0, sizeof(*v));
	if (!mca_der_next(&p, tbs + tbs_len, &tag, &q, &n) || tag != 0x30 || p != tbs + tbs_len)
		return TBS_PARSE;
	qe = q + n;
	if (q < qe && *q == 0x02)
		return TBS_VERSION; /* no version: a version 1 certificate */
	if (!mca_der_next(&q, qe, &tag, &x, &m) || tag != 0xa0)
		return TBS_PARSE;
	if (!only(x, m, 0x02, &x, &m) || m != 1 || x[0] != 2)
		return TBS_VERSION;
	if (!mca_der_next(&q, qe, &tag, &v->serial, &v->serial_len) || tag != 0x02 ||
	    v->serial_len == 0)
		return TBS_PARSE;
	/* signature and issuer: kept whole, compared byte for byte */
	s = q;
	if (!mca_der_next(&q, qe, &tag, &x, &m) || tag != 0x30)
		return TBS_PARSE;
	v->alg = s;
	v->alg_len = (size_t)(q - s);
	s = q;
	if (!mca_der_next(&q, qe, &tag, &x, &m) || tag != 0x30 || !name_ok(x, m))
		return TBS_PARSE;
	v->issuer = s;
	v->issuer_len = (size_t)(q - s);
	/* validity: notBefore, notAfter */
	if (!mca_der_next(&q, qe, &tag, &y, &m) || tag != 0x30)
		return TBS_PARSE;
	ye = y + m;
	if (!mca_der_next(&y, ye, &tag, &x, &m) || !time_value(tag, x, m, &t) ||
	    !mca_der_next(&y, ye, &tag, &x, &m) || !time_value(tag, x, m, &v->not_after) || y != ye)
		return TBS_PARSE;
	if (!mca_der_next(&q, qe, &tag, &x, &m) || tag != 0x30 || !name_ok(x, m))
		return TBS_PARSE;
	if (!mca_der_next(&q, qe, &tag, &x, &m) || tag != 0x30 || !spki_ok(x, m))
		return TBS_PARSE;
	if (q < qe) {
		if (!mca_der_next(&q, qe, &tag, &x, &m) || tag != 0xa3 ||
		    !only(x, m, 0x30, &x, &m) || !exts_walk(x, m, v))
			return TBS_PARSE;
	}
	return q == qe ? TBS_OK : TBS_PARSE;
}

/* A keyIdentifier is the CA's SKI. */
static int
keyid_is_ca(const struct mca_lint_ca *ca, const unsigned char *keyid, size_t len)
{
	return keyid != NULL && ca->ski != NULL && len == ca->ski_len &&
	       memcmp(keyid, ca->ski, len) == 0;
}

/* ASN1_TIME as Unix time; 0 when unreadable.  By hand: timegm() may read /etc/localtime, which the
 * signer's seccomp filter forbids. */
static int
asn1_time_unix(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;

	if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
		return 0;
	*out = civil_seconds((int64_t)tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	                     tm.tm_min, tm.tm_sec);
	return 1;
}

mca_rc
mca_lint_ca_init(struct mca_lint_ca *ca, X509 *cert, const unsigned char *alg, size_t alg_len,
                 struct mca_error *err)
{
	const ASN1_OCTET_STRING *ski;

	memset(ca, 0, sizeof(*ca));
	ca->cert = cert;
	ca->alg = alg;
	ca->alg_len = alg_len;
	/*
	 * The subject's DER as the certificate holds it: certgen copies the
	 * issuer Name from this certificate (X509_set_issuer_name keeps the
	 * encoding), so a TBS of ours carries these very bytes, and comparing
	 * bytes is as good as X509_NAME_cmp's canonical forms here (a Name
	 * that only compares equal after canonicalisation was not built by
	 * us, and is refused).
	 */
	if (!X509_NAME_get0_der(X509_get_subject_name(cert), &ca->subject, &ca->subject_len) ||
	    !asn1_time_unix(X509_get0_notAfter(cert), &ca->not_after)) {
		ERR_clear_error();
		memset(ca, 0, sizeof(*ca));
		return mca_error_set(err, MCA_ERR_CRYPTO,
		                     "CA certificate: unreadable subject or notAfter");
	}
	ski = X509_get0_subject_key_id(cert);
	if (ski != NULL) {
		ca->ski = ASN1_STRING_get0_data(ski);
		ca->ski_len = (size_t)ASN1_STRING_length(ski);
	}
	ERR_clear_error();
	return MCA_OK;
}

mca_rc
mca_lint_cert(const struct mca_lint_ca *ca, const unsigned char *tbs, size_t tbs_len,
              struct mca_error *err)
{
	struct tbs_view v;

	switch (tbs_walk(tbs, tbs_len, &v)) {
	case TBS_OK:
		break;
	case TBS_VERSION:
		return REFUSE(err, "parse", "signer refused: not a version 3 TBSCertificate");
	default:
		return REFUSE(err, "parse", "signer refused: not one DER TBSCertificate");
	}
	if (v.exts_invalid)
		return REFUSE(err, "extensions", "signer refused: invalid or duplicate extensions");
	if (v.alg_len != ca->alg_len || memcmp(v.alg, ca->alg, ca->alg_len) != 0)
		return REFUSE(err, "algorithm",
		              "signer refused: signature algorithm is not the CA key's");
	if (ca->subject == NULL || v.issuer_len != ca->subject_len ||
	    memcmp(v.issuer, ca->subject, ca->subject_len) != 0)
		return REFUSE(err, "issuer", "signer refused: issuer is not the CA's subject");
	if (!keyid_is_ca(ca, v.keyid, v.keyid_len))
		return REFUSE(err, "aki",
		              "signer refused: authority key identifier is not the CA's SKI");
	if (v.ca)
		return REFUSE(err, "ca", "signer refused: basicConstraints CA:TRUE");
	if (v.cert_sign)
		return REFUSE(err, "key_usage", "signer refused: keyUsage keyCertSign");
	if (v.not_after > ca->not_after)
		return REFUSE(err, "validity",
		              "signer refused: notAfter is past the CA certificate's");
	if (v.serial_len != MCA_SERIAL_LEN || v.serial[0] == 0 || (v.serial[0] & 0x80))
		return REFUSE(err, "serial", "signer refused: serial is not %d octets and positive",
		              MCA_SERIAL_LEN);
	return MCA_OK;
}

/* ---- TBSCertList walking: its entries are checked without an object each ---- */

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
	int64_t t;
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
		if (!mca_der_next(&q, qe, &tag, &x, &m) || tag != 0x02 || !uint_ok(x, m) ||
		    m > 21 || (m == 21 && x[0] != 0) || (m == 1 && x[0] == 0))
			return i;
		if (!mca_der_next(&q, qe, &tag, &x, &m) || !time_value(tag, x, m, &t))
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
	if (aki == NULL || aki->keyid == NULL ||
	    !keyid_is_ca(ca, ASN1_STRING_get0_data(aki->keyid),
	                 (size_t)ASN1_STRING_length(aki->keyid))) {
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
	if (!asn1_time_unix(OCSP_resp_get0_produced_at(bs), &produced) ||
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
		    !asn1_time_unix(thisu, &t_this) || !asn1_time_unix(nextu, &t_next) ||
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
