/*
 * signer.h - the one narrow interface to a CA private key.
 *
 * Everything that needs a CA signature goes through mca_signer_sign(): it
 * signs opaque to-be-signed bytes (a TBSCertificate or a TBSCertList) and
 * nothing else, so the key can later move into its own process (like
 * acme-client's keyproc) behind the same three calls: sign, algorithm,
 * public key.  mca_signer_sign_cert() and the CRL builder are written on
 * top of those calls only.
 *
 * Signature algorithms (doc/profiles.md): ECDSA with the hash matched to the
 * curve (P-256: SHA-256, P-384: SHA-384), RSA PKCS#1 v1.5 with SHA-256,
 * Ed25519.  Never SHA-1.
 */
#ifndef MCA_SIGNER_H
#define MCA_SIGNER_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/err.h"

struct mca_signer;

/* In-process signer over `key` (a reference is taken; the caller keeps its own). */
mca_rc mca_signer_new(EVP_PKEY *key, struct mca_signer **out, struct mca_error *err);

/* Load a key file (see mca_key_load) and wrap it in a signer. */
mca_rc mca_signer_open(const char *path, const char *passphrase, struct mca_signer **out,
                       struct mca_error *err);

void mca_signer_free(struct mca_signer *s);

/* The signer's public key (borrowed; valid while the signer lives). */
EVP_PKEY *mca_signer_pubkey(const struct mca_signer *s);

/*
 * DER of the AlgorithmIdentifier of the signatures this signer makes; it
 * goes both inside the TBS and next to the signature.  Borrowed.
 */
const unsigned char *mca_signer_algor_der(const struct mca_signer *s, size_t *len);

/* Sign `tbs`; *sig is malloc'd and owned by the caller. */
mca_rc mca_signer_sign(struct mca_signer *s, const unsigned char *tbs, size_t tbs_len,
                       unsigned char **sig, size_t *sig_len, struct mca_error *err);

/*
 * Sign the certificate `*cert` (its TBS is final but for the signature
 * algorithm, which this sets): replaces *cert with the signed certificate.
 */
mca_rc mca_signer_sign_cert(struct mca_signer *s, X509 **cert, struct mca_error *err);

/*
 * Wrap signed bytes into the SEQUENCE { tbs, algorithm, BIT STRING sig }
 * shared by Certificate and CertificateList.  *out is malloc'd.
 */
mca_rc mca_signer_wrap(struct mca_signer *s, const unsigned char *tbs, size_t tbs_len,
                       unsigned char **out, size_t *out_len, struct mca_error *err);

#endif
