/*
 * test_dispatch.c - unit tests of mhd/httpd.h without the daemon: the
 * listeners run in-process on 127.0.0.1 port 0 with a test route table and
 * test handlers, driven with libcurl.  Route lookup (exact, prefix, 404,
 * 405 with Allow, HEAD on GET, listener visibility), body checks (JSON
 * parsed once with duplicate keys rejected, Content-Type, the two caps),
 * the begin/end hooks once per request with the right status, and the
 * first of two replies kept; deferred replies (mca_req_defer): resumed
 * from another thread, later or at once, the state freed once, and
 * mca_mhd_free waiting for a request still suspended.
 */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <check.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "mhd/httpd.h"

/* ---- what the hooks and handlers saw ------------------------------------ */

struct seen {
	pthread_mutex_t lock;
	int begins, ends, handled;
	int bad_app;             /* a request whose r->app or r->app_req was wrong */
	unsigned end_status;     /* of the last end hook */
	size_t handled_body_len; /* of the last handler */
	char handled_method[16]; /* of the last handler */
	char end_identity[96];   /* r->identity at the last end hook */
};

static struct seen S = {.lock = PTHREAD_MUTEX_INITIALIZER};
static int app_marker; /* r->app must point here */
static struct mca_mhd *D;
static unsigned http_port, https_port;

static void
handled(struct mca_req *r)
{
	pthread_mutex_lock(&S.lock);
	S.handled++;
	S.handled_body_len = r->body_len;
	snprintf(S.handled_method, sizeof(S.handled_method), "%s", r->method);
	if (r->app != &app_marker || r->app_req != &S)
		S.bad_app++;
	pthread_mutex_unlock(&S.lock);
}

static enum mca_http_result
h_text(struct mca_req *r)
{
	const char *which = r->listener == MCA_LISTENER_HTTPS ? "https" : "http";

	handled(r);
	return mca_reply_bytes(r, 200, "text/plain", which, strlen(which));
}

static enum mca_http_result
h_arg(struct mca_req *r)
{
	handled(r);
	return mca_reply_bytes(r, 200, "text/plain", r->path_arg, strlen(r->path_arg));
}

/* Echo the parsed body. */
static enum mca_http_result
h_json(struct mca_req *r)
{
	handled(r);
	return mca_reply_json(r, 200, json_incref(r->json));
}

/* Raw routes: the body as it came, never parsed. */
static enum mca_http_result
h_raw(struct mca_req *r)
{
	char n[32];

	handled(r);
	if (r->json != NULL)
		return mca_reply_error(r, 500, "internal", "raw body was parsed");
	snprintf(n, sizeof(n), "%zu", r->body_len);
	return mca_reply_bytes(r, 200, "text/plain", n, strlen(n));
}

/* A bug: two replies.  The first must be what the client gets. */
static enum mca_http_result
h_twice(struct mca_req *r)
{
	handled(r);
	mca_reply_bytes(r, 201, "text/plain", "first", 5);
	return mca_reply_error(r, 500, "internal", "second reply");
}

/* ---- deferred replies ---------------------------------------------------- */

static int defer_frees;    /* states freed (under S.lock) */
static long defer_ms = 50; /* how long h_defer's resumer waits */

struct defer_state {
	struct mca_req *r;
	char word[16];
};

static void
defer_free(void *arg)
{
	pthread_mutex_lock(&S.lock);
	defer_frees++;
	pthread_mutex_unlock(&S.lock);
	free(arg);
}

/* The deferred reply: on the MHD thread, after the resume. */
static enum mca_http_result
defer_reply(struct mca_req *r)
{
	struct defer_state *st = r->defer_state;

	return mca_reply_bytes(r, 200, "text/plain", st->word, strlen(st->word));
}

