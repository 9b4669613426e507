/* endpoint.h - the service's endpoint rules and AWS partitions. Internal. */
#ifndef GLS_ENDPOINT_H
#define GLS_ENDPOINT_H
#include "gls_private.h"

/* aws.partition(region): never NULL (unknown regions fall in "aws"). */
const gls_partition *gls_partition_for(const char *region);

/* The endpoint rule set: region (NULL = unset), UseFIPS, Endpoint (NULL =
 * unset). Appends the URL to url, or the rule set's error message to err
 * (GLS_E_CONFIG, GLS_E_NO_REGION). */
gls_status gls_endpoint_resolve(const char *region, int use_fips, const char *endpoint, gls_buf *url,
                                gls_buf *err);
#endif
