/* test_credentials.c - the credential fetchers (src/credentials.c) against
 * real protocols on 127.0.0.1: spec/support/cred_servers.py (STS with SigV4
 * checked by botocore, the container endpoint, IMDSv2), and small
 * credential_process scripts. Network parts are skipped when python3 with
 * botocore is missing. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include <jansson.h>
#include "credentials.h"
#include "tap.h"

#define T_SOURCE_AKID "AKIDSOURCE"
#define T_SOURCE_SECRET "source/secret+key"
#define T_EXP_STR "2031-01-02T03:04:05Z"
#define T_EXP 1925089445LL

static char tmpdir[256];
static char server[128];   /* "http://127.0.0.1:PORT" */
static pid_t server_pid;

static long elapsed_ms(const struct timespec *a) {
  struct timespec b;
  clock_gettime(CLOCK_MONOTONIC, &b);
  return (long)((b.tv_sec - a->tv_sec) * 1000 + (b.tv_nsec - a->tv_nsec) / 1000000);
}

static const char *E(const gls_buf *b) { return b->data ? b->data : ""; }

static int contains(const gls_buf *b, const char *s) { return b->data && strstr(b->data, s); }

/* ---------------------------------------------------------------- scripts */

static void write_file(const char *path, const char *text, int mode) {
  FILE *f = fopen(path, "w");
  if (!f) { perror(path); exit(2); }
  fputs(text, f);
  fclose(f);
  chmod(path, (mode_t)mode);
}

/* Writes tmpdir/name as a script; returns "sh PATH" in cmd. */
static const char *script(const char *name, const char *body, char *cmd, size_t n) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", tmpdir, name);
  write_file(path, body, 0700);
  snprintf(cmd, n, "sh %s", path);
  return cmd;
}

static void test_process(void) {
  char cmd[600];
  gls_creds c = {0};
  gls_buf err = {0};

  script("good.sh",
         "cat <<'EOF'\n{\"Version\": 1, \"AccessKeyId\": \"AKIDPROC\", \"SecretAccessKey\": \"proc/secret\",\n"
         " \"SessionToken\": \"proc+token\", \"Expiration\": \"" T_EXP_STR "\", \"AccountId\": \"111122223333\"}\nEOF\n",
         cmd, sizeof cmd);
  gls_status st = gls_creds_process(cmd, 5000, &c, &err);
  ok(st == GLS_OK, "credential_process: good JSON (%s)", E(&err));
  is_str(c.access_key_id, "AKIDPROC", "credential_process: AccessKeyId");
  is_str(c.secret_access_key, "proc/secret", "credential_process: SecretAccessKey");
  is_str(c.session_token, "proc+token", "credential_process: SessionToken");
  is_str(c.account_id, "111122223333", "credential_process: AccountId");
  ok(c.expiration == T_EXP, "credential_process: Expiration in epoch seconds (%lld)", (long long)c.expiration);

  gls_creds d = {0};
  ok(gls_creds_copy(&d, &c) == 0 && d.access_key_id != c.access_key_id &&
         !strcmp(d.secret_access_key, "proc/secret") && d.expiration == T_EXP,
     "gls_creds_copy copies every field");
  gls_creds_clear(&c);
  ok(!c.access_key_id && !c.secret_access_key && !c.session_token && !c.account_id && !c.expiration,
     "gls_creds_clear zeroes");
  gls_creds_clear(&d);
  gls_buf_reset(&err);

  script("min.sh", "echo '{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\"}'\n", cmd, sizeof cmd);
  st = gls_creds_process(cmd, 5000, &c, &err);
  ok(st == GLS_OK && !c.session_token && c.expiration == 0 && !c.account_id,
     "credential_process: no token, no expiration = does not expire (%s)", E(&err));
  gls_creds_clear(&c);
  gls_buf_reset(&err);

  script("badjson.sh", "echo '{\"Version\": 1, \"AccessKeyId\": '\n", cmd, sizeof cmd);
  st = gls_creds_process(cmd, 5000, &c, &err);
  ok(st == GLS_E_BAD_RESPONSE && contains(&err, "credential_process \"sh ") && contains(&err, "not JSON"),
     "credential_process: bad JSON is an error naming the command: %s", E(&err));
  gls_buf_reset(&err);

  script("exit3.sh", "echo 'credential_process test: this stderr line is expected' >&2\nexit 3\n", cmd, sizeof cmd);
  st = gls_creds_process(cmd, 5000, &c, &err);
  char want[700];
  snprintf(want, sizeof want, "credential_process \"%s\": exited with status 3", cmd);
  ok(st == GLS_E_NO_CREDENTIALS, "credential_process: non-zero exit fails");
  is_str(E(&err), want, "credential_process: the message names the command and the status");
  gls_buf_reset(&err);

  /* sleep runs as the shell's child: the whole process group must die. */
  script("hang.sh", "echo '{\"Version\": 1,'\nsleep 30\necho done\n", cmd, sizeof cmd);
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  st = gls_creds_process(cmd, 400, &c, &err);
  long ms = elapsed_ms(&t0);
  ok(st == GLS_E_TIMEOUT && contains(&err, "timed out after 400 ms"),
     "credential_process: a hang is killed at its timeout: %s", E(&err));
  ok(ms >= 350 && ms < 800, "credential_process: killed within 2x the timeout (%ld ms)", ms);
  gls_buf_reset(&err);

  script("missing.sh", "echo '{\"Version\": 1, \"AccessKeyId\": \"A\"}'\n", cmd, sizeof cmd);
  st = gls_creds_process(cmd, 5000, &c, &err);
  ok(st != GLS_OK && contains(&err, "missing required key in output: SecretAccessKey"),
     "credential_process: a missing key is named: %s", E(&err));
  gls_buf_reset(&err);

  script("v2.sh", "echo '{\"Version\": 2, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"v2-secret\"}'\n", cmd,
         sizeof cmd);
  st = gls_creds_process(cmd, 5000, &c, &err);
  ok(st != GLS_OK && contains(&err, "unsupported Version 2") && !contains(&err, "v2-secret"),
     "credential_process: a wrong Version fails, no secret in the message: %s", E(&err));
  gls_buf_reset(&err);

  script("nov.sh", "echo '{\"AccessKeyId\": \"A\", \"SecretAccessKey\": \"S\"}'\n", cmd, sizeof cmd);
  st = gls_creds_process(cmd, 5000, &c, &err);
  ok(st != GLS_OK && contains(&err, "Version key not provided"),
     "credential_process: no Version fails: %s", E(&err));
  gls_buf_reset(&err);

  script("badexp.sh", "echo '{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\",\"Expiration\":\"soon\"}'\n",
         cmd, sizeof cmd);
  st = gls_creds_process(cmd, 5000, &c, &err);
  ok(st == GLS_E_BAD_RESPONSE && contains(&err, "Expiration"),
     "credential_process: an unparseable Expiration fails: %s", E(&err));
  gls_buf_reset(&err);

  script("big.sh", "head -c 100000 /dev/zero | tr '\\0' ' '\n", cmd, sizeof cmd);
  st = gls_creds_process(cmd, 5000, &c, &err);
  ok(st != GLS_OK && contains(&err, "more than 65536 bytes"), "credential_process: output is bounded: %s",
     E(&err));
  gls_buf_reset(&err);

  st = gls_creds_process("/nonexistent/credential-helper --json", 5000, &c, &err);
  ok(st == GLS_E_NO_CREDENTIALS && contains(&err, "exited with status 127"),
     "credential_process: a missing program: %s", E(&err));
  gls_buf_free(&err);
}

