/* crl.c - "mtlsca crl": publish a CRL now (the issuing CA's, or with --root the root's). */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "ca/conf.h"
#include "ca/publish.h"
#include "cli/cli.h"
#include "common/util.h"
#include "pki/crl.h"
#include "pki/keys.h"
#include "signer/signer.h"
#include "store/store.h"

void
cli_crl_usage(void)
{
	fputs("usage: mtlsca [-c CONF] crl [--out FILE] [--pem] [--root]\n"
	      "\n"
	      "Build, sign, store and write (to the CRL directory) a new CRL, and print\n"
	      "its CRL number.  With crl.shards, every shard's CRL is published too,\n"
	      "before it.  --out also writes it to FILE (DER, or PEM with --pem).\n"
	      "--root publishes the root's CRL of the issuing-CA level instead (needs\n"
	      "root_key in the config).\n",
	      stdout);
}

/* The newest CRL of `which` written to `path` as DER or PEM. */
static int
write_out(struct mca_store *st, const char *which, const char *path, int pem)
{
	struct mca_crl_rec rec = {0};
	struct mca_error err = {0};
	char *data = NULL;
	size_t n = 0;
	int status = CLI_FAIL;

	if (mca_store_crl_latest(st, which, &rec, &err) != MCA_OK) {
		cli_fail("crl: %s", err.msg);
		goto out;
	}
	if (!pem) {
		if (mca_file_write_atomic(path, rec.der, rec.der_len, 0644, 0, &err) != MCA_OK)
			cli_fail("crl: %s", err.msg);
		else
			status = CLI_OK;
		goto out;
	}
	data = mca_crl_pem(rec.der, rec.der_len, &n);
	if (data == NULL) {
		cli_fail("crl: cannot encode the CRL as PEM: out of memory");
		goto out;
	}
	if (mca_file_write_atomic(path, data, n, 0644, 0, &err) != MCA_OK)
		cli_fail("crl: %s", err.msg);
	else
		status = CLI_OK;
out:
	free(data);
	free(rec.der);
	return status;
}

int
cli_crl(const struct cli_global *g, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"out", required_argument, NULL, 'o'},
	    {"pem", no_argument, NULL, 'p'},
	    {"root", no_argument, NULL, 'r'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *out_path = NULL;
	struct mca_conf *conf = NULL;
	struct mca_store *st = NULL;
	struct mca_signer *signer = NULL;
	struct mca_publish pub;
	struct mca_error err = {0};
	X509 *issuer = NULL;
	int64_t number = 0;
	int c, pem = 0, root = 0, status;

	optind = 0; /* 0, not 1: glibc then also resets its argument permutation */
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out_path = optarg;
			break;
		case 'p':
			pem = 1;
			break;
		case 'r':
			root = 1;
			break;
		case 'h':
			cli_crl_usage();
			return CLI_OK;
		default:
			return cli_usage_error("crl", "invalid option");
		}
	}
	if (optind < argc)
		return cli_usage_error("crl", "unexpected argument '%s'", argv[optind]);
	if ((status = cli_open(g, &conf, &st)) != CLI_OK)
		return status;
	if (root) {
		status = CLI_FAIL;
		if (conf->root_key == NULL) {
			cli_fail("crl: --root needs root_key in %s (the root key is offline)",
			         conf->path);
			goto out;
		}
	}
	if ((status = cli_load_signer(conf, root, &signer, &issuer)) != CLI_OK)
		goto out;
	memset(&pub, 0, sizeof(pub));
	pub.store = st;
	pub.signer = signer;
	pub.issuer = issuer;
	pub.which = root ? "root" : "ca";
	pub.crl_dir = conf->crl_dir;
	pub.validity = root ? conf->root_crl_validity : conf->crl_validity;
	pub.actor = cli_actor();
	if (!root) {
		pub.shards = conf->crl_shards;
		pub.shard_url = conf->crl_shard_url;
	}
	if (mca_publish_crl(&pub, &number, &err) != MCA_OK) {
		status = cli_fail("crl: %s", err.msg);
		goto out;
	}
	if (out_path != NULL && (status = write_out(st, pub.which, out_path, pem)) != CLI_OK)
		goto out;
	printf("%lld\n", (long long)number);
	status = CLI_OK;
out:
	mca_signer_free(signer);
	X509_free(issuer);
	mca_store_close(st);
	mca_conf_free(conf);
	return status;
}
