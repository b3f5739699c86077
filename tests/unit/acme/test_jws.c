/*
 * test_jws.c - unit tests of acme/jws.h: flattened JWS parsing (what is
 * malformed and what is an unsupported algorithm), JWK import and its
 * refusals, RFC 7638 thumbprints, signature verification for ES256,
 * ES384, RS256 and EdDSA with keys generated here, published test
 * vectors, and strict base64url.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "acme/jws.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define NONCE   "oFvnlFP1wIhRlYS2jTaXbA"
#define URL     "https://ca.example/acme/new-order"
#define KID     "https://ca.example/acme/acct/17"
#define PAYLOAD "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"www.example.org\"}]}"

/* RFC 7515 appendix A.3: a P-256 key and an ES256 JWS made with it. */
#define A3_X   "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"
#define A3_Y   "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
#define A3_D   "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"
#define A3_JWK "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A3_X "\",\"y\":\"" A3_Y "\"}"
#define A3_INPUT                                                                                   \
	"eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGx" \
	"lLmNvbS9pc19yb290Ijp0cnVlfQ"
#define A3_SIG                                                                                     \
	"DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"
/* SHA-256 of {"crv":"P-256","kty":"EC","x":A3_X,"y":A3_Y}, computed independently. */
#define A3_THUMB "oKIywvGUpTVTyxMQ3bwIIeQUudfr_CkLMjCE19ECD-U"
/* 31 octets: one short of a P-256 coordinate or an Ed25519 key. */
#define X31 "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVA"
/* A3_Y with one octet changed: no longer on the curve. */
#define A3_Y_OFF "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a4"

/* RFC 8037 appendix A: an Ed25519 key, its thumbprint and an EdDSA JWS. */
#define ED_X     "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
#define ED_JWK   "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" ED_X "\"}"
#define ED_THUMB "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
#define ED_INPUT "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
#define ED_SIG                                                                                     \
	"hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"

/* RFC 7638 section 3.1: an RSA-2048 key and its thumbprint. */
#define RSA_N                                                                                      \
	"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"  \
	"BJE"                                                                                      \
	"CPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_"    \
	"FDW2"                                                                                     \
	"QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-"            \
	"bFTWhAI4vMQFh"                                                                            \
	"6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
/* The same modulus with a leading zero octet, and with its low bit cleared (even). */
#define RSA_N_ZERO                                                                                 \
	"ANL8e2oKHmxnEErrj4iyV2abTfZ53a0Jm1xKbNmogBW1oTO_C4VseHG23wALVU_Os8LtUSu2jxRcboQ0dS-"      \
	"rUqHPwS"                                                                                  \
	"RAj3m1ikV4wWQohVeJ96JJ44TLLZ-uLWf9lvuSbBmOB3OZ_cgVwK8Jfd5are_0TecOgn9IeEMkOb_"            \
	"uuWBo0EdPxQ1t"                                                                            \
	"kL86mN-vEEDInALWkqs7PCiWYJ2G_XO3dM4HQGR87uqjEL0S-YWo659Z_"                                \
	"dQmzqWyEg9PKjS8q3ZLfmxU1oQCOLzEBY"                                                        \
	"elnmbtHzOJRXdjXEcK91z5LCDR2kPhv8QZ4iKm8NC7NYxeOPnLBQrq_pBIFPGsGqScyp6gyoM"
#define RSA_N_EVEN                                                                                 \
	"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"  \
	"BJE"                                                                                      \
	"CPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_"    \
	"FDW2"                                                                                     \
	"QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-"            \
	"bFTWhAI4vMQFh"                                                                            \
	"6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgg"
#define RSA_JWK   "{\"kty\":\"RSA\",\"n\":\"" RSA_N "\",\"e\":\"AQAB\"}"
#define RSA_THUMB "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"

/* base64url of {"alg":"ES256","nonce":"n","url":"u","kid":"k"}; standard base64 pads it with "=".
 */
#define GOOD_STEM "eyJhbGciOiJFUzI1NiIsIm5vbmNlIjoibiIsInVybCI6InUiLCJraWQiOiJrIn"
#define GOOD_P    GOOD_STEM "0"

enum { K_P256, K_P384, K_RSA, K_ED, K_COUNT };

/* Generated once in main(), before Check forks for each test. */
static EVP_PKEY *keys[K_COUNT];
static const char *const key_alg[K_COUNT] = {"ES256", "ES384", "RS256", "EdDSA"};
static const char *const key_name[K_COUNT] = {"P-256", "P-384", "RSA-2048", "Ed25519"};

static char *
b64(const void *p, size_t n)
{
	char *s = mca_b64url_encode(p, n);

	ck_assert_ptr_nonnull(s);
	return s;
}

static char *
b64s(const char *s)
{
	return b64(s, strlen(s));
}

static char *
xasprintf2(const char *a, const char *sep, const char *b)
{
	size_t la = strlen(a), ls = strlen(sep), lb = strlen(b);
	char *s = malloc(la + ls + lb + 1);

	ck_assert_ptr_nonnull(s);
	memcpy(s, a, la);
	memcpy(s + la, sep, ls);
	memcpy(s + la + ls, b, lb + 1);
	return s;
}

/*
 * Sign `input` with `key` as JWS algorithm `alg` would: the digest the
 * algorithm names and, for ECDSA, OpenSSL's DER turned into raw r || s.
 * Returns the base64url signature.
 */
static char *
sign_b64(EVP_PKEY *key, const char *alg, const char *input)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	const EVP_MD *md = strcmp(alg, "EdDSA") == 0   ? NULL
	                   : strcmp(alg, "ES384") == 0 ? EVP_sha384()
	                                               : EVP_sha256();
	unsigned char *sig, raw[2 * 48];
	const unsigned char *p;
	ECDSA_SIG *es;
	size_t len = 0;
	int half;
	char *out;

	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(EVP_DigestSignInit(m, NULL, md, NULL, key), 1);
	ck_assert_int_eq(EVP_DigestSign(m, NULL, &len, (const unsigned char *)input, strlen(input)),
	                 1);
	sig = malloc(len);
	ck_assert_ptr_nonnull(sig);
	ck_assert_int_eq(EVP_DigestSign(m, sig, &len, (const unsigned char *)input, strlen(input)),
	                 1);
	if (EVP_PKEY_is_a(key, "EC")) {
		half = (EVP_PKEY_get_bits(key) + 7) / 8;
		p = sig;
		es = d2i_ECDSA_SIG(NULL, &p, (long)len);
		ck_assert_ptr_nonnull(es);
		ck_assert_int_eq(BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, half), half);
		ck_assert_int_eq(BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + half, half), half);
		out = b64(raw, 2 * (size_t)half);
		ECDSA_SIG_free(es);
	} else {
		out = b64(sig, len);
	}
	free(sig);
	EVP_MD_CTX_free(m);
	return out;
}

/* base64url of the big-endian BIGNUM parameter `name`, padded to `pad` octets (0: minimal). */
static char *
bn_param_b64(const EVP_PKEY *key, const char *name, int pad)
{
	BIGNUM *bn = NULL;
	unsigned char buf[1024];
	int n;
	char *s;

	ck_assert_int_eq(EVP_PKEY_get_bn_param(key, name, &bn), 1);
	n = pad > 0 ? BN_bn2binpad(bn, buf, pad) : BN_bn2bin(bn, buf);
	ck_assert_int_gt(n, 0);
	s = b64(buf, (size_t)n);
	BN_free(bn);
	return s;
}

