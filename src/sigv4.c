/*
 * sigv4.c - AWS Signature Version 4 (header and presigned-query forms).
 *
 * The algorithm is the one shared/sigv4-vectors/README.md writes down; the
 * contract is the SigV4 section of gls_private.h.
 *
 * Speed: a client signs every request, so the steady state (same secret,
 * day, region and service as a recent call) makes no allocation of its own
 * and does only the work a signature needs: hash the body, build and hash
 * the canonical request in a reused buffer, and one HMAC that starts from
 * the cached signing key's precomputed inner/outer SHA-256 states. The
 * EVP_MD is fetched once per signer, the digest context is reused. (OpenSSL
 * 3.0's EVP_MD_CTX_copy_ex duplicates the provider state with a small
 * malloc; later releases copy in place. Either way it is cheaper than an
 * HMAC key set-up, which hashes two extra blocks.)
 *
 * Secrets: the cache keeps a copy of each secret (to recognise it) and the
 * HMAC states derived from the signing key; both are wiped with
 * OPENSSL_cleanse on eviction and in gls_signer_free, and so are the scratch
 * buffers that held a secret or a session token. Error messages name the
 * parameter, never its value.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include "gls_private.h"

/* Signing keys kept per signer. A client rarely needs more than one (the
 * key changes once a day); a few cover credential rotation and the day
 * boundary without re-deriving. */
#define SIGKEY_CACHE 4

/* X-Amz-Expires upper bound that AWS accepts (seven days). */
#define MAX_EXPIRES 604800L

/* One derived signing key: what it was derived from and the SHA-256 states
 * after absorbing (kSigning ^ ipad) and (kSigning ^ opad). */
typedef struct sigkey {
  char *id;          /* owned: secret '\0' region '\0' service '\0'; wiped */
  size_t secret_len, region_len, service_len;
  char date[8];      /* YYYYMMDD */
  EVP_MD_CTX *ipad;  /* owned; freeing cleanses the state */
  EVP_MD_CTX *opad;  /* owned */
  uint64_t used;     /* LRU stamp; 0 = empty slot */
} sigkey;

/* A header on its way into the canonical request. */
typedef struct hdr_ref {
  const char *name;  /* lower-cased copy in gls_signer.lnames */
  size_t name_len;
  const char *value; /* borrowed from the params or the signer */
  size_t value_len;
  size_t order;      /* position in input order, for a stable sort */
} hdr_ref;

/* A canonical query pair: offsets into gls_signer.qenc (which may move
 * while it grows, hence offsets, not pointers). */
typedef struct qpair {
  size_t key, key_len, val, val_len;
} qpair;

struct gls_signer {
  EVP_MD *md;            /* SHA-256, fetched once */
  EVP_MAC *mac;          /* HMAC, fetched once (key derivation) */
  EVP_MD_CTX *mdctx;     /* reused for every digest */
  EVP_MAC_CTX *kdf;      /* HMAC-SHA256 context for key derivation */
  sigkey keys[SIGKEY_CACHE];
  uint64_t tick;

  /* Scratch and result storage, reused from call to call. */
  gls_buf creq;    /* canonical request */
  gls_buf sts;     /* string to sign */
  gls_buf auth;    /* Authorization header value */
  gls_buf query;   /* presigned query as sent */
  gls_buf sh;      /* signed headers list, "a;b;c" */
  gls_buf lnames;  /* lower-cased header names */
  gls_buf path;    /* normalized path */
  gls_buf qenc;    /* canonical query pairs, encoded */
  gls_buf tok;     /* copy of the session token for result.added */
  gls_buf scope;   /* "date/region/service/aws4_request" */
  gls_buf phash;   /* payload hash (override copy or hex digest) */
  gls_buf scratch; /* "AWS4"+secret during derivation; wiped after use */
  hdr_ref *hdrs;
  size_t hdrs_cap;
  qpair *qp;
  size_t qp_cap;
  struct qsort_pair *qv;
  size_t qv_cap;

  int64_t date_time;     /* time amz_date was made for */
  char amz_date[17];     /* YYYYMMDDTHHMMSSZ */
};

static const char HEXL[] = "0123456789abcdef";
static const char HEXU[] = "0123456789ABCDEF";

/* Formats an error into errbuf (may be NULL) and returns st. */
static gls_status fail(char *errbuf, size_t errlen, gls_status st, const char *fmt, ...) {
  if (errbuf && errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, errlen, fmt, ap);
    va_end(ap);
  }
  return st;
}

static void hex32(const unsigned char d[32], char out[65]) {
  for (int i = 0; i < 32; i++) {
    out[2 * i] = HEXL[d[i] >> 4];
    out[2 * i + 1] = HEXL[d[i] & 15];
  }
  out[64] = '\0';
}

