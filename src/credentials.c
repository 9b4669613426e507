/* credentials.c - the credential sources that need work: credential_process,
 * STS AssumeRole / AssumeRoleWithWebIdentity, the container endpoint and EC2
 * IMDSv2. See credentials.h for the contract; behaviour follows botocore's
 * ProcessProvider, AssumeRole*CredentialFetcher, ContainerMetadataFetcher
 * and InstanceMetadataFetcher unless a comment says otherwise.
 *
 * Secrets (secret keys, session tokens, web identity and IMDS tokens, reply
 * bodies that hold them) live only in buffers that are wiped before they are
 * freed; no error message quotes a reply body or a secret. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include <expat.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include "credentials.h"

#define PROCESS_OUTPUT_MAX (64 * 1024)
#define HTTP_BODY_MAX (1024 * 1024)
#define TOKEN_FILE_MAX (1024 * 1024)
#define CONTAINER_ATTEMPTS 3      /* botocore ContainerMetadataFetcher.RETRY_ATTEMPTS */
#define CONTAINER_SLEEP_MS 1000   /* ... SLEEP_TIME */
#define IMDS_TOKEN_TTL "21600"
#define STS_API_VERSION "2011-06-15"
#define SHOWN_MAX 200             /* longest command/URL quoted in a message */

/* ------------------------------------------------------------------ creds */

static void wipe_str(char **p) {
  if (*p) {
    OPENSSL_cleanse(*p, strlen(*p));
    free(*p);
    *p = NULL;
  }
}

void gls_creds_clear(gls_creds *c) {
  if (!c) return;
  wipe_str(&c->access_key_id);
  wipe_str(&c->secret_access_key);
  wipe_str(&c->session_token);
  wipe_str(&c->account_id);
  c->expiration = 0;
}

static int dup_opt(char **dst, const char *src) {
  *dst = NULL;
  if (!src) return 0;
  *dst = strdup(src);
  return *dst ? 0 : -1;
}

int gls_creds_copy(gls_creds *dst, const gls_creds *src) {
  gls_creds t = {0};
  if (dup_opt(&t.access_key_id, src->access_key_id) ||
      dup_opt(&t.secret_access_key, src->secret_access_key) ||
      dup_opt(&t.session_token, src->session_token) || dup_opt(&t.account_id, src->account_id)) {
    gls_creds_clear(&t);
    return -1;
  }
  t.expiration = src->expiration;
  *dst = t;
  return 0;
}

/* ---------------------------------------------------------------- helpers */

/* Appends to a buffer that may hold secrets: grows by copying, so no
 * unwiped copy is left behind in freed memory (realloc would). */
static int secure_add(gls_buf *b, const void *p, size_t n) {
  if (n > SIZE_MAX - b->len - 1) return -1;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1) cap *= 2;
    char *d = malloc(cap);
    if (!d) return -1;
    if (b->len) memcpy(d, b->data, b->len);
    if (b->data) OPENSSL_cleanse(b->data, b->cap);
    free(b->data);
    b->data = d;
    b->cap = cap;
  }
  if (n) memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
  return 0;
}

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
  }
}

/* A string shown in a message, quoted and bounded. */
static void add_shown(gls_buf *err, const char *s) {
  size_t n = strlen(s);
  if (n > SHOWN_MAX) gls_buf_printf(err, "\"%.*s...\"", SHOWN_MAX, s);
  else gls_buf_printf(err, "\"%s\"", s);
}

