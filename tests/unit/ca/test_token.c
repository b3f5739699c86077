/*
 * test_token.c - enrollment tokens (ca/token.h) against a real store on a
 * CA made by mca_init_run in a temporary directory: what create accepts
 * and every refusal with its message; that only the SHA-256 of a token is
 * stored; each state mca_token_check reports, including the order in which
 * they are said (a wrong secret is never told more than BAD_SECRET); uses
 * counted down by consume, atomically across connections; refund, revoke
 * and purge.  The clock is mca_time_set_fake: no sleeps.
 */
#include "config.h" /* defines _GNU_SOURCE: nftw */

#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>
#include <openssl/evp.h>

#include "ca/pkiinit.h"
#include "ca/token.h"
#include "common/b64url.h"
#include "common/util.h"
#include "pki/keys.h"
#include "store/store.h"
#include "testutil.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define PREFIX   "mtls_"
#define KEY_OFF  (sizeof(PREFIX) - 1 + MCA_TOKEN_ID_LEN + 1) /* where the secret part starts */
#define KEY_LEN  43
#define TOK_LEN  (KEY_OFF + KEY_LEN)
#define T0       ((time_t)1900000000) /* the fake "now" of every test */
#define THREADS  8

/* ---- the CA (parent process, once per test case) ----------------------------- */

static char tmpdir[PATH_MAX];
static char db[PATH_MAX + 32];

static void
ca_setup(void)
{
	struct mca_init_opts o = {0};
	struct mca_init_result res = {0};
	struct mca_error err = {0};
	char dir[PATH_MAX + 8];

	tu_mkdtemp(tmpdir, sizeof(tmpdir), "token");
	snprintf(dir, sizeof(dir), "%s/ca", tmpdir);
	o.dir = dir;
	o.name = "Token Test CA";
	o.key_type = MCA_KEY_EC_P256;
	o.dns[0] = "localhost";
	o.listen = "127.0.0.1:0";
	o.http_listen = "127.0.0.1:0";
	o.public_url = "http://ca.test.internal:8080"; /* port 0 cannot go into certificates */
	if (mca_init_run(&o, &res, &err) != MCA_OK) {
		fprintf(stderr, "mca_init_run: %s\n", err.msg);
		abort();
	}
	snprintf(db, sizeof(db), "%s/mtlsca.db", dir);
}

static void
ca_teardown(void)
{
	tu_rmtree(tmpdir);
}

/* ---- per test: a store connection and the fake clock ------------------------- */

static struct mca_store *store;

static void
store_setup(void)
{
	struct mca_error err = {0};

	ck_assert_msg(mca_store_open(db, 0, &store, &err) == MCA_OK, "store: %s", err.msg);
	mca_time_set_fake(T0);
}

static void
store_teardown(void)
{
	mca_store_close(store);
	store = NULL;
	mca_time_set_fake(0);
}

/* ---- helpers ---------------------------------------------------------------- */

/* Profiles: "client" and "server" take tokens, "admin" exists but takes none. */
static int profile_calls;

static int
profile_ok(void *arg, const char *profile)
{
	ck_assert_ptr_eq(arg, &profile_calls); /* the caller's arg is passed through */
	profile_calls++;
	return strcmp(profile, "client") == 0 || strcmp(profile, "server") == 0;
}

static const char *const one_name[] = {"dns:a.example.com", NULL};

/* Mint a token for "client" with `uses` and `ttl`; the secret, malloc'd; out cleared. */
static char *
mint(int64_t uses, int64_t ttl, char id[MCA_TOKEN_ID_LEN + 1])
{
	struct mca_token_spec spec = {"client", one_name, ttl, uses, "admin:test"};
	struct mca_token t;
	struct mca_error err = {0};
	char *secret = NULL;

	ck_assert_msg(
	    mca_token_create(store, &spec, profile_ok, &profile_calls, &t, &secret, &err) == MCA_OK,
	    "create: %s", err.msg);
	ck_assert_ptr_nonnull(secret);
	if (id != NULL)
		snprintf(id, MCA_TOKEN_ID_LEN + 1, "%s", t.id);
	mca_token_clear(&t);
	return secret;
}

static enum mca_token_state
check(const char *secret)
{
	struct mca_token t;
	struct mca_error err = {0};
	enum mca_token_state s = mca_token_check(store, secret, &t, &err);

	ck_assert_msg(s != MCA_TOKEN_ERROR, "check: %s", err.msg);
	if (s == MCA_TOKEN_OK)
		mca_token_clear(&t);
	else /* nothing to free when refused */
		ck_assert_msg(t.profile == NULL && t.names == NULL && t.created_by == NULL &&
		                  t.id[0] == '\0',
		              "refused check filled the token");
	return s;
}

static enum mca_token_state
consume(const char *id)
{
	struct mca_error err = {0};

	return mca_token_consume(store, id, &err);
}

static void
revoke(const char *id)
{
	struct mca_error err = {0};

	ck_assert_msg(mca_token_revoke(store, id, "admin:test", &err) == MCA_OK, "revoke: %s",
	              err.msg);
}

static int64_t
uses_left(const char *id)
{
	struct mca_token_row r;
	struct mca_error err = {0};
	int64_t n;

	ck_assert_msg(mca_store_token_get(store, id, &r, &err) == MCA_OK, "get: %s", err.msg);
	n = r.uses_left;
	mca_token_row_clear(&r);
	return n;
}

/* The tokens mca_token_list reports, by count, and one of them by id. */
struct found {
	const char *id;
	int count, hits;
	struct mca_token copy; /* profile, names and created_by not kept */
	const char *needle;    /* a string no field may contain */
	int leaks;
};

