/* lgls_util.c - small helpers of gameliftstreams.core that Lua code needs and
 * Lua 5.4 lacks: SHA-256 of a string and the wall clock with sub-second
 * precision (the emulator names offers by their digest and runs timers on it),
 * random bytes from OpenSSL's CSPRNG and a constant-time comparison (the
 * runtime's session tokens). */
#include <time.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
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

void gls_l_push_timeout(lua_State *L, long ms) {
  if (ms < 0) lua_pushnil(L);
  else lua_pushnumber(L, (lua_Number)ms / 1000.0);
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

/* core.random_hex(nbytes) -> 2*nbytes lower-case hex characters of
 * RAND_bytes output. nbytes is 1..1024; misuse raises, and so does a CSPRNG
 * failure (there is no sensible fallback for a secret). */
static int l_random_hex(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  luaL_argcheck(L, n >= 1 && n <= 1024, 1, "byte count between 1 and 1024 expected");
  unsigned char b[1024];
  static const char hex[] = "0123456789abcdef";
  if (RAND_bytes(b, (int)n) != 1) return luaL_error(L, "RAND_bytes failed");
  luaL_Buffer buf;
  char *out = luaL_buffinitsize(L, &buf, (size_t)n * 2);
  for (lua_Integer i = 0; i < n; i++) {
    out[2 * i] = hex[b[i] >> 4];
    out[2 * i + 1] = hex[b[i] & 15];
  }
  OPENSSL_cleanse(b, (size_t)n);
  luaL_pushresultsize(&buf, (size_t)n * 2);
  return 1;
}

/* core.equal_ct(a, b) -> boolean: a == b, in time that depends only on the
 * lengths (CRYPTO_memcmp), for comparing secrets or their digests. */
static int l_equal_ct(lua_State *L) {
  size_t na, nb;
  const char *a = luaL_checklstring(L, 1, &na);
  const char *b = luaL_checklstring(L, 2, &nb);
  lua_pushboolean(L, na == nb && CRYPTO_memcmp(a, b, na) == 0);
  return 1;
}

void gls_l_util_open(lua_State *L) {
  static const luaL_Reg fns[] = {{"sha256_hex", l_sha256_hex}, {"time", l_time},
                                 {"random_hex", l_random_hex}, {"equal_ct", l_equal_ct},
                                 {NULL, NULL}};
  luaL_setfuncs(L, fns, 0);
}
