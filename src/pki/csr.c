/* csr.c - reading certificate signing requests. */
#include "config.h"

#include <arpa/inet.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "pki/csr.h"

const char *
mca_name_type_str(enum mca_name_type t)
{
	switch (t) {
	case MCA_NAME_DNS:
		return "DNS";
	case MCA_NAME_IP:
		return "IP";
	case MCA_NAME_URI:
		return "URI";
	case MCA_NAME_EMAIL:
		return "email";
	}
	return "?";
}

/* Whether bytes [p, end) are all whitespace. */
static int
only_space(const unsigned char *p, const unsigned char *end)
{
	for (; p < end; p++)
		if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			return 0;
	return 1;
}

/* DER into an X509_REQ, all of it: nothing may follow the structure. */
static X509_REQ *
read_der(const unsigned char *data, long len)
{
	const unsigned char *p = data;
	X509_REQ *req = d2i_X509_REQ(NULL, &p, len);

	if (req != NULL && p != data + len) {
		X509_REQ_free(req);
		req = NULL;
	}
	return req;
}

/*
 * PEM (one CERTIFICATE REQUEST block, text before it allowed as RFC 7468
 * says, only whitespace after it) or DER (nothing after it) into *out.
 * A second block or trailing data is refused: what is signed must be all
 * that was sent.
 */
static mca_rc
read_req(const void *data, size_t len, X509_REQ **out, struct mca_error *err)
{
	const unsigned char *begin;
	unsigned char *der = NULL;
	char *name = NULL, *header = NULL;
	long der_len = 0;
	BIO *b = NULL;
	mca_rc rc;

	*out = NULL;
	begin = len >= 10 ? memmem(data, len, "-----BEGIN", 10) : NULL;
	if (begin == NULL) {
		*out = len <= LONG_MAX ? read_der(data, (long)len) : NULL;
		if (*out == NULL)
			return mca_error_rule(err, MCA_ERR_BADCSR, "csr.parse",
			                      "not a PEM or DER certificate signing request "
			                      "(DER: one structure, nothing after it)");
		return MCA_OK;
	}
	if (len > INT_MAX)
		return mca_error_rule(err, MCA_ERR_BADCSR, "csr.parse", "the CSR is too large");
	if (memmem(begin + 10, len - (size_t)(begin + 10 - (const unsigned char *)data),
	           "-----BEGIN", 10) != NULL)
		return mca_error_rule(err, MCA_ERR_BADCSR, "csr.parse",
		                      "more than one PEM block: send one CERTIFICATE REQUEST");
	b = BIO_new_mem_buf(data, (int)len);
	if (b == NULL) {
		rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (PEM_read_bio(b, &name, &header, &der, &der_len) != 1) {
		ERR_clear_error();
		rc = mca_error_rule(err, MCA_ERR_BADCSR, "csr.parse",
		                    "the PEM block cannot be read");
		goto out;
	}
	if (strcmp(name, "CERTIFICATE REQUEST") != 0 &&
	    strcmp(name, "NEW CERTIFICATE REQUEST") != 0) {
		rc = mca_error_rule(err, MCA_ERR_BADCSR, "csr.parse",
		                    "the PEM block is '%.40s', not a CERTIFICATE REQUEST", name);
		goto out;
	}
	{
		char *rest = NULL;
		long n = BIO_get_mem_data(b, &rest);

		if (n > 0 &&
		    !only_space((const unsigned char *)rest, (const unsigned char *)rest + n)) {
			rc = mca_error_rule(err, MCA_ERR_BADCSR, "csr.parse",
			                    "data after the PEM block's END line");
			goto out;
		}
	}
	*out = read_der(der, der_len);
	if (*out == NULL) {
		rc = mca_error_rule(err, MCA_ERR_BADCSR, "csr.parse",
		                    "the PEM block is not a certificate signing request "
		                    "(one DER structure, nothing after it)");
		goto out;
	}
	rc = MCA_OK;
out:
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(der);
	BIO_free(b);
	return rc;
}

/* Whether `nid` is a digest too weak to sign with (collisions are practical). */
static int
weak_digest(int nid)
{
	return nid == NID_sha1 || nid == NID_md5 || nid == NID_md4 || nid == NID_md2 ||
	       nid == NID_md5_sha1 || nid == NID_mdc2 || nid == NID_ripemd160;
}

/*
 * Refuse a CSR signed with SHA-1 or MD5 (RSA, ECDSA, DSA, RSASSA-PSS whose
 * hash is absent, i.e. SHA-1, or weak), as Boulder does: rule
 * "csr.weak_signature".
 */
static mca_rc
check_sig_alg(X509_REQ *req, struct mca_error *err)
{
	const ASN1_BIT_STRING *sig = NULL;
	const X509_ALGOR *alg = NULL;
	RSA_PSS_PARAMS *pss = NULL;
	int nid, md = NID_undef, pk = NID_undef;
	const char *name;

	X509_REQ_get0_signature(req, &sig, &alg);
	if (alg == NULL)
		return mca_error_rule(err, MCA_ERR_BADCSR, "csr.parse",
		                      "the CSR has no signature algorithm");
	nid = OBJ_obj2nid(alg->algorithm);
	if (nid == NID_rsassaPss) {
		if (alg->parameter != NULL && alg->parameter->type == V_ASN1_SEQUENCE)
			pss = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(RSA_PSS_PARAMS),
			                                alg->parameter);
		md = pss != NULL && pss->hashAlgorithm != NULL
		         ? OBJ_obj2nid(pss->hashAlgorithm->algorithm)
		         : NID_sha1; /* RFC 4055: the default hash is SHA-1 */
		RSA_PSS_PARAMS_free(pss);
	} else if (!OBJ_find_sigid_algs(nid, &md, &pk)) {
		md = NID_undef;
	}
	if (!weak_digest(md))
		return MCA_OK;
	name = OBJ_nid2ln(nid);
	return mca_error_rule(err, MCA_ERR_BADCSR, "csr.weak_signature",
	                      "the CSR is signed with %s; SHA-1 and MD5 signatures are not "
	                      "accepted",
	                      name != NULL ? name : "an unknown algorithm");
}

