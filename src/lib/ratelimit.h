/*
 * ratelimit.h - counting events per client address in fixed windows.
 *
 * Failed-credential throttling (mca_ratelimit_new): after
 * MCA_RL_MAX_FAILURES failed token attempts from one address within
 * MCA_RL_WINDOW seconds, that address is refused (429) until the window
 * ends.  Other limits (mca_ratelimit_new_ex, mca_ratelimit_take) allow
 * `max` events an address per `window` seconds, e.g. ACME new accounts.
 * Memory is bounded: a fixed table; when it is full, the oldest window is
 * replaced (so a flood of addresses can only make the limit forget, never
 * grow memory).  Thread-safe.
 */
#ifndef MCA_RATELIMIT_H
#define MCA_RATELIMIT_H

#include <stdint.h>

#define MCA_RL_MAX_FAILURES 10
#define MCA_RL_WINDOW       60
#define MCA_RL_SLOTS        4096

struct mca_ratelimit;

struct mca_ratelimit *mca_ratelimit_new(void);

/* At most `max` (>= 1) events an address per `window` (>= 1) seconds. */
struct mca_ratelimit *mca_ratelimit_new_ex(unsigned max, int64_t window);
void mca_ratelimit_free(struct mca_ratelimit *rl);

/* Whether `addr` is currently refused; *retry_after gets the seconds left. */
int mca_ratelimit_blocked(struct mca_ratelimit *rl, const char *addr, int64_t now,
                          int64_t *retry_after);

/* Count one failure of `addr`. */
void mca_ratelimit_fail(struct mca_ratelimit *rl, const char *addr, int64_t now);

/*
 * Count one event of `addr` if its window has room: 1 when counted, 0 when
 * `addr` already had `max` (*retry_after gets the seconds left).  The test
 * and the count are one step, so concurrent callers cannot overshoot.
 */
int mca_ratelimit_take(struct mca_ratelimit *rl, const char *addr, int64_t now,
                       int64_t *retry_after);

#endif