/* The public JWK of a key generated here, as a client would send it. */
static json_t *
pkey_to_jwk(const EVP_PKEY *key)
{
	unsigned char raw[32];
	size_t len = sizeof(raw);
	char *a, *b;
	json_t *j;
	int bits;

	if (EVP_PKEY_is_a(key, "EC")) {
		bits = EVP_PKEY_get_bits(key);
		a = bn_param_b64(key, OSSL_PKEY_PARAM_EC_PUB_X, (bits + 7) / 8);
		b = bn_param_b64(key, OSSL_PKEY_PARAM_EC_PUB_Y, (bits + 7) / 8);
		j = json_pack("{s:s,s:s,s:s,s:s}", "kty", "EC", "crv",
		              bits == 256 ? "P-256" : "P-384", "x", a, "y", b);
	} else if (EVP_PKEY_is_a(key, "RSA")) {
		a = bn_param_b64(key, OSSL_PKEY_PARAM_RSA_N, 0);
		b = bn_param_b64(key, OSSL_PKEY_PARAM_RSA_E, 0);
		j = json_pack("{s:s,s:s,s:s}", "kty", "RSA", "n", a, "e", b);
	} else {
		ck_assert_int_eq(EVP_PKEY_get_raw_public_key(key, raw, &len), 1);
		a = b64(raw, len);
		b = NULL;
		j = json_pack("{s:s,s:s,s:s}", "kty", "OKP", "crv", "Ed25519", "x", a);
	}
	ck_assert_ptr_nonnull(j);
	free(a);
	free(b);
	return j;
}

/* A protected header for key `k`: jwk or kid form, signed as `alg`, with `nonce`. */
static char *
header_for(int k, int use_kid, const char *alg, const char *nonce)
{
	json_t *h = json_pack("{s:s,s:s,s:s}", "alg", alg, "nonce", nonce, "url", URL);
	char *s;

	ck_assert_ptr_nonnull(h);
	if (use_kid)
		json_object_set_new(h, "kid", json_string(KID));
	else
		json_object_set_new(h, "jwk", pkey_to_jwk(keys[k]));
	s = json_dumps(h, JSON_COMPACT);
	ck_assert_ptr_nonnull(s);
	json_decref(h);
	return s;
}

/* {"protected":p,"payload":q,"signature":s} from already encoded parts. */
static char *
make_body(const char *p, const char *q, const char *s)
{
	json_t *o = json_pack("{s:s,s:s,s:s}", "protected", p, "payload", q, "signature", s);
	char *body;

	ck_assert_ptr_nonnull(o);
	body = json_dumps(o, JSON_COMPACT);
	ck_assert_ptr_nonnull(body);
	json_decref(o);
	return body;
}

/* A complete JWS of `prot` and `payload`, signed with `key` as `alg`. */
static char *
make_jws(EVP_PKEY *key, const char *alg, const char *prot, const char *payload)
{
	char *p = b64s(prot), *q = b64s(payload), *input = xasprintf2(p, ".", q);
	char *s = sign_b64(key, alg, input), *body = make_body(p, q, s);

	free(p);
	free(q);
	free(input);
	free(s);
	return body;
}

/* Where a result pointer starts, to see that a failing call resets it to NULL. */
static struct mca_jws sentinel;

/* Parse `body`, which must succeed. */
static struct mca_jws *
parse_ok(const char *body)
{
	struct mca_error err = {0};
	struct mca_jws *jws = NULL;
	mca_rc rc;

	rc = mca_jws_parse(body, strlen(body), &jws, &err);
	ck_assert_msg(rc == MCA_OK, "parse: rc %d (%s) for %.200s", rc, err.msg, body);
	ck_assert_ptr_nonnull(jws);
	return jws;
}

/* Assert that `err` carries code `rc` and rule `rule`. */
static void
assert_err(const struct mca_error *err, mca_rc got, mca_rc want, const char *rule, const char *what)
{
	ck_assert_msg(got == want, "%s: rc %d, want %d (%s)", what, got, want, err->msg);
	ck_assert_int_eq(err->code, want);
	ck_assert_msg(strcmp(err->rule, rule) == 0, "%s: rule '%s', want '%s' (%s)", what,
	              err->rule, rule, err->msg);
	ck_assert_msg(err->msg[0] != '\0', "%s: empty message", what);
}

/*
 * Every algorithm with the jwk and the kid form, with a payload and as
 * POST-as-GET: parse, the fields come out as sent, the JWK turns into the
 * same key, and the signature verifies.  _i: key, kid?, empty payload?
 */
START_TEST(test_sign_verify)
{
	int k = _i % K_COUNT, use_kid = (_i / K_COUNT) % 2, empty = _i / (2 * K_COUNT);
	const char *payload = empty ? "" : PAYLOAD;
	struct mca_error err = {0};
	struct mca_jws *jws;
	EVP_PKEY *pk = NULL;
	char *prot = header_for(k, use_kid, key_alg[k], NONCE);
	char *body = make_jws(keys[k], key_alg[k], prot, payload);
	char *p = b64s(prot), *q = b64s(payload), *input = xasprintf2(p, ".", q);
	json_t *jwk;
	mca_rc rc;

	jws = parse_ok(body);
	ck_assert_str_eq(jws->alg, key_alg[k]);
	ck_assert_str_eq(jws->nonce, NONCE);
	ck_assert_str_eq(jws->url, URL);
	ck_assert_str_eq(jws->signing_input, input);
	ck_assert_uint_eq(jws->payload_len, strlen(payload));
	ck_assert_ptr_nonnull(jws->payload);
	ck_assert_int_eq(memcmp(jws->payload, payload, strlen(payload)), 0);
	ck_assert_int_eq(jws->payload[jws->payload_len], '\0');
	if (use_kid) {
		ck_assert_str_eq(jws->kid, KID);
		ck_assert_ptr_null(jws->jwk);
		rc = mca_jws_verify(jws, keys[k], &err);
	} else {
		ck_assert_ptr_null(jws->kid);
		jwk = pkey_to_jwk(keys[k]);
		ck_assert_msg(json_equal(jws->jwk, jwk), "%s: jwk differs", key_name[k]);
		json_decref(jwk);
		rc = mca_jwk_to_pkey(jws->jwk, &pk, &err);
		ck_assert_msg(rc == MCA_OK, "%s: jwk: %s", key_name[k], err.msg);
		ck_assert_int_eq(EVP_PKEY_eq(pk, keys[k]), 1);
		rc = mca_jws_verify(jws, pk, &err);
	}
	ck_assert_msg(rc == MCA_OK, "%s %s%s: verify rc %d (%s)", key_name[k],
	              use_kid ? "kid" : "jwk", empty ? " POST-as-GET" : "", rc, err.msg);
	EVP_PKEY_free(pk);
	mca_jws_free(jws);
	free(prot);
	free(body);
	free(p);
	free(q);
	free(input);
}
END_TEST

/*
 * A change to what was signed, or to the signature, is "unauthorized".
 * _i: key, then which part is changed after signing.
 */
enum { T_PAYLOAD, T_PROTECTED, T_SIGNATURE, T_COUNT };

START_TEST(test_tampered)
{
	int k = _i % K_COUNT, t = _i / K_COUNT;
	static const char *const tname[T_COUNT] = {"payload", "protected", "signature"};
	struct mca_error err = {0};
	struct mca_jws *jws;
	char *prot = header_for(k, 1, key_alg[k], NONCE), *other;
	char *p = b64s(prot), *q = b64s(PAYLOAD), *input = xasprintf2(p, ".", q);
	char *s = sign_b64(keys[k], key_alg[k], input), *body;
	unsigned char *raw;
	size_t len;
	mca_rc rc;

	switch (t) {
	case T_PAYLOAD:
		free(q);
		q = b64s("{\"identifiers\":[{\"type\":\"dns\",\"value\":\"evil.example\"}]}");
		break;
	case T_PROTECTED:
		other = header_for(k, 1, key_alg[k], "bm9uY2UtMg");
		free(p);
		p = b64s(other);
		free(other);
		break;
	case T_SIGNATURE:
		ck_assert_int_eq(mca_b64url_decode(s, strlen(s), &raw, &len), 1);
		raw[len / 4] ^= 0x01;
		free(s);
		s = b64(raw, len);
		free(raw);
		break;
	}
	body = make_body(p, q, s);
	jws = parse_ok(body);
	rc = mca_jws_verify(jws, keys[k], &err);
	assert_err(&err, rc, MCA_ERR_POLICY, "unauthorized", tname[t]);
	mca_jws_free(jws);
	free(prot);
	free(p);
	free(q);
	free(input);
	free(s);
	free(body);
}
END_TEST

