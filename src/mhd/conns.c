/*
 * conns.c - a deadline for every request, which libmicrohttpd lacks: its
 * connection timeout counts from the last byte, so a client that sends one
 * header byte a second (slowloris) keeps its connection for ever.
 *
 * Every accepted connection is in one list with a deadline:
 *   accepted:        request_timeout for the TLS handshake and the whole
 *                    first request (header and body);
 *   request handled: none (the handler runs, the reply is sent; MHD's own
 *                    inactivity timeout still applies);
 *   reply sent:      connection_timeout for the next request line (an idle
 *                    kept-alive connection; MHD closes it then anyway,
 *                    this also closes one that trickles the line);
 *   request line:    request_timeout for the rest of that request.
 * A sweeper thread shuts down (shutdown(2), the socket stays MHD's) every
 * connection past its deadline, four times a second; MHD then sees the end
 * of the stream and closes it.  The descriptor is only touched under the
 * list lock, and MHD's "closed" notification, which takes that lock too,
 * comes before MHD closes the descriptor: a shut-down descriptor is always
 * the connection's own.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "common/log.h"
#include "mhd/httpd_int.h"

/* How often the sweeper looks, in milliseconds. */
#define SWEEP_MS 250

enum conn_phase {
	PHASE_NEW,     /* accepted, first request not complete */
	PHASE_REQUEST, /* request line seen on a kept-alive connection */
	PHASE_BUSY,    /* request received, being answered */
	PHASE_IDLE,    /* reply sent, waiting for the next request */
};

struct mca_mhd_conn {
	struct mca_mhd_conn *prev, *next;
	int fd;
	enum conn_phase phase;
	int cut;             /* shut down by the sweeper already */
	int64_t deadline_ns; /* 0: none */
};

mca_rc
mca_mhd_conns_init(struct mca_mhd_conns *cs, struct mca_error *err)
{
	pthread_condattr_t ca;

	memset(cs, 0, sizeof(*cs));
	if (pthread_condattr_init(&ca) != 0)
		return mca_error_set(err, MCA_ERR_NOMEM, "pthread_condattr_init failed");
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (pthread_mutex_init(&cs->lock, NULL) != 0) {
		pthread_condattr_destroy(&ca);
		return mca_error_set(err, MCA_ERR_NOMEM, "pthread_mutex_init failed");
	}
	if (pthread_cond_init(&cs->cv, &ca) != 0) {
		pthread_condattr_destroy(&ca);
		pthread_mutex_destroy(&cs->lock);
		return mca_error_set(err, MCA_ERR_NOMEM, "pthread_cond_init failed");
	}
	pthread_condattr_destroy(&ca);
	cs->inited = 1;
	return MCA_OK;
}

void
mca_mhd_conns_destroy(struct mca_mhd_conns *cs)
{
	struct mca_mhd_conn *c, *next;

	if (!cs->inited)
		return;
	mca_mhd_conns_stop(cs);
	/* MHD_stop_daemon notified every close: nothing should be left. */
	for (c = cs->head; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	pthread_cond_destroy(&cs->cv);
	pthread_mutex_destroy(&cs->lock);
	cs->inited = 0;
}

/* Log what was cut since the last line, at most once a second. Under the lock. */
static void
log_cuts(struct mca_mhd_conns *cs, int64_t now, int force)
{
	unsigned long long n = cs->cut - cs->cut_logged;

	if (n == 0 || (!force && now - cs->last_log_ns < 1000000000))
		return;
	mca_log(MCA_LOG_NOTICE,
	        "closed %llu connection%s that had not sent a complete request in time "
	        "(limits.request_timeout %us, limits.connection_timeout %us when kept alive)",
	        n, n == 1 ? "" : "s", cs->request_timeout, cs->idle_timeout);
	cs->cut_logged = cs->cut;
	cs->last_log_ns = now;
}

static void
sweep(struct mca_mhd_conns *cs, int64_t now)
{
	struct mca_mhd_conn *c;

	for (c = cs->head; c != NULL; c = c->next) {
		if (c->cut || c->deadline_ns == 0 || now < c->deadline_ns)
			continue;
		/* The fd is still MHD's: the close notification has not run. */
		shutdown(c->fd, SHUT_RDWR);
		c->cut = 1;
		cs->cut++;
	}
	log_cuts(cs, now, 0);
}

static void *
sweeper(void *arg)
{
	struct mca_mhd_conns *cs = arg;
	struct timespec ts;

	pthread_mutex_lock(&cs->lock);
	while (!cs->stop) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += SWEEP_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&cs->cv, &cs->lock, &ts);
		if (!cs->stop)
			sweep(cs, mca_mhd_now_ns());
	}
	log_cuts(cs, mca_mhd_now_ns(), 1);
	pthread_mutex_unlock(&cs->lock);
	return NULL;
}

