/*
 * publish.h - publishing a CRL: number it, sign it, store it, write it.
 *
 * The CRL number is taken and the CRL stored inside one BEGIN IMMEDIATE
 * transaction, so the CLI and the daemon (separate processes on one
 * database) never produce two CRLs with the same number.  After the
 * commit, the newest stored CRL is written to the CRL directory under an
 * exclusive lock, so the files never go back to an older CRL.
 */
#ifndef MCA_PUBLISH_H
#define MCA_PUBLISH_H

#include <stdint.h>

#include <openssl/x509.h>

#include "common/err.h"
#include "signer/signer.h"
#include "store/store.h"

struct mca_publish {
	struct mca_store *store;
	struct mca_signer *signer; /* key of `issuer` */
	X509 *issuer;              /* the CA certificate the CRL is for */
	const char *which;         /* "ca" or "root": also the file name */
	const char *crl_dir;
	int64_t validity; /* seconds to nextUpdate */
	const char *actor;
	/*
	 * Told of every certificate mca_revoke() revoked (ca/revoke.h), once
	 * the record says so, before it returns: the daemon's OCSP responder.
	 * NULL: nobody.
	 */
	void (*revoked)(void *arg, const char *serial);
	void *revoked_arg;
};

/* Publish a new CRL; *number gets its CRL number. */
mca_rc mca_publish_crl(const struct mca_publish *p, int64_t *number, struct mca_error *err);

/* Write the newest stored CRL of p->which to the CRL directory. */
mca_rc mca_publish_write_latest(const struct mca_publish *p, struct mca_error *err);

#endif
