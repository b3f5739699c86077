/* conf.c - loading and validating mtlsca.conf. */
#include "config.h"

#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ca/conf.h"
#include "store/store.h"
#include "common/duration.h"
#include "common/jsonx.h"
#include "common/log.h"
#include "common/util.h"
#include "policy/names.h"
#include "policy/profile.h"
#include "signer/p11uri.h"

/* acme.http01_deny when the file does not say: loopback, link-local, unspecified. */
static const char *const default_http01_deny[] = {
    "127.0.0.0/8", "::1/128", "169.254.0.0/16", "fe80::/10", "0.0.0.0/8", "::/128", NULL,
};
#define MAX_HTTP01_DENY 64

/* The file's fields exactly as they appear, borrowed from the json_t. */
struct raw_conf {
	const char *listen, *http_listen, *public_url, *crl_url, *ca_issuers_url;
	const char *database, *root_cert, *root_key, *ca_cert, *ca_key, *chain;
	const char *server_cert, *server_key, *passphrase_file, *templates_dir, *crl_dir;
	const char *log_level, *signer_user, *pkcs11_module, *pkcs11_pin_file;
	json_t *crl, *limits, *admin_profiles, *acme, *ocsp;
};

#define F(m, t, r) MCA_JFIELD(struct raw_conf, m, t, r)
static const struct mca_jfield conf_fields[] = {
    F(listen, MCA_J_STRING, 0),         F(http_listen, MCA_J_STRING, 0),
    F(public_url, MCA_J_STRING, 0),     F(crl_url, MCA_J_STRING, 0),
    F(ca_issuers_url, MCA_J_STRING, 0), F(database, MCA_J_STRING, 1),
    F(root_cert, MCA_J_STRING, 1),      F(root_key, MCA_J_STRING, 0),
    F(ca_cert, MCA_J_STRING, 1),        F(ca_key, MCA_J_STRING, 1),
    F(chain, MCA_J_STRING, 1),          F(server_cert, MCA_J_STRING, 1),
    F(server_key, MCA_J_STRING, 1),     F(passphrase_file, MCA_J_STRING, 0),
    F(templates_dir, MCA_J_STRING, 0),  F(crl_dir, MCA_J_STRING, 0),
    F(log_level, MCA_J_STRING, 0),      F(crl, MCA_J_OBJECT, 0),
    F(limits, MCA_J_OBJECT, 0),         F(admin_profiles, MCA_J_STRARR, 0),
    F(acme, MCA_J_OBJECT, 0),           F(signer_user, MCA_J_STRING, 0),
    F(pkcs11_module, MCA_J_STRING, 0),  F(pkcs11_pin_file, MCA_J_STRING, 0),
    F(ocsp, MCA_J_OBJECT, 0),
};
#undef F

struct raw_crl {
	const char *validity, *refresh, *root_validity;
	long long shards;
};
static const struct mca_jfield crl_fields[] = {
    MCA_JFIELD(struct raw_crl, validity, MCA_J_STRING, 0),
    MCA_JFIELD(struct raw_crl, refresh, MCA_J_STRING, 0),
    MCA_JFIELD(struct raw_crl, root_validity, MCA_J_STRING, 0),
    MCA_JFIELD(struct raw_crl, shards, MCA_J_INT, 0),
};

struct raw_limits {
	long long max_connections, max_connections_per_ip, threads;
	const char *connection_timeout, *request_timeout;
};
static const struct mca_jfield limits_fields[] = {
    MCA_JFIELD(struct raw_limits, max_connections, MCA_J_INT, 0),
    MCA_JFIELD(struct raw_limits, max_connections_per_ip, MCA_J_INT, 0),
    MCA_JFIELD(struct raw_limits, threads, MCA_J_INT, 0),
    MCA_JFIELD(struct raw_limits, connection_timeout, MCA_J_STRING, 0),
    MCA_JFIELD(struct raw_limits, request_timeout, MCA_J_STRING, 0),
};

