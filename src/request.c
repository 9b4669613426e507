/* request.c - turns an operation's JSON input into the HTTP request the
 * service expects (rest-json): validation from the model, URI labels, query
 * members, JSON body, idempotency token. */
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <openssl/rand.h>
#include "gls_private.h"

const gls_operation *gls_find_operation(const char *name) {
  if (!name) return NULL;
  for (size_t i = 0; i < gls_noperations; i++)
    if (!strcmp(gls_operations[i].name, name) || !strcmp(gls_operations[i].snake, name))
      return &gls_operations[i];
  return NULL;
}

const gls_error_shape *gls_find_error(const char *code) {
  for (size_t i = 0; i < gls_nerrors; i++)
    if (!strcmp(gls_errors[i].name, code)) return &gls_errors[i];
  return NULL;
}

size_t gls_operation_count(void) { return gls_noperations; }

const char *gls_operation_name(size_t i) {
  return i < gls_noperations ? gls_operations[i].name : NULL;
}

/* ------------------------------------------------------------ patterns */

struct gls_regexes {
  regex_t re[32];
  unsigned char state[32]; /* 0 = not compiled, 1 = ok, 2 = failed */
};

gls_regexes *gls_regexes_new(void) {
  if (gls_npatterns > 32) return NULL;
  return calloc(1, sizeof(gls_regexes));
}

void gls_regexes_free(gls_regexes *p) {
  if (!p) return;
  for (size_t i = 0; i < gls_npatterns; i++)
    if (p->state[i] == 1) regfree(&p->re[i]);
  free(p);
}

int gls_regexes_match(gls_regexes *p, int idx, const char *s) {
  if (!p || idx < 0) return 1;
  if (p->state[idx] == 0)
    p->state[idx] = regcomp(&p->re[idx], gls_patterns[idx], REG_EXTENDED | REG_NOSUB) ? 2 : 1;
  if (p->state[idx] != 1) return -1;
  return regexec(&p->re[idx], s, 0, NULL, 0) == 0;
}

/* ------------------------------------------------------------ validation */

typedef struct vctx {
  gls_regexes *pat;
  gls_buf *errs;
  int nerr;
} vctx;

static void verr(vctx *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void verr(vctx *v, const char *fmt, ...) {
  if (v->nerr++ >= 20) return;
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  gls_buf_addc(v->errs, '\n');
  gls_buf_adds(v->errs, line);
}

static const char *type_name(int t) {
  switch (t) {
  case GLS_T_STRUCT: return "dict";
  case GLS_T_LIST: return "list";
  case GLS_T_MAP: return "dict";
  case GLS_T_STRING: return "string";
  case GLS_T_INTEGER: case GLS_T_LONG: return "integer";
  case GLS_T_BOOLEAN: return "boolean";
  case GLS_T_TIMESTAMP: return "timestamp";
  case GLS_T_DOUBLE: return "float";
  default: return "blob";
  }
}

size_t gls_utf8_len(const char *s, size_t n) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (((unsigned char)s[i] & 0xC0) != 0x80) k++;
  return k;
}

/* Quoted value for messages; sensitive values are never shown. */
static void show(char *out, size_t n, const gls_shape *sh, const char *s) {
  if (sh->flags & GLS_S_SENSITIVE) snprintf(out, n, "*** sensitive ***");
  else if (strlen(s) > 64) snprintf(out, n, "\"%.61s...\"", s);
  else snprintf(out, n, "\"%s\"", s);
}

static void check_size(vctx *v, const char *path, const gls_shape *sh, long long n,
                       const char *what) {
  const char *kind = what[0] == 'l' ? "length" : "range";
  if ((sh->flags & GLS_S_HAS_MIN) && n < sh->min)
    verr(v, "Invalid %s for parameter %s, value: %lld, valid min %s: %lld", kind, path, n, what, sh->min);
  else if ((sh->flags & GLS_S_HAS_MAX) && n > sh->max)
    verr(v, "Invalid %s for parameter %s, value: %lld, valid max %s: %lld", kind, path, n, what, sh->max);
}

static void validate(vctx *v, json_t *val, int shape_idx, const char *path);

