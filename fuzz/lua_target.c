/* fuzz/lua_target.c - one libFuzzer harness for every Lua target.
 *
 * A target is a file fuzz/targets/NAME.lua returning function(data): it
 * gets each input as a Lua string. The harness makes one Lua state with the
 * standard libraries and gls preloaded (every lua/gameliftstreams
 * module embedded at build time, and gameliftstreams.core, as glsrun and
 * libgls have them; lua-cjson comes from the system's Lua C path), loads the
 * file once (the make rule builds its path in as GLS_FUZZ_LUA_FILE;
 * GLS_FUZZ_LUA in the environment overrides it) and calls the function
 * per input.
 *
 * What is a finding (the harness aborts, libFuzzer saves the input):
 *   - anything the sanitizers see (C under Lua: the binding, the core);
 *   - the function raising a table with a field `bug` (a property the target
 *     checks does not hold): its text is printed;
 *   - an input running more than BUDGET Lua instructions (a hang, or work
 *     out of all proportion to the input): the hook then fires on every
 *     instruction, so no pcall inside the target can swallow it;
 *   - the state's memory passing MEM_LIMIT (Lua reports LUA_ERRMEM).
 * Any other error is expected (bad input refused by raising is fine) and
 * ignored.
 *
 * Coverage: the Debian Lua VM is not instrumented, so libFuzzer would see
 * next to nothing of the Lua code. A line hook feeds it instead: each pair
 * (previous line, this line) of Lua source, hashed AFL-style, bumps one of
 * libFuzzer's extra counters (the __libfuzzer_extra_counters section), so an
 * input that reaches new Lua lines or line-to-line edges is kept. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#include "lgls.h"

#ifndef GLS_FUZZ_LUA_FILE
#define GLS_FUZZ_LUA_FILE "fuzz/targets/NAME.lua"
#endif

#define BUDGET 20000000          /* instructions per input */
#define HOOK_EVERY 10000
#define MEM_LIMIT ((size_t)512 << 20)

typedef struct harness {
  lua_State *L;
  int fn_ref;
  long count;                    /* instructions counted this input */
  int over;                      /* budget spent: kill */
  size_t mem, mem_peak;
  int mem_failed;
} harness;

static harness H;

#define NCOUNTERS (1 << 16)
__attribute__((section("__libfuzzer_extra_counters"), used))
static uint8_t lua_counters[NCOUNTERS];
static uint32_t prev_loc;

static void *l_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  harness *h = ud;
  if (!ptr) osize = 0;
  if (nsize == 0) {
    free(ptr);
    h->mem -= osize;
    return NULL;
  }
  if (nsize > osize && h->mem + (nsize - osize) > MEM_LIMIT) {
    h->mem_failed = 1;
    return NULL;
  }
  void *p = realloc(ptr, nsize);
  if (p) {
    h->mem = h->mem - osize + nsize;
    if (h->mem > h->mem_peak) h->mem_peak = h->mem;
  }
  return p;
}

static void hook(lua_State *L, lua_Debug *ar) {
  if (ar->event == LUA_HOOKLINE) {
    if (!lua_getinfo(L, "S", ar)) return;
    uint32_t loc = (uint32_t)(((uintptr_t)ar->source >> 4) * 2654435761u) ^
                   (uint32_t)ar->currentline * 0x9E3779B1u;
    loc &= NCOUNTERS - 1;
    uint8_t *c = &lua_counters[(loc ^ prev_loc) & (NCOUNTERS - 1)];
    if (*c != 255) (*c)++;
    prev_loc = loc >> 1;
    return;
  }
  H.count += HOOK_EVERY;
  if (H.over || H.count > BUDGET) {
    if (!H.over) {
      H.over = 1;
      lua_sethook(L, hook, LUA_MASKCOUNT | LUA_MASKLINE, 1); /* from now on, every instruction */
    }
    luaL_error(L, "fuzz: instruction budget (%d) spent", BUDGET);
  }
}

static int msgh(lua_State *L) {
  const char *m = lua_tostring(L, 1);
  if (m) {
    luaL_traceback(L, L, m, 1);
    return 1;
  }
  return 1; /* tables (the {bug=} ones) as they are */
}

static int setup(lua_State *L) {
  const char *file = getenv("GLS_FUZZ_LUA");
  if (!file || !*file) file = GLS_FUZZ_LUA_FILE;
  luaL_openlibs(L);
  gls_l_preload(L);
  if (luaL_loadfilex(L, file, "t") != LUA_OK) return lua_error(L);
  lua_call(L, 0, 1);
  if (!lua_isfunction(L, -1)) return luaL_error(L, "%s does not return a function", file);
  return 1;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  H.L = lua_newstate(l_alloc, &H);
  if (!H.L) abort();
  lua_pushcfunction(H.L, msgh);
  lua_pushcfunction(H.L, setup);
  if (lua_pcall(H.L, 0, 1, 1) != LUA_OK) {
    fprintf(stderr, "fuzz: cannot load the target: %s\n", lua_tostring(H.L, -1));
    exit(2);
  }
  H.fn_ref = luaL_ref(H.L, LUA_REGISTRYINDEX);
  lua_settop(H.L, 0);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lua_State *L = H.L;
  H.count = 0;
  H.over = 0;
  H.mem_failed = 0;
  prev_loc = 0;
  lua_sethook(L, hook, LUA_MASKCOUNT | LUA_MASKLINE, HOOK_EVERY);
  lua_pushcfunction(L, msgh);
  lua_rawgeti(L, LUA_REGISTRYINDEX, H.fn_ref);
  lua_pushlstring(L, (const char *)data, size);
  int st = lua_pcall(L, 1, 0, 1);
  lua_sethook(L, NULL, 0, 0);
  if (H.over) {
    fprintf(stderr, "fuzz: finding: the input ran past %d Lua instructions\n", BUDGET);
    abort();
  }
  if (st == LUA_ERRMEM || H.mem_failed) {
    fprintf(stderr, "fuzz: finding: the Lua state ran out of its %zu MiB\n", MEM_LIMIT >> 20);
    abort();
  }
  if (st != LUA_OK && lua_istable(L, -1)) {
    lua_getfield(L, -1, "bug");
    if (!lua_isnil(L, -1)) {
      fprintf(stderr, "fuzz: finding: bug: %s\n", luaL_tolstring(L, -1, NULL));
      abort();
    }
  }
  lua_settop(L, 0);
  /* a step of GC per input keeps memory proportional to what is live */
  lua_gc(L, LUA_GCSTEP, 0);
  return 0;
}
