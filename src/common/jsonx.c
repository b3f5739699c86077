/* jsonx.c - strict JSON object unpacking. */
#include "config.h"

#include <string.h>

#include "common/jsonx.h"

static const char *
jtype_name(enum mca_jtype t)
{
	switch (t) {
	case MCA_J_STRING:
		return "a string";
	case MCA_J_INT:
		return "an integer";
	case MCA_J_BOOL:
		return "true or false";
	case MCA_J_OBJECT:
		return "an object";
	case MCA_J_ARRAY:
		return "an array";
	case MCA_J_STRARR:
		return "an array of strings";
	}
	return "?";
}

/* Whether `v` has type `t`; stores it into `slot` when it does. */
static int
store_value(json_t *v, enum mca_jtype t, void *slot)
{
	size_t i;

	switch (t) {
	case MCA_J_STRING:
		if (!json_is_string(v))
			return 0;
		*(const char **)slot = json_string_value(v);
		return 1;
	case MCA_J_INT:
		if (!json_is_integer(v))
			return 0;
		*(long long *)slot = (long long)json_integer_value(v);
		return 1;
	case MCA_J_BOOL:
		if (!json_is_boolean(v))
			return 0;
		*(int *)slot = json_is_true(v);
		return 1;
	case MCA_J_OBJECT:
		if (!json_is_object(v))
			return 0;
		*(json_t **)slot = v;
		return 1;
	case MCA_J_ARRAY:
		if (!json_is_array(v))
			return 0;
		*(json_t **)slot = v;
		return 1;
	case MCA_J_STRARR:
		if (!json_is_array(v))
			return 0;
		for (i = 0; i < json_array_size(v); i++)
			if (!json_is_string(json_array_get(v, i)))
				return 0;
		*(json_t **)slot = v;
		return 1;
	}
	return 0;
}

mca_rc
mca_json_unpack(json_t *obj, const struct mca_jfield *fields, size_t nfields, void *dst,
                const char *what, struct mca_error *err)
{
	const char *key;
	json_t *v;
	size_t i;

	if (!json_is_object(obj))
		return mca_error_set(err, MCA_ERR_INVAL, "%s: expected a JSON object", what);
	json_object_foreach(obj, key, v)
	{
		for (i = 0; i < nfields; i++)
			if (strcmp(fields[i].name, key) == 0)
				break;
		if (i == nfields)
			return mca_error_rule(err, MCA_ERR_INVAL, key, "%s: unknown field '%.64s'",
			                      what, key);
		if (!store_value(v, fields[i].type, (char *)dst + fields[i].offset))
			return mca_error_rule(err, MCA_ERR_INVAL, fields[i].name,
			                      "%s: field '%s' must be %s", what, fields[i].name,
			                      jtype_name(fields[i].type));
	}
	for (i = 0; i < nfields; i++)
		if (fields[i].required && json_object_get(obj, fields[i].name) == NULL)
			return mca_error_rule(err, MCA_ERR_INVAL, fields[i].name,
			                      "%s: missing field '%s'", what, fields[i].name);
	return MCA_OK;
}

/*
 * Length of the well-formed UTF-8 character at `s` (1..4), 0 when `s`
 * starts an ill-formed sequence; *prefix gets how many bytes of it are a
 * valid beginning (so the caller can skip the maximal ill-formed part).
 */
static size_t
utf8_char(const unsigned char *s, size_t *prefix)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t n, i;

	*prefix = 1;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0; /* continuation byte, 0xc0, 0xc1, 0xf5..0xff */
	/* RFC 3629 table 3-7: the second byte's range excludes overlongs and surrogates. */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	for (i = 1; i < n; i++) {
		if (s[i] < (i == 1 ? lo : 0x80) || s[i] > (i == 1 ? hi : 0xbf))
			return 0;
		*prefix = i + 1;
	}
	return n;
}

size_t
mca_json_safe_text(char *dst, size_t len, const char *src)
{
	static const char fffd[] = "\xef\xbf\xbd";
	const unsigned char *s = (const unsigned char *)src;
	size_t out = 0, n, prefix;

	if (len == 0)
		return 0;
	while (*s != '\0') {
		n = utf8_char(s, &prefix);
		if (n == 0 && s[prefix] == '\0' && s[0] >= 0xc2 && s[0] <= 0xf4)
			break; /* a character cut at the end: drop it */
		if (n == 0) {
			if (out + 3 >= len)
				break;
			memcpy(dst + out, fffd, 3);
			out += 3;
			s += prefix;
			continue;
		}
		if (out + n >= len)
			break;
		memcpy(dst + out, s, n);
		out += n;
		s += n;
	}
	dst[out] = '\0';
	return out;
}

mca_rc
mca_json_parse_object(const char *text, size_t len, json_t **out, const char *what,
                      struct mca_error *err)
{
	json_error_t jerr;
	json_t *j;

	*out = NULL;
	j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL)
		return mca_error_set(err, MCA_ERR_INVAL, "%s: line %d: %s", what, jerr.line,
		                     jerr.text);
	if (!json_is_object(j)) {
		json_decref(j);
		return mca_error_set(err, MCA_ERR_INVAL, "%s: expected a JSON object", what);
	}
	*out = j;
	return MCA_OK;
}

int
mca_json_str_append(char *out, size_t cap, size_t *len, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = *len;
	unsigned char c;
	char esc;

	if (n >= cap)
		return 0;
	out[n++] = '"';
	for (; (c = (unsigned char)*s) != '\0'; s++) {
		esc = c == '"'    ? '"'
		      : c == '\\' ? '\\'
		      : c == '\b' ? 'b'
		      : c == '\f' ? 'f'
		      : c == '\n' ? 'n'
		      : c == '\r' ? 'r'
		      : c == '\t' ? 't'
		                  : 0;
		if (esc != 0) {
			if (cap - n < 2)
				return 0;
			out[n++] = '\\';
			out[n++] = esc;
		} else if (c < 0x20) {
			if (cap - n < 6)
				return 0;
			memcpy(out + n, "\\u00", 4);
			out[n + 4] = hex[c >> 4];
			out[n + 5] = hex[c & 15];
			n += 6;
		} else {
			if (cap - n < 1)
				return 0;
			out[n++] = (char)c;
		}
	}
	if (cap - n < 1)
		return 0;
	out[n++] = '"';
	*len = n;
	return 1;
}