/* Another thread: the work that ends later, then the resume. */
static void *
resumer(void *arg)
{
	struct defer_state *st = arg;
	struct timespec ts = {defer_ms / 1000, (defer_ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
	snprintf(st->word, sizeof(st->word), "later");
	mca_req_resume(st->r);
	return NULL;
}

static enum mca_http_result
h_defer(struct mca_req *r)
{
	struct defer_state *st = calloc(1, sizeof(*st));
	enum mca_http_result res;
	pthread_t t;

	handled(r);
	if (st == NULL)
		return mca_reply_error(r, 500, "internal", "out of memory");
	st->r = r;
	res = mca_req_defer(r, defer_reply, st, defer_free);
	ck_assert_int_eq(pthread_create(&t, NULL, resumer, st), 0);
	pthread_detach(t);
	return res;
}

/* Resumed before the handler returns (the work was quick). */
static enum mca_http_result
h_defer_now(struct mca_req *r)
{
	struct defer_state *st = calloc(1, sizeof(*st));
	enum mca_http_result res;

	handled(r);
	if (st == NULL)
		return mca_reply_error(r, 500, "internal", "out of memory");
	st->r = r;
	snprintf(st->word, sizeof(st->word), "now");
	res = mca_req_defer(r, defer_reply, st, defer_free);
	mca_req_resume(r);
	return res;
}

static const struct mca_route routes[] = {
    {"/exact", "GET", h_text, MCA_ROUTE_PUBLIC},
    {"/exact", "DELETE", h_text, MCA_ROUTE_PUBLIC},
    {"/items/", "GET", h_arg, MCA_ROUTE_PUBLIC | MCA_ROUTE_PREFIX},
    {"/json", "POST", h_json, MCA_ROUTE_PUBLIC | MCA_ROUTE_BODY},
    {"/json", "PUT", h_json, MCA_ROUTE_PUBLIC | MCA_ROUTE_BODY},
    {"/opt", "POST", h_json, MCA_ROUTE_PUBLIC | MCA_ROUTE_BODY | MCA_ROUTE_BODY_OPT},
    {"/raw", "POST", h_raw, MCA_ROUTE_PUBLIC | MCA_ROUTE_RAW},
    {"/twice", "GET", h_twice, MCA_ROUTE_PUBLIC},
    {"/private", "GET", h_text, 0},
    {"/private", "POST", h_json, MCA_ROUTE_BODY},
    {"/defer", "GET", h_defer, MCA_ROUTE_PUBLIC},
    {"/defer-now", "POST", h_defer_now, MCA_ROUTE_PUBLIC | MCA_ROUTE_BODY},
    {NULL, NULL, NULL, 0},
};

/* Begin: mark the request; "X-Reject: 1" is answered here, before routing. */
static enum mca_http_result
t_begin(struct mca_req *r)
{
	const char *rej = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Reject");

	pthread_mutex_lock(&S.lock);
	S.begins++;
	if (r->app != &app_marker || r->app_req != NULL || r->path == NULL)
		S.bad_app++;
	pthread_mutex_unlock(&S.lock);
	r->app_req = &S;
	snprintf(r->identity, sizeof(r->identity), "tester");
	if (rej != NULL && strcmp(rej, "fail") == 0)
		return MCA_HTTP_FAIL;
	if (rej != NULL)
		return mca_reply_error(r, 403, "forbidden", "rejected by the begin hook");
	return MCA_HTTP_QUEUED;
}

static void
t_end(struct mca_req *r, unsigned status, double secs)
{
	pthread_mutex_lock(&S.lock);
	S.ends++;
	S.end_status = status;
	snprintf(S.end_identity, sizeof(S.end_identity), "%s", r->identity);
	if (r->app != &app_marker || r->app_req != &S || status != r->status || secs < 0)
		S.bad_app++;
	pthread_mutex_unlock(&S.lock);
	r->app_req = NULL;
}

/* Wait (at most 5 s) until `n` requests have ended: completion follows the reply. */
static void
wait_ends(int n)
{
	int i, ends = 0;
	struct timespec ts = {0, 5 * 1000 * 1000};

	for (i = 0; i < 1000; i++) {
		pthread_mutex_lock(&S.lock);
		ends = S.ends;
		pthread_mutex_unlock(&S.lock);
		if (ends >= n)
			break;
		nanosleep(&ts, NULL);
	}
	ck_assert_int_eq(ends, n);
}

/* A throwaway self-signed P-256 certificate and key, as PEM, for the HTTPS listener. */
static void
make_tls(char **cert_pem, char **key_pem)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	BIO *cb = BIO_new(BIO_s_mem()), *kb = BIO_new(BIO_s_mem());
	char *p;
	long n;

	ck_assert(k != NULL && x != NULL && cb != NULL && kb != NULL);
	ck_assert_int_eq(X509_set_version(x, 2), 1);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	                           (const unsigned char *)"127.0.0.1", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_set_pubkey(x, k);
	ck_assert_int_gt(X509_sign(x, k, EVP_sha256()), 0);
	ck_assert_int_eq(PEM_write_bio_X509(cb, x), 1);
	ck_assert_int_eq(PEM_write_bio_PrivateKey(kb, k, NULL, NULL, 0, NULL, NULL), 1);
	n = BIO_get_mem_data(cb, &p);
	*cert_pem = strndup(p, (size_t)n);
	n = BIO_get_mem_data(kb, &p);
	*key_pem = strndup(p, (size_t)n);
	ck_assert(*cert_pem != NULL && *key_pem != NULL);
	BIO_free(cb);
	BIO_free(kb);
	X509_free(x);
	EVP_PKEY_free(k);
}

static char *cert_pem, *key_pem;

static void
start(int with_https)
{
	struct mca_mhd_config cfg = {0};
	struct mca_error err = {0};

	memset(&S, 0, sizeof(S));
	pthread_mutex_init(&S.lock, NULL);
	ck_assert_int_eq(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
	cfg.routes = routes;
	cfg.http.name = "http_listen";
	cfg.http.host = "127.0.0.1";
	if (with_https) {
		make_tls(&cert_pem, &key_pem);
		cfg.https.name = "listen";
		cfg.https.host = "127.0.0.1";
		cfg.cert_pem = cert_pem;
		cfg.key_pem = key_pem;
	}
	cfg.threads = 2;
	cfg.max_connections = 32;
	cfg.connection_timeout = 10;
	cfg.hooks.begin = t_begin;
	cfg.hooks.end = t_end;
	cfg.app = &app_marker;
	ck_assert_msg(mca_mhd_bind(&cfg, &D, &err) == MCA_OK, "bind: %s", err.msg);
	http_port = mca_mhd_port(D, MCA_LISTENER_HTTP);
	https_port = mca_mhd_port(D, MCA_LISTENER_HTTPS);
	ck_assert_uint_ne(http_port, 0);
	ck_assert_uint_eq(https_port != 0, with_https != 0);
	ck_assert_msg(mca_mhd_start(D, &err) == MCA_OK, "start: %s", err.msg);
}

static void
setup_http(void)
{
	start(0);
}

static void
setup_https(void)
{
	start(1);
}

static void
teardown(void)
{
	mca_mhd_free(D);
	D = NULL;
	free(cert_pem);
	free(key_pem);
	cert_pem = key_pem = NULL;
	curl_global_cleanup();
}

/* ---- a client ------------------------------------------------------------ */

struct resp {
	CURLcode cc;
	long status;
	char body[8192];
	size_t len;
	char allow[128];
	char ctype[128];
};

static size_t
on_body(char *p, size_t sz, size_t nm, void *arg)
{
	struct resp *rs = arg;
	size_t n = sz * nm, room = sizeof(rs->body) - 1 - rs->len;

	memcpy(rs->body + rs->len, p, n < room ? n : room);
	rs->len += n < room ? n : room;
	rs->body[rs->len] = '\0';
	return n;
}

static void
header_value(const char *line, size_t n, const char *name, char *out, size_t outlen)
{
	size_t k = strlen(name);

	if (n <= k || strncasecmp(line, name, k) != 0)
		return;
	line += k;
	n -= k;
	while (n > 0 && line[0] == ' ')
		line++, n--;
	while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == '\n'))
		n--;
	snprintf(out, outlen, "%.*s", (int)n, line);
}

