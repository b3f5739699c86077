/*
 * test_serial.c - unit tests of serial.h: the shape and randomness of
 * generated serials, ASN1_INTEGER conversion in both directions, and the
 * canonicalisation of serials typed by users.
 */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>
#include <openssl/asn1.h>
#include <openssl/bn.h>

#include "pki/serial.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Lower-case hex of `len` octets, written independently of the library. */
static void
hex_of(const unsigned char *raw, size_t len, char *out)
{
	size_t i;

	for (i = 0; i < len; i++)
		sprintf(out + 2 * i, "%02x", raw[i]);
	out[2 * len] = '\0';
}

/* Whether `s` is made only of lower-case hex digits. */
static int
is_lower_hex(const char *s)
{
	for (; *s != '\0'; s++)
		if (!isdigit((unsigned char)*s) && !(*s >= 'a' && *s <= 'f'))
			return 0;
	return 1;
}

/*
 * One generated serial has the documented shape: first octet 0x10..0x7f,
 * a positive ASN1_INTEGER whose DER content is exactly 16 (<= 20) octets,
 * and 32 lower-case hex digits with no leading zero.  Repeated.
 */
START_TEST(test_generate_shape)
{
	struct mca_error err = {0};
	unsigned char raw[MCA_SERIAL_LEN], *der = NULL, *p;
	char hex[MCA_SERIAL_HEX_MAX], want[2 * MCA_SERIAL_LEN + 1];
	ASN1_INTEGER *ai;
	BIGNUM *bn;
	int i, len;

	for (i = 0; i < 200; i++) {
		ck_assert_int_eq(mca_serial_generate(raw, &err), MCA_OK);
		ck_assert_msg(raw[0] >= 0x10 && raw[0] <= 0x7f, "first octet 0x%02x", raw[0]);

		ai = mca_serial_to_asn1(raw, sizeof(raw));
		ck_assert_ptr_nonnull(ai);
		ck_assert_int_eq(ASN1_STRING_type(ai), V_ASN1_INTEGER); /* not V_ASN1_NEG_INTEGER */
		bn = ASN1_INTEGER_to_BN(ai, NULL);
		ck_assert_ptr_nonnull(bn);
		ck_assert(!BN_is_negative(bn) && !BN_is_zero(bn));
		ck_assert_int_eq(BN_num_bytes(bn), MCA_SERIAL_LEN);
		BN_free(bn);

		der = NULL;
		len = i2d_ASN1_INTEGER(ai, &der);
		ck_assert_int_gt(len, 2);
		p = der;
		ck_assert_int_eq(p[0], 0x02); /* INTEGER tag */
		ck_assert_int_le(p[1], 20);   /* short-form length: content octets */
		ck_assert_int_eq(p[1], MCA_SERIAL_LEN);
		ck_assert_int_eq(len, 2 + MCA_SERIAL_LEN);
		ck_assert_int_eq(p[2] & 0x80, 0); /* positive without a 0x00 pad */
		OPENSSL_free(der);

		ck_assert_int_eq(mca_serial_from_asn1(ai, hex, &err), MCA_OK);
		ASN1_INTEGER_free(ai);
		ck_assert_uint_eq(strlen(hex), 2 * MCA_SERIAL_LEN);
		ck_assert_msg(is_lower_hex(hex), "'%s' is not lower-case hex", hex);
		ck_assert_int_ne(hex[0], '0');
		hex_of(raw, sizeof(raw), want);
		ck_assert_str_eq(hex, want);
	}
}
END_TEST

static int
cmp_serial(const void *a, const void *b)
{
	return memcmp(a, b, MCA_SERIAL_LEN);
}

/* 1000 serials are pairwise distinct: a broken or constant CSPRNG path would repeat. */
START_TEST(test_generate_distinct)
{
	enum { N = 1000 };
	struct mca_error err = {0};
	unsigned char(*all)[MCA_SERIAL_LEN] = calloc(N, MCA_SERIAL_LEN);
	int i;

	ck_assert_ptr_nonnull(all);
	for (i = 0; i < N; i++)
		ck_assert_int_eq(mca_serial_generate(all[i], &err), MCA_OK);
	qsort(all, N, MCA_SERIAL_LEN, cmp_serial);
	for (i = 1; i < N; i++)
		ck_assert_msg(memcmp(all[i - 1], all[i], MCA_SERIAL_LEN) != 0,
		              "serial repeated after %d draws", N);
	free(all);
}
END_TEST

