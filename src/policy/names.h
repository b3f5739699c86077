/*
 * names.h - syntax of the names that go into certificates: DNS names,
 * IP addresses, URIs.  Policy (which names a profile allows) lives in the
 * policy module; this is only "is it well-formed".
 */
#ifndef MCA_NAMES_H
#define MCA_NAMES_H

#include <stddef.h>

#include "common/err.h"

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

#endif
