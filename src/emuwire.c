/* emuwire.c - the emulator's wire helpers (the contract is emuwire.h):
 * routing by the model's URI templates, SigV4 verification with the core
 * signer, input extraction and validation in the service's words, output
 * encoding by the model's output shapes. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>
#include "emuwire.h"

/* Largest skew between the request's timestamp and the server clock. */
#define MAX_SKEW 300
/* Deepest nesting of shapes followed (the model is far shallower). */
#define MAX_DEPTH 32

static const char ALGORITHM[] = "AWS4-HMAC-SHA256";
static const char MISMATCH[] =
    "The request signature we calculated does not match the signature you provided. Check "
    "your AWS Secret Access Key and signing method. Consult the service documentation for "
    "details.";
static const char BAD_TOKEN[] = "The security token included in the request is invalid.";

struct gls_emu {
  gls_signer *signer;  /* owned */
  gls_regexes *rx;     /* owned; patterns compiled on first use */
  gls_buf msg;         /* the last error message */
  gls_buf labels;      /* decoded label values, NUL-separated */
  gls_buf ident;       /* access key id '\0' region '\0' */
  gls_buf query;       /* verify: query without the presigning parameters */
  gls_buf pv;          /* verify: decoded presigning values, NUL-separated */
  gls_buf tmp;         /* decoded query keys/values, echoed headers, ... */
  gls_buf path;        /* member path while walking a shape */
  gls_buf errs;        /* validation violations joined by "; " */
  gls_buf rules;       /* failed rules of one value, '\n'-terminated */
  gls_buf show;        /* a value as a message shows it */
  gls_buf out;         /* output text */
  gls_header *hdrs;    /* verify: the signed headers */
  size_t hdrs_cap;
  int nerr;            /* validation violations counted */
  int oom;             /* a message or path could not grow */
};

gls_emu *gls_emu_new(void) {
  gls_emu *e = calloc(1, sizeof *e);
  if (!e) return NULL;
  e->signer = gls_signer_new();
  e->rx = gls_regexes_new();
  if (!e->signer || !e->rx) {
    gls_emu_free(e);
    return NULL;
  }
  return e;
}

void gls_emu_free(gls_emu *e) {
  if (!e) return;
  gls_signer_free(e->signer);
  gls_regexes_free(e->rx);
  /* Request data went through these: bodies, tokens, signatures. */
  gls_buf *wipe[] = {&e->msg, &e->labels, &e->ident, &e->query, &e->pv, &e->tmp,
                     &e->path, &e->errs, &e->rules, &e->show, &e->out};
  for (size_t i = 0; i < sizeof wipe / sizeof wipe[0]; i++) gls_buf_wipe_free(wipe[i]);
  free(e->hdrs);
  free(e);
}

/* ------------------------------------------------------------ helpers */

