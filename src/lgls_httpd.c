/* lgls_httpd.c - core.httpd{...}: the Lua face of src/httpd.h.
 *
 *   local srv = core.httpd{ listen = "127.0.0.1:0", tls_cert =, tls_key =,
 *                           max_body =, idle_timeout = 60, handler = function(req) ... end,
 *                           on_error = function(msg) end }
 *   srv:url() srv:port() srv:pollfd() srv:timeout() srv:step(t)
 *   srv:respond(id, status, headers, body, opts) srv:close()
 *   srv:watch(fd[, false])  -- also wake srv:step when fd is readable (or stop)
 *
 * Errors: misuse (a bad option, a bad reply value, a closed server) raises;
 * what the environment decides returns nil, message: core.httpd when it
 * cannot listen or read the certificate, step when a signal came
 * ("interrupted"), respond for an id that is unknown or answered already
 * ("no such request").
 *
 * Handlers run inside srv:step(), inside libmicrohttpd's callbacks, on the
 * main thread of the state the server was made in (LUA_RIDX_MAINTHREAD),
 * through lua_pcall with a traceback: nothing raised there (not even a
 * memory error while building the request table) unwinds through
 * libmicrohttpd's frames. A handler that raises gets its request a 500
 * {"message":"internal error"}; the error goes to on_error, else stderr.
 * The handler and on_error are anchored in the registry until close/__gc. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "httpd.h"
#include "lgls.h"

#define HTTPD_MT "gameliftstreams.httpd"
#define STACK_HEADERS 32

typedef struct lhttpd {
  gls_httpd *h;          /* NULL once closed */
  lua_State *main;       /* where handlers run */
  int handler_ref, on_error_ref;
  int in_step;           /* inside gls_httpd_step: close must wait */
  int close_pending;     /* close was asked for inside a handler */
} lhttpd;

static const gls_header JSON_TYPE[] = {{"Content-Type", 12, "application/json", 16}};
static const char INTERNAL_ERROR[] = "{\"message\":\"internal error\"}";

static lhttpd *check_srv(lua_State *L, int i) {
  lhttpd *lh = luaL_checkudata(L, i, HTTPD_MT);
  if (!lh->h || lh->close_pending) luaL_error(L, "the server is closed");
  return lh;
}

/* ------------------------------------------------------------ replies */

/* Reads a reply (status, headers, body, opts at i..i+3) and answers id.
 * Raises on bad values, naming them with who ("srv:respond", "the
 * handler's reply"). Returns 1 if answered, 0 if there is no such request
 * (unknown or answered already). */
