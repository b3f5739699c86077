/*
 * validate.c - ACME http-01 (libcurl) and dns-01 (own UDP/TCP query, parsed
 * with libresolv's ns_* functions) domain-control checks, each within one
 * deadline.
 */
#include "config.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <resolv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "acme/validate.h"
#include "common/log.h"
#include "policy/names.h"

#define HTTP01_PATH      "/.well-known/acme-challenge/"
#define MAX_BODY         8192 /* bytes of an http-01 response body we read at most */
#define MAX_TOKEN        128
#define MAX_REDIRS       3L
#define DEFAULT_TIMEOUT  10
#define DIGEST_B64_LEN   43 /* base64url of 32 octets, unpadded */
#define SHOW_LEN         64 /* characters of a body or TXT value quoted in a message */
#define USER_AGENT       "mtlsca-acme-validator"
#define DNS_PREFIX       "_acme-challenge."
#define DNS_ANSWER_MAX   65535
#define DNS_DEFAULT_PORT 53
#define DNS_MAX_SERVERS  4   /* of resolv.conf, as glibc's MAXNS is 3 */
#define DNS_UDP_MAX      512 /* no EDNS: larger answers come over TCP */
#define DNS_MIN_SLICE_MS 500 /* the least one UDP attempt waits before the next server */

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

/* Response body collected by body_write, capped at MAX_BODY. */
struct body {
	char data[MAX_BODY + 1];
	size_t len;
	int too_big;
};

