/*
 * acme_int.h - what the ACME handlers share: the per-request context,
 * problem documents, replies with Replay-Nonce and Link headers, and the
 * URLs of resources.
 */
#ifndef MCA_ACME_INT_H
#define MCA_ACME_INT_H

#include <jansson.h>
#include <openssl/evp.h>

#include "acme/acme.h"
#include "acme/jws.h"
#include "daemon/server.h"
#include "mhd/mhd.h"
#include "policy/profile.h"
#include "store/acme.h"

#define ACME_ERR(t) "urn:ietf:params:acme:error:" t

/* Orders live a week; authorizations as long as their order. */
#define ACME_ORDER_LIFETIME  (7 * 86400)
#define ACME_NONCE_LIFETIME  3600
#define ACME_MAX_IDENTIFIERS 100

struct acme_ctx {
	struct mca_req *r;
	struct mca_server *srv;
	struct mca_store *st;
	struct mca_store *nonces;      /* the light connection: nonces need no fsync */
	struct mca_profile_snap *snap; /* held for the request: profile and issuer */
	const struct mca_profile *profile;
	char base[600];   /* https://HOST/acme/PROFILE */
	const char *rest; /* the path after base + "/" */
	struct mca_jws *jws;
	EVP_PKEY *key;                /* the key that signed the request */
	struct mca_acme_account acct; /* when signed with kid (or found by jwk) */
	int have_acct;
	json_t *payload;      /* NULL for POST-as-GET */
	char thumb[44];       /* of the signing JWK (jwk) or the account's */
	unsigned retry_after; /* seconds; when set, acme_problem adds Retry-After */
};

/* Reply with a problem document (RFC 7807) of ACME error `type` (full URN). */
enum mca_http_result acme_problem(struct acme_ctx *c, unsigned status, const char *type,
                                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * Reply with JSON (or, with `ctype`, raw text) plus Replay-Nonce, the
 * index Link, `location` and `up` Links when not NULL.  Takes `j`.
 */
enum mca_http_result acme_reply(struct acme_ctx *c, unsigned status, json_t *j,
                                const char *location, const char *up);
enum mca_http_result acme_reply_text(struct acme_ctx *c, unsigned status, const char *ctype,
                                     const char *body, size_t len);

/* BASE/KIND/ID into buf. */
const char *acme_url(const struct acme_ctx *c, const char *kind, const char *id, char *buf,
                     size_t len);

/* Handlers (one resource kind per function). */
enum mca_http_result acme_new_account(struct acme_ctx *c);
enum mca_http_result acme_account(struct acme_ctx *c, const char *id, int orders);
enum mca_http_result acme_new_order(struct acme_ctx *c);
enum mca_http_result acme_order(struct acme_ctx *c, const char *id);
enum mca_http_result acme_authz(struct acme_ctx *c, const char *id);
enum mca_http_result acme_challenge(struct acme_ctx *c, const char *id);
enum mca_http_result acme_finalize(struct acme_ctx *c, const char *id);
enum mca_http_result acme_cert(struct acme_ctx *c, const char *id);
/* At startup, before serving: orders a crash left "processing" become "ready" again. */
void acme_finalize_repair(struct mca_server *srv);
enum mca_http_result acme_revoke_cert(struct acme_ctx *c);

/* The order object, with its status brought up to date. */
json_t *acme_order_json(struct acme_ctx *c, struct mca_acme_order *o);

#endif