static int
found_one(void *arg, const struct mca_token *t)
{
	struct found *f = arg;
	size_t i;

	f->count++;
	if (f->id != NULL && strcmp(t->id, f->id) == 0) {
		f->hits++;
		f->copy = *t;
		f->copy.profile = NULL;
		f->copy.names = NULL;
		f->copy.created_by = NULL;
	}
	if (f->needle != NULL) {
		f->leaks += strstr(t->id, f->needle) != NULL;
		f->leaks += strstr(t->profile, f->needle) != NULL;
		f->leaks += strstr(t->created_by, f->needle) != NULL;
		for (i = 0; t->names[i] != NULL; i++)
			f->leaks += strstr(t->names[i], f->needle) != NULL;
	}
	return 0;
}

static struct found
list(const char *id, const char *needle)
{
	struct found f = {0};
	struct mca_error err = {0};

	f.id = id;
	f.needle = needle;
	ck_assert_msg(mca_token_list(store, found_one, &f, &err) == MCA_OK, "list: %s", err.msg);
	return f;
}

static void
sha256(const char *s, unsigned char out[32])
{
	unsigned int n = 0;

	ck_assert(EVP_Digest(s, strlen(s), out, &n, EVP_sha256(), NULL) == 1 && n == 32);
}

/* `secret` with its 32-octet key replaced by `key` (malloc'd). */
static char *
with_key(const char *secret, const unsigned char key[32])
{
	char *enc = mca_b64url_encode(key, 32), *s = NULL;

	ck_assert_ptr_nonnull(enc);
	ck_assert_int_eq(strlen(enc), KEY_LEN);
	ck_assert_int_ne(asprintf(&s, "%.*s%s", (int)KEY_OFF, secret, enc), -1);
	free(enc);
	return s;
}

/* The 32 octets of a token's secret part. */
static void
key_of(const char *secret, unsigned char key[32])
{
	unsigned char *raw = NULL;
	size_t n = 0;

	ck_assert_int_eq(strlen(secret), TOK_LEN);
	ck_assert_int_eq(mca_b64url_decode(secret + KEY_OFF, KEY_LEN, &raw, &n), 1);
	ck_assert_int_eq(n, 32);
	memcpy(key, raw, 32);
	free(raw);
}

/* ---- create: accepted -------------------------------------------------------- */

static const struct {
	const char *profile;
	const char *names[8];
	int64_t ttl, uses;
	const char *typed[8]; /* as stored and returned */
} create_ok_tab[] = {
    {"client", {"dns:a.example.com"}, 3600, 1, {"dns:a.example.com"}},
    {"server",
     {"b.example.com", "*.c.example.com"},
     60,
     5,
     {"dns:b.example.com", "dns:*.c.example.com"}},
    /* untyped names get the documented type; typed ones keep theirs; IPs canonical */
    {"client",
     {"10.0.0.5", "fd00:0::1", "spiffe://x.test/svc", "email:me@x.test", "uri:urn:x:y",
      "ip:192.168.1.1", "dns:d.example.com"},
     86400,
     3,
     {"ip:10.0.0.5", "ip:fd00::1", "uri:spiffe://x.test/svc", "email:me@x.test", "uri:urn:x:y",
      "ip:192.168.1.1", "dns:d.example.com"}},
    /* the limits themselves */
    {"client", {"e.example.com"}, 1, MCA_TOKEN_MAX_USES, {"dns:e.example.com"}},
    {"client", {"f.example.com"}, MCA_TOKEN_MAX_TTL, 1, {"dns:f.example.com"}},
    /* the same name twice is kept as given */
    {"client",
     {"g.example.com", "dns:g.example.com"},
     10,
     2,
     {"dns:g.example.com", "dns:g.example.com"}},
};

static void
assert_token(const struct mca_token *t, int i, const char *id)
{
	size_t j;

	ck_assert_str_eq(t->id, id);
	ck_assert_str_eq(t->profile, create_ok_tab[i].profile);
	ck_assert_str_eq(t->created_by, "admin:test");
	for (j = 0; create_ok_tab[i].typed[j] != NULL; j++) {
		ck_assert_ptr_nonnull(t->names[j]);
		ck_assert_str_eq(t->names[j], create_ok_tab[i].typed[j]);
	}
	ck_assert_ptr_null(t->names[j]);
	ck_assert_int_eq(t->uses_total, create_ok_tab[i].uses);
	ck_assert_int_eq(t->created_at, T0);
	ck_assert_int_eq(t->expires_at, T0 + create_ok_tab[i].ttl);
	ck_assert_int_eq(t->revoked_at, 0);
}

/* Accepted: what create returns, what check and list then say, all the same. */
START_TEST(test_create_ok)
{
	struct mca_token_spec spec = {create_ok_tab[_i].profile, create_ok_tab[_i].names,
	                              create_ok_tab[_i].ttl, create_ok_tab[_i].uses, "admin:test"};
	struct mca_token t, c;
	struct mca_error err = {0};
	char *secret = NULL, id[MCA_TOKEN_ID_LEN + 1];
	struct found f;
	int before = list(NULL, NULL).count;

	profile_calls = 0;
	ck_assert_msg(
	    mca_token_create(store, &spec, profile_ok, &profile_calls, &t, &secret, &err) == MCA_OK,
	    "create: %s", err.msg);
	ck_assert_int_eq(profile_calls, 1);
	ck_assert_ptr_nonnull(secret);
	ck_assert_int_eq(strlen(secret), TOK_LEN);
	ck_assert(strncmp(secret, PREFIX, strlen(PREFIX)) == 0);
	ck_assert_int_eq(mca_token_id_of(secret, id), 1);
	ck_assert_int_eq(strspn(id, "0123456789abcdef"), MCA_TOKEN_ID_LEN);
	assert_token(&t, _i, id);
	ck_assert_int_eq(t.uses_left, create_ok_tab[_i].uses);

	ck_assert_int_eq(mca_token_check(store, secret, &c, &err), MCA_TOKEN_OK);
	assert_token(&c, _i, id);
	ck_assert_int_eq(c.uses_left, create_ok_tab[_i].uses);
	mca_token_clear(&c);
	ck_assert_ptr_null(c.profile); /* clear leaves it empty */

	f = list(id, NULL);
	ck_assert_int_eq(f.count, before + 1);
	ck_assert_int_eq(f.hits, 1);
	ck_assert_int_eq(f.copy.uses_left, create_ok_tab[_i].uses);
	ck_assert_int_eq(f.copy.expires_at, T0 + create_ok_tab[_i].ttl);

	mca_token_clear(&t);
	free(secret);
}
END_TEST

