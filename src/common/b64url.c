/* b64url.c - unpadded, canonical base64url (RFC 4648 section 5). */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include "common/b64url.h"

const char mca_b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Unpadded base64url of `n` octets into `out` (4n/3 rounded up, plus NUL). */
static void
b64url_encode_into(const unsigned char *in, size_t n, char *out)
{
	size_t i, o = 0;
	unsigned v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
		out[o++] = mca_b64url_alphabet[v >> 18 & 63];
		out[o++] = mca_b64url_alphabet[v >> 12 & 63];
		out[o++] = mca_b64url_alphabet[v >> 6 & 63];
		out[o++] = mca_b64url_alphabet[v & 63];
	}
	if (n - i == 1) {
		v = (unsigned)in[i] << 16;
		out[o++] = mca_b64url_alphabet[v >> 18 & 63];
		out[o++] = mca_b64url_alphabet[v >> 12 & 63];
	} else if (n - i == 2) {
		v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
		out[o++] = mca_b64url_alphabet[v >> 18 & 63];
		out[o++] = mca_b64url_alphabet[v >> 12 & 63];
		out[o++] = mca_b64url_alphabet[v >> 6 & 63];
	}
	out[o] = '\0';
}

char *
mca_b64url_encode(const unsigned char *in, size_t len)
{
	char *out = NULL;
	size_t n;

	if (len > (SIZE_MAX - 5) / 4 * 3)
		return NULL;
	n = len / 3 * 4 + (len % 3 == 0 ? 0 : len % 3 + 1);
	out = malloc(n + 1);
	if (out != NULL)
		b64url_encode_into(in, len, out);
	return out;
}

/* Value of one base64url character, -1 for anything else (padding included). */
static int
b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/*
 * The bits left over after the last octet must be zero so that every
 * octet string has exactly one spelling (a signature cannot be varied
 * without breaking).
 */
int
mca_b64url_decode_ex(const char *in, size_t len, unsigned char **out, size_t *outlen)
{
	unsigned char *buf = NULL;
	size_t i, o = 0;
	unsigned v = 0;
	int c, bits = 0, ok = 0;

	*out = NULL;
	*outlen = 0;
	if ((in == NULL && len > 0) || len % 4 == 1)
		return 0;
	buf = malloc(len / 4 * 3 + (len % 4 == 0 ? 0 : len % 4 - 1) + 1);
	if (buf == NULL)
		return -1;
	for (i = 0; i < len; i++) {
		c = b64url_value((unsigned char)in[i]);
		if (c < 0)
			goto out;
		v = v << 6 | (unsigned)c;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (unsigned char)(v >> bits);
			v &= (1u << bits) - 1;
		}
	}
	if (v != 0)
		goto out;
	buf[o] = '\0';
	*out = buf;
	*outlen = o;
	buf = NULL;
	ok = 1;
out:
	free(buf);
	return ok;
}

int
mca_b64url_decode(const char *in, size_t len, unsigned char **out, size_t *outlen)
{
	return mca_b64url_decode_ex(in, len, out, outlen) == 1;
}