static void validate_struct(vctx *v, json_t *obj, const gls_shape *sh, const char *path) {
  const char *key;
  json_t *val;
  char sub[512];
  /* unknown members */
  json_object_foreach(obj, key, val) {
    int known = 0;
    for (int i = 0; i < sh->nmembers && !known; i++)
      known = !strcmp(gls_members[sh->first_member + i].name, key);
    if (!known) {
      gls_buf names = {0};
      for (int i = 0; i < sh->nmembers; i++) {
        if (i) gls_buf_adds(&names, ", ");
        gls_buf_adds(&names, gls_members[sh->first_member + i].name);
      }
      verr(v, "Unknown parameter in %s: \"%s\", must be one of: %s",
           *path ? path : "input", key, names.data ? names.data : "");
      gls_buf_free(&names);
    }
  }
  for (int i = 0; i < sh->nmembers; i++) {
    const gls_member *m = &gls_members[sh->first_member + i];
    json_t *mv = json_object_get(obj, m->name);
    if (!mv || json_is_null(mv)) {
      if ((m->flags & GLS_M_REQUIRED) && !(m->flags & GLS_M_IDEMPOTENCY))
        verr(v, "Missing required parameter in %s: \"%s\"", *path ? path : "input", m->name);
      continue;
    }
    snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", m->name);
    validate(v, mv, m->shape, sub);
  }
}

static void bad_type(vctx *v, const char *path, json_t *val, int type) {
  const char *got = json_is_string(val) ? "string" : json_is_integer(val) ? "integer"
                  : json_is_real(val) ? "float" : json_is_boolean(val) ? "boolean"
                  : json_is_array(val) ? "list" : "dict";
  verr(v, "Invalid type for parameter %s, type: %s, valid types: %s",
                   path, got, type_name(type));
}

static void validate(vctx *v, json_t *val, int shape_idx, const char *path) {
  const gls_shape *sh = &gls_shapes[shape_idx];
  char sub[512], shown[96];
  switch (sh->type) {
  case GLS_T_STRUCT:
    if (!json_is_object(val)) { bad_type(v, path, val, sh->type); return; }
    validate_struct(v, val, sh, path);
    return;
  case GLS_T_LIST: {
    if (json_is_object(val) && json_object_size(val) == 0) {
      /* An empty Lua table encodes as {}: it means an empty list here. */
      check_size(v, path, sh, 0, "length");
      return;
    }
    if (!json_is_array(val)) { bad_type(v, path, val, sh->type); return; }
    check_size(v, path, sh, (long long)json_array_size(val), "length");
    size_t i;
    json_t *e;
    json_array_foreach(val, i, e) {
      snprintf(sub, sizeof sub, "%s[%zu]", path, i);
      validate(v, e, sh->elem, sub);
    }
    return;
  }
  case GLS_T_MAP: {
    if (!json_is_object(val)) { bad_type(v, path, val, sh->type); return; }
    check_size(v, path, sh, (long long)json_object_size(val), "length");
    const char *k;
    json_t *e;
    json_object_foreach(val, k, e) {
      json_t *ks = json_string(k);
      snprintf(sub, sizeof sub, "%s.%s", path, k);
      if (ks) validate(v, ks, sh->key, sub);
      json_decref(ks);
      validate(v, e, sh->elem, sub);
    }
    return;
  }
  case GLS_T_STRING: {
    if (!json_is_string(val)) { bad_type(v, path, val, sh->type); return; }
    const char *s = json_string_value(val);
    size_t n = json_string_length(val);
    size_t before = (size_t)v->nerr;
    check_size(v, path, sh, (long long)gls_utf8_len(s, n), "length");
    if ((size_t)v->nerr != before) return;
    if (sh->nenums) {
      int ok = 0;
      for (int i = 0; i < sh->nenums && !ok; i++) ok = !strcmp(gls_enum_values[sh->first_enum + i], s);
      if (!ok) {
        gls_buf vals = {0};
        for (int i = 0; i < sh->nenums; i++) {
          if (i) gls_buf_adds(&vals, ", ");
          gls_buf_adds(&vals, gls_enum_values[sh->first_enum + i]);
        }
        show(shown, sizeof shown, sh, s);
        verr(v, "Invalid value for parameter %s, value: %s, valid values: %s",
                         path, shown, vals.data ? vals.data : "");
        gls_buf_free(&vals);
        return;
      }
    }
    if (gls_regexes_match(v->pat, sh->pattern, s) == 0) {
      show(shown, sizeof shown, sh, s);
      verr(v, "Invalid value for parameter %s, value: %s, must match pattern: %s",
                       path, shown, gls_patterns[sh->pattern]);
    }
    return;
  }
  case GLS_T_INTEGER:
  case GLS_T_LONG: {
    json_int_t iv;
    /* a real without a fraction counts; the range is checked before the
     * cast (2.2e43 cast to json_int_t is undefined: found by fuzz/prepare),
     * and beyond 64 bits it is no integer, as the emulator (emuwire.c
     * json_as_int) has it */
    double d = json_is_real(val) ? json_real_value(val) : 0;
    if (json_is_integer(val)) iv = json_integer_value(val);
    else if (json_is_real(val) && d >= -9223372036854775808.0 && d < 9223372036854775808.0 &&
             d == floor(d))
      iv = (json_int_t)d;
    else { bad_type(v, path, val, sh->type); return; }
    if (sh->type == GLS_T_INTEGER && (iv > 2147483647LL || iv < -2147483647LL - 1)) {
      verr(v, "Invalid range for parameter %s, value: %lld, valid range: 32-bit integer",
                       path, (long long)iv);
      return;
    }
    check_size(v, path, sh, (long long)iv, "value");
    return;
  }
  case GLS_T_BOOLEAN:
    if (!json_is_boolean(val)) bad_type(v, path, val, sh->type);
    return;
  case GLS_T_DOUBLE:
  case GLS_T_TIMESTAMP:
    if (!json_is_number(val)) bad_type(v, path, val, sh->type);
    return;
  default:
    if (!json_is_string(val)) bad_type(v, path, val, sh->type);
    return;
  }
}

