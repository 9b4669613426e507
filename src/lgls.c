/* lgls.c - luaopen_gameliftstreams_core: the C half of require "gameliftstreams". */
#include "gls_private.h"
#include "lgls.h"

/* core.sha256_hex(s) -> lower-case hex SHA-256 of the string s. */
static int l_sha256_hex(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  char hex[65];
  gls_sha256_hex(s, n, hex);
  lua_pushlstring(L, hex, 64);
  return 1;
}

GLS_API int luaopen_gameliftstreams_core(lua_State *L) {
  luaL_checkversion(L);
  gls_global_init();
  lua_newtable(L);
  lua_pushcfunction(L, gls_l_sigv4_sign);
  lua_setfield(L, -2, "sigv4_sign");
  lua_pushcfunction(L, l_sha256_hex);
  lua_setfield(L, -2, "sha256_hex");
  lua_pushcfunction(L, gls_l_http_request);
  lua_setfield(L, -2, "http_request");
  gls_l_client_open(L);
  lua_pushliteral(L, GLS_VERSION);
  lua_setfield(L, -2, "_VERSION");
  return 1;
}