/* curl_global_init is not thread-safe: run it exactly once, whichever worker comes first. */
static void
curl_init_once(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* Seconds for a whole check: the configured value, or the default for 0. */
static long
timeout_of(const struct mca_validate_cfg *cfg)
{
	return cfg->timeout_s == 0 ? DEFAULT_TIMEOUT : (long)cfg->timeout_s;
}

/* Milliseconds on the monotonic clock. */
static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What the deadline leaves, in milliseconds (0 when passed). */
static long
left_ms(int64_t deadline)
{
	int64_t left = deadline - now_ms();

	return left > 0 ? (long)left : 0;
}

/*
 * Copy at most SHOW_LEN characters of untrusted text into `out` for an
 * error message: printable ASCII only (others become '?'), "..." when cut.
 */
static void
show(const char *in, size_t n, char *out, size_t outsz)
{
	size_t i, o = 0;

	for (i = 0; i < n && i < SHOW_LEN && o + 1 < outsz; i++) {
		unsigned char c = (unsigned char)in[i];

		out[o++] = c >= 0x20 && c < 0x7f && c != '\'' ? (char)c : '?';
	}
	if (i < n && o + 3 < outsz) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

/* A name both checks accept: a lower-case DNS name, not an IP address in disguise. */
static mca_rc
check_dns_name(const char *name, struct mca_error *err)
{
	struct mca_error e = {0};
	unsigned char ip[16];
	size_t iplen;

	if (name == NULL || name[0] == '\0')
		return mca_error_rule(err, MCA_ERR_INVAL, "malformed", "empty identifier");
	if (mca_ip_parse(name, ip, &iplen))
		return mca_error_rule(err, MCA_ERR_INVAL, "malformed",
		                      "'%.64s' is an IP address, not a DNS name", name);
	if (mca_dns_check(name, 0, 0, &e) != MCA_OK)
		return mca_error_rule(err, MCA_ERR_INVAL, "malformed", "%s", e.msg);
	return MCA_OK;
}

/* What may follow the key authorization in an http-01 body (RFC 8555 8.3: trailing whitespace). */
static int
is_trailing_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* libcurl write callback: keep the body, abort the transfer once it exceeds MAX_BODY. */
static size_t
body_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct body *b = arg;
	size_t n = size * nmemb;

	if (n > MAX_BODY - b->len) {
		b->too_big = 1;
		return 0;
	}
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	return n;
}

/*
 * The CURLOPT_RESOLVE entry "NAME:PORT:ADDR[,ADDR...]" for the configured
 * addresses of `name` (IPv6 in brackets), in `out`.  *found is 0 when no
 * mapping applies (then libcurl resolves the name itself).
 */
static mca_rc
resolve_entry(const struct mca_validate_cfg *cfg, const char *name, unsigned port, char *out,
              size_t outsz, int *found, struct mca_error *err)
{
	size_t i, n = cfg->n_hosts < MCA_VALIDATE_MAX_HOSTS ? cfg->n_hosts : MCA_VALIDATE_MAX_HOSTS;
	unsigned char ip[16];
	size_t iplen, o;
	int w;

	*found = 0;
	w = snprintf(out, outsz, "%s:%u:", name, port);
	if (w < 0 || (size_t)w >= outsz)
		return mca_error_rule(err, MCA_ERR_INTERNAL, "serverInternal", "name too long");
	o = (size_t)w;
	for (i = 0; i < n; i++) {
		const char *addr = cfg->hosts[i].addr;
		int alen = (int)strnlen(addr, sizeof(cfg->hosts[i].addr));

		if (strncasecmp(cfg->hosts[i].name, name, sizeof(cfg->hosts[i].name)) != 0)
			continue;
		if (alen == (int)sizeof(cfg->hosts[i].addr) || !mca_ip_parse(addr, ip, &iplen))
			return mca_error_rule(err, MCA_ERR_CONFIG, "serverInternal",
			                      "validation host mapping for '%.64s': '%.64s' is not "
			                      "an IP address",
			                      name, addr);
		w = snprintf(out + o, outsz - o, iplen == 16 ? "%s[%.*s]" : "%s%.*s",
		             *found ? "," : "", alen, addr);
		if (w < 0 || (size_t)w >= outsz - o)
			return mca_error_rule(err, MCA_ERR_INTERNAL, "serverInternal",
			                      "too many host mappings for '%.64s'", name);
		o += (size_t)w;
		*found = 1;
	}
	return MCA_OK;
}

/* ACME error type for a failed transfer: TLS problems apart, everything is "connection". */
static const char *
curl_rule(CURLcode res)
{
	switch (res) {
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
		return "tls";
	case CURLE_OUT_OF_MEMORY:
	case CURLE_FAILED_INIT:
	case CURLE_UNKNOWN_OPTION:
	case CURLE_NOT_BUILT_IN:
		return "serverInternal";
	default:
		return "connection";
	}
}

/* The opensocket callback's state: the deny list and the addresses it refused. */
struct sock_guard {
	const struct mca_validate_cfg *cfg;
	char denied[INET6_ADDRSTRLEN]; /* the last address refused */
	int n_denied;
};

/* Whether `sa` is in cfg->deny (an IPv4-mapped IPv6 address also as IPv4); its text in `text`. */
static int
addr_denied(const struct mca_validate_cfg *cfg, const struct sockaddr_storage *ss, char *text,
            size_t len)
{
	static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	size_t n = cfg->n_deny < MCA_VALIDATE_MAX_DENY ? cfg->n_deny : MCA_VALIDATE_MAX_DENY, i;
	unsigned char ip[16];
	size_t iplen;

	if (ss->ss_family == AF_INET) {
		memcpy(ip, &((const struct sockaddr_in *)ss)->sin_addr, 4);
		iplen = 4;
	} else if (ss->ss_family == AF_INET6) {
		memcpy(ip, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
		iplen = 16;
	} else {
		snprintf(text, len, "address family %d", (int)ss->ss_family);
		return 1; /* only IP is ever meant */
	}
	if (inet_ntop(ss->ss_family, ip, text, (socklen_t)len) == NULL)
		snprintf(text, len, "?");
	for (i = 0; i < n; i++) {
		if (mca_cidr_contains(&cfg->deny[i], ip, iplen))
			return 1;
		if (iplen == 16 && memcmp(ip, v4mapped, 12) == 0 &&
		    mca_cidr_contains(&cfg->deny[i], ip + 12, 4))
			return 1;
	}
	return 0;
}

/*
 * libcurl's CURLOPT_OPENSOCKETFUNCTION: every connection libcurl makes
 * (each address it tries, each redirect) passes here with the address it
 * is about to connect to; those in the deny list get no socket.
 */
static curl_socket_t
open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct sock_guard *g = arg;
	struct sockaddr_storage ss;

	if (purpose != CURLSOCKTYPE_IPCXN || a->addrlen > sizeof(ss))
		return CURL_SOCKET_BAD;
	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, &a->addr, a->addrlen);
	if (addr_denied(g->cfg, &ss, g->denied, sizeof(g->denied))) {
		g->n_denied++;
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/*
 * Where a redirect may lead (RFC 8555 8.3 lets the CA choose): the same
 * name, http or https, on the http-01 port, 80 or 443, and exactly the
 * challenge path `path`, without a query or credentials.  Anything else
 * would let a requester make the CA fetch other resources of its network.
 * On success `next` holds the next URL.
 */
static mca_rc
next_hop(CURL *c, const char *orig, const char *name, unsigned port, const char *path, char *next,
         size_t len, struct mca_error *err)
{
	char *loc = NULL, *scheme = NULL, *host = NULL, *portstr = NULL, *upath = NULL;
	char *query = NULL, *user = NULL, *url = NULL;
	CURLU *u = NULL;
	long p;
	mca_rc rc = MCA_ERR_IO;

	if (curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &loc) != CURLE_OK || loc == NULL ||
	    strlen(loc) >= len) {
		return mca_error_rule(err, MCA_ERR_IO, "connection",
		                      "GET %s: a redirect without a usable Location", orig);
	}
	u = curl_url();
	if (u == NULL || curl_url_set(u, CURLUPART_URL, loc, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &portstr, CURLU_DEFAULT_PORT) != CURLUE_OK) {
		rc = mca_error_rule(err, MCA_ERR_IO, "connection",
		                    "GET %s: a redirect to a bad URL", orig);
		goto out;
	}
	p = strtol(portstr, NULL, 10);
	if ((strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) ||
	    strcasecmp(host, name) != 0 || (p != (long)port && p != 80 && p != 443)) {
		rc = mca_error_rule(err, MCA_ERR_IO, "connection",
		                    "GET %s: a redirect to %s://%s:%ld is not followed (only %s on "
		                    "port %u, 80 or 443)",
		                    orig, scheme, host, p, name, port);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_PATH, &upath, 0) != CURLUE_OK || strcmp(upath, path) != 0 ||
	    curl_url_get(u, CURLUPART_QUERY, &query, 0) != CURLUE_NO_QUERY ||
	    curl_url_get(u, CURLUPART_USER, &user, 0) != CURLUE_NO_USER) {
		show(loc, strlen(loc), next, len < SHOW_LEN + 4 ? len : SHOW_LEN + 4);
		rc =
		    mca_error_rule(err, MCA_ERR_IO, "connection",
		                   "GET %s: a redirect to '%s' is not followed (only to %s itself)",
		                   orig, next, path);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK || strlen(url) >= len) {
		rc = mca_error_rule(err, MCA_ERR_IO, "connection",
		                    "GET %s: a redirect to a bad URL", orig);
		goto out;
	}
	snprintf(next, len, "%s", url);
	rc = MCA_OK;
out:
	curl_free(url);
	curl_free(user);
	curl_free(query);
	curl_free(upath);
	curl_free(scheme);
	curl_free(host);
	curl_free(portstr);
	curl_url_cleanup(u);
	return rc;
}

