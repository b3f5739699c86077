/*
 * request.c - "mtlsca request" and "mtlsca renew": the client side of
 * POST /v1/sign (enrollment with a token) and POST /v1/renew (renewal
 * over mTLS with the current certificate).
 *
 * The private key is generated here and only ever written to the key file;
 * the server sees a CSR.  The server is trusted only through the CA
 * certificates of --ca-file.  Files are replaced atomically, and a failed
 * request changes nothing on disk.  Neither the token nor a key is ever
 * printed.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "cli/cli.h"
#include "common/duration.h"
#include "common/util.h"
#include "pki/csr.h"
#include "pki/keys.h"
#include "policy/names.h"

/* Longest first line of a --token-file read (tokens are under 100 bytes). */
#define TOKEN_FILE_MAX 4096
/* Largest reply body accepted: a certificate and its chain are a few KiB. */
#define REPLY_MAX (1024L * 1024L)
/* Whole-request and connect timeouts, seconds. */
#define HTTP_TIMEOUT    30L
#define CONNECT_TIMEOUT 10L
/* Longest subject CN (RFC 5280 ub-common-name); a longer first DNS name goes only in the SAN. */
#define CN_MAX 64

/* What a call to the daemon needs; both verbs fill it. */
struct client {
	const char *verb;    /* "request" or "renew", for messages */
	char *url;           /* base URL, no trailing slash (malloc'd) */
	const char *ca_file; /* the only trust anchors for the server */
	const char *token;   /* request: the bearer token */
	const char *cert;    /* renew: the client certificate file (mTLS) */
	const char *key;     /* renew: its key file */
};

/* A reply body being received, capped at REPLY_MAX. */
struct reply {
	char *data;
	size_t len;
	int too_big;
};

void
cli_request_usage(void)
{
	fputs("usage: mtlsca request --server URL --ca-file FILE\n"
	      "                      (--token-file FILE | --token TOKEN) --name N [--name N]...\n"
	      "                      [--key-type TYPE] [--profile NAME] [--validity DURATION]\n"
	      "                      --key-out FILE --cert-out FILE\n"
	      "\n"
	      "Get a certificate from mtlscad with an enrollment token.  A new private key\n"
	      "is generated here (it is never sent); a CSR for the names given (DNS names,\n"
	      "IP addresses, URIs such as SPIFFE IDs) goes to URL/v1/sign.  The key is\n"
	      "written to --key-out (mode 0600, never over an existing file), the\n"
	      "certificate followed by its chain to --cert-out, and the serial is printed.\n"
	      "The server is trusted only through the CA certificates in --ca-file.\n"
	      "\n"
	      "  --server URL         the daemon's HTTPS base URL, e.g. https://ca.internal:8443\n"
	      "  --ca-file FILE       CA certificates (PEM) to verify the server with (chain.pem)\n"
	      "  --token-file FILE    read the token from the first line of FILE ('-': standard\n"
	      "                       input)\n"
	      "  --token TOKEN        the token itself; other local users can see it in the\n"
	      "                       process list: prefer --token-file\n"
	      "  --key-type TYPE      ec-p256 (default), ec-p384, rsa-2048, rsa-3072, rsa-4096,\n"
	      "                       ed25519\n"
	      "  --profile NAME       must be the token's profile (the default)\n"
	      "  --validity DURATION  e.g. 24h, 7d (default: the profile's)\n",
	      stdout);
}

void
cli_renew_usage(void)
{
	fputs("usage: mtlsca renew --server URL --ca-file FILE --cert FILE --key FILE [--rekey]\n"
	      "\n"
	      "Renew a certificate issued by mtlscad: authenticate over mTLS with the\n"
	      "current certificate and key and get a fresh certificate with the same\n"
	      "profile and names, which replaces --cert atomically.  With --rekey a new\n"
	      "key of the same type is generated here and replaces --key (the key first,\n"
	      "then the certificate); otherwise the key is kept.  On any failure both\n"
	      "files are left as they were.  Prints the new serial.\n",
	      stdout);
}

/*
 * The token on the first line of `path` ("-": standard input), its line
 * ending stripped, into a malloc'd *out (wipe with mca_free_secret).  Only
 * the first line is read.  A read error or a line that is no token prints
 * one line naming the file and returns CLI_FAIL.
 */