static size_t
on_header(char *p, size_t sz, size_t nm, void *arg)
{
	struct resp *rs = arg;

	header_value(p, sz * nm, "Allow:", rs->allow, sizeof(rs->allow));
	header_value(p, sz * nm, "Content-Type:", rs->ctype, sizeof(rs->ctype));
	return sz * nm;
}

/* A chunked upload of `left` bytes of 'x'. */
static size_t
on_read(char *p, size_t sz, size_t nm, void *arg)
{
	size_t *left = arg, n = sz * nm < *left ? sz * nm : *left;

	memset(p, 'x', n);
	*left -= n;
	return n;
}

struct call {
	const char *method;
	const char *path;
	const char *ctype;  /* NULL: no Content-Type */
	const char *body;   /* NULL: no body (unless `size`) */
	size_t size;        /* a body of this many 'x' instead */
	int chunked;        /* send `size` bytes chunked, without Content-Length */
	int expect;         /* announce with "Expect: 100-continue" */
	const char *header; /* one more request header */
	int https;
};

static void
do_call(const struct call *c, struct resp *rs)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hd = NULL;
	char url[256], ct[160], *big = NULL;
	size_t left = c->size;

	ck_assert_ptr_nonnull(h);
	memset(rs, 0, sizeof(*rs));
	snprintf(url, sizeof(url), "%s://127.0.0.1:%u%s", c->https ? "https" : "http",
	         c->https ? https_port : http_port, c->path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, rs);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, rs);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	if (strcmp(c->method, "HEAD") == 0)
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	else if (strcmp(c->method, "GET") != 0)
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, c->method);
	if (c->ctype != NULL) {
		snprintf(ct, sizeof(ct), "Content-Type: %s", c->ctype);
		hd = curl_slist_append(hd, ct);
	} else if (c->body != NULL || c->size > 0) {
		hd = curl_slist_append(hd, "Content-Type:"); /* none at all */
	}
	hd = curl_slist_append(hd, c->expect ? "Expect: 100-continue" : "Expect:");
	if (c->header != NULL)
		hd = curl_slist_append(hd, c->header);
	if (c->chunked) {
		hd = curl_slist_append(hd, "Transfer-Encoding: chunked");
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(h, CURLOPT_READDATA, &left);
	} else if (c->body != NULL) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(c->body));
	} else if (c->size > 0) {
		big = malloc(c->size);
		ck_assert_ptr_nonnull(big);
		memset(big, 'x', c->size);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, big);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)c->size);
	}
	if (c->body != NULL || c->size > 0 || c->chunked)
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, c->method);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
	rs->cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &rs->status);
	curl_slist_free_all(hd);
	curl_easy_cleanup(h);
	free(big);
}

