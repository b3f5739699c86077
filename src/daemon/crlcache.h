/*
 * crlcache.h - the CRLs mtlscad serves, held in memory and never rebuilt
 * per request.  The cache follows the database: mca_crlcache_refresh()
 * loads a CRL whenever a newer number was stored (by the daemon itself or
 * by "mtlsca revoke"/"mtlsca crl" in another process).
 *
 * Readers take a reference to an immutable snapshot, so a refresh never
 * blocks or frees what a response is still sending.  Thread-safe.
 *
 * With partitioned CRLs (mca_crlcache_set_shards, ca/publish.h) the cache
 * also holds each shard's CRL ("ca-K"), and it owns the in-memory copy of
 * the issuing CA's pre-encoded CRL entries (ca/crlset.h) that mtlscad
 * publishes from.
 */
#ifndef MCA_CRLCACHE_H
#define MCA_CRLCACHE_H

#include <stddef.h>
#include <stdint.h>

#include <pthread.h>

#include <openssl/x509.h>

#include "ca/crlset.h"
#include "common/err.h"
#include "store/store.h"

enum mca_crl_which {
	MCA_CRL_CA,   /* signed by the issuing CA: the leaves' CRL */
	MCA_CRL_ROOT, /* signed by the root: the issuing CA level */
	MCA_CRL__COUNT
};

struct mca_crl_snap {
	int refs; /* atomic */
	unsigned char *der;
	size_t der_len;
	/* Read through mca_crl_snap_pem(): made at the first use when the CRL came without. */
	pthread_mutex_t pem_lock;
	char *pem;
	size_t pem_len;
	int64_t number, this_update, next_update;
	long entries;  /* revoked certificates listed */
	char etag[48]; /* quoted */
};

struct mca_crlcache;

struct mca_crlcache *mca_crlcache_new(void);
void mca_crlcache_free(struct mca_crlcache *c);

/* Hold shards 0..n-1 as well (before the cache is shared). */
mca_rc mca_crlcache_set_shards(struct mca_crlcache *c, unsigned n, struct mca_error *err);

/* The number of shards held. */
unsigned mca_crlcache_shards(struct mca_crlcache *c);

/* Shard k's snapshot (a new reference), NULL when k is no shard or none is published. */
struct mca_crl_snap *mca_crlcache_get_shard(struct mca_crlcache *c, unsigned k);

/*
 * The in-memory CRL entries of the CA whose certificate is `ca` (made at
 * the first call; later calls return the same set).  NULL on out of
 * memory.  Owned by the cache.
 */
struct mca_crlset *mca_crlcache_entries(struct mca_crlcache *c, X509 *ca);

/*
 * Prometheus text for the CRLs held: size in octets and number of entries
 * of the complete CRL and of each shard (mtlsca_crl_bytes{crl="ca-3"}).
 * malloc'd; NULL on out of memory.
 */
char *mca_crlcache_metrics(struct mca_crlcache *c);

/*
 * Serve CRL `name` ("ca", "root", "ca-K") that this process just
 * published (struct mca_publish's on_published, `arg` the cache): takes
 * rec->der and *pem (set to NULL), unless the cache has a newer one.
 */
void mca_crlcache_published(void *arg, const char *name, struct mca_crl_rec *rec, char **pem,
                            size_t pem_len, size_t entries);

/*
 * Write the files of every CRL held whose files this process has not
 * written (published with defer_files, and everything once after start)
 * through mca_publish_write_crl with `p` (its store and crl_dir), and
 * empty the stored DER of that CRL's predecessors but the one written
 * before (mca_store_crl_prune).  Called by the daemon's tick.  The first error is returned; the rest is tried
 * again at the next call.
 */
struct mca_publish;
mca_rc mca_crlcache_write_files(struct mca_crlcache *c, const struct mca_publish *p,
                                struct mca_error *err);

/* Load any CRL newer than the cached one; *changed tells whether one was loaded. */
mca_rc mca_crlcache_refresh(struct mca_crlcache *c, struct mca_store *st, int *changed,
                            struct mca_error *err);

/* The current snapshot (a new reference, or NULL when none is published). */
struct mca_crl_snap *mca_crlcache_get(struct mca_crlcache *c, enum mca_crl_which which);

/* The snapshot's PEM (made once, on first use); NULL on out of memory. */
const char *mca_crl_snap_pem(struct mca_crl_snap *s, size_t *len);

/* Drop a reference. */
void mca_crl_snap_release(struct mca_crl_snap *s);

/* "ca" or "root": the crls.issuer value. */
const char *mca_crl_which_name(enum mca_crl_which which);

#endif
