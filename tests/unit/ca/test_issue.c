/*
 * test_issue.c - unit tests of issue.h: the issuance engine on a real CA
 * directory made by mca_init_run.  An accepted request is signed by the CA
 * and recorded with its audit row; token, renewal and domain-validation
 * authorization refuse what they must; and the second look refuses a
 * certificate that differs from what the policy approved (simulated with
 * mca_issue_test_hook), recording nothing.
 *
 * The CA directory is made once per test case in the parent process (an
 * unchecked fixture); each forked test opens its own signer, profiles and
 * store connection on it (a checked fixture).  Tests share the database,
 * so they compare row counts before and after, and use names of their own.
 */
#include "config.h" /* defines _GNU_SOURCE: asprintf, nftw */

#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <check.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca/conf.h"
#include "ca/issue.h"
#include "ca/pkiinit.h"
#include "ca/record.h"
#include "ca/token.h"
#include "pki/certgen.h"
#include "pki/csr.h"
#include "pki/keys.h"
#include "pki/serial.h"
#include "policy/names.h"
#include "policy/profile.h"
#include "signer/signer.h"
#include "store/store.h"
#include "testutil.h"

#define NELEM(a)  (sizeof(a) / sizeof((a)[0]))
#define MAX_NAMES 4
#define DAY       86400

/* ---- the CA directory (parent process, once per test case): cadir.h ------ */

#define CADIR_TAG  "issue"
#define CADIR_NAME "Issue Test CA"
#include "cadir.h"

/* ---- per test: signer, CA certificate, profiles, store, issuer ------------- */

static struct mca_conf *conf;
static struct mca_signer *signer;
static X509 *ca_cert;
static struct mca_profiles *profiles;
static struct mca_store *store;
static struct mca_issuer *issuer;

static void
engine_setup(void)
{
	struct mca_error err = {0};

	ck_assert_msg(mca_conf_load(conf_path, &conf, &err) == MCA_OK, "conf: %s", err.msg);
	ck_assert_msg(mca_signer_load(conf->ca_key, NULL, NULL, NULL, &signer, &err) == MCA_OK,
	              "signer: %s", err.msg);
	ck_assert_msg(mca_cert_load(conf->ca_cert, &ca_cert, &err) == MCA_OK, "ca.crt: %s",
	              err.msg);
	ck_assert_msg(mca_profiles_load(conf->templates_dir, &profiles, &err) == MCA_OK,
	              "profiles: %s", err.msg);
	ck_assert_msg(mca_store_open(conf->database, 0, &store, &err) == MCA_OK, "store: %s",
	              err.msg);
	ck_assert_msg(mca_issuer_new(signer, ca_cert, profiles, conf->crl_url, conf->ca_issuers_url,
	                             &issuer, &err) == MCA_OK,
	              "issuer: %s", err.msg);
	mca_issue_test_hook = NULL;
}

static void
engine_teardown(void)
{
	mca_issue_test_hook = NULL;
	mca_issuer_free(issuer);
	mca_store_close(store);
	mca_profiles_free(profiles);
	X509_free(ca_cert);
	mca_signer_free(signer);
	mca_conf_free(conf);
	issuer = NULL;
	store = NULL;
	profiles = NULL;
	ca_cert = NULL;
	signer = NULL;
	conf = NULL;
}

/* ---- CSRs ------------------------------------------------------------------ */

/* A fresh key of type `t`. */
static EVP_PKEY *
new_key(enum mca_key_type t)
{
	struct mca_error err = {0};
	EVP_PKEY *k = NULL;

	ck_assert_msg(mca_key_generate(t, &k, &err) == MCA_OK, "keygen: %s", err.msg);
	return k;
}

/*
 * A parsed CSR signed by `key`, subject CN `cn` (NULL: empty subject) and a
 * SAN of `names` ("DNS:x", "IP:x", "URI:x"; NULL-terminated).
 */
static struct mca_csr *
make_csr_key(EVP_PKEY *key, const char *cn, const char *const *names)
{
	struct mca_error err = {0};
	X509_REQ *req = X509_REQ_new();
	X509_NAME *subj = X509_NAME_new();
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	STACK_OF(X509_EXTENSION) *exts = NULL;
	struct mca_csr *csr = NULL;
	unsigned char *der = NULL;
	int der_len, id;
	size_t i;

	ck_assert(req != NULL && subj != NULL && gens != NULL);
	ck_assert_int_eq(X509_REQ_set_version(req, 0), 1);
	if (cn != NULL)
		ck_assert_int_eq(X509_NAME_add_entry_by_NID(subj, NID_commonName, MBSTRING_UTF8,
		                                            (const unsigned char *)cn, -1, -1, 0),
		                 1);
	ck_assert_int_eq(X509_REQ_set_subject_name(req, subj), 1);
	ck_assert_int_eq(X509_REQ_set_pubkey(req, key), 1);
	for (i = 0; names != NULL && names[i] != NULL; i++) {
		const char *n = names[i];

		if (strncmp(n, "DNS:", 4) == 0)
			ck_assert_int_eq(mca_san_add(gens, GEN_DNS, n + 4, &err), MCA_OK);
		else if (strncmp(n, "IP:", 3) == 0)
			ck_assert_int_eq(mca_san_add(gens, GEN_IPADD, n + 3, &err), MCA_OK);
		else if (strncmp(n, "URI:", 4) == 0)
			ck_assert_int_eq(mca_san_add(gens, GEN_URI, n + 4, &err), MCA_OK);
		else
			ck_abort_msg("bad test name '%s'", n);
	}
	if (sk_GENERAL_NAME_num(gens) > 0) {
		ck_assert_int_eq(X509V3_add1_i2d(&exts, NID_subject_alt_name, gens, 0, 0), 1);
		ck_assert_int_eq(X509_REQ_add_extensions(req, exts), 1);
	}
	id = EVP_PKEY_get_id(key);
	ck_assert_int_gt(X509_REQ_sign(req, key, id == EVP_PKEY_ED25519 ? NULL : EVP_sha256()), 0);
	der_len = i2d_X509_REQ(req, &der);
	ck_assert_int_gt(der_len, 0);
	ck_assert_msg(mca_csr_parse(der, (size_t)der_len, &csr, &err) == MCA_OK, "csr: %s",
	              err.msg);
	OPENSSL_free(der);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	GENERAL_NAMES_free(gens);
	X509_NAME_free(subj);
	X509_REQ_free(req);
	return csr;
}

/* As make_csr_key with a fresh P-256 key. */
static struct mca_csr *
make_csr(const char *cn, const char *const *names)
{
	EVP_PKEY *k = new_key(MCA_KEY_EC_P256);
	struct mca_csr *csr = make_csr_key(k, cn, names);

	EVP_PKEY_free(k);
	return csr;
}

/* ---- issuing --------------------------------------------------------------- */

#define REQUESTER "test:requester"
#define ACTOR     "test:actor"

static mca_rc
issue(const struct mca_csr *csr, const char *profile, int64_t validity, enum mca_issue_auth auth,
      const char *const *allowed, struct mca_issued *out, struct mca_error *err)
{
	struct mca_issue_req req = {0};

	req.csr = csr;
	req.profile = profile;
	req.validity = validity;
	req.auth = auth;
	req.allowed_names = allowed;
	req.requester = REQUESTER;
	req.actor = ACTOR;
	req.action = "issue";
	memset(out, 0, sizeof(*out));
	mca_error_clear(err);
	return mca_issue(issuer, store, &req, out, err);
}

/* Row counts of the tables an issuance writes. */
struct counts {
	int64_t certs, audit;
};

static struct counts
counts_now(void)
{
	struct counts c = {mca_store_count(store, "certificates"), mca_store_count(store, "audit")};

	ck_assert_int_ge(c.certs, 4); /* init's root, ca, server, admin */
	ck_assert_int_ge(c.audit, 4);
	return c;
}

/* Assert that exactly `n` certificates (and as many audit rows) were added since `c`. */
static void
ck_added(struct counts c, int n)
{
	struct counts now = counts_now();

	ck_assert_msg(now.certs == c.certs + n, "certificates: %lld rows, want %lld",
	              (long long)now.certs, (long long)(c.certs + n));
	ck_assert_msg(now.audit == c.audit + n, "audit: %lld rows, want %lld", (long long)now.audit,
	              (long long)(c.audit + n));
}

