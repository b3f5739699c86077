/*
 * ep_revoke.c - POST /v1/revoke: admins revoke any serial for any reason,
 * holders their own for the reasons a holder may give (revoke.h).
 */
#include "config.h"

#include <string.h>

#include "api/http.h"
#include "ca/revoke.h"
#include "common/jsonx.h"
#include "common/log.h"
#include "common/util.h"
#include "pki/serial.h"

struct revoke_body {
	const char *serial, *reason;
};

static const struct mca_jfield revoke_fields[] = {
    MCA_JFIELD(struct revoke_body, serial, MCA_J_STRING, 1),
    MCA_JFIELD(struct revoke_body, reason, MCA_J_STRING, 0),
};

enum mca_http_result
mca_ep_revoke(struct mca_req *r)
{
	struct revoke_body b = {NULL, NULL};
	struct mca_error err = {0};
	struct mca_revoke_result rr;
	struct mca_publish pub;
	struct mca_store *st;
	enum mca_http_result res;
	char serial[MCA_SERIAL_HEX_MAX], at[32];

	if (!mca_http_require_identity(r, 0, &res))
		return res;
	if (mca_json_unpack(r->json, revoke_fields, 2, &b, "request body", &err) != MCA_OK)
		return mca_reply_error(r, 400, "bad_request", "%s", err.msg);
	if (mca_serial_normalize(b.serial, serial, &err) != MCA_OK)
		return mca_reply_error(r, 400, "bad_request", "field 'serial': %s", err.msg);
	if (!mca_req_id(r)->admin && strcmp(serial, mca_req_id(r)->rec->serial) != 0)
		return mca_reply_error(r, 403, "forbidden",
		                       "a certificate may revoke only itself; %s is another one",
		                       serial);
	st = mca_server_store(mca_req_server(r), &err);
	if (st == NULL)
		return mca_reply_error(r, 500, "internal", "database: %s", err.msg);
	mca_server_publish_params(mca_req_server(r), st, &pub, r->identity);
	switch (mca_revoke(&pub, serial, b.reason,
	                   mca_req_id(r)->admin ? MCA_REVOKER_ADMIN : MCA_REVOKER_HOLDER,
	                   r->identity, &rr, &err)) {
	case MCA_OK:
		break;
	case MCA_ERR_INVAL:
		return mca_reply_error(r, 400, "bad_request", "field 'reason': %s", err.msg);
	case MCA_ERR_NOTFOUND:
		return mca_reply_error(r, 404, "not_found", "%s", err.msg);
	case MCA_ERR_POLICY:
		return mca_reply_error(r, 403, "forbidden", "%s", err.msg);
	case MCA_ERR_SIGNER:
		/* recorded; its CRL is published by the retry (ca/revoke.h) */
		return mca_reply_error(r, 503, "signer_unavailable", "%s", err.msg);
	default:
		return mca_reply_error(r, 500, "internal", "revocation failed: %s", err.msg);
	}
	if (rr.changed) {
		mca_metrics_count(mca_req_server(r)->metrics, MCA_M_REVOKED, rr.profile);
		/* Serve the new CRL from the next request on. */
		if (mca_crlcache_refresh(mca_req_server(r)->crls, st, NULL, &err) != MCA_OK)
			mca_log(MCA_LOG_ERR, "loading the new CRL: %s", err.msg);
	}
	mca_time_rfc3339((time_t)rr.revoked_at, at, sizeof(at));
	return mca_reply_json(r, 200,
	                      json_pack("{s:s, s:s, s:s, s:s}", "serial", serial, "status",
	                                "revoked", "revoked_at", at, "reason", rr.reason));
}
