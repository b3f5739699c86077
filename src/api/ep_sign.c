/* ep_sign.c - POST /v1/sign: a CSR and an enrollment token in, a certificate out. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/http.h"
#include "ca/token.h"
#include "common/duration.h"
#include "common/jsonx.h"
#include "common/log.h"
#include "common/util.h"
#include "pki/csr.h"

struct sign_body {
	const char *csr, *profile, *validity;
};

static const struct mca_jfield sign_fields[] = {
    MCA_JFIELD(struct sign_body, csr, MCA_J_STRING, 1),
    MCA_JFIELD(struct sign_body, profile, MCA_J_STRING, 0),
    MCA_JFIELD(struct sign_body, validity, MCA_J_STRING, 0),
};

/* The rate-limit key of a token id (the addresses' table holds both kinds). */
static void
token_key(char *buf, size_t len, const char *id)
{
	snprintf(buf, len, "token:%s", id);
}

/*
 * The reply for a refused token.  Only guesses count towards the limit: an
 * unknown id against the client's address, a wrong secret against the
 * address and the token id.  A used-up, expired or revoked token (its
 * secret was right), a malformed header and our own failures count nothing.
 */
static enum mca_http_result
token_refused(struct mca_req *r, enum mca_token_state state, const char *id,
              const struct mca_error *err)
{
	int64_t now = (int64_t)mca_now();
	char key[32];

	switch (state) {
	case MCA_TOKEN_UNKNOWN:
		mca_ratelimit_fail(mca_req_server(r)->ratelimit, r->client, now);
		return mca_reply_error(r, 401, "unauthorized", "unknown token");
	case MCA_TOKEN_BAD_SECRET:
		token_key(key, sizeof(key), id);
		mca_ratelimit_fail(mca_req_server(r)->ratelimit, r->client, now);
		mca_ratelimit_fail(mca_req_server(r)->ratelimit, key, now);
		return mca_reply_error(r, 401, "unauthorized", "unknown token");
	case MCA_TOKEN_REVOKED:
		return mca_reply_error(r, 401, "unauthorized", "the token has been revoked");
	case MCA_TOKEN_EXPIRED:
		return mca_reply_error(r, 401, "token_expired", "the token has expired");
	case MCA_TOKEN_USED:
		return mca_reply_error(r, 401, "token_used", "the token has been used up");
	case MCA_TOKEN_MALFORMED:
		return mca_reply_error(r, 401, "unauthorized",
		                       "the Authorization header is not \"Bearer\" and a token");
	default:
		if (err != NULL && mca_store_unavailable(err->code, err))
			return mca_reply_error(r, 503, "database_unavailable", "token check: %s",
			                       err->msg);
		return mca_reply_error(r, 500, "internal", "token check: %s",
		                       err != NULL ? err->msg : "failed");
	}
}

static enum mca_http_result
rate_limited(struct mca_req *r, int64_t retry, const char *what)
{
	return mca_reply_error(r, 429, "rate_limited",
	                       "too many failed attempts %s; retry in %lld s", what,
	                       (long long)retry);
}

/* "Bearer TOKEN" from the Authorization header, or NULL. */
static const char *
bearer(struct mca_req *r)
{
	const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization");

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	h += 7;
	while (*h == ' ')
		h++;
	return strlen(h) <= MCA_TOKEN_MAX_LEN ? h : NULL;
}

/*
 * A request whose token and certificate are in the hands of the group
 * committer (mca_req_defer): freed with the request context, after the
 * reply.  `use` and `hook` are borrowed by the committer until `recorded`;
 * d (with csr and the snapshot's profile and issuer) and iss by the
 * issuing stage (ca/signq.h) until then.
 */
struct sign_pending {
	struct mca_req *r;
	struct mca_profile_snap *snap;
	struct mca_csr *csr;
	struct mca_decision d;
	struct mca_committer *committer; /* NULL: no hold taken */
	struct mca_token tok;
	struct mca_token_use use;
	struct mca_record_hook hook;
	struct mca_issued iss;
	struct mca_error err;
	mca_rc rc;
	int held; /* a use of tok is held (mca_committer_token_hold) */
};

static void
sign_pending_free(void *arg)
{
	struct sign_pending *p = arg;

	if (p == NULL)
		return;
	if (p->held)
		mca_committer_token_release(p->committer, p->tok.id);
	mca_issued_clear(&p->iss);
	mca_decision_clear(&p->d);
	mca_csr_free(p->csr);
	mca_profile_snap_release(p->snap);
	mca_token_clear(&p->tok);
	free(p);
}

/* The outcome of the certificate and its use, on the committer thread. */
static void
sign_recorded(void *arg, mca_rc rc, const struct mca_error *err)
{
	struct sign_pending *p = arg;

	p->rc = rc;
	if (err != NULL)
		p->err = *err;
	mca_req_resume(p->r); /* p may be gone from here on */
}

/* The reply, once the batch is durable (or failed): on the request's MHD thread. */
static enum mca_http_result
sign_reply(struct mca_req *r, struct sign_pending *p)
{
	struct mca_error err = {0};
	struct mca_store *st;

	if (p->held) {
		mca_committer_token_release(p->committer, p->tok.id);
		p->held = 0;
	}
	if (p->rc == MCA_OK) {
		mca_metrics_count(mca_req_server(r)->metrics, MCA_M_ISSUED, p->tok.profile);
		return mca_reply_issued(r, &p->iss, p->tok.profile);
	}
	/* Nothing was recorded: neither the certificate nor the use. */
	mca_issued_clear(&p->iss);
	if (!p->use.refused)
		return mca_reply_issue_error(r, &p->err, p->tok.profile);
	st = mca_server_store(mca_req_server(r), &err);
	if (st == NULL)
		return mca_reply_error(r, 500, "internal", "database: %s", err.msg);
	return token_refused(r, mca_token_refusal(st, p->tok.id, &err), p->tok.id, &err);
}