/* Assert a refusal: code `want`, rule `rule` (NULL: any), nothing returned. */
static void
ck_refused(mca_rc rc, const struct mca_error *err, const struct mca_issued *out, mca_rc want,
           const char *rule)
{
	ck_assert_msg(rc == want, "rc %s, want %s (%s: %s)", mca_rc_name(rc), mca_rc_name(want),
	              err->rule, err->msg);
	if (rule != NULL)
		ck_assert_msg(strcmp(err->rule, rule) == 0, "rule '%s', want '%s' (%s)", err->rule,
		              rule, err->msg);
	ck_assert_msg(err->msg[0] != '\0', "a refusal carries a message");
	ck_assert_ptr_null(out->der);
}

/* Whether the issued certificate verifies with the CA's key. */
static int
issued_verifies(const struct mca_issued *iss)
{
	X509 *x = mca_issued_x509(iss);
	int ok = x != NULL && X509_verify(x, X509_get0_pubkey(ca_cert)) == 1;

	X509_free(x);
	return ok;
}

/* The canonical serial of `cert`. */
static void
serial_of(X509 *cert, char out[MCA_SERIAL_HEX_MAX])
{
	struct mca_error err = {0};

	ck_assert_int_eq(mca_serial_from_asn1(X509_get0_serialNumber(cert), out, &err), MCA_OK);
}

/* What audit_rows collects for one serial. */
struct audit_of {
	const char *serial;
	char *actor, *action;
	size_t actor_len, action_len;
	int n;
};

static int
audit_of_cb(void *arg, const struct mca_audit_rec *r)
{
	struct audit_of *a = arg;

	if (r->serial == NULL || strcmp(r->serial, a->serial) != 0)
		return 0;
	snprintf(a->actor, a->actor_len, "%s", r->actor);
	snprintf(a->action, a->action_len, "%s", r->action);
	a->n++;
	return 0;
}

/* Actor and action of the (last) audit row of `serial`; the number of its rows. */
static int
audit_rows(const char *serial, char *actor, size_t actor_len, char *action, size_t action_len)
{
	struct audit_of a = {serial, actor, action, actor_len, action_len, 0};
	struct mca_error err = {0};
	struct mca_store *st = NULL;

	ck_assert_msg(mca_store_open(conf->database, 0, &st, &err) == MCA_OK, "%s", err.msg);
	ck_assert_msg(mca_store_audit_list(st, 0, audit_of_cb, &a, &err) == MCA_OK, "%s", err.msg);
	mca_store_close(st);
	return a.n;
}

/* ---- accepted issuance ----------------------------------------------------- */

/*
 * An accepted private issuance is recorded before it is returned: the row
 * under the returned serial holds the same DER, profile and requester, and
 * one audit row names the actor and the action.
 */
START_TEST(test_private_recorded)
{
	static const char *const names[] = {"DNS:web.example.internal", "IP:10.1.2.3",
	                                    "URI:spiffe://example.org/ns/prod/sa/web", NULL};
	struct mca_error err = {0};
	struct mca_issued out;
	struct mca_cert_rec *rec = NULL;
	struct mca_csr *csr = make_csr("web.example.internal", names);
	struct counts before = counts_now();
	char serial[MCA_SERIAL_HEX_MAX], actor[64] = "", action[64] = "";
	unsigned char *der = NULL;
	size_t der_len = 0;
	X509 *x = NULL;
	mca_rc rc;

	rc = issue(csr, "private", 2 * 3600, MCA_ISSUE_ADMIN, NULL, &out, &err);
	ck_assert_msg(rc == MCA_OK, "rc %s (%s: %s)", mca_rc_name(rc), err.rule, err.msg);
	ck_assert_ptr_nonnull(out.der);
	ck_added(before, 1);
	x = mca_issued_x509(&out);
	ck_assert_ptr_nonnull(x);

	serial_of(x, serial);
	ck_assert_str_eq(out.serial, serial);
	ck_assert_int_eq(strlen(out.serial), 2 * MCA_SERIAL_LEN);
	ck_assert_int_eq(out.not_before, mca_asn1_time_unix(X509_get0_notBefore(x)));
	ck_assert_int_eq(out.not_after, mca_asn1_time_unix(X509_get0_notAfter(x)));
	ck_assert_int_eq(out.not_after - out.not_before, 2 * 3600 + 60);

	ck_assert_int_eq(mca_store_cert_get(store, out.serial, &rec, &err), MCA_OK);
	ck_assert_int_eq(mca_cert_to_der(x, &der, &der_len, &err), MCA_OK);
	ck_assert_uint_eq(rec->der_len, der_len);
	ck_assert_msg(memcmp(rec->der, der, der_len) == 0, "the recorded DER is the returned cert");
	ck_assert_uint_eq(out.der_len, der_len);
	ck_assert_msg(memcmp(out.der, der, der_len) == 0, "the returned DER decodes to itself");
	ck_assert_str_eq(rec->serial, out.serial);
	ck_assert_str_eq(rec->profile, "private");
	ck_assert_str_eq(rec->requester, REQUESTER);
	ck_assert_str_eq(rec->status, "valid");
	ck_assert_int_eq(rec->not_before, out.not_before);
	ck_assert_int_eq(rec->not_after, out.not_after);
	/* The recorded names carry their SAN types (names.h). */
	ck_assert_str_eq(rec->names, "[\"dns:web.example.internal\",\"ip:10.1.2.3\","
	                             "\"uri:spiffe://example.org/ns/prod/sa/web\"]");

	ck_assert_int_eq(audit_rows(out.serial, actor, sizeof(actor), action, sizeof(action)), 1);
	ck_assert_str_eq(actor, ACTOR);
	ck_assert_str_eq(action, "issue");

	free(der);
	X509_free(x);
	mca_cert_rec_free(rec);
	mca_issued_clear(&out);
	mca_csr_free(csr);
}
END_TEST

/* Rows as recorded against the rows mca_record_from_x509 gives for the same certificate. */
static const struct {
	const char *cn;
	const char *names[MAX_NAMES];
	unsigned shards;
	const char *shard_url;
} row_tab[] = {
    {"row.example.internal",
     {"DNS:row.example.internal", "IP:10.7.7.7", "URI:spiffe://example.org/ns/row", NULL},
     0,
     NULL},
    {NULL,
     {"DNS:noncn.example.internal", "IP:FD00:0::5", NULL},
     4,
     "http://ca.test.internal:8080/crl/"},
    {"shard.example.internal",
     {"DNS:shard.example.internal", NULL},
     7,
     "http://ca.test.internal:8080/crl/"},
    {"other.example.internal",
     {"DNS:other.example.internal", NULL},
     3,
     "http://ca.test.internal:8080/shard-"},
};

