/*
 * issue.h - the issuance engine: CSR + profile + authorization in, a
 * recorded certificate out, in three steps (as Boulder's RA and CA):
 *
 *   decide  policy check and authorization (token names, renewal names,
 *           recorded domain validations); no key is involved;
 *   sign    serial, TBSCertificate, signature through the signer, and the
 *           second look (policy/inspect.h) at what was signed;
 *   record  the certificate row and its audit row in one durable
 *           transaction (doc/durability.md).  Only then is the
 *           certificate handed back.
 *
 * A caller that must do something between the steps (consume a token use
 * after decide, give it back when sign or record fails) calls them one by
 * one; mca_issue() runs all three.
 *
 * A struct mca_issuer is read-only after creation and may be shared by
 * threads; each thread passes its own store.
 */
#ifndef MCA_ISSUE_H
#define MCA_ISSUE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "ca/committer.h"
#include "ca/conf.h"
#include "common/err.h"
#include "pki/csr.h"
#include "pki/serial.h"
#include "policy/policy.h"
#include "policy/profile.h"
#include "signer/signer.h"
#include "store/store.h"

struct mca_issuer;

/*
 * Create an issuer.  Everything passed is borrowed and must outlive it:
 * the CA's signer and certificate, the loaded profiles, and the URLs
 * (CRL distribution point, caIssuers) from the config.
 */
mca_rc mca_issuer_new(struct mca_signer *ca_signer, X509 *ca_cert,
                      const struct mca_profiles *profiles, const char *crl_url,
                      const char *ca_issuers_url, struct mca_issuer **out, struct mca_error *err);

/*
 * Leaves get `ocsp_url` (borrowed, outlives the issuer) as their AIA OCSP
 * responder from now on; call before sharing the issuer with threads.
 */
void mca_issuer_set_ocsp_url(struct mca_issuer *is, const char *ocsp_url);

void mca_issuer_free(struct mca_issuer *is);

/*
 * Partitioned CRLs (ca/publish.h): from now on each certificate gets the
 * CDP shard_url + (serial mod shards) instead of crl_url.  0 shards or a
 * NULL shard_url: crl_url again.  shard_url is borrowed.  Call before the
 * issuer is shared.
 */
void mca_issuer_set_crl_shards(struct mca_issuer *is, unsigned shards, const char *shard_url);

/* How the requester is authorized. */
enum mca_issue_auth {
	MCA_ISSUE_ADMIN,   /* offline CLI or admin API: the profile's request rules only */
	MCA_ISSUE_TOKEN,   /* an enrollment token: names bounded by `allowed_names` */
	MCA_ISSUE_RENEWAL, /* mTLS renewal: names must equal `allowed_names` exactly */
	MCA_ISSUE_ACME,    /* ACME finalize: validations were checked by the ACME layer */
};

struct mca_issue_req {
	const struct mca_csr *csr;
	const char *profile;
	int64_t validity; /* seconds; 0: the profile's default */
	enum mca_issue_auth auth;
	/*
	 * NULL-terminated typed names (names.h: "dns:x", "ip:10.0.0.5" ...) for
	 * TOKEN (DNS patterns allowed) and RENEWAL (exactly these).  A CSR name
	 * matches only a typed name of its own SAN type; untyped entries match
	 * nothing.
	 */
	const char *const *allowed_names;
	/*
	 * Optional: record through this group committer (many issuances per
	 * fsync) instead of a transaction of its own on `st`.
	 */
	struct mca_committer *committer;
	/*
	 * Optional: written in the certificate's own transaction, so that
	 * both or neither are recorded (committer.h).  Without a committer,
	 * `st` must not be inside a transaction.
	 */
	const struct mca_record_hook *on_record;
	const char *requester; /* recorded with the certificate */
	const char *actor;     /* recorded in the audit row */
	const char *action;    /* "issue", "renew" */
};

struct mca_issued {
	/*
	 * The signed certificate (malloc'd, owned): exactly the DER the
	 * second look inspected.  mca_issued_x509() decodes it for a caller
	 * that needs an object.
	 */
	unsigned char *der;
	size_t der_len;
	char serial[MCA_SERIAL_HEX_MAX];
	int64_t not_before, not_after;
	int crl_shard;      /* the CRL shard its CDP names (record.h), -1: none */
	const char *issuer; /* the issuer's subject text: borrowed from the mca_issuer */
};

/*
 * What decide approved: the profile, the CSR, the names and the validity
 * window.  The profile and CSR are borrowed (from the issuer and the
 * request); free the rest with mca_decision_clear().
 */
