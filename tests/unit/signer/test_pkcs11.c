/*
 * test_pkcs11.c - unit tests of pkcs11.h over SoftHSM 2 (a token made in
 * a temporary directory through SOFTHSM2_CONF): key generation for every
 * key type, signatures that verify with the announced public key and
 * algorithm, reopening a key by its URI (with and without a certificate),
 * destruction, and the exact error of every refusal at open (URI, module,
 * PIN file, token, key, certificate).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "pki/keys.h"
#include "signer/pkcs11.h"
#include "signer/signer.h"
#include "testutil.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define TOKEN    "unit-token"

/*
 * Under --enable-sanitizers: SoftHSM 2.6.1 leaks inside its own C_Sign for
 * Ed25519 (tests/integration/softhsm.supp says what); the slow unwinder
 * lets the stack reach the module.  Hooks read by ASan/LSan, unused otherwise.
 */
const char *__lsan_default_suppressions(void);
const char *__asan_default_options(void);
const char *
__lsan_default_suppressions(void)
{
	return "leak:libsofthsm2.so\n";
}
const char *
__asan_default_options(void)
{
	return "fast_unwind_on_malloc=0";
}

static char dir[256];
static char module[] = "/usr/lib/softhsm/libsofthsm2.so";
static char pin_path[300], badpin_path[300], openpin_path[300];

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	ck_assert_int_eq(chmod(path, mode), 0);
}

/* A fresh SoftHSM token directory and one initialised token, per test. */
static void
setup(void)
{
	char conf[300], cmd[800];

	tu_mkdtemp(dir, sizeof(dir), "p11");
	snprintf(conf, sizeof(conf), "%s/softhsm2.conf", dir);
	snprintf(cmd, sizeof(cmd), "mkdir %s/tokens", dir);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(
	    cmd, sizeof(cmd),
	    "directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n",
	    dir);
	write_file(conf, cmd, 0600);
	setenv("SOFTHSM2_CONF", conf, 1);
	snprintf(cmd, sizeof(cmd),
	         "softhsm2-util --init-token --free --label " TOKEN
	         " --so-pin 12345678 --pin 1234 >/dev/null 2>&1");
	ck_assert_msg(system(cmd) == 0, "softhsm2-util --init-token (install softhsm2)");
	snprintf(pin_path, sizeof(pin_path), "%s/pin", dir);
	snprintf(badpin_path, sizeof(badpin_path), "%s/badpin", dir);
	snprintf(openpin_path, sizeof(openpin_path), "%s/openpin", dir);
	write_file(pin_path, "1234\n", 0600);
	write_file(badpin_path, "9999\n", 0600);
	write_file(openpin_path, "1234\n", 0644);
}

static void
teardown(void)
{
	tu_rmtree(dir);
}

/* Sign `msg` and verify with the signer's public key and the algorithm it announces. */
static void
sign_verifies(struct mca_signer *s)
{
	static const unsigned char msg[] = "a TBSCertificate, as far as the token knows";
	struct mca_error err = {0};
	unsigned char *sig = NULL;
	size_t sig_len = 0;
	EVP_PKEY *pub = mca_signer_pubkey(s);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	const char *md = NULL;

	ck_assert_int_eq(mca_signer_sign(s, MCA_SIGN_CERT, msg, sizeof(msg), &sig, &sig_len, &err),
	                 MCA_OK);
	if (EVP_PKEY_is_a(pub, "EC"))
		md = EVP_PKEY_get_bits(pub) > 256 ? "SHA384" : "SHA256";
	else if (EVP_PKEY_is_a(pub, "RSA"))
		md = "SHA256";
	ck_assert_int_eq(EVP_DigestVerifyInit_ex(ctx, NULL, md, NULL, NULL, pub, NULL), 1);
	ck_assert_msg(EVP_DigestVerify(ctx, sig, sig_len, msg, sizeof(msg)) == 1,
	              "the token's signature does not verify");
	ck_assert_int_eq(mca_signer_probe(s, &err), MCA_OK);
	EVP_MD_CTX_free(ctx);
	free(sig);
}

