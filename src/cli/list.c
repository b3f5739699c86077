/* list.c - "mtlsca list": what this CA issued, filtered. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "ca/conf.h"
#include "ca/record.h"
#include "cli/cli.h"
#include "common/util.h"
#include "store/store.h"

void
cli_list_usage(void)
{
	fputs("usage: mtlsca [-c CONF] list [--status valid|revoked|expired] [--profile NAME]\n"
	      "                          [--json]\n"
	      "\n"
	      "List the certificates this CA issued (including its own), by serial.\n"
	      "--json prints one JSON array of records.\n",
	      stdout);
}

struct list_out {
	json_t *arr; /* --json: records collected here; else printed as a table */
	int64_t now;
};

/* One record: into the JSON array, or one table row. */
static int
list_one(void *arg, const struct mca_cert_rec *rec)
{
	struct list_out *o = arg;
	json_t *j = mca_record_to_json(rec, o->now);
	char *names;

	if (j == NULL)
		return 1;
	if (o->arr != NULL)
		return json_array_append_new(o->arr, j) != 0;
	names = json_dumps(json_object_get(j, "names"), JSON_COMPACT);
	printf("%-32s  %-16s  %-7s  %s  %s\n", rec->serial, rec->profile,
	       json_string_value(json_object_get(j, "status")),
	       json_string_value(json_object_get(j, "not_after")), names ? names : "[]");
	free(names);
	json_decref(j);
	return 0;
}

int
cli_list(const struct cli_global *g, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"status", required_argument, NULL, 's'},
	    {"profile", required_argument, NULL, 'p'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct mca_cert_filter f;
	struct mca_conf *conf = NULL;
	struct mca_store *st = NULL;
	struct mca_error err = {0};
	struct list_out o = {NULL, 0};
	int c, json = 0, status;

	memset(&f, 0, sizeof(f));
	optind = 0; /* 0, not 1: glibc then also resets its argument permutation */
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (strcmp(optarg, "valid") != 0 && strcmp(optarg, "revoked") != 0 &&
			    strcmp(optarg, "expired") != 0)
				return cli_usage_error(
				    "list", "--status must be valid, revoked or expired");
			f.status = optarg;
			break;
		case 'p':
			f.profile = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			cli_list_usage();
			return CLI_OK;
		default:
			return cli_usage_error("list", "invalid option");
		}
	}
	if (optind < argc)
		return cli_usage_error("list", "unexpected argument '%s'", argv[optind]);
	if ((status = cli_open(g, &conf, &st)) != CLI_OK)
		return status;
	o.now = (int64_t)mca_now();
	f.now = o.now;
	if (json && (o.arr = json_array()) == NULL) {
		status = cli_fail("list: out of memory");
		goto out;
	}
	if (!json)
		printf("%-32s  %-16s  %-7s  %-20s  %s\n", "SERIAL", "PROFILE", "STATUS",
		       "NOT_AFTER", "NAMES");
	if (mca_store_cert_list(st, &f, list_one, &o, &err) != MCA_OK) {
		status = cli_fail_err("list", &err);
		goto out;
	}
	if (json) {
		if (json_dumpf(o.arr, stdout, JSON_INDENT(2)) != 0) {
			status = cli_fail("list: writing JSON failed");
			goto out;
		}
		putchar('\n');
	}
	status = CLI_OK;
out:
	json_decref(o.arr);
	mca_store_close(st);
	mca_conf_free(conf);
	return status;
}
