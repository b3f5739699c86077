/* account.c - newAccount and the account resource (RFC 8555 7.3). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "acme/acme_int.h"
#include "common/util.h"

/* Contacts must be an array of at most 10 "mailto:" URIs; NULL when absent. */
static int
contacts_ok(json_t *contact)
{
	size_t i;
	const char *s;

	if (contact == NULL)
		return 1;
	if (!json_is_array(contact) || json_array_size(contact) > 10)
		return 0;
	for (i = 0; i < json_array_size(contact); i++) {
		s = json_string_value(json_array_get(contact, i));
		if (s == NULL || strncmp(s, "mailto:", 7) != 0 || strlen(s) > 320 ||
		    strpbrk(s, ",\r\n ") != NULL)
			return 0;
	}
	return 1;
}

static json_t *
account_json(struct acme_ctx *c, const struct mca_acme_account *a)
{
	char orders[700], sub[64];
	json_t *contact = json_loads(a->contact, 0, NULL);

	snprintf(sub, sizeof(sub), "%s/orders", a->id);
	return json_pack("{s:s, s:o, s:s}", "status", a->status, "contact",
	                 contact ? contact : json_array(), "orders",
	                 acme_url(c, "acct", sub, orders, sizeof(orders)));
}

enum mca_http_result
acme_new_account(struct acme_ctx *c)
{
	struct mca_acme_account a;
	struct mca_error err = {0};
	json_t *contact = c->payload ? json_object_get(c->payload, "contact") : NULL;
	json_t *only = c->payload ? json_object_get(c->payload, "onlyReturnExisting") : NULL;
	char id[MCA_ACME_ID_LEN + 1], url[700], *jwk = NULL, *ctext = NULL;
	enum mca_http_result res;
	int64_t retry = 0;

	memset(&a, 0, sizeof(a));
	if (c->payload == NULL)
		return acme_problem(c, 400, ACME_ERR("malformed"), "newAccount needs a payload");
	if (mca_acme_account_by_key(c->st, c->profile->name, c->thumb, &a, &err) == MCA_OK) {
		/* RFC 8555 7.3.1: the existing account, 200 and its URL. */
		res = acme_reply(c, 200, account_json(c, &a),
		                 acme_url(c, "acct", a.id, url, sizeof(url)), NULL);
		mca_acme_account_clear(&a);
		return res;
	}
	if (json_is_true(only))
		return acme_problem(c, 400, ACME_ERR("accountDoesNotExist"),
		                    "no account for this key");
	if (!contacts_ok(contact))
		return acme_problem(c, 400, ACME_ERR("invalidContact"),
		                    "contact must be up to 10 mailto: URIs");
	if (json_object_get(c->payload, "externalAccountBinding") != NULL)
		return acme_problem(c, 400, ACME_ERR("malformed"),
		                    "external account binding is not supported");
	/* Only creations count: finding an existing account is never limited. */
	if (!mca_ratelimit_take(c->srv->acme_accounts, c->r->client, (int64_t)mca_now(), &retry)) {
		c->retry_after = retry > 0 ? retry : 1;
		return acme_problem(c, 429, ACME_ERR("rateLimited"),
		                    "at most %u new accounts an hour from one address; retry in "
		                    "%lld s",
		                    c->srv->conf->acme_new_accounts_per_hour,
		                    (long long)c->retry_after);
	}
	jwk = json_dumps(c->jws->jwk, JSON_COMPACT | JSON_SORT_KEYS);
	ctext = contact != NULL ? json_dumps(contact, JSON_COMPACT) : strdup("[]");
	if (jwk == NULL || ctext == NULL || mca_acme_new_id(id, &err) != MCA_OK) {
		res = acme_problem(c, 500, ACME_ERR("serverInternal"), "out of memory");
		goto out;
	}
	a.id = id;
	a.profile = (char *)(uintptr_t)c->profile->name;
	a.thumbprint = c->thumb;
	a.jwk = jwk;
	a.status = (char *)(uintptr_t) "valid";
	a.contact = ctext;
	a.created_at = (int64_t)mca_now();
	if (mca_acme_account_add(c->st, &a, &err) != MCA_OK) {
		res = acme_problem(c, 500, ACME_ERR("serverInternal"), "%s", err.msg);
		goto out;
	}
	mca_store_audit(c->st, "acme", "acme.account", NULL, NULL, NULL);
	res = acme_reply(c, 201, account_json(c, &a), acme_url(c, "acct", id, url, sizeof(url)),
	                 NULL);
out:
	free(jwk);
	free(ctext);
	return res;
}

struct order_urls {
	struct acme_ctx *c;
	json_t *arr;
};

static int
add_order_url(void *arg, const char *id)
{
	struct order_urls *o = arg;
	char url[700];

	return json_array_append_new(
	           o->arr, json_string(acme_url(o->c, "order", id, url, sizeof(url)))) != 0;
}

/* Whether `id` is the requesting account; a 403 into *res when not. */
static int
own_account(struct acme_ctx *c, const char *id, enum mca_http_result *res)
{
	if (strcmp(id, c->acct.id) == 0)
		return 1;
	*res = acme_problem(c, 403, ACME_ERR("unauthorized"),
	                    "an account may only read or change itself");
	return 0;
}

enum mca_http_result
acme_account_orders(struct acme_ctx *c, const char *id)
{
	struct mca_error err = {0};
	struct order_urls o = {c, NULL};
	enum mca_http_result res;

	if (!own_account(c, id, &res))
		return res;
	o.arr = json_array();
	if (o.arr == NULL ||
	    mca_acme_order_list(c->st, id, 1000, add_order_url, &o, &err) != MCA_OK) {
		json_decref(o.arr);
		return acme_problem(c, 500, ACME_ERR("serverInternal"), "%s", err.msg);
	}
	return acme_reply(c, 200, json_pack("{s:o}", "orders", o.arr), NULL, NULL);
}

enum mca_http_result
acme_account(struct acme_ctx *c, const char *id)
{
	struct mca_error err = {0};
	json_t *status, *contact;
	char *ctext = NULL, url[700];
	enum mca_http_result res;

	if (!own_account(c, id, &res))
		return res;
	status = c->payload ? json_object_get(c->payload, "status") : NULL;
	contact = c->payload ? json_object_get(c->payload, "contact") : NULL;
	if (status != NULL &&
	    (!json_is_string(status) || strcmp(json_string_value(status), "deactivated") != 0))
		return acme_problem(c, 400, ACME_ERR("malformed"),
		                    "an account may only set its status to deactivated");
	if (!contacts_ok(contact))
		return acme_problem(c, 400, ACME_ERR("invalidContact"),
		                    "contact must be up to 10 mailto: URIs");
	if (contact != NULL && (ctext = json_dumps(contact, JSON_COMPACT)) == NULL)
		return acme_problem(c, 500, ACME_ERR("serverInternal"), "out of memory");
	if ((status != NULL || ctext != NULL) &&
	    mca_acme_account_update(c->st, id, status ? "deactivated" : NULL, ctext, &err) !=
	        MCA_OK) {
		free(ctext);
		return acme_problem(c, 500, ACME_ERR("serverInternal"), "%s", err.msg);
	}
	free(ctext);
	mca_acme_account_clear(&c->acct);
	c->have_acct = 0;
	if (mca_acme_account_get(c->st, id, &c->acct, &err) != MCA_OK)
		return acme_problem(c, 500, ACME_ERR("serverInternal"), "%s", err.msg);
	c->have_acct = 1;
	res = acme_reply(c, 200, account_json(c, &c->acct),
	                 acme_url(c, "acct", id, url, sizeof(url)), NULL);
	return res;
}
