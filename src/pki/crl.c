/* crl.c - CRL encoding and files. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "common/der.h"
#include "common/util.h"
#include "pki/crl.h"

static const struct {
	const char *name;
	int value;
} reasons[] = {
    {"unspecified", MCA_REASON_UNSPECIFIED},
    {"keyCompromise", MCA_REASON_KEY_COMPROMISE},
    {"caCompromise", MCA_REASON_CA_COMPROMISE},
    {"affiliationChanged", MCA_REASON_AFFILIATION_CHANGED},
    {"superseded", MCA_REASON_SUPERSEDED},
    {"cessationOfOperation", MCA_REASON_CESSATION_OF_OPERATION},
    {"privilegeWithdrawn", MCA_REASON_PRIVILEGE_WITHDRAWN},
};

int
mca_crl_reason_parse(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (strcmp(name, reasons[i].name) == 0)
			return reasons[i].value;
	return -1;
}

const char *
mca_crl_reason_name(int reason)
{
	size_t i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].value == reason)
			return reasons[i].name;
	return "unspecified";
}

/* Whether `e` can be encoded: a positive serial of 1..20 octets, one of our reasons. */
static mca_rc
entry_check(const struct mca_crl_entry *e, size_t i, struct mca_error *err)
{
	size_t k;

	for (k = 0; k < e->serial_len && k < sizeof(e->serial); k++)
		if (e->serial[k] != 0)
			break;
	if (e->serial_len > sizeof(e->serial) || k == e->serial_len)
		return mca_error_set(
		    err, MCA_ERR_INVAL,
		    "CRL entry %zu: serial is not a positive integer of 1..20 octets", i);
	for (k = 0; k < sizeof(reasons) / sizeof(reasons[0]); k++)
		if (reasons[k].value == e->reason)
			return MCA_OK;
	return mca_error_set(err, MCA_ERR_INVAL, "CRL entry %zu: unknown reason %d", i, e->reason);
}

/*
 * Whether `t` can be written as a CRL time: a GeneralizedTime has four
 * digits of year (RFC 5280 4.1.2.5.2); ASN1_TIME_set writes later years
 * as text no parser reads back.
 */
static mca_rc
time_check(int64_t t, const char *what, size_t i, struct mca_error *err)
{
	if (t >= MCA_CRL_TIME_MIN && t <= MCA_CRL_TIME_MAX)
		return MCA_OK;
	if (i == (size_t)-1)
		return mca_error_set(err, MCA_ERR_INVAL,
		                     "CRL %s %lld is outside the years 0000..9999", what,
		                     (long long)t);
	return mca_error_set(err, MCA_ERR_INVAL,
	                     "CRL entry %zu: %s %lld is outside the years 0000..9999", i, what,
	                     (long long)t);
}

/* OIDs (content octets) of the extensions we write. */
static const unsigned char oid_aki[] = {0x55, 0x1d, 0x23};         /* 2.5.29.35 */
static const unsigned char oid_crl_number[] = {0x55, 0x1d, 0x14};  /* 2.5.29.20 */
static const unsigned char oid_reason_code[] = {0x55, 0x1d, 0x15}; /* 2.5.29.21 */
static const unsigned char oid_idp[] = {0x55, 0x1d, 0x1c};         /* 2.5.29.28 */

/* Append an ASN.1 Time (UTCTime through 2049, GeneralizedTime after). */
static void
der_time(struct mca_der *d, int64_t t)
{
	ASN1_TIME *at = ASN1_TIME_set(NULL, (time_t)t);
	unsigned char *p = NULL;
	int n;

	if (at == NULL) {
		d->failed = 1;
		return;
	}
	n = i2d_ASN1_TIME(at, &p);
	if (n <= 0)
		d->failed = 1;
	else
		mca_der_raw(d, p, (size_t)n);
	OPENSSL_free(p);
	ASN1_TIME_free(at);
}

