/*
 * conf_ocsp.c - the "ocsp" object of mtlsca.conf (doc/config.md): it turns
 * the responder on; every field is optional.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/conf.h"
#include "common/duration.h"
#include "common/jsonx.h"
#include "common/util.h"
#include "signer/p11uri.h"

struct raw_ocsp {
	const char *validity, *refresh, *responder_validity, *responder_key;
	int nonce;
	long long on_demand_per_second, cache_max;
};

static const struct mca_jfield ocsp_fields[] = {
    MCA_JFIELD(struct raw_ocsp, validity, MCA_J_STRING, 0),
    MCA_JFIELD(struct raw_ocsp, refresh, MCA_J_STRING, 0),
    MCA_JFIELD(struct raw_ocsp, responder_validity, MCA_J_STRING, 0),
    MCA_JFIELD(struct raw_ocsp, responder_key, MCA_J_STRING, 0),
    MCA_JFIELD(struct raw_ocsp, nonce, MCA_J_BOOL, 0),
    MCA_JFIELD(struct raw_ocsp, on_demand_per_second, MCA_J_INT, 0),
    MCA_JFIELD(struct raw_ocsp, cache_max, MCA_J_INT, 0),
};

/* A duration field within [lo, hi] seconds, the default kept when absent. */
static mca_rc
duration(const struct mca_conf *c, const char *field, const char *val, int64_t lo, int64_t hi,
         int64_t *out, struct mca_error *err)
{
	struct mca_error e = {0};

	if (val == NULL)
		return MCA_OK;
	if (mca_duration_parse(val, out, &e) != MCA_OK)
		return mca_error_set(err, MCA_ERR_CONFIG, "%s: field 'ocsp.%s': %s", c->path, field,
		                     e.msg);
	if (*out < lo || *out > hi)
		return mca_error_set(err, MCA_ERR_CONFIG,
		                     "%s: field 'ocsp.%s': %lld s is outside %lld..%lld s", c->path,
		                     field, (long long)*out, (long long)lo, (long long)hi);
	return MCA_OK;
}

static mca_rc
count(const struct mca_conf *c, const char *field, long long v, long long lo, long long hi,
      unsigned *out, struct mca_error *err)
{
	if (v == LLONG_MIN) /* absent */
		return MCA_OK;
	if (v < lo || v > hi)
		return mca_error_set(err, MCA_ERR_CONFIG,
		                     "%s: field 'ocsp.%s': %lld is outside %lld..%lld", c->path,
		                     field, v, lo, hi);
	*out = (unsigned)v;
	return MCA_OK;
}

/*
 * "responder_key": a pkcs11: URI (kept as written; the module is the CA's
 * pkcs11_module or the URI's module-path) or a key file (resolved against
 * the configuration's directory; its mode is checked when the signer
 * process opens it, as for ca_key).  It may not be the CA's or the root's
 * key: the responder key signs OCSP responses only, and they sign none.
 * Absent: the signer process generates a P-256 key in memory at start.
 */