/* ---------------------------------------------------------------- server */

static int start_server(char *why, size_t n) {
  if (access("spec/support/cred_servers.py", R_OK)) {
    snprintf(why, n, "spec/support/cred_servers.py not found (run from the repository root)");
    return -1;
  }
  if (system("python3 -c 'import botocore.auth' >/dev/null 2>&1") != 0) {
    snprintf(why, n, "python3 with botocore not found");
    return -1;
  }
  int fds[2];
  if (pipe(fds)) { snprintf(why, n, "pipe: %s", strerror(errno)); return -1; }
  pid_t pid = fork();
  if (pid < 0) { snprintf(why, n, "fork: %s", strerror(errno)); return -1; }
  if (pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    execlp("python3", "python3", "spec/support/cred_servers.py", "--port", "0", (char *)NULL);
    _exit(127);
  }
  close(fds[1]);
  FILE *f = fdopen(fds[0], "r");
  char line[256] = "";
  int port = 0, spid = 0;
  if (!f || !fgets(line, sizeof line, f) ||
      sscanf(line, "listening on http://127.0.0.1:%d pid=%d", &port, &spid) != 2) {
    snprintf(why, n, "cred_servers.py did not start: %s", line);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    if (f) fclose(f);
    return -1;
  }
  fclose(f);
  server_pid = pid;
  snprintf(server, sizeof server, "http://127.0.0.1:%d", port);
  return 0;
}

static void stop_server(void) {
  if (server_pid > 0) {
    kill(server_pid, SIGTERM);
    waitpid(server_pid, NULL, 0);
    server_pid = 0;
  }
}

static size_t collect(char *p, size_t s, size_t n, void *ud) {
  gls_buf_add(ud, p, s * n);
  return s * n;
}

/* The control API: returns the parsed JSON answer (caller decrefs). */
static json_t *ctl(const char *method, const char *path, const char *body) {
  char url[256];
  snprintf(url, sizeof url, "%s%s", server, path);
  CURL *e = curl_easy_init();
  gls_buf out = {0};
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 5000L);
  if (!strcmp(method, "POST")) curl_easy_setopt(e, CURLOPT_POSTFIELDS, body ? body : "{}");
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &out);
  CURLcode rc = curl_easy_perform(e);
  curl_easy_cleanup(e);
  json_t *j = rc == CURLE_OK && out.data ? json_loads(out.data, 0, NULL) : NULL;
  gls_buf_free(&out);
  if (!j) fprintf(stderr, "control %s %s failed\n", method, path);
  return j;
}

static void ctl_do(const char *path, const char *body) { json_decref(ctl("POST", path, body)); }

