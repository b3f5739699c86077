/* metrics.c - Prometheus text exposition of mtlscad's counters. */
#include "config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/metrics.h"

static const double buckets[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))

static const char *const event_names[MCA_M__COUNT] = {
    "mtlsca_certificates_issued_total",
    "mtlsca_certificates_renewed_total",
    "mtlsca_certificates_revoked_total",
    "mtlsca_requests_rejected_total",
};
static const char *const event_help[MCA_M__COUNT] = {
    "Certificates issued (sign and ACME), by profile.",
    "Certificates renewed, by profile.",
    "Certificates revoked, by profile.",
    "Issuance requests refused by policy or authorization, by profile.",
};

struct prof {
	char name[65];
	uint64_t n[MCA_M__COUNT];
};

struct mca_metrics {
	pthread_mutex_t lock;
	struct prof profs[MCA_METRICS_MAX_PROFILES + 1]; /* last: "other" */
	size_t nprofs;
	uint64_t bucket[NBUCKETS];
	uint64_t count;
	double sum;
	uint64_t status[6]; /* by class: 1xx..5xx, index 0 unused */
	uint64_t signer_checks, signer_failures;
};

struct mca_metrics *
mca_metrics_new(void)
{
	struct mca_metrics *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	pthread_mutex_init(&m->lock, NULL);
	snprintf(m->profs[MCA_METRICS_MAX_PROFILES].name, 65, "other");
	return m;
}

void
mca_metrics_free(struct mca_metrics *m)
{
	if (m == NULL)
		return;
	pthread_mutex_destroy(&m->lock);
	free(m);
}

void
mca_metrics_count(struct mca_metrics *m, enum mca_metric_event ev, const char *profile)
{
	size_t i;
	struct prof *p = &m->profs[MCA_METRICS_MAX_PROFILES];

	if (m == NULL || (unsigned)ev >= MCA_M__COUNT)
		return;
	pthread_mutex_lock(&m->lock);
	for (i = 0; profile != NULL && i < m->nprofs; i++)
		if (strcmp(m->profs[i].name, profile) == 0) {
			p = &m->profs[i];
			break;
		}
	if (profile != NULL && i == m->nprofs && m->nprofs < MCA_METRICS_MAX_PROFILES &&
	    strlen(profile) < sizeof(p->name) &&
	    strspn(profile, "abcdefghijklmnopqrstuvwxyz0123456789-_") == strlen(profile)) {
		p = &m->profs[m->nprofs++];
		snprintf(p->name, sizeof(p->name), "%s", profile);
	}
	p->n[ev]++;
	pthread_mutex_unlock(&m->lock);
}

void
mca_metrics_signer_check(struct mca_metrics *m, int ok)
{
	if (m == NULL)
		return;
	pthread_mutex_lock(&m->lock);
	m->signer_checks++;
	if (!ok)
		m->signer_failures++;
	pthread_mutex_unlock(&m->lock);
}

void
mca_metrics_request(struct mca_metrics *m, double seconds, unsigned status)
{
	size_t i;

	if (m == NULL)
		return;
	pthread_mutex_lock(&m->lock);
	for (i = 0; i < NBUCKETS; i++)
		if (seconds <= buckets[i])
			m->bucket[i]++;
	m->count++;
	m->sum += seconds;
	if (status >= 100 && status < 600)
		m->status[status / 100]++;
	pthread_mutex_unlock(&m->lock);
}

/* printf into a growing buffer. */
struct buf {
	char *p;
	size_t len, cap;
	int failed;
};

static void __attribute__((format(printf, 2, 3))) bprintf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;
	char *np;

	if (b->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = 1;
			return;
		}
		if (b->p != NULL && (size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		np = realloc(b->p, b->cap + (size_t)n + 4096);
		if (np == NULL) {
			b->failed = 1;
			return;
		}
		b->p = np;
		b->cap += (size_t)n + 4096;
	}
}

char *
mca_metrics_render(struct mca_metrics *m, int64_t crl_number, int64_t crl_this_update, int64_t now)
{
	struct buf b = {NULL, 0, 0, 0};
	size_t e, i;
	struct prof *p;

	pthread_mutex_lock(&m->lock);
	for (e = 0; e < MCA_M__COUNT; e++) {
		bprintf(&b, "# HELP %s %s\n# TYPE %s counter\n", event_names[e], event_help[e],
		        event_names[e]);
		for (i = 0; i <= MCA_METRICS_MAX_PROFILES; i++) {
			p = &m->profs[i];
			if (i < MCA_METRICS_MAX_PROFILES && i >= m->nprofs)
				continue;
			bprintf(&b, "%s{profile=\"%s\"} %llu\n", event_names[e], p->name,
			        (unsigned long long)p->n[e]);
		}
	}
	bprintf(&b, "# HELP mtlsca_http_request_duration_seconds Time to answer a request.\n"
	            "# TYPE mtlsca_http_request_duration_seconds histogram\n");
	for (i = 0; i < NBUCKETS; i++)
		bprintf(&b, "mtlsca_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
		        buckets[i], (unsigned long long)m->bucket[i]);
	bprintf(&b,
	        "mtlsca_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
	        "mtlsca_http_request_duration_seconds_sum %.6f\n"
	        "mtlsca_http_request_duration_seconds_count %llu\n",
	        (unsigned long long)m->count, m->sum, (unsigned long long)m->count);
	bprintf(&b, "# HELP mtlsca_http_responses_total Responses by status class.\n"
	            "# TYPE mtlsca_http_responses_total counter\n");
	for (i = 1; i < 6; i++)
		bprintf(&b, "mtlsca_http_responses_total{code=\"%zuxx\"} %llu\n", i,
		        (unsigned long long)m->status[i]);
	bprintf(&b,
	        "# HELP mtlsca_signer_checks_total Signatures made to check the CA key "
	        "(/v1/health, at most one per %d s).\n"
	        "# TYPE mtlsca_signer_checks_total counter\nmtlsca_signer_checks_total %llu\n"
	        "# HELP mtlsca_signer_check_failures_total Checks of the CA key that failed.\n"
	        "# TYPE mtlsca_signer_check_failures_total counter\n"
	        "mtlsca_signer_check_failures_total %llu\n",
	        MCA_SIGNER_CHECK_INTERVAL, (unsigned long long)m->signer_checks,
	        (unsigned long long)m->signer_failures);
	pthread_mutex_unlock(&m->lock);
	bprintf(&b,
	        "# HELP mtlsca_crl_number CRL number of the current CRL.\n"
	        "# TYPE mtlsca_crl_number gauge\nmtlsca_crl_number %lld\n"
	        "# HELP mtlsca_crl_age_seconds Seconds since the current CRL's thisUpdate.\n"
	        "# TYPE mtlsca_crl_age_seconds gauge\nmtlsca_crl_age_seconds %lld\n",
	        (long long)crl_number,
	        (long long)(crl_this_update > 0 ? now - crl_this_update : 0));
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	return b.p;
}
