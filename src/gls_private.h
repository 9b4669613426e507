/*
 * gls_private.h - cross-file prototypes of the gls core. Not installed.
 *
 * Every symbol here is internal (built with -fvisibility=hidden); only
 * what src/gls.h marks GLS_API is exported.
 */
#ifndef GLS_PRIVATE_H
#define GLS_PRIVATE_H

#include <stddef.h>
#include <stdint.h>
#include "gls.h"

/* ---------------------------------------------------------------- buffers */

/* A growable byte buffer; data is always NUL-terminated when len > 0 or
 * after gls_buf_terminate(). Owned by whoever declared it. */
typedef struct gls_buf {
  char *data;
  size_t len, cap;
} gls_buf;

int  gls_buf_reserve(gls_buf *b, size_t extra);           /* 0 ok, -1 ENOMEM */
int  gls_buf_add(gls_buf *b, const void *p, size_t n);    /* 0 ok, -1 ENOMEM */
int  gls_buf_adds(gls_buf *b, const char *s);             /* 0 ok, -1 ENOMEM */
int  gls_buf_addc(gls_buf *b, char c);                    /* 0 ok, -1 ENOMEM */
int  gls_buf_printf(gls_buf *b, const char *fmt, ...);    /* 0 ok, -1 ENOMEM */
void gls_buf_free(gls_buf *b);         /* frees data, leaves an empty buffer */
void gls_buf_wipe_free(gls_buf *b);    /* as gls_buf_free, cleansing first */
void gls_buf_reset(gls_buf *b);        /* len = 0, keeps the storage */

/* Percent-encode every byte other than A-Z a-z 0-9 - . _ ~ (and '/' when
 * keep_slash) with upper-case hex, appending to b. */
int gls_uri_encode(gls_buf *b, const char *s, size_t n, int keep_slash);

/* ---------------------------------------------------------------- SigV4 */

/* One header, borrowed: name/value need not be NUL-terminated. */
typedef struct gls_header {
  const char *name;
  size_t name_len;
  const char *value;
  size_t value_len;
} gls_header;

typedef struct gls_sigv4_params {
  const char *method;             /* "GET", "POST", ... */
  const char *path;               /* as on the wire, e.g. "/a%20b/" */
  const char *query;              /* as on the wire, no '?'; NULL or "" = none */
  const gls_header *headers;      /* ordered; repeated names allowed */
  size_t nheaders;
  const void *body;               /* may be NULL when body_len == 0 */
  size_t body_len;
  const char *payload_hash;       /* NULL: hex SHA-256 of body is computed;
                                     else used as is ("UNSIGNED-PAYLOAD") */
  const char *access_key_id;
  const char *secret_access_key;
  const char *session_token;      /* NULL or "" = none */
  const char *region;
  const char *service;            /* the signing name */
  int64_t time;                   /* epoch seconds, UTC */
  int normalize_path;             /* RFC 3986 dot segments, merge "//" */
  int double_encode;              /* non-S3: encode the wire path again */
  int sign_body;                  /* add x-amz-content-sha256 (header form) */
  int omit_session_token;         /* sign without the token, add it after */
  int query_form;                 /* 0 = Authorization header, 1 = presigned */
  long expires;                   /* query form: X-Amz-Expires seconds */
  int want_debug;                 /* fill canonical_request/string_to_sign */
} gls_sigv4_params;

/* What signing adds. All storage belongs to the gls_signer and stays valid
 * until its next sign call or gls_signer_free. */
typedef struct gls_sigv4_result {
  char signature[65];             /* lower-case hex, NUL-terminated */
  /* Header form: the headers to append, in this order, as the reference
   * signer adds them: X-Amz-Security-Token (if any), X-Amz-Date,
   * x-amz-content-sha256 (if sign_body), Authorization. */
  gls_header added[4];
  size_t nadded;
  /* Query form: the whole query as it goes on the wire (original params,
   * then the X-Amz-* params and X-Amz-Signature), NUL-terminated. */
  const char *query;
  size_t query_len;
  /* Only when params.want_debug: */
  const char *canonical_request;
  size_t canonical_request_len;
  const char *string_to_sign;
  size_t string_to_sign_len;
} gls_sigv4_result;

/* A signer holds reusable digest/MAC contexts, scratch buffers and a cache
 * of derived signing keys (per secret/day/region/service). Not thread-safe;
 * one per client. Secrets and keys are wiped on free. */
typedef struct gls_signer gls_signer;

gls_signer *gls_signer_new(void);                      /* NULL on ENOMEM */
void gls_signer_free(gls_signer *s);                   /* NULL is fine */
/* Returns GLS_OK, GLS_E_INVALID_ARGUMENT (with a message naming the
 * parameter in errbuf, errlen bytes at most) or GLS_E_NOMEM/GLS_E_CRYPTO.
 * params and everything it points to are borrowed. */
gls_status gls_signer_sign(gls_signer *s, const gls_sigv4_params *params,
                           gls_sigv4_result *out, char *errbuf, size_t errlen);

/* Lower-case hex SHA-256 of data into out[65]. */
void gls_sha256_hex(const void *data, size_t n, char out[65]);

#endif