/* MCA_TOKEN_MAX_NAMES names are fine. */
START_TEST(test_create_max_names)
{
	const char *names[MCA_TOKEN_MAX_NAMES + 1] = {NULL};
	char buf[MCA_TOKEN_MAX_NAMES][32];
	struct mca_token_spec spec = {"client", names, 60, 1, "admin:test"};
	struct mca_token t;
	struct mca_error err = {0};
	char *secret = NULL;
	size_t i;

	for (i = 0; i < MCA_TOKEN_MAX_NAMES; i++) {
		snprintf(buf[i], sizeof(buf[i]), "h%zu.example.com", i);
		names[i] = buf[i];
	}
	ck_assert_msg(
	    mca_token_create(store, &spec, profile_ok, &profile_calls, &t, &secret, &err) == MCA_OK,
	    "create: %s", err.msg);
	for (i = 0; t.names[i] != NULL; i++)
		;
	ck_assert_int_eq(i, MCA_TOKEN_MAX_NAMES);
	ck_assert_str_eq(t.names[MCA_TOKEN_MAX_NAMES - 1], "dns:h99.example.com");
	mca_token_clear(&t);
	free(secret);
}
END_TEST

/* ---- create: refused --------------------------------------------------------- */

/* MCA_TOKEN_MAX_NAMES + 1 distinct names */
/* clang-format off */
#define N10(p) p "0.x.test", p "1.x.test", p "2.x.test", p "3.x.test", p "4.x.test", \
	       p "5.x.test", p "6.x.test", p "7.x.test", p "8.x.test", p "9.x.test"
static const char *const many_names[MCA_TOKEN_MAX_NAMES + 2] = {
	N10("a"), N10("b"), N10("c"), N10("d"), N10("e"),
	N10("f"), N10("g"), N10("h"), N10("i"), N10("j"), "k.x.test", NULL};
#undef N10
/* clang-format on */

static const char *const no_names[] = {NULL};
static const char *const bad_ip[] = {"a.example.com", "ip:300.1.1.1", NULL};
static const char *const bad_email[] = {"email:nobody", NULL};
static const char *const bad_uri[] = {"uri:noscheme", NULL};
static const char *const bad_dns[] = {"dns:a..example.com", NULL};
static const char *const bad_spiffe[] = {"spiffe://", NULL};

#define PROFILE_MSG(p) "profile '" p "' does not exist or does not issue against tokens"
#define TTL_MSG        "ttl must be between 1s and 30d"
#define USES_MSG       "uses must be between 1 and 10000"

static const struct {
	const char *what;
	struct mca_token_spec spec;
	const char *msg; /* exact; NULL: only the prefix `msgpfx` is fixed */
	const char *msgpfx;
} create_bad_tab[] = {
    {"no profile", {NULL, one_name, 60, 1, "a"}, PROFILE_MSG(""), NULL},
    {"unknown profile", {"nosuch", one_name, 60, 1, "a"}, PROFILE_MSG("nosuch"), NULL},
    {"profile without tokens", {"admin", one_name, 60, 1, "a"}, PROFILE_MSG("admin"), NULL},
    {"ttl 0", {"client", one_name, 0, 1, "a"}, TTL_MSG, NULL},
    {"ttl negative", {"client", one_name, -1, 1, "a"}, TTL_MSG, NULL},
    {"ttl over max", {"client", one_name, MCA_TOKEN_MAX_TTL + 1, 1, "a"}, TTL_MSG, NULL},
    {"uses 0", {"client", one_name, 60, 0, "a"}, USES_MSG, NULL},
    {"uses negative", {"client", one_name, 60, -1, "a"}, USES_MSG, NULL},
    {"uses over max", {"client", one_name, 60, MCA_TOKEN_MAX_USES + 1, "a"}, USES_MSG, NULL},
    {"names NULL",
     {"client", NULL, 60, 1, "a"},
     "a token must name what it may request (--name)",
     NULL},
    {"names empty",
     {"client", no_names, 60, 1, "a"},
     "a token must name what it may request (--name)",
     NULL},
    {"too many names", {"client", many_names, 60, 1, "a"}, "at most 100 names", NULL},
    {"bad IP after a good name",
     {"client", bad_ip, 60, 1, "a"},
     "name 'ip:300.1.1.1': '300.1.1.1' is not an IP address",
     NULL},
    {"bad email",
     {"client", bad_email, 60, 1, "a"},
     "name 'email:nobody': 'nobody' is not an email address",
     NULL},
    {"bad URI",
     {"client", bad_uri, 60, 1, "a"},
     "name 'uri:noscheme': 'noscheme' is not a URI",
     NULL},
    {"bad DNS name", {"client", bad_dns, 60, 1, "a"}, NULL, "name 'dns:a..example.com': "},
    {"bad SPIFFE ID", {"client", bad_spiffe, 60, 1, "a"}, NULL, "name 'spiffe://': "},
    /* the profile is judged first, then ttl, then uses, then names */
    {"profile before ttl", {"nosuch", one_name, 0, 0, "a"}, PROFILE_MSG("nosuch"), NULL},
    {"ttl before uses", {"client", bad_ip, 0, 0, "a"}, TTL_MSG, NULL},
    {"uses before names", {"client", bad_ip, 60, 0, "a"}, USES_MSG, NULL},
};

