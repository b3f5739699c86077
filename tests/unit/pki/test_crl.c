/*
 * test_crl.c - the CRL encoder (pki/crl.h) and its signing through the
 * signer (mca_signer_wrap), without a store or a daemon: a throwaway CA is
 * made in the test (pki/certgen + signer/local), TBSCertLists are built
 * for it and compared byte for byte with known encodings, then signed and
 * read back by OpenSSL (d2i_X509_CRL): version, issuer, thisUpdate and
 * nextUpdate (UTCTime through 2049, GeneralizedTime from 2050, RFC 5280
 * 4.1.2.5), each entry's serial, date and reason (none for unspecified),
 * the CRL number, the AKI keyIdentifier, and the signature.  The reason
 * names are the seven of doc/cli.md "revoke", spelled exactly.
 */
#include "config.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pki/certgen.h"
#include "pki/crl.h"
#include "pki/keys.h"
#include "signer/signer.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* 2026-12-01T00:00:00Z, 2049-12-31T23:59:59Z, 2050-01-01T00:00:00Z */
#define T_2026 INT64_C(1796083200)
#define T_2049 INT64_C(2524607999)
#define T_2050 INT64_C(2524608000)

/* ---- reason names ---- */

static const struct {
	const char *name;
	int value;
} reasons[] = {
    {"unspecified", 0},        {"keyCompromise", 1}, {"caCompromise", 2},
    {"affiliationChanged", 3}, {"superseded", 4},    {"cessationOfOperation", 5},
    {"privilegeWithdrawn", 9},
};

START_TEST(reason_round_trip)
{
	ck_assert_int_eq(mca_crl_reason_parse(reasons[_i].name), reasons[_i].value);
	ck_assert_str_eq(mca_crl_reason_name(reasons[_i].value), reasons[_i].name);
	ck_assert_str_eq(mca_crl_reason_name(mca_crl_reason_parse(reasons[_i].name)),
	                 reasons[_i].name);
}
END_TEST

/* Not accepted: other RFC 5280 reasons, other spellings, near misses. */
static const char *const bad_reasons[] = {
    "",
    "KeyCompromise",
    "keycompromise",
    "KEYCOMPROMISE",
    "key-compromise",
    "keyCompromise ",
    " keyCompromise",
    "keyCompromis",
    "keyCompromiseX",
    "unspecified\n",
    "certificateHold",
    "removeFromCRL",
    "aACompromise",
    "1",
    "0",
};

START_TEST(reason_refused)
{
	ck_assert_int_eq(mca_crl_reason_parse(bad_reasons[_i]), -1);
}
END_TEST

/* A value that is not one of ours is named "unspecified", like the entry it encodes. */
START_TEST(reason_name_unknown)
{
	static const int values[] = {-1, 6, 7, 8, 10, 11, INT_MAX, INT_MIN};
	size_t i;

	for (i = 0; i < NELEM(values); i++)
		ck_assert_str_eq(mca_crl_reason_name(values[i]), "unspecified");
}
END_TEST

/* ---- a throwaway CA ---- */

struct ca {
	EVP_PKEY *key;
	X509 *cert;
	struct mca_signer *signer;
};

static const struct {
	const char *alg, *curve;
	unsigned bits;
} key_types[] = {
    {"EC", "P-256", 0},
    {"EC", "P-384", 0},
    {"RSA", NULL, 2048},
    {"ED25519", NULL, 0},
};

static EVP_PKEY *
make_key(size_t kt)
{
	EVP_PKEY *k = NULL;

	if (key_types[kt].curve != NULL)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", key_types[kt].curve);
	else if (key_types[kt].bits != 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)key_types[kt].bits);
	else
		k = EVP_PKEY_Q_keygen(NULL, NULL, key_types[kt].alg);
	ck_assert_ptr_nonnull(k);
	return k;
}

/*
 * A CA of key type `kt`, self-signed when `parent` is NULL, else issued by
 * it; `cn` NULL for an empty subject.  A self-signed certificate always
 * has an SKI (certgen), an issued one only with `ski`.
 */
static void
ca_make(struct ca *ca, size_t kt, const struct ca *parent, int ski, const char *cn)
{
	static const unsigned char serial[] = {0x42, 0x01, 0x02, 0x03};
	struct mca_certgen g;
	struct mca_error err = {0};
	X509_NAME *n = X509_NAME_new();

	ck_assert_ptr_nonnull(n);
	if (cn != NULL) {
		ck_assert_int_eq(X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
		                                            (const unsigned char *)"mtlsca tests",
		                                            -1, -1, 0),
		                 1);
		ck_assert_int_eq(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
		                                            (const unsigned char *)cn, -1, -1, 0),
		                 1);
	}
	memset(ca, 0, sizeof(*ca));
	ca->key = make_key(kt);
	memset(&g, 0, sizeof(g));
	g.serial = serial;
	g.serial_len = sizeof(serial);
	g.subject = n;
	g.pubkey = ca->key;
	g.issuer = parent ? parent->cert : NULL;
	g.not_before = T_2026 - 86400;
	g.not_after = T_2050 + 86400;
	g.ca = 1;
	g.pathlen = -1;
	g.key_usage = MCA_KU_KEY_CERT_SIGN | MCA_KU_CRL_SIGN;
	g.ski = ski;
	ck_assert_msg(mca_certgen_build(&g, &ca->cert, &err) == MCA_OK, "%s", err.msg);
	ck_assert_msg(mca_signer_local_new(ca->key, &ca->signer, &err) == MCA_OK, "%s", err.msg);
	ck_assert_msg(mca_signer_sign_cert(parent ? parent->signer : ca->signer, &ca->cert, &err) ==
	                  MCA_OK,
	              "%s", err.msg);
	X509_NAME_free(n);
}

static void
ca_free(struct ca *ca)
{
	mca_signer_free(ca->signer);
	X509_free(ca->cert);
	EVP_PKEY_free(ca->key);
	memset(ca, 0, sizeof(*ca));
}

static unsigned char *
tbs_make(struct ca *ca, int64_t number, int64_t this_update, int64_t next_update,
         const struct mca_crl_entry *e, size_t n, size_t *tbs_len)
{
	struct mca_error err = {0};
	const unsigned char *alg;
	unsigned char *tbs = NULL;
	size_t alg_len = 0;
	mca_rc rc;

	alg = mca_signer_algor_der(ca->signer, &alg_len);
	rc = mca_crl_build_tbs(alg, alg_len, ca->cert, number, this_update, next_update, e, n, &tbs,
	                       tbs_len, &err);
	ck_assert_msg(rc == MCA_OK, "%s", err.msg);
	ck_assert_ptr_nonnull(tbs);
	return tbs;
}

/* Sign `tbs` and read the CRL back; *der is the signed CRL (malloc'd). */
static X509_CRL *
crl_sign(struct ca *ca, const unsigned char *tbs, size_t tbs_len, unsigned char **der,
         size_t *der_len)
{
	struct mca_error err = {0};
	const unsigned char *p;
	X509_CRL *crl;

	ck_assert_msg(mca_signer_wrap(ca->signer, MCA_SIGN_CRL, tbs, tbs_len, der, der_len, &err) ==
	                  MCA_OK,
	              "%s", err.msg);
	p = *der;
	crl = d2i_X509_CRL(NULL, &p, (long)*der_len);
	ck_assert_msg(crl != NULL, "OpenSSL does not read the CRL");
	ck_assert_ptr_eq(p, *der + *der_len);
	return crl;
}

/* ---- walking DER with OpenSSL ---- */

struct field {
	const unsigned char *p; /* the whole TLV */
	size_t len;
	int tag; /* identifier octet */
};

