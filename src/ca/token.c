/* token.c - enrollment tokens: minting, checking, consuming. */
#include "config.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "ca/token.h"
#include "common/b64url.h"
#include "common/util.h"
#include "policy/names.h"
#include "policy/policy.h"

#define PREFIX     "mtls_"
#define SECRET_LEN 43 /* base64url of 32 octets, unpadded */

static int
token_hash(const char *token, unsigned char out[32])
{
	unsigned int n = 0;

	return EVP_Digest(token, strlen(token), out, &n, EVP_sha256(), NULL) == 1 && n == 32;
}

/* Split "mtls_<16 hex>.<43 b64url>" and copy the id; 0 when malformed. */
static int
token_parse(const char *token, char id[MCA_TOKEN_ID_LEN + 1])
{
	size_t plen = strlen(PREFIX), len;
	const char *p;

	len = strnlen(token, MCA_TOKEN_MAX_LEN + 1);
	if (len != plen + MCA_TOKEN_ID_LEN + 1 + SECRET_LEN || strncmp(token, PREFIX, plen) != 0)
		return 0;
	p = token + plen;
	if (strspn(p, "0123456789abcdef") != MCA_TOKEN_ID_LEN || p[MCA_TOKEN_ID_LEN] != '.')
		return 0;
	if (strspn(p + MCA_TOKEN_ID_LEN + 1, mca_b64url_alphabet) != SECRET_LEN)
		return 0;
	memcpy(id, p, MCA_TOKEN_ID_LEN);
	id[MCA_TOKEN_ID_LEN] = '\0';
	return 1;
}

/* Printable ASCII without spaces, quotes or backslashes. */
static int
plain_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f || *s == '"' ||
		    *s == '\\')
			return 0;
	return 1;
}

/* "scheme:rest" with an RFC 3986 scheme and something after it. */
static int
uri_shaped(const char *s)
{
	const char *p = s;

	if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
		return 0;
	while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
	       *p == '+' || *p == '-' || *p == '.')
		p++;
	return *p == ':' && p[1] != '\0' && plain_ascii(s);
}

mca_rc
mca_token_name_normalize(const char *text, int type, char **out, struct mca_error *err)
{
	enum mca_name_type t;
	const char *value = text;
	unsigned char ip[16];
	char buf[INET6_ADDRSTRLEN];
	size_t len;
	const char *at;
	struct mca_error e = {0};

	*out = NULL;
	if (strlen(text) > 2048)
		return mca_error_set(err, MCA_ERR_INVAL, "name '%.64s...' is longer than 2048",
		                     text);
	if (type >= 0)
		t = (enum mca_name_type)type;
	else if (!mca_typed_name_split(text, &t, &value))
		t = mca_ip_parse(text, ip, &len)  ? MCA_NAME_IP
		    : strstr(text, "://") != NULL ? MCA_NAME_URI
		                                  : MCA_NAME_DNS;
	switch (t) {
	case MCA_NAME_DNS:
		if (mca_dns_check(value, 1, 0, &e) != MCA_OK)
			return mca_error_set(err, MCA_ERR_INVAL, "name '%.200s': %s: %s", text,
			                     e.rule, e.msg);
		break;
	case MCA_NAME_IP:
		if (!mca_ip_parse(value, ip, &len) ||
		    inet_ntop(len == 4 ? AF_INET : AF_INET6, ip, buf, sizeof(buf)) == NULL)
			return mca_error_set(err, MCA_ERR_INVAL,
			                     "name '%.200s': '%.200s' is not an IP address", text,
			                     value);
		value = buf;
		break;
	case MCA_NAME_URI:
		if (!uri_shaped(value))
			return mca_error_set(err, MCA_ERR_INVAL,
			                     "name '%.200s': '%.200s' is not a URI", text, value);
		if (strncmp(value, "spiffe:", 7) == 0 && mca_spiffe_check(value, &e) != MCA_OK)
			return mca_error_set(err, MCA_ERR_INVAL, "name '%.200s': %s", text, e.msg);
		break;
	case MCA_NAME_EMAIL:
		at = strchr(value, '@');
		if (!plain_ascii(value) || at == NULL || at == value || at[1] == '\0' ||
		    strchr(at + 1, '@') != NULL)
			return mca_error_set(err, MCA_ERR_INVAL,
			                     "name '%.200s': '%.200s' is not an email address",
			                     text, value);
		break;
	}
	*out = mca_typed_name(t, value);
	if (*out == NULL)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	return MCA_OK;
}

