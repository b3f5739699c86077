/* http.c - libmicrohttpd glue: listeners, dispatch, body capping, replies, access log. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "api/http.h"
#include <openssl/crypto.h>

#include "common/jsonx.h"
#include "common/log.h"

/* One listening daemon (HTTPS API or plain HTTP). */
struct listener {
	struct mca_httpd *h;
	enum mca_listener kind;
	int fd;
	struct MHD_Daemon *d;
};

struct mca_httpd {
	struct mca_server *srv;
	struct listener https, http;
};

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- listeners ---------------------------------------------------------- */

/* Bind and listen on `hp`; on success hp->port holds the bound port. */
static mca_rc
bind_listener(struct mca_hostport *hp, const char *field, int *out, struct mca_error *err)
{
	struct addrinfo hints, *res = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char port[8];
	int fd = -1, one = 1, gai;
	mca_rc rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%u", hp->port);
	gai = getaddrinfo(hp->host, port, &hints, &res);
	if (gai != 0)
		return mca_error_set(err, MCA_ERR_CONFIG, "%s %s:%u: %s", field, hp->host, hp->port,
		                     gai_strerror(gai));
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = mca_error_set(err, MCA_ERR_IO, "%s: socket: %s", field, strerror(errno));
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (res->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 128) != 0) {
		rc = mca_error_set(err, MCA_ERR_CONFIG, "%s %s:%u: %s", field, hp->host, hp->port,
		                   strerror(errno));
		goto out;
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		hp->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
		                                          : ((struct sockaddr_in *)&ss)->sin_port);
	*out = fd;
	fd = -1;
	rc = MCA_OK;
out:
	if (fd >= 0)
		close(fd);
	freeaddrinfo(res);
	return rc;
}

mca_rc
mca_httpd_bind(struct mca_server *srv, struct mca_httpd **out, struct mca_error *err)
{
	struct mca_httpd *h;
	mca_rc rc;

	*out = NULL;
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	h->srv = srv;
	h->https.h = h->http.h = h;
	h->https.kind = MCA_LISTENER_HTTPS;
	h->http.kind = MCA_LISTENER_HTTP;
	h->https.fd = h->http.fd = -1;
	if ((rc = bind_listener(&srv->conf->listen, "listen", &h->https.fd, err)) != MCA_OK ||
	    (rc = bind_listener(&srv->conf->http_listen, "http_listen", &h->http.fd, err)) !=
	        MCA_OK) {
		mca_httpd_free(h);
		return rc;
	}
	*out = h;
	return MCA_OK;
}

/* ---- dispatch ----------------------------------------------------------- */

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

/*
 * Find the route for (path, method) on this listener.  Returns NULL with
 * `allow` filled (comma list) when the path exists for other methods, or
 * with allow empty when it does not exist here at all.
 */
