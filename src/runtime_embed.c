/* runtime_embed.c - gls_runtime_*: the reconnect runtime inside a C host
 * (gls.h, "runtime"). A private lua_State, made here with gls's Lua modules
 * preloaded (embed.c), runs lua/gameliftstreams/embed.lua over
 * lua/gameliftstreams/runtime.lua; this file turns C calls into calls of that
 * host object and its results back into C callbacks.
 *
 * Every entry into Lua is one lua_pcall of a C trampoline that pushes its
 * arguments inside the protected call (so a memory error while pushing can
 * never reach lua_atpanic), with a traceback message handler.
 *
 * Requests: each accepted request is a `pending` (malloc'd) in the in-flight
 * list. Lua gets a `done` closure whose upvalue is a small userdata slot
 * pointing at it; when the runtime calls done, the result is copied into the
 * pending, which moves to the done queue, and the slot forgets it (a second
 * call finds NULL and does nothing; the GC frees the slot whenever). The
 * host's callbacks run only when gls_runtime_poll() drains the queue, after
 * the Lua call returned: a callback never runs with Lua frames underneath, so
 * it may submit new requests.
 *
 * Re-entry: `in_lua` is set while Lua runs (the log function runs then:
 * gls_runtime_* calls from it get GLS_E_BUSY), `delivering` while callbacks
 * run (poll is refused then), `depth` counts the gls_runtime_* calls under
 * way so that gls_runtime_destroy() from inside one is carried out when the
 * outermost returns. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gls.h"
#include "gls_private.h"
#include "lgls.h"
#include <lualib.h>

typedef struct pending {
  struct pending *prev, *next;
  gls_runtime_cb cb;
  void *ud;
  struct slot *slot;     /* while in flight; NULL once done */
  char *result;          /* JSON (may hold an answer: wiped when freed) */
  char *code, *message;  /* an error */
  int status, retryable, failed;
} pending;

/* The userdata done's upvalue points at: the request it completes. */
typedef struct slot {
  struct gls_runtime *rt;
  pending *p;            /* NULL once done or forgotten */
} slot;

struct gls_runtime {
  lua_State *L;
  int host_ref;                  /* the embed host object (registry) */
  pending *flying;               /* in flight: doubly linked */
  pending *done_head, *done_tail;/* finished, to deliver in order */
  size_t npending;               /* in flight + finished, not delivered */
  int in_lua, delivering, closing, destroy_asked;
  int depth;
  gls_runtime_log_fn log_fn;
  void *log_ud;
  char errmsg[512];
};

static const char CANCELLED[] = "Cancelled";

/* Registry key (its address) of the last refusal message, kept alive there
 * until the C side has copied it. */
static const char why_key = 'w';

/* Keeps the string on top in the registry and returns it (popped). */
static const char *keep_why(lua_State *L) {
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &why_key);
  const char *why = lua_tostring(L, -1);
  lua_pop(L, 1);
  return why;
}

/* ------------------------------------------------------------- helpers */

static void set_err(gls_runtime *rt, const char *fmt, const char *what) {
  snprintf(rt->errmsg, sizeof rt->errmsg, fmt, what ? what : "(no message)");
}

static char *dup_str(const char *s, size_t n) {
  char *d = malloc(n + 1);
  if (d) {
    memcpy(d, s, n);
    d[n] = '\0';
  }
  return d;
}

static void pending_free(pending *p) {
  if (!p) return;
  gls_free(p->result); /* wipes: it may hold an answer */
  free(p->code);
  free(p->message);
  free(p);
}

static void unlink_flying(gls_runtime *rt, pending *p) {
  if (p->prev) p->prev->next = p->next;
  else rt->flying = p->next;
  if (p->next) p->next->prev = p->prev;
  p->prev = p->next = NULL;
}

static void queue_done(gls_runtime *rt, pending *p) {
  p->next = NULL;
  p->prev = rt->done_tail;
  if (rt->done_tail) rt->done_tail->next = p;
  else rt->done_head = p;
  rt->done_tail = p;
}