/* The options that make one http-01 fetch safe: bounded, no proxy, http(s) only. */
static CURLcode
http01_setopts(CURL *c, const char *url, struct curl_slist *resolve, struct body *b,
               struct sock_guard *guard, char *errbuf)
{
	CURLcode r = CURLE_OK;

#define SET(opt, val)                                                                              \
	do {                                                                                       \
		if (r == CURLE_OK)                                                                 \
			r = curl_easy_setopt(c, opt, val);                                         \
	} while (0)
	SET(CURLOPT_URL, url);
	SET(CURLOPT_ERRORBUFFER, errbuf);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_PROXY, "");
	SET(CURLOPT_USERAGENT, USER_AGENT);
	SET(CURLOPT_HTTPGET, 1L);
	/* Redirects are followed by hand, after checking where they lead. */
	SET(CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
	SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
	SET(CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	/*
	 * A redirect may lead to https; the certificate there is not checked
	 * (the content proves control, a valid certificate is not required).
	 */
	SET(CURLOPT_SSL_VERIFYPEER, 0L);
	SET(CURLOPT_SSL_VERIFYHOST, 0L);
	/* Every connection, to each address and after each redirect, passes the deny list. */
	SET(CURLOPT_OPENSOCKETFUNCTION, open_socket);
	SET(CURLOPT_OPENSOCKETDATA, guard);
	SET(CURLOPT_WRITEFUNCTION, body_write);
	SET(CURLOPT_WRITEDATA, b);
	if (resolve != NULL)
		SET(CURLOPT_RESOLVE, resolve);
#undef SET
	return r;
}

mca_rc
mca_validate_http01(const struct mca_validate_cfg *cfg, const char *name, const char *token,
                    const char *keyauth, struct mca_error *err)
{
	char url[512], hop[512], entry[300 + MCA_VALIDATE_MAX_HOSTS * 66], errbuf[CURL_ERROR_SIZE];
	char shown[SHOW_LEN + 4], path[sizeof(HTTP01_PATH) + MAX_TOKEN];
	struct sock_guard guard;
	struct curl_slist *resolve = NULL;
	struct body *b = NULL;
	unsigned port = cfg->http01_port == 0 ? 80 : cfg->http01_port;
	int64_t deadline = now_ms() + timeout_of(cfg) * 1000;
	size_t tlen;
	long status = 0, left;
	int mapped = 0, hops;
	CURL *c = NULL;
	CURLcode res;
	mca_rc rc;

	if ((rc = check_dns_name(name, err)) != MCA_OK)
		return rc;
	tlen = token != NULL ? strnlen(token, MAX_TOKEN + 1) : 0;
	if (tlen == 0 || tlen > MAX_TOKEN || strspn(token, b64url) != tlen)
		return mca_error_rule(err, MCA_ERR_INVAL, "malformed",
		                      "the http-01 token is not 1 to %d base64url characters",
		                      MAX_TOKEN);
	if (keyauth == NULL)
		return mca_error_rule(err, MCA_ERR_INVAL, "malformed", "no key authorization");
	if (port > 65535)
		return mca_error_rule(err, MCA_ERR_CONFIG, "serverInternal", "http-01 port %u",
		                      port);
	snprintf(url, sizeof(url), "http://%s:%u" HTTP01_PATH "%s", name, port, token);
	snprintf(path, sizeof(path), HTTP01_PATH "%s", token);
	memset(&guard, 0, sizeof(guard));
	guard.cfg = cfg;
	if ((rc = resolve_entry(cfg, name, port, entry, sizeof(entry), &mapped, err)) != MCA_OK)
		return rc;
	pthread_once(&curl_once, curl_init_once);
	if (curl_init_rc != CURLE_OK)
		return mca_error_rule(err, MCA_ERR_INTERNAL, "serverInternal",
		                      "curl_global_init: %s", curl_easy_strerror(curl_init_rc));
	b = calloc(1, sizeof(*b));
	c = curl_easy_init();
	if (b == NULL || c == NULL ||
	    (mapped && (resolve = curl_slist_append(NULL, entry)) == NULL)) {
		rc = mca_error_rule(err, MCA_ERR_NOMEM, "serverInternal", "out of memory");
		goto out;
	}
	errbuf[0] = '\0';
	res = http01_setopts(c, url, resolve, b, &guard, errbuf);
	if (res != CURLE_OK) {
		rc = mca_error_rule(err, MCA_ERR_INTERNAL, "serverInternal", "libcurl setup: %s",
		                    curl_easy_strerror(res));
		goto out;
	}
	for (hops = 0;; hops++) {
		/* One deadline for all requests of the check. */
		left = left_ms(deadline);
		if (left == 0) {
			rc = mca_error_rule(err, MCA_ERR_IO, "connection",
			                    "GET %s: no answer within %ld s", url, timeout_of(cfg));
			goto out;
		}
		if (curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, left) != CURLE_OK ||
		    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, left) != CURLE_OK) {
			rc = mca_error_rule(err, MCA_ERR_INTERNAL, "serverInternal",
			                    "libcurl setup: timeouts");
			goto out;
		}
		res = curl_easy_perform(c);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		if (res != CURLE_OK && !(res == CURLE_WRITE_ERROR && b->too_big)) {
			rc = mca_error_rule(
			    err, MCA_ERR_IO, curl_rule(res), "GET %s%s%s%s: %s%s%s%s", url,
			    hops ? " (redirected to " : "", hops ? hop : "", hops ? ")" : "",
			    guard.n_denied ? "not connecting to " : "",
			    guard.n_denied ? guard.denied : "",
			    guard.n_denied ? " (in acme.http01_deny); " : "",
			    errbuf[0] != '\0' ? errbuf : curl_easy_strerror(res));
			goto out;
		}
		if (status < 300 || status > 399 || status == 304)
			break;
		if (hops == MAX_REDIRS) {
			rc = mca_error_rule(err, MCA_ERR_IO, "connection",
			                    "GET %s: more than %d redirects", url, (int)MAX_REDIRS);
			goto out;
		}
		if ((rc = next_hop(c, url, name, port, path, hop, sizeof(hop), err)) != MCA_OK)
			goto out;
		b->len = 0;
		b->too_big = 0;
		if (curl_easy_setopt(c, CURLOPT_URL, hop) != CURLE_OK) {
			rc = mca_error_rule(err, MCA_ERR_NOMEM, "serverInternal", "out of memory");
			goto out;
		}
	}
	if (status != 200) {
		rc = mca_error_rule(err, MCA_ERR_POLICY, "unauthorized",
		                    "GET %s: HTTP status %ld, not 200", url, status);
		goto out;
	}
	if (b->too_big) {
		rc = mca_error_rule(err, MCA_ERR_POLICY, "incorrectResponse",
		                    "GET %s: the body is larger than %d bytes", url, MAX_BODY);
		goto out;
	}
	while (b->len > 0 && is_trailing_space(b->data[b->len - 1]))
		b->len--;
	if (b->len != strlen(keyauth) || memcmp(b->data, keyauth, b->len) != 0) {
		/*
		 * The body goes to the log only: the requester must not be able to
		 * read what a redirect or a name fetched from the CA's network.
		 */
		show(b->data, b->len, shown, sizeof(shown));
		mca_log(MCA_LOG_NOTICE, "acme: http-01 GET %s: body '%s'", url, shown);
		rc = mca_error_rule(err, MCA_ERR_POLICY, "incorrectResponse",
		                    "GET %s: the body (%zu bytes) is not the key authorization",
		                    url, b->len);
		goto out;
	}
	rc = MCA_OK;
