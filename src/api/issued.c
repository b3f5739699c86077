/* issued.c - replies shared by the issuing endpoints (/v1/sign, /v1/renew). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "api/http.h"
#include "ca/signq.h"
#include "common/jsonx.h"
#include "common/util.h"
#include "pki/keys.h"

enum mca_http_result
mca_reply_issue_error(struct mca_req *r, const struct mca_error *err, const char *profile)
{
	switch (err->code) {
	case MCA_ERR_POLICY:
		mca_metrics_count(mca_req_server(r)->metrics, MCA_M_REJECTED, profile);
		return mca_reply_error(r, 403, "policy_violation", "%s: %s", err->rule, err->msg);
	case MCA_ERR_BADCSR:
		return mca_reply_error(r, 400, "bad_csr", "%s: %s", err->rule, err->msg);
	case MCA_ERR_NOTFOUND:
		return mca_reply_error(r, 403, "forbidden", "%s", err->msg);
	case MCA_ERR_SIGNER:
		return mca_reply_error(r, 503, "signer_unavailable", "%s", err->msg);
	default:
		/* Unreachable or contended past the retries: nothing was recorded, try again. */
		if (mca_store_unavailable(err->code, err))
			return mca_reply_error(r, 503, "database_unavailable", "%s", err->msg);
		return mca_reply_error(r, 500, "internal", "issuance failed: %s", err->msg);
	}
}

/* ,"KEY": and `value` as a JSON string (mca_json_str_append). */
static int
field(char *out, size_t cap, size_t *len, const char *key, const char *value)
{
	size_t n = strlen(key) + 4;

	if (cap - *len < n)
		return 0;
	*len += (size_t)snprintf(out + *len, cap - *len, ",\"%s\":", key);
	return mca_json_str_append(out, cap, len, value);
}

/*
 * {"serial","certificate","chain","profile","not_before","not_after"}
 * written straight into one buffer (the chain's JSON made once at start,
 * mca_server chain_json): the same bytes json_pack + json_dumps gave, at
 * a fraction of the cost on every issuance.
 */
enum mca_http_result
mca_reply_issued(struct mca_req *r, const struct mca_issued *iss, const char *profile)
{
	const char *chain = mca_req_server(r)->chain_json;
	enum mca_http_result res;
	char *pem = NULL, *body = NULL, nb[32], na[32];
	size_t cap, len = 0;
	int ok;

	if (mca_cert_der_to_pem(iss->der, iss->der_len, &pem, NULL) != MCA_OK)
		return mca_reply_error(r, 500, "internal", "encoding the certificate failed");
	mca_time_rfc3339((time_t)iss->not_before, nb, sizeof(nb));
	mca_time_rfc3339((time_t)iss->not_after, na, sizeof(na));
	/* every octet of a string may become six; the keys and punctuation take < 128 */
	cap = 6 * (strlen(iss->serial) + strlen(pem) + strlen(profile) + strlen(nb) + strlen(na)) +
	      strlen(chain) + 128;
	body = malloc(cap);
	ok = body != NULL;
	if (ok) {
		memcpy(body, "{\"serial\":", 10);
		len = 10;
		/* chain: the issuing CA, then the root (doc/api.md) */
		ok = mca_json_str_append(body, cap, &len, iss->serial) &&
		     field(body, cap, &len, "certificate", pem) && cap - len > strlen(chain) + 10;
	}
	if (ok) {
		len += (size_t)snprintf(body + len, cap - len, ",\"chain\":%s", chain);
		ok = field(body, cap, &len, "profile", profile) &&
		     field(body, cap, &len, "not_before", nb) &&
		     field(body, cap, &len, "not_after", na) && cap - len > 1;
	}
	if (ok) {
		body[len++] = '}';
		res = mca_reply_bytes(r, 201, "application/json", body, len);
	} else {
		res = mca_reply_error(r, 500, "internal", "building the reply failed");
	}
	free(body);
	free(pem);
	return res;
}

enum mca_http_result
mca_issue_deferred(struct mca_req *r, struct mca_signq *q, struct mca_issuer *is,
                   const struct mca_issue_req *req, const struct mca_decision *d,
                   struct mca_issued *iss, mca_committer_done_fn done, mca_http_handler resumed,
                   void *pending, void (*pending_free)(void *), mca_rc *rc, struct mca_error *err)
{
	enum mca_http_result res = mca_req_defer(r, resumed, pending, pending_free);
	mca_rc queued = mca_signq_submit(q, is, req, d, iss, done, pending, err);

	/* Queued: `done` owns *rc from now on (it may have run already). */
	if (queued != MCA_OK) {
		*rc = queued; /* nothing queued: reply with the error */
		mca_req_resume(r);
	}
	return res;
}