/* The row of a certificate issued on DER is the row the X509 path gives, field by field. */
START_TEST(test_row_as_from_x509)
{
	struct mca_error err = {0};
	struct mca_issued out;
	struct mca_cert_rec *got = NULL, want;
	struct mca_csr *csr = make_csr(row_tab[_i].cn, row_tab[_i].names);
	X509 *x;
	mca_rc rc;

	mca_issuer_set_crl_shards(issuer, row_tab[_i].shards, row_tab[_i].shard_url);
	rc = issue(csr, "private", 0, MCA_ISSUE_ADMIN, NULL, &out, &err);
	ck_assert_msg(rc == MCA_OK, "row %d: rc %s (%s: %s)", _i, mca_rc_name(rc), err.rule,
	              err.msg);
	ck_assert_int_eq(mca_store_cert_get(store, out.serial, &got, &err), MCA_OK);
	x = mca_issued_x509(&out);
	ck_assert_ptr_nonnull(x);
	ck_assert_int_eq(mca_record_from_x509(x, "private", REQUESTER, &want, &err), MCA_OK);
	ck_assert_str_eq(got->serial, want.serial);
	ck_assert_str_eq(got->issuer, want.issuer);
	ck_assert_str_eq(got->subject, want.subject);
	ck_assert_str_eq(got->names, want.names);
	ck_assert_int_eq(got->not_before, want.not_before);
	ck_assert_int_eq(got->not_after, want.not_after);
	ck_assert_uint_eq(got->der_len, want.der_len);
	ck_assert_int_eq(memcmp(got->der, want.der, want.der_len), 0);
	ck_assert_str_eq(got->fingerprint, want.fingerprint);
	ck_assert_str_eq(got->profile, want.profile);
	ck_assert_str_eq(got->requester, want.requester);
	ck_assert_int_eq(got->crl_shard, want.crl_shard);
	ck_assert_int_le(got->created_at, want.created_at);
	ck_assert_int_ge(got->created_at + 2, want.created_at);
	ck_assert_str_eq(got->status, "valid");
	if (row_tab[_i].shards > 0 && strstr(row_tab[_i].shard_url, "/crl/") != NULL)
		ck_assert_int_ge(got->crl_shard, 0);
	else
		ck_assert_int_eq(got->crl_shard, -1);
	mca_cert_rec_clear(&want);
	mca_cert_rec_free(got);
	X509_free(x);
	mca_issued_clear(&out);
	mca_csr_free(csr);
}
END_TEST

/* A record hook writing an audit row of its own, then answering *arg. */
static mca_rc
refusing_hook(void *arg, struct mca_store *st, const char *serial, struct mca_error *err)
{
	mca_rc rc, *answer = arg;

	if ((rc = mca_store_audit(st, "test:hook", "hooked", serial, NULL, err)) != MCA_OK)
		return rc;
	if (*answer != MCA_OK)
		return mca_error_set(err, *answer, "the hook refuses %s", serial);
	return MCA_OK;
}

/*
 * Without a committer, req.on_record runs in the certificate's own
 * transaction: its row lands with the certificate, and its failure
 * leaves neither.
 */
START_TEST(test_on_record_direct)
{
	static const char *const names[] = {"DNS:hook.example.internal", NULL};
	struct mca_error err = {0};
	struct mca_issued out;
	struct mca_csr *csr = make_csr("hook.example.internal", names);
	struct mca_issue_req req = {0};
	mca_rc answer = MCA_OK, rc;
	struct mca_record_hook hook = {refusing_hook, &answer};
	struct counts before = counts_now(), now;
	char actor[64] = "", action[64] = "";

	req.csr = csr;
	req.profile = "private";
	req.auth = MCA_ISSUE_ADMIN;
	req.requester = REQUESTER;
	req.actor = ACTOR;
	req.on_record = &hook;
	rc = mca_issue(issuer, store, &req, &out, &err);
	ck_assert_msg(rc == MCA_OK, "rc %s (%s)", mca_rc_name(rc), err.msg);
	now = counts_now();
	ck_assert_int_eq(now.certs, before.certs + 1);
	ck_assert_int_eq(now.audit, before.audit + 2); /* issue + hooked */
	ck_assert_int_eq(audit_rows(out.serial, actor, sizeof(actor), action, sizeof(action)), 2);
	mca_issued_clear(&out);

	answer = MCA_ERR_INTERNAL;
	before = counts_now();
	rc = mca_issue(issuer, store, &req, &out, &err);
	ck_refused(rc, &err, &out, MCA_ERR_INTERNAL, NULL);
	ck_assert_ptr_nonnull(strstr(err.msg, "the hook refuses"));
	ck_added(before, 0);
	mca_csr_free(csr);
}
END_TEST

/* ---- the three steps, one by one ------------------------------------------ */

static mca_rc
failing_signer_hook(X509 **cert, struct mca_signer *s)
{
	(void)cert;
	(void)s;
	return MCA_ERR_CRYPTO;
}

/*
 * decide writes nothing and involves no key; sign returns a certificate
 * that verifies against the CA but is not recorded; record makes it
 * durable and hands it over.  A refusal at decide and a failure at sign
 * leave the database as it was.
 */
START_TEST(test_decide_sign_record)
{
	static const char *const names[] = {"DNS:steps.example.internal", NULL};
	static const char *const allowed[] = {"dns:steps.example.internal", NULL};
	static const char *const other[] = {"dns:other.example.internal", NULL};
	struct mca_error err = {0};
	struct mca_csr *csr = make_csr(NULL, names);
	struct mca_issue_req req = {0};
	struct mca_decision d;
	struct mca_issued out;
	struct counts c = counts_now();
	struct mca_cert_rec *rec = NULL;
	X509 *cert = NULL;
	char serial[MCA_SERIAL_HEX_MAX];

	req.csr = csr;
	req.profile = "private";
	req.auth = MCA_ISSUE_TOKEN;
	req.requester = REQUESTER;
	req.actor = ACTOR;

	/* decide refuses a name the token does not allow, with nothing written */
	req.allowed_names = other;
	ck_assert_int_eq(mca_issue_decide(issuer, store, &req, &d, &err), MCA_ERR_POLICY);
	ck_assert_str_eq(err.rule, "auth.name_not_allowed");
	ck_assert_ptr_null(d.profile);
	ck_added(c, 0);

	req.allowed_names = allowed;
	ck_assert_msg(mca_issue_decide(issuer, store, &req, &d, &err) == MCA_OK, "%s", err.msg);
	ck_assert_str_eq(d.profile->name, "private");
	ck_assert_int_gt(d.res.not_after, d.res.not_before);
	ck_added(c, 0);

	/* a signing failure: nothing returned, nothing recorded */
	mca_issue_test_hook = failing_signer_hook;
	ck_assert_int_eq(mca_issue_sign(issuer, &d, &out, &err), MCA_ERR_CRYPTO);
	ck_assert_ptr_null(out.der);
	ck_assert_str_eq(out.serial, "");
	mca_issue_test_hook = NULL;
	ck_added(c, 0);

	ck_assert_msg(mca_issue_sign(issuer, &d, &out, &err) == MCA_OK, "%s", err.msg);
	ck_assert_ptr_nonnull(out.der);
	cert = mca_issued_x509(&out);
	ck_assert_ptr_nonnull(cert);
	ck_assert_int_eq(X509_verify(cert, mca_signer_pubkey(signer)), 1);
	serial_of(cert, serial);
	ck_assert_str_eq(out.serial, serial);
	ck_assert_int_eq(mca_store_cert_get(store, serial, &rec, &err), MCA_ERR_NOTFOUND);
	ck_added(c, 0);

	ck_assert_msg(mca_issue_record(store, &req, &d, &out, &err) == MCA_OK, "%s", err.msg);
	ck_assert_ptr_nonnull(out.der);
	ck_added(c, 1);
	ck_assert_int_eq(mca_store_cert_get(store, serial, &rec, &err), MCA_OK);
	ck_assert_str_eq(rec->profile, "private");
	mca_cert_rec_free(rec);

	X509_free(cert);
	mca_issued_clear(&out);
	mca_decision_clear(&d);
	mca_csr_free(csr);
}
END_TEST

/* Key types the private profile takes: the leaf is signed by the CA for each of them. */
static const enum mca_key_type verify_keys[] = {MCA_KEY_EC_P256, MCA_KEY_EC_P384, MCA_KEY_RSA_2048,
                                                MCA_KEY_ED25519};

/*
 * The returned certificate verifies with the issuing CA's public key, names
 * the CA as its issuer and carries the CSR's public key.
 */
