/*
 * test_lint.c - the signer's checks before it signs (signer/lint.h): a
 * TBSCertificate with a foreign issuer, a wrong AKI, CA:TRUE,
 * keyCertSign, a validity past the CA's, a serial that is not 16 octets
 * positive, another signature algorithm, or bytes that are not exactly
 * one TBS is refused with the rule and message of the check; a valid one
 * passes.  The same for a good TBS edited by hand one field or extension
 * at a time (version, serial, Names, Times, key, unique identifiers,
 * DER of the Extension, basicConstraints, keyUsage, extKeyUsage, SKI,
 * AKI, subjectAltName, cRLDistributionPoints, duplicates, too many
 * extensions) and as a whole (trailing octet, indefinite or non-minimal
 * length).  A TBSCertList with a foreign issuer or AKI, or a CRL number
 * not greater than the last signed, is refused; increasing numbers pass.
 * An OCSP ResponseData for the CA's certificates with the signing key's
 * responderID passes (also with a nonce and four responses); one whose
 * responderID is another key's, whose CertIDs name another CA, whose
 * producedAt or thisUpdate is not now, whose validity exceeds 7 days, or
 * that is not exactly one element is refused with the check's rule.
 */
#include "config.h"

#include <check.h>

#include "common/der.h"
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
 * Lint reads the TBS it is given and does not decode the subject's key:
 * the TBS stays byte for byte what it was, and a TBS whose key has an
 * algorithm no one knows is judged on the rest the same way.
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

/*
 * A good TBS edited by hand, one field or extension at a time
 * (re-encoded around the edit, so the lengths stay right and only the
 * walk can see it), and the refusal expected (rule NULL: accepted).
 * The leaf's fields, in order; its extensions are basicConstraints,
 * keyUsage, extKeyUsage and AKI.
 */
enum { F_VERSION, F_SERIAL, F_ALG, F_ISSUER, F_VALIDITY, F_SUBJECT, F_SPKI, F_EXTS, F_N };
enum {
	E_FIELD,  /* replace field `at` ("" removes it) */
	E_INSERT, /* insert before field `at` */
	E_EXT,    /* replace the extension whose OID is 2.5.29.`at` ("" removes it) */
	E_ADDEXT  /* append an extension */
};

struct edit {
	const char *what;
	int op, at;
	const unsigned char *der;
	size_t der_len;
	const char *rule, *msg;
};

#define B(s) (const unsigned char *)(s), sizeof(s) - 1

