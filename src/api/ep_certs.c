/* ep_certs.c - GET /v1/certificates[/SERIAL]: the inventory. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "api/http.h"
#include "ca/record.h"
#include "common/util.h"
#include "pki/serial.h"

#define PAGE_DEFAULT 100
#define PAGE_MAX     1000

/* GET /v1/certificates/SERIAL: an admin, or the certificate itself. */
enum mca_http_result
mca_ep_cert_get(struct mca_req *r)
{
	struct mca_error err = {0};
	struct mca_cert_rec *rec = NULL;
	struct mca_store *st;
	enum mca_http_result res;
	char serial[MCA_SERIAL_HEX_MAX];

	if (!mca_http_require_identity(r, 0, &res))
		return res;
	if (mca_serial_normalize(r->path_arg, serial, &err) != MCA_OK)
		return mca_reply_error(r, 400, "bad_request", "%s", err.msg);
	if (!mca_req_id(r)->admin && strcmp(serial, mca_req_id(r)->rec->serial) != 0)
		return mca_reply_error(r, 403, "forbidden",
		                       "only an admin or the certificate itself may read it");
	st = mca_server_store(mca_req_server(r), &err);
	if (st == NULL)
		return mca_reply_error(r, 500, "internal", "database: %s", err.msg);
	switch (mca_store_cert_get(st, serial, &rec, &err)) {
	case MCA_OK:
		break;
	case MCA_ERR_NOTFOUND:
		return mca_reply_error(r, 404, "not_found", "%s", err.msg);
	default:
		return mca_reply_error(r, 500, "internal", "%s", err.msg);
	}
	res = mca_reply_json(r, 200, mca_record_to_json(rec, (int64_t)mca_now()));
	mca_cert_rec_free(rec);
	return res;
}

struct query {
	struct mca_cert_filter f;
	char after[MCA_SERIAL_HEX_MAX];
	char bad[160];
};

/* Check one query argument; unknown names and bad values are remembered. */
static enum MHD_Result
query_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct query *q = cls;
	struct mca_error err = {0};
	char *end = NULL;
	long n;

	if (q->bad[0] != '\0')
		return MHD_NO;
	if (value == NULL)
		value = "";
	if (strcmp(key, "status") == 0) {
		if (strcmp(value, "valid") != 0 && strcmp(value, "revoked") != 0 &&
		    strcmp(value, "expired") != 0)
			snprintf(q->bad, sizeof(q->bad),
			         "query 'status' must be valid, revoked or expired");
		q->f.status = value;
	} else if (strcmp(key, "profile") == 0) {
		q->f.profile = value;
	} else if (strcmp(key, "limit") == 0) {
		n = strtol(value, &end, 10);
		if (end == value || *end != '\0' || n < 1 || n > PAGE_MAX)
			snprintf(q->bad, sizeof(q->bad), "query 'limit' must be 1..%d", PAGE_MAX);
		q->f.limit = (int)n;
	} else if (strcmp(key, "after") == 0) {
		if (mca_serial_normalize(value, q->after, &err) != MCA_OK)
			snprintf(q->bad, sizeof(q->bad), "query 'after': %.120s", err.msg);
		q->f.after = q->after;
	} else {
		snprintf(q->bad, sizeof(q->bad), "unknown query parameter '%.64s'", key);
	}
	return q->bad[0] == '\0' ? MHD_YES : MHD_NO;
}

struct page {
	json_t *arr;
	int64_t now;
	char last[MCA_SERIAL_HEX_MAX];
	int n;
};

static int
page_one(void *arg, const struct mca_cert_rec *rec)
{
	struct page *p = arg;

	snprintf(p->last, sizeof(p->last), "%s", rec->serial);
	p->n++;
	return json_array_append_new(p->arr, mca_record_to_json(rec, p->now)) != 0;
}

/* GET /v1/certificates?status=&profile=&limit=&after=: admins, paged by serial. */
enum mca_http_result
mca_ep_cert_list(struct mca_req *r)
{
	struct query q;
	struct page p;
	struct mca_error err = {0};
	struct mca_store *st;
	enum mca_http_result res;

	if (!mca_http_require_identity(r, 1, &res))
		return res;
	memset(&q, 0, sizeof(q));
	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, query_arg, &q);
	if (q.bad[0] != '\0')
		return mca_reply_error(r, 400, "bad_request", "%s", q.bad);
	if (q.f.limit == 0)
		q.f.limit = PAGE_DEFAULT;
	memset(&p, 0, sizeof(p));
	p.now = (int64_t)mca_now();
	q.f.now = p.now;
	p.arr = json_array();
	st = mca_server_store(mca_req_server(r), &err);
	if (p.arr == NULL || st == NULL) {
		json_decref(p.arr);
		return mca_reply_error(r, 500, "internal", "database: %s", err.msg);
	}
	if (mca_store_cert_list(st, &q.f, page_one, &p, &err) != MCA_OK) {
		json_decref(p.arr);
		return mca_reply_error(r, 500, "internal", "%s", err.msg);
	}
	return mca_reply_json(r, 200,
	                      json_pack("{s:o, s:o}", "certificates", p.arr, "next",
	                                p.n == q.f.limit ? json_string(p.last) : json_null()));
}