START_TEST(test_signed_by_ca)
{
	static const char *const names[] = {"DNS:sig.example.internal", NULL};
	struct mca_error err = {0};
	struct mca_issued out;
	EVP_PKEY *key = new_key(verify_keys[_i]);
	struct mca_csr *csr = make_csr_key(key, "sig.example.internal", names);
	X509 *x = NULL;
	mca_rc rc;

	rc = issue(csr, "private", 0, MCA_ISSUE_ADMIN, NULL, &out, &err);
	ck_assert_msg(rc == MCA_OK, "%s: rc %s (%s: %s)", mca_key_type_name(verify_keys[_i]),
	              mca_rc_name(rc), err.rule, err.msg);
	x = mca_issued_x509(&out);
	ck_assert_ptr_nonnull(x);
	ck_assert_int_eq(X509_verify(x, X509_get0_pubkey(ca_cert)), 1);
	ck_assert_int_eq(X509_check_issued(ca_cert, x), X509_V_OK);
	/* the SubjectPublicKeyInfo is the key's */
	{
		unsigned char *a = NULL, *b = NULL;
		int la = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &a), lb = i2d_PUBKEY(key, &b);

		ck_assert_int_gt(la, 0);
		ck_assert_int_eq(la, lb);
		ck_assert_int_eq(memcmp(a, b, (size_t)la), 0);
		OPENSSL_free(a);
		OPENSSL_free(b);
	}
	ck_assert_int_eq(out.not_after - out.not_before, DAY + 60); /* the profile's default */
	X509_free(x);
	mca_issued_clear(&out);
	mca_csr_free(csr);
	EVP_PKEY_free(key);
}
END_TEST

/* ---- authorization: tokens and renewal -------------------------------------- */

struct auth_case {
	enum mca_issue_auth auth;
	const char *allowed[MAX_NAMES];
	const char *cn;
	const char *names[MAX_NAMES];
	const char *rule; /* NULL: accepted */
};

static const struct auth_case auth_tab[] = {
    /* A token pattern covers names below it, at any depth. */
    {MCA_ISSUE_TOKEN,
     {"dns:*.svc.example.internal"},
     "a.svc.example.internal",
     {"DNS:a.svc.example.internal"},
     NULL},
    {MCA_ISSUE_TOKEN,
     {"dns:*.svc.example.internal"},
     "x.y.svc.example.internal",
     {"DNS:x.y.svc.example.internal"},
     NULL},
    {MCA_ISSUE_TOKEN,
     {"dns:*.svc.example.internal"},
     "other.example.internal",
     {"DNS:other.example.internal"},
     "auth.name_not_allowed"},
    /* One name outside the token is enough to refuse. */
    {MCA_ISSUE_TOKEN,
     {"dns:*.svc.example.internal"},
     "b.svc.example.internal",
     {"DNS:b.svc.example.internal", "DNS:b.example.internal"},
     "auth.name_not_allowed"},
    /* The pattern's own base name is not below it. */
    {MCA_ISSUE_TOKEN,
     {"dns:*.svc.example.internal"},
     "svc.example.internal",
     {"DNS:svc.example.internal"},
     "auth.name_not_allowed"},
    /* Exact names, IPs and URIs. */
    {MCA_ISSUE_TOKEN,
     {"dns:host.example.internal", "ip:10.0.0.7"},
     "host.example.internal",
     {"DNS:host.example.internal", "IP:10.0.0.7"},
     NULL},
    {MCA_ISSUE_TOKEN,
     {"dns:host.example.internal", "ip:10.0.0.7"},
     "host.example.internal",
     {"DNS:host.example.internal", "IP:10.0.0.8"},
     "auth.name_not_allowed"},
    {MCA_ISSUE_TOKEN,
     {"uri:spiffe://example.org/ns/prod/sa/web"},
     NULL,
     {"URI:spiffe://example.org/ns/prod/sa/web"},
     NULL},
    {MCA_ISSUE_TOKEN,
     {"uri:spiffe://example.org/ns/prod/sa/web"},
     NULL,
     {"URI:spiffe://example.org/ns/prod/sa/db"},
     "auth.name_not_allowed"},
    /* Renewal: the names of the current certificate, no more, no fewer, no others. */
    {MCA_ISSUE_RENEWAL,
     {"dns:r.example.internal", "ip:10.0.0.9"},
     "r.example.internal",
     {"DNS:r.example.internal", "IP:10.0.0.9"},
     NULL},
    {MCA_ISSUE_RENEWAL,
     {"dns:r.example.internal", "ip:10.0.0.9"},
     "r.example.internal",
     {"DNS:r.example.internal"},
     "auth.names_changed"},
    {MCA_ISSUE_RENEWAL,
     {"dns:r.example.internal", "ip:10.0.0.9"},
     "r.example.internal",
     {"DNS:r.example.internal", "IP:10.0.0.9", "DNS:s.example.internal"},
     "auth.names_changed"},
    {MCA_ISSUE_RENEWAL,
     {"dns:r.example.internal", "ip:10.0.0.9"},
     "s.example.internal",
     {"DNS:s.example.internal", "IP:10.0.0.9"},
     "auth.names_changed"},
    /* A wildcard name of the renewed certificate is a name like any other, not a pattern. */
    {MCA_ISSUE_RENEWAL,
     {"dns:*.r.example.internal"},
     "a.r.example.internal",
     {"DNS:a.r.example.internal"},
     "auth.names_changed"},
    {MCA_ISSUE_RENEWAL,
     {"dns:*.r.example.internal", "dns:x.example.internal"},
     "a.r.example.internal",
     {"DNS:a.r.example.internal", "DNS:b.r.example.internal"},
     "auth.names_changed"},
    {MCA_ISSUE_RENEWAL,
     {"dns:*.r.example.internal"},
     "*.r.example.internal",
     {"DNS:*.r.example.internal"},
     NULL},
    /* SAN types are compared as types: the same text of another type is another name. */
    {MCA_ISSUE_TOKEN, {"ip:fd00::1"}, NULL, {"URI:fd00::1"}, "auth.name_not_allowed"},
    {MCA_ISSUE_TOKEN, {"uri:fd00::1"}, NULL, {"IP:fd00::1"}, "auth.name_not_allowed"},
    {MCA_ISSUE_TOKEN, {"ip:fd00::1"}, NULL, {"IP:fd00::1"}, NULL},
    /* IPs compare as addresses, whatever their text. */
    {MCA_ISSUE_TOKEN, {"ip:FD00:0:0::1"}, NULL, {"IP:fd00::1"}, NULL},
    {MCA_ISSUE_TOKEN, {"dns:10.0.0.5"}, NULL, {"IP:10.0.0.5"}, "auth.name_not_allowed"},
    /* An IP address is never a dNSName (refused by every profile). */
    {MCA_ISSUE_TOKEN, {"ip:10.0.0.5"}, NULL, {"DNS:10.0.0.5"}, "name.syntax"},
    {MCA_ISSUE_TOKEN,
     {"dns:*.svc.example.internal"},
     NULL,
     {"URI:https://a.svc.example.internal/"},
     "auth.name_not_allowed"},
    /* An untyped name (as stored before schema 4, not migrated) allows nothing. */
    {MCA_ISSUE_TOKEN, {"10.0.0.7"}, NULL, {"IP:10.0.0.7"}, "auth.name_not_allowed"},
    {MCA_ISSUE_TOKEN,
     {"host.example.internal"},
     NULL,
     {"DNS:host.example.internal"},
     "auth.name_not_allowed"},
    {MCA_ISSUE_RENEWAL, {"ip:fd00::1"}, NULL, {"URI:fd00::1"}, "auth.names_changed"},
    {MCA_ISSUE_RENEWAL, {"ip:10.0.0.5"}, NULL, {"DNS:10.0.0.5"}, "name.syntax"},
    {MCA_ISSUE_RENEWAL, {"uri:fd00::1"}, NULL, {"IP:fd00::1"}, "auth.names_changed"},
    {MCA_ISSUE_RENEWAL, {"ip:fd00::1"}, NULL, {"IP:fd00::1"}, NULL},
    {MCA_ISSUE_RENEWAL,
     {"uri:spiffe://example.org/ns/prod/sa/web"},
     NULL,
     {"URI:spiffe://example.org/ns/prod/sa/web"},
     NULL},
};

/*
 * Token names bound what a CSR may ask for (rule auth.name_not_allowed);
 * renewal requires exactly the current names (rule auth.names_changed).  A
 * refusal records nothing; an acceptance records one certificate.
 */