static long counter(const char *name) {
  json_t *j = ctl("GET", "/_ctl/counters", NULL);
  long v = (long)json_integer_value(json_object_get(j, name));
  json_decref(j);
  return v;
}

static long arn_count(const char *arn) {
  json_t *j = ctl("GET", "/_ctl/counters", NULL);
  long v = (long)json_integer_value(json_object_get(json_object_get(j, "assume_role_by_arn"), arn));
  json_decref(j);
  return v;
}

/* A form field of the last STS request, copied into out. */
static const char *last_sts(const char *field, char *out, size_t n) {
  json_t *j = ctl("GET", "/_ctl/counters", NULL);
  const char *v = json_string_value(json_object_get(json_object_get(j, "last_sts"), field));
  snprintf(out, n, "%s", v ? v : "(none)");
  json_decref(j);
  return out;
}

static void reset(void) {
  ctl_do("/_ctl/reset", NULL);
  ctl_do("/_ctl/config", "{\"expiration\": \"" T_EXP_STR "\"}");
}

static gls_http_opts HTTP = {2000, 5000, 1, NULL, 1};

/* ---------------------------------------------------------------- STS */

static gls_status assume(const gls_creds *src, const char *arn, const gls_http_opts *http, gls_creds *out,
                         gls_buf *err) {
  char ep[200];
  snprintf(ep, sizeof ep, "%s/sts", server);
  gls_assume_role p = {ep, "us-east-1", arn, "gls-test", NULL, 0, NULL, NULL, 0};
  return gls_creds_assume_role(src, &p, http, out, err);
}

