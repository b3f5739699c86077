/*
 * revoke.h - revocation as the CLI and the API do it: mark the record,
 * with its audit row, then publish a new CRL before returning
 * (doc/durability.md).  Idempotent: revoking a revoked certificate changes
 * nothing and succeeds.
 */
#ifndef MCA_REVOKE_H
#define MCA_REVOKE_H

#include <stdint.h>

#include "ca/publish.h"
#include "common/err.h"
#include "store/store.h"

struct mca_revoke_result {
	int changed; /* 0: revoked already; 1: now; 2: earlier, but its CRL was missing */
	int64_t revoked_at;
	char reason[32];
	char profile[65];   /* of the revoked certificate */
	int64_t crl_number; /* the CRL published (0 when nothing changed) */
};

/* Who asks: an administrator (CLI, admin API) or the certificate's holder. */
enum mca_revoker {
	MCA_REVOKER_ADMIN,  /* every reason */
	MCA_REVOKER_HOLDER, /* self-revocation, ACME revokeCert: mca_revoke_holder_reason() */
};

/*
 * Whether a holder may give `reason` (doc/cli.md names): unspecified,
 * keyCompromise, affiliationChanged, superseded, cessationOfOperation.
 * caCompromise and privilegeWithdrawn are the CA's statements, so only
 * an administrator makes them.
 */
int mca_revoke_holder_reason(const char *reason);

/*
 * Revoke `serial` (canonical hex) for `reason` (doc/cli.md names; NULL is
 * unspecified).  An unknown reason is MCA_ERR_INVAL; a reason `by` may
 * not give is MCA_ERR_POLICY with rule "revoke.reason_not_allowed", and
 * nothing changes.  The CA's own certificates (profiles root and ca) are
 * refused (MCA_ERR_POLICY, rule "revoke.ca_certificate"): retire a CA
 * instead.  `pub` describes the issuing CA's CRL; its store is used.
 */
mca_rc mca_revoke(const struct mca_publish *pub, const char *serial, const char *reason,
                  enum mca_revoker by, const char *actor, struct mca_revoke_result *res,
                  struct mca_error *err);

#endif