static const struct {
	enum mca_key_type type;
	const char *openssl_type; /* EVP_PKEY_is_a */
	int bits;
	unsigned char alg_last; /* last octet of the AlgorithmIdentifier DER */
} gen_tab[] = {
    {MCA_KEY_EC_P256, "EC", 256, 0x02},    /* ecdsa-with-SHA256 */
    {MCA_KEY_EC_P384, "EC", 384, 0x03},    /* ecdsa-with-SHA384 */
    {MCA_KEY_RSA_2048, "RSA", 2048, 0x00}, /* sha256WithRSAEncryption, NULL */
    {MCA_KEY_ED25519, "ED25519", 256, 0x70},
};

/* Generate, sign, reopen by URI (with a certificate of the key), destroy. */
START_TEST(test_generate_sign_reopen_destroy)
{
	const struct mca_p11conf c = {module, pin_path};
	struct mca_error err = {0};
	struct mca_signer *s = NULL, *again = NULL;
	char *uri = NULL;
	const unsigned char *alg;
	size_t alg_len = 0;
	X509 *cert = X509_new();

	ck_assert_msg(mca_signer_pkcs11_generate(&c, TOKEN, gen_tab[_i].type, "unit", &uri, &s,
	                                         &err) == MCA_OK,
	              "%s", err.msg);
	ck_assert_str_eq(mca_signer_backend(s), "pkcs11");
	ck_assert(strncmp(uri, "pkcs11:token=" TOKEN ";object=unit-", 26) == 0);
	ck_assert(strstr(uri, ";type=private") != NULL);
	ck_assert(EVP_PKEY_is_a(mca_signer_pubkey(s), gen_tab[_i].openssl_type));
	ck_assert_int_eq(EVP_PKEY_get_bits(mca_signer_pubkey(s)), gen_tab[_i].bits);
	alg = mca_signer_algor_der(s, &alg_len);
	ck_assert_uint_gt(alg_len, 0);
	ck_assert_uint_eq(alg[alg_len - 1], gen_tab[_i].alg_last);
	sign_verifies(s);

	/* the same key by its URI, checked against a certificate of its public key */
	ck_assert_int_eq(X509_set_pubkey(cert, mca_signer_pubkey(s)), 1);
	ck_assert_msg(mca_signer_pkcs11_new(uri, &c, cert, "unit.crt", &again, &err) == MCA_OK,
	              "%s", err.msg);
	ck_assert_int_eq(EVP_PKEY_eq(mca_signer_pubkey(again), mca_signer_pubkey(s)), 1);
	sign_verifies(again);
	mca_signer_free(again);
	mca_signer_free(s);

	ck_assert_int_eq(mca_signer_pkcs11_destroy(uri, &c, &err), MCA_OK);
	ck_assert_int_eq(mca_signer_pkcs11_new(uri, &c, NULL, NULL, &again, &err), MCA_ERR_CONFIG);
	ck_assert(strstr(err.msg, "no private key labelled 'unit-") != NULL);
	X509_free(cert);
	free(uri);
}
END_TEST

/* mca_signer_open: a pkcs11: URI goes to the token, anything else is a key file. */
START_TEST(test_open_dispatch)
{
	const struct mca_p11conf c = {module, pin_path};
	struct mca_error err = {0};
	struct mca_signer *s = NULL, *t = NULL;
	char *uri = NULL;

	ck_assert_int_eq(
	    mca_signer_pkcs11_generate(&c, TOKEN, MCA_KEY_EC_P256, "unit", &uri, &s, &err), MCA_OK);
	ck_assert_int_eq(mca_signer_open(uri, NULL, &c, NULL, NULL, &t, &err), MCA_OK);
	ck_assert_str_eq(mca_signer_backend(t), "pkcs11");
	mca_signer_free(t);
	ck_assert_int_eq(mca_signer_open(uri, NULL, NULL, NULL, NULL, &t, &err), MCA_ERR_CONFIG);
	ck_assert_str_eq(err.msg, "a pkcs11: key needs pkcs11_module (the path of the PKCS#11 "
	                          "module)");
	/* not a URI: the key file loader, with its own errors */
	ck_assert_int_eq(mca_signer_open("/nonexistent/ca.key", NULL, &c, NULL, NULL, &t, &err),
	                 MCA_ERR_IO);
	ck_assert_str_eq(err.msg, "/nonexistent/ca.key: No such file or directory");
	mca_signer_free(s);
	free(uri);
}
END_TEST

