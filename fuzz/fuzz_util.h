/* fuzz_util.h - splitting a fuzzer input into fields, for the C targets.
 *
 * An input is a sequence of fields separated by NUL bytes; the last field
 * runs to the end. Every field is copied into its own malloc'd,
 * NUL-terminated block, so ASan sees a read past a field's end. A missing
 * field (the input ran out) is "" with length 0. fz_free releases every
 * block a reader handed out. */
#ifndef GLS_FUZZ_UTIL_H
#define GLS_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FZ_MAX_FIELDS 256

typedef struct fz {
  const uint8_t *p;
  size_t n;
  char *owned[FZ_MAX_FIELDS];
  size_t nowned;
} fz;

static inline void fz_init(fz *r, const uint8_t *data, size_t size) {
  memset(r, 0, sizeof *r);
  r->p = data;
  r->n = size;
}

static inline int fz_empty(const fz *r) { return r->n == 0; }

/* Copies n bytes into a fresh block the reader owns. A target takes at
 * most FZ_MAX_FIELDS fields (each bounds its loops). */
static inline char *fz_keep(fz *r, const uint8_t *s, size_t n) {
  char *b = r->nowned < FZ_MAX_FIELDS ? malloc(n + 1) : NULL;
  if (!b) abort();
  if (n) memcpy(b, s, n);
  b[n] = '\0';
  r->owned[r->nowned++] = b;
  return b;
}

/* The next field (up to a NUL byte or the end); its length in *len. */
static inline char *fz_field(fz *r, size_t *len) {
  const uint8_t *z = r->n ? memchr(r->p, 0, r->n) : NULL;
  size_t k = z ? (size_t)(z - r->p) : r->n;
  char *b = fz_keep(r, r->p, k);
  r->p += k + (z ? 1 : 0);
  r->n -= k + (z ? 1 : 0);
  if (len) *len = k;
  return b;
}

/* Everything left, NULs included. */
static inline char *fz_rest(fz *r, size_t *len) {
  char *b = fz_keep(r, r->p, r->n);
  if (len) *len = r->n;
  r->p += r->n;
  r->n = 0;
  return b;
}

/* One byte (0 when the input ran out). */
static inline unsigned fz_byte(fz *r) {
  if (!r->n) return 0;
  unsigned b = r->p[0];
  r->p++;
  r->n--;
  return b;
}

static inline void fz_free(fz *r) {
  for (size_t i = 0; i < r->nowned; i++) free(r->owned[i]);
  r->nowned = 0;
}

/* A property the target checks does not hold: a finding. */
#define FZ_ASSERT(cond, ...)                                            \
  do {                                                                  \
    if (!(cond)) {                                                      \
      fprintf(stderr, "fuzz property failed at %s:%d: %s\n", __FILE__,  \
              __LINE__, #cond);                                         \
      fprintf(stderr, __VA_ARGS__);                                     \
      fputc('\n', stderr);                                              \
      abort();                                                          \
    }                                                                   \
  } while (0)

#endif
