/*
 * emuwire.h - the emulator's wire helpers: what the GameLift Streams
 * service does with a request before its own logic runs. Internal (not
 * installed); used by the Lua binding (lgls_emuwire.c) and usable from C
 * without Lua.
 *
 *   gls_emu_route   method + raw path -> operation and its URI labels
 *   gls_emu_verify  SigV4 check (Authorization header or presigned query)
 *   gls_emu_input   labels + query + headers + JSON body -> input (json_t),
 *                   validated by the model as the service validates
 *   gls_emu_output  output (json_t) -> the JSON text the service sends
 *
 * Everything is driven by the generated model tables (model.c).
 *
 * State: a gls_emu holds a signer (with its cache of signing keys), the
 * compiled model patterns and scratch buffers, so a request costs no
 * set-up. It is not thread-safe: one per thread (or per lua_State). There
 * is no process-global mutable state.
 *
 * Ownership, once for the whole header: every pointer argument is
 * borrowed for the duration of the call only. Results that point into
 * memory (error messages, label values, the verified identity, output
 * text) are owned by the gls_emu and stay valid until the next call on the
 * same gls_emu or gls_emu_free, whichever comes first; copy them to keep
 * them. json_t values handed out are owned by the caller (json_decref).
 *
 * Errors: each call returns 0 on success or -1 and fills *err with the
 * service's answer: error code (X-Amzn-ErrorType), message and HTTP status.
 * Out of memory is code "InternalFailure", status 500.
 *
 * Routing errors:
 *   no URI template matches the path    404 UnknownOperationException
 *   a template matches, the method not  405 UnknownOperationException
 *     (the message lists the methods the path takes)
 *
 * Verification errors (403), checked in this order:
 *   no Authorization header, no X-Amz-Algorithm query parameter
 *       MissingAuthenticationTokenException "Missing Authentication Token"
 *   Authorization lacking Credential / Signature / SignedHeaders, or no
 *   X-Amz-Date/Date header: IncompleteSignatureException, every missing
 *       part named, then "Authorization=<the header, Signature value
 *       replaced by ***>"
 *   a query form lacking one of its six parameters, X-Amz-Algorithm other
 *   than AWS4-HMAC-SHA256, X-Amz-Expires not 1 .. 604800:
 *       IncompleteSignatureException
 *   date not YYYYMMDDTHHMMSSZ: IncompleteSignatureException
 *       "Date must be in ISO-8601 'basic format'. Got '<value>'."
 *   Credential not key/date/region/service/aws4_request:
 *       IncompleteSignatureException ("Credential must have exactly 5
 *       slash-delimited elements, ...", "... valid terminator ...")
 *   host not signed: IncompleteSignatureException
 *   scope service not opts->service: InvalidSignatureException
 *       "Credential should be scoped to correct service: 'gameliftstreams'. "
 *   scope region empty or not [a-z0-9-]: InvalidSignatureException
 *   scope date not the request date's: InvalidSignatureException
 *   header form, more than 300 s from now: InvalidSignatureException
 *       "Signature expired: <t> is now earlier than <now-300> (<now> - 5 min.)"
 *       "Signature not yet current: <t> is still later than <now+300> (<now> + 5 min.)"
 *   query form: date more than 300 s ahead as above; now past date +
 *       X-Amz-Expires: InvalidSignatureException "Request has expired."
 *   unknown access key, a token where the key has none, no token or another
 *   one where the key has one (constant-time compare):
 *       UnrecognizedClientException
 *       "The security token included in the request is invalid."
 *   signed x-amz-content-sha256 that is not the body's SHA-256 (nor
 *   UNSIGNED-PAYLOAD), or the recomputed signature differs (CRYPTO_memcmp):
 *       InvalidSignatureException "The request signature we calculated does
 *       not match the signature you provided. Check your AWS Secret Access
 *       Key and signing method. Consult the service documentation for
 *       details."
 * No message ever holds a secret key, a session token or a signature.
 *
 * Input errors (400):
 *   body not JSON, a value of the wrong JSON type, an integer out of range,
 *   a query or label value that is not of its member's type, text that is
 *   not UTF-8: SerializationException, naming the member when known
 *   model constraints: ValidationException, every violation in member
 *   order (depth first), in the Coral wording:
 *     "2 validation errors detected: Value 'x' at 'identifier' failed to
 *      satisfy constraint: Member must satisfy regular expression pattern:
 *      <the model's pattern>; Value null at 'signalRequest' failed to
 *      satisfy constraint: Member must not be null"
 *   Rules: required ("Member must not be null"), length of strings (code
 *   points), lists and maps ("Member must have length greater than or
 *   equal to N" / "less than or equal to N"), pattern ("Member must satisfy
 *   regular expression pattern: P", P as the model writes it), enum
 *   ("Member must satisfy enum value set: [A, B]"), range of numbers
 *   ("Member must have value greater than or equal to N" / "less than or
 *   equal to N"). Member paths are lowerCamelCase: 'locationConfigurations'
 *   and, inside lists, 'locationConfigurations.1.member.locationName'
 *   (1-based); a list element that is itself a scalar is
 *   'locations.1.member'; a map key 'tags' ("Map keys must satisfy
 *   constraint: [...]"), a map value 'tags.<key>'. Values of sensitive
 *   shapes are shown as '***'; strings as they are, lists as [a, b], maps
 *   as {k=v}. Unknown body members and unknown query keys are ignored, as
 *   the service does; JSON null is an absent member.
 *
 * Blobs: the model has no blob shapes; were one added, its base64 text
 * would pass through unchanged (not decoded).
 */
