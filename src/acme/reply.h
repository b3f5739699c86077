/*
 * reply.h - the ACME request context and the replies made from it:
 * JSON documents, raw bodies and problem documents (RFC 7807), each with
 * the headers every ACME reply carries (index Link, Cache-Control:
 * no-store), a Replay-Nonce when c->want_nonce and Retry-After when
 * c->retry_after > 0; and the URLs of resources under c->base.
 *
 * reply.c calls no resource handler and nothing of front.c: handlers and
 * the front door both build on it.
 *
 * Thread-safety: a context belongs to one request thread; the functions
 * use only it and the thread-safe nonce store (c->nonces).
 */
#ifndef MCA_ACME_REPLY_H
#define MCA_ACME_REPLY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "acme/jws.h"
#include "mhd/mhd.h"
#include "policy/profile.h"
#include "store/acme.h"

#define ACME_ERR(t) "urn:ietf:params:acme:error:" t

struct mca_server;
struct mca_store;
struct mca_profile_snap;
struct mca_nonces;

/* One ACME request, filled by the front door (front.c) and owned by it. */
struct acme_ctx {
	struct mca_req *r;
	struct mca_server *srv;
	struct mca_nonces *nonces; /* the server's replay nonces (daemon/nonce.h) */
	struct mca_store *st;
	struct mca_profile_snap *snap; /* held for the request: profile and issuer */
	const struct mca_profile *profile;
	char base[600];   /* https://HOST/acme/PROFILE */
	const char *rest; /* the path after base + "/" */
	struct mca_jws *jws;
	EVP_PKEY *key;                /* the key that signed the request */
	struct mca_acme_account acct; /* when signed with kid (or found by jwk) */
	int have_acct;
	json_t *payload;     /* NULL for POST-as-GET */
	char thumb[44];      /* of the signing JWK (jwk) or the account's */
	int64_t retry_after; /* > 0: replies carry Retry-After (seconds) */
	int want_nonce;      /* replies carry a Replay-Nonce (POST, newNonce) */
};

/*
 * Reply with a problem document of ACME error `type` (full URN).  Details
 * of 5xx replies (but 501) go to the log only; the client reads "internal
 * error".
 */
enum mca_http_result acme_problem(struct acme_ctx *c, unsigned status, const char *type,
                                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * Reply with JSON plus the `location` and `up` Links when not NULL.  Takes
 * `j` (NULL: a serverInternal problem).
 */
enum mca_http_result acme_reply(struct acme_ctx *c, unsigned status, json_t *j,
                                const char *location, const char *up);

/* Reply with `len` bytes of `body` (copied), of Content-Type `ctype` unless NULL. */
enum mca_http_result acme_reply_text(struct acme_ctx *c, unsigned status, const char *ctype,
                                     const char *body, size_t len);

/* BASE/KIND/ID (BASE/KIND when `id` is NULL) into buf; returns buf. */
const char *acme_url(const struct acme_ctx *c, const char *kind, const char *id, char *buf,
                     size_t len);

#endif
