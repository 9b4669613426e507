/* httpd.c - the HTTP/1.1 server of httpd.h on libmicrohttpd (MHD), driven
 * from outside: MHD runs in epoll mode without a thread of its own, and
 * gls_httpd_step() waits on an epoll set holding MHD's epoll fd, then calls
 * MHD_run(). Linux (epoll).
 *
 * One request's life:
 *   uri_log callback    the raw request target, before MHD decodes it: the
 *                       gls_httpd_req is allocated here (one malloc, target
 *                       inline), so the path and query are kept as sent;
 *   access handler #1   headers in: Content-Length over max_body -> 413 now
 *                       (MHD then skips the body and closes); else the body
 *                       buffer is sized once from Content-Length;
 *   access handler #k   body bytes appended (chunked bodies grow the buffer;
 *                       past max_body they are discarded and 413 follows);
 *   access handler last the handler runs; if it answered, the reply is
 *                       queued; else the connection is suspended and the
 *                       request waits in the pending table until
 *                       gls_httpd_respond() resumes it;
 *   access handler (resumed) the stored reply is queued (or MHD_NO: drop);
 *   notify_completed    frees the request, whatever happened.
 *
 * Slow clients: MHD's connection timeout counts idleness, so a client that
 * trickles a byte now and then (headers or body) would hold its connection
 * for ever. Each connection therefore also has a deadline: its whole next
 * request (line, headers, body) must be in within idle_timeout_s of the
 * connection opening or of its previous request completing. Connections
 * waiting for a request sit on a list in deadline order (the deadline only
 * ever moves to now + the same timeout, so appending keeps the order);
 * gls_httpd_step() shuts down the socket of each one past its deadline and
 * MHD closes it. From the handler call to the request's completion the
 * connection is off the list (the server, not the client, is taking time).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include "httpd.h"

#define DEFAULT_MAX_BODY ((size_t)1 << 20)
#define DEFAULT_IDLE_S 60u
#define CONNECTION_LIMIT 4096u
#define INLINE_HEADERS 24
#define MAX_PEM ((long)1 << 20)

enum { Q_NEW, Q_BODY, Q_HANDLER, Q_PARKED, Q_RESUMED, Q_DONE };
enum { A_NONE, A_REPLY, A_DROP };

struct gls_httpd_req {
  gls_httpd *srv;
  struct MHD_Connection *conn;
  gls_httpd_req *hnext;          /* pending table chain (Q_PARKED only) */
  uint64_t id;                   /* 0 until the handler is called */
  int state, action, too_large;
  unsigned status;
  struct MHD_Response *resp;     /* the answer, A_REPLY, until queued */
  const char *method;            /* MHD's, valid for the request */
  char *body;                    /* malloc'd, body_cap + 1 bytes, or NULL */
  size_t body_len, body_cap;
  gls_header *hdrs;              /* inline_hdrs or malloc'd; strings are MHD's */
  size_t nhdrs, hdr_cap;
  const char *query;             /* into target, or its terminating NUL */
  char remote[INET6_ADDRSTRLEN];
  gls_header inline_hdrs[INLINE_HEADERS];
  char target[];                 /* the raw target; '?' replaced by NUL */
};

/* One connection (MHD's socket context), on the server's deadline list while
 * it is sending a request. */
typedef struct conn_rec {
  struct conn_rec *prev, *next;
  int fd;
  int listed;
  long long deadline_ms;         /* monotonic */
} conn_rec;

struct gls_httpd {
  struct MHD_Daemon *d;
  int epfd;                      /* ours; holds MHD's epoll fd */
  size_t resumed;                /* deferred replies given since the last MHD_run:
                                    MHD sends them only when run again, and its
                                    epoll set does not say so */
  int port;
  size_t max_body;
  gls_httpd_handler handler;
  void *ud;
  uint64_t next_id;
  gls_httpd_req *current;        /* the request whose handler is running */
  int in_handler, stopping;
  gls_httpd_req **buckets;       /* pending (deferred) requests by id */
  size_t nbuckets, npending;     /* nbuckets: a power of two */
  struct MHD_Response *too_large;
  char *cert_pem, *key_pem;      /* kept for the daemon's life; key wiped */
  size_t key_len;
  long long idle_ms;             /* a whole request must come within this */
  conn_rec *first, *last;        /* connections sending a request, by deadline */
  int capture_log;               /* MHD's messages go to log during start */
  char log[256];
  char url[96];
};