START_TEST(test_auth)
{
	const struct auth_case *c = &auth_tab[_i];
	struct mca_error err = {0};
	struct mca_issued out;
	struct mca_csr *csr = make_csr(c->cn, c->names);
	struct counts before = counts_now();
	mca_rc rc;

	rc = issue(csr, "private", 0, c->auth, c->allowed, &out, &err);
	if (c->rule == NULL) {
		ck_assert_msg(rc == MCA_OK, "row %d: rc %s (%s: %s)", _i, mca_rc_name(rc), err.rule,
		              err.msg);
		ck_assert_ptr_nonnull(out.der);
		ck_added(before, 1);
	} else {
		ck_assert_msg(rc != MCA_OK, "row %d: accepted, want a refusal with rule %s", _i,
		              c->rule);
		ck_refused(rc, &err, &out, MCA_ERR_POLICY, c->rule);
		ck_added(before, 0);
	}
	mca_issued_clear(&out);
	mca_csr_free(csr);
}
END_TEST

/* An unknown profile is MCA_ERR_NOTFOUND naming it, and records nothing. */
/* The refusal names the CSR name's type, so "the same text" is not mistaken for the name. */
START_TEST(test_auth_message)
{
	static const char *const allowed[] = {"ip:fd00::1", NULL};
	static const char *const names[] = {"URI:fd00::1", NULL};
	struct mca_error err = {0};
	struct mca_issued out;
	struct mca_csr *csr = make_csr(NULL, names);
	mca_rc rc;

	rc = issue(csr, "private", 0, MCA_ISSUE_TOKEN, allowed, &out, &err);
	ck_refused(rc, &err, &out, MCA_ERR_POLICY, "auth.name_not_allowed");
	ck_assert_str_eq(err.msg, "URI 'fd00::1' is not among the names the token allows");
	mca_csr_free(csr);
}
END_TEST

START_TEST(test_unknown_profile)
{
	static const char *const names[] = {"DNS:np.example.internal", NULL};
	struct mca_error err = {0};
	struct mca_issued out;
	struct mca_csr *csr = make_csr("np.example.internal", names);
	struct counts before = counts_now();
	mca_rc rc;

	rc = issue(csr, "no-such-profile", 0, MCA_ISSUE_ADMIN, NULL, &out, &err);
	ck_refused(rc, &err, &out, MCA_ERR_NOTFOUND, NULL);
	ck_assert_msg(strstr(err.msg, "no-such-profile") != NULL, "message names the profile: %s",
	              err.msg);
	ck_added(before, 0);
	mca_csr_free(csr);
}
END_TEST

/* ---- authorization: recorded domain validations ------------------------------ */

struct validation {
	const char *name, *method;
	int64_t age; /* seconds before now */
	int valid;
};

struct dv_case {
	const char *names[MAX_NAMES]; /* DNS names of the CSR; the first is the CN */
	struct validation v[3];       /* recorded before the request */
	int accepted;
};

static const struct dv_case dv_tab[] = {
    /* No validation at all. */
    {{"dv0.example.com"}, {{NULL}}, 0},
    /* A validation of another name, a failed one, one past the 30-day reuse window. */
    {{"dv1.example.com"}, {{"other-dv1.example.com", "http-01", 0, 1}}, 0},
    {{"dv2.example.com"}, {{"dv2.example.com", "http-01", 0, 0}}, 0},
    {{"dv3.example.com"}, {{"dv3.example.com", "http-01", 31 * DAY, 1}}, 0},
    /* Fresh http-01, or dns-01 inside the window. */
    {{"dv4.example.com"}, {{"dv4.example.com", "http-01", 60, 1}}, 1},
    {{"dv5.example.com"}, {{"dv5.example.com", "dns-01", 29 * DAY, 1}}, 1},
    /* Every name needs its own validation. */
    {{"dv6.example.com", "dv6b.example.com"}, {{"dv6.example.com", "http-01", 0, 1}}, 0},
    {{"dv7.example.com", "dv7b.example.com"},
     {{"dv7.example.com", "http-01", 0, 1}, {"dv7b.example.com", "dns-01", 0, 1}},
     1},
    /* Wildcards only via dns-01. */
    {{"*.dv8.example.com"}, {{"*.dv8.example.com", "http-01", 0, 1}}, 0},
    {{"*.dv9.example.com"}, {{"*.dv9.example.com", "dns-01", 0, 1}}, 1},
};

/*
 * The domain-validated profile issues only for names with a valid, recent
 * enough validation by an allowed method (rule auth.validation otherwise).
 */
START_TEST(test_domain_validated)
{
	const struct dv_case *c = &dv_tab[_i];
	struct mca_error err = {0};
	struct mca_issued out;
	const char *names[MAX_NAMES + 1] = {NULL};
	char *bufs[MAX_NAMES] = {NULL};
	struct mca_csr *csr;
	struct counts before;
	int64_t now = (int64_t)time(NULL);
	size_t i;
	mca_rc rc;

	for (i = 0; i < MAX_NAMES && c->names[i] != NULL; i++) {
		ck_assert_int_ge(asprintf(&bufs[i], "DNS:%s", c->names[i]), 0);
		names[i] = bufs[i];
	}
	for (i = 0; i < NELEM(c->v) && c->v[i].name != NULL; i++)
		ck_assert_msg(mca_store_validation_add(store, c->v[i].name, c->v[i].method,
		                                       now - c->v[i].age, c->v[i].valid,
		                                       c->v[i].valid ? NULL : "connection refused",
		                                       NULL, &err) == MCA_OK,
		              "validation_add: %s", err.msg);
	csr = make_csr(c->names[0], names);
	before = counts_now();
	rc = issue(csr, "domain-validated", 0, MCA_ISSUE_ADMIN, NULL, &out, &err);
	if (c->accepted) {
		ck_assert_msg(rc == MCA_OK, "row %d: rc %s (%s: %s)", _i, mca_rc_name(rc), err.rule,
		              err.msg);
		ck_assert(issued_verifies(&out));
		ck_added(before, 1);
	} else {
		ck_refused(rc, &err, &out, MCA_ERR_POLICY, "auth.validation");
		ck_added(before, 0);
	}
	mca_issued_clear(&out);
	mca_csr_free(csr);
	for (i = 0; i < MAX_NAMES; i++)
		free(bufs[i]);
}
END_TEST

/*
 * The same CSR is refused, then accepted once a validation is recorded:
 * the refusal is about the missing validation, not about the request.
 */
START_TEST(test_domain_validated_after_validation)
{
	static const char *const names[] = {"DNS:later.example.com", NULL};
	struct mca_error err = {0};
	struct mca_issued out;
	struct mca_csr *csr = make_csr("later.example.com", names);
	struct counts before = counts_now();
	mca_rc rc;

	rc = issue(csr, "domain-validated", 0, MCA_ISSUE_ADMIN, NULL, &out, &err);
	ck_refused(rc, &err, &out, MCA_ERR_POLICY, "auth.validation");
	ck_assert_msg(strstr(err.msg, "later.example.com") != NULL, "message names the name: %s",
	              err.msg);
	ck_added(before, 0);
	ck_assert_int_eq(mca_store_validation_add(store, "later.example.com", "http-01",
	                                          (int64_t)time(NULL), 1, NULL, NULL, &err),
	                 MCA_OK);
	before = counts_now();
	rc = issue(csr, "domain-validated", 0, MCA_ISSUE_ADMIN, NULL, &out, &err);
	ck_assert_msg(rc == MCA_OK, "rc %s (%s: %s)", mca_rc_name(rc), err.rule, err.msg);
	ck_assert_int_eq(out.not_after - out.not_before, 90 * DAY + 60);
	ck_added(before, 1);
	mca_issued_clear(&out);
	mca_csr_free(csr);
}
END_TEST

/* ---- the second look --------------------------------------------------------- */

/* Each corruption changes the (unsigned) certificate; 1 on success. */
typedef int (*corrupt_fn)(X509 *x);

static int
add_san(X509 *x)
{
	struct mca_error err = {0};
	int crit = 0, ok;
	GENERAL_NAMES *g = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);

	if (g == NULL || mca_san_add(g, GEN_DNS, "evil.example.internal", &err) != MCA_OK)
		return 0;
	ok = X509_add1_ext_i2d(x, NID_subject_alt_name, g, crit, X509V3_ADD_REPLACE) == 1;
	GENERAL_NAMES_free(g);
	return ok;
}

