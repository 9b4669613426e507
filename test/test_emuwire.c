/* test_emuwire.c - the emulator's wire helpers (src/emuwire.h): routing of
 * every operation, 404/405, input extraction, validation messages in the
 * service's wording, SigV4 verification of requests the core signer signed
 * (and of tampered, stale, future, unknown-key, wrong-scope, token and
 * presigned ones), output encoding. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <jansson.h>
#include "emuwire.h"
#include "tap.h"

#define AKID "AKIDEXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define TOKEN_AKID "ASIATOKENKEY"
#define TOKEN_SECRET "tokensecret/abcdefghijklmnopqrstuvwxyz0"
#define TOKEN "FwoGZXIvYXdzEXAMPLETOKEN//////////wEaDExampleSessionToken="
#define T0 1440938160 /* 20150830T123600Z */
#define MISMATCH                                                                        \
  "The request signature we calculated does not match the signature you provided. Check " \
  "your AWS Secret Access Key and signing method. Consult the service documentation for " \
  "details."
#define BAD_TOKEN "The security token included in the request is invalid."

/* ------------------------------------------------------------ credentials */

static int lookups;

static int lookup(void *ud, const char *akid, gls_emu_credential *out) {
  (void)ud;
  lookups++;
  if (!strcmp(akid, AKID)) {
    out->secret_access_key = SECRET;
    out->session_token = NULL;
    return 1;
  }
  if (!strcmp(akid, TOKEN_AKID)) {
    out->secret_access_key = TOKEN_SECRET;
    out->session_token = TOKEN;
    return 1;
  }
  return 0;
}

/* No message may carry a secret, a token or a signature. */
static int clean_message(const char *msg, const char *sig) {
  return msg && !strstr(msg, SECRET) && !strstr(msg, TOKEN_SECRET) && !strstr(msg, TOKEN) &&
         (!sig || !*sig || !strstr(msg, sig));
}

/* ------------------------------------------------------------ a signed request */

typedef struct sreq {
  char method[8];
  char path[256];
  char query[1024];
  char body[512];
  gls_header h[8];
  char store[8][512]; /* header names and values live here */
  char vstore[8][512];
  size_t nh;
  char sig[65];
} sreq;

static void sreq_add(sreq *r, const char *name, const char *value, size_t vlen) {
  size_t i = r->nh++;
  snprintf(r->store[i], sizeof r->store[i], "%s", name);
  if (vlen >= sizeof r->vstore[i]) vlen = sizeof r->vstore[i] - 1;
  memcpy(r->vstore[i], value, vlen);
  r->vstore[i][vlen] = '\0';
  r->h[i] = (gls_header){r->store[i], strlen(name), r->vstore[i], vlen};
}

/* Signs method/path/query/body as a client would (Host, Content-Type,
 * then what the signer adds), into r. Returns the signer's status. */
static gls_status sign(gls_signer *s, sreq *r, const char *method, const char *path,
                       const char *query, const char *body, const char *akid, const char *secret,
                       const char *token, const char *service, int64_t t, int query_form) {
  memset(r, 0, sizeof *r);
  snprintf(r->method, sizeof r->method, "%s", method);
  snprintf(r->path, sizeof r->path, "%s", path);
  snprintf(r->body, sizeof r->body, "%s", body);
  sreq_add(r, "Host", "gameliftstreams.us-west-2.amazonaws.com", 39);
  if (*body) sreq_add(r, "Content-Type", "application/json", 16);
  gls_sigv4_params p;
  memset(&p, 0, sizeof p);
  p.method = method;
  p.path = path;
  p.query = query;
  p.headers = r->h;
  p.nheaders = r->nh;
  p.body = body;
  p.body_len = strlen(body);
  p.access_key_id = akid;
  p.secret_access_key = secret;
  p.session_token = token;
  p.region = "us-west-2";
  p.service = service;
  p.time = t;
  p.normalize_path = 1;
  p.double_encode = 1;
  p.query_form = query_form;
  p.expires = 300;
  gls_sigv4_result res;
  char err[256];
  gls_status st = gls_signer_sign(s, &p, &res, err, sizeof err);
  if (st != GLS_OK) return st;
  snprintf(r->sig, sizeof r->sig, "%s", res.signature);
  if (query_form) {
    snprintf(r->query, sizeof r->query, "%s", res.query);
  } else {
    snprintf(r->query, sizeof r->query, "%s", query ? query : "");
    for (size_t i = 0; i < res.nadded; i++) {
      char name[64];
      snprintf(name, sizeof name, "%.*s", (int)res.added[i].name_len, res.added[i].name);
      sreq_add(r, name, res.added[i].value, res.added[i].value_len);
    }
  }
  return GLS_OK;
}

/* dst = src with dst's headers pointing into dst's own storage. */
static void sreq_copy(sreq *dst, const sreq *src) {
  memcpy(dst, src, sizeof *dst);
  for (size_t i = 0; i < dst->nh; i++) {
    dst->h[i].name = dst->store[i];
    dst->h[i].value = dst->vstore[i];
  }
}

static gls_emu_request as_request(const sreq *r) {
  gls_emu_request q = {r->method, r->path, r->query, r->h, r->nh, r->body, strlen(r->body)};
  return q;
}

static int verify(gls_emu *e, const sreq *r, int64_t now, gls_emu_identity *who,
                  gls_emu_error *err) {
  gls_emu_request q = as_request(r);
  gls_emu_verify_opts o = {now, NULL, lookup, NULL};
  return gls_emu_verify(e, &q, &o, who, err);
}

