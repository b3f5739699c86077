/*
 * cli.h - the verbs of the mtlsca command line.  Each verb lives in its
 * own file, parses its own options and calls the library; main() only
 * dispatches.
 *
 * Exit codes (cli.md): 0 success, 1 refused or failed (one line on stderr
 * starting "mtlsca: "), 2 usage error.
 */
#ifndef MCA_CLI_H
#define MCA_CLI_H

#include "err.h"

#define CLI_OK    0
#define CLI_FAIL  1
#define CLI_USAGE 2

struct cli_global {
	const char *config; /* -c / --config, $MTLSCA_CONFIG, ./mtlsca.conf */
};

struct cli_verb {
	const char *name;
	const char *summary;
	int (*run)(const struct cli_global *g, int argc, char **argv);
	void (*usage)(void);
};

/* The table of verbs, ending with a NULL name. */
extern const struct cli_verb cli_verbs[];

/* Print "mtlsca: MESSAGE" on stderr and return CLI_FAIL. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print "mtlsca: MESSAGE" plus a usage hint on stderr and return CLI_USAGE. */
int cli_usage_error(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

int cli_init(const struct cli_global *g, int argc, char **argv);
void cli_init_usage(void);
int cli_crl(const struct cli_global *g, int argc, char **argv);
void cli_crl_usage(void);

#endif
