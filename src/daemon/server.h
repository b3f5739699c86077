/*
 * server.h - what mtlscad holds in memory while it runs, loaded once at
 * start from the configuration: the trust material it serves, the issuing
 * CA's signer, and a database connection per worker thread.
 *
 * Everything here is read-only after mca_server_load() returns, except
 * the per-thread store (thread-local) and the counters (atomic).
 */
#ifndef MCA_SERVER_H
#define MCA_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include <pthread.h>
#include <stdatomic.h>

#include "ca/conf.h"
#include "ca/issue.h"
#include "ca/publish.h"
#include "ca/signq.h"
#include "common/err.h"
#include "common/probe.h"
#include "daemon/crlcache.h"
#include "daemon/metrics.h"
#include "daemon/ocspcache.h"
#include "daemon/ratelimit.h"
#include "mhd/mhd.h"
#include "policy/profile.h"
#include "signer/client.h"
#include "signer/proc.h"
#include "signer/signer.h"
#include "store/store.h"

struct mca_acme;
struct mca_store_pool;
struct mca_nonces;

struct mca_server {
	struct mca_conf *conf;
	/*
	 * Both signers sign through the signer process (signer/proc.h), the
	 * only holder of the CA keys, over signer_chan; mtlscad never signs
	 * in-process.  The process is restarted by mca_server_signer_check.
	 */
	struct mca_signer *ca_signer;
	struct mca_signer_chan *signer_chan;
	struct mca_signerproc_conf signer_conf; /* strings are conf's */
	char *signer_exe;                       /* mtlscad itself */
	pid_t signer_pid;                       /* -1: none running */
	int64_t signer_started;                 /* monotonic seconds */
	int64_t signer_retry_at;                /* main thread: when to start the next one */
	int64_t signer_backoff;                 /* seconds before the restart after that */
	X509 *ca_cert, *root_cert;
	STACK_OF(X509) * chain;     /* issuing CA first, root last */
	char *root_pem, *chain_pem; /* served as is */
	char *ca_pem;
	char *chain_json; /* ["ca_pem","root_pem"] as JSON text: the "chain" of issuing replies */
	unsigned char *ca_der;
	size_t ca_der_len;
	char root_fingerprint[65]; /* lower-case hex SHA-256 */
	char *server_cert_pem;
	char *server_key_pem; /* unencrypted, for libmicrohttpd; wiped once it started */
	int64_t started_at;
	struct mca_store_pool *pool; /* one connection per thread */
	X509_STORE *trust;           /* root as anchor: verifies client certificates */

	/*
	 * The loaded profiles and the issuer over them: an immutable snapshot
	 * that SIGHUP replaces (mca_server_profiles); the mutex guards only the
	 * pointer swap and the reference taken, never signing or fsync waits.
	 */
	pthread_mutex_t snap_lock;
	int lock_ready;
	struct mca_profile_snap *snap;

	struct mca_ratelimit *ratelimit;
	struct mca_ratelimit *acme_accounts; /* ACME new accounts per address an hour */
	struct mca_nonces *nonces;           /* ACME replay nonces (acme/nonce.h), thread-safe */
	struct mca_metrics *metrics;
	/* /v1/health's check of ca_signer, run at most every MCA_SIGNER_CHECK_INTERVAL. */
	struct mca_probe *signer_probe;
	struct mca_crlcache *crls;
	struct mca_ocsp *ocsp; /* the OCSP responder; NULL: off (no "ocsp" in the config) */

	/* The root key, only when configured (for republishing the root's CRL). */
	struct mca_signer *root_signer;

	/* The ACME server's validation workers: started after detaching and
	 * freed by mtlscad (the daemon layer does not call into acme/). */
	struct mca_acme *acme;

	int64_t last_purge; /* main thread only: mca_tick's hourly work */

	/* Group commit of issued certificates: started after detaching and
	 * stopped by mtlscad, like the ACME workers. */
	struct mca_committer *committer;
	/* The issuing stage of /v1/sign and /v1/renew (ca/signq.h), started
	 * and stopped by mtlscad with the committer; NULL: they sign on the
	 * request's thread. */
	struct mca_signq *signq;
};

/*
 * Start the signer process (`signer_exe`, mtlscad itself, is exec'd: it
 * loads the CA keys and the server TLS key, reading the passphrase file);
 * load the certificates and chain; check that the signer's keys match
 * the certificates, the TLS key the server certificate, and that the
 * database opens.  Errors name the file (the signer's own message when
 * it could not start).
 */
mca_rc mca_server_load(struct mca_conf *conf, const char *signer_exe, struct mca_server **out,
                       struct mca_error *err);

/*
 * The signer process's life cycle, on the main thread about once a second
 * (mca_tick): reap it when it died and start a new one, at once the first
 * time, then after a back-off doubling from 1 to MCA_SIGNER_BACKOFF_MAX
 * seconds (reset once one has run for a minute); kill one that stopped
 * answering.  Everything is logged.  Meanwhile signing fails with
 * MCA_ERR_SIGNER (503 signer_unavailable).
 */
#define MCA_SIGNER_BACKOFF_MAX 30
void mca_server_signer_check(struct mca_server *srv);

/*
 * The calling thread's database connection from the pool (store/pool.h),
 * opened on first use and closed at thread exit.  NULL (and err set) when
 * it cannot be opened.
 */
struct mca_store *mca_server_store(struct mca_server *srv, struct mca_error *err);

/*
 * The server a request of mtlscad's listeners belongs to: api/httpd.c
 * hands it to mhd/ as the opaque app pointer of every request.
 */
static inline struct mca_server *
mca_req_server(const struct mca_req *r)
{
	return r->app;
}

/*
 * Profile templates and the issuer built over them, immutable once
 * published; a request takes a reference for as long as it uses them
 * (it may span a reload) and releases it.
 */
struct mca_profile_snap {
	atomic_int refs;
	struct mca_profiles *profiles;
	struct mca_issuer *issuer;
};

/* The current snapshot, with a new reference.  Thread-safe. */
struct mca_profile_snap *mca_server_profiles(struct mca_server *srv);

/* Drop a reference (NULL is fine); the last one frees the snapshot.  Thread-safe. */
void mca_profile_snap_release(struct mca_profile_snap *s);

/*
 * Reload the profile templates (SIGHUP): publish a new snapshot.  On error the loaded set stays
 * and err says which file and field is wrong.
 */
mca_rc mca_server_reload_profiles(struct mca_server *srv, struct mca_error *err);

/*
 * Publication parameters of the issuing CA's CRL, using `st` (the calling
 * thread's store).
 */
void mca_server_publish_params(struct mca_server *srv, struct mca_store *st, struct mca_publish *p,
                               const char *actor);

/*
 * Wipe and drop server_key_pem, the unencrypted TLS key, once the HTTPS
 * listener has started: libmicrohttpd reads MHD_OPTION_HTTPS_MEM_KEY only
 * inside MHD_start_daemon(), where GnuTLS parses it into its own key
 * object; nothing reads the PEM afterwards (SIGHUP reloads profiles only).
 */
void mca_server_wipe_tls_key(struct mca_server *srv);

/* Free the server (and wipe the decrypted key); the config is freed too. */
void mca_server_free(struct mca_server *srv);

#endif
