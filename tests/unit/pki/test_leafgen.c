/*
 * test_leafgen.c - unit tests of leafgen.h: for a table of leaves (every
 * SAN type, with and without CN, OCSP, CDP, caIssuers, policies and SKI,
 * P-256/P-384/RSA/Ed25519 keys, UTCTime and GeneralizedTime validity,
 * serials with the high bit set) the DER encoder gives byte for byte the
 * TBSCertificate that mca_certgen_build + i2d give; its refusals are the
 * builder's; the subject text is mca_name_string's for every octet in
 * every position; and the PEM from DER (keys.h) is PEM_write_bio_X509's.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <openssl/pem.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pki/certgen.h"
#include "pki/keys.h"
#include "pki/leafgen.h"

#define NELEM(a)   (sizeof(a) / sizeof((a)[0]))
#define MAX_NAMES  5
#define T_2030     1893456000LL /* 2030-01-01 */
#define T_2049_END 2524607999LL /* 2049-12-31 23:59:59: the last UTCTime */
#define T_2050     2524608000LL /* 2050-01-01: GeneralizedTime */

/* DER AlgorithmIdentifiers of the CA's signature (ecdsa-with-SHA256, sha256WithRSA, Ed25519). */
static const unsigned char alg_ecdsa256[] = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86,
                                             0x48, 0xce, 0x3d, 0x04, 0x03, 0x02};
static const unsigned char alg_rsa256[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
                                           0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00};
static const unsigned char alg_ed25519[] = {0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70};

static EVP_PKEY *ca_key;
static X509 *ca;

static EVP_PKEY *
new_key(enum mca_key_type t)
{
	struct mca_error err = {0};
	EVP_PKEY *k = NULL;

	ck_assert_msg(mca_key_generate(t, &k, &err) == MCA_OK, "keygen: %s", err.msg);
	return k;
}

/* A self-signed CA with a two-attribute subject and a subjectKeyIdentifier. */
static void
ca_setup(void)
{
	static const unsigned char serial[] = {0x01};
	struct mca_certgen g;
	struct mca_error err = {0};
	X509_NAME *name = X509_NAME_new();

	ca_key = new_key(MCA_KEY_EC_P256);
	ck_assert_ptr_nonnull(name);
	ck_assert_int_eq(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
	                                            (const unsigned char *)"Example, Inc.", -1, -1,
	                                            0),
	                 1);
	ck_assert_int_eq(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	                                            (const unsigned char *)"Leafgen Test CA", -1,
	                                            -1, 0),
	                 1);
	memset(&g, 0, sizeof(g));
	g.serial = serial;
	g.serial_len = sizeof(serial);
	g.subject = name;
	g.pubkey = ca_key;
	g.not_before = 1700000000;
	g.not_after = T_2030;
	g.ca = 1;
	g.pathlen = 0;
	g.key_usage = MCA_KU_KEY_CERT_SIGN | MCA_KU_CRL_SIGN;
	ck_assert_msg(mca_certgen_build(&g, &ca, &err) == MCA_OK, "%s", err.msg);
	ck_assert_int_gt(X509_sign(ca, ca_key, EVP_sha256()), 0);
	ck_assert_ptr_nonnull(X509_get0_subject_key_id(ca));
	X509_NAME_free(name);
}

static void
ca_teardown(void)
{
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	ca = NULL;
	ca_key = NULL;
}

/* ---- the table ---------------------------------------------------------- */

struct name_in {
	enum mca_name_type type;
	const char *value;
};

struct leaf_case {
	const char *what;
	enum mca_key_type key;
	const unsigned char *alg;
	size_t alg_len;
	unsigned char serial[16];
	size_t serial_len;
	const char *cn;
	struct name_in names[MAX_NAMES];
	int64_t not_before, not_after;
	unsigned ku, eku;
	int ski;
	const char *crl_url, *ca_issuers_url, *ocsp_url;
	const char *policies[MCA_CERTGEN_MAX_POLICIES];
};

#define ALG(a) a, sizeof(a)
#define SERIAL16                                                                                   \
	{0x5a, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,                                           \
	 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f},                                          \
	    16