/* A supported algorithm that does not fit the key: "badSignatureAlgorithm". */
static const struct {
	int key;
	const char *alg;
} mismatch[] = {
    {K_P256, "ES384"}, {K_P384, "ES256"}, {K_RSA, "ES256"}, {K_P256, "RS256"},
    {K_ED, "ES256"},   {K_RSA, "EdDSA"},  {K_ED, "RS256"},  {K_P384, "EdDSA"},
};

START_TEST(test_alg_key_mismatch)
{
	int k = mismatch[_i].key;
	struct mca_error err = {0};
	struct mca_jws *jws;
	char *prot = header_for(k, 1, mismatch[_i].alg, NONCE);
	char *body = make_jws(keys[k], key_alg[k], prot, PAYLOAD);
	mca_rc rc;

	jws = parse_ok(body);
	rc = mca_jws_verify(jws, keys[k], &err);
	assert_err(&err, rc, MCA_ERR_POLICY, "badSignatureAlgorithm", mismatch[_i].alg);
	mca_jws_free(jws);
	free(prot);
	free(body);
}
END_TEST

/* Algorithms other than the four: refused at parse time.  JSON-escaped as they go into the header.
 */
static const struct {
	const char *alg;
	const char *sig;
} bad_algs[] = {
    {"none", ""},        {"none", "AAAA"},   {"HS256", "AAAA"},   {"RS384", "AAAA"},
    {"RS512", "AAAA"},   {"ES512", "AAAA"},  {"PS256", "AAAA"},   {"es256", "AAAA"},
    {"ES256K", "AAAA"},  {"EdDSA ", "AAAA"}, {"Ed25519", "AAAA"}, {"", "AAAA"},
    {"\\u00e9", "AAAA"},
};

START_TEST(test_unsupported_alg)
{
	struct mca_error err = {0};
	struct mca_jws *jws = &sentinel; /* must be reset to NULL */
	char prot[256], *p, *body;
	mca_rc rc;

	snprintf(prot, sizeof(prot), "{\"alg\":\"%s\",\"nonce\":\"n\",\"url\":\"u\",\"kid\":\"k\"}",
	         bad_algs[_i].alg);
	p = b64s(prot);
	body = make_body(p, "e30", bad_algs[_i].sig);
	rc = mca_jws_parse(body, strlen(body), &jws, &err);
	assert_err(&err, rc, MCA_ERR_POLICY, "badSignatureAlgorithm", prot);
	ck_assert_ptr_null(jws);
	free(p);
	free(body);
}
END_TEST

/*
 * Structurally wrong requests: MCA_ERR_INVAL, rule "malformed", and a
 * message naming the problem (`want`).  With `prot` set, the body is that
 * protected header (encoded) with payload {} and a dummy signature;
 * otherwise `body` is sent as is.
 */
static const struct {
	const char *prot;
	const char *body;
	const char *want;
} malformed[] = {
    /* the protected header */
    {"{\"alg\":\"ES256\",\"nonce\":\"n\",\"url\":\"u\",\"jwk\":" A3_JWK ",\"kid\":\"k\"}", NULL,
     "both"},
    {"{\"alg\":\"ES256\",\"nonce\":\"n\",\"url\":\"u\"}", NULL, "neither"},
    {"{\"alg\":\"ES256\",\"jwk\":\"abc\"}", NULL, "\"jwk\""},
    {"{\"alg\":\"ES256\",\"jwk\":[]}", NULL, "\"jwk\""},
    {"{\"alg\":\"ES256\",\"jwk\":null}", NULL, "\"jwk\""},
    {"{\"alg\":\"ES256\",\"kid\":5}", NULL, "\"kid\""},
    {"{\"alg\":\"ES256\",\"kid\":\"\"}", NULL, "\"kid\""},
    {"{\"alg\":\"ES256\",\"kid\":null}", NULL, "\"kid\""},
    {"{\"alg\":\"ES256\",\"kid\":{}}", NULL, "\"kid\""},
    {"{\"nonce\":\"n\",\"url\":\"u\",\"kid\":\"k\"}", NULL, "\"alg\""},
    {"{\"alg\":5,\"kid\":\"k\"}", NULL, "\"alg\""},
    {"{\"alg\":null,\"kid\":\"k\"}", NULL, "\"alg\""},
    {"{\"alg\":[\"ES256\"],\"kid\":\"k\"}", NULL, "\"alg\""},
    {"{\"alg\":\"ES256\",\"nonce\":5,\"kid\":\"k\"}", NULL, "\"nonce\""},
    {"{\"alg\":\"ES256\",\"url\":[\"u\"],\"kid\":\"k\"}", NULL, "\"url\""},
    {"{\"alg\":\"ES256\",\"kid\":\"k\",\"crit\":[\"b64\"],\"b64\":false}", NULL, "\"crit\""},
    {"{\"alg\":\"ES256\",\"kid\":\"k\",\"crit\":[\"exp\"],\"exp\":1}", NULL, "\"crit\""},
    {"{\"alg\":\"ES256\",\"kid\":\"k\",\"crit\":[]}", NULL, "\"crit\""},
    {"{\"alg\":\"ES256\",\"kid\":\"k\",\"b64\":false}", NULL, "\"b64\""},
    {"{\"alg\":\"ES256\",\"alg\":\"ES256\",\"kid\":\"k\"}", NULL, "duplicate"},
    {"{\"alg\":\"ES256\",\"kid\":\"k\",\"kid\":\"j\"}", NULL, "duplicate"},
    {"{\"alg\":\"ES256\",\"jwk\":{\"kty\":\"EC\",\"kty\":\"EC\"}}", NULL, "duplicate"},
    {"[\"alg\",\"ES256\"]", NULL, "not a JSON object"},
    {"\"ES256\"", NULL, "protected header"},
    {"42", NULL, "protected header"},
    {"null", NULL, "protected header"},
    {"{\"alg\":\"ES256\",\"kid\":\"k\"} x", NULL, "protected header"},
    {"{\"alg\":\"ES256\",\"kid\":\"k\"", NULL, "protected header"},
    {"{\"alg\":\"ES256\",\"kid\":\"a\\u0000b\"}", NULL, "protected header"},
    {"", NULL, "\"protected\""},
    /* the body */
    {NULL, "not json", "not valid JSON"},
    {NULL, "[]", "not a JSON object"},
    {NULL, "[{\"protected\":\"" GOOD_P "\",\"payload\":\"e30\",\"signature\":\"AAAA\"}]",
     "not a JSON object"},
    {NULL, "\"x\"", "JSON"},
    {NULL, "{\"protected\":\"" GOOD_P "\",\"payload\":\"e30\",\"signature\":\"AAAA\"} x", "JSON"},
    {NULL, "{\"protected\":\"" GOOD_P "\",\"payload\":\"e30\",\"signature\":\"AAAA\",\"foo\":1}",
     "'foo'"},
    {NULL,
     "{\"protected\":\"" GOOD_P
     "\",\"payload\":\"e30\",\"signature\":\"AAAA\",\"header\":{\"kid\":\"k\"}}",
     "\"header\""},
    {NULL,
     "{\"payload\":\"e30\",\"signatures\":[{\"protected\":\"" GOOD_P "\",\"signature\":\"AAAA\"}]}",
     "'signatures'"},
    {NULL, "{\"protected\":\"" GOOD_P "\",\"payload\":\"e30\"}", "\"signature\""},
    {NULL, "{\"protected\":\"" GOOD_P "\",\"signature\":\"AAAA\"}", "\"payload\""},
    {NULL, "{\"payload\":\"e30\",\"signature\":\"AAAA\"}", "\"protected\""},
    {NULL, "{}", "\"protected\""},
    {NULL,
     "{\"protected\":\"" GOOD_P
     "\",\"payload\":\"e30\",\"payload\":\"e30\",\"signature\":\"AAAA\"}",
     "duplicate"},
    {NULL, "{\"protected\":\"" GOOD_P "\",\"payload\":null,\"signature\":\"AAAA\"}", "\"payload\""},
    {NULL, "{\"protected\":\"" GOOD_P "\",\"payload\":{},\"signature\":\"AAAA\"}", "\"payload\""},
    {NULL, "{\"protected\":\"" GOOD_P "\",\"payload\":\"e30\",\"signature\":5}", "\"signature\""},
    {NULL, "{\"protected\":{\"alg\":\"ES256\"},\"payload\":\"e30\",\"signature\":\"AAAA\"}",
     "\"protected\""},
    {NULL, "{\"protected\":\"" GOOD_P "=\",\"payload\":\"e30\",\"signature\":\"AAAA\"}",
     "\"protected\""},
    {NULL, "{\"protected\":\"" GOOD_P "+\",\"payload\":\"e30\",\"signature\":\"AAAA\"}",
     "\"protected\""},
    {NULL, "{\"protected\":\"" GOOD_STEM "1\",\"payload\":\"e30\",\"signature\":\"AAAA\"}",
     "\"protected\""},
    {NULL, "{\"protected\":\"" GOOD_P "\",\"payload\":\"e30=\",\"signature\":\"AAAA\"}",
     "\"payload\""},
    {NULL, "{\"protected\":\"" GOOD_P "\",\"payload\":\"e3+\",\"signature\":\"AAAA\"}",
     "\"payload\""},
    {NULL, "{\"protected\":\"" GOOD_P "\",\"payload\":\"e3/\",\"signature\":\"AAAA\"}",
     "\"payload\""},
    {NULL, "{\"protected\":\"" GOOD_P "\",\"payload\":\"e31\",\"signature\":\"AAAA\"}",
     "\"payload\""},
    {NULL, "{\"protected\":\"" GOOD_P "\",\"payload\":\"e 30\",\"signature\":\"AAAA\"}",
     "\"payload\""},
    {NULL, "{\"protected\":\"" GOOD_P "\",\"payload\":\"e30\\n\",\"signature\":\"AAAA\"}",
     "\"payload\""},
    {NULL, "{\"protected\":\"" GOOD_P "\",\"payload\":\"e30\",\"signature\":\"AAA=\"}",
     "\"signature\""},
    {NULL, "{\"protected\":\"" GOOD_P "\",\"payload\":\"e30\",\"signature\":\"AB\"}",
     "\"signature\""},
    {NULL, "{\"protected\":\"" GOOD_P "\",\"payload\":\"e30\",\"signature\":\"AA+A\"}",
     "\"signature\""},
    {NULL, "{\"protected\":\"" GOOD_P "\",\"payload\":\"e30\",\"signature\":\"AA/A\"}",
     "\"signature\""},
    {NULL, "{\"protected\":\"" GOOD_P "\",\"payload\":\"e30\",\"signature\":\"AA AA\"}",
     "\"signature\""},
    {NULL, "{\"protected\":\"" GOOD_P "\",\"payload\":\"e30\",\"signature\":\"AAAAA\"}",
     "\"signature\""},
    {NULL, "{\"protected\":\"" GOOD_P "\",\"payload\":\"e30\",\"signature\":\"\"}",
     "\"signature\""},
    {NULL, "{\"protected\":\"" GOOD_P "\",\"payload\":\"e30\",\"signature\":\"AAAA\\u0000\"}",
     "JSON"},
};

