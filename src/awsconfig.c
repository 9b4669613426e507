/* awsconfig.c - the AWS shared config and credentials files, parsed the way
 * botocore 1.43 does it: configparser.RawConfigParser (Python 3.11 defaults:
 * strict, '=' and ':' delimiters, '#'/';' full-line comments, lower-cased
 * option names, a [DEFAULT] section inherited by every other section,
 * indented continuation lines) under botocore.configloader (nested
 * "key =" blocks, "[profile NAME]" names split the way shlex.split does,
 * [default], [services NAME], [sso-session NAME]) and Session.full_config
 * (credentials-file sections merged key by key on top of the profiles).
 *
 * Values may be secrets: they never appear in error messages and are wiped
 * when freed. */
#include "awsconfig.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/crypto.h>

/* ---------------------------------------------------------------- model */

typedef struct cfg_sub {
  char *key, *value;
} cfg_sub;

/* One option of a section: a plain value, or (value == NULL) a sub-section. */
typedef struct cfg_item {
  char *key;
  char *value;
  cfg_sub *sub;
  size_t nsub;
} cfg_item;

typedef struct cfg_dict {
  cfg_item *items;
  size_t n, cap;
} cfg_dict;

typedef struct cfg_named {
  char *name;
  cfg_dict dict;
} cfg_named;

typedef struct cfg_list {
  cfg_named *v;
  size_t n, cap;
} cfg_list;

struct gls_awsconfig {
  cfg_list profiles, services, sso_sessions;
};

static void wipe_str(char *s) {
  if (s) {
    OPENSSL_cleanse(s, strlen(s));
    free(s);
  }
}

static void item_free(cfg_item *it) {
  free(it->key);
  wipe_str(it->value);
  for (size_t i = 0; i < it->nsub; i++) {
    free(it->sub[i].key);
    wipe_str(it->sub[i].value);
  }
  free(it->sub);
  memset(it, 0, sizeof *it);
}

static void dict_free(cfg_dict *d) {
  for (size_t i = 0; i < d->n; i++) item_free(&d->items[i]);
  free(d->items);
  memset(d, 0, sizeof *d);
}

static void list_free(cfg_list *l) {
  for (size_t i = 0; i < l->n; i++) {
    free(l->v[i].name);
    dict_free(&l->v[i].dict);
  }
  free(l->v);
  memset(l, 0, sizeof *l);
}

static cfg_item *dict_find(const cfg_dict *d, const char *key) {
  for (size_t i = 0; i < d->n; i++)
    if (!strcmp(d->items[i].key, key)) return &d->items[i];
  return NULL;
}

/* Moves *it into d (dict assignment: replaces an existing key). */
static int dict_put(cfg_dict *d, cfg_item *it) {
  cfg_item *old = dict_find(d, it->key);
  if (old) {
    item_free(old);
    *old = *it;
  } else {
    if (d->n == d->cap) {
      size_t cap = d->cap ? d->cap * 2 : 8;
      cfg_item *p = realloc(d->items, cap * sizeof *p);
      if (!p) return -1;
      d->items = p;
      d->cap = cap;
    }
    d->items[d->n++] = *it;
  }
  memset(it, 0, sizeof *it);
  return 0;
}

static cfg_named *list_find(const cfg_list *l, const char *name) {
  for (size_t i = 0; i < l->n; i++)
    if (!strcmp(l->v[i].name, name)) return &l->v[i];
  return NULL;
}

/* Moves *d into l under name (replacing a whole earlier entry, as
 * dict.update does in build_profile_map). name is taken over. */
static int list_put(cfg_list *l, char *name, cfg_dict *d) {
  cfg_named *old = list_find(l, name);
  if (old) {
    free(name);
    dict_free(&old->dict);
    old->dict = *d;
  } else {
    if (l->n == l->cap) {
      size_t cap = l->cap ? l->cap * 2 : 8;
      cfg_named *p = realloc(l->v, cap * sizeof *p);
      if (!p) {
        free(name);
        dict_free(d);
        return -1;
      }
      l->v = p;
      l->cap = cap;
    }
    l->v[l->n].name = name;
    l->v[l->n].dict = *d;
    l->n++;
  }
  memset(d, 0, sizeof *d);
  return 0;
}

/* ---------------------------------------------------------------- text */

/* Python's str.isspace() set, UTF-8 encoded: the byte length of the white
 * space character at p (before end), or 0. */
