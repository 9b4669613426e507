/* fuzz/reply.c - what the client makes of a service reply: the header lines
 * (x-amzn-RequestId, X-Amzn-ErrorType, Date: src/client.c
 * gls_reply_header) and the body (src/reply.c gls_parse_reply: output JSON
 * with timestamps made numbers by the operation's output shape, or a
 * rest-json error from the header or the body's __type/code/Code with
 * message/Message/errorMessage).
 *
 * Input: byte operation (index into the model's operations), two bytes HTTP
 * status (100 + n % 500), a field of header lines ('\n'-separated, each fed
 * with CRLF), then the body (the rest).
 *
 * Properties: the saved header values are NUL-terminated inside their
 * buffers; a 2xx is either output that is a JSON object or BadResponse
 * (retryable); anything else is a service error with a code that holds no
 * namespace ('#') or URI suffix (':') and a message, and its retryable flag
 * is gls_error_retryable's. */
#include <jansson.h>
#include "fuzz_util.h"
#include "client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz r;
  fz_init(&r, data, size);
  const gls_operation *op = &gls_operations[fz_byte(&r) % gls_noperations];
  unsigned hi = fz_byte(&r), lo = fz_byte(&r);
  int status = 100 + (int)((hi << 8 | lo) % 500);
  char *lines = fz_field(&r, NULL);
  size_t blen;
  char *body = fz_rest(&r, &blen);

  gls_request *q = calloc(1, sizeof *q);
  if (!q) abort();
  for (char *l = lines; *l;) {
    char *end = strchr(l, '\n');
    size_t n = end ? (size_t)(end - l) : strlen(l);
    char *line = malloc(n + 2); /* as curl hands it: CRLF, no NUL */
    if (!line) abort();
    memcpy(line, l, n);
    line[n] = '\r';
    line[n + 1] = '\n';
    FZ_ASSERT(gls_reply_header(line, 1, n + 2, q) == n + 2, "a header line was refused");
    free(line);
    l += n + (end ? 1 : 0);
  }
  FZ_ASSERT(memchr(q->h_request_id, 0, sizeof q->h_request_id) &&
                memchr(q->h_error_type, 0, sizeof q->h_error_type) &&
                memchr(q->h_date, 0, sizeof q->h_date),
            "a saved header value is not terminated");

  gls_result *res = gls_result_new();
  if (!res) abort();
  gls_parse_reply(res, op, status, body, blen, q->h_error_type);
  FZ_ASSERT(res->http_status == status, "http_status %d, sent %d", res->http_status, status);
  if (status >= 200 && status < 300) {
    if (res->status == GLS_OK) {
      FZ_ASSERT(res->json && strlen(res->json) == res->json_len, "output without its JSON");
      json_error_t je;
      json_t *out = json_loads(res->json, 0, &je);
      FZ_ASSERT(json_is_object(out), "the output is not a JSON object: %s", res->json);
      json_decref(out);
    } else {
      FZ_ASSERT(res->status == GLS_E_BAD_RESPONSE && res->retryable,
                "a 2xx that is neither output nor a retryable BadResponse (%d)", res->status);
    }
  } else {
    FZ_ASSERT(res->status == GLS_E_SERVICE, "HTTP %d is not a service error (%d)", status,
              res->status);
    FZ_ASSERT(res->code && *res->code && res->message, "an error without a code or message");
    FZ_ASSERT(!strchr(res->code, '#') && !strchr(res->code, ':'),
              "the code keeps its namespace or suffix: %s", res->code);
    FZ_ASSERT(res->retryable == gls_error_retryable(res->code, status),
              "retryable %d for %s/%d", res->retryable, res->code, status);
  }
  gls_result_free(res);
  free(q);
  fz_free(&r);
  return 0;
}