START_TEST(test_malformed)
{
	struct mca_error err = {0};
	struct mca_jws *jws = &sentinel; /* must be reset to NULL */
	char *p = NULL, *body;
	const char *what;
	mca_rc rc;

	if (malformed[_i].prot != NULL) {
		p = b64s(malformed[_i].prot);
		body = make_body(p, "e30", "AAAA");
		what = malformed[_i].prot;
	} else {
		body = strdup(malformed[_i].body);
		ck_assert_ptr_nonnull(body);
		what = malformed[_i].body;
	}
	rc = mca_jws_parse(body, strlen(body), &jws, &err);
	assert_err(&err, rc, MCA_ERR_INVAL, "malformed", what);
	ck_assert_ptr_null(jws);
	ck_assert_msg(strstr(err.msg, malformed[_i].want) != NULL,
	              "%s: message \"%s\" does not name %s", what, err.msg, malformed[_i].want);
	free(p);
	free(body);
}
END_TEST

/* The GOOD_P header itself parses, so the table above fails for the reason it names. */
START_TEST(test_good_baseline)
{
	struct mca_jws *jws =
	    parse_ok("{\"protected\":\"" GOOD_P "\",\"payload\":\"e30\",\"signature\":\"AAAA\"}");

	ck_assert_str_eq(jws->kid, "k");
	ck_assert_uint_eq(jws->payload_len, 2);
	ck_assert_str_eq((const char *)jws->payload, "{}");
	ck_assert_uint_eq(jws->sig_len, 3);
	mca_jws_free(jws);
	/* Members in another order and unknown header members are fine. */
	jws = parse_ok("{\"signature\":\"AAAA\",\"payload\":\"\",\"protected\":\"" GOOD_P "\"}");
	ck_assert_uint_eq(jws->payload_len, 0);
	ck_assert_str_eq(jws->signing_input, GOOD_P ".");
	mca_jws_free(jws);
}
END_TEST

/* Empty, NULL and oversized input; the payload limit is exact. */
START_TEST(test_sizes)
{
	struct mca_error err = {0};
	struct mca_jws *jws = NULL;
	size_t big = 256 * 1024 + 1;
	char *body, *p, *q;
	unsigned char *raw;
	mca_rc rc;

	rc = mca_jws_parse("", 0, &jws, &err);
	assert_err(&err, rc, MCA_ERR_INVAL, "malformed", "empty body");
	rc = mca_jws_parse(NULL, 0, &jws, &err);
	assert_err(&err, rc, MCA_ERR_INVAL, "malformed", "NULL body");
	rc = mca_jws_parse("{}", 2, &jws, NULL);
	ck_assert_int_eq(rc, MCA_ERR_INVAL);

	body = malloc(big);
	ck_assert_ptr_nonnull(body);
	memset(body, ' ', big);
	body[0] = '{';
	body[big - 1] = '}';
	rc = mca_jws_parse(body, big, &jws, &err);
	assert_err(&err, rc, MCA_ERR_INVAL, "malformed", "256 KiB + 1");
	ck_assert_ptr_nonnull(strstr(err.msg, "larger"));
	free(body);

	raw = malloc(MCA_JWS_MAX_PAYLOAD + 1);
	ck_assert_ptr_nonnull(raw);
	memset(raw, 'a', MCA_JWS_MAX_PAYLOAD + 1);
	p = b64s("{\"alg\":\"ES256\",\"kid\":\"k\"}");
	q = b64(raw, MCA_JWS_MAX_PAYLOAD);
	body = make_body(p, q, "AAAA");
	jws = parse_ok(body);
	ck_assert_uint_eq(jws->payload_len, MCA_JWS_MAX_PAYLOAD);
	mca_jws_free(jws);
	jws = NULL;
	free(body);
	free(q);
	q = b64(raw, MCA_JWS_MAX_PAYLOAD + 1);
	body = make_body(p, q, "AAAA");
	rc = mca_jws_parse(body, strlen(body), &jws, &err);
	assert_err(&err, rc, MCA_ERR_INVAL, "malformed", "payload 64 KiB + 1");
	ck_assert_ptr_nonnull(strstr(err.msg, "payload"));
	ck_assert_ptr_null(jws);
	free(body);
	free(q);
	free(p);

	/* A protected header of 16 KiB + is refused before decoding. */
	p = malloc(20000);
	ck_assert_ptr_nonnull(p);
	memset(p, 'A', 19999);
	p[19999] = '\0';
	body = make_body(p, "", "AAAA");
	rc = mca_jws_parse(body, strlen(body), &jws, &err);
	assert_err(&err, rc, MCA_ERR_INVAL, "malformed", "long protected");
	ck_assert_ptr_nonnull(strstr(err.msg, "\"protected\""));
	free(body);
	free(p);
	free(raw);
}
END_TEST

/*
 * JWKs that are refused: private members, unsupported types and curves,
 * weak or invalid keys (MCA_ERR_POLICY "badPublicKey"), and structural
 * problems (MCA_ERR_INVAL "malformed").  The thumbprint refuses the same
 * ones, except that a point off the curve is only found by OpenSSL.
 */
#define BADKEY   MCA_ERR_POLICY, "badPublicKey"
#define BADSHAPE MCA_ERR_INVAL, "malformed"

