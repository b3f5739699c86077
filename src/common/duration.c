/* duration.c - "1h30m"-style durations. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "common/duration.h"

struct unit {
	char c;
	int64_t secs;
};

static const struct unit units[] = {
    {'w', 7 * 86400}, {'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1},
};

static const struct unit *
unit_find(char c)
{
	size_t i;

	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (units[i].c == c)
			return &units[i];
	return NULL;
}

mca_rc
mca_duration_parse(const char *s, int64_t *seconds, struct mca_error *err)
{
	const char *p = s;
	const struct unit *u;
	int64_t total = 0, n;
	int digits;

	if (s == NULL || *s == '\0')
		return mca_error_set(err, MCA_ERR_INVAL, "empty duration");
	while (*p != '\0') {
		n = 0;
		digits = 0;
		while (*p >= '0' && *p <= '9') {
			n = n * 10 + (*p - '0');
			if (n > MCA_DURATION_MAX)
				goto too_long;
			p++;
			digits++;
		}
		if (digits == 0)
			return mca_error_set(err, MCA_ERR_INVAL,
			                     "invalid duration '%s': expected a number", s);
		u = unit_find(*p);
		if (u == NULL)
			return mca_error_set(
			    err, MCA_ERR_INVAL,
			    "invalid duration '%s': unit must be one of s, m, h, d, w", s);
		p++;
		if (n > MCA_DURATION_MAX / u->secs)
			goto too_long;
		total += n * u->secs;
		if (total > MCA_DURATION_MAX)
			goto too_long;
	}
	if (total == 0)
		return mca_error_set(err, MCA_ERR_INVAL, "invalid duration '%s': must be positive",
		                     s);
	*seconds = total;
	return MCA_OK;
too_long:
	return mca_error_set(err, MCA_ERR_INVAL, "invalid duration '%s': longer than 100 years", s);
}

void
mca_duration_format(int64_t seconds, char *buf, unsigned len)
{
	size_t i, off = 0;
	int64_t q;

	buf[0] = '\0';
	if (seconds <= 0) {
		snprintf(buf, len, "0s");
		return;
	}
	/* Weeks read badly ("12w6d"); format from days down. */
	for (i = 1; i < sizeof(units) / sizeof(units[0]) && off < len; i++) {
		q = seconds / units[i].secs;
		if (q == 0)
			continue;
		off += (size_t)snprintf(buf + off, len - off, "%lld%c", (long long)q, units[i].c);
		seconds -= q * units[i].secs;
	}
}
