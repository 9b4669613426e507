/*
 * examples/host.c - a game server that hosts gls's runtime (gls.h, gls_runtime_*)
 * and keeps a player in the game through a dropped connection.
 *
 *   glsrun emulator &                 # prints "listening on URL"
 *   cc -std=c11 -o host examples/host.c $(pkg-config --cflags --libs gls libcurl)
 *   ./host URL [POLICY.lua]
 *
 * The server's main loop runs a 60 Hz frame; gls lives inside it: the loop
 * waits with poll(2) on gls_runtime_fd() for at most the rest of the frame
 * (or gls_runtime_timeout_ms(), if sooner), then calls gls_runtime_poll(rt, 0)
 * which never blocks and runs the callbacks of finished requests.
 *
 * The player's story: its device sends an offer, the runtime starts a stream
 * session and the device gets its answer; the device attaches and then drops
 * (the emulator's control API, called with libcurl, stands in for the
 * network); the device comes back with a new offer and gets the answer to
 * it, with a new token (the old one is dead); the player leaves. Each answer
 * names the offer it answers (the emulator writes its SHA-256 into the
 * answer), so the output shows which offer got which answer. Nothing secret
 * is printed: tokens and answers stay inside. Exit status 0 when every step
 * went as it should, 1 otherwise, 2 on a bad command line.
 *
 * Built into test/test_runtime_embed.c too (with GLS_HOST_NO_MAIN), so
 * `make check` runs it plain, under ASan+UBSan and under valgrind.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* poll, clock_gettime */
#endif
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <gls.h>

#define FRAME_MS 16

/* Offers are the device's (WebRTC SDP); these stand in for them. */
#define HOST_OFFER1 "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=host example, first offer\r\n"
#define HOST_OFFER2 "v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\ns=host example, offer after the drop\r\n"

/* One player, as the game server knows it. */
typedef struct host_player {
  const char *name;
  char token[128];          /* the runtime's token for this player's session */
  char session_arn[512];
  char answered[65];        /* the SHA-256 the last answer names */
  char old_token[128];
  int step;                 /* how far the story went */
  int waiting;              /* a request of ours is in flight */
  int failed;
  char error[256];
} host_player;

/* Copies the string value of "key" in a flat JSON object (no escapes in the
 * values gls gives here: tokens, ARNs, and the answer line we look for). */
static int host_json_str(const char *json, const char *key, char *out, size_t n) {
  char pat[64];
  snprintf(pat, sizeof pat, "\"%s\":\"", key);
  const char *p = strstr(json, pat);
  if (!p) return -1;
  p += strlen(pat);
  size_t i = 0;
  while (p[i] && p[i] != '"' && i + 1 < n) {
    out[i] = p[i];
    i++;
  }
  out[i] = '\0';
  return p[i] == '"' ? 0 : -1;
}

