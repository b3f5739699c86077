/*
 * test_ocspcache.c - mtlscad's OCSP responder (daemon/ocspcache.h) over a
 * real store, with in-process keys for the CA, the root and the responder
 * (mtlscad's come from the signer process; here key_fn hands out a local
 * one, which a test swaps to play a new signer process).
 *  - the responder certificate: made by the first tick (EKU OCSPSigning,
 *    nocheck, issued by the CA, recorded as profile ocsp-responder), made
 *    again for a new signer process (epoch), kept otherwise.
 *  - answers, table-driven: good, revoked with its reason, unknown, the
 *    CA level through the root (unauthorized with the root offline), a
 *    leaf asked under the root, malformed, five certificates, a foreign
 *    issuer, two certificates at once, a nonce (not echoed with nonce off,
 *    echoed with nonce on); every signed one verifies with OpenSSL against
 *    the CA (delegated) or the root.
 *  - the cache: a second request gets the very same bytes; a revocation
 *    here (mca_ocsp_revoked) answers revoked at once; one elsewhere is seen
 *    after mca_ocsp_changed, and an unchanged status keeps the signed
 *    response (no new signature); on demand signatures are rate limited
 *    (tryLater); at cache_max the cache is emptied; the metrics count it.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include "ca/record.h"
#include "daemon/ocspcache.h"
#include "pki/certgen.h"
#include "pki/keys.h"
#include "pki/serial.h"
#include "signer/signer.h"
#include "testutil.h"

struct key {
	EVP_PKEY *key;
	X509 *cert;
	struct mca_signer *signer;
};

static struct key root, ca, foreign, responder_key;
static X509 *sub_ca, *leaf_good, *leaf_revoked, *leaf_under_root;
static char dir[256], db[300];
static struct mca_store *st;

/* A certificate for `k` named CN=`cn`, issued by `issuer` (NULL: self-signed). */
static X509 *
certify(struct key *k, const char *cn, struct key *issuer, int is_ca)
{
	struct mca_certgen g;
	struct mca_error err = {0};
	unsigned char serial[MCA_SERIAL_LEN];
	X509_NAME *n = X509_NAME_new();
	X509 *x = NULL;
	int64_t now = (int64_t)time(NULL);

	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	ck_assert_int_eq(mca_serial_generate(serial, &err), MCA_OK);
	memset(&g, 0, sizeof(g));
	g.serial = serial;
	g.serial_len = sizeof(serial);
	g.subject = n;
	g.pubkey = k->key;
	g.issuer = issuer ? issuer->cert : NULL;
	g.not_before = now - 60;
	g.not_after = now + 10 * 86400;
	g.ca = is_ca;
	g.pathlen = -1;
	g.key_usage = is_ca ? MCA_KU_KEY_CERT_SIGN | MCA_KU_CRL_SIGN : MCA_KU_DIGITAL_SIGNATURE;
	g.ext_key_usage = is_ca ? 0 : MCA_EKU_CLIENT_AUTH;
	g.ski = is_ca;
	ck_assert_msg(mca_certgen_build(&g, &x, &err) == MCA_OK, "%s", err.msg);
	ck_assert_msg(mca_signer_sign_cert(issuer ? issuer->signer : k->signer, &x, &err) == MCA_OK,
	              "%s", err.msg);
	X509_NAME_free(n);
	return x;
}

static void
key_new(struct key *k)
{
	struct mca_error err = {0};

	k->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	ck_assert_int_eq(mca_signer_local_new(k->key, &k->signer, &err), MCA_OK);
}

static void
key_free(struct key *k)
{
	mca_signer_free(k->signer);
	X509_free(k->cert);
	EVP_PKEY_free(k->key);
	memset(k, 0, sizeof(*k));
}

/* A leaf of `issuer`, recorded under `profile`. */
static X509 *
leaf(struct key *issuer, const char *profile, int is_ca)
{
	struct key k = {0};
	struct mca_error err = {0};
	X509 *x;

	key_new(&k);
	x = certify(&k, "leaf", issuer, is_ca);
	ck_assert_msg(mca_record_cert(st, x, profile, "test", "test", "issue", &err) == MCA_OK,
	              "%s", err.msg);
	key_free(&k);
	return x;
}

static char *
serial_of(X509 *x)
{
	static char buf[MCA_SERIAL_HEX_MAX];
	struct mca_error err = {0};

	ck_assert_int_eq(mca_serial_from_asn1(X509_get0_serialNumber(x), buf, &err), MCA_OK);
	return buf;
}

