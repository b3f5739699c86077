/* pkiinit.c - bootstrapping a CA directory. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/x509v3.h>

#include "ca/conf.h"
#include "ca/pkiinit.h"
#include "ca/publish.h"
#include "ca/record.h"
#include "common/embedded.h"
#include "common/log.h"
#include "common/util.h"
#include "pki/certgen.h"
#include "pki/crl.h"
#include "pki/serial.h"
#include "policy/names.h"
#include "signer/pkcs11.h"
#include "signer/signer.h"
#include "store/store.h"

/* State of one init run; everything is released in init_free. */
struct init {
	const struct mca_init_opts *o;
	char *staging;
	char *passphrase;
	EVP_PKEY *root_key, *ca_key, *server_key, *admin_key;
	struct mca_signer *root_signer, *ca_signer;
	char *root_uri, *ca_uri; /* the keys in the token; NULL: key files */
	char *ocsp_uri;          /* the OCSP responder key in the token; NULL: none */
	X509 *root, *ca, *server, *admin;
	struct mca_store *store;
	int64_t now;
};

/* Remove a staging tree (two levels deep at most, as init creates it). */
static void
remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char *path;
	struct stat st;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		path = mca_path_join(dir, e->d_name);
		if (path == NULL)
			continue;
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
			remove_tree(path);
		else
			unlink(path);
		free(path);
	}
	closedir(d);
	rmdir(dir);
}

/* Whether `dir` is absent (0), an empty directory (1), or anything else (-1). */
static int
dir_state(const char *dir)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	int empty = 1;

	if (lstat(dir, &st) != 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return -1;
	d = opendir(dir);
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			empty = 0;
	closedir(d);
	return empty ? 1 : -1;
}

static char *
staged(const struct init *in, const char *name)
{
	return mca_path_join(in->staging, name);
}

static mca_rc
save_key(const struct init *in, const char *name, EVP_PKEY *key, struct mca_error *err)
{
	char *path = staged(in, name);
	mca_rc rc;

	if (path == NULL)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	rc = mca_key_save(path, key, in->passphrase, err);
	free(path);
	return rc;
}

static mca_rc
save_cert(const struct init *in, const char *name, X509 *cert, struct mca_error *err)
{
	char *path = staged(in, name);
	mca_rc rc;

	if (path == NULL)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	rc = mca_cert_save(path, cert, err);
	free(path);
	return rc;
}

/* O=name, CN=cn */
static X509_NAME *
make_name(const char *org, const char *cn)
{
	X509_NAME *n = X509_NAME_new();

	if (n == NULL ||
	    (org != NULL && !X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8,
	                                                (const unsigned char *)org, -1, -1, 0)) ||
	    !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
	                                0)) {
		X509_NAME_free(n);
		return NULL;
	}
	return n;
}

/* Build one certificate of the init set. */
static mca_rc
make_cert(struct init *in, struct mca_certgen *g, const char *org, const char *cn,
          struct mca_signer *signer, X509 **out, struct mca_error *err)
{
	unsigned char serial[MCA_SERIAL_LEN];
	X509_NAME *subject = NULL;
	mca_rc rc;

	if ((rc = mca_serial_generate(serial, err)) != MCA_OK)
		return rc;
	subject = make_name(org, cn);
	if (subject == NULL)
		return mca_error_ssl(err, MCA_ERR_INVAL, "subject name '%.64s'", cn);
	g->serial = serial;
	g->serial_len = sizeof(serial);
	g->subject = subject;
	if ((rc = mca_certgen_build(g, out, err)) == MCA_OK &&
	    (rc = mca_signer_sign_cert(signer, out, err)) != MCA_OK) {
		X509_free(*out);
		*out = NULL;
	}
	X509_NAME_free(subject);
	return rc;
}

