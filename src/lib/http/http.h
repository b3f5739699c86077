/*
 * http.h - mtlscad's HTTP layer on libmicrohttpd: listeners, the route
 * table, the per-request context and the reply helpers every endpoint
 * uses.
 *
 * A request context is allocated on the first access-handler call and
 * freed only in the completion callback.  Bodies are capped while they
 * arrive (MCA_HTTP_BODY_MAX, then 413 without buffering).  JSON bodies are parsed once,
 * on the final call, rejecting duplicate keys; handlers then unpack them
 * strictly with mca_json_unpack() (jsonx.h).
 */
#ifndef MCA_HTTP_H
#define MCA_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <microhttpd.h>

#include "err.h"
#include "issue.h"
#include "server.h"
#include "store.h"

#define MCA_HTTP_BODY_MAX (64u * 1024u)
/* Larger bodies are read and dropped (never buffered) up to this, then 413. */
#define MCA_HTTP_DISCARD_MAX (2u * 1024u * 1024u)
#define MCA_HTTP_HEADER_MAX  (32u * 1024u) /* per-connection memory: headers + buffers */

/* What a handler did; mapped to MHD return values in exactly one place. */
enum mca_http_result {
	MCA_HTTP_QUEUED, /* a reply was queued (success or error reply) */
	MCA_HTTP_FAIL,   /* nothing could be queued: close the connection */
};

/* Which listener a request came in on. */
enum mca_listener {
	MCA_LISTENER_HTTPS,
	MCA_LISTENER_HTTP,
};

struct mca_req;

typedef enum mca_http_result (*mca_http_handler)(struct mca_req *r);

/* Route flags. */
#define MCA_ROUTE_PUBLIC   0x1  /* also served on the plain HTTP listener */
#define MCA_ROUTE_BODY     0x2  /* takes a JSON body (Content-Type checked, parsed) */
#define MCA_ROUTE_PREFIX   0x4  /* `path` is a prefix; the rest is r->path_arg */
#define MCA_ROUTE_BODY_OPT 0x8  /* with BODY: an empty body counts as {} */
#define MCA_ROUTE_RAW      0x10 /* collect the body (capped), no type check, no parsing */

/* Who is calling, from the TLS client certificate. */
struct mca_identity {
	int presented;            /* a client certificate came with the handshake */
	int valid;                /* it verifies, is ours, unexpired, not revoked */
	int admin;                /* its profile is one of admin_profiles */
	X509 *cert;               /* owned */
	struct mca_cert_rec *rec; /* its record, owned */
};

struct mca_route {
	const char *path;
	const char *method;
	mca_http_handler handler;
	unsigned flags;
};

/* The route table (routes.c), ending with a NULL path. */
extern const struct mca_route mca_routes[];

/* One request; owned by the HTTP layer. */
struct mca_req {
	struct mca_server *srv;
	struct MHD_Connection *conn;
	enum mca_listener listener;
	const struct mca_route *route;
	const char *method;   /* borrowed from MHD, valid for the request */
	char *path;           /* copy of the URL path */
	const char *path_arg; /* MCA_ROUTE_PREFIX: the part after the prefix */
	char *body;
	size_t body_len;
	int body_too_large;
	size_t discarded; /* bytes dropped after the cap */
	json_t *json;     /* parsed body (MCA_ROUTE_BODY), owned */
	unsigned status;  /* status of the queued reply, for the access log */
	int64_t start_ns;
	char client[64];   /* client address */
	char identity[96]; /* authenticated identity for the log, "-" when none */
	struct mca_identity id;
};

/*
 * Establish r->id from the TLS session (HTTPS only): verify the client
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

/* The 201 body of /v1/sign and /v1/renew for an issued certificate. */
enum mca_http_result mca_reply_issued(struct mca_req *r, const struct mca_issued *iss,
                                      const char *profile);

/* Listening daemons of mtlscad. */
struct mca_httpd;

/*
 * Bind both listeners (errors name the address), without accepting yet.
 * Ports 0 are replaced by the bound ports in srv->conf.
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

/* ---- reply helpers (handlers call exactly one, once) ---- */

/* Queue a prepared response (consumed; the common headers are added). */
enum mca_http_result mca_reply_response(struct mca_req *r, unsigned status,
                                        struct MHD_Response *resp);

/* Queue `body` (copied) with `content_type`. */
enum mca_http_result mca_reply_bytes(struct mca_req *r, unsigned status, const char *content_type,
                                     const void *body, size_t len);

/* Queue a JSON document; takes ownership of `j` (NULL means 500). */
enum mca_http_result mca_reply_json(struct mca_req *r, unsigned status, json_t *j);

/*
 * Queue the error model of api.md: {"error": code, "message": text}.
 * A 5xx message is logged, and the client gets only "internal error".
 */
enum mca_http_result mca_reply_error(struct mca_req *r, unsigned status, const char *code,
                                     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

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
enum mca_http_result mca_ep_crl(struct mca_req *r);
enum mca_http_result mca_ep_crl_pem(struct mca_req *r);
enum mca_http_result mca_ep_root_crl(struct mca_req *r);
enum mca_http_result mca_ep_root_crl_pem(struct mca_req *r);
enum mca_http_result mca_ep_acme(struct mca_req *r);

#endif