/* The {"error": code, ...} of an error reply. */
static void
assert_error(const struct resp *rs, const char *code, const char *in_message)
{
	json_error_t je;
	json_t *j = json_loads(rs->body, 0, &je);
	const char *e = NULL, *m = NULL;

	ck_assert_msg(j != NULL, "error body is JSON: %s", rs->body);
	ck_assert_str_eq(rs->ctype, "application/json");
	ck_assert_int_eq(json_unpack(j, "{s:s, s:s}", "error", &e, "message", &m), 0);
	ck_assert_str_eq(e, code);
	if (in_message != NULL)
		ck_assert_msg(strstr(m, in_message) != NULL, "message '%s' names '%s'", m,
		              in_message);
	json_decref(j);
}

/* ---- route lookup alone ---------------------------------------------------- */

START_TEST(test_route_find)
{
	static const struct {
		enum mca_listener l;
		const char *path, *method;
		int route;         /* index in routes[], -1: none */
		const char *arg;   /* expected path_arg */
		const char *allow; /* when none */
	} cases[] = {
	    {MCA_LISTENER_HTTP, "/exact", "GET", 0, NULL, ""},
	    {MCA_LISTENER_HTTP, "/exact", "DELETE", 1, NULL, ""},
	    {MCA_LISTENER_HTTP, "/exact", "HEAD", 0, NULL, ""},
	    {MCA_LISTENER_HTTP, "/exact", "POST", -1, NULL, "GET, DELETE"},
	    {MCA_LISTENER_HTTP, "/exact/", "GET", -1, NULL, ""},
	    {MCA_LISTENER_HTTP, "/exac", "GET", -1, NULL, ""},
	    {MCA_LISTENER_HTTP, "/EXACT", "GET", -1, NULL, ""},
	    {MCA_LISTENER_HTTP, "/items/abc", "GET", 2, "abc", ""},
	    {MCA_LISTENER_HTTP, "/items/a/b", "HEAD", 2, "a/b", ""},
	    {MCA_LISTENER_HTTP, "/items/", "GET", -1, NULL, ""}, /* empty rest */
	    {MCA_LISTENER_HTTP, "/items", "GET", -1, NULL, ""},
	    {MCA_LISTENER_HTTP, "/items/x", "POST", -1, NULL, "GET"},
	    {MCA_LISTENER_HTTP, "/json", "GET", -1, NULL, "POST, PUT"},
	    {MCA_LISTENER_HTTP, "/json", "HEAD", -1, NULL, "POST, PUT"},
	    {MCA_LISTENER_HTTP, "/json", "PUT", 4, NULL, ""},
	    {MCA_LISTENER_HTTP, "/private", "GET", -1, NULL, ""}, /* not public */
	    {MCA_LISTENER_HTTP, "/private", "POST", -1, NULL, ""},
	    {MCA_LISTENER_HTTPS, "/private", "GET", 8, NULL, ""},
	    {MCA_LISTENER_HTTPS, "/private", "DELETE", -1, NULL, "GET, POST"},
	    {MCA_LISTENER_HTTPS, "/exact", "PATCH", -1, NULL, "GET, DELETE"},
	    {MCA_LISTENER_HTTPS, "", "GET", -1, NULL, ""},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char allow[64] = "junk";
		const char *arg = "junk";
		const struct mca_route *rt = mca_mhd_route_find(
		    routes, cases[i].l, cases[i].path, cases[i].method, &arg, allow, sizeof(allow));

		ck_assert_msg(rt == (cases[i].route < 0 ? NULL : &routes[cases[i].route]),
		              "case %zu (%s %s): route %td", i, cases[i].method, cases[i].path,
		              rt ? rt - routes : -1);
		if (cases[i].arg == NULL)
			ck_assert_msg(arg == NULL, "case %zu: no path_arg", i);
		else
			ck_assert_str_eq(arg, cases[i].arg);
		if (rt == NULL)
			ck_assert_msg(strcmp(allow, cases[i].allow) == 0, "case %zu: allow '%s'", i,
			              allow);
	}
}
END_TEST

