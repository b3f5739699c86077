/* pkcs11.c - the signer backend over a PKCS#11 token (see pkcs11.h). */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <p11-kit/pkcs11.h>

#include "common/der.h"
#include "common/log.h"
#include "common/util.h"
#include "signer/p11uri.h"
#include "signer/pkcs11.h"

/* ---- modules: loaded and initialised once per process, shared by keys ---- */

#define MAX_MODULES 4

struct module {
	char path[PATH_MAX];
	void *dl; /* NULL: a free slot; once loaded, never unloaded */
	CK_FUNCTION_LIST_PTR f;
	int refs;
	unsigned gen; /* bumped by module_reinit: sessions of older ones are gone */
	/*
	 * Read-held around every call into the module by a key, write-held by
	 * module_reinit.  Taken after the key's own lock, never before it.
	 */
	pthread_rwlock_t rw;
};

static pthread_mutex_t modules_lock = PTHREAD_MUTEX_INITIALIZER;
static struct module modules[MAX_MODULES];

/* "CKR_PIN_INCORRECT" for the codes we meet, else "CKR 0x..." */
static const char *
ckr_name(CK_RV rv, char *buf, size_t len)
{
	static const struct {
		CK_RV rv;
		const char *name;
	} names[] = {
#define N(x) {x, #x}
	    N(CKR_OK),
	    N(CKR_GENERAL_ERROR),
	    N(CKR_HOST_MEMORY),
	    N(CKR_SLOT_ID_INVALID),
	    N(CKR_FUNCTION_FAILED),
	    N(CKR_ARGUMENTS_BAD),
	    N(CKR_ATTRIBUTE_TYPE_INVALID),
	    N(CKR_ATTRIBUTE_VALUE_INVALID),
	    N(CKR_DATA_LEN_RANGE),
	    N(CKR_DEVICE_ERROR),
	    N(CKR_DEVICE_MEMORY),
	    N(CKR_DEVICE_REMOVED),
	    N(CKR_KEY_HANDLE_INVALID),
	    N(CKR_KEY_TYPE_INCONSISTENT),
	    N(CKR_MECHANISM_INVALID),
	    N(CKR_OBJECT_HANDLE_INVALID),
	    N(CKR_OPERATION_ACTIVE),
	    N(CKR_PIN_INCORRECT),
	    N(CKR_PIN_LEN_RANGE),
	    N(CKR_PIN_EXPIRED),
	    N(CKR_PIN_LOCKED),
	    N(CKR_SESSION_CLOSED),
	    N(CKR_SESSION_HANDLE_INVALID),
	    N(CKR_TOKEN_NOT_PRESENT),
	    N(CKR_TOKEN_NOT_RECOGNIZED),
	    N(CKR_TEMPLATE_INCONSISTENT),
	    N(CKR_USER_NOT_LOGGED_IN),
	    N(CKR_USER_PIN_NOT_INITIALIZED),
	    N(CKR_CRYPTOKI_NOT_INITIALIZED),
#undef N
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].rv == rv)
			return names[i].name;
	snprintf(buf, len, "CKR 0x%lx", (unsigned long)rv);
	return buf;
}

#define CKR(rv) ckr_name((rv), (char[32]){0}, 32)

static mca_rc
module_get(const char *path, struct module **out, struct mca_error *err)
{
	CK_C_GetFunctionList get = NULL;
	CK_C_INITIALIZE_ARGS args;
	struct module *m = NULL;
	struct stat st;
	void *dl = NULL;
	CK_FUNCTION_LIST_PTR f = NULL;
	CK_RV rv;
	size_t i;
	mca_rc rc = MCA_OK;

	*out = NULL;
	if (path == NULL || path[0] == '\0')
		return mca_error_set(err, MCA_ERR_CONFIG,
		                     "a pkcs11: key needs pkcs11_module (the path of the "
		                     "PKCS#11 module)");
	if (strlen(path) >= sizeof(m->path))
		return mca_error_set(err, MCA_ERR_CONFIG, "pkcs11_module: path too long");
	/* Before dlopen, whose message would not say which file is missing. */
	if (stat(path, &st) != 0)
		return mca_error_set(err, MCA_ERR_CONFIG, "pkcs11_module %s: %s", path,
		                     strerror(errno));
	pthread_mutex_lock(&modules_lock);
	for (i = 0; i < MAX_MODULES; i++)
		if (modules[i].dl != NULL && strcmp(modules[i].path, path) == 0) {
			m = &modules[i];
			break;
		}
	if (m != NULL && m->refs > 0) {
		m->refs++;
		*out = m;
		goto out;
	}
	for (i = 0; i < MAX_MODULES && m == NULL; i++)
		if (modules[i].dl == NULL)
			m = &modules[i];
	if (m == NULL) {
		rc = mca_error_set(err, MCA_ERR_CONFIG, "pkcs11_module %s: more than %d modules",
		                   path, MAX_MODULES);
		goto out;
	}
	if (m->dl != NULL) { /* loaded before, finalized since */
		f = m->f;
		goto init;
	}
	dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (dl == NULL) {
		rc = mca_error_set(err, MCA_ERR_CONFIG, "pkcs11_module %s: cannot load it (%s)",
		                   path, dlerror());
		goto out;
	}
	*(void **)&get = dlsym(dl, "C_GetFunctionList");
	if (get == NULL || get(&f) != CKR_OK || f == NULL) {
		rc = mca_error_set(err, MCA_ERR_CONFIG,
		                   "pkcs11_module %s: not a PKCS#11 module (no C_GetFunctionList)",
		                   path);
		goto out;
	}
init:
	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	rv = f->C_Initialize(&args);
	if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		rc = mca_error_set(err, MCA_ERR_CONFIG, "pkcs11_module %s: C_Initialize: %s", path,
		                   CKR(rv));
		goto out;
	}
	snprintf(m->path, sizeof(m->path), "%s", path);
	if (dl != NULL) {
		pthread_rwlock_init(&m->rw, NULL);
		m->dl = dl;
	}
	m->f = f;
	m->refs = 1;
	dl = NULL;
	*out = m;
out:
	if (dl != NULL)
		dlclose(dl);
	pthread_mutex_unlock(&modules_lock);
	return rc;
}

/*
 * Finalize and initialise the module again: some modules (SoftHSM) find a
 * token that went away and came back only so.  Every session of every key
 * over the module ends; they see the new generation and log in again.
 */
