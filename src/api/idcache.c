/* idcache.c - verified client certificates by fingerprint (see idcache.h). */
#include "config.h"

#include <pthread.h>
#include <string.h>

#include <openssl/evp.h>

#include "api/idcache.h"

#define STRIPES 32

struct slot {
	unsigned char fp[32];
	X509 *cert; /* NULL: empty */
	int64_t verified_at;
};

static struct slot slots[MCA_IDCACHE_SLOTS];
static pthread_mutex_t locks[STRIPES];
static pthread_once_t once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256; /* fetched once: no lookup per request */

static void
init(void)
{
	size_t i;

	for (i = 0; i < STRIPES; i++)
		pthread_mutex_init(&locks[i], NULL);
	sha256 = EVP_MD_fetch(NULL, "SHA2-256", NULL);
}

int
mca_idcache_fingerprint(const unsigned char *der, size_t len, unsigned char fp[32])
{
	unsigned int n = 0;

	pthread_once(&once, init);
	return sha256 != NULL && EVP_Digest(der, len, fp, &n, sha256, NULL) == 1 && n == 32;
}

/* The slot of a fingerprint: its first octets are uniformly distributed already. */
static size_t
slot_of(const unsigned char fp[32])
{
	return ((size_t)fp[0] | (size_t)fp[1] << 8 | (size_t)fp[2] << 16) % MCA_IDCACHE_SLOTS;
}

X509 *
mca_idcache_get(const unsigned char fp[32], int64_t now)
{
	size_t i = slot_of(fp);
	struct slot *s = &slots[i];
	X509 *cert = NULL;

	pthread_once(&once, init);
	pthread_mutex_lock(&locks[i % STRIPES]);
	if (s->cert != NULL && memcmp(s->fp, fp, 32) == 0) {
		if (now - s->verified_at < MCA_IDCACHE_TTL_S && now >= s->verified_at &&
		    X509_up_ref(s->cert) == 1) {
			cert = s->cert;
		} else {
			X509_free(s->cert);
			s->cert = NULL;
		}
	}
	pthread_mutex_unlock(&locks[i % STRIPES]);
	return cert;
}

void
mca_idcache_put(const unsigned char fp[32], X509 *cert, int64_t now)
{
	size_t i = slot_of(fp);
	struct slot *s = &slots[i];
	X509 *old;

	pthread_once(&once, init);
	if (X509_up_ref(cert) != 1)
		return;
	pthread_mutex_lock(&locks[i % STRIPES]);
	old = s->cert;
	memcpy(s->fp, fp, 32);
	s->cert = cert;
	s->verified_at = now;
	pthread_mutex_unlock(&locks[i % STRIPES]);
	X509_free(old);
}

void
mca_idcache_clear(void)
{
	size_t i;
	X509 *old;

	pthread_once(&once, init);
	for (i = 0; i < MCA_IDCACHE_SLOTS; i++) {
		pthread_mutex_lock(&locks[i % STRIPES]);
		old = slots[i].cert;
		slots[i].cert = NULL;
		pthread_mutex_unlock(&locks[i % STRIPES]);
		X509_free(old);
	}
}
