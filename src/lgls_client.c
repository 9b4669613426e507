/* lgls_client.c - the Lua client userdata over gls_client.
 *
 * core.client(opts) -> client with :call(op, json), :start(op, json, cb),
 * :pollfd(), :events(), :timeout(), :step(seconds), :in_flight(), :close().
 * Results reach Lua as (json_text | nil, info) where info carries status,
 * request_id, attempts and, on failure, code, message and retryable; the
 * Lua layer (gameliftstreams/init.lua) turns them into tables.
 *
 * Requests in flight anchor their callback, their handle and the client in
 * the registry, so nothing is collected under curl's feet; callbacks run on
 * the main thread through a protected call with a traceback, and an error
 * in one goes to the client's on_error sink (stderr by default), never up
 * into the host. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <errno.h>
#include "gls_private.h"
#include "lgls.h"

#define CLIENT_MT "gameliftstreams.client"
#define REQUEST_MT "gameliftstreams.request"

typedef struct lclient {
  gls_client *c;
  lua_State *main;       /* main thread, where callbacks run */
  int on_error_ref;      /* LUA_NOREF: stderr */
  int on_retry_ref;      /* LUA_NOREF: none */
  const char *env;       /* the environment option packed as "K=V\0...\0", or NULL;
                            a userdata kept as the client's user value 1 */
  int closing;           /* set by __gc: callbacks are not called */
} lclient;

typedef struct lreq {
  lclient *owner;
  gls_request *req;      /* NULL once done */
  int cb_ref, client_ref, self_ref;
  struct lhandle *handle;
} lreq;

typedef struct lhandle {
  lreq *r;               /* NULL once done */
} lhandle;

static lclient *check_client(lua_State *L, int i) {
  lclient *lc = luaL_checkudata(L, i, CLIENT_MT);
  if (!lc->c) luaL_error(L, "the client is closed");
  return lc;
}

/* ------------------------------------------------------------ options */

static int opt_field(lua_State *L, int t, const char *k, int type) {
  int got = lua_getfield(L, t, k);
  if (got == LUA_TNIL) { lua_pop(L, 1); return 0; }
  if (got != type) {
    lua_pop(L, 1);
    return luaL_error(L, "bad option '%s' (%s expected, got %s)", k, lua_typename(L, type),
                      lua_typename(L, got));
  }
  return 1;
}

static void set_s(lua_State *L, lclient *lc, gls_option o, const char *k, int t) {
  if (!opt_field(L, t, k, LUA_TSTRING)) return;
  gls_status st = gls_client_setopt_str(lc->c, o, lua_tostring(L, -1));
  lua_pop(L, 1);
  if (st != GLS_OK) luaL_error(L, "bad option '%s': %s", k, gls_client_errmsg(lc->c));
}

static void set_seconds(lua_State *L, lclient *lc, gls_option o, const char *k, int t) {
  if (!opt_field(L, t, k, LUA_TNUMBER)) return;
  double s = lua_tonumber(L, -1);
  lua_pop(L, 1);
  if (!(s >= 0 && s <= 86400)) luaL_error(L, "bad option '%s': seconds between 0 and 86400 expected", k);
  if (gls_client_setopt_long(lc->c, o, (long)(s * 1000 + 0.5)) != GLS_OK)
    luaL_error(L, "bad option '%s': %s", k, gls_client_errmsg(lc->c));
}

static void set_i(lua_State *L, lclient *lc, gls_option o, const char *k, int t) {
  if (!opt_field(L, t, k, LUA_TNUMBER)) return;
  if (!lua_isinteger(L, -1)) luaL_error(L, "bad option '%s' (integer expected)", k);
  lua_Integer v = lua_tointeger(L, -1);
  lua_pop(L, 1);
  if (gls_client_setopt_long(lc->c, o, (long)v) != GLS_OK)
    luaL_error(L, "bad option '%s': %s", k, gls_client_errmsg(lc->c));
}