static int msghandler(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

/* Runs fn(L) protected with c as its only (light userdata) argument.
 * Returns LUA_OK, or an error status with the message in rt->errmsg. Leaves
 * the stack as it found it. */
static int protect(gls_runtime *rt, lua_CFunction fn, void *c) {
  lua_State *L = rt->L;
  int top = lua_gettop(L);
  lua_pushcfunction(L, msghandler);
  lua_pushcfunction(L, fn);
  lua_pushlightuserdata(L, c);
  rt->in_lua = 1;
  int st = lua_pcall(L, 1, 0, top + 1);
  rt->in_lua = 0;
  if (st != LUA_OK) {
    if (st == LUA_ERRMEM) set_err(rt, "%s", "out of memory in the runtime's Lua state");
    else set_err(rt, "runtime error: %s", lua_tostring(L, -1));
  }
  lua_settop(L, top);
  return st;
}

/* Inside a trampoline: pushes host[method] and host, ready for arguments. */
static void push_method(lua_State *L, gls_runtime *rt, const char *method) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, rt->host_ref);
  lua_getfield(L, -1, method);
  lua_insert(L, -2);
}

/* ------------------------------------------------------------- Lua -> C */

/* done(result_json) | done(nil, code, message, status, retryable): the
 * runtime finished a request (upvalue 1: its slot). */
static int l_done(lua_State *L) {
  slot *s = lua_touserdata(L, lua_upvalueindex(1));
  pending *p = s->p;
  if (!p) return 0; /* completed already, or its submission failed */
  gls_runtime *rt = s->rt;
  if (rt->closing) return 0; /* destroy cancels it instead */
  s->p = NULL;
  p->slot = NULL;
  size_t n;
  const char *res = lua_isstring(L, 1) ? lua_tolstring(L, 1, &n) : NULL;
  if (res) {
    p->result = dup_str(res, n);
    if (!p->result) {
      p->failed = 1;
      p->code = dup_str("NoMemory", 8);
    }
  } else {
    const char *code = luaL_optstring(L, 2, "InternalError");
    const char *msg = luaL_optstring(L, 3, "");
    p->failed = 1;
    p->code = dup_str(code, strlen(code));
    p->message = dup_str(msg, strlen(msg));
    p->status = (int)luaL_optinteger(L, 4, 500);
    p->retryable = lua_toboolean(L, 5);
  }
  unlink_flying(rt, p);
  queue_done(rt, p);
  return 0;
}

/* log_line(text): one structured record. */
static int l_log(lua_State *L) {
  gls_runtime *rt = lua_touserdata(L, lua_upvalueindex(1));
  const char *text = luaL_checkstring(L, 1);
  if (rt->log_fn) {
    rt->log_fn(rt->log_ud, text);
  } else {
    fprintf(stderr, "%s\n", text);
    fflush(stderr);
  }
  return 0;
}

/* ------------------------------------------------------------- create */

typedef struct new_args {
  gls_runtime *rt;
  const char *policy, *options;
  const char *why; /* set when embed.new said no (points into the Lua state) */
} new_args;

static int t_new(lua_State *L) {
  new_args *a = lua_touserdata(L, 1);
  luaL_openlibs(L);
  gls_l_preload(L);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "gameliftstreams.embed");
  lua_call(L, 1, 1);
  lua_getfield(L, -1, "new");
  if (a->policy) lua_pushstring(L, a->policy);
  else lua_pushnil(L);
  if (a->options) lua_pushstring(L, a->options);
  else lua_pushnil(L);
  lua_pushlightuserdata(L, a->rt);
  lua_pushcclosure(L, l_log, 1);
  lua_call(L, 3, 2);
  if (lua_isnil(L, -2)) {
    a->why = keep_why(L);
    if (!a->why) a->why = "the runtime could not be made";
    return 0;
  }
  lua_pop(L, 1);
  a->rt->host_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

