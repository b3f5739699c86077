/* committer.c - one writer thread, many certificates per fsync. */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ca/committer.h"
#include "ca/token.h"
#include "common/log.h"
#include "store/store.h"

/* One queued certificate; the committer frees it after calling `done`. */
struct job {
	struct mca_cert_rec rec;
	const char *actor, *action;
	const struct mca_record_hook *hook; /* NULL: none */
	struct mca_error err;
	mca_rc rc;
	mca_committer_done_fn done;
	void *done_arg;
	struct job *next;
};

/* A caller of mca_committer_record_with waiting on its job. */
struct waiter {
	pthread_mutex_t lock;
	pthread_cond_t cv; /* `done` set: only this caller is woken */
	int done;
	mca_rc rc;
	struct mca_error err;
};

/* Uses held on one token by requests in flight. */
struct hold {
	char id[MCA_TOKEN_ID_LEN + 1];
	int64_t n;
	struct hold *next;
};

#define HOLD_BUCKETS 64

struct mca_committer {
	struct mca_store *st;
	pthread_mutex_t holds_lock;
	struct hold *holds[HOLD_BUCKETS];
	pthread_mutex_t lock;
	pthread_cond_t work; /* jobs queued, or stop */
	struct job *head, *tail;
	int stop;
	int idle;    /* the thread waits on `work` (under lock): only then is it signalled */
	int plugged; /* mca_committer_plug count: no batch is taken while > 0 */
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
	struct mca_error err = {0};
	struct job *batch, *j, *last;
	int n;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		while ((c->head == NULL || c->plugged > 0) && !c->stop) {
			c->idle = 1;
			pthread_cond_wait(&c->work, &c->lock);
			c->idle = 0;
		}
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
		/* Durable (or failed) as a whole: now, and only now, each one hears. */
		while ((j = batch) != NULL) {
			batch = j->next;
			j->done(j->done_arg, j->rc, j->rc == MCA_OK ? NULL : &j->err);
			mca_cert_rec_clear(&j->rec);
			free(j);
		}
		/*
		 * Everyone of the batch has heard: copy the WAL into the
		 * database now, while no batch is writing, so that it catches up
		 * and the WAL starts again from its beginning (store.h).
		 */
		if (mca_store_checkpoint_due(c->st) && mca_store_checkpoint(c->st, &err) != MCA_OK)
			mca_log(MCA_LOG_ERR, "database: %s", err.msg);
		pthread_mutex_lock(&c->lock);
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
	pthread_mutex_init(&c->holds_lock, NULL);
	pthread_cond_init(&c->work, NULL);
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
	struct hold *h;
	size_t i;

	if (c == NULL)
		return;
	if (c->started) {
		pthread_mutex_lock(&c->lock);
		c->stop = 1;
		pthread_cond_signal(&c->work);
		pthread_mutex_unlock(&c->lock);
		pthread_join(c->thread, NULL);
	}
	pthread_cond_destroy(&c->work);
	pthread_mutex_destroy(&c->lock);
	for (i = 0; i < HOLD_BUCKETS; i++)
		while ((h = c->holds[i]) != NULL) {
			c->holds[i] = h->next;
			free(h);
		}
	pthread_mutex_destroy(&c->holds_lock);
	mca_store_close(c->st);
	free(c);
}

mca_rc
mca_committer_record(struct mca_committer *c, struct mca_cert_rec *rec, const char *actor,
                     const char *action, struct mca_error *err)
{
	return mca_committer_record_with(c, rec, actor, action, NULL, err);
}

