/*
 * record.h - turn a signed certificate into its database row and record
 * it (certificate row + audit row in one transaction, durable before
 * return: see store.h).
 */
#ifndef MCA_RECORD_H
#define MCA_RECORD_H

#include <stdint.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "common/err.h"
#include "pki/csr.h"
#include "store/store.h"

/*
 * Fill `rec` from `cert` (serial, issuer, subject, names, validity, DER,
 * fingerprint); profile and requester are copied.  Free the strings with
 * mca_cert_rec_clear().
 */
mca_rc mca_record_from_x509(X509 *cert, const char *profile, const char *requester,
                            struct mca_cert_rec *rec, struct mca_error *err);

/*
 * What the issuance path knows of a leaf it signed (pki/leafgen.h), for
 * its row without decoding the certificate: all borrowed.
 */
struct mca_leaf_row {
	const unsigned char *der; /* the signed certificate */
	size_t der_len;
	const char *serial;           /* hex, as mca_serial_from_asn1 spells it */
	const char *issuer;           /* the issuer's subject as mca_name_string prints it */
	const char *cn;               /* the subject's CN, NULL for an empty subject */
	const struct mca_name *names; /* the SAN, in certificate order */
	size_t n_names;
	int64_t not_before, not_after;
	int crl_shard; /* mca_crl_shard_from_url of its CDP, -1 for none */
};

/*
 * Fill `rec` from `leaf`: the same row mca_record_from_x509 gives for that
 * certificate (fingerprint = SHA-256 of the DER, subject and names as
 * printed from the certificate), profile and requester copied.  Free the
 * strings with mca_cert_rec_clear().
 */
mca_rc mca_record_from_leaf(const struct mca_leaf_row *leaf, const char *profile,
                            const char *requester, struct mca_cert_rec *rec, struct mca_error *err);

/*
 * JSON array text of the typed SAN names of `cert` (malloc'd; names.h:
 * "dns:x", "ip:10.0.0.5", "uri:...", "email:..."), in certificate order; NULL
 * when out of memory.  This is what certificates.names holds.
 */
char *mca_record_names_json(X509 *cert);

/* Record `cert` with an audit row (`action` by `actor`). */
mca_rc mca_record_cert(struct mca_store *st, X509 *cert, const char *profile, const char *requester,
                       const char *actor, const char *action, struct mca_error *err);

/*
 * The record as the CLI and the API show it (doc/cli.md "list --json"):
 * serial, profile, subject, names (plain values), typed_names (names.h),
 * not_before, not_after (RFC 3339),
 * status (valid, revoked or expired at `now`), revoked_at, reason,
 * issuer, requester, fingerprint_sha256, created_at.  New reference.
 */
json_t *mca_record_to_json(const struct mca_cert_rec *rec, int64_t now);

#endif