static enum mca_http_result
sign_resumed(struct mca_req *r)
{
	return sign_reply(r, r->defer_state);
}

enum mca_http_result
mca_ep_sign(struct mca_req *r)
{
	struct sign_body b = {NULL, NULL, NULL};
	struct mca_error err = {0};
	struct sign_pending *p = NULL;
	struct mca_issue_req req;
	struct mca_signq *q = mca_req_server(r)->signq;
	struct mca_store *st;
	const char *secret;
	char id[MCA_TOKEN_ID_LEN + 1], key[32];
	enum mca_token_state state;
	enum mca_http_result res;
	int64_t validity = 0, retry = 0;

	memset(&req, 0, sizeof(req));
	secret = bearer(r);
	if (!mca_token_id_of(secret, id))
		return token_refused(r, MCA_TOKEN_MALFORMED, NULL, NULL);
	/* Guessing at one token: refused from everywhere, before any check. */
	token_key(key, sizeof(key), id);
	if (mca_ratelimit_blocked(mca_req_server(r)->ratelimit, key, (int64_t)mca_now(), &retry))
		return rate_limited(r, retry, "for this token");
	if (mca_json_unpack(r->json, sign_fields, sizeof(sign_fields) / sizeof(sign_fields[0]), &b,
	                    "request body", &err) != MCA_OK)
		return mca_reply_error(r, 400, "bad_request", "%s", err.msg);
	st = mca_server_store(mca_req_server(r), &err);
	if (st == NULL)
		return mca_reply_error(r, 500, "internal", "database: %s", err.msg);
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return mca_reply_error(r, 500, "internal", "out of memory");
	p->r = r;
	state = mca_token_check(st, secret, &p->tok, &err);
	/*
	 * An address that sprayed unknown ids is refused further unknown ids;
	 * it may still use (and guess at, under the per-token limit) tokens
	 * that exist, so that one guessing client does not lock out everyone
	 * behind the same proxy or NAT.
	 */
	if (state == MCA_TOKEN_UNKNOWN &&
	    mca_ratelimit_blocked(mca_req_server(r)->ratelimit, r->client, (int64_t)mca_now(),
	                          &retry)) {
		res = rate_limited(r, retry, "from this address");
		goto out;
	}
	if (state != MCA_TOKEN_OK) {
		res = token_refused(r, state, id, &err);
		goto out;
	}
	if (b.profile != NULL && strcmp(b.profile, p->tok.profile) != 0) {
		res = mca_reply_error(r, 403, "forbidden",
		                      "the token is for profile '%s', not '%.64s'", p->tok.profile,
		                      b.profile);
		goto out;
	}
	if (b.validity != NULL && mca_duration_parse(b.validity, &validity, &err) != MCA_OK) {
		res = mca_reply_error(r, 400, "bad_request", "field 'validity': %s", err.msg);
		goto out;
	}
	if (mca_csr_parse(b.csr, strlen(b.csr), &p->csr, &err) != MCA_OK) {
		res = mca_reply_issue_error(r, &err, p->tok.profile);
		goto out;
	}
	req.csr = p->csr;
	req.profile = p->tok.profile;
	req.validity = validity;
	req.committer = mca_req_server(r)->committer;
	req.auth = MCA_ISSUE_TOKEN;
	req.allowed_names = (const char *const *)p->tok.names;
	snprintf(r->identity, sizeof(r->identity), "token:%s", p->tok.id);
	req.requester = r->identity;
	req.actor = r->identity;
	req.action = "issue";
	/*
	 * check token -> decide -> hold a use -> sign -> record the
	 * certificate and the use in one transaction (committer.h) -> release.
	 */
	p->snap = mca_server_profiles(mca_req_server(r));
	if (mca_issue_decide(p->snap->issuer, st, &req, &p->d, &err) != MCA_OK) {
		res = mca_reply_issue_error(r, &err, p->tok.profile);
		goto out;
	}
	p->use.id = p->tok.id;
	p->hook.fn = mca_token_use_hook;
	p->hook.arg = &p->use;
	req.on_record = &p->hook;
	/* After every refusal that is the request's fault; in memory, no write. */
	if (req.committer == NULL || q == NULL) {
		res = mca_reply_error(r, 500, "internal", "no issuing stage");
		goto out;
	}
	if (!mca_committer_token_hold(req.committer, p->tok.id, p->tok.uses_left)) {
		res = token_refused(r, MCA_TOKEN_USED, p->tok.id, &err);
		goto out;
	}
	p->committer = req.committer;
	p->held = 1;
	/*
	 * Signed on the issuing stage's thread, in a batch with others, and
	 * recorded with the use: the connection is suspended until the batch
	 * is durable (or failed), and replied to only then.
	 */
	res = mca_issue_deferred(r, q, p->snap->issuer, &req, &p->d, &p->iss, sign_recorded,
	                         sign_resumed, p, sign_pending_free, &p->rc, &p->err);
	p = NULL; /* the request's now */
out:
	sign_pending_free(p);
	return res;
}
