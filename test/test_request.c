/* test_request.c - model tables, validation and request building (no network). */
#include <stdlib.h>
#include <string.h>
#include "gls_private.h"
#include "tap.h"

static gls_status prep(gls_regexes *re, const char *op, const char *in, gls_prepared *p, gls_buf *err) {
  gls_buf_reset(err);
  return gls_prepare(re, gls_find_operation(op), in, strlen(in), NULL, p, err);
}

/* Prepares, expects status st and (when want is set) want in the message. */
static void expect(gls_regexes *re, const char *op, const char *in, gls_status st, const char *want,
                   const char *what) {
  gls_prepared p;
  gls_buf err = {0};
  gls_status got = gls_prepare(re, gls_find_operation(op), in, strlen(in), NULL, &p, &err);
  ok(got == st && (!want || (err.data && strstr(err.data, want))), "%s: %s", what, err.data ? err.data : "");
  if (got == GLS_OK) gls_prepared_free(&p);
  gls_buf_free(&err);
}

int main(void) {
  gls_regexes *re = gls_regexes_new();
  gls_prepared p;
  gls_buf err = {0};

  ok(gls_operation_count() == 30, "the model has 30 operations (got %zu)", gls_operation_count());
  ok(gls_find_operation("CreateStreamSessionConnection") == gls_find_operation("create_stream_session_connection"),
     "operations are found by model name and by snake_case name");
  ok(gls_find_operation("NoSuchThing") == NULL, "unknown operations are not found");
  const gls_operation *op = gls_find_operation("CreateStreamSessionConnection");
  is_str(op->method, "POST", "reconnect is a POST");
  is_str(op->uri, "/streamgroups/{Identifier}/streamsessions/{StreamSessionIdentifier}/connections",
         "reconnect URI template");

  /* the reconnect call, built */
  ok(prep(re, "CreateStreamSessionConnection",
          "{\"Identifier\":\"sg-1AB2C3De4\",\"StreamSessionIdentifier\":\"ABC123def4567\",\"SignalRequest\":\"offer\"}",
          &p, &err) == GLS_OK, "a valid reconnect input prepares");
  is_str(p.path.data, "/streamgroups/sg-1AB2C3De4/streamsessions/ABC123def4567/connections", "path labels filled");
  ok(p.query.len == 0, "no query");
  ok(strlen(p.client_token) == 36 && p.client_token[14] == '4', "a UUID v4 ClientToken was made: %s", p.client_token);
  ok(strstr(p.body.data, p.client_token) && strstr(p.body.data, "\"SignalRequest\":\"offer\""),
     "body carries the token and the offer");
  ok(!strstr(p.body.data, "Identifier"), "URI members stay out of the body");
  gls_prepared_free(&p);

  /* ARN identifiers are percent-encoded as one label */
  ok(prep(re, "GetStreamGroup",
          "{\"Identifier\":\"arn:aws:gameliftstreams:us-west-2:111122223333:streamgroup/sg-1AB2C3De4\"}", &p,
          &err) == GLS_OK, "an ARN identifier is valid");
  is_str(p.path.data, "/streamgroups/arn%3Aaws%3Agameliftstreams%3Aus-west-2%3A111122223333%3Astreamgroup%2Fsg-1AB2C3De4",
         "':' and '/' in an ARN label are encoded");
  ok(!p.has_body, "GET has no body");
  gls_prepared_free(&p);

  /* a given ClientToken is kept */
  ok(prep(re, "CreateStreamSessionConnection",
          "{\"Identifier\":\"sg-1\",\"StreamSessionIdentifier\":\"s-1\",\"SignalRequest\":\"o\",\"ClientToken\":\"tok-12345678901234567890123456789012\"}",
          &p, &err) == GLS_OK, "explicit token accepted");
  is_str(p.client_token, "tok-12345678901234567890123456789012", "explicit ClientToken kept");
  gls_prepared_free(&p);

  /* query members, repeated list keys */
  ok(prep(re, "ListStreamSessions", "{\"Identifier\":\"sg-1\",\"Status\":\"ACTIVE\",\"MaxResults\":25}", &p, &err) == GLS_OK,
     "list input prepares");
  is_str(p.query.data, "Status=ACTIVE&MaxResults=25", "query built from querystring members");
  gls_prepared_free(&p);
  ok(prep(re, "RemoveStreamGroupLocations", "{\"Identifier\":\"sg-1\",\"Locations\":[\"us-east-1\",\"eu-west-1\"]}", &p, &err) == GLS_OK,
     "list query member prepares");
  is_str(p.query.data, "locations=us-east-1&locations=eu-west-1", "list query members repeat the key");
  gls_prepared_free(&p);

  /* validation: each rule names the member */
  const char *CSSC = "CreateStreamSessionConnection";
  const gls_status PV = GLS_E_PARAM_VALIDATION;
  expect(re, CSSC, "{\"Identifier\":\"sg-1\",\"StreamSessionIdentifier\":\"s\"}", PV,
         "Missing required parameter in input: \"SignalRequest\"", "required");
  expect(re, CSSC, "{\"Identifier\":\"sg 1\",\"StreamSessionIdentifier\":\"s\",\"SignalRequest\":\"o\"}", PV,
         "Invalid value for parameter Identifier, value: \"sg 1\", must match pattern", "pattern");
  expect(re, CSSC, "{\"Identifier\":\"\",\"StreamSessionIdentifier\":\"s\",\"SignalRequest\":\"o\"}", PV,
         "Invalid length for parameter Identifier, value: 0, valid min length: 1", "min length");
  expect(re, CSSC, "{\"Identifier\":\"sg-1\",\"StreamSessionIdentifier\":\"s\",\"SignalRequest\":\"\"}", PV,
         "Invalid length for parameter SignalRequest", "empty offer refused");
  expect(re, "ListStreamSessions", "{\"Identifier\":\"sg-1\",\"Status\":\"NAPPING\"}", PV,
         "Invalid value for parameter Status, value: \"NAPPING\", valid values: ", "enum");
  expect(re, "ListStreamSessions", "{\"Identifier\":\"sg-1\",\"MaxResults\":0}", PV,
         "Invalid range for parameter MaxResults, value: 0, valid min value: 1", "range");
  expect(re, "ListStreamSessions", "{\"Identifier\":\"sg-1\",\"MaxResults\":\"ten\"}", PV,
         "Invalid type for parameter MaxResults, type: string, valid types: integer", "type");
  /* fuzz/regressions/prepare: a real too big for 64 bits was cast (undefined) */
  expect(re, "ListStreamSessions", "{\"Identifier\":\"sg-1\",\"MaxResults\":2.2222e43}", PV,
         "Invalid type for parameter MaxResults", "a real beyond 64 bits is no integer");
  expect(re, "ListStreamSessions", "{\"Identifier\":\"sg-1\",\"MaxResults\":2.5}", PV,
         "Invalid type for parameter MaxResults", "a real with a fraction is no integer");
  expect(re, "ListStreamSessions", "{\"Identifier\":\"sg-1\",\"MaxResults\":25.0}", GLS_OK, NULL,
         "a real without a fraction is an integer");
  expect(re, "GetStreamGroup", "{\"Identifier\":\"sg-1\",\"Bogus\":1}", PV,
         "Unknown parameter in input: \"Bogus\", must be one of: Identifier", "unknown member");
  char big[300];
  memset(big, 'a', sizeof big);
  big[sizeof big - 1] = '\0';
  char in[600];
  snprintf(in, sizeof in, "{\"Identifier\":\"%s\"}", big);
  expect(re, "GetStreamGroup", in, PV, "Invalid length for parameter Identifier, value: 299, valid max length: 128",
         "max length");
  /* sensitive values never appear in messages */
  const char *sens = "{\"Identifier\":\"sg-1\",\"ApplicationIdentifier\":\"a-1\",\"Protocol\":\"WebRTC\","
                     "\"SignalRequest\":\"secret-offer\",\"RoleArn\":\"not-an-arn-secret\"}";
  gls_buf_reset(&err);
  gls_status sst = gls_prepare(re, gls_find_operation("StartStreamSession"), sens, strlen(sens), NULL, &p, &err);
  ok(sst == PV && strstr(err.data, "RoleArn") && !strstr(err.data, "not-an-arn-secret"),
     "a sensitive member's value is not shown: %s", err.data);
  /* nested structures and list elements are named by path */
  expect(re, "StartStreamSession",
         "{\"Identifier\":\"sg-1\",\"ApplicationIdentifier\":\"a-1\",\"Protocol\":\"WebRTC\",\"SignalRequest\":\"o\","
         "\"Locations\":[\"us-east-1\",\"\"]}", PV, "Invalid length for parameter Locations[1]", "list element path");
  expect(re, "StartStreamSession",
         "{\"Identifier\":\"sg-1\",\"ApplicationIdentifier\":\"a-1\",\"Protocol\":\"WebRTC\",\"SignalRequest\":\"o\","
         "\"PerformanceStatsConfiguration\":{\"SharedWithClient\":1}}", PV,
         "Invalid type for parameter PerformanceStatsConfiguration.SharedWithClient", "nested member path");
  /* {} for a list (an empty Lua table) is an empty list */
  ok(prep(re, "StartStreamSession",
          "{\"Identifier\":\"sg-1\",\"ApplicationIdentifier\":\"a-1\",\"Protocol\":\"WebRTC\",\"SignalRequest\":\"o\",\"AdditionalLaunchArgs\":{}}",
          &p, &err) == GLS_OK && strstr(p.body.data, "\"AdditionalLaunchArgs\":[]"),
     "an empty object for a list member is sent as []");
  gls_prepared_free(&p);
  /* misuse: not JSON, not an object */
  ok(prep(re, "GetStreamGroup", "{\"Identifier\":", &p, &err) == GLS_E_INVALID_ARGUMENT, "invalid JSON is misuse");
  ok(prep(re, "GetStreamGroup", "[1]", &p, &err) == GLS_E_INVALID_ARGUMENT, "a JSON array is misuse");
  /* an operation whose input has body members but none given sends {} */
  ok(prep(re, "UpdateApplication", "{\"Identifier\":\"a-1\"}", &p, &err) == GLS_OK && p.has_body &&
         !strcmp(p.body.data, "{}"), "body-capable input with no body members sends {}");
  gls_prepared_free(&p);

  /* uuid4 */
  char u1[37], u2[37];
  ok(gls_uuid4(u1) == 0 && gls_uuid4(u2) == 0 && strcmp(u1, u2) && u1[14] == '4' &&
         strchr("89ab", u1[19]), "uuid4 is random and v4: %s", u1);

  gls_buf_free(&err);
  gls_regexes_free(re);
  return done_testing();
}
