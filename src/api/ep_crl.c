/*
 * ep_crl.c - GET /crl, /crl.pem (the issuing CA's CRL), /crl/K, /crl/K.pem
 * (shard K's, with crl.shards) and /root.crl,
 * /root.crl.pem (the root's CRL of the issuing-CA level), from memory,
 * with ETag, Last-Modified and a max-age that never reaches past
 * nextUpdate; If-None-Match gets 304.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/http.h"
#include "common/util.h"

/* Free callback for MHD: drops the snapshot reference the response held. */
static void
snap_done(void *cls)
{
	mca_crl_snap_release(cls);
}

/* Whether If-None-Match lists `etag` (or is "*"). */
static int
etag_matches(struct MHD_Connection *c, const char *etag)
{
	const char *inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "If-None-Match");

	return inm != NULL && (strcmp(inm, "*") == 0 || strstr(inm, etag) != NULL);
}

/* Serve snapshot `s` (its reference passes to the response); NULL: 404 naming `what`. */
static enum mca_http_result
serve_snap(struct mca_req *r, struct mca_crl_snap *s, const char *what, int pem)
{
	struct MHD_Response *resp;
	const char *body = NULL;
	size_t body_len = 0;
	char lm[64], cc[64];
	int64_t now = (int64_t)mca_now(), age;
	time_t tu;
	struct tm tm;
	int not_modified;

	if (s == NULL)
		return mca_reply_error(r, 404, "not_found", "no %s CRL has been published", what);
	not_modified = etag_matches(r->conn, s->etag);
	if (!not_modified && pem && (body = mca_crl_snap_pem(s, &body_len)) == NULL) {
		mca_crl_snap_release(s);
		return mca_reply_error(r, 500, "internal",
		                       "encoding the CRL as PEM: out of memory");
	}
	if (!pem) {
		body = (const char *)s->der;
		body_len = s->der_len;
	}
	resp = not_modified ? MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT)
	                    : MHD_create_response_from_buffer_with_free_callback_cls(
	                          body_len, (void *)(uintptr_t)body, snap_done, s);
	if (resp == NULL) {
		mca_crl_snap_release(s);
		return MCA_HTTP_FAIL;
	}
	tu = (time_t)s->this_update;
	gmtime_r(&tu, &tm);
	strftime(lm, sizeof(lm), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	age = s->next_update - now;
	/* Cache for a fraction of the remaining life, never past nextUpdate. */
	snprintf(cc, sizeof(cc), "public, max-age=%lld",
	         (long long)(age <= 0    ? 0
	                     : age > 600 ? 600
	                                 : age));
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, s->etag);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_LAST_MODIFIED, lm);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, cc);
	if (!not_modified)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
		                        pem ? "application/x-pem-file" : "application/pkix-crl");
	else
		mca_crl_snap_release(s);
	return mca_reply_response(r, not_modified ? 304 : 200, resp);
}

static enum mca_http_result
serve(struct mca_req *r, enum mca_crl_which which, int pem)
{
	return serve_snap(r, mca_crlcache_get(mca_req_server(r)->crls, which),
	                  mca_crl_which_name(which), pem);
}

/*
 * GET /crl/K and /crl/K.pem: shard K's CRL (crl.shards).  K is decimal
 * without leading zeros, below the number of shards; anything else 404.
 */
enum mca_http_result
mca_ep_crl_shard(struct mca_req *r)
{
	const char *k = r->path + strlen("/crl/"), *end;
	unsigned long n = 0;
	size_t digits;
	int pem = 0;

	digits = strspn(k, "0123456789");
	end = k + digits;
	if (strcmp(end, ".pem") == 0)
		pem = 1;
	else if (*end != '\0')
		digits = 0;
	if (digits == 0 || digits > 5 || (k[0] == '0' && digits > 1))
		return mca_reply_error(r, 404, "not_found", "no such CRL");
	n = strtoul(k, NULL, 10);
	if (n >= mca_crlcache_shards(mca_req_server(r)->crls))
		return mca_reply_error(r, 404, "not_found", "no CRL shard %lu (crl.shards is %u)",
		                       n, mca_crlcache_shards(mca_req_server(r)->crls));
	return serve_snap(r, mca_crlcache_get_shard(mca_req_server(r)->crls, (unsigned)n), "shard",
	                  pem);
}

enum mca_http_result
mca_ep_crl(struct mca_req *r)
{
	return serve(r, MCA_CRL_CA, 0);
}

enum mca_http_result
mca_ep_crl_pem(struct mca_req *r)
{
	return serve(r, MCA_CRL_CA, 1);
}

enum mca_http_result
mca_ep_root_crl(struct mca_req *r)
{
	return serve(r, MCA_CRL_ROOT, 0);
}

enum mca_http_result
mca_ep_root_crl_pem(struct mca_req *r)
{
	return serve(r, MCA_CRL_ROOT, 1);
}
