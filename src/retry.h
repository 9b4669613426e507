/* retry.h - retry decisions as the AWS SDKs specify them. Internal.
 *
 * Standard mode: at most max_attempts attempts; retry throttling errors,
 * transient errors (5xx 500/502/503/504, RequestTimeout..., transport
 * errors and timeouts) and nothing else; full-jitter exponential backoff
 * random() * min(20 s, base * 2^(attempt-1)) (base 1 s); a retry quota
 * shared by the client: 500 tokens, a retry costs 5 (10 after a timeout or
 * transport error), a success refunds what its retry took (1 when no retry
 * was needed), no tokens = no retry.
 * Adaptive mode: standard, plus a client-side rate limiter (botocore's
 * adaptive mode: a token bucket whose fill rate follows CUBIC from the
 * measured send rate, cut on throttling responses) that every request of
 * the client passes before it is sent.
 * The clock and the random source are injected so tests are exact. */
#ifndef GLS_RETRY_H
#define GLS_RETRY_H

#include <stdint.h>
#include "gls_private.h"

enum { GLS_RETRY_STANDARD, GLS_RETRY_ADAPTIVE, GLS_RETRY_OFF };

/* Error classes, as decided by the caller from the reply. */
enum { GLS_ERR_NONE, GLS_ERR_THROTTLING, GLS_ERR_TRANSIENT, GLS_ERR_TRANSPORT, GLS_ERR_OTHER };

typedef struct gls_retry gls_retry;

/* rand01 returns a uniform double in [0, 1); ud goes back to it. */
gls_retry *gls_retry_new(int mode, int max_attempts, long base_ms,
                         double (*rand01)(void *ud), void *ud);
void gls_retry_free(gls_retry *r);
void gls_retry_set_mode(gls_retry *r, int mode, int max_attempts, long base_ms);

/* Classifies an outcome: code (may be NULL), HTTP status (0 = none) and
 * whether the transfer failed (timeout/connection). */
int gls_retry_classify(const char *code, int http_status, int transport_failed);

/* After attempt number `attempt` (1-based) failed with class cls: the delay
 * in ms before the next attempt, or -1 for no retry (not retryable, attempts
 * used up, quota empty). Takes quota tokens when it says yes; *cost gets
 * how many (to refund on success). */
long gls_retry_after(gls_retry *r, int attempt, int cls, int *cost);

/* A call succeeded; cost is what its last retry took (0 if none). */
void gls_retry_success(gls_retry *r, int cost);

/* Adaptive: ms to wait before sending now (0 = send), at monotonic time
 * now_ms; when 0 is returned a token was taken. Standard/off: always 0. */
long gls_retry_before_send(gls_retry *r, int64_t now_ms);

/* Adaptive: every reply updates the limiter (throttled = class THROTTLING). */
void gls_retry_on_reply(gls_retry *r, int throttled, int64_t now_ms);

/* Introspection for tests and metrics. */
int gls_retry_quota(const gls_retry *r);
double gls_retry_fill_rate(const gls_retry *r);   /* adaptive: tokens/s, <0 when not yet enabled */

#endif
