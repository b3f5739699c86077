/*
 * probe.h - a yes/no check too expensive to run on every request (the CA
 * signer behind /v1/health signs once per check): it runs at most once per
 * interval and everyone else gets its last result.
 *
 * Thread-safe: one mutex, held while the check runs, so callers arriving
 * when the result has gone stale wait for one check instead of each
 * running their own.  The check function must not call back into the probe.
 */
#ifndef MCA_PROBE_H
#define MCA_PROBE_H

#include <stdint.h>

struct mca_probe;

/* The check: 1 when healthy.  `arg` is the probe's, borrowed. */
typedef int (*mca_probe_fn)(void *arg);

/* A probe running `fn(arg)` at most every `interval_ns`; NULL when out of memory. */
struct mca_probe *mca_probe_new(int64_t interval_ns, mca_probe_fn fn, void *arg);
void mca_probe_free(struct mca_probe *p);

/*
 * The result at monotonic time `now_ns`: runs the check when it never ran,
 * when `interval_ns` has passed since it last ran, or when the clock went
 * backwards; the cached result otherwise.
 */
int mca_probe_ok(struct mca_probe *p, int64_t now_ns);

/* How many times the check has run. */
uint64_t mca_probe_runs(struct mca_probe *p);

#endif