static mca_rc
responder_key(struct mca_conf *c, const char *val, struct mca_error *err)
{
	struct mca_p11uri u;
	struct mca_error e = {0};

	if (val == NULL)
		return MCA_OK;
	if (val[0] == '\0')
		return mca_error_set(err, MCA_ERR_CONFIG,
		                     "%s: field 'ocsp.responder_key': empty path", c->path);
	if (mca_p11uri_is(val)) {
		if (mca_p11uri_parse(val, &u, &e) != MCA_OK)
			return mca_error_set(err, MCA_ERR_CONFIG,
			                     "%s: field 'ocsp.responder_key': %s", c->path, e.msg);
		if (u.type != MCA_P11URI_ANY && u.type != MCA_P11URI_PRIVATE)
			return mca_error_set(err, MCA_ERR_CONFIG,
			                     "%s: field 'ocsp.responder_key': the URI must name a "
			                     "private key (type=private or no type)",
			                     c->path);
		if ((u.token[0] == '\0' && u.serial[0] == '\0') ||
		    (u.object[0] == '\0' && !u.has_id))
			return mca_error_set(
			    err, MCA_ERR_CONFIG,
			    "%s: field 'ocsp.responder_key': the URI must name the "
			    "token (token= or serial=) and the key (object= or id=)",
			    c->path);
		if (c->pkcs11_module == NULL && u.module_path[0] == '\0')
			return mca_error_set(err, MCA_ERR_CONFIG,
			                     "%s: field 'ocsp.responder_key': a pkcs11: key needs "
			                     "pkcs11_module (or module-path in the URI)",
			                     c->path);
		c->ocsp_responder_key = strdup(val);
	} else {
		c->ocsp_responder_key = mca_path_join(c->dir, val);
	}
	if (c->ocsp_responder_key == NULL)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	if ((c->ca_key != NULL && strcmp(c->ocsp_responder_key, c->ca_key) == 0) ||
	    (c->root_key != NULL && strcmp(c->ocsp_responder_key, c->root_key) == 0))
		return mca_error_set(err, MCA_ERR_CONFIG,
		                     "%s: field 'ocsp.responder_key': is the %s; the responder "
		                     "needs a key of its own (CA keys sign no OCSP responses)",
		                     c->path,
		                     c->ca_key != NULL &&
		                             strcmp(c->ocsp_responder_key, c->ca_key) == 0
		                         ? "issuing CA's key (ca_key)"
		                         : "root's key (root_key)");
	return MCA_OK;
}

mca_rc
mca_conf_ocsp(struct mca_conf *c, void *obj, struct mca_error *err)
{
	struct raw_ocsp raw = {NULL, NULL, NULL, NULL, 0, LLONG_MIN, LLONG_MIN};
	struct mca_error e = {0};
	int64_t refresh_set = 0;
	mca_rc rc;

	if (mca_json_unpack(obj, ocsp_fields, sizeof(ocsp_fields) / sizeof(ocsp_fields[0]), &raw,
	                    "ocsp", &e) != MCA_OK)
		return mca_error_set(err, MCA_ERR_CONFIG, "%s: %s", c->path, e.msg);
	c->ocsp_validity = 86400;
	c->ocsp_cert_validity = 2 * 86400;
	c->ocsp_on_demand_per_second = 100;
	c->ocsp_cache_max = 100000;
	/* a response lives at most 7 days (signer/lint.h), at least 2 s (tests) */
	if ((rc = duration(c, "validity", raw.validity, 2, 7 * 86400, &c->ocsp_validity, err)) !=
	        MCA_OK ||
	    (rc = duration(c, "refresh", raw.refresh, 1, 7 * 86400, &refresh_set, err)) != MCA_OK ||
	    (rc = duration(c, "responder_validity", raw.responder_validity, 3600, 30 * 86400,
	                   &c->ocsp_cert_validity, err)) != MCA_OK ||
	    (rc = count(c, "on_demand_per_second", raw.on_demand_per_second, 0, 100000,
	                &c->ocsp_on_demand_per_second, err)) != MCA_OK ||
	    (rc = count(c, "cache_max", raw.cache_max, 16, 10000000, &c->ocsp_cache_max, err)) !=
	        MCA_OK)
		return rc;
	/* re-signed at half the validity unless told otherwise */
	c->ocsp_refresh = raw.refresh != NULL ? refresh_set : c->ocsp_validity / 2;
	if (c->ocsp_refresh >= c->ocsp_validity)
		return mca_error_set(
		    err, MCA_ERR_CONFIG,
		    "%s: field 'ocsp.refresh': must be shorter than ocsp.validity, "
		    "or responses would be served past their nextUpdate",
		    c->path);
	c->ocsp_nonce = raw.nonce;
	if ((rc = responder_key(c, raw.responder_key, err)) != MCA_OK)
		return rc;
	if (asprintf(&c->ocsp_url, "%s/ocsp", c->public_url) < 0) {
		c->ocsp_url = NULL;
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	}
	return MCA_OK;
}
