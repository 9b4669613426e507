/*
 * httpd.h - a small HTTP/1.1 server (libmicrohttpd underneath) driven from
 * the caller's loop: the emulator's and `glsrun serve`'s listener. Internal;
 * not installed.
 *
 * The server never runs a thread of its own. The caller watches
 * gls_httpd_fd() (or just calls gls_httpd_step() with a timeout) and
 * everything, handler calls included, happens inside gls_httpd_step().
 *
 * What it guarantees:
 *   - HTTP/1.1 with keep-alive; HTTPS when a certificate and key are given;
 *   - the request target exactly as sent (no percent-decoding, no dot
 *     segment removal), since SigV4 signs it as it went on the wire;
 *   - headers in the order received, names in the case received;
 *   - the body fully read before the handler runs; larger than max_body:
 *     413 without calling the handler; `Expect: 100-continue` honoured;
 *   - a reply now (from inside the handler) or later (deferred: the handler
 *     just returns and gls_httpd_respond() is called when the answer is
 *     known; the connection is parked meanwhile);
 *   - every reply carries Content-Length and Date.
 *
 * Ownership words as in gls.h: "borrowed" (read during the call only),
 * "copied", "owned by the server" (valid as long as stated).
 *
 * Threads: a server belongs to one thread at a time.
 */
#ifndef GLS_HTTPD_H
#define GLS_HTTPD_H

#include <stddef.h>
#include <stdint.h>
#include "gls_private.h"

typedef struct gls_httpd gls_httpd;
/* One request. Owned by the server; a pointer is valid during the handler
 * call and, for a deferred request, until it is answered. */
typedef struct gls_httpd_req gls_httpd_req;

/* Called once per request, body fully read. ud is the config's ud
 * (borrowed); req is owned by the server. The handler may answer at once
 * with gls_httpd_respond(srv, gls_httpd_req_id(req), ...) or return without
 * answering, which defers the reply. It must not call gls_httpd_step() or
 * gls_httpd_stop() on its own server. */
typedef void (*gls_httpd_handler)(void *ud, gls_httpd_req *req);

typedef struct gls_httpd_config {
  const char *host;            /* an IPv4 or IPv6 literal ("::1" or "[::1]");
                                  NULL = "127.0.0.1". Borrowed. */
  int port;                    /* 0 = any free port */
  const char *tls_cert_file;   /* PEM paths, both or neither; read during */
  const char *tls_key_file;    /*   gls_httpd_start (borrowed) */
  size_t max_body;             /* 0 = 1 MiB; larger bodies: 413, no handler call */
  unsigned idle_timeout_s;     /* 0 = 60: idle keep-alive connections close,
                                  and a whole request (line, headers, body)
                                  must come within it of the connection
                                  opening or the previous request ending */
  gls_httpd_handler handler;   /* required */
  void *ud;                    /* borrowed, handed back to handler */
} gls_httpd_config;

/* Starts listening. cfg and what it points to are borrowed (ud for the
 * server's life). On success *out is owned by the caller: free it with
 * gls_httpd_stop(). On failure *out is NULL and err (errlen bytes, may be
 * NULL) holds a message naming the parameter at fault; the status is
 * GLS_E_INVALID_ARGUMENT (a bad value), GLS_E_CONFIG (a certificate or key
 * file cannot be read), GLS_E_TRANSPORT (cannot listen) or GLS_E_NOMEM. */
gls_status gls_httpd_start(const gls_httpd_config *cfg, gls_httpd **out, char *err,
                           size_t errlen);

/* "http://127.0.0.1:PORT" (or https, or "[::1]"), with the real port even
 * when 0 was asked. Owned by the server. */
const char *gls_httpd_url(const gls_httpd *s);
/* The port listened on. */
int gls_httpd_port(const gls_httpd *s);

/* A file descriptor that becomes readable when gls_httpd_step() has work
 * (an epoll set). Owned by the server: watch it, do not read or close it. */
int gls_httpd_fd(const gls_httpd *s);

/* Milliseconds until gls_httpd_step() must be called even if the fd stays
 * quiet (idle timeouts); -1 = no timer. */
long gls_httpd_timeout_ms(gls_httpd *s);