static void set_b(lua_State *L, lclient *lc, gls_option o, const char *k, int t) {
  if (!opt_field(L, t, k, LUA_TBOOLEAN)) return;
  int v = lua_toboolean(L, -1);
  lua_pop(L, 1);
  gls_client_setopt_long(lc->c, o, v);
}

static const char *const KNOWN[] = {
  "region", "endpoint_url", "credentials", "retry_mode", "max_attempts", "connect_timeout",
  "read_timeout", "verify_ssl", "ca_bundle", "no_sign_request", "max_response_bytes",
  "retry_base_delay", "time_offset", "on_error", "user_agent_extra", "dry_run", "profile",
  "environment", "use_fips_endpoint", "on_retry", "param_validation", NULL};

static void set_environment(lua_State *L, lclient *lc, int t);
static long retry_hook(gls_client *c, const gls_retry_event *ev, void *ud);

static int l_client(lua_State *L) {
  int has = !lua_isnoneornil(L, 1);
  if (has) luaL_checktype(L, 1, LUA_TTABLE);
  else { lua_newtable(L); lua_replace(L, 1); }
  lua_settop(L, 1);
  /* unknown options are typos: refuse them */
  lua_pushnil(L);
  while (lua_next(L, 1)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING) return luaL_error(L, "client options must have string keys");
    const char *k = lua_tostring(L, -1);
    int ok = 0;
    for (int i = 0; KNOWN[i] && !ok; i++) ok = !strcmp(KNOWN[i], k);
    if (!ok) return luaL_error(L, "unknown client option '%s'", k);
  }
  lclient *lc = lua_newuserdatauv(L, sizeof *lc, 1);
  memset(lc, 0, sizeof *lc);
  lc->on_error_ref = LUA_NOREF;
  lc->on_retry_ref = LUA_NOREF;
  luaL_setmetatable(L, CLIENT_MT);
  if (gls_client_create(&lc->c) != GLS_OK) return luaL_error(L, "cannot create a client (out of memory?)");
  lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
  lc->main = lua_tothread(L, -1);
  lua_pop(L, 1);
  set_s(L, lc, GLS_OPT_REGION, "region", 1);
  set_s(L, lc, GLS_OPT_ENDPOINT_URL, "endpoint_url", 1);
  set_s(L, lc, GLS_OPT_RETRY_MODE, "retry_mode", 1);
  set_s(L, lc, GLS_OPT_CA_BUNDLE, "ca_bundle", 1);
  set_s(L, lc, GLS_OPT_USER_AGENT_EXTRA, "user_agent_extra", 1);
  set_s(L, lc, GLS_OPT_PROFILE, "profile", 1);
  if (opt_field(L, 1, "use_fips_endpoint", LUA_TBOOLEAN)) {
    gls_client_setopt_long(lc->c, GLS_OPT_USE_FIPS_ENDPOINT, lua_toboolean(L, -1));
    lua_pop(L, 1);
  }
  lua_pushvalue(L, -1); /* the client, for set_environment's user value */
  lua_insert(L, 1);
  set_environment(L, lc, 2);
  lua_remove(L, 1);
  set_i(L, lc, GLS_OPT_MAX_ATTEMPTS, "max_attempts", 1);
  set_i(L, lc, GLS_OPT_MAX_RESPONSE_BYTES, "max_response_bytes", 1);
  set_i(L, lc, GLS_OPT_TIME_OFFSET_S, "time_offset", 1);
  set_seconds(L, lc, GLS_OPT_CONNECT_TIMEOUT_MS, "connect_timeout", 1);
  set_seconds(L, lc, GLS_OPT_READ_TIMEOUT_MS, "read_timeout", 1);
  set_seconds(L, lc, GLS_OPT_RETRY_BASE_MS, "retry_base_delay", 1);
  set_b(L, lc, GLS_OPT_VERIFY_SSL, "verify_ssl", 1);
  set_b(L, lc, GLS_OPT_NO_SIGN_REQUEST, "no_sign_request", 1);
  set_b(L, lc, GLS_OPT_DRY_RUN, "dry_run", 1);
  set_b(L, lc, GLS_OPT_PARAM_VALIDATION, "param_validation", 1);
  if (opt_field(L, 1, "credentials", LUA_TTABLE)) {
    int t = lua_gettop(L);
    set_s(L, lc, GLS_OPT_ACCESS_KEY_ID, "access_key_id", t);
    set_s(L, lc, GLS_OPT_SECRET_ACCESS_KEY, "secret_access_key", t);
    set_s(L, lc, GLS_OPT_SESSION_TOKEN, "session_token", t);
    lua_getfield(L, t, "access_key_id");
    lua_getfield(L, t, "secret_access_key");
    int a = lua_isstring(L, -2), s = lua_isstring(L, -1);
    lua_pop(L, 3);
    if (!a || !s)
      return luaL_error(L, "bad option 'credentials': access_key_id and secret_access_key are both required");
  }
  if (opt_field(L, 1, "on_error", LUA_TFUNCTION)) lc->on_error_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  if (opt_field(L, 1, "on_retry", LUA_TFUNCTION)) {
    lc->on_retry_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    gls_client_set_retry_hook(lc->c, retry_hook, lc);
  }
  return 1;
}

