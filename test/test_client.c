/* test_client.c - gls.h against a real HTTP server on 127.0.0.1 that speaks
 * the service's wire format (GLS_TEST_ENDPOINT, started by make check).
 * Blocking and non-blocking calls, the typed reconnect call, service errors,
 * retries with one ClientToken, bounds, timeouts, cancel, destroy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include "gls.h"
#include "tap.h"

static const char *endpoint;

/* ---- the test server's control API, over plain libcurl */
typedef struct { char *data; size_t len; } sbuf;
static size_t sink(char *p, size_t s, size_t n, void *ud) {
  sbuf *b = ud;
  char *d = realloc(b->data, b->len + s * n + 1);
  if (!d) return 0;
  memcpy(d + b->len, p, s * n);
  b->data = d;
  b->len += s * n;
  d[b->len] = 0;
  return s * n;
}
static char *control(const char *method, const char *path, const char *body) {
  char url[512];
  snprintf(url, sizeof url, "%s%s", endpoint, path);
  CURL *e = curl_easy_init();
  sbuf b = {0};
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
  if (body) curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
  curl_easy_perform(e);
  curl_easy_cleanup(e);
  return b.data;
}
static void enqueue(const char *json) { free(control("POST", "/_test/enqueue", json)); }
static void reset(void) { free(control("POST", "/_test/reset", "{}")); }
static json_t *requests(void) {
  char *t = control("GET", "/_test/requests", NULL);
  json_t *j = t ? json_loads(t, 0, NULL) : NULL;
  free(t);
  return j;
}

static gls_client *new_client(void) {
  gls_client *c = NULL;
  if (gls_client_create(&c) != GLS_OK) return NULL;
  gls_client_setopt_str(c, GLS_OPT_ENDPOINT_URL, endpoint);
  gls_client_setopt_str(c, GLS_OPT_REGION, "us-west-2");
  gls_client_setopt_str(c, GLS_OPT_ACCESS_KEY_ID, "AKIDEXAMPLE");
  gls_client_setopt_str(c, GLS_OPT_SECRET_ACCESS_KEY, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
  gls_client_setopt_long(c, GLS_OPT_RETRY_BASE_MS, 5);
  return c;
}

static void sha256_hex(const char *s, char out[65]) {
  unsigned char md[32];
  unsigned int n = 0;
  EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL);
  for (int i = 0; i < 32; i++) sprintf(out + 2 * i, "%02x", md[i]);
}

typedef struct { int calls; gls_status st; char answer[200]; char want[200]; } cbstate;
static void on_done(gls_client *c, gls_request *req, gls_result *r, void *ud) {
  (void)c; (void)req;
  cbstate *s = ud;
  s->calls++;
  s->st = gls_result_status(r);
  const char *j = gls_result_json(r, NULL);
  if (j) {
    json_t *d = json_loads(j, 0, NULL);
    const char *a = json_string_value(json_object_get(d, "SignalResponse"));
    snprintf(s->answer, sizeof s->answer, "%s", a ? a : "");
    json_decref(d);
  }
  gls_result_free(r);
}

static void drive(gls_client *c, int max_ms) {
  for (int waited = 0; gls_client_in_flight(c) && waited < max_ms; waited += 10) {
    struct pollfd p = {gls_client_pollfd(c), POLLIN, 0};
    long t = gls_client_timeout_ms(c);
    poll(&p, 1, t < 0 || t > 10 ? 10 : (int)t);
    gls_client_step(c, 0, NULL);
  }
}

