/*
 * test_lint.c - the signer's checks before it signs (signer/lint.h): a
 * TBSCertificate with a foreign issuer, a wrong AKI, CA:TRUE,
 * keyCertSign, a validity past the CA's, a serial that is not 16 octets
 * positive, another signature algorithm, or bytes that are not exactly
 * one TBS is refused with the rule and message of the check; a valid one
 * passes.  A TBSCertList with a foreign issuer or AKI, or a CRL number
 * not greater than the last signed, is refused; increasing numbers pass.
 * An OCSP ResponseData for the CA's certificates with the signing key's
 * responderID passes (also with a nonce and four responses); one whose
 * responderID is another key's, whose CertIDs name another CA, whose
 * producedAt or thisUpdate is not now, whose validity exceeds 7 days, or
 * that is not exactly one element is refused with the check's rule.
 */
#include "config.h"

#include <check.h>

#include "signer/lint.h"
#include "lintca.h"

static struct lca ca, foreign, twin;
static struct mca_lint_ca lc;

static void
setup(void)
{
	const unsigned char *alg;
	size_t alg_len = 0;
	struct mca_error err = {0};

	lca_make(&ca, "Lint CA");
	lca_make(&foreign, "Foreign CA");
	lca_make(&twin, "Lint CA"); /* same name, other key: other SKI */
	alg = mca_signer_algor_der(ca.signer, &alg_len);
	ck_assert_int_eq(mca_lint_ca_init(&lc, ca.cert, alg, alg_len, &err), MCA_OK);
}

static void
teardown(void)
{
	lca_free(&ca);
	lca_free(&foreign);
	lca_free(&twin);
}

/* Lint `l`; expect `rule` (NULL: accepted) and the message `msg`. */
static void
expect_cert(const struct leaf *l, const char *rule, const char *msg)
{
	struct mca_error err = {0};
	size_t len = 0;
	unsigned char *tbs = leaf_tbs(&ca, l, &len);
	mca_rc rc = mca_lint_cert(&lc, tbs, len, &err);

	OPENSSL_free(tbs);
	if (rule == NULL) {
		ck_assert_msg(rc == MCA_OK, "%s", err.msg);
		return;
	}
	ck_assert_int_eq(rc, MCA_ERR_INTERNAL);
	ck_assert_str_eq(err.rule, rule);
	ck_assert_str_eq(err.msg, msg);
}

START_TEST(cert_valid)
{
	struct leaf l = {0};

	expect_cert(&l, NULL, NULL);
	/* at the CA's notAfter exactly is still inside */
	l.not_after = mca_asn1_time_unix(X509_get0_notAfter(ca.cert));
	expect_cert(&l, NULL, NULL);
}
END_TEST

/*
 * Lint parses a copy whose key algorithm it masks (lint.c): the TBS it was
 * given stays byte for byte what it was, and a TBS whose key has an
 * algorithm no one knows is judged on the rest the same way (lint does
 * not look at the subject's key).
 */
START_TEST(cert_input_untouched)
{
	struct mca_error err = {0};
	struct leaf l = {0};
	size_t len = 0;
	unsigned char *tbs = leaf_tbs(&ca, &l, &len), *copy = malloc(len);
	static const unsigned char ec_oid[] = {0x06, 0x07, 0x2a, 0x86, 0x48,
	                                       0xce, 0x3d, 0x02, 0x01};
	unsigned char *o;

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, tbs, len);
	ck_assert_int_eq(mca_lint_cert(&lc, tbs, len, &err), MCA_OK);
	ck_assert_int_eq(memcmp(copy, tbs, len), 0);
	/* another key algorithm in the request: still signed-off on the rest */
	o = memmem(tbs, len, ec_oid, sizeof(ec_oid));
	ck_assert_ptr_nonnull(o);
	o[8] = 0x07;
	ck_assert_int_eq(mca_lint_cert(&lc, tbs, len, &err), MCA_OK);
	free(copy);
	OPENSSL_free(tbs);
}
END_TEST

