/*
 * order.c - orders, authorizations, challenges, finalize and certificate
 * download (RFC 8555 7.4, 7.5, 7.1.6).
 */
#include "config.h"

#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/rand.h>

#include "acme/acme_int.h"
#include "ca/issue.h"
#include "common/log.h"
#include "common/util.h"
#include "pki/csr.h"
#include "pki/keys.h"
#include "policy/policy.h"

static void
time_str(int64_t t, char *buf, size_t len)
{
	mca_time_rfc3339((time_t)t, buf, len);
}

/* ---- authorizations ----------------------------------------------------- */

struct chall_json {
	struct acme_ctx *c;
	json_t *arr;
};

static json_t *
chall_json(struct acme_ctx *c, const struct mca_acme_chall *ch)
{
	char url[700], when[32];
	json_t *j = json_pack("{s:s, s:s, s:s, s:s}", "type", ch->type, "url",
	                      acme_url(c, "chall", ch->id, url, sizeof(url)), "status", ch->status,
	                      "token", ch->token);

	if (j != NULL && ch->validated_at != 0) {
		time_str(ch->validated_at, when, sizeof(when));
		json_object_set_new(j, "validated", json_string(when));
	}
	if (j != NULL && ch->error != NULL)
		json_object_set_new(j, "error", json_loads(ch->error, 0, NULL));
	return j;
}

static int
add_chall(void *arg, const struct mca_acme_chall *ch)
{
	struct chall_json *cj = arg;

	return json_array_append_new(cj->arr, chall_json(cj->c, ch)) != 0;
}

static json_t *
authz_json(struct acme_ctx *c, const struct mca_acme_authz *a)
{
	struct chall_json cj = {c, json_array()};
	struct mca_error err = {0};
	char expires[32];
	const char *status = a->status;
	json_t *j;

	if (cj.arr == NULL || mca_acme_chall_list(c->st, a->id, add_chall, &cj, &err) != MCA_OK) {
		json_decref(cj.arr);
		return NULL;
	}
	if (strcmp(status, "pending") == 0 && a->expires_at <= (int64_t)mca_now())
		status = "expired";
	time_str(a->expires_at, expires, sizeof(expires));
	j = json_pack("{s:{s:s, s:s}, s:s, s:s, s:o}", "identifier", "type", "dns", "value",
	              a->name, "status", status, "expires", expires, "challenges", cj.arr);
	if (j != NULL && a->wildcard)
		json_object_set_new(j, "wildcard", json_true());
	return j;
}

/* The order this account owns, or a problem reply. */
static int
own_order(struct acme_ctx *c, const char *id, struct mca_acme_order *o, enum mca_http_result *res)
{
	struct mca_error err = {0};

	if (mca_acme_order_get(c->st, id, o, &err) != MCA_OK ||
	    strcmp(o->account, c->acct.id) != 0) {
		mca_acme_order_clear(o);
		*res = acme_problem(c, 404, ACME_ERR("malformed"), "no such order");
		return 0;
	}
	return 1;
}

enum mca_http_result
acme_authz(struct acme_ctx *c, const char *id)
{
	struct mca_acme_authz a;
	struct mca_acme_order o;
	struct mca_error err = {0};
	json_t *status = c->payload ? json_object_get(c->payload, "status") : NULL;
	enum mca_http_result res;
	char up[700];

	memset(&o, 0, sizeof(o));
	if (mca_acme_authz_get(c->st, id, &a, &err) != MCA_OK)
		return acme_problem(c, 404, ACME_ERR("malformed"), "no such authorization");
	if (!own_order(c, a.order_id, &o, &res)) {
		mca_acme_authz_clear(&a);
		return res;
	}
	if (status != NULL) {
		if (!json_is_string(status) ||
		    strcmp(json_string_value(status), "deactivated") != 0) {
			res = acme_problem(c, 400, ACME_ERR("malformed"),
			                   "an authorization may only be deactivated");
			goto out;
		}
		mca_acme_authz_set(c->st, id, "deactivated", NULL);
		free(a.status);
		a.status = strdup("deactivated");
		mca_acme_order_set(c->st, o.id, "invalid", NULL, NULL, NULL);
	}
	res =
	    acme_reply(c, 200, authz_json(c, &a), NULL, acme_url(c, "order", o.id, up, sizeof(up)));
out:
	mca_acme_authz_clear(&a);
	mca_acme_order_clear(&o);
	return res;
}

