/*
 * worker.c - challenge validation off the request threads: a bounded
 * queue of challenges and acme.validation_workers threads that run http-01
 * or dns-01 (each within acme.validation_timeout), record the outcome
 * (validations table, challenge, authorization, order) and go on.  Clients
 * poll the resources.
 *
 * Fairness: an account may have acme.pending_validations_per_account
 * challenges queued or running, and at most half of the workers run its
 * validations, so slow validations of one account (a resolver that never
 * answers) do not hold up the others.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acme/acme.h"
#include "acme/validate.h"
#include "ca/conf.h"
#include "common/log.h"
#include "common/util.h"
#include "store/acme.h"
#include "store/pool.h"
#include "store/store.h"

/* A queued or running validation; account[0] == '\0' in an idle running slot. */
struct job {
	char id[MCA_ACME_ID_LEN + 1];
	char account[MCA_ACME_ID_LEN + 1];
};

struct mca_acme {
	struct mca_store_pool *pool; /* not owned */
	struct mca_validate_cfg cfg;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct job *queue; /* oldest first, len of cap */
	size_t len, cap;
	struct job *running; /* one slot per worker */
	unsigned workers;
	unsigned per_account;         /* queued + running of one account */
	unsigned per_account_running; /* workers one account may occupy */
	int stop;
	pthread_t *threads;
	unsigned started;
	int64_t last_purge;
};

/* Worker slots running validations of `account`, of any account when NULL (under lock). */
static unsigned
running_of(const struct mca_acme *a, const char *account)
{
	unsigned i, n = 0;

	for (i = 0; i < a->workers; i++)
		n += account == NULL ? a->running[i].account[0] != '\0'
		                     : strcmp(a->running[i].account, account) == 0;
	return n;
}

/* Queued + running validations of `account` (under lock). */
static unsigned
pending_of(const struct mca_acme *a, const char *account)
{
	unsigned n = running_of(a, account);
	size_t i;

	for (i = 0; i < a->len; i++)
		n += strcmp(a->queue[i].account, account) == 0;
	return n;
}

/* Add a job; `force` skips the per-account cap (validations resumed at start). */
static enum mca_acme_queued
enqueue(struct mca_acme *a, const char *chall_id, const char *account, int force)
{
	enum mca_acme_queued rc = MCA_ACME_FULL;

	if (a == NULL)
		return MCA_ACME_FULL;
	pthread_mutex_lock(&a->lock);
	if (a->len + running_of(a, NULL) >= a->cap || a->stop)
		rc = MCA_ACME_FULL;
	else if (!force && pending_of(a, account) >= a->per_account)
		rc = MCA_ACME_ACCOUNT_FULL;
	else {
		snprintf(a->queue[a->len].id, sizeof(a->queue[a->len].id), "%s", chall_id);
		snprintf(a->queue[a->len].account, sizeof(a->queue[a->len].account), "%s", account);
		a->len++;
		rc = MCA_ACME_QUEUED;
		pthread_cond_broadcast(&a->cond);
	}
	pthread_mutex_unlock(&a->lock);
	return rc;
}

enum mca_acme_queued
mca_acme_enqueue(struct mca_acme *a, const char *chall_id, const char *account)
{
	/* Never "": that marks an idle running slot. */
	return enqueue(a, chall_id, account != NULL && account[0] != '\0' ? account : "-", 0);
}

unsigned
mca_acme_retry_after(const struct mca_acme *a)
{
	return a != NULL && a->cfg.timeout_s > 0 ? a->cfg.timeout_s : 10;
}

/*
 * The oldest queued job whose account runs fewer than per_account_running
 * validations, moved into running slot `slot`; 0 when there is none (under lock).
 */
static int
take(struct mca_acme *a, unsigned slot)
{
	size_t i;

	for (i = 0; i < a->len; i++) {
		if (running_of(a, a->queue[i].account) >= a->per_account_running)
			continue;
		a->running[slot] = a->queue[i];
		memmove(&a->queue[i], &a->queue[i + 1], (a->len - i - 1) * sizeof(a->queue[0]));
		a->len--;
		return 1;
	}
	return 0;
}