static const struct {
	const char *jwk;
	mca_rc rc;
	const char *rule;
	int thumb_ok; /* the thumbprint does not see this problem */
} bad_jwks[] = {
    {"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A3_X "\",\"y\":\"" A3_Y "\",\"d\":\"" A3_D "\"}",
     BADKEY, 0},
    {"{\"kty\":\"RSA\",\"n\":\"" RSA_N "\",\"e\":\"AQAB\",\"d\":\"AQAB\"}", BADKEY, 0},
    {"{\"kty\":\"RSA\",\"n\":\"" RSA_N "\",\"e\":\"AQAB\",\"p\":\"AQAB\"}", BADKEY, 0},
    {"{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" ED_X "\",\"d\":\"" A3_D "\"}", BADKEY, 0},
    {"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A3_X "\",\"y\":\"" A3_Y_OFF "\"}", BADKEY, 1},
    {"{\"kty\":\"RSA\",\"n\":\"" RSA_N_EVEN "\",\"e\":\"AQAB\"}", BADKEY, 0},
    {"{\"kty\":\"EC\",\"crv\":\"P-521\",\"x\":\"" A3_X "\",\"y\":\"" A3_Y "\"}", BADKEY, 0},
    {"{\"kty\":\"EC\",\"crv\":\"secp256k1\",\"x\":\"" A3_X "\",\"y\":\"" A3_Y "\"}", BADKEY, 0},
    {"{\"kty\":\"EC\",\"crv\":\"Ed25519\",\"x\":\"" A3_X "\",\"y\":\"" A3_Y "\"}", BADKEY, 0},
    {"{\"kty\":\"OKP\",\"crv\":\"P-256\",\"x\":\"" ED_X "\"}", BADKEY, 0},
    {"{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"" ED_X "\"}", BADKEY, 0},
    {"{\"kty\":\"OKP\",\"crv\":\"Ed448\",\"x\":\"" ED_X "\"}", BADKEY, 0},
    {"{\"kty\":\"oct\",\"k\":\"AAAA\"}", BADKEY, 0},
    {"{\"kty\":\"DSA\",\"y\":\"AAAA\"}", BADKEY, 0},
    {"{\"kty\":\"ec\",\"crv\":\"P-256\",\"x\":\"" A3_X "\",\"y\":\"" A3_Y "\"}", BADKEY, 0},
    {"{\"kty\":\"RSA\",\"n\":\"" RSA_N "\",\"e\":\"AQ\"}", BADKEY, 0},           /* e = 1 */
    {"{\"kty\":\"RSA\",\"n\":\"" RSA_N "\",\"e\":\"Ag\"}", BADKEY, 0},           /* e = 2 */
    {"{\"kty\":\"RSA\",\"n\":\"" RSA_N "\",\"e\":\"AQAA\"}", BADKEY, 0},         /* e even */
    {"{\"kty\":\"RSA\",\"n\":\"" RSA_N "\",\"e\":\"Aw\"}", BADKEY, 0},           /* e = 3 */
    {"{\"kty\":\"RSA\",\"n\":\"" RSA_N "\",\"e\":\"__8\"}", BADKEY, 0},          /* 65535 */
    {"{\"kty\":\"RSA\",\"n\":\"" RSA_N "\",\"e\":\"AQAAAAAAAAAB\"}", BADKEY, 0}, /* 72 bits */
    {"{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}", BADKEY, 0},              /* 17-bit n */
    {"{\"kty\":\"RSA\",\"n\":\"" RSA_N_ZERO "\",\"e\":\"AQAB\"}", BADSHAPE, 0},
    {"{\"kty\":\"RSA\",\"n\":\"" RSA_N "\",\"e\":\"AAEAAQ\"}", BADSHAPE, 0},
    {"{\"kty\":\"RSA\",\"e\":\"AQAB\"}", BADSHAPE, 0},
    {"{\"kty\":\"RSA\",\"n\":\"" RSA_N "\"}", BADSHAPE, 0},
    {"{\"kty\":\"RSA\",\"n\":\"" RSA_N "\",\"e\":65537}", BADSHAPE, 0},
    {"{\"kty\":\"RSA\",\"n\":\"" RSA_N "=\",\"e\":\"AQAB\"}", BADSHAPE, 0},
    {"{\"kty\":\"RSA\",\"n\":\"\",\"e\":\"AQAB\"}", BADSHAPE, 0},
    {"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A3_X "\"}", BADSHAPE, 0},
    {"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A3_X "\",\"y\":5}", BADSHAPE, 0},
    {"{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"" A3_X "\",\"y\":\"" A3_Y "\"}", BADSHAPE, 0},
    {"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" X31 "\",\"y\":\"" A3_Y "\"}", BADSHAPE, 0},
    {"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A3_X "=\",\"y\":\"" A3_Y "\"}", BADSHAPE, 0},
    {"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A3_X "\",\"y\":\"x/FEzRu9m36HLN/tue659LNpXW6pCy"
     "StikYjKIWI5a0\"}",
     BADSHAPE, 0}, /* standard base64 alphabet */
    {"{\"kty\":\"EC\",\"x\":\"" A3_X "\",\"y\":\"" A3_Y "\"}", BADSHAPE, 0},
    {"{\"kty\":\"EC\",\"crv\":256,\"x\":\"" A3_X "\",\"y\":\"" A3_Y "\"}", BADSHAPE, 0},
    {"{\"crv\":\"P-256\",\"x\":\"" A3_X "\",\"y\":\"" A3_Y "\"}", BADSHAPE, 0},
    {"{\"kty\":5}", BADSHAPE, 0},
    {"{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" X31 "\"}", BADSHAPE, 0},
    {"{\"kty\":\"OKP\",\"crv\":\"Ed25519\"}", BADSHAPE, 0},
    {"[]", BADSHAPE, 0},
    {"\"jwk\"", BADSHAPE, 0},
};

START_TEST(test_jwk_refused)
{
	struct mca_error err = {0};
	json_t *jwk = json_loads(bad_jwks[_i].jwk, JSON_DECODE_ANY, NULL);
	EVP_PKEY *pk = keys[K_P256]; /* must be reset to NULL */
	char tp[44];
	mca_rc rc;

	ck_assert_msg(jwk != NULL, "test JSON %s", bad_jwks[_i].jwk);
	rc = mca_jwk_to_pkey(jwk, &pk, &err);
	assert_err(&err, rc, bad_jwks[_i].rc, bad_jwks[_i].rule, bad_jwks[_i].jwk);
	ck_assert_ptr_null(pk);
	mca_error_clear(&err);
	memset(tp, 'X', sizeof(tp));
	rc = mca_jwk_thumbprint(jwk, tp, &err);
	if (bad_jwks[_i].thumb_ok) {
		ck_assert_msg(rc == MCA_OK, "%s: thumbprint: %s", bad_jwks[_i].jwk, err.msg);
		ck_assert_uint_eq(strlen(tp), 43);
	} else {
		assert_err(&err, rc, bad_jwks[_i].rc, bad_jwks[_i].rule, bad_jwks[_i].jwk);
		ck_assert_int_eq(tp[0], '\0');
	}
	json_decref(jwk);
}
END_TEST

/* An RSA JWK of modulus octets n[0..len) and exponent AQAB. */
static json_t *
rsa_jwk_of(const unsigned char *n, size_t len)
{
	char *s = b64(n, len);
	json_t *jwk = json_pack("{s:s,s:s,s:s}", "kty", "RSA", "n", s, "e", "AQAB");

	ck_assert_ptr_nonnull(jwk);
	free(s);
	return jwk;
}

