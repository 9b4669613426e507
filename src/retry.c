/* retry.c - retry decisions, as botocore 1.43 takes them (standard and
 * adaptive modes; see retry.h for the contract).
 *
 * Each part mirrors one botocore class, operation for operation, so the
 * same events at the same clock values give the same doubles:
 *   quota      botocore/retries/quota.py RetryQuota + standard.py
 *              RetryQuotaChecker (legacy costs: 5, 10 for timeouts, 1 back
 *              for a success without retries)
 *   backoff    standard.py ExponentialBackoff (full jitter, 20 s cap)
 *   classify   standard.py TransientRetryableChecker,
 *              ThrottledRetryableChecker, ModeledRetryableChecker (with the
 *              gameliftstreams model's retryable errors)
 *   limiter    adaptive.py ClientRateLimiter + RateClocker, bucket.py
 *              TokenBucket, throttling.py CubicCalculator
 * Times come in as integer milliseconds and are turned into seconds
 * (ms / 1000.0) before any arithmetic, because botocore computes in float
 * seconds: that keeps the results bit-identical for the same clock values.
 *
 * The limiter starts (botocore: the client is created) at the first
 * gls_retry_before_send/gls_retry_on_reply call in adaptive mode, since
 * gls_retry_new has no clock.
 *
 * Not thread-safe: one gls_retry belongs to one client, whose calls the
 * caller serializes. No global state. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "retry.h"
#include "retry_state.h"

/* RetryQuota / RetryQuotaChecker */
#define QUOTA_CAPACITY 500
#define QUOTA_RETRY_COST 5
#define QUOTA_TIMEOUT_COST 10
#define QUOTA_NO_RETRY_INCREMENT 1
/* ExponentialBackoff */
#define BACKOFF_MAX_S 20.0
/* TokenBucket */
#define BUCKET_MIN_RATE 0.5
/* CubicCalculator */
#define CUBIC_SCALE 0.4
#define CUBIC_BETA 0.7
/* RateClocker */
#define CLOCKER_SMOOTHING 0.8
#define CLOCKER_BUCKET_S 0.5
/* ClientRateLimiter */
#define MAX_RATE_ADJUST_SCALE 2.0

struct gls_retry {
  int mode, max_attempts;
  long base_ms;
  double (*rand01)(void *ud);
  void *ud;
  uint64_t prng; /* only when no rand01 was given */

  int quota; /* RetryQuota._available_capacity (max QUOTA_CAPACITY) */

  /* ClientRateLimiter */
  int started, enabled;
  /* TokenBucket */
  double fill_rate, max_capacity, capacity, last_ts;
  /* CubicCalculator */
  double w_max, k, last_fail;
  /* RateClocker */
  double measured_rate, last_bucket, count;
};

/* ------------------------------------------------------------ randomness */

/* splitmix64: the fallback when the caller gives no rand01. */
static double own_rand01(void *ud) {
  uint64_t *s = ud;
  uint64_t z = (*s += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  z ^= z >> 31;
  return (double)(z >> 11) * 0x1.0p-53;
}

/* --------------------------------------------------------------- set-up */

static void configure(gls_retry *r, int mode, int max_attempts, long base_ms) {
  r->mode = (mode == GLS_RETRY_ADAPTIVE || mode == GLS_RETRY_OFF) ? mode : GLS_RETRY_STANDARD;
  r->max_attempts = max_attempts < 1 ? 1 : max_attempts;
  r->base_ms = base_ms > 0 ? base_ms : 1000;
}

gls_retry *gls_retry_new(int mode, int max_attempts, long base_ms, double (*rand01)(void *ud), void *ud) {
  gls_retry *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  configure(r, mode, max_attempts, base_ms);
  if (rand01) {
    r->rand01 = rand01;
    r->ud = ud;
  } else {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    r->prng = ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) ^ (uint64_t)(uintptr_t)r;
    r->rand01 = own_rand01;
    r->ud = &r->prng;
  }
  r->quota = QUOTA_CAPACITY;
  return r;
}

void gls_retry_free(gls_retry *r) { free(r); }

