/* client.h - the client and request structures, shared by client.c and
 * multi.c only. Not installed. */
#ifndef GLS_CLIENT_H
#define GLS_CLIENT_H

#include <curl/curl.h>
#include "gls_private.h"
#include "awsconfig.h"
#include "chain.h"
#include "retry.h"

enum { REQ_RUNNING = 1, REQ_BACKOFF, REQ_DONE };

struct gls_request {
  gls_client *c;
  gls_request *prev, *next;   /* c->active (running/backoff) or c->done list */
  gls_done_fn done;
  void *ud;                   /* borrowed, handed back to done */
  gls_prepared prep;          /* built once; every attempt reuses it */
  CURL *easy;                 /* non-blocking requests own theirs */
  struct curl_slist *headers; /* this attempt's headers (signed) */
  gls_buf url;                /* this attempt's URL */
  gls_buf resp;               /* this attempt's body, bounded */
  int too_large, cancelled, state, attempts, skew_fixed, retry_cost;
  int64_t due_ms;             /* REQ_BACKOFF: when to try again */
  CURL *attempt_easy;         /* borrowed: the handle of this attempt */
  int read_timed_out;         /* this attempt was silent past read_timeout */
  int64_t quiet_since_ms;     /* when bytes last moved (or the request went out) */
  curl_off_t seen_dl, seen_ul;
  long signed_offset;         /* the clock offset this attempt was signed with */
  gls_result *result;
  char h_request_id[128], h_error_type[256], h_date[64];
};

struct gls_client {
  char errmsg[512];
  /* options (owned, secrets wiped); what is not set comes from the
   * environment and the shared config files at the first call */
  char *region, *endpoint_url, *access_key_id, *secret_access_key, *session_token;
  char *ca_bundle, *ua_extra, *profile;
  long connect_timeout_ms, read_timeout_ms, verify_ssl, max_attempts, max_response;
  long no_sign, retry_base_ms, time_offset, dry_run, use_fips, param_validation;
  int retry_mode;             /* GLS_RETRY_*, or -1: from the environment/profile */
  unsigned set;               /* SET_* bits: options given explicitly */
  gls_getenv_fn getenv_fn;
  void *getenv_ud;
  gls_retry_hook_fn retry_hook;
  void *retry_hook_ud;
  /* resolved configuration (owned; cleared when an option changes) */
  int resolved;
  char *r_region, *r_origin, *r_host, *r_base_path, *r_ca_bundle;
  long r_connect_ms, r_read_ms, r_attempts;
  gls_awsconfig *cfg;
  gls_credsource *creds;
  gls_retry *retry;
  gls_signer *signer;
  gls_regexes *regexes;
  /* blocking */
  CURL *easy;
  int in_blocking;
  /* non-blocking */
  CURLM *multi;
  int epfd;
  int64_t curl_due;           /* curl's timer, monotonic ms, -1 = none */
  gls_request *active;        /* running or waiting to retry */
  gls_request *done_head, *done_tail; /* finished, callbacks pending */
  size_t in_flight;
  int in_callback;
  uint64_t rng;               /* xorshift state for retry jitter */
};

enum { SET_CONNECT_TIMEOUT = 1, SET_READ_TIMEOUT = 2, SET_MAX_ATTEMPTS = 4, SET_CA_BUNDLE = 8 };

/* The client's environment lookup (its getter, or getenv); NULL for unset or empty. */
const char *gls_client_env(const gls_client *c, const char *name);

void gls_client_seterr(gls_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int64_t gls_now_ms(void);
int gls_valid_host_label(const char *s);
void gls_resolved_clear(gls_client *c);
gls_status gls_resolve(gls_client *c, gls_result *r);

gls_request *gls_request_new(gls_client *c, const char *operation, const char *input,
                             size_t input_len, gls_status *st);
gls_request *gls_request_open(gls_client *c, const char *operation, const char *input,
                              size_t input_len, gls_status *st);
gls_result *gls_request_release(gls_request *q);
gls_status gls_attempt_setup(gls_request *q, CURL *easy);
/* libcurl's header callback for an attempt (ud is the gls_request): one
 * header line (p, sz * n bytes, with its CRLF; not NUL-terminated) into
 * q->h_request_id, h_error_type and h_date, bounded; a status line clears
 * them (a redirect's or 100-continue's headers do not count). */
size_t gls_reply_header(char *p, size_t sz, size_t n, void *ud);
long gls_attempt_finish(gls_request *q, CURL *easy, CURLcode rc);
/* GLS_OPT_DRY_RUN: makes q's result the request as it would be sent. */
gls_status gls_dry_run_result(gls_request *q);

int gls_skew_correct(gls_client *c, const gls_result *r, const char *date_header);
int gls_parse_retry_mode(const char *v);
gls_status gls_multi_init(gls_client *c);
void gls_multi_cleanup(gls_client *c);

#endif