/* ---- orders ------------------------------------------------------------- */

struct authz_scan {
	struct acme_ctx *c;
	json_t *urls;
	int pending, valid, invalid;
};

static int
scan_authz(void *arg, const struct mca_acme_authz *a)
{
	struct authz_scan *s = arg;
	char url[700];

	if (s->urls != NULL)
		json_array_append_new(
		    s->urls, json_string(acme_url(s->c, "authz", a->id, url, sizeof(url))));
	if (strcmp(a->status, "valid") == 0)
		s->valid++;
	else if (strcmp(a->status, "pending") == 0 && a->expires_at > (int64_t)mca_now())
		s->pending++;
	else
		s->invalid++;
	return 0;
}

json_t *
acme_order_json(struct acme_ctx *c, struct mca_acme_order *o)
{
	struct authz_scan s = {c, json_array(), 0, 0, 0};
	struct mca_error err = {0};
	char expires[32], fin[700], cert[700];
	const char *status = o->status;
	json_t *idents, *ids, *j;
	size_t i;

	if (s.urls == NULL || mca_acme_authz_list(c->st, o->id, scan_authz, &s, &err) != MCA_OK) {
		json_decref(s.urls);
		return NULL;
	}
	/* Bring the stored status up to date with its authorizations and expiry. */
	if (strcmp(status, "pending") == 0 && s.invalid > 0)
		status = "invalid";
	else if (strcmp(status, "pending") == 0 && s.pending == 0 && s.valid > 0)
		status = "ready";
	if ((strcmp(status, "pending") == 0 || strcmp(status, "ready") == 0) &&
	    o->expires_at <= (int64_t)mca_now())
		status = "invalid";
	if (strcmp(status, o->status) != 0) {
		mca_acme_order_set(c->st, o->id, status, NULL, NULL, NULL);
		free(o->status);
		o->status = strdup(status);
		status = o->status ? o->status : "invalid";
	}
	ids = json_loads(o->identifiers, 0, NULL);
	idents = json_array();
	for (i = 0; ids != NULL && idents != NULL && i < json_array_size(ids); i++)
		json_array_append_new(idents, json_pack("{s:s, s:s}", "type", "dns", "value",
		                                        json_string_value(json_array_get(ids, i))));
	json_decref(ids);
	time_str(o->expires_at, expires, sizeof(expires));
	j = json_pack("{s:s, s:s, s:o, s:o, s:s}", "status", status, "expires", expires,
	              "identifiers", idents ? idents : json_array(), "authorizations", s.urls,
	              "finalize", acme_url(c, "finalize", o->id, fin, sizeof(fin)));
	if (j != NULL && o->serial != NULL && strcmp(status, "valid") == 0)
		json_object_set_new(j, "certificate",
		                    json_string(acme_url(c, "cert", o->id, cert, sizeof(cert))));
	if (j != NULL && o->error != NULL)
		json_object_set_new(j, "error", json_loads(o->error, 0, NULL));
	return j;
}

enum mca_http_result
acme_order(struct acme_ctx *c, const char *id)
{
	struct mca_acme_order o;
	enum mca_http_result res;
	char url[700];

	if (!own_order(c, id, &o, &res))
		return res;
	res = acme_reply(c, 200, acme_order_json(c, &o), acme_url(c, "order", id, url, sizeof(url)),
	                 NULL);
	mca_acme_order_clear(&o);
	return res;
}

/* A challenge token: 32 random octets, base64url. */
static char *
new_token(void)
{
	unsigned char raw[32];

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return NULL;
	return mca_b64url_encode(raw, sizeof(raw));
}