static int set_error(gls_buf *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int set_error(gls_buf *err, const char *fmt, ...) {
  char tmp[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  return gls_buf_adds(err, tmp);
}

/* Whether s is an RFC 3339 timestamp; its epoch seconds into *out. */
static int parse_expiration(const char *s, int64_t *out) {
  double t;
  if (!s || gls_parse_iso8601(s, &t)) return -1;
  *out = (int64_t)t;
  return 0;
}

/* A bad Expiration in a message: shown only when it is short and made of
 * what timestamps are made of, so that a reply whose members are mixed up
 * (a token where the time should be) does not put a secret in the message. */
static void add_expiration(gls_buf *b, const char *exp) {
  size_t n = strlen(exp);
  if (n <= 40 && strspn(exp, "0123456789-:.+TZtz ") == n) gls_buf_printf(b, "\"%s\"", exp);
  else gls_buf_printf(b, "(%zu bytes, not shown)", n);
}

/* A JSON string member, or NULL. */
static const char *jstr(json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Wipes every string inside a parsed JSON value before it is freed: jansson
 * keeps its own copies of the secrets. */
static void json_wipe_decref(json_t *v) {
  if (!v) return;
  if (json_is_object(v)) {
    const char *k;
    json_t *m;
    json_object_foreach(v, k, m) json_wipe_decref(json_incref(m));
  } else if (json_is_array(v)) {
    size_t i;
    json_t *m;
    json_array_foreach(v, i, m) json_wipe_decref(json_incref(m));
  } else if (json_is_string(v)) {
    OPENSSL_cleanse((char *)json_string_value(v), json_string_length(v));
  }
  json_decref(v);
}

/* Fills out from a JSON credentials object: akid/secret/token/expiration
 * member names as the source spells them. Missing required members are an
 * error naming the first one. */
static gls_status creds_from_json(json_t *o, const char *token_key, int token_required,
                                  int expiration_required, gls_creds *out, const char **missing,
                                  const char **bad_expiration) {
  const char *akid = jstr(o, "AccessKeyId"), *secret = jstr(o, "SecretAccessKey");
  const char *token = jstr(o, token_key), *exp = jstr(o, "Expiration");
  const char *acct = jstr(o, "AccountId");
  *missing = !akid ? "AccessKeyId" : !secret ? "SecretAccessKey"
           : (!token && token_required) ? token_key
           : (!exp && expiration_required) ? "Expiration" : NULL;
  if (*missing) return GLS_E_BAD_RESPONSE;
  gls_creds t = {0};
  if (exp && parse_expiration(exp, &t.expiration)) {
    *bad_expiration = exp;
    return GLS_E_BAD_RESPONSE;
  }
  if (dup_opt(&t.access_key_id, akid) || dup_opt(&t.secret_access_key, secret) ||
      dup_opt(&t.session_token, token && *token ? token : NULL) ||
      dup_opt(&t.account_id, acct && *acct ? acct : NULL)) {
    gls_creds_clear(&t);
    return GLS_E_NOMEM;
  }
  *out = t;
  return GLS_OK;
}

/* A parsed reply (an object) of kind into out: the rules of each source
 * (see credentials.h), messages as gls_creds_parse_reply documents. */
static gls_status creds_reply(int kind, const char *what, json_t *root, gls_creds *out,
                              gls_buf *why) {
  if (kind == GLS_CREDS_REPLY_PROCESS) {
    json_t *ver = json_object_get(root, "Version");
    if (!json_is_integer(ver) || json_integer_value(ver) != 1) {
      if (!ver) gls_buf_adds(why, "unsupported Version <Version key not provided>, supported versions: 1");
      else if (json_is_integer(ver))
        set_error(why, "unsupported Version %lld, supported versions: 1", (long long)json_integer_value(ver));
      else gls_buf_adds(why, "unsupported Version (not an integer), supported versions: 1");
      return GLS_E_BAD_RESPONSE;
    }
  } else if (kind == GLS_CREDS_REPLY_IMDS) {
    const char *code = jstr(root, "Code");
    if (code && strcmp(code, "Success")) {
      const char *msg = jstr(root, "Message");
      gls_buf_printf(why, "%.200s: ", what ? what : "role");
      /* A failure document holds no credentials; one that does has its
       * members mixed up, and its Code or Message may be a secret: neither
       * is shown then (fuzz/regressions/creds/token-in-imds-code). */
      if (jstr(root, "SecretAccessKey") || jstr(root, "Token") || jstr(root, "SessionToken")) {
        gls_buf_adds(why, "Code is not \"Success\" (the reply also holds credentials: not shown)");
      } else {
        gls_buf_printf(why, "%.100s", code);
        if (msg) gls_buf_printf(why, ": %.300s", msg);
      }
      return GLS_E_SERVICE;
    }
  }
  int proc = kind == GLS_CREDS_REPLY_PROCESS;
  const char *missing = NULL, *bad_exp = NULL;
  gls_status st = creds_from_json(root, proc ? "SessionToken" : "Token", !proc, !proc, out, &missing,
                                  &bad_exp);
  if (st == GLS_OK) return st;
  if (missing && proc) set_error(why, "missing required key in output: %s", missing);
  else if (missing && kind == GLS_CREDS_REPLY_IMDS)
    gls_buf_printf(why, "the credentials of %.200s have no %s", what ? what : "the role", missing);
  else if (missing) gls_buf_printf(why, "the reply has no %s", missing);
  else if (bad_exp) {
    gls_buf_adds(why, "Expiration ");
    /* Even a timestamp-like Expiration is not shown when a secret of the
     * same reply stands inside it (fuzz/regressions/creds/token-is-expiration). */
    static const char *const secret_keys[] = {"Token", "SessionToken", "SecretAccessKey"};
    int holds_secret = 0;
    for (size_t i = 0; i < sizeof secret_keys / sizeof *secret_keys; i++) {
      const char *sv = jstr(root, secret_keys[i]);
      if (sv && *sv && strstr(bad_exp, sv)) holds_secret = 1;
    }
    if (holds_secret) gls_buf_printf(why, "(%zu bytes, not shown)", strlen(bad_exp));
    else add_expiration(why, bad_exp);
    gls_buf_adds(why, " is not an RFC 3339 timestamp");
  }
  else gls_buf_adds(why, "out of memory");
  return st;
}

gls_status gls_creds_parse_reply(int kind, const char *what, const char *text, size_t len,
                                 gls_creds *out, gls_buf *why) {
  memset(out, 0, sizeof *out);
  json_error_t je;
  json_t *root = json_loadb(text ? text : "", text ? len : 0, 0, &je);
  gls_status st;
  if (!json_is_object(root)) {
    gls_buf_adds(why, kind == GLS_CREDS_REPLY_PROCESS
                          ? (root ? "output is not a JSON object" : "output is not JSON")
                      : kind == GLS_CREDS_REPLY_IMDS ? "bad JSON"
                                                     : "the reply is not a JSON object");
    st = GLS_E_BAD_RESPONSE;
  } else {
    st = creds_reply(kind, what, root, out, why);
  }
  json_wipe_decref(root);
  return st;
}

/* ------------------------------------------------------ credential_process */

static void process_fail_prefix(gls_buf *err, const char *command) {
  gls_buf_adds(err, "credential_process ");
  add_shown(err, command);
  gls_buf_adds(err, ": ");
}

gls_status gls_creds_process(const char *command, long timeout_ms, gls_creds *out, gls_buf *err) {
  if (!command || !*command || !out || !err) {
    if (err) gls_buf_adds(err, "credential_process: no command");
    return GLS_E_INVALID_ARGUMENT;
  }
  memset(out, 0, sizeof *out);
  int fds[2];
  if (pipe(fds)) {
    process_fail_prefix(err, command);
    set_error(err, "cannot make a pipe: %s", strerror(errno));
    return GLS_E_NO_CREDENTIALS;
  }
  fcntl(fds[0], F_SETFD, FD_CLOEXEC);
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    close(fds[0]);
    close(fds[1]);
    process_fail_prefix(err, command);
    set_error(err, "cannot fork: %s", strerror(e));
    return GLS_E_NO_CREDENTIALS;
  }
  if (pid == 0) {
    /* Child: async-signal-safe calls only. Its own process group, so a
     * timeout kills whatever the shell started too. */
    setpgid(0, 0);
    /* The command starts as programs expect: no signals blocked, SIGPIPE
     * not ignored (hosts often ignore it for their sockets). */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    if (fds[1] != STDOUT_FILENO) {
      dup2(fds[1], STDOUT_FILENO);
      close(fds[1]);
    }
    execl("/bin/sh", "sh", "-c", command, (char *)NULL);
    _exit(127);
  }
  setpgid(pid, pid); /* also here: no race with the child's own call */
  close(fds[1]);

  gls_buf outb = {0};
  gls_status st = GLS_OK;
  int64_t deadline = timeout_ms > 0 ? mono_ms() + timeout_ms : 0;
  int timed_out = 0, too_big = 0, read_err = 0, status = 0, reaped = 0;
  char chunk[4096];
  for (;;) {
    int wait = -1;
    if (deadline) {
      int64_t left = deadline - mono_ms();
      if (left <= 0) { timed_out = 1; break; }
      wait = (int)left;
    }
    struct pollfd pf = {fds[0], POLLIN, 0};
    int pr = poll(&pf, 1, wait);
    if (pr < 0) {
      if (errno == EINTR) continue;
      read_err = errno;
      break;
    }
    if (pr == 0) continue; /* the deadline check above ends it */
    ssize_t n = read(fds[0], chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      read_err = errno;
      break;
    }
    if (n == 0) break;
    if (outb.len + (size_t)n > PROCESS_OUTPUT_MAX) { too_big = 1; break; }
    if (secure_add(&outb, chunk, (size_t)n)) { st = GLS_E_NOMEM; break; }
  }
  OPENSSL_cleanse(chunk, sizeof chunk);
  close(fds[0]);
  /* Output done: wait for the exit status within what is left of the time. */
  while (!timed_out && !too_big && !read_err && st == GLS_OK) {
    pid_t w = waitpid(pid, &status, deadline ? WNOHANG : 0);
    if (w == pid) { reaped = 1; break; }
    if (w < 0 && errno != EINTR) { read_err = errno; break; }
    if (w == 0) {
      if (mono_ms() >= deadline) { timed_out = 1; break; }
      sleep_ms(5);
    }
  }
  if (!reaped) {
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (st != GLS_OK) {
    gls_buf_wipe_free(&outb);
    process_fail_prefix(err, command);
    gls_buf_adds(err, "out of memory");
    return st;
  }
  if (timed_out) {
    gls_buf_wipe_free(&outb);
    process_fail_prefix(err, command);
    set_error(err, "timed out after %ld ms (killed)", timeout_ms);
    return GLS_E_TIMEOUT;
  }
  if (too_big || read_err) {
    gls_buf_wipe_free(&outb);
    process_fail_prefix(err, command);
    if (too_big) set_error(err, "wrote more than %d bytes (killed)", PROCESS_OUTPUT_MAX);
    else set_error(err, "cannot read its output: %s", strerror(read_err));
    return GLS_E_NO_CREDENTIALS;
  }
  if (WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0)) {
    gls_buf_wipe_free(&outb);
    process_fail_prefix(err, command);
    if (WIFSIGNALED(status)) set_error(err, "killed by signal %d", WTERMSIG(status));
    else if (WEXITSTATUS(status) == 127) set_error(err, "exited with status 127 (command not found?)");
    else set_error(err, "exited with status %d", WEXITSTATUS(status));
    return GLS_E_NO_CREDENTIALS;
  }
  gls_buf why = {0};
  st = gls_creds_parse_reply(GLS_CREDS_REPLY_PROCESS, NULL, outb.data, outb.len, out, &why);
  gls_buf_wipe_free(&outb);
  if (st != GLS_OK) {
    process_fail_prefix(err, command);
    gls_buf_add(err, why.data ? why.data : "?", why.data ? why.len : 1);
  }
  gls_buf_free(&why);
  return st;
}

/* ---------------------------------------------------------------- HTTP */

typedef struct http_call {
  const char *src;          /* the source's name for messages, e.g. "IMDS" */
  const char *doing;        /* "fetching the token", or NULL */
  const char *method;
  const char *url;
  struct curl_slist *headers;
  const char *body;
  size_t body_len;
  const gls_http_opts *opts;
  /* results */
  long status;
  gls_buf resp;             /* wiped: may hold credentials */
  int too_large;
} http_call;

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  http_call *h = ud;
  size_t k = size * n;
  if (h->resp.len + k > HTTP_BODY_MAX) {
    h->too_large = 1;
    return 0;
  }
  return secure_add(&h->resp, p, k) ? 0 : k;
}

static void http_prefix(gls_buf *err, const http_call *h) { gls_buf_printf(err, "%s: ", h->src); }

static void http_doing(gls_buf *err, const http_call *h) {
  if (h->doing) gls_buf_printf(err, " %s", h->doing);
}

/* Performs one request with a fresh easy handle. GLS_OK means a reply came
 * (any status, in h->status); else err says why nothing usable came. */
static gls_status http_perform(http_call *h, gls_buf *err) {
  const gls_http_opts *o = h->opts;
  gls_buf_wipe_free(&h->resp);
  h->status = 0;
  h->too_large = 0;
  CURL *e = curl_easy_init();
  if (!e) {
    http_prefix(err, h);
    gls_buf_adds(err, "cannot make a libcurl handle");
    return GLS_E_NOMEM;
  }
  char cerr[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(e, CURLOPT_URL, h->url);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, cerr);
  curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)HTTP_BODY_MAX);
  if (o->connect_timeout_ms > 0) curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
  if (o->timeout_ms > 0) curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, o->timeout_ms);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, o->verify_ssl ? 1L : 0L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, o->verify_ssl ? 2L : 0L);
  if (o->ca_bundle) curl_easy_setopt(e, CURLOPT_CAINFO, o->ca_bundle);
  if (o->proxy_bypass) curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
  if (!strcmp(h->method, "GET")) {
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, h->body ? h->body : "");
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)h->body_len);
    if (strcmp(h->method, "POST")) curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, h->method);
  }
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, h->headers);
  curl_easy_setopt(e, CURLOPT_USERAGENT, "gls/" GLS_VERSION);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, h);
  CURLcode rc = curl_easy_perform(e);
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &h->status);
  curl_off_t connect_us = 0;
  curl_easy_getinfo(e, CURLINFO_CONNECT_TIME_T, &connect_us);
  curl_easy_cleanup(e);
  if (rc == CURLE_OK) return GLS_OK;
  gls_buf_wipe_free(&h->resp);
  http_prefix(err, h);
  if (h->too_large || rc == CURLE_FILESIZE_EXCEEDED) {
    gls_buf_printf(err, "reply larger than %d bytes", HTTP_BODY_MAX);
    http_doing(err, h);
    return GLS_E_RESPONSE_TOO_LARGE;
  }
  if (rc == CURLE_OPERATION_TIMEDOUT) {
    long ms = connect_us == 0 && o->connect_timeout_ms > 0 &&
                      (o->timeout_ms <= 0 || o->connect_timeout_ms < o->timeout_ms)
                  ? o->connect_timeout_ms : o->timeout_ms;
    gls_buf_printf(err, "timed out after %ld ms", ms);
    http_doing(err, h);
    return GLS_E_TIMEOUT;
  }
  gls_buf_adds(err, connect_us == 0 ? "cannot connect" : "transfer failed");
  http_doing(err, h);
  gls_buf_printf(err, ": %s", cerr[0] ? cerr : curl_easy_strerror(rc));
  switch (rc) {
  case CURLE_SSL_CONNECT_ERROR: case CURLE_PEER_FAILED_VERIFICATION: case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER: case CURLE_SSL_CACERT_BADFILE: case CURLE_SSL_ISSUER_ERROR:
    return GLS_E_TLS;
  case CURLE_OUT_OF_MEMORY:
    return GLS_E_NOMEM;
  default:
    return GLS_E_TRANSPORT;
  }
}