static mca_rc
module_reinit(struct module *m, struct mca_error *err)
{
	CK_C_INITIALIZE_ARGS args;
	CK_RV rv;

	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	pthread_rwlock_wrlock(&m->rw);
	m->f->C_Finalize(NULL);
	rv = m->f->C_Initialize(&args);
	m->gen++;
	pthread_rwlock_unlock(&m->rw);
	if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED)
		return mca_error_set(err, MCA_ERR_SIGNER, "pkcs11_module %s: C_Initialize: %s",
		                     m->path, CKR(rv));
	return MCA_OK;
}

static void
module_put(struct module *m)
{
	if (m == NULL)
		return;
	pthread_mutex_lock(&modules_lock);
	/*
	 * Finalized but never unloaded: modules may not survive dlclose
	 * (atexit handlers, threads), and their frames stay nameable for
	 * LeakSanitizer suppressions (tests/integration/softhsm.supp).
	 */
	if (--m->refs == 0)
		m->f->C_Finalize(NULL);
	pthread_mutex_unlock(&modules_lock);
}

/* ---- keys ---- */

struct p11key {
	pthread_mutex_t lock; /* guards everything below but mod, uri, pub */
	struct module *mod;
	struct mca_p11uri uri;
	char *pin; /* NULL: no login; kept to log in again */
	char *pin_path;
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE sess; /* CK_INVALID_HANDLE: logged out, see retry_at */
	unsigned gen;           /* mod->gen when sess was opened */
	CK_OBJECT_HANDLE key;
	CK_KEY_TYPE ktype;
	EVP_PKEY *pub;
	const char *md;             /* the signer hashes with this; NULL: Ed25519 */
	CK_MECHANISM_TYPE rsa_mech; /* CKM_RSA_PKCS, else CKM_SHA256_RSA_PKCS */
	size_t half;                /* ECDSA: octets of r and of s */
	int64_t retry_at, backoff;
};

static int64_t
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

/* The token label from CK_TOKEN_INFO (blank-padded, not terminated). */
static void
label_of(const CK_UTF8CHAR *l, size_t n, char *out)
{
	while (n > 0 && l[n - 1] == ' ')
		n--;
	memcpy(out, l, n);
	out[n] = '\0';
}

/* The slot whose token matches the URI's token attributes. */
static mca_rc
find_slot(struct p11key *k, CK_SLOT_ID *slot, struct mca_error *err)
{
	CK_FUNCTION_LIST_PTR f = k->mod->f;
	CK_SLOT_ID *slots = NULL;
	CK_ULONG n = 0, i;
	CK_TOKEN_INFO ti;
	char label[33], manuf[33], model[17], serial[17];
	CK_RV rv;
	mca_rc rc;

	rv = f->C_GetSlotList(CK_TRUE, NULL, &n);
	if (rv == CKR_OK && n > 0) {
		slots = calloc(n, sizeof(*slots));
		if (slots == NULL)
			return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		rv = f->C_GetSlotList(CK_TRUE, slots, &n);
	}
	if (rv != CKR_OK) {
		rc = mca_error_set(err, MCA_ERR_SIGNER, "pkcs11 token '%s': C_GetSlotList: %s",
		                   k->uri.token, CKR(rv));
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (f->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
			continue;
		label_of(ti.label, sizeof(ti.label), label);
		label_of(ti.manufacturerID, sizeof(ti.manufacturerID), manuf);
		label_of(ti.model, sizeof(ti.model), model);
		label_of(ti.serialNumber, sizeof(ti.serialNumber), serial);
		if ((k->uri.token[0] && strcmp(k->uri.token, label) != 0) ||
		    (k->uri.manufacturer[0] && strcmp(k->uri.manufacturer, manuf) != 0) ||
		    (k->uri.model[0] && strcmp(k->uri.model, model) != 0) ||
		    (k->uri.serial[0] && strcmp(k->uri.serial, serial) != 0))
			continue;
		*slot = slots[i];
		rc = MCA_OK;
		goto out;
	}
	rc = mca_error_set(err, MCA_ERR_SIGNER, "pkcs11 token '%s': no such token in %s",
	                   k->uri.token, k->mod->path);
out:
	free(slots);
	return rc;
}

/* The one object of `cls` matching the URI's object and id; 0 when none. */
static mca_rc
find_object(struct p11key *k, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls, CK_OBJECT_HANDLE *obj,
            struct mca_error *err)
{
	CK_FUNCTION_LIST_PTR f = k->mod->f;
	CK_ATTRIBUTE tmpl[3];
	CK_OBJECT_HANDLE found[2];
	CK_ULONG n = 0, count = 0;
	CK_RV rv;

	*obj = CK_INVALID_HANDLE;
	tmpl[n++] = (CK_ATTRIBUTE){CKA_CLASS, &cls, sizeof(cls)};
	if (k->uri.object[0])
		tmpl[n++] = (CK_ATTRIBUTE){CKA_LABEL, k->uri.object, strlen(k->uri.object)};
	if (k->uri.has_id)
		tmpl[n++] = (CK_ATTRIBUTE){CKA_ID, k->uri.id, k->uri.id_len};
	rv = f->C_FindObjectsInit(s, tmpl, n);
	if (rv == CKR_OK) {
		rv = f->C_FindObjects(s, found, 2, &count);
		f->C_FindObjectsFinal(s);
	}
	if (rv != CKR_OK)
		return mca_error_set(err, MCA_ERR_SIGNER, "pkcs11 token '%s': C_FindObjects: %s",
		                     k->uri.token, CKR(rv));
	if (count > 1)
		return mca_error_set(err, MCA_ERR_CONFIG,
		                     "pkcs11 token '%s': the URI names more than one %s key: add "
		                     "object= or id=",
		                     k->uri.token, cls == CKO_PRIVATE_KEY ? "private" : "public");
	if (count == 1)
		*obj = found[0];
	return MCA_OK;
}

/* An attribute of `obj`, malloc'd into *val (*len octets); MCA_ERR_NOTFOUND when absent. */
static mca_rc
get_attr(struct p11key *k, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type,
         unsigned char **val, size_t *len, struct mca_error *err)
{
	CK_FUNCTION_LIST_PTR f = k->mod->f;
	CK_ATTRIBUTE a = {type, NULL, 0};
	CK_RV rv;

	*val = NULL;
	*len = 0;
	rv = f->C_GetAttributeValue(s, obj, &a, 1);
	if (rv != CKR_OK || a.ulValueLen == CK_UNAVAILABLE_INFORMATION || a.ulValueLen == 0 ||
	    a.ulValueLen > 65536)
		return mca_error_set(err, MCA_ERR_NOTFOUND, "pkcs11 token '%s': no attribute 0x%lx",
		                     k->uri.token, (unsigned long)type);
	a.pValue = malloc(a.ulValueLen);
	if (a.pValue == NULL)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	rv = f->C_GetAttributeValue(s, obj, &a, 1);
	if (rv != CKR_OK) {
		free(a.pValue);
		return mca_error_set(err, MCA_ERR_NOTFOUND,
		                     "pkcs11 token '%s': attribute 0x%lx: %s", k->uri.token,
		                     (unsigned long)type, CKR(rv));
	}
	*val = a.pValue;
	*len = a.ulValueLen;
	return MCA_OK;
}

/* id-ecPublicKey */
static const unsigned char oid_ec_pubkey[] = {0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01};
/* id-Ed25519, and the named curves (CKA_EC_PARAMS) of P-256 and P-384 */
static const unsigned char oid_ed25519[] = {0x06, 0x03, 0x2b, 0x65, 0x70};
static const unsigned char oid_p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48,
                                         0xce, 0x3d, 0x03, 0x01, 0x07};
