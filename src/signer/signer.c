/* signer.c - what every signer backend shares: algorithm choice, wrapping. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>

#include "common/der.h"
#include "signer/signer.h"

/* AlgorithmIdentifier DER for each signature algorithm we produce. */
static const unsigned char alg_ecdsa_sha256[] = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86,
                                                 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02};
static const unsigned char alg_ecdsa_sha384[] = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86,
                                                 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03};
static const unsigned char alg_rsa_sha256[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
                                               0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00};
static const unsigned char alg_ed25519[] = {0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70};

struct mca_signer {
	const struct mca_signer_ops *ops;
	void *impl;
	const unsigned char *alg;
	size_t alg_len;
};

/* The AlgorithmIdentifier we sign with for `key`, NULL when unsupported. */
static const unsigned char *
algorithm_for(EVP_PKEY *key, size_t *len)
{
	char group[64] = "";
	size_t glen = 0;
	const unsigned char *alg = NULL;

	*len = 0;
	if (key == NULL)
		return NULL;
	if (EVP_PKEY_is_a(key, "EC")) {
		EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group,
		                               sizeof(group), &glen);
		if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0) {
			alg = alg_ecdsa_sha256;
			*len = sizeof(alg_ecdsa_sha256);
		} else if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0) {
			alg = alg_ecdsa_sha384;
			*len = sizeof(alg_ecdsa_sha384);
		}
	} else if (EVP_PKEY_is_a(key, "RSA") && EVP_PKEY_get_bits(key) >= 2048) {
		alg = alg_rsa_sha256;
		*len = sizeof(alg_rsa_sha256);
	} else if (EVP_PKEY_is_a(key, "ED25519")) {
		alg = alg_ed25519;
		*len = sizeof(alg_ed25519);
	}
	ERR_clear_error();
	return alg;
}

mca_rc
mca_signer_create(const struct mca_signer_ops *ops, void *impl, struct mca_signer **out,
                  struct mca_error *err)
{
	struct mca_signer *s = NULL;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		ops->free(impl);
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	}
	s->ops = ops;
	s->impl = impl;
	s->alg = algorithm_for(ops->pubkey(impl), &s->alg_len);
	if (s->alg == NULL) {
		mca_signer_free(s);
		return mca_error_set(err, MCA_ERR_CRYPTO,
		                     "CA key type not supported (need P-256, P-384, RSA >= 2048 "
		                     "or Ed25519)");
	}
	*out = s;
	return MCA_OK;
}

void
mca_signer_free(struct mca_signer *s)
{
	if (s == NULL)
		return;
	s->ops->free(s->impl);
	free(s);
}

const char *
mca_signer_backend(const struct mca_signer *s)
{
	return s->ops->name;
}

EVP_PKEY *
mca_signer_pubkey(const struct mca_signer *s)
{
	return s->ops->pubkey(s->impl);
}

const unsigned char *
mca_signer_algor_der(const struct mca_signer *s, size_t *len)
{
	*len = s->alg_len;
	return s->alg;
}

mca_rc
mca_signer_sign(struct mca_signer *s, enum mca_sign_kind kind, const unsigned char *tbs,
                size_t tbs_len, unsigned char **sig, size_t *sig_len, struct mca_error *err)
{
	*sig = NULL;
	*sig_len = 0;
	if (kind != MCA_SIGN_CERT && kind != MCA_SIGN_CRL && kind != MCA_SIGN_OCSP)
		return mca_error_set(err, MCA_ERR_INVAL, "unknown kind of signature %d", (int)kind);
	return s->ops->sign(s->impl, kind, tbs, tbs_len, sig, sig_len, err);
}

const char *
mca_signer_digest_name(const struct mca_signer *s)
{
	return s->ops->digest_name != NULL && s->ops->sign_digest != NULL
	           ? s->ops->digest_name(s->impl)
	           : NULL;
}

mca_rc
mca_signer_sign_digest(struct mca_signer *s, const unsigned char *dgst, size_t dgst_len,
                       unsigned char **sig, size_t *sig_len, struct mca_error *err)
{
	*sig = NULL;
	*sig_len = 0;
	if (mca_signer_digest_name(s) == NULL)
		return mca_error_set(err, MCA_ERR_INTERNAL, "the %s signer signs no digest",
		                     s->ops->name);
	return s->ops->sign_digest(s->impl, dgst, dgst_len, sig, sig_len, err);
}

mca_rc
mca_signer_sign_probe(struct mca_signer *s, unsigned char **sig, size_t *sig_len,
                      struct mca_error *err)
{
	static const unsigned char msg[] = MCA_SIGNER_PROBE_MSG;

	*sig = NULL;
	*sig_len = 0;
	return s->ops->sign(s->impl, MCA_SIGN_PROBE, msg, sizeof(msg) - 1, sig, sig_len, err);
}

mca_rc
mca_signer_probe(struct mca_signer *s, struct mca_error *err)
{
	static const unsigned char msg[] = MCA_SIGNER_PROBE_MSG;
	EVP_MD_CTX *ctx = NULL;
	unsigned char *sig = NULL;
	size_t sig_len = 0;
	const char *md = NULL;
	EVP_PKEY *pub = mca_signer_pubkey(s);
	mca_rc rc;

	if ((rc = mca_signer_sign_probe(s, &sig, &sig_len, err)) != MCA_OK)
		return rc;
	if (EVP_PKEY_is_a(pub, "EC"))
		md = EVP_PKEY_get_bits(pub) > 256 ? "SHA384" : "SHA256";
	else if (EVP_PKEY_is_a(pub, "RSA"))
		md = "SHA256";
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL || EVP_DigestVerifyInit_ex(ctx, NULL, md, NULL, NULL, pub, NULL) != 1 ||
	    EVP_DigestVerify(ctx, sig, sig_len, msg, sizeof(msg) - 1) != 1)
		rc = mca_error_ssl(err, MCA_ERR_CRYPTO, "the probe signature does not verify");
	EVP_MD_CTX_free(ctx);
	free(sig);
	return rc;
}