/*
 * Refusals at open.  %T is the token directory, %M the module; the message
 * must equal `msg` (with %T/%M replaced) or, for `prefix`, start with it.
 */
static const struct {
	const char *uri;
	const char *module; /* NULL: none; "" : the SoftHSM module */
	const char *pin;    /* "pin", "badpin", "openpin", NULL */
	mca_rc rc;
	const char *msg;
	int prefix;
} bad_tab[] = {
    {"pkcs11:token=" TOKEN ";object=x;type=cert", "", "pin", MCA_ERR_CONFIG,
     "pkcs11 URI: a CA key is type=private, not another type", 0},
    {"pkcs11:object=x", "", "pin", MCA_ERR_CONFIG, "pkcs11 URI: name the token (token= or serial=)",
     0},
    {"pkcs11:token=" TOKEN, "", "pin", MCA_ERR_CONFIG, "pkcs11 URI: name the key (object= or id=)",
     0},
    {"pkcs11:token=" TOKEN ";slot-id=3", "", "pin", MCA_ERR_CONFIG,
     "pkcs11 URI: unknown attribute 'slot-id'", 0},
    {"pkcs11:token=" TOKEN ";object=x", NULL, "pin", MCA_ERR_CONFIG,
     "a pkcs11: key needs pkcs11_module (the path of the PKCS#11 module)", 0},
    {"pkcs11:token=" TOKEN ";object=x", "/nonexistent/libp11.so", "pin", MCA_ERR_CONFIG,
     "pkcs11_module /nonexistent/libp11.so: No such file or directory", 0},
    {"pkcs11:token=" TOKEN ";object=x", "/etc/hostname", "pin", MCA_ERR_CONFIG,
     "pkcs11_module /etc/hostname: cannot load it (", 1},
    {"pkcs11:token=" TOKEN ";object=x", "/lib/x86_64-linux-gnu/libc.so.6", "pin", MCA_ERR_CONFIG,
     "pkcs11_module /lib/x86_64-linux-gnu/libc.so.6: not a PKCS#11 module (no "
     "C_GetFunctionList)",
     0},
    {"pkcs11:token=" TOKEN ";object=x", "", "badpin", MCA_ERR_CONFIG,
     "pkcs11 token '" TOKEN "': the PIN in %T/badpin is wrong (CKR_PIN_INCORRECT)", 0},
    {"pkcs11:token=" TOKEN ";object=x", "", "openpin", MCA_ERR_CONFIG,
     "%T/openpin: group or others may read it: run 'chmod 600 %T/openpin'", 0},
    {"pkcs11:token=no-such;object=x", "", "pin", MCA_ERR_CONFIG,
     "pkcs11 token 'no-such': no such token in %M", 0},
    {"pkcs11:token=" TOKEN ";object=nope", "", "pin", MCA_ERR_CONFIG,
     "pkcs11 token '" TOKEN "': no private key labelled 'nope'", 0},
    {"pkcs11:token=" TOKEN ";id=%01%02", "", "pin", MCA_ERR_CONFIG,
     "pkcs11 token '" TOKEN "': no private key", 0},
};

