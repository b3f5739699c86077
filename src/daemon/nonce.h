/*
 * nonce.h - ACME replay nonces (RFC 8555 6.5) that cost no storage.
 *
 * A nonce is 32 octets, base64url (MCA_NONCE_LEN characters): a 64-bit
 * counter and the 64-bit issue time, then the first 16 octets of
 * HMAC-SHA256 over both, under a key drawn at random by mca_nonces_new
 * and kept only in memory.  Redeeming checks the MAC (a made-up or
 * changed nonce is MCA_NONCE_FORGED), the age (MCA_NONCE_EXPIRED after
 * `lifetime` seconds) and a bitmap over the last `window` counters issued
 * (MCA_NONCE_USED when spent, MCA_NONCE_EVICTED when more than `window`
 * nonces were issued since).  Memory is window / 8 octets, fixed.
 *
 * A new process has a new key, so nonces from before a restart are
 * MCA_NONCE_FORGED: the client gets badNonce with a fresh nonce and
 * retries (RFC 8555 6.5).  Several processes serving one database server
 * share a key and a used-set instead (mca_nonces_share).
 *
 * Thread-safe: issue and redeem may run on any threads at once.
 */
#ifndef MCA_ACME_NONCE_H
#define MCA_ACME_NONCE_H

#include <stdint.h>

#include "common/err.h"

#define MCA_NONCE_LEN      43              /* characters */
#define MCA_NONCE_WINDOW   (1ull << 22)    /* the daemon's: 4 Mi nonces in 512 KiB */
#define MCA_NONCE_LIFETIME ((int64_t)3600) /* the daemon's: an hour */

enum mca_nonce_verdict {
	MCA_NONCE_OK,      /* good, and now spent */
	MCA_NONCE_FORGED,  /* not one this set issued (or malformed, or before a restart) */
	MCA_NONCE_EXPIRED, /* older than the lifetime */
	MCA_NONCE_USED,    /* redeemed before */
	MCA_NONCE_EVICTED, /* more than `window` nonces were issued after it */
};

struct mca_nonces;

/*
 * A set with a fresh random key: `window` a multiple of 64 in 64..2^32,
 * `lifetime` >= 1 seconds (MCA_ERR_INVAL otherwise).
 */
mca_rc mca_nonces_new(uint64_t window, int64_t lifetime, struct mca_nonces **out,
                      struct mca_error *err);

/* Free (and wipe the key); NULL is fine. */
void mca_nonces_free(struct mca_nonces *ns);

/* A fresh nonce, issued at `now`, into out (NUL-terminated). */
mca_rc mca_nonce_issue(struct mca_nonces *ns, int64_t now, char out[MCA_NONCE_LEN + 1],
                       struct mca_error *err);

/* Spend `nonce` (from the network; NULL is FORGED) at `now`. */
enum mca_nonce_verdict mca_nonce_redeem(struct mca_nonces *ns, const char *nonce, int64_t now);

/*
 * Several instances on one database (doc/multi-instance.md): switch to
 * `key`, which they all share (store/acme.h mca_acme_nonce_key), and to
 * counters of this process's own (a random 16-bit prefix), so that no two
 * instances issue the same nonce.  Nonces issued before are FORGED from
 * then on.  Afterwards mca_nonce_redeem also answers OK for a good,
 * unexpired nonce of another instance: then, and for every nonce, the
 * caller must spend it in the shared set (mca_acme_nonce_use), which has
 * the last word on "used".  Idempotent with the same key.
 */
mca_rc mca_nonces_share(struct mca_nonces *ns, const unsigned char key[32], struct mca_error *err);

/* Whether mca_nonces_share was called. */
int mca_nonces_shared(struct mca_nonces *ns);

/* A few words for a problem detail: "already used", ... */
const char *mca_nonce_verdict_str(enum mca_nonce_verdict v);

#endif