struct raw_acme {
	long long http01_port, orders_per_hour, new_accounts_per_hour;
	const char *dns_resolver;
	json_t *hosts;
	long long validation_workers, pending_validations_per_account, pending_validations;
	const char *validation_timeout;
	json_t *http01_deny;
};
static const struct mca_jfield acme_fields[] = {
    MCA_JFIELD(struct raw_acme, http01_port, MCA_J_INT, 0),
    MCA_JFIELD(struct raw_acme, dns_resolver, MCA_J_STRING, 0),
    MCA_JFIELD(struct raw_acme, hosts, MCA_J_OBJECT, 0),
    MCA_JFIELD(struct raw_acme, orders_per_hour, MCA_J_INT, 0),
    MCA_JFIELD(struct raw_acme, validation_timeout, MCA_J_STRING, 0),
    MCA_JFIELD(struct raw_acme, validation_workers, MCA_J_INT, 0),
    MCA_JFIELD(struct raw_acme, pending_validations_per_account, MCA_J_INT, 0),
    MCA_JFIELD(struct raw_acme, pending_validations, MCA_J_INT, 0),
    MCA_JFIELD(struct raw_acme, http01_deny, MCA_J_STRARR, 0),
    MCA_JFIELD(struct raw_acme, new_accounts_per_hour, MCA_J_INT, 0),
};

mca_rc
mca_hostport_parse(const char *s, struct mca_hostport *hp, struct mca_error *err)
{
	const char *colon, *host = s;
	size_t hostlen;
	char *end = NULL;
	unsigned long port;

	if (s[0] == '[') {
		colon = strstr(s, "]:");
		if (colon == NULL)
			goto bad;
		host = s + 1;
		hostlen = (size_t)(colon - host);
		colon++;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL || memchr(s, ':', (size_t)(colon - s)) != NULL)
			goto bad;
		hostlen = (size_t)(colon - s);
	}
	if (hostlen == 0 || hostlen >= sizeof(hp->host))
		goto bad;
	if (colon[1] < '0' || colon[1] > '9')
		goto bad;
	port = strtoul(colon + 1, &end, 10);
	if (*end != '\0' || port > 65535)
		return mca_error_set(err, MCA_ERR_INVAL, "invalid port in '%.64s'", s);
	memcpy(hp->host, host, hostlen);
	hp->host[hostlen] = '\0';
	hp->port = (unsigned)port;
	return MCA_OK;
bad:
	return mca_error_set(err, MCA_ERR_INVAL, "'%.64s' is not HOST:PORT", s);
}

void
mca_hostport_format(const struct mca_hostport *hp, char *buf, unsigned len)
{
	if (strchr(hp->host, ':') != NULL)
		snprintf(buf, len, "[%s]:%u", hp->host, hp->port);
	else
		snprintf(buf, len, "%s:%u", hp->host, hp->port);
}

/* Resolve a config path against the config's directory; NULL in, NULL out. */
static mca_rc
conf_path(const struct mca_conf *c, const char *field, const char *val, char **out,
          struct mca_error *err)
{
	*out = NULL;
	if (val == NULL)
		return MCA_OK;
	if (val[0] == '\0')
		return mca_error_set(err, MCA_ERR_CONFIG, "%s: field '%s': empty path", c->path,
		                     field);
	*out = mca_path_join(c->dir, val);
	return *out == NULL ? mca_error_set(err, MCA_ERR_NOMEM, "out of memory") : MCA_OK;
}

/* A key field: a pkcs11: URI (signer/p11uri.h) is kept as written, else a path. */
static mca_rc
conf_key(const struct mca_conf *c, const char *field, const char *val, char **out,
         struct mca_error *err)
{
	struct mca_p11uri u;
	struct mca_error e = {0};

	if (!mca_p11uri_is(val))
		return conf_path(c, field, val, out, err);
	if (mca_p11uri_parse(val, &u, &e) != MCA_OK)
		return mca_error_set(err, MCA_ERR_CONFIG, "%s: field '%s': %s", c->path, field,
		                     e.msg);
	*out = strdup(val);
	return *out == NULL ? mca_error_set(err, MCA_ERR_NOMEM, "out of memory") : MCA_OK;
}

