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

/* ISO 8601 / RFC 3339 ("2024-05-01T10:00:00.5Z", "+02:00", no zone = UTC) to
 * epoch seconds (fractions kept). 0 ok, -1 not such a timestamp. */
int gls_parse_iso8601(const char *s, double *out);

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
  int date_in_headers;            /* header form, verifying a received request:
                                     the headers are signed exactly as given
                                     (X-Amz-Date or Date among them, or
                                     neither); X-Amz-Date is not added. time
                                     must still be the request's timestamp
                                     (the string to sign and scope use it). */
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

/* ---------------------------------------------------------------- model */
/* Tables written by tools/genmodel.py into src/model.c (all static data). */

enum { GLS_T_STRUCT, GLS_T_LIST, GLS_T_MAP, GLS_T_STRING, GLS_T_INTEGER, GLS_T_LONG,
       GLS_T_BOOLEAN, GLS_T_TIMESTAMP, GLS_T_DOUBLE, GLS_T_BLOB };
enum { GLS_LOC_BODY, GLS_LOC_URI, GLS_LOC_QUERY, GLS_LOC_HEADER };
enum { GLS_M_REQUIRED = 1, GLS_M_IDEMPOTENCY = 2 };
enum { GLS_S_SENSITIVE = 1, GLS_S_HAS_MIN = 2, GLS_S_HAS_MAX = 4, GLS_S_ERROR = 8,
       GLS_S_RETRYABLE = 16, GLS_S_THROTTLING = 32 };

typedef struct gls_member {
  const char *name;        /* the model's member name */
  const char *wire_name;   /* locationName: URI label / query key / header */
  int shape;               /* index into gls_shapes */
  int location;            /* GLS_LOC_* */
  int flags;               /* GLS_M_* */
} gls_member;

typedef struct gls_shape {
  const char *name;
  int type;                /* GLS_T_* */
  int flags;               /* GLS_S_* */
  long long min, max;      /* length (string, list, map) or range (numbers) */
  int pattern;             /* index into gls_patterns (POSIX ERE), -1 = none */
  int first_enum, nenums;  /* slice of gls_enum_values */
  int first_member, nmembers; /* slice of gls_members (structures) */
  int elem, key;           /* list member / map value, map key: shape indexes */
} gls_shape;

typedef struct gls_error_shape {
  const char *name;
  int http_status;
  int shape;
} gls_error_shape;

typedef struct gls_operation {
  const char *name;        /* "CreateStreamSessionConnection" */
  const char *snake;       /* "create_stream_session_connection" */
  const char *method;
  const char *uri;         /* request URI template, "{Label}" placeholders */
  int status;              /* HTTP status of success */
  int input, output;       /* shape indexes, -1 = none */
} gls_operation;

extern const char *const gls_model_signing_name;
extern const char *const gls_model_endpoint_prefix;
extern const char *const gls_model_api_version;
extern const char *const gls_patterns[];
extern const size_t gls_npatterns;
/* gls_patterns[i] as the model writes it (ECMAScript syntax): what the
 * service quotes in its validation messages. */
extern const char *const gls_pattern_sources[];
extern const char *const gls_enum_values[];
extern const gls_member gls_members[];
extern const gls_shape gls_shapes[];
extern const size_t gls_nshapes;
extern const gls_error_shape gls_errors[];
extern const size_t gls_nerrors;
extern const gls_operation gls_operations[];
extern const size_t gls_noperations;

/* AWS partitions, from partitions.json (what the endpoint rules' aws.partition reads). */
typedef struct gls_partition {
  const char *id;
  const char *region_regex;          /* POSIX ERE */
  const char *dns_suffix, *dual_stack_dns_suffix;
  int supports_fips, supports_dual_stack;
  int first_region, nregions;        /* slice of gls_partition_regions */
} gls_partition;
extern const char *const gls_partition_regions[];
extern const gls_partition gls_partitions[];
extern const size_t gls_npartitions;

/* By model name or snake_case name; NULL if unknown. */
const gls_operation *gls_find_operation(const char *name);
/* The error shape named code (namespace already stripped), or NULL. */
const gls_error_shape *gls_find_error(const char *code);

/* ---------------------------------------------------------------- requests */

/* Compiled model patterns, one set per client (compiled on first use). */
typedef struct gls_regexes gls_regexes;
gls_regexes *gls_regexes_new(void);
void gls_regexes_free(gls_regexes *p);
/* Does s (borrowed, NUL-terminated) match gls_patterns[idx] (searched, not
 * anchored, as the model means it)? Compiles the pattern on first use.
 * 1 = matches, 0 = does not, -1 = pattern unusable (callers treat it as a
 * match). p NULL or idx < 0: 1. */
int gls_regexes_match(gls_regexes *p, int idx, const char *s);
/* Characters (code points) in the UTF-8 text s[0..n): the unit of the
 * model's length constraints. */
size_t gls_utf8_len(const char *s, size_t n);

/* A request ready to sign: what varies per call, built once and reused by
 * every attempt (so the ClientToken stays the same). Owns its buffers. */
typedef struct gls_prepared {
  const gls_operation *op;
  gls_buf path;           /* wire path, labels percent-encoded */
  gls_buf query;          /* wire query without '?', may be empty */
  gls_buf body;           /* JSON text (wiped on free: offers are sensitive) */
  int has_body;
  char client_token[72];  /* the idempotency token used, or "" */
} gls_prepared;

/* Validates input (a JSON object text; borrowed) against op's input shape
 * and builds the request. base_path is the endpoint URL's path (borrowed, may
 * be NULL). On failure err holds a message naming each member and rule and
 * the status is GLS_E_INVALID_ARGUMENT (not JSON / not an object),
 * GLS_E_PARAM_VALIDATION, GLS_E_NOMEM or GLS_E_CRYPTO. pat NULL: no
 * validation (GLS_OPT_PARAM_VALIDATION 0), the input is built as given. */
gls_status gls_prepare(gls_regexes *pat, const gls_operation *op, const char *input,
                       size_t input_len, const char *base_path, gls_prepared *out,
                       gls_buf *err);
void gls_prepared_free(gls_prepared *p);

/* A random (RAND_bytes) UUID v4, lower-case, into out[37]. 0 ok, -1 failure. */
int gls_uuid4(char out[37]);

/* ---------------------------------------------------------------- results */

struct gls_result {
  gls_status status;
  int http_status;
  char *json;             /* success: output JSON (wiped on free) */
  size_t json_len;
  char *code, *message, *request_id;
  int retryable;
  int attempts;
};

gls_result *gls_result_new(void);
/* Sets status, code and message (copied) on r; returns the status. */
gls_status gls_result_fail(gls_result *r, gls_status st, const char *code, const char *msg);

/* Parses a service reply into r: success (output JSON, timestamps turned
 * into epoch seconds) or a rest-json error (code from X-Amzn-ErrorType or
 * the body's __type/code, message from message/Message). Everything
 * borrowed. */
void gls_parse_reply(gls_result *r, const gls_operation *op, int http_status,
                     const char *body, size_t body_len, const char *error_type_header);
/* Whether an error (code, HTTP status) is worth retrying. */
int gls_error_retryable(const char *code, int http_status);

#endif
