/*
 * ocspcache.h - mtlscad's OCSP responder (RFC 6960, RFC 5019): what it
 * answers, who signs, and the responses it keeps in memory.
 *
 * Signing: the issuing CA's certificates are answered by a delegated
 * responder certificate (issued by the CA: EKU OCSPSigning,
 * id-pkix-ocsp-nocheck, `cert_validity`, recorded as profile
 * "ocsp-responder") whose key the signer process generated and holds
 * (signer/proc.h MCA_SIGKEY_OCSP); the issuing CA's own certificate is
 * answered by the root key when it is online (unauthorized otherwise).
 * mca_ocsp_tick() renews the responder certificate at half its life and
 * whenever the signer process (so its key) is new.
 *
 * Pre-signed responses: a request for one certificate without a nonce (or
 * with one while `nonce` is off) gets the cached response of its CertID,
 * signed on the first request, re-signed `refresh` after its thisUpdate
 * (before nextUpdate), dropped at once by mca_ocsp_revoked(), and
 * checked against the database again after mca_ocsp_changed() (another
 * process revoked: the CRL number moved; the request path looks at it at
 * most every MCA_OCSP_CHECK_MS).  At `cache_max` responses the cache is
 * emptied and refills on demand.  Requests with a nonce (when `nonce` is
 * on) or for 2..MCA_OCSP_MAX_CERTS certificates are signed on demand, at
 * most `on_demand_per_second` a second (then tryLater).
 *
 * Thread-safety: every function may be called from any thread, but
 * mca_ocsp_tick only from one (the main thread).
 */
#ifndef MCA_DAEMON_OCSPCACHE_H
#define MCA_DAEMON_OCSPCACHE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "common/err.h"
#include "pki/ocsp.h"
#include "signer/signer.h"
#include "store/store.h"

#define MCA_OCSP_CHECK_MS 200

struct mca_ocsp_conf {
	int64_t validity, refresh, cert_validity; /* seconds */
	int nonce;
	unsigned on_demand_per_second, cache_max;
};

/* What the responder answered, for the metrics and the HTTP reply. */
enum mca_ocsp_outcome {
	MCA_OCSP_OUT_GOOD,
	MCA_OCSP_OUT_REVOKED,
	MCA_OCSP_OUT_UNKNOWN,
	MCA_OCSP_OUT_MALFORMED,
	MCA_OCSP_OUT_UNAUTHORIZED,
	MCA_OCSP_OUT_TRY_LATER,
	MCA_OCSP_OUT_INTERNAL,
	MCA_OCSP_OUT__COUNT
};

/* A signed response: immutable, shared by reference. */
struct mca_ocsp_resp;

struct mca_ocsp_answer {
	struct mca_ocsp_resp *resp; /* NULL for an error response; else release it */
	const unsigned char *der;   /* the OCSPResponse to send (resp's, or static) */
	size_t der_len;
	enum mca_ocsp_outcome outcome;
	int cached;                       /* pre-signed: may carry caching headers */
	int64_t this_update, next_update; /* with cached */
	const char *etag;                 /* with cached: quoted, resp's */
};

struct mca_ocsp;

/*
 * The signer of the responder key as it is now (mtlscad: a client of the
 * signer process's MCA_SIGKEY_OCSP); *out is the caller's.
 */
typedef mca_rc (*mca_ocsp_key_fn)(void *arg, struct mca_signer **out, struct mca_error *err);

/*
 * A responder for `ca_cert` (its delegated responder's key from `key_fn`)
 * and, when `root_signer` is not NULL, for the CA certificates `root_cert`
 * issued.  Everything is borrowed and must outlive it.  No responder
 * certificate yet: call mca_ocsp_tick() before serving.
 */
mca_rc mca_ocsp_new(const struct mca_ocsp_conf *c, mca_ocsp_key_fn key_fn, void *key_arg,
                    struct mca_signer *ca_signer, X509 *ca_cert, struct mca_signer *root_signer,
                    X509 *root_cert, struct mca_ocsp **out, struct mca_error *err);
void mca_ocsp_free(struct mca_ocsp *o);

/*
 * Certify the responder key when there is no certificate, it is past half
 * its life, or the signer process (`signer_epoch` changes with it) or its
 * key is new; look whether the CRL number moved.  Errors are returned for
 * the caller to log; the old certificate (if any) stays in use.
 */
mca_rc mca_ocsp_tick(struct mca_ocsp *o, struct mca_store *st, int64_t signer_epoch,
                     struct mca_error *err);

/* Answer the DER request `req`; `st` is the calling thread's store.  Never fails. */
void mca_ocsp_answer(struct mca_ocsp *o, struct mca_store *st, const unsigned char *req, size_t len,
                     struct mca_ocsp_answer *a);

/* Drop a reference (NULL is fine). */
void mca_ocsp_resp_release(struct mca_ocsp_resp *r);

/* `serial` (canonical hex) was revoked here: its responses go, every other is checked again. */
void mca_ocsp_revoked(struct mca_ocsp *o, const char *serial);

/* Something changed elsewhere: check every cached response against the database again. */
void mca_ocsp_changed(struct mca_ocsp *o);

/* Count one request that never reached mca_ocsp_answer (bad method, type or size). */
void mca_ocsp_count(struct mca_ocsp *o, enum mca_ocsp_outcome outcome);

/* The responder's Prometheus text (malloc'd, NULL when out of memory). */
char *mca_ocsp_metrics(struct mca_ocsp *o, int64_t now);

/* The outcome's name: "good" ... "internalError". */
const char *mca_ocsp_outcome_name(enum mca_ocsp_outcome o);

#endif
