/* keys.c - "mtlsca keys list": which keys a CA uses and where they live. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>

#include "ca/conf.h"
#include "cli/cli.h"
#include "pki/keys.h"
#include "signer/p11uri.h"
#include "signer/pkcs11.h"
#include "signer/signer.h"

void
cli_keys_usage(void)
{
	fputs("usage: mtlsca [-c CONF] keys list [--check]\n"
	      "\n"
	      "List the keys the CA uses: the root and issuing CA keys and the daemon's\n"
	      "TLS key, each with where it lives (a key file, a PKCS#11 token by URI\n"
	      "and module, or offline) and its type (from its certificate).  --check\n"
	      "also opens the root and issuing CA keys (PIN or passphrase from the\n"
	      "files the configuration names) and signs a probe message with each;\n"
	      "the exit status is 1 when one of them is not usable.\n",
	      stdout);
}

/* "ec-p256", "rsa-3072", "ed25519", ... of a certificate's public key. */
static const char *
type_of(EVP_PKEY *k, char *buf, size_t len)
{
	char group[64] = "";
	size_t glen = 0;

	if (k == NULL)
		return "?";
	if (EVP_PKEY_is_a(k, "EC")) {
		EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
		                               &glen);
		ERR_clear_error();
		if (strcmp(group, "prime256v1") == 0)
			return "ec-p256";
		if (strcmp(group, "secp384r1") == 0)
			return "ec-p384";
		snprintf(buf, len, "ec-%s", group);
		return buf;
	}
	if (EVP_PKEY_is_a(k, "RSA")) {
		snprintf(buf, len, "rsa-%d", EVP_PKEY_get_bits(k));
		return buf;
	}
	if (EVP_PKEY_is_a(k, "ED25519"))
		return "ed25519";
	return "?";
}

/* One line; with `check` (CA keys only) the key is opened and probed. */
static int
list_one(const struct mca_conf *conf, const char *name, const char *key, const char *cert_path,
         int check)
{
	const struct mca_p11conf p11 = {conf->pkcs11_module, conf->pkcs11_pin_file};
	struct mca_error err = {0};
	struct mca_signer *s = NULL;
	X509 *cert = NULL;
	char tbuf[32];
	const char *type = "?";
	int ok = 1;

	if (mca_cert_load(cert_path, &cert, &err) == MCA_OK)
		type = type_of(X509_get0_pubkey(cert), tbuf, sizeof(tbuf));
	if (key == NULL)
		printf("%-7s %-8s %-8s %s\n", name, "offline", type, "-");
	else if (mca_p11uri_is(key))
		printf("%-7s %-8s %-8s %s (module %s)\n", name, "pkcs11", type, key,
		       conf->pkcs11_module ? conf->pkcs11_module : "from the URI");
	else
		printf("%-7s %-8s %-8s %s\n", name, "file", type, key);
	if (check && key != NULL && cert != NULL) {
		if (mca_signer_open(key, conf->passphrase_file, &p11, cert, cert_path, &s, &err) !=
		        MCA_OK ||
		    mca_signer_probe(s, &err) != MCA_OK) {
			printf("        check: FAILED: %s\n", err.msg);
			ok = 0;
		} else {
			printf("        check: ok (signs for %s)\n", cert_path);
		}
	} else if (check && key != NULL) {
		printf("        check: FAILED: %s\n", err.msg);
		ok = 0;
	}
	mca_signer_free(s);
	X509_free(cert);
	return ok;
}

int
cli_keys(const struct cli_global *g, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"check", no_argument, NULL, 'C'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct mca_conf *conf = NULL;
	struct mca_error err = {0};
	int c, check = 0, ok;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'C':
			check = 1;
			break;
		case 'h':
			cli_keys_usage();
			return CLI_OK;
		default:
			return cli_usage_error("keys", "invalid option");
		}
	}
	if (optind >= argc || strcmp(argv[optind], "list") != 0)
		return cli_usage_error("keys", "the subcommand is 'list'");
	if (optind + 1 < argc)
		return cli_usage_error("keys", "unexpected argument '%s'", argv[optind + 1]);
	if (mca_conf_load(g->config, &conf, &err) != MCA_OK)
		return cli_fail("%s", err.msg);
	printf("%-7s %-8s %-8s %s\n", "KEY", "WHERE", "TYPE", "LOCATION");
	ok = list_one(conf, "root", conf->root_key, conf->root_cert, check);
	ok &= list_one(conf, "ca", conf->ca_key, conf->ca_cert, check);
	/* the TLS key is no CA key: listed, not opened */
	list_one(conf, "server", conf->server_key, conf->server_cert, 0);
	mca_conf_free(conf);
	return ok ? CLI_OK : CLI_FAIL;
}
