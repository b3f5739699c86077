/*
 * loadgen.c - a small HTTPS load client for the benches (not installed).
 *
 * wrk cannot present a TLS client certificate, and /v1/renew needs one:
 * this client keeps N connections alive (one thread each), optionally
 * with a client certificate, sends the same request on each for a fixed
 * time and prints requests/s, latency percentiles and errors.  Every side
 * of bench/compare.sh is measured with it, so the figures compare.
 *
 *   loadgen -u https://HOST:PORT/PATH [-c CONNS] [-d SECONDS] [-m METHOD]
 *           [-b BODYFILE] [-H 'Name: value']... [--cert PEM --key PEM]
 *           [--cacert PEM] [-s STATUS] [-o OUTFILE] [-n MAX_REQUESTS]
 *           [-A HEADERFILE]
 *
 * -A gives every connection one more header: connection i takes line
 * i mod n of the file (so that 64 connections may use 64 tokens).
 * A reply counts as ok when its status is -s (default: any 2xx); its body
 * goes to -o, one line per reply (the durability test reads the serials
 * from there).  "conn_errors" are failed connects, handshakes, reads and
 * writes (the client reconnects and goes on until the time is up),
 * "http_errors" replies with another status.  The last line is
 * machine-readable: "loadgen: rps=.. ok=.. http_errors=.. conn_errors=..
 * p50_ms=.. p99_ms=.. max_ms=..".  Exit status 0 when it ran (errors are
 * reported, not fatal), 2 on bad usage.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strcasestr */
#endif
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define MAX_HEADERS 16
#define RESP_MAX    (1u << 20)

static const char *opt_host, *opt_port, *opt_path, *opt_method = NULL;
static char *opt_body;
static size_t opt_body_len;
static const char *opt_headers[MAX_HEADERS];
static int opt_n_headers, opt_conns = 16, opt_status = 0;
static double opt_secs = 5;
static long opt_max = 0;
static FILE *opt_out;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static SSL_CTX *ctx;
static char **conn_headers;
static size_t n_conn_headers;
static int64_t deadline_ns;
static atomic_long started;

struct worker {
	pthread_t thread;
	char *request;
	size_t request_len;
	uint32_t *lat_us; /* one per ok reply */
	size_t n_lat, cap_lat;
	long ok, http_errors, conn_errors;
};

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int
tcp_connect(void)
{
	struct addrinfo hints, *res = NULL, *ai;
	int fd = -1, one = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(opt_host, opt_port, &hints, &res) != 0)
		return -1;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* A connected, handshaken TLS session, or NULL. */
static SSL *
open_conn(int *fdp)
{
	const struct timeval tv = {10, 0};
	SSL *ssl;
	int fd = tcp_connect();

	*fdp = fd;
	if (fd < 0)
		return NULL;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	ssl = SSL_new(ctx);
	if (ssl == NULL || !SSL_set_fd(ssl, fd) || !SSL_set_tlsext_host_name(ssl, opt_host) ||
	    SSL_connect(ssl) != 1) {
		SSL_free(ssl);
		close(fd);
		*fdp = -1;
		ERR_clear_error();
		return NULL;
	}
	return ssl;
}

/*
 * Read one HTTP/1.1 reply (Content-Length bodies only, which every server
 * here sends).  Returns the status, -1 on a connection error; *body and
 * *body_len point into buf; *close_after when the server said so.
 */
