/*
 * lgls_sigv4.c - gameliftstreams.core.sigv4_sign: SigV4 as a pure function.
 *
 * The contract is DESIGN.md's "SigV4 as a pure function":
 *   sign{ method=, path=, query=, headers={{name, value}, ...}, body=,
 *         payload_hash=, access_key_id=, secret_access_key=, session_token=,
 *         region=, service=, time=, normalize_path=, double_encode=,
 *         sign_body=, omit_session_token=, signature_type=, expires= }
 *   -> { canonical_request=, string_to_sign=, signature=,
 *        headers={{name, value}, ...}, query= }
 * Misuse (a wrong type, a missing field, an unknown signature_type) raises
 * with the field's name; nothing here returns nil, err.
 *
 * State: one gls_signer per lua_State, in a userdata kept in the registry
 * under the address of a static char, created on first use and freed by
 * its __gc. No process-global mutable state.
 *
 * longjmp safety: no malloc'd memory is held across a call that can raise.
 * The header array lives in a userdata; every string handed to the signer
 * is anchored in a table on the stack; the signer itself belongs to its
 * userdata. While results are pushed (allocations may run finalizers, and a
 * finalizer might sign too), the shared signer is marked busy and a nested
 * call signs with a signer of its own; the busy mark is cleared by a
 * to-be-closed slot, so an error cannot leave it set.
 */
#include <string.h>
#include "gls_private.h"
#include "lgls.h"

/* Registry key of the per-state signer userdata. Only its address is used;
 * it is never written. */
static const char SIGNER_KEY = 0;

#define SIGNER_MT "gameliftstreams.sigv4.signer"

typedef struct lsigner {
  gls_signer *s; /* owned; NULL once collected or if creation failed */
  int busy;      /* 1 while a call is using s */
} lsigner;

static int signer_gc(lua_State *L) {
  lsigner *ls = luaL_checkudata(L, 1, SIGNER_MT);
  gls_signer_free(ls->s);
  ls->s = NULL;
  return 0;
}

static int signer_close(lua_State *L) {
  lsigner *ls = luaL_checkudata(L, 1, SIGNER_MT);
  ls->busy = 0;
  return 0;
}

/* Pushes a new signer userdata (metatable with __gc and __close). Raises on
 * memory exhaustion; the userdata is created empty first, so nothing leaks. */
static lsigner *push_new_signer(lua_State *L) {
  lsigner *ls = lua_newuserdatauv(L, sizeof *ls, 0);
  ls->s = NULL;
  ls->busy = 0;
  if (luaL_newmetatable(L, SIGNER_MT)) {
    lua_pushcfunction(L, signer_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, signer_close);
    lua_setfield(L, -2, "__close");
    lua_pushliteral(L, "locked");
    lua_setfield(L, -2, "__metatable");
  }
  lua_setmetatable(L, -2);
  ls->s = gls_signer_new();
  if (!ls->s) luaL_error(L, "sigv4: cannot create a signer (out of memory or OpenSSL failure)");
  return ls;
}

/* Pushes the signer userdata to use for this call and marks it busy. The
 * per-state one is reused unless a call is already inside it. */
static lsigner *acquire_signer(lua_State *L) {
  lsigner *ls;
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &SIGNER_KEY) == LUA_TUSERDATA) {
    ls = lua_touserdata(L, -1);
    if (ls->busy || !ls->s) {
      lua_pop(L, 1);
      ls = push_new_signer(L); /* nested (from a finalizer): a private one */
    }
  } else {
    lua_pop(L, 1);
    ls = push_new_signer(L);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &SIGNER_KEY);
  }
  return ls;
}

/* ------------------------------------------------------------ fields */

/* Pushes t[name] and checks its type: a string (or nil when optional).
 * Leaves the value on the stack (which anchors it); returns the string or
 * NULL for nil. */
static const char *field_string(lua_State *L, const char *name, int required, size_t *len) {
  int t = lua_getfield(L, 1, name);
  if (t == LUA_TSTRING) return lua_tolstring(L, -1, len);
  if (t == LUA_TNIL && !required) {
    if (len) *len = 0;
    return NULL;
  }
  luaL_argerror(L, 1,
                lua_pushfstring(L, "field '%s': string expected, got %s", name,
                                t == LUA_TNIL ? "nil" : luaL_typename(L, -1)));
  return NULL;
}

