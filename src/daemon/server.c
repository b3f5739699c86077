/* server.c - the daemon's loaded state. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "ca/token.h"
#include "common/log.h"
#include "common/util.h"
#include "daemon/nonce.h"
#include "daemon/server.h"
#include "daemon/tick.h"
#include "pki/keys.h"
#include "store/pool.h"

struct mca_store *
mca_server_store(struct mca_server *srv, struct mca_error *err)
{
	return mca_store_pool_get(srv->pool, err);
}

/* The profile templates and an issuer over them, as a new snapshot (one reference). */
static mca_rc
snap_load(struct mca_server *srv, struct mca_profile_snap **out, struct mca_error *err)
{
	struct mca_profile_snap *s;
	mca_rc rc;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	atomic_init(&s->refs, 1);
	if ((rc = mca_profiles_load(srv->conf->templates_dir, &s->profiles, err)) != MCA_OK ||
	    (rc = mca_issuer_new(srv->ca_signer, srv->ca_cert, s->profiles, srv->conf->crl_url,
	                         srv->conf->ca_issuers_url, &s->issuer, err)) != MCA_OK) {
		mca_profile_snap_release(s);
		return rc;
	}
	mca_issuer_set_crl_shards(s->issuer, srv->conf->crl_shards, srv->conf->crl_shard_url);
	if (srv->conf->ocsp_url != NULL)
		mca_issuer_set_ocsp_url(s->issuer, srv->conf->ocsp_url);
	*out = s;
	return MCA_OK;
}

/* The TLS key the signer process handed over must be the server certificate's. */
static mca_rc
tls_key_matches(const char *pem, const char *keypath, X509 *cert, const char *certpath,
                struct mca_error *err)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *key = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
	mca_rc rc = MCA_OK;

	if (key == NULL)
		rc = mca_error_ssl(err, MCA_ERR_CRYPTO, "%s: unreadable", keypath);
	else if (!mca_key_matches_cert(key, cert))
		rc = mca_error_set(err, MCA_ERR_CONFIG, "%s: key does not match %s", keypath,
		                   certpath);
	ERR_clear_error();
	EVP_PKEY_free(key);
	BIO_free(b);
	return rc;
}

static int64_t
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

/* Start a signer process and point the channel at it. */
static mca_rc
signer_start(struct mca_server *srv, int with_tls_key, struct mca_error *err)
{
	struct mca_signerproc_conf c = srv->signer_conf;
	pid_t pid = -1;
	int fd = -1;
	mca_rc rc;

	if (!with_tls_key)
		c.tls_key = NULL;
	if ((rc = mca_signerproc_spawn(srv->signer_exe, &c, &pid, &fd, err)) != MCA_OK)
		return rc;
	srv->signer_pid = pid;
	srv->signer_started = mono_now();
	if (srv->signer_chan == NULL)
		return mca_signer_chan_new(fd, &srv->signer_chan, err);
	mca_signer_chan_reset(srv->signer_chan, fd);
	return MCA_OK;
}

