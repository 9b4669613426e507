/*
 * bench/sign.c - nanoseconds per SigV4 signature of a
 * CreateStreamSessionConnection request: gls (one signer reused, as a
 * client does) against the floor, the bare OpenSSL work any signature
 * needs, done straight on OpenSSL in the obvious fast way:
 *   - SHA-256 of the body (reused EVP_MD_CTX, fetched EVP_MD),
 *   - SHA-256 of a buffer as long as gls's canonical request,
 *   - one HMAC-SHA256 of a string to sign as long as gls's, with a cached
 *     signing key (an EVP_MAC_CTX keyed once, re-initialised per call).
 *
 * Usage: sign [--request-json]   (the JSON of the request, for botocore)
 * Output: human lines, then "sign_ns=<int> floor_ns=<int>".
 * Each figure is the median of BATCHES batches of ITERS signatures.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include "gls_private.h"

#define BATCHES 15
#define ITERS 20000

static const char HOST[] = "gameliftstreams.us-west-2.amazonaws.com";
static const char PATH[] = "/streamgroups/sg-1AB2C3De4/streamsessions/ABC123def4567/connections";
static const char AKID[] = "ASIAQEXAMPLEEXAMPLE7";
static const char SECRET[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
static const long long T0 = 1718000000; /* 2024-06-10 */

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Deterministic pseudo-random characters from an alphabet into out[n]. */
static void fill(char *out, size_t n, const char *alphabet, unsigned *seed) {
  size_t al = strlen(alphabet);
  for (size_t i = 0; i < n; i++) {
    *seed = *seed * 1103515245u + 12345u;
    out[i] = alphabet[(*seed >> 16) % al];
  }
}

/* The body: {"ClientToken": uuid, "SignalRequest": <3 KB SDP offer, JSON
 * escaped>}. Written into body (cap bytes); returns its length. */
