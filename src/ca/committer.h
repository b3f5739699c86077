/*
 * committer.h - group commit of issued certificates.
 *
 * Request threads hand their certificate rows to one committer thread,
 * which writes every row waiting at that moment (up to
 * MCA_COMMIT_BATCH) in one transaction - each row with its audit row,
 * inside its own savepoint so one bad row fails alone - and commits once:
 * one fsync for the whole batch, synchronous=FULL kept.  A caller returns
 * only after its batch is durable, so "nothing signed goes unrecorded"
 * holds as with a direct insert.
 */
#ifndef MCA_COMMITTER_H
#define MCA_COMMITTER_H

#include "common/err.h"
#include "store/store.h"

#define MCA_COMMIT_BATCH 256

struct mca_committer;

/*
 * Work that must commit together with a certificate's row (an ACME order
 * turning valid with its serial): called right after the certificate row
 * and its audit row are written, in the same transaction (on the
 * committer, inside the certificate's savepoint, on the committer's
 * connection `st`; never with the caller's lock held).  `serial` is the
 * certificate's.  An error undoes the certificate with it: nothing is
 * recorded and the error is the caller's.
 */
struct mca_record_hook {
	mca_rc (*fn)(void *arg, struct mca_store *st, const char *serial, struct mca_error *err);
	void *arg;
};

/* Open its own connection to `db_path` and start the committer thread. */
mca_rc mca_committer_new(const char *db_path, struct mca_committer **out, struct mca_error *err);

/* Commit what is queued, stop the thread, close (NULL is fine). */
void mca_committer_free(struct mca_committer *c);

/*
 * Record the certificate row `rec` (with its audit row "action" by
 * "actor") and wait until it is committed.  The row is moved into the
 * queue (*rec left empty) unless queuing it failed; the caller clears *rec
 * in any case (mca_cert_rec_clear, a no-op once moved).  Thread-safe.  Errors as
 * mca_store_cert_insert (a duplicate serial is MCA_ERR_EXISTS) or MCA_ERR_DB when the batch's
 * commit failed.
 */
mca_rc mca_committer_record(struct mca_committer *c, struct mca_cert_rec *rec, const char *actor,
                            const char *action, struct mca_error *err);

/* Like mca_committer_record, also running `hook` (may be NULL) in the certificate's savepoint. */
mca_rc mca_committer_record_with(struct mca_committer *c, struct mca_cert_rec *rec,
                                 const char *actor, const char *action,
                                 const struct mca_record_hook *hook, struct mca_error *err);

/*
 * The outcome of a submitted certificate, called exactly once on the
 * committer thread after its batch's transaction has committed (MCA_OK:
 * durable) or failed (`err` says why; NULL on MCA_OK).  It must be quick
 * and must not call into the committer: the next batch waits for it.
 */
typedef void (*mca_committer_done_fn)(void *arg, mca_rc rc, const struct mca_error *err);

/*
 * mca_committer_record_with without waiting: the row is moved into the
 * queue (*rec is left empty) and `done(arg, ...)` is called later, once.
 * `actor`, `action` and `hook` are borrowed until then.  An error here
 * (out of memory) means nothing was queued, `done` is never called and
 * *rec is left as it was.  Thread-safe.
 */
mca_rc mca_committer_submit(struct mca_committer *c, struct mca_cert_rec *rec, const char *actor,
                            const char *action, const struct mca_record_hook *hook,
                            mca_committer_done_fn done, void *arg, struct mca_error *err);

/*
 * Hold the next batch back while a burst of submissions is under way
 * (the issuing stage's certificates of one signer batch, ca/signq.h), so
 * that they commit together, with one fsync, instead of the first one
 * alone and the rest in the batch after.  Every plug must be followed by
 * an unplug soon (the committer takes no batch in between; stopping it
 * is not held back).  Counted: plugs nest.  Thread-safe.
 */
void mca_committer_plug(struct mca_committer *c);
void mca_committer_unplug(struct mca_committer *c);

/*
 * In-memory holds on enrollment-token uses, so that an issuance against a
 * token takes its use in the certificate's own transaction (through a
 * record hook: mca_token_use_hook, token.h) and no request writes (and
 * syncs) a token row of its own:
 *
 *   check (read) -> decide -> hold -> sign -> record with the use -> release
 *
 * mca_committer_token_hold takes one of the `uses_left` uses the check saw,
 * refusing (0) when as many are held by requests in flight already, so
 * that concurrent requests do not sign more certificates than the token
 * has uses.  The durable bound is the hook's conditional UPDATE, in the
 * same committed batch as the certificate: a use is recorded exactly when
 * its certificate is, before any reply, and nothing is to be given back
 * when an issuance fails (the release is the refund).
 * Thread-safe; `id` is a token id (MCA_TOKEN_ID_LEN hex digits).
 */
int mca_committer_token_hold(struct mca_committer *c, const char *id, int64_t uses_left);

/* Release a hold taken by mca_committer_token_hold (after the record returned). */
void mca_committer_token_release(struct mca_committer *c, const char *id);

#endif
