/* issue.c - "mtlsca issue": offline issuance under a profile, recorded like the API's. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/conf.h"
#include "ca/issue.h"
#include "cli/cli.h"
#include "common/duration.h"
#include "common/util.h"
#include "pki/csr.h"
#include "pki/keys.h"
#include "policy/profile.h"
#include "signer/signer.h"
#include "store/store.h"

void
cli_issue_usage(void)
{
	fputs("usage: mtlsca [-c CONF] issue --csr FILE --profile NAME [--validity DURATION]\n"
	      "                           [--out FILE]\n"
	      "\n"
	      "Issue a certificate for the CSR in FILE (PEM or DER) under profile NAME,\n"
	      "with the same policy checks and recording as the API.  Prints the\n"
	      "certificate PEM, or writes it to --out.  Profiles that issue only after\n"
	      "domain validation (domain-validated) need a current recorded validation\n"
	      "of every name.\n",
	      stdout);
}

int
cli_issue(const struct cli_global *g, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"csr", required_argument, NULL, 'r'},      {"profile", required_argument, NULL, 'p'},
	    {"validity", required_argument, NULL, 'v'}, {"out", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
	};
	const char *csr_path = NULL, *profile = NULL, *out_path = NULL;
	struct mca_conf *conf = NULL;
	struct mca_store *st = NULL;
	struct mca_profiles *profiles = NULL;
	struct mca_signer *signer = NULL;
	struct mca_issuer *issuer = NULL;
	struct mca_csr *csr = NULL;
	struct mca_issue_req req;
	struct mca_issued iss;
	struct mca_error err = {0};
	X509 *ca = NULL;
	char *data = NULL, *pem = NULL;
	size_t len = 0;
	int64_t validity = 0;
	int c, status;

	memset(&iss, 0, sizeof(iss));
	optind = 0; /* 0, not 1: glibc then also resets its argument permutation */
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			csr_path = optarg;
			break;
		case 'p':
			profile = optarg;
			break;
		case 'v':
			if (mca_duration_parse(optarg, &validity, &err) != MCA_OK)
				return cli_usage_error("issue", "--validity: %s", err.msg);
			break;
		case 'o':
			out_path = optarg;
			break;
		case 'h':
			cli_issue_usage();
			return CLI_OK;
		default:
			return cli_usage_error("issue", "invalid option");
		}
	}
	if (optind < argc)
		return cli_usage_error("issue", "unexpected argument '%s'", argv[optind]);
	if (csr_path == NULL || profile == NULL)
		return cli_usage_error("issue", "--csr and --profile are required");
	if ((status = cli_open(g, &conf, &st)) != CLI_OK)
		return status;
	status = CLI_FAIL;
	if (cli_load_signer(conf, 0, &signer, &ca) != CLI_OK)
		goto out;
	if (mca_file_read(csr_path, &data, &len, &err) != MCA_OK ||
	    mca_csr_parse(data, len, &csr, &err) != MCA_OK ||
	    mca_profiles_load(conf->templates_dir, &profiles, &err) != MCA_OK ||
	    mca_issuer_new(signer, ca, profiles, conf->crl_url, conf->ca_issuers_url, &issuer,
	                   &err) != MCA_OK) {
		cli_fail_err("issue", &err);
		goto out;
	}
	mca_issuer_set_crl_shards(issuer, conf->crl_shards, conf->crl_shard_url);
	if (conf->ocsp_url != NULL)
		mca_issuer_set_ocsp_url(issuer, conf->ocsp_url);
	memset(&req, 0, sizeof(req));
	req.csr = csr;
	req.profile = profile;
	req.validity = validity;
	req.auth = MCA_ISSUE_ADMIN;
	req.requester = cli_actor();
	req.actor = cli_actor();
	req.action = "issue";
	if (mca_issue(issuer, st, &req, &iss, &err) != MCA_OK ||
	    mca_cert_der_to_pem(iss.der, iss.der_len, &pem, &err) != MCA_OK) {
		cli_fail_err("issue", &err);
		goto out;
	}
	if (out_path != NULL) {
		if (mca_file_write_atomic(out_path, pem, strlen(pem), 0644, 0, &err) != MCA_OK) {
			/* Recorded already: say so, so the operator can fetch it with show --pem.
			 */
			cli_fail("issue: certificate %s recorded, but %s", iss.serial, err.msg);
			goto out;
		}
		fprintf(stderr, "mtlsca: issued %s\n", iss.serial);
	} else {
		fputs(pem, stdout);
	}
	status = CLI_OK;
out:
	free(pem);
	mca_issued_clear(&iss);
	mca_issuer_free(issuer);
	mca_signer_free(signer);
	X509_free(ca);
	mca_csr_free(csr);
	free(data);
	mca_profiles_free(profiles);
	mca_store_close(st);
	mca_conf_free(conf);
	return status;
}