/* Extension ::= SEQUENCE { extnID, critical DEFAULT FALSE, extnValue OCTET STRING } */
static size_t
ext_open(struct mca_der *d, const unsigned char *oid, size_t oid_len, size_t *octets)
{
	size_t seq = mca_der_open(d, MCA_DER_SEQUENCE);

	mca_der_tlv(d, MCA_DER_OID, oid, oid_len);
	*octets = mca_der_open(d, MCA_DER_OCTETS);
	return seq;
}

static void
ext_close(struct mca_der *d, size_t seq, size_t octets)
{
	mca_der_close(d, octets);
	mca_der_close(d, seq);
}

mca_rc
mca_crl_entry_encode(const struct mca_crl_entry *e, unsigned char *der, size_t *der_len,
                     unsigned char *key, size_t *key_len, struct mca_error *err)
{
	struct mca_der d;
	size_t ent, exts, seq, octets, k;
	mca_rc rc;

	*der_len = 0;
	*key_len = 0;
	if ((rc = entry_check(e, 0, err)) != MCA_OK ||
	    (rc = time_check(e->revoked_at, "revocation time", 0, err)) != MCA_OK)
		return rc;
	mca_der_init(&d);
	ent = mca_der_open(&d, MCA_DER_SEQUENCE);
	mca_der_uint(&d, e->serial, e->serial_len);
	der_time(&d, e->revoked_at);
	if (e->reason != MCA_REASON_UNSPECIFIED) {
		exts = mca_der_open(&d, MCA_DER_SEQUENCE);
		seq = ext_open(&d, oid_reason_code, sizeof(oid_reason_code), &octets);
		mca_der_int64(&d, MCA_DER_ENUMERATED, e->reason);
		ext_close(&d, seq, octets);
		mca_der_close(&d, exts);
	}
	mca_der_close(&d, ent);
	if (d.failed || d.len > MCA_CRL_ENTRY_MAX) {
		mca_der_free(&d);
		return mca_error_set(err, MCA_ERR_NOMEM, "encoding a CRL entry: out of memory");
	}
	memcpy(der, d.buf, d.len);
	*der_len = d.len;
	mca_der_free(&d);
	for (k = 0; k < e->serial_len && e->serial[k] == 0; k++)
		;
	key[0] = (unsigned char)(e->serial_len - k);
	memcpy(key + 1, e->serial + k, e->serial_len - k);
	*key_len = 1 + e->serial_len - k;
	return MCA_OK;
}

mca_rc
mca_crl_entry_set(struct mca_crl_entry *e, const char *hex, int64_t revoked_at, const char *reason,
                  struct mca_error *err)
{
	size_t n = hex != NULL ? strlen(hex) : 0, i, pos;
	int v, r;

	memset(e, 0, sizeof(*e));
	if (n == 0 || n > 2 * sizeof(e->serial))
		return mca_error_set(err, MCA_ERR_INVAL, "serial is not 1..40 hex digits");
	/* an odd number of digits has an implicit leading 0 */
	e->serial_len = (n + 1) / 2;
	for (i = 0; i < n; i++) {
		v = OPENSSL_hexchar2int((unsigned char)hex[i]);
		if (v < 0)
			return mca_error_set(err, MCA_ERR_INVAL, "serial is not 1..40 hex digits");
		pos = i + (n & 1);
		e->serial[pos / 2] |= (unsigned char)((pos & 1) ? v : v << 4);
	}
	r = reason != NULL ? mca_crl_reason_parse(reason) : MCA_REASON_UNSPECIFIED;
	if (r < 0)
		return mca_error_set(err, MCA_ERR_INVAL, "unknown reason '%.32s'", reason);
	e->revoked_at = revoked_at;
	e->reason = r;
	return MCA_OK;
}

unsigned
mca_crl_shard_of(const unsigned char *serial, size_t len, unsigned n)
{
	uint64_t r = 0;
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < len; i++)
		r = (r * 256 + serial[i]) % n;
	return (unsigned)r;
}

int
mca_crl_shard_from_url(const char *u, size_t len)
{
	const char *k;
	size_t i;
	int shard;

	for (i = len; i > 0 && u[i - 1] >= '0' && u[i - 1] <= '9'; i--)
		;
	k = u + i;
	if (i == len || len - i > 5 || (k[0] == '0' && len - i > 1) || i < 5 ||
	    memcmp(u + i - 5, "/crl/", 5) != 0)
		return -1;
	shard = 0;
	for (; k < u + len; k++)
		shard = shard * 10 + (*k - '0');
	return shard > 65535 ? -1 : shard;
}