START_TEST(cert_refused)
{
	static const unsigned char sha384[] = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86,
	                                       0x48, 0xce, 0x3d, 0x04, 0x03, 0x03};
	struct leaf l;

	memset(&l, 0, sizeof(l));
	l.issuer = foreign.cert;
	expect_cert(&l, "signer.lint.issuer", "signer refused: issuer is not the CA's subject");
	memset(&l, 0, sizeof(l));
	l.issuer = twin.cert;
	expect_cert(&l, "signer.lint.aki",
	            "signer refused: authority key identifier is not the CA's SKI");
	memset(&l, 0, sizeof(l));
	l.ca = 1;
	expect_cert(&l, "signer.lint.ca", "signer refused: basicConstraints CA:TRUE");
	memset(&l, 0, sizeof(l));
	l.ku = MCA_KU_DIGITAL_SIGNATURE | MCA_KU_KEY_CERT_SIGN;
	expect_cert(&l, "signer.lint.key_usage", "signer refused: keyUsage keyCertSign");
	memset(&l, 0, sizeof(l));
	l.not_after = mca_asn1_time_unix(X509_get0_notAfter(ca.cert)) + 1;
	expect_cert(&l, "signer.lint.validity",
	            "signer refused: notAfter is past the CA certificate's");
	memset(&l, 0, sizeof(l));
	l.alg = sha384;
	l.alg_len = sizeof(sha384);
	expect_cert(&l, "signer.lint.algorithm",
	            "signer refused: signature algorithm is not the CA key's");
}
END_TEST

/* Serials: 15 and 17 octets, 16 with the top bit set (negative or 17 in DER). */
START_TEST(cert_bad_serial)
{
	static const size_t lens[] = {15, 17, 16, 8};
	struct leaf l;

	memset(&l, 0, sizeof(l));
	memset(l.serial, 0x42, sizeof(l.serial));
	l.serial_len = lens[_i];
	if (_i == 2)
		l.serial[0] = 0x80;
	expect_cert(&l, "signer.lint.serial",
	            "signer refused: serial is not 16 octets and positive");
}
END_TEST

START_TEST(not_one_tbs)
{
	struct mca_error err = {0};
	struct leaf l = {0};
	size_t len = 0;
	unsigned char *tbs = leaf_tbs(&ca, &l, &len), *more;
	int64_t n = 0;

	ck_assert_int_eq(mca_lint_cert(&lc, (const unsigned char *)"\x30\x00", 2, &err),
	                 MCA_ERR_INTERNAL);
	ck_assert_str_eq(err.msg, "signer refused: not one DER TBSCertificate");
	/* trailing data after the TBS */
	more = malloc(len + 2);
	memcpy(more, tbs, len);
	memcpy(more + len, "\x05\x00", 2);
	ck_assert_int_eq(mca_lint_cert(&lc, more, len + 2, &err), MCA_ERR_INTERNAL);
	ck_assert_str_eq(err.rule, "signer.lint.parse");
	/* truncated */
	ck_assert_int_eq(mca_lint_cert(&lc, tbs, len - 1, &err), MCA_ERR_INTERNAL);
	ck_assert_str_eq(err.rule, "signer.lint.parse");
	ck_assert_int_eq(mca_lint_cert(&lc, tbs, 0, &err), MCA_ERR_INTERNAL);
	/* a TBSCertificate is no TBSCertList */
	ck_assert_int_eq(mca_lint_crl(&lc, tbs, len, 0, &n, &err), MCA_ERR_INTERNAL);
	ck_assert_str_eq(err.msg, "signer refused: not one DER TBSCertList");
	free(more);
	OPENSSL_free(tbs);
}
END_TEST

/* Lint CRL `number` of `issuer` after `last`; expect the message (NULL: accepted). */
static void
expect_crl(X509 *issuer, int64_t number, int64_t last, const char *rule, const char *msg)
{
	struct mca_error err = {0};
	size_t len = 0;
	unsigned char *tbs = crl_tbs(&ca, issuer, number, &len);
	int64_t got = -1;
	mca_rc rc = mca_lint_crl(&lc, tbs, len, last, &got, &err);

	free(tbs);
	if (rule == NULL) {
		ck_assert_msg(rc == MCA_OK, "%s", err.msg);
		ck_assert_int_eq(got, number);
		return;
	}
	ck_assert_int_eq(rc, MCA_ERR_INTERNAL);
	ck_assert_int_eq(got, 0);
	ck_assert_str_eq(err.rule, rule);
	ck_assert_str_eq(err.msg, msg);
}