/*
 * The `database` field (store.h): a path or "sqlite:PATH", relative to the
 * file's directory (kept as the plain path), or a "SCHEME://" URI, kept as
 * written for mca_store_open to accept or refuse.
 */
static mca_rc
conf_database(const struct mca_conf *c, const char *val, char **out, struct mca_error *err)
{
	const char *sep;

	*out = NULL;
	if (val != NULL && strncmp(val, "sqlite:", 7) == 0)
		return conf_path(c, "database", val + 7, out, err);
	if (mca_store_is_server(val)) { /* a libpq keyword string, not a path */
		*out = strdup(val);
		return *out == NULL ? mca_error_set(err, MCA_ERR_NOMEM, "out of memory") : MCA_OK;
	}
	if (val != NULL && (sep = strstr(val, "://")) != NULL && sep > val &&
	    strcspn(val, "/:") == (size_t)(sep - val)) {
		*out = strdup(val);
		return *out == NULL ? mca_error_set(err, MCA_ERR_NOMEM, "out of memory") : MCA_OK;
	}
	return conf_path(c, "database", val, out, err);
}

/* Parse a duration field, keeping the default when absent. */
static mca_rc
conf_duration(const struct mca_conf *c, const char *field, const char *val, int64_t *out,
              struct mca_error *err)
{
	struct mca_error e = {0};

	if (val == NULL)
		return MCA_OK;
	if (mca_duration_parse(val, out, &e) != MCA_OK)
		return mca_error_set(err, MCA_ERR_CONFIG, "%s: field '%s': %s", c->path, field,
		                     e.msg);
	return MCA_OK;
}

/* Whether the authority of the URL at `host` (after "scheme://") has port 0. */
static int
url_port_zero(const char *host)
{
	size_t alen = strcspn(host, "/?#"), i;
	const char *a = host, *colon = NULL;
	const char *at = memchr(a, '@', alen);

	if (at != NULL) {
		alen -= (size_t)(at + 1 - a);
		a = at + 1;
	}
	if (alen > 0 && a[0] == '[') {
		const char *rb = memchr(a, ']', alen);

		if (rb != NULL && (size_t)(rb + 1 - a) < alen && rb[1] == ':')
			colon = rb + 1;
	} else {
		for (i = 0; i < alen; i++)
			if (a[i] == ':')
				colon = a + i;
	}
	if (colon == NULL || colon + 1 == a + alen)
		return 0; /* no port, or "host:" (the scheme's default) */
	for (i = 1; colon + i < a + alen; i++)
		if (colon[i] != '0')
			return 0;
	return 1;
}

mca_rc
mca_url_check(const char *url, struct mca_error *err)
{
	const char *host = NULL;

	if (strncmp(url, "http://", 7) == 0)
		host = url + 7;
	else if (strncmp(url, "https://", 8) == 0)
		host = url + 8;
	/* A host must follow the scheme: "http://" alone would make "http:/crl". */
	if (host == NULL || strpbrk(url, " \t\r\n\"<>\\") != NULL || strlen(url) > 1024 ||
	    *host == '\0' || *host == '/' || *host == ':' || *host == '?' || *host == '#')
		return mca_error_set(err, MCA_ERR_INVAL,
		                     "'%.64s' is not an http:// or https:// URL with a host", url);
	if (url_port_zero(host))
		return mca_error_set(err, MCA_ERR_INVAL,
		                     "'%.64s' has port 0: certificates would send relying parties "
		                     "to a port nobody listens on",
		                     url);
	return MCA_OK;
}

/* Check a URL field (mca_url_check); store a copy without trailing '/'. */
static mca_rc
conf_url(const struct mca_conf *c, const char *field, const char *val, char **out,
         struct mca_error *err)
{
	struct mca_error e = {0};
	size_t len;

	if (val == NULL)
		return MCA_OK;
	if (mca_url_check(val, &e) != MCA_OK)
		return mca_error_set(err, MCA_ERR_CONFIG, "%s: field '%s': %s", c->path, field,
		                     e.msg);
	free(*out);
	*out = strdup(val);
	if (*out == NULL)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	len = strlen(*out);
	while (len > 0 && (*out)[len - 1] == '/')
		(*out)[--len] = '\0';
	return MCA_OK;
}

