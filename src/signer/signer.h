/*
 * signer.h - the one narrow interface to a CA private key.
 *
 * Everything that needs a CA signature goes through a struct mca_signer:
 * it signs opaque to-be-signed bytes (a TBSCertificate or a TBSCertList)
 * and nothing else.  A signer is an ops table {sign, pubkey, free} over a
 * backend: today the key in this process (mca_signer_local_new); the
 * daemon's signer process and PKCS#11 tokens are further backends behind
 * the same calls.  The signature algorithm follows from the public key,
 * so every backend signs alike.
 *
 * Signature algorithms (doc/profiles.md): ECDSA with the hash matched to
 * the curve (P-256: SHA-256, P-384: SHA-384), RSA PKCS#1 v1.5 with
 * SHA-256, Ed25519.  Never SHA-1.
 *
 * Thread-safety: a signer may be used from several threads at once when
 * its backend's sign is thread-safe (the local one is: OpenSSL key
 * objects are read-only once loaded).
 */
#ifndef MCA_SIGNER_H
#define MCA_SIGNER_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/err.h"

/*
 * What is being signed: a backend that checks before it signs (the
 * daemon's signer process, signer/lint.h) needs to know.  MCA_SIGN_PROBE
 * signs MCA_SIGNER_PROBE_MSG and nothing else (the health check): a
 * backend signs its own copy of that constant, never bytes it was given.
 */
enum mca_sign_kind {
	MCA_SIGN_CERT = 1,  /* a TBSCertificate */
	MCA_SIGN_CRL = 2,   /* a TBSCertList */
	MCA_SIGN_PROBE = 3, /* the fixed probe message */
	MCA_SIGN_OCSP = 4,  /* an OCSP ResponseData (pki/ocsp.h) */
};

#define MCA_SIGNER_PROBE_MSG "mtlsca health probe"

/*
 * One signature of a batch (mca_signer_sign_many): `tbs` in; on return
 * `rc` and, for MCA_OK, `sig` (malloc'd, the caller's), else `err`.
 */
struct mca_sign_item {
	const unsigned char *tbs;
	size_t tbs_len;
	unsigned char *sig;
	size_t sig_len;
	mca_rc rc;
	struct mca_error err;
};

/* The most items one mca_signer_sign_many call takes. */
#define MCA_SIGNER_MANY_MAX 256

/* What a backend provides.  `impl` is the backend's own state. */
struct mca_signer_ops {
	const char *name; /* "local", "process", ... for logs */
	/*
	 * Sign `tbs` (of `kind`; for MCA_SIGN_PROBE tbs is the probe message)
	 * with the algorithm of the key; *sig is malloc'd.
	 */
	mca_rc (*sign)(void *impl, enum mca_sign_kind kind, const unsigned char *tbs,
	               size_t tbs_len, unsigned char **sig, size_t *sig_len, struct mca_error *err);
	/* The public key, borrowed, valid while the signer lives. */
	EVP_PKEY *(*pubkey)(void *impl);
	void (*free)(void *impl);
	/*
	 * Optional (NULL: not offered): the digest name sign hashes with, and
	 * a signature over a digest made with it elsewhere, the same bytes
	 * sign would give for the message hashed.
	 */
	const char *(*digest_name)(void *impl);
	mca_rc (*sign_digest)(void *impl, const unsigned char *dgst, size_t dgst_len,
	                      unsigned char **sig, size_t *sig_len, struct mca_error *err);
	/*
	 * Optional (NULL: mca_signer_sign_many loops `sign`): sign every item
	 * of `items` (n >= 1, at most MCA_SIGNER_MANY_MAX), filling each
	 * item's result as mca_signer_sign_many says.
	 */
	void (*sign_many)(void *impl, enum mca_sign_kind kind, struct mca_sign_item *items,
	                  size_t n);
};

struct mca_signer;

/*
 * Wrap a backend: checks that its key type is one we sign with and picks
 * the algorithm.  Takes `impl` in every case (freed with ops->free on
 * failure).
 */
mca_rc mca_signer_create(const struct mca_signer_ops *ops, void *impl, struct mca_signer **out,
                         struct mca_error *err);

/* In-process signer over `key` (a reference is taken; the caller keeps its own). */
mca_rc mca_signer_local_new(EVP_PKEY *key, struct mca_signer **out, struct mca_error *err);

/*
 * MCA_OK when group and others may not read `path` (a key or passphrase
 * file); otherwise MCA_ERR_CONFIG "PATH: group or others may read it: run
 * 'chmod 600 PATH'" (MCA_ERR_IO when it cannot be looked at).
 */
mca_rc mca_signer_private_file(const char *path, struct mca_error *err);

