/*
 * worker.c - challenge validation off the request threads: a bounded
 * queue of challenge ids and a few worker threads that run http-01 or
 * dns-01, record the outcome (validations table, challenge, authorization,
 * order) and go on.  Clients poll the resources.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acme/acme.h"
#include "acme/acme_int.h"
#include "acme/validate.h"
#include "common/log.h"
#include "common/util.h"
#include "daemon/server.h"
#include "store/acme.h"

#define QUEUE_MAX 1024
#define WORKERS   2

struct mca_acme {
	struct mca_server *srv;
	struct mca_validate_cfg cfg;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char queue[QUEUE_MAX][MCA_ACME_ID_LEN + 1];
	size_t head, len;
	int stop;
	pthread_t threads[WORKERS];
	int started;
	int64_t last_purge;
};

int
mca_acme_enqueue(struct mca_acme *a, const char *chall_id)
{
	int ok = 0;

	if (a == NULL)
		return 0;
	pthread_mutex_lock(&a->lock);
	if (a->len < QUEUE_MAX && !a->stop) {
		snprintf(a->queue[(a->head + a->len) % QUEUE_MAX], MCA_ACME_ID_LEN + 1, "%s",
		         chall_id);
		a->len++;
		ok = 1;
		pthread_cond_signal(&a->cond);
	}
	pthread_mutex_unlock(&a->lock);
	return ok;
}

/* A problem document as stored text. */
static char *
problem(const struct mca_error *err)
{
	char type[96];
	json_t *j;
	char *s;

	snprintf(type, sizeof(type), "urn:ietf:params:acme:error:%s",
	         err->rule[0] ? err->rule : "incorrectResponse");
	j = json_pack("{s:s, s:s, s:i}", "type", type, "detail", err->msg, "status", 403);
	s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	return s;
}

/* Validate one challenge and record the outcome in one transaction. */
static void
validate_one(struct mca_acme *a, struct mca_store *st, const char *id)
{
	struct mca_acme_chall ch;
	struct mca_acme_authz az;
	struct mca_acme_order o;
	struct mca_acme_account acct;
	struct mca_error err = {0}, verr = {0};
	char keyauth[256], name[260], *prob = NULL;
	int64_t now;
	int settled = 0;
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
		prob = problem(&verr);
	mca_log(MCA_LOG_INFO, "acme: %s of %s for account %s: %s%s%s", ch.type, name, acct.id,
	        vrc == MCA_OK ? "valid" : "invalid", vrc == MCA_OK ? "" : ": ",
	        vrc == MCA_OK ? "" : verr.msg);
	if (mca_store_begin(st, &err) != MCA_OK)
		goto out;
	if (mca_acme_chall_set(st, id, vrc == MCA_OK ? "valid" : "invalid", now, prob, &err) !=
	        MCA_OK ||
	    mca_acme_authz_settle(st, az.id, vrc == MCA_OK ? "valid" : "invalid", now, &settled,
	                          &err) != MCA_OK ||
	    mca_store_validation_add(st, name, ch.type, now, vrc == MCA_OK,
	                             vrc == MCA_OK ? NULL : verr.msg, acct.id, &err) != MCA_OK ||
	    (settled && vrc != MCA_OK &&
	     mca_acme_order_set(st, o.id, "invalid", prob, NULL, &err) != MCA_OK) ||
	    mca_store_commit(st, &err) != MCA_OK) {
		mca_store_rollback(st);
		mca_log(MCA_LOG_ERR, "acme: recording the validation of %s failed: %s", name,
		        err.msg);
	}
out:
	free(prob);
	mca_acme_chall_clear(&ch);
	mca_acme_authz_clear(&az);
	mca_acme_order_clear(&o);
	mca_acme_account_clear(&acct);
}

static void *
worker_main(void *arg)
{
	struct mca_acme *a = arg;
	struct mca_error err = {0};
	struct mca_store *st;
	char id[MCA_ACME_ID_LEN + 1];

	for (;;) {
		pthread_mutex_lock(&a->lock);
		while (a->len == 0 && !a->stop)
			pthread_cond_wait(&a->cond, &a->lock);
		if (a->stop) {
			pthread_mutex_unlock(&a->lock);
			break;
		}
		memcpy(id, a->queue[a->head], sizeof(id));
		a->head = (a->head + 1) % QUEUE_MAX;
		a->len--;
		pthread_mutex_unlock(&a->lock);
		st = mca_server_store(a->srv, &err);
		if (st == NULL) {
			mca_log(MCA_LOG_ERR, "acme worker: database: %s", err.msg);
			continue;
		}
		validate_one(a, st, id);
	}
	return NULL;
}

static int
requeue(void *arg, const char *id)
{
	struct mca_acme *a = arg;
	struct mca_error err = {0};
	struct mca_store *st;

	if (mca_acme_enqueue(a, id))
		return 0;
	/* Queue full: back to pending, so the client's next POST starts it again. */
	st = mca_server_store(a->srv, &err);
	if (st != NULL)
		mca_acme_chall_set(st, id, "pending", 0, NULL, &err);
	return 0;
}

/* Validations a previous run accepted but did not finish are queued again. */
static void
resume(struct mca_acme *a)
{
	struct mca_error err = {0};
	struct mca_store *st = mca_server_store(a->srv, &err);

	if (st == NULL || mca_acme_chall_processing(st, requeue, a, &err) != MCA_OK)
		mca_log(MCA_LOG_WARN, "acme: cannot resume pending validations: %s", err.msg);
}

mca_rc
mca_acme_new(struct mca_server *srv, struct mca_acme **out, struct mca_error *err)
{
	struct mca_acme *a;
	const struct mca_conf *conf = srv->conf;
	size_t i;

	*out = NULL;
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	a->srv = srv;
	a->cfg.http01_port = conf->acme_http01_port;
	a->cfg.timeout_s = 10;
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
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->cond, NULL);
	resume(a);
	acme_finalize_repair(srv);
	for (i = 0; i < WORKERS; i++) {
		if (pthread_create(&a->threads[i], NULL, worker_main, a) != 0) {
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
	int i;

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
	st = mca_server_store(a->srv, &err);
	if (st == NULL || mca_acme_purge(st, now, now - 7 * 86400, &err) != MCA_OK)
		mca_log(MCA_LOG_ERR, "acme: purge failed: %s", err.msg);
}
