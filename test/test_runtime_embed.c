/* test_runtime_embed.c - the embedding API (gls.h, gls_runtime_*) against a
 * real `glsrun emulator` this test starts itself: examples/host.c's whole
 * story (built in below), reload, bad policies and options, misuse, and
 * destroy with requests pending. Run from the checkout's root after `make`
 * (tools/check.sh runs it plain, under ASan+UBSan and under valgrind). */
#define GLS_HOST_NO_MAIN
#include "../examples/host.c"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "tap.h"

#define GLSRUN "build/glsrun"
#define KEY_OPTIONS_FMT                                                              \
  "{\"endpoint_url\": \"%s\", \"region\": \"us-west-2\", "                      \
  "\"stream_group\": \"sg-1AB2C3De4\", \"application\": \"a-9ZY8X7Wv6\", "         \
  "\"credentials\": {\"access_key_id\": \"AKIDEXAMPLE\", "                           \
  "\"secret_access_key\": \"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\"}}"

/* ------------------------------------------------------------ the emulator */

static pid_t emu_pid = -1;
static char emu_url[256];  /* "http://127.0.0.1:PORT" */

/* Starts build/glsrun emulator (real clock); 0 ok. Reads its first line. */
static int start_emulator(char *why, size_t n) {
  int fds[2];
  if (pipe(fds)) {
    snprintf(why, n, "pipe: %s", strerror(errno));
    return -1;
  }
  pid_t pid = fork();
  if (pid < 0) {
    snprintf(why, n, "fork: %s", strerror(errno));
    return -1;
  }
  if (pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    int devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0) dup2(devnull, 2);
    execl(GLSRUN, GLSRUN, "emulator", "--listen", "127.0.0.1:0", (char *)NULL);
    _exit(127);
  }
  close(fds[1]);
  emu_pid = pid;
  char line[200];
  size_t len = 0;
  long deadline = host_now_ms() + 10000;
  while (len + 1 < sizeof line && host_now_ms() < deadline) {
    struct pollfd p = {fds[0], POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    ssize_t r = read(fds[0], line + len, 1);
    if (r <= 0) break;
    if (line[len] == '\n') break;
    len++;
  }
  line[len] = '\0';
  close(fds[0]); /* the emulator writes nothing more to stdout */
  if (strncmp(line, "listening on ", 13) != 0) {
    snprintf(why, n, "the emulator did not start (first line: '%s')", line);
    return -1;
  }
  snprintf(emu_url, sizeof emu_url, "%s", line + 13);
  return 0;
}

