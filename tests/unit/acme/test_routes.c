/*
 * test_routes.c - unit tests of acme/routes.h: which resource a POST path
 * addresses (exact names, KIND/ID with 16 lower-case hex digits, the
 * "/orders" suffix of an account) and who may sign for it (RFC 8555 6.2:
 * a jwk for newAccount, a jwk or a kid for revokeCert, a kid for every
 * other resource and for unknown paths); paths that are near misses
 * address nothing; every row is well-formed.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "acme/routes.h"

#define ID  "0123456789abcdef"
#define JWK ACME_SIGNER_JWK
#define KID ACME_SIGNER_KID

static const struct {
	const char *rest;
	const char *name; /* NULL: no route */
	const char *id;   /* "" for exact resources */
	unsigned signers;
} cases[] = {
    {"new-account", "newAccount", "", JWK},
    {"revoke-cert", "revokeCert", "", JWK | KID},
    {"new-order", "newOrder", "", KID},
    {"key-change", "keyChange", "", KID},
    {"acct/" ID, "account", ID, KID},
    {"acct/" ID "/orders", "orders", ID, KID},
    {"order/" ID, "order", ID, KID},
    {"authz/" ID, "authorization", ID, KID},
    {"chall/" ID, "challenge", ID, KID},
    {"finalize/" ID, "finalize", ID, KID},
    {"cert/" ID, "certificate", ID, KID},
    {"cert/fedcba9876543210", "certificate", "fedcba9876543210", KID},
    /* near misses */
    {"", NULL, "", 0},
    {"directory", NULL, "", 0},
    {"new-nonce", NULL, "", 0},
    {"new-account/", NULL, "", 0},
    {"new-accounts", NULL, "", 0},
    {"New-Account", NULL, "", 0},
    {"new-order/" ID, NULL, "", 0},
    {"acct", NULL, "", 0},
    {"acct/", NULL, "", 0},
    {"acct/" ID "/", NULL, "", 0},
    {"acct/" ID "/orders/", NULL, "", 0},
    {"acct/" ID "/order", NULL, "", 0},
    {"acct/" ID "/x", NULL, "", 0},
    {"order/" ID "/orders", NULL, "", 0},
    {"order/" ID "/", NULL, "", 0},
    {"order/" ID "0", NULL, "", 0},
    {"order/0123456789abcde", NULL, "", 0},
    {"order/0123456789ABCDEF", NULL, "", 0},
    {"order/0123456789abcdeg", NULL, "", 0},
    {"order//" ID, NULL, "", 0},
    {"orders/" ID, NULL, "", 0},
    {"/order/" ID, NULL, "", 0},
    {"chall" ID, NULL, "", 0},
    {"challenge/" ID, NULL, "", 0},
};

START_TEST(test_find)
{
	char id[MCA_ACME_ID_LEN + 1];
	const struct acme_route *rt;

	memset(id, 'X', sizeof(id));
	rt = acme_route_find(cases[_i].rest, id);
	if (cases[_i].name == NULL) {
		ck_assert_msg(rt == NULL, "'%s' addresses %s", cases[_i].rest, rt ? rt->name : "");
	} else {
		ck_assert_msg(rt != NULL, "'%s' addresses nothing", cases[_i].rest);
		ck_assert_str_eq(rt->name, cases[_i].name);
		ck_assert_msg(rt->signers == cases[_i].signers, "'%s': signers %u, want %u",
		              cases[_i].rest, rt->signers, cases[_i].signers);
	}
	ck_assert_str_eq(id, cases[_i].id);
}
END_TEST

/* A path that addresses nothing is still authenticated as an account request. */
START_TEST(test_unknown_signers)
{
	ck_assert_uint_eq(ACME_SIGNERS_UNKNOWN, KID);
}
END_TEST

START_TEST(test_rows)
{
	const struct acme_route *rt, *o;
	size_t n = 0;

	for (rt = acme_routes; rt->path != NULL; rt++, n++) {
		ck_assert_ptr_nonnull(rt->name);
		ck_assert_ptr_nonnull(rt->suffix);
		ck_assert_msg(rt->signers != 0 && (rt->signers & ~(unsigned)(JWK | KID)) == 0,
		              "%s: signers %u", rt->name, rt->signers);
		if (rt->match == ACME_MATCH_EXACT)
			ck_assert_msg(rt->exact != NULL && rt->by_id == NULL &&
			                  rt->suffix[0] == '\0',
			              "%s: an exact row has an exact handler only", rt->name);
		else
			ck_assert_msg(rt->match == ACME_MATCH_ID && rt->exact == NULL &&
			                  rt->by_id != NULL,
			              "%s: an id row has a by_id handler only", rt->name);
		/* Only newAccount and revokeCert take a jwk (RFC 8555 6.2). */
		if (rt->signers & JWK)
			ck_assert_msg(strcmp(rt->path, "new-account") == 0 ||
			                  strcmp(rt->path, "revoke-cert") == 0,
			              "%s accepts a jwk", rt->name);
		for (o = acme_routes; o != rt; o++)
			ck_assert_msg(strcmp(o->path, rt->path) != 0 ||
			                  strcmp(o->suffix, rt->suffix) != 0 ||
			                  o->match != rt->match,
			              "%s and %s are the same resource", o->name, rt->name);
	}
	ck_assert_uint_eq(n, 11);
}
END_TEST

static Suite *
routes_suite(void)
{
	Suite *s = suite_create("acme_routes");
	TCase *tc = tcase_create("routes");

	tcase_add_loop_test(tc, test_find, 0, (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, test_unknown_signers);
	tcase_add_test(tc, test_rows);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(routes_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
