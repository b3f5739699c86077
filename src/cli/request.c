/* request.c - placeholder: "mtlsca request" and "mtlsca renew" are being written. */
#include "config.h"

#include <stdio.h>

#include "cli.h"

void
cli_request_usage(void)
{
	fputs("usage: mtlsca request ... (not yet available)\n", stdout);
}

int
cli_request(const struct cli_global *g, int argc, char **argv)
{
	return cli_fail("request: not yet available");
}

void
cli_renew_usage(void)
{
	fputs("usage: mtlsca renew ... (not yet available)\n", stdout);
}

int
cli_renew(const struct cli_global *g, int argc, char **argv)
{
	return cli_fail("renew: not yet available");
}
