/*
 * httpd_int.h - what listen.c and dispatch.c of mhd/ share; not for use
 * outside src/mhd/.
 */
#ifndef MCA_MHD_HTTPD_INT_H
#define MCA_MHD_HTTPD_INT_H

#include <pthread.h>
#include <stdint.h>

#include "mhd/httpd.h"

/* One listening daemon (HTTPS API or plain HTTP); the MHD callbacks' cls. */
struct mca_mhd_listener {
	struct mca_mhd *h;
	enum mca_listener kind;
	int fd;               /* bound socket until MHD owns it; -1 when none */
	struct MHD_Daemon *d; /* NULL until started, and after draining */
};

/*
 * Request deadlines of every connection of both listeners (conns.c): the
 * list, its lock and the sweeper thread.  Callbacks run on MHD threads.
 */
struct mca_mhd_conn;
struct mca_mhd_conns {
	pthread_mutex_t lock; /* the list, every entry, the counters */
	pthread_cond_t cv;    /* wakes the sweeper to stop */
	struct mca_mhd_conn *head;
	unsigned request_timeout, idle_timeout; /* seconds; 0: none */
	unsigned long long cut, cut_logged;     /* connections shut down, logged */
	int64_t last_log_ns;
	pthread_t thread;
	int inited, running, stop;
};

/* The MHD log lines (client misbehaviour mostly), at most a few a second. */
struct mca_mhd_loglimit {
	pthread_mutex_t lock;
	int64_t window_ns;             /* start of the current second */
	unsigned in_window;            /* lines logged in it */
	unsigned long long suppressed; /* dropped since the last summary */
	int inited;
};

struct mca_mhd {
	struct mca_mhd_config cfg;
	struct mca_mhd_listener https, http;
	struct mca_mhd_conns conns;
	struct mca_mhd_loglimit loglimit;
	unsigned deferred; /* requests deferred and not completed (atomic) */
};

mca_rc mca_mhd_conns_init(struct mca_mhd_conns *cs, struct mca_error *err);
/* Start the sweeper (no thread when request_timeout is 0); idempotent. */
mca_rc mca_mhd_conns_start(struct mca_mhd_conns *cs, unsigned request_timeout,
                           unsigned idle_timeout, struct mca_error *err);
/* Stop the sweeper; idempotent. */
void mca_mhd_conns_stop(struct mca_mhd_conns *cs);
/* Stop, free what is left, destroy the lock; after the daemons stopped. */
void mca_mhd_conns_destroy(struct mca_mhd_conns *cs);
/* MHD_OPTION_NOTIFY_CONNECTION and MHD_OPTION_URI_LOG_CALLBACK; cls is the listener. */
void mca_mhd_notify_cb(void *cls, struct MHD_Connection *conn, void **socket_context,
                       enum MHD_ConnectionNotificationCode code);
void *mca_mhd_uri_cb(void *cls, const char *uri, struct MHD_Connection *conn);
/* The request on `conn` has been received whole / its reply has been sent. */
void mca_mhd_conn_received(struct mca_mhd_listener *l, struct MHD_Connection *conn);
void mca_mhd_conn_done(struct mca_mhd_listener *l, struct MHD_Connection *conn);

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t mca_mhd_now_ns(void);

/* The access handler and the completion callback (dispatch.c); cls is the listener. */
enum MHD_Result mca_mhd_access_cb(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls);
void mca_mhd_completed_cb(void *cls, struct MHD_Connection *c, void **con_cls,
                          enum MHD_RequestTerminationCode toe);

#endif