static const char TOO_LARGE_BODY[] = "{\"message\":\"Request Entity Too Large\"}";

static void seterr(char *err, size_t errlen, const char *fmt, ...) {
  if (!err || !errlen) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
}

/* ------------------------------------------------------------ deadlines */

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void unlist(gls_httpd *s, conn_rec *c) {
  if (!c->listed) return;
  if (c->prev) c->prev->next = c->next;
  else s->first = c->next;
  if (c->next) c->next->prev = c->prev;
  else s->last = c->prev;
  c->prev = c->next = NULL;
  c->listed = 0;
}

/* (Re)starts c's clock: its next request must be in within idle_ms. */
static void relist(gls_httpd *s, conn_rec *c) {
  unlist(s, c);
  c->deadline_ms = now_ms() + s->idle_ms;
  c->prev = s->last;
  if (s->last) s->last->next = c;
  else s->first = c;
  s->last = c;
  c->listed = 1;
}

static conn_rec *rec_of(struct MHD_Connection *conn) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  return ci ? ci->socket_context : NULL;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code) {
  gls_httpd *s = cls;
  conn_rec *c = *socket_context;
  if (code == MHD_CONNECTION_NOTIFY_STARTED) {
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci || !(c = calloc(1, sizeof *c))) return; /* MHD's idle timeout still applies */
    c->fd = ci->connect_fd;
    relist(s, c);
    *socket_context = c;
  } else if (c) {
    unlist(s, c);
    free(c);
    *socket_context = NULL;
  }
}

/* Shuts down every connection past its deadline: MHD sees the socket end
 * and closes the connection at its next run. */
static void sweep(gls_httpd *s) {
  long long now = now_ms();
  while (s->first && s->first->deadline_ms <= now) {
    conn_rec *c = s->first;
    unlist(s, c);
    shutdown(c->fd, SHUT_RDWR);
  }
}

/* ------------------------------------------------------------ pending table */

static void park(gls_httpd *s, gls_httpd_req *q) {
  if (s->npending >= s->nbuckets) { /* grow; on ENOMEM chains just get longer */
    size_t n = s->nbuckets * 2;
    gls_httpd_req **b = calloc(n, sizeof *b);
    if (b) {
      for (size_t i = 0; i < s->nbuckets; i++) {
        for (gls_httpd_req *p = s->buckets[i], *next; p; p = next) {
          next = p->hnext;
          p->hnext = b[p->id & (n - 1)];
          b[p->id & (n - 1)] = p;
        }
      }
      free(s->buckets);
      s->buckets = b;
      s->nbuckets = n;
    }
  }
  gls_httpd_req **head = &s->buckets[q->id & (s->nbuckets - 1)];
  q->hnext = *head;
  *head = q;
  s->npending++;
}

static void unpark(gls_httpd *s, gls_httpd_req *q) {
  for (gls_httpd_req **pp = &s->buckets[q->id & (s->nbuckets - 1)]; *pp; pp = &(*pp)->hnext) {
    if (*pp == q) {
      *pp = q->hnext;
      q->hnext = NULL;
      s->npending--;
      return;
    }
  }
}

gls_httpd_req *gls_httpd_find(gls_httpd *s, uint64_t id) {
  if (!s || !id) return NULL;
  gls_httpd_req *q = s->current;
  if (q && q->id == id) return q->action == A_NONE ? q : NULL;
  for (q = s->buckets[id & (s->nbuckets - 1)]; q; q = q->hnext)
    if (q->id == id) return q;
  return NULL;
}

size_t gls_httpd_pending(const gls_httpd *s) { return s ? s->npending : 0; }

