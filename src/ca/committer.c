/* committer.c - one writer thread, many certificates per fsync. */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ca/committer.h"
#include "ca/record.h"
#include "common/log.h"
#include "store/store.h"

/* One waiting caller; lives on the caller's stack until `done`. */
struct job {
	struct mca_cert_rec rec;
	const char *actor, *action;
	const struct mca_record_hook *hook; /* NULL: none */
	struct mca_error err;
	mca_rc rc;
	int done;
	struct job *next;
};

struct mca_committer {
	struct mca_store *st;
	pthread_mutex_t lock;
	pthread_cond_t work; /* jobs queued, or stop */
	pthread_cond_t done; /* a batch finished */
	struct job *head, *tail;
	int stop;
	int started;
	pthread_t thread;
};

/* One certificate and its hook, in its own savepoint of the batch's transaction. */
static mca_rc
commit_job(struct mca_store *st, void *arg, struct mca_error *err)
{
	struct job *j = arg;
	mca_rc rc;

	rc = mca_store_cert_insert(st, &j->rec, j->actor, j->action, err);
	if (rc == MCA_OK && j->hook != NULL)
		rc = j->hook->fn(j->hook->arg, st, j->rec.serial, err);
	return rc;
}

/*
 * The batch's transaction: every job gets its own outcome, a failing one
 * is rolled back alone.  A conflict of one job fails the batch, which
 * mca_store_txn then runs again whole (every job from the start).
 */
static mca_rc
commit_jobs(struct mca_store *st, void *arg, struct mca_error *err)
{
	struct job *j;

	for (j = arg; j != NULL; j = j->next) {
		mca_error_clear(&j->err);
		j->rc = mca_store_txn(st, commit_job, j, &j->err);
		if (mca_store_conflict(j->rc, &j->err)) {
			*err = j->err;
			return j->rc;
		}
	}
	return MCA_OK;
}

/* Write one batch in one transaction; every job gets its outcome. */
static void
commit_batch(struct mca_committer *c, struct job *batch)
{
	struct mca_error err = {0};
	struct job *j;
	mca_rc rc;

	for (j = batch; j != NULL; j = j->next)
		j->rc = MCA_OK;
	if ((rc = mca_store_txn(c->st, commit_jobs, batch, &err)) != MCA_OK) {
		mca_log(MCA_LOG_ERR, "group commit failed: %s", err.msg);
		/* Nothing of the batch is recorded: those that had succeeded fail too. */
		for (j = batch; j != NULL; j = j->next)
			if (j->rc == MCA_OK || mca_store_conflict(j->rc, &j->err)) {
				j->rc = rc;
				j->err = err;
			}
	}
}

static void *
committer_main(void *arg)
{
	struct mca_committer *c = arg;
	struct job *batch, *j, *last;
	int n;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		while (c->head == NULL && !c->stop)
			pthread_cond_wait(&c->work, &c->lock);
		if (c->head == NULL && c->stop)
			break;
		/* Take up to MCA_COMMIT_BATCH waiting jobs. */
		batch = c->head;
		for (n = 1, last = batch; last->next != NULL && n < MCA_COMMIT_BATCH; n++)
			last = last->next;
		c->head = last->next;
		if (c->head == NULL)
			c->tail = NULL;
		last->next = NULL;
		pthread_mutex_unlock(&c->lock);
		commit_batch(c, batch);
		pthread_mutex_lock(&c->lock);
		for (j = batch; j != NULL; j = j->next)
			j->done = 1;
		pthread_cond_broadcast(&c->done);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

mca_rc
mca_committer_new(const char *db_path, struct mca_committer **out, struct mca_error *err)
{
	struct mca_committer *c;
	mca_rc rc;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	/* A database server that is down now is tried again on use (store.h). */
	if ((rc = mca_store_open(db_path, MCA_STORE_WAIT, &c->st, err)) != MCA_OK) {
		free(c);
		return rc;
	}
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->work, NULL);
	pthread_cond_init(&c->done, NULL);
	if (pthread_create(&c->thread, NULL, committer_main, c) != 0) {
		mca_committer_free(c);
		return mca_error_set(err, MCA_ERR_INTERNAL, "cannot start the committer thread");
	}
	c->started = 1;
	*out = c;
	return MCA_OK;
}

void
mca_committer_free(struct mca_committer *c)
{
	if (c == NULL)
		return;
	if (c->started) {
		pthread_mutex_lock(&c->lock);
		c->stop = 1;
		pthread_cond_signal(&c->work);
		pthread_mutex_unlock(&c->lock);
		pthread_join(c->thread, NULL);
	}
	pthread_cond_destroy(&c->done);
	pthread_cond_destroy(&c->work);
	pthread_mutex_destroy(&c->lock);
	mca_store_close(c->st);
	free(c);
}

mca_rc
mca_committer_record(struct mca_committer *c, X509 *cert, const char *profile,
                     const char *requester, const char *actor, const char *action,
                     struct mca_error *err)
{
	return mca_committer_record_with(c, cert, profile, requester, actor, action, NULL, err);
}

mca_rc
mca_committer_record_with(struct mca_committer *c, X509 *cert, const char *profile,
                          const char *requester, const char *actor, const char *action,
                          const struct mca_record_hook *hook, struct mca_error *err)
{
	struct job j;
	mca_rc rc;

	memset(&j, 0, sizeof(j));
	if ((rc = mca_record_from_x509(cert, profile, requester, &j.rec, err)) != MCA_OK)
		return rc;
	j.actor = actor;
	j.action = action;
	j.hook = hook;
	pthread_mutex_lock(&c->lock);
	if (c->tail != NULL)
		c->tail->next = &j;
	else
		c->head = &j;
	c->tail = &j;
	pthread_cond_signal(&c->work);
	while (!j.done)
		pthread_cond_wait(&c->done, &c->lock);
	pthread_mutex_unlock(&c->lock);
	rc = j.rc;
	if (rc != MCA_OK && err != NULL)
		*err = j.err;
	mca_cert_rec_clear(&j.rec);
	return rc;
}
