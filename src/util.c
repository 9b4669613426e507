/* util.c - growable buffers, percent-encoding, timestamps, status names. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>
#include "gls_private.h"

int gls_buf_reserve(gls_buf *b, size_t extra) {
  if (extra > SIZE_MAX - b->len - 1) return -1;
  size_t need = b->len + extra + 1;
  if (need <= b->cap) return 0;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  char *p = realloc(b->data, cap);
  if (!p) return -1;
  b->data = p;
  b->cap = cap;
  return 0;
}

int gls_buf_add(gls_buf *b, const void *p, size_t n) {
  if (gls_buf_reserve(b, n)) return -1;
  if (n) memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
  return 0;
}

int gls_buf_adds(gls_buf *b, const char *s) { return gls_buf_add(b, s, strlen(s)); }

int gls_buf_addc(gls_buf *b, char c) { return gls_buf_add(b, &c, 1); }

int gls_buf_printf(gls_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char tmp[256];
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0) return -1;
  if ((size_t)n < sizeof tmp) return gls_buf_add(b, tmp, (size_t)n);
  if (gls_buf_reserve(b, (size_t)n)) return -1;
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
  return 0;
}

void gls_buf_free(gls_buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

void gls_buf_wipe_free(gls_buf *b) {
  if (b->data) OPENSSL_cleanse(b->data, b->cap);
  gls_buf_free(b);
}

void gls_buf_reset(gls_buf *b) {
  b->len = 0;
  if (b->data) b->data[0] = '\0';
}

static const char HEX[] = "0123456789ABCDEF";

int gls_uri_encode(gls_buf *b, const char *s, size_t n, int keep_slash) {
  if (gls_buf_reserve(b, n * 3)) return -1;
  char *o = b->data + b->len;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
        c == '-' || c == '.' || c == '_' || c == '~' || (c == '/' && keep_slash)) {
      *o++ = (char)c;
    } else {
      *o++ = '%';
      *o++ = HEX[c >> 4];
      *o++ = HEX[c & 15];
    }
  }
  b->len = (size_t)(o - b->data);
  b->data[b->len] = '\0';
  return 0;
}

/* n decimal digits at s into *v; 0 ok, -1 not n digits. */
static int digits(const char *s, int n, int *v) {
  int x = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    x = x * 10 + (s[i] - '0');
  }
  *v = x;
  return 0;
}

/* ISO 8601 / RFC 3339 ("2024-05-01T10:00:00.5Z", "+02:00", no zone = UTC) to
 * epoch seconds: YYYY-MM-DD, 'T' (or 't' or ' '), hh:mm:ss, an optional
 * fraction, then Z, z, +hh:mm, -hh:mm or nothing. Every field is checked
 * for its range (a second of 60 is a leap second), so the result is always
 * a finite number of a year 0000 .. 9999; it was once sscanf, which took
 * "nan" or "1e300" for the seconds, and 99 for an hour. */
int gls_parse_iso8601(const char *s, double *out) {
  static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int Y, M, D, h, m, sec;
  if (!s || digits(s, 4, &Y) || s[4] != '-' || digits(s + 5, 2, &M) || s[7] != '-' ||
      digits(s + 8, 2, &D) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &m) || s[16] != ':' ||
      digits(s + 17, 2, &sec))
    return -1;
  int leap = (Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0;
  if (M < 1 || M > 12 || D < 1 || D > mdays[M - 1] || (M == 2 && D == 29 && !leap) || h > 23 ||
      m > 59 || sec > 60)
    return -1;
  const char *z = s + 19;
  double frac = 0, scale = 0.1;
  if (*z == '.') {
    z++;
    if (*z < '0' || *z > '9') return -1;
    for (; *z >= '0' && *z <= '9'; z++, scale /= 10) frac += (*z - '0') * scale;
  }
  int off = 0;
  if (*z == '+' || *z == '-') {
    int oh, om;
    if (digits(z + 1, 2, &oh) || z[3] != ':' || digits(z + 4, 2, &om) || z[6] || oh > 23 || om > 59)
      return -1;
    off = (oh * 60 + om) * 60 * (*z == '-' ? -1 : 1);
  } else if ((*z == 'Z' || *z == 'z') && !z[1]) {
    /* UTC */
  } else if (*z) {
    return -1;
  }
  /* days from civil (H. Hinnant): no timegm, no TZ, no libc state */
  int y = M <= 2 ? Y - 1 : Y;
  int era = (y >= 0 ? y : y - 399) / 400;
  int yoe = y - era * 400;
  int doy = (153 * (M + (M > 2 ? -3 : 9)) + 2) / 5 + D - 1;
  int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  long long days = (long long)era * 146097 + doe - 719468;
  *out = (double)(days * 86400 + h * 3600 + m * 60 + sec - off) + frac;
  return 0;
}

void gls_free(void *p) {
  if (!p) return;
  OPENSSL_cleanse(p, strlen(p));
  free(p);
}

const char *gls_version(void) { return GLS_VERSION; }

const char *gls_strerror(gls_status s) {
  switch (s) {
  case GLS_OK: return "no error";
  case GLS_E_INVALID_ARGUMENT: return "invalid argument";
  case GLS_E_NOMEM: return "out of memory";
  case GLS_E_UNKNOWN_OPERATION: return "unknown operation";
  case GLS_E_PARAM_VALIDATION: return "parameter validation failed";
  case GLS_E_NO_CREDENTIALS: return "no credentials";
  case GLS_E_NO_REGION: return "no region";
  case GLS_E_CONFIG: return "bad configuration";
  case GLS_E_CRYPTO: return "cryptography failure";
  case GLS_E_TRANSPORT: return "transport failure";
  case GLS_E_TIMEOUT: return "timed out";
  case GLS_E_TLS: return "TLS failure";
  case GLS_E_RESPONSE_TOO_LARGE: return "response too large";
  case GLS_E_BAD_RESPONSE: return "malformed response";
  case GLS_E_SERVICE: return "service error";
  case GLS_E_CANCELLED: return "cancelled";
  case GLS_E_BUSY: return "busy";
  case GLS_E_RUNTIME: return "runtime error";
  case GLS_LAST: break;
  }
  return "unknown status";
}