static void http_call_free(http_call *h) {
  curl_slist_free_all(h->headers);
  h->headers = NULL;
  gls_buf_wipe_free(&h->resp);
}

/* Appends a header line, wiping the temporary (values may be secret).
 * curl_slist keeps its own copy; those lines are wiped by slist_wipe_free. */
static int add_header(struct curl_slist **l, const char *name, const char *value) {
  gls_buf line = {0};
  if (secure_add(&line, name, strlen(name)) || secure_add(&line, ": ", 2) ||
      secure_add(&line, value, strlen(value))) {
    gls_buf_wipe_free(&line);
    return -1;
  }
  struct curl_slist *t = curl_slist_append(*l, line.data);
  gls_buf_wipe_free(&line);
  if (!t) return -1;
  *l = t;
  return 0;
}

/* A literal line: "Name:" removes a header curl would add by itself. */
static int add_raw(struct curl_slist **l, const char *line) {
  struct curl_slist *t = curl_slist_append(*l, line);
  if (!t) return -1;
  *l = t;
  return 0;
}

static void slist_wipe_free(struct curl_slist **l) {
  for (struct curl_slist *p = *l; p; p = p->next)
    if (p->data) OPENSSL_cleanse(p->data, strlen(p->data));
  curl_slist_free_all(*l);
  *l = NULL;
}

