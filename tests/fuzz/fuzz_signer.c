/*
 * fuzz_signer.c - what the signer process reads from the HTTP process:
 * frames (signer/proc.h) and the TBSCertificate / TBSCertList it lints
 * before signing (signer/lint.h).
 *
 * Input: one octet choosing the part (mod 3), then its bytes:
 *   0  a TBSCertificate for mca_lint_cert against the fuzz CA;
 *   1  a TBSCertList for mca_lint_crl (the last signed number is the
 *      selector octet / 3, so the "greater than the last" rule is reached);
 *   2  a byte stream read frame by frame with mca_sigframe_read from a
 *      socketpair whose writing end is then closed.
 *
 * Invariants (fz_fail): a lint refusal is MCA_ERR_INTERNAL with a
 * "signer.lint." rule and a message; an accepted TBSCertificate, once
 * wrapped and parsed by OpenSSL, is issued by the CA's subject, is not a
 * CA and has a 16-octet serial; an accepted CRL's number is above the last;
 * every frame read is within MCA_SIGNER_FRAME_MAX (a SIGN_CRL frame within
 * MCA_SIGNER_CRL_FRAME_MAX) and its payload is
 * exactly the bytes that were written; reading ends in an error, never a
 * hang (the stream is finite and closed).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/x509v3.h>

#include "common/der.h"
#include "fuzz.h"
#include "signer/lint.h"
#include "signer/proc.h"

static void
check_refusal(mca_rc rc, const struct mca_error *err)
{
	if (rc != MCA_ERR_INTERNAL || strncmp(err->rule, "signer.lint.", 12) != 0 ||
	    err->msg[0] == '\0')
		fz_fail("lint refusal: rc %d, rule '%s', message '%s'", (int)rc, err->rule,
		        err->msg);
}

/* An accepted TBSCertificate, wrapped as an unsigned certificate and parsed back. */
static void
check_accepted_cert(const struct fz_ca *ca, const uint8_t *tbs, size_t len)
{
	static const unsigned char zero_sig[] = {0x03, 0x01, 0x00};
	struct mca_der d;
	const unsigned char *p, *alg;
	size_t seq, alg_len;
	X509 *x;
	const ASN1_INTEGER *serial;

	alg = mca_signer_algor_der(ca->signer, &alg_len);
	mca_der_init(&d);
	seq = mca_der_open(&d, MCA_DER_SEQUENCE);
	mca_der_raw(&d, tbs, len);
	mca_der_raw(&d, alg, alg_len);
	mca_der_raw(&d, zero_sig, sizeof(zero_sig));
	mca_der_close(&d, seq);
	if (d.failed)
		fz_fail("out of memory");
	p = d.buf;
	x = d2i_X509(NULL, &p, (long)d.len);
	if (x == NULL)
		fz_fail("an accepted TBSCertificate does not parse as a certificate");
	if (X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(ca->cert)) != 0)
		fz_fail("accepted: issuer is not the CA's subject");
	if (X509_check_ca(x) != 0)
		fz_fail("accepted: a CA certificate");
	serial = X509_get0_serialNumber(x);
	if (ASN1_STRING_length(serial) != 16)
		fz_fail("accepted: serial of %d octets", ASN1_STRING_length(serial));
	X509_free(x);
	mca_der_free(&d);
}

static void
frames(const uint8_t *data, size_t size)
{
	int sv[2];
	unsigned op;
	unsigned char *payload = NULL;
	size_t len = 0, consumed = 0, n;
	struct mca_error err = {0};
	ssize_t w;

	if (size > 60000)
		size = 60000; /* fits the socket buffer: no writer thread needed */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		fz_fail("socketpair");
	for (n = 0; n < size; n += (size_t)w) {
		w = write(sv[1], data + n, size - n);
		if (w <= 0)
			fz_fail("write to the socketpair");
	}
	close(sv[1]);
	for (;;) {
		mca_error_clear(&err);
		if (mca_sigframe_read(sv[0], &op, &payload, &len, &err) != MCA_OK)
			break;
		if (len > (op == MCA_SIGOP_SIGN_CRL ? MCA_SIGNER_CRL_FRAME_MAX
		                                    : MCA_SIGNER_FRAME_MAX) ||
		    consumed + 5 + len > size)
			fz_fail("frame of %zu octets from a stream of %zu", len, size);
		if (len > 0 && (payload == NULL || memcmp(payload, data + consumed + 5, len) != 0))
			fz_fail("frame payload differs from what was written");
		if (op != data[consumed])
			fz_fail("frame op %u, written %u", op, data[consumed]);
		consumed += 5 + len;
		free(payload);
		payload = NULL;
	}
	free(payload);
	close(sv[0]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct fz_ca *ca = fz_ca();
	struct mca_lint_ca lc;
	struct mca_error err = {0};
	const unsigned char *alg;
	size_t alg_len = 0;
	int64_t last, number = 0;
	mca_rc rc;

	if (size < 1)
		return 0;
	alg = mca_signer_algor_der(ca->signer, &alg_len);
	if (mca_lint_ca_init(&lc, ca->cert, alg, alg_len, &err) != MCA_OK)
		fz_fail("lint CA: %s", err.msg);
	switch (data[0] % 3) {
	case 0:
		rc = mca_lint_cert(&lc, data + 1, size - 1, &err);
		if (rc == MCA_OK)
			check_accepted_cert(ca, data + 1, size - 1);
		else
			check_refusal(rc, &err);
		break;
	case 1:
		last = data[0] / 3;
		rc = mca_lint_crl(&lc, data + 1, size - 1, last, &number, &err);
		if (rc == MCA_OK && number <= last)
			fz_fail("accepted CRL number %lld, last %lld", (long long)number,
			        (long long)last);
		if (rc != MCA_OK)
			check_refusal(rc, &err);
		break;
	default:
		frames(data + 1, size - 1);
		break;
	}
	return 0;
}
