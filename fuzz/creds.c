/* fuzz/creds.c - the parsers of what credential sources send back
 * (src/credentials.c): credential_process output, the container endpoint's
 * and IMDS's JSON, STS's XML (AssumeRole, AssumeRoleWithWebIdentity), and
 * the RFC 3339 Expiration inside them.
 *
 * Input: byte kind (% 4: process, container, IMDS, STS), byte HTTP status
 * for STS (% 4: 200, 400, 403, 500), then the reply (the rest).
 *
 * Properties: a success carries a key id and a secret (and, but for
 * credential_process, a session token, unless the reply's Token is "",
 * which botocore also takes as none); a failure has a message, and that
 * message never holds the reply's secret key or session token. */
#include <jansson.h>
#include "fuzz_util.h"
#include "credentials.h"

/* The text of the first <name>...</name> in an XML body, for the leak check. */
static char *xml_leaf(const char *body, const char *name) {
  char open[64], close[64];
  snprintf(open, sizeof open, "<%s>", name);
  snprintf(close, sizeof close, "</%s>", name);
  const char *b = strstr(body, open);
  if (!b) return NULL;
  b += strlen(open);
  const char *e = strstr(b, close);
  return e ? strndup(b, (size_t)(e - b)) : NULL;
}

/* Secrets are checked when they could not be words of the message itself:
 * 8 bytes or more, and something besides letters and spaces (a token of
 * "credentials" is in "the credentials of role ..." by chance). */
static void no_leak(const char *msg, const char *secret, const char *what) {
  if (secret && strlen(secret) >= 8 &&
      strspn(secret, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz ") < strlen(secret))
    FZ_ASSERT(!strstr(msg, secret), "the message shows the reply's %s: %s", what, msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const long STATUS[4] = {200, 400, 403, 500};
  fz r;
  fz_init(&r, data, size);
  unsigned kind = fz_byte(&r) % 4;
  long status = STATUS[fz_byte(&r) % 4];
  size_t len;
  char *text = fz_rest(&r, &len);

  gls_creds c;
  gls_buf err = {0};
  gls_status st;
  if (kind < 3) {
    int k = kind == 0 ? GLS_CREDS_REPLY_PROCESS : kind == 1 ? GLS_CREDS_REPLY_CONTAINER
                                                            : GLS_CREDS_REPLY_IMDS;
    st = gls_creds_parse_reply(k, kind == 2 ? "role fuzz" : NULL, text, len, &c, &err);
  } else {
    st = gls_creds_parse_sts("AssumeRole for arn:aws:iam::123456789012:role/fuzz", status, text,
                             len, &c, &err);
  }
  if (st == GLS_OK) {
    FZ_ASSERT(c.access_key_id && c.secret_access_key, "a success without a key");
    if (kind == 1 || kind == 2) {
      /* the token is required, but "" is taken as none, as botocore does */
      json_error_t je;
      json_t *root = json_loadb(text, len, 0, &je);
      json_t *tok = json_object_get(root, "Token");
      FZ_ASSERT(c.session_token || (json_is_string(tok) && !json_string_length(tok)),
                "a success without a session token");
      json_decref(root);
    }
    FZ_ASSERT(kind != 3 || c.session_token, "STS: a success without a session token");
    FZ_ASSERT(kind != 3 || status == 200, "STS: a success on HTTP %ld", status);
    FZ_ASSERT(err.len == 0, "a success with a message: %s", err.data);
    gls_creds_clear(&c);
  } else {
    FZ_ASSERT(err.len > 0, "a failure (%d) without a message", st);
    FZ_ASSERT(!c.access_key_id && !c.secret_access_key && !c.session_token,
              "a failure that left credentials behind");
    if (kind < 3) {
      json_error_t je;
      json_t *root = json_loadb(text, len, 0, &je);
      const char *names[] = {"SecretAccessKey", "SessionToken", "Token"};
      for (int i = 0; i < 3; i++) {
        json_t *v = json_object_get(root, names[i]);
        if (json_is_string(v)) no_leak(err.data, json_string_value(v), names[i]);
      }
      json_decref(root);
    } else {
      const char *names[] = {"SecretAccessKey", "SessionToken"};
      for (int i = 0; i < 2; i++) {
        char *v = xml_leaf(text, names[i]);
        no_leak(err.data, v, names[i]);
        free(v);
      }
    }
  }
  gls_buf_free(&err);
  fz_free(&r);
  return 0;
}
