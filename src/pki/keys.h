/*
 * keys.h - private keys and certificate files.
 *
 * Private keys are stored as PKCS#8 PEM, mode 0600, written atomically and
 * never over an existing file; with a passphrase they are encrypted with
 * AES-256-CBC under PBES2 with scrypt (N=2^14, r=8, p=5: OWASP's floor for
 * scrypt; larger N would exceed the 32 MiB OpenSSL allows a PKCS#8 scrypt
 * decryption, so `openssl pkey` could no longer read the keys).  Keys
 * encrypted otherwise (older versions: PBKDF2, 2048 rounds) still load.
 * Key material never reaches a log or an error message.
 *
 * Ownership: every EVP_PKEY, X509 and STACK_OF(X509) returned is new and
 * owned by the caller; malloc'd buffers are freed with free() (secrets
 * with mca_free_secret()).
 */
#ifndef MCA_KEYS_H
#define MCA_KEYS_H

#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/err.h"

enum mca_key_type {
	MCA_KEY_EC_P256,
	MCA_KEY_EC_P384,
	MCA_KEY_RSA_2048,
	MCA_KEY_RSA_3072,
	MCA_KEY_RSA_4096,
	MCA_KEY_ED25519,
	MCA_KEY__COUNT
};

/* "ec-p256" ... "ed25519"; returns -1 for an unknown name. */
int mca_key_type_parse(const char *name);
const char *mca_key_type_name(enum mca_key_type t);

/* Generate a fresh key of type `t`. */
mca_rc mca_key_generate(enum mca_key_type t, EVP_PKEY **out, struct mca_error *err);

/*
 * Write `key` to `path` (must not exist) as PKCS#8 PEM, mode 0600,
 * encrypted when `passphrase` is not NULL.
 */
mca_rc mca_key_save(const char *path, EVP_PKEY *key, const char *passphrase, struct mca_error *err);

/*
 * Read a private key; `passphrase` may be NULL.  An encrypted key without
 * (or with a wrong) passphrase is an MCA_ERR_CRYPTO error naming `path`;
 * nothing is ever read from a terminal.
 */
mca_rc mca_key_load(const char *path, const char *passphrase, EVP_PKEY **out,
                    struct mca_error *err);

/* Unencrypted PKCS#8 PEM of `key`, NUL-terminated; free with mca_free_secret(). */
mca_rc mca_key_to_pem(EVP_PKEY *key, char **out, struct mca_error *err);

/* Read the first certificate of a PEM file. */
mca_rc mca_cert_load(const char *path, X509 **out, struct mca_error *err);

/* Read every certificate of a PEM file (at least one). */
mca_rc mca_certs_load(const char *path, STACK_OF(X509) * *out, struct mca_error *err);

/* PEM text of `cert` (NUL-terminated, malloc'd). */
mca_rc mca_cert_to_pem(X509 *cert, char **out, struct mca_error *err);

/*
 * The PEM text of the certificate whose DER is `der`, exactly as
 * mca_cert_to_pem (PEM_write_bio_X509) writes it, without decoding it:
 * 64-column base64 lines between the CERTIFICATE armour lines.  *out is
 * malloc'd.  MCA_ERR_NOMEM when out of memory.
 */
mca_rc mca_cert_der_to_pem(const unsigned char *der, size_t der_len, char **out,
                           struct mca_error *err);

/* DER of `cert` (malloc'd). */
mca_rc mca_cert_to_der(X509 *cert, unsigned char **out, size_t *len, struct mca_error *err);

/* Write `cert` to `path` as PEM, mode 0644, atomically, never over an existing file. */
mca_rc mca_cert_save(const char *path, X509 *cert, struct mca_error *err);

/* Whether the private key `key` belongs to the certificate `cert`. */
int mca_key_matches_cert(EVP_PKEY *key, X509 *cert);

/* SHA-256 of the DER of `cert`, lower-case hex (65 bytes). */
mca_rc mca_cert_fingerprint(X509 *cert, char out[65], struct mca_error *err);

#endif

#ifndef MCA_KEYS_NAME_H
#define MCA_KEYS_NAME_H
/* RFC 2253 text of a distinguished name (malloc'd); "" for an empty name. */
char *mca_name_string(const X509_NAME *name);

/* An ASN1_TIME as Unix seconds; -1 when unparsable. */
int64_t mca_asn1_time_unix(const ASN1_TIME *t);
#endif