static const struct mca_route *
route_find(enum mca_listener l, const char *path, const char *method, const char **arg, char *allow,
           size_t allow_len)
{
	const struct mca_route *rt;
	const char *a;
	int is_head = strcmp(method, "HEAD") == 0;

	allow[0] = '\0';
	for (rt = mca_routes; rt->path != NULL; rt++) {
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

/* First call of a request: context, route, header checks. */
static enum mca_http_result
req_begin(struct listener *l, struct mca_req *r, const char *url, const char *method)
{
	char allow[64];
	const char *cl;
	char *end = NULL;
	unsigned long long declared;

	r->route = route_find(l->kind, r->path, method, &r->path_arg, allow, sizeof(allow));
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
	X509_free(r->id.cert);
	mca_cert_rec_free(r->id.rec);
	free(r);
}

static enum MHD_Result
access_cb(void *cls, struct MHD_Connection *c, const char *url, const char *method,
          const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct listener *l = cls;
	struct mca_req *r = *con_cls;
	size_t n = *upload_data_size;
	char *nb;

	if (r == NULL) {
		r = calloc(1, sizeof(*r));
		if (r == NULL)
			return MHD_NO;
		*con_cls = r;
		r->srv = l->h->srv;
		r->conn = c;
		r->listener = l->kind;
		r->method = method;
		r->start_ns = now_ns();
		snprintf(r->identity, sizeof(r->identity), "-");
		client_address(c, r->client, sizeof(r->client));
		r->path = strdup(url);
		if (r->path == NULL)
			return MHD_NO;
		mca_http_identify(r);
		return to_mhd(req_begin(l, r, url, method));
	}
	if (r->status != 0) {
		/* Already answered (an early error): drop whatever still arrives. */
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (n > 0) {
		*upload_data_size = 0;
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
		memcpy(r->body + r->body_len, upload_data, n);
		r->body_len += n;
		r->body[r->body_len] = '\0';
		return MHD_YES;
	}
	return to_mhd(req_finish(r));
}

/* Completion: one access-log line, then free the context. */
static void
completed_cb(void *cls, struct MHD_Connection *c, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
	struct mca_req *r = *con_cls;
	double secs;

	if (r == NULL)
		return;
	secs = (double)(now_ns() - r->start_ns) / 1e9;
	mca_log(MCA_LOG_INFO, "access client=%s id=%s %s %s status=%u ms=%.3f%s", r->client,
	        r->identity, r->method, r->path ? r->path : "-", r->status, secs * 1e3,
	        toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " aborted");
	mca_metrics_request(r->srv->metrics, secs, r->status);
	req_free(r);
	*con_cls = NULL;
}

static void
mhd_logger(void *cls, const char *fmt, va_list ap)
{
	char buf[512];
	size_t n;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	/* MHD reports client misbehaviour (bad TLS, resets) here: not our bug. */
	mca_log(MCA_LOG_NOTICE, "libmicrohttpd: %s", buf);
}

static unsigned
worker_threads(const struct mca_conf *conf)
{
	long n;

	if (conf->threads > 0)
		return conf->threads;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 64 ? 64 : (unsigned)n;
}

static mca_rc
start_listener(struct listener *l, struct mca_error *err)
{
	struct mca_server *srv = l->h->srv;
	const struct mca_conf *conf = srv->conf;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;
	/* TLS 1.2 and 1.3 only, GnuTLS priority syntax. */
	static const char priorities[] = "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2";

	if (MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES)
		flags |= MHD_USE_EPOLL;
	else
		flags |= MHD_USE_POLL;
	if (l->kind == MCA_LISTENER_HTTPS) {
		flags |= MHD_USE_TLS;
		l->d = MHD_start_daemon(
		    flags, 0, NULL, NULL, access_cb, l, MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, l,
		    MHD_OPTION_LISTEN_SOCKET, l->fd, MHD_OPTION_THREAD_POOL_SIZE,
		    worker_threads(conf), MHD_OPTION_CONNECTION_LIMIT, conf->max_connections,
		    MHD_OPTION_PER_IP_CONNECTION_LIMIT, conf->max_connections_per_ip,
		    MHD_OPTION_CONNECTION_TIMEOUT, conf->connection_timeout,
		    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)MCA_HTTP_HEADER_MAX,
		    MHD_OPTION_NOTIFY_COMPLETED, completed_cb, l, MHD_OPTION_HTTPS_MEM_CERT,
		    srv->server_cert_pem, MHD_OPTION_HTTPS_MEM_KEY, srv->server_key_pem,
		    MHD_OPTION_HTTPS_MEM_TRUST, srv->chain_pem, MHD_OPTION_HTTPS_PRIORITIES,
		    priorities, MHD_OPTION_END);
	} else {
		l->d = MHD_start_daemon(
		    flags, 0, NULL, NULL, access_cb, l, MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, l,
		    MHD_OPTION_LISTEN_SOCKET, l->fd, MHD_OPTION_THREAD_POOL_SIZE,
		    worker_threads(conf), MHD_OPTION_CONNECTION_LIMIT, conf->max_connections,
		    MHD_OPTION_PER_IP_CONNECTION_LIMIT, conf->max_connections_per_ip,
		    MHD_OPTION_CONNECTION_TIMEOUT, conf->connection_timeout,
		    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)MCA_HTTP_HEADER_MAX,
		    MHD_OPTION_NOTIFY_COMPLETED, completed_cb, l, MHD_OPTION_END);
	}
	if (l->d == NULL)
		return mca_error_set(err, MCA_ERR_CONFIG, "%s: cannot start the %s listener",
		                     conf->path, l->kind == MCA_LISTENER_HTTPS ? "HTTPS" : "HTTP");
	l->fd = -1; /* owned by MHD now */
	return MCA_OK;
}

mca_rc
mca_httpd_start(struct mca_httpd *h, struct mca_error *err)
{
	mca_rc rc;

	if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
		return mca_error_set(err, MCA_ERR_CONFIG, "libmicrohttpd was built without TLS");
	rc = start_listener(&h->https, err);
	/* GnuTLS holds the parsed key now: our PEM copy is not needed any more. */
	mca_server_wipe_tls_key(h->srv);
	if (rc != MCA_OK || (rc = start_listener(&h->http, err)) != MCA_OK)
		return rc;
	return MCA_OK;
}

static unsigned
connections(struct listener *l)
{
	const union MHD_DaemonInfo *di;

	if (l->d == NULL)
		return 0;
	di = MHD_get_daemon_info(l->d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
	return di ? di->num_connections : 0;
}

void
mca_httpd_drain(struct mca_httpd *h, unsigned grace_s)
{
	struct listener *ls[2] = {&h->https, &h->http};
	int64_t deadline = now_ns() + (int64_t)grace_s * 1000000000;
	MHD_socket fd;
	size_t i;

	for (i = 0; i < 2; i++) {
		if (ls[i]->d == NULL)
			continue;
		fd = MHD_quiesce_daemon(ls[i]->d);
		if (fd != MHD_INVALID_SOCKET)
			close(fd);
	}
	while (connections(&h->https) + connections(&h->http) > 0 && now_ns() < deadline) {
		struct timespec ts = {0, 20 * 1000 * 1000};

		nanosleep(&ts, NULL);
	}
	for (i = 0; i < 2; i++) {
		if (ls[i]->d != NULL)
			MHD_stop_daemon(ls[i]->d);
		ls[i]->d = NULL;
	}
}

void
mca_httpd_free(struct mca_httpd *h)
{
	if (h == NULL)
		return;
	if (h->https.d != NULL || h->http.d != NULL)
		mca_httpd_drain(h, 0);
	if (h->https.fd >= 0)
		close(h->https.fd);
	if (h->http.fd >= 0)
		close(h->http.fd);
	free(h);
}
