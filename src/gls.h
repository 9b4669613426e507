/*
 * gls.h - the whole public C surface of gls, a client for Amazon GameLift
 * Streams that keeps players in their games when their connection drops.
 *
 * Conventions (as libcurl's):
 *   - opaque handles, create/destroy pairs;
 *   - every function that can fail returns gls_status; gls_strerror() names it
 *     and gls_client_errmsg() gives the details of the last failure on a client;
 *   - options go through typed setters keyed by GLS_OPT_*, so the ABI grows
 *     without breaking;
 *   - each comment says who owns every pointer: "borrowed" (the callee reads
 *     it during the call only), "copied" (the callee keeps its own copy), or
 *     "owned by the caller/transferred" for what a function returns.
 *
 * Threads: gls_global_init() once before anything else (not thread-safe, like
 * curl_global_init). A gls_client and everything made from it belongs to one
 * thread at a time; different clients may be used from different threads.
 */
#ifndef GLS_H
#define GLS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#  define GLS_API __declspec(dllexport)
#else
#  define GLS_API __attribute__((visibility("default")))
#endif

#define GLS_VERSION "0.1.0"
#define GLS_VERSION_NUM 0x000100

/* Status codes. Append-only: values never change meaning. */
typedef enum gls_status {
  GLS_OK = 0,
  GLS_E_INVALID_ARGUMENT,   /* a C argument is NULL/out of range (misuse) */
  GLS_E_NOMEM,              /* out of memory */
  GLS_E_UNKNOWN_OPERATION,  /* no such operation in the model */
  GLS_E_PARAM_VALIDATION,   /* input breaks the model (required, length, ...) */
  GLS_E_NO_CREDENTIALS,     /* no access key found */
  GLS_E_NO_REGION,          /* no region configured */
  GLS_E_CONFIG,             /* a bad option value (endpoint URL, ...) */
  GLS_E_CRYPTO,             /* OpenSSL failed */
  GLS_E_TRANSPORT,          /* connect/send/receive failed */
  GLS_E_TIMEOUT,            /* connect or read timeout */
  GLS_E_TLS,                /* TLS handshake or verification failed */
  GLS_E_RESPONSE_TOO_LARGE, /* response body over GLS_OPT_MAX_RESPONSE_BYTES */
  GLS_E_BAD_RESPONSE,       /* the reply could not be parsed */
  GLS_E_SERVICE,            /* the service answered with an error */
  GLS_E_CANCELLED,          /* gls_request_cancel() or client destroyed */
  GLS_E_BUSY,               /* a call made where it is not allowed (re-entry) */
  GLS_E_RUNTIME,            /* the embedded runtime raised a Lua error (a bug, or
                               out of memory inside Lua): gls_runtime_errmsg() */
  GLS_LAST                  /* never returned; one past the last status */
} gls_status;

/* A static, human-readable name for a status. Never NULL. */
GLS_API const char *gls_strerror(gls_status s);

/* libgls's version, "MAJOR.MINOR.PATCH" (static). */
GLS_API const char *gls_version(void);

/* Process-wide set-up of libcurl and OpenSSL. Call once, before any other
 * thread runs and before any other gls function; not thread-safe. Calling it
 * again is harmless. Warns on stderr if libcurl lacks asynchronous DNS, since
 * a blocking resolver stalls the non-blocking interface. */
GLS_API gls_status gls_global_init(void);
/* Undoes gls_global_init() once every client is destroyed. */
GLS_API void gls_global_cleanup(void);

/* Frees memory that gls handed over (output strings); wipes it first, since
 * such strings may be sensitive (a SignalResponse). NULL is fine. */
GLS_API void gls_free(void *p);

/* ------------------------------------------------------------------ client */

typedef struct gls_client gls_client;

/* Creates a client with defaults: region/credentials/endpoint from the
 * environment at the first call, standard retries, 3 attempts, TLS verified,
 * 60 s connect and read timeouts, 16 MiB response bound. *out is owned by the
 * caller; free it with gls_client_destroy(). */
