/* ep_ca.c - GET /v1/ca: the trust anchors as JSON. */
#include "config.h"

#include "http.h"
#include "keys.h"

enum mca_http_result
mca_ep_ca(struct mca_req *r)
{
	json_t *chain = json_array();
	char *pem = NULL;
	int i;

	if (chain == NULL)
		return mca_reply_json(r, 500, NULL);
	for (i = 0; i < sk_X509_num(r->srv->chain); i++) {
		if (mca_cert_to_pem(sk_X509_value(r->srv->chain, i), &pem, NULL) != MCA_OK) {
			json_decref(chain);
			return mca_reply_error(r, 500, "internal", "encoding the chain failed");
		}
		json_array_append_new(chain, json_string(pem));
		free(pem);
	}
	return mca_reply_json(r, 200,
	                      json_pack("{s:s, s:o, s:s}", "root", r->srv->root_pem, "chain", chain,
	                                "root_fingerprint_sha256", r->srv->root_fingerprint));
}
