/* common.c - what several verbs share: opening the CA, naming the actor, errors. */
#include "config.h"

#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "ca/conf.h"
#include "pki/keys.h"
#include "signer/pkcs11.h"
#include "signer/signer.h"
#include "cli/cli.h"
#include "common/err.h"
#include "store/store.h"

int
cli_open(const struct cli_global *g, struct mca_conf **conf, struct mca_store **st)
{
	struct mca_error err = {0};

	*conf = NULL;
	*st = NULL;
	if (mca_conf_load(g->config, conf, &err) != MCA_OK)
		return cli_fail("%s", err.msg);
	if (mca_store_open((*conf)->database, 0, st, &err) != MCA_OK) {
		mca_conf_free(*conf);
		*conf = NULL;
		return cli_fail("%s", err.msg);
	}
	return CLI_OK;
}

const char *
cli_actor(void)
{
	static char actor[96];
	struct passwd *pw;

	if (actor[0] == '\0') {
		pw = getpwuid(getuid());
		if (pw != NULL)
			snprintf(actor, sizeof(actor), "cli:%.64s", pw->pw_name);
		else
			snprintf(actor, sizeof(actor), "cli:uid=%u", (unsigned)getuid());
	}
	return actor;
}

int
cli_fail_err(const char *verb, const struct mca_error *err)
{
	if (err->rule[0] != '\0' && (err->code == MCA_ERR_POLICY || err->code == MCA_ERR_BADCSR))
		return cli_fail("%s: %s: %s: %s", verb, mca_rc_name(err->code), err->rule,
		                err->msg);
	return cli_fail("%s: %s", verb, err->msg);
}

int
cli_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("mtlsca: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CLI_FAIL;
}

int
cli_usage_error(const char *verb, const char *fmt, ...)
{
	va_list ap;

	fputs("mtlsca: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'mtlsca %s --help')\n", verb ? verb : "");
	return CLI_USAGE;
}

/*
 * The CA's signer and certificate: the issuing CA's, or with `root` the
 * root's (whose key may be offline: then a clear error).
 */
int
cli_load_signer(const struct mca_conf *conf, int root, struct mca_signer **signer, X509 **cert)
{
	struct mca_error err = {0};
	const char *cert_path = root ? conf->root_cert : conf->ca_cert;
	const char *key_path = root ? conf->root_key : conf->ca_key;
	const struct mca_p11conf p11 = {conf->pkcs11_module, conf->pkcs11_pin_file};

	*signer = NULL;
	*cert = NULL;
	if (key_path == NULL)
		return cli_fail("the root key is offline (no root_key in %s)", conf->path);
	if (mca_cert_load(cert_path, cert, &err) != MCA_OK ||
	    mca_signer_open(key_path, conf->passphrase_file, &p11, *cert, cert_path, signer,
	                    &err) != MCA_OK) {
		X509_free(*cert);
		*cert = NULL;
		return cli_fail("%s", err.msg);
	}
	return CLI_OK;
}
