/* log.c - one line per event on stderr, safe to call from any thread. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/util.h"

static enum mca_log_level log_min = MCA_LOG_INFO;
static const char *log_ident = "mtlsca";

static const char *const level_names[] = {"debug", "info", "notice", "warn", "error"};

int
mca_log_level_parse(const char *s)
{
	size_t i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcmp(s, level_names[i]) == 0)
			return (int)i;
	return -1;
}

void
mca_log_set_level(enum mca_log_level level)
{
	log_min = level;
}

enum mca_log_level
mca_log_get_level(void)
{
	return log_min;
}

void
mca_log_set_ident(const char *ident)
{
	log_ident = ident;
}

void
mca_log(enum mca_log_level level, const char *fmt, ...)
{
	char line[2048], ts[32], *p;
	va_list ap;
	int off;

	if (level < log_min)
		return;
	off = 0;
	if (getenv("JOURNAL_STREAM") == NULL) {
		mca_time_rfc3339(time(NULL), ts, sizeof(ts));
		off = snprintf(line, sizeof(line), "%s ", ts);
	}
	off += snprintf(line + off, sizeof(line) - (size_t)off, "%s[%s]: ", log_ident,
	                level_names[level]);
	va_start(ap, fmt);
	vsnprintf(line + off, sizeof(line) - (size_t)off, fmt, ap);
	va_end(ap);
	/*
	 * Messages quote client input (paths, names, JWS fields): one event
	 * must stay one line, so control characters never reach the log.
	 */
	for (p = line + off; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	/* One fputs per line: stdio locks the stream, so threads do not interleave. */
	fprintf(stderr, "%s\n", line);
}
