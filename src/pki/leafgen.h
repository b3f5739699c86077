/*
 * leafgen.h - the TBSCertificate of a leaf, encoded straight to DER.
 *
 * The issuance path's builder: the same fields, extensions, order and
 * encoding as mca_certgen_build (certgen.h) gives a leaf (CA:FALSE, an
 * issuer with a subjectKeyIdentifier), byte for byte, without building
 * OpenSSL objects and encoding them again.  CA certificates and OCSP
 * responder certificates keep going through mca_certgen_build.
 *
 * Thread-safety: a struct mca_leaf_issuer is read-only after
 * mca_leaf_issuer_init and may be shared by threads; the functions keep
 * no state of their own.
 */
#ifndef MCA_LEAFGEN_H
#define MCA_LEAFGEN_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "common/err.h"
#include "pki/certgen.h"
#include "pki/csr.h"

/* What every leaf takes from its issuing CA, encoded once. */
struct mca_leaf_issuer {
	unsigned char *name; /* DER of the CA's subject: every leaf's issuer (owned) */
	size_t name_len;
	unsigned char *keyid; /* the CA's subjectKeyIdentifier: every leaf's AKI (owned) */
	size_t keyid_len;
	char *name_text; /* the CA's subject as mca_name_string prints it (owned) */
};

/*
 * Fill `li` from the CA certificate `ca`, which must carry a
 * subjectKeyIdentifier (MCA_ERR_CONFIG otherwise).  Free with
 * mca_leaf_issuer_clear.
 */
mca_rc mca_leaf_issuer_init(struct mca_leaf_issuer *li, X509 *ca, struct mca_error *err);
void mca_leaf_issuer_clear(struct mca_leaf_issuer *li);

/* A leaf's TBSCertificate.  All pointers are borrowed. */
struct mca_leafgen {
	const unsigned char *serial; /* big-endian, positive */
	size_t serial_len;
	const unsigned char *alg; /* DER AlgorithmIdentifier of the signature to come */
	size_t alg_len;
	const struct mca_leaf_issuer *issuer;
	const char *cn;          /* the subject's CN (UTF-8); NULL: empty subject, SAN critical */
	const X509_PUBKEY *spki; /* the subject's key as the CSR carried it */
	int64_t not_before, not_after;
	unsigned key_usage;           /* MCA_KU_* (certgen.h); 0: no keyUsage */
	unsigned ext_key_usage;       /* MCA_EKU_*; 0: no extendedKeyUsage */
	const struct mca_name *names; /* the SAN, in this order; IPs parsed from `value` */
	size_t n_names;
	int ski;                                        /* add a subjectKeyIdentifier */
	const char *crl_url;                            /* CRL Distribution Point, NULL for none */
	const char *ca_issuers_url;                     /* AIA caIssuers, NULL for none */
	const char *ocsp_url;                           /* AIA OCSP, NULL for none */
	const char *policies[MCA_CERTGEN_MAX_POLICIES]; /* dotted OIDs, NULL-terminated */
};

/*
 * Encode the TBSCertificate `g` describes: *tbs (malloc'd, the caller's)
 * is what mca_signer_wrap(MCA_SIGN_CERT) signs.  Errors as
 * mca_certgen_build and mca_san_add give them for the same input:
 * MCA_ERR_INVAL "invalid IP address '...'" for an unparsable IP name,
 * MCA_ERR_INTERNAL "subject" for a CN that is not 1 to 64 characters of
 * UTF-8, MCA_ERR_CRYPTO "certificate: ..." for an unreadable key or policy
 * OID or a time past 9999, MCA_ERR_NOMEM when out of memory.
 */
mca_rc mca_leafgen_tbs(const struct mca_leafgen *g, unsigned char **tbs, size_t *tbs_len,
                       struct mca_error *err);

/*
 * The octets of the IP address `text` as a certificate's SAN carries them
 * (parsed as mca_san_add parses it): 4 or 16 into `out`, 0 when unparsable.
 */
size_t mca_leaf_ip(const char *text, unsigned char out[16]);

/*
 * The subject "CN=<cn>" as mca_name_string (keys.h) prints the name
 * mca_certgen_build gives a CN (RFC 2253 escaping of a UTF8String, octet
 * by octet); "" for NULL.  malloc'd; NULL when out of memory.
 */
char *mca_leaf_subject_text(const char *cn);

#endif