/* The environment option: lookups in the packed block. */
static const char *env_lookup(void *ud, const char *name) {
  lclient *lc = ud;
  size_t n = strlen(name);
  for (const char *e = lc->env; e && *e; e += strlen(e) + 1)
    if (!strncmp(e, name, n) && e[n] == '=') return e + n + 1;
  return NULL;
}

static void set_environment(lua_State *L, lclient *lc, int t) {
  if (!opt_field(L, t, "environment", LUA_TTABLE)) return;
  int et = lua_gettop(L);
  size_t total = 1;
  lua_pushnil(L);
  while (lua_next(L, et)) {
    if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
      luaL_error(L, "bad option 'environment' (a table of string names to string values expected)");
    total += lua_rawlen(L, -2) + lua_rawlen(L, -1) + 2;
    lua_pop(L, 1);
  }
  char *block = lua_newuserdatauv(L, total, 0);
  char *o = block;
  lua_pushnil(L);
  while (lua_next(L, et)) {
    size_t kl, vl;
    const char *k = lua_tolstring(L, -2, &kl), *v = lua_tolstring(L, -1, &vl);
    memcpy(o, k, kl);
    o[kl] = '=';
    memcpy(o + kl + 1, v, vl);
    o[kl + 1 + vl] = '\0';
    o += kl + vl + 2;
    lua_pop(L, 1);
  }
  *o = '\0';
  lua_setiuservalue(L, -3, 1); /* client userdata sits below the env table */
  lua_pop(L, 1);
  lc->env = block;
  gls_client_set_environment(lc->c, env_lookup, lc);
}

static void report(lclient *lc, lua_State *L, const char *msg);

