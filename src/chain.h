/* chain.h - where credentials come from, chosen as the AWS CLI chooses, and
 * kept fresh. Internal. */
#ifndef GLS_CHAIN_H
#define GLS_CHAIN_H

#include <stdint.h>
#include "awsconfig.h"
#include "credentials.h"

/* What the chain reads besides the files. */
typedef struct gls_chain_env {
  gls_getenv_fn getenv;
  void *ud;
  const gls_awsconfig *cfg;      /* may be NULL: no files */
  const char *profile;           /* the profile in use */
  int profile_explicit;          /* set by the caller, not AWS_PROFILE: skips env */
  const char *region;            /* the client's region (STS), may be NULL */
  const gls_creds *explicit_creds; /* may be NULL */
} gls_chain_env;

/* A selected credential source, and its cache. Owned by the client. */
typedef struct gls_credsource gls_credsource;

/* Picks the first source that applies, in the AWS CLI's order: explicit,
 * environment, assume-role profile (source_profile chains,
 * credential_source), web identity (environment, then profile), profile
 * keys, credential_process, container, IMDS. Looks at configuration only:
 * nothing touches the network here. NULL with a message in err when none
 * applies or the configuration is wrong (a missing source profile, a loop). */
gls_credsource *gls_chain_select(const gls_chain_env *env, gls_buf *err);
void gls_credsource_free(gls_credsource *s);

/* "environment", "profile prod (credential_process)", ... (borrowed). */
const char *gls_credsource_name(const gls_credsource *s);

/* Current credentials at now (epoch seconds), fetching or refreshing when
 * they are missing or within 15 minutes of expiry (advisory: a failed
 * refresh keeps the old ones while they stay valid for 10 more minutes,
 * after that (mandatory) a failed refresh is an error). *out is borrowed
 * from s until the next call. One fetch at a time: the client is
 * single-threaded, and a fetch is a bounded blocking call. */
gls_status gls_credsource_get(gls_credsource *s, int64_t now, const gls_http_opts *http,
                              const gls_creds **out, gls_buf *err);

/* How many fetches this source (not counting its own sources) made. */
int gls_credsource_fetches(const gls_credsource *s);

#endif