/* t[name] as a boolean; nil gives dflt. Pops it. */
static int field_bool(lua_State *L, const char *name, int dflt) {
  int t = lua_getfield(L, 1, name);
  int v = dflt;
  if (t == LUA_TBOOLEAN)
    v = lua_toboolean(L, -1);
  else if (t != LUA_TNIL)
    luaL_argerror(L, 1,
                  lua_pushfstring(L, "field '%s': boolean expected, got %s", name,
                                  luaL_typename(L, -1)));
  lua_pop(L, 1);
  return v;
}

/* t[name] as an integer (an integral float is accepted). Pops it. */
static lua_Integer field_integer(lua_State *L, const char *name, int required, int *present) {
  int t = lua_getfield(L, 1, name);
  int isnum = 0;
  lua_Integer v = 0;
  if (t == LUA_TNUMBER) v = lua_tointegerx(L, -1, &isnum);
  if (!isnum && !(t == LUA_TNIL && !required)) {
    const char *got = t == LUA_TNUMBER ? "a number with a fraction or out of range"
                                       : (t == LUA_TNIL ? "nil" : luaL_typename(L, -1));
    luaL_argerror(L, 1, lua_pushfstring(L, "field '%s': integer expected, got %s", name, got));
  }
  lua_pop(L, 1);
  if (present) *present = isnum;
  return v;
}

/* Pushes {name, value} (both strings) as a new table onto the list at idx. */
static void push_pair(lua_State *L, int list, lua_Integer i, const char *n, size_t nl,
                      const char *v, size_t vl) {
  lua_createtable(L, 2, 0);
  lua_pushlstring(L, n, nl);
  lua_rawseti(L, -2, 1);
  lua_pushlstring(L, v, vl);
  lua_rawseti(L, -2, 2);
  lua_rawseti(L, list, i);
}

