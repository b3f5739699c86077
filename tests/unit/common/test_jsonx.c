/*
 * test_jsonx.c - unit tests of mca_json_safe_text (jsonx.h): whatever
 * bytes go in, what comes out is well-formed UTF-8 that jansson packs,
 * ill-formed sequences become U+FFFD, a character cut at the end is
 * dropped, and a full buffer is cut at a character boundary.  And
 * mca_json_str_append: the bytes jansson's json_dumps writes for the same
 * string, for every octet value and for typical reply parts; a buffer one
 * octet short is refused and left as it was.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "common/jsonx.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define R        "\xef\xbf\xbd" /* U+FFFD */

static const struct {
	const char *in, *want;
} tab[] = {
    {"", ""},
    {"plain ascii /v1/x", "plain ascii /v1/x"},
    {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91"},
    {"\xff\xfe", R R},
    {"a\xff"
     "b",
     "a" R "b"},
    {"\x80x", R "x"},              /* stray continuation byte */
    {"\xc0\xaf", R R},             /* overlong '/' */
    {"\xc1\xbf", R R},             /* overlong */
    {"\xe0\x80\xaf", R R R},       /* overlong 3-byte form */
    {"\xed\xa0\x80", R R R},       /* surrogate U+D800 */
    {"\xf4\x90\x80\x80", R R R R}, /* beyond U+10FFFF */
    {"\xf5\x80", R R},             /* never a lead byte */
    {"\xe2\x82x", R "x"},          /* cut in the middle: one U+FFFD */
    {"\xf0\x9f\x94x", R "x"},      /* the same, 4-byte form */
    {"ab\xe2\x82", "ab"},          /* cut at the end: dropped */
    {"ab\xc3", "ab"},              /* lone lead byte at the end: dropped */
    {"ab\xf0\x9f\x94", "ab"},
    {"ab\xe0", "ab"},
    {"ab\xf5", "ab" R}, /* not a lead byte: replaced */
    {"ab\x80", "ab" R},
    {"tab\tnl\n", "tab\tnl\n"}, /* controls stay: JSON escapes them */
};

START_TEST(test_table)
{
	char out[64];

	mca_json_safe_text(out, sizeof(out), tab[_i].in);
	ck_assert_msg(strcmp(out, tab[_i].want) == 0, "case %d: got '%s', want '%s'", _i, out,
	              tab[_i].want);
}
END_TEST

/* A full buffer is cut before a character, never inside it. */
START_TEST(test_full_buffer)
{
	char out[8];
	size_t n;

	n = mca_json_safe_text(out, sizeof(out), "abcde\xc3\xa9"); /* 7 bytes fit with NUL */
	ck_assert_uint_eq(n, 7);
	ck_assert_str_eq(out, "abcde\xc3\xa9");
	n = mca_json_safe_text(out, sizeof(out), "abcdef\xc3\xa9"); /* the é would not fit */
	ck_assert_uint_eq(n, 6);
	ck_assert_str_eq(out, "abcdef");
	n = mca_json_safe_text(out, sizeof(out), "abcde\xff"); /* nor its U+FFFD */
	ck_assert_str_eq(out, "abcde");
	n = mca_json_safe_text(out, 1, "abc");
	ck_assert_uint_eq(n, 0);
	ck_assert_str_eq(out, "");
}
END_TEST

/* Every two-byte input (and a prefix), packed by jansson, never fails. */
START_TEST(test_jansson_accepts_all)
{
	char in[8], out[32];
	unsigned a, b;
	json_t *j;

	for (a = 1; a < 256; a++)
		for (b = 0; b < 256; b++) {
			snprintf(in, sizeof(in), "x%c%c\xe2", (char)a, (char)b);
			mca_json_safe_text(out, sizeof(out), in);
			j = json_pack("{s:s}", "message", out);
			ck_assert_msg(j != NULL, "json_pack failed for %02x %02x", a, b);
			json_decref(j);
		}
}
END_TEST

/* What json_dumps writes for the string `s` (JSON_ENCODE_ANY), malloc'd. */
static char *
jansson_string(const char *s)
{
	json_t *j = json_string(s);
	char *text = j ? json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;

	json_decref(j);
	ck_assert_ptr_nonnull(text);
	return text;
}

static const char *const str_tab[] = {
    "",
    "11a234c644fe54e52a75e56ae2ef724b",
    "-----BEGIN CERTIFICATE-----\nMIICcDCCAhag+/=\n-----END CERTIFICATE-----\n",
    "quote \" backslash \\ slash / tab \t cr \r ff \f bs \b",
    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91 \x7f",
    "2026-12-02T03:21:18Z",
};

/* Every octet 0x01..0xff alone, in the middle of text (0x80.. as part of a UTF-8 sequence). */
START_TEST(test_str_append_octets)
{
	char in[16], out[64], *want;
	size_t len;
	int c;

	for (c = 1; c < 0x80; c++) {
		snprintf(in, sizeof(in), "a%cb", c);
		want = jansson_string(in);
		len = 0;
		ck_assert_int_eq(mca_json_str_append(out, sizeof(out), &len, in), 1);
		ck_assert_msg(len == strlen(want) && memcmp(out, want, len) == 0,
		              "octet 0x%02x: '%.*s' want '%s'", c, (int)len, out, want);
		free(want);
	}
	for (c = 0x80; c < 0xc0; c++) { /* a continuation octet after a lead */
		snprintf(in, sizeof(in), "a\xc2%cb", c);
		want = jansson_string(in);
		len = 0;
		ck_assert_int_eq(mca_json_str_append(out, sizeof(out), &len, in), 1);
		ck_assert(len == strlen(want) && memcmp(out, want, len) == 0);
		free(want);
	}
}
END_TEST

START_TEST(test_str_append_table)
{
	char out[512], *want;
	size_t len = 3, short_len;

	memcpy(out, "xyz", 3);
	want = jansson_string(str_tab[_i]);
	ck_assert_int_eq(mca_json_str_append(out, sizeof(out), &len, str_tab[_i]), 1);
	ck_assert_uint_eq(len, 3 + strlen(want));
	ck_assert(memcmp(out, "xyz", 3) == 0 && memcmp(out + 3, want, strlen(want)) == 0);
	/* one octet short: refused, nothing counted */
	short_len = 3;
	ck_assert_int_eq(mca_json_str_append(out, 3 + strlen(want) - 1, &short_len, str_tab[_i]),
	                 0);
	ck_assert_uint_eq(short_len, 3);
	free(want);
}
END_TEST

static Suite *
safetext_suite(void)
{
	Suite *s = suite_create("safetext");
	TCase *tc = tcase_create("safetext");

	tcase_add_loop_test(tc, test_table, 0, NELEM(tab));
	tcase_add_test(tc, test_full_buffer);
	tcase_add_test(tc, test_jansson_accepts_all);
	tcase_add_test(tc, test_str_append_octets);
	tcase_add_loop_test(tc, test_str_append_table, 0, NELEM(str_tab));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(safetext_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
