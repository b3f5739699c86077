/*
 * ep_ocsp.c - the OCSP responder on the HTTP listeners (RFC 6960 appendix
 * A, RFC 5019): POST /ocsp (application/ocsp-request) and GET
 * /ocsp/{base64 of the DER request}.  What is answered is
 * daemon/ocspcache.h's; here are the HTTP rules: the body's type and
 * bound, the GET decoding, and for pre-signed responses the caching
 * headers (max-age never past nextUpdate, ETag, Last-Modified; GET with a
 * matching If-None-Match gets 304).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/http.h"
#include "common/b64url.h"
#include "common/util.h"

#define OCSP_TYPE "application/ocsp-response"

static int
hexval(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
	                              : -1;
}

static void
resp_done(void *cls)
{
	mca_ocsp_resp_release(cls);
}

static void
http_date(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, len, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* Send what the responder answered (a->resp's reference is taken). */
static enum mca_http_result
reply(struct mca_req *r, struct mca_ocsp_answer *a, int is_get)
{
	struct MHD_Response *resp;
	const char *inm;
	char date[64], cc[128];
	int64_t now = (int64_t)mca_now(), age;
	int not_modified = 0;

	if (a->cached && is_get) {
		inm = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "If-None-Match");
		not_modified =
		    inm != NULL && (strcmp(inm, "*") == 0 || strstr(inm, a->etag) != NULL);
	}
	if (not_modified || a->resp == NULL)
		resp = MHD_create_response_from_buffer(
		    not_modified ? 0 : a->der_len, not_modified ? NULL : (void *)(uintptr_t)a->der,
		    MHD_RESPMEM_PERSISTENT);
	else
		resp = MHD_create_response_from_buffer_with_free_callback_cls(
		    a->der_len, (void *)(uintptr_t)a->der, resp_done, a->resp);
	if (resp == NULL) {
		mca_ocsp_resp_release(a->resp);
		return MCA_HTTP_FAIL;
	}
	if (a->cached) {
		/* RFC 5019 6.2: cacheable until nextUpdate, never longer */
		age = a->next_update - now;
		snprintf(cc, sizeof(cc), "max-age=%lld, public, no-transform, must-revalidate",
		         (long long)(age > 0 ? age : 0));
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, cc);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, a->etag);
		http_date(a->this_update, date, sizeof(date));
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LAST_MODIFIED, date);
		http_date(a->next_update, date, sizeof(date));
		MHD_add_response_header(resp, MHD_HTTP_HEADER_EXPIRES, date);
	} else {
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache, no-store");
	}
	if (!not_modified)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, OCSP_TYPE);
	if (not_modified || a->resp == NULL)
		mca_ocsp_resp_release(a->resp);
	return mca_reply_response(r, not_modified ? 304 : 200, resp);
}

static enum mca_http_result
answer(struct mca_req *r, const unsigned char *der, size_t len, int is_get)
{
	struct mca_server *srv = mca_req_server(r);
	struct mca_error err = {0};
	struct mca_store *st = mca_server_store(srv, &err);
	struct mca_ocsp_answer a;
	size_t n = 0;

	if (st == NULL) {
		/* no database, no statement: tryLater (RFC 6960 2.3) */
		mca_ocsp_count(srv->ocsp, MCA_OCSP_OUT_TRY_LATER);
		memset(&a, 0, sizeof(a));
		a.der = mca_ocsp_error_response(MCA_OCSP_TRY_LATER, &n);
		a.der_len = n;
		return reply(r, &a, is_get);
	}
	mca_ocsp_answer(srv->ocsp, st, der, len, &a);
	return reply(r, &a, is_get);
}

static enum mca_http_result
malformed(struct mca_req *r)
{
	struct mca_ocsp_answer a;
	size_t n = 0;

	mca_ocsp_count(mca_req_server(r)->ocsp, MCA_OCSP_OUT_MALFORMED);
	memset(&a, 0, sizeof(a));
	a.der = mca_ocsp_error_response(MCA_OCSP_MALFORMED, &n);
	a.der_len = n;
	return reply(r, &a, 0);
}

enum mca_http_result
mca_ep_ocsp_post(struct mca_req *r)
{
	const char *type = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Type");

	if (mca_req_server(r)->ocsp == NULL)
		return mca_reply_error(r, 404, "not_found", "the OCSP responder is off");
	if (type == NULL || strncasecmp(type, "application/ocsp-request", 24) != 0 ||
	    (type[24] != '\0' && type[24] != ';')) {
		mca_ocsp_count(mca_req_server(r)->ocsp, MCA_OCSP_OUT_MALFORMED);
		return mca_reply_error(r, 415, "unsupported_media_type",
		                       "an OCSP request is application/ocsp-request");
	}
	if (r->body_len > MCA_OCSP_REQUEST_MAX)
		return malformed(r);
	return answer(r, (const unsigned char *)r->body, r->body_len, 0);
}

enum mca_http_result
mca_ep_ocsp_get(struct mca_req *r)
{
	const char *in = r->path_arg ? r->path_arg : "";
	char buf[(MCA_OCSP_REQUEST_MAX + 2) / 3 * 4 + 4];
	unsigned char *der = NULL;
	size_t n = 0, len = 0, i;
	enum mca_http_result res;
	int hi, lo;

	if (mca_req_server(r)->ocsp == NULL)
		return mca_reply_error(r, 404, "not_found", "the OCSP responder is off");
	/* percent-decoded (again, harmless: base64 has no '%'), to base64url, unpadded */
	for (i = 0; in[i] != '\0'; i++) {
		if (n >= sizeof(buf) - 1)
			return malformed(r);
		if (in[i] == '%' && (hi = hexval(in[i + 1])) >= 0 &&
		    (lo = hexval(in[i + 2])) >= 0) {
			buf[n] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			buf[n] = in[i];
		}
		buf[n] = buf[n] == '+' ? '-' : buf[n] == '/' ? '_' : buf[n];
		n++;
	}
	while (n > 0 && buf[n - 1] == '=')
		n--;
	if (n == 0 || mca_b64url_decode(buf, n, &der, &len) != 1) {
		free(der);
		return malformed(r);
	}
	res = answer(r, der, len, 1);
	free(der);
	return res;
}