void gls_retry_set_mode(gls_retry *r, int mode, int max_attempts, long base_ms) {
  configure(r, mode, max_attempts, base_ms);
}

/* -------------------------------------------------------- classification */

/* ThrottledRetryableChecker._THROTTLED_ERROR_CODES, in botocore's order. */
static const char *const throttling_codes[] = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete", /* also transient; throttling wins, as in
                                  botocore's ThrottlingErrorDetector */
    "EC2ThrottledException",
};

/* TransientRetryableChecker._TRANSIENT_ERROR_CODES, plus what the
 * gameliftstreams model marks retryable (non-throttling), which botocore's
 * ModeledRetryableChecker retries whatever the status. */
static const char *const transient_codes[] = {
    "RequestTimeout",
    "RequestTimeoutException",
    "InternalServerException",
};

static int in_list(const char *code, const char *const *list, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(code, list[i])) return 1;
  return 0;
}

int gls_retry_classify(const char *code, int http_status, int transport_failed) {
  if (transport_failed) return GLS_ERR_TRANSPORT;
  if (code && !*code) code = NULL;
  if (code && in_list(code, throttling_codes, sizeof throttling_codes / sizeof *throttling_codes))
    return GLS_ERR_THROTTLING;
  if (code && in_list(code, transient_codes, sizeof transient_codes / sizeof *transient_codes))
    return GLS_ERR_TRANSIENT;
  if (http_status == 429) return GLS_ERR_THROTTLING;
  if (http_status == 500 || http_status == 502 || http_status == 503 || http_status == 504)
    return GLS_ERR_TRANSIENT;
  if (!code && http_status >= 200 && http_status < 300) return GLS_ERR_NONE;
  return GLS_ERR_OTHER;
}

/* ------------------------------------------------------ standard retries */

long gls_retry_after(gls_retry *r, int attempt, int cls, int *cost) {
  if (r->mode == GLS_RETRY_OFF) return -1;
  if (attempt < 1) attempt = 1;
  /* StandardRetryConditions: under max attempts and retryable ... */
  if (attempt >= r->max_attempts) return -1;
  if (cls != GLS_ERR_THROTTLING && cls != GLS_ERR_TRANSIENT && cls != GLS_ERR_TRANSPORT) return -1;
  /* ... then RetryQuotaChecker.acquire_retry_quota ... */
  int amount = cls == GLS_ERR_TRANSPORT ? QUOTA_TIMEOUT_COST : QUOTA_RETRY_COST;
  if (amount > r->quota) return -1;
  r->quota -= amount;
  if (cost) *cost = amount;
  /* ... then ExponentialBackoff.delay_amount, in seconds as botocore. */
  double u = r->rand01(r->ud);
  if (!(u >= 0.0)) u = 0.0;
  if (u >= 1.0) u = nextafter(1.0, 0.0);
  double cap = fmin(ldexp((double)r->base_ms / 1000.0, attempt - 1), BACKOFF_MAX_S);
  return (long)(u * cap * 1000.0);
}

void gls_retry_success(gls_retry *r, int cost) {
  /* RetryQuotaChecker.release_retry_quota -> RetryQuota.release */
  int amount = cost > 0 ? cost : QUOTA_NO_RETRY_INCREMENT;
  int room = QUOTA_CAPACITY - r->quota;
  r->quota += amount < room ? amount : room;
}

int gls_retry_quota(const gls_retry *r) { return r->quota; }

/* ------------------------------------------------------ adaptive limiter */

/* Python's min()/max() of two floats: the first unless the second wins. */
static double py_min(double a, double b) { return b < a ? b : a; }
static double py_max(double a, double b) { return b > a ? b : a; }

/* Python's float ** 3 (CPython float_pow: pow of |x|, sign put back). */
static double py_cube(double x) { return x < 0 ? -pow(-x, 3.0) : pow(x, 3.0); }

static double seconds(int64_t ms) { return (double)ms / 1000.0; }

/* CubicCalculator._calculate_zero_point */
static double cubic_zero_point(double w_max) {
  return pow((w_max * (1 - CUBIC_BETA)) / CUBIC_SCALE, 1 / 3.0);
}

