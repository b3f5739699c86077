/*
 * policy.h - the rules of doc/profiles.md applied to one CSR under one
 * profile, before anything is signed.
 *
 * Every refusal is MCA_ERR_POLICY with a stable rule id in err->rule and
 * a message naming the offending value, e.g.
 *   rule "name.internal": "'db.internal' is an internal name; the public
 *   profile allows only names under a public suffix".
 * Rule ids: key.type, key.too_small, key.rsa_modulus, key.rsa_exponent,
 * key.curve, name.none, name.too_many, name.syntax, name.underscore,
 * name.wildcard, name.internal, name.public_suffix, name.arpa,
 * name.reserved_ip, name.type (a kind of name the profile does not take),
 * name.not_allowed (outside the allow list), name.denied, name.spiffe,
 * name.cn_not_in_san, validity.too_long, validity.past_ca.
 */
#ifndef MCA_POLICY_H
#define MCA_POLICY_H

#include <stdint.h>

#include "common/err.h"
#include "pki/csr.h"
#include "policy/profile.h"

/* Most names one certificate may carry. */
#define MCA_POLICY_MAX_NAMES 100

struct mca_policy_ctx {
	const struct mca_profile *profile;
	int64_t now;
	int64_t ca_not_after; /* nothing may outlive the issuing CA */
};

/* What the policy approved: exactly what the certificate will say. */
struct mca_policy_result {
	struct mca_name names[MCA_CSR_MAX_NAMES]; /* normalised (DNS lower-cased) */
	size_t n_names;
	char *cn; /* subject CN, NULL for an empty subject */
	int64_t not_before, not_after;
	unsigned key_usage, ext_key_usage;
	int rsa;
};

/*
 * Check `csr` against ctx->profile with the requested `validity` in
 * seconds (0: the profile's default).  On success fills `res` (free with
 * mca_policy_result_clear).
 */
mca_rc mca_policy_check(const struct mca_policy_ctx *ctx, const struct mca_csr *csr,
                        int64_t validity, struct mca_policy_result *res, struct mca_error *err);

void mca_policy_result_clear(struct mca_policy_result *res);

/*
 * Check one DNS name (lower-case; "*.x" for a wildcard) against the DNS
 * rules of `profile`, as for a SAN: for ACME order identifiers.
 */
mca_rc mca_policy_check_dns(const struct mca_profile *profile, const char *name,
                            struct mca_error *err);

/* Whether the IP address (4 or 16 octets) is in an IANA special-purpose range. */
int mca_ip_is_reserved(const unsigned char *addr, size_t len);

/*
 * Whether `name` (lower-case, no wildcard) is an internal name: a single
 * label, or under a suffix that is not on the Public Suffix List (.internal,
 * .local, .lan, .corp, .home.arpa ...).
 */
int mca_dns_is_internal(const char *name);

/* Check a SPIFFE ID against the X.509-SVID rules; rule "name.spiffe" when not. */
mca_rc mca_spiffe_check(const char *uri, struct mca_error *err);

#endif
