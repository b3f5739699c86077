/*
 * ep_renew.c - POST /v1/renew: the holder of a current certificate gets a
 * fresh one with the same profile and names; {} keeps the key, {"csr"}
 * re-keys.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "api/http.h"
#include "common/jsonx.h"
#include "pki/csr.h"

struct renew_body {
	const char *csr;
};

static const struct mca_jfield renew_fields[] = {
    MCA_JFIELD(struct renew_body, csr, MCA_J_STRING, 0),
};

/* The names of the certificate being renewed, as a NULL-terminated array. */
static char **
old_names(const char *json_text)
{
	json_t *arr = json_loads(json_text, 0, NULL);
	size_t i, n = json_is_array(arr) ? json_array_size(arr) : 0;
	char **v = calloc(n + 1, sizeof(char *));

	for (i = 0; v != NULL && i < n; i++) {
		const char *s = json_string_value(json_array_get(arr, i));

		v[i] = strdup(s != NULL ? s : "");
		if (v[i] == NULL) {
			/* A short list would change the names: fail instead. */
			while (i > 0)
				free(v[--i]);
			free(v);
			v = NULL;
		}
	}
	json_decref(arr);
	return v;
}

enum mca_http_result
mca_ep_renew(struct mca_req *r)
{
	struct renew_body b = {NULL};
	struct mca_error err = {0};
	struct mca_issue_req req;
	struct mca_issued iss;
	struct mca_profile_snap *snap;
	struct mca_csr *csr = NULL;
	struct mca_store *st;
	enum mca_http_result res;
	char **names = NULL;
	size_t i;
	mca_rc rc;

	memset(&iss, 0, sizeof(iss));
	if (!mca_http_require_identity(r, 0, &res))
		return res;
	if (mca_json_unpack(r->json, renew_fields, 1, &b, "request body", &err) != MCA_OK)
		return mca_reply_error(r, 400, "bad_request", "%s", err.msg);
	st = mca_server_store(mca_req_server(r), &err);
	if (st == NULL)
		return mca_reply_error(r, 500, "internal", "database: %s", err.msg);
	rc = b.csr != NULL ? mca_csr_parse(b.csr, strlen(b.csr), &csr, &err)
	                   : mca_csr_from_cert(mca_req_id(r)->cert, &csr, &err);
	if (rc != MCA_OK) {
		res = mca_reply_issue_error(r, &err, mca_req_id(r)->rec->profile);
		goto out;
	}
	names = old_names(mca_req_id(r)->rec->names);
	if (names == NULL) {
		res = mca_reply_error(r, 500, "internal", "out of memory");
		goto out;
	}
	memset(&req, 0, sizeof(req));
	req.csr = csr;
	req.profile = mca_req_id(r)->rec->profile;
	req.committer = mca_req_server(r)->committer;
	req.auth = MCA_ISSUE_RENEWAL;
	req.allowed_names = (const char *const *)names;
	req.requester = r->identity;
	req.actor = r->identity;
	req.action = "renew";
	snap = mca_server_profiles(mca_req_server(r));
	rc = mca_issue(snap->issuer, st, &req, &iss, &err);
	mca_profile_snap_release(snap);
	if (rc != MCA_OK) {
		res = mca_reply_issue_error(r, &err, mca_req_id(r)->rec->profile);
		goto out;
	}
	mca_metrics_count(mca_req_server(r)->metrics, MCA_M_RENEWED, mca_req_id(r)->rec->profile);
	res = mca_reply_issued(r, &iss, mca_req_id(r)->rec->profile);
out:
	for (i = 0; names != NULL && names[i] != NULL; i++)
		free(names[i]);
	free(names);
	mca_issued_clear(&iss);
	mca_csr_free(csr);
	return res;
}