struct mca_decision {
	const struct mca_profile *profile;
	const struct mca_csr *csr;
	struct mca_policy_result res;
};

/*
 * Decide whether `req` may be issued.  Refusals: MCA_ERR_POLICY (rule id in
 * err->rule), MCA_ERR_BADCSR, MCA_ERR_NOTFOUND (unknown profile); MCA_ERR_DB
 * when recorded validations cannot be read.  Nothing is written.
 */
mca_rc mca_issue_decide(struct mca_issuer *is, struct mca_store *st,
                        const struct mca_issue_req *req, struct mca_decision *d,
                        struct mca_error *err);

/*
 * Build and sign the certificate `d` describes, then look at it again.
 * MCA_ERR_INTERNAL when the second look fails; signer errors as they come.
 * Nothing is recorded; `out` is filled (its DER owned by the caller: free
 * with mca_issued_clear) only on success, and zeroed on failure.
 */
mca_rc mca_issue_sign(struct mca_issuer *is, const struct mca_decision *d, struct mca_issued *out,
                      struct mca_error *err);

/*
 * mca_issue_sign in two halves around the signature, for a caller that
 * signs many certificates in one batch (ca/signq.h): mca_issue_prepare
 * draws the serial and encodes the TBSCertificate of `d` into `t`
 * (cleared on failure; else freed with mca_issue_tbs_clear);
 * mca_issue_finish takes the issuer's signer's signature over t->tbs,
 * makes the certificate, runs the second look and fills `out` exactly as
 * mca_issue_sign (errors and outcome as there).  Thread-safe as
 * mca_issue_sign.
 */
#define MCA_ISSUE_CDP_MAX 1100
struct mca_issue_tbs {
	unsigned char serial[MCA_SERIAL_LEN];
	unsigned char *tbs; /* malloc'd */
	size_t tbs_len;
};

mca_rc mca_issue_prepare(struct mca_issuer *is, const struct mca_decision *d,
                         struct mca_issue_tbs *t, struct mca_error *err);
mca_rc mca_issue_finish(struct mca_issuer *is, const struct mca_decision *d,
                        const struct mca_issue_tbs *t, const unsigned char *sig, size_t sig_len,
                        struct mca_issued *out, struct mca_error *err);
void mca_issue_tbs_clear(struct mca_issue_tbs *t);

/* The CA signer the issuer signs with (borrowed). */
struct mca_signer *mca_issuer_signer(const struct mca_issuer *is);

/*
 * Record `iss` (signed by mca_issue_sign for `d`) durably, through
 * req->committer or a transaction of its own on `st`, with req->on_record
 * in the same transaction.  On failure (MCA_ERR_DB ...) nothing is
 * recorded.  `iss` stays the caller's either way.
 */
mca_rc mca_issue_record(struct mca_store *st, const struct mca_issue_req *req,
                        const struct mca_decision *d, const struct mca_issued *iss,
                        struct mca_error *err);

/*
 * mca_issue_record through req->committer (required) without waiting for
 * the batch: the certificate's row is queued and `done(arg, rc, err)` runs
 * once on the committer thread when its batch is durable (MCA_OK) or
 * failed (nothing of it recorded).  `iss` (the caller's) is to be handed
 * to anyone only once `done` said MCA_OK; req's actor, action and
 * on_record are borrowed until `done`.  On error nothing was queued and
 * `done` never runs.
 */
mca_rc mca_issue_record_submit(const struct mca_issue_req *req, const struct mca_decision *d,
                               const struct mca_issued *iss, mca_committer_done_fn done, void *arg,
                               struct mca_error *err);

void mca_decision_clear(struct mca_decision *d);

/*
 * Issue a certificate: decide, sign, record.  Errors as the three steps
 * give them; nothing is recorded or returned on any error.
 */
mca_rc mca_issue(struct mca_issuer *is, struct mca_store *st, const struct mca_issue_req *req,
                 struct mca_issued *out, struct mca_error *err);

void mca_issued_clear(struct mca_issued *iss);

/* A decoded copy of the issued certificate (the caller's), NULL when it cannot be decoded. */
X509 *mca_issued_x509(const struct mca_issued *iss);

/*
 * Test hook: when set, called with the signed certificate (decoded from
 * the signer's DER, encoded again after) before the second look, and may
 * replace it (tests prove the second look catches a corrupted builder or
 * signer).  Never set outside tests.
 */
extern mca_rc (*mca_issue_test_hook)(X509 **cert, struct mca_signer *signer);

#endif
