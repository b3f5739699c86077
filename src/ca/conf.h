/*
 * conf.h - mtlsca.conf, the JSON configuration of a CA directory.
 *
 * Relative paths in the file are resolved against the directory holding
 * the file, so a CA directory can be moved as a whole.  All strings in
 * struct mca_conf are owned by it and freed by mca_conf_free().
 */
#ifndef MCA_CONF_H
#define MCA_CONF_H

#include <stdint.h>

#include "common/err.h"

struct mca_cidr;

#define MCA_CONF_DEFAULT_LISTEN      "127.0.0.1:8443"
#define MCA_CONF_DEFAULT_HTTP_LISTEN "127.0.0.1:8080"

/* A parsed "host:port" / "[v6]:port" listener address. Port 0 = any free port. */
struct mca_hostport {
	char host[64];
	unsigned port;
};

struct mca_conf {
	char *path; /* the file this came from */
	char *dir;  /* its directory: base of relative paths */

	struct mca_hostport listen;      /* HTTPS API */
	struct mca_hostport http_listen; /* plain HTTP: CRL, trust anchors, health */
	char *public_url;                /* base URL of the HTTP listener, no trailing slash */
	char *crl_url;                   /* CRL Distribution Point put into leaves */
	char *ca_issuers_url;            /* AIA caIssuers put into leaves */

	/* Absolute (or config-relative, resolved) paths. */
	char *database;
	char *root_cert;
	char *root_key; /* NULL when the root key is kept offline; or a pkcs11: URI */
	char *ca_cert;
	char *ca_key; /* a key file, or a pkcs11: URI (kept as written) */
	char *chain;
	char *server_cert;
	char *server_key;
	char *passphrase_file; /* NULL: keys are not encrypted */
	char *pkcs11_module;   /* the PKCS#11 module of pkcs11: keys; NULL: none */
	char *pkcs11_pin_file; /* its user PIN (first line); NULL: the URI's pin-source */
	char *signer_user;     /* mtlscad started as root: the signer process's user; NULL: stay */
	char *templates_dir;
	char *crl_dir;

	int64_t crl_validity;      /* seconds, nextUpdate - thisUpdate of the CA's CRL */
	int64_t crl_refresh;       /* seconds between scheduled republications */
	int64_t root_crl_validity; /* seconds, for the root-signed CRL */
	unsigned crl_shards;       /* crl.shards: partitioned CRLs (ca/publish.h); 0: none */
	char *crl_shard_url;       /* public_url + "/crl/": shard k's CDP is this + k */

	/* The OCSP responder (doc/config.md "ocsp"): on when ocsp_url is not NULL. */
	char *ocsp_url;                     /* public_url + "/ocsp", AIA OCSP of leaves */
	int64_t ocsp_validity;              /* nextUpdate - thisUpdate of a response, default 1d */
	int64_t ocsp_refresh;               /* a response is re-signed this long after thisUpdate */
	int64_t ocsp_cert_validity;         /* the delegated responder certificate's, default 2d */
	int ocsp_nonce;                     /* echo request nonces (signed on demand) */
	unsigned ocsp_on_demand_per_second; /* signatures on demand (nonces, several certs) */
	unsigned ocsp_cache_max;            /* responses kept in memory */
	char *ocsp_responder_key; /* a key file or pkcs11: URI; NULL: generated in memory */

	char **admin_profiles; /* NULL-terminated; certificates of these profiles are admins */
	int log_level;         /* enum mca_log_level */

	/* ACME validation targets (doc/acme.md), so tests can validate on loopback. */
	unsigned acme_http01_port; /* default 80 */
	char *acme_dns_resolver;   /* "IP[:PORT]", NULL: the system's resolver */
	char **acme_host_names;    /* NULL-terminated, parallel to acme_host_addrs */
	char **acme_host_addrs;
	unsigned acme_orders_per_hour; /* new orders one account may create an hour */
	/* ACME validations: deadline, threads, caps, where http-01 never connects. */
	unsigned acme_validation_timeout;  /* seconds for one whole validation, default 10 */
	unsigned acme_validation_workers;  /* threads running validations, default 16 */
	unsigned acme_pending_per_account; /* queued + running validations an account may have */
	unsigned acme_pending_max;         /* ... all accounts together */
	struct mca_cidr *acme_http01_deny; /* networks, acme_n_http01_deny of them */
	size_t acme_n_http01_deny;
	unsigned
	    acme_new_accounts_per_hour; /* new accounts one client address may create an hour */

	/* Connection limits of mtlscad. */
	unsigned max_connections;        /* default 4096 */
	unsigned max_connections_per_ip; /* default 1024; 0: no per-address limit */
	unsigned connection_timeout;     /* seconds idle, default 30 */
	unsigned request_timeout;        /* seconds to receive one request, default 10 */
	unsigned threads;                /* 0: one per CPU */
};

/*
 * Load and validate `path`.  Errors name the file and the field:
 * "mtlsca.conf: field 'listen': invalid port '99999'".
 */
mca_rc mca_conf_load(const char *path, struct mca_conf **out, struct mca_error *err);

/* Parse "host:port" or "[v6addr]:port". */
mca_rc mca_hostport_parse(const char *s, struct mca_hostport *hp, struct mca_error *err);

/* Format a listener as "host:port" (IPv6 in brackets) into buf. */
void mca_hostport_format(const struct mca_hostport *hp, char *buf, unsigned len);

/*
 * Check a URL that goes into certificates (public_url, crl_url,
 * ca_issuers_url): http:// or https://, a host, no whitespace or quotes, at
 * most 1024 bytes, and no port 0 (nobody can fetch from it).  MCA_ERR_INVAL
 * with a message that quotes the URL but names no field.
 */
mca_rc mca_url_check(const char *url, struct mca_error *err);

/*
 * The "ocsp" object `obj` (a json_t *) into c's ocsp_* fields (conf_ocsp.c);
 * public_url must be set.  Errors name the file and the field.
 */
mca_rc mca_conf_ocsp(struct mca_conf *c, void *obj, struct mca_error *err);

void mca_conf_free(struct mca_conf *conf);

/*
 * Set crl_shards from the "crl" object's "shards" (0 when absent), and
 * crl_shard_url from public_url.  Outside 0..MCA_PUBLISH_SHARDS_MAX is
 * MCA_ERR_CONFIG with rule "conf.crl.shards".  (conf_crl.c)
 */
mca_rc mca_conf_crl_shards(struct mca_conf *c, long long shards, struct mca_error *err);

#endif
