/* record.c - certificate rows from X509 objects. */
#include "config.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/x509v3.h>

#include "ca/record.h"
#include "common/util.h"
#include "pki/crl.h"
#include "pki/keys.h"
#include "pki/leafgen.h"
#include "pki/serial.h"
#include "policy/names.h"

char *
mca_record_names_json(X509 *cert)
{
	return mca_names_json_from_x509(cert);
}

mca_rc
mca_record_from_x509(X509 *cert, const char *profile, const char *requester,
                     struct mca_cert_rec *rec, struct mca_error *err)
{
	char serial[MCA_SERIAL_HEX_MAX], fp[65];
	mca_rc rc;

	memset(rec, 0, sizeof(*rec));
	if ((rc = mca_serial_from_asn1(X509_get0_serialNumber(cert), serial, err)) != MCA_OK ||
	    (rc = mca_cert_fingerprint(cert, fp, err)) != MCA_OK ||
	    (rc = mca_cert_to_der(cert, &rec->der, &rec->der_len, err)) != MCA_OK)
		goto fail;
	rec->serial = strdup(serial);
	rec->fingerprint = strdup(fp);
	rec->issuer = mca_name_string(X509_get_issuer_name(cert));
	rec->subject = mca_name_string(X509_get_subject_name(cert));
	rec->names = mca_record_names_json(cert);
	rec->profile = strdup(profile);
	rec->requester = strdup(requester);
	rec->not_before = mca_asn1_time_unix(X509_get0_notBefore(cert));
	rec->not_after = mca_asn1_time_unix(X509_get0_notAfter(cert));
	rec->created_at = (int64_t)mca_now();
	rec->crl_shard = mca_crl_shard_from_cdp(cert);
	if (rec->serial == NULL || rec->fingerprint == NULL || rec->issuer == NULL ||
	    rec->subject == NULL || rec->names == NULL || rec->profile == NULL ||
	    rec->requester == NULL) {
		rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		goto fail;
	}
	return MCA_OK;
fail:
	mca_cert_rec_clear(rec);
	return rc;
}

/* names.h typed text of a SAN name as the certificate carries it (general_name_text). */
static char *
leaf_name_text(const struct mca_name *n)
{
	unsigned char ip[16];
	char buf[INET6_ADDRSTRLEN];
	size_t len;

	if (n->type != MCA_NAME_IP)
		return mca_typed_name(n->type, n->value);
	len = mca_leaf_ip(n->value, ip);
	if ((len == 4 && inet_ntop(AF_INET, ip, buf, sizeof(buf)) != NULL) ||
	    (len == 16 && inet_ntop(AF_INET6, ip, buf, sizeof(buf)) != NULL))
		return mca_typed_name(MCA_NAME_IP, buf);
	return NULL;
}

/* The names JSON mca_names_json_from_x509 gives for the leaf's SAN. */
static char *
leaf_names_json(const struct mca_name *names, size_t n)
{
	json_t *arr = json_array();
	char *text, *out = NULL;
	size_t i;
	int failed = 0;

	if (arr == NULL)
		return NULL;
	for (i = 0; i < n && !failed; i++) {
		text = leaf_name_text(&names[i]);
		failed = text == NULL || json_array_append_new(arr, json_string(text)) != 0;
		free(text);
	}
	if (!failed)
		out = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	return out;
}

mca_rc
mca_record_from_leaf(const struct mca_leaf_row *leaf, const char *profile, const char *requester,
                     struct mca_cert_rec *rec, struct mca_error *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	char fp[65];
	mca_rc rc;

	memset(rec, 0, sizeof(*rec));
	if (!EVP_Digest(leaf->der, leaf->der_len, md, &n, EVP_sha256(), NULL) || n != 32) {
		rc = mca_error_ssl(err, MCA_ERR_CRYPTO, "fingerprint");
		goto fail;
	}
	mca_hex(md, n, fp);
	rec->der = malloc(leaf->der_len);
	if (rec->der != NULL) {
		memcpy(rec->der, leaf->der, leaf->der_len);
		rec->der_len = leaf->der_len;
	}
	rec->serial = strdup(leaf->serial);
	rec->fingerprint = strdup(fp);
	rec->issuer = strdup(leaf->issuer);
	rec->subject = mca_leaf_subject_text(leaf->cn);
	rec->names = leaf_names_json(leaf->names, leaf->n_names);
	rec->profile = strdup(profile);
	rec->requester = strdup(requester);
	rec->not_before = leaf->not_before;
	rec->not_after = leaf->not_after;
	rec->created_at = (int64_t)mca_now();
	rec->crl_shard = leaf->crl_shard;
	if (rec->der == NULL || rec->serial == NULL || rec->fingerprint == NULL ||
	    rec->issuer == NULL || rec->subject == NULL || rec->names == NULL ||
	    rec->profile == NULL || rec->requester == NULL) {
		rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		goto fail;
	}
	return MCA_OK;
fail:
	mca_cert_rec_clear(rec);
	return rc;
}

mca_rc
mca_record_cert(struct mca_store *st, X509 *cert, const char *profile, const char *requester,
                const char *actor, const char *action, struct mca_error *err)
{
	struct mca_cert_rec rec;
	mca_rc rc;

	if ((rc = mca_record_from_x509(cert, profile, requester, &rec, err)) != MCA_OK)
		return rc;
	rc = mca_store_cert_insert(st, &rec, actor, action, err);
	mca_cert_rec_clear(&rec);
	return rc;
}

/* RFC 3339 string, or JSON null for 0. */
static json_t *
json_time(int64_t t)
{
	char buf[32];

	if (t == 0)
		return json_null();
	mca_time_rfc3339((time_t)t, buf, sizeof(buf));
	return json_string(buf);
}

json_t *
mca_record_to_json(const struct mca_cert_rec *r, int64_t now)
{
	json_t *typed = json_loads(r->names ? r->names : "[]", 0, NULL);
	json_t *names = json_array();
	const char *status = r->status, *v;
	enum mca_name_type t;
	size_t i;

	if (typed == NULL || !json_is_array(typed)) {
		json_decref(typed);
		typed = json_array();
	}
	/* "names": the plain values, as before typed names; "typed_names": with types. */
	for (i = 0; names != NULL && i < json_array_size(typed); i++) {
		v = json_string_value(json_array_get(typed, i));
		if (v != NULL && !mca_typed_name_split(v, &t, &v))
			v = json_string_value(json_array_get(typed, i));
		json_array_append_new(names, json_string(v != NULL ? v : ""));
	}
	if (names == NULL || typed == NULL) {
		json_decref(names);
		json_decref(typed);
		return NULL;
	}
	if (strcmp(status, "valid") == 0 && r->not_after <= now)
		status = "expired";
	return json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:s, s:o, s:o, s:s, s:s, s:s, s:o}",
	                 "serial", r->serial, "profile", r->profile, "subject", r->subject, "names",
	                 names, "typed_names", typed, "not_before", json_time(r->not_before),
	                 "not_after", json_time(r->not_after), "status", status, "revoked_at",
	                 json_time(r->revoked_at), "reason",
	                 r->reason ? json_string(r->reason) : json_null(), "issuer", r->issuer,
	                 "requester", r->requester, "fingerprint_sha256", r->fingerprint,
	                 "created_at", json_time(r->created_at));
}