GLS_API gls_status gls_client_create(gls_client **out);

/* Cancels whatever is in flight (callbacks run with GLS_E_CANCELLED), closes
 * connections and wipes credentials. NULL is fine. Must not be called from
 * inside one of the client's own callbacks. */
GLS_API void gls_client_destroy(gls_client *c);

typedef enum gls_option {
  /* strings (gls_client_setopt_str; value copied, NULL resets to default) */
  GLS_OPT_REGION = 1,
  GLS_OPT_ENDPOINT_URL,        /* e.g. "http://127.0.0.1:9000" */
  GLS_OPT_ACCESS_KEY_ID,
  GLS_OPT_SECRET_ACCESS_KEY,   /* wiped on change and on destroy */
  GLS_OPT_SESSION_TOKEN,       /* wiped on change and on destroy */
  GLS_OPT_CA_BUNDLE,           /* a PEM file of trusted CAs */
  GLS_OPT_RETRY_MODE,          /* "standard" | "adaptive" | "off" */
  GLS_OPT_USER_AGENT_EXTRA,    /* appended to the User-Agent */
  GLS_OPT_PROFILE,             /* shared config profile; set = explicit (the
                                  environment's keys are then not used) */
  /* integers (gls_client_setopt_long) */
  GLS_OPT_CONNECT_TIMEOUT_MS = 100, /* 0 = no limit */
  GLS_OPT_READ_TIMEOUT_MS,     /* longest silence while receiving; 0 = none */
  GLS_OPT_VERIFY_SSL,          /* 1 (default) or 0 */
  GLS_OPT_MAX_ATTEMPTS,        /* 1..100, attempts per call including the first */
  GLS_OPT_MAX_RESPONSE_BYTES,  /* reply body bound, default 16 MiB */
  GLS_OPT_NO_SIGN_REQUEST,     /* 1 = send unsigned */
  GLS_OPT_RETRY_BASE_MS,       /* backoff base, default 1000 (tests lower it) */
  GLS_OPT_TIME_OFFSET_S,       /* added to the clock when signing (skew) */
  GLS_OPT_USE_FIPS_ENDPOINT,   /* 1/0; default AWS_USE_FIPS_ENDPOINT or profile */
  GLS_OPT_DRY_RUN,             /* 1 = calls sign and build the request but do not
                                  send it; the result's JSON is the request:
                                  {"method","url","headers":[[n,v],...],"body"} */
  GLS_OPT_PARAM_VALIDATION,    /* 1 (default) = check the input against the model
                                  before sending; 0 = send it as given (botocore's
                                  parameter_validation=False: the AWS CLI driver
                                  checks what botocore checks itself) */
  GLS_OPT_LAST
} gls_option;

/* Typed option setters. A wrong type for the option or a value out of range
 * gives GLS_E_INVALID_ARGUMENT and a message naming the option. */
GLS_API gls_status gls_client_setopt_str(gls_client *c, gls_option opt,
                                         const char *value /* copied */);
GLS_API gls_status gls_client_setopt_long(gls_client *c, gls_option opt,
                                          long value);

/* Where the client reads its environment (AWS_*, proxies, HOME). Default:
 * getenv(3). fn gets ud and a name and returns the value (borrowed until
 * the next call) or NULL. fn and ud are borrowed for the client's life.
 * Useful for tests and for hosts that keep settings elsewhere. */
typedef const char *(*gls_getenv_fn)(void *ud, const char *name);
GLS_API gls_status gls_client_set_environment(gls_client *c, gls_getenv_fn fn, void *ud);

/* Retry decisions, visible and overridable. After each failed attempt the
 * hook sees what happened and what the retry policy proposes
 * (proposed_delay_ms, or -1 for no retry); it returns GLS_RETRY_KEEP, -1 to
 * stop, or a delay in ms to retry after (within max_attempts). Strings in ev
 * are borrowed for the call. Runs inside gls_call/gls_client_step. */
