/*
 * test_sigv4.c - the C signer against shared/sigv4-vectors (TAP output).
 *
 * Build (until `make check` builds the C tests):
 *   cc -std=c11 -Isrc test/test_sigv4.c build/libgls.a -lcrypto -lcurl -ljansson
 * Run from the worktree root; GLS_SHARED overrides ../shared.
 *
 * Every case folder is signed in both forms; canonical request, string to
 * sign and signature are compared byte for byte, and what the signer adds
 * (headers, or query parameters) is compared as parts against the
 * *-signed-request.txt files. get-vanilla, post-sts-header-after and
 * post-x-www-form-urlencoded must be present.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "gls_private.h"

static int g_n, g_failed;

static void ok(int cond, const char *fmt, const char *a, const char *b) {
  g_n++;
  if (!cond) g_failed++;
  printf("%sok %d - ", cond ? "" : "not ", g_n);
  printf(fmt, a, b);
  printf("\n");
}

/* Reads a whole file; the result is owned by the caller (free). NULL if
 * the file cannot be read. */
static char *slurp(const char *dir, const char *name, size_t *len) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  size_t r;
  while (buf && (r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
    n += r;
    if (cap - n - 1 == 0) {
      char *nb = realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = nb;
      cap *= 2;
    }
  }
  fclose(f);
  if (!buf) return NULL;
  buf[n] = '\0';
  if (len) *len = n;
  return buf;
}

#define MAXH 32

/* A parsed request.txt. Every pointer points into text (owned here) or
 * into the folded-value storage. */
typedef struct request {
  char *text;
  char method[16];
  char path[512];
  char query[512];
  gls_header h[MAXH];
  size_t nh;
  char folded[MAXH][512]; /* values with obs-fold continuations joined */
  const char *body;
  size_t body_len;
} request;

/* Parses "METHOD SP TARGET SP HTTP/1.1", headers (obs-fold continuation
 * lines joined to the value above with one space), blank line, body. */
static int parse_request(request *rq, const char *dir) {
  memset(rq, 0, sizeof *rq);
  size_t len;
  rq->text = slurp(dir, "request.txt", &len);
  if (!rq->text) return -1;
  char *p = rq->text, *end = p + len;
  char *eol = memchr(p, '\n', (size_t)(end - p));
  if (!eol) return -1;
  char *sp = memchr(p, ' ', (size_t)(eol - p));
  char *tail = eol - 9; /* " HTTP/1.1" */
  if (!sp || tail <= sp || memcmp(tail, " HTTP/1.1", 9) != 0) return -1;
  snprintf(rq->method, sizeof rq->method, "%.*s", (int)(sp - p), p);
  char *target = sp + 1;
  char *q = memchr(target, '?', (size_t)(tail - target));
  snprintf(rq->path, sizeof rq->path, "%.*s", (int)((q ? q : tail) - target), target);
  if (q) snprintf(rq->query, sizeof rq->query, "%.*s", (int)(tail - q - 1), q + 1);
  p = eol + 1;
  while (p < end && *p != '\n') {
    eol = memchr(p, '\n', (size_t)(end - p));
    if (!eol) eol = end;
    if ((*p == ' ' || *p == '\t') && rq->nh) {
      gls_header *h = &rq->h[rq->nh - 1];
      char *f = rq->folded[rq->nh - 1];
      if (h->value != f) {
        snprintf(f, 512, "%.*s", (int)h->value_len, h->value);
        h->value = f;
      }
      size_t fl = strlen(f);
      snprintf(f + fl, 512 - fl, " %.*s", (int)(eol - p), p);
      h->value_len = strlen(f);
    } else {
      char *colon = memchr(p, ':', (size_t)(eol - p));
      if (!colon || rq->nh == MAXH) return -1;
      rq->h[rq->nh++] = (gls_header){p, (size_t)(colon - p), colon + 1, (size_t)(eol - colon - 1)};
    }
    p = eol < end ? eol + 1 : end;
  }
  if (p < end && *p == '\n') p++;
  rq->body = p;
  rq->body_len = (size_t)(end - p);
  return 0;
}

/* 2015-08-30T12:36:00Z -> epoch seconds (the suite's one timestamp form). */
static long long parse_time(const char *t) {
  int y, mo, d, h, mi, s;
  if (sscanf(t, "%d-%d-%dT%d:%d:%dZ", &y, &mo, &d, &h, &mi, &s) != 6) return -1;
  y -= mo <= 2;
  long long era = (y >= 0 ? y : y - 399) / 400;
  long long yoe = y - era * 400;
  long long doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return (era * 146097 + doe - 719468) * 86400 + h * 3600 + mi * 60 + s;
}

static int eq_file(const char *dir, const char *file, const char *got, size_t got_len) {
  size_t n;
  char *want = slurp(dir, file, &n);
  int r = want && got && n == got_len && memcmp(want, got, n) == 0;
  if (want && !r) fprintf(stderr, "# %s/%s\n# want: %s\n# got:  %.*s\n", dir, file, want,
                          (int)got_len, got ? got : "");
  free(want);
  return r;
}

