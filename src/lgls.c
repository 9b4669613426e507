/* lgls.c - luaopen_gameliftstreams_core: the C half of require "gameliftstreams". */
#include "gls_private.h"
#include "lgls.h"

GLS_API int luaopen_gameliftstreams_core(lua_State *L) {
  luaL_checkversion(L);
  gls_global_init();
  lua_newtable(L);
  lua_pushcfunction(L, gls_l_sigv4_sign);
  lua_setfield(L, -2, "sigv4_sign");
  gls_l_http_open(L);
  gls_l_client_open(L);
  gls_l_util_open(L);
  gls_l_httpd_open(L);
  gls_l_emuwire_open(L);
  gls_l_json_open(L);
  lua_pushliteral(L, GLS_VERSION);
  lua_setfield(L, -2, "_VERSION");
  return 1;
}
