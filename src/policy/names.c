/* names.c - syntax checks for certificate names. */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <idn2.h>
#include <jansson.h>
#include <openssl/x509v3.h>

#include "policy/names.h"
#include "policy/profile.h"

/*
 * Whether the A-label `label` (llen octets, "xn--" first) is one: its
 * Punycode decodes to a U-label that is valid IDNA2008 (RFC 5891, no TR46
 * mapping) and encodes back to exactly `label`.  On failure *why is a
 * static reason.
 */
static int
alabel_ok(const char *label, size_t llen, const char **why)
{
	char buf[64];
	char *ulabel = NULL, *back = NULL;
	int rc, ok = 0;

	if (llen >= sizeof(buf)) {
		*why = "label too long";
		return 0;
	}
	memcpy(buf, label, llen);
	buf[llen] = '\0';
	rc = idn2_to_unicode_8z8z(buf, &ulabel, 0);
	if (rc != IDN2_OK) {
		*why = idn2_strerror(rc);
		goto out;
	}
	if (ulabel == NULL || ulabel[0] == '\0' || strchr(ulabel, '.') != NULL) {
		*why = "it decodes to an empty or dotted label";
		goto out;
	}
	rc = idn2_lookup_u8((const uint8_t *)ulabel, (uint8_t **)&back, IDN2_NO_TR46);
	if (rc != IDN2_OK) {
		*why = idn2_strerror(rc);
		goto out;
	}
	if (strcmp(back, buf) != 0) {
		*why = "it does not encode back to the same A-label";
		goto out;
	}
	ok = 1;
out:
	idn2_free(ulabel);
	idn2_free(back);
	return ok;
}

mca_rc
mca_dns_check(const char *name, int allow_wildcard, int allow_underscore, struct mca_error *err)
{
	const char *label = name, *p;
	const char *why = NULL;
	unsigned char ip[16];
	size_t len = strlen(name), llen;
	int first = 1;

	if (len == 0)
		return mca_error_rule(err, MCA_ERR_POLICY, "name.syntax", "empty DNS name");
	if (len > 253)
		return mca_error_rule(err, MCA_ERR_POLICY, "name.syntax",
		                      "DNS name '%.64s...' is longer than 253 characters", name);
	if (name[len - 1] == '.')
		return mca_error_rule(err, MCA_ERR_POLICY, "name.syntax",
		                      "DNS name '%.253s' has a trailing dot", name);
	/* An address in a dNSName is a name of the wrong type (RFC 5280 4.2.1.6). */
	if (mca_ip_parse(name, ip, &llen))
		return mca_error_rule(err, MCA_ERR_POLICY, "name.syntax",
		                      "DNS name '%.253s' is an IP address; request it as an IP "
		                      "address SAN",
		                      name);
	for (;;) {
		p = strchr(label, '.');
		llen = p ? (size_t)(p - label) : strlen(label);
		if (llen == 0)
			return mca_error_rule(err, MCA_ERR_POLICY, "name.syntax",
			                      "DNS name '%.253s' has an empty label", name);
		if (llen > 63)
			return mca_error_rule(err, MCA_ERR_POLICY, "name.syntax",
			                      "DNS name '%.253s' has a label longer than 63", name);
		if (llen == 1 && label[0] == '*') {
			if (!first || !allow_wildcard)
				return mca_error_rule(
				    err, MCA_ERR_POLICY, "name.wildcard",
				    first ? "wildcard '%.253s' not allowed"
				          : "wildcard in '%.253s' is not the whole leftmost label",
				    name);
			if (p == NULL)
				return mca_error_rule(err, MCA_ERR_POLICY, "name.wildcard",
				                      "bare wildcard '%.253s'", name);
		} else {
			size_t i;

			if (label[0] == '-' || label[llen - 1] == '-')
				return mca_error_rule(err, MCA_ERR_POLICY, "name.syntax",
				                      "DNS name '%.253s': a label starts or ends "
				                      "with '-'",
				                      name);
			for (i = 0; i < llen; i++) {
				unsigned char c = (unsigned char)label[i];

				if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')
					continue;
				if (c == '_') {
					if (allow_underscore)
						continue;
					return mca_error_rule(err, MCA_ERR_POLICY,
					                      "name.underscore",
					                      "DNS name '%.253s' contains an "
					                      "underscore",
					                      name);
				}
				if (c >= 'A' && c <= 'Z')
					return mca_error_rule(err, MCA_ERR_POLICY, "name.syntax",
					                      "DNS name '%.253s' is not lower-case",
					                      name);
				if (c == '*')
					return mca_error_rule(err, MCA_ERR_POLICY, "name.wildcard",
					                      "wildcard in '%.253s' is not the "
					                      "whole leftmost label",
					                      name);
				return mca_error_rule(err, MCA_ERR_POLICY, "name.syntax",
				                      c >= 0x80
				                          ? "DNS name '%.253s' is not ASCII "
				                            "(use the xn-- A-label form)"
				                          : "DNS name '%.253s' has an invalid "
				                            "character",
				                      name);
			}
			/* "ab--" in positions 3-4 is reserved for A-labels. */
			if (llen >= 4 && label[2] == '-' && label[3] == '-' &&
			    !(label[0] == 'x' && label[1] == 'n'))
				return mca_error_rule(err, MCA_ERR_POLICY, "name.syntax",
				                      "DNS name '%.253s' has a label with '--' in "
				                      "positions 3 and 4 that is not an A-label",
				                      name);
			if (llen >= 4 && strncmp(label, "xn--", 4) == 0 &&
			    !alabel_ok(label, llen, &why))
				return mca_error_rule(
				    err, MCA_ERR_POLICY, "name.bad_alabel",
				    "DNS name '%.253s': label '%.*s' is not a valid "
				    "A-label (%s)",
				    name, (int)llen, label, why);
		}
		if (p == NULL)
			break;
		label = p + 1;
		first = 0;
	}
	return MCA_OK;
}