/* Refused: MCA_ERR_INVAL with the message, no secret, nothing stored. */
START_TEST(test_create_refused)
{
	struct mca_token t;
	struct mca_error err = {0};
	char unset[] = "unset", *secret = unset;
	int before = list(NULL, NULL).count;
	mca_rc rc;

	memset(&t, 0, sizeof(t));
	rc = mca_token_create(store, &create_bad_tab[_i].spec, profile_ok, &profile_calls, &t,
	                      &secret, &err);
	ck_assert_msg(rc == MCA_ERR_INVAL, "%s: rc %d (%s)", create_bad_tab[_i].what, rc, err.msg);
	if (create_bad_tab[_i].msg != NULL)
		ck_assert_str_eq(err.msg, create_bad_tab[_i].msg);
	else
		ck_assert_msg(strncmp(err.msg, create_bad_tab[_i].msgpfx,
		                      strlen(create_bad_tab[_i].msgpfx)) == 0 &&
		                  strlen(err.msg) > strlen(create_bad_tab[_i].msgpfx),
		              "%s: '%s'", create_bad_tab[_i].what, err.msg);
	ck_assert_ptr_null(secret);
	ck_assert_ptr_null(t.profile);
	ck_assert_int_eq(list(NULL, NULL).count, before);
}
END_TEST

/* ---- only the hash is stored ------------------------------------------------- */

struct scan {
	const void *needle;
	size_t len;
	int hits;
};

static struct scan *scan_ctx;

static int
scan_file(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	FILE *fp;
	unsigned char *buf;
	size_t n, i;

	(void)ftw;
	if (type != FTW_F || sb->st_size == 0)
		return 0;
	buf = malloc((size_t)sb->st_size);
	ck_assert_ptr_nonnull(buf);
	fp = fopen(path, "rb");
	ck_assert_msg(fp != NULL, "%s", path);
	n = fread(buf, 1, (size_t)sb->st_size, fp);
	fclose(fp);
	for (i = 0; i + scan_ctx->len <= n; i++)
		if (memcmp(buf + i, scan_ctx->needle, scan_ctx->len) == 0)
			scan_ctx->hits++;
	free(buf);
	return 0;
}

/* How often `needle` occurs in the files under the CA directory. */
static int
occurrences(const void *needle, size_t len)
{
	struct scan s = {needle, len, 0};

	scan_ctx = &s;
	ck_assert_int_eq(nftw(tmpdir, scan_file, 16, FTW_PHYS), 0);
	scan_ctx = NULL;
	return s.hits;
}

/*
 * The row holds SHA-256 of the token string and no field holds the secret.
 * The store API shows only the token columns, so the files of the CA (the
 * database, its WAL, and whatever else is there) are also searched for the
 * secret, in text, as raw octets and in hex: an audit detail or any other column
 * would not show in mca_token_list.  The id (stored as text) and the hash
 * (a blob) are found there: the search does see what is stored.
 */
START_TEST(test_only_hash_stored)
{
	struct mca_token_row r;
	struct mca_error err = {0};
	unsigned char want[32], key[32];
	char id[MCA_TOKEN_ID_LEN + 1], hex[65], *secret = mint(2, 60, id);
	const char *part = secret + KEY_OFF;
	struct found f;

	key_of(secret, key);
	sha256(secret, want);

	f = list(id, part);
	ck_assert_int_eq(f.hits, 1);
	ck_assert_int_eq(f.leaks, 0);
	f = list(id, secret);
	ck_assert_int_eq(f.leaks, 0);

	ck_assert_int_eq(mca_store_token_get(store, id, &r, &err), MCA_OK);
	ck_assert_mem_eq(r.hash, want, 32);
	ck_assert(memcmp(r.hash, key, 32) != 0);
	ck_assert_ptr_null(strstr(r.names, part));
	ck_assert_ptr_null(strstr(r.profile, part));
	ck_assert_ptr_null(strstr(r.created_by, part));
	mca_token_row_clear(&r);

	ck_assert_int_ge(occurrences(id, strlen(id)), 1);
	ck_assert_int_ge(occurrences(want, 32), 1);
	ck_assert_int_eq(occurrences(part, KEY_LEN), 0);
	ck_assert_int_eq(occurrences(part, 16), 0); /* not even a piece of it */
	ck_assert_int_eq(occurrences(key, 32), 0);
	ck_assert_int_eq(occurrences(key, 16), 0);
	mca_hex(key, 32, hex); /* a debug dump of the key */
	ck_assert_int_eq(occurrences(hex, 32), 0);
	free(secret);
}
END_TEST

/* ---- check: malformed, unknown, wrong secret ---------------------------------- */

