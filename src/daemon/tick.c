/*
 * tick.c - the daemon's periodic work, on the main thread about once a
 * second (see tick.h).
 */
#include "config.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "ca/publish.h"
#include "ca/token.h"
#include "common/log.h"
#include "common/util.h"
#include "daemon/crlcache.h"
#include "daemon/server.h"
#include "daemon/nonce.h"
#include "daemon/tick.h"
#include "store/acme.h"

/* Republish `which` when its CRL is older than `every` seconds (or missing). */
static void
maybe_republish(struct mca_server *srv, struct mca_store *st, enum mca_crl_which which,
                int64_t every, int64_t now)
{
	struct mca_crl_snap *snap = mca_crlcache_get(srv->crls, which);
	struct mca_publish pub;
	struct mca_error err = {0};
	int64_t number = 0, this_update = snap ? snap->this_update : 0;
	unsigned k;

	mca_crl_snap_release(snap);
	/* A shard not published yet (crl.shards was raised) cannot wait for the schedule. */
	for (k = 0; which == MCA_CRL_CA && k < mca_crlcache_shards(srv->crls); k++) {
		if ((snap = mca_crlcache_get_shard(srv->crls, k)) == NULL)
			this_update = 0;
		mca_crl_snap_release(snap);
	}
	if (this_update + every > now)
		return;
	mca_server_publish_params(srv, st, &pub, "mtlscad:schedule");
	if (which == MCA_CRL_ROOT) {
		pub.signer = srv->root_signer;
		pub.issuer = srv->root_cert;
		pub.which = "root";
		pub.validity = srv->conf->root_crl_validity;
	}
	if (mca_publish_crl(&pub, &number, &err) != MCA_OK) {
		mca_log(MCA_LOG_ERR, "republishing the %s CRL failed: %s", pub.which, err.msg);
		return;
	}
	mca_log(MCA_LOG_INFO, "published %s CRL number %lld", pub.which, (long long)number);
}

void
mca_tick_share_nonces(struct mca_server *srv, struct mca_store *st)
{
	unsigned char fresh[32], key[32];
	struct mca_error err = {0};

	if (st == NULL || !mca_store_is_server(srv->conf->database) ||
	    mca_nonces_shared(srv->nonces))
		return;
	if (RAND_bytes(fresh, sizeof(fresh)) != 1)
		return;
	if (mca_acme_nonce_key(st, fresh, key, &err) == MCA_OK &&
	    mca_nonces_share(srv->nonces, key, &err) == MCA_OK)
		mca_log(MCA_LOG_INFO,
		        "ACME nonces: shared with the other instances of the database");
	else if (!mca_store_unavailable(err.code, &err))
		mca_log(MCA_LOG_ERR, "ACME nonces: cannot take the shared key: %s", err.msg);
	OPENSSL_cleanse(fresh, sizeof(fresh));
	OPENSSL_cleanse(key, sizeof(key));
}

void
mca_tick(struct mca_server *srv)
{
	struct mca_error err = {0};
	struct mca_store *st = mca_server_store(srv, &err);
	struct mca_crl_snap *root;
	struct mca_publish pub;
	int64_t now = (int64_t)mca_now();
	int n = 0;

	/* First, so that the republication below finds a signer when it can. */
	mca_server_signer_check(srv);
	if (st == NULL) {
		mca_log(MCA_LOG_ERR, "database: %s", err.msg);
		return;
	}
	if (mca_crlcache_refresh(srv->crls, st, NULL, &err) != MCA_OK)
		mca_log(MCA_LOG_ERR, "loading CRLs: %s", err.msg);
	mca_tick_share_nonces(srv, st);
	maybe_republish(srv, st, MCA_CRL_CA, srv->conf->crl_refresh, now);
	if (srv->root_signer != NULL) {
		maybe_republish(srv, st, MCA_CRL_ROOT, srv->conf->root_crl_validity / 2, now);
	} else if ((root = mca_crlcache_get(srv->crls, MCA_CRL_ROOT)) != NULL) {
		if (root->next_update - now < 30 * 86400 && now - srv->last_purge >= 3600)
			mca_log(MCA_LOG_WARN,
			        "the root CRL expires in %lld days and the root key is offline: "
			        "run 'mtlsca crl --root' where the root key is",
			        (long long)((root->next_update - now) / 86400));
		mca_crl_snap_release(root);
	}
	if (mca_crlcache_refresh(srv->crls, st, NULL, &err) != MCA_OK)
		mca_log(MCA_LOG_ERR, "loading CRLs: %s", err.msg);
	/* The files of what was published since (revocations return before them). */
	mca_server_publish_params(srv, st, &pub, "mtlscad:files");
	if (mca_crlcache_write_files(srv->crls, &pub, &err) != MCA_OK)
		mca_log(MCA_LOG_ERR, "writing CRL files: %s", err.msg);
	if (srv->ocsp != NULL &&
	    mca_ocsp_tick(srv->ocsp, st, (int64_t)srv->signer_pid, &err) != MCA_OK)
		mca_log(MCA_LOG_ERR, "OCSP responder certificate: %s", err.msg);
	/* Commits leave the WAL to here (mca_store_checkpoint): off the request path. */
	if (mca_store_checkpoint(st, &err) != MCA_OK)
		mca_log(MCA_LOG_ERR, "database: %s", err.msg);
	if (now - srv->last_purge >= 3600) {
		int64_t gone = 0;

		/* CRL entries of certificates expired before every CRL's thisUpdate. */
		if (mca_publish_purge_expired(&pub, &gone, &err) != MCA_OK)
			mca_log(MCA_LOG_ERR, "purging expired CRL entries: %s", err.msg);
		else if (gone > 0)
			mca_log(MCA_LOG_INFO, "purged %lld expired CRL entries", (long long)gone);
		srv->last_purge = now;
		if (mca_token_purge(st, 86400, &n, &err) != MCA_OK)
			mca_log(MCA_LOG_ERR, "purging tokens: %s", err.msg);
		else if (n > 0)
			mca_log(MCA_LOG_INFO, "purged %d expired tokens", n);
	}
}
