/* ep_metrics.c - GET /metrics: Prometheus text format. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/http.h"
#include "common/util.h"

enum mca_http_result
mca_ep_metrics(struct mca_req *r)
{
	/* The CRL gauges come from the snapshot being served, not from the database. */
	struct mca_crl_snap *crl = mca_crlcache_get(mca_req_server(r)->crls, MCA_CRL_CA);
	enum mca_http_result res;
	char *text, *crls = NULL, *both;

	text = mca_metrics_render(mca_req_server(r)->metrics, crl ? crl->number : 0,
	                          crl ? crl->this_update : 0, (int64_t)mca_now());
	mca_crl_snap_release(crl);
	/* The size of each CRL served: the complete one and every shard. */
	crls = mca_crlcache_metrics(mca_req_server(r)->crls);
	if (text != NULL && crls != NULL && asprintf(&both, "%s%s", text, crls) >= 0) {
		free(text);
		text = both;
	}
	free(crls);
	if (text != NULL && mca_req_server(r)->ocsp != NULL) {
		char *o = mca_ocsp_metrics(mca_req_server(r)->ocsp, (int64_t)mca_now());

		both = NULL;
		if (o == NULL || asprintf(&both, "%s%s", text, o) < 0)
			both = NULL;
		free(o);
		free(text);
		text = both;
	}
	if (text == NULL)
		return mca_reply_error(r, 500, "internal", "rendering metrics failed");
	res =
	    mca_reply_bytes(r, 200, "text/plain; version=0.0.4; charset=utf-8", text, strlen(text));
	free(text);
	return res;
}