static gls_header *find(sreq *r, const char *name) {
  for (size_t i = 0; i < r->nh; i++)
    if (!strcasecmp(r->h[i].name, name)) return &r->h[i];
  return NULL;
}

/* ------------------------------------------------------------ routing */

static void test_routing(gls_emu *e) {
  gls_emu_match m;
  gls_emu_error err;
  /* every operation from a path made from its own template */
  int all = 1;
  for (size_t i = 0; i < gls_noperations; i++) {
    const gls_operation *op = &gls_operations[i];
    char path[512] = "";
    size_t n = 0, nl = 0;
    for (const char *t = op->uri; *t && *t != '?' && n < sizeof path - 80;) {
      if (*t == '{') {
        const char *c = strchr(t, '}');
        /* ARNs travel encoded; the route hands them back decoded */
        n += (size_t)snprintf(path + n, sizeof path - n, "%s",
                              !strncmp(t, "{ResourceArn}", 13)
                                  ? "arn%3Aaws%3Agameliftstreams%3Aus-west-2%3A111122223333%3Astreamgroup%2Fsg-1"
                                  : (nl ? "ABC123def4567" : "sg-1AB2C3De4"));
        nl++;
        t = c + 1;
      } else {
        path[n++] = *t++;
        path[n] = '\0';
      }
    }
    int r = gls_emu_route(e, op->method, path, &m, &err);
    int good = r == 0 && m.op == op && m.nlabels == nl;
    for (size_t k = 0; good && k < m.nlabels; k++) {
      const char *want = !strcmp(m.labels[k].name, "ResourceArn")
                             ? "arn:aws:gameliftstreams:us-west-2:111122223333:streamgroup/sg-1"
                         : k ? "ABC123def4567" : "sg-1AB2C3De4";
      good = !strcmp(m.labels[k].value, want) && m.labels[k].value_len == strlen(want);
    }
    ok(good, "route %s %s -> %s", op->method, path, op->name);
    all &= good;
  }
  ok(all && gls_noperations == 30, "all 30 operations route from their own templates");

  /* shared prefixes: the segment count decides */
  struct { const char *m, *p, *op; } cases[] = {
      {"GET", "/streamgroups", "ListStreamGroups"},
      {"POST", "/streamgroups", "CreateStreamGroup"},
      {"GET", "/streamgroups/sg-1", "GetStreamGroup"},
      {"PATCH", "/streamgroups/sg-1", "UpdateStreamGroup"},
      {"DELETE", "/streamgroups/sg-1", "DeleteStreamGroup"},
      {"GET", "/streamgroups/sg-1/streamsessions", "ListStreamSessions"},
      {"POST", "/streamgroups/sg-1/streamsessions", "StartStreamSession"},
      {"GET", "/streamgroups/sg-1/streamsessions/s-1", "GetStreamSession"},
      {"DELETE", "/streamgroups/sg-1/streamsessions/s-1", "TerminateStreamSession"},
      {"POST", "/streamgroups/sg-1/streamsessions/s-1/connections", "CreateStreamSessionConnection"},
      {"GET", "/streamsessions", "ListStreamSessionsByAccount"},
      {"POST", "/streamgroups/sg-1/locations", "AddStreamGroupLocations"},
      {"DELETE", "/streamgroups/sg-1/locations", "RemoveStreamGroupLocations"},
      {"POST", "/streamgroups/sg-1/streamurls/u-1/revoke", "RevokeStreamUrl"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int r = gls_emu_route(e, cases[i].m, cases[i].p, &m, &err);
    ok(r == 0 && !strcmp(m.op->name, cases[i].op), "%s %s -> %s", cases[i].m, cases[i].p,
       cases[i].op);
  }
  int r = gls_emu_route(e, "GET", "/streamgroups/sg%2D1%20x/streamsessions/a%2Fb", &m, &err);
  ok(r == 0 && m.nlabels == 2 && !strcmp(m.labels[0].name, "Identifier") &&
         !strcmp(m.labels[0].value, "sg-1 x") && !strcmp(m.labels[1].name, "StreamSessionIdentifier") &&
         !strcmp(m.labels[1].value, "a/b"),
     "labels are percent-decoded (%%2D, %%20, %%2F)");
  r = gls_emu_route(e, "GET", "/streamgroups/a+b", &m, &err);
  ok(r == 0 && !strcmp(m.labels[0].value, "a+b"), "'+' in a label stays '+'");

  /* 404 */
  const char *nf[] = {"/nope", "/streamgroups/", "/streamgroups//streamsessions",
                      "/streamgroups/sg-1/streamsessions/s-1/connections/x", "", "streamgroups",
                      "/streamgroups/sg-1/bogus"};
  for (size_t i = 0; i < sizeof nf / sizeof nf[0]; i++) {
    r = gls_emu_route(e, "GET", nf[i], &m, &err);
    ok(r == -1 && err.status == 404 && !strcmp(err.code, "UnknownOperationException") && !m.op,
       "GET '%s': 404 UnknownOperationException", nf[i]);
  }
  r = gls_emu_route(e, "GET", "/nope", &m, &err);
  is_str(err.message, "No operation matches GET /nope", "404 message");
  /* 405 */
  r = gls_emu_route(e, "PUT", "/streamgroups/sg-1", &m, &err);
  ok(r == -1 && err.status == 405 && !strcmp(err.code, "UnknownOperationException"),
     "PUT /streamgroups/sg-1: 405 UnknownOperationException");
  is_str(err.message, "The method PUT is not allowed on /streamgroups/sg-1; it takes DELETE, GET, PATCH",
         "405 message lists the methods the path takes");
  r = gls_emu_route(e, "get", "/streamgroups", &m, &err);
  ok(r == -1 && err.status == 405, "methods are case-sensitive: 'get' is 405");
}

/* ------------------------------------------------------------ input */

static int input(gls_emu *e, const char *opname, const char *label1, const char *label2,
                 const char *query, const char *body, json_t **out, gls_emu_error *err) {
  const gls_operation *op = gls_find_operation(opname);
  gls_emu_label l[2];
  size_t nl = 0;
  const gls_shape *sh = &gls_shapes[op->input];
  for (int i = 0; i < sh->nmembers; i++) {
    const gls_member *m = &gls_members[sh->first_member + i];
    if (m->location != GLS_LOC_URI) continue;
    const char *v = nl == 0 ? label1 : label2;
    if (v) l[nl++] = (gls_emu_label){m->wire_name, v, strlen(v)};
    else nl++;
  }
  /* drop absent labels */
  size_t k = 0;
  for (size_t i = 0; i < nl; i++)
    if (i == 0 ? label1 != NULL : label2 != NULL) l[k++] = l[i];
  gls_emu_request q = {NULL, NULL, query, NULL, 0, body, body ? strlen(body) : 0};
  return gls_emu_input(e, op, l, k, &q, out, err);
}

/* Checks that input fails with code/status and exactly message. */
static void refuses(gls_emu *e, const char *opname, const char *label1, const char *label2,
                    const char *query, const char *body, const char *code, const char *message,
                    const char *what) {
  json_t *out = NULL;
  gls_emu_error err = {0};
  int r = input(e, opname, label1, label2, query, body, &out, &err);
  ok(r == -1 && !out && err.code && !strcmp(err.code, code) && err.status == 400,
     "%s: 400 %s (got %s)", what, code, err.code ? err.code : "success");
  is_str(r == -1 ? err.message : "(accepted)", message, "%s: message", what);
  json_decref(out);
}

static void test_input(gls_emu *e) {
  json_t *in = NULL;
  gls_emu_error err;
  const char *sg = "sg-1AB2C3De4";

  /* labels, query (integers, lists from repeated keys, decoding), body */
  int r = input(e, "ListStreamSessions", sg, NULL,
                "MaxResults=25&NextToken=abc%2Fdef%2Bghi%3D&Status=ACTIVE&Unknown=1", NULL, &in,
                &err);
  ok(r == 0, "ListStreamSessions input accepted");
  ok(r == 0 && json_is_integer(json_object_get(in, "MaxResults")) &&
         json_integer_value(json_object_get(in, "MaxResults")) == 25,
     "query integer MaxResults=25 is the integer 25");
  ok(r == 0 && !strcmp(json_string_value(json_object_get(in, "NextToken")), "abc/def+ghi="),
     "query value percent-decoded");
  ok(r == 0 && !strcmp(json_string_value(json_object_get(in, "Identifier")), sg),
     "label member merged in");
  ok(r == 0 && json_object_size(in) == 4, "unknown query keys are ignored (4 members)");
  json_decref(in);

  r = input(e, "ListStreamGroups", NULL, NULL, "NextToken=a+b", NULL, &in, &err);
  ok(r == 0 && !strcmp(json_string_value(json_object_get(in, "NextToken")), "a+b"),
     "'+' in a query value is a literal '+'");
  json_decref(in);

  r = input(e, "UntagResource",
            "arn:aws:gameliftstreams:us-west-2:111122223333:streamgroup/sg-1", NULL,
            "tagKeys=owner&tagKeys=env%20x&Other=1&tagKeys=z", NULL, &in, &err);
  json_t *keys = r == 0 ? json_object_get(in, "TagKeys") : NULL;
  ok(json_is_array(keys) && json_array_size(keys) == 3 &&
         !strcmp(json_string_value(json_array_get(keys, 0)), "owner") &&
         !strcmp(json_string_value(json_array_get(keys, 1)), "env x") &&
         !strcmp(json_string_value(json_array_get(keys, 2)), "z"),
     "repeated query keys make a list, in order");
  json_decref(in);

  r = input(e, "StartStreamSession", sg, NULL, NULL,
            "{\"ApplicationIdentifier\":\"a-1\",\"Protocol\":\"WebRTC\",\"SignalRequest\":\"offer\","
            "\"ConnectionTimeoutSeconds\":120,\"Bogus\":{\"x\":1},\"Locations\":[\"us-east-1\"],"
            "\"PerformanceStatsConfiguration\":{\"SharedWithClient\":true,\"Extra\":1},"
            "\"AdditionalEnvironmentVariables\":{\"A\":\"1\"},\"UserId\":null}",
            &in, &err);
  ok(r == 0, "StartStreamSession body accepted (%s)", r ? err.message : "");
  ok(r == 0 && !json_object_get(in, "Bogus") && !json_object_get(in, "UserId"),
     "unknown body members ignored, null members absent");
  ok(r == 0 && json_is_integer(json_object_get(in, "ConnectionTimeoutSeconds")),
     "body integer stays an integer");
  json_t *psc = r == 0 ? json_object_get(in, "PerformanceStatsConfiguration") : NULL;
  ok(json_is_object(psc) && json_object_size(psc) == 1 &&
         json_is_true(json_object_get(psc, "SharedWithClient")),
     "nested structure keeps its model members only");
  ok(r == 0 && json_is_array(json_object_get(in, "Locations")) &&
         json_is_object(json_object_get(in, "AdditionalEnvironmentVariables")),
     "lists are arrays, maps objects");
  json_decref(in);

  r = input(e, "GetApplication", "a-1", NULL, NULL, NULL, &in, &err);
  ok(r == 0 && json_object_size(in) == 1, "no body: labels only");
  json_decref(in);
  r = input(e, "ListApplications", NULL, NULL, NULL, "  \n", &in, &err);
  ok(r == 0 && json_object_size(in) == 0, "whitespace body counts as none");
  json_decref(in);

  /* validation: each rule kind, exactly as the service words it */
  refuses(e, "CreateStreamSessionConnection", sg, "s-1", NULL, "{}", "ValidationException",
          "1 validation error detected: Value null at 'signalRequest' failed to satisfy "
          "constraint: Member must not be null",
          "required member missing");
  refuses(e, "UpdateApplication", "a-1", NULL, NULL, "{\"Description\":\"\"}", "ValidationException",
          "2 validation errors detected: Value '' at 'description' failed to satisfy constraint: "
          "Member must have length greater than or equal to 1; Value '' at 'description' failed "
          "to satisfy constraint: Member must satisfy regular expression pattern: "
          "[a-zA-Z0-9-_.!+@/][a-zA-Z0-9-_.!+@/ ]*",
          "length min and pattern");
  char body[256];
  snprintf(body, sizeof body, "{\"Description\":\"%081d\"}", 0);
  char want[512];
  snprintf(want, sizeof want,
           "1 validation error detected: Value '%081d' at 'description' failed to satisfy "
           "constraint: Member must have length less than or equal to 80",
           0);
  refuses(e, "UpdateApplication", "a-1", NULL, NULL, body, "ValidationException", want, "length max");
  refuses(e, "GetApplication", "a b", NULL, NULL, NULL, "ValidationException",
          "1 validation error detected: Value 'a b' at 'identifier' failed to satisfy constraint: "
          "Member must satisfy regular expression pattern: "
          "(^[a-zA-Z0-9-]+$)|(^arn:aws:gameliftstreams:([^: ]*):([0-9]{12}):([^: ]*)$)",
          "pattern (the model's own text)");
  refuses(e, "ListStreamSessions", sg, NULL, "Status=BAD&MaxResults=0", NULL, "ValidationException",
          "2 validation errors detected: Value 'BAD' at 'status' failed to satisfy constraint: "
          "Member must satisfy enum value set: [ACTIVATING, ACTIVE, CONNECTED, "
          "PENDING_CLIENT_RECONNECTION, RECONNECTING, TERMINATING, TERMINATED, ERROR]; Value '0' "
          "at 'maxResults' failed to satisfy constraint: Member must have value greater than or "
          "equal to 1",
          "enum and range min, in member order");
  refuses(e, "ListStreamGroups", NULL, NULL, "MaxResults=101", NULL, "ValidationException",
          "1 validation error detected: Value '101' at 'maxResults' failed to satisfy constraint: "
          "Member must have value less than or equal to 100",
          "range max");
  refuses(e, "CreateStreamUrl", sg, NULL, NULL,
          "{\"ApplicationIdentifier\":\"a-1\",\"Protocol\":\"WebRTC\",\"UrlExpiresAfterMinutes\":5,"
          "\"Locations\":[]}",
          "ValidationException",
          "1 validation error detected: Value '[]' at 'locations' failed to satisfy constraint: "
          "Member must have length greater than or equal to 1",
          "list length min");
  refuses(e, "AddStreamGroupLocations", sg, NULL, NULL,
          "{\"LocationConfigurations\":[{\"LocationName\":\"us-east-1\"},"
          "{\"LocationName\":\"!!\",\"AlwaysOnCapacity\":-1}]}",
          "ValidationException",
          "2 validation errors detected: Value '!!' at "
          "'locationConfigurations.2.member.locationName' failed to satisfy constraint: Member "
          "must satisfy regular expression pattern: [a-zA-Z0-9-]+; Value '-1' at "
          "'locationConfigurations.2.member.alwaysOnCapacity' failed to satisfy constraint: "
          "Member must have value greater than or equal to 0",
          "nested member paths (1-based list index)");
  refuses(e, "StartStreamSession", sg, NULL, NULL,
          "{\"ApplicationIdentifier\":\"a-1\",\"Protocol\":\"WebRTC\",\"SignalRequest\":\"o\","
          "\"Locations\":[\"us-east-1\",\"!!\"]}",
          "ValidationException",
          "1 validation error detected: Value '!!' at 'locations.2.member' failed to satisfy "
          "constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9-]+",
          "scalar list element path");
  refuses(e, "TagResource", "arn:aws:gameliftstreams:us-west-2:111122223333:streamgroup/sg-1", NULL,
          NULL, "{\"Tags\":{\"\":\"v\"}}", "ValidationException",
          "1 validation error detected: Value '' at 'tags' failed to satisfy constraint: Map keys "
          "must satisfy constraint: [Member must have length greater than or equal to 1]",
          "map key rule");
  refuses(e, "CreateStreamSessionConnection", sg, "s-1", NULL,
          "{\"SignalRequest\":\"\",\"ClientToken\":\"short\"}", "ValidationException",
          "2 validation errors detected: Value 'short' at 'clientToken' failed to satisfy "
          "constraint: Member must have length greater than or equal to 32; Value '***' at "
          "'signalRequest' failed to satisfy constraint: Member must have length greater than or "
          "equal to 1",
          "ClientToken length from the model; sensitive value shown as ***");
  refuses(e, "CreateStreamSessionConnection", sg, "s-1", NULL,
          "{\"SignalRequest\":\"offer\",\"ClientToken\":\"                                \"}",
          "ValidationException",
          "1 validation error detected: Value '                                ' at "
          "'clientToken' failed to satisfy constraint: Member must satisfy regular expression "
          "pattern: [\\x21-\\x7E]+",
          "ClientToken pattern from the model (32 spaces: no visible character)");
  /* model patterns are searched, not anchored (Smithy): "x y" holds a match */
  json_t *ok_in = NULL;
  r = input(e, "StartStreamSession", sg, NULL, NULL,
            "{\"ApplicationIdentifier\":\"a-1\",\"Protocol\":\"WebRTC\",\"SignalRequest\":\"o\","
            "\"Locations\":[\"x y\"]}",
            &ok_in, &err);
  ok(r == 0, "an unanchored pattern accepts a value that merely contains a match");
  json_decref(ok_in);

  /* a sensitive value never appears, whatever fails */
  json_t *o = NULL;
  r = input(e, "StartStreamSession", "bad id", NULL, NULL,
            "{\"ApplicationIdentifier\":\"a-1\",\"Protocol\":\"nope\",\"SignalRequest\":\"\"}", &o,
            &err);
  ok(r == -1 && strstr(err.message, "3 validation errors detected") &&
         strstr(err.message, "Value '***' at 'signalRequest'"),
     "sensitive member among several errors: shown as '***'");

  /* serialization */
  refuses(e, "UpdateApplication", "a-1", NULL, NULL, "{\"Description\":", "SerializationException",
          "Could not parse the request body as JSON: unexpected token near end of file (line 1, "
          "column 15)",
          "body not JSON");
  refuses(e, "UpdateApplication", "a-1", NULL, NULL, "[1]", "SerializationException",
          "Start of list found where not expected", "body is an array");
  refuses(e, "UpdateApplication", "a-1", NULL, NULL, "\"text\"", "SerializationException",
          "STRING_VALUE can not be converted to a Structure", "body is a string");
  refuses(e, "StartStreamSession", sg, NULL, NULL,
          "{\"ConnectionTimeoutSeconds\":\"120\"}", "SerializationException",
          "STRING_VALUE can not be converted to an Integer at 'connectionTimeoutSeconds'",
          "string for an integer");
  refuses(e, "StartStreamSession", sg, NULL, NULL,
          "{\"ConnectionTimeoutSeconds\":4294967296}", "SerializationException",
          "Numeric value (4294967296) out of range of int at 'connectionTimeoutSeconds'",
          "integer out of range");
  refuses(e, "StartStreamSession", sg, NULL, NULL, "{\"Locations\":\"us-east-1\"}",
          "SerializationException",
          "STRING_VALUE can not be converted to a List at 'locations'", "string for a list");
  refuses(e, "StartStreamSession", sg, NULL, NULL,
          "{\"PerformanceStatsConfiguration\":{\"SharedWithClient\":\"yes\"}}",
          "SerializationException",
          "STRING_VALUE can not be converted to a Boolean at "
          "'performanceStatsConfiguration.sharedWithClient'",
          "nested wrong type names the member");
  refuses(e, "ListStreamGroups", NULL, NULL, "MaxResults=ten", NULL, "SerializationException",
          "STRING_VALUE can not be converted to an Integer at 'maxResults'",
          "query integer not a number");
  refuses(e, "ListStreamGroups", NULL, NULL, "MaxResults=+5", NULL, "SerializationException",
          "STRING_VALUE can not be converted to an Integer at 'maxResults'",
          "query integers are strict (no '+')");
  refuses(e, "ListStreamGroups", NULL, NULL, "NextToken=%FF", NULL, "SerializationException",
          "Invalid UTF-8 at 'nextToken'", "query value not UTF-8");
}

/* ------------------------------------------------------------ verification */

static void expect(gls_emu *e, const sreq *r, int64_t now, const char *code, const char *message,
                   const char *what) {
  gls_emu_identity who;
  gls_emu_error err = {0};
  int rc = verify(e, r, now, &who, &err);
  ok(rc == -1 && err.code && !strcmp(err.code, code) && err.status == 403, "%s: 403 %s (got %s)",
     what, code, rc ? err.code : "success");
  if (message) is_str(rc ? err.message : "(verified)", message, "%s: message", what);
  ok(rc == 0 || clean_message(err.message, r->sig), "%s: no secret, token or signature in the message",
     what);
}

static void test_verify(gls_emu *e) {
  gls_signer *s = gls_signer_new();
  sreq r;
  gls_emu_identity who;
  gls_emu_error err;
  const char *body = "{\"SignalRequest\":\"offer\"}";
  const char *path = "/streamgroups/sg-1/streamsessions/s-1/connections";

  ok(sign(s, &r, "POST", path, NULL, body, AKID, SECRET, NULL, "gameliftstreams", T0, 0) == GLS_OK,
     "signed a request with the core signer");
  int rc = verify(e, &r, T0, &who, &err);
  ok(rc == 0, "a correctly signed request verifies (%s)", rc ? err.message : "");
  ok(rc == 0 && !strcmp(who.access_key_id, AKID) && !strcmp(who.region, "us-west-2"),
     "identity: access key id and the scope's region");
  ok(verify(e, &r, T0 + 300, &who, &err) == 0 && verify(e, &r, T0 - 300, &who, &err) == 0,
     "300 s of skew either way is accepted");

  /* ARN labels travel encoded; the signer double-encodes them again */
  sreq a;
  sign(s, &a, "GET", "/tags/arn%3Aaws%3Agameliftstreams%3Aus-west-2%3A111122223333%3Astreamgroup%2Fsg-1",
       "MaxResults=5&NextToken=a%2Bb", "", AKID, SECRET, NULL, "gameliftstreams", T0, 0);
  ok(verify(e, &a, T0, &who, &err) == 0, "encoded path and query verify");

  /* tampering */
  sreq t;
  sreq_copy(&t, &r);
  gls_header *ct = find(&t, "content-type");
  ((char *)ct->value)[0] = 'b';
  expect(e, &t, T0, "InvalidSignatureException", MISMATCH, "a signed header byte changed");
  sreq_copy(&t, &r);
  t.body[5] ^= 1;
  expect(e, &t, T0, "InvalidSignatureException", MISMATCH, "a body byte changed");
  sreq_copy(&t, &r);
  t.path[3] = 'x';
  expect(e, &t, T0, "InvalidSignatureException", MISMATCH, "a path character changed");
  sreq_copy(&t, &a);
  t.query[0] = 'N';
  expect(e, &t, T0, "InvalidSignatureException", MISMATCH, "a query character changed");
  sreq_copy(&t, &r);
  gls_header *au = find(&t, "authorization");
  char *sigp = strstr((char *)au->value, "Signature=") + 10;
  sigp[10] = sigp[10] == 'a' ? 'b' : 'a';
  expect(e, &t, T0, "InvalidSignatureException", MISMATCH, "a signature hex digit changed");

  /* an extra unsigned header does not matter */
  sreq_copy(&t, &r);
  sreq_add(&t, "User-Agent", "test/1.0", 8);
  ok(verify(e, &t, T0, &who, &err) == 0, "an unsigned header added later is ignored");

  /* unknown key, wrong secret, wrong service */
  sign(s, &t, "POST", path, NULL, body, "AKIDUNKNOWN", SECRET, NULL, "gameliftstreams", T0, 0);
  expect(e, &t, T0, "UnrecognizedClientException", BAD_TOKEN, "unknown access key");
  sign(s, &t, "POST", path, NULL, body, AKID, "wrong-secret", NULL, "gameliftstreams", T0, 0);
  expect(e, &t, T0, "InvalidSignatureException", MISMATCH, "wrong secret");
  sign(s, &t, "POST", path, NULL, body, AKID, SECRET, NULL, "gamelift", T0, 0);
  expect(e, &t, T0, "InvalidSignatureException",
         "Credential should be scoped to correct service: 'gameliftstreams'. ",
         "scope service gamelift");

  /* skew, both directions, the contract's wording */
  expect(e, &r, T0 + 25 * 60, "InvalidSignatureException",
         "Signature expired: 20150830T123600Z is now earlier than 20150830T125600Z "
         "(20150830T130100Z - 5 min.)",
         "signed 25 minutes ago");
  sign(s, &t, "POST", path, NULL, body, AKID, SECRET, NULL, "gameliftstreams", T0 + 60 * 60, 0);
  expect(e, &t, T0 + 25 * 60, "InvalidSignatureException",
         "Signature not yet current: 20150830T133600Z is still later than 20150830T130600Z "
         "(20150830T130100Z + 5 min.)",
         "signed 35 minutes ahead");
  expect(e, &r, T0 + 301, "InvalidSignatureException", NULL, "301 s late");
  expect(e, &r, T0 - 301, "InvalidSignatureException", NULL, "301 s early");

  /* missing and malformed */
  sreq_copy(&t, &r);
  t.nh = 0;
  expect(e, &t, T0, "MissingAuthenticationTokenException", "Missing Authentication Token",
         "no Authorization header");
  sreq_copy(&t, &r);
  au = find(&t, "authorization");
  char *cut = strstr((char *)au->value, ", Signature=");
  au->value_len = (size_t)(cut - au->value);
  char want[600];
  snprintf(want, sizeof want, "Authorization header requires 'Signature' parameter. Authorization=%.*s",
           (int)au->value_len, au->value);
  expect(e, &t, T0, "IncompleteSignatureException", want, "Authorization without Signature");
  sreq_copy(&t, &r);
  au = find(&t, "authorization");
  au->value = "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=0123456789abcdef";
  au->value_len = strlen(au->value);
  snprintf(t.sig, sizeof t.sig, "0123456789abcdef");
  expect(e, &t, T0, "IncompleteSignatureException",
         "Authorization header requires 'Credential' parameter. Authorization=AWS4-HMAC-SHA256 "
         "SignedHeaders=host, Signature=***",
         "Authorization without Credential: the Signature value is elided");
  sreq_copy(&t, &r);
  au = find(&t, "authorization");
  au->value = "Bearer abc";
  au->value_len = 10;
  expect(e, &t, T0, "IncompleteSignatureException",
         "Authorization header requires 'Credential' parameter. Authorization header requires "
         "'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. "
         "Authorization=Bearer abc",
         "a Bearer token");
  sreq_copy(&t, &r);
  gls_header *dh = find(&t, "x-amz-date");
  dh->value = "2015-08-30T12:36:00Z";
  dh->value_len = strlen(dh->value);
  expect(e, &t, T0, "IncompleteSignatureException",
         "Date must be in ISO-8601 'basic format'. Got '2015-08-30T12:36:00Z'.", "X-Amz-Date not basic");
  sreq_copy(&t, &r);
  find(&t, "x-amz-date")->name = "X-Other";
  expect(e, &t, T0, "IncompleteSignatureException", NULL, "no X-Amz-Date nor Date header");
  rc = verify(e, &t, T0, &who, &err);
  ok(rc == -1 && !strncmp(err.message, "Authorization header requires existence of either a "
                                       "'X-Amz-Date' or a 'Date' header. Authorization=AWS4-HMAC-SHA256 "
                                       "Credential=AKIDEXAMPLE/20150830/us-west-2/gameliftstreams/aws4_request, ", 171) &&
         strstr(err.message, ", Signature=***") && !strstr(err.message, r.sig),
     "no date header: named, Authorization echoed with the Signature elided");
  sreq_copy(&t, &r);
  au = find(&t, "authorization");
  au->value = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-west-2/aws4_request, "
              "SignedHeaders=host;x-amz-date, Signature=00";
  au->value_len = strlen(au->value);
  expect(e, &t, T0, "IncompleteSignatureException",
         "Credential must have exactly 5 slash-delimited elements, e.g. "
         "keyid/date/region/service/term, got 'AKIDEXAMPLE/20150830/us-west-2/aws4_request'",
         "a credential scope of 4 elements");
  au->value = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150831/us-west-2/gameliftstreams/"
              "aws4_request, SignedHeaders=host;x-amz-date, Signature=00";
  au->value_len = strlen(au->value);
  expect(e, &t, T0, "InvalidSignatureException",
         "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
         "HTTP: '20150831' != '20150830', from '20150830T123600Z'.",
         "scope date is not the request's");
  au->value = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-west-2/gameliftstreams/"
              "aws4_request, SignedHeaders=x-amz-date, Signature=00";
  au->value_len = strlen(au->value);
  expect(e, &t, T0, "IncompleteSignatureException",
         "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
         "host not signed");

  /* session tokens */
  sign(s, &t, "POST", path, NULL, body, TOKEN_AKID, TOKEN_SECRET, TOKEN, "gameliftstreams", T0, 0);
  rc = verify(e, &t, T0, &who, &err);
  ok(rc == 0 && !strcmp(who.access_key_id, TOKEN_AKID), "session token: the right one verifies (%s)",
     rc ? err.message : "");
  sign(s, &t, "POST", path, NULL, body, TOKEN_AKID, TOKEN_SECRET, NULL, "gameliftstreams", T0, 0);
  expect(e, &t, T0, "UnrecognizedClientException", BAD_TOKEN, "session token missing");
  sign(s, &t, "POST", path, NULL, body, TOKEN_AKID, TOKEN_SECRET,
       "FwoGZXIvYXdzEXAMPLETOKEN//////////wEaDExampleSessionTokeX", "gameliftstreams", T0, 0);
  expect(e, &t, T0, "UnrecognizedClientException", BAD_TOKEN, "session token wrong (last byte)");
  sign(s, &t, "POST", path, NULL, body, AKID, SECRET, TOKEN, "gameliftstreams", T0, 0);
  expect(e, &t, T0, "UnrecognizedClientException", BAD_TOKEN,
         "a token on a key that takes none");

  /* presigned (query) form */
  sreq qf;
  ok(sign(s, &qf, "GET", "/streamgroups/sg-1", "a=1", "", AKID, SECRET, NULL, "gameliftstreams",
          T0, 1) == GLS_OK && strstr(qf.query, "X-Amz-Signature="),
     "presigned a GET with the core signer");
  rc = verify(e, &qf, T0 + 10, &who, &err);
  ok(rc == 0 && !strcmp(who.access_key_id, AKID), "query form verifies (%s)", rc ? err.message : "");
  ok(verify(e, &qf, T0 + 300, &who, &err) == 0, "query form: valid until X-Amz-Expires (300 s)");
  expect(e, &qf, T0 + 301, "InvalidSignatureException", "Request has expired.",
         "query form after X-Amz-Expires");
  sreq_copy(&t, &qf);
  char *qs = strstr(t.query, "X-Amz-Signature=") + 16;
  qs[0] = qs[0] == 'a' ? 'b' : 'a';
  expect(e, &t, T0, "InvalidSignatureException", MISMATCH, "query form signature changed");
  sreq_copy(&t, &qf);
  t.query[2] = '2';
  expect(e, &t, T0, "InvalidSignatureException", MISMATCH, "query form: a parameter changed");
  sreq_copy(&t, &qf);
  *strstr(t.query, "&X-Amz-Expires") = '\0';
  expect(e, &t, T0, "IncompleteSignatureException",
         "AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', "
         "'X-Amz-Signature', 'X-Amz-Date', 'X-Amz-SignedHeaders', and 'X-Amz-Expires'. "
         "Re-examine the query-string parameters.",
         "query form without X-Amz-Expires");
  sign(s, &t, "GET", "/streamgroups/sg-1", NULL, "", TOKEN_AKID, TOKEN_SECRET, TOKEN,
       "gameliftstreams", T0, 1);
  ok(verify(e, &t, T0, &who, &err) == 0, "query form with a session token verifies");

  /* the Date header instead of X-Amz-Date (signed as it is) */
  {
    sreq d;
    memset(&d, 0, sizeof d);
    snprintf(d.method, sizeof d.method, "GET");
    snprintf(d.path, sizeof d.path, "/applications");
    sreq_add(&d, "Host", "example", 7);
    sreq_add(&d, "Date", "20150830T123600Z", 16);
    gls_sigv4_params p;
    memset(&p, 0, sizeof p);
    p.method = "GET";
    p.path = "/applications";
    p.headers = d.h;
    p.nheaders = d.nh;
    p.access_key_id = AKID;
    p.secret_access_key = SECRET;
    p.region = "us-west-2";
    p.service = "gameliftstreams";
    p.time = T0;
    p.normalize_path = p.double_encode = 1;
    p.date_in_headers = 1;
    gls_sigv4_result res;
    char e2[200];
    gls_status st = gls_signer_sign(s, &p, &res, e2, sizeof e2);
    sreq_add(&d, "Authorization", res.added[0].value, res.added[0].value_len);
    ok(st == GLS_OK && verify(e, &d, T0, &who, &err) == 0, "Date header form verifies");
  }

  /* signed x-amz-content-sha256 must be the body's hash */
  {
    sreq b;
    memset(&b, 0, sizeof b);
    snprintf(b.method, sizeof b.method, "POST");
    snprintf(b.path, sizeof b.path, "%s", path);
    snprintf(b.body, sizeof b.body, "%s", body);
    sreq_add(&b, "Host", "example", 7);
    gls_sigv4_params p;
    memset(&p, 0, sizeof p);
    p.method = "POST";
    p.path = path;
    p.headers = b.h;
    p.nheaders = b.nh;
    p.body = body;
    p.body_len = strlen(body);
    p.access_key_id = AKID;
    p.secret_access_key = SECRET;
    p.region = "us-west-2";
    p.service = "gameliftstreams";
    p.time = T0;
    p.normalize_path = p.double_encode = 1;
    p.sign_body = 1;
    gls_sigv4_result res;
    char e2[200];
    gls_signer_sign(s, &p, &res, e2, sizeof e2);
    for (size_t i = 0; i < res.nadded; i++) {
      char name[64];
      snprintf(name, sizeof name, "%.*s", (int)res.added[i].name_len, res.added[i].name);
      sreq_add(&b, name, res.added[i].value, res.added[i].value_len);
    }
    ok(verify(e, &b, T0, &who, &err) == 0, "signed x-amz-content-sha256 verifies");
    b.body[3] ^= 1;
    expect(e, &b, T0, "InvalidSignatureException", MISMATCH,
           "signed x-amz-content-sha256 no longer the body's");
  }

  /* repeated header names: values joined in received order */
  {
    sreq m2;
    memset(&m2, 0, sizeof m2);
    snprintf(m2.method, sizeof m2.method, "GET");
    snprintf(m2.path, sizeof m2.path, "/applications");
    sreq_add(&m2, "Host", "example", 7);
    sreq_add(&m2, "X-Amz-Meta", "one", 3);
    sreq_add(&m2, "x-amz-meta", " two ", 5);
    gls_sigv4_params p;
    memset(&p, 0, sizeof p);
    p.method = "GET";
    p.path = "/applications";
    p.headers = m2.h;
    p.nheaders = m2.nh;
    p.access_key_id = AKID;
    p.secret_access_key = SECRET;
    p.region = "us-west-2";
    p.service = "gameliftstreams";
    p.time = T0;
    p.normalize_path = p.double_encode = 1;
    gls_sigv4_result res;
    char e2[200];
    gls_signer_sign(s, &p, &res, e2, sizeof e2);
    for (size_t i = 0; i < res.nadded; i++) {
      char name[64];
      snprintf(name, sizeof name, "%.*s", (int)res.added[i].name_len, res.added[i].name);
      sreq_add(&m2, name, res.added[i].value, res.added[i].value_len);
    }
    ok(verify(e, &m2, T0, &who, &err) == 0, "a header sent twice verifies");
    gls_header tmp = m2.h[1];
    m2.h[1] = m2.h[2];
    m2.h[2] = tmp;
    expect(e, &m2, T0, "InvalidSignatureException", MISMATCH,
           "the two values of a repeated header swapped");
  }
  gls_signer_free(s);
}

/* ------------------------------------------------------------ output */

static void test_output(gls_emu *e) {
  const char *text;
  size_t len;
  gls_emu_error err;
  json_t *o = json_pack("{s:{}, s:s, s:i}", "Items", "NextToken", "x", "Junk", 1);
  int r = gls_emu_output(e, gls_find_operation("ListStreamGroups"), o, &text, &len, &err);
  is_str(r == 0 ? text : err.message, "{\"Items\":[],\"NextToken\":\"x\"}",
         "output: empty table is an empty list, unknown members dropped");
  ok(r == 0 && len == strlen(text), "output length");
  json_decref(o);

  o = json_pack("{s:s, s:s, s:f, s:[], s:{s:i}}", "Arn", "arn:x", "CreatedAt",
                "2015-08-30T12:36:00Z", "LastUpdatedAt", 1440938160.5, "LocationStates",
                "DefaultApplication", "Id", 5);
  r = gls_emu_output(e, gls_find_operation("GetStreamGroup"), o, &text, &len, &err);
  ok(r == -1 && !strcmp(err.code, "SerializationException") && err.status == 500 &&
         !strcmp(err.message, "NUMBER_VALUE can not be converted to a String at 'defaultApplication.id'"),
     "output: a wrong type names the member (%s)", r ? err.message : text);
  json_object_set_new(json_object_get(o, "DefaultApplication"), "Id", json_string("a-1"));
  r = gls_emu_output(e, gls_find_operation("GetStreamGroup"), o, &text, &len, &err);
  is_str(r == 0 ? text : err.message,
         "{\"Arn\":\"arn:x\",\"DefaultApplication\":{\"Id\":\"a-1\"},\"LocationStates\":[],"
         "\"LastUpdatedAt\":1440938160.5,\"CreatedAt\":1440938160}",
         "output: model member order, ISO timestamp to epoch seconds");
  json_decref(o);

  r = gls_emu_output(e, gls_find_operation("DeleteStreamGroup"), NULL, &text, &len, &err);
  ok(r == 0 && len == 0 && !strcmp(text, ""), "an operation without output gives an empty body");
}

int main(void) {
  gls_emu *e = gls_emu_new();
  if (!e) {
    printf("Bail out! gls_emu_new failed\n");
    return 1;
  }
  test_routing(e);
  test_input(e);
  test_verify(e);
  ok(lookups > 0, "the credential lookup was used");
  test_output(e);
  gls_emu_free(e);
  return done_testing();
}
