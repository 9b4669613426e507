/* test_retry.c - retry decisions (src/retry.h): quota, backoff,
 * classification, attempts, mode off, the adaptive limiter. No network;
 * the clock and the random source are the test's. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "retry.h"
#include "retry_state.h"
#include "tap.h"

/* A fixed "random" value; counts how often it was asked for. */
typedef struct fixed_rand {
  double value;
  int calls;
} fixed_rand;

static double fixed01(void *ud) {
  fixed_rand *f = ud;
  f->calls++;
  return f->value;
}

static int close_to(double got, double want) {
  return fabs(got - want) <= 1e-12 * (fabs(want) > 1 ? fabs(want) : 1);
}

static void test_quota(void) {
  fixed_rand fr = {0.5, 0};
  gls_retry *r = gls_retry_new(GLS_RETRY_STANDARD, 1000, 1000, fixed01, &fr);
  ok(gls_retry_quota(r) == 500, "the quota starts at 500");

  int n = 0, cost = -1, all5 = 1;
  while (gls_retry_after(r, 1, GLS_ERR_TRANSIENT, &cost) >= 0) {
    n++;
    if (cost != 5) all5 = 0;
    if (n > 1000) break;
  }
  ok(n == 100, "500 tokens pay for 100 retries of transient errors (got %d)", n);
  ok(all5, "each of them costs 5");
  ok(gls_retry_quota(r) == 0, "then the quota is empty (%d)", gls_retry_quota(r));
  cost = -7;
  ok(gls_retry_after(r, 1, GLS_ERR_THROTTLING, &cost) == -1 && cost == -7,
     "an empty quota says no and leaves *cost alone");

  gls_retry_success(r, 5);
  ok(gls_retry_quota(r) == 5, "a success after a retry refunds that retry's cost (5)");
  gls_retry_success(r, 0);
  ok(gls_retry_quota(r) == 6, "a success without retries gives 1 back");
  ok(gls_retry_after(r, 1, GLS_ERR_TRANSPORT, &cost) == -1 && gls_retry_quota(r) == 6,
     "a transport retry needs 10: 6 is not enough, nothing taken");
  ok(gls_retry_after(r, 1, GLS_ERR_THROTTLING, &cost) >= 0 && cost == 5 && gls_retry_quota(r) == 1,
     "a throttling retry takes 5 of 6");
  gls_retry_free(r);

  r = gls_retry_new(GLS_RETRY_STANDARD, 1000, 1000, fixed01, &fr);
  n = 0;
  while (gls_retry_after(r, 2, GLS_ERR_TRANSPORT, &cost) >= 0 && n <= 1000) {
    if (cost != 10) break;
    n++;
  }
  ok(n == 50 && gls_retry_quota(r) == 0, "transport errors (timeouts) cost 10: 50 retries (got %d)", n);
  for (int i = 0; i < 600; i++) gls_retry_success(r, 10);
  ok(gls_retry_quota(r) == 500, "refunds stop at the 500 capacity (%d)", gls_retry_quota(r));
  gls_retry_success(r, 0);
  ok(gls_retry_quota(r) == 500, "a success at full capacity adds nothing");
  ok(gls_retry_after(r, 1, GLS_ERR_THROTTLING, NULL) >= 0 && gls_retry_quota(r) == 495,
     "cost may be NULL");
  gls_retry_free(r);
}