static int answer(lua_State *L, lhttpd *lh, uint64_t id, int i, const char *who) {
  int flags = 0;
  size_t truncate_at = 0;
  if (!lua_isnil(L, i + 3)) {
    if (!lua_istable(L, i + 3))
      return luaL_error(L, "%s: bad opts (table expected, got %s)", who, luaL_typename(L, i + 3));
    lua_getfield(L, i + 3, "drop");
    if (lua_toboolean(L, -1)) flags |= GLS_HTTPD_DROP;
    lua_pop(L, 1);
    if (lua_getfield(L, i + 3, "truncate") != LUA_TNIL) {
      int isint = 0;
      lua_Integer n = lua_tointegerx(L, -1, &isint);
      if (!isint || n < 0)
        return luaL_error(L, "%s: bad opts.truncate (integer >= 0 expected)", who);
      flags |= GLS_HTTPD_TRUNCATE;
      truncate_at = (size_t)n;
    }
    lua_pop(L, 1);
  }
  int status = 0;
  if (!(flags & GLS_HTTPD_DROP)) {
    int isint = 0;
    lua_Integer st = lua_tointegerx(L, i, &isint);
    if (!isint || st < 100 || st > 999)
      return luaL_error(L, "%s: bad status (integer between 100 and 999 expected, got %s)", who,
                        lua_type(L, i) == LUA_TNUMBER ? "a number out of range" : luaL_typename(L, i));
    status = (int)st;
  }
  size_t body_len = 0;
  const char *body = NULL;
  if (!lua_isnil(L, i + 2)) {
    if (lua_type(L, i + 2) != LUA_TSTRING)
      return luaL_error(L, "%s: bad body (string expected, got %s)", who, luaL_typename(L, i + 2));
    body = lua_tolstring(L, i + 2, &body_len);
  }
  /* headers: a table of names to string (or number) values */
  gls_header stack[STACK_HEADERS], *hs = stack;
  size_t n = 0;
  if (!lua_isnil(L, i + 1)) {
    if (!lua_istable(L, i + 1))
      return luaL_error(L, "%s: bad headers (table expected, got %s)", who, luaL_typename(L, i + 1));
    size_t count = 0;
    lua_pushnil(L);
    while (lua_next(L, i + 1)) {
      lua_pop(L, 1);
      count++;
    }
    if (count > STACK_HEADERS) hs = lua_newuserdatauv(L, count * sizeof *hs, 0);
    int anchor = 0; /* a table that keeps numbers turned into strings alive */
    lua_Integer kept = 0;
    lua_pushnil(L);
    while (lua_next(L, i + 1)) {
      int vt = lua_type(L, -1);
      if (lua_type(L, -2) != LUA_TSTRING || (vt != LUA_TSTRING && vt != LUA_TNUMBER))
        return luaL_error(L, "%s: bad headers (a table of names to string values expected)", who);
      if (n == count) return luaL_error(L, "%s: headers changed while read", who);
      gls_header *h = &hs[n++];
      h->name = lua_tolstring(L, -2, &h->name_len);
      if (vt == LUA_TNUMBER) {
        if (!anchor) { /* [.. key value] -> [.. anchor key value] */
          lua_newtable(L);
          lua_insert(L, -3);
          anchor = lua_gettop(L) - 2;
        }
        lua_pushvalue(L, -1);
        h->value = lua_tolstring(L, -1, &h->value_len); /* the copy becomes a string */
        lua_rawseti(L, anchor, ++kept);
      } else {
        h->value = lua_tolstring(L, -1, &h->value_len);
      }
      lua_pop(L, 1);
    }
  }
  if (!gls_httpd_find(lh->h, id)) return 0;
  gls_status st = gls_httpd_respond(lh->h, id, status, hs, n, body, body_len, flags, truncate_at);
  if (st == GLS_E_NOMEM) return luaL_error(L, "out of memory");
  if (st != GLS_OK)
    return luaL_error(L, "%s: bad headers (a name or value holds CR, LF or NUL, or a name is empty)",
                      who);
  return 1;
}

/* ------------------------------------------------------------ handler calls */

/* Hands the error on top of the stack to on_error (or stderr); leaves the
 * stack as it found it. Only pushes what needs no memory before its own
 * protected call. */
static void report(lhttpd *lh, lua_State *L) {
  const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "(no message)";
  if (lh->on_error_ref != LUA_NOREF) {
    lua_pushcfunction(L, gls_l_msghandler);
    lua_rawgeti(L, LUA_REGISTRYINDEX, lh->on_error_ref);
    lua_pushvalue(L, -3);
    if (lua_pcall(L, 1, 0, -3) == LUA_OK) {
      lua_pop(L, 1);
      return;
    }
    fprintf(stderr, "gls: error in the httpd's on_error: %s\n",
            lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "(no message)");
    lua_pop(L, 2);
  }
  fprintf(stderr, "gls: error in an httpd handler: %s\n", msg);
}

/* Pushes the request table of the contract (see the file's head). */
static void push_req(lua_State *L, const gls_httpd_req *req) {
  size_t n, body_len;
  const gls_header *hs = gls_httpd_req_headers(req, &n);
  const char *body = gls_httpd_req_body(req, &body_len);
  lua_createtable(L, 0, 8);
  lua_pushinteger(L, (lua_Integer)gls_httpd_req_id(req));
  lua_setfield(L, -2, "id");
  lua_pushstring(L, gls_httpd_req_method(req));
  lua_setfield(L, -2, "method");
  lua_pushstring(L, gls_httpd_req_path(req));
  lua_setfield(L, -2, "path");
  lua_pushstring(L, gls_httpd_req_query(req));
  lua_setfield(L, -2, "query");
  lua_pushlstring(L, body, body_len);
  lua_setfield(L, -2, "body");
  lua_pushstring(L, gls_httpd_req_remote(req));
  lua_setfield(L, -2, "remote");
  lua_createtable(L, 0, (int)n); /* headers */
  lua_createtable(L, (int)n, 0); /* header_list */
  int t = lua_gettop(L);
  char low[64];
  for (size_t i = 0; i < n; i++) {
    const gls_header *h = &hs[i];
    lua_createtable(L, 2, 0);
    lua_pushlstring(L, h->name, h->name_len);
    lua_rawseti(L, -2, 1);
    lua_pushlstring(L, h->value, h->value_len);
    lua_rawseti(L, -2, 2);
    lua_rawseti(L, t, (lua_Integer)i + 1);
    /* headers[lower(name)], repeats joined by "," */
    if (h->name_len <= sizeof low) {
      for (size_t k = 0; k < h->name_len; k++) {
        char c = h->name[k];
        low[k] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
      }
      lua_pushlstring(L, low, h->name_len);
    } else {
      luaL_Buffer b;
      char *p = luaL_buffinitsize(L, &b, h->name_len);
      for (size_t k = 0; k < h->name_len; k++) {
        char c = h->name[k];
        p[k] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
      }
      luaL_pushresultsize(&b, h->name_len);
    }
    lua_pushvalue(L, -1);
    if (lua_rawget(L, t - 1) == LUA_TNIL) {
      lua_pop(L, 1);
      lua_pushlstring(L, h->value, h->value_len);
    } else {
      lua_pushliteral(L, ",");
      lua_pushlstring(L, h->value, h->value_len);
      lua_concat(L, 3);
    }
    lua_rawset(L, t - 1);
  }
  lua_setfield(L, t - 2, "header_list");
  lua_setfield(L, t - 2, "headers");
}

