/* signq.c - the asynchronous issuing stage (see signq.h). */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ca/signq.h"

/* A queued issuance: the caller's (borrowed) and what submit made of it. */
struct job {
	struct job *next;
	struct mca_issuer *is;
	struct mca_issue_req req; /* a copy; its strings and hook borrowed */
	const struct mca_decision *d;
	struct mca_issued *out;
	mca_committer_done_fn done;
	void *arg;
	struct mca_issue_tbs t;
};

struct mca_signq {
	pthread_mutex_t lock; /* guards everything below */
	pthread_cond_t work;  /* a job was queued, or stop */
	pthread_cond_t room;  /* the queue has room again, or stop */
	struct job *head, **tail;
	size_t n;
	int stop;
	pthread_t thread;
	struct mca_sign_item *items; /* the signing thread's, MCA_SIGNQ_BATCH of them */
};

static void
job_free(struct job *j)
{
	mca_issue_tbs_clear(&j->t);
	free(j);
}

/*
 * One job's outcome after its signature: the certificate, the second look,
 * and the row to the committer, or `done` with the error.  The job's
 * borrowed state may be gone once `done` ran or the committer has the row.
 */
static void
finish(struct job *j, const struct mca_sign_item *it)
{
	struct mca_error e = {0};
	mca_rc rc = it->rc;

	if (rc != MCA_OK) {
		j->done(j->arg, rc, &it->err);
		return;
	}
	if ((rc = mca_issue_finish(j->is, j->d, &j->t, it->sig, it->sig_len, j->out, &e)) ==
	        MCA_OK &&
	    (rc = mca_issue_record_submit(&j->req, j->d, j->out, j->done, j->arg, &e)) == MCA_OK)
		return;
	mca_issued_clear(j->out); /* not recorded: never handed out */
	j->done(j->arg, rc, &e);
}

/* Sign `n` jobs: one mca_signer_sign_many per run of jobs with the same signer. */
static void
run_batch(struct job **jobs, struct mca_sign_item *items, size_t n)
{
	struct mca_committer *committers[MCA_SIGNQ_BATCH];
	struct mca_signer *s;
	size_t i, k;

	for (i = 0; i < n; i++) {
		memset(&items[i], 0, sizeof(items[i]));
		items[i].tbs = jobs[i]->t.tbs;
		items[i].tbs_len = jobs[i]->t.tbs_len;
	}
	for (i = 0; i < n; i = k) {
		s = mca_issuer_signer(jobs[i]->is);
		for (k = i + 1; k < n && mca_issuer_signer(jobs[k]->is) == s; k++)
			;
		mca_signer_sign_many(s, MCA_SIGN_CERT, items + i, k - i);
	}
	/* The batch's rows reach the committer together: one commit, one fsync for all. */
	for (i = 0; i < n; i++)
		if (jobs[i]->req.committer != NULL)
			mca_committer_plug(jobs[i]->req.committer);
	for (i = 0; i < n; i++) {
		committers[i] = jobs[i]->req.committer;
		finish(jobs[i], &items[i]);
		free(items[i].sig);
		job_free(jobs[i]);
	}
	for (i = 0; i < n; i++)
		if (committers[i] != NULL)
			mca_committer_unplug(committers[i]);
}

static void *
signing_thread(void *arg)
{
	struct mca_signq *q = arg;
	struct job *jobs[MCA_SIGNQ_BATCH];
	size_t n;

	pthread_mutex_lock(&q->lock);
	for (;;) {
		while (q->head == NULL && !q->stop)
			pthread_cond_wait(&q->work, &q->lock);
		if (q->stop)
			break;
		/* Every job waiting now, up to a batch. */
		for (n = 0; n < MCA_SIGNQ_BATCH && q->head != NULL; n++) {
			jobs[n] = q->head;
			q->head = q->head->next;
		}
		if (q->head == NULL)
			q->tail = &q->head;
		q->n -= n;
		pthread_cond_broadcast(&q->room);
		pthread_mutex_unlock(&q->lock);
		run_batch(jobs, q->items, n);
		pthread_mutex_lock(&q->lock);
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

mca_rc
mca_signq_new(struct mca_signq **out, struct mca_error *err)
{
	struct mca_signq *q;

	*out = NULL;
	q = calloc(1, sizeof(*q));
	if (q != NULL)
		q->items = calloc(MCA_SIGNQ_BATCH, sizeof(*q->items));
	if (q == NULL || q->items == NULL) {
		free(q);
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	}
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->work, NULL);
	pthread_cond_init(&q->room, NULL);
	q->tail = &q->head;
	if (pthread_create(&q->thread, NULL, signing_thread, q) != 0) {
		pthread_cond_destroy(&q->room);
		pthread_cond_destroy(&q->work);
		pthread_mutex_destroy(&q->lock);
		free(q->items);
		free(q);
		return mca_error_set(err, MCA_ERR_INTERNAL, "cannot start the signing thread");
	}
	*out = q;
	return MCA_OK;
}

void
mca_signq_free(struct mca_signq *q)
{
	const struct mca_error e = {MCA_ERR_SIGNER, "", "the issuing stage is shutting down"};
	struct job *j;

	if (q == NULL)
		return;
	pthread_mutex_lock(&q->lock);
	q->stop = 1;
	pthread_cond_broadcast(&q->work);
	pthread_cond_broadcast(&q->room);
	pthread_mutex_unlock(&q->lock);
	pthread_join(q->thread, NULL);
	while ((j = q->head) != NULL) {
		q->head = j->next;
		j->done(j->arg, MCA_ERR_SIGNER, &e);
		job_free(j);
	}
	pthread_cond_destroy(&q->room);
	pthread_cond_destroy(&q->work);
	pthread_mutex_destroy(&q->lock);
	free(q->items);
	free(q);
}

mca_rc
mca_signq_submit(struct mca_signq *q, struct mca_issuer *is, const struct mca_issue_req *req,
                 const struct mca_decision *d, struct mca_issued *out, mca_committer_done_fn done,
                 void *arg, struct mca_error *err)
{
	struct job *j = NULL;
	mca_rc rc;

	memset(out, 0, sizeof(*out));
	if (req->committer == NULL)
		return mca_error_set(err, MCA_ERR_INTERNAL, "no group committer");
	j = calloc(1, sizeof(*j));
	if (j == NULL)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	/* The serial and the TBS on this thread: the signing thread only signs and looks. */
	if ((rc = mca_issue_prepare(is, d, &j->t, err)) != MCA_OK) {
		free(j);
		return rc;
	}
	j->is = is;
	j->req = *req;
	j->req.csr = NULL; /* decided already: the decision's CSR is the one */
	j->req.allowed_names = NULL;
	j->d = d;
	j->out = out;
	j->done = done;
	j->arg = arg;
	pthread_mutex_lock(&q->lock);
	while (q->n >= MCA_SIGNQ_MAX && !q->stop)
		pthread_cond_wait(&q->room, &q->lock);
	if (q->stop) {
		pthread_mutex_unlock(&q->lock);
		job_free(j);
		return mca_error_set(err, MCA_ERR_SIGNER, "the issuing stage is shutting down");
	}
	*q->tail = j;
	q->tail = &j->next;
	q->n++;
	pthread_cond_signal(&q->work);
	pthread_mutex_unlock(&q->lock);
	return MCA_OK;
}