static void test_backoff(void) {
  fixed_rand fr = {0.0, 0};
  gls_retry *r = gls_retry_new(GLS_RETRY_STANDARD, 100, 1000, fixed01, &fr);
  int zero = 1, cost;
  for (int a = 1; a <= 12; a++)
    if (gls_retry_after(r, a, GLS_ERR_TRANSIENT, &cost) != 0) zero = 0;
  ok(zero && fr.calls == 12, "rand01 = 0: no delay at any attempt (rand01 asked once per retry)");

  fr.value = 0.999;
  static const long want[] = {999, 1998, 3996, 7992, 15984, 19980, 19980, 19980};
  for (int a = 1; a <= 8; a++) {
    long d = gls_retry_after(r, a, GLS_ERR_THROTTLING, &cost);
    ok(d == want[a - 1], "rand01 = 0.999, attempt %d: %ld ms (want %ld)", a, d, want[a - 1]);
  }
  long d = gls_retry_after(r, 60, GLS_ERR_TRANSIENT, &cost);
  ok(d == 19980 && d < 20000, "attempt 60 stays just under the 20 s cap (%ld)", d);
  fr.value = 0.5;
  ok(gls_retry_after(r, 3, GLS_ERR_TRANSPORT, &cost) == 2000, "0.5 * min(20 s, 1 s * 2^2) = 2000 ms");
  fr.value = 1.0; /* out of contract: still under the cap */
  d = gls_retry_after(r, 9, GLS_ERR_TRANSIENT, &cost);
  ok(d >= 19999 && d < 20000, "a rand01 of 1.0 is held under the cap (%ld)", d);

  gls_retry_set_mode(r, GLS_RETRY_STANDARD, 100, 250);
  fr.value = 0.999;
  ok(gls_retry_after(r, 1, GLS_ERR_TRANSIENT, &cost) == 249 && gls_retry_after(r, 3, GLS_ERR_TRANSIENT, &cost) == 999,
     "base 250 ms: 0.999 * 250 and 0.999 * 1000");
  int before = fr.calls;
  gls_retry_after(r, 1, GLS_ERR_OTHER, &cost);
  ok(fr.calls == before, "no retry, no random number drawn");
  gls_retry_free(r);

  r = gls_retry_new(GLS_RETRY_STANDARD, 5, 1000, NULL, NULL);
  int inside = 1;
  for (int i = 0; i < 50; i++) {
    d = gls_retry_after(r, 4, GLS_ERR_TRANSIENT, &cost);
    if (d < 0 || d >= 8000) inside = 0;
  }
  ok(inside, "without rand01 an own source is used, delays stay in [0, 8 s)");
  gls_retry_free(r);
}

static void test_classify(void) {
  static const struct {
    const char *code;
    int status, transport, want;
  } t[] = {
      {NULL, 200, 0, GLS_ERR_NONE},
      {NULL, 204, 0, GLS_ERR_NONE},
      {"", 200, 0, GLS_ERR_NONE},
      {"Throttling", 400, 0, GLS_ERR_THROTTLING},
      {"ThrottlingException", 429, 0, GLS_ERR_THROTTLING},
      {"ThrottledException", 400, 0, GLS_ERR_THROTTLING},
      {"RequestThrottledException", 400, 0, GLS_ERR_THROTTLING},
      {"TooManyRequestsException", 429, 0, GLS_ERR_THROTTLING},
      {"ProvisionedThroughputExceededException", 400, 0, GLS_ERR_THROTTLING},
      {"TransactionInProgressException", 400, 0, GLS_ERR_THROTTLING},
      {"RequestLimitExceeded", 503, 0, GLS_ERR_THROTTLING},
      {"BandwidthLimitExceeded", 400, 0, GLS_ERR_THROTTLING},
      {"LimitExceededException", 400, 0, GLS_ERR_THROTTLING},
      {"RequestThrottled", 400, 0, GLS_ERR_THROTTLING},
      {"SlowDown", 503, 0, GLS_ERR_THROTTLING},
      {"PriorRequestNotComplete", 400, 0, GLS_ERR_THROTTLING},
      {"EC2ThrottledException", 400, 0, GLS_ERR_THROTTLING},
      {NULL, 429, 0, GLS_ERR_THROTTLING},
      {"RequestTimeout", 400, 0, GLS_ERR_TRANSIENT},
      {"RequestTimeoutException", 408, 0, GLS_ERR_TRANSIENT},
      {"InternalServerException", 500, 0, GLS_ERR_TRANSIENT},
      {"InternalServerException", 400, 0, GLS_ERR_TRANSIENT},
      {"InternalError", 500, 0, GLS_ERR_TRANSIENT},
      {"InternalError", 400, 0, GLS_ERR_OTHER},
      {NULL, 500, 0, GLS_ERR_TRANSIENT},
      {NULL, 502, 0, GLS_ERR_TRANSIENT},
      {NULL, 503, 0, GLS_ERR_TRANSIENT},
      {NULL, 504, 0, GLS_ERR_TRANSIENT},
      {"ServiceUnavailableException", 503, 0, GLS_ERR_TRANSIENT},
      {NULL, 501, 0, GLS_ERR_OTHER},
      {NULL, 505, 0, GLS_ERR_OTHER},
      {NULL, 400, 0, GLS_ERR_OTHER},
      {NULL, 404, 0, GLS_ERR_OTHER},
      {NULL, 301, 0, GLS_ERR_OTHER},
      {NULL, 0, 0, GLS_ERR_OTHER},
      {"ValidationException", 400, 0, GLS_ERR_OTHER},
      {"AccessDeniedException", 403, 0, GLS_ERR_OTHER},
      {"ResourceNotFoundException", 404, 0, GLS_ERR_OTHER},
      {"throttlingexception", 400, 0, GLS_ERR_OTHER},
      {"SomeError", 200, 0, GLS_ERR_OTHER},
      {NULL, 0, 1, GLS_ERR_TRANSPORT},
      {NULL, 200, 1, GLS_ERR_TRANSPORT},
      {"ThrottlingException", 429, 1, GLS_ERR_TRANSPORT},
  };
  for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
    int got = gls_retry_classify(t[i].code, t[i].status, t[i].transport);
    ok(got == t[i].want, "classify(%s, %d, %d) = %d (want %d)", t[i].code ? t[i].code : "NULL", t[i].status,
       t[i].transport, got, t[i].want);
  }
}