static void test_assume_role(void) {
  reset();
  gls_creds src = {T_SOURCE_AKID, T_SOURCE_SECRET, NULL, 0, NULL};
  gls_creds c = {0};
  gls_buf err = {0};
  gls_status st = assume(&src, "arn:aws:iam::123456789012:role/first", &HTTP, &c, &err);
  ok(st == GLS_OK, "AssumeRole: signed with the source keys, accepted (%s)", E(&err));
  ok(c.access_key_id && !strncmp(c.access_key_id, "ASIA", 4), "AssumeRole: AccessKeyId %s",
     c.access_key_id ? c.access_key_id : "(null)");
  char want[128];
  snprintf(want, sizeof want, "secret/%s", c.access_key_id ? c.access_key_id : "");
  is_str(c.secret_access_key, want, "AssumeRole: SecretAccessKey");
  snprintf(want, sizeof want, "token+%s", c.access_key_id ? c.access_key_id : "");
  is_str(c.session_token, want, "AssumeRole: SessionToken");
  ok(c.expiration == T_EXP, "AssumeRole: Expiration in epoch seconds (%lld)", (long long)c.expiration);
  is_str(c.account_id, "123456789012", "AssumeRole: account id from AssumedRoleUser/Arn");
  ok(arn_count("arn:aws:iam::123456789012:role/first") == 1, "AssumeRole: one issue counted");
  char f[128];
  is_str(last_sts("RoleSessionName", f, sizeof f), "gls-test", "AssumeRole: RoleSessionName sent");
  is_str(last_sts("ExternalId", f, sizeof f), "(none)", "AssumeRole: no ExternalId unless given");
  gls_creds_clear(&c);
  gls_buf_reset(&err);

  /* optional parameters */
  char ep[200];
  snprintf(ep, sizeof ep, "%s/sts", server);
  gls_assume_role p = {ep, "eu-west-1", "arn:aws:iam::123456789012:role/needs-external-id", NULL, "ext-123", 900,
                       "arn:aws:iam::123456789012:mfa/user", "123456", 0};
  st = gls_creds_assume_role(&src, &p, &HTTP, &c, &err);
  ok(st == GLS_OK, "AssumeRole: ExternalId, DurationSeconds and MFA (%s)", E(&err));
  is_str(last_sts("ExternalId", f, sizeof f), "ext-123", "AssumeRole: ExternalId sent");
  is_str(last_sts("DurationSeconds", f, sizeof f), "900", "AssumeRole: DurationSeconds sent");
  is_str(last_sts("SerialNumber", f, sizeof f), "arn:aws:iam::123456789012:mfa/user", "AssumeRole: SerialNumber sent");
  is_str(last_sts("TokenCode", f, sizeof f), "123456", "AssumeRole: TokenCode sent");
  ok(!strncmp(last_sts("RoleSessionName", f, sizeof f), "gls-session-", 12),
     "AssumeRole: a session name is made up when none is given (%s)", f);
  gls_creds_clear(&c);
  gls_buf_reset(&err);

  /* a chain: each one's credentials sign the next */
  const char *arns[3] = {"arn:aws:iam::111111111111:role/a", "arn:aws:iam::222222222222:role/b",
                         "arn:aws:iam::333333333333:role/c"};
  gls_creds cur = {0};
  gls_creds_copy(&cur, &src);
  char seen[3][64] = {"", "", ""};
  int chain_ok = 1;
  for (int i = 0; i < 3; i++) {
    gls_creds next = {0};
    st = assume(&cur, arns[i], &HTTP, &next, &err);
    ok(st == GLS_OK && next.session_token, "AssumeRole chain step %d (%s) signed with %s: %s", i + 1, arns[i],
       cur.access_key_id, st == GLS_OK ? "ok" : E(&err));
    if (st != GLS_OK) chain_ok = 0;
    snprintf(seen[i], sizeof seen[i], "%s", next.access_key_id ? next.access_key_id : "");
    gls_creds_clear(&cur);
    cur = next;
    gls_buf_reset(&err);
  }
  ok(chain_ok && strcmp(seen[0], seen[1]) && strcmp(seen[1], seen[2]) && strcmp(seen[0], seen[2]),
     "AssumeRole chain: distinct credentials per role (%s %s %s)", seen[0], seen[1], seen[2]);
  is_str(cur.account_id, "333333333333", "AssumeRole chain: the last role's account");
  ok(counter("bad_signature") == 0 && arn_count(arns[0]) == 1 && arn_count(arns[1]) == 1 &&
         arn_count(arns[2]) == 1,
     "AssumeRole chain: the server verified three signatures, issued each role once");
  /* the same role again: counted twice, new keys */
  gls_creds again = {0};
  st = assume(&src, arns[0], &HTTP, &again, &err);
  ok(st == GLS_OK && arn_count(arns[0]) == 2 && again.access_key_id && strcmp(again.access_key_id, seen[0]),
     "AssumeRole: a second issue of one role is counted and new");
  gls_creds_clear(&again);
  gls_creds_clear(&cur);
  gls_buf_reset(&err);

  /* a wrong source secret: the server's signature check fails */
  gls_creds wrong = {T_SOURCE_AKID, "not-the-secret", NULL, 0, NULL};
  st = assume(&wrong, "arn:aws:iam::123456789012:role/first", &HTTP, &c, &err);
  ok(st == GLS_E_SERVICE &&
         contains(&err, "AssumeRole for arn:aws:iam::123456789012:role/first failed: SignatureDoesNotMatch: ") &&
         !contains(&err, "not-the-secret"),
     "AssumeRole: a bad signature is refused, no secret in the message: %s", E(&err));
  ok(counter("bad_signature") == 1, "AssumeRole: the server counted the bad signature");
  gls_buf_reset(&err);

  st = assume(&src, "arn:aws:iam::123456789012:role/denied", &HTTP, &c, &err);
  ok(st == GLS_E_SERVICE &&
         contains(&err, "AssumeRole for arn:aws:iam::123456789012:role/denied failed: AccessDenied: User: "
                        "arn:aws:iam::123456789012:user/source is not authorized"),
     "AssumeRole: an ErrorResponse becomes Code: Message: %s", E(&err));
  gls_buf_reset(&err);

  ctl_do("/_ctl/fault", "{\"target\": \"sts\", \"body\": \"<AssumeRoleResponse><AssumeRoleResult><oops>\"}");
  st = assume(&src, "arn:aws:iam::123456789012:role/first", &HTTP, &c, &err);
  ok(st == GLS_E_BAD_RESPONSE && contains(&err, "not valid XML"), "AssumeRole: malformed XML: %s", E(&err));
  gls_buf_reset(&err);

  ctl_do("/_ctl/fault", "{\"target\": \"sts\", \"body\": \"<AssumeRoleResponse><AssumeRoleResult><Credentials>"
                        "<AccessKeyId>A</AccessKeyId><SecretAccessKey>xml-secret</SecretAccessKey>"
                        "<Expiration>" T_EXP_STR "</Expiration></Credentials></AssumeRoleResult>"
                        "</AssumeRoleResponse>\"}");
  st = assume(&src, "arn:aws:iam::123456789012:role/first", &HTTP, &c, &err);
  ok(st == GLS_E_BAD_RESPONSE && contains(&err, "no Credentials/SessionToken") && !contains(&err, "xml-secret"),
     "AssumeRole: a reply without SessionToken: %s", E(&err));
  gls_buf_reset(&err);

  ctl_do("/_ctl/fault", "{\"target\": \"sts\", \"body\": \"<!DOCTYPE x [<!ENTITY a \\\"b\\\">]><x>&a;</x>\"}");
  st = assume(&src, "arn:aws:iam::123456789012:role/first", &HTTP, &c, &err);
  ok(st == GLS_E_BAD_RESPONSE && contains(&err, "DTD"), "AssumeRole: a DTD is refused: %s", E(&err));
  gls_buf_reset(&err);

  ctl_do("/_ctl/fault", "{\"target\": \"sts\", \"status\": 500, \"body\": \"\"}");
  st = assume(&src, "arn:aws:iam::123456789012:role/first", &HTTP, &c, &err);
  is_str(E(&err), "AssumeRole for arn:aws:iam::123456789012:role/first failed: HTTP 500",
         "AssumeRole: HTTP 500 without XML");
  ok(st == GLS_E_SERVICE, "AssumeRole: HTTP 500 is a service error");
  gls_buf_reset(&err);

  ctl_do("/_ctl/fault", "{\"target\": \"sts\", \"delay\": 2}");
  gls_http_opts quick = {1000, 300, 1, NULL, 1};
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  st = assume(&src, "arn:aws:iam::123456789012:role/first", &quick, &c, &err);
  long ms = elapsed_ms(&t0);
  ok(st == GLS_E_TIMEOUT && contains(&err, "AssumeRole for arn:aws:iam::123456789012:role/first: timed out after 300 ms"),
     "AssumeRole: a slow STS times out: %s", E(&err));
  ok(ms < 600, "AssumeRole: within 2x the timeout (%ld ms)", ms);
  gls_buf_free(&err);
}

