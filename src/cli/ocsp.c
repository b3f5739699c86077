/*
 * ocsp.c - "mtlsca ocsp SERIAL": what the OCSP responder says of a
 * certificate of the issuing CA.  From the database (what mtlscad's
 * responder would answer), or with --url, by asking a responder and
 * verifying its signed answer against the CA's chain.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>

#include "ca/conf.h"
#include "cli/cli.h"
#include "common/util.h"
#include "pki/keys.h"
#include "pki/serial.h"
#include "store/store.h"

void
cli_ocsp_usage(void)
{
	fputs("usage: mtlsca [-c CONF] ocsp SERIAL [--url URL]\n"
	      "\n"
	      "Show what the OCSP responder says of the issuing CA's certificate SERIAL:\n"
	      "good, revoked (time, reason) or unknown.  Without --url, from the database\n"
	      "(as mtlscad answers); with --url (e.g. http://HOST:PORT/ocsp), the\n"
	      "responder's signed answer, verified against the CA's chain.\n"
	      "Exit status 0 for good, 1 for revoked, unknown or a failure.\n",
	      stdout);
}

static void
print_time(const char *label, int64_t t)
{
	char buf[32];
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("%s: %s\n", label, buf);
}

static int
from_db(struct mca_store *st, const char *serial)
{
	struct mca_cert_rec *rec = NULL;
	struct mca_error err = {0};
	mca_rc rc = mca_store_cert_get(st, serial, &rec, &err);
	int status = CLI_FAIL;

	if (rc == MCA_ERR_NOTFOUND || (rc == MCA_OK && (strcmp(rec->profile, "root") == 0 ||
	                                                strcmp(rec->profile, "ca") == 0))) {
		/* the CA certificates are the root's to answer for */
		printf("%s: unknown\n", serial);
	} else if (rc != MCA_OK) {
		status = cli_fail_err("ocsp", &err);
	} else if (strcmp(rec->status, "revoked") == 0) {
		printf("%s: revoked\n", serial);
		print_time("revocation time", rec->revoked_at);
		printf("reason: %s\n", rec->reason ? rec->reason : "unspecified");
	} else {
		printf("%s: good\n", serial);
		status = CLI_OK;
	}
	mca_cert_rec_free(rec);
	return status;
}

static int
from_url(const struct mca_conf *conf, const char *serial, const char *url)
{
	X509 *ca = NULL;
	STACK_OF(X509) *chain = NULL;
	X509_STORE *trust = NULL;
	OCSP_REQUEST *req = NULL;
	OCSP_RESPONSE *resp = NULL;
	OCSP_BASICRESP *bs = NULL;
	OCSP_CERTID *id = NULL;
	ASN1_INTEGER *ai = NULL;
	ASN1_GENERALIZEDTIME *rev = NULL, *thisu = NULL, *nextu = NULL;
	BIGNUM *bn = NULL;
	struct mca_error err = {0};
	BIO *conn = NULL;
	char *host = NULL, *port = NULL, *path = NULL;
	int reason = 0, cst = 0, status = CLI_FAIL, i, ssl = 0;

	if (mca_cert_load(conf->ca_cert, &ca, &err) != MCA_OK ||
	    mca_certs_load(conf->chain, &chain, &err) != MCA_OK) {
		status = cli_fail_err("ocsp", &err);
		goto out;
	}
	trust = X509_STORE_new();
	for (i = 0; trust != NULL && i < sk_X509_num(chain); i++)
		X509_STORE_add_cert(trust, sk_X509_value(chain, i));
	if (BN_hex2bn(&bn, serial) <= 0 || (ai = BN_to_ASN1_INTEGER(bn, NULL)) == NULL ||
	    (id = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(ca),
	                           X509_get0_pubkey_bitstr(ca), ai)) == NULL ||
	    (req = OCSP_REQUEST_new()) == NULL || OCSP_request_add0_id(req, id) == NULL) {
		status = cli_fail("ocsp: cannot build the request");
		goto out;
	}
	id = OCSP_CERTID_dup(OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, 0)));
	if (!OCSP_parse_url(url, &host, &port, &path, &ssl) || ssl) {
		status = cli_fail("ocsp: --url must be http://HOST[:PORT]/PATH");
		goto out;
	}
	conn = BIO_new_connect(host);
	if (conn != NULL && BIO_set_conn_port(conn, port) == 1 && BIO_do_connect(conn) == 1)
		resp = OCSP_sendreq_bio(conn, path, req);
	if (resp == NULL) {
		ERR_print_errors_fp(stderr);
		status = cli_fail("ocsp: no OCSP response from %s", url);
		goto out;
	}
	if (OCSP_response_status(resp) != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
		status = cli_fail("ocsp: %s answers %s", url,
		                  OCSP_response_status_str(OCSP_response_status(resp)));
		goto out;
	}
	bs = OCSP_response_get1_basic(resp);
	if (bs == NULL || OCSP_basic_verify(bs, chain, trust, 0) != 1) {
		ERR_print_errors_fp(stderr);
		status = cli_fail("ocsp: the response from %s does not verify", url);
		goto out;
	}
	if (!OCSP_resp_find_status(bs, id, &cst, &reason, &rev, &thisu, &nextu)) {
		status = cli_fail("ocsp: the response does not answer for %s", serial);
		goto out;
	}
	printf("%s: %s\n", serial, OCSP_cert_status_str(cst));
	if (cst == V_OCSP_CERTSTATUS_REVOKED) {
		print_time("revocation time", mca_asn1_time_unix(rev));
		printf("reason: %s\n", reason >= 0 ? OCSP_crl_reason_str(reason) : "unspecified");
	}
	print_time("this update", mca_asn1_time_unix(thisu));
	if (nextu != NULL)
		print_time("next update", mca_asn1_time_unix(nextu));
	status = cst == V_OCSP_CERTSTATUS_GOOD ? CLI_OK : CLI_FAIL;
out:
	ERR_clear_error();
	BIO_free_all(conn);
	OPENSSL_free(host);
	OPENSSL_free(port);
	OPENSSL_free(path);
	OCSP_CERTID_free(id);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	OCSP_REQUEST_free(req);
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	X509_STORE_free(trust);
	sk_X509_pop_free(chain, X509_free);
	X509_free(ca);
	return status;
}

int
cli_ocsp(const struct cli_global *g, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"url", required_argument, NULL, 'u'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *url = NULL;
	struct mca_conf *conf = NULL;
	struct mca_store *st = NULL;
	struct mca_error err = {0};
	char serial[MCA_SERIAL_HEX_MAX];
	int c, status;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'u':
			url = optarg;
			break;
		case 'h':
			cli_ocsp_usage();
			return CLI_OK;
		default:
			return cli_usage_error("ocsp", "invalid option");
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error("ocsp", "exactly one SERIAL is required");
	if (mca_serial_normalize(argv[optind], serial, &err) != MCA_OK)
		return cli_fail("ocsp: %s", err.msg);
	if ((status = cli_open(g, &conf, &st)) != CLI_OK)
		return status;
	status = url != NULL ? from_url(conf, serial, url) : from_db(st, serial);
	mca_store_close(st);
	mca_conf_free(conf);
	return status;
}
