/* mtlsca.c - the admin and bootstrap CLI: global options, then one verb. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/log.h"

const struct cli_verb cli_verbs[] = {
    {"init", "bootstrap a new internal PKI", cli_init, cli_init_usage},
    {"token", "create, list and revoke enrollment tokens", cli_token, cli_token_usage},
    {"issue", "issue a certificate for a CSR (offline, as admin)", cli_issue, cli_issue_usage},
    {"list", "list issued certificates", cli_list, cli_list_usage},
    {"show", "show one certificate's record", cli_show, cli_show_usage},
    {"revoke", "revoke a certificate and publish a new CRL", cli_revoke, cli_revoke_usage},
    {"crl", "publish a new CRL now", cli_crl, cli_crl_usage},
    {"keys", "list the CA's keys and where they live (files, PKCS#11)", cli_keys, cli_keys_usage},
    {"db", "copy the CA's database to another (PostgreSQL)", cli_db, cli_db_usage},
    {"ocsp", "show what the OCSP responder says of a certificate", cli_ocsp, cli_ocsp_usage},
    {"request", "get a certificate from mtlscad with a token (client)", cli_request,
     cli_request_usage},
    {"renew", "renew a certificate over mTLS (client)", cli_renew, cli_renew_usage},
    {NULL, NULL, NULL, NULL},
};

static void
usage(FILE *f)
{
	const struct cli_verb *v;

	fputs("usage: mtlsca [-c FILE] COMMAND [OPTIONS]\n"
	      "       mtlsca --help | --version\n"
	      "\n"
	      "  -c, --config FILE  CA configuration (default $MTLSCA_CONFIG, else ./mtlsca.conf)\n"
	      "\n"
	      "Commands:\n",
	      f);
	for (v = cli_verbs; v->name != NULL; v++)
		fprintf(f, "  %-10s %s\n", v->name, v->summary);
	fputs("\nRun 'mtlsca COMMAND --help' for the options of a command.\n", f);
}

/*
 * doc/cli.md: every verb but init takes -c/--config FILE, also after the verb
 * ("mtlsca list -c ca/mtlsca.conf").  Take it out of argv so the verbs'
 * own option parsers never see it; returns the new argc.
 */
static int
take_config(struct cli_global *g, int argc, char **argv, int from)
{
	int i = from, j;
	int drop;

	while (i < argc && strcmp(argv[i], "--") != 0) {
		drop = 0;
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) &&
		    i + 1 < argc) {
			g->config = argv[i + 1];
			drop = 2;
		} else if (strncmp(argv[i], "--config=", 9) == 0) {
			g->config = argv[i] + 9;
			drop = 1;
		}
		if (drop == 0) {
			i++;
			continue;
		}
		for (j = i; j + drop <= argc; j++)
			argv[j] = argv[j + drop];
		argc -= drop;
	}
	return argc;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct cli_global g;
	const struct cli_verb *v;
	int c;

	mca_log_set_ident("mtlsca");
	g.config = getenv("MTLSCA_CONFIG");
	if (g.config == NULL || g.config[0] == '\0')
		g.config = "mtlsca.conf";
	/* '+': stop at the verb; its options are its own. */
	while ((c = getopt_long(argc, argv, "+c:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			g.config = optarg;
			break;
		case 'h':
			usage(stdout);
			return CLI_OK;
		case 'V':
			printf("mtlsca %s\n", PACKAGE_VERSION);
			return CLI_OK;
		default:
			usage(stderr);
			return CLI_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CLI_USAGE;
	}
	for (v = cli_verbs; v->name != NULL; v++)
		if (strcmp(v->name, argv[optind]) == 0) {
			if (strcmp(v->name, "init") != 0)
				argc = take_config(&g, argc, argv, optind + 1);
			return v->run(&g, argc - optind, argv + optind);
		}
	fprintf(stderr, "mtlsca: unknown command '%s' (see 'mtlsca --help')\n", argv[optind]);
	return CLI_USAGE;
}