/* `msg` with every %T replaced by the test directory and %M by the module. */
static char *
expand(const char *msg)
{
	static char out[1024];
	size_t n = 0;
	const char *r;

	for (; *msg && n < sizeof(out) - 300; msg++) {
		r = msg[0] == '%' && msg[1] == 'T'   ? dir
		    : msg[0] == '%' && msg[1] == 'M' ? module
		                                     : NULL;
		if (r != NULL) {
			n += (size_t)snprintf(out + n, sizeof(out) - n, "%s", r);
			msg++;
		} else {
			out[n++] = *msg;
		}
	}
	out[n] = '\0';
	return out;
}

START_TEST(test_open_refused)
{
	struct mca_p11conf c = {NULL, NULL};
	struct mca_error err = {0};
	struct mca_signer *s = (struct mca_signer *)&c; /* must become NULL */
	char pin[300];
	const char *want;

	if (bad_tab[_i].module != NULL)
		c.module = bad_tab[_i].module[0] ? bad_tab[_i].module : module;
	if (bad_tab[_i].pin != NULL) {
		snprintf(pin, sizeof(pin), "%s/%s", dir, bad_tab[_i].pin);
		c.pin_file = pin;
	}
	ck_assert_int_eq(mca_signer_pkcs11_new(bad_tab[_i].uri, &c, NULL, NULL, &s, &err),
	                 bad_tab[_i].rc);
	ck_assert_ptr_null(s);
	want = expand(bad_tab[_i].msg);
	if (bad_tab[_i].prefix)
		ck_assert_msg(strncmp(err.msg, want, strlen(want)) == 0, "'%s' lacks '%s'", err.msg,
		              want);
	else
		ck_assert_str_eq(err.msg, want);
}
END_TEST

/* A key opened with the certificate of another key is refused. */
START_TEST(test_cert_mismatch)
{
	const struct mca_p11conf c = {module, pin_path};
	struct mca_error err = {0};
	struct mca_signer *a = NULL, *b = NULL, *s = NULL;
	char *ua = NULL, *ub = NULL;
	X509 *cert = X509_new();

	ck_assert_int_eq(mca_signer_pkcs11_generate(&c, TOKEN, MCA_KEY_EC_P256, "a", &ua, &a, &err),
	                 MCA_OK);
	ck_assert_int_eq(mca_signer_pkcs11_generate(&c, TOKEN, MCA_KEY_EC_P256, "b", &ub, &b, &err),
	                 MCA_OK);
	ck_assert_int_eq(X509_set_pubkey(cert, mca_signer_pubkey(b)), 1);
	ck_assert_int_eq(mca_signer_pkcs11_new(ua, &c, cert, "b.crt", &s, &err), MCA_ERR_CONFIG);
	ck_assert_str_eq(err.msg, "pkcs11 token '" TOKEN "': key does not match b.crt");
	ck_assert_ptr_null(s);
	free(ua);
	/* generation: a bad token label and a token that does not exist */
	ck_assert_int_eq(mca_signer_pkcs11_generate(&c, "", MCA_KEY_EC_P256, "x", &ua, &s, &err),
	                 MCA_ERR_INVAL);
	ck_assert_ptr_null(ua);
	ck_assert_str_eq(err.msg, "pkcs11 token label: 1 to 32 octets");
	ck_assert_int_eq(
	    mca_signer_pkcs11_generate(&c, "no-such", MCA_KEY_EC_P256, "x", &ua, &s, &err),
	    MCA_ERR_CONFIG);
	ck_assert_ptr_null(ua);
	mca_signer_free(a);
	mca_signer_free(b);
	free(ub);
	X509_free(cert);
}
END_TEST

static Suite *
pkcs11_suite(void)
{
	Suite *s = suite_create("pkcs11");
	TCase *tc = tcase_create("softhsm");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_generate_sign_reopen_destroy, 0, NELEM(gen_tab));
	tcase_add_test(tc, test_open_dispatch);
	tcase_add_loop_test(tc, test_open_refused, 0, NELEM(bad_tab));
	tcase_add_test(tc, test_cert_mismatch);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(pkcs11_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