/* ---------------------------------------------------------------- web identity */

static void test_web_identity(void) {
  reset();
  char ep[200], tokf[512], f[256];
  snprintf(ep, sizeof ep, "%s/sts", server);
  snprintf(tokf, sizeof tokf, "%s/web-identity-token", tmpdir);
  write_file(tokf, "eyJhbGciOiJSUzI1NiJ9.web-identity.first", 0600);
  gls_creds c = {0};
  gls_buf err = {0};
  const char *arn = "arn:aws:iam::444455556666:role/web";
  gls_status st = gls_creds_web_identity(ep, arn, "web-session", tokf, 3600, &HTTP, &c, &err);
  ok(st == GLS_OK, "AssumeRoleWithWebIdentity: unsigned, accepted (%s)", E(&err));
  ok(c.access_key_id && c.secret_access_key && c.session_token && c.expiration == T_EXP,
     "AssumeRoleWithWebIdentity: credentials and expiration");
  is_str(c.account_id, "444455556666", "AssumeRoleWithWebIdentity: account id");
  is_str(last_sts("WebIdentityToken", f, sizeof f), "eyJhbGciOiJSUzI1NiJ9.web-identity.first",
         "AssumeRoleWithWebIdentity: the token file's content was sent");
  is_str(last_sts("DurationSeconds", f, sizeof f), "3600", "AssumeRoleWithWebIdentity: DurationSeconds");
  is_str(last_sts("RoleSessionName", f, sizeof f), "web-session", "AssumeRoleWithWebIdentity: RoleSessionName");
  gls_creds_clear(&c);
  gls_buf_reset(&err);

  write_file(tokf, "rotated.token.second", 0600);
  st = gls_creds_web_identity(ep, arn, NULL, tokf, 0, &HTTP, &c, &err);
  ok(st == GLS_OK, "AssumeRoleWithWebIdentity: second call (%s)", E(&err));
  is_str(last_sts("WebIdentityToken", f, sizeof f), "rotated.token.second",
         "AssumeRoleWithWebIdentity: the token file is read anew at each call");
  is_str(last_sts("DurationSeconds", f, sizeof f), "(none)", "AssumeRoleWithWebIdentity: no DurationSeconds when 0");
  ok(counter("web_identity") == 2, "AssumeRoleWithWebIdentity: two issues counted");
  gls_creds_clear(&c);
  gls_buf_reset(&err);

  write_file(tokf, "bad-token", 0600);
  st = gls_creds_web_identity(ep, arn, "s", tokf, 0, &HTTP, &c, &err);
  ok(st == GLS_E_SERVICE &&
         contains(&err, "AssumeRoleWithWebIdentity for arn:aws:iam::444455556666:role/web failed: "
                        "InvalidIdentityToken: ") && !contains(&err, "bad-token"),
     "AssumeRoleWithWebIdentity: an STS error, the token not in the message: %s", E(&err));
  gls_buf_reset(&err);

  char missing[600];
  snprintf(missing, sizeof missing, "%s/no-such-token-file", tmpdir);
  st = gls_creds_web_identity(ep, arn, "s", missing, 0, &HTTP, &c, &err);
  ok(st != GLS_OK && contains(&err, "cannot read the web identity token file") && contains(&err, "no-such-token-file"),
     "AssumeRoleWithWebIdentity: a missing token file: %s", E(&err));
  gls_buf_free(&err);
}

/* ---------------------------------------------------------------- container */

