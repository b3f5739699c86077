/* ep_ca.c - GET /v1/ca: the trust anchors as JSON (PEMs encoded once, at start). */
#include "config.h"

#include "api/http.h"

enum mca_http_result
mca_ep_ca(struct mca_req *r)
{
	/* chain: the issuing CA, then the root (doc/api.md) */
	return mca_reply_json(r, 200,
	                      json_pack("{s:s, s:[s, s], s:s}", "root", mca_req_server(r)->root_pem,
	                                "chain", mca_req_server(r)->ca_pem,
	                                mca_req_server(r)->root_pem, "root_fingerprint_sha256",
	                                mca_req_server(r)->root_fingerprint));
}
