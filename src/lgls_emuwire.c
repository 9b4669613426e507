/*
 * lgls_emuwire.c - the emulator's wire helpers for Lua (the C contract is
 * emuwire.h; these are thin):
 *
 *   core.emu_route(method, raw_path)
 *     -> op_name, labels        labels = { Identifier = "sg-1", ... } decoded
 *   core.emu_verify(req, opts)  req = { method, path, query, header_list, body }
 *                               opts = { credentials = { [akid] = {
 *                                 secret_access_key =, session_token = } },
 *                                 now = epoch seconds, service = nil|"..." }
 *     -> access_key_id, region
 *   core.emu_input(op_name, labels, raw_query, headers_lower, body)
 *     -> input                  members by model name; lists as sequences,
 *                               integers as integers, timestamps as numbers
 *   core.emu_output(op_name, output) -> json_text
 *
 * The first three return nil, code, message, http_status for what the
 * service would refuse (emuwire.h lists each case). Misuse raises: a wrong
 * argument type, an unknown operation name, a credentials entry that is not
 * { secret_access_key = string, session_token = string|nil }, an output
 * value of the wrong type for its shape (the message names the member).
 *
 * Lua <-> JSON: output tables are read by the output shape, never guessed:
 * a list member is the sequence 1..#t (an empty table is an empty list, a
 * table with other keys is refused), a map is every string key, a
 * structure its model members only (others ignored). Integers stay
 * integers both ways; a float without a fraction is accepted for an
 * integer member. Input comes back from jansson's types, which the model
 * fixed: arrays as sequences, objects as tables.
 *
 * State: one gls_emu (signer, compiled patterns, buffers) per lua_State,
 * created on first use, in a userdata that is an upvalue of the four
 * functions (no process-global state). While a call uses it the context is
 * marked busy; a nested call (from a finalizer run by an allocation) gets a
 * private context of its own. The busy mark is cleared by a to-be-closed
 * slot, so an error cannot leave it set.
 *
 * longjmp safety: no malloc'd memory is held across a call that can raise:
 * JSON values live in a boxed userdata whose __gc releases them; JSON
 * containers are attached to their parent before they are filled. Strings
 * handed to C stay on the Lua stack (anchored) for the whole call.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <jansson.h>
#include "emuwire.h"
#include "lgls.h"

#define EMU_MT "gameliftstreams.emuwire"
#define JBOX_MT "gameliftstreams.emujson"

typedef struct lemu {
  gls_emu *e; /* owned; NULL until first use or after __gc */
  int busy;   /* 1 while a call uses e */
} lemu;

typedef struct jbox {
  json_t *j; /* owned reference, or NULL */
} jbox;

static int lemu_gc(lua_State *L) {
  lemu *le = luaL_checkudata(L, 1, EMU_MT);
  gls_emu_free(le->e);
  le->e = NULL;
  return 0;
}

static int lemu_close(lua_State *L) {
  lemu *le = luaL_checkudata(L, 1, EMU_MT);
  le->busy = 0;
  return 0;
}

static lemu *push_lemu(lua_State *L) {
  lemu *le = lua_newuserdatauv(L, sizeof *le, 0);
  le->e = NULL;
  le->busy = 0;
  if (luaL_newmetatable(L, EMU_MT)) {
    lua_pushcfunction(L, lemu_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, lemu_close);
    lua_setfield(L, -2, "__close");
    lua_pushliteral(L, "locked");
    lua_setfield(L, -2, "__metatable");
  }
  lua_setmetatable(L, -2);
  return le;
}

/* Pushes the context to use (the shared one unless it is busy), marks it
 * busy and makes its slot to-be-closed. Returns its gls_emu. */
static gls_emu *acquire(lua_State *L) {
  lemu *le = lua_touserdata(L, lua_upvalueindex(1));
  if (le->busy) {
    le = push_lemu(L); /* nested: a private context, collected later */
  } else {
    lua_pushvalue(L, lua_upvalueindex(1));
  }
  if (!le->e && !(le->e = gls_emu_new()))
    luaL_error(L, "emulator: cannot create a context (out of memory or OpenSSL failure)");
  lua_toclose(L, -1);
  le->busy = 1;
  return le->e;
}

static int push_error(lua_State *L, const gls_emu_error *err) {
  lua_pushnil(L);
  lua_pushstring(L, err->code);
  lua_pushstring(L, err->message);
  lua_pushinteger(L, err->status);
  return 4;
}

static int jbox_gc(lua_State *L) {
  jbox *b = luaL_checkudata(L, 1, JBOX_MT);
  json_decref(b->j);
  b->j = NULL;
  return 0;
}

