/*
 * test_duration.c - unit tests of duration.h: parsing "1h30m"-style
 * durations, the errors every malformed spelling must produce, and the
 * format -> parse round trip.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "common/duration.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* A value no successful parse in these tables produces: detects stray writes. */
#define SENTINEL ((int64_t)-4242)

static const struct {
	const char *in;
	int64_t want;
} parse_ok[] = {
    {"30s", 30},
    {"15m", 15 * 60},
    {"24h", 24 * 3600},
    {"7d", 7 * 86400},
    {"1w", 7 * 86400},
    {"1h30m", 3600 + 30 * 60},
    {"1s", 1},
    {"90d", 90 * 86400},
    {"2w3d4h5m6s", 2 * 604800 + 3 * 86400 + 4 * 3600 + 5 * 60 + 6},
    {"0h1m", 60},                      /* a zero group is fine when the total is not */
    {"007m", 7 * 60},                  /* leading zeros in a number */
    {"3600s", 3600},                   /* no normalisation required of the input */
    {"5227w", (int64_t)5227 * 604800}, /* large but below the limit */
    {"36600d", MCA_DURATION_MAX},      /* exactly 100 years (of 366 days) */
    {"3162240000s", MCA_DURATION_MAX}, /* the same limit spelled in seconds */
    {"36599d23h59m59s", MCA_DURATION_MAX - 1},
};

/* Every valid spelling parses to the expected number of seconds. */
START_TEST(test_parse_valid)
{
	struct mca_error err = {0};
	int64_t v = SENTINEL;
	mca_rc rc;

	rc = mca_duration_parse(parse_ok[_i].in, &v, &err);
	ck_assert_msg(rc == MCA_OK, "'%s': rc %d (%s)", parse_ok[_i].in, rc, err.msg);
	ck_assert_msg(v == parse_ok[_i].want, "'%s': got %lld, want %lld", parse_ok[_i].in,
	              (long long)v, (long long)parse_ok[_i].want);
}
END_TEST

/*
 * Malformed durations.  `quoted` is 1 when the message must quote the
 * input as '...'; the empty string and NULL have nothing worth quoting, so
 * their message must instead say "empty".
 */
static const struct {
	const char *in;
	int quoted;
} parse_bad[] = {
    {"", 0},
    {NULL, 0},
    {"10", 1},   /* missing unit */
    {"h", 1},    /* missing number */
    {"5x", 1},   /* unknown unit */
    {"5M", 1},   /* units are lower case */
    {"5 m", 1},  /* space between number and unit */
    {"-5m", 1},  /* sign */
    {"+5m", 1},  /* sign */
    {" 5m", 1},  /* leading space */
    {"5m ", 1},  /* trailing space */
    {"\t5m", 1}, /* leading tab */
    {"5m\n", 1}, /* trailing newline */
    {"1h 30m", 1},
    {"1.5h", 1},
    {"5mm", 1},
    {"m5", 1},
    {"0s", 1}, /* zero */
    {"0m0s", 1},
    {"0w", 1},
    {"99999999999999999999d", 1}, /* would overflow int64 */
    {"99999999999999999999999999999999s", 1},
    {"36601d", 1}, /* longer than 100 years */
    {"36600d1s", 1},
    {"3162240001s", 1},
    {"5229w", 1},
    {"36000d36000d", 1}, /* each group fine, the sum is not */
};

/* Every malformed spelling is MCA_ERR_INVAL, quotes the input, and leaves *seconds alone. */
START_TEST(test_parse_invalid)
{
	struct mca_error err = {0};
	const char *in = parse_bad[_i].in;
	char quoted[128];
	int64_t v = SENTINEL;
	mca_rc rc;

	rc = mca_duration_parse(in, &v, &err);
	ck_assert_msg(rc == MCA_ERR_INVAL, "'%s': rc %d, want MCA_ERR_INVAL", in ? in : "(null)",
	              rc);
	ck_assert_int_eq(err.code, MCA_ERR_INVAL);
	ck_assert_msg(v == SENTINEL, "'%s': *seconds written on error", in ? in : "(null)");
	if (parse_bad[_i].quoted) {
		snprintf(quoted, sizeof(quoted), "'%s'", in);
		ck_assert_msg(strstr(err.msg, quoted) != NULL, "message \"%s\" does not quote %s",
		              err.msg, quoted);
	} else {
		ck_assert_msg(strstr(err.msg, "empty") != NULL, "message \"%s\" does not say empty",
		              err.msg);
	}
}
END_TEST

/* Overflow and zero are told apart from syntax errors, so the user knows what to fix. */
START_TEST(test_parse_error_reasons)
{
	struct mca_error err = {0};
	int64_t v;

	ck_assert_int_eq(mca_duration_parse("99999999999999999999d", &v, &err), MCA_ERR_INVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "100 years"));
	mca_error_clear(&err);
	ck_assert_int_eq(mca_duration_parse("36601d", &v, &err), MCA_ERR_INVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "100 years"));
	mca_error_clear(&err);
	ck_assert_int_eq(mca_duration_parse("0m0s", &v, &err), MCA_ERR_INVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "positive"));
	mca_error_clear(&err);
	ck_assert_int_eq(mca_duration_parse("5x", &v, &err), MCA_ERR_INVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "unit"));
}
END_TEST

