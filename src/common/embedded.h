/*
 * embedded.h - files compiled into the program: the SQL migrations of
 * sql/ and the default profile templates of templates/, so a binary always
 * carries the schema it was built for.  Each array ends with {NULL, NULL}
 * and is sorted by name as the build lists it.
 */
#ifndef MCA_EMBEDDED_H
#define MCA_EMBEDDED_H

struct mca_embedded {
	const char *name; /* base name: "0001-initial.sql", "private.json" */
	const char *text;
};

extern const struct mca_embedded mca_embedded_sql[];
extern const struct mca_embedded mca_embedded_pg_sql[]; /* sql/pg/: PostgreSQL */
extern const struct mca_embedded mca_embedded_templates[];

#endif