static int
set_eku(X509 *x, const int *nids)
{
	EXTENDED_KEY_USAGE *eku = sk_ASN1_OBJECT_new_null();
	int ok = eku != NULL;

	for (; ok && *nids != NID_undef; nids++)
		ok = sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(*nids)) > 0;
	ok = ok && X509_add1_ext_i2d(x, NID_ext_key_usage, eku, 0, X509V3_ADD_REPLACE) == 1;
	sk_ASN1_OBJECT_free(eku); /* OBJ_nid2obj objects are static */
	return ok;
}

static int
eku_client_only(X509 *x)
{
	static const int nids[] = {NID_client_auth, NID_undef};

	return set_eku(x, nids);
}

static int
eku_plus_code_signing(X509 *x)
{
	static const int nids[] = {NID_server_auth, NID_client_auth, NID_code_sign, NID_undef};

	return set_eku(x, nids);
}

static int
later_not_after(X509 *x)
{
	ASN1_TIME *t =
	    ASN1_TIME_set(NULL, (time_t)(mca_asn1_time_unix(X509_get0_notAfter(x)) + DAY));
	int ok = t != NULL && X509_set1_notAfter(x, t) == 1;

	ASN1_TIME_free(t);
	return ok;
}

static int
earlier_not_before(X509 *x)
{
	ASN1_TIME *t =
	    ASN1_TIME_set(NULL, (time_t)(mca_asn1_time_unix(X509_get0_notBefore(x)) - DAY));
	int ok = t != NULL && X509_set1_notBefore(x, t) == 1;

	ASN1_TIME_free(t);
	return ok;
}

static int
ca_true(X509 *x)
{
	BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
	int ok;

	if (bc == NULL)
		return 0;
	bc->ca = 0xff;
	ok = X509_add1_ext_i2d(x, NID_basic_constraints, bc, 1, X509V3_ADD_REPLACE) == 1;
	BASIC_CONSTRAINTS_free(bc);
	return ok;
}

static int
ku_cert_sign(X509 *x)
{
	ASN1_BIT_STRING *ku = ASN1_BIT_STRING_new();
	int ok =
	    ku != NULL && ASN1_BIT_STRING_set_bit(ku, 0, 1) && ASN1_BIT_STRING_set_bit(ku, 5, 1);

	ok = ok && X509_add1_ext_i2d(x, NID_key_usage, ku, 1, X509V3_ADD_REPLACE) == 1;
	ASN1_BIT_STRING_free(ku);
	return ok;
}

static int
other_serial(X509 *x)
{
	struct mca_error err = {0};
	unsigned char raw[MCA_SERIAL_LEN];
	ASN1_INTEGER *ai;
	int ok;

	if (mca_serial_generate(raw, &err) != MCA_OK ||
	    (ai = mca_serial_to_asn1(raw, sizeof(raw))) == NULL)
		return 0;
	ok = X509_set_serialNumber(x, ai) == 1;
	ASN1_INTEGER_free(ai);
	return ok;
}

static int
other_pubkey(X509 *x)
{
	EVP_PKEY *k = new_key(MCA_KEY_EC_P256);
	int ok = X509_set_pubkey(x, k) == 1;

	EVP_PKEY_free(k);
	return ok;
}

static int
other_subject(X509 *x)
{
	X509_NAME *n = X509_NAME_new();
	int ok = n != NULL &&
	         X509_NAME_add_entry_by_NID(n, NID_commonName, MBSTRING_UTF8,
	                                    (const unsigned char *)"evil.example.internal", -1, -1,
	                                    0) == 1 &&
	         X509_set_subject_name(x, n) == 1;

	X509_NAME_free(n);
	return ok;
}

static int
drop_ext(X509 *x, int nid)
{
	int idx = X509_get_ext_by_NID(x, nid, -1);
	X509_EXTENSION *e;

	if (idx < 0 || (e = X509_delete_ext(x, idx)) == NULL)
		return 0;
	X509_EXTENSION_free(e);
	return 1;
}

static int
drop_crl_dp(X509 *x)
{
	return drop_ext(x, NID_crl_distribution_points);
}

static int
drop_aia(X509 *x)
{
	return drop_ext(x, NID_info_access);
}

static int
drop_aki(X509 *x)
{
	return drop_ext(x, NID_authority_key_identifier);
}

static int
san_critical(X509 *x)
{
	GENERAL_NAMES *g = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	int ok =
	    g != NULL && X509_add1_ext_i2d(x, NID_subject_alt_name, g, 1, X509V3_ADD_REPLACE) == 1;

	GENERAL_NAMES_free(g);
	return ok;
}

static int
extra_extension(X509 *x)
{
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, NULL, NID_netscape_comment, "injected");
	int ok = e != NULL && X509_add_ext(x, e, -1) == 1;

	X509_EXTENSION_free(e);
	return ok;
}

/* CA:FALSE with a path length: only a CA may carry one (RFC 5280 4.2.1.9). */
static int
leaf_pathlen(X509 *x)
{
	BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
	int ok;

	if (bc == NULL || (bc->pathlen = ASN1_INTEGER_new()) == NULL ||
	    !ASN1_INTEGER_set(bc->pathlen, 0)) {
		BASIC_CONSTRAINTS_free(bc);
		return 0;
	}
	ok = X509_add1_ext_i2d(x, NID_basic_constraints, bc, 1, X509V3_ADD_REPLACE) == 1;
	BASIC_CONSTRAINTS_free(bc);
	return ok;
}

/* basicConstraints whose value is a NULL, not a SEQUENCE: it cannot be decoded. */
static int
bc_garbage(X509 *x)
{
	static const unsigned char null_der[] = {0x05, 0x00};
	ASN1_OCTET_STRING *v = ASN1_OCTET_STRING_new();
	X509_EXTENSION *e = NULL;
	int idx = X509_get_ext_by_NID(x, NID_basic_constraints, -1), ok;

	ok = v != NULL && idx >= 0 && ASN1_OCTET_STRING_set(v, null_der, sizeof(null_der)) &&
	     (e = X509_EXTENSION_create_by_NID(NULL, NID_basic_constraints, 1, v)) != NULL;
	if (ok) {
		X509_EXTENSION_free(X509_delete_ext(x, idx));
		ok = X509_add_ext(x, e, idx) == 1;
	}
	X509_EXTENSION_free(e);
	ASN1_OCTET_STRING_free(v);
	return ok;
}

static int
drop_eku(X509 *x)
{
	return drop_ext(x, NID_ext_key_usage);
}

/* serverAuth twice where serverAuth and clientAuth were approved: as many OIDs, one missing. */
static int
eku_server_twice(X509 *x)
{
	static const int nids[] = {NID_server_auth, NID_server_auth, NID_undef};

	return set_eku(x, nids);
}

static const struct corruption {
	const char *what;
	corrupt_fn fn;   /* NULL: no change */
	int other_key;   /* re-sign with another key than the CA's */
	int resign;      /* re-sign at all */
	const char *msg; /* the exact error (NULL: not checked) */
} corruptions[] = {
    {"an extra SAN", add_san, 0, 1, "second look: 3 names, 2 approved"},
    {"EKU clientAuth only", eku_client_only, 0, 1,
     "second look: extendedKeyUsage differs from the profile"},
    {"EKU plus codeSigning", eku_plus_code_signing, 0, 1,
     "second look: extendedKeyUsage differs from the profile"},
    {"notAfter one day later", later_not_after, 0, 1,
     "second look: validity differs from the approved window"},
    {"notBefore one day earlier", earlier_not_before, 0, 1,
     "second look: validity differs from the approved window"},
    {"CA:TRUE", ca_true, 0, 1, "second look: CA:TRUE on a leaf"},
    {"keyUsage keyCertSign", ku_cert_sign, 0, 1, "second look: keyUsage 0x84, want 0x80"},
    {"another serial", other_serial, 0, 1, "second look: serial differs"},
    {"another public key", other_pubkey, 0, 1, "second look: public key is not the CSR's"},
    {"another subject", other_subject, 0, 1,
     "second look: subject is not exactly CN=look.example.internal"},
    {"no CRL distribution point", drop_crl_dp, 0, 1,
     "second look: CRL distribution point is not http://ca.test.internal:8080/crl"},
    {"no AIA caIssuers", drop_aia, 0, 1,
     "second look: authorityInfoAccess has other entries than expected"},
    {"no AKI", drop_aki, 0, 1,
     "second look: authorityKeyIdentifier is not the issuing CA's key identifier"},
    {"an extra extension", extra_extension, 0, 1, "second look: unexpected extension nsComment"},
    /* The subject has a CN, so the builder marks the SAN non-critical. */
    {"SAN critical next to a subject CN", san_critical, 0, 1,
     "second look: subjectAltName critical next to a subject"},
    {"signed by another key", NULL, 1, 1,
     "second look: signature does not verify with the issuing CA's key"},
    {"CA:FALSE with a path length", leaf_pathlen, 0, 1, "second look: pathLenConstraint on a leaf"},
    {"basicConstraints unreadable", bc_garbage, 0, 1, "second look: basicConstraints unreadable"},
    {"no EKU", drop_eku, 0, 1, "second look: extendedKeyUsage differs from the profile"},
    {"EKU serverAuth twice", eku_server_twice, 0, 1,
     "second look: extendedKeyUsage differs from the profile"},
};