/* Ways to spoil a good token; `at` < 0 counts from the end. */
static const struct {
	const char *what;
	int at;           /* where to write `with` */
	const char *with; /* NULL: the whole input is `whole` */
	const char *whole;
	int cut; /* characters to drop from the end; -1: append "A" */
} malformed_tab[] = {
    {"NULL", 0, NULL, NULL, 0},
    {"empty", 0, NULL, "", 0},
    {"only the prefix", 0, NULL, "mtls_", 0},
    {"only prefix and id", 0, NULL, "mtls_0123456789abcdef.", 0},
    {"far too long", 0, NULL,
     "mtls_0123456789abcdef.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
     "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
     0},
    {"one short", 0, "", NULL, 1},
    {"one long", 0, "", NULL, -1},
    {"prefix upper case", 0, "MTLS_", NULL, 0},
    {"prefix with '-'", 4, "-", NULL, 0},
    {"id upper case", 5, "A", NULL, 0},
    {"id not hex", 9, "g", NULL, 0},
    {"separator '_'", 21, "_", NULL, 0},
    {"separator ':'", 21, ":", NULL, 0},
    {"separator moved left", 20, ".a", NULL, 0},
    {"secret with '+'", 30, "+", NULL, 0},
    {"secret with '/'", 22, "/", NULL, 0},
    {"secret with '='", -1, "=", NULL, 0},
    {"secret with ' '", 40, " ", NULL, 0},
    {"secret with '.'", 50, ".", NULL, 0},
    {"secret with 8-bit", 45, "\xc3", NULL, 0},
};

/* Not shaped like a token: MALFORMED, no id, nothing filled. */
START_TEST(test_check_malformed)
{
	char *good = mint(1, 60, NULL), *bad = NULL, id[MCA_TOKEN_ID_LEN + 1];
	struct mca_token t;
	struct mca_error err = {0};
	const char *in;
	size_t len = strlen(good);

	if (malformed_tab[_i].with == NULL) {
		in = malformed_tab[_i].whole;
	} else {
		bad = calloc(1, len + 2);
		ck_assert_ptr_nonnull(bad);
		memcpy(bad, good, len);
		if (malformed_tab[_i].cut > 0)
			bad[len - (size_t)malformed_tab[_i].cut] = '\0';
		else if (malformed_tab[_i].cut < 0)
			bad[len] = 'A';
		memcpy(bad + (malformed_tab[_i].at < 0 ? (int)len + malformed_tab[_i].at
		                                       : malformed_tab[_i].at),
		       malformed_tab[_i].with, strlen(malformed_tab[_i].with));
		in = bad;
	}
	memset(id, 'x', sizeof(id));
	ck_assert_int_eq(mca_token_id_of(in, id), 0);
	memset(&t, 0xa5, sizeof(t));
	ck_assert_int_eq(mca_token_check(store, in, &t, &err), MCA_TOKEN_MALFORMED);
	ck_assert_ptr_null(t.profile);
	ck_assert_ptr_null(t.names);
	/* the good one still works: the spoiling was what made it malformed */
	ck_assert_int_eq(check(good), MCA_TOKEN_OK);
	free(bad);
	free(good);
}
END_TEST

/* Well-formed, but no token has that id. */
START_TEST(test_check_unknown)
{
	char *good = mint(1, 60, NULL);
	char *other = strdup(good);
	char zero[] = "mtls_0000000000000000.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
	char id[MCA_TOKEN_ID_LEN + 1];

	other[5] = other[5] == '0' ? '1' : '0'; /* another id, same secret */
	ck_assert_int_eq(mca_token_id_of(other, id), 1);
	ck_assert_int_eq(check(other), MCA_TOKEN_UNKNOWN);
	ck_assert_int_eq(mca_token_id_of(zero, id), 1);
	ck_assert_str_eq(id, "0000000000000000");
	ck_assert_int_eq(check(zero), MCA_TOKEN_UNKNOWN);
	free(other);
	free(good);
}
END_TEST

/* The right id with one bit of the secret's 256 flipped, at several places. */
START_TEST(test_check_bad_secret_bit)
{
	static const int bits[] = {0, 7, 8, 100, 128, 200, 255};
	char *good = mint(1, 60, NULL), *bad;
	unsigned char key[32];
	size_t i;

	for (i = 0; i < NELEM(bits); i++) {
		key_of(good, key);
		key[bits[i] / 8] ^= (unsigned char)(1u << (bits[i] % 8));
		bad = with_key(good, key);
		ck_assert_msg(check(bad) == MCA_TOKEN_BAD_SECRET, "bit %d", bits[i]);
		free(bad);
	}
	ck_assert_int_eq(check(good), MCA_TOKEN_OK);
	free(good);
}
END_TEST

/*
 * A wrong secret whose SHA-256 agrees with the right one in its first two
 * octets (found by search, about 65536 tries): a compare of a prefix of
 * the hash would take it.
 */
START_TEST(test_check_bad_secret_hash_prefix)
{
	char *good = mint(1, 60, NULL), *bad = NULL;
	unsigned char key[32], want[32], got[32];
	uint32_t n;

	key_of(good, key);
	sha256(good, want);
	for (n = 1; n < (1u << 24); n++) {
		memcpy(key + 28, &n, sizeof(n));
		bad = with_key(good, key);
		sha256(bad, got);
		if (memcmp(got, want, 2) == 0)
			break;
		free(bad);
		bad = NULL;
	}
	ck_assert_ptr_nonnull(bad);
	ck_assert(memcmp(got, want, 32) != 0);
	ck_assert_int_eq(check(bad), MCA_TOKEN_BAD_SECRET);
	free(bad);
	free(good);
}
END_TEST

/*
 * The same 32 octets spelt differently (stray low bits in the last
 * character) are a different token: the string is hashed, not the key.
 * And one token's secret is no good with another token's id.
 */
