/* policy.c - the profile rules of doc/profiles.md, checked before signing. */
#include "config.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libpsl.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include "common/duration.h"
#include "common/util.h"
#include "pki/certgen.h"
#include "policy/names.h"
#include "policy/policy.h"

/* ---- Public Suffix List ------------------------------------------------- */

static const psl_ctx_t *psl;
static pthread_once_t psl_once = PTHREAD_ONCE_INIT;

/* The system's list (Debian "publicsuffix"), else the one built into libpsl. */
static void
psl_load(void)
{
	psl = psl_latest(NULL);
	if (psl == NULL)
		psl = psl_builtin();
}

static const psl_ctx_t *
psl_get(void)
{
	pthread_once(&psl_once, psl_load);
	return psl;
}

/* Special-use and commonly internal suffixes (RFC 6761, 6762, 8375, 9476; de facto). */
static const char *const internal_suffixes[] = {
    "localhost", "local", "test", "invalid", "example",     "internal", "lan",     "home.arpa",
    "onion",     "alt",   "corp", "home",    "localdomain", "intranet", "private", NULL,
};

static int
has_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), s = strlen(suffix);

	if (n == s)
		return strcmp(name, suffix) == 0;
	return n > s && name[n - s - 1] == '.' && strcmp(name + n - s, suffix) == 0;
}

int
mca_dns_is_internal(const char *name)
{
	const char *tld = strrchr(name, '.');
	const psl_ctx_t *ctx = psl_get();
	size_t i;

	if (tld == NULL)
		return 1; /* single label */
	for (i = 0; internal_suffixes[i] != NULL; i++)
		if (has_suffix(name, internal_suffixes[i]))
			return 1;
	/* A TLD the list does not know is not on the public internet. */
	return ctx == NULL ||
	       !psl_is_public_suffix2(ctx, tld + 1, PSL_TYPE_ANY | PSL_TYPE_NO_STAR_RULE);
}

/* ---- IP addresses ------------------------------------------------------- */

/* IANA IPv4 and IPv6 Special-Purpose Address Registries, plus multicast. */
static const char *const reserved_nets[] = {
    "0.0.0.0/8",       "10.0.0.0/8",
    "100.64.0.0/10",   "127.0.0.0/8",
    "169.254.0.0/16",  "172.16.0.0/12",
    "192.0.0.0/24",    "192.0.2.0/24",
    "192.31.196.0/24", "192.52.193.0/24",
    "192.88.99.0/24",  "192.168.0.0/16",
    "192.175.48.0/24", "198.18.0.0/15",
    "198.51.100.0/24", "203.0.113.0/24",
    "224.0.0.0/4",     "240.0.0.0/4",
    "::/128",          "::1/128",
    "::ffff:0:0/96",   "64:ff9b::/96",
    "64:ff9b:1::/48",  "100::/64",
    "2001::/23",       "2001:db8::/32",
    "2002::/16",       "2620:4f:8000::/48",
    "3fff::/20",       "5f00::/16",
    "fc00::/7",        "fe80::/10",
    "ff00::/8",        NULL,
};

int
mca_ip_is_reserved(const unsigned char *addr, size_t len)
{
	struct mca_cidr c;
	size_t i;

	for (i = 0; reserved_nets[i] != NULL; i++)
		if (mca_cidr_parse(reserved_nets[i], &c) && mca_cidr_contains(&c, addr, len))
			return 1;
	return 0;
}

/* ---- SPIFFE IDs --------------------------------------------------------- */