/* ------------------------------------------------------------ MHD callbacks */

/* Sees the request target before MHD splits and decodes it. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn) {
  gls_httpd *s = cls;
  size_t n = strlen(uri);
  gls_httpd_req *q = malloc(sizeof *q + n + 1);
  if (!q) return NULL; /* the access handler then refuses the request */
  q->srv = s;
  q->conn = conn;
  q->hnext = NULL;
  q->id = 0;
  q->state = Q_NEW;
  q->action = A_NONE;
  q->too_large = 0;
  q->status = 0;
  q->resp = NULL;
  q->method = "";
  q->body = NULL;
  q->body_len = q->body_cap = 0;
  q->hdrs = NULL;
  q->nhdrs = q->hdr_cap = 0;
  q->remote[0] = '\0';
  memcpy(q->target, uri, n + 1);
  char *mark = memchr(q->target, '?', n);
  if (mark) {
    *mark = '\0';
    q->query = mark + 1;
  } else {
    q->query = q->target + n;
  }
  return q;
}

static void free_req(gls_httpd_req *q) {
  if (q->resp) MHD_destroy_response(q->resp);
  if (q->hdrs != q->inline_hdrs) free(q->hdrs);
  free(q->body);
  free(q);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
  gls_httpd *s = cls;
  gls_httpd_req *q = *con_cls;
  *con_cls = NULL;
  conn_rec *c = rec_of(conn);
  if (c && toe == MHD_REQUEST_TERMINATED_COMPLETED_OK) relist(s, c); /* the next request's clock */
  if (!q) return;
  if (q->state == Q_PARKED) unpark(s, q);
  if (s->current == q) s->current = NULL;
  free_req(q);
}

static void log_mhd(void *cls, const char *fmt, va_list ap) {
  gls_httpd *s = cls;
  if (!s->capture_log) return; /* once running, MHD's complaints are noise */
  vsnprintf(s->log, sizeof s->log, fmt, ap);
  size_t n = strlen(s->log);
  while (n && (s->log[n - 1] == '\n' || s->log[n - 1] == '.')) s->log[--n] = '\0';
}

static enum MHD_Result add_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                  size_t key_size, const char *value, size_t value_size) {
  (void)kind;
  gls_httpd_req *q = cls;
  if (q->nhdrs < q->hdr_cap) {
    gls_header *h = &q->hdrs[q->nhdrs++];
    h->name = key;
    h->name_len = key_size;
    if (!value) value_size = 0;
    /* MHD 0.9.75 strips the spaces before a value but not those after it
     * (RFC 9110 5.5: neither belongs to the value). The value sits in the
     * connection's own writable read buffer, already parsed: end it there. */
    if (value_size && (value[value_size - 1] == ' ' || value[value_size - 1] == '\t')) {
      while (value_size && (value[value_size - 1] == ' ' || value[value_size - 1] == '\t'))
        value_size--;
      ((char *)value)[value_size] = '\0';
    }
    h->value = value ? value : "";
    h->value_len = value_size;
  }
  return MHD_YES;
}

static void peer_address(gls_httpd_req *q) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(q->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (!ci || !ci->client_addr) return;
  if (ci->client_addr->sa_family == AF_INET) {
    struct sockaddr_in sin;
    memcpy(&sin, ci->client_addr, sizeof sin);
    inet_ntop(AF_INET, &sin.sin_addr, q->remote, sizeof q->remote);
  } else if (ci->client_addr->sa_family == AF_INET6) {
    struct sockaddr_in6 sin6;
    memcpy(&sin6, ci->client_addr, sizeof sin6);
    inet_ntop(AF_INET6, &sin6.sin6_addr, q->remote, sizeof q->remote);
  }
}

/* Queues the stored answer, or closes the connection (MHD_NO) for a drop. */
static enum MHD_Result finish(gls_httpd_req *q) {
  q->state = Q_DONE;
  if (q->action != A_REPLY || !q->resp) return MHD_NO;
  enum MHD_Result r = MHD_queue_response(q->conn, q->status, q->resp);
  MHD_destroy_response(q->resp);
  q->resp = NULL;
  return r;
}

