/*
 * test_der.c - the hand-written DER writer (common/der.h), encoder by
 * encoder: lengths at the short/long-form boundaries, minimal INTEGERs
 * (a 0x00 octet before a set high bit, a single 0x00 for zero),
 * ENUMERATED, BIT STRING, raw OIDs, nested constructed values whose
 * headers shrink at close, and the sticky failed flag.  Every encoding is
 * compared byte for byte with a known one and decoded again by OpenSSL
 * (ASN1_get_object and the d2i_* of the type), which must consume it
 * exactly and re-encode it to the same bytes.
 *
 * Times are not the DER writer's: they are encoded by pki/crl.c and tested
 * in tests/unit/pki/test_crl.c.
 */
#include "config.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/objects.h>

#include "common/der.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Huge requests below must fail as NULL from realloc, not abort the
 * sanitizer build (ASan reads this hook at start-up; unused otherwise).
 */
const char *__asan_default_options(void);
const char *
__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}

static void
hexdump(char *out, size_t outlen, const unsigned char *p, size_t n)
{
	size_t i, o = 0;

	out[0] = '\0';
	for (i = 0; i < n && o + 4 < outlen; i++)
		o += (size_t)snprintf(out + o, outlen - o, "%02x", p[i]);
	if (i < n && o + 4 < outlen)
		snprintf(out + o, outlen - o, "..");
}

/* d holds exactly `want` (n octets), with nothing failed. */
static void
assert_bytes(const struct mca_der *d, const unsigned char *want, size_t n)
{
	char got[200], exp[200];

	ck_assert_int_eq(d->failed, 0);
	hexdump(got, sizeof(got), d->buf, d->len);
	hexdump(exp, sizeof(exp), want, n);
	ck_assert_msg(d->len == n && memcmp(d->buf, want, n) == 0, "got %s (%zu octets), want %s",
	              got, d->len, exp);
}

/* OpenSSL reads one TLV whose identifier octet is `tag`, with `len` content octets spanning all of
 * p..p+n. */
static void
assert_tlv(const unsigned char *p, size_t n, int tag, int constructed, long len)
{
	const unsigned char *q = p;
	long l = 0;
	int t = 0, cls = 0, r;

	r = ASN1_get_object(&q, &l, &t, &cls, (long)n);
	ck_assert_msg(!(r & 0x80), "ASN1_get_object failed");
	ck_assert_int_eq(!!(r & V_ASN1_CONSTRUCTED), constructed);
	ck_assert_int_eq(t | cls | (constructed ? V_ASN1_CONSTRUCTED : 0), tag);
	ck_assert_int_eq(l, len);
	ck_assert_int_eq((long)(q - p) + l, (long)n);
}

/* ---- lengths: tlv and open/close, short form through 4-octet long form ---- */

static const struct {
	size_t n;
	unsigned char hdr[6]; /* after the tag */
	size_t hdr_len;
} lengths[] = {
    {0, {0x00}, 1},
    {1, {0x01}, 1},
    {127, {0x7f}, 1},
    {128, {0x81, 0x80}, 2},
    {255, {0x81, 0xff}, 2},
    {256, {0x82, 0x01, 0x00}, 3},
    {65535, {0x82, 0xff, 0xff}, 3},
    {65536, {0x83, 0x01, 0x00, 0x00}, 4},
    {16777215, {0x83, 0xff, 0xff, 0xff}, 4},
    {16777216, {0x84, 0x01, 0x00, 0x00, 0x00}, 5},
};

static unsigned char *
pattern(size_t n)
{
	unsigned char *p = malloc(n ? n : 1);
	size_t i;

	ck_assert_ptr_nonnull(p);
	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 7 + 3);
	return p;
}

static unsigned char *
expected_tlv(unsigned char tag, size_t i, const unsigned char *content, size_t *len)
{
	size_t n = lengths[i].n, hl = 1 + lengths[i].hdr_len;
	unsigned char *w = malloc(hl + n);

	ck_assert_ptr_nonnull(w);
	w[0] = tag;
	memcpy(w + 1, lengths[i].hdr, lengths[i].hdr_len);
	if (n > 0)
		memcpy(w + hl, content, n);
	*len = hl + n;
	return w;
}

