/*
 * test_policy.c - unit tests of csr.h and policy.h: CSRs built here with
 * the OpenSSL API (chosen key, subject CN, SAN entries), parsed with
 * mca_csr_parse and checked with mca_policy_check under the shipped
 * templates (and modified copies of them).  Every rule of profiles.md has
 * a table row that must be accepted or refused with the exact rule id.
 *
 * Keys are generated once in main() before the runner forks, so every
 * test shares them.  Templates are read from $MCA_TOP_SRCDIR/templates.
 */
#include "config.h" /* defines _GNU_SOURCE: strcasestr, asprintf */

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/err.h"
#include "pki/certgen.h"
#include "pki/csr.h"
#include "policy/policy.h"
#include "policy/profile.h"
#include "testutil.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define MINUTE ((int64_t)60)
#define HOUR   ((int64_t)3600)
#define DAY    ((int64_t)86400)
/* A fixed "now" (2026-01-01T00:00:00Z) so every expectation is exact. */
#define NOW ((int64_t)1767225600)
/* The default CA lifetime left: far beyond every profile's maximum. */
#define CA_LEFT (10 * 365 * DAY)

#define KU_DS    MCA_KU_DIGITAL_SIGNATURE
#define KU_DS_KE (MCA_KU_DIGITAL_SIGNATURE | MCA_KU_KEY_ENCIPHERMENT)
#define EKU_S    MCA_EKU_SERVER_AUTH
#define EKU_SC   (MCA_EKU_SERVER_AUTH | MCA_EKU_CLIENT_AUTH)

/* Labels for the length limits: 63 characters, and 64 (one too many). */
#define L63                                                                                        \
	"abcdefghij"                                                                               \
	"abcdefghij"                                                                               \
	"abcdefghij"                                                                               \
	"abcdefghij"                                                                               \
	"abcdefghij"                                                                               \
	"abcdefghij"                                                                               \
	"abc"
#define L57                                                                                        \
	"abcdefghij"                                                                               \
	"abcdefghij"                                                                               \
	"abcdefghij"                                                                               \
	"abcdefghij"                                                                               \
	"abcdefghij"                                                                               \
	"abcdefg"
/* 63+1+63+1+63+1+57+1+3 = 253 characters: the longest DNS name. */
#define NAME253 L63 "." L63 "." L63 "." L57 ".com"
/* 259 characters. */
#define NAME259 L63 "." L63 "." L63 "." L63 ".com"

/* ---- keys ------------------------------------------------------------- */

enum key_kind {
	K_P256,
	K_P384,
	K_RSA2048,
	K_RSA3072,
	K_ED25519,
	K_RSA1024,
	K_RSA_E3,  /* 2048 bits, public exponent 3 */
	K_RSA2052, /* modulus not a multiple of 8 */
	K_P521,
	K_K256, /* secp256k1 */
	K_ED448,
	K_P256_EXPLICIT, /* P-256 with explicit curve parameters, not the named curve */
	K__COUNT
};

static EVP_PKEY *keys[K__COUNT];

static EVP_PKEY *
gen_rsa(unsigned bits, unsigned long e)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	BIGNUM *bn = BN_new();
	EVP_PKEY *k = NULL;

	if (ctx == NULL || bn == NULL || EVP_PKEY_keygen_init(ctx) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)bits) <= 0 || !BN_set_word(bn, e) ||
	    EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, bn) <= 0 || EVP_PKEY_generate(ctx, &k) <= 0)
		k = NULL;
	BN_free(bn);
	EVP_PKEY_CTX_free(ctx);
	return k;
}

/* Generate every key once, in the parent, before the runner forks. */
static void
keys_init(void)
{
	size_t i;

	keys[K_P256] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	keys[K_P384] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	keys[K_P521] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	keys[K_K256] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
	keys[K_ED25519] = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	keys[K_ED448] = EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
	keys[K_P256_EXPLICIT] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (keys[K_P256_EXPLICIT] != NULL &&
	    !EVP_PKEY_set_utf8_string_param(keys[K_P256_EXPLICIT], OSSL_PKEY_PARAM_EC_ENCODING,
	                                    OSSL_PKEY_EC_ENCODING_EXPLICIT)) {
		EVP_PKEY_free(keys[K_P256_EXPLICIT]);
		keys[K_P256_EXPLICIT] = NULL;
	}
	keys[K_RSA2048] = gen_rsa(2048, 65537);
	keys[K_RSA3072] = gen_rsa(3072, 65537);
	keys[K_RSA1024] = gen_rsa(1024, 65537);
	keys[K_RSA_E3] = gen_rsa(2048, 3);
	keys[K_RSA2052] = gen_rsa(2052, 65537);
	for (i = 0; i < K__COUNT; i++) {
		if (keys[i] == NULL) {
			fprintf(stderr, "test_policy: cannot generate test key %u\n", (unsigned)i);
			exit(EXIT_FAILURE);
		}
	}
}

static void
keys_free(void)
{
	size_t i;

	for (i = 0; i < K__COUNT; i++)
		EVP_PKEY_free(keys[i]);
}

/* ---- CSRs ------------------------------------------------------------- */

#define MAX_IN_NAMES 8

/*
 * A CSR to build: key, subject CN (NULL: none), an extra O= attribute,
 * and SAN entries "DNS:x", "IP:x", "URI:x", "email:x" or "dirName:" (no
 * SAN extension at all when names[0] is NULL).
 */
struct csr_in {
	enum key_kind key;
	const char *cn;
	const char *names[MAX_IN_NAMES];
	int org;
};

/* A csr_in: key, CN, then the SAN entries (NULL for none); CSR_ORG adds O=. */
#define CSR(key, cn, ...)                                                                          \
	{                                                                                          \
		key, cn, {__VA_ARGS__}, 0                                                          \
	}
#define CSR_ORG(key, cn, ...)                                                                      \
	{                                                                                          \
		key, cn, {__VA_ARGS__}, 1                                                          \
	}

static GENERAL_NAME *
make_gn(const char *spec)
{
	GENERAL_NAME *gn = GENERAL_NAME_new();
	const char *colon = strchr(spec, ':');
	const char *v;
	size_t tlen;

	ck_assert_ptr_nonnull(gn);
	ck_assert_msg(colon != NULL, "bad name spec '%s'", spec);
	tlen = (size_t)(colon - spec);
	v = colon + 1;
	if (tlen == 2 && strncmp(spec, "IP", 2) == 0) {
		ASN1_OCTET_STRING *os = a2i_IPADDRESS(v);

		ck_assert_msg(os != NULL, "bad IP '%s' in a test table", v);
		GENERAL_NAME_set0_value(gn, GEN_IPADD, os);
	} else if (tlen == 7 && strncmp(spec, "dirName", 7) == 0) {
		X509_NAME *dn = X509_NAME_new();

		ck_assert_ptr_nonnull(dn);
		ck_assert_int_eq(X509_NAME_add_entry_by_txt(dn, "CN", MBSTRING_ASC,
		                                            (const unsigned char *)"dir", -1, -1,
		                                            0),
		                 1);
		GENERAL_NAME_set0_value(gn, GEN_DIRNAME, dn);
	} else {
		ASN1_IA5STRING *s = ASN1_IA5STRING_new();
		int type;

		if (tlen == 3 && strncmp(spec, "DNS", 3) == 0)
			type = GEN_DNS;
		else if (tlen == 3 && strncmp(spec, "URI", 3) == 0)
			type = GEN_URI;
		else if (tlen == 5 && strncmp(spec, "email", 5) == 0)
			type = GEN_EMAIL;
		else
			ck_abort_msg("bad name spec '%s'", spec);
		ck_assert_ptr_nonnull(s);
		ck_assert_int_eq(ASN1_STRING_set(s, v, (int)strlen(v)), 1);
		GENERAL_NAME_set0_value(gn, type, s);
	}
	return gn;
}

/* Add a subjectAltName extension request with `n` entries. */
static void
req_add_san(X509_REQ *req, const char *const *names, size_t n)
{
	GENERAL_NAMES *gens = GENERAL_NAMES_new();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	X509_EXTENSION *ext;
	size_t i;

	ck_assert_ptr_nonnull(gens);
	ck_assert_ptr_nonnull(exts);
	for (i = 0; i < n; i++)
		ck_assert_int_gt(sk_GENERAL_NAME_push(gens, make_gn(names[i])), 0);
	ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, gens);
	ck_assert_ptr_nonnull(ext);
	ck_assert_int_gt(sk_X509_EXTENSION_push(exts, ext), 0);
	ck_assert_int_eq(X509_REQ_add_extensions(req, exts), 1);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	GENERAL_NAMES_free(gens);
}

/* An unsigned request: key, subject, SANs (`names`, `n` of them). */
static X509_REQ *
req_new(enum key_kind key, const char *cn, int org, const char *const *names, size_t n)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *subj;

	ck_assert_ptr_nonnull(req);
	ck_assert_int_eq(X509_REQ_set_version(req, 0), 1);
	subj = X509_REQ_get_subject_name(req);
	if (org)
		ck_assert_int_eq(X509_NAME_add_entry_by_txt(subj, "O", MBSTRING_UTF8,
		                                            (const unsigned char *)"Example Ltd",
		                                            -1, -1, 0),
		                 1);
	if (cn != NULL)
		ck_assert_int_eq(X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_UTF8,
		                                            (const unsigned char *)cn, -1, -1, 0),
		                 1);
	ck_assert_int_eq(X509_REQ_set_pubkey(req, keys[key]), 1);
	if (n > 0)
		req_add_san(req, names, n);
	return req;
}

static int
is_eddsa(enum key_kind key)
{
	return key == K_ED25519 || key == K_ED448;
}

static void
req_sign(X509_REQ *req, enum key_kind key)
{
	ck_assert_int_gt(X509_REQ_sign(req, keys[key], is_eddsa(key) ? NULL : EVP_sha256()), 0);
}

/* DER of `req`, malloc'd (OPENSSL_free). */
static unsigned char *
req_der(X509_REQ *req, size_t *len)
{
	unsigned char *der = NULL;
	int n = i2d_X509_REQ(req, &der);

	ck_assert_int_gt(n, 0);
	*len = (size_t)n;
	return der;
}

/* PEM of `req`, malloc'd (free). */
static char *
req_pem(X509_REQ *req, size_t *len)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *copy;
	long n;

	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(PEM_write_bio_X509_REQ(b, req), 1);
	n = BIO_get_mem_data(b, &data);
	ck_assert_int_gt(n, 0);
	copy = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(copy);
	memcpy(copy, data, (size_t)n);
	copy[n] = '\0';
	*len = (size_t)n;
	BIO_free(b);
	return copy;
}

