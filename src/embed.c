/* embed.c - package.preload entries for the Lua modules built into libgls and
 * glsrun: "gameliftstreams.core" (luaopen_gameliftstreams_core) and every file
 * of lua/gameliftstreams/ (the table tools/embed.lua generates, see
 * glsrun_embed.h). glsrun preloads them into its state; the embedding API
 * (runtime_embed.c) into the private state it makes. */
#include "glsrun_embed.h"
#include "gls.h"
#include "lgls.h"

/* package.preload loader for one embedded module: loads its chunk, compiled
 * at build time by tools/embed.lua (binary only: these bytes are part of the
 * program; scripts and policies from outside are still loaded as text only)
 * and runs it with require's arguments. Called by require, hence already
 * inside a protected call. */
static int embedded_loader(lua_State *L) {
  const glsrun_embedded *m = lua_touserdata(L, lua_upvalueindex(1));
  int nargs = lua_gettop(L);
  if (luaL_loadbufferx(L, (const char *)m->data, m->len, m->chunkname, "b") != LUA_OK)
    return luaL_error(L, "error loading module '%s' embedded in gls:\n\t%s", m->name,
                      lua_tostring(L, -1));
  lua_insert(L, 1);
  lua_call(L, nargs, 1);
  return 1;
}

void gls_l_preload(lua_State *L) {
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_gameliftstreams_core);
  lua_setfield(L, -2, "gameliftstreams.core");
  for (const glsrun_embedded *m = glsrun_embedded_modules; m->name; m++) {
    lua_pushlightuserdata(L, (void *)m);
    lua_pushcclosure(L, embedded_loader, 1);
    lua_setfield(L, -2, m->name);
  }
  lua_pop(L, 1);
}