static int stop_emulator(void) {
  if (emu_pid <= 0) return -1;
  kill(emu_pid, SIGTERM);
  int status = 0;
  waitpid(emu_pid, &status, 0);
  emu_pid = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ------------------------------------------------------------ helpers */

static void sha256_hex(const char *s, char out[65]) {
  unsigned char md[32];
  unsigned int n = 0;
  EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL);
  for (unsigned i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (!f) return;
  fputs(text, f);
  fclose(f);
}

/* What one callback saw. */
typedef struct outcome {
  int calls;
  int ok;
  char code[64];
  char message[256];
  int status;
  char result[8192];
  gls_runtime *rt;         /* for the misuse checks inside a callback */
  int poll_inside;         /* gls_runtime_poll's status from inside */
  int destroy_inside;      /* call gls_runtime_destroy from inside */
} outcome;

static void record(void *ud, const char *res, const gls_runtime_error *e) {
  outcome *o = ud;
  o->calls++;
  o->ok = res != NULL;
  if (res) snprintf(o->result, sizeof o->result, "%s", res);
  if (e) {
    snprintf(o->code, sizeof o->code, "%s", e->code);
    snprintf(o->message, sizeof o->message, "%s", e->message);
    o->status = e->status;
  }
  if (o->rt) {
    o->poll_inside = gls_runtime_poll(o->rt, 0, NULL);
    if (o->destroy_inside) gls_runtime_destroy(o->rt);
  }
}

/* Polls rt until o has been called (or ms pass). */
static int wait_for(gls_runtime *rt, const outcome *o, long ms) {
  long deadline = host_now_ms() + ms;
  while (o->calls == 0 && host_now_ms() < deadline) gls_runtime_poll(rt, 20, NULL);
  return o->calls;
}

/* Log records collected by a log function. */
typedef struct logbook {
  char text[65536];
  size_t len;
  int records;
} logbook;

static void collect(void *ud, const char *rec) {
  logbook *b = ud;
  b->records++;
  size_t n = strlen(rec);
  if (b->len + n + 2 < sizeof b->text) {
    memcpy(b->text + b->len, rec, n);
    b->len += n;
    b->text[b->len++] = '\n';
    b->text[b->len] = '\0';
  }
}

static gls_runtime *new_runtime(const char *policy, char *err, size_t n) {
  char options[1024];
  snprintf(options, sizeof options, KEY_OPTIONS_FMT, emu_url);
  return gls_runtime_new(policy, options, err, n);
}

static char *start_json(char *buf, size_t n, const char *offer, const char *user) {
  char esc[512];
  host_json_escape(esc, sizeof esc, offer);
  snprintf(buf, n, "{\"SignalRequest\": \"%s\", \"UserId\": \"%s\"}", esc, user);
  return buf;
}

/* ------------------------------------------------------------ tests */

static void test_bad_creation(void) {
  char err[512] = "";
  gls_runtime *rt = gls_runtime_new("no/such/policy.lua", "{}", err, sizeof err);
  ok(rt == NULL, "a policy path that cannot be read: no runtime");
  ok(strstr(err, "no/such/policy.lua") != NULL, "the error names the path (%s)", err);

  char dir[] = "/tmp/gls-embed-XXXXXX";
  if (!mkdtemp(dir)) {
    ok(0, "mkdtemp: %s", strerror(errno));
    return;
  }
  char path[256];
  snprintf(path, sizeof path, "%s/broken.lua", dir);
  write_text(path, "return {\n  on_start = function(ctx\n");
  err[0] = '\0';
  rt = gls_runtime_new(path, "{}", err, sizeof err);
  ok(rt == NULL && err[0] != '\0', "a policy with a syntax error: no runtime (%s)", err);
  gls_runtime_destroy(rt);

  err[0] = '\0';
  rt = gls_runtime_new(NULL, "{\"regoin\": \"us-west-2\"}", err, sizeof err);
  ok(rt == NULL && strstr(err, "regoin"), "an unknown option is named (%s)", err);
  err[0] = '\0';
  rt = gls_runtime_new(NULL, "{\"region\": 5}", err, sizeof err);
  ok(rt == NULL && strstr(err, "region") && strstr(err, "string"), "a wrong type is named (%s)", err);
  err[0] = '\0';
  rt = gls_runtime_new(NULL, "{region", err, sizeof err);
  ok(rt == NULL && strstr(err, "not JSON"), "options that are not JSON (%s)", err);
  rt = gls_runtime_new(NULL, "[]", NULL, 0);
  ok(rt == NULL, "options that are not an object, with no error buffer");
  remove(path);
  rmdir(dir);
}

static void test_host_example(void) {
  char *text = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&text, &len);
  int code = host_run(emu_url, NULL, out);
  fclose(out);
  ok(code == 0, "examples/host.c's story ends with status 0");
  char want[128], sha[65];
  sha256_hex(HOST_OFFER1, sha);
  snprintf(want, sizeof want, "answer 1 names offer sha256 %s\n", sha);
  ok(strstr(text, want) != NULL, "the first answer answers the first offer");
  sha256_hex(HOST_OFFER2, sha);
  snprintf(want, sizeof want, "answer 2 names offer sha256 %s\n", sha);
  ok(strstr(text, want) != NULL, "the answer after the drop answers the new offer");
  ok(strstr(text, "the token rotated: yes\n") != NULL, "the token rotated");
  ok(strstr(text, "the old token is refused (NotFound)\n") != NULL, "the old token is dead");
  ok(strstr(text, "left; session terminated\n") != NULL, "the player left");
  ok(strstr(text, "\"calls\"") != NULL, "the runtime's figures come as JSON");
  if (code != 0) printf("# host output:\n# %s\n", text);
  free(text);
}

