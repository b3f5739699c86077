/* ocsp.c - OCSP requests parsed strictly, responses encoded by hand (see ocsp.h). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "common/der.h"
#include "pki/ocsp.h"

#define MALFORMED(err, ...) mca_error_rule(err, MCA_ERR_INVAL, "ocsp.malformed", __VA_ARGS__)

/* OID contents (no tag, no length). */
static const unsigned char oid_sha1[] = {0x2b, 0x0e, 0x03, 0x02, 0x1a};
static const unsigned char oid_sha256[] = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01};
static const unsigned char oid_nonce[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x02};
static const unsigned char oid_basic[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x01};

/* ---- a strict DER reader ---- */

struct rd {
	const unsigned char *p, *end;
};

/*
 * The next element: one-octet tag, definite minimal length, within the
 * reader.  0 when malformed.  The reader moves past it.
 */
static int
next(struct rd *r, unsigned char *tag, struct rd *val)
{
	const unsigned char *p = r->p;
	size_t len = 0, n, i;

	if (r->end - p < 2 || (p[0] & 0x1f) == 0x1f)
		return 0;
	*tag = p[0];
	if (p[1] < 0x80) {
		len = p[1];
		p += 2;
	} else {
		n = p[1] & 0x7f;
		/* no indefinite length (BER), at most 4 length octets, minimal */
		if (n == 0 || n > 4 || (size_t)(r->end - p - 2) < n || p[2] == 0)
			return 0;
		for (i = 0; i < n; i++)
			len = len << 8 | p[2 + i];
		if (len < 0x80)
			return 0;
		p += 2 + n;
	}
	if ((size_t)(r->end - p) < len)
		return 0;
	val->p = p;
	val->end = p + len;
	r->p = p + len;
	return 1;
}

/* The next element must have `tag`. */
static int
expect(struct rd *r, unsigned char want, struct rd *val)
{
	unsigned char tag = 0;
	struct rd save = *r;

	if (!next(r, &tag, val) || tag != want) {
		*r = save;
		return 0;
	}
	return 1;
}

/* The next element has `tag` (without consuming it). */
static int
peek(const struct rd *r, unsigned char tag)
{
	return r->p < r->end && r->p[0] == tag;
}

static size_t
rlen(const struct rd *r)
{
	return (size_t)(r->end - r->p);
}

/* DER OBJECT IDENTIFIER contents: not empty, minimal sub-identifiers, the last one ended. */
static int
oid_valid(const struct rd *v)
{
	const unsigned char *p;
	int start = 1;

	if (rlen(v) == 0 || (v->end[-1] & 0x80))
		return 0;
	for (p = v->p; p < v->end; p++) {
		if (start && *p == 0x80)
			return 0;
		start = !(*p & 0x80);
	}
	return 1;
}

static int
oid_is(const struct rd *v, const unsigned char *oid, size_t len)
{
	return rlen(v) == len && memcmp(v->p, oid, len) == 0;
}

/* AlgorithmIdentifier of a hash: parameters absent or NULL. */
static mca_rc
parse_hash_alg(struct rd *alg, enum mca_ocsp_hash *h, struct mca_error *err)
{
	struct rd oid, null;

	if (!expect(alg, MCA_DER_OID, &oid) || !oid_valid(&oid))
		return MALFORMED(err, "CertID: hashAlgorithm without a valid OID");
	if (alg->p < alg->end && (!expect(alg, 0x05, &null) || rlen(&null) != 0))
		return MALFORMED(err, "CertID: hashAlgorithm parameters are not NULL");
	if (alg->p != alg->end)
		return MALFORMED(err, "CertID: trailing data in hashAlgorithm");
	*h = oid_is(&oid, oid_sha1, sizeof(oid_sha1))       ? MCA_OCSP_SHA1
	     : oid_is(&oid, oid_sha256, sizeof(oid_sha256)) ? MCA_OCSP_SHA256
	                                                    : MCA_OCSP_HASH_OTHER;
	return MCA_OK;
}