/* ------------------------------------------------------------------ STS XML */

/* The few leaves of the STS replies gls needs, matched by the end of their
 * element path (namespace prefixes dropped). */
enum { X_AKID, X_SECRET, X_TOKEN, X_EXPIRATION, X_ARN, X_ERR_TYPE, X_ERR_CODE, X_ERR_MESSAGE,
       X_REQUEST_ID, X_N };
static const char *const x_paths[X_N] = {
  "Result/Credentials/AccessKeyId", "Result/Credentials/SecretAccessKey",
  "Result/Credentials/SessionToken", "Result/Credentials/Expiration",
  "Result/AssumedRoleUser/Arn", "ErrorResponse/Error/Type", "ErrorResponse/Error/Code",
  "ErrorResponse/Error/Message", "RequestId",
};

typedef struct sts_xml {
  XML_Parser parser;
  gls_buf path;             /* "/AssumeRoleResponse/AssumeRoleResult/..." */
  gls_buf text;             /* character data of the current element (wiped) */
  char *v[X_N];             /* values found (wiped) */
  int root_seen;
  int refused;              /* a DTD/entity declaration: not an STS reply */
  int nomem;
} sts_xml;

/* expat's own memory, wiped when freed: it buffers the reply's secrets. A
 * size header makes free/realloc know what to wipe. */
typedef union { size_t n; max_align_t a; } mem_hdr;
static void *xm_malloc(size_t n) {
  if (n > SIZE_MAX - sizeof(mem_hdr)) return NULL;
  mem_hdr *h = malloc(sizeof *h + n);
  if (!h) return NULL;
  h->n = n;
  return h + 1;
}
static void xm_free(void *p) {
  if (!p) return;
  mem_hdr *h = (mem_hdr *)p - 1;
  OPENSSL_cleanse(p, h->n);
  free(h);
}
static void *xm_realloc(void *p, size_t n) {
  if (!p) return xm_malloc(n);
  void *q = xm_malloc(n);
  if (!q) return NULL;
  size_t old = ((mem_hdr *)p - 1)->n;
  memcpy(q, p, old < n ? old : n);
  xm_free(p);
  return q;
}
static const XML_Memory_Handling_Suite xm_suite = {xm_malloc, xm_realloc, xm_free};

static const char *local_name(const char *name) {
  const char *c = strrchr(name, ':');
  return c ? c + 1 : name;
}

static void XMLCALL x_start(void *ud, const XML_Char *name, const XML_Char **attrs) {
  (void)attrs;
  sts_xml *x = ud;
  x->root_seen = 1;
  if (gls_buf_addc(&x->path, '/') || gls_buf_adds(&x->path, local_name(name))) {
    x->nomem = 1;
    XML_StopParser(x->parser, XML_FALSE);
    return;
  }
  if (x->text.len) OPENSSL_cleanse(x->text.data, x->text.len);
  gls_buf_reset(&x->text);
}

static void XMLCALL x_end(void *ud, const XML_Char *name) {
  (void)name;
  sts_xml *x = ud;
  const char *path = x->path.data ? x->path.data : "";
  size_t plen = x->path.len;
  for (int i = 0; i < X_N; i++) {
    size_t k = strlen(x_paths[i]);
    /* "Result/..." also matches "AssumeRoleResult/...": any name ending so. */
    if (plen > k && (path[plen - k - 1] == '/' || !strncmp(x_paths[i], "Result/", 7)) &&
        !strcmp(path + plen - k, x_paths[i]) && !x->v[i]) {
      x->v[i] = strdup(x->text.data ? x->text.data : "");
      if (!x->v[i]) {
        x->nomem = 1;
        XML_StopParser(x->parser, XML_FALSE);
      }
      break;
    }
  }
  if (x->text.len) OPENSSL_cleanse(x->text.data, x->text.len);
  gls_buf_reset(&x->text);
  char *slash = x->path.data ? strrchr(x->path.data, '/') : NULL;
  if (slash) {
    x->path.len = (size_t)(slash - x->path.data);
    *slash = '\0';
  }
}

static void XMLCALL x_text(void *ud, const XML_Char *s, int n) {
  sts_xml *x = ud;
  if (n > 0 && secure_add(&x->text, s, (size_t)n)) {
    x->nomem = 1;
    XML_StopParser(x->parser, XML_FALSE);
  }
}

static void XMLCALL x_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                              const XML_Char *pubid, int has_internal) {
  (void)name; (void)sysid; (void)pubid; (void)has_internal;
  sts_xml *x = ud;
  x->refused = 1;
  XML_StopParser(x->parser, XML_FALSE);
}

static void sts_xml_free(sts_xml *x) {
  for (int i = 0; i < X_N; i++) wipe_str(&x->v[i]);
  gls_buf_free(&x->path);
  gls_buf_wipe_free(&x->text);
}

/* Parses body; 0 ok, else a message (without any of the body) in why. */
static int sts_xml_parse(sts_xml *x, const char *body, size_t len, char *why, size_t whylen) {
  memset(x, 0, sizeof *x);
  x->parser = XML_ParserCreate_MM(NULL, &xm_suite, NULL);
  if (!x->parser) {
    snprintf(why, whylen, "out of memory");
    return -1;
  }
  XML_SetUserData(x->parser, x);
  XML_SetElementHandler(x->parser, x_start, x_end);
  XML_SetCharacterDataHandler(x->parser, x_text);
  XML_SetStartDoctypeDeclHandler(x->parser, x_doctype);
  int rc = 0;
  if (len > INT_MAX || XML_Parse(x->parser, body, (int)len, XML_TRUE) != XML_STATUS_OK || !x->root_seen) {
    if (x->nomem) snprintf(why, whylen, "out of memory");
    else if (x->refused) snprintf(why, whylen, "the reply is not valid STS XML (it declares a DTD)");
    else if (!x->root_seen && XML_GetErrorCode(x->parser) == XML_ERROR_NONE)
      snprintf(why, whylen, "the reply is not valid XML (empty)");
    else
      snprintf(why, whylen, "the reply is not valid XML: %s at line %lu",
               XML_ErrorString(XML_GetErrorCode(x->parser)),
               (unsigned long)XML_GetCurrentLineNumber(x->parser));
    rc = -1;
  }
  XML_ParserFree(x->parser);
  x->parser = NULL;
  return rc;
}

