/* lgls.h - internal prototypes of the Lua binding (luaopen_gameliftstreams_core). */
#ifndef LGLS_H
#define LGLS_H
#include <lua.h>
#include <lauxlib.h>
#include "gls.h"

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

/* Registers core.json_decode (jansson, order-keeping) into the table on top
 * (lgls_json.c; the Lua half is gameliftstreams.json). */
void gls_l_json_open(lua_State *L);

/* Message handler for lua_pcall: the error as a string with a traceback
 * appended (lgls_util.c). Callbacks into Lua from C go through it. */
int gls_l_msghandler(lua_State *L);

/* luaopen_gameliftstreams_core, exported (lgls.c). */
GLS_API int luaopen_gameliftstreams_core(lua_State *L);

/* Puts "gameliftstreams.core" and every embedded Lua module (glsrun_embed.h)
 * into package.preload of L (embed.c; linked into libgls and glsrun, not
 * into core.so). May raise (memory). */
void gls_l_preload(lua_State *L);

#endif