static const unsigned char oid_p384[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
/*
 * CKA_EC_POINT: a DER OCTET STRING around the point, or (some tokens) the
 * bare point.  `rawlen` is the bare point's length for the curve (0:
 * unknown), which tells the two apart: a bare point may parse as DER.
 */
static void
unwrap_point(const unsigned char *p, size_t len, size_t rawlen, const unsigned char **pt,
             size_t *ptlen)
{
	const unsigned char *q = p;
	ASN1_OCTET_STRING *os = NULL;

	*pt = p;
	*ptlen = len;
	if (rawlen != 0 && len == rawlen)
		return;
	os = d2i_ASN1_OCTET_STRING(NULL, &q, (long)len);
	if (os != NULL && q == p + len) {
		*pt = p + (len - (size_t)ASN1_STRING_length(os));
		*ptlen = (size_t)ASN1_STRING_length(os);
	}
	ASN1_OCTET_STRING_free(os);
	ERR_clear_error();
}

/* The bare point's length of a curve: uncompressed for P-256/P-384, 32 for Ed25519. */
static size_t
raw_point_len(const unsigned char *params, size_t len)
{
	if (len == sizeof(oid_p256) && memcmp(params, oid_p256, len) == 0)
		return 65;
	if (len == sizeof(oid_p384) && memcmp(params, oid_p384, len) == 0)
		return 97;
	return 0;
}

/* The public key from the token's objects; NULL when it cannot be had. */
static EVP_PKEY *
token_pubkey(struct p11key *k, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE pubobj)
{
	unsigned char *params = NULL, *point = NULL, *n = NULL, *e = NULL;
	size_t params_len = 0, point_len = 0, n_len = 0, e_len = 0, ptlen = 0;
	const unsigned char *pt, *p;
	CK_OBJECT_HANDLE obj = pubobj != CK_INVALID_HANDLE ? pubobj : k->key;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *prm = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	BIGNUM *bn = NULL, *be = NULL;
	EVP_PKEY *pub = NULL;
	struct mca_der d;
	size_t mark, inner, bits;
	static const unsigned char zero = 0;

	mca_der_init(&d);
	if (k->ktype == CKK_RSA) {
		/* private RSA key objects carry the public half too */
		if (get_attr(k, s, obj, CKA_MODULUS, &n, &n_len, NULL) != MCA_OK ||
		    get_attr(k, s, obj, CKA_PUBLIC_EXPONENT, &e, &e_len, NULL) != MCA_OK)
			goto out;
		bn = BN_bin2bn(n, (int)n_len, NULL);
		be = BN_bin2bn(e, (int)e_len, NULL);
		bld = OSSL_PARAM_BLD_new();
		if (bn == NULL || be == NULL || bld == NULL ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) ||
		    (prm = OSSL_PARAM_BLD_to_param(bld)) == NULL)
			goto out;
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
		if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
		    EVP_PKEY_fromdata(ctx, &pub, EVP_PKEY_PUBLIC_KEY, prm) != 1)
			pub = NULL;
		goto out;
	}
	if (pubobj == CK_INVALID_HANDLE ||
	    get_attr(k, s, pubobj, CKA_EC_POINT, &point, &point_len, NULL) != MCA_OK)
		goto out;
	if (k->ktype == CKK_EC_EDWARDS) {
		unwrap_point(point, point_len, 32, &pt, &ptlen);
		pub = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pt, ptlen);
		goto out;
	}
	if (get_attr(k, s, pubobj, CKA_EC_PARAMS, &params, &params_len, NULL) != MCA_OK)
		goto out;
	unwrap_point(point, point_len, raw_point_len(params, params_len), &pt, &ptlen);
	/* SubjectPublicKeyInfo { { id-ecPublicKey, params }, BIT STRING point } */
	mark = mca_der_open(&d, MCA_DER_SEQUENCE);
	inner = mca_der_open(&d, MCA_DER_SEQUENCE);
	mca_der_raw(&d, oid_ec_pubkey, sizeof(oid_ec_pubkey));
	mca_der_raw(&d, params, params_len);
	mca_der_close(&d, inner);
	bits = mca_der_open(&d, MCA_DER_BITSTRING);
	mca_der_raw(&d, &zero, 1);
	mca_der_raw(&d, pt, ptlen);
	mca_der_close(&d, bits);
	mca_der_close(&d, mark);
	if (d.failed)
		goto out;
	p = d.buf;
	pub = d2i_PUBKEY(NULL, &p, (long)d.len);
	if (pub != NULL && p != d.buf + d.len) {
		EVP_PKEY_free(pub);
		pub = NULL;
	}
out:
	ERR_clear_error();
	mca_der_free(&d);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(prm);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	free(params);
	free(point);
	free(n);
	free(e);
	return pub;
}

static void
drop_session(struct p11key *k)
{
	if (k->sess != CK_INVALID_HANDLE && k->gen == k->mod->gen)
		k->mod->f->C_CloseSession(k->sess);
	k->sess = CK_INVALID_HANDLE;
	k->key = CK_INVALID_HANDLE;
}