/* Marks a limit the file does not set; no JSON integer jansson reads is this. */
#define LIM_ABSENT LLONG_MIN

/* Bound an integer limit to [lo, hi]. */
static mca_rc
conf_uint(const struct mca_conf *c, const char *field, long long v, long long lo, long long hi,
          unsigned *out, struct mca_error *err)
{
	if (v == LIM_ABSENT)
		return MCA_OK;
	if (v < lo || v > hi)
		return mca_error_set(err, MCA_ERR_CONFIG,
		                     "%s: field 'limits.%s': %lld is outside %lld..%lld", c->path,
		                     field, v, lo, hi);
	*out = (unsigned)v;
	return MCA_OK;
}

/* Bound an integer of the acme section to [lo, hi]; -1: absent. */
static mca_rc
acme_uint(const struct mca_conf *c, const char *field, long long v, long long lo, long long hi,
          unsigned *out, struct mca_error *err)
{
	if (v == -1)
		return MCA_OK;
	if (v < lo || v > hi)
		return mca_error_set(err, MCA_ERR_CONFIG,
		                     "%s: field 'acme.%s': %lld is outside %lld..%lld", c->path,
		                     field, v, lo, hi);
	*out = (unsigned)v;
	return MCA_OK;
}

/* acme.http01_deny from the array `arr` of CIDR strings, or the default list when NULL. */
static mca_rc
conf_http01_deny(struct mca_conf *c, json_t *arr, struct mca_error *err)
{
	size_t i, n = 0;
	const char *text;

	if (arr == NULL)
		while (default_http01_deny[n] != NULL)
			n++;
	else
		n = json_array_size(arr);
	if (n > MAX_HTTP01_DENY)
		return mca_error_set(err, MCA_ERR_CONFIG,
		                     "%s: field 'acme.http01_deny': at most %d", c->path,
		                     MAX_HTTP01_DENY);
	free(c->acme_http01_deny);
	c->acme_n_http01_deny = 0;
	c->acme_http01_deny = calloc(n + 1, sizeof(*c->acme_http01_deny));
	if (c->acme_http01_deny == NULL)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		text = arr == NULL ? default_http01_deny[i]
		                   : json_string_value(json_array_get(arr, i));
		if (!mca_cidr_parse(text, &c->acme_http01_deny[i]))
			return mca_error_set(err, MCA_ERR_CONFIG,
			                     "%s: field 'acme.http01_deny': '%.64s' is not an IP "
			                     "network (ADDR/BITS)",
			                     c->path, text);
	}
	c->acme_n_http01_deny = n;
	return MCA_OK;
}

