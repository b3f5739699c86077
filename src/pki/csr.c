/* csr.c - reading certificate signing requests. */
#include "config.h"

#include <arpa/inet.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1t.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "pki/csr.h"

/*
 * CertificationRequest (RFC 2986) as OpenSSL's X509_REQ template has it,
 * but with the SubjectPublicKeyInfo kept as its two fields: OpenSSL 3.0
 * decodes an X509_PUBKEY's key while parsing, through its decoder framework
 * (most of d2i_X509_REQ's cost), and mca_csr_parse builds the key itself
 * (from the point, for named-curve EC keys).  The info keeps its encoding,
 * so the signature is checked over the bytes as sent.
 */
typedef struct {
	X509_ALGOR *algor;
	ASN1_BIT_STRING *public_key;
} MCA_SPKI;

typedef struct {
	ASN1_ENCODING enc;
	ASN1_INTEGER *version;
	X509_NAME *subject;
	MCA_SPKI *spki;
	STACK_OF(X509_ATTRIBUTE) * attributes;
} MCA_CRI;

typedef struct {
	MCA_CRI *info;
	X509_ALGOR *sig_alg;
	ASN1_BIT_STRING *signature;
} MCA_REQ;

/* The ASN.1 template macros are not C statements: */
/* clang-format off */
ASN1_SEQUENCE(MCA_SPKI) = {
	ASN1_SIMPLE(MCA_SPKI, algor, X509_ALGOR),
	ASN1_SIMPLE(MCA_SPKI, public_key, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(MCA_SPKI)

ASN1_SEQUENCE_enc(MCA_CRI, enc, NULL) = {
	ASN1_SIMPLE(MCA_CRI, version, ASN1_INTEGER),
	ASN1_SIMPLE(MCA_CRI, subject, X509_NAME),
	ASN1_SIMPLE(MCA_CRI, spki, MCA_SPKI),
	/* not OPTIONAL in RFC 2986; OpenSSL's X509_REQ takes its absence too */
	ASN1_IMP_SET_OF_OPT(MCA_CRI, attributes, X509_ATTRIBUTE, 0),
} static_ASN1_SEQUENCE_END_ref(MCA_CRI, MCA_CRI)

ASN1_SEQUENCE(MCA_REQ) = {
	ASN1_SIMPLE(MCA_REQ, info, MCA_CRI),
	ASN1_SIMPLE(MCA_REQ, sig_alg, X509_ALGOR),
	ASN1_SIMPLE(MCA_REQ, signature, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(MCA_REQ);
/* clang-format on */

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

static void
req_free(MCA_REQ *req)
{
	ASN1_item_free((ASN1_VALUE *)req, ASN1_ITEM_rptr(MCA_REQ));
}

/* DER into a request, all of it: nothing may follow the structure. */
static MCA_REQ *
read_der(const unsigned char *data, long len)
{
	const unsigned char *p = data;
	MCA_REQ *req = (MCA_REQ *)ASN1_item_d2i(NULL, &p, len, ASN1_ITEM_rptr(MCA_REQ));

	if (req != NULL && p != data + len) {
		req_free(req);
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
read_req(const void *data, size_t len, MCA_REQ **out, struct mca_error *err)
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
check_sig_alg(const X509_ALGOR *alg, struct mca_error *err)
{
	RSA_PSS_PARAMS *pss = NULL;
	int nid, md = NID_undef, pk = NID_undef;
	const char *name;

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

/*
 * The extensions of the extensionRequest attribute (or Microsoft's older
 * one), as X509_REQ_get_extensions reads them: none without the
 * attribute, NULL when it is not a SEQUENCE or does not parse.
 */
static STACK_OF(X509_EXTENSION) * requested_extensions(const MCA_REQ *req)
{
	static const int nids[] = {NID_ext_req, NID_ms_ext_req};
	const ASN1_TYPE *t = NULL;
	const unsigned char *p;
	size_t i;
	int idx;

	for (i = 0; i < sizeof(nids) / sizeof(nids[0]) && t == NULL; i++) {
		idx = X509at_get_attr_by_NID(req->info->attributes, nids[i], -1);
		if (idx >= 0)
			t = X509_ATTRIBUTE_get0_type(X509at_get_attr(req->info->attributes, idx),
			                             0);
	}
	if (t == NULL)
		return sk_X509_EXTENSION_new_null();
	if (t->type != V_ASN1_SEQUENCE)
		return NULL;
	p = t->value.sequence->data;
	return (STACK_OF(X509_EXTENSION) *)ASN1_item_d2i(NULL, &p, t->value.sequence->length,
	                                                 ASN1_ITEM_rptr(X509_EXTENSIONS));
}

static mca_rc
read_names(struct mca_csr *csr, const MCA_REQ *req, struct mca_error *err)
{
	STACK_OF(X509_EXTENSION) *exts = requested_extensions(req);
	mca_rc rc = read_names_from(csr, exts, err);

	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return rc;
}

/* `xpub`'s fields set to copies of the request's (no key decoded). */
static int
set_spki(X509_PUBKEY *xpub, const MCA_SPKI *spki)
{
	const ASN1_OBJECT *alg = NULL;
	const void *pval = NULL;
	ASN1_OBJECT *obj = NULL;
	unsigned char *key = NULL;
	void *param = NULL;
	int ptype = V_ASN1_UNDEF;

	X509_ALGOR_get0(&alg, &ptype, &pval, spki->algor);
	obj = OBJ_dup(alg);
	key = OPENSSL_memdup(spki->public_key->data, (size_t)spki->public_key->length);
	if (ptype == V_ASN1_OBJECT)
		param = OBJ_dup(pval);
	else if (ptype != V_ASN1_UNDEF && ptype != V_ASN1_NULL)
		param = ASN1_STRING_dup(pval);
	if (obj != NULL && key != NULL &&
	    (param != NULL || ptype == V_ASN1_UNDEF || ptype == V_ASN1_NULL) &&
	    X509_PUBKEY_set0_param(xpub, obj, ptype, param, key, spki->public_key->length))
		return 1;
	ASN1_OBJECT_free(obj);
	OPENSSL_free(key);
	if (ptype == V_ASN1_OBJECT)
		ASN1_OBJECT_free(param);
	else
		ASN1_STRING_free(param);
	return 0;
}

/* An EC public key on curve `curve` with the point `pt`: EVP_PKEY_fromdata, which checks it. */
static EVP_PKEY *
ec_key_fromdata(int curve, const unsigned char *pt, size_t len)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *pkey = NULL;
	OSSL_PARAM params[3];

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
	                                             (char *)(uintptr_t)OBJ_nid2sn(curve), 0);
	params[1] =
	    OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)(uintptr_t)pt, len);
	params[2] = OSSL_PARAM_construct_end();
	if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

/*
 * One public key per curve (its generator as the point), made on first
 * use and kept: a CSR's key is a copy of it given the CSR's point.
 * EVP_PKEY_fromdata builds the curve's group again for every key, at four
 * times the cost of the copy.  Read-only once made (safe to copy from any
 * thread).  NULL: no template for this curve (then fromdata).
 */
#define CURVE_TEMPLATES 4
static struct {
	int nid;
	EVP_PKEY *key;
} curve_templates[CURVE_TEMPLATES];
static pthread_mutex_t curve_templates_lock = PTHREAD_MUTEX_INITIALIZER;

static EVP_PKEY *
curve_template(int curve)
{
	unsigned char g[133];
	EC_GROUP *grp = NULL;
	EVP_PKEY *key = NULL;
	size_t i, len;

	pthread_mutex_lock(&curve_templates_lock);
	for (i = 0; i < CURVE_TEMPLATES && curve_templates[i].nid != 0; i++)
		if (curve_templates[i].nid == curve) {
			key = curve_templates[i].key;
			goto out;
		}
	if (i == CURVE_TEMPLATES || (grp = EC_GROUP_new_by_curve_name(curve)) == NULL)
		goto out;
	len = EC_POINT_point2oct(grp, EC_GROUP_get0_generator(grp), POINT_CONVERSION_UNCOMPRESSED,
	                         g, sizeof(g), NULL);
	if (len > 0 && (key = ec_key_fromdata(curve, g, len)) != NULL) {
		curve_templates[i].nid = curve;
		curve_templates[i].key = key;
	}
out:
	pthread_mutex_unlock(&curve_templates_lock);
	EC_GROUP_free(grp);
	return key;
}

/*
 * The EC public key with the point `pt` on `curve`: a copy of the curve's
 * template with the point set (EC_POINT_oct2point refuses a point off the
 * curve, as fromdata does), else fromdata.
 */
static EVP_PKEY *
ec_key(int curve, const unsigned char *pt, size_t len)
{
	EVP_PKEY *tmpl = curve_template(curve), *pkey;

	if (tmpl == NULL)
		return ec_key_fromdata(curve, pt, len);
	pkey = EVP_PKEY_dup(tmpl);
	if (pkey != NULL && EVP_PKEY_set1_encoded_public_key(pkey, pt, len) != 1) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
	return pkey;
}

/*
 * The request's key as an X509_PUBKEY (for the certificate: certgen.h
 * copies it as it is) and as an EVP_PKEY: for a named-curve EC key built
 * from the curve and the point (ec_key: a point off the curve is refused),
 * any other key through OpenSSL's SubjectPublicKeyInfo decoder.  NULL
 * when the key cannot be read.
 */
static EVP_PKEY *
read_pubkey(const MCA_SPKI *spki, X509_PUBKEY **xpub)
{
	const ASN1_OBJECT *alg = NULL;
	const void *pval = NULL;
	int ptype = V_ASN1_UNDEF, curve;
	EVP_PKEY *pkey = NULL;
	unsigned char *der = NULL;
	const unsigned char *p;
	int len;

	*xpub = NULL;
	len = ASN1_item_i2d((const ASN1_VALUE *)spki, &der, ASN1_ITEM_rptr(MCA_SPKI));
	p = der;
	/* The plain structure, no key decoded: X509_PUBKEY_INTERNAL's view. */
	if (len <= 0 || (*xpub = X509_PUBKEY_new()) == NULL)
		goto out;
	X509_ALGOR_get0(&alg, &ptype, &pval, spki->algor);
	curve = ptype == V_ASN1_OBJECT ? OBJ_obj2nid(pval) : NID_undef;
	if (OBJ_obj2nid(alg) == NID_X9_62_id_ecPublicKey && curve != NID_undef &&
	    OBJ_nid2sn(curve) != NULL && spki->public_key->length > 0) {
		pkey = ec_key(curve, spki->public_key->data, (size_t)spki->public_key->length);
	} else {
		pkey = d2i_PUBKEY(NULL, &p, len);
		if (pkey != NULL && p != der + len) {
			EVP_PKEY_free(pkey);
			pkey = NULL;
		}
	}
	if (pkey == NULL || !set_spki(*xpub, spki)) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
out:
	if (pkey == NULL) {
		X509_PUBKEY_free(*xpub);
		*xpub = NULL;
	}
	OPENSSL_free(der);
	return pkey;
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
	MCA_REQ *req = NULL;
	mca_rc rc;

	*out = NULL;
	if (data == NULL || len == 0 || len > MCA_CSR_MAX_SIZE)
		return mca_error_rule(err, MCA_ERR_BADCSR, "csr.parse",
		                      "the CSR is empty or larger than %u bytes", MCA_CSR_MAX_SIZE);
	csr = calloc(1, sizeof(*csr));
	if (csr == NULL)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	if ((rc = read_req(data, len, &req, err)) != MCA_OK)
		goto fail;
	csr->pubkey = read_pubkey(req->info->spki, &csr->spki_own);
	csr->own_pubkey = 1;
	csr->spki = csr->spki_own;
	if (csr->pubkey == NULL) {
		rc = mca_error_rule(err, MCA_ERR_BADCSR, "csr.parse",
		                    "the CSR's public key cannot be read");
		goto fail;
	}
	if ((rc = check_sig_alg(req->sig_alg, err)) != MCA_OK)
		goto fail;
	/* Over the info's bytes as sent (the template keeps their encoding). */
	if (ASN1_item_verify(ASN1_ITEM_rptr(MCA_CRI), req->sig_alg, req->signature, req->info,
	                     csr->pubkey) != 1) {
		rc = mca_error_rule(err, MCA_ERR_BADCSR, "csr.signature",
		                    "the CSR's signature does not verify with its public key");
		goto fail;
	}
	if ((rc = read_subject(csr, req->info->subject, err)) != MCA_OK ||
	    (rc = read_names(csr, req, err)) != MCA_OK)
		goto fail;
	ERR_clear_error();
	req_free(req);
	*out = csr;
	return MCA_OK;
fail:
	ERR_clear_error();
	req_free(req);
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
	X509_PUBKEY_free(csr->spki_own);
	X509_free(csr->cert);
	free(csr);
}