static const struct corruption *hook_row;
static int hook_calls;

/* The test hook: apply hook_row's corruption to the signed certificate. */
static mca_rc
corrupting_hook(X509 **cert, struct mca_signer *ca_signer)
{
	struct mca_error err = {0};
	struct mca_signer *other = NULL;
	EVP_PKEY *k = NULL;
	unsigned char *before = NULL, *after = NULL;
	int before_len, after_len;

	hook_calls++;
	ck_assert_ptr_nonnull(cert);
	ck_assert_ptr_nonnull(*cert);
	ck_assert_ptr_nonnull(ca_signer);
	if (hook_row == NULL)
		return MCA_OK; /* the control: leave the certificate alone */
	before_len = i2d_X509(*cert, &before);
	ck_assert_int_gt(before_len, 0);
	if (hook_row->fn != NULL)
		ck_assert_msg(hook_row->fn(*cert), "%s: corrupting failed", hook_row->what);
	if (hook_row->other_key) {
		k = new_key(MCA_KEY_EC_P256);
		ck_assert_int_eq(mca_signer_local_new(k, &other, &err), MCA_OK);
	}
	if (hook_row->resign)
		ck_assert_msg(mca_signer_sign_cert(other != NULL ? other : ca_signer, cert, &err) ==
		                  MCA_OK,
		              "%s: re-signing: %s", hook_row->what, err.msg);
	after_len = i2d_X509(*cert, &after);
	ck_assert_int_gt(after_len, 0);
	ck_assert_msg(before_len != after_len || memcmp(before, after, (size_t)after_len) != 0,
	              "%s: the certificate did not change", hook_row->what);
	if (other != NULL)
		ck_assert_int_ne(X509_verify(*cert, X509_get0_pubkey(ca_cert)), 1);
	else
		ck_assert_int_eq(X509_verify(*cert, X509_get0_pubkey(ca_cert)), 1);
	OPENSSL_free(before);
	OPENSSL_free(after);
	mca_signer_free(other);
	EVP_PKEY_free(k);
	return MCA_OK;
}

static const char *const second_look_names[] = {"DNS:look.example.internal", "IP:10.9.9.9", NULL};

/*
 * The control for the table below: with a hook that changes nothing, the
 * hook runs once and issuance succeeds, so a refusal there is the second
 * look's doing.
 */
START_TEST(test_second_look_control)
{
	struct mca_error err = {0};
	struct mca_issued out;
	struct mca_csr *csr = make_csr("look.example.internal", second_look_names);
	struct counts before = counts_now();
	mca_rc rc;

	hook_row = NULL;
	hook_calls = 0;
	mca_issue_test_hook = corrupting_hook;
	rc = issue(csr, "private", 0, MCA_ISSUE_ADMIN, NULL, &out, &err);
	mca_issue_test_hook = NULL;
	ck_assert_msg(rc == MCA_OK, "rc %s (%s: %s)", mca_rc_name(rc), err.rule, err.msg);
	ck_assert_int_eq(hook_calls, 1);
	ck_added(before, 1);
	mca_issued_clear(&out);
	mca_csr_free(csr);
}
END_TEST

/*
 * The second look: a signed certificate that differs from what the policy
 * approved is an internal error, and neither recorded nor returned.
 */
START_TEST(test_second_look)
{
	struct mca_error err = {0};
	struct mca_issued out;
	struct mca_csr *csr = make_csr("look.example.internal", second_look_names);
	struct counts before = counts_now();
	mca_rc rc;

	hook_row = &corruptions[_i];
	hook_calls = 0;
	mca_issue_test_hook = corrupting_hook;
	rc = issue(csr, "private", 0, MCA_ISSUE_ADMIN, NULL, &out, &err);
	mca_issue_test_hook = NULL;
	hook_row = NULL;
	ck_assert_msg(hook_calls == 1, "%s: hook called %d times", corruptions[_i].what,
	              hook_calls);
	ck_assert_msg(rc == MCA_ERR_INTERNAL, "%s: rc %s, want internal (%s)", corruptions[_i].what,
	              mca_rc_name(rc), err.msg);
	ck_assert_ptr_null(out.der);
	ck_assert_msg(err.msg[0] != '\0', "%s: the error says what differs", corruptions[_i].what);
	if (corruptions[_i].msg != NULL)
		ck_assert_str_eq(err.msg, corruptions[_i].msg);
	ck_added(before, 0);
	mca_csr_free(csr);
}
END_TEST

/* extendedKeyUsage made critical: nothing the second look's checks look at. */
static int
eku_critical(X509 *x)
{
	EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
	int ok =
	    eku != NULL && X509_add1_ext_i2d(x, NID_ext_key_usage, eku, 1, X509V3_ADD_REPLACE) == 1;

	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	return ok;
}

/*
 * A certificate that passes every check of the second look but is not the
 * one built (re-signed by the CA after a change no check looks at) is
 * still refused: the signed DER, which is what is recorded and returned,
 * must carry exactly the TBSCertificate that was built.
 */
START_TEST(test_second_look_not_built)
{
	static const char *const names[] = {"DNS:notbuilt.example.internal", NULL};
	static const struct corruption row = {"EKU critical", eku_critical, 0, 1, NULL};
	struct mca_csr *csr = make_csr(NULL, names);
	struct mca_error err = {0};
	struct mca_issued out = {0};
	struct counts before = counts_now();
	mca_rc rc;

	hook_row = &row;
	mca_issue_test_hook = corrupting_hook;
	rc = issue(csr, "private", 0, MCA_ISSUE_ADMIN, NULL, &out, &err);
	mca_issue_test_hook = NULL;
	hook_row = NULL;
	ck_assert_int_eq(rc, MCA_ERR_INTERNAL);
	ck_assert_str_eq(err.msg, "second look: the signed certificate is not the one built");
	ck_assert_ptr_null(out.der);
	ck_added(before, 0);
	mca_csr_free(csr);
}
END_TEST

/*
 * With the OCSP responder on (mca_issuer_set_ocsp_url) leaves carry AIA
 * OCSP first, then caIssuers; the second look refuses a leaf that lost it.
 */
