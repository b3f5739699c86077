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

struct raw_ocsp {
	const char *validity, *refresh, *responder_validity;
	int nonce;
	long long on_demand_per_second, cache_max;
};

static const struct mca_jfield ocsp_fields[] = {
    MCA_JFIELD(struct raw_ocsp, validity, MCA_J_STRING, 0),
    MCA_JFIELD(struct raw_ocsp, refresh, MCA_J_STRING, 0),
    MCA_JFIELD(struct raw_ocsp, responder_validity, MCA_J_STRING, 0),
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

mca_rc
mca_conf_ocsp(struct mca_conf *c, void *obj, struct mca_error *err)
{
	struct raw_ocsp raw = {NULL, NULL, NULL, 0, LLONG_MIN, LLONG_MIN};
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
	if (asprintf(&c->ocsp_url, "%s/ocsp", c->public_url) < 0) {
		c->ocsp_url = NULL;
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	}
	return MCA_OK;
}