/* CertID ::= SEQUENCE { hashAlgorithm, issuerNameHash, issuerKeyHash, serialNumber } */
static mca_rc
parse_certid(struct rd *req, struct mca_ocsp_certid *id, struct mca_error *err)
{
	const unsigned char *start = req->p;
	struct rd cid, alg, nh, kh, serial;
	size_t i;
	mca_rc rc;

	if (!expect(req, MCA_DER_SEQUENCE, &cid))
		return MALFORMED(err, "Request: no CertID");
	id->der = start;
	id->der_len = (size_t)(req->p - start);
	if (!expect(&cid, MCA_DER_SEQUENCE, &alg))
		return MALFORMED(err, "CertID: no hashAlgorithm");
	if ((rc = parse_hash_alg(&alg, &id->hash, err)) != MCA_OK)
		return rc;
	if (!expect(&cid, MCA_DER_OCTETS, &nh) || !expect(&cid, MCA_DER_OCTETS, &kh) ||
	    rlen(&nh) > MCA_OCSP_HASH_MAX || rlen(&kh) > MCA_OCSP_HASH_MAX)
		return MALFORMED(err,
		                 "CertID: issuer hashes are not OCTET STRINGs of up to %d octets",
		                 MCA_OCSP_HASH_MAX);
	id->name_hash = nh.p;
	id->name_hash_len = rlen(&nh);
	id->key_hash = kh.p;
	id->key_hash_len = rlen(&kh);
	if (!expect(&cid, MCA_DER_INTEGER, &serial) || cid.p != cid.end)
		return MALFORMED(err, "CertID: no serialNumber, or trailing data");
	/* positive, minimal, 1..20 octets of magnitude */
	if (rlen(&serial) == 0 || (serial.p[0] & 0x80) ||
	    (rlen(&serial) > 1 && serial.p[0] == 0 && !(serial.p[1] & 0x80)))
		return MALFORMED(err, "CertID: serialNumber is not a minimal positive INTEGER");
	if (serial.p[0] == 0)
		serial.p++;
	if (rlen(&serial) == 0 || rlen(&serial) > 20)
		return MALFORMED(err, "CertID: serialNumber is zero or longer than 20 octets");
	for (i = 0; i < rlen(&serial); i++)
		snprintf(id->serial + 2 * i, 3, "%02x", serial.p[i]);
	return MCA_OK;
}

/*
 * Extensions ::= SEQUENCE OF Extension; takes the nonce (requestExtensions
 * only: `nonce` not NULL), refuses unknown critical ones and duplicates.
 */
static mca_rc
parse_extensions(struct rd *exts, struct mca_ocsp_request *req, int take_nonce,
                 struct mca_error *err)
{
	struct rd ext, oid, crit, val;
	int seen_nonce = 0, critical;

	if (exts->p == exts->end)
		return MALFORMED(err, "empty Extensions");
	while (exts->p < exts->end) {
		if (!expect(exts, MCA_DER_SEQUENCE, &ext) || !expect(&ext, MCA_DER_OID, &oid) ||
		    !oid_valid(&oid))
			return MALFORMED(err, "Extension: no valid extnID");
		critical = 0;
		if (peek(&ext, 0x01)) {
			/* DER: BOOLEAN TRUE only (FALSE is the default, never encoded) */
			if (!expect(&ext, 0x01, &crit) || rlen(&crit) != 1 || crit.p[0] != 0xff)
				return MALFORMED(err, "Extension: critical is not DER TRUE");
			critical = 1;
		}
		if (!expect(&ext, MCA_DER_OCTETS, &val) || ext.p != ext.end)
			return MALFORMED(err, "Extension: no extnValue, or trailing data");
		if (take_nonce && oid_is(&oid, oid_nonce, sizeof(oid_nonce))) {
			if (seen_nonce++)
				return MALFORMED(err, "two nonce extensions");
			/* RFC 8954: OCTET STRING (SIZE(1..32)), wrapped in extnValue */
			if (rlen(&val) == 0 || rlen(&val) > MCA_OCSP_NONCE_MAX + 2)
				return MALFORMED(err, "nonce of %zu octets (1 to %d)", rlen(&val),
				                 MCA_OCSP_NONCE_MAX);
			req->nonce = val.p;
			req->nonce_len = rlen(&val);
		} else if (critical) {
			return MALFORMED(err, "unknown critical extension");
		}
	}
	return MCA_OK;
}

mca_rc
mca_ocsp_request_parse(const unsigned char *der, size_t len, struct mca_ocsp_request *req,
                       struct mca_error *err)
{
	struct rd all = {der, der + len}, ocsp, tbs, v, list, one, exts;
	unsigned char tag = 0;
	size_t total = 0;
	mca_rc rc;