gls_runtime *gls_runtime_new(const char *policy_path, const char *options_json, char *err,
                             size_t errlen) {
  if (err && errlen) err[0] = '\0';
  gls_runtime *rt = calloc(1, sizeof *rt);
  if (rt) rt->L = luaL_newstate();
  if (!rt || !rt->L) {
    if (err && errlen) snprintf(err, errlen, "out of memory");
    free(rt);
    return NULL;
  }
  rt->host_ref = LUA_NOREF;
  new_args a = {rt, policy_path, options_json, NULL};
  int st = protect(rt, t_new, &a);
  if (st != LUA_OK || a.why) {
    if (err && errlen) snprintf(err, errlen, "%s", a.why ? a.why : rt->errmsg);
    lua_close(rt->L);
    free(rt);
    return NULL;
  }
  return rt;
}

/* ------------------------------------------------------------- requests */

enum { OP_START, OP_ANSWER, OP_RECONNECT, OP_TERMINATE };

typedef struct submit_args {
  gls_runtime *rt;
  int op;
  const char *a1, *a2, *a3; /* per op: see gls_runtime_submit */
  long wait_ms;
  pending *p;
  slot *s;                  /* made inside the call */
  const char *why;          /* embed refused: misuse (points into the Lua state) */
} submit_args;

static void push_opt(lua_State *L, const char *s) {
  if (s) lua_pushstring(L, s);
  else lua_pushnil(L);
}

static int t_submit(lua_State *L) {
  submit_args *a = lua_touserdata(L, 1);
  static const char *const methods[] = {"start", "answer", "reconnect", "terminate"};
  push_method(L, a->rt, methods[a->op]);
  int nargs = 1;
  switch (a->op) {
  case OP_START: /* request_json, client_json */
    push_opt(L, a->a1);
    push_opt(L, a->a2);
    nargs += 2;
    break;
  case OP_ANSWER: /* token, wait */
    lua_pushstring(L, a->a1);
    lua_pushnumber(L, (lua_Number)a->wait_ms / 1000.0);
    nargs += 2;
    break;
  case OP_RECONNECT: /* token, offer, client_json */
    lua_pushstring(L, a->a1);
    lua_pushstring(L, a->a2);
    push_opt(L, a->a3);
    nargs += 3;
    break;
  default: /* OP_TERMINATE: token, client_json */
    lua_pushstring(L, a->a1);
    push_opt(L, a->a2);
    nargs += 2;
    break;
  }
  a->s = lua_newuserdatauv(L, sizeof(slot), 0);
  a->s->rt = a->rt;
  a->s->p = a->p;
  lua_pushcclosure(L, l_done, 1);
  nargs++;
  lua_call(L, nargs, 2);
  if (lua_isnil(L, -2)) {
    a->why = keep_why(L);
    if (!a->why) a->why = "the request was refused";
  }
  return 0;
}

/* Marks a gls_runtime_* call under way; 0 if rt may not be entered. */
static int enter(gls_runtime *rt) {
  if (rt->closing || rt->destroy_asked) return 0;
  rt->depth++;
  return 1;
}

static void destroy_now(gls_runtime *rt);

/* Ends a call begun by enter(); carries out a destroy asked meanwhile.
 * rt must not be touched after this returns. */
static void leave(gls_runtime *rt) {
  if (--rt->depth == 0 && rt->destroy_asked) destroy_now(rt);
}

