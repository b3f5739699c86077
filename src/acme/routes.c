/* routes.c - the ACME POST resources and who may sign for them (acme/routes.h). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "acme/acme_int.h"
#include "acme/routes.h"

static enum mca_http_result
key_change(struct acme_ctx *c)
{
	return acme_problem(c, 501, ACME_ERR("serverInternal"),
	                    "key rollover is not supported yet; create a new account");
}

#define JWK     ACME_SIGNER_JWK
#define KID     ACME_SIGNER_KID
#define EXACT   ACME_MATCH_EXACT
#define WITH_ID ACME_MATCH_ID

const struct acme_route acme_routes[] = {
    {"new-account", EXACT, "", JWK, "newAccount", acme_new_account, NULL},
    /* RFC 8555 7.6: the ordering (or an authorized) account, or the certificate's key. */
    {"revoke-cert", EXACT, "", JWK | KID, "revokeCert", acme_revoke_cert, NULL},
    {"new-order", EXACT, "", KID, "newOrder", acme_new_order, NULL},
    /* RFC 8555 7.3.5: signed with the account's kid (the new key signs inside). */
    {"key-change", EXACT, "", KID, "keyChange", key_change, NULL},
    {"acct", WITH_ID, "", KID, "account", NULL, acme_account},
    {"acct", WITH_ID, "/orders", KID, "orders", NULL, acme_account_orders},
    {"order", WITH_ID, "", KID, "order", NULL, acme_order},
    {"authz", WITH_ID, "", KID, "authorization", NULL, acme_authz},
    {"chall", WITH_ID, "", KID, "challenge", NULL, acme_challenge},
    {"finalize", WITH_ID, "", KID, "finalize", NULL, acme_finalize},
    {"cert", WITH_ID, "", KID, "certificate", NULL, acme_cert},
    {NULL, EXACT, NULL, 0, NULL, NULL, NULL},
};

#undef JWK
#undef KID
#undef EXACT
#undef WITH_ID

/* Whether `rest` is PATH/ID SUFFIX; the id into `id`. */
static int
matches_id(const struct acme_route *rt, const char *rest, char id[MCA_ACME_ID_LEN + 1])
{
	size_t n = strlen(rt->path);
	const char *p;

	if (strncmp(rest, rt->path, n) != 0 || rest[n] != '/')
		return 0;
	p = rest + n + 1;
	if (strspn(p, "0123456789abcdef") < MCA_ACME_ID_LEN ||
	    strcmp(p + MCA_ACME_ID_LEN, rt->suffix) != 0)
		return 0;
	memcpy(id, p, MCA_ACME_ID_LEN);
	id[MCA_ACME_ID_LEN] = '\0';
	return 1;
}

const struct acme_route *
acme_route_find(const char *rest, char id[MCA_ACME_ID_LEN + 1])
{
	const struct acme_route *rt;

	id[0] = '\0';
	for (rt = acme_routes; rt->path != NULL; rt++) {
		if (rt->match == ACME_MATCH_EXACT ? strcmp(rest, rt->path) == 0
		                                  : matches_id(rt, rest, id))
			return rt;
	}
	id[0] = '\0';
	return NULL;
}
