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
#include "pki/ocsp.h"
#include <openssl/ocsp.h>
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

/* The DER CertID (SHA-1) of serial `sn` under `issuer`; malloc'd (OPENSSL_free). */
static unsigned char *
ocsp_certid(X509 *issuer, long sn, size_t *len)
{
	ASN1_INTEGER *ai = ASN1_INTEGER_new();
	OCSP_CERTID *id;
	unsigned char *der = NULL;
	int n;

	ck_assert_int_eq(ASN1_INTEGER_set(ai, sn), 1);
	id = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(issuer),
	                      X509_get0_pubkey_bitstr(issuer), ai);
	ck_assert_ptr_nonnull(id);
	n = i2d_OCSP_CERTID(id, &der);
	ck_assert_int_gt(n, 0);
	*len = (size_t)n;
	OCSP_CERTID_free(id);
	ASN1_INTEGER_free(ai);
	return der;
}

/* What an OCSP ResponseData looks like by default; tests change one field. */
struct ocsp_tbs {
	X509 *issuer;        /* of the CertIDs (required) */
	EVP_PKEY *responder; /* its key hash is the responderID (required) */
	int64_t produced;    /* 0: now */
	int64_t this_update; /* 0: now */
	int64_t validity;    /* 0: a day */
	size_t n;            /* 0: one single response */
	const unsigned char *nonce;
	size_t nonce_len;
};

/* Encode `t` with pki/ocsp.c; malloc'd. */
static unsigned char *
ocsp_tbs(const struct ocsp_tbs *t, size_t *len)
{
	struct mca_ocsp_single s[MCA_OCSP_MAX_CERTS + 1];
	unsigned char *ids[MCA_OCSP_MAX_CERTS + 1], *tbs = NULL, h[MCA_OCSP_HASH_MAX];
	struct mca_error err = {0};
	int64_t now = (int64_t)time(NULL);
	size_t i, n = t->n ? t->n : 1, hl = 0;

	ck_assert_int_eq(mca_ocsp_key_hash(t->responder, MCA_OCSP_SHA1, h, &hl, &err), MCA_OK);
	memset(s, 0, sizeof(s));
	for (i = 0; i < n && i <= MCA_OCSP_MAX_CERTS; i++) {
		ids[i] = ocsp_certid(t->issuer, 1000 + (long)i, &s[i].certid_len);
		s[i].certid = ids[i];
		s[i].status = (enum mca_ocsp_cstatus)(i % 3);
		s[i].revoked_at = now - 10;
		s[i].reason = 1;
		s[i].this_update = t->this_update ? t->this_update : now;
		s[i].next_update = s[i].this_update + (t->validity ? t->validity : 86400);
	}
	ck_assert_msg(mca_ocsp_tbs_build(h, t->produced ? t->produced : now, s, n, t->nonce,
	                                 t->nonce_len, &tbs, len, &err) == MCA_OK,
	              "%s", err.msg);
	for (i = 0; i < n; i++)
		OPENSSL_free(ids[i]);
	return tbs;
}

#endif