out:
	curl_easy_cleanup(c);
	curl_slist_free_all(resolve);
	free(b);
	return rc;
}

/* base64url(SHA-256(keyauth)), unpadded, into out (DIGEST_B64_LEN + 1 bytes). */
static int
keyauth_digest(const char *keyauth, char *out)
{
	unsigned char md[32];
	unsigned int n = 0;
	size_t i, o = 0;
	unsigned v;

	if (EVP_Digest(keyauth, strlen(keyauth), md, &n, EVP_sha256(), NULL) != 1 || n != 32)
		return 0;
	for (i = 0; i + 2 < n; i += 3) {
		v = (unsigned)md[i] << 16 | (unsigned)md[i + 1] << 8 | md[i + 2];
		out[o++] = b64url[v >> 18 & 63];
		out[o++] = b64url[v >> 12 & 63];
		out[o++] = b64url[v >> 6 & 63];
		out[o++] = b64url[v & 63];
	}
	/* 32 = 3 * 10 + 2: two octets left. */
	v = (unsigned)md[i] << 16 | (unsigned)md[i + 1] << 8;
	out[o++] = b64url[v >> 18 & 63];
	out[o++] = b64url[v >> 12 & 63];
	out[o++] = b64url[v >> 6 & 63];
	out[o] = '\0';
	return 1;
}

