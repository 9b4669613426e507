/* test_awsconfig_diff.c - gls_awsconfig against botocore itself: tricky
 * config/credentials pairs, each asked the same questions through
 * spec/support/botocore_config.py (python3 + botocore) and through
 * gls_awsconfig_get / _service / _has_profile. Skipped without botocore. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include "awsconfig.h"
#include "tap.h"

#define SCRIPT "spec/support/botocore_config.py"

typedef struct pair {
  const char *what, *config, *credentials; /* NULL = no such file */
} pair;

static const pair cases[] = {
    {"plain pair",
     "[default]\nregion = us-west-2\noutput=json\n"
     "[profile foo]\nregion = eu-west-1\ns3 =\n  max_concurrent_requests = 20\n  addressing_style = path\n",
     "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = secret/default+key=\n"
     "[foo]\naws_access_key_id = AKIDFOO\nregion = us-east-2\n"},
    {"section headers",
     "[profile  foo ]\nregion = a\n[profile \"a b\"]\nregion = b\n[profile x y]\nregion = c\n"
     "[profilebar x]\nregion = d\n[ default ]\nregion = e\n[profile]\nregion = f\n"
     "[profile 'unclosed]\nregion = g\n[Profile foo]\nregion = h\n[profile\tbar]\nregion = i\n"
     "[profile \"esc\\\"aped\"]\nregion = j\n[profile back\\ slash] tail\nregion = k\n",
     NULL},
    {"[profile default] then [default]",
     "[profile default]\nregion = first\noutput = text\n[default]\nregion = second\n", ""},
    {"[default] then [profile default]",
     "[default]\nregion = first\noutput = text\n[profile default]\nregion = second\n",
     "[default]\noutput = cred\n"},
    {"comments, delimiters, case",
     "# top\n; top\n\n[default]\n  # indented comment\n   Region2 =  UP  \n"
     "region = us-east-1 ;not a comment\noutput = json # neither\nk = a=b=c\n"
     "url: http://example.com:8080/x\na:b = c\n  continued = line\nempty =\n",
     "[foo]\n; comment\nREGION = cred-upper\n"},
    {"continuations and sub-sections",
     "[default]\nk = first\n  second\n\n  third\n# between\n  fourth\n"
     "s3 =\n  Max_Concurrent_Requests = 10\n  max_concurrent_requests = 11\n"
     "  max_concurrent_requests = 12\n  x = y = z\n\noutput = json\n[profile foo]\ns3 =\n\n\n",
     NULL},
    {"[DEFAULT] sections",
     "[DEFAULT]\nregion = from-default\ns3 =\n  a = 1\n[default]\noutput = json\n"
     "[profile foo]\nregion = own\n[DEFAULT]\nk = again\n",
     "[DEFAULT]\naws_access_key_id = DEF\n[bar]\naws_secret_access_key = s\n[foo]\nk = cred\n"},
    {"credentials merge over sub-sections",
     "[profile foo]\ns3 =\n  a = 1\nregion = r\n",
     "[foo]\ns3 = plain\n[profile foo]\nregion = from-creds\n[ spaced ]\nk = v\n"},
    {"CR LF, CR, tabs, Unicode white space",
     "[default]\r\nregion\t=\tus-west-1\r\ns3 =\r\n\tmax = 5\r\n[profile foo]\routput = text\r"
     "[profile x]\n\xc2\xa0region = nbsp\xe3\x80\x80\n  \xe2\x80\x83k = v\n",
     "[bar]\r\nregion = crlf\r\n"},
    {"services and sso-session",
     "[default]\nservices = my\n[services my]\ngameliftstreams =\n  endpoint_url = http://localhost:1\n"
     "game_lift =\n  endpoint_url = http://g\ns3 = plain\n[services  other ]\ngameliftstreams =\n"
     "  endpoint_url = http://other\n  region = r\n[sso-session corp]\nsso_region = us-east-1\n",
     NULL},
    {"a line before any section", "region = x\n[default]\n", NULL},
    {"a repeated section", "[default]\na = 1\n[default]\nb = 2\n", NULL},
    {"a repeated key (lower-cased names)", "[default]\nregion = 1\nRegion = 2\n", NULL},
    {"a line that is no option", "[default]\nfoo\n", NULL},
    {"a sub-section line without '='", "[default]\ns3 =\n  novalue\n", NULL},
    {"an empty key name", "[default]\n= v\n", NULL},
    {"a bad credentials file", "[default]\nregion = ok\n", "aws_access_key_id = x\n"},
    {"not UTF-8", "[default]\nregion = caf\xe9\n", NULL},
};