/* Sorts '&'-separated parts of s in place (for comparing parameter sets). */
static int cmpstr(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}
static void sorted_params(char *s, char *out, size_t outlen) {
  char *parts[64];
  size_t n = 0;
  for (char *t = strtok(s, "&"); t && n < 64; t = strtok(NULL, "&")) parts[n++] = t;
  qsort(parts, n, sizeof *parts, cmpstr);
  out[0] = '\0';
  for (size_t i = 0; i < n; i++) {
    strncat(out, parts[i], outlen - strlen(out) - 1);
    strncat(out, "&", outlen - strlen(out) - 1);
  }
}

static void run_case(gls_signer *s, const char *root, const char *name) {
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/sigv4-vectors/%s", root, name);
  request rq;
  char *ctxtext = slurp(dir, "context.json", NULL);
  json_t *ctx = ctxtext ? json_loads(ctxtext, 0, NULL) : NULL;
  free(ctxtext);
  if (parse_request(&rq, dir) || !ctx) {
    ok(0, "%s: parse request.txt and context.json%s", name, "");
    free(rq.text);
    json_decref(ctx);
    return;
  }
  json_t *cred = json_object_get(ctx, "credentials");
  const char *token = json_string_value(json_object_get(cred, "token"));
  for (int form = 0; form < 2; form++) {
    gls_sigv4_params p = {0};
    p.method = rq.method;
    p.path = rq.path;
    p.query = rq.query;
    p.headers = rq.h;
    p.nheaders = rq.nh;
    p.body = rq.body;
    p.body_len = rq.body_len;
    p.access_key_id = json_string_value(json_object_get(cred, "access_key_id"));
    p.secret_access_key = json_string_value(json_object_get(cred, "secret_access_key"));
    p.session_token = token;
    p.region = json_string_value(json_object_get(ctx, "region"));
    p.service = json_string_value(json_object_get(ctx, "service"));
    p.time = parse_time(json_string_value(json_object_get(ctx, "timestamp")));
    p.normalize_path = json_is_true(json_object_get(ctx, "normalize"));
    p.double_encode = 1;
    p.sign_body = json_is_true(json_object_get(ctx, "sign_body"));
    p.omit_session_token = json_is_true(json_object_get(ctx, "omit_session_token"));
    p.query_form = form;
    p.expires = (long)json_integer_value(json_object_get(ctx, "expiration_in_seconds"));
    p.want_debug = 1;
    gls_sigv4_result r;
    char err[256];
    const char *f = form ? "query" : "header";
    char file[64];
    gls_status st = gls_signer_sign(s, &p, &r, err, sizeof err);
    ok(st == GLS_OK, "%s %s: signs", name, f);
    if (st != GLS_OK) {
      fprintf(stderr, "# %s\n", err);
      continue;
    }
    snprintf(file, sizeof file, "%s-canonical-request.txt", f);
    ok(eq_file(dir, file, r.canonical_request, r.canonical_request_len),
       "%s %s: canonical request", name, f);
    snprintf(file, sizeof file, "%s-string-to-sign.txt", f);
    ok(eq_file(dir, file, r.string_to_sign, r.string_to_sign_len), "%s %s: string to sign",
       name, f);
    snprintf(file, sizeof file, "%s-signature.txt", f);
    ok(eq_file(dir, file, r.signature, 64), "%s %s: signature", name, f);

    /* What the signer adds, against the signed request. */
    snprintf(file, sizeof file, "%s-signed-request.txt", f);
    request sr;
    int parsed = parse_request(&sr, dir) == 0; /* request.txt, for the header count */
    free(sr.text);
    char *signed_text = slurp(dir, file, NULL);
    int good = parsed && signed_text != NULL;
    if (good && !form) {
      /* Header lines after the original ones are the added ones. */
      char *line = strchr(signed_text, '\n') + 1;
      for (size_t i = 0; i < rq.nh; i++) {
        line = strchr(line, '\n') + 1;
        while (*line == ' ' || *line == '\t') line = strchr(line, '\n') + 1;
      }
      for (size_t i = 0; i < r.nadded && good; i++) {
        char want[2048];
        snprintf(want, sizeof want, "%.*s:%.*s\n", (int)r.added[i].name_len, r.added[i].name,
                 (int)r.added[i].value_len, r.added[i].value);
        good = strncmp(line, want, strlen(want)) == 0;
        if (!good) fprintf(stderr, "# want line %s", want);
        line += strlen(want);
      }
      good = good && *line == '\n';
    } else if (good) {
      char *sp = strchr(signed_text, ' ');
      char *q = strchr(sp, '?');
      char *tail = strstr(sp, " HTTP/1.1\n");
      good = q && tail && q < tail;
      if (good) {
        *tail = '\0';
        char *a = strdup(q + 1), *b = strndup(r.query, r.query_len);
        char sa[4096], sb[4096];
        sorted_params(a, sa, sizeof sa);
        sorted_params(b, sb, sizeof sb);
        good = strcmp(sa, sb) == 0;
        if (!good) fprintf(stderr, "# want %s\n# got  %s\n", sa, sb);
        free(a);
        free(b);
      }
    }
    ok(good, "%s %s: added parts match the signed request", name, f);
    free(signed_text);
  }
  free(rq.text);
  json_decref(ctx);
}