static int
count_cb(void *arg, const struct mca_cert_rec *rec)
{
	(void)rec;
	(*(int *)arg)++;
	return 0;
}

/* The key_fn: whatever responder_key holds now. */
static mca_rc
key_fn(void *arg, struct mca_signer **out, struct mca_error *err)
{
	(void)arg;
	return mca_signer_local_new(responder_key.key, out, err);
}

static void
setup(void)
{
	struct mca_error err = {0};
	int changed = 0;

	tu_mkdtemp(dir, sizeof(dir), "ocspcache");
	snprintf(db, sizeof(db), "%s/ca.db", dir);
	ck_assert_int_eq(mca_store_open(db, 1, &st, &err), MCA_OK);
	key_new(&root);
	root.cert = certify(&root, "Root", NULL, 1);
	key_new(&ca);
	ca.cert = certify(&ca, "Issuing CA", &root, 1);
	key_new(&foreign);
	foreign.cert = certify(&foreign, "Foreign", NULL, 1);
	key_new(&responder_key);
	sub_ca = leaf(&root, "ca", 1);
	leaf_good = leaf(&ca, "private", 0);
	leaf_revoked = leaf(&ca, "private", 0);
	leaf_under_root = leaf(&root, "private", 0);
	ck_assert_int_eq(mca_store_cert_revoke(st, serial_of(leaf_revoked), time(NULL) - 100,
	                                       "keyCompromise", "test", &changed, &err),
	                 MCA_OK);
}

static void
teardown(void)
{
	X509_free(sub_ca);
	X509_free(leaf_good);
	X509_free(leaf_revoked);
	X509_free(leaf_under_root);
	key_free(&root);
	key_free(&ca);
	key_free(&foreign);
	key_free(&responder_key);
	mca_store_close(st);
	tu_db_remove(db);
	tu_rmtree(dir);
}

static struct mca_ocsp *
responder(int root_online, int nonce, unsigned per_second, unsigned cache_max)
{
	struct mca_ocsp_conf c = {3600, 1800, 86400, nonce, per_second, cache_max};
	struct mca_error err = {0};
	struct mca_ocsp *o = NULL;

	ck_assert_int_eq(mca_ocsp_new(&c, key_fn, NULL, ca.signer, ca.cert,
	                              root_online ? root.signer : NULL, root.cert, &o, &err),
	                 MCA_OK);
	ck_assert_msg(mca_ocsp_tick(o, st, 1, &err) == MCA_OK, "%s", err.msg);
	return o;
}

/* An OCSP request (DER, malloc'd) for `n` certificates of `issuer`; `nonce` adds one. */
static unsigned char *
request(X509 **certs, int n, X509 *issuer, int nonce, size_t *len)
{
	OCSP_REQUEST *r = OCSP_REQUEST_new();
	unsigned char *der = NULL;
	int i, l;

	for (i = 0; i < n; i++)
		ck_assert_ptr_nonnull(
		    OCSP_request_add0_id(r, OCSP_cert_to_id(NULL, certs[i], issuer)));
	if (nonce)
		ck_assert_int_eq(OCSP_request_add1_nonce(r, NULL, 16), 1);
	l = i2d_OCSP_REQUEST(r, &der);
	ck_assert_int_gt(l, 0);
	*len = (size_t)l;
	OCSP_REQUEST_free(r);
	return der;
}

/*
 * Check a's response: its status, and when successful that it verifies
 * against `anchor` (with the responder's certificate, or signed by the
 * anchor itself), answers `want` for certs[0] and has a nonce iff `nonce`.
 */