typedef struct call {
  lhttpd *lh;
  gls_httpd_req *req;
} call;

/* Protected: builds req, calls the handler, answers with what it returned
 * (nothing, or a nil status without opts.drop: deferred). */
static int dispatch(lua_State *L) {
  call *c = lua_touserdata(L, 1);
  uint64_t id = gls_httpd_req_id(c->req);
  lua_settop(L, 0);
  lua_rawgeti(L, LUA_REGISTRYINDEX, c->lh->handler_ref);
  push_req(L, c->req);
  lua_call(L, 1, 4);
  int drop = 0;
  if (lua_istable(L, 4)) {
    lua_getfield(L, 4, "drop");
    drop = lua_toboolean(L, -1);
    lua_pop(L, 1);
  }
  if (lua_isnil(L, 1) && !drop) return 0; /* deferred (or answered with srv:respond) */
  if (!answer(L, c->lh, id, 1, "the handler's reply"))
    return luaL_error(L, "the handler returned a reply for a request it had answered already");
  return 0;
}

/* The gls_httpd_handler: runs inside libmicrohttpd's callback, so nothing
 * here may raise; everything that can goes through lua_pcall. */
static void on_request(void *ud, gls_httpd_req *req) {
  lhttpd *lh = ud;
  lua_State *L = lh->main;
  uint64_t id = gls_httpd_req_id(req);
  if (lh->close_pending || !lua_checkstack(L, 12)) {
    gls_httpd_respond(lh->h, id, 0, NULL, 0, NULL, 0, GLS_HTTPD_DROP, 0);
    return;
  }
  int base = lua_gettop(L);
  call c = {lh, req};
  lua_pushcfunction(L, gls_l_msghandler);
  lua_pushcfunction(L, dispatch);
  lua_pushlightuserdata(L, &c);
  if (lua_pcall(L, 1, 0, base + 1) != LUA_OK) {
    report(lh, L);
    if (gls_httpd_find(lh->h, id))
      gls_httpd_respond(lh->h, id, 500, JSON_TYPE, 1, INTERNAL_ERROR, sizeof INTERNAL_ERROR - 1, 0,
                        0);
  }
  lua_settop(L, base);
}

/* ------------------------------------------------------------ the server */

static const char *const KNOWN[] = {"listen", "tls_cert", "tls_key", "max_body", "idle_timeout",
                                    "handler", "on_error", NULL};

static int opt(lua_State *L, const char *k, int type) {
  int got = lua_getfield(L, 1, k);
  if (got == LUA_TNIL) {
    lua_pop(L, 1);
    return 0;
  }
  if (got != type)
    return luaL_error(L, "bad option '%s' (%s expected, got %s)", k, lua_typename(L, type),
                      luaL_typename(L, -1));
  return 1;
}

/* "HOST:PORT" or "[IPv6]:PORT" into host (hostlen bytes) and *port. */
static void parse_listen(lua_State *L, const char *s, char *host, size_t hostlen, int *port) {
  const char *colon;
  const char *h = s;
  size_t hl;
  if (s[0] == '[') {
    const char *close = strchr(s, ']');
    if (!close || close[1] != ':') goto bad;
    h = s + 1;
    hl = (size_t)(close - h);
    colon = close + 1;
  } else {
    colon = strrchr(s, ':');
    if (!colon || memchr(s, ':', (size_t)(colon - s))) goto bad; /* IPv6 needs brackets */
    hl = (size_t)(colon - s);
  }
  if (hl == 0 || hl >= hostlen) goto bad;
  memcpy(host, h, hl);
  host[hl] = '\0';
  const char *p = colon + 1;
  long v = 0;
  if (!*p) goto bad;
  for (; *p; p++) {
    if (*p < '0' || *p > '9') goto bad;
    v = v * 10 + (*p - '0');
    if (v > 65535) {
      luaL_error(L, "bad option 'listen' (port %s out of range in '%s')", colon + 1, s);
      return;
    }
  }
  *port = (int)v;
  return;
bad:
  luaL_error(L, "bad option 'listen' (HOST:PORT or [IPv6]:PORT expected, got '%s')", s);
}

