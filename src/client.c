/* client.c - the client handle: options, region/credential/endpoint
 * resolution, one attempt's signing and curl set-up, blocking calls with
 * retries, the typed reconnect call. The non-blocking side is in multi.c. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include "client.h"
#include "endpoint.h"

static void wipe_str(char **p);

/* ------------------------------------------------------------ helpers */

void gls_client_seterr(gls_client *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->errmsg, sizeof c->errmsg, fmt, ap);
  va_end(ap);
}

static void wipe_str(char **p) {
  if (*p) {
    OPENSSL_cleanse(*p, strlen(*p));
    free(*p);
    *p = NULL;
  }
}

static int set_str(char **slot, const char *v) {
  char *copy = NULL;
  if (v && !(copy = strdup(v))) return -1;
  wipe_str(slot);
  *slot = copy;
  return 0;
}

int64_t gls_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *sys_getenv(void *ud, const char *name) {
  (void)ud;
  return getenv(name);
}

const char *gls_client_env(const gls_client *c, const char *name) {
  const char *v = c->getenv_fn ? c->getenv_fn(c->getenv_ud, name) : getenv(name);
  return v && *v ? v : NULL;
}

static const char *getter_for_chain(void *ud, const char *name) {
  return gls_client_env(ud, name);
}

/* RNG for retry jitter: xorshift64, seeded from RAND_bytes per client. */
static double rand01(void *ud) {
  gls_client *c = ud;
  c->rng ^= c->rng << 13;
  c->rng ^= c->rng >> 7;
  c->rng ^= c->rng << 17;
  return (double)(c->rng >> 11) / 9007199254740992.0;
}

/* ------------------------------------------------------------ lifecycle */

gls_status gls_client_create(gls_client **out) {
  if (!out) return GLS_E_INVALID_ARGUMENT;
  *out = NULL;
  gls_client *c = calloc(1, sizeof *c);
  if (!c) return GLS_E_NOMEM;
  c->connect_timeout_ms = 60000;
  c->read_timeout_ms = 60000;
  c->verify_ssl = 1;
  c->param_validation = 1;
  c->max_attempts = 3;
  c->max_response = 16L * 1024 * 1024;
  c->retry_base_ms = 1000;
  c->retry_mode = -1;
  c->use_fips = -1;
  c->getenv_fn = sys_getenv;
  c->epfd = -1;
  c->curl_due = -1;
  unsigned char seed[8];
  if (RAND_bytes(seed, sizeof seed) != 1) memcpy(seed, &c, sizeof seed < sizeof c ? sizeof seed : sizeof c);
  memcpy(&c->rng, seed, sizeof c->rng);
  c->rng |= 1;
  if (!(c->signer = gls_signer_new()) || !(c->regexes = gls_regexes_new()) ||
      !(c->easy = curl_easy_init()) ||
      !(c->retry = gls_retry_new(GLS_RETRY_STANDARD, 3, 1000, rand01, c))) {
    gls_client_destroy(c);
    return GLS_E_NOMEM;
  }
  if (gls_multi_init(c) != GLS_OK) {
    gls_client_destroy(c);
    return GLS_E_TRANSPORT;
  }
  *out = c;
  return GLS_OK;
}

void gls_client_destroy(gls_client *c) {
  if (!c) return;
  gls_multi_cleanup(c);
  if (c->easy) curl_easy_cleanup(c->easy);
  gls_signer_free(c->signer);
  gls_regexes_free(c->regexes);
  wipe_str(&c->region);
  wipe_str(&c->endpoint_url);
  wipe_str(&c->access_key_id);
  wipe_str(&c->secret_access_key);
  wipe_str(&c->session_token);
  wipe_str(&c->ca_bundle);
  wipe_str(&c->ua_extra);
  wipe_str(&c->profile);
  gls_resolved_clear(c);
  gls_retry_free(c->retry);
  OPENSSL_cleanse(c, sizeof *c);
  free(c);
}

const char *gls_client_errmsg(const gls_client *c) { return c ? c->errmsg : "no client"; }

gls_status gls_client_setopt_str(gls_client *c, gls_option opt, const char *v) {
  if (!c) return GLS_E_INVALID_ARGUMENT;
  char **slot = NULL;
  switch (opt) {
  case GLS_OPT_REGION: slot = &c->region; break;
  case GLS_OPT_ENDPOINT_URL: slot = &c->endpoint_url; break;
  case GLS_OPT_ACCESS_KEY_ID: slot = &c->access_key_id; break;
  case GLS_OPT_SECRET_ACCESS_KEY: slot = &c->secret_access_key; break;
  case GLS_OPT_SESSION_TOKEN: slot = &c->session_token; break;
  case GLS_OPT_CA_BUNDLE: slot = &c->ca_bundle; break;
  case GLS_OPT_USER_AGENT_EXTRA: slot = &c->ua_extra; break;
  case GLS_OPT_PROFILE: slot = &c->profile; break;
  case GLS_OPT_RETRY_MODE: {
    int m = gls_parse_retry_mode(v);
    if (v && m < 0) {
      gls_client_seterr(c, "retry_mode must be \"standard\", \"adaptive\" or \"off\"");
      return GLS_E_INVALID_ARGUMENT;
    }
    c->retry_mode = v ? m : -1;
    gls_resolved_clear(c);
    return GLS_OK;
  }
  default:
    gls_client_seterr(c, "option %d does not take a string", (int)opt);
    return GLS_E_INVALID_ARGUMENT;
  }
  if (opt == GLS_OPT_REGION && v && !gls_valid_host_label(v)) {
    gls_client_seterr(c, "region must be letters, digits and '-' only");
    return GLS_E_INVALID_ARGUMENT;
  }
  if (set_str(slot, v)) return GLS_E_NOMEM;
  if (opt == GLS_OPT_CA_BUNDLE) c->set = v ? c->set | SET_CA_BUNDLE : c->set & ~(unsigned)SET_CA_BUNDLE;
  gls_resolved_clear(c);
  return GLS_OK;
}

