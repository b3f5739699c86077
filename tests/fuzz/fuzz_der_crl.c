/*
 * fuzz_der_crl.c - the DER writer (common/der.c) and the CRL encoder
 * (pki/crl.c) on fuzzed entries, signed through the signer
 * (mca_signer_wrap) and read back with OpenSSL.
 *
 * Input: CRL number (8 octets, signed), thisUpdate and nextUpdate (5
 * octets each, signed seconds), then entries of: serial length (1 octet,
 * mod 24, so 21..23 are refused), the serial, revocation time (5 octets,
 * signed), reason (1 octet, mod 12, so 6, 7, 8, 10 and 11 are refused).
 *
 * Invariants (fz_fail): the encoder refuses exactly what crl.h says it
 * refuses (negative number, bad serial, unknown reason, a time outside
 * the years 0000..9999), and with MCA_ERR_INVAL; what it encodes is strict DER
 * (minimal lengths, nested lengths that add up, minimal INTEGERs), parses
 * with d2i_X509_CRL, verifies with the CA key, and says exactly what was
 * asked: version 2, the CA's subject as issuer, both dates, the number,
 * the CA's SKI as AKI, every entry's serial, date and reason in order.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "fuzz.h"
#include "pki/crl.h"

#define MAX_ENTRIES 2048

struct reader {
	const uint8_t *p;
	size_t n;
};

static uint64_t
take(struct reader *r, size_t octets)
{
	uint64_t v = 0;

	while (octets-- > 0) {
		v = (v << 8) | (r->n > 0 ? *r->p : 0);
		if (r->n > 0) {
			r->p++;
			r->n--;
		}
	}
	return v;
}

/*
 * Walk the DER at p[0..n): every length minimal, constructed values (tag
 * bit 0x20) parsed recursively and filling their length exactly, INTEGERs
 * and ENUMERATEDs minimal.  Returns 0 on the first violation.
 */
static int
strict_der(const unsigned char *p, size_t n, int depth)
{
	size_t len, hl, i;

	if (depth > 32)
		return 0;
	while (n > 0) {
		if (n < 2 || (p[0] & 0x1f) == 0x1f)
			return 0;
		if (p[1] < 0x80) {
			len = p[1];
			hl = 2;
		} else {
			size_t k = p[1] & 0x7f;

			if (k == 0 || k > 4 || n < 2 + k || p[2] == 0)
				return 0;
			for (len = 0, i = 0; i < k; i++)
				len = (len << 8) | p[2 + i];
			if (len < 0x80)
				return 0;
			hl = 2 + k;
		}
		if (len > n - hl)
			return 0;
		if ((p[0] == 0x02 || p[0] == 0x0a) &&
		    (len == 0 || (len > 1 && ((p[hl] == 0 && !(p[hl + 1] & 0x80)) ||
		                              (p[hl] == 0xff && (p[hl + 1] & 0x80))))))
			return 0;
		if ((p[0] & 0x20) && !strict_der(p + hl, len, depth + 1))
			return 0;
		p += hl + len;
		n -= hl + len;
	}
	return 1;
}

/* A signed 40-bit time (two's complement): years before 0000 and after 9999 are reached. */
static int64_t
take_time(struct reader *r)
{
	uint64_t v = take(r, 5);

	return (v & (UINT64_C(1) << 39)) ? (int64_t)v - (INT64_C(1) << 40) : (int64_t)v;
}

static int
time_ok(int64_t t)
{
	return t >= MCA_CRL_TIME_MIN && t <= MCA_CRL_TIME_MAX;
}

static int64_t
time_of(const ASN1_TIME *t)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	return (int64_t)timegm(&tm);
}

/* Whether the INTEGER `ai` equals the big-endian magnitude be[0..n). */
static int
int_eq(const ASN1_INTEGER *ai, const unsigned char *be, size_t n)
{
	BIGNUM *a = ASN1_INTEGER_to_BN(ai, NULL), *b = BN_bin2bn(be, (int)n, NULL);
	int eq = a != NULL && b != NULL && !BN_is_negative(a) && BN_cmp(a, b) == 0;

	BN_free(a);
	BN_free(b);
	return eq;
}

