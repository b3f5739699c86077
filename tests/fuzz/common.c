/* common.c - fixtures shared by the fuzz targets (fuzz.h). */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/x509v3.h>

#include "common/embedded.h"
#include "common/util.h"
#include "fuzz.h"
#include "pki/certgen.h"

void
fz_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("fuzz: broken invariant: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

char *
fz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		fz_fail("out of memory");
	if (size > 0)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

const struct fz_ca *
fz_ca(void)
{
	static struct fz_ca ca;
	static const unsigned char serial[] = {0x42, 0x01, 0x02, 0x03};
	struct mca_certgen g;
	struct mca_error err = {0};
	X509_NAME *n;
	int64_t now;

	if (ca.cert != NULL)
		return &ca;
	now = (int64_t)mca_now();
	n = X509_NAME_new();
	ca.key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (n == NULL || ca.key == NULL ||
	    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	                               (const unsigned char *)"mtlsca fuzz CA", -1, -1, 0) != 1)
		fz_fail("CA key or name");
	memset(&g, 0, sizeof(g));
	g.serial = serial;
	g.serial_len = sizeof(serial);
	g.subject = n;
	g.pubkey = ca.key;
	g.not_before = now - 86400;
	g.not_after = now + (int64_t)10 * 365 * 86400;
	g.ca = 1;
	g.pathlen = 0;
	g.key_usage = MCA_KU_KEY_CERT_SIGN | MCA_KU_CRL_SIGN;
	g.ski = 1;
	if (mca_certgen_build(&g, &ca.cert, &err) != MCA_OK ||
	    mca_signer_local_new(ca.key, &ca.signer, &err) != MCA_OK ||
	    mca_signer_sign_cert(ca.signer, &ca.cert, &err) != MCA_OK)
		fz_fail("CA: %s", err.msg);
	ca.not_after = g.not_after;
	X509_NAME_free(n);
	return &ca;
}

const struct mca_profiles *
fz_profiles(void)
{
	static struct mca_profiles set;
	static struct mca_profile *v[16];
	struct mca_error err = {0};
	const struct mca_embedded *t;

	if (set.v != NULL)
		return &set;
	for (t = mca_embedded_templates; t->name != NULL; t++) {
		if (set.n == sizeof(v) / sizeof(v[0]))
			fz_fail("too many templates");
		if (mca_profile_parse(t->name, t->text, strlen(t->text), &v[set.n], &err) != MCA_OK)
			fz_fail("template %s: %s", t->name, err.msg);
		set.n++;
	}
	set.v = v;
	return &set;
}

static char store_dir[64];

static void
store_cleanup(void)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/fuzz.db", store_dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/fuzz.db-wal", store_dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/fuzz.db-shm", store_dir);
	unlink(path);
	rmdir(store_dir);
}

struct mca_store *
fz_store(void)
{
	static struct mca_store *st;
	struct mca_error err = {0};
	const char *tmp = getenv("TMPDIR");
	char path[128];

	if (st != NULL)
		return st;
	snprintf(store_dir, sizeof(store_dir), "%s/mca-fuzz-XXXXXX",
	         tmp != NULL && strlen(tmp) < 40 ? tmp : "/tmp");
	if (mkdtemp(store_dir) == NULL)
		fz_fail("mkdtemp %s", store_dir);
	atexit(store_cleanup);
	snprintf(path, sizeof(path), "%s/fuzz.db", store_dir);
	if (mca_store_open(path, 1, &st, &err) != MCA_OK)
		fz_fail("store: %s", err.msg);
	return st;
}