START_TEST(crl)
{
	expect_crl(NULL, 1, 0, NULL, NULL);
	expect_crl(NULL, 7, 6, NULL, NULL);
	expect_crl(NULL, 100000, 7, NULL, NULL);
	expect_crl(NULL, 7, 7, "signer.lint.crl_number",
	           "signer refused: CRL number 7 is not greater than 7, the last signed");
	expect_crl(NULL, 6, 7, "signer.lint.crl_number",
	           "signer refused: CRL number 6 is not greater than 7, the last signed");
	expect_crl(NULL, 0, 0, "signer.lint.crl_number", "signer refused: no positive CRL number");
	expect_crl(foreign.cert, 8, 7, "signer.lint.issuer",
	           "signer refused: issuer is not the CA's subject");
	expect_crl(twin.cert, 8, 7, "signer.lint.aki",
	           "signer refused: authority key identifier is not the CA's SKI");
}
END_TEST

/*
 * The entries of a CRL are walked by the lint itself (no object each): a
 * CRL of 200,000 entries is accepted; an entry that is not SEQUENCE {
 * positive INTEGER, Time, Extensions } is refused naming its index, one
 * octet changed at a time (the lengths stay right, so only the walk can
 * see it).
 */
static const struct {
	size_t at;        /* offset into entry 1's DER */
	unsigned char to; /* the octet written there */
} entry_damage[] = {
    {0, 0x31},  /* SET, not SEQUENCE */
    {2, 0x04},  /* OCTET STRING, not INTEGER */
    {4, 0x80},  /* a negative serial */
    {20, 0x13}, /* PrintableString, not UTCTime */
    {35, 0x31}, /* extensions: not a SEQUENCE */
    {37, 0x31}, /* an extension: not a SEQUENCE */
    {39, 0x05}, /* extnID: not an OID */
    {44, 0x03}, /* extnValue: not an OCTET STRING */
};

START_TEST(crl_entries)
{
	struct mca_error err = {0};
	struct mca_crl_entry *v = calloc(200000, sizeof(*v));
	unsigned char der[MCA_CRL_ENTRY_MAX], key[MCA_CRL_KEY_MAX], *tbs = NULL, *hit;
	const unsigned char *alg;
	size_t alg_len, len = 0, der_len, key_len, i;
	int64_t got = 0;
	mca_rc rc;

	ck_assert_ptr_nonnull(v);
	for (i = 0; i < 200000; i++) {
		v[i].serial[0] = 0x40;
		v[i].serial[13] = (unsigned char)(i >> 16);
		v[i].serial[14] = (unsigned char)(i >> 8);
		v[i].serial[15] = (unsigned char)i;
		v[i].serial_len = 16;
		v[i].revoked_at = 1800000000;
		v[i].reason = i % 2;
	}
	alg = mca_signer_algor_der(ca.signer, &alg_len);
	rc = mca_crl_build_tbs(alg, alg_len, ca.cert, 5, 1800000000, 1800003600, v,
	                       _i == 0 ? 200000 : 3, &tbs, &len, &err);
	ck_assert_msg(rc == MCA_OK, "%s", err.msg);
	if (_i == 0) {
		ck_assert_msg(mca_lint_crl(&lc, tbs, len, 4, &got, &err) == MCA_OK, "%s", err.msg);
		ck_assert_int_eq(got, 5);
		goto out;
	}
	/* entry 1: serial 0x40..01, UTCTime, reason keyCompromise */
	ck_assert_int_eq(mca_crl_entry_encode(&v[1], der, &der_len, key, &key_len, &err), MCA_OK);
	ck_assert_uint_eq(der_len, 49);
	hit = memmem(tbs, len, der, der_len);
	ck_assert_ptr_nonnull(hit);
	ck_assert_uint_lt(entry_damage[_i - 1].at, der_len);
	hit[entry_damage[_i - 1].at] = entry_damage[_i - 1].to;
	ck_assert_int_eq(mca_lint_crl(&lc, tbs, len, 4, &got, &err), MCA_ERR_INTERNAL);
	ck_assert_str_eq(err.rule, "signer.lint.parse");
	ck_assert_str_eq(err.msg, "signer refused: CRL entry 1 is malformed");
	ck_assert_int_eq(got, 0);
out:
	free(tbs);
	free(v);
}
END_TEST

