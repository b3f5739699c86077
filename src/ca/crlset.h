/*
 * crlset.h - the pre-encoded CRL entries of one issuer, held in memory by
 * mtlscad so that publishing a CRL of a million entries copies bytes and
 * reads nothing but the rows added since the last publication.
 *
 * The set follows the store's crl_entries table (store.h) by its seq:
 * mca_crlset_sync() reads the rows with a seq above the highest it has,
 * whoever added them (this daemon or "mtlsca revoke" in another process).
 * Rows are never changed or removed, so the set is complete once synced;
 * ca/publish.c syncs it inside the transaction that holds the write lock,
 * so a CRL built from it lists every entry committed before.  Sync only
 * where no entry of the open transaction could be rolled back (the
 * revocation commits its entry first): what the set read, it keeps.
 *
 * Memory: the entries' DER back to back (about 40 octets each) and 16
 * octets of index per entry, sorted by serial.
 *
 * Thread-safety: every function locks the set; mca_crlset_emit holds the
 * lock while it copies.
 */
#ifndef MCA_CRLSET_H
#define MCA_CRLSET_H

#include <stddef.h>
#include <stdint.h>

#include "common/der.h"
#include "common/err.h"
#include "store/store.h"

struct mca_crlset;

/* An empty set for `issuer_dn` (copied). NULL on out of memory. */
struct mca_crlset *mca_crlset_new(const char *issuer_dn);
void mca_crlset_free(struct mca_crlset *s);

/* Read the store's entries added since the last sync (all at the first). */
mca_rc mca_crlset_sync(struct mca_crlset *s, struct mca_store *st, struct mca_error *err);

/*
 * Append to `d` the DER of every entry not expired before `since`
 * (not_after > since) of `shard` (-1: all), in serial order; *n gets
 * their number.
 */
void mca_crlset_emit(struct mca_crlset *s, int shard, int64_t since, struct mca_der *d, size_t *n);

/*
 * Forget the entries with not_after <= `before` (as
 * mca_store_crl_entries_purge deletes them), compacting the memory;
 * returns how many.
 */
size_t mca_crlset_drop_expired(struct mca_crlset *s, int64_t before);

/* The issuer DN the set is for (owned by the set). */
const char *mca_crlset_issuer(const struct mca_crlset *s);

/* Entries held (expired or not), and the highest seq read. */
size_t mca_crlset_count(struct mca_crlset *s);
int64_t mca_crlset_seq(struct mca_crlset *s);

#endif
