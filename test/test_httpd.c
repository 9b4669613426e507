/* test_httpd.c - the HTTP server (src/httpd.c) on 127.0.0.1:0, driven from
 * this one thread together with a libcurl multi handle: raw path and query,
 * headers in order, bodies, 100-continue, 413, keep-alive, deferred replies,
 * drop, truncate, HTTPS with a certificate made here, signals in step, and
 * a stop with deferred requests pending. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "httpd.h"
#include "tap.h"

/* ---------------------------------------------------------------- handler */

#define MAXH 64
typedef struct seen {
  gls_httpd *srv;
  int calls;
  uint64_t id;                  /* of the last request */
  char method[16], path[256], query[256], remote[64];
  char *body;
  size_t body_len;
  size_t nheaders;
  char names[MAXH][64], values[MAXH][128];
  int step_rc, step_errno;      /* /reenter: what a nested step said */
  gls_status again;             /* /twice: a second respond */
} seen;

static const gls_header reply_headers[] = {
  {"Content-Type", 12, "application/json", 16},
  {"X-Reply", 7, "yes", 3},
  {"Content-Length", 14, "999", 3},   /* ignored: the server sets it */
  {"date", 4, "Sun, 30 Aug 2015 12:36:00 GMT", 29},   /* ignored too */
};

static const char LONG_BODY[] =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    "abcdefghijklmnopqrstuvwxyz!!";   /* 100 bytes */

static void handler(void *ud, gls_httpd_req *req) {
  seen *w = ud;
  w->calls++;
  w->id = gls_httpd_req_id(req);
  snprintf(w->method, sizeof w->method, "%s", gls_httpd_req_method(req));
  snprintf(w->path, sizeof w->path, "%s", gls_httpd_req_path(req));
  snprintf(w->query, sizeof w->query, "%s", gls_httpd_req_query(req));
  snprintf(w->remote, sizeof w->remote, "%s", gls_httpd_req_remote(req));
  size_t len;
  const char *b = gls_httpd_req_body(req, &len);
  free(w->body);
  w->body = malloc(len + 1);
  memcpy(w->body, b, len + 1);
  w->body_len = len;
  w->nheaders = gls_httpd_req_nheaders(req);
  for (size_t i = 0; i < w->nheaders && i < MAXH; i++) {
    const char *n, *v;
    gls_httpd_req_header(req, i, &n, &v);
    snprintf(w->names[i], sizeof w->names[i], "%s", n);
    snprintf(w->values[i], sizeof w->values[i], "%s", v);
  }
  const char *p = w->path;
  if (!strcmp(p, "/defer")) return;
  if (!strcmp(p, "/drop")) {
    gls_httpd_respond(w->srv, w->id, 0, NULL, 0, NULL, 0, GLS_HTTPD_DROP, 0);
  } else if (!strcmp(p, "/truncate") || !strcmp(p, "/truncate0")) {
    gls_httpd_respond(w->srv, w->id, 200, reply_headers, 2, LONG_BODY, 100, GLS_HTTPD_TRUNCATE,
                      p[9] == '0' ? 0 : 10);
  } else if (!strcmp(p, "/reenter")) {
    errno = 0;
    w->step_rc = gls_httpd_step(w->srv, 0);
    w->step_errno = errno;
    gls_httpd_respond(w->srv, w->id, 200, NULL, 0, "ok", 2, 0, 0);
  } else if (!strcmp(p, "/twice")) {
    gls_httpd_respond(w->srv, w->id, 201, NULL, 0, "first", 5, 0, 0);
    w->again = gls_httpd_respond(w->srv, w->id, 200, NULL, 0, "second", 6, 0, 0);
  } else if (!strcmp(p, "/body")) { /* echo the body */
    gls_httpd_respond(w->srv, w->id, 200, reply_headers, 2, w->body, w->body_len, 0, 0);
  } else {
    gls_httpd_respond(w->srv, w->id, 200, reply_headers, 4, "{\"ok\":true}", 11, 0, 0);
  }
}

/* ---------------------------------------------------------------- client */

typedef struct sbuf {
  char *data;
  size_t len;
} sbuf;

static size_t sink(char *p, size_t s, size_t n, void *ud) {
  sbuf *b = ud;
  char *d = realloc(b->data, b->len + s * n + 1);
  if (!d) return 0;
  memcpy(d + b->len, p, s * n);
  b->data = d;
  b->len += s * n;
  d[b->len] = '\0';
  return s * n;
}