/* The JWK of `key` must import, and a RS256 JWS it signs must verify. */
static void
assert_rsa_usable(EVP_PKEY *key, const char *what)
{
	struct mca_error err = {0};
	struct mca_jws *jws = NULL;
	json_t *jwk = pkey_to_jwk(key);
	EVP_PKEY *pk = NULL;
	char *body;
	mca_rc rc;

	rc = mca_jwk_to_pkey(jwk, &pk, &err);
	ck_assert_msg(rc == MCA_OK, "%s: %s", what, err.msg);
	ck_assert_int_eq(EVP_PKEY_get_bits(pk), EVP_PKEY_get_bits(key));
	body = make_jws(key, "RS256",
	                "{\"alg\":\"RS256\",\"nonce\":\"" NONCE "\",\"url\":\"" URL
	                "\",\"kid\":\"" KID "\"}",
	                PAYLOAD);
	ck_assert_int_eq(mca_jws_parse(body, strlen(body), &jws, &err), MCA_OK);
	rc = mca_jws_verify(jws, pk, &err);
	ck_assert_msg(rc == MCA_OK, "%s: verify: %s", what, err.msg);
	mca_jws_free(jws);
	free(body);
	EVP_PKEY_free(pk);
	json_decref(jwk);
}

/*
 * RSA moduli outside 2048..4096 bits are refused from their length alone
 * (no key is built); 2048 and 4096 bits work.
 */
START_TEST(test_jwk_rsa_sizes)
{
	struct mca_error err = {0};
	EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024), *pk = NULL;
	EVP_PKEY *big = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
	unsigned char n[1025];
	json_t *jwk;
	char tp[44];
	mca_rc rc;

	ck_assert_ptr_nonnull(small);
	ck_assert_ptr_nonnull(big);
	jwk = pkey_to_jwk(small);
	rc = mca_jwk_to_pkey(jwk, &pk, &err);
	assert_err(&err, rc, MCA_ERR_POLICY, "badPublicKey", "RSA-1024");
	ck_assert_ptr_null(pk);
	ck_assert_ptr_nonnull(strstr(err.msg, "1024"));
	json_decref(jwk);
	EVP_PKEY_free(small);

	/* 2047 bits: the top octet is 0x7f. */
	memset(n, 0xff, sizeof(n));
	n[0] = 0x7f;
	jwk = rsa_jwk_of(n, 256);
	rc = mca_jwk_to_pkey(jwk, &pk, &err);
	assert_err(&err, rc, MCA_ERR_POLICY, "badPublicKey", "2047 bits");
	ck_assert_ptr_nonnull(strstr(err.msg, "2047"));
	json_decref(jwk);

	/* 4097 bits: 513 octets, the top one 0x01; also for the thumbprint. */
	n[0] = 0x01;
	jwk = rsa_jwk_of(n, 513);
	rc = mca_jwk_to_pkey(jwk, &pk, &err);
	assert_err(&err, rc, MCA_ERR_POLICY, "badPublicKey", "4097 bits");
	ck_assert_ptr_null(pk);
	ck_assert_msg(strstr(err.msg, "4097") != NULL && strstr(err.msg, "4096") != NULL,
	              "4097 bits: the message names both sizes: %s", err.msg);
	rc = mca_jwk_thumbprint(jwk, tp, &err);
	assert_err(&err, rc, MCA_ERR_POLICY, "badPublicKey", "4097 bits (thumbprint)");
	json_decref(jwk);

	/* 8192 and 8200 bits. */
	n[0] = 0xff;
	jwk = rsa_jwk_of(n, 1024);
	rc = mca_jwk_to_pkey(jwk, &pk, &err);
	assert_err(&err, rc, MCA_ERR_POLICY, "badPublicKey", "8192 bits");
	ck_assert_ptr_null(pk);
	ck_assert_ptr_nonnull(strstr(err.msg, "8192"));
	json_decref(jwk);
	jwk = rsa_jwk_of(n, sizeof(n));
	rc = mca_jwk_to_pkey(jwk, &pk, &err);
	assert_err(&err, rc, MCA_ERR_POLICY, "badPublicKey", "8200 bits");
	ck_assert_ptr_null(pk);
	json_decref(jwk);

	assert_rsa_usable(keys[K_RSA], "RSA-2048");
	assert_rsa_usable(big, "RSA-4096");
	EVP_PKEY_free(big);
}
END_TEST

/*
 * Nothing expensive runs before the signature is verified: a modulus that
 * is a prime (which a full public-key check finds only by a Miller-Rabin
 * test, a modular exponentiation as long as the modulus) is structurally
 * fine, imports, and the JWS gets the signature error, "unauthorized",
 * not "badPublicKey".
 */
START_TEST(test_jwk_rsa_no_expensive_check)
{
	struct mca_error err = {0};
	struct mca_jws *jws = NULL;
	BIGNUM *p = BN_new();
	BN_CTX *bctx = BN_CTX_new();
	unsigned char n[256], sig[256];
	char *prot = NULL, *p64, *q64, *s64, *body;
	json_t *jwk, *h;
	EVP_PKEY *pk = NULL;
	mca_rc rc;

	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(bctx);
	ck_assert_int_eq(BN_generate_prime_ex2(p, 2048, 0, NULL, NULL, NULL, bctx), 1);
	ck_assert_int_eq(BN_num_bits(p), 2048);
	ck_assert_int_eq(BN_bn2binpad(p, n, sizeof(n)), (int)sizeof(n));
	jwk = rsa_jwk_of(n, sizeof(n));
	rc = mca_jwk_to_pkey(jwk, &pk, &err);
	ck_assert_msg(rc == MCA_OK, "a prime 2048-bit modulus imports: %s", err.msg);

	h = json_pack("{s:s,s:s,s:s,s:O}", "alg", "RS256", "nonce", NONCE, "url", URL, "jwk", jwk);
	ck_assert_ptr_nonnull(h);
	prot = json_dumps(h, JSON_COMPACT);
	ck_assert_ptr_nonnull(prot);
	ck_assert_int_eq(RAND_bytes(sig, sizeof(sig)), 1);
	sig[0] &= 0x7f; /* below the modulus */
	p64 = b64s(prot);
	q64 = b64s(PAYLOAD);
	s64 = b64(sig, sizeof(sig));
	body = make_body(p64, q64, s64);
	ck_assert_int_eq(mca_jws_parse(body, strlen(body), &jws, &err), MCA_OK);
	rc = mca_jws_verify(jws, pk, &err);
	assert_err(&err, rc, MCA_ERR_POLICY, "unauthorized", "prime modulus, made-up signature");

	mca_jws_free(jws);
	free(body);
	free(s64);
	free(q64);
	free(p64);
	free(prot);
	json_decref(h);
	json_decref(jwk);
	EVP_PKEY_free(pk);
	BN_free(p);
	BN_CTX_free(bctx);
}
END_TEST

/* JWKs that are accepted: the published keys, also with metadata members. */
static const struct {
	const char *jwk;
	const char *type;
} good_jwks[] = {
    {A3_JWK, "EC"},
    {RSA_JWK, "RSA"},
    {ED_JWK, "ED25519"},
    {"{\"use\":\"sig\",\"kid\":\"2011-04-29\",\"alg\":\"RS256\",\"e\":\"AQAB\",\"kty\":\"RSA\","
     "\"n\":\"" RSA_N "\",\"key_ops\":[\"verify\"],\"ext\":true}",
     "RSA"},
    {"{\"y\":\"" A3_Y "\",\"x\":\"" A3_X "\",\"crv\":\"P-256\",\"kty\":\"EC\",\"alg\":\"ES256\"}",
     "EC"},
};

START_TEST(test_jwk_accepted)
{
	struct mca_error err = {0};
	json_t *jwk = json_loads(good_jwks[_i].jwk, 0, NULL);
	EVP_PKEY *pk = NULL;
	mca_rc rc;

	ck_assert_ptr_nonnull(jwk);
	rc = mca_jwk_to_pkey(jwk, &pk, &err);
	ck_assert_msg(rc == MCA_OK, "%s: %s", good_jwks[_i].jwk, err.msg);
	ck_assert_ptr_nonnull(pk);
	ck_assert_int_eq(EVP_PKEY_is_a(pk, good_jwks[_i].type), 1);
	EVP_PKEY_free(pk);
	json_decref(jwk);
}
END_TEST

/*
 * Thumbprints: the RFC 7638 and RFC 8037 vectors, and one EC key spelled
 * in different member orders, with and without extra members, which must
 * all give the same value.
 */