/* One authorization (and its challenges) for `ident` in order `order_id`. */
static mca_rc
add_authz(struct acme_ctx *c, const char *order_id, const char *ident, int64_t expires,
          struct mca_error *err)
{
	static const char *const any[] = {"http-01", "dns-01", NULL};
	static const char *const dns_only[] = {"dns-01", NULL};
	struct mca_acme_authz a;
	struct mca_acme_chall ch;
	char aid[MCA_ACME_ID_LEN + 1], cid[MCA_ACME_ID_LEN + 1], *token = NULL, method[16] = "";
	int wildcard = strncmp(ident, "*.", 2) == 0, found = 0, i;
	const char *types[2] = {NULL, NULL};
	mca_rc rc;

	memset(&a, 0, sizeof(a));
	if ((rc = mca_acme_new_id(aid, err)) != MCA_OK)
		return rc;
	/* A validation of this name within the profile's reuse window still counts. */
	/* This account's own validation of the name within the reuse window still counts. */
	if ((rc = mca_store_validation_current(c->st, ident, wildcard ? dns_only : any,
	                                       (int64_t)mca_now() - c->profile->validation_reuse,
	                                       c->acct.id, &found, method, err)) != MCA_OK)
		return rc;
	a.id = aid;
	a.order_id = (char *)(uintptr_t)order_id;
	a.name = (char *)(uintptr_t)(wildcard ? ident + 2 : ident);
	a.wildcard = wildcard;
	a.status = (char *)(uintptr_t)(found ? "valid" : "pending");
	a.expires_at = expires;
	if ((rc = mca_acme_authz_add(c->st, &a, err)) != MCA_OK)
		return rc;
	if (found) {
		/* RFC 8555 7.1.4: a valid authorization shows the challenge that made it. */
		memset(&ch, 0, sizeof(ch));
		token = new_token();
		if (token == NULL || (rc = mca_acme_new_id(cid, err)) != MCA_OK) {
			free(token);
			return token == NULL ? mca_error_set(err, MCA_ERR_NOMEM, "out of memory")
			                     : rc;
		}
		ch.id = cid;
		ch.authz = aid;
		ch.type = method;
		ch.token = token;
		ch.status = (char *)(uintptr_t) "valid";
		rc = mca_acme_chall_add(c->st, &ch, err);
		if (rc == MCA_OK)
			rc = mca_acme_chall_set(c->st, cid, "valid", (int64_t)mca_now(), NULL, err);
		free(token);
		return rc;
	}
	if (!wildcard && (c->profile->authorization & MCA_AUTH_ACME_HTTP01))
		types[0] = "http-01";
	if (c->profile->authorization & MCA_AUTH_ACME_DNS01)
		types[types[0] ? 1 : 0] = "dns-01";
	if (types[0] == NULL)
		return mca_error_rule(err, MCA_ERR_POLICY, "rejectedIdentifier",
		                      "'%s': wildcards need dns-01, which profile '%s' does not "
		                      "offer",
		                      ident, c->profile->name);
	for (i = 0; i < 2 && types[i] != NULL; i++) {
		memset(&ch, 0, sizeof(ch));
		token = new_token();
		if (token == NULL || (rc = mca_acme_new_id(cid, err)) != MCA_OK) {
			free(token);
			return token == NULL ? mca_error_set(err, MCA_ERR_NOMEM, "out of memory")
			                     : rc;
		}
		ch.id = cid;
		ch.authz = aid;
		ch.type = (char *)(uintptr_t)types[i];
		ch.token = token;
		ch.status = (char *)(uintptr_t) "pending";
		rc = mca_acme_chall_add(c->st, &ch, err);
		free(token);
		if (rc != MCA_OK)
			return rc;
	}
	return MCA_OK;
}

