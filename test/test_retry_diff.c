/* test_retry_diff.c - gls_retry against botocore, event for event.
 *
 * A simulated client (a few requests in flight, random replies, fixed
 * seeds) runs on gls_retry; every send and reply it makes becomes an event
 * of a JSON script. spec/support/botocore_retry.py replays the script on
 * botocore's own retry handlers (fake clock, scripted random numbers) and
 * prints its state after each event; the two must agree: retry decisions,
 * backoff delays and token waits in whole ms, the quota exactly, the
 * limiter's rates and capacities to 1e-9 relative.
 * Skipped (TAP SKIP) when python3 with botocore is not there. */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "retry.h"
#include "retry_state.h"
#include "tap.h"

#define EVENTS 400
#define INFLIGHT 4

/* ------------------------------------------------------------- the PRNG */

static uint64_t rng_next(uint64_t *s) { /* splitmix64 */
  uint64_t z = (*s += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}
static double rng01(uint64_t *s) { return (double)(rng_next(s) >> 11) * 0x1.0p-53; }
static int rng_int(uint64_t *s, int n) { return (int)(rng01(s) * n); }

/* The backoff's random source: one pre-drawn value per reply event. */
typedef struct scripted {
  double value;
  int calls;
} scripted;
static double scripted01(void *ud) {
  scripted *s = ud;
  s->calls++;
  return s->value;
}

/* --------------------------------------------------------- the outcomes */

typedef struct outcome {
  const char *code;
  int status;
  const char *exc; /* "read_timeout", "connect_timeout" or NULL */
} outcome;

/* Replies as GameLift Streams (restJson1) sends them, plus the other codes
 * botocore knows. No bare 429 without a code: gls counts that as
 * throttling, botocore does not (see the report in retry.c's history). */
static const outcome successes[] = {{NULL, 200, NULL}, {NULL, 201, NULL}, {NULL, 204, NULL}};
static const outcome throttles[] = {
    {"ThrottlingException", 429, NULL},      {"TooManyRequestsException", 429, NULL},
    {"Throttling", 400, NULL},               {"RequestLimitExceeded", 503, NULL},
    {"SlowDown", 503, NULL},                 {"PriorRequestNotComplete", 400, NULL},
    {"ProvisionedThroughputExceededException", 400, NULL},
    {"LimitExceededException", 400, NULL},   {"EC2ThrottledException", 400, NULL},
    {"BandwidthLimitExceeded", 400, NULL},   {"RequestThrottled", 400, NULL},
    {"ThrottledException", 400, NULL},       {"RequestThrottledException", 400, NULL},
    {"TransactionInProgressException", 400, NULL},
};
static const outcome transients[] = {
    {"InternalServerException", 500, NULL}, {"InternalServerException", 400, NULL},
    {NULL, 500, NULL},                      {NULL, 502, NULL},
    {NULL, 503, NULL},                      {NULL, 504, NULL},
    {"ServiceUnavailable", 503, NULL},      {"RequestTimeout", 400, NULL},
    {"RequestTimeoutException", 408, NULL}, {"InternalError", 500, NULL},
    {NULL, 0, "read_timeout"},              {NULL, 0, "connect_timeout"},
};
static const outcome others[] = {
    {"ValidationException", 400, NULL},     {"AccessDeniedException", 403, NULL},
    {"ResourceNotFoundException", 404, NULL}, {"ConflictException", 409, NULL},
    {"ServiceQuotaExceededException", 402, NULL}, {"InternalError", 400, NULL},
    {NULL, 400, NULL},                      {NULL, 404, NULL},
    {NULL, 501, NULL},
};
#define N(a) ((int)(sizeof a / sizeof *a))

/* --------------------------------------------------------- a simulation */

typedef struct profile {
  const char *name;
  int mode, max_attempts;
  uint64_t seed;
  double p_throttle, p_transient, p_other; /* the rest succeeds */
  int think_ms;                            /* pause between calls, up to */
} profile;

/* What gls said after one event. */
typedef struct mine {
  int is_send;
  long result; /* send: wait ms; reply: delay ms or -1 */
  int quota, throttled;
  double fill_rate_api;
  gls_retry_state st;
} mine;

typedef struct req {
  int id, attempt, cost, inflight;
  int64_t at; /* next send, or the reply when inflight */
} req;

static json_t *simulate(const profile *pf, mine *out, int *nout) {
  uint64_t rs = pf->seed;
  scripted sc = {0, 0};
  gls_retry *r = gls_retry_new(pf->mode, pf->max_attempts, 1000, scripted01, &sc);
  json_t *events = json_array();
  req q[INFLIGHT];
  int next_id = 1;
  int64_t now = 5000000 + rng_int(&rs, 100000); /* a monotonic clock, not at 0 */
  for (int i = 0; i < INFLIGHT; i++) q[i] = (req){next_id++, 1, 0, 0, now + rng_int(&rs, 300)};
  int n = 0;
  while (n < EVENTS) {
    int k = 0;
    for (int i = 1; i < INFLIGHT; i++)
      if (q[i].at < q[k].at) k = i;
    req *rq = &q[k];
    now = rq->at;
    json_t *ev = json_object();
    json_object_set_new(ev, "t", json_real((double)now / 1000.0));
    mine *m = &out[n];
    memset(m, 0, sizeof *m);
    if (!rq->inflight) {
      json_object_set_new(ev, "event", json_string("send"));
      long w = gls_retry_before_send(r, now);
      m->is_send = 1;
      m->result = w;
      if (w > 0) {
        rq->at = now + w; /* the caller's scheduler waits, then asks again */
      } else {
        rq->inflight = 1;
        rq->at = now + 5 + rng_int(&rs, 250);
      }
    } else {
      /* bursts of throttling: every few seconds of simulated time */
      double pt = ((now / 4000) % 3 == 0) ? pf->p_throttle * 3 : pf->p_throttle;
      double x = rng01(&rs);
      const outcome *o;
      if (x < pt) o = &throttles[rng_int(&rs, N(throttles))];
      else if (x < pt + pf->p_transient) o = &transients[rng_int(&rs, N(transients))];
      else if (x < pt + pf->p_transient + pf->p_other) o = &others[rng_int(&rs, N(others))];
      else o = &successes[rng_int(&rs, N(successes))];
      /* rand: sometimes the edges, mostly uniform */
      int pick = rng_int(&rs, 20);
      sc.value = pick == 0 ? 0.0 : pick == 1 ? 0.999999 : rng01(&rs);
      json_object_set_new(ev, "event", json_string("reply"));
      json_object_set_new(ev, "req", json_integer(rq->id));
      json_object_set_new(ev, "attempt", json_integer(rq->attempt));
      json_object_set_new(ev, "code", o->code ? json_string(o->code) : json_null());
      json_object_set_new(ev, "status", o->exc ? json_null() : json_integer(o->status));
      json_object_set_new(ev, "exc", o->exc ? json_string(o->exc) : json_null());
      json_object_set_new(ev, "rand", json_real(sc.value));

      int cls = gls_retry_classify(o->code, o->status, o->exc != NULL);
      m->throttled = cls == GLS_ERR_THROTTLING;
      gls_retry_on_reply(r, m->throttled, now);
      int calls = sc.calls;
      long d = -1;
      if (cls == GLS_ERR_NONE) {
        gls_retry_success(r, rq->cost);
      } else {
        d = gls_retry_after(r, rq->attempt, cls, &rq->cost);
      }
      if ((d >= 0) != (sc.calls == calls + 1)) d = -2; /* rand01 used exactly when retrying */
      m->result = d;
      rq->inflight = 0;
      if (d >= 0) {
        rq->attempt++;
        rq->at = now + d;
      } else { /* the call is over: the next one */
        *rq = (req){next_id++, 1, 0, 0, now + rng_int(&rs, pf->think_ms + 1)};
      }
    }
    m->quota = gls_retry_quota(r);
    m->fill_rate_api = gls_retry_fill_rate(r);
    gls_retry_get_state(r, &m->st);
    json_array_append_new(events, ev);
    n++;
  }
  gls_retry_free(r);
  *nout = n;
  json_t *script = json_object();
  json_object_set_new(script, "mode", json_string(pf->mode == GLS_RETRY_ADAPTIVE ? "adaptive" : "standard"));
  json_object_set_new(script, "max_attempts", json_integer(pf->max_attempts));
  json_object_set_new(script, "events", events);
  return script;
}

/* ------------------------------------------------------------ botocore */

static const char *str_or(const char *s, const char *dflt) { return s ? s : dflt; }

static const char *script_path(void) {
  static char buf[1024];
  if (access("spec/support/botocore_retry.py", R_OK) == 0) return "spec/support/botocore_retry.py";
  /* run from elsewhere: next to this file's directory */
  const char *f = __FILE__, *slash = strrchr(f, '/');
  if (slash) {
    snprintf(buf, sizeof buf, "%.*s/../spec/support/botocore_retry.py", (int)(slash - f), f);
    if (access(buf, R_OK) == 0) return buf;
  }
  return NULL;
}

/* Runs botocore on the script; returns its "results" array (owned). */
static json_t *run_botocore(const char *py, json_t *script, char *version, size_t vlen) {
  char tmpl[] = "/tmp/gls_retry_diff_XXXXXX";
  int fd = mkstemp(tmpl);
  if (fd < 0) return NULL;
  FILE *f = fdopen(fd, "w");
  if (!f) {
    close(fd);
    unlink(tmpl);
    return NULL;
  }
  json_dumpf(script, f, JSON_COMPACT);
  fclose(f);
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "python3 '%s' '%s'", py, tmpl);
  FILE *p = popen(cmd, "r");
  json_t *res = NULL;
  if (p) {
    json_error_t err;
    json_t *doc = json_loadf(p, 0, &err);
    int rc = pclose(p);
    if (doc && rc == 0) {
      res = json_incref(json_object_get(doc, "results"));
      snprintf(version, vlen, "%s", str_or(json_string_value(json_object_get(doc, "botocore")), "?"));
    } else {
      printf("# botocore_retry.py: exit %d, %s\n", rc, doc ? "" : err.text);
    }
    json_decref(doc);
  }
  unlink(tmpl);
  return res;
}