static const struct edit edits[] = {
    {"version 1 (v2 in the field)", E_FIELD, F_VERSION, B("\xa0\x03\x02\x01\x01"),
     "signer.lint.parse", "signer refused: not a version 3 TBSCertificate"},
    {"version absent (v1)", E_FIELD, F_VERSION, B(""), "signer.lint.parse",
     "signer refused: not a version 3 TBSCertificate"},
    {"version 3 as two octets", E_FIELD, F_VERSION, B("\xa0\x04\x02\x02\x00\x02"),
     "signer.lint.parse", "signer refused: not a version 3 TBSCertificate"},
    {"version not [0]", E_FIELD, F_VERSION, B("\xa1\x03\x02\x01\x02"), "signer.lint.parse",
     "signer refused: not one DER TBSCertificate"},
    {"serial of 19 octets", E_FIELD, F_SERIAL,
     B("\x02\x13\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42"),
     "signer.lint.serial", "signer refused: serial is not 16 octets and positive"},
    {"serial of 21 octets", E_FIELD, F_SERIAL,
     B("\x02\x15\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42"
       "\x42"),
     "signer.lint.serial", "signer refused: serial is not 16 octets and positive"},
    {"serial of 15 octets", E_FIELD, F_SERIAL,
     B("\x02\x0f\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42"),
     "signer.lint.serial", "signer refused: serial is not 16 octets and positive"},
    {"negative serial", E_FIELD, F_SERIAL,
     B("\x02\x10\x80\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42"),
     "signer.lint.serial", "signer refused: serial is not 16 octets and positive"},
    {"serial with a leading zero", E_FIELD, F_SERIAL,
     B("\x02\x10\x00\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42"),
     "signer.lint.serial", "signer refused: serial is not 16 octets and positive"},
    {"serial of 16 octets", E_FIELD, F_SERIAL,
     B("\x02\x10\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42"), NULL, NULL},
    {"serial not an INTEGER", E_FIELD, F_SERIAL,
     B("\x04\x10\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42\x42"),
     "signer.lint.parse", "signer refused: not one DER TBSCertificate"},
    {"inner algorithm with NULL parameters", E_FIELD, F_ALG,
     B("\x30\x0c\x06\x08\x2a\x86\x48\xce\x3d\x04\x03\x02\x05\x00"), "signer.lint.algorithm",
     "signer refused: signature algorithm is not the CA key's"},
    {"issuer of another name", E_FIELD, F_ISSUER,
     B("\x30\x12\x31\x10\x30\x0e\x06\x03\x55\x04\x03\x0c\x07\x4c\x69\x6e\x74\x20\x43\x42"),
     "signer.lint.issuer", "signer refused: issuer is not the CA's subject"},
    {"issuer the CA's name as PrintableString", E_FIELD, F_ISSUER,
     B("\x30\x12\x31\x10\x30\x0e\x06\x03\x55\x04\x03\x13\x07\x4c\x69\x6e\x74\x20\x43\x41"),
     "signer.lint.issuer", "signer refused: issuer is not the CA's subject"},
    {"issuer with an RDN that is no SET", E_FIELD, F_ISSUER,
     B("\x30\x12\x30\x10\x30\x0e\x06\x03\x55\x04\x03\x0c\x07\x4c\x69\x6e\x74\x20\x43\x41"),
     "signer.lint.parse", "signer refused: not one DER TBSCertificate"},
    {"validity in the past, UTCTime", E_FIELD, F_VALIDITY,
     B("\x30\x1e\x17\x0d\x32\x35\x30\x31\x30\x31\x30\x30\x30\x30\x30\x30\x5a\x17\x0d\x32\x35\x30"
       "\x31\x30\x32\x30\x30\x30\x30\x30\x30\x5a"),
     NULL, NULL},
    {"notAfter 29 February 2024", E_FIELD, F_VALIDITY,
     B("\x30\x1e\x17\x0d\x32\x35\x30\x31\x30\x31\x30\x30\x30\x30\x30\x30\x5a\x17\x0d\x32\x34\x30"
       "\x32\x32\x39\x32\x33\x35\x39\x35\x39\x5a"),
     NULL, NULL},
    {"notAfter 29 February 2025", E_FIELD, F_VALIDITY,
     B("\x30\x1e\x17\x0d\x32\x35\x30\x31\x30\x31\x30\x30\x30\x30\x30\x30\x5a\x17\x0d\x32\x35\x30"
       "\x32\x32\x39\x30\x30\x30\x30\x30\x30\x5a"),
     "signer.lint.parse", "signer refused: not one DER TBSCertificate"},
    {"notAfter month 13", E_FIELD, F_VALIDITY,
     B("\x30\x1e\x17\x0d\x32\x35\x30\x31\x30\x31\x30\x30\x30\x30\x30\x30\x5a\x17\x0d\x32\x35\x31"
       "\x33\x30\x31\x30\x30\x30\x30\x30\x30\x5a"),
     "signer.lint.parse", "signer refused: not one DER TBSCertificate"},
    {"notAfter hour 24", E_FIELD, F_VALIDITY,
     B("\x30\x1e\x17\x0d\x32\x35\x30\x31\x30\x31\x30\x30\x30\x30\x30\x30\x5a\x17\x0d\x32\x35\x30"
       "\x31\x30\x32\x32\x34\x30\x30\x30\x30\x5a"),
     "signer.lint.parse", "signer refused: not one DER TBSCertificate"},
    {"notAfter without Z", E_FIELD, F_VALIDITY,
     B("\x30\x1e\x17\x0d\x32\x35\x30\x31\x30\x31\x30\x30\x30\x30\x30\x30\x5a\x17\x0d\x32\x35\x30"
       "\x31\x30\x32\x30\x30\x30\x30\x30\x30\x30"),
     "signer.lint.parse", "signer refused: not one DER TBSCertificate"},
    {"notAfter with seconds fraction", E_FIELD, F_VALIDITY,
     B("\x30\x22\x17\x0d\x32\x35\x30\x31\x30\x31\x30\x30\x30\x30\x30\x30\x5a\x18\x11\x32\x30\x32"
       "\x35\x30\x31\x30\x32\x30\x30\x30\x30\x30\x30\x2e\x35\x5a"),
     "signer.lint.parse", "signer refused: not one DER TBSCertificate"},
    {"notAfter GeneralizedTime before 2050", E_FIELD, F_VALIDITY,
     B("\x30\x20\x17\x0d\x32\x35\x30\x31\x30\x31\x30\x30\x30\x30\x30\x30\x5a\x18\x0f\x32\x30\x32"
       "\x35\x30\x31\x30\x32\x30\x30\x30\x30\x30\x30\x5a"),
     "signer.lint.parse", "signer refused: not one DER TBSCertificate"},
    {"notBefore GeneralizedTime before 2050", E_FIELD, F_VALIDITY,
     B("\x30\x20\x18\x0f\x32\x30\x32\x35\x30\x31\x30\x31\x30\x30\x30\x30\x30\x30\x5a\x17\x0d\x32"
       "\x35\x30\x31\x30\x32\x30\x30\x30\x30\x30\x30\x5a"),
     "signer.lint.parse", "signer refused: not one DER TBSCertificate"},
    {"notAfter 2050, past the CA's", E_FIELD, F_VALIDITY,
     B("\x30\x20\x17\x0d\x32\x35\x30\x31\x30\x31\x30\x30\x30\x30\x30\x30\x5a\x18\x0f\x32\x30\x35"
       "\x30\x30\x31\x30\x31\x30\x30\x30\x30\x30\x30\x5a"),
     "signer.lint.validity", "signer refused: notAfter is past the CA certificate's"},
    {"notAfter 2049, past the CA's", E_FIELD, F_VALIDITY,
     B("\x30\x1e\x17\x0d\x32\x35\x30\x31\x30\x31\x30\x30\x30\x30\x30\x30\x5a\x17\x0d\x34\x39\x31"
       "\x32\x33\x31\x32\x33\x35\x39\x35\x39\x5a"),
     "signer.lint.validity", "signer refused: notAfter is past the CA certificate's"},
    {"validity with one Time", E_FIELD, F_VALIDITY,
     B("\x30\x0f\x17\x0d\x32\x35\x30\x31\x30\x31\x30\x30\x30\x30\x30\x30\x5a"), "signer.lint.parse",
     "signer refused: not one DER TBSCertificate"},
    {"subject a SET", E_FIELD, F_SUBJECT, B("\x31\x00"), "signer.lint.parse",
     "signer refused: not one DER TBSCertificate"},
    {"empty subject", E_FIELD, F_SUBJECT, B("\x30\x00"), NULL, NULL},
    {"key of an unknown algorithm", E_FIELD, F_SPKI,
     B("\x30\x2a\x30\x05\x06\x03\x2b\x65\x70\x03\x21\x00\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11"
       "\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11"),
     NULL, NULL},
    {"key BIT STRING with 8 unused bits", E_FIELD, F_SPKI,
     B("\x30\x2a\x30\x05\x06\x03\x2b\x65\x70\x03\x21\x08\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11"
       "\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11"),
     "signer.lint.parse", "signer refused: not one DER TBSCertificate"},
    {"key algorithm OID not minimal", E_FIELD, F_SPKI,
     B("\x30\x2a\x30\x05\x06\x03\x2b\x80\x65\x03\x21\x00\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11"
       "\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11\x11"),
     "signer.lint.parse", "signer refused: not one DER TBSCertificate"},
    {"issuerUniqueID", E_INSERT, F_EXTS, B("\x81\x02\x00\x01"), "signer.lint.parse",
     "signer refused: not one DER TBSCertificate"},
    {"subjectUniqueID", E_INSERT, F_EXTS, B("\x82\x02\x00\x01"), "signer.lint.parse",
     "signer refused: not one DER TBSCertificate"},
    {"no extensions: no AKI", E_FIELD, F_EXTS, B(""), "signer.lint.aki",
     "signer refused: authority key identifier is not the CA's SKI"},
    {"empty extensions", E_FIELD, F_EXTS, B("\xa3\x02\x30\x00"), "signer.lint.parse",
     "signer refused: not one DER TBSCertificate"},
    {"extensions [3] primitive", E_FIELD, F_EXTS, B("\x83\x00"), "signer.lint.parse",
     "signer refused: not one DER TBSCertificate"},
    {"critical BOOLEAN FALSE encoded", E_EXT, 0x13,
     B("\x30\x0c\x06\x03\x55\x1d\x13\x01\x01\x00\x04\x02\x30\x00"), "signer.lint.parse",
     "signer refused: not one DER TBSCertificate"},
    {"critical BOOLEAN TRUE as 0x01", E_EXT, 0x13,
     B("\x30\x0c\x06\x03\x55\x1d\x13\x01\x01\x01\x04\x02\x30\x00"), "signer.lint.parse",
     "signer refused: not one DER TBSCertificate"},
    {"extnValue not an OCTET STRING", E_EXT, 0x13,
     B("\x30\x0c\x06\x03\x55\x1d\x13\x01\x01\xff\x03\x02\x30\x00"), "signer.lint.parse",
     "signer refused: not one DER TBSCertificate"},
    {"basicConstraints CA:TRUE", E_EXT, 0x13,
     B("\x30\x0f\x06\x03\x55\x1d\x13\x01\x01\xff\x04\x05\x30\x03\x01\x01\xff"), "signer.lint.ca",
     "signer refused: basicConstraints CA:TRUE"},
    {"basicConstraints CA:TRUE, pathLen 0", E_EXT, 0x13,
     B("\x30\x12\x06\x03\x55\x1d\x13\x01\x01\xff\x04\x08\x30\x06\x01\x01\xff\x02\x01\x00"),
     "signer.lint.ca", "signer refused: basicConstraints CA:TRUE"},
    {"basicConstraints cA FALSE encoded", E_EXT, 0x13,
     B("\x30\x0f\x06\x03\x55\x1d\x13\x01\x01\xff\x04\x05\x30\x03\x01\x01\x00"),
     "signer.lint.extensions", "signer refused: invalid or duplicate extensions"},
    {"basicConstraints pathLen without cA", E_EXT, 0x13,
     B("\x30\x0f\x06\x03\x55\x1d\x13\x01\x01\xff\x04\x05\x30\x03\x02\x01\x00"),
     "signer.lint.extensions", "signer refused: invalid or duplicate extensions"},
    {"basicConstraints negative pathLen", E_EXT, 0x13,
     B("\x30\x12\x06\x03\x55\x1d\x13\x01\x01\xff\x04\x08\x30\x06\x01\x01\xff\x02\x01\xff"),
     "signer.lint.extensions", "signer refused: invalid or duplicate extensions"},
    {"basicConstraints of indefinite length", E_EXT, 0x13,
     B("\x30\x0e\x06\x03\x55\x1d\x13\x01\x01\xff\x04\x04\x30\x80\x00\x00"),
     "signer.lint.extensions", "signer refused: invalid or duplicate extensions"},
    {"basicConstraints trailing octets", E_EXT, 0x13,
     B("\x30\x0e\x06\x03\x55\x1d\x13\x01\x01\xff\x04\x04\x30\x00\x05\x00"),
     "signer.lint.extensions", "signer refused: invalid or duplicate extensions"},
    {"no basicConstraints", E_EXT, 0x13, B(""), NULL, NULL},
    {"keyUsage keyCertSign", E_EXT, 0x0f,
     B("\x30\x0e\x06\x03\x55\x1d\x0f\x01\x01\xff\x04\x04\x03\x02\x02\x84"), "signer.lint.key_usage",
     "signer refused: keyUsage keyCertSign"},
    {"keyUsage keyCertSign alone", E_EXT, 0x0f,
     B("\x30\x0e\x06\x03\x55\x1d\x0f\x01\x01\xff\x04\x04\x03\x02\x02\x04"), "signer.lint.key_usage",
     "signer refused: keyUsage keyCertSign"},
    {"keyUsage decipherOnly", E_EXT, 0x0f,
     B("\x30\x0f\x06\x03\x55\x1d\x0f\x01\x01\xff\x04\x05\x03\x03\x07\x80\x80"), NULL, NULL},
    {"keyUsage empty", E_EXT, 0x0f,
     B("\x30\x0d\x06\x03\x55\x1d\x0f\x01\x01\xff\x04\x03\x03\x01\x00"), "signer.lint.extensions",
     "signer refused: invalid or duplicate extensions"},
    {"keyUsage no bit set", E_EXT, 0x0f,
     B("\x30\x0e\x06\x03\x55\x1d\x0f\x01\x01\xff\x04\x04\x03\x02\x00\x00"),
     "signer.lint.extensions", "signer refused: invalid or duplicate extensions"},
    {"keyUsage 8 unused bits", E_EXT, 0x0f,
     B("\x30\x0e\x06\x03\x55\x1d\x0f\x01\x01\xff\x04\x04\x03\x02\x08\x80"),
     "signer.lint.extensions", "signer refused: invalid or duplicate extensions"},
    {"keyUsage a set unused bit", E_EXT, 0x0f,
     B("\x30\x0e\x06\x03\x55\x1d\x0f\x01\x01\xff\x04\x04\x03\x02\x07\x81"),
     "signer.lint.extensions", "signer refused: invalid or duplicate extensions"},
    {"keyUsage trailing zero octet", E_EXT, 0x0f,
     B("\x30\x0f\x06\x03\x55\x1d\x0f\x01\x01\xff\x04\x05\x03\x03\x07\x80\x00"),
     "signer.lint.extensions", "signer refused: invalid or duplicate extensions"},
    {"keyUsage an OCTET STRING", E_EXT, 0x0f,
     B("\x30\x0d\x06\x03\x55\x1d\x0f\x01\x01\xff\x04\x03\x04\x01\x80"), "signer.lint.extensions",
     "signer refused: invalid or duplicate extensions"},
    {"extKeyUsage empty", E_EXT, 0x25, B("\x30\x09\x06\x03\x55\x1d\x25\x04\x02\x30\x00"),
     "signer.lint.extensions", "signer refused: invalid or duplicate extensions"},
    {"extKeyUsage OID not ended", E_EXT, 0x25,
     B("\x30\x0d\x06\x03\x55\x1d\x25\x04\x06\x30\x04\x06\x02\x2b\x86"), "signer.lint.extensions",
     "signer refused: invalid or duplicate extensions"},
    {"extKeyUsage twice", E_ADDEXT, 0,
     B("\x30\x13\x06\x03\x55\x1d\x25\x04\x0c\x30\x0a\x06\x08\x2b\x06\x01\x05\x05\x07\x03\x01"),
     "signer.lint.extensions", "signer refused: invalid or duplicate extensions"},
    {"an unknown extension", E_ADDEXT, 0, B("\x30\x09\x06\x03\x2a\x03\x04\x04\x02\x05\x00"), NULL,
     NULL},
    {"AKI absent", E_EXT, 0x23, B(""), "signer.lint.aki",
     "signer refused: authority key identifier is not the CA's SKI"},
    {"AKI of another key", E_EXT, 0x23,
     B("\x30\x0e\x06\x03\x55\x1d\x23\x04\x07\x30\x05\x80\x03\x01\x02\x03"), "signer.lint.aki",
     "signer refused: authority key identifier is not the CA's SKI"},
    {"AKI without keyIdentifier", E_EXT, 0x23,
     B("\x30\x0c\x06\x03\x55\x1d\x23\x04\x05\x30\x03\x82\x01\x01"), "signer.lint.aki",
     "signer refused: authority key identifier is not the CA's SKI"},
    {"AKI keyIdentifier as OCTET STRING", E_EXT, 0x23,
     B("\x30\x0e\x06\x03\x55\x1d\x23\x04\x07\x30\x05\x04\x03\x01\x02\x03"),
     "signer.lint.extensions", "signer refused: invalid or duplicate extensions"},
    {"AKI serial before keyIdentifier", E_EXT, 0x23,
     B("\x30\x0f\x06\x03\x55\x1d\x23\x04\x08\x30\x06\x82\x01\x01\x80\x01\x01"),
     "signer.lint.extensions", "signer refused: invalid or duplicate extensions"},
    {"SKI", E_ADDEXT, 0, B("\x30\x0c\x06\x03\x55\x1d\x0e\x04\x05\x04\x03\x01\x02\x03"), NULL, NULL},
    {"SKI not an OCTET STRING", E_ADDEXT, 0, B("\x30\x09\x06\x03\x55\x1d\x0e\x04\x02\x05\x00"),
     "signer.lint.extensions", "signer refused: invalid or duplicate extensions"},
    {"subjectAltName dNSName, iPAddress, URI", E_ADDEXT, 0,
     B("\x30\x28\x06\x03\x55\x1d\x11\x04\x21\x30\x1f\x82\x09\x61\x2e\x65\x78\x61\x6d\x70\x6c\x65"
       "\x87\x04\x0a\x00\x00\x01\x86\x0c\x73\x70\x69\x66\x66\x65\x3a\x2f\x2f\x78\x2f\x79"),
     NULL, NULL},
    {"subjectAltName otherName, directoryName", E_ADDEXT, 0,
     B("\x30\x2e\x06\x03\x55\x1d\x11\x04\x27\x30\x25\xa0\x13\x06\x0a\x2b\x06\x01\x04\x01\x82\x37"
       "\x14\x02\x03\xa0\x05\x0c\x03\x75\x40\x78\xa4\x0e\x30\x0c\x31\x0a\x30\x08\x06\x03\x55\x04"
       "\x03\x0c\x01\x78"),
     NULL, NULL},
    {"subjectAltName empty", E_ADDEXT, 0, B("\x30\x09\x06\x03\x55\x1d\x11\x04\x02\x30\x00"),
     "signer.lint.extensions", "signer refused: invalid or duplicate extensions"},
    {"subjectAltName iPAddress of 5 octets", E_ADDEXT, 0,
     B("\x30\x10\x06\x03\x55\x1d\x11\x04\x09\x30\x07\x87\x05\x0a\x00\x00\x01\x02"),
     "signer.lint.extensions", "signer refused: invalid or duplicate extensions"},
    {"subjectAltName dNSName not 7-bit", E_ADDEXT, 0,
     B("\x30\x15\x06\x03\x55\x1d\x11\x04\x0e\x30\x0c\x82\x0a\xc3\xa9\x2e\x65\x78\x61\x6d\x70\x6c"
       "\x65"),
     "signer.lint.extensions", "signer refused: invalid or duplicate extensions"},
    {"subjectAltName x400Address", E_ADDEXT, 0,
     B("\x30\x0d\x06\x03\x55\x1d\x11\x04\x06\x30\x04\xa3\x02\x30\x00"), "signer.lint.extensions",
     "signer refused: invalid or duplicate extensions"},
    {"subjectAltName directoryName not a Name", E_ADDEXT, 0,
     B("\x30\x0d\x06\x03\x55\x1d\x11\x04\x06\x30\x04\xa4\x02\x31\x00"), "signer.lint.extensions",
     "signer refused: invalid or duplicate extensions"},
    {"cRLDistributionPoints fullName URI", E_ADDEXT, 0,
     B("\x30\x1d\x06\x03\x55\x1d\x1f\x04\x16\x30\x14\x30\x12\xa0\x10\xa0\x0e\x86\x0c\x68\x74\x74"
       "\x70\x3a\x2f\x2f\x78\x2f\x63\x72\x6c"),
     NULL, NULL},
    {"cRLDistributionPoints fullName empty", E_ADDEXT, 0,
     B("\x30\x0f\x06\x03\x55\x1d\x1f\x04\x08\x30\x06\x30\x04\xa0\x02\xa0\x00"),
     "signer.lint.extensions", "signer refused: invalid or duplicate extensions"},
    {"cRLDistributionPoints empty", E_ADDEXT, 0, B("\x30\x09\x06\x03\x55\x1d\x1f\x04\x02\x30\x00"),
     "signer.lint.extensions", "signer refused: invalid or duplicate extensions"},
    {"cRLDistributionPoints reasons with 8 unused bits", E_ADDEXT, 0,
     B("\x30\x0f\x06\x03\x55\x1d\x1f\x04\x08\x30\x06\x30\x04\x81\x02\x08\x80"),
     "signer.lint.extensions", "signer refused: invalid or duplicate extensions"},
};