/* The elements of the constructed value at p (n octets); returns how many. */
static size_t
walk(const unsigned char *p, size_t n, struct field *f, size_t max)
{
	const unsigned char *q = p, *start, *end;
	long l = 0;
	int t, c, r;
	size_t k = 0;

	r = ASN1_get_object(&q, &l, &t, &c, (long)n);
	ck_assert_int_eq(r, V_ASN1_CONSTRUCTED);
	ck_assert_int_eq((long)(q - p) + l, (long)n);
	end = q + l;
	while (q < end) {
		ck_assert_uint_lt(k, max);
		start = q;
		r = ASN1_get_object(&q, &l, &t, &c, (long)(end - q));
		ck_assert_int_eq(r & 0x80, 0);
		f[k].p = start;
		f[k].tag = start[0];
		q += l;
		f[k].len = (size_t)(q - start);
		k++;
	}
	ck_assert_ptr_eq(q, end);
	return k;
}

static void
assert_mem(const unsigned char *got, size_t got_len, const unsigned char *want, size_t want_len,
           const char *what)
{
	char g[256] = "", w[256] = "";
	size_t i;

	for (i = 0; i < got_len && 2 * i + 3 < sizeof(g); i++)
		snprintf(g + 2 * i, 3, "%02x", got[i]);
	for (i = 0; i < want_len && 2 * i + 3 < sizeof(w); i++)
		snprintf(w + 2 * i, 3, "%02x", want[i]);
	ck_assert_msg(got_len == want_len && memcmp(got, want, want_len) == 0,
	              "%s: got %s (%zu octets), want %s (%zu octets)", what, g, got_len, w,
	              want_len);
}

/* ---- a known TBSCertList, byte for byte ---- */

/* A test-side DER builder, short and one/two-octet long forms only. */
struct buf {
	unsigned char b[2048];
	size_t n;
};

