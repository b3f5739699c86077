/*
 * dispatch.c - one request from its first access-handler call to its
 * completion: context, begin hook, route lookup, body capping, JSON
 * parsing, the handler, the access log, the end hook.  The context is
 * freed in the completion callback and nowhere else.
 */
#include "config.h"

#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <openssl/crypto.h>

#include "common/jsonx.h"
#include "common/log.h"
#include "mhd/httpd_int.h"

int64_t
mca_mhd_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int
route_matches(const struct mca_route *rt, const char *path, const char **arg)
{
	size_t n = strlen(rt->path);

	if (rt->flags & MCA_ROUTE_PREFIX) {
		if (strncmp(path, rt->path, n) != 0 || path[n] == '\0')
			return 0;
		*arg = path + n;
		return 1;
	}
	*arg = NULL;
	return strcmp(path, rt->path) == 0;
}

const struct mca_route *
mca_mhd_route_find(const struct mca_route *routes, enum mca_listener l, const char *path,
                   const char *method, const char **arg, char *allow, size_t allow_len)
{
	const struct mca_route *rt;
	const char *a;
	int is_head = strcmp(method, "HEAD") == 0;

	allow[0] = '\0';
	*arg = NULL;
	for (rt = routes; rt->path != NULL; rt++) {
		if (l == MCA_LISTENER_HTTP && !(rt->flags & MCA_ROUTE_PUBLIC))
			continue;
		if (!route_matches(rt, path, &a))
			continue;
		if (strcmp(rt->method, method) == 0 ||
		    (is_head && strcmp(rt->method, "GET") == 0)) {
			*arg = a;
			return rt;
		}
		if (strstr(allow, rt->method) == NULL)
			snprintf(allow + strlen(allow), allow_len - strlen(allow), "%s%s",
			         allow[0] ? ", " : "", rt->method);
	}
	return NULL;
}

