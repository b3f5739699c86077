/* ep_metrics.c - GET /metrics: Prometheus text format. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "util.h"

enum mca_http_result
mca_ep_metrics(struct mca_req *r)
{
	struct mca_error err = {0};
	struct mca_crl_rec crl = {0};
	struct mca_store *st = mca_server_store(r->srv, &err);
	enum mca_http_result res;
	char *text;

	if (st != NULL)
		mca_store_crl_latest(st, "ca", &crl, &err);
	text = mca_metrics_render(r->srv->metrics, crl.number, crl.this_update, (int64_t)mca_now());
	free(crl.der);
	if (text == NULL)
		return mca_reply_error(r, 500, "internal", "rendering metrics failed");
	res =
	    mca_reply_bytes(r, 200, "text/plain; version=0.0.4; charset=utf-8", text, strlen(text));
	free(text);
	return res;
}
