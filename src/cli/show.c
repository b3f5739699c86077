/* show.c - "mtlsca show SERIAL": one certificate's record, as text, JSON or PEM. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <openssl/pem.h>

#include "ca/conf.h"
#include "ca/record.h"
#include "cli/cli.h"
#include "common/util.h"
#include "pki/serial.h"
#include "store/store.h"

void
cli_show_usage(void)
{
	fputs("usage: mtlsca [-c CONF] show SERIAL [--json | --pem]\n"
	      "\n"
	      "Show the record of the certificate with SERIAL (hex, any case, colons\n"
	      "allowed): as text, as one JSON object (--json), or the certificate PEM\n"
	      "(--pem).\n",
	      stdout);
}

/* PEM of the stored DER. */
static int
print_pem(const struct mca_cert_rec *rec)
{
	const unsigned char *p = rec->der;
	X509 *x = d2i_X509(NULL, &p, (long)rec->der_len);
	int ok = x != NULL && PEM_write_X509(stdout, x);

	X509_free(x);
	return ok;
}

static void
print_text(json_t *j)
{
	const char *key;
	json_t *v;
	char *s;

	json_object_foreach(j, key, v)
	{
		if (json_is_string(v))
			printf("%-20s %s\n", key, json_string_value(v));
		else if (json_is_null(v))
			printf("%-20s -\n", key);
		else {
			s = json_dumps(v, JSON_COMPACT);
			printf("%-20s %s\n", key, s ? s : "?");
			free(s);
		}
	}
}

int
cli_show(const struct cli_global *g, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"pem", no_argument, NULL, 'p'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct mca_conf *conf = NULL;
	struct mca_store *st = NULL;
	struct mca_cert_rec *rec = NULL;
	struct mca_error err = {0};
	char serial[MCA_SERIAL_HEX_MAX];
	json_t *j = NULL;
	int c, json = 0, pem = 0, status;

	optind = 0; /* 0, not 1: glibc then also resets its argument permutation */
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = 1;
			break;
		case 'p':
			pem = 1;
			break;
		case 'h':
			cli_show_usage();
			return CLI_OK;
		default:
			return cli_usage_error("show", "invalid option");
		}
	}
	if (json && pem)
		return cli_usage_error("show", "--json and --pem exclude each other");
	if (optind + 1 != argc)
		return cli_usage_error("show", "exactly one SERIAL is required");
	if (mca_serial_normalize(argv[optind], serial, &err) != MCA_OK)
		return cli_fail("show: %s", err.msg);
	if ((status = cli_open(g, &conf, &st)) != CLI_OK)
		return status;
	status = CLI_FAIL;
	if (mca_store_cert_get(st, serial, &rec, &err) != MCA_OK) {
		cli_fail_err("show", &err);
		goto out;
	}
	if (pem) {
		if (!print_pem(rec)) {
			cli_fail("show: stored certificate %s does not decode", serial);
			goto out;
		}
		status = CLI_OK;
		goto out;
	}
	j = mca_record_to_json(rec, (int64_t)mca_now());
	if (j == NULL) {
		cli_fail("show: out of memory");
		goto out;
	}
	if (json) {
		json_dumpf(j, stdout, JSON_INDENT(2));
		putchar('\n');
	} else {
		print_text(j);
	}
	status = CLI_OK;
out:
	json_decref(j);
	mca_cert_rec_free(rec);
	mca_store_close(st);
	mca_conf_free(conf);
	return status;
}