/* ------------------------------------------------------------ building */

void gls_prepared_free(gls_prepared *p) {
  gls_buf_free(&p->path);
  gls_buf_free(&p->query);
  gls_buf_wipe_free(&p->body);
  memset(p, 0, sizeof *p);
}

int gls_uuid4(char out[37]) {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) return -1;
  b[6] = (unsigned char)((b[6] & 0x0F) | 0x40);
  b[8] = (unsigned char)((b[8] & 0x3F) | 0x80);
  snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
           b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
           b[13], b[14], b[15]);
  return 0;
}

/* Scalar as it goes in a URI or query: strings as they are, numbers in decimal. */
static int scalar_text(json_t *v, char *tmp, size_t n, const char **s, size_t *len) {
  if (json_is_string(v)) { *s = json_string_value(v); *len = json_string_length(v); return 0; }
  if (json_is_integer(v)) snprintf(tmp, n, "%lld", (long long)json_integer_value(v));
  else if (json_is_real(v)) snprintf(tmp, n, "%.17g", json_real_value(v));
  else if (json_is_boolean(v)) snprintf(tmp, n, "%s", json_is_true(v) ? "true" : "false");
  else return -1;
  *s = tmp;
  *len = strlen(tmp);
  return 0;
}

static int add_query(gls_buf *q, const char *key, json_t *v) {
  char tmp[64];
  const char *s;
  size_t n;
  if (scalar_text(v, tmp, sizeof tmp, &s, &n)) return 0;
  if (q->len && gls_buf_addc(q, '&')) return -1;
  if (gls_uri_encode(q, key, strlen(key), 0) || gls_buf_addc(q, '=')) return -1;
  return gls_uri_encode(q, s, n, 0);
}

