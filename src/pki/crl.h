/*
 * crl.h - X.509 v2 CRLs: encoding, and publication (store + files).
 *
 * The TBSCertList is encoded directly in DER (one pass, no per-entry
 * allocation) and signed through the signer interface, so a CRL with a
 * million entries costs one buffer.
 */
#ifndef MCA_CRL_H
#define MCA_CRL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "common/err.h"

/* RFC 5280 CRLReason values. */
enum mca_crl_reason {
	MCA_REASON_UNSPECIFIED = 0,
	MCA_REASON_KEY_COMPROMISE = 1,
	MCA_REASON_CA_COMPROMISE = 2,
	MCA_REASON_AFFILIATION_CHANGED = 3,
	MCA_REASON_SUPERSEDED = 4,
	MCA_REASON_CESSATION_OF_OPERATION = 5,
	MCA_REASON_PRIVILEGE_WITHDRAWN = 9,
};

/* The times a CRL can say: 0000-01-01T00:00:00Z .. 9999-12-31T23:59:59Z (four-digit years). */
#define MCA_CRL_TIME_MIN INT64_C(-62167219200)
#define MCA_CRL_TIME_MAX INT64_C(253402300799)

/* "keyCompromise" -> 1 ...; -1 when not a reason the CLI and API accept. */
int mca_crl_reason_parse(const char *name);
const char *mca_crl_reason_name(int reason);

struct mca_crl_entry {
	unsigned char serial[20]; /* big-endian magnitude */
	size_t serial_len;
	int64_t revoked_at;
	int reason; /* enum mca_crl_reason; UNSPECIFIED omits the extension */
};

/*
 * Encode the TBSCertList of a CRL for `issuer` with the given number,
 * validity window and entries; `alg` is the DER AlgorithmIdentifier of the
 * signature to come (mca_signer_algor_der).  The caller signs it with
 * mca_signer_wrap().  *tbs is malloc'd.  An issuer whose subject is empty
 * or that has no subjectKeyIdentifier (the CRL's AKI) is MCA_ERR_CRYPTO,
 * "CRL issuer lacks a name or an SKI".  A negative `number`, or an entry
 * whose serial is not a positive integer of 1..20 octets or whose reason
 * is not one above, or a time (thisUpdate, nextUpdate, an entry's
 * revocation time) outside MCA_CRL_TIME_MIN..MCA_CRL_TIME_MAX, is
 * MCA_ERR_INVAL naming it; nothing is encoded.
 */
mca_rc mca_crl_build_tbs(const unsigned char *alg, size_t alg_len, X509 *issuer, int64_t number,
                         int64_t this_update, int64_t next_update,
                         const struct mca_crl_entry *entries, size_t n_entries, unsigned char **tbs,
                         size_t *tbs_len, struct mca_error *err);

/*
 * Write a CRL to DIR/NAME.crl (DER) and DIR/NAME.crl.pem, each
 * atomically (temp file, fsync, rename).
 */
mca_rc mca_crl_write_files(const char *dir, const char *name, const unsigned char *der,
                           size_t der_len, struct mca_error *err);

#endif
