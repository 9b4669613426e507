/* fuzz/sigv4.c - the SigV4 signer (src/sigv4.c): canonical path (normalised
 * or not, encoded twice or once), canonical query, canonical headers, header
 * and query (presigned) forms.
 *
 * Input: byte flags, byte header count, byte expires/time, then NUL-separated
 * fields: method, path, query, region, service, session token, the headers
 * (name, value, name, value, ...), and the body (the rest).
 * flags: 1 normalize_path, 2 double_encode, 4 query_form, 8 sign_body,
 *        16 omit_session_token, 32 payload_hash "UNSIGNED-PAYLOAD",
 *        64 date_in_headers.
 *
 * Properties: the signer answers GLS_OK or GLS_E_INVALID_ARGUMENT with a
 * message; a signature is 64 lower-case hex digits; the canonical request
 * starts with the method (upper-cased); signing the same request again (same signer, its
 * key cache warm) and with a fresh signer gives the same signature and
 * canonical request. */
#include <strings.h>
#include "fuzz_util.h"
#include "gls_private.h"

#define MAX_HEADERS 24

static gls_signer *warm;

static void check_sig(const char *sig) {
  FZ_ASSERT(strlen(sig) == 64, "signature length %zu", strlen(sig));
  for (int i = 0; i < 64; i++)
    FZ_ASSERT((sig[i] >= '0' && sig[i] <= '9') || (sig[i] >= 'a' && sig[i] <= 'f'),
              "signature byte %d is '%c'", i, sig[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!warm && !(warm = gls_signer_new())) abort();
  fz r;
  fz_init(&r, data, size);
  unsigned flags = fz_byte(&r), nh = fz_byte(&r) % (MAX_HEADERS + 1), tb = fz_byte(&r);
  gls_sigv4_params p = {0};
  p.method = fz_field(&r, NULL);
  p.path = fz_field(&r, NULL);
  p.query = fz_field(&r, NULL);
  p.region = fz_field(&r, NULL);
  p.service = fz_field(&r, NULL);
  p.session_token = fz_field(&r, NULL);
  gls_header h[MAX_HEADERS];
  for (unsigned i = 0; i < nh; i++) {
    h[i].name = fz_field(&r, &h[i].name_len);
    h[i].value = fz_field(&r, &h[i].value_len);
  }
  p.headers = h;
  p.nheaders = nh;
  size_t blen;
  p.body = fz_rest(&r, &blen);
  p.body_len = blen;
  p.normalize_path = flags & 1;
  p.double_encode = (flags >> 1) & 1;
  p.query_form = (flags >> 2) & 1;
  p.sign_body = (flags >> 3) & 1;
  p.omit_session_token = (flags >> 4) & 1;
  p.payload_hash = (flags & 32) ? "UNSIGNED-PAYLOAD" : NULL;
  p.date_in_headers = (flags >> 6) & 1;
  p.access_key_id = "AKIDEXAMPLE";
  p.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  p.time = 1440938160 + (int64_t)tb * 86399;
  p.expires = tb ? (long)tb * 2371 : 604800;
  p.want_debug = 1;

  gls_sigv4_result out;
  char err[256];
  gls_status st = gls_signer_sign(warm, &p, &out, err, sizeof err);
  FZ_ASSERT(st == GLS_OK || st == GLS_E_INVALID_ARGUMENT, "status %d: %s", st, err);
  if (st != GLS_OK) {
    FZ_ASSERT(err[0] != '\0', "an invalid argument without a message");
    fz_free(&r);
    return 0;
  }
  check_sig(out.signature);
  FZ_ASSERT(out.canonical_request && out.string_to_sign, "no debug output");
  size_t ml = strlen(p.method);
  FZ_ASSERT(out.canonical_request_len > ml && !strncasecmp(out.canonical_request, p.method, ml) &&
                out.canonical_request[ml] == '\n',
            "the canonical request does not start with the method");
  FZ_ASSERT(!p.query_form || (out.query && strstr(out.query, "X-Amz-Signature=")),
            "the query form has no X-Amz-Signature");

  /* The same again, warm cache: same answer. */
  char sig1[65], *canon1 = malloc(out.canonical_request_len + 1);
  if (!canon1) abort();
  memcpy(sig1, out.signature, sizeof sig1);
  memcpy(canon1, out.canonical_request, out.canonical_request_len + 1);
  size_t canon1_len = out.canonical_request_len;
  st = gls_signer_sign(warm, &p, &out, err, sizeof err);
  FZ_ASSERT(st == GLS_OK && !strcmp(sig1, out.signature), "signing twice differs");
  /* A fresh signer (cold key cache, fresh scratch): same answer. */
  gls_signer *cold = gls_signer_new();
  if (!cold) abort();
  st = gls_signer_sign(cold, &p, &out, err, sizeof err);
  FZ_ASSERT(st == GLS_OK && !strcmp(sig1, out.signature), "a fresh signer signs differently");
  FZ_ASSERT(out.canonical_request_len == canon1_len &&
                !memcmp(out.canonical_request, canon1, canon1_len),
            "a fresh signer makes another canonical request");
  gls_signer_free(cold);
  free(canon1);
  fz_free(&r);
  return 0;
}
