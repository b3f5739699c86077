/*
 * idcache.h - client certificates that verified, kept so that a keep-alive
 * client (or a reconnecting one) is decoded and chain-verified once, not on
 * every request.
 *
 * Keyed by the SHA-256 of the certificate's DER as the TLS session has it:
 * the same bytes verify the same way against the same trust store, which
 * does not change while mtlscad runs.  An entry lives MCA_IDCACHE_TTL_S
 * seconds (so that the chain's validity is looked at again now and then);
 * only successes are kept.  What can change - revoked, expired, unknown to
 * the database - is not cached: mca_http_identify still reads the
 * certificate's row on every request.
 *
 * A process-wide table of MCA_IDCACHE_SLOTS entries (direct-mapped: a new
 * entry replaces the one in its slot), with one lock per stripe of slots,
 * so that requests of different clients rarely meet on a lock.
 *
 * Thread-safety: every function may be called from any thread.
 */
#ifndef MCA_IDCACHE_H
#define MCA_IDCACHE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#define MCA_IDCACHE_SLOTS 1024
#define MCA_IDCACHE_TTL_S 60

/* SHA-256 of `der` into `fp` (0 when the digest failed). */
int mca_idcache_fingerprint(const unsigned char *der, size_t len, unsigned char fp[32]);

/* The verified certificate with fingerprint `fp` (a new reference: X509_free), or NULL. */
X509 *mca_idcache_get(const unsigned char fp[32], int64_t now);

/* Remember that `cert` (fingerprint `fp`) verified at `now`; takes a reference of its own. */
void mca_idcache_put(const unsigned char fp[32], X509 *cert, int64_t now);

/* Drop every entry (at shutdown, and in tests). */
void mca_idcache_clear(void);

#endif
