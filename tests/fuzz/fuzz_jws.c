/*
 * fuzz_jws.c - ACME request bodies (acme/jws.c): the flattened JWS parser,
 * JWK import (mca_jwk_to_pkey, run on unauthenticated input), RFC 7638
 * thumbprints and signature verification, in the order acme/front.c calls
 * them: parse; with "jwk", import it, take its thumbprint and verify with
 * it; with "kid", verify with a fixed account key.  The same bytes are
 * also read as a bare JWK, so the importer is reached without a base64url
 * layer in between.
 *
 * Invariants (fz_fail): a parsed JWS has a supported "alg", exactly one of
 * "kid" and "jwk", a non-empty signature, a payload within
 * MCA_JWS_MAX_PAYLOAD and the signing input "protected.payload"; a JWK
 * that imports has a 43-character thumbprint and a key of its "kty"; every
 * refusal has a message.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "acme/jws.h"
#include "fuzz.h"

static EVP_PKEY *account_key;

static void
setup(void)
{
	if (account_key != NULL)
		return;
	account_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (account_key == NULL)
		fz_fail("account key");
}

static void
check_error(mca_rc rc, const struct mca_error *err, const char *what)
{
	if (rc != MCA_OK && err->msg[0] == '\0')
		fz_fail("%s: refusal %d without a message", what, (int)rc);
}

/* Import `jwk`; the key (or NULL) is returned for verification. */
static EVP_PKEY *
check_jwk(const json_t *jwk)
{
	struct mca_error err = {0};
	EVP_PKEY *key = NULL;
	const char *kty = json_string_value(json_object_get(jwk, "kty"));
	char tp[44];
	int base;
	mca_rc rc;

	rc = mca_jwk_to_pkey(jwk, &key, &err);
	check_error(rc, &err, "jwk");
	if (rc != MCA_OK) {
		if (key != NULL)
			fz_fail("jwk: refused but returned");
		return NULL;
	}
	base = EVP_PKEY_get_base_id(key);
	if (kty == NULL || (strcmp(kty, "EC") == 0 && base != EVP_PKEY_EC) ||
	    (strcmp(kty, "RSA") == 0 && base != EVP_PKEY_RSA) ||
	    (strcmp(kty, "OKP") == 0 && base != EVP_PKEY_ED25519))
		fz_fail("jwk: kty '%s' imported as key type %d", kty ? kty : "(none)", base);
	rc = mca_jwk_thumbprint(jwk, tp, &err);
	if (rc != MCA_OK || strlen(tp) != 43)
		fz_fail("jwk: imported but no thumbprint: %s", err.msg);
	return key;
}

static void
check_jws(const uint8_t *data, size_t size)
{
	static const char *const algs[] = {"ES256", "ES384", "RS256", "EdDSA"};
	struct mca_error err = {0};
	struct mca_jws *jws = NULL;
	EVP_PKEY *key = NULL;
	size_t i;
	mca_rc rc;

	rc = mca_jws_parse((const char *)data, size, &jws, &err);
	check_error(rc, &err, "jws");
	if (rc != MCA_OK) {
		if (jws != NULL)
			fz_fail("jws: refused but returned");
		return;
	}
	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (strcmp(jws->alg, algs[i]) == 0)
			break;
	if (i == sizeof(algs) / sizeof(algs[0]))
		fz_fail("jws: alg '%s' accepted", jws->alg);
	if ((jws->kid == NULL) == (jws->jwk == NULL))
		fz_fail("jws: kid %p, jwk %p", (void *)jws->kid, (void *)jws->jwk);
	if (jws->sig_len == 0 || jws->payload_len > MCA_JWS_MAX_PAYLOAD ||
	    jws->signing_input == NULL || strchr(jws->signing_input, '.') == NULL)
		fz_fail("jws: signature, payload or signing input");
	if (jws->jwk != NULL)
		key = check_jwk(jws->jwk);
	if (key != NULL || jws->kid != NULL) {
		rc = mca_jws_verify(jws, key != NULL ? key : account_key, &err);
		check_error(rc, &err, "verify");
	}
	EVP_PKEY_free(key);
	mca_jws_free(jws);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *jwk;
	EVP_PKEY *key;

	setup();
	check_jws(data, size);
	jwk = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (json_is_object(jwk)) {
		key = check_jwk(jwk);
		EVP_PKEY_free(key);
	}
	json_decref(jwk);
	ERR_clear_error();
	return 0;
}
