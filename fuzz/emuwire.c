/* fuzz/emuwire.c - the emulator's wire helpers in C (src/emuwire.c):
 * routing (URI templates, labels, percent-decoding), input decoding (labels,
 * query, headers, JSON body) and validation against the model (required,
 * lengths in code points, patterns, enums, ranges, nested lists and maps:
 * the identifiers and ARNs), output encoding, and SigV4 verification of a
 * request the core signer signed.
 *
 * Input: byte flags (1 sign in the header form, 2 sign in the query form,
 * 4 tamper with the signature, 8 with a session token), byte header count,
 * then NUL-separated fields: method, path, query, headers (name, value,
 * ...), the body (the rest).
 *
 * Properties: every refusal has a code, a message and a 4xx status (5xx
 * only for an output of the wrong type); a decoded input is a JSON object;
 * a request the signer signed (no X-Amz-* headers or query parameters of
 * the input's own) verifies, and with its signature changed does not; no
 * message holds the secret key or the token (unless the input does) or the
 * signature. */
#define _GNU_SOURCE /* memmem */
#include <string.h>
#include <strings.h>
#include "fuzz_util.h"
#include "emuwire.h"

#define MAX_HEADERS 16
#define AKID "AKIDEXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define TOKEN_AKID "ASIATOKENKEY"
#define TOKEN "FwoGZXIvYXdzEXAMPLETOKEN//////////wEaDExampleSessionToken="
#define T0 1764684000

static gls_emu *emu;
static gls_signer *signer;
static int input_has_secret; /* the input itself holds the secret or token */

static int lookup(void *ud, const char *akid, gls_emu_credential *out) {
  (void)ud;
  if (!strcmp(akid, AKID)) {
    out->secret_access_key = SECRET;
    out->session_token = NULL;
    return 1;
  }
  if (!strcmp(akid, TOKEN_AKID)) {
    out->secret_access_key = SECRET;
    out->session_token = TOKEN;
    return 1;
  }
  return 0;
}

static void check_error(const gls_emu_error *err, const char *sig, int allow_5xx) {
  FZ_ASSERT(err->code && *err->code && err->message, "a refusal without a code or message");
  FZ_ASSERT((err->status >= 400 && err->status < 500) || (allow_5xx && err->status == 500),
            "status %d for %s: %s", err->status, err->code, err->message);
  FZ_ASSERT(input_has_secret || (!strstr(err->message, SECRET) && !strstr(err->message, TOKEN)),
            "a message shows a secret: %s", err->message);
  FZ_ASSERT(!sig || !*sig || !strstr(err->message, sig),
            "a message shows a secret: %s", err->message);
}

/* Does the input bring X-Amz-* parameters or headers of its own (which the
 * signer's would then meet twice)? */
