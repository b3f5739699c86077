/* revoke.c - revokeCert (RFC 8555 7.6): by the ordering account or by the certificate's key. */
#include "config.h"

#include <string.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "acme/acme_int.h"
#include "ca/revoke.h"
#include "common/log.h"
#include "common/util.h"
#include "pki/crl.h"
#include "pki/serial.h"

/*
 * RFC 5280 reason code -> the names mtlsca records; NULL when not
 * accepted.  Every revokeCert comes from a holder (the ordering account,
 * an account authorized for all names, or the certificate's key), so
 * only the reasons a holder may give are accepted (RFC 8555 7.6: the
 * server may refuse others with badRevocationReason); caCompromise and
 * privilegeWithdrawn are for an administrator (mtlsca revoke).
 */
static const char *
reason_name(long long code)
{
	const char *name;

	switch (code) {
	case 0:
		name = "unspecified";
		break;
	case 1:
		name = "keyCompromise";
		break;
	case 2:
		name = "caCompromise";
		break;
	case 3:
		name = "affiliationChanged";
		break;
	case 4:
		name = "superseded";
		break;
	case 5:
		name = "cessationOfOperation";
		break;
	case 9:
		name = "privilegeWithdrawn";
		break;
	default:
		return NULL;
	}
	return mca_revoke_holder_reason(name) ? name : NULL;
}

/* Whether the requesting account holds current validations of every DNS name of `x`. */
static int
account_covers(struct acme_ctx *c, X509 *x)
{
	static const char *const any[] = {"http-01", "dns-01", NULL};
	static const char *const dns_only[] = {"dns-01", NULL};
	GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	const GENERAL_NAME *gn;
	struct mca_error err = {0};
	char name[256];
	int i, n = names ? sk_GENERAL_NAME_num(names) : 0, found = 0, ok = n > 0;

	for (i = 0; ok && i < n; i++) {
		gn = sk_GENERAL_NAME_value(names, i);
		if (gn->type != GEN_DNS || ASN1_STRING_length(gn->d.ia5) >= (int)sizeof(name)) {
			ok = 0;
			break;
		}
		snprintf(name, sizeof(name), "%.*s", ASN1_STRING_length(gn->d.ia5),
		         (const char *)ASN1_STRING_get0_data(gn->d.ia5));
		ok = mca_store_validation_current(c->st, name,
		                                  strncmp(name, "*.", 2) == 0 ? dns_only : any,
		                                  (int64_t)mca_now() - c->profile->validation_reuse,
		                                  c->acct.id, &found, NULL, &err) == MCA_OK &&
		     found;
	}
	GENERAL_NAMES_free(names);
	return ok;
}

enum mca_http_result
acme_revoke_cert(struct acme_ctx *c)
{
	struct mca_error err = {0};
	struct mca_cert_rec *rec = NULL;
	struct mca_acme_order o;
	struct mca_revoke_result rr;
	struct mca_publish pub;
	enum mca_http_result res;
	const char *b64, *reason = "unspecified";
	json_t *jr;
	unsigned char *der = NULL;
	const unsigned char *p;
	size_t der_len = 0;
	char serial[MCA_SERIAL_HEX_MAX], actor[64];
	X509 *x = NULL;
	int allowed = 0;

	memset(&o, 0, sizeof(o));
	b64 = c->payload ? json_string_value(json_object_get(c->payload, "certificate")) : NULL;
	if (b64 == NULL || strlen(b64) > 64 * 1024 ||
	    !mca_b64url_decode(b64, strlen(b64), &der, &der_len)) {
		res = acme_problem(c, 400, ACME_ERR("malformed"),
		                   "certificate must be base64url DER");
		goto out;
	}
	jr = json_object_get(c->payload, "reason");
	if (jr != NULL &&
	    (!json_is_integer(jr) || (reason = reason_name(json_integer_value(jr))) == NULL)) {
		res = acme_problem(c, 400, ACME_ERR("badRevocationReason"),
		                   "reason must be 0 (unspecified), 1 (keyCompromise), 3 "
		                   "(affiliationChanged), 4 (superseded) or 5 "
		                   "(cessationOfOperation); other reasons are the CA's to give");
		goto out;
	}
	p = der;
	x = d2i_X509(NULL, &p, (long)der_len);
	if (x == NULL || p != der + der_len ||
	    mca_serial_from_asn1(X509_get0_serialNumber(x), serial, &err) != MCA_OK ||
	    mca_store_cert_get(c->st, serial, &rec, &err) != MCA_OK ||
	    (size_t)rec->der_len != der_len || memcmp(rec->der, der, der_len) != 0) {
		res = acme_problem(c, 404, ACME_ERR("malformed"),
		                   "not a certificate issued by this CA");
		goto out;
	}
	/*
	 * RFC 8555 7.6: the account that ordered it, an account holding
	 * authorizations for all its names, or whoever holds its private key.
	 */
	if (c->have_acct)
		allowed = strcmp(rec->profile, c->profile->name) == 0 &&
		          ((mca_acme_order_by_serial(c->st, serial, &o, &err) == MCA_OK &&
		            strcmp(o.account, c->acct.id) == 0) ||
		           account_covers(c, x));
	else
		allowed = EVP_PKEY_eq(X509_get0_pubkey(x), c->key) == 1;
	if (!allowed) {
		res = acme_problem(c, 403, ACME_ERR("unauthorized"),
		                   "neither the ordering account nor the certificate's key");
		goto out;
	}
	if (strcmp(rec->status, "revoked") == 0) {
		res = acme_problem(c, 400, ACME_ERR("alreadyRevoked"), "%s is already revoked",
		                   serial);
		goto out;
	}
	snprintf(actor, sizeof(actor), "acme:%s", c->have_acct ? c->acct.id : "certificate-key");
	mca_server_publish_params(c->srv, c->st, &pub, actor);
	if (mca_revoke(&pub, serial, reason, MCA_REVOKER_HOLDER, actor, &rr, &err) != MCA_OK) {
		res = acme_problem(c, err.code == MCA_ERR_SIGNER ? 503 : 500,
		                   ACME_ERR("serverInternal"), "%s", err.msg);
		goto out;
	}
	mca_metrics_count(c->srv->metrics, MCA_M_REVOKED, rr.profile);
	if (mca_crlcache_refresh(c->srv->crls, c->st, NULL, &err) != MCA_OK)
		mca_log(MCA_LOG_ERR, "loading the new CRL: %s", err.msg);
	res = acme_reply_text(c, 200, NULL, "", 0);
out:
	X509_free(x);
	free(der);
	mca_cert_rec_free(rec);
	mca_acme_order_clear(&o);
	return res;
}
