/*
 * test_p11uri.c - unit tests of p11uri.h: RFC 7512 URIs as the CA key
 * fields carry them (the attributes kept, percent-decoding, the query),
 * the exact error of every refusal (unknown or repeated attributes, bad
 * encoding, over-long values, a PIN in the URI), and format -> parse.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "signer/p11uri.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
	const char *in;
	const char *token, *object, *manufacturer, *serial, *model;
	const char *id; /* hex of the id octets, NULL: no id */
	int type;       /* enum mca_p11uri_type */
	const char *module_path, *pin_source;
} ok_tab[] = {
    /* what init writes */
    {"pkcs11:token=mtlsca;object=mtlsca-ca-01;id=%01%02%ff;type=private", "mtlsca", "mtlsca-ca-01",
     "", "", "", "0102ff", MCA_P11URI_PRIVATE, "", ""},
    /* attributes in any order, no type */
    {"pkcs11:object=k;token=t", "t", "k", "", "", "", NULL, MCA_P11URI_ANY, "", ""},
    /* percent-encoded label with a space and a semicolon */
    {"pkcs11:token=My%20Token%3bX;object=ca", "My Token;X", "ca", "", "", "", NULL, MCA_P11URI_ANY,
     "", ""},
    /* upper-case hex digits, every token attribute */
    {"pkcs11:manufacturer=SoftHSM%20project;model=SoftHSM%20v2;serial=0a1B;token=t;id=%AB", "t", "",
     "SoftHSM project", "0a1B", "SoftHSM v2", "ab", MCA_P11URI_ANY, "", ""},
    /* the query: module-path and pin-source */
    {"pkcs11:token=t;object=o;type=private?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-"
     "source=file:/etc/pin",
     "t", "o", "", "", "", NULL, MCA_P11URI_PRIVATE, "/usr/lib/softhsm/libsofthsm2.so",
     "file:/etc/pin"},
    /* a trailing separator is allowed, the other types parse */
    {"pkcs11:token=t;type=cert;", "t", "", "", "", "", NULL, MCA_P11URI_CERT, "", ""},
    {"pkcs11:token=t;type=public", "t", "", "", "", "", NULL, MCA_P11URI_PUBLIC, "", ""},
    {"pkcs11:token=t;type=secret-key", "t", "", "", "", "", NULL, MCA_P11URI_SECRET, "", ""},
    {"pkcs11:token=t;type=data", "t", "", "", "", "", NULL, MCA_P11URI_DATA, "", ""},
    /* a token label of exactly 32 octets */
    {"pkcs11:token=abcdefghijklmnopqrstuvwxyz012345", "abcdefghijklmnopqrstuvwxyz012345", "", "",
     "", "", NULL, MCA_P11URI_ANY, "", ""},
    /* percent-encoding is equivalence: type=pri%76ate is type=private */
    {"pkcs11:token=t;type=pri%76ate", "t", "", "", "", "", NULL, MCA_P11URI_PRIVATE, "", ""},
    /* nothing but the scheme */
    {"pkcs11:", "", "", "", "", "", NULL, MCA_P11URI_ANY, "", ""},
};

/* Every valid URI gives the attributes it names, nothing else. */
START_TEST(test_parse_ok)
{
	struct mca_p11uri u;
	struct mca_error err = {0};
	char hex[2 * MCA_P11URI_LABEL + 1] = "";
	size_t i;

	ck_assert_msg(mca_p11uri_parse(ok_tab[_i].in, &u, &err) == MCA_OK, "%s: %s", ok_tab[_i].in,
	              err.msg);
	ck_assert_str_eq(u.token, ok_tab[_i].token);
	ck_assert_str_eq(u.object, ok_tab[_i].object);
	ck_assert_str_eq(u.manufacturer, ok_tab[_i].manufacturer);
	ck_assert_str_eq(u.serial, ok_tab[_i].serial);
	ck_assert_str_eq(u.model, ok_tab[_i].model);
	ck_assert_int_eq(u.type, ok_tab[_i].type);
	ck_assert_str_eq(u.module_path, ok_tab[_i].module_path);
	ck_assert_str_eq(u.pin_source, ok_tab[_i].pin_source);
	ck_assert_int_eq(u.has_id, ok_tab[_i].id != NULL);
	for (i = 0; i < u.id_len; i++)
		snprintf(hex + 2 * i, 3, "%02x", u.id[i]);
	ck_assert_str_eq(hex, ok_tab[_i].id ? ok_tab[_i].id : "");
}
END_TEST