/*
 * Find the token, open a session, log in, find the private key: the state
 * every signature needs.  `first`: at open (the key type is learnt here).
 */
static mca_rc
connect_key(struct p11key *k, int first, CK_OBJECT_HANDLE *pubobj, struct mca_error *err)
{
	CK_FUNCTION_LIST_PTR f = k->mod->f;
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
	CK_KEY_TYPE kt = 0;
	CK_ATTRIBUTE a = {CKA_KEY_TYPE, &kt, sizeof(kt)};
	CK_MECHANISM_INFO mi;
	CK_MECHANISM_TYPE mech;
	CK_SLOT_ID slot = 0;
	CK_RV rv;
	mca_rc rc;

	if (pubobj != NULL)
		*pubobj = CK_INVALID_HANDLE;
	k->gen = k->mod->gen;
	if ((rc = find_slot(k, &slot, err)) != MCA_OK)
		return rc;
	rv = f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s);
	if (rv != CKR_OK)
		return mca_error_set(err, MCA_ERR_SIGNER, "pkcs11 token '%s': C_OpenSession: %s",
		                     k->uri.token, CKR(rv));
	if (k->pin != NULL) {
		rv = f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)k->pin, strlen(k->pin));
		if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LEN_RANGE || rv == CKR_PIN_LOCKED ||
		    rv == CKR_PIN_EXPIRED) {
			rc = mca_error_set(err, MCA_ERR_CONFIG,
			                   "pkcs11 token '%s': the PIN in %s is %s (%s)",
			                   k->uri.token, k->pin_path,
			                   rv == CKR_PIN_LOCKED    ? "locked"
			                   : rv == CKR_PIN_EXPIRED ? "expired"
			                                           : "wrong",
			                   CKR(rv));
			goto fail;
		}
		if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
			rc = mca_error_set(err, MCA_ERR_SIGNER, "pkcs11 token '%s': C_Login: %s",
			                   k->uri.token, CKR(rv));
			goto fail;
		}
	}
	if ((rc = find_object(k, s, CKO_PRIVATE_KEY, &key, err)) != MCA_OK)
		goto fail;
	if (key == CK_INVALID_HANDLE) {
		rc = mca_error_set(err, first ? MCA_ERR_CONFIG : MCA_ERR_SIGNER,
		                   "pkcs11 token '%s': no private key%s%s%s", k->uri.token,
		                   k->uri.object[0] ? " labelled '" : "", k->uri.object,
		                   k->uri.object[0] ? "'" : "");
		goto fail;
	}
	rv = f->C_GetAttributeValue(s, key, &a, 1);
	if (rv != CKR_OK) {
		rc = mca_error_set(err, MCA_ERR_SIGNER, "pkcs11 token '%s': CKA_KEY_TYPE: %s",
		                   k->uri.token, CKR(rv));
		goto fail;
	}
	if (!first && kt != k->ktype) {
		rc = mca_error_set(err, MCA_ERR_SIGNER, "pkcs11 token '%s': the key changed type",
		                   k->uri.token);
		goto fail;
	}
	if (kt != CKK_EC && kt != CKK_RSA && kt != CKK_EC_EDWARDS) {
		rc = mca_error_set(err, MCA_ERR_CONFIG,
		                   "pkcs11 token '%s': key type 0x%lx not supported (need EC, RSA "
		                   "or Ed25519)",
		                   k->uri.token, (unsigned long)kt);
		goto fail;
	}
	mech = kt == CKK_EC ? CKM_ECDSA : kt == CKK_RSA ? CKM_RSA_PKCS : CKM_EDDSA;
	if (first) {
		k->rsa_mech = CKM_RSA_PKCS;
		/* RSA: the signer's DigestInfo with CKM_RSA_PKCS, else the token hashes */
		if (kt == CKK_RSA && f->C_GetMechanismInfo(slot, mech, &mi) != CKR_OK &&
		    f->C_GetMechanismInfo(slot, CKM_SHA256_RSA_PKCS, &mi) == CKR_OK)
			mech = k->rsa_mech = CKM_SHA256_RSA_PKCS;
		if (f->C_GetMechanismInfo(slot, mech, &mi) != CKR_OK) {
			rc = mca_error_set(err, MCA_ERR_CONFIG, "pkcs11 token '%s': no %s",
			                   k->uri.token,
			                   kt == CKK_EC    ? "CKM_ECDSA"
			                   : kt == CKK_RSA ? "CKM_RSA_PKCS nor CKM_SHA256_RSA_PKCS"
			                                   : "CKM_EDDSA");
			goto fail;
		}
	}
	if (pubobj != NULL && (rc = find_object(k, s, CKO_PUBLIC_KEY, pubobj, err)) != MCA_OK)
		goto fail;
	k->slot = slot;
	k->sess = s;
	k->key = key;
	k->ktype = kt;
	return MCA_OK;
fail:
	f->C_CloseSession(s);
	return rc;
}

/* C_Sign of `in` with `mech`; a token failure drops the session (MCA_ERR_SIGNER). */
static mca_rc
token_sign(struct p11key *k, CK_MECHANISM_TYPE mech, const unsigned char *in, size_t in_len,
           unsigned char **out, size_t *out_len, struct mca_error *err)
{
	CK_FUNCTION_LIST_PTR f = k->mod->f;
	CK_MECHANISM m = {mech, NULL, 0};
	CK_ULONG len = 0;
	unsigned char *buf = NULL;
	CK_RV rv;

	*out = NULL;
	rv = f->C_SignInit(k->sess, &m, k->key);
	if (rv == CKR_OK)
		rv = f->C_Sign(k->sess, (CK_BYTE_PTR)(uintptr_t)in, in_len, NULL, &len);
	if (rv == CKR_OK && (len == 0 || len > 8192))
		rv = CKR_FUNCTION_FAILED;
	if (rv == CKR_OK && (buf = malloc(len)) == NULL) {
		/* the operation is still active: only closing the session ends it */
		drop_session(k);
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	}
	if (rv == CKR_OK)
		rv = f->C_Sign(k->sess, (CK_BYTE_PTR)(uintptr_t)in, in_len, buf, &len);
	if (rv != CKR_OK) {
		free(buf);
		drop_session(k); /* the next request logs in again (the back-off is reconnect's) */
		mca_log(MCA_LOG_ERR, "pkcs11 token '%s': C_Sign: %s: logging in again",
		        k->uri.token, CKR(rv));
		return mca_error_set(err, MCA_ERR_SIGNER, "pkcs11 token '%s': C_Sign: %s",
		                     k->uri.token, CKR(rv));
	}
	*out = buf;
	*out_len = len;
	return MCA_OK;
}