static size_t space_len(const char *p, const char *end) {
  const unsigned char *u = (const unsigned char *)p;
  size_t left = (size_t)(end - p);
  if (!left) return 0;
  if ((u[0] >= 0x09 && u[0] <= 0x0d) || (u[0] >= 0x1c && u[0] <= 0x20)) return 1;
  if (left >= 2 && u[0] == 0xc2 && (u[1] == 0x85 || u[1] == 0xa0)) return 2;
  if (left < 3) return 0;
  if (u[0] == 0xe1 && u[1] == 0x9a && u[2] == 0x80) return 3;                 /* U+1680 */
  if (u[0] == 0xe2 && u[1] == 0x80 &&
      ((u[2] >= 0x80 && u[2] <= 0x8a) || u[2] == 0xa8 || u[2] == 0xa9 || u[2] == 0xaf))
    return 3;                                                                 /* U+2000.. */
  if (u[0] == 0xe2 && u[1] == 0x81 && u[2] == 0x9f) return 3;                 /* U+205F */
  if (u[0] == 0xe3 && u[1] == 0x80 && u[2] == 0x80) return 3;                 /* U+3000 */
  return 0;
}

/* The byte length of the UTF-8 character at p (valid text assumed). */
static size_t char_len(const char *p) {
  unsigned char c = (unsigned char)*p;
  return c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
}

/* str.strip() on [*b, *e). */
static void strip(const char **b, const char **e) {
  size_t n;
  while (*b < *e && (n = space_len(*b, *e))) *b += n;
  const char *last = *b;
  for (const char *p = *b; p < *e; p += char_len(p))
    if (!space_len(p, *e)) last = p + char_len(p);
  *e = last;
}

/* str.splitlines() boundaries: the byte length of the line break at p, or 0. */
static size_t linebreak_len(const char *p, const char *end) {
  const unsigned char *u = (const unsigned char *)p;
  size_t left = (size_t)(end - p);
  if (u[0] == '\r') return left >= 2 && u[1] == '\n' ? 2 : 1;
  if (u[0] == '\n' || u[0] == 0x0b || u[0] == 0x0c || (u[0] >= 0x1c && u[0] <= 0x1e)) return 1;
  if (left >= 2 && u[0] == 0xc2 && u[1] == 0x85) return 2;
  if (left >= 3 && u[0] == 0xe2 && u[1] == 0x80 && (u[2] == 0xa8 || u[2] == 0xa9)) return 3;
  return 0;
}

/* Strict UTF-8 (as Python's decoder: no overlongs, surrogates or values
 * past U+10FFFF). Returns the offset of the first bad byte, or len. */
static size_t utf8_check(const unsigned char *s, size_t len) {
  size_t i = 0;
  while (i < len) {
    unsigned char c = s[i];
    size_t n;
    unsigned lo = 0x80, hi = 0xbf;
    if (c < 0x80) { i++; continue; }
    if (c >= 0xc2 && c <= 0xdf) n = 1;
    else if (c == 0xe0) { n = 2; lo = 0xa0; }
    else if (c == 0xed) { n = 2; hi = 0x9f; }
    else if (c >= 0xe1 && c <= 0xef) n = 2;
    else if (c == 0xf0) { n = 3; lo = 0x90; }
    else if (c == 0xf4) { n = 3; hi = 0x8f; }
    else if (c >= 0xf1 && c <= 0xf3) n = 3;
    else return i;
    if (i + n >= len) return i; /* cut short */
    if (s[i + 1] < lo || s[i + 1] > hi) return i;
    for (size_t k = 2; k <= n; k++)
      if (s[i + k] < 0x80 || s[i + k] > 0xbf) return i;
    i += n + 1;
  }
  return len;
}

static char *dup_range(const char *b, const char *e) {
  size_t n = (size_t)(e - b);
  char *s = malloc(n + 1);
  if (s) {
    memcpy(s, b, n);
    s[n] = '\0';
  }
  return s;
}

/* shlex.split(s) (POSIX mode, no comments): whether it gives exactly two
 * words; the second goes to *second (malloc'd). 0 = no (or a quoting error,
 * which _parse_section treats the same), 1 = yes, -1 = ENOMEM. */