static int
row_to_token(const struct mca_token_row *r, struct mca_token *t)
{
	json_t *arr = json_loads(r->names, 0, NULL);
	size_t i, n = json_is_array(arr) ? json_array_size(arr) : 0;

	memset(t, 0, sizeof(*t));
	snprintf(t->id, sizeof(t->id), "%s", r->id);
	t->profile = strdup(r->profile);
	t->created_by = strdup(r->created_by);
	t->names = calloc(n + 1, sizeof(char *));
	for (i = 0; t->names != NULL && i < n; i++) {
		const char *v = json_string_value(json_array_get(arr, i));

		t->names[i] = strdup(v != NULL ? v : "");
	}
	json_decref(arr);
	t->uses_left = r->uses_left;
	t->uses_total = r->uses_total;
	t->expires_at = r->expires_at;
	t->created_at = r->created_at;
	t->revoked_at = r->revoked_at;
	for (i = 0; t->names != NULL && i < n; i++)
		if (t->names[i] == NULL)
			break;
	if (t->profile == NULL || t->created_by == NULL || t->names == NULL || i < n) {
		mca_token_clear(t);
		return 0;
	}
	return 1;
}

void
mca_token_clear(struct mca_token *t)
{
	size_t i;

	for (i = 0; t->names != NULL && t->names[i] != NULL; i++)
		free(t->names[i]);
	free(t->names);
	free(t->profile);
	free(t->created_by);
	memset(t, 0, sizeof(*t));
}

mca_rc
mca_token_create(struct mca_store *st, const struct mca_token_spec *spec,
                 int (*profile_ok)(void *arg, const char *profile), void *arg,
                 struct mca_token *out, char **secret, struct mca_error *err)
{
	struct mca_token_row row;
	unsigned char idraw[MCA_TOKEN_ID_LEN / 2], key[32];
	char idhex[MCA_TOKEN_ID_LEN + 1], *keytxt = NULL, *tok = NULL, *typed = NULL;
	json_t *names = NULL;
	size_t i;
	mca_rc rc;

	*secret = NULL;
	memset(&row, 0, sizeof(row));
	if (spec->profile == NULL || !profile_ok(arg, spec->profile))
		return mca_error_set(err, MCA_ERR_INVAL,
		                     "profile '%.64s' does not exist or does not "
		                     "issue against tokens",
		                     spec->profile ? spec->profile : "");
	if (spec->ttl <= 0 || spec->ttl > MCA_TOKEN_MAX_TTL)
		return mca_error_set(err, MCA_ERR_INVAL, "ttl must be between 1s and 30d");
	if (spec->uses < 1 || spec->uses > MCA_TOKEN_MAX_USES)
		return mca_error_set(err, MCA_ERR_INVAL, "uses must be between 1 and %d",
		                     MCA_TOKEN_MAX_USES);
	names = json_array();
	if (names == NULL)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	for (i = 0; spec->names != NULL && spec->names[i] != NULL; i++) {
		if (i >= MCA_TOKEN_MAX_NAMES) {
			rc = mca_error_set(err, MCA_ERR_INVAL, "at most %d names",
			                   MCA_TOKEN_MAX_NAMES);
			goto out;
		}
		if ((rc = mca_token_name_normalize(spec->names[i], -1, &typed, err)) != MCA_OK)
			goto out;
		if (json_array_append_new(names, json_string(typed)) != 0) {
			rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
			goto out;
		}
		free(typed);
		typed = NULL;
	}
	if (i == 0) {
		rc = mca_error_set(err, MCA_ERR_INVAL,
		                   "a token must name what it may request (--name)");
		goto out;
	}
	if (RAND_bytes(idraw, sizeof(idraw)) != 1 || RAND_bytes(key, sizeof(key)) != 1) {
		rc = mca_error_ssl(err, MCA_ERR_CRYPTO, "random token");
		goto out;
	}
	mca_hex(idraw, sizeof(idraw), idhex);
	keytxt = mca_b64url_encode(key, sizeof(key));
	OPENSSL_cleanse(key, sizeof(key));
	if (keytxt == NULL) {
		rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (asprintf(&tok, PREFIX "%s.%s", idhex, keytxt) < 0) {
		tok = NULL;
		rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		goto out;
	}
	row.id = idhex;
	row.profile = (char *)(uintptr_t)spec->profile;
	row.names = json_dumps(names, JSON_COMPACT);
	row.uses_total = spec->uses;
	row.uses_left = spec->uses;
	row.created_at = (int64_t)mca_now();
	row.expires_at = row.created_at + spec->ttl;
	row.created_by = (char *)(uintptr_t)spec->created_by;
	if (row.names == NULL || !token_hash(tok, row.hash)) {
		rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = mca_store_token_insert(st, &row, err)) != MCA_OK)
		goto out;
	if (!row_to_token(&row, out)) {
		rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		goto out;
	}
	*secret = tok;
	tok = NULL;
out:
	free(row.names);
	free(typed);
	mca_free_secret(keytxt);
	mca_free_secret(tok);
	json_decref(names);
	return rc;
}

int
mca_token_id_of(const char *secret, char id[MCA_TOKEN_ID_LEN + 1])
{
	return secret != NULL && token_parse(secret, id);
}

enum mca_token_state
mca_token_check(struct mca_store *st, const char *secret, struct mca_token *out,
                struct mca_error *err)
{
	struct mca_token_row row;
	unsigned char hash[32];
	char id[MCA_TOKEN_ID_LEN + 1];
	enum mca_token_state state = MCA_TOKEN_ERROR;
	mca_rc rc;