/* Lower-cased identifiers of the payload, without duplicates, as a JSON array. */
static json_t *
read_identifiers(struct acme_ctx *c, enum mca_http_result *res)
{
	json_t *in = json_object_get(c->payload, "identifiers"), *out = json_array(), *v;
	struct mca_error err = {0};
	char name[256];
	const char *type, *value;
	size_t i, j, n;

	if (out == NULL || !json_is_array(in) || json_array_size(in) == 0 ||
	    json_array_size(in) > ACME_MAX_IDENTIFIERS) {
		json_decref(out);
		*res = acme_problem(c, 400, ACME_ERR("malformed"),
		                    "identifiers must be an array of 1 to %d entries",
		                    ACME_MAX_IDENTIFIERS);
		return NULL;
	}
	json_array_foreach(in, i, v)
	{
		type = json_string_value(json_object_get(v, "type"));
		value = json_string_value(json_object_get(v, "value"));
		if (type == NULL || strcmp(type, "dns") != 0 || value == NULL ||
		    strlen(value) >= sizeof(name)) {
			json_decref(out);
			*res = acme_problem(c, 400, ACME_ERR("unsupportedIdentifier"),
			                    "only dns identifiers are supported");
			return NULL;
		}
		for (n = 0; value[n] != '\0'; n++)
			name[n] = (char)tolower((unsigned char)value[n]);
		name[n] = '\0';
		if (mca_policy_check_dns(c->profile, name, &err) != MCA_OK) {
			json_decref(out);
			*res = acme_problem(c, 400, ACME_ERR("rejectedIdentifier"), "%s: %s",
			                    err.rule, err.msg);
			return NULL;
		}
		for (j = 0; j < json_array_size(out); j++)
			if (strcmp(json_string_value(json_array_get(out, j)), name) == 0)
				break;
		if (j == json_array_size(out))
			json_array_append_new(out, json_string(name));
	}
	return out;
}

struct new_order {
	struct acme_ctx *c;
	const struct mca_acme_order *o;
	json_t *idents;
};

/* The order and an authorization per identifier, in one transaction. */
static mca_rc
new_order_txn(struct mca_store *st, void *arg, struct mca_error *err)
{
	const struct new_order *na = arg;
	size_t i;
	mca_rc rc;

	rc = mca_acme_order_add(st, na->o, err);
	for (i = 0; rc == MCA_OK && i < json_array_size(na->idents); i++)
		rc = add_authz(na->c, na->o->id, json_string_value(json_array_get(na->idents, i)),
		               na->o->expires_at, err);
	return rc;
}

enum mca_http_result
acme_new_order(struct acme_ctx *c)
{
	struct new_order na;
	struct mca_acme_order o;
	struct mca_error err = {0};
	enum mca_http_result res;
	json_t *idents = NULL, *j;
	char id[MCA_ACME_ID_LEN + 1], url[700], *text = NULL;
	int64_t now = (int64_t)mca_now(), recent = 0;
	mca_rc rc;

	memset(&o, 0, sizeof(o));
	if (c->payload == NULL)
		return acme_problem(c, 400, ACME_ERR("malformed"), "newOrder needs a payload");
	if (json_object_get(c->payload, "notBefore") || json_object_get(c->payload, "notAfter"))
		return acme_problem(c, 400, ACME_ERR("malformed"),
		                    "notBefore/notAfter are not supported: validity comes from "
		                    "the profile");
	if (mca_acme_order_count(c->st, c->acct.id, now - 3600, &recent, &err) != MCA_OK)
		return acme_problem(c, 500, ACME_ERR("serverInternal"), "%s", err.msg);
	if (recent >= (int64_t)c->srv->conf->acme_orders_per_hour)
		return acme_problem(c, 429, ACME_ERR("rateLimited"),
		                    "at most %u new orders an hour per account",
		                    c->srv->conf->acme_orders_per_hour);
	idents = read_identifiers(c, &res);
	if (idents == NULL)
		return res;
	text = json_dumps(idents, JSON_COMPACT);
	if (text == NULL || mca_acme_new_id(id, &err) != MCA_OK) {
		res = acme_problem(c, 500, ACME_ERR("serverInternal"), "out of memory");
		goto out;
	}
	o.id = id;
	o.account = c->acct.id;
	o.profile = (char *)(uintptr_t)c->profile->name;
	o.status = (char *)(uintptr_t) "pending";
	o.expires_at = now + ACME_ORDER_LIFETIME;
	o.identifiers = text;
	o.created_at = now;
	na.c = c;
	na.o = &o;
	na.idents = idents;
	if ((rc = mca_store_txn(c->st, new_order_txn, &na, &err)) != MCA_OK) {
		res = rc == MCA_ERR_POLICY
		          ? acme_problem(c, 400, ACME_ERR("rejectedIdentifier"), "%s", err.msg)
		          : acme_problem(c, 500, ACME_ERR("serverInternal"), "%s", err.msg);
		goto out;
	}
	memset(&o, 0, sizeof(o));
	if (mca_acme_order_get(c->st, id, &o, &err) != MCA_OK) {
		res = acme_problem(c, 500, ACME_ERR("serverInternal"), "%s", err.msg);
		goto out;
	}
	j = acme_order_json(c, &o);
	res = acme_reply(c, 201, j, acme_url(c, "order", id, url, sizeof(url)), NULL);
	mca_acme_order_clear(&o);
out:
	free(text);
	json_decref(idents);
	return res;
}

