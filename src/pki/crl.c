/* crl.c - CRL encoding and files. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

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
mca_crl_build_tbs(const unsigned char *alg, size_t alg_len, X509 *issuer, int64_t number,
                  int64_t this_update, int64_t next_update, const struct mca_crl_entry *entries,
                  size_t n_entries, unsigned char **der, size_t *der_len, struct mca_error *err)
{
	struct mca_der d;
	const ASN1_OCTET_STRING *ski;
	unsigned char *name = NULL;
	size_t tbs, list, ent, exts, seq, octets, inner, i;
	int name_len;
	mca_rc rc;

	*der = NULL;
	if (number < 0)
		return mca_error_set(err, MCA_ERR_INVAL, "negative CRL number %lld",
		                     (long long)number);
	if ((rc = time_check(this_update, "thisUpdate", (size_t)-1, err)) != MCA_OK ||
	    (rc = time_check(next_update, "nextUpdate", (size_t)-1, err)) != MCA_OK)
		return rc;
	for (i = 0; i < n_entries; i++)
		if ((rc = entry_check(&entries[i], i, err)) != MCA_OK ||
		    (rc = time_check(entries[i].revoked_at, "revocation time", i, err)) != MCA_OK)
			return rc;
	ski = X509_get0_subject_key_id(issuer);
	name_len = i2d_X509_NAME(X509_get_subject_name(issuer), &name);
	/* RFC 5280 5.1.2.3: a CRL's issuer is a non-empty DN; 5.2.1: the AKI is its SKI. */
	if (ski == NULL || name_len <= 0 ||
	    X509_NAME_entry_count(X509_get_subject_name(issuer)) == 0) {
		OPENSSL_free(name);
		return mca_error_set(err, MCA_ERR_CRYPTO, "CRL issuer lacks a name or an SKI");
	}

	mca_der_init(&d);
	tbs = mca_der_open(&d, MCA_DER_SEQUENCE);
	mca_der_int64(&d, MCA_DER_INTEGER, 1); /* v2 */
	mca_der_raw(&d, alg, alg_len);
	mca_der_raw(&d, name, (size_t)name_len);
	der_time(&d, this_update);
	der_time(&d, next_update);
	if (n_entries > 0) {
		list = mca_der_open(&d, MCA_DER_SEQUENCE);
		for (i = 0; i < n_entries; i++) {
			ent = mca_der_open(&d, MCA_DER_SEQUENCE);
			mca_der_uint(&d, entries[i].serial, entries[i].serial_len);
			der_time(&d, entries[i].revoked_at);
			if (entries[i].reason != MCA_REASON_UNSPECIFIED) {
				exts = mca_der_open(&d, MCA_DER_SEQUENCE);
				seq =
				    ext_open(&d, oid_reason_code, sizeof(oid_reason_code), &octets);
				mca_der_int64(&d, MCA_DER_ENUMERATED, entries[i].reason);
				ext_close(&d, seq, octets);
				mca_der_close(&d, exts);
			}
			mca_der_close(&d, ent);
		}
		mca_der_close(&d, list);
	}
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
	mca_der_int64(&d, MCA_DER_INTEGER, number);
	ext_close(&d, seq, octets);
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

mca_rc
mca_crl_write_files(const char *dir, const char *name, const unsigned char *der, size_t der_len,
                    struct mca_error *err)
{
	char *path = NULL, *pem = NULL;
	const unsigned char *p = der;
	X509_CRL *crl = NULL;
	BIO *b = NULL;
	char *data = NULL;
	long n;
	mca_rc rc;

	crl = d2i_X509_CRL(NULL, &p, (long)der_len);
	b = BIO_new(BIO_s_mem());
	if (crl == NULL || b == NULL || !PEM_write_bio_X509_CRL(b, crl)) {
		rc = mca_error_ssl(err, MCA_ERR_CRYPTO, "encoding CRL as PEM");
		goto out;
	}
	n = BIO_get_mem_data(b, &data);
	if (asprintf(&path, "%s/%s.crl", dir, name) < 0) {
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
	rc = mca_file_write_atomic(path, data, (size_t)n, 0644, 0, err);
out:
	free(path);
	free(pem);
	BIO_free(b);
	X509_CRL_free(crl);
	return rc;
}
