/*
 * test_signer.c - the signer seam: every key type the local backend takes
 * signs with the algorithm of doc/profiles.md and its signatures verify;
 * unsupported keys are refused; a foreign backend behind the ops table is
 * used for every signature (sign, sign_cert, wrap) and freed exactly once;
 * the one loader refuses a key that does not belong to its certificate.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <check.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "pki/certgen.h"
#include "pki/keys.h"
#include "pki/serial.h"
#include "signer/signer.h"
#include "testutil.h"

/* A key of `alg` ("EC" with a curve, "RSA" with bits, "ED25519"). */
static EVP_PKEY *
make_key(const char *alg, const char *curve, unsigned bits)
{
	EVP_PKEY *k = NULL;

	if (curve != NULL)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
	else if (bits != 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
	else
		k = EVP_PKEY_Q_keygen(NULL, NULL, alg);
	ck_assert_ptr_nonnull(k);
	return k;
}

static const struct {
	const char *alg, *curve;
	unsigned bits;
	const char *md;            /* digest to verify with, NULL for Ed25519 */
	unsigned char oid_last[2]; /* last two octets of the signature OID */
	int supported;
} keys[] = {
    {"EC", "P-256", 0, "SHA256", {0x03, 0x02}, 1},  /* ecdsa-with-SHA256 */
    {"EC", "P-384", 0, "SHA384", {0x03, 0x03}, 1},  /* ecdsa-with-SHA384 */
    {"RSA", NULL, 2048, "SHA256", {0x01, 0x0b}, 1}, /* sha256WithRSAEncryption */
    {"ED25519", NULL, 0, NULL, {0x65, 0x70}, 1},    /* id-Ed25519 (1.3.101.112) */
    {"EC", "P-521", 0, NULL, {0, 0}, 0},
    {"RSA", NULL, 1024, NULL, {0, 0}, 0},
    {"X25519", NULL, 0, NULL, {0, 0}, 0},
};

START_TEST(local_key_types)
{
	struct mca_signer *s = NULL;
	struct mca_error err = {0};
	EVP_PKEY *k = make_key(keys[_i].alg, keys[_i].curve, keys[_i].bits);
	static const unsigned char tbs[] = "to be signed";
	unsigned char *sig = NULL;
	size_t sig_len = 0, alg_len = 0;
	const unsigned char *alg;
	EVP_MD_CTX *ctx;
	mca_rc rc;

	rc = mca_signer_local_new(k, &s, &err);
	if (!keys[_i].supported) {
		ck_assert_int_eq(rc, MCA_ERR_CRYPTO);
		ck_assert_ptr_null(s);
		ck_assert_ptr_nonnull(strstr(err.msg, "CA key type not supported"));
		EVP_PKEY_free(k);
		return;
	}
	ck_assert_msg(rc == MCA_OK, "%s", err.msg);
	ck_assert_str_eq(mca_signer_backend(s), "local");
	ck_assert_ptr_eq(mca_signer_pubkey(s), k);
	alg = mca_signer_algor_der(s, &alg_len);
	ck_assert_uint_ge(alg_len, 7);
	/* the OID is the first thing in the AlgorithmIdentifier; its last octets name it */
	ck_assert_uint_eq(alg[2], 0x06);
	ck_assert_uint_eq(alg[4 + alg[3] - 2], keys[_i].oid_last[0]);
	ck_assert_uint_eq(alg[4 + alg[3] - 1], keys[_i].oid_last[1]);

	ck_assert_int_eq(mca_signer_sign(s, MCA_SIGN_CERT, tbs, sizeof(tbs), &sig, &sig_len, &err),
	                 MCA_OK);
	ctx = EVP_MD_CTX_new();
	ck_assert_int_eq(EVP_DigestVerifyInit_ex(ctx, NULL, keys[_i].md, NULL, NULL, k, NULL), 1);
	ck_assert_int_eq(EVP_DigestVerify(ctx, sig, sig_len, tbs, sizeof(tbs)), 1);
	/* and not over other bytes */
	EVP_MD_CTX_free(ctx);
	ctx = EVP_MD_CTX_new();
	ck_assert_int_eq(EVP_DigestVerifyInit_ex(ctx, NULL, keys[_i].md, NULL, NULL, k, NULL), 1);
	ck_assert_int_ne(EVP_DigestVerify(ctx, sig, sig_len, tbs, sizeof(tbs) - 1), 1);
	EVP_MD_CTX_free(ctx);
	free(sig);
	sig = NULL;

	/*
	 * A digest made by the caller (the signer process hashes a CRL once):
	 * the signature verifies over the message, as sign's does; a digest of
	 * the wrong length is refused; Ed25519 signs no digest.
	 */
	if (keys[_i].md == NULL) {
		ck_assert_ptr_null(mca_signer_digest_name(s));
		ck_assert_int_eq(mca_signer_sign_digest(s, tbs, 32, &sig, &sig_len, &err),
		                 MCA_ERR_INTERNAL);
		ck_assert_ptr_nonnull(strstr(err.msg, "signs no digest"));
	} else {
		unsigned char dg[EVP_MAX_MD_SIZE];
		size_t dg_len = 0;

		ck_assert_str_eq(mca_signer_digest_name(s), keys[_i].md);
		ck_assert_int_eq(
		    EVP_Q_digest(NULL, keys[_i].md, NULL, tbs, sizeof(tbs), dg, &dg_len), 1);
		ck_assert_int_eq(mca_signer_sign_digest(s, dg, dg_len, &sig, &sig_len, &err),
		                 MCA_OK);
		ctx = EVP_MD_CTX_new();
		ck_assert_int_eq(
		    EVP_DigestVerifyInit_ex(ctx, NULL, keys[_i].md, NULL, NULL, k, NULL), 1);
		ck_assert_int_eq(EVP_DigestVerify(ctx, sig, sig_len, tbs, sizeof(tbs)), 1);
		EVP_MD_CTX_free(ctx);
		free(sig);
		sig = NULL;
		ck_assert_int_eq(mca_signer_sign_digest(s, dg, dg_len - 1, &sig, &sig_len, &err),
		                 MCA_ERR_CRYPTO);
		ck_assert_ptr_null(sig);
		ck_assert_ptr_nonnull(strstr(err.msg, "signing a digest"));
	}
	mca_signer_free(s);
	EVP_PKEY_free(k);
}
END_TEST

/* ---- a foreign backend behind the ops table ---- */

struct fake {
	EVP_PKEY *key;
	int signs;
	int fail;
	enum mca_sign_kind kind; /* of the last signature */
	int *freed;
};

static mca_rc
fake_sign(void *impl, enum mca_sign_kind kind, const unsigned char *tbs, size_t tbs_len,
          unsigned char **sig, size_t *sig_len, struct mca_error *err)
{
	struct fake *f = impl;
	EVP_MD_CTX *ctx = NULL;
	size_t len = 0;

	f->signs++;
	f->kind = kind;
	if (f->fail)
		return mca_error_set(err, MCA_ERR_CRYPTO, "fake backend unavailable");
	ctx = EVP_MD_CTX_new();
	ck_assert_int_eq(EVP_DigestSignInit_ex(ctx, NULL, "SHA256", NULL, NULL, f->key, NULL), 1);
	ck_assert_int_eq(EVP_DigestSign(ctx, NULL, &len, tbs, tbs_len), 1);
	*sig = malloc(len);
	ck_assert_int_eq(EVP_DigestSign(ctx, *sig, &len, tbs, tbs_len), 1);
	*sig_len = len;
	EVP_MD_CTX_free(ctx);
	return MCA_OK;
}

static EVP_PKEY *
fake_pubkey(void *impl)
{
	return ((struct fake *)impl)->key;
}

static void
fake_free(void *impl)
{
	struct fake *f = impl;

	(*f->freed)++;
	EVP_PKEY_free(f->key);
	free(f);
}

static const struct mca_signer_ops fake_ops = {
    .name = "fake",
    .sign = fake_sign,
    .pubkey = fake_pubkey,
    .free = fake_free,
};

static struct fake *
fake_new(EVP_PKEY *key, int *freed)
{
	struct fake *f = calloc(1, sizeof(*f));

	ck_assert_ptr_nonnull(f);
	f->key = key;
	f->freed = freed;
	return f;
}

/* A self-signed certificate of `key`, built but not signed. */
static X509 *
unsigned_cert(EVP_PKEY *key)
{
	struct mca_certgen g;
	struct mca_error err = {0};
	unsigned char serial[MCA_SERIAL_LEN];
	X509 *x = NULL;
	X509_NAME *n = X509_NAME_new();

	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"signer test", -1,
	                           -1, 0);
	ck_assert_int_eq(mca_serial_generate(serial, &err), MCA_OK);
	memset(&g, 0, sizeof(g));
	g.serial = serial;
	g.serial_len = sizeof(serial);
	g.subject = n;
	g.pubkey = key;
	g.not_before = 0;
	g.not_after = 86400;
	g.ca = 1;
	g.pathlen = -1;
	ck_assert_msg(mca_certgen_build(&g, &x, &err) == MCA_OK, "%s", err.msg);
	X509_NAME_free(n);
	return x;
}