/* Milliseconds since the epoch now. */
static uint64_t
now_ms(void)
{
	struct timespec ts;

	ck_assert_int_eq(clock_gettime(CLOCK_REALTIME, &ts), 0);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Every bit of the MCA_SERIAL_RANDOM last octets takes both values across
 * 200 serials (a stuck bit would show: chance of a false failure
 * 80 * 2^-199); the first six octets are 0x10 * 2^40 plus the clock's
 * milliseconds at the call, so serials never go back in time.
 */
START_TEST(test_generate_bits_vary)
{
	struct mca_error err = {0};
	unsigned char raw[MCA_SERIAL_LEN], ones[MCA_SERIAL_LEN], zeros[MCA_SERIAL_LEN];
	uint64_t before, after, prefix, last = 0;
	int i, j;

	ck_assert_int_eq(MCA_SERIAL_RANDOM, 10);
	memset(ones, 0x00, sizeof(ones));   /* OR of all serials */
	memset(zeros, 0xff, sizeof(zeros)); /* AND of all serials */
	for (i = 0; i < 200; i++) {
		before = now_ms();
		ck_assert_int_eq(mca_serial_generate(raw, &err), MCA_OK);
		after = now_ms();
		for (j = 0; j < MCA_SERIAL_LEN; j++) {
			ones[j] |= raw[j];
			zeros[j] &= raw[j];
		}
		for (prefix = 0, j = 0; j < MCA_SERIAL_LEN - MCA_SERIAL_RANDOM; j++)
			prefix = prefix << 8 | raw[j];
		ck_assert_msg(prefix >= (UINT64_C(0x10) << 40) + before &&
		                  prefix <= (UINT64_C(0x10) << 40) + after,
		              "time prefix %llx outside the call", (unsigned long long)prefix);
		ck_assert(prefix >= last);
		last = prefix;
		ck_assert(raw[0] >= 0x10 && raw[0] <= 0x1f);
	}
	for (j = MCA_SERIAL_LEN - MCA_SERIAL_RANDOM; j < MCA_SERIAL_LEN; j++) {
		ck_assert_msg(ones[j] == 0xff, "octet %d: bits never set: 0x%02x", j,
		              (unsigned)(~ones[j] & 0xff));
		ck_assert_msg(zeros[j] == 0x00, "octet %d: bits never clear: 0x%02x", j, zeros[j]);
	}
}
END_TEST

/* Positive integers from OpenSSL's own setters read back as canonical hex. */
static const struct {
	int64_t v;
	const char *want;
} from_int_ok[] = {
    {1, "01"},
    {0x0f, "0f"},
    {0x7f, "7f"},
    {0x80, "80"}, /* DER needs a 0x00 pad; the hex form does not */
    {0xff, "ff"},
    {0x100, "0100"},
    {0x123456, "123456"},
    {INT64_MAX, "7fffffffffffffff"},
};

/* mca_serial_from_asn1 spells positive values as two lower-case digits per octet. */
START_TEST(test_from_asn1_int)
{
	struct mca_error err = {0};
	char hex[MCA_SERIAL_HEX_MAX];
	ASN1_INTEGER *ai = ASN1_INTEGER_new();

	ck_assert_ptr_nonnull(ai);
	ck_assert_int_eq(ASN1_INTEGER_set_int64(ai, from_int_ok[_i].v), 1);
	ck_assert_int_eq(mca_serial_from_asn1(ai, hex, &err), MCA_OK);
	ck_assert_str_eq(hex, from_int_ok[_i].want);
	ASN1_INTEGER_free(ai);
}
END_TEST

/* Octet strings through mca_serial_to_asn1: leading zero octets vanish, 20 octets is the max. */
static const struct {
	size_t len;
	unsigned char fill;  /* every octet */
	unsigned char first; /* then octet 0 overridden */
	const char *want;    /* NULL: must be refused */
} from_raw_tab[] = {
    {1, 0x01, 0x01, "01"},
    {4, 0x00, 0x00, NULL},     /* zero */
    {4, 0x01, 0x00, "010101"}, /* 00 01 01 01: the zero octet goes */
    {16, 0xab, 0x7f, "7fababababababababababababababab"},
    {20, 0xff, 0x7f, "7fffffffffffffffffffffffffffffffffffffff"},
    {20, 0xff, 0xff, "ffffffffffffffffffffffffffffffffffffffff"},
    {21, 0x01, 0x00, "0101010101010101010101010101010101010101"}, /* 20 after the pad */
    {21, 0x01, 0x01, NULL},                                       /* 21 octets */
    {32, 0xff, 0xff, NULL},
};

/* from_asn1 accepts up to 20 significant octets and refuses zero and longer values. */
START_TEST(test_from_asn1_raw)
{
	struct mca_error err = {0};
	unsigned char raw[64];
	char hex[MCA_SERIAL_HEX_MAX];
	ASN1_INTEGER *ai;
	mca_rc rc;

	memset(raw, from_raw_tab[_i].fill, sizeof(raw));
	raw[0] = from_raw_tab[_i].first;
	ai = mca_serial_to_asn1(raw, from_raw_tab[_i].len);
	ck_assert_ptr_nonnull(ai);
	memset(hex, 'X', sizeof(hex));
	rc = mca_serial_from_asn1(ai, hex, &err);
	ASN1_INTEGER_free(ai);
	if (from_raw_tab[_i].want != NULL) {
		ck_assert_msg(rc == MCA_OK, "row %d: %s", _i, err.msg);
		ck_assert_str_eq(hex, from_raw_tab[_i].want);
	} else {
		ck_assert_int_eq(rc, MCA_ERR_INVAL);
		ck_assert_int_eq(err.code, MCA_ERR_INVAL);
		ck_assert_str_ne(err.msg, "");
		ck_assert_str_eq(hex, ""); /* no half-written output */
	}
}
END_TEST

/* Zero and negative values are not serials. */
static const int64_t from_int_bad[] = {0, -1, -255, -0x7f, INT64_MIN};

START_TEST(test_from_asn1_not_positive)
{
	struct mca_error err = {0};
	char hex[MCA_SERIAL_HEX_MAX];
	ASN1_INTEGER *ai = ASN1_INTEGER_new();

	ck_assert_ptr_nonnull(ai);
	ck_assert_int_eq(ASN1_INTEGER_set_int64(ai, from_int_bad[_i]), 1);
	ck_assert_int_eq(mca_serial_from_asn1(ai, hex, &err), MCA_ERR_INVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "positive"));
	ck_assert_str_eq(hex, "");
	ASN1_INTEGER_free(ai);
}
END_TEST

