/*
 * publish.h - publishing CRLs: number them, sign them, store them, write
 * them.
 *
 * The CRL numbers are taken and the CRLs stored inside one BEGIN
 * IMMEDIATE transaction, so the CLI and the daemon (separate processes on
 * one database) never produce two CRLs with the same number.  After the
 * commit, the newest stored CRLs are written to the CRL directory under
 * an exclusive lock, so the files never go back to an older CRL.
 *
 * Partitioned CRLs (doc/crl.md): with `shards` N > 0 the issuing CA's
 * leaves name one of N shard CRLs in their CDP (shard_url + k, k = serial
 * mod N, pki/crl.h); shard k's CRL (stored as "ca-k", file ca-k.crl) lists
 * only the revoked certificates whose CDP names it and carries a critical
 * IssuingDistributionPoint with that URL.  The complete CRL ("ca") stays
 * and lists every revoked certificate.  Shard CRLs and the complete CRL
 * share one sequence of CRL numbers (what the signer requires: each CRL
 * it signs has a number above the last), and every publication of shards
 * publishes the complete CRL last in the same transaction, so the highest
 * number of "ca" is the highest of them all.
 *
 * Entries come from the store's pre-encoded crl_entries (store.h), or,
 * when `set` is given, from that in-memory copy synced inside the
 * transaction (ca/crlset.h).
 */
#ifndef MCA_PUBLISH_H
#define MCA_PUBLISH_H

#include <stdint.h>

#include <openssl/x509.h>

#include "ca/crlset.h"
#include "common/err.h"
#include "signer/signer.h"
#include "store/store.h"

/* The most shards crl.shards may ask for. */
#define MCA_PUBLISH_SHARDS_MAX 1024

struct mca_publish {
	struct mca_store *store;
	struct mca_signer *signer; /* key of `issuer` */
	X509 *issuer;              /* the CA certificate the CRL is for */
	const char *which;         /* "ca" or "root": also the file name */
	const char *crl_dir;
	int64_t validity; /* seconds to nextUpdate */
	const char *actor;
	/* which "ca" only: */
	unsigned shards;        /* crl.shards; 0: no partitions */
	const char *shard_url;  /* URL of shard k without k: public_url + "/crl/" */
	struct mca_crlset *set; /* NULL: entries are read from the store */
	/*
	 * Called for each CRL published, after its files are written: `rec`
	 * (its der) and `pem` (mca_crl_pem; NULL with defer_files) may be
	 * taken (set to NULL), so mtlscad serves what it signed without
	 * reading it back; `entries` is how many it lists.  NULL: none.
	 */
	void (*on_published)(void *arg, const char *name, struct mca_crl_rec *rec, char **pem,
	                     size_t pem_len, size_t entries);
	void *on_published_arg;
	/*
	 * mtlscad: leave the files to mca_publish_write_crl and the pruning of
	 * older DERs (mca_store_crl_prune) to its tick, within a second; the
	 * CRL is published once stored and served.
	 */
	int defer_files;
	/*
	 * Told of every certificate mca_revoke() revoked (ca/revoke.h), once
	 * the record says so, before it returns: the daemon's OCSP responder.
	 * NULL: nobody.
	 */
	void (*revoked)(void *arg, const char *serial);
	void *revoked_arg;
};

/* Every shard and then the complete CRL (mca_publish_crl_shard's `shard`). */
#define MCA_PUBLISH_ALL (-2)

/*
 * Publish a new complete CRL and, with shards, every shard CRL before it;
 * *number gets the complete CRL's number.
 */
mca_rc mca_publish_crl(const struct mca_publish *p, int64_t *number, struct mca_error *err);

/*
 * Publish shard `shard`'s CRL (when 0 <= shard < p->shards) and then the
 * complete CRL, in one transaction; -1: the complete CRL alone;
 * MCA_PUBLISH_ALL: as mca_publish_crl.  *number: the complete CRL's.
 */
mca_rc mca_publish_crl_shard(const struct mca_publish *p, int shard, int64_t *number,
                             struct mca_error *err);

/*
 * Write CRL `name` number `number` (der, and its pem, NULL: made here) to
 * the CRL directory, under its lock, unless the store has a newer one of
 * that name by then (its publisher writes that one).
 */
mca_rc mca_publish_write_crl(const struct mca_publish *p, const char *name, int64_t number,
                             const unsigned char *der, size_t der_len, const char *pem,
                             size_t pem_len, struct mca_error *err);

/* Write the newest stored CRL of p->which (and of each shard) to the CRL directory. */
mca_rc mca_publish_write_latest(const struct mca_publish *p, struct mca_error *err);

/*
 * Delete the CRL entries no CRL of p->which can list again (those of
 * certificates that expired before the thisUpdate of the newest CRL of
 * every name: the complete CRL and each shard) from the store and from
 * p->set; *n gets how many.  Nothing when a CRL of one name is missing.
 */
mca_rc mca_publish_purge_expired(const struct mca_publish *p, int64_t *n, struct mca_error *err);

/* The store's name ("ca", "ca-K") of shard `shard` (-1: the complete CRL): 16 octets. */
void mca_publish_crl_name(const struct mca_publish *p, int shard, char name[16]);

#endif
