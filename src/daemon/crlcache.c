/* crlcache.c - refcounted CRL snapshots for serving, shards included. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "ca/publish.h"
#include "daemon/crlcache.h"
#include "pki/crl.h"
#include "pki/keys.h"

struct mca_crlcache {
	pthread_mutex_t lock;
	struct mca_crl_snap *cur[MCA_CRL__COUNT];
	struct mca_crl_snap **shard; /* [n_shards] */
	unsigned n_shards;
	struct mca_crlset *entries;
	/* the CRL numbers whose files are known written: [MCA_CRL__COUNT + n_shards] */
	int64_t *files;
};

const char *
mca_crl_which_name(enum mca_crl_which which)
{
	return which == MCA_CRL_ROOT ? "root" : "ca";
}

struct mca_crlcache *
mca_crlcache_new(void)
{
	struct mca_crlcache *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->files = calloc(MCA_CRL__COUNT, sizeof(*c->files));
	if (c->files == NULL) {
		free(c);
		return NULL;
	}
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

mca_rc
mca_crlcache_set_shards(struct mca_crlcache *c, unsigned n, struct mca_error *err)
{
	if (n == 0)
		return MCA_OK;
	c->shard = calloc(n, sizeof(*c->shard));
	if (c->shard == NULL)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	free(c->files);
	c->files = calloc(MCA_CRL__COUNT + n, sizeof(*c->files));
	if (c->files == NULL)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	c->n_shards = n;
	return MCA_OK;
}

unsigned
mca_crlcache_shards(struct mca_crlcache *c)
{
	return c->n_shards;
}

void
mca_crl_snap_release(struct mca_crl_snap *s)
{
	if (s == NULL || __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	pthread_mutex_destroy(&s->pem_lock);
	free(s->der);
	free(s->pem);
	free(s);
}

void
mca_crlcache_free(struct mca_crlcache *c)
{
	unsigned i;

	if (c == NULL)
		return;
	for (i = 0; i < MCA_CRL__COUNT; i++)
		mca_crl_snap_release(c->cur[i]);
	for (i = 0; i < c->n_shards; i++)
		mca_crl_snap_release(c->shard[i]);
	free(c->shard);
	free(c->files);
	mca_crlset_free(c->entries);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

struct mca_crlset *
mca_crlcache_entries(struct mca_crlcache *c, X509 *ca)
{
	struct mca_crlset *s;
	char *dn;

	pthread_mutex_lock(&c->lock);
	if (c->entries == NULL && (dn = mca_name_string(X509_get_subject_name(ca))) != NULL) {
		c->entries = mca_crlset_new(dn);
		free(dn);
	}
	s = c->entries;
	pthread_mutex_unlock(&c->lock);
	return s;
}

/*
 * A snapshot of CRL `name`, with its PEM and ETag (no object per entry):
 * takes rec->der and *pem (NULL: made here).
 */
static struct mca_crl_snap *
snap_new(struct mca_crl_rec *rec, const char *name, char **pem, size_t pem_len, long entries)
{
	struct mca_crl_snap *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->refs = 1;
	pthread_mutex_init(&s->pem_lock, NULL);
	s->entries = entries >= 0 ? entries : mca_crl_der_entries(rec->der, rec->der_len);
	if (s->entries < 0)
		goto fail;
	s->der = rec->der;
	s->der_len = rec->der_len;
	rec->der = NULL;
	if (pem != NULL && *pem != NULL) {
		s->pem = *pem;
		s->pem_len = pem_len;
		*pem = NULL;
	}
	s->number = rec->number;
	s->this_update = rec->this_update;
	s->next_update = rec->next_update;
	/* The CRL number identifies the content of an issuer's CRL. */
	snprintf(s->etag, sizeof(s->etag), "\"%s-%lld\"", name, (long long)rec->number);
	return s;
fail:
	pthread_mutex_destroy(&s->pem_lock);
	free(s->der);
	free(s->pem);
	free(s);
	return NULL;
}

const char *
mca_crl_snap_pem(struct mca_crl_snap *s, size_t *len)
{
	const char *pem;

	pthread_mutex_lock(&s->pem_lock);
	if (s->pem == NULL)
		s->pem = mca_crl_pem(s->der, s->der_len, &s->pem_len);
	pem = s->pem;
	*len = s->pem_len;
	pthread_mutex_unlock(&s->pem_lock);
	return pem;
}

/* Install `s` in *slot unless that has a newer one (never go back); *changed when it did. */
static void
install(struct mca_crlcache *c, struct mca_crl_snap **slot, struct mca_crl_snap *s, int *changed)
{
	struct mca_crl_snap *old;

	pthread_mutex_lock(&c->lock);
	old = *slot;
	if (old == NULL || s->number > old->number) {
		*slot = s;
		if (changed != NULL)
			*changed = 1;
	} else {
		old = s;
	}
	pthread_mutex_unlock(&c->lock);
	mca_crl_snap_release(old);
}

/* The slot of CRL `name`, NULL when the cache holds no such CRL. */
static struct mca_crl_snap **
slot_of(struct mca_crlcache *c, const char *name)
{
	char *end;
	unsigned long k;

	if (strcmp(name, "ca") == 0)
		return &c->cur[MCA_CRL_CA];
	if (strcmp(name, "root") == 0)
		return &c->cur[MCA_CRL_ROOT];
	if (strncmp(name, "ca-", 3) != 0)
		return NULL;
	k = strtoul(name + 3, &end, 10);
	return *end == '\0' && end != name + 3 && k < c->n_shards ? &c->shard[k] : NULL;
}

/* The index into c->files of a slot. */
static size_t
slot_index(struct mca_crlcache *c, struct mca_crl_snap **slot)
{
	if (slot >= c->cur && slot < c->cur + MCA_CRL__COUNT)
		return (size_t)(slot - c->cur);
	return MCA_CRL__COUNT + (size_t)(slot - c->shard);
}

static struct mca_crl_snap *take(struct mca_crlcache *c, struct mca_crl_snap **slot);

void
mca_crlcache_published(void *arg, const char *name, struct mca_crl_rec *rec, char **pem,
                       size_t pem_len, size_t entries)
{
	struct mca_crlcache *c = arg;
	struct mca_crl_snap **slot = slot_of(c, name), *s;
	int64_t number = rec->number;

	if (slot == NULL || (s = snap_new(rec, name, pem, pem_len, (long)entries)) == NULL)
		return; /* the next refresh loads it from the store */
	install(c, slot, s, NULL);
	/* Written already when it came with its PEM (the files were made from it). */
	if (s->pem != NULL) {
		pthread_mutex_lock(&c->lock);
		if (c->files[slot_index(c, slot)] < number)
			c->files[slot_index(c, slot)] = number;
		pthread_mutex_unlock(&c->lock);
	}
}

mca_rc
mca_crlcache_write_files(struct mca_crlcache *c, const struct mca_publish *p, struct mca_error *err)
{
	struct mca_crl_snap *s;
	const char *pem;
	char name[16];
	size_t i, pem_len = 0;
	int64_t done;
	mca_rc rc = MCA_OK, r;

	for (i = 0; i < MCA_CRL__COUNT + (size_t)c->n_shards; i++) {
		struct mca_crl_snap **slot =
		    i < MCA_CRL__COUNT ? &c->cur[i] : &c->shard[i - MCA_CRL__COUNT];

		s = take(c, slot);
		pthread_mutex_lock(&c->lock);
		done = c->files[i];
		pthread_mutex_unlock(&c->lock);
		if (s == NULL || s->number <= done) {
			mca_crl_snap_release(s);
			continue;
		}
		if (i < MCA_CRL__COUNT)
			snprintf(name, sizeof(name), "%s",
			         mca_crl_which_name((enum mca_crl_which)i));
		else
			snprintf(name, sizeof(name), "ca-%u",
			         (unsigned)(i - MCA_CRL__COUNT) & 0xffff);
		pem = mca_crl_snap_pem(s, &pem_len);
		r = pem == NULL ? mca_error_set(err, MCA_ERR_NOMEM, "out of memory")
		                : mca_publish_write_crl(p, name, s->number, s->der, s->der_len, pem,
		                                        pem_len, rc == MCA_OK ? err : NULL);
		/* The DERs before the one written last are never read again. */
		if (r == MCA_OK && done > 0)
			r = mca_store_crl_prune(p->store, name, done, rc == MCA_OK ? err : NULL);
		if (r == MCA_OK) {
			pthread_mutex_lock(&c->lock);
			if (c->files[i] < s->number)
				c->files[i] = s->number;
			pthread_mutex_unlock(&c->lock);
		} else if (rc == MCA_OK) {
			rc = r;
		}
		mca_crl_snap_release(s);
	}
	return rc;
}

/* Load `name` into *slot when the store has a newer one. */
static mca_rc
refresh_one(struct mca_crlcache *c, struct mca_store *st, const char *name,
            struct mca_crl_snap **slot, int *changed, struct mca_error *err)
{
	struct mca_crl_rec rec;
	struct mca_crl_snap *s;
	int64_t max = 0, have;
	mca_rc rc;

	if ((rc = mca_store_crl_max_number(st, name, &max, err)) != MCA_OK)
		return rc;
	pthread_mutex_lock(&c->lock);
	have = *slot ? (*slot)->number : 0;
	pthread_mutex_unlock(&c->lock);
	if (max == have)
		return MCA_OK;
	memset(&rec, 0, sizeof(rec));
	if ((rc = mca_store_crl_latest(st, name, &rec, err)) != MCA_OK)
		return rc;
	s = snap_new(&rec, name, NULL, 0, -1);
	free(rec.der);
	if (s == NULL)
		return mca_error_set(err, MCA_ERR_CRYPTO, "stored %s CRL %lld does not decode",
		                     name, (long long)rec.number);
	/* Never go back: another thread may have installed a newer one meanwhile. */
	install(c, slot, s, changed);
	return MCA_OK;
}

mca_rc
mca_crlcache_refresh(struct mca_crlcache *c, struct mca_store *st, int *changed,
                     struct mca_error *err)
{
	char name[16];
	unsigned i;
	mca_rc rc;

	if (changed != NULL)
		*changed = 0;
	for (i = 0; i < MCA_CRL__COUNT; i++)
		if ((rc = refresh_one(c, st, mca_crl_which_name(i), &c->cur[i], changed, err)) !=
		    MCA_OK)
			return rc;
	for (i = 0; i < c->n_shards; i++) {
		snprintf(name, sizeof(name), "ca-%u", i & 0xffff);
		if ((rc = refresh_one(c, st, name, &c->shard[i], changed, err)) != MCA_OK)
			return rc;
	}
	return MCA_OK;
}

/* A new reference to *slot, under the lock. */
static struct mca_crl_snap *
take(struct mca_crlcache *c, struct mca_crl_snap **slot)
{
	struct mca_crl_snap *s;

	pthread_mutex_lock(&c->lock);
	s = *slot;
	if (s != NULL)
		__atomic_add_fetch(&s->refs, 1, __ATOMIC_ACQ_REL);
	pthread_mutex_unlock(&c->lock);
	return s;
}

struct mca_crl_snap *
mca_crlcache_get(struct mca_crlcache *c, enum mca_crl_which which)
{
	return take(c, &c->cur[which]);
}

struct mca_crl_snap *
mca_crlcache_get_shard(struct mca_crlcache *c, unsigned k)
{
	return k < c->n_shards ? take(c, &c->shard[k]) : NULL;
}

char *
mca_crlcache_metrics(struct mca_crlcache *c)
{
	static const char head[] =
	    "# HELP mtlsca_crl_bytes Size (DER) of the CRL being served, complete or shard.\n"
	    "# TYPE mtlsca_crl_bytes gauge\n";
	static const char head2[] =
	    "# HELP mtlsca_crl_entries Revoked certificates the CRL being served lists.\n"
	    "# TYPE mtlsca_crl_entries gauge\n";
	struct mca_crl_snap *s;
	size_t cap = sizeof(head) + sizeof(head2) + (c->n_shards + 1) * 2 * 64, len = 0;
	char *out = malloc(cap);
	unsigned i, pass;
	char name[16];

	if (out == NULL)
		return NULL;
	for (pass = 0; pass < 2; pass++) {
		len += (size_t)snprintf(out + len, cap - len, "%s", pass ? head2 : head);
		for (i = 0; i <= c->n_shards; i++) {
			s = i == 0 ? mca_crlcache_get(c, MCA_CRL_CA)
			           : mca_crlcache_get_shard(c, i - 1);
			if (s == NULL)
				continue;
			if (i == 0)
				snprintf(name, sizeof(name), "ca");
			else
				snprintf(name, sizeof(name), "ca-%u", (i - 1) & 0xffff);
			len +=
			    (size_t)snprintf(out + len, cap - len, "%s{crl=\"%s\"} %lld\n",
			                     pass ? "mtlsca_crl_entries" : "mtlsca_crl_bytes", name,
			                     pass ? (long long)s->entries : (long long)s->der_len);
			mca_crl_snap_release(s);
		}
	}
	return out;
}