/* ---- challenges --------------------------------------------------------- */

enum mca_http_result
acme_challenge(struct acme_ctx *c, const char *id)
{
	struct mca_acme_chall ch;
	struct mca_acme_authz a;
	struct mca_acme_order o;
	struct mca_error err = {0};
	enum mca_http_result res;
	enum mca_acme_queued q;
	char up[700];
	int started = 0;

	memset(&a, 0, sizeof(a));
	memset(&o, 0, sizeof(o));
	if (mca_acme_chall_get(c->st, id, &ch, &err) != MCA_OK)
		return acme_problem(c, 404, ACME_ERR("malformed"), "no such challenge");
	if (mca_acme_authz_get(c->st, ch.authz, &a, &err) != MCA_OK) {
		res = acme_problem(c, 404, ACME_ERR("malformed"), "no such challenge");
		goto out;
	}
	if (!own_order(c, a.order_id, &o, &res))
		goto out; /* own_order replied */
	/* A POST with a payload ({}) asks for validation; POST-as-GET only reads. */
	if (c->payload != NULL && strcmp(ch.status, "pending") == 0 &&
	    strcmp(a.status, "pending") == 0) {
		if (mca_acme_chall_start(c->st, id, &started, &err) != MCA_OK) {
			res = acme_problem(c, 500, ACME_ERR("serverInternal"), "%s", err.msg);
			goto out;
		}
		q = started ? mca_acme_enqueue(c->srv->acme, id, c->acct.id) : MCA_ACME_QUEUED;
		if (q != MCA_ACME_QUEUED) {
			/* Back to pending: the client may POST again once others ended. */
			mca_acme_chall_set(c->st, id, "pending", 0, NULL, NULL);
			c->retry_after = mca_acme_retry_after(c->srv->acme);
			res =
			    q == MCA_ACME_ACCOUNT_FULL
			        ? acme_problem(c, 429, ACME_ERR("rateLimited"),
			                       "this account has %u validations pending, the most "
			                       "allowed; retry later",
			                       c->srv->conf->acme_pending_per_account)
			        : acme_problem(c, 429, ACME_ERR("rateLimited"),
			                       "too many validations pending; retry later");
			goto out;
		}
		mca_acme_chall_clear(&ch);
		mca_acme_chall_get(c->st, id, &ch, &err);
	}
	res = acme_reply(c, 200, chall_json(c, &ch), NULL,
	                 acme_url(c, "authz", a.id, up, sizeof(up)));
out:
	mca_acme_chall_clear(&ch);
	mca_acme_authz_clear(&a);
	mca_acme_order_clear(&o);
	return res;
}

/* ---- finalize and certificate ------------------------------------------- */

/*
 * Test aid (mtlscad(8), ENVIRONMENT): when MTLSCAD_TEST_CRASH_AT names
 * `where`, the process dies here by SIGKILL, as a power cut would stop
 * it, so that tests/acme_crash.sh can check what a restart finds.
 */
