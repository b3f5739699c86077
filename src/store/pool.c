/* pool.c - per-thread database connections (see pool.h). */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "store/pool.h"

struct mca_store_pool {
	char *path;
	pthread_key_t full, light;
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
	if (pthread_key_create(&p->full, close_connection) != 0) {
		free(p->path);
		free(p);
		return mca_error_set(err, MCA_ERR_NOMEM, "no thread-specific key for the database");
	}
	if (pthread_key_create(&p->light, close_connection) != 0) {
		pthread_key_delete(p->full);
		free(p->path);
		free(p);
		return mca_error_set(err, MCA_ERR_NOMEM, "no thread-specific key for the database");
	}
	*out = p;
	return MCA_OK;
}

static struct mca_store *
get(struct mca_store_pool *p, pthread_key_t key, int light, struct mca_error *err)
{
	struct mca_store *st = pthread_getspecific(key);

	if (st != NULL)
		return st;
	if ((light ? mca_store_open_light(p->path, &st, err)
	           : mca_store_open(p->path, 0, &st, err)) != MCA_OK)
		return NULL;
	pthread_setspecific(key, st);
	return st;
}

struct mca_store *
mca_store_pool_get(struct mca_store_pool *p, struct mca_error *err)
{
	return get(p, p->full, 0, err);
}

struct mca_store *
mca_store_pool_light(struct mca_store_pool *p, struct mca_error *err)
{
	return get(p, p->light, 1, err);
}

void
mca_store_pool_free(struct mca_store_pool *p)
{
	struct mca_store *st;

	if (p == NULL)
		return;
	/* The calling thread's own connections; other threads closed theirs at exit. */
	if ((st = pthread_getspecific(p->full)) != NULL)
		mca_store_close(st);
	if ((st = pthread_getspecific(p->light)) != NULL)
		mca_store_close(st);
	pthread_key_delete(p->full);
	pthread_key_delete(p->light);
	free(p->path);
	free(p);
}