int
mca_crl_shard_from_cdp(X509 *cert)
{
	CRL_DIST_POINTS *cdp = X509_get_ext_d2i(cert, NID_crl_distribution_points, NULL, NULL);
	DIST_POINT *dp;
	GENERAL_NAME *gn;
	int shard = -1;

	if (cdp == NULL || sk_DIST_POINT_num(cdp) < 1)
		goto out;
	dp = sk_DIST_POINT_value(cdp, 0);
	if (dp->distpoint == NULL || dp->distpoint->type != 0 ||
	    sk_GENERAL_NAME_num(dp->distpoint->name.fullname) < 1)
		goto out;
	gn = sk_GENERAL_NAME_value(dp->distpoint->name.fullname, 0);
	if (gn->type != GEN_URI)
		goto out;
	shard = mca_crl_shard_from_url(
	    (const char *)ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier),
	    (size_t)ASN1_STRING_length(gn->d.uniformResourceIdentifier));
out:
	CRL_DIST_POINTS_free(cdp);
	return shard;
}

/* Whether `url` can go into an IssuingDistributionPoint as an IA5String URI. */
static int
idp_url_ok(const char *url)
{
	size_t i, n = strlen(url);

	if (n == 0 || n > 1024)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)url[i] <= 0x20 || (unsigned char)url[i] >= 0x7f)
			return 0;
	return 1;
}