static int same_real(double a, double b) {
  if (a == b) return 1;
  double m = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
  return fabs(a - b) <= 1e-9 * m;
}

static double num(json_t *o, const char *key) { return json_number_value(json_object_get(o, key)); }

/* Compares one script's events; one TAP line per aspect, with the first
 * disagreement. Also counts what the script exercised. */
typedef struct coverage {
  int retries, refusals_quota, waits, throttles, cuts, empty_quota;
} coverage;

static void compare(const profile *pf, const mine *m, int n, json_t *script, json_t *res, coverage *cv) {
  json_t *events = json_object_get(script, "events");
  int adaptive = pf->mode == GLS_RETRY_ADAPTIVE;
  int bad_decision = -1, bad_quota = -1, bad_wait = -1, bad_rates = -1, bad_throttled = -1;
  char why_decision[256] = "", why_quota[256] = "", why_wait[256] = "", why_rates[512] = "", why_thr[128] = "";
  ok(json_array_size(res) == (size_t)n, "%s: botocore answered for all %d events (%zu)", pf->name, n,
     json_array_size(res));
  for (int i = 0; i < n && (size_t)i < json_array_size(res); i++) {
    json_t *b = json_array_get(res, (size_t)i);
    json_t *ev = json_array_get(events, (size_t)i);
    if (m[i].is_send) {
      double w = num(b, "wait");
      long want = 0;
      if (w > 0) {
        want = (long)ceil(w * 1000.0);
        if (want < 1) want = 1;
      }
      if (m[i].result > 0) cv->waits++;
      if (want != m[i].result && bad_wait < 0) {
        bad_wait = i;
        snprintf(why_wait, sizeof why_wait, "event %d: gls waits %ld ms, botocore %.17g s", i, m[i].result, w);
      }
    } else {
      json_t *d = json_object_get(b, "delay");
      long want = json_is_number(d) ? (long)(json_number_value(d) * 1000.0) : -1;
      if (m[i].result >= 0) cv->retries++;
      if (want != m[i].result && bad_decision < 0) {
        bad_decision = i;
        snprintf(why_decision, sizeof why_decision, "event %d (%s %s attempt %lld): gls %ld ms, botocore %s %.17g",
                 i, str_or(json_string_value(json_object_get(ev, "code")), "-"),
                 str_or(json_string_value(json_object_get(ev, "exc")), ""),
                 (long long)json_integer_value(json_object_get(ev, "attempt")), m[i].result,
                 json_is_number(d) ? "delay" : "no retry", json_is_number(d) ? json_number_value(d) : 0.0);
      }
      int bt = json_is_true(json_object_get(b, "throttled"));
      if (bt) cv->throttles++;
      if (bt != m[i].throttled && bad_throttled < 0) {
        bad_throttled = i;
        snprintf(why_thr, sizeof why_thr, "event %d: gls throttled=%d, botocore %d", i, m[i].throttled, bt);
      }
      if (m[i].result < 0 && i > 0 && m[i - 1].quota < 10) cv->refusals_quota++;
    }
    int bq = (int)json_integer_value(json_object_get(b, "quota"));
    if (m[i].quota < 5) cv->empty_quota++;
    if (bq != m[i].quota && bad_quota < 0) {
      bad_quota = i;
      snprintf(why_quota, sizeof why_quota, "event %d: gls quota %d, botocore %d", i, m[i].quota, bq);
    }
    if (adaptive) {
      const gls_retry_state *s = &m[i].st;
      int be = json_is_true(json_object_get(b, "enabled"));
      double api_want = be ? num(b, "fill_rate") : -1.0;
      if (i > 0 && s->fill_rate < m[i - 1].st.fill_rate && !m[i].is_send && m[i].throttled) cv->cuts++;
      struct {
        const char *name;
        double gls, boto;
      } v[] = {
          {"fill_rate", s->fill_rate, num(b, "fill_rate")},
          {"gls_retry_fill_rate", m[i].fill_rate_api, api_want},
          {"max_capacity", s->max_capacity, num(b, "max_capacity")},
          {"capacity", s->capacity, num(b, "capacity")},
          {"measured_rate", s->measured_rate, num(b, "measured_rate")},
          {"w_max", s->w_max, num(b, "w_max")},
          {"k", s->k, num(b, "k")},
          {"last_fail", s->last_fail, num(b, "last_fail")},
      };
      if (be != s->enabled && bad_rates < 0) {
        bad_rates = i;
        snprintf(why_rates, sizeof why_rates, "event %d: gls enabled=%d, botocore %d", i, s->enabled, be);
      }
      for (size_t j = 0; j < sizeof v / sizeof *v && bad_rates < 0; j++)
        if (!same_real(v[j].gls, v[j].boto)) {
          bad_rates = i;
          snprintf(why_rates, sizeof why_rates, "event %d: %s gls %.17g, botocore %.17g", i, v[j].name, v[j].gls,
                   v[j].boto);
        }
    }
  }
  ok(bad_decision < 0, "%s: retry decisions and backoff delays agree%s%s", pf->name, bad_decision < 0 ? "" : ": ",
     why_decision);
  ok(bad_throttled < 0, "%s: throttling classification agrees%s%s", pf->name, bad_throttled < 0 ? "" : ": ", why_thr);
  ok(bad_quota < 0, "%s: the retry quota agrees after every event%s%s", pf->name, bad_quota < 0 ? "" : ": ", why_quota);
  if (adaptive) {
    ok(bad_wait < 0, "%s: token waits agree%s%s", pf->name, bad_wait < 0 ? "" : ": ", why_wait);
    ok(bad_rates < 0, "%s: fill rate, capacity, measured rate and CUBIC state agree to 1e-9%s%s", pf->name,
       bad_rates < 0 ? "" : ": ", why_rates);
  }
}

