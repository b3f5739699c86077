/*
 * names.h - syntax of the names that go into certificates: DNS names,
 * IP addresses, URIs, email addresses, and their typed text form.
 * Policy (which names a profile allows) lives in the policy module; this is
 * only "is it well-formed" and "is it the same name".
 *
 * Typed names: wherever a name is stored or compared apart from the
 * certificate or CSR it came from (token names, certificates.names,
 * renewal), it carries its SAN type as a prefix: "dns:web.example",
 * "dns:*.svc.example" (a token pattern), "ip:10.0.0.5", "ip:fd00::1"
 * (inet_ntop form), "uri:spiffe://example.org/x", "email:a@example.org".
 * Two names are the same only when type and value are.
 *
 * All functions are thread-safe; none keeps a pointer to its arguments.
 */
#ifndef MCA_NAMES_H
#define MCA_NAMES_H

#include <stddef.h>

#include <openssl/x509.h>

#include "common/err.h"
#include "pki/csr.h"

/*
 * Whether `name` is a DNS name as certificates carry it (doc/profiles.md):
 * lower case LDH labels (underscore only with `allow_underscore`), no
 * trailing dot, at most 253 characters, labels of 1..63 characters not
 * starting or ending with '-', IDNs only as A-labels ("xn--"), a wildcard
 * only as the whole leftmost label when `allow_wildcard`.  The error
 * names the value and the reason.
 */
mca_rc mca_dns_check(const char *name, int allow_wildcard, int allow_underscore,
                     struct mca_error *err);

/*
 * Parse an IPv4 or IPv6 address in text form into `out` (4 or 16 octets,
 * *len set).  Returns 0 when not an address.
 */
int mca_ip_parse(const char *text, unsigned char out[16], size_t *len);

/* The typed-name prefix word of a SAN type: "dns", "ip", "uri", "email". */
const char *mca_name_type_prefix(enum mca_name_type t);

/*
 * Split a typed name "TYPE:VALUE" (TYPE one of dns, ip, uri, email):
 * *type gets the type, *value points into `typed`.  Returns 0 (and touches
 * nothing) when `typed` has no known type prefix.
 */
int mca_typed_name_split(const char *typed, enum mca_name_type *type, const char **value);

/* "TYPE:VALUE" for a SAN of type `t` (malloc'd; NULL when out of memory). */
char *mca_typed_name(enum mca_name_type t, const char *value);

/*
 * Whether the SAN `n` is the typed name `typed`: same type and the same
 * value (IP addresses compared as addresses, DNS names without regard to
 * case).  With `patterns`, a typed DNS name "dns:*.suffix" also covers the
 * names below it (mca_dns_pattern_match); without, it is only itself.
 * An untyped `typed` never matches.
 */
int mca_typed_name_match(const char *typed, const struct mca_name *n, int patterns);

/*
 * JSON array text of the typed SAN names of `cert` (malloc'd): "dns:x",
 * "ip:10.0.0.5", "uri:...", "email:...", in certificate order, other SAN
 * types left out; NULL when out of memory.  certificates.names holds it.
 */
char *mca_names_json_from_x509(X509 *cert);

#endif