START_TEST(tlv_lengths)
{
	struct mca_der d;
	size_t n = lengths[_i].n, wlen = 0;
	unsigned char *content = pattern(n),
	              *want = expected_tlv(MCA_DER_OCTETS, _i, content, &wlen);
	const unsigned char *q;
	ASN1_OCTET_STRING *os;

	mca_der_init(&d);
	mca_der_tlv(&d, MCA_DER_OCTETS, content, n);
	assert_bytes(&d, want, wlen);
	assert_tlv(d.buf, d.len, 0x04, 0, (long)n);
	q = d.buf;
	os = d2i_ASN1_OCTET_STRING(NULL, &q, (long)d.len);
	ck_assert_ptr_nonnull(os);
	ck_assert_ptr_eq(q, d.buf + d.len);
	ck_assert_int_eq(ASN1_STRING_length(os), (int)n);
	ck_assert_int_eq(memcmp(ASN1_STRING_get0_data(os), content, n), 0);
	ASN1_OCTET_STRING_free(os);
	mca_der_free(&d);
	ck_assert_ptr_null(d.buf);
	ck_assert_uint_eq(d.len, 0);
	free(want);
	free(content);
}
END_TEST

/* The same lengths through open/close: the 6 reserved octets shrink to the real header. */
START_TEST(open_close_lengths)
{
	static const unsigned char tags[] = {MCA_DER_SEQUENCE, MCA_DER_OCTETS};
	size_t n = lengths[_i].n, wlen = 0, mark, t;
	unsigned char *content = pattern(n), *want;
	struct mca_der d;

	for (t = 0; t < NELEM(tags); t++) {
		want = expected_tlv(tags[t], _i, content, &wlen);
		mca_der_init(&d);
		mark = mca_der_open(&d, tags[t]);
		ck_assert_uint_eq(mark, 0);
		mca_der_raw(&d, content, n);
		mca_der_close(&d, mark);
		assert_bytes(&d, want, wlen);
		assert_tlv(d.buf, d.len, tags[t], tags[t] == MCA_DER_SEQUENCE, (long)n);
		mca_der_free(&d);
		free(want);
	}
	free(content);
}
END_TEST

/* ---- INTEGER from an unsigned magnitude ---- */