/* core.httpd(opts) -> server | nil, message */
static int l_httpd(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  lua_pushnil(L);
  while (lua_next(L, 1)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING) return luaL_error(L, "httpd options must have string keys");
    const char *k = lua_tostring(L, -1);
    int known = 0;
    for (int i = 0; KNOWN[i] && !known; i++) known = !strcmp(KNOWN[i], k);
    if (!known) return luaL_error(L, "unknown httpd option '%s'", k);
  }
  gls_httpd_config cfg;
  memset(&cfg, 0, sizeof cfg);
  char host[64];
  if (opt(L, "listen", LUA_TSTRING)) {
    parse_listen(L, lua_tostring(L, -1), host, sizeof host, &cfg.port);
    cfg.host = host;
    lua_pop(L, 1);
  }
  if (opt(L, "tls_cert", LUA_TSTRING)) cfg.tls_cert_file = lua_tostring(L, -1); /* kept on the stack */
  if (opt(L, "tls_key", LUA_TSTRING)) cfg.tls_key_file = lua_tostring(L, -1);
  if (!cfg.tls_cert_file != !cfg.tls_key_file)
    return luaL_error(L, "bad option '%s' (required with '%s')", cfg.tls_cert_file ? "tls_key" : "tls_cert",
                      cfg.tls_cert_file ? "tls_cert" : "tls_key");
  if (opt(L, "max_body", LUA_TNUMBER)) {
    int isint = 0;
    lua_Integer mb = lua_tointegerx(L, -1, &isint);
    if (!isint || mb < 1) return luaL_error(L, "bad option 'max_body' (a positive integer expected)");
    cfg.max_body = (size_t)mb;
    lua_pop(L, 1);
  }
  /* seconds a client has, from connecting or from its previous reply, to
   * send a whole request (a trickle does not extend it); idle keep-alive
   * connections close after it too */
  if (opt(L, "idle_timeout", LUA_TNUMBER)) {
    int isint = 0;
    lua_Integer it = lua_tointegerx(L, -1, &isint);
    if (!isint || it < 1 || it > 86400)
      return luaL_error(L, "bad option 'idle_timeout' (an integer between 1 and 86400 expected)");
    cfg.idle_timeout_s = (unsigned)it;
    lua_pop(L, 1);
  }
  if (!opt(L, "handler", LUA_TFUNCTION))
    return luaL_error(L, "bad option 'handler' (function expected, got nil)");
  lua_pop(L, 1);
  if (opt(L, "on_error", LUA_TFUNCTION)) lua_pop(L, 1);

  /* the userdata, safely closed until the server runs */
  lhttpd *lh = lua_newuserdatauv(L, sizeof *lh, 0);
  lh->h = NULL;
  lh->handler_ref = lh->on_error_ref = LUA_NOREF;
  lh->in_step = lh->close_pending = 0;
  luaL_setmetatable(L, HTTPD_MT);
  lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
  lh->main = lua_tothread(L, -1);
  lua_pop(L, 1);
  lua_getfield(L, 1, "handler");
  lh->handler_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_getfield(L, 1, "on_error");
  if (lua_isnil(L, -1)) lua_pop(L, 1);
  else lh->on_error_ref = luaL_ref(L, LUA_REGISTRYINDEX);

  cfg.handler = on_request;
  cfg.ud = lh;
  char err[320];
  gls_status st = gls_httpd_start(&cfg, &lh->h, err, sizeof err);
  if (st == GLS_E_INVALID_ARGUMENT) /* the host part of listen */
    return luaL_error(L, "bad option 'listen' (%s)", err);
  if (st != GLS_OK) {
    lua_pushnil(L);
    lua_pushstring(L, err);
    return 2; /* the userdata goes; __gc releases the refs */
  }
  return 1;
}

