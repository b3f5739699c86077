/*
 * front.c - the ACME front door: parse /acme/PROFILE/..., hand out and
 * check nonces, verify the JWS (url, nonce, jwk/kid, signature), and
 * dispatch to the resource handlers; the route table (routes.c) names the
 * handler of a POST and whether a jwk or a kid signs it.  Every reply to
 * a POST and to newNonce carries a fresh Replay-Nonce (RFC 8555 6.5,
 * 7.2); the directory and refusals of other methods need none.  Errors
 * are application/problem+json; replies are built in reply.c.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "acme/acme_int.h"
#include "acme/routes.h"
#include "common/util.h"
#include "daemon/nonce.h"

static enum mca_http_result
directory(struct acme_ctx *c)
{
	char a[700], b[700], d[700], e[700], f[700];

	return acme_reply(c, 200,
	                  json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:b, s:s}}", "newNonce",
	                            acme_url(c, "new-nonce", NULL, a, sizeof(a)), "newAccount",
	                            acme_url(c, "new-account", NULL, b, sizeof(b)), "newOrder",
	                            acme_url(c, "new-order", NULL, d, sizeof(d)), "revokeCert",
	                            acme_url(c, "revoke-cert", NULL, e, sizeof(e)), "keyChange",
	                            acme_url(c, "key-change", NULL, f, sizeof(f)), "meta",
	                            "externalAccountRequired", 0, "website",
	                            "https://github.com/mtlsca/mtlsca"),
	                  NULL, NULL);
}

/* Host header as clients used it: letters, digits, '.', '-', ':', '[', ']'. */
static const char *
host_header(struct mca_req *r)
{
	const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Host");

	if (h == NULL || h[0] == '\0' || strlen(h) > 255 ||
	    strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") !=
	        strlen(h))
		return NULL;
	return h;
}

/*
 * Verify the JWS of a POST to resource `name` (NULL: unknown), signed as
 * `signers` (ACME_SIGNER_*) allows; fills c->jws, c->key, c->acct,
 * c->payload.
 */
static enum mca_http_result
authenticate(struct acme_ctx *c, unsigned signers, const char *name, int *ok)
{
	struct mca_error err = {0};
	char url[900], want_kid[700];
	const char *ct;
	json_error_t jerr;
	json_t *jwk = NULL;
	enum mca_nonce_verdict nv;

	*ok = 0;
	ct = MHD_lookup_connection_value(c->r->conn, MHD_HEADER_KIND, "Content-Type");
	if (ct == NULL || strncasecmp(ct, "application/jose+json", 21) != 0)
		return acme_problem(c, 415, ACME_ERR("malformed"),
		                    "Content-Type must be application/jose+json");
	if (mca_jws_parse(c->r->body ? c->r->body : "", c->r->body_len, &c->jws, &err) != MCA_OK)
		return acme_problem(c, 400,
		                    strcmp(err.rule, "badSignatureAlgorithm") == 0
		                        ? ACME_ERR("badSignatureAlgorithm")
		                        : ACME_ERR("malformed"),
		                    "%s", err.msg);
	if (c->jws->nonce == NULL)
		return acme_problem(c, 400, ACME_ERR("badNonce"),
		                    "the protected header has no nonce");
	nv = mca_nonce_redeem(c->nonces, c->jws->nonce, (int64_t)mca_now());
	if (nv != MCA_NONCE_OK)
		return acme_problem(c, 400, ACME_ERR("badNonce"),
		                    "the nonce is %s; retry with the one in this reply",
		                    mca_nonce_verdict_str(nv));
	/* Instances sharing a database: the shared used-set says whether it is spent. */
	if (mca_nonces_shared(c->nonces)) {
		int first = 0;

		if (mca_acme_nonce_use(c->st, c->jws->nonce,
		                       (int64_t)mca_now() + MCA_NONCE_LIFETIME, &first,
		                       &err) != MCA_OK)
			return acme_problem(c, mca_store_unavailable(err.code, &err) ? 503 : 500,
			                    ACME_ERR("serverInternal"), "spending the nonce: %s",
			                    err.msg);
		if (!first)
			return acme_problem(c, 400, ACME_ERR("badNonce"),
			                    "the nonce is %s; retry with the one in this reply",
			                    mca_nonce_verdict_str(MCA_NONCE_USED));
	}
	snprintf(url, sizeof(url), "https://%s%s", host_header(c->r), c->r->path);
	if (c->jws->url == NULL || strcmp(c->jws->url, url) != 0)
		return acme_problem(c, 401, ACME_ERR("unauthorized"),
		                    "the JWS url does not equal the request URL %s", url);
	if (c->jws->jwk != NULL) {
		if (!(signers & ACME_SIGNER_JWK))
			return acme_problem(c, 400, ACME_ERR("malformed"),
			                    "this resource needs a kid, not a jwk");
		if (mca_jwk_to_pkey(c->jws->jwk, &c->key, &err) != MCA_OK)
			return acme_problem(c, 400, ACME_ERR("badPublicKey"), "%s", err.msg);
		if (mca_jwk_thumbprint(c->jws->jwk, c->thumb, &err) != MCA_OK)
			return acme_problem(c, 400, ACME_ERR("badPublicKey"), "%s", err.msg);
	} else {
		if (!(signers & ACME_SIGNER_KID))
			return acme_problem(c, 400, ACME_ERR("malformed"),
			                    "%s needs a jwk, not a kid",
			                    name ? name : "this resource");
		acme_url(c, "acct", "", want_kid, sizeof(want_kid));
		if (strncmp(c->jws->kid, want_kid, strlen(want_kid)) != 0 ||
		    mca_acme_account_get(c->st, c->jws->kid + strlen(want_kid), &c->acct, &err) !=
		        MCA_OK ||
		    strcmp(c->acct.profile, c->profile->name) != 0)
			return acme_problem(c, 400, ACME_ERR("accountDoesNotExist"),
			                    "no account %.200s", c->jws->kid);
		c->have_acct = 1;
		if (strcmp(c->acct.status, "valid") != 0)
			return acme_problem(c, 401, ACME_ERR("unauthorized"), "the account is %s",
			                    c->acct.status);
		jwk = json_loads(c->acct.jwk, 0, NULL);
		if (jwk == NULL || mca_jwk_to_pkey(jwk, &c->key, &err) != MCA_OK) {
			json_decref(jwk);
			/* Made before a policy change (e.g. RSA over 4096 bits). */
			if (err.code == MCA_ERR_POLICY)
				return acme_problem(c, 400, ACME_ERR("badPublicKey"),
				                    "the account key is no longer accepted (%s); "
				                    "create a new account",
				                    err.msg);
			return acme_problem(c, 500, ACME_ERR("serverInternal"),
			                    "stored account key unusable");
		}
		json_decref(jwk);
		snprintf(c->thumb, sizeof(c->thumb), "%s", c->acct.thumbprint);
	}
	if (mca_jws_verify(c->jws, c->key, &err) != MCA_OK)
		return acme_problem(
		    c,
		    err.code == MCA_ERR_POLICY && strcmp(err.rule, "unauthorized") != 0 ? 400 : 401,
		    strcmp(err.rule, "badSignatureAlgorithm") == 0
		        ? ACME_ERR("badSignatureAlgorithm")
		        : ACME_ERR("unauthorized"),
		    "%s", err.msg);
	if (c->jws->payload_len > 0) {
		c->payload = json_loadb((const char *)c->jws->payload, c->jws->payload_len,
		                        JSON_REJECT_DUPLICATES, &jerr);
		if (c->payload == NULL || !json_is_object(c->payload))
			return acme_problem(c, 400, ACME_ERR("malformed"),
			                    "the payload is not a JSON object");
	}
	*ok = 1;
	return MCA_HTTP_QUEUED;
}