/* DigestInfo prefix of SHA-256 (RFC 8017 section 9.2, note 1). */
static const unsigned char digestinfo_sha256[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                                  0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                                  0x01, 0x05, 0x00, 0x04, 0x20};

/* One signature, the session up; *sig is the final encoding (DER for ECDSA). */
static mca_rc
sign_locked(struct p11key *k, const unsigned char *tbs, size_t tbs_len, unsigned char **sig,
            size_t *sig_len, struct mca_error *err)
{
	unsigned char in[sizeof(digestinfo_sha256) + EVP_MAX_MD_SIZE];
	unsigned char *raw = NULL, *der = NULL;
	unsigned int mdlen = 0;
	size_t raw_len = 0;
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	int der_len;
	mca_rc rc;

	*sig = NULL;
	if (k->ktype == CKK_EC_EDWARDS)
		return token_sign(k, CKM_EDDSA, tbs, tbs_len, sig, sig_len, err);
	if (k->ktype == CKK_RSA && k->rsa_mech == CKM_SHA256_RSA_PKCS)
		return token_sign(k, CKM_SHA256_RSA_PKCS, tbs, tbs_len, sig, sig_len, err);
	if (k->ktype == CKK_RSA) {
		memcpy(in, digestinfo_sha256, sizeof(digestinfo_sha256));
		if (!EVP_Digest(tbs, tbs_len, in + sizeof(digestinfo_sha256), &mdlen, EVP_sha256(),
		                NULL))
			return mca_error_ssl(err, MCA_ERR_CRYPTO, "hashing");
		return token_sign(k, CKM_RSA_PKCS, in, sizeof(digestinfo_sha256) + mdlen, sig,
		                  sig_len, err);
	}
	if (!EVP_Digest(tbs, tbs_len, in, &mdlen, EVP_get_digestbyname(k->md), NULL))
		return mca_error_ssl(err, MCA_ERR_CRYPTO, "hashing");
	if ((rc = token_sign(k, CKM_ECDSA, in, mdlen, &raw, &raw_len, err)) != MCA_OK)
		return rc;
	if (raw_len != 2 * k->half) {
		rc = mca_error_set(err, MCA_ERR_CRYPTO,
		                   "pkcs11 token '%s': an ECDSA signature of %zu octets, want %zu",
		                   k->uri.token, raw_len, 2 * k->half);
		goto out;
	}
	es = ECDSA_SIG_new();
	r = BN_bin2bn(raw, (int)k->half, NULL);
	s = BN_bin2bn(raw + k->half, (int)k->half, NULL);
	if (es == NULL || r == NULL || s == NULL || !ECDSA_SIG_set0(es, r, s)) {
		rc = mca_error_ssl(err, MCA_ERR_NOMEM, "ECDSA signature");
		goto out;
	}
	r = s = NULL; /* es has them */
	der_len = i2d_ECDSA_SIG(es, &der);
	if (der_len <= 0) {
		rc = mca_error_ssl(err, MCA_ERR_CRYPTO, "encoding the ECDSA signature");
		goto out;
	}
	*sig = malloc((size_t)der_len);
	if (*sig == NULL) {
		rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		goto out;
	}
	memcpy(*sig, der, (size_t)der_len);
	*sig_len = (size_t)der_len;
	rc = MCA_OK;
out:
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	BN_free(r);
	BN_free(s);
	free(raw);
	return rc;
}

/* Whether `sig` over `msg` verifies with the key's public key. */
static int
verifies(struct p11key *k, const unsigned char *msg, size_t len, const unsigned char *sig,
         size_t sig_len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	ok = ctx != NULL &&
	     EVP_DigestVerifyInit_ex(ctx, NULL, k->md, NULL, NULL, k->pub, NULL) == 1 &&
	     EVP_DigestVerify(ctx, sig, sig_len, msg, len) == 1;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}

/* Log in again (the session was dropped), honouring the back-off. */
static mca_rc
reconnect(struct p11key *k, struct mca_error *err)
{
	static const unsigned char msg[] = MCA_SIGNER_PROBE_MSG;
	struct mca_error e = {0};
	unsigned char *sig = NULL;
	size_t sig_len = 0;
	int64_t now = mono_now();
	mca_rc rc;

	if (k->retry_at == INT64_MAX)
		return mca_error_set(err, MCA_ERR_SIGNER,
		                     "pkcs11 token '%s': no more logins with a PIN it refused; "
		                     "restart mtlscad with the right one",
		                     k->uri.token);
	if (now < k->retry_at)
		return mca_error_set(err, MCA_ERR_SIGNER,
		                     "pkcs11 token '%s' is unavailable; next login in %lld s",
		                     k->uri.token, (long long)(k->retry_at - now));
	rc = connect_key(k, 0, NULL, &e);
	if (rc != MCA_OK && rc != MCA_ERR_CONFIG) { /* not for a wrong PIN */
		mca_error_clear(&e);
		pthread_rwlock_unlock(&k->mod->rw); /* the caller's read hold */
		rc = module_reinit(k->mod, &e);
		pthread_rwlock_rdlock(&k->mod->rw);
		if (rc == MCA_OK)
			rc = connect_key(k, 0, NULL, &e);
	}
	if (rc == MCA_OK) {
		/* the same key as at start? */
		rc = sign_locked(k, msg, sizeof(msg) - 1, &sig, &sig_len, &e);
		if (rc == MCA_OK && !verifies(k, msg, sizeof(msg) - 1, sig, sig_len)) {
			drop_session(k);
			rc = mca_error_set(&e, MCA_ERR_SIGNER,
			                   "pkcs11 token '%s': the key no longer matches its "
			                   "public key",
			                   k->uri.token);
		}
		free(sig);
	}
	if (rc == MCA_ERR_CONFIG) {
		/* a PIN the token refuses: trying again would count towards locking it */
		drop_session(k);
		k->retry_at = INT64_MAX;
		mca_log(MCA_LOG_ERR, "%s; no more logins until mtlscad restarts", e.msg);
		return mca_error_set(err, MCA_ERR_SIGNER, "%s", e.msg);
	}
	if (rc != MCA_OK) {
		drop_session(k);
		k->backoff = k->backoff == 0                        ? 1
		             : k->backoff * 2 > MCA_P11_BACKOFF_MAX ? MCA_P11_BACKOFF_MAX
		                                                    : k->backoff * 2;
		k->retry_at = now + k->backoff;
		mca_log(MCA_LOG_WARN, "%s; next login in %lld s", e.msg, (long long)k->backoff);
		return mca_error_set(err, MCA_ERR_SIGNER, "%s", e.msg);
	}
	k->backoff = 0;
	k->retry_at = 0;
	mca_log(MCA_LOG_NOTICE, "pkcs11 token '%s': logged in again", k->uri.token);
	return MCA_OK;
}

