/* credentials.h - fetching credentials from the sources that need work:
 * credential_process, STS (AssumeRole, AssumeRoleWithWebIdentity), the
 * container endpoint (ECS, EKS Pod Identity) and EC2 IMDSv2. Internal.
 *
 * Every fetch is a blocking call bounded by its own timeouts, fills *out on
 * success and, on failure, writes a message to err that names the source and
 * why (never a secret: no key, token, or response body that holds one). */
#ifndef GLS_CREDENTIALS_H
#define GLS_CREDENTIALS_H

#include <stdint.h>
#include "gls_private.h"

typedef struct gls_creds {
  char *access_key_id;
  char *secret_access_key;   /* wiped by gls_creds_clear */
  char *session_token;       /* may be NULL; wiped by gls_creds_clear */
  int64_t expiration;        /* epoch seconds; 0 = does not expire */
  char *account_id;          /* may be NULL */
} gls_creds;

void gls_creds_clear(gls_creds *c);                           /* wipes, frees, zeroes */
int gls_creds_copy(gls_creds *dst, const gls_creds *src);     /* 0 ok, -1 ENOMEM */

/* How HTTP fetches behave. proxy_bypass: 1 = never use a proxy (link-local
 * and loopback credential endpoints); otherwise libcurl's environment proxy
 * rules apply. */
typedef struct gls_http_opts {
  long connect_timeout_ms;
  long timeout_ms;           /* the whole fetch */
  int verify_ssl;
  const char *ca_bundle;     /* NULL = system */
  int proxy_bypass;
} gls_http_opts;

/* credential_process: runs command through /bin/sh -c, reads its stdout
 * (bounded, 64 KiB), expects JSON {"Version":1,"AccessKeyId","SecretAccessKey",
 * "SessionToken"?,"Expiration"? (RFC 3339)}. Kills it after timeout_ms.
 * Non-zero exit, bad JSON, a wrong Version or missing keys are errors; its
 * stderr is passed through to ours, as the AWS CLI does. */
gls_status gls_creds_process(const char *command, long timeout_ms, gls_creds *out, gls_buf *err);

/* STS AssumeRole (query API, POST form body, Version=2011-06-15), signed
 * with source. endpoint is the STS URL ("https://sts.us-east-1.amazonaws.com"
 * or a test server). Optional (NULL/0): external_id, duration_s,
 * mfa_serial + mfa_token_code (not prompted). region is the signing region. */
typedef struct gls_assume_role {
  const char *endpoint, *region;
  const char *role_arn, *session_name, *external_id;
  long duration_s;
  const char *mfa_serial, *mfa_token_code;
  int64_t now;               /* signing time, epoch seconds */
} gls_assume_role;
gls_status gls_creds_assume_role(const gls_creds *source, const gls_assume_role *p,
                                 const gls_http_opts *http, gls_creds *out, gls_buf *err);

/* STS AssumeRoleWithWebIdentity (unsigned): the token is read from
 * token_file at each call. */
gls_status gls_creds_web_identity(const char *endpoint, const char *role_arn,
                                  const char *session_name, const char *token_file,
                                  long duration_s, const gls_http_opts *http,
                                  gls_creds *out, gls_buf *err);

/* The container endpoint: full_uri is already built (RELATIVE_URI gives
 * "http://169.254.170.2" + relative). Only http to loopback, 169.254.170.2,
 * 169.254.170.23 or [fd00:ec2::23], or any https URL, is allowed (else an
 * error that says so). auth_token (NULL = none) goes in Authorization;
 * callers read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE anew for each call
 * and pass its content. Reply JSON: AccessKeyId, SecretAccessKey, Token,
 * Expiration, AccountId?. */
gls_status gls_creds_container(const char *full_uri, const char *auth_token,
                               const gls_http_opts *http, gls_creds *out, gls_buf *err);

/* EC2 IMDSv2: PUT /latest/api/token (X-aws-ec2-metadata-token-ttl-seconds:
 * 21600), then GET /latest/meta-data/iam/security-credentials/ (role name)
 * and GET .../ROLE with X-aws-ec2-metadata-token. endpoint default
 * "http://169.254.169.254". attempts >= 1 (AWS_METADATA_SERVICE_NUM_ATTEMPTS),
 * http->timeout_ms per request (AWS_METADATA_SERVICE_TIMEOUT, 1 s default).
 * Reply JSON: Code "Success", AccessKeyId, SecretAccessKey, Token, Expiration. */
gls_status gls_creds_imds(const char *endpoint, int attempts, const gls_http_opts *http,
                          gls_creds *out, gls_buf *err);

/* The parsers of the sources' replies, apart from fetching them (the
 * fetchers above call them; tests and fuzz/creds.c call them directly).
 * text/body are borrowed and need no NUL. On GLS_OK *out is filled (the
 * caller clears it); otherwise *out is empty and err/why gets the reason,
 * holding no secret and no part of the reply but a bounded Code, Message or
 * Expiration text.
 *
 * gls_creds_parse_reply: kind GLS_CREDS_REPLY_PROCESS is credential_process
 * output (Version 1; SessionToken and Expiration optional); CONTAINER the
 * container endpoint's reply (Token and Expiration required); IMDS the
 * credentials document (as CONTAINER, and a Code other than "Success" is
 * GLS_E_SERVICE). what names the role in IMDS messages ("role NAME"; NULL
 * elsewhere). why gets the message without the source's prefix
 * ("credential_process CMD: ", "IMDS: "), which callers add. */
enum { GLS_CREDS_REPLY_PROCESS, GLS_CREDS_REPLY_CONTAINER, GLS_CREDS_REPLY_IMDS };
gls_status gls_creds_parse_reply(int kind, const char *what, const char *text, size_t len,
                                 gls_creds *out, gls_buf *why);

/* An STS query-API reply (AssumeRole, AssumeRoleWithWebIdentity XML) with
 * its HTTP status; what names the call in messages ("AssumeRole for ARN").
 * Any status but 200 is GLS_E_SERVICE (with the reply's error code and
 * message when it has them); a DTD is refused. */
gls_status gls_creds_parse_sts(const char *what, long http_status, const char *body, size_t len,
                               gls_creds *out, gls_buf *err);

#endif
