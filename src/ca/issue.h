/*
 * issue.h - the issuance engine: CSR + profile + authorization in, a
 * recorded certificate out.
 *
 * Order of work: policy check, authorization (token names, recorded domain
 * validations), build and sign through the signer, second look
 * (inspect.h), then the certificate row and its audit row in one durable
 * transaction.  Only then is the certificate handed back.
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

void mca_issuer_free(struct mca_issuer *is);

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
	 * Optional: called once policy and authorization passed, right before
	 * signing (e.g. to consume a token use); a failure aborts the
	 * issuance with its error.  `release` undoes it when the issuance
	 * fails afterwards.
	 */
	mca_rc (*reserve)(void *arg, struct mca_error *err);
	void (*release)(void *arg);
	void *hook_arg;
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
	X509 *cert;
	char serial[MCA_SERIAL_HEX_MAX];
	int64_t not_before, not_after;
};

/*
 * Issue a certificate.  Refusals: MCA_ERR_POLICY (rule id in err->rule),
 * MCA_ERR_BADCSR, MCA_ERR_NOTFOUND (unknown profile).  MCA_ERR_INTERNAL
 * when the second look fails; MCA_ERR_DB when it cannot be recorded.
 * Nothing is recorded or returned on any error.
 */
mca_rc mca_issue(struct mca_issuer *is, struct mca_store *st, const struct mca_issue_req *req,
                 struct mca_issued *out, struct mca_error *err);

void mca_issued_clear(struct mca_issued *iss);

/*
 * Test hook: when set, called with the signed certificate before the
 * second look, and may replace it (tests prove the second look catches a
 * corrupted builder).  Never set outside tests.
 */
extern mca_rc (*mca_issue_test_hook)(X509 **cert, struct mca_signer *signer);

#endif