/* Append one SAN entry to csr->names; refuses IA5 strings with NULs or non-ASCII. */
static mca_rc
add_name(struct mca_csr *csr, const GENERAL_NAME *gn, struct mca_error *err)
{
	struct mca_name *n;
	const ASN1_STRING *s;
	const unsigned char *d;
	char buf[INET6_ADDRSTRLEN];
	int len, i;

	if (csr->n_names >= MCA_CSR_MAX_NAMES)
		return mca_error_rule(err, MCA_ERR_BADCSR, "csr.names",
		                      "the CSR requests more than %d names", MCA_CSR_MAX_NAMES);
	n = &csr->names[csr->n_names];
	switch (gn->type) {
	case GEN_DNS:
	case GEN_URI:
	case GEN_EMAIL:
		n->type = gn->type == GEN_DNS   ? MCA_NAME_DNS
		          : gn->type == GEN_URI ? MCA_NAME_URI
		                                : MCA_NAME_EMAIL;
		s = gn->d.ia5;
		d = ASN1_STRING_get0_data(s);
		len = ASN1_STRING_length(s);
		/* Control characters make a name unprintable; non-ASCII is the policy's call. */
		for (i = 0; i < len; i++)
			if (d[i] < 0x20 || d[i] == 0x7f)
				return mca_error_rule(
				    err, MCA_ERR_BADCSR, "csr.names",
				    "a %s name in the CSR has a control character",
				    mca_name_type_str(n->type));
		if (len == 0 || len > 2048)
			return mca_error_rule(err, MCA_ERR_BADCSR, "csr.names",
			                      "a %s name in the CSR is empty or too long",
			                      mca_name_type_str(n->type));
		n->value = strndup((const char *)d, (size_t)len);
		break;
	case GEN_IPADD:
		n->type = MCA_NAME_IP;
		len = ASN1_STRING_length(gn->d.ip);
		d = ASN1_STRING_get0_data(gn->d.ip);
		if ((len != 4 && len != 16) ||
		    inet_ntop(len == 4 ? AF_INET : AF_INET6, d, buf, sizeof(buf)) == NULL)
			return mca_error_rule(err, MCA_ERR_BADCSR, "csr.names",
			                      "an IP address in the CSR has %d octets", len);
		memcpy(n->ip, d, (size_t)len);
		n->ip_len = (size_t)len;
		n->value = strdup(buf);
		break;
	default:
		csr->san_unsupported = 1;
		return MCA_OK;
	}
	if (n->value == NULL)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	csr->n_names++;
	return MCA_OK;
}

/* Requested SANs from the extensionRequest attribute (or a certificate's extensions). */
static mca_rc
read_names_from(struct mca_csr *csr, const STACK_OF(X509_EXTENSION) * exts, struct mca_error *err)
{
	GENERAL_NAMES *gens = NULL;
	int i, idx;
	mca_rc rc = MCA_OK;

	if (exts == NULL) {
		ERR_clear_error();
		return MCA_OK;
	}
	idx = X509v3_get_ext_by_NID(exts, NID_subject_alt_name, -1);
	if (idx >= 0 && X509v3_get_ext_by_NID(exts, NID_subject_alt_name, idx) >= 0) {
		rc = mca_error_rule(err, MCA_ERR_BADCSR, "csr.names",
		                    "the CSR has two subjectAltName extensions");
		goto out;
	}
	if (idx >= 0) {
		gens = X509V3_EXT_d2i(X509v3_get_ext(exts, idx));
		if (gens == NULL) {
			rc = mca_error_rule(err, MCA_ERR_BADCSR, "csr.names",
			                    "the CSR's subjectAltName cannot be read");
			goto out;
		}
		for (i = 0; i < sk_GENERAL_NAME_num(gens) && rc == MCA_OK; i++)
			rc = add_name(csr, sk_GENERAL_NAME_value(gens, i), err);
	}
out:
	GENERAL_NAMES_free(gens);
	ERR_clear_error();
	return rc;
}