gls_status gls_client_setopt_long(gls_client *c, gls_option opt, long v) {
  if (!c) return GLS_E_INVALID_ARGUMENT;
  const char *name = NULL;
  long lo = 0, hi = 0;
  long *slot = NULL;
  switch (opt) {
  case GLS_OPT_CONNECT_TIMEOUT_MS: name = "connect_timeout"; slot = &c->connect_timeout_ms; hi = 86400000; break;
  case GLS_OPT_READ_TIMEOUT_MS: name = "read_timeout"; slot = &c->read_timeout_ms; hi = 86400000; break;
  case GLS_OPT_VERIFY_SSL: name = "verify_ssl"; slot = &c->verify_ssl; hi = 1; break;
  case GLS_OPT_MAX_ATTEMPTS: name = "max_attempts"; slot = &c->max_attempts; lo = 1; hi = 100; break;
  case GLS_OPT_MAX_RESPONSE_BYTES: name = "max_response_bytes"; slot = &c->max_response; lo = 1; hi = 1L << 30; break;
  case GLS_OPT_NO_SIGN_REQUEST: name = "no_sign_request"; slot = &c->no_sign; hi = 1; break;
  case GLS_OPT_RETRY_BASE_MS: name = "retry_base_delay"; slot = &c->retry_base_ms; hi = 60000; break;
  case GLS_OPT_TIME_OFFSET_S: name = "time_offset"; slot = &c->time_offset; lo = -86400 * 365; hi = 86400 * 365; break;
  case GLS_OPT_DRY_RUN: name = "dry_run"; slot = &c->dry_run; hi = 1; break;
  case GLS_OPT_PARAM_VALIDATION: name = "param_validation"; slot = &c->param_validation; hi = 1; break;
  case GLS_OPT_USE_FIPS_ENDPOINT: name = "use_fips_endpoint"; slot = &c->use_fips; lo = -1; hi = 1; break;
  default:
    gls_client_seterr(c, "option %d does not take an integer", (int)opt);
    return GLS_E_INVALID_ARGUMENT;
  }
  if (v < lo || v > hi) {
    gls_client_seterr(c, "%s must be between %ld and %ld, got %ld", name, lo, hi, v);
    return GLS_E_INVALID_ARGUMENT;
  }
  *slot = v;
  if (opt == GLS_OPT_CONNECT_TIMEOUT_MS) c->set |= SET_CONNECT_TIMEOUT;
  if (opt == GLS_OPT_READ_TIMEOUT_MS) c->set |= SET_READ_TIMEOUT;
  if (opt == GLS_OPT_MAX_ATTEMPTS) c->set |= SET_MAX_ATTEMPTS;
  gls_resolved_clear(c);
  return GLS_OK;
}

int gls_parse_retry_mode(const char *v) {
  if (!v) return -1;
  if (!strcmp(v, "standard") || !strcmp(v, "legacy")) return GLS_RETRY_STANDARD;
  if (!strcmp(v, "adaptive")) return GLS_RETRY_ADAPTIVE;
  if (!strcmp(v, "off")) return GLS_RETRY_OFF;
  return -1;
}

gls_status gls_client_set_environment(gls_client *c, gls_getenv_fn fn, void *ud) {
  if (!c) return GLS_E_INVALID_ARGUMENT;
  c->getenv_fn = fn ? fn : sys_getenv;
  c->getenv_ud = fn ? ud : NULL;
  gls_resolved_clear(c);
  return GLS_OK;
}

gls_status gls_client_set_retry_hook(gls_client *c, gls_retry_hook_fn fn, void *ud) {
  if (!c) return GLS_E_INVALID_ARGUMENT;
  c->retry_hook = fn;
  c->retry_hook_ud = ud;
  return GLS_OK;
}

const char *gls_client_credential_source(const gls_client *c) {
  return c && c->creds ? gls_credsource_name(c->creds) : NULL;
}

/* ------------------------------------------------------------ resolution */

