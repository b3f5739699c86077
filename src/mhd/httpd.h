/*
 * httpd.h - the listeners and the dispatch of the HTTP glue: bind the
 * sockets, run libmicrohttpd (TLS 1.2/1.3 on the HTTPS listener), look
 * each request up in a static route table (404, 405 with Allow, HEAD on
 * GET routes), cap bodies as they arrive, parse JSON bodies once, call the
 * handler, write one access-log line per request, drain on shutdown.
 *
 * It knows nothing of the application: that hands over a route table,
 * addresses, TLS material and limits (struct mca_mhd_config), two hooks
 * and an opaque pointer that every request carries as r->app.
 *
 * Request lifecycle, for one request on one MHD thread:
 *   first call:  context allocated, r->client and r->path set, begin hook,
 *                route lookup and header checks (404/405/415/413 here);
 *   body calls:  at most MCA_HTTP_BODY_MAX buffered; past it the body is
 *                read and dropped up to MCA_HTTP_DISCARD_MAX, then the
 *                connection is closed (MHD cannot reply mid-upload);
 *   final call:  413 when too large, else the JSON body is parsed
 *                (JSON_REJECT_DUPLICATES, 400 naming the problem), then
 *                the route's handler;
 *   completion:  access-log line, end hook, context freed - here only.
 *
 * Thread-safety: bind/start/drain/free from one thread (the main one);
 * hooks and handlers run on MHD worker threads, concurrently for
 * different requests, and must be thread-safe with respect to r->app.
 */
#ifndef MCA_MHD_HTTPD_H
#define MCA_MHD_HTTPD_H

#include <stddef.h>

#include "common/err.h"
#include "mhd/mhd.h"

/* One listening address. */
struct mca_mhd_listen {
	const char *name; /* for error messages, e.g. the config key "listen" */
	const char *host; /* numeric or resolvable; NULL: this listener is not used */
	unsigned port;    /* 0: any free port (see mca_mhd_port) */
};

struct mca_mhd_hooks {
	/*
	 * First call of every request, after r->app, r->conn, r->listener,
	 * r->method, r->path, r->client are set and before the route lookup.
	 * May set r->app_req and r->identity, and may queue a reply (then no
	 * route lookup and no handler).  MCA_HTTP_FAIL closes the connection.
	 * NULL: nothing to do.
	 */
	enum mca_http_result (*begin)(struct mca_req *r);
	/*
	 * Exactly once per request context, from the completion callback
	 * after the access-log line, whether or not begin ran: `status` is the
	 * queued reply's (0 when none), `secs` the time since the first call.
	 * Must release r->app_req.  NULL: nothing to do.
	 */
	void (*end)(struct mca_req *r, unsigned status, double secs);
};

struct mca_mhd_config {
	const struct mca_route *routes; /* ends with a NULL path; borrowed */
	struct mca_mhd_listen https;    /* serves every route */
	struct mca_mhd_listen http;     /* plain HTTP: MCA_ROUTE_PUBLIC routes only */
	/* HTTPS listener, PEM text, borrowed until mca_mhd_free: */
	const char *cert_pem;            /* server certificate and its chain */
	const char *key_pem;             /* its private key, unencrypted */
	const char *trust_pem;           /* CAs whose client certificates are requested */
	unsigned threads;                /* per listener; 0: one per CPU, at most 64 */
	unsigned max_connections;        /* per listener; lowered to fit RLIMIT_NOFILE */
	unsigned max_connections_per_ip; /* 0: no per-address limit */
	unsigned connection_timeout;     /* seconds idle before a connection is closed */
	/*
	 * Seconds a client has to deliver a request (header and body): from
	 * the accept (TLS handshake included) for the first one, from the
	 * request line for later ones on a kept-alive connection, which must
	 * send that line within connection_timeout of the previous reply.
	 * Past it the connection is closed.  0: no deadline.
	 */
	unsigned request_timeout;
	size_t header_memory; /* per connection; 0: MCA_HTTP_HEADER_MAX */
	struct mca_mhd_hooks hooks;
	void *app; /* given to every request as r->app */
};

/* Listeners and their daemons. */
struct mca_mhd;

/*
 * Bind and listen on the configured addresses (errors name the address),
 * without accepting yet.  `cfg` is copied; what it points to is borrowed.
 */
mca_rc mca_mhd_bind(const struct mca_mhd_config *cfg, struct mca_mhd **out, struct mca_error *err);

/* The bound port of a listener (the real one for port 0); 0 when unused. */
unsigned mca_mhd_port(const struct mca_mhd *h, enum mca_listener l);

/* Start serving on the bound sockets (worker threads start here). */
mca_rc mca_mhd_start(struct mca_mhd *h, struct mca_error *err);

/*
 * Stop accepting new connections, let requests in flight finish (at most
 * `grace_s` seconds), then stop the worker threads.
 */
void mca_mhd_drain(struct mca_mhd *h, unsigned grace_s);

/* Drain without grace if still serving, close the sockets, free.  NULL is fine. */
void mca_mhd_free(struct mca_mhd *h);

/*
 * The route for (path, method) on listener `l` in `routes`, HEAD matching
 * GET routes; *arg is the rest of the path for a prefix route, else NULL.
 * Returns NULL with `allow` holding the path's other methods
 * ("GET, DELETE") when it exists for them, or empty when it does not
 * exist on this listener at all.
 */
const struct mca_route *mca_mhd_route_find(const struct mca_route *routes, enum mca_listener l,
                                           const char *path, const char *method, const char **arg,
                                           char *allow, size_t allow_len);

#endif
