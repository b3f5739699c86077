/*
 * test_profile.c - unit tests of profile.h: the three shipped templates
 * parse into the values profiles.md gives them, a templates directory
 * loads, every malformed template is refused naming the file and the
 * field, and the DNS-pattern and CIDR helpers behave.
 *
 * Templates are read from $MCA_TOP_SRCDIR/templates (../tests when
 * unset); malformed ones are the shipped texts with one substitution.
 */
#include "config.h" /* defines _GNU_SOURCE: asprintf, nftw */

#include <arpa/inet.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#include "common/err.h"
#include "pki/certgen.h"
#include "policy/profile.h"
#include "testutil.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define HOUR ((int64_t)3600)
#define DAY  ((int64_t)86400)

/* The directory of the paths the parse tests name their templates by (never opened). */
#define FAKE_DIR "/nonexistent/mca-templates"

/* ---- files -------------------------------------------------------------- */

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	size_t len = strlen(text);

	ck_assert_msg(f != NULL, "cannot create %s", path);
	ck_assert_uint_eq(fwrite(text, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

/* ---- temporary directory (per test case, made in the parent) ----------- */

static char tmpdir[PATH_MAX];

static void
tmp_setup(void)
{
	tu_mkdtemp(tmpdir, sizeof(tmpdir), "profile");
}

static void
tmp_teardown(void)
{
	tu_rmtree(tmpdir);
}

/* A fresh empty subdirectory of tmpdir, malloc'd. */
static char *
fresh_dir(const char *name)
{
	char *dir = NULL;

	ck_assert_int_ge(asprintf(&dir, "%s/%s", tmpdir, name), 0);
	ck_assert_msg(mkdir(dir, 0700) == 0, "mkdir %s", dir);
	return dir;
}

/* Write `text` as dir/file. */
static void
put(const char *dir, const char *file, const char *text)
{
	char *path = NULL;

	ck_assert_int_ge(asprintf(&path, "%s/%s", dir, file), 0);
	write_file(path, text);
	free(path);
}

/* ---- helpers ------------------------------------------------------------ */

static struct mca_profile *
parse_ok(const char *path, const char *text)
{
	struct mca_error err = {0};
	struct mca_profile *p = NULL;
	mca_rc rc = mca_profile_parse(path, text, strlen(text), &p, &err);

	ck_assert_msg(rc == MCA_OK, "%s: rc %d: %s", path, rc, err.msg);
	ck_assert_ptr_nonnull(p);
	return p;
}

static struct mca_profile *
parse_shipped(const char *name)
{
	char *path = tu_template_path(name);
	char *text = tu_read(path);
	struct mca_profile *p = parse_ok(path, text);

	ck_assert_pstr_eq(p->path, path);
	free(text);
	free(path);
	return p;
}

static size_t
strv_len(char **v)
{
	size_t n = 0;

	while (v != NULL && v[n] != NULL)
		n++;
	return n;
}

/* ---- the shipped templates ---------------------------------------------- */

/* public.json: 90d/199d, RSA+P-256+P-384, public names only, DV policy, no SKI, token. */
START_TEST(test_shipped_public)
{
	struct mca_profile *p = parse_shipped("public");

	ck_assert_str_eq(p->name, "public");
	ck_assert_ptr_nonnull(p->description);
	ck_assert_ptr_nonnull(strstr(p->description, "Public-facing TLS servers"));
	ck_assert_int_eq(p->validity_default, 90 * DAY);
	ck_assert_int_eq(p->validity_max, 199 * DAY);
	ck_assert_uint_eq(p->key_types, MCA_PK_RSA | MCA_PK_P256 | MCA_PK_P384);
	ck_assert_int_eq(p->rsa_min_bits, 2048);
	ck_assert_int_ne(p->dns.allowed, 0);
	ck_assert_uint_eq(strv_len(p->dns.allow), 0);
	ck_assert_uint_eq(strv_len(p->dns.deny), 0);
	ck_assert_int_ne(p->dns.wildcards, 0);
	ck_assert_int_ne(p->dns.public_suffix_required, 0);
	ck_assert_int_eq(p->dns.internal, 0);
	ck_assert_int_ne(p->ip.allowed, 0);
	ck_assert_uint_eq(p->ip.n_allow, 0);
	ck_assert_int_eq(p->ip.reserved, 0);
	ck_assert_int_eq(p->uri.allowed, 0);
	ck_assert_int_eq(p->email, 0);
	ck_assert_int_eq(p->cn, MCA_CN_FIRST_SAN);
	ck_assert_uint_eq(p->key_usage, MCA_KU_DIGITAL_SIGNATURE | MCA_KU_KEY_ENCIPHERMENT);
	ck_assert_uint_eq(p->ext_key_usage, MCA_EKU_SERVER_AUTH);
	ck_assert_pstr_eq(p->policies[0], "2.23.140.1.2.1");
	ck_assert_ptr_null(p->policies[1]);
	ck_assert_int_eq(p->ski, 0);
	ck_assert_uint_eq(p->authorization, MCA_AUTH_TOKEN);
	mca_profile_free(p);
}
END_TEST

/* private.json: 24h/30d, every key type, internal names, any IP, URIs+SPIFFE, SKI. */
START_TEST(test_shipped_private)
{
	struct mca_profile *p = parse_shipped("private");

	ck_assert_str_eq(p->name, "private");
	ck_assert_pstr_eq(p->description, "Internal mTLS between services and machines");
	ck_assert_int_eq(p->validity_default, 24 * HOUR);
	ck_assert_int_eq(p->validity_max, 30 * DAY);
	ck_assert_uint_eq(p->key_types, MCA_PK_RSA | MCA_PK_P256 | MCA_PK_P384 | MCA_PK_ED25519);
	ck_assert_int_eq(p->rsa_min_bits, 2048);
	ck_assert_int_ne(p->dns.allowed, 0);
	ck_assert_uint_eq(strv_len(p->dns.allow), 0);
	ck_assert_uint_eq(strv_len(p->dns.deny), 0);
	ck_assert_int_ne(p->dns.wildcards, 0);
	ck_assert_int_eq(p->dns.public_suffix_required, 0);
	ck_assert_int_ne(p->dns.internal, 0);
	ck_assert_int_ne(p->ip.allowed, 0);
	ck_assert_uint_eq(p->ip.n_allow, 0);
	ck_assert_int_ne(p->ip.reserved, 0);
	ck_assert_int_ne(p->uri.allowed, 0);
	ck_assert_uint_eq(strv_len(p->uri.allow), 0);
	ck_assert_int_ne(p->uri.spiffe, 0);
	ck_assert_int_eq(p->email, 0);
	ck_assert_int_eq(p->cn, MCA_CN_FIRST_SAN);
	ck_assert_uint_eq(p->key_usage, MCA_KU_DIGITAL_SIGNATURE | MCA_KU_KEY_ENCIPHERMENT);
	ck_assert_uint_eq(p->ext_key_usage, MCA_EKU_SERVER_AUTH | MCA_EKU_CLIENT_AUTH);
	ck_assert_ptr_null(p->policies[0]);
	ck_assert_int_ne(p->ski, 0);
	ck_assert_uint_eq(p->authorization, MCA_AUTH_TOKEN | MCA_AUTH_RENEWAL);
	mca_profile_free(p);
}
END_TEST

/* domain-validated.json: 90d/199d, DNS only, ACME http-01 + dns-01, reuse 30d. */
START_TEST(test_shipped_domain_validated)
{
	struct mca_profile *p = parse_shipped("domain-validated");

	ck_assert_str_eq(p->name, "domain-validated");
	ck_assert_ptr_nonnull(p->description);
	ck_assert_int_eq(p->validity_default, 90 * DAY);
	ck_assert_int_eq(p->validity_max, 199 * DAY);
	ck_assert_uint_eq(p->key_types, MCA_PK_RSA | MCA_PK_P256 | MCA_PK_P384);
	ck_assert_int_eq(p->rsa_min_bits, 2048);
	ck_assert_int_ne(p->dns.allowed, 0);
	ck_assert_int_ne(p->dns.wildcards, 0);
	ck_assert_int_ne(p->dns.public_suffix_required, 0);
	ck_assert_int_eq(p->dns.internal, 0);
	ck_assert_int_eq(p->ip.allowed, 0);
	ck_assert_int_eq(p->uri.allowed, 0);
	ck_assert_int_eq(p->email, 0);
	ck_assert_int_eq(p->cn, MCA_CN_FIRST_SAN);
	ck_assert_uint_eq(p->key_usage, MCA_KU_DIGITAL_SIGNATURE | MCA_KU_KEY_ENCIPHERMENT);
	ck_assert_uint_eq(p->ext_key_usage, MCA_EKU_SERVER_AUTH);
	ck_assert_pstr_eq(p->policies[0], "2.23.140.1.2.1");
	ck_assert_ptr_null(p->policies[1]);
	ck_assert_int_eq(p->ski, 0);
	ck_assert_uint_eq(p->authorization, MCA_AUTH_ACME_HTTP01 | MCA_AUTH_ACME_DNS01);
	ck_assert_int_eq(p->validation_reuse, 30 * DAY);
	mca_profile_free(p);
}
END_TEST

/* Without a validation_reuse field the reuse window is profiles.md's default, 30 days. */
START_TEST(test_validation_reuse_default)
{
	char *text =
	    tu_subst(tu_template("domain-validated"), ",\n  \"validation_reuse\": \"30d\"", "");
	struct mca_profile *p = parse_ok(FAKE_DIR "/domain-validated.json", text);

	ck_assert_int_eq(p->validation_reuse, 30 * DAY);
	mca_profile_free(p);
	free(text);
}
END_TEST

/* Allow/deny lists of every kind parse into the profile, in order. */
START_TEST(test_lists_parse)
{
	char *text = tu_template("private");
	struct mca_profile *p;
	static const unsigned char ten[4] = {10, 0, 0, 0};
	unsigned char fd[16] = {0xfd};

	text =
	    tu_subst(text, "\"dns\": {\"allow\": []",
	             "\"dns\": {\"allow\": [\"*.svc.example.internal\", \"db.example.internal\"]");
	text = tu_subst(text, "\"deny\": []", "\"deny\": [\"*.bad.example.internal\"]");
	text = tu_subst(text, "\"ip\": {\"allow\": []",
	                "\"ip\": {\"allow\": [\"10.0.0.0/8\", \"fd00::/8\"]");
	text = tu_subst(text, "\"uri\": {\"allow\": []",
	                "\"uri\": {\"allow\": [\"spiffe://example.org/\"]");
	p = parse_ok(FAKE_DIR "/private.json", text);
	ck_assert_uint_eq(strv_len(p->dns.allow), 2);
	ck_assert_str_eq(p->dns.allow[0], "*.svc.example.internal");
	ck_assert_str_eq(p->dns.allow[1], "db.example.internal");
	ck_assert_uint_eq(strv_len(p->dns.deny), 1);
	ck_assert_str_eq(p->dns.deny[0], "*.bad.example.internal");
	ck_assert_uint_eq(p->ip.n_allow, 2);
	ck_assert_uint_eq(p->ip.allow[0].len, 4);
	ck_assert_uint_eq(p->ip.allow[0].prefix, 8);
	ck_assert_mem_eq(p->ip.allow[0].addr, ten, 4);
	ck_assert_uint_eq(p->ip.allow[1].len, 16);
	ck_assert_uint_eq(p->ip.allow[1].prefix, 8);
	ck_assert_mem_eq(p->ip.allow[1].addr, fd, 16);
	ck_assert_uint_eq(strv_len(p->uri.allow), 1);
	ck_assert_str_eq(p->uri.allow[0], "spiffe://example.org/");
	mca_profile_free(p);
	free(text);
}
END_TEST

/* null name kinds, email, "none" CN, cn_as_san and rsa_min_bits parse into the profile. */
START_TEST(test_other_fields_parse)
{
	char *text = tu_template("public");
	struct mca_profile *p;

	text = tu_subst(text,
	                "\"dns\": {\"allow\": [], \"deny\": [], \"wildcards\": true, "
	                "\"public_suffix_required\": true, \"internal\": false}",
	                "\"dns\": null");
	text = tu_subst(text, "\"ip\": {\"allow\": [], \"reserved\": false}", "\"ip\": null");
	text = tu_subst(text, "\"uri\": null", "\"uri\": {\"allow\": [], \"spiffe\": false}");
	text = tu_subst(text, "\"email\": false", "\"email\": true");
	text = tu_subst(text, "{\"common_name\": \"first_san\"}",
	                "{\"common_name\": \"none\", \"cn_as_san\": true}");
	text = tu_subst(text, "\"rsa_min_bits\": 2048", "\"rsa_min_bits\": 3072");
	text =
	    tu_subst(text, "[\"digitalSignature\", \"keyEncipherment\"]", "[\"digitalSignature\"]");
	text = tu_subst(text, "[\"serverAuth\"]", "[\"clientAuth\"]");
	p = parse_ok(FAKE_DIR "/public.json", text);
	ck_assert_int_eq(p->dns.allowed, 0);
	ck_assert_int_eq(p->ip.allowed, 0);
	ck_assert_int_ne(p->uri.allowed, 0);
	ck_assert_int_eq(p->uri.spiffe, 0);
	ck_assert_int_ne(p->email, 0);
	ck_assert_int_eq(p->cn, MCA_CN_NONE);
	ck_assert_int_ne(p->cn_as_san, 0);
	ck_assert_int_eq(p->rsa_min_bits, 3072);
	ck_assert_uint_eq(p->key_usage, MCA_KU_DIGITAL_SIGNATURE);
	ck_assert_uint_eq(p->ext_key_usage, MCA_EKU_CLIENT_AUTH);
	mca_profile_free(p);
	free(text);
}
END_TEST

/* Fields the shipped templates leave out take the documented defaults (cn_as_san false). */
START_TEST(test_defaults)
{
	struct mca_profile *p = parse_shipped("public");

	ck_assert_int_eq(p->cn_as_san, 0);
	mca_profile_free(p);
}
END_TEST

/* ---- loading a directory ------------------------------------------------- */

/* The three shipped templates load from a directory, sorted, findable by name. */
START_TEST(test_load_dir)
{
	static const char *const names[] = {"domain-validated", "private", "public"};
	char *dir = fresh_dir("ok");
	struct mca_profiles *set = NULL;
	struct mca_error err = {0};
	size_t i;
	mca_rc rc;

	for (i = 0; i < NELEM(names); i++) {
		char *text = tu_template(names[i]);
		char *file = NULL;

		ck_assert_int_ge(asprintf(&file, "%s.json", names[i]), 0);
		put(dir, file, text);
		free(file);
		free(text);
	}
	put(dir, "README.txt", "not a template\n");
	put(dir, "public.json.orig", "{ not json");
	rc = mca_profiles_load(dir, &set, &err);
	ck_assert_msg(rc == MCA_OK, "rc %d: %s", rc, err.msg);
	ck_assert_ptr_nonnull(set);
	ck_assert_uint_eq(set->n, 3);
	for (i = 0; i < NELEM(names); i++) {
		const struct mca_profile *p = mca_profiles_find(set, names[i]);
		char *want_path = NULL;

		ck_assert_str_eq(set->v[i]->name, names[i]);
		ck_assert_ptr_nonnull(p);
		ck_assert_ptr_eq(p, set->v[i]);
		ck_assert_int_ge(asprintf(&want_path, "%s/%s.json", dir, names[i]), 0);
		ck_assert_pstr_eq(p->path, want_path);
		free(want_path);
	}
	ck_assert_int_eq(mca_profiles_find(set, "private")->validity_max, 30 * DAY);
	ck_assert_ptr_null(mca_profiles_find(set, "nope"));
	ck_assert_ptr_null(mca_profiles_find(set, "publi"));
	ck_assert_ptr_null(mca_profiles_find(set, "root"));
	ck_assert_ptr_null(mca_profiles_find(set, ""));
	mca_profiles_free(set);
	free(dir);
}
END_TEST

/* A directory holding one malformed template fails to load, naming that file. */
START_TEST(test_load_dir_bad_file)
{
	char *dir = fresh_dir("bad");
	char *text = tu_template("public");
	struct mca_profiles *set = NULL;
	struct mca_error err = {0};
	mca_rc rc;

	put(dir, "public.json", text);
	put(dir, "zz-broken.json", "{\"name\": \"zz-broken\",");
	rc = mca_profiles_load(dir, &set, &err);
	ck_assert_int_eq(rc, MCA_ERR_CONFIG);
	ck_assert_msg(strstr(err.msg, "zz-broken.json") != NULL, "message: %s", err.msg);
	free(text);
	free(dir);
}
END_TEST

/* A directory that does not exist is an error, not an empty set. */
START_TEST(test_load_dir_missing)
{
	struct mca_profiles *set = NULL;
	struct mca_error err = {0};
	char *dir = NULL;
	mca_rc rc;

	ck_assert_int_ge(asprintf(&dir, "%s/does-not-exist", tmpdir), 0);
	rc = mca_profiles_load(dir, &set, &err);
	ck_assert_int_ne(rc, MCA_OK);
	ck_assert_msg(strstr(err.msg, "does-not-exist") != NULL, "message: %s", err.msg);
	free(dir);
}
END_TEST

/*
 * File names that the "name" field must match, and reserved names: each
 * row is (file, name) and must fail to load with MCA_ERR_CONFIG naming
 * the file and the field.
 */
static const struct {
	const char *file;
	const char *name;
} load_bad[] = {
    {"foo.json", "public"},     /* name differs from the file */
    {"public.json", "Public"},  /* case matters */
    {"public.json", "private"}, /* a different existing name */
    {"root.json", "root"},      /* reserved: the CA's own certificates */
    {"ca.json", "ca"},          {"server.json", "server"}, {"admin.json", "admin"},
};

/* A name that is not the file's base name, or is reserved, is refused at load. */
START_TEST(test_load_bad_name)
{
	char sub[32];
	char *dir, *text = tu_template("public");
	char *want = NULL;
	struct mca_profiles *set = NULL;
	struct mca_error err = {0};
	mca_rc rc;

	snprintf(sub, sizeof(sub), "name-%d", _i);
	dir = fresh_dir(sub);
	ck_assert_int_ge(asprintf(&want, "\"name\": \"%s\"", load_bad[_i].name), 0);
	text = tu_subst(text, "\"name\": \"public\"", want);
	put(dir, load_bad[_i].file, text);
	rc = mca_profiles_load(dir, &set, &err);
	ck_assert_msg(rc == MCA_ERR_CONFIG, "%s: rc %d", load_bad[_i].file, rc);
	ck_assert_msg(strstr(err.msg, load_bad[_i].file) != NULL, "message lacks '%s': %s",
	              load_bad[_i].file, err.msg);
	ck_assert_msg(strstr(err.msg, "name") != NULL, "message lacks 'name': %s", err.msg);
	free(want);
	free(text);
	free(dir);
}
END_TEST

/* ---- template errors ------------------------------------------------------ */

/*
 * Malformed templates: `base` with `from` replaced by `to` (from NULL:
 * the whole text is `to`); the error must be MCA_ERR_CONFIG and the
 * message must name the file and `field` (NULL: no field to name).
 */
static const struct {
	const char *base;
	const char *from, *to;
	const char *field;
} bad_tab[] = {
    /* malformed JSON */
    {"public", NULL, "{\"name\": \"public\",", NULL},
    {"public", NULL, "", NULL},
    {"public", "\"ski\": false", "\"ski\": false,", NULL},
    /* not an object at the top */
    {"public", NULL, "[1, 2]", NULL},
    /* unknown fields, top level and nested */
    {"public", "\"ski\": false", "\"ski\": false, \"colour\": \"blue\"", "colour"},
    {"public", "\"wildcards\": true", "\"wildcards\": true, \"colour\": 1", "colour"},
    {"public", "\"reserved\": false", "\"reserved\": false, \"colour\": 1", "colour"},
    {"public", "\"max\": \"199d\"", "\"max\": \"199d\", \"colour\": \"1d\"", "colour"},
    {"public", "\"common_name\": \"first_san\"", "\"common_name\": \"first_san\", \"colour\": 1",
     "colour"},
    {"public", "\"email\": false", "\"email\": false, \"colour\": {}", "colour"},
    /* wrong types */
    {"public", "\"validity\": {\"default\": \"90d\", \"max\": \"199d\"}", "\"validity\": \"90d\"",
     "validity"},
    {"public", "\"key_types\": [\"rsa\", \"ec-p256\", \"ec-p384\"]", "\"key_types\": \"rsa\"",
     "key_types"},
    {"public", "[\"rsa\", \"ec-p256\"", "[1, \"ec-p256\"", "key_types"},
    {"public", "\"rsa_min_bits\": 2048", "\"rsa_min_bits\": \"2048\"", "rsa_min_bits"},
    {"public", "\"ski\": false", "\"ski\": \"no\"", "ski"},
    {"public", "\"wildcards\": true", "\"wildcards\": 1", "wildcards"},
    {"public", "\"name\": \"public\"", "\"name\": 5", "name"},
    {"public", "\"policies\": [\"2.23.140.1.2.1\"]", "\"policies\": [1]", "policies"},
    {"public", "\"dns\": {\"allow\": []", "\"dns\": {\"allow\": \"www.example.com\"", "allow"},
    {"public", "\"email\": false", "\"email\": \"no\"", "email"},
    {"public", "\"extended_key_usage\": [\"serverAuth\"]", "\"extended_key_usage\": \"serverAuth\"",
     "extended_key_usage"},
    {"public", "\"max\": \"199d\"", "\"max\": 199", "max"},
    {"public", "\"uri\": null", "\"uri\": 7", "uri"},
    {"domain-validated", "\"ip\": null", "\"ip\": \"yes\"", "ip"},
    /* duplicate keys */
    {"public", "\"ski\": false", "\"ski\": false, \"ski\": true", "ski"},
    /* RSA sizes that are not a multiple of 8; key usage without digitalSignature */
    {"public", "\"rsa_min_bits\": 2048", "\"rsa_min_bits\": 2049", "rsa_min_bits"},
    {"public", "\"key_usage\": [\"digitalSignature\", \"keyEncipherment\"]",
     "\"key_usage\": [\"keyEncipherment\"]", "key_usage"},
    /* missing name */
    {"public", "\"name\": \"public\",", "", "name"},
    /* bad durations */
    {"public", "\"default\": \"90d\"", "\"default\": \"90x\"", "default"},
    {"public", "\"max\": \"199d\"", "\"max\": \"\"", "max"},
    {"public", "\"max\": \"199d\"", "\"max\": \"0s\"", "max"},
    {"public", "\"max\": \"199d\"", "\"max\": \"-5d\"", "max"},
    {"domain-validated", "\"validation_reuse\": \"30d\"", "\"validation_reuse\": \"soon\"",
     "validation_reuse"},
    /* default above max */
    {"public", "\"default\": \"90d\"", "\"default\": \"200d\"", "default"},
    {"private", "\"default\": \"24h\"", "\"default\": \"31d\"", "default"},
    /* unknown key types, key usages, EKUs, authorization methods */
    {"public", "\"ec-p384\"]", "\"dsa\"]", "key_types"},
    {"public", "\"ec-p384\"]", "\"ec-p521\"]", "key_types"},
    {"public", "\"keyEncipherment\"]", "\"keyTeleportation\"]", "key_usage"},
    {"public", "[\"serverAuth\"]", "[\"serverAuth\", \"timeTravel\"]", "extended_key_usage"},
    {"public", "\"authorization\": [\"token\"]", "\"authorization\": [\"magic\"]", "authorization"},
    {"domain-validated", "\"acme-dns-01\"", "\"acme-tls-alpn-01\"", "authorization"},
    {"public", "\"common_name\": \"first_san\"", "\"common_name\": \"last_san\"", "common_name"},
    /* bad CIDRs */
    {"public", "\"ip\": {\"allow\": []", "\"ip\": {\"allow\": [\"10.0.0.0/33\"]", "allow"},
    {"public", "\"ip\": {\"allow\": []", "\"ip\": {\"allow\": [\"fd00::/129\"]", "allow"},
    {"public", "\"ip\": {\"allow\": []", "\"ip\": {\"allow\": [\"not-an-ip\"]", "allow"},
    {"public", "\"ip\": {\"allow\": []", "\"ip\": {\"allow\": [\"10.0.0.0/\"]", "allow"},
    {"public", "\"ip\": {\"allow\": []", "\"ip\": {\"allow\": [\"10.0.0/8\"]", "allow"},
    /* bad policy OIDs, too many policies */
    {"public", "\"2.23.140.1.2.1\"", "\"2.23.140.1.2.x\"", "policies"},
    {"public", "\"2.23.140.1.2.1\"", "\"hello\"", "policies"},
    {"public", "\"2.23.140.1.2.1\"", "\"\"", "policies"},
    {"public", "\"2.23.140.1.2.1\"", "\"2.23..140.1\"", "policies"},
    {"public", "\"2.23.140.1.2.1\"", "\"2.23.140.1.2.1.\"", "policies"},
    {"public", "\"2.23.140.1.2.1\"",
     "\"1.2.3.1\", \"1.2.3.2\", \"1.2.3.3\", \"1.2.3.4\", \"1.2.3.5\"", "policies"},
};

/* Every malformed template is MCA_ERR_CONFIG with the file and the field in the message. */
START_TEST(test_parse_bad)
{
	struct mca_error err = {0};
	struct mca_profile *p = NULL;
	char *text, *path = NULL;
	mca_rc rc;

	/* the file name matches the "name" field, so only the planted error is wrong */
	ck_assert_int_ge(asprintf(&path, FAKE_DIR "/%s.json", bad_tab[_i].base), 0);
	if (bad_tab[_i].from == NULL) {
		text = strdup(bad_tab[_i].to);
		ck_assert_ptr_nonnull(text);
	} else {
		text = tu_subst(tu_template(bad_tab[_i].base), bad_tab[_i].from, bad_tab[_i].to);
	}
	rc = mca_profile_parse(path, text, strlen(text), &p, &err);
	ck_assert_msg(rc == MCA_ERR_CONFIG, "case %d (%s): rc %d, want config", _i, bad_tab[_i].to,
	              rc);
	ck_assert_msg(strstr(err.msg, path) != NULL, "case %d: message lacks the path: %s", _i,
	              err.msg);
	if (bad_tab[_i].field != NULL)
		ck_assert_msg(strstr(err.msg, bad_tab[_i].field) != NULL,
		              "case %d: message lacks '%s': %s", _i, bad_tab[_i].field, err.msg);
	free(text);
	free(path);
}
END_TEST

/* ---- DNS patterns -------------------------------------------------------- */

static const struct {
	const char *pattern, *name;
	int match;
} pattern_tab[] = {
    {"example.com", "example.com", 1},
    {"example.com", "www.example.com", 0},
    {"www.example.com", "example.com", 0},
    {"*.example.com", "www.example.com", 1},
    {"*.example.com", "a.b.example.com", 1},
    {"*.example.com", "*.example.com", 1},
    {"*.example.com", "*.a.example.com", 1},
    {"*.example.com", "example.com", 0},
    {"*.example.com", "wwwexample.com", 0},
    {"*.example.com", "www.notexample.com", 0},
    {"*.example.com", "www.example.com.evil", 0},
    {"*.example.com", "www.example.org", 0},
    {"*.svc.example.internal", "web.svc.example.internal", 1},
    {"*.svc.example.internal", "svc.example.internal", 0},
    {"db.internal", "db.internal", 1},
    {"db.internal", "xdb.internal", 0},
};

/* mca_dns_pattern_match: exact names, and "*.SUFFIX" for any depth below SUFFIX. */
START_TEST(test_dns_pattern_match)
{
	int got = mca_dns_pattern_match(pattern_tab[_i].pattern, pattern_tab[_i].name);

	ck_assert_msg(!got == !pattern_tab[_i].match, "pattern '%s', name '%s': got %d",
	              pattern_tab[_i].pattern, pattern_tab[_i].name, got);
}
END_TEST

/* ---- CIDRs --------------------------------------------------------------- */

static const struct {
	const char *text;
	const char *addr; /* expected network address as text */
	unsigned prefix;
} cidr_ok[] = {
    {"10.0.0.0/8", "10.0.0.0", 8},
    {"192.168.1.0/24", "192.168.1.0", 24},
    {"192.168.1.1", "192.168.1.1", 32},
    {"0.0.0.0/0", "0.0.0.0", 0},
    {"fd00::/8", "fd00::", 8},
    {"2001:db8::/32", "2001:db8::", 32},
    {"::1", "::1", 128},
    {"::/0", "::", 0},
};

/* mca_cidr_parse: networks and single addresses of both families. */
START_TEST(test_cidr_parse_ok)
{
	struct mca_cidr c;
	unsigned char want[16];
	size_t len = strchr(cidr_ok[_i].addr, ':') ? 16 : 4;

	memset(&c, 0xa5, sizeof(c));
	ck_assert_msg(mca_cidr_parse(cidr_ok[_i].text, &c) != 0, "'%s' refused", cidr_ok[_i].text);
	ck_assert_int_eq(inet_pton(len == 16 ? AF_INET6 : AF_INET, cidr_ok[_i].addr, want), 1);
	ck_assert_uint_eq(c.len, len);
	ck_assert_uint_eq(c.prefix, cidr_ok[_i].prefix);
	ck_assert_mem_eq(c.addr, want, len);
}
END_TEST

static const char *const cidr_bad[] = {
    "",        "10.0.0.0/33",  "10.0.0.0/",   "/8",         "10.0.0/8",
    "abc",     "10.0.0.0/8/8", "10.0.0.0/-1", "10.0.0.0/a", "fd00::/129",
    "fd00::/", "10.0.0.0 /8",  "256.0.0.0/8", "fd00:::/8",
};

/* mca_cidr_parse refuses malformed networks. */
START_TEST(test_cidr_parse_bad)
{
	struct mca_cidr c;

	ck_assert_msg(mca_cidr_parse(cidr_bad[_i], &c) == 0, "'%s' accepted", cidr_bad[_i]);
}
END_TEST

static const struct {
	const char *cidr, *addr;
	int in;
} contains_tab[] = {
    {"10.0.0.0/8", "10.0.0.0", 1},
    {"10.0.0.0/8", "10.255.255.255", 1},
    {"10.0.0.0/8", "11.0.0.0", 0},
    {"10.0.0.0/8", "9.255.255.255", 0},
    {"192.168.1.0/25", "192.168.1.127", 1},
    {"192.168.1.0/25", "192.168.1.128", 0},
    {"172.16.0.0/12", "172.31.255.255", 1},
    {"172.16.0.0/12", "172.32.0.0", 0},
    {"192.168.1.1", "192.168.1.1", 1},
    {"192.168.1.1", "192.168.1.2", 0},
    {"0.0.0.0/0", "203.0.113.9", 1},
    {"10.0.0.0/8", "::a00:1", 0},
    {"fd00::/8", "fd12::1", 1},
    {"fd00::/8", "fe00::1", 0},
    {"fc00::/7", "fdff::1", 1},
    {"fc00::/7", "fe00::", 0},
    {"2001:db8::/33", "2001:db8:7fff::1", 1},
    {"2001:db8::/33", "2001:db8:8000::1", 0},
    {"::1", "::1", 1},
    {"::1", "::2", 0},
    {"::/0", "2606:4700::1111", 1},
    {"::/0", "10.0.0.1", 0},
    {"fd00::/8", "10.0.0.1", 0},
};

/* mca_cidr_contains: prefix boundaries, non-octet prefixes, and no cross-family matches. */
START_TEST(test_cidr_contains)
{
	struct mca_cidr c;
	unsigned char a[16];
	size_t len = strchr(contains_tab[_i].addr, ':') ? 16 : 4;
	int got;

	ck_assert_int_ne(mca_cidr_parse(contains_tab[_i].cidr, &c), 0);
	ck_assert_int_eq(inet_pton(len == 16 ? AF_INET6 : AF_INET, contains_tab[_i].addr, a), 1);
	got = mca_cidr_contains(&c, a, len);
	ck_assert_msg(!got == !contains_tab[_i].in, "%s in %s: got %d", contains_tab[_i].addr,
	              contains_tab[_i].cidr, got);
}
END_TEST

/* ---- runner -------------------------------------------------------------- */

static Suite *
profile_suite(void)
{
	Suite *s = suite_create("profile");
	TCase *tc;

	tc = tcase_create("shipped");
	tcase_add_test(tc, test_shipped_public);
	tcase_add_test(tc, test_shipped_private);
	tcase_add_test(tc, test_shipped_domain_validated);
	tcase_add_test(tc, test_validation_reuse_default);
	tcase_add_test(tc, test_lists_parse);
	tcase_add_test(tc, test_other_fields_parse);
	tcase_add_test(tc, test_defaults);
	suite_add_tcase(s, tc);

	tc = tcase_create("load");
	tcase_add_unchecked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, test_load_dir);
	tcase_add_test(tc, test_load_dir_bad_file);
	tcase_add_test(tc, test_load_dir_missing);
	tcase_add_loop_test(tc, test_load_bad_name, 0, NELEM(load_bad));
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_loop_test(tc, test_parse_bad, 0, NELEM(bad_tab));
	suite_add_tcase(s, tc);

	tc = tcase_create("helpers");
	tcase_add_loop_test(tc, test_dns_pattern_match, 0, NELEM(pattern_tab));
	tcase_add_loop_test(tc, test_cidr_parse_ok, 0, NELEM(cidr_ok));
	tcase_add_loop_test(tc, test_cidr_parse_bad, 0, NELEM(cidr_bad));
	tcase_add_loop_test(tc, test_cidr_contains, 0, NELEM(contains_tab));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(profile_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
