/*
 * p11shim.c - a PKCS#11 module for tests/integration/pkcs11.sh that passes
 * every call to a real module (P11SHIM_MODULE, default SoftHSM 2) and
 * misbehaves on demand, so that the signer's handling of what real tokens
 * do can be tested deterministically.  Each fault is on while its file
 * exists in P11SHIM_DIR (looked at on every call, so a running signer
 * process sees it come and go; stat is within its seccomp filter):
 *   fail-sign     C_Sign answers CKR_DEVICE_ERROR (a token that fails)
 *   no-rsa-pkcs   no CKM_RSA_PKCS (C_GetMechanismInfo, C_SignInit): only
 *                 CKM_SHA256_RSA_PKCS, as some HSMs configure RSA keys
 *   raw-ec-point  CKA_EC_POINT is the bare point, not the DER OCTET STRING
 *                 around it (as some tokens answer)
 */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <p11-kit/pkcs11.h>

static CK_FUNCTION_LIST shim;
static CK_FUNCTION_LIST_PTR real;

static int
fault(const char *name)
{
	const char *dir = getenv("P11SHIM_DIR");
	char path[PATH_MAX];
	struct stat st;

	if (dir == NULL)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0;
}

static CK_RV
shim_GetMechanismInfo(CK_SLOT_ID slot, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR info)
{
	if (type == CKM_RSA_PKCS && fault("no-rsa-pkcs"))
		return CKR_MECHANISM_INVALID;
	return real->C_GetMechanismInfo(slot, type, info);
}

static CK_RV
shim_SignInit(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE key)
{
	if (m != NULL && m->mechanism == CKM_RSA_PKCS && fault("no-rsa-pkcs"))
		return CKR_MECHANISM_INVALID;
	return real->C_SignInit(s, m, key);
}

static CK_RV
shim_Sign(CK_SESSION_HANDLE s, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig,
          CK_ULONG_PTR sig_len)
{
	if (fault("fail-sign"))
		return CKR_DEVICE_ERROR;
	return real->C_Sign(s, data, len, sig, sig_len);
}

/* With raw-ec-point, a lone CKA_EC_POINT request gets the bare point. */
static CK_RV
shim_GetAttributeValue(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_PTR t, CK_ULONG n)
{
	unsigned char buf[1024];
	CK_ATTRIBUTE a = {CKA_EC_POINT, buf, sizeof(buf)};
	CK_ULONG len;
	CK_RV rv;

	if (n != 1 || t[0].type != CKA_EC_POINT || !fault("raw-ec-point"))
		return real->C_GetAttributeValue(s, obj, t, n);
	rv = real->C_GetAttributeValue(s, obj, &a, 1);
	/* 04 LEN (short form: every point of P-256/P-384 fits) then the point */
	if (rv != CKR_OK || a.ulValueLen < 2 || buf[0] != 0x04 || buf[1] >= 0x80)
		return real->C_GetAttributeValue(s, obj, t, n);
	len = a.ulValueLen - 2;
	if (t[0].pValue != NULL) {
		if (t[0].ulValueLen < len)
			return CKR_BUFFER_TOO_SMALL;
		memcpy(t[0].pValue, buf + 2, len);
	}
	t[0].ulValueLen = len;
	return CKR_OK;
}

CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list);

CK_RV
C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list)
{
	const char *path = getenv("P11SHIM_MODULE");
	CK_C_GetFunctionList get;
	void *dl;

	if (real == NULL) {
		dl = dlopen(path ? path : "/usr/lib/softhsm/libsofthsm2.so", RTLD_NOW | RTLD_LOCAL);
		if (dl == NULL)
			return CKR_GENERAL_ERROR;
		*(void **)&get = dlsym(dl, "C_GetFunctionList");
		if (get == NULL || get(&real) != CKR_OK)
			return CKR_GENERAL_ERROR;
		shim = *real;
		shim.C_GetMechanismInfo = shim_GetMechanismInfo;
		shim.C_SignInit = shim_SignInit;
		shim.C_Sign = shim_Sign;
		shim.C_GetAttributeValue = shim_GetAttributeValue;
	}
	*list = &shim;
	return CKR_OK;
}