/* ---- over the wire --------------------------------------------------------- */

struct wire_case {
	struct call call;
	long status;
	const char *body;    /* exact reply body (2xx) */
	const char *error;   /* error code of an error reply */
	const char *message; /* in its message */
	const char *allow;   /* Allow header, 405 */
	int handled;         /* the handler ran */
};

#define GET(p)             .method = "GET", .path = (p)
#define POST(p, ct, b)     .method = "POST", .path = (p), .ctype = (ct), .body = (b)
#define BIG(p, ct, n)      .method = "POST", .path = (p), .ctype = (ct), .size = (n)
#define OK(b)              .status = 200, .body = (b), .handled = 1
#define ERR(st, code, msg) .status = (st), .error = (code), .message = (msg)

static const struct wire_case wire_cases[] = {
    {.call = {GET("/exact")}, OK("http")},
    {.call = {.method = "DELETE", .path = "/exact"}, OK("http")},
    {.call = {GET("/items/abc%2Fd")}, OK("abc/d")},
    {.call = {GET("/nope")}, ERR(404, "not_found", "/nope")},
    {.call = {GET("/items/")}, ERR(404, "not_found", NULL)},
    {.call = {GET("/private")}, ERR(404, "not_found", NULL)}, /* HTTPS only */
    {.call = {POST("/exact", NULL, "{}")},
     ERR(405, "method_not_allowed", "GET, DELETE"),
     .allow = "GET, DELETE"},
    {.call = {GET("/json")}, ERR(405, "method_not_allowed", NULL), .allow = "POST, PUT"},
    {.call = {POST("/json", "application/json", "{\"a\":1}")}, OK("{\"a\":1}")},
    {.call = {.method = "PUT",
              .path = "/json",
              .ctype = "application/json; charset=utf-8",
              .body = "{\"b\":[]}"},
     OK("{\"b\":[]}")},
    {.call = {POST("/json", "APPLICATION/JSON", "{}")}, OK("{}")},
    /* Parsed once, duplicate keys rejected at any depth, the problem named. */
    {.call = {POST("/json", "application/json", "{\"a\":1,\"a\":2}")},
     ERR(400, "bad_request", "duplicate")},
    {.call = {POST("/json", "application/json", "{\"a\":{\"b\":1,\"b\":1}}")},
     ERR(400, "bad_request", "duplicate")},
    {.call = {POST("/json", "application/json", "[1]")},
     ERR(400, "bad_request", "expected a JSON object")},
    {.call = {POST("/json", "application/json", "{\"a\":")},
     ERR(400, "bad_request", "request body")},
    {.call = {POST("/json", "application/json", "")}, ERR(400, "bad_request", NULL)},
    {.call = {POST("/json", "text/plain", "{}")}, ERR(415, "unsupported_media_type", NULL)},
    {.call = {POST("/json", "application/jsonx", "{}")}, ERR(415, "unsupported_media_type", NULL)},
    {.call = {POST("/json", NULL, "{}")}, ERR(415, "unsupported_media_type", NULL)},
    {.call = {POST("/opt", NULL, NULL)}, OK("{}")},
    {.call = {POST("/opt", "application/json", "{\"c\":true}")}, OK("{\"c\":true}")},
    {.call = {POST("/opt", "text/plain", "x")}, ERR(415, "unsupported_media_type", NULL)},
    {.call = {POST("/raw", "application/x-anything", "not json")}, OK("8")},
    /* Exactly at the cap: accepted, with and without Content-Length. */
    {.call = {BIG("/raw", NULL, MCA_HTTP_BODY_MAX)}, OK("65536")},
    {.call = {BIG("/raw", NULL, MCA_HTTP_BODY_MAX), .chunked = 1}, OK("65536")},
    /* Over the cap with Content-Length: read and dropped, then 413. */
    {.call = {BIG("/raw", NULL, MCA_HTTP_BODY_MAX + 1)}, ERR(413, "payload_too_large", "65536")},
    {.call = {BIG("/json", "application/json", 1024 * 1024)}, ERR(413, "payload_too_large", NULL)},
    {.call = {BIG("/json", "application/json", 1024 * 1024), .expect = 1},
     ERR(413, "payload_too_large", NULL)},
    /* Chunked over the cap: noticed as it arrives, dropped, then 413. */
    {.call = {BIG("/raw", NULL, MCA_HTTP_BODY_MAX + 1), .chunked = 1},
     ERR(413, "payload_too_large", NULL)},
    {.call = {BIG("/json", "application/json", MCA_HTTP_DISCARD_MAX - 4096), .chunked = 1},
     ERR(413, "payload_too_large", NULL)},
    /* Announced over the discard cap: 413 from the headers, the body never read. */
    {.call = {BIG("/raw", NULL, MCA_HTTP_DISCARD_MAX + 1), .expect = 1},
     ERR(413, "payload_too_large", NULL)},
    /* The begin hook answers before routing, even on a path that does not exist. */
    {.call = {GET("/nope"), .header = "X-Reject: 1"}, ERR(403, "forbidden", "begin hook")},
    {.call = {GET("/exact"), .header = "X-Reject: 1"}, ERR(403, "forbidden", NULL)},
};