START_TEST(test_ocsp_aia)
{
	static const char *const names[] = {"DNS:ocsp.example.internal", NULL};
	static const struct corruption no_aia = {"no AIA", drop_aia, 0, 1, NULL};
	struct mca_error err = {0};
	struct mca_issued out;
	struct mca_csr *csr = make_csr("ocsp.example.internal", names);
	AUTHORITY_INFO_ACCESS *aia;
	ACCESS_DESCRIPTION *ad;
	const char *url = "http://ocsp.example.internal/ocsp";
	X509 *x;
	mca_rc rc;

	mca_issuer_set_ocsp_url(issuer, url);
	rc = issue(csr, "private", 0, MCA_ISSUE_ADMIN, NULL, &out, &err);
	ck_assert_msg(rc == MCA_OK, "rc %s (%s: %s)", mca_rc_name(rc), err.rule, err.msg);
	x = mca_issued_x509(&out);
	ck_assert_ptr_nonnull(x);
	aia = X509_get_ext_d2i(x, NID_info_access, NULL, NULL);
	X509_free(x);
	ck_assert_ptr_nonnull(aia);
	ck_assert_int_eq(sk_ACCESS_DESCRIPTION_num(aia), 2);
	ad = sk_ACCESS_DESCRIPTION_value(aia, 0);
	ck_assert_int_eq(OBJ_obj2nid(ad->method), NID_ad_OCSP);
	ck_assert_str_eq((const char *)ASN1_STRING_get0_data(ad->location->d.ia5), url);
	ck_assert_int_eq(OBJ_obj2nid(sk_ACCESS_DESCRIPTION_value(aia, 1)->method),
	                 NID_ad_ca_issuers);
	AUTHORITY_INFO_ACCESS_free(aia);
	mca_issued_clear(&out);
	hook_row = &no_aia;
	hook_calls = 0;
	mca_issue_test_hook = corrupting_hook;
	rc = issue(csr, "private", 0, MCA_ISSUE_ADMIN, NULL, &out, &err);
	mca_issue_test_hook = NULL;
	hook_row = NULL;
	ck_assert_int_eq(rc, MCA_ERR_INTERNAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "the AIA OCSP responder is not "
	                                      "http://ocsp"));
	ck_assert_ptr_null(out.der);
	mca_csr_free(csr);
}
END_TEST

/* ---- typed names (names.h, token.h) ------------------------------------------ */

/* Token names as minted: typed, or untyped by the documented rule; NULL want: refused. */
static const struct {
	const char *in;
	int type; /* -1: untyped (--name / API string) */
	const char *want;
} norm_tab[] = {
    {"web.example.internal", -1, "dns:web.example.internal"},
    {"*.svc.example.internal", -1, "dns:*.svc.example.internal"},
    {"10.0.0.5", -1, "ip:10.0.0.5"},
    {"FD00:0::1", -1, "ip:fd00::1"},
    {"spiffe://example.org/ns/a", -1, "uri:spiffe://example.org/ns/a"},
    {"dns:web.example.internal", -1, "dns:web.example.internal"},
    {"ip:fd00:0:0::1", -1, "ip:fd00::1"},
    {"uri:fd00::1", -1, "uri:fd00::1"},
    {"email:ops@example.org", -1, "email:ops@example.org"},
    {"10.0.0.5", MCA_NAME_IP, "ip:10.0.0.5"},
    {"urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66", MCA_NAME_URI,
     "uri:urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66"},
    {"a@b.example", MCA_NAME_EMAIL, "email:a@b.example"},
    /* refused */
    {"ops@example.org", -1, NULL},       /* an untyped email is taken as a DNS name */
    {"dns:10.0.0.5", -1, NULL},          /* an IP is not a DNS name */
    {"ip:web.example", -1, NULL},        /* not an address */
    {"web.example", MCA_NAME_URI, NULL}, /* no scheme */
    {"fd00::1", MCA_NAME_DNS, NULL},
    {"a b:c", MCA_NAME_URI, NULL},
    {"nobody", MCA_NAME_EMAIL, NULL},
    {"@example.org", MCA_NAME_EMAIL, NULL},
    {"dns:xn--a.example", -1, NULL}, /* not an A-label */
    {"spiffe://Example.org/x", -1, NULL},
    {"foo:bar", -1, NULL}, /* unknown prefix: untyped, and not a DNS name */
};

START_TEST(test_token_name_normalize)
{
	struct mca_error err = {0};
	char *out = NULL;
	mca_rc rc = mca_token_name_normalize(norm_tab[_i].in, norm_tab[_i].type, &out, &err);

	if (norm_tab[_i].want != NULL) {
		ck_assert_msg(rc == MCA_OK, "'%s': %s", norm_tab[_i].in, err.msg);
		ck_assert_str_eq(out, norm_tab[_i].want);
	} else {
		ck_assert_msg(rc == MCA_ERR_INVAL, "'%s' accepted as '%s'", norm_tab[_i].in,
		              out ? out : "");
		ck_assert_msg(strstr(err.msg, norm_tab[_i].in) != NULL, "message names '%s': %s",
		              norm_tab[_i].in, err.msg);
		ck_assert_ptr_null(out);
	}
	free(out);
}
END_TEST

/* Matching compares type and value; only token matching expands DNS patterns. */
START_TEST(test_typed_name_match)
{
	char v6[] = "fd00::1", v4[] = "10.0.0.5", vd[] = "a.svc.example";
	struct mca_name ip6 = {
	    MCA_NAME_IP, v6, {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 16};
	struct mca_name ip4 = {MCA_NAME_IP, v4, {10, 0, 0, 5}, 4};
	struct mca_name uri = {MCA_NAME_URI, v6, {0}, 0};
	struct mca_name dns4 = {MCA_NAME_DNS, v4, {0}, 0};
	struct mca_name dns = {MCA_NAME_DNS, vd, {0}, 0};

	ck_assert(mca_typed_name_match("ip:fd00::1", &ip6, 1));
	ck_assert(mca_typed_name_match("ip:FD00:0::1", &ip6, 0));
	ck_assert(!mca_typed_name_match("ip:fd00::1", &uri, 1));
	ck_assert(mca_typed_name_match("uri:fd00::1", &uri, 1));
	ck_assert(!mca_typed_name_match("uri:fd00::1", &ip6, 1));
	ck_assert(mca_typed_name_match("ip:10.0.0.5", &ip4, 1));
	ck_assert(!mca_typed_name_match("ip:10.0.0.5", &dns4, 1));
	ck_assert(!mca_typed_name_match("dns:10.0.0.5", &ip4, 1));
	ck_assert(!mca_typed_name_match("10.0.0.5", &ip4, 1)); /* untyped: nothing */
	ck_assert(mca_typed_name_match("dns:*.svc.example", &dns, 1));
	ck_assert(!mca_typed_name_match("dns:*.svc.example", &dns, 0));
	ck_assert(mca_typed_name_match("dns:a.svc.example", &dns, 0));
	ck_assert(!mca_typed_name_match("uri:a.svc.example", &dns, 1));
}
END_TEST

static Suite *
issue_suite(void)
{
	Suite *s = suite_create("issue");
	TCase *tc;

	tc = tcase_create("accepted");
	tcase_add_unchecked_fixture(tc, ca_setup, ca_teardown);
	tcase_add_checked_fixture(tc, engine_setup, engine_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_private_recorded);
	tcase_add_test(tc, test_on_record_direct);
	tcase_add_test(tc, test_decide_sign_record);
	tcase_add_loop_test(tc, test_signed_by_ca, 0, NELEM(verify_keys));
	tcase_add_loop_test(tc, test_row_as_from_x509, 0, NELEM(row_tab));
	suite_add_tcase(s, tc);

	tc = tcase_create("authorization");
	tcase_add_unchecked_fixture(tc, ca_setup, ca_teardown);
	tcase_add_checked_fixture(tc, engine_setup, engine_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_auth, 0, NELEM(auth_tab));
	tcase_add_test(tc, test_auth_message);
	tcase_add_test(tc, test_unknown_profile);
	tcase_add_loop_test(tc, test_domain_validated, 0, NELEM(dv_tab));
	tcase_add_test(tc, test_domain_validated_after_validation);
	suite_add_tcase(s, tc);

	tc = tcase_create("typed_names");
	tcase_add_loop_test(tc, test_token_name_normalize, 0, NELEM(norm_tab));
	tcase_add_test(tc, test_typed_name_match);
	suite_add_tcase(s, tc);

	tc = tcase_create("second_look");
	tcase_add_unchecked_fixture(tc, ca_setup, ca_teardown);
	tcase_add_checked_fixture(tc, engine_setup, engine_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_second_look_control);
	tcase_add_test(tc, test_ocsp_aia);
	tcase_add_loop_test(tc, test_second_look, 0, NELEM(corruptions));
	tcase_add_test(tc, test_second_look_not_built);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(issue_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