/* A negative value of more than 20 octets is refused too, whatever check comes first. */
START_TEST(test_from_asn1_long_negative)
{
	struct mca_error err = {0};
	unsigned char raw[24];
	char hex[MCA_SERIAL_HEX_MAX];
	BIGNUM *bn;
	ASN1_INTEGER *ai;

	memset(raw, 0x5a, sizeof(raw));
	bn = BN_bin2bn(raw, sizeof(raw), NULL);
	ck_assert_ptr_nonnull(bn);
	BN_set_negative(bn, 1);
	ai = BN_to_ASN1_INTEGER(bn, NULL);
	BN_free(bn);
	ck_assert_ptr_nonnull(ai);
	ck_assert_int_eq(mca_serial_from_asn1(ai, hex, &err), MCA_ERR_INVAL);
	ASN1_INTEGER_free(ai);
}
END_TEST

/* to_asn1 -> DER -> d2i -> from_asn1 gives the hex of the raw octets: what lands in a cert. */
START_TEST(test_der_round_trip)
{
	struct mca_error err = {0};
	unsigned char raw[MCA_SERIAL_LEN], *der = NULL;
	const unsigned char *p;
	char hex[MCA_SERIAL_HEX_MAX], want[2 * MCA_SERIAL_LEN + 1];
	ASN1_INTEGER *ai, *back;
	int len, i;

	for (i = 0; i < 50; i++) {
		ck_assert_int_eq(mca_serial_generate(raw, &err), MCA_OK);
		ai = mca_serial_to_asn1(raw, sizeof(raw));
		ck_assert_ptr_nonnull(ai);
		len = i2d_ASN1_INTEGER(ai, &der);
		ck_assert_int_gt(len, 0);
		p = der;
		back = d2i_ASN1_INTEGER(NULL, &p, len);
		ck_assert_ptr_nonnull(back);
		ck_assert_int_eq(ASN1_INTEGER_cmp(ai, back), 0);
		ck_assert_int_eq(mca_serial_from_asn1(back, hex, &err), MCA_OK);
		hex_of(raw, sizeof(raw), want);
		ck_assert_str_eq(hex, want);
		ASN1_INTEGER_free(back);
		ASN1_INTEGER_free(ai);
		OPENSSL_free(der);
		der = NULL;
	}
}
END_TEST

#define D40 "7f00112233445566778899aabbccddeeff001122"