/* on_retry(info) -> nil (keep), false (stop) or seconds to wait. */
static long retry_hook(gls_client *c, const gls_retry_event *ev, void *ud) {
  (void)c;
  lclient *lc = ud;
  lua_State *L = lc->main;
  if (lc->closing || !lua_checkstack(L, 8)) return GLS_RETRY_KEEP;
  int base = lua_gettop(L);
  lua_pushcfunction(L, gls_l_msghandler);
  lua_rawgeti(L, LUA_REGISTRYINDEX, lc->on_retry_ref);
  lua_createtable(L, 0, 6);
  lua_pushstring(L, ev->operation); lua_setfield(L, -2, "operation");
  lua_pushinteger(L, ev->attempt); lua_setfield(L, -2, "attempt");
  if (ev->code) { lua_pushstring(L, ev->code); lua_setfield(L, -2, "code"); }
  if (ev->http_status) { lua_pushinteger(L, ev->http_status); lua_setfield(L, -2, "status"); }
  lua_pushboolean(L, ev->retryable); lua_setfield(L, -2, "retryable");
  if (ev->proposed_delay_ms >= 0) {
    lua_pushnumber(L, (lua_Number)ev->proposed_delay_ms / 1000.0);
    lua_setfield(L, -2, "delay");
  }
  long out = GLS_RETRY_KEEP;
  if (lua_pcall(L, 1, 1, base + 1) != LUA_OK) {
    report(lc, L, lua_tostring(L, -1));
  } else if (lua_isboolean(L, -1) && !lua_toboolean(L, -1)) {
    out = -1;
  } else if (lua_type(L, -1) == LUA_TNUMBER && lua_tonumber(L, -1) >= 0) {
    out = (long)(lua_tonumber(L, -1) * 1000 + 0.5);
  }
  lua_settop(L, base);
  return out;
}

/* ------------------------------------------------------------ results */

/* Pushes (json | nil, info) for r; does not free r. */
static void push_result(lua_State *L, gls_result *r) {
  gls_status st = gls_result_status(r);
  size_t len = 0;
  const char *json = gls_result_json(r, &len);
  if (st == GLS_OK && json) lua_pushlstring(L, json, len);
  else lua_pushnil(L);
  lua_createtable(L, 0, 8);
  int status = gls_result_http_status(r);
  if (status) { lua_pushinteger(L, status); lua_setfield(L, -2, "status"); }
  const char *rid = gls_result_request_id(r);
  if (rid) { lua_pushstring(L, rid); lua_setfield(L, -2, "request_id"); }
  lua_pushinteger(L, gls_result_attempts(r));
  lua_setfield(L, -2, "attempts");
  if (st != GLS_OK) {
    const char *code = gls_result_error_code(r), *msg = gls_result_error_message(r);
    lua_pushstring(L, code ? code : "Error");
    lua_setfield(L, -2, "code");
    lua_pushstring(L, msg ? msg : gls_strerror(st));
    lua_setfield(L, -2, "message");
    lua_pushboolean(L, gls_result_retryable(r));
    lua_setfield(L, -2, "retryable");
    lua_pushstring(L, gls_strerror(st));
    lua_setfield(L, -2, "kind");
  }
}

/* client:call(operation, json) -> json | nil, info  (blocks) */
static int l_call(lua_State *L) {
  lclient *lc = check_client(L, 1);
  const char *op = luaL_checkstring(L, 2);
  size_t len;
  const char *json = luaL_checklstring(L, 3, &len);
  gls_result *r = NULL;
  gls_status st = gls_call(lc->c, op, json, len, &r);
  if (!r) return luaL_error(L, "%s: %s", gls_strerror(st), gls_client_errmsg(lc->c));
  push_result(L, r);
  gls_result_free(r);
  return 2;
}

/* ------------------------------------------------------------ async */

static void report(lclient *lc, lua_State *L, const char *msg) {
  if (lc->on_error_ref != LUA_NOREF) {
    lua_pushcfunction(L, gls_l_msghandler);
    lua_rawgeti(L, LUA_REGISTRYINDEX, lc->on_error_ref);
    lua_pushstring(L, msg);
    if (lua_pcall(L, 1, 0, -3) == LUA_OK) { lua_pop(L, 1); return; }
    fprintf(stderr, "gls: error in on_error: %s\n", lua_tostring(L, -1));
    lua_pop(L, 2);
  }
  fprintf(stderr, "gls: error in a completion callback: %s\n", msg);
}