static const struct {
	unsigned char in[24];
	size_t in_len;
	unsigned char out[26];
	size_t out_len;
} uints[] = {
    {{0}, 0, {0x02, 0x01, 0x00}, 3}, /* empty magnitude is zero */
    {{0x00}, 1, {0x02, 0x01, 0x00}, 3},
    {{0x00, 0x00, 0x00}, 3, {0x02, 0x01, 0x00}, 3},
    {{0x01}, 1, {0x02, 0x01, 0x01}, 3},
    {{0x7f}, 1, {0x02, 0x01, 0x7f}, 3},
    {{0x80}, 1, {0x02, 0x02, 0x00, 0x80}, 4},
    {{0xff}, 1, {0x02, 0x02, 0x00, 0xff}, 4},
    {{0x00, 0x80}, 2, {0x02, 0x02, 0x00, 0x80}, 4},
    {{0x00, 0x00, 0x7f}, 3, {0x02, 0x01, 0x7f}, 3},
    {{0x00, 0x00, 0x01, 0x00}, 4, {0x02, 0x02, 0x01, 0x00}, 4},
    {{0x01, 0x00}, 2, {0x02, 0x02, 0x01, 0x00}, 4},
    {{0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x01},
     16,
     {0x02, 0x11, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x01},
     19},
    {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
     20,
     {0x02, 0x15, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
     23},
    {{0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
     20,
     {0x02, 0x14, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
     22},
};

/* OpenSSL decodes `der` as a non-negative INTEGER equal to the magnitude be/n. */
static void
assert_openssl_uint(const unsigned char *der, size_t der_len, const unsigned char *be, size_t n)
{
	const unsigned char *q = der;
	ASN1_INTEGER *ai = d2i_ASN1_INTEGER(NULL, &q, (long)der_len);
	BIGNUM *got = NULL, *want = BN_bin2bn(be, (int)n, NULL);
	unsigned char *re = NULL;
	int re_len;

	ck_assert_ptr_nonnull(ai);
	ck_assert_ptr_eq(q, der + der_len);
	ck_assert_int_eq(ASN1_STRING_type(ai), V_ASN1_INTEGER); /* not V_ASN1_NEG_INTEGER */
	got = ASN1_INTEGER_to_BN(ai, NULL);
	ck_assert_ptr_nonnull(got);
	ck_assert_ptr_nonnull(want);
	ck_assert_int_eq(BN_cmp(got, want), 0);
	/* OpenSSL's own DER of the value is ours */
	re_len = i2d_ASN1_INTEGER(ai, &re);
	ck_assert_int_eq(re_len, (int)der_len);
	ck_assert_int_eq(memcmp(re, der, der_len), 0);
	OPENSSL_free(re);
	BN_free(got);
	BN_free(want);
	ASN1_INTEGER_free(ai);
}

START_TEST(uint_minimal)
{
	struct mca_der d;

	mca_der_init(&d);
	mca_der_uint(&d, uints[_i].in, uints[_i].in_len);
	assert_bytes(&d, uints[_i].out, uints[_i].out_len);
	assert_openssl_uint(d.buf, d.len, uints[_i].in, uints[_i].in_len);
	mca_der_free(&d);
}
END_TEST

/* The 0x00 pad makes the content cross the short/long boundary: 127 octets + pad = 128. */
START_TEST(uint_pad_crosses_long_form)
{
	static const size_t sizes[] = {126, 127, 128, 254, 255};
	unsigned char be[256], *want;
	struct mca_der d;
	size_t i, n, content, hl;

	for (i = 0; i < NELEM(sizes); i++) {
		n = sizes[i];
		memset(be, 0xa5, n); /* high bit set: one pad octet */
		content = n + 1;
		want = malloc(content + 4);
		ck_assert_ptr_nonnull(want);
		want[0] = 0x02;
		if (content < 128) {
			want[1] = (unsigned char)content;
			hl = 2;
		} else if (content < 256) {
			want[1] = 0x81;
			want[2] = (unsigned char)content;
			hl = 3;
		} else {
			want[1] = 0x82;
			want[2] = (unsigned char)(content >> 8);
			want[3] = (unsigned char)content;
			hl = 4;
		}
		want[hl] = 0x00;
		memcpy(want + hl + 1, be, n);
		mca_der_init(&d);
		mca_der_uint(&d, be, n);
		assert_bytes(&d, want, hl + content);
		assert_openssl_uint(d.buf, d.len, be, n);
		mca_der_free(&d);
		free(want);
	}
}
END_TEST

/* ---- INTEGER and ENUMERATED from an int64 ---- */

static const struct {
	int64_t v;
	unsigned char content[9];
	size_t len;
} int64s[] = {
    {0, {0x00}, 1},
    {1, {0x01}, 1},
    {127, {0x7f}, 1},
    {128, {0x00, 0x80}, 2},
    {255, {0x00, 0xff}, 2},
    {256, {0x01, 0x00}, 2},
    {32767, {0x7f, 0xff}, 2},
    {32768, {0x00, 0x80, 0x00}, 3},
    {65535, {0x00, 0xff, 0xff}, 3},
    {65536, {0x01, 0x00, 0x00}, 3},
    {INT64_C(0x0080000000000000), {0x00, 0x80, 0, 0, 0, 0, 0, 0}, 8},
    {INT64_C(0x0100000000000000), {0x01, 0, 0, 0, 0, 0, 0, 0}, 8},
    {INT64_MAX, {0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 8},
};

START_TEST(int64_minimal)
{
	static const unsigned char tags[] = {MCA_DER_INTEGER, MCA_DER_ENUMERATED};
	unsigned char want[16];
	const unsigned char *q;
	struct mca_der d;
	int64_t got = -1;
	size_t t, n = int64s[_i].len;

	for (t = 0; t < NELEM(tags); t++) {
		want[0] = tags[t];
		want[1] = (unsigned char)n;
		memcpy(want + 2, int64s[_i].content, n);
		mca_der_init(&d);
		mca_der_int64(&d, tags[t], int64s[_i].v);
		assert_bytes(&d, want, n + 2);
		q = d.buf;
		if (tags[t] == MCA_DER_INTEGER) {
			ASN1_INTEGER *ai = d2i_ASN1_INTEGER(NULL, &q, (long)d.len);

			ck_assert_ptr_nonnull(ai);
			ck_assert_int_eq(ASN1_INTEGER_get_int64(&got, ai), 1);
			ASN1_INTEGER_free(ai);
		} else {
			ASN1_ENUMERATED *ae = d2i_ASN1_ENUMERATED(NULL, &q, (long)d.len);

			ck_assert_ptr_nonnull(ae);
			ck_assert_int_eq(ASN1_ENUMERATED_get_int64(&got, ae), 1);
			ASN1_ENUMERATED_free(ae);
		}
		ck_assert_ptr_eq(q, d.buf + d.len);
		ck_assert_int_eq(got, int64s[_i].v);
		mca_der_free(&d);
	}
}
END_TEST

/* Negative values are not ours to encode: nothing is appended and the writer fails. */
START_TEST(int64_negative_fails)
{
	static const int64_t bad[] = {-1, -128, INT64_MIN};
	static const unsigned char one[] = {0x02, 0x01, 0x01};
	struct mca_der d;
	size_t i;

	for (i = 0; i < NELEM(bad); i++) {
		mca_der_init(&d);
		mca_der_int64(&d, MCA_DER_INTEGER, 1);
		assert_bytes(&d, one, sizeof(one));
		mca_der_int64(&d, MCA_DER_INTEGER, bad[i]);
		ck_assert_int_eq(d.failed, 1);
		ck_assert_uint_eq(d.len, sizeof(one));
		mca_der_free(&d);
	}
}
END_TEST

/* ---- BIT STRING, OID, OCTET STRING primitives ---- */

START_TEST(bit_string)
{
	/* as the signer wraps a signature: open, unused-bits octet, raw, close */
	static const unsigned char sig[] = {0xde, 0xad, 0xbe, 0xef};
	static const unsigned char want[] = {0x03, 0x05, 0x00, 0xde, 0xad, 0xbe, 0xef};
	/* a KeyUsage-like value with 5 unused bits: bits 0 and 2 set */
	static const unsigned char ku[] = {0x05, 0xa0};
	static const unsigned char want_ku[] = {0x03, 0x02, 0x05, 0xa0};
	static const unsigned char zero = 0;
	const unsigned char *q;
	ASN1_BIT_STRING *bs;
	struct mca_der d;
	size_t mark;

	mca_der_init(&d);
	mark = mca_der_open(&d, MCA_DER_BITSTRING);
	mca_der_raw(&d, &zero, 1);
	mca_der_raw(&d, sig, sizeof(sig));
	mca_der_close(&d, mark);
	assert_bytes(&d, want, sizeof(want));
	q = d.buf;
	bs = d2i_ASN1_BIT_STRING(NULL, &q, (long)d.len);
	ck_assert_ptr_nonnull(bs);
	ck_assert_ptr_eq(q, d.buf + d.len);
	ck_assert_int_eq(ASN1_STRING_length(bs), (int)sizeof(sig));
	ck_assert_int_eq(memcmp(ASN1_STRING_get0_data(bs), sig, sizeof(sig)), 0);
	ASN1_BIT_STRING_free(bs);
	mca_der_free(&d);

	mca_der_init(&d);
	mca_der_tlv(&d, MCA_DER_BITSTRING, ku, sizeof(ku));
	assert_bytes(&d, want_ku, sizeof(want_ku));
	q = d.buf;
	bs = d2i_ASN1_BIT_STRING(NULL, &q, (long)d.len);
	ck_assert_ptr_nonnull(bs);
	ck_assert_int_eq(ASN1_BIT_STRING_get_bit(bs, 0), 1);
	ck_assert_int_eq(ASN1_BIT_STRING_get_bit(bs, 1), 0);
	ck_assert_int_eq(ASN1_BIT_STRING_get_bit(bs, 2), 1);
	ck_assert_int_eq(ASN1_BIT_STRING_get_bit(bs, 3), 0);
	ASN1_BIT_STRING_free(bs);
	mca_der_free(&d);
}
END_TEST

static const struct {
	unsigned char oid[10];
	size_t len;
	int nid;
} oids[] = {
    {{0x55, 0x1d, 0x23}, 3, NID_authority_key_identifier},
    {{0x55, 0x1d, 0x14}, 3, NID_crl_number},
    {{0x55, 0x1d, 0x15}, 3, NID_crl_reason},
    {{0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02}, 8, NID_ecdsa_with_SHA256},
    {{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b}, 9, NID_sha256WithRSAEncryption},
    {{0x2b, 0x65, 0x70}, 3, NID_ED25519},
};

START_TEST(oid_raw)
{
	unsigned char want[16];
	const unsigned char *q;
	ASN1_OBJECT *o;
	struct mca_der d;
	size_t n = oids[_i].len;

	want[0] = 0x06;
	want[1] = (unsigned char)n;
	memcpy(want + 2, oids[_i].oid, n);
	mca_der_init(&d);
	mca_der_tlv(&d, MCA_DER_OID, oids[_i].oid, n);
	assert_bytes(&d, want, n + 2);
	q = d.buf;
	o = d2i_ASN1_OBJECT(NULL, &q, (long)d.len);
	ck_assert_ptr_nonnull(o);
	ck_assert_ptr_eq(q, d.buf + d.len);
	ck_assert_int_eq(OBJ_obj2nid(o), oids[_i].nid);
	ASN1_OBJECT_free(o);
	/* pre-encoded DER goes through raw untouched, after what is there */
	mca_der_raw(&d, want, n + 2);
	ck_assert_uint_eq(d.len, 2 * (n + 2));
	ck_assert_int_eq(memcmp(d.buf + n + 2, want, n + 2), 0);
	mca_der_free(&d);
}
END_TEST

/* ---- nesting ---- */

/* SEQUENCE { INTEGER 1, SEQUENCE { OCTET STRING { INTEGER 5 } }, [0] {}, [0] prim 'ab' } */
START_TEST(nested_small)
{
	static const unsigned char want[] = {0x30, 0x0f, 0x02, 0x01, 0x01, 0x30, 0x05, 0x04, 0x03,
	                                     0x02, 0x01, 0x05, 0xa0, 0x00, 0x80, 0x01, 0xab};
	static const unsigned char ab = 0xab;
	struct mca_der d;
	size_t outer, seq, oct, ctx;
	const unsigned char *q;
	long l;
	int t, c;

	mca_der_init(&d);
	outer = mca_der_open(&d, MCA_DER_SEQUENCE);
	mca_der_int64(&d, MCA_DER_INTEGER, 1);
	seq = mca_der_open(&d, MCA_DER_SEQUENCE);
	oct = mca_der_open(&d, MCA_DER_OCTETS);
	mca_der_int64(&d, MCA_DER_INTEGER, 5);
	mca_der_close(&d, oct);
	mca_der_close(&d, seq);
	ctx = mca_der_open(&d, MCA_DER_CTX0);
	mca_der_close(&d, ctx);
	mca_der_tlv(&d, MCA_DER_CTX0_PRIM, &ab, 1);
	mca_der_close(&d, outer);
	assert_bytes(&d, want, sizeof(want));

	/* OpenSSL walks it the same way */
	assert_tlv(d.buf, d.len, 0x30, 1, 15);
	q = d.buf + 2;
	ck_assert_int_eq(ASN1_get_object(&q, &l, &t, &c, 15) & 0x80, 0);
	ck_assert_int_eq(t, V_ASN1_INTEGER);
	q += l;
	ck_assert_int_eq(ASN1_get_object(&q, &l, &t, &c, 12), V_ASN1_CONSTRUCTED);
	ck_assert_int_eq(t, V_ASN1_SEQUENCE);
	ck_assert_int_eq(l, 5);
	q += l;
	ck_assert_int_eq(ASN1_get_object(&q, &l, &t, &c, 5), V_ASN1_CONSTRUCTED);
	ck_assert_int_eq(c, V_ASN1_CONTEXT_SPECIFIC);
	ck_assert_int_eq(t, 0);
	ck_assert_int_eq(l, 0);
	ck_assert_int_eq(ASN1_get_object(&q, &l, &t, &c, 3), 0);
	ck_assert_int_eq(c, V_ASN1_CONTEXT_SPECIFIC);
	ck_assert_int_eq(l, 1);
	ck_assert_ptr_eq(q + l, d.buf + d.len);
	mca_der_free(&d);
}
END_TEST

/*
 * Three levels whose headers end up 4, 3 and 2 octets long: each close
 * moves the content already fixed up by the inner closes.
 */
START_TEST(nested_shrinking_headers)
{
	unsigned char *content = pattern(300), *want;
	struct mca_der d;
	size_t a, b, c, wlen, i = 0;

	/* innermost: OCTET STRING of 300 -> 04 82 01 2c; then SEQ of 304 -> 30 82 01 30;
	 * outermost SEQ of 1 + 308 = 309... plus INTEGER 7 (3 octets) = 311 -> 30 82 01 37 */
	wlen = 4 + 3 + 4 + 4 + 300;
	want = malloc(wlen);
	ck_assert_ptr_nonnull(want);
	memcpy(want + i, "\x30\x82\x01\x37", 4);
	i += 4;
	memcpy(want + i, "\x02\x01\x07", 3);
	i += 3;
	memcpy(want + i, "\x30\x82\x01\x30", 4);
	i += 4;
	memcpy(want + i, "\x04\x82\x01\x2c", 4);
	i += 4;
	memcpy(want + i, content, 300);

	mca_der_init(&d);
	a = mca_der_open(&d, MCA_DER_SEQUENCE);
	mca_der_int64(&d, MCA_DER_INTEGER, 7);
	b = mca_der_open(&d, MCA_DER_SEQUENCE);
	c = mca_der_open(&d, MCA_DER_OCTETS);
	mca_der_raw(&d, content, 300);
	mca_der_close(&d, c);
	mca_der_close(&d, b);
	mca_der_close(&d, a);
	assert_bytes(&d, want, wlen);
	assert_tlv(d.buf, d.len, 0x30, 1, 311);
	assert_tlv(d.buf + 7, d.len - 7, 0x30, 1, 304);
	assert_tlv(d.buf + 11, d.len - 11, 0x04, 0, 300);
	mca_der_free(&d);
	free(want);
	free(content);
}
END_TEST

/* Many siblings in one constructed value, as a CRL's revokedCertificates: grows the buffer. */
START_TEST(nested_many_siblings)
{
	struct mca_der d;
	size_t list, ent, i, n = 5000;
	const unsigned char *q;
	long l;
	int t, c;

	mca_der_init(&d);
	list = mca_der_open(&d, MCA_DER_SEQUENCE);
	for (i = 0; i < n; i++) {
		ent = mca_der_open(&d, MCA_DER_SEQUENCE);
		mca_der_int64(&d, MCA_DER_INTEGER, (int64_t)i);
		mca_der_close(&d, ent);
	}
	mca_der_close(&d, list);
	ck_assert_int_eq(d.failed, 0);
	/* 0..127: 5 octets; 128..32767: 6 octets */
	assert_tlv(d.buf, d.len, 0x30, 1, (long)(128 * 5 + (n - 128) * 6));
	q = d.buf + 4;
	for (i = 0; i < n; i++) {
		int64_t v = -1;
		const unsigned char *start;
		ASN1_INTEGER *ai;

		ck_assert_int_eq(ASN1_get_object(&q, &l, &t, &c, (long)(d.buf + d.len - q)),
		                 V_ASN1_CONSTRUCTED);
		start = q;
		ai = d2i_ASN1_INTEGER(NULL, &q, l);
		ck_assert_ptr_nonnull(ai);
		ck_assert_ptr_eq(q, start + l);
		ck_assert_int_eq(ASN1_INTEGER_get_int64(&v, ai), 1);
		ck_assert_int_eq(v, (int64_t)i);
		ASN1_INTEGER_free(ai);
	}
	ck_assert_ptr_eq(q, d.buf + d.len);
	mca_der_free(&d);
}
END_TEST

/* ---- the failed flag ---- */

/* Append 30 03 02 01 01 (a sequence holding INTEGER 1) to d and check it is all there is. */
static void
start_known(struct mca_der *d)
{
	static const unsigned char want[] = {0x30, 0x03, 0x02, 0x01, 0x01};
	size_t m;

	mca_der_init(d);
	m = mca_der_open(d, MCA_DER_SEQUENCE);
	mca_der_int64(d, MCA_DER_INTEGER, 1);
	mca_der_close(d, m);
	assert_bytes(d, want, sizeof(want));
}

/* Once failed, every call is a no-op and the bytes written so far stay as they were. */
static void
assert_sticky(struct mca_der *d)
{
	static const unsigned char want[] = {0x30, 0x03, 0x02, 0x01, 0x01};
	static const unsigned char x = 0x42;
	size_t m;

	ck_assert_int_eq(d->failed, 1);
	ck_assert_uint_eq(d->len, sizeof(want));
	mca_der_raw(d, &x, 1);
	mca_der_tlv(d, MCA_DER_OCTETS, &x, 1);
	mca_der_uint(d, &x, 1);
	mca_der_int64(d, MCA_DER_INTEGER, 1);
	m = mca_der_open(d, MCA_DER_SEQUENCE);
	mca_der_raw(d, &x, 1);
	mca_der_close(d, m);
	ck_assert_int_eq(d->failed, 1);
	ck_assert_uint_eq(d->len, sizeof(want));
	ck_assert_int_eq(memcmp(d->buf, want, sizeof(want)), 0);
	mca_der_free(d);
	ck_assert_ptr_null(d->buf);
	ck_assert_int_eq(d->failed, 0);
}

/* A length that would overflow the size arithmetic: refused before any allocation. */
START_TEST(failed_length_overflow)
{
	static const unsigned char x = 0;
	struct mca_der d;

	start_known(&d);
	mca_der_raw(&d, &x, SIZE_MAX / 4);
	assert_sticky(&d);
}
END_TEST

/* An allocation that fails (realloc returns NULL for 2^61 octets). */
START_TEST(failed_allocation)
{
	static const unsigned char x = 0;
	struct mca_der d;

	start_known(&d);
	mca_der_raw(&d, &x, SIZE_MAX / 8);
	assert_sticky(&d);

	/* a header reserved by open that cannot be had */
	start_known(&d);
	d.len = SIZE_MAX / 8; /* pretend: the header's room cannot be allocated */
	(void)mca_der_open(&d, MCA_DER_SEQUENCE);
	ck_assert_int_eq(d.failed, 1);
	d.len = 5;
	assert_sticky(&d);
}
END_TEST

/* A primitive over 4 GiB cannot have its length written in our header. */
START_TEST(failed_tlv_too_long)
{
	static const unsigned char x = 0;
	struct mca_der d;

	if (sizeof(size_t) <= 4)
		return;
	start_known(&d);
	mca_der_tlv(&d, MCA_DER_OCTETS, &x, (size_t)UINT32_MAX + 1);
	assert_sticky(&d);
}
END_TEST

START_TEST(free_twice)
{
	struct mca_der d;

	mca_der_init(&d);
	ck_assert_ptr_null(d.buf);
	ck_assert_uint_eq(d.len, 0);
	ck_assert_int_eq(d.failed, 0);
	mca_der_free(&d); /* nothing taken */
	start_known(&d);
	mca_der_free(&d);
	mca_der_free(&d);
	ck_assert_ptr_null(d.buf);
}
END_TEST

static Suite *
der_suite(void)
{
	Suite *s = suite_create("der");
	TCase *tc;

	tc = tcase_create("lengths");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, tlv_lengths, 0, NELEM(lengths));
	tcase_add_loop_test(tc, open_close_lengths, 0, NELEM(lengths));
	suite_add_tcase(s, tc);

	tc = tcase_create("integers");
	tcase_add_loop_test(tc, uint_minimal, 0, NELEM(uints));
	tcase_add_test(tc, uint_pad_crosses_long_form);
	tcase_add_loop_test(tc, int64_minimal, 0, NELEM(int64s));
	tcase_add_test(tc, int64_negative_fails);
	suite_add_tcase(s, tc);

	tc = tcase_create("primitives");
	tcase_add_test(tc, bit_string);
	tcase_add_loop_test(tc, oid_raw, 0, NELEM(oids));
	suite_add_tcase(s, tc);

	tc = tcase_create("nesting");
	tcase_add_test(tc, nested_small);
	tcase_add_test(tc, nested_shrinking_headers);
	tcase_add_test(tc, nested_many_siblings);
	suite_add_tcase(s, tc);

	tc = tcase_create("failed");
	tcase_add_test(tc, failed_length_overflow);
	tcase_add_test(tc, failed_allocation);
	tcase_add_test(tc, failed_tlv_too_long);
	tcase_add_test(tc, free_twice);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(der_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
