/*
 * duration.h - parse the human durations used in the CLI, the API and
 * the templates: one or more NUMBER UNIT groups, units s, m, h, d, w
 * ("30s", "15m", "24h", "7d", "1h30m").
 */
#ifndef MCA_DURATION_H
#define MCA_DURATION_H

#include <stdint.h>

#include "common/err.h"

/* Longest duration accepted anywhere: 100 years. */
#define MCA_DURATION_MAX ((int64_t)100 * 366 * 24 * 3600)

/*
 * Parse `s` into seconds (> 0, <= MCA_DURATION_MAX).  Empty strings,
 * missing or unknown units, signs, spaces, zero and overflow are
 * MCA_ERR_INVAL with a message quoting `s`.
 */
mca_rc mca_duration_parse(const char *s, int64_t *seconds, struct mca_error *err);

/* Format seconds as the shortest exact form ("90d", "1h30m"); buf >= 32 bytes. */
void mca_duration_format(int64_t seconds, char *buf, unsigned len);

#endif
