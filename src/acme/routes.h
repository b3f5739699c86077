/*
 * routes.h - the ACME resources a POST may address, as a table: for each,
 * how its path is matched, who may sign requests to it (RFC 8555 6.2:
 * newAccount and revokeCert by the certificate's key carry a "jwk", every
 * other request the account's "kid") and its handler.  The front door
 * (front.c) authenticates a request as its row says, then calls the row's
 * handler.
 *
 * The table is constant; acme_route_find is pure and thread-safe.
 */
#ifndef MCA_ACME_ROUTES_H
#define MCA_ACME_ROUTES_H

#include "acme/reply.h"
#include "mhd/mhd.h"
#include "store/acme.h"

/* Who may sign a request (flags). */
enum acme_signer {
	ACME_SIGNER_JWK = 1 << 0, /* a key in the protected header ("jwk") */
	ACME_SIGNER_KID = 1 << 1, /* an existing, valid account ("kid", its URL) */
};

/* Paths no row matches are authenticated as account requests before their 404. */
#define ACME_SIGNERS_UNKNOWN ACME_SIGNER_KID

enum acme_match {
	ACME_MATCH_EXACT, /* the path after BASE/ is `path` */
	ACME_MATCH_ID,    /* `path` "/" ID `suffix`, ID being MCA_ACME_ID_LEN lower-case hex */
};

struct acme_route {
	const char *path; /* "new-account", "order", ... */
	enum acme_match match;
	const char *suffix; /* after the id ("/orders"); "" for none */
	unsigned signers;   /* ACME_SIGNER_* */
	const char *name;   /* as RFC 8555 names it, for problem details */
	/* The handler: `exact` for ACME_MATCH_EXACT rows, `by_id` (the id) for the others. */
	enum mca_http_result (*exact)(struct acme_ctx *c);
	enum mca_http_result (*by_id)(struct acme_ctx *c, const char *id);
};

/* The rows, ending with one whose path is NULL. */
extern const struct acme_route acme_routes[];

/*
 * The row `rest` (the path after BASE/) addresses, with its id copied
 * into `id` (empty for exact rows); NULL when there is none.
 */
const struct acme_route *acme_route_find(const char *rest, char id[MCA_ACME_ID_LEN + 1]);

#endif
