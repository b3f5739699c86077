/*
 * fuzz_profile.c - the profile template loader (policy/profile.c,
 * mca_profile_parse: the from-bytes entry point mca_profiles_load uses for
 * each file), then the policy (policy/policy.c) under each template that
 * loads, over a few fixed CSRs made at start (DNS, wildcard, IP, URI,
 * email names; P-256, RSA and Ed25519 keys).
 *
 * Invariants (fz_fail): a loaded profile is consistent (a name, default
 * validity in 1..max, at least one key type, IP networks with prefixes
 * that fit, at most MCA_PROFILE_MAX_POLICIES policies); an approved CSR
 * has 1..MCA_POLICY_MAX_NAMES names, a window inside the profile's
 * maximum and the CA's life; a refusal has a rule id and a message.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "common/util.h"
#include "fuzz.h"
#include "pki/csr.h"
#include "policy/policy.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
	const char *alg, *curve, *cn, *san;
} csr_specs[] = {
    {"EC", "P-256", "a.example.com",
     "DNS:a.example.com,DNS:*.b.example.com,IP:10.0.0.5,URI:spiffe://example.org/ns/a"},
    {"RSA", NULL, "db.internal", NULL},
    {"ED25519", NULL, NULL, "email:ops@example.com,IP:fd00::1,DNS:x.y.z.example.org"},
    {"EC", "P-384", "203.0.113.7", "IP:203.0.113.7,URI:https://example.com/a"},
};

static struct mca_csr *csrs[NELEM(csr_specs)];

static struct mca_csr *
make_csr(size_t i)
{
	struct mca_error err = {0};
	STACK_OF(X509_EXTENSION) *exts = NULL;
	X509_EXTENSION *ext;
	X509_REQ *req = X509_REQ_new();
	EVP_PKEY *key;
	X509_NAME *name;
	struct mca_csr *csr = NULL;
	unsigned char *der = NULL;
	int n;

	key = csr_specs[i].curve != NULL ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", csr_specs[i].curve)
	      : strcmp(csr_specs[i].alg, "RSA") == 0
	          ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)
	          : EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (req == NULL || key == NULL || X509_REQ_set_pubkey(req, key) != 1)
		fz_fail("csr %zu: key", i);
	name = X509_REQ_get_subject_name(req);
	if (csr_specs[i].cn != NULL &&
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	                               (const unsigned char *)csr_specs[i].cn, -1, -1, 0) != 1)
		fz_fail("csr %zu: CN", i);
	if (csr_specs[i].san != NULL) {
		exts = sk_X509_EXTENSION_new_null();
		ext = X509V3_EXT_nconf_nid(NULL, NULL, NID_subject_alt_name, csr_specs[i].san);
		if (exts == NULL || ext == NULL || !sk_X509_EXTENSION_push(exts, ext) ||
		    X509_REQ_add_extensions(req, exts) != 1)
			fz_fail("csr %zu: SAN", i);
		sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	}
	if (X509_REQ_sign(req, key,
	                  strcmp(csr_specs[i].alg, "ED25519") == 0 ? NULL : EVP_sha256()) <= 0 ||
	    (n = i2d_X509_REQ(req, &der)) <= 0)
		fz_fail("csr %zu: sign", i);
	if (mca_csr_parse(der, (size_t)n, &csr, &err) != MCA_OK)
		fz_fail("csr %zu: %s", i, err.msg);
	OPENSSL_free(der);
	X509_REQ_free(req);
	EVP_PKEY_free(key);
	return csr;
}

static void
setup(void)
{
	if (csrs[0] != NULL)
		return;
	for (size_t i = 0; i < NELEM(csrs); i++)
		csrs[i] = make_csr(i);
}

static void
check_profile(const struct mca_profile *p)
{
	size_t i;

	if (p->name == NULL || p->name[0] == '\0')
		fz_fail("profile without a name");
	if (p->validity_default <= 0 || p->validity_default > p->validity_max)
		fz_fail("profile %s: validity %lld of at most %lld", p->name,
		        (long long)p->validity_default, (long long)p->validity_max);
	if (p->key_types == 0)
		fz_fail("profile %s: no key type", p->name);
	for (i = 0; i < p->ip.n_allow; i++)
		if ((p->ip.allow[i].len != 4 && p->ip.allow[i].len != 16) ||
		    p->ip.allow[i].prefix > p->ip.allow[i].len * 8)
			fz_fail("profile %s: network %zu", p->name, i);
	for (i = 0; p->policies[i] != NULL; i++)
		if (i >= MCA_PROFILE_MAX_POLICIES)
			fz_fail("profile %s: %zu policies", p->name, i);
}

static void
check_policy(const struct mca_profile *p, const struct mca_csr *csr, int64_t validity)
{
	struct mca_policy_ctx ctx;
	struct mca_policy_result res;
	struct mca_error err = {0};
	mca_rc rc;

	memset(&res, 0, sizeof(res));
	ctx.profile = p;
	ctx.now = (int64_t)mca_now();
	ctx.ca_not_after = fz_ca()->not_after;
	rc = mca_policy_check(&ctx, csr, validity, &res, &err);
	if (rc != MCA_OK) {
		if (err.msg[0] == '\0' || (rc == MCA_ERR_POLICY && err.rule[0] == '\0'))
			fz_fail("profile %s: refusal %d without a rule or message", p->name,
			        (int)rc);
		return;
	}
	if (res.n_names == 0 || res.n_names > MCA_POLICY_MAX_NAMES)
		fz_fail("profile %s: %zu names approved", p->name, res.n_names);
	if (res.not_after <= res.not_before || res.not_after > ctx.ca_not_after ||
	    res.not_after - ctx.now > p->validity_max + 3600)
		fz_fail("profile %s: window %lld..%lld", p->name, (long long)res.not_before,
		        (long long)res.not_after);
	mca_policy_result_clear(&res);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mca_error err = {0};
	struct mca_profile *p = NULL;
	mca_rc rc;
	size_t i, j;

	setup();
	rc = mca_profile_parse("fuzz-template", (const char *)data, size, &p, &err);
	if (rc != MCA_OK) {
		if (p != NULL)
			fz_fail("refused but returned");
		if (err.msg[0] == '\0')
			fz_fail("refusal %d without a message", (int)rc);
		goto out;
	}
	check_profile(p);
	for (i = 0; i < NELEM(csrs); i++) {
		check_policy(p, csrs[i], 0);
		check_policy(p, csrs[i], 86400);
	}
	for (i = 0; p->dns.allow != NULL && p->dns.allow[i] != NULL; i++)
		for (j = 0; j < csrs[0]->n_names; j++)
			(void)mca_dns_pattern_match(p->dns.allow[i], csrs[0]->names[j].value);
	mca_profile_free(p);
out:
	ERR_clear_error();
	return 0;
}
