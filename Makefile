# gls - build, test and install. See README.md.
LUA_VERSION     ?= 5.4
LUA             ?= lua$(LUA_VERSION)
PREFIX          ?= /usr/local
DESTDIR         ?=
LIBDIR          ?= $(PREFIX)/lib
INCLUDEDIR      ?= $(PREFIX)/include
MANDIR          ?= $(PREFIX)/share/man
LUA_INCLUDE_DIR ?= /usr/include/lua$(LUA_VERSION)
LUA_CMODULE_DIR ?= $(PREFIX)/lib/lua/$(LUA_VERSION)
LUA_MODULE_DIR  ?= $(PREFIX)/share/lua/$(LUA_VERSION)
LUA_BIN_DIR     ?= $(PREFIX)/bin
LUA_LIB         ?= -llua$(LUA_VERSION)
PKG_CONFIG      ?= pkg-config
# The pkg-config name of Lua for gls.pc's Requires.private (Debian: lua5.4).
PC_LUA          ?= lua$(LUA_VERSION)

OPENSSL_CFLAGS  ?= $(shell $(PKG_CONFIG) --cflags openssl 2>/dev/null)
OPENSSL_LIBS    ?= $(shell $(PKG_CONFIG) --libs openssl 2>/dev/null || echo -lssl -lcrypto)
CURL_CFLAGS     ?= $(shell $(PKG_CONFIG) --cflags libcurl 2>/dev/null)
CURL_LIBS       ?= $(shell $(PKG_CONFIG) --libs libcurl 2>/dev/null || echo -lcurl)
JANSSON_CFLAGS  ?= $(shell $(PKG_CONFIG) --cflags jansson 2>/dev/null)
JANSSON_LIBS    ?= $(shell $(PKG_CONFIG) --libs jansson 2>/dev/null || echo -ljansson)
EXPAT_CFLAGS    ?= $(shell $(PKG_CONFIG) --cflags expat 2>/dev/null)
EXPAT_LIBS      ?= $(shell $(PKG_CONFIG) --libs expat 2>/dev/null || echo -lexpat)
MHD_CFLAGS      ?= $(shell $(PKG_CONFIG) --cflags libmicrohttpd 2>/dev/null)
MHD_LIBS        ?= $(shell $(PKG_CONFIG) --libs libmicrohttpd 2>/dev/null || echo -lmicrohttpd)

CFLAGS          ?= -O2 -g
LDFLAGS         ?=
# What the code needs, whatever CFLAGS says.
GLS_CFLAGS      = -std=c11 -Wall -Wextra -Werror -fPIC -fvisibility=hidden \
                  -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
                  -I$(LUA_INCLUDE_DIR) -Isrc $(OPENSSL_CFLAGS) $(CURL_CFLAGS) $(JANSSON_CFLAGS) \
                  $(EXPAT_CFLAGS) $(MHD_CFLAGS)
DEP_LIBS        = $(CURL_LIBS) $(OPENSSL_LIBS) $(JANSSON_LIBS) $(EXPAT_LIBS) $(MHD_LIBS) -lm

UNAME_S := $(shell uname -s)
ifeq ($(UNAME_S),Darwin)
  MODULE_LDFLAGS = -bundle -undefined dynamic_lookup
  SHLIB_LDFLAGS = -dynamiclib
  SHLIB_EXT = dylib
else
  MODULE_LDFLAGS = -shared
  SHLIB_LDFLAGS = -shared
  SHLIB_EXT = so
endif

