/* fuzz/awsconfig.c - the AWS config and credentials file parser
 * (src/awsconfig.c) and the credential chain's choice over what it parsed
 * (src/chain.c: source_profile chains, loops, credential_source, web
 * identity, container and IMDS settings; nothing is fetched).
 *
 * Input: NUL-separated fields: the environment ("NAME=value" lines), the
 * config file, then the credentials file (the rest, NUL bytes included).
 *
 * Properties: loading either succeeds or fails with a message; every
 * profile named by a section header can be looked up; the chain selects a
 * source or says why not (a message), for each of them. */
#include "fuzz_util.h"
#include "awsconfig.h"
#include "chain.h"

#define MAX_NAMES 12

typedef struct env {
  char *text; /* "NAME=value\n..." (owned by the fz reader) */
  char scratch[512];
} env;

static const char *env_lookup(void *ud, const char *name) {
  env *e = ud;
  size_t nl = strlen(name);
  for (const char *p = e->text; *p;) {
    const char *end = strchr(p, '\n');
    size_t ll = end ? (size_t)(end - p) : strlen(p);
    if (ll > nl && !strncmp(p, name, nl) && p[nl] == '=') {
      size_t vl = ll - nl - 1;
      if (vl >= sizeof e->scratch) vl = sizeof e->scratch - 1;
      memcpy(e->scratch, p + nl + 1, vl);
      e->scratch[vl] = '\0';
      return e->scratch;
    }
    p += ll + (end ? 1 : 0);
  }
  return NULL;
}

/* Profile names a text's section headers suggest: "[profile x]" -> "x",
 * "[x]" -> "x". Loose on purpose: names that do not exist are fine too. */
static size_t names_in(const char *t, size_t len, char names[][64], size_t n, size_t max) {
  for (size_t i = 0; i < len && n < max; i++) {
    if (t[i] != '[') continue;
    size_t j = i + 1;
    while (j < len && t[j] != ']' && t[j] != '\n' && t[j] != '\0') j++;
    if (j >= len || t[j] != ']') continue;
    const char *b = t + i + 1;
    size_t k = j - i - 1;
    if (k > 8 && !strncmp(b, "profile ", 8)) b += 8, k -= 8;
    if (k >= 64) k = 63;
    memcpy(names[n], b, k);
    names[n][k] = '\0';
    n++;
  }
  return n;
}

static const char *const KEYS[] = {
  "region", "role_arn", "source_profile", "credential_source", "credential_process",
  "aws_access_key_id", "aws_secret_access_key", "web_identity_token_file", "services",
  "endpoint_url", "s3.max_concurrent_requests", "gameliftstreams.endpoint_url", NULL,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz r;
  fz_init(&r, data, size);
  env e = {0};
  e.text = fz_field(&r, NULL);
  size_t clen, klen;
  char *config = fz_field(&r, &clen);
  char *creds = fz_rest(&r, &klen);

  gls_buf err = {0};
  gls_awsconfig *c = gls_awsconfig_load_texts(config, clen, creds, klen, &err);
  if (!c) {
    FZ_ASSERT(err.len > 0, "loading failed without a message");
    gls_buf_free(&err);
    fz_free(&r);
    return 0;
  }
  FZ_ASSERT(err.len == 0, "loading succeeded with a message: %s", err.data);
  char names[MAX_NAMES][64];
  size_t n = 0;
  strcpy(names[n++], "default");
  n = names_in(config, clen, names, n, MAX_NAMES);
  n = names_in(creds, klen, names, n, MAX_NAMES);
  for (size_t i = 0; i < n; i++) {
    int has = gls_awsconfig_has_profile(c, names[i]);
    for (int k = 0; KEYS[k]; k++) {
      const char *v = gls_awsconfig_get(c, names[i], KEYS[k]);
      FZ_ASSERT(!v || has, "profile %s has no section but a value for %s", names[i], KEYS[k]);
      if (v) (void)strlen(v);
    }
    const char *svc = gls_awsconfig_get(c, names[i], "services");
    if (svc) {
      const char *ep = gls_awsconfig_service(c, svc, "gameliftstreams", "endpoint_url");
      if (ep) (void)strlen(ep);
      ep = gls_awsconfig_service(c, svc, "sts", "endpoint_url");
      if (ep) (void)strlen(ep);
    }
    for (int explicit_profile = 0; explicit_profile < 2; explicit_profile++) {
      gls_chain_env ce = {env_lookup, &e, c, names[i], explicit_profile, "us-west-2", NULL};
      gls_buf why = {0};
      gls_credsource *s = gls_chain_select(&ce, &why);
      if (s) {
        FZ_ASSERT(gls_credsource_name(s)[0] != '\0', "a source without a name");
        gls_credsource_free(s);
      } else {
        FZ_ASSERT(why.len > 0, "profile %s: no source and no message saying why", names[i]);
      }
      gls_buf_free(&why);
    }
  }
  gls_awsconfig_free(c);
  gls_buf_free(&err);
  fz_free(&r);
  return 0;
}