/* Split `tbs` into its fields and its extensions (each a whole element). */
struct split {
	const unsigned char *f[F_N], *x[8];
	size_t f_len[F_N], x_len[8], nx;
};

static void
split_tbs(const unsigned char *tbs, size_t len, struct split *s)
{
	const unsigned char *p = tbs, *q, *qe, *v, *e;
	size_t n, i;
	unsigned tag;

	memset(s, 0, sizeof(*s));
	ck_assert(mca_der_next(&p, tbs + len, &tag, &q, &n));
	qe = q + n;
	for (i = 0; i < F_N; i++) {
		s->f[i] = q;
		ck_assert(mca_der_next(&q, qe, &tag, &v, &n));
		s->f_len[i] = (size_t)(q - s->f[i]);
	}
	ck_assert(q == qe);
	/* [3] { SEQUENCE { Extension... } } */
	p = s->f[F_EXTS];
	ck_assert(mca_der_next(&p, p + s->f_len[F_EXTS], &tag, &v, &n));
	p = v;
	ck_assert(mca_der_next(&p, v + n, &tag, &v, &n));
	for (p = v, e = v + n; p < e; s->nx++) {
		ck_assert_uint_lt(s->nx, 8);
		s->x[s->nx] = p;
		ck_assert(mca_der_next(&p, e, &tag, &v, &n));
		s->x_len[s->nx] = (size_t)(p - s->x[s->nx]);
	}
	ck_assert_uint_eq(s->nx, 4);
}