/* The "acme" section: validation port, resolver, fixed host addresses, validation limits. */
static mca_rc
conf_acme(struct mca_conf *c, json_t *obj, struct mca_error *err)
{
	struct raw_acme raw = {-1, -1, -1, NULL, NULL, -1, -1, -1, NULL, NULL};
	int64_t timeout = 0;
	mca_rc rc;
	struct mca_error e = {0};
	unsigned char ip[16];
	size_t iplen, n = 0, i = 0;
	const char *key;
	json_t *v;
	char host[64], *end = NULL;
	const char *colon;
	long port;

	if (mca_json_unpack(obj, acme_fields, sizeof(acme_fields) / sizeof(acme_fields[0]), &raw,
	                    "acme", &e) != MCA_OK)
		return mca_error_set(err, MCA_ERR_CONFIG, "%s: %s", c->path, e.msg);
	if (raw.http01_port != -1) {
		if (raw.http01_port < 1 || raw.http01_port > 65535)
			return mca_error_set(err, MCA_ERR_CONFIG,
			                     "%s: field 'acme.http01_port': %lld is not a port",
			                     c->path, raw.http01_port);
		c->acme_http01_port = (unsigned)raw.http01_port;
	}
	if (raw.orders_per_hour != -1) {
		if (raw.orders_per_hour < 1 || raw.orders_per_hour > 100000)
			return mca_error_set(
			    err, MCA_ERR_CONFIG,
			    "%s: field 'acme.orders_per_hour': %lld is outside 1..100000", c->path,
			    raw.orders_per_hour);
		c->acme_orders_per_hour = (unsigned)raw.orders_per_hour;
	}
	if ((rc = acme_uint(c, "validation_workers", raw.validation_workers, 1, 256,
	                    &c->acme_validation_workers, err)) != MCA_OK ||
	    (rc = acme_uint(c, "pending_validations_per_account",
	                    raw.pending_validations_per_account, 1, 100000,
	                    &c->acme_pending_per_account, err)) != MCA_OK ||
	    (rc = acme_uint(c, "pending_validations", raw.pending_validations, 1, 100000,
	                    &c->acme_pending_max, err)) != MCA_OK)
		return rc;
	if (raw.validation_timeout != NULL) {
		if ((rc = conf_duration(c, "acme.validation_timeout", raw.validation_timeout,
		                        &timeout, err)) != MCA_OK)
			return rc;
		if (timeout < 1 || timeout > 300)
			return mca_error_set(err, MCA_ERR_CONFIG,
			                     "%s: field 'acme.validation_timeout': 1s to 5m",
			                     c->path);
		c->acme_validation_timeout = (unsigned)timeout;
	}
	if (raw.http01_deny != NULL && (rc = conf_http01_deny(c, raw.http01_deny, err)) != MCA_OK)
		return rc;
	if (raw.new_accounts_per_hour != -1) {
		if (raw.new_accounts_per_hour < 1 || raw.new_accounts_per_hour > 100000)
			return mca_error_set(
			    err, MCA_ERR_CONFIG,
			    "%s: field 'acme.new_accounts_per_hour': %lld is outside 1..100000",
			    c->path, raw.new_accounts_per_hour);
		c->acme_new_accounts_per_hour = (unsigned)raw.new_accounts_per_hour;
	}
	if (raw.dns_resolver != NULL) {
		/* IPv4[:PORT]: what the dns-01 validator can ask. */
		colon = strchr(raw.dns_resolver, ':');
		snprintf(
		    host, sizeof(host), "%.*s",
		    (int)(colon ? (size_t)(colon - raw.dns_resolver) : strlen(raw.dns_resolver)),
		    raw.dns_resolver);
		port = colon ? strtol(colon + 1, &end, 10) : 53;
		if (strlen(raw.dns_resolver) > 63 || inet_pton(AF_INET, host, ip) != 1 ||
		    (colon != NULL && (end == colon + 1 || *end != '\0')) || port < 1 ||
		    port > 65535)
			return mca_error_set(
			    err, MCA_ERR_CONFIG,
			    "%s: field 'acme.dns_resolver': '%.64s' is not IPv4[:PORT]", c->path,
			    raw.dns_resolver);
		c->acme_dns_resolver = strdup(raw.dns_resolver);
		if (c->acme_dns_resolver == NULL)
			return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	}
	n = raw.hosts ? json_object_size(raw.hosts) : 0;
	if (n > 64)
		return mca_error_set(err, MCA_ERR_CONFIG, "%s: field 'acme.hosts': at most 64",
		                     c->path);
	c->acme_host_names = calloc(n + 1, sizeof(char *));
	c->acme_host_addrs = calloc(n + 1, sizeof(char *));
	if (c->acme_host_names == NULL || c->acme_host_addrs == NULL)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	if (raw.hosts == NULL)
		return MCA_OK;
	json_object_foreach(raw.hosts, key, v)
	{
		if (!json_is_string(v) || !mca_ip_parse(json_string_value(v), ip, &iplen) ||
		    mca_dns_check(key, 0, 0, &e) != MCA_OK)
			return mca_error_set(
			    err, MCA_ERR_CONFIG,
			    "%s: field 'acme.hosts': '%.64s' must map a DNS name to "
			    "an IP address",
			    c->path, key);
		c->acme_host_names[i] = strdup(key);
		c->acme_host_addrs[i] = strdup(json_string_value(v));
		if (c->acme_host_names[i] == NULL || c->acme_host_addrs[i] == NULL)
			return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		i++;
	}
	return MCA_OK;
}