/* The account in "arn:aws:sts::123456789012:assumed-role/r/s", as botocore's
 * _add_account_id_to_response (ArnParser) takes it; NULL if not an ARN. */
static char *arn_account(const char *arn) {
  if (!arn || strncmp(arn, "arn:", 4)) return NULL;
  const char *p = arn;
  for (int i = 0; i < 4; i++) {
    p = strchr(p, ':');
    if (!p) return NULL;
    p++;
  }
  const char *end = strchr(p, ':');
  if (!end || end == p) return NULL;
  return strndup(p, (size_t)(end - p));
}

/* Posts an STS query-API form and turns the reply into creds. what is e.g.
 * "AssumeRole for arn:aws:iam::1:role/x". */
static gls_status sts_call(const char *what, http_call *h, gls_creds *out, gls_buf *err) {
  gls_status st = http_perform(h, err);
  if (st != GLS_OK) return st;
  return gls_creds_parse_sts(what, h->status, h->resp.data, h->resp.len, out, err);
}

gls_status gls_creds_parse_sts(const char *what, long http_status, const char *body, size_t len,
                               gls_creds *out, gls_buf *err) {
  memset(out, 0, sizeof *out);
  gls_status st = GLS_OK;
  sts_xml x;
  char why[256];
  int bad = sts_xml_parse(&x, body ? body : "", body ? len : 0, why, sizeof why);
  if (http_status != 200) {
    if (!bad && x.v[X_ERR_CODE] && !x.v[X_SECRET] && !x.v[X_TOKEN]) {
      /* (an error reply that also holds credentials has them mixed up:
       * its Code and Message are not shown, as for IMDS) */
      gls_buf_printf(err, "%s failed: %s", what, x.v[X_ERR_CODE]);
      if (x.v[X_ERR_MESSAGE] && *x.v[X_ERR_MESSAGE]) gls_buf_printf(err, ": %s", x.v[X_ERR_MESSAGE]);
      gls_buf_printf(err, " (HTTP %ld", http_status);
      if (x.v[X_REQUEST_ID]) gls_buf_printf(err, ", request id %s", x.v[X_REQUEST_ID]);
      gls_buf_adds(err, ")");
    } else {
      gls_buf_printf(err, "%s failed: HTTP %ld", what, http_status);
    }
    sts_xml_free(&x);
    return GLS_E_SERVICE;
  }
  if (bad) {
    gls_buf_printf(err, "%s: %s", what, why);
    sts_xml_free(&x);
    return strcmp(why, "out of memory") ? GLS_E_BAD_RESPONSE : GLS_E_NOMEM;
  }
  const char *missing = !x.v[X_AKID] ? "AccessKeyId" : !x.v[X_SECRET] ? "SecretAccessKey"
                      : !x.v[X_TOKEN] ? "SessionToken" : !x.v[X_EXPIRATION] ? "Expiration" : NULL;
  gls_creds t = {0};
  if (missing) {
    gls_buf_printf(err, "%s: the reply has no Credentials/%s", what, missing);
    st = GLS_E_BAD_RESPONSE;
  } else if (parse_expiration(x.v[X_EXPIRATION], &t.expiration)) {
    gls_buf_printf(err, "%s: the reply's Expiration ", what);
    add_expiration(err, x.v[X_EXPIRATION]);
    gls_buf_adds(err, " is not an ISO 8601 timestamp");
    st = GLS_E_BAD_RESPONSE;
  } else {
    t.access_key_id = x.v[X_AKID];
    t.secret_access_key = x.v[X_SECRET];
    t.session_token = x.v[X_TOKEN];
    x.v[X_AKID] = x.v[X_SECRET] = x.v[X_TOKEN] = NULL;
    t.account_id = arn_account(x.v[X_ARN]);
    *out = t;
  }
  sts_xml_free(&x);
  return st;
}

/* Splits an endpoint URL into host[:port] (the Host header) and path. */
static gls_status url_parts(const char *url, char **host, char **path, char **scheme) {
  CURLU *u = curl_url();
  char *sch = NULL, *hst = NULL, *port = NULL, *pth = NULL;
  gls_status st = GLS_OK;
  *host = *path = NULL;
  if (scheme) *scheme = NULL;
  if (!u) return GLS_E_NOMEM;
  if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_SCHEME, &sch, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_HOST, &hst, 0) != CURLUE_OK ||
      (strcmp(sch, "http") && strcmp(sch, "https"))) {
    st = GLS_E_CONFIG;
    goto out;
  }
  curl_url_get(u, CURLUPART_PORT, &port, CURLU_NO_DEFAULT_PORT);
  curl_url_get(u, CURLUPART_PATH, &pth, 0);
  gls_buf b = {0};
  if (gls_buf_printf(&b, "%s%s%s", hst, port ? ":" : "", port ? port : "")) {
    gls_buf_free(&b);
    st = GLS_E_NOMEM;
    goto out;
  }
  *host = b.data;
  *path = strdup(pth && *pth ? pth : "/");
  if (scheme) *scheme = strdup(sch);
  if (!*path || (scheme && !*scheme)) st = GLS_E_NOMEM;
out:
  if (st != GLS_OK) {
    free(*host);
    free(*path);
    *host = *path = NULL;
    if (scheme) { free(*scheme); *scheme = NULL; }
  }
  curl_free(sch);
  curl_free(hst);
  curl_free(port);
  curl_free(pth);
  curl_url_cleanup(u);
  return st;
}

static int form_add(gls_buf *b, const char *k, const char *v) {
  return (b->len && secure_add(b, "&", 1)) || secure_add(b, k, strlen(k)) || secure_add(b, "=", 1) ||
         gls_uri_encode(b, v, strlen(v), 0);
}

#define FORM_CT "application/x-www-form-urlencoded; charset=utf-8"