static void
check_answer(const struct mca_ocsp_answer *a, int rstatus, X509 **certs, X509 *issuer, X509 *anchor,
             int want, int nonce)
{
	const unsigned char *p = a->der;
	OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &p, (long)a->der_len);
	OCSP_BASICRESP *bs;
	OCSP_CERTID *id;
	X509_STORE *trust;
	STACK_OF(X509) * chain;
	int status = -1, reason = -1;
	ASN1_GENERALIZEDTIME *rev = NULL, *tu = NULL, *nu = NULL;

	ck_assert_ptr_nonnull(resp);
	ck_assert_int_eq(OCSP_response_status(resp), rstatus);
	if (rstatus != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
		ck_assert_ptr_null(a->resp);
		OCSP_RESPONSE_free(resp);
		return;
	}
	bs = OCSP_response_get1_basic(resp);
	/* the root is the anchor; `anchor` (the CA or the root) issued the signer or is it */
	trust = X509_STORE_new();
	X509_STORE_add_cert(trust, root.cert);
	chain = sk_X509_new_null();
	sk_X509_push(chain, anchor);
	ck_assert_msg(OCSP_basic_verify(bs, chain, trust, 0) == 1, "the response does not verify");
	sk_X509_free(chain);
	id = OCSP_cert_to_id(NULL, certs[0], issuer);
	ck_assert_int_eq(OCSP_resp_find_status(bs, id, &status, &reason, &rev, &tu, &nu), 1);
	ck_assert_int_eq(status, want);
	ck_assert_int_eq(OCSP_check_validity(tu, nu, 60, -1), 1);
	if (want == V_OCSP_CERTSTATUS_REVOKED) {
		ck_assert_int_eq(reason, OCSP_REVOKED_STATUS_KEYCOMPROMISE);
		ck_assert_ptr_nonnull(rev);
	}
	ck_assert_int_eq(OCSP_BASICRESP_get_ext_by_NID(bs, NID_id_pkix_OCSP_Nonce, -1) >= 0, nonce);
	OCSP_CERTID_free(id);
	X509_STORE_free(trust);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	ERR_clear_error();
}

/* The value of metric line `name` in o's text (-1: absent). */
static long long
metric(struct mca_ocsp *o, const char *name)
{
	char *text = mca_ocsp_metrics(o, (int64_t)time(NULL)), *p;
	size_t n = strlen(name);
	long long v = -1;

	ck_assert_ptr_nonnull(text);
	for (p = text; (p = strstr(p, name)) != NULL; p += n)
		if ((p == text || p[-1] == '\n') && p[n] == ' ') {
			v = atoll(p + n + 1);
			break;
		}
	free(text);
	return v;
}

static const struct answer_case {
	const char *name;
	int which; /* 0 good, 1 revoked, 2 never issued, 3 sub CA, 4 leaf under root,
	              5 foreign, 6 junk, 7 five, 8 good+revoked */
	int root_online, nonce_on, nonce_sent;
	int rstatus, want;
	enum mca_ocsp_outcome outcome;
	int cached;
} cases[] = {
    {"good", 0, 1, 0, 0, 0, V_OCSP_CERTSTATUS_GOOD, MCA_OCSP_OUT_GOOD, 1},
    {"revoked, with reason", 1, 1, 0, 0, 0, V_OCSP_CERTSTATUS_REVOKED, MCA_OCSP_OUT_REVOKED, 1},
    {"never issued", 2, 1, 0, 0, 0, V_OCSP_CERTSTATUS_UNKNOWN, MCA_OCSP_OUT_UNKNOWN, 1},
    {"the CA level, root online", 3, 1, 0, 0, 0, V_OCSP_CERTSTATUS_GOOD, MCA_OCSP_OUT_GOOD, 1},
    {"the CA level, root offline", 3, 0, 0, 0, OCSP_RESPONSE_STATUS_UNAUTHORIZED, 0,
     MCA_OCSP_OUT_UNAUTHORIZED, 0},
    {"a leaf of the root is not a CA certificate", 4, 1, 0, 0, 0, V_OCSP_CERTSTATUS_UNKNOWN,
     MCA_OCSP_OUT_UNKNOWN, 1},
    {"another CA's", 5, 1, 0, 0, OCSP_RESPONSE_STATUS_UNAUTHORIZED, 0, MCA_OCSP_OUT_UNAUTHORIZED,
     0},
    {"junk", 6, 1, 0, 0, OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, 0, MCA_OCSP_OUT_MALFORMED, 0},
    {"five certificates", 7, 1, 0, 0, OCSP_RESPONSE_STATUS_UNAUTHORIZED, 0,
     MCA_OCSP_OUT_UNAUTHORIZED, 0},
    {"two certificates: on demand", 8, 1, 0, 0, 0, V_OCSP_CERTSTATUS_GOOD, MCA_OCSP_OUT_REVOKED, 0},
    {"a nonce, nonce off: pre-signed, not echoed", 0, 1, 0, 1, 0, V_OCSP_CERTSTATUS_GOOD,
     MCA_OCSP_OUT_GOOD, 1},
    {"a nonce, nonce on: echoed, on demand", 0, 1, 1, 1, 0, V_OCSP_CERTSTATUS_GOOD,
     MCA_OCSP_OUT_GOOD, 0},
};