static const struct leaf_case cases[] = {
    {"P-256, CN + DNS, everything",
     MCA_KEY_EC_P256,
     ALG(alg_ecdsa256),
     SERIAL16,
     "web.example.internal",
     {{MCA_NAME_DNS, "web.example.internal"}, {MCA_NAME_DNS, "*.svc.example.internal"}},
     1700000000,
     1700086400,
     MCA_KU_DIGITAL_SIGNATURE,
     MCA_EKU_SERVER_AUTH | MCA_EKU_CLIENT_AUTH,
     1,
     "http://ca.example.internal/crl",
     "http://ca.example.internal/ca.crt",
     "http://ca.example.internal/ocsp",
     {"1.3.6.1.4.1.99999.1.2", "2.23.140.1.2.1"}},
    {"no CN: critical SAN with every type",
     MCA_KEY_EC_P256,
     ALG(alg_ecdsa256),
     SERIAL16,
     NULL,
     {{MCA_NAME_URI, "spiffe://example.org/ns/prod/sa/web"},
      {MCA_NAME_IP, "10.1.2.3"},
      {MCA_NAME_IP, "fd00::1"},
      {MCA_NAME_EMAIL, "ops@example.internal"},
      {MCA_NAME_DNS, "a.example.internal"}},
     1700000000,
     1700086400,
     MCA_KU_DIGITAL_SIGNATURE,
     MCA_EKU_CLIENT_AUTH,
     0,
     "http://ca.example.internal/crl/3",
     "http://ca.example.internal/ca.crt",
     NULL,
     {NULL}},
    {"P-384, no OCSP, no CDP, no policies, no SKI",
     MCA_KEY_EC_P384,
     ALG(alg_ecdsa256),
     SERIAL16,
     "db.example.internal",
     {{MCA_NAME_DNS, "db.example.internal"}},
     1700000000,
     T_2030,
     MCA_KU_DIGITAL_SIGNATURE,
     MCA_EKU_SERVER_AUTH,
     0,
     NULL,
     "http://ca.example.internal/ca.crt",
     NULL,
     {NULL}},
    {"RSA: keyEncipherment, sha256WithRSA, IPv6 written long",
     MCA_KEY_RSA_2048,
     ALG(alg_rsa256),
     SERIAL16,
     "rsa.example.internal",
     {{MCA_NAME_DNS, "rsa.example.internal"}, {MCA_NAME_IP, "2001:db8:0:0:0:0:0:1"}},
     1700000000,
     1700086400,
     MCA_KU_DIGITAL_SIGNATURE | MCA_KU_KEY_ENCIPHERMENT,
     MCA_EKU_SERVER_AUTH,
     1,
     "http://ca.example.internal/crl",
     NULL,
     "http://ca.example.internal/ocsp",
     {"1.2.3"}},
    {"Ed25519 key, Ed25519 CA algorithm, no AIA at all, no EKU",
     MCA_KEY_ED25519,
     ALG(alg_ed25519),
     SERIAL16,
     "ed.example.internal",
     {{MCA_NAME_DNS, "ed.example.internal"}},
     1700000000,
     1700086400,
     MCA_KU_DIGITAL_SIGNATURE,
     0,
     1,
     NULL,
     NULL,
     NULL,
     {"1.3.6.1.4.1.99999.7", "1.3.6.1.4.1.99999.8", "1.3.6.1.4.1.99999.9", "1.3.6.1.4.1.99999.10"}},
    {"serial with the high bit set and leading zeros, keyUsage bit 8 (decipherOnly)",
     MCA_KEY_EC_P256,
     ALG(alg_ecdsa256),
     {0x00, 0x00, 0x80, 0xff, 0x01},
     5,
     "hb.example.internal",
     {{MCA_NAME_DNS, "hb.example.internal"}},
     1700000000,
     1700086400,
     MCA_KU_DIGITAL_SIGNATURE | (1u << 8),
     MCA_EKU_SERVER_AUTH | MCA_EKU_OCSP_SIGNING,
     1,
     "http://ca.example.internal/crl",
     "http://ca.example.internal/ca.crt",
     "http://ca.example.internal/ocsp",
     {NULL}},
    {"UTF-8 CN of 64 characters, the last UTCTime",
     MCA_KEY_EC_P256,
     ALG(alg_ecdsa256),
     SERIAL16,
     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
     "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz0123",
     {{MCA_NAME_DNS, "x.example.internal"}},
     1700000000,
     T_2049_END,
     MCA_KU_DIGITAL_SIGNATURE,
     MCA_EKU_SERVER_AUTH,
     0,
     "http://ca.example.internal/crl",
     "http://ca.example.internal/ca.crt",
     NULL,
     {NULL}},
    {"GeneralizedTime from 2050, a long URL (long-form lengths)",
     MCA_KEY_EC_P256,
     ALG(alg_ecdsa256),
     SERIAL16,
     "gt.example.internal",
     {{MCA_NAME_DNS, "gt.example.internal"}},
     1700000000,
     T_2050,
     MCA_KU_DIGITAL_SIGNATURE,
     MCA_EKU_SERVER_AUTH,
     1,
     "http://ca.example.internal/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/crl",
     "http://ca.example.internal/ca.crt",
     "http://ca.example.internal/ocsp",
     {NULL}},
    {"a CN with RFC 2253 specials",
     MCA_KEY_EC_P256,
     ALG(alg_ecdsa256),
     SERIAL16,
     "#a, b+c \"d\" <e>;\\ ",
     {{MCA_NAME_DNS, "s.example.internal"}},
     1700000000,
     1700086400,
     MCA_KU_DIGITAL_SIGNATURE,
     MCA_EKU_SERVER_AUTH,
     0,
     NULL,
     NULL,
     NULL,
     {NULL}},
};

