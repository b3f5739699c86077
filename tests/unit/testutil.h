/*
 * testutil.h - what several Check programs need: a temporary directory per
 * test case, the shipped templates as text, and one-place substitutions
 * in them.  Linked into every unit test (tests/libtestutil.a).
 */
#ifndef MCA_TESTUTIL_H
#define MCA_TESTUTIL_H

#include <stddef.h>

/*
 * A fresh directory $TMPDIR/mca-test-NAME-XXXXXX (/tmp without TMPDIR)
 * into buf.  Aborts on failure: fixtures may run outside a test.
 */
void tu_mkdtemp(char *buf, size_t len, const char *name);

/* Remove the tree at `dir` and empty the string (nothing when already empty). */
void tu_rmtree(char *dir);

/* Remove the SQLite database at `path` with its -wal and -shm files (absent ones are fine). */
void tu_db_remove(const char *path);

/*
 * The PostgreSQL database the store tests run against instead of SQLite:
 * $MCA_TEST_PG (a libpq URI, set by tests/integration/store_pg.sh, which
 * starts a server of its own), NULL when unset or empty.
 */
const char *tu_pg(void);

/* Drop everything in the database `conninfo` (schema public made anew); fails on error. */
void tu_pg_reset(const char *conninfo);

/* Run `sql` on a connection of its own; fails the test on error. */
void tu_pg_exec(const char *conninfo, const char *sql);

/* The first column of the first row of `sql` as an integer; fails on error or no row. */
long long tu_pg_int(const char *conninfo, const char *sql);

/* The whole file at `path`, malloc'd and NUL-terminated; fails the test otherwise. */
char *tu_read(const char *path);

/* The path of the shipped templates/NAME.json ($MCA_TOP_SRCDIR, else ..), malloc'd. */
char *tu_template_path(const char *name);

/* The text of that template, malloc'd. */
char *tu_template(const char *name);

/*
 * Replace the one occurrence of `from` in the malloc'd `text` by `to`
 * (fails the test when `from` is absent or occurs twice); frees `text`.
 */
char *tu_subst(char *text, const char *from, const char *to);

#endif