static const char *const profiles[] = {"default", "foo", "a b", "x", "bar", "profile foo", " spaced ",
                                       "Profile foo", "esc\"aped", "back slash", "nope", "DEFAULT"};
static const char *const keys[] = {"region", "output", "aws_access_key_id", "aws_secret_access_key",
                                   "k", "url", "a", "Region2", "region2", "empty", "s3",
                                   "s3.max_concurrent_requests", "s3.Max_Concurrent_Requests",
                                   "s3.x", "s3.a", "s3.max", "s3.addressing_style", "services"};
static const char *const services[][3] = {
    {"my", "gameliftstreams", "endpoint_url"}, {"my", "GameLift-Streams", "endpoint_url"},
    {"my", "game-lift", "endpoint_url"},       {"my", "Game Lift", "endpoint_url"},
    {"my", "s3", "endpoint_url"},              {"other", "gameliftstreams", "endpoint_url"},
    {"other", "gameliftstreams", "region"},    {"nope", "gameliftstreams", "endpoint_url"},
    {"my", "gameliftstreams", "region"}};
#define N(a) (sizeof(a) / sizeof((a)[0]))

static void write_file(const char *path, const char *text) {
  FILE *fp = fopen(path, "wb");
  if (!fp) {
    perror(path);
    exit(2);
  }
  fwrite(text, 1, strlen(text), fp);
  fclose(fp);
}

/* Runs the botocore script on the request file; the parsed JSON answer
 * (an array, or JSON null when botocore cannot parse the files), or NULL
 * when the script itself failed. */
static json_t *ask_botocore(const char *req_path) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, "python3 %s < %s", SCRIPT, req_path);
  FILE *p = popen(cmd, "r");
  if (!p) return NULL;
  json_error_t jerr;
  json_t *out = json_loadf(p, JSON_DECODE_ANY, &jerr);
  if (pclose(p) != 0) {
    json_decref(out);
    return NULL;
  }
  return out;
}

static int same(const char *a, const char *b) { return (!a && !b) || (a && b && !strcmp(a, b)); }