static mca_rc
conf_apply(struct mca_conf *c, json_t *root, struct mca_error *err)
{
	struct raw_conf raw = {0};
	struct raw_crl crl = {0};
	struct raw_limits lim = {LIM_ABSENT, LIM_ABSENT, LIM_ABSENT, NULL, NULL};
	struct mca_error e = {0};
	char buf[128];
	int64_t timeout = 30;
	size_t i;
	mca_rc rc;

	if (mca_json_unpack(root, conf_fields, sizeof(conf_fields) / sizeof(conf_fields[0]), &raw,
	                    c->path, &e) != MCA_OK)
		return mca_error_rule(err, MCA_ERR_CONFIG, e.rule, "%s", e.msg);
	if (raw.crl != NULL &&
	    mca_json_unpack(raw.crl, crl_fields, sizeof(crl_fields) / sizeof(crl_fields[0]), &crl,
	                    "crl", &e) != MCA_OK)
		return mca_error_set(err, MCA_ERR_CONFIG, "%s: %s", c->path, e.msg);
	if (raw.limits != NULL && mca_json_unpack(raw.limits, limits_fields,
	                                          sizeof(limits_fields) / sizeof(limits_fields[0]),
	                                          &lim, "limits", &e) != MCA_OK)
		return mca_error_set(err, MCA_ERR_CONFIG, "%s: %s", c->path, e.msg);

	if (mca_hostport_parse(raw.listen ? raw.listen : MCA_CONF_DEFAULT_LISTEN, &c->listen, &e) !=
	    MCA_OK)
		return mca_error_set(err, MCA_ERR_CONFIG, "%s: field 'listen': %s", c->path, e.msg);
	if (mca_hostport_parse(raw.http_listen ? raw.http_listen : MCA_CONF_DEFAULT_HTTP_LISTEN,
	                       &c->http_listen, &e) != MCA_OK)
		return mca_error_set(err, MCA_ERR_CONFIG, "%s: field 'http_listen': %s", c->path,
		                     e.msg);

	if (raw.public_url == NULL) {
		/* The CRL and caIssuers URLs of certificates default to this listener. */
		if (c->http_listen.port == 0 && (raw.crl_url == NULL || raw.ca_issuers_url == NULL))
			return mca_error_set(
			    err, MCA_ERR_CONFIG,
			    "%s: field 'http_listen': port 0 needs a public_url (the "
			    "CRL and caIssuers URLs of certificates)",
			    c->path);
		mca_hostport_format(&c->http_listen, buf, sizeof(buf));
		c->public_url = malloc(strlen(buf) + 8);
		if (c->public_url == NULL)
			return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		sprintf(c->public_url, "http://%s", buf);
	} else if ((rc = conf_url(c, "public_url", raw.public_url, &c->public_url, err)) != MCA_OK)
		return rc;
	if ((rc = conf_url(c, "crl_url", raw.crl_url, &c->crl_url, err)) != MCA_OK ||
	    (rc = conf_url(c, "ca_issuers_url", raw.ca_issuers_url, &c->ca_issuers_url, err)) !=
	        MCA_OK)
		return rc;
	if (c->crl_url == NULL && asprintf(&c->crl_url, "%s/crl", c->public_url) < 0)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	if (c->ca_issuers_url == NULL &&
	    asprintf(&c->ca_issuers_url, "%s/ca.crt", c->public_url) < 0)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");

	if ((rc = conf_database(c, raw.database, &c->database, err)) != MCA_OK ||
	    (rc = conf_path(c, "root_cert", raw.root_cert, &c->root_cert, err)) != MCA_OK ||
	    (rc = conf_key(c, "root_key", raw.root_key, &c->root_key, err)) != MCA_OK ||
	    (rc = conf_path(c, "ca_cert", raw.ca_cert, &c->ca_cert, err)) != MCA_OK ||
	    (rc = conf_key(c, "ca_key", raw.ca_key, &c->ca_key, err)) != MCA_OK ||
	    (rc = conf_path(c, "chain", raw.chain, &c->chain, err)) != MCA_OK ||
	    (rc = conf_path(c, "server_cert", raw.server_cert, &c->server_cert, err)) != MCA_OK ||
	    (rc = conf_path(c, "server_key", raw.server_key, &c->server_key, err)) != MCA_OK ||
	    (rc = conf_path(c, "passphrase_file", raw.passphrase_file, &c->passphrase_file, err)) !=
	        MCA_OK ||
	    (rc = conf_path(c, "pkcs11_module", raw.pkcs11_module, &c->pkcs11_module, err)) !=
	        MCA_OK ||
	    (rc = conf_path(c, "pkcs11_pin_file", raw.pkcs11_pin_file, &c->pkcs11_pin_file, err)) !=
	        MCA_OK ||
	    (rc = conf_path(c, "templates_dir", raw.templates_dir ? raw.templates_dir : "templates",
	                    &c->templates_dir, err)) != MCA_OK ||
	    (rc = conf_path(c, "crl_dir", raw.crl_dir ? raw.crl_dir : "crl", &c->crl_dir, err)) !=
	        MCA_OK)
		return rc;

	if (raw.signer_user != NULL) {
		if (raw.signer_user[0] == '\0' || strlen(raw.signer_user) > 64)
			return mca_error_set(
			    err, MCA_ERR_CONFIG,
			    "%s: field 'signer_user': a user name of 1 to 64 characters", c->path);
		c->signer_user = strdup(raw.signer_user);
		if (c->signer_user == NULL)
			return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	}
	if ((rc = conf_duration(c, "crl.validity", crl.validity, &c->crl_validity, err)) !=
	        MCA_OK ||
	    (rc = conf_duration(c, "crl.refresh", crl.refresh, &c->crl_refresh, err)) != MCA_OK ||
	    (rc = conf_duration(c, "crl.root_validity", crl.root_validity, &c->root_crl_validity,
	                        err)) != MCA_OK)
		return rc;
	if (c->crl_refresh >= c->crl_validity)
		return mca_error_set(err, MCA_ERR_CONFIG,
		                     "%s: field 'crl.refresh': must be shorter than crl.validity, "
		                     "or the CRL would expire before it is republished",
		                     c->path);
	if ((rc = mca_conf_crl_shards(c, crl.shards, err)) != MCA_OK)
		return rc;

	if (raw.log_level != NULL) {
		c->log_level = mca_log_level_parse(raw.log_level);
		if (c->log_level < 0)
			return mca_error_set(err, MCA_ERR_CONFIG,
			                     "%s: field 'log_level': '%.32s' is not debug, info, "
			                     "notice, warn or error",
			                     c->path, raw.log_level);
	}

	if ((rc = conf_uint(c, "max_connections", lim.max_connections, 1, 100000,
	                    &c->max_connections, err)) != MCA_OK ||
	    (rc = conf_uint(c, "max_connections_per_ip", lim.max_connections_per_ip, 0, 100000,
	                    &c->max_connections_per_ip, err)) != MCA_OK ||
	    (rc = conf_uint(c, "threads", lim.threads, 0, 256, &c->threads, err)) != MCA_OK)
		return rc;
	if (lim.connection_timeout != NULL) {
		if ((rc = conf_duration(c, "limits.connection_timeout", lim.connection_timeout,
		                        &timeout, err)) != MCA_OK)
			return rc;
		if (timeout > 3600)
			return mca_error_set(err, MCA_ERR_CONFIG,
			                     "%s: field 'limits.connection_timeout': at most 1h",
			                     c->path);
		c->connection_timeout = (unsigned)timeout;
	}
	if (lim.request_timeout != NULL) {
		if ((rc = conf_duration(c, "limits.request_timeout", lim.request_timeout, &timeout,
		                        err)) != MCA_OK)
			return rc;
		if (timeout < 1 || timeout > 3600)
			return mca_error_set(err, MCA_ERR_CONFIG,
			                     "%s: field 'limits.request_timeout': 1s to 1h",
			                     c->path);
		c->request_timeout = (unsigned)timeout;
	}

	if (raw.acme != NULL && (rc = conf_acme(c, raw.acme, err)) != MCA_OK)
		return rc;
	if (raw.ocsp != NULL && (rc = mca_conf_ocsp(c, raw.ocsp, err)) != MCA_OK)
		return rc;
	if (raw.admin_profiles != NULL) {
		free(c->admin_profiles[0]);
		free(c->admin_profiles);
		c->admin_profiles = calloc(json_array_size(raw.admin_profiles) + 1, sizeof(char *));
		if (c->admin_profiles == NULL)
			return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		for (i = 0; i < json_array_size(raw.admin_profiles); i++) {
			c->admin_profiles[i] =
			    strdup(json_string_value(json_array_get(raw.admin_profiles, i)));
			if (c->admin_profiles[i] == NULL)
				return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		}
	}
	return MCA_OK;
}

