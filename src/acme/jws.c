/* jws.c - flattened JWS (RFC 7515) as ACME uses it, JWKs, and RFC 7638 thumbprints. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include "acme/jws.h"

#define MAX_BODY        (256u * 1024u) /* the whole request body */
#define MAX_PROTECTED   16384u         /* characters of "protected" */
#define MAX_PAYLOAD_B64 ((MCA_JWS_MAX_PAYLOAD * 4u + 2u) / 3u)
#define MAX_SIG_B64     2048u /* characters of "signature": RSA-8192 needs 1366 */
#define MAX_JWK_MEMBER  2048u /* characters of one JWK member */
#define RSA_MIN_BITS    2048
#define RSA_MAX_BITS    8192
#define RSA_MAX_E       8 /* octets of the public exponent */

#define MALFORMED "malformed"
#define BADALG    "badSignatureAlgorithm"
#define BADKEY    "badPublicKey"

enum kty { KTY_EC, KTY_RSA, KTY_OKP };

/* The JWS algorithms ACME clients may use here, and the key each needs. */
static const struct alg {
	const char *name;
	enum kty kty;
	int nid;                   /* EC curve; NID_undef otherwise */
	size_t half;               /* ECDSA: octets of r and of s */
	const EVP_MD *(*md)(void); /* NULL for EdDSA, which hashes internally */
} algs[] = {
    {"ES256", KTY_EC, NID_X9_62_prime256v1, 32, EVP_sha256},
    {"ES384", KTY_EC, NID_secp384r1, 48, EVP_sha384},
    {"RS256", KTY_RSA, NID_undef, 0, EVP_sha256},
    {"EdDSA", KTY_OKP, NID_undef, 0, NULL},
};

/* The JWK curves accepted, with OpenSSL's name and the coordinate size. */
static const struct curve {
	const char *crv; /* JWK "crv" */
	enum kty kty;
	const char *ossl; /* group name (EC) or key type (OKP) */
	size_t len;       /* octets of "x" (and "y") */
} curves[] = {
    {"P-256", KTY_EC, "prime256v1", 32},
    {"P-384", KTY_EC, "secp384r1", 48},
    {"Ed25519", KTY_OKP, "ED25519", 32},
};

/* Members that only a private (or symmetric) JWK has: never accepted from a client. */
static const char *const private_members[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};

/* A JWK checked for shape and policy, not yet turned into a key. */
struct jwk_parts {
	enum kty kty;
	const struct curve *curve; /* EC and OKP */
	const char *text[2];       /* EC x, y; RSA n, e; OKP x (borrowed from the JWK) */
	unsigned char *val[2];     /* the same decoded */
	size_t len[2];
};