/* Authenticate as the route table says, then call the resource's handler. */
static enum mca_http_result
dispatch_post(struct acme_ctx *c)
{
	char id[MCA_ACME_ID_LEN + 1];
	const struct acme_route *rt = acme_route_find(c->rest, id);
	enum mca_http_result res;
	int ok = 0;

	res = authenticate(c, rt ? rt->signers : ACME_SIGNERS_UNKNOWN, rt ? rt->name : NULL, &ok);
	if (!ok)
		return res;
	if (rt == NULL)
		return acme_problem(c, 404, ACME_ERR("malformed"), "no such resource");
	return rt->match == ACME_MATCH_EXACT ? rt->exact(c) : rt->by_id(c, id);
}

enum mca_http_result
mca_ep_acme(struct mca_req *r)
{
	struct acme_ctx c;
	struct mca_error err = {0};
	enum mca_http_result res;
	const char *host, *slash;
	char profile[65];
	size_t plen;

	memset(&c, 0, sizeof(c));
	c.r = r;
	c.srv = mca_req_server(r);
	c.nonces = c.srv->nonces;
	host = host_header(r);
	slash = strchr(r->path_arg, '/');
	plen = slash ? (size_t)(slash - r->path_arg) : strlen(r->path_arg);
	if (host == NULL || plen == 0 || plen >= sizeof(profile))
		return mca_reply_error(r, 404, "not_found", "no such ACME resource");
	memcpy(profile, r->path_arg, plen);
	profile[plen] = '\0';
	c.rest = slash ? slash + 1 : "";
	snprintf(c.base, sizeof(c.base), "https://%s/acme/%s", host, profile);
	c.st = mca_server_store(c.srv, &err);
	/* RFC 8555 6.5, 7.2: POST replies and newNonce; not the directory, not a 405. */
	c.want_nonce = strcmp(r->method, "POST") == 0 || strcmp(c.rest, "new-nonce") == 0;
	c.snap = mca_server_profiles(c.srv);
	c.profile = mca_profiles_find(c.snap->profiles, profile);
	if (c.profile == NULL || !(c.profile->authorization & MCA_AUTH_ACME)) {
		res = mca_reply_error(r, 404, "not_found", "no ACME service for profile '%s'",
		                      profile);
		goto out;
	}
	if (c.st == NULL) {
		res = acme_problem(&c, 500, ACME_ERR("serverInternal"), "database: %s", err.msg);
		goto out;
	}
	if (strcmp(r->method, "POST") != 0) {
		if (strcmp(c.rest, "directory") == 0 && strcmp(r->method, "GET") == 0)
			res = directory(&c);
		else if (strcmp(c.rest, "new-nonce") == 0)
			res = acme_reply_text(&c, strcmp(r->method, "HEAD") == 0 ? 200 : 204, NULL,
			                      "", 0);
		else
			res = acme_problem(&c, 405, ACME_ERR("malformed"),
			                   "use POST (POST-as-GET) for this resource");
		goto out;
	}
	res = dispatch_post(&c);
out:
	mca_profile_snap_release(c.snap);
	json_decref(c.payload);
	mca_jws_free(c.jws);
	EVP_PKEY_free(c.key);
	mca_acme_account_clear(&c.acct);
	return res;
}
