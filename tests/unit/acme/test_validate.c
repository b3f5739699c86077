/*
 * test_validate.c - unit tests of validate.h: http-01 against a small HTTP
 * server on a loopback port (a thread of the test), dns-01 against
 * tests/integration/fakedns run as a child process.  Nothing leaves the loopback
 * interface: "test.example" is mapped to 127.0.0.1 through cfg.hosts.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <openssl/evp.h>

#include "acme/validate.h"
#include "policy/profile.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define KEYAUTH                                                                                    \
	"evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI"
#define CHAL     "/.well-known/acme-challenge/"
#define BIG_BODY (1024 * 1024)
#define TOKEN_128                                                                                  \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"                         \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* ---- a canned-response HTTP server --------------------------------------- */

static struct {
	int fd;
	unsigned port;
	pthread_t thread;
	int running;
	int stop;  /* accessed with __atomic builtins */
	int conns; /* connections accepted, likewise */
	pthread_mutex_t lock;
	char last_request[2048]; /* under lock */
} srv = {.fd = -1, .lock = PTHREAD_MUTEX_INITIALIZER};

/* Send all of buf; 0 once the peer is gone. */
static int
send_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	ssize_t w;

	while (n > 0) {
		w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return 0;
		p += w;
		n -= (size_t)w;
	}
	return 1;
}

/* One complete response: status line, optional Location, Connection: close, body. */
static void
respond(int c, int status, const char *location, const char *body)
{
	char head[1024];

	snprintf(head, sizeof(head),
	         "HTTP/1.1 %d X\r\n%s%s%sContent-Length: %zu\r\nConnection: close\r\n\r\n", status,
	         location ? "Location: " : "", location ? location : "", location ? "\r\n" : "",
	         strlen(body));
	if (send_all(c, head, strlen(head)))
		send_all(c, body, strlen(body));
}

/* 200 with a body of `n` octets that may hold NULs. */
static void
respond_n(int c, const char *body, size_t n)
{
	char head[128];

	snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", n);
	if (send_all(c, head, strlen(head)))
		send_all(c, body, n);
}

/* 200 with a 1 MiB body, sent until the client hangs up. */
static void
respond_big(int c)
{
	static char chunk[16384];
	char head[128];
	size_t sent;

	memset(chunk, 'a', sizeof(chunk));
	snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", BIG_BODY);
	if (!send_all(c, head, strlen(head)))
		return;
	for (sent = 0; sent < BIG_BODY; sent += sizeof(chunk))
		if (!send_all(c, chunk, sizeof(chunk)))
			return;
}

/* The canned answer for `path` (tokens name the behaviour under test). */
static void
route(int c, const char *path)
{
	const char *tok = strncmp(path, CHAL, strlen(CHAL)) == 0 ? path + strlen(CHAL) : "";
	struct pollfd p = {c, POLLIN, 0};
	char loc[640], buf[64];
	int hop;

	if (strcmp(tok, "ok") == 0 || strcmp(path, "/elsewhere/ok") == 0)
		respond(c, 200, NULL, KEYAUTH "\n");
	else if (strcmp(tok, "spaces") == 0)
		respond(c, 200, NULL, KEYAUTH " \t\r\n \r\n");
	else if (strcmp(tok, "leading") == 0)
		respond(c, 200, NULL, " " KEYAUTH);
	else if (strcmp(tok, "prefix") == 0)
		respond(c, 200, NULL, KEYAUTH "x\n");
	else if (strcmp(tok, "wrong") == 0)
		respond(c, 200, NULL, "not-the-key-authorization\n");
	else if (strcmp(tok, "nul") == 0) /* only whitespace may follow, not a NUL */
		respond_n(c, KEYAUTH, sizeof(KEYAUTH));
	else if (strcmp(tok, "empty") == 0)
		respond(c, 200, NULL, "");
	else if (strcmp(tok, "error") == 0)
		respond(c, 500, NULL, KEYAUTH);
	else if (strcmp(tok, "redir") == 0) /* another path of the same server */
		respond(c, 302, "/elsewhere/ok", "");
	else if (strcmp(tok, "again") == 0 || strcmp(tok, "thrice") == 0 ||
	         strcmp(tok, "four") == 0) {
		/* The same path again (relative, absolute) until the Nth request. */
		hop = __atomic_load_n(&srv.conns, __ATOMIC_SEQ_CST);
		if (hop == 2)
			snprintf(loc, sizeof(loc), "http://test.example:%u" CHAL "%s", srv.port,
			         tok);
		else
			snprintf(loc, sizeof(loc), CHAL "%s", tok);
		if (hop <= (tok[0] == 'a' ? 1 : tok[0] == 't' ? 3 : 4))
			respond(c, 302, loc, "");
		else
			respond(c, 200, NULL, KEYAUTH);
	} else if (strcmp(tok, "query") == 0) /* the same path, and a query */
		respond(c, 302, CHAL "ok?x=1", "");
	else if (strcmp(tok, "othertoken") == 0) /* another challenge's path */
		respond(c, 302, CHAL "ok", "");
	else if (strcmp(tok, "slow") ==
	         0) { /* every answer takes 600 ms: a deadline for all hops */
		poll(NULL, 0, 600);
		respond(c, 302, CHAL "slow", "");
	} else if (strcmp(tok, "loop") == 0)
		respond(c, 302, CHAL "loop", "");
	else if (strcmp(tok, "otherhost") == 0) /* SSRF: to another host of the network */
		respond(c, 302, "http://127.0.0.1/latest/meta-data/", "");
	else if (strcmp(tok, "otherport") == 0) /* the same name, another port */
		respond(c, 302, "http://test.example:8443" CHAL "otherport", "");
	else if (strcmp(tok, "ftp") == 0 || strcmp(tok, "https") == 0) {
		snprintf(loc, sizeof(loc), "%.5s://test.example:%u" CHAL "%s", tok, srv.port, tok);
		respond(c, 302, loc, "");
	} else if (strcmp(tok, "file") == 0)
		respond(c, 302, "file:///etc/passwd", "");
	else if (strcmp(tok, "big") == 0)
		respond_big(c);
	else if (strcmp(tok, "hang") == 0)
		/* Never answer; wait until the client gives up and closes. */
		while (poll(&p, 1, 5000) == 1 && recv(c, buf, sizeof(buf), 0) > 0)
			;
	else
		respond(c, 404, NULL, "not found\n");
}

