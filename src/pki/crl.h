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

#include "common/der.h"
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
 * Pre-encoded entries.  A revokedCertificates entry (RFC 5280 5.1:
 * SEQUENCE { userCertificate, revocationDate, crlEntryExtensions }) is
 * encoded once, when the certificate is revoked, and kept as DER (in the
 * store's crl_entries table and in mtlscad's memory), so a CRL of a
 * million entries is built by copying bytes, with no object per entry.
 */
#define MCA_CRL_ENTRY_MAX 64 /* octets: 20-octet serial, GeneralizedTime, reason */
#define MCA_CRL_KEY_MAX   21 /* octets of mca_crl_entry_encode's key */

/*
 * Encode `e` (checked as mca_crl_build_tbs checks an entry) into `der`
 * (MCA_CRL_ENTRY_MAX octets) and its sort key into `key` (MCA_CRL_KEY_MAX
 * octets): the serial's length octet, then its magnitude without leading
 * zeros, so that memcmp order of keys is numeric order of serials.
 */
mca_rc mca_crl_entry_encode(const struct mca_crl_entry *e, unsigned char *der, size_t *der_len,
                            unsigned char *key, size_t *key_len, struct mca_error *err);

/*
 * Fill `e` from a serial in hex (as the store keeps it: 1..40 digits), a
 * revocation time and a reason name (NULL: unspecified).  MCA_ERR_INVAL
 * for a serial that is not that or a reason mca_crl_reason_parse refuses.
 */
mca_rc mca_crl_entry_set(struct mca_crl_entry *e, const char *serial_hex, int64_t revoked_at,
                         const char *reason, struct mca_error *err);

/* What a TBSCertList says besides its entries. */
struct mca_crl_params {
	const unsigned char *alg; /* DER AlgorithmIdentifier (mca_signer_algor_der) */
	size_t alg_len;
	X509 *issuer; /* the CA certificate: its subject and SKI */
	int64_t number, this_update, next_update;
	/*
	 * NULL for a complete CRL; otherwise the URL of a partition: the CRL
	 * then carries a critical IssuingDistributionPoint naming it, with
	 * onlyContainsUserCerts (RFC 5280 5.2.5), and its entries must be
	 * exactly those of the certificates whose CDP is that URL.
	 */
	const char *idp_url;
};

/*
 * Appends the concatenated DER of the CRL's entries (the content of
 * revokedCertificates) to `d`; non-zero stops the build (MCA_ERR_INTERNAL
 * unless the callback set *err itself and returns its rc negated).
 */
typedef int (*mca_crl_emit_fn)(void *arg, struct mca_der *d);

/*
 * Encode a TBSCertList with entries from `emit`, which are taken as they
 * are (the caller built them with mca_crl_entry_encode).  No entries:
 * revokedCertificates is left out, as RFC 5280 5.1.2.6 requires.  Same
 * checks and errors as mca_crl_build_tbs for the rest; an idp_url longer
 * than 1024 octets or not ASCII is MCA_ERR_INVAL.
 */
mca_rc mca_crl_build_tbs_emit(const struct mca_crl_params *p, mca_crl_emit_fn emit, void *arg,
                              unsigned char **tbs, size_t *tbs_len, struct mca_error *err);

/*
 * The shard of a certificate with this serial (big-endian magnitude)
 * among `n` (> 0): the serial modulo n.
 */
unsigned mca_crl_shard_of(const unsigned char *serial, size_t len, unsigned n);

/*
 * The shard a certificate's CRL distribution point names: k when its
 * (first) CDP URI ends in "/crl/k" (k decimal, no leading zeros, below
 * 65536), -1 otherwise (the complete CRL, or none).
 */
int mca_crl_shard_from_cdp(X509 *cert);

/* The same for a CDP URI of `len` octets (not NUL-terminated): k or -1. */
int mca_crl_shard_from_url(const char *u, size_t len);

/*
 * The number of entries of a CRL (DER), counted by walking its
 * revokedCertificates (no object per entry); -1 when it is not a CRL.
 */
long mca_crl_der_entries(const unsigned char *der, size_t der_len);

/*
 * PEM ("X509 CRL") of DER bytes, encoded directly (a CRL is not parsed
 * for it).  *pem is malloc'd and NUL-terminated; NULL on out of memory.
 */
char *mca_crl_pem(const unsigned char *der, size_t der_len, size_t *pem_len);

/*
 * Write a CRL to DIR/NAME.crl (DER) and DIR/NAME.crl.pem, each
 * atomically (temp file, fsync, rename).  `pem` is its PEM
 * (mca_crl_pem), or NULL to have it made here.
 */
mca_rc mca_crl_write_files(const char *dir, const char *name, const unsigned char *der,
                           size_t der_len, const char *pem, size_t pem_len, struct mca_error *err);

#endif
