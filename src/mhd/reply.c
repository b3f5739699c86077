/*
 * reply.c - every reply of the HTTP layer goes out through here: common
 * headers, one reply per request, the {"error","message"} model of
 * doc/api.md with 5xx details kept in the log.  Never calls back into
 * dispatch or into any endpoint.
 */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonx.h"
#include "common/log.h"
#include "mhd/mhd.h"

/* Queue `resp` with the headers every reply carries; consumes `resp`. */
enum mca_http_result
mca_reply_response(struct mca_req *r, unsigned status, struct MHD_Response *resp)
{
	enum MHD_Result ok;

	if (resp == NULL)
		return MCA_HTTP_FAIL;
	if (r->status != 0) {
		/* A second reply is our bug: keep the first. */
		mca_log(MCA_LOG_ERR, "bug: second reply (%u) to %s %s", status, r->method, r->path);
		MHD_destroy_response(resp);
		return MCA_HTTP_QUEUED;
	}
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	ok = MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	if (ok != MHD_YES)
		return MCA_HTTP_FAIL;
	r->status = status;
	return MCA_HTTP_QUEUED;
}

static struct MHD_Response *
response_new(const char *content_type, const void *body, size_t len)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
	if (resp != NULL && content_type != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	return resp;
}

enum mca_http_result
mca_reply_bytes(struct mca_req *r, unsigned status, const char *content_type, const void *body,
                size_t len)
{
	return mca_reply_response(r, status, response_new(content_type, body, len));
}

enum mca_http_result
mca_reply_json(struct mca_req *r, unsigned status, json_t *j)
{
	char *text;
	enum mca_http_result res;

	if (j == NULL)
		return mca_reply_error(r, 500, "internal", "building a JSON reply failed");
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (text == NULL)
		return mca_reply_error(r, 500, "internal", "encoding a JSON reply failed");
	res = mca_reply_bytes(r, status, "application/json", text, strlen(text));
	free(text);
	return res;
}

/* Last resort when the JSON of an error cannot be built: fixed bytes. */
static const char fallback_error[] = "{\"error\":\"internal\",\"message\":\"the error reply could "
                                     "not be built\"}";

/*
 * Build the {"error","message"} body; `allow` adds an Allow header (405).
 * Messages quote client bytes (paths, serials, CSR names): they are made
 * valid UTF-8 here, in the one place every error reply passes, so the
 * reply is always sent.
 */
static enum mca_http_result
reply_error_v(struct mca_req *r, unsigned status, const char *code, const char *allow,
              const char *fmt, va_list ap)
{
	char raw[512], msg[768];
	json_t *j;
	char *text;
	struct MHD_Response *resp;

	vsnprintf(raw, sizeof(raw), fmt, ap);
	mca_json_safe_text(msg, sizeof(msg), raw);
	if (status >= 500) {
		/* Our failure: details to the log, never to the client. */
		mca_log(MCA_LOG_ERR, "%s %s: %s", r->method, r->path ? r->path : "?", msg);
		snprintf(msg, sizeof(msg), "internal error");
	}
	j = json_pack("{s:s, s:s}", "error", code, "message", msg);
	text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (text == NULL) {
		mca_log(MCA_LOG_ERR, "%s %s: could not build the JSON of a %u error", r->method,
		        r->path ? r->path : "?", status);
		resp = response_new("application/json", fallback_error, strlen(fallback_error));
	} else {
		resp = response_new("application/json", text, strlen(text));
		free(text);
	}
	if (resp != NULL && allow != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	return mca_reply_response(r, status, resp);
}

enum mca_http_result
mca_reply_error(struct mca_req *r, unsigned status, const char *code, const char *fmt, ...)
{
	va_list ap;
	enum mca_http_result res;

	va_start(ap, fmt);
	res = reply_error_v(r, status, code, NULL, fmt, ap);
	va_end(ap);
	return res;
}

enum mca_http_result
mca_reply_405(struct mca_req *r, const char *allow, ...)
{
	va_list ap;
	enum mca_http_result res;

	va_start(ap, allow);
	res = reply_error_v(r, 405, "method_not_allowed", allow,
	                    "%s not allowed on %s (allowed: %s)", ap);
	va_end(ap);
	return res;
}