/*
 * The problem document the client sees, as stored text.  A failed http-01
 * says only that it failed: what the validator met (addresses, connect
 * errors, statuses, sizes, redirects) would make it a probe of the CA's
 * network; that goes to the log and the validations table.
 */
static char *
problem(const char *method, const char *name, const struct mca_error *err)
{
	char type[96], generic[320];
	const char *rule = err->rule[0] ? err->rule : "incorrectResponse", *detail = err->msg;
	json_t *j;
	char *s;

	if (strcmp(method, "http-01") == 0) {
		if (strcmp(rule, "serverInternal") != 0)
			rule = "incorrectResponse";
		snprintf(generic, sizeof(generic), "http-01 validation failed for %s", name);
		detail = generic;
	}
	snprintf(type, sizeof(type), "urn:ietf:params:acme:error:%s", rule);
	j = json_pack("{s:s, s:s, s:i}", "type", type, "detail", detail, "status", 403);
	s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	return s;
}

/* A validation's outcome, as validate_one records it. */
struct outcome {
	const char *id, *name, *prob;
	const struct mca_acme_chall *ch;
	const struct mca_acme_authz *az;
	const struct mca_acme_order *o;
	const struct mca_acme_account *acct;
	const struct mca_error *verr; /* NULL: valid */
	int64_t now;
};

/* Challenge, authorization, validation row, and the order when it failed: one transaction. */
static mca_rc
record_outcome(struct mca_store *st, void *arg, struct mca_error *err)
{
	const struct outcome *r = arg;
	const char *status = r->verr == NULL ? "valid" : "invalid";
	int settled = 0;
	mca_rc rc;

	if ((rc = mca_acme_chall_set(st, r->id, status, r->now, r->prob, err)) != MCA_OK ||
	    (rc = mca_acme_authz_settle(st, r->az->id, status, r->now, &settled, err)) != MCA_OK ||
	    (rc = mca_store_validation_add(st, r->name, r->ch->type, r->now, r->verr == NULL,
	                                   r->verr ? r->verr->msg : NULL, r->acct->id, err)) !=
	        MCA_OK)
		return rc;
	if (settled && r->verr != NULL)
		rc = mca_acme_order_set(st, r->o->id, "invalid", r->prob, NULL, err);
	return rc;
}

/* Validate one challenge and record the outcome in one transaction. */
static void
validate_one(struct mca_acme *a, struct mca_store *st, const char *id)
{
	struct outcome rec;
	struct mca_acme_chall ch;
	struct mca_acme_authz az;
	struct mca_acme_order o;
	struct mca_acme_account acct;
	struct mca_error err = {0}, verr = {0};
	char keyauth[256], name[260], *prob = NULL;
	int64_t now;
	mca_rc vrc;

	memset(&az, 0, sizeof(az));
	memset(&o, 0, sizeof(o));
	memset(&acct, 0, sizeof(acct));
	if (mca_acme_chall_get(st, id, &ch, &err) != MCA_OK)
		return;
	if (strcmp(ch.status, "processing") != 0 ||
	    mca_acme_authz_get(st, ch.authz, &az, &err) != MCA_OK ||
	    mca_acme_order_get(st, az.order_id, &o, &err) != MCA_OK ||
	    mca_acme_account_get(st, o.account, &acct, &err) != MCA_OK)
		goto out;
	snprintf(keyauth, sizeof(keyauth), "%s.%s", ch.token, acct.thumbprint);
	snprintf(name, sizeof(name), "%s%s", az.wildcard ? "*." : "", az.name);
	if (strcmp(ch.type, "http-01") == 0)
		vrc = mca_validate_http01(&a->cfg, az.name, ch.token, keyauth, &verr);
	else
		vrc = mca_validate_dns01(&a->cfg, name, keyauth, &verr);
	now = (int64_t)mca_now();
	if (vrc != MCA_OK)
		prob = problem(ch.type, name, &verr);
	mca_log(MCA_LOG_INFO, "acme: %s of %s for account %s: %s%s%s", ch.type, name, acct.id,
	        vrc == MCA_OK ? "valid" : "invalid", vrc == MCA_OK ? "" : ": ",
	        vrc == MCA_OK ? "" : verr.msg);
	rec.id = id;
	rec.ch = &ch;
	rec.az = &az;
	rec.o = &o;
	rec.acct = &acct;
	rec.name = name;
	rec.prob = prob;
	rec.verr = vrc == MCA_OK ? NULL : &verr;
	rec.now = now;
	if (mca_store_txn(st, record_outcome, &rec, &err) != MCA_OK)
		mca_log(MCA_LOG_ERR, "acme: recording the validation of %s failed: %s", name,
		        err.msg);
out:
	free(prob);
	mca_acme_chall_clear(&ch);
	mca_acme_authz_clear(&az);
	mca_acme_order_clear(&o);
	mca_acme_account_clear(&acct);
}