int main(void) {
  if (access(SCRIPT, R_OK) || system("python3 -c 'import botocore.session' >/dev/null 2>&1") != 0) {
    skip("python3 with botocore (and " SCRIPT ") not available", "awsconfig matches botocore");
    return done_testing();
  }
  char dir[] = "/tmp/gls-awsdiff-XXXXXX";
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 2;
  }
  char cfg[128], cred[128], req[128];
  snprintf(cfg, sizeof cfg, "%s/config", dir);
  snprintf(cred, sizeof cred, "%s/credentials", dir);
  snprintf(req, sizeof req, "%s/request.json", dir);
  size_t total_values = 0;

  for (size_t ci = 0; ci < N(cases); ci++) {
    const pair *pc = &cases[ci];
    unlink(cfg);
    unlink(cred);
    if (pc->config) write_file(cfg, pc->config);
    if (pc->credentials) write_file(cred, pc->credentials);

    json_t *rq = json_object(), *q = json_array(), *sv = json_array(), *pr = json_array();
    json_object_set_new(rq, "config", json_string(cfg));
    json_object_set_new(rq, "credentials", json_string(cred));
    for (size_t i = 0; i < N(profiles); i++) {
      json_array_append_new(pr, json_string(profiles[i]));
      for (size_t k = 0; k < N(keys); k++)
        json_array_append_new(q, json_pack("[ss]", profiles[i], keys[k]));
    }
    for (size_t i = 0; i < N(services); i++)
      json_array_append_new(sv, json_pack("[sss]", services[i][0], services[i][1], services[i][2]));
    json_object_set_new(rq, "queries", q);
    json_object_set_new(rq, "services", sv);
    json_object_set_new(rq, "profiles", pr);
    json_dump_file(rq, req, 0);
    json_decref(rq);

    json_t *want = ask_botocore(req);
    gls_buf err = {0};
    gls_awsconfig *c = gls_awsconfig_load_files(cfg, cred, &err);
    if (!ok(want != NULL, "case %zu (%s): botocore answered", ci, pc->what)) {
      gls_awsconfig_free(c);
      gls_buf_free(&err);
      continue;
    }
    if (json_is_null(want)) {
      ok(c == NULL && err.len > 0, "case %zu (%s): botocore cannot parse it, nor can we (%s)", ci,
         pc->what, err.data ? err.data : "loaded");
    } else {
      size_t nq = N(profiles) * N(keys), ns = N(services), np = N(profiles);
      ok(c != NULL && json_array_size(want) == nq + ns + np, "case %zu (%s): both parse it%s%s", ci,
         pc->what, c ? "" : ": ", c ? "" : err.data);
      size_t idx = 0, values = 0;
      for (size_t i = 0; i < N(profiles); i++) {
        gls_buf diff = {0};
        for (size_t k = 0; k < N(keys); k++, idx++) {
          const char *w = json_string_value(json_array_get(want, idx));
          const char *g = gls_awsconfig_get(c, profiles[i], keys[k]);
          values += w != NULL;
          if (!same(w, g))
            gls_buf_printf(&diff, " [%s] botocore=%s gls=%s;", keys[k], w ? w : "null", g ? g : "null");
        }
        ok(diff.len == 0, "case %zu (%s): profile '%s' agrees on %zu keys%s", ci, pc->what,
           profiles[i], N(keys), diff.len ? diff.data : "");
        gls_buf_free(&diff);
      }
      gls_buf diff = {0};
      for (size_t i = 0; i < ns; i++, idx++) {
        const char *w = json_string_value(json_array_get(want, idx));
        const char *g = gls_awsconfig_service(c, services[i][0], services[i][1], services[i][2]);
        values += w != NULL;
        if (!same(w, g))
          gls_buf_printf(&diff, " [%s %s %s] botocore=%s gls=%s;", services[i][0], services[i][1],
                         services[i][2], w ? w : "null", g ? g : "null");
      }
      ok(diff.len == 0, "case %zu (%s): services agree (%zu questions)%s", ci, pc->what, ns,
         diff.len ? diff.data : "");
      gls_buf_reset(&diff);
      for (size_t i = 0; i < np; i++, idx++) {
        int w = json_is_true(json_array_get(want, idx)), g = gls_awsconfig_has_profile(c, profiles[i]);
        if (w != g) gls_buf_printf(&diff, " '%s' botocore=%d gls=%d;", profiles[i], w, g);
      }
      ok(diff.len == 0, "case %zu (%s): the same profiles exist%s", ci, pc->what,
         diff.len ? diff.data : "");
      gls_buf_free(&diff);
      ok(values > 0, "case %zu (%s): botocore found %zu values to compare", ci, pc->what, values);
      total_values += values;
    }
    json_decref(want);
    gls_awsconfig_free(c);
    gls_buf_free(&err);
  }
  printf("# %zu non-null botocore answers compared\n", total_values);
  unlink(cfg);
  unlink(cred);
  unlink(req);
  rmdir(dir);
  return done_testing();
}
