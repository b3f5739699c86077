/*
 * mhd.h - the HTTP glue on libmicrohttpd that every endpoint uses: the
 * per-request context, route table entries, body limits and the reply
 * helpers.  It knows nothing of the CA: `app` and `app_req` are the
 * application's, carried for its handlers and never looked into here
 * (the application reads them through its own typed accessors).  The
 * listeners and the dispatch are mhd/httpd.h's.
 *
 * A request context is allocated on the first access-handler call and
 * freed only in the completion callback.  Bodies are capped while they
 * arrive (MCA_HTTP_BODY_MAX, then 413 without buffering).  JSON bodies are
 * parsed once, on the final call, rejecting duplicate keys; handlers then
 * unpack them strictly with mca_json_unpack() (common/jsonx.h).
 *
 * Thread-safety: a request is handled by one MHD thread at a time; the
 * reply helpers touch only their request.
 */
#ifndef MCA_MHD_H
#define MCA_MHD_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <microhttpd.h>

#include "common/err.h"

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
struct mca_mhd;

typedef enum mca_http_result (*mca_http_handler)(struct mca_req *r);

/* Route flags. */
#define MCA_ROUTE_PUBLIC   0x1  /* also served on the plain HTTP listener */
#define MCA_ROUTE_BODY     0x2  /* takes a JSON body (Content-Type checked, parsed) */
#define MCA_ROUTE_PREFIX   0x4  /* `path` is a prefix; the rest is r->path_arg */
#define MCA_ROUTE_BODY_OPT 0x8  /* with BODY: an empty body counts as {} */
#define MCA_ROUTE_RAW      0x10 /* collect the body (capped), no type check, no parsing */

struct mca_route {
	const char *path;
	const char *method;
	mca_http_handler handler;
	unsigned flags;
};

/* One request; owned by the HTTP layer. */
struct mca_req {
	void *app;     /* the application's, from its config (struct mca_mhd_config) */
	void *app_req; /* the application's per request: set by its begin hook,
	                  released by its end hook; NULL until then */
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
	/* mca_req_defer's, the HTTP layer's own: */
	struct mca_mhd *mhd;
	mca_http_handler defer_fn; /* runs once resumed; NULL when not deferred or done */
	void *defer_state;         /* the handler's, freed with defer_free at completion */
	void (*defer_free)(void *state);
	int deferred; /* the connection was suspended for this request */
	int resumed;  /* mca_req_resume ran (atomic: set on another thread) */
};

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
 * Queue the error model of doc/api.md: {"error": code, "message": text}.
 * A 5xx message is logged, and the client gets only "internal error".
 */
enum mca_http_result mca_reply_error(struct mca_req *r, unsigned status, const char *code,
                                     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * 405 with an Allow header: `allow` is the header value, the rest a
 * printf-style message.
 */
enum mca_http_result mca_reply_405(struct mca_req *r, const char *allow, ...);

/*
 * ---- deferred replies ----
 *
 * A handler whose reply waits on another thread (a group commit) defers
 * it rather than block its MHD thread: it calls mca_req_defer and returns
 * what that returns, and arranges that mca_req_resume(r) is called exactly
 * once, from any thread, when the reply can be made.  Meanwhile the
 * connection is suspended (MHD_suspend_connection): no thread waits for it,
 * no timeout runs.  Once resumed, `fn(r)` is called on the connection's
 * MHD thread, like a handler, and queues the reply with one of the
 * helpers above.  `state` (may be NULL) is the handler's, reachable as
 * r->defer_state; `state_free` (may be NULL) frees it in the completion
 * callback, with the rest of the request context, and is never called
 * before `fn`'s reply is done with (nor before the resume).
 *
 * mca_req_resume may run before the handler has returned (the work was
 * fast); that is fine.  Until it runs the request holds up draining:
 * mca_mhd_drain waits for every deferred request (libmicrohttpd cannot
 * stop with a suspended connection), so the resume must come.
 * Thread-safety: mca_req_defer on the request's MHD thread, once per
 * request; mca_req_resume from any thread, once.
 */
enum mca_http_result mca_req_defer(struct mca_req *r, mca_http_handler fn, void *state,
                                   void (*state_free)(void *state));

void mca_req_resume(struct mca_req *r);

#endif