static size_t
count_names(const struct csr_in *in)
{
	size_t n = 0;

	while (n < MAX_IN_NAMES && in->names[n] != NULL)
		n++;
	return n;
}

/* Build, sign and serialise `in` as DER; parse it; the parse must succeed. */
static struct mca_csr *
csr_from(const struct csr_in *in)
{
	X509_REQ *req = req_new(in->key, in->cn, in->org, in->names, count_names(in));
	struct mca_error err = {0};
	struct mca_csr *csr = NULL;
	unsigned char *der;
	size_t len;
	mca_rc rc;

	req_sign(req, in->key);
	der = req_der(req, &len);
	rc = mca_csr_parse(der, len, &csr, &err);
	ck_assert_msg(rc == MCA_OK, "mca_csr_parse: rc %d rule '%s': %s", rc, err.rule, err.msg);
	ck_assert_ptr_nonnull(csr);
	OPENSSL_free(der);
	X509_REQ_free(req);
	return csr;
}

/* ---- profiles --------------------------------------------------------- */

/*
 * Profiles by test name: a shipped template, or a modified copy of one
 * (up to two textual substitutions).
 */
static const struct {
	const char *id;
	const char *base;
	const char *from[2], *to[2];
} variants[] = {
    {"public", "public", {NULL, NULL}, {NULL, NULL}},
    {"private", "private", {NULL, NULL}, {NULL, NULL}},
    {"domain-validated", "domain-validated", {NULL, NULL}, {NULL, NULL}},
    {"private+dns-allow",
     "private",
     {"\"dns\": {\"allow\": []", NULL},
     {"\"dns\": {\"allow\": [\"*.svc.example.internal\"]", NULL}},
    {"private+dns-deny",
     "private",
     {"\"deny\": []", NULL},
     {"\"deny\": [\"*.bad.example.internal\"]", NULL}},
    {"private+dns-both",
     "private",
     {"\"dns\": {\"allow\": []", "\"deny\": []"},
     {"\"dns\": {\"allow\": [\"*.example.internal\"]", "\"deny\": [\"*.bad.example.internal\"]"}},
    {"private+ip-allow",
     "private",
     {"\"ip\": {\"allow\": []", NULL},
     {"\"ip\": {\"allow\": [\"10.0.0.0/8\"]", NULL}},
    {"private+uri-allow",
     "private",
     {"\"uri\": {\"allow\": []", NULL},
     {"\"uri\": {\"allow\": [\"spiffe://example.org/\"]", NULL}},
    {"private+no-wildcards",
     "private",
     {"\"wildcards\": true", NULL},
     {"\"wildcards\": false", NULL}},
    {"public+rsa3072",
     "public",
     {"\"rsa_min_bits\": 2048", NULL},
     {"\"rsa_min_bits\": 3072", NULL}},
    {"public+cn-none",
     "public",
     {"\"common_name\": \"first_san\"", NULL},
     {"\"common_name\": \"none\"", NULL}},
    {"public+cn-as-san",
     "public",
     {"\"common_name\": \"first_san\"", NULL},
     {"\"common_name\": \"first_san\", \"cn_as_san\": true", NULL}},
    {"private+email", "private", {"\"email\": false", NULL}, {"\"email\": true", NULL}},
    {"private+no-reserved", "private", {"\"reserved\": true", NULL}, {"\"reserved\": false", NULL}},
    {"private+no-dns",
     "private",
     {"\"dns\": {\"allow\": [], \"deny\": [], \"wildcards\": true, "
      "\"public_suffix_required\": false, \"internal\": true}",
      NULL},
     {"\"dns\": null", NULL}},
    {"domain-validated+internal",
     "domain-validated",
     {"\"internal\": false", NULL},
     {"\"internal\": true", NULL}},
};

static struct mca_profile *profile_cache[NELEM(variants)];

/* The profile `id` of the table above, parsed once per process. */
static const struct mca_profile *
profile(const char *id)
{
	struct mca_error err = {0};
	size_t i, j;
	char *text, *path;
	mca_rc rc;

	for (i = 0; i < NELEM(variants); i++)
		if (strcmp(variants[i].id, id) == 0)
			break;
	ck_assert_msg(i < NELEM(variants), "no profile variant '%s'", id);
	if (profile_cache[i] != NULL)
		return profile_cache[i];
	text = tu_template(variants[i].base);
	for (j = 0; j < 2; j++)
		if (variants[i].from[j] != NULL)
			text = tu_subst(text, variants[i].from[j], variants[i].to[j]);
	path = tu_template_path(variants[i].base);
	rc = mca_profile_parse(path, text, strlen(text), &profile_cache[i], &err);
	ck_assert_msg(rc == MCA_OK, "profile '%s': rc %d: %s", id, rc, err.msg);
	ck_assert_ptr_nonnull(profile_cache[i]);
	free(path);
	free(text);
	return profile_cache[i];
}

/* ---- helpers ---------------------------------------------------------- */

static const char *
type_prefix(enum mca_name_type t)
{
	switch (t) {
	case MCA_NAME_DNS:
		return "DNS";
	case MCA_NAME_IP:
		return "IP";
	case MCA_NAME_URI:
		return "URI";
	case MCA_NAME_EMAIL:
		return "email";
	}
	return "?";
}

/* Whether `msg` contains one of the '|'-separated `alts`, ignoring case. */
static int
msg_has(const char *msg, const char *alts)
{
	char *copy = strdup(alts), *save = NULL, *tok;
	int found = 0;

	ck_assert_ptr_nonnull(copy);
	for (tok = strtok_r(copy, "|", &save); tok != NULL; tok = strtok_r(NULL, "|", &save))
		if (strcasestr(msg, tok) != NULL)
			found = 1;
	free(copy);
	return found;
}

/* Assert that an IP result name holds the octets of its text. */
static void
check_ip_octets(const struct mca_name *n)
{
	unsigned char want[16];

	if (strchr(n->value, ':') != NULL) {
		ck_assert_int_eq(inet_pton(AF_INET6, n->value, want), 1);
		ck_assert_uint_eq(n->ip_len, 16);
	} else {
		ck_assert_int_eq(inet_pton(AF_INET, n->value, want), 1);
		ck_assert_uint_eq(n->ip_len, 4);
	}
	ck_assert_msg(memcmp(n->ip, want, n->ip_len) == 0, "octets of %s", n->value);
}

/* ---- accepted requests ------------------------------------------------ */

struct accept_case {
	const char *profile;
	struct csr_in csr;
	int64_t validity;  /* requested; 0: the profile's default */
	int64_t ca_left;   /* CA notAfter - now; 0: CA_LEFT */
	int64_t want_life; /* expected notAfter - now */
	const char *want_names[MAX_IN_NAMES];
	const char *want_cn; /* NULL: an empty subject */
};