static mca_rc
make_root_and_ca(struct init *in, struct mca_error *err)
{
	struct mca_certgen g;
	char cn[128];
	mca_rc rc;

	if (in->o->pkcs11_module != NULL) {
		const struct mca_p11conf p11 = {in->o->pkcs11_module, in->o->pkcs11_pin_file};

		if ((rc = mca_signer_pkcs11_generate(&p11, in->o->pkcs11_token, in->o->key_type,
		                                     "mtlsca-root", &in->root_uri, &in->root_signer,
		                                     err)) != MCA_OK ||
		    (rc = mca_signer_pkcs11_generate(&p11, in->o->pkcs11_token, in->o->key_type,
		                                     "mtlsca-ca", &in->ca_uri, &in->ca_signer,
		                                     err)) != MCA_OK)
			return rc;
		if (in->o->ocsp) {
			struct mca_signer *ocsp = NULL;

			/* P-256 whatever the CA keys are, as mtlscad's generated one */
			rc = mca_signer_pkcs11_generate(&p11, in->o->pkcs11_token, MCA_KEY_EC_P256,
			                                "mtlsca-ocsp", &in->ocsp_uri, &ocsp, err);
			mca_signer_free(ocsp);
			if (rc != MCA_OK)
				return rc;
		}
		/* only the public halves: the private keys stay in the token */
		in->root_key = mca_signer_pubkey(in->root_signer);
		in->ca_key = mca_signer_pubkey(in->ca_signer);
		EVP_PKEY_up_ref(in->root_key);
		EVP_PKEY_up_ref(in->ca_key);
	} else if ((rc = mca_key_generate(in->o->key_type, &in->root_key, err)) != MCA_OK ||
	           (rc = mca_key_generate(in->o->key_type, &in->ca_key, err)) != MCA_OK ||
	           (rc = mca_signer_local_new(in->root_key, &in->root_signer, err)) != MCA_OK ||
	           (rc = mca_signer_local_new(in->ca_key, &in->ca_signer, err)) != MCA_OK)
		return rc;

	memset(&g, 0, sizeof(g));
	g.pubkey = in->root_key;
	g.not_before = in->now - MCA_INIT_BACKDATE;
	g.not_after = in->now + (int64_t)MCA_INIT_ROOT_DAYS * 86400;
	g.ca = 1;
	g.pathlen = 1;
	g.key_usage = MCA_KU_KEY_CERT_SIGN | MCA_KU_CRL_SIGN;
	g.ski = 1;
	snprintf(cn, sizeof(cn), "%s Root CA", in->o->name);
	if ((rc = make_cert(in, &g, in->o->name, cn, in->root_signer, &in->root, err)) != MCA_OK)
		return rc;

	memset(&g, 0, sizeof(g));
	g.pubkey = in->ca_key;
	g.issuer = in->root;
	g.not_before = in->now - MCA_INIT_BACKDATE;
	g.not_after = in->now + (int64_t)MCA_INIT_CA_DAYS * 86400;
	g.ca = 1;
	g.pathlen = 0;
	g.key_usage = MCA_KU_KEY_CERT_SIGN | MCA_KU_CRL_SIGN;
	g.ski = 1;
	snprintf(cn, sizeof(cn), "%s Issuing CA", in->o->name);
	return make_cert(in, &g, in->o->name, cn, in->root_signer, &in->ca, err);
}