/* Peer-supplied text for an error message: short printable ASCII, else a placeholder. */
static const char *
shown(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (i >= 40 || (unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return "(unprintable)";
	return s;
}

/* Replace anything unprintable in jansson's error text: it may quote the input. */
static const char *
clean(char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			s[i] = '?';
	return s;
}

/* The supported algorithm called `name`, or NULL. */
static const struct alg *
find_alg(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (strcmp(algs[i].name, name) == 0)
			return &algs[i];
	return NULL;
}

void
mca_jws_free(struct mca_jws *jws)
{
	if (jws == NULL)
		return;
	free(jws->alg);
	free(jws->nonce);
	free(jws->url);
	free(jws->kid);
	json_decref(jws->jwk);
	free(jws->payload);
	free(jws->signing_input);
	free(jws->sig);
	free(jws);
}

/*
 * Copy the optional string member `name` of the protected header into
 * *dst (left NULL when absent).  A string with an embedded NUL could be
 * read two ways, so it is refused.
 */
static mca_rc
header_string(const json_t *hdr, const char *name, char **dst, struct mca_error *err)
{
	const json_t *v = json_object_get(hdr, name);

	*dst = NULL;
	if (v == NULL)
		return MCA_OK;
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
		return mca_error_rule(err, MCA_ERR_INVAL, MALFORMED,
		                      "the protected header's \"%s\" is not a string", name);
	*dst = strdup(json_string_value(v));
	if (*dst == NULL)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	return MCA_OK;
}

/*
 * The members of the protected header ACME relies on.  Extensions are not
 * understood, so "crit" is refused (RFC 7515 4.1.11), and so is an
 * unencoded payload ("b64": false, RFC 7797) which would change what the
 * signature covers.  Unknown other members are ignored as RFC 7515 says.
 */
static mca_rc
read_header(json_t *hdr, struct mca_jws *jws, struct mca_error *err)
{
	json_t *jwk;
	const json_t *b64;
	mca_rc rc;

	if (json_object_get(hdr, "crit") != NULL)
		return mca_error_rule(err, MCA_ERR_INVAL, MALFORMED,
		                      "the protected header has \"crit\"; no JWS extension is "
		                      "supported");
	b64 = json_object_get(hdr, "b64");
	if (b64 != NULL && !json_is_true(b64))
		return mca_error_rule(err, MCA_ERR_INVAL, MALFORMED,
		                      "the protected header has \"b64\" other than true; unencoded "
		                      "payloads are not supported");
	if ((rc = header_string(hdr, "alg", &jws->alg, err)) != MCA_OK)
		return rc;
	if (jws->alg == NULL)
		return mca_error_rule(err, MCA_ERR_INVAL, MALFORMED,
		                      "the protected header has no \"alg\"");
	if (find_alg(jws->alg) == NULL)
		return mca_error_rule(err, MCA_ERR_POLICY, BADALG,
		                      "the signature algorithm '%s' is not supported (use ES256, "
		                      "ES384, RS256 or EdDSA)",
		                      shown(jws->alg));
	if ((rc = header_string(hdr, "nonce", &jws->nonce, err)) != MCA_OK ||
	    (rc = header_string(hdr, "url", &jws->url, err)) != MCA_OK ||
	    (rc = header_string(hdr, "kid", &jws->kid, err)) != MCA_OK)
		return rc;
	jwk = json_object_get(hdr, "jwk");
	if (jwk != NULL && jws->kid != NULL)
		return mca_error_rule(err, MCA_ERR_INVAL, MALFORMED,
		                      "the protected header has both \"jwk\" and \"kid\"");
	if (jwk == NULL && jws->kid == NULL)
		return mca_error_rule(err, MCA_ERR_INVAL, MALFORMED,
		                      "the protected header has neither \"jwk\" nor \"kid\"");
	if (jwk != NULL && !json_is_object(jwk))
		return mca_error_rule(err, MCA_ERR_INVAL, MALFORMED,
		                      "the protected header's \"jwk\" is not a JSON object");
	if (jws->kid != NULL && jws->kid[0] == '\0')
		return mca_error_rule(err, MCA_ERR_INVAL, MALFORMED,
		                      "the protected header's \"kid\" is empty");
	jws->jwk = json_incref(jwk);
	return MCA_OK;
}

/*
 * Find the member `name` of the top-level JWS object: a string of at
 * least `min` and at most `max` characters.
 */
static mca_rc
top_string(json_t *top, const char *name, size_t min, size_t max, const char **text, size_t *len,
           struct mca_error *err)
{
	const json_t *v = json_object_get(top, name);

	if (v == NULL)
		return mca_error_rule(err, MCA_ERR_INVAL, MALFORMED, "the JWS has no \"%s\"", name);
	*text = json_string_value(v);
	*len = json_string_length(v);
	if (*len < min)
		return mca_error_rule(err, MCA_ERR_INVAL, MALFORMED, "the JWS \"%s\" is empty",
		                      name);
	if (*len > max)
		return mca_error_rule(err, MCA_ERR_INVAL, MALFORMED,
		                      "the JWS \"%s\" is longer than %zu characters", name, max);
	return MCA_OK;
}

/* Decode one base64url member of the JWS, naming it on failure. */
static mca_rc
top_decode(const char *name, const char *text, size_t len, unsigned char **out, size_t *outlen,
           struct mca_error *err)
{
	int r = mca_b64url_decode_ex(text, len, out, outlen);

	if (r < 0)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	if (r == 0)
		return mca_error_rule(err, MCA_ERR_INVAL, MALFORMED,
		                      "the JWS \"%s\" is not unpadded base64url", name);
	return MCA_OK;
}

mca_rc
mca_jws_parse(const char *body, size_t len, struct mca_jws **out, struct mca_error *err)
{
	struct mca_jws *jws = NULL;
	json_t *top = NULL, *hdr = NULL, *v;
	json_error_t jerr;
	const char *key, *prot = NULL, *payload = NULL, *sig = NULL;
	unsigned char *htext = NULL;
	size_t prot_len = 0, payload_len = 0, sig_len = 0, htext_len = 0;
	mca_rc rc;

	*out = NULL;
	if (body == NULL || len == 0)
		return mca_error_rule(err, MCA_ERR_INVAL, MALFORMED, "the request body is empty");
	if (len > MAX_BODY)
		return mca_error_rule(err, MCA_ERR_INVAL, MALFORMED,
		                      "the request body is larger than %u bytes", MAX_BODY);
	top = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (top == NULL)
		return mca_error_rule(err, MCA_ERR_INVAL, MALFORMED,
		                      "the request body is not valid JSON: %s", clean(jerr.text));
	if (!json_is_object(top)) {
		rc = mca_error_rule(err, MCA_ERR_INVAL, MALFORMED,
		                    "the request body is not a JSON object");
		goto out;
	}
	/* Flattened serialization only, and nothing outside the signature's cover. */
	json_object_foreach(top, key, v)
	{
		if (strcmp(key, "header") == 0) {
			rc = mca_error_rule(err, MCA_ERR_INVAL, MALFORMED,
			                    "the JWS has an unprotected \"header\"; ACME allows "
			                    "only \"protected\"");
			goto out;
		}
		if (strcmp(key, "protected") != 0 && strcmp(key, "payload") != 0 &&
		    strcmp(key, "signature") != 0) {
			rc = mca_error_rule(err, MCA_ERR_INVAL, MALFORMED,
			                    "the JWS has an unexpected member '%s' (only "
			                    "\"protected\", \"payload\" and \"signature\")",
			                    shown(key));
			goto out;
		}
		if (!json_is_string(v)) {
			rc = mca_error_rule(err, MCA_ERR_INVAL, MALFORMED,
			                    "the JWS \"%s\" is not a string", key);
			goto out;
		}
	}
	if ((rc = top_string(top, "protected", 1, MAX_PROTECTED, &prot, &prot_len, err)) !=
	        MCA_OK ||
	    (rc = top_string(top, "payload", 0, MAX_PAYLOAD_B64, &payload, &payload_len, err)) !=
	        MCA_OK ||
	    (rc = top_string(top, "signature", 0, MAX_SIG_B64, &sig, &sig_len, err)) != MCA_OK)
		goto out;

	jws = calloc(1, sizeof(*jws));
	if (jws == NULL) {
		rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = top_decode("protected", prot, prot_len, &htext, &htext_len, err)) != MCA_OK)
		goto out;
	hdr = json_loadb((const char *)htext, htext_len, JSON_REJECT_DUPLICATES, &jerr);
	if (hdr == NULL) {
		rc = mca_error_rule(err, MCA_ERR_INVAL, MALFORMED,
		                    "the protected header is not valid JSON: %s", clean(jerr.text));
		goto out;
	}
	if (!json_is_object(hdr)) {
		rc = mca_error_rule(err, MCA_ERR_INVAL, MALFORMED,
		                    "the protected header is not a JSON object");
		goto out;
	}
	if ((rc = read_header(hdr, jws, err)) != MCA_OK)
		goto out;
	if ((rc = top_decode("payload", payload, payload_len, &jws->payload, &jws->payload_len,
	                     err)) != MCA_OK ||
	    (rc = top_decode("signature", sig, sig_len, &jws->sig, &jws->sig_len, err)) != MCA_OK)
		goto out;
	/* Checked after the header so that "alg": "none" is reported as such. */
	if (jws->sig_len == 0) {
		rc =
		    mca_error_rule(err, MCA_ERR_INVAL, MALFORMED, "the JWS \"signature\" is empty");
		goto out;
	}
	if (jws->payload_len > MCA_JWS_MAX_PAYLOAD) {
		rc = mca_error_rule(err, MCA_ERR_INVAL, MALFORMED,
		                    "the JWS payload is larger than %u bytes", MCA_JWS_MAX_PAYLOAD);
		goto out;
	}
	/* What was signed is the text as received, not a re-encoding of it. */
	jws->signing_input = malloc(prot_len + 1 + payload_len + 1);
	if (jws->signing_input == NULL) {
		rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		goto out;
	}
	memcpy(jws->signing_input, prot, prot_len);
	jws->signing_input[prot_len] = '.';
	memcpy(jws->signing_input + prot_len + 1, payload, payload_len);
	jws->signing_input[prot_len + 1 + payload_len] = '\0';
	*out = jws;
	jws = NULL;
	rc = MCA_OK;
out:
	mca_jws_free(jws);
	free(htext);
	json_decref(hdr);
	json_decref(top);
	return rc;
}

static void
jwk_parts_clear(struct jwk_parts *p)
{
	free(p->val[0]);
	free(p->val[1]);
	memset(p, 0, sizeof(*p));
}

/* Member `name` of a JWK: a non-empty base64url string, decoded into slot `i` of `p`. */
static mca_rc
jwk_member(const json_t *jwk, const char *name, struct jwk_parts *p, int i, struct mca_error *err)
{
	const json_t *m = json_object_get(jwk, name);
	size_t n;
	int r;

	if (m == NULL)
		return mca_error_rule(err, MCA_ERR_INVAL, MALFORMED, "the JWK has no \"%s\"", name);
	if (!json_is_string(m))
		return mca_error_rule(err, MCA_ERR_INVAL, MALFORMED,
		                      "the JWK's \"%s\" is not a string", name);
	n = json_string_length(m);
	if (n == 0 || n > MAX_JWK_MEMBER)
		return mca_error_rule(err, MCA_ERR_INVAL, MALFORMED,
		                      "the JWK's \"%s\" is empty or longer than %u characters",
		                      name, MAX_JWK_MEMBER);
	r = mca_b64url_decode_ex(json_string_value(m), n, &p->val[i], &p->len[i]);
	if (r < 0)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	if (r == 0)
		return mca_error_rule(err, MCA_ERR_INVAL, MALFORMED,
		                      "the JWK's \"%s\" is not unpadded base64url", name);
	p->text[i] = json_string_value(m);
	return MCA_OK;
}

/*
 * RSA members: no leading zero octets (RFC 7518 6.3.1, so that a key has
 * one thumbprint), a modulus of RSA_MIN_BITS..RSA_MAX_BITS and an odd
 * public exponent of at least 3 that fits RSA_MAX_E octets.
 */
static mca_rc
jwk_check_rsa(const struct jwk_parts *p, struct mca_error *err)
{
	const unsigned char *n = p->val[0], *e = p->val[1];
	size_t nlen = p->len[0], elen = p->len[1];
	unsigned top;
	int bits;

	if (n[0] == 0 || e[0] == 0)
		return mca_error_rule(err, MCA_ERR_INVAL, MALFORMED,
		                      "the JWK's \"%s\" has leading zero octets",
		                      n[0] == 0 ? "n" : "e");
	if (nlen > RSA_MAX_BITS / 8)
		return mca_error_rule(err, MCA_ERR_POLICY, BADKEY,
		                      "the RSA modulus is longer than %d bits", RSA_MAX_BITS);
	bits = (int)nlen * 8;
	for (top = n[0]; top != 0 && (top & 0x80) == 0; top <<= 1)
		bits--;
	if (bits < RSA_MIN_BITS)
		return mca_error_rule(err, MCA_ERR_POLICY, BADKEY,
		                      "the RSA modulus has %d bits; at least %d are required", bits,
		                      RSA_MIN_BITS);
	if (elen > RSA_MAX_E || (e[elen - 1] & 1) == 0 || (elen == 1 && e[0] < 3))
		return mca_error_rule(err, MCA_ERR_POLICY, BADKEY,
		                      "the RSA public exponent must be odd, at least 3 and at most "
		                      "%d bits",
		                      RSA_MAX_E * 8);
	return MCA_OK;
}

/*
 * Read a JWK into `p`: a public key of a supported type with members of
 * the right size.  Everything the thumbprint and the key depend on is
 * checked here, so both accept exactly the same JWKs (apart from the
 * point validation only OpenSSL can do).  `p` is clear on error.
 */
static mca_rc
jwk_read(const json_t *jwk, struct jwk_parts *p, struct mca_error *err)
{
	const json_t *kty, *crv;
	const char *name;
	size_t i;
	mca_rc rc;

	memset(p, 0, sizeof(*p));
	if (!json_is_object(jwk))
		return mca_error_rule(err, MCA_ERR_INVAL, MALFORMED,
		                      "the JWK is not a JSON object");
	for (i = 0; i < sizeof(private_members) / sizeof(private_members[0]); i++)
		if (json_object_get(jwk, private_members[i]) != NULL)
			return mca_error_rule(err, MCA_ERR_POLICY, BADKEY,
			                      "the JWK has the private member \"%s\"; send the "
			                      "public key only",
			                      private_members[i]);
	kty = json_object_get(jwk, "kty");
	if (!json_is_string(kty))
		return mca_error_rule(err, MCA_ERR_INVAL, MALFORMED,
		                      "the JWK has no \"kty\" string");
	name = json_string_value(kty);
	if (strcmp(name, "RSA") == 0) {
		p->kty = KTY_RSA;
		if ((rc = jwk_member(jwk, "n", p, 0, err)) != MCA_OK ||
		    (rc = jwk_member(jwk, "e", p, 1, err)) != MCA_OK ||
		    (rc = jwk_check_rsa(p, err)) != MCA_OK)
			goto out;
		return MCA_OK;
	}
	if (strcmp(name, "EC") == 0)
		p->kty = KTY_EC;
	else if (strcmp(name, "OKP") == 0)
		p->kty = KTY_OKP;
	else
		return mca_error_rule(err, MCA_ERR_POLICY, BADKEY,
		                      "the JWK key type '%s' is not supported (use EC, RSA or OKP)",
		                      shown(name));
	crv = json_object_get(jwk, "crv");
	if (!json_is_string(crv))
		return mca_error_rule(err, MCA_ERR_INVAL, MALFORMED,
		                      "the JWK has no \"crv\" string");
	for (i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
		if (curves[i].kty == p->kty && strcmp(curves[i].crv, json_string_value(crv)) == 0)
			p->curve = &curves[i];
	if (p->curve == NULL)
		return mca_error_rule(err, MCA_ERR_POLICY, BADKEY,
		                      "the JWK curve '%s' is not supported for %s (use %s)",
		                      shown(json_string_value(crv)), name,
		                      p->kty == KTY_EC ? "P-256 or P-384" : "Ed25519");
	if ((rc = jwk_member(jwk, "x", p, 0, err)) != MCA_OK)
		goto out;
	if (p->kty == KTY_EC && (rc = jwk_member(jwk, "y", p, 1, err)) != MCA_OK)
		goto out;
	if (p->len[0] != p->curve->len || (p->kty == KTY_EC && p->len[1] != p->curve->len)) {
		rc = mca_error_rule(
		    err, MCA_ERR_INVAL, MALFORMED, "the JWK's %s must be %zu octets for %s",
		    p->kty == KTY_EC ? "\"x\" and \"y\"" : "\"x\"", p->curve->len, p->curve->crv);
		goto out;
	}
	return MCA_OK;
out:
	jwk_parts_clear(p);
	return rc;
}

/*
 * Turn checked JWK parts into OSSL_PARAMs for EVP_PKEY_fromdata.  EC
 * points are given uncompressed (0x04 || X || Y, each the field size).
 */
static mca_rc
jwk_params(const struct jwk_parts *p, OSSL_PARAM **params, struct mca_error *err)
{
	OSSL_PARAM_BLD *bld = NULL;
	BIGNUM *n = NULL, *e = NULL;
	unsigned char point[1 + 2 * 48];
	int ok = 0;

	*params = NULL;
	bld = OSSL_PARAM_BLD_new();
	if (bld == NULL)
		goto out;
	switch (p->kty) {
	case KTY_EC:
		if (p->len[0] > 48 || p->len[1] != p->len[0])
			goto out;
		point[0] = 0x04;
		memcpy(point + 1, p->val[0], p->len[0]);
		memcpy(point + 1 + p->len[0], p->val[1], p->len[1]);
		ok = OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
		                                     p->curve->ossl, 0) &&
		     OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point,
		                                      1 + 2 * p->len[0]);
		break;
	case KTY_RSA:
		n = BN_bin2bn(p->val[0], (int)p->len[0], NULL);
		e = BN_bin2bn(p->val[1], (int)p->len[1], NULL);
		ok = n != NULL && e != NULL &&
		     OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
		     OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e);
		break;
	case KTY_OKP:
		ok = OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, p->val[0],
		                                      p->len[0]);
		break;
	}
	if (ok)
		*params = OSSL_PARAM_BLD_to_param(bld);