/* A worker and its running slot. */
struct worker_arg {
	struct mca_acme *a;
	unsigned slot;
};

static void *
worker_main(void *arg)
{
	struct worker_arg *w = arg;
	struct mca_acme *a = w->a;
	struct mca_error err = {0};
	struct mca_store *st;
	unsigned slot = w->slot;
	char id[MCA_ACME_ID_LEN + 1];

	free(w);
	for (;;) {
		pthread_mutex_lock(&a->lock);
		while (!a->stop && !take(a, slot))
			pthread_cond_wait(&a->cond, &a->lock);
		if (a->stop) {
			pthread_mutex_unlock(&a->lock);
			break;
		}
		memcpy(id, a->running[slot].id, sizeof(id));
		pthread_mutex_unlock(&a->lock);
		st = mca_store_pool_get(a->pool, &err);
		if (st == NULL)
			mca_log(MCA_LOG_ERR, "acme worker: database: %s", err.msg);
		else
			validate_one(a, st, id);
		/* The slot is free: a job of this account may now be taken. */
		pthread_mutex_lock(&a->lock);
		memset(&a->running[slot], 0, sizeof(a->running[slot]));
		pthread_cond_broadcast(&a->cond);
		pthread_mutex_unlock(&a->lock);
	}
	return NULL;
}

/* The account a challenge belongs to, into `account` ("-" when it cannot be found). */
static void
account_of(struct mca_store *st, const char *chall_id, char *account, size_t len)
{
	struct mca_acme_chall ch;
	struct mca_acme_authz az;
	struct mca_acme_order o;
	struct mca_error err = {0};

	memset(&ch, 0, sizeof(ch));
	memset(&az, 0, sizeof(az));
	memset(&o, 0, sizeof(o));
	snprintf(account, len, "-");
	if (mca_acme_chall_get(st, chall_id, &ch, &err) == MCA_OK &&
	    mca_acme_authz_get(st, ch.authz, &az, &err) == MCA_OK &&
	    mca_acme_order_get(st, az.order_id, &o, &err) == MCA_OK && o.account != NULL &&
	    o.account[0] != '\0')
		snprintf(account, len, "%s", o.account);
	mca_acme_chall_clear(&ch);
	mca_acme_authz_clear(&az);
	mca_acme_order_clear(&o);
}

static int
requeue(void *arg, const char *id)
{
	struct mca_acme *a = arg;
	struct mca_error err = {0};
	struct mca_store *st = mca_store_pool_get(a->pool, &err);
	char account[MCA_ACME_ID_LEN + 1];

	if (st == NULL)
		return 0;
	account_of(st, id, account, sizeof(account));
	if (enqueue(a, id, account, 1) == MCA_ACME_QUEUED)
		return 0;
	/* Queue full: back to pending, so the client's next POST starts it again. */
	mca_acme_chall_set(st, id, "pending", 0, NULL, &err);
	return 0;
}

/* Validations a previous run accepted but did not finish are queued again. */
static void
resume(struct mca_acme *a)
{
	struct mca_error err = {0};
	struct mca_store *st = mca_store_pool_get(a->pool, &err);

	if (st == NULL || mca_acme_chall_processing(st, requeue, a, &err) != MCA_OK)
		mca_log(MCA_LOG_WARN, "acme: cannot resume pending validations: %s", err.msg);
}