static mca_rc
p11_sign(void *impl, enum mca_sign_kind kind, const unsigned char *tbs, size_t tbs_len,
         unsigned char **sig, size_t *sig_len, struct mca_error *err)
{
	struct p11key *k = impl;
	mca_rc rc = MCA_OK;

	(void)kind; /* the signer process lints before it calls us */
	*sig = NULL;
	pthread_mutex_lock(&k->lock);
	pthread_rwlock_rdlock(&k->mod->rw);
	if (k->sess != CK_INVALID_HANDLE && k->gen != k->mod->gen)
		drop_session(k); /* the module was initialised again under us */
	if (k->sess == CK_INVALID_HANDLE)
		rc = reconnect(k, err);
	if (rc == MCA_OK)
		rc = sign_locked(k, tbs, tbs_len, sig, sig_len, err);
	pthread_rwlock_unlock(&k->mod->rw);
	pthread_mutex_unlock(&k->lock);
	return rc;
}

static EVP_PKEY *
p11_pubkey(void *impl)
{
	return ((struct p11key *)impl)->pub;
}

static void
p11_free(void *impl)
{
	struct p11key *k = impl;

	if (k == NULL)
		return;
	if (k->mod != NULL) {
		pthread_rwlock_rdlock(&k->mod->rw);
		drop_session(k);
		pthread_rwlock_unlock(&k->mod->rw);
	}
	module_put(k->mod);
	EVP_PKEY_free(k->pub);
	mca_free_secret(k->pin);
	free(k->pin_path);
	pthread_mutex_destroy(&k->lock);
	free(k);
}

static const struct mca_signer_ops p11_ops = {
    .name = "pkcs11",
    .sign = p11_sign,
    .pubkey = p11_pubkey,
    .free = p11_free,
};

/* pin-source=file:PATH or a plain path */
static const char *
pin_source_path(const char *s)
{
	return strncmp(s, "file:", 5) == 0 ? s + 5 : s;
}

mca_rc
mca_signer_pkcs11_new(const char *uri, const struct mca_p11conf *c, X509 *cert,
                      const char *cert_path, struct mca_signer **out, struct mca_error *err)
{
	struct p11key *k = NULL;
	const char *module, *pin_file;
	CK_OBJECT_HANDLE pubobj = CK_INVALID_HANDLE;
	EVP_PKEY *certkey;
	mca_rc rc;

	*out = NULL;
	k = calloc(1, sizeof(*k));
	if (k == NULL)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	pthread_mutex_init(&k->lock, NULL);
	k->sess = CK_INVALID_HANDLE;
	if ((rc = mca_p11uri_parse(uri, &k->uri, err)) != MCA_OK)
		goto fail;
	if (k->uri.type != MCA_P11URI_ANY && k->uri.type != MCA_P11URI_PRIVATE) {
		rc = mca_error_set(err, MCA_ERR_CONFIG,
		                   "pkcs11 URI: a CA key is type=private, not another type");
		goto fail;
	}
	if (k->uri.token[0] == '\0' && k->uri.serial[0] == '\0') {
		rc = mca_error_set(err, MCA_ERR_CONFIG,
		                   "pkcs11 URI: name the token (token= or serial=)");
		goto fail;
	}
	if (k->uri.object[0] == '\0' && !k->uri.has_id) {
		rc =
		    mca_error_set(err, MCA_ERR_CONFIG, "pkcs11 URI: name the key (object= or id=)");
		goto fail;
	}
	module = c != NULL && c->module != NULL ? c->module : k->uri.module_path;
	pin_file = c != NULL && c->pin_file != NULL ? c->pin_file
	           : k->uri.pin_source[0]           ? pin_source_path(k->uri.pin_source)
	                                            : NULL;
	if (pin_file != NULL) {
		if ((rc = mca_signer_private_file(pin_file, err)) != MCA_OK ||
		    (rc = mca_passphrase_read(pin_file, &k->pin, err)) != MCA_OK)
			goto fail;
		k->pin_path = strdup(pin_file);
		if (k->pin_path == NULL) {
			rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
			goto fail;
		}
	}
	if ((rc = module_get(module, &k->mod, err)) != MCA_OK)
		goto fail;
	pthread_rwlock_rdlock(&k->mod->rw);
	rc = connect_key(k, 1, &pubobj, err);
	if (rc == MCA_OK)
		k->pub = token_pubkey(k, k->sess, pubobj);
	pthread_rwlock_unlock(&k->mod->rw);
	if (rc != MCA_OK) {
		/* at start, a token that is not there is a configuration error */
		if (rc == MCA_ERR_SIGNER)
			rc = err != NULL ? (err->code = MCA_ERR_CONFIG) : MCA_ERR_CONFIG;
		goto fail;
	}
	certkey = cert != NULL ? X509_get0_pubkey(cert) : NULL;
	if (k->pub == NULL && certkey != NULL) {
		EVP_PKEY_up_ref(certkey);
		k->pub = certkey;
	}
	if (k->pub == NULL) {
		rc = mca_error_set(err, MCA_ERR_CONFIG,
		                   "pkcs11 token '%s': no public key for the key (no public key "
		                   "object and no certificate)",
		                   k->uri.token);
		goto fail;
	}
	if (certkey != NULL && EVP_PKEY_eq(k->pub, certkey) != 1) {
		ERR_clear_error();
		rc = mca_error_set(err, MCA_ERR_CONFIG, "pkcs11 token '%s': key does not match %s",
		                   k->uri.token, cert_path != NULL ? cert_path : "its certificate");
		goto fail;
	}
	if (k->ktype == CKK_EC) {
		k->md = EVP_PKEY_get_bits(k->pub) > 256 ? "SHA384" : "SHA256";
		k->half = ((size_t)EVP_PKEY_get_bits(k->pub) + 7) / 8;
	} else if (k->ktype == CKK_RSA) {
		k->md = "SHA256";
	}
	if ((rc = mca_signer_create(&p11_ops, k, out, err)) != MCA_OK)
		return rc;
	/* The private key must sign for the public key we announce. */
	if ((rc = mca_signer_probe(*out, err)) != MCA_OK) {
		char token[sizeof(k->uri.token)];

		snprintf(token, sizeof(token), "%s", k->uri.token);
		mca_signer_free(*out); /* and k */
		*out = NULL;
		return mca_error_set(err, rc == MCA_ERR_CRYPTO ? MCA_ERR_CONFIG : rc,
		                     "pkcs11 token '%s': the private key does not sign for %s",
		                     token, cert_path != NULL ? cert_path : "its public key");
	}
	return MCA_OK;
fail:
	p11_free(k);
	return rc;
}