static int
token_file_read(const char *path, char **out)
{
	char buf[TOKEN_FILE_MAX + 1];
	const char *name = strcmp(path, "-") == 0 ? "standard input" : path, *nl = NULL;
	size_t got = 0, n, i;
	ssize_t r;
	int fd, ret = CLI_FAIL;

	*out = NULL;
	fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cli_fail("request: %s: %s", name, strerror(errno));
	while (got < TOKEN_FILE_MAX && (nl = memchr(buf, '\n', got)) == NULL) {
		r = read(fd, buf + got, TOKEN_FILE_MAX - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			cli_fail("request: %s: %s", name, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	if (nl == NULL)
		nl = memchr(buf, '\n', got);
	n = nl != NULL ? (size_t)(nl - buf) : got;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	if (n == 0) {
		cli_fail("request: %s: no token on the first line", name);
		goto out;
	}
	/* It goes into an HTTP header: printable ASCII without spaces, and all of the line. */
	for (i = 0; i < n; i++)
		if ((unsigned char)buf[i] <= ' ' || (unsigned char)buf[i] >= 0x7f)
			break;
	if (i < n || (nl == NULL && got == TOKEN_FILE_MAX)) {
		cli_fail("request: %s: not a valid token", name);
		goto out;
	}
	if ((*out = malloc(n + 1)) == NULL) {
		cli_fail("request: out of memory");
		goto out;
	}
	memcpy(*out, buf, n);
	(*out)[n] = '\0';
	ret = CLI_OK;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	if (fd != STDIN_FILENO)
		close(fd);
	return ret;
}

/* Copy `s` into `buf` as one printable line (control characters become '?'), for messages. */
static const char *
oneline(const char *s, char *buf, size_t len)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < len; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	buf[i] = '\0';
	return buf;
}

/*
 * --server: an https:// URL, kept without trailing slashes.  Plain HTTP is
 * refused: the token and the renewal credentials need TLS.
 */
static int
server_url(const char *verb, const char *arg, char **out)
{
	size_t n = strlen(arg);

	if (strncasecmp(arg, "https://", 8) != 0 || n == 8)
		return cli_usage_error(verb, "--server takes an https:// URL");
	while (n > 8 && arg[n - 1] == '/')
		n--;
	*out = strndup(arg, n);
	return *out != NULL ? CLI_OK : cli_fail("%s: out of memory", verb);
}

/*
 * The directory that will receive `path` exists and is writable: checked
 * before the request so that a token is not spent on a reply that cannot
 * be saved.
 */
static int
dir_check(const char *verb, const char *path)
{
	struct stat sb;
	char *dir = mca_path_dirname(path);
	int status = CLI_OK;

	if (dir == NULL)
		return cli_fail("%s: out of memory", verb);
	if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
		status = cli_fail("%s: %s: is a directory", verb, path);
	else if (access(dir, W_OK | X_OK) != 0)
		status = cli_fail("%s: %s: %s", verb, dir, strerror(errno));
	free(dir);
	return status;
}

/* libcurl write callback: append to the reply, refusing more than REPLY_MAX bytes. */
static size_t
reply_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct reply *r = arg;
	size_t n = size * nmemb;
	char *p;

	if (n > (size_t)REPLY_MAX - r->len) {
		r->too_big = 1;
		return 0;
	}
	p = realloc(r->data, r->len + n + 1);
	if (p == NULL)
		return 0;
	memcpy(p + r->len, ptr, n);
	r->len += n;
	p[r->len] = '\0';
	r->data = p;
	return n;
}

/* The one-line message for a non-2xx reply: "HTTP 401 token_used: MESSAGE". */
static int
http_error(const char *verb, long status, json_t *j)
{
	const char *code = json_string_value(json_object_get(j, "error"));
	const char *msg = json_string_value(json_object_get(j, "message"));
	char cbuf[64], mbuf[400];

	if (code != NULL && msg != NULL)
		return cli_fail("%s: HTTP %ld %s: %s", verb, status,
		                oneline(code, cbuf, sizeof(cbuf)),
		                oneline(msg, mbuf, sizeof(mbuf)));
	if (code != NULL)
		return cli_fail("%s: HTTP %ld %s", verb, status, oneline(code, cbuf, sizeof(cbuf)));
	return cli_fail("%s: HTTP %ld", verb, status);
}

/*
 * POST the JSON `body` to the server's `path`, with the bearer token or the
 * client certificate of `c`.  On a 2xx reply with a JSON object, *out gets
 * it and CLI_OK is returned; anything else prints one line (libcurl's
 * message, or the status and the server's error) and returns CLI_FAIL.
 */
static int
post_json(const struct client *c, const char *path, const char *body, json_t **out)
{
	struct reply rep = {NULL, 0, 0};
	struct curl_slist *hdrs = NULL, *h;
	char errbuf[CURL_ERROR_SIZE], *url = NULL, *auth = NULL;
	json_t *j = NULL;
	CURL *curl = NULL;
	CURLcode cc;
	long status = 0;
	int ret = CLI_FAIL;

	*out = NULL;
	errbuf[0] = '\0';
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return cli_fail("%s: cannot initialise libcurl", c->verb);
	if (asprintf(&url, "%s%s", c->url, path) < 0) {
		url = NULL;
		cli_fail("%s: out of memory", c->verb);
		goto out;
	}
	if (c->token != NULL && asprintf(&auth, "Authorization: Bearer %s", c->token) < 0) {
		auth = NULL;
		cli_fail("%s: out of memory", c->verb);
		goto out;
	}
	/* curl_slist_append returns NULL and keeps the list on failure. */
	if ((h = curl_slist_append(hdrs, "Content-Type: application/json")) == NULL ||
	    (hdrs = h, h = curl_slist_append(hdrs, "Accept: application/json")) == NULL ||
	    (hdrs = h, auth != NULL && (h = curl_slist_append(hdrs, auth)) == NULL) ||
	    (hdrs = h, (curl = curl_easy_init()) == NULL)) {
		cli_fail("%s: out of memory", c->verb);
		goto out;
	}
	curl_easy_setopt(curl, CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https");
#else
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTPS);
#endif
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, HTTP_TIMEOUT);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "mtlsca/" PACKAGE_VERSION);
	/* Trust only the CA file: no system bundle, no CA directory. */
	curl_easy_setopt(curl, CURLOPT_CAINFO, c->ca_file);
	curl_easy_setopt(curl, CURLOPT_CAPATH, NULL);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(curl, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (c->cert != NULL) {
		curl_easy_setopt(curl, CURLOPT_SSLCERT, c->cert);
		curl_easy_setopt(curl, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(curl, CURLOPT_SSLKEY, c->key);
		curl_easy_setopt(curl, CURLOPT_SSLKEYTYPE, "PEM");
	}
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)REPLY_MAX);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, reply_write);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &rep);
	cc = curl_easy_perform(curl);
	if (rep.too_big || cc == CURLE_FILESIZE_EXCEEDED) {
		cli_fail("%s: %s: the reply is larger than %ld bytes", c->verb, url, REPLY_MAX);
		goto out;
	}
	if (cc != CURLE_OK) {
		cli_fail("%s: %s: %s", c->verb, url, errbuf[0] ? errbuf : curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	j = rep.data != NULL ? json_loadb(rep.data, rep.len, 0, NULL) : NULL;
	if (status < 200 || status > 299) {
		http_error(c->verb, status, j);
		goto out;
	}
	if (!json_is_object(j)) {
		cli_fail("%s: HTTP %ld: the reply is not a JSON object", c->verb, status);
		goto out;
	}
	*out = j;
	j = NULL;
	ret = CLI_OK;
out:
	json_decref(j);
	free(rep.data);
	curl_easy_cleanup(curl);
	curl_slist_free_all(hdrs);
	mca_free_secret(auth);
	free(url);
	curl_global_cleanup();
	return ret;
}

/* One SAN entry: an IP address as octets, anything else as an IA5String of its type. */
static GENERAL_NAME *
san_entry(const struct mca_name *n)
{
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_STRING *s = NULL;
	int type;

	if (gn == NULL)
		return NULL;
	switch (n->type) {
	case MCA_NAME_IP:
		type = GEN_IPADD;
		s = ASN1_OCTET_STRING_new();
		if (s != NULL && !ASN1_OCTET_STRING_set(s, n->ip, (int)n->ip_len))
			goto fail;
		break;
	case MCA_NAME_URI:
		type = GEN_URI;
		s = ASN1_IA5STRING_new();
		break;
	case MCA_NAME_EMAIL:
		type = GEN_EMAIL;
		s = ASN1_IA5STRING_new();
		break;
	default:
		type = GEN_DNS;
		s = ASN1_IA5STRING_new();
		break;
	}
	if (s == NULL || (type != GEN_IPADD && !ASN1_STRING_set(s, n->value, -1)))
		goto fail;
	GENERAL_NAME_set0_value(gn, type, s);
	return gn;
fail:
	ASN1_STRING_free(s);
	GENERAL_NAME_free(gn);
	return NULL;
}

/*
 * A PEM CSR signed by `key` for `names`: subject CN = the first DNS name
 * (when there is one short enough), and a subjectAltName extension request
 * with every name.  Ed25519 signs without a digest, everything else with
 * SHA-256.  *pem is malloc'd.
 */
static mca_rc
csr_build(EVP_PKEY *key, const struct mca_name *names, size_t n, char **pem, struct mca_error *err)
{
	X509_REQ *req = X509_REQ_new();
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	X509_EXTENSION *ext = NULL;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	GENERAL_NAME *gn;
	BIO *b = NULL;
	char *data = NULL;
	const char *cn = NULL;
	long len;
	size_t i;
	mca_rc rc = MCA_OK;

	*pem = NULL;
	if (req == NULL || gens == NULL || exts == NULL || md == NULL) {
		rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (cn == NULL && names[i].type == MCA_NAME_DNS && strlen(names[i].value) <= CN_MAX)
			cn = names[i].value;
		if ((gn = san_entry(&names[i])) == NULL || !sk_GENERAL_NAME_push(gens, gn)) {
			GENERAL_NAME_free(gn);
			rc = mca_error_ssl(err, MCA_ERR_CRYPTO, "CSR: name '%s'", names[i].value);
			goto out;
		}
	}
	if (!X509_REQ_set_version(req, X509_REQ_VERSION_1) ||
	    (cn != NULL &&
	     !X509_NAME_add_entry_by_NID(X509_REQ_get_subject_name(req), NID_commonName,
	                                 MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0)) ||
	    !X509_REQ_set_pubkey(req, key) ||
	    (ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, gens)) == NULL ||
	    !sk_X509_EXTENSION_push(exts, ext)) {
		X509_EXTENSION_free(ext);
		rc = mca_error_ssl(err, MCA_ERR_CRYPTO, "building the CSR");
		goto out;
	}
	if (!X509_REQ_add_extensions(req, exts) ||
	    EVP_DigestSignInit(md, NULL,
	                       EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519 ? NULL : EVP_sha256(),
	                       NULL, key) != 1 ||
	    X509_REQ_sign_ctx(req, md) <= 0) {
		rc = mca_error_ssl(err, MCA_ERR_CRYPTO, "signing the CSR");
		goto out;
	}
	if ((b = BIO_new(BIO_s_mem())) == NULL || !PEM_write_bio_X509_REQ(b, req) ||
	    (len = BIO_get_mem_data(b, &data)) <= 0 || (*pem = strndup(data, (size_t)len)) == NULL)
		rc = mca_error_ssl(err, MCA_ERR_NOMEM, "encoding the CSR");
out:
	BIO_free(b);
	EVP_MD_CTX_free(md);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	GENERAL_NAMES_free(gens);
	X509_REQ_free(req);
	return rc;
}