int gls_valid_host_label(const char *s) {
  if (!*s || strlen(s) > 63) return 0;
  for (const char *p = s; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-'))
      return 0;
  return 1;
}

void gls_resolved_clear(gls_client *c) {
  c->resolved = 0;
  wipe_str(&c->r_region);
  wipe_str(&c->r_origin);
  wipe_str(&c->r_host);
  wipe_str(&c->r_base_path);
  wipe_str(&c->r_ca_bundle);
  gls_awsconfig_free(c->cfg);
  c->cfg = NULL;
  gls_credsource_free(c->creds);
  c->creds = NULL;
}

static int truthy(const char *v) { return v && (!strcasecmp(v, "true") || !strcmp(v, "1")); }

/* A profile value, or NULL. */
static const char *pv(const gls_client *c, const char *profile, const char *key) {
  const char *v = c->cfg ? gls_awsconfig_get(c->cfg, profile, key) : NULL;
  return v && *v ? v : NULL;
}

/* Everything the AWS CLI resolves before a call: the shared files and
 * profile, region, FIPS, endpoint (explicit, AWS_ENDPOINT_URL_GAMELIFTSTREAMS,
 * AWS_ENDPOINT_URL, the profile's services section and endpoint_url, then
 * the endpoint rule set), CA bundle, timeouts, retry mode and attempts, and
 * which credential source applies. Configuration only: no network. Done
 * once per configuration; on failure r gets the error. */
gls_status gls_resolve(gls_client *c, gls_result *r) {
  if (c->resolved) return GLS_OK;
  gls_resolved_clear(c);
  gls_buf err = {0}, url = {0};
  gls_status st = GLS_OK;
  c->cfg = gls_awsconfig_load(getter_for_chain, c, &err);
  if (!c->cfg) {
    st = gls_result_fail(r, GLS_E_CONFIG, "InvalidConfig", err.data ? err.data : "cannot read the AWS config files");
    goto out;
  }
  const char *profile = c->profile;
  int named = profile != NULL;
  if (!profile) profile = gls_client_env(c, "AWS_PROFILE");
  if (!profile) profile = gls_client_env(c, "AWS_DEFAULT_PROFILE");
  if (profile && !gls_awsconfig_has_profile(c->cfg, profile)) {
    gls_buf_printf(&err, "The config profile (%s) could not be found", profile);
    st = gls_result_fail(r, GLS_E_CONFIG, "ProfileNotFound", err.data);
    goto out;
  }
  if (!profile) profile = "default";

  const char *region = c->region;
  if (!region) region = gls_client_env(c, "AWS_REGION");
  if (!region) region = gls_client_env(c, "AWS_DEFAULT_REGION");
  if (!region) region = pv(c, profile, "region");
  if (region && !gls_valid_host_label(region)) {
    st = gls_result_fail(r, GLS_E_CONFIG, "InvalidRegion", "region must be letters, digits and '-' only");
    goto out;
  }
  if (region && set_str(&c->r_region, region)) goto nomem;

  int fips = (int)c->use_fips;
  if (fips < 0) {
    const char *f = gls_client_env(c, "AWS_USE_FIPS_ENDPOINT");
    if (!f) f = pv(c, profile, "use_fips_endpoint");
    fips = truthy(f);
  }
  const char *endpoint = c->endpoint_url;
  const char *ignore = gls_client_env(c, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
  if (!ignore) ignore = pv(c, profile, "ignore_configured_endpoint_urls");
  if (!endpoint && !truthy(ignore)) {
    endpoint = gls_client_env(c, "AWS_ENDPOINT_URL_GAMELIFTSTREAMS");
    if (!endpoint) endpoint = gls_client_env(c, "AWS_ENDPOINT_URL");
    const char *svc = pv(c, profile, "services");
    if (!endpoint && svc) endpoint = gls_awsconfig_service(c->cfg, svc, "gameliftstreams", "endpoint_url");
    if (!endpoint) endpoint = pv(c, profile, "endpoint_url");
  }
  st = gls_endpoint_resolve(c->r_region, fips, endpoint, &url, &err);
  if (st != GLS_OK) {
    gls_result_fail(r, st, st == GLS_E_NO_REGION ? "NoRegion" : "InvalidEndpoint",
                    st == GLS_E_NO_REGION
                        ? "Invalid Configuration: Missing Region: give the region option, AWS_REGION, "
                          "AWS_DEFAULT_REGION or the profile's region"
                        : err.data);
    goto out;
  }
  if (!c->r_region && !c->no_sign) {
    st = gls_result_fail(r, GLS_E_NO_REGION, "NoRegion",
                         "You must specify a region (the region option, AWS_REGION, AWS_DEFAULT_REGION or the profile's region).");
    goto out;
  }

  /* network and retries: explicit options, then environment, then profile */
  const char *ca = (c->set & SET_CA_BUNDLE) ? c->ca_bundle : gls_client_env(c, "AWS_CA_BUNDLE");
  if (!ca) ca = pv(c, profile, "ca_bundle");
  if (ca && set_str(&c->r_ca_bundle, ca)) goto nomem;
  c->r_connect_ms = c->connect_timeout_ms;
  c->r_read_ms = c->read_timeout_ms;
  const char *t;
  if (!(c->set & SET_CONNECT_TIMEOUT) && (t = pv(c, profile, "cli_connect_timeout")))
    c->r_connect_ms = (long)(atof(t) * 1000);
  if (!(c->set & SET_READ_TIMEOUT) && (t = pv(c, profile, "cli_read_timeout")))
    c->r_read_ms = (long)(atof(t) * 1000);
  int mode = c->retry_mode;
  if (mode < 0) mode = gls_parse_retry_mode(gls_client_env(c, "AWS_RETRY_MODE"));
  if (mode < 0) mode = gls_parse_retry_mode(pv(c, profile, "retry_mode"));
  if (mode < 0) mode = GLS_RETRY_STANDARD;
  long attempts = c->max_attempts;
  if (!(c->set & SET_MAX_ATTEMPTS)) {
    const char *a = gls_client_env(c, "AWS_MAX_ATTEMPTS");
    if (!a) a = pv(c, profile, "max_attempts");
    if (a && atol(a) >= 1 && atol(a) <= 100) attempts = atol(a);
  }
  gls_retry_set_mode(c->retry, mode, (int)attempts, c->retry_base_ms);
  c->r_attempts = mode == GLS_RETRY_OFF ? 1 : attempts;

  /* where to put requests */
  CURLU *u = curl_url();
  char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
  if (!u) goto nomem;
  if (curl_url_set(u, CURLUPART_URL, url.data, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
      (strcmp(scheme, "http") && strcmp(scheme, "https"))) {
    gls_buf_reset(&err);
    gls_buf_printf(&err, "endpoint_url must be an http:// or https:// URL with a host (from %s)",
                   c->endpoint_url ? "the endpoint_url option" : "the environment or profile");
    st = gls_result_fail(r, GLS_E_CONFIG, "InvalidEndpoint", err.data);
  } else {
    curl_url_get(u, CURLUPART_PORT, &port, CURLU_NO_DEFAULT_PORT);
    curl_url_get(u, CURLUPART_PATH, &path, 0);
    gls_buf hb = {0}, ob = {0};
    gls_buf_printf(&hb, "%s%s%s", host, port ? ":" : "", port ? port : "");
    gls_buf_printf(&ob, "%s://%s%s%s", scheme, host, port ? ":" : "", port ? port : "");
    c->r_host = hb.data;
    c->r_origin = ob.data;
    c->r_base_path = strdup(path && strcmp(path, "/") ? path : "");
    if (!c->r_host || !c->r_origin || !c->r_base_path) st = gls_result_fail(r, GLS_E_NOMEM, "NoMemory", "out of memory");
  }
  curl_free(scheme);
  curl_free(host);
  curl_free(port);
  curl_free(path);
  curl_url_cleanup(u);
  if (st != GLS_OK) goto out;

  /* which credential source (configuration only; fetched at the first attempt) */
  if (!c->no_sign) {
    gls_creds explicit_creds = {c->access_key_id, c->secret_access_key, c->session_token, 0, NULL};
    if ((c->access_key_id != NULL) != (c->secret_access_key != NULL)) {
      st = gls_result_fail(r, GLS_E_NO_CREDENTIALS, "NoCredentials",
                           "Partial credentials found: both an access key id and a secret access key are needed.");
      goto out;
    }
    gls_chain_env ce = {getter_for_chain, c, c->cfg, profile, named, c->r_region,
                        c->access_key_id ? &explicit_creds : NULL};
    gls_buf_reset(&err);
    c->creds = gls_chain_select(&ce, &err);
    if (!c->creds) {
      st = gls_result_fail(r, GLS_E_NO_CREDENTIALS, "NoCredentials", err.data ? err.data : "Unable to locate credentials");
      goto out;
    }
  }
  c->resolved = 1;
  goto out;
nomem:
  st = gls_result_fail(r, GLS_E_NOMEM, "NoMemory", "out of memory");
out:
  gls_buf_free(&err);
  gls_buf_free(&url);
  if (st != GLS_OK) gls_resolved_clear(c);
  return st;
}

/* ------------------------------------------------------------ one attempt */

/* The read timeout: the longest silence once the request is on its way,
 * checked from libcurl's progress callback (about once a second while idle).
 * libcurl's low-speed check alone averages the speed over several seconds of
 * history, so the bytes of a request body kept it from ever firing on a POST
 * to a server that then said nothing. */
static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
  gls_request *q = ud;
  (void)dltotal;
  (void)ultotal;
  int64_t now = gls_now_ms();
  curl_off_t pre = 0;
  curl_easy_getinfo(q->attempt_easy, CURLINFO_PRETRANSFER_TIME_T, &pre);
  if (pre == 0 || dlnow != q->seen_dl || ulnow != q->seen_ul) {
    q->seen_dl = dlnow;
    q->seen_ul = ulnow;
    q->quiet_since_ms = now;
    return 0;
  }
  if (now - q->quiet_since_ms >= q->c->r_read_ms) {
    q->read_timed_out = 1;
    return 1; /* CURLE_ABORTED_BY_CALLBACK */
  }
  return 0;
}

static size_t on_body(char *p, size_t sz, size_t n, void *ud) {
  gls_request *q = ud;
  size_t len = sz * n;
  if (q->resp.len + len > (size_t)q->c->max_response) {
    q->too_large = 1;
    return 0;
  }
  return gls_buf_add(&q->resp, p, len) ? 0 : len;
}

static void header_value(const char *line, size_t n, size_t name_len, char *out, size_t outn) {
  const char *v = line + name_len;
  const char *end = line + n;
  while (v < end && (*v == ' ' || *v == '\t')) v++;
  while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ')) end--;
  size_t k = (size_t)(end - v);
  if (k >= outn) k = outn - 1;
  memcpy(out, v, k);
  out[k] = '\0';
}

size_t gls_reply_header(char *p, size_t sz, size_t n, void *ud) {
  gls_request *q = ud;
  size_t len = sz * n;
  if (len >= 5 && !strncmp(p, "HTTP/", 5)) {
    q->h_request_id[0] = q->h_error_type[0] = q->h_date[0] = '\0';
  } else if (len > 17 && !strncasecmp(p, "x-amzn-requestid:", 17)) {
    header_value(p, len, 17, q->h_request_id, sizeof q->h_request_id);
  } else if (len > 17 && !strncasecmp(p, "x-amz-request-id:", 17) && !q->h_request_id[0]) {
    header_value(p, len, 17, q->h_request_id, sizeof q->h_request_id);
  } else if (len > 17 && !strncasecmp(p, "x-amzn-errortype:", 17)) {
    header_value(p, len, 17, q->h_error_type, sizeof q->h_error_type);
  } else if (len > 5 && !strncasecmp(p, "date:", 5)) {
    header_value(p, len, 5, q->h_date, sizeof q->h_date);
  }
  return len;
}

/* Signs the prepared request for this attempt and configures easy for it.
 * On failure fills q->result. */
gls_status gls_attempt_setup(gls_request *q, CURL *easy) {
  gls_client *c = q->c;
  const gls_prepared *p = &q->prep;
  char buf[512];
  curl_slist_free_all(q->headers);
  q->headers = NULL;
  gls_buf_reset(&q->resp);
  q->too_large = 0;
  q->h_request_id[0] = q->h_error_type[0] = q->h_date[0] = '\0';

  gls_buf url = {0};
  gls_buf_free(&q->url);
  if (gls_buf_adds(&url, c->r_origin) || gls_buf_add(&url, p->path.data, p->path.len) ||
      (p->query.len && (gls_buf_addc(&url, '?') || gls_buf_add(&url, p->query.data, p->query.len)))) {
    gls_buf_free(&url);
    return gls_result_fail(q->result, GLS_E_NOMEM, "NoMemory", "out of memory");
  }

  struct curl_slist *h = NULL;
#define ADDH(...) do { snprintf(buf, sizeof buf, __VA_ARGS__); \
    struct curl_slist *t_ = curl_slist_append(h, buf); if (!t_) goto nomem; h = t_; } while (0)
  ADDH("Host: %s", c->r_host);
  if (p->has_body) ADDH("Content-Type: application/json");
  const gls_creds *cr = NULL;
  if (!c->no_sign) {
    gls_http_opts http = {c->r_connect_ms ? c->r_connect_ms : 60000, 30000, (int)c->verify_ssl, c->r_ca_bundle, 0};
    gls_buf why = {0};
    gls_status cst = gls_credsource_get(c->creds, (int64_t)time(NULL), &http, &cr, &why);
    if (cst != GLS_OK) {
      curl_slist_free_all(h);
      gls_buf_free(&url);
      gls_result_fail(q->result, GLS_E_NO_CREDENTIALS, "NoCredentials", why.data ? why.data : "no credentials");
      gls_buf_free(&why);
      return GLS_E_NO_CREDENTIALS;
    }
    gls_buf_free(&why);
  }
  if (cr) {
    gls_header hs[2] = {{"Host", 4, c->r_host, strlen(c->r_host)},
                        {"Content-Type", 12, "application/json", 16}};
    gls_sigv4_params sp = {0};
    sp.method = p->op->method;
    sp.path = p->path.data;
    sp.query = p->query.len ? p->query.data : NULL;
    sp.headers = hs;
    sp.nheaders = p->has_body ? 2 : 1;
    sp.body = p->body.data;
    sp.body_len = p->body.len;
    sp.access_key_id = cr->access_key_id;
    sp.secret_access_key = cr->secret_access_key;
    sp.session_token = cr->session_token;
    sp.region = c->r_region;
    sp.service = gls_model_signing_name;
    sp.time = (int64_t)time(NULL) + c->time_offset;
    q->signed_offset = c->time_offset;
    sp.normalize_path = 1;
    sp.double_encode = 1;
    gls_sigv4_result sr;
    char err[256] = "";
    gls_status st = gls_signer_sign(c->signer, &sp, &sr, err, sizeof err);
    if (st != GLS_OK) {
      curl_slist_free_all(h);
      gls_buf_free(&url);
      return gls_result_fail(q->result, st, "SigningError", err);
    }
    for (size_t i = 0; i < sr.nadded; i++) {
      gls_buf line = {0};
      if (gls_buf_add(&line, sr.added[i].name, sr.added[i].name_len) || gls_buf_adds(&line, ": ") ||
          gls_buf_add(&line, sr.added[i].value, sr.added[i].value_len)) {
        gls_buf_wipe_free(&line);
        goto nomem;
      }
      struct curl_slist *t = curl_slist_append(h, line.data);
      gls_buf_wipe_free(&line);
      if (!t) goto nomem;
      h = t;
    }
  }
  ADDH("User-Agent: gls/%s %s%s", GLS_VERSION, curl_version(), "");
  if (c->ua_extra) ADDH("X-Gls-Agent: %.400s", c->ua_extra);
  ADDH("Expect:");
  ADDH("Accept: application/json");
#undef ADDH
  q->headers = h;

  curl_easy_reset(easy);
  curl_easy_setopt(easy, CURLOPT_URL, url.data);
  q->url = url; /* kept for dry runs; freed with the request */
  curl_easy_setopt(easy, CURLOPT_PATH_AS_IS, 1L);
  curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, p->op->method);
  if (p->has_body || !strcmp(p->op->method, "POST") || !strcmp(p->op->method, "PUT") ||
      !strcmp(p->op->method, "PATCH")) {
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, p->body.data ? p->body.data : "");
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)p->body.len);
  } else if (!strcmp(p->op->method, "GET")) {
    curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
  }
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, q->headers);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, q);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, gls_reply_header);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, q);
  curl_easy_setopt(easy, CURLOPT_PRIVATE, q);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->max_response);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, c->r_connect_ms);
  q->attempt_easy = easy;
  q->read_timed_out = 0;
  if (c->r_read_ms > 0) {
    /* "read timeout": fail after this long without a byte received. The
     * low-speed check also wakes the transfer up every second. */
    curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME, (c->r_read_ms + 999) / 1000);
    q->quiet_since_ms = gls_now_ms();
    q->seen_dl = q->seen_ul = -1;
    curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(easy, CURLOPT_XFERINFODATA, q);
    curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
  }
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, c->verify_ssl ? 1L : 0L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, c->verify_ssl ? 2L : 0L);
  if (c->r_ca_bundle) curl_easy_setopt(easy, CURLOPT_CAINFO, c->r_ca_bundle);
  /* Proxies come from the client's environment (its getter), not curl's
   * own getenv, so an injected environment is the whole truth. */
  int tls = !strncmp(c->r_origin, "https:", 6);
  const char *proxy = gls_client_env(c, tls ? "HTTPS_PROXY" : "HTTP_PROXY");
  if (!proxy) proxy = gls_client_env(c, tls ? "https_proxy" : "http_proxy");
  const char *no_proxy = gls_client_env(c, "NO_PROXY");
  if (!no_proxy) no_proxy = gls_client_env(c, "no_proxy");
  curl_easy_setopt(easy, CURLOPT_PROXY, proxy ? proxy : "");
  if (no_proxy) curl_easy_setopt(easy, CURLOPT_NOPROXY, no_proxy);
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  q->attempts++;
  q->result->attempts = q->attempts;
  return GLS_OK;
