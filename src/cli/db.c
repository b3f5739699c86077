/* db.c - "mtlsca db copy": move a CA's database to another backend. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "ca/conf.h"
#include "cli/cli.h"
#include "common/err.h"
#include "store/store.h"

void
cli_db_usage(void)
{
	fputs("usage: mtlsca db copy --to DATABASE\n"
	      "\n"
	      "Copy the whole database of the CA (its \"database\" setting) into DATABASE,\n"
	      "a PostgreSQL URI or keyword string (or a SQLite path) whose schema mtlsca\n"
	      "creates: certificates, CRLs and their numbers, tokens, audit rows,\n"
	      "validations and ACME state.  DATABASE must hold no rows; the counts of\n"
	      "both sides are checked.  Writers on the source wait while it runs.\n"
	      "Then point \"database\" in mtlsca.conf at DATABASE.\n",
	      stdout);
}

static int
db_copy(const struct cli_global *g, const char *to)
{
	struct mca_conf *conf = NULL;
	struct mca_store *src = NULL, *dst = NULL;
	struct mca_error err = {0};
	int64_t counts[MCA_STORE_COPY_TABLES];
	size_t i;
	int ret;

	if ((ret = cli_open(g, &conf, &src)) != CLI_OK)
		return ret;
	if (strcmp(conf->database, to) == 0) {
		ret = cli_fail("db copy: --to names the CA's own database");
		goto out;
	}
	if (mca_store_open(to, MCA_STORE_CREATE, &dst, &err) != MCA_OK ||
	    mca_store_copy(src, dst, counts, &err) != MCA_OK) {
		ret = cli_fail_err("db copy", &err);
		goto out;
	}
	for (i = 0; i < MCA_STORE_COPY_TABLES; i++)
		printf("%-16s %lld rows\n", mca_store_copy_table(i), (long long)counts[i]);
	ret = CLI_OK;
out:
	mca_store_close(dst);
	mca_store_close(src);
	mca_conf_free(conf);
	return ret;
}

int
cli_db(const struct cli_global *g, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"to", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *to = NULL;
	int c;

	if (argc < 2 || strcmp(argv[1], "copy") != 0) {
		if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
			cli_db_usage();
			return CLI_OK;
		}
		return cli_usage_error("db", "the only subcommand is \"copy\"");
	}
	argc--;
	argv++;
	optind = 0; /* 0, not 1: glibc then also resets its argument permutation */
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			to = optarg;
			break;
		case 'h':
			cli_db_usage();
			return CLI_OK;
		default:
			return cli_usage_error("db", "unknown option");
		}
	}
	if (optind != argc)
		return cli_usage_error("db", "unexpected argument '%s'", argv[optind]);
	if (to == NULL || to[0] == '\0')
		return cli_usage_error("db", "db copy needs --to DATABASE");
	return db_copy(g, to);
}