static jbox *push_jbox(lua_State *L) {
  jbox *b = lua_newuserdatauv(L, sizeof *b, 0);
  b->j = NULL;
  if (luaL_newmetatable(L, JBOX_MT)) {
    lua_pushcfunction(L, jbox_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushliteral(L, "locked");
    lua_setfield(L, -2, "__metatable");
  }
  lua_setmetatable(L, -2);
  return b;
}

static const gls_operation *check_op(lua_State *L, int arg) {
  const char *name = luaL_checkstring(L, arg);
  const gls_operation *op = gls_find_operation(name);
  if (!op) luaL_argerror(L, arg, lua_pushfstring(L, "unknown operation '%s'", name));
  return op;
}

/* t[k] must be a string or nil; pushes it (anchored) and returns it. */
static const char *opt_string(lua_State *L, int t, const char *k, int arg, size_t *len) {
  int ty = lua_getfield(L, t, k);
  if (ty == LUA_TSTRING) return lua_tolstring(L, -1, len);
  if (ty != LUA_TNIL)
    luaL_argerror(L, arg, lua_pushfstring(L, "field '%s': string expected, got %s", k,
                                          luaL_typename(L, -1)));
  if (len) *len = 0;
  return NULL;
}

/* ------------------------------------------------------------ route */

static int l_emu_route(lua_State *L) {
  const char *method = luaL_checkstring(L, 1);
  const char *path = luaL_checkstring(L, 2);
  lua_settop(L, 2);
  gls_emu *e = acquire(L);
  gls_emu_match m;
  gls_emu_error err;
  if (gls_emu_route(e, method, path, &m, &err)) return push_error(L, &err);
  lua_pushstring(L, m.op->name);
  lua_createtable(L, 0, (int)m.nlabels);
  for (size_t i = 0; i < m.nlabels; i++) {
    lua_pushlstring(L, m.labels[i].value, m.labels[i].value_len);
    lua_setfield(L, -2, m.labels[i].name);
  }
  return 2;
}

/* ------------------------------------------------------------ verify */

typedef struct lookup_ud {
  lua_State *L;
  int creds;    /* stack index of opts.credentials */
  int bad;      /* the entry found is malformed: raise after the call */
} lookup_ud;

/* Leaves what it reads on the stack: that anchors the secret and token
 * while the verifier uses them. */
static int lua_lookup(void *ud, const char *akid, gls_emu_credential *out) {
  lookup_ud *u = ud;
  lua_State *L = u->L;
  int ty = lua_getfield(L, u->creds, akid);
  if (ty == LUA_TNIL) return 0;
  if (ty != LUA_TTABLE) {
    u->bad = 1;
    return 0;
  }
  int t = lua_gettop(L);
  if (lua_getfield(L, t, "secret_access_key") != LUA_TSTRING) {
    u->bad = 1;
    return 0;
  }
  out->secret_access_key = lua_tostring(L, -1);
  ty = lua_getfield(L, t, "session_token");
  if (ty == LUA_TSTRING) {
    out->session_token = lua_tostring(L, -1);
  } else if (ty != LUA_TNIL) {
    u->bad = 1;
    return 0;
  }
  return 1;
}

static int l_emu_verify(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  gls_emu_request req;
  memset(&req, 0, sizeof req);
  req.method = opt_string(L, 1, "method", 1, NULL);
  req.path = opt_string(L, 1, "path", 1, NULL);
  if (!req.method || !req.path) return luaL_argerror(L, 1, "fields 'method' and 'path' are required");
  req.query = opt_string(L, 1, "query", 1, NULL);
  req.body = opt_string(L, 1, "body", 1, &req.body_len);

  int ty = lua_getfield(L, 1, "header_list");
  int hl = lua_gettop(L);
  size_t nh = 0;
  if (ty == LUA_TTABLE) nh = lua_rawlen(L, hl);
  else if (ty != LUA_TNIL)
    return luaL_argerror(L, 1, lua_pushfstring(L, "field 'header_list': table expected, got %s",
                                               luaL_typename(L, -1)));
  if (nh > 10000) return luaL_argerror(L, 1, "field 'header_list': too many headers");
  gls_header *hs = lua_newuserdatauv(L, (nh ? nh : 1) * sizeof *hs, 0);
  luaL_checkstack(L, (int)(2 * nh) + 16, "emu_verify");
  for (size_t i = 0; i < nh; i++) {
    if (lua_rawgeti(L, hl, (lua_Integer)i + 1) != LUA_TTABLE ||
        lua_rawgeti(L, -1, 1) != LUA_TSTRING || lua_rawgeti(L, -2, 2) != LUA_TSTRING)
      return luaL_argerror(L, 1, lua_pushfstring(L, "field 'header_list': entry %d must be "
                                                    "{name, value} (two strings)", (int)i + 1));
    hs[i].name = lua_tolstring(L, -2, &hs[i].name_len);
    hs[i].value = lua_tolstring(L, -1, &hs[i].value_len);
    lua_remove(L, -3); /* the pair; its two strings stay on the stack */
  }
  req.headers = hs;
  req.nheaders = nh;

  gls_emu_verify_opts o;
  memset(&o, 0, sizeof o);
  if (lua_getfield(L, 2, "credentials") != LUA_TTABLE)
    return luaL_argerror(L, 2, "field 'credentials': table expected");
  lookup_ud u = {L, lua_gettop(L), 0};
  if (lua_getfield(L, 2, "now") != LUA_TNUMBER)
    return luaL_argerror(L, 2, "field 'now': number (epoch seconds) expected");
  lua_Number now = lua_tonumber(L, -1);
  if (!(now >= 0 && now < 253402300800.0)) return luaL_argerror(L, 2, "field 'now': out of range");
  o.now = (int64_t)floor(now);
  o.service = opt_string(L, 2, "service", 2, NULL);
  o.lookup = lua_lookup;
  o.ud = &u;

  gls_emu *e = acquire(L);
  gls_emu_identity who;
  gls_emu_error err;
  int rc = gls_emu_verify(e, &req, &o, &who, &err);
  if (u.bad)
    return luaL_error(L, "emu_verify: opts.credentials entry must be { secret_access_key = "
                         "string, session_token = string|nil }");
  if (rc) return push_error(L, &err);
  lua_pushstring(L, who.access_key_id);
  lua_pushstring(L, who.region);
  return 2;
}

/* ------------------------------------------------------------ JSON -> Lua */

static void push_json(lua_State *L, const json_t *v) {
  luaL_checkstack(L, 4, "emu_input: nesting too deep");
  switch (json_typeof(v)) {
  case JSON_OBJECT: {
    lua_createtable(L, 0, (int)json_object_size(v));
    const char *k;
    json_t *el;
    json_object_foreach((json_t *)v, k, el) {
      push_json(L, el);
      lua_setfield(L, -2, k);
    }
    break;
  }
  case JSON_ARRAY: {
    lua_createtable(L, (int)json_array_size(v), 0);
    size_t i;
    json_t *el;
    json_array_foreach(v, i, el) {
      push_json(L, el);
      lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    break;
  }
  case JSON_STRING: lua_pushlstring(L, json_string_value(v), json_string_length(v)); break;
  case JSON_INTEGER: lua_pushinteger(L, (lua_Integer)json_integer_value(v)); break;
  case JSON_REAL: lua_pushnumber(L, (lua_Number)json_real_value(v)); break;
  case JSON_TRUE: lua_pushboolean(L, 1); break;
  case JSON_FALSE: lua_pushboolean(L, 0); break;
  default: lua_pushnil(L); break;
  }
}

static int l_emu_input(lua_State *L) {
  const gls_operation *op = check_op(L, 1);
  if (!lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TTABLE);
  gls_emu_request req;
  memset(&req, 0, sizeof req);
  req.query = luaL_optstring(L, 3, NULL);
  if (!lua_isnoneornil(L, 4)) luaL_checktype(L, 4, LUA_TTABLE);
  req.body = luaL_optlstring(L, 5, NULL, &req.body_len);
  lua_settop(L, 5);

  /* labels and header members, as the input shape names them */
  gls_emu_label labels[GLS_EMU_MAX_LABELS];
  gls_header hs[GLS_EMU_MAX_LABELS];
  size_t nl = 0, nh = 0;
  luaL_checkstack(L, 2 * GLS_EMU_MAX_LABELS + 8, "emu_input");
  const gls_shape *ish = op->input >= 0 ? &gls_shapes[op->input] : NULL;
  for (int i = 0; ish && i < ish->nmembers; i++) {
    const gls_member *m = &gls_members[ish->first_member + i];
    if (m->location == GLS_LOC_URI && !lua_isnil(L, 2) && nl < GLS_EMU_MAX_LABELS) {
      size_t len;
      const char *v = opt_string(L, 2, m->wire_name, 2, &len);
      if (v) labels[nl++] = (gls_emu_label){m->wire_name, v, len};
      else lua_pop(L, 1);
    } else if (m->location == GLS_LOC_HEADER && !lua_isnil(L, 4) && nh < GLS_EMU_MAX_LABELS) {
      char lower[128];
      size_t n = strlen(m->wire_name), len;
      if (n >= sizeof lower) continue;
      for (size_t k = 0; k <= n; k++)
        lower[k] = (char)(m->wire_name[k] >= 'A' && m->wire_name[k] <= 'Z' ? m->wire_name[k] + 32
                                                                         : m->wire_name[k]);
      const char *v = opt_string(L, 4, lower, 4, &len);
      if (v) hs[nh++] = (gls_header){m->wire_name, n, v, len};
      else lua_pop(L, 1);
    }
  }
  req.headers = hs;
  req.nheaders = nh;

  jbox *box = push_jbox(L);
  gls_emu *e = acquire(L);
  gls_emu_error err;
  if (gls_emu_input(e, op, labels, nl, &req, &box->j, &err)) return push_error(L, &err);
  push_json(L, box->j);
  json_decref(box->j);
  box->j = NULL;
  return 1;
}

/* ------------------------------------------------------------ Lua -> JSON */

/* Where a conversion is, for messages: "Items[2].Arn". */
typedef struct lpath {
  char s[256];
  size_t n;
} lpath;

static size_t lpath_push(lpath *p, const char *fmt, const char *a, long long i) {
  size_t mark = p->n;
  int k = a ? snprintf(p->s + p->n, sizeof p->s - p->n, fmt, a)
            : snprintf(p->s + p->n, sizeof p->s - p->n, fmt, i);
  if (k > 0) p->n = p->n + (size_t)k < sizeof p->s ? p->n + (size_t)k : sizeof p->s - 1;
  return mark;
}

static void lpath_pop(lpath *p, size_t mark) {
  p->n = mark;
  p->s[mark] = '\0';
}

static int bad_value(lua_State *L, const lpath *p, const char *want, int idx) {
  return luaL_error(L, "emu_output: '%s': %s expected, got %s", p->n ? p->s : "output", want,
                    luaL_typename(L, idx));
}

static int is_container(int type) {
  return type == GLS_T_STRUCT || type == GLS_T_LIST || type == GLS_T_MAP;
}

static void fill(lua_State *L, int idx, int shape, json_t *dst, lpath *p, int depth);

/* The scalar at idx as the shape's JSON value (a new reference). Raises
 * on a wrong type before anything is allocated. */
static json_t *scalar(lua_State *L, int idx, int shape, const lpath *p) {
  const gls_shape *sh = &gls_shapes[shape];
  json_t *j = NULL;
  switch (sh->type) {
  case GLS_T_INTEGER:
  case GLS_T_LONG: {
    int isint = 0;
    lua_Integer v = lua_type(L, idx) == LUA_TNUMBER ? lua_tointegerx(L, idx, &isint) : 0;
    if (!isint) bad_value(L, p, "an integer", idx);
    if (sh->type == GLS_T_INTEGER && (v > 2147483647LL || v < -2147483647LL - 1))
      luaL_error(L, "emu_output: '%s': %I is out of range of a 32-bit integer", p->s, v);
    j = json_integer((json_int_t)v);
    break;
  }
  case GLS_T_BOOLEAN:
    if (lua_type(L, idx) != LUA_TBOOLEAN) bad_value(L, p, "a boolean", idx);
    j = json_boolean(lua_toboolean(L, idx));
    break;
  case GLS_T_DOUBLE:
  case GLS_T_TIMESTAMP:
    if (lua_type(L, idx) == LUA_TSTRING && sh->type == GLS_T_TIMESTAMP) {
      double t;
      if (gls_parse_iso8601(lua_tostring(L, idx), &t)) bad_value(L, p, "a timestamp", idx);
      j = t == floor(t) ? json_integer((json_int_t)t) : json_real(t);
    } else if (lua_type(L, idx) != LUA_TNUMBER) {
      bad_value(L, p, "a number", idx);
    } else if (lua_isinteger(L, idx)) {
      j = json_integer((json_int_t)lua_tointeger(L, idx));
    } else {
      lua_Number d = lua_tonumber(L, idx);
      if (!isfinite(d)) luaL_error(L, "emu_output: '%s': a finite number expected", p->s);
      j = json_real((double)d);
    }
    break;
  default: {
    if (lua_type(L, idx) != LUA_TSTRING) bad_value(L, p, "a string", idx);
    size_t n;
    const char *s = lua_tolstring(L, idx, &n);
    j = json_stringn(s, n);
    if (!j) luaL_error(L, "emu_output: '%s': the string is not UTF-8", p->s);
    break;
  }
  }
  if (!j) luaL_error(L, "emu_output: out of memory");
  return j;
}

/* The value at idx converted and put into the container dst: under key
 * (objects) or appended (arrays, key NULL). Containers are attached
 * before they are filled, so dst owns them if filling raises. */
static void put(lua_State *L, int idx, int shape, json_t *dst, const char *key, lpath *p,
                int depth) {
  int type = gls_shapes[shape].type;
  json_t *v;
  if (is_container(type)) {
    if (!lua_istable(L, idx))
      bad_value(L, p, type == GLS_T_LIST ? "a table (sequence)" : "a table", idx);
    v = type == GLS_T_LIST ? json_array() : json_object();
  } else {
    v = scalar(L, idx, shape, p);
  }
  int r = !v ? -1 : key ? json_object_set_new(dst, key, v) : json_array_append_new(dst, v);
  if (r) luaL_error(L, "emu_output: '%s': out of memory or a key that is not UTF-8", p->s);
  if (is_container(type)) fill(L, idx, shape, v, p, depth + 1);
}

static void fill(lua_State *L, int idx, int shape, json_t *dst, lpath *p, int depth) {
  const gls_shape *sh = &gls_shapes[shape];
  idx = lua_absindex(L, idx);
  if (depth > 32) luaL_error(L, "emu_output: '%s': nesting too deep", p->s);
  luaL_checkstack(L, 4, "emu_output");
  switch (sh->type) {
  case GLS_T_STRUCT:
    for (int i = 0; i < sh->nmembers; i++) {
      const gls_member *m = &gls_members[sh->first_member + i];
      if (lua_getfield(L, idx, m->name) != LUA_TNIL) {
        size_t mark = lpath_push(p, p->n ? ".%s" : "%s", m->name, 0);
        put(L, -1, m->shape, dst, m->name, p, depth);
        lpath_pop(p, mark);
      }
      lua_pop(L, 1);
    }
    return;
  case GLS_T_LIST: {
    lua_Integer n = (lua_Integer)lua_rawlen(L, idx), keys = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
      keys++;
      lua_pop(L, 1);
    }
    if (keys != n)
      luaL_error(L, "emu_output: '%s': a sequence expected (a list member), got a table with "
                    "other keys", p->n ? p->s : "output");
    for (lua_Integer i = 1; i <= n; i++) {
      lua_rawgeti(L, idx, i);
      size_t mark = lpath_push(p, "[%lld]", NULL, (long long)i);
      put(L, -1, sh->elem, dst, NULL, p, depth);
      lpath_pop(p, mark);
      lua_pop(L, 1);
    }
    return;
  }
  case GLS_T_MAP:
    lua_pushnil(L);
    while (lua_next(L, idx)) {
      if (lua_type(L, -2) != LUA_TSTRING)
        luaL_error(L, "emu_output: '%s': map keys must be strings, got %s", p->n ? p->s : "output",
                   luaL_typename(L, -2));
      size_t kl;
      const char *k = lua_tolstring(L, -2, &kl);
      if (strlen(k) != kl) luaL_error(L, "emu_output: '%s': a map key holds a NUL byte", p->s);
      size_t mark = lpath_push(p, "[%s]", k, 0);
      put(L, -1, sh->elem, dst, k, p, depth);
      lpath_pop(p, mark);
      lua_pop(L, 1);
    }
    return;
  default:
    return;
  }
}

static int l_emu_output(lua_State *L) {
  const gls_operation *op = check_op(L, 1);
  if (!lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  if (op->output < 0) {
    lua_pushliteral(L, "");
    return 1;
  }
  jbox *box = push_jbox(L);
  if (!(box->j = json_object())) return luaL_error(L, "emu_output: out of memory");
  if (!lua_isnil(L, 2)) {
    lpath p = {"", 0};
    fill(L, 2, op->output, box->j, &p, 0);
  }
  gls_emu *e = acquire(L);
  const char *text;
  size_t len;
  gls_emu_error err;
  if (gls_emu_output(e, op, box->j, &text, &len, &err))
    return luaL_error(L, "emu_output: %s: %s", err.code, err.message);
  lua_pushlstring(L, text, len);
  json_decref(box->j);
  box->j = NULL;
  return 1;
}

/* ------------------------------------------------------------ registration */

void gls_l_emuwire_open(lua_State *L) {
  static const luaL_Reg fns[] = {{"emu_route", l_emu_route},
                                 {"emu_verify", l_emu_verify},
                                 {"emu_input", l_emu_input},
                                 {"emu_output", l_emu_output},
                                 {NULL, NULL}};
  push_lemu(L); /* the shared context: its gls_emu is made on first use */
  luaL_setfuncs(L, fns, 1);
}