static void on_done(gls_client *c, gls_request *req, gls_result *r, void *ud) {
  (void)c;
  (void)req;
  lreq *q = ud;
  lclient *lc = q->owner;
  lua_State *L = lc->main;
  if (q->handle) q->handle->r = NULL;
  if (!lc->closing && lua_checkstack(L, 8)) {
    int base = lua_gettop(L);
    lua_pushcfunction(L, gls_l_msghandler);
    lua_rawgeti(L, LUA_REGISTRYINDEX, q->cb_ref);
    push_result(L, r);
    if (lua_pcall(L, 2, 0, base + 1) != LUA_OK) report(lc, L, lua_tostring(L, -1));
    lua_settop(L, base);
  }
  gls_result_free(r);
  luaL_unref(L, LUA_REGISTRYINDEX, q->cb_ref);
  luaL_unref(L, LUA_REGISTRYINDEX, q->client_ref);
  luaL_unref(L, LUA_REGISTRYINDEX, q->self_ref);
  free(q);
}

/* client:start(operation, json, callback) -> request handle */
static int l_start(lua_State *L) {
  lclient *lc = check_client(L, 1);
  const char *op = luaL_checkstring(L, 2);
  size_t len;
  const char *json = luaL_checklstring(L, 3, &len);
  luaL_checktype(L, 4, LUA_TFUNCTION);
  lhandle *h = lua_newuserdatauv(L, sizeof *h, 0); /* safe "done" state first */
  h->r = NULL;
  luaL_setmetatable(L, REQUEST_MT);
  lreq *q = calloc(1, sizeof *q);
  if (!q) return luaL_error(L, "out of memory");
  q->owner = lc;
  q->cb_ref = q->client_ref = q->self_ref = LUA_NOREF;
  gls_request *req = NULL;
  gls_status st = gls_client_start(lc->c, op, json, len, on_done, q, &req);
  if (st != GLS_OK) {
    free(q);
    return luaL_error(L, "%s: %s", gls_strerror(st), gls_client_errmsg(lc->c));
  }
  /* Anchors (luaL_ref cannot fail short of memory, which raises; the
   * request is then still owned by the client and completes harmlessly). */
  q->req = req;
  q->handle = h;
  h->r = q;
  lua_pushvalue(L, 4);
  q->cb_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_pushvalue(L, 1);
  q->client_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_pushvalue(L, -1);
  q->self_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 1;
}

static int l_request_cancel(lua_State *L) {
  lhandle *h = luaL_checkudata(L, 1, REQUEST_MT);
  if (!h->r) return luaL_error(L, "the request has already completed");
  gls_request_cancel(h->r->req);
  return 0;
}

static int l_request_pending(lua_State *L) {
  lhandle *h = luaL_checkudata(L, 1, REQUEST_MT);
  lua_pushboolean(L, h->r != NULL);
  return 1;
}

static int l_pollfd(lua_State *L) {
  lua_pushinteger(L, gls_client_pollfd(check_client(L, 1)->c));
  return 1;
}

static int l_events(lua_State *L) {
  check_client(L, 1);
  lua_pushliteral(L, "r");
  return 1;
}

static int l_timeout(lua_State *L) {
  long ms = gls_client_timeout_ms(check_client(L, 1)->c);
  if (ms < 0) lua_pushnil(L);
  else lua_pushnumber(L, (lua_Number)ms / 1000.0);
  return 1;
}

/* client:step([seconds]) -> number of callbacks run. Never blocks longer
 * than seconds (default 0). */
static int l_step(lua_State *L) {
  lclient *lc = check_client(L, 1);
  lua_Number s = luaL_optnumber(L, 2, 0);
  luaL_argcheck(L, s >= 0, 2, "seconds must be >= 0");
  int done = 0;
  gls_status st = gls_client_step(lc->c, (long)(s * 1000 + 0.5), &done);
  if (st == GLS_E_BUSY) return luaL_error(L, "client:step called from inside a completion callback");
  lua_pushinteger(L, done);
  return 1;
}

static int l_credential_source(lua_State *L) {
  const char *s = gls_client_credential_source(check_client(L, 1)->c);
  if (s) lua_pushstring(L, s);
  else lua_pushnil(L);
  return 1;
}