/* Waits at most timeout_ms (-1 forever, 0 not at all, and never past the
 * server's own timer) with epoll_pwait whose mask is the thread's current
 * mask minus SIGINT and SIGTERM, so a program that blocks those two gets
 * them delivered here, race-free; then does whatever is ready, handler
 * calls included. Returns 0 ok, 1 interrupted by a signal (nothing else was
 * done), -1 an error (errno set; EBUSY when called from inside a handler). */
int gls_httpd_step(gls_httpd *s, long timeout_ms);

/* Also wakes gls_httpd_step() when fd becomes readable (on = 1), or stops
 * doing so (on = 0): for a caller with a second source of work, such as a
 * client's gls_client_pollfd(), that must be served from the same wait (the
 * one where SIGINT/SIGTERM arrive). fd stays the caller's: the server never
 * reads or closes it, and the caller unwatches it before closing it. Readable
 * stays readable (level-triggered) until the caller drains it. Returns 0, or
 * -1 with errno (EBADF, EEXIST when watched already, ENOENT when not). */
int gls_httpd_watch(gls_httpd *s, int fd, int on);

/* Deferred requests not yet answered. */
size_t gls_httpd_pending(const gls_httpd *s);

/* Closes the listener and every connection; deferred requests are dropped
 * (their connections closed, no reply), as are replies given to deferred
 * requests since the last step and not sent yet. Frees s. NULL is fine.
 * Must not be called from inside a handler. */
void gls_httpd_stop(gls_httpd *s);

/* The deferred or in-handler request with this id not yet answered, or
 * NULL. Owned by the server. */
gls_httpd_req *gls_httpd_find(gls_httpd *s, uint64_t req_id);

/* ------------------------------------------------------------- requests */
/* Accessors: req is borrowed; the strings returned are owned by the server
 * and valid until the request is answered. */

uint64_t gls_httpd_req_id(const gls_httpd_req *req);        /* 1, 2, ... per server */
const char *gls_httpd_req_method(const gls_httpd_req *req); /* "POST" */
const char *gls_httpd_req_path(const gls_httpd_req *req);   /* raw, "/a%20b" */
const char *gls_httpd_req_query(const gls_httpd_req *req);  /* raw, no '?'; "" = none */
size_t gls_httpd_req_nheaders(const gls_httpd_req *req);
/* The i-th header as received (0-based); *name and *value are
 * NUL-terminated. Out of range: both NULL. */
void gls_httpd_req_header(const gls_httpd_req *req, size_t i, const char **name,
                          const char **value);
/* The i-th header with lengths (names and values may, in theory, hold NUL). */
const gls_header *gls_httpd_req_headers(const gls_httpd_req *req, size_t *n);
/* The body (NUL-terminated after *len bytes; "" when empty). len may be NULL. */
const char *gls_httpd_req_body(const gls_httpd_req *req, size_t *len);
/* The peer's address, "127.0.0.1" or "::1". */
const char *gls_httpd_req_remote(const gls_httpd_req *req);

/* ------------------------------------------------------------- replies */

enum {
  GLS_HTTPD_DROP = 1,      /* close the connection, no reply at all */
  GLS_HTTPD_TRUNCATE = 2   /* send status, headers (Content-Length: the full
                              body_len) and truncate_at bytes of the body, then
                              close; truncate_at >= body_len is a whole reply */
};

/* Answers request req_id, inside its handler call or later (deferred).
 * headers (nheaders entries, may be NULL when 0) are borrowed: the server
 * copies them; Content-Length and Date among them are ignored (the server
 * sets both). body (body_len bytes, may be NULL when 0)
 * is copied. status is an HTTP status (100..999); ignored with
 * GLS_HTTPD_DROP.
 * Returns GLS_OK; GLS_E_INVALID_ARGUMENT when req_id is unknown or already
 * answered, the status is out of range or a header is not valid HTTP (CR,
 * LF or NUL, or an empty name) - the request then stays unanswered;
 * GLS_E_NOMEM. */
gls_status gls_httpd_respond(gls_httpd *s, uint64_t req_id, int status,
                             const gls_header *headers, size_t nheaders, const char *body,
                             size_t body_len, int flags, size_t truncate_at);

#endif