static void
crash_point(const char *where)
{
	const char *at = getenv("MTLSCAD_TEST_CRASH_AT");

	if (at != NULL && strcmp(at, where) == 0) {
		mca_log(MCA_LOG_WARN, "MTLSCAD_TEST_CRASH_AT=%s: killing the process", where);
		raise(SIGKILL);
	}
}

/* Whether the CSR asks for exactly the order's identifiers (DNS only). */
static int
csr_matches(const struct mca_csr *csr, json_t *idents, char *why, size_t len)
{
	size_t i, j, n = json_array_size(idents);
	int found;

	if (csr->san_unsupported) {
		snprintf(why, len, "the CSR carries a kind of name ACME cannot validate");
		return 0;
	}
	for (i = 0; i < csr->n_names; i++) {
		if (csr->names[i].type != MCA_NAME_DNS) {
			snprintf(why, len, "'%.200s' is not a DNS name of the order",
			         csr->names[i].value);
			return 0;
		}
		for (j = 0, found = 0; j < n && !found; j++)
			found = strcasecmp(csr->names[i].value,
			                   json_string_value(json_array_get(idents, j))) == 0;
		if (!found) {
			snprintf(why, len, "'%.200s' is not an identifier of the order",
			         csr->names[i].value);
			return 0;
		}
	}
	for (j = 0; j < n; j++) {
		for (i = 0, found = 0; i < csr->n_names && !found; i++)
			found = strcasecmp(csr->names[i].value,
			                   json_string_value(json_array_get(idents, j))) == 0;
		if (!found) {
			snprintf(why, len, "the CSR lacks the identifier '%.200s'",
			         json_string_value(json_array_get(idents, j)));
			return 0;
		}
	}
	return 1;
}

/* A problem document as stored text (orders keep their error). */
static char *
problem_text(const char *type, const char *detail)
{
	json_t *j = json_pack("{s:s, s:s}", "type", type, "detail", detail);
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	return s;
}

/*
 * In the certificate's own transaction (committer.h): the order becomes
 * valid with the certificate, so a crash leaves either both or neither.
 */
static mca_rc
order_issued(void *arg, struct mca_store *st, const char *serial, struct mca_error *err)
{
	mca_rc rc = mca_acme_order_issued(st, arg, serial, err);

	crash_point("finalize_before_commit");
	return rc;
}

