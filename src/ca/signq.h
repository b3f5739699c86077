/*
 * signq.h - the daemon's asynchronous issuing stage: request threads hand
 * approved issuances to one signing thread, which owns the round trips to
 * the signer for them.
 *
 *   request thread: decide, then mca_signq_submit: the serial and the
 *                   TBSCertificate are made on the caller's thread (cheap)
 *                   and the job is queued; the caller suspends its
 *                   connection (mca_req_defer) and returns at once.
 *   signing thread: takes every queued job (up to MCA_SIGNQ_BATCH), signs
 *                   them in one batch (mca_signer_sign_many: one write to
 *                   the signer process, one wake-up of it, the replies read
 *                   in order), then for each: the certificate, the second
 *                   look (mca_issue_finish, as mca_issue_sign), and its row
 *                   handed to the group committer (mca_issue_record_submit).
 *   committer:      `done(arg, MCA_OK)` once the row is durable, as for a
 *                   synchronous mca_issue_sign + mca_issue_record_submit.
 *
 * Every job's `done` runs exactly once: from the committer thread for a
 * job whose row was queued there (MCA_OK or the commit's error), from the
 * signing thread for one that failed before (the signer's refusal or
 * MCA_ERR_SIGNER when it is down, the second look's MCA_ERR_INTERNAL, a
 * committer that could not queue it), or from mca_signq_free (MCA_ERR_SIGNER
 * "shutting down") for a job still queued then.  Nothing is recorded for
 * a job that failed; durability is the committer's, unchanged: no reply
 * before its done(MCA_OK).
 *
 * Only /v1/sign and /v1/renew issue through it; ACME finalize and the CLI
 * keep the synchronous mca_issue_sign (they do not run on a hot path).
 *
 * Bounds: a batch is at most MCA_SIGNQ_BATCH jobs; at most MCA_SIGNQ_MAX
 * are queued.  A submitter that finds the queue full waits for room
 * rather than being refused: the queue is full only when the signer is
 * slower than the requests, and then waiting on this thread is what the
 * synchronous path did for every request; a 503 would fail requests that
 * a moment's wait serves (the number of waiting requests is bounded by the
 * HTTP server's connection limit anyway).
 *
 * Thread-safety: mca_signq_submit from any thread; new and free once, on
 * the thread that owns the server.
 */
#ifndef MCA_SIGNQ_H
#define MCA_SIGNQ_H

#include "ca/committer.h"
#include "ca/issue.h"
#include "common/err.h"

#define MCA_SIGNQ_BATCH MCA_SIGNER_MANY_MAX
#define MCA_SIGNQ_MAX   1024

struct mca_signq;

/* Start the signing thread. */
mca_rc mca_signq_new(struct mca_signq **out, struct mca_error *err);

/*
 * Stop the thread (the batch it is signing is finished) and fail every job
 * still queued with MCA_ERR_SIGNER "shutting down"; NULL is fine.  Call
 * before the committer the jobs record through is freed.
 */
void mca_signq_free(struct mca_signq *q);

/*
 * Issue `d` (approved by mca_issue_decide for `req`) through `is` without
 * waiting: on MCA_OK the job is queued and `done(arg, rc, err)` will run
 * once, as the header says; `out` is filled (the caller's, free with
 * mca_issued_clear) before a done(MCA_OK) and is to be handed out only
 * after it.  req->committer is required.  Borrowed until `done`: `is`,
 * `d` (its profile and CSR too), req's requester, actor, action and
 * on_record, and `out`; the struct `req` itself is copied.  An error here
 * (no committer, the serial or TBS could not be made, out of memory, the
 * stage is stopping) means nothing was queued and `done` never runs.
 */
mca_rc mca_signq_submit(struct mca_signq *q, struct mca_issuer *is, const struct mca_issue_req *req,
                        const struct mca_decision *d, struct mca_issued *out,
                        mca_committer_done_fn done, void *arg, struct mca_error *err);

#endif