	memset(req, 0, sizeof(*req));
	if (der == NULL || len == 0)
		return MALFORMED(err, "empty request");
	if (len > MCA_OCSP_REQUEST_MAX)
		return MALFORMED(err, "request of %zu octets (at most %d)", len,
		                 MCA_OCSP_REQUEST_MAX);
	if (!expect(&all, MCA_DER_SEQUENCE, &ocsp) || all.p != all.end)
		return MALFORMED(err, "not one DER OCSPRequest");
	if (!expect(&ocsp, MCA_DER_SEQUENCE, &tbs))
		return MALFORMED(err, "no TBSRequest");
	/* optionalSignature [0] EXPLICIT: not checked (unsigned requests are answered alike) */
	if (ocsp.p < ocsp.end && (!expect(&ocsp, MCA_DER_CTX0, &v) || ocsp.p != ocsp.end))
		return MALFORMED(err, "trailing data after TBSRequest");
	if (peek(&tbs, MCA_DER_CTX0)) {
		struct rd ver;

		if (!expect(&tbs, MCA_DER_CTX0, &v) || !expect(&v, MCA_DER_INTEGER, &ver) ||
		    v.p != v.end || rlen(&ver) != 1 || ver.p[0] != 0)
			return MALFORMED(err, "version is not v1");
	}
	if (peek(&tbs, 0xa1) && !next(&tbs, &tag, &v)) /* requestorName: ignored */
		return MALFORMED(err, "bad requestorName");
	if (!expect(&tbs, MCA_DER_SEQUENCE, &list))
		return MALFORMED(err, "no requestList");
	while (list.p < list.end) {
		if (!expect(&list, MCA_DER_SEQUENCE, &one))
			return MALFORMED(err, "requestList: not a Request");
		total++;
		if (total > MCA_OCSP_MAX_CERTS)
			return mca_error_rule(err, MCA_ERR_POLICY, "ocsp.too_many",
			                      "more than %d certificates in one request",
			                      MCA_OCSP_MAX_CERTS);
		if ((rc = parse_certid(&one, &req->ids[req->n], err)) != MCA_OK)
			return rc;
		if (one.p < one.end) {
			/* singleRequestExtensions [0] EXPLICIT: only non-critical ones */
			if (!expect(&one, MCA_DER_CTX0, &v) || one.p != one.end ||
			    !expect(&v, MCA_DER_SEQUENCE, &exts) || v.p != v.end)
				return MALFORMED(err, "Request: trailing data");
			if ((rc = parse_extensions(&exts, req, 0, err)) != MCA_OK)
				return rc;
		}
		req->n++;
	}
	if (req->n == 0)
		return MALFORMED(err, "requestList is empty");
	if (tbs.p < tbs.end) {
		if (!expect(&tbs, 0xa2, &v) || tbs.p != tbs.end ||
		    !expect(&v, MCA_DER_SEQUENCE, &exts) || v.p != v.end)
			return MALFORMED(err, "TBSRequest: trailing data");
		if ((rc = parse_extensions(&exts, req, 1, err)) != MCA_OK)
			return rc;
	}
	return MCA_OK;
}

/* ---- responses ---- */

const unsigned char *
mca_ocsp_error_response(enum mca_ocsp_rstatus st, size_t *len)
{
	/* SEQUENCE { ENUMERATED st }, one per status we send */
	static const unsigned char resp[7][5] = {
	    {0x30, 0x03, 0x0a, 0x01, 0x00}, {0x30, 0x03, 0x0a, 0x01, 0x01},
	    {0x30, 0x03, 0x0a, 0x01, 0x02}, {0x30, 0x03, 0x0a, 0x01, 0x03},
	    {0x30, 0x03, 0x0a, 0x01, 0x04}, {0x30, 0x03, 0x0a, 0x01, 0x05},
	    {0x30, 0x03, 0x0a, 0x01, 0x06},
	};
	unsigned i = (unsigned)st < 7 ? (unsigned)st : MCA_OCSP_INTERNAL_ERROR;

	*len = sizeof(resp[0]);
	return resp[i];
}