static void
put(struct buf *b, const void *p, size_t n)
{
	ck_assert_uint_le(b->n + n, sizeof(b->b));
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

static void
put_tlv(struct buf *b, unsigned char tag, const struct buf *c)
{
	unsigned char h[4];
	size_t hl;

	h[0] = tag;
	if (c->n < 0x80) {
		h[1] = (unsigned char)c->n;
		hl = 2;
	} else if (c->n < 0x100) {
		h[1] = 0x81;
		h[2] = (unsigned char)c->n;
		hl = 3;
	} else {
		h[1] = 0x82;
		h[2] = (unsigned char)(c->n >> 8);
		h[3] = (unsigned char)c->n;
		hl = 4;
	}
	put(b, h, hl);
	put(b, c->b, c->n);
}

#define PUT(b, lit) put((b), (lit), sizeof(lit) - 1)

START_TEST(tbs_known_encoding)
{
	/* serial 0x8001 has its high bit set; 0x007f is not minimal as given */
	static const struct mca_crl_entry e[] = {
	    {{0x80, 0x01}, 2, T_2049, MCA_REASON_KEY_COMPROMISE},
	    {{0x00, 0x7f}, 2, T_2050, MCA_REASON_UNSPECIFIED},
	};
	struct ca ca;
	struct buf want = {{0}, 0}, c = {{0}, 0}, list = {{0}, 0}, ent = {{0}, 0}, x = {{0}, 0},
	           y = {{0}, 0}, exts = {{0}, 0};
	const unsigned char *alg;
	const ASN1_OCTET_STRING *ski;
	unsigned char *name = NULL, *tbs;
	size_t alg_len = 0, tbs_len = 0;
	int name_len;

	ca_make(&ca, 0, NULL, 1, "KAT CA");
	alg = mca_signer_algor_der(ca.signer, &alg_len);
	name_len = i2d_X509_NAME(X509_get_subject_name(ca.cert), &name);
	ck_assert_int_gt(name_len, 0);
	ski = X509_get0_subject_key_id(ca.cert);
	ck_assert_ptr_nonnull(ski);
	ck_assert_int_eq(ASN1_STRING_length(ski), 20);

	PUT(&c, "\x02\x01\x01"); /* version v2 */
	put(&c, alg, alg_len);
	put(&c, name, (size_t)name_len);
	PUT(&c, "\x17\x0d"
	        "261201000000Z"); /* thisUpdate, UTCTime */
	PUT(&c, "\x18\x0f"
	        "20500101000000Z"); /* nextUpdate, GeneralizedTime */

	/* entry 1: 0x8001 padded, 2049 as UTCTime, reasonCode keyCompromise */
	PUT(&ent, "\x02\x03\x00\x80\x01");
	PUT(&ent, "\x17\x0d"
	          "491231235959Z");
	PUT(&ent, "\x30\x0c\x30\x0a\x06\x03\x55\x1d\x15\x04\x03\x0a\x01\x01");
	put_tlv(&list, 0x30, &ent);
	/* entry 2: 0x7f minimal, 2050 as GeneralizedTime, no extensions at all */
	ent.n = 0;
	PUT(&ent, "\x02\x01\x7f");
	PUT(&ent, "\x18\x0f"
	          "20500101000000Z");
	put_tlv(&list, 0x30, &ent);
	put_tlv(&c, 0x30, &list);

	/* AKI: SEQUENCE { [0] SKI } in an OCTET STRING; not critical */
	PUT(&x, "\x80\x14");
	put(&x, ASN1_STRING_get0_data(ski), 20);
	put_tlv(&y, 0x30, &x);
	x.n = 0;
	put_tlv(&x, 0x04, &y);
	y.n = 0;
	PUT(&y, "\x06\x03\x55\x1d\x23");
	put(&y, x.b, x.n);
	put_tlv(&exts, 0x30, &y);
	/* CRLNumber 128: INTEGER 00 80 */
	PUT(&exts, "\x30\x0b\x06\x03\x55\x1d\x14\x04\x04\x02\x02\x00\x80");
	x.n = 0;
	put_tlv(&x, 0x30, &exts);
	put_tlv(&c, 0xa0, &x);
	put_tlv(&want, 0x30, &c);

	tbs = tbs_make(&ca, 128, T_2026, T_2050, e, NELEM(e), &tbs_len);
	assert_mem(tbs, tbs_len, want.b, want.n, "TBSCertList");
	free(tbs);
	OPENSSL_free(name);
	ca_free(&ca);
}
END_TEST

/* ---- signed CRLs read back by OpenSSL, for every CA key type ---- */

/* One entry per reason, serials at the edges, dates on both sides of 2050. */
static const struct mca_crl_entry all_entries[] = {
    {{0x11, 0x22, 0x33}, 3, T_2026, MCA_REASON_UNSPECIFIED},
    {{0x80}, 1, T_2026 + 1, MCA_REASON_KEY_COMPROMISE},
    {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
     20,
     T_2049,
     MCA_REASON_CA_COMPROMISE},
    {{0x00, 0x00, 0x01}, 3, T_2050, MCA_REASON_AFFILIATION_CHANGED},
    {{0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
      0xff},
     16,
     T_2050 + 3600,
     MCA_REASON_SUPERSEDED},
    {{0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01},
     16,
     0,
     MCA_REASON_CESSATION_OF_OPERATION},
    {{0x10, 0x20}, 2, T_2049 - 1, MCA_REASON_PRIVILEGE_WITHDRAWN},
};

static void
assert_entries(X509_CRL *crl, const struct mca_crl_entry *e, size_t n)
{
	STACK_OF(X509_REVOKED) *rs = X509_CRL_get_REVOKED(crl);
	size_t i;

	ck_assert_int_eq(sk_X509_REVOKED_num(rs), (int)n);
	for (i = 0; i < n; i++) {
		X509_REVOKED *r = sk_X509_REVOKED_value(rs, (int)i);
		BIGNUM *got = ASN1_INTEGER_to_BN(X509_REVOKED_get0_serialNumber(r), NULL);
		BIGNUM *want = BN_bin2bn(e[i].serial, (int)e[i].serial_len, NULL);
		ASN1_ENUMERATED *reason;
		int crit = -2;
		int64_t reason_v = -1;

		ck_assert_ptr_nonnull(got);
		ck_assert_ptr_nonnull(want);
		ck_assert_msg(BN_cmp(got, want) == 0, "entry %zu: serial", i);
		ck_assert_int_eq(BN_is_negative(got), 0);
		BN_free(got);
		BN_free(want);
		ck_assert_int_eq(mca_asn1_time_unix(X509_REVOKED_get0_revocationDate(r)),
		                 e[i].revoked_at);
		ck_assert_int_eq(ASN1_STRING_type(X509_REVOKED_get0_revocationDate(r)),
		                 e[i].revoked_at < T_2050 ? V_ASN1_UTCTIME
		                                          : V_ASN1_GENERALIZEDTIME);
		reason = X509_REVOKED_get_ext_d2i(r, NID_crl_reason, &crit, NULL);
		if (e[i].reason == MCA_REASON_UNSPECIFIED) {
			/* RFC 5280 5.3.1: absent rather than unspecified; no other extension either
			 */
			ck_assert_ptr_null(reason);
			ck_assert_int_eq(crit, -1);
			ck_assert_int_eq(X509_REVOKED_get_ext_count(r), 0);
			continue;
		}
		ck_assert_msg(reason != NULL, "entry %zu: no reasonCode", i);
		ck_assert_int_eq(crit, 0);
		ck_assert_int_eq(ASN1_ENUMERATED_get_int64(&reason_v, reason), 1);
		ck_assert_int_eq(reason_v, e[i].reason);
		ck_assert_int_eq(X509_REVOKED_get_ext_count(r), 1);
		ASN1_ENUMERATED_free(reason);
	}
}

START_TEST(signed_crl_read_back)
{
	struct ca ca, other;
	unsigned char *tbs, *der = NULL;
	size_t tbs_len = 0, der_len = 0;
	X509_CRL *crl, *bad;
	ASN1_INTEGER *num;
	AUTHORITY_KEYID *aki;
	const ASN1_OCTET_STRING *ski;
	const unsigned char *p;
	int crit = -2;
	int64_t v = -1;

	ca_make(&ca, _i, NULL, 1, "CRL test CA");
	tbs = tbs_make(&ca, 42, T_2026, T_2026 + 7 * 86400, all_entries, NELEM(all_entries),
	               &tbs_len);
	crl = crl_sign(&ca, tbs, tbs_len, &der, &der_len);

	ck_assert_int_eq(X509_CRL_get_version(crl), X509_CRL_VERSION_2);
	ck_assert_int_eq(X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ca.cert)),
	                 0);
	ck_assert_int_eq(mca_asn1_time_unix(X509_CRL_get0_lastUpdate(crl)), T_2026);
	ck_assert_int_eq(mca_asn1_time_unix(X509_CRL_get0_nextUpdate(crl)), T_2026 + 7 * 86400);
	assert_entries(crl, all_entries, NELEM(all_entries));

	/* exactly two CRL extensions, neither critical */
	ck_assert_int_eq(X509_CRL_get_ext_count(crl), 2);
	num = X509_CRL_get_ext_d2i(crl, NID_crl_number, &crit, NULL);
	ck_assert_ptr_nonnull(num);
	ck_assert_int_eq(crit, 0);
	ck_assert_int_eq(ASN1_INTEGER_get_int64(&v, num), 1);
	ck_assert_int_eq(v, 42);
	ASN1_INTEGER_free(num);
	crit = -2;
	aki = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, &crit, NULL);
	ck_assert_ptr_nonnull(aki);
	ck_assert_int_eq(crit, 0);
	ski = X509_get0_subject_key_id(ca.cert);
	ck_assert_ptr_nonnull(ski);
	ck_assert_ptr_nonnull(aki->keyid);
	ck_assert_int_eq(ASN1_OCTET_STRING_cmp(aki->keyid, ski), 0);
	ck_assert_ptr_null(aki->issuer);
	ck_assert_ptr_null(aki->serial);
	AUTHORITY_KEYID_free(aki);

	/* the algorithm outside is the one inside, and the CA key verifies the signature */
	ck_assert_int_eq(X509_CRL_get_signature_nid(crl),
	                 X509_get_signature_nid(ca.cert)); /* both by the same signer */
	ck_assert_int_eq(X509_CRL_verify(crl, ca.key), 1);
	/* another key of the same type does not */
	ca_make(&other, _i, NULL, 1, "CRL test CA");
	ck_assert_int_ne(X509_CRL_verify(crl, other.key), 1);
	ca_free(&other);
	/* nor does a changed TBS: thisUpdate 2026 -> 2027 (the year's last digit) */
	{
		unsigned char *hit = NULL, *q;

		for (q = der; q + 15 <= der + der_len; q++)
			if (memcmp(q,
			           "\x17\x0d"
			           "261201000000Z",
			           15) == 0) {
				hit = q;
				break;
			}
		ck_assert_ptr_nonnull(hit);
		hit[3] = '7';
		p = der;
		bad = d2i_X509_CRL(NULL, &p, (long)der_len);
		ck_assert_ptr_nonnull(bad);
		ck_assert_int_eq(mca_asn1_time_unix(X509_CRL_get0_lastUpdate(bad)),
		                 T_2026 + 365 * 86400);
		ck_assert_int_ne(X509_CRL_verify(bad, ca.key), 1);
		X509_CRL_free(bad);
	}

	X509_CRL_free(crl);
	free(der);
	free(tbs);
	ca_free(&ca);
}
END_TEST

/*
 * mca_signer_wrap: SEQUENCE { the TBS verbatim, the signer's
 * AlgorithmIdentifier (also the TBS's signature field), BIT STRING with no
 * unused bits holding a signature over exactly the TBS }.
 */
START_TEST(wrap_structure)
{
	struct ca ca;
	struct field outer[4], inner[8];
	unsigned char *tbs, *der = NULL;
	size_t tbs_len = 0, der_len = 0, alg_len = 0, n, hl;
	const unsigned char *alg, *sig;
	X509_CRL *crl;
	EVP_MD_CTX *ctx;
	const char *md = NULL;

	ca_make(&ca, _i, NULL, 1, "wrap CA");
	alg = mca_signer_algor_der(ca.signer, &alg_len);
	tbs = tbs_make(&ca, 1, T_2026, T_2050, all_entries, 2, &tbs_len);
	crl = crl_sign(&ca, tbs, tbs_len, &der, &der_len);
	ck_assert_uint_eq(walk(der, der_len, outer, NELEM(outer)), 3);
	assert_mem(outer[0].p, outer[0].len, tbs, tbs_len, "TBS");
	assert_mem(outer[1].p, outer[1].len, alg, alg_len, "signatureAlgorithm");
	n = walk(tbs, tbs_len, inner, NELEM(inner));
	ck_assert_uint_eq(n, 7);
	assert_mem(inner[1].p, inner[1].len, alg, alg_len, "TBS signature");
	ck_assert_int_eq(outer[2].tag, 0x03);
	hl = outer[2].p[1] < 0x80 ? 2 : 2 + (outer[2].p[1] & 0x7f);
	ck_assert_uint_eq(outer[2].p[hl], 0x00); /* unused bits */
	sig = outer[2].p + hl + 1;
	if (key_types[_i].curve != NULL)
		md = strcmp(key_types[_i].curve, "P-384") == 0 ? "SHA384" : "SHA256";
	else if (key_types[_i].bits != 0)
		md = "SHA256";
	ctx = EVP_MD_CTX_new();
	ck_assert_ptr_nonnull(ctx);
	ck_assert_int_eq(EVP_DigestVerifyInit_ex(ctx, NULL, md, NULL, NULL, ca.key, NULL), 1);
	ck_assert_int_eq(EVP_DigestVerify(ctx, sig, outer[2].len - hl - 1, tbs, tbs_len), 1);
	EVP_MD_CTX_free(ctx);
	X509_CRL_free(crl);
	free(der);
	free(tbs);
	ca_free(&ca);
}
END_TEST