#undef GET
#undef POST
#undef BIG
#undef OK
#undef ERR

START_TEST(test_wire)
{
	const struct wire_case *w = &wire_cases[_i];
	struct resp rs;

	do_call(&w->call, &rs);
	ck_assert_msg(rs.cc == CURLE_OK, "case %d: %s", _i, curl_easy_strerror(rs.cc));
	ck_assert_msg(rs.status == w->status, "case %d (%s %s): status %ld, body %s", _i,
	              w->call.method, w->call.path, rs.status, rs.body);
	if (w->body != NULL)
		ck_assert_str_eq(rs.body, w->body);
	if (w->error != NULL)
		assert_error(&rs, w->error, w->message);
	if (w->allow != NULL)
		ck_assert_str_eq(rs.allow, w->allow);
	else
		ck_assert_str_eq(rs.allow, "");
	wait_ends(1);
	pthread_mutex_lock(&S.lock);
	ck_assert_int_eq(S.begins, 1);
	ck_assert_int_eq(S.ends, 1);
	ck_assert_uint_eq(S.end_status, (unsigned)w->status);
	ck_assert_int_eq(S.handled, w->handled);
	ck_assert_int_eq(S.bad_app, 0);
	ck_assert_str_eq(S.end_identity, "tester");
	pthread_mutex_unlock(&S.lock);
}
END_TEST

START_TEST(test_head_on_get)
{
	const struct call c = {.method = "HEAD", .path = "/exact"};
	struct resp rs;

	do_call(&c, &rs);
	ck_assert_int_eq(rs.cc, CURLE_OK);
	ck_assert_int_eq(rs.status, 200);
	ck_assert_uint_eq(rs.len, 0);
	ck_assert_str_eq(rs.ctype, "text/plain");
	wait_ends(1);
	ck_assert_int_eq(S.handled, 1);
	ck_assert_str_eq(S.handled_method, "HEAD"); /* the handler sees the real method */
	ck_assert_uint_eq(S.end_status, 200);
}
END_TEST

START_TEST(test_second_reply_ignored)
{
	const struct call c = {.method = "GET", .path = "/twice"};
	struct resp rs;

	do_call(&c, &rs);
	ck_assert_int_eq(rs.cc, CURLE_OK);
	ck_assert_int_eq(rs.status, 201);
	ck_assert_str_eq(rs.body, "first");
	wait_ends(1);
	ck_assert_int_eq(S.handled, 1);
	ck_assert_uint_eq(S.end_status, 201);
}
END_TEST