B          = build
# Three kinds of objects:
#   CORE   the C client, signer, server...: no Lua
#   LUA    src/lgls*.c, the Lua binding (luaopen_gameliftstreams_core)
#   EMBED  the Lua modules compiled in (build/gen/embedded.c), their
#          package.preload (src/embed.c) and the embedding API
#          (src/runtime_embed.c): a private lua_State running the runtime
# core.so is CORE + LUA; libgls and glsrun are all three, so a C host gets
# the runtime without LUA_PATH/LUA_CPATH (lua-cjson excepted: it is loaded
# from the system's Lua C path).
EMBED_SRC  = src/embed.c src/runtime_embed.c
CORE_SRC   = $(filter-out src/glsrun.c src/lgls%.c $(EMBED_SRC),$(wildcard src/*.c))
LUA_SRC    = $(wildcard src/lgls*.c)
CORE_OBJ   = $(CORE_SRC:src/%.c=$(B)/obj/%.o)
LUA_OBJ    = $(LUA_SRC:src/%.c=$(B)/obj/%.o)
EMBED_OBJ  = $(EMBED_SRC:src/%.c=$(B)/obj/%.o) $(B)/obj/embedded.o
LIB_OBJ    = $(CORE_OBJ) $(LUA_OBJ) $(EMBED_OBJ)
LUA_FILES  = $(wildcard lua/gameliftstreams/*.lua)

STATIC_LIB = $(B)/libgls.a
SHARED_LIB = $(B)/libgls.$(SHLIB_EXT)
LUA_MODULE = $(B)/gameliftstreams/core.so
GLSRUN     = $(B)/glsrun
PC_FILE    = $(B)/gls.pc

.PHONY: all check demo install clean deps
all: $(STATIC_LIB) $(SHARED_LIB) $(LUA_MODULE) $(GLSRUN) $(PC_FILE)

$(B)/obj/%.o: src/%.c $(wildcard src/*.h)
	@mkdir -p $(@D)
	$(CC) $(GLS_CFLAGS) $(CFLAGS) -c -o $@ $<

$(STATIC_LIB): $(LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $^

$(SHARED_LIB): $(LIB_OBJ)
	$(CC) $(SHLIB_LDFLAGS) $(LDFLAGS) -o $@ $^ $(LUA_LIB) $(DEP_LIBS)

$(LUA_MODULE): $(LUA_OBJ) $(CORE_OBJ)
	@mkdir -p $(@D)
	$(CC) $(MODULE_LDFLAGS) $(LDFLAGS) -o $@ $^ $(DEP_LIBS)

# libgls and glsrun carry lua/gameliftstreams/*.lua inside (tools/embed.lua
# writes them into a C table). embedded.list changes only when files come or go, so a
# removed module rebuilds too; an edited one is a plain prerequisite.
$(B)/gen/embedded.list: FORCE
	@mkdir -p $(@D)
	@echo '$(LUA_FILES)' | cmp -s - $@ || echo '$(LUA_FILES)' > $@

$(B)/gen/embedded.c: tools/embed.lua $(LUA_FILES) $(B)/gen/embedded.list
	$(LUA) tools/embed.lua $@ lua $(LUA_FILES)

$(B)/obj/embedded.o: $(B)/gen/embedded.c src/glsrun_embed.h
	@mkdir -p $(@D)
	$(CC) $(GLS_CFLAGS) $(CFLAGS) -c -o $@ $<

$(B)/obj/glsrun.o: src/glsrun_embed.h

$(GLSRUN): $(B)/obj/glsrun.o $(LIB_OBJ)
	$(CC) $(LDFLAGS) -Wl,-E -o $@ $^ $(LUA_LIB) $(DEP_LIBS) -ldl

FORCE:

# gls.pc bakes in PREFIX/LIBDIR/INCLUDEDIR: rebuild it when they change, so
# `make install PREFIX=...` after a plain `make` installs the right paths.
$(B)/gen/pc.vars: FORCE
	@mkdir -p $(@D)
	@echo '$(PREFIX) $(LIBDIR) $(INCLUDEDIR) $(PC_LUA) $(LUA_LIB) $(DEP_LIBS)' | cmp -s - $@ || \
	  echo '$(PREFIX) $(LIBDIR) $(INCLUDEDIR) $(PC_LUA) $(LUA_LIB) $(DEP_LIBS)' > $@

$(PC_FILE): Makefile $(B)/gen/pc.vars
	@mkdir -p $(@D)
	printf 'prefix=%s\nlibdir=%s\nincludedir=%s\n\nName: gls\nDescription: Amazon GameLift Streams client that keeps players connected\nVersion: 0.1.0\nRequires.private: $(PC_LUA) libcurl openssl jansson expat libmicrohttpd\nCflags: -I$${includedir}/gls\nLibs: -L$${libdir} -lgls\nLibs.private: $(LUA_LIB) $(DEP_LIBS)\n' \
	  '$(PREFIX)' '$(LIBDIR)' '$(INCLUDEDIR)' > $@

# Debian packages the project needs; installed only when run as root and
# something is missing.
DEBIAN_PKGS = build-essential pkg-config liblua5.4-dev lua5.4 libcurl4-openssl-dev \
              libssl-dev libjansson-dev libexpat1-dev libmicrohttpd-dev lua-cjson lua-busted lua-check luarocks \
              valgrind cppcheck curl lua-cqueues lua-luv awscli wrk faketime lua-yaml tmux man-db groff-base \
              clang libclang-rt-14-dev
deps:
	@sh tools/deps.sh $(DEBIAN_PKGS)

check: deps all
	@sh tools/check.sh

demo: deps all
	@sh tools/demo.sh

install: all
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR)/gls $(DESTDIR)$(LIBDIR)/pkgconfig \
	  $(DESTDIR)$(LUA_CMODULE_DIR)/gameliftstreams $(DESTDIR)$(LUA_MODULE_DIR)/gameliftstreams \
	  $(DESTDIR)$(LUA_BIN_DIR) $(DESTDIR)$(MANDIR)/man1
	install -m 644 $(STATIC_LIB) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(SHARED_LIB) $(DESTDIR)$(LIBDIR)/
	install -m 644 src/gls.h $(DESTDIR)$(INCLUDEDIR)/gls/gls.h
	install -m 644 $(PC_FILE) $(DESTDIR)$(LIBDIR)/pkgconfig/gls.pc
	install -m 755 $(LUA_MODULE) $(DESTDIR)$(LUA_CMODULE_DIR)/gameliftstreams/core.so
	$(if $(LUA_FILES),install -m 644 $(LUA_FILES) $(DESTDIR)$(LUA_MODULE_DIR)/gameliftstreams/)
	install -m 755 $(GLSRUN) $(DESTDIR)$(LUA_BIN_DIR)/glsrun
	install -m 644 doc/glsrun.1 $(DESTDIR)$(MANDIR)/man1/glsrun.1

clean:
	rm -rf $(B)

# libFuzzer targets: make fuzz-build, make fuzz FUZZ_SECONDS=N
# fuzz/ is absent from a luarocks build copy: include it only when there.
-include fuzz/fuzz.mk