static const struct accept_case accept_tab[] = {
    /* public: names, case, wildcards, IDNs, IPs */
    {"public",
     CSR(K_P256, NULL, "DNS:www.example.com"),
     0,
     0,
     90 * DAY,
     {"DNS:www.example.com"},
     "www.example.com"},
    {"public",
     CSR(K_RSA2048, "www.example.com", "DNS:www.example.com", "DNS:example.com"),
     0,
     0,
     90 * DAY,
     {"DNS:www.example.com", "DNS:example.com"},
     "www.example.com"},
    {"public",
     CSR(K_RSA3072, NULL, "DNS:api.example.org"),
     0,
     0,
     90 * DAY,
     {"DNS:api.example.org"},
     "api.example.org"},
    {"public",
     CSR(K_P384, NULL, "DNS:WWW.Example.COM"),
     0,
     0,
     90 * DAY,
     {"DNS:www.example.com"},
     "www.example.com"},
    {"public",
     CSR(K_P256, "WWW.EXAMPLE.COM", "DNS:WWW.EXAMPLE.COM"),
     0,
     0,
     90 * DAY,
     {"DNS:www.example.com"},
     "www.example.com"},
    {"public",
     CSR(K_P256, "WWW.EXAMPLE.COM", "DNS:www.example.com"),
     0,
     0,
     90 * DAY,
     {"DNS:www.example.com"},
     "www.example.com"},
    {"public",
     CSR(K_P256, NULL, "DNS:*.example.com"),
     0,
     0,
     90 * DAY,
     {"DNS:*.example.com"},
     "*.example.com"},
    {"public",
     CSR(K_P256, NULL, "DNS:www.example.co.uk", "DNS:*.sub.example.co.uk"),
     0,
     0,
     90 * DAY,
     {"DNS:www.example.co.uk", "DNS:*.sub.example.co.uk"},
     "www.example.co.uk"},
    {"public",
     CSR(K_P256, NULL, "DNS:xn--bcher-kva.example.com"),
     0,
     0,
     90 * DAY,
     {"DNS:xn--bcher-kva.example.com"},
     "xn--bcher-kva.example.com"},
    {"public",
     CSR(K_P256, NULL, "DNS:example.xn--p1ai"),
     0,
     0,
     90 * DAY,
     {"DNS:example.xn--p1ai"},
     "example.xn--p1ai"},
    {"public",
     CSR(K_P256, NULL, "DNS:foo.github.io"),
     0,
     0,
     90 * DAY,
     {"DNS:foo.github.io"},
     "foo.github.io"},
    /* a CN holds at most 64 characters (RFC 5280 ub-common-name): longer names are skipped */
    {"public", CSR(K_P256, NULL, "DNS:" NAME253), 0, 0, 90 * DAY, {"DNS:" NAME253}, NULL},
    {"public",
     CSR(K_P256, NULL, "DNS:" NAME253, "DNS:www.example.com"),
     0,
     0,
     90 * DAY,
     {"DNS:" NAME253, "DNS:www.example.com"},
     "www.example.com"},
    {"public", CSR(K_P256, NULL, "IP:8.8.8.8"), 0, 0, 90 * DAY, {"IP:8.8.8.8"}, "8.8.8.8"},
    {"public", CSR(K_P256, "8.8.8.8", "IP:8.8.8.8"), 0, 0, 90 * DAY, {"IP:8.8.8.8"}, "8.8.8.8"},
    {"public",
     CSR(K_P256, NULL, "IP:2001:4860:4860:0:0:0:0:8888"),
     0,
     0,
     90 * DAY,
     {"IP:2001:4860:4860::8888"},
     "2001:4860:4860::8888"},
    {"public",
     CSR(K_P256, NULL, "IP:8.8.8.8", "DNS:www.example.com"),
     0,
     0,
     90 * DAY,
     {"IP:8.8.8.8", "DNS:www.example.com"},
     "www.example.com"},
    /* public: other subject attributes are dropped, not refused */
    {"public",
     CSR_ORG(K_P256, "www.example.com", "DNS:www.example.com"),
     0,
     0,
     90 * DAY,
     {"DNS:www.example.com"},
     "www.example.com"},
    /* public: validity */
    {"public",
     CSR(K_P256, NULL, "DNS:www.example.com"),
     199 * DAY,
     0,
     199 * DAY,
     {"DNS:www.example.com"},
     "www.example.com"},
    {"public",
     CSR(K_P256, NULL, "DNS:www.example.com"),
     HOUR,
     0,
     HOUR,
     {"DNS:www.example.com"},
     "www.example.com"},
    {"public",
     CSR(K_P256, NULL, "DNS:www.example.com"),
     30 * DAY,
     30 * DAY,
     30 * DAY,
     {"DNS:www.example.com"},
     "www.example.com"},
    /* private: internal names, any IP, URIs, Ed25519 */
    {"private",
     CSR(K_P256, NULL, "DNS:db.internal"),
     0,
     0,
     24 * HOUR,
     {"DNS:db.internal"},
     "db.internal"},
    {"private", CSR(K_P256, NULL, "DNS:myhost"), 0, 0, 24 * HOUR, {"DNS:myhost"}, "myhost"},
    {"private",
     CSR(K_P256, NULL, "DNS:web.svc.cluster.local", "DNS:printer.local", "DNS:nas.lan"),
     0,
     0,
     24 * HOUR,
     {"DNS:web.svc.cluster.local", "DNS:printer.local", "DNS:nas.lan"},
     "web.svc.cluster.local"},
    {"private",
     CSR(K_P256, NULL, "DNS:*.svc.cluster.local"),
     0,
     0,
     24 * HOUR,
     {"DNS:*.svc.cluster.local"},
     "*.svc.cluster.local"},
    {"private",
     CSR(K_P256, NULL, "DNS:www.example.com"),
     0,
     0,
     24 * HOUR,
     {"DNS:www.example.com"},
     "www.example.com"},
    {"private",
     CSR(K_P256, NULL, "IP:10.1.2.3", "IP:127.0.0.1", "IP:::1", "IP:192.168.1.1", "IP:fd00::1"),
     0,
     0,
     24 * HOUR,
     {"IP:10.1.2.3", "IP:127.0.0.1", "IP:::1", "IP:192.168.1.1", "IP:fd00::1"},
     "10.1.2.3"},
    {"private",
     CSR(K_ED25519, NULL, "DNS:web.internal"),
     0,
     0,
     24 * HOUR,
     {"DNS:web.internal"},
     "web.internal"},
    {"private",
     CSR(K_RSA2048, "a.internal", "DNS:a.internal"),
     0,
     0,
     24 * HOUR,
     {"DNS:a.internal"},
     "a.internal"},
    {"private",
     CSR(K_P384, NULL, "URI:spiffe://example.org/ns/prod/sa/web"),
     0,
     0,
     24 * HOUR,
     {"URI:spiffe://example.org/ns/prod/sa/web"},
     NULL},
    {"private",
     CSR(K_P256, NULL, "DNS:web.internal", "URI:spiffe://example.org/ns/prod/sa/web"),
     0,
     0,
     24 * HOUR,
     {"DNS:web.internal", "URI:spiffe://example.org/ns/prod/sa/web"},
     "web.internal"},
    {"private",
     CSR(K_P256, NULL, "URI:https://example.org/api"),
     0,
     0,
     24 * HOUR,
     {"URI:https://example.org/api"},
     NULL},
    {"private",
     CSR(K_P256, NULL, "DNS:web.internal"),
     30 * DAY,
     0,
     30 * DAY,
     {"DNS:web.internal"},
     "web.internal"},
    /* private with allow/deny lists: names inside the allow list, outside the deny list */
    {"private+dns-allow",
     CSR(K_P256, NULL, "DNS:web.svc.example.internal"),
     0,
     0,
     24 * HOUR,
     {"DNS:web.svc.example.internal"},
     "web.svc.example.internal"},
    {"private+dns-allow",
     CSR(K_P256, NULL, "DNS:a.b.svc.example.internal"),
     0,
     0,
     24 * HOUR,
     {"DNS:a.b.svc.example.internal"},
     "a.b.svc.example.internal"},
    {"private+dns-allow",
     CSR(K_P256, NULL, "DNS:WEB.SVC.Example.Internal"),
     0,
     0,
     24 * HOUR,
     {"DNS:web.svc.example.internal"},
     "web.svc.example.internal"},
    {"private+dns-allow",
     CSR(K_P256, NULL, "DNS:*.svc.example.internal"),
     0,
     0,
     24 * HOUR,
     {"DNS:*.svc.example.internal"},
     "*.svc.example.internal"},
    {"private+dns-deny",
     CSR(K_P256, NULL, "DNS:ok.example.internal"),
     0,
     0,
     24 * HOUR,
     {"DNS:ok.example.internal"},
     "ok.example.internal"},
    {"private+dns-both",
     CSR(K_P256, NULL, "DNS:ok.example.internal"),
     0,
     0,
     24 * HOUR,
     {"DNS:ok.example.internal"},
     "ok.example.internal"},
    {"private+ip-allow",
     CSR(K_P256, NULL, "IP:10.1.2.3"),
     0,
     0,
     24 * HOUR,
     {"IP:10.1.2.3"},
     "10.1.2.3"},
    {"private+uri-allow",
     CSR(K_P256, NULL, "URI:spiffe://example.org/ns/x"),
     0,
     0,
     24 * HOUR,
     {"URI:spiffe://example.org/ns/x"},
     NULL},
    {"private+no-wildcards",
     CSR(K_P256, NULL, "DNS:web.internal"),
     0,
     0,
     24 * HOUR,
     {"DNS:web.internal"},
     "web.internal"},
    /* template variants: stricter RSA size, no CN, CN as the name, email, no reserved IPs */
    {"public+rsa3072",
     CSR(K_RSA3072, NULL, "DNS:www.example.com"),
     0,
     0,
     90 * DAY,
     {"DNS:www.example.com"},
     "www.example.com"},
    {"public+cn-none",
     CSR(K_P256, NULL, "DNS:www.example.com"),
     0,
     0,
     90 * DAY,
     {"DNS:www.example.com"},
     NULL},
    {"public+cn-none",
     CSR(K_P256, "www.example.com", "DNS:www.example.com"),
     0,
     0,
     90 * DAY,
     {"DNS:www.example.com"},
     NULL},
    {"public+cn-as-san",
     CSR(K_P256, "www.example.com", NULL),
     0,
     0,
     90 * DAY,
     {"DNS:www.example.com"},
     "www.example.com"},
    {"public+cn-as-san",
     CSR(K_P256, "WWW.EXAMPLE.COM", NULL),
     0,
     0,
     90 * DAY,
     {"DNS:www.example.com"},
     "www.example.com"},
    {"public+cn-as-san", CSR(K_P256, "8.8.8.8", NULL), 0, 0, 90 * DAY, {"IP:8.8.8.8"}, "8.8.8.8"},
    {"public+cn-as-san",
     CSR(K_P256, "www.example.com", "DNS:www.example.com", "DNS:example.com"),
     0,
     0,
     90 * DAY,
     {"DNS:www.example.com", "DNS:example.com"},
     "www.example.com"},
    {"private+email",
     CSR(K_P256, NULL, "email:admin@example.com"),
     0,
     0,
     24 * HOUR,
     {"email:admin@example.com"},
     NULL},
    {"private+no-reserved",
     CSR(K_P256, NULL, "IP:8.8.8.8"),
     0,
     0,
     24 * HOUR,
     {"IP:8.8.8.8"},
     "8.8.8.8"},
    {"private+no-dns",
     CSR(K_P256, NULL, "IP:10.0.0.1"),
     0,
     0,
     24 * HOUR,
     {"IP:10.0.0.1"},
     "10.0.0.1"},
    /* domain-validated */
    {"domain-validated",
     CSR(K_P256, NULL, "DNS:www.example.com"),
     0,
     0,
     90 * DAY,
     {"DNS:www.example.com"},
     "www.example.com"},
    {"domain-validated",
     CSR(K_RSA2048, NULL, "DNS:*.example.com", "DNS:example.com"),
     0,
     0,
     90 * DAY,
     {"DNS:*.example.com", "DNS:example.com"},
     "*.example.com"},
    {"domain-validated",
     CSR(K_P256, NULL, "DNS:www.example.com"),
     199 * DAY,
     0,
     199 * DAY,
     {"DNS:www.example.com"},
     "www.example.com"},
    {"domain-validated+internal",
     CSR(K_P256, NULL, "DNS:db.internal"),
     0,
     0,
     90 * DAY,
     {"DNS:db.internal"},
     "db.internal"},
};

/* Each accepted request yields exactly the certificate contents profiles.md describes. */
START_TEST(test_accept)
{
	const struct accept_case *c = &accept_tab[_i];
	const struct mca_profile *p = profile(c->profile);
	struct mca_csr *csr = csr_from(&c->csr);
	struct mca_policy_ctx ctx = {p, NOW, NOW + (c->ca_left ? c->ca_left : CA_LEFT)};
	struct mca_policy_result res;
	struct mca_error err = {0};
	int rsa = c->csr.key == K_RSA2048 || c->csr.key == K_RSA3072;
	size_t i, n = 0;
	mca_rc rc;

	memset(&res, 0, sizeof(res));
	rc = mca_policy_check(&ctx, csr, c->validity, &res, &err);
	ck_assert_msg(rc == MCA_OK, "%s / %s: refused: rc %d rule '%s': %s", c->profile,
	              c->csr.names[0] ? c->csr.names[0] : "(none)", rc, err.rule, err.msg);
	while (n < MAX_IN_NAMES && c->want_names[n] != NULL)
		n++;
	ck_assert_uint_eq(res.n_names, n);
	for (i = 0; i < n; i++) {
		char *got = NULL;

		ck_assert_ptr_nonnull(res.names[i].value);
		ck_assert_int_ge(
		    asprintf(&got, "%s:%s", type_prefix(res.names[i].type), res.names[i].value), 0);
		ck_assert_str_eq(got, c->want_names[i]);
		if (res.names[i].type == MCA_NAME_IP)
			check_ip_octets(&res.names[i]);
		free(got);
	}
	if (c->want_cn == NULL)
		ck_assert_ptr_null(res.cn);
	else
		ck_assert_pstr_eq(res.cn, c->want_cn);
	ck_assert_int_eq(res.not_before, NOW - MINUTE);
	ck_assert_int_eq(res.not_after, NOW + c->want_life);
	ck_assert_int_eq(res.rsa, rsa);
	ck_assert_uint_eq(res.key_usage, rsa ? KU_DS_KE : KU_DS);
	ck_assert_uint_eq(res.ext_key_usage,
	                  strncmp(c->profile, "private", 7) == 0 ? EKU_SC : EKU_S);
	mca_policy_result_clear(&res);
	mca_csr_free(csr);
}
END_TEST

