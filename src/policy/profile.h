/*
 * profile.h - issuance profiles: the templates in templates_dir, parsed
 * strictly (unknown fields, wrong types and bad values are errors naming
 * the file and the field) into what the policy engine and the certificate
 * builder need.
 *
 * Ownership: a struct mca_profiles owns every profile in it; profiles are
 * immutable once loaded, so a loaded set can be shared between threads.
 */
#ifndef MCA_PROFILE_H
#define MCA_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define MCA_PROFILE_MAX_POLICIES 4

/* Key types a profile may allow (bit set). */
#define MCA_PK_RSA     (1u << 0)
#define MCA_PK_P256    (1u << 1)
#define MCA_PK_P384    (1u << 2)
#define MCA_PK_ED25519 (1u << 3)

/* Authorization methods (bit set). */
#define MCA_AUTH_TOKEN       (1u << 0)
#define MCA_AUTH_RENEWAL     (1u << 1)
#define MCA_AUTH_ACME_HTTP01 (1u << 2)
#define MCA_AUTH_ACME_DNS01  (1u << 3)
#define MCA_AUTH_ACME        (MCA_AUTH_ACME_HTTP01 | MCA_AUTH_ACME_DNS01)

/* An IP network from an allow list. */
struct mca_cidr {
	unsigned char addr[16];
	size_t len;      /* 4 or 16 */
	unsigned prefix; /* bits */
};

enum mca_cn_mode {
	MCA_CN_FIRST_SAN, /* subject CN = the first DNS name (else the first IP) */
	MCA_CN_NONE,      /* empty subject; the SAN is then critical */
};

struct mca_profile {
	char *name;
	char *description;
	char *path;
	int64_t validity_default; /* seconds */
	int64_t validity_max;     /* seconds */
	unsigned key_types;       /* MCA_PK_* */
	int rsa_min_bits;

	struct {
		int allowed;
		char **allow; /* NULL-terminated patterns; empty: any */
		char **deny;  /* NULL-terminated patterns */
		int wildcards;
		int public_suffix_required;
		int internal; /* internal names (.internal, .local, single labels) allowed */
	} dns;
	struct {
		int allowed;
		struct mca_cidr *allow; /* empty: any */
		size_t n_allow;
		int reserved; /* private, loopback, documentation ... allowed */
	} ip;
	struct {
		int allowed;
		char **allow; /* NULL-terminated prefixes; empty: any */
		int spiffe;   /* spiffe:// URIs allowed (X.509-SVID rules) */
	} uri;
	int email;

	enum mca_cn_mode cn;
	int cn_as_san;          /* a CSR without SANs may use its CN as the one name */
	unsigned key_usage;     /* MCA_KU_* (keyEncipherment applies to RSA keys only) */
	unsigned ext_key_usage; /* MCA_EKU_* */
	char *policies[MCA_PROFILE_MAX_POLICIES + 1]; /* dotted OIDs, NULL-terminated */
	int ski;
	unsigned authorization;   /* MCA_AUTH_* */
	int64_t validation_reuse; /* seconds a domain validation stays usable */
};

struct mca_profiles {
	struct mca_profile **v;
	size_t n;
};

/*
 * Load every "*.json" file of `dir` (sorted by name).  The profile name is
 * the "name" field, which must equal the file's base name; "root", "ca",
 * "server" and "admin" name the CA's own certificates and are reserved.
 */
mca_rc mca_profiles_load(const char *dir, struct mca_profiles **out, struct mca_error *err);

/*
 * Parse one template.  `path` names it in errors, and a path ending in
 * ".json" must have the profile's name as its base name.
 */
mca_rc mca_profile_parse(const char *path, const char *text, size_t len, struct mca_profile **out,
                         struct mca_error *err);

/* The profile called `name`, or NULL. */
const struct mca_profile *mca_profiles_find(const struct mca_profiles *set, const char *name);

void mca_profile_free(struct mca_profile *p);
void mca_profiles_free(struct mca_profiles *set);

/*
 * Whether the DNS name `name` matches `pattern`: an exact name, or
 * "*.SUFFIX", which matches any name below SUFFIX at any depth (and the
 * wildcard name "*.SUFFIX" itself).
 */
int mca_dns_pattern_match(const char *pattern, const char *name);

/* Parse "10.0.0.0/8", "fd00::/8" or a single address. */
int mca_cidr_parse(const char *text, struct mca_cidr *out);

/* Whether the address (4 or 16 octets) is inside `c`. */
int mca_cidr_contains(const struct mca_cidr *c, const unsigned char *addr, size_t len);

#endif