nomem:
  curl_slist_free_all(h);
  gls_buf_free(&url);
  return gls_result_fail(q->result, GLS_E_NOMEM, "NoMemory", "out of memory");
}

/* Turns a finished transfer into q->result. Returns the delay in ms before
 * another attempt, or -1 when the result is final. */
long gls_attempt_finish(gls_request *q, CURL *easy, CURLcode rc) {
  gls_client *c = q->c;
  gls_result *r = q->result;
  long http = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &http);
  free(r->request_id);
  r->request_id = q->h_request_id[0] ? strdup(q->h_request_id) : NULL;
  r->http_status = (int)http;
  if (rc != CURLE_OK) {
    char msg[300];
    if (q->too_large || rc == CURLE_FILESIZE_EXCEEDED) {
      snprintf(msg, sizeof msg, "the reply body is larger than max_response_bytes (%ld)", c->max_response);
      gls_result_fail(r, GLS_E_RESPONSE_TOO_LARGE, "ResponseTooLarge", msg);
      r->retryable = 0;
    } else if (rc == CURLE_OPERATION_TIMEDOUT || (rc == CURLE_ABORTED_BY_CALLBACK && q->read_timed_out)) {
      /* Whether the request went out tells a read timeout from a connect one:
       * a kept-alive connection that is reused has no connect time at all. */
      long sent = 0;
      curl_easy_getinfo(easy, CURLINFO_REQUEST_SIZE, &sent);
      snprintf(msg, sizeof msg, "%s timeout on endpoint URL \"%s\"",
               sent > 0 || q->read_timed_out ? "Read" : "Connect", c->r_origin);
      gls_result_fail(r, GLS_E_TIMEOUT, "Timeout", msg);
      r->retryable = 1;
    } else if (rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_PEER_FAILED_VERIFICATION ||
               rc == CURLE_SSL_CERTPROBLEM || rc == CURLE_SSL_CACERT_BADFILE ||
               rc == CURLE_SSL_CIPHER || rc == CURLE_SSL_ISSUER_ERROR) {
      snprintf(msg, sizeof msg, "TLS failure talking to \"%s\": %s", c->r_origin, curl_easy_strerror(rc));
      gls_result_fail(r, GLS_E_TLS, "TLSError", msg);
      r->retryable = 0;
    } else {
      snprintf(msg, sizeof msg, "Could not connect to the endpoint URL \"%s\": %s", c->r_origin,
               curl_easy_strerror(rc));
      gls_result_fail(r, GLS_E_TRANSPORT, "ConnectionError", msg);
      r->retryable = 1;
    }
  } else {
    gls_parse_reply(r, q->prep.op, (int)http, q->resp.data ? q->resp.data : "", q->resp.len,
                    q->h_error_type);
  }
  gls_buf_wipe_free(&q->resp);
  int cls = rc != CURLE_OK ? (r->retryable ? GLS_ERR_TRANSPORT : GLS_ERR_OTHER)
                           : gls_retry_classify(r->status == GLS_OK ? NULL : r->code, r->http_status, 0);
  if (r->status == GLS_E_BAD_RESPONSE) cls = GLS_ERR_TRANSIENT;
  gls_retry_on_reply(c->retry, cls == GLS_ERR_THROTTLING, gls_now_ms());
  if (r->status == GLS_OK) {
    gls_retry_success(c->retry, q->retry_cost);
    return -1;
  }
  if (q->cancelled) return -1;
  long delay;
  int skew = q->skew_fixed ? 0 : gls_skew_correct(c, r, q->h_date);
  if (skew == 1 || (skew == 2 && q->signed_offset != c->time_offset)) {
    /* The clock was off (this reply corrected it, or another one did since
     * this attempt was signed): retry at once with the corrected time. With
     * no attempt left, the error says a retry would now work, for callers
     * that retry themselves (the runtime runs its client with max_attempts 1). */
    q->skew_fixed = 1;
    r->retryable = 1;
    delay = q->attempts < c->r_attempts ? 0 : -1;
  } else {
    int cost = 0;
    delay = gls_retry_after(c->retry, q->attempts, cls, &cost);
    if (delay >= 0) q->retry_cost = cost;
  }
  if (c->retry_hook) {
    gls_retry_event ev = {q->prep.op->name, q->attempts, r->code, r->http_status, r->retryable, delay};
    long h = c->retry_hook(c, &ev, c->retry_hook_ud);
    if (h != GLS_RETRY_KEEP) delay = h < 0 ? -1 : h;
    if (delay >= 0 && q->attempts >= c->r_attempts) delay = -1;
  }
  return delay;
}

