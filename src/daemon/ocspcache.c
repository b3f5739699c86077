/* ocspcache.c - the OCSP responder and its pre-signed responses (see ocspcache.h). */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "ca/record.h"
#include "common/log.h"
#include "common/util.h"
#include "daemon/ocspcache.h"
#include "pki/certgen.h"
#include "pki/crl.h"
#include "pki/keys.h"
#include "pki/serial.h"

#define NBUCKETS 65536

struct mca_ocsp_resp {
	atomic_int refs;
	unsigned char *der;
	size_t der_len;
	int64_t this_update, next_update, refresh_at;
	char etag[24];
	/* the cache's (immutable once inserted, but gen) */
	unsigned char *key; /* CertID DER */
	size_t key_len;
	char serial[MCA_SERIAL_HEX_MAX];
	enum mca_ocsp_cstatus status;
	int64_t revoked_at;
	atomic_uint_fast64_t gen;
	struct mca_ocsp_resp *next; /* bucket chain, under the table lock */
};

/* The delegated responder: its certificate and the signer of its key. */
struct responder {
	atomic_int refs;
	struct mca_signer *signer;
	unsigned char *cert_der;
	size_t cert_len;
	unsigned char key_hash[20];
	int64_t not_before, not_after, epoch;
	char serial[MCA_SERIAL_HEX_MAX];
};

static const int64_t age_buckets[] = {60, 600, 3600, 6 * 3600, 86400, 7 * 86400};
#define NAGE (sizeof(age_buckets) / sizeof(age_buckets[0]))

struct mca_ocsp {
	struct mca_ocsp_conf conf;
	mca_ocsp_key_fn key_fn;
	void *key_arg;
	struct mca_signer *ca_signer, *root_signer;
	X509 *ca_cert, *root_cert;
	struct mca_ocsp_issuer_id ca_id, root_id;
	unsigned char root_key_hash[20];
	char *ca_name, *root_name; /* as certificates.issuer holds them */

	pthread_mutex_t resp_lock; /* guards the pointer `resp` only */
	struct responder *resp;
	atomic_int need_renew;

	pthread_rwlock_t lock; /* the table */
	struct mca_ocsp_resp **buckets;
	size_t count;
	atomic_uint_fast64_t gen;
	atomic_llong last_check_ms, crl_number;

	pthread_mutex_t rate_lock;
	double tokens;
	int64_t rate_ms;

	atomic_ullong outcomes[MCA_OCSP_OUT__COUNT];
	atomic_ullong ages[NAGE + 1], age_count, signatures, hits, misses;
	atomic_llong age_sum;
};

static const char *const outcome_names[MCA_OCSP_OUT__COUNT] = {
    "good", "revoked", "unknown", "malformedRequest", "unauthorized", "tryLater", "internalError",
};