int main(void) {
  gls_global_init();
  endpoint = getenv("GLS_TEST_ENDPOINT");
  if (!endpoint) {
    skip("GLS_TEST_ENDPOINT not set (make check starts the test server)", "client integration");
    return done_testing();
  }
  reset();
  gls_client *c = new_client();
  ok(c != NULL, "client created");

  /* typed reconnect, blocking */
  char *answer = NULL;
  gls_result *r = NULL;
  gls_status st = gls_create_stream_session_connection(c, "sg-1AB2C3De4", "ABC123def4567", "offer-one", NULL,
                                                       &answer, &r);
  char h[65], want[200];
  sha256_hex("offer-one", h);
  snprintf(want, sizeof want, "answer-for:%s", h);
  ok(st == GLS_OK, "reconnect succeeds (%s)", gls_client_errmsg(c));
  is_str(answer, want, "the answer names the offer it answers");
  ok(gls_result_request_id(r) && strlen(gls_result_request_id(r)) > 10, "the request id comes back");
  ok(gls_result_http_status(r) == 200 && gls_result_attempts(r) == 1, "200 after one attempt");
  gls_free(answer);
  gls_result_free(r);
  json_t *reqs = requests();
  json_t *last = json_array_get(reqs, json_array_size(reqs) - 1);
  ok(json_is_true(json_object_get(last, "signature_ok")), "the server (botocore) accepts gls's signature");
  is_str(json_string_value(json_object_get(last, "path")),
         "/streamgroups/sg-1AB2C3De4/streamsessions/ABC123def4567/connections", "wire path");
  json_decref(reqs);

  /* an ARN as identifier */
  reset();
  const char *arn_in = "{\"Identifier\":\"arn:aws:gameliftstreams:us-west-2:111122223333:streamgroup/sg-1AB2C3De4\","
                       "\"StreamSessionIdentifier\":\"ABC123def4567\"}";
  st = gls_call(c, "get_stream_session", arn_in, strlen(arn_in), &r);
  ok(st == GLS_OK, "GetStreamSession with an ARN identifier (%s)", gls_client_errmsg(c));
  reqs = requests();
  last = json_array_get(reqs, json_array_size(reqs) - 1);
  is_str(json_string_value(json_object_get(last, "path")),
         "/streamgroups/arn%3Aaws%3Agameliftstreams%3Aus-west-2%3A111122223333%3Astreamgroup%2Fsg-1AB2C3De4/streamsessions/ABC123def4567",
         "the ARN travels percent-encoded");
  ok(json_is_true(json_object_get(last, "signature_ok")), "and is signed right (double-encoded canonical path)");
  json_decref(reqs);
  const char *js = gls_result_json(r, NULL);
  ok(js && strstr(js, "\"Status\""), "output JSON has Status");
  gls_result_free(r);

  /* a service error */
  reset();
  enqueue("[{\"status\":409,\"headers\":{\"X-Amzn-ErrorType\":\"ConflictException:http://internal.amazon.com/coral/\","
          "\"x-amzn-RequestId\":\"req-409\"},\"body\":\"{\\\"message\\\":\\\"session is not reconnectable\\\"}\"}]");
  st = gls_create_stream_session_connection(c, "sg-1", "s-1", "offer", NULL, &answer, &r);
  ok(st == GLS_E_SERVICE, "409 gives GLS_E_SERVICE");
  is_str(gls_result_error_code(r), "ConflictException", "code from X-Amzn-ErrorType, suffix cut");
  is_str(gls_result_error_message(r), "session is not reconnectable", "message from the body");
  is_str(gls_result_request_id(r), "req-409", "request id on errors");
  ok(gls_result_http_status(r) == 409 && !gls_result_retryable(r) && gls_result_attempts(r) == 1,
     "409 is final: not retried");
  ok(answer == NULL, "no answer on failure");
  gls_result_free(r);

  /* code from the body's __type */
  reset();
  enqueue("[{\"status\":400,\"body\":\"{\\\"__type\\\":\\\"com.amazonaws#ValidationException\\\",\\\"Message\\\":\\\"bad\\\"}\"}]");
  st = gls_call(c, "ListStreamGroups", "{}", 2, &r);
  is_str(gls_result_error_code(r), "ValidationException", "code from the body's __type, namespace cut");
  is_str(gls_result_error_message(r), "bad", "Message (capitalised) read too");
  gls_result_free(r);

  /* two throttles, then success: three attempts, one ClientToken */
  reset();
  enqueue("[{\"status\":429,\"headers\":{\"X-Amzn-ErrorType\":\"ThrottlingException\"},\"body\":\"{\\\"message\\\":\\\"slow\\\"}\"},"
          "{\"status\":429,\"headers\":{\"X-Amzn-ErrorType\":\"ThrottlingException\"},\"body\":\"{\\\"message\\\":\\\"slow\\\"}\"}]");
  st = gls_create_stream_session_connection(c, "sg-1", "s-1", "offer-two", NULL, &answer, &r);
  ok(st == GLS_OK && gls_result_attempts(r) == 3, "2 throttles then success in 3 attempts (got %d)",
     gls_result_attempts(r));
  gls_free(answer);
  gls_result_free(r);
  reqs = requests();
  ok(json_array_size(reqs) == 3, "three requests reached the server");
  const char *tok[3] = {0};
  for (size_t i = 0; i < 3 && i < json_array_size(reqs); i++) {
    json_t *b = json_loads(json_string_value(json_object_get(json_array_get(reqs, i), "body")), 0, NULL);
    tok[i] = b ? strdup(json_string_value(json_object_get(b, "ClientToken"))) : NULL;
    json_decref(b);
  }
  ok(tok[0] && tok[1] && tok[2] && !strcmp(tok[0], tok[1]) && !strcmp(tok[1], tok[2]),
     "every attempt carries the same ClientToken");
  for (int i = 0; i < 3; i++) free((void *)tok[i]);
  json_decref(reqs);

  /* attempts run out */
  reset();
  enqueue("[{\"status\":503,\"body\":\"\"},{\"status\":503,\"body\":\"\"},{\"status\":503,\"body\":\"\"}]");
  st = gls_call(c, "ListStreamGroups", "{}", 2, &r);
  ok(st == GLS_E_SERVICE && gls_result_attempts(r) == 3 && gls_result_retryable(r) &&
     gls_result_http_status(r) == 503, "503 three times: fails after max_attempts, still retryable");
  is_str(gls_result_error_code(r), "503", "no error code: the HTTP status stands in");
  gls_result_free(r);

  /* retry_mode off */
  gls_client_setopt_str(c, GLS_OPT_RETRY_MODE, "off");
  reset();
  enqueue("[{\"status\":500,\"body\":\"{}\"}]");
  st = gls_call(c, "ListStreamGroups", "{}", 2, &r);
  ok(st == GLS_E_SERVICE && gls_result_attempts(r) == 1, "retry_mode off: one attempt");
  gls_result_free(r);
  gls_client_setopt_str(c, GLS_OPT_RETRY_MODE, "standard");

  /* a body over the bound */
  reset();
  gls_client_setopt_long(c, GLS_OPT_MAX_RESPONSE_BYTES, 100);
  char big[2048] = "[{\"status\":200,\"body\":\"{\\\"Items\\\":[\\\"";
  size_t bl = strlen(big);
  memset(big + bl, 'x', 600);
  strcpy(big + bl + 600, "\\\"]}\"}]");
  enqueue(big);
  st = gls_call(c, "ListStreamGroups", "{}", 2, &r);
  ok(st == GLS_E_RESPONSE_TOO_LARGE, "a reply over max_response_bytes is an error, not a crash");
  is_str(gls_result_error_code(r), "ResponseTooLarge", "code ResponseTooLarge");
  gls_result_free(r);
  gls_client_setopt_long(c, GLS_OPT_MAX_RESPONSE_BYTES, 16L << 20);

  /* malformed success body */
  reset();
  enqueue("[{\"status\":200,\"body\":\"{not json\"},{\"status\":200,\"body\":\"{not json\"},{\"status\":200,\"body\":\"{not json\"}]");
  st = gls_call(c, "ListStreamGroups", "{}", 2, &r);
  ok(st == GLS_E_BAD_RESPONSE, "a malformed body is BadResponse");
  gls_result_free(r);

  /* read timeout */
  reset();
  gls_client_setopt_long(c, GLS_OPT_READ_TIMEOUT_MS, 1000);
  gls_client_setopt_long(c, GLS_OPT_MAX_ATTEMPTS, 1);
  enqueue("[{\"status\":200,\"body\":\"{}\",\"delay\":3}]");
  st = gls_call(c, "ListStreamGroups", "{}", 2, &r);
  ok(st == GLS_E_TIMEOUT && gls_result_retryable(r), "a silent server hits the read timeout");
  is_str(gls_result_error_code(r), "Timeout", "code Timeout");
  gls_result_free(r);
  gls_client_setopt_long(c, GLS_OPT_READ_TIMEOUT_MS, 60000);
  gls_client_setopt_long(c, GLS_OPT_MAX_ATTEMPTS, 3);

  /* validation before sending */
  reset();
  st = gls_create_stream_session_connection(c, "sg 1", "s-1", "offer", NULL, &answer, &r);
  ok(st == GLS_E_PARAM_VALIDATION && strstr(gls_result_error_message(r), "Identifier") &&
     gls_result_attempts(r) == 0, "bad identifier refused before sending");
  gls_result_free(r);
  reqs = requests();
  ok(json_array_size(reqs) == 0, "nothing was sent");
  json_decref(reqs);
  ok(gls_call(c, "NoSuchOperation", "{}", 2, &r) == GLS_E_UNKNOWN_OPERATION, "unknown operation");
  gls_result_free(r);
  ok(gls_call(c, "ListStreamGroups", "{oops", 5, &r) == GLS_E_INVALID_ARGUMENT && r == NULL &&
     strstr(gls_client_errmsg(c), "JSON"), "invalid JSON input is misuse: %s", gls_client_errmsg(c));

  /* non-blocking: many reconnects in flight on one thread */
  reset();
  enum { N = 40 };
  static cbstate s[N];
  for (int i = 0; i < N; i++) {
    char in[256], off[32];
    snprintf(off, sizeof off, "offer-%d", i);
    sha256_hex(off, h);
    snprintf(s[i].want, sizeof s[i].want, "answer-for:%s", h);
    snprintf(in, sizeof in, "{\"Identifier\":\"sg-1\",\"StreamSessionIdentifier\":\"s-%d\",\"SignalRequest\":\"%s\"}", i, off);
    gls_client_start(c, "CreateStreamSessionConnection", in, strlen(in), on_done, &s[i], NULL);
  }
  ok(gls_client_in_flight(c) == N, "%d requests in flight", N);
  ok(gls_client_pollfd(c) >= 0, "a pollfd to watch");
  drive(c, 20000);
  int good = 0;
  for (int i = 0; i < N; i++) good += s[i].calls == 1 && s[i].st == GLS_OK && !strcmp(s[i].answer, s[i].want);
  ok(good == N, "every callback ran once with the answer to its own offer (%d/%d)", good, N);
  ok(gls_client_in_flight(c) == 0 && gls_client_timeout_ms(c) == -1, "nothing left in flight, no timer");

  /* async retries */
  reset();
  enqueue("[{\"status\":429,\"headers\":{\"X-Amzn-ErrorType\":\"ThrottlingException\"},\"body\":\"{}\"}]");
  cbstate one = {0};
  const char *in1 = "{\"Identifier\":\"sg-1\",\"StreamSessionIdentifier\":\"s-1\",\"SignalRequest\":\"x\"}";
  gls_client_start(c, "CreateStreamSessionConnection", in1, strlen(in1), on_done, &one, NULL);
  drive(c, 5000);
  ok(one.calls == 1 && one.st == GLS_OK, "non-blocking call retries a throttle and succeeds");

  /* async validation failure arrives through the callback */
  cbstate bad = {0};
  ok(gls_client_start(c, "CreateStreamSessionConnection", "{\"Identifier\":\"sg-1\"}", 21, on_done, &bad, NULL) == GLS_OK,
     "start accepts the request");
  ok(gls_client_timeout_ms(c) == 0, "a finished request makes the timeout 0");
  gls_client_step(c, 0, NULL);
  ok(bad.calls == 1 && bad.st == GLS_E_PARAM_VALIDATION, "validation failure reported through the callback");

  /* cancel */
  reset();
  enqueue("[{\"status\":200,\"body\":\"{}\",\"delay\":2}]");
  cbstate cs = {0};
  gls_request *req = NULL;
  gls_client_start(c, "ListStreamGroups", "{}", 2, on_done, &cs, &req);
  gls_client_step(c, 50, NULL);
  ok(gls_request_cancel(req) == GLS_OK, "cancel a request in flight");
  gls_client_step(c, 0, NULL);
  ok(cs.calls == 1 && cs.st == GLS_E_CANCELLED, "its callback ran with GLS_E_CANCELLED");

  /* connection refused */
  gls_client *dead = new_client();
  gls_client_setopt_str(dead, GLS_OPT_ENDPOINT_URL, "http://127.0.0.1:9");
  gls_client_setopt_long(dead, GLS_OPT_MAX_ATTEMPTS, 2);
  st = gls_call(dead, "ListStreamGroups", "{}", 2, &r);
  ok(st == GLS_E_TRANSPORT && gls_result_retryable(r) && gls_result_attempts(r) == 2,
     "connection refused: transport error, retried");
  is_str(gls_result_error_code(r), "ConnectionError", "code ConnectionError");
  gls_result_free(r);

  /* destroy with requests in flight */
  reset();
  enqueue("[{\"status\":200,\"body\":\"{}\",\"delay\":2}]");
  cbstate ds = {0};
  gls_client_start(dead, "ListStreamGroups", "{}", 2, on_done, &ds, NULL);
  gls_client_setopt_str(c, GLS_OPT_ENDPOINT_URL, endpoint);
  gls_client_destroy(dead);
  ok(ds.calls == 1 && ds.st == GLS_E_CANCELLED, "destroy runs pending callbacks with GLS_E_CANCELLED");

  /* no credentials */
  gls_client *nc = NULL;
  gls_client_create(&nc);
  gls_client_setopt_str(nc, GLS_OPT_REGION, "us-west-2");
  gls_client_setopt_str(nc, GLS_OPT_ENDPOINT_URL, endpoint);
  unsetenv("AWS_ACCESS_KEY_ID");
  unsetenv("AWS_SECRET_ACCESS_KEY");
  st = gls_call(nc, "ListStreamGroups", "{}", 2, &r);
  ok(st == GLS_E_NO_CREDENTIALS, "no credentials anywhere: GLS_E_NO_CREDENTIALS");
  is_str(gls_result_error_code(r), "NoCredentials", "code NoCredentials");
  gls_result_free(r);
  setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", 1);
  gls_client_setopt_str(nc, GLS_OPT_REGION, "us-west-2"); /* resolve again */
  st = gls_call(nc, "ListStreamGroups", "{}", 2, &r);
  ok(st == GLS_OK, "credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY");
  gls_result_free(r);
  gls_client_destroy(nc);

  /* option misuse */
  ok(gls_client_setopt_long(c, GLS_OPT_MAX_ATTEMPTS, 0) == GLS_E_INVALID_ARGUMENT &&
     strstr(gls_client_errmsg(c), "max_attempts"), "bad max_attempts names the option");
  ok(gls_client_setopt_str(c, GLS_OPT_REGION, "us west") == GLS_E_INVALID_ARGUMENT, "bad region refused");
  ok(gls_client_setopt_str(c, GLS_OPT_MAX_ATTEMPTS, "3") == GLS_E_INVALID_ARGUMENT, "wrong option type refused");

  gls_client_destroy(c);
  gls_global_cleanup();
  return done_testing();
}