/* No entries: no revokedCertificates at all (RFC 5280 5.1.2.6), not an empty SEQUENCE. */
START_TEST(no_entries)
{
	struct ca ca;
	struct field f[8];
	unsigned char *tbs, *der = NULL;
	size_t tbs_len = 0, der_len = 0;
	X509_CRL *crl;

	ca_make(&ca, 0, NULL, 1, "empty CA");
	tbs = tbs_make(&ca, 1, T_2026, T_2026 + 86400, NULL, 0, &tbs_len);
	ck_assert_uint_eq(walk(tbs, tbs_len, f, NELEM(f)), 6);
	ck_assert_int_eq(f[0].tag, 0x02);
	ck_assert_int_eq(f[1].tag, 0x30);
	ck_assert_int_eq(f[2].tag, 0x30);
	ck_assert_int_eq(f[3].tag, 0x17);
	ck_assert_int_eq(f[4].tag, 0x17);
	ck_assert_int_eq(f[5].tag, 0xa0); /* crlExtensions right after nextUpdate */
	crl = crl_sign(&ca, tbs, tbs_len, &der, &der_len);
	ck_assert_int_le(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 0);
	ck_assert_int_eq(X509_CRL_verify(crl, ca.key), 1);
	X509_CRL_free(crl);
	free(der);
	free(tbs);
	ca_free(&ca);
}
END_TEST

/* ---- times: UTCTime 1950..2049, GeneralizedTime otherwise (RFC 5280 4.1.2.5) ---- */

static const struct {
	int64_t t;
	const char *der; /* tag, length, digits */
	size_t len;
} times[] = {
    {INT64_C(-62167219200),
     "\x18\x0f"
     "00000101000000Z",
     17},
    {INT64_C(-631152001),
     "\x18\x0f"
     "19491231235959Z",
     17},
    {INT64_C(-631152000),
     "\x17\x0d"
     "500101000000Z",
     15},
    {0,
     "\x17\x0d"
     "700101000000Z",
     15},
    {T_2026,
     "\x17\x0d"
     "261201000000Z",
     15},
    {T_2049,
     "\x17\x0d"
     "491231235959Z",
     15},
    {T_2050,
     "\x18\x0f"
     "20500101000000Z",
     17},
    {INT64_C(253402300799),
     "\x18\x0f"
     "99991231235959Z",
     17},
};

START_TEST(time_encoding)
{
	struct mca_crl_entry e = {{0x01}, 1, times[_i].t, MCA_REASON_UNSPECIFIED};
	struct field f[8], list[2], ent[3];
	struct ca ca;
	unsigned char *tbs, *der = NULL;
	size_t tbs_len = 0, der_len = 0;
	X509_CRL *crl;
	const ASN1_TIME *at;
	int want_type = times[_i].der[0] == 0x17 ? V_ASN1_UTCTIME : V_ASN1_GENERALIZEDTIME;

	ca_make(&ca, 0, NULL, 1, "time CA");
	tbs = tbs_make(&ca, 1, times[_i].t, times[_i].t, &e, 1, &tbs_len);
	ck_assert_uint_eq(walk(tbs, tbs_len, f, NELEM(f)), 7);
	assert_mem(f[3].p, f[3].len, (const unsigned char *)times[_i].der, times[_i].len,
	           "thisUpdate");
	assert_mem(f[4].p, f[4].len, (const unsigned char *)times[_i].der, times[_i].len,
	           "nextUpdate");
	ck_assert_uint_eq(walk(f[5].p, f[5].len, list, NELEM(list)), 1);
	ck_assert_uint_eq(walk(list[0].p, list[0].len, ent, NELEM(ent)), 2);
	assert_mem(ent[1].p, ent[1].len, (const unsigned char *)times[_i].der, times[_i].len,
	           "revocationDate");

	crl = crl_sign(&ca, tbs, tbs_len, &der, &der_len);
	at = X509_CRL_get0_lastUpdate(crl);
	ck_assert_int_eq(ASN1_STRING_type(at), want_type);
	ck_assert_int_eq(mca_asn1_time_unix(at), times[_i].t);
	at = X509_CRL_get0_nextUpdate(crl);
	ck_assert_int_eq(ASN1_STRING_type(at), want_type);
	ck_assert_int_eq(mca_asn1_time_unix(at), times[_i].t);
	at = X509_REVOKED_get0_revocationDate(sk_X509_REVOKED_value(X509_CRL_get_REVOKED(crl), 0));
	ck_assert_int_eq(ASN1_STRING_type(at), want_type);
	ck_assert_int_eq(mca_asn1_time_unix(at), times[_i].t);
	X509_CRL_free(crl);
	free(der);
	free(tbs);
	ca_free(&ca);
}
END_TEST

/* ---- CRL numbers ---- */