/* CKA_EC_PARAMS (the curve's OID) of a key type; NULL for RSA. */
static const unsigned char *
ec_params(enum mca_key_type t, size_t *len)
{

	switch (t) {
	case MCA_KEY_EC_P256:
		*len = sizeof(oid_p256);
		return oid_p256;
	case MCA_KEY_EC_P384:
		*len = sizeof(oid_p384);
		return oid_p384;
	case MCA_KEY_ED25519:
		*len = sizeof(oid_ed25519);
		return oid_ed25519;
	default:
		*len = 0;
		return NULL;
	}
}

mca_rc
mca_signer_pkcs11_generate(const struct mca_p11conf *c, const char *token, enum mca_key_type t,
                           const char *prefix, char **uri, struct mca_signer **out,
                           struct mca_error *err)
{
	struct p11key k; /* only to find the slot and log in */
	CK_FUNCTION_LIST_PTR f = NULL;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ULONG bits = 0;
	CK_BYTE exp[] = {0x01, 0x00, 0x01};
	CK_MECHANISM mech = {0, NULL, 0};
	CK_ATTRIBUTE pub[9], priv[11];
	CK_ULONG npub = 0, npriv = 0;
	CK_OBJECT_HANDLE hpub = CK_INVALID_HANDLE, hpriv = CK_INVALID_HANDLE;
	CK_SLOT_ID slot = 0;
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_MECHANISM_INFO mi;
	unsigned char id[8];
	char hex[2 * sizeof(id) + 1], label[MCA_P11URI_LABEL + 1];
	const unsigned char *params;
	size_t params_len = 0;
	CK_RV rv;
	mca_rc rc;

	*uri = NULL;
	*out = NULL;
	memset(&k, 0, sizeof(k));
	if (token == NULL || token[0] == '\0' || strlen(token) > 32)
		return mca_error_set(err, MCA_ERR_INVAL, "pkcs11 token label: 1 to 32 octets");
	snprintf(k.uri.token, sizeof(k.uri.token), "%s", token);
	switch (t) {
	case MCA_KEY_EC_P256:
	case MCA_KEY_EC_P384:
		mech.mechanism = CKM_EC_KEY_PAIR_GEN;
		break;
	case MCA_KEY_ED25519:
		mech.mechanism = CKM_EC_EDWARDS_KEY_PAIR_GEN;
		break;
	case MCA_KEY_RSA_2048:
	case MCA_KEY_RSA_3072:
	case MCA_KEY_RSA_4096:
		mech.mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
		bits = t == MCA_KEY_RSA_2048 ? 2048 : t == MCA_KEY_RSA_3072 ? 3072 : 4096;
		break;
	default:
		return mca_error_set(err, MCA_ERR_INVAL, "unknown key type");
	}
	if (RAND_bytes(id, sizeof(id)) != 1)
		return mca_error_ssl(err, MCA_ERR_CRYPTO, "random key id");
	mca_hex(id, sizeof(id), hex);
	snprintf(label, sizeof(label), "%.100s-%s", prefix, hex);
	if (c == NULL || c->pin_file == NULL)
		return mca_error_set(err, MCA_ERR_INVAL,
		                     "generating keys in a token needs its PIN file");
	if ((rc = mca_signer_private_file(c->pin_file, err)) != MCA_OK ||
	    (rc = mca_passphrase_read(c->pin_file, &k.pin, err)) != MCA_OK ||
	    (rc = module_get(c->module, &k.mod, err)) != MCA_OK)
		goto out;
	f = k.mod->f;
	if ((rc = find_slot(&k, &slot, err)) != MCA_OK) {
		rc = err != NULL ? (err->code = MCA_ERR_CONFIG) : MCA_ERR_CONFIG;
		goto out;
	}
	if (f->C_GetMechanismInfo(slot, mech.mechanism, &mi) != CKR_OK ||
	    !(mi.flags & CKF_GENERATE_KEY_PAIR)) {
		rc = mca_error_set(
		    err, MCA_ERR_CONFIG, "pkcs11 token '%s': cannot generate %s keys (no %s)",
		    token, mca_key_type_name(t),
		    mech.mechanism == CKM_EC_EDWARDS_KEY_PAIR_GEN ? "CKM_EC_EDWARDS_KEY_PAIR_GEN"
		    : bits                                        ? "CKM_RSA_PKCS_KEY_PAIR_GEN"
		                                                  : "CKM_EC_KEY_PAIR_GEN");
		goto out;
	}
	rv = f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s);
	if (rv != CKR_OK) {
		rc = mca_error_set(err, MCA_ERR_CONFIG, "pkcs11 token '%s': C_OpenSession: %s",
		                   token, CKR(rv));
		goto out;
	}
	rv = f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)k.pin, strlen(k.pin));
	if (rv == CKR_PIN_INCORRECT) {
		rc = mca_error_set(err, MCA_ERR_CONFIG,
		                   "pkcs11 token '%s': the PIN in %s is wrong (CKR_PIN_INCORRECT)",
		                   token, c->pin_file);
		goto out;
	}
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
		rc = mca_error_set(err, MCA_ERR_CONFIG, "pkcs11 token '%s': C_Login: %s", token,
		                   CKR(rv));
		goto out;
	}
	pub[npub++] = (CK_ATTRIBUTE){CKA_TOKEN, &yes, sizeof(yes)};
	pub[npub++] = (CK_ATTRIBUTE){CKA_VERIFY, &yes, sizeof(yes)};
	pub[npub++] = (CK_ATTRIBUTE){CKA_ENCRYPT, &no, sizeof(no)};
	pub[npub++] = (CK_ATTRIBUTE){CKA_WRAP, &no, sizeof(no)};
	pub[npub++] = (CK_ATTRIBUTE){CKA_LABEL, label, strlen(label)};
	pub[npub++] = (CK_ATTRIBUTE){CKA_ID, id, sizeof(id)};
	priv[npriv++] = (CK_ATTRIBUTE){CKA_TOKEN, &yes, sizeof(yes)};
	priv[npriv++] = (CK_ATTRIBUTE){CKA_PRIVATE, &yes, sizeof(yes)};
	priv[npriv++] = (CK_ATTRIBUTE){CKA_SENSITIVE, &yes, sizeof(yes)};
	priv[npriv++] = (CK_ATTRIBUTE){CKA_EXTRACTABLE, &no, sizeof(no)};
	priv[npriv++] = (CK_ATTRIBUTE){CKA_SIGN, &yes, sizeof(yes)};
	priv[npriv++] = (CK_ATTRIBUTE){CKA_DECRYPT, &no, sizeof(no)};
	priv[npriv++] = (CK_ATTRIBUTE){CKA_UNWRAP, &no, sizeof(no)};
	priv[npriv++] = (CK_ATTRIBUTE){CKA_DERIVE, &no, sizeof(no)};
	priv[npriv++] = (CK_ATTRIBUTE){CKA_LABEL, label, strlen(label)};
	priv[npriv++] = (CK_ATTRIBUTE){CKA_ID, id, sizeof(id)};
	if (bits) {
		pub[npub++] = (CK_ATTRIBUTE){CKA_MODULUS_BITS, &bits, sizeof(bits)};
		pub[npub++] = (CK_ATTRIBUTE){CKA_PUBLIC_EXPONENT, exp, sizeof(exp)};
	} else {
		params = ec_params(t, &params_len);
		pub[npub++] = (CK_ATTRIBUTE){CKA_EC_PARAMS, (void *)(uintptr_t)params, params_len};
	}
	rv = f->C_GenerateKeyPair(s, &mech, pub, npub, priv, npriv, &hpub, &hpriv);
	if (rv != CKR_OK) {
		rc = mca_error_set(err, MCA_ERR_CRYPTO,
		                   "pkcs11 token '%s': C_GenerateKeyPair (%s): %s", token,
		                   mca_key_type_name(t), CKR(rv));
		goto out;
	}
	if ((rc = mca_p11uri_format(token, label, id, sizeof(id), uri, err)) != MCA_OK)
		goto out;
	rc = mca_signer_pkcs11_new(*uri, c, NULL, NULL, out, err);
