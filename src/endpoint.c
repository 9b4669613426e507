/* endpoint.c - GameLift Streams' endpoint rule set (endpoint-rule-set-1.json)
 * written as code, over the partitions table (model.c):
 *
 *   Endpoint set:  UseFIPS -> error "FIPS and custom endpoint are not supported"
 *                  else    -> Endpoint
 *   Region set:    p = aws.partition(Region)
 *                  UseFIPS -> https://gameliftstreams-fips.{Region}.{p.dualStackDnsSuffix}
 *                  else    -> https://gameliftstreams.{Region}.{p.dualStackDnsSuffix}
 *   otherwise:     error "Missing Region"
 *
 * aws.partition: the partition listing the region by name, else the first
 * whose regionRegex matches, else "aws". */
#include <regex.h>
#include <string.h>
#include "gls_private.h"
#include "endpoint.h"

const gls_partition *gls_partition_for(const char *region) {
  for (size_t i = 0; i < gls_npartitions; i++) {
    const gls_partition *p = &gls_partitions[i];
    for (int k = 0; k < p->nregions; k++)
      if (!strcmp(gls_partition_regions[p->first_region + k], region)) return p;
  }
  for (size_t i = 0; i < gls_npartitions; i++) {
    regex_t re;
    if (regcomp(&re, gls_partitions[i].region_regex, REG_EXTENDED | REG_NOSUB)) continue;
    int hit = regexec(&re, region, 0, NULL, 0) == 0;
    regfree(&re);
    if (hit) return &gls_partitions[i];
  }
  for (size_t i = 0; i < gls_npartitions; i++)
    if (!strcmp(gls_partitions[i].id, "aws")) return &gls_partitions[i];
  return &gls_partitions[0];
}

gls_status gls_endpoint_resolve(const char *region, int use_fips, const char *endpoint, gls_buf *url,
                                gls_buf *err) {
  if (endpoint) {
    if (use_fips) {
      gls_buf_adds(err, "Invalid Configuration: FIPS and custom endpoint are not supported");
      return GLS_E_CONFIG;
    }
    return gls_buf_adds(url, endpoint) ? GLS_E_NOMEM : GLS_OK;
  }
  if (!region) {
    gls_buf_adds(err, "Invalid Configuration: Missing Region");
    return GLS_E_NO_REGION;
  }
  const gls_partition *p = gls_partition_for(region);
  if (gls_buf_printf(url, "https://%s%s.%s.%s", gls_model_endpoint_prefix, use_fips ? "-fips" : "",
                     region, p->dual_stack_dns_suffix))
    return GLS_E_NOMEM;
  return GLS_OK;
}
