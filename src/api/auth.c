/*
 * auth.c - who is calling: the TLS client certificate, verified with
 * OpenSSL against our root and checked against the database.  A
 * certificate that fails any check is "no identity", never a failed
 * handshake, so public endpoints keep working.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "api/http.h"
#include "common/log.h"
#include "common/util.h"
#include "pki/keys.h"
#include "pki/serial.h"

/*
 * The client's certificate, as an OpenSSL object.  Whatever chain the
 * client sent is ignored: the only intermediate we accept is our own.
 */
static X509 *
peer_leaf(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci;
	const gnutls_datum_t *certs;
	unsigned int n = 0;
	const unsigned char *p;
	X509 *leaf;

	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (ci == NULL || ci->tls_session == NULL)
		return NULL;
	certs = gnutls_certificate_get_peers((gnutls_session_t)ci->tls_session, &n);
	if (certs == NULL || n == 0)
		return NULL;
	p = certs[0].data;
	leaf = d2i_X509(NULL, &p, (long)certs[0].size);
	if (leaf == NULL || p != certs[0].data + certs[0].size) {
		X509_free(leaf);
		leaf = NULL;
	}
	ERR_clear_error();
	return leaf;
}

void
mca_http_identify(struct mca_req *r)
{
	struct mca_identity *id = mca_req_id(r);
	X509_STORE_CTX *ctx = NULL;
	mca_rc rc = MCA_OK;
	struct mca_error err = {0};
	struct mca_store *st;
	char serial[MCA_SERIAL_HEX_MAX], fp[65];
	size_t i;
	int ok;

	if (r->listener != MCA_LISTENER_HTTPS)
		return;
	id->cert = peer_leaf(r->conn);
	if (id->cert == NULL)
		goto out;
	id->presented = 1;
	ctx = X509_STORE_CTX_new();
	/* A client identity needs a certificate fit for TLS clients (clientAuth). */
	ok = ctx != NULL &&
	     X509_STORE_CTX_init(ctx, mca_req_server(r)->trust, id->cert,
	                         mca_req_server(r)->chain) == 1 &&
	     X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT) == 1 &&
	     X509_verify_cert(ctx) == 1;
	if (!ok) {
		mca_log(MCA_LOG_NOTICE, "client %s: certificate does not verify: %s", r->client,
		        ctx ? X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)) : "?");
		goto out;
	}
	if (mca_serial_from_asn1(X509_get0_serialNumber(id->cert), serial, &err) != MCA_OK ||
	    mca_cert_fingerprint(id->cert, fp, &err) != MCA_OK)
		goto out;
	st = mca_server_store(mca_req_server(r), &err);
	if (st == NULL || (rc = mca_store_cert_get(st, serial, &id->rec, &err)) != MCA_OK) {
		/* Unknown is 401; a database that cannot answer now is 503 (try again). */
		id->db_unavailable = st == NULL || mca_store_unavailable(rc, &err);
		mca_log(MCA_LOG_NOTICE, "client %s: certificate %s unknown: %s", r->client, serial,
		        err.msg);
		goto out;
	}
	if (strcmp(id->rec->fingerprint, fp) != 0 || strcmp(id->rec->status, "valid") != 0 ||
	    id->rec->not_after <= (int64_t)mca_now()) {
		mca_log(MCA_LOG_NOTICE, "client %s: certificate %s is %s", r->client, serial,
		        strcmp(id->rec->status, "valid") != 0 ? "revoked" : "expired or altered");
		goto out;
	}
	id->valid = 1;
	for (i = 0; mca_req_server(r)->conf->admin_profiles[i] != NULL; i++)
		if (strcmp(mca_req_server(r)->conf->admin_profiles[i], id->rec->profile) == 0)
			id->admin = 1;
	snprintf(r->identity, sizeof(r->identity), "%s:%s", id->admin ? "admin" : "cert", serial);
out:
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
}

int
mca_http_require_identity(struct mca_req *r, int admin_only, enum mca_http_result *res)
{
	if (!mca_req_id(r)->valid && mca_req_id(r)->db_unavailable) {
		*res = mca_reply_error(r, 503, "database_unavailable",
		                       "the client certificate cannot be checked now; try again");
		return 0;
	}
	if (!mca_req_id(r)->valid) {
		*res = mca_reply_error(r, 401, "unauthorized",
		                       mca_req_id(r)->presented
		                           ? "the client certificate is unknown, expired or revoked"
		                           : "a client certificate issued by this CA is required");
		return 0;
	}
	if (admin_only && !mca_req_id(r)->admin) {
		*res = mca_reply_error(r, 403, "forbidden", "this needs an admin certificate");
		return 0;
	}
	return 1;
}
