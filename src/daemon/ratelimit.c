/* ratelimit.c - a fixed table of per-address failure windows. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/ratelimit.h"

struct slot {
	char addr[64];
	int64_t start;
	unsigned failures;
};

struct mca_ratelimit {
	pthread_mutex_t lock;
	struct slot slots[MCA_RL_SLOTS];
};

struct mca_ratelimit *
mca_ratelimit_new(void)
{
	struct mca_ratelimit *rl = calloc(1, sizeof(*rl));

	if (rl != NULL)
		pthread_mutex_init(&rl->lock, NULL);
	return rl;
}

void
mca_ratelimit_free(struct mca_ratelimit *rl)
{
	if (rl == NULL)
		return;
	pthread_mutex_destroy(&rl->lock);
	free(rl);
}

/* FNV-1a of the address picks the first probe. */
static size_t
hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % MCA_RL_SLOTS;
}

static int
reusable(const struct slot *s, int64_t now)
{
	return s->addr[0] == '\0' || s->start + MCA_RL_WINDOW <= now;
}

/* The slot of `addr` (or a free / expired / oldest one to reuse when `create`). */
static struct slot *
find(struct mca_ratelimit *rl, const char *addr, int64_t now, int create)
{
	size_t i, h = hash(addr), idx;
	struct slot *victim = NULL, *s;

	for (i = 0; i < 8; i++) {
		idx = (h + i) % MCA_RL_SLOTS;
		s = &rl->slots[idx];
		if (strcmp(s->addr, addr) == 0)
			return s;
		/* Prefer an empty or finished slot, else the oldest window. */
		if (victim == NULL ||
		    (!reusable(victim, now) && (reusable(s, now) || s->start < victim->start)))
			victim = s;
	}
	if (!create)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	snprintf(victim->addr, sizeof(victim->addr), "%s", addr);
	victim->start = now;
	return victim;
}

int
mca_ratelimit_blocked(struct mca_ratelimit *rl, const char *addr, int64_t now, int64_t *retry_after)
{
	struct slot *s;
	int blocked = 0;

	pthread_mutex_lock(&rl->lock);
	s = find(rl, addr, now, 0);
	if (s != NULL && s->start + MCA_RL_WINDOW > now && s->failures >= MCA_RL_MAX_FAILURES) {
		blocked = 1;
		if (retry_after != NULL)
			*retry_after = s->start + MCA_RL_WINDOW - now;
	}
	pthread_mutex_unlock(&rl->lock);
	return blocked;
}

void
mca_ratelimit_fail(struct mca_ratelimit *rl, const char *addr, int64_t now)
{
	struct slot *s;

	pthread_mutex_lock(&rl->lock);
	s = find(rl, addr, now, 1);
	if (s->start + MCA_RL_WINDOW <= now) {
		s->start = now;
		s->failures = 0;
	}
	s->failures++;
	pthread_mutex_unlock(&rl->lock);
}
