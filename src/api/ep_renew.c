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

/*
 * A renewal waiting for its signature and group commit (mca_req_defer);
 * freed with the request.  The issuing stage borrows d (with csr and the
 * snapshot's profile and issuer) and iss until `renew_recorded`.
 */
struct renew_pending {
	struct mca_req *r;
	struct mca_profile_snap *snap;
	struct mca_csr *csr;
	struct mca_decision d;
	struct mca_issued iss;
	struct mca_error err;
	mca_rc rc;
};

static void
renew_pending_free(void *arg)
{
	struct renew_pending *p = arg;

	if (p == NULL)
		return;
	mca_issued_clear(&p->iss);
	mca_decision_clear(&p->d);
	mca_csr_free(p->csr);
	mca_profile_snap_release(p->snap);
	free(p);
}

/* The certificate's outcome, on the committer thread (the signing thread's when it failed there).
 */
static void
renew_recorded(void *arg, mca_rc rc, const struct mca_error *err)
{
	struct renew_pending *p = arg;

	p->rc = rc;
	if (err != NULL)
		p->err = *err;
	mca_req_resume(p->r); /* p may be gone from here on */
}

/* The reply once the batch is durable (or failed), on the request's MHD thread. */
static enum mca_http_result
renew_reply(struct mca_req *r, struct renew_pending *p)
{
	const char *profile = mca_req_id(r)->rec->profile;

	if (p->rc != MCA_OK) {
		mca_issued_clear(&p->iss); /* not recorded: never handed out */
		return mca_reply_issue_error(r, &p->err, profile);
	}
	mca_metrics_count(mca_req_server(r)->metrics, MCA_M_RENEWED, profile);
	return mca_reply_issued(r, &p->iss, profile);
}

static enum mca_http_result
renew_resumed(struct mca_req *r)
{
	return renew_reply(r, r->defer_state);
}

enum mca_http_result
mca_ep_renew(struct mca_req *r)
{
	struct renew_body b = {NULL};
	struct mca_error err = {0};
	struct mca_issue_req req;
	struct renew_pending *p = NULL;
	struct mca_store *st;
	struct mca_signq *q = mca_req_server(r)->signq;
	enum mca_http_result res;
	char **names = NULL;
	size_t i;
	mca_rc rc;

	if (!mca_http_require_identity(r, 0, &res))
		return res;
	if (mca_json_unpack(r->json, renew_fields, 1, &b, "request body", &err) != MCA_OK)
		return mca_reply_error(r, 400, "bad_request", "%s", err.msg);
	st = mca_server_store(mca_req_server(r), &err);
	if (st == NULL)
		return mca_reply_error(r, 500, "internal", "database: %s", err.msg);
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return mca_reply_error(r, 500, "internal", "out of memory");
	p->r = r;
	rc = b.csr != NULL ? mca_csr_parse(b.csr, strlen(b.csr), &p->csr, &err)
	                   : mca_csr_from_cert(mca_req_id(r)->cert, &p->csr, &err);
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
	req.csr = p->csr;
	req.profile = mca_req_id(r)->rec->profile;
	req.committer = mca_req_server(r)->committer;
	req.auth = MCA_ISSUE_RENEWAL;
	req.allowed_names = (const char *const *)names;
	req.requester = r->identity;
	req.actor = r->identity;
	req.action = "renew";
	p->snap = mca_server_profiles(mca_req_server(r));
	if (mca_issue_decide(p->snap->issuer, st, &req, &p->d, &err) != MCA_OK) {
		res = mca_reply_issue_error(r, &err, mca_req_id(r)->rec->profile);
		goto out;
	}
	if (req.committer == NULL || q == NULL) {
		res = mca_reply_error(r, 500, "internal", "no issuing stage");
		goto out;
	}
	/*
	 * Signed on the issuing stage's thread, in a batch with others, and
	 * recorded: the connection is suspended until the batch is durable
	 * (or failed), and replied to only then.
	 */
	res = mca_issue_deferred(r, q, p->snap->issuer, &req, &p->d, &p->iss, renew_recorded,
	                         renew_resumed, p, renew_pending_free, &p->rc, &p->err);
	p = NULL; /* the request's now */
out:
	renew_pending_free(p);
	for (i = 0; names != NULL && names[i] != NULL; i++)
		free(names[i]);
	free(names);
	return res;
}