/*
 * The one loader of a CA key file, for every caller (the CLI and the
 * signer process): refuses a key or passphrase file that group or others
 * may read (mca_signer_private_file); reads the passphrase only from
 * `passphrase_file` (NULL: the key is not encrypted), loads
 * `key_path` and, when `cert` is not NULL, checks that the key belongs to
 * it (`cert_path` names it in the error).  Errors name the file.
 */
mca_rc mca_signer_load(const char *key_path, const char *passphrase_file, X509 *cert,
                       const char *cert_path, struct mca_signer **out, struct mca_error *err);

void mca_signer_free(struct mca_signer *s);

/* The backend's name ("local"). */
const char *mca_signer_backend(const struct mca_signer *s);

/* The signer's public key (borrowed; valid while the signer lives). */
EVP_PKEY *mca_signer_pubkey(const struct mca_signer *s);

/*
 * DER of the AlgorithmIdentifier of the signatures this signer makes; it
 * goes both inside the TBS and next to the signature.  Borrowed.
 */
const unsigned char *mca_signer_algor_der(const struct mca_signer *s, size_t *len);

/* Sign `tbs` of `kind` (not MCA_SIGN_PROBE); *sig is malloc'd and owned by the caller. */
mca_rc mca_signer_sign(struct mca_signer *s, enum mca_sign_kind kind, const unsigned char *tbs,
                       size_t tbs_len, unsigned char **sig, size_t *sig_len, struct mca_error *err);

/*
 * The digest `s` signs with ("SHA256", "SHA384"), NULL when it cannot
 * sign a digest made by its caller (Ed25519, PKCS#11, the signer process).
 * mca_signer_sign_digest: the signature over such a digest (the caller
 * hashed the message once for its own use too); *sig is malloc'd.
 */
const char *mca_signer_digest_name(const struct mca_signer *s);
mca_rc mca_signer_sign_digest(struct mca_signer *s, const unsigned char *dgst, size_t dgst_len,
                              unsigned char **sig, size_t *sig_len, struct mca_error *err);

/*
 * Sign the `n` items (1..MCA_SIGNER_MANY_MAX) of `kind` (MCA_SIGN_CERT,
 * _CRL or _OCSP) at once: each item gets its own outcome, as
 * mca_signer_sign would give it (a refusal fails that item only).  The
 * signer process's backend sends all the requests in one write and reads
 * the replies in order, so that a batch costs the process one wake-up
 * rather than one per signature; the others sign one by one.  Over the
 * bounds (n) every item fails with MCA_ERR_INVAL.  Thread-safe as sign.
 */
void mca_signer_sign_many(struct mca_signer *s, enum mca_sign_kind kind,
                          struct mca_sign_item *items, size_t n);

/*
 * The signed SEQUENCE { tbs, algorithm, BIT STRING sig } around a
 * signature `sig` made by `s` over `tbs` (what mca_signer_wrap builds
 * after signing).  *out is malloc'd.
 */
mca_rc mca_signer_assemble(struct mca_signer *s, const unsigned char *tbs, size_t tbs_len,
                           const unsigned char *sig, size_t sig_len, unsigned char **out,
                           size_t *out_len, struct mca_error *err);

/* Sign MCA_SIGNER_PROBE_MSG (kind MCA_SIGN_PROBE); *sig is malloc'd. */
mca_rc mca_signer_sign_probe(struct mca_signer *s, unsigned char **sig, size_t *sig_len,
                             struct mca_error *err);

/*
 * The health check: sign MCA_SIGNER_PROBE_MSG and verify the signature
 * with the signer's public key.  MCA_OK when the key is there and usable.
 */
mca_rc mca_signer_probe(struct mca_signer *s, struct mca_error *err);

/*
 * Sign the certificate `*cert` (its TBS is final but for the signature
 * algorithm, which this sets): replaces *cert with the signed certificate.
 */
mca_rc mca_signer_sign_cert(struct mca_signer *s, X509 **cert, struct mca_error *err);

/*
 * Like mca_signer_sign_cert, but the signed certificate comes back as DER
 * (*der malloc'd) and `cert` keeps its TBS (with the signature algorithm
 * set): for a caller that parses the result itself anyway (the second
 * look), so that it is decoded once, not twice.
 */
mca_rc mca_signer_sign_cert_der(struct mca_signer *s, X509 *cert, unsigned char **der,
                                size_t *der_len, struct mca_error *err);

/*
 * Wrap signed bytes into the SEQUENCE { tbs, algorithm, BIT STRING sig }
 * shared by Certificate and CertificateList.  *out is malloc'd.
 */
mca_rc mca_signer_wrap(struct mca_signer *s, enum mca_sign_kind kind, const unsigned char *tbs,
                       size_t tbs_len, unsigned char **out, size_t *out_len, struct mca_error *err);

#endif