static const struct {
	const char *jwk;
	const char *want;
} thumbs[] = {
    /* RFC 7638 3.1 exactly as printed, with "alg" and "kid". */
    {"{\"kty\":\"RSA\",\"n\":\"" RSA_N
     "\",\"e\":\"AQAB\",\"alg\":\"RS256\",\"kid\":\"2011-04-29\"}",
     RSA_THUMB},
    {RSA_JWK, RSA_THUMB},
    {"{\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":\"" RSA_N "\"}", RSA_THUMB},
    {ED_JWK, ED_THUMB},
    {"{\"x\":\"" ED_X "\",\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"use\":\"sig\"}", ED_THUMB},
    {A3_JWK, A3_THUMB},
    {"{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"" A3_X "\",\"y\":\"" A3_Y "\"}", A3_THUMB},
    {"{\"y\":\"" A3_Y "\",\"x\":\"" A3_X "\",\"kty\":\"EC\",\"crv\":\"P-256\"}", A3_THUMB},
    {"{\"kid\":\"e9bc097a-ce51-4036-9562-d2ade882db0d\",\"use\":\"sig\",\"y\":\"" A3_Y
     "\",\"alg\":\"ES256\",\"x\":\"" A3_X "\",\"key_ops\":[\"verify\"],\"crv\":\"P-256\","
     "\"kty\":\"EC\",\"ext\":true}",
     A3_THUMB},
    {"{\n  \"kty\" : \"EC\",\n  \"crv\" : \"P-256\",\n  \"x\" : \"" A3_X "\",\n  \"y\" : \"" A3_Y
     "\"\n}",
     A3_THUMB},
};

START_TEST(test_thumbprint)
{
	struct mca_error err = {0};
	json_t *jwk = json_loads(thumbs[_i].jwk, 0, NULL);
	char tp[44];
	mca_rc rc;

	ck_assert_ptr_nonnull(jwk);
	memset(tp, 'X', sizeof(tp));
	rc = mca_jwk_thumbprint(jwk, tp, &err);
	ck_assert_msg(rc == MCA_OK, "%s: %s", thumbs[_i].jwk, err.msg);
	ck_assert_str_eq(tp, thumbs[_i].want);
	json_decref(jwk);
}
END_TEST

/*
 * The thumbprint of each generated key equals SHA-256 over the canonical
 * JSON the test spells out itself, and differs between keys.
 */
START_TEST(test_thumbprint_generated)
{
	struct mca_error err = {0};
	json_t *jwk = pkey_to_jwk(keys[_i]), *other;
	const char *kty = json_string_value(json_object_get(jwk, "kty"));
	char canon[2048], tp[44], tp2[44], *want;
	unsigned char md[32];
	unsigned int mdlen = 0;

	if (strcmp(kty, "EC") == 0)
		snprintf(canon, sizeof(canon),
		         "{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
		         json_string_value(json_object_get(jwk, "crv")),
		         json_string_value(json_object_get(jwk, "x")),
		         json_string_value(json_object_get(jwk, "y")));
	else if (strcmp(kty, "RSA") == 0)
		snprintf(canon, sizeof(canon), "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}",
		         json_string_value(json_object_get(jwk, "e")),
		         json_string_value(json_object_get(jwk, "n")));
	else
		snprintf(canon, sizeof(canon), "{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"%s\"}",
		         json_string_value(json_object_get(jwk, "x")));
	ck_assert_int_eq(EVP_Digest(canon, strlen(canon), md, &mdlen, EVP_sha256(), NULL), 1);
	want = b64(md, mdlen);
	ck_assert_int_eq(mca_jwk_thumbprint(jwk, tp, &err), MCA_OK);
	ck_assert_str_eq(tp, want);
	/* Extra members change nothing. */
	json_object_set_new(jwk, "kid", json_string("some-key"));
	json_object_set_new(jwk, "use", json_string("sig"));
	ck_assert_int_eq(mca_jwk_thumbprint(jwk, tp2, &err), MCA_OK);
	ck_assert_str_eq(tp2, tp);
	/* Another key, another thumbprint. */
	other = pkey_to_jwk(keys[(_i + 1) % K_COUNT]);
	ck_assert_int_eq(mca_jwk_thumbprint(other, tp2, &err), MCA_OK);
	ck_assert_str_ne(tp2, tp);
	json_decref(other);
	json_decref(jwk);
	free(want);
}
END_TEST

/* The published JWS examples verify, and stop verifying when one character changes. */
static const struct {
	const char *jwk;
	const char *alg;
	const char *input;
	const char *sig;
} kats[] = {
    {A3_JWK, "ES256", A3_INPUT, A3_SIG}, /* RFC 7515 A.3 */
    {ED_JWK, "EdDSA", ED_INPUT, ED_SIG}, /* RFC 8037 A.4 */
};

START_TEST(test_known_answers)
{
	struct mca_error err = {0};
	json_t *jwk = json_loads(kats[_i].jwk, 0, NULL);
	struct mca_jws jws;
	EVP_PKEY *pk = NULL;
	char alg[16], input[256];
	mca_rc rc;

	ck_assert_ptr_nonnull(jwk);
	ck_assert_int_eq(mca_jwk_to_pkey(jwk, &pk, &err), MCA_OK);
	memset(&jws, 0, sizeof(jws));
	snprintf(alg, sizeof(alg), "%s", kats[_i].alg);
	snprintf(input, sizeof(input), "%s", kats[_i].input);
	jws.alg = alg;
	jws.signing_input = input;
	ck_assert_int_eq(
	    mca_b64url_decode(kats[_i].sig, strlen(kats[_i].sig), &jws.sig, &jws.sig_len), 1);
	rc = mca_jws_verify(&jws, pk, &err);
	ck_assert_msg(rc == MCA_OK, "%s: %s", kats[_i].alg, err.msg);
	input[strlen(input) - 1] ^= 0x01;
	rc = mca_jws_verify(&jws, pk, &err);
	assert_err(&err, rc, MCA_ERR_POLICY, "unauthorized", kats[_i].alg);
	free(jws.sig);
	EVP_PKEY_free(pk);
	json_decref(jwk);
}
END_TEST

/*
 * Signatures of the wrong length are refused before OpenSSL sees them:
 * one octet short, one too many, and for ECDSA the DER encoding OpenSSL
 * produces (which a careless client might send).
 */
enum { L_SHORT, L_LONG, L_DER };

static const struct {
	int key;
	int kind;
} siglen[] = {
    {K_P256, L_SHORT}, {K_P384, L_SHORT}, {K_RSA, L_SHORT}, {K_ED, L_SHORT}, {K_P256, L_LONG},
    {K_P384, L_LONG},  {K_RSA, L_LONG},   {K_ED, L_LONG},   {K_P256, L_DER}, {K_P384, L_DER},
};

START_TEST(test_signature_length)
{
	int k = siglen[_i].key, kind = siglen[_i].kind;
	struct mca_error err = {0};
	struct mca_jws *jws;
	char *prot = header_for(k, 1, key_alg[k], NONCE);
	char *p = b64s(prot), *q = b64s(PAYLOAD), *input = xasprintf2(p, ".", q);
	char *s = sign_b64(keys[k], key_alg[k], input), *body;
	unsigned char *raw, *der = NULL, *big;
	EVP_MD_CTX *m;
	size_t len, derlen = 0;
	mca_rc rc;

	ck_assert_int_eq(mca_b64url_decode(s, strlen(s), &raw, &len), 1);
	free(s);
	switch (kind) {
	case L_SHORT:
		s = b64(raw, len - 1);
		break;
	case L_LONG:
		big = calloc(1, len + 1);
		ck_assert_ptr_nonnull(big);
		memcpy(big, raw, len);
		s = b64(big, len + 1);
		free(big);
		break;
	default:
		m = EVP_MD_CTX_new();
		ck_assert_int_eq(EVP_DigestSignInit(m, NULL,
		                                    k == K_P384 ? EVP_sha384() : EVP_sha256(), NULL,
		                                    keys[k]),
		                 1);
		ck_assert_int_eq(
		    EVP_DigestSign(m, NULL, &derlen, (const unsigned char *)input, strlen(input)),
		    1);
		der = malloc(derlen);
		ck_assert_int_eq(
		    EVP_DigestSign(m, der, &derlen, (const unsigned char *)input, strlen(input)),
		    1);
		s = b64(der, derlen);
		EVP_MD_CTX_free(m);
		break;
	}
	body = make_body(p, q, s);
	jws = parse_ok(body);
	rc = mca_jws_verify(jws, keys[k], &err);
	assert_err(&err, rc, MCA_ERR_INVAL, "malformed", key_name[k]);
	ck_assert_ptr_nonnull(strstr(err.msg, "octets"));
	mca_jws_free(jws);
	free(der);
	free(raw);
	free(prot);
	free(p);
	free(q);
	free(input);
	free(s);
	free(body);
}
END_TEST