typedef struct gls_retry_event {
  const char *operation;
  int attempt;                 /* the attempt that failed, 1-based */
  const char *code;            /* error code ("ThrottlingException", "Timeout", ...) */
  int http_status;             /* 0 when nothing was received */
  int retryable;
  long proposed_delay_ms;      /* -1 = the policy would not retry */
} gls_retry_event;
#define GLS_RETRY_KEEP (-2L)
typedef long (*gls_retry_hook_fn)(gls_client *c, const gls_retry_event *ev, void *ud);
GLS_API gls_status gls_client_set_retry_hook(gls_client *c, gls_retry_hook_fn fn, void *ud);

/* Where the credentials in use come from ("environment", "profile prod
 * (assume role)", ...), once the first call has resolved them; else NULL.
 * Borrowed. */
GLS_API const char *gls_client_credential_source(const gls_client *c);

/* Details of the client's last failure (borrowed; valid until the next call
 * on the client). Never contains secrets. Never NULL. */
GLS_API const char *gls_client_errmsg(const gls_client *c);

/* ------------------------------------------------------------------ result */

/* The outcome of one call: output or error, with the request id. Opaque;
 * owned by whoever received it, freed with gls_result_free(). */
typedef struct gls_result gls_result;

GLS_API void gls_result_free(gls_result *r);   /* NULL is fine; wipes the body */
/* GLS_OK on success, else why the call failed. */
GLS_API gls_status gls_result_status(const gls_result *r);
/* HTTP status of the last attempt, 0 when nothing was received. */
GLS_API int gls_result_http_status(const gls_result *r);
/* On success, the output as a JSON object (borrowed from r, NUL-terminated;
 * "{}" for operations without output). NULL on failure. */
GLS_API const char *gls_result_json(const gls_result *r, size_t *len /* may be NULL */);
/* On failure: a stable code ("ConflictException", "ThrottlingException",
 * "ParamValidation", "Timeout", "NoCredentials", ...) and a message. Borrowed
 * from r; NULL on success. The message never holds secrets. */
GLS_API const char *gls_result_error_code(const gls_result *r);
GLS_API const char *gls_result_error_message(const gls_result *r);
/* x-amzn-RequestId of the last reply (borrowed), or NULL. */
GLS_API const char *gls_result_request_id(const gls_result *r);
/* 1 if a later identical call may succeed (throttling, 5xx, transport). */
GLS_API int gls_result_retryable(const gls_result *r);
/* Attempts made, 1 or more (0 when the call failed before sending). */
GLS_API int gls_result_attempts(const gls_result *r);

/* ---------------------------------------------------------------- calling */

/* Calls OPERATION (the model's name, "CreateStreamSessionConnection", or in
 * snake_case) with input given as a JSON object text, blocking until the
 * outcome is known, retries included. operation and input are borrowed.
 * Returns the result's status; *out (owned by the caller) is set whenever
 * the call got far enough to make a result, that is for every status other
 * than GLS_E_INVALID_ARGUMENT and GLS_E_NOMEM. */
GLS_API gls_status gls_call(gls_client *c, const char *operation,
                            const char *input_json, size_t input_len,
                            gls_result **out);

/* The reconnect call, typed. All strings borrowed. client_token may be NULL
 * (a UUID v4 is made and kept for every attempt). On success
 * *signal_response is a NUL-terminated string owned by the caller (free it
 * with gls_free). If out_result is not NULL it receives the result (owned by
 * the caller) for error details, on success and on failure alike. */
GLS_API gls_status gls_create_stream_session_connection(
    gls_client *c, const char *identifier,
    const char *stream_session_identifier, const char *signal_request,
    const char *client_token, char **signal_response, gls_result **out_result);

/* ------------------------------------------------------ non-blocking calls */

typedef struct gls_request gls_request;

/* Completion callback: result ownership passes to the callback (free it with
 * gls_result_free). The gls_request handle is dead once the callback
 * returns. Callbacks run only inside gls_client_step(). */