void gls_sha256_hex(const void *data, size_t n, char out[65]) {
  unsigned char d[32];
  unsigned int dl = 0;
  if (!EVP_Digest(data ? data : "", n, d, &dl, EVP_sha256(), NULL) || dl != 32) {
    out[0] = '\0';
    return;
  }
  hex32(d, out);
}

/* ------------------------------------------------------------ lifecycle */

static void sigkey_clear(sigkey *k) {
  if (k->id) {
    OPENSSL_clear_free(k->id, k->secret_len + k->region_len + k->service_len + 3);
    k->id = NULL;
  }
  EVP_MD_CTX_free(k->ipad); /* the provider cleanses the SHA-256 state */
  EVP_MD_CTX_free(k->opad);
  k->ipad = k->opad = NULL;
  OPENSSL_cleanse(k->date, sizeof k->date);
  k->used = 0;
}

gls_signer *gls_signer_new(void) {
  gls_signer *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  s->date_time = INT64_MIN;
  s->md = EVP_MD_fetch(NULL, "SHA256", NULL);
  s->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
  s->mdctx = EVP_MD_CTX_new();
  if (s->mac) s->kdf = EVP_MAC_CTX_new(s->mac);
  if (!s->md || !s->mac || !s->mdctx || !s->kdf) {
    gls_signer_free(s);
    return NULL;
  }
  OSSL_PARAM p[2];
  p[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
  p[1] = OSSL_PARAM_construct_end();
  if (!EVP_MAC_CTX_set_params(s->kdf, p)) {
    gls_signer_free(s);
    return NULL;
  }
  return s;
}

void gls_signer_free(gls_signer *s) {
  if (!s) return;
  for (int i = 0; i < SIGKEY_CACHE; i++) sigkey_clear(&s->keys[i]);
  EVP_MAC_CTX_free(s->kdf);
  EVP_MAC_free(s->mac);
  EVP_MD_CTX_free(s->mdctx);
  EVP_MD_free(s->md);
  /* Buffers that can hold a token, a secret or a signature: wipe them all. */
  gls_buf *bufs[] = {&s->creq, &s->sts, &s->auth, &s->query, &s->sh, &s->lnames, &s->path,
                     &s->qenc, &s->tok, &s->scope, &s->phash, &s->scratch};
  for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) gls_buf_wipe_free(bufs[i]);
  if (s->hdrs) OPENSSL_cleanse(s->hdrs, s->hdrs_cap * sizeof *s->hdrs);
  free(s->hdrs);
  free(s->qp);
  free(s->qv);
  OPENSSL_cleanse(s, sizeof *s);
  free(s);
}

/* ------------------------------------------------------------ the key */

/* out = HMAC-SHA256(key, msg) with the derivation context. */
static int kdf_step(gls_signer *s, const void *key, size_t keylen, const char *msg, size_t n,
                    unsigned char out[32]) {
  size_t ol = 0;
  return EVP_MAC_init(s->kdf, key, keylen, NULL) &&
         EVP_MAC_update(s->kdf, (const unsigned char *)msg, n) &&
         EVP_MAC_final(s->kdf, out, &ol, 32) && ol == 32;
}

/* Finds the cached signing key for (secret, date, region, service), or
 * derives it into the least recently used slot. Returns NULL with *st set
 * on failure. The returned entry is owned by the signer. */