/* Lint the ResponseData `t` as signed by `key` for `issuer`; expect `rule` (NULL: accepted). */
static void
expect_ocsp(const struct ocsp_tbs *t, X509 *issuer, EVP_PKEY *key, const char *rule,
            const char *msg)
{
	struct mca_error err = {0};
	size_t len = 0;
	unsigned char *tbs = ocsp_tbs(t, &len);
	mca_rc rc = mca_lint_ocsp(issuer, key, tbs, len, (int64_t)time(NULL), &err);

	free(tbs);
	if (rule == NULL) {
		ck_assert_msg(rc == MCA_OK, "%s", err.msg);
		return;
	}
	ck_assert_int_eq(rc, MCA_ERR_INTERNAL);
	ck_assert_str_eq(err.rule, rule);
	if (msg != NULL)
		ck_assert_str_eq(err.msg, msg);
}

START_TEST(ocsp)
{
	static const unsigned char nonce[] = {0x04, 0x04, 1, 2, 3, 4};
	int64_t now = (int64_t)time(NULL);
	struct ocsp_tbs t;
	struct mca_error err = {0};
	unsigned char *tbs, *two;
	size_t len = 0;

	/* the responder key is foreign.key here: any key, signing for `ca` */
	memset(&t, 0, sizeof(t));
	t.issuer = ca.cert;
	t.responder = foreign.key;
	expect_ocsp(&t, ca.cert, foreign.key, NULL, NULL);
	t.nonce = nonce;
	t.nonce_len = sizeof(nonce);
	t.n = MCA_OCSP_MAX_CERTS;
	expect_ocsp(&t, ca.cert, foreign.key, NULL, NULL);
	t.nonce = NULL;
	t.n = 1;
	t.validity = MCA_LINT_OCSP_MAX_VALIDITY;
	expect_ocsp(&t, ca.cert, foreign.key, NULL, NULL);

	/* signed by another key than the responderID names */
	expect_ocsp(&t, ca.cert, ca.key, "signer.lint.ocsp_responder",
	            "signer refused: the responderID is not the signing key's hash");
	/* CertIDs of another CA */
	t.issuer = twin.cert;
	expect_ocsp(&t, ca.cert, foreign.key, "signer.lint.ocsp_issuer",
	            "signer refused: a CertID does not name this signer's CA");
	t.issuer = ca.cert;
	t.validity = MCA_LINT_OCSP_MAX_VALIDITY + 1;
	expect_ocsp(&t, ca.cert, foreign.key, "signer.lint.ocsp_validity", NULL);
	t.validity = 0;
	t.this_update = now + 3600;
	expect_ocsp(&t, ca.cert, foreign.key, "signer.lint.ocsp_validity", NULL);
	t.this_update = 0;
	t.produced = now - 3600;
	expect_ocsp(&t, ca.cert, foreign.key, "signer.lint.ocsp_validity",
	            "signer refused: producedAt is not now");
	t.produced = 0;

	/* two ResponseData back to back, or a truncated one: not one element */
	tbs = ocsp_tbs(&t, &len);
	two = malloc(2 * len);
	memcpy(two, tbs, len);
	memcpy(two + len, tbs, len);
	ck_assert_int_eq(mca_lint_ocsp(ca.cert, foreign.key, two, 2 * len, now, &err),
	                 MCA_ERR_INTERNAL);
	ck_assert_str_eq(err.rule, "signer.lint.parse");
	ck_assert_int_eq(mca_lint_ocsp(ca.cert, foreign.key, tbs, len - 1, now, &err),
	                 MCA_ERR_INTERNAL);
	ck_assert_str_eq(err.rule, "signer.lint.parse");
	/* a TBSCertificate is no ResponseData */
	free(two);
	free(tbs);
}
END_TEST

int
main(void)
{
	Suite *su = suite_create("lint");
	TCase *tc = tcase_create("lint");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, cert_valid);
	tcase_add_test(tc, cert_input_untouched);
	tcase_add_test(tc, cert_refused);
	tcase_add_loop_test(tc, cert_bad_serial, 0, 4);
	tcase_add_test(tc, not_one_tbs);
	tcase_add_test(tc, crl);
	tcase_add_loop_test(tc, crl_entries, 0, 9);
	tcase_add_test(tc, ocsp);
	suite_add_tcase(su, tc);
	sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
