/* names.c - syntax checks for certificate names. */
#include "config.h"

#include <arpa/inet.h>
#include <string.h>

#include "policy/names.h"

mca_rc
mca_dns_check(const char *name, int allow_wildcard, int allow_underscore, struct mca_error *err)
{
	const char *label = name, *p;
	size_t len = strlen(name), llen;
	int first = 1;

	if (len == 0)
		return mca_error_rule(err, MCA_ERR_POLICY, "name.syntax", "empty DNS name");
	if (len > 253)
		return mca_error_rule(err, MCA_ERR_POLICY, "name.syntax",
		                      "DNS name '%.64s...' is longer than 253 characters", name);
	if (name[len - 1] == '.')
		return mca_error_rule(err, MCA_ERR_POLICY, "name.syntax",
		                      "DNS name '%.253s' has a trailing dot", name);
	for (;;) {
		p = strchr(label, '.');
		llen = p ? (size_t)(p - label) : strlen(label);
		if (llen == 0)
			return mca_error_rule(err, MCA_ERR_POLICY, "name.syntax",
			                      "DNS name '%.253s' has an empty label", name);
		if (llen > 63)
			return mca_error_rule(err, MCA_ERR_POLICY, "name.syntax",
			                      "DNS name '%.253s' has a label longer than 63", name);
		if (llen == 1 && label[0] == '*') {
			if (!first || !allow_wildcard)
				return mca_error_rule(
				    err, MCA_ERR_POLICY, "name.wildcard",
				    first ? "wildcard '%.253s' not allowed"
				          : "wildcard in '%.253s' is not the whole leftmost label",
				    name);
			if (p == NULL)
				return mca_error_rule(err, MCA_ERR_POLICY, "name.wildcard",
				                      "bare wildcard '%.253s'", name);
		} else {
			size_t i;

			if (label[0] == '-' || label[llen - 1] == '-')
				return mca_error_rule(err, MCA_ERR_POLICY, "name.syntax",
				                      "DNS name '%.253s': a label starts or ends "
				                      "with '-'",
				                      name);
			for (i = 0; i < llen; i++) {
				unsigned char c = (unsigned char)label[i];

				if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')
					continue;
				if (c == '_') {
					if (allow_underscore)
						continue;
					return mca_error_rule(err, MCA_ERR_POLICY,
					                      "name.underscore",
					                      "DNS name '%.253s' contains an "
					                      "underscore",
					                      name);
				}
				if (c >= 'A' && c <= 'Z')
					return mca_error_rule(err, MCA_ERR_POLICY, "name.syntax",
					                      "DNS name '%.253s' is not lower-case",
					                      name);
				if (c == '*')
					return mca_error_rule(err, MCA_ERR_POLICY, "name.wildcard",
					                      "wildcard in '%.253s' is not the "
					                      "whole leftmost label",
					                      name);
				return mca_error_rule(err, MCA_ERR_POLICY, "name.syntax",
				                      c >= 0x80
				                          ? "DNS name '%.253s' is not ASCII "
				                            "(use the xn-- A-label form)"
				                          : "DNS name '%.253s' has an invalid "
				                            "character",
				                      name);
			}
			/* "ab--" in positions 3-4 is reserved for A-labels. */
			if (llen >= 4 && label[2] == '-' && label[3] == '-' &&
			    !(label[0] == 'x' && label[1] == 'n'))
				return mca_error_rule(err, MCA_ERR_POLICY, "name.syntax",
				                      "DNS name '%.253s' has a label with '--' in "
				                      "positions 3 and 4 that is not an A-label",
				                      name);
		}
		if (p == NULL)
			break;
		label = p + 1;
		first = 0;
	}
	return MCA_OK;
}

int
mca_ip_parse(const char *text, unsigned char out[16], size_t *len)
{
	if (inet_pton(AF_INET, text, out) == 1) {
		*len = 4;
		return 1;
	}
	if (inet_pton(AF_INET6, text, out) == 1) {
		*len = 16;
		return 1;
	}
	return 0;
}