/* Read one request head, remember it, answer it. */
static void
serve(int c)
{
	struct timeval tv = {5, 0};
	char req[2048], path[512];
	size_t n = 0;
	ssize_t r;

	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (n < sizeof(req) - 1) {
		r = recv(c, req + n, sizeof(req) - 1 - n, 0);
		if (r <= 0)
			return;
		n += (size_t)r;
		req[n] = '\0';
		if ((unsigned char)req[0] == 0x16) { /* a TLS ClientHello: answer in clear text */
			respond(c, 400, NULL, "this is not TLS\n");
			return;
		}
		if (strstr(req, "\r\n\r\n") != NULL)
			break;
	}
	pthread_mutex_lock(&srv.lock);
	memcpy(srv.last_request, req, n + 1);
	pthread_mutex_unlock(&srv.lock);
	if (sscanf(req, "GET %511s HTTP/1.1", path) == 1)
		route(c, path);
	else
		respond(c, 400, NULL, "bad request\n");
}

/* Server thread: one connection at a time until told to stop. */
static void *
http_main(void *arg)
{
	struct pollfd p = {srv.fd, POLLIN, 0};
	int c;

	(void)arg;
	while (!__atomic_load_n(&srv.stop, __ATOMIC_SEQ_CST)) {
		if (poll(&p, 1, 100) != 1 || (c = accept(srv.fd, NULL, NULL)) < 0)
			continue;
		__atomic_add_fetch(&srv.conns, 1, __ATOMIC_SEQ_CST);
		serve(c);
		close(c);
	}
	return NULL;
}

/* Listen on the loopback address of `family`, port picked by the kernel; 0 when unavailable. */
static int
http_start(int family)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t len = family == AF_INET ? sizeof(*sin) : sizeof(*sin6);

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = (sa_family_t)family;
	if (family == AF_INET)
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else
		sin6->sin6_addr = in6addr_loopback;
	srv.fd = socket(family, SOCK_STREAM, 0);
	if (srv.fd < 0 || bind(srv.fd, (struct sockaddr *)&ss, len) != 0 ||
	    listen(srv.fd, 16) != 0 || getsockname(srv.fd, (struct sockaddr *)&ss, &len) != 0) {
		if (srv.fd >= 0)
			close(srv.fd);
		srv.fd = -1;
		return 0;
	}
	srv.port = ntohs(family == AF_INET ? sin->sin_port : sin6->sin6_port);
	srv.stop = 0;
	srv.conns = 0;
	ck_assert_int_eq(pthread_create(&srv.thread, NULL, http_main, NULL), 0);
	srv.running = 1;
	return 1;
}

static void
http_teardown(void)
{
	if (srv.running) {
		__atomic_store_n(&srv.stop, 1, __ATOMIC_SEQ_CST);
		pthread_join(srv.thread, NULL);
		srv.running = 0;
	}
	if (srv.fd >= 0)
		close(srv.fd);
	srv.fd = -1;
}

static void
http_setup(void)
{
	http_teardown(); /* a failed no-fork test skipped it */
	ck_assert_msg(http_start(AF_INET), "cannot listen on 127.0.0.1: %s", strerror(errno));
}