/* ---- refused requests ------------------------------------------------- */

struct refuse_case {
	const char *profile;
	struct csr_in csr;
	int64_t validity; /* requested; 0: the profile's default */
	int64_t ca_left;  /* CA notAfter - now; 0: CA_LEFT */
	const char *rule;
	const char *value; /* in err.msg ('|' alternatives, any case); NULL: unchecked */
};

static const struct refuse_case refuse_tab[] = {
    /* every profile: an xn-- label must decode and encode back to itself */
    {"public", CSR(K_P256, NULL, "DNS:xn--a.com"), 0, 0, "name.bad_alabel", "xn--a.com"},
    {"public", CSR(K_P256, NULL, "DNS:xn--zz-zzzzzzzzz.com"), 0, 0, "name.bad_alabel",
     "xn--zz-zzzzzzzzz.com"},
    {"public", CSR(K_P256, NULL, "DNS:www.xn--ls8h.com"), 0, 0, "name.bad_alabel",
     "www.xn--ls8h.com"},
    {"public", CSR(K_P256, NULL, "DNS:xn--55qx5d-.com"), 0, 0, "name.syntax", "xn--55qx5d-.com"},
    {"public", CSR(K_P256, NULL, "DNS:xn--99999999999zzzz.com"), 0, 0, "name.bad_alabel",
     "xn--99999999999zzzz.com"},
    {"public", CSR(K_P256, NULL, "DNS:*.xn--a.com"), 0, 0, "name.bad_alabel", "*.xn--a.com"},
    {"private", CSR(K_P256, NULL, "DNS:xn--a.example.internal"), 0, 0, "name.bad_alabel",
     "xn--a.example.internal"},
    {"private", CSR(K_P256, NULL, "DNS:a.xn--zz-zzzzzzzzz.internal"), 0, 0, "name.bad_alabel",
     "a.xn--zz-zzzzzzzzz.internal"},
    {"domain-validated", CSR(K_P256, NULL, "DNS:xn--a.com"), 0, 0, "name.bad_alabel", "xn--a.com"},
    /* a URI SAN needs a scheme: text with a ':' is not a URI by that alone */
    {"private", CSR(K_P256, NULL, "URI:::1"), 0, 0, "name.syntax", "::1"},
    {"private", CSR(K_P256, NULL, "URI:10.0.0.5:80"), 0, 0, "name.syntax", "10.0.0.5:80"},
    {"private", CSR(K_P256, NULL, "URI::foo"), 0, 0, "name.syntax", ":foo"},
    /* every profile: an IP address is not a dNSName */
    {"private", CSR(K_P256, NULL, "DNS:10.0.0.5"), 0, 0, "name.syntax", "10.0.0.5"},
    {"public", CSR(K_P256, NULL, "DNS:8.8.8.8"), 0, 0, "name.syntax", "8.8.8.8"},
    /* public: internal names */
    {"public", CSR(K_P256, NULL, "DNS:db.internal"), 0, 0, "name.internal", "db.internal"},
    {"public", CSR(K_P256, NULL, "DNS:myhost"), 0, 0, "name.internal", "myhost"},
    {"public", CSR(K_P256, NULL, "DNS:printer.local"), 0, 0, "name.internal", "printer.local"},
    {"public", CSR(K_P256, NULL, "DNS:nas.lan"), 0, 0, "name.internal", "nas.lan"},
    {"public", CSR(K_P256, NULL, "DNS:localhost"), 0, 0, "name.internal", "localhost"},
    {"public", CSR(K_P256, NULL, "DNS:www.example.test"), 0, 0, "name.internal",
     "www.example.test"},
    {"public", CSR(K_P256, NULL, "DNS:*.corp"), 0, 0, "name.internal", "*.corp"},
    {"public", CSR(K_P256, NULL, "DNS:www.example.com", "DNS:db.internal"), 0, 0, "name.internal",
     "db.internal"},
    /* public: underscores, public suffixes, reverse zones */
    {"public", CSR(K_P256, NULL, "DNS:a_b.example.com"), 0, 0, "name.underscore",
     "a_b.example.com"},
    {"public", CSR(K_P256, NULL, "DNS:_acme-challenge.example.com"), 0, 0, "name.underscore",
     "_acme-challenge.example.com"},
    {"public", CSR(K_P256, NULL, "DNS:*.co.uk"), 0, 0, "name.public_suffix", "*.co.uk"},
    {"public", CSR(K_P256, NULL, "DNS:co.uk"), 0, 0, "name.public_suffix", "co.uk"},
    {"public", CSR(K_P256, NULL, "DNS:*.com"), 0, 0, "name.public_suffix", "*.com"},
    {"public", CSR(K_P256, NULL, "DNS:1.2.3.4.in-addr.arpa"), 0, 0, "name.arpa",
     "1.2.3.4.in-addr.arpa"},
    {"public", CSR(K_P256, NULL, "DNS:b.a.9.8.ip6.arpa"), 0, 0, "name.arpa", "b.a.9.8.ip6.arpa"},
    /* public: wildcards */
    {"public", CSR(K_P256, NULL, "DNS:*.*.example.com"), 0, 0, "name.wildcard", "*.*.example.com"},
    {"public", CSR(K_P256, NULL, "DNS:foo.*.example.com"), 0, 0, "name.wildcard",
     "foo.*.example.com"},
    {"public", CSR(K_P256, NULL, "DNS:f*.example.com"), 0, 0, "name.wildcard", "f*.example.com"},
    /* public: syntax */
    {"public",
     CSR(K_P256, NULL,
         "DNS:b\xc3\xbc"
         "cher.example.com"),
     0, 0, "name.syntax", "cher.example.com"},
    {"public", CSR(K_P256, NULL, "DNS:-foo.example.com"), 0, 0, "name.syntax", "-foo.example.com"},
    {"public", CSR(K_P256, NULL, "DNS:foo-.example.com"), 0, 0, "name.syntax", "foo-.example.com"},
    {"public", CSR(K_P256, NULL, "DNS:foo..example.com"), 0, 0, "name.syntax", "foo..example.com"},
    {"public", CSR(K_P256, NULL, "DNS:www.example.com."), 0, 0, "name.syntax", "www.example.com."},
    {"public", CSR(K_P256, NULL, "DNS:foo bar.example.com"), 0, 0, "name.syntax",
     "foo bar.example.com"},
    {"public", CSR(K_P256, NULL, "DNS:" L63 "x.example.com"), 0, 0, "name.syntax", L63 "x"},
    {"public", CSR(K_P256, NULL, "DNS:" NAME259), 0, 0, "name.syntax", L63},
    /* public: kinds of names */
    {"public", CSR(K_P256, NULL, "URI:https://example.com/"), 0, 0, "name.type",
     "https://example.com/"},
    {"public", CSR(K_P256, NULL, "email:admin@example.com"), 0, 0, "name.type",
     "admin@example.com"},
    {"public", CSR(K_P256, NULL, "DNS:www.example.com", "dirName:"), 0, 0, "name.type", NULL},
    {"public", CSR(K_P256, NULL, NULL), 0, 0, "name.none", NULL},
    {"public", CSR(K_P256, "other.example.com", "DNS:www.example.com"), 0, 0, "name.cn_not_in_san",
     "other.example.com"},
    /* public: keys */
    {"public", CSR(K_ED25519, NULL, "DNS:www.example.com"), 0, 0, "key.type", "ed25519"},
    {"public", CSR(K_ED448, NULL, "DNS:www.example.com"), 0, 0, "key.type", "ed448"},
    {"public", CSR(K_P256_EXPLICIT, NULL, "DNS:www.example.com"), 0, 0, "key.curve",
     "explicit|named"},
    {"public", CSR(K_RSA1024, NULL, "DNS:www.example.com"), 0, 0, "key.too_small", "1024"},
    {"public", CSR(K_P521, NULL, "DNS:www.example.com"), 0, 0, "key.curve", "521"},
    {"public", CSR(K_K256, NULL, "DNS:www.example.com"), 0, 0, "key.curve", "secp256k1"},
    {"public", CSR(K_RSA_E3, NULL, "DNS:www.example.com"), 0, 0, "key.rsa_exponent", "3"},
    {"public", CSR(K_RSA2052, NULL, "DNS:www.example.com"), 0, 0, "key.rsa_modulus", "2052"},
    /* public: validity */
    {"public", CSR(K_P256, NULL, "DNS:www.example.com"), 200 * DAY, 0, "validity.too_long",
     "200d|17280000|4800h"},
    {"public", CSR(K_P256, NULL, "DNS:www.example.com"), 199 * DAY + 1, 0, "validity.too_long",
     "199d1s|17193601"},
    {"public", CSR(K_P256, NULL, "DNS:www.example.com"), -DAY, 0, "validity.too_long", NULL},
    {"public", CSR(K_P256, NULL, "DNS:www.example.com"), 30 * DAY, 10 * DAY, "validity.past_ca",
     "30d|2592000"},
    {"public", CSR(K_P256, NULL, "DNS:www.example.com"), 0, 10 * DAY, "validity.past_ca", NULL},
    {"public", CSR(K_P256, NULL, "DNS:www.example.com"), 30 * DAY + 1, 30 * DAY, "validity.past_ca",
     NULL},
    /* private */
    {"private", CSR(K_P256, NULL, "URI:spiffe://example.org/a", "URI:spiffe://example.org/b"), 0, 0,
     "name.spiffe", "spiffe://example.org/"},
    {"private", CSR(K_P256, NULL, "DNS:web.internal"), 31 * DAY, 0, "validity.too_long",
     "31d|2678400|744h"},
    {"private", CSR(K_P256, NULL, "email:admin@example.com"), 0, 0, "name.type",
     "admin@example.com"},
    {"private", CSR(K_P256, NULL, "DNS:foo..internal"), 0, 0, "name.syntax", "foo..internal"},
    {"private", CSR(K_P256, NULL, NULL), 0, 0, "name.none", NULL},
    {"private", CSR(K_P256, "other.internal", "DNS:web.internal"), 0, 0, "name.cn_not_in_san",
     "other.internal"},
    {"private", CSR(K_RSA1024, NULL, "DNS:web.internal"), 0, 0, "key.too_small", "1024"},
    {"private", CSR(K_ED448, NULL, "DNS:web.internal"), 0, 0, "key.type", "ed448"},
    {"private", CSR(K_P521, NULL, "DNS:web.internal"), 0, 0, "key.curve", "521"},
    {"private", CSR(K_P256, NULL, "DNS:web.internal"), 2 * DAY, DAY, "validity.past_ca", NULL},
    /* private with allow/deny lists */
    {"private+dns-allow", CSR(K_P256, NULL, "DNS:db.internal"), 0, 0, "name.not_allowed",
     "db.internal"},
    {"private+dns-allow", CSR(K_P256, NULL, "DNS:svc.example.internal"), 0, 0, "name.not_allowed",
     "svc.example.internal"},
    {"private+dns-allow", CSR(K_P256, NULL, "DNS:web.svc.example.internal.evil"), 0, 0,
     "name.not_allowed", "web.svc.example.internal.evil"},
    {"private+dns-deny", CSR(K_P256, NULL, "DNS:x.bad.example.internal"), 0, 0, "name.denied",
     "x.bad.example.internal"},
    {"private+dns-deny", CSR(K_P256, NULL, "DNS:X.Bad.Example.Internal"), 0, 0, "name.denied",
     "x.bad.example.internal"},
    {"private+dns-deny", CSR(K_P256, NULL, "DNS:*.bad.example.internal"), 0, 0, "name.denied",
     "*.bad.example.internal"},
    {"private+dns-deny", CSR(K_P256, NULL, "DNS:a.b.bad.example.internal"), 0, 0, "name.denied",
     "a.b.bad.example.internal"},
    {"private+dns-allow", CSR(K_P256, NULL, "DNS:*.example.internal"), 0, 0, "name.not_allowed",
     "*.example.internal"},
    {"private+dns-both", CSR(K_P256, NULL, "DNS:x.bad.example.internal"), 0, 0, "name.denied",
     "x.bad.example.internal"},
    {"private+dns-both", CSR(K_P256, NULL, "DNS:other.internal"), 0, 0, "name.not_allowed",
     "other.internal"},
    {"private+ip-allow", CSR(K_P256, NULL, "IP:192.168.1.1"), 0, 0, "name.not_allowed",
     "192.168.1.1"},
    {"private+ip-allow", CSR(K_P256, NULL, "IP:11.0.0.1"), 0, 0, "name.not_allowed", "11.0.0.1"},
    {"private+ip-allow", CSR(K_P256, NULL, "IP:::1"), 0, 0, "name.not_allowed", "::1"},
    {"private+uri-allow", CSR(K_P256, NULL, "URI:spiffe://other.org/ns/x"), 0, 0,
     "name.not_allowed", "spiffe://other.org/ns/x"},
    {"private+uri-allow", CSR(K_P256, NULL, "URI:https://example.org/"), 0, 0, "name.not_allowed",
     "https://example.org/"},
    {"private+no-wildcards", CSR(K_P256, NULL, "DNS:*.svc.internal"), 0, 0, "name.wildcard",
     "*.svc.internal"},
    /* template variants */
    {"public+rsa3072", CSR(K_RSA2048, NULL, "DNS:www.example.com"), 0, 0, "key.too_small", "2048"},
    {"public", CSR(K_P256, "www.example.com", NULL), 0, 0, "name.none", NULL},
    {"private", CSR(K_P256, "web.internal", NULL), 0, 0, "name.none", NULL},
    {"public+cn-as-san", CSR(K_P256, NULL, NULL), 0, 0, "name.none", NULL},
    {"public+cn-as-san", CSR(K_P256, "db.internal", NULL), 0, 0, "name.internal", "db.internal"},
    {"private+no-reserved", CSR(K_P256, NULL, "IP:10.1.2.3"), 0, 0, "name.reserved_ip", "10.1.2.3"},
    {"private+no-dns", CSR(K_P256, NULL, "DNS:web.internal"), 0, 0, "name.type", "web.internal"},
    /* domain-validated */
    {"domain-validated", CSR(K_P256, NULL, "IP:8.8.8.8"), 0, 0, "name.type", "8.8.8.8"},
    {"domain-validated", CSR(K_P256, NULL, "DNS:www.example.com", "IP:8.8.8.8"), 0, 0, "name.type",
     "8.8.8.8"},
    {"domain-validated", CSR(K_P256, NULL, "URI:https://example.com/"), 0, 0, "name.type",
     "https://example.com/"},
    {"domain-validated", CSR(K_P256, NULL, "DNS:db.internal"), 0, 0, "name.internal",
     "db.internal"},
    {"domain-validated", CSR(K_P256, NULL, "DNS:*.co.uk"), 0, 0, "name.public_suffix", "*.co.uk"},
    {"domain-validated", CSR(K_P256, NULL, "DNS:a_b.example.com"), 0, 0, "name.underscore",
     "a_b.example.com"},
    {"domain-validated", CSR(K_ED25519, NULL, "DNS:www.example.com"), 0, 0, "key.type", "ed25519"},
    {"domain-validated", CSR(K_P256, NULL, "DNS:www.example.com"), 200 * DAY, 0,
     "validity.too_long", "200d|17280000|4800h"},
};