mca_rc
mca_crl_build_tbs_emit(const struct mca_crl_params *p, mca_crl_emit_fn emit, void *arg,
                       unsigned char **der, size_t *der_len, struct mca_error *err)
{
	static const unsigned char critical[] = {0x01, 0x01, 0xff};
	static const unsigned char only_user[] = {0xff};
	struct mca_der d;
	const ASN1_OCTET_STRING *ski;
	unsigned char *name = NULL;
	size_t tbs, list, before, exts, seq, octets, inner, i, dp, full;
	int name_len, r;
	mca_rc rc;

	*der = NULL;
	*der_len = 0;
	if (p->number < 0)
		return mca_error_set(err, MCA_ERR_INVAL, "negative CRL number %lld",
		                     (long long)p->number);
	if ((rc = time_check(p->this_update, "thisUpdate", (size_t)-1, err)) != MCA_OK ||
	    (rc = time_check(p->next_update, "nextUpdate", (size_t)-1, err)) != MCA_OK)
		return rc;
	if (p->idp_url != NULL && !idp_url_ok(p->idp_url))
		return mca_error_set(err, MCA_ERR_INVAL,
		                     "CRL distribution point URL is empty, over 1024 octets or "
		                     "not printable ASCII");
	ski = X509_get0_subject_key_id(p->issuer);
	name_len = i2d_X509_NAME(X509_get_subject_name(p->issuer), &name);
	/* RFC 5280 5.1.2.3: a CRL's issuer is a non-empty DN; 5.2.1: the AKI is its SKI. */
	if (ski == NULL || name_len <= 0 ||
	    X509_NAME_entry_count(X509_get_subject_name(p->issuer)) == 0) {
		OPENSSL_free(name);
		return mca_error_set(err, MCA_ERR_CRYPTO, "CRL issuer lacks a name or an SKI");
	}

	mca_der_init(&d);
	tbs = mca_der_open(&d, MCA_DER_SEQUENCE);
	mca_der_int64(&d, MCA_DER_INTEGER, 1); /* v2 */
	mca_der_raw(&d, p->alg, p->alg_len);
	mca_der_raw(&d, name, (size_t)name_len);
	der_time(&d, p->this_update);
	der_time(&d, p->next_update);
	list = mca_der_open(&d, MCA_DER_SEQUENCE);
	before = d.len;
	if (!d.failed && (r = emit(arg, &d)) != 0) {
		OPENSSL_free(name);
		mca_der_free(&d);
		return r < 0
		           ? (mca_rc)-r
		           : mca_error_set(err, MCA_ERR_INTERNAL, "collecting CRL entries failed");
	}
	if (!d.failed && d.len == before)
		d.len = list; /* no entries: no revokedCertificates (RFC 5280 5.1.2.6) */
	else
		mca_der_close(&d, list);
	exts = mca_der_open(&d, MCA_DER_CTX0);
	inner = mca_der_open(&d, MCA_DER_SEQUENCE);
	/* AKI { keyIdentifier [0] } */
	seq = ext_open(&d, oid_aki, sizeof(oid_aki), &octets);
	i = mca_der_open(&d, MCA_DER_SEQUENCE);
	mca_der_tlv(&d, MCA_DER_CTX0_PRIM, ASN1_STRING_get0_data(ski),
	            (size_t)ASN1_STRING_length(ski));
	mca_der_close(&d, i);
	ext_close(&d, seq, octets);
	/* CRLNumber */
	seq = ext_open(&d, oid_crl_number, sizeof(oid_crl_number), &octets);
	mca_der_int64(&d, MCA_DER_INTEGER, p->number);
	ext_close(&d, seq, octets);
	if (p->idp_url != NULL) {
		/*
		 * IssuingDistributionPoint, critical (RFC 5280 5.2.5):
		 * { distributionPoint [0] { fullName [0] { URI [6] } },
		 *   onlyContainsUserCerts [1] TRUE }
		 */
		seq = mca_der_open(&d, MCA_DER_SEQUENCE);
		mca_der_tlv(&d, MCA_DER_OID, oid_idp, sizeof(oid_idp));
		mca_der_raw(&d, critical, sizeof(critical));
		octets = mca_der_open(&d, MCA_DER_OCTETS);
		i = mca_der_open(&d, MCA_DER_SEQUENCE);
		dp = mca_der_open(&d, MCA_DER_CTX0);
		full = mca_der_open(&d, MCA_DER_CTX0);
		mca_der_tlv(&d, 0x86, p->idp_url, strlen(p->idp_url));
		mca_der_close(&d, full);
		mca_der_close(&d, dp);
		mca_der_tlv(&d, 0x81, only_user, sizeof(only_user));
		mca_der_close(&d, i);
		ext_close(&d, seq, octets);
	}
	mca_der_close(&d, inner);
	mca_der_close(&d, exts);
	mca_der_close(&d, tbs);
	OPENSSL_free(name);
	if (d.failed) {
		mca_der_free(&d);
		return mca_error_set(err, MCA_ERR_NOMEM, "encoding CRL: out of memory");
	}
	*der = d.buf;
	*der_len = d.len;
	return MCA_OK;
}

/* mca_crl_build_tbs's entries, encoded one by one. */
struct entry_list {
	const struct mca_crl_entry *v;
	size_t n;
	struct mca_error *err;
};

static int
emit_list(void *arg, struct mca_der *d)
{
	struct entry_list *l = arg;
	unsigned char der[MCA_CRL_ENTRY_MAX], key[MCA_CRL_KEY_MAX];
	size_t der_len, key_len, i;
	mca_rc rc;

	for (i = 0; i < l->n; i++) {
		if ((rc = mca_crl_entry_encode(&l->v[i], der, &der_len, key, &key_len, l->err)) !=
		    MCA_OK)
			return -(int)rc;
		mca_der_raw(d, der, der_len);
	}
	return 0;
}

mca_rc
mca_crl_build_tbs(const unsigned char *alg, size_t alg_len, X509 *issuer, int64_t number,
                  int64_t this_update, int64_t next_update, const struct mca_crl_entry *entries,
                  size_t n_entries, unsigned char **der, size_t *der_len, struct mca_error *err)
{
	struct mca_crl_params p = {alg, alg_len, issuer, number, this_update, next_update, NULL};
	struct entry_list l = {entries, n_entries, err};
	size_t i;
	mca_rc rc;

	*der = NULL;
	if (number < 0)
		return mca_error_set(err, MCA_ERR_INVAL, "negative CRL number %lld",
		                     (long long)number);
	if ((rc = time_check(this_update, "thisUpdate", (size_t)-1, err)) != MCA_OK ||
	    (rc = time_check(next_update, "nextUpdate", (size_t)-1, err)) != MCA_OK)
		return rc;
	/* Every entry first, so that an error names its index. */
	for (i = 0; i < n_entries; i++)
		if ((rc = entry_check(&entries[i], i, err)) != MCA_OK ||
		    (rc = time_check(entries[i].revoked_at, "revocation time", i, err)) != MCA_OK)
			return rc;
	return mca_crl_build_tbs_emit(&p, emit_list, &l, der, der_len, err);
}