START_TEST(test_check_bad_secret_spelling)
{
	char idb[MCA_TOKEN_ID_LEN + 1];
	char *a = mint(1, 60, NULL), *b = mint(1, 60, idb), *c = strdup(a);
	const char *p;
	unsigned char *raw = NULL;
	size_t n = 0;

	p = strchr(mca_b64url_alphabet, c[TOK_LEN - 1]);
	ck_assert_ptr_nonnull(p);
	c[TOK_LEN - 1] = mca_b64url_alphabet[(p - mca_b64url_alphabet) ^ 1];
	ck_assert_int_eq(mca_b64url_decode(c + KEY_OFF, KEY_LEN, &raw, &n), 0); /* not canonical */
	ck_assert_int_eq(check(c), MCA_TOKEN_BAD_SECRET);
	free(raw);

	memcpy(c, a, TOK_LEN);
	memcpy(c + strlen(PREFIX), idb, MCA_TOKEN_ID_LEN); /* b's id, a's secret */
	ck_assert_int_eq(check(c), MCA_TOKEN_BAD_SECRET);
	ck_assert_int_eq(check(a), MCA_TOKEN_OK);
	ck_assert_int_eq(check(b), MCA_TOKEN_OK);
	free(a);
	free(b);
	free(c);
}
END_TEST

/* ---- check and consume: states and the order they are told in ----------------- */

#define TTL 60

static const struct {
	const char *what;
	int64_t uses; /* of the token */
	int take;     /* consumes before the check */
	int revoked;  /* revoke before the check */
	time_t at;    /* the clock at the check, relative to creation */
	enum mca_token_state want;
	int64_t left; /* uses_left reported when OK */
} state_tab[] = {
    {"fresh", 1, 0, 0, 0, MCA_TOKEN_OK, 1},
    {"one of three taken", 3, 1, 0, 0, MCA_TOKEN_OK, 2},
    {"a second before expiry", 1, 0, 0, TTL - 1, MCA_TOKEN_OK, 1},
    {"at expiry", 1, 0, 0, TTL, MCA_TOKEN_EXPIRED, 0},
    {"long expired", 1, 0, 0, 10 * TTL, MCA_TOKEN_EXPIRED, 0},
    {"used up", 1, 1, 0, 0, MCA_TOKEN_USED, 0},
    {"three of three taken", 3, 3, 0, 0, MCA_TOKEN_USED, 0},
    {"revoked", 2, 0, 1, 0, MCA_TOKEN_REVOKED, 0},
    {"revoked and expired", 1, 0, 1, TTL, MCA_TOKEN_REVOKED, 0},
    {"revoked and used up", 1, 1, 1, 0, MCA_TOKEN_REVOKED, 0},
    {"used up and expired", 1, 1, 0, TTL, MCA_TOKEN_EXPIRED, 0},
};

/*
 * The state check reports, which consume reports too (and takes a use
 * only when OK); a wrong secret is BAD_SECRET whatever the state.
 */
START_TEST(test_check_states)
{
	struct mca_token t;
	struct mca_error err = {0};
	char id[MCA_TOKEN_ID_LEN + 1], *secret = mint(state_tab[_i].uses, TTL, id), *bad;
	unsigned char key[32];
	int i;

	for (i = 0; i < state_tab[_i].take; i++)
		ck_assert_int_eq(consume(id), MCA_TOKEN_OK);
	if (state_tab[_i].revoked)
		revoke(id);
	mca_time_set_fake(T0 + state_tab[_i].at);

	ck_assert_msg(mca_token_check(store, secret, &t, &err) == state_tab[_i].want, "%s: %d",
	              state_tab[_i].what, mca_token_check(store, secret, &t, &err));
	if (state_tab[_i].want == MCA_TOKEN_OK) {
		ck_assert_str_eq(t.id, id);
		ck_assert_str_eq(t.profile, "client");
		ck_assert_str_eq(t.names[0], "dns:a.example.com");
		ck_assert_ptr_null(t.names[1]);
		ck_assert_int_eq(t.uses_left, state_tab[_i].left);
		ck_assert_int_eq(t.uses_total, state_tab[_i].uses);
		mca_token_clear(&t);
	} else {
		ck_assert_ptr_null(t.profile);
	}

	key_of(secret, key);
	key[31] ^= 0x80;
	bad = with_key(secret, key);
	ck_assert_int_eq(check(bad), MCA_TOKEN_BAD_SECRET);
	free(bad);

	ck_assert_int_eq(consume(id), state_tab[_i].want);
	ck_assert_int_eq(uses_left(id), state_tab[_i].want == MCA_TOKEN_OK
	                                    ? state_tab[_i].left - 1
	                                    : state_tab[_i].uses - state_tab[_i].take);
	free(secret);
}
END_TEST

/* Uses count down one by one to 0, then USED, and stay there. */
START_TEST(test_consume_counts_down)
{
	char id[MCA_TOKEN_ID_LEN + 1], *secret = mint(3, TTL, id);
	int i;

	for (i = 3; i > 0; i--) {
		ck_assert_int_eq(uses_left(id), i);
		ck_assert_int_eq(check(secret), MCA_TOKEN_OK);
		ck_assert_int_eq(consume(id), MCA_TOKEN_OK);
	}
	ck_assert_int_eq(uses_left(id), 0);
	ck_assert_int_eq(consume(id), MCA_TOKEN_USED);
	ck_assert_int_eq(consume(id), MCA_TOKEN_USED);
	ck_assert_int_eq(uses_left(id), 0);
	ck_assert_int_eq(check(secret), MCA_TOKEN_USED);
	free(secret);
}
END_TEST

/* An id that was never minted: the store cannot find it, which consume reports as ERROR. */
START_TEST(test_consume_unknown)
{
	struct mca_error err = {0};

	ck_assert_int_eq(mca_token_consume(store, "0000000000000000", &err), MCA_TOKEN_ERROR);
	ck_assert_int_eq(err.code, MCA_ERR_NOTFOUND);
}
END_TEST

/* Several threads, each on its own connection, race for the uses of one token. */
struct racer {
	const char *id;
	pthread_barrier_t *go;
	int ok, used, other;
};