typedef void (*gls_done_fn)(gls_client *c, gls_request *req,
                            gls_result *result, void *userdata);

/* Starts OPERATION without blocking. Input as for gls_call (borrowed; copied
 * before return). userdata is borrowed and handed back to done. *out_req, if
 * not NULL, receives a handle usable until done runs (owned by the client).
 * Validation and credential failures are reported through done on the next
 * step, like every other failure, so done always runs exactly once. */
GLS_API gls_status gls_client_start(gls_client *c, const char *operation,
                                    const char *input_json, size_t input_len,
                                    gls_done_fn done, void *userdata,
                                    gls_request **out_req);

/* Cancels a request still in flight: done runs (in the next step) with
 * GLS_E_CANCELLED. */
GLS_API gls_status gls_request_cancel(gls_request *req);

/* A file descriptor that becomes readable when the client has work to do
 * (an epoll set of curl's sockets). Owned by the client: do not close it. */
GLS_API int gls_client_pollfd(gls_client *c);

/* Milliseconds until gls_client_step() must be called even if the fd stays
 * quiet; -1 when nothing is pending. */
GLS_API long gls_client_timeout_ms(gls_client *c);

/* Does whatever is ready: waits at most timeout_ms (0 = never block) for
 * activity, drives transfers and timers, runs completion callbacks.
 * *completed (may be NULL) gets how many callbacks ran. Returns GLS_E_BUSY
 * when called from inside one of this client's callbacks. */
GLS_API gls_status gls_client_step(gls_client *c, long timeout_ms, int *completed);

/* Requests started and not yet completed. */
GLS_API size_t gls_client_in_flight(const gls_client *c);

/* ---------------------------------------------------------------- runtime */
/*
 * The reconnect runtime inside a game server: the same runtime `glsrun serve`
 * runs (sessions, policy script, call budget, scheduler), in a private Lua
 * state that libgls creates and owns, with gls's Lua modules built in (only
 * lua-cjson is loaded from the system's Lua C path). The host feeds it its
 * clients' requests and drives it from its own loop:
 *
 *   gls_runtime *rt = gls_runtime_new("policy.lua", "{\"endpoint_url\": ...}", err, sizeof err);
 *   gls_runtime_start(rt, "{\"SignalRequest\": \"<offer>\"}", "{\"id\": \"player-7\"}", on_started, me);
 *   every frame:  gls_runtime_poll(rt, 0, NULL);          (never blocks)
 *   or in a poll(2)/epoll loop: watch gls_runtime_fd(rt) for reading, wake up
 *   after gls_runtime_timeout_ms(rt), then gls_runtime_poll(rt, 0, NULL).
 *
 * Results come back through a callback, exactly once per accepted request,
 * only from inside gls_runtime_poll() (or gls_runtime_destroy(), which
 * cancels what is still pending). Nothing blocks except a poll given a
 * timeout. Tokens are the runtime's: 64 hex digits (256 random bits) that
 * stand for a client's claim on a session, stored by the runtime only as
 * hashes; the host hands them to its client and back.
 *
 * Threads: a runtime belongs to one thread at a time; several runtimes may
 * live in one process (each has its own Lua state). gls_global_init() first.
 */
typedef struct gls_runtime gls_runtime;

/* Why a request failed. Every string is borrowed for the callback's duration
 * and never holds a token, an offer or an answer. */
typedef struct gls_runtime_error {
  const char *code;     /* stable: "NotFound" (unknown or dead token), "Forbidden"
                           (the policy refused; message = its reason),
                           "Superseded" (a newer reconnect for the session came),
                           "TakenOver" (another device took the session over),
                           "Withheld" (the policy gave the answer to someone else),
                           "DeadlineExceeded" (cannot finish before the session's
                           window closes), "SessionEnded", "NotReady" (answer:
                           the wait passed first), "Cancelled" (the runtime was
                           destroyed), "BadRequest", or the service's own code
                           ("ThrottlingException", "ConflictException", ...) */
  const char *message;
  int status;           /* the HTTP status a front answers with: 404, 403, 409,
                           410, 202 (NotReady), 503 (Cancelled), 4xx/5xx */
  int retryable;        /* 1 if the same request may succeed later */
} gls_runtime_error;