static void test_requests_and_log(void) {
  char err[512] = "", buf[1024];
  gls_runtime *rt = new_runtime(NULL, err, sizeof err);
  if (!ok(rt != NULL, "a runtime with the default policy (%s)", err)) return;
  logbook *book = calloc(1, sizeof *book);
  ok(gls_runtime_set_log(rt, collect, book) == GLS_OK, "set_log");
  ok(gls_runtime_fd(rt) >= 0, "a descriptor to watch");

  static const char OFFER[] = "v=0\r\ns=test_requests_and_log\r\n";
  outcome started = {0}, answer = {0}, reconnected = {0}, ended = {0};
  ok(gls_runtime_start(rt, start_json(buf, sizeof buf, OFFER, "p-1"),
                       "{\"id\": \"p-1\", \"device\": \"d-1\"}", record, &started) == GLS_OK,
     "start accepted");
  ok(gls_runtime_pending(rt) == 1, "one request pending");
  ok(started.calls == 0, "no callback inside the submitting call");
  ok(wait_for(rt, &started, 20000) == 1 && started.ok, "start's callback ran once, with a result");
  ok(gls_runtime_pending(rt) == 0, "nothing pending after delivery");
  char token[128] = "", arn[512] = "";
  host_json_str(started.result, "Token", token, sizeof token);
  host_json_str(started.result, "SessionArn", arn, sizeof arn);
  ok(strlen(token) == 64 && strspn(token, "0123456789abcdef") == 64, "the token is 64 hex digits");
  ok(strncmp(arn, "arn:aws:gameliftstreams:us-west-2:", 34) == 0, "the session's ARN");

  ok(gls_runtime_answer(rt, token, 15000, record, &answer) == GLS_OK, "answer accepted");
  ok(wait_for(rt, &answer, 20000) == 1 && answer.ok, "the answer came (%s %s)", answer.code,
     answer.message);
  char got[65], sha[65];
  host_answered(answer.result, got);
  sha256_hex(OFFER, sha);
  is_str(got, sha, "the answer answers this client's offer");

  /* a reconnect while the session is not disconnected is still a reconnect
   * for the emulator (ACTIVE with an answer outstanding) */
  ok(host_control(emu_url, arn, "connect") == 0 && host_control(emu_url, arn, "disconnect") == 0,
     "the client attaches and drops (emulator control API)");
  static const char OFFER2[] = "v=0\r\ns=test_requests_and_log, again\r\n";
  ok(gls_runtime_reconnect(rt, token, OFFER2, "{\"id\": \"p-1\", \"device\": \"d-1\"}", record,
                           &reconnected) == GLS_OK,
     "reconnect accepted");
  ok(wait_for(rt, &reconnected, 20000) == 1 && reconnected.ok, "reconnected (%s %s)",
     reconnected.code, reconnected.message);
  host_answered(reconnected.result, got);
  sha256_hex(OFFER2, sha);
  is_str(got, sha, "the new answer answers the new offer");
  char token2[128] = "";
  host_json_str(reconnected.result, "Token", token2, sizeof token2);
  ok(strlen(token2) == 64 && strcmp(token, token2) != 0, "a new token");

  outcome stale = {0};
  ok(gls_runtime_terminate(rt, token, NULL, record, &stale) == GLS_OK, "terminate (old token) accepted");
  ok(wait_for(rt, &stale, 20000) == 1 && !stale.ok && strcmp(stale.code, "NotFound") == 0 &&
         stale.status == 404,
     "the old token: NotFound, 404 (%s)", stale.code);
  outcome other = {0};
  ok(gls_runtime_terminate(rt, token2, "{\"id\": \"p-2\"}", record, &other) == GLS_OK &&
         wait_for(rt, &other, 20000) && !other.ok && strcmp(other.code, "Forbidden") == 0 &&
         other.status == 403,
     "another client with the token may not end the session (%s)", other.code);
  ok(gls_runtime_terminate(rt, token2, "{\"id\": \"p-1\"}", record, &ended) == GLS_OK,
     "terminate accepted");
  ok(wait_for(rt, &ended, 20000) == 1 && ended.ok && strcmp(ended.result, "{}") == 0,
     "terminated: {} (%s %s)", ended.code, ended.message);

  char *stats = gls_runtime_stats(rt);
  ok(stats && strstr(stats, "StartStreamSession"), "figures count the calls made");
  gls_free(stats);

  ok(book->records > 0, "the log function got records (%d)", book->records);
  ok(!strstr(book->text, token) && !strstr(book->text, token2), "no token in the log");
  ok(!strstr(book->text, "test_requests_and_log"), "no offer in the log");
  ok(!strstr(book->text, "x-gls-offer-sha256"), "no answer in the log");
  gls_runtime_destroy(rt);
  free(book);
}