int main(void) {
  static const profile profiles[] = {
      {"adaptive, seed 1", GLS_RETRY_ADAPTIVE, 3, 1, 0.10, 0.08, 0.05, 400},
      {"adaptive, seed 2, busy", GLS_RETRY_ADAPTIVE, 3, 2, 0.15, 0.05, 0.02, 50},
      {"adaptive, seed 3, heavy throttling", GLS_RETRY_ADAPTIVE, 5, 3, 0.30, 0.05, 0.02, 20},
      {"adaptive, seed 4, failing service", GLS_RETRY_ADAPTIVE, 8, 4, 0.20, 0.60, 0.05, 10},
      {"adaptive, seed 5, quiet", GLS_RETRY_ADAPTIVE, 3, 5, 0.03, 0.02, 0.05, 2000},
      {"standard, seed 6, failing service", GLS_RETRY_STANDARD, 10, 6, 0.20, 0.70, 0.02, 10},
      {"standard, seed 7", GLS_RETRY_STANDARD, 3, 7, 0.10, 0.10, 0.10, 300},
  };
  const char *py = script_path();
  if (!py) {
    skip("spec/support/botocore_retry.py not found (run from the repository root)",
         "gls_retry agrees with botocore's retry handlers");
    return done_testing();
  }
  if (system("python3 -c 'import botocore.retries.adaptive' >/dev/null 2>&1") != 0) {
    skip("python3 with botocore not found", "gls_retry agrees with botocore's retry handlers");
    return done_testing();
  }
  coverage cv = {0};
  char version[64] = "";
  for (size_t i = 0; i < sizeof profiles / sizeof *profiles; i++) {
    static mine m[EVENTS];
    int n = 0;
    json_t *script = simulate(&profiles[i], m, &n);
    json_t *res = run_botocore(py, script, version, sizeof version);
    if (ok(res != NULL, "%s: botocore_retry.py ran", profiles[i].name)) compare(&profiles[i], m, n, script, res, &cv);
    json_decref(res);
    json_decref(script);
  }
  printf("# botocore %s; exercised: %d retries, %d throttling replies, %d rate cuts, %d token waits, "
         "%d events with the quota under 5, %d refusals near an empty quota\n",
         version, cv.retries, cv.throttles, cv.cuts, cv.waits, cv.empty_quota, cv.refusals_quota);
  ok(cv.retries > 100 && cv.throttles > 100 && cv.cuts > 10 && cv.waits > 10,
     "the scripts exercised retries, throttles, rate cuts and token waits");
  ok(cv.empty_quota > 0 && cv.refusals_quota > 0, "and ran the quota dry, with retries refused for it");
  return done_testing();
}