/* "IP" or "IP:PORT" (IPv4) into a resolver address. */
static mca_rc
parse_dns_server(const char *spec, struct sockaddr_in *sin, struct mca_error *err)
{
	char host[64];
	const char *colon;
	unsigned long port = DNS_DEFAULT_PORT;
	char *end;
	size_t hlen;

	memset(sin, 0, sizeof(*sin));
	colon = strchr(spec, ':');
	hlen = colon != NULL ? (size_t)(colon - spec) : strlen(spec);
	if (colon != NULL && strchr(colon + 1, ':') != NULL)
		return mca_error_rule(err, MCA_ERR_CONFIG, "serverInternal",
		                      "dns-01 resolver '%.63s': only IPv4 addresses are supported",
		                      spec);
	if (colon != NULL) {
		port = strtoul(colon + 1, &end, 10);
		if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || port == 0 || port > 65535)
			return mca_error_rule(err, MCA_ERR_CONFIG, "serverInternal",
			                      "dns-01 resolver '%.63s': bad port", spec);
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return mca_error_rule(err, MCA_ERR_CONFIG, "serverInternal",
		                      "dns-01 resolver '%.63s' is not IP or IP:PORT", spec);
	memcpy(host, spec, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
		return mca_error_rule(err, MCA_ERR_CONFIG, "serverInternal",
		                      "dns-01 resolver '%.63s' is not an IPv4 address", spec);
	sin->sin_family = AF_INET;
	sin->sin_port = htons((unsigned short)port);
	return MCA_OK;
}

/* A name server to ask. */
struct dns_server {
	struct sockaddr_storage ss;
	socklen_t len;
};

/*
 * The name servers to ask: cfg->dns_server, else those of resolv.conf
 * (glibc keeps IPv6 ones in _u._ext), else 127.0.0.1:53 as libresolv does.
 */
static mca_rc
dns_servers(const struct mca_validate_cfg *cfg, struct dns_server *out, int *n,
            struct mca_error *err)
{
	struct __res_state res;
	struct sockaddr_in *sin;
	int i;
	mca_rc rc;

	*n = 0;
	memset(out, 0, sizeof(*out) * DNS_MAX_SERVERS);
	if (cfg->dns_server[0] != '\0') {
		sin = (struct sockaddr_in *)&out[0].ss;
		if ((rc = parse_dns_server(cfg->dns_server, sin, err)) != MCA_OK)
			return rc;
		out[0].len = sizeof(*sin);
		*n = 1;
		return MCA_OK;
	}
	memset(&res, 0, sizeof(res));
	if (res_ninit(&res) != 0)
		return mca_error_rule(err, MCA_ERR_INTERNAL, "serverInternal",
		                      "res_ninit: cannot read the resolver configuration");
	for (i = 0; i < res.nscount && i < MAXNS && *n < DNS_MAX_SERVERS; i++) {
		if (res.nsaddr_list[i].sin_family == AF_INET) {
			memcpy(&out[*n].ss, &res.nsaddr_list[i], sizeof(res.nsaddr_list[i]));
			out[(*n)++].len = sizeof(struct sockaddr_in);
		}
#ifdef __GLIBC__
		else if (res._u._ext.nsaddrs[i] != NULL &&
		         res._u._ext.nsaddrs[i]->sin6_family == AF_INET6) {
			memcpy(&out[*n].ss, res._u._ext.nsaddrs[i], sizeof(struct sockaddr_in6));
			out[(*n)++].len = sizeof(struct sockaddr_in6);
		}
#endif
	}
	res_nclose(&res); /* glibc: also frees the IPv6 server addresses (no res_ndestroy) */
	if (*n == 0) {
		sin = (struct sockaddr_in *)&out[0].ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(DNS_DEFAULT_PORT);
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		out[0].len = sizeof(*sin);
		*n = 1;
	}
	return MCA_OK;
}

/* A TXT query for `qname` (a checked DNS name) with id `id`, recursion desired; its length. */
static size_t
dns_query(const char *qname, unsigned id, unsigned char *q, size_t cap)
{
	size_t o = 12, llen;
	const char *p = qname, *dot;

	if (cap < 12 + strlen(qname) + 2 + 4)
		return 0;
	memset(q, 0, 12);
	q[0] = (unsigned char)(id >> 8);
	q[1] = (unsigned char)id;
	q[2] = 0x01; /* RD */
	q[5] = 1;    /* QDCOUNT */
	while (*p != '\0') {
		dot = strchr(p, '.');
		llen = dot != NULL ? (size_t)(dot - p) : strlen(p);
		if (llen == 0 || llen > 63)
			return 0;
		q[o++] = (unsigned char)llen;
		memcpy(q + o, p, llen);
		o += llen;
		p += llen + (dot != NULL);
	}
	q[o++] = 0;
	q[o++] = 0;
	q[o++] = ns_t_txt;
	q[o++] = 0;
	q[o++] = ns_c_in;
	return o;
}

/* Whether `a` (n octets) answers query `q` (qlen octets): id, QR, the same question. */
static int
dns_answers(const unsigned char *q, size_t qlen, const unsigned char *a, size_t n)
{
	size_t i;

	if (n < 12 || a[0] != q[0] || a[1] != q[1] || (a[2] & 0x80) == 0)
		return 0;
	if (a[4] == 0 && a[5] == 0 && (a[3] & 0x0f) != ns_r_noerror)
		return 1; /* an error without the question (FORMERR, REFUSED...) */
	if (n < qlen || a[4] != 0 || a[5] != 1)
		return 0;
	for (i = 12; i < qlen; i++)
		if (a[i] != q[i] &&
		    !(a[i] < 0x80 && q[i] < 0x80 && (a[i] | 0x20) == (q[i] | 0x20) &&
		      (q[i] | 0x20) >= 'a' && (q[i] | 0x20) <= 'z'))
			return 0;
	return 1;
}

/* Wait for `events` on fd until the deadline: 1 ready, 0 timed out, -1 error. */
static int
wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = {fd, events, 0};
	long left;
	int r;

	for (;;) {
		left = left_ms(deadline);
		if (left == 0)
			return 0;
		r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			return 0;
		return (p.revents & (events | POLLHUP | POLLERR)) != 0 ? 1 : -1;
	}
}

