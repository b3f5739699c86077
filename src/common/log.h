/*
 * log.h - leveled logging to stderr (journald adds its own timestamps, so
 * the daemon's lines carry an RFC 3339 time only when not under systemd).
 *
 * Never pass key material, tokens or request bodies to these functions.
 * Client faults are logged at NOTICE; our own failures at ERR.
 */
#ifndef MCA_LOG_H
#define MCA_LOG_H

enum mca_log_level {
	MCA_LOG_DEBUG,
	MCA_LOG_INFO,
	MCA_LOG_NOTICE,
	MCA_LOG_WARN,
	MCA_LOG_ERR,
};

/* Parse "debug", "info", "notice", "warn", "error"; -1 when unknown. */
int mca_log_level_parse(const char *s);

/* Only messages at `level` or above are written.  Default: INFO. */
void mca_log_set_level(enum mca_log_level level);

/* The current minimum level. */
enum mca_log_level mca_log_get_level(void);

/* Prefix every line with `ident` ("mtlscad"). `ident` must outlive the program. */
void mca_log_set_ident(const char *ident);

void mca_log(enum mca_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