/* A serial as the API gives it: lower-case hex, 1 to 64 digits. */
static int
serial_ok(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");

	return n > 0 && n <= 64 && s[n] == '\0';
}

/*
 * Read a 201 reply of /v1/sign or /v1/renew: the certificate must be PEM
 * and belong to `key` (never save a key with a certificate that is not
 * its own), the chain entries PEM certificates.  *pem gets the
 * certificate followed by the chain, *serial the serial; both malloc'd.
 */
static int
issued_read(const char *verb, json_t *reply, EVP_PKEY *key, char **pem, char **serial)
{
	const char *s = json_string_value(json_object_get(reply, "serial"));
	json_t *chain = json_object_get(reply, "chain"), *v;
	BIO *in = NULL, *b = BIO_new(BIO_s_mem());
	X509 *x = NULL;
	char *data = NULL;
	size_t i, n;
	long len;
	int status = CLI_FAIL;

	*pem = NULL;
	*serial = NULL;
	if (b == NULL) {
		cli_fail("%s: out of memory", verb);
		goto out;
	}
	if (s == NULL || !serial_ok(s)) {
		cli_fail("%s: the reply has no valid serial", verb);
		goto out;
	}
	if (chain != NULL && !json_is_array(chain)) {
		cli_fail("%s: the reply's chain is not an array", verb);
		goto out;
	}
	n = json_array_size(chain);
	for (i = 0; i <= n; i++) {
		v = i == 0 ? json_object_get(reply, "certificate") : json_array_get(chain, i - 1);
		if (!json_is_string(v) ||
		    (in = BIO_new_mem_buf(json_string_value(v), (int)json_string_length(v))) ==
		        NULL ||
		    (x = PEM_read_bio_X509(in, NULL, NULL, NULL)) == NULL) {
			ERR_clear_error();
			if (i == 0)
				cli_fail("%s: the reply's certificate is not a PEM certificate",
				         verb);
			else
				cli_fail("%s: the reply's chain[%zu] is not a PEM certificate",
				         verb, i - 1);
			goto out;
		}
		if (i == 0 && !mca_key_matches_cert(key, x)) {
			cli_fail("%s: the certificate %s does not match the key", verb, s);
			goto out;
		}
		if (!PEM_write_bio_X509(b, x)) {
			cli_fail("%s: out of memory", verb);
			goto out;
		}
		X509_free(x);
		x = NULL;
		BIO_free(in);
		in = NULL;
	}
	if ((len = BIO_get_mem_data(b, &data)) <= 0 ||
	    (*pem = strndup(data, (size_t)len)) == NULL || (*serial = strdup(s)) == NULL) {
		free(*pem);
		*pem = NULL;
		cli_fail("%s: out of memory", verb);
		goto out;
	}
	status = CLI_OK;
out:
	X509_free(x);
	BIO_free(in);
	BIO_free(b);
	return status;
}

