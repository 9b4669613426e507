/* lgls_http.c - core.http_request: one plain, unsigned, blocking HTTP call.
 *
 *   core.http_request{ method = "POST", url = "http://127.0.0.1:PORT/_emulator/clock",
 *                      body = '{"advance": 5}', headers = { ["Content-Type"] = "..." },
 *                      timeout = 10 }
 *     -> status, body, headers      (headers: lower-case name -> value)
 *     -> nil, message               (the transfer failed: refused, timed out, ...)
 *
 *   local s = core.http_session()   -- the same calls over kept-alive connections
 *   s:request{ ... }                -- as core.http_request
 *   s:close()                       -- also __gc / __close
 * A session owns one curl easy handle, so its calls reuse the connection
 * (libcurl's connection cache lives in the handle): for a caller making
 * thousands of calls, as a benchmark driving the emulator's control API does.
 *
 * For the emulator's control API (/_emulator/...) and the reconnect front in
 * tests and examples; AWS calls go through the client, which signs. The reply
 * body is bounded (16 MiB). Misuse (wrong types, unknown method) raises. */
#include <ctype.h>
#include <string.h>
#include <curl/curl.h>
#include "gls_private.h"
#include "lgls.h"

#define MAX_REPLY (16u << 20)

typedef struct reply {
  gls_buf body;
  gls_buf headers;       /* "name\0value\0" pairs, names lower-cased */
  int too_big;
} reply;

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  reply *r = ud;
  size_t len = size * n;
  if (r->body.len + len > MAX_REPLY) { r->too_big = 1; return 0; }
  return gls_buf_add(&r->body, p, len) == 0 ? len : 0;
}

/* Collects header lines into r->headers; no Lua call happens inside curl
 * (a raising one would longjmp across its frames). */
static size_t on_header(char *p, size_t size, size_t n, void *ud) {
  reply *r = ud;
  size_t len = size * n;
  const char *colon = memchr(p, ':', len);
  if (colon == NULL) return len;              /* status line or blank line */
  size_t nlen = (size_t)(colon - p);
  const char *v = colon + 1, *end = p + len;
  while (v < end && (*v == ' ' || *v == '\t')) v++;
  while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ')) end--;
  if (nlen == 0) return len;
  for (size_t i = 0; i < nlen; i++)
    if (gls_buf_addc(&r->headers, (char)tolower((unsigned char)p[i])) != 0) return 0;
  if (gls_buf_addc(&r->headers, '\0') != 0 || gls_buf_add(&r->headers, v, (size_t)(end - v)) != 0 ||
      gls_buf_addc(&r->headers, '\0') != 0)
    return 0;
  return len;
}

static const char *opt_string(lua_State *L, int idx, const char *key, const char *def) {
  int t = lua_getfield(L, idx, key);
  const char *s = def;
  if (t == LUA_TSTRING) s = lua_tostring(L, -1);
  else if (t != LUA_TNIL)
    luaL_error(L, "bad option '%s' (string expected, got %s)", key, lua_typename(L, t));
  lua_pop(L, 1);      /* the string stays alive: it is in the options table */
  return s;
}

/* One call with the options table at idx. reuse: a handle to reset and use
 * (borrowed: the caller keeps it), or NULL for a fresh one, cleaned up here. */
