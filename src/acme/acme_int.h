/*
 * acme_int.h - what the ACME resource handlers share: the request context
 * and replies (acme/reply.h), the server they work on, and the handlers
 * themselves, which the front door dispatches to.
 */
#ifndef MCA_ACME_INT_H
#define MCA_ACME_INT_H

#include <jansson.h>
#include <openssl/evp.h>

#include "acme/acme.h"
#include "acme/jws.h"
#include "acme/reply.h"
#include "daemon/server.h"
#include "mhd/mhd.h"
#include "policy/profile.h"
#include "store/acme.h"

/* Orders live a week; authorizations as long as their order. */
#define ACME_ORDER_LIFETIME  (7 * 86400)
#define ACME_MAX_IDENTIFIERS 100

/* Handlers (one resource per function), called from the table in routes.c. */
enum mca_http_result acme_new_account(struct acme_ctx *c);
enum mca_http_result acme_account(struct acme_ctx *c, const char *id);
enum mca_http_result acme_account_orders(struct acme_ctx *c, const char *id);
enum mca_http_result acme_new_order(struct acme_ctx *c);
enum mca_http_result acme_order(struct acme_ctx *c, const char *id);
enum mca_http_result acme_authz(struct acme_ctx *c, const char *id);
enum mca_http_result acme_challenge(struct acme_ctx *c, const char *id);
enum mca_http_result acme_finalize(struct acme_ctx *c, const char *id);
enum mca_http_result acme_cert(struct acme_ctx *c, const char *id);
enum mca_http_result acme_revoke_cert(struct acme_ctx *c);

/* The order object, with its status brought up to date. */
json_t *acme_order_json(struct acme_ctx *c, struct mca_acme_order *o);

#endif