/*
 * One UDP exchange with `srv` until `until`; the answer's length, 0 on
 * timeout, -1 when the server cannot be reached.  Replies that do not
 * answer the query are ignored.
 */
static long
dns_udp(const struct dns_server *srv, const unsigned char *q, size_t qlen, unsigned char *a,
        size_t cap, int64_t until)
{
	ssize_t n;
	long rc = -1;
	int fd, w;

	fd = socket(srv->ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)&srv->ss, srv->len) != 0 ||
	    send(fd, q, qlen, 0) != (ssize_t)qlen)
		goto out;
	for (;;) {
		w = wait_fd(fd, POLLIN, until);
		if (w <= 0) {
			rc = w;
			goto out;
		}
		n = recv(fd, a, cap, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			goto out; /* ECONNREFUSED: nobody there */
		if (dns_answers(q, qlen, a, (size_t)n)) {
			rc = (long)n;
			goto out;
		}
	}
out:
	close(fd);
	return rc;
}

/* Read or write exactly n octets on a non-blocking socket before the deadline. */
static int
tcp_io(int fd, unsigned char *buf, size_t n, int writing, int64_t deadline)
{
	ssize_t r;

	while (n > 0) {
		if (wait_fd(fd, writing ? POLLOUT : POLLIN, deadline) != 1)
			return 0;
		r = writing ? send(fd, buf, n, MSG_NOSIGNAL) : recv(fd, buf, n, 0);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r <= 0)
			return 0;
		buf += r;
		n -= (size_t)r;
	}
	return 1;
}