static gls_status submit(gls_runtime *rt, int op, const char *a1, const char *a2, const char *a3,
                         long wait_ms, gls_runtime_cb cb, void *ud) {
  if (!rt) return GLS_E_INVALID_ARGUMENT;
  if (!cb) {
    set_err(rt, "%s", "the callback is NULL");
    return GLS_E_INVALID_ARGUMENT;
  }
  if (rt->in_lua || !enter(rt)) {
    set_err(rt, "%s", "called from the runtime's log function or while it is being destroyed");
    return GLS_E_BUSY;
  }
  gls_status ret = GLS_OK;
  pending *p = calloc(1, sizeof *p);
  if (!p) {
    set_err(rt, "%s", "out of memory");
    ret = GLS_E_NOMEM;
    goto out;
  }
  p->cb = cb;
  p->ud = ud;
  /* in flight before the call: done may run inside it */
  p->next = rt->flying;
  if (rt->flying) rt->flying->prev = p;
  rt->flying = p;
  rt->npending++;
  submit_args a = {rt, op, a1, a2, a3, wait_ms, p, NULL, NULL};
  int st = protect(rt, t_submit, &a);
  if (st == LUA_OK && !a.why) {
    p->slot = a.s;
    if (!a.s->p) p->slot = NULL; /* done ran already */
    goto out;
  }
  /* not taken: cb never runs (unless the runtime completed it, see below) */
  if (a.s) a.s->p = NULL;
  if (st == LUA_OK) {
    set_err(rt, "%s", a.why);
    ret = GLS_E_INVALID_ARGUMENT;
  } else {
    ret = st == LUA_ERRMEM ? GLS_E_NOMEM : GLS_E_RUNTIME;
  }
  /* p is in flight unless the runtime completed it before raising */
  pending *q;
  for (q = rt->flying; q && q != p; q = q->next) {}
  if (q) {
    unlink_flying(rt, p);
    rt->npending--;
    pending_free(p);
  } else {
    /* it was completed and queued: the callback will run; report success */
    ret = GLS_OK;
  }
out:
  leave(rt);
  return ret;
}

gls_status gls_runtime_start(gls_runtime *rt, const char *request_json, const char *client_json,
                             gls_runtime_cb cb, void *ud) {
  if (rt && !request_json) {
    set_err(rt, "%s", "request_json is NULL");
    return GLS_E_INVALID_ARGUMENT;
  }
  return submit(rt, OP_START, request_json, client_json, NULL, 0, cb, ud);
}

gls_status gls_runtime_answer(gls_runtime *rt, const char *token, long wait_ms, gls_runtime_cb cb,
                              void *ud) {
  if (rt && (!token || wait_ms < 0)) {
    set_err(rt, "%s", token ? "wait_ms is negative" : "token is NULL");
    return GLS_E_INVALID_ARGUMENT;
  }
  return submit(rt, OP_ANSWER, token, NULL, NULL, wait_ms, cb, ud);
}

gls_status gls_runtime_reconnect(gls_runtime *rt, const char *token, const char *offer,
                                 const char *client_json, gls_runtime_cb cb, void *ud) {
  if (rt && (!token || !offer)) {
    set_err(rt, "%s", token ? "offer is NULL" : "token is NULL");
    return GLS_E_INVALID_ARGUMENT;
  }
  return submit(rt, OP_RECONNECT, token, offer, client_json, 0, cb, ud);
}

gls_status gls_runtime_terminate(gls_runtime *rt, const char *token, const char *client_json,
                                 gls_runtime_cb cb, void *ud) {
  if (rt && !token) {
    set_err(rt, "%s", "token is NULL");
    return GLS_E_INVALID_ARGUMENT;
  }
  return submit(rt, OP_TERMINATE, token, client_json, NULL, 0, cb, ud);
}

/* ------------------------------------------------------------- driving */

/* Runs the callback of one finished request and frees it. */
static void deliver(gls_runtime *rt, pending *p) {
  rt->npending--;
  if (p->failed) {
    gls_runtime_error e = {p->code ? p->code : "NoMemory", p->message ? p->message : "",
                           p->status, p->retryable};
    p->cb(p->ud, NULL, &e);
  } else {
    p->cb(p->ud, p->result, NULL);
  }
  pending_free(p);
}

/* Delivers the finished requests queued now (not those their callbacks
 * cause); returns how many. Stops early when a callback asks for destroy. */
