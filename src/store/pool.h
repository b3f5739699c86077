/*
 * pool.h - one database connection per thread, for servers.
 *
 * A SQLite connection must not be shared between threads that use it at
 * the same time; the daemon's request threads, workers and main loop each
 * get their own, opened on first use and closed when the thread exits.
 *
 * Connections are opened with MCA_STORE_WAIT (store.h): a database
 * server that is down makes each use fail with a conflict until it is
 * back, instead of failing the open.
 *
 * Thread-safety: mca_store_pool_get may be called from any thread at
 * once; new and free from one thread, free only after every other thread
 * that used the pool has exited (their connections are closed then).
 */
#ifndef MCA_STORE_POOL_H
#define MCA_STORE_POOL_H

#include "common/err.h"
#include "store/store.h"

struct mca_store_pool;

/* A pool over the database at `path` (copied). */
mca_rc mca_store_pool_new(const char *path, struct mca_store_pool **out, struct mca_error *err);

/* The calling thread's connection; NULL (and err set) when it cannot be opened. */
struct mca_store *mca_store_pool_get(struct mca_store_pool *p, struct mca_error *err);

void mca_store_pool_free(struct mca_store_pool *p);

#endif
