/*
 * metrics.h - counters and a latency histogram for /metrics (Prometheus
 * text format).  Labels carry profile names only (bounded: unknown
 * profiles count as "other"), never names or serials.  Thread-safe.
 */
#ifndef MCA_METRICS_H
#define MCA_METRICS_H

#include <stdint.h>

enum mca_metric_event { MCA_M_ISSUED, MCA_M_RENEWED, MCA_M_REVOKED, MCA_M_REJECTED, MCA_M__COUNT };

#define MCA_METRICS_MAX_PROFILES 32

/* Seconds between two checks of the CA signer by /v1/health. */
#define MCA_SIGNER_CHECK_INTERVAL 5

struct mca_metrics;

struct mca_metrics *mca_metrics_new(void);
void mca_metrics_free(struct mca_metrics *m);

/* Count one event for `profile` (NULL or unknown beyond the table: "other"). */
void mca_metrics_count(struct mca_metrics *m, enum mca_metric_event ev, const char *profile);

/* Count one run of the CA signer check behind /v1/health (ok: it signed). */
void mca_metrics_signer_check(struct mca_metrics *m, int ok);

/* Record one finished request. */
void mca_metrics_request(struct mca_metrics *m, double seconds, unsigned status);

/*
 * Render the text exposition; crl_number/crl_this_update describe the
 * current CRL (0 when unknown).  Malloc'd.
 */
char *mca_metrics_render(struct mca_metrics *m, int64_t crl_number, int64_t crl_this_update,
                         int64_t now);

#endif