/* A request's outcome: exactly one of result_json and err is non-NULL.
 * result_json (a JSON object; borrowed for the call, wiped afterwards since
 * it may hold an answer) is
 *   start      {"Token": "<64 hex>", "SessionArn": "arn:..."}
 *   answer     {"SignalResponse": "<answer>"}
 *   reconnect  {"SignalResponse": "<answer>", "Token": "<new 64 hex>"} (the
 *              token handed in is dead from now on)
 *   terminate  {}
 * ud is the pointer given with the request, handed back untouched. The
 * callback may submit new requests and may call gls_runtime_destroy() (see
 * there), but not gls_runtime_poll() (GLS_E_BUSY). */
typedef void (*gls_runtime_cb)(void *ud, const char *result_json, const gls_runtime_error *err);

/* Creates a runtime running the policy script at policy_path (a Lua file
 * returning a table of hooks; NULL = the default policy: owner-only
 * reconnects, standard retries). options_json (NULL = "{}") is a JSON object;
 * every member is optional:
 *   how to reach the service, as gameliftstreams.client takes them (unset
 *   ones resolve from the environment as the AWS CLI does):
 *     "endpoint_url", "region", "profile", "retry_mode", "ca_bundle" (strings),
 *     "credentials": {"access_key_id", "secret_access_key", "session_token"},
 *     "max_attempts" (default 1: the runtime retries itself, within the budget
 *     and each session's deadline), "connect_timeout", "read_timeout" (seconds),
 *     "verify_ssl" (boolean);
 *   the runtime's:
 *     "stream_group", "application" (defaults for start's Identifier and
 *     ApplicationIdentifier), "rates" ({"CreateStreamSessionConnection": 20,
 *     ...}: calls per second per operation), "bursts" (likewise),
 *     "status_interval", "full_sweep_interval", "answer_latency", "settle"
 *     (seconds), "hook_instructions", "hook_memory_kb" (per hook call).
 * An unknown member or a wrong type is an error naming it.
 * Both strings are borrowed. Returns the runtime (owned by the caller; free it
 * with gls_runtime_destroy()), or NULL with a message in err (errlen bytes,
 * NUL-terminated, may be NULL when errlen is 0): the policy file cannot be
 * read or does not load, the options are wrong, or memory ran out. */
GLS_API gls_runtime *gls_runtime_new(const char *policy_path, const char *options_json,
                                     char *err, size_t errlen);

/* Submits requests. Every string argument is borrowed (copied before the call
 * returns); client_json (NULL = "{}") describes the requester for the policy:
 * {"id", "device", "remote", "headers": {...}, "attributes": {...}}, all
 * optional. ud is handed back to cb. On GLS_OK, cb runs exactly once, later,
 * from gls_runtime_poll() or gls_runtime_destroy(). Otherwise cb never runs:
 * GLS_E_INVALID_ARGUMENT (NULL rt/cb/token/offer, a JSON text that is not an
 * object; details in gls_runtime_errmsg), GLS_E_BUSY (called from the log
 * function or while the runtime is being destroyed), GLS_E_NOMEM,
 * GLS_E_RUNTIME. */
/* request_json: {"SignalRequest": "<offer>", "Identifier", "ApplicationIdentifier",
 * "ConnectionTimeoutSeconds", "UserId", "priority", ...} (SignalRequest required;
 * Identifier/ApplicationIdentifier default to the options' stream_group and
 * application). */
GLS_API gls_status gls_runtime_start(gls_runtime *rt, const char *request_json,
                                     const char *client_json, gls_runtime_cb cb, void *ud);
/* The session's answer (to the start's offer, or to the last reconnect's),
 * once known; waits up to wait_ms for it (0 = NotReady at once if it is not
 * there yet). */
