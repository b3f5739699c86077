/* keys.c - key generation and PEM files for keys and certificates. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>
#include <openssl/rsa.h>

#include "common/util.h"
#include "pki/keys.h"

static const char *const key_type_names[MCA_KEY__COUNT] = {
    "ec-p256", "ec-p384", "rsa-2048", "rsa-3072", "rsa-4096", "ed25519",
};

int
mca_key_type_parse(const char *name)
{
	int i;

	for (i = 0; i < MCA_KEY__COUNT; i++)
		if (strcmp(name, key_type_names[i]) == 0)
			return i;
	return -1;
}

const char *
mca_key_type_name(enum mca_key_type t)
{
	return (unsigned)t < MCA_KEY__COUNT ? key_type_names[t] : "unknown";
}

mca_rc
mca_key_generate(enum mca_key_type t, EVP_PKEY **out, struct mca_error *err)
{
	EVP_PKEY *k = NULL;

	switch (t) {
	case MCA_KEY_EC_P256:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	case MCA_KEY_EC_P384:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
		break;
	case MCA_KEY_RSA_2048:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
		break;
	case MCA_KEY_RSA_3072:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
		break;
	case MCA_KEY_RSA_4096:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
		break;
	case MCA_KEY_ED25519:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		break;
	default:
		return mca_error_set(err, MCA_ERR_INVAL, "unknown key type");
	}
	if (k == NULL)
		return mca_error_ssl(err, MCA_ERR_CRYPTO, "generating %s key",
		                     mca_key_type_name(t));
	*out = k;
	return MCA_OK;
}

/* Contents of a memory BIO as a malloc'd NUL-terminated string. */
static char *
bio_to_string(BIO *b, size_t *len)
{
	char *data = NULL, *s;
	long n = BIO_get_mem_data(b, &data);

	if (n < 0)
		return NULL;
	s = malloc((size_t)n + 1);
	if (s == NULL)
		return NULL;
	if (n > 0) /* an empty BIO has no data pointer */
		memcpy(s, data, (size_t)n);
	s[n] = '\0';
	if (len != NULL)
		*len = (size_t)n;
	return s;
}

/* Key derivation of encrypted keys (see keys.h); about 0.15 s per key. */
#define KEY_SCRYPT_N 16384
#define KEY_SCRYPT_R 8
#define KEY_SCRYPT_P 5
#define KEY_SALT_LEN 16

/* `key` as an encrypted PKCS#8 PEM (PBES2: scrypt, AES-256-CBC) into `b`. */
static int
write_encrypted(BIO *b, EVP_PKEY *key, const char *passphrase)
{
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	X509_ALGOR *pbe = NULL;
	X509_SIG *enc = NULL;
	int ok = 0;

	p8 = EVP_PKEY2PKCS8(key);
	if (p8 == NULL)
		goto out;
	pbe = PKCS5_pbe2_set_scrypt(EVP_aes_256_cbc(), NULL, KEY_SALT_LEN, NULL, KEY_SCRYPT_N,
	                            KEY_SCRYPT_R, KEY_SCRYPT_P);
	if (pbe == NULL)
		goto out;
	/* On success `enc` owns `pbe`; on failure it is still ours. */
	enc = PKCS8_set0_pbe(passphrase, (int)strlen(passphrase), p8, pbe);
	if (enc == NULL)
		goto out;
	pbe = NULL;
	ok = PEM_write_bio_PKCS8(b, enc);
out:
	X509_SIG_free(enc);
	X509_ALGOR_free(pbe);
	PKCS8_PRIV_KEY_INFO_free(p8); /* clears the key bytes */
	return ok;
}

