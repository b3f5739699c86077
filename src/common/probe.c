/* probe.c - a check run at most once per interval, its result cached. */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>

#include "common/probe.h"

struct mca_probe {
	pthread_mutex_t lock;
	int64_t interval_ns;
	mca_probe_fn fn;
	void *arg;
	int ran; /* checked_at and ok are set */
	int64_t checked_at;
	int ok;
	uint64_t runs;
};

struct mca_probe *
mca_probe_new(int64_t interval_ns, mca_probe_fn fn, void *arg)
{
	struct mca_probe *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	if (pthread_mutex_init(&p->lock, NULL) != 0) {
		free(p);
		return NULL;
	}
	p->interval_ns = interval_ns;
	p->fn = fn;
	p->arg = arg;
	return p;
}

void
mca_probe_free(struct mca_probe *p)
{
	if (p == NULL)
		return;
	pthread_mutex_destroy(&p->lock);
	free(p);
}

int
mca_probe_ok(struct mca_probe *p, int64_t now_ns)
{
	int ok;

	pthread_mutex_lock(&p->lock);
	if (!p->ran || now_ns < p->checked_at || now_ns - p->checked_at >= p->interval_ns) {
		p->ok = p->fn(p->arg) ? 1 : 0;
		p->checked_at = now_ns;
		p->ran = 1;
		p->runs++;
	}
	ok = p->ok;
	pthread_mutex_unlock(&p->lock);
	return ok;
}

uint64_t
mca_probe_runs(struct mca_probe *p)
{
	uint64_t n;

	pthread_mutex_lock(&p->lock);
	n = p->runs;
	pthread_mutex_unlock(&p->lock);
	return n;
}