static int drain(gls_runtime *rt) {
  int n = 0;
  pending *last = rt->done_tail;
  rt->delivering = 1;
  while (rt->done_head && !rt->destroy_asked) {
    pending *p = rt->done_head;
    rt->done_head = p->next;
    if (!rt->done_head) rt->done_tail = NULL;
    deliver(rt, p);
    n++;
    if (p == last) break;
  }
  rt->delivering = 0;
  return n;
}

typedef struct step_args {
  gls_runtime *rt;
  double seconds; /* < 0: until the next timer */
  const char *method;
  int fd;
  double timeout; /* -1 none */
} step_args;

static int t_step(lua_State *L) {
  step_args *a = lua_touserdata(L, 1);
  double s = a->seconds;
  if (s < 0) {
    push_method(L, a->rt, "timeout");
    lua_call(L, 1, 1);
    s = lua_isnumber(L, -1) ? lua_tonumber(L, -1) : 3600.0;
    lua_pop(L, 1);
    if (s < 0) s = 0;
  }
  push_method(L, a->rt, "step");
  lua_pushnumber(L, s);
  lua_call(L, 2, 0);
  return 0;
}

gls_status gls_runtime_poll(gls_runtime *rt, long timeout_ms, int *delivered) {
  if (delivered) *delivered = 0;
  if (!rt) return GLS_E_INVALID_ARGUMENT;
  if (rt->in_lua || rt->delivering || !enter(rt)) {
    set_err(rt, "%s", "gls_runtime_poll called from a callback or the log function");
    return GLS_E_BUSY;
  }
  step_args a = {rt, rt->done_head ? 0.0 : (timeout_ms < 0 ? -1.0 : (double)timeout_ms / 1000.0),
                 NULL, -1, -1};
  gls_status ret = protect(rt, t_step, &a) == LUA_OK ? GLS_OK : GLS_E_RUNTIME;
  int n = drain(rt);
  if (delivered) *delivered = n;
  leave(rt);
  return ret;
}

static int t_query(lua_State *L) {
  step_args *a = lua_touserdata(L, 1);
  push_method(L, a->rt, a->method);
  lua_call(L, 1, 1);
  if (lua_isnumber(L, -1)) {
    if (a->method[0] == 'p') a->fd = (int)lua_tointeger(L, -1);
    else a->timeout = lua_tonumber(L, -1);
  }
  return 0;
}

int gls_runtime_fd(gls_runtime *rt) {
  if (!rt || rt->in_lua || !enter(rt)) return -1;
  step_args a = {rt, 0, "pollfd", -1, -1};
  int fd = protect(rt, t_query, &a) == LUA_OK ? a.fd : -1;
  leave(rt);
  return fd;
}

long gls_runtime_timeout_ms(gls_runtime *rt) {
  if (!rt || rt->in_lua) return -1;
  if (rt->done_head) return 0;
  if (!enter(rt)) return -1;
  step_args a = {rt, 0, "timeout", -1, -1};
  int st = protect(rt, t_query, &a);
  leave(rt);
  if (st != LUA_OK || a.timeout < 0) return -1;
  double ms = a.timeout * 1000.0;
  if (ms > (double)(LONG_MAX / 2)) return LONG_MAX / 2;
  long whole = (long)ms;
  return (double)whole < ms ? whole + 1 : whole; /* never wake up early */
}

/* ------------------------------------------------------------- the rest */

typedef struct text_args {
  gls_runtime *rt;
  const char *in;
  const char *why; /* reload refused */
  char *out;       /* stats: malloc'd copy */
} text_args;

static int t_reload(lua_State *L) {
  text_args *a = lua_touserdata(L, 1);
  push_method(L, a->rt, "reload");
  push_opt(L, a->in);
  lua_call(L, 2, 2);
  if (lua_isnil(L, -2)) {
    a->why = keep_why(L);
    if (!a->why) a->why = "the policy did not load";
  }
  return 0;
}

