/* chain.c - the credential provider chain, as the AWS CLI v2 (botocore)
 * orders it, over the fetchers of credentials.c and the files of
 * awsconfig.c. See chain.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <openssl/crypto.h>
#include "chain.h"
#include "endpoint.h"

enum { SRC_STATIC, SRC_PROCESS, SRC_ASSUME_ROLE, SRC_WEB_IDENTITY, SRC_CONTAINER, SRC_IMDS };

#define ADVISORY_S (15 * 60)
#define MANDATORY_S (10 * 60)

struct gls_credsource {
  int kind;
  char name[160];
  gls_creds cached;
  int have, fetches;
  /* process */
  char *command;
  long process_timeout_ms;
  /* assume role / web identity */
  char *role_arn, *session_name, *external_id, *mfa_serial, *sts_endpoint, *sts_region, *token_file;
  long duration_s;
  gls_credsource *source;
  /* container */
  char *uri, *auth_token, *auth_token_file;
  /* imds */
  char *imds_endpoint;
  int imds_attempts;
  long imds_timeout_ms;
};

static const char *env_get(const gls_chain_env *e, const char *name) {
  const char *v = e->getenv ? e->getenv(e->ud, name) : NULL;
  return v && *v ? v : NULL;
}

static const char *prof(const gls_chain_env *e, const char *profile, const char *key) {
  const char *v = e->cfg ? gls_awsconfig_get(e->cfg, profile, key) : NULL;
  return v && *v ? v : NULL;
}

static char *dup0(const char *s) { return s ? strdup(s) : NULL; }

static void wipe(char **p) {
  if (*p) {
    OPENSSL_cleanse(*p, strlen(*p));
    free(*p);
    *p = NULL;
  }
}

void gls_credsource_free(gls_credsource *s) {
  if (!s) return;
  gls_creds_clear(&s->cached);
  free(s->command);
  free(s->role_arn);
  free(s->session_name);
  free(s->external_id);
  free(s->mfa_serial);
  free(s->sts_endpoint);
  free(s->sts_region);
  free(s->token_file);
  free(s->uri);
  wipe(&s->auth_token);
  free(s->auth_token_file);
  free(s->imds_endpoint);
  gls_credsource_free(s->source);
  OPENSSL_cleanse(s, sizeof *s);
  free(s);
}

const char *gls_credsource_name(const gls_credsource *s) { return s ? s->name : "none"; }
int gls_credsource_fetches(const gls_credsource *s) { return s ? s->fetches : 0; }

static gls_credsource *new_source(int kind, const char *fmt, const char *a) {
  gls_credsource *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  s->kind = kind;
  snprintf(s->name, sizeof s->name, fmt, a ? a : "");
  return s;
}

static gls_credsource *static_source(const char *name_fmt, const char *arg, const char *akid,
                                     const char *secret, const char *token) {
  gls_credsource *s = new_source(SRC_STATIC, name_fmt, arg);
  if (!s) return NULL;
  s->cached.access_key_id = dup0(akid);
  s->cached.secret_access_key = dup0(secret);
  s->cached.session_token = dup0(token);
  s->have = 1;
  if (!s->cached.access_key_id || !s->cached.secret_access_key || (token && !s->cached.session_token)) {
    gls_credsource_free(s);
    return NULL;
  }
  return s;
}

/* STS's endpoint: AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, the profile's
 * services section, its endpoint_url, then https://sts.{region}.{dnsSuffix}
 * (regional, the AWS CLI v2 default), or the global one with no region. */
static char *sts_endpoint(const gls_chain_env *e, const char *profile, const char *region) {
  const char *v = env_get(e, "AWS_ENDPOINT_URL_STS");
  if (!v) v = env_get(e, "AWS_ENDPOINT_URL");
  if (!v && e->cfg) {
    const char *svc = prof(e, profile, "services");
    if (svc) v = gls_awsconfig_service(e->cfg, svc, "sts", "endpoint_url");
    if (!v) v = prof(e, profile, "endpoint_url");
  }
  if (v) return strdup(v);
  gls_buf b = {0};
  if (region) gls_buf_printf(&b, "https://sts.%s.%s", region, gls_partition_for(region)->dns_suffix);
  else gls_buf_adds(&b, "https://sts.amazonaws.com");
  return b.data;
}