out:
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	if (*params == NULL)
		return mca_error_ssl(err, MCA_ERR_NOMEM, "building the key parameters");
	return MCA_OK;
}

mca_rc
mca_jwk_to_pkey(const json_t *jwk, EVP_PKEY **out, struct mca_error *err)
{
	struct jwk_parts p;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL, *check = NULL;
	EVP_PKEY *pkey = NULL;
	const char *type;
	mca_rc rc;

	*out = NULL;
	if ((rc = jwk_read(jwk, &p, err)) != MCA_OK)
		return rc;
	if ((rc = jwk_params(&p, &params, err)) != MCA_OK)
		goto out;
	type = p.kty == KTY_RSA ? "RSA" : p.kty == KTY_EC ? "EC" : p.curve->ossl;
	ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1) {
		rc = mca_error_ssl(err, MCA_ERR_CRYPTO, "cannot set up a %s key", type);
		goto out;
	}
	/* OpenSSL refuses an EC point off the curve here already. */
	if (EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		ERR_clear_error();
		rc = mca_error_rule(err, MCA_ERR_POLICY, BADKEY,
		                    "the JWK is not a valid %s public key%s", type,
		                    p.kty == KTY_EC ? " (the point is not on the curve)" : "");
		goto out;
	}
	/* Full public-key validation: point on the curve and in the group, RSA modulus sane. */
	check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	if (check == NULL) {
		rc = mca_error_ssl(err, MCA_ERR_CRYPTO, "cannot check the %s key", type);
		goto out;
	}
	if (EVP_PKEY_public_check(check) != 1) {
		ERR_clear_error();
		rc = mca_error_rule(err, MCA_ERR_POLICY, BADKEY,
		                    "the JWK fails the %s public key check", type);
		goto out;
	}
	*out = pkey;
	pkey = NULL;
	rc = MCA_OK;
