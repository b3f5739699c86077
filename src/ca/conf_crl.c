/* conf_crl.c - the "crl" object's partitioning setting (conf.h). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "ca/conf.h"
#include "ca/publish.h"

mca_rc
mca_conf_crl_shards(struct mca_conf *c, long long shards, struct mca_error *err)
{
	c->crl_shards = 0;
	if (shards < 0 || shards > MCA_PUBLISH_SHARDS_MAX)
		return mca_error_rule(err, MCA_ERR_CONFIG, "conf.crl.shards",
		                      "%s: field 'crl.shards': %lld is not 0 (no partitions) to %d",
		                      c->path, shards, MCA_PUBLISH_SHARDS_MAX);
	c->crl_shards = (unsigned)shards;
	free(c->crl_shard_url);
	c->crl_shard_url = NULL;
	if (asprintf(&c->crl_shard_url, "%s/crl/", c->public_url) < 0) {
		c->crl_shard_url = NULL;
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	}
	return MCA_OK;
}