mca_rc
mca_conf_load(const char *path, struct mca_conf **out, struct mca_error *err)
{
	struct mca_conf *c = NULL;
	struct mca_error e = {0};
	char *text = NULL;
	size_t len = 0;
	json_t *root = NULL;
	mca_rc rc;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	c->path = strdup(path);
	c->dir = mca_path_dirname(path);
	c->admin_profiles = calloc(2, sizeof(char *));
	if (c->path == NULL || c->dir == NULL || c->admin_profiles == NULL ||
	    (c->admin_profiles[0] = strdup("admin")) == NULL) {
		rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		goto out;
	}
	c->crl_validity = 7 * 86400;
	c->crl_refresh = 86400;
	c->root_crl_validity = 365 * 86400;
	c->log_level = MCA_LOG_INFO;
	c->max_connections = 4096;
	c->max_connections_per_ip = 1024;
	c->connection_timeout = 30;
	c->request_timeout = 10;
	c->acme_http01_port = 80;
	c->acme_orders_per_hour = 300;
	c->acme_validation_timeout = 10;
	c->acme_validation_workers = 16;
	c->acme_pending_per_account = 20;
	c->acme_pending_max = 1024;
	c->acme_new_accounts_per_hour = 20;
	c->threads = 0;
	if ((rc = conf_http01_deny(c, NULL, err)) != MCA_OK)
		goto out;

	rc = mca_file_read(path, &text, &len, &e);
	if (rc != MCA_OK) {
		rc = mca_error_set(err, MCA_ERR_CONFIG, "%s", e.msg);
		goto out;
	}
	rc = mca_json_parse_object(text, len, &root, path, &e);
	if (rc != MCA_OK) {
		rc = mca_error_set(err, MCA_ERR_CONFIG, "%s", e.msg);
		goto out;
	}
	rc = conf_apply(c, root, err);
	if (rc != MCA_OK)
		goto out;
	*out = c;
	c = NULL;
out:
	json_decref(root);
	free(text);
	mca_conf_free(c);
	return rc;
}