static const struct {
	int64_t v;
	unsigned char content[9];
	size_t len;
} numbers[] = {
    {0, {0x00}, 1},
    {1, {0x01}, 1},
    {127, {0x7f}, 1},
    {128, {0x00, 0x80}, 2},
    {255, {0x00, 0xff}, 2},
    {256, {0x01, 0x00}, 2},
    {INT64_C(1) << 40, {0x01, 0, 0, 0, 0, 0}, 6},
    {INT64_MAX, {0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 8},
};

START_TEST(crl_number)
{
	struct ca ca;
	unsigned char *tbs, *der = NULL, want[12];
	size_t tbs_len = 0, der_len = 0, n = numbers[_i].len;
	struct field f[8], exts[1], e[2];
	X509_CRL *crl;
	ASN1_INTEGER *num;
	int64_t v = -1;

	ca_make(&ca, 0, NULL, 1, "number CA");
	tbs = tbs_make(&ca, numbers[_i].v, T_2026, T_2050, NULL, 0, &tbs_len);
	ck_assert_uint_eq(walk(tbs, tbs_len, f, NELEM(f)), 6);
	ck_assert_uint_eq(walk(f[5].p, f[5].len, exts, NELEM(exts)), 1);
	ck_assert_uint_eq(walk(exts[0].p, exts[0].len, e, NELEM(e)), 2);
	/* the second extension is SEQUENCE { OID crlNumber, OCTET STRING { INTEGER } } */
	want[0] = 0x30;
	want[1] = (unsigned char)(9 + n);
	memcpy(want + 2, "\x06\x03\x55\x1d\x14\x04", 6);
	want[8] = (unsigned char)(n + 2);
	want[9] = 0x02;
	want[10] = (unsigned char)n;
	ck_assert_uint_eq(e[1].len, 11 + n);
	assert_mem(e[1].p, 11, want, 11, "CRLNumber header");
	assert_mem(e[1].p + 11, n, numbers[_i].content, n, "CRLNumber value");

	crl = crl_sign(&ca, tbs, tbs_len, &der, &der_len);
	num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	ck_assert_ptr_nonnull(num);
	ck_assert_int_eq(ASN1_INTEGER_get_int64(&v, num), 1);
	ck_assert_int_eq(v, numbers[_i].v);
	ASN1_INTEGER_free(num);
	X509_CRL_free(crl);
	free(der);
	free(tbs);
	ca_free(&ca);
}
END_TEST

/* ---- many entries: revokedCertificates well past 65535 octets ---- */

START_TEST(many_entries)
{
	enum { N = 5000 };
	struct mca_crl_entry *e = calloc(N, sizeof(*e));
	struct ca ca;
	unsigned char *tbs, *der = NULL;
	size_t tbs_len = 0, der_len = 0, i;
	struct field f[8];
	X509_CRL *crl;

	ck_assert_ptr_nonnull(e);
	for (i = 0; i < N; i++) {
		e[i].serial[0] = (unsigned char)(0x80 | (i & 0x7f)); /* every one padded */
		e[i].serial[14] = (unsigned char)(i >> 8);
		e[i].serial[15] = (unsigned char)i;
		e[i].serial_len = 16;
		e[i].revoked_at = (i & 1) ? T_2050 + (int64_t)i : T_2026 + (int64_t)i;
		e[i].reason = reasons[i % NELEM(reasons)].value;
	}
	ca_make(&ca, 0, NULL, 1, "big CA");
	tbs = tbs_make(&ca, 7, T_2026, T_2050, e, N, &tbs_len);
	ck_assert_uint_eq(walk(tbs, tbs_len, f, NELEM(f)), 7);
	ck_assert_uint_gt(f[5].len, 65536 + 4);
	ck_assert_uint_eq(f[5].p[1], 0x83); /* three length octets */
	crl = crl_sign(&ca, tbs, tbs_len, &der, &der_len);
	assert_entries(crl, e, N);
	ck_assert_int_eq(X509_CRL_verify(crl, ca.key), 1);
	X509_CRL_free(crl);
	free(der);
	free(tbs);
	ca_free(&ca);
	free(e);
}
END_TEST

/* ---- refusals ---- */

/* The AKI needs the issuer's SKI (RFC 5280 5.2.1): a CA without one gets no CRL. */
START_TEST(issuer_without_ski)
{
	struct ca root, ca;
	struct mca_error err = {0};
	const unsigned char *alg;
	static unsigned char sentinel[] = "not touched";
	unsigned char *tbs = sentinel;
	size_t alg_len = 0, tbs_len = 12345;
	mca_rc rc;

	ca_make(&root, 0, NULL, 1, "root CA");
	ca_make(&ca, 0, &root, 0, "no SKI CA");
	ck_assert_ptr_null(X509_get0_subject_key_id(ca.cert));
	alg = mca_signer_algor_der(ca.signer, &alg_len);
	rc = mca_crl_build_tbs(alg, alg_len, ca.cert, 1, T_2026, T_2050, all_entries,
	                       NELEM(all_entries), &tbs, &tbs_len, &err);
	ck_assert_int_eq(rc, MCA_ERR_CRYPTO);
	ck_assert_int_eq(err.code, MCA_ERR_CRYPTO);
	ck_assert_str_eq(err.msg, "CRL issuer lacks a name or an SKI");
	ck_assert_ptr_null(tbs);
	/* the same CA with an SKI is fine */
	ca_free(&ca);
	ca_make(&ca, 0, &root, 1, "SKI CA");
	tbs = tbs_make(&ca, 1, T_2026, T_2050, NULL, 0, &tbs_len);
	free(tbs);
	ca_free(&ca);
	ca_free(&root);
}
END_TEST

/* RFC 5280 5.1.2.3: the issuer of a CRL MUST be a non-empty DN. */
START_TEST(issuer_empty_name)
{
	struct ca ca;
	struct mca_error err = {0};
	const unsigned char *alg;
	static unsigned char sentinel[] = "not touched";
	unsigned char *tbs = sentinel;
	size_t alg_len = 0, tbs_len = 0;
	mca_rc rc;

	ca_make(&ca, 0, NULL, 1, NULL);
	ck_assert_int_eq(X509_NAME_entry_count(X509_get_subject_name(ca.cert)), 0);
	ck_assert_ptr_nonnull(X509_get0_subject_key_id(ca.cert));
	alg = mca_signer_algor_der(ca.signer, &alg_len);
	rc = mca_crl_build_tbs(alg, alg_len, ca.cert, 1, T_2026, T_2050, NULL, 0, &tbs, &tbs_len,
	                       &err);
	ck_assert_int_eq(rc, MCA_ERR_CRYPTO);
	ck_assert_str_eq(err.msg, "CRL issuer lacks a name or an SKI");
	ck_assert_ptr_null(tbs);
	ca_free(&ca);
}
END_TEST

/*
 * What cannot be a CRL is refused as invalid, naming the culprit, not
 * encoded nor reported as "out of memory": a negative CRL number, a
 * reason that is not one of the seven, a serial that is empty, zero or
 * longer than 20 octets (RFC 5280 4.1.2.2).  The bad entry is the second.
 */
static const struct {
	int64_t number;
	struct mca_crl_entry bad;
	const char *msg;
} bad_input[] = {
    {-1, {{0x01}, 1, T_2026, 0}, "negative CRL number -1"},
    {INT64_MIN, {{0x01}, 1, T_2026, 0}, "negative CRL number -9223372036854775808"},
    {1, {{0x01}, 1, T_2026, 6}, "CRL entry 1: unknown reason 6"},
    {1, {{0x01}, 1, T_2026, 8}, "CRL entry 1: unknown reason 8"},
    {1, {{0x01}, 1, T_2026, 10}, "CRL entry 1: unknown reason 10"},
    {1, {{0x01}, 1, T_2026, -1}, "CRL entry 1: unknown reason -1"},
    {1, {{0x01}, 1, T_2026, 42}, "CRL entry 1: unknown reason 42"},
    {1, {{0x01}, 0, T_2026, 0}, "CRL entry 1: serial is not a positive integer of 1..20 octets"},
    {1,
     {{0x00, 0x00}, 2, T_2026, 0},
     "CRL entry 1: serial is not a positive integer of 1..20 octets"},
    {1, {{0x01}, 21, T_2026, 0}, "CRL entry 1: serial is not a positive integer of 1..20 octets"},
    /* Found by fuzz_der_crl: a year past 9999 was written as text no parser reads back. */
    {1,
     {{0x01}, 1, INT64_C(253402300800), 0},
     "CRL entry 1: revocation time 253402300800 is outside the years 0000..9999"},
    {1,
     {{0x01}, 1, INT64_C(-62167219201), 0},
     "CRL entry 1: revocation time -62167219201 is outside the years 0000..9999"},
};

/* thisUpdate and nextUpdate past 9999 (or before year 0) are refused the same way. */
static const struct {
	int64_t this_update, next_update;
	const char *msg;
} bad_times[] = {
    {INT64_C(253402300800), T_2050, "CRL thisUpdate 253402300800 is outside the years 0000..9999"},
    {T_2026, INT64_C(253402300800), "CRL nextUpdate 253402300800 is outside the years 0000..9999"},
    {T_2026, INT64_C(1099511627520),
     "CRL nextUpdate 1099511627520 is outside the years 0000..9999"},
    {INT64_C(-62167219201), T_2050, "CRL thisUpdate -62167219201 is outside the years 0000..9999"},
};

START_TEST(invalid_times)
{
	struct mca_crl_entry e = {{0x01}, 1, T_2026, MCA_REASON_KEY_COMPROMISE};
	struct ca ca;
	struct mca_error err = {0};
	const unsigned char *alg;
	static unsigned char sentinel[] = "not touched";
	unsigned char *tbs = sentinel;
	size_t alg_len = 0, tbs_len = 0;
	mca_rc rc;

	ca_make(&ca, 0, NULL, 1, "time CA");
	alg = mca_signer_algor_der(ca.signer, &alg_len);
	rc = mca_crl_build_tbs(alg, alg_len, ca.cert, 1, bad_times[_i].this_update,
	                       bad_times[_i].next_update, &e, 1, &tbs, &tbs_len, &err);
	ck_assert_int_eq(rc, MCA_ERR_INVAL);
	ck_assert_str_eq(err.msg, bad_times[_i].msg);
	ck_assert_ptr_null(tbs);
	ca_free(&ca);
}
END_TEST

START_TEST(invalid_input)
{
	struct mca_crl_entry e[2] = {{{0x01}, 1, T_2026, MCA_REASON_KEY_COMPROMISE}};
	struct ca ca;
	struct mca_error err = {0};
	const unsigned char *alg;
	static unsigned char sentinel[] = "not touched";
	unsigned char *tbs = sentinel;
	size_t alg_len = 0, tbs_len = 0;
	mca_rc rc;

	e[1] = bad_input[_i].bad;
	ca_make(&ca, 0, NULL, 1, "input CA");
	alg = mca_signer_algor_der(ca.signer, &alg_len);
	rc = mca_crl_build_tbs(alg, alg_len, ca.cert, bad_input[_i].number, T_2026, T_2050, e, 2,
	                       &tbs, &tbs_len, &err);
	ck_assert_int_eq(rc, MCA_ERR_INVAL);
	ck_assert_str_eq(err.msg, bad_input[_i].msg);
	ck_assert_ptr_null(tbs);
	ca_free(&ca);
}
END_TEST

/* ---- pre-encoded entries, partitions, PEM (pki/crl.h) ---- */

/* An entry's DER is what mca_crl_build_tbs writes for it, byte for byte. */
START_TEST(entry_encode_same_as_tbs)
{
	struct mca_error err = {0};
	struct ca ca;
	unsigned char der[MCA_CRL_ENTRY_MAX], key[MCA_CRL_KEY_MAX], *tbs;
	size_t der_len = 0, key_len = 0, tbs_len = 0, i;

	ca_make(&ca, 0, NULL, 1, "entries");
	for (i = 0; i < NELEM(all_entries); i++) {
		tbs = tbs_make(&ca, 1, T_2026, T_2026 + 86400, &all_entries[i], 1, &tbs_len);
		ck_assert_msg(mca_crl_entry_encode(&all_entries[i], der, &der_len, key, &key_len,
		                                   &err) == MCA_OK,
		              "%s", err.msg);
		ck_assert_ptr_nonnull(memmem(tbs, tbs_len, der, der_len));
		ck_assert_uint_le(der_len, MCA_CRL_ENTRY_MAX);
		free(tbs);
	}
	ca_free(&ca);
}
END_TEST

/* Keys sort as the serials do, whatever their lengths and leading zeros. */
static const struct {
	unsigned char a[3], b[3];
	size_t na, nb;
	int order; /* sign of key(a) - key(b) */
} key_orders[] = {
    {{0x01}, {0x02}, 1, 1, -1},
    {{0xff}, {0x01, 0x00}, 1, 2, -1},
    {{0x00, 0xff}, {0xff}, 2, 1, 0},
    {{0x00, 0x00, 0x05}, {0x04}, 3, 1, 1},
    {{0x7f, 0xff}, {0x80, 0x00}, 2, 2, -1},
    {{0x01, 0x00, 0x00}, {0xff, 0xff}, 3, 2, 1},
};

START_TEST(entry_key_order)
{
	struct mca_crl_entry a = {{0}, 0, T_2026, 0}, b = {{0}, 0, T_2026, 0};
	unsigned char der[MCA_CRL_ENTRY_MAX], ka[MCA_CRL_KEY_MAX], kb[MCA_CRL_KEY_MAX];
	size_t der_len, la, lb;
	int c;

	memcpy(a.serial, key_orders[_i].a, key_orders[_i].na);
	a.serial_len = key_orders[_i].na;
	memcpy(b.serial, key_orders[_i].b, key_orders[_i].nb);
	b.serial_len = key_orders[_i].nb;
	ck_assert_int_eq(mca_crl_entry_encode(&a, der, &der_len, ka, &la, NULL), MCA_OK);
	ck_assert_int_eq(mca_crl_entry_encode(&b, der, &der_len, kb, &lb, NULL), MCA_OK);
	c = memcmp(ka, kb, la < lb ? la : lb);
	if (c == 0)
		c = la < lb ? -1 : la > lb;
	ck_assert_int_eq(c < 0 ? -1 : c > 0, key_orders[_i].order);
}
END_TEST

/* An entry that cannot be encoded is refused, naming why; nothing is written. */
START_TEST(entry_encode_refused)
{
	struct mca_crl_entry e = {{0}, 1, T_2026, 0};
	struct mca_error err = {0};
	unsigned char der[MCA_CRL_ENTRY_MAX], key[MCA_CRL_KEY_MAX];
	size_t der_len = 1, key_len = 1;

	ck_assert_int_eq(mca_crl_entry_encode(&e, der, &der_len, key, &key_len, &err),
	                 MCA_ERR_INVAL);
	ck_assert_str_eq(err.msg, "CRL entry 0: serial is not a positive integer of 1..20 octets");
	ck_assert_uint_eq(der_len, 0);
	e.serial[0] = 1;
	e.reason = 7;
	ck_assert_int_eq(mca_crl_entry_encode(&e, der, &der_len, key, &key_len, &err),
	                 MCA_ERR_INVAL);
	ck_assert_str_eq(err.msg, "CRL entry 0: unknown reason 7");
	e.reason = 0;
	e.revoked_at = MCA_CRL_TIME_MAX + 1;
	ck_assert_int_eq(mca_crl_entry_encode(&e, der, &der_len, key, &key_len, &err),
	                 MCA_ERR_INVAL);
	ck_assert_str_eq(
	    err.msg, "CRL entry 0: revocation time 253402300800 is outside the years 0000..9999");
}
END_TEST

/* Serials in hex as the store keeps them, and reason names. */
static const struct {
	const char *hex, *reason;
	unsigned char want[20];
	size_t want_len;
	int want_reason;
	const char *msg; /* NULL: accepted */
} entry_sets[] = {
    {"1", NULL, {0x01}, 1, 0, NULL},
    {"abc", "keyCompromise", {0x0a, 0xbc}, 2, 1, NULL},
    {"ABCD", "privilegeWithdrawn", {0xab, 0xcd}, 2, 9, NULL},
    {"0102030405060708090a0b0c0d0e0f1011121314",
     NULL,
     {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20},
     20,
     0,
     NULL},
    {"", NULL, {0}, 0, 0, "serial is not 1..40 hex digits"},
    {"12g4", NULL, {0}, 0, 0, "serial is not 1..40 hex digits"},
    {"0102030405060708090a0b0c0d0e0f101112131415",
     NULL,
     {0},
     0,
     0,
     "serial is not 1..40 hex digits"},
    {"01", "certificateHold", {0}, 0, 0, "unknown reason 'certificateHold'"},
};

START_TEST(entry_set)
{
	struct mca_crl_entry e;
	struct mca_error err = {0};
	mca_rc rc = mca_crl_entry_set(&e, entry_sets[_i].hex, T_2026, entry_sets[_i].reason, &err);

	if (entry_sets[_i].msg != NULL) {
		ck_assert_int_eq(rc, MCA_ERR_INVAL);
		ck_assert_str_eq(err.msg, entry_sets[_i].msg);
		return;
	}
	ck_assert_msg(rc == MCA_OK, "%s", err.msg);
	ck_assert_uint_eq(e.serial_len, entry_sets[_i].want_len);
	ck_assert_mem_eq(e.serial, entry_sets[_i].want, e.serial_len);
	ck_assert_int_eq(e.reason, entry_sets[_i].want_reason);
	ck_assert_int_eq(e.revoked_at, T_2026);
}
END_TEST

/* The shard of a serial is the serial modulo the number of shards. */
START_TEST(shard_of)
{
	static const unsigned char s1[] = {0x01, 0x00}, s2[] = {0xff},
	                           s16[] = {0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	                                    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfd};
	BIGNUM *bn = BN_bin2bn(s16, sizeof(s16), NULL);
	unsigned n;

	ck_assert_uint_eq(mca_crl_shard_of(s1, sizeof(s1), 4), 0);
	ck_assert_uint_eq(mca_crl_shard_of(s1, sizeof(s1), 3), 256 % 3);
	ck_assert_uint_eq(mca_crl_shard_of(s2, sizeof(s2), 7), 255 % 7);
	ck_assert_uint_eq(mca_crl_shard_of(s2, sizeof(s2), 1), 0);
	ck_assert_uint_eq(mca_crl_shard_of(s2, sizeof(s2), 0), 0);
	for (n = 1; n <= 1024; n += 37)
		ck_assert_uint_eq(mca_crl_shard_of(s16, sizeof(s16), n),
		                  (unsigned)BN_mod_word(bn, n));
	BN_free(bn);
}
END_TEST

/* A leaf of `ca` whose CDP is `url` (NULL: none). */
static X509 *
leaf_with_cdp(struct ca *ca, const char *url)
{
	static const unsigned char serial[] = {0x11, 0x22};
	struct mca_certgen g;
	struct mca_error err = {0};
	X509 *x = NULL;

	memset(&g, 0, sizeof(g));
	g.serial = serial;
	g.serial_len = sizeof(serial);
	g.subject = X509_get_subject_name(ca->cert);
	g.pubkey = ca->key;
	g.issuer = ca->cert;
	g.not_before = T_2026;
	g.not_after = T_2026 + 86400;
	g.pathlen = -1;
	g.crl_url = url;
	ck_assert_msg(mca_certgen_build(&g, &x, &err) == MCA_OK, "%s", err.msg);
	return x;
}

static const struct {
	const char *url;
	int shard;
} cdps[] = {
    {"http://ca.test/crl/0", 0},
    {"http://ca.test/crl/3", 3},
    {"http://ca.test/crl/1023", 1023},
    {"http://ca.test/crl/65535", 65535},
    {"http://ca.test/crl", -1},
    {"http://ca.test/crl/", -1},
    {"http://ca.test/crl/03", -1},
    {"http://ca.test/crl/65536", -1},
    {"http://ca.test/crl/123456", -1},
    {"http://ca.test/crl/3.pem", -1},
    {"http://ca.test/ca.crl/3x", -1},
    {"http://ca.test/shards/3", -1},
    {NULL, -1},
};

START_TEST(shard_from_cdp)
{
	struct ca ca;
	X509 *x;

	ca_make(&ca, 0, NULL, 1, "cdp");
	x = leaf_with_cdp(&ca, cdps[_i].url);
	ck_assert_int_eq(mca_crl_shard_from_cdp(x), cdps[_i].shard);
	X509_free(x);
	ca_free(&ca);
}
END_TEST

/* Entries handed over by an emit callback, as they are. */
struct emit_arg {
	const struct mca_crl_entry *v;
	size_t n;
	int fail;
};

static int
emit_these(void *arg, struct mca_der *d)
{
	struct emit_arg *a = arg;
	unsigned char der[MCA_CRL_ENTRY_MAX], key[MCA_CRL_KEY_MAX];
	size_t der_len, key_len, i;

	if (a->fail)
		return -(int)MCA_ERR_DB;
	for (i = 0; i < a->n; i++) {
		ck_assert_int_eq(mca_crl_entry_encode(&a->v[i], der, &der_len, key, &key_len, NULL),
		                 MCA_OK);
		mca_der_raw(d, der, der_len);
	}
	return 0;
}

/*
 * A shard CRL: a critical IssuingDistributionPoint with the URL as its
 * full name and onlyContainsUserCerts, and nothing else in it; the
 * entries as emitted; OpenSSL reads it and the signature verifies.
 * Without idp_url, no IDP.  The same TBS as mca_crl_build_tbs otherwise.
 */
START_TEST(tbs_emit_idp)
{
	static const char url[] = "http://pki.test:8080/crl/7";
	struct ca ca;
	struct mca_error err = {0};
	struct mca_crl_params p;
	struct emit_arg a = {all_entries, NELEM(all_entries), 0};
	unsigned char *tbs = NULL, *der = NULL, *plain;
	size_t tbs_len = 0, der_len = 0, plain_len = 0;
	X509_CRL *crl;
	ISSUING_DIST_POINT *idp;
	GENERAL_NAME *gn;
	int crit = -1, loc;

	ca_make(&ca, 0, NULL, 1, "idp");
	memset(&p, 0, sizeof(p));
	p.alg = mca_signer_algor_der(ca.signer, &p.alg_len);
	p.issuer = ca.cert;
	p.number = 9;
	p.this_update = T_2026;
	p.next_update = T_2026 + 86400;
	/* without the IDP: exactly what mca_crl_build_tbs encodes */
	ck_assert_msg(mca_crl_build_tbs_emit(&p, emit_these, &a, &tbs, &tbs_len, &err) == MCA_OK,
	              "%s", err.msg);
	plain =
	    tbs_make(&ca, 9, T_2026, T_2026 + 86400, all_entries, NELEM(all_entries), &plain_len);
	assert_mem(tbs, tbs_len, plain, plain_len, "TBS from emitted entries");
	free(tbs);
	free(plain);
	p.idp_url = url;
	ck_assert_msg(mca_crl_build_tbs_emit(&p, emit_these, &a, &tbs, &tbs_len, &err) == MCA_OK,
	              "%s", err.msg);
	crl = crl_sign(&ca, tbs, tbs_len, &der, &der_len);
	ck_assert_int_eq(X509_CRL_verify(crl, ca.key), 1);
	ck_assert_int_eq(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), (int)NELEM(all_entries));
	loc = X509_CRL_get_ext_by_NID(crl, NID_issuing_distribution_point, -1);
	ck_assert_int_ge(loc, 0);
	ck_assert_int_eq(X509_EXTENSION_get_critical(X509_CRL_get_ext(crl, loc)), 1);
	idp = X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point, &crit, NULL);
	ck_assert_ptr_nonnull(idp);
	ck_assert_int_eq(crit, 1);
	ck_assert_int_eq(idp->onlyuser, 0xff);
	ck_assert_int_le(idp->onlyCA, 0);
	ck_assert_int_le(idp->indirectCRL, 0);
	ck_assert_int_le(idp->onlyattr, 0);
	ck_assert_ptr_null(idp->onlysomereasons);
	ck_assert_ptr_nonnull(idp->distpoint);
	ck_assert_int_eq(idp->distpoint->type, 0);
	ck_assert_int_eq(sk_GENERAL_NAME_num(idp->distpoint->name.fullname), 1);
	gn = sk_GENERAL_NAME_value(idp->distpoint->name.fullname, 0);
	ck_assert_int_eq(gn->type, GEN_URI);
	ck_assert_str_eq((const char *)ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier), url);
	/* the CRL's own numbers: entries counted without parsing */
	ck_assert_int_eq(mca_crl_der_entries(der, der_len), (long)NELEM(all_entries));
	ISSUING_DIST_POINT_free(idp);
	X509_CRL_free(crl);
	free(der);
	free(tbs);
	ca_free(&ca);
}
END_TEST