/* Clock skew: when the service refuses a signature as expired or too
 * skewed, take the time from its Date header and keep the difference as
 * the client's offset. Returns 1 when the offset changed, 2 when the reply
 * is a skew refusal and the offset already agrees with its Date, else 0. */
int gls_skew_correct(gls_client *c, const gls_result *r, const char *date_header) {
  if (!r->code || !date_header || !*date_header) return 0;
  int skew = !strcmp(r->code, "RequestTimeTooSkewed") || !strcmp(r->code, "RequestExpired") ||
             !strcmp(r->code, "RequestInTheFuture") ||
             ((!strcmp(r->code, "InvalidSignatureException") || !strcmp(r->code, "SignatureDoesNotMatch") ||
               !strcmp(r->code, "AuthFailure")) && r->message && strstr(r->message, "Signature expired")) ||
             (r->message && strstr(r->message, "Signature not yet current"));
  if (!skew) return 0;
  time_t server = curl_getdate(date_header, NULL);
  if (server <= 0) return 0;
  long offset = (long)(server - time(NULL));
  if (labs(offset - c->time_offset) < 60) return 2; /* already right (or not what is wrong) */
  c->time_offset = offset;
  return 1;
}

/* ------------------------------------------------------------ requests */

gls_request *gls_request_new(gls_client *c, const char *operation, const char *input,
                             size_t input_len, gls_status *st) {
  gls_request *q = calloc(1, sizeof *q);
  if (!q || !(q->result = gls_result_new())) {
    free(q);
    *st = GLS_E_NOMEM;
    return NULL;
  }
  q->c = c;
  *st = GLS_OK;
  const gls_operation *op = gls_find_operation(operation);
  if (!op) {
    char msg[200];
    snprintf(msg, sizeof msg, "unknown operation \"%.120s\"", operation ? operation : "(null)");
    *st = gls_result_fail(q->result, GLS_E_UNKNOWN_OPERATION, "UnknownOperation", msg);
    return q;
  }
  if ((*st = gls_resolve(c, q->result)) != GLS_OK) return q;
  gls_buf err = {0};
  *st = gls_prepare(c->param_validation ? c->regexes : NULL, op, input ? input : "", input ? input_len : 0, c->r_base_path,
                    &q->prep, &err);
  if (*st != GLS_OK)
    gls_result_fail(q->result, *st, *st == GLS_E_PARAM_VALIDATION ? "ParamValidation" : "InvalidInput",
                    err.data ? err.data : "invalid input");
  gls_buf_free(&err);
  return q;
}

