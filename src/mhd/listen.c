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
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "mhd/httpd_int.h"

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
	if (bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 128) != 0) {
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
	if (h->cfg.https.host != NULL)
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

static void
mhd_logger(void *cls, const char *fmt, va_list ap)
{
	char buf[512];
	size_t n;

	(void)cls;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	/* MHD reports client misbehaviour (bad TLS, resets) here: not our bug. */
	mca_log(MCA_LOG_NOTICE, "libmicrohttpd: %s", buf);
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
start_listener(struct mca_mhd_listener *l, struct mca_error *err)
{
	const struct mca_mhd_config *cfg = &l->h->cfg;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;
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
		    worker_threads(cfg), MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections,
		    MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->max_connections_per_ip,
		    MHD_OPTION_CONNECTION_TIMEOUT, cfg->connection_timeout,
		    MHD_OPTION_CONNECTION_MEMORY_LIMIT, mem, MHD_OPTION_NOTIFY_COMPLETED,
		    mca_mhd_completed_cb, l, MHD_OPTION_HTTPS_MEM_CERT, cfg->cert_pem,
		    MHD_OPTION_HTTPS_MEM_KEY, cfg->key_pem, MHD_OPTION_HTTPS_MEM_TRUST,
		    cfg->trust_pem, MHD_OPTION_HTTPS_PRIORITIES, priorities, MHD_OPTION_END);
	} else {
		l->d = MHD_start_daemon(
		    flags, 0, NULL, NULL, mca_mhd_access_cb, l, MHD_OPTION_EXTERNAL_LOGGER,
		    mhd_logger, l, MHD_OPTION_LISTEN_SOCKET, l->fd, MHD_OPTION_THREAD_POOL_SIZE,
		    worker_threads(cfg), MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections,
		    MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->max_connections_per_ip,
		    MHD_OPTION_CONNECTION_TIMEOUT, cfg->connection_timeout,
		    MHD_OPTION_CONNECTION_MEMORY_LIMIT, mem, MHD_OPTION_NOTIFY_COMPLETED,
		    mca_mhd_completed_cb, l, MHD_OPTION_END);
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
	mca_rc rc;

	if (h->https.fd >= 0 && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
		return mca_error_set(err, MCA_ERR_CONFIG, "libmicrohttpd was built without TLS");
	if ((rc = start_listener(&h->https, err)) != MCA_OK ||
	    (rc = start_listener(&h->http, err)) != MCA_OK)
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
	for (i = 0; i < 2; i++) {
		if (ls[i]->d != NULL)
			MHD_stop_daemon(ls[i]->d);
		ls[i]->d = NULL;
	}
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
	free(h);
}