static gls_credsource *web_identity(const gls_chain_env *e, const char *profile, const char *role_arn,
                                    const char *token_file, const char *session, const char *why) {
  gls_credsource *s = new_source(SRC_WEB_IDENTITY, "web identity (%s)", why);
  if (!s) return NULL;
  s->role_arn = dup0(role_arn);
  s->token_file = dup0(token_file);
  s->session_name = dup0(session);
  s->sts_region = dup0(e->region);
  s->sts_endpoint = sts_endpoint(e, profile, e->region);
  return s;
}

static gls_credsource *container_source(const gls_chain_env *e, gls_buf *err) {
  const char *rel = env_get(e, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
  const char *full = env_get(e, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
  if (!rel && !full) return NULL;
  gls_credsource *s = new_source(SRC_CONTAINER, "container endpoint%s", "");
  if (!s) return NULL;
  gls_buf u = {0};
  if (rel) gls_buf_printf(&u, "http://169.254.170.2%s", rel);
  else gls_buf_adds(&u, full);
  s->uri = u.data;
  s->auth_token_file = dup0(env_get(e, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"));
  s->auth_token = dup0(env_get(e, "AWS_CONTAINER_AUTHORIZATION_TOKEN"));
  (void)err;
  return s;
}

/* A configured number of seconds as milliseconds, 1 ms .. 1 hour;
 * fallback when t is not a positive number. The bound comes first: the
 * text may say 3.3e25 or inf, and such a double cast to long is undefined
 * (fuzz/regressions/awsconfig/huge-metadata-timeout). */
static long seconds_ms(const char *t, long fallback) {
  if (!t) return fallback;
  char *end;
  double secs = strtod(t, &end);
  if (end == t || !(secs > 0)) return fallback;
  if (secs > 3600) secs = 3600;
  long ms = (long)(secs * 1000);
  return ms < 1 ? 1 : ms;
}

static gls_credsource *imds_source(const gls_chain_env *e, const char *profile) {
  const char *off = env_get(e, "AWS_EC2_METADATA_DISABLED");
  if (off && !strcasecmp(off, "true")) return NULL;
  gls_credsource *s = new_source(SRC_IMDS, "EC2 instance metadata (IMDSv2)%s", "");
  if (!s) return NULL;
  const char *ep = env_get(e, "AWS_EC2_METADATA_SERVICE_ENDPOINT");
  if (!ep) ep = prof(e, profile, "ec2_metadata_service_endpoint");
  const char *mode = env_get(e, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
  if (!mode) mode = prof(e, profile, "ec2_metadata_service_endpoint_mode");
  if (!ep) ep = mode && !strcasecmp(mode, "IPv6") ? "http://[fd00:ec2::254]" : "http://169.254.169.254";
  s->imds_endpoint = strdup(ep);
  const char *t = env_get(e, "AWS_METADATA_SERVICE_TIMEOUT");
  if (!t) t = prof(e, profile, "metadata_service_timeout");
  const char *n = env_get(e, "AWS_METADATA_SERVICE_NUM_ATTEMPTS");
  if (!n) n = prof(e, profile, "metadata_service_num_attempts");
  s->imds_timeout_ms = seconds_ms(t, 1000);
  long k = n ? strtol(n, NULL, 10) : 1;
  s->imds_attempts = k < 1 ? 1 : k > 100 ? 100 : (int)k;
  return s;
}

/* The source credentials of an assume-role profile (botocore's
 * AssumeRoleProvider._resolve_source_credentials). visited guards loops. */
static gls_credsource *role_source(const gls_chain_env *e, const char *profile, const char **visited,
                                   int depth, gls_buf *err);

static gls_credsource *assume_role(const gls_chain_env *e, const char *profile, const char **visited,
                                   int depth, gls_buf *err) {
  gls_credsource *src = role_source(e, profile, visited, depth, err);
  if (!src) return NULL;
  gls_credsource *s = new_source(SRC_ASSUME_ROLE, "profile %s (assume role)", profile);
  if (!s) {
    gls_credsource_free(src);
    return NULL;
  }
  s->source = src;
  s->role_arn = dup0(prof(e, profile, "role_arn"));
  const char *sn = prof(e, profile, "role_session_name");
  char def[64];
  if (!sn) {
    snprintf(def, sizeof def, "gls-session-%lld", (long long)time(NULL));
    sn = def;
  }
  s->session_name = strdup(sn);
  s->external_id = dup0(prof(e, profile, "external_id"));
  s->mfa_serial = dup0(prof(e, profile, "mfa_serial"));
  const char *d = prof(e, profile, "duration_seconds");
  s->duration_s = d ? atol(d) : 0;
  const char *region = prof(e, profile, "region");
  if (!region) region = e->region;
  s->sts_region = dup0(region);
  s->sts_endpoint = sts_endpoint(e, profile, region);
  return s;
}

static gls_credsource *role_source(const gls_chain_env *e, const char *profile, const char **visited,
                                   int depth, gls_buf *err) {
  const char *sp = prof(e, profile, "source_profile");
  const char *cs = prof(e, profile, "credential_source");
  if ((sp && cs) || (!sp && !cs)) {
    gls_buf_printf(err, "profile \"%s\": role_arn needs exactly one of source_profile or credential_source",
                   profile);
    return NULL;
  }
  if (cs) {
    if (!strcmp(cs, "Environment")) {
      const char *a = env_get(e, "AWS_ACCESS_KEY_ID"), *k = env_get(e, "AWS_SECRET_ACCESS_KEY");
      if (!a || !k) {
        gls_buf_printf(err, "profile \"%s\": credential_source Environment, but AWS_ACCESS_KEY_ID and "
                       "AWS_SECRET_ACCESS_KEY are not both set", profile);
        return NULL;
      }
      const char *t = env_get(e, "AWS_SESSION_TOKEN");
      if (!t) t = env_get(e, "AWS_SECURITY_TOKEN");
      return static_source("environment%s", "", a, k, t);
    }
    if (!strcmp(cs, "Ec2InstanceMetadata")) {
      const char *off = env_get(e, "AWS_EC2_METADATA_DISABLED");
      if (off && !strcasecmp(off, "true")) {
        /* botocore: "No credentials found in credential_source referenced
         * in profile ..."; imds_source would give NULL without a word */
        gls_buf_printf(err, "profile \"%s\": credential_source Ec2InstanceMetadata, but instance "
                       "metadata is turned off (AWS_EC2_METADATA_DISABLED=true)", profile);
        return NULL;
      }
      return imds_source(e, profile);
    }
    if (!strcmp(cs, "EcsContainer")) {
      gls_credsource *c = container_source(e, err);
      if (!c) gls_buf_printf(err, "profile \"%s\": credential_source EcsContainer, but no container "
                             "credentials URI is set", profile);
      return c;
    }
    gls_buf_printf(err, "profile \"%s\": credential_source \"%s\" is not one of Environment, "
                   "Ec2InstanceMetadata, EcsContainer", profile, cs);
    return NULL;
  }
  if (!gls_awsconfig_has_profile(e->cfg, sp)) {
    gls_buf_printf(err, "profile \"%s\": source_profile \"%s\" does not exist", profile, sp);
    return NULL;
  }
  for (int i = 0; i < depth; i++)
    if (!strcmp(visited[i], sp) && strcmp(sp, profile)) {
      gls_buf_printf(err, "profile \"%s\": source_profile \"%s\" makes a loop of assume-role profiles",
                     profile, sp);
      return NULL;
    }
  if (depth >= 16) {
    gls_buf_printf(err, "profile \"%s\": more than 16 chained assume-role profiles", profile);
    return NULL;
  }
  visited[depth] = sp;
  /* a profile may name itself as source only for its own static keys */
  if (prof(e, sp, "role_arn") && strcmp(sp, profile)) {
    if (prof(e, sp, "web_identity_token_file"))
      return web_identity(e, sp, prof(e, sp, "role_arn"), prof(e, sp, "web_identity_token_file"),
                          prof(e, sp, "role_session_name"), sp);
    return assume_role(e, sp, visited, depth + 1, err);
  }
  if (prof(e, sp, "credential_process") && !prof(e, sp, "aws_access_key_id")) {
    gls_credsource *s = new_source(SRC_PROCESS, "profile %s (credential_process)", sp);
    if (s) {
      s->command = strdup(prof(e, sp, "credential_process"));
      s->process_timeout_ms = 60000;
    }
    return s;
  }
  const char *a = prof(e, sp, "aws_access_key_id"), *k = prof(e, sp, "aws_secret_access_key");
  if (!a || !k) {
    gls_buf_printf(err, "profile \"%s\": source_profile \"%s\" has no credentials", profile, sp);
    return NULL;
  }
  return static_source("profile %s (keys)", sp, a, k, prof(e, sp, "aws_session_token"));
}

gls_credsource *gls_chain_select(const gls_chain_env *e, gls_buf *err) {
  const char *p = e->profile ? e->profile : "default";
  /* 1. explicit */
  if (e->explicit_creds && e->explicit_creds->access_key_id)
    return static_source("explicit credentials%s", "", e->explicit_creds->access_key_id,
                         e->explicit_creds->secret_access_key, e->explicit_creds->session_token);
  /* 2. environment (not when the caller named a profile) */
  if (!e->profile_explicit) {
    const char *a = env_get(e, "AWS_ACCESS_KEY_ID"), *k = env_get(e, "AWS_SECRET_ACCESS_KEY");
    if (a && k) {
      const char *t = env_get(e, "AWS_SESSION_TOKEN");
      if (!t) t = env_get(e, "AWS_SECURITY_TOKEN");
      return static_source("environment%s", "", a, k, t);
    }
    if (a || k) {
      gls_buf_printf(err, "environment: %s is set but %s is not", a ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                     a ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
      return NULL;
    }
  }
  /* 3. assume role from the profile */
  if (prof(e, p, "role_arn") && !prof(e, p, "web_identity_token_file")) {
    const char *visited[17] = {p};
    return assume_role(e, p, visited, 1, err);
  }
  /* 4. web identity: environment, then profile */
  const char *wf = env_get(e, "AWS_WEB_IDENTITY_TOKEN_FILE"), *wr = env_get(e, "AWS_ROLE_ARN");
  if (wf && wr) return web_identity(e, p, wr, wf, env_get(e, "AWS_ROLE_SESSION_NAME"), "environment");
  if (prof(e, p, "web_identity_token_file") && prof(e, p, "role_arn"))
    return web_identity(e, p, prof(e, p, "role_arn"), prof(e, p, "web_identity_token_file"),
                        prof(e, p, "role_session_name"), p);
  /* 5. profile keys (credentials file, then config file: merged) */
  const char *a = prof(e, p, "aws_access_key_id"), *k = prof(e, p, "aws_secret_access_key");
  if (a && k) return static_source("profile %s (keys)", p, a, k, prof(e, p, "aws_session_token"));
  if (a || k) {
    gls_buf_printf(err, "profile \"%s\": %s is set but %s is not", p,
                   a ? "aws_access_key_id" : "aws_secret_access_key", a ? "aws_secret_access_key" : "aws_access_key_id");
    return NULL;
  }
  /* 6. credential_process */
  const char *cmd = prof(e, p, "credential_process");
  if (cmd) {
    gls_credsource *s = new_source(SRC_PROCESS, "profile %s (credential_process)", p);
    if (s) {
      s->command = strdup(cmd);
      s->process_timeout_ms = 60000;
    }
    return s;
  }
  /* 7. container, 8. IMDS */
  gls_credsource *c = container_source(e, err);
  if (c || err->len) return c;
  c = imds_source(e, p);
  if (c) return c;
  gls_buf_adds(err, "Unable to locate credentials: none of explicit, environment, profile (keys, "
                    "assume role, web identity, credential_process), container or IMDS applies");
  return NULL;
}

static char *read_small_file(const char *path, gls_buf *err, const char *what) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    gls_buf_printf(err, "%s: cannot read %s", what, path);
    return NULL;
  }
  gls_buf b = {0};
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len < (1 << 20)) gls_buf_add(&b, chunk, n);
  fclose(f);
  while (b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r')) b.data[--b.len] = '\0';
  if (!b.data) gls_buf_adds(&b, "");
  return b.data;
}

static gls_status fetch(gls_credsource *s, int64_t now, const gls_http_opts *http, gls_creds *out,
                        gls_buf *err) {
  gls_http_opts local = *http;
  switch (s->kind) {
  case SRC_PROCESS:
    return gls_creds_process(s->command, s->process_timeout_ms, out, err);
  case SRC_ASSUME_ROLE: {
    const gls_creds *src = NULL;
    gls_status st = gls_credsource_get(s->source, now, http, &src, err);
    if (st != GLS_OK) return st;
    gls_assume_role p = {s->sts_endpoint, s->sts_region ? s->sts_region : "us-east-1", s->role_arn,
                         s->session_name, s->external_id, s->duration_s, NULL, NULL, now};
    if (s->mfa_serial) {
      gls_buf_printf(err, "%s: mfa_serial is set, and gls cannot prompt for an MFA code", s->name);
      return GLS_E_NO_CREDENTIALS;
    }
    return gls_creds_assume_role(src, &p, http, out, err);
  }
  case SRC_WEB_IDENTITY:
    return gls_creds_web_identity(s->sts_endpoint, s->role_arn, s->session_name ? s->session_name : "gls-web-identity",
                                  s->token_file, 0, http, out, err);
  case SRC_CONTAINER: {
    char *tok = s->auth_token_file ? read_small_file(s->auth_token_file, err, "container endpoint") : NULL;
    if (s->auth_token_file && !tok) return GLS_E_NO_CREDENTIALS;
    local.proxy_bypass = 1;
    if (local.timeout_ms <= 0 || local.timeout_ms > 2000) local.timeout_ms = 2000;
    gls_status st = gls_creds_container(s->uri, tok ? tok : s->auth_token, &local, out, err);
    wipe(&tok);
    return st;
  }
  case SRC_IMDS:
    local.proxy_bypass = 1;
    local.timeout_ms = s->imds_timeout_ms;
    local.connect_timeout_ms = s->imds_timeout_ms;
    return gls_creds_imds(s->imds_endpoint, s->imds_attempts, &local, out, err);
  default:
    gls_buf_printf(err, "%s: no credentials", s->name);
    return GLS_E_NO_CREDENTIALS;
  }
}

gls_status gls_credsource_get(gls_credsource *s, int64_t now, const gls_http_opts *http,
                              const gls_creds **out, gls_buf *err) {
  *out = NULL;
  if (s->kind == SRC_STATIC || (s->have && (s->cached.expiration == 0 ||
                                            s->cached.expiration - now > ADVISORY_S))) {
    *out = &s->cached;
    return GLS_OK;
  }
  gls_creds fresh = {0};
  gls_buf why = {0};
  s->fetches++;
  gls_status st = fetch(s, now, http, &fresh, &why);
  if (st == GLS_OK) {
    gls_creds_clear(&s->cached);
    s->cached = fresh;
    s->have = 1;
    *out = &s->cached;
  } else if (s->have && s->cached.expiration - now > MANDATORY_S) {
    st = GLS_OK; /* advisory refresh failed: the old ones are still good */
    *out = &s->cached;
  } else {
    gls_buf_printf(err, "%s", why.data ? why.data : s->name);
  }
  gls_buf_free(&why);
  return st;
}