START_TEST(answers)
{
	const struct answer_case *c = &cases[_i];
	struct mca_ocsp *o = responder(c->root_online, c->nonce_on, 100, 1000);
	struct mca_ocsp_answer a;
	X509 *certs[5] = {leaf_good, leaf_revoked, leaf_good, leaf_good, leaf_good};
	X509 *never = NULL, *issuer = ca.cert, *anchor = ca.cert;
	struct key nk = {0};
	unsigned char *der = NULL;
	size_t len = 0;
	int n = 1;

	switch (c->which) {
	case 0:
		break;
	case 1:
		certs[0] = leaf_revoked;
		break;
	case 2: /* issued by the CA's key, never recorded */
		key_new(&nk);
		never = certify(&nk, "never", &ca, 0);
		certs[0] = never;
		break;
	case 3:
		certs[0] = sub_ca;
		issuer = anchor = root.cert;
		break;
	case 4:
		certs[0] = leaf_under_root;
		issuer = anchor = root.cert;
		break;
	case 5:
		certs[0] = foreign.cert;
		issuer = foreign.cert;
		break;
	case 7:
		n = 5;
		break;
	case 8:
		n = 2;
		break;
	}
	if (c->which == 6) {
		der = malloc(4);
		memcpy(der, "junk", 4);
		len = 4;
	} else {
		der = request(certs, n, issuer, c->nonce_sent, &len);
	}
	mca_ocsp_answer(o, st, der, len, &a);
	ck_assert_msg(a.outcome == c->outcome, "%s: outcome %s", c->name,
	              mca_ocsp_outcome_name(a.outcome));
	ck_assert_int_eq(a.cached, c->cached);
	check_answer(&a, c->rstatus, certs, issuer, anchor, c->want, c->nonce_on && c->nonce_sent);
	if (a.cached) {
		ck_assert_ptr_nonnull(a.etag);
		ck_assert_int_eq(a.next_update - a.this_update, 3600);
	}
	mca_ocsp_resp_release(a.resp);
	free(der);
	X509_free(never);
	key_free(&nk);
	mca_ocsp_free(o);
}
END_TEST

START_TEST(responder_certificate)
{
	struct mca_ocsp *o = responder(1, 0, 100, 1000);
	struct mca_cert_filter f = {0};
	struct mca_error err = {0};
	struct mca_ocsp_answer a;
	X509 *certs[1] = {leaf_good};
	unsigned char *der;
	size_t len = 0;
	int count = 0;

	f.profile = "ocsp-responder";
	ck_assert_int_eq(mca_store_cert_list(st, &f, count_cb, &count, &err), MCA_OK);
	ck_assert_int_eq(count, 1);
	/* the same signer process: no new certificate */
	ck_assert_int_eq(mca_ocsp_tick(o, st, 1, &err), MCA_OK);
	count = 0;
	ck_assert_int_eq(mca_store_cert_list(st, &f, count_cb, &count, &err), MCA_OK);
	ck_assert_int_eq(count, 1);
	/* a new signer process, a new key: a new certificate, and responses verify */
	key_free(&responder_key);
	key_new(&responder_key);
	ck_assert_int_eq(mca_ocsp_tick(o, st, 2, &err), MCA_OK);
	count = 0;
	ck_assert_int_eq(mca_store_cert_list(st, &f, count_cb, &count, &err), MCA_OK);
	ck_assert_int_eq(count, 2);
	der = request(certs, 1, ca.cert, 0, &len);
	mca_ocsp_answer(o, st, der, len, &a);
	check_answer(&a, 0, certs, ca.cert, ca.cert, V_OCSP_CERTSTATUS_GOOD, 0);
	mca_ocsp_resp_release(a.resp);
	free(der);
	ck_assert_int_gt(metric(o, "mtlsca_ocsp_responder_expiry_seconds"), 86000);
	mca_ocsp_free(o);
}
END_TEST