/* No entries emitted: no revokedCertificates at all; a failing callback fails the build. */
START_TEST(tbs_emit_none_and_failure)
{
	struct ca ca;
	struct mca_error err = {0};
	struct mca_crl_params p;
	struct emit_arg a = {NULL, 0, 0};
	unsigned char *tbs = NULL, *plain = NULL, dummy = 0;
	size_t tbs_len = 0, plain_len = 0;

	ca_make(&ca, 0, NULL, 1, "none");
	memset(&p, 0, sizeof(p));
	p.alg = mca_signer_algor_der(ca.signer, &p.alg_len);
	p.issuer = ca.cert;
	p.number = 2;
	p.this_update = T_2026;
	p.next_update = T_2026 + 60;
	ck_assert_int_eq(mca_crl_build_tbs_emit(&p, emit_these, &a, &tbs, &tbs_len, &err), MCA_OK);
	plain = tbs_make(&ca, 2, T_2026, T_2026 + 60, NULL, 0, &plain_len);
	assert_mem(tbs, tbs_len, plain, plain_len, "TBS without entries");
	free(tbs);
	free(plain);
	a.fail = 1;
	tbs = &dummy;
	ck_assert_int_eq(mca_crl_build_tbs_emit(&p, emit_these, &a, &tbs, &tbs_len, &err),
	                 MCA_ERR_DB);
	ck_assert_ptr_null(tbs);
	ca_free(&ca);
}
END_TEST

