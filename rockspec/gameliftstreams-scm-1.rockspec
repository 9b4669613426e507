rockspec_format = "3.0"
package = "gameliftstreams"
version = "scm-1"
source = {
  url = "git+https://github.com/gls-project/gls.git",
}
description = {
  summary = "Amazon GameLift Streams client that keeps players in their games",
  detailed = [[
A C library and a Lua 5.4 layer for Amazon GameLift Streams: SigV4 signing,
the service API with retries, non-blocking calls for any event loop, and
glsrun, a Lua interpreter with all of it built in.
]],
  homepage = "https://github.com/gls-project/gls",
  license = "Apache-2.0",
  labels = { "aws", "gamelift", "streaming" },
}
-- lua-cjson is needed at run time but is deliberately not listed here.
-- Debian/Ubuntu ship it as the package lua-cjson, which luarocks does not
-- see (apt keeps no rocks manifest), so listing it makes an offline
-- `luarocks make` fail trying to download it from luarocks.org. Install it
-- with `apt-get install lua-cjson`, or elsewhere `luarocks install lua-cjson`.
dependencies = {
  "lua >= 5.4, < 5.5",
  "lyaml",  -- yaml and yaml-stream output of glsrun OPERATION (gameliftstreams.clioutput)
}
-- CURL is probed by its library, not by curl/curl.h: Debian's multiarch
-- layout keeps that header in /usr/include/<triplet>/, where luarocks 3.8
-- does not look (the compiler does, by default).
external_dependencies = {
  OPENSSL = { header = "openssl/evp.h" },
  CURL = { library = "curl" },
  JANSSON = { header = "jansson.h" },
  EXPAT = { header = "expat.h" },
  MICROHTTPD = { header = "microhttpd.h" },
}
-- The Makefile builds and installs everything, glsrun included (builtin
-- cannot build executables). Install layout inside the rock:
--   $(LIBDIR)  gameliftstreams/core.so   $(LUADIR) gameliftstreams/*.lua
--   $(BINDIR)  glsrun
-- and the C library (libgls.a/.so, gls/gls.h, pkgconfig/gls.pc) under
-- $(PREFIX)/c/, which luarocks keeps in the rock but does not deploy.
local make_variables = {
  CFLAGS = "$(CFLAGS)",
  LIBFLAG = "$(LIBFLAG)",
  LUA = "$(LUA)",
  LUA_INCLUDE_DIR = "$(LUA_INCDIR)",
  LUA_CMODULE_DIR = "$(LIBDIR)",
  LUA_MODULE_DIR = "$(LUADIR)",
  LUA_BIN_DIR = "$(BINDIR)",
  PREFIX = "$(PREFIX)",
  LIBDIR = "$(PREFIX)/c/lib",
  INCLUDEDIR = "$(PREFIX)/c/include",
}
build = {
  type = "make",
  build_variables = make_variables,
  install_variables = make_variables,
}
deploy = {
  wrap_bin_scripts = false,   -- glsrun is a binary, not a Lua script
}
test_dependencies = {
  "busted",
}
test = {
  type = "busted",
}