static void *
race(void *arg)
{
	struct racer *r = arg;
	struct mca_store *st = NULL;
	struct mca_error err = {0};
	enum mca_token_state s;
	int i;

	if (mca_store_open(db, 0, &st, &err) != MCA_OK) {
		r->other = 100;
		pthread_barrier_wait(r->go);
		return NULL;
	}
	pthread_barrier_wait(r->go);
	for (i = 0; i < 3; i++) {
		s = mca_token_consume(st, r->id, &err);
		if (s == MCA_TOKEN_OK)
			r->ok++;
		else if (s == MCA_TOKEN_USED)
			r->used++;
		else
			r->other++;
	}
	mca_store_close(st);
	return NULL;
}

/* A 2-use token: exactly 2 OKs in all, every other attempt USED, uses_left 0. */
START_TEST(test_consume_concurrent)
{
	pthread_barrier_t go;
	pthread_t th[THREADS];
	struct racer r[THREADS];
	char id[MCA_TOKEN_ID_LEN + 1], *secret;
	int i, round, ok;

	for (round = 0; round < 5; round++) {
		secret = mint(2, TTL, id);
		ck_assert_int_eq(pthread_barrier_init(&go, NULL, THREADS), 0);
		for (i = 0; i < THREADS; i++) {
			memset(&r[i], 0, sizeof(r[i]));
			r[i].id = id;
			r[i].go = &go;
			ck_assert_int_eq(pthread_create(&th[i], NULL, race, &r[i]), 0);
		}
		for (ok = 0, i = 0; i < THREADS; i++) {
			pthread_join(th[i], NULL);
			ck_assert_int_eq(r[i].other, 0);
			ck_assert_int_eq(r[i].ok + r[i].used, 3);
			ok += r[i].ok;
		}
		pthread_barrier_destroy(&go);
		ck_assert_int_eq(ok, 2);
		ck_assert_int_eq(uses_left(id), 0);
		ck_assert_int_eq(check(secret), MCA_TOKEN_USED);
		free(secret);
	}
}
END_TEST

/* ---- refund ------------------------------------------------------------------ */

/* A use given back can be taken again; never above uses_total. */
START_TEST(test_refund)
{
	struct mca_error err = {0};
	char id[MCA_TOKEN_ID_LEN + 1], *secret = mint(2, TTL, id);

	ck_assert_int_eq(mca_token_refund(store, id, &err), MCA_OK); /* nothing taken yet */
	ck_assert_int_eq(uses_left(id), 2);
	ck_assert_int_eq(consume(id), MCA_TOKEN_OK);
	ck_assert_int_eq(consume(id), MCA_TOKEN_OK);
	ck_assert_int_eq(check(secret), MCA_TOKEN_USED);
	ck_assert_int_eq(mca_token_refund(store, id, &err), MCA_OK);
	ck_assert_int_eq(uses_left(id), 1);
	ck_assert_int_eq(check(secret), MCA_TOKEN_OK);
	ck_assert_int_eq(mca_token_refund(store, id, &err), MCA_OK);
	ck_assert_int_eq(mca_token_refund(store, id, &err), MCA_OK);
	ck_assert_int_eq(uses_left(id), 2);
	ck_assert_int_eq(consume(id), MCA_TOKEN_OK);
	ck_assert_int_eq(consume(id), MCA_TOKEN_OK);
	ck_assert_int_eq(consume(id), MCA_TOKEN_USED);
	/* a refund does not bring back a revoked token */
	revoke(id);
	ck_assert_int_eq(mca_token_refund(store, id, &err), MCA_OK);
	ck_assert_int_eq(check(secret), MCA_TOKEN_REVOKED);
	ck_assert_int_eq(consume(id), MCA_TOKEN_REVOKED);
	/* nor an unknown id: nothing to give back, and no error */
	ck_assert_int_eq(mca_token_refund(store, "0000000000000000", &err), MCA_OK);
	free(secret);
}
END_TEST

/* ---- revoke ------------------------------------------------------------------ */

static const struct {
	const char *id;
	const char *msg;
} revoke_bad_tab[] = {
    {"0000000000000000", "no live token with id 0000000000000000"},
    {"", "not a token id (16 lower-case hex digits, as token list shows)"},
    {"0123", "not a token id (16 lower-case hex digits, as token list shows)"},
    {"0123456789ABCDEF", "not a token id (16 lower-case hex digits, as token list shows)"},
    {"0123456789abcdef0", "not a token id (16 lower-case hex digits, as token list shows)"},
    {"0123456789abcdeg", "not a token id (16 lower-case hex digits, as token list shows)"},
    /* a whole token pasted: no part of its secret in the message */
    {"mca_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
     "not a token id (16 lower-case hex digits, as token list shows)"},
};

/* Revoked: check and consume say so; a second revoke finds no live token. */
START_TEST(test_revoke)
{
	struct mca_error err = {0};
	char id[MCA_TOKEN_ID_LEN + 1], msg[64], *secret = mint(5, TTL, id);
	char other[MCA_TOKEN_ID_LEN + 1], *secret2 = mint(5, TTL, other);

	ck_assert_int_eq(mca_token_revoke(store, id, "admin:test", &err), MCA_OK);
	ck_assert_int_eq(check(secret), MCA_TOKEN_REVOKED);
	ck_assert_int_eq(consume(id), MCA_TOKEN_REVOKED);
	ck_assert_int_eq(uses_left(id), 5);
	ck_assert_int_eq(check(secret2), MCA_TOKEN_OK); /* only that one */
	ck_assert_int_eq(list(id, NULL).copy.revoked_at, T0);

	ck_assert_int_eq(mca_token_revoke(store, id, "admin:test", &err), MCA_ERR_NOTFOUND);
	snprintf(msg, sizeof(msg), "no live token with id %s", id);
	ck_assert_str_eq(err.msg, msg);
	free(secret);
	free(secret2);
}
END_TEST