/* One TCP exchange (RFC 7766) with `srv` before the deadline; the answer's length or -1. */
static long
dns_tcp(const struct dns_server *srv, const unsigned char *q, size_t qlen, unsigned char *a,
        size_t cap, int64_t deadline)
{
	unsigned char hdr[2];
	unsigned char *msg = NULL;
	socklen_t elen = sizeof(int);
	size_t n;
	long rc = -1;
	int fd, e = 0;

	fd = socket(srv->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)&srv->ss, srv->len) != 0 && errno != EINPROGRESS)
		goto out;
	if (wait_fd(fd, POLLOUT, deadline) != 1 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) != 0 || e != 0)
		goto out;
	msg = malloc(qlen + 2);
	if (msg == NULL)
		goto out;
	msg[0] = (unsigned char)(qlen >> 8);
	msg[1] = (unsigned char)qlen;
	memcpy(msg + 2, q, qlen);
	if (!tcp_io(fd, msg, qlen + 2, 1, deadline) || !tcp_io(fd, hdr, 2, 0, deadline))
		goto out;
	n = (size_t)hdr[0] << 8 | hdr[1];
	if (n > cap || !tcp_io(fd, a, n, 0, deadline) || !dns_answers(q, qlen, a, n))
		goto out;
	rc = (long)n;
out:
	free(msg);
	close(fd);
	return rc;
}

/*
 * Ask the servers in turn, two rounds, until one gives a final answer
 * (NOERROR or NXDOMAIN) or the deadline passes; a truncated UDP answer is
 * asked again over TCP.  The answer's length, or -1 with *herr set
 * (TRY_AGAIN: no answer, NO_RECOVERY: refused or failed).
 */
static long
dns_ask(const struct dns_server *srv, int nsrv, const unsigned char *q, size_t qlen,
        unsigned char *a, size_t cap, int64_t deadline, int *herr)
{
	int round, i, attempts = 2 * nsrv, done = 0;
	long n, slice;
	unsigned rcode;

	*herr = TRY_AGAIN;
	for (round = 0; round < 2; round++) {
		for (i = 0; i < nsrv; i++, done++) {
			if (left_ms(deadline) == 0)
				return -1;
			/* The deadline's rest, shared by the attempts still to come. */
			slice = left_ms(deadline) / (attempts - done);
			if (slice < DNS_MIN_SLICE_MS)
				slice = DNS_MIN_SLICE_MS;
			n = dns_udp(&srv[i], q, qlen, a, cap < DNS_UDP_MAX ? cap : DNS_UDP_MAX,
			            now_ms() + slice < deadline ? now_ms() + slice : deadline);
			if (n > 0 && (a[2] & 0x02) != 0)
				n = dns_tcp(&srv[i], q, qlen, a, cap, deadline);
			if (n <= 0)
				continue;
			rcode = a[3] & 0x0f;
			if (rcode == ns_r_noerror || rcode == ns_r_nxdomain) {
				if (rcode == ns_r_nxdomain)
					*herr = HOST_NOT_FOUND;
				return rcode == ns_r_nxdomain ? -1 : n;
			}
			*herr = rcode == ns_r_servfail ? TRY_AGAIN : NO_RECOVERY;
		}
	}
	return -1;
}

/* Why the lookup failed, as an h_errno code, as an ACME "dns" problem. */
static mca_rc
dns_failure(int herr, const char *qname, const char *server, struct mca_error *err)
{
	const char *why;

	switch (herr) {
	case HOST_NOT_FOUND:
		why = "the name does not exist (NXDOMAIN)";
		break;
	case NO_DATA:
		why = "no TXT record";
		break;
	case TRY_AGAIN:
		why = "no answer (SERVFAIL or timeout)";
		break;
	case NO_RECOVERY:
		why = "the query was refused or failed (REFUSED, FORMERR or NOTIMP)";
		break;
	default:
		why = "the lookup failed";
		break;
	}
	return mca_error_rule(err, MCA_ERR_IO, "dns", "TXT %s (resolver %s): %s", qname, server,
	                      why);
}

/*
 * Look for the expected digest among the TXT records of the answer section:
 * each record's character-strings concatenated.  *n_txt counts the TXT
 * records, `first` gets the first one for the error message.
 */