static int
read_reply(SSL *ssl, char *buf, size_t cap, const char **body, size_t *body_len, int *close_after)
{
	size_t got = 0, hdr_len = 0, clen = 0;
	char *end = NULL, *p;
	int n, status;

	*close_after = 0;
	for (;;) {
		if (end == NULL) {
			buf[got] = '\0';
			end = strstr(buf, "\r\n\r\n");
			if (end != NULL) {
				hdr_len = (size_t)(end - buf) + 4;
				p = strcasestr(buf, "\r\ncontent-length:");
				if (p == NULL || p > end)
					return -1;
				clen = strtoul(p + 17, NULL, 10);
				if (hdr_len + clen >= cap)
					return -1;
				p = strcasestr(buf, "\r\nconnection: close");
				*close_after = p != NULL && p < end;
			}
		}
		if (end != NULL && got >= hdr_len + clen)
			break;
		n = SSL_read(ssl, buf + got, (int)(cap - 1 - got));
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
		return -1;
	*body = buf + hdr_len;
	*body_len = clen;
	return status;
}

static void
add_latency(struct worker *w, int64_t ns)
{
	uint32_t *v;

	if (w->n_lat == w->cap_lat) {
		w->cap_lat = w->cap_lat ? w->cap_lat * 2 : 4096;
		v = realloc(w->lat_us, w->cap_lat * sizeof(*v));
		if (v == NULL) {
			perror("loadgen");
			exit(1);
		}
		w->lat_us = v;
	}
	w->lat_us[w->n_lat++] = (uint32_t)(ns / 1000);
}

static void *
run(void *arg)
{
	struct worker *w = arg;
	char *buf = malloc(RESP_MAX);
	const char *body;
	size_t body_len;
	SSL *ssl = NULL;
	int fd = -1, status, close_after, ok;
	int64_t t0;

	if (buf == NULL)
		return NULL;
	while (now_ns() < deadline_ns) {
		if (ssl == NULL) {
			ssl = open_conn(&fd);
			if (ssl == NULL) {
				w->conn_errors++;
				usleep(10000);
				continue;
			}
		}
		if (opt_max > 0 && atomic_fetch_add(&started, 1) >= opt_max)
			break;
		t0 = now_ns();
		status = -1;
		if (SSL_write(ssl, w->request, (int)w->request_len) == (int)w->request_len)
			status = read_reply(ssl, buf, RESP_MAX, &body, &body_len, &close_after);
		if (status < 0) {
			w->conn_errors++;
			SSL_free(ssl);
			close(fd);
			ssl = NULL;
			ERR_clear_error();
			continue;
		}
		ok = opt_status ? status == opt_status : status >= 200 && status < 300;
		if (ok) {
			w->ok++;
			add_latency(w, now_ns() - t0);
			if (opt_out != NULL) {
				pthread_mutex_lock(&out_lock);
				fwrite(body, 1, body_len, opt_out);
				fputc('\n', opt_out);
				fflush(opt_out);
				pthread_mutex_unlock(&out_lock);
			}
		} else {
			w->http_errors++;
		}
		if (close_after) {
			SSL_free(ssl);
			close(fd);
			ssl = NULL;
		}
	}
	if (ssl != NULL) {
		SSL_shutdown(ssl);
		SSL_free(ssl);
		close(fd);
	}
	free(buf);
	return NULL;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0 || (buf = malloc((size_t)n + 1)) == NULL ||
	    fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "loadgen: %s: cannot read\n", path);
		exit(2);
	}
	fclose(f);
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

/* The request every call of a connection sends, with `extra` (NULL: none) as one more header. */
static char *
build_request(const char *extra, size_t *len)
{
	size_t cap = 256 + strlen(opt_path) + strlen(opt_host) + opt_body_len;
	char *req, *p;
	int a;

	for (a = 0; a < opt_n_headers; a++)
		cap += strlen(opt_headers[a]) + 2;
	if (extra != NULL)
		cap += strlen(extra) + 2;
	req = malloc(cap);
	if (req == NULL) {
		perror("loadgen");
		exit(1);
	}
	p = req;
	p += sprintf(p, "%s %s HTTP/1.1\r\nHost: %s\r\n", opt_method, opt_path, opt_host);
	for (a = 0; a < opt_n_headers; a++)
		p += sprintf(p, "%s\r\n", opt_headers[a]);
	if (extra != NULL)
		p += sprintf(p, "%s\r\n", extra);
	if (opt_body != NULL)
		p += sprintf(p, "Content-Length: %zu\r\n", opt_body_len);
	p += sprintf(p, "\r\n");
	if (opt_body != NULL) {
		memcpy(p, opt_body, opt_body_len);
		p += opt_body_len;
	}
	*len = (size_t)(p - req);
	return req;
}

/* The lines of `path` (-A), without their newlines. */
static void
read_conn_headers(const char *path)
{
	size_t len, i;
	char *text = slurp(path, &len), *line, *save = NULL;

	(void)len;
	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		conn_headers = realloc(conn_headers, (n_conn_headers + 1) * sizeof(char *));
		if (conn_headers == NULL) {
			perror("loadgen");
			exit(1);
		}
		conn_headers[n_conn_headers++] = strdup(line);
	}
	for (i = 0; i < n_conn_headers; i++)
		if (conn_headers[i] == NULL) {
			perror("loadgen");
			exit(1);
		}
	free(text);
	if (n_conn_headers == 0) {
		fprintf(stderr, "loadgen: %s: no header lines\n", path);
		exit(2);
	}
}

static void
usage(void)
{
	fprintf(stderr,
	        "usage: loadgen -u https://HOST:PORT/PATH [-c CONNS] [-d SECONDS] "
	        "[-m METHOD] [-b BODYFILE] [-H 'Name: value']... [--cert PEM --key PEM] "
	        "[--cacert PEM] [-s STATUS] [-o OUTFILE] [-n MAX_REQUESTS] [-A HEADERFILE]\n");
	exit(2);
}

/* https://HOST:PORT/PATH into its parts (IPv4 or a name; no IPv6 literal). */
static void
parse_url(const char *url)
{
	static char host[256], port[16];
	const char *p, *slash, *colon;

	if (strncmp(url, "https://", 8) != 0)
		usage();
	p = url + 8;
	slash = strchr(p, '/');
	if (slash == NULL)
		slash = p + strlen(p);
	colon = memchr(p, ':', (size_t)(slash - p));
	if (colon == NULL || (size_t)(colon - p) >= sizeof(host) ||
	    (size_t)(slash - colon - 1) >= sizeof(port) || slash == colon + 1)
		usage();
	memcpy(host, p, (size_t)(colon - p));
	memcpy(port, colon + 1, (size_t)(slash - colon - 1));
	opt_host = host;
	opt_port = port;
	opt_path = *slash ? slash : "/";
}