mca_rc
mca_signer_assemble(struct mca_signer *s, const unsigned char *tbs, size_t tbs_len,
                    const unsigned char *sig, size_t sig_len, unsigned char **out, size_t *out_len,
                    struct mca_error *err)
{
	struct mca_der d;
	size_t mark, bits;
	static const unsigned char no_unused_bits = 0;

	*out = NULL;
	*out_len = 0;
	mca_der_init(&d);
	mark = mca_der_open(&d, MCA_DER_SEQUENCE);
	mca_der_raw(&d, tbs, tbs_len);
	mca_der_raw(&d, s->alg, s->alg_len);
	bits = mca_der_open(&d, MCA_DER_BITSTRING);
	mca_der_raw(&d, &no_unused_bits, 1);
	mca_der_raw(&d, sig, sig_len);
	mca_der_close(&d, bits);
	mca_der_close(&d, mark);
	if (d.failed) {
		mca_der_free(&d);
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	}
	*out = d.buf;
	*out_len = d.len;
	return MCA_OK;
}

mca_rc
mca_signer_wrap(struct mca_signer *s, enum mca_sign_kind kind, const unsigned char *tbs,
                size_t tbs_len, unsigned char **out, size_t *out_len, struct mca_error *err)
{
	unsigned char *sig = NULL;
	size_t sig_len = 0;
	mca_rc rc;

	*out = NULL;
	if ((rc = mca_signer_sign(s, kind, tbs, tbs_len, &sig, &sig_len, err)) != MCA_OK)
		return rc;
	rc = mca_signer_assemble(s, tbs, tbs_len, sig, sig_len, out, out_len, err);
	free(sig);
	return rc;
}

void
mca_signer_sign_many(struct mca_signer *s, enum mca_sign_kind kind, struct mca_sign_item *items,
                     size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		items[i].sig = NULL;
		items[i].sig_len = 0;
		items[i].rc = MCA_OK;
		memset(&items[i].err, 0, sizeof(items[i].err));
	}
	if (n > MCA_SIGNER_MANY_MAX ||
	    (kind != MCA_SIGN_CERT && kind != MCA_SIGN_CRL && kind != MCA_SIGN_OCSP)) {
		for (i = 0; i < n; i++)
			items[i].rc =
			    n > MCA_SIGNER_MANY_MAX
			        ? mca_error_set(&items[i].err, MCA_ERR_INVAL,
			                        "%zu signatures in one batch: over the bound of %d",
			                        n, MCA_SIGNER_MANY_MAX)
			        : mca_error_set(&items[i].err, MCA_ERR_INVAL,
			                        "unknown kind of signature %d", (int)kind);
		return;
	}
	if (n == 0)
		return;
	if (s->ops->sign_many != NULL) {
		s->ops->sign_many(s->impl, kind, items, n);
		return;
	}
	for (i = 0; i < n; i++)
		items[i].rc = s->ops->sign(s->impl, kind, items[i].tbs, items[i].tbs_len,
		                           &items[i].sig, &items[i].sig_len, &items[i].err);
}

mca_rc
mca_signer_sign_cert_der(struct mca_signer *s, X509 *cert, unsigned char **der, size_t *der_len,
                         struct mca_error *err)
{
	X509_ALGOR *alg = NULL;
	const unsigned char *p;
	unsigned char *tbs = NULL;
	int tbs_len;
	mca_rc rc = MCA_ERR_CRYPTO;

	*der = NULL;
	*der_len = 0;
	p = s->alg;
	alg = d2i_X509_ALGOR(NULL, &p, (long)s->alg_len);
	/*
	 * OpenSSL exposes the TBS signature field only as const; it is the
	 * certificate's own field, and re-encoding below picks the change up.
	 */
	if (alg == NULL ||
	    !X509_ALGOR_copy((X509_ALGOR *)(uintptr_t)X509_get0_tbs_sigalg(cert), alg)) {
		rc = mca_error_ssl(err, MCA_ERR_CRYPTO, "setting signature algorithm");
		goto out;
	}
	tbs_len = i2d_re_X509_tbs(cert, &tbs);
	if (tbs_len <= 0) {
		rc = mca_error_ssl(err, MCA_ERR_CRYPTO, "encoding certificate");
		goto out;
	}
	rc = mca_signer_wrap(s, MCA_SIGN_CERT, tbs, (size_t)tbs_len, der, der_len, err);
out:
	X509_ALGOR_free(alg);
	OPENSSL_free(tbs);
	return rc;
}

mca_rc
mca_signer_sign_cert(struct mca_signer *s, X509 **cert, struct mca_error *err)
{
	const unsigned char *p;
	unsigned char *der = NULL;
	size_t der_len = 0;
	X509 *signed_cert = NULL;
	mca_rc rc;

	if ((rc = mca_signer_sign_cert_der(s, *cert, &der, &der_len, err)) != MCA_OK)
		return rc;
	p = der;
	signed_cert = d2i_X509(NULL, &p, (long)der_len);
	if (signed_cert == NULL || p != der + der_len) {
		X509_free(signed_cert);
		rc = mca_error_ssl(err, MCA_ERR_INTERNAL, "re-reading signed certificate");
		goto out;
	}
	X509_free(*cert);
	*cert = signed_cert;
	rc = MCA_OK;
out:
	free(der);
	return rc;
}