/* A configuration that sends "test.example" to `addr` on the server's port. */
static void
http_cfg(struct mca_validate_cfg *cfg, const char *addr, unsigned timeout)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->http01_port = srv.port;
	cfg->timeout_s = timeout;
	/* A mapping for another name must not be used. */
	snprintf(cfg->hosts[0].name, sizeof(cfg->hosts[0].name), "other.example");
	snprintf(cfg->hosts[0].addr, sizeof(cfg->hosts[0].addr), "192.0.2.1");
	snprintf(cfg->hosts[1].name, sizeof(cfg->hosts[1].name), "TEST.example");
	snprintf(cfg->hosts[1].addr, sizeof(cfg->hosts[1].addr), "%s", addr);
	cfg->n_hosts = 2;
}

/* ---- http-01 ------------------------------------------------------------- */

static const struct {
	const char *name, *token;
	unsigned timeout;
	int conns; /* connections the server must have seen: redirects followed */
	mca_rc want;
	const char *rule; /* NULL for MCA_OK */
	const char *msg;  /* text the message must contain besides the URL, or NULL */
} http_rows[] = {
    {"test.example", "ok", 3, 1, MCA_OK, NULL, NULL},
    {"test.example", "spaces", 3, 1, MCA_OK, NULL, NULL}, /* trailing whitespace is removed */
    {"test.example", "again", 3, 2, MCA_OK, NULL, NULL},  /* once to the same path */
    {"test.example", "thrice", 3, 4, MCA_OK, NULL, NULL}, /* exactly three redirects */
    {"test.example", "four", 3, 4, MCA_ERR_IO, "connection", "redirect"},
    {"test.example", "loop", 3, 4, MCA_ERR_IO, "connection", "redirect"},
    {"test.example", "redir", 3, 1, MCA_ERR_IO, "connection", "is not followed"},
    {"test.example", "query", 3, 1, MCA_ERR_IO, "connection", "is not followed"},
    {"test.example", "othertoken", 3, 1, MCA_ERR_IO, "connection", "is not followed"},
    {"test.example", "ftp", 3, 1, MCA_ERR_IO, "connection", "ftp"},
    {"test.example", "otherhost", 3, 1, MCA_ERR_IO, "connection", "is not followed"},
    {"test.example", "otherport", 3, 1, MCA_ERR_IO, "connection", "is not followed"},
    {"test.example", "file", 3, 1, MCA_ERR_IO, "connection", "file"},
    /* One deadline for the whole fetch: 600 ms per answer, 1 s in all, 2 requests. */
    {"test.example", "slow", 1, 2, MCA_ERR_IO, "connection", NULL},
    {"test.example", "https", 3, 2, MCA_ERR_IO, "tls", NULL}, /* followed, then TLS fails */
    {"test.example", "wrong", 3, 1, MCA_ERR_POLICY, "incorrectResponse", "(25 bytes)"},
    {"test.example", "leading", 3, 1, MCA_ERR_POLICY, "incorrectResponse", NULL},
    {"test.example", "prefix", 3, 1, MCA_ERR_POLICY, "incorrectResponse", NULL},
    {"test.example", "nul", 3, 1, MCA_ERR_POLICY, "incorrectResponse", NULL},
    {"test.example", "empty", 3, 1, MCA_ERR_POLICY, "incorrectResponse", "0 bytes"},
    {"test.example", "big", 3, 1, MCA_ERR_POLICY, "incorrectResponse", "8192"},
    {"test.example", "missing", 3, 1, MCA_ERR_POLICY, "unauthorized", "404"},
    {"test.example", "error", 3, 1, MCA_ERR_POLICY, "unauthorized", "500"},
    {"test.example", TOKEN_128, 3, 1, MCA_ERR_POLICY, "unauthorized", "404"},
    {"test.example", "hang", 1, 1, MCA_ERR_IO, "connection", NULL},
    {"test.example", TOKEN_128 "x", 3, 0, MCA_ERR_INVAL, "malformed", NULL},
    {"test.example", "", 3, 0, MCA_ERR_INVAL, "malformed", NULL},
    {"test.example", "a/b", 3, 0, MCA_ERR_INVAL, "malformed", NULL},
    {"test.example", "ok=", 3, 0, MCA_ERR_INVAL, "malformed", NULL},
    {"test.example", "..", 3, 0, MCA_ERR_INVAL, "malformed", NULL},
    {"test.example", "ok?x=1", 3, 0, MCA_ERR_INVAL, "malformed", NULL},
    {"127.0.0.1", "ok", 3, 0, MCA_ERR_INVAL, "malformed", NULL},
    {"::1", "ok", 3, 0, MCA_ERR_INVAL, "malformed", NULL},
    {"*.test.example", "ok", 3, 0, MCA_ERR_INVAL, "malformed", NULL},
    {"Test.example", "ok", 3, 0, MCA_ERR_INVAL, "malformed", NULL},
    {"test.example.", "ok", 3, 0, MCA_ERR_INVAL, "malformed", NULL},
    {"test.example/x", "ok", 3, 0, MCA_ERR_INVAL, "malformed", NULL},
    {"test.example:1", "ok", 3, 0, MCA_ERR_INVAL, "malformed", NULL},
    {"", "ok", 3, 0, MCA_ERR_INVAL, "malformed", NULL},
};

