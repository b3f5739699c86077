/*
 * lint.h - what the signer process checks before it signs (it is not a
 * blind oracle: a worker with a bug, or an attacker who took over the
 * HTTP process, cannot have it sign just anything).  Like Boulder's
 * lint-before-sign; the full second look at a certificate stays in the
 * worker (ca/issue.c).
 *
 * A TBSCertificate is signed only when: it is one DER TBSCertificate
 * (walked here, no OpenSSL object: version 3, the fields of RFC 5280
 * 4.1 in their order, no unique identifiers, Times well formed, each in
 * the type RFC 5280 4.1.2.5 prescribes for its year); its extensions
 * are at most MCA_LINT_MAX_EXTS, none twice, and basicConstraints,
 * keyUsage, extKeyUsage, subject and authority key identifiers,
 * subjectAltName and cRLDistributionPoints, where present, are well
 * formed (what OpenSSL's EXFLAG_INVALID covered, for the extensions
 * pki/certgen.c writes); its signature AlgorithmIdentifier is the
 * signer's; its issuer is the CA's subject; its AKI keyIdentifier is the
 * CA's SKI; it is not CA:TRUE and has no keyCertSign; its notAfter is
 * not past the CA's; its serial is 16 octets and positive (pki/serial.h).
 * A TBSCertList only when: it parses; same algorithm, issuer and AKI
 * checks; its CRL number is greater than `last` (the last this signer
 * signed, 0 at start: any positive number is then accepted).
 *
 * An OCSP ResponseData only when: it parses (OpenSSL's own parser, not the
 * encoder that built it) as exactly one DER element; its responderID is
 * byKey, the hash of the signing key; it holds 1..MCA_OCSP_MAX_CERTS
 * single responses, each for a certificate of `issuer` (both CertID
 * hashes, SHA-1 or SHA-256), with a nextUpdate after its thisUpdate by at
 * most MCA_LINT_OCSP_MAX_VALIDITY and a thisUpdate not in the future; its
 * producedAt is within MCA_LINT_OCSP_SKEW of `now`; no extension but a
 * response nonce.
 *
 * A refusal is MCA_ERR_INTERNAL (the worker built something it must not
 * have) with err->rule "signer.lint.CHECK" and a message naming the check.
 * Pure functions over their arguments: thread-safe.
 */
#ifndef MCA_SIGNER_LINT_H
#define MCA_SIGNER_LINT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "common/err.h"

/*
 * The CA a signer signs for: its certificate and the signature algorithm
 * (DER), and what certificate lint compares with, taken from the
 * certificate once by mca_lint_ca_init.  Everything is borrowed: `cert`
 * and `alg` must outlive the struct and `cert` must not be modified
 * while it is in use (subject and ski point into its cached encodings).
 * Nothing to free.
 */
struct mca_lint_ca {
	X509 *cert;
	const unsigned char *alg;
	size_t alg_len;
	const unsigned char *subject; /* the subject Name's DER */
	size_t subject_len;
	const unsigned char *ski; /* NULL: the CA has no SKI (nothing is signed) */
	size_t ski_len;
	int64_t not_after; /* Unix time */
};

/* Extensions a TBSCertificate may have (certgen writes at most ten kinds). */
#define MCA_LINT_MAX_EXTS 32

/* Fill `ca` for `cert` and `alg`; MCA_ERR_CRYPTO when cert's notAfter or subject is unreadable. */
mca_rc mca_lint_ca_init(struct mca_lint_ca *ca, X509 *cert, const unsigned char *alg,
                        size_t alg_len, struct mca_error *err);

mca_rc mca_lint_cert(const struct mca_lint_ca *ca, const unsigned char *tbs, size_t tbs_len,
                     struct mca_error *err);

/* On MCA_OK *number is the CRL's number (for the caller to remember once signed). */
mca_rc mca_lint_crl(const struct mca_lint_ca *ca, const unsigned char *tbs, size_t tbs_len,
                    int64_t last, int64_t *number, struct mca_error *err);

#define MCA_LINT_OCSP_MAX_VALIDITY (7 * 86400)
#define MCA_LINT_OCSP_SKEW         300

/* `issuer` the CA whose certificates are answered for; `key` the signing key's public part. */
mca_rc mca_lint_ocsp(X509 *issuer, EVP_PKEY *key, const unsigned char *tbs, size_t tbs_len,
                     int64_t now, struct mca_error *err);

#endif
