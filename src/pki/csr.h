/*
 * csr.h - certificate signing requests as the CA reads them: parsed (PEM
 * or DER), self-signature verified, and reduced to what the policy looks
 * at: the public key, the requested names, the subject CN.
 *
 * The request is parsed once, without OpenSSL 3.0's key decoder for the
 * common case: a named-curve EC key is built from its curve and point.
 *
 * Ownership: struct mca_csr owns everything in it (mca_csr_free).
 */
#ifndef MCA_CSR_H
#define MCA_CSR_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/err.h"

/* Most SAN entries a CSR may carry (the policy allows fewer: MCA_POLICY_MAX_NAMES). */
#define MCA_CSR_MAX_NAMES 200
/* Largest CSR accepted (PEM or DER). */
#define MCA_CSR_MAX_SIZE (32u * 1024u)

enum mca_name_type {
	MCA_NAME_DNS,
	MCA_NAME_IP,
	MCA_NAME_URI,
	MCA_NAME_EMAIL,
};

struct mca_name {
	enum mca_name_type type;
	char *value;          /* as text; IPs in canonical inet_ntop form */
	unsigned char ip[16]; /* MCA_NAME_IP only */
	size_t ip_len;
};

struct mca_csr {
	EVP_PKEY *pubkey; /* owned when own_pubkey */
	int own_pubkey;
	X509 *cert;              /* mca_csr_from_cert: a reference to that certificate */
	X509_PUBKEY *spki_own;   /* mca_csr_parse: the key's structure, owned */
	const X509_PUBKEY *spki; /* the key as sent (spki_own, or the cert's) */
	char *cn;                /* subject CN, NULL when absent */
	int subject_other;       /* the subject has attributes other than CN */
	struct mca_name names[MCA_CSR_MAX_NAMES];
	size_t n_names;
	int san_unsupported; /* a SAN of a type we never issue (otherName, dirName...) */
};

/*
 * Parse `data` (PEM "CERTIFICATE REQUEST" or DER) and verify its
 * self-signature.  Errors are MCA_ERR_BADCSR with rule "csr.parse",
 * "csr.weak_signature" (signed with an MD5 or SHA-1 based algorithm),
 * "csr.signature" or "csr.names" (more than MCA_CSR_MAX_NAMES, or a SAN
 * that cannot be read).
 */
mca_rc mca_csr_parse(const void *data, size_t len, struct mca_csr **out, struct mca_error *err);

/*
 * A request made from an existing certificate: its public key, SANs and
 * CN, for a renewal that keeps the key (the holder proved possession of
 * the key over mTLS, so there is no signature to check).  spki is the certificate's.
 */
mca_rc mca_csr_from_cert(X509 *cert, struct mca_csr **out, struct mca_error *err);

void mca_csr_free(struct mca_csr *csr);

/* Text name of a name type: "DNS", "IP", "URI", "email". */
const char *mca_name_type_str(enum mca_name_type t);

#endif