static void test_attempts_and_off(void) {
  fixed_rand fr = {0.25, 0};
  int cost;
  gls_retry *r = gls_retry_new(GLS_RETRY_STANDARD, 3, 1000, fixed01, &fr);
  ok(gls_retry_after(r, 1, GLS_ERR_TRANSIENT, &cost) == 250, "max_attempts 3: attempt 1 may retry");
  ok(gls_retry_after(r, 2, GLS_ERR_TRANSIENT, &cost) == 500, "attempt 2 may retry");
  int q = gls_retry_quota(r);
  ok(gls_retry_after(r, 3, GLS_ERR_TRANSIENT, &cost) == -1 && gls_retry_quota(r) == q,
     "attempt 3 is the last: no retry, no tokens taken");
  ok(gls_retry_after(r, 1, GLS_ERR_OTHER, &cost) == -1 && gls_retry_after(r, 1, GLS_ERR_NONE, &cost) == -1 &&
         gls_retry_quota(r) == q,
     "other errors and successes are not retried");
  gls_retry_set_mode(r, GLS_RETRY_STANDARD, 1, 1000);
  ok(gls_retry_after(r, 1, GLS_ERR_THROTTLING, &cost) == -1, "max_attempts 1: never a retry");
  gls_retry_set_mode(r, GLS_RETRY_STANDARD, 0, 1000);
  ok(gls_retry_after(r, 1, GLS_ERR_THROTTLING, &cost) == -1, "max_attempts 0 counts as 1");
  ok(gls_retry_before_send(r, 0) == 0 && gls_retry_fill_rate(r) < 0, "standard: no limiter");
  gls_retry_on_reply(r, 1, 100);
  ok(gls_retry_before_send(r, 100) == 0 && gls_retry_fill_rate(r) < 0, "standard: throttles do not start one");

  gls_retry_set_mode(r, GLS_RETRY_OFF, 5, 1000);
  q = gls_retry_quota(r);
  fr.calls = 0;
  ok(gls_retry_after(r, 1, GLS_ERR_THROTTLING, &cost) == -1 && gls_retry_after(r, 1, GLS_ERR_TRANSPORT, &cost) == -1 &&
         gls_retry_quota(r) == q && fr.calls == 0,
     "mode off: no retries, no tokens, no random numbers");
  gls_retry_on_reply(r, 1, 200);
  ok(gls_retry_before_send(r, 200) == 0 && gls_retry_fill_rate(r) < 0, "mode off: no limiter");
  gls_retry_set_mode(r, GLS_RETRY_STANDARD, 5, 1000);
  ok(gls_retry_after(r, 1, GLS_ERR_THROTTLING, &cost) == 250, "back to standard: retries again");
  gls_retry_free(r);
}