/*
 * Chunked past MCA_HTTP_DISCARD_MAX: nothing can be queued mid-upload, so
 * the connection is closed; the handler never runs, the end hook sees no
 * status.
 */
START_TEST(test_discard_max_closes)
{
	const struct call c = {.method = "POST",
	                       .path = "/raw",
	                       .size = MCA_HTTP_DISCARD_MAX + 64 * 1024,
	                       .chunked = 1};
	struct resp rs;

	do_call(&c, &rs);
	ck_assert_msg(rs.cc != CURLE_OK, "the upload was cut off (status %ld)", rs.status);
	ck_assert_int_eq(rs.status, 0);
	wait_ends(1);
	ck_assert_int_eq(S.begins, 1);
	ck_assert_int_eq(S.handled, 0);
	ck_assert_uint_eq(S.end_status, 0);
}
END_TEST

START_TEST(test_begin_fail_closes)
{
	const struct call c = {.method = "GET", .path = "/exact", .header = "X-Reject: fail"};
	struct resp rs;

	do_call(&c, &rs);
	ck_assert_int_ne(rs.cc, CURLE_OK);
	ck_assert_int_eq(rs.status, 0);
	wait_ends(1);
	ck_assert_int_eq(S.handled, 0);
	ck_assert_uint_eq(S.end_status, 0);
}
END_TEST

/* Several requests, in sequence: begin and end exactly once each. */
START_TEST(test_hooks_once_each)
{
	const struct call cs[] = {
	    {.method = "GET", .path = "/exact"},
	    {.method = "GET", .path = "/nope"},
	    {.method = "POST",
	     .path = "/json",
	     .ctype = "application/json",
	     .body = "{\"a\":1,\"a\":1}"},
	    {.method = "GET", .path = "/items/z"},
	    {.method = "DELETE", .path = "/json"},
	};
	const unsigned want[] = {200, 404, 400, 200, 405};
	struct resp rs;
	size_t i;

	for (i = 0; i < sizeof(cs) / sizeof(cs[0]); i++) {
		do_call(&cs[i], &rs);
		ck_assert_int_eq(rs.status, want[i]);
		wait_ends((int)i + 1);
		ck_assert_int_eq(S.begins, (int)i + 1);
		ck_assert_uint_eq(S.end_status, want[i]);
	}
	ck_assert_int_eq(S.handled, 2);
	ck_assert_int_eq(S.bad_app, 0);
}
END_TEST

/* Deferred replies arrive whole; each state is freed once, after its reply. */
START_TEST(test_deferred)
{
	const struct call cs[] = {
	    {.method = "GET", .path = "/defer"},
	    {.method = "POST", .path = "/defer-now", .ctype = "application/json", .body = "{}"},
	    {.method = "GET", .path = "/defer"},
	};
	const char *want[] = {"later", "now", "later"};
	struct resp rs;
	size_t i;

	defer_frees = 0;
	defer_ms = 50;
	for (i = 0; i < sizeof(cs) / sizeof(cs[0]); i++) {
		do_call(&cs[i], &rs);
		ck_assert_msg(rs.cc == CURLE_OK, "%s", curl_easy_strerror(rs.cc));
		ck_assert_int_eq(rs.status, 200);
		ck_assert_str_eq(rs.body, want[i]);
		wait_ends((int)i + 1);
		pthread_mutex_lock(&S.lock);
		ck_assert_int_eq(defer_frees, (int)i + 1);
		ck_assert_uint_eq(S.end_status, 200);
		pthread_mutex_unlock(&S.lock);
	}
	ck_assert_int_eq(S.handled, 3);
	ck_assert_int_eq(S.bad_app, 0);
}
END_TEST

struct bg_call {
	const struct call *c;
	struct resp rs;
};

static void *
bg_call_main(void *arg)
{
	struct bg_call *b = arg;

	do_call(b->c, &b->rs);
	return NULL;
}

/*
 * mca_mhd_free while a request is suspended: libmicrohttpd would abort the
 * process; the drain waits for the resume, and the client gets its reply.
 */