static enum MHD_Result dispatch(gls_httpd *s, gls_httpd_req *q) {
  if (q->body) q->body[q->body_len] = '\0';
  int n = MHD_get_connection_values(q->conn, MHD_HEADER_KIND, NULL, NULL);
  if (n < 0) n = 0;
  if ((size_t)n <= INLINE_HEADERS) {
    q->hdrs = q->inline_hdrs;
    q->hdr_cap = INLINE_HEADERS;
  } else if ((q->hdrs = malloc((size_t)n * sizeof *q->hdrs))) {
    q->hdr_cap = (size_t)n;
  } else {
    return MHD_NO;
  }
  MHD_get_connection_values_n(q->conn, MHD_HEADER_KIND, add_header, q);
  peer_address(q);
  conn_rec *c = rec_of(q->conn);
  if (c) unlist(s, c); /* the request is in: the server's time from here */
  q->id = ++s->next_id;
  q->state = Q_HANDLER;
  s->current = q;
  s->in_handler = 1;
  s->handler(s->ud, q);
  s->in_handler = 0;
  s->current = NULL;
  if (q->action == A_NONE) { /* deferred: park the connection until answered */
    q->state = Q_PARKED;
    park(s, q);
    MHD_suspend_connection(q->conn);
    return MHD_YES;
  }
  return finish(q);
}

/* Appends body bytes; past max_body the body is discarded (413 follows). */
static int take(gls_httpd *s, gls_httpd_req *q, const char *data, size_t n) {
  if (q->too_large) return 0;
  if (n > s->max_body - q->body_len) {
    q->too_large = 1;
    free(q->body);
    q->body = NULL;
    q->body_len = q->body_cap = 0;
    return 0;
  }
  if (n > q->body_cap - q->body_len) { /* chunked, or more than announced */
    size_t cap = q->body_cap ? q->body_cap * 2 : 4096;
    if (cap < q->body_len + n) cap = q->body_len + n;
    if (cap > s->max_body) cap = s->max_body;
    char *b = realloc(q->body, cap + 1);
    if (!b) return -1;
    q->body = b;
    q->body_cap = cap;
  }
  memcpy(q->body + q->body_len, data, n);
  q->body_len += n;
  return 0;
}

static enum MHD_Result begin(gls_httpd *s, gls_httpd_req *q, const char *method) {
  q->method = method;
  const char *cl =
      MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
  if (cl) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(cl, &end, 10);
    if (errno || end == cl || *end || v > s->max_body) { /* before any 100 Continue */
      q->state = Q_DONE;
      return MHD_queue_response(q->conn, 413, s->too_large);
    }
    if (v) {
      if (!(q->body = malloc((size_t)v + 1))) return MHD_NO;
      q->body_cap = (size_t)v;
    }
  }
  q->state = Q_BODY;
  return MHD_YES;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version,
                                 const char *upload_data, size_t *upload_data_size,
                                 void **con_cls) {
  (void)url; /* decoded by MHD: the raw target came through on_uri */
  (void)version;
  gls_httpd *s = cls;
  gls_httpd_req *q = *con_cls;
  if (!q || s->stopping) return MHD_NO;
  q->conn = conn;
  switch (q->state) {
  case Q_NEW:
    return begin(s, q, method);
  case Q_BODY:
    if (*upload_data_size) {
      int r = take(s, q, upload_data, *upload_data_size);
      *upload_data_size = 0;
      return r ? MHD_NO : MHD_YES;
    }
    if (q->too_large) {
      q->state = Q_DONE;
      return MHD_queue_response(conn, 413, s->too_large);
    }
    return dispatch(s, q);
  case Q_RESUMED:
    return finish(q);
  case Q_PARKED:
    return MHD_YES; /* still waiting for its answer */
  default:
    return MHD_NO;
  }
}

/* ------------------------------------------------------------ start, stop */