START_TEST(test_revoke_refused)
{
	struct mca_error err = {0};

	ck_assert_int_eq(mca_token_revoke(store, revoke_bad_tab[_i].id, "admin:test", &err),
	                 MCA_ERR_NOTFOUND);
	ck_assert_str_eq(err.msg, revoke_bad_tab[_i].msg);
}
END_TEST

/* ---- purge and list (own CA each: they see every token) ----------------------- */

/*
 * Only tokens that expired more than `grace` seconds ago go; the count is
 * reported; live (even revoked) tokens stay.
 */
START_TEST(test_purge)
{
	struct mca_error err = {0};
	char a[MCA_TOKEN_ID_LEN + 1], b[MCA_TOKEN_ID_LEN + 1], c[MCA_TOKEN_ID_LEN + 1],
	    d[MCA_TOKEN_ID_LEN + 1];
	char *sa = mint(1, 10, a), *sb = mint(1, 100, b), *sc = mint(1, 1000, c),
	     *sd = mint(1, 1000, d);
	int n = -1;

	ck_assert_int_eq(list(NULL, NULL).count, 4);
	revoke(d);
	mca_time_set_fake(T0 + 200);
	/* before T0 + 100: a (expired at T0 + 10); b expired exactly 100 s ago: kept */
	ck_assert_int_eq(mca_token_purge(store, 100, &n, &err), MCA_OK);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(list(a, NULL).hits, 0);
	ck_assert_int_eq(list(b, NULL).hits, 1);
	ck_assert_int_eq(check(sa), MCA_TOKEN_UNKNOWN);
	ck_assert_int_eq(check(sb), MCA_TOKEN_EXPIRED);

	ck_assert_int_eq(mca_token_purge(store, 100, &n, &err), MCA_OK);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(mca_token_purge(store, 99, &n, &err), MCA_OK);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(check(sb), MCA_TOKEN_UNKNOWN);

	/* c and d have not expired: no grace removes them */
	ck_assert_int_eq(mca_token_purge(store, 0, &n, &err), MCA_OK);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(list(NULL, NULL).count, 2);
	ck_assert_int_eq(check(sc), MCA_TOKEN_OK);
	ck_assert_int_eq(check(sd), MCA_TOKEN_REVOKED);
	free(sa);
	free(sb);
	free(sc);
	free(sd);
}
END_TEST

struct order {
	char ids[3][MCA_TOKEN_ID_LEN + 1];
	int n;
};

static int
order_one(void *arg, const struct mca_token *t)
{
	struct order *o = arg;

	if (o->n < 3)
		snprintf(o->ids[o->n], sizeof(o->ids[0]), "%s", t->id);
	o->n++;
	return 0;
}

static int
order_stop(void *arg, const struct mca_token *t)
{
	(void)t;
	(*(int *)arg)++;
	return 1;
}

/* Newest first; a callback returning non-zero stops the walk. */
START_TEST(test_list_order)
{
	struct mca_error err = {0};
	struct order o = {0};
	char ids[3][MCA_TOKEN_ID_LEN + 1];
	int i, calls = 0;

	for (i = 0; i < 3; i++) {
		mca_time_set_fake(T0 + i);
		free(mint(1, TTL, ids[i]));
	}
	ck_assert_int_eq(mca_token_list(store, order_one, &o, &err), MCA_OK);
	ck_assert_int_eq(o.n, 3);
	ck_assert_str_eq(o.ids[0], ids[2]);
	ck_assert_str_eq(o.ids[1], ids[1]);
	ck_assert_str_eq(o.ids[2], ids[0]);
	ck_assert_int_eq(mca_token_list(store, order_stop, &calls, &err), MCA_OK);
	ck_assert_int_eq(calls, 1);
}
END_TEST

/* ---- suite ------------------------------------------------------------------- */

static TCase *
tc_new(Suite *s, const char *name)
{
	TCase *tc = tcase_create(name);

	tcase_add_unchecked_fixture(tc, ca_setup, ca_teardown);
	tcase_add_checked_fixture(tc, store_setup, store_teardown);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return tc;
}

static Suite *
token_suite(void)
{
	Suite *s = suite_create("token");
	TCase *tc;

	tc = tc_new(s, "create");
	tcase_add_loop_test(tc, test_create_ok, 0, NELEM(create_ok_tab));
	tcase_add_test(tc, test_create_max_names);
	tcase_add_loop_test(tc, test_create_refused, 0, NELEM(create_bad_tab));
	tcase_add_test(tc, test_only_hash_stored);

	tc = tc_new(s, "check");
	tcase_add_loop_test(tc, test_check_malformed, 0, NELEM(malformed_tab));
	tcase_add_test(tc, test_check_unknown);
	tcase_add_test(tc, test_check_bad_secret_bit);
	tcase_add_test(tc, test_check_bad_secret_hash_prefix);
	tcase_add_test(tc, test_check_bad_secret_spelling);
	tcase_add_loop_test(tc, test_check_states, 0, NELEM(state_tab));

	tc = tc_new(s, "consume");
	tcase_add_test(tc, test_consume_counts_down);
	tcase_add_test(tc, test_consume_unknown);
	tcase_add_test(tc, test_consume_concurrent);
	tcase_add_test(tc, test_refund);
	tcase_add_test(tc, test_revoke);
	tcase_add_loop_test(tc, test_revoke_refused, 0, NELEM(revoke_bad_tab));

	tc = tc_new(s, "purge");
	tcase_add_test(tc, test_purge);

	tc = tc_new(s, "list");
	tcase_add_test(tc, test_list_order);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(token_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