/* Each row: the return code, the ACME error type, and a message naming the URL. */
START_TEST(test_http01)
{
	struct mca_validate_cfg cfg;
	struct mca_error err = {0};
	char url[512];
	mca_rc rc;

	http_cfg(&cfg, "127.0.0.1", http_rows[_i].timeout);
	rc = mca_validate_http01(&cfg, http_rows[_i].name, http_rows[_i].token, KEYAUTH, &err);
	ck_assert_msg(rc == http_rows[_i].want, "%s %s: rc %s (%s), want %s", http_rows[_i].name,
	              http_rows[_i].token, mca_rc_name(rc), err.msg,
	              mca_rc_name(http_rows[_i].want));
	ck_assert_msg(__atomic_load_n(&srv.conns, __ATOMIC_SEQ_CST) == http_rows[_i].conns,
	              "%s: the server saw %d connections, want %d", http_rows[_i].token,
	              __atomic_load_n(&srv.conns, __ATOMIC_SEQ_CST), http_rows[_i].conns);
	if (rc == MCA_OK)
		return;
	ck_assert_msg(strcmp(err.rule, http_rows[_i].rule) == 0, "%s: rule '%s', want '%s' (%s)",
	              http_rows[_i].token, err.rule, http_rows[_i].rule, err.msg);
	if (rc != MCA_ERR_INVAL) {
		snprintf(url, sizeof(url), "http://%s:%u" CHAL "%s", http_rows[_i].name, srv.port,
		         http_rows[_i].token);
		ck_assert_msg(strstr(err.msg, url) != NULL, "message '%s' lacks %s", err.msg, url);
	}
	if (http_rows[_i].msg != NULL)
		ck_assert_msg(strstr(err.msg, http_rows[_i].msg) != NULL, "message '%s' lacks '%s'",
		              err.msg, http_rows[_i].msg);
	/* What the CA fetched is never handed back to the requester. */
	ck_assert_msg(strstr(err.msg, "not-the-key") == NULL, "message '%s' shows the body",
	              err.msg);
}
END_TEST

/* The request itself: path, Host with the port, the validator's User-Agent. */
START_TEST(test_http01_request)
{
	struct mca_validate_cfg cfg;
	struct mca_error err = {0};
	char host[64], req[sizeof(srv.last_request)];

	http_cfg(&cfg, "127.0.0.1", 3);
	ck_assert_int_eq(mca_validate_http01(&cfg, "test.example", "ok", KEYAUTH, &err), MCA_OK);
	pthread_mutex_lock(&srv.lock);
	memcpy(req, srv.last_request, sizeof(req));
	pthread_mutex_unlock(&srv.lock);
	snprintf(host, sizeof(host), "\r\nHost: test.example:%u\r\n", srv.port);
	ck_assert_msg(strncmp(req, "GET " CHAL "ok HTTP/1.1\r\n", 4 + strlen(CHAL) + 13) == 0,
	              "request: %s", req);
	ck_assert_msg(strstr(req, host) != NULL, "request: %s", req);
	ck_assert_msg(strstr(req, "\r\nUser-Agent: mtlsca-acme-validator\r\n") != NULL,
	              "request: %s", req);
}
END_TEST

/* Several addresses for one name: all are offered to libcurl, the first that answers wins. */
START_TEST(test_http01_two_addresses)
{
	struct mca_validate_cfg cfg;
	struct mca_error err = {0};
	mca_rc rc;

	http_cfg(&cfg, "127.0.0.1", 3);
	snprintf(cfg.hosts[2].name, sizeof(cfg.hosts[2].name), "test.example");
	snprintf(cfg.hosts[2].addr, sizeof(cfg.hosts[2].addr), "127.0.0.2"); /* nobody there */
	cfg.n_hosts = 3;
	rc = mca_validate_http01(&cfg, "test.example", "ok", KEYAUTH, &err);
	ck_assert_msg(rc == MCA_OK, "rc %s: %s", mca_rc_name(rc), err.msg);
	/* And with only the empty address the check fails to connect. */
	snprintf(cfg.hosts[1].addr, sizeof(cfg.hosts[1].addr), "127.0.0.2");
	rc = mca_validate_http01(&cfg, "test.example", "ok", KEYAUTH, &err);
	ck_assert_msg(rc == MCA_ERR_IO && strcmp(err.rule, "connection") == 0, "rc %s %s: %s",
	              mca_rc_name(rc), err.rule, err.msg);
}
END_TEST

