/* p11uri.c - parsing and writing PKCS#11 URIs (RFC 7512), see p11uri.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signer/p11uri.h"

#define SCHEME "pkcs11:"

int
mca_p11uri_is(const char *s)
{
	return s != NULL && strncmp(s, SCHEME, sizeof(SCHEME) - 1) == 0;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Percent-decode [v, v+len) into out (room for `max` octets).  Returns the
 * decoded length, -1 for bad percent-encoding, -3 for a character that
 * must be percent-encoded, -2 when longer than max.
 */
static long
decode(const char *v, size_t len, unsigned char *out, size_t max)
{
	size_t i, n = 0;
	int hi, lo;
	unsigned char c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)v[i];
		if (c == '%') {
			if (i + 2 >= len)
				return -1;
			hi = hexval(v[i + 1]);
			lo = hi < 0 ? -1 : hexval(v[i + 2]);
			if (lo < 0)
				return -1;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		} else if (c <= 0x20 || c >= 0x7f || c == '"' || c == '<' || c == '>' ||
		           c == '\\' || c == '^' || c == '`' || c == '{' || c == '}' || c == '#') {
			return -3;
		}
		if (n >= max)
			return -2;
		out[n++] = c;
	}
	return (long)n;
}

struct attr {
	const char *name;
	int query; /* 1: after '?' */
	size_t off, max;
	int binary; /* id: octets, else a NUL-terminated string without NUL inside */
};

#define A(n, q, field, bin)                                                                        \
	{                                                                                          \
		n, q, offsetof(struct mca_p11uri, field),                                          \
		    sizeof(((struct mca_p11uri *)0)->field) - !(bin), bin                          \
	}
static const struct attr attrs[] = {
    A("token", 0, token, 0),
    A("manufacturer", 0, manufacturer, 0),
    A("model", 0, model, 0),
    A("serial", 0, serial, 0),
    A("object", 0, object, 0),
    A("id", 0, id, 1),
    A("module-path", 1, module_path, 0),
    A("pin-source", 1, pin_source, 0),
};
#undef A

static mca_rc
set_type(struct mca_p11uri *u, const unsigned char *v, size_t len, struct mca_error *err)
{
	static const struct {
		const char *name;
		enum mca_p11uri_type t;
	} types[] = {
	    {"private", MCA_P11URI_PRIVATE}, {"public", MCA_P11URI_PUBLIC},
	    {"cert", MCA_P11URI_CERT},       {"secret-key", MCA_P11URI_SECRET},
	    {"data", MCA_P11URI_DATA},
	};
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strlen(types[i].name) == len && memcmp(types[i].name, v, len) == 0) {
			u->type = types[i].t;
			return MCA_OK;
		}
	return mca_error_set(err, MCA_ERR_CONFIG,
	                     "pkcs11 URI: attribute 'type': not private, public, cert, "
	                     "secret-key or data");
}

/* One "name=value" of the path (query 0) or the query (1). */
static mca_rc
one_attr(struct mca_p11uri *u, const char *s, size_t len, int query, unsigned *seen,
         struct mca_error *err)
{
	const char *eq = memchr(s, '=', len);
	size_t nlen, i;
	unsigned char buf[1024];
	long n;
	const struct attr *a = NULL;