/* Reads a whole (PEM) file into a NUL-terminated malloc'd buffer. */
static char *read_file(const char *path, size_t *len, char *err, size_t errlen,
                       const char *param) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    seterr(err, errlen, "%s: cannot open '%s': %s", param, path, strerror(errno));
    return NULL;
  }
  char *buf = NULL;
  long n = -1;
  if (fseek(f, 0, SEEK_END) == 0) n = ftell(f);
  if (n < 0 || n > MAX_PEM || fseek(f, 0, SEEK_SET) != 0) {
    seterr(err, errlen, "%s: cannot read '%s'", param, path);
  } else if (!(buf = malloc((size_t)n + 1))) {
    seterr(err, errlen, "out of memory");
  } else if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
    seterr(err, errlen, "%s: cannot read '%s'", param, path);
    free(buf);
    buf = NULL;
  } else {
    buf[n] = '\0';
    if (len) *len = (size_t)n;
  }
  fclose(f);
  return buf;
}

static void destroy(gls_httpd *s) {
  if (s->d) MHD_stop_daemon(s->d);
  if (s->too_large) MHD_destroy_response(s->too_large);
  if (s->epfd >= 0) close(s->epfd);
  free(s->buckets);
  free(s->cert_pem);
  if (s->key_pem) {
    OPENSSL_cleanse(s->key_pem, s->key_len);
    free(s->key_pem);
  }
  free(s);
}

