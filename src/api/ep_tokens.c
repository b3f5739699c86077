/* ep_tokens.c - POST /v1/tokens: admins mint enrollment tokens. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "api/http.h"
#include "ca/token.h"
#include "common/duration.h"
#include "common/jsonx.h"
#include "common/util.h"

struct tokens_body {
	const char *profile, *ttl;
	json_t *names;
	long long uses;
};

static const struct mca_jfield tokens_fields[] = {
    MCA_JFIELD(struct tokens_body, profile, MCA_J_STRING, 1),
    MCA_JFIELD(struct tokens_body, names, MCA_J_STRARR, 1),
    MCA_JFIELD(struct tokens_body, ttl, MCA_J_STRING, 0),
    MCA_JFIELD(struct tokens_body, uses, MCA_J_INT, 0),
};

/* Called under the profiles read lock. */
static int
profile_ok(void *arg, const char *name)
{
	const struct mca_profile *p = mca_profiles_find(arg, name);

	return p != NULL && (p->authorization & MCA_AUTH_TOKEN);
}

enum mca_http_result
mca_ep_tokens(struct mca_req *r)
{
	struct tokens_body b = {NULL, "15m", NULL, 1};
	struct mca_token_spec spec;
	struct mca_profile_snap *snap;
	struct mca_token tok;
	struct mca_error err = {0};
	struct mca_store *st;
	enum mca_http_result res;
	const char *names[MCA_TOKEN_MAX_NAMES + 1];
	char *secret = NULL, exp[32];
	json_t *typed = NULL;
	size_t i, n;
	mca_rc rc;

	if (!mca_http_require_identity(r, 1, &res))
		return res;
	if (mca_json_unpack(r->json, tokens_fields,
	                    sizeof(tokens_fields) / sizeof(tokens_fields[0]), &b, "request body",
	                    &err) != MCA_OK)
		return mca_reply_error(r, 400, "bad_request", "%s", err.msg);
	memset(&spec, 0, sizeof(spec));
	if (mca_duration_parse(b.ttl, &spec.ttl, &err) != MCA_OK)
		return mca_reply_error(r, 400, "bad_request", "field 'ttl': %s", err.msg);
	n = json_array_size(b.names);
	if (n > MCA_TOKEN_MAX_NAMES)
		return mca_reply_error(r, 400, "bad_request", "field 'names': at most %d",
		                       MCA_TOKEN_MAX_NAMES);
	for (i = 0; i < n; i++)
		names[i] = json_string_value(json_array_get(b.names, i));
	names[n] = NULL;
	spec.profile = b.profile;
	spec.names = names;
	spec.uses = b.uses;
	spec.created_by = r->identity;
	st = mca_server_store(mca_req_server(r), &err);
	if (st == NULL)
		return mca_reply_error(r, 500, "internal", "database: %s", err.msg);
	memset(&tok, 0, sizeof(tok));
	snap = mca_server_profiles(mca_req_server(r));
	rc = mca_token_create(st, &spec, profile_ok, snap->profiles, &tok, &secret, &err);
	mca_profile_snap_release(snap);
	if (rc == MCA_ERR_INVAL)
		return mca_reply_error(r, 400, "bad_request", "%s", err.msg);
	if (rc != MCA_OK)
		return mca_reply_error(r, 500, "internal", "token: %s", err.msg);
	mca_time_rfc3339((time_t)tok.expires_at, exp, sizeof(exp));
	/* "names": as stored, typed (names.h), so the caller sees how each was read. */
	typed = json_array();
	for (i = 0; typed != NULL && tok.names[i] != NULL; i++)
		json_array_append_new(typed, json_string(tok.names[i]));
	res = mca_reply_json(r, 201,
	                     json_pack("{s:s, s:s, s:s, s:s, s:I, s:o*}", "id", tok.id, "token",
	                               secret, "expires_at", exp, "profile", tok.profile, "uses",
	                               (json_int_t)tok.uses_total, "names", typed));
	mca_free_secret(secret);
	mca_token_clear(&tok);
	return res;
}