static size_t make_body(char *body, size_t cap, unsigned *seed) {
  char offer[3200];
  size_t n = 0;
  static const char *const lines[] = {
      "v=0", "o=- 4611731400430051336 2 IN IP4 127.0.0.1", "s=-", "t=0 0",
      "a=group:BUNDLE 0 1 2", "a=extmap-allow-mixed", "a=msid-semantic: WMS",
      "m=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103 104 105 106 107 108 109 127 125",
      "c=IN IP4 0.0.0.0", "a=rtcp:9 IN IP4 0.0.0.0"};
  for (size_t i = 0; n < 3000; i++) {
    const char *l = lines[i % 10];
    size_t ll = strlen(l);
    memcpy(offer + n, l, ll);
    n += ll;
    if (i % 10 == 9) { /* a candidate-ish line with varying bytes */
      memcpy(offer + n, " a=ice-ufrag:", 13);
      n += 13;
      fill(offer + n, 24, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", seed);
      n += 24;
    }
    memcpy(offer + n, "\\r\\n", 4); /* CRLF, JSON-escaped */
    n += 4;
  }
  return (size_t)snprintf(body, cap,
                          "{\"ClientToken\":\"0b5e3a7c-2f4d-4c1e-9a8b-6d7e8f901234\","
                          "\"SignalRequest\":\"%.*s\"}",
                          (int)n, offer);
}

int main(int argc, char **argv) {
  unsigned seed = 42;
  static char body[4096];
  size_t body_len = make_body(body, sizeof body, &seed);
  char token[897];
  fill(token, 896, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", &seed);
  token[895] = '=';
  token[896] = '\0';
  char clen[24];
  snprintf(clen, sizeof clen, "%zu", body_len);
  gls_header headers[] = {
      {"Host", 4, HOST, sizeof HOST - 1},
      {"Content-Type", 12, "application/json", 16},
      {"Content-Length", 14, clen, strlen(clen)},
  };
  const size_t nheaders = sizeof headers / sizeof headers[0];

  if (argc > 1 && strcmp(argv[1], "--request-json") == 0) {
    /* Everything here is JSON-safe except the body's backslashes. */
    printf("{\"method\":\"POST\",\"url\":\"https://%s%s\",\"headers\":[", HOST, PATH);
    for (size_t i = 0; i < nheaders; i++)
      printf("%s[\"%.*s\",\"%.*s\"]", i ? "," : "", (int)headers[i].name_len, headers[i].name,
             (int)headers[i].value_len, headers[i].value);
    printf("],\"body\":\"");
    for (size_t i = 0; i < body_len; i++) {
      if (body[i] == '"' || body[i] == '\\') putchar('\\');
      putchar(body[i]);
    }
    printf("\",\"access_key_id\":\"%s\",\"secret_access_key\":\"%s\",\"session_token\":\"%s\","
           "\"region\":\"us-west-2\",\"service\":\"gameliftstreams\",\"time\":%lld}\n",
           AKID, SECRET, token, T0);
    return 0;
  }

  gls_signer *s = gls_signer_new();
  if (!s) return 1;
  gls_sigv4_params p = {0};
  p.method = "POST";
  p.path = PATH;
  p.headers = headers;
  p.nheaders = nheaders;
  p.body = body;
  p.body_len = body_len;
  p.access_key_id = AKID;
  p.secret_access_key = SECRET;
  p.session_token = token;
  p.region = "us-west-2";
  p.service = "gameliftstreams";
  p.time = T0;
  p.normalize_path = p.double_encode = 1;
  p.want_debug = 1;
  gls_sigv4_result r;
  char err[256];
  if (gls_signer_sign(s, &p, &r, err, sizeof err) != GLS_OK) {
    fprintf(stderr, "sign: %s\n", err);
    return 1;
  }
  size_t cr_len = r.canonical_request_len, sts_len = r.string_to_sign_len;
  printf("request: body %zu bytes, token %zu chars, canonical request %zu bytes, "
         "string to sign %zu bytes\n",
         body_len, strlen(token), cr_len, sts_len);
  p.want_debug = 0;

  /* The floor's inputs and contexts. */
  EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
  EVP_MD_CTX *mdctx = EVP_MD_CTX_new();
  EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
  EVP_MAC_CTX *mctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
  if (!md || !mdctx || !mctx) return 1;
  unsigned char key[32];
  memset(key, 7, sizeof key);
  OSSL_PARAM mp[2] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
                      OSSL_PARAM_construct_end()};
  if (!EVP_MAC_init(mctx, key, sizeof key, mp)) return 1;
  char *crbuf = malloc(cr_len), *stsbuf = malloc(sts_len);
  if (!crbuf || !stsbuf) return 1;
  memcpy(crbuf, r.canonical_request, cr_len);
  memcpy(stsbuf, r.string_to_sign, sts_len);

  double gls_b[BATCHES], floor_b[BATCHES];
  unsigned char d[32];
  unsigned int dl;
  size_t ml;
  volatile unsigned sink = 0;
  for (int b = -1; b < BATCHES; b++) { /* batch -1 warms up */
    double t = now_ns();
    for (int i = 0; i < ITERS; i++) {
      p.time = T0 + (i >> 10); /* the clock moves on, as it does in a client */
      if (gls_signer_sign(s, &p, &r, err, sizeof err) != GLS_OK) return 1;
      sink += (unsigned char)r.signature[0];
    }
    double tg = (now_ns() - t) / ITERS;
    t = now_ns();
    for (int i = 0; i < ITERS; i++) {
      EVP_DigestInit_ex2(mdctx, md, NULL);
      EVP_DigestUpdate(mdctx, body, body_len);
      EVP_DigestFinal_ex(mdctx, d, &dl);
      sink += d[0];
      EVP_DigestInit_ex2(mdctx, md, NULL);
      EVP_DigestUpdate(mdctx, crbuf, cr_len);
      EVP_DigestFinal_ex(mdctx, d, &dl);
      sink += d[0];
      EVP_MAC_init(mctx, NULL, 0, NULL);
      EVP_MAC_update(mctx, (unsigned char *)stsbuf, sts_len);
      EVP_MAC_final(mctx, d, &ml, sizeof d);
      sink += d[0];
    }
    double tf = (now_ns() - t) / ITERS;
    if (b >= 0) {
      gls_b[b] = tg;
      floor_b[b] = tf;
    }
  }
  qsort(gls_b, BATCHES, sizeof(double), cmp_double);
  qsort(floor_b, BATCHES, sizeof(double), cmp_double);
  long long g = (long long)(gls_b[BATCHES / 2] + 0.5), f = (long long)(floor_b[BATCHES / 2] + 0.5);
  printf("gls:   %lld ns/signature (median of %d x %d; min %.0f, max %.0f)\n", g, BATCHES, ITERS,
         gls_b[0], gls_b[BATCHES - 1]);
  printf("floor: %lld ns/signature (median of %d x %d; min %.0f, max %.0f)\n", f, BATCHES, ITERS,
         floor_b[0], floor_b[BATCHES - 1]);
  printf("sign_ns=%lld floor_ns=%lld\n", g, f);
  free(crbuf);
  free(stsbuf);
  EVP_MAC_CTX_free(mctx);
  EVP_MAC_free(mac);
  EVP_MD_CTX_free(mdctx);
  EVP_MD_free(md);
  gls_signer_free(s);
  return sink == 0xFFFFFFFFu; /* keeps the work observable */
}
