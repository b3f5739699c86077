/*
 * fuzz_ocsp.c - the OCSP request parser (pki/ocsp.c), what mtlscad's
 * responder runs first on every POST /ocsp and GET /ocsp/{base64}, and
 * the response encoder over what it accepted.
 *
 * Input: the request's octets, as a client sends them.
 *
 * Invariants (fz_fail): the parser never reads outside the input (ASan),
 * refuses with MCA_ERR_INVAL (rule ocsp.malformed) or MCA_ERR_POLICY (rule
 * ocsp.too_many) and nothing else; what it accepts has 1..4 CertIDs lying
 * inside the input, each a DER SEQUENCE, with a canonical serial of 1..20
 * octets; a nonce within the input of 1..34 octets; when OpenSSL also
 * parses the input as an OCSPRequest, it sees as many requests with the
 * same serials.  A ResponseData echoing the accepted CertIDs (and nonce)
 * is encoded and parses with OpenSSL, with the same serials.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>

#include "fuzz.h"
#include "pki/ocsp.h"

/* The canonical hex of an OpenSSL CertID's serial (or "" when unreadable). */
static void
serial_hex(OCSP_CERTID *id, char out[MCA_SERIAL_HEX_MAX])
{
	ASN1_INTEGER *sn = NULL;
	BIGNUM *bn = NULL;
	char *hex = NULL, *p;
	size_t i;

	out[0] = '\0';
	if (!OCSP_id_get0_info(NULL, NULL, NULL, &sn, id) || sn == NULL ||
	    (bn = ASN1_INTEGER_to_BN(sn, NULL)) == NULL || (hex = BN_bn2hex(bn)) == NULL) {
		BN_free(bn);
		return;
	}
	p = hex;
	if (strlen(p) % 2 == 1) {
		out[0] = '0';
		i = 1;
	} else {
		i = 0;
	}
	for (; *p && i < MCA_SERIAL_HEX_MAX - 1; p++, i++)
		out[i] = (char)(*p >= 'A' && *p <= 'F' ? *p - 'A' + 'a' : *p);
	out[i] = '\0';
	OPENSSL_free(hex);
	BN_free(bn);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char key_hash[20] = {1, 2, 3};
	struct mca_ocsp_request req;
	struct mca_ocsp_single s[MCA_OCSP_MAX_CERTS];
	struct mca_error err = {0};
	OCSP_REQUEST *oreq = NULL;
	OCSP_RESPDATA *rd = NULL;
	const unsigned char *p;
	unsigned char *tbs = NULL;
	size_t tbs_len = 0, i, sl;
	char hex[MCA_SERIAL_HEX_MAX];
	mca_rc rc;

	rc = mca_ocsp_request_parse(data, size, &req, &err);
	if (rc != MCA_OK) {
		if (!((rc == MCA_ERR_INVAL && strcmp(err.rule, "ocsp.malformed") == 0) ||
		      (rc == MCA_ERR_POLICY && strcmp(err.rule, "ocsp.too_many") == 0)))
			fz_fail("refused with rc %d rule '%s': %s", rc, err.rule, err.msg);
		return 0;
	}
	if (req.n < 1 || req.n > MCA_OCSP_MAX_CERTS)
		fz_fail("%zu CertIDs accepted", req.n);
	for (i = 0; i < req.n; i++) {
		if (req.ids[i].der < data || req.ids[i].der_len < 2 ||
		    req.ids[i].der + req.ids[i].der_len > data + size || req.ids[i].der[0] != 0x30)
			fz_fail("CertID %zu is not a SEQUENCE inside the input", i);
		sl = strlen(req.ids[i].serial);
		if (sl < 2 || sl > 40 || sl % 2 || strncmp(req.ids[i].serial, "00", 2) == 0 ||
		    strspn(req.ids[i].serial, "0123456789abcdef") != sl)
			fz_fail("serial '%s' is not canonical", req.ids[i].serial);
	}
	if (req.nonce != NULL &&
	    (req.nonce < data || req.nonce_len < 1 || req.nonce_len > MCA_OCSP_NONCE_MAX + 2 ||
	     req.nonce + req.nonce_len > data + size))
		fz_fail("nonce of %zu octets outside the input or its bound", req.nonce_len);
	/* OpenSSL, when it reads the same request, sees the same certificates */
	p = data;
	oreq = d2i_OCSP_REQUEST(NULL, &p, (long)size);
	if (oreq != NULL && p == data + size) {
		if ((size_t)OCSP_request_onereq_count(oreq) != req.n)
			fz_fail("OpenSSL reads %d requests, we %zu",
			        OCSP_request_onereq_count(oreq), req.n);
		for (i = 0; i < req.n; i++) {
			serial_hex(OCSP_onereq_get0_id(OCSP_request_onereq_get0(oreq, (int)i)),
			           hex);
			if (strcmp(hex, req.ids[i].serial) != 0)
				fz_fail("serial %zu: OpenSSL '%s', we '%s'", i, hex,
				        req.ids[i].serial);
		}
	}
	OCSP_REQUEST_free(oreq);
	/* the answer echoes what was accepted, and OpenSSL reads it */
	memset(s, 0, sizeof(s));
	for (i = 0; i < req.n; i++) {
		s[i].certid = req.ids[i].der;
		s[i].certid_len = req.ids[i].der_len;
		s[i].status = (enum mca_ocsp_cstatus)(i % 3);
		s[i].revoked_at = 1796083200;
		s[i].reason = (int)i;
		s[i].this_update = 1796083200;
		s[i].next_update = 1796083200 + 86400;
	}
	if (mca_ocsp_tbs_build(key_hash, 1796083200, s, req.n, req.nonce, req.nonce_len, &tbs,
	                       &tbs_len, &err) != MCA_OK)
		fz_fail("encoding the answer: %s", err.msg);
	p = tbs;
	rd = d2i_OCSP_RESPDATA(NULL, &p, (long)tbs_len);
	if (rd == NULL || p != tbs + tbs_len)
		fz_fail("OpenSSL does not read the ResponseData (%zu octets)", tbs_len);
	OCSP_RESPDATA_free(rd);
	free(tbs);
	ERR_clear_error();
	return 0;
}
