# fuzz/fuzz.mk - libFuzzer targets (included by the Makefile). See fuzz/README.md.
#
#   make fuzz-build              build every target into build/fuzz/
#   make fuzz FUZZ_SECONDS=N     build, then run each target N seconds on a
#                                fresh copy of its seed corpus (tools/fuzz.sh)
#
# C targets: fuzz/NAME.c -> build/fuzz/NAME. Lua targets: fuzz/targets/NAME.lua
# -> build/fuzz/NAME, each the one generic harness fuzz/lua_target.c bound to
# its file (names are shared: no C and Lua target of the same name). The library is compiled again here with clang and
# -fsanitize=fuzzer-no-link,address,undefined (coverage for libFuzzer).

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 10
FUZZ_B        = $(B)/fuzz
FUZZ_SAN      = -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS   = -g -O1 -fno-omit-frame-pointer $(FUZZ_SAN)

FUZZ_C_NAMES   = $(patsubst fuzz/%.c,%,$(filter-out fuzz/lua_target.c,$(wildcard fuzz/*.c)))
FUZZ_LUA_NAMES = $(patsubst fuzz/targets/%.lua,%,$(wildcard fuzz/targets/*.lua))
FUZZ_BINS      = $(FUZZ_C_NAMES:%=$(FUZZ_B)/%) $(FUZZ_LUA_NAMES:%=$(FUZZ_B)/%)
FUZZ_LIB_OBJ   = $(patsubst src/%.c,$(FUZZ_B)/obj/%.o,$(CORE_SRC) $(LUA_SRC) $(EMBED_SRC)) \
                 $(FUZZ_B)/obj/embedded.o

.PHONY: fuzz fuzz-build
.SECONDARY: $(FUZZ_LIB_OBJ)
fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	@nice -n 10 sh tools/fuzz.sh $(FUZZ_SECONDS)

$(FUZZ_B)/obj/%.o: src/%.c $(wildcard src/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(GLS_CFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_B)/obj/embedded.o: $(B)/gen/embedded.c src/glsrun_embed.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(GLS_CFLAGS) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_B)/%: fuzz/%.c fuzz/fuzz_util.h $(FUZZ_LIB_OBJ)
	$(FUZZ_CC) $(GLS_CFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB_OBJ) \
	  $(LUA_LIB) $(DEP_LIBS) -ldl

# One binary per Lua target: the harness with its file's path built in
# (GLS_FUZZ_LUA in the environment overrides it).
$(FUZZ_B)/%: fuzz/lua_target.c fuzz/targets/%.lua fuzz/fuzz_util.h $(FUZZ_LIB_OBJ)
	$(FUZZ_CC) $(GLS_CFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer \
	  -DGLS_FUZZ_LUA_FILE='"$(CURDIR)/fuzz/targets/$*.lua"' -Wl,-E -o $@ $< $(FUZZ_LIB_OBJ) \
	  $(LUA_LIB) $(DEP_LIBS) -ldl