typedef struct xfer {
  CURL *e;
  CURLM *m;                     /* while added */
  struct curl_slist *hl;
  sbuf body, hdrs;
  CURLcode rc;
  long status, connects;
  int done;
  /* chunked upload source */
  const char *up;
  size_t up_len, up_pos;
} xfer;

static size_t upload(char *buf, size_t s, size_t n, void *ud) {
  xfer *x = ud;
  size_t k = x->up_len - x->up_pos;
  if (k > s * n) k = s * n;
  memcpy(buf, x->up + x->up_pos, k);
  x->up_pos += k;
  return k;
}

static void xfer_init(xfer *x, const char *url) {
  memset(x, 0, sizeof *x);
  x->e = curl_easy_init();
  curl_easy_setopt(x->e, CURLOPT_URL, url);
  curl_easy_setopt(x->e, CURLOPT_PATH_AS_IS, 1L);
  curl_easy_setopt(x->e, CURLOPT_WRITEFUNCTION, sink);
  curl_easy_setopt(x->e, CURLOPT_WRITEDATA, &x->body);
  curl_easy_setopt(x->e, CURLOPT_HEADERFUNCTION, sink);
  curl_easy_setopt(x->e, CURLOPT_HEADERDATA, &x->hdrs);
  curl_easy_setopt(x->e, CURLOPT_TIMEOUT_MS, 10000L);
}

/* Same handle, next request: keep the connection, forget the last reply. */
static void xfer_reuse(xfer *x, const char *url) {
  free(x->body.data);
  free(x->hdrs.data);
  memset(&x->body, 0, sizeof x->body);
  memset(&x->hdrs, 0, sizeof x->hdrs);
  x->done = 0;
  x->status = x->connects = 0;
  curl_easy_setopt(x->e, CURLOPT_URL, url);
}

static void xfer_free(xfer *x) {
  if (x->m) curl_multi_remove_handle(x->m, x->e);
  curl_easy_cleanup(x->e);
  curl_slist_free_all(x->hl);
  free(x->body.data);
  free(x->hdrs.data);
}

static long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long)(t.tv_sec * 1000 + t.tv_nsec / 1000000);
}

/* Drives server (may be NULL) and client until *flag or ms pass. */
static void pump(gls_httpd *s, CURLM *m, const int *flag, long ms) {
  long end = now_ms() + ms;
  while (!*flag && now_ms() < end) {
    struct curl_waitfd w = {s ? gls_httpd_fd(s) : -1, CURL_WAIT_POLLIN, 0};
    curl_multi_poll(m, &w, s ? 1 : 0, 20, NULL);
    if (s) gls_httpd_step(s, 0);
    int running;
    curl_multi_perform(m, &running);
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(m, &left))) {
      if (msg->msg != CURLMSG_DONE) continue;
      xfer *x = NULL;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
      x->rc = msg->data.result;
      curl_easy_getinfo(x->e, CURLINFO_RESPONSE_CODE, &x->status);
      curl_easy_getinfo(x->e, CURLINFO_NUM_CONNECTS, &x->connects);
      curl_multi_remove_handle(m, x->e);
      x->m = NULL;
      x->done = 1;
    }
  }
}

static void start_xfer(CURLM *m, xfer *x) {
  curl_easy_setopt(x->e, CURLOPT_PRIVATE, x);
  curl_multi_add_handle(m, x->e);
  x->m = m;
}

static void run(gls_httpd *s, CURLM *m, xfer *x) {
  start_xfer(m, x);
  pump(s, m, &x->done, 10000);
}

static int has_header(const xfer *x, const char *line) {
  return x->hdrs.data && strstr(x->hdrs.data, line) != NULL;
}

/* ---------------------------------------------------------------- tests */

static void url_of(char *out, size_t n, gls_httpd *s, const char *path) {
  snprintf(out, n, "%s%s", gls_httpd_url(s), path);
}

