/*
 * listen.c - the listening sockets and the libmicrohttpd daemons on them:
 * bind early (so errors name the address and port 0 is resolved before
 * the daemon detaches), start late, drain on shutdown.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "mhd/httpd_int.h"

/*
 * Pending connections the kernel queues per listener (capped by
 * net.core.somaxconn): a burst of clients, a proxy opening its pool, must
 * not overflow it, which costs them a SYN retransmission (a second or more).
 */
#define LISTEN_BACKLOG 1024

/* Descriptors kept for everything but client connections (database, logs, ...). */
#define FD_RESERVE 128

/* MHD log lines per second; more are counted and summarised. */
#define LOG_PER_SECOND 5

/* Bind and listen on `lc`; on success lc->port holds the bound port. */
static mca_rc
bind_listener(struct mca_mhd_listen *lc, int *out, struct mca_error *err)
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
	snprintf(port, sizeof(port), "%u", lc->port);
	gai = getaddrinfo(lc->host, port, &hints, &res);
	if (gai != 0)
		return mca_error_set(err, MCA_ERR_CONFIG, "%s %s:%u: %s", lc->name, lc->host,
		                     lc->port, gai_strerror(gai));
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = mca_error_set(err, MCA_ERR_IO, "%s: socket: %s", lc->name, strerror(errno));
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (res->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, LISTEN_BACKLOG) != 0) {
		rc = mca_error_set(err, MCA_ERR_CONFIG, "%s %s:%u: %s", lc->name, lc->host,
		                   lc->port, strerror(errno));
		goto out;
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		lc->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
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
mca_mhd_bind(const struct mca_mhd_config *cfg, struct mca_mhd **out, struct mca_error *err)
{
	struct mca_mhd *h;
	mca_rc rc = MCA_OK;

	*out = NULL;
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	h->cfg = *cfg;
	h->https.h = h->http.h = h;
	h->https.kind = MCA_LISTENER_HTTPS;
	h->http.kind = MCA_LISTENER_HTTP;
	h->https.fd = h->http.fd = -1;
	rc = mca_mhd_conns_init(&h->conns, err);
	if (rc == MCA_OK) {
		if (pthread_mutex_init(&h->loglimit.lock, NULL) != 0)
			rc = mca_error_set(err, MCA_ERR_NOMEM, "pthread_mutex_init failed");
		else
			h->loglimit.inited = 1;
	}
	if (rc == MCA_OK && h->cfg.https.host != NULL)
		rc = bind_listener(&h->cfg.https, &h->https.fd, err);
	if (rc == MCA_OK && h->cfg.http.host != NULL)
		rc = bind_listener(&h->cfg.http, &h->http.fd, err);
	if (rc != MCA_OK) {
		mca_mhd_free(h);
		return rc;
	}
	*out = h;
	return MCA_OK;
}

unsigned
mca_mhd_port(const struct mca_mhd *h, enum mca_listener l)
{
	const struct mca_mhd_listen *lc = l == MCA_LISTENER_HTTPS ? &h->cfg.https : &h->cfg.http;

	return lc->host != NULL ? lc->port : 0;
}

/*
 * Whether one more MHD line may be logged now: LOG_PER_SECOND a second,
 * the rest counted; the first line of a new second says how many were
 * dropped.  Hostile traffic must not fill the log.
 */
static int
log_allowed(struct mca_mhd_loglimit *ll)
{
	int64_t now = mca_mhd_now_ns();
	unsigned long long dropped = 0;
	int ok;

	pthread_mutex_lock(&ll->lock);
	if (now - ll->window_ns >= 1000000000) {
		ll->window_ns = now;
		ll->in_window = 0;
		dropped = ll->suppressed;
		ll->suppressed = 0;
	}
	ok = ll->in_window < LOG_PER_SECOND;
	if (ok)
		ll->in_window++;
	else
		ll->suppressed++;
	pthread_mutex_unlock(&ll->lock);
	if (dropped > 0)
		mca_log(MCA_LOG_NOTICE, "libmicrohttpd: %llu more messages not logged", dropped);
	return ok;
}

static void
mhd_logger(void *cls, const char *fmt, va_list ap)
{
	struct mca_mhd_listener *l = cls;
	char buf[512];
	size_t n;

	if (!log_allowed(&l->h->loglimit))
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	/*
	 * MHD reports client misbehaviour here, not our bug: resets, bad TLS,
	 * and "received handshake message out of context" for any failed
	 * handshake (a client that closes or is shut down mid-handshake).
	 */
	mca_log(MCA_LOG_NOTICE, "libmicrohttpd: %s", buf);
}

/*
 * The connection limit per listener that fits the open-files limit (both
 * listeners may be full at once), with a warning when it had to be lowered.
 */
static unsigned
fitting_connection_limit(const struct mca_mhd *h)
{
	struct rlimit rl;
	unsigned want = h->cfg.max_connections, listeners;
	unsigned long long avail;

	listeners = (h->https.fd >= 0) + (h->http.fd >= 0);
	if (listeners == 0 || getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return want;
	avail = rl.rlim_cur > FD_RESERVE + listeners ? (rl.rlim_cur - FD_RESERVE) / listeners : 1;
	if ((unsigned long long)want <= avail)
		return want;
	mca_log(MCA_LOG_WARN,
	        "limits.max_connections %u does not fit the open-files limit %llu "
	        "(RLIMIT_NOFILE, ulimit -n): at most %llu connections per listener",
	        want, (unsigned long long)rl.rlim_cur, avail);
	return (unsigned)avail;
}

static unsigned
worker_threads(const struct mca_mhd_config *cfg)
{
	long n;

	if (cfg->threads > 0)
		return cfg->threads;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 64 ? 64 : (unsigned)n;
}

static mca_rc
start_listener(struct mca_mhd_listener *l, unsigned max_conn, struct mca_error *err)
{
	const struct mca_mhd_config *cfg = &l->h->cfg;
	/* Suspend/resume: mca_req_defer (mhd.h). */
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG |
	                 MHD_ALLOW_SUSPEND_RESUME;
	size_t mem = cfg->header_memory ? cfg->header_memory : (size_t)MCA_HTTP_HEADER_MAX;
	/* TLS 1.2 and 1.3 only, GnuTLS priority syntax. */
	static const char priorities[] = "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2";

	if (l->fd < 0)
		return MCA_OK; /* not configured */
	if (MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES)
		flags |= MHD_USE_EPOLL;
	else
		flags |= MHD_USE_POLL;
	if (l->kind == MCA_LISTENER_HTTPS) {
		flags |= MHD_USE_TLS;
		l->d = MHD_start_daemon(
		    flags, 0, NULL, NULL, mca_mhd_access_cb, l, MHD_OPTION_EXTERNAL_LOGGER,
		    mhd_logger, l, MHD_OPTION_LISTEN_SOCKET, l->fd, MHD_OPTION_THREAD_POOL_SIZE,
		    worker_threads(cfg), MHD_OPTION_CONNECTION_LIMIT, max_conn,
		    MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->max_connections_per_ip,
		    MHD_OPTION_CONNECTION_TIMEOUT, cfg->connection_timeout,
		    MHD_OPTION_CONNECTION_MEMORY_LIMIT, mem, MHD_OPTION_NOTIFY_COMPLETED,
		    mca_mhd_completed_cb, l, MHD_OPTION_NOTIFY_CONNECTION, mca_mhd_notify_cb, l,
		    MHD_OPTION_URI_LOG_CALLBACK, mca_mhd_uri_cb, l, MHD_OPTION_HTTPS_MEM_CERT,
		    cfg->cert_pem, MHD_OPTION_HTTPS_MEM_KEY, cfg->key_pem,
		    MHD_OPTION_HTTPS_MEM_TRUST, cfg->trust_pem, MHD_OPTION_HTTPS_PRIORITIES,
		    priorities, MHD_OPTION_END);
	} else {
		l->d = MHD_start_daemon(
		    flags, 0, NULL, NULL, mca_mhd_access_cb, l, MHD_OPTION_EXTERNAL_LOGGER,
		    mhd_logger, l, MHD_OPTION_LISTEN_SOCKET, l->fd, MHD_OPTION_THREAD_POOL_SIZE,
		    worker_threads(cfg), MHD_OPTION_CONNECTION_LIMIT, max_conn,
		    MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->max_connections_per_ip,
		    MHD_OPTION_CONNECTION_TIMEOUT, cfg->connection_timeout,
		    MHD_OPTION_CONNECTION_MEMORY_LIMIT, mem, MHD_OPTION_NOTIFY_COMPLETED,
		    mca_mhd_completed_cb, l, MHD_OPTION_NOTIFY_CONNECTION, mca_mhd_notify_cb, l,
		    MHD_OPTION_URI_LOG_CALLBACK, mca_mhd_uri_cb, l, MHD_OPTION_END);
	}
	if (l->d == NULL)
		return mca_error_set(err, MCA_ERR_CONFIG, "cannot start the %s listener",
		                     l->kind == MCA_LISTENER_HTTPS ? "HTTPS" : "HTTP");
	l->fd = -1; /* owned by MHD now */
	return MCA_OK;
}

mca_rc
mca_mhd_start(struct mca_mhd *h, struct mca_error *err)
{
	unsigned max_conn;
	mca_rc rc;

	if (h->https.fd >= 0 && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
		return mca_error_set(err, MCA_ERR_CONFIG, "libmicrohttpd was built without TLS");
	max_conn = fitting_connection_limit(h);
	if ((rc = mca_mhd_conns_start(&h->conns, h->cfg.request_timeout, h->cfg.connection_timeout,
	                              err)) != MCA_OK ||
	    (rc = start_listener(&h->https, max_conn, err)) != MCA_OK ||
	    (rc = start_listener(&h->http, max_conn, err)) != MCA_OK)
		return rc;
	return MCA_OK;
}

static unsigned
connections(struct mca_mhd_listener *l)
{
	const union MHD_DaemonInfo *di;

	if (l->d == NULL)
		return 0;
	di = MHD_get_daemon_info(l->d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
	return di ? di->num_connections : 0;
}

void
mca_mhd_drain(struct mca_mhd *h, unsigned grace_s)
{
	struct mca_mhd_listener *ls[2] = {&h->https, &h->http};
	int64_t deadline = mca_mhd_now_ns() + (int64_t)grace_s * 1000000000;
	MHD_socket fd;
	size_t i;

	for (i = 0; i < 2; i++) {
		if (ls[i]->d == NULL)
			continue;
		fd = MHD_quiesce_daemon(ls[i]->d);
		if (fd != MHD_INVALID_SOCKET)
			close(fd);
	}
	while (connections(&h->https) + connections(&h->http) > 0 && mca_mhd_now_ns() < deadline) {
		struct timespec ts = {0, 20 * 1000 * 1000};

		nanosleep(&ts, NULL);
	}
	/*
	 * A deferred request is resumed by work that always ends (a group
	 * commit): wait for it past the grace, since libmicrohttpd aborts the
	 * process when stopped with a connection suspended.  Completion of the
	 * resumed request is what counts, so it is off the suspended list.
	 */
	for (i = 0; __atomic_load_n(&h->deferred, __ATOMIC_SEQ_CST) > 0; i++) {
		struct timespec ts = {0, 5 * 1000 * 1000};

		if (i > 0 && i % 2000 == 0)
			mca_log(MCA_LOG_WARN, "shutdown: waiting for %u deferred requests",
			        __atomic_load_n(&h->deferred, __ATOMIC_SEQ_CST));
		nanosleep(&ts, NULL);
	}
	for (i = 0; i < 2; i++) {
		if (ls[i]->d != NULL)
			MHD_stop_daemon(ls[i]->d);
		ls[i]->d = NULL;
	}
	mca_mhd_conns_stop(&h->conns);
}

void
mca_mhd_free(struct mca_mhd *h)
{
	if (h == NULL)
		return;
	if (h->https.d != NULL || h->http.d != NULL)
		mca_mhd_drain(h, 0);
	if (h->https.fd >= 0)
		close(h->https.fd);
	if (h->http.fd >= 0)
		close(h->http.fd);
	mca_mhd_conns_destroy(&h->conns);
	if (h->loglimit.inited)
		pthread_mutex_destroy(&h->loglimit.lock);
	free(h);
}