out:
	if (rc != MCA_OK && hpriv != CK_INVALID_HANDLE) {
		/* generated but unusable: leave nothing in the token */
		f->C_DestroyObject(s, hpriv);
		f->C_DestroyObject(s, hpub);
	}
	if (rc != MCA_OK) {
		free(*uri);
		*uri = NULL;
	}
	if (s != CK_INVALID_HANDLE)
		k.mod->f->C_CloseSession(s);
	module_put(k.mod);
	mca_free_secret(k.pin);
	return rc;
}

mca_rc
mca_signer_pkcs11_destroy(const char *uri, const struct mca_p11conf *c, struct mca_error *err)
{
	struct p11key k;
	CK_FUNCTION_LIST_PTR f;
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_OBJECT_HANDLE obj;
	CK_OBJECT_CLASS classes[] = {CKO_PRIVATE_KEY, CKO_PUBLIC_KEY};
	CK_SLOT_ID slot = 0;
	CK_RV rv;
	size_t i;
	mca_rc rc;

	memset(&k, 0, sizeof(k));
	if ((rc = mca_p11uri_parse(uri, &k.uri, err)) != MCA_OK)
		return rc;
	if (k.uri.object[0] == '\0' || !k.uri.has_id)
		return mca_error_set(err, MCA_ERR_INVAL,
		                     "pkcs11 URI: destroying needs both object= and id=");
	if ((c != NULL && c->pin_file != NULL &&
	     (rc = mca_passphrase_read(c->pin_file, &k.pin, err)) != MCA_OK) ||
	    (rc = module_get(c != NULL ? c->module : NULL, &k.mod, err)) != MCA_OK ||
	    (rc = find_slot(&k, &slot, err)) != MCA_OK)
		goto out;
	f = k.mod->f;
	rv = f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s);
	if (rv == CKR_OK && k.pin != NULL) {
		rv = f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)k.pin, strlen(k.pin));
		if (rv == CKR_USER_ALREADY_LOGGED_IN)
			rv = CKR_OK;
	}
	if (rv != CKR_OK) {
		rc = mca_error_set(err, MCA_ERR_SIGNER, "pkcs11 token '%s': %s", k.uri.token,
		                   CKR(rv));
		goto out;
	}
	for (i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
		if ((rc = find_object(&k, s, classes[i], &obj, err)) != MCA_OK)
			goto out;
		if (obj != CK_INVALID_HANDLE && (rv = f->C_DestroyObject(s, obj)) != CKR_OK) {
			rc = mca_error_set(err, MCA_ERR_SIGNER,
			                   "pkcs11 token '%s': C_DestroyObject: %s", k.uri.token,
			                   CKR(rv));
			goto out;
		}
	}
	rc = MCA_OK;
out:
	if (s != CK_INVALID_HANDLE)
		k.mod->f->C_CloseSession(s);
	module_put(k.mod);
	mca_free_secret(k.pin);
	return rc;
}

mca_rc
mca_signer_open(const char *key, const char *passphrase_file, const struct mca_p11conf *p11,
                X509 *cert, const char *cert_path, struct mca_signer **out, struct mca_error *err)
{
	if (mca_p11uri_is(key))
		return mca_signer_pkcs11_new(key, p11, cert, cert_path, out, err);
	return mca_signer_load(key, passphrase_file, cert, cert_path, out, err);
}