/* GeneralizedTime YYYYMMDDHHMMSSZ; 0 when the time has no four-digit year. */
static int
gentime(struct mca_der *d, unsigned char tag, int64_t t)
{
	char buf[32];
	time_t tt = (time_t)t;
	struct tm tm;

	if (t < 0 || t > INT64_C(253402300799) || gmtime_r(&tt, &tm) == NULL)
		return 0;
	snprintf(buf, sizeof(buf), "%04d%02d%02d%02d%02d%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
	         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	mca_der_tlv(d, tag, buf, 15);
	return 1;
}

mca_rc
mca_ocsp_tbs_build(const unsigned char key_hash[20], int64_t produced_at,
                   const struct mca_ocsp_single *s, size_t n, const unsigned char *nonce,
                   size_t nonce_len, unsigned char **out, size_t *out_len, struct mca_error *err)
{
	struct mca_der d;
	size_t top, rid, list, one, st, ctx, exts, ext;
	size_t i;
	int times_ok = 1;

	*out = NULL;
	*out_len = 0;
	if (n == 0 || n > MCA_OCSP_MAX_CERTS)
		return mca_error_set(err, MCA_ERR_INVAL, "%zu single responses (1 to %d)", n,
		                     MCA_OCSP_MAX_CERTS);
	mca_der_init(&d);
	top = mca_der_open(&d, MCA_DER_SEQUENCE);
	rid = mca_der_open(&d, 0xa2); /* responderID byKey [2] EXPLICIT KeyHash */
	mca_der_tlv(&d, MCA_DER_OCTETS, key_hash, 20);
	mca_der_close(&d, rid);
	times_ok &= gentime(&d, 0x18, produced_at);
	list = mca_der_open(&d, MCA_DER_SEQUENCE);
	for (i = 0; i < n; i++) {
		one = mca_der_open(&d, MCA_DER_SEQUENCE);
		mca_der_raw(&d, s[i].certid, s[i].certid_len);
		switch (s[i].status) {
		case MCA_OCSP_GOOD:
			mca_der_tlv(&d, 0x80, NULL, 0); /* good [0] IMPLICIT NULL */
			break;
		case MCA_OCSP_REVOKED:
			st = mca_der_open(&d, 0xa1); /* revoked [1] IMPLICIT RevokedInfo */
			times_ok &= gentime(&d, 0x18, s[i].revoked_at);
			if (s[i].reason > 0) {
				ctx = mca_der_open(&d, MCA_DER_CTX0);
				mca_der_int64(&d, MCA_DER_ENUMERATED, s[i].reason);
				mca_der_close(&d, ctx);
			}
			mca_der_close(&d, st);
			break;
		default:
			mca_der_tlv(&d, 0x82, NULL, 0); /* unknown [2] IMPLICIT NULL */
			break;
		}
		times_ok &= gentime(&d, 0x18, s[i].this_update);
		ctx = mca_der_open(&d, MCA_DER_CTX0);
		times_ok &= gentime(&d, 0x18, s[i].next_update);
		mca_der_close(&d, ctx);
		mca_der_close(&d, one);
	}
	mca_der_close(&d, list);
	if (nonce != NULL) {
		ctx = mca_der_open(&d, 0xa1); /* responseExtensions [1] EXPLICIT */
		exts = mca_der_open(&d, MCA_DER_SEQUENCE);
		ext = mca_der_open(&d, MCA_DER_SEQUENCE);
		mca_der_tlv(&d, MCA_DER_OID, oid_nonce, sizeof(oid_nonce));
		mca_der_tlv(&d, MCA_DER_OCTETS, nonce, nonce_len);
		mca_der_close(&d, ext);
		mca_der_close(&d, exts);
		mca_der_close(&d, ctx);
	}
	mca_der_close(&d, top);
	if (!times_ok) {
		mca_der_free(&d);
		return mca_error_set(err, MCA_ERR_INVAL, "a time outside years 1970 to 9999");
	}
	if (d.failed) {
		mca_der_free(&d);
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	}
	*out = d.buf;
	*out_len = d.len;
	return MCA_OK;
}

mca_rc
mca_ocsp_response_wrap(const unsigned char *tbs, size_t tbs_len, const unsigned char *alg,
                       size_t alg_len, const unsigned char *sig, size_t sig_len,
                       const unsigned char *cert, size_t cert_len, unsigned char **out,
                       size_t *out_len, struct mca_error *err)
{
	static const unsigned char no_unused_bits = 0;
	struct mca_der d;
	size_t top, rb, bytes, oct, basic, bits, certs, seq;

	*out = NULL;
	*out_len = 0;
	mca_der_init(&d);
	top = mca_der_open(&d, MCA_DER_SEQUENCE);
	mca_der_int64(&d, MCA_DER_ENUMERATED, MCA_OCSP_SUCCESSFUL);
	rb = mca_der_open(&d, MCA_DER_CTX0); /* responseBytes [0] EXPLICIT */
	bytes = mca_der_open(&d, MCA_DER_SEQUENCE);
	mca_der_tlv(&d, MCA_DER_OID, oid_basic, sizeof(oid_basic));
	oct = mca_der_open(&d, MCA_DER_OCTETS);
	basic = mca_der_open(&d, MCA_DER_SEQUENCE);
	mca_der_raw(&d, tbs, tbs_len);
	mca_der_raw(&d, alg, alg_len);
	bits = mca_der_open(&d, MCA_DER_BITSTRING);
	mca_der_raw(&d, &no_unused_bits, 1);
	mca_der_raw(&d, sig, sig_len);
	mca_der_close(&d, bits);
	if (cert != NULL) {
		certs = mca_der_open(&d, MCA_DER_CTX0);
		seq = mca_der_open(&d, MCA_DER_SEQUENCE);
		mca_der_raw(&d, cert, cert_len);
		mca_der_close(&d, seq);
		mca_der_close(&d, certs);
	}
	mca_der_close(&d, basic);
	mca_der_close(&d, oct);
	mca_der_close(&d, bytes);
	mca_der_close(&d, rb);
	mca_der_close(&d, top);
	if (d.failed) {
		mca_der_free(&d);
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	}
	*out = d.buf;
	*out_len = d.len;
	return MCA_OK;
}

static const char *
md_name(enum mca_ocsp_hash h)
{
	return h == MCA_OCSP_SHA256 ? "SHA256" : "SHA1";
}

mca_rc
mca_ocsp_key_hash(EVP_PKEY *key, enum mca_ocsp_hash h, unsigned char out[MCA_OCSP_HASH_MAX],
                  size_t *len, struct mca_error *err)
{
	X509_PUBKEY *xpk = NULL;
	const unsigned char *bits = NULL;
	unsigned int n = 0;
	int bits_len = 0;
	mca_rc rc = MCA_OK;

	*len = 0;
	if (!X509_PUBKEY_set(&xpk, key) ||
	    !X509_PUBKEY_get0_param(NULL, &bits, &bits_len, NULL, xpk) ||
	    !EVP_Digest(bits, (size_t)bits_len, out, &n, EVP_get_digestbyname(md_name(h)), NULL))
		rc = mca_error_ssl(err, MCA_ERR_CRYPTO, "hashing a public key");
	else
		*len = n;
	X509_PUBKEY_free(xpk);
	return rc;
}

mca_rc
mca_ocsp_issuer_id(X509 *issuer, struct mca_ocsp_issuer_id *out, struct mca_error *err)
{
	unsigned char *der = NULL;
	unsigned int n = 0;
	int dlen, h;
	mca_rc rc = MCA_OK;

	memset(out, 0, sizeof(*out));
	dlen = i2d_X509_NAME(X509_get_subject_name(issuer), &der);
	if (dlen <= 0)
		return mca_error_ssl(err, MCA_ERR_CRYPTO, "encoding the issuer's name");
	for (h = MCA_OCSP_SHA1; h <= MCA_OCSP_SHA256 && rc == MCA_OK; h++) {
		if (!EVP_Digest(der, (size_t)dlen, out->name[h], &n,
		                EVP_get_digestbyname(md_name((enum mca_ocsp_hash)h)), NULL))
			rc = mca_error_ssl(err, MCA_ERR_CRYPTO, "hashing the issuer's name");
		else
			rc = mca_ocsp_key_hash(X509_get0_pubkey(issuer), (enum mca_ocsp_hash)h,
			                       out->key[h], &out->len[h], err);
	}
	OPENSSL_free(der);
	return rc;
}

int
mca_ocsp_certid_matches(const struct mca_ocsp_certid *id, const struct mca_ocsp_issuer_id *iss)
{
	size_t n;

	if (id->hash != MCA_OCSP_SHA1 && id->hash != MCA_OCSP_SHA256)
		return 0;
	n = iss->len[id->hash];
	return n > 0 && id->name_hash_len == n && id->key_hash_len == n &&
	       memcmp(id->name_hash, iss->name[id->hash], n) == 0 &&
	       memcmp(id->key_hash, iss->key[id->hash], n) == 0;
}
