/* asan_preload.c - LD_PRELOADed (with the ASan and UBSan runtimes) into the
 * plain lua5.4 that specs start during make check's ASan run (tools/check.sh,
 * block 4b), where that lua5.4 loads the ASan-built core.so. Test harness
 * only; never installed.
 *
 * dlclose() does nothing: lua5.4 dlcloses every C module at exit
 * (lua_close), and with it the libraries the module pulled in (libcurl,
 * OpenSSL, libuv...). Their global pointers are unmapped with them, so
 * LeakSanitizer, which runs after, reports what those globals still held as
 * leaks it can neither name nor attribute ("<unknown module>"). Kept mapped,
 * the globals are seen and only real leaks remain, with symbolised stacks.
 *
 * LD_PRELOAD leaves the environment once the loader has used it: the
 * programs this lua5.4 starts (sh, curl, python3...) are not instrumented and
 * must not get the ASan runtime (LeakSanitizer would judge them at exit).
 */
#include <dlfcn.h>
#include <stdlib.h>

int dlclose(void *handle) {
  (void)handle;
  return 0;
}

__attribute__((constructor)) static void forget_preload(void) { unsetenv("LD_PRELOAD"); }
