/* nonce.c - HMAC-authenticated ACME nonces with a fixed-size used-set. */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "common/b64url.h"
#include "daemon/nonce.h"

#define KEY_LEN  32
#define BODY_LEN 16 /* counter || time */
#define MAC_LEN  16 /* of HMAC-SHA256's 32 */
#define RAW_LEN  (BODY_LEN + MAC_LEN)

struct mca_nonces {
	unsigned char key[KEY_LEN]; /* under lock: mca_nonces_share replaces it */
	int shared;
	uint64_t prefix; /* shared: the top 16 bits of this process's counters */
	uint64_t window; /* bits in used[] */
	int64_t lifetime;
	pthread_mutex_t lock;
	uint64_t next;  /* the counter of the next nonce */
	uint64_t *used; /* bit (c % window): counter c was redeemed */
};

static void
put64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

static uint64_t
get64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* The truncated MAC of raw[0..BODY_LEN) under `key` into mac; 0 on failure. */
static int
mac_of(const unsigned char key[KEY_LEN], const unsigned char *body, unsigned char mac[MAC_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (HMAC(EVP_sha256(), key, KEY_LEN, body, BODY_LEN, md, &len) == NULL || len < MAC_LEN)
		return 0;
	memcpy(mac, md, MAC_LEN);
	OPENSSL_cleanse(md, sizeof(md));
	return 1;
}

mca_rc
mca_nonces_share(struct mca_nonces *ns, const unsigned char key[32], struct mca_error *err)
{
	unsigned char r[2];
	uint64_t prefix;

	if (RAND_bytes(r, sizeof(r)) != 1)
		return mca_error_ssl(err, MCA_ERR_CRYPTO, "no random nonce prefix");
	prefix = ((uint64_t)r[0] << 8 | r[1]) | 1; /* never 0: unshared counters start there */
	pthread_mutex_lock(&ns->lock);
	if (!ns->shared || CRYPTO_memcmp(ns->key, key, KEY_LEN) != 0) {
		memcpy(ns->key, key, KEY_LEN);
		ns->shared = 1;
		ns->prefix = prefix;
		ns->next = prefix << 48;
		memset(ns->used, 0, ns->window / 8);
	}
	pthread_mutex_unlock(&ns->lock);
	return MCA_OK;
}

int
mca_nonces_shared(struct mca_nonces *ns)
{
	int s;

	pthread_mutex_lock(&ns->lock);
	s = ns->shared;
	pthread_mutex_unlock(&ns->lock);
	return s;
}

mca_rc
mca_nonces_new(uint64_t window, int64_t lifetime, struct mca_nonces **out, struct mca_error *err)
{
	struct mca_nonces *ns = NULL;

	*out = NULL;
	if (window < 64 || window > ((uint64_t)1 << 32) || window % 64 != 0 || lifetime < 1)
		return mca_error_set(err, MCA_ERR_INVAL,
		                     "nonce window %llu (a multiple of 64 in 64..2^32) or lifetime "
		                     "%lld s (at least 1) out of range",
		                     (unsigned long long)window, (long long)lifetime);
	ns = calloc(1, sizeof(*ns));
	if (ns == NULL)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	ns->used = calloc(window / 64, sizeof(uint64_t));
	if (ns->used == NULL) {
		free(ns);
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	}
	if (RAND_bytes(ns->key, sizeof(ns->key)) != 1) {
		free(ns->used);
		free(ns);
		return mca_error_ssl(err, MCA_ERR_CRYPTO, "no random key for nonces");
	}
	ns->window = window;
	ns->lifetime = lifetime;
	pthread_mutex_init(&ns->lock, NULL);
	*out = ns;
	return MCA_OK;
}

void
mca_nonces_free(struct mca_nonces *ns)
{
	if (ns == NULL)
		return;
	OPENSSL_cleanse(ns->key, sizeof(ns->key));
	pthread_mutex_destroy(&ns->lock);
	free(ns->used);
	free(ns);
}

mca_rc
mca_nonce_issue(struct mca_nonces *ns, int64_t now, char out[MCA_NONCE_LEN + 1],
                struct mca_error *err)
{
	unsigned char raw[RAW_LEN], key[KEY_LEN];
	uint64_t c;
	char *enc;
	int good;

	out[0] = '\0';
	pthread_mutex_lock(&ns->lock);
	c = ns->next++;
	/* The slot now belongs to c; whoever had it (c - window) is out of the window. */
	ns->used[(c % ns->window) / 64] &= ~((uint64_t)1 << (c % 64));
	memcpy(key, ns->key, KEY_LEN);
	pthread_mutex_unlock(&ns->lock);
	put64(raw, c);
	put64(raw + 8, (uint64_t)now);
	good = mac_of(key, raw, raw + BODY_LEN);
	OPENSSL_cleanse(key, sizeof(key));
	if (!good)
		return mca_error_ssl(err, MCA_ERR_CRYPTO, "HMAC-SHA256 of a nonce");
	enc = mca_b64url_encode(raw, sizeof(raw));
	if (enc == NULL)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	memcpy(out, enc, MCA_NONCE_LEN + 1);
	free(enc);
	return MCA_OK;
}

enum mca_nonce_verdict
mca_nonce_redeem(struct mca_nonces *ns, const char *nonce, int64_t now)
{
	unsigned char *raw = NULL, mac[MAC_LEN], key[KEY_LEN];
	enum mca_nonce_verdict v = MCA_NONCE_FORGED;
	uint64_t c, bit;
	int64_t t;
	size_t len = 0;

	pthread_mutex_lock(&ns->lock);
	memcpy(key, ns->key, KEY_LEN);
	pthread_mutex_unlock(&ns->lock);
	if (nonce == NULL || strlen(nonce) != MCA_NONCE_LEN ||
	    mca_b64url_decode_ex(nonce, MCA_NONCE_LEN, &raw, &len) != 1 || len != RAW_LEN ||
	    !mac_of(key, raw, mac) || CRYPTO_memcmp(mac, raw + BODY_LEN, MAC_LEN) != 0)
		goto out;
	c = get64(raw);
	t = (int64_t)get64(raw + 8);
	/* A clock that stepped back makes t > now: young, not refused. */
	if (now - t >= ns->lifetime) {
		v = MCA_NONCE_EXPIRED;
		goto out;
	}
	pthread_mutex_lock(&ns->lock);
	bit = (uint64_t)1 << (c % 64);
	if (ns->shared && c >> 48 != ns->prefix) /* another instance's: the shared set decides */
		v = MCA_NONCE_OK;
	else if (c >= ns->next) /* a MAC from this key on a counter not issued: cannot happen */
		v = MCA_NONCE_FORGED;
	else if (ns->next - c > ns->window)
		v = MCA_NONCE_EVICTED;
	else if (ns->used[(c % ns->window) / 64] & bit)
		v = MCA_NONCE_USED;
	else {
		ns->used[(c % ns->window) / 64] |= bit;
		v = MCA_NONCE_OK;
	}
	pthread_mutex_unlock(&ns->lock);
out:
	OPENSSL_cleanse(key, sizeof(key));
	free(raw);
	return v;
}

const char *
mca_nonce_verdict_str(enum mca_nonce_verdict v)
{
	switch (v) {
	case MCA_NONCE_OK:
		return "good";
	case MCA_NONCE_FORGED:
		return "not issued by this server (or from before its restart)";
	case MCA_NONCE_EXPIRED:
		return "expired";
	case MCA_NONCE_USED:
		return "already used";
	case MCA_NONCE_EVICTED:
		return "too old (too many nonces issued since)";
	}
	return "unknown";
}
