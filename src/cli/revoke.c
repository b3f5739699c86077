/* revoke.c - "mtlsca revoke SERIAL": revoke, then publish a CRL before returning. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "ca/conf.h"
#include "ca/publish.h"
#include "ca/revoke.h"
#include "cli/cli.h"
#include "common/util.h"
#include "pki/keys.h"
#include "pki/serial.h"
#include "signer/signer.h"
#include "store/store.h"

void
cli_revoke_usage(void)
{
	fputs("usage: mtlsca [-c CONF] revoke SERIAL [--reason REASON]\n"
	      "\n"
	      "Mark the certificate revoked and publish a new CRL before returning.\n"
	      "REASON: unspecified (default), keyCompromise, caCompromise,\n"
	      "affiliationChanged, superseded, cessationOfOperation, privilegeWithdrawn.\n"
	      "Revoking a revoked certificate changes nothing and succeeds.\n",
	      stdout);
}

int
cli_revoke(const struct cli_global *g, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"reason", required_argument, NULL, 'r'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *reason = "unspecified";
	struct mca_conf *conf = NULL;
	struct mca_store *st = NULL;
	struct mca_signer *signer = NULL;
	struct mca_publish pub;
	struct mca_revoke_result rr;
	struct mca_error err = {0};
	char serial[MCA_SERIAL_HEX_MAX];
	X509 *ca = NULL;
	int c, status;

	optind = 0; /* 0, not 1: glibc then also resets its argument permutation */
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			reason = optarg;
			break;
		case 'h':
			cli_revoke_usage();
			return CLI_OK;
		default:
			return cli_usage_error("revoke", "invalid option");
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error("revoke", "exactly one SERIAL is required");
	if (mca_serial_normalize(argv[optind], serial, &err) != MCA_OK)
		return cli_fail("revoke: %s", err.msg);
	if ((status = cli_open(g, &conf, &st)) != CLI_OK)
		return status;
	if ((status = cli_load_signer(conf, 0, &signer, &ca)) != CLI_OK)
		goto out;
	memset(&pub, 0, sizeof(pub));
	pub.store = st;
	pub.signer = signer;
	pub.issuer = ca;
	pub.which = "ca";
	pub.crl_dir = conf->crl_dir;
	pub.validity = conf->crl_validity;
	pub.actor = cli_actor();
	pub.shards = conf->crl_shards;
	pub.shard_url = conf->crl_shard_url;
	if (mca_revoke(&pub, serial, reason, MCA_REVOKER_ADMIN, cli_actor(), &rr, &err) != MCA_OK) {
		status = cli_fail_err("revoke", &err);
		goto out;
	}
	if (rr.changed)
		printf("revoked %s (%s); published CRL number %lld\n", serial, rr.reason,
		       (long long)rr.crl_number);
	else
		printf("%s was already revoked (%s)\n", serial, rr.reason);
	status = CLI_OK;
out:
	mca_signer_free(signer);
	X509_free(ca);
	mca_store_close(st);
	mca_conf_free(conf);
	return status;
}