START_TEST(cache)
{
	struct mca_ocsp *o = responder(1, 0, 2, 16);
	struct mca_error err = {0};
	struct mca_ocsp_answer a, b;
	X509 *certs[2] = {leaf_good, leaf_revoked};
	X509 *extra[20];
	unsigned char *der, *two;
	size_t len = 0, len2 = 0, i;
	int changed = 0;
	long long sigs;

	der = request(certs, 1, ca.cert, 0, &len);
	mca_ocsp_answer(o, st, der, len, &a);
	mca_ocsp_answer(o, st, der, len, &b);
	ck_assert(a.der == b.der); /* the very same pre-signed bytes */
	ck_assert_int_eq(metric(o, "mtlsca_ocsp_cache_lookups_total{result=\"hit\"}"), 1);
	mca_ocsp_resp_release(a.resp);
	mca_ocsp_resp_release(b.resp);

	/* revoked elsewhere: served from the cache until told, then checked again */
	ck_assert_int_eq(mca_store_cert_revoke(st, serial_of(leaf_good), time(NULL),
	                                       "keyCompromise", "x", &changed, &err),
	                 MCA_OK);
	mca_ocsp_answer(o, st, der, len, &a);
	ck_assert_int_eq(a.outcome, MCA_OCSP_OUT_GOOD);
	mca_ocsp_resp_release(a.resp);
	sigs = metric(o, "mtlsca_ocsp_signatures_total");
	mca_ocsp_changed(o);
	mca_ocsp_answer(o, st, der, len, &a);
	ck_assert_int_eq(a.outcome, MCA_OCSP_OUT_REVOKED);
	check_answer(&a, 0, certs, ca.cert, ca.cert, V_OCSP_CERTSTATUS_REVOKED, 0);
	mca_ocsp_resp_release(a.resp);
	ck_assert_int_eq(metric(o, "mtlsca_ocsp_signatures_total"), sigs + 1);
	/* a change that is not this certificate's: checked, not signed again */
	mca_ocsp_changed(o);
	mca_ocsp_answer(o, st, der, len, &a);
	ck_assert_int_eq(a.outcome, MCA_OCSP_OUT_REVOKED);
	mca_ocsp_resp_release(a.resp);
	ck_assert_int_eq(metric(o, "mtlsca_ocsp_signatures_total"), sigs + 1);
	free(der);

	/* a revocation here drops the response at once */
	extra[0] = leaf(&ca, "private", 0);
	der = request(extra, 1, ca.cert, 0, &len);
	mca_ocsp_answer(o, st, der, len, &a);
	ck_assert_int_eq(a.outcome, MCA_OCSP_OUT_GOOD);
	mca_ocsp_resp_release(a.resp);
	ck_assert_int_eq(mca_store_cert_revoke(st, serial_of(extra[0]), time(NULL), "keyCompromise",
	                                       "x", &changed, &err),
	                 MCA_OK);
	mca_ocsp_revoked(o, serial_of(extra[0]));
	mca_ocsp_answer(o, st, der, len, &a);
	ck_assert_int_eq(a.outcome, MCA_OCSP_OUT_REVOKED);
	mca_ocsp_resp_release(a.resp);
	free(der);
	X509_free(extra[0]);

	/* on demand: 2 a second, the third at once is tryLater */
	two = request(certs, 2, ca.cert, 0, &len2);
	mca_ocsp_answer(o, st, two, len2, &a);
	ck_assert_int_eq(a.outcome, MCA_OCSP_OUT_REVOKED);
	mca_ocsp_resp_release(a.resp);
	mca_ocsp_answer(o, st, two, len2, &a);
	mca_ocsp_resp_release(a.resp);
	mca_ocsp_answer(o, st, two, len2, &a);
	ck_assert_int_eq(a.outcome, MCA_OCSP_OUT_TRY_LATER);
	check_answer(&a, OCSP_RESPONSE_STATUS_TRYLATER, certs, ca.cert, ca.cert, 0, 0);
	free(two);

	/* cache_max 16: the 17th response empties the cache */
	for (i = 0; i < 20; i++) {
		extra[i] = leaf(&ca, "private", 0);
		der = request(&extra[i], 1, ca.cert, 0, &len);
		mca_ocsp_answer(o, st, der, len, &a);
		ck_assert_int_eq(a.outcome, MCA_OCSP_OUT_GOOD);
		mca_ocsp_resp_release(a.resp);
		free(der);
		ck_assert_int_le(metric(o, "mtlsca_ocsp_cached_responses"), 16);
	}
	ck_assert_int_lt(metric(o, "mtlsca_ocsp_cached_responses"), 16);
	for (i = 0; i < 20; i++)
		X509_free(extra[i]);
	ck_assert_int_ge(
	    metric(o, "mtlsca_ocsp_requests_total{status=\"successful\",answer=\"revoked\"}"), 3);
	ck_assert_int_eq(
	    metric(o, "mtlsca_ocsp_requests_total{status=\"tryLater\",answer=\"none\"}"), 1);
	ck_assert_int_gt(metric(o, "mtlsca_ocsp_response_age_seconds_count"), 20);
	mca_ocsp_free(o);
}
END_TEST

int
main(void)
{
	Suite *su = suite_create("ocspcache");
	TCase *tc = tcase_create("ocspcache");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, answers, 0, (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, responder_certificate);
	tcase_add_test(tc, cache);
	suite_add_tcase(su, tc);
	sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