/* The daemon's TLS server certificate and the admin client certificate. */
static mca_rc
make_leaves(struct init *in, const struct mca_conf *conf, struct mca_error *err)
{
	struct mca_certgen g;
	GENERAL_NAMES *san = NULL;
	size_t i;
	int rsa = EVP_PKEY_is_a(in->ca_key, "RSA");
	mca_rc rc;

	if ((rc = mca_key_generate(in->o->key_type, &in->server_key, err)) != MCA_OK ||
	    (rc = mca_key_generate(in->o->key_type, &in->admin_key, err)) != MCA_OK)
		return rc;
	san = sk_GENERAL_NAME_new_null();
	if (san == NULL)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	for (i = 0; i < MCA_INIT_MAX_NAMES && in->o->dns[i] != NULL; i++)
		if ((rc = mca_san_add(san, GEN_DNS, in->o->dns[i], err)) != MCA_OK)
			goto out;
	for (i = 0; i < MCA_INIT_MAX_NAMES && in->o->ip[i] != NULL; i++)
		if ((rc = mca_san_add(san, GEN_IPADD, in->o->ip[i], err)) != MCA_OK)
			goto out;

	memset(&g, 0, sizeof(g));
	g.pubkey = in->server_key;
	g.issuer = in->ca;
	g.not_before = in->now - MCA_INIT_BACKDATE;
	g.not_after = in->now + (int64_t)MCA_INIT_LEAF_DAYS * 86400;
	g.key_usage = MCA_KU_DIGITAL_SIGNATURE | (rsa ? MCA_KU_KEY_ENCIPHERMENT : 0);
	g.ext_key_usage = MCA_EKU_SERVER_AUTH;
	g.san = san;
	g.ski = 1;
	g.crl_url = conf->crl_url;
	g.ca_issuers_url = conf->ca_issuers_url;
	g.ocsp_url = conf->ocsp_url;
	rc = make_cert(in, &g, NULL, in->o->dns[0] ? in->o->dns[0] : in->o->ip[0], in->ca_signer,
	               &in->server, err);
	if (rc != MCA_OK)
		goto out;

	memset(&g, 0, sizeof(g));
	g.pubkey = in->admin_key;
	g.issuer = in->ca;
	g.not_before = in->now - MCA_INIT_BACKDATE;
	g.not_after = in->now + (int64_t)MCA_INIT_LEAF_DAYS * 86400;
	g.key_usage = MCA_KU_DIGITAL_SIGNATURE | (rsa ? MCA_KU_KEY_ENCIPHERMENT : 0);
	g.ext_key_usage = MCA_EKU_CLIENT_AUTH;
	g.ski = 1;
	g.crl_url = conf->crl_url;
	g.ca_issuers_url = conf->ca_issuers_url;
	g.ocsp_url = conf->ocsp_url;
	rc = make_cert(in, &g, in->o->name, "admin", in->ca_signer, &in->admin, err);
out:
	GENERAL_NAMES_free(san);
	return rc;
}

/*
 * The public base URL without trailing '/': --public-url, else the HTTP
 * listener, or the first DNS name when it is a wildcard.
 */
static char *
public_url(const struct mca_init_opts *o, const struct mca_hostport *http)
{
	struct mca_hostport hp = *http;
	char buf[128], *url = NULL;
	size_t len;

	if (o->public_url != NULL) {
		url = strdup(o->public_url);
		len = url ? strlen(url) : 0;
		while (len > 0 && url[len - 1] == '/')
			url[--len] = '\0';
		return url;
	}
	if ((strcmp(hp.host, "0.0.0.0") == 0 || strcmp(hp.host, "::") == 0) && o->dns[0] != NULL)
		snprintf(hp.host, sizeof(hp.host), "%s", o->dns[0]);
	mca_hostport_format(&hp, buf, sizeof(buf));
	if (asprintf(&url, "http://%s", buf) < 0)
		return NULL;
	return url;
}

/* j[field] = the absolute path of `path` (the CA directory may move). */
static mca_rc
set_abs_path(json_t *j, const char *field, const char *path, struct mca_error *err)
{
	char *abs = realpath(path, NULL);

	if (abs == NULL)
		return mca_error_set(err, MCA_ERR_IO, "%s: %s", path, strerror(errno));
	json_object_set_new(j, field, json_string(abs));
	free(abs);
	return MCA_OK;
}

static mca_rc
write_config(struct init *in, const struct mca_hostport *https, const struct mca_hostport *http,
             struct mca_error *err)
{
	json_t *j = NULL, *ocsp = NULL;
	char *text = NULL, *path = NULL, *url = NULL, *pass = NULL;
	char https_s[128], http_s[128];
	mca_rc rc;