/* gls_request_new for the public entry points: misuse (input that is not a
 * JSON object) is reported in the client's error buffer and gives NULL. */
gls_request *gls_request_open(gls_client *c, const char *operation, const char *input,
                              size_t input_len, gls_status *st) {
  gls_request *q = gls_request_new(c, operation, input, input_len, st);
  if (q && *st == GLS_E_INVALID_ARGUMENT) {
    gls_client_seterr(c, "%s", q->result->message ? q->result->message : "invalid input");
    gls_result_free(gls_request_release(q));
    q = NULL;
  }
  return q;
}

/* Frees q; returns its result (owned by the caller now). */
gls_result *gls_request_release(gls_request *q) {
  gls_result *r = q->result;
  curl_slist_free_all(q->headers);
  gls_buf_wipe_free(&q->resp);
  gls_buf_free(&q->url);
  gls_prepared_free(&q->prep);
  free(q);
  return r;
}

/* A dry run's result: the request as it would go on the wire. */
gls_status gls_dry_run_result(gls_request *q) {
  json_t *doc = json_object(), *hs = json_array();
  if (!doc || !hs) {
    json_decref(doc);
    json_decref(hs);
    return gls_result_fail(q->result, GLS_E_NOMEM, "NoMemory", "out of memory");
  }
  json_object_set_new(doc, "method", json_string(q->prep.op->method));
  json_object_set_new(doc, "url", json_string(q->url.data));
  for (struct curl_slist *h = q->headers; h; h = h->next) {
    const char *colon = strchr(h->data, ':');
    if (!colon || colon[1] == '\0') continue; /* "Expect:" only disables a header */
    const char *v = colon + 1;
    while (*v == ' ') v++;
    json_array_append_new(hs, json_pack("[s#s]", h->data, (int)(colon - h->data), v));
  }
  json_object_set_new(doc, "headers", hs);
  json_object_set_new(doc, "body", json_stringn(q->prep.body.data ? q->prep.body.data : "", q->prep.body.len));
  char *text = json_dumps(doc, JSON_COMPACT);
  json_decref(doc);
  if (!text) return gls_result_fail(q->result, GLS_E_NOMEM, "NoMemory", "out of memory");
  q->result->status = GLS_OK;
  q->result->json = text;
  q->result->json_len = strlen(text);
  return GLS_OK;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {}
}

