/*
 * http.h - mtlscad's /v1 API and its listeners: the route table, client
 * identities, issuance replies and one handler per endpoint file.  The
 * request context and the reply helpers are mhd/mhd.h's, listening and
 * dispatch mhd/httpd.h's; httpd.c configures those from struct mca_server.
 */
#ifndef MCA_HTTP_H
#define MCA_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <microhttpd.h>
#include <openssl/x509.h>

#include "ca/issue.h"
#include "common/err.h"
#include "daemon/server.h"
#include "mhd/mhd.h"
#include "store/store.h"

/* Who is calling, from the TLS client certificate (auth.c). */
struct mca_identity {
	int presented;            /* a client certificate came with the handshake */
	int valid;                /* it verifies, is ours, unexpired, not revoked */
	int admin;                /* its profile is one of admin_profiles */
	int db_unavailable;       /* its record could not be read: the database is unreachable */
	X509 *cert;               /* owned */
	struct mca_cert_rec *rec; /* its record, owned */
};

/*
 * What mhd/ carries opaquely for us: r->app is the daemon's server
 * (mca_req_server, daemon/server.h), r->app_req the request's identity
 * (allocated zeroed by httpd.c's begin hook for every request, freed by
 * its end hook).  Handlers reach them only through these two.
 */
static inline struct mca_identity *
mca_req_id(const struct mca_req *r)
{
	return r->app_req;
}

/* The route table (routes.c), ending with a NULL path. */
extern const struct mca_route mca_routes[];

/*
 * Establish mca_req_id(r) from the TLS session (HTTPS only): verify the client
 * certificate against the root with OpenSSL, then look its serial up: it
 * must be recorded with the same DER, unexpired and not revoked.
 */
void mca_http_identify(struct mca_req *r);

/*
 * Reply 401 unless the request carries a valid client certificate; 403
 * when `admin_only` and it is not an admin.  Returns 1 when the request
 * may go on (nothing queued).
 */
int mca_http_require_identity(struct mca_req *r, int admin_only, enum mca_http_result *res);

/* Map a library error of an issuance under `profile` to its API reply. */
enum mca_http_result mca_reply_issue_error(struct mca_req *r, const struct mca_error *err,
                                           const char *profile);

/*
 * /v1/sign and /v1/renew after their decision: suspend `r` (mca_req_defer
 * with `resumed`, `pending`, `pending_free`: `pending` is the request's
 * from here on) and hand the issuance to the issuing stage `q`
 * (ca/signq.h), whose `done` resumes `r` once the certificate is durable
 * or failed.  When nothing could be queued, *rc and *err say why and `r`
 * is resumed at once, for `resumed` to reply with the error.
 */
enum mca_http_result mca_issue_deferred(struct mca_req *r, struct mca_signq *q,
                                        struct mca_issuer *is, const struct mca_issue_req *req,
                                        const struct mca_decision *d, struct mca_issued *iss,
                                        mca_committer_done_fn done, mca_http_handler resumed,
                                        void *pending, void (*pending_free)(void *), mca_rc *rc,
                                        struct mca_error *err);

/* The 201 body of /v1/sign and /v1/renew for an issued certificate. */
enum mca_http_result mca_reply_issued(struct mca_req *r, const struct mca_issued *iss,
                                      const char *profile);

/* Listening daemons of mtlscad (httpd.c, over mhd/httpd.h). */
struct mca_httpd;

/*
 * Bind both listeners of srv->conf (errors name the address), without
 * accepting yet.  Ports 0 are replaced by the bound ports in srv->conf.
 * `srv` must outlive the result.
 */
mca_rc mca_httpd_bind(struct mca_server *srv, struct mca_httpd **out, struct mca_error *err);

/*
 * Start serving on the bound sockets (worker threads start here).  Call
 * once: it wipes srv's TLS key PEM after the HTTPS listener took it.
 */
mca_rc mca_httpd_start(struct mca_httpd *h, struct mca_error *err);

/*
 * Stop accepting new connections, let requests in flight finish (at most
 * `grace_s` seconds), then stop the worker threads.
 */
void mca_httpd_drain(struct mca_httpd *h, unsigned grace_s);

void mca_httpd_free(struct mca_httpd *h);

/* Endpoints (one file each). */
enum mca_http_result mca_ep_health(struct mca_req *r);
enum mca_http_result mca_ep_ca(struct mca_req *r);
enum mca_http_result mca_ep_root_pem(struct mca_req *r);
enum mca_http_result mca_ep_chain_pem(struct mca_req *r);
enum mca_http_result mca_ep_ca_der(struct mca_req *r);
enum mca_http_result mca_ep_sign(struct mca_req *r);
enum mca_http_result mca_ep_renew(struct mca_req *r);
enum mca_http_result mca_ep_revoke(struct mca_req *r);
enum mca_http_result mca_ep_cert_get(struct mca_req *r);
enum mca_http_result mca_ep_cert_list(struct mca_req *r);
enum mca_http_result mca_ep_tokens(struct mca_req *r);
enum mca_http_result mca_ep_metrics(struct mca_req *r);
enum mca_http_result mca_ep_ocsp_post(struct mca_req *r);
enum mca_http_result mca_ep_ocsp_get(struct mca_req *r);
enum mca_http_result mca_ep_crl(struct mca_req *r);
enum mca_http_result mca_ep_crl_pem(struct mca_req *r);
enum mca_http_result mca_ep_crl_shard(struct mca_req *r);
enum mca_http_result mca_ep_root_crl(struct mca_req *r);
enum mca_http_result mca_ep_root_crl_pem(struct mca_req *r);

#endif