void
mca_server_signer_check(struct mca_server *srv)
{
	struct mca_error err = {0};
	int64_t now = mono_now();
	int status = 0;
	pid_t r;

	if (srv->signer_pid > 0) {
		r = waitpid(srv->signer_pid, &status, WNOHANG);
		if (r == 0) {
			if (mca_signer_chan_down(srv->signer_chan)) {
				mca_log(MCA_LOG_ERR,
				        "the signer process (pid %ld) does not answer: killing it",
				        (long)srv->signer_pid);
				kill(srv->signer_pid, SIGKILL);
			} else if (now - srv->signer_started >= 60) {
				srv->signer_backoff = 0;
			}
			return;
		}
		if (WIFSIGNALED(status))
			mca_log(MCA_LOG_ERR, "the signer process (pid %ld) was killed by signal %d",
			        (long)srv->signer_pid, WTERMSIG(status));
		else
			mca_log(MCA_LOG_ERR, "the signer process (pid %ld) exited with status %d",
			        (long)srv->signer_pid,
			        WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		srv->signer_pid = -1;
		mca_signer_chan_close(srv->signer_chan);
		srv->signer_retry_at = now + srv->signer_backoff;
		if (srv->signer_backoff > 0)
			mca_log(MCA_LOG_WARN, "restarting the signer process in %lld s",
			        (long long)srv->signer_backoff);
	}
	if (now < srv->signer_retry_at)
		return;
	srv->signer_backoff = srv->signer_backoff == 0 ? 1
	                      : srv->signer_backoff * 2 > MCA_SIGNER_BACKOFF_MAX
	                          ? MCA_SIGNER_BACKOFF_MAX
	                          : srv->signer_backoff * 2;
	if (signer_start(srv, 0, &err) != MCA_OK) {
		srv->signer_retry_at = now + srv->signer_backoff;
		mca_log(MCA_LOG_ERR, "restarting the signer process failed: %s; next try in %lld s",
		        err.msg, (long long)srv->signer_backoff);
		return;
	}
	if (mca_signer_probe(srv->ca_signer, &err) != MCA_OK)
		mca_log(MCA_LOG_ERR, "the restarted signer process does not sign with %s: %s",
		        srv->conf->ca_key, err.msg);
	else
		mca_log(MCA_LOG_NOTICE, "the signer process is back (pid %ld)",
		        (long)srv->signer_pid);
}

/*
 * What the TLS listener presents: server.crt then the issuing CA, so
 * clients that trust only the root can verify it.
 */
static mca_rc
server_chain_pem(X509 *server, X509 *ca, char **out, struct mca_error *err)
{
	char *a = NULL, *b = NULL;
	mca_rc rc;

	*out = NULL;
	if ((rc = mca_cert_to_pem(server, &a, err)) == MCA_OK &&
	    (rc = mca_cert_to_pem(ca, &b, err)) == MCA_OK && asprintf(out, "%s%s", a, b) < 0) {
		*out = NULL;
		rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	}
	free(a);
	free(b);
	return rc;
}

/* Concatenated PEM of a certificate stack. */
static mca_rc
chain_pem(STACK_OF(X509) * sk, char **out, struct mca_error *err)
{
	char *acc = NULL, *pem = NULL, *joined;
	int i;
	mca_rc rc;

	*out = NULL;
	acc = strdup("");
	if (acc == NULL)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	for (i = 0; i < sk_X509_num(sk); i++) {
		if ((rc = mca_cert_to_pem(sk_X509_value(sk, i), &pem, err)) != MCA_OK) {
			free(acc);
			return rc;
		}
		if (asprintf(&joined, "%s%s", acc, pem) < 0) {
			free(acc);
			free(pem);
			return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		}
		free(acc);
		free(pem);
		acc = joined;
	}
	*out = acc;
	return MCA_OK;
}

/* A signature over a fixed message proves the CA key is loaded and usable. */
static int
signer_usable(void *arg)
{
	struct mca_server *srv = arg;
	int ok;

	ok = mca_signer_probe(srv->ca_signer, NULL) == MCA_OK;
	mca_metrics_signer_check(srv->metrics, ok);
	return ok;
}

/* The signer process's OCSP responder key, as a signer. */
static mca_rc
ocsp_key(void *arg, struct mca_signer **out, struct mca_error *err)
{
	struct mca_server *srv = arg;

	return mca_signer_client_new(srv->signer_chan, MCA_SIGKEY_OCSP, NULL, NULL, out, err);
}

/*
 * The OCSP responder; its first responder certificate comes with the first
 * mca_ocsp_tick (at start when the database answers, else on a later tick).
 */
static mca_rc
ocsp_start(struct mca_server *srv, struct mca_error *err)
{
	struct mca_ocsp_conf oc = {
	    .validity = srv->conf->ocsp_validity,
	    .refresh = srv->conf->ocsp_refresh,
	    .cert_validity = srv->conf->ocsp_cert_validity,
	    .nonce = srv->conf->ocsp_nonce,
	    .on_demand_per_second = srv->conf->ocsp_on_demand_per_second,
	    .cache_max = srv->conf->ocsp_cache_max,
	};

	return mca_ocsp_new(&oc, ocsp_key, srv, srv->ca_signer, srv->ca_cert, srv->root_signer,
	                    srv->root_cert, &srv->ocsp, err);
}

static void
ocsp_revoked(void *arg, const char *serial)
{
	mca_ocsp_revoked(arg, serial);
}

mca_rc
mca_server_load(struct mca_conf *conf, const char *signer_exe, struct mca_server **out,
                struct mca_error *err)
{
	struct mca_server *srv;
	struct mca_store *st = NULL;
	X509 *server_cert = NULL;
	const char *env = getenv(MCA_SIGNER_SECCOMP_ENV);
	json_t *chain;
	mca_rc rc;

	*out = NULL;
	srv = calloc(1, sizeof(*srv));
	if (srv == NULL)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	srv->conf = conf;
	srv->started_at = mca_now();
	srv->signer_pid = -1;
	/* The CA keys and the passphrase file: only the signer process reads them. */
	srv->signer_conf.ca_key = conf->ca_key;
	srv->signer_conf.ca_cert = conf->ca_cert;
	srv->signer_conf.root_key = conf->root_key;
	srv->signer_conf.root_cert = conf->root_key != NULL ? conf->root_cert : NULL;
	srv->signer_conf.passphrase_file = conf->passphrase_file;
	srv->signer_conf.pkcs11_module = conf->pkcs11_module;
	srv->signer_conf.pkcs11_pin_file = conf->pkcs11_pin_file;
	srv->signer_conf.tls_key = conf->server_key;
	srv->signer_conf.user = conf->signer_user;
	srv->signer_conf.seccomp = env == NULL || strcmp(env, "0") != 0;
	srv->signer_conf.ocsp = conf->ocsp_url != NULL;
	srv->signer_conf.ocsp_key = conf->ocsp_responder_key;
	srv->signer_exe = strdup(signer_exe);
	if (srv->signer_exe == NULL) {
		rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		goto fail;
	}
	if ((rc = signer_start(srv, 1, err)) != MCA_OK)
		goto fail;
	if ((rc = mca_store_pool_new(conf->database, &srv->pool, err)) != MCA_OK)
		goto fail;
	if ((rc = mca_cert_load(conf->root_cert, &srv->root_cert, err)) != MCA_OK ||
	    (rc = mca_cert_load(conf->ca_cert, &srv->ca_cert, err)) != MCA_OK ||
	    (rc = mca_certs_load(conf->chain, &srv->chain, err)) != MCA_OK ||
	    (rc = mca_cert_load(conf->server_cert, &server_cert, err)) != MCA_OK)
		goto fail;
	if ((rc = mca_signer_client_new(srv->signer_chan, MCA_SIGKEY_CA, srv->ca_cert,
	                                conf->ca_cert, &srv->ca_signer, err)) != MCA_OK)
		goto fail;
	if (conf->root_key != NULL &&
	    (rc = mca_signer_client_new(srv->signer_chan, MCA_SIGKEY_ROOT, srv->root_cert,
	                                conf->root_cert, &srv->root_signer, err)) != MCA_OK)
		goto fail;
	if ((rc = mca_signer_chan_tls_key(srv->signer_chan, &srv->server_key_pem, err)) != MCA_OK ||
	    (rc = tls_key_matches(srv->server_key_pem, conf->server_key, server_cert,
	                          conf->server_cert, err)) != MCA_OK)
		goto fail;
	if ((rc = mca_cert_to_pem(srv->root_cert, &srv->root_pem, err)) != MCA_OK ||
	    (rc = mca_cert_to_pem(srv->ca_cert, &srv->ca_pem, err)) != MCA_OK ||
	    (rc = server_chain_pem(server_cert, srv->ca_cert, &srv->server_cert_pem, err)) !=
	        MCA_OK ||
	    (rc = mca_cert_to_der(srv->ca_cert, &srv->ca_der, &srv->ca_der_len, err)) != MCA_OK ||
	    (rc = mca_cert_fingerprint(srv->root_cert, srv->root_fingerprint, err)) != MCA_OK ||
	    (rc = chain_pem(srv->chain, &srv->chain_pem, err)) != MCA_OK)
		goto fail;
	chain = json_pack("[s, s]", srv->ca_pem, srv->root_pem);
	srv->chain_json = chain != NULL ? json_dumps(chain, JSON_COMPACT) : NULL;
	json_decref(chain);
	if (srv->chain_json == NULL) {
		rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		goto fail;
	}
	if (X509_cmp(sk_X509_value(srv->chain, 0), srv->ca_cert) != 0) {
		rc = mca_error_set(err, MCA_ERR_CONFIG, "%s: does not start with %s", conf->chain,
		                   conf->ca_cert);
		goto fail;
	}
	srv->trust = X509_STORE_new();
	if (srv->trust == NULL || !X509_STORE_add_cert(srv->trust, srv->root_cert)) {
		rc = mca_error_ssl(err, MCA_ERR_NOMEM, "trust store");
		goto fail;
	}
	srv->ratelimit = mca_ratelimit_new();
	srv->acme_accounts = mca_ratelimit_new_ex(conf->acme_new_accounts_per_hour, 3600);
	srv->metrics = mca_metrics_new();
	srv->crls = mca_crlcache_new();
	srv->signer_probe =
	    mca_probe_new((int64_t)MCA_SIGNER_CHECK_INTERVAL * 1000000000, signer_usable, srv);
	if (srv->ratelimit == NULL || srv->acme_accounts == NULL || srv->metrics == NULL ||
	    srv->crls == NULL || srv->signer_probe == NULL) {
		rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		goto fail;
	}
	if ((rc = mca_nonces_new(MCA_NONCE_WINDOW, MCA_NONCE_LIFETIME, &srv->nonces, err)) !=
	    MCA_OK)
		goto fail;
	if ((rc = mca_crlcache_set_shards(srv->crls, conf->crl_shards, err)) != MCA_OK)
		goto fail;
	pthread_mutex_init(&srv->snap_lock, NULL);
	srv->lock_ready = 1;
	if ((rc = snap_load(srv, &srv->snap, err)) != MCA_OK)
		goto fail;
	/*
	 * Open (and migrate) the database once now, so a broken one fails the
	 * start; a database server that cannot be reached yet does not (the
	 * store retries with back-off, /v1/health answers 503 meanwhile).
	 */
	if (conf->ocsp_url != NULL && (rc = ocsp_start(srv, err)) != MCA_OK)
		goto fail;
	if ((rc = mca_store_open(conf->database, MCA_STORE_WAIT, &st, err)) != MCA_OK)
		goto fail;
	rc = mca_crlcache_refresh(srv->crls, st, NULL, err);
	/* Load the CRL entries now, not in the first revocation. */
	if (rc == MCA_OK && mca_crlcache_entries(srv->crls, srv->ca_cert) == NULL)
		rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	if (rc == MCA_OK)
		rc = mca_crlset_sync(mca_crlcache_entries(srv->crls, srv->ca_cert), st, err);
	if (rc == MCA_OK)
		mca_tick_share_nonces(srv, st);
	if (rc == MCA_OK && srv->ocsp != NULL)
		rc = mca_ocsp_tick(srv->ocsp, st, (int64_t)srv->signer_pid, err);
	mca_store_close(st);
	if (rc != MCA_OK && mca_store_conflict(rc, err))
		mca_log(MCA_LOG_WARN, "database not reachable yet: %s", err->msg);
	else if (rc != MCA_OK)
		goto fail;
	X509_free(server_cert);
	*out = srv;
	return MCA_OK;
fail:
	X509_free(server_cert);
	srv->conf = NULL; /* the caller still owns conf on failure */
	mca_server_free(srv);
	return rc;
}

mca_rc
mca_server_reload_profiles(struct mca_server *srv, struct mca_error *err)
{
	struct mca_profile_snap *snap = NULL, *old;
	mca_rc rc;

	if ((rc = snap_load(srv, &snap, err)) != MCA_OK)
		return rc;
	pthread_mutex_lock(&srv->snap_lock);
	old = srv->snap;
	srv->snap = snap;
	pthread_mutex_unlock(&srv->snap_lock);
	/* Requests that took the old one keep it until they release it. */
	mca_profile_snap_release(old);
	return MCA_OK;
}

struct mca_profile_snap *
mca_server_profiles(struct mca_server *srv)
{
	struct mca_profile_snap *s;

	pthread_mutex_lock(&srv->snap_lock);
	s = srv->snap;
	atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	pthread_mutex_unlock(&srv->snap_lock);
	return s;
}

void
mca_profile_snap_release(struct mca_profile_snap *s)
{
	if (s == NULL || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
		return;
	mca_issuer_free(s->issuer);
	mca_profiles_free(s->profiles);
	free(s);
}

void
mca_server_publish_params(struct mca_server *srv, struct mca_store *st, struct mca_publish *p,
                          const char *actor)
{
	memset(p, 0, sizeof(*p));
	p->store = st;
	p->signer = srv->ca_signer;
	p->issuer = srv->ca_cert;
	p->which = "ca";
	p->crl_dir = srv->conf->crl_dir;
	p->validity = srv->conf->crl_validity;
	p->actor = actor;
	p->shards = srv->conf->crl_shards;
	p->shard_url = srv->conf->crl_shard_url;
	p->set = mca_crlcache_entries(srv->crls, srv->ca_cert);
	p->on_published = mca_crlcache_published;
	p->on_published_arg = srv->crls;
	p->defer_files = 1; /* written by the tick (mca_crlcache_write_files) */
	if (srv->ocsp != NULL) {
		p->revoked = ocsp_revoked;
		p->revoked_arg = srv->ocsp;
	}
}

/* Close the channel (the signer process exits at end of file) and reap it, bounded. */
static void
signer_stop(struct mca_server *srv)
{
	const struct timespec pause = {0, 20 * 1000 * 1000};
	int i, status;

	mca_signer_chan_free(srv->signer_chan);
	srv->signer_chan = NULL;
	if (srv->signer_pid <= 0)
		return;
	for (i = 0; i < 100; i++) {
		if (waitpid(srv->signer_pid, &status, WNOHANG) != 0)
			break;
		nanosleep(&pause, NULL);
	}
	if (i == 100) {
		kill(srv->signer_pid, SIGKILL);
		while (waitpid(srv->signer_pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	srv->signer_pid = -1;
}

void
mca_server_free(struct mca_server *srv)
{
	if (srv == NULL)
		return;
	mca_profile_snap_release(srv->snap);
	if (srv->lock_ready)
		pthread_mutex_destroy(&srv->snap_lock);
	X509_STORE_free(srv->trust);
	mca_crlcache_free(srv->crls);
	mca_ocsp_free(srv->ocsp);
	mca_signer_free(srv->root_signer);
	mca_probe_free(srv->signer_probe);
	mca_ratelimit_free(srv->ratelimit);
	mca_ratelimit_free(srv->acme_accounts);
	mca_nonces_free(srv->nonces);
	mca_metrics_free(srv->metrics);
	mca_signer_free(srv->ca_signer);
	signer_stop(srv);
	X509_free(srv->ca_cert);
	X509_free(srv->root_cert);
	sk_X509_pop_free(srv->chain, X509_free);
	free(srv->root_pem);
	free(srv->chain_pem);
	free(srv->ca_pem);
	free(srv->chain_json);
	free(srv->ca_der);
	free(srv->server_cert_pem);
	mca_free_secret(srv->server_key_pem);
	mca_store_pool_free(srv->pool);
	mca_conf_free(srv->conf);
	free(srv->signer_exe);
	free(srv);
}

void
mca_server_wipe_tls_key(struct mca_server *srv)
{
	mca_free_secret(srv->server_key_pem);
	srv->server_key_pem = NULL;
}
