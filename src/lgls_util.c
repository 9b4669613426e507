/* lgls_util.c - small helpers of gameliftstreams.core that Lua code needs and
 * Lua 5.4 lacks: SHA-256 of a string and the wall clock with sub-second
 * precision (the emulator names offers by their digest and runs timers on it). */
#include <time.h>
#include "gls_private.h"
#include "lgls.h"

/* core.sha256_hex(s) -> lower-case hex SHA-256 of s (64 characters). */
static int l_sha256_hex(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  char out[65];
  gls_sha256_hex(s, n, out);
  lua_pushlstring(L, out, 64);
  return 1;
}

/* core.time() -> seconds since the epoch (CLOCK_REALTIME) as a float. */
static int l_time(lua_State *L) {
  struct timespec ts;
  if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return luaL_error(L, "clock_gettime failed");
  lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
  return 1;
}

int gls_l_msghandler(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (!msg) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

void gls_l_util_open(lua_State *L) {
  static const luaL_Reg fns[] = {{"sha256_hex", l_sha256_hex}, {"time", l_time}, {NULL, NULL}};
  luaL_setfuncs(L, fns, 0);
}
