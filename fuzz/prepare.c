/* fuzz/prepare.c - the client's side of an API call before it is signed
 * (src/request.c gls_prepare): input JSON validated against the model
 * (required members, lengths in code points, patterns of identifiers and
 * ARNs, enums, ranges, nested lists and maps), URI labels percent-encoded
 * into the path, query members, the JSON body, the idempotency token.
 *
 * Input: byte operation (index into the model's operations), then the input
 * JSON text (the rest).
 *
 * Properties: a refusal is GLS_E_INVALID_ARGUMENT (not a JSON object) or
 * GLS_E_PARAM_VALIDATION, with a message; a prepared request has a path
 * starting with '/' holding only unreserved bytes, '/' and %XX escapes, and
 * a body that is a JSON object; and the emulator, which validates by the
 * same model as the service does, routes that request to the same
 * operation and accepts its input (the client never sends what the service
 * would refuse on the model's grounds). */
#include <jansson.h>
#include "fuzz_util.h"
#include "emuwire.h"

static gls_regexes *pat;
static gls_emu *emu;

static int path_ok(const char *p, size_t n) {
  if (!n || p[0] != '/') return 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)p[i];
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
        strchr("-._~/", c))
      continue;
    if (c == '%' && i + 2 < n && strchr("0123456789ABCDEF", p[i + 1]) &&
        strchr("0123456789ABCDEF", p[i + 2])) {
      i += 2;
      continue;
    }
    return 0;
  }
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!pat && !(pat = gls_regexes_new())) abort();
  if (!emu && !(emu = gls_emu_new())) abort();
  fz r;
  fz_init(&r, data, size);
  const gls_operation *op = &gls_operations[fz_byte(&r) % gls_noperations];
  size_t len;
  char *input = fz_rest(&r, &len);

  gls_prepared p;
  gls_buf err = {0};
  gls_status st = gls_prepare(pat, op, input, len, NULL, &p, &err);
  if (st != GLS_OK) {
    FZ_ASSERT(st == GLS_E_INVALID_ARGUMENT || st == GLS_E_PARAM_VALIDATION, "status %d", st);
    FZ_ASSERT(err.len > 0, "a refusal without a message");
    gls_prepared_free(&p);
    gls_buf_free(&err);
    fz_free(&r);
    return 0;
  }
  FZ_ASSERT(path_ok(p.path.data, p.path.len), "a path that is not encoded: %s",
            p.path.data ? p.path.data : "(none)");
  if (p.has_body) {
    json_error_t je;
    json_t *b = json_loadb(p.body.data ? p.body.data : "", p.body.len, 0, &je);
    FZ_ASSERT(json_is_object(b), "the body is not a JSON object");
    json_decref(b);
  }

  /* the emulator's view of the same request */
  gls_emu_match m;
  gls_emu_error e;
  FZ_ASSERT(!gls_emu_route(emu, op->method, p.path.data, &m, &e) && m.op == op,
            "%s %s does not route back to %s: %s", op->method, p.path.data, op->name,
            m.op ? m.op->name : e.message);
  gls_header ct = {"Content-Type", 12, "application/json", 16};
  gls_emu_request req = {op->method, p.path.data, p.query.data ? p.query.data : "", &ct, 1,
                         p.body.data, p.body.len};
  json_t *in = NULL;
  int rc = gls_emu_input(emu, op, m.labels, m.nlabels, &req, &in, &e);
  FZ_ASSERT(rc == 0, "the client prepared what the emulator refuses: %s %s: %s: %s", op->method,
            p.path.data, e.code, e.message);
  json_decref(in);
  gls_prepared_free(&p);
  gls_buf_free(&err);
  fz_free(&r);
  return 0;
}