/* A host mapping that is not an address is a configuration error, not a failed check. */
START_TEST(test_http01_bad_mapping)
{
	struct mca_validate_cfg cfg;
	struct mca_error err = {0};
	mca_rc rc;

	http_cfg(&cfg, "localhost", 3);
	rc = mca_validate_http01(&cfg, "test.example", "ok", KEYAUTH, &err);
	ck_assert_msg(rc == MCA_ERR_CONFIG, "rc %s: %s", mca_rc_name(rc), err.msg);
}
END_TEST

/* An IPv6 mapping reaches a server on [::1] (the address goes in brackets). */
START_TEST(test_http01_ipv6)
{
	struct mca_validate_cfg cfg;
	struct mca_error err = {0};
	mca_rc rc;

	http_teardown();
	if (!http_start(AF_INET6)) {
		fprintf(stderr, "test_http01_ipv6: no IPv6 loopback here, not tested\n");
		return;
	}
	http_cfg(&cfg, "::1", 3);
	rc = mca_validate_http01(&cfg, "test.example", "ok", KEYAUTH, &err);
	ck_assert_msg(rc == MCA_OK, "rc %s: %s", mca_rc_name(rc), err.msg);
}
END_TEST

/* Add `cidr` to the deny list of `cfg`. */
static void
deny(struct mca_validate_cfg *cfg, const char *cidr)
{
	ck_assert_uint_lt(cfg->n_deny, MCA_VALIDATE_MAX_DENY);
	ck_assert_msg(mca_cidr_parse(cidr, &cfg->deny[cfg->n_deny]), "%s", cidr);
	cfg->n_deny++;
}

/*
 * acme.http01_deny: an address in the list is never connected to, also as
 * an IPv4-mapped IPv6 address; the message (for the log) says why.
 */
static const struct {
	const char *addr, *deny1, *deny2;
	mca_rc want;
} deny_rows[] = {
    {"127.0.0.1", "127.0.0.0/8", NULL, MCA_ERR_IO},
    {"127.0.0.1", "127.0.0.1", NULL, MCA_ERR_IO},
    {"127.0.0.1", "10.0.0.0/8", "::1/128", MCA_OK},
    {"127.0.0.1", "127.0.0.2/32", "127.0.1.0/24", MCA_OK},
    {"::ffff:127.0.0.1", "127.0.0.0/8", NULL, MCA_ERR_IO},
    {"::ffff:127.0.0.1", "::ffff:0:0/96", NULL, MCA_ERR_IO},
    {"::ffff:127.0.0.1", "10.0.0.0/8", NULL, MCA_OK},
};

START_TEST(test_http01_deny)
{
	struct mca_validate_cfg cfg;
	struct mca_error err = {0};
	mca_rc rc;

	http_cfg(&cfg, deny_rows[_i].addr, 3);
	deny(&cfg, deny_rows[_i].deny1);
	if (deny_rows[_i].deny2 != NULL)
		deny(&cfg, deny_rows[_i].deny2);
	rc = mca_validate_http01(&cfg, "test.example", "ok", KEYAUTH, &err);
	ck_assert_msg(rc == deny_rows[_i].want, "%s deny %s: rc %s (%s)", deny_rows[_i].addr,
	              deny_rows[_i].deny1, mca_rc_name(rc), err.msg);
	ck_assert_int_eq(__atomic_load_n(&srv.conns, __ATOMIC_SEQ_CST), rc == MCA_OK ? 1 : 0);
	if (rc == MCA_OK)
		return;
	ck_assert_str_eq(err.rule, "connection");
	ck_assert_msg(strstr(err.msg, "127.0.0.1") != NULL && strstr(err.msg, "http01_deny"),
	              "message '%s' does not say which address was denied", err.msg);
}
END_TEST

/* A second address of the name that is not denied is used; ::1 is denied as well. */
START_TEST(test_http01_deny_v6_and_fallback)
{
	struct mca_validate_cfg cfg;
	struct mca_error err = {0};
	mca_rc rc;

	http_cfg(&cfg, "127.0.0.2", 3);
	snprintf(cfg.hosts[2].name, sizeof(cfg.hosts[2].name), "test.example");
	snprintf(cfg.hosts[2].addr, sizeof(cfg.hosts[2].addr), "127.0.0.1");
	cfg.n_hosts = 3;
	deny(&cfg, "127.0.0.2/32");
	rc = mca_validate_http01(&cfg, "test.example", "ok", KEYAUTH, &err);
	ck_assert_msg(rc == MCA_OK, "rc %s: %s", mca_rc_name(rc), err.msg);

	http_teardown();
	if (!http_start(AF_INET6)) {
		fprintf(stderr, "test_http01_deny_v6: no IPv6 loopback here, not tested\n");
		return;
	}
	http_cfg(&cfg, "::1", 3);
	deny(&cfg, "::1/128");
	rc = mca_validate_http01(&cfg, "test.example", "ok", KEYAUTH, &err);
	ck_assert_msg(rc == MCA_ERR_IO && strstr(err.msg, "::1") != NULL, "rc %s: %s",
	              mca_rc_name(rc), err.msg);
	ck_assert_int_eq(__atomic_load_n(&srv.conns, __ATOMIC_SEQ_CST), 0);
}
END_TEST