/* verify refuses a struct it cannot use, and an algorithm it does not know. */
START_TEST(test_verify_args)
{
	struct mca_error err = {0};
	struct mca_jws jws;
	char alg[] = "HS256", input[] = "e30.e30";
	unsigned char sig[64] = {0};

	ck_assert_int_eq(mca_jws_verify(NULL, keys[K_P256], &err), MCA_ERR_INVAL);
	memset(&jws, 0, sizeof(jws));
	jws.alg = alg;
	jws.signing_input = input;
	jws.sig = sig;
	jws.sig_len = sizeof(sig);
	ck_assert_int_eq(mca_jws_verify(&jws, NULL, &err), MCA_ERR_INVAL);
	assert_err(&err, mca_jws_verify(&jws, keys[K_P256], &err), MCA_ERR_POLICY,
	           "badSignatureAlgorithm", "HS256");
	mca_jws_free(NULL);
}
END_TEST

/* Encoding vectors (RFC 4648 10, in the URL alphabet) and their decoding. */
static const struct {
	const char *raw;
	size_t len;
	const char *enc;
} b64_vec[] = {
    {"", 0, ""},
    {"f", 1, "Zg"},
    {"fo", 2, "Zm8"},
    {"foo", 3, "Zm9v"},
    {"foob", 4, "Zm9vYg"},
    {"fooba", 5, "Zm9vYmE"},
    {"foobar", 6, "Zm9vYmFy"},
    {"\xfb\xff", 2, "-_8"},
    {"\xff\xff\xff", 3, "____"},
    {"\xfa", 1, "-g"},
    {"\x00", 1, "AA"},
    {"\x00\x00\x00", 3, "AAAA"},
    {"\x00\x00\x00\x00", 4, "AAAAAA"},
    {"\x3e\x3f", 2, "Pj8"},
    {"{}", 2, "e30"},
};

START_TEST(test_b64_vectors)
{
	char *enc = mca_b64url_encode((const unsigned char *)b64_vec[_i].raw, b64_vec[_i].len);
	unsigned char *dec = NULL;
	size_t len = 99;

	ck_assert_ptr_nonnull(enc);
	ck_assert_str_eq(enc, b64_vec[_i].enc);
	ck_assert_int_eq(mca_b64url_decode(enc, strlen(enc), &dec, &len), 1);
	ck_assert_ptr_nonnull(dec);
	ck_assert_uint_eq(len, b64_vec[_i].len);
	ck_assert_int_eq(memcmp(dec, b64_vec[_i].raw, len), 0);
	ck_assert_int_eq(dec[len], '\0');
	free(enc);
	free(dec);
}
END_TEST

/* Text that is not canonical unpadded base64url; `len` 0 means strlen. */
static const struct {
	const char *in;
	size_t len;
} b64_bad[] = {
    {"Z", 0},     {"Zg=", 0},   {"Zg==", 0},   {"Zm9v=", 0},        {"Zm8=", 0},   {"=", 0},
    {"====", 0},  {"Zh", 0},    {"Zm9", 0},    {"-_9", 0},          {"AB", 0},     {"AAB", 0},
    {"Zm+v", 0},  {"Zm/v", 0},  {" Zm9v", 0},  {"Zm9v ", 0},        {"Zm9v\n", 0}, {"Zm.v", 0},
    {"Zm9vY", 0}, {"Zm\0v", 4}, {"Zm9v\0", 5}, {"Zm9v\xc3\xa9", 0}, {"Z*==", 0},
};

START_TEST(test_b64_invalid)
{
	size_t len = b64_bad[_i].len != 0 ? b64_bad[_i].len : strlen(b64_bad[_i].in);
	unsigned char *dec = (unsigned char *)&len; /* must be reset to NULL */
	size_t outlen = 99;

	ck_assert_msg(mca_b64url_decode(b64_bad[_i].in, len, &dec, &outlen) == 0, "'%s' decoded",
	              b64_bad[_i].in);
	ck_assert_ptr_null(dec);
	ck_assert_uint_eq(outlen, 0);
}
END_TEST

/* Random octet strings of every length up to 300 survive encode -> decode. */
START_TEST(test_b64_round_trip)
{
	unsigned char in[300], *dec;
	size_t n, len;
	char *enc;

	for (n = 0; n <= sizeof(in); n++) {
		ck_assert_int_eq(RAND_bytes(in, (int)sizeof(in)), 1);
		enc = mca_b64url_encode(in, n);
		ck_assert_ptr_nonnull(enc);
		ck_assert_uint_eq(strlen(enc), (n * 4 + 2) / 3);
		ck_assert_uint_eq(strspn(enc, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		                              "0123456789-_"),
		                  strlen(enc));
		ck_assert_int_eq(mca_b64url_decode(enc, strlen(enc), &dec, &len), 1);
		ck_assert_uint_eq(len, n);
		ck_assert_int_eq(memcmp(dec, in, n), 0);
		free(enc);
		free(dec);
	}
	ck_assert_int_eq(mca_b64url_decode(NULL, 0, &dec, &len), 1);
	ck_assert_uint_eq(len, 0);
	free(dec);
	ck_assert_int_eq(mca_b64url_decode(NULL, 4, &dec, &len), 0);
}
END_TEST

static Suite *
jws_suite(void)
{
	Suite *s = suite_create("jws");
	TCase *tc;

	tc = tcase_create("verify");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_sign_verify, 0, 4 * K_COUNT);
	tcase_add_loop_test(tc, test_tampered, 0, T_COUNT * K_COUNT);
	tcase_add_loop_test(tc, test_alg_key_mismatch, 0, NELEM(mismatch));
	tcase_add_loop_test(tc, test_known_answers, 0, NELEM(kats));
	tcase_add_loop_test(tc, test_signature_length, 0, NELEM(siglen));
	tcase_add_test(tc, test_verify_args);
	suite_add_tcase(s, tc);

	tc = tcase_create("parse");
	tcase_add_loop_test(tc, test_unsupported_alg, 0, NELEM(bad_algs));
	tcase_add_loop_test(tc, test_malformed, 0, NELEM(malformed));
	tcase_add_test(tc, test_good_baseline);
	tcase_add_test(tc, test_sizes);
	suite_add_tcase(s, tc);

	tc = tcase_create("jwk");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_jwk_refused, 0, NELEM(bad_jwks));
	tcase_add_test(tc, test_jwk_rsa_sizes);
	tcase_add_test(tc, test_jwk_rsa_no_expensive_check);
	tcase_add_loop_test(tc, test_jwk_accepted, 0, NELEM(good_jwks));
	tcase_add_loop_test(tc, test_thumbprint, 0, NELEM(thumbs));
	tcase_add_loop_test(tc, test_thumbprint_generated, 0, K_COUNT);
	suite_add_tcase(s, tc);

	tc = tcase_create("base64url");
	tcase_add_loop_test(tc, test_b64_vectors, 0, NELEM(b64_vec));
	tcase_add_loop_test(tc, test_b64_invalid, 0, NELEM(b64_bad));
	tcase_add_test(tc, test_b64_round_trip);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed, i;

	keys[K_P256] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	keys[K_P384] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	keys[K_RSA] = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	keys[K_ED] = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	for (i = 0; i < K_COUNT; i++)
		if (keys[i] == NULL) {
			fprintf(stderr, "test_jws: cannot generate a %s key\n", key_name[i]);
			return EXIT_FAILURE;
		}
	sr = srunner_create(jws_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	for (i = 0; i < K_COUNT; i++)
		EVP_PKEY_free(keys[i]);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
