/*
 * httpd_int.h - what listen.c and dispatch.c of mhd/ share; not for use
 * outside src/mhd/.
 */
#ifndef MCA_MHD_HTTPD_INT_H
#define MCA_MHD_HTTPD_INT_H

#include <stdint.h>

#include "mhd/httpd.h"

/* One listening daemon (HTTPS API or plain HTTP); the MHD callbacks' cls. */
struct mca_mhd_listener {
	struct mca_mhd *h;
	enum mca_listener kind;
	int fd;               /* bound socket until MHD owns it; -1 when none */
	struct MHD_Daemon *d; /* NULL until started, and after draining */
};

struct mca_mhd {
	struct mca_mhd_config cfg;
	struct mca_mhd_listener https, http;
};

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t mca_mhd_now_ns(void);

/* The access handler and the completion callback (dispatch.c); cls is the listener. */
enum MHD_Result mca_mhd_access_cb(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls);
void mca_mhd_completed_cb(void *cls, struct MHD_Connection *c, void **con_cls,
                          enum MHD_RequestTerminationCode toe);

#endif