START_TEST(test_free_waits_for_deferred)
{
	const struct call c = {.method = "GET", .path = "/defer"};
	struct bg_call b = {.c = &c};
	struct timespec ts = {0, 100 * 1000 * 1000};
	pthread_t t;
	int handled_now = 0, i;

	defer_frees = 0;
	defer_ms = 400;
	ck_assert_int_eq(pthread_create(&t, NULL, bg_call_main, &b), 0);
	for (i = 0; i < 100 && !handled_now; i++) {
		nanosleep(&ts, NULL);
		pthread_mutex_lock(&S.lock);
		handled_now = S.handled;
		pthread_mutex_unlock(&S.lock);
	}
	ck_assert_int_eq(handled_now, 1); /* suspended now, resumed in about 400 ms */
	mca_mhd_free(D);
	D = NULL;
	pthread_mutex_lock(&S.lock);
	ck_assert_int_eq(defer_frees, 1); /* completed before the daemon stopped */
	ck_assert_int_eq(S.ends, 1);
	pthread_mutex_unlock(&S.lock);
	pthread_join(t, NULL);
	ck_assert_msg(b.rs.cc == CURLE_OK, "%s", curl_easy_strerror(b.rs.cc));
	ck_assert_int_eq(b.rs.status, 200);
	ck_assert_str_eq(b.rs.body, "later");
	defer_ms = 50;
}
END_TEST

/* HTTPS serves the non-public routes too; plain HTTP does not. */
START_TEST(test_https_listener)
{
	const struct call on_https = {.method = "GET", .path = "/private", .https = 1};
	const struct call on_http = {.method = "GET", .path = "/private"};
	const struct call exact = {.method = "GET", .path = "/exact", .https = 1};
	struct resp rs;

	do_call(&on_https, &rs);
	ck_assert_msg(rs.cc == CURLE_OK, "%s", curl_easy_strerror(rs.cc));
	ck_assert_int_eq(rs.status, 200);
	ck_assert_str_eq(rs.body, "https");
	do_call(&on_http, &rs);
	ck_assert_int_eq(rs.status, 404);
	do_call(&exact, &rs);
	ck_assert_int_eq(rs.status, 200);
	ck_assert_str_eq(rs.body, "https");
	wait_ends(3);
	ck_assert_int_eq(S.handled, 2);
}
END_TEST

START_TEST(test_bind_errors)
{
	struct mca_mhd_config cfg = {0};
	struct mca_mhd *d = NULL, *d2 = NULL;
	struct mca_error err = {0};

	cfg.routes = routes;
	cfg.http.name = "http_listen";
	cfg.http.host = "no.such.host.invalid";
	ck_assert_int_ne(mca_mhd_bind(&cfg, &d, &err), MCA_OK);
	ck_assert_ptr_null(d);
	ck_assert_msg(strstr(err.msg, "http_listen no.such.host.invalid:0") == err.msg, "%s",
	              err.msg);
	/* A port in use: the error names the address. */
	cfg.http.host = "127.0.0.1";
	ck_assert_int_eq(mca_mhd_bind(&cfg, &d, &err), MCA_OK);
	cfg.http.port = mca_mhd_port(d, MCA_LISTENER_HTTP);
	ck_assert_uint_eq(mca_mhd_port(d, MCA_LISTENER_HTTPS), 0);
	ck_assert_int_ne(mca_mhd_bind(&cfg, &d2, &err), MCA_OK);
	ck_assert_ptr_null(d2);
	ck_assert_msg(strstr(err.msg, "Address already in use") != NULL, "%s", err.msg);
	mca_mhd_free(d);
	mca_mhd_free(NULL);
}
END_TEST

static Suite *
dispatch_suite(void)
{
	Suite *s = suite_create("mhd_dispatch");
	TCase *tc = tcase_create("routes");
	TCase *wire = tcase_create("wire");
	TCase *tls = tcase_create("https");

	tcase_add_test(tc, test_route_find);
	tcase_add_test(tc, test_bind_errors);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(wire, setup_http, teardown);
	tcase_set_timeout(wire, 30);
	tcase_add_loop_test(wire, test_wire, 0, (int)(sizeof(wire_cases) / sizeof(wire_cases[0])));
	tcase_add_test(wire, test_head_on_get);
	tcase_add_test(wire, test_second_reply_ignored);
	tcase_add_test(wire, test_discard_max_closes);
	tcase_add_test(wire, test_begin_fail_closes);
	tcase_add_test(wire, test_hooks_once_each);
	tcase_add_test(wire, test_deferred);
	tcase_add_test(wire, test_free_waits_for_deferred);
	suite_add_tcase(s, wire);
	tcase_add_checked_fixture(tls, setup_https, teardown);
	tcase_set_timeout(tls, 30);
	tcase_add_test(tls, test_https_listener);
	suite_add_tcase(s, tls);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(dispatch_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
