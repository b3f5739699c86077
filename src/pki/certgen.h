/*
 * certgen.h - build and sign an X.509 v3 certificate from an explicit
 * description.  The caller decides every extension; nothing is copied
 * from a CSR.  Signing goes through the signer interface.
 */
#ifndef MCA_CERTGEN_H
#define MCA_CERTGEN_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/err.h"

/* Key usage bits (RFC 5280 KeyUsage bit numbers). */
#define MCA_KU_DIGITAL_SIGNATURE (1u << 0)
#define MCA_KU_KEY_ENCIPHERMENT  (1u << 2)
#define MCA_KU_KEY_CERT_SIGN     (1u << 5)
#define MCA_KU_CRL_SIGN          (1u << 6)

/* Extended key usage bits. */
#define MCA_EKU_SERVER_AUTH  (1u << 0)
#define MCA_EKU_CLIENT_AUTH  (1u << 1)
#define MCA_EKU_OCSP_SIGNING (1u << 2)

#define MCA_CERTGEN_MAX_POLICIES 4

/* Everything a certificate will contain.  All pointers are borrowed. */
struct mca_certgen {
	const unsigned char *serial; /* big-endian, positive */
	size_t serial_len;
	const X509_NAME *subject; /* may be empty (then the SAN must be critical) */
	EVP_PKEY *pubkey;         /* the subject's public key (used when spki is NULL) */
	/*
	 * The subject's SubjectPublicKeyInfo as a CSR or certificate carried
	 * it: copied into the certificate as it is (algorithm, parameters and
	 * key bits), without encoding `pubkey` and decoding it again.
	 */
	const X509_PUBKEY *spki;
	X509 *issuer; /* NULL: self-signed (issuer = subject) */
	int64_t not_before, not_after;
	int ca;      /* basicConstraints CA:TRUE */
	int pathlen; /* with ca: pathLenConstraint, -1 for none */
	unsigned key_usage;
	unsigned ext_key_usage;
	GENERAL_NAMES *san; /* NULL or empty: no SAN extension (borrowed) */
	int san_critical;
	int ski;                                        /* add a subjectKeyIdentifier */
	const char *crl_url;                            /* CRL Distribution Point, NULL for none */
	const char *ca_issuers_url;                     /* AIA caIssuers, NULL for none */
	const char *ocsp_url;                           /* AIA OCSP, NULL for none */
	int ocsp_nocheck;                               /* id-pkix-ocsp-nocheck (responders) */
	const char *policies[MCA_CERTGEN_MAX_POLICIES]; /* dotted OIDs, NULL-terminated */
};

/*
 * Build the certificate `g` describes, every field final but the signature:
 * the caller signs it with mca_signer_sign_cert() (signer/signer.h), which
 * also sets the signature algorithm.  *out is owned by the caller.
 */
mca_rc mca_certgen_build(const struct mca_certgen *g, X509 **out, struct mca_error *err);

/*
 * Append a SAN entry parsed from text: `type` is GEN_DNS, GEN_IPADD or
 * GEN_URI.  An unparsable value (e.g. a bad IP) is MCA_ERR_INVAL.
 */
mca_rc mca_san_add(GENERAL_NAMES *names, int type, const char *value, struct mca_error *err);

#endif
