/*
 * fuzz_csr.c - CSR parsing (pki/csr.c) and the issuance decision and
 * signing behind it (policy/policy.c through ca/issue.c, whose second look
 * is policy/inspect.c), as POST /v1/sign runs them after the token check.
 *
 * Each input is used twice:
 *   1. as sent: mca_csr_parse on the bytes (PEM or DER);
 *   2. from byte 1 on, as a DER CertificationRequest that this target
 *      re-signs with one of a few fixed keys (chosen by byte 0), so that
 *      mutated CSRs pass the self-signature and reach the subject and SAN
 *      readers and the policy; byte 0 also picks the hash (SHA-256 or the
 *      refused SHA-1) and the requested validity.
 * Every CSR that parses is decided under each shipped profile (admin
 * authorization, and token authorization against a fixed name list).
 *
 * Invariants (fz_fail): a decision the policy approves is signed, and the
 * second look agrees (mca_issue_sign never fails); the certificate verifies
 * with the CA key and carries exactly the approved names; every error has
 * a message, and every policy refusal a rule id.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "ca/issue.h"
#include "fuzz.h"
#include "pki/csr.h"

#define NKEYS 5

static struct mca_issuer *issuer;
static EVP_PKEY *keys[NKEYS];

/* What a fuzzed token may name (token authorization). */
static const char *const token_names[] = {"dns:*.example.com",
                                          "dns:a.internal",
                                          "ip:10.0.0.5",
                                          "ip:fd00::1",
                                          "uri:spiffe://example.org/ns/a",
                                          NULL};

static void
setup(void)
{
	const struct fz_ca *ca = fz_ca();
	struct mca_error err = {0};

	if (issuer != NULL)
		return;
	keys[0] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	keys[1] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	keys[2] = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	keys[3] = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	keys[4] = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024); /* refused: key.too_small */
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i] == NULL)
			fz_fail("key %zu", i);
	if (mca_issuer_new(ca->signer, ca->cert, fz_profiles(), "http://ca.test/ca.crl",
	                   "http://ca.test/ca.crt", &issuer, &err) != MCA_OK)
		fz_fail("issuer: %s", err.msg);
}

static void
check_error(mca_rc rc, const struct mca_error *err, const char *what)
{
	if (err->msg[0] == '\0')
		fz_fail("%s: error %d without a message", what, (int)rc);
	if ((rc == MCA_ERR_POLICY || rc == MCA_ERR_BADCSR) && err->rule[0] == '\0')
		fz_fail("%s: refusal without a rule: %s", what, err->msg);
}

/* Names in the certificate's SAN (0 without a SAN). */
static size_t
san_count(X509 *cert)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	size_t n = gens != NULL ? (size_t)sk_GENERAL_NAME_num(gens) : 0;

	GENERAL_NAMES_free(gens);
	return n;
}

static void
decide_and_sign(const struct mca_csr *csr, const char *profile, enum mca_issue_auth auth,
                int64_t validity)
{
	struct mca_issue_req req;
	struct mca_decision d;
	struct mca_error err = {0};
	struct mca_issued iss;
	X509 *cert = NULL;
	mca_rc rc;

	memset(&req, 0, sizeof(req));
	memset(&d, 0, sizeof(d));
	req.csr = csr;
	req.profile = profile;
	req.validity = validity;
	req.auth = auth;
	req.allowed_names = token_names;
	rc = mca_issue_decide(issuer, fz_store(), &req, &d, &err);
	if (rc != MCA_OK) {
		check_error(rc, &err, "decide");
		return;
	}
	rc = mca_issue_sign(issuer, &d, &iss, &err);
	if (rc != MCA_OK)
		fz_fail("profile %s: approved but not signed: %s", profile, err.msg);
	if ((cert = mca_issued_x509(&iss)) == NULL)
		fz_fail("profile %s: the signed certificate does not decode", profile);
	if (X509_verify(cert, fz_ca()->key) != 1)
		fz_fail("profile %s: certificate does not verify", profile);
	if (san_count(cert) != d.res.n_names)
		fz_fail("profile %s: %zu names approved, %zu in the certificate", profile,
		        d.res.n_names, san_count(cert));
	if (d.res.not_after > fz_ca()->not_after || d.res.not_after <= d.res.not_before)
		fz_fail("profile %s: validity window", profile);
	X509_free(cert);
	mca_issued_clear(&iss);
	mca_decision_clear(&d);
}

static void
check_csr(const void *data, size_t len, int64_t validity)
{
	const struct mca_profiles *set = fz_profiles();
	struct mca_error err = {0};
	struct mca_csr *csr = NULL;
	mca_rc rc;

	rc = mca_csr_parse(data, len, &csr, &err);
	if (rc != MCA_OK) {
		check_error(rc, &err, "csr");
		if (csr != NULL)
			fz_fail("csr: refused but returned");
		return;
	}
	if (csr->n_names > MCA_CSR_MAX_NAMES)
		fz_fail("csr: %zu names", csr->n_names);
	for (size_t i = 0; i < set->n; i++) {
		decide_and_sign(csr, set->v[i]->name, MCA_ISSUE_ADMIN, validity);
		decide_and_sign(csr, set->v[i]->name, MCA_ISSUE_TOKEN, validity);
	}
	mca_csr_free(csr);
}

/* Re-sign the DER request in `data` with key `k`; NULL when it does not parse. */
static unsigned char *
resign(const uint8_t *data, size_t size, unsigned k, int sha1, size_t *out_len)
{
	const unsigned char *p = data;
	X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)size);
	const EVP_MD *md = NULL;
	unsigned char *der = NULL;
	int n;

	if (req == NULL)
		return NULL;
	if (EVP_PKEY_get_base_id(keys[k]) != EVP_PKEY_ED25519)
		md = sha1 ? EVP_sha1() : EVP_sha256();
	if (X509_REQ_set_pubkey(req, keys[k]) != 1 || X509_REQ_sign(req, keys[k], md) <= 0 ||
	    (n = i2d_X509_REQ(req, &der)) <= 0) {
		X509_REQ_free(req);
		return NULL;
	}
	X509_REQ_free(req);
	*out_len = (size_t)n;
	return der;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int64_t validities[] = {
	    0,         3600, 86400, 7 * 86400, 90 * 86400, 400 * 86400, (int64_t)20 * 365 * 86400,
	    31 * 86400};
	unsigned char *der;
	size_t der_len = 0;
	int64_t validity;

	setup();
	check_csr(data, size, 0);
	if (size < 2)
		goto out;
	validity = validities[(data[0] >> 4) & 7];
	der = resign(data + 1, size - 1, (unsigned)(data[0] & 7) % NKEYS, (data[0] & 8) != 0,
	             &der_len);
	if (der != NULL)
		check_csr(der, der_len, validity);
	OPENSSL_free(der);
out:
	ERR_clear_error();
	return 0;
}