struct date_text {
	char s[16];
};

/* `t` as YYYY-MM-DD (UTC). */
static struct date_text
iso_date(int64_t t)
{
	struct date_text d;
	time_t tt = (time_t)t;
	struct tm tm;

	ck_assert_ptr_nonnull(gmtime_r(&tt, &tm));
	ck_assert_uint_gt(strftime(d.s, sizeof(d.s), "%Y-%m-%d", &tm), 0);
	return d;
}

/* Run one refusal: the exact rule, MCA_ERR_POLICY, and the value in the message. */
static void
check_refused(const char *profile_id, const struct csr_in *in, int64_t validity, int64_t ca_left,
              const char *rule, const char *value)
{
	const struct mca_profile *p = profile(profile_id);
	struct mca_csr *csr = csr_from(in);
	struct mca_policy_ctx ctx = {p, NOW, NOW + (ca_left ? ca_left : CA_LEFT)};
	struct mca_policy_result res;
	struct mca_error err = {0};
	const char *what = in->names[0] ? in->names[0] : "(no names)";
	mca_rc rc;

	memset(&res, 0, sizeof(res));
	rc = mca_policy_check(&ctx, csr, validity, &res, &err);
	ck_assert_msg(rc == MCA_ERR_POLICY, "%s / %s: want %s, got rc %d rule '%s': %s", profile_id,
	              what, rule, rc, err.rule, err.msg);
	ck_assert_msg(err.code == MCA_ERR_POLICY, "%s / %s: err.code %d", profile_id, what,
	              err.code);
	ck_assert_msg(strcmp(err.rule, rule) == 0, "%s / %s: want rule %s, got '%s': %s",
	              profile_id, what, rule, err.rule, err.msg);
	ck_assert_msg(err.msg[0] != '\0', "%s / %s: empty message", profile_id, what);
	if (value != NULL && strcmp(rule, "validity.past_ca") == 0) {
		/* the value may be the requested validity, or the dates (YYYY-MM-DD) involved */
		int64_t life = validity ? validity : p->validity_default;
		char *alts = NULL;

		ck_assert_int_ge(asprintf(&alts, "%s|%s|%s", value, iso_date(ctx.ca_not_after).s,
		                          iso_date(NOW + life).s),
		                 0);
		ck_assert_msg(msg_has(err.msg, alts), "%s / %s: message lacks '%s': %s", profile_id,
		              what, alts, err.msg);
		free(alts);
	} else if (value != NULL) {
		ck_assert_msg(msg_has(err.msg, value), "%s / %s: message lacks '%s': %s",
		              profile_id, what, value, err.msg);
	}
	mca_csr_free(csr);
}

/* Each request breaking one rule is refused with that rule's id and the offending value. */
START_TEST(test_refuse)
{
	const struct refuse_case *c = &refuse_tab[_i];

	check_refused(c->profile, &c->csr, c->validity, c->ca_left, c->rule, c->value);
}
END_TEST

/* rsa_min_bits 1024 cannot lower profiles.md's 2048 floor: refused at parse or at policy. */
START_TEST(test_rsa_floor)
{
	char *text =
	    tu_subst(tu_template("public"), "\"rsa_min_bits\": 2048", "\"rsa_min_bits\": 1024");
	char *path = tu_template_path("public");
	struct mca_profile *p = NULL;
	struct mca_error err = {0};
	mca_rc rc = mca_profile_parse(path, text, strlen(text), &p, &err);

	if (rc == MCA_OK) {
		struct csr_in in = CSR(K_RSA1024, NULL, "DNS:www.example.com");
		struct mca_csr *csr = csr_from(&in);
		struct mca_policy_ctx ctx = {p, NOW, NOW + CA_LEFT};
		struct mca_policy_result res;

		memset(&res, 0, sizeof(res));
		rc = mca_policy_check(&ctx, csr, 0, &res, &err);
		ck_assert_msg(rc == MCA_ERR_POLICY, "RSA-1024 accepted with rsa_min_bits 1024");
		ck_assert_str_eq(err.rule, "key.too_small");
		mca_csr_free(csr);
		mca_profile_free(p);
	} else {
		ck_assert_int_eq(rc, MCA_ERR_CONFIG);
		ck_assert_ptr_nonnull(strstr(err.msg, "rsa_min_bits"));
	}
	free(path);
	free(text);
}
END_TEST

/*
 * Names profiles.md refuses for public without saying under which rule
 * (several fit): any name.* rule will do, with the name in the message.
 */
static const char *const public_bad_names[] = {
    "8.8.8.8",      /* an IP address as a dNSName */
    "192.168.1.1",  /* likewise */
    "github.io",    /* a suffix of the list's private section */
    "*.github.io",  /* a wildcard directly over it */
    "in-addr.arpa", /* the reverse zone itself */
    "ip6.arpa",
};

/* The public profile refuses each of these names under some name.* rule. */
START_TEST(test_refuse_public_any_rule)
{
	const struct mca_profile *p = profile("public");
	struct csr_in in = CSR(K_P256, NULL, NULL);
	struct mca_policy_ctx ctx = {p, NOW, NOW + CA_LEFT};
	struct mca_policy_result res;
	struct mca_error err = {0};
	struct mca_csr *csr;
	char spec[300];
	mca_rc rc;

	snprintf(spec, sizeof(spec), "DNS:%s", public_bad_names[_i]);
	in.names[0] = spec;
	csr = csr_from(&in);
	memset(&res, 0, sizeof(res));
	rc = mca_policy_check(&ctx, csr, 0, &res, &err);
	ck_assert_msg(rc == MCA_ERR_POLICY, "'%s' accepted", public_bad_names[_i]);
	ck_assert_msg(strncmp(err.rule, "name.", 5) == 0, "'%s': rule '%s'", public_bad_names[_i],
	              err.rule);
	ck_assert_msg(msg_has(err.msg, public_bad_names[_i]), "'%s': message: %s",
	              public_bad_names[_i], err.msg);
	mca_csr_free(csr);
}
END_TEST

