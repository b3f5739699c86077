/*
 * util.h - small file-system and string helpers shared by every module.
 *
 * Ownership: buffers returned through `char **`/`unsigned char **` are
 * allocated with malloc and owned by the caller (free()).
 */
#ifndef MCA_UTIL_H
#define MCA_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/err.h"

/* Largest file mca_file_read accepts; config, PEM and template files are small. */
#define MCA_FILE_MAX (16u * 1024u * 1024u)

/*
 * Read all of `path` into a NUL-terminated malloc'd buffer (*out, length
 * *outlen without the NUL).  Files over MCA_FILE_MAX are refused.
 */
mca_rc mca_file_read(const char *path, char **out, size_t *outlen, struct mca_error *err);

/*
 * Write `len` bytes to `path` atomically: a temporary file in the same
 * directory created with `mode`, fsync, rename over `path`, fsync of the
 * directory.  With `excl`, an existing `path` is an MCA_ERR_EXISTS error.
 */
mca_rc mca_file_write_atomic(const char *path, const void *data, size_t len, unsigned mode,
                             int excl, struct mca_error *err);

/* fsync the directory holding `path` (or `path` itself when it is a directory). */
mca_rc mca_fsync_dir(const char *dir, struct mca_error *err);

/* Whether `path` exists (any type). */
int mca_path_exists(const char *path);

/*
 * Join `dir` and `rel` into a malloc'd path; an absolute `rel` is returned
 * as is.  Returns NULL on allocation failure.
 */
char *mca_path_join(const char *dir, const char *rel);

/* malloc'd copy of the directory part of `path` ("." when there is none). */
char *mca_path_dirname(const char *path);

/*
 * Read a passphrase file: the first line, without its line ending.  An
 * empty passphrase is an error.  *out is malloc'd; wipe it with
 * mca_free_secret().
 */
mca_rc mca_passphrase_read(const char *path, char **out, struct mca_error *err);

/* Wipe and free a NUL-terminated secret (NULL is fine). */
void mca_free_secret(char *s);

/* Format `t` as RFC 3339 UTC ("2026-11-26T21:00:00Z") into buf (>= 21 bytes). */
void mca_time_rfc3339(time_t t, char *buf, size_t len);

/* Lower-case hex of `len` bytes into `out` (2*len+1 bytes). */
void mca_hex(const unsigned char *in, size_t len, char *out);

/* strdup that returns NULL for a NULL input. */
char *mca_strdup(const char *s);

/* Current time; tests may pin it with mca_time_set_fake (0 restores the clock). */
time_t mca_now(void);
void mca_time_set_fake(time_t t);

#endif