mca_rc
mca_spiffe_check(const char *uri, struct mca_error *err)
{
	const char *td, *path, *p, *seg;
	size_t seglen;

	if (strncmp(uri, "spiffe://", 9) != 0)
		return mca_error_rule(err, MCA_ERR_POLICY, "name.spiffe",
		                      "'%.200s': a SPIFFE ID starts with lower-case 'spiffe://'",
		                      uri);
	if (strlen(uri) > 2048)
		return mca_error_rule(err, MCA_ERR_POLICY, "name.spiffe",
		                      "'%.64s...': SPIFFE ID longer than 2048 characters", uri);
	td = uri + 9;
	path = strchr(td, '/');
	if (path == NULL || path == td)
		return mca_error_rule(err, MCA_ERR_POLICY, "name.spiffe",
		                      path == td ? "'%.200s': empty trust domain"
		                                 : "'%.200s': the SPIFFE ID has no path",
		                      uri);
	for (p = td; p < path; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' ||
		      *p == '-' || *p == '_'))
			return mca_error_rule(
			    err, MCA_ERR_POLICY, "name.spiffe",
			    "'%.200s': trust domain may hold only lower-case "
			    "letters, digits, '.', '-', '_' (no port, no userinfo)",
			    uri);
	if ((size_t)(path - td) > 255)
		return mca_error_rule(err, MCA_ERR_POLICY, "name.spiffe",
		                      "'%.200s': trust domain longer than 255", uri);
	seg = path + 1;
	for (;;) {
		seglen = strcspn(seg, "/");
		if (seglen == 0)
			return mca_error_rule(err, MCA_ERR_POLICY, "name.spiffe",
			                      "'%.200s': empty path segment or trailing '/'", uri);
		if ((seglen == 1 && seg[0] == '.') ||
		    (seglen == 2 && seg[0] == '.' && seg[1] == '.'))
			return mca_error_rule(
			    err, MCA_ERR_POLICY, "name.spiffe",
			    "'%.200s': '.' and '..' path segments are not allowed", uri);
		for (p = seg; p < seg + seglen; p++)
			if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-' && *p != '_')
				return mca_error_rule(
				    err, MCA_ERR_POLICY, "name.spiffe",
				    "'%.200s': path may hold only letters, digits, "
				    "'.', '-', '_' (no query, fragment or escapes)",
				    uri);
		if (seg[seglen] == '\0')
			break;
		seg += seglen + 1;
	}
	return MCA_OK;
}

/* ---- keys --------------------------------------------------------------- */

static mca_rc
check_key(const struct mca_profile *p, EVP_PKEY *key, int *rsa, struct mca_error *err)
{
	char group[64] = "", enc[32] = "";
	size_t glen = 0;
	BIGNUM *e = NULL, *f4;
	int bits, ok;

	*rsa = 0;
	if (EVP_PKEY_is_a(key, "RSA")) {
		*rsa = 1;
		bits = EVP_PKEY_get_bits(key);
		if (!(p->key_types & MCA_PK_RSA))
			return mca_error_rule(err, MCA_ERR_POLICY, "key.type",
			                      "RSA keys are not allowed by profile '%s'", p->name);
		if (bits < p->rsa_min_bits)
			return mca_error_rule(
			    err, MCA_ERR_POLICY, "key.too_small",
			    "RSA-%d is smaller than the %d bits profile '%s' requires", bits,
			    p->rsa_min_bits, p->name);
		if (bits % 8 != 0)
			return mca_error_rule(err, MCA_ERR_POLICY, "key.rsa_modulus",
			                      "RSA modulus of %d bits is not a multiple of 8",
			                      bits);
		if (!EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e))
			return mca_error_ssl(err, MCA_ERR_BADCSR, "RSA exponent unreadable");
		f4 = BN_new();
		ok = f4 != NULL && BN_set_word(f4, RSA_F4) && BN_is_odd(e) && BN_cmp(e, f4) >= 0;
		BN_free(f4);
		BN_free(e);
		if (!ok)
			return mca_error_rule(err, MCA_ERR_POLICY, "key.rsa_exponent",
			                      "RSA public exponent must be odd and at least 65537");
		return MCA_OK;
	}
	if (EVP_PKEY_is_a(key, "EC")) {
		if (!EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group,
		                                    sizeof(group), &glen)) {
			ERR_clear_error();
			return mca_error_rule(err, MCA_ERR_POLICY, "key.curve",
			                      "EC key without a named curve");
		}
		/* Named curves only (RFC 5480): explicit parameters are refused. */
		if (!EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_EC_ENCODING, enc,
		                                    sizeof(enc), &glen) ||
		    strcmp(enc, OSSL_PKEY_EC_ENCODING_GROUP) != 0) {
			ERR_clear_error();
			return mca_error_rule(err, MCA_ERR_POLICY, "key.curve",
			                      "EC key with explicit curve parameters (%s); only "
			                      "named curves are allowed",
			                      group);
		}
		if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0) {
			if (p->key_types & MCA_PK_P256)
				return MCA_OK;
		} else if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0) {
			if (p->key_types & MCA_PK_P384)
				return MCA_OK;
		} else {
			return mca_error_rule(err, MCA_ERR_POLICY, "key.curve",
			                      "EC curve %s is not allowed (P-256 or P-384 only)",
			                      group);
		}
		return mca_error_rule(err, MCA_ERR_POLICY, "key.type",
		                      "EC curve %s is not allowed by profile '%s'", group, p->name);
	}
	if (EVP_PKEY_is_a(key, "ED25519")) {
		if (p->key_types & MCA_PK_ED25519)
			return MCA_OK;
		return mca_error_rule(err, MCA_ERR_POLICY, "key.type",
		                      "Ed25519 keys are not allowed by profile '%s'", p->name);
	}
	return mca_error_rule(err, MCA_ERR_POLICY, "key.type", "%s keys are not allowed",
	                      EVP_PKEY_get0_type_name(key) ? EVP_PKEY_get0_type_name(key)
	                                                   : "unknown");
}

