/* issued.c - replies shared by the issuing endpoints (/v1/sign, /v1/renew). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "api/http.h"
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

enum mca_http_result
mca_reply_issued(struct mca_req *r, const struct mca_issued *iss, const char *profile)
{
	enum mca_http_result res;
	char *pem = NULL, nb[32], na[32];

	if (mca_cert_der_to_pem(iss->der, iss->der_len, &pem, NULL) != MCA_OK)
		return mca_reply_error(r, 500, "internal", "encoding the certificate failed");
	mca_time_rfc3339((time_t)iss->not_before, nb, sizeof(nb));
	mca_time_rfc3339((time_t)iss->not_after, na, sizeof(na));
	/* chain: the issuing CA, then the root (doc/api.md) */
	res = mca_reply_json(r, 201,
	                     json_pack("{s:s, s:s, s:[s, s], s:s, s:s, s:s}", "serial", iss->serial,
	                               "certificate", pem, "chain", mca_req_server(r)->ca_pem,
	                               mca_req_server(r)->root_pem, "profile", profile,
	                               "not_before", nb, "not_after", na));
	free(pem);
	return res;
}