static int shlex_second_word(const char *s, char **second) {
  gls_buf tok = {0};
  int words = 0, quoted = 0, rc = 0, ended = 0;
  char state = ' ', esc_from = 'a';
  *second = NULL;
  for (const char *p = s;; p++) {
    char c = *p;
    int eof = c == '\0', ws = c == ' ' || c == '\t' || c == '\r' || c == '\n';
    int emit = 0;
    if (state == ' ') {
      if (eof) break;
      if (ws) continue;
      if (c == '\\') { esc_from = 'a'; state = '\\'; }
      else if (c == '\'' || c == '"') state = c;
      else { if (gls_buf_addc(&tok, c)) goto nomem; state = 'a'; }
    } else if (state == '\'' || state == '"') {
      quoted = 1;
      if (eof) goto bad; /* No closing quotation */
      if (c == state) state = 'a';
      else if (state == '"' && c == '\\') { esc_from = '"'; state = '\\'; }
      else if (gls_buf_addc(&tok, c)) goto nomem;
    } else if (state == '\\') {
      if (eof) goto bad; /* No escaped character */
      if (esc_from != 'a' && c != '\\' && c != esc_from && gls_buf_addc(&tok, '\\')) goto nomem;
      if (gls_buf_addc(&tok, c)) goto nomem;
      state = esc_from;
    } else { /* 'a': inside a word */
      if (eof) { emit = 1; ended = 1; }
      else if (ws) { emit = 1; state = ' '; }
      else if (c == '\'' || c == '"') state = c;
      else if (c == '\\') { esc_from = 'a'; state = '\\'; }
      else if (gls_buf_addc(&tok, c)) goto nomem;
    }
    if (emit && (tok.len || quoted)) {
      if (++words == 2) {
        *second = dup_range(tok.len ? tok.data : "", tok.len ? tok.data + tok.len : "");
        if (!*second) goto nomem;
      }
      gls_buf_reset(&tok);
      quoted = 0;
    }
    if (ended) break;
  }
  rc = words == 2;
  goto out;
bad:
  rc = 0;
  goto out;
nomem:
  rc = -1;
out:
  gls_buf_free(&tok);
  if (rc != 1) {
    free(*second);
    *second = NULL;
  }
  return rc;
}

/* ---------------------------------------------------------------- reading */

/* One option as RawConfigParser collects it: the lines of its value, joined
 * with '\n' (and right-stripped when the file ends). */
typedef struct raw_opt {
  char *key;
  gls_buf val;
  long line;
} raw_opt;

typedef struct raw_sect {
  char *name;
  raw_opt *opts;
  size_t n, cap;
} raw_sect;

typedef struct raw_file {
  const char *path;
  raw_sect *s;
  size_t n, cap;
  raw_sect defaults; /* [DEFAULT] */
  gls_buf *err;
} raw_file;

static void raw_sect_free(raw_sect *s) {
  free(s->name);
  for (size_t i = 0; i < s->n; i++) {
    free(s->opts[i].key);
    gls_buf_wipe_free(&s->opts[i].val);
  }
  free(s->opts);
  memset(s, 0, sizeof *s);
}

static void raw_file_free(raw_file *f) {
  for (size_t i = 0; i < f->n; i++) raw_sect_free(&f->s[i]);
  free(f->s);
  raw_sect_free(&f->defaults);
}

static int fail(raw_file *f, long line, const char *fmt, const char *arg) {
  if (line > 0) gls_buf_printf(f->err, "%s: line %ld: ", f->path, line);
  else gls_buf_printf(f->err, "%s: ", f->path);
  gls_buf_printf(f->err, fmt, arg ? arg : "");
  if (!f->err->len) gls_buf_adds(f->err, "?"); /* even when printf ran out of memory */
  return -1;
}

static int nomem(raw_file *f) { return fail(f, 0, "out of memory%s", NULL); }