void
mca_conf_free(struct mca_conf *c)
{
	size_t i;

	if (c == NULL)
		return;
	free(c->path);
	free(c->dir);
	free(c->public_url);
	free(c->crl_url);
	free(c->ca_issuers_url);
	free(c->database);
	free(c->root_cert);
	free(c->root_key);
	free(c->ca_cert);
	free(c->ca_key);
	free(c->chain);
	free(c->server_cert);
	free(c->server_key);
	free(c->passphrase_file);
	free(c->pkcs11_module);
	free(c->pkcs11_pin_file);
	free(c->signer_user);
	free(c->templates_dir);
	free(c->crl_dir);
	free(c->crl_shard_url);
	free(c->ocsp_url);
	free(c->ocsp_responder_key);
	for (i = 0; c->admin_profiles != NULL && c->admin_profiles[i] != NULL; i++)
		free(c->admin_profiles[i]);
	free(c->admin_profiles);
	for (i = 0; c->acme_host_names != NULL && c->acme_host_names[i] != NULL; i++)
		free(c->acme_host_names[i]);
	for (i = 0; c->acme_host_addrs != NULL && c->acme_host_addrs[i] != NULL; i++)
		free(c->acme_host_addrs[i]);
	free(c->acme_host_names);
	free(c->acme_host_addrs);
	free(c->acme_dns_resolver);
	free(c->acme_http01_deny);
	free(c);
}
