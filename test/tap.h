/* tap.h - a tiny TAP producer for the C tests: ok(cond, "what"), skip(),
 * done_testing(). Each test program prints "ok N - ..." / "not ok N - ..."
 * lines and exits non-zero if any failed. */
#ifndef GLS_TAP_H
#define GLS_TAP_H
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

static int tap_ok(int cond, const char *file, int line, const char *fmt, ...) {
  va_list ap;
  char desc[2048];
  va_start(ap, fmt);
  vsnprintf(desc, sizeof desc, fmt, ap);
  va_end(ap);
  for (char *p = desc; *p; p++)
    if (*p == '\n') *p = '|'; /* one TAP line per test */
  printf("%sok %d - %s\n", cond ? "" : "not ", ++tap_n, desc);
  if (!cond) {
    printf("#   failed at %s:%d\n", file, line);
    tap_failed++;
  }
  fflush(stdout);
  return cond;
}
#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_str(got, want, ...)                                                          \
  do {                                                                                  \
    const char *g_ = (got), *w_ = (want);                                               \
    if (!ok(g_ && w_ && !strcmp(g_, w_), __VA_ARGS__))                                  \
      printf("#   got:  %s\n#   want: %s\n", g_ ? g_ : "(null)", w_ ? w_ : "(null)");   \
  } while (0)
#define skip(why, ...)                                                                  \
  do {                                                                                  \
    printf("ok %d - ", ++tap_n);                                                        \
    printf(__VA_ARGS__);                                                                \
    printf(" # SKIP %s\n", why);                                                        \
  } while (0)
static int done_testing(void) {
  printf("1..%d\n", tap_n);
  return tap_failed ? 1 : 0;
}
#endif
