/*
 * bench/httpd_load.c - requests per second a server answers over
 * keep-alive connections: CONNS libcurl easy handles on one multi handle,
 * each re-sent as soon as its reply is in, for SECONDS seconds. Every
 * request looks like a signed CreateStreamSessionConnection call (the
 * emulator's hot path): POST, AWS headers, a 600-byte JSON body.
 *
 * Usage: httpd_load URL [CONNS=8] [SECONDS=5]
 * Output: "requests=<n> seconds=<s> rps=<n> errors=<n> connects=<n>".
 * Build: cc -O2 -o build/httpd_load bench/httpd_load.c -lcurl
 * With the Lua server beside it: bench/httpd_server.lua.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>

static size_t discard(char *p, size_t s, size_t n, void *ud) {
  (void)p;
  (void)ud;
  return s * n;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s URL [CONNS] [SECONDS]\n", argv[0]);
    return 2;
  }
  int conns = argc > 2 ? atoi(argv[2]) : 8;
  double secs = argc > 3 ? atof(argv[3]) : 5;
  if (conns < 1 || conns > 1024 || secs <= 0) return 2;
  char url[1024];
  snprintf(url, sizeof url, "%s/streamgroups/sg-1AB2C3De4/streamsessions/ABC123def4567/connections",
           argv[1]);
  char body[601];
  memset(body, 'x', 600);
  memcpy(body, "{\"SignalRequest\":\"", 18);
  memcpy(body + 598, "\"}", 2);
  body[600] = '\0';
  curl_global_init(CURL_GLOBAL_DEFAULT);
  struct curl_slist *hl = NULL;
  hl = curl_slist_append(hl, "Content-Type: application/json");
  hl = curl_slist_append(hl, "X-Amz-Date: 20240610T061320Z");
  hl = curl_slist_append(hl, "X-Amz-Security-Token: IQoJb3JpZ2luX2VjEXAMPLETOKENEXAMPLETOKENEXAMPLE");
  hl = curl_slist_append(hl, "Authorization: AWS4-HMAC-SHA256 Credential=ASIAQEXAMPLEEXAMPLE7/20240610/"
                             "us-west-2/gameliftstreams/aws4_request, SignedHeaders=content-type;host;"
                             "x-amz-date;x-amz-security-token, Signature=0123456789abcdef0123456789abc"
                             "def0123456789abcdef0123456789abcdef");
  hl = curl_slist_append(hl, "User-Agent: gls/0.1.0");
  hl = curl_slist_append(hl, "Expect:");
  CURLM *m = curl_multi_init();
  CURL **e = calloc((size_t)conns, sizeof *e);
  for (int i = 0; i < conns; i++) {
    e[i] = curl_easy_init();
    curl_easy_setopt(e[i], CURLOPT_URL, url);
    curl_easy_setopt(e[i], CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(e[i], CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(e[i], CURLOPT_POSTFIELDSIZE, 600L);
    curl_easy_setopt(e[i], CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(e[i], CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e[i], CURLOPT_SSL_VERIFYHOST, 0L);
    curl_multi_add_handle(m, e[i]);
  }
  long requests = 0, errors = 0, connects = 0;
  double t0 = now(), end = t0 + secs;
  int running = 1;
  while (now() < end) {
    curl_multi_perform(m, &running);
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(m, &left))) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL *h = msg->easy_handle;
      long code = 0, nc = 0;
      curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
      curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &nc);
      connects += nc;
      if (msg->data.result != CURLE_OK || code != 200) errors++;
      else requests++;
      curl_multi_remove_handle(m, h);
      curl_multi_add_handle(m, h);
    }
    curl_multi_poll(m, NULL, 0, 100, NULL);
  }
  double took = now() - t0;
  printf("requests=%ld seconds=%.2f rps=%.0f errors=%ld connects=%ld\n", requests, took,
         (double)requests / took, errors, connects);
  for (int i = 0; i < conns; i++) {
    curl_multi_remove_handle(m, e[i]);
    curl_easy_cleanup(e[i]);
  }
  free(e);
  curl_multi_cleanup(m);
  curl_slist_free_all(hl);
  curl_global_cleanup();
  return errors ? 1 : 0;
}