mca_rc
mca_committer_submit(struct mca_committer *c, struct mca_cert_rec *rec, const char *actor,
                     const char *action, const struct mca_record_hook *hook,
                     mca_committer_done_fn done, void *arg, struct mca_error *err)
{
	struct job *j;

	j = calloc(1, sizeof(*j));
	if (j == NULL)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	/* The row's strings and DER are the job's from here on. */
	j->rec = *rec;
	memset(rec, 0, sizeof(*rec));
	j->actor = actor;
	j->action = action;
	j->hook = hook;
	j->done = done;
	j->done_arg = arg;
	pthread_mutex_lock(&c->lock);
	if (c->tail != NULL)
		c->tail->next = j;
	else
		c->head = j;
	c->tail = j;
	/* A thread busy with a batch takes this one next without a wake-up (a futex call each). */
	if (c->idle && c->plugged == 0)
		pthread_cond_signal(&c->work);
	pthread_mutex_unlock(&c->lock);
	return MCA_OK;
}

void
mca_committer_plug(struct mca_committer *c)
{
	pthread_mutex_lock(&c->lock);
	c->plugged++;
	pthread_mutex_unlock(&c->lock);
}

void
mca_committer_unplug(struct mca_committer *c)
{
	pthread_mutex_lock(&c->lock);
	if (--c->plugged == 0 && c->head != NULL && c->idle)
		pthread_cond_signal(&c->work);
	pthread_mutex_unlock(&c->lock);
}

/* The done callback of a waiting caller: wake it alone. */
static void
wake_waiter(void *arg, mca_rc rc, const struct mca_error *err)
{
	struct waiter *w = arg;

	pthread_mutex_lock(&w->lock);
	w->rc = rc;
	if (err != NULL)
		w->err = *err;
	w->done = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->lock);
}

mca_rc
mca_committer_record_with(struct mca_committer *c, struct mca_cert_rec *rec, const char *actor,
                          const char *action, const struct mca_record_hook *hook,
                          struct mca_error *err)
{
	struct waiter w;
	mca_rc rc;

	memset(&w, 0, sizeof(w));
	pthread_mutex_init(&w.lock, NULL);
	pthread_cond_init(&w.cv, NULL);
	rc = mca_committer_submit(c, rec, actor, action, hook, wake_waiter, &w, err);
	if (rc == MCA_OK) {
		pthread_mutex_lock(&w.lock);
		while (!w.done)
			pthread_cond_wait(&w.cv, &w.lock);
		pthread_mutex_unlock(&w.lock);
		rc = w.rc;
		if (rc != MCA_OK && err != NULL)
			*err = w.err;
	}
	pthread_cond_destroy(&w.cv);
	pthread_mutex_destroy(&w.lock);
	return rc;
}

/* The bucket of a token id (hex digits: any few of them spread well). */
static struct hold **
bucket(struct mca_committer *c, const char *id)
{
	size_t i, v = 0;

	for (i = 0; id[i] != '\0' && i < 8; i++)
		v = v * 31 + (unsigned char)id[i];
	return &c->holds[v % HOLD_BUCKETS];
}

int
mca_committer_token_hold(struct mca_committer *c, const char *id, int64_t uses_left)
{
	struct hold **b, *h;
	int ok = 0;

	if (strlen(id) > MCA_TOKEN_ID_LEN)
		return 0;
	pthread_mutex_lock(&c->holds_lock);
	b = bucket(c, id);
	for (h = *b; h != NULL && strcmp(h->id, id) != 0; h = h->next)
		;
	if (h == NULL && uses_left > 0 && (h = calloc(1, sizeof(*h))) != NULL) {
		memcpy(h->id, id, strlen(id) + 1);
		h->next = *b;
		*b = h;
	}
	if (h != NULL && h->n < uses_left) {
		h->n++;
		ok = 1;
	}
	pthread_mutex_unlock(&c->holds_lock);
	return ok;
}

void
mca_committer_token_release(struct mca_committer *c, const char *id)
{
	struct hold **p, *h;

	pthread_mutex_lock(&c->holds_lock);
	for (p = bucket(c, id); (h = *p) != NULL; p = &h->next)
		if (strcmp(h->id, id) == 0) {
			if (--h->n <= 0) {
				*p = h->next;
				free(h);
			}
			break;
		}
	pthread_mutex_unlock(&c->holds_lock);
}