gls_status gls_creds_assume_role(const gls_creds *source, const gls_assume_role *p,
                                 const gls_http_opts *http, gls_creds *out, gls_buf *err) {
  if (!p || !p->role_arn || !*p->role_arn || !err || !out || !http) {
    if (err) gls_buf_adds(err, "AssumeRole: no role ARN");
    return GLS_E_INVALID_ARGUMENT;
  }
  memset(out, 0, sizeof *out);
  gls_buf what = {0};
  gls_buf_printf(&what, "AssumeRole for %.300s", p->role_arn);
  const char *W = what.data ? what.data : "AssumeRole";
  if (!source || !source->access_key_id || !source->secret_access_key) {
    gls_buf_printf(err, "%s: no source credentials", W);
    gls_buf_free(&what);
    return GLS_E_NO_CREDENTIALS;
  }
  if ((p->mfa_serial != NULL) != (p->mfa_token_code != NULL)) {
    gls_buf_printf(err, "%s: mfa_serial needs an MFA token code (gls does not prompt)", W);
    gls_buf_free(&what);
    return GLS_E_INVALID_ARGUMENT;
  }
  const char *endpoint = p->endpoint ? p->endpoint : "https://sts.amazonaws.com";
  const char *region = p->region ? p->region : "us-east-1";
  char *host = NULL, *path = NULL;
  gls_status st = url_parts(endpoint, &host, &path, NULL);
  if (st != GLS_OK) {
    gls_buf_printf(err, "%s: ", W);
    if (st == GLS_E_CONFIG) {
      gls_buf_adds(err, "the STS endpoint must be an http:// or https:// URL: ");
      add_shown(err, endpoint);
    } else {
      gls_buf_adds(err, "out of memory");
    }
    gls_buf_free(&what);
    return st;
  }
  char session[64];
  int64_t now = p->now ? p->now : (int64_t)time(NULL);
  snprintf(session, sizeof session, "gls-session-%lld", (long long)now);
  gls_buf form = {0};
  char dur[32];
  snprintf(dur, sizeof dur, "%ld", p->duration_s);
  int bad = form_add(&form, "Action", "AssumeRole") || form_add(&form, "Version", STS_API_VERSION) ||
            form_add(&form, "RoleArn", p->role_arn) ||
            form_add(&form, "RoleSessionName", p->session_name && *p->session_name ? p->session_name : session) ||
            (p->external_id && form_add(&form, "ExternalId", p->external_id)) ||
            (p->duration_s > 0 && form_add(&form, "DurationSeconds", dur)) ||
            (p->mfa_serial && (form_add(&form, "SerialNumber", p->mfa_serial) ||
                               form_add(&form, "TokenCode", p->mfa_token_code)));
  gls_signer *signer = bad ? NULL : gls_signer_new();
  http_call h = {0};
  if (!signer) {
    st = GLS_E_NOMEM;
    gls_buf_printf(err, "%s: out of memory", W);
    goto out;
  }
  gls_header hs[2] = {{"Host", 4, host, strlen(host)}, {"Content-Type", 12, FORM_CT, strlen(FORM_CT)}};
  gls_sigv4_params sp = {0};
  sp.method = "POST";
  sp.path = path;
  sp.headers = hs;
  sp.nheaders = 2;
  sp.body = form.data;
  sp.body_len = form.len;
  sp.access_key_id = source->access_key_id;
  sp.secret_access_key = source->secret_access_key;
  sp.session_token = source->session_token;
  sp.region = region;
  sp.service = "sts";
  sp.time = now;
  sp.normalize_path = 1;
  sp.double_encode = 1;
  gls_sigv4_result sr;
  char serr[256] = "";
  st = gls_signer_sign(signer, &sp, &sr, serr, sizeof serr);
  if (st != GLS_OK) {
    gls_buf_printf(err, "%s: cannot sign the request: %s", W, serr);
    goto out;
  }
  if (add_header(&h.headers, "Host", host) || add_header(&h.headers, "Content-Type", FORM_CT)) goto nomem;
  for (size_t i = 0; i < sr.nadded; i++) {
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)sr.added[i].name_len, sr.added[i].name);
    gls_buf v = {0};
    if (secure_add(&v, sr.added[i].value, sr.added[i].value_len) || add_header(&h.headers, name, v.data)) {
      gls_buf_wipe_free(&v);
      goto nomem;
    }
    gls_buf_wipe_free(&v);
  }
  if (add_raw(&h.headers, "Expect:") || add_raw(&h.headers, "Accept: text/xml")) goto nomem;
  h.src = W;
  h.method = "POST";
  h.url = endpoint;
  h.body = form.data;
  h.body_len = form.len;
  h.opts = http;
  st = sts_call(W, &h, out, err);
  goto out;
nomem:
  st = GLS_E_NOMEM;
  gls_buf_printf(err, "%s: out of memory", W);
out:
  slist_wipe_free(&h.headers);
  http_call_free(&h);
  gls_signer_free(signer);
  gls_buf_wipe_free(&form);
  free(host);
  free(path);
  gls_buf_free(&what);
  return st;
}

/* Reads a whole (bounded) file into a wiped buffer. 0 ok, else errno. */
static int read_secret_file(const char *path, gls_buf *b) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  char chunk[4096];
  int rc = 0;
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      rc = errno;
      break;
    }
    if (n == 0) break;
    if (b->len + (size_t)n > TOKEN_FILE_MAX) { rc = EFBIG; break; }
    if (secure_add(b, chunk, (size_t)n)) { rc = ENOMEM; break; }
  }
  OPENSSL_cleanse(chunk, sizeof chunk);
  close(fd);
  if (!rc && !b->data && secure_add(b, "", 0)) rc = ENOMEM;
  return rc;
}

gls_status gls_creds_web_identity(const char *endpoint, const char *role_arn,
                                  const char *session_name, const char *token_file,
                                  long duration_s, const gls_http_opts *http,
                                  gls_creds *out, gls_buf *err) {
  if (!role_arn || !*role_arn || !token_file || !out || !err || !http) {
    if (err) gls_buf_adds(err, "AssumeRoleWithWebIdentity: no role ARN or no token file");
    return GLS_E_INVALID_ARGUMENT;
  }
  memset(out, 0, sizeof *out);
  gls_buf what = {0};
  gls_buf_printf(&what, "AssumeRoleWithWebIdentity for %.300s", role_arn);
  const char *W = what.data ? what.data : "AssumeRoleWithWebIdentity";
  if (!endpoint) endpoint = "https://sts.amazonaws.com";
  gls_buf tok = {0}, form = {0};
  http_call h = {0};
  gls_status st = GLS_OK;
  int e = read_secret_file(token_file, &tok);
  if (e) {
    gls_buf_printf(err, "%s: cannot read the web identity token file %.300s: %s", W, token_file, strerror(e));
    st = e == ENOMEM ? GLS_E_NOMEM : GLS_E_NO_CREDENTIALS;
    goto out;
  }
  char session[64], dur[32];
  snprintf(session, sizeof session, "gls-session-%lld", (long long)time(NULL));
  snprintf(dur, sizeof dur, "%ld", duration_s);
  if (form_add(&form, "Action", "AssumeRoleWithWebIdentity") ||
      form_add(&form, "Version", STS_API_VERSION) || form_add(&form, "RoleArn", role_arn) ||
      form_add(&form, "RoleSessionName", session_name && *session_name ? session_name : session) ||
      form_add(&form, "WebIdentityToken", tok.data) ||
      (duration_s > 0 && form_add(&form, "DurationSeconds", dur)) ||
      add_header(&h.headers, "Content-Type", FORM_CT) || add_raw(&h.headers, "Expect:") ||
      add_header(&h.headers, "Accept", "text/xml")) {
    st = GLS_E_NOMEM;
    gls_buf_printf(err, "%s: out of memory", W);
    goto out;
  }
  h.src = W;
  h.method = "POST";
  h.url = endpoint;
  h.body = form.data;
  h.body_len = form.len;
  h.opts = http;
  st = sts_call(W, &h, out, err);
out:
  slist_wipe_free(&h.headers);
  http_call_free(&h);
  gls_buf_wipe_free(&tok);
  gls_buf_wipe_free(&form);
  gls_buf_free(&what);
  return st;
}