/* ---- names -------------------------------------------------------------- */

static int
printable_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

static mca_rc
check_dns(const struct mca_profile *p, const char *name, struct mca_error *err)
{
	const psl_ctx_t *ctx = psl_get();
	const char *base = name;
	size_t i;
	mca_rc rc;

	if (!p->dns.allowed)
		return mca_error_rule(err, MCA_ERR_POLICY, "name.type",
		                      "DNS name '%.253s': profile '%s' takes no DNS names", name,
		                      p->name);
	if ((rc = mca_dns_check(name, p->dns.wildcards, 0, err)) != MCA_OK)
		return rc;
	if (strncmp(name, "*.", 2) == 0)
		base = name + 2;
	/* "*.com", "co.uk": a known public suffix is that, not an internal name. */
	if (p->dns.public_suffix_required && ctx != NULL &&
	    psl_is_public_suffix2(ctx, base, PSL_TYPE_ANY | PSL_TYPE_NO_STAR_RULE) &&
	    !has_suffix(base, "in-addr.arpa") && !has_suffix(base, "ip6.arpa"))
		return mca_error_rule(err, MCA_ERR_POLICY, "name.public_suffix",
		                      base == name
		                          ? "'%.253s' is a public suffix, not a registrable "
		                            "domain"
		                          : "wildcard '%.253s' is directly over a public suffix",
		                      name);
	if (!p->dns.internal) {
		if (has_suffix(base, "in-addr.arpa") || has_suffix(base, "ip6.arpa"))
			return mca_error_rule(err, MCA_ERR_POLICY, "name.arpa",
			                      "'%.253s' is a reverse-DNS name", name);
		if (mca_dns_is_internal(base))
			return mca_error_rule(
			    err, MCA_ERR_POLICY, "name.internal",
			    "'%.253s' is an internal name; profile '%s' allows only "
			    "names under a public suffix",
			    name, p->name);
	}
	if (p->dns.public_suffix_required && ctx != NULL &&
	    (psl_is_public_suffix(ctx, base) || psl_registrable_domain(ctx, base) == NULL))
		return mca_error_rule(err, MCA_ERR_POLICY, "name.public_suffix",
		                      base == name
		                          ? "'%.253s' is a public suffix, not a registrable "
		                            "domain"
		                          : "wildcard '%.253s' is directly over a public suffix",
		                      name);
	for (i = 0; p->dns.deny[i] != NULL; i++)
		if (mca_dns_pattern_match(p->dns.deny[i], name))
			return mca_error_rule(err, MCA_ERR_POLICY, "name.denied",
			                      "'%.253s' matches the deny list entry '%s'", name,
			                      p->dns.deny[i]);
	if (p->dns.allow[0] == NULL)
		return MCA_OK;
	for (i = 0; p->dns.allow[i] != NULL; i++)
		if (mca_dns_pattern_match(p->dns.allow[i], name))
			return MCA_OK;
	return mca_error_rule(err, MCA_ERR_POLICY, "name.not_allowed",
	                      "'%.253s' is outside the names profile '%s' allows", name, p->name);
}

static mca_rc
check_ip(const struct mca_profile *p, const struct mca_name *n, struct mca_error *err)
{
	size_t i;

	if (!p->ip.allowed)
		return mca_error_rule(err, MCA_ERR_POLICY, "name.type",
		                      "IP address %s: profile '%s' takes no IP addresses", n->value,
		                      p->name);
	if (!p->ip.reserved && mca_ip_is_reserved(n->ip, n->ip_len))
		return mca_error_rule(err, MCA_ERR_POLICY, "name.reserved_ip",
		                      "IP address %s is in a reserved (special-purpose) range",
		                      n->value);
	if (p->ip.n_allow == 0)
		return MCA_OK;
	for (i = 0; i < p->ip.n_allow; i++)
		if (mca_cidr_contains(&p->ip.allow[i], n->ip, n->ip_len))
			return MCA_OK;
	return mca_error_rule(err, MCA_ERR_POLICY, "name.not_allowed",
	                      "IP address %s is outside the networks profile '%s' allows", n->value,
	                      p->name);
}