/* An IDP URL that is not printable ASCII of 1..1024 octets is refused. */
START_TEST(tbs_emit_bad_url)
{
	static const char *const urls[] = {"", "http://a b/crl/1", "http://\x7f/crl/1",
	                                   "http://\xc3\xa9/crl/1", NULL};
	char long_url[1100];
	struct ca ca;
	struct mca_error err = {0};
	struct mca_crl_params p;
	struct emit_arg a = {NULL, 0, 0};
	unsigned char *tbs = NULL;
	size_t tbs_len = 0, i;

	ca_make(&ca, 0, NULL, 1, "badurl");
	memset(&p, 0, sizeof(p));
	p.alg = mca_signer_algor_der(ca.signer, &p.alg_len);
	p.issuer = ca.cert;
	p.number = 2;
	p.this_update = T_2026;
	p.next_update = T_2026 + 60;
	memset(long_url, 'a', sizeof(long_url));
	memcpy(long_url, "http://", 7);
	long_url[1025] = '\0';
	for (i = 0; i <= NELEM(urls) - 1; i++) {
		p.idp_url = urls[i] != NULL ? urls[i] : long_url;
		ck_assert_int_eq(mca_crl_build_tbs_emit(&p, emit_these, &a, &tbs, &tbs_len, &err),
		                 MCA_ERR_INVAL);
		ck_assert_str_eq(err.msg,
		                 "CRL distribution point URL is empty, over 1024 octets or "
		                 "not printable ASCII");
		ck_assert_ptr_null(tbs);
	}
	long_url[1024] = '\0';
	p.idp_url = long_url;
	ck_assert_int_eq(mca_crl_build_tbs_emit(&p, emit_these, &a, &tbs, &tbs_len, &err), MCA_OK);
	free(tbs);
	ca_free(&ca);
}
END_TEST