/*
 * The type of an existing key, so that --rekey makes a key of the same
 * kind; -1 for a key this program cannot generate.
 */
static int
key_type_of(EVP_PKEY *key)
{
	char group[64];
	size_t len = 0;

	switch (EVP_PKEY_get_base_id(key)) {
	case EVP_PKEY_ED25519:
		return MCA_KEY_ED25519;
	case EVP_PKEY_RSA:
		switch (EVP_PKEY_get_bits(key)) {
		case 2048:
			return MCA_KEY_RSA_2048;
		case 3072:
			return MCA_KEY_RSA_3072;
		case 4096:
			return MCA_KEY_RSA_4096;
		}
		return -1;
	case EVP_PKEY_EC:
		if (!EVP_PKEY_get_group_name(key, group, sizeof(group), &len))
			return -1;
		if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0)
			return MCA_KEY_EC_P256;
		if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0)
			return MCA_KEY_EC_P384;
		return -1;
	}
	return -1;
}

/*
 * Write `data` to a new temporary file next to `path` with `mode` and
 * fsync it; *tmp gets its name.  Nothing is left behind on failure.
 */
static mca_rc
stage(const char *path, const char *data, unsigned mode, char **tmp, struct mca_error *err)
{
	size_t off = 0, len = strlen(data);
	ssize_t w;
	int fd = -1, e;

	if (asprintf(tmp, "%s.tmp-XXXXXX", path) < 0) {
		*tmp = NULL;
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	}
	fd = mkostemp(*tmp, O_CLOEXEC);
	if (fd < 0 || fchmod(fd, (mode_t)mode) != 0)
		goto fail;
	while (off < len) {
		w = write(fd, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			goto fail;
		off += (size_t)w;
	}
	if (fsync(fd) != 0)
		goto fail;
	e = close(fd);
	fd = -1;
	if (e != 0)
		goto fail;
	return MCA_OK;
fail:
	e = errno;
	if (fd >= 0)
		close(fd);
	unlink(*tmp);
	free(*tmp);
	*tmp = NULL;
	return mca_error_set(err, MCA_ERR_IO, "%s: %s", path, strerror(e));
}

/*
 * Replace the key file and then the certificate file, each atomically.
 * Both new files are written and synced before either is renamed into
 * place, and if the certificate cannot be renamed the old key (`old_key`,
 * the file's former bytes) is put back: a failure never leaves a key that
 * does not match the certificate.
 */
static mca_rc
replace_pair(const char *key_path, const char *key_pem, const char *cert_path, const char *cert_pem,
             const char *old_key, size_t old_len, struct mca_error *err)
{
	struct mca_error e2 = {0};
	char *ktmp = NULL, *ctmp = NULL, *kdir = NULL, *cdir = NULL;
	int e;
	mca_rc rc;

	if ((rc = stage(key_path, key_pem, 0600, &ktmp, err)) != MCA_OK ||
	    (rc = stage(cert_path, cert_pem, 0644, &ctmp, err)) != MCA_OK)
		goto out;
	if (rename(ktmp, key_path) != 0) {
		rc = mca_error_set(err, MCA_ERR_IO, "%s: rename: %s", key_path, strerror(errno));
		goto out;
	}
	free(ktmp);
	ktmp = NULL;
	if (rename(ctmp, cert_path) != 0) {
		e = errno;
		if (mca_file_write_atomic(key_path, old_key, old_len, 0600, 0, &e2) != MCA_OK)
			rc =
			    mca_error_set(err, MCA_ERR_IO,
			                  "%s: rename: %s; putting the old key back failed too: %s",
			                  cert_path, strerror(e), e2.msg);
		else
			rc = mca_error_set(err, MCA_ERR_IO, "%s: rename: %s", cert_path,
			                   strerror(e));
		goto out;
	}
	free(ctmp);
	ctmp = NULL;
	kdir = mca_path_dirname(key_path);
	cdir = mca_path_dirname(cert_path);
	if (kdir == NULL || cdir == NULL)
		rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	else if ((rc = mca_fsync_dir(kdir, err)) == MCA_OK && strcmp(kdir, cdir) != 0)
		rc = mca_fsync_dir(cdir, err);
out:
	if (ktmp != NULL)
		unlink(ktmp);
	if (ctmp != NULL)
		unlink(ctmp);
	free(ktmp);
	free(ctmp);
	free(kdir);
	free(cdir);
	return rc;
}

/* The request body as compact JSON text (malloc'd), or NULL when out of memory. */
static char *
body_text(const char *csr, const char *profile, const char *validity)
{
	json_t *j = json_object();
	char *text = NULL;

	if (j != NULL && (csr == NULL || json_object_set_new(j, "csr", json_string(csr)) == 0) &&
	    (profile == NULL || json_object_set_new(j, "profile", json_string(profile)) == 0) &&
	    (validity == NULL || json_object_set_new(j, "validity", json_string(validity)) == 0))
		text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return text;
}

int
cli_request(const struct cli_global *g, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"server", required_argument, NULL, 's'},  {"ca-file", required_argument, NULL, 'a'},
	    {"token", required_argument, NULL, 't'},   {"token-file", required_argument, NULL, 'T'},
	    {"name", required_argument, NULL, 'n'},    {"key-type", required_argument, NULL, 'k'},
	    {"profile", required_argument, NULL, 'p'}, {"validity", required_argument, NULL, 'v'},
	    {"key-out", required_argument, NULL, 'K'}, {"cert-out", required_argument, NULL, 'C'},
	    {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
	};
	struct client cl = {"request", NULL, NULL, NULL, NULL, NULL};
	struct mca_name names[MCA_CSR_MAX_NAMES];
	const char *server = NULL, *profile = NULL, *validity = NULL;
	const char *key_out = NULL, *cert_out = NULL, *token_file = NULL;
	struct mca_error err = {0};
	EVP_PKEY *key = NULL;
	json_t *reply = NULL;
	char *csr = NULL, *text = NULL, *pem = NULL, *serial = NULL, *token = NULL;
	const char *p;
	size_t n = 0;
	int64_t secs;
	int c, type = MCA_KEY_EC_P256, status;

	memset(names, 0, sizeof(names));
	optind = 0; /* 0, not 1: glibc then also resets its argument permutation */
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			server = optarg;
			break;
		case 'a':
			cl.ca_file = optarg;
			break;
		case 't':
			cl.token = optarg;
			break;
		case 'T':
			token_file = optarg;
			break;
		case 'n':
			if (n >= MCA_CSR_MAX_NAMES)
				return cli_usage_error("request", "at most %d --name",
				                       MCA_CSR_MAX_NAMES);
			if (optarg[0] == '\0')
				return cli_usage_error("request", "--name may not be empty");
			names[n].value = optarg;
			if (mca_ip_parse(optarg, names[n].ip, &names[n].ip_len))
				names[n].type = MCA_NAME_IP;
			else if (strstr(optarg, "://") != NULL)
				names[n].type = MCA_NAME_URI;
			else
				names[n].type = MCA_NAME_DNS;
			n++;
			break;
		case 'k':
			if ((type = mca_key_type_parse(optarg)) < 0)
				return cli_usage_error("request", "unknown --key-type '%s'",
				                       optarg);
			break;
		case 'p':
			profile = optarg;
			break;
		case 'v':
			if (mca_duration_parse(optarg, &secs, &err) != MCA_OK)
				return cli_usage_error("request", "--validity: %s", err.msg);
			validity = optarg;
			break;
		case 'K':
			key_out = optarg;
			break;
		case 'C':
			cert_out = optarg;
			break;
		case 'h':
			cli_request_usage();
			return CLI_OK;
		default:
			return cli_usage_error("request", "invalid option");
		}
	}
	if (optind < argc)
		return cli_usage_error("request", "unexpected argument '%s'", argv[optind]);
	if (cl.token != NULL && token_file != NULL)
		return cli_usage_error("request",
		                       "--token and --token-file are mutually exclusive");
	if (server == NULL || cl.ca_file == NULL || (cl.token == NULL && token_file == NULL) ||
	    key_out == NULL || cert_out == NULL)
		return cli_usage_error("request", "--server, --ca-file, --token or --token-file, "
		                                  "--key-out and --cert-out are required");
	if (n == 0)
		return cli_usage_error("request", "at least one --name is required");
	if (strcmp(key_out, cert_out) == 0)
		return cli_usage_error("request", "--key-out and --cert-out must differ");
	/* The token goes into an HTTP header: no control characters, no spaces. */
	for (p = cl.token; p != NULL && *p > ' ' && *p != 0x7f; p++)
		;
	if (cl.token != NULL && (cl.token[0] == '\0' || *p != '\0'))
		return cli_usage_error("request", "--token is not a valid token");
	if ((status = server_url("request", server, &cl.url)) != CLI_OK)
		return status;
	status = CLI_FAIL;
	if (token_file != NULL) {
		if (token_file_read(token_file, &token) != CLI_OK)
			goto out;
		cl.token = token;
	}
	if (mca_path_exists(key_out)) {
		cli_fail("request: %s: already exists (a key is never overwritten)", key_out);
		goto out;
	}
	if (dir_check("request", key_out) != CLI_OK || dir_check("request", cert_out) != CLI_OK)
		goto out;
	if (mca_key_generate(type, &key, &err) != MCA_OK ||
	    csr_build(key, names, n, &csr, &err) != MCA_OK) {
		cli_fail_err("request", &err);
		goto out;
	}
	if ((text = body_text(csr, profile, validity)) == NULL) {
		cli_fail("request: out of memory");
		goto out;
	}
	if (post_json(&cl, "/v1/sign", text, &reply) != CLI_OK ||
	    issued_read("request", reply, key, &pem, &serial) != CLI_OK)
		goto out;
	/* The key first, never over an existing file; then the certificate. */
	if (mca_key_save(key_out, key, NULL, &err) != MCA_OK) {
		cli_fail("request: certificate %s issued, but %s", serial, err.msg);
		goto out;
	}
	if (mca_file_write_atomic(cert_out, pem, strlen(pem), 0644, 0, &err) != MCA_OK) {
		unlink(key_out); /* a key without its certificate is of no use */
		cli_fail("request: certificate %s issued, but %s", serial, err.msg);
		goto out;
	}
	puts(serial);
	status = CLI_OK;
