/* revoke.c - revoke, then publish. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "ca/revoke.h"
#include "common/util.h"
#include "pki/crl.h"

/* The pre-encoded CRL entry of a revoked record. */
static mca_rc
entry_of(const struct mca_cert_rec *rec, unsigned char *der, size_t *der_len, unsigned char *key,
         size_t *key_len, struct mca_error *err)
{
	struct mca_crl_entry e;
	mca_rc rc;

	if ((rc = mca_crl_entry_set(&e, rec->serial, rec->revoked_at, rec->reason, err)) != MCA_OK)
		return rc;
	return mca_crl_entry_encode(&e, der, der_len, key, key_len, err);
}

/*
 * Whether the newest stored CRL `name` lists `rec`: its entry, byte for
 * byte, is in the CRL's DER (an entry is a whole TLV with a serial of
 * 16 random octets, so it is found nowhere else).
 */
static int
newest_crl_lists(const struct mca_publish *pub, const char *name, const struct mca_cert_rec *rec)
{
	struct mca_crl_rec latest = {0};
	unsigned char der[MCA_CRL_ENTRY_MAX], key[MCA_CRL_KEY_MAX];
	size_t der_len = 0, key_len = 0;
	int listed;

	if (entry_of(rec, der, &der_len, key, &key_len, NULL) != MCA_OK ||
	    mca_store_crl_latest(pub->store, name, &latest, NULL) != MCA_OK)
		return 0;
	listed = memmem(latest.der, latest.der_len, der, der_len) != NULL;
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

/* The revocation: the row, its audit row and its CRL entry, in one transaction. */
struct revoke_run {
	const char *serial, *reason, *actor;
	int64_t now;
	int changed;
	struct mca_cert_rec *rec; /* out: the row after */
};

static mca_rc
revoke_txn(struct mca_store *st, void *arg, struct mca_error *err)
{
	struct revoke_run *t = arg;
	struct mca_crl_entry_row row;
	unsigned char der[MCA_CRL_ENTRY_MAX], key[MCA_CRL_KEY_MAX];
	mca_rc rc;

	mca_cert_rec_free(t->rec);
	t->rec = NULL;
	t->changed = 0;
	if ((rc = mca_store_cert_revoke(st, t->serial, t->now, t->reason, t->actor, &t->changed,
	                                err)) != MCA_OK ||
	    (rc = mca_store_cert_get(st, t->serial, &t->rec, err)) != MCA_OK || !t->changed)
		return rc;
	memset(&row, 0, sizeof(row));
	if ((rc = entry_of(t->rec, der, &row.entry_len, key, &row.key_len, err)) != MCA_OK)
		return rc;
	row.issuer = t->rec->issuer;
	row.key = key;
	row.entry = der;
	row.not_after = t->rec->not_after;
	row.shard = t->rec->crl_shard;
	return mca_store_crl_entry_add(st, &row, err);
}

mca_rc
mca_revoke(const struct mca_publish *pub, const char *serial, const char *reason,
           enum mca_revoker by, const char *actor, struct mca_revoke_result *res,
           struct mca_error *err)
{
	struct mca_cert_rec *rec = NULL;
	struct revoke_run t;
	char name[16];
	int shard;
	mca_rc rc;

	memset(res, 0, sizeof(*res));
	memset(&t, 0, sizeof(t));
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
	mca_cert_rec_free(rec);
	rec = NULL;
	t.serial = serial;
	t.reason = reason;
	t.actor = actor;
	t.now = (int64_t)mca_now();
	if ((rc = mca_store_txn(pub->store, revoke_txn, &t, err)) != MCA_OK)
		goto out;
	rec = t.rec;
	t.rec = NULL;
	res->changed = t.changed;
	res->revoked_at = rec->revoked_at;
	snprintf(res->reason, sizeof(res->reason), "%s", rec->reason ? rec->reason : reason);
	shard =
	    rec->crl_shard >= 0 && (unsigned)rec->crl_shard < pub->shards && pub->shard_url != NULL
	        ? rec->crl_shard
	        : -1;
	/*
	 * Publish when this call revoked it, and also when an earlier call
	 * revoked it but its CRLs never got published (that call failed): the
	 * newest CRL (complete, or of its shard) does not list the unexpired
	 * certificate.  A retry then repairs what the failure left; otherwise
	 * nothing changes.
	 */
	if (!res->changed && rec->not_after > (int64_t)mca_now()) {
		mca_publish_crl_name(pub, -1, name);
		if (!newest_crl_lists(pub, name, rec))
			res->changed = 2;
		mca_publish_crl_name(pub, shard, name);
		if (shard >= 0 && !newest_crl_lists(pub, name, rec))
			res->changed = 2;
	}
	if (res->changed)
		rc = mca_publish_crl_shard(pub, shard, &res->crl_number, err);
	if (res->changed && pub->revoked != NULL)
		pub->revoked(pub->revoked_arg, serial);
out:
	mca_cert_rec_free(t.rec);
	mca_cert_rec_free(rec);
	return rc;
}