/* ---- dns-01 against tests/integration/fakedns ------------------------------ */

static struct {
	pid_t pid;
	int out; /* its stdout */
	unsigned port;
	char dir[64], file[96];
} dns = {.pid = -1, .out = -1};

/*
 * Stop fakedns.  A failing test skips its teardown: in fork mode Check
 * kills the test's process group (and PR_SET_PDEATHSIG covers the rest), in
 * no-fork mode the next dns_start or the tcase teardown comes here.
 */
static void
dns_stop(void)
{
	if (dns.pid > 0) {
		kill(dns.pid, SIGTERM);
		waitpid(dns.pid, NULL, 0);
	}
	dns.pid = -1;
	if (dns.out >= 0)
		close(dns.out);
	dns.out = -1;
}

/* Once per tcase, in the runner itself: the directory of the records file. */
static void
dns_dir_setup(void)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	if (snprintf(dns.dir, sizeof(dns.dir), "%s/mca-dns-XXXXXX", tmp) >= (int)sizeof(dns.dir) ||
	    mkdtemp(dns.dir) == NULL) {
		perror("test_validate: records directory");
		exit(EXIT_FAILURE);
	}
	snprintf(dns.file, sizeof(dns.file), "%s/records", dns.dir);
}

/* Runs even when tests failed: nothing is left behind. */
static void
dns_dir_teardown(void)
{
	dns_stop();
	unlink(dns.file);
	rmdir(dns.dir);
}

/* Replace the records file: "@" is the right digest, "<" and ">" its two halves. */
static void
dns_records(const char *tmpl, const char *digest)
{
	FILE *f = fopen(dns.file, "w");
	const char *p;

	ck_assert_msg(f != NULL, "%s: %s", dns.file, strerror(errno));
	for (p = tmpl; *p != '\0'; p++) {
		if (*p == '@')
			fputs(digest, f);
		else if (*p == '<')
			fprintf(f, "%.20s", digest);
		else if (*p == '>')
			fputs(digest + 20, f);
		else
			fputc(*p, f);
	}
	ck_assert_int_eq(fclose(f), 0);
}

/* Start fakedns on a port of its choosing and read that port from its stdout. */
static void
dns_start(void)
{
	const char *prog = getenv("FAKEDNS") ? getenv("FAKEDNS") : "./tests/integration/fakedns";
	struct pollfd p;
	char line[64];
	size_t n = 0;
	ssize_t r;
	int fds[2];

	dns_stop();
	dns_records("", "");
	ck_assert_int_eq(pipe(fds), 0);
	dns.pid = fork();
	ck_assert_int_ge(dns.pid, 0);
	if (dns.pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execl(prog, prog, "-p", "0", "-f", dns.file, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	dns.out = fds[0];
	p.fd = dns.out;
	p.events = POLLIN;
	while (n < sizeof(line) - 1 && memchr(line, '\n', n) == NULL) {
		ck_assert_msg(poll(&p, 1, 5000) == 1, "%s did not print its port", prog);
		r = read(dns.out, line + n, sizeof(line) - 1 - n);
		ck_assert_msg(r > 0, "%s exited without printing its port (set FAKEDNS?)", prog);
		n += (size_t)r;
	}
	line[n] = '\0';
	ck_assert_msg(sscanf(line, "port %u", &dns.port) == 1 && dns.port > 0, "fakedns said '%s'",
	              line);
}

/* base64url(SHA-256(s)) computed independently of validate.c (EVP_EncodeBlock). */
static void
digest_of(const char *s, char out[64])
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	char *p;

	ck_assert_int_eq(EVP_Digest(s, strlen(s), md, &mdlen, EVP_sha256(), NULL), 1);
	ck_assert_int_eq(EVP_EncodeBlock((unsigned char *)out, md, (int)mdlen), 44);
	for (p = out; *p != '\0'; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p == '=' ? '\0' : *p;
	ck_assert_uint_eq(strlen(out), 43);
}

static void
dns_cfg(struct mca_validate_cfg *cfg, unsigned port)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->dns_server, sizeof(cfg->dns_server), "127.0.0.1:%u", port);
	cfg->timeout_s = 1;
}

#define FILLER(n) "_acme-challenge.many.example TXT filler-record-number-" #n "-xxxxxxxxxxxxxxxx\n"