mca_rc
mca_key_save(const char *path, EVP_PKEY *key, const char *passphrase, struct mca_error *err)
{
	BIO *b = NULL;
	char *pem = NULL;
	size_t len = 0;
	int ok;
	mca_rc rc;

	b = BIO_new(BIO_s_secmem());
	if (b == NULL)
		b = BIO_new(BIO_s_mem());
	if (b == NULL)
		return mca_error_ssl(err, MCA_ERR_NOMEM, "%s", path);
	if (passphrase != NULL)
		ok = write_encrypted(b, key, passphrase);
	else
		ok = PEM_write_bio_PKCS8PrivateKey(b, key, NULL, NULL, 0, NULL, NULL);
	if (!ok) {
		rc = mca_error_ssl(err, MCA_ERR_CRYPTO, "%s: encoding key", path);
		goto out;
	}
	pem = bio_to_string(b, &len);
	if (pem == NULL) {
		rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		goto out;
	}
	rc = mca_file_write_atomic(path, pem, len, 0600, 1, err);
out:
	mca_free_secret(pem);
	BIO_free(b);
	return rc;
}

/* Passphrase callback: hands OpenSSL the configured passphrase, never prompts. */
static int
pass_cb(char *buf, int size, int rwflag, void *u)
{
	const char *pass = u;
	size_t len;

	if (pass == NULL)
		return -1;
	len = strlen(pass);
	if (len > (size_t)size)
		return -1;
	memcpy(buf, pass, len);
	return (int)len;
}

mca_rc
mca_key_load(const char *path, const char *passphrase, EVP_PKEY **out, struct mca_error *err)
{
	char *pem = NULL;
	size_t len = 0;
	BIO *b = NULL;
	EVP_PKEY *k = NULL;
	mca_rc rc;

	*out = NULL;
	if ((rc = mca_file_read(path, &pem, &len, err)) != MCA_OK)
		return rc;
	b = BIO_new_mem_buf(pem, (int)len);
	if (b == NULL) {
		rc = mca_error_ssl(err, MCA_ERR_NOMEM, "%s", path);
		goto out;
	}
	k = PEM_read_bio_PrivateKey(b, NULL, pass_cb, (void *)(uintptr_t)passphrase);
	if (k == NULL) {
		ERR_clear_error();
		if (strstr(pem, "ENCRYPTED") != NULL)
			rc = mca_error_set(err, MCA_ERR_CRYPTO,
			                   passphrase
			                       ? "%s: wrong passphrase for encrypted key"
			                       : "%s: key is encrypted and no passphrase_file "
			                         "is configured",
			                   path);
		else
			rc = mca_error_set(err, MCA_ERR_CRYPTO, "%s: not a PEM private key", path);
		goto out;
	}
	*out = k;
	rc = MCA_OK;
out:
	BIO_free(b);
	if (pem != NULL) {
		OPENSSL_cleanse(pem, len);
		free(pem);
	}
	return rc;
}

mca_rc
mca_key_to_pem(EVP_PKEY *key, char **out, struct mca_error *err)
{
	BIO *b = BIO_new(BIO_s_secmem()); /* a plain key: wiped when freed */
	mca_rc rc = MCA_OK;

	*out = NULL;
	if (b == NULL)
		b = BIO_new(BIO_s_mem());
	if (b == NULL || !PEM_write_bio_PKCS8PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) ||
	    (*out = bio_to_string(b, NULL)) == NULL)
		rc = mca_error_ssl(err, MCA_ERR_CRYPTO, "encoding key");
	BIO_free(b);
	return rc;
}

mca_rc
mca_certs_load(const char *path, STACK_OF(X509) * *out, struct mca_error *err)
{
	char *pem = NULL;
	size_t len = 0;
	BIO *b = NULL;
	STACK_OF(X509) *sk = NULL;
	X509 *x;
	mca_rc rc;

	*out = NULL;
	if ((rc = mca_file_read(path, &pem, &len, err)) != MCA_OK)
		return rc;
	sk = sk_X509_new_null();
	b = BIO_new_mem_buf(pem, (int)len);
	if (sk == NULL || b == NULL) {
		rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		goto out;
	}
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
			goto out;
		}
	}
	ERR_clear_error();
	if (sk_X509_num(sk) == 0) {
		rc = mca_error_set(err, MCA_ERR_CRYPTO, "%s: no PEM certificate", path);
		goto out;
	}
	*out = sk;
	sk = NULL;
	rc = MCA_OK;