/* An RFC 3986 scheme ("ALPHA *( ALPHA / DIGIT / + - . )") followed by ':' and more. */
static int
has_scheme(const char *uri)
{
	const char *c = uri;

	if (!isalpha((unsigned char)*c))
		return 0;
	while (isalnum((unsigned char)*c) || *c == '+' || *c == '-' || *c == '.')
		c++;
	return *c == ':' && c[1] != '\0';
}

static mca_rc
check_uri(const struct mca_profile *p, const char *uri, int *spiffe, struct mca_error *err)
{
	size_t i;
	mca_rc rc;

	if (!p->uri.allowed)
		return mca_error_rule(err, MCA_ERR_POLICY, "name.type",
		                      "URI '%.200s': profile '%s' takes no URIs", uri, p->name);
	if (!printable_ascii(uri) || !has_scheme(uri))
		return mca_error_rule(err, MCA_ERR_POLICY, "name.syntax",
		                      "URI '%.200s' is not a printable ASCII URI with a scheme",
		                      uri);
	if (strncasecmp(uri, "spiffe:", 7) == 0) {
		if (!p->uri.spiffe)
			return mca_error_rule(
			    err, MCA_ERR_POLICY, "name.spiffe",
			    "SPIFFE ID '%.200s': profile '%s' takes no SPIFFE IDs", uri, p->name);
		if ((rc = mca_spiffe_check(uri, err)) != MCA_OK)
			return rc;
		if (++*spiffe > 1)
			return mca_error_rule(
			    err, MCA_ERR_POLICY, "name.spiffe",
			    "'%.200s': an X.509-SVID carries exactly one SPIFFE ID", uri);
	}
	if (p->uri.allow[0] == NULL)
		return MCA_OK;
	for (i = 0; p->uri.allow[i] != NULL; i++)
		if (strncmp(uri, p->uri.allow[i], strlen(p->uri.allow[i])) == 0)
			return MCA_OK;
	return mca_error_rule(err, MCA_ERR_POLICY, "name.not_allowed",
	                      "URI '%.200s' is outside the prefixes profile '%s' allows", uri,
	                      p->name);
}

/* Add a normalised copy of `n` to res unless already there. */
static mca_rc
add_approved(struct mca_policy_result *res, const struct mca_name *n, const char *value,
             struct mca_error *err)
{
	size_t i;
	struct mca_name *a;

	for (i = 0; i < res->n_names; i++)
		if (res->names[i].type == n->type && strcmp(res->names[i].value, value) == 0)
			return MCA_OK;
	if (res->n_names >= MCA_POLICY_MAX_NAMES)
		return mca_error_rule(err, MCA_ERR_POLICY, "name.too_many",
		                      "more than %d names requested", MCA_POLICY_MAX_NAMES);
	a = &res->names[res->n_names];
	*a = *n;
	a->value = strdup(value);
	if (a->value == NULL)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	res->n_names++;
	return MCA_OK;
}

