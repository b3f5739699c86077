/* ep_pem.c - GET /root.pem, /chain.pem, /ca.crt: trust material as files. */
#include "config.h"

#include <string.h>

#include "api/http.h"

enum mca_http_result
mca_ep_root_pem(struct mca_req *r)
{
	return mca_reply_bytes(r, 200, "application/x-pem-file", mca_req_server(r)->root_pem,
	                       strlen(mca_req_server(r)->root_pem));
}

enum mca_http_result
mca_ep_chain_pem(struct mca_req *r)
{
	return mca_reply_bytes(r, 200, "application/x-pem-file", mca_req_server(r)->chain_pem,
	                       strlen(mca_req_server(r)->chain_pem));
}

/* The issuing CA certificate in DER: the AIA caIssuers target of every leaf. */
enum mca_http_result
mca_ep_ca_der(struct mca_req *r)
{
	return mca_reply_bytes(r, 200, "application/pkix-cert", mca_req_server(r)->ca_der,
	                       mca_req_server(r)->ca_der_len);
}