out:
	sk_X509_pop_free(sk, X509_free);
	BIO_free(b);
	free(pem);
	return rc;
}

mca_rc
mca_cert_load(const char *path, X509 **out, struct mca_error *err)
{
	STACK_OF(X509) *sk = NULL;
	mca_rc rc;

	*out = NULL;
	if ((rc = mca_certs_load(path, &sk, err)) != MCA_OK)
		return rc;
	*out = sk_X509_shift(sk);
	sk_X509_pop_free(sk, X509_free);
	return MCA_OK;
}

mca_rc
mca_cert_to_pem(X509 *cert, char **out, struct mca_error *err)
{
	BIO *b = BIO_new(BIO_s_mem());
	mca_rc rc = MCA_OK;

	*out = NULL;
	if (b == NULL || !PEM_write_bio_X509(b, cert) || (*out = bio_to_string(b, NULL)) == NULL)
		rc = mca_error_ssl(err, MCA_ERR_CRYPTO, "encoding certificate");
	BIO_free(b);
	return rc;
}

mca_rc
mca_cert_der_to_pem(const unsigned char *der, size_t der_len, char **out, struct mca_error *err)
{
	static const char head[] = "-----BEGIN CERTIFICATE-----\n";
	static const char tail[] = "-----END CERTIFICATE-----\n";
	size_t lines, cap, o, i, n;
	char *s;

	*out = NULL;
	if (der_len > SIZE_MAX / 2)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	/* 48 octets a line: 64 base64 characters and a newline, as PEM_write_bio */
	lines = (der_len + 47) / 48;
	cap = sizeof(head) - 1 + lines * 65 + sizeof(tail);
	s = malloc(cap);
	if (s == NULL)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	memcpy(s, head, sizeof(head) - 1);
	o = sizeof(head) - 1;
	for (i = 0; i < der_len; i += n) {
		n = der_len - i < 48 ? der_len - i : 48;
		o += (size_t)EVP_EncodeBlock((unsigned char *)s + o, der + i, (int)n);
		s[o++] = '\n';
	}
	memcpy(s + o, tail, sizeof(tail));
	*out = s;
	return MCA_OK;
}

mca_rc
mca_cert_to_der(X509 *cert, unsigned char **out, size_t *len, struct mca_error *err)
{
	unsigned char *p = NULL;
	int n = i2d_X509(cert, &p);

	*out = NULL;
	if (n <= 0)
		return mca_error_ssl(err, MCA_ERR_CRYPTO, "encoding certificate");
	/* Hand out malloc memory so callers use free(), not OPENSSL_free(). */
	*out = malloc((size_t)n);
	if (*out != NULL)
		memcpy(*out, p, (size_t)n);
	OPENSSL_free(p);
	if (*out == NULL)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	*len = (size_t)n;
	return MCA_OK;
}

mca_rc
mca_cert_save(const char *path, X509 *cert, struct mca_error *err)
{
	char *pem = NULL;
	mca_rc rc;

	if ((rc = mca_cert_to_pem(cert, &pem, err)) != MCA_OK)
		return rc;
	rc = mca_file_write_atomic(path, pem, strlen(pem), 0644, 1, err);
	free(pem);
	return rc;
}

int
mca_key_matches_cert(EVP_PKEY *key, X509 *cert)
{
	int r = X509_check_private_key(cert, key);

	ERR_clear_error();
	return r == 1;
}

mca_rc
mca_cert_fingerprint(X509 *cert, char out[65], struct mca_error *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (!X509_digest(cert, EVP_sha256(), md, &n) || n != 32)
		return mca_error_ssl(err, MCA_ERR_CRYPTO, "fingerprint");
	mca_hex(md, n, out);
	return MCA_OK;
}

char *
mca_name_string(const X509_NAME *name)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *s = NULL;

	if (b == NULL)
		return NULL;
	if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) >= 0)
		s = bio_to_string(b, NULL);
	BIO_free(b);
	return s;
}

int64_t
mca_asn1_time_unix(const ASN1_TIME *t)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
		return -1;
	return (int64_t)timegm(&tm);
}