int
mca_ip_parse(const char *text, unsigned char out[16], size_t *len)
{
	if (inet_pton(AF_INET, text, out) == 1) {
		*len = 4;
		return 1;
	}
	if (inet_pton(AF_INET6, text, out) == 1) {
		*len = 16;
		return 1;
	}
	return 0;
}

const char *
mca_name_type_prefix(enum mca_name_type t)
{
	switch (t) {
	case MCA_NAME_DNS:
		return "dns";
	case MCA_NAME_IP:
		return "ip";
	case MCA_NAME_URI:
		return "uri";
	case MCA_NAME_EMAIL:
		return "email";
	}
	return "?";
}

int
mca_typed_name_split(const char *typed, enum mca_name_type *type, const char **value)
{
	static const enum mca_name_type types[] = {MCA_NAME_DNS, MCA_NAME_IP, MCA_NAME_URI,
	                                           MCA_NAME_EMAIL};
	const char *colon = strchr(typed, ':');
	size_t i, plen;

	if (colon == NULL)
		return 0;
	plen = (size_t)(colon - typed);
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		const char *w = mca_name_type_prefix(types[i]);

		if (strlen(w) == plen && strncmp(typed, w, plen) == 0) {
			*type = types[i];
			*value = colon + 1;
			return 1;
		}
	}
	return 0;
}

char *
mca_typed_name(enum mca_name_type t, const char *value)
{
	char *s = NULL;

	if (asprintf(&s, "%s:%s", mca_name_type_prefix(t), value) < 0)
		return NULL;
	return s;
}

int
mca_typed_name_match(const char *typed, const struct mca_name *n, int patterns)
{
	enum mca_name_type type;
	const char *value;
	unsigned char ip[16];
	size_t len;

	if (!mca_typed_name_split(typed, &type, &value) || type != n->type)
		return 0;
	switch (type) {
	case MCA_NAME_DNS:
		if (patterns)
			return mca_dns_pattern_match(value, n->value);
		return strcasecmp(value, n->value) == 0;
	case MCA_NAME_IP:
		return mca_ip_parse(value, ip, &len) && len == n->ip_len &&
		       memcmp(ip, n->ip, len) == 0;
	case MCA_NAME_URI:
	case MCA_NAME_EMAIL:
		return strcmp(value, n->value) == 0;
	}
	return 0;
}

/* Typed text of one GENERAL_NAME we record (names.h); NULL for types we do not list. */
static char *
general_name_text(const GENERAL_NAME *gn)
{
	const unsigned char *p;
	char *value = NULL, *typed = NULL;
	int len;
	char buf[INET6_ADDRSTRLEN];

	switch (gn->type) {
	case GEN_DNS:
	case GEN_URI:
	case GEN_EMAIL:
		p = ASN1_STRING_get0_data(gn->d.ia5);
		len = ASN1_STRING_length(gn->d.ia5);
		value = strndup((const char *)p, (size_t)len);
		if (value != NULL)
			typed = mca_typed_name(gn->type == GEN_DNS   ? MCA_NAME_DNS
			                       : gn->type == GEN_URI ? MCA_NAME_URI
			                                             : MCA_NAME_EMAIL,
			                       value);
		free(value);
		return typed;
	case GEN_IPADD:
		p = ASN1_STRING_get0_data(gn->d.ip);
		len = ASN1_STRING_length(gn->d.ip);
		if ((len == 4 && inet_ntop(AF_INET, p, buf, sizeof(buf)) != NULL) ||
		    (len == 16 && inet_ntop(AF_INET6, p, buf, sizeof(buf)) != NULL))
			return mca_typed_name(MCA_NAME_IP, buf);
		return NULL;
	default:
		return NULL;
	}
}

char *
mca_names_json_from_x509(X509 *cert)
{
	GENERAL_NAMES *names;
	json_t *arr = json_array();
	char *text, *out = NULL;
	int i, failed = 0;

	if (arr == NULL)
		return NULL;
	names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	for (i = 0; names != NULL && i < sk_GENERAL_NAME_num(names); i++) {
		const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);

		text = general_name_text(gn);
		if (text != NULL)
			failed |= json_array_append_new(arr, json_string(text)) != 0;
		else if (gn->type == GEN_DNS || gn->type == GEN_URI || gn->type == GEN_EMAIL)
			failed = 1; /* out of memory: a short list would change the names */
		free(text);
	}
	GENERAL_NAMES_free(names);
	if (!failed)
		out = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	return out;
}
