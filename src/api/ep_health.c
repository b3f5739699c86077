/* ep_health.c - GET /v1/health: 200 when the database and the CA key work. */
#include "config.h"

#include <string.h>

#include "api/http.h"
#include "signer/signer.h"

/* A signature over a fixed message proves the CA key is loaded and usable. */
static int
key_usable(struct mca_server *srv)
{
	static const unsigned char probe[] = "mtlsca health probe";
	unsigned char *sig = NULL;
	size_t len = 0;
	int ok;

	ok = mca_signer_sign(srv->ca_signer, probe, sizeof(probe), &sig, &len, NULL) == MCA_OK;
	free(sig);
	return ok;
}

enum mca_http_result
mca_ep_health(struct mca_req *r)
{
	struct mca_error err = {0};
	struct mca_store *st = mca_server_store(r->srv, &err);

	if (st == NULL || mca_store_ping(st, &err) != MCA_OK)
		return mca_reply_json(
		    r, 503, json_pack("{s:s, s:s}", "status", "unavailable", "reason", "database"));
	if (!key_usable(r->srv))
		return mca_reply_json(
		    r, 503,
		    json_pack("{s:s, s:s}", "status", "unavailable", "reason", "signing key"));
	return mca_reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
}