static void test_config_errors(seen *w) {
  gls_httpd *s = (gls_httpd *)1;
  char err[256];
  gls_httpd_config c = {.handler = handler, .ud = w, .host = "nope"};
  ok(gls_httpd_start(&c, &s, err, sizeof err) == GLS_E_INVALID_ARGUMENT && !s,
     "a host that is not an address is refused");
  ok(strstr(err, "host") != NULL, "the message names host: %s", err);
  c.host = NULL;
  c.port = 70000;
  ok(gls_httpd_start(&c, &s, err, sizeof err) == GLS_E_INVALID_ARGUMENT &&
     strstr(err, "port"), "port out of range: %s", err);
  c.port = 0;
  c.tls_cert_file = "/nonexistent/cert.pem";
  ok(gls_httpd_start(&c, &s, err, sizeof err) == GLS_E_INVALID_ARGUMENT &&
     strstr(err, "tls_key_file"), "a certificate without a key: %s", err);
  c.tls_key_file = "/nonexistent/key.pem";
  ok(gls_httpd_start(&c, &s, err, sizeof err) == GLS_E_CONFIG &&
     strstr(err, "tls_cert_file") && strstr(err, "/nonexistent/cert.pem"),
     "an unreadable certificate: %s", err);
  c.tls_cert_file = c.tls_key_file = NULL;
  c.handler = NULL;
  ok(gls_httpd_start(&c, &s, err, sizeof err) == GLS_E_INVALID_ARGUMENT &&
     strstr(err, "handler"), "no handler: %s", err);
  /* a port already taken */
  c.handler = handler;
  gls_httpd *a = NULL;
  ok(gls_httpd_start(&c, &a, err, sizeof err) == GLS_OK, "started on port 0");
  c.port = gls_httpd_port(a);
  ok(gls_httpd_start(&c, &s, err, sizeof err) == GLS_E_TRANSPORT && !s,
     "a port in use is a transport failure: %s", err);
  gls_httpd_stop(a);
  gls_httpd_stop(NULL);
}

static void test_basics(gls_httpd *s, CURLM *m, seen *w) {
  char url[512];
  const char *u = gls_httpd_url(s);
  char want[64];
  snprintf(want, sizeof want, "http://127.0.0.1:%d", gls_httpd_port(s));
  is_str(u, want, "url() reports the real port");
  ok(gls_httpd_port(s) > 0, "a real port was chosen (%d)", gls_httpd_port(s));
  ok(gls_httpd_fd(s) >= 0, "a pollable fd");

  /* raw path and query, headers in order */
  xfer x;
  url_of(url, sizeof url, s, "/a%2Fb%20c?x=%2F&y");
  xfer_init(&x, url);
  x.hl = curl_slist_append(x.hl, "X-Zeta: 1");
  x.hl = curl_slist_append(x.hl, "x-alpha:  two words ");
  x.hl = curl_slist_append(x.hl, "X-Zeta: 3");
  curl_easy_setopt(x.e, CURLOPT_HTTPHEADER, x.hl);
  int before = w->calls;
  run(s, m, &x);
  ok(x.rc == CURLE_OK && x.status == 200, "GET answered 200 (rc %d, status %ld)", x.rc, x.status);
  ok(w->calls == before + 1, "the handler ran once");
  is_str(w->method, "GET", "method");
  is_str(w->path, "/a%2Fb%20c", "path kept raw");
  is_str(w->query, "x=%2F&y", "query kept raw");
  is_str(w->remote, "127.0.0.1", "remote address");
  ok(w->body_len == 0 && w->body[0] == '\0', "no body: empty string");
  int zi = -1, ai = -1, z2 = -1;
  for (size_t i = 0; i < w->nheaders; i++) {
    if (!strcmp(w->names[i], "X-Zeta") && zi < 0) zi = (int)i;
    else if (!strcmp(w->names[i], "x-alpha")) ai = (int)i;
    else if (!strcmp(w->names[i], "X-Zeta")) z2 = (int)i;
  }
  ok(zi >= 0 && ai == zi + 1 && z2 == ai + 1, "headers in order, names as sent (%d %d %d)", zi,
     ai, z2);
  ok(zi >= 0 && !strcmp(w->values[zi], "1") && !strcmp(w->values[z2], "3") &&
     !strcmp(w->values[ai], "two words"), "header values, repeats kept apart ('%s' '%s' '%s')",
     zi >= 0 ? w->values[zi] : "", ai >= 0 ? w->values[ai] : "", z2 >= 0 ? w->values[z2] : "");
  ok(w->nheaders > 0 && !strcmp(w->names[0], "Host"), "Host first, as curl sends it");
  is_str(x.body.data, "{\"ok\":true}", "reply body");
  ok(has_header(&x, "X-Reply: yes\r\n"), "reply header");
  ok(has_header(&x, "Content-Length: 11\r\n") && !has_header(&x, "999"),
     "Content-Length is the server's own");
  ok(has_header(&x, "\r\nDate: ") && !has_header(&x, "2015"),
     "one Date header, the server's");

  /* keep-alive: the same handle again reuses the connection */
  url_of(url, sizeof url, s, "/second");
  xfer_reuse(&x, url);
  run(s, m, &x);
  ok(x.rc == CURLE_OK && x.status == 200, "second request answered");
  ok(x.connects == 0, "second request reused the connection (new connects: %ld)", x.connects);
  is_str(w->path, "/second", "second request's path");
  ok(w->id > 0, "ids are positive (%llu)", (unsigned long long)w->id);
  xfer_free(&x);

  /* many headers (more than the inline array) */
  url_of(url, sizeof url, s, "/many");
  xfer_init(&x, url);
  for (int i = 0; i < 40; i++) {
    char h[64];
    snprintf(h, sizeof h, "X-H%02d: v%d", i, i);
    x.hl = curl_slist_append(x.hl, h);
  }
  curl_easy_setopt(x.e, CURLOPT_HTTPHEADER, x.hl);
  run(s, m, &x);
  int inorder = 1, found = 0;
  for (size_t i = 0; i < w->nheaders; i++) {
    if (strncmp(w->names[i], "X-H", 3)) continue;
    char h[16], v[16];
    snprintf(h, sizeof h, "X-H%02d", found);
    snprintf(v, sizeof v, "v%d", found);
    if (strcmp(w->names[i], h) || strcmp(w->values[i], v)) inorder = 0;
    found++;
  }
  ok(x.status == 200 && found == 40 && inorder, "40 headers, all in order (%d)", found);
  xfer_free(&x);
}