static void test_misuse(void) {
  char err[512] = "", buf[512];
  gls_runtime *rt = new_runtime(NULL, err, sizeof err);
  if (!ok(rt != NULL, "a runtime (%s)", err)) return;
  outcome o = {0};
  ok(gls_runtime_start(NULL, "{}", NULL, record, &o) == GLS_E_INVALID_ARGUMENT, "NULL runtime");
  ok(gls_runtime_start(rt, "{\"SignalRequest\": \"x\"}", NULL, NULL, NULL) == GLS_E_INVALID_ARGUMENT,
     "NULL callback");
  ok(gls_runtime_start(rt, "[1, 2]", NULL, record, &o) == GLS_E_INVALID_ARGUMENT &&
         strstr(gls_runtime_errmsg(rt), "request_json"),
     "request_json not an object (%s)", gls_runtime_errmsg(rt));
  ok(gls_runtime_start(rt, "{}", NULL, record, &o) == GLS_E_INVALID_ARGUMENT &&
         strstr(gls_runtime_errmsg(rt), "SignalRequest"),
     "no SignalRequest: named (%s)", gls_runtime_errmsg(rt));
  ok(gls_runtime_start(rt, "{\"SignalRequest\": \"x\"}", "{not json", record, &o) ==
         GLS_E_INVALID_ARGUMENT,
     "client_json not JSON");
  ok(gls_runtime_answer(rt, NULL, 0, record, &o) == GLS_E_INVALID_ARGUMENT, "NULL token");
  ok(gls_runtime_answer(rt, "ab", -1, record, &o) == GLS_E_INVALID_ARGUMENT, "negative wait");
  ok(gls_runtime_reconnect(rt, "ab", NULL, NULL, record, &o) == GLS_E_INVALID_ARGUMENT, "NULL offer");
  ok(o.calls == 0 && gls_runtime_pending(rt) == 0, "refused requests never call back");

  /* an unknown token: NotFound through the callback */
  ok(gls_runtime_answer(rt, "0123", 0, record, &o) == GLS_OK, "answer for an unknown token accepted");
  o.rt = rt;
  ok(wait_for(rt, &o, 10000) == 1 && strcmp(o.code, "NotFound") == 0 && o.status == 404,
     "unknown token: NotFound, 404 (%s)", o.code);
  ok(o.poll_inside == GLS_E_BUSY, "gls_runtime_poll from inside a callback: busy");

  /* a callback may submit more work */
  static const char OFFER[] = "v=0\r\ns=test_misuse\r\n";
  outcome s = {0};
  ok(gls_runtime_start(rt, start_json(buf, sizeof buf, OFFER, "p-m"), NULL, record, &s) == GLS_OK,
     "start");
  ok(wait_for(rt, &s, 20000) == 1 && s.ok, "started");
  char token[128] = "";
  host_json_str(s.result, "Token", token, sizeof token);
  outcome t = {0};
  gls_runtime_terminate(rt, token, NULL, record, &t);
  wait_for(rt, &t, 20000);
  gls_runtime_destroy(rt);
  gls_runtime_destroy(NULL);
  ok(1, "destroy(NULL) is harmless");
}

