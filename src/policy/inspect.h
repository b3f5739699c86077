/*
 * inspect.h - the second look: after signing, parse the certificate's DER
 * again and check it against what the policy approved, with code that
 * shares nothing with the builder.  A mismatch is an internal error and
 * the certificate is neither recorded nor returned.
 */
#ifndef MCA_INSPECT_H
#define MCA_INSPECT_H

#include <stddef.h>

#include <openssl/x509.h>

#include "common/err.h"
#include "policy/policy.h"
#include "policy/profile.h"

struct mca_inspect_expect {
	const struct mca_profile *profile;
	const struct mca_policy_result *approved;
	const unsigned char *serial; /* big-endian */
	size_t serial_len;
	EVP_PKEY *pubkey; /* the CSR's key */
	/* its SubjectPublicKeyInfo (NULL: compare with pubkey): the certificate's must be these
	 * bytes */
	const X509_PUBKEY *spki;
	X509 *ca_cert; /* the issuer */
	const char *crl_url;
	const char *ca_issuers_url;
	const char *ocsp_url; /* AIA OCSP, before caIssuers; NULL: none */
};

/* Check the DER certificate against `e`; MCA_ERR_INTERNAL naming the first mismatch. */
mca_rc mca_inspect(const unsigned char *der, size_t der_len, const struct mca_inspect_expect *e,
                   struct mca_error *err);

#endif
