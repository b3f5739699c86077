/* pool.c - per-thread database connections (see pool.h). */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "store/pool.h"

struct mca_store_pool {
	char *path;
	pthread_key_t key;
};

static void
close_connection(void *st)
{
	mca_store_close(st);
}

mca_rc
mca_store_pool_new(const char *path, struct mca_store_pool **out, struct mca_error *err)
{
	struct mca_store_pool *p;

	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (p == NULL || (p->path = strdup(path)) == NULL) {
		free(p);
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	}
	if (pthread_key_create(&p->key, close_connection) != 0) {
		free(p->path);
		free(p);
		return mca_error_set(err, MCA_ERR_NOMEM, "no thread-specific key for the database");
	}
	*out = p;
	return MCA_OK;
}

struct mca_store *
mca_store_pool_get(struct mca_store_pool *p, struct mca_error *err)
{
	struct mca_store *st = pthread_getspecific(p->key);

	if (st != NULL)
		return st;
	if (mca_store_open(p->path, MCA_STORE_WAIT, &st, err) != MCA_OK)
		return NULL;
	pthread_setspecific(p->key, st);
	return st;
}

void
mca_store_pool_free(struct mca_store_pool *p)
{
	struct mca_store *st;

	if (p == NULL)
		return;
	/* The calling thread's own connection; other threads closed theirs at exit. */
	if ((st = pthread_getspecific(p->key)) != NULL)
		mca_store_close(st);
	pthread_key_delete(p->key);
	free(p->path);
	free(p);
}
