/*
 * leafgen.c - a leaf's TBSCertificate straight to DER, the encoding
 * mca_certgen_build + i2d gives (test_leafgen compares them byte for byte).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "common/der.h"
#include "pki/keys.h"
#include "pki/leafgen.h"

#define TAG_BOOLEAN  0x01
#define TAG_UTF8     0x0c
#define TAG_SET      0x31
#define TAG_UTCTIME  0x17
#define TAG_GENTIME  0x18
#define TAG_CTX3     0xa3 /* [3] constructed: extensions */
#define GN_EMAIL     0x81 /* GeneralName [1] rfc822Name */
#define GN_DNS       0x82 /* [2] dNSName */
#define GN_URI       0x86 /* [6] uniformResourceIdentifier */
#define GN_IP        0x87 /* [7] iPAddress */
#define MAX_CN_CHARS 64   /* ub-common-name: what X509_NAME_add_entry_by_txt allows */

/* OID contents (without tag and length). */
static const unsigned char oid_cn[] = {0x55, 0x04, 0x03};
static const unsigned char oid_bc[] = {0x55, 0x1d, 0x13};
static const unsigned char oid_ku[] = {0x55, 0x1d, 0x0f};
static const unsigned char oid_eku[] = {0x55, 0x1d, 0x25};
static const unsigned char oid_ski[] = {0x55, 0x1d, 0x0e};
static const unsigned char oid_aki[] = {0x55, 0x1d, 0x23};
static const unsigned char oid_san[] = {0x55, 0x1d, 0x11};
static const unsigned char oid_cdp[] = {0x55, 0x1d, 0x1f};
static const unsigned char oid_policies[] = {0x55, 0x1d, 0x20};
static const unsigned char oid_aia[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x01};
static const unsigned char oid_server_auth[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01};
static const unsigned char oid_client_auth[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02};
static const unsigned char oid_ocsp_signing[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x09};
static const unsigned char oid_ad_ocsp[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01};
static const unsigned char oid_ad_ca_issuers[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x02};

mca_rc
mca_leaf_issuer_init(struct mca_leaf_issuer *li, X509 *ca, struct mca_error *err)
{
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(ca);
	unsigned char *name = NULL;
	int n;

	memset(li, 0, sizeof(*li));
	if (ski == NULL)
		return mca_error_set(err, MCA_ERR_CONFIG,
		                     "the issuing CA certificate has no subjectKeyIdentifier");
	n = i2d_X509_NAME(X509_get_subject_name(ca), &name);
	if (n <= 0)
		return mca_error_ssl(err, MCA_ERR_CRYPTO, "encoding the CA's subject");
	li->name = malloc((size_t)n);
	li->keyid = malloc((size_t)ASN1_STRING_length(ski) + 1);
	li->name_text = mca_name_string(X509_get_subject_name(ca));
	if (li->name == NULL || li->keyid == NULL || li->name_text == NULL) {
		OPENSSL_free(name);
		mca_leaf_issuer_clear(li);
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	}
	memcpy(li->name, name, (size_t)n);
	li->name_len = (size_t)n;
	OPENSSL_free(name);
	memcpy(li->keyid, ASN1_STRING_get0_data(ski), (size_t)ASN1_STRING_length(ski));
	li->keyid_len = (size_t)ASN1_STRING_length(ski);
	return MCA_OK;
}

void
mca_leaf_issuer_clear(struct mca_leaf_issuer *li)
{
	free(li->name);
	free(li->keyid);
	free(li->name_text);
	memset(li, 0, sizeof(*li));
}

size_t
mca_leaf_ip(const char *text, unsigned char out[16])
{
	/* What a2i_GENERAL_NAME(GEN_IPADD) does for mca_san_add. */
	ASN1_OCTET_STRING *ip = a2i_IPADDRESS(text);
	size_t n = 0;

	if (ip != NULL && (ASN1_STRING_length(ip) == 4 || ASN1_STRING_length(ip) == 16)) {
		n = (size_t)ASN1_STRING_length(ip);
		memcpy(out, ASN1_STRING_get0_data(ip), n);
	}
	ASN1_OCTET_STRING_free(ip);
	ERR_clear_error();
	return n;
}