/* The direct PEM is OpenSSL's, byte for byte, for CRLs of several sizes. */
START_TEST(pem_as_openssl)
{
	static const size_t counts[] = {0, 1, 2, 7, 40, 300};
	struct ca ca;
	unsigned char *tbs, *der;
	size_t tbs_len, der_len, pem_len, i;
	X509_CRL *crl;
	BIO *b;
	char *want, *pem;
	long want_len;
	struct mca_crl_entry *v = calloc(300, sizeof(*v));

	ck_assert_ptr_nonnull(v);
	for (i = 0; i < 300; i++) {
		v[i].serial[0] = 0x10;
		v[i].serial[1] = (unsigned char)i;
		v[i].serial[2] = (unsigned char)(i >> 8);
		v[i].serial_len = 3;
		v[i].revoked_at = T_2026;
		v[i].reason = (int)(i % 2);
	}
	ca_make(&ca, 0, NULL, 1, "pem");
	for (i = 0; i < NELEM(counts); i++) {
		tbs = tbs_make(&ca, 1, T_2026, T_2026 + 86400, v, counts[i], &tbs_len);
		crl = crl_sign(&ca, tbs, tbs_len, &der, &der_len);
		b = BIO_new(BIO_s_mem());
		ck_assert_int_eq(PEM_write_bio_X509_CRL(b, crl), 1);
		want_len = BIO_get_mem_data(b, &want);
		pem = mca_crl_pem(der, der_len, &pem_len);
		ck_assert_ptr_nonnull(pem);
		ck_assert_uint_eq(pem_len, (size_t)want_len);
		ck_assert_mem_eq(pem, want, pem_len);
		ck_assert_int_eq(pem[pem_len], '\0');
		ck_assert_int_eq(mca_crl_der_entries(der, der_len), (long)counts[i]);
		free(pem);
		BIO_free(b);
		X509_CRL_free(crl);
		free(der);
		free(tbs);
	}
	/* what is not a CRL is not counted */
	ck_assert_int_eq(mca_crl_der_entries((const unsigned char *)"\x30\x03\x02\x01\x01", 5), -1);
	ck_assert_int_eq(mca_crl_der_entries((const unsigned char *)"", 0), -1);
	ca_free(&ca);
	free(v);
}
END_TEST

static Suite *
crl_suite(void)
{
	Suite *s = suite_create("crl");
	TCase *tc;

	tc = tcase_create("reasons");
	tcase_add_loop_test(tc, reason_round_trip, 0, NELEM(reasons));
	tcase_add_loop_test(tc, reason_refused, 0, NELEM(bad_reasons));
	tcase_add_test(tc, reason_name_unknown);
	suite_add_tcase(s, tc);

	tc = tcase_create("encoding");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, tbs_known_encoding);
	tcase_add_test(tc, no_entries);
	tcase_add_loop_test(tc, time_encoding, 0, NELEM(times));
	tcase_add_loop_test(tc, crl_number, 0, NELEM(numbers));
	tcase_add_test(tc, many_entries);
	suite_add_tcase(s, tc);

	tc = tcase_create("signed");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, signed_crl_read_back, 0, NELEM(key_types));
	tcase_add_loop_test(tc, wrap_structure, 0, NELEM(key_types));
	suite_add_tcase(s, tc);

	tc = tcase_create("entries");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, entry_encode_same_as_tbs);
	tcase_add_loop_test(tc, entry_key_order, 0, NELEM(key_orders));
	tcase_add_test(tc, entry_encode_refused);
	tcase_add_loop_test(tc, entry_set, 0, NELEM(entry_sets));
	tcase_add_test(tc, shard_of);
	tcase_add_loop_test(tc, shard_from_cdp, 0, NELEM(cdps));
	tcase_add_test(tc, tbs_emit_idp);
	tcase_add_test(tc, tbs_emit_none_and_failure);
	tcase_add_test(tc, tbs_emit_bad_url);
	tcase_add_test(tc, pem_as_openssl);
	suite_add_tcase(s, tc);

	tc = tcase_create("refused");
	tcase_add_test(tc, issuer_without_ski);
	tcase_add_test(tc, issuer_empty_name);
	tcase_add_loop_test(tc, invalid_input, 0, NELEM(bad_input));
	tcase_add_loop_test(tc, invalid_times, 0, NELEM(bad_times));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(crl_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