	if (eq == NULL || eq == s)
		return mca_error_set(err, MCA_ERR_CONFIG, "pkcs11 URI: '%.*s' is not name=value",
		                     (int)(len > 32 ? 32 : len), s);
	nlen = (size_t)(eq - s);
	if (!query && nlen == 4 && memcmp(s, "type", 4) == 0) {
		if (*seen & 1u << 31)
			return mca_error_set(err, MCA_ERR_CONFIG,
			                     "pkcs11 URI: attribute 'type' twice");
		*seen |= 1u << 31;
		n = decode(eq + 1, len - nlen - 1, buf, sizeof(buf));
		if (n < 0)
			n = 0; /* no type is spelled so: refused below */
		return set_type(u, buf, (size_t)n, err);
	}
	if (query && nlen == 9 && memcmp(s, "pin-value", 9) == 0)
		return mca_error_set(err, MCA_ERR_CONFIG,
		                     "pkcs11 URI: a PIN in the URI (pin-value) is refused: use "
		                     "pkcs11_pin_file");
	for (i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++)
		if (attrs[i].query == query && strlen(attrs[i].name) == nlen &&
		    memcmp(attrs[i].name, s, nlen) == 0)
			a = &attrs[i];
	if (a == NULL)
		return mca_error_set(err, MCA_ERR_CONFIG, "pkcs11 URI: unknown %sattribute '%.*s'",
		                     query ? "query " : "", (int)(nlen > 32 ? 32 : nlen), s);
	i = (size_t)(a - attrs);
	if (*seen & 1u << i)
		return mca_error_set(err, MCA_ERR_CONFIG, "pkcs11 URI: attribute '%s' twice",
		                     a->name);
	*seen |= 1u << i;
	n = decode(eq + 1, len - nlen - 1, buf, a->max < sizeof(buf) ? a->max : sizeof(buf));
	if (n == -1)
		return mca_error_set(err, MCA_ERR_CONFIG,
		                     "pkcs11 URI: attribute '%s': bad percent-encoding", a->name);
	if (n == -2)
		return mca_error_set(err, MCA_ERR_CONFIG,
		                     "pkcs11 URI: attribute '%s': longer than %zu octets", a->name,
		                     a->max);
	if (n == -3)
		return mca_error_set(err, MCA_ERR_CONFIG,
		                     "pkcs11 URI: attribute '%s': a character that must be "
		                     "percent-encoded (space, quote, non-ASCII, ...)",
		                     a->name);
	if (n == 0)
		return mca_error_set(err, MCA_ERR_CONFIG, "pkcs11 URI: attribute '%s': empty",
		                     a->name);
	if (a->binary) {
		memcpy((char *)u + a->off, buf, (size_t)n);
		u->id_len = (size_t)n;
		u->has_id = 1;
		return MCA_OK;
	}
	if (memchr(buf, '\0', (size_t)n) != NULL)
		return mca_error_set(err, MCA_ERR_CONFIG,
		                     "pkcs11 URI: attribute '%s': a NUL octet inside", a->name);
	memcpy((char *)u + a->off, buf, (size_t)n);
	((char *)u + a->off)[n] = '\0';
	return MCA_OK;
}

mca_rc
mca_p11uri_parse(const char *s, struct mca_p11uri *u, struct mca_error *err)
{
	const char *p, *end, *q, *next;
	unsigned seen = 0;
	int query = 0;
	size_t len;
	mca_rc rc;

	memset(u, 0, sizeof(*u));
	if (!mca_p11uri_is(s))
		return mca_error_set(err, MCA_ERR_CONFIG,
		                     "pkcs11 URI: does not start with 'pkcs11:'");
	len = strlen(s);
	if (len > MCA_P11URI_MAX)
		return mca_error_set(err, MCA_ERR_CONFIG, "pkcs11 URI: longer than %d octets",
		                     MCA_P11URI_MAX);
	p = s + sizeof(SCHEME) - 1;
	end = s + len;
	q = strchr(p, '?');
	if (q == NULL)
		q = end;
	while (p < end) {
		if (p == q) { /* the query starts */
			query = 1;
			p++;
			continue;
		}
		/* path attributes end at ';' or '?', query attributes at '&' */
		for (next = p; next < end && (query ? *next != '&' : *next != ';' && next != q);
		     next++)
			;
		if (next == p) {
			if (next == end)
				break;
			return mca_error_set(err, MCA_ERR_CONFIG, "pkcs11 URI: empty attribute");
		}
		if ((rc = one_attr(u, p, (size_t)(next - p), query, &seen, err)) != MCA_OK)
			return rc;
		p = next;
		if (p < end && p != q)
			p++; /* the ';' or '&' */
	}
	return MCA_OK;
}

/*
 * Percent-encode everything but RFC 3986 unreserved characters (`all`:
 * every octet, as ids are written).
 */
static int
encode(FILE *f, const unsigned char *v, size_t len, int all)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		if (!all && ((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z') ||
		             (v[i] >= '0' && v[i] <= '9') || v[i] == '-' || v[i] == '.' ||
		             v[i] == '_' || v[i] == '~')) {
			if (fputc(v[i], f) == EOF)
				return -1;
		} else if (fprintf(f, "%%%c%c", hex[v[i] >> 4], hex[v[i] & 15]) < 0)
			return -1;
	}
	return 0;
}

mca_rc
mca_p11uri_format(const char *token, const char *object, const unsigned char *id, size_t id_len,
                  char **out, struct mca_error *err)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f;
	int bad;

	*out = NULL;
	f = open_memstream(&buf, &size);
	if (f == NULL)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	bad = fputs(SCHEME "token=", f) == EOF ||
	      encode(f, (const unsigned char *)token, strlen(token), 0) != 0;
	if (!bad && object != NULL)
		bad = fputs(";object=", f) == EOF ||
		      encode(f, (const unsigned char *)object, strlen(object), 0) != 0;
	if (!bad && id != NULL && id_len > 0)
		bad = fputs(";id=", f) == EOF || encode(f, id, id_len, 1) != 0;
	if (!bad)
		bad = fputs(";type=private", f) == EOF;
	if (fclose(f) != 0 || bad) {
		free(buf);
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	}
	*out = buf;
	return MCA_OK;
}