/* Whether the request's Content-Type is application/json (parameters allowed). */
static int
is_json(struct MHD_Connection *c)
{
	const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
	size_t n = strlen("application/json");

	return ct != NULL && strncasecmp(ct, "application/json", n) == 0 &&
	       (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static void
client_address(struct MHD_Connection *c, char *buf, size_t len)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	snprintf(buf, len, "-");
	if (sa == NULL)
		return;
	getnameinfo(sa,
	            sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
	                                      : sizeof(struct sockaddr_in),
	            buf, (socklen_t)len, NULL, 0, NI_NUMERICHOST);
}

/* First call of a request, after the begin hook: route, header checks. */
static enum mca_http_result
req_begin(struct mca_mhd_listener *l, struct mca_req *r, const char *method)
{
	char allow[64];
	const char *cl;
	char *end = NULL;
	unsigned long long declared;

	r->route = mca_mhd_route_find(l->h->cfg.routes, l->kind, r->path, method, &r->path_arg,
	                              allow, sizeof(allow));
	if (r->route == NULL) {
		if (allow[0] != '\0')
			return mca_reply_405(r, allow, method, r->path, allow);
		return mca_reply_error(r, 404, "not_found", "no such resource: %.200s", r->path);
	}
	if (!(r->route->flags & (MCA_ROUTE_BODY | MCA_ROUTE_RAW)))
		return MCA_HTTP_QUEUED; /* nothing to check until the final call */
	cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Length");
	if (r->route->flags & MCA_ROUTE_RAW)
		goto length; /* the handler checks the type itself */
	if ((r->route->flags & MCA_ROUTE_BODY_OPT) && (cl == NULL || strcmp(cl, "0") == 0) &&
	    MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Transfer-Encoding") == NULL)
		return MCA_HTTP_QUEUED; /* no body: {} */
	if (!is_json(r->conn))
		return mca_reply_error(r, 415, "unsupported_media_type",
		                       "Content-Type must be application/json");
length:
	if (cl != NULL) {
		declared = strtoull(cl, &end, 10);
		/*
		 * Too large: nothing will be buffered.  Up to MCA_HTTP_DISCARD_MAX
		 * the body is read and dropped so the 413 reaches the client (a
		 * reply while it still sends would be lost to a TCP reset);
		 * beyond that, answer at once and close.
		 */
		if (end == cl || declared > MCA_HTTP_DISCARD_MAX)
			return mca_reply_error(r, 413, "payload_too_large",
			                       "request body larger than %u bytes",
			                       MCA_HTTP_BODY_MAX);
		if (declared > MCA_HTTP_BODY_MAX)
			r->body_too_large = 1;
	}
	return MCA_HTTP_QUEUED;
}

/* Final call: parse the JSON body, then run the handler. */
static enum mca_http_result
req_finish(struct mca_req *r)
{
	struct mca_error err = {0};

	if (r->body_too_large)
		return mca_reply_error(r, 413, "payload_too_large",
		                       "request body larger than %u bytes", MCA_HTTP_BODY_MAX);
	if (r->route->flags & MCA_ROUTE_BODY) {
		if (r->body_len == 0 && (r->route->flags & MCA_ROUTE_BODY_OPT))
			r->json = json_object();
		else if (mca_json_parse_object(r->body ? r->body : "", r->body_len, &r->json,
		                               "request body", &err) != MCA_OK)
			return mca_reply_error(r, 400, "bad_request", "%s", err.msg);
	}
	return r->route->handler(r);
}

/* The one place handler results become MHD return values. */
static enum MHD_Result
to_mhd(enum mca_http_result res)
{
	return res == MCA_HTTP_QUEUED ? MHD_YES : MHD_NO;
}

static void
req_free(struct mca_req *r)
{
	if (r == NULL)
		return;
	free(r->path);
	if (r->body != NULL) {
		/* Bodies carry CSRs and tokens: do not leave them in freed memory. */
		OPENSSL_cleanse(r->body, r->body_len);
		free(r->body);
	}
	json_decref(r->json);
	if (r->defer_free != NULL)
		r->defer_free(r->defer_state);
	free(r);
}

/* The first call: a new context, the begin hook, the route. */
static enum MHD_Result
req_new(struct mca_mhd_listener *l, struct MHD_Connection *c, const char *url, const char *method,
        void **con_cls)
{
	const struct mca_mhd_config *cfg = &l->h->cfg;
	struct mca_req *r;

	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return MHD_NO;
	*con_cls = r; /* from here on the completion callback frees it */
	r->app = cfg->app;
	r->mhd = l->h;
	r->conn = c;
	r->listener = l->kind;
	r->method = method;
	r->start_ns = mca_mhd_now_ns();
	snprintf(r->identity, sizeof(r->identity), "-");
	client_address(c, r->client, sizeof(r->client));
	r->path = strdup(url);
	if (r->path == NULL)
		return MHD_NO;
	if (cfg->hooks.begin != NULL) {
		if (cfg->hooks.begin(r) != MCA_HTTP_QUEUED)
			return MHD_NO;
		if (r->status != 0)
			return MHD_YES; /* the hook answered */
	}
	return to_mhd(req_begin(l, r, method));
}

/* More of the body: buffer it up to the cap, then count and drop it. */
static enum MHD_Result
req_upload(struct mca_req *r, const char *data, size_t n)
{
	char *nb;

	if (!(r->route->flags & (MCA_ROUTE_BODY | MCA_ROUTE_RAW)))
		return MHD_YES; /* bodies on GET are ignored, but still bounded by MHD */
	if (!r->body_too_large && n > MCA_HTTP_BODY_MAX - r->body_len) {
		/* Past the cap: drop what we have and count from here on. */
		r->body_too_large = 1;
		r->discarded = r->body_len;
		if (r->body != NULL)
			OPENSSL_cleanse(r->body, r->body_len);
		free(r->body);
		r->body = NULL;
		r->body_len = 0;
	}
	if (r->body_too_large) {
		r->discarded += n;
		/* libmicrohttpd cannot queue a reply mid-upload: close instead. */
		return r->discarded > MCA_HTTP_DISCARD_MAX ? MHD_NO : MHD_YES;
	}
	nb = realloc(r->body, r->body_len + n + 1);
	if (nb == NULL)
		return MHD_NO; /* cannot reply mid-upload; the client sees a reset */
	r->body = nb;
	memcpy(r->body + r->body_len, data, n);
	r->body_len += n;
	r->body[r->body_len] = '\0';
	return MHD_YES;
}

enum mca_http_result
mca_req_defer(struct mca_req *r, mca_http_handler fn, void *state, void (*state_free)(void *))
{
	r->defer_fn = fn;
	r->defer_state = state;
	r->defer_free = state_free;
	r->deferred = 1;
	/* Counted before the suspend: drain must not stop the daemon under it. */
	__atomic_add_fetch(&r->mhd->deferred, 1, __ATOMIC_SEQ_CST);
	MHD_suspend_connection(r->conn);
	return MCA_HTTP_QUEUED;
}

void
mca_req_resume(struct mca_req *r)
{
	/* Published before the wake-up: the MHD thread reads it when called again. */
	__atomic_store_n(&r->resumed, 1, __ATOMIC_RELEASE);
	MHD_resume_connection(r->conn);
}

/*
 * The access handler's call after a resume: the deferred reply.  Once it
 * is queued, further calls (none are expected) find defer_fn cleared.
 */
static enum MHD_Result
req_resumed(struct mca_req *r)
{
	mca_http_handler fn = r->defer_fn;

	if (!__atomic_load_n(&r->resumed, __ATOMIC_ACQUIRE) || fn == NULL || r->status != 0)
		return MHD_YES; /* not resumed yet, or answered */
	r->defer_fn = NULL;
	return to_mhd(fn(r));
}

enum MHD_Result
mca_mhd_access_cb(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                  const char *version, const char *upload_data, size_t *upload_data_size,
                  void **con_cls)
{
	struct mca_req *r = *con_cls;
	size_t n = *upload_data_size;

	(void)version;
	if (r == NULL)
		return req_new(cls, c, url, method, con_cls);
	if (n == 0)
		mca_mhd_conn_received(cls, c); /* the request is in: its deadline is met */
	if (r->deferred)
		return req_resumed(r);
	if (r->status != 0) {
		/* Already answered (an early error): drop whatever still arrives. */
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (n > 0) {
		*upload_data_size = 0;
		return req_upload(r, upload_data, n);
	}
	return to_mhd(req_finish(r));
}

/* Completion: one access-log line, the end hook, then free the context. */
void
mca_mhd_completed_cb(void *cls, struct MHD_Connection *c, void **con_cls,
                     enum MHD_RequestTerminationCode toe)
{
	struct mca_mhd_listener *l = cls;
	struct mca_req *r = *con_cls;
	double secs;

	mca_mhd_conn_done(l, c); /* the next request's deadline starts */
	if (r == NULL)
		return;
	secs = (double)(mca_mhd_now_ns() - r->start_ns) / 1e9;
	mca_log(MCA_LOG_INFO, "access client=%s id=%s %s %s status=%u ms=%.3f%s", r->client,
	        r->identity, r->method, r->path ? r->path : "-", r->status, secs * 1e3,
	        toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " aborted");
	if (l->h->cfg.hooks.end != NULL)
		l->h->cfg.hooks.end(r, r->status, secs);
	if (r->deferred)
		__atomic_sub_fetch(&l->h->deferred, 1, __ATOMIC_SEQ_CST);
	req_free(r);
	*con_cls = NULL;
}