static sigkey *signing_key(gls_signer *s, const gls_sigv4_params *p, gls_status *st) {
  size_t sl = strlen(p->secret_access_key), rl = strlen(p->region), vl = strlen(p->service);
  sigkey *victim = &s->keys[0];
  for (int i = 0; i < SIGKEY_CACHE; i++) {
    sigkey *k = &s->keys[i];
    if (k->used && k->secret_len == sl && k->region_len == rl && k->service_len == vl &&
        memcmp(k->date, s->amz_date, 8) == 0 && memcmp(k->id, p->secret_access_key, sl) == 0 &&
        memcmp(k->id + sl + 1, p->region, rl) == 0 &&
        memcmp(k->id + sl + rl + 2, p->service, vl) == 0) {
      k->used = ++s->tick;
      return k;
    }
    if (k->used < victim->used) victim = k;
  }

  /* Miss: derive kSigning, then keep only the two HMAC states. */
  sigkey_clear(victim);
  *st = GLS_E_NOMEM;
  char *id = malloc(sl + rl + vl + 3);
  if (!id) return NULL;
  memcpy(id, p->secret_access_key, sl + 1);
  memcpy(id + sl + 1, p->region, rl + 1);
  memcpy(id + sl + rl + 2, p->service, vl + 1);
  victim->id = id;
  victim->secret_len = sl;
  victim->region_len = rl;
  victim->service_len = vl;
  victim->ipad = EVP_MD_CTX_new();
  victim->opad = EVP_MD_CTX_new();
  gls_buf_reset(&s->scratch);
  if (!victim->ipad || !victim->opad || gls_buf_add(&s->scratch, "AWS4", 4) ||
      gls_buf_add(&s->scratch, p->secret_access_key, sl)) {
    OPENSSL_cleanse(s->scratch.data, s->scratch.cap);
    sigkey_clear(victim);
    return NULL;
  }
  *st = GLS_E_CRYPTO;
  unsigned char k1[32], k2[32], pad[64];
  int ok = kdf_step(s, s->scratch.data, s->scratch.len, s->amz_date, 8, k1) &&
           kdf_step(s, k1, 32, p->region, rl, k2) && kdf_step(s, k2, 32, p->service, vl, k1) &&
           kdf_step(s, k1, 32, "aws4_request", 12, k2);
  if (ok) {
    /* HMAC with a 32-byte key: the key zero-padded to the 64-byte block,
     * XORed with 0x36 (inner) and 0x5c (outer). */
    for (int i = 0; i < 64; i++) pad[i] = (unsigned char)((i < 32 ? k2[i] : 0) ^ 0x36);
    ok = EVP_DigestInit_ex2(victim->ipad, s->md, NULL) &&
         EVP_DigestUpdate(victim->ipad, pad, 64);
    for (int i = 0; i < 64; i++) pad[i] = (unsigned char)((i < 32 ? k2[i] : 0) ^ 0x5c);
    ok = ok && EVP_DigestInit_ex2(victim->opad, s->md, NULL) &&
         EVP_DigestUpdate(victim->opad, pad, 64);
  }
  OPENSSL_cleanse(k1, sizeof k1);
  OPENSSL_cleanse(k2, sizeof k2);
  OPENSSL_cleanse(pad, sizeof pad);
  OPENSSL_cleanse(s->scratch.data, s->scratch.cap);
  s->scratch.len = 0;
  if (!ok) {
    sigkey_clear(victim);
    return NULL;
  }
  memcpy(victim->date, s->amz_date, 8);
  victim->used = ++s->tick;
  return victim;
}

/* ------------------------------------------------------------ pieces */

/* Formats t (epoch seconds, UTC) as YYYYMMDDTHHMMSSZ into s->amz_date.
 * Days-to-civil after H. Hinnant; no locale, no TZ, no libc state. */
static void format_amz_date(gls_signer *s, int64_t t) {
  if (t == s->date_time) return;
  int64_t days = t / 86400, sec = t % 86400;
  int64_t z = days + 719468;
  int64_t era = z / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t d = doy - (153 * mp + 2) / 5 + 1;
  int64_t m = mp < 10 ? mp + 3 : mp - 9;
  int64_t y = yoe + era * 400 + (m <= 2);
  int v[6] = {(int)y, (int)m, (int)d, (int)(sec / 3600), (int)(sec / 60 % 60), (int)(sec % 60)};
  char *o = s->amz_date;
  o[0] = (char)('0' + v[0] / 1000);
  o[1] = (char)('0' + v[0] / 100 % 10);
  o[2] = (char)('0' + v[0] / 10 % 10);
  o[3] = (char)('0' + v[0] % 10);
  for (int i = 1; i < 6; i++) {
    char *q = o + 4 + 2 * (i - 1) + (i >= 3);
    q[0] = (char)('0' + v[i] / 10);
    q[1] = (char)('0' + v[i] % 10);
  }
  o[8] = 'T';
  o[15] = 'Z';
  o[16] = '\0';
  s->date_time = t;
}

static inline int is_ws(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* RFC 9110 tchar: what a header name is made of. */
static inline int is_tchar(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         (c && strchr("!#$%&'*+-.^_`|~", c));
}

static inline int is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

/* Does any of the n bytes at p fall below 0x21 (space or control)? Eight
 * bytes at a time; the common header value has no whitespace at all. */
static int has_low_byte(const char *p, size_t n) {
  const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t x;
    memcpy(&x, p + i, 8);
    if ((x - ones * 0x21) & ~x & highs) return 1;
  }
  for (; i < n; i++)
    if ((unsigned char)p[i] < 0x21) return 1;
  return 0;
}

/* Appends the header value trimmed, with each internal whitespace run made
 * one space. Space for n bytes must be reserved in b. */
static void add_trimmed(gls_buf *b, const char *v, size_t n) {
  while (n && is_ws((unsigned char)v[0])) v++, n--;
  while (n && is_ws((unsigned char)v[n - 1])) n--;
  char *o = b->data + b->len;
  if (!has_low_byte(v, n)) {
    memcpy(o, v, n);
    o += n;
  } else {
    for (size_t i = 0; i < n;) {
      unsigned char c = (unsigned char)v[i];
      if (is_ws(c)) {
        *o++ = ' ';
        while (i < n && is_ws((unsigned char)v[i])) i++;
      } else {
        *o++ = (char)c;
        i++;
      }
    }
  }
  b->len = (size_t)(o - b->data);
}