GLS_API gls_status gls_runtime_answer(gls_runtime *rt, const char *token, long wait_ms,
                                      gls_runtime_cb cb, void *ud);
/* The client that holds token comes back with a new offer. */
GLS_API gls_status gls_runtime_reconnect(gls_runtime *rt, const char *token, const char *offer,
                                         const char *client_json, gls_runtime_cb cb, void *ud);
/* Ends the session token stands for (TerminateStreamSession); the token dies. */
GLS_API gls_status gls_runtime_terminate(gls_runtime *rt, const char *token,
                                         const char *client_json, gls_runtime_cb cb, void *ud);

/* The host's tick: does whatever is ready (replies, timers, scheduled calls)
 * and runs the callbacks of finished requests. Waits at most timeout_ms for
 * something to do (0 = never block; negative = until the runtime's next
 * timer, or activity). *delivered (may be NULL) gets the number of callbacks
 * run. GLS_E_BUSY from inside a callback or the log function; GLS_E_RUNTIME if
 * the runtime raised (the runtime stays usable; details in errmsg). */
GLS_API gls_status gls_runtime_poll(gls_runtime *rt, long timeout_ms, int *delivered);

/* For a host with its own poll(2)/epoll loop: a descriptor that becomes
 * readable when the runtime has work (owned by the runtime: watch it, never
 * read or close it), and the milliseconds until gls_runtime_poll() must run
 * even if it stays quiet (-1 = no timer; 0 = now, e.g. results are waiting).
 * -1 from gls_runtime_fd() when rt is NULL or busy. */
GLS_API int gls_runtime_fd(gls_runtime *rt);
GLS_API long gls_runtime_timeout_ms(gls_runtime *rt);

/* Loads the policy again, from policy_path (borrowed), or from the same file
 * when NULL. Sessions, tokens and queued work are kept. On failure (the file
 * cannot be read, a syntax error, a policy that is not a table of functions)
 * the old policy stays and GLS_E_CONFIG is returned, details in errmsg. */
GLS_API gls_status gls_runtime_reload(gls_runtime *rt, const char *policy_path);

/* Requests accepted whose callbacks have not run yet. */
GLS_API size_t gls_runtime_pending(const gls_runtime *rt);

/* The runtime's figures as a JSON object: {"sessions", "queue", "calls":
 * {OPERATION: {"ok", "throttled", "failed"}}, "budget_used", "deadline_misses",
 * "superseded", "refused", "latency": {"p50", "p99"}}. Owned by the caller
 * (free with gls_free); NULL on failure (errmsg says why). */
GLS_API char *gls_runtime_stats(gls_runtime *rt);

/* Where the runtime's structured log goes: one JSON object per decision,
 * without a newline (borrowed for the call). fn NULL = standard error, one
 * line per record (the default). fn runs inside gls_runtime_* calls; it must
 * not call gls_runtime_* functions other than gls_runtime_destroy(). ud is
 * borrowed for the runtime's life. */
typedef void (*gls_runtime_log_fn)(void *ud, const char *json_record);
GLS_API gls_status gls_runtime_set_log(gls_runtime *rt, gls_runtime_log_fn fn, void *ud);

/* Details of the last failure on rt (borrowed, valid until the next call on
 * rt; never holds tokens, offers or answers). Never NULL. */
GLS_API const char *gls_runtime_errmsg(const gls_runtime *rt);

/* Closes the runtime: requests still pending get their callback with
 * "Cancelled" (results already known are delivered as they are), the Lua
 * state and everything else is freed; sessions on the service are left as
 * they are. NULL is fine. Called from inside a callback or the log function,
 * the destruction happens when the gls_runtime_* call that ran it returns;
 * rt must not be used after that. */
GLS_API void gls_runtime_destroy(gls_runtime *rt);

/* ------------------------------------------------------------------ model */

/* The number of operations in the model, and the i-th name (static). */
GLS_API size_t gls_operation_count(void);
GLS_API const char *gls_operation_name(size_t i);

#ifdef __cplusplus
}
#endif
#endif
