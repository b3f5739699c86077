/*
 * ocsp.h - OCSP (RFC 6960, RFC 5019 profile) on the wire: a strict,
 * bounded parser of OCSPRequest and the encoder of ResponseData (the TBS
 * the responder key signs), BasicOCSPResponse and OCSPResponse.  What a
 * status is, who signs and what is cached is the daemon's
 * (daemon/ocspcache.h); the signer lints what it signs (signer/lint.h).
 *
 * The parser takes DER only (definite, minimal lengths, one-octet tags),
 * at most MCA_OCSP_REQUEST_MAX octets, with nothing after the request.
 * It ignores requestorName, optionalSignature (unsigned requests are
 * answered alike) and request extensions other than the nonce; a
 * critical extension it does not know makes the request malformed.
 *
 * Pure functions over their arguments: thread-safe.
 */
#ifndef MCA_PKI_OCSP_H
#define MCA_PKI_OCSP_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/err.h"
#include "pki/serial.h"

#define MCA_OCSP_REQUEST_MAX 8192 /* octets of one request, POST body or decoded GET */
#define MCA_OCSP_MAX_CERTS   4    /* certificates one request may ask about (doc/api.md) */
#define MCA_OCSP_NONCE_MAX   32   /* octets of a nonce (RFC 8954) */
#define MCA_OCSP_HASH_MAX    32

/* The hash of a CertID: SHA-1 (what RFC 5019 clients send) or SHA-256. */
enum mca_ocsp_hash {
	MCA_OCSP_HASH_OTHER = 0, /* parsed, but no issuer of ours can match it */
	MCA_OCSP_SHA1 = 1,
	MCA_OCSP_SHA256 = 2,
};

/* One CertID of a request; pointers into the request's bytes. */
struct mca_ocsp_certid {
	const unsigned char *der; /* the whole CertID, echoed in the response */
	size_t der_len;
	enum mca_ocsp_hash hash;
	const unsigned char *name_hash, *key_hash;
	size_t name_hash_len, key_hash_len;
	char serial[MCA_SERIAL_HEX_MAX]; /* canonical hex (pki/serial.h) */
};

struct mca_ocsp_request {
	size_t n; /* CertIDs, 1..MCA_OCSP_MAX_CERTS */
	struct mca_ocsp_certid ids[MCA_OCSP_MAX_CERTS];
	/* The nonce extension's extnValue contents, echoed as they came; NULL: none. */
	const unsigned char *nonce;
	size_t nonce_len;
};

/*
 * Parse `der` (borrowed: `req` points into it).  Malformed is
 * MCA_ERR_INVAL with rule "ocsp.malformed" and a message naming what;
 * more than MCA_OCSP_MAX_CERTS certificates is MCA_ERR_POLICY, rule
 * "ocsp.too_many" (the responder answers unauthorized).
 */
mca_rc mca_ocsp_request_parse(const unsigned char *der, size_t len, struct mca_ocsp_request *req,
                              struct mca_error *err);

/* OCSPResponseStatus. */
enum mca_ocsp_rstatus {
	MCA_OCSP_SUCCESSFUL = 0,
	MCA_OCSP_MALFORMED = 1,
	MCA_OCSP_INTERNAL_ERROR = 2,
	MCA_OCSP_TRY_LATER = 3,
	MCA_OCSP_UNAUTHORIZED = 6,
};

/* The OCSPResponse of an error status (no responseBytes): static, 5 octets. */
const unsigned char *mca_ocsp_error_response(enum mca_ocsp_rstatus st, size_t *len);

/* CertStatus. */
enum mca_ocsp_cstatus {
	MCA_OCSP_GOOD = 0,
	MCA_OCSP_REVOKED = 1,
	MCA_OCSP_UNKNOWN = 2,
};

struct mca_ocsp_single {
	const unsigned char *certid; /* CertID DER, echoed (borrowed) */
	size_t certid_len;
	enum mca_ocsp_cstatus status;
	int64_t revoked_at; /* REVOKED */
	int reason;         /* REVOKED: enum mca_crl_reason; UNSPECIFIED is omitted */
	int64_t this_update, next_update;
};

/*
 * The ResponseData: responderID byKey `key_hash` (SHA-1 of the responder's
 * subjectPublicKey), producedAt, the single responses, and the nonce
 * extension when `nonce` is not NULL (its extnValue contents).  *out is
 * malloc'd.  MCA_ERR_INVAL for a count outside 1..MCA_OCSP_MAX_CERTS.
 */
mca_rc mca_ocsp_tbs_build(const unsigned char key_hash[20], int64_t produced_at,
                          const struct mca_ocsp_single *s, size_t n, const unsigned char *nonce,
                          size_t nonce_len, unsigned char **out, size_t *out_len,
                          struct mca_error *err);

/*
 * A successful OCSPResponse around a signed ResponseData: BasicOCSPResponse
 * { tbs, alg (AlgorithmIdentifier DER), BIT STRING sig, [0] certs } with
 * `cert` (DER, the delegated responder's certificate) or no certs when NULL.
 * *out is malloc'd.
 */
mca_rc mca_ocsp_response_wrap(const unsigned char *tbs, size_t tbs_len, const unsigned char *alg,
                              size_t alg_len, const unsigned char *sig, size_t sig_len,
                              const unsigned char *cert, size_t cert_len, unsigned char **out,
                              size_t *out_len, struct mca_error *err);

/* KeyHash: SHA-1 (or `h`) of the subjectPublicKey BIT STRING's value.  *len gets its size. */
mca_rc mca_ocsp_key_hash(EVP_PKEY *key, enum mca_ocsp_hash h, unsigned char out[MCA_OCSP_HASH_MAX],
                         size_t *len, struct mca_error *err);

/* An issuer as CertIDs name it: both hashes of its subject and key, per hash. */
struct mca_ocsp_issuer_id {
	unsigned char name[3][MCA_OCSP_HASH_MAX], key[3][MCA_OCSP_HASH_MAX];
	size_t len[3]; /* by enum mca_ocsp_hash; [0] unused */
};

mca_rc mca_ocsp_issuer_id(X509 *issuer, struct mca_ocsp_issuer_id *out, struct mca_error *err);

/* Whether `id` names `iss` (issuerNameHash and issuerKeyHash both match). */
int mca_ocsp_certid_matches(const struct mca_ocsp_certid *id, const struct mca_ocsp_issuer_id *iss);

#endif