static int l_in_flight(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)gls_client_in_flight(check_client(L, 1)->c));
  return 1;
}

static void close_client(lua_State *L, lclient *lc) {
  if (!lc->c) return;
  gls_client *c = lc->c;
  gls_client_destroy(c); /* runs pending callbacks with Cancelled */
  lc->c = NULL;
  luaL_unref(L, LUA_REGISTRYINDEX, lc->on_error_ref);
  luaL_unref(L, LUA_REGISTRYINDEX, lc->on_retry_ref);
  lc->on_error_ref = lc->on_retry_ref = LUA_NOREF;
}

static int l_close(lua_State *L) {
  lclient *lc = luaL_checkudata(L, 1, CLIENT_MT);
  close_client(L, lc);
  return 0;
}

static int l_gc(lua_State *L) {
  lclient *lc = luaL_checkudata(L, 1, CLIENT_MT);
  lc->closing = 1; /* only at lua_close can requests still be in flight */
  close_client(L, lc);
  return 0;
}

static int l_tostring(lua_State *L) {
  lclient *lc = luaL_checkudata(L, 1, CLIENT_MT);
  lua_pushfstring(L, "gameliftstreams.client (%s)", lc->c ? "open" : "closed");
  return 1;
}

/* core.sleep(seconds): blocks the thread (waiters outside an event loop). */
static int l_sleep(lua_State *L) {
  lua_Number s = luaL_checknumber(L, 1);
  luaL_argcheck(L, s >= 0 && s <= 86400, 1, "seconds between 0 and 86400 expected");
  struct timespec ts = {(time_t)s, (long)((s - (lua_Number)(time_t)s) * 1e9)};
  while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {}
  return 0;
}

static int l_uuid4(lua_State *L) {
  char u[37];
  if (gls_uuid4(u)) return luaL_error(L, "RAND_bytes failed");
  lua_pushstring(L, u);
  return 1;
}

/* core.operations() -> { {name=, snake=, method=, uri=}, ... } */
static int l_operations(lua_State *L) {
  lua_createtable(L, (int)gls_noperations, 0);
  for (size_t i = 0; i < gls_noperations; i++) {
    const gls_operation *o = &gls_operations[i];
    lua_createtable(L, 0, 4);
    lua_pushstring(L, o->name); lua_setfield(L, -2, "name");
    lua_pushstring(L, o->snake); lua_setfield(L, -2, "snake");
    lua_pushstring(L, o->method); lua_setfield(L, -2, "method");
    lua_pushstring(L, o->uri); lua_setfield(L, -2, "uri");
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

void gls_l_client_open(lua_State *L) {
  static const luaL_Reg methods[] = {
    {"call", l_call}, {"start", l_start}, {"pollfd", l_pollfd}, {"events", l_events},
    {"timeout", l_timeout}, {"step", l_step}, {"in_flight", l_in_flight}, {"close", l_close},
    {"credential_source", l_credential_source},
    {NULL, NULL}};
  static const luaL_Reg req_methods[] = {
    {"cancel", l_request_cancel}, {"pending", l_request_pending}, {NULL, NULL}};
  if (luaL_newmetatable(L, CLIENT_MT)) {
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, l_close);
    lua_setfield(L, -2, "__close");
    lua_pushcfunction(L, l_tostring);
    lua_setfield(L, -2, "__tostring");
  }
  lua_pop(L, 1);
  if (luaL_newmetatable(L, REQUEST_MT)) {
    luaL_newlib(L, req_methods);
    lua_setfield(L, -2, "__index");
  }
  lua_pop(L, 1);
  static const luaL_Reg fns[] = {
    {"client", l_client}, {"sleep", l_sleep}, {"uuid4", l_uuid4}, {"operations", l_operations},
    {NULL, NULL}};
  luaL_setfuncs(L, fns, 0);
}
