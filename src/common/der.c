/* der.c - append-only DER encoding with in-place length fix-up. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/der.h"

/* Room reserved for a header at open: tag + 0x84 + 4 length octets. */
#define HDR_MAX 6

void
mca_der_init(struct mca_der *d)
{
	memset(d, 0, sizeof(*d));
}

void
mca_der_free(struct mca_der *d)
{
	free(d->buf);
	memset(d, 0, sizeof(*d));
}

static int
reserve(struct mca_der *d, size_t n)
{
	size_t cap;
	unsigned char *p;

	if (d->failed)
		return 0;
	if (n > SIZE_MAX / 4 - d->len) {
		d->failed = 1;
		return 0;
	}
	if (d->len + n <= d->cap)
		return 1;
	cap = d->cap ? d->cap : 256;
	while (cap < d->len + n)
		cap *= 2;
	p = realloc(d->buf, cap);
	if (p == NULL) {
		d->failed = 1;
		return 0;
	}
	d->buf = p;
	d->cap = cap;
	return 1;
}

void
mca_der_raw(struct mca_der *d, const void *p, size_t n)
{
	if (!reserve(d, n))
		return;
	if (n > 0)
		memcpy(d->buf + d->len, p, n);
	d->len += n;
}

/* Encode a header for `n` content octets into `h`; returns its length. */
static size_t
header(unsigned char *h, unsigned char tag, size_t n)
{
	size_t i, k = 0;

	h[0] = tag;
	if (n < 0x80) {
		h[1] = (unsigned char)n;
		return 2;
	}
	for (i = n; i > 0; i >>= 8)
		k++;
	h[1] = (unsigned char)(0x80 | k);
	for (i = 0; i < k; i++)
		h[2 + i] = (unsigned char)(n >> (8 * (k - 1 - i)));
	return 2 + k;
}

void
mca_der_tlv(struct mca_der *d, unsigned char tag, const void *p, size_t n)
{
	unsigned char h[HDR_MAX + 4];

	if (n > 0xffffffffu) {
		d->failed = 1;
		return;
	}
	mca_der_raw(d, h, header(h, tag, n));
	mca_der_raw(d, p, n);
}

void
mca_der_uint(struct mca_der *d, const unsigned char *be, size_t n)
{
	static const unsigned char zero = 0;

	while (n > 1 && be[0] == 0) {
		be++;
		n--;
	}
	if (n == 0) {
		mca_der_tlv(d, MCA_DER_INTEGER, &zero, 1);
		return;
	}
	if (be[0] & 0x80) {
		unsigned char h[HDR_MAX + 4];

		mca_der_raw(d, h, header(h, MCA_DER_INTEGER, n + 1));
		mca_der_raw(d, &zero, 1);
		mca_der_raw(d, be, n);
		return;
	}
	mca_der_tlv(d, MCA_DER_INTEGER, be, n);
}

void
mca_der_int64(struct mca_der *d, unsigned char tag, int64_t v)
{
	unsigned char be[9];
	size_t n = 0, i;
	uint64_t u = (uint64_t)v;

	if (v < 0) {
		d->failed = 1;
		return;
	}
	for (i = 0; i < 8; i++)
		be[i] = (unsigned char)(u >> (8 * (7 - i)));
	/* Minimal two's-complement form of a non-negative value. */
	while (n < 7 && be[n] == 0 && !(be[n + 1] & 0x80))
		n++;
	mca_der_tlv(d, tag, be + n, 8 - n);
}

size_t
mca_der_open(struct mca_der *d, unsigned char tag)
{
	size_t mark = d->len;

	if (reserve(d, HDR_MAX)) {
		d->buf[d->len] = tag;
		d->len += HDR_MAX;
	}
	return mark;
}

void
mca_der_close(struct mca_der *d, size_t mark)
{
	unsigned char h[HDR_MAX + 4];
	size_t content, hl;

	if (d->failed)
		return;
	content = d->len - mark - HDR_MAX;
	if (content > 0xffffffffu) {
		d->failed = 1;
		return;
	}
	hl = header(h, d->buf[mark], content);
	memmove(d->buf + mark + hl, d->buf + mark + HDR_MAX, content);
	memcpy(d->buf + mark, h, hl);
	d->len = mark + hl + content;
}

int
mca_der_next(const unsigned char **p, const unsigned char *end, unsigned *tag,
             const unsigned char **val, size_t *len)
{
	const unsigned char *q = *p;
	size_t n = 0, k;

	if (q >= end || end - q < 2 || (q[0] & 0x1f) == 0x1f)
		return 0;
	if (q[1] < 0x80) {
		n = q[1];
		q += 2;
	} else {
		k = q[1] & 0x7f;
		if (k == 0 || k > 4 || (size_t)(end - q) < 2 + k || q[2] == 0)
			return 0;
		for (q += 2; k > 0; k--)
			n = n << 8 | *q++;
		if (n < 0x80)
			return 0; /* not minimal */
	}
	if ((size_t)(end - q) < n)
		return 0;
	*tag = (*p)[0];
	*val = q;
	*len = n;
	*p = q + n;
	return 1;
}