/* The extensions, one of them replaced or one appended per `ed`. */
static void
put_exts(struct mca_der *d, const struct split *s, const struct edit *ed)
{
	size_t i, o, q;

	o = mca_der_open(d, 0xa3);
	q = mca_der_open(d, MCA_DER_SEQUENCE);
	for (i = 0; i < s->nx; i++) {
		/* an extension: 30 len 06 03 55 1d LAST ... */
		if (ed->op == E_EXT && s->x[i][6] == ed->at)
			mca_der_raw(d, ed->der, ed->der_len);
		else
			mca_der_raw(d, s->x[i], s->x_len[i]);
	}
	if (ed->op == E_ADDEXT)
		mca_der_raw(d, ed->der, ed->der_len);
	mca_der_close(d, q);
	mca_der_close(d, o);
}

/* The TBS of `s` with the edit `ed`; malloc'd. */
static unsigned char *
edited(const struct split *s, const struct edit *ed, size_t *len)
{
	struct mca_der d;
	size_t i, mark;

	mca_der_init(&d);
	mark = mca_der_open(&d, MCA_DER_SEQUENCE);
	for (i = 0; i < F_N; i++) {
		if (ed->op == E_INSERT && (int)i == ed->at)
			mca_der_raw(&d, ed->der, ed->der_len);
		if (ed->op == E_FIELD && (int)i == ed->at)
			mca_der_raw(&d, ed->der, ed->der_len);
		else if (i == F_EXTS && (ed->op == E_EXT || ed->op == E_ADDEXT))
			put_exts(&d, s, ed);
		else
			mca_der_raw(&d, s->f[i], s->f_len[i]);
	}
	mca_der_close(&d, mark);
	ck_assert(!d.failed);
	*len = d.len;
	return d.buf;
}