static void close_srv(lua_State *L, lhttpd *lh) {
  if (lh->in_step) { /* inside a handler: after gls_httpd_step returns */
    lh->close_pending = 1;
    return;
  }
  lh->close_pending = 0;
  if (lh->h) gls_httpd_stop(lh->h); /* no handler runs from here */
  lh->h = NULL;
  luaL_unref(L, LUA_REGISTRYINDEX, lh->handler_ref);
  luaL_unref(L, LUA_REGISTRYINDEX, lh->on_error_ref);
  lh->handler_ref = lh->on_error_ref = LUA_NOREF;
}

static int l_close(lua_State *L) {
  close_srv(L, luaL_checkudata(L, 1, HTTPD_MT));
  return 0;
}

static int l_url(lua_State *L) {
  lua_pushstring(L, gls_httpd_url(check_srv(L, 1)->h));
  return 1;
}

static int l_port(lua_State *L) {
  lua_pushinteger(L, gls_httpd_port(check_srv(L, 1)->h));
  return 1;
}

static int l_pollfd(lua_State *L) {
  lua_pushinteger(L, gls_httpd_fd(check_srv(L, 1)->h));
  return 1;
}

static int l_timeout(lua_State *L) {
  gls_l_push_timeout(L, gls_httpd_timeout_ms(check_srv(L, 1)->h));
  return 1;
}

/* srv:step([seconds]) -> true | nil, "interrupted" | nil, message */
static int l_step(lua_State *L) {
  lhttpd *lh = check_srv(L, 1);
  long ms = -1;
  if (!lua_isnoneornil(L, 2)) {
    lua_Number t = luaL_checknumber(L, 2);
    luaL_argcheck(L, t >= 0, 2, "seconds must be >= 0");
    ms = t >= (lua_Number)(LONG_MAX / 1000) ? LONG_MAX : (long)(t * 1000 + 0.5);
  }
  if (lh->in_step) return luaL_error(L, "srv:step called from inside a handler");
  lh->in_step = 1;
  int r = gls_httpd_step(lh->h, ms);
  int e = errno;
  lh->in_step = 0;
  if (lh->close_pending) close_srv(L, lh);
  if (r == 0) {
    lua_pushboolean(L, 1);
    return 1;
  }
  lua_pushnil(L);
  if (r == 1) lua_pushliteral(L, "interrupted");
  else lua_pushstring(L, strerror(e));
  return 2;
}

/* srv:watch(fd[, on]) -> true | nil, message: also wake srv:step when fd
 * (a descriptor the caller owns, e.g. client:pollfd()) is readable; on =
 * false stops that. */
static int l_watch(lua_State *L) {
  lhttpd *lh = check_srv(L, 1);
  lua_Integer fd = luaL_checkinteger(L, 2);
  luaL_argcheck(L, fd >= 0 && fd <= INT_MAX, 2, "a file descriptor expected");
  int on = lua_isnoneornil(L, 3) || lua_toboolean(L, 3);
  if (gls_httpd_watch(lh->h, (int)fd, on) != 0) {
    int e = errno;
    lua_pushnil(L);
    lua_pushstring(L, strerror(e));
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* srv:respond(id, status, headers, body, opts) -> true | nil, "no such request" */
static int l_respond(lua_State *L) {
  lhttpd *lh = check_srv(L, 1);
  lua_Integer id = luaL_checkinteger(L, 2);
  lua_settop(L, 6);
  if (id < 1 || !answer(L, lh, (uint64_t)id, 3, "srv:respond")) {
    lua_pushnil(L);
    lua_pushliteral(L, "no such request");
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

static int l_tostring(lua_State *L) {
  lhttpd *lh = luaL_checkudata(L, 1, HTTPD_MT);
  if (lh->h && !lh->close_pending) lua_pushfstring(L, "gameliftstreams.httpd (%s)", gls_httpd_url(lh->h));
  else lua_pushliteral(L, "gameliftstreams.httpd (closed)");
  return 1;
}

void gls_l_httpd_open(lua_State *L) {
  static const luaL_Reg methods[] = {
    {"url", l_url}, {"port", l_port}, {"pollfd", l_pollfd}, {"timeout", l_timeout},
    {"step", l_step}, {"respond", l_respond}, {"watch", l_watch}, {"close", l_close},
    {NULL, NULL}};
  if (luaL_newmetatable(L, HTTPD_MT)) {
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_close);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, l_close);
    lua_setfield(L, -2, "__close");
    lua_pushcfunction(L, l_tostring);
    lua_setfield(L, -2, "__tostring");
  }
  lua_pop(L, 1);
  lua_pushcfunction(L, l_httpd);
  lua_setfield(L, -2, "httpd");
}