out:
	free(serial);
	free(pem);
	json_decref(reply);
	free(text);
	free(csr);
	EVP_PKEY_free(key);
	free(cl.url);
	mca_free_secret(token);
	return status;
}

int
cli_renew(const struct cli_global *g, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"server", required_argument, NULL, 's'},
	    {"ca-file", required_argument, NULL, 'a'},
	    {"cert", required_argument, NULL, 'c'},
	    {"key", required_argument, NULL, 'k'},
	    {"rekey", no_argument, NULL, 'r'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct client cl = {"renew", NULL, NULL, NULL, NULL, NULL};
	const char *server = NULL;
	struct mca_error err = {0};
	struct mca_csr *old = NULL;
	EVP_PKEY *key = NULL, *newkey = NULL;
	X509 *cert = NULL;
	json_t *reply = NULL;
	char *old_pem = NULL, *key_pem = NULL, *csr = NULL, *text = NULL, *pem = NULL;
	char *serial = NULL;
	size_t old_len = 0;
	int c, rekey = 0, type, status;

	optind = 0; /* 0, not 1: glibc then also resets its argument permutation */
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			server = optarg;
			break;
		case 'a':
			cl.ca_file = optarg;
			break;
		case 'c':
			cl.cert = optarg;
			break;
		case 'k':
			cl.key = optarg;
			break;
		case 'r':
			rekey = 1;
			break;
		case 'h':
			cli_renew_usage();
			return CLI_OK;
		default:
			return cli_usage_error("renew", "invalid option");
		}
	}
	if (optind < argc)
		return cli_usage_error("renew", "unexpected argument '%s'", argv[optind]);
	if (server == NULL || cl.ca_file == NULL || cl.cert == NULL || cl.key == NULL)
		return cli_usage_error("renew",
		                       "--server, --ca-file, --cert and --key are required");
	if (strcmp(cl.cert, cl.key) == 0)
		return cli_usage_error("renew", "--cert and --key must be different files");
	if ((status = server_url("renew", server, &cl.url)) != CLI_OK)
		return status;
	status = CLI_FAIL;
	if (mca_key_load(cl.key, NULL, &key, &err) != MCA_OK ||
	    mca_cert_load(cl.cert, &cert, &err) != MCA_OK) {
		cli_fail("renew: %s", err.msg);
		goto out;
	}
	if (!mca_key_matches_cert(key, cert)) {
		cli_fail("renew: %s does not belong to %s", cl.key, cl.cert);
		goto out;
	}
	if (dir_check("renew", cl.cert) != CLI_OK ||
	    (rekey && dir_check("renew", cl.key) != CLI_OK))
		goto out;
	if (rekey) {
		/* A new key of the old one's type, and a CSR for the certificate's names. */
		if ((type = key_type_of(key)) < 0) {
			cli_fail("renew: %s: --rekey cannot make a key of this type", cl.key);
			goto out;
		}
		if (mca_file_read(cl.key, &old_pem, &old_len, &err) != MCA_OK ||
		    mca_csr_from_cert(cert, &old, &err) != MCA_OK) {
			cli_fail_err("renew", &err);
			goto out;
		}
		if (old->n_names == 0) {
			cli_fail("renew: %s has no subjectAltName names to re-key for", cl.cert);
			goto out;
		}
		if (mca_key_generate(type, &newkey, &err) != MCA_OK ||
		    csr_build(newkey, old->names, old->n_names, &csr, &err) != MCA_OK ||
		    mca_key_to_pem(newkey, &key_pem, &err) != MCA_OK) {
			cli_fail_err("renew", &err);
			goto out;
		}
	}
	if ((text = body_text(csr, NULL, NULL)) == NULL) {
		cli_fail("renew: out of memory");
		goto out;
	}
	if (post_json(&cl, "/v1/renew", text, &reply) != CLI_OK ||
	    issued_read("renew", reply, rekey ? newkey : key, &pem, &serial) != CLI_OK)
		goto out;
	if (rekey ? replace_pair(cl.key, key_pem, cl.cert, pem, old_pem, old_len, &err) != MCA_OK
	          : mca_file_write_atomic(cl.cert, pem, strlen(pem), 0644, 0, &err) != MCA_OK) {
		cli_fail("renew: certificate %s issued, but %s", serial, err.msg);
		goto out;
	}
	puts(serial);
	status = CLI_OK;
out:
	free(serial);
	free(pem);
	json_decref(reply);
	free(text);
	free(csr);
	mca_free_secret(key_pem);
	mca_free_secret(old_pem);
	mca_csr_free(old);
	EVP_PKEY_free(newkey);
	X509_free(cert);
	EVP_PKEY_free(key);
	free(cl.url);
	return status;
}
