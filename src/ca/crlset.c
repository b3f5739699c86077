/* crlset.c - pre-encoded CRL entries in memory, sorted by serial (see crlset.h). */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ca/crlset.h"
#include "pki/crl.h"

struct item {
	uint64_t off; /* into the arena */
	int64_t not_after;
	int32_t shard; /* -1: none */
	uint8_t len;
};

struct mca_crlset {
	pthread_mutex_t lock;
	char *issuer;
	unsigned char *arena;
	size_t arena_len, arena_cap;
	struct item *v;
	size_t n, cap;
	int64_t seq;
};

struct mca_crlset *
mca_crlset_new(const char *issuer_dn)
{
	struct mca_crlset *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->issuer = strdup(issuer_dn);
	if (s->issuer == NULL) {
		free(s);
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	return s;
}

void
mca_crlset_free(struct mca_crlset *s)
{
	if (s == NULL)
		return;
	pthread_mutex_destroy(&s->lock);
	free(s->issuer);
	free(s->arena);
	free(s->v);
	free(s);
}

/*
 * An entry's serial: SEQUENCE (short form: entries are under 128 octets)
 * { INTEGER ... }.  The magnitude without its sign octet.
 */
static void
serial_of(const unsigned char *e, const unsigned char **p, size_t *n)
{
	*p = e + 4;
	*n = e[3];
	while (*n > 1 && (*p)[0] == 0) {
		(*p)++;
		(*n)--;
	}
}

/* Numeric order of the serials of two entries. */
static int
cmp_entries(const unsigned char *a, const unsigned char *b)
{
	const unsigned char *pa, *pb;
	size_t na, nb;

	serial_of(a, &pa, &na);
	serial_of(b, &pb, &nb);
	if (na != nb)
		return na < nb ? -1 : 1;
	return memcmp(pa, pb, na);
}

static int
cmp_items(const void *x, const void *y, void *arg)
{
	const unsigned char *arena = arg;

	return cmp_entries(arena + ((const struct item *)x)->off,
	                   arena + ((const struct item *)y)->off);
}

/* Whether `e` is an entry as mca_crl_entry_encode writes them (the store could be damaged). */
static int
entry_ok(const unsigned char *e, size_t len)
{
	return len >= 7 && len <= MCA_CRL_ENTRY_MAX && e[0] == 0x30 && e[1] == len - 2 &&
	       e[2] == 0x02 && e[3] >= 1 && (size_t)e[3] + 4 < len;
}

struct sync_run {
	struct mca_crlset *s;
	int sorted; /* the rows appended so far kept the order */
	int bad;
};

static int
append(void *arg, const struct mca_crl_entry_row *r)
{
	struct sync_run *run = arg;
	struct mca_crlset *s = run->s;
	struct item *it;
	size_t cap;
	void *p;

	if (!entry_ok(r->entry, r->entry_len)) {
		run->bad = 1;
		return 1;
	}
	if (s->n == s->cap) {
		cap = s->cap ? s->cap * 2 : 1024;
		if ((p = realloc(s->v, cap * sizeof(*s->v))) == NULL)
			return 1;
		s->v = p;
		s->cap = cap;
	}
	if (s->arena_len + r->entry_len > s->arena_cap) {
		cap = s->arena_cap ? s->arena_cap * 2 : 65536;
		if ((p = realloc(s->arena, cap)) == NULL)
			return 1;
		s->arena = p;
		s->arena_cap = cap;
	}
	memcpy(s->arena + s->arena_len, r->entry, r->entry_len);
	it = &s->v[s->n];
	it->off = s->arena_len;
	it->len = (uint8_t)r->entry_len;
	it->not_after = r->not_after;
	it->shard = r->shard;
	if (s->n > 0 && cmp_entries(s->arena + s->v[s->n - 1].off, s->arena + it->off) >= 0)
		run->sorted = 0;
	s->arena_len += r->entry_len;
	s->n++;
	if (r->seq > s->seq)
		s->seq = r->seq;
	return 0;
}

/* Move each of the items from `from` on into its place among those before it. */
static void
insert_tail(struct mca_crlset *s, size_t from)
{
	struct item it;
	size_t i, lo, hi, mid;

	for (i = from; i < s->n; i++) {
		it = s->v[i];
		lo = 0;
		hi = i;
		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			if (cmp_entries(s->arena + s->v[mid].off, s->arena + it.off) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		memmove(&s->v[lo + 1], &s->v[lo], (i - lo) * sizeof(*s->v));
		s->v[lo] = it;
	}
}

mca_rc
mca_crlset_sync(struct mca_crlset *s, struct mca_store *st, struct mca_error *err)
{
	struct sync_run run = {s, 1, 0};
	size_t n0;
	mca_rc rc;

	pthread_mutex_lock(&s->lock);
	n0 = s->n;
	/* The first time, every row in serial order (nothing to sort); then the new ones. */
	if (s->seq == 0 && s->n == 0)
		rc = mca_store_crl_entries(st, s->issuer, -1, INT64_MIN, append, &run, err);
	else
		rc = mca_store_crl_entries_after(st, s->issuer, s->seq, append, &run, err);
	if (run.bad)
		rc = mca_error_set(err, MCA_ERR_DB,
		                   "a stored CRL entry is not one this program wrote");
	else if (rc == MCA_ERR_INTERNAL)
		rc = mca_error_set(err, MCA_ERR_NOMEM, "loading CRL entries: out of memory");
	/* What was read stays (each row once: the seq moved past it), sorted. */
	if (!run.sorted) {
		if (s->n - n0 <= 256)
			insert_tail(s, n0);
		else
			qsort_r(s->v, s->n, sizeof(*s->v), cmp_items, s->arena);
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

void
mca_crlset_emit(struct mca_crlset *s, int shard, int64_t since, struct mca_der *d, size_t *n)
{
	size_t i, k = 0;

	uint64_t run = 0, run_len = 0; /* entries adjacent in the arena go in one copy */

	pthread_mutex_lock(&s->lock);
	for (i = 0; i < s->n; i++) {
		if (s->v[i].not_after <= since || (shard >= 0 && s->v[i].shard != shard))
			continue;
		if (run_len > 0 && s->v[i].off != run + run_len) {
			mca_der_raw(d, s->arena + run, run_len);
			run_len = 0;
		}
		if (run_len == 0)
			run = s->v[i].off;
		run_len += s->v[i].len;
		k++;
	}
	if (run_len > 0)
		mca_der_raw(d, s->arena + run, run_len);
	pthread_mutex_unlock(&s->lock);
	*n = k;
}

size_t
mca_crlset_drop_expired(struct mca_crlset *s, int64_t before)
{
	unsigned char *arena = NULL;
	size_t i, k = 0, len = 0, dropped;

	pthread_mutex_lock(&s->lock);
	for (i = 0; i < s->n; i++)
		if (s->v[i].not_after > before)
			len += s->v[i].len;
	dropped = s->n;
	if (len < s->arena_len && (arena = malloc(len ? len : 1)) != NULL) {
		/* keep the survivors in order, their DER packed into a new arena */
		for (i = 0, len = 0; i < s->n; i++) {
			if (s->v[i].not_after <= before)
				continue;
			memcpy(arena + len, s->arena + s->v[i].off, s->v[i].len);
			s->v[k] = s->v[i];
			s->v[k].off = len;
			len += s->v[i].len;
			k++;
		}
		free(s->arena);
		s->arena = arena;
		s->arena_len = s->arena_cap = len ? len : 1;
		s->arena_len = len;
		s->n = k;
	}
	dropped -= s->n;
	pthread_mutex_unlock(&s->lock);
	return dropped;
}

const char *
mca_crlset_issuer(const struct mca_crlset *s)
{
	return s->issuer;
}

size_t
mca_crlset_count(struct mca_crlset *s)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = s->n;
	pthread_mutex_unlock(&s->lock);
	return n;
}

int64_t
mca_crlset_seq(struct mca_crlset *s)
{
	int64_t q;

	pthread_mutex_lock(&s->lock);
	q = s->seq;
	pthread_mutex_unlock(&s->lock);
	return q;
}
