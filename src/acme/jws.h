/*
 * jws.h - JSON Web Signatures as ACME (RFC 8555 section 6.2) uses them:
 * the flattened JSON serialization, algorithms ES256, ES384, RS256 and
 * EdDSA (Ed25519), JWKs for those key types, and RFC 7638 thumbprints.
 *
 * Everything from the network is bounded: the body, each member, the
 * decoded payload (MCA_JWS_MAX_PAYLOAD).  Ownership: struct mca_jws owns
 * all its members (mca_jws_free); returned strings are malloc'd.
 */
#ifndef MCA_JWS_H
#define MCA_JWS_H

#include <stddef.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "common/b64url.h"
#include "common/err.h"

#define MCA_JWS_MAX_PAYLOAD (64u * 1024u)

struct mca_jws {
	char *alg;   /* "ES256", "ES384", "RS256" or "EdDSA" */
	char *nonce; /* may be NULL when absent (the caller decides if that is an error) */
	char *url;   /* may be NULL when absent */
	char *kid;   /* exactly one of kid and jwk is set */
	json_t *jwk; /* owned */
	unsigned char *payload; /* decoded; NUL-terminated; payload_len 0 for POST-as-GET */
	size_t payload_len;
	char *signing_input; /* "protected.payload" as received */
	unsigned char *sig;  /* decoded signature */
	size_t sig_len;
};

/*
 * Parse a flattened JWS JSON object {"protected","payload","signature"}
 * (no other members; "header" is refused).  The protected header must be
 * a JSON object with "alg" among the four supported (MCA_ERR_POLICY with
 * rule "badSignatureAlgorithm" otherwise) and exactly one of "jwk" and
 * "kid".  Other problems are MCA_ERR_INVAL (rule "malformed").
 */
mca_rc mca_jws_parse(const char *body, size_t len, struct mca_jws **out, struct mca_error *err);

void mca_jws_free(struct mca_jws *jws);

/*
 * The public key of a JWK: EC P-256/P-384 ("kty":"EC", "crv", "x", "y"),
 * RSA >= 2048 bits ("kty":"RSA", "n", "e"), Ed25519 ("kty":"OKP",
 * "crv":"Ed25519", "x").  Private members ("d", ...) are refused.
 */
mca_rc mca_jwk_to_pkey(const json_t *jwk, EVP_PKEY **out, struct mca_error *err);

/* RFC 7638 thumbprint (SHA-256, base64url, 43 characters) into out[44]. */
mca_rc mca_jwk_thumbprint(const json_t *jwk, char out[44], struct mca_error *err);

/*
 * Verify the signature with `key`.  The algorithm must fit the key (ES256:
 * P-256, ES384: P-384, RS256: RSA, EdDSA: Ed25519; else rule
 * "badSignatureAlgorithm"); a bad signature is MCA_ERR_POLICY with rule
 * "unauthorized".
 */
mca_rc mca_jws_verify(const struct mca_jws *jws, EVP_PKEY *key, struct mca_error *err);

#endif