static int perform(lua_State *L, int idx, CURL *reuse) {
  luaL_checktype(L, idx, LUA_TTABLE);
  const char *method = opt_string(L, idx, "method", "GET");
  const char *url = opt_string(L, idx, "url", NULL);
  if (url == NULL) return luaL_error(L, "bad option 'url' (string expected, got nil)");
  static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", NULL};
  int known = 0;
  for (int i = 0; methods[i]; i++) known |= strcmp(method, methods[i]) == 0;
  if (!known) return luaL_error(L, "bad option 'method' (one of GET POST PUT PATCH DELETE HEAD expected)");
  size_t body_len = 0;
  const char *body = NULL;
  if (lua_getfield(L, idx, "body") != LUA_TNIL) {
    if (lua_type(L, -1) != LUA_TSTRING) return luaL_error(L, "bad option 'body' (string expected)");
    body = lua_tolstring(L, -1, &body_len);
  }
  lua_pop(L, 1);
  lua_Number timeout = 30;
  if (lua_getfield(L, idx, "timeout") != LUA_TNIL) {
    if (!lua_isnumber(L, -1)) return luaL_error(L, "bad option 'timeout' (number expected)");
    timeout = lua_tonumber(L, -1);
    if (!(timeout > 0 && timeout <= 3600))
      return luaL_error(L, "bad option 'timeout' (seconds between 0 and 3600 expected)");
  }
  lua_pop(L, 1);

  /* Request headers, built before curl runs (building them may raise). */
  gls_buf line = {0};
  struct curl_slist *hdrs = curl_slist_append(NULL, "Expect:");
  int ok = hdrs != NULL;
  if (lua_getfield(L, idx, "headers") == LUA_TTABLE) {
    lua_pushnil(L);
    while (ok && lua_next(L, -2)) {
      if (lua_type(L, -2) == LUA_TSTRING && lua_type(L, -1) == LUA_TSTRING) {
        gls_buf_reset(&line);
        ok = gls_buf_printf(&line, "%s: %s", lua_tostring(L, -2), lua_tostring(L, -1)) == 0;
        struct curl_slist *n = ok ? curl_slist_append(hdrs, line.data) : NULL;
        ok = n != NULL;
        if (n) hdrs = n;
      }
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  gls_buf_free(&line);

  reply r = {0};
  CURL *c = NULL;
  if (ok && reuse) {
    c = reuse;                /* reset (options at their defaults), connections kept */
  } else if (ok) {
    c = curl_easy_init();
  }
  CURLcode rc = CURLE_OUT_OF_MEMORY;
  long status = 0;
  char errbuf[CURL_ERROR_SIZE] = "";
  if (c) {
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "HEAD") == 0) curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (body) {
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(timeout * 1000));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (reuse) curl_easy_reset(c);   /* it must not keep pointers to this frame */
    else curl_easy_cleanup(c);
  }
  curl_slist_free_all(hdrs);
  if (rc != CURLE_OK) {
    gls_buf_free(&r.body);
    gls_buf_free(&r.headers);
    lua_pushnil(L);
    if (r.too_big) lua_pushliteral(L, "reply body larger than 16 MiB");
    else lua_pushstring(L, errbuf[0] ? errbuf : curl_easy_strerror(rc));
    return 2;
  }
  lua_pushinteger(L, status);
  lua_pushlstring(L, r.body.data ? r.body.data : "", r.body.len);
  gls_buf_free(&r.body);
  lua_newtable(L);
  for (size_t i = 0; i < r.headers.len;) {
    const char *name = r.headers.data + i;
    size_t nl = strlen(name);
    const char *value = name + nl + 1;
    size_t vl = strlen(value);
    lua_pushlstring(L, name, nl);
    lua_pushlstring(L, value, vl);
    lua_rawset(L, -3);
    i += nl + vl + 2;
  }
  gls_buf_free(&r.headers);
  return 3;
}

int gls_l_http_request(lua_State *L) { return perform(L, 1, NULL); }

/* ------------------------------------------------------------ sessions */

#define SESSION_MT "gameliftstreams.http_session"

typedef struct lsession {
  CURL *c; /* owned; NULL once closed */
} lsession;

static lsession *check_session(lua_State *L) {
  lsession *s = luaL_checkudata(L, 1, SESSION_MT);
  if (!s->c) luaL_error(L, "http session is closed");
  return s;
}

static int l_session_request(lua_State *L) {
  lsession *s = check_session(L);
  return perform(L, 2, s->c);
}

static int l_session_close(lua_State *L) {
  lsession *s = luaL_checkudata(L, 1, SESSION_MT);
  if (s->c) curl_easy_cleanup(s->c);
  s->c = NULL;
  return 0;
}

static int l_http_session(lua_State *L) {
  lsession *s = lua_newuserdatauv(L, sizeof *s, 0);
  s->c = NULL;
  luaL_setmetatable(L, SESSION_MT);
  s->c = curl_easy_init();
  if (!s->c) return luaL_error(L, "curl_easy_init failed");
  return 1;
}

void gls_l_http_open(lua_State *L) {
  static const luaL_Reg methods[] = {{"request", l_session_request}, {"close", l_session_close}, {NULL, NULL}};
  if (luaL_newmetatable(L, SESSION_MT)) {
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_session_close);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, l_session_close);
    lua_setfield(L, -2, "__close");
  }
  lua_pop(L, 1);
  lua_pushcfunction(L, gls_l_http_request);
  lua_setfield(L, -2, "http_request");
  lua_pushcfunction(L, l_http_session);
  lua_setfield(L, -2, "http_session");
}