#ifndef GLS_EMUWIRE_H
#define GLS_EMUWIRE_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "gls_private.h"

typedef struct gls_emu gls_emu;

/* NULL when out of memory or OpenSSL cannot give SHA-256/HMAC. */
gls_emu *gls_emu_new(void);
/* NULL is fine. Wipes the scratch that held request data. */
void gls_emu_free(gls_emu *e);

typedef struct gls_emu_error {
  const char *code;    /* static text, e.g. "ValidationException" */
  const char *message; /* owned by the gls_emu */
  int status;          /* HTTP status */
} gls_emu_error;

/* ------------------------------------------------------------ routing */

#define GLS_EMU_MAX_LABELS 8

typedef struct gls_emu_label {
  const char *name;    /* the URI label as the template names it (the
                          member's wire name): static model text */
  const char *value;   /* percent-decoded, NUL-terminated; owned by the
                          gls_emu (input to gls_emu_input: borrowed) */
  size_t value_len;    /* may count NUL bytes from %00 */
} gls_emu_label;

typedef struct gls_emu_match {
  const gls_operation *op;                 /* static model entry */
  gls_emu_label labels[GLS_EMU_MAX_LABELS];
  size_t nlabels;
} gls_emu_match;

/* Matches method (exact, case-sensitive) and the raw path (no query) against
 * every operation's URI template: literal segments byte for byte, "{Label}"
 * one non-empty segment, "{Label+}" one or more; the segment count must
 * agree. */
int gls_emu_route(gls_emu *e, const char *method, const char *raw_path, gls_emu_match *out,
                  gls_emu_error *err);

/* ------------------------------------------------------------ requests */

/* A received request; everything borrowed. */
typedef struct gls_emu_request {
  const char *method;         /* verify only */
  const char *path;           /* raw, as on the wire; verify only */
  const char *query;          /* raw, no '?'; NULL or "" = none */
  const gls_header *headers;  /* as received, in order, repeats kept */
  size_t nheaders;
  const char *body;           /* may be NULL when body_len is 0 */
  size_t body_len;
} gls_emu_request;

/* ------------------------------------------------------------ SigV4 */

typedef struct gls_emu_credential {
  const char *secret_access_key; /* borrowed; must stay valid during the call */
  const char *session_token;     /* NULL = the key takes no token */
} gls_emu_credential;

/* Looks up an access key id (NUL-terminated, borrowed). Returns 1 and fills
 * *out when the key is known, 0 otherwise. Called at most once per
 * gls_emu_verify; must not call back into the same gls_emu. */
typedef int (*gls_emu_lookup_fn)(void *ud, const char *access_key_id, gls_emu_credential *out);

typedef struct gls_emu_verify_opts {
  int64_t now;               /* epoch seconds, the server's clock */
  const char *service;       /* expected scope service; NULL = the model's
                                signing name ("gameliftstreams") */
  gls_emu_lookup_fn lookup;  /* required */
  void *ud;                  /* passed to lookup */
} gls_emu_verify_opts;

/* Who signed: owned by the gls_emu. */
typedef struct gls_emu_identity {
  const char *access_key_id;
  const char *region;        /* from the credential scope */
} gls_emu_identity;

/* Verifies req's signature with the core signer (the SignedHeaders subset
 * of the headers in received order, the raw path and query, the payload
 * hash from a signed x-amz-content-sha256 else the body's SHA-256). */
int gls_emu_verify(gls_emu *e, const gls_emu_request *req, const gls_emu_verify_opts *opts,
                   gls_emu_identity *who, gls_emu_error *err);

/* ------------------------------------------------------------ input */

/* Builds op's input from the URI labels (labels[i].name matched to the
 * input's URI members by wire name), req->query (repeated keys make
 * lists; %XX decoded, '+' is a '+'), req->headers (header members, names
 * case-insensitive) and req->body (JSON object; empty = {}), then
 * validates it. On success *out is a new JSON object keyed by the model's
 * member names (integers stay integers, timestamps are numbers), owned by
 * the caller. An operation without input gives {}. */
int gls_emu_input(gls_emu *e, const gls_operation *op, const gls_emu_label *labels,
                  size_t nlabels, const gls_emu_request *req, json_t **out, gls_emu_error *err);

/* ------------------------------------------------------------ output */

/* Encodes output (a JSON object keyed by member names; borrowed, not
 * changed) by op's output shape: members the shape does not know are
 * left out, lists are always arrays (an empty object counts as an empty
 * list), maps objects, timestamps epoch-seconds numbers (ISO 8601 strings
 * are converted). *text (NUL-terminated, *len bytes) is owned by the
 * gls_emu. An operation without output gives "" (204 bodies are empty).
 * A value of the wrong type: -1, code "SerializationException", status
 * 500, message naming the member. */
int gls_emu_output(gls_emu *e, const gls_operation *op, const json_t *output, const char **text,
                   size_t *len, gls_emu_error *err);

#endif
