/*
 * pkcs11.h - the signer backend over a PKCS#11 token: CA keys that never
 * leave it (doc/pkcs11.md).
 *
 * The key is named by a PKCS#11 URI (signer/p11uri.h) in "ca_key" /
 * "root_key"; the module (a shared object, loaded with dlopen and
 * initialised once per process however many keys use it) by
 * "pkcs11_module"; the user PIN is the first line of "pkcs11_pin_file",
 * which group and others may not read (mca_signer_private_file).
 *
 * Signatures: ECDSA P-256 / P-384 (the signer hashes, CKM_ECDSA signs the
 * digest, the raw r || s becomes a DER ECDSA-Sig-Value), RSA PKCS#1 v1.5
 * with SHA-256 (the signer hashes and prefixes the DigestInfo, CKM_RSA_PKCS
 * signs; a token without CKM_RSA_PKCS hashes itself with
 * CKM_SHA256_RSA_PKCS), Ed25519 with CKM_EDDSA where the token has it.  The
 * public key is read from the token (CKA_EC_POINT, DER-wrapped or bare;
 * CKA_MODULUS) or, when the token has no public key object, taken from the
 * certificate.
 *
 * Sessions: each key has one logged-in session, reused for every
 * signature under a mutex.  When the token fails a signature (removed,
 * session closed, any CKR error) the session is dropped and that request
 * fails with MCA_ERR_SIGNER (HTTP 503 signer_unavailable); the next
 * requests log in again, with back-off (1 s doubling to
 * MCA_P11_BACKOFF_MAX between attempts; requests in between fail at once
 * with MCA_ERR_SIGNER).  A key that logs in again must still sign for the
 * same public key (checked with a probe signature).  A PIN the token
 * refuses then is not tried again (each try counts towards locking the
 * token): the key answers MCA_ERR_SIGNER until the process restarts.
 *
 * Errors at open are one line naming the token or the module path:
 *   "pkcs11 token 'mtlsca': the PIN in /etc/mtlsca/pin is wrong (CKR_PIN_INCORRECT)"
 *   "pkcs11_module /usr/lib/nope.so: No such file or directory"
 * The PIN never reaches a log or an error.
 *
 * Thread-safety: a signer may be used from several threads (its session
 * is mutexed); opening and freeing may run concurrently with other keys.
 */
#ifndef MCA_SIGNER_PKCS11_H
#define MCA_SIGNER_PKCS11_H

#include <openssl/x509.h>

#include "common/err.h"
#include "pki/keys.h"
#include "signer/signer.h"

#define MCA_P11_BACKOFF_MAX 30 /* seconds */

/* Where the keys of a PKCS#11 URI live.  Strings borrowed. */
struct mca_p11conf {
	const char *module;   /* path of the module; NULL: the URI's module-path */
	const char *pin_file; /* NULL: the URI's pin-source; neither: no login */
};

/*
 * Open the private key `uri` (type private or absent).  With `cert` the
 * key must sign for the certificate's public key (`cert_path` names it);
 * without, the token must hold its public key.
 */
mca_rc mca_signer_pkcs11_new(const char *uri, const struct mca_p11conf *c, X509 *cert,
                             const char *cert_path, struct mca_signer **out, struct mca_error *err);

/*
 * Generate a key pair of type `t` in the token labelled `token`
 * (CKA_TOKEN, private key CKA_SENSITIVE and not CKA_EXTRACTABLE, sign
 * only), labelled "PREFIX-HEX" with a random CKA_ID of 8 octets (HEX).
 * *uri (malloc'd) names the new private key; *out signs with it.
 */
mca_rc mca_signer_pkcs11_generate(const struct mca_p11conf *c, const char *token,
                                  enum mca_key_type t, const char *prefix, char **uri,
                                  struct mca_signer **out, struct mca_error *err);

/*
 * Destroy the private and public key objects of `uri` (which must name
 * both object= and id=, as mca_signer_pkcs11_generate writes): undoes a
 * generation whose use failed (mtlsca init).  Signers over the key must be
 * freed first.
 */
mca_rc mca_signer_pkcs11_destroy(const char *uri, const struct mca_p11conf *c,
                                 struct mca_error *err);

/*
 * The one opener of a CA key for every caller: a PKCS#11 URI goes to
 * mca_signer_pkcs11_new (with `p11`; NULL is refused with a message
 * asking for pkcs11_module), anything else is a key file for
 * mca_signer_load (with `passphrase_file`).
 */
mca_rc mca_signer_open(const char *key, const char *passphrase_file, const struct mca_p11conf *p11,
                       X509 *cert, const char *cert_path, struct mca_signer **out,
                       struct mca_error *err);

#endif