/* User spellings and their canonical form; want == NULL means refused. */
static const struct {
	const char *in;
	const char *want;
} norm_tab[] = {
    {"abcdef", "abcdef"},
    {"ABCDEF", "abcdef"},
    {"AbCdEf", "abcdef"},
    {"ab:cd:ef", "abcdef"},
    {"AB:CD:EF", "abcdef"},
    {"0xabcd", "abcd"},
    {"0XABCD", "abcd"},
    {"0x12:34", "1234"},
    {"1", "01"}, /* odd digit count: leading 0 */
    {"abc", "0abc"},
    {"0x1", "01"},
    {"a:bc", "0abc"},
    {"0001", "01"}, /* leading zero octets stripped */
    {"00:00:ff", "ff"},
    {"000abc", "0abc"},
    {"0x00ff", "ff"},
    {"7f", "7f"},
    {"80", "80"},
    {D40, D40},      /* exactly 20 octets */
    {"00" D40, D40}, /* 20 octets after stripping */
    {"0x" D40, D40},
    {"", NULL}, /* empty */
    {NULL, NULL},
    {"0x", NULL},
    {":", NULL},
    {"::", NULL},
    {"0", NULL}, /* zero */
    {"00", NULL},
    {"0x0", NULL},
    {"00:00", NULL},
    {"xyz", NULL}, /* not hex */
    {"12g4", NULL},
    {"12 34", NULL},
    {" 1234", NULL},
    {"1234 ", NULL},
    {"12-34", NULL},
    {"-1", NULL},
    {"+1", NULL},
    {"x12", NULL},
    {"0x0x12", NULL},
    {"12h", NULL},
    {"1" D40, NULL}, /* 41 significant digits: more than 20 octets */
    {D40 D40, NULL},
    {D40 D40 D40, NULL},
};

/* mca_serial_normalize accepts the documented spellings and refuses everything else. */
START_TEST(test_normalize)
{
	struct mca_error err = {0};
	const char *in = norm_tab[_i].in;
	char out[MCA_SERIAL_HEX_MAX];
	mca_rc rc;

	memset(out, 'X', sizeof(out));
	rc = mca_serial_normalize(in, out, &err);
	if (norm_tab[_i].want != NULL) {
		ck_assert_msg(rc == MCA_OK, "'%s': %s", in, err.msg);
		ck_assert_str_eq(out, norm_tab[_i].want);
	} else {
		ck_assert_msg(rc == MCA_ERR_INVAL, "'%s' accepted as '%s'", in ? in : "(null)",
		              rc == MCA_OK ? out : "");
		ck_assert_int_eq(err.code, MCA_ERR_INVAL);
		ck_assert_str_eq(out, "");
		/* Short inputs are quoted in full so the user sees what was refused. */
		if (in != NULL && in[0] != '\0' && strlen(in) <= 64)
			ck_assert_msg(strstr(err.msg, in) != NULL, "\"%s\" does not quote '%s'",
			              err.msg, in);
	}
}
END_TEST

/* Normalising a canonical serial is the identity: generated serials survive user input. */
START_TEST(test_normalize_idempotent)
{
	struct mca_error err = {0};
	unsigned char raw[MCA_SERIAL_LEN];
	char hex[2 * MCA_SERIAL_LEN + 1], upper[3 * MCA_SERIAL_LEN], out[MCA_SERIAL_HEX_MAX];
	int i, j;

	for (i = 0; i < 100; i++) {
		ck_assert_int_eq(mca_serial_generate(raw, &err), MCA_OK);
		hex_of(raw, sizeof(raw), hex);
		ck_assert_int_eq(mca_serial_normalize(hex, out, &err), MCA_OK);
		ck_assert_str_eq(out, hex);
		/* The "openssl x509 -text" spelling: upper case, colon separated. */
		for (j = 0; j < MCA_SERIAL_LEN; j++)
			sprintf(upper + 3 * j, "%02X%s", raw[j], j + 1 < MCA_SERIAL_LEN ? ":" : "");
		ck_assert_int_eq(mca_serial_normalize(upper, out, &err), MCA_OK);
		ck_assert_str_eq(out, hex);
	}
}
END_TEST

static Suite *
serial_suite(void)
{
	Suite *s = suite_create("serial");
	TCase *tc;

	tc = tcase_create("generate");
	tcase_add_test(tc, test_generate_shape);
	tcase_add_test(tc, test_generate_distinct);
	tcase_add_test(tc, test_generate_bits_vary);
	suite_add_tcase(s, tc);

	tc = tcase_create("asn1");
	tcase_add_loop_test(tc, test_from_asn1_int, 0, NELEM(from_int_ok));
	tcase_add_loop_test(tc, test_from_asn1_raw, 0, NELEM(from_raw_tab));
	tcase_add_loop_test(tc, test_from_asn1_not_positive, 0, NELEM(from_int_bad));
	tcase_add_test(tc, test_from_asn1_long_negative);
	tcase_add_test(tc, test_der_round_trip);
	suite_add_tcase(s, tc);

	tc = tcase_create("normalize");
	tcase_add_loop_test(tc, test_normalize, 0, NELEM(norm_tab));
	tcase_add_test(tc, test_normalize_idempotent);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(serial_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