gls_status gls_httpd_start(const gls_httpd_config *cfg, gls_httpd **out, char *err,
                           size_t errlen) {
  if (out) *out = NULL;
  if (err && errlen) err[0] = '\0';
  if (!cfg || !out) {
    seterr(err, errlen, "cfg and out are required");
    return GLS_E_INVALID_ARGUMENT;
  }
  if (!cfg->handler) {
    seterr(err, errlen, "handler: required");
    return GLS_E_INVALID_ARGUMENT;
  }
  if (cfg->port < 0 || cfg->port > 65535) {
    seterr(err, errlen, "port: %d is not between 0 and 65535", cfg->port);
    return GLS_E_INVALID_ARGUMENT;
  }
  if (!cfg->tls_cert_file != !cfg->tls_key_file) {
    seterr(err, errlen, "%s: required with %s",
           cfg->tls_cert_file ? "tls_key_file" : "tls_cert_file",
           cfg->tls_cert_file ? "tls_cert_file" : "tls_key_file");
    return GLS_E_INVALID_ARGUMENT;
  }
  /* the address: a literal only, no name resolution */
  const char *host = cfg->host ? cfg->host : "127.0.0.1";
  char hbuf[INET6_ADDRSTRLEN + 2];
  size_t hl = strlen(host);
  if (hl >= sizeof hbuf) {
    seterr(err, errlen, "host: '%.60s...' is not an IP address", host);
    return GLS_E_INVALID_ARGUMENT;
  }
  if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
    memcpy(hbuf, host + 1, hl - 2);
    hbuf[hl - 2] = '\0';
  } else {
    memcpy(hbuf, host, hl + 1);
  }
  struct sockaddr_in sin;
  struct sockaddr_in6 sin6;
  memset(&sin, 0, sizeof sin);
  memset(&sin6, 0, sizeof sin6);
  const struct sockaddr *sa;
  unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
  int v6 = 0;
  if (inet_pton(AF_INET, hbuf, &sin.sin_addr) == 1) {
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)cfg->port);
    sa = (const struct sockaddr *)&sin;
  } else if (inet_pton(AF_INET6, hbuf, &sin6.sin6_addr) == 1) {
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons((uint16_t)cfg->port);
    sa = (const struct sockaddr *)&sin6;
    flags |= MHD_USE_IPv6;
    v6 = 1;
  } else {
    seterr(err, errlen, "host: '%s' is not an IPv4 or IPv6 address", host);
    return GLS_E_INVALID_ARGUMENT;
  }
  if (cfg->tls_cert_file && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
    seterr(err, errlen, "tls_cert_file: libmicrohttpd was built without TLS");
    return GLS_E_CONFIG;
  }

  gls_httpd *s = calloc(1, sizeof *s);
  if (!s) {
    seterr(err, errlen, "out of memory");
    return GLS_E_NOMEM;
  }
  s->epfd = -1;
  s->max_body = cfg->max_body ? cfg->max_body : DEFAULT_MAX_BODY;
  s->handler = cfg->handler;
  s->ud = cfg->ud;
  s->nbuckets = 64;
  if (!(s->buckets = calloc(s->nbuckets, sizeof *s->buckets)) ||
      !(s->too_large = MHD_create_response_from_buffer(
            sizeof TOO_LARGE_BODY - 1, (void *)TOO_LARGE_BODY, MHD_RESPMEM_PERSISTENT)) ||
      MHD_add_response_header(s->too_large, "Content-Type", "application/json") != MHD_YES) {
    seterr(err, errlen, "out of memory");
    destroy(s);
    return GLS_E_NOMEM;
  }
  if (cfg->tls_cert_file) {
    if (!(s->cert_pem = read_file(cfg->tls_cert_file, NULL, err, errlen, "tls_cert_file")) ||
        !(s->key_pem = read_file(cfg->tls_key_file, &s->key_len, err, errlen, "tls_key_file"))) {
      destroy(s);
      return GLS_E_CONFIG;
    }
    flags |= MHD_USE_TLS;
  }
  unsigned idle = cfg->idle_timeout_s ? cfg->idle_timeout_s : DEFAULT_IDLE_S;
  s->idle_ms = (long long)idle * 1000;
  struct MHD_OptionItem tls_opts[] = {
    {MHD_OPTION_HTTPS_MEM_CERT, 0, s->cert_pem},
    {MHD_OPTION_HTTPS_MEM_KEY, 0, s->key_pem},
    {MHD_OPTION_END, 0, NULL}};
  s->capture_log = 1;
  errno = 0;
  s->d = MHD_start_daemon(
      flags, (uint16_t)cfg->port, NULL, NULL, on_access, s,
      MHD_OPTION_EXTERNAL_LOGGER, log_mhd, s,
      MHD_OPTION_SOCK_ADDR, sa,
      MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
      MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
      MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
      MHD_OPTION_CONNECTION_LIMIT, CONNECTION_LIMIT,
      MHD_OPTION_CONNECTION_TIMEOUT, idle,
      MHD_OPTION_ARRAY, cfg->tls_cert_file ? tls_opts : tls_opts + 2,
      MHD_OPTION_END);
  int saved = errno;
  s->capture_log = 0;
  if (!s->d) {
    if (s->log[0]) seterr(err, errlen, "cannot listen on %s:%d: %s", host, cfg->port, s->log);
    else seterr(err, errlen, "cannot listen on %s:%d: %s", host, cfg->port,
                saved ? strerror(saved) : "libmicrohttpd refused to start");
    destroy(s);
    return GLS_E_TRANSPORT;
  }
  const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_EPOLL_FD);
  int mhd_fd = di ? di->epoll_fd : -1;
  di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
  s->port = di ? (int)di->port : cfg->port;
  struct epoll_event ev;
  memset(&ev, 0, sizeof ev);
  ev.events = EPOLLIN;
  if (mhd_fd < 0 || (s->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
      epoll_ctl(s->epfd, EPOLL_CTL_ADD, mhd_fd, &ev) != 0) {
    seterr(err, errlen, "cannot set up epoll: %s", strerror(errno));
    destroy(s);
    return GLS_E_TRANSPORT;
  }
  snprintf(s->url, sizeof s->url, "%s://%s%s%s:%d", cfg->tls_cert_file ? "https" : "http",
           v6 ? "[" : "", hbuf, v6 ? "]" : "", s->port);
  *out = s;
  return GLS_OK;
}

