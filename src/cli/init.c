/* init.c - "mtlsca init": bootstrap a CA directory. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/conf.h"
#include "ca/pkiinit.h"
#include "cli/cli.h"

void
cli_init_usage(void)
{
	fputs("usage: mtlsca init --dir DIR [--name NAME] [--key-type TYPE]\n"
	      "                   [--dns NAME[,NAME...]] [--ip ADDR[,ADDR...]]\n"
	      "                   [--listen HOST:PORT] [--http-listen HOST:PORT]\n"
	      "                   [--public-url URL] [--passphrase-file FILE]\n"
	      "                   [--pkcs11-module PATH --pkcs11-token LABEL\n"
	      "                    --pkcs11-pin-file FILE] [--ocsp]\n"
	      "                   [--database DATABASE]\n"
	      "\n"
	      "Create a new internal PKI in DIR (which must not exist, or be empty):\n"
	      "root and issuing CA, the daemon's TLS certificate, an admin client\n"
	      "certificate, mtlsca.conf, the database, templates and the first CRLs.\n"
	      "\n"
	      "  --name NAME             CA name (default \"mtlsca Internal CA\")\n"
	      "  --key-type TYPE         ec-p256 (default), ec-p384, rsa-2048, rsa-3072,\n"
	      "                          rsa-4096, ed25519\n"
	      "  --dns NAMES             server.crt DNS names (default localhost)\n"
	      "  --ip ADDRS              server.crt IP addresses (default 127.0.0.1,::1)\n"
	      "  --listen HOST:PORT      HTTPS API listener (default 127.0.0.1:8443)\n"
	      "  --http-listen HOST:PORT plain HTTP listener (default 127.0.0.1:8080)\n"
	      "  --public-url URL        base of the CRL and caIssuers URLs in certificates\n"
	      "                          (default http://HTTP-LISTEN; needed with port 0)\n"
	      "  --passphrase-file FILE  encrypt the private keys with the first line of FILE\n"
	      "  --pkcs11-module PATH    generate the root and issuing CA keys in a PKCS#11\n"
	      "  --pkcs11-token LABEL    token (module, token label, user PIN in the first\n"
	      "  --pkcs11-pin-file FILE  line of FILE); no CA key file is written\n"
	      "  --ocsp                  turn the OCSP responder on (\"ocsp\": {}); with\n"
	      "                          --pkcs11-*, its key is generated in the token too\n"
	      "  --database DATABASE     a PostgreSQL URI or keyword string (an empty\n"
	      "                          database) instead of DIR/mtlsca.db\n",
	      stdout);
}

/* Split a comma list into the NULL-terminated array `out`; returns -1 when too many. */
static int
split_list(char *s, const char **out, size_t max)
{
	size_t n = 0;
	char *tok, *save = NULL;

	while (n < max && out[n] != NULL)
		n++;
	for (tok = strtok_r(s, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		if (n + 1 >= max)
			return -1;
		out[n++] = tok;
		out[n] = NULL;
	}
	return 0;
}

int
cli_init(const struct cli_global *g, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"dir", required_argument, NULL, 'd'},
	    {"name", required_argument, NULL, 'n'},
	    {"key-type", required_argument, NULL, 'k'},
	    {"dns", required_argument, NULL, 'D'},
	    {"ip", required_argument, NULL, 'I'},
	    {"listen", required_argument, NULL, 'l'},
	    {"http-listen", required_argument, NULL, 'L'},
	    {"passphrase-file", required_argument, NULL, 'p'},
	    {"public-url", required_argument, NULL, 'u'},
	    {"pkcs11-module", required_argument, NULL, 'M'},
	    {"pkcs11-token", required_argument, NULL, 'T'},
	    {"pkcs11-pin-file", required_argument, NULL, 'P'},
	    {"database", required_argument, NULL, 'B'},
	    {"ocsp", no_argument, NULL, 'O'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct mca_init_opts o;
	struct mca_init_result res;
	struct mca_error err = {0};
	struct mca_hostport http;
	int c, kt;

	memset(&o, 0, sizeof(o));
	o.name = "mtlsca Internal CA";
	o.key_type = MCA_KEY_EC_P256;
	optind = 0; /* 0, not 1: glibc then also resets its argument permutation */
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			o.dir = optarg;
			break;
		case 'n':
			o.name = optarg;
			break;
		case 'k':
			kt = mca_key_type_parse(optarg);
			if (kt < 0)
				return cli_usage_error("init", "unknown key type '%s'", optarg);
			o.key_type = (enum mca_key_type)kt;
			break;
		case 'D':
			if (split_list(optarg, o.dns, MCA_INIT_MAX_NAMES) != 0)
				return cli_usage_error("init", "too many --dns names");
			break;
		case 'I':
			if (split_list(optarg, o.ip, MCA_INIT_MAX_NAMES) != 0)
				return cli_usage_error("init", "too many --ip addresses");
			break;
		case 'l':
			o.listen = optarg;
			break;
		case 'L':
			o.http_listen = optarg;
			break;
		case 'p':
			o.passphrase_file = optarg;
			break;
		case 'B':
			o.database = optarg;
			break;
		case 'u':
			o.public_url = optarg;
			break;
		case 'M':
			o.pkcs11_module = optarg;
			break;
		case 'T':
			o.pkcs11_token = optarg;
			break;
		case 'P':
			o.pkcs11_pin_file = optarg;
			break;
		case 'O':
			o.ocsp = 1;
			break;
		case 'h':
			cli_init_usage();
			return CLI_OK;
		default:
			return cli_usage_error("init", "invalid option");
		}
	}
	if (optind < argc)
		return cli_usage_error("init", "unexpected argument '%s'", argv[optind]);
	if (o.dir == NULL)
		return cli_usage_error("init", "--dir is required");
	if ((o.pkcs11_module != NULL) != (o.pkcs11_token != NULL) ||
	    (o.pkcs11_module != NULL) != (o.pkcs11_pin_file != NULL))
		return cli_usage_error("init", "--pkcs11-module, --pkcs11-token and "
		                               "--pkcs11-pin-file go together");
	/* A free port at each start cannot be named in certificates. */
	if (o.public_url == NULL && o.http_listen != NULL &&
	    mca_hostport_parse(o.http_listen, &http, &err) == MCA_OK && http.port == 0)
		return cli_usage_error(
		    "init",
		    "--http-listen %s: port 0 cannot go into the CRL and caIssuers "
		    "URLs of certificates; give --public-url URL or a fixed port",
		    o.http_listen);
	if (o.dns[0] == NULL && o.ip[0] == NULL) {
		o.dns[0] = "localhost";
		o.ip[0] = "127.0.0.1";
		o.ip[1] = "::1";
	}
	if (mca_init_run(&o, &res, &err) != MCA_OK)
		return cli_fail("init: %s", err.msg);
	printf("Created the CA in %s\n"
	       "Root certificate: %s/root.crt\n"
	       "SHA256 Fingerprint=%s\n"
	       "\n"
	       "Next:\n"
	       "  mtlscad -c %s --foreground\n"
	       "  curl --cacert %s/chain.pem https://%s/v1/health\n"
	       "  mtlsca -c %s token create --profile private --name host.example.internal\n",
	       o.dir, o.dir, res.root_fingerprint, res.config_path, o.dir,
	       o.listen ? o.listen : "127.0.0.1:8443", res.config_path);
	if (o.pkcs11_module != NULL)
		printf("The root and issuing CA keys%s are in the PKCS#11 token '%s' "
		       "('mtlsca -c %s keys list').\n",
		       o.ocsp ? " and the OCSP responder key" : "", o.pkcs11_token,
		       res.config_path);
	else
		printf("Keep %s/root.key offline once you no longer need it.\n", o.dir);
	return CLI_OK;
}