static char *
lower_dup(const char *s)
{
	char *d = strdup(s), *p;

	for (p = d; p != NULL && *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}

/* The CSR's names, or its CN when the profile allows that and there are none. */
static mca_rc
check_names(const struct mca_profile *p, const struct mca_csr *csr, struct mca_policy_result *res,
            struct mca_error *err)
{
	struct mca_name cn_name;
	const struct mca_name *names = csr->names;
	size_t n = csr->n_names, i;
	char *value = NULL;
	int spiffe = 0;
	mca_rc rc = MCA_OK;

	if (csr->san_unsupported)
		return mca_error_rule(
		    err, MCA_ERR_POLICY, "name.type",
		    "the CSR requests a kind of subjectAltName the CA never issues");
	memset(&cn_name, 0, sizeof(cn_name));
	if (n == 0 && p->cn_as_san && csr->cn != NULL) {
		cn_name.value = csr->cn;
		if (mca_ip_parse(csr->cn, cn_name.ip, &cn_name.ip_len))
			cn_name.type = MCA_NAME_IP;
		else
			cn_name.type = MCA_NAME_DNS;
		names = &cn_name;
		n = 1;
	}
	if (n == 0)
		return mca_error_rule(err, MCA_ERR_POLICY, "name.none",
		                      "the CSR requests no names (subjectAltName)");
	for (i = 0; i < n && rc == MCA_OK; i++) {
		switch (names[i].type) {
		case MCA_NAME_DNS:
			value = lower_dup(names[i].value);
			if (value == NULL)
				return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
			rc = check_dns(p, value, err);
			break;
		case MCA_NAME_IP:
			rc = check_ip(p, &names[i], err);
			break;
		case MCA_NAME_URI:
			rc = check_uri(p, names[i].value, &spiffe, err);
			break;
		case MCA_NAME_EMAIL:
			if (!p->email)
				rc = mca_error_rule(err, MCA_ERR_POLICY, "name.type",
				                    "email '%.200s': profile '%s' takes no email "
				                    "addresses",
				                    names[i].value, p->name);
			else if (!printable_ascii(names[i].value) ||
			         strchr(names[i].value, '@') == NULL)
				rc = mca_error_rule(err, MCA_ERR_POLICY, "name.syntax",
				                    "'%.200s' is not an email address",
				                    names[i].value);
			break;
		}
		if (rc == MCA_OK)
			rc = add_approved(res, &names[i], value ? value : names[i].value, err);
		free(value);
		value = NULL;
	}
	return rc;
}

/* The CN, if the CSR has one, must be one of the approved names. */
static mca_rc
check_cn(const struct mca_csr *csr, const struct mca_policy_result *res, struct mca_error *err)
{
	size_t i;

	if (csr->cn == NULL)
		return MCA_OK;
	for (i = 0; i < res->n_names; i++)
		if (strcasecmp(res->names[i].value, csr->cn) == 0)
			return MCA_OK;
	return mca_error_rule(err, MCA_ERR_POLICY, "name.cn_not_in_san",
	                      "the CSR's common name '%.200s' is not among its subjectAltNames",
	                      csr->cn);
}

/* CN of the certificate: the first DNS name, else the first IP (RFC 5280 ub 64). */
static mca_rc
choose_cn(const struct mca_profile *p, struct mca_policy_result *res, struct mca_error *err)
{
	size_t i;
	int pass;

	if (p->cn == MCA_CN_NONE)
		return MCA_OK;
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < res->n_names; i++) {
			if (res->names[i].type != (pass == 0 ? MCA_NAME_DNS : MCA_NAME_IP) ||
			    strlen(res->names[i].value) > 64)
				continue;
			res->cn = strdup(res->names[i].value);
			return res->cn ? MCA_OK
			               : mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		}
	return MCA_OK;
}

mca_rc
mca_policy_check(const struct mca_policy_ctx *ctx, const struct mca_csr *csr, int64_t validity,
                 struct mca_policy_result *res, struct mca_error *err)
{
	const struct mca_profile *p = ctx->profile;
	char want[32], max[32];
	mca_rc rc;

	memset(res, 0, sizeof(*res));
	if ((rc = check_key(p, csr->pubkey, &res->rsa, err)) != MCA_OK ||
	    (rc = check_names(p, csr, res, err)) != MCA_OK ||
	    (rc = check_cn(csr, res, err)) != MCA_OK)
		goto fail;
	if (validity == 0)
		validity = p->validity_default;
	if (validity < 0 || validity > p->validity_max) {
		mca_duration_format(validity, want, sizeof(want));
		mca_duration_format(p->validity_max, max, sizeof(max));
		rc = mca_error_rule(err, MCA_ERR_POLICY, "validity.too_long",
		                    "validity %s is longer than the %s profile '%s' allows", want,
		                    max, p->name);
		goto fail;
	}
	res->not_before = ctx->now - 60;
	res->not_after = ctx->now + validity;
	if (res->not_after > ctx->ca_not_after) {
		mca_time_rfc3339((time_t)res->not_after, want, sizeof(want));
		mca_time_rfc3339((time_t)ctx->ca_not_after, max, sizeof(max));
		rc = mca_error_rule(err, MCA_ERR_POLICY, "validity.past_ca",
		                    "notAfter %s would be past the issuing CA's notAfter %s; ask "
		                    "for a shorter validity",
		                    want, max);
		goto fail;
	}
	res->key_usage =
	    MCA_KU_DIGITAL_SIGNATURE | (res->rsa ? (p->key_usage & MCA_KU_KEY_ENCIPHERMENT) : 0);
	res->ext_key_usage = p->ext_key_usage;
	if ((rc = choose_cn(p, res, err)) != MCA_OK)
		goto fail;
	return MCA_OK;
fail:
	mca_policy_result_clear(res);
	return rc;
}

void
mca_policy_result_clear(struct mca_policy_result *res)
{
	size_t i;

	for (i = 0; i < res->n_names; i++)
		free(res->names[i].value);
	free(res->cn);
	memset(res, 0, sizeof(*res));
}

mca_rc
mca_policy_check_dns(const struct mca_profile *profile, const char *name, struct mca_error *err)
{
	return check_dns(profile, name, err);
}
