/*
 * reply.c - ACME replies: JSON, raw bodies and problem documents with the
 * common headers (acme/reply.h).
 */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acme/reply.h"
#include "common/jsonx.h"
#include "common/log.h"
#include "common/util.h"
#include "daemon/nonce.h"

/* Headers every ACME reply carries, and a nonce when the request needs one. */
static void
common_headers(struct acme_ctx *c, struct MHD_Response *resp)
{
	struct mca_error err = {0};
	char link[700], nonce[MCA_NONCE_LEN + 1], retry[24];

	if (c->want_nonce) {
		if (mca_nonce_issue(c->nonces, (int64_t)mca_now(), nonce, &err) == MCA_OK)
			MHD_add_response_header(resp, "Replay-Nonce", nonce);
		else
			mca_log(MCA_LOG_ERR, "acme: no nonce: %s", err.msg);
	}
	if (c->retry_after > 0) {
		snprintf(retry, sizeof(retry), "%lld", (long long)c->retry_after);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, retry);
	}
	snprintf(link, sizeof(link), "<%s/directory>;rel=\"index\"", c->base);
	MHD_add_response_header(resp, "Link", link);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
}

enum mca_http_result
acme_reply_text(struct acme_ctx *c, unsigned status, const char *ctype, const char *body,
                size_t len)
{
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);

	if (resp == NULL)
		return MCA_HTTP_FAIL;
	if (ctype != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	common_headers(c, resp);
	return mca_reply_response(c->r, status, resp);
}

enum mca_http_result
acme_reply(struct acme_ctx *c, unsigned status, json_t *j, const char *location, const char *up)
{
	struct MHD_Response *resp;
	char *text, link[700];

	if (j == NULL)
		return acme_problem(c, 500, ACME_ERR("serverInternal"), "building a reply failed");
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (text == NULL)
		return acme_problem(c, 500, ACME_ERR("serverInternal"), "encoding a reply failed");
	resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(text);
		return MCA_HTTP_FAIL;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	if (location != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, location);
	if (up != NULL) {
		snprintf(link, sizeof(link), "<%s>;rel=\"up\"", up);
		MHD_add_response_header(resp, "Link", link);
	}
	common_headers(c, resp);
	return mca_reply_response(c->r, status, resp);
}

enum mca_http_result
acme_problem(struct acme_ctx *c, unsigned status, const char *type, const char *fmt, ...)
{
	static const char fallback[] = "{\"type\":\"urn:ietf:params:acme:error:serverInternal\","
	                               "\"detail\":\"the problem document could not be built\"}";
	char raw[512], detail[768], *text;
	struct MHD_Response *resp;
	json_t *j;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	/* Details quote client bytes (URLs, kids, CSR names): make them valid UTF-8. */
	mca_json_safe_text(detail, sizeof(detail), raw);
	if (status >= 500 && status != 501) {
		mca_log(MCA_LOG_ERR, "acme %s: %s", c->r->path, detail);
		snprintf(detail, sizeof(detail), "internal error");
	} else {
		mca_log(MCA_LOG_NOTICE, "acme %s: %s: %s", c->r->path, type + 27, detail);
	}
	j = json_pack("{s:s, s:s, s:i}", "type", type, "detail", detail, "status", (int)status);
	/* RFC 8555 6.2: say which algorithms are acceptable. */
	if (j != NULL && strcmp(type, ACME_ERR("badSignatureAlgorithm")) == 0)
		json_object_set_new(j, "algorithms",
		                    json_pack("[s, s, s, s]", "ES256", "ES384", "RS256", "EdDSA"));
	text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (text == NULL) {
		mca_log(MCA_LOG_ERR, "acme %s: could not build a problem document", c->r->path);
		resp = MHD_create_response_from_buffer(
		    strlen(fallback), (void *)(uintptr_t)fallback, MHD_RESPMEM_PERSISTENT);
	} else {
		resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
		if (resp == NULL)
			free(text);
	}
	if (resp == NULL)
		return MCA_HTTP_FAIL;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/problem+json");
	common_headers(c, resp); /* Retry-After too, when c->retry_after is set */
	return mca_reply_response(c->r, status, resp);
}

const char *
acme_url(const struct acme_ctx *c, const char *kind, const char *id, char *buf, size_t len)
{
	if (id != NULL)
		snprintf(buf, len, "%s/%s/%s", c->base, kind, id);
	else
		snprintf(buf, len, "%s/%s", c->base, kind);
	return buf;
}