int
main(int argc, char **argv)
{
	const char *cert = NULL, *key = NULL, *cacert = NULL, *url = NULL, *out = NULL;
	const char *hfile = NULL;
	struct worker *w;
	uint32_t *all;
	size_t n_all = 0, i;
	long ok = 0, herr = 0, cerr = 0;
	int64_t t0, t1;
	double secs, p50, p99, pmax;
	int a;

	/* A server killed under load (durable_load.sh) is a connection error, not our death. */
	signal(SIGPIPE, SIG_IGN);
	for (a = 1; a < argc; a++) {
		const char *o = argv[a], *v = a + 1 < argc ? argv[a + 1] : NULL;

		if (v == NULL)
			usage();
		if (strcmp(o, "-u") == 0)
			url = v;
		else if (strcmp(o, "-c") == 0)
			opt_conns = atoi(v);
		else if (strcmp(o, "-d") == 0)
			opt_secs = atof(v);
		else if (strcmp(o, "-m") == 0)
			opt_method = v;
		else if (strcmp(o, "-b") == 0)
			opt_body = slurp(v, &opt_body_len);
		else if (strcmp(o, "-H") == 0 && opt_n_headers < MAX_HEADERS)
			opt_headers[opt_n_headers++] = v;
		else if (strcmp(o, "--cert") == 0)
			cert = v;
		else if (strcmp(o, "--key") == 0)
			key = v;
		else if (strcmp(o, "--cacert") == 0)
			cacert = v;
		else if (strcmp(o, "-s") == 0)
			opt_status = atoi(v);
		else if (strcmp(o, "-o") == 0)
			out = v;
		else if (strcmp(o, "-A") == 0)
			hfile = v;
		else if (strcmp(o, "-n") == 0)
			opt_max = atol(v);
		else
			usage();
		a++;
	}
	if (url == NULL || opt_conns < 1 || opt_conns > 1024 || opt_secs <= 0 ||
	    (cert != NULL) != (key != NULL))
		usage();
	parse_url(url);
	if (opt_method == NULL)
		opt_method = opt_body != NULL ? "POST" : "GET";
	if (out != NULL && (opt_out = fopen(out, "w")) == NULL) {
		perror(out);
		return 2;
	}
	ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL)
		return 1;
	SSL_CTX_set_verify(ctx, cacert ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
	if ((cacert != NULL && SSL_CTX_load_verify_locations(ctx, cacert, NULL) != 1) ||
	    (cert != NULL && (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	                      SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1))) {
		ERR_print_errors_fp(stderr);
		return 2;
	}
	if (hfile != NULL)
		read_conn_headers(hfile);

	w = calloc((size_t)opt_conns, sizeof(*w));
	if (w == NULL)
		return 1;
	for (a = 0; a < opt_conns; a++)
		w[a].request =
		    build_request(n_conn_headers ? conn_headers[(size_t)a % n_conn_headers] : NULL,
		                  &w[a].request_len);
	t0 = now_ns();
	deadline_ns = t0 + (int64_t)(opt_secs * 1e9);
	for (a = 0; a < opt_conns; a++)
		if (pthread_create(&w[a].thread, NULL, run, &w[a]) != 0) {
			perror("pthread_create");
			return 1;
		}
	for (a = 0; a < opt_conns; a++) {
		pthread_join(w[a].thread, NULL);
		n_all += w[a].n_lat;
	}
	t1 = now_ns();
	all = malloc((n_all + 1) * sizeof(*all));
	if (all == NULL)
		return 1;
	for (n_all = 0, a = 0; a < opt_conns; a++) {
		for (i = 0; i < w[a].n_lat; i++)
			all[n_all++] = w[a].lat_us[i];
		ok += w[a].ok;
		herr += w[a].http_errors;
		cerr += w[a].conn_errors;
		free(w[a].lat_us);
		free(w[a].request);
	}
	for (i = 0; i < n_conn_headers; i++)
		free(conn_headers[i]);
	free(conn_headers);
	qsort(all, n_all, sizeof(*all), cmp_u32);
	secs = (double)(t1 - t0) / 1e9;
	p50 = n_all ? all[n_all / 2] / 1000.0 : 0;
	p99 = n_all ? all[(size_t)((double)(n_all - 1) * 0.99)] / 1000.0 : 0;
	pmax = n_all ? all[n_all - 1] / 1000.0 : 0;
	printf("loadgen: rps=%.0f ok=%ld http_errors=%ld conn_errors=%ld p50_ms=%.2f "
	       "p99_ms=%.2f max_ms=%.2f secs=%.2f conns=%d\n",
	       (double)ok / secs, ok, herr, cerr, p50, p99, pmax, secs, opt_conns);
	if (opt_out != NULL)
		fclose(opt_out);
	free(all);
	free(w);
	free(opt_body);
	SSL_CTX_free(ctx);
	return 0;
}