/* configparser's _read over the whole text. 0 ok, -1 error (message set). */
static int parse_text(raw_file *f, const char *text, size_t len) {
  raw_sect *cur = NULL;
  raw_opt *opt = NULL;      /* optname: the option continuation lines extend */
  size_t indent_level = 0;
  long line = 0, first_error = 0;
  const char *p = text, *end = text + len;
  while (p < end) {
    /* Python's universal newlines: \n, \r\n or \r ends a line. */
    const char *lb = p, *le;
    while (lb < end && *lb != '\n' && *lb != '\r') lb++;
    le = lb;
    if (lb < end) lb += (*lb == '\r' && lb + 1 < end && lb[1] == '\n') ? 2 : 1;
    line++;
    const char *b = p, *e = le;
    const char *line_start = p;
    p = lb;
    strip(&b, &e);
    if (b < e && (*b == '#' || *b == ';')) continue; /* a comment line, even inside a value */
    if (b == e) {                                     /* empty: part of a value */
      if (cur && opt && gls_buf_addc(&opt->val, '\n')) return nomem(f);
      continue;
    }
    size_t indent = 0;
    for (const char *q = line_start; q < b; q += char_len(q)) indent++;
    if (cur && opt && indent > indent_level) { /* a continuation line */
      if (gls_buf_addc(&opt->val, '\n') || gls_buf_add(&opt->val, b, (size_t)(e - b)))
        return nomem(f);
      continue;
    }
    indent_level = indent;
    const char *close = NULL;
    if (*b == '[')
      for (const char *q = e - 1; q > b + 1; q--)
        if (*q == ']') { close = q; break; }
    if (close) { /* [header]: whatever follows the last ']' is ignored */
      char *name = dup_range(b + 1, close);
      if (!name) return nomem(f);
      opt = NULL;
      if (!strcmp(name, "DEFAULT")) {
        free(name);
        cur = &f->defaults;
        continue;
      }
      for (size_t i = 0; i < f->n; i++)
        if (!strcmp(f->s[i].name, name)) {
          fail(f, line, "section [%s] appears twice", name);
          free(name);
          return -1;
        }
      if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 8;
        raw_sect *ns = realloc(f->s, cap * sizeof *ns);
        if (!ns) {
          free(name);
          return nomem(f);
        }
        f->s = ns;
        f->cap = cap;
      }
      cur = &f->s[f->n++];
      memset(cur, 0, sizeof *cur);
      cur->name = name;
      continue;
    }
    if (!cur) return fail(f, line, "a line before the first [section] header%s", NULL);
    const char *d = b;
    while (d < e && *d != '=' && *d != ':') d++;
    if (d == e) { /* neither header, option nor continuation */
      if (!first_error) first_error = line;
      continue;
    }
    const char *kb = b, *ke = d, *vb = d + 1, *ve = e;
    strip(&kb, &ke);
    strip(&vb, &ve);
    int empty_name = kb == ke; /* an error, reported at the end */
    if (empty_name && !first_error) first_error = line;
    char *key = dup_range(kb, ke);
    if (!key) return nomem(f);
    for (char *k = key; *k; k++)
      if (*k >= 'A' && *k <= 'Z') *k = (char)(*k - 'A' + 'a');
    for (size_t i = 0; i < cur->n; i++)
      if (!strcmp(cur->opts[i].key, key)) {
        fail(f, line, "option '%s' appears twice in one section", key);
        free(key);
        return -1;
      }
    if (cur->n == cur->cap) {
      size_t cap = cur->cap ? cur->cap * 2 : 8;
      raw_opt *no = realloc(cur->opts, cap * sizeof *no);
      if (!no) {
        free(key);
        return nomem(f);
      }
      cur->opts = no;
      cur->cap = cap;
    }
    opt = &cur->opts[cur->n++];
    memset(opt, 0, sizeof *opt);
    opt->key = key;
    opt->line = line;
    if (gls_buf_add(&opt->val, vb, (size_t)(ve - vb))) return nomem(f);
    if (empty_name) opt = NULL; /* configparser: a falsy optname takes no continuations */
  }
  if (first_error)
    return fail(f, first_error, "not a [section] header, 'key = value' or continuation line%s",
                NULL);
  return 0;
}

/* One option's final value into a dict item: plain, or a sub-section when
 * the joined value starts with a newline (configloader._parse_nested). */