enum mca_http_result
acme_finalize(struct acme_ctx *c, const char *id)
{
	const struct mca_record_hook hook = {order_issued, (void *)(uintptr_t)id};
	struct mca_acme_order o;
	struct mca_error err = {0};
	struct mca_csr *csr = NULL;
	struct mca_issue_req req;
	struct mca_issued iss;
	enum mca_http_result res;
	json_t *idents = NULL, *j;
	const char *b64;
	unsigned char *der = NULL;
	size_t der_len = 0;
	char why[800], url[700], requester[64], *prob = NULL;
	int claimed = 0;

	memset(&iss, 0, sizeof(iss));
	if (!own_order(c, id, &o, &res))
		return res;
	j = acme_order_json(c, &o); /* brings the status up to date */
	json_decref(j);
	if (strcmp(o.status, "ready") != 0) {
		res = acme_problem(c, 403, ACME_ERR("orderNotReady"), "the order is %s", o.status);
		goto out;
	}
	b64 = c->payload ? json_string_value(json_object_get(c->payload, "csr")) : NULL;
	if (b64 == NULL || strlen(b64) > 2 * MCA_CSR_MAX_SIZE ||
	    !mca_b64url_decode(b64, strlen(b64), &der, &der_len)) {
		res = acme_problem(c, 400, ACME_ERR("malformed"), "csr must be base64url DER");
		goto out;
	}
	idents = json_loads(o.identifiers, 0, NULL);
	if (mca_csr_parse(der, der_len, &csr, &err) != MCA_OK) {
		res = acme_problem(c, 400, ACME_ERR("badCSR"), "%s", err.msg);
		goto out;
	}
	if (idents == NULL || !csr_matches(csr, idents, why, sizeof(why))) {
		res = acme_problem(c, 400, ACME_ERR("badCSR"), "%s", why);
		goto out;
	}
	/*
	 * Exactly one finalize of an order gets to issue.  A crash before the
	 * commit leaves it "processing"; mca_acme_new makes it "ready" again.
	 */
	if (mca_acme_order_claim(c->st, id, &claimed, &err) != MCA_OK || !claimed) {
		res = acme_problem(c, 403, ACME_ERR("orderNotReady"),
		                   "the order is already being finalized");
		goto out;
	}
	crash_point("finalize_after_claim");
	snprintf(requester, sizeof(requester), "acme:%s", c->acct.id);
	memset(&req, 0, sizeof(req));
	req.csr = csr;
	req.profile = c->profile->name;
	req.auth = MCA_ISSUE_ACME;
	req.committer = c->srv->committer;
	req.on_record = &hook;
	req.requester = requester;
	req.actor = requester;
	req.action = "issue";
	if (mca_issue(c->snap->issuer, c->st, &req, &iss, &err) != MCA_OK) {
		if (err.code != MCA_ERR_POLICY && err.code != MCA_ERR_BADCSR) {
			/*
			 * Our failure, not the client's: the order is ready for a
			 * retry (unless it changed meanwhile, e.g. deactivated).
			 */
			mca_acme_order_unclaim(c->st, id, NULL);
			res = acme_problem(c, 500, ACME_ERR("serverInternal"), "%s", err.msg);
			goto out;
		}
		snprintf(why, sizeof(why), "%s: %s", err.rule, err.msg);
		prob = problem_text(ACME_ERR("badCSR"), why);
		mca_acme_order_set(c->st, id, "invalid", prob, NULL, NULL);
		res = acme_problem(c, 400, ACME_ERR("badCSR"), "%s", why);
		goto out;
	}
	/* Recorded, and the order valid with it (order_issued). */
	crash_point("finalize_after_record");
	mca_metrics_count(c->srv->metrics, MCA_M_ISSUED, c->profile->name);
	mca_acme_order_clear(&o);
	if (mca_acme_order_get(c->st, id, &o, &err) != MCA_OK) {
		res = acme_problem(c, 500, ACME_ERR("serverInternal"), "%s", err.msg);
		goto out;
	}
	res = acme_reply(c, 200, acme_order_json(c, &o), acme_url(c, "order", id, url, sizeof(url)),
	                 NULL);
out:
	free(prob);
	free(der);
	json_decref(idents);
	mca_csr_free(csr);
	mca_issued_clear(&iss);
	mca_acme_order_clear(&o);
	return res;
}

enum mca_http_result
acme_cert(struct acme_ctx *c, const char *id)
{
	struct mca_acme_order o;
	struct mca_cert_rec *rec = NULL;
	struct mca_error err = {0};
	enum mca_http_result res;
	const unsigned char *p;
	X509 *x = NULL;
	char *pem = NULL, *chain = NULL;

	if (!own_order(c, id, &o, &res))
		return res;
	if (strcmp(o.status, "valid") != 0 || o.serial == NULL ||
	    mca_store_cert_get(c->st, o.serial, &rec, &err) != MCA_OK) {
		res = acme_problem(c, 404, ACME_ERR("malformed"), "the order has no certificate");
		goto out;
	}
	p = rec->der;
	x = d2i_X509(NULL, &p, (long)rec->der_len);
	if (x == NULL || mca_cert_to_pem(x, &pem, &err) != MCA_OK ||
	    asprintf(&chain, "%s%s", pem, c->srv->ca_pem) < 0) {
		chain = NULL;
		res = acme_problem(c, 500, ACME_ERR("serverInternal"), "encoding the chain failed");
		goto out;
	}
	res = acme_reply_text(c, 200, "application/pem-certificate-chain", chain, strlen(chain));
out:
	free(chain);
	free(pem);
	X509_free(x);
	mca_cert_rec_free(rec);
	mca_acme_order_clear(&o);
	return res;
}