static mca_rc
match_txt(const unsigned char *answer, int len, const char *want, int *found, int *n_txt,
          char *first, size_t firstsz, const char *qname, struct mca_error *err)
{
	char txt[256];
	ns_msg msg;
	ns_rr rr;
	int i, count;

	*found = 0;
	*n_txt = 0;
	if (ns_initparse(answer, len, &msg) < 0)
		return mca_error_rule(err, MCA_ERR_IO, "dns", "TXT %s: unreadable DNS response",
		                      qname);
	count = ns_msg_count(msg, ns_s_an);
	for (i = 0; i < count && !*found; i++) {
		const unsigned char *rd;
		size_t rdlen, off = 0, tlen = 0, slen;

		if (ns_parserr(&msg, ns_s_an, i, &rr) < 0)
			return mca_error_rule(err, MCA_ERR_IO, "dns",
			                      "TXT %s: unreadable DNS response record", qname);
		if (ns_rr_type(rr) != ns_t_txt || ns_rr_class(rr) != ns_c_in)
			continue;
		rd = ns_rr_rdata(rr);
		rdlen = ns_rr_rdlen(rr);
		while (off < rdlen) {
			slen = rd[off++];
			if (slen > rdlen - off)
				return mca_error_rule(
				    err, MCA_ERR_IO, "dns",
				    "TXT %s: a character-string overruns its record", qname);
			if (tlen < sizeof(txt))
				memcpy(txt + tlen, rd + off,
				       slen < sizeof(txt) - tlen ? slen : sizeof(txt) - tlen);
			tlen += slen;
			off += slen;
		}
		if (*n_txt == 0)
			show(txt, tlen < sizeof(txt) ? tlen : sizeof(txt), first, firstsz);
		(*n_txt)++;
		*found = tlen == DIGEST_B64_LEN && memcmp(txt, want, DIGEST_B64_LEN) == 0;
	}
	return MCA_OK;
}

mca_rc
mca_validate_dns01(const struct mca_validate_cfg *cfg, const char *name, const char *keyauth,
                   struct mca_error *err)
{
	struct dns_server servers[DNS_MAX_SERVERS];
	unsigned char *answer = NULL, query[sizeof(DNS_PREFIX) + 253 + 18], rnd[2];
	char want[DIGEST_B64_LEN + 1], qname[sizeof(DNS_PREFIX) + 253], first[SHOW_LEN + 4];
	const char *base = name, *server;
	int64_t deadline = now_ms() + timeout_of(cfg) * 1000;
	int nsrv = 0, found = 0, n_txt = 0, herr = 0;
	size_t qlen;
	long len;
	mca_rc rc;

	if (base != NULL && strncmp(base, "*.", 2) == 0)
		base += 2; /* RFC 8555 8.4: a wildcard is validated at its base name */
	if ((rc = check_dns_name(base, err)) != MCA_OK)
		return rc;
	if (keyauth == NULL)
		return mca_error_rule(err, MCA_ERR_INVAL, "malformed", "no key authorization");
	server = cfg->dns_server[0] != '\0' ? cfg->dns_server : "system";
	if (strnlen(cfg->dns_server, sizeof(cfg->dns_server)) == sizeof(cfg->dns_server))
		return mca_error_rule(err, MCA_ERR_CONFIG, "serverInternal",
		                      "dns-01 resolver address is not terminated");
	if ((rc = dns_servers(cfg, servers, &nsrv, err)) != MCA_OK)
		return rc;
	if (!keyauth_digest(keyauth, want))
		return mca_error_ssl(err, MCA_ERR_CRYPTO, "SHA-256 of the key authorization");
	snprintf(qname, sizeof(qname), DNS_PREFIX "%s", base);
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return mca_error_ssl(err, MCA_ERR_CRYPTO, "a DNS query id");
	qlen = dns_query(qname, (unsigned)rnd[0] << 8 | rnd[1], query, sizeof(query));
	if (qlen == 0)
		return mca_error_rule(err, MCA_ERR_INVAL, "malformed", "'%.64s' is too long",
		                      qname);
	answer = malloc(DNS_ANSWER_MAX);
	if (answer == NULL)
		return mca_error_rule(err, MCA_ERR_NOMEM, "serverInternal", "out of memory");
	len = dns_ask(servers, nsrv, query, qlen, answer, DNS_ANSWER_MAX, deadline, &herr);
	if (len < 0) {
		rc = dns_failure(herr, qname, server, err);
		goto out;
	}
	rc = match_txt(answer, (int)len, want, &found, &n_txt, first, sizeof(first), qname, err);
	if (rc != MCA_OK)
		goto out;
	if (n_txt == 0)
		rc = dns_failure(NO_DATA, qname, server, err);
	else if (!found)
		rc =
		    mca_error_rule(err, MCA_ERR_POLICY, "incorrectResponse",
		                   "TXT %s: none of the %d records is the key authorization digest "
		                   "(first: '%s')",
		                   qname, n_txt, first);
out:
	free(answer);
	return rc;
}