	memset(out, 0, sizeof(*out));
	if (!mca_token_id_of(secret, id)) {
		mca_error_set(err, MCA_ERR_NOTFOUND, "malformed token");
		return MCA_TOKEN_MALFORMED;
	}
	if (!token_hash(secret, hash)) {
		mca_error_set(err, MCA_ERR_CRYPTO, "hashing the token failed");
		return MCA_TOKEN_ERROR;
	}
	rc = mca_store_token_get(st, id, &row, err);
	if (rc == MCA_ERR_NOTFOUND)
		return MCA_TOKEN_UNKNOWN;
	if (rc != MCA_OK)
		return MCA_TOKEN_ERROR;
	/* Constant time: the id is public, the secret is not.  Nothing else is said first. */
	if (CRYPTO_memcmp(hash, row.hash, sizeof(hash)) != 0) {
		mca_error_set(err, MCA_ERR_NOTFOUND, "wrong token secret");
		state = MCA_TOKEN_BAD_SECRET;
		goto out;
	}
	if (row.revoked_at != 0) {
		state = MCA_TOKEN_REVOKED;
		goto out;
	}
	if (row.expires_at <= (int64_t)mca_now()) {
		state = MCA_TOKEN_EXPIRED;
		goto out;
	}
	if (row.uses_left <= 0) {
		state = MCA_TOKEN_USED;
		goto out;
	}
	if (!row_to_token(&row, out)) {
		mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		goto out; /* ERROR: refuse rather than crash */
	}
	state = MCA_TOKEN_OK;
out:
	mca_token_row_clear(&row);
	return state;
}

enum mca_token_state
mca_token_consume(struct mca_store *st, const char *id, struct mca_error *err)
{
	int taken = 0;

	if (mca_store_token_consume(st, id, (int64_t)mca_now(), &taken, err) != MCA_OK)
		return MCA_TOKEN_ERROR;
	if (taken)
		return MCA_TOKEN_OK;
	/* Lost the race, or expired or revoked meanwhile: say which. */
	return mca_token_refusal(st, id, err);
}

enum mca_token_state
mca_token_refusal(struct mca_store *st, const char *id, struct mca_error *err)
{
	struct mca_token_row row;
	enum mca_token_state state;

	if (mca_store_token_get(st, id, &row, err) != MCA_OK)
		return MCA_TOKEN_ERROR; /* even NOTFOUND: it was there a moment ago */
	state = row.revoked_at != 0                    ? MCA_TOKEN_REVOKED
	        : row.expires_at <= (int64_t)mca_now() ? MCA_TOKEN_EXPIRED
	                                               : MCA_TOKEN_USED;
	mca_token_row_clear(&row);
	return state;
}

mca_rc
mca_token_use_hook(void *arg, struct mca_store *st, const char *serial, struct mca_error *err)
{
	struct mca_token_use *u = arg;
	int taken = 0;
	mca_rc rc;

	(void)serial;
	if ((rc = mca_store_token_consume(st, u->id, (int64_t)mca_now(), &taken, err)) != MCA_OK)
		return rc;
	if (taken)
		return MCA_OK;
	u->refused = 1;
	return mca_error_rule(err, MCA_ERR_POLICY, "token.used",
	                      "the token has no use left (spent, expired or revoked meanwhile)");
}

mca_rc
mca_token_refund(struct mca_store *st, const char *id, struct mca_error *err)
{
	return mca_store_token_refund(st, id, err);
}

mca_rc
mca_token_revoke(struct mca_store *st, const char *id, const char *actor, struct mca_error *err)
{
	int changed = 0;
	mca_rc rc;

	if (strlen(id) != MCA_TOKEN_ID_LEN || strspn(id, "0123456789abcdef") != MCA_TOKEN_ID_LEN)
		/* Never echoed: an admin may paste a whole token (id and secret) here. */
		return mca_error_set(
		    err, MCA_ERR_NOTFOUND,
		    "not a token id (16 lower-case hex digits, as token list shows)");
	rc = mca_store_token_revoke(st, id, (int64_t)mca_now(), actor, &changed, err);
	if (rc == MCA_OK && !changed)
		return mca_error_set(err, MCA_ERR_NOTFOUND, "no live token with id %s", id);
	return rc;
}

struct list_ctx {
	int (*cb)(void *arg, const struct mca_token *t);
	void *arg;
};

static int
list_one(void *arg, const struct mca_token_row *r)
{
	struct list_ctx *c = arg;
	struct mca_token t;
	int stop;

	if (!row_to_token(r, &t))
		return 1;
	stop = c->cb(c->arg, &t);
	mca_token_clear(&t);
	return stop;
}

mca_rc
mca_token_list(struct mca_store *st, int (*cb)(void *arg, const struct mca_token *t), void *arg,
               struct mca_error *err)
{
	struct list_ctx c = {cb, arg};

	return mca_store_token_list(st, list_one, &c, err);
}

mca_rc
mca_token_purge(struct mca_store *st, int64_t grace, int *n, struct mca_error *err)
{
	return mca_store_token_purge(st, (int64_t)mca_now() - grace, n, err);
}