static int
gen_type(enum mca_name_type t)
{
	return t == MCA_NAME_DNS   ? GEN_DNS
	       : t == MCA_NAME_IP  ? GEN_IPADD
	       : t == MCA_NAME_URI ? GEN_URI
	                           : GEN_EMAIL;
}

static size_t
n_names(const struct leaf_case *c)
{
	size_t n = 0;

	while (n < MAX_NAMES && c->names[n].value != NULL)
		n++;
	return n;
}

/* The TBS the way issuance built it before: mca_certgen_build, the signature algorithm, i2d. */
static int
certgen_tbs(const struct leaf_case *c, const X509_PUBKEY *spki, EVP_PKEY *key, unsigned char **tbs,
            struct mca_error *err)
{
	struct mca_certgen g;
	GENERAL_NAMES *san = sk_GENERAL_NAME_new_null();
	X509_NAME *subject = X509_NAME_new();
	const unsigned char *p = c->alg;
	X509_ALGOR *alg = d2i_X509_ALGOR(NULL, &p, (long)c->alg_len);
	X509 *x = NULL;
	size_t i;
	int len = -1;

	ck_assert(san != NULL && subject != NULL && alg != NULL);
	for (i = 0; i < n_names(c); i++)
		if (mca_san_add(san, gen_type(c->names[i].type), c->names[i].value, err) != MCA_OK)
			goto out;
	if (c->cn != NULL && !X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
	                                                 (const unsigned char *)c->cn, -1, -1, 0))
		goto out;
	memset(&g, 0, sizeof(g));
	g.serial = c->serial;
	g.serial_len = c->serial_len;
	g.subject = subject;
	g.pubkey = key;
	g.spki = spki;
	g.issuer = ca;
	g.not_before = c->not_before;
	g.not_after = c->not_after;
	g.key_usage = c->ku;
	g.ext_key_usage = c->eku;
	g.san = san;
	g.san_critical = c->cn == NULL;
	g.ski = c->ski;
	g.crl_url = c->crl_url;
	g.ca_issuers_url = c->ca_issuers_url;
	g.ocsp_url = c->ocsp_url;
	memcpy(g.policies, c->policies, sizeof(g.policies));
	if (mca_certgen_build(&g, &x, err) != MCA_OK)
		goto out;
	ck_assert_int_eq(X509_ALGOR_copy((X509_ALGOR *)(uintptr_t)X509_get0_tbs_sigalg(x), alg), 1);
	len = i2d_re_X509_tbs(x, tbs);
out:
	X509_free(x);
	X509_ALGOR_free(alg);
	GENERAL_NAMES_free(san);
	X509_NAME_free(subject);
	return len;
}

static mca_rc
leafgen_tbs(const struct leaf_case *c, const struct mca_leaf_issuer *li, const X509_PUBKEY *spki,
            struct mca_name *names, unsigned char **tbs, size_t *tbs_len, struct mca_error *err)
{
	struct mca_leafgen g;
	size_t i;

	for (i = 0; i < n_names(c); i++) {
		memset(&names[i], 0, sizeof(names[i]));
		names[i].type = c->names[i].type;
		names[i].value = (char *)(uintptr_t)c->names[i].value;
	}
	memset(&g, 0, sizeof(g));
	g.serial = c->serial;
	g.serial_len = c->serial_len;
	g.alg = c->alg;
	g.alg_len = c->alg_len;
	g.issuer = li;
	g.cn = c->cn;
	g.spki = spki;
	g.not_before = c->not_before;
	g.not_after = c->not_after;
	g.key_usage = c->ku;
	g.ext_key_usage = c->eku;
	g.names = names;
	g.n_names = n_names(c);
	g.ski = c->ski;
	g.crl_url = c->crl_url;
	g.ca_issuers_url = c->ca_issuers_url;
	g.ocsp_url = c->ocsp_url;
	memcpy(g.policies, c->policies, sizeof(g.policies));
	return mca_leafgen_tbs(&g, tbs, tbs_len, err);
}