/* ---------------------------------------------------------------- container */

/* botocore ContainerMetadataFetcher._validate_allowed_url: any https URL, or
 * http to a loopback address or one of the container hosts. */
static int container_host_allowed(const char *scheme, const char *hostport) {
  if (!strcmp(scheme, "https")) return 1;
  char host[256];
  const char *h = hostport, *end;
  if (*h == '[') {
    h++;
    end = strchr(h, ']');
    if (!end) return 0;
  } else {
    end = strchr(h, ':');
    if (!end) end = h + strlen(h);
  }
  if ((size_t)(end - h) >= sizeof host) return 0;
  memcpy(host, h, (size_t)(end - h));
  host[end - h] = '\0';
  if (!strcasecmp(host, "localhost") || !strcmp(host, "169.254.170.2") ||
      !strcmp(host, "169.254.170.23"))
    return 1;
  unsigned char a[16];
  if (inet_pton(AF_INET, host, a) == 1) return a[0] == 127;
  if (inet_pton(AF_INET6, host, a) == 1) {
    static const unsigned char loop6[16] = {[15] = 1};
    static const unsigned char ec2[16] = {0xfd, 0x00, 0x0e, 0xc2, [15] = 0x23};
    if (!memcmp(a, loop6, 16) || !memcmp(a, ec2, 16)) return 1;
    /* ::ffff:127.x.y.z */
    static const unsigned char mapped[12] = {[10] = 0xff, [11] = 0xff};
    return !memcmp(a, mapped, 12) && a[12] == 127;
  }
  return 0;
}

gls_status gls_creds_container(const char *full_uri, const char *auth_token,
                               const gls_http_opts *http, gls_creds *out, gls_buf *err) {
  if (!full_uri || !out || !err || !http) {
    if (err) gls_buf_adds(err, "container endpoint: no URL");
    return GLS_E_INVALID_ARGUMENT;
  }
  memset(out, 0, sizeof *out);
  gls_buf src = {0};
  gls_buf_printf(&src, "container endpoint %.300s", full_uri);
  const char *S = src.data ? src.data : "container endpoint";
  char *host = NULL, *path = NULL, *scheme = NULL;
  http_call h = {0};
  gls_status st = url_parts(full_uri, &host, &path, &scheme);
  if (st != GLS_OK) {
    gls_buf_printf(err, "%s: %s", S, st == GLS_E_CONFIG ? "not an http:// or https:// URL" : "out of memory");
    goto out;
  }
  if (!container_host_allowed(scheme, host)) {
    gls_buf_printf(err, "%s: unsupported host %.200s: http is allowed only to a loopback address, "
                        "169.254.170.2, 169.254.170.23 or [fd00:ec2::23] (any https URL is)", S, host);
    st = GLS_E_CONFIG;
    goto out;
  }
  if (auth_token && strpbrk(auth_token, "\r\n")) {
    gls_buf_printf(err, "%s: the authorization token is not a legal header value (it holds a line break)", S);
    st = GLS_E_CONFIG;
    goto out;
  }
  if (add_header(&h.headers, "Accept", "application/json") ||
      (auth_token && add_header(&h.headers, "Authorization", auth_token))) {
    st = GLS_E_NOMEM;
    gls_buf_printf(err, "%s: out of memory", S);
    goto out;
  }
  h.src = S;
  h.method = "GET";
  h.url = full_uri;
  h.opts = http;
  gls_buf why = {0};
  json_t *root = NULL;
  for (int attempt = 1;; attempt++) {
    gls_buf_reset(&why);
    st = http_perform(&h, &why);
    if (st == GLS_OK && h.status != 200) {
      gls_buf_printf(&why, "%s: HTTP %ld", S, h.status);
      st = GLS_E_SERVICE;
    } else if (st == GLS_OK) {
      json_error_t je;
      root = json_loadb(h.resp.data ? h.resp.data : "", h.resp.len, 0, &je);
      if (!json_is_object(root)) {
        json_wipe_decref(root);
        root = NULL;
        gls_buf_printf(&why, "%s: the reply is not a JSON object", S);
        st = GLS_E_BAD_RESPONSE;
      }
    }
    gls_buf_wipe_free(&h.resp);
    if (st == GLS_OK || st == GLS_E_NOMEM || attempt >= CONTAINER_ATTEMPTS) break;
    sleep_ms(CONTAINER_SLEEP_MS);
  }
  if (st != GLS_OK) {
    gls_buf_add(err, why.data ? why.data : S, why.data ? why.len : strlen(S));
    if (CONTAINER_ATTEMPTS > 1) gls_buf_printf(err, " (after %d attempts)", CONTAINER_ATTEMPTS);
    gls_buf_free(&why);
    goto out;
  }
  gls_buf_reset(&why);
  st = creds_reply(GLS_CREDS_REPLY_CONTAINER, NULL, root, out, &why);
  if (st != GLS_OK) gls_buf_printf(err, "%s: %s", S, why.data ? why.data : "?");
  gls_buf_free(&why);
  json_wipe_decref(root);
out:
  slist_wipe_free(&h.headers);
  http_call_free(&h);
  free(host);
  free(path);
  free(scheme);
  gls_buf_free(&src);
  return st;
}

/* ---------------------------------------------------------------- IMDS */

static int imds_url(gls_buf *u, const char *base, const char *path, const char *role) {
  gls_buf_reset(u);
  if (gls_buf_adds(u, base)) return -1;
  if (u->len && u->data[u->len - 1] != '/' && gls_buf_addc(u, '/')) return -1;
  if (gls_buf_adds(u, path)) return -1;
  return role ? gls_uri_encode(u, role, strlen(role), 0) : 0;
}

/* One IMDS GET with botocore's retry rule: up to attempts tries while the
 * reply is not a 200 with a body (and, for credentials, valid JSON). On
 * success h->resp holds the body (and *json the parsed object). */
