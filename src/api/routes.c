/*
 * routes.c - every path mtlscad serves, with its method and handler.
 * Lookup is by exact path (or prefix); a path that exists with another
 * method gets 405 with an Allow header built from this table.
 */
#include "config.h"

#include "acme/acme.h"
#include "api/http.h"

const struct mca_route mca_routes[] = {
    {"/v1/health", "GET", mca_ep_health, MCA_ROUTE_PUBLIC},
    {"/v1/ca", "GET", mca_ep_ca, MCA_ROUTE_PUBLIC},
    {"/root.pem", "GET", mca_ep_root_pem, MCA_ROUTE_PUBLIC},
    {"/chain.pem", "GET", mca_ep_chain_pem, MCA_ROUTE_PUBLIC},
    {"/ca.crt", "GET", mca_ep_ca_der, MCA_ROUTE_PUBLIC},
    {"/crl", "GET", mca_ep_crl, MCA_ROUTE_PUBLIC},
    {"/crl.pem", "GET", mca_ep_crl_pem, MCA_ROUTE_PUBLIC},
    {"/crl/", "GET", mca_ep_crl_shard, MCA_ROUTE_PUBLIC | MCA_ROUTE_PREFIX},
    {"/root.crl", "GET", mca_ep_root_crl, MCA_ROUTE_PUBLIC},
    {"/root.crl.pem", "GET", mca_ep_root_crl_pem, MCA_ROUTE_PUBLIC},
    {"/metrics", "GET", mca_ep_metrics, MCA_ROUTE_PUBLIC},
    {"/ocsp", "POST", mca_ep_ocsp_post, MCA_ROUTE_PUBLIC | MCA_ROUTE_RAW},
    {"/ocsp/", "GET", mca_ep_ocsp_get, MCA_ROUTE_PUBLIC | MCA_ROUTE_PREFIX},
    {"/v1/sign", "POST", mca_ep_sign, MCA_ROUTE_BODY},
    {"/v1/renew", "POST", mca_ep_renew, MCA_ROUTE_BODY | MCA_ROUTE_BODY_OPT},
    {"/v1/revoke", "POST", mca_ep_revoke, MCA_ROUTE_BODY},
    {"/v1/certificates", "GET", mca_ep_cert_list, 0},
    {"/v1/certificates/", "GET", mca_ep_cert_get, MCA_ROUTE_PREFIX},
    {"/v1/tokens", "POST", mca_ep_tokens, MCA_ROUTE_BODY},
    {"/acme/", "GET", mca_ep_acme, MCA_ROUTE_PREFIX},
    {"/acme/", "POST", mca_ep_acme, MCA_ROUTE_PREFIX | MCA_ROUTE_RAW},
    {NULL, NULL, NULL, 0},
};