const char *
mca_ocsp_outcome_name(enum mca_ocsp_outcome o)
{
	return (unsigned)o < MCA_OCSP_OUT__COUNT ? outcome_names[o] : "internalError";
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
responder_release(struct responder *r)
{
	if (r == NULL || atomic_fetch_sub(&r->refs, 1) != 1)
		return;
	mca_signer_free(r->signer);
	free(r->cert_der);
	free(r);
}

static struct responder *
responder_get(struct mca_ocsp *o)
{
	struct responder *r;

	pthread_mutex_lock(&o->resp_lock);
	r = o->resp;
	if (r != NULL)
		atomic_fetch_add(&r->refs, 1);
	pthread_mutex_unlock(&o->resp_lock);
	return r;
}

void
mca_ocsp_resp_release(struct mca_ocsp_resp *r)
{
	if (r == NULL || atomic_fetch_sub(&r->refs, 1) != 1)
		return;
	free(r->der);
	free(r->key);
	free(r);
}

mca_rc
mca_ocsp_new(const struct mca_ocsp_conf *c, mca_ocsp_key_fn key_fn, void *key_arg,
             struct mca_signer *ca_signer, X509 *ca_cert, struct mca_signer *root_signer,
             X509 *root_cert, struct mca_ocsp **out, struct mca_error *err)
{
	struct mca_ocsp *o;
	unsigned char h[MCA_OCSP_HASH_MAX];
	size_t hlen = 0;
	mca_rc rc;

	*out = NULL;
	o = calloc(1, sizeof(*o));
	if (o == NULL)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	o->conf = *c;
	o->key_fn = key_fn;
	o->key_arg = key_arg;
	o->ca_signer = ca_signer;
	o->root_signer = root_signer;
	o->ca_cert = ca_cert;
	o->root_cert = root_cert;
	pthread_mutex_init(&o->resp_lock, NULL);
	pthread_mutex_init(&o->rate_lock, NULL);
	pthread_rwlock_init(&o->lock, NULL);
	o->tokens = c->on_demand_per_second;
	o->rate_ms = now_ms();
	o->buckets = calloc(NBUCKETS, sizeof(*o->buckets));
	o->ca_name = mca_name_string(X509_get_subject_name(ca_cert));
	o->root_name = mca_name_string(X509_get_subject_name(root_cert));
	if (o->buckets == NULL || o->ca_name == NULL || o->root_name == NULL) {
		mca_ocsp_free(o);
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	}
	if ((rc = mca_ocsp_issuer_id(ca_cert, &o->ca_id, err)) != MCA_OK ||
	    (rc = mca_ocsp_issuer_id(root_cert, &o->root_id, err)) != MCA_OK ||
	    (root_signer != NULL &&
	     (rc = mca_ocsp_key_hash(mca_signer_pubkey(root_signer), MCA_OCSP_SHA1, h, &hlen,
	                             err)) != MCA_OK)) {
		mca_ocsp_free(o);
		return rc;
	}
	memcpy(o->root_key_hash, h, sizeof(o->root_key_hash));
	*out = o;
	return MCA_OK;
}

static void
table_clear(struct mca_ocsp *o)
{
	struct mca_ocsp_resp *e, *next;
	size_t i;

	for (i = 0; i < NBUCKETS; i++) {
		for (e = o->buckets[i]; e != NULL; e = next) {
			next = e->next;
			mca_ocsp_resp_release(e);
		}
		o->buckets[i] = NULL;
	}
	o->count = 0;
}

void
mca_ocsp_free(struct mca_ocsp *o)
{
	if (o == NULL)
		return;
	if (o->buckets != NULL)
		table_clear(o);
	free(o->buckets);
	responder_release(o->resp);
	free(o->ca_name);
	free(o->root_name);
	pthread_rwlock_destroy(&o->lock);
	pthread_mutex_destroy(&o->resp_lock);
	pthread_mutex_destroy(&o->rate_lock);
	free(o);
}

/* ---- the delegated responder certificate ---- */

/* Certify the signer process's current OCSP key: a new struct responder. */
static mca_rc
certify(struct mca_ocsp *o, struct mca_store *st, int64_t epoch, struct responder **out,
        struct mca_error *err)
{
	struct responder *r = NULL;
	struct mca_certgen g;
	unsigned char serial[MCA_SERIAL_LEN];
	X509_NAME *subject = NULL;
	X509 *cert = NULL;
	char cn[128];
	int64_t now = (int64_t)mca_now(), ca_end;
	unsigned char h[MCA_OCSP_HASH_MAX];
	size_t hlen = 0;
	mca_rc rc;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	atomic_init(&r->refs, 1);
	r->epoch = epoch;
	/*
	 * The probe: the key (in memory, a file or a token) signs for the
	 * public key the certificate will name, before the CA certifies it.
	 */
	if ((rc = o->key_fn(o->key_arg, &r->signer, err)) != MCA_OK ||
	    (rc = mca_signer_probe(r->signer, err)) != MCA_OK ||
	    (rc = mca_ocsp_key_hash(mca_signer_pubkey(r->signer), MCA_OCSP_SHA1, h, &hlen, err)) !=
	        MCA_OK ||
	    (rc = mca_serial_generate(serial, err)) != MCA_OK)
		goto out;
	memcpy(r->key_hash, h, sizeof(r->key_hash));
	mca_hex(serial, sizeof(serial), r->serial);
	subject = X509_NAME_new();
	snprintf(cn, sizeof(cn), "OCSP responder %02x%02x%02x%02x", serial[0], serial[1], serial[2],
	         serial[3]);
	if (subject == NULL || !X509_NAME_add_entry_by_NID(subject, NID_commonName, MBSTRING_UTF8,
	                                                   (const unsigned char *)cn, -1, -1, 0)) {
		rc = mca_error_ssl(err, MCA_ERR_NOMEM, "responder name");
		goto out;
	}
	ca_end = mca_asn1_time_unix(X509_get0_notAfter(o->ca_cert));
	memset(&g, 0, sizeof(g));
	g.serial = serial;
	g.serial_len = sizeof(serial);
	g.subject = subject;
	g.pubkey = mca_signer_pubkey(r->signer);
	g.issuer = o->ca_cert;
	g.not_before = now - 300; /* relying parties whose clocks are a little behind */
	g.not_after = now + o->conf.cert_validity < ca_end ? now + o->conf.cert_validity : ca_end;
	g.key_usage = MCA_KU_DIGITAL_SIGNATURE;
	g.ext_key_usage = MCA_EKU_OCSP_SIGNING;
	g.ocsp_nocheck = 1;
	if ((rc = mca_certgen_build(&g, &cert, err)) != MCA_OK ||
	    (rc = mca_signer_sign_cert(o->ca_signer, &cert, err)) != MCA_OK ||
	    (rc = mca_cert_to_der(cert, &r->cert_der, &r->cert_len, err)) != MCA_OK ||
	    (rc = mca_record_cert(st, cert, "ocsp-responder", "mtlscad", "mtlscad", "issue",
	                          err)) != MCA_OK)
		goto out;
	r->not_before = g.not_before;
	r->not_after = g.not_after;
	*out = r;
	r = NULL;
out:
	X509_free(cert);
	X509_NAME_free(subject);
	responder_release(r);
	return rc;
}

/* The CRL number moved (a revocation elsewhere): everything is checked again. */
static void
check_crl_number(struct mca_ocsp *o, struct mca_store *st)
{
	int64_t n = 0;

	if (mca_store_crl_max_number(st, "ca", &n, NULL) != MCA_OK)
		return;
	if (atomic_exchange(&o->crl_number, (long long)n) != (long long)n)
		mca_ocsp_changed(o);
}

mca_rc
mca_ocsp_tick(struct mca_ocsp *o, struct mca_store *st, int64_t signer_epoch, struct mca_error *err)
{
	struct responder *cur = responder_get(o), *fresh = NULL, *old;
	int64_t now = (int64_t)mca_now();
	mca_rc rc = MCA_OK;

	atomic_store(&o->last_check_ms, (long long)now_ms());
	check_crl_number(o, st);
	if (cur == NULL || cur->epoch != signer_epoch || atomic_load(&o->need_renew) ||
	    now >= cur->not_before + (cur->not_after - cur->not_before) / 2) {
		atomic_store(&o->need_renew, 0);
		rc = certify(o, st, signer_epoch, &fresh, err);
		if (rc == MCA_OK) {
			pthread_mutex_lock(&o->resp_lock);
			old = o->resp;
			o->resp = fresh;
			pthread_mutex_unlock(&o->resp_lock);
			responder_release(old);
			mca_log(MCA_LOG_INFO,
			        "OCSP responder certificate %s issued (for %lld s), signer process "
			        "%lld",
			        fresh->serial, (long long)(fresh->not_after - now),
			        (long long)signer_epoch);
		} else {
			atomic_store(&o->need_renew, 1);
		}
	}
	responder_release(cur);
	return rc;
}

/* ---- signing ---- */

static void
set_etag(struct mca_ocsp_resp *e)
{
	unsigned char md[32];
	unsigned int n = 0;

	EVP_Digest(e->der, e->der_len, md, &n, EVP_sha256(), NULL);
	snprintf(e->etag, sizeof(e->etag), "\"%02x%02x%02x%02x%02x%02x%02x%02x%02x%02x\"", md[0],
	         md[1], md[2], md[3], md[4], md[5], md[6], md[7], md[8], md[9]);
}

/* Sign `s` (n of them) with the responder (root: with the root key): a new response. */
static mca_rc
sign(struct mca_ocsp *o, int root, const struct mca_ocsp_single *s, size_t n,
     const unsigned char *nonce, size_t nonce_len, struct mca_ocsp_resp **out,
     struct mca_error *err)
{
	struct responder *r = root ? NULL : responder_get(o);
	struct mca_signer *signer = root ? o->root_signer : r ? r->signer : NULL;
	struct mca_ocsp_resp *e = NULL;
	unsigned char *tbs = NULL, *sig = NULL;
	const unsigned char *alg;
	size_t tbs_len = 0, sig_len = 0, alg_len = 0;
	mca_rc rc;

	*out = NULL;
	if (signer == NULL) {
		rc = mca_error_set(err, MCA_ERR_SIGNER, "no OCSP responder certificate yet");
		goto out;
	}
	e = calloc(1, sizeof(*e));
	if (e == NULL) {
		rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		goto out;
	}
	atomic_init(&e->refs, 1);
	alg = mca_signer_algor_der(signer, &alg_len);
	if ((rc = mca_ocsp_tbs_build(root ? o->root_key_hash : r->key_hash, s[0].this_update, s, n,
	                             nonce, nonce_len, &tbs, &tbs_len, err)) != MCA_OK ||
	    (rc = mca_signer_sign(signer, MCA_SIGN_OCSP, tbs, tbs_len, &sig, &sig_len, err)) !=
	        MCA_OK ||
	    (rc = mca_ocsp_response_wrap(tbs, tbs_len, alg, alg_len, sig, sig_len,
	                                 root ? NULL : r->cert_der, root ? 0 : r->cert_len, &e->der,
	                                 &e->der_len, err)) != MCA_OK) {
		/* a new signer process has a new key: certify it (mca_ocsp_tick) */
		if (err != NULL && strcmp(err->rule, "signer.lint.ocsp_responder") == 0)
			atomic_store(&o->need_renew, 1);
		goto out;
	}
	atomic_fetch_add(&o->signatures, 1);
	e->this_update = s[0].this_update;
	e->next_update = s[0].next_update;
	set_etag(e);
	*out = e;
	e = NULL;
out:
	mca_ocsp_resp_release(e);
	free(tbs);
	free(sig);
	responder_release(r);
	return rc;
}

/* What the database says of `serial` under the CA (root: under the root). */
static mca_rc
status_of(struct mca_ocsp *o, struct mca_store *st, int root, const char *serial,
          struct mca_ocsp_single *s, struct mca_error *err)
{
	struct mca_cert_rec *rec = NULL;
	mca_rc rc;

	s->status = MCA_OCSP_UNKNOWN;
	s->revoked_at = 0;
	s->reason = 0;
	rc = mca_store_cert_get(st, serial, &rec, err);
	if (rc == MCA_ERR_NOTFOUND)
		return MCA_OK;
	if (rc != MCA_OK)
		return rc;
	if (strcmp(rec->issuer, root ? o->root_name : o->ca_name) != 0 ||
	    (root ? strcmp(rec->profile, "ca") != 0
	          : strcmp(rec->profile, "ca") == 0 || strcmp(rec->profile, "root") == 0)) {
		/* not a certificate of this issuer: never issued, as far as it is concerned */
	} else if (strcmp(rec->status, "revoked") == 0) {
		s->status = MCA_OCSP_REVOKED;
		s->revoked_at = rec->revoked_at;
		s->reason = rec->reason ? mca_crl_reason_parse(rec->reason) : 0;
		if (s->reason < 0)
			s->reason = 0;
	} else {
		s->status = MCA_OCSP_GOOD;
	}
	mca_cert_rec_free(rec);
	return MCA_OK;
}

/* ---- the table ---- */

static size_t
bucket_of(const char *serial)
{
	uint32_t h = 2166136261u;

	for (; *serial; serial++)
		h = (h ^ (unsigned char)*serial) * 16777619u;
	return h & (NBUCKETS - 1);
}

/* A fresh cached response for the CertID `key`, with a new reference; NULL when none. */
static struct mca_ocsp_resp *
table_get(struct mca_ocsp *o, const struct mca_ocsp_certid *id, int64_t now)
{
	struct mca_ocsp_resp *e;

	pthread_rwlock_rdlock(&o->lock);
	for (e = o->buckets[bucket_of(id->serial)]; e != NULL; e = e->next)
		if (e->key_len == id->der_len && memcmp(e->key, id->der, id->der_len) == 0)
			break;
	if (e != NULL && now < e->refresh_at)
		atomic_fetch_add(&e->refs, 1);
	else
		e = NULL;
	pthread_rwlock_unlock(&o->lock);
	return e;
}

/* Insert `e` (the table takes a reference), replacing the one of the same CertID. */
static void
table_put(struct mca_ocsp *o, struct mca_ocsp_resp *e)
{
	struct mca_ocsp_resp **pp, *old = NULL;
	size_t b = bucket_of(e->serial);

	pthread_rwlock_wrlock(&o->lock);
	for (pp = &o->buckets[b]; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->key_len == e->key_len && memcmp((*pp)->key, e->key, e->key_len) == 0) {
			old = *pp;
			*pp = old->next;
			o->count--;
			break;
		}
	if (o->count >= o->conf.cache_max) {
		mca_log(MCA_LOG_INFO, "OCSP cache full (%zu responses): emptied", o->count);
		table_clear(o);
	}
	atomic_fetch_add(&e->refs, 1);
	e->next = o->buckets[b];
	o->buckets[b] = e;
	o->count++;
	pthread_rwlock_unlock(&o->lock);
	mca_ocsp_resp_release(old);
}

void
mca_ocsp_revoked(struct mca_ocsp *o, const char *serial)
{
	struct mca_ocsp_resp **pp, *e, *gone = NULL;

	if (o == NULL)
		return;
	atomic_fetch_add(&o->gen, 1);
	pthread_rwlock_wrlock(&o->lock);
	for (pp = &o->buckets[bucket_of(serial)]; *pp != NULL;) {
		e = *pp;
		if (strcmp(e->serial, serial) == 0) {
			*pp = e->next;
			e->next = gone;
			gone = e;
			o->count--;
		} else {
			pp = &e->next;
		}
	}
	pthread_rwlock_unlock(&o->lock);
	while (gone != NULL) {
		e = gone;
		gone = e->next;
		mca_ocsp_resp_release(e);
	}
}

void
mca_ocsp_changed(struct mca_ocsp *o)
{
	if (o != NULL)
		atomic_fetch_add(&o->gen, 1);
}

/* One more signature on demand within on_demand_per_second? */
static int
rate_ok(struct mca_ocsp *o)
{
	int64_t t = now_ms();
	int ok;

	pthread_mutex_lock(&o->rate_lock);
	o->tokens += (double)(t - o->rate_ms) * o->conf.on_demand_per_second / 1000.0;
	if (o->tokens > o->conf.on_demand_per_second)
		o->tokens = o->conf.on_demand_per_second;
	o->rate_ms = t;
	ok = o->tokens >= 1.0;
	if (ok)
		o->tokens -= 1.0;
	pthread_mutex_unlock(&o->rate_lock);
	return ok;
}

static void
error_answer(struct mca_ocsp *o, struct mca_ocsp_answer *a, enum mca_ocsp_outcome out)
{
	enum mca_ocsp_rstatus st = out == MCA_OCSP_OUT_MALFORMED      ? MCA_OCSP_MALFORMED
	                           : out == MCA_OCSP_OUT_UNAUTHORIZED ? MCA_OCSP_UNAUTHORIZED
	                           : out == MCA_OCSP_OUT_TRY_LATER    ? MCA_OCSP_TRY_LATER
	                                                              : MCA_OCSP_INTERNAL_ERROR;

	memset(a, 0, sizeof(*a));
	a->der = mca_ocsp_error_response(st, &a->der_len);
	a->outcome = out;
	atomic_fetch_add(&o->outcomes[out], 1);
}

static void
served(struct mca_ocsp *o, struct mca_ocsp_answer *a, struct mca_ocsp_resp *e,
       enum mca_ocsp_outcome out, int cached, int64_t now)
{
	int64_t age = now - e->this_update;
	size_t i;

	memset(a, 0, sizeof(*a));
	a->resp = e;
	a->der = e->der;
	a->der_len = e->der_len;
	a->outcome = out;
	a->cached = cached;
	a->this_update = e->this_update;
	a->next_update = e->next_update;
	a->etag = e->etag;
	atomic_fetch_add(&o->outcomes[out], 1);
	for (i = 0; i < NAGE && age > age_buckets[i]; i++)
		;
	atomic_fetch_add(&o->ages[i], 1);
	atomic_fetch_add(&o->age_count, 1);
	atomic_fetch_add(&o->age_sum, (long long)(age > 0 ? age : 0));
}

static enum mca_ocsp_outcome
outcome_of(const struct mca_ocsp_single *s, size_t n)
{
	size_t i;
	enum mca_ocsp_outcome out = MCA_OCSP_OUT_GOOD;

	for (i = 0; i < n; i++)
		if (s[i].status == MCA_OCSP_REVOKED)
			return MCA_OCSP_OUT_REVOKED;
		else if (s[i].status == MCA_OCSP_UNKNOWN)
			out = MCA_OCSP_OUT_UNKNOWN;
	return out;
}

void
mca_ocsp_answer(struct mca_ocsp *o, struct mca_store *st, const unsigned char *der, size_t len,
                struct mca_ocsp_answer *a)
{
	struct mca_ocsp_request req;
	struct mca_ocsp_single s[MCA_OCSP_MAX_CERTS];
	struct mca_ocsp_resp *e = NULL;
	struct mca_error err = {0};
	int64_t now = (int64_t)mca_now(), t = now_ms();
	long long last = atomic_load(&o->last_check_ms);
	uint_fast64_t gen;
	int root = -1, r, on_demand;
	size_t i;
	mca_rc rc;

	rc = mca_ocsp_request_parse(der, len, &req, &err);
	if (rc != MCA_OK) {
		error_answer(o, a,
		             rc == MCA_ERR_POLICY ? MCA_OCSP_OUT_UNAUTHORIZED
		                                  : MCA_OCSP_OUT_MALFORMED);
		return;
	}
	/* one issuer for the whole request, and one we answer for */
	for (i = 0; i < req.n; i++) {
		r = mca_ocsp_certid_matches(&req.ids[i], &o->ca_id)     ? 0
		    : mca_ocsp_certid_matches(&req.ids[i], &o->root_id) ? 1
		                                                        : -1;
		if (r < 0 || (root >= 0 && r != root) || (r == 1 && o->root_signer == NULL)) {
			error_answer(o, a, MCA_OCSP_OUT_UNAUTHORIZED);
			return;
		}
		root = r;
	}
	/* revocations by other processes: at most every MCA_OCSP_CHECK_MS */
	if (t - last >= MCA_OCSP_CHECK_MS &&
	    atomic_compare_exchange_strong(&o->last_check_ms, &last, (long long)t))
		check_crl_number(o, st);
	on_demand = req.n > 1 || (req.nonce != NULL && o->conf.nonce);
	gen = atomic_load(&o->gen);
	if (!on_demand && (e = table_get(o, &req.ids[0], now)) != NULL) {
		if (atomic_load(&e->gen) == gen) {
			atomic_fetch_add(&o->hits, 1);
			served(o, a, e, (enum mca_ocsp_outcome)e->status, 1, now);
			return;
		}
		/* checked again after a change: still true, then still served */
		if (status_of(o, st, root, req.ids[0].serial, &s[0], &err) == MCA_OK &&
		    s[0].status == e->status && s[0].revoked_at == e->revoked_at) {
			atomic_store(&e->gen, gen);
			atomic_fetch_add(&o->hits, 1);
			served(o, a, e, (enum mca_ocsp_outcome)e->status, 1, now);
			return;
		}
		mca_ocsp_resp_release(e);
		e = NULL;
	}
	if (on_demand && !rate_ok(o)) {
		error_answer(o, a, MCA_OCSP_OUT_TRY_LATER);
		return;
	}
	for (i = 0; i < req.n; i++) {
		if (status_of(o, st, root, req.ids[i].serial, &s[i], &err) != MCA_OK) {
			mca_log(MCA_LOG_ERR, "OCSP: %s", err.msg);
			error_answer(o, a, MCA_OCSP_OUT_TRY_LATER);
			return;
		}
		s[i].certid = req.ids[i].der;
		s[i].certid_len = req.ids[i].der_len;
		s[i].this_update = now;
		s[i].next_update = now + o->conf.validity;
	}
	rc = sign(o, root, s, req.n, on_demand && o->conf.nonce ? req.nonce : NULL,
	          on_demand && o->conf.nonce ? req.nonce_len : 0, &e, &err);
	if (rc != MCA_OK) {
		mca_log(MCA_LOG_ERR, "OCSP: signing a response: %s", err.msg);
		error_answer(o, a, MCA_OCSP_OUT_TRY_LATER);
		return;
	}
	atomic_fetch_add(&o->misses, 1);
	if (!on_demand) {
		e->key = malloc(req.ids[0].der_len);
		if (e->key != NULL) {
			memcpy(e->key, req.ids[0].der, req.ids[0].der_len);
			e->key_len = req.ids[0].der_len;
			snprintf(e->serial, sizeof(e->serial), "%s", req.ids[0].serial);
			e->status = s[0].status;
			e->revoked_at = s[0].revoked_at;
			e->refresh_at = now + o->conf.refresh;
			atomic_init(&e->gen, gen);
			/* a revocation since the read above: serve it once, keep it not */
			if (atomic_load(&o->gen) == gen)
				table_put(o, e);
		}
	}
	served(o, a, e, outcome_of(s, req.n), !on_demand, now);
}

void
mca_ocsp_count(struct mca_ocsp *o, enum mca_ocsp_outcome outcome)
{
	if (o != NULL && (unsigned)outcome < MCA_OCSP_OUT__COUNT)
		atomic_fetch_add(&o->outcomes[outcome], 1);
}

/* ---- metrics ---- */

char *
mca_ocsp_metrics(struct mca_ocsp *o, int64_t now)
{
	char *buf = NULL;
	size_t len = 0, i;
	unsigned long long cum = 0;
	struct responder *r = responder_get(o);
	size_t count;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL) {
		responder_release(r);
		return NULL;
	}
	fprintf(f, "# HELP mtlsca_ocsp_requests_total OCSP requests, by response status and "
	           "certificate status.\n# TYPE mtlsca_ocsp_requests_total counter\n");
	for (i = 0; i < MCA_OCSP_OUT__COUNT; i++)
		fprintf(f, "mtlsca_ocsp_requests_total{status=\"%s\",answer=\"%s\"} %llu\n",
		        i <= MCA_OCSP_OUT_UNKNOWN ? "successful" : outcome_names[i],
		        i <= MCA_OCSP_OUT_UNKNOWN ? outcome_names[i] : "none",
		        (unsigned long long)atomic_load(&o->outcomes[i]));
	fprintf(f, "# HELP mtlsca_ocsp_response_age_seconds Age (now - thisUpdate) of the "
	           "responses served.\n# TYPE mtlsca_ocsp_response_age_seconds histogram\n");
	for (i = 0; i < NAGE; i++) {
		cum += atomic_load(&o->ages[i]);
		fprintf(f, "mtlsca_ocsp_response_age_seconds_bucket{le=\"%lld\"} %llu\n",
		        (long long)age_buckets[i], cum);
	}
	cum += atomic_load(&o->ages[NAGE]);
	fprintf(f, "mtlsca_ocsp_response_age_seconds_bucket{le=\"+Inf\"} %llu\n", cum);
	fprintf(f, "mtlsca_ocsp_response_age_seconds_sum %lld\n",
	        (long long)atomic_load(&o->age_sum));
	fprintf(f, "mtlsca_ocsp_response_age_seconds_count %llu\n",
	        (unsigned long long)atomic_load(&o->age_count));
	pthread_rwlock_rdlock(&o->lock);
	count = o->count;
	pthread_rwlock_unlock(&o->lock);
	fprintf(f,
	        "# HELP mtlsca_ocsp_cached_responses Pre-signed OCSP responses in memory.\n"
	        "# TYPE mtlsca_ocsp_cached_responses gauge\nmtlsca_ocsp_cached_responses %zu\n"
	        "# HELP mtlsca_ocsp_cache_lookups_total Cache lookups, by result.\n"
	        "# TYPE mtlsca_ocsp_cache_lookups_total counter\n"
	        "mtlsca_ocsp_cache_lookups_total{result=\"hit\"} %llu\n"
	        "mtlsca_ocsp_cache_lookups_total{result=\"miss\"} %llu\n"
	        "# HELP mtlsca_ocsp_signatures_total OCSP responses signed.\n"
	        "# TYPE mtlsca_ocsp_signatures_total counter\nmtlsca_ocsp_signatures_total %llu\n"
	        "# HELP mtlsca_ocsp_responder_expiry_seconds Seconds until the delegated responder "
	        "certificate expires.\n# TYPE mtlsca_ocsp_responder_expiry_seconds gauge\n"
	        "mtlsca_ocsp_responder_expiry_seconds %lld\n",
	        count, (unsigned long long)atomic_load(&o->hits),
	        (unsigned long long)atomic_load(&o->misses),
	        (unsigned long long)atomic_load(&o->signatures),
	        (long long)(r ? r->not_after - now : 0));
	responder_release(r);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}