void gls_httpd_stop(gls_httpd *s) {
  if (!s) return;
  s->stopping = 1; /* from here on the access handler refuses everything */
  /* MHD will not stop with suspended connections: resume them all (they
   * are dropped: the access handler now says MHD_NO) and let MHD take
   * them, and those answered but not yet woken, off its suspended list. */
  for (size_t i = 0; s->npending && i < s->nbuckets; i++) {
    for (gls_httpd_req *q = s->buckets[i], *next; q; q = next) {
      next = q->hnext;
      q->hnext = NULL;
      q->state = Q_RESUMED;
      q->action = A_DROP;
      MHD_resume_connection(q->conn);
    }
    s->buckets[i] = NULL;
  }
  s->npending = 0;
  MHD_run(s->d);
  destroy(s);
}

/* ------------------------------------------------------------ the loop */

const char *gls_httpd_url(const gls_httpd *s) { return s ? s->url : NULL; }
int gls_httpd_port(const gls_httpd *s) { return s ? s->port : -1; }
int gls_httpd_fd(const gls_httpd *s) { return s ? s->epfd : -1; }

long gls_httpd_timeout_ms(gls_httpd *s) {
  MHD_UNSIGNED_LONG_LONG t;
  if (s && s->resumed) return 0;
  if (!s) return -1;
  long ms = -1;
  if (MHD_get_timeout(s->d, &t) == MHD_YES)
    ms = t > (MHD_UNSIGNED_LONG_LONG)LONG_MAX ? LONG_MAX : (long)t;
  if (s->first) {
    long long left = s->first->deadline_ms - now_ms();
    if (left < 0) left = 0;
    if (ms < 0 || left < ms) ms = left > LONG_MAX ? LONG_MAX : (long)left;
  }
  return ms;
}

int gls_httpd_step(gls_httpd *s, long timeout_ms) {
  if (!s) {
    errno = EINVAL;
    return -1;
  }
  if (s->in_handler) {
    errno = EBUSY;
    return -1;
  }
  long wait = timeout_ms < 0 ? -1 : timeout_ms;
  if (wait != 0) {
    long t = gls_httpd_timeout_ms(s);
    if (t >= 0 && (wait < 0 || t < wait)) wait = t;
  }
  if (wait > INT_MAX) wait = INT_MAX;
  sigset_t mask;
  pthread_sigmask(SIG_SETMASK, NULL, &mask);
  sigdelset(&mask, SIGINT);
  sigdelset(&mask, SIGTERM);
  struct epoll_event ev;
  if (epoll_pwait(s->epfd, &ev, 1, (int)wait, &mask) < 0) return errno == EINTR ? 1 : -1;
  s->resumed = 0;
  if (MHD_run(s->d) != MHD_YES) return -1;
  if (s->first) sweep(s);
  return 0;
}

int gls_httpd_watch(gls_httpd *s, int fd, int on) {
  if (!s || fd < 0) {
    errno = s ? EBADF : EINVAL;
    return -1;
  }
  struct epoll_event ev;
  memset(&ev, 0, sizeof ev);
  ev.events = EPOLLIN;
  ev.data.fd = fd;
  return epoll_ctl(s->epfd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, fd, &ev);
}

/* ------------------------------------------------------------ requests */

uint64_t gls_httpd_req_id(const gls_httpd_req *q) { return q->id; }
const char *gls_httpd_req_method(const gls_httpd_req *q) { return q->method; }
const char *gls_httpd_req_path(const gls_httpd_req *q) { return q->target; }
const char *gls_httpd_req_query(const gls_httpd_req *q) { return q->query; }
size_t gls_httpd_req_nheaders(const gls_httpd_req *q) { return q->nhdrs; }
const char *gls_httpd_req_remote(const gls_httpd_req *q) { return q->remote; }

void gls_httpd_req_header(const gls_httpd_req *q, size_t i, const char **name,
                          const char **value) {
  *name = i < q->nhdrs ? q->hdrs[i].name : NULL;
  *value = i < q->nhdrs ? q->hdrs[i].value : NULL;
}

const gls_header *gls_httpd_req_headers(const gls_httpd_req *q, size_t *n) {
  if (n) *n = q->nhdrs;
  return q->hdrs;
}

