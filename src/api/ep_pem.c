/* ep_pem.c - GET /root.pem, /chain.pem, /ca.crt: trust material as files. */
#include "config.h"

#include <string.h>

#include "api/http.h"

enum mca_http_result
mca_ep_root_pem(struct mca_req *r)
{
	return mca_reply_bytes(r, 200, "application/x-pem-file", r->srv->root_pem,
	                       strlen(r->srv->root_pem));
}

enum mca_http_result
mca_ep_chain_pem(struct mca_req *r)
{
	return mca_reply_bytes(r, 200, "application/x-pem-file", r->srv->chain_pem,
	                       strlen(r->srv->chain_pem));
}

/* The issuing CA certificate in DER: the AIA caIssuers target of every leaf. */
enum mca_http_result
mca_ep_ca_der(struct mca_req *r)
{
	return mca_reply_bytes(r, 200, "application/pkix-cert", r->srv->ca_der, r->srv->ca_der_len);
}