gls_status gls_prepare(gls_regexes *pat, const gls_operation *op, const char *input,
                       size_t input_len, const char *base_path, gls_prepared *out,
                       gls_buf *err) {
  memset(out, 0, sizeof *out);
  out->op = op;
  json_error_t jerr;
  json_t *in = input_len ? json_loadb(input, input_len, JSON_REJECT_DUPLICATES, &jerr)
                         : json_object();
  if (!in) {
    gls_buf_printf(err, "input is not valid JSON: %s (line %d, column %d)", jerr.text,
                   jerr.line, jerr.column);
    return GLS_E_INVALID_ARGUMENT;
  }
  if (!json_is_object(in)) {
    json_decref(in);
    gls_buf_adds(err, "input must be a JSON object");
    return GLS_E_INVALID_ARGUMENT;
  }
  gls_status st = GLS_OK;
  json_t *body = NULL;
  if (op->input >= 0) {
    if (pat) {
      vctx v = {pat, err, 0};
      gls_buf_adds(err, "Parameter validation failed:");
      validate(&v, in, op->input, "");
      if (v.nerr) {
        if (v.nerr > 20) gls_buf_printf(err, "\n(and %d more)", v.nerr - 20);
        json_decref(in);
        return GLS_E_PARAM_VALIDATION;
      }
      gls_buf_reset(err);
    }
  } else if (json_object_size(in)) {
    gls_buf_printf(err, "Parameter validation failed:\n%s takes no input", op->name);
    json_decref(in);
    return GLS_E_PARAM_VALIDATION;
  }

  /* path: base path of the endpoint, then the template with labels encoded */
  if (base_path && *base_path && strcmp(base_path, "/")) {
    size_t bl = strlen(base_path);
    if (base_path[bl - 1] == '/') bl--;
    if (gls_buf_add(&out->path, base_path, bl)) goto nomem;
  }
  const char *t = op->uri;
  const char *qmark = strchr(t, '?');
  const char *tend = qmark ? qmark : t + strlen(t);
  while (t < tend) {
    const char *open = memchr(t, '{', (size_t)(tend - t));
    if (!open) { if (gls_buf_add(&out->path, t, (size_t)(tend - t))) goto nomem; break; }
    if (gls_buf_add(&out->path, t, (size_t)(open - t))) goto nomem;
    const char *close = memchr(open, '}', (size_t)(tend - open));
    if (!close) break;
    char label[128];
    size_t ll = (size_t)(close - open - 1);
    int greedy = ll && open[ll] == '+';
    if (greedy) ll--;
    if (ll >= sizeof label) ll = sizeof label - 1;
    memcpy(label, open + 1, ll);
    label[ll] = '\0';
    const gls_shape *ish = &gls_shapes[op->input];
    json_t *val = NULL;
    for (int i = 0; i < ish->nmembers && !val; i++) {
      const gls_member *m = &gls_members[ish->first_member + i];
      if (m->location == GLS_LOC_URI && !strcmp(m->wire_name, label)) val = json_object_get(in, m->name);
    }
    char tmp[64];
    const char *s;
    size_t n;
    if (!val || scalar_text(val, tmp, sizeof tmp, &s, &n) || n == 0) {
      gls_buf_printf(err, "Parameter validation failed:\nInvalid length for parameter %s, value: 0, valid min length: 1", label);
      st = GLS_E_PARAM_VALIDATION;
      goto fail;
    }
    if (gls_uri_encode(&out->path, s, n, greedy)) goto nomem;
    t = close + 1;
  }
  if (!out->path.len && gls_buf_addc(&out->path, '/')) goto nomem;
  if (qmark && gls_buf_adds(&out->query, qmark + 1)) goto nomem;

  /* query members and body members */
  if (op->input >= 0) {
    const gls_shape *ish = &gls_shapes[op->input];
    int has_body_members = 0;
    for (int i = 0; i < ish->nmembers; i++) {
      const gls_member *m = &gls_members[ish->first_member + i];
      json_t *val = json_object_get(in, m->name);
      if (m->location == GLS_LOC_BODY) {
        has_body_members = 1;
        if ((!val || json_is_null(val)) && (m->flags & GLS_M_IDEMPOTENCY)) {
          char uuid[37];
          if (gls_uuid4(uuid)) { st = GLS_E_CRYPTO; gls_buf_adds(err, "RAND_bytes failed"); goto fail; }
          val = json_string(uuid);
          if (!val || json_object_set_new(in, m->name, val)) goto nomem;
          snprintf(out->client_token, sizeof out->client_token, "%s", uuid);
        } else if (val && (m->flags & GLS_M_IDEMPOTENCY) && json_is_string(val)) {
          snprintf(out->client_token, sizeof out->client_token, "%s", json_string_value(val));
        }
        if (!val || json_is_null(val)) continue;
        if (!body && !(body = json_object())) goto nomem;
        const gls_shape *msh = &gls_shapes[m->shape];
        if (msh->type == GLS_T_LIST && json_is_object(val)) val = json_array();
        else json_incref(val);
        if (json_object_set_new(body, m->wire_name, val)) goto nomem;
      } else if (m->location == GLS_LOC_QUERY && val && !json_is_null(val)) {
        if (json_is_array(val)) {
          size_t k;
          json_t *e;
          json_array_foreach(val, k, e) if (add_query(&out->query, m->wire_name, e)) goto nomem;
        } else if (!json_is_object(val)) {
          if (add_query(&out->query, m->wire_name, val)) goto nomem;
        }
      }
    }
    if (!body && has_body_members && !(body = json_object())) goto nomem;
  }
  if (body) {
    char *text = json_dumps(body, JSON_COMPACT);
    if (!text) goto nomem;
    int r = gls_buf_adds(&out->body, text);
    memset(text, 0, strlen(text));
    free(text);
    if (r) goto nomem;
    out->has_body = 1;
  }
  json_decref(body);
  json_decref(in);
  return GLS_OK;
nomem:
  st = GLS_E_NOMEM;
  gls_buf_adds(err, "out of memory");
fail:
  json_decref(body);
  json_decref(in);
  gls_prepared_free(out);
  return st;
}
