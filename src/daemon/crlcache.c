/* crlcache.c - refcounted CRL snapshots for serving. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "daemon/crlcache.h"

struct mca_crlcache {
	pthread_mutex_t lock;
	struct mca_crl_snap *cur[MCA_CRL__COUNT];
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

	if (c != NULL)
		pthread_mutex_init(&c->lock, NULL);
	return c;
}

void
mca_crl_snap_release(struct mca_crl_snap *s)
{
	if (s == NULL || __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	free(s->der);
	free(s->pem);
	free(s);
}

void
mca_crlcache_free(struct mca_crlcache *c)
{
	int i;

	if (c == NULL)
		return;
	for (i = 0; i < MCA_CRL__COUNT; i++)
		mca_crl_snap_release(c->cur[i]);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* A snapshot of a stored CRL, with its PEM and ETag. */
static struct mca_crl_snap *
snap_new(const struct mca_crl_rec *rec, enum mca_crl_which which)
{
	struct mca_crl_snap *s = calloc(1, sizeof(*s));
	const unsigned char *p = rec->der;
	X509_CRL *crl = NULL;
	BIO *b = NULL;
	char *data = NULL;
	long n;

	if (s == NULL)
		return NULL;
	s->refs = 1;
	s->der = malloc(rec->der_len);
	crl = d2i_X509_CRL(NULL, &p, (long)rec->der_len);
	b = BIO_new(BIO_s_mem());
	if (s->der == NULL || crl == NULL || b == NULL || !PEM_write_bio_X509_CRL(b, crl))
		goto fail;
	memcpy(s->der, rec->der, rec->der_len);
	s->der_len = rec->der_len;
	n = BIO_get_mem_data(b, &data);
	s->pem = malloc((size_t)n + 1);
	if (s->pem == NULL)
		goto fail;
	memcpy(s->pem, data, (size_t)n);
	s->pem[n] = '\0';
	s->pem_len = (size_t)n;
	s->number = rec->number;
	s->this_update = rec->this_update;
	s->next_update = rec->next_update;
	/* The CRL number identifies the content of an issuer's CRL. */
	snprintf(s->etag, sizeof(s->etag), "\"%s-%lld\"", mca_crl_which_name(which),
	         (long long)rec->number);
	BIO_free(b);
	X509_CRL_free(crl);
	return s;
fail:
	BIO_free(b);
	X509_CRL_free(crl);
	free(s->der);
	free(s->pem);
	free(s);
	return NULL;
}

mca_rc
mca_crlcache_refresh(struct mca_crlcache *c, struct mca_store *st, int *changed,
                     struct mca_error *err)
{
	struct mca_crl_rec rec;
	struct mca_crl_snap *s, *old;
	int64_t max = 0, have;
	int i;
	mca_rc rc;

	if (changed != NULL)
		*changed = 0;
	for (i = 0; i < MCA_CRL__COUNT; i++) {
		if ((rc = mca_store_crl_max_number(st, mca_crl_which_name(i), &max, err)) != MCA_OK)
			return rc;
		pthread_mutex_lock(&c->lock);
		have = c->cur[i] ? c->cur[i]->number : 0;
		pthread_mutex_unlock(&c->lock);
		if (max == have)
			continue;
		memset(&rec, 0, sizeof(rec));
		if ((rc = mca_store_crl_latest(st, mca_crl_which_name(i), &rec, err)) != MCA_OK)
			return rc;
		s = snap_new(&rec, i);
		free(rec.der);
		if (s == NULL)
			return mca_error_set(err, MCA_ERR_CRYPTO,
			                     "stored %s CRL %lld does not decode",
			                     mca_crl_which_name(i), (long long)rec.number);
		/* Never go back: another thread may have installed a newer one meanwhile. */
		pthread_mutex_lock(&c->lock);
		old = c->cur[i];
		if (old == NULL || s->number > old->number)
			c->cur[i] = s;
		else
			old = s;
		pthread_mutex_unlock(&c->lock);
		mca_crl_snap_release(old);
		if (changed != NULL)
			*changed = 1;
	}
	return MCA_OK;
}

struct mca_crl_snap *
mca_crlcache_get(struct mca_crlcache *c, enum mca_crl_which which)
{
	struct mca_crl_snap *s;

	pthread_mutex_lock(&c->lock);
	s = c->cur[which];
	if (s != NULL)
		__atomic_add_fetch(&s->refs, 1, __ATOMIC_ACQ_REL);
	pthread_mutex_unlock(&c->lock);
	return s;
}