static inline int hexval(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* Appends s[0..n) with %XX escapes decoded and then every byte other than
 * the unreserved ones percent-encoded (upper-case hex, '/' included). A '%'
 * not followed by two hex digits is taken literally. */
static int add_query_component(gls_buf *b, const char *s, size_t n) {
  if (gls_buf_reserve(b, n * 3)) return -1;
  char *o = b->data + b->len;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    int h, l;
    if (c == '%' && i + 2 < n && (h = hexval((unsigned char)s[i + 1])) >= 0 &&
        (l = hexval((unsigned char)s[i + 2])) >= 0) {
      c = (unsigned char)(h << 4 | l);
      i += 2;
    }
    if (is_unreserved(c)) {
      *o++ = (char)c;
    } else {
      *o++ = '%';
      *o++ = HEXU[c >> 4];
      *o++ = HEXU[c & 15];
    }
  }
  b->len = (size_t)(o - b->data);
  b->data[b->len] = '\0';
  return 0;
}

/* RFC 3986 remove_dot_segments plus merging of empty segments, as AWS
 * services (and botocore) do: "/a//b/../c/" -> "/a/c/". The result goes to
 * s->path; a path that ends in '/' keeps it unless nothing is left. */
static int normalize_path(gls_signer *s, const char *p, size_t n) {
  gls_buf *b = &s->path;
  gls_buf_reset(b);
  if (gls_buf_reserve(b, n + 1)) return -1;
  char *o = b->data;
  size_t len = 0, segs = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && p[j] != '/') j++;
    size_t sl = j - i;
    if (sl == 0 || (sl == 1 && p[i] == '.')) {
      /* skip */
    } else if (sl == 2 && p[i] == '.' && p[i + 1] == '.') {
      if (segs) {
        while (len && o[len - 1] != '/') len--;
        if (len) len--; /* the '/' before the segment */
        segs--;
      }
    } else {
      o[len++] = '/';
      memcpy(o + len, p + i, sl);
      len += sl;
      segs++;
    }
    i = j + 1;
  }
  if (segs == 0 || (n && p[n - 1] == '/')) o[len++] = '/';
  b->len = len;
  o[len] = '\0';
  return 0;
}

static int cmp_bytes(const char *a, size_t al, const char *b, size_t bl) {
  int c = memcmp(a, b, al < bl ? al : bl);
  if (c) return c;
  return al < bl ? -1 : al > bl;
}

static int hdr_cmp(const void *x, const void *y) {
  const hdr_ref *a = x, *b = y;
  int c = cmp_bytes(a->name, a->name_len, b->name, b->name_len);
  if (c) return c;
  return a->order < b->order ? -1 : a->order > b->order;
}

/* Sorts by name, keeping input order among equal names. */
static void sort_headers(hdr_ref *h, size_t n) {
  if (n > 24) {
    qsort(h, n, sizeof *h, hdr_cmp);
    return;
  }
  for (size_t i = 1; i < n; i++) {
    hdr_ref t = h[i];
    size_t j = i;
    while (j && cmp_bytes(h[j - 1].name, h[j - 1].name_len, t.name, t.name_len) > 0) {
      h[j] = h[j - 1];
      j--;
    }
    h[j] = t;
  }
}

/* A canonical query pair resolved to pointers, once the encoded buffer
 * has stopped moving; this is what gets sorted. */
typedef struct qsort_pair {
  const char *k;
  size_t kl;
  const char *v;
  size_t vl;
} qsort_pair;

static int qpair_cmp(const qsort_pair *a, const qsort_pair *b) {
  int c = cmp_bytes(a->k, a->kl, b->k, b->kl);
  return c ? c : cmp_bytes(a->v, a->vl, b->v, b->vl);
}

static int qpair_qcmp(const void *x, const void *y) { return qpair_cmp(x, y); }

static int grow(void **arr, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return 0;
  size_t c = *cap ? *cap : 16;
  while (c < need) c *= 2;
  void *p = realloc(*arr, c * elem);
  if (!p) return -1;
  *arr = p;
  *cap = c;
  return 0;
}

/* Names the signer adds in the header form; the caller must not send them
 * as well. */
static const char *reserved_header(const gls_sigv4_params *p, const char *lname, size_t n,
                                   int has_token) {
  if (n == 13 && memcmp(lname, "authorization", 13) == 0) return "Authorization";
  if (!p->date_in_headers && n == 10 && memcmp(lname, "x-amz-date", 10) == 0)
    return "X-Amz-Date";
  if (has_token && n == 20 && memcmp(lname, "x-amz-security-token", 20) == 0)
    return "X-Amz-Security-Token";
  if (p->sign_body && n == 20 && memcmp(lname, "x-amz-content-sha256", 20) == 0)
    return "x-amz-content-sha256";
  return NULL;
}

/* ------------------------------------------------------------ signing */