/* TokenBucket._refill */
static void bucket_refill(gls_retry *r, double t) {
  double fill = (t - r->last_ts) * r->fill_rate;
  r->capacity = py_min(r->max_capacity, r->capacity + fill);
  r->last_ts = t;
}

/* TokenBucket.max_rate = value */
static void bucket_set_max_rate(gls_retry *r, double value, double t) {
  bucket_refill(r, t);
  r->fill_rate = py_max(value, BUCKET_MIN_RATE);
  r->max_capacity = value >= 1 ? value : 1;
  r->capacity = py_min(r->capacity, r->max_capacity);
}

/* adaptive.register_retry_handler: CubicCalculator(0, now),
 * TokenBucket(max_rate=1), RateClocker, all at the same clock value. */
static void limiter_start(gls_retry *r, double t) {
  r->started = 1;
  r->enabled = 0;
  r->w_max = 0;
  r->k = cubic_zero_point(0);
  r->last_fail = t;
  r->capacity = 0;
  r->last_ts = t; /* the setter's first _refill only stamps the time */
  r->fill_rate = py_max(1, BUCKET_MIN_RATE);
  r->max_capacity = 1;
  r->measured_rate = 0;
  r->last_bucket = floor(t);
  r->count = 0;
}

/* RateClocker.record */
static double clocker_record(gls_retry *r, double t) {
  const double scale = 1 / CLOCKER_BUCKET_S;
  double bucket = floor(t * scale) / scale;
  r->count += 1;
  if (bucket > r->last_bucket) {
    double current_rate = r->count / (bucket - r->last_bucket);
    r->measured_rate = (current_rate * CLOCKER_SMOOTHING) + (r->measured_rate * (1 - CLOCKER_SMOOTHING));
    r->count = 0;
    r->last_bucket = bucket;
  }
  return r->measured_rate;
}

long gls_retry_before_send(gls_retry *r, int64_t now_ms) {
  if (r->mode != GLS_RETRY_ADAPTIVE) return 0;
  double t = seconds(now_ms);
  if (!r->started) limiter_start(r, t);
  if (!r->enabled) return 0; /* ClientRateLimiter.on_sending_request */
  /* TokenBucket._acquire(1), without blocking: the caller waits. */
  bucket_refill(r, t);
  if (1 <= r->capacity) {
    r->capacity -= 1;
    return 0;
  }
  double wait = (1 - r->capacity) / r->fill_rate; /* _sleep_amount */
  double ms = ceil(wait * 1000.0);
  return ms < 1 ? 1 : (long)ms;
}

void gls_retry_on_reply(gls_retry *r, int throttled, int64_t now_ms) {
  if (r->mode != GLS_RETRY_ADAPTIVE) return;
  double t = seconds(now_ms);
  if (!r->started) limiter_start(r, t);
  /* ClientRateLimiter.on_receiving_response */
  double measured = clocker_record(r, t);
  double new_rate;
  if (!throttled) {
    /* CubicCalculator.success_received */
    double dt = t - r->last_fail;
    new_rate = CUBIC_SCALE * py_cube(dt - r->k) + r->w_max;
  } else {
    double rate_to_use = r->enabled ? py_min(measured, r->fill_rate) : measured;
    /* CubicCalculator.error_received */
    r->w_max = rate_to_use;
    r->k = cubic_zero_point(r->w_max);
    r->last_fail = t;
    new_rate = rate_to_use * CUBIC_BETA;
    r->enabled = 1;
  }
  bucket_set_max_rate(r, py_min(new_rate, MAX_RATE_ADJUST_SCALE * measured), t);
}

double gls_retry_fill_rate(const gls_retry *r) {
  return r->mode == GLS_RETRY_ADAPTIVE && r->enabled ? r->fill_rate : -1.0;
}

void gls_retry_get_state(const gls_retry *r, gls_retry_state *out) {
  out->started = r->started;
  out->enabled = r->enabled;
  out->fill_rate = r->fill_rate;
  out->max_capacity = r->max_capacity;
  out->capacity = r->capacity;
  out->measured_rate = r->measured_rate;
  out->w_max = r->w_max;
  out->k = r->k;
  out->last_fail = r->last_fail;
}