/* Reserved IPs (IANA special-purpose), refused by public, as canonical text. */
static const char *const reserved_ips[] = {
    "10.1.2.3",   "172.16.0.1",      "192.168.1.1",  "127.0.0.1",   "169.254.1.1",
    "100.64.0.1", "192.0.2.1",       "198.51.100.1", "203.0.113.1", "224.0.0.1",
    "0.0.0.0",    "255.255.255.255", "198.18.0.1",   "240.0.0.1",   "::1",
    "::",         "fe80::1",         "fc00::1",      "fd12::1",     "2001:db8::1",
    "ff02::1",    "::ffff:10.0.0.1",
};

/* The public profile refuses every reserved address, naming it. */
START_TEST(test_refuse_reserved_ip)
{
	struct csr_in in = CSR(K_P256, NULL, NULL);
	char spec[64];

	snprintf(spec, sizeof(spec), "IP:%s", reserved_ips[_i]);
	in.names[0] = spec;
	check_refused("public", &in, 0, 0, "name.reserved_ip", reserved_ips[_i]);
}
END_TEST

/* Malformed SPIFFE IDs: one per X.509-SVID rule. */
static const char *const spiffe_bad[] = {
    "spiffe://Example.org/ns/prod",  /* upper-case trust domain */
    "spiffe://example.org",          /* empty path */
    "spiffe://example.org/",         /* path "/" only */
    "spiffe://example.org/ns/prod/", /* trailing slash */
    "spiffe://example.org/ns/./prod",
    "spiffe://example.org/ns/../prod",
    "spiffe://example.org/.",
    "spiffe://example.org/..",
    "spiffe://example.org//ns",        /* empty segment */
    "spiffe://example.org/ns?x=1",     /* query */
    "spiffe://example.org/ns#frag",    /* fragment */
    "spiffe://example.org:8443/ns",    /* port */
    "spiffe://user@example.org/ns",    /* userinfo */
    "spiffe:///ns",                    /* empty trust domain */
    "spiffe://example.org/ns/pr%20od", /* percent-encoding */
    "spiffe://exa$mple.org/ns",        /* trust domain character */
};

/* The private profile refuses a malformed SPIFFE ID with name.spiffe. */
START_TEST(test_refuse_spiffe)
{
	struct csr_in in = CSR(K_P256, NULL, NULL);
	char spec[128];

	snprintf(spec, sizeof(spec), "URI:%s", spiffe_bad[_i]);
	in.names[0] = spec;
	check_refused("private", &in, 0, 0, "name.spiffe", spiffe_bad[_i]);
}
END_TEST

/* mca_spiffe_check refuses each malformed SPIFFE ID with rule name.spiffe. */
START_TEST(test_spiffe_check_bad)
{
	struct mca_error err = {0};
	mca_rc rc = mca_spiffe_check(spiffe_bad[_i], &err);

	ck_assert_msg(rc == MCA_ERR_POLICY, "'%s': rc %d", spiffe_bad[_i], rc);
	ck_assert_str_eq(err.rule, "name.spiffe");
	ck_assert_msg(msg_has(err.msg, spiffe_bad[_i]), "'%s': message: %s", spiffe_bad[_i],
	              err.msg);
}
END_TEST

static const char *const spiffe_good[] = {
    "spiffe://example.org/ns/prod/sa/web",
    "spiffe://example.org/a",
    "spiffe://my-td_1.example.org/A.b-c_d/E",
    "spiffe://localhost/x",
};

/* mca_spiffe_check accepts well-formed SPIFFE IDs. */
START_TEST(test_spiffe_check_good)
{
	struct mca_error err = {0};
	mca_rc rc = mca_spiffe_check(spiffe_good[_i], &err);

	ck_assert_msg(rc == MCA_OK, "'%s': rc %d: %s", spiffe_good[_i], rc, err.msg);
}
END_TEST

/* ---- CSR parsing ------------------------------------------------------ */

/* A CSR parses the same from PEM and DER: key, CN, names (IPs as canonical text and octets). */
START_TEST(test_csr_parse_fields)
{
	static const char *const names[] = {"DNS:www.example.com", "IP:192.0.2.7",
	                                    "IP:2001:db8:0:0:0:0:0:1", "URI:spiffe://example.org/x",
	                                    "email:a@example.com"};
	static const struct {
		enum mca_name_type type;
		const char *value;
	} want[] = {
	    {MCA_NAME_DNS, "www.example.com"}, {MCA_NAME_IP, "192.0.2.7"},
	    {MCA_NAME_IP, "2001:db8::1"},      {MCA_NAME_URI, "spiffe://example.org/x"},
	    {MCA_NAME_EMAIL, "a@example.com"},
	};
	X509_REQ *req = req_new(K_P256, "www.example.com", _i == 1, names, NELEM(names));
	struct mca_error err = {0};
	struct mca_csr *csr = NULL;
	unsigned char *der = NULL;
	char *pem = NULL;
	size_t len, i;
	mca_rc rc;

	req_sign(req, K_P256);
	if (_i == 0) {
		pem = req_pem(req, &len);
		rc = mca_csr_parse(pem, len, &csr, &err);
	} else {
		der = req_der(req, &len);
		rc = mca_csr_parse(der, len, &csr, &err);
	}
	ck_assert_msg(rc == MCA_OK, "%s: rc %d rule '%s': %s", _i == 0 ? "PEM" : "DER", rc,
	              err.rule, err.msg);
	ck_assert_ptr_nonnull(csr);
	ck_assert_ptr_nonnull(csr->pubkey);
	ck_assert_int_eq(EVP_PKEY_eq(csr->pubkey, keys[K_P256]), 1);
	/* The key built from the point; its structure kept byte for byte as sent. */
	{
		unsigned char *a = NULL, *b = NULL;
		int la, lb;

		ck_assert_ptr_nonnull(csr->spki);
		la = i2d_X509_PUBKEY(csr->spki, &a);
		lb = i2d_X509_PUBKEY(X509_REQ_get_X509_PUBKEY(req), &b);
		ck_assert_int_gt(la, 0);
		ck_assert_int_eq(la, lb);
		ck_assert_int_eq(memcmp(a, b, (size_t)la), 0);
		OPENSSL_free(a);
		OPENSSL_free(b);
	}
	ck_assert_pstr_eq(csr->cn, "www.example.com");
	ck_assert_int_eq(csr->subject_other, _i == 1);
	ck_assert_int_eq(csr->san_unsupported, 0);
	ck_assert_uint_eq(csr->n_names, NELEM(want));
	for (i = 0; i < NELEM(want); i++) {
		ck_assert_int_eq(csr->names[i].type, want[i].type);
		ck_assert_str_eq(csr->names[i].value, want[i].value);
		if (want[i].type == MCA_NAME_IP)
			check_ip_octets(&csr->names[i]);
	}
	mca_csr_free(csr);
	free(pem);
	OPENSSL_free(der);
	X509_REQ_free(req);
}
END_TEST

/* A subject without CN parses to cn NULL; a dirName SAN sets san_unsupported. */
START_TEST(test_csr_parse_no_cn_dirname)
{
	struct csr_in in = CSR(K_ED25519, NULL, "DNS:a.example.com", "dirName:");
	struct mca_csr *csr = csr_from(&in);

	ck_assert_ptr_null(csr->cn);
	ck_assert_int_eq(csr->subject_other, 0);
	ck_assert_int_ne(csr->san_unsupported, 0);
	ck_assert_int_eq(EVP_PKEY_eq(csr->pubkey, keys[K_ED25519]), 1);
	mca_csr_free(csr);
}
END_TEST

/* Inputs that are not a CSR: text, nothing, bad base64, truncated DER in PEM, a bare DER header. */
static const char *const garbage[] = {
    "hello world",
    "",
    "-----BEGIN CERTIFICATE REQUEST-----\n!!!! not base64 !!!!\n"
    "-----END CERTIFICATE REQUEST-----\n",
    "-----BEGIN CERTIFICATE REQUEST-----\nMIIBADCBpwIBADA=\n-----END CERTIFICATE REQUEST-----\n",
    "\x30\x82\x01\x00\x02\x01",
};

/* Garbage is MCA_ERR_BADCSR with rule csr.parse. */
START_TEST(test_csr_parse_garbage)
{
	struct mca_error err = {0};
	struct mca_csr *csr = NULL;
	mca_rc rc = mca_csr_parse(garbage[_i], strlen(garbage[_i]), &csr, &err);

	ck_assert_msg(rc == MCA_ERR_BADCSR, "case %d: rc %d", _i, rc);
	ck_assert_str_eq(err.rule, "csr.parse");
	ck_assert_ptr_null(csr);
}
END_TEST

/* A truncated DER CSR and an oversized buffer are MCA_ERR_BADCSR csr.parse. */
START_TEST(test_csr_parse_truncated_oversized)
{
	struct csr_in in = CSR(K_P256, NULL, "DNS:www.example.com");
	X509_REQ *req = req_new(in.key, in.cn, 0, in.names, 1);
	struct mca_error err = {0};
	struct mca_csr *csr = NULL;
	unsigned char *der, *big;
	size_t len;
	mca_rc rc;

	req_sign(req, in.key);
	der = req_der(req, &len);
	rc = mca_csr_parse(der, len / 2, &csr, &err);
	ck_assert_int_eq(rc, MCA_ERR_BADCSR);
	ck_assert_str_eq(err.rule, "csr.parse");
	ck_assert_ptr_null(csr);

	/* a valid CSR followed by padding up to more than the size limit */
	big = calloc(1, MCA_CSR_MAX_SIZE + 1024);
	ck_assert_ptr_nonnull(big);
	memcpy(big, der, len);
	mca_error_clear(&err);
	rc = mca_csr_parse(big, MCA_CSR_MAX_SIZE + 1024, &csr, &err);
	ck_assert_int_eq(rc, MCA_ERR_BADCSR);
	ck_assert_str_eq(err.rule, "csr.parse");
	ck_assert_ptr_null(csr);
	free(big);
	OPENSSL_free(der);
	X509_REQ_free(req);
}
END_TEST

/* A CSR whose self-signature does not verify is MCA_ERR_BADCSR csr.signature. */
START_TEST(test_csr_bad_signature)
{
	/* 0: RSA signature octet flipped, 1: Ed25519 likewise, 2: key swapped after signing */
	static const char *const names[] = {"DNS:www.example.com"};
	enum key_kind k = _i == 0 ? K_RSA2048 : _i == 1 ? K_ED25519 : K_P256;
	X509_REQ *req = req_new(k, "www.example.com", 0, names, 1);
	struct mca_error err = {0};
	struct mca_csr *csr = NULL;
	unsigned char *der;
	size_t len;
	mca_rc rc;

	req_sign(req, k);
	if (_i == 2)
		ck_assert_int_eq(X509_REQ_set_pubkey(req, keys[K_P384]), 1);
	der = req_der(req, &len);
	if (_i != 2)
		der[len - 1] ^= 0x01; /* the last octet of the signature */
	rc = mca_csr_parse(der, len, &csr, &err);
	ck_assert_msg(rc == MCA_ERR_BADCSR, "case %d: rc %d rule '%s'", _i, rc, err.rule);
	ck_assert_str_eq(err.rule, "csr.signature");
	ck_assert_ptr_null(csr);
	OPENSSL_free(der);
	X509_REQ_free(req);
}
END_TEST

