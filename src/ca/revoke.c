/* revoke.c - revoke, then publish. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/x509.h>

#include "ca/revoke.h"
#include "common/util.h"
#include "pki/crl.h"

/* Whether the newest stored CRL of pub->which lists `serial`. */
static int
newest_crl_lists(const struct mca_publish *pub, const char *serial)
{
	struct mca_crl_rec latest = {0};
	const unsigned char *p;
	X509_CRL *crl = NULL;
	X509_REVOKED *entry = NULL;
	ASN1_INTEGER *ai = NULL;
	BIGNUM *bn = NULL;
	int listed = 0;

	if (mca_store_crl_latest(pub->store, pub->which, &latest, NULL) != MCA_OK)
		return 0;
	p = latest.der;
	crl = d2i_X509_CRL(NULL, &p, (long)latest.der_len);
	if (crl != NULL && BN_hex2bn(&bn, serial) > 0 && (ai = BN_to_ASN1_INTEGER(bn, NULL)))
		listed = X509_CRL_get0_by_serial(crl, &entry, ai) == 1;
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	X509_CRL_free(crl);
	free(latest.der);
	return listed;
}

int
mca_revoke_holder_reason(const char *reason)
{
	switch (mca_crl_reason_parse(reason)) {
	case MCA_REASON_UNSPECIFIED:
	case MCA_REASON_KEY_COMPROMISE:
	case MCA_REASON_AFFILIATION_CHANGED:
	case MCA_REASON_SUPERSEDED:
	case MCA_REASON_CESSATION_OF_OPERATION:
		return 1;
	default:
		return 0;
	}
}

mca_rc
mca_revoke(const struct mca_publish *pub, const char *serial, const char *reason,
           enum mca_revoker by, const char *actor, struct mca_revoke_result *res,
           struct mca_error *err)
{
	struct mca_cert_rec *rec = NULL;
	mca_rc rc;

	memset(res, 0, sizeof(*res));
	if (reason == NULL)
		reason = "unspecified";
	if (mca_crl_reason_parse(reason) < 0)
		return mca_error_set(err, MCA_ERR_INVAL,
		                     "unknown reason '%.32s' (unspecified, keyCompromise, "
		                     "caCompromise, affiliationChanged, superseded, "
		                     "cessationOfOperation, privilegeWithdrawn)",
		                     reason);
	if (by != MCA_REVOKER_ADMIN && !mca_revoke_holder_reason(reason))
		return mca_error_rule(err, MCA_ERR_POLICY, "revoke.reason_not_allowed",
		                      "reason '%s' is for an administrator to give; a certificate "
		                      "revoking itself may give unspecified, keyCompromise, "
		                      "affiliationChanged, superseded or cessationOfOperation",
		                      reason);
	if ((rc = mca_store_cert_get(pub->store, serial, &rec, err)) != MCA_OK)
		return rc;
	if (strcmp(rec->profile, "root") == 0 || strcmp(rec->profile, "ca") == 0) {
		rc = mca_error_rule(err, MCA_ERR_POLICY, "revoke.ca_certificate",
		                    "%s is a CA certificate; retire the CA instead of revoking it",
		                    serial);
		goto out;
	}
	snprintf(res->profile, sizeof(res->profile), "%s", rec->profile);
	if ((rc = mca_store_cert_revoke(pub->store, serial, (int64_t)mca_now(), reason, actor,
	                                &res->changed, err)) != MCA_OK)
		goto out;
	mca_cert_rec_free(rec);
	rec = NULL;
	if ((rc = mca_store_cert_get(pub->store, serial, &rec, err)) != MCA_OK)
		goto out;
	res->revoked_at = rec->revoked_at;
	snprintf(res->reason, sizeof(res->reason), "%s", rec->reason ? rec->reason : reason);
	/*
	 * Publish when this call revoked it, and also when an earlier call
	 * revoked it but its CRL never got published (that call failed): the
	 * newest CRL does not list the unexpired certificate.  A retry then
	 * repairs what the failure left; otherwise nothing changes.
	 */
	if (!res->changed && rec->not_after > (int64_t)mca_now() && !newest_crl_lists(pub, serial))
		res->changed = 2;
	if (res->changed)
		rc = mca_publish_crl(pub, &res->crl_number, err);
	if (res->changed && pub->revoked != NULL)
		pub->revoked(pub->revoked_arg, serial);
out:
	mca_cert_rec_free(rec);
	return rc;
}