static void error_cases(gls_signer *s) {
  gls_header host = {"Host", 4, "example.amazonaws.com", 21};
  gls_sigv4_params p = {0};
  p.method = "GET";
  p.path = "/";
  p.headers = &host;
  p.nheaders = 1;
  p.access_key_id = "AKIDEXAMPLE";
  p.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  p.service = "service";
  p.time = 1440938160;
  p.normalize_path = p.double_encode = 1;
  gls_sigv4_result r;
  char err[256];
  gls_status st = gls_signer_sign(s, &p, &r, err, sizeof err);
  ok(st == GLS_E_INVALID_ARGUMENT && strstr(err, "region") != NULL,
     "missing region: invalid argument naming region (%s)%s", err, "");
  ok(strstr(err, "wJalr") == NULL, "the message holds no secret%s%s", "", "");
  p.region = "us-east-1";
  p.query_form = 1;
  p.expires = 0;
  st = gls_signer_sign(s, &p, &r, err, sizeof err);
  ok(st == GLS_E_INVALID_ARGUMENT && strstr(err, "expires") != NULL,
     "query form with expires 0: invalid argument naming expires (%s)%s", err, "");
  p.query_form = 0;
  p.secret_access_key = NULL;
  st = gls_signer_sign(s, &p, &r, err, sizeof err);
  ok(st == GLS_E_INVALID_ARGUMENT && strstr(err, "secret_access_key") != NULL,
     "NULL secret: invalid argument naming secret_access_key%s%s", "", "");
  st = gls_signer_sign(s, NULL, &r, err, sizeof err);
  ok(st == GLS_E_INVALID_ARGUMENT, "NULL params: invalid argument%s%s", "", "");
  /* After errors, the signer still signs (get-vanilla's header signature). */
  p.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  st = gls_signer_sign(s, &p, &r, err, sizeof err);
  ok(st == GLS_OK &&
         strcmp(r.signature,
                "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31") == 0,
     "signs again after errors%s%s", "", "");
  /* Verifying a received request: its own X-Amz-Date signed as given gives
   * the same signature; without the flag, passing X-Amz-Date is refused. */
  gls_header recv[2] = {{"Host", 4, "example.amazonaws.com", 21},
                        {"X-Amz-Date", 10, "20150830T123600Z", 16}};
  p.headers = recv;
  p.nheaders = 2;
  st = gls_signer_sign(s, &p, &r, err, sizeof err);
  ok(st == GLS_E_INVALID_ARGUMENT && strstr(err, "X-Amz-Date") != NULL,
     "X-Amz-Date among the headers is refused without date_in_headers (%s)%s", err, "");
  p.date_in_headers = 1;
  st = gls_signer_sign(s, &p, &r, err, sizeof err);
  ok(st == GLS_OK &&
         strcmp(r.signature,
                "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31") == 0,
     "date_in_headers: the received X-Amz-Date signs as get-vanilla%s%s", "", "");
  ok(st == GLS_OK && r.nadded == 1 && strncmp(r.added[0].name, "Authorization", 13) == 0,
     "date_in_headers: only Authorization is added%s%s", "", "");
}

int main(void) {
  const char *root = getenv("GLS_SHARED");
  if (!root || !*root) root = "../shared";
  gls_signer *s = gls_signer_new();
  if (!s) {
    printf("Bail out! gls_signer_new failed\n");
    return 1;
  }
  static const char *const required[] = {"get-vanilla", "post-sts-header-after",
                                         "post-x-www-form-urlencoded"};
  char dirname[1024];
  snprintf(dirname, sizeof dirname, "%s/sigv4-vectors", root);
  for (size_t i = 0; i < 3; i++) {
    char d[1200];
    snprintf(d, sizeof d, "%s/%s", dirname, required[i]);
    DIR *dd = opendir(d);
    ok(dd != NULL, "case %s is present%s", required[i], "");
    if (dd) closedir(dd);
  }
  struct dirent **list;
  int n = scandir(dirname, &list, NULL, alphasort);
  for (int i = 0; i < n; i++) {
    const char *nm = list[i]->d_name;
    if (nm[0] != '.') {
      char d[1400];
      snprintf(d, sizeof d, "%s/%s/context.json", dirname, nm);
      FILE *f = fopen(d, "r");
      if (f) {
        fclose(f);
        run_case(s, root, nm);
      }
    }
    free(list[i]);
  }
  if (n >= 0) free(list);
  error_cases(s);
  gls_signer_free(s);
  printf("1..%d\n", g_n);
  if (g_failed) printf("# %d of %d failed\n", g_failed, g_n);
  return g_failed ? 1 : 0;
}