static int own_amz(const char *query, const gls_header *h, size_t nh) {
  for (const char *q = query; *q; q++)
    if (!strncasecmp(q, "x-amz-", 6) || !strncasecmp(q, "x%2Damz", 7)) return 1;
  for (size_t i = 0; i < nh; i++)
    if (h[i].name_len >= 6 && !strncasecmp(h[i].name, "x-amz-", 6)) return 1;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!emu && !(emu = gls_emu_new())) abort();
  if (!signer && !(signer = gls_signer_new())) abort();
  input_has_secret = memmem(data, size, SECRET, strlen(SECRET)) || memmem(data, size, TOKEN, strlen(TOKEN));
  fz r;
  fz_init(&r, data, size);
  unsigned flags = fz_byte(&r), nh = fz_byte(&r) % (MAX_HEADERS + 1);
  gls_emu_request req = {0};
  req.method = fz_field(&r, NULL);
  req.path = fz_field(&r, NULL);
  req.query = fz_field(&r, NULL);
  gls_header h[MAX_HEADERS + 4];
  for (unsigned i = 0; i < nh; i++) {
    h[i].name = fz_field(&r, &h[i].name_len);
    h[i].value = fz_field(&r, &h[i].value_len);
  }
  req.headers = h;
  req.nheaders = nh;
  req.body = fz_rest(&r, &req.body_len);

  /* routing, input, output */
  gls_emu_match m;
  gls_emu_error err;
  if (gls_emu_route(emu, req.method, req.path, &m, &err)) {
    check_error(&err, NULL, 0);
    FZ_ASSERT(err.status == 404 || err.status == 405, "routing refused with %d", err.status);
  } else {
    FZ_ASSERT(m.op && m.nlabels <= GLS_EMU_MAX_LABELS, "a route without an operation");
    json_t *in = NULL;
    if (gls_emu_input(emu, m.op, m.labels, m.nlabels, &req, &in, &err)) {
      check_error(&err, NULL, 0);
      FZ_ASSERT(!in, "a refused input was handed out");
    } else {
      FZ_ASSERT(json_is_object(in), "the input is not a JSON object");
      json_decref(in);
    }
    json_error_t je;
    json_t *body = json_loadb(req.body, req.body_len, 0, &je);
    if (json_is_object(body)) {
      const char *text;
      size_t len;
      if (gls_emu_output(emu, m.op, body, &text, &len, &err)) {
        check_error(&err, NULL, 1);
      } else {
        FZ_ASSERT(text && strlen(text) == len, "output text and length disagree");
        if (len) {
          json_t *back = json_loads(text, 0, &je);
          FZ_ASSERT(json_is_object(back), "the output is not a JSON object: %s", text);
          json_decref(back);
        }
      }
    }
    json_decref(body);
  }

  /* SigV4: sign as a client would, then verify */
  gls_emu_verify_opts vo = {T0, NULL, lookup, NULL};
  gls_emu_identity who;
  if (!(flags & 3)) {
    if (gls_emu_verify(emu, &req, &vo, &who, &err)) check_error(&err, NULL, 0);
    fz_free(&r);
    return 0;
  }
  int query_form = (flags & 2) != 0, token = (flags & 8) != 0;
  int own = own_amz(req.query, h, nh);
  /* Host first, as clients send it, unless the input has one */
  int has_host = 0;
  for (unsigned i = 0; i < nh; i++) has_host |= h[i].name_len == 4 && !strncasecmp(h[i].name, "host", 4);
  size_t n = nh;
  if (!has_host) {
    memmove(h + 1, h, nh * sizeof *h);
    h[0] = (gls_header){"Host", 4, "127.0.0.1:9000", 14};
    n++;
  }
  gls_sigv4_params p = {0};
  p.method = req.method;
  p.path = req.path;
  p.query = req.query;
  p.headers = h;
  p.nheaders = n;
  p.body = req.body;
  p.body_len = req.body_len;
  p.access_key_id = token ? TOKEN_AKID : AKID;
  p.secret_access_key = SECRET;
  p.session_token = token ? TOKEN : NULL;
  p.region = "us-west-2";
  p.service = "gameliftstreams";
  p.time = T0;
  p.normalize_path = 1;
  p.double_encode = 1;
  p.query_form = query_form;
  p.expires = 300;
  gls_sigv4_result out;
  char ebuf[256];
  if (gls_signer_sign(signer, &p, &out, ebuf, sizeof ebuf) != GLS_OK) {
    fz_free(&r);
    return 0;
  }
  char sig[65];
  memcpy(sig, out.signature, sizeof sig);
  /* the request as sent: the signer's headers after the input's, or its query */
  gls_header sent[MAX_HEADERS + 8];
  memcpy(sent, h, n * sizeof *h);
  size_t ns = n;
  char *query_copy = NULL;
  if (query_form) {
    query_copy = strdup(out.query);
    if (!query_copy) abort();
  } else {
    for (size_t i = 0; i < out.nadded; i++) sent[ns++] = out.added[i];
  }
  /* copies: the signer's storage is reused below */
  char *added_store[4] = {0};
  if (!query_form)
    for (size_t i = 0; i < out.nadded; i++) {
      added_store[i] = strndup(out.added[i].value, out.added[i].value_len);
      if (!added_store[i]) abort();
      sent[n + i].value = added_store[i];
    }
  gls_emu_request signed_req = req;
  signed_req.headers = sent;
  signed_req.nheaders = ns;
  if (query_form) signed_req.query = query_copy;
  int rc = gls_emu_verify(emu, &signed_req, &vo, &who, &err);
  if (rc) check_error(&err, sig, 0);
  FZ_ASSERT(own || rc == 0, "a request the signer signed does not verify: %s: %s",
            err.code, err.message);
  if (rc == 0 && (flags & 4)) {
    /* one hex digit of the signature changed: refused */
    char *where = query_form ? strstr(query_copy, sig) : strstr(added_store[out.nadded - 1], sig);
    if (where) {
      *where = *where == '0' ? '1' : '0';
      rc = gls_emu_verify(emu, &signed_req, &vo, &who, &err);
      FZ_ASSERT(rc != 0, "a changed signature verifies");
      check_error(&err, sig, 0);
    }
  }
  for (int i = 0; i < 4; i++) free(added_store[i]);
  free(query_copy);
  fz_free(&r);
  return 0;
}