static mca_rc
read_names(struct mca_csr *csr, struct mca_error *err)
{
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(csr->req);
	mca_rc rc = read_names_from(csr, exts, err);

	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return rc;
}

/* Subject CN (the last one) and whether any other attribute is present. */
static mca_rc
read_subject(struct mca_csr *csr, const X509_NAME *subj, struct mca_error *err)
{
	const X509_NAME_ENTRY *e;
	unsigned char *utf8 = NULL;
	int i, n, len;

	n = X509_NAME_entry_count(subj);
	for (i = 0; i < n; i++) {
		e = X509_NAME_get_entry(subj, i);
		if (OBJ_obj2nid(X509_NAME_ENTRY_get_object(e)) != NID_commonName) {
			csr->subject_other = 1;
			continue;
		}
		len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
		if (len < 0 || memchr(utf8, 0, (size_t)len) != NULL) {
			OPENSSL_free(utf8);
			return mca_error_rule(err, MCA_ERR_BADCSR, "csr.parse",
			                      "the CSR's common name cannot be read");
		}
		free(csr->cn);
		csr->cn = strndup((const char *)utf8, (size_t)len);
		OPENSSL_free(utf8);
		utf8 = NULL;
		if (csr->cn == NULL)
			return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	}
	return MCA_OK;
}

mca_rc
mca_csr_parse(const void *data, size_t len, struct mca_csr **out, struct mca_error *err)
{
	struct mca_csr *csr = NULL;
	mca_rc rc;

	*out = NULL;
	if (data == NULL || len == 0 || len > MCA_CSR_MAX_SIZE)
		return mca_error_rule(err, MCA_ERR_BADCSR, "csr.parse",
		                      "the CSR is empty or larger than %u bytes", MCA_CSR_MAX_SIZE);
	csr = calloc(1, sizeof(*csr));
	if (csr == NULL)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	if ((rc = read_req(data, len, &csr->req, err)) != MCA_OK)
		goto fail;
	csr->pubkey = X509_REQ_get0_pubkey(csr->req);
	csr->spki = X509_REQ_get_X509_PUBKEY(csr->req);
	if (csr->pubkey == NULL) {
		rc = mca_error_rule(err, MCA_ERR_BADCSR, "csr.parse",
		                    "the CSR's public key cannot be read");
		goto fail;
	}
	if ((rc = check_sig_alg(csr->req, err)) != MCA_OK)
		goto fail;
	if (X509_REQ_verify(csr->req, csr->pubkey) != 1) {
		rc = mca_error_rule(err, MCA_ERR_BADCSR, "csr.signature",
		                    "the CSR's signature does not verify with its public key");
		goto fail;
	}
	if ((rc = read_subject(csr, X509_REQ_get_subject_name(csr->req), err)) != MCA_OK ||
	    (rc = read_names(csr, err)) != MCA_OK)
		goto fail;
	ERR_clear_error();
	*out = csr;
	return MCA_OK;
fail:
	ERR_clear_error();
	mca_csr_free(csr);
	return rc;
}

mca_rc
mca_csr_from_cert(X509 *cert, struct mca_csr **out, struct mca_error *err)
{
	struct mca_csr *csr = NULL;
	mca_rc rc;

	*out = NULL;
	csr = calloc(1, sizeof(*csr));
	if (csr == NULL)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	csr->pubkey = X509_get_pubkey(cert);
	csr->own_pubkey = 1;
	if (X509_up_ref(cert) == 1) {
		csr->cert = cert;
		csr->spki = X509_get_X509_PUBKEY(cert);
	}
	if (csr->pubkey == NULL) {
		rc = mca_error_rule(err, MCA_ERR_BADCSR, "csr.parse",
		                    "the certificate's public key cannot be read");
		goto fail;
	}
	if ((rc = read_subject(csr, X509_get_subject_name(cert), err)) != MCA_OK ||
	    (rc = read_names_from(csr, X509_get0_extensions(cert), err)) != MCA_OK)
		goto fail;
	*out = csr;
	return MCA_OK;
fail:
	mca_csr_free(csr);
	return rc;
}

void
mca_csr_free(struct mca_csr *csr)
{
	size_t i;

	if (csr == NULL)
		return;
	if (csr->own_pubkey)
		EVP_PKEY_free(csr->pubkey);
	for (i = 0; i < csr->n_names; i++)
		free(csr->names[i].value);
	free(csr->cn);
	X509_REQ_free(csr->req);
	X509_free(csr->cert);
	free(csr);
}
