/* serial.c - generating and spelling certificate serials. */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/rand.h>

#include "common/util.h"
#include "pki/serial.h"

mca_rc
mca_serial_generate(unsigned char out[MCA_SERIAL_LEN], struct mca_error *err)
{
	struct timespec ts;
	uint64_t t;
	int i;

	/*
	 * 0x10 * 2^40 + the milliseconds since the epoch (44 bits: room until
	 * the year 2527) in 6 octets, then MCA_SERIAL_RANDOM CSPRNG octets: serials
	 * issued close in time sort close together, so the indexes keyed by
	 * serial grow at their right edge instead of at a random page each.
	 */
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0 || ts.tv_sec < 0)
		return mca_error_set(err, MCA_ERR_INTERNAL, "serial: no clock");
	t = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	t = (UINT64_C(0x10) << 40) + (t & ((UINT64_C(1) << 44) - 1));
	for (i = MCA_SERIAL_LEN - MCA_SERIAL_RANDOM - 1; i >= 0; i--, t >>= 8)
		out[i] = (unsigned char)(t & 0xff);
	if (RAND_bytes(out + MCA_SERIAL_LEN - MCA_SERIAL_RANDOM, MCA_SERIAL_RANDOM) != 1)
		return mca_error_ssl(err, MCA_ERR_CRYPTO, "random serial");
	return MCA_OK;
}

ASN1_INTEGER *
mca_serial_to_asn1(const unsigned char *raw, size_t len)
{
	BIGNUM *bn = BN_bin2bn(raw, (int)len, NULL);
	ASN1_INTEGER *ai = NULL;

	if (bn != NULL)
		ai = BN_to_ASN1_INTEGER(bn, NULL);
	BN_free(bn);
	return ai;
}

mca_rc
mca_serial_from_asn1(const ASN1_INTEGER *ai, char out[MCA_SERIAL_HEX_MAX], struct mca_error *err)
{
	BIGNUM *bn = NULL;
	unsigned char buf[21];
	int len;
	mca_rc rc = MCA_ERR_INVAL;

	out[0] = '\0';
	bn = ASN1_INTEGER_to_BN(ai, NULL);
	if (bn == NULL) {
		rc = mca_error_ssl(err, MCA_ERR_INVAL, "unreadable serial");
		goto out;
	}
	if (BN_is_negative(bn) || BN_is_zero(bn)) {
		rc = mca_error_set(err, MCA_ERR_INVAL, "serial is not positive");
		goto out;
	}
	len = BN_num_bytes(bn);
	if (len > 20) {
		rc = mca_error_set(err, MCA_ERR_INVAL, "serial longer than 20 octets");
		goto out;
	}
	BN_bn2bin(bn, buf);
	mca_hex(buf, (size_t)len, out);
	rc = MCA_OK;
out:
	BN_free(bn);
	return rc;
}

mca_rc
mca_serial_normalize(const char *in, char out[MCA_SERIAL_HEX_MAX], struct mca_error *err)
{
	char digits[2 * MCA_SERIAL_HEX_MAX];
	const char *p = in;
	size_t n = 0, skip = 0, len;

	out[0] = '\0';
	if (in == NULL)
		return mca_error_set(err, MCA_ERR_INVAL, "missing serial");
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	for (; *p != '\0'; p++) {
		if (*p == ':')
			continue;
		if (!isxdigit((unsigned char)*p))
			return mca_error_set(err, MCA_ERR_INVAL, "invalid serial '%.64s': not hex",
			                     in);
		if (n >= sizeof(digits) - 1)
			return mca_error_set(err, MCA_ERR_INVAL, "invalid serial '%.64s': too long",
			                     in);
		digits[n++] = (char)tolower((unsigned char)*p);
	}
	digits[n] = '\0';
	while (skip < n && digits[skip] == '0')
		skip++;
	len = n - skip;
	if (len == 0)
		return mca_error_set(err, MCA_ERR_INVAL, "invalid serial '%.64s': zero or empty",
		                     in);
	if (len > 40)
		return mca_error_set(err, MCA_ERR_INVAL,
		                     "invalid serial '%.64s': longer than 20 octets", in);
	/* Two digits per octet, as openssl prints it. */
	if (len % 2 == 1) {
		out[0] = '0';
		memcpy(out + 1, digits + skip, len + 1);
	} else {
		memcpy(out, digits + skip, len + 1);
	}
	return MCA_OK;
}