const char *gls_httpd_req_body(const gls_httpd_req *q, size_t *len) {
  if (len) *len = q->body_len;
  return q->body ? q->body : "";
}

/* ------------------------------------------------------------ replies */

typedef struct partial {
  size_t n;
  char data[];
} partial;

/* Hands out the first n bytes, then fails: MHD closes the connection with
 * the body short of its Content-Length. */
static ssize_t partial_read(void *cls, uint64_t pos, char *buf, size_t max) {
  partial *p = cls;
  if (pos >= p->n) return MHD_CONTENT_READER_END_WITH_ERROR;
  size_t k = p->n - (size_t)pos;
  if (k > max) k = max;
  memcpy(buf, p->data + pos, k);
  return (ssize_t)k;
}

/* 0 ok, -1 a header MHD refuses, -2 ENOMEM. */
static int add_headers(struct MHD_Response *r, const gls_header *h, size_t n) {
  char stack[1024];
  for (size_t i = 0; i < n; i++) {
    size_t nl = h[i].name_len, vl = h[i].value_len;
    if (!nl || !h[i].name || (vl && !h[i].value) || memchr(h[i].name, '\0', nl) ||
        (vl && memchr(h[i].value, '\0', vl)))
      return -1;
    /* the server's own: MHD 0.9.75 would send a second Date, not replace it */
    if ((nl == 14 && !strncasecmp(h[i].name, "Content-Length", 14)) ||
        (nl == 4 && !strncasecmp(h[i].name, "Date", 4)))
      continue;
    char *buf = nl + vl + 2 <= sizeof stack ? stack : malloc(nl + vl + 2);
    if (!buf) return -2;
    memcpy(buf, h[i].name, nl);
    buf[nl] = '\0';
    if (vl) memcpy(buf + nl + 1, h[i].value, vl);
    buf[nl + 1 + vl] = '\0';
    enum MHD_Result ok = MHD_add_response_header(r, buf, buf + nl + 1);
    if (buf != stack) free(buf);
    if (ok != MHD_YES) return -1;
  }
  return 0;
}

gls_status gls_httpd_respond(gls_httpd *s, uint64_t req_id, int status,
                             const gls_header *headers, size_t nheaders, const char *body,
                             size_t body_len, int flags, size_t truncate_at) {
  gls_httpd_req *q = gls_httpd_find(s, req_id);
  if (!q || s->stopping) return GLS_E_INVALID_ARGUMENT;
  struct MHD_Response *r = NULL;
  if (!(flags & GLS_HTTPD_DROP)) {
    if (status < 100 || status > 999 || (body_len && !body) || (nheaders && !headers))
      return GLS_E_INVALID_ARGUMENT;
    if ((flags & GLS_HTTPD_TRUNCATE) && truncate_at < body_len) {
      partial *p = malloc(sizeof *p + truncate_at + 1);
      if (!p) return GLS_E_NOMEM;
      p->n = truncate_at;
      if (truncate_at) memcpy(p->data, body, truncate_at);
      r = MHD_create_response_from_callback(body_len, 16384, partial_read, p, free);
      if (!r) {
        free(p);
        return GLS_E_NOMEM;
      }
    } else {
      r = MHD_create_response_from_buffer(body_len, (void *)(body_len ? body : ""),
                                          MHD_RESPMEM_MUST_COPY);
      if (!r) return GLS_E_NOMEM;
    }
    int rc = add_headers(r, headers, nheaders);
    if (rc) {
      MHD_destroy_response(r);
      return rc == -2 ? GLS_E_NOMEM : GLS_E_INVALID_ARGUMENT;
    }
  }
  q->resp = r;
  q->status = (unsigned)status;
  q->action = r ? A_REPLY : A_DROP;
  if (q->state == Q_PARKED) { /* deferred: wake the connection up */
    unpark(s, q);
    q->state = Q_RESUMED;
    MHD_resume_connection(q->conn);
    s->resumed++;
  }
  return GLS_OK;
}
