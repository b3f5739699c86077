/*
 * crlcache.h - the CRLs mtlscad serves, held in memory and never rebuilt
 * per request.  The cache follows the database: mca_crlcache_refresh()
 * loads a CRL whenever a newer number was stored (by the daemon itself or
 * by "mtlsca revoke"/"mtlsca crl" in another process).
 *
 * Readers take a reference to an immutable snapshot, so a refresh never
 * blocks or frees what a response is still sending.  Thread-safe.
 */
#ifndef MCA_CRLCACHE_H
#define MCA_CRLCACHE_H

#include <stddef.h>
#include <stdint.h>

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
	char *pem;
	size_t pem_len;
	int64_t number, this_update, next_update;
	char etag[48]; /* quoted */
};

struct mca_crlcache;

struct mca_crlcache *mca_crlcache_new(void);
void mca_crlcache_free(struct mca_crlcache *c);

/* Load any CRL newer than the cached one; *changed tells whether one was loaded. */
mca_rc mca_crlcache_refresh(struct mca_crlcache *c, struct mca_store *st, int *changed,
                            struct mca_error *err);

/* The current snapshot (a new reference, or NULL when none is published). */
struct mca_crl_snap *mca_crlcache_get(struct mca_crlcache *c, enum mca_crl_which which);

/* Drop a reference. */
void mca_crl_snap_release(struct mca_crl_snap *s);

/* "ca" or "root": the crls.issuer value. */
const char *mca_crl_which_name(enum mca_crl_which which);

#endif
