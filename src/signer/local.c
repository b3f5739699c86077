/*
 * local.c - the signer backend that holds the key in this process (the
 * CLI, init, and mtlscad until the key moves into its own process), and
 * the one loader of CA key files.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "common/util.h"
#include "pki/keys.h"
#include "signer/signer.h"

struct local {
	EVP_PKEY *key;
	const char *md; /* digest name, NULL for Ed25519 (which hashes itself) */
};

static mca_rc
local_sign(void *impl, enum mca_sign_kind kind, const unsigned char *tbs, size_t tbs_len,
           unsigned char **sig, size_t *sig_len, struct mca_error *err)
{
	struct local *s = impl;
	EVP_MD_CTX *ctx = NULL;
	unsigned char *buf = NULL;
	size_t len = 0;
	mca_rc rc = MCA_ERR_CRYPTO;

	/* The in-process key signs what this process built (the CLI): no lint here. */
	(void)kind;
	*sig = NULL;
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL || EVP_DigestSignInit_ex(ctx, NULL, s->md, NULL, NULL, s->key, NULL) != 1 ||
	    EVP_DigestSign(ctx, NULL, &len, tbs, tbs_len) != 1) {
		rc = mca_error_ssl(err, MCA_ERR_CRYPTO, "signing");
		goto out;
	}
	buf = malloc(len);
	if (buf == NULL) {
		rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (EVP_DigestSign(ctx, buf, &len, tbs, tbs_len) != 1) {
		rc = mca_error_ssl(err, MCA_ERR_CRYPTO, "signing");
		goto out;
	}
	*sig = buf;
	*sig_len = len;
	buf = NULL;
	rc = MCA_OK;
out:
	free(buf);
	EVP_MD_CTX_free(ctx);
	return rc;
}

static const char *
local_digest_name(void *impl)
{
	return ((struct local *)impl)->md;
}

/* What local_sign makes, over a digest made with s->md (EVP_PKEY_sign with that md). */
static mca_rc
local_sign_digest(void *impl, const unsigned char *dgst, size_t dgst_len, unsigned char **sig,
                  size_t *sig_len, struct mca_error *err)
{
	struct local *s = impl;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_MD *md = NULL;
	unsigned char *buf = NULL;
	size_t len = 0;
	mca_rc rc = MCA_ERR_CRYPTO;

	*sig = NULL;
	if (s->md == NULL || (md = EVP_MD_fetch(NULL, s->md, NULL)) == NULL ||
	    dgst_len != (size_t)EVP_MD_get_size(md) ||
	    (ctx = EVP_PKEY_CTX_new_from_pkey(NULL, s->key, NULL)) == NULL ||
	    EVP_PKEY_sign_init(ctx) != 1 || EVP_PKEY_CTX_set_signature_md(ctx, md) != 1 ||
	    (EVP_PKEY_is_a(s->key, "RSA") &&
	     EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1) ||
	    EVP_PKEY_sign(ctx, NULL, &len, dgst, dgst_len) != 1) {
		rc = mca_error_ssl(err, MCA_ERR_CRYPTO, "signing a digest");
		goto out;
	}
	if ((buf = malloc(len)) == NULL) {
		rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (EVP_PKEY_sign(ctx, buf, &len, dgst, dgst_len) != 1) {
		rc = mca_error_ssl(err, MCA_ERR_CRYPTO, "signing a digest");
		goto out;
	}
	*sig = buf;
	*sig_len = len;
	buf = NULL;
	rc = MCA_OK;
out:
	free(buf);
	EVP_PKEY_CTX_free(ctx);
	EVP_MD_free(md);
	return rc;
}

static EVP_PKEY *
local_pubkey(void *impl)
{
	return ((struct local *)impl)->key;
}

static void
local_free(void *impl)
{
	struct local *s = impl;

	if (s == NULL)
		return;
	EVP_PKEY_free(s->key);
	free(s);
}

static const struct mca_signer_ops local_ops = {
    .name = "local",
    .sign = local_sign,
    .pubkey = local_pubkey,
    .free = local_free,
    .digest_name = local_digest_name,
    .sign_digest = local_sign_digest,
};

mca_rc
mca_signer_local_new(EVP_PKEY *key, struct mca_signer **out, struct mca_error *err)
{
	struct local *s;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	EVP_PKEY_up_ref(key);
	s->key = key;
	if (EVP_PKEY_is_a(key, "EC"))
		s->md = EVP_PKEY_get_bits(key) > 256 ? "SHA384" : "SHA256";
	else if (EVP_PKEY_is_a(key, "RSA"))
		s->md = "SHA256";
	return mca_signer_create(&local_ops, s, out, err);
}

mca_rc
mca_signer_private_file(const char *path, struct mca_error *err)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return mca_error_set(err, MCA_ERR_IO, "%s: %s", path, strerror(errno));
	if (st.st_mode & (S_IRGRP | S_IROTH))
		return mca_error_set(err, MCA_ERR_CONFIG,
		                     "%s: group or others may read it: run 'chmod 600 %s'", path,
		                     path);
	return MCA_OK;
}

mca_rc
mca_signer_load(const char *key_path, const char *passphrase_file, X509 *cert,
                const char *cert_path, struct mca_signer **out, struct mca_error *err)
{
	char *pass = NULL;
	EVP_PKEY *key = NULL;
	mca_rc rc;

	*out = NULL;
	if ((rc = mca_signer_private_file(key_path, err)) != MCA_OK ||
	    (passphrase_file != NULL &&
	     (rc = mca_signer_private_file(passphrase_file, err)) != MCA_OK))
		goto out;
	if (passphrase_file != NULL &&
	    (rc = mca_passphrase_read(passphrase_file, &pass, err)) != MCA_OK)
		goto out;
	if ((rc = mca_key_load(key_path, pass, &key, err)) != MCA_OK)
		goto out;
	if (cert != NULL && !mca_key_matches_cert(key, cert)) {
		rc = mca_error_set(err, MCA_ERR_CONFIG, "%s: key does not match %s", key_path,
		                   cert_path != NULL ? cert_path : "its certificate");
		goto out;
	}
	rc = mca_signer_local_new(key, out, err);
out:
	EVP_PKEY_free(key);
	mca_free_secret(pass);
	return rc;
}