gls_status gls_call(gls_client *c, const char *operation, const char *input, size_t input_len,
                    gls_result **out) {
  if (!c || !out) return GLS_E_INVALID_ARGUMENT;
  *out = NULL;
  if (c->in_blocking) {
    gls_client_seterr(c, "gls_call is not re-entrant on one client");
    return GLS_E_BUSY;
  }
  gls_status st;
  gls_request *q = gls_request_open(c, operation, input, input_len, &st);
  if (!q) return st;
  c->in_blocking = 1;
  while (st == GLS_OK) {
    long wait;
    while ((wait = gls_retry_before_send(c->retry, gls_now_ms())) > 0) sleep_ms(wait); /* adaptive */
    if ((st = gls_attempt_setup(q, c->easy)) != GLS_OK) break;
    if (c->dry_run) {
      st = gls_dry_run_result(q);
      break;
    }
    CURLcode rc = curl_easy_perform(c->easy);
    long delay = gls_attempt_finish(q, c->easy, rc);
    st = q->result->status;
    if (delay < 0) break;
    sleep_ms(delay);
    st = GLS_OK;
  }
  c->in_blocking = 0;
  if (st != GLS_OK && q->result->message)
    gls_client_seterr(c, "%s: %s", q->result->code ? q->result->code : "error", q->result->message);
  *out = gls_request_release(q);
  return st;
}