static void test_container(void) {
  reset();
  char uri[200];
  snprintf(uri, sizeof uri, "%s/container/creds", server);
  gls_creds c = {0};
  gls_buf err = {0};
  gls_status st = gls_creds_container(uri, "container-auth-token", &HTTP, &c, &err);
  ok(st == GLS_OK, "container: fetched with the auth token (%s)", E(&err));
  is_str(c.access_key_id, "ASIACONTAINER0001", "container: AccessKeyId");
  is_str(c.secret_access_key, "container/secret", "container: SecretAccessKey");
  is_str(c.session_token, "container+token", "container: Token");
  is_str(c.account_id, "123456789012", "container: AccountId");
  ok(c.expiration == T_EXP, "container: Expiration in epoch seconds");
  gls_creds_clear(&c);

  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  st = gls_creds_container(uri, "wrong-token", &HTTP, &c, &err);
  long ms = elapsed_ms(&t0);
  char want[400];
  snprintf(want, sizeof want, "container endpoint %s: HTTP 401 (after 3 attempts)", uri);
  is_str(E(&err), want, "container: auth token mismatch is an error");
  ok(st != GLS_OK && !contains(&err, "wrong-token"), "container: the token is not in the message");
  ok(counter("container") == 4 && ms >= 1900, "container: 3 attempts 1 s apart, as botocore (%ld ms)", ms);
  gls_buf_reset(&err);

  /* two failures then success: botocore's retry */
  ctl_do("/_ctl/fault", "{\"target\": \"container\", \"status\": 500, \"body\": \"{}\", \"count\": 2}");
  st = gls_creds_container(uri, "container-auth-token", &HTTP, &c, &err);
  ok(st == GLS_OK && counter("container") == 7, "container: two HTTP 500s then success (%s)", E(&err));
  gls_creds_clear(&c);
  gls_buf_reset(&err);

  ctl_do("/_ctl/config", "{\"container_token\": null}");
  ctl_do("/_ctl/fault", "{\"target\": \"container\", \"body\": \"{not json\", \"count\": 3}");
  st = gls_creds_container(uri, NULL, &HTTP, &c, &err);
  ok(st == GLS_E_BAD_RESPONSE && contains(&err, "not a JSON object"), "container: malformed JSON: %s", E(&err));
  gls_buf_reset(&err);

  ctl_do("/_ctl/fault", "{\"target\": \"container\", \"body\": \"{\\\"AccessKeyId\\\": \\\"A\\\", "
                        "\\\"SecretAccessKey\\\": \\\"S\\\"}\"}");
  st = gls_creds_container(uri, NULL, &HTTP, &c, &err);
  ok(st == GLS_E_BAD_RESPONSE && contains(&err, "the reply has no Token"), "container: missing Token: %s", E(&err));
  gls_buf_reset(&err);

  json_t *j = ctl("GET", "/_ctl/counters", NULL);
  ok(json_is_null(json_object_get(j, "last_container_auth")), "container: no Authorization header without a token");
  json_decref(j);

  st = gls_creds_container("http://example.com/creds", NULL, &HTTP, &c, &err);
  ok(st == GLS_E_CONFIG && contains(&err, "unsupported host example.com"),
     "container: http to another host is refused: %s", E(&err));
  gls_buf_reset(&err);
  st = gls_creds_container("http://169.254.170.9/creds", NULL, &HTTP, &c, &err);
  ok(st == GLS_E_CONFIG, "container: 169.254.170.9 is not allowed");
  gls_buf_reset(&err);

  st = gls_creds_container(uri, "line\nbreak", &HTTP, &c, &err);
  ok(st == GLS_E_CONFIG && contains(&err, "not a legal header value"), "container: a token with a line break: %s",
     E(&err));
  gls_buf_reset(&err);

  gls_http_opts quick = {1000, 300, 1, NULL, 1};
  ctl_do("/_ctl/fault", "{\"target\": \"container\", \"delay\": 1, \"count\": 3}");
  st = gls_creds_container(uri, NULL, &quick, &c, &err);
  ok(st == GLS_E_TIMEOUT && contains(&err, ": timed out after 300 ms (after 3 attempts)"),
     "container: timeouts: %s", E(&err));
  gls_buf_free(&err);
}

/* ---------------------------------------------------------------- IMDS */