static void test_bodies(gls_httpd *s, CURLM *m, seen *w, size_t max_body) {
  char url[512];
  xfer x;
  /* binary body with NULs */
  size_t n = 3000;
  char *data = malloc(max_body + 4096);
  for (size_t i = 0; i < max_body + 4096; i++) data[i] = (char)(i * 7 + (i >> 8));
  url_of(url, sizeof url, s, "/body");
  xfer_init(&x, url);
  curl_easy_setopt(x.e, CURLOPT_POSTFIELDS, data);
  curl_easy_setopt(x.e, CURLOPT_POSTFIELDSIZE, (long)n);
  x.hl = curl_slist_append(x.hl, "Expect:");
  curl_easy_setopt(x.e, CURLOPT_HTTPHEADER, x.hl);
  run(s, m, &x);
  ok(x.status == 200 && w->body_len == n && !memcmp(w->body, data, n) && !strcmp(w->method, "POST"),
     "a binary POST body arrives whole (%zu bytes)", w->body_len);
  ok(x.body.len == n && !memcmp(x.body.data, data, n), "and is echoed back");
  xfer_free(&x);

  /* Expect: 100-continue, exactly max_body bytes: curl waits for the 100 */
  xfer_init(&x, url);
  curl_easy_setopt(x.e, CURLOPT_POSTFIELDS, data);
  curl_easy_setopt(x.e, CURLOPT_POSTFIELDSIZE, (long)max_body);
  x.hl = curl_slist_append(x.hl, "Expect: 100-continue");
  curl_easy_setopt(x.e, CURLOPT_HTTPHEADER, x.hl);
  curl_easy_setopt(x.e, CURLOPT_EXPECT_100_TIMEOUT_MS, 20000L);
  long t0 = now_ms();
  run(s, m, &x);
  long took = now_ms() - t0;
  ok(x.status == 200 && w->body_len == max_body && !memcmp(w->body, data, max_body),
     "100-continue: a max_body POST arrives whole");
  ok(took < 5000, "100 Continue was sent (took %ld ms, curl would wait 20 s)", took);
  ok(has_header(&x, "HTTP/1.1 100 Continue"), "curl saw the 100 Continue");
  xfer_free(&x);

  /* over max_body with Content-Length: 413, handler not called */
  int before = w->calls;
  xfer_init(&x, url);
  curl_easy_setopt(x.e, CURLOPT_POSTFIELDS, data);
  curl_easy_setopt(x.e, CURLOPT_POSTFIELDSIZE, (long)(max_body + 1));
  x.hl = curl_slist_append(x.hl, "Expect: 100-continue");
  curl_easy_setopt(x.e, CURLOPT_HTTPHEADER, x.hl);
  curl_easy_setopt(x.e, CURLOPT_EXPECT_100_TIMEOUT_MS, 20000L);
  t0 = now_ms();
  run(s, m, &x);
  ok(x.status == 413 && w->calls == before, "max_body + 1 bytes: 413, handler not called");
  ok(now_ms() - t0 < 5000 && !has_header(&x, "100 Continue"), "413 came before any 100 Continue");
  ok(x.body.data && strstr(x.body.data, "Too Large"), "413 body: %s", x.body.data ? x.body.data : "");
  xfer_free(&x);

  /* without Expect: the body is on its way; still 413 */
  xfer_init(&x, url);
  curl_easy_setopt(x.e, CURLOPT_POSTFIELDS, data);
  curl_easy_setopt(x.e, CURLOPT_POSTFIELDSIZE, (long)(max_body + 4096));
  x.hl = curl_slist_append(x.hl, "Expect:");
  curl_easy_setopt(x.e, CURLOPT_HTTPHEADER, x.hl);
  run(s, m, &x);
  ok(x.status == 413 && w->calls == before, "a large body sent at once: 413, handler not called");
  xfer_free(&x);

  /* chunked, over max_body: read and discarded, then 413; under: whole */
  xfer_init(&x, url);
  x.up = data;
  x.up_len = max_body + 4096;
  curl_easy_setopt(x.e, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(x.e, CURLOPT_CUSTOMREQUEST, "POST");
  curl_easy_setopt(x.e, CURLOPT_READFUNCTION, upload);
  curl_easy_setopt(x.e, CURLOPT_READDATA, &x);
  x.hl = curl_slist_append(x.hl, "Transfer-Encoding: chunked");
  x.hl = curl_slist_append(x.hl, "Expect:");
  curl_easy_setopt(x.e, CURLOPT_HTTPHEADER, x.hl);
  run(s, m, &x);
  ok(x.status == 413 && w->calls == before, "chunked over max_body: 413, handler not called");
  /* the connection survives a chunked 413 */
  x.up_pos = 0;
  x.up_len = 70000;
  xfer_reuse(&x, url);
  run(s, m, &x);
  ok(x.status == 200 && w->calls == before + 1 && w->body_len == 70000 &&
     !memcmp(w->body, data, 70000), "chunked under max_body: whole (%zu bytes)", w->body_len);
  ok(x.connects == 0, "on the same connection");
  xfer_free(&x);
  free(data);
}

static void test_replies(gls_httpd *s, CURLM *m, seen *w) {
  char url[512];
  xfer x;
  /* deferred */
  url_of(url, sizeof url, s, "/defer");
  xfer_init(&x, url);
  int before = w->calls;
  start_xfer(m, &x);
  int called = 0;
  long end = now_ms() + 5000;
  while (!called && now_ms() < end) {
    pump(s, m, &called, 20);
    called = w->calls > before;
  }
  ok(called && !x.done, "deferred: the handler returned, no reply yet");
  ok(gls_httpd_pending(s) == 1, "one pending request");
  uint64_t id = w->id;
  ok(gls_httpd_find(s, id) != NULL, "the deferred request can be found by id");
  pump(s, m, &x.done, 200);
  ok(!x.done, "the client still waits after 200 ms");
  ok(gls_httpd_respond(s, id + 1000, 200, NULL, 0, NULL, 0, 0, 0) == GLS_E_INVALID_ARGUMENT,
     "an unknown id is refused");
  static const gls_header bad[] = {{"X-Bad", 5, "a\r\nb", 4}};
  ok(gls_httpd_respond(s, id, 200, bad, 1, NULL, 0, 0, 0) == GLS_E_INVALID_ARGUMENT &&
     gls_httpd_pending(s) == 1, "a header with CRLF is refused, the request still pending");
  ok(gls_httpd_respond(s, id, 99, NULL, 0, NULL, 0, 0, 0) == GLS_E_INVALID_ARGUMENT,
     "status 99 is refused");
  ok(gls_httpd_respond(s, id, 202, reply_headers, 1, "later", 5, 0, 0) == GLS_OK,
     "respond later");
  ok(gls_httpd_pending(s) == 0 && !gls_httpd_find(s, id), "no longer pending");
  ok(gls_httpd_respond(s, id, 200, NULL, 0, NULL, 0, 0, 0) == GLS_E_INVALID_ARGUMENT,
     "an answered id is refused");
  pump(s, m, &x.done, 5000);
  ok(x.rc == CURLE_OK && x.status == 202 && x.body.data && !strcmp(x.body.data, "later"),
     "the deferred reply arrives (%ld)", x.status);
  /* and the connection is still good */
  url_of(url, sizeof url, s, "/after-defer");
  xfer_reuse(&x, url);
  run(s, m, &x);
  ok(x.status == 200 && x.connects == 0, "keep-alive after a deferred reply");
  xfer_free(&x);

  /* deferred drop (on a new connection: curl repeats a request once when a
   * reused connection closes without a word) */
  url_of(url, sizeof url, s, "/defer");
  xfer_init(&x, url);
  curl_easy_setopt(x.e, CURLOPT_FRESH_CONNECT, 1L);
  before = w->calls;
  start_xfer(m, &x);
  called = 0;
  end = now_ms() + 5000;
  while (!called && now_ms() < end) {
    pump(s, m, &called, 20);
    called = w->calls > before;
  }
  ok(gls_httpd_respond(s, w->id, 0, NULL, 0, NULL, 0, GLS_HTTPD_DROP, 0) == GLS_OK,
     "a deferred drop");
  pump(s, m, &x.done, 5000);
  ok(x.done && x.rc == CURLE_GOT_NOTHING && w->calls == before + 1,
     "deferred drop: the client gets nothing (rc %d)", x.rc);
  xfer_free(&x);

  /* drop */
  url_of(url, sizeof url, s, "/drop");
  xfer_init(&x, url);
  curl_easy_setopt(x.e, CURLOPT_FRESH_CONNECT, 1L);
  before = w->calls;
  run(s, m, &x);
  ok(x.done && x.rc == CURLE_GOT_NOTHING && x.hdrs.len == 0 && w->calls == before + 1,
     "drop: empty reply (rc %d)", x.rc);
  xfer_free(&x);

  /* truncate */
  url_of(url, sizeof url, s, "/truncate");
  xfer_init(&x, url);
  run(s, m, &x);
  ok(x.rc == CURLE_PARTIAL_FILE, "truncate: partial file (rc %d)", x.rc);
  ok(x.status == 200 && has_header(&x, "Content-Length: 100\r\n") && has_header(&x, "X-Reply: yes"),
     "truncate: status and headers with the full Content-Length");
  ok(x.body.len == 10 && !memcmp(x.body.data, LONG_BODY, 10), "truncate: 10 bytes of body (%zu)",
     x.body.len);
  xfer_free(&x);
  url_of(url, sizeof url, s, "/truncate0");
  xfer_init(&x, url);
  run(s, m, &x);
  ok(x.rc == CURLE_PARTIAL_FILE && x.status == 200 && has_header(&x, "Content-Length: 100\r\n") &&
     x.body.len == 0, "truncate at 0: headers only, then closed (rc %d, %ld)", x.rc, x.status);
  xfer_free(&x);

  /* respond twice inside the handler; step inside the handler */
  url_of(url, sizeof url, s, "/twice");
  xfer_init(&x, url);
  run(s, m, &x);
  ok(x.status == 201 && !strcmp(x.body.data, "first") && w->again == GLS_E_INVALID_ARGUMENT,
     "a second answer is refused, the first one goes out");
  xfer_free(&x);
  url_of(url, sizeof url, s, "/reenter");
  xfer_init(&x, url);
  run(s, m, &x);
  ok(x.status == 200 && w->step_rc == -1 && w->step_errno == EBUSY,
     "step inside the handler: -1, EBUSY");
  xfer_free(&x);
}

static int got_signal;
static void on_signal(int sig) {
  (void)sig;
  got_signal++;
}

static void test_signals(gls_httpd *s) {
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  struct sigaction sa, olds;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, &olds);
  ok(gls_httpd_step(s, 0) == 0, "step(0) with nothing to do: 0");
  long t0 = now_ms();
  ok(gls_httpd_step(s, 30) == 0 && now_ms() - t0 >= 25, "step(30) waits about 30 ms");
  kill(getpid(), SIGTERM);
  ok(got_signal == 0, "SIGTERM is blocked: pending, not delivered");
  t0 = now_ms();
  int rc = gls_httpd_step(s, 5000);
  ok(rc == 1 && got_signal == 1, "step returns 1: the signal arrived inside epoll_pwait (%d)", rc);
  ok(now_ms() - t0 < 1000, "at once");
  sigset_t cur;
  pthread_sigmask(SIG_SETMASK, NULL, &cur);
  ok(sigismember(&cur, SIGTERM), "SIGTERM is blocked again after step");
  sigaction(SIGTERM, &olds, NULL);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void test_stop_pending(CURLM *m, seen *w) {
  gls_httpd_config c = {.handler = handler, .ud = w};
  gls_httpd *s = NULL;
  char err[256];
  if (!ok(gls_httpd_start(&c, &s, err, sizeof err) == GLS_OK, "a server to stop")) return;
  w->srv = s;
  char url[512];
  xfer a, b, c3;
  url_of(url, sizeof url, s, "/defer");
  xfer_init(&a, url);
  xfer_init(&b, url);
  xfer_init(&c3, url);
  int before = w->calls;
  start_xfer(m, &a);
  start_xfer(m, &b);
  start_xfer(m, &c3);
  int called = 0;
  long end = now_ms() + 5000;
  uint64_t third = 0;
  while (!called && now_ms() < end) {
    pump(s, m, &called, 20);
    called = w->calls >= before + 3;
  }
  third = w->id;
  ok(called && gls_httpd_pending(s) == 3, "three deferred requests pending");
  /* one answered, but the server stops before it could send the answer */
  ok(gls_httpd_respond(s, third, 200, NULL, 0, "late", 4, 0, 0) == GLS_OK &&
     gls_httpd_pending(s) == 2, "one answered just before the stop");
  gls_httpd_stop(s);
  w->srv = NULL;
  pump(NULL, m, &a.done, 5000);
  pump(NULL, m, &b.done, 5000);
  pump(NULL, m, &c3.done, 5000);
  ok(a.done && b.done && a.rc != CURLE_OK && b.rc != CURLE_OK && a.status == 0,
     "stop drops them: the clients see the connection close (rc %d, %d)", a.rc, b.rc);
  ok(c3.done, "the answered one ends too (rc %d, status %ld)", c3.rc, c3.status);
  xfer_free(&a);
  xfer_free(&b);
  xfer_free(&c3);
}

/* ---------------------------------------------------------------- TLS */

static int make_cert(const char *dir, char *cert, char *key, size_t n) {
  snprintf(cert, n, "%s/cert.pem", dir);
  snprintf(key, n, "%s/key.pem", dir);
  EVP_PKEY *pk = EVP_EC_gen("P-256");
  X509 *x = X509_new();
  int okay = 0;
  if (pk && x) {
    X509_set_version(x, X509_VERSION_3); /* extensions need v3 (GnuTLS checks) */
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, pk);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"127.0.0.1", -1,
                               -1, 0);
    X509_set_issuer_name(x, name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, "IP:127.0.0.1");
    if (ext) {
      X509_add_ext(x, ext, -1);
      X509_EXTENSION_free(ext);
    }
    FILE *fc = fopen(cert, "w"), *fk = fopen(key, "w");
    okay = ext && X509_sign(x, pk, EVP_sha256()) && fc && fk && PEM_write_X509(fc, x) &&
           PEM_write_PrivateKey(fk, pk, NULL, NULL, 0, NULL, NULL);
    if (fc) fclose(fc);
    if (fk) fclose(fk);
  }
  X509_free(x);
  EVP_PKEY_free(pk);
  return okay;
}