static void test_reload(void) {
  char dir[] = "/tmp/gls-embed-XXXXXX";
  if (!mkdtemp(dir)) {
    ok(0, "mkdtemp: %s", strerror(errno));
    return;
  }
  char open_path[256], shut_path[256], broken[256], buf[512], err[512] = "";
  snprintf(open_path, sizeof open_path, "%s/open.lua", dir);
  snprintf(shut_path, sizeof shut_path, "%s/shut.lua", dir);
  snprintf(broken, sizeof broken, "%s/broken.lua", dir);
  write_text(open_path, "return {}\n");
  write_text(shut_path, "return {\n"
                        "  authenticate = function(request) return false, 'closed for maintenance' end,\n"
                        "}\n");
  write_text(broken, "return { on_start = function( }\n");
  gls_runtime *rt = new_runtime(open_path, err, sizeof err);
  if (!ok(rt != NULL, "a runtime with a policy file (%s)", err)) return;

  static const char *OFFERS[] = {"v=0\r\ns=reload 1\r\n", "v=0\r\ns=reload 2\r\n",
                                 "v=0\r\ns=reload 3\r\n", "v=0\r\ns=reload 4\r\n"};
  char tokens[4][128] = {{0}};
  outcome o[4];
  memset(o, 0, sizeof o);

  ok(gls_runtime_start(rt, start_json(buf, sizeof buf, OFFERS[0], "p-r"), NULL, record, &o[0]) == GLS_OK &&
         wait_for(rt, &o[0], 20000) && o[0].ok,
     "the open policy lets a player start");
  host_json_str(o[0].result, "Token", tokens[0], sizeof tokens[0]);

  ok(gls_runtime_reload(rt, broken) == GLS_E_CONFIG, "a broken policy does not load");
  ok(strlen(gls_runtime_errmsg(rt)) > 0, "and says why (%s)", gls_runtime_errmsg(rt));
  ok(gls_runtime_start(rt, start_json(buf, sizeof buf, OFFERS[1], "p-r"), NULL, record, &o[1]) == GLS_OK &&
         wait_for(rt, &o[1], 20000) && o[1].ok,
     "the old policy stays");
  host_json_str(o[1].result, "Token", tokens[1], sizeof tokens[1]);

  ok(gls_runtime_reload(rt, shut_path) == GLS_OK, "reload with a new policy file (%s)",
     gls_runtime_errmsg(rt));
  ok(gls_runtime_start(rt, start_json(buf, sizeof buf, OFFERS[2], "p-r"), NULL, record, &o[2]) == GLS_OK &&
         wait_for(rt, &o[2], 20000) && !o[2].ok,
     "the new policy refuses");
  ok(strcmp(o[2].code, "Forbidden") == 0 && o[2].status == 403 &&
         strstr(o[2].message, "closed for maintenance"),
     "Forbidden, 403, with the policy's reason (%s %d %s)", o[2].code, o[2].status, o[2].message);

  /* NULL: the same file again, as it is now */
  write_text(shut_path, "return {}\n");
  ok(gls_runtime_reload(rt, NULL) == GLS_OK, "reload(NULL) reads the same file again");
  ok(gls_runtime_start(rt, start_json(buf, sizeof buf, OFFERS[3], "p-r"), NULL, record, &o[3]) == GLS_OK &&
         wait_for(rt, &o[3], 20000) && o[3].ok,
     "its new content applies");
  host_json_str(o[3].result, "Token", tokens[3], sizeof tokens[3]);

  /* sessions survive reloads: their tokens still work */
  outcome t = {0};
  ok(gls_runtime_answer(rt, tokens[0], 15000, record, &t) == GLS_OK && wait_for(rt, &t, 20000) && t.ok,
     "a session started before the reloads is still known (%s)", t.code);
  for (int i = 0; i < 4; i++) {
    if (!tokens[i][0]) continue;
    outcome x = {0};
    gls_runtime_terminate(rt, tokens[i], NULL, record, &x);
    wait_for(rt, &x, 20000);
  }
  gls_runtime_destroy(rt);
  remove(open_path);
  remove(shut_path);
  remove(broken);
  rmdir(dir);
}