mca_rc
mca_mhd_conns_start(struct mca_mhd_conns *cs, unsigned request_timeout, unsigned idle_timeout,
                    struct mca_error *err)
{
	int e;

	cs->request_timeout = request_timeout;
	cs->idle_timeout = idle_timeout;
	if (request_timeout == 0 || cs->running)
		return MCA_OK; /* no deadlines (the library's own tests) */
	cs->stop = 0;
	e = pthread_create(&cs->thread, NULL, sweeper, cs);
	if (e != 0)
		return mca_error_set(err, MCA_ERR_NOMEM,
		                     "cannot start the request-deadline thread: %s", strerror(e));
	cs->running = 1;
	return MCA_OK;
}

void
mca_mhd_conns_stop(struct mca_mhd_conns *cs)
{
	if (!cs->running)
		return;
	pthread_mutex_lock(&cs->lock);
	cs->stop = 1;
	pthread_cond_signal(&cs->cv);
	pthread_mutex_unlock(&cs->lock);
	pthread_join(cs->thread, NULL);
	cs->running = 0;
}

static int64_t
deadline_in(unsigned secs)
{
	return secs == 0 ? 0 : mca_mhd_now_ns() + (int64_t)secs * 1000000000;
}

void
mca_mhd_notify_cb(void *cls, struct MHD_Connection *conn, void **socket_context,
                  enum MHD_ConnectionNotificationCode code)
{
	struct mca_mhd_conns *cs = &((struct mca_mhd_listener *)cls)->h->conns;
	const union MHD_ConnectionInfo *ci;
	struct mca_mhd_conn *c;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		*socket_context = NULL;
		if (cs->request_timeout == 0)
			return;
		ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		c = calloc(1, sizeof(*c));
		if (c == NULL || ci == NULL) {
			/* Cannot track it: do not let it in untracked. */
			if (ci != NULL)
				shutdown(ci->connect_fd, SHUT_RDWR);
			free(c);
			return;
		}
		c->fd = ci->connect_fd;
		c->phase = PHASE_NEW;
		c->deadline_ns = deadline_in(cs->request_timeout);
		pthread_mutex_lock(&cs->lock);
		c->next = cs->head;
		if (cs->head != NULL)
			cs->head->prev = c;
		cs->head = c;
		pthread_mutex_unlock(&cs->lock);
		*socket_context = c;
		return;
	}
	c = *socket_context;
	if (c == NULL)
		return;
	pthread_mutex_lock(&cs->lock);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		cs->head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	pthread_mutex_unlock(&cs->lock);
	free(c);
	*socket_context = NULL;
}

static struct mca_mhd_conn *
conn_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci != NULL ? ci->socket_context : NULL;
}

/* Move a connection to `phase` with a deadline `secs` from now (0: none). */
static void
set_phase(struct mca_mhd_conns *cs, struct MHD_Connection *conn, enum conn_phase phase,
          unsigned secs, int only_from_idle)
{
	struct mca_mhd_conn *c = conn_of(conn);

	if (c == NULL)
		return;
	pthread_mutex_lock(&cs->lock);
	if (!only_from_idle || c->phase == PHASE_IDLE) {
		c->phase = phase;
		c->deadline_ns = deadline_in(secs);
	}
	pthread_mutex_unlock(&cs->lock);
}

void *
mca_mhd_uri_cb(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct mca_mhd_conns *cs = &((struct mca_mhd_listener *)cls)->h->conns;

	(void)uri;
	/* A new connection keeps the deadline it got when accepted. */
	set_phase(cs, conn, PHASE_REQUEST, cs->request_timeout, 1);
	return NULL; /* the request context is made by the access handler */
}

void
mca_mhd_conn_received(struct mca_mhd_listener *l, struct MHD_Connection *conn)
{
	set_phase(&l->h->conns, conn, PHASE_BUSY, 0, 0);
}

void
mca_mhd_conn_done(struct mca_mhd_listener *l, struct MHD_Connection *conn)
{
	set_phase(&l->h->conns, conn, PHASE_IDLE, l->h->conns.idle_timeout, 0);
}
