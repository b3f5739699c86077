/*
 * test_idcache.c - unit tests of idcache.h: a verified certificate is found
 * again by its fingerprint (as a reference of its own) until its entry is
 * MCA_IDCACHE_TTL_S old, another fingerprint never finds it, a newer entry
 * in the same slot replaces it, and clear drops everything.
 */
#include "config.h"

#include <string.h>

#include <check.h>
#include <openssl/x509.h>

#include "api/idcache.h"

static X509 *
cert_new(void)
{
	X509 *x = X509_new();

	ck_assert_ptr_nonnull(x);
	return x;
}

/* A fingerprint whose slot is chosen by its first octets (idcache.c: the first three). */
static void
fp_of(unsigned char fp[32], unsigned char first, unsigned char last)
{
	memset(fp, 0x5a, 32);
	fp[0] = first;
	fp[31] = last;
}

START_TEST(found_until_ttl)
{
	unsigned char fp[32];
	X509 *x = cert_new(), *got;

	fp_of(fp, 1, 1);
	mca_idcache_put(fp, x, 1000);
	got = mca_idcache_get(fp, 1000 + MCA_IDCACHE_TTL_S - 1);
	ck_assert_ptr_eq(got, x);
	X509_free(got); /* the reference get gave */
	/* at the TTL it is gone, and stays gone */
	ck_assert_ptr_null(mca_idcache_get(fp, 1000 + MCA_IDCACHE_TTL_S));
	ck_assert_ptr_null(mca_idcache_get(fp, 1001));
	/* a clock that went back does not resurrect an entry either */
	mca_idcache_put(fp, x, 2000);
	ck_assert_ptr_null(mca_idcache_get(fp, 1999));
	X509_free(x); /* the cache held its own reference until then */
	mca_idcache_clear();
}
END_TEST

/* Same slot, another fingerprint: a miss; the newer entry replaces the older. */
START_TEST(same_slot_other_fingerprint)
{
	unsigned char a[32], b[32];
	X509 *xa = cert_new(), *xb = cert_new(), *got;

	fp_of(a, 7, 1);
	fp_of(b, 7, 2);
	mca_idcache_put(a, xa, 10);
	ck_assert_ptr_null(mca_idcache_get(b, 10));
	mca_idcache_put(b, xb, 10);
	ck_assert_ptr_null(mca_idcache_get(a, 10));
	got = mca_idcache_get(b, 10);
	ck_assert_ptr_eq(got, xb);
	X509_free(got);
	X509_free(xa);
	X509_free(xb);
	mca_idcache_clear();
}
END_TEST

START_TEST(clear_drops_all)
{
	unsigned char fp[32];
	X509 *x[3];
	int i;

	for (i = 0; i < 3; i++) {
		x[i] = cert_new();
		fp_of(fp, (unsigned char)(20 + i), 0);
		mca_idcache_put(fp, x[i], 5);
	}
	mca_idcache_clear();
	for (i = 0; i < 3; i++) {
		fp_of(fp, (unsigned char)(20 + i), 0);
		ck_assert_ptr_null(mca_idcache_get(fp, 5));
		X509_free(x[i]);
	}
}
END_TEST

/* The fingerprint is SHA-256 of the bytes (the database's fingerprint). */
START_TEST(fingerprint_is_sha256)
{
	/* SHA-256("abc") */
	static const unsigned char want[32] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea,
	                                       0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
	                                       0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
	                                       0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
	unsigned char fp[32];

	ck_assert_int_eq(mca_idcache_fingerprint((const unsigned char *)"abc", 3, fp), 1);
	ck_assert_int_eq(memcmp(fp, want, 32), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("idcache");
	TCase *tc = tcase_create("idcache");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, found_until_ttl);
	tcase_add_test(tc, same_slot_other_fingerprint);
	tcase_add_test(tc, clear_drops_all);
	tcase_add_test(tc, fingerprint_is_sha256);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