static int make_item(raw_file *f, const raw_opt *o, cfg_item *it) {
  const char *b = o->val.data ? o->val.data : "", *e = b + o->val.len;
  const char *sb = b, *se = e;
  strip(&sb, &se);
  e = sb == se ? b : se; /* '\n'.join(lines).rstrip() */
  memset(it, 0, sizeof *it);
  if (!(it->key = strdup(o->key))) return nomem(f);
  if (e == b || *b != '\n') {
    if (!(it->value = dup_range(b, e))) return nomem(f);
    return 0;
  }
  for (const char *p = b; p < e;) {
    const char *lb = p;
    size_t n = 0;
    while (lb < e && !(n = linebreak_len(lb, e))) lb += char_len(lb);
    const char *lineb = p, *linee = lb;
    p = lb + n;
    strip(&lineb, &linee);
    if (lineb == linee) continue;
    const char *eq = memchr(lineb, '=', (size_t)(linee - lineb));
    if (!eq) return fail(f, o->line, "a line of sub-section '%s' has no '='", o->key);
    const char *kb = lineb, *ke = eq, *vb = eq + 1, *ve = linee;
    strip(&kb, &ke);
    strip(&vb, &ve);
    char *key = dup_range(kb, ke), *val = dup_range(vb, ve);
    if (!key || !val) {
      free(key);
      free(val);
      return nomem(f);
    }
    size_t i;
    for (i = 0; i < it->nsub && strcmp(it->sub[i].key, key); i++) {}
    if (i < it->nsub) { /* a repeated key: the later one wins */
      free(key);
      wipe_str(it->sub[i].value);
      it->sub[i].value = val;
      continue;
    }
    cfg_sub *ns = realloc(it->sub, (it->nsub + 1) * sizeof *ns);
    if (!ns) {
      free(key);
      free(val);
      return nomem(f);
    }
    it->sub = ns;
    it->sub[it->nsub].key = key;
    it->sub[it->nsub].value = val;
    it->nsub++;
  }
  return 0;
}

/* A section as raw_config_parse returns it: its own options, then the
 * [DEFAULT] ones it does not override. */
static int make_dict(raw_file *f, const raw_sect *s, cfg_dict *d) {
  memset(d, 0, sizeof *d);
  for (int pass = 0; pass < 2; pass++) {
    const raw_sect *from = pass ? &f->defaults : s;
    for (size_t i = 0; i < from->n; i++) {
      cfg_item it;
      if (pass && dict_find(d, from->opts[i].key)) continue;
      if (make_item(f, &from->opts[i], &it) || dict_put(d, &it)) {
        if (!f->err->len) nomem(f);
        item_free(&it);
        dict_free(d);
        return -1;
      }
    }
  }
  return 0;
}

/* Parses text (the whole file) into f: UTF-8 without NUL bytes (what
 * Python's reading of the file accepts), then configparser's rules. */
static int parse_checked(raw_file *f, const char *t, size_t len) {
  size_t bad = utf8_check((const unsigned char *)t, len);
  const char *nul = memchr(t, '\0', len);
  if (bad < len || nul) {
    size_t at = nul && (size_t)(nul - t) < bad ? (size_t)(nul - t) : bad;
    long line = 1;
    for (size_t i = 0; i < at; i++)
      if (t[i] == '\n' || (t[i] == '\r' && !(i + 1 < at && t[i + 1] == '\n'))) line++;
    return fail(f, line, "%s", at == bad ? "not UTF-8 text" : "a NUL byte");
  }
  return parse_text(f, t, len);
}

/* Reads path into a raw_file. A path that is not a regular file, or cannot
 * be opened, is an empty file (os.path.isfile / RawConfigParser.read). */
static int read_file(raw_file *f, const char *path) {
  struct stat st;
  if (!path || stat(path, &st) || !S_ISREG(st.st_mode)) return 0;
  FILE *fp = fopen(path, "rb");
  if (!fp) return 0;
  gls_buf text = {0};
  char chunk[4096];
  size_t n;
  int rc = 0;
  while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
    if (gls_buf_add(&text, chunk, n)) {
      rc = nomem(f);
      break;
    }
  if (!rc && ferror(fp)) rc = fail(f, 0, "cannot be read: %s", strerror(errno));
  fclose(fp);
  if (!rc) rc = parse_checked(f, text.data ? text.data : "", text.len);
  gls_buf_wipe_free(&text);
  return rc;
}

/* ---------------------------------------------------------------- loading */

/* Which list a config-file section goes to, and its name there
 * (configloader.build_profile_map). 0 = not a profile/services/sso-session
 * section, 1 = *out set, -1 = ENOMEM. */
static int classify(gls_awsconfig *c, const char *sect, cfg_list **out, char **name) {
  if (!strncmp(sect, "profile", 7)) *out = &c->profiles;
  else if (!strncmp(sect, "sso-session", 11)) *out = &c->sso_sessions;
  else if (!strncmp(sect, "services", 8)) *out = &c->services;
  else if (!strcmp(sect, "default")) {
    *out = &c->profiles;
    return (*name = strdup("default")) ? 1 : -1;
  } else {
    return 0;
  }
  return shlex_second_word(sect, name);
}