static const struct {
	const char *name;
	const char *records; /* "@": the right digest; "<" and ">": its halves */
	mca_rc want;
	const char *rule;
} dns_rows[] = {
    {"ok.example", "_acme-challenge.ok.example TXT @\n", MCA_OK, NULL},
    {"ok.example", "_acme-challenge.ok.example TXT Wrong-digest-but-43-characters-long-0123456\n",
     MCA_ERR_POLICY, "incorrectResponse"},
    {"two.example", "_acme-challenge.two.example TXT other\n_acme-challenge.two.example TXT @\n",
     MCA_OK, NULL},
    {"two.example", "_acme-challenge.two.example TXT @\n_acme-challenge.two.example TXT other\n",
     MCA_OK, NULL},
    {"two.example", "_acme-challenge.two.example TXT one\n_acme-challenge.two.example TXT two\n",
     MCA_ERR_POLICY, "incorrectResponse"},
    {"none.example", "_acme-challenge.other.example TXT @\n", MCA_ERR_IO, "dns"}, /* NXDOMAIN */
    {"none.example", "", MCA_ERR_IO, "dns"},
    {"nodata.example", "_acme-challenge.nodata.example A 192.0.2.7\n", MCA_ERR_IO, "dns"},
    {"*.w.example", "_acme-challenge.w.example TXT @\n", MCA_OK, NULL},
    {"*.w.example", "_acme-challenge.x.w.example TXT @\n", MCA_ERR_IO, "dns"},
    {"sub.ok.example", "_acme-challenge.ok.example TXT @\n", MCA_ERR_IO, "dns"},
    {"case.example", "_ACME-Challenge.CASE.Example. TXT @\n", MCA_OK, NULL},
    {"split.example", "_acme-challenge.split.example TXT \"<\" \">\"\n", MCA_OK, NULL},
    {"split.example", "_acme-challenge.split.example TXT \"<\"\n", MCA_ERR_POLICY,
     "incorrectResponse"},
    {"pad.example", "_acme-challenge.pad.example TXT @=\n", MCA_ERR_POLICY, "incorrectResponse"},
    {"raw.example", "_acme-challenge.raw.example TXT " KEYAUTH "\n", MCA_ERR_POLICY,
     "incorrectResponse"},
    /* More than 512 octets: truncated over UDP, answered over TCP. */
    {"many.example",
     FILLER(1) FILLER(2) FILLER(3) FILLER(4) FILLER(5) FILLER(6) FILLER(7) FILLER(8) FILLER(9)
         FILLER(10) "_acme-challenge.many.example TXT @\n",
     MCA_OK, NULL},
    {"", "", MCA_ERR_INVAL, "malformed"},
    {"*.", "", MCA_ERR_INVAL, "malformed"},
    {"*.*.w.example", "", MCA_ERR_INVAL, "malformed"},
    {"a.*.w.example", "", MCA_ERR_INVAL, "malformed"},
    {"192.0.2.1", "", MCA_ERR_INVAL, "malformed"},
    {"bad_name.example", "", MCA_ERR_INVAL, "malformed"},
    {"Ok.example", "", MCA_ERR_INVAL, "malformed"},
    {"a..example", "", MCA_ERR_INVAL, "malformed"},
};

/* Each row against a fresh fakedns with its records. */
START_TEST(test_dns01)
{
	struct mca_validate_cfg cfg;
	struct mca_error err = {0};
	char digest[64], qname[300];
	const char *base;
	mca_rc rc;

	digest_of(KEYAUTH, digest);
	dns_records(dns_rows[_i].records, digest);
	dns_cfg(&cfg, dns.port);
	rc = mca_validate_dns01(&cfg, dns_rows[_i].name, KEYAUTH, &err);
	ck_assert_msg(rc == dns_rows[_i].want, "%s: rc %s (%s), want %s", dns_rows[_i].name,
	              mca_rc_name(rc), err.msg, mca_rc_name(dns_rows[_i].want));
	if (rc == MCA_OK)
		return;
	ck_assert_msg(strcmp(err.rule, dns_rows[_i].rule) == 0, "%s: rule '%s', want '%s' (%s)",
	              dns_rows[_i].name, err.rule, dns_rows[_i].rule, err.msg);
	if (rc != MCA_ERR_INVAL) {
		base = dns_rows[_i].name;
		base += strncmp(base, "*.", 2) == 0 ? 2 : 0;
		snprintf(qname, sizeof(qname), "_acme-challenge.%s", base);
		ck_assert_msg(strstr(err.msg, qname) != NULL, "message '%s' lacks %s", err.msg,
		              qname);
	}
}
END_TEST