/* Sets *err to (code, e->msg formatted, status); returns -1. */
static int fail(gls_emu *e, gls_emu_error *err, const char *code, int status, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int fail(gls_emu *e, gls_emu_error *err, const char *code, int status, const char *fmt, ...) {
  gls_buf_reset(&e->msg);
  char tmp[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  int bad = n < 0;
  if (!bad && (size_t)n < sizeof tmp) {
    bad = gls_buf_add(&e->msg, tmp, (size_t)n);
  } else if (!bad) {
    bad = gls_buf_reserve(&e->msg, (size_t)n);
    if (!bad) {
      va_start(ap, fmt);
      vsnprintf(e->msg.data, (size_t)n + 1, fmt, ap);
      va_end(ap);
      e->msg.len = (size_t)n;
    }
  }
  err->code = code;
  err->status = status;
  err->message = bad ? "out of memory" : e->msg.data;
  if (bad) {
    err->code = "InternalFailure";
    err->status = 500;
  }
  return -1;
}

static int nomem(gls_emu *e, gls_emu_error *err) {
  (void)e;
  err->code = "InternalFailure";
  err->status = 500;
  err->message = "out of memory";
  return -1;
}

/* The message is what is in e->msg already (built piecewise). */
static int fail_msg(gls_emu *e, gls_emu_error *err, const char *code, int status) {
  if (!e->msg.data) return nomem(e, err);
  err->code = code;
  err->status = status;
  err->message = e->msg.data;
  return -1;
}

static int hexval(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* Appends s[0..n) percent-decoded: %XX is the byte, a '%' not followed by
 * two hex digits is itself, and '+' is a '+' (SigV4 clients encode a space
 * as %20). NUL-terminates. */
static int pct_decode(gls_buf *b, const char *s, size_t n) {
  if (gls_buf_reserve(b, n)) return -1;
  char *o = b->data + b->len;
  for (size_t i = 0; i < n; i++) {
    int h, l;
    if (s[i] == '%' && i + 2 < n && (h = hexval((unsigned char)s[i + 1])) >= 0 &&
        (l = hexval((unsigned char)s[i + 2])) >= 0) {
      *o++ = (char)(h << 4 | l);
      i += 2;
    } else {
      *o++ = s[i];
    }
  }
  b->len = (size_t)(o - b->data);
  b->data[b->len] = '\0';
  return 0;
}

/* Is s[0..n) well-formed UTF-8 (no overlong forms, no surrogates)? */
static int utf8_valid(const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s, *end = p + n;
  while (p < end) {
    unsigned c = *p;
    size_t k;
    unsigned cp;
    if (c < 0x80) { p++; continue; }
    if (c >= 0xC2 && c <= 0xDF) { k = 1; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { k = 2; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { k = 3; cp = c & 0x07; }
    else return 0;
    if ((size_t)(end - p) <= k) return 0;
    for (size_t i = 1; i <= k; i++) {
      if ((p[i] & 0xC0) != 0x80) return 0;
      cp = cp << 6 | (p[i] & 0x3F);
    }
    if ((k == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
      return 0;
    p += k + 1;
  }
  return 1;
}

static int ieq(const char *a, size_t an, const char *b, size_t bn) {
  if (an != bn) return 0;
  for (size_t i = 0; i < an; i++)
    if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i])) return 0;
  return 1;
}

/* The first header named name (lower-case, NUL-terminated), or NULL. */
static const gls_header *find_header(const gls_emu_request *req, const char *name) {
  size_t n = strlen(name);
  for (size_t i = 0; i < req->nheaders; i++)
    if (ieq(req->headers[i].name, req->headers[i].name_len, name, n)) return &req->headers[i];
  return NULL;
}

/* Appends the member name as the service spells it in paths: lowerCamelCase
 * (java.beans.Introspector.decapitalize: "URLs" stays, "Identifier" ->
 * "identifier"). */
static int add_camel(gls_buf *b, const char *name) {
  size_t n = strlen(name);
  if (n >= 2 && isupper((unsigned char)name[0]) && isupper((unsigned char)name[1]))
    return gls_buf_add(b, name, n);
  if (gls_buf_addc(b, (char)tolower((unsigned char)name[0]))) return -1;
  return gls_buf_add(b, name + 1, n - 1);
}

/* Epoch seconds <-> YYYYMMDDTHHMMSSZ. Days from civil after H. Hinnant. */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static void fmt_basic(int64_t t, char out[17]) {
  time_t tt = (time_t)t;
  struct tm tm;
  if (!gmtime_r(&tt, &tm) ||
      strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm) != 16)
    snprintf(out, 17, "%s", "?");
}

/* 0 and *t when s[0..n) is exactly YYYYMMDDTHHMMSSZ naming a real instant. */
static int parse_basic(const char *s, size_t n, int64_t *t) {
  if (n != 16 || s[8] != 'T' || s[15] != 'Z') return -1;
  for (int i = 0; i < 15; i++)
    if (i != 8 && !isdigit((unsigned char)s[i])) return -1;
#define D2(i) ((s[i] - '0') * 10 + (s[i + 1] - '0'))
  int64_t y = D2(0) * 100 + D2(2), mo = D2(4), d = D2(6), h = D2(9), mi = D2(11), se = D2(13);
#undef D2
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59) return -1;
  *t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
  char back[17];
  fmt_basic(*t, back);
  return memcmp(back, s, 16) == 0 ? 0 : -1; /* 20150231 does not come back */
}

/* ------------------------------------------------------------ routing */

typedef struct span {
  const char *p;
  size_t n;
} span;

/* The URI member whose wire name is the label name (a static string). */
static const char *label_member(const gls_operation *op, const char *name, size_t n) {
  if (op->input < 0) return NULL;
  const gls_shape *sh = &gls_shapes[op->input];
  for (int i = 0; i < sh->nmembers; i++) {
    const gls_member *m = &gls_members[sh->first_member + i];
    if (m->location == GLS_LOC_URI && strlen(m->wire_name) == n && !memcmp(m->wire_name, name, n))
      return m->wire_name;
  }
  return NULL;
}

/* Splits "/a/b/c" into segments after the leading '/'. Returns the count
 * (at most max; more gives max + 1). */
static size_t segments(const char *s, size_t n, span *seg, size_t max) {
  size_t k = 0;
  if (n == 0 || s[0] != '/') return max + 1;
  size_t i = 1;
  for (;;) {
    size_t j = i;
    while (j < n && s[j] != '/') j++;
    if (k == max) return max + 1;
    seg[k++] = (span){s + i, j - i};
    if (j >= n) break;
    i = j + 1;
  }
  return k;
}

#define MAX_SEGS 32

/* Does the path match op's template? Fills raw label spans. */
static int template_match(const gls_operation *op, const span *ps, size_t np, span *lname,
                          span *lraw, size_t *nl) {
  const char *t = op->uri;
  const char *q = strchr(t, '?');
  size_t tl = q ? (size_t)(q - t) : strlen(t);
  span ts[MAX_SEGS];
  size_t nt = segments(t, tl, ts, MAX_SEGS);
  if (nt > MAX_SEGS) return 0;
  /* a greedy label takes the segments the others leave */
  size_t extra = 0;
  int has_greedy = 0;
  for (size_t i = 0; i < nt; i++)
    if (ts[i].n > 3 && ts[i].p[0] == '{' && ts[i].p[ts[i].n - 2] == '+') has_greedy = 1;
  if (has_greedy ? np < nt : np != nt) return 0;
  extra = np - nt;
  *nl = 0;
  size_t pi = 0;
  for (size_t i = 0; i < nt; i++) {
    const span *tsg = &ts[i];
    if (tsg->n >= 2 && tsg->p[0] == '{' && tsg->p[tsg->n - 1] == '}') {
      int greedy = tsg->n > 3 && tsg->p[tsg->n - 2] == '+';
      size_t take = greedy ? extra + 1 : 1;
      const char *start = ps[pi].p;
      const char *end = ps[pi + take - 1].p + ps[pi + take - 1].n;
      if (end == start) return 0; /* labels are never empty */
      if (*nl < GLS_EMU_MAX_LABELS) {
        lname[*nl] = (span){tsg->p + 1, tsg->n - 2 - (size_t)greedy};
        lraw[*nl] = (span){start, (size_t)(end - start)};
        (*nl)++;
      }
      pi += take;
    } else {
      if (ps[pi].n != tsg->n || memcmp(ps[pi].p, tsg->p, tsg->n)) return 0;
      pi++;
    }
  }
  return 1;
}

int gls_emu_route(gls_emu *e, const char *method, const char *raw_path, gls_emu_match *out,
                  gls_emu_error *err) {
  memset(out, 0, sizeof *out);
  const char *path = raw_path ? raw_path : "";
  size_t plen = strlen(path);
  span ps[MAX_SEGS];
  size_t np = segments(path, plen, ps, MAX_SEGS);
  const char *methods[16]; /* what the path takes, for a 405 */
  size_t nm = 0;
  if (np <= MAX_SEGS) {
    for (size_t i = 0; i < gls_noperations; i++) {
      const gls_operation *op = &gls_operations[i];
      span lname[GLS_EMU_MAX_LABELS], lraw[GLS_EMU_MAX_LABELS];
      size_t nl = 0;
      if (!template_match(op, ps, np, lname, lraw, &nl)) continue;
      if (!method || strcmp(method, op->method)) {
        size_t k = 0;
        while (k < nm && strcmp(methods[k], op->method)) k++;
        if (k == nm && nm < sizeof methods / sizeof methods[0]) methods[nm++] = op->method;
        continue;
      }
      /* decode the labels; pointers are set once the buffer stops moving */
      gls_buf_reset(&e->labels);
      size_t off[GLS_EMU_MAX_LABELS];
      for (size_t k = 0; k < nl; k++) {
        const char *name = label_member(op, lname[k].p, lname[k].n);
        if (!name) continue; /* a label no member takes: not exposed */
        gls_emu_label *l = &out->labels[out->nlabels];
        l->name = name;
        off[out->nlabels] = e->labels.len;
        if (pct_decode(&e->labels, lraw[k].p, lraw[k].n)) return nomem(e, err);
        l->value_len = e->labels.len - off[out->nlabels];
        if (gls_buf_addc(&e->labels, '\0')) return nomem(e, err);
        out->nlabels++;
      }
      for (size_t k = 0; k < out->nlabels; k++) out->labels[k].value = e->labels.data + off[k];
      out->op = op;
      return 0;
    }
  }
  if (nm) {
    /* sorted, so the message does not depend on the model's order */
    char allowed[160] = "";
    size_t alen = 0;
    for (size_t i = 1; i < nm; i++)
      for (size_t j = i; j > 0 && strcmp(methods[j - 1], methods[j]) > 0; j--) {
        const char *t = methods[j];
        methods[j] = methods[j - 1];
        methods[j - 1] = t;
      }
    for (size_t i = 0; i < nm && alen + 12 < sizeof allowed; i++)
      alen += (size_t)snprintf(allowed + alen, sizeof allowed - alen, "%s%.8s", i ? ", " : "",
                               methods[i]);
    return fail(e, err, "UnknownOperationException", 405,
                "The method %.16s is not allowed on %.200s; it takes %s", method ? method : "",
                path, allowed);
  }
  return fail(e, err, "UnknownOperationException", 404,
              "No operation matches %.16s %.200s", method ? method : "", path);
}

/* ------------------------------------------------------------ SigV4 */

static int span_is(span s, const char *lit) {
  size_t n = strlen(lit);
  return s.n == n && memcmp(s.p, lit, n) == 0;
}

/* Is name (lower-case) among the ';'-separated signed header names? */
static int signed_has(span sh, const char *name) {
  size_t n = strlen(name);
  const char *p = sh.p, *end = sh.p + sh.n;
  while (p < end) {
    const char *q = memchr(p, ';', (size_t)(end - p));
    if (!q) q = end;
    if (ieq(p, (size_t)(q - p), name, n)) return 1;
    p = q + 1;
  }
  return 0;
}

/* Splits "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..."
 * (commas and/or spaces between parameters; empty values count as absent). */
static void parse_authorization(span a, span *alg, span *cred, span *sh, span *sig) {
  const char *p = a.p, *end = a.p + a.n;
  while (p < end && isspace((unsigned char)*p)) p++;
  const char *as = p;
  while (p < end && !isspace((unsigned char)*p) && *p != ',') p++;
  if (memchr(as, '=', (size_t)(p - as))) {
    p = as; /* no algorithm: the first token is already a parameter */
    *alg = (span){as, 0};
  } else {
    *alg = (span){as, (size_t)(p - as)};
  }
  while (p < end) {
    while (p < end && (isspace((unsigned char)*p) || *p == ',')) p++;
    const char *ks = p;
    while (p < end && *p != '=' && *p != ',' && !isspace((unsigned char)*p)) p++;
    span key = {ks, (size_t)(p - ks)};
    if (p >= end || *p != '=') continue;
    const char *vs = ++p;
    while (p < end && *p != ',' && !isspace((unsigned char)*p)) p++;
    span val = {vs, (size_t)(p - vs)};
    if (!val.n) continue;
    if (span_is(key, "Credential") && !cred->p) *cred = val;
    else if (span_is(key, "SignedHeaders") && !sh->p) *sh = val;
    else if (span_is(key, "Signature") && !sig->p) *sig = val;
  }
}

/* Appends the Authorization value with every Signature value replaced by
 * "***": messages never carry a signature. */
static int add_elided(gls_buf *b, span a) {
  const char *p = a.p, *end = a.p + a.n;
  static const char K[] = "Signature=";
  while (p < end) {
    const char *hit = NULL;
    for (const char *q = p; q + sizeof K - 1 <= end && !hit; q++)
      if (memcmp(q, K, sizeof K - 1) == 0) hit = q;
    if (!hit) return gls_buf_add(b, p, (size_t)(end - p));
    if (gls_buf_add(b, p, (size_t)(hit - p) + sizeof K - 1) || gls_buf_adds(b, "***")) return -1;
    p = hit + sizeof K - 1;
    while (p < end && *p != ',' && !isspace((unsigned char)*p)) p++;
  }
  return 0;
}

/* Checks Credential=key/date/region/service/aws4_request against the
 * expected service and the request's date (date.p: 16 checked bytes). */
static int check_scope(gls_emu *e, gls_emu_error *err, span cred, const char *service, span date,
                       span *akid, span *region) {
  span part[5];
  size_t k = 0;
  const char *p = cred.p, *end = cred.p + cred.n;
  for (;;) {
    const char *q = memchr(p, '/', (size_t)(end - p));
    if (k < 5) part[k] = (span){p, (size_t)((q ? q : end) - p)};
    k++;
    if (!q) break;
    p = q + 1;
  }
  if (k != 5)
    return fail(e, err, "IncompleteSignatureException", 403,
                "Credential must have exactly 5 slash-delimited elements, e.g. "
                "keyid/date/region/service/term, got '%.*s'",
                (int)(cred.n > 256 ? 256 : cred.n), cred.p);
  if (!span_is(part[4], "aws4_request"))
    return fail(e, err, "IncompleteSignatureException", 403,
                "Credential should be scoped with a valid terminator: 'aws4_request', not '%.*s'. ",
                (int)(part[4].n > 64 ? 64 : part[4].n), part[4].p);
  if (!span_is(part[3], service))
    return fail(e, err, "InvalidSignatureException", 403,
                "Credential should be scoped to correct service: '%s'. ", service);
  int region_ok = part[2].n > 0 && part[2].n <= 64;
  for (size_t i = 0; i < part[2].n && region_ok; i++) {
    unsigned char c = (unsigned char)part[2].p[i];
    region_ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  }
  if (!region_ok)
    return fail(e, err, "InvalidSignatureException", 403,
                "Credential should be scoped to a valid region. ");
  if (part[1].n != 8 || memcmp(part[1].p, date.p, 8))
    return fail(e, err, "InvalidSignatureException", 403,
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
                "from HTTP: '%.*s' != '%.8s', from '%.16s'.",
                (int)(part[1].n > 32 ? 32 : part[1].n), part[1].p, date.p, date.p);
  *akid = part[0];
  *region = part[2];
  return 0;
}

/* The presigning parameters, in the order their values are kept. */
enum { Q_ALG, Q_CRED, Q_DATE, Q_SH, Q_EXPIRES, Q_TOKEN, Q_SIG, Q_N };
static const char *const PRESIGN[Q_N] = {"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date",
                                          "X-Amz-SignedHeaders", "X-Amz-Expires",
                                          "X-Amz-Security-Token", "X-Amz-Signature"};

/* Splits the query: the presigning parameters' decoded values go to
 * e->pv (v[k], p NULL when absent), every other pair, raw, to e->query. */
static int split_presigned(gls_emu *e, const char *q, span v[Q_N]) {
  size_t off[Q_N], len[Q_N];
  int have[Q_N] = {0};
  gls_buf_reset(&e->query);
  gls_buf_reset(&e->pv);
  size_t ql = q ? strlen(q) : 0;
  for (size_t i = 0; i < ql;) {
    size_t j = i;
    while (j < ql && q[j] != '&') j++;
    if (j > i) {
      const char *eq = memchr(q + i, '=', j - i);
      size_t kend = eq ? (size_t)(eq - q) : j;
      gls_buf_reset(&e->tmp);
      if (pct_decode(&e->tmp, q + i, kend - i)) return -1;
      int k = -1;
      for (int a = 0; a < Q_N && k < 0; a++)
        if (strlen(PRESIGN[a]) == e->tmp.len && !memcmp(PRESIGN[a], e->tmp.data, e->tmp.len)) k = a;
      if (k >= 0 && !have[k]) {
        have[k] = 1;
        off[k] = e->pv.len;
        if (eq && pct_decode(&e->pv, eq + 1, j - kend - 1)) return -1;
        len[k] = e->pv.len - off[k];
        if (gls_buf_addc(&e->pv, '\0')) return -1;
      } else if (k < 0) {
        if ((e->query.len && gls_buf_addc(&e->query, '&')) || gls_buf_add(&e->query, q + i, j - i))
          return -1;
      }
    }
    i = j + 1;
  }
  for (int k = 0; k < Q_N; k++)
    v[k] = have[k] ? (span){e->pv.data + off[k], len[k]} : (span){NULL, 0};
  return 0;
}

int gls_emu_verify(gls_emu *e, const gls_emu_request *req, const gls_emu_verify_opts *o,
                   gls_emu_identity *who, gls_emu_error *err) {
  memset(who, 0, sizeof *who);
  const char *service = o->service ? o->service : gls_model_signing_name;
  const gls_header *ah = find_header(req, "authorization");
  span cred = {0}, sh = {0}, sig = {0}, date = {0}, token = {0};
  int qf = !ah;
  long expires = 0;

  if (!qf) {
    span a = {ah->value, ah->value_len}, alg;
    parse_authorization(a, &alg, &cred, &sh, &sig);
    const gls_header *dh = find_header(req, "x-amz-date");
    if (!dh) dh = find_header(req, "date");
    if (!cred.p || !sig.p || !sh.p || !dh) {
      gls_buf_reset(&e->msg);
      int bad = 0;
      if (!cred.p) bad |= gls_buf_adds(&e->msg, "Authorization header requires 'Credential' parameter. ");
      if (!sig.p) bad |= gls_buf_adds(&e->msg, "Authorization header requires 'Signature' parameter. ");
      if (!sh.p) bad |= gls_buf_adds(&e->msg, "Authorization header requires 'SignedHeaders' parameter. ");
      if (!dh)
        bad |= gls_buf_adds(&e->msg, "Authorization header requires existence of either a "
                                     "'X-Amz-Date' or a 'Date' header. ");
      bad |= gls_buf_adds(&e->msg, "Authorization=");
      bad |= add_elided(&e->msg, a);
      if (bad) return nomem(e, err);
      return fail_msg(e, err, "IncompleteSignatureException", 403);
    }
    if (!span_is(alg, ALGORITHM))
      return fail(e, err, "IncompleteSignatureException", 403,
                  "Unsupported AWS 'algorithm': '%.*s'", (int)(alg.n > 64 ? 64 : alg.n), alg.p);
    date = (span){dh->value, dh->value_len};
    const gls_header *th = find_header(req, "x-amz-security-token");
    if (th) token = (span){th->value ? th->value : "", th->value_len};
  } else {
    span v[Q_N];
    if (split_presigned(e, req->query, v)) return nomem(e, err);
    if (!v[Q_ALG].p)
      return fail(e, err, "MissingAuthenticationTokenException", 403, "Missing Authentication Token");
    if (!v[Q_CRED].p || !v[Q_SIG].p || !v[Q_DATE].p || !v[Q_SH].p || !v[Q_EXPIRES].p)
      return fail(e, err, "IncompleteSignatureException", 403,
                  "AWS query-string parameters must include 'X-Amz-Algorithm', "
                  "'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-Date', 'X-Amz-SignedHeaders', "
                  "and 'X-Amz-Expires'. Re-examine the query-string parameters.");
    if (!span_is(v[Q_ALG], ALGORITHM))
      return fail(e, err, "IncompleteSignatureException", 403,
                  "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"");
    span x = v[Q_EXPIRES];
    int digits = x.n > 0 && x.n <= 9;
    for (size_t i = 0; i < x.n && digits; i++) digits = isdigit((unsigned char)x.p[i]);
    if (!digits)
      return fail(e, err, "IncompleteSignatureException", 403,
                  x.n && x.p[0] == '-' ? "X-Amz-Expires must be non-negative"
                                       : "X-Amz-Expires should be a number");
    expires = strtol(x.p, NULL, 10);
    if (expires > 604800)
      return fail(e, err, "IncompleteSignatureException", 403,
                  "X-Amz-Expires must be less than a week (in seconds) that is 604800");
    if (expires == 0)
      return fail(e, err, "IncompleteSignatureException", 403,
                  "X-Amz-Expires must be greater than 0");
    cred = v[Q_CRED];
    sh = v[Q_SH];
    sig = v[Q_SIG];
    date = v[Q_DATE];
    token = v[Q_TOKEN];
  }

  int64_t t;
  if (parse_basic(date.p, date.n, &t))
    return fail(e, err, "IncompleteSignatureException", 403,
                "Date must be in ISO-8601 'basic format'. Got '%.*s'.",
                (int)(date.n > 64 ? 64 : date.n), date.p);
  span akid = {NULL, 0}, region = {NULL, 0};
  if (check_scope(e, err, cred, service, date, &akid, &region)) return -1;
  if (!signed_has(sh, "host"))
    return fail(e, err, "IncompleteSignatureException", 403,
                "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");

  char tb[17], nb[17], lb[17];
  if (t > o->now + MAX_SKEW) {
    fmt_basic(t, tb);
    fmt_basic(o->now + MAX_SKEW, lb);
    fmt_basic(o->now, nb);
    return fail(e, err, "InvalidSignatureException", 403,
                "Signature not yet current: %s is still later than %s (%s + 5 min.)", tb, lb, nb);
  }
  if (!qf && t < o->now - MAX_SKEW) {
    fmt_basic(t, tb);
    fmt_basic(o->now - MAX_SKEW, lb);
    fmt_basic(o->now, nb);
    return fail(e, err, "InvalidSignatureException", 403,
                "Signature expired: %s is now earlier than %s (%s - 5 min.)", tb, lb, nb);
  }
  if (qf && o->now > t + expires)
    return fail(e, err, "InvalidSignatureException", 403, "Request has expired.");

  /* the key, and the token that goes with it */
  gls_buf_reset(&e->ident);
  if (gls_buf_add(&e->ident, akid.p, akid.n) || gls_buf_addc(&e->ident, '\0') ||
      gls_buf_add(&e->ident, region.p, region.n))
    return nomem(e, err);
  const char *akid_s = e->ident.data, *region_s = e->ident.data + akid.n + 1;
  gls_emu_credential c = {NULL, NULL};
  if (!akid.n || memchr(akid.p, '\0', akid.n) || !o->lookup || !o->lookup(o->ud, akid_s, &c) ||
      !c.secret_access_key || !*c.secret_access_key)
    return fail(e, err, "UnrecognizedClientException", 403, "%s", BAD_TOKEN);
  int want = c.session_token && *c.session_token;
  if (want != (token.p != NULL))
    return fail(e, err, "UnrecognizedClientException", 403, "%s", BAD_TOKEN);
  if (want) {
    size_t tl = strlen(c.session_token);
    /* lengths are not secret; contents are compared in constant time */
    if (tl != token.n || CRYPTO_memcmp(c.session_token, token.p, tl))
      return fail(e, err, "UnrecognizedClientException", 403, "%s", BAD_TOKEN);
  }

  /* the signed headers, in the order received */
  if (e->hdrs_cap < req->nheaders + 1) {
    size_t cap = req->nheaders + 8;
    gls_header *h = realloc(e->hdrs, cap * sizeof *h);
    if (!h) return nomem(e, err);
    e->hdrs = h;
    e->hdrs_cap = cap;
  }
  size_t nh = 0;
  for (size_t i = 0; i < req->nheaders; i++) {
    const gls_header *h = &req->headers[i];
    span name = {h->name, h->name_len};
    int hit = 0;
    const char *p = sh.p, *end = sh.p + sh.n;
    while (p < end && !hit) {
      const char *q = memchr(p, ';', (size_t)(end - p));
      if (!q) q = end;
      hit = ieq(p, (size_t)(q - p), name.p, name.n);
      p = q + 1;
    }
    if (hit) e->hdrs[nh++] = *h;
  }

  /* payload hash: a signed x-amz-content-sha256 must be the body's */
  char phash[65];
  const char *payload = NULL;
  const gls_header *ch = find_header(req, "x-amz-content-sha256");
  if (ch && signed_has(sh, "x-amz-content-sha256")) {
    span cv = {ch->value, ch->value_len};
    if (span_is(cv, "UNSIGNED-PAYLOAD")) {
      payload = "UNSIGNED-PAYLOAD";
    } else {
      gls_sha256_hex(req->body, req->body_len, phash);
      if (cv.n != 64 || memcmp(cv.p, phash, 64))
        return fail(e, err, "InvalidSignatureException", 403, "%s", MISMATCH);
      payload = phash;
    }
  }

  gls_sigv4_params p;
  memset(&p, 0, sizeof p);
  p.method = req->method;
  p.path = req->path;
  p.headers = e->hdrs;
  p.nheaders = nh;
  p.body = req->body;
  p.body_len = req->body_len;
  p.payload_hash = payload;
  p.access_key_id = akid_s;
  p.secret_access_key = c.secret_access_key;
  p.region = region_s;
  p.service = service;
  p.time = t;
  p.normalize_path = 1;
  p.double_encode = 1;
  if (qf) {
    p.query = e->query.len ? e->query.data : NULL;
    p.query_form = 1;
    p.expires = expires;
    p.session_token = token.p; /* NUL-terminated in e->pv */
  } else {
    p.query = req->query;
    p.date_in_headers = 1;
  }
  gls_sigv4_result r;
  char serr[200];
  gls_status st = gls_signer_sign(e->signer, &p, &r, serr, sizeof serr);
  if (st == GLS_E_NOMEM) return nomem(e, err);
  /* anything the signer refuses (a path without '/', a header name with a
   * control byte) cannot have been signed right */
  if (st != GLS_OK || sig.n != 64 || CRYPTO_memcmp(sig.p, r.signature, 64))
    return fail(e, err, "InvalidSignatureException", 403, "%s", MISMATCH);
  who->access_key_id = akid_s;
  who->region = region_s;
  return 0;
}

/* ------------------------------------------------------------ member paths */

static const char *cur_path(gls_emu *e) { return e->path.len ? e->path.data : ""; }

static size_t push_member(gls_emu *e, const char *name) {
  size_t mark = e->path.len;
  if ((mark && gls_buf_addc(&e->path, '.')) || add_camel(&e->path, name)) e->oom = 1;
  return mark;
}

static size_t push_index(gls_emu *e, size_t i) {
  size_t mark = e->path.len;
  if (gls_buf_printf(&e->path, "%s%zu.member", mark ? "." : "", i + 1)) e->oom = 1;
  return mark;
}

static size_t push_key(gls_emu *e, const char *k) {
  size_t mark = e->path.len;
  if ((mark && gls_buf_addc(&e->path, '.')) || gls_buf_adds(&e->path, k)) e->oom = 1;
  return mark;
}

static void pop_path(gls_emu *e, size_t mark) {
  e->path.len = mark;
  if (e->path.data) e->path.data[mark] = '\0';
}

static void reset_path(gls_emu *e) {
  pop_path(e, 0);
  e->oom = 0;
}

/* ------------------------------------------------------------ input */

static const char *json_token(const json_t *v) {
  switch (json_typeof(v)) {
  case JSON_STRING: return "STRING_VALUE";
  case JSON_INTEGER:
  case JSON_REAL: return "NUMBER_VALUE";
  case JSON_TRUE:
  case JSON_FALSE: return "BOOLEAN_VALUE";
  case JSON_NULL: return "NULL_VALUE";
  default: return "VALUE";
  }
}

static const char *type_article(int type) {
  switch (type) {
  case GLS_T_STRUCT: return "a Structure";
  case GLS_T_LIST: return "a List";
  case GLS_T_MAP: return "a Map";
  case GLS_T_STRING: return "a String";
  case GLS_T_INTEGER: return "an Integer";
  case GLS_T_LONG: return "a Long";
  case GLS_T_BOOLEAN: return "a Boolean";
  case GLS_T_TIMESTAMP: return "a Timestamp";
  case GLS_T_DOUBLE: return "a Double";
  default: return "a Blob";
  }
}

/* A JSON value of the wrong kind, in the words of the service's
 * deserializer, naming where it was. */
static int type_error(gls_emu *e, gls_emu_error *err, const json_t *v, int type, int status) {
  if (e->oom) return nomem(e, err);
  /* " at 'member.path'", or nothing for the document itself */
  const char *p = cur_path(e), *a = *p ? " at '" : "", *z = *p ? "'" : "";
  if (json_is_object(v))
    return fail(e, err, "SerializationException", status,
                "Start of structure or map found where not expected%s%s%s", a, p, z);
  if (json_is_array(v))
    return fail(e, err, "SerializationException", status,
                "Start of list found where not expected%s%s%s", a, p, z);
  return fail(e, err, "SerializationException", status, "%s can not be converted to %s%s%s%s",
              json_token(v), type_article(type), a, p, z);
}

/* A JSON number as an integer of the shape's width: integers, and reals
 * without a fraction. 0 ok, -1 not integral, -2 out of range. */
static int json_as_int(const json_t *v, int type, json_int_t *out) {
  json_int_t iv;
  if (json_is_integer(v)) {
    iv = json_integer_value(v);
  } else if (json_is_real(v)) {
    double d = json_real_value(v);
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) || d != floor(d)) return -1;
    iv = (json_int_t)d;
  } else {
    return -1;
  }
  if (type == GLS_T_INTEGER && (iv > 2147483647LL || iv < -2147483647LL - 1)) return -2;
  *out = iv;
  return 0;
}

static json_t *number_json(double d) {
  if (d == floor(d) && fabs(d) < 9007199254740992.0) return json_integer((json_int_t)d);
  return json_real(d);
}

/* Converts a JSON value (body or output) to the shape into a new
 * reference *out. Structures keep the members the shape knows, keyed
 * in_key(member) on the way in and out_key(member) on the way out; JSON
 * null members are absent. status: 400 for requests, 500 for outputs. */
static int shape_json(gls_emu *e, gls_emu_error *err, const json_t *v, int shape, int depth,
                      int output, json_t **out) {
  const gls_shape *sh = &gls_shapes[shape];
  int status = output ? 500 : 400;
  *out = NULL;
  if (depth > MAX_DEPTH)
    return fail(e, err, "SerializationException", status, "Nesting too deep at '%s'", cur_path(e));
  switch (sh->type) {
  case GLS_T_STRUCT: {
    if (!json_is_object(v)) return type_error(e, err, v, sh->type, status);
    json_t *o = json_object();
    if (!o) return nomem(e, err);
    for (int i = 0; i < sh->nmembers; i++) {
      const gls_member *m = &gls_members[sh->first_member + i];
      if (m->location != GLS_LOC_BODY) continue;
      json_t *mv = json_object_get(v, output ? m->name : m->wire_name), *c;
      if (!mv || json_is_null(mv)) continue;
      size_t mark = push_member(e, m->name);
      if (shape_json(e, err, mv, m->shape, depth + 1, output, &c)) {
        json_decref(o);
        return -1;
      }
      pop_path(e, mark);
      if (json_object_set_new(o, output ? m->wire_name : m->name, c)) {
        json_decref(o);
        return nomem(e, err);
      }
    }
    *out = o;
    return 0;
  }
  case GLS_T_LIST: {
    if (output && json_is_object(v) && json_object_size(v) == 0) {
      /* an empty table, as a Lua caller writes an empty list */
      *out = json_array();
      return *out ? 0 : nomem(e, err);
    }
    if (!json_is_array(v)) return type_error(e, err, v, sh->type, status);
    json_t *a = json_array();
    if (!a) return nomem(e, err);
    size_t i;
    json_t *el, *c;
    json_array_foreach(v, i, el) {
      size_t mark = push_index(e, i);
      if (shape_json(e, err, el, sh->elem, depth + 1, output, &c)) {
        json_decref(a);
        return -1;
      }
      pop_path(e, mark);
      if (json_array_append_new(a, c)) {
        json_decref(a);
        return nomem(e, err);
      }
    }
    *out = a;
    return 0;
  }
  case GLS_T_MAP: {
    if (!json_is_object(v)) return type_error(e, err, v, sh->type, status);
    json_t *o = json_object();
    if (!o) return nomem(e, err);
    const char *k;
    json_t *el, *c;
    json_object_foreach((json_t *)v, k, el) {
      if (output && json_is_null(el)) continue;
      size_t mark = push_key(e, k);
      if (shape_json(e, err, el, sh->elem, depth + 1, output, &c)) {
        json_decref(o);
        return -1;
      }
      pop_path(e, mark);
      if (json_object_set_new(o, k, c)) {
        json_decref(o);
        return nomem(e, err);
      }
    }
    *out = o;
    return 0;
  }
  case GLS_T_INTEGER:
  case GLS_T_LONG: {
    json_int_t iv = 0;
    int r = json_as_int(v, sh->type, &iv);
    if (r == -2) {
      if (e->oom) return nomem(e, err);
      return fail(e, err, "SerializationException", status,
                  "Numeric value (%.0f) out of range of int at '%s'",
                  json_is_integer(v) ? (double)json_integer_value(v) : json_real_value(v),
                  cur_path(e));
    }
    if (r) return type_error(e, err, v, sh->type, status);
    *out = json_integer(iv);
    return *out ? 0 : nomem(e, err);
  }
  case GLS_T_BOOLEAN:
    if (!json_is_boolean(v)) return type_error(e, err, v, sh->type, status);
    break;
  case GLS_T_DOUBLE:
    if (!json_is_number(v)) return type_error(e, err, v, sh->type, status);
    break;
  case GLS_T_TIMESTAMP: {
    double t;
    if (json_is_string(v) && gls_parse_iso8601(json_string_value(v), &t) == 0) {
      *out = number_json(t);
      return *out ? 0 : nomem(e, err);
    }
    if (!json_is_number(v)) return type_error(e, err, v, sh->type, status);
    break;
  }
  default: /* strings, enums, blobs (base64 text as it is) */
    if (!json_is_string(v)) return type_error(e, err, v, sh->type, status);
    break;
  }
  *out = json_incref((json_t *)v);
  return 0;
}

/* A label, query or header text converted to a scalar shape. s is
 * NUL-terminated at s[n]. */
static int text_json(gls_emu *e, gls_emu_error *err, const char *s, size_t n, int shape,
                     json_t **out) {
  const gls_shape *sh = &gls_shapes[shape];
  *out = NULL;
  if (e->oom) return nomem(e, err);
  switch (sh->type) {
  case GLS_T_STRING:
  case GLS_T_BLOB:
    if (!utf8_valid(s, n))
      return fail(e, err, "SerializationException", 400, "Invalid UTF-8 at '%s'", cur_path(e));
    *out = json_stringn_nocheck(s, n);
    break;
  case GLS_T_INTEGER:
  case GLS_T_LONG: {
    /* strictly decimal: optional '-', digits, nothing else */
    size_t i = n && s[0] == '-';
    int ok = n > i && n - i <= 19;
    for (size_t k = i; k < n && ok; k++) ok = isdigit((unsigned char)s[k]);
    errno = 0;
    long long v = ok ? strtoll(s, NULL, 10) : 0;
    if (ok && !errno && (sh->type == GLS_T_LONG || (v >= -2147483647LL - 1 && v <= 2147483647LL))) {
      *out = json_integer((json_int_t)v);
      break;
    }
    if (ok)
      return fail(e, err, "SerializationException", 400,
                  "Numeric value (%.*s) out of range of int at '%s'", (int)(n > 32 ? 32 : n), s,
                  cur_path(e));
    return fail(e, err, "SerializationException", 400, "STRING_VALUE can not be converted to %s at '%s'",
                type_article(sh->type), cur_path(e));
  }
  case GLS_T_BOOLEAN:
    if (n == 4 && !memcmp(s, "true", 4)) *out = json_true();
    else if (n == 5 && !memcmp(s, "false", 5)) *out = json_false();
    else
      return fail(e, err, "SerializationException", 400,
                  "STRING_VALUE can not be converted to a Boolean at '%s'", cur_path(e));
    break;
  case GLS_T_DOUBLE:
  case GLS_T_TIMESTAMP: {
    double d;
    char *end = NULL;
    if (sh->type == GLS_T_TIMESTAMP && gls_parse_iso8601(s, &d) == 0) {
      *out = number_json(d);
      break;
    }
    errno = 0;
    d = n ? strtod(s, &end) : 0;
    if (n && end == s + n && !errno && isfinite(d)) {
      *out = sh->type == GLS_T_TIMESTAMP ? number_json(d) : json_real(d);
      break;
    }
    return fail(e, err, "SerializationException", 400, "STRING_VALUE can not be converted to %s at '%s'",
                type_article(sh->type), cur_path(e));
  }
  default:
    return fail(e, err, "SerializationException", 400, "STRING_VALUE can not be converted to %s at '%s'",
                type_article(sh->type), cur_path(e));
  }
  return *out ? 0 : nomem(e, err);
}

/* A text member that may be a list (query keys repeated, header values
 * comma-separated): appends to or sets *slot. */
static int add_text(gls_emu *e, gls_emu_error *err, const gls_member *m, const char *s, size_t n,
                    json_t **slot) {
  const gls_shape *sh = &gls_shapes[m->shape];
  json_t *v;
  if (sh->type != GLS_T_LIST) {
    if (*slot) return 0; /* a scalar given twice: the first one counts */
    return text_json(e, err, s, n, m->shape, slot);
  }
  if (!*slot && !(*slot = json_array())) return nomem(e, err);
  size_t mark = push_index(e, json_array_size(*slot));
  if (text_json(e, err, s, n, sh->elem, &v)) return -1;
  pop_path(e, mark);
  return json_array_append_new(*slot, v) ? nomem(e, err) : 0;
}

/* The query member's values: every pair whose decoded key is its wire
 * name, decoded. */
static int query_member(gls_emu *e, gls_emu_error *err, const gls_member *m, const char *q,
                        json_t **slot) {
  size_t ql = q ? strlen(q) : 0, wl = strlen(m->wire_name);
  for (size_t i = 0; i < ql;) {
    size_t j = i;
    while (j < ql && q[j] != '&') j++;
    if (j > i) {
      const char *eq = memchr(q + i, '=', j - i);
      size_t kend = eq ? (size_t)(eq - q) : j;
      gls_buf_reset(&e->tmp);
      if (pct_decode(&e->tmp, q + i, kend - i)) return nomem(e, err);
      if (e->tmp.len == wl && !memcmp(e->tmp.data, m->wire_name, wl)) {
        gls_buf_reset(&e->tmp);
        if (eq ? pct_decode(&e->tmp, eq + 1, j - kend - 1) : gls_buf_add(&e->tmp, "", 0))
          return nomem(e, err);
        if (add_text(e, err, m, e->tmp.data, e->tmp.len, slot)) return -1;
      }
    }
    i = j + 1;
  }
  return 0;
}

static int header_member(gls_emu *e, gls_emu_error *err, const gls_member *m,
                         const gls_emu_request *req, json_t **slot) {
  size_t wl = strlen(m->wire_name);
  int list = gls_shapes[m->shape].type == GLS_T_LIST;
  for (size_t i = 0; i < req->nheaders; i++) {
    const gls_header *h = &req->headers[i];
    if (!ieq(h->name, h->name_len, m->wire_name, wl)) continue;
    const char *p = h->value ? h->value : "", *end = p + h->value_len;
    while (p <= end) {
      const char *c = list ? memchr(p, ',', (size_t)(end - p)) : NULL;
      const char *ve = c ? c : end;
      while (list && p < ve && isspace((unsigned char)*p)) p++;
      while (list && ve > p && isspace((unsigned char)ve[-1])) ve--;
      gls_buf_reset(&e->tmp);
      if (gls_buf_add(&e->tmp, p, (size_t)(ve - p))) return nomem(e, err);
      if (add_text(e, err, m, e->tmp.data, e->tmp.len, slot)) return -1;
      if (!c) break;
      p = c + 1;
    }
  }
  return 0;
}

/* ------------------------------------------------------------ validation */

static void add_rule(gls_emu *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_rule(gls_emu *e, const char *fmt, ...) {
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (n < 0 || gls_buf_add(&e->rules, line, strlen(line)) || gls_buf_addc(&e->rules, '\n'))
    e->oom = 1;
}

static void size_rules(gls_emu *e, const gls_shape *sh, long long n) {
  if ((sh->flags & GLS_S_HAS_MIN) && n < sh->min)
    add_rule(e, "Member must have length greater than or equal to %lld", sh->min);
  if ((sh->flags & GLS_S_HAS_MAX) && n > sh->max)
    add_rule(e, "Member must have length less than or equal to %lld", sh->max);
}

static void string_rules(gls_emu *e, const gls_shape *sh, const char *s, size_t n) {
  if (sh->nenums) {
    int hit = 0;
    for (int i = 0; i < sh->nenums && !hit; i++) {
      const char *ev = gls_enum_values[sh->first_enum + i];
      hit = strlen(ev) == n && !memcmp(ev, s, n);
    }
    if (!hit) {
      gls_buf set = {0};
      int bad = gls_buf_addc(&set, '[');
      for (int i = 0; i < sh->nenums; i++)
        bad |= gls_buf_printf(&set, "%s%s", i ? ", " : "", gls_enum_values[sh->first_enum + i]);
      bad |= gls_buf_addc(&set, ']');
      if (bad) e->oom = 1;
      else add_rule(e, "Member must satisfy enum value set: %s", set.data);
      gls_buf_free(&set);
    }
  }
  size_rules(e, sh, (long long)gls_utf8_len(s, n));
  if (sh->pattern >= 0 && gls_regexes_match(e->rx, sh->pattern, s) == 0)
    add_rule(e, "Member must satisfy regular expression pattern: %s",
             gls_pattern_sources[sh->pattern]);
}

static void number_rules(gls_emu *e, const gls_shape *sh, const json_t *v) {
  double d = json_number_value(v);
  if ((sh->flags & GLS_S_HAS_MIN) && d < (double)sh->min)
    add_rule(e, "Member must have value greater than or equal to %lld", sh->min);
  if ((sh->flags & GLS_S_HAS_MAX) && d > (double)sh->max)
    add_rule(e, "Member must have value less than or equal to %lld", sh->max);
}

/* Appends v as the service's messages show it: strings bare, lists
 * [a, b], maps and structures {k=v}; sensitive shapes '***'. */
static void show_value(gls_emu *e, const json_t *v, int shape) {
  const gls_shape *sh = &gls_shapes[shape];
  gls_buf *b = &e->show;
  int bad = 0;
  if (sh->flags & GLS_S_SENSITIVE) {
    bad = gls_buf_adds(b, "***");
  } else if (json_is_string(v)) {
    bad = gls_buf_add(b, json_string_value(v), json_string_length(v));
  } else if (json_is_integer(v)) {
    bad = gls_buf_printf(b, "%lld", (long long)json_integer_value(v));
  } else if (json_is_real(v)) {
    bad = gls_buf_printf(b, "%.17g", json_real_value(v));
  } else if (json_is_boolean(v)) {
    bad = gls_buf_adds(b, json_is_true(v) ? "true" : "false");
  } else if (json_is_array(v)) {
    size_t i;
    json_t *el;
    bad = gls_buf_addc(b, '[');
    json_array_foreach(v, i, el) {
      if (i) bad |= gls_buf_adds(b, ", ");
      show_value(e, el, sh->type == GLS_T_LIST ? sh->elem : shape);
    }
    bad |= gls_buf_addc(b, ']');
  } else if (json_is_object(v)) {
    const char *k;
    json_t *el;
    int first = 1;
    bad = gls_buf_addc(b, '{');
    json_object_foreach((json_t *)v, k, el) {
      int es = shape;
      if (sh->type == GLS_T_MAP) {
        es = sh->elem;
      } else {
        for (int i = 0; i < sh->nmembers; i++)
          if (!strcmp(gls_members[sh->first_member + i].name, k))
            es = gls_members[sh->first_member + i].shape;
      }
      bad |= gls_buf_printf(b, "%s%s=", first ? "" : ", ", k);
      first = 0;
      show_value(e, el, es);
    }
    bad |= gls_buf_addc(b, '}');
  }
  if (bad) e->oom = 1;
}

/* One violation per collected rule, at the current path. v NULL: null. */
static void emit_rules(gls_emu *e, const json_t *v, int shape) {
  if (!e->rules.len) return;
  gls_buf_reset(&e->show);
  if (v) show_value(e, v, shape);
  const char *p = e->rules.data, *end = p + e->rules.len;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    int bad = e->nerr++ ? gls_buf_adds(&e->errs, "; ") : 0;
    if (v)
      bad |= gls_buf_printf(&e->errs, "Value '%s' at '%s' failed to satisfy constraint: %.*s",
                            e->show.data ? e->show.data : "", cur_path(e), (int)(nl - p), p);
    else
      bad |= gls_buf_printf(&e->errs, "Value null at '%s' failed to satisfy constraint: %.*s",
                            cur_path(e), (int)(nl - p), p);
    if (bad) e->oom = 1;
    p = nl + 1;
  }
  gls_buf_reset(&e->rules);
}

static void check_value(gls_emu *e, const json_t *v, int shape) {
  const gls_shape *sh = &gls_shapes[shape];
  switch (sh->type) {
  case GLS_T_STRUCT:
    for (int i = 0; i < sh->nmembers; i++) {
      const gls_member *m = &gls_members[sh->first_member + i];
      const json_t *mv = json_object_get(v, m->name);
      size_t mark = push_member(e, m->name);
      if (mv) {
        check_value(e, mv, m->shape);
      } else if (m->flags & GLS_M_REQUIRED) {
        add_rule(e, "Member must not be null");
        emit_rules(e, NULL, m->shape);
      }
      pop_path(e, mark);
    }
    return;
  case GLS_T_LIST: {
    size_rules(e, sh, (long long)json_array_size(v));
    emit_rules(e, v, shape);
    size_t i;
    json_t *el;
    json_array_foreach(v, i, el) {
      size_t mark = push_index(e, i);
      check_value(e, el, sh->elem);
      pop_path(e, mark);
    }
    return;
  }
  case GLS_T_MAP: {
    size_rules(e, sh, (long long)json_object_size(v));
    emit_rules(e, v, shape);
    const char *k;
    json_t *el;
    json_object_foreach((json_t *)v, k, el) {
      string_rules(e, &gls_shapes[sh->key], k, strlen(k));
      if (e->rules.len) {
        /* "Map keys must satisfy constraint: [rule, rule]" at the map */
        gls_buf joined = {0};
        int bad = gls_buf_adds(&joined, "Map keys must satisfy constraint: [");
        const char *p = e->rules.data, *end = p + e->rules.len;
        for (int first = 1; p < end; first = 0) {
          const char *nl = memchr(p, '\n', (size_t)(end - p));
          bad |= gls_buf_printf(&joined, "%s%.*s", first ? "" : ", ", (int)(nl - p), p);
          p = nl + 1;
        }
        bad |= gls_buf_addc(&joined, ']');
        gls_buf_reset(&e->rules);
        if (bad) e->oom = 1;
        else add_rule(e, "%s", joined.data);
        gls_buf_free(&joined);
        json_t *ks = json_string(k);
        if (ks) emit_rules(e, ks, sh->key);
        else e->oom = 1;
        json_decref(ks);
        gls_buf_reset(&e->rules);
      }
      size_t mark = push_key(e, k);
      check_value(e, el, sh->elem);
      pop_path(e, mark);
    }
    return;
  }
  case GLS_T_STRING:
    string_rules(e, sh, json_string_value(v), json_string_length(v));
    emit_rules(e, v, shape);
    return;
  case GLS_T_INTEGER:
  case GLS_T_LONG:
  case GLS_T_DOUBLE:
    number_rules(e, sh, v);
    emit_rules(e, v, shape);
    return;
  default:
    return;
  }
}

int gls_emu_input(gls_emu *e, const gls_operation *op, const gls_emu_label *labels,
                  size_t nlabels, const gls_emu_request *req, json_t **out, gls_emu_error *err) {
  *out = NULL;
  reset_path(e);
  json_t *in = json_object();
  if (!in) return nomem(e, err);
  if (op->input < 0) {
    *out = in;
    return 0;
  }
  const gls_shape *ish = &gls_shapes[op->input];

  /* the body: a JSON object, or nothing at all */
  json_t *body = NULL;
  size_t i = 0;
  while (req->body && i < req->body_len && isspace((unsigned char)req->body[i])) i++;
  if (req->body && i < req->body_len) {
    json_error_t jerr;
    body = json_loadb(req->body, req->body_len, JSON_DECODE_ANY, &jerr);
    if (!body) {
      json_decref(in);
      return fail(e, err, "SerializationException", 400,
                  "Could not parse the request body as JSON: %s (line %d, column %d)", jerr.text,
                  jerr.line, jerr.column);
    }
    if (!json_is_object(body)) {
      int r = type_error(e, err, body, GLS_T_STRUCT, 400);
      json_decref(body);
      json_decref(in);
      return r;
    }
  }

  int rc = 0;
  for (int k = 0; k < ish->nmembers && !rc; k++) {
    const gls_member *m = &gls_members[ish->first_member + k];
    json_t *v = NULL;
    size_t mark = push_member(e, m->name);
    switch (m->location) {
    case GLS_LOC_URI:
      for (size_t l = 0; l < nlabels && !v && !rc; l++)
        if (labels[l].name && !strcmp(labels[l].name, m->wire_name))
          rc = text_json(e, err, labels[l].value, labels[l].value_len, m->shape, &v);
      break;
    case GLS_LOC_QUERY:
      rc = query_member(e, err, m, req->query, &v);
      break;
    case GLS_LOC_HEADER:
      rc = header_member(e, err, m, req, &v);
      break;
    default: {
      json_t *bv = body ? json_object_get(body, m->wire_name) : NULL;
      if (bv && !json_is_null(bv)) rc = shape_json(e, err, bv, m->shape, 0, 0, &v);
      break;
    }
    }
    pop_path(e, mark);
    if (!rc && v && json_object_set_new(in, m->name, v)) rc = nomem(e, err);
    else if (rc) json_decref(v);
  }
  json_decref(body);
  if (!rc && e->oom) rc = nomem(e, err);
  if (rc) {
    json_decref(in);
    return rc;
  }

  /* the model's constraints, every violation in member order */
  e->nerr = 0;
  gls_buf_reset(&e->errs);
  gls_buf_reset(&e->rules);
  reset_path(e);
  check_value(e, in, op->input);
  if (e->oom) {
    json_decref(in);
    return nomem(e, err);
  }
  if (e->nerr) {
    json_decref(in);
    return fail(e, err, "ValidationException", 400, "%d validation error%s detected: %s", e->nerr,
                e->nerr == 1 ? "" : "s", e->errs.data);
  }
  *out = in;
  return 0;
}

/* ------------------------------------------------------------ output */

static int dump_to_buf(const char *buffer, size_t size, void *data) {
  return gls_buf_add(data, buffer, size) ? -1 : 0;
}

int gls_emu_output(gls_emu *e, const gls_operation *op, const json_t *output, const char **text,
                   size_t *len, gls_emu_error *err) {
  *text = "";
  *len = 0;
  gls_buf_reset(&e->out);
  if (op->output < 0) return 0;
  reset_path(e);
  json_t *doc;
  if (!output) output = json_object(); /* NULL: no members */
  else json_incref((json_t *)output);
  if (!output) return nomem(e, err);
  int rc = shape_json(e, err, output, op->output, 0, 1, &doc);
  json_decref((json_t *)output);
  if (rc) return -1;
  if (e->oom) {
    json_decref(doc);
    return nomem(e, err);
  }
  rc = json_dump_callback(doc, dump_to_buf, &e->out, JSON_COMPACT);
  json_decref(doc);
  if (rc || !e->out.data) return nomem(e, err);
  *text = e->out.data;
  *len = e->out.len;
  return 0;
}