START_TEST(foreign_backend)
{
	struct mca_signer *s = NULL;
	struct mca_error err = {0};
	int freed = 0;
	struct fake *f = fake_new(make_key("EC", "P-256", 0), &freed);
	X509 *x = NULL;
	unsigned char *der = NULL;
	size_t der_len = 0;

	ck_assert_msg(mca_signer_create(&fake_ops, f, &s, &err) == MCA_OK, "%s", err.msg);
	ck_assert_str_eq(mca_signer_backend(s), "fake");
	/* a backend without digest_name/sign_digest signs no digest: callers hash for sign */
	ck_assert_ptr_null(mca_signer_digest_name(s));
	x = unsigned_cert(f->key);
	ck_assert_int_eq(mca_signer_sign_cert(s, &x, &err), MCA_OK);
	ck_assert_int_eq(f->signs, 1);
	ck_assert_int_eq(f->kind, MCA_SIGN_CERT);
	ck_assert_int_eq(X509_verify(x, f->key), 1);
	ck_assert_int_eq(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
	ck_assert_int_eq(mca_signer_wrap(s, MCA_SIGN_CERT, (const unsigned char *)"\x30\x00", 2,
	                                 &der, &der_len, &err),
	                 MCA_OK);
	ck_assert_int_eq(f->signs, 2);
	free(der);
	der = NULL;
	/* the kind reaches the backend as given; the probe signs the fixed message */
	ck_assert_int_eq(mca_signer_wrap(s, MCA_SIGN_CRL, (const unsigned char *)"\x30\x00", 2,
	                                 &der, &der_len, &err),
	                 MCA_OK);
	ck_assert_int_eq(f->kind, MCA_SIGN_CRL);
	free(der);
	der = NULL;
	ck_assert_msg(mca_signer_probe(s, &err) == MCA_OK, "%s", err.msg);
	ck_assert_int_eq(f->kind, MCA_SIGN_PROBE);
	ck_assert_int_eq(f->signs, 4);
	/* the probe kind is not for arbitrary bytes */
	ck_assert_int_eq(
	    mca_signer_sign(s, MCA_SIGN_PROBE, (const unsigned char *)"x", 1, &der, &der_len, &err),
	    MCA_ERR_INVAL);
	ck_assert_int_eq(f->signs, 4);

	/* a backend failure reaches the caller and leaves the certificate as it was */
	f->fail = 1;
	X509_free(x);
	x = unsigned_cert(f->key);
	ck_assert_int_eq(mca_signer_sign_cert(s, &x, &err), MCA_ERR_CRYPTO);
	ck_assert_str_eq(err.msg, "fake backend unavailable");
	ck_assert_ptr_nonnull(x);
	ck_assert_int_eq(mca_signer_wrap(s, MCA_SIGN_CERT, (const unsigned char *)"\x30\x00", 2,
	                                 &der, &der_len, &err),
	                 MCA_ERR_CRYPTO);
	ck_assert_int_eq(mca_signer_probe(s, &err), MCA_ERR_CRYPTO);
	ck_assert_ptr_null(der);
	X509_free(x);

	ck_assert_int_eq(freed, 0);
	mca_signer_free(s);
	ck_assert_int_eq(freed, 1);
}
END_TEST

START_TEST(foreign_backend_unsupported_key_freed)
{
	struct mca_signer *s = NULL;
	struct mca_error err = {0};
	int freed = 0;

	ck_assert_int_eq(
	    mca_signer_create(&fake_ops, fake_new(make_key("EC", "P-521", 0), &freed), &s, &err),
	    MCA_ERR_CRYPTO);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(freed, 1);
}
END_TEST

/* ---- the one loader ---- */

static char tmp[PATH_MAX];

static void
setup(void)
{
	tu_mkdtemp(tmp, sizeof(tmp), "signer");
}

static void
teardown(void)
{
	tu_rmtree(tmp);
}

START_TEST(loader)
{
	struct mca_signer *s = NULL;
	struct mca_error err = {0};
	EVP_PKEY *k = make_key("EC", "P-256", 0), *other = make_key("EC", "P-256", 0);
	char keyp[PATH_MAX + 16], passp[PATH_MAX + 16], encp[PATH_MAX + 16],
	    want[2 * PATH_MAX + 80];
	X509 *mine = unsigned_cert(k), *theirs = unsigned_cert(other);
	FILE *fp;

	snprintf(keyp, sizeof(keyp), "%s/ca.key", tmp);
	snprintf(encp, sizeof(encp), "%s/enc.key", tmp);
	snprintf(passp, sizeof(passp), "%s/pass", tmp);
	ck_assert_int_eq(mca_key_save(keyp, k, NULL, &err), MCA_OK);
	ck_assert_int_eq(mca_key_save(encp, k, "correct horse", &err), MCA_OK);

	/* plain key matching its certificate */
	ck_assert_msg(mca_signer_load(keyp, NULL, mine, "ca.crt", &s, &err) == MCA_OK, "%s",
	              err.msg);
	ck_assert_int_eq(EVP_PKEY_eq(mca_signer_pubkey(s), k), 1);
	mca_signer_free(s);
	s = NULL;

	/* a key that is not the certificate's */
	ck_assert_int_eq(mca_signer_load(keyp, NULL, theirs, "other.crt", &s, &err),
	                 MCA_ERR_CONFIG);
	ck_assert_ptr_null(s);
	ck_assert_ptr_nonnull(strstr(err.msg, "key does not match other.crt"));
	ck_assert_ptr_nonnull(strstr(err.msg, keyp));

	/* an encrypted key: without its passphrase file, with a missing one, with it */
	ck_assert_int_eq(mca_signer_load(encp, NULL, mine, "ca.crt", &s, &err), MCA_ERR_CRYPTO);
	ck_assert_ptr_null(s);
	ck_assert_int_ne(mca_signer_load(encp, passp, mine, "ca.crt", &s, &err), MCA_OK);
	ck_assert_ptr_nonnull(strstr(err.msg, passp));
	fp = fopen(passp, "w");
	ck_assert_ptr_nonnull(fp);
	fputs("correct horse\n", fp);
	fclose(fp);
	/* key and passphrase files that group or others may read: refused, naming the fix */
	ck_assert_int_eq(chmod(passp, 0640), 0);
	ck_assert_int_eq(mca_signer_load(encp, passp, mine, "ca.crt", &s, &err), MCA_ERR_CONFIG);
	ck_assert_ptr_null(s);
	snprintf(want, sizeof(want), "%s: group or others may read it: run 'chmod 600 %s'", passp,
	         passp);
	ck_assert_str_eq(err.msg, want);
	ck_assert_int_eq(chmod(passp, 0600), 0);
	ck_assert_int_eq(chmod(encp, 0604), 0);
	ck_assert_int_eq(mca_signer_load(encp, passp, mine, "ca.crt", &s, &err), MCA_ERR_CONFIG);
	snprintf(want, sizeof(want), "%s: group or others may read it: run 'chmod 600 %s'", encp,
	         encp);
	ck_assert_str_eq(err.msg, want);
	ck_assert_int_eq(chmod(encp, 0600), 0);
	ck_assert_msg(mca_signer_load(encp, passp, mine, "ca.crt", &s, &err) == MCA_OK, "%s",
	              err.msg);
	mca_signer_free(s);

	X509_free(mine);
	X509_free(theirs);
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
}
END_TEST

int
main(void)
{
	Suite *su = suite_create("signer");
	TCase *tc = tcase_create("signer");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, local_key_types, 0, (int)(sizeof(keys) / sizeof(keys[0])));
	tcase_add_test(tc, foreign_backend);
	tcase_add_test(tc, foreign_backend_unsupported_key_freed);
	tcase_add_test(tc, loader);
	suite_add_tcase(su, tc);
	sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