/* A known SHA-256 vector: "abc" -> ungWv48B...; the records file is read on every query. */
START_TEST(test_dns01_known_digest_and_reread)
{
	struct mca_validate_cfg cfg;
	struct mca_error err = {0};
	mca_rc rc;

	dns_cfg(&cfg, dns.port);
	dns_records("_acme-challenge.abc.example TXT ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0\n",
	            "");
	rc = mca_validate_dns01(&cfg, "abc.example", "abc", &err);
	ck_assert_msg(rc == MCA_OK, "rc %s: %s", mca_rc_name(rc), err.msg);
	rc = mca_validate_dns01(&cfg, "abc.example", "abd", &err);
	ck_assert_msg(rc == MCA_ERR_POLICY, "rc %s: %s", mca_rc_name(rc), err.msg);
	dns_records("_acme-challenge.abc.example TXT ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa1\n",
	            "");
	rc = mca_validate_dns01(&cfg, "abc.example", "abc", &err);
	ck_assert_msg(rc == MCA_ERR_POLICY && strcmp(err.rule, "incorrectResponse") == 0,
	              "rc %s %s: %s", mca_rc_name(rc), err.rule, err.msg);
	ck_assert_msg(strstr(err.msg, "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa1") != NULL,
	              "message '%s' does not show the record", err.msg);
}
END_TEST

/* Nobody listening on the resolver's port: a "dns" failure, promptly. */
START_TEST(test_dns01_no_server)
{
	struct mca_validate_cfg cfg;
	struct mca_error err = {0};
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	int fd;
	mca_rc rc;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd); /* a port that was just free */
	dns_cfg(&cfg, ntohs(sin.sin_port));
	rc = mca_validate_dns01(&cfg, "ok.example", KEYAUTH, &err);
	ck_assert_msg(rc == MCA_ERR_IO && strcmp(err.rule, "dns") == 0, "rc %s %s: %s",
	              mca_rc_name(rc), err.rule, err.msg);
}
END_TEST

/* A resolver that never answers: a "dns" failure after the retries (2 x timeout_s). */
START_TEST(test_dns01_timeout)
{
	struct mca_validate_cfg cfg;
	struct mca_error err = {0};
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	time_t t0;
	int fd;
	mca_rc rc;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	dns_cfg(&cfg, ntohs(sin.sin_port)); /* the socket stays open and silent */
	t0 = time(NULL);
	rc = mca_validate_dns01(&cfg, "ok.example", KEYAUTH, &err);
	close(fd);
	ck_assert_msg(rc == MCA_ERR_IO && strcmp(err.rule, "dns") == 0, "rc %s %s: %s",
	              mca_rc_name(rc), err.rule, err.msg);
	ck_assert_msg(time(NULL) - t0 <= 5, "took %lld s", (long long)(time(NULL) - t0));
}
END_TEST

static const char *const bad_servers[] = {
    "localhost", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:53x",
    "::1",       "1.2.3",      ":53",         "127.0.0.1:-53",
};

/* A resolver setting that is not IPv4[:port] is a configuration error. */
START_TEST(test_dns01_bad_server)
{
	struct mca_validate_cfg cfg;
	struct mca_error err = {0};
	mca_rc rc;

	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.dns_server, sizeof(cfg.dns_server), "%s", bad_servers[_i]);
	rc = mca_validate_dns01(&cfg, "ok.example", KEYAUTH, &err);
	ck_assert_msg(rc == MCA_ERR_CONFIG, "'%s': rc %s (%s)", bad_servers[_i], mca_rc_name(rc),
	              err.msg);
}
END_TEST

static Suite *
validate_suite(void)
{
	Suite *s = suite_create("validate");
	TCase *tc;

	tc = tcase_create("http01");
	tcase_add_checked_fixture(tc, http_setup, http_teardown);
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, test_http01, 0, NELEM(http_rows));
	tcase_add_test(tc, test_http01_request);
	tcase_add_test(tc, test_http01_two_addresses);
	tcase_add_test(tc, test_http01_bad_mapping);
	tcase_add_test(tc, test_http01_ipv6);
	tcase_add_loop_test(tc, test_http01_deny, 0, NELEM(deny_rows));
	tcase_add_test(tc, test_http01_deny_v6_and_fallback);
	suite_add_tcase(s, tc);

	tc = tcase_create("dns01");
	tcase_add_unchecked_fixture(tc, dns_dir_setup, dns_dir_teardown);
	tcase_add_checked_fixture(tc, dns_start, dns_stop);
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, test_dns01, 0, NELEM(dns_rows));
	tcase_add_test(tc, test_dns01_known_digest_and_reread);
	tcase_add_test(tc, test_dns01_no_server);
	tcase_add_test(tc, test_dns01_timeout);
	suite_add_tcase(s, tc);

	tc = tcase_create("dns01_config");
	tcase_add_loop_test(tc, test_dns01_bad_server, 0, NELEM(bad_servers));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(validate_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