static gls_status check_params(const gls_sigv4_params *p, char *errbuf, size_t errlen) {
  const gls_status E = GLS_E_INVALID_ARGUMENT;
  if (!p->method || !*p->method) return fail(errbuf, errlen, E, "sigv4: method is missing");
  for (const char *m = p->method; *m; m++)
    if ((unsigned char)*m <= 0x20 || *m == 0x7f)
      return fail(errbuf, errlen, E, "sigv4: method holds whitespace or a control byte");
  if (!p->path) return fail(errbuf, errlen, E, "sigv4: path is missing");
  if (*p->path && *p->path != '/')
    return fail(errbuf, errlen, E, "sigv4: path must start with '/'");
  if (p->nheaders && !p->headers) return fail(errbuf, errlen, E, "sigv4: headers is NULL");
  for (size_t i = 0; i < p->nheaders; i++) {
    const gls_header *h = &p->headers[i];
    if (!h->name || !h->name_len)
      return fail(errbuf, errlen, E, "sigv4: headers[%zu] has no name", i + 1);
    if (!h->value && h->value_len)
      return fail(errbuf, errlen, E, "sigv4: headers[%zu] value is NULL", i + 1);
    for (size_t j = 0; j < h->name_len; j++) {
      unsigned char c = (unsigned char)h->name[j];
      /* an RFC 9110 token: a ',' or ';' in a name would also break the
       * SignedHeaders list of the Authorization header */
      if (!is_tchar(c))
        return fail(errbuf, errlen, E,
                    "sigv4: headers[%zu] name holds '%c' (0x%02x): a header name is an HTTP token "
                    "(letters, digits and !#$%%&'*+-.^_`|~)", i + 1, c >= 0x20 && c < 0x7f ? c : '?', c);
    }
  }
  if (p->body_len && !p->body) return fail(errbuf, errlen, E, "sigv4: body is NULL");
  if (p->payload_hash && !*p->payload_hash)
    return fail(errbuf, errlen, E, "sigv4: payload_hash is empty");
  if (!p->access_key_id || !*p->access_key_id)
    return fail(errbuf, errlen, E, "sigv4: access_key_id is missing");
  if (!p->secret_access_key || !*p->secret_access_key)
    return fail(errbuf, errlen, E, "sigv4: secret_access_key is missing");
  if (!p->region || !*p->region) return fail(errbuf, errlen, E, "sigv4: region is missing");
  if (!p->service || !*p->service) return fail(errbuf, errlen, E, "sigv4: service is missing");
  /* X-Amz-Date has four year digits: 1970-01-01 .. 9999-12-31. */
  if (p->time < 0 || p->time > INT64_C(253402300799))
    return fail(errbuf, errlen, E, "sigv4: time is out of range (0 .. 253402300799)");
  if (p->query_form && (p->expires <= 0 || p->expires > MAX_EXPIRES))
    return fail(errbuf, errlen, E, "sigv4: expires must be 1 .. %ld seconds in the query form",
                MAX_EXPIRES);
  return GLS_OK;
}