/* Each refusal and its exact message (values never appear in it). */
static const struct {
	const char *in;
	const char *msg;
} bad_tab[] = {
    {"pkcs11", "pkcs11 URI: does not start with 'pkcs11:'"},
    {"file:/etc/ca.key", "pkcs11 URI: does not start with 'pkcs11:'"},
    {"PKCS11:token=t", "pkcs11 URI: does not start with 'pkcs11:'"},
    {"pkcs11:slot-id=1", "pkcs11 URI: unknown attribute 'slot-id'"},
    {"pkcs11:token=t;Token=u", "pkcs11 URI: unknown attribute 'Token'"},
    {"pkcs11:token=t?module-name=softhsm2", "pkcs11 URI: unknown query attribute 'module-name'"},
    {"pkcs11:token=t?object=o", "pkcs11 URI: unknown query attribute 'object'"},
    {"pkcs11:module-path=/x", "pkcs11 URI: unknown attribute 'module-path'"},
    {"pkcs11:token=t;token=u", "pkcs11 URI: attribute 'token' twice"},
    {"pkcs11:type=private;type=cert", "pkcs11 URI: attribute 'type' twice"},
    {"pkcs11:token=t;type=privat", "pkcs11 URI: attribute 'type': not private, public, cert, "
                                   "secret-key or data"},
    {"pkcs11:token=t;object", "pkcs11 URI: 'object' is not name=value"},
    {"pkcs11:=x", "pkcs11 URI: '=x' is not name=value"},
    {"pkcs11:token=t;;object=o", "pkcs11 URI: empty attribute"},
    {"pkcs11:token=", "pkcs11 URI: attribute 'token': empty"},
    {"pkcs11:id=%zz", "pkcs11 URI: attribute 'id': bad percent-encoding"},
    {"pkcs11:id=%0", "pkcs11 URI: attribute 'id': bad percent-encoding"},
    {"pkcs11:id=%", "pkcs11 URI: attribute 'id': bad percent-encoding"},
    {"pkcs11:token=a b", "pkcs11 URI: attribute 'token': a character that must be "
                         "percent-encoded (space, quote, non-ASCII, ...)"},
    {"pkcs11:token=\xc3\xa9", "pkcs11 URI: attribute 'token': a character that must be "
                              "percent-encoded (space, quote, non-ASCII, ...)"},
    {"pkcs11:object=a%00b", "pkcs11 URI: attribute 'object': a NUL octet inside"},
    {"pkcs11:token=abcdefghijklmnopqrstuvwxyz0123456",
     "pkcs11 URI: attribute 'token': longer than 32 octets"},
    {"pkcs11:serial=0123456789abcdefX", "pkcs11 URI: attribute 'serial': longer than 16 octets"},
    {"pkcs11:token=t?pin-value=1234",
     "pkcs11 URI: a PIN in the URI (pin-value) is refused: use pkcs11_pin_file"},
};

START_TEST(test_parse_bad)
{
	struct mca_p11uri u;
	struct mca_error err = {0};

	ck_assert_msg(mca_p11uri_parse(bad_tab[_i].in, &u, &err) == MCA_ERR_CONFIG, "%s accepted",
	              bad_tab[_i].in);
	ck_assert_int_eq(err.code, MCA_ERR_CONFIG);
	ck_assert_str_eq(err.msg, bad_tab[_i].msg);
}
END_TEST