/* Where the uncompressed point of `key` starts in `der` (0x04 || X || Y), or -1. */
static long
point_at(const unsigned char *der, size_t len, EVP_PKEY *key, size_t *plen)
{
	unsigned char pt[200];
	size_t i;

	ck_assert_int_eq(
	    EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), plen), 1);
	for (i = 0; i + *plen <= len; i++)
		if (memcmp(der + i, pt, *plen) == 0)
			return (long)i;
	return -1;
}

/*
 * An EC point off its curve, or not in the uncompressed form the bytes
 * claim, is "the CSR's public key cannot be read" (csr.parse), before the
 * signature is looked at: 0/1 P-256/P-384 with the last octet of Y
 * changed, 2 P-256 with form octet 0x05, 3 P-256 with X and Y zero.
 */
START_TEST(test_csr_point_off_curve)
{
	static const char *const names[] = {"DNS:www.example.com"};
	enum key_kind k = _i == 1 ? K_P384 : K_P256;
	X509_REQ *req = req_new(k, "www.example.com", 0, names, 1);
	struct mca_error err = {0};
	struct mca_csr *csr = NULL;
	unsigned char *der;
	size_t len, plen = 0;
	long at;
	mca_rc rc;

	req_sign(req, k);
	der = req_der(req, &len);
	at = point_at(der, len, keys[k], &plen);
	ck_assert_int_ge(at, 0);
	if (_i <= 1)
		der[at + (long)plen - 1] ^= 0x01;
	else if (_i == 2)
		der[at] = 0x05;
	else
		memset(der + at + 1, 0, plen - 1);
	rc = mca_csr_parse(der, len, &csr, &err);
	ck_assert_msg(rc == MCA_ERR_BADCSR, "case %d: rc %d rule '%s'", _i, rc, err.rule);
	ck_assert_str_eq(err.rule, "csr.parse");
	ck_assert_str_eq(err.msg, "the CSR's public key cannot be read");
	ck_assert_ptr_null(csr);
	OPENSSL_free(der);
	X509_REQ_free(req);
}
END_TEST

/*
 * The key a CSR yields is its own, again and again: EC keys are copies of
 * one key per curve given the CSR's point, so a copy that kept the
 * template's point (or a previous CSR's) would show here.
 */
START_TEST(test_csr_keys_as_sent)
{
	static const enum key_kind kinds[] = {K_P256, K_P384, K_P256, K_P384};
	struct mca_error err = {0};
	struct mca_csr *csr = NULL;
	EVP_PKEY *fresh;
	X509_REQ *req;
	unsigned char *der;
	size_t len, i;

	for (i = 0; i < 8; i++) {
		fresh = EVP_EC_gen(kinds[i % 4] == K_P256 ? "P-256" : "P-384");
		ck_assert_ptr_nonnull(fresh);
		req = X509_REQ_new();
		ck_assert_ptr_nonnull(req);
		ck_assert_int_eq(X509_REQ_set_pubkey(req, fresh), 1);
		ck_assert_int_gt(X509_REQ_sign(req, fresh, EVP_sha256()), 0);
		der = req_der(req, &len);
		ck_assert_msg(mca_csr_parse(der, len, &csr, &err) == MCA_OK, "%s", err.msg);
		ck_assert_int_eq(EVP_PKEY_eq(csr->pubkey, fresh), 1);
		ck_assert_int_eq(EVP_PKEY_get_bits(csr->pubkey), EVP_PKEY_get_bits(fresh));
		mca_csr_free(csr);
		csr = NULL;
		OPENSSL_free(der);
		X509_REQ_free(req);
		EVP_PKEY_free(fresh);
	}
}
END_TEST

/* Signature algorithms for CSRs: MD5 and SHA-1 ones are refused (csr.weak_signature). */
static const struct {
	enum key_kind key;
	const char *md; /* digest name */
	int pss;        /* RSASSA-PSS instead of PKCS#1 v1.5 */
	int weak;
} sig_tab[] = {
    {K_P256, "SHA1", 0, 1},      {K_RSA2048, "SHA1", 0, 1},   {K_RSA2048, "MD5", 0, 1},
    {K_RSA2048, "SHA1", 1, 1},   {K_P384, "SHA1", 0, 1},      {K_P256, "SHA256", 0, 0},
    {K_P384, "SHA384", 0, 0},    {K_RSA2048, "SHA256", 0, 0}, {K_RSA2048, "SHA512", 0, 0},
    {K_RSA2048, "SHA256", 1, 0},
};

START_TEST(test_csr_sig_alg)
{
	static const char *const names[] = {"DNS:www.example.com"};
	X509_REQ *req = req_new(sig_tab[_i].key, "www.example.com", 0, names, 1);
	EVP_MD_CTX *mctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	struct mca_error err = {0};
	struct mca_csr *csr = NULL;
	unsigned char *der;
	size_t len;
	mca_rc rc;

	ck_assert_ptr_nonnull(mctx);
	ck_assert_int_eq(EVP_DigestSignInit_ex(mctx, &pctx, sig_tab[_i].md, NULL, NULL,
	                                       keys[sig_tab[_i].key], NULL),
	                 1);
	if (sig_tab[_i].pss)
		ck_assert_int_eq(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 1);
	ck_assert_int_gt(X509_REQ_sign_ctx(req, mctx), 0);
	der = req_der(req, &len);
	rc = mca_csr_parse(der, len, &csr, &err);
	if (sig_tab[_i].weak) {
		ck_assert_msg(rc == MCA_ERR_BADCSR, "row %d (%s): rc %d", _i, sig_tab[_i].md, rc);
		ck_assert_str_eq(err.rule, "csr.weak_signature");
		ck_assert_msg(strstr(err.msg, "SHA-1 and MD5 signatures are not accepted") != NULL,
		              "row %d: %s", _i, err.msg);
		ck_assert_ptr_null(csr);
	} else {
		ck_assert_msg(rc == MCA_OK, "row %d (%s): rc %d %s: %s", _i, sig_tab[_i].md, rc,
		              err.rule, err.msg);
	}
	mca_csr_free(csr);
	OPENSSL_free(der);
	EVP_MD_CTX_free(mctx);
	X509_REQ_free(req);
}
END_TEST

/* The exact message names the algorithm. */
START_TEST(test_csr_sig_alg_message)
{
	static const char *const names[] = {"DNS:www.example.com"};
	X509_REQ *req = req_new(K_P256, "www.example.com", 0, names, 1);
	struct mca_error err = {0};
	struct mca_csr *csr = NULL;
	unsigned char *der;
	size_t len;

	ck_assert_int_gt(X509_REQ_sign(req, keys[K_P256], EVP_sha1()), 0);
	der = req_der(req, &len);
	ck_assert_int_eq(mca_csr_parse(der, len, &csr, &err), MCA_ERR_BADCSR);
	ck_assert_str_eq(err.msg, "the CSR is signed with ecdsa-with-SHA1; SHA-1 and MD5 "
	                          "signatures are not accepted");
	OPENSSL_free(der);
	X509_REQ_free(req);
}
END_TEST

/* Write "DNS:hNNN.example.com" specs for n names into `buf` and `ptrs`. */
static void
many_names(size_t n, char (*buf)[48], const char **ptrs)
{
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(buf[i], sizeof(buf[i]), "DNS:h%zu.example.com", i);
		ptrs[i] = buf[i];
	}
}

/* Parse a P-256 CSR with `n` distinct DNS names; returns the rc, *out on success. */
static mca_rc
parse_many(size_t n, struct mca_csr **out, struct mca_error *err)
{
	static char buf[MCA_CSR_MAX_NAMES + 1][48];
	static const char *ptrs[MCA_CSR_MAX_NAMES + 1];
	X509_REQ *req;
	unsigned char *der;
	size_t len;
	mca_rc rc;

	ck_assert_uint_le(n, MCA_CSR_MAX_NAMES + 1);
	many_names(n, buf, ptrs);
	req = req_new(K_P256, NULL, 0, ptrs, n);
	req_sign(req, K_P256);
	der = req_der(req, &len);
	rc = mca_csr_parse(der, len, out, err);
	OPENSSL_free(der);
	X509_REQ_free(req);
	return rc;
}

/* The CSR limit: MCA_CSR_MAX_NAMES names parse, one more is MCA_ERR_BADCSR csr.names. */
START_TEST(test_csr_max_names)
{
	size_t n = MCA_CSR_MAX_NAMES + (size_t)_i;
	struct mca_error err = {0};
	struct mca_csr *csr = NULL;
	mca_rc rc = parse_many(n, &csr, &err);

	if (_i == 0) {
		ck_assert_msg(rc == MCA_OK, "rc %d rule '%s': %s", rc, err.rule, err.msg);
		ck_assert_uint_eq(csr->n_names, n);
		mca_csr_free(csr);
	} else {
		ck_assert_int_eq(rc, MCA_ERR_BADCSR);
		ck_assert_str_eq(err.rule, "csr.names");
		ck_assert_ptr_null(csr);
	}
}
END_TEST

/* The certificate limit: MCA_POLICY_MAX_NAMES names pass, one more is name.too_many. */
START_TEST(test_policy_max_names)
{
	size_t n = MCA_POLICY_MAX_NAMES + (size_t)_i;
	const struct mca_profile *p = profile("public");
	struct mca_policy_ctx ctx = {p, NOW, NOW + CA_LEFT};
	struct mca_policy_result res;
	struct mca_error err = {0};
	struct mca_csr *csr = NULL;
	char last[48];
	mca_rc rc = parse_many(n, &csr, &err);

	ck_assert_msg(rc == MCA_OK, "rc %d rule '%s': %s", rc, err.rule, err.msg);
	memset(&res, 0, sizeof(res));
	rc = mca_policy_check(&ctx, csr, 0, &res, &err);
	if (_i == 0) {
		ck_assert_msg(rc == MCA_OK, "rc %d rule '%s': %s", rc, err.rule, err.msg);
		ck_assert_uint_eq(res.n_names, n);
		snprintf(last, sizeof(last), "h%zu.example.com", n - 1);
		ck_assert_str_eq(res.names[n - 1].value, last);
		mca_policy_result_clear(&res);
	} else {
		ck_assert_int_eq(rc, MCA_ERR_POLICY);
		ck_assert_str_eq(err.rule, "name.too_many");
	}
	mca_csr_free(csr);
}
END_TEST