	mca_hostport_format(https, https_s, sizeof(https_s));
	mca_hostport_format(http, http_s, sizeof(http_s));
	url = public_url(in->o, http);
	if (in->o->passphrase_file != NULL)
		pass = realpath(in->o->passphrase_file, NULL);
	j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s,"
	              " s:{s:s, s:s, s:s}, s:[s], s:s}",
	              "listen", https_s, "http_listen", http_s, "public_url", url ? url : "",
	              "database", in->o->database ? in->o->database : "mtlsca.db", "root_cert",
	              "root.crt", "root_key", in->root_uri ? in->root_uri : "root.key", "ca_cert",
	              "ca.crt", "ca_key", in->ca_uri ? in->ca_uri : "ca.key", "chain", "chain.pem",
	              "server_cert", "server.crt", "server_key", "server.key", "templates_dir",
	              "templates", "crl_dir", "crl", "crl", "validity", "7d", "refresh", "1d",
	              "root_validity", "365d", "admin_profiles", "admin", "log_level", "info");
	if (j == NULL || url == NULL || (in->o->passphrase_file != NULL && pass == NULL)) {
		rc = mca_error_set(
		    err, pass == NULL && in->o->passphrase_file ? MCA_ERR_IO : MCA_ERR_NOMEM, "%s",
		    pass == NULL && in->o->passphrase_file
		        ? "cannot resolve the passphrase file path"
		        : "out of memory");
		goto out;
	}
	if (pass != NULL)
		json_object_set_new(j, "passphrase_file", json_string(pass));
	if (in->o->pkcs11_module != NULL &&
	    (rc = set_abs_path(j, "pkcs11_module", in->o->pkcs11_module, err)) != MCA_OK)
		goto out;
	if (in->o->pkcs11_pin_file != NULL &&
	    (rc = set_abs_path(j, "pkcs11_pin_file", in->o->pkcs11_pin_file, err)) != MCA_OK)
		goto out;
	if (in->o->ocsp) {
		ocsp = in->ocsp_uri != NULL ? json_pack("{s:s}", "responder_key", in->ocsp_uri)
		                            : json_object();
		if (ocsp == NULL || json_object_set_new(j, "ocsp", ocsp) != 0) {
			rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
			goto out;
		}
	}
	text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	path = staged(in, "mtlsca.conf");
	if (text == NULL || path == NULL) {
		rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		goto out;
	}
	/* A server's connection string may hold a password: then for the owner only. */
	rc = mca_file_write_atomic(path, text, strlen(text), in->o->database ? 0600 : 0644, 1, err);
out:
	free(url);
	free(pass);
	free(text);
	free(path);
	json_decref(j);
	return rc;
}

static mca_rc
write_chain(struct init *in, struct mca_error *err)
{
	char *ca = NULL, *root = NULL, *both = NULL, *path = NULL;
	mca_rc rc;

	if ((rc = mca_cert_to_pem(in->ca, &ca, err)) != MCA_OK ||
	    (rc = mca_cert_to_pem(in->root, &root, err)) != MCA_OK)
		goto out;
	path = staged(in, "chain.pem");
	if (path == NULL || asprintf(&both, "%s%s", ca, root) < 0) {
		both = NULL;
		rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		goto out;
	}
	rc = mca_file_write_atomic(path, both, strlen(both), 0644, 1, err);
out:
	free(ca);
	free(root);
	free(both);
	free(path);
	return rc;
}

static mca_rc
write_templates(struct init *in, struct mca_error *err)
{
	char *dir = staged(in, "templates"), *path = NULL;
	const struct mca_embedded *t;
	mca_rc rc = MCA_OK;

	if (dir == NULL)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	if (mkdir(dir, 0755) != 0) {
		rc = mca_error_set(err, MCA_ERR_IO, "%s: %s", dir, strerror(errno));
		goto out;
	}
	for (t = mca_embedded_templates; t->name != NULL && rc == MCA_OK; t++) {
		path = mca_path_join(dir, t->name);
		if (path == NULL) {
			rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
			break;
		}
		rc = mca_file_write_atomic(path, t->text, strlen(t->text), 0644, 1, err);
		free(path);
	}
out:
	free(dir);
	return rc;
}