static gls_status imds_get(http_call *h, int attempts, json_t **json, gls_buf *err) {
  gls_buf why = {0};
  gls_status st = GLS_OK;
  for (int i = 0; i < attempts; i++) {
    gls_buf_reset(&why);
    st = http_perform(h, &why);
    if (st == GLS_E_NOMEM) break;
    if (st != GLS_OK) continue;
    if (h->status != 200) {
      gls_buf_printf(&why, "%s: HTTP %ld", h->src, h->status);
      http_doing(&why, h);
      st = GLS_E_SERVICE;
      continue;
    }
    if (!h->resp.len) {
      gls_buf_printf(&why, "%s: empty reply", h->src);
      http_doing(&why, h);
      st = GLS_E_BAD_RESPONSE;
      continue;
    }
    if (!json) break;
    json_error_t je;
    *json = json_loadb(h->resp.data, h->resp.len, 0, &je);
    if (json_is_object(*json)) break;
    json_wipe_decref(*json);
    *json = NULL;
    gls_buf_printf(&why, "%s: bad JSON", h->src);
    http_doing(&why, h);
    st = GLS_E_BAD_RESPONSE;
  }
  if (st != GLS_OK) {
    if (why.data) gls_buf_add(err, why.data, why.len);
    if (attempts > 1) gls_buf_printf(err, " (after %d attempts)", attempts);
  }
  gls_buf_free(&why);
  return st;
}

gls_status gls_creds_imds(const char *endpoint, int attempts, const gls_http_opts *http,
                          gls_creds *out, gls_buf *err) {
  if (!out || !err || !http) {
    if (err) gls_buf_adds(err, "IMDS: missing argument");
    return GLS_E_INVALID_ARGUMENT;
  }
  memset(out, 0, sizeof *out);
  if (!endpoint || !*endpoint) endpoint = "http://169.254.169.254";
  if (attempts < 1) attempts = 1;
  gls_buf url = {0}, token = {0}, role = {0}, why = {0};
  http_call h = {0};
  json_t *root = NULL;
  gls_status st = GLS_OK;
  int have_token = 0;

  /* 1. the session token. botocore: 200 = token; 403/404/405 = IMDSv1
   * (no token); 400 = error; other statuses and connection errors are tried
   * again up to attempts and then fall back to IMDSv1. A read timeout ends
   * the fetch here with an error (botocore would go on to try IMDSv1, which
   * on an endpoint that does not answer only waits once more). */
  if (imds_url(&url, endpoint, "latest/api/token", NULL) ||
      add_header(&h.headers, "x-aws-ec2-metadata-token-ttl-seconds", IMDS_TOKEN_TTL) ||
      add_raw(&h.headers, "Content-Type:") || add_raw(&h.headers, "Expect:")) goto nomem;
  h.src = "IMDS";
  h.doing = "fetching the token";
  h.method = "PUT";
  h.url = url.data;
  h.opts = http;
  int connect_failures = 0;
  for (int i = 0; i < attempts; i++) {
    gls_buf_reset(&why);
    st = http_perform(&h, &why);
    if (st == GLS_E_NOMEM) goto nomem;
    if (st == GLS_E_TIMEOUT || st == GLS_E_TLS || st == GLS_E_RESPONSE_TOO_LARGE) {
      gls_buf_add(err, why.data, why.len);
      goto out;
    }
    if (st != GLS_OK) { connect_failures++; continue; }
    if (h.status == 200 && h.resp.len) {
      while (h.resp.len && strchr("\r\n \t", h.resp.data[h.resp.len - 1])) h.resp.data[--h.resp.len] = '\0';
      if (secure_add(&token, h.resp.data, h.resp.len)) goto nomem;
      have_token = 1;
      break;
    }
    if (h.status == 403 || h.status == 404 || h.status == 405) break;
    if (h.status == 400) {
      gls_buf_adds(err, "IMDS: HTTP 400 fetching the token (the service refused the request)");
      st = GLS_E_SERVICE;
      goto out;
    }
  }
  if (!have_token && connect_failures == attempts) {
    gls_buf_add(err, why.data, why.len);
    if (attempts > 1) gls_buf_printf(err, " (after %d attempts)", attempts);
    st = GLS_E_TRANSPORT;
    goto out;
  }
  slist_wipe_free(&h.headers);
  if (have_token && add_header(&h.headers, "x-aws-ec2-metadata-token", token.data)) goto nomem;

  /* 2. the role name */
  if (imds_url(&url, endpoint, "latest/meta-data/iam/security-credentials/", NULL)) goto nomem;
  h.method = "GET";
  h.url = url.data;
  h.doing = "fetching the role name";
  st = imds_get(&h, attempts, NULL, err);
  if (st != GLS_OK) goto out;
  {
    /* botocore takes the whole text; IMDS lists one role, one per line. */
    size_t n = strcspn(h.resp.data, "\r\n");
    while (n && (h.resp.data[n - 1] == ' ' || h.resp.data[n - 1] == '\t')) n--;
    if (!n) {
      gls_buf_adds(err, "IMDS: empty role name");
      st = GLS_E_BAD_RESPONSE;
      goto out;
    }
    if (gls_buf_add(&role, h.resp.data, n)) goto nomem;
  }

  /* 3. the credentials */
  if (imds_url(&url, endpoint, "latest/meta-data/iam/security-credentials/", role.data)) goto nomem;
  gls_buf doing = {0};
  if (gls_buf_printf(&doing, "fetching the credentials of role %.200s", role.data)) {
    gls_buf_free(&doing);
    goto nomem;
  }
  h.url = url.data;
  h.doing = doing.data;
  st = imds_get(&h, attempts, &root, err);
  h.doing = NULL;
  gls_buf_free(&doing);
  if (st != GLS_OK) goto out;
  {
    gls_buf what = {0};
    if (gls_buf_printf(&what, "role %.200s", role.data)) {
      gls_buf_free(&what);
      goto nomem;
    }
    gls_buf_reset(&why);
    st = creds_reply(GLS_CREDS_REPLY_IMDS, what.data, root, out, &why);
    gls_buf_free(&what);
    if (st == GLS_E_NOMEM) goto nomem;
    if (st != GLS_OK) gls_buf_printf(err, "IMDS: %s", why.data ? why.data : "?");
  }
  goto out;
nomem:
  st = GLS_E_NOMEM;
  gls_buf_adds(err, "IMDS: out of memory");
out:
  json_wipe_decref(root);
  slist_wipe_free(&h.headers);
  http_call_free(&h);
  gls_buf_free(&url);
  gls_buf_wipe_free(&token);
  gls_buf_free(&role);
  gls_buf_free(&why);
  return st;
}