gls_status gls_signer_sign(gls_signer *s, const gls_sigv4_params *p, gls_sigv4_result *out,
                           char *errbuf, size_t errlen) {
  if (errbuf && errlen) errbuf[0] = '\0';
  if (!s) return fail(errbuf, errlen, GLS_E_INVALID_ARGUMENT, "sigv4: signer is NULL");
  if (!p) return fail(errbuf, errlen, GLS_E_INVALID_ARGUMENT, "sigv4: params is NULL");
  if (!out) return fail(errbuf, errlen, GLS_E_INVALID_ARGUMENT, "sigv4: result is NULL");
  memset(out, 0, sizeof *out);
  gls_status st = check_params(p, errbuf, errlen);
  if (st != GLS_OK) return st;

  const int qf = p->query_form != 0;
  const int has_token = p->session_token && *p->session_token;
  const int sign_token = has_token && !p->omit_session_token;
  const size_t token_len = has_token ? strlen(p->session_token) : 0;
  format_amz_date(s, p->time);

  /* --- payload hash */
  gls_buf_reset(&s->phash);
  if (p->payload_hash) {
    if (gls_buf_adds(&s->phash, p->payload_hash)) goto nomem;
  } else {
    unsigned char d[32];
    unsigned int dl = 0;
    if (gls_buf_reserve(&s->phash, 64)) goto nomem;
    if (!EVP_DigestInit_ex2(s->mdctx, s->md, NULL) ||
        (p->body_len && !EVP_DigestUpdate(s->mdctx, p->body, p->body_len)) ||
        !EVP_DigestFinal_ex(s->mdctx, d, &dl))
      goto crypto;
    hex32(d, s->phash.data);
    s->phash.len = 64;
  }

  /* --- headers: lower-case names, add ours, sort */
  size_t nh = p->nheaders + (qf ? 0 : 3), names_len = 0;
  if (grow((void **)&s->hdrs, &s->hdrs_cap, nh ? nh : 1, sizeof *s->hdrs)) goto nomem;
  for (size_t i = 0; i < p->nheaders; i++) names_len += p->headers[i].name_len;
  gls_buf_reset(&s->lnames);
  if (gls_buf_reserve(&s->lnames, names_len)) goto nomem;
  nh = 0;
  for (size_t i = 0; i < p->nheaders; i++) {
    const gls_header *h = &p->headers[i];
    char *ln = s->lnames.data + s->lnames.len;
    for (size_t j = 0; j < h->name_len; j++) {
      unsigned char c = (unsigned char)h->name[j];
      ln[j] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    s->lnames.len += h->name_len;
    if (!qf) {
      const char *r = reserved_header(p, ln, h->name_len, has_token);
      if (r)
        return fail(errbuf, errlen, GLS_E_INVALID_ARGUMENT,
                    "sigv4: headers[%zu] is %s, which the signer adds", i + 1, r);
    }
    s->hdrs[nh++] = (hdr_ref){ln, h->name_len, h->value ? h->value : "", h->value_len, i};
  }
  gls_buf_reset(&s->tok);
  if (!qf) {
    if (!p->date_in_headers) {
      s->hdrs[nh] = (hdr_ref){"x-amz-date", 10, s->amz_date, 16, nh};
      nh++;
    }
    if (sign_token) {
      if (gls_buf_add(&s->tok, p->session_token, token_len)) goto nomem;
      s->hdrs[nh] = (hdr_ref){"x-amz-security-token", 20, s->tok.data, token_len, nh};
      nh++;
    }
    if (p->sign_body) {
      s->hdrs[nh] = (hdr_ref){"x-amz-content-sha256", 20, s->phash.data, s->phash.len, nh};
      nh++;
    }
  }
  sort_headers(s->hdrs, nh);

  /* signed headers: the distinct names, sorted, joined with ';' */
  gls_buf_reset(&s->sh);
  if (gls_buf_reserve(&s->sh, names_len + 64 + nh)) goto nomem;
  for (size_t i = 0; i < nh; i++) {
    if (i && s->hdrs[i].name_len == s->hdrs[i - 1].name_len &&
        memcmp(s->hdrs[i].name, s->hdrs[i - 1].name, s->hdrs[i].name_len) == 0)
      continue;
    if (s->sh.len) s->sh.data[s->sh.len++] = ';';
    memcpy(s->sh.data + s->sh.len, s->hdrs[i].name, s->hdrs[i].name_len);
    s->sh.len += s->hdrs[i].name_len;
  }
  s->sh.data[s->sh.len] = '\0';

  /* --- scope */
  gls_buf_reset(&s->scope);
  if (gls_buf_add(&s->scope, s->amz_date, 8) || gls_buf_addc(&s->scope, '/') ||
      gls_buf_adds(&s->scope, p->region) || gls_buf_addc(&s->scope, '/') ||
      gls_buf_adds(&s->scope, p->service) || gls_buf_adds(&s->scope, "/aws4_request"))
    goto nomem;

  /* --- canonical request */
  gls_buf *cr = &s->creq;
  gls_buf_reset(cr);
  {
    size_t ml = strlen(p->method);
    if (gls_buf_reserve(cr, ml + 1)) goto nomem;
    for (size_t i = 0; i < ml; i++) {
      unsigned char c = (unsigned char)p->method[i];
      cr->data[cr->len++] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
    }
    cr->data[cr->len++] = '\n';
  }
  {
    const char *path = p->path;
    size_t pl = strlen(path);
    if (p->normalize_path) {
      if (normalize_path(s, path, pl)) goto nomem;
      path = s->path.data;
      pl = s->path.len;
    }
    if (pl == 0) {
      path = "/";
      pl = 1;
    }
    if (p->double_encode ? gls_uri_encode(cr, path, pl, 1) : gls_buf_add(cr, path, pl))
      goto nomem;
    if (gls_buf_addc(cr, '\n')) goto nomem;
  }

  /* canonical query: parse, decode and re-encode the caller's pairs, add
   * the presigning parameters, sort by key then value. */
  {
    const char *q = p->query ? p->query : "";
    size_t ql = strlen(q), np = 0;
    gls_buf *qe = &s->qenc;
    gls_buf_reset(qe);
    for (size_t i = 0; i < ql;) {
      size_t j = i;
      while (j < ql && q[j] != '&') j++;
      if (j > i) {
        const char *eq = memchr(q + i, '=', j - i);
        size_t kend = eq ? (size_t)(eq - q) : j;
        if (grow((void **)&s->qp, &s->qp_cap, np + 1, sizeof *s->qp)) goto nomem;
        qpair *pp = &s->qp[np++];
        pp->key = qe->len;
        if (add_query_component(qe, q + i, kend - i)) goto nomem;
        pp->key_len = qe->len - pp->key;
        pp->val = qe->len;
        if (eq && add_query_component(qe, eq + 1, j - kend - 1)) goto nomem;
        pp->val_len = qe->len - pp->val;
        if (qf && pp->key_len > 6 && memcmp(qe->data + pp->key, "X-Amz-", 6) == 0) {
          static const char *const added[] = {"X-Amz-Algorithm", "X-Amz-Credential",
                                              "X-Amz-Date", "X-Amz-Expires",
                                              "X-Amz-SignedHeaders", "X-Amz-Security-Token",
                                              "X-Amz-Signature"};
          for (size_t a = 0; a < sizeof added / sizeof added[0]; a++)
            if (strlen(added[a]) == pp->key_len &&
                memcmp(added[a], qe->data + pp->key, pp->key_len) == 0)
              return fail(errbuf, errlen, GLS_E_INVALID_ARGUMENT,
                          "sigv4: query holds %s, which the signer adds", added[a]);
        }
      }
      i = j + 1;
    }
    if (qf) {
      /* The presigning parameters, encoded once here and reused for the
       * query as sent. Each is "name=value" in qe; the pair offsets are
       * recorded in the order they are sent. */
      char expires[24];
      int el = snprintf(expires, sizeof expires, "%ld", p->expires);
      struct { const char *name; const char *v; size_t vl; int enc; } add[6] = {
          {"X-Amz-Algorithm", "AWS4-HMAC-SHA256", 16, 0},
          {"X-Amz-Credential", NULL, 0, 1},
          {"X-Amz-Date", s->amz_date, 16, 0},
          {"X-Amz-SignedHeaders", s->sh.data, s->sh.len, 1},
          {"X-Amz-Expires", expires, (size_t)el, 0},
          {"X-Amz-Security-Token", p->session_token, token_len, 1},
      };
      size_t nadd = has_token ? 6 : 5;
      if (grow((void **)&s->qp, &s->qp_cap, np + 6, sizeof *s->qp)) goto nomem;
      for (size_t a = 0; a < nadd; a++) {
        qpair *pp = &s->qp[np + a];
        pp->key = qe->len;
        if (gls_buf_adds(qe, add[a].name)) goto nomem;
        pp->key_len = qe->len - pp->key;
        pp->val = qe->len;
        if (a == 1) {
          if (gls_uri_encode(qe, p->access_key_id, strlen(p->access_key_id), 0) ||
              gls_buf_adds(qe, "%2F") ||
              gls_uri_encode(qe, s->scope.data, s->scope.len, 0))
            goto nomem;
        } else if (add[a].enc ? gls_uri_encode(qe, add[a].v, add[a].vl, 0)
                              : gls_buf_add(qe, add[a].v, add[a].vl)) {
          goto nomem;
        }
        pp->val_len = qe->len - pp->val;
      }

      /* The query as sent: the caller's, then ours in the reference order,
       * the signature appended at the end. */
      gls_buf *wq = &s->query;
      gls_buf_reset(wq);
      if (ql && gls_buf_add(wq, q, ql)) goto nomem;
      for (size_t a = 0; a < nadd; a++) {
        const qpair *pp = &s->qp[np + a];
        if ((wq->len && gls_buf_addc(wq, '&')) ||
            gls_buf_add(wq, qe->data + pp->key, pp->key_len) || gls_buf_addc(wq, '=') ||
            gls_buf_add(wq, qe->data + pp->val, pp->val_len))
          goto nomem;
      }
      if (!sign_token && has_token) nadd--; /* sent, not signed */
      np += nadd;
    }

    /* Sort pointer views of the pairs (qe no longer moves). */
    if (grow((void **)&s->qv, &s->qv_cap, np ? np : 1, sizeof *s->qv)) goto nomem;
    qsort_pair *v = s->qv;
    for (size_t i = 0; i < np; i++) {
      qpair o = s->qp[i];
      v[i] = (qsort_pair){qe->data + o.key, o.key_len, qe->data + o.val, o.val_len};
    }
    if (np > 16) {
      qsort(v, np, sizeof *v, qpair_qcmp);
    } else {
      for (size_t i = 1; i < np; i++) {
        qsort_pair t = v[i];
        size_t j = i;
        while (j && qpair_cmp(&v[j - 1], &t) > 0) {
          v[j] = v[j - 1];
          j--;
        }
        v[j] = t;
      }
    }
    if (gls_buf_reserve(cr, qe->len + 2 * np + 1)) goto nomem;
    for (size_t i = 0; i < np; i++) {
      char *o = cr->data + cr->len;
      if (i) *o++ = '&';
      memcpy(o, v[i].k, v[i].kl);
      o += v[i].kl;
      *o++ = '=';
      memcpy(o, v[i].v, v[i].vl);
      o += v[i].vl;
      cr->len = (size_t)(o - cr->data);
    }
    cr->data[cr->len++] = '\n';
  }

  /* canonical headers */
  {
    size_t need = 0;
    for (size_t i = 0; i < nh; i++) need += s->hdrs[i].name_len + s->hdrs[i].value_len + 2;
    if (gls_buf_reserve(cr, need + 1 + s->sh.len + 1 + s->phash.len)) goto nomem;
    for (size_t i = 0; i < nh; i++) {
      const hdr_ref *h = &s->hdrs[i];
      if (i && h->name_len == h[-1].name_len && memcmp(h->name, h[-1].name, h->name_len) == 0) {
        cr->data[cr->len - 1] = ','; /* repeated name: join values */
      } else {
        memcpy(cr->data + cr->len, h->name, h->name_len);
        cr->len += h->name_len;
        cr->data[cr->len++] = ':';
      }
      add_trimmed(cr, h->value, h->value_len);
      cr->data[cr->len++] = '\n';
    }
    char *o = cr->data + cr->len;
    *o++ = '\n';
    memcpy(o, s->sh.data, s->sh.len);
    o += s->sh.len;
    *o++ = '\n';
    memcpy(o, s->phash.data, s->phash.len);
    o += s->phash.len;
    cr->len = (size_t)(o - cr->data);
    cr->data[cr->len] = '\0';
  }

  /* --- string to sign */
  gls_buf *ss = &s->sts;
  gls_buf_reset(ss);
  if (gls_buf_reserve(ss, 17 + 17 + s->scope.len + 1 + 64)) goto nomem;
  {
    unsigned char d[32];
    unsigned int dl = 0;
    if (!EVP_DigestInit_ex2(s->mdctx, s->md, NULL) ||
        !EVP_DigestUpdate(s->mdctx, cr->data, cr->len) || !EVP_DigestFinal_ex(s->mdctx, d, &dl))
      goto crypto;
    char *o = ss->data;
    memcpy(o, "AWS4-HMAC-SHA256\n", 17);
    memcpy(o + 17, s->amz_date, 16);
    o[33] = '\n';
    memcpy(o + 34, s->scope.data, s->scope.len);
    o += 34 + s->scope.len;
    *o++ = '\n';
    hex32(d, o);
    ss->len = (size_t)(o + 64 - ss->data);
  }

  /* --- signature */
  {
    sigkey *k = signing_key(s, p, &st);
    if (!k) {
      if (st == GLS_E_NOMEM) goto nomem;
      goto crypto;
    }
    unsigned char inner[32], sig[32];
    unsigned int dl = 0;
    if (!EVP_MD_CTX_copy_ex(s->mdctx, k->ipad) ||
        !EVP_DigestUpdate(s->mdctx, ss->data, ss->len) ||
        !EVP_DigestFinal_ex(s->mdctx, inner, &dl) || !EVP_MD_CTX_copy_ex(s->mdctx, k->opad) ||
        !EVP_DigestUpdate(s->mdctx, inner, 32) || !EVP_DigestFinal_ex(s->mdctx, sig, &dl))
      goto crypto;
    hex32(sig, out->signature);
  }

  /* --- what to add */
  if (qf) {
    gls_buf *wq = &s->query;
    if (gls_buf_add(wq, "&X-Amz-Signature=", 17) || gls_buf_add(wq, out->signature, 64))
      goto nomem;
    out->query = wq->data;
    out->query_len = wq->len;
  } else {
    gls_buf *a = &s->auth;
    gls_buf_reset(a);
    if (gls_buf_reserve(a, 64 + strlen(p->access_key_id) + s->scope.len + s->sh.len + 64))
      goto nomem;
    if (gls_buf_add(a, "AWS4-HMAC-SHA256 Credential=", 28) || gls_buf_adds(a, p->access_key_id) ||
        gls_buf_addc(a, '/') || gls_buf_add(a, s->scope.data, s->scope.len) ||
        gls_buf_add(a, ", SignedHeaders=", 16) || gls_buf_add(a, s->sh.data, s->sh.len) ||
        gls_buf_add(a, ", Signature=", 12) || gls_buf_add(a, out->signature, 64))
      goto nomem;
    size_t n = 0;
    if (has_token) {
      if (!sign_token && gls_buf_add(&s->tok, p->session_token, token_len)) goto nomem;
      out->added[n++] = (gls_header){"X-Amz-Security-Token", 20, s->tok.data, s->tok.len};
    }
    if (!p->date_in_headers) out->added[n++] = (gls_header){"X-Amz-Date", 10, s->amz_date, 16};
    if (p->sign_body)
      out->added[n++] = (gls_header){"x-amz-content-sha256", 20, s->phash.data, s->phash.len};
    out->added[n++] = (gls_header){"Authorization", 13, a->data, a->len};
    out->nadded = n;
  }
  if (p->want_debug) {
    out->canonical_request = cr->data;
    out->canonical_request_len = cr->len;
    out->string_to_sign = ss->data;
    out->string_to_sign_len = ss->len;
  }
  return GLS_OK;

nomem:
  memset(out, 0, sizeof *out);
  return fail(errbuf, errlen, GLS_E_NOMEM, "sigv4: out of memory");
crypto:
  memset(out, 0, sizeof *out);
  return fail(errbuf, errlen, GLS_E_CRYPTO, "sigv4: OpenSSL digest failed");
}