/* One file into c: read from path, or (text != NULL) its text, path then
 * only naming it in messages. */
static int load_one(gls_awsconfig *c, const char *path, const char *text, size_t len,
                    int is_credentials, gls_buf *err) {
  raw_file f = {.path = path, .err = err};
  int rc = text ? parse_checked(&f, text, len) : read_file(&f, path);
  for (size_t i = 0; !rc && i < f.n; i++) {
    cfg_dict d;
    if ((rc = make_dict(&f, &f.s[i], &d))) break;
    if (is_credentials) { /* Session.full_config: every section is a profile */
      cfg_named *p = list_find(&c->profiles, f.s[i].name);
      if (p) {
        for (size_t k = 0; !rc && k < d.n; k++) rc = dict_put(&p->dict, &d.items[k]);
        dict_free(&d);
      } else {
        char *name = strdup(f.s[i].name);
        rc = name ? list_put(&c->profiles, name, &d) : (dict_free(&d), -1);
      }
    } else {
      cfg_list *l = NULL;
      char *name = NULL;
      int k = classify(c, f.s[i].name, &l, &name);
      if (k == 1) rc = list_put(l, name, &d);
      else {
        dict_free(&d);
        rc = k;
      }
    }
    if (rc && !err->len) nomem(&f);
  }
  raw_file_free(&f);
  return rc;
}

/* Both files, from paths or texts (see load_one). */
static gls_awsconfig *load_both(const char *config_path, const char *config_text, size_t config_len,
                                const char *credentials_path, const char *credentials_text,
                                size_t credentials_len, gls_buf *err) {
  /* load_one and its helpers always leave a message when they fail. */
  gls_buf msg = {0};
  gls_awsconfig *c = calloc(1, sizeof *c);
  if (!c) {
    gls_buf_adds(&msg, "out of memory");
  } else if (load_one(c, config_path, config_text, config_len, 0, &msg) ||
             load_one(c, credentials_path, credentials_text, credentials_len, 1, &msg)) {
    gls_awsconfig_free(c);
    c = NULL;
  }
  if (!c && err && msg.len) gls_buf_add(err, msg.data, msg.len);
  gls_buf_free(&msg);
  return c;
}

gls_awsconfig *gls_awsconfig_load_files(const char *config_path, const char *credentials_path,
                                        gls_buf *err) {
  return load_both(config_path, NULL, 0, credentials_path, NULL, 0, err);
}

gls_awsconfig *gls_awsconfig_load_texts(const char *config_text, size_t config_len,
                                        const char *credentials_text, size_t credentials_len,
                                        gls_buf *err) {
  return load_both("config", config_text ? config_text : "", config_len, "credentials",
                   credentials_text ? credentials_text : "", credentials_len, err);
}

void gls_awsconfig_free(gls_awsconfig *c) {
  if (!c) return;
  list_free(&c->profiles);
  list_free(&c->services);
  list_free(&c->sso_sessions);
  free(c);
}

/* ---------------------------------------------------------------- paths */

static const char *env_get(gls_getenv_fn fn, void *ud, const char *name) {
  return fn ? fn(ud, name) : getenv(name);
}

/* posixpath.expandvars: $NAME (ASCII word characters) and ${NAME}; unset
 * variables stay as written. */