/* The subject's key as a CSR carries it: its SubjectPublicKeyInfo decoded. */
static X509_PUBKEY *
spki_of(EVP_PKEY *key)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	int len = i2d_PUBKEY(key, &der);
	X509_PUBKEY *pk;

	ck_assert_int_gt(len, 0);
	p = der;
	pk = d2i_X509_PUBKEY(NULL, &p, len);
	ck_assert_ptr_nonnull(pk);
	OPENSSL_free(der);
	return pk;
}

/* The DER encoder's TBS is, byte for byte, the object builder's. */
START_TEST(test_tbs_identical)
{
	const struct leaf_case *c = &cases[_i];
	struct mca_error err = {0};
	struct mca_leaf_issuer li;
	struct mca_name names[MAX_NAMES];
	EVP_PKEY *key = new_key(c->key);
	X509_PUBKEY *spki = spki_of(key);
	unsigned char *want = NULL, *got = NULL;
	size_t got_len = 0, i;
	int want_len;

	ck_assert_msg(mca_leaf_issuer_init(&li, ca, &err) == MCA_OK, "%s", err.msg);
	want_len = certgen_tbs(c, spki, key, &want, &err);
	ck_assert_msg(want_len > 0, "%s: certgen: %s", c->what, err.msg);
	ck_assert_msg(leafgen_tbs(c, &li, spki, names, &got, &got_len, &err) == MCA_OK, "%s: %s",
	              c->what, err.msg);
	for (i = 0; i < got_len && i < (size_t)want_len && got[i] == want[i]; i++)
		;
	ck_assert_msg(got_len == (size_t)want_len && i == got_len,
	              "%s: %zu octets, want %d; first difference at %zu", c->what, got_len,
	              want_len, i);
	free(got);
	OPENSSL_free(want);
	X509_PUBKEY_free(spki);
	EVP_PKEY_free(key);
	mca_leaf_issuer_clear(&li);
}
END_TEST

/* What the builder refuses, the encoder refuses, with the builder's error. */
static const struct {
	const char *what;
	const char *cn;
	struct name_in name;
	mca_rc rc;
	const char *msg;
} refusals[] = {
    {"a bad IP",
     "x.example.internal",
     {MCA_NAME_IP, "10.0.0.256"},
     MCA_ERR_INVAL,
     "invalid IP address '10.0.0.256'"},
    {"an IP that is a name",
     "x.example.internal",
     {MCA_NAME_IP, "host"},
     MCA_ERR_INVAL,
     "invalid IP address 'host'"},
    {"a CN of 65 characters",
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
     {MCA_NAME_DNS, "x.example.internal"},
     MCA_ERR_INTERNAL,
     "subject"},
    {"a UTF-8 CN of 65 characters",
     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
     "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz01234",
     {MCA_NAME_DNS, "x.example.internal"},
     MCA_ERR_INTERNAL,
     "subject"},
    {"an empty CN", "", {MCA_NAME_DNS, "x.example.internal"}, MCA_ERR_INTERNAL, "subject"},
    {"a CN that is not UTF-8",
     "caf\xe9",
     {MCA_NAME_DNS, "x.example.internal"},
     MCA_ERR_INTERNAL,
     "subject"},
    {"a CN with an overlong UTF-8 form",
     "\xc0\xaf",
     {MCA_NAME_DNS, "x.example.internal"},
     MCA_ERR_INTERNAL,
     "subject"},
    {"a CN with a UTF-16 surrogate",
     "\xed\xa0\x80",
     {MCA_NAME_DNS, "x.example.internal"},
     MCA_ERR_INTERNAL,
     "subject"},
};