static void test_imds(void) {
  reset();
  gls_http_opts imds = {1000, 1000, 1, NULL, 1};
  gls_creds c = {0};
  gls_buf err = {0};
  gls_status st = gls_creds_imds(server, 1, &imds, &c, &err);
  ok(st == GLS_OK, "IMDS: token, role, credentials (%s)", E(&err));
  is_str(c.access_key_id, "ASIAIMDS00000001", "IMDS: AccessKeyId");
  is_str(c.secret_access_key, "imds/secret", "IMDS: SecretAccessKey");
  is_str(c.session_token, "imds+token", "IMDS: Token");
  ok(c.expiration == T_EXP, "IMDS: Expiration in epoch seconds");
  ok(counter("imds_token") == 1 && counter("imds_role") == 1 && counter("imds_creds") == 1,
     "IMDS: one PUT, two GETs");
  gls_creds_clear(&c);

  char slash[160];
  snprintf(slash, sizeof slash, "%s/", server);
  st = gls_creds_imds(slash, 1, &imds, &c, &err);
  ok(st == GLS_OK, "IMDS: an endpoint with a trailing slash (%s)", E(&err));
  gls_creds_clear(&c);

  /* a token PUT that does not answer: fails fast, no IMDSv1 wait after it */
  reset();
  gls_http_opts quick = {300, 300, 1, NULL, 1};
  ctl_do("/_ctl/fault", "{\"target\": \"imds-token\", \"delay\": 2}");
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  st = gls_creds_imds(server, 1, &quick, &c, &err);
  long ms = elapsed_ms(&t0);
  is_str(E(&err), "IMDS: timed out after 300 ms fetching the token", "IMDS: token timeout message");
  ok(st == GLS_E_TIMEOUT && ms < 600, "IMDS: timing out is bounded by 2x the timeout (%ld ms)", ms);
  ok(counter("imds_role") == 0, "IMDS: nothing fetched after the token timed out");
  gls_buf_reset(&err);

  /* 404 on the token: IMDSv1, as botocore */
  reset();
  ctl_do("/_ctl/config", "{\"imds_v1\": true}");
  ctl_do("/_ctl/fault", "{\"target\": \"imds-token\", \"status\": 404, \"body\": \"\"}");
  st = gls_creds_imds(server, 1, &imds, &c, &err);
  ok(st == GLS_OK && c.session_token, "IMDS: token 404 falls back to IMDSv1 (%s)", E(&err));
  gls_creds_clear(&c);
  gls_buf_reset(&err);

  reset();
  ctl_do("/_ctl/fault", "{\"target\": \"imds-token\", \"status\": 403, \"body\": \"\"}");
  st = gls_creds_imds(server, 1, &imds, &c, &err);
  is_str(E(&err), "IMDS: HTTP 401 fetching the role name", "IMDS: v1 fallback refused by an IMDSv2-only service");
  gls_buf_reset(&err);

  reset();
  ctl_do("/_ctl/fault", "{\"target\": \"imds-token\", \"status\": 400, \"body\": \"\"}");
  st = gls_creds_imds(server, 3, &imds, &c, &err);
  ok(st != GLS_OK && contains(&err, "IMDS: HTTP 400 fetching the token") && counter("imds_token") == 1,
     "IMDS: token 400 is an error at once: %s", E(&err));
  gls_buf_reset(&err);

  /* 500 on the token, attempts 2: retried, then the token comes */
  reset();
  ctl_do("/_ctl/fault", "{\"target\": \"imds-token\", \"status\": 500, \"body\": \"\"}");
  st = gls_creds_imds(server, 2, &imds, &c, &err);
  ok(st == GLS_OK && counter("imds_token") == 2, "IMDS: a token 500 is tried again (%s)", E(&err));
  gls_creds_clear(&c);
  gls_buf_reset(&err);

  /* invalid JSON credentials are tried again, as botocore */
  reset();
  ctl_do("/_ctl/fault", "{\"target\": \"imds-creds\", \"body\": \"{oops\"}");
  st = gls_creds_imds(server, 2, &imds, &c, &err);
  ok(st == GLS_OK && counter("imds_creds") == 2, "IMDS: malformed JSON retried within attempts (%s)", E(&err));
  gls_creds_clear(&c);
  gls_buf_reset(&err);

  reset();
  ctl_do("/_ctl/fault", "{\"target\": \"imds-creds\", \"body\": \"{oops\"}");
  st = gls_creds_imds(server, 1, &imds, &c, &err);
  ok(st == GLS_E_BAD_RESPONSE &&
         contains(&err, "IMDS: bad JSON fetching the credentials of role gls-test-role"),
     "IMDS: malformed JSON with one attempt: %s", E(&err));
  gls_buf_reset(&err);

  reset();
  ctl_do("/_ctl/fault", "{\"target\": \"imds-role\", \"status\": 500, \"body\": \"\", \"count\": 2}");
  st = gls_creds_imds(server, 2, &imds, &c, &err);
  ok(st == GLS_E_SERVICE && contains(&err, "IMDS: HTTP 500 fetching the role name (after 2 attempts)"),
     "IMDS: role name HTTP 500 after the attempts: %s", E(&err));
  gls_buf_reset(&err);

  reset();
  ctl_do("/_ctl/config", "{\"imds_code\": \"AssumeRoleUnauthorizedAccess\"}");
  st = gls_creds_imds(server, 1, &imds, &c, &err);
  ok(st == GLS_E_SERVICE &&
         contains(&err, "IMDS: role gls-test-role: AssumeRoleUnauthorizedAccess: Instance profile is not trusted"),
     "IMDS: a Code other than Success: %s", E(&err));
  gls_buf_reset(&err);

  reset();
  ctl_do("/_ctl/fault", "{\"target\": \"imds-creds\", \"body\": \"{\\\"Code\\\": \\\"Success\\\", "
                        "\\\"AccessKeyId\\\": \\\"A\\\", \\\"SecretAccessKey\\\": \\\"S\\\", \\\"Token\\\": \\\"T\\\"}\"}");
  st = gls_creds_imds(server, 1, &imds, &c, &err);
  ok(st == GLS_E_BAD_RESPONSE && contains(&err, "have no Expiration"), "IMDS: missing Expiration: %s", E(&err));
  gls_buf_reset(&err);

  /* nothing listening */
  st = gls_creds_imds("http://127.0.0.1:1", 2, &imds, &c, &err);
  ok(st == GLS_E_TRANSPORT && contains(&err, "IMDS: cannot connect fetching the token") &&
         contains(&err, "(after 2 attempts)"),
     "IMDS: no service: %s", E(&err));
  gls_buf_free(&err);
}

/* The reply parsers alone (gls_creds_parse_reply, gls_creds_parse_sts):
 * the cases fuzz/creds found, kept in fuzz/regressions/creds too. */