static void test_tls(CURLM *m, seen *w) {
  char dir[] = "/tmp/gls-httpd-XXXXXX";
  if (!mkdtemp(dir)) {
    ok(0, "mkdtemp: %s", strerror(errno));
    return;
  }
  char cert[300], key[300];
  if (!ok(make_cert(dir, cert, key, sizeof cert), "a self-signed certificate for 127.0.0.1")) return;
  gls_httpd_config c = {.handler = handler, .ud = w, .tls_cert_file = cert, .tls_key_file = key};
  gls_httpd *s = NULL;
  char err[256];
  gls_status st = gls_httpd_start(&c, &s, err, sizeof err);
  if (ok(st == GLS_OK, "HTTPS server started (%s)", err)) {
    w->srv = s;
    char want[64], url[512];
    snprintf(want, sizeof want, "https://127.0.0.1:%d", gls_httpd_port(s));
    is_str(gls_httpd_url(s), want, "url() says https");
    url_of(url, sizeof url, s, "/tls%20path?q=%2F");
    xfer x;
    xfer_init(&x, url);
    curl_easy_setopt(x.e, CURLOPT_CAINFO, cert);
    run(s, m, &x);
    ok(x.rc == CURLE_OK && x.status == 200 && !strcmp(x.body.data, "{\"ok\":true}"),
       "HTTPS request verified against the certificate (rc %d: %s)", x.rc, curl_easy_strerror(x.rc));
    is_str(w->path, "/tls%20path", "raw path over TLS");
    url_of(url, sizeof url, s, "/again");
    xfer_reuse(&x, url);
    run(s, m, &x);
    ok(x.rc == CURLE_OK && x.connects == 0, "keep-alive over TLS");
    url_of(url, sizeof url, s, "/truncate");
    xfer_reuse(&x, url);
    run(s, m, &x);
    ok(x.rc == CURLE_PARTIAL_FILE && x.body.len == 10, "truncate over TLS (rc %d)", x.rc);
    xfer_free(&x);
    /* plain HTTP to the TLS port fails, the server lives on */
    char plain[128];
    snprintf(plain, sizeof plain, "http://127.0.0.1:%d/", gls_httpd_port(s));
    xfer_init(&x, plain);
    run(s, m, &x);
    ok(x.status != 200, "plain HTTP to the HTTPS port is not served");
    xfer_free(&x);
    gls_httpd_stop(s);
    w->srv = NULL;
  }
  unlink(cert);
  unlink(key);
  rmdir(dir);
}