long
mca_crl_der_entries(const unsigned char *der, size_t der_len)
{
	const unsigned char *p = der, *end = der + der_len, *v, *q, *qe, *x;
	size_t n, m;
	unsigned tag;
	long k = 0;
	int i;

	/* CertificateList { TBSCertList { version?, alg, issuer, this, next?, list? ... } ... } */
	if (!mca_der_next(&p, end, &tag, &v, &n) || tag != MCA_DER_SEQUENCE ||
	    !mca_der_next(&v, v + n, &tag, &q, &m) || tag != MCA_DER_SEQUENCE)
		return -1;
	qe = q + m;
	if (q < qe && *q == MCA_DER_INTEGER && !mca_der_next(&q, qe, &tag, &x, &n))
		return -1;
	for (i = 0; i < 3; i++)
		if (!mca_der_next(&q, qe, &tag, &x, &n))
			return -1;
	if (q < qe && (*q == 0x17 || *q == 0x18) && !mca_der_next(&q, qe, &tag, &x, &n))
		return -1;
	if (q >= qe || *q != MCA_DER_SEQUENCE)
		return 0;
	if (!mca_der_next(&q, qe, &tag, &x, &n))
		return -1;
	for (p = x, end = x + n; p < end; k++)
		if (!mca_der_next(&p, end, &tag, &v, &m))
			return -1;
	return k;
}

char *
mca_crl_pem(const unsigned char *der, size_t der_len, size_t *pem_len)
{
	static const char head[] = "-----BEGIN X509 CRL-----\n",
	                  tail[] = "-----END X509 CRL-----\n";
	size_t lines = (der_len + 47) / 48, cap, off, i, n;
	char *pem;

	*pem_len = 0;
	if (der_len > SIZE_MAX / 2)
		return NULL;
	cap = sizeof(head) + lines * 65 + sizeof(tail) + 1;
	pem = malloc(cap);
	if (pem == NULL)
		return NULL;
	memcpy(pem, head, sizeof(head) - 1);
	off = sizeof(head) - 1;
	/* 48 octets -> one line of 64 characters, as PEM_write_bio does */
	for (i = 0; i < der_len; i += 48) {
		n = der_len - i < 48 ? der_len - i : 48;
		off += (size_t)EVP_EncodeBlock((unsigned char *)pem + off, der + i, (int)n);
		pem[off++] = '\n';
	}
	memcpy(pem + off, tail, sizeof(tail));
	off += sizeof(tail) - 1;
	*pem_len = off;
	return pem;
}

mca_rc
mca_crl_write_files(const char *dir, const char *name, const unsigned char *der, size_t der_len,
                    const char *given_pem, size_t given_len, struct mca_error *err)
{
	char *path = NULL, *made = NULL;
	const char *pem = given_pem;
	size_t pem_len = given_len;
	mca_rc rc;

	if (pem == NULL)
		pem = made = mca_crl_pem(der, der_len, &pem_len);
	if (pem == NULL || asprintf(&path, "%s/%s.crl", dir, name) < 0) {
		path = NULL;
		rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = mca_file_write_atomic(path, der, der_len, 0644, 0, err)) != MCA_OK)
		goto out;
	free(path);
	if (asprintf(&path, "%s/%s.crl.pem", dir, name) < 0) {
		path = NULL;
		rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		goto out;
	}
	rc = mca_file_write_atomic(path, pem, pem_len, 0644, 0, err);
out:
	free(path);
	free(made);
	return rc;
}
