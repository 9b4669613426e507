/* lgls.h - internal prototypes of the Lua binding (luaopen_gameliftstreams_core). */
#ifndef LGLS_H
#define LGLS_H
#include <lua.h>
#include <lauxlib.h>

/* gameliftstreams.core.sigv4_sign(params) -> result table (lgls_sigv4.c).
 * The contract is DESIGN.md's `require("gameliftstreams.sigv4").sign{...}`. */
int gls_l_sigv4_sign(lua_State *L);

/* Registers the client type and its functions into the table on top (lgls_client.c). */
void gls_l_client_open(lua_State *L);

/* core.http_request{method=, url=, body=, headers=, timeout=} -> status, body, headers
 * | nil, message: a plain blocking HTTP call (lgls_http.c). */
int gls_l_http_request(lua_State *L);
/* Registers core.http_request, core.http_session (the same calls over one
 * kept-alive curl handle) and the session type into the table on top (lgls_http.c). */
void gls_l_http_open(lua_State *L);
/* Registers core.sha256_hex and core.time into the table on top (lgls_util.c). */
void gls_l_util_open(lua_State *L);
/* Registers core.httpd and the server type into the table on top (lgls_httpd.c). */
void gls_l_httpd_open(lua_State *L);
/* Registers core.emu_route, emu_verify, emu_input and emu_output (the
 * emulator's wire helpers, emuwire.h) into the table on top; they share
 * one per-state context as an upvalue (lgls_emuwire.c). */
void gls_l_emuwire_open(lua_State *L);

#endif