/* Orders a crash left "processing" (being finalized) become "ready" again. */
static void
repair_finalizations(struct mca_acme *a)
{
	struct mca_error err = {0};
	struct mca_store *st = mca_store_pool_get(a->pool, &err);
	int64_t n = 0;

	if (st == NULL || mca_acme_order_repair(st, &n, &err) != MCA_OK)
		mca_log(MCA_LOG_ERR, "acme: cannot repair interrupted finalizations: %s", err.msg);
	else if (n > 0)
		mca_log(MCA_LOG_WARN,
		        "acme: %lld order(s) were being finalized when the last run stopped; "
		        "they are ready to be finalized again",
		        (long long)n);
}

mca_rc
mca_acme_new(const struct mca_conf *conf, struct mca_store_pool *pool, struct mca_acme **out,
             struct mca_error *err)
{
	struct mca_acme *a;
	struct worker_arg *w;
	size_t i;

	*out = NULL;
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	a->pool = pool;
	a->cfg.http01_port = conf->acme_http01_port;
	a->cfg.timeout_s = conf->acme_validation_timeout;
	if (conf->acme_dns_resolver != NULL)
		snprintf(a->cfg.dns_server, sizeof(a->cfg.dns_server), "%s",
		         conf->acme_dns_resolver);
	for (i = 0; conf->acme_host_names != NULL && conf->acme_host_names[i] != NULL &&
	            i < MCA_VALIDATE_MAX_HOSTS;
	     i++) {
		snprintf(a->cfg.hosts[i].name, sizeof(a->cfg.hosts[i].name), "%s",
		         conf->acme_host_names[i]);
		snprintf(a->cfg.hosts[i].addr, sizeof(a->cfg.hosts[i].addr), "%s",
		         conf->acme_host_addrs[i]);
		a->cfg.n_hosts++;
	}
	for (i = 0; i < conf->acme_n_http01_deny && i < MCA_VALIDATE_MAX_DENY; i++)
		a->cfg.deny[a->cfg.n_deny++] = conf->acme_http01_deny[i];
	a->workers = conf->acme_validation_workers > 0 ? conf->acme_validation_workers : 1;
	a->per_account = conf->acme_pending_per_account > 0 ? conf->acme_pending_per_account : 1;
	a->per_account_running = a->workers / 2 > 0 ? a->workers / 2 : 1;
	a->cap = conf->acme_pending_max > 0 ? conf->acme_pending_max : 1;
	a->queue = calloc(a->cap, sizeof(*a->queue));
	a->running = calloc(a->workers, sizeof(*a->running));
	a->threads = calloc(a->workers, sizeof(*a->threads));
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->cond, NULL);
	if (a->queue == NULL || a->running == NULL || a->threads == NULL) {
		mca_acme_free(a);
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	}
	resume(a);
	repair_finalizations(a);
	for (i = 0; i < a->workers; i++) {
		w = malloc(sizeof(*w));
		if (w != NULL) {
			w->a = a;
			w->slot = (unsigned)i;
		}
		if (w == NULL || pthread_create(&a->threads[i], NULL, worker_main, w) != 0) {
			free(w);
			mca_acme_free(a);
			return mca_error_set(err, MCA_ERR_INTERNAL, "cannot start ACME workers");
		}
		a->started++;
	}
	*out = a;
	return MCA_OK;
}

void
mca_acme_free(struct mca_acme *a)
{
	unsigned i;

	if (a == NULL)
		return;
	pthread_mutex_lock(&a->lock);
	a->stop = 1;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
	for (i = 0; i < a->started; i++)
		pthread_join(a->threads[i], NULL);
	pthread_cond_destroy(&a->cond);
	pthread_mutex_destroy(&a->lock);
	free(a->threads);
	free(a->running);
	free(a->queue);
	free(a);
}

void
mca_acme_tick(struct mca_acme *a)
{
	struct mca_error err = {0};
	struct mca_store *st;
	int64_t now = (int64_t)mca_now();

	if (a == NULL || now - a->last_purge < 600)
		return;
	a->last_purge = now;
	st = mca_store_pool_get(a->pool, &err);
	if (st == NULL || mca_acme_purge(st, now - 7 * 86400, &err) != MCA_OK)
		mca_log(MCA_LOG_ERR, "acme: purge failed: %s", err.msg);
}