/* An empty dNSName is refused: by the CSR reader (csr.names) or the policy (name.syntax). */
START_TEST(test_empty_dns_name)
{
	static const char *const names[] = {"DNS:"};
	X509_REQ *req = req_new(K_P256, NULL, 0, names, 1);
	const struct mca_profile *p = profile("public");
	struct mca_policy_ctx ctx = {p, NOW, NOW + CA_LEFT};
	struct mca_policy_result res;
	struct mca_error err = {0};
	struct mca_csr *csr = NULL;
	unsigned char *der;
	size_t len;
	mca_rc rc;

	req_sign(req, K_P256);
	der = req_der(req, &len);
	rc = mca_csr_parse(der, len, &csr, &err);
	if (rc == MCA_OK) {
		memset(&res, 0, sizeof(res));
		rc = mca_policy_check(&ctx, csr, 0, &res, &err);
		ck_assert_int_eq(rc, MCA_ERR_POLICY);
		ck_assert_str_eq(err.rule, "name.syntax");
		mca_csr_free(csr);
	} else {
		ck_assert_int_eq(rc, MCA_ERR_BADCSR);
		ck_assert_str_eq(err.rule, "csr.names");
	}
	OPENSSL_free(der);
	X509_REQ_free(req);
}
END_TEST

/* Unissuable SANs are refused by the CSR reader (csr.names) or the policy (name.*). */
START_TEST(test_odd_san_refused)
{
	/* 0: dNSName "www.example.com\0.evil.com", 1: 5-octet iPAddress, 2: a TAB in a dNSName */
	static const char nul_name[] = "www.example.com\0.evil.com";
	static const unsigned char five[5] = {8, 8, 8, 8, 8};
	X509_REQ *req = req_new(K_P256, NULL, 0, NULL, 0);
	GENERAL_NAMES *gens = GENERAL_NAMES_new();
	GENERAL_NAME *gn = GENERAL_NAME_new();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	const struct mca_profile *p = profile("public");
	struct mca_policy_ctx ctx = {p, NOW, NOW + CA_LEFT};
	struct mca_policy_result res;
	struct mca_error err = {0};
	struct mca_csr *csr = NULL;
	ASN1_STRING *v = ASN1_STRING_type_new(_i == 1 ? V_ASN1_OCTET_STRING : V_ASN1_IA5STRING);
	X509_EXTENSION *ext;
	unsigned char *der;
	size_t len;
	mca_rc rc;

	ck_assert_ptr_nonnull(gens);
	ck_assert_ptr_nonnull(gn);
	ck_assert_ptr_nonnull(v);
	if (_i == 0)
		ck_assert_int_eq(ASN1_STRING_set(v, nul_name, (int)sizeof(nul_name) - 1), 1);
	else if (_i == 1)
		ck_assert_int_eq(ASN1_STRING_set(v, five, (int)sizeof(five)), 1);
	else
		ck_assert_int_eq(ASN1_STRING_set(v, "www.exa\tmple.com", -1), 1);
	GENERAL_NAME_set0_value(gn, _i == 1 ? GEN_IPADD : GEN_DNS, v);
	ck_assert_int_gt(sk_GENERAL_NAME_push(gens, gn), 0);
	ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, gens);
	ck_assert_ptr_nonnull(ext);
	ck_assert_int_gt(sk_X509_EXTENSION_push(exts, ext), 0);
	ck_assert_int_eq(X509_REQ_add_extensions(req, exts), 1);
	req_sign(req, K_P256);
	der = req_der(req, &len);
	rc = mca_csr_parse(der, len, &csr, &err);
	if (rc == MCA_OK) {
		memset(&res, 0, sizeof(res));
		rc = mca_policy_check(&ctx, csr, 0, &res, &err);
		ck_assert_msg(rc == MCA_ERR_POLICY, "case %d accepted: name '%s'", _i,
		              res.n_names > 0 ? res.names[0].value : "");
		ck_assert_msg(strncmp(err.rule, "name.", 5) == 0, "case %d: rule '%s'", _i,
		              err.rule);
		mca_csr_free(csr);
	} else {
		ck_assert_int_eq(rc, MCA_ERR_BADCSR);
		ck_assert_str_eq(err.rule, "csr.names");
	}
	OPENSSL_free(der);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	GENERAL_NAMES_free(gens);
	X509_REQ_free(req);
}
END_TEST

/* ---- direct checks: reserved IPs, internal names ---------------------- */

static const struct {
	const char *ip;
	int reserved;
} ip_tab[] = {
    {"0.0.0.0", 1},
    {"0.1.2.3", 1},
    {"10.0.0.0", 1},
    {"10.255.255.255", 1},
    {"100.64.0.1", 1},
    {"100.127.255.255", 1},
    {"127.0.0.1", 1},
    {"127.255.0.9", 1},
    {"169.254.1.1", 1},
    {"172.16.0.1", 1},
    {"172.31.255.255", 1},
    {"192.0.0.1", 1},
    {"192.0.2.1", 1},
    {"192.168.0.1", 1},
    {"198.18.0.1", 1},
    {"198.19.255.255", 1},
    {"198.51.100.1", 1},
    {"203.0.113.1", 1},
    {"224.0.0.1", 1},
    {"239.255.255.255", 1},
    {"240.0.0.1", 1},
    {"255.255.255.255", 1},
    {"::", 1},
    {"::1", 1},
    {"::ffff:10.0.0.1", 1},
    {"100::1", 1},
    {"2001:db8::1", 1},
    {"2001:db8:ffff::1", 1},
    {"3fff::1", 1},
    {"fc00::1", 1},
    {"fd12:3456::1", 1},
    {"fe80::1", 1},
    {"febf::1", 1},
    {"ff02::1", 1},
    {"ff0e::1", 1},
    {"8.8.8.8", 0},
    {"1.1.1.1", 0},
    {"9.255.255.255", 0},
    {"11.0.0.1", 0},
    {"100.63.255.255", 0},
    {"100.128.0.0", 0},
    {"126.255.255.255", 0},
    {"128.0.0.1", 0},
    {"169.253.255.255", 0},
    {"169.255.0.1", 0},
    {"172.15.255.255", 0},
    {"172.32.0.0", 0},
    {"192.167.255.255", 0},
    {"192.169.0.0", 0},
    {"198.17.255.255", 0},
    {"198.20.0.0", 0},
    {"223.255.255.255", 0},
    {"2001:4860:4860::8888", 0},
    {"2606:4700::1111", 0},
    {"2a00:1450::1", 0},
    {"2001:db9::1", 0},
    {"fbff::1", 0},
};

/* mca_ip_is_reserved knows the IANA special-purpose ranges, and only them. */
START_TEST(test_ip_is_reserved)
{
	unsigned char a[16];
	size_t len;

	if (strchr(ip_tab[_i].ip, ':') != NULL) {
		ck_assert_int_eq(inet_pton(AF_INET6, ip_tab[_i].ip, a), 1);
		len = 16;
	} else {
		ck_assert_int_eq(inet_pton(AF_INET, ip_tab[_i].ip, a), 1);
		len = 4;
	}
	ck_assert_msg(!mca_ip_is_reserved(a, len) == !ip_tab[_i].reserved, "%s: want %s",
	              ip_tab[_i].ip, ip_tab[_i].reserved ? "reserved" : "not reserved");
}
END_TEST

static const struct {
	const char *name;
	int internal;
} internal_tab[] = {
    {"myhost", 1},           {"db.internal", 1},           {"a.b.internal", 1},
    {"printer.local", 1},    {"web.svc.cluster.local", 1}, {"nas.lan", 1},
    {"host.corp", 1},        {"router.home.arpa", 1},      {"example.com", 0},
    {"www.example.com", 0},  {"www.example.co.uk", 0},     {"foo.github.io", 0},
    {"example.xn--p1ai", 0}, {"a.b.c.example.org", 0},
};

/* mca_dns_is_internal: single labels and names outside the Public Suffix List. */
START_TEST(test_dns_is_internal)
{
	ck_assert_msg(!mca_dns_is_internal(internal_tab[_i].name) == !internal_tab[_i].internal,
	              "%s: want %s", internal_tab[_i].name,
	              internal_tab[_i].internal ? "internal" : "not internal");
}
END_TEST

/* ---- runner ----------------------------------------------------------- */

static Suite *
policy_suite(void)
{
	Suite *s = suite_create("policy");
	TCase *tc;

	tc = tcase_create("accept");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_accept, 0, NELEM(accept_tab));
	suite_add_tcase(s, tc);

	tc = tcase_create("refuse");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_refuse, 0, NELEM(refuse_tab));
	tcase_add_loop_test(tc, test_refuse_reserved_ip, 0, NELEM(reserved_ips));
	tcase_add_loop_test(tc, test_refuse_spiffe, 0, NELEM(spiffe_bad));
	tcase_add_test(tc, test_rsa_floor);
	tcase_add_loop_test(tc, test_refuse_public_any_rule, 0, NELEM(public_bad_names));
	suite_add_tcase(s, tc);

	tc = tcase_create("csr");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_csr_parse_fields, 0, 2);
	tcase_add_test(tc, test_csr_parse_no_cn_dirname);
	tcase_add_loop_test(tc, test_csr_parse_garbage, 0, NELEM(garbage));
	tcase_add_test(tc, test_csr_parse_truncated_oversized);
	tcase_add_loop_test(tc, test_csr_bad_signature, 0, 3);
	tcase_add_loop_test(tc, test_csr_point_off_curve, 0, 4);
	tcase_add_test(tc, test_csr_keys_as_sent);
	tcase_add_loop_test(tc, test_csr_sig_alg, 0, NELEM(sig_tab));
	tcase_add_test(tc, test_csr_sig_alg_message);
	tcase_add_loop_test(tc, test_csr_max_names, 0, 2);
	tcase_add_loop_test(tc, test_policy_max_names, 0, 2);
	tcase_add_test(tc, test_empty_dns_name);
	tcase_add_loop_test(tc, test_odd_san_refused, 0, 3);
	suite_add_tcase(s, tc);

	tc = tcase_create("helpers");
	tcase_add_loop_test(tc, test_ip_is_reserved, 0, NELEM(ip_tab));
	tcase_add_loop_test(tc, test_dns_is_internal, 0, NELEM(internal_tab));
	tcase_add_loop_test(tc, test_spiffe_check_bad, 0, NELEM(spiffe_bad));
	tcase_add_loop_test(tc, test_spiffe_check_good, 0, NELEM(spiffe_good));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	keys_init();
	sr = srunner_create(policy_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	keys_free();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