gls_status gls_create_stream_session_connection(gls_client *c, const char *identifier,
                                                const char *stream_session_identifier,
                                                const char *signal_request, const char *client_token,
                                                char **signal_response, gls_result **out_result) {
  if (out_result) *out_result = NULL;
  if (signal_response) *signal_response = NULL;
  if (!c || !signal_response) return GLS_E_INVALID_ARGUMENT;
  json_t *in = json_object();
  if (!in) return GLS_E_NOMEM;
  if (identifier) json_object_set_new(in, "Identifier", json_string(identifier));
  if (stream_session_identifier)
    json_object_set_new(in, "StreamSessionIdentifier", json_string(stream_session_identifier));
  if (signal_request) json_object_set_new(in, "SignalRequest", json_string(signal_request));
  if (client_token) json_object_set_new(in, "ClientToken", json_string(client_token));
  char *text = json_dumps(in, JSON_COMPACT);
  json_decref(in);
  if (!text) {
    gls_client_seterr(c, "identifiers and signal_request must be valid UTF-8");
    return GLS_E_INVALID_ARGUMENT;
  }
  gls_result *r = NULL;
  gls_status st = gls_call(c, "CreateStreamSessionConnection", text, strlen(text), &r);
  OPENSSL_cleanse(text, strlen(text));
  free(text);
  if (st == GLS_OK) {
    json_t *doc = json_loadb(r->json, r->json_len, 0, NULL);
    json_t *sr = json_object_get(doc, "SignalResponse");
    if (json_is_string(sr) && !(*signal_response = strdup(json_string_value(sr)))) st = GLS_E_NOMEM;
    else if (!json_is_string(sr)) {
      st = gls_result_fail(r, GLS_E_BAD_RESPONSE, "BadResponse", "the reply has no SignalResponse");
    }
    if (doc) {
      if (json_is_string(sr)) OPENSSL_cleanse((void *)json_string_value(sr), json_string_length(sr));
      json_decref(doc);
    }
  }
  if (out_result) *out_result = r;
  else gls_result_free(r);
  return st;
}