int gls_l_sigv4_sign(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  luaL_checkstack(L, 40, "sigv4.sign");
  gls_sigv4_params p;
  memset(&p, 0, sizeof p);

  /* Scalars: each value stays on the stack while the signer uses it. */
  p.method = field_string(L, "method", 1, NULL);
  p.path = field_string(L, "path", 1, NULL);
  p.query = field_string(L, "query", 0, NULL);
  size_t query_len = 0;
  if (p.query) lua_tolstring(L, -1, &query_len);
  p.body = field_string(L, "body", 0, &p.body_len);
  p.payload_hash = field_string(L, "payload_hash", 0, NULL);
  p.access_key_id = field_string(L, "access_key_id", 1, NULL);
  p.secret_access_key = field_string(L, "secret_access_key", 1, NULL);
  p.session_token = field_string(L, "session_token", 0, NULL);
  p.region = field_string(L, "region", 1, NULL);
  p.service = field_string(L, "service", 1, NULL);
  const char *stype = field_string(L, "signature_type", 0, NULL);
  p.time = (int64_t)field_integer(L, "time", 1, NULL);
  p.normalize_path = field_bool(L, "normalize_path", 1);
  p.double_encode = field_bool(L, "double_encode", 1);
  p.sign_body = field_bool(L, "sign_body", 0);
  p.omit_session_token = field_bool(L, "omit_session_token", 0);
  if (!stype || strcmp(stype, "header") == 0) {
    p.query_form = 0;
  } else if (strcmp(stype, "query") == 0) {
    p.query_form = 1;
  } else {
    return luaL_argerror(
        L, 1, lua_pushfstring(L, "field 'signature_type': 'header' or 'query' expected, got '%s'",
                              stype));
  }
  int has_expires = 0;
  lua_Integer expires = field_integer(L, "expires", 0, &has_expires);
  if (p.query_form) {
    if (!has_expires)
      return luaL_argerror(L, 1, "field 'expires': required when signature_type is 'query'");
    if (expires <= 0 || expires > 604800)
      return luaL_argerror(L, 1, "field 'expires': must be 1 .. 604800 seconds");
    p.expires = (long)expires;
  }
  p.want_debug = 1;

  /* Headers: an array of {name, value}; strings anchored in `anchor`. */
  int t = lua_getfield(L, 1, "headers");
  int hidx = lua_gettop(L);
  size_t nh = 0;
  if (t == LUA_TTABLE) {
    nh = (size_t)luaL_len(L, hidx);
  } else if (t != LUA_TNIL) {
    return luaL_argerror(
        L, 1, lua_pushfstring(L, "field 'headers': table expected, got %s", luaL_typename(L, -1)));
  }
  if (nh > 100000) return luaL_argerror(L, 1, "field 'headers': too many headers");
  gls_header *hs = lua_newuserdatauv(L, (nh ? nh : 1) * sizeof *hs, 0);
  lua_createtable(L, (int)(2 * nh), 0);
  int anchor = lua_gettop(L);
  for (size_t i = 0; i < nh; i++) {
    if (lua_geti(L, hidx, (lua_Integer)i + 1) != LUA_TTABLE)
      return luaL_argerror(
          L, 1,
          lua_pushfstring(L, "field 'headers': entry %d must be a {name, value} table, got %s",
                          (int)i + 1, luaL_typename(L, -1)));
    for (int k = 1; k <= 2; k++) {
      if (lua_geti(L, -1, k) != LUA_TSTRING)
        return luaL_argerror(
            L, 1,
            lua_pushfstring(L, "field 'headers': entry %d %s must be a string, got %s", (int)i + 1,
                            k == 1 ? "name" : "value", luaL_typename(L, -1)));
      size_t len;
      const char *sv = lua_tolstring(L, -1, &len);
      if (k == 1) {
        hs[i].name = sv;
        hs[i].name_len = len;
      } else {
        hs[i].value = sv;
        hs[i].value_len = len;
      }
      lua_rawseti(L, anchor, (lua_Integer)(2 * i) + k); /* keeps sv alive */
    }
    lua_pop(L, 1);
  }
  p.headers = hs;
  p.nheaders = nh;

  /* Sign. The signer is busy until the to-be-closed slot is closed (on
   * return or on an error raised while pushing the results). */
  lsigner *ls = acquire_signer(L);
  lua_toclose(L, -1);
  ls->busy = 1;
  gls_sigv4_result r;
  char err[256];
  gls_status st = gls_signer_sign(ls->s, &p, &r, err, sizeof err);
  if (st == GLS_E_INVALID_ARGUMENT) {
    /* The message names the field: "sigv4: headers[3] is X-Amz-Date, ...". */
    return luaL_argerror(L, 1, strncmp(err, "sigv4: ", 7) == 0 ? err + 7 : err);
  }
  if (st != GLS_OK) return luaL_error(L, "sigv4.sign: %s (%s)", err, gls_strerror(st));

  lua_createtable(L, 0, 5);
  int res = lua_gettop(L);
  lua_pushlstring(L, r.canonical_request, r.canonical_request_len);
  lua_setfield(L, res, "canonical_request");
  lua_pushlstring(L, r.string_to_sign, r.string_to_sign_len);
  lua_setfield(L, res, "string_to_sign");
  lua_pushlstring(L, r.signature, 64);
  lua_setfield(L, res, "signature");
  lua_createtable(L, (int)(nh + r.nadded), 0);
  int list = lua_gettop(L);
  for (size_t i = 0; i < nh; i++)
    push_pair(L, list, (lua_Integer)i + 1, hs[i].name, hs[i].name_len, hs[i].value,
              hs[i].value_len);
  for (size_t i = 0; i < r.nadded; i++)
    push_pair(L, list, (lua_Integer)(nh + i) + 1, r.added[i].name, r.added[i].name_len,
              r.added[i].value, r.added[i].value_len);
  lua_setfield(L, res, "headers");
  if (p.query_form)
    lua_pushlstring(L, r.query, r.query_len);
  else
    lua_pushlstring(L, p.query ? p.query : "", query_len);
  lua_setfield(L, res, "query");
  return 1; /* returning closes the to-be-closed slot: busy = 0 */
}
