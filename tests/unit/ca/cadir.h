/*
 * cadir.h - a throwaway CA directory for the ca/ unit tests, made once per
 * test case by mtlsca init's code (ca/pkiinit.h) in a temporary directory
 * and removed after: ca_setup and ca_teardown for
 * tcase_add_unchecked_fixture, conf_path for mca_conf_load.  The includer
 * defines CADIR_TAG (the temporary directory's prefix) and CADIR_NAME (the
 * CA's name) first.
 */
#ifndef MCA_TEST_CADIR_H
#define MCA_TEST_CADIR_H

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "ca/pkiinit.h"
#include "testutil.h"

static char tmpdir[PATH_MAX];
static char cadir[PATH_MAX + 8];
static char conf_path[PATH_MAX + 32];

static void
ca_setup(void)
{
	struct mca_init_opts o = {0};
	struct mca_init_result res = {0};
	struct mca_error err = {0};

	tu_mkdtemp(tmpdir, sizeof(tmpdir), CADIR_TAG);
	snprintf(cadir, sizeof(cadir), "%s/ca", tmpdir);
	o.dir = cadir;
	o.name = CADIR_NAME;
	o.key_type = MCA_KEY_EC_P256;
	o.dns[0] = "localhost";
	o.ip[0] = "127.0.0.1";
	o.listen = "127.0.0.1:0";
	o.http_listen = "127.0.0.1:0";
	o.public_url = "http://ca.test.internal:8080"; /* port 0 cannot go into certificates */
	if (mca_init_run(&o, &res, &err) != MCA_OK) {
		fprintf(stderr, "mca_init_run: %s\n", err.msg);
		abort();
	}
	snprintf(conf_path, sizeof(conf_path), "%s", res.config_path);
}

static void
ca_teardown(void)
{
	tu_rmtree(tmpdir);
}

#endif