/* The SHA-256 an emulator answer names (a=x-gls-offer-sha256:HEX). */
static void host_answered(const char *json, char out[65]) {
  const char *p = strstr(json, "a=x-gls-offer-sha256:");
  out[0] = '\0';
  if (!p) return;
  p += strlen("a=x-gls-offer-sha256:");
  size_t i = 0;
  while (i < 64 && ((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f'))) {
    out[i] = p[i];
    i++;
  }
  out[i] = '\0';
}

static void host_fail(host_player *pl, const char *what, const gls_runtime_error *e) {
  pl->failed = 1;
  snprintf(pl->error, sizeof pl->error, "%s: %s (%s, status %d)", what, e ? e->message : "?",
           e ? e->code : "?", e ? e->status : 0);
}

static void on_started(void *ud, const char *res, const gls_runtime_error *e) {
  host_player *pl = ud;
  pl->waiting = 0;
  if (e || host_json_str(res, "Token", pl->token, sizeof pl->token) ||
      host_json_str(res, "SessionArn", pl->session_arn, sizeof pl->session_arn))
    return host_fail(pl, "start", e);
  pl->step = 1;
}

static void on_answer(void *ud, const char *res, const gls_runtime_error *e) {
  host_player *pl = ud;
  pl->waiting = 0;
  if (e) return host_fail(pl, "answer", e);
  host_answered(res, pl->answered);
  pl->step = 2;
}

static void on_reconnected(void *ud, const char *res, const gls_runtime_error *e) {
  host_player *pl = ud;
  pl->waiting = 0;
  if (e) return host_fail(pl, "reconnect", e);
  snprintf(pl->old_token, sizeof pl->old_token, "%s", pl->token);
  if (host_json_str(res, "Token", pl->token, sizeof pl->token)) return host_fail(pl, "reconnect", NULL);
  host_answered(res, pl->answered);
  pl->step = 4;
}

static void on_old_token(void *ud, const char *res, const gls_runtime_error *e) {
  host_player *pl = ud;
  pl->waiting = 0;
  (void)res;
  if (!e || strcmp(e->code, "NotFound") != 0) {
    pl->failed = 1;
    snprintf(pl->error, sizeof pl->error, "the old token still worked");
    return;
  }
  pl->step = 5;
}

static void on_terminated(void *ud, const char *res, const gls_runtime_error *e) {
  host_player *pl = ud;
  pl->waiting = 0;
  (void)res;
  if (e) return host_fail(pl, "terminate", e);
  pl->step = 6;
}

static size_t host_discard(char *p, size_t size, size_t n, void *ud) {
  (void)p;
  (void)ud;
  return size * n;
}

/* POST URL/_emulator/sessions/ID/ACTION: the network, played by the emulator. */
static int host_control(const char *url, const char *arn, const char *action) {
  const char *id = strrchr(arn, '/');
  char target[1024];
  snprintf(target, sizeof target, "%s/_emulator/sessions/%s/%s", url, id ? id + 1 : arn, action);
  CURL *c = curl_easy_init();
  if (!c) return -1;
  curl_easy_setopt(c, CURLOPT_URL, target);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, host_discard);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
  long code = 0;
  CURLcode rc = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  curl_easy_cleanup(c);
  return rc == CURLE_OK && code == 200 ? 0 : -1;
}

static long host_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One frame: the game's work (none here), then gls, within FRAME_MS. */
static void host_frame(gls_runtime *rt) {
  long t = gls_runtime_timeout_ms(rt);
  int fd = gls_runtime_fd(rt);
  if (t < 0 || t > FRAME_MS) t = FRAME_MS;
  if (fd >= 0 && t > 0) {
    struct pollfd p = {fd, POLLIN, 0};
    poll(&p, 1, (int)t);
  }
  gls_runtime_poll(rt, 0, NULL);
}

/* JSON string escaping for what goes into the options. */
static void host_json_escape(char *out, size_t n, const char *s) {
  size_t j = 0;
  for (; *s && j + 7 < n; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\') {
      out[j++] = '\\';
      out[j++] = (char)ch;
    } else if (ch < 0x20) {
      j += (size_t)snprintf(out + j, n - j, "\\u%04x", ch);
    } else {
      out[j++] = (char)ch;
    }
  }
  out[j] = '\0';
}

/* The story, against the emulator at url; what happens goes to out. Returns
 * the exit status. */