START_TEST(test_refusals)
{
	struct leaf_case c = cases[0];
	struct mca_error err = {0};
	struct mca_leaf_issuer li;
	struct mca_name names[MAX_NAMES];
	EVP_PKEY *key = new_key(MCA_KEY_EC_P256);
	X509_PUBKEY *spki = spki_of(key);
	unsigned char *tbs = NULL, *otbs = NULL;
	size_t tbs_len = 0;

	memset(c.names, 0, sizeof(c.names));
	c.names[0] = refusals[_i].name;
	c.cn = refusals[_i].cn;
	ck_assert_int_eq(mca_leaf_issuer_init(&li, ca, &err), MCA_OK);
	/* the builder refuses it too (a CN at X509_NAME_add_entry_by_txt, an IP at mca_san_add) */
	ck_assert_msg(certgen_tbs(&c, spki, key, &otbs, &err) < 0, "%s: certgen took it",
	              refusals[_i].what);
	ERR_clear_error();
	mca_error_clear(&err);
	ck_assert_int_eq(leafgen_tbs(&c, &li, spki, names, &tbs, &tbs_len, &err), refusals[_i].rc);
	ck_assert_str_eq(err.msg, refusals[_i].msg);
	ck_assert_ptr_null(tbs);
	X509_PUBKEY_free(spki);
	EVP_PKEY_free(key);
	mca_leaf_issuer_clear(&li);
}
END_TEST

/* A CA without a subjectKeyIdentifier cannot issue (AKI). */
START_TEST(test_issuer_needs_ski)
{
	struct mca_error err = {0};
	struct mca_leaf_issuer li;
	X509 *x = X509_new();

	ck_assert_ptr_nonnull(x);
	ck_assert_int_eq(mca_leaf_issuer_init(&li, x, &err), MCA_ERR_CONFIG);
	ck_assert_str_eq(err.msg, "the issuing CA certificate has no subjectKeyIdentifier");
	X509_free(x);
	ck_assert_msg(mca_leaf_issuer_init(&li, ca, &err) == MCA_OK, "%s", err.msg);
	ck_assert_str_eq(li.name_text, "CN=Leafgen Test CA,O=Example\\, Inc.");
	mca_leaf_issuer_clear(&li);
}
END_TEST

/* ---- the subject text ----------------------------------------------------- */

/* mca_name_string of a name whose only entry is CN = the UTF8String `v` (any octets). */
static char *
printed(const unsigned char *v, size_t len)
{
	X509_NAME *n = X509_NAME_new();
	char *s;

	ck_assert_ptr_nonnull(n);
	ck_assert_int_eq(X509_NAME_add_entry_by_txt(n, "CN", V_ASN1_UTF8STRING, v, (int)len, -1, 0),
	                 1);
	s = mca_name_string(n);
	ck_assert_ptr_nonnull(s);
	X509_NAME_free(n);
	return s;
}

static void
ck_subject(const unsigned char *v, size_t len)
{
	char cn[16], *want, *got;

	ck_assert_uint_lt(len, sizeof(cn));
	memcpy(cn, v, len);
	cn[len] = '\0';
	want = printed(v, len);
	got = mca_leaf_subject_text(cn);
	ck_assert_ptr_nonnull(got);
	ck_assert_msg(strcmp(want, got) == 0, "octets %02x.. (%zu): got '%s', want '%s'", v[0], len,
	              got, want);
	free(want);
	free(got);
}

/* Every octet 1..255 alone, first, in the middle and last. */
START_TEST(test_subject_every_octet)
{
	unsigned char v[3];
	int c;

	for (c = 1; c < 256; c++) {
		v[0] = (unsigned char)c;
		ck_subject(v, 1);
		v[1] = 'a';
		ck_subject(v, 2); /* first */
		v[0] = 'a';
		v[1] = (unsigned char)c;
		v[2] = 'b';
		ck_subject(v, 3); /* middle */
		ck_subject(v, 2); /* last */
	}
}
END_TEST

static const char *const tricky_cns[] = {
    "a,b",  "a+b",         "\"q\"", "#x",      "x#",   " lead", "trail ",       " ", "  ", "#",
    "a\\b", "caf\xc3\xa9", "a\tb",  "<a>;b=c", "\x7f", "a b",   "\xe2\x82\xac",
};

/* Whole CNs against mca_name_string of the name mca_certgen_build makes (MBSTRING_UTF8). */
START_TEST(test_subject_tricky)
{
	X509_NAME *n = X509_NAME_new();
	const char *cn = tricky_cns[_i];
	char *want, *got;

	ck_assert_int_eq(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
	                                            (const unsigned char *)cn, -1, -1, 0),
	                 1);
	want = mca_name_string(n);
	got = mca_leaf_subject_text(cn);
	ck_assert_ptr_nonnull(want);
	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got, want);
	free(want);
	free(got);
	X509_NAME_free(n);
	/* the empty subject */
	n = X509_NAME_new();
	want = mca_name_string(n);
	got = mca_leaf_subject_text(NULL);
	ck_assert_str_eq(got, want);
	ck_assert_str_eq(got, "");
	free(want);
	free(got);
	X509_NAME_free(n);
}
END_TEST

