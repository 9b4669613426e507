/* lgls_json.c - core.json_decode: JSON text to ordered Lua values, parsed by
 * jansson (which keeps object keys in document order). The Lua half, and the
 * representation, is lua/gameliftstreams/json.lua. */
#include <limits.h>
#include <string.h>
#include <jansson.h>
#include "gls_private.h"
#include "lgls.h"

/* Upvalue/argument slots of json_decode's conversion. */
enum { ARG_TEXT = 1, ARG_ARRAY_MT, ARG_OBJECT_MT, ARG_ORDER };

static const char BOX_MT[] = "gameliftstreams.json_box";

/* The parsed document lives in a userdata box until converted, so a memory
 * error raised during the conversion still frees it (through __gc). */
typedef struct {
  json_t *doc;
} json_box;

static int box_gc(lua_State *L) {
  json_box *b = luaL_checkudata(L, 1, BOX_MT);
  if (b->doc) json_decref(b->doc);
  b->doc = NULL;
  return 0;
}

/* Pushes the Lua form of v (borrowed). Arrays get the array metatable;
 * objects get the object metatable and their key list in order[obj]
 * (list[i] = key, list[key] = i). Integers beyond 2^63 never reach here as
 * integers: see l_json_decode. */
static void push_value(lua_State *L, json_t *v, int depth) {
  luaL_checkstack(L, 6, "JSON document too deep");
  switch (json_typeof(v)) {
  case JSON_NULL: lua_pushlightuserdata(L, NULL); break;
  case JSON_TRUE: lua_pushboolean(L, 1); break;
  case JSON_FALSE: lua_pushboolean(L, 0); break;
  case JSON_INTEGER: lua_pushinteger(L, (lua_Integer)json_integer_value(v)); break;
  case JSON_REAL: lua_pushnumber(L, (lua_Number)json_real_value(v)); break;
  case JSON_STRING: lua_pushlstring(L, json_string_value(v), json_string_length(v)); break;
  case JSON_ARRAY: {
    size_t n = json_array_size(v);
    lua_createtable(L, n > INT_MAX ? INT_MAX : (int)n, 0);
    for (size_t i = 0; i < n; i++) {
      push_value(L, json_array_get(v, i), depth + 1);
      lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_pushvalue(L, ARG_ARRAY_MT);
    lua_setmetatable(L, -2);
    break;
  }
  case JSON_OBJECT: {
    size_t n = json_object_size(v);
    int hint = n > INT_MAX ? INT_MAX : (int)n;
    lua_createtable(L, 0, hint);           /* obj */
    lua_createtable(L, hint, hint);        /* obj list */
    const char *key;
    size_t klen;
    json_t *item;
    lua_Integer i = 0;
    json_object_keylen_foreach(v, key, klen, item) {
      lua_pushlstring(L, key, klen);       /* obj list key */
      lua_pushvalue(L, -1);
      lua_rawseti(L, -3, ++i);             /* list[i] = key */
      lua_pushvalue(L, -1);
      lua_pushinteger(L, i);
      lua_rawset(L, -4);                   /* list[key] = i */
      push_value(L, item, depth + 1);      /* obj list key value */
      lua_rawset(L, -4);                   /* obj[key] = value */
    }
    lua_pushvalue(L, -2);                  /* obj list obj */
    lua_insert(L, -2);                     /* obj obj list */
    lua_rawset(L, ARG_ORDER);              /* order[obj] = list */
    lua_pushvalue(L, ARG_OBJECT_MT);
    lua_setmetatable(L, -2);
    break;
  }
  }
}

/* core.json_decode(text, array_mt, object_mt, order) -> value | nil, message.
 * Any JSON value is accepted at the top level; NUL in strings too. An integer
 * outside the 64-bit range makes jansson refuse the document: it is then
 * parsed again with every integer as a double (Python would keep exact
 * integers; Lua cannot). */
static int l_json_decode(lua_State *L) {
  size_t len;
  const char *text = luaL_checklstring(L, ARG_TEXT, &len);
  luaL_checktype(L, ARG_ARRAY_MT, LUA_TTABLE);
  luaL_checktype(L, ARG_OBJECT_MT, LUA_TTABLE);
  luaL_checktype(L, ARG_ORDER, LUA_TTABLE);
  lua_settop(L, ARG_ORDER);
  json_box *b = lua_newuserdatauv(L, sizeof *b, 0);
  b->doc = NULL;
  luaL_setmetatable(L, BOX_MT);
  json_error_t err;
  size_t flags = JSON_DECODE_ANY | JSON_ALLOW_NUL;
  b->doc = json_loadb(text, len, flags, &err);
  if (!b->doc && strstr(err.text, "too big") != NULL)
    b->doc = json_loadb(text, len, flags | JSON_DECODE_INT_AS_REAL, &err);
  if (!b->doc) {
    lua_pushnil(L);
    lua_pushfstring(L, "invalid JSON at line %d, column %d: %s", err.line, err.column, err.text);
    return 2;
  }
  push_value(L, b->doc, 0);
  json_decref(b->doc);
  b->doc = NULL;
  return 1;
}

void gls_l_json_open(lua_State *L) {
  if (luaL_newmetatable(L, BOX_MT)) {
    lua_pushcfunction(L, box_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  lua_pushcfunction(L, l_json_decode);
  lua_setfield(L, -2, "json_decode");
}