/* Database with the init certificates recorded, and the first CRLs published. */
/* The four certificates of a new CA, in write_database's transaction. */
static mca_rc
record_init_certs(struct mca_store *st, void *arg, struct mca_error *err)
{
	struct init *in = arg;
	static const char actor[] = "cli:init";
	mca_rc rc;

	if ((rc = mca_record_cert(st, in->root, "root", "init", actor, "issue", err)) != MCA_OK ||
	    (rc = mca_record_cert(st, in->ca, "ca", "init", actor, "issue", err)) != MCA_OK ||
	    (rc = mca_record_cert(st, in->server, "server", "init", actor, "issue", err)) != MCA_OK)
		return rc;
	return mca_record_cert(st, in->admin, "admin", "init", actor, "issue", err);
}

static mca_rc
write_database(struct init *in, struct mca_error *err)
{
	char *db = in->o->database ? strdup(in->o->database) : staged(in, "mtlsca.db");
	char *crl_dir = staged(in, "crl");
	struct mca_publish p;
	static const char actor[] = "cli:init";
	mca_rc rc;

	if (db == NULL || crl_dir == NULL) {
		rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (mkdir(crl_dir, 0755) != 0) {
		rc = mca_error_set(err, MCA_ERR_IO, "%s: %s", crl_dir, strerror(errno));
		goto out;
	}
	if ((rc = mca_store_open(db, 1, &in->store, err)) != MCA_OK)
		goto out;
	if (in->o->database != NULL && mca_store_count(in->store, "certificates") != 0) {
		rc = mca_error_set(err, MCA_ERR_EXISTS,
		                   "the database already holds certificates (another CA's?); "
		                   "refusing to initialise into it");
		goto out;
	}
	/* All four rows in one transaction: one fsync. */
	if ((rc = mca_store_txn(in->store, record_init_certs, in, err)) != MCA_OK)
		goto out;
	memset(&p, 0, sizeof(p));
	p.store = in->store;
	p.crl_dir = crl_dir;
	p.actor = actor;
	p.signer = in->ca_signer;
	p.issuer = in->ca;
	p.which = "ca";
	p.validity = 7 * 86400;
	if ((rc = mca_publish_crl(&p, NULL, err)) != MCA_OK)
		goto out;
	p.signer = in->root_signer;
	p.issuer = in->root;
	p.which = "root";
	p.validity = 365 * 86400;
	rc = mca_publish_crl(&p, NULL, err);
out:
	mca_store_close(in->store);
	in->store = NULL;
	free(db);
	free(crl_dir);
	return rc;
}

/* "AA:BB:..." SHA-256 fingerprint of `cert`. */
static void
colon_fingerprint(X509 *cert, char *out, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	out[0] = '\0';
	if (!X509_digest(cert, EVP_sha256(), md, &n))
		return;
	for (i = 0; i < n && 3 * i + 3 <= len; i++)
		snprintf(out + 3 * i, len - 3 * i, i + 1 < n ? "%02X:" : "%02X", md[i]);
}

static mca_rc
check_opts(const struct mca_init_opts *o, struct mca_hostport *https, struct mca_hostport *http,
           struct mca_error *err)
{
	struct mca_error e = {0};
	unsigned char ip[16];
	size_t i, iplen;

	if (o->dir == NULL || o->dir[0] == '\0')
		return mca_error_set(err, MCA_ERR_INVAL, "--dir is required");
	if (o->name == NULL || o->name[0] == '\0' || strlen(o->name) > 52)
		return mca_error_set(err, MCA_ERR_INVAL, "--name must be 1 to 52 characters");
	if ((unsigned)o->key_type >= MCA_KEY__COUNT)
		return mca_error_set(err, MCA_ERR_INVAL, "unknown key type");
	if ((o->pkcs11_module != NULL) != (o->pkcs11_token != NULL) ||
	    (o->pkcs11_module != NULL) != (o->pkcs11_pin_file != NULL))
		return mca_error_set(err, MCA_ERR_INVAL,
		                     "--pkcs11-module, --pkcs11-token and --pkcs11-pin-file go "
		                     "together");
	if (o->dns[0] == NULL && o->ip[0] == NULL)
		return mca_error_set(err, MCA_ERR_INVAL, "the server certificate needs a name");
	for (i = 0; i < MCA_INIT_MAX_NAMES && o->dns[i] != NULL; i++)
		if (mca_dns_check(o->dns[i], 0, 0, &e) != MCA_OK)
			return mca_error_set(err, MCA_ERR_INVAL, "--dns: %s", e.msg);
	for (i = 0; i < MCA_INIT_MAX_NAMES && o->ip[i] != NULL; i++)
		if (!mca_ip_parse(o->ip[i], ip, &iplen))
			return mca_error_set(err, MCA_ERR_INVAL,
			                     "--ip: '%.64s' is not an IP address", o->ip[i]);
	if (mca_hostport_parse(o->listen ? o->listen : MCA_CONF_DEFAULT_LISTEN, https, &e) !=
	    MCA_OK)
		return mca_error_set(err, MCA_ERR_INVAL, "--listen: %s", e.msg);
	if (mca_hostport_parse(o->http_listen ? o->http_listen : MCA_CONF_DEFAULT_HTTP_LISTEN, http,
	                       &e) != MCA_OK)
		return mca_error_set(err, MCA_ERR_INVAL, "--http-listen: %s", e.msg);
	/* Certificates name this URL for their CRL and issuer: never port 0. */
	if (o->public_url != NULL && mca_url_check(o->public_url, &e) != MCA_OK)
		return mca_error_set(err, MCA_ERR_INVAL, "--public-url: %s", e.msg);
	if (o->public_url == NULL && http->port == 0)
		return mca_error_set(err, MCA_ERR_INVAL,
		                     "--http-listen: port 0 cannot go into the CRL and caIssuers "
		                     "URLs of certificates; give a public URL or a fixed port");
	return MCA_OK;
}

/* The parts of the config init needs before the config file exists. */
static mca_rc
leaf_urls(const struct mca_init_opts *o, const struct mca_hostport *http, struct mca_conf *c,
          struct mca_error *err)
{
	char *url = public_url(o, http);

	if (url == NULL || asprintf(&c->crl_url, "%s/crl", url) < 0 ||
	    asprintf(&c->ca_issuers_url, "%s/ca.crt", url) < 0 ||
	    (o->ocsp && asprintf(&c->ocsp_url, "%s/ocsp", url) < 0)) {
		free(url);
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	}
	free(url);
	return MCA_OK;
}

/* A failed init leaves no keys behind in the token either. */
static void
destroy_token_keys(struct init *in)
{
	const struct mca_p11conf p11 = {in->o->pkcs11_module, in->o->pkcs11_pin_file};
	struct mca_error e = {0};
	char **uris[] = {&in->root_uri, &in->ca_uri, &in->ocsp_uri};
	size_t i;

	mca_signer_free(in->root_signer);
	mca_signer_free(in->ca_signer);
	in->root_signer = in->ca_signer = NULL;
	for (i = 0; i < sizeof(uris) / sizeof(uris[0]); i++)
		if (*uris[i] != NULL && mca_signer_pkcs11_destroy(*uris[i], &p11, &e) != MCA_OK)
			mca_log(MCA_LOG_WARN, "init: could not remove %s: %s", *uris[i], e.msg);
}

static void
init_free(struct init *in)
{
	EVP_PKEY_free(in->root_key);
	EVP_PKEY_free(in->ca_key);
	EVP_PKEY_free(in->server_key);
	EVP_PKEY_free(in->admin_key);
	mca_signer_free(in->root_signer);
	mca_signer_free(in->ca_signer);
	free(in->root_uri);
	free(in->ca_uri);
	free(in->ocsp_uri);
	X509_free(in->root);
	X509_free(in->ca);
	X509_free(in->server);
	X509_free(in->admin);
	mca_store_close(in->store);
	mca_free_secret(in->passphrase);
	if (in->staging != NULL)
		remove_tree(in->staging);
	free(in->staging);
}

mca_rc
mca_init_run(const struct mca_init_opts *o, struct mca_init_result *res, struct mca_error *err)
{
	struct init in;
	struct mca_hostport https, http;
	struct mca_conf urls;
	char *parent = NULL;
	int state;
	mca_rc rc;

	memset(&in, 0, sizeof(in));
	memset(&urls, 0, sizeof(urls));
	memset(res, 0, sizeof(*res));
	in.o = o;
	in.now = (int64_t)mca_now();
	if ((rc = check_opts(o, &https, &http, err)) != MCA_OK)
		return rc;
	state = dir_state(o->dir);
	if (state < 0)
		return mca_error_set(err, MCA_ERR_EXISTS,
		                     "%s already exists and is not an empty directory; refusing to "
		                     "touch it",
		                     o->dir);
	if (o->passphrase_file != NULL &&
	    (rc = mca_passphrase_read(o->passphrase_file, &in.passphrase, err)) != MCA_OK)
		return rc;
	if (asprintf(&in.staging, "%s.init-XXXXXX", o->dir) < 0) {
		in.staging = NULL;
		rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (mkdtemp(in.staging) == NULL) {
		rc = mca_error_set(err, MCA_ERR_IO, "%s: %s", o->dir, strerror(errno));
		free(in.staging);
		in.staging = NULL;
		goto out;
	}
	if (chmod(in.staging, 0700) != 0) {
		rc = mca_error_set(err, MCA_ERR_IO, "%s: %s", in.staging, strerror(errno));
		goto out;
	}
	if ((rc = leaf_urls(o, &http, &urls, err)) != MCA_OK ||
	    (rc = make_root_and_ca(&in, err)) != MCA_OK ||
	    (rc = make_leaves(&in, &urls, err)) != MCA_OK ||
	    (in.root_uri == NULL && (rc = save_key(&in, "root.key", in.root_key, err)) != MCA_OK) ||
	    (in.ca_uri == NULL && (rc = save_key(&in, "ca.key", in.ca_key, err)) != MCA_OK) ||
	    (rc = save_key(&in, "server.key", in.server_key, err)) != MCA_OK ||
	    (rc = save_key(&in, "admin.key", in.admin_key, err)) != MCA_OK ||
	    (rc = save_cert(&in, "root.crt", in.root, err)) != MCA_OK ||
	    (rc = save_cert(&in, "ca.crt", in.ca, err)) != MCA_OK ||
	    (rc = save_cert(&in, "server.crt", in.server, err)) != MCA_OK ||
	    (rc = save_cert(&in, "admin.crt", in.admin, err)) != MCA_OK ||
	    (rc = write_chain(&in, err)) != MCA_OK || (rc = write_templates(&in, err)) != MCA_OK ||
	    (rc = write_database(&in, err)) != MCA_OK ||
	    (rc = write_config(&in, &https, &http, err)) != MCA_OK)
		goto out;
	/* Re-check right before the rename: never replace a directory that filled up. */
	if (dir_state(o->dir) < 0) {
		rc = mca_error_set(err, MCA_ERR_EXISTS,
		                   "%s appeared meanwhile; refusing to touch it", o->dir);
		goto out;
	}
	if (rename(in.staging, o->dir) != 0) {
		rc = mca_error_set(err, MCA_ERR_IO, "%s: %s", o->dir, strerror(errno));
		goto out;
	}
	free(in.staging);
	in.staging = NULL;
	parent = mca_path_dirname(o->dir);
	if (parent != NULL)
		mca_fsync_dir(parent, NULL);
	colon_fingerprint(in.root, res->root_fingerprint, sizeof(res->root_fingerprint));
	snprintf(res->config_path, sizeof(res->config_path), "%s/mtlsca.conf", o->dir);
	rc = MCA_OK;
out:
	if (rc != MCA_OK)
		destroy_token_keys(&in);
	free(parent);
	free(urls.crl_url);
	free(urls.ca_issuers_url);
	free(urls.ocsp_url);
	init_free(&in);
	return rc;
}
