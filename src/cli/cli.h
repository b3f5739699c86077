/*
 * cli.h - the verbs of the mtlsca command line.  Each verb lives in its
 * own file, parses its own options and calls the library; main() only
 * dispatches.
 *
 * Exit codes (doc/cli.md): 0 success, 1 refused or failed (one line on stderr
 * starting "mtlsca: "), 2 usage error.
 */
#ifndef MCA_CLI_H
#define MCA_CLI_H

#include <openssl/x509.h>

#include "common/err.h"

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

struct mca_conf;
struct mca_store;
struct mca_error;

/* Load the configuration and open its database; prints the error and returns CLI_FAIL. */
int cli_open(const struct cli_global *g, struct mca_conf **conf, struct mca_store **st);

struct mca_signer;
/*
 * The one way the CLI opens a CA key: the issuing CA's signer and
 * certificate, or with `root` the root's (passphrase file from the
 * config).  Prints the error and returns CLI_FAIL.
 */
int cli_load_signer(const struct mca_conf *conf, int root, struct mca_signer **signer, X509 **cert);

/* The actor recorded in audit rows for CLI actions: "cli:USER". */
const char *cli_actor(void);

/* Print "mtlsca: VERB: CODE: RULE: MESSAGE" for a library error; returns CLI_FAIL. */
int cli_fail_err(const char *verb, const struct mca_error *err);

int cli_init(const struct cli_global *g, int argc, char **argv);
void cli_init_usage(void);
int cli_token(const struct cli_global *g, int argc, char **argv);
void cli_token_usage(void);
int cli_request(const struct cli_global *g, int argc, char **argv);
void cli_request_usage(void);
int cli_renew(const struct cli_global *g, int argc, char **argv);
void cli_renew_usage(void);
int cli_revoke(const struct cli_global *g, int argc, char **argv);
void cli_revoke_usage(void);
int cli_crl(const struct cli_global *g, int argc, char **argv);
void cli_crl_usage(void);
int cli_issue(const struct cli_global *g, int argc, char **argv);
void cli_issue_usage(void);
int cli_list(const struct cli_global *g, int argc, char **argv);
void cli_list_usage(void);
int cli_show(const struct cli_global *g, int argc, char **argv);
int cli_ocsp(const struct cli_global *g, int argc, char **argv);
void cli_ocsp_usage(void);
void cli_show_usage(void);
int cli_keys(const struct cli_global *g, int argc, char **argv);
void cli_keys_usage(void);
int cli_db(const struct cli_global *g, int argc, char **argv);
void cli_db_usage(void);

#endif