static void test_ipv6(CURLM *m, seen *w) {
  gls_httpd_config c = {.handler = handler, .ud = w, .host = "[::1]"};
  gls_httpd *s = NULL;
  char err[256];
  if (gls_httpd_start(&c, &s, err, sizeof err) != GLS_OK) {
    skip("no IPv6 loopback here", "IPv6 listen (%s)", err);
    return;
  }
  w->srv = s;
  char want[64], url[512];
  snprintf(want, sizeof want, "http://[::1]:%d", gls_httpd_port(s));
  is_str(gls_httpd_url(s), want, "IPv6 url");
  url_of(url, sizeof url, s, "/v6");
  xfer x;
  xfer_init(&x, url);
  run(s, m, &x);
  ok(x.status == 200 && !strcmp(w->remote, "::1"), "IPv6 request from ::1 (%s)", w->remote);
  xfer_free(&x);
  gls_httpd_stop(s);
  w->srv = NULL;
}

int main(void) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  seen w;
  memset(&w, 0, sizeof w);
  test_config_errors(&w);
  CURLM *m = curl_multi_init();
  size_t max_body = 256 * 1024;
  gls_httpd_config c = {.handler = handler, .ud = &w, .max_body = max_body, .idle_timeout_s = 30};
  gls_httpd *s = NULL;
  char err[256];
  if (ok(gls_httpd_start(&c, &s, err, sizeof err) == GLS_OK, "start on 127.0.0.1:0 (%s)", err)) {
    w.srv = s;
    test_basics(s, m, &w);
    test_bodies(s, m, &w, max_body);
    test_replies(s, m, &w);
    test_signals(s);
    ok(gls_httpd_timeout_ms(s) > 0 && gls_httpd_timeout_ms(s) <= 30000,
       "idle keep-alive connections give a timer (%ld ms)", gls_httpd_timeout_ms(s));
    gls_httpd_stop(s);
  }
  test_stop_pending(m, &w);
  test_tls(m, &w);
  test_ipv6(m, &w);
  curl_multi_cleanup(m);
  free(w.body);
  curl_global_cleanup();
  return done_testing();
}