START_TEST(cert_edits)
{
	const struct edit *ed = &edits[_i];
	struct mca_error err = {0};
	struct leaf l = {0};
	struct split s;
	size_t len = 0, n = 0;
	unsigned char *tbs = leaf_tbs(&ca, &l, &len), *bad;
	mca_rc rc;

	split_tbs(tbs, len, &s);
	bad = edited(&s, ed, &n);
	rc = mca_lint_cert(&lc, bad, n, &err);
	if (ed->rule == NULL) {
		ck_assert_msg(rc == MCA_OK, "%s: %s", ed->what, err.msg);
	} else {
		ck_assert_msg(rc == MCA_ERR_INTERNAL, "%s: accepted", ed->what);
		ck_assert_msg(strcmp(err.rule, ed->rule) == 0 && strcmp(err.msg, ed->msg) == 0,
		              "%s: %s: %s", ed->what, err.rule, err.msg);
	}
	free(bad);
	OPENSSL_free(tbs);
}
END_TEST

/*
 * Edits of the whole: an octet after the TBS, the TBS in indefinite
 * length or with its length in more octets than needed, more than
 * MCA_LINT_MAX_EXTS extensions (each distinct and well formed).
 */
START_TEST(cert_whole)
{
	struct mca_error err = {0};
	struct leaf l = {0};
	struct split s;
	struct mca_der d;
	size_t len = 0, i, mark, o, q, extra;
	unsigned char *tbs = leaf_tbs(&ca, &l, &len), *b = malloc(len + 8), oid[4];

	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(mca_lint_cert(&lc, tbs, len, &err), MCA_OK);
	/* trailing octet */
	memcpy(b, tbs, len);
	b[len] = 0;
	ck_assert_int_eq(mca_lint_cert(&lc, b, len + 1, &err), MCA_ERR_INTERNAL);
	ck_assert_str_eq(err.rule, "signer.lint.parse");
	ck_assert_str_eq(err.msg, "signer refused: not one DER TBSCertificate");
	/* indefinite length: 30 80 content 00 00 */
	ck_assert_uint_eq(tbs[1], 0x82);
	b[0] = 0x30;
	b[1] = 0x80;
	memcpy(b + 2, tbs + 4, len - 4);
	memcpy(b + len - 2, "\0\0", 2);
	ck_assert_int_eq(mca_lint_cert(&lc, b, len, &err), MCA_ERR_INTERNAL);
	ck_assert_str_eq(err.msg, "signer refused: not one DER TBSCertificate");
	/* 30 83 00 xx xx: a length octet too many */
	b[0] = 0x30;
	b[1] = 0x83;
	b[2] = 0;
	memcpy(b + 3, tbs + 2, len - 2);
	ck_assert_int_eq(mca_lint_cert(&lc, b, len + 1, &err), MCA_ERR_INTERNAL);
	ck_assert_str_eq(err.msg, "signer refused: not one DER TBSCertificate");
	/* the leaf's 4 extensions and 1.2.3.N for N < 29, then < 30 */
	split_tbs(tbs, len, &s);
	for (extra = MCA_LINT_MAX_EXTS - 4; extra <= MCA_LINT_MAX_EXTS - 3; extra++) {
		unsigned char *many;

		mca_der_init(&d);
		mark = mca_der_open(&d, MCA_DER_SEQUENCE);
		for (i = 0; i < F_EXTS; i++)
			mca_der_raw(&d, s.f[i], s.f_len[i]);
		o = mca_der_open(&d, 0xa3);
		q = mca_der_open(&d, MCA_DER_SEQUENCE);
		for (i = 0; i < s.nx; i++)
			mca_der_raw(&d, s.x[i], s.x_len[i]);
		for (i = 0; i < extra; i++) {
			size_t e = mca_der_open(&d, MCA_DER_SEQUENCE);

			oid[0] = 0x2a;
			oid[1] = 3;
			oid[2] = (unsigned char)i;
			mca_der_tlv(&d, MCA_DER_OID, oid, 3);
			mca_der_tlv(&d, MCA_DER_OCTETS, "\x05\x00", 2);
			mca_der_close(&d, e);
		}
		mca_der_close(&d, q);
		mca_der_close(&d, o);
		mca_der_close(&d, mark);
		ck_assert(!d.failed);
		many = d.buf;
		if (extra + 4 == MCA_LINT_MAX_EXTS) {
			ck_assert_msg(mca_lint_cert(&lc, many, d.len, &err) == MCA_OK, "%s",
			              err.msg);
		} else {
			ck_assert_int_eq(mca_lint_cert(&lc, many, d.len, &err), MCA_ERR_INTERNAL);
			ck_assert_str_eq(err.rule, "signer.lint.extensions");
			ck_assert_str_eq(err.msg,
			                 "signer refused: invalid or duplicate extensions");
		}
		mca_der_free(&d);
	}
	free(b);
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
	tcase_add_loop_test(tc, cert_edits, 0, (int)(sizeof(edits) / sizeof(edits[0])));
	tcase_add_test(tc, cert_whole);
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
