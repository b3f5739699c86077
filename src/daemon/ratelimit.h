/*
 * ratelimit.h - counting events per key in fixed windows.
 *
 * Failed-credential throttling (mca_ratelimit_new): after
 * MCA_RL_MAX_FAILURES failures counted for one key within MCA_RL_WINDOW
 * seconds, the key is blocked until the window ends.  Keys are client
 * addresses and "token:ID" (guesses at one token's secret); what counts
 * and what a block refuses is up to the caller (api/ep_sign.c).  Other
 * limits (mca_ratelimit_new_ex, mca_ratelimit_take) allow `max` events a
 * key per `window` seconds, e.g. ACME new accounts per address.
 * Memory is bounded: a fixed table; when it is full, the oldest window is
 * replaced (so a flood of keys can only make the limit forget, never grow
 * memory).  Thread-safe.
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