static void test_destroy_pending(void) {
  char err[512] = "", buf[512];
  gls_runtime *rt = new_runtime(NULL, err, sizeof err);
  if (!ok(rt != NULL, "a runtime (%s)", err)) return;
  outcome a = {0}, b = {0}, c = {0};
  ok(gls_runtime_start(rt, start_json(buf, sizeof buf, "v=0\r\ns=destroy a\r\n", "p-a"), NULL, record, &a) ==
         GLS_OK,
     "start a");
  ok(gls_runtime_start(rt, start_json(buf, sizeof buf, "v=0\r\ns=destroy b\r\n", "p-b"), NULL, record, &b) ==
         GLS_OK,
     "start b");
  ok(gls_runtime_answer(rt, "feed", 30000, record, &c) == GLS_OK, "answer c");
  gls_runtime_poll(rt, 0, NULL); /* the calls go out */
  gls_runtime_destroy(rt);
  ok(a.calls == 1 && b.calls == 1 && c.calls == 1, "each callback ran exactly once (%d %d %d)", a.calls,
     b.calls, c.calls);
  ok(strcmp(a.code, "Cancelled") == 0 && a.status == 503 && !a.ok, "a pending start: Cancelled (%s)",
     a.code);
  ok(strcmp(b.code, "Cancelled") == 0, "the other: Cancelled (%s)", b.code);

  /* destroy from inside a callback: the rest still get theirs, once */
  rt = new_runtime(NULL, err, sizeof err);
  if (!ok(rt != NULL, "a runtime (%s)", err)) return;
  outcome d = {0}, e = {0}, f = {0};
  d.rt = rt;
  d.destroy_inside = 1;
  ok(gls_runtime_answer(rt, "dead", 0, record, &d) == GLS_OK, "answer d (will destroy)");
  ok(gls_runtime_answer(rt, "beef", 0, record, &e) == GLS_OK, "answer e");
  ok(gls_runtime_start(rt, start_json(buf, sizeof buf, "v=0\r\ns=destroy f\r\n", "p-f"), NULL, record, &f) ==
         GLS_OK,
     "start f");
  long deadline = host_now_ms() + 10000;
  while (d.calls == 0 && host_now_ms() < deadline) gls_runtime_poll(rt, 20, NULL);
  /* rt is gone now */
  ok(d.calls == 1 && e.calls == 1 && f.calls == 1, "every callback ran once (%d %d %d)", d.calls, e.calls,
     f.calls);
  ok(strcmp(f.code, "Cancelled") == 0, "the start still in flight: Cancelled (%s)", f.code);
}

int main(void) {
  if (access(GLSRUN, X_OK) != 0) {
    skip("build/glsrun is missing: run `make` first", "the embedding API against the emulator");
    return done_testing();
  }
  signal(SIGPIPE, SIG_IGN);
  gls_global_init();
  char why[512] = "";
  int started = start_emulator(why, sizeof why);
  if (!ok(started == 0, "build/glsrun emulator started (%s)", started == 0 ? emu_url : why))
    return done_testing();
  test_bad_creation();
  test_host_example();
  test_requests_and_log();
  test_misuse();
  test_reload();
  test_destroy_pending();
  ok(stop_emulator() == 0, "the emulator stopped cleanly");
  gls_global_cleanup();
  return done_testing();
}