gls_status gls_runtime_reload(gls_runtime *rt, const char *policy_path) {
  if (!rt) return GLS_E_INVALID_ARGUMENT;
  if (rt->in_lua || !enter(rt)) {
    set_err(rt, "%s", "called from the runtime's log function or while it is being destroyed");
    return GLS_E_BUSY;
  }
  text_args a = {rt, policy_path, NULL, NULL};
  int st = protect(rt, t_reload, &a);
  gls_status ret = GLS_OK;
  if (st != LUA_OK) {
    ret = st == LUA_ERRMEM ? GLS_E_NOMEM : GLS_E_RUNTIME;
  } else if (a.why) {
    set_err(rt, "cannot reload the policy: %s", a.why);
    ret = GLS_E_CONFIG;
  }
  leave(rt);
  return ret;
}

static int t_stats(lua_State *L) {
  text_args *a = lua_touserdata(L, 1);
  push_method(L, a->rt, "stats_json");
  lua_call(L, 1, 1);
  size_t n;
  const char *s = lua_tolstring(L, -1, &n);
  if (!s) return luaL_error(L, "the runtime's figures could not be encoded");
  a->out = dup_str(s, n);
  if (!a->out) return luaL_error(L, "out of memory");
  return 0;
}

char *gls_runtime_stats(gls_runtime *rt) {
  if (!rt) return NULL;
  if (rt->in_lua || !enter(rt)) {
    set_err(rt, "%s", "called from the runtime's log function or while it is being destroyed");
    return NULL;
  }
  text_args a = {rt, NULL, NULL, NULL};
  if (protect(rt, t_stats, &a) != LUA_OK) {
    free(a.out);
    a.out = NULL;
  }
  leave(rt);
  return a.out;
}

size_t gls_runtime_pending(const gls_runtime *rt) { return rt ? rt->npending : 0; }

gls_status gls_runtime_set_log(gls_runtime *rt, gls_runtime_log_fn fn, void *ud) {
  if (!rt) return GLS_E_INVALID_ARGUMENT;
  rt->log_fn = fn;
  rt->log_ud = ud;
  return GLS_OK;
}

const char *gls_runtime_errmsg(const gls_runtime *rt) {
  return rt ? rt->errmsg : "no runtime (NULL)";
}

static int t_close(lua_State *L) {
  gls_runtime *rt = lua_touserdata(L, 1);
  push_method(L, rt, "close");
  lua_call(L, 1, 0);
  return 0;
}

static void destroy_now(gls_runtime *rt) {
  rt->closing = 1;
  rt->destroy_asked = 0;
  if (rt->host_ref != LUA_NOREF) protect(rt, t_close, rt);
  /* Nothing in Lua may reach a pending after this: done() returns at once
   * while rt->closing, and lua_close frees every slot. A slot's memory may
   * already be gone (rt:close() dropped its closure and the GC ran), so it
   * is forgotten here, never written to. */
  for (pending *p = rt->flying; p; p = p->next) p->slot = NULL;
  lua_close(rt->L);
  rt->L = NULL;
  /* results known before: as they are; the rest: Cancelled */
  rt->delivering = 1;
  while (rt->done_head) {
    pending *p = rt->done_head;
    rt->done_head = p->next;
    deliver(rt, p);
  }
  rt->done_tail = NULL;
  while (rt->flying) {
    pending *p = rt->flying;
    rt->flying = p->next;
    rt->npending--;
    gls_runtime_error e = {CANCELLED, "the runtime was destroyed before this request finished",
                           503, 1};
    p->cb(p->ud, NULL, &e);
    pending_free(p);
  }
  free(rt);
}

void gls_runtime_destroy(gls_runtime *rt) {
  if (!rt || rt->closing) return;
  if (rt->depth > 0 || rt->in_lua) {
    rt->destroy_asked = 1; /* carried out when the outermost call returns */
    return;
  }
  destroy_now(rt);
}