static void test_parsers(void) {
  gls_creds c;
  gls_buf why = {0};
  /* a token where the Expiration should be: not shown in the message */
  const char *mixed = "{\"AccessKeyId\":\"ASIAX\",\"SecretAccessKey\":\"s3cr3t\","
                      "\"Token\":\"container+token\",\"Expiration\":\"2026-1container+token23+01:00\"}";
  gls_status st = gls_creds_parse_reply(GLS_CREDS_REPLY_CONTAINER, NULL, mixed, strlen(mixed), &c, &why);
  ok(st == GLS_E_BAD_RESPONSE && contains(&why, "not shown") && !contains(&why, "container+token"),
     "an Expiration holding a token is not shown: %s", E(&why));
  gls_buf_free(&why);
  /* a timestamp that is only wrong is shown, to help */
  const char *bad = "{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s\","
                    "\"Expiration\":\"2026-13-45T99:00:00Z\"}";
  st = gls_creds_parse_reply(GLS_CREDS_REPLY_PROCESS, NULL, bad, strlen(bad), &c, &why);
  ok(st == GLS_E_BAD_RESPONSE && contains(&why, "\"2026-13-45T99:00:00Z\" is not an RFC 3339"),
     "a bad timestamp is shown: %s", E(&why));
  gls_buf_free(&why);
  /* ...but not when a secret of the same reply stands in it (fuzz/regressions/creds/token-is-expiration) */
  const char *same = "{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s\","
                     "\"SessionToken\":\"1013-12-02T15:00:00+01:80\",\"Expiration\":\"1013-12-02T15:00:00+01:80\"}";
  st = gls_creds_parse_reply(GLS_CREDS_REPLY_PROCESS, NULL, same, strlen(same), &c, &why);
  ok(st == GLS_E_BAD_RESPONSE && contains(&why, "not shown") && !contains(&why, "1013-12-02"),
     "an Expiration holding the reply's token is not shown: %s", E(&why));
  gls_buf_free(&why);
  const char *xml = "<AssumeRoleResponse><AssumeRoleResult><Credentials>"
                    "<AccessKeyId>ASIAX</AccessKeyId><SecretAccessKey>xml/secret+key</SecretAccessKey>"
                    "<SessionToken>xmltoken</SessionToken><Expiration>xml/secret+key</Expiration>"
                    "</Credentials></AssumeRoleResult></AssumeRoleResponse>";
  st = gls_creds_parse_sts("AssumeRole", 200, xml, strlen(xml), &c, &why);
  ok(st == GLS_E_BAD_RESPONSE && !contains(&why, "xml/secret+key"),
     "STS: an Expiration holding the secret is not shown: %s", E(&why));
  gls_buf_free(&why);
  /* IMDS: a Code other than Success is shown with its Message, unless the
   * document holds credentials (then either may be a secret) */
  const char *fail = "{\"Code\":\"AssumeRoleUnauthorizedAccess\",\"Message\":\"EC2 cannot assume the role\"}";
  st = gls_creds_parse_reply(GLS_CREDS_REPLY_IMDS, "role r", fail, strlen(fail), &c, &why);
  ok(st == GLS_E_SERVICE && contains(&why, "role r: AssumeRoleUnauthorizedAccess: EC2 cannot assume the role"),
     "IMDS: a failure's Code and Message are shown: %s", E(&why));
  gls_buf_free(&why);
  const char *mixed2 = "{\"Code\":\"imd1s+token\",\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s3cr3t-key\","
                       "\"Token\":\"imd1s+token\",\"Message\":\"s3cr3t-key\"}";
  st = gls_creds_parse_reply(GLS_CREDS_REPLY_IMDS, "role r", mixed2, strlen(mixed2), &c, &why);
  ok(st == GLS_E_SERVICE && !contains(&why, "imd1s+token") && !contains(&why, "s3cr3t-key"),
     "IMDS: a Code or Message holding a secret is not shown: %s", E(&why));
  gls_buf_free(&why);
  /* the timestamp parser under them: strict, ranges checked, finite */
  double t = 0;
  ok(gls_parse_iso8601(T_EXP_STR, &t) == 0 && t == (double)T_EXP, "%s is %lld", T_EXP_STR, T_EXP);
  ok(gls_parse_iso8601("2031-01-02T04:04:05.25+01:00", &t) == 0 && t == (double)T_EXP + 0.25,
     "an offset and a fraction");
  ok(gls_parse_iso8601("2024-02-29T00:00:00Z", &t) == 0 && t == 1709164800.0, "a leap day");
  const char *refused[] = {"2026-13-01T00:00:00Z", "2026-01-32T00:00:00Z", "2025-02-29T00:00:00Z",
                           "2026-01-01T99:00:00Z", "2026-01-01T00:00:nanZ", "2026-01-01T00:00:1e300",
                           "2026-1-01T00:00:00Z", " 2026-01-01T00:00:00Z", "2026-01-01T00:00:00+5:00",
                           "2026-01-01T00:00:00Zjunk", "2026-01-01T00:00:00.Z", "+2026-01-01T00:00:00Z"};
  for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
    ok(gls_parse_iso8601(refused[i], &t) == -1, "refused: \"%s\"", refused[i]);
}

int main(void) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  test_parsers();
  /* unset proxies: the fixtures are local; proxy_bypass covers the rest */
  snprintf(tmpdir, sizeof tmpdir, "/tmp/gls-creds-test.XXXXXX");
  if (!mkdtemp(tmpdir)) {
    perror("mkdtemp");
    return 2;
  }
  test_process();
  char why[300];
  if (start_server(why, sizeof why)) {
    skip(why, "STS, container and IMDS tests");
  } else {
    test_assume_role();
    test_web_identity();
    test_container();
    test_imds();
    stop_server();
  }
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
  curl_global_cleanup();
  return done_testing();
}
