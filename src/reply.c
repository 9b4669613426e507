/* reply.c - results, and rest-json replies parsed into them. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include "gls_private.h"

gls_result *gls_result_new(void) {
  gls_result *r = calloc(1, sizeof *r);
  return r;
}

gls_status gls_result_fail(gls_result *r, gls_status st, const char *code, const char *msg) {
  r->status = st;
  free(r->code);
  free(r->message);
  r->code = code ? strdup(code) : NULL;
  r->message = msg ? strdup(msg) : NULL;
  if (r->json) {
    OPENSSL_cleanse(r->json, r->json_len);
    free(r->json);
    r->json = NULL;
    r->json_len = 0;
  }
  return st;
}

void gls_result_free(gls_result *r) {
  if (!r) return;
  if (r->json) OPENSSL_cleanse(r->json, r->json_len);
  free(r->json);
  free(r->code);
  free(r->message);
  free(r->request_id);
  free(r);
}

gls_status gls_result_status(const gls_result *r) { return r ? r->status : GLS_E_INVALID_ARGUMENT; }
int gls_result_http_status(const gls_result *r) { return r ? r->http_status : 0; }
const char *gls_result_json(const gls_result *r, size_t *len) {
  if (len) *len = r && r->json ? r->json_len : 0;
  return r && r->status == GLS_OK ? r->json : NULL;
}
const char *gls_result_error_code(const gls_result *r) { return r && r->status ? r->code : NULL; }
const char *gls_result_error_message(const gls_result *r) { return r && r->status ? r->message : NULL; }
const char *gls_result_request_id(const gls_result *r) { return r ? r->request_id : NULL; }
int gls_result_retryable(const gls_result *r) { return r ? r->retryable : 0; }
int gls_result_attempts(const gls_result *r) { return r ? r->attempts : 0; }

/* ------------------------------------------------------------ errors */

static const char *const THROTTLING[] = {
  "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
  "TooManyRequestsException", "ProvisionedThroughputExceededException",
  "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
  "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
  "EC2ThrottledException", NULL};
static const char *const TRANSIENT[] = {
  "RequestTimeout", "RequestTimeoutException", "InternalError", "InternalServerException",
  "ServiceUnavailable", NULL};

int gls_error_retryable(const char *code, int http_status) {
  if (http_status == 429 || http_status == 500 || http_status == 502 || http_status == 503 ||
      http_status == 504)
    return 1;
  if (!code) return 0;
  for (int i = 0; THROTTLING[i]; i++) if (!strcmp(code, THROTTLING[i])) return 1;
  for (int i = 0; TRANSIENT[i]; i++) if (!strcmp(code, TRANSIENT[i])) return 1;
  const gls_error_shape *e = gls_find_error(code);
  return e && (gls_shapes[e->shape].flags & GLS_S_RETRYABLE);
}

/* "aws.protocoltests#FooError:http://..." -> "FooError" */
static void clean_code(const char *s, size_t n, char *out, size_t outn) {
  const char *end = s + n;
  const char *colon = memchr(s, ':', n);
  if (colon) end = colon;
  for (const char *p = end; p > s; p--)
    if (p[-1] == '#') { s = p; break; }
  while (s < end && (*s == ' ' || *s == '\t')) s++;
  while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r')) end--;
  size_t k = (size_t)(end - s);
  if (k >= outn) k = outn - 1;
  memcpy(out, s, k);
  out[k] = '\0';
}

/* ------------------------------------------------------------ timestamps */

/* Walks an output value by shape, turning timestamp strings into numbers. */
static void normalise(json_t *v, int shape) {
  if (shape < 0 || !v) return;
  const gls_shape *sh = &gls_shapes[shape];
  switch (sh->type) {
  case GLS_T_STRUCT: {
    if (!json_is_object(v)) return;
    for (int i = 0; i < sh->nmembers; i++) {
      const gls_member *m = &gls_members[sh->first_member + i];
      json_t *mv = json_object_get(v, m->name);
      if (!mv) continue;
      if (gls_shapes[m->shape].type == GLS_T_TIMESTAMP && json_is_string(mv)) {
        double t;
        if (!gls_parse_iso8601(json_string_value(mv), &t)) {
          json_t *num = (t == (double)(long long)t) ? json_integer((json_int_t)t) : json_real(t);
          if (num) json_object_set_new(v, m->name, num);
        }
      } else {
        normalise(mv, m->shape);
      }
    }
    return;
  }
  case GLS_T_LIST: {
    size_t i;
    json_t *e;
    if (json_is_array(v)) json_array_foreach(v, i, e) normalise(e, sh->elem);
    return;
  }
  case GLS_T_MAP: {
    const char *k;
    json_t *e;
    if (json_is_object(v)) json_object_foreach(v, k, e) normalise(e, sh->elem);
    return;
  }
  default:
    return;
  }
}

/* ------------------------------------------------------------ replies */

void gls_parse_reply(gls_result *r, const gls_operation *op, int http_status, const char *body,
                     size_t body_len, const char *error_type_header) {
  r->http_status = http_status;
  json_t *doc = NULL;
  json_error_t jerr;
  size_t i = 0;
  while (i < body_len && (body[i] == ' ' || body[i] == '\n' || body[i] == '\r' || body[i] == '\t')) i++;
  int empty = i == body_len;
  if (!empty) doc = json_loadb(body, body_len, 0, &jerr);

  if (http_status >= 200 && http_status < 300) {
    if (empty) doc = json_object();
    if (!doc || !json_is_object(doc)) {
      json_decref(doc);
      gls_result_fail(r, GLS_E_BAD_RESPONSE, "BadResponse",
                      "the service's reply is not a JSON object (truncated or malformed body)");
      r->retryable = 1;
      return;
    }
    normalise(doc, op ? op->output : -1);
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (!text) { gls_result_fail(r, GLS_E_NOMEM, "NoMemory", "out of memory"); return; }
    r->status = GLS_OK;
    r->json = text;
    r->json_len = strlen(text);
    return;
  }

  char code[128] = "";
  if (error_type_header && *error_type_header)
    clean_code(error_type_header, strlen(error_type_header), code, sizeof code);
  const char *msg = NULL;
  if (doc && json_is_object(doc)) {
    if (!*code) {
      const char *keys[] = {"__type", "code", "Code", NULL};
      for (int k = 0; keys[k] && !*code; k++) {
        json_t *c = json_object_get(doc, keys[k]);
        if (json_is_string(c)) clean_code(json_string_value(c), json_string_length(c), code, sizeof code);
      }
    }
    const char *mkeys[] = {"message", "Message", "errorMessage", NULL};
    for (int k = 0; mkeys[k] && !msg; k++) {
      json_t *m = json_object_get(doc, mkeys[k]);
      if (json_is_string(m)) msg = json_string_value(m);
    }
  }
  if (!*code) snprintf(code, sizeof code, "%d", http_status);
  char fallback[64];
  if (!msg) {
    snprintf(fallback, sizeof fallback, "HTTP %d with no error message", http_status);
    msg = fallback;
  }
  gls_result_fail(r, GLS_E_SERVICE, code, msg);
  r->retryable = gls_error_retryable(code, http_status);
  json_decref(doc);
}
