/*
 * pkiinit.h - "mtlsca init": bootstrap a whole internal PKI into a new CA
 * directory (root, issuing CA, chain, the daemon's TLS certificate, an
 * admin client certificate, config, database, templates, first CRLs).
 *
 * Everything is built in a sibling staging directory and renamed into
 * place at the end, so a failed init leaves nothing behind and an
 * existing CA directory is never touched.
 */
#ifndef MCA_PKIINIT_H
#define MCA_PKIINIT_H

#include <stddef.h>

#include "common/err.h"
#include "pki/keys.h"

#define MCA_INIT_MAX_NAMES 32

struct mca_init_opts {
	const char *dir;
	const char *name; /* organisation / CA name; default "mtlsca Internal CA" */
	enum mca_key_type key_type;
	const char *dns[MCA_INIT_MAX_NAMES]; /* server.crt DNS names, NULL-terminated */
	const char *ip[MCA_INIT_MAX_NAMES];  /* server.crt IPs, NULL-terminated */
	const char *listen;                  /* default MCA_CONF_DEFAULT_LISTEN */
	const char *http_listen;             /* default MCA_CONF_DEFAULT_HTTP_LISTEN */
	const char *passphrase_file;         /* NULL: keys unencrypted */
	/*
	 * Base of the CRL and caIssuers URLs in certificates; NULL: the HTTP
	 * listener (refused when its port is 0).
	 */
	const char *public_url;
	/*
	 * All three or none: the root and issuing CA keys are generated in the
	 * token labelled pkcs11_token (signer/pkcs11.h) and the configuration
	 * names them by URI; root.key and ca.key are not written.
	 */
	const char *pkcs11_module;
	const char *pkcs11_token;
	const char *pkcs11_pin_file;
	/*
	 * Turn the OCSP responder on ("ocsp": {} in the configuration; the
	 * leaves init makes carry its URL).  With the pkcs11_* options the
	 * responder key is an EC P-256 key generated in the token too
	 * ("mtlsca-ocsp-HEX", named by ocsp.responder_key); without, mtlscad
	 * generates it in memory at each start.
	 */
	int ocsp;
	/*
	 * The `database` setting (store.h); NULL: mtlsca.db in the directory.
	 * A server database must hold no CA yet (MCA_ERR_EXISTS otherwise).
	 */
	const char *database;
};

struct mca_init_result {
	char root_fingerprint[96]; /* "AA:BB:..." (SHA-256 of root.crt DER) */
	char config_path[4096];
};

/* Validity of what init creates. */
#define MCA_INIT_ROOT_DAYS 3650
#define MCA_INIT_CA_DAYS   1825
#define MCA_INIT_LEAF_DAYS 365
#define MCA_INIT_BACKDATE  60

/*
 * Create the CA directory.  MCA_ERR_EXISTS when opts->dir exists and is
 * not empty (nothing is changed then); MCA_ERR_INVAL for bad options,
 * among them a public URL with port 0 (explicit, or from an HTTP listener
 * on port 0 without opts->public_url).
 */
mca_rc mca_init_run(const struct mca_init_opts *opts, struct mca_init_result *res,
                    struct mca_error *err);

#endif
