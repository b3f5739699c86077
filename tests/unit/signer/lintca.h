/*
 * lintca.h - a throwaway CA and TBS builders shared by the signer's unit
 * tests (test_lint.c, test_proc.c): included, not linked (static).
 */
#ifndef MCA_TEST_LINTCA_H
#define MCA_TEST_LINTCA_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "pki/certgen.h"
#include "pki/crl.h"
#include "pki/keys.h"
#include "pki/serial.h"
#include "signer/signer.h"

struct lca {
	EVP_PKEY *key;
	X509 *cert;
	struct mca_signer *signer;
};

/* A CA named CN=`cn` (self-signed, SKI, valid 10 days from now). */
static void
lca_make(struct lca *ca, const char *cn)
{
	struct mca_certgen g;
	struct mca_error err = {0};
	unsigned char serial[MCA_SERIAL_LEN];
	X509_NAME *n = X509_NAME_new();
	int64_t now = (int64_t)time(NULL);

	ca->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	ck_assert_ptr_nonnull(ca->key);
	ck_assert_int_eq(mca_signer_local_new(ca->key, &ca->signer, &err), MCA_OK);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	ck_assert_int_eq(mca_serial_generate(serial, &err), MCA_OK);
	memset(&g, 0, sizeof(g));
	g.serial = serial;
	g.serial_len = sizeof(serial);
	g.subject = n;
	g.pubkey = ca->key;
	g.not_before = now - 60;
	g.not_after = now + 10 * 86400;
	g.ca = 1;
	g.pathlen = 0;
	g.key_usage = MCA_KU_KEY_CERT_SIGN | MCA_KU_CRL_SIGN;
	g.ski = 1;
	ck_assert_msg(mca_certgen_build(&g, &ca->cert, &err) == MCA_OK, "%s", err.msg);
	ck_assert_msg(mca_signer_sign_cert(ca->signer, &ca->cert, &err) == MCA_OK, "%s", err.msg);
	X509_NAME_free(n);
}

static void
lca_free(struct lca *ca)
{
	mca_signer_free(ca->signer);
	X509_free(ca->cert);
	EVP_PKEY_free(ca->key);
	memset(ca, 0, sizeof(*ca));
}

/* What a leaf looks like by default; tests change one field. */
struct leaf {
	X509 *issuer;
	int ca;
	unsigned ku;
	int64_t not_after; /* 0: a day from now */
	unsigned char serial[20];
	size_t serial_len;        /* 0: a fresh 16-octet one */
	const unsigned char *alg; /* NULL: the issuing signer's */
	size_t alg_len;
};

/* The TBSCertificate DER of `l` (malloc'd, OPENSSL_free). */
static unsigned char *
leaf_tbs(const struct lca *ca, const struct leaf *l, size_t *len)
{
	struct mca_certgen g;
	struct mca_error err = {0};
	unsigned char serial[MCA_SERIAL_LEN], *tbs = NULL;
	const unsigned char *alg, *p;
	size_t alg_len;
	X509_NAME *n = X509_NAME_new();
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509_ALGOR *a;
	X509 *x = NULL;
	int n_len;

	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"leaf", -1, -1, 0);
	ck_assert_int_eq(mca_serial_generate(serial, &err), MCA_OK);
	memset(&g, 0, sizeof(g));
	g.serial = l->serial_len ? l->serial : serial;
	g.serial_len = l->serial_len ? l->serial_len : sizeof(serial);
	g.subject = n;
	g.pubkey = k;
	g.issuer = l->issuer ? l->issuer : ca->cert;
	g.not_before = (int64_t)time(NULL) - 60;
	g.not_after = l->not_after ? l->not_after : (int64_t)time(NULL) + 86400;
	g.ca = l->ca;
	g.pathlen = -1;
	g.key_usage = l->ku ? l->ku : MCA_KU_DIGITAL_SIGNATURE;
	g.ext_key_usage = MCA_EKU_CLIENT_AUTH;
	ck_assert_msg(mca_certgen_build(&g, &x, &err) == MCA_OK, "%s", err.msg);
	alg = l->alg ? l->alg : mca_signer_algor_der(ca->signer, &alg_len);
	if (l->alg)
		alg_len = l->alg_len;
	p = alg;
	a = d2i_X509_ALGOR(NULL, &p, (long)alg_len);
	ck_assert_ptr_nonnull(a);
	ck_assert(X509_ALGOR_copy((X509_ALGOR *)(uintptr_t)X509_get0_tbs_sigalg(x), a));
	n_len = i2d_re_X509_tbs(x, &tbs);
	ck_assert_int_gt(n_len, 0);
	*len = (size_t)n_len;
	X509_ALGOR_free(a);
	X509_free(x);
	X509_NAME_free(n);
	EVP_PKEY_free(k);
	return tbs;
}

/* The TBSCertList DER of `issuer`'s CRL number `number` at `now` (malloc'd, free). */
static unsigned char *
crl_tbs_at(const struct lca *ca, X509 *issuer, int64_t number, int64_t now, size_t *len)
{
	struct mca_error err = {0};
	unsigned char *tbs = NULL;
	const unsigned char *alg;
	size_t alg_len;

	alg = mca_signer_algor_der(ca->signer, &alg_len);
	ck_assert_msg(mca_crl_build_tbs(alg, alg_len, issuer ? issuer : ca->cert, number, now,
	                                now + 3600, NULL, 0, &tbs, len, &err) == MCA_OK,
	              "%s", err.msg);
	return tbs;
}

/* ... at a fixed time (so that the same arguments give the same bytes). */
static unsigned char *
crl_tbs(const struct lca *ca, X509 *issuer, int64_t number, size_t *len)
{
	return crl_tbs_at(ca, issuer, number, 1800000000, len);
}

#endif
