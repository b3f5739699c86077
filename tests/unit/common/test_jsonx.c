/*
 * test_jsonx.c - unit tests of mca_json_safe_text (jsonx.h): whatever
 * bytes go in, what comes out is well-formed UTF-8 that jansson packs,
 * ill-formed sequences become U+FFFD, a character cut at the end is
 * dropped, and a full buffer is cut at a character boundary.
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

static Suite *
safetext_suite(void)
{
	Suite *s = suite_create("safetext");
	TCase *tc = tcase_create("safetext");

	tcase_add_loop_test(tc, test_table, 0, NELEM(tab));
	tcase_add_test(tc, test_full_buffer);
	tcase_add_test(tc, test_jansson_accepts_all);
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