/* ASN1_TIME_set's choice: UTCTime for 1950 through 2049, GeneralizedTime otherwise. */
static int
put_time(struct mca_der *d, int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;
	char buf[32];
	int n, year;

	if (gmtime_r(&tt, &tm) == NULL)
		return 0;
	year = tm.tm_year + 1900;
	if (year >= 1950 && year <= 2049)
		n = snprintf(buf, sizeof(buf), "%02d%02d%02d%02d%02d%02dZ", year % 100,
		             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	else if (year >= 0 && year <= 9999)
		n = snprintf(buf, sizeof(buf), "%04d%02d%02d%02d%02d%02dZ", year, tm.tm_mon + 1,
		             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	else
		return 0;
	mca_der_tlv(d, year >= 1950 && year <= 2049 ? TAG_UTCTIME : TAG_GENTIME, buf, (size_t)n);
	return 1;
}

/* Extension header: SEQUENCE { extnID, [critical TRUE], OCTET STRING { ... } }. */
static void
ext_open(struct mca_der *d, size_t marks[2], const unsigned char *oid, size_t oid_len, int crit)
{
	static const unsigned char true_ = 0xff;

	marks[0] = mca_der_open(d, MCA_DER_SEQUENCE);
	mca_der_tlv(d, MCA_DER_OID, oid, oid_len);
	if (crit)
		mca_der_tlv(d, TAG_BOOLEAN, &true_, 1);
	marks[1] = mca_der_open(d, MCA_DER_OCTETS);
}

static void
ext_close(struct mca_der *d, size_t marks[2])
{
	mca_der_close(d, marks[1]);
	mca_der_close(d, marks[0]);
}

/* KeyUsage as i2d of ASN1_BIT_STRING_set_bit's bits: trailing zeros dropped. */
static void
put_key_usage(struct mca_der *d, unsigned ku)
{
	unsigned char v[3] = {0};
	size_t len = 0;
	int bit, unused = 0;

	for (bit = 0; bit < 9; bit++)
		if (ku & (1u << bit)) {
			v[1 + bit / 8] |= (unsigned char)(0x80 >> (bit % 8));
			len = (size_t)(bit / 8 + 1);
		}
	if (len > 0)
		for (unused = 0; unused < 8 && !(v[len] & (1u << unused)); unused++)
			;
	v[0] = (unsigned char)unused;
	mca_der_tlv(d, MCA_DER_BITSTRING, v, len + 1);
}

static unsigned char
name_tag(enum mca_name_type t)
{
	switch (t) {
	case MCA_NAME_DNS:
		return GN_DNS;
	case MCA_NAME_IP:
		return GN_IP;
	case MCA_NAME_URI:
		return GN_URI;
	case MCA_NAME_EMAIL:
		break;
	}
	return GN_EMAIL;
}

static mca_rc
put_san(struct mca_der *d, const struct mca_leafgen *g, struct mca_error *err)
{
	unsigned char ip[16];
	size_t marks[2], seq, i, n;

	ext_open(d, marks, oid_san, sizeof(oid_san), g->cn == NULL);
	seq = mca_der_open(d, MCA_DER_SEQUENCE);
	for (i = 0; i < g->n_names; i++) {
		const struct mca_name *nm = &g->names[i];

		if (nm->type != MCA_NAME_IP) {
			mca_der_tlv(d, name_tag(nm->type), nm->value, strlen(nm->value));
			continue;
		}
		if ((n = mca_leaf_ip(nm->value, ip)) == 0)
			return mca_error_set(err, MCA_ERR_INVAL, "invalid IP address '%.200s'",
			                     nm->value);
		mca_der_tlv(d, GN_IP, ip, n);
	}
	mca_der_close(d, seq);
	ext_close(d, marks);
	return MCA_OK;
}

/* SEQUENCE { accessMethod, [6] URI } */
static void
put_access(struct mca_der *d, const unsigned char *oid, size_t oid_len, const char *url)
{
	size_t m = mca_der_open(d, MCA_DER_SEQUENCE);

	mca_der_tlv(d, MCA_DER_OID, oid, oid_len);
	mca_der_tlv(d, GN_URI, url, strlen(url));
	mca_der_close(d, m);
}

static mca_rc
put_policies(struct mca_der *d, const char *const *oids, struct mca_error *err)
{
	ASN1_OBJECT *obj;
	size_t marks[2], seq, pi, i;

	ext_open(d, marks, oid_policies, sizeof(oid_policies), 0);
	seq = mca_der_open(d, MCA_DER_SEQUENCE);
	for (i = 0; i < MCA_CERTGEN_MAX_POLICIES && oids[i] != NULL; i++) {
		/* As add_policies parses them (certgen.c): any dotted OID. */
		obj = OBJ_txt2obj(oids[i], 1);
		if (obj == NULL || OBJ_length(obj) == 0) {
			ASN1_OBJECT_free(obj);
			return mca_error_ssl(err, MCA_ERR_CRYPTO,
			                     "certificate: certificatePolicies");
		}
		pi = mca_der_open(d, MCA_DER_SEQUENCE);
		mca_der_tlv(d, MCA_DER_OID, OBJ_get0_data(obj), OBJ_length(obj));
		mca_der_close(d, pi);
		ASN1_OBJECT_free(obj);
	}
	mca_der_close(d, seq);
	ext_close(d, marks);
	return MCA_OK;
}

/* SubjectPublicKeyInfo as copy_spki (certgen.c) sets it: the algorithm, 0 unused bits, the key. */
static mca_rc
put_spki(struct mca_der *d, const X509_PUBKEY *spki, unsigned char ski[20], struct mca_error *err)
{
	static const unsigned char no_unused_bits = 0;
	const unsigned char *key = NULL;
	unsigned char algbuf[512], *p = algbuf;
	X509_ALGOR *algor = NULL;
	size_t mark, bits;
	int key_len = 0, alg_len;

	if (!X509_PUBKEY_get0_param(NULL, &key, &key_len, &algor, spki) || key_len <= 0 ||
	    (alg_len = i2d_X509_ALGOR(algor, NULL)) <= 0 || (size_t)alg_len > sizeof(algbuf) ||
	    i2d_X509_ALGOR(algor, &p) != alg_len ||
	    !EVP_Digest(key, (size_t)key_len, ski, NULL, EVP_sha1(), NULL))
		return mca_error_ssl(err, MCA_ERR_CRYPTO, "certificate: building certificate");
	mark = mca_der_open(d, MCA_DER_SEQUENCE);
	mca_der_raw(d, algbuf, (size_t)alg_len);
	bits = mca_der_open(d, MCA_DER_BITSTRING);
	mca_der_raw(d, &no_unused_bits, 1);
	mca_der_raw(d, key, (size_t)key_len);
	mca_der_close(d, bits);
	mca_der_close(d, mark);
	return MCA_OK;
}

/* Whether X509_NAME_add_entry_by_txt("CN", MBSTRING_UTF8) takes `cn` (as a UTF8String). */
static int
cn_acceptable(const char *cn)
{
	size_t len = strlen(cn);
	int type;

	if (len > 4 * MAX_CN_CHARS)
		return 0;
	type = ASN1_mbstring_ncopy(NULL, (const unsigned char *)cn, (int)len, MBSTRING_UTF8,
	                           B_ASN1_UTF8STRING, 1, MAX_CN_CHARS);
	ERR_clear_error();
	return type == V_ASN1_UTF8STRING;
}

mca_rc
mca_leafgen_tbs(const struct mca_leafgen *g, unsigned char **tbs, size_t *tbs_len,
                struct mca_error *err)
{
	static const unsigned char version3[] = {0x02, 0x01, 0x02};
	static const unsigned char empty_seq[] = {0x30, 0x00};
	struct mca_der d;
	unsigned char ski[20];
	size_t tbs_mark, m, m2, m3, m4, marks[2], exts, exts_seq;
	mca_rc rc = MCA_OK;

	*tbs = NULL;
	*tbs_len = 0;
	if (g->cn != NULL && !cn_acceptable(g->cn))
		return mca_error_set(err, MCA_ERR_INTERNAL, "subject");
	mca_der_init(&d);
	tbs_mark = mca_der_open(&d, MCA_DER_SEQUENCE);
	m = mca_der_open(&d, MCA_DER_CTX0);
	mca_der_raw(&d, version3, sizeof(version3));
	mca_der_close(&d, m);
	mca_der_uint(&d, g->serial, g->serial_len);
	mca_der_raw(&d, g->alg, g->alg_len);
	mca_der_raw(&d, g->issuer->name, g->issuer->name_len);
	m = mca_der_open(&d, MCA_DER_SEQUENCE);
	if (!put_time(&d, g->not_before) || !put_time(&d, g->not_after)) {
		rc = mca_error_set(err, MCA_ERR_CRYPTO, "certificate: building certificate");
		goto out;
	}
	mca_der_close(&d, m);
	if (g->cn == NULL) {
		mca_der_raw(&d, empty_seq, sizeof(empty_seq));
	} else {
		m = mca_der_open(&d, MCA_DER_SEQUENCE);
		m2 = mca_der_open(&d, TAG_SET);
		m3 = mca_der_open(&d, MCA_DER_SEQUENCE);
		mca_der_tlv(&d, MCA_DER_OID, oid_cn, sizeof(oid_cn));
		mca_der_tlv(&d, TAG_UTF8, g->cn, strlen(g->cn));
		mca_der_close(&d, m3);
		mca_der_close(&d, m2);
		mca_der_close(&d, m);
	}
	if ((rc = put_spki(&d, g->spki, ski, err)) != MCA_OK)
		goto out;

	exts = mca_der_open(&d, TAG_CTX3);
	exts_seq = mca_der_open(&d, MCA_DER_SEQUENCE);
	/* basicConstraints: CA:FALSE (the DEFAULT, so an empty SEQUENCE), critical */
	ext_open(&d, marks, oid_bc, sizeof(oid_bc), 1);
	mca_der_raw(&d, empty_seq, sizeof(empty_seq));
	ext_close(&d, marks);
	if (g->key_usage != 0) {
		ext_open(&d, marks, oid_ku, sizeof(oid_ku), 1);
		put_key_usage(&d, g->key_usage);
		ext_close(&d, marks);
	}
	if (g->ext_key_usage != 0) {
		ext_open(&d, marks, oid_eku, sizeof(oid_eku), 0);
		m = mca_der_open(&d, MCA_DER_SEQUENCE);
		if (g->ext_key_usage & MCA_EKU_SERVER_AUTH)
			mca_der_tlv(&d, MCA_DER_OID, oid_server_auth, sizeof(oid_server_auth));
		if (g->ext_key_usage & MCA_EKU_CLIENT_AUTH)
			mca_der_tlv(&d, MCA_DER_OID, oid_client_auth, sizeof(oid_client_auth));
		if (g->ext_key_usage & MCA_EKU_OCSP_SIGNING)
			mca_der_tlv(&d, MCA_DER_OID, oid_ocsp_signing, sizeof(oid_ocsp_signing));
		mca_der_close(&d, m);
		ext_close(&d, marks);
	}
	if (g->ski) {
		/* SHA-1 of the subjectPublicKey bits, as X509_pubkey_digest */
		ext_open(&d, marks, oid_ski, sizeof(oid_ski), 0);
		mca_der_tlv(&d, MCA_DER_OCTETS, ski, sizeof(ski));
		ext_close(&d, marks);
	}
	ext_open(&d, marks, oid_aki, sizeof(oid_aki), 0);
	m = mca_der_open(&d, MCA_DER_SEQUENCE);
	mca_der_tlv(&d, MCA_DER_CTX0_PRIM, g->issuer->keyid, g->issuer->keyid_len);
	mca_der_close(&d, m);
	ext_close(&d, marks);
	if (g->n_names > 0 && (rc = put_san(&d, g, err)) != MCA_OK)
		goto out;
	if (g->crl_url != NULL) {
		/* SEQUENCE { DistributionPoint { [0] { [0] fullName { [6] URI } } } } */
		ext_open(&d, marks, oid_cdp, sizeof(oid_cdp), 0);
		m = mca_der_open(&d, MCA_DER_SEQUENCE);
		m2 = mca_der_open(&d, MCA_DER_SEQUENCE);
		m3 = mca_der_open(&d, MCA_DER_CTX0);
		m4 = mca_der_open(&d, MCA_DER_CTX0);
		mca_der_tlv(&d, GN_URI, g->crl_url, strlen(g->crl_url));
		mca_der_close(&d, m4);
		mca_der_close(&d, m3);
		mca_der_close(&d, m2);
		mca_der_close(&d, m);
		ext_close(&d, marks);
	}
	if (g->ocsp_url != NULL || g->ca_issuers_url != NULL) {
		ext_open(&d, marks, oid_aia, sizeof(oid_aia), 0);
		m = mca_der_open(&d, MCA_DER_SEQUENCE);
		if (g->ocsp_url != NULL)
			put_access(&d, oid_ad_ocsp, sizeof(oid_ad_ocsp), g->ocsp_url);
		if (g->ca_issuers_url != NULL)
			put_access(&d, oid_ad_ca_issuers, sizeof(oid_ad_ca_issuers),
			           g->ca_issuers_url);
		mca_der_close(&d, m);
		ext_close(&d, marks);
	}
	if (g->policies[0] != NULL && (rc = put_policies(&d, g->policies, err)) != MCA_OK)
		goto out;
	mca_der_close(&d, exts_seq);
	mca_der_close(&d, exts);
	mca_der_close(&d, tbs_mark);
	if (d.failed) {
		rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		goto out;
	}
	*tbs = d.buf;
	*tbs_len = d.len;
	d.buf = NULL;
out:
	mca_der_free(&d);
	return rc;
}

/*
 * What X509_NAME_print_ex(XN_FLAG_RFC2253) does to each octet of a
 * UTF8String value (crypto/asn1/a_strex.c do_esc_char with the
 * crypto/asn1/charmap.h classes): a backslash before ",+\"\\<>;", before
 * '#' first and ' ' first or last; "\XX" for controls and octets >= 0x80.
 */
#define ESC_BS    1 /* always "\c" */
#define ESC_FIRST 2 /* "\c" as the first octet (but not as the only one) */
#define ESC_LAST  4 /* "\c" as the last octet */
#define ESC_HEX   8 /* "\XX" */

static int
esc_class(unsigned char c)
{
	if (c < 0x20 || c == 0x7f || c >= 0x80)
		return ESC_HEX;
	switch (c) {
	case ',':
	case '+':
	case '"':
	case '\\':
	case '<':
	case '>':
	case ';':
		return ESC_BS;
	case '#':
		return ESC_FIRST;
	case ' ':
		return ESC_FIRST | ESC_LAST;
	default:
		return 0;
	}
}

char *
mca_leaf_subject_text(const char *cn)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n, i, o = 0;
	char *s;
	int cls, pos;

	if (cn == NULL)
		return strdup("");
	n = strlen(cn);
	s = malloc(3 + 3 * n + 1);
	if (s == NULL)
		return NULL;
	memcpy(s, "CN=", 3);
	o = 3;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)cn[i];

		/* OpenSSL flags the last octet as last only, even when it is the first too. */
		pos = i + 1 == n ? ESC_LAST : i == 0 ? ESC_FIRST : 0;
		cls = esc_class(c);
		if ((cls & ESC_BS) || (cls & pos)) {
			s[o++] = '\\';
			s[o++] = (char)c;
		} else if (cls & ESC_HEX) {
			s[o++] = '\\';
			s[o++] = hex[c >> 4];
			s[o++] = hex[c & 15];
		} else {
			s[o++] = (char)c;
		}
	}
	s[o] = '\0';
	return s;
}
