/*
 * fuzz_json.c - the request bodies of the API as mhd/dispatch.c and the
 * handlers read them: mca_json_parse_object (jansson with
 * JSON_REJECT_DUPLICATES, objects only), then the strict unpacking of
 * common/jsonx.c with the field tables of POST /v1/sign, /v1/renew,
 * /v1/revoke and /v1/tokens (copied from src/api/ep_*.c: they are static
 * there), then the value parsers those handlers call next: durations
 * (validity, ttl), serials, CRL reasons, token names.  Also
 * mca_json_safe_text, which makes every error message quoting client
 * bytes fit for a JSON reply, on the raw input.
 *
 * Invariants (fz_fail): an unpacked required field is set, and a string
 * field is a string; every error message, after mca_json_safe_text, is
 * accepted by jansson (the reply of mhd/reply.c can always be built) and
 * fits its buffer; a parsed duration is in 1..MCA_DURATION_MAX.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "ca/token.h"
#include "common/duration.h"
#include "common/jsonx.h"
#include "fuzz.h"
#include "pki/crl.h"
#include "pki/serial.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct sign_body {
	const char *csr, *profile, *validity;
};
static const struct mca_jfield sign_fields[] = {
    MCA_JFIELD(struct sign_body, csr, MCA_J_STRING, 1),
    MCA_JFIELD(struct sign_body, profile, MCA_J_STRING, 0),
    MCA_JFIELD(struct sign_body, validity, MCA_J_STRING, 0),
};

struct renew_body {
	const char *csr;
};
static const struct mca_jfield renew_fields[] = {
    MCA_JFIELD(struct renew_body, csr, MCA_J_STRING, 0),
};

struct revoke_body {
	const char *serial, *reason;
};
static const struct mca_jfield revoke_fields[] = {
    MCA_JFIELD(struct revoke_body, serial, MCA_J_STRING, 1),
    MCA_JFIELD(struct revoke_body, reason, MCA_J_STRING, 0),
};

struct tokens_body {
	const char *profile;
	json_t *names;
	const char *ttl;
	long long uses;
};
static const struct mca_jfield tokens_fields[] = {
    MCA_JFIELD(struct tokens_body, profile, MCA_J_STRING, 1),
    MCA_JFIELD(struct tokens_body, names, MCA_J_STRARR, 1),
    MCA_JFIELD(struct tokens_body, ttl, MCA_J_STRING, 0),
    MCA_JFIELD(struct tokens_body, uses, MCA_J_INT, 0),
};

/* What mhd/reply.c does with a message: safe text, then a JSON reply. */
static void
check_reply(const char *raw)
{
	static const size_t sizes[] = {1, 2, 4, 7, 64, 512};
	char msg[512];
	json_t *j;
	size_t i, n;

	for (i = 0; i < NELEM(sizes); i++) {
		n = mca_json_safe_text(msg, sizes[i], raw);
		if (n >= sizes[i] || strlen(msg) != n)
			fz_fail("safe_text: %zu bytes into %zu", n, sizes[i]);
		j = json_pack("{s:s, s:s}", "error", "bad_request", "message", msg);
		if (j == NULL)
			fz_fail("safe_text output refused by jansson");
		json_decref(j);
	}
}

static void
check_error(mca_rc rc, const struct mca_error *err)
{
	if (rc == MCA_OK)
		return;
	if (err->msg[0] == '\0')
		fz_fail("error %d without a message", (int)rc);
	check_reply(err->msg);
}

static void
check_duration(const char *s)
{
	struct mca_error err = {0};
	int64_t v = 0;
	mca_rc rc;

	if (s == NULL)
		return;
	rc = mca_duration_parse(s, &v, &err);
	check_error(rc, &err);
	if (rc == MCA_OK && (v <= 0 || v > MCA_DURATION_MAX))
		fz_fail("duration '%s' parsed as %lld", s, (long long)v);
}

static void
unpack_all(json_t *obj)
{
	struct mca_error err = {0};
	struct sign_body sb = {NULL, NULL, NULL};
	struct renew_body rb = {NULL};
	struct revoke_body vb = {NULL, NULL};
	struct tokens_body tb = {NULL, NULL, NULL, 0};
	char serial[MCA_SERIAL_HEX_MAX];
	char *typed = NULL;
	mca_rc rc;
	size_t i;

	rc = mca_json_unpack(obj, sign_fields, NELEM(sign_fields), &sb, "request body", &err);
	check_error(rc, &err);
	if (rc == MCA_OK) {
		if (sb.csr == NULL)
			fz_fail("sign: csr missing but unpacked");
		check_duration(sb.validity);
	}
	rc = mca_json_unpack(obj, renew_fields, NELEM(renew_fields), &rb, "request body", &err);
	check_error(rc, &err);
	rc = mca_json_unpack(obj, revoke_fields, NELEM(revoke_fields), &vb, "request body", &err);
	check_error(rc, &err);
	if (rc == MCA_OK) {
		if (vb.serial == NULL)
			fz_fail("revoke: serial missing but unpacked");
		rc = mca_serial_normalize(vb.serial, serial, &err);
		check_error(rc, &err);
		if (rc == MCA_OK && strlen(serial) >= MCA_SERIAL_HEX_MAX)
			fz_fail("serial too long");
		if (vb.reason != NULL)
			(void)mca_crl_reason_parse(vb.reason);
	}
	rc = mca_json_unpack(obj, tokens_fields, NELEM(tokens_fields), &tb, "request body", &err);
	check_error(rc, &err);
	if (rc == MCA_OK) {
		if (tb.profile == NULL || !json_is_array(tb.names))
			fz_fail("tokens: required field missing but unpacked");
		check_duration(tb.ttl);
		for (i = 0; i < json_array_size(tb.names) && i < MCA_TOKEN_MAX_NAMES; i++) {
			if (!json_is_string(json_array_get(tb.names, i)))
				fz_fail("tokens: names[%zu] is not a string", i);
			rc = mca_token_name_normalize(
			    json_string_value(json_array_get(tb.names, i)), -1, &typed, &err);
			check_error(rc, &err);
			free(typed);
			typed = NULL;
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mca_error err = {0};
	json_t *obj = NULL;
	char *text = fz_strndup(data, size);
	mca_rc rc;

	check_reply(text);
	rc = mca_json_parse_object((const char *)data, size, &obj, "request body", &err);
	check_error(rc, &err);
	if (rc == MCA_OK) {
		if (!json_is_object(obj))
			fz_fail("parse_object returned a non-object");
		unpack_all(obj);
	} else if (obj != NULL) {
		fz_fail("parse_object refused but returned");
	}
	json_decref(obj);
	free(text);
	return 0;
}