/* ---- PEM from DER ---------------------------------------------------------- */

/*
 * The PEM from DER bytes is what OpenSSL's PEM writer gives for the same
 * bytes, for every length 1..200 (so every way the last base64 line can
 * end, a full one included), and PEM_write_bio_X509's text for
 * certificates (CNs of 1..8 octets).
 */
START_TEST(test_pem_from_der)
{
	struct mca_error err = {0};
	unsigned char bytes[200], *der = NULL;
	char cn[16], *want = NULL, *got = NULL, *mem;
	size_t der_len = 0, n;
	long mem_len;
	BIO *bio;
	X509 *x;
	int i;

	for (n = 0; n < sizeof(bytes); n++)
		bytes[n] = (unsigned char)(n * 37 + 11);
	for (n = 1; n <= sizeof(bytes); n++) {
		bio = BIO_new(BIO_s_mem());
		ck_assert_ptr_nonnull(bio);
		ck_assert_int_gt(PEM_write_bio(bio, "CERTIFICATE", "", bytes, (long)n), 0);
		mem_len = BIO_get_mem_data(bio, &mem);
		ck_assert_int_eq(mca_cert_der_to_pem(bytes, n, &got, &err), MCA_OK);
		ck_assert_msg(strlen(got) == (size_t)mem_len &&
		                  memcmp(got, mem, (size_t)mem_len) == 0,
		              "length %zu: '%s' want '%.*s'", n, got, (int)mem_len, mem);
		free(got);
		BIO_free(bio);
	}
	for (i = 1; i <= 8; i++) {
		X509_NAME *nm = X509_NAME_new();

		memset(cn, 'c', (size_t)i);
		cn[i] = '\0';
		x = X509_new();
		ck_assert(x != NULL && nm != NULL);
		ck_assert_int_eq(X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_UTF8,
		                                            (const unsigned char *)cn, -1, -1, 0),
		                 1);
		ck_assert_int_eq(X509_set_subject_name(x, nm), 1);
		ck_assert_int_eq(X509_set_issuer_name(x, nm), 1);
		ck_assert_int_eq(X509_set_pubkey(x, ca_key), 1);
		ck_assert_int_gt(X509_sign(x, ca_key, EVP_sha256()), 0);
		ck_assert_int_eq(mca_cert_to_pem(x, &want, &err), MCA_OK);
		ck_assert_int_eq(mca_cert_to_der(x, &der, &der_len, &err), MCA_OK);
		ck_assert_int_eq(mca_cert_der_to_pem(der, der_len, &got, &err), MCA_OK);
		ck_assert_str_eq(got, want);
		free(want);
		free(got);
		free(der);
		X509_NAME_free(nm);
		X509_free(x);
	}
}
END_TEST

/* The IP octets are a2i_IPADDRESS's (as mca_san_add); 0 for what it refuses. */
START_TEST(test_leaf_ip)
{
	unsigned char ip[16];

	ck_assert_uint_eq(mca_leaf_ip("10.1.2.3", ip), 4);
	ck_assert_int_eq(memcmp(ip, "\x0a\x01\x02\x03", 4), 0);
	ck_assert_uint_eq(mca_leaf_ip("::1", ip), 16);
	ck_assert_int_eq(ip[15], 1);
	ck_assert_uint_eq(mca_leaf_ip("10.1.2", ip), 0);
	ck_assert_uint_eq(mca_leaf_ip("", ip), 0);
	ck_assert_uint_eq(mca_leaf_ip("web.example", ip), 0);
}
END_TEST

static Suite *
leafgen_suite(void)
{
	Suite *s = suite_create("leafgen");
	TCase *tc = tcase_create("leafgen");

	tcase_add_unchecked_fixture(tc, ca_setup, ca_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_tbs_identical, 0, (int)NELEM(cases));
	tcase_add_loop_test(tc, test_refusals, 0, (int)NELEM(refusals));
	tcase_add_test(tc, test_issuer_needs_ski);
	tcase_add_test(tc, test_subject_every_octet);
	tcase_add_loop_test(tc, test_subject_tricky, 0, (int)NELEM(tricky_cns));
	tcase_add_test(tc, test_pem_from_der);
	tcase_add_test(tc, test_leaf_ip);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(leafgen_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