static int host_run(const char *url, const char *policy, FILE *out) {
  char esc[600], options[1024], err[512];
  host_json_escape(esc, sizeof esc, url);
  const char *akid = getenv("AWS_ACCESS_KEY_ID");
  /* the stream group and application the emulator always has */
#define HOST_WHERE "\"stream_group\": \"sg-1AB2C3De4\", \"application\": \"a-9ZY8X7Wv6\""
  if (akid && *akid) /* the environment's credentials, as the AWS CLI would use them */
    snprintf(options, sizeof options,
             "{\"endpoint_url\": \"%s\", \"region\": \"us-west-2\", " HOST_WHERE "}", esc);
  else               /* the AWS documentation's example key, which the emulator accepts */
    snprintf(options, sizeof options,
             "{\"endpoint_url\": \"%s\", \"region\": \"us-west-2\", " HOST_WHERE ","
             " \"credentials\": {\"access_key_id\": \"AKIDEXAMPLE\","
             " \"secret_access_key\": \"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\"}}", esc);
  gls_runtime *rt = gls_runtime_new(policy, options, err, sizeof err);
  if (!rt) {
    fprintf(out, "host: cannot create the runtime: %s\n", err);
    return 1;
  }
  host_player pl = {.name = "player-1"};
  static const char CLIENT[] = "{\"id\": \"player-1\", \"device\": \"console-1\"}";
  char offer[256], request[512];
  host_json_escape(offer, sizeof offer, HOST_OFFER1);
  snprintf(request, sizeof request, "{\"SignalRequest\": \"%s\", \"UserId\": \"player-1\"}", offer);
  gls_status st = gls_runtime_start(rt, request, CLIENT, on_started, &pl);
  pl.waiting = st == GLS_OK;
  if (st != GLS_OK) fprintf(out, "host: start refused: %s\n", gls_runtime_errmsg(rt));
  long deadline = host_now_ms() + 60000;
  int last = -1;
  while (!pl.failed && pl.step < 6 && st == GLS_OK && host_now_ms() < deadline) {
    host_frame(rt);
    if (pl.waiting || pl.step == last) continue;
    last = pl.step;
    switch (pl.step) {
    case 1: /* the device waits for its answer (up to 10 s) */
      fprintf(out, "host: session started for %s\n", pl.name);
      st = gls_runtime_answer(rt, pl.token, 10000, on_answer, &pl);
      pl.waiting = st == GLS_OK;
      break;
    case 2: /* it attaches, then its network drops */
      fprintf(out, "host: answer 1 names offer sha256 %s\n", pl.answered);
      if (host_control(url, pl.session_arn, "connect") || host_control(url, pl.session_arn, "disconnect")) {
        fprintf(out, "host: the emulator's control API failed\n");
        pl.failed = 1;
        break;
      }
      fprintf(out, "host: %s dropped\n", pl.name);
      pl.step = 3;
      /* the device is back with a new offer */
      st = gls_runtime_reconnect(rt, pl.token, HOST_OFFER2, CLIENT, on_reconnected, &pl);
      pl.waiting = st == GLS_OK;
      break;
    case 4:
      fprintf(out, "host: answer 2 names offer sha256 %s\n", pl.answered);
      fprintf(out, "host: the token rotated: %s\n", strcmp(pl.old_token, pl.token) ? "yes" : "no");
      /* whoever kept the old token gets nothing */
      st = gls_runtime_reconnect(rt, pl.old_token, "v=0\r\ns=stale\r\n", CLIENT, on_old_token, &pl);
      pl.waiting = st == GLS_OK;
      break;
    case 5:
      fprintf(out, "host: the old token is refused (NotFound)\n");
      st = gls_runtime_terminate(rt, pl.token, CLIENT, on_terminated, &pl);
      pl.waiting = st == GLS_OK;
      break;
    default:
      break;
    }
    if (st != GLS_OK) fprintf(out, "host: request refused: %s\n", gls_runtime_errmsg(rt));
  }
  char *stats = gls_runtime_stats(rt);
  if (stats) fprintf(out, "host: runtime figures %s\n", stats);
  gls_free(stats);
  gls_runtime_destroy(rt);
  if (pl.failed) fprintf(out, "host: failed: %s\n", pl.error);
  else if (pl.step == 6) fprintf(out, "host: %s left; session terminated\n", pl.name);
  else fprintf(out, "host: gave up at step %d\n", pl.step);
  fflush(out);
  return pl.step == 6 && !pl.failed ? 0 : 1;
}

#ifndef GLS_HOST_NO_MAIN
int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: %s EMULATOR_URL [POLICY.lua]\n", argv[0]);
    return 2;
  }
  if (gls_global_init() != GLS_OK) return 1;
  int code = host_run(argv[1], argc > 2 ? argv[2] : NULL, stdout);
  gls_global_cleanup();
  return code;
}
#endif
