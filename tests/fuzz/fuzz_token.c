/*
 * fuzz_token.c - enrollment tokens as the network presents them
 * (ca/token.c): the shape check mca_token_id_of, the full check
 * mca_token_check against a store holding one real token, and the name
 * normalisation of POST /v1/tokens and "mtlsca token create"
 * (mca_token_name_normalize), with the typed-name helpers of
 * policy/names.c it feeds.
 *
 * The input is the Bearer value (a C string: it comes from a header) and,
 * the same bytes, a token name.
 *
 * Invariants (fz_fail): a token shape gives its 16 hex digits as the id;
 * the check says MALFORMED exactly when the shape is wrong, OK only for
 * the real secret, BAD_SECRET only for the real id; a normalised name is
 * typed, normalising it again changes nothing, and a token holding it
 * allows the name it describes (as the issuance engine will match it
 * against a CSR's name, lower-cased by the policy).
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "ca/token.h"
#include "fuzz.h"
#include "policy/names.h"

static char *secret;
static struct mca_token minted;

static int
profile_ok(void *arg, const char *profile)
{
	return 1;
}

static void
setup(void)
{
	static const char *const names[] = {"*.example.com", "10.0.0.5", NULL};
	struct mca_token_spec spec = {"private", names, 3600, 5, "fuzz"};
	struct mca_error err = {0};

	if (secret != NULL)
		return;
	if (mca_token_create(fz_store(), &spec, profile_ok, NULL, &minted, &secret, &err) != MCA_OK)
		fz_fail("token: %s", err.msg);
}

static void
check_secret(const char *s)
{
	struct mca_error err = {0};
	struct mca_token tok;
	enum mca_token_state state;
	char id[MCA_TOKEN_ID_LEN + 1];
	int shaped;

	shaped = mca_token_id_of(s, id);
	if (shaped && (strncmp(s, "mtls_", 5) != 0 || strlen(id) != MCA_TOKEN_ID_LEN ||
	               strspn(id, "0123456789abcdef") != MCA_TOKEN_ID_LEN ||
	               strncmp(s + 5, id, MCA_TOKEN_ID_LEN) != 0))
		fz_fail("id_of('%s') = '%s'", s, id);
	state = mca_token_check(fz_store(), s, &tok, &err);
	if ((state == MCA_TOKEN_MALFORMED) != !shaped)
		fz_fail("check('%s'): state %d, shaped %d", s, (int)state, shaped);
	if (state == MCA_TOKEN_OK && strcmp(s, secret) != 0)
		fz_fail("check('%s'): accepted", s);
	if (state == MCA_TOKEN_BAD_SECRET && strcmp(id, minted.id) != 0)
		fz_fail("check('%s'): bad secret for an id that does not exist", s);
	if (state == MCA_TOKEN_ERROR)
		fz_fail("check('%s'): %s", s, err.msg);
	mca_token_clear(&tok);
}

/* The CSR name a typed DNS, URI or email name describes, as the policy approves it. */
static int
name_of(const char *typed, struct mca_name *n, char *buf, size_t len)
{
	enum mca_name_type t;
	const char *value;
	size_t i;

	if (!mca_typed_name_split(typed, &t, &value) || strlen(value) >= len)
		return 0;
	memset(n, 0, sizeof(*n));
	n->type = t;
	n->value = buf;
	strcpy(buf, value);
	switch (t) {
	case MCA_NAME_DNS:
		if (buf[0] == '*')
			return 0; /* a pattern, not a name */
		for (i = 0; buf[i] != '\0'; i++)
			buf[i] = (char)tolower((unsigned char)buf[i]);
		return 1;
	case MCA_NAME_IP:
		return mca_ip_parse(value, n->ip, &n->ip_len);
	default:
		return 1;
	}
}

static void
check_name(const char *s, int type)
{
	struct mca_error err = {0};
	struct mca_name n;
	char *out = NULL, *again = NULL, buf[2100];
	enum mca_name_type t;
	const char *value;
	mca_rc rc;

	rc = mca_token_name_normalize(s, type, &out, &err);
	if (rc != MCA_OK) {
		if (out != NULL || err.msg[0] == '\0')
			fz_fail("normalize('%s', %d): refusal without a message", s, type);
		return;
	}
	if (!mca_typed_name_split(out, &t, &value))
		fz_fail("normalize('%s', %d) = '%s': not typed", s, type, out);
	if (type >= 0 && (int)t != type)
		fz_fail("normalize('%s', %d) = '%s': another type", s, type, out);
	rc = mca_token_name_normalize(out, -1, &again, &err);
	if (rc != MCA_OK || strcmp(out, again) != 0)
		fz_fail("normalize('%s') = '%s', then '%s'", s, out,
		        rc == MCA_OK ? again : err.msg);
	if (name_of(out, &n, buf, sizeof(buf)) && !mca_typed_name_match(out, &n, 1))
		fz_fail("a token for '%s' does not allow %s '%s'", out, mca_name_type_str(n.type),
		        n.value);
	free(again);
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fz_strndup(data, size);
	int type;

	setup();
	check_secret(s);
	for (type = -1; type <= MCA_NAME_EMAIL; type++)
		check_name(s, type);
	free(s);
	return 0;
}