static void
check_crl(const unsigned char *der, size_t len, int64_t number, int64_t this_update,
          int64_t next_update, const struct mca_crl_entry *e, size_t n)
{
	const struct fz_ca *ca = fz_ca();
	const unsigned char *p = der;
	X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)len);
	STACK_OF(X509_REVOKED) * rev;
	ASN1_INTEGER *num = NULL;
	AUTHORITY_KEYID *aki = NULL;
	ASN1_ENUMERATED *reason;
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(ca->cert);
	unsigned char be[8];
	size_t i;
	int crit;

	if (crl == NULL || p != der + len)
		fz_fail("d2i_X509_CRL refuses the encoding (or leaves %ld octets)",
		        crl ? (long)(der + len - p) : -1L);
	if (X509_CRL_verify(crl, ca->key) != 1)
		fz_fail("the CRL does not verify");
	if (X509_CRL_get_version(crl) != 1)
		fz_fail("version %ld", X509_CRL_get_version(crl));
	if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ca->cert)) != 0)
		fz_fail("issuer");
	if (time_of(X509_CRL_get0_lastUpdate(crl)) != this_update ||
	    time_of(X509_CRL_get0_nextUpdate(crl)) != next_update)
		fz_fail("thisUpdate %lld / nextUpdate %lld read back as %lld / %lld",
		        (long long)this_update, (long long)next_update,
		        (long long)time_of(X509_CRL_get0_lastUpdate(crl)),
		        (long long)time_of(X509_CRL_get0_nextUpdate(crl)));
	num = X509_CRL_get_ext_d2i(crl, NID_crl_number, &crit, NULL);
	for (i = 0; i < 8; i++)
		be[i] = (unsigned char)((uint64_t)number >> (8 * (7 - i)));
	if (num == NULL || crit || !int_eq(num, be, 8))
		fz_fail("CRL number %lld", (long long)number);
	aki = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, &crit, NULL);
	if (aki == NULL || crit || aki->keyid == NULL || ASN1_OCTET_STRING_cmp(aki->keyid, ski))
		fz_fail("AKI");
	rev = X509_CRL_get_REVOKED(crl);
	if ((size_t)sk_X509_REVOKED_num(rev) != n && !(n == 0 && rev == NULL))
		fz_fail("%zu entries encoded, %d read", n, sk_X509_REVOKED_num(rev));
	for (i = 0; i < n; i++) {
		const X509_REVOKED *r = sk_X509_REVOKED_value(rev, (int)i);

		if (!int_eq(X509_REVOKED_get0_serialNumber(r), e[i].serial, e[i].serial_len))
			fz_fail("entry %zu: serial", i);
		if (time_of(X509_REVOKED_get0_revocationDate(r)) != e[i].revoked_at)
			fz_fail("entry %zu: date %lld", i, (long long)e[i].revoked_at);
		reason = X509_REVOKED_get_ext_d2i(r, NID_crl_reason, &crit, NULL);
		if (e[i].reason == MCA_REASON_UNSPECIFIED
		        ? reason != NULL
		        : reason == NULL || crit || ASN1_ENUMERATED_get(reason) != e[i].reason)
			fz_fail("entry %zu: reason %d", i, e[i].reason);
		ASN1_ENUMERATED_free(reason);
	}
	ASN1_INTEGER_free(num);
	AUTHORITY_KEYID_free(aki);
	X509_CRL_free(crl);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mca_crl_entry e[MAX_ENTRIES];
	const struct fz_ca *ca = fz_ca();
	struct reader r = {data, size};
	struct mca_error err = {0};
	unsigned char *tbs = NULL, *der = NULL;
	const unsigned char *alg;
	size_t alg_len = 0, tbs_len = 0, der_len = 0, n = 0, i, k;
	int64_t number, this_update, next_update;
	int valid;
	mca_rc rc;

	number = (int64_t)take(&r, 8);
	this_update = take_time(&r);
	next_update = take_time(&r);
	valid = number >= 0 && time_ok(this_update) && time_ok(next_update);
	while (r.n > 0 && n < MAX_ENTRIES) {
		memset(&e[n], 0, sizeof(e[n]));
		e[n].serial_len = (size_t)take(&r, 1) % 24;
		for (i = 0; i < e[n].serial_len; i++)
			e[n].serial[i % sizeof(e[n].serial)] = (unsigned char)take(&r, 1);
		e[n].revoked_at = take_time(&r);
		e[n].reason = (int)(take(&r, 1) % 12);
		for (k = 0; k < e[n].serial_len && k < sizeof(e[n].serial); k++)
			if (e[n].serial[k] != 0)
				break;
		if (e[n].serial_len > sizeof(e[n].serial) || k == e[n].serial_len ||
		    (e[n].reason > 5 && e[n].reason != 9) || !time_ok(e[n].revoked_at))
			valid = 0;
		n++;
	}
	alg = mca_signer_algor_der(ca->signer, &alg_len);
	rc = mca_crl_build_tbs(alg, alg_len, ca->cert, number, this_update, next_update, e, n, &tbs,
	                       &tbs_len, &err);
	if (!valid) {
		if (rc != MCA_ERR_INVAL)
			fz_fail("invalid input: rc %d (%s)", (int)rc, err.msg);
		goto out;
	}
	if (rc != MCA_OK)
		fz_fail("valid input refused: %s", err.msg);
	if (!strict_der(tbs, tbs_len, 0))
		fz_fail("the TBSCertList is not strict DER");
	if (mca_signer_wrap(ca->signer, MCA_SIGN_CRL, tbs, tbs_len, &der, &der_len, &err) != MCA_OK)
		fz_fail("wrap: %s", err.msg);
	if (!strict_der(der, der_len, 0))
		fz_fail("the CertificateList is not strict DER");
	check_crl(der, der_len, number, this_update, next_update, e, n);
out:
	free(tbs);
	free(der);
	ERR_clear_error();
	return 0;
}
