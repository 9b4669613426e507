/* lgls_client.c - the Lua client userdata over gls_client (in progress). */
#include "gls_private.h"
#include "lgls.h"

void gls_l_client_open(lua_State *L) { (void)L; }
