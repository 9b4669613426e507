/* retry_state.h - a read-only snapshot of a gls_retry's adaptive limiter,
 * for the differential test against botocore and for metrics. Internal;
 * kept apart from retry.h so that contract stays as agreed. */
#ifndef GLS_RETRY_STATE_H
#define GLS_RETRY_STATE_H

#include "retry.h"

typedef struct gls_retry_state {
  int started;           /* the limiter has seen its first event */
  int enabled;           /* a throttling reply has switched it on */
  double fill_rate;      /* TokenBucket._fill_rate (tokens/s) */
  double max_capacity;   /* TokenBucket._max_capacity */
  double capacity;       /* TokenBucket._current_capacity */
  double measured_rate;  /* RateClocker._measured_rate (requests/s) */
  double w_max, k, last_fail; /* CubicCalculator parameters (seconds) */
} gls_retry_state;

void gls_retry_get_state(const gls_retry *r, gls_retry_state *out);

#endif