/* Labels and ids over 128 octets, and URIs over the bound, are refused. */
START_TEST(test_bounds)
{
	char buf[MCA_P11URI_MAX + 64];
	struct mca_p11uri u;
	struct mca_error err = {0};
	size_t i, n;

	n = (size_t)snprintf(buf, sizeof(buf), "pkcs11:object=");
	for (i = 0; i < MCA_P11URI_LABEL; i++)
		buf[n++] = 'a';
	buf[n] = '\0';
	ck_assert_int_eq(mca_p11uri_parse(buf, &u, &err), MCA_OK);
	ck_assert_uint_eq(strlen(u.object), MCA_P11URI_LABEL);
	strcat(buf, "a");
	ck_assert_int_eq(mca_p11uri_parse(buf, &u, &err), MCA_ERR_CONFIG);
	ck_assert_str_eq(err.msg, "pkcs11 URI: attribute 'object': longer than 128 octets");

	n = (size_t)snprintf(buf, sizeof(buf), "pkcs11:id=");
	for (i = 0; i <= MCA_P11URI_LABEL; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%%%02x", (unsigned)i);
	ck_assert_int_eq(mca_p11uri_parse(buf, &u, &err), MCA_ERR_CONFIG);
	ck_assert_str_eq(err.msg, "pkcs11 URI: attribute 'id': longer than 128 octets");

	n = (size_t)snprintf(buf, sizeof(buf), "pkcs11:token=t;object=");
	while (n < MCA_P11URI_MAX + 1)
		buf[n++] = 'b';
	buf[n] = '\0';
	ck_assert_int_eq(mca_p11uri_parse(buf, &u, &err), MCA_ERR_CONFIG);
	ck_assert_str_eq(err.msg, "pkcs11 URI: longer than 2048 octets");
}
END_TEST

/* What mca_p11uri_format writes parses back to the same token, label and id. */
START_TEST(test_format_round_trip)
{
	static const unsigned char id[] = {0x00, 0x3b, 0x25, 0xff, 'a'};
	struct mca_p11uri u;
	struct mca_error err = {0};
	char *s = NULL;

	ck_assert_int_eq(mca_p11uri_format("My Token;%", "ca key/1", id, sizeof(id), &s, &err),
	                 MCA_OK);
	ck_assert_str_eq(s, "pkcs11:token=My%20Token%3b%25;object=ca%20key%2f1;id=%00%3b%25%ff%61;"
	                    "type=private");
	ck_assert_int_eq(mca_p11uri_parse(s, &u, &err), MCA_OK);
	ck_assert_str_eq(u.token, "My Token;%");
	ck_assert_str_eq(u.object, "ca key/1");
	ck_assert_uint_eq(u.id_len, sizeof(id));
	ck_assert_mem_eq(u.id, id, sizeof(id));
	ck_assert_int_eq(u.type, MCA_P11URI_PRIVATE);
	free(s);
}
END_TEST

/* mca_p11uri_is: the scheme only; a key file is never taken for a URI. */
START_TEST(test_is)
{
	ck_assert(mca_p11uri_is("pkcs11:token=t"));
	ck_assert(mca_p11uri_is("pkcs11:"));
	ck_assert(!mca_p11uri_is("pkcs11"));
	ck_assert(!mca_p11uri_is("ca.key"));
	ck_assert(!mca_p11uri_is("./pkcs11:token=t"));
	ck_assert(!mca_p11uri_is(NULL));
}
END_TEST

static Suite *
p11uri_suite(void)
{
	Suite *s = suite_create("p11uri");
	TCase *tc = tcase_create("parse");

	tcase_add_loop_test(tc, test_parse_ok, 0, NELEM(ok_tab));
	tcase_add_loop_test(tc, test_parse_bad, 0, NELEM(bad_tab));
	tcase_add_test(tc, test_bounds);
	tcase_add_test(tc, test_format_round_trip);
	tcase_add_test(tc, test_is);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(p11uri_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
