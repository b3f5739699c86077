/* ep_health.c - GET /v1/health: 200 when the database and the CA key work. */
#include "config.h"

#include <string.h>
#include <time.h>

#include "api/http.h"
#include "common/probe.h"

enum mca_http_result
mca_ep_health(struct mca_req *r)
{
	struct mca_error err = {0};
	struct mca_store *st = mca_server_store(mca_req_server(r), &err);
	struct timespec ts;

	if (st == NULL || mca_store_ping(st, &err) != MCA_OK)
		return mca_reply_json(
		    r, 503, json_pack("{s:s, s:s}", "status", "unavailable", "reason", "database"));
	/* Unauthenticated on both listeners: sign at most once per interval (server.c). */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (!mca_probe_ok(mca_req_server(r)->signer_probe,
	                  (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec))
		return mca_reply_json(
		    r, 503,
		    json_pack("{s:s, s:s}", "status", "unavailable", "reason", "signing key"));
	return mca_reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
}