static void test_adaptive(void) {
  fixed_rand fr = {0.5, 0};
  gls_retry *r = gls_retry_new(GLS_RETRY_ADAPTIVE, 3, 1000, fixed01, &fr);
  gls_retry_state s;
  int cost;
  ok(gls_retry_after(r, 1, GLS_ERR_THROTTLING, &cost) == 500 && cost == 5,
     "adaptive retries like standard (and shares the quota)");
  gls_retry_success(r, cost);

  ok(gls_retry_fill_rate(r) < 0 && gls_retry_before_send(r, 0) == 0, "adaptive: not enabled before a throttle");
  /* Hand-computed against botocore: replies at 0 s, 0.5 s, then a throttle at 1 s. */
  gls_retry_on_reply(r, 0, 0);
  gls_retry_get_state(r, &s);
  ok(s.started && s.measured_rate == 0 && s.fill_rate == 0.5 && s.max_capacity == 1,
     "first reply: rate 0, fill rate floored at 0.5");
  gls_retry_on_reply(r, 0, 500);
  gls_retry_get_state(r, &s);
  ok(close_to(s.measured_rate, 3.2), "0.5 s: 2 replies in 0.5 s smoothed by 0.8 = 3.2/s (%.17g)", s.measured_rate);
  ok(gls_retry_fill_rate(r) < 0, "successes alone do not enable the limiter");
  gls_retry_on_reply(r, 1, 1000);
  gls_retry_get_state(r, &s);
  ok(close_to(s.measured_rate, 2.24), "1 s: 2*0.8 + 3.2*0.2 = 2.24/s (%.17g)", s.measured_rate);
  double cut = gls_retry_fill_rate(r);
  ok(close_to(cut, 0.7 * 2.24), "throttle: fill rate cut to 0.7 x measured = 1.568 (%.17g)", cut);
  ok(close_to(s.w_max, 2.24) && close_to(s.k, cbrt(2.24 * 0.3 / 0.4)) && s.last_fail == 1.0,
     "CUBIC: w_max 2.24, K = cbrt(w_max * 0.3 / 0.4), last failure at 1 s");

  /* Growth afterwards: successes at 5/s; the rate climbs back towards and past w_max. */
  double prev = cut;
  int grew = 1;
  int64_t t;
  for (t = 1200; t <= 4000; t += 200) {
    gls_retry_on_reply(r, 0, t);
    double fr_now = gls_retry_fill_rate(r);
    gls_retry_get_state(r, &s);
    double want = 0.4 * pow((double)t / 1000.0 - 1.0 - s.k, 3) + 2.24;
    if (want > 2.0 * s.measured_rate) want = 2.0 * s.measured_rate;
    if (want < 0.5) want = 0.5;
    if (!close_to(fr_now, want)) grew = 0;
    if (t > 1400 && fr_now < prev - 1e-12) grew = 0;
    prev = fr_now;
  }
  ok(grew, "after the throttle, successes follow 0.4 (t - K)^3 + w_max (capped at 2 x measured), rising");
  ok(prev > 2.24, "three seconds later the rate is above w_max (%.6g)", prev);

  /* before_send: tokens, then a wait when the bucket is empty. */
  gls_retry_on_reply(r, 1, 4000); /* cut again */
  double rate = gls_retry_fill_rate(r);
  gls_retry_get_state(r, &s);
  int sent = 0;
  long w = 0;
  while ((w = gls_retry_before_send(r, 4000)) == 0 && sent < 100) sent++;
  gls_retry_get_state(r, &s);
  ok(sent >= 1 && sent <= (int)s.max_capacity, "at one instant at most max capacity (%.3g) sends pass (%d)",
     s.max_capacity, sent);
  ok(w > 0 && w == (long)ceil((1 - s.capacity) / rate * 1000.0), "then before_send says wait %ld ms (= (1 - %.3g) / %.3g)",
     w, s.capacity, rate);
  ok(gls_retry_before_send(r, 4000) == w, "asking again at the same time: the same wait, nothing taken");
  ok(gls_retry_before_send(r, 4000 + w) == 0, "after waiting that long the send may go");
  ok(gls_retry_before_send(r, 4000 + w) > 0, "and the next one waits again");
  gls_retry_get_state(r, &s);
  ok(s.capacity >= 0 && s.capacity < 1, "capacity stays in [0, 1) while waiting (%.3g)", s.capacity);

  /* A slow throttled client: fill rate floored at 0.5/s. */
  gls_retry *slow = gls_retry_new(GLS_RETRY_ADAPTIVE, 3, 1000, fixed01, &fr);
  gls_retry_on_reply(slow, 1, 100000);
  ok(gls_retry_fill_rate(slow) == 0.5, "a first-reply throttle (rate 0) gives the 0.5/s floor");
  ok(gls_retry_before_send(slow, 100000) == 2000, "empty bucket at 0.5/s: wait 2000 ms");
  ok(gls_retry_before_send(slow, 101000) == 1000, "one second later: 1000 ms left");
  ok(gls_retry_before_send(slow, 102000) == 0, "two seconds later: a token");
  gls_retry_free(slow);

  gls_retry_set_mode(r, GLS_RETRY_STANDARD, 3, 1000);
  ok(gls_retry_before_send(r, 4000) == 0 && gls_retry_fill_rate(r) < 0, "switching to standard bypasses the limiter");
  gls_retry_set_mode(r, GLS_RETRY_ADAPTIVE, 3, 1000);
  ok(gls_retry_fill_rate(r) == rate, "and back to adaptive keeps its state");
  gls_retry_free(r);
}

int main(void) {
  test_quota();
  test_backoff();
  test_classify();
  test_attempts_and_off();
  test_adaptive();
  return done_testing();
}
