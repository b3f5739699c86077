/*
 * ratelimit.h - failed-credential throttling per key.
 *
 * After MCA_RL_MAX_FAILURES failures counted for one key within
 * MCA_RL_WINDOW seconds, the key is blocked until the window ends.  Keys
 * are client addresses and "token:ID" (guesses at one token's secret);
 * what counts and what a block refuses is up to the caller (ep_sign.c).
 * Memory is bounded: a fixed table; when it is full, the oldest window is
 * replaced.  Thread-safe.
 */
#ifndef MCA_RATELIMIT_H
#define MCA_RATELIMIT_H

#include <stdint.h>

#define MCA_RL_MAX_FAILURES 10
#define MCA_RL_WINDOW       60
#define MCA_RL_SLOTS        4096

struct mca_ratelimit;

struct mca_ratelimit *mca_ratelimit_new(void);
void mca_ratelimit_free(struct mca_ratelimit *rl);

/* Whether `addr` is currently refused; *retry_after gets the seconds left. */
int mca_ratelimit_blocked(struct mca_ratelimit *rl, const char *addr, int64_t now,
                          int64_t *retry_after);

/* Count one failure of `addr`. */
void mca_ratelimit_fail(struct mca_ratelimit *rl, const char *addr, int64_t now);

#endif
