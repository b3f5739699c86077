/* testutil.c - helpers shared by the Check programs. */
#include "config.h" /* defines _GNU_SOURCE: asprintf, nftw */

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <libpq-fe.h>

#include "testutil.h"

void
tu_mkdtemp(char *buf, size_t len, const char *name)
{
	const char *base = getenv("TMPDIR");

	snprintf(buf, len, "%s/mca-test-%s-XXXXXX", base != NULL && base[0] != '\0' ? base : "/tmp",
	         name);
	if (mkdtemp(buf) == NULL) {
		perror("mkdtemp");
		abort();
	}
}

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void
tu_rmtree(char *dir)
{
	if (dir[0] != '\0')
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	dir[0] = '\0';
}

char *
tu_read(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *text;
	long n;

	ck_assert_msg(f != NULL, "cannot open %s (is MCA_TOP_SRCDIR set?)", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_gt(n, 0);
	rewind(f);
	text = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(text);
	ck_assert_uint_eq(fread(text, 1, (size_t)n, f), (size_t)n);
	text[n] = '\0';
	fclose(f);
	return text;
}

char *
tu_template_path(const char *name)
{
	const char *top = getenv("MCA_TOP_SRCDIR");
	char *path = NULL;

	if (top == NULL || top[0] == '\0')
		top = "..";
	ck_assert_int_ge(asprintf(&path, "%s/templates/%s.json", top, name), 0);
	return path;
}

char *
tu_template(const char *name)
{
	char *path = tu_template_path(name), *text;

	text = tu_read(path);
	free(path);
	return text;
}

char *
tu_subst(char *text, const char *from, const char *to)
{
	char *at = strstr(text, from);
	char *out = NULL;

	ck_assert_msg(at != NULL, "'%s' not in the template", from);
	ck_assert_msg(strstr(at + 1, from) == NULL, "'%s' twice in the template", from);
	ck_assert_int_ge(asprintf(&out, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from)),
	                 0);
	free(text);
	return out;
}

const char *
tu_pg(void)
{
	const char *v = getenv("MCA_TEST_PG");

	return v != NULL && v[0] != '\0' ? v : NULL;
}

void
tu_pg_exec(const char *conninfo, const char *sql)
{
	PGconn *c = PQconnectdb(conninfo);
	PGresult *r;

	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
	r = PQexec(c, sql);
	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK,
	              "%s: %s", sql, PQresultErrorMessage(r));
	PQclear(r);
	PQfinish(c);
}

long long
tu_pg_int(const char *conninfo, const char *sql)
{
	PGconn *c = PQconnectdb(conninfo);
	PGresult *r;
	long long v;

	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
	r = PQexec(c, sql);
	ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0, "%s: %s", sql,
	              PQresultErrorMessage(r));
	v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	PQfinish(c);
	return v;
}

void
tu_pg_reset(const char *conninfo)
{
	tu_pg_exec(conninfo, "SET client_min_messages = warning; DROP SCHEMA public CASCADE;"
	                     " CREATE SCHEMA public");
}

void
tu_db_remove(const char *path)
{
	char p[4200];

	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}