static int expand_vars(gls_buf *out, const char *s, gls_getenv_fn fn, void *ud) {
  for (const char *p = s; *p;) {
    if (*p == '$') {
      const char *nb = NULL, *ne = NULL, *after = NULL;
      if (p[1] == '{') {
        const char *close = strchr(p + 2, '}');
        if (close) { nb = p + 2; ne = close; after = close + 1; }
      } else {
        const char *q = p + 1;
        while ((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') ||
               *q == '_')
          q++;
        if (q > p + 1) { nb = p + 1; ne = q; after = q; }
      }
      if (after) {
        char *name = dup_range(nb, ne);
        if (!name) return -1;
        const char *v = nb < ne ? env_get(fn, ud, name) : NULL;
        free(name);
        if (gls_buf_adds(out, v ? v : "") ||
            (!v && gls_buf_add(out, p, (size_t)(after - p))))
          return -1;
        p = after;
        continue;
      }
    }
    if (gls_buf_addc(out, *p++)) return -1;
  }
  return gls_buf_addc(out, '\0') ? -1 : (out->len--, 0);
}

/* posixpath.expanduser: "~" and "~/..." from HOME (else the password
 * database), "~user/..." from the password database. */
static int expand_user(gls_buf *out, const char *s, gls_getenv_fn fn, void *ud) {
  if (s[0] != '~') return gls_buf_adds(out, s);
  const char *slash = strchr(s + 1, '/');
  const char *rest = slash ? slash : s + strlen(s);
  const char *home = NULL;
  struct passwd pw, *res = NULL;
  char pwbuf[4096];
  if (rest == s + 1) {
    home = env_get(fn, ud, "HOME");
    if (!home && !getpwuid_r(getuid(), &pw, pwbuf, sizeof pwbuf, &res) && res) home = pw.pw_dir;
  } else {
    char *user = dup_range(s + 1, rest);
    if (!user) return -1;
    if (!getpwnam_r(user, &pw, pwbuf, sizeof pwbuf, &res) && res) home = pw.pw_dir;
    free(user);
  }
  if (!home) return gls_buf_adds(out, s);
  size_t hl = strlen(home);
  while (hl && home[hl - 1] == '/') hl--;
  if (gls_buf_add(out, home, hl) || gls_buf_adds(out, rest)) return -1;
  return out->len ? 0 : gls_buf_addc(out, '/');
}

static int resolve(gls_buf *out, const char *var, const char *fallback, gls_getenv_fn fn,
                   void *ud) {
  const char *v = env_get(fn, ud, var);
  gls_buf tmp = {0};
  int rc = expand_vars(&tmp, v ? v : fallback, fn, ud) ||
           expand_user(out, tmp.data ? tmp.data : "", fn, ud) || gls_buf_addc(out, '\0');
  if (!rc) out->len--;
  gls_buf_free(&tmp);
  return rc ? -1 : 0;
}

gls_awsconfig *gls_awsconfig_load(gls_getenv_fn getenv_fn, void *ud, gls_buf *err) {
  gls_buf cfg = {0}, cred = {0};
  gls_awsconfig *c = NULL;
  if (resolve(&cfg, "AWS_CONFIG_FILE", "~/.aws/config", getenv_fn, ud) ||
      resolve(&cred, "AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials", getenv_fn, ud)) {
    if (err) gls_buf_adds(err, "out of memory");
  } else {
    c = gls_awsconfig_load_files(cfg.data, cred.data, err);
  }
  gls_buf_free(&cfg);
  gls_buf_free(&cred);
  return c;
}

/* ---------------------------------------------------------------- lookups */

int gls_awsconfig_has_profile(const gls_awsconfig *c, const char *profile) {
  return c && profile && list_find(&c->profiles, profile) != NULL;
}

static const char *sub_get(const cfg_item *it, const char *key) {
  if (!it || it->value) return NULL;
  for (size_t i = 0; i < it->nsub; i++)
    if (!strcmp(it->sub[i].key, key)) return it->sub[i].value;
  return NULL;
}

const char *gls_awsconfig_get(const gls_awsconfig *c, const char *profile, const char *key) {
  if (!c || !profile || !key) return NULL;
  const cfg_named *p = list_find(&c->profiles, profile);
  if (!p) return NULL;
  /* "parent.key": a sub-section's key, trying each '.' from the left */
  for (const char *dot = strchr(key, '.'); dot; dot = strchr(dot + 1, '.')) {
    char *parent = dup_range(key, dot);
    if (!parent) return NULL;
    const char *v = sub_get(dict_find(&p->dict, parent), dot + 1);
    free(parent);
    if (v) return v;
  }
  const cfg_item *it = dict_find(&p->dict, key);
  return it ? it->value : NULL;
}

const char *gls_awsconfig_service(const gls_awsconfig *c, const char *section,
                                  const char *service, const char *key) {
  if (!c || !section || !service || !key) return NULL;
  const cfg_named *s = list_find(&c->services, section);
  if (!s) return NULL;
  char *name = strdup(service);
  if (!name) return NULL;
  for (char *q = name; *q; q++) {
    if (*q >= 'A' && *q <= 'Z') *q = (char)(*q - 'A' + 'a');
    else if (*q == '-' || *q == ' ') *q = '_';
  }
  const char *v = sub_get(dict_find(&s->dict, name), key);
  free(name);
  return v;
}