out:
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(check);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	jwk_parts_clear(&p);
	return rc;
}

mca_rc
mca_jwk_thumbprint(const json_t *jwk, char out[44], struct mca_error *err)
{
	struct jwk_parts p;
	unsigned char md[32];
	unsigned int mdlen = 0;
	char *canon = NULL, *enc = NULL;
	int n = -1;
	mca_rc rc;

	out[0] = '\0';
	if ((rc = jwk_read(jwk, &p, err)) != MCA_OK)
		return rc;
	/*
	 * RFC 7638 3.2: the required members only, sorted, no whitespace.  The
	 * values are checked base64url, so they need no JSON escaping.
	 */
	switch (p.kty) {
	case KTY_EC:
		n = asprintf(&canon, "{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
		             p.curve->crv, p.text[0], p.text[1]);
		break;
	case KTY_RSA:
		n = asprintf(&canon, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", p.text[1],
		             p.text[0]);
		break;
	case KTY_OKP:
		n = asprintf(&canon, "{\"crv\":\"%s\",\"kty\":\"OKP\",\"x\":\"%s\"}", p.curve->crv,
		             p.text[0]);
		break;
	}
	if (n < 0) {
		canon = NULL;
		rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (EVP_Digest(canon, (size_t)n, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32) {
		rc = mca_error_ssl(err, MCA_ERR_CRYPTO, "SHA-256 of the JWK");
		goto out;
	}
	enc = mca_b64url_encode(md, sizeof(md));
	if (enc == NULL || strlen(enc) != 43) {
		rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		goto out;
	}
	memcpy(out, enc, 44);
	rc = MCA_OK;
out:
	free(enc);
	free(canon);
	jwk_parts_clear(&p);
	return rc;
}

/* Whether `key` is the kind `a` signs with: the type, and for ECDSA the curve. */
static int
key_fits(const struct alg *a, const EVP_PKEY *key)
{
	char group[64];
	int nid;

	switch (a->kty) {
	case KTY_RSA:
		return EVP_PKEY_is_a(key, "RSA");
	case KTY_OKP:
		return EVP_PKEY_is_a(key, "ED25519");
	case KTY_EC:
		if (!EVP_PKEY_is_a(key, "EC") ||
		    EVP_PKEY_get_group_name(key, group, sizeof(group), NULL) != 1)
			return 0;
		nid = OBJ_sn2nid(group);
		if (nid == NID_undef)
			nid = EC_curve_nist2nid(group);
		return nid == a->nid;
	}
	return 0;
}

/*
 * JWS ECDSA signatures are r || s, each exactly `half` octets (RFC 7518
 * 3.4); OpenSSL verifies the DER ECDSA-Sig-Value.  *der is OPENSSL_malloc'd.
 */
static mca_rc
ecdsa_raw_to_der(const unsigned char *sig, size_t half, unsigned char **der, size_t *der_len,
                 struct mca_error *err)
{
	ECDSA_SIG *esig = NULL;
	BIGNUM *r = NULL, *s = NULL;
	int n;
	mca_rc rc = MCA_OK;

	*der = NULL;
	r = BN_bin2bn(sig, (int)half, NULL);
	s = BN_bin2bn(sig + half, (int)half, NULL);
	esig = ECDSA_SIG_new();
	if (r == NULL || s == NULL || esig == NULL || ECDSA_SIG_set0(esig, r, s) != 1) {
		rc = mca_error_ssl(err, MCA_ERR_NOMEM, "ECDSA signature");
		goto out;
	}
	r = s = NULL; /* owned by esig now */
	n = i2d_ECDSA_SIG(esig, der);
	if (n <= 0) {
		*der = NULL;
		rc = mca_error_ssl(err, MCA_ERR_NOMEM, "ECDSA signature");
		goto out;
	}
	*der_len = (size_t)n;
out:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(esig);
	return rc;
}

mca_rc
mca_jws_verify(const struct mca_jws *jws, EVP_PKEY *key, struct mca_error *err)
{
	const struct alg *a;
	EVP_MD_CTX *mctx = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char *der = NULL;
	const unsigned char *sig;
	size_t sig_len, want;
	mca_rc rc;

	if (jws == NULL || key == NULL || jws->alg == NULL || jws->signing_input == NULL ||
	    jws->sig == NULL)
		return mca_error_set(err, MCA_ERR_INVAL, "no JWS or no key to verify it with");
	a = find_alg(jws->alg);
	if (a == NULL)
		return mca_error_rule(err, MCA_ERR_POLICY, BADALG,
		                      "the signature algorithm '%s' is not supported",
		                      shown(jws->alg));
	if (!key_fits(a, key))
		return mca_error_rule(
		    err, MCA_ERR_POLICY, BADALG,
		    "the signature algorithm %s does not fit the account key (%s)", a->name,
		    EVP_PKEY_get0_type_name(key));
	sig = jws->sig;
	sig_len = jws->sig_len;
	want = a->kty == KTY_EC    ? 2 * a->half
	       : a->kty == KTY_OKP ? 64
	                           : (size_t)EVP_PKEY_get_size(key);
	if (sig_len != want)
		return mca_error_rule(err, MCA_ERR_INVAL, MALFORMED,
		                      "the %s signature has %zu octets, not %zu", a->name, sig_len,
		                      want);
	if (a->kty == KTY_EC) {
		if ((rc = ecdsa_raw_to_der(jws->sig, a->half, &der, &sig_len, err)) != MCA_OK)
			goto out;
		sig = der;
	}
	mctx = EVP_MD_CTX_new();
	if (mctx == NULL ||
	    EVP_DigestVerifyInit(mctx, &pctx, a->md != NULL ? a->md() : NULL, NULL, key) != 1 ||
	    (a->kty == KTY_RSA && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1)) {
		rc = mca_error_ssl(err, MCA_ERR_CRYPTO, "cannot set up %s verification", a->name);
		goto out;
	}
	if (EVP_DigestVerify(mctx, sig, sig_len, (const unsigned char *)jws->signing_input,
	                     strlen(jws->signing_input)) != 1) {
		ERR_clear_error();
		rc = mca_error_rule(err, MCA_ERR_POLICY, "unauthorized",
		                    "the JWS signature does not verify with the account key");
		goto out;
	}
	rc = MCA_OK;
out:
	EVP_MD_CTX_free(mctx);
	OPENSSL_free(der);
	return rc;
}