/* A NULL error record is allowed: the code alone still reports the failure. */
START_TEST(test_parse_null_err)
{
	int64_t v = SENTINEL;

	ck_assert_int_eq(mca_duration_parse("5x", &v, NULL), MCA_ERR_INVAL);
	ck_assert_int_eq(mca_duration_parse(NULL, &v, NULL), MCA_ERR_INVAL);
	ck_assert(v == SENTINEL);
	ck_assert_int_eq(mca_duration_parse("2m", &v, NULL), MCA_OK);
	ck_assert(v == 120);
}
END_TEST

static const struct {
	int64_t in;
	const char *want;
} format_tab[] = {
    {1, "1s"},
    {30, "30s"},
    {60, "1m"},
    {900, "15m"},
    {3600, "1h"},
    {3601, "1h1s"},
    {5400, "1h30m"},
    {86400, "1d"},
    {7 * 86400, "7d"}, /* weeks are not used in output */
    {90 * 86400, "90d"},
    {86400 + 3600 + 60 + 1, "1d1h1m1s"},
    {MCA_DURATION_MAX, "36600d"},
    {MCA_DURATION_MAX - 1, "36599d23h59m59s"},
    {0, "0s"},
    {-5, "0s"},
};

/* format produces the shortest exact spelling, days down to seconds. */
START_TEST(test_format)
{
	char buf[32];

	memset(buf, 'X', sizeof(buf));
	mca_duration_format(format_tab[_i].in, buf, sizeof(buf));
	ck_assert_str_eq(buf, format_tab[_i].want);
}
END_TEST

/* A buffer too small is truncated but stays NUL-terminated inside its bounds. */
START_TEST(test_format_small_buffer)
{
	char buf[8];

	memset(buf, 'X', sizeof(buf));
	mca_duration_format(MCA_DURATION_MAX - 1, buf, 6);
	ck_assert_ptr_nonnull(memchr(buf, '\0', 6));
	ck_assert_int_eq(buf[6], 'X');
	ck_assert_int_eq(buf[7], 'X');
	ck_assert_int_eq(strncmp(buf, "36599", 5), 0);
}
END_TEST

/* Round trip format -> parse over the table, powers of the units and pseudo-random values. */
START_TEST(test_round_trip)
{
	static const int64_t fixed[] = {1,
	                                59,
	                                60,
	                                61,
	                                3599,
	                                3600,
	                                86399,
	                                86400,
	                                604800,
	                                604801,
	                                5400,
	                                1209600,
	                                31536000,
	                                31622400,
	                                MCA_DURATION_MAX - 1,
	                                MCA_DURATION_MAX};
	struct mca_error err = {0};
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	char buf[32];
	int64_t in, out;
	size_t i;

	for (i = 0; i < NELEM(fixed) + 2000; i++) {
		if (i < NELEM(fixed)) {
			in = fixed[i];
		} else {
			/* xorshift64: deterministic, so a failure is reproducible. */
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			in = 1 + (int64_t)(x % (uint64_t)MCA_DURATION_MAX);
		}
		mca_duration_format(in, buf, sizeof(buf));
		out = SENTINEL;
		ck_assert_msg(mca_duration_parse(buf, &out, &err) == MCA_OK, "%lld -> '%s': %s",
		              (long long)in, buf, err.msg);
		ck_assert_msg(out == in, "%lld -> '%s' -> %lld", (long long)in, buf,
		              (long long)out);
	}
}
END_TEST

/* parse -> format -> parse is stable: the canonical form means the same duration. */
START_TEST(test_parse_format_parse)
{
	struct mca_error err = {0};
	int64_t a = 0, b = 0;
	char buf[32];

	ck_assert_int_eq(mca_duration_parse(parse_ok[_i].in, &a, &err), MCA_OK);
	mca_duration_format(a, buf, sizeof(buf));
	ck_assert_int_eq(mca_duration_parse(buf, &b, &err), MCA_OK);
	ck_assert_msg(a == b, "'%s' -> %lld -> '%s' -> %lld", parse_ok[_i].in, (long long)a, buf,
	              (long long)b);
}
END_TEST

static Suite *
duration_suite(void)
{
	Suite *s = suite_create("duration");
	TCase *tc;

	tc = tcase_create("parse");
	tcase_add_loop_test(tc, test_parse_valid, 0, NELEM(parse_ok));
	tcase_add_loop_test(tc, test_parse_invalid, 0, NELEM(parse_bad));
	tcase_add_test(tc, test_parse_error_reasons);
	tcase_add_test(tc, test_parse_null_err);
	suite_add_tcase(s, tc);

	tc = tcase_create("format");
	tcase_add_loop_test(tc, test_format, 0, NELEM(format_tab));
	tcase_add_test(tc, test_format_small_buffer);
	tcase_add_test(tc, test_round_trip);
	tcase_add_loop_test(tc, test_parse_format_parse, 0, NELEM(parse_ok));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(duration_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
