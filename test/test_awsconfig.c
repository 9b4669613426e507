/* test_awsconfig.c - the shared config and credentials files, read as
 * botocore reads them (fixtures written into a temporary directory). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "awsconfig.h"
#include "tap.h"

static char dir[64];
static char cfg_path[128], cred_path[128];

static void write_file(const char *path, const char *text) {
  FILE *fp = fopen(path, "wb");
  if (!fp) {
    perror(path);
    exit(2);
  }
  fwrite(text, 1, strlen(text), fp);
  fclose(fp);
}

/* Writes both files (NULL = no such file) and loads them. */
static gls_awsconfig *load(const char *config, const char *credentials, gls_buf *err) {
  unlink(cfg_path);
  unlink(cred_path);
  if (config) write_file(cfg_path, config);
  if (credentials) write_file(cred_path, credentials);
  gls_buf_reset(err);
  return gls_awsconfig_load_files(cfg_path, cred_path, err);
}

/* A fake environment: NULL-terminated name, value pairs. */
static const char *fake_getenv(void *ud, const char *name) {
  const char *const *kv = ud;
  for (; kv[0]; kv += 2)
    if (!strcmp(kv[0], name)) return kv[1];
  return NULL;
}

#define GET(c, p, k) gls_awsconfig_get((c), (p), (k))

/* Loads a file that must fail; checks the message names the file and line. */
static void expect_error(const char *config, const char *line, const char *what) {
  gls_buf err = {0};
  gls_awsconfig *c = load(config, NULL, &err);
  char want[64];
  snprintf(want, sizeof want, "line %s:", line);
  ok(c == NULL && err.data && strstr(err.data, cfg_path) && strstr(err.data, want),
     "%s: NULL and a message naming the file and line %s (%s)", what, line,
     err.data ? err.data : "no message");
  gls_awsconfig_free(c);
  gls_buf_free(&err);
}

int main(void) {
  gls_buf err = {0};
  gls_awsconfig *c;
  strcpy(dir, "/tmp/gls-awsconfig-XXXXXX");
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 2;
  }
  snprintf(cfg_path, sizeof cfg_path, "%s/config", dir);
  snprintf(cred_path, sizeof cred_path, "%s/credentials", dir);

  /* ---- basics: [default], [profile NAME], credentials on top */
  c = load("[default]\nregion = us-west-2\noutput=json\n"
           "[profile dev]\nregion = eu-west-1\nrole_arn = arn:aws:iam::123456789012:role/r\n",
           "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = s3cr3t/+=\n"
           "[dev]\nregion = us-east-2\naws_access_key_id = AKIDDEV\n",
           &err);
  ok(c != NULL, "a plain config and credentials pair loads");
  is_str(GET(c, "default", "region"), "us-west-2", "[default] is the default profile");
  is_str(GET(c, "default", "output"), "json", "key=value without spaces");
  is_str(GET(c, "default", "aws_secret_access_key"), "s3cr3t/+=", "a credentials value with '=' in it");
  is_str(GET(c, "dev", "role_arn"), "arn:aws:iam::123456789012:role/r", "[profile dev] is profile dev");
  is_str(GET(c, "dev", "region"), "us-east-2", "the credentials file wins for the same key");
  is_str(GET(c, "dev", "aws_access_key_id"), "AKIDDEV", "credentials keys are added to the profile");
  ok(GET(c, "dev", "output") == NULL, "keys are not inherited from [default]");
  ok(GET(c, "nope", "region") == NULL, "an unknown profile has no values");
  ok(gls_awsconfig_has_profile(c, "default") && gls_awsconfig_has_profile(c, "dev") &&
         !gls_awsconfig_has_profile(c, "profile dev") && !gls_awsconfig_has_profile(c, "nope"),
     "has_profile knows the profiles of both files");
  gls_awsconfig_free(c);

  /* ---- section headers */
  c = load("[profile  spaced ]\nregion = a\n"
           "[profile \"two words\"]\nregion = b\n"
           "[profile x y]\nregion = c\n"
           "[ default ]\nregion = d\n"
           "[profile]\nregion = e\n"
           "[profile 'unclosed]\nregion = f\n"
           "[Profile upper]\nregion = g\n"
           "[profile\ttabbed]\nregion = h\n"
           "[profilejoined name]\nregion = i\n"
           "[preview]\nregion = j\n"
           "[profile brackets] trailing text\nregion = k\n",
           NULL, &err);
  ok(c != NULL, "odd section headers load");
  is_str(GET(c, "spaced", "region"), "a", "\"[profile  spaced ]\": the name is split as shlex does");
  is_str(GET(c, "two words", "region"), "b", "a quoted profile name keeps its space");
  ok(!gls_awsconfig_has_profile(c, "x") && !gls_awsconfig_has_profile(c, "y") &&
         !gls_awsconfig_has_profile(c, "x y"),
     "[profile x y] (three words) is no profile");
  ok(!gls_awsconfig_has_profile(c, "default") && !gls_awsconfig_has_profile(c, " default "),
     "[ default ] (with spaces) is not the default profile");
  ok(!gls_awsconfig_has_profile(c, "") && !gls_awsconfig_has_profile(c, "profile"),
     "[profile] alone names no profile");
  ok(!gls_awsconfig_has_profile(c, "'unclosed") && !gls_awsconfig_has_profile(c, "unclosed"),
     "an unbalanced quote in a header names no profile");
  ok(!gls_awsconfig_has_profile(c, "upper"), "[Profile upper]: the prefix is case-sensitive");
  is_str(GET(c, "tabbed", "region"), "h", "a tab separates the name too");
  is_str(GET(c, "name", "region"), "i", "[profilejoined name] is profile 'name' (botocore's prefix test)");
  ok(!gls_awsconfig_has_profile(c, "preview"), "other sections are not profiles");
  is_str(GET(c, "brackets", "region"), "k", "text after the closing ']' is ignored");
  gls_awsconfig_free(c);

  /* ---- [default] and [profile default]: the later section wins whole */
  c = load("[profile default]\nregion = first\noutput = text\n[default]\nregion = second\n", NULL, &err);
  is_str(GET(c, "default", "region"), "second", "[default] after [profile default] wins");
  ok(c && GET(c, "default", "output") == NULL, "...and replaces it whole (no merge)");
  gls_awsconfig_free(c);
  c = load("[default]\nregion = first\noutput = text\n[profile default]\nregion = second\n", NULL, &err);
  is_str(GET(c, "default", "region"), "second", "[profile default] after [default] wins");
  ok(c && GET(c, "default", "output") == NULL, "...and replaces it whole too");
  gls_awsconfig_free(c);
  c = load("[profile a]\nregion = 1\nout = x\n[profile  a]\nregion = 2\n", NULL, &err);
  is_str(GET(c, "a", "region"), "2", "two headers naming one profile: the later wins");
  ok(c && GET(c, "a", "out") == NULL, "...whole");
  gls_awsconfig_free(c);

  /* ---- comments, delimiters, whitespace, case */
  c = load("# top comment\n; another\n\n[default]\n  # an indented comment\n"
           "   spaced   =   v  \t\n"
           "\tTabbed\t=\tt\n"
           "region = us-east-1 ;not a comment\n"
           "output = json # neither\n"
           "eq = a=b=c\n"
           "url: http://example.com:8080/x\n"
           "a:b = c\n"
           "  continued = not a key\n"
           "Region_Upper = UP\n"
           "empty =\n"
           "semi = ;\n",
           NULL, &err);
  ok(c != NULL, "comments and delimiters load");
  is_str(GET(c, "default", "region"), "us-east-1 ;not a comment", "';' after the value is kept");
  is_str(GET(c, "default", "output"), "json # neither", "'#' after the value is kept");
  is_str(GET(c, "default", "eq"), "a=b=c", "only the first '=' splits");
  is_str(GET(c, "default", "url"), "http://example.com:8080/x", "':' is a delimiter too");
  is_str(GET(c, "default", "a"), "b = c\ncontinued = not a key",
         "the first of '=' and ':' splits; an indented line continues the value");
  is_str(GET(c, "default", "spaced"), "v", "keys and values are trimmed (an indented first option)");
  is_str(GET(c, "default", "tabbed"), "t", "tabs are white space");
  is_str(GET(c, "default", "region_upper"), "UP", "key names are lower-cased, values are not");
  ok(GET(c, "default", "Region_Upper") == NULL, "lookups are case-sensitive");
  is_str(GET(c, "default", "empty"), "", "an empty value is \"\"");
  is_str(GET(c, "default", "semi"), ";", "a value of just ';' is kept");
  gls_awsconfig_free(c);

  /* ---- continuation lines and sub-sections */
  c = load("[default]\n"
           "multi = first\n  second\n\n  third\n# comment between\n  fourth\n"
           "s3 =\n  Max_Concurrent_Requests = 10\n  addressing_style = path\n"
           "  addressing_style = virtual\n  x = y = z\n\n"
           "output = json\n"
           "trail = v\n\n\n"
           "[profile e]\nblank =\n\n",
           NULL, &err);
  ok(c != NULL, "continuations load");
  is_str(GET(c, "default", "multi"), "first\nsecond\n\nthird\nfourth",
         "indented lines continue a value (blank lines kept, comments dropped)");
  is_str(GET(c, "default", "s3.Max_Concurrent_Requests"), "10", "a sub-section key keeps its case");
  ok(GET(c, "default", "s3.max_concurrent_requests") == NULL, "...and is matched case-sensitively");
  is_str(GET(c, "default", "s3.addressing_style"), "virtual", "a repeated sub-section key: the later wins");
  is_str(GET(c, "default", "s3.x"), "y = z", "a sub-section value with '=' in it");
  ok(GET(c, "default", "s3") == NULL, "a sub-section has no plain value");
  is_str(GET(c, "default", "output"), "json", "a key after a sub-section");
  is_str(GET(c, "default", "trail"), "v", "trailing blank lines are not part of a value");
  is_str(GET(c, "e", "blank"), "", "an empty value followed by blank lines is \"\"");
  gls_awsconfig_free(c);

  /* ---- CR LF, lone CR, Unicode white space */
  c = load("[default]\r\nregion\t=\tus-west-1\r\ns3 =\r\n\tmax = 5\r\n[profile cr]\rout = text\r"
           "[profile u]\n\xc2\xa0key = v\xe3\x80\x80\n",
           NULL, &err);
  ok(c != NULL, "CR LF and CR line ends load");
  is_str(GET(c, "default", "region"), "us-west-1", "CR LF line ends");
  is_str(GET(c, "default", "s3.max"), "5", "a tab-indented sub-section");
  is_str(GET(c, "cr", "out"), "text", "lone CR line ends");
  is_str(GET(c, "u", "key"), "v", "Unicode white space is trimmed as Python's strip() does");
  gls_awsconfig_free(c);

  /* ---- [DEFAULT] is inherited by every section of its file */
  c = load("[DEFAULT]\nregion = from-default\n[default]\noutput = json\n[profile own]\nregion = own\n",
           "[DEFAULT]\naws_access_key_id = DEF\n[cred]\naws_secret_access_key = s\n", &err);
  ok(c != NULL, "[DEFAULT] sections load");
  is_str(GET(c, "default", "region"), "from-default", "[DEFAULT] keys reach every section");
  is_str(GET(c, "own", "region"), "own", "...unless the section has the key");
  is_str(GET(c, "cred", "aws_access_key_id"), "DEF", "credentials-file [DEFAULT] reaches its sections");
  ok(GET(c, "default", "aws_access_key_id") == NULL, "...only those of its own file");
  ok(!gls_awsconfig_has_profile(c, "DEFAULT"), "[DEFAULT] itself is no profile");
  gls_awsconfig_free(c);

  /* ---- the credentials file: section names as written, key-level merge */
  c = load("[profile foo]\ns3 =\n  a = 1\nregion = r\n",
           "[foo]\ns3 = plain\n[profile foo]\nregion = x\n[ spaced ]\nk = v\n", &err);
  is_str(GET(c, "foo", "s3"), "plain", "a credentials key replaces a config sub-section");
  ok(c && GET(c, "foo", "s3.a") == NULL, "...entirely");
  is_str(GET(c, "foo", "region"), "r", "other config keys stay");
  is_str(GET(c, "profile foo", "region"), "x", "[profile foo] in credentials is profile 'profile foo'");
  is_str(GET(c, " spaced ", "k"), "v", "credentials section names are not trimmed");
  gls_awsconfig_free(c);

  /* ---- [services NAME] and [sso-session NAME] */
  c = load("[default]\nservices = my\n"
           "[services my]\ngameliftstreams =\n  endpoint_url = http://localhost:1\n"
           "game_lift =\n  endpoint_url = http://g\ns3 = plain\n"
           "[services  other ]\ngameliftstreams =\n  endpoint_url = http://other\n"
           "[sso-session corp]\nsso_region = us-east-1\n",
           NULL, &err);
  is_str(gls_awsconfig_service(c, "my", "gameliftstreams", "endpoint_url"), "http://localhost:1",
         "a services section's endpoint_url");
  is_str(gls_awsconfig_service(c, "my", "Game-Lift", "endpoint_url"), "http://g",
         "the service key is lower-cased with '-' as '_'");
  is_str(gls_awsconfig_service(c, "my", "Game Lift", "endpoint_url"), "http://g", "...and ' ' as '_'");
  ok(gls_awsconfig_service(c, "my", "s3", "endpoint_url") == NULL, "a plain key is no service block");
  is_str(gls_awsconfig_service(c, "other", "gameliftstreams", "endpoint_url"), "http://other",
         "[services  other ] is section 'other'");
  ok(gls_awsconfig_service(c, "nope", "gameliftstreams", "endpoint_url") == NULL, "an unknown section");
  ok(gls_awsconfig_service(c, "my", "gameliftstreams", "region") == NULL, "an unknown key");
  ok(!gls_awsconfig_has_profile(c, "corp") && !gls_awsconfig_has_profile(c, "my"),
     "services and sso-session sections are not profiles");
  is_str(GET(c, "default", "services"), "my", "a profile's services key is a plain value");
  gls_awsconfig_free(c);

  /* ---- errors: NULL, a message naming the file and line, never a value */
  expect_error("region = x\n[default]\n", "1", "a line before any section");
  expect_error("# comment\n\nregion = x\n", "3", "a line before any section, after comments");
  expect_error("[default]\na = 1\n[default]\nb = 2\n", "3", "a repeated section");
  expect_error("[default]\nregion = 1\nRegion = 2\n", "3", "a repeated key (names are lower-cased)");
  expect_error("[default]\nregion = 1\nnot an option\nok = 2\n", "3", "a line with no '=' or ':'");
  expect_error("[default]\n= value\n", "2", "an empty key name");
  expect_error("[default]\ns3 =\n  no equals sign\n", "2", "a sub-section line without '='");
  expect_error("[default]\nregion = caf\xe9\n", "2", "text that is not UTF-8");
  {
    c = load("secret_line_AKIDSECRET\n[default]\n", NULL, &err);
    ok(c == NULL && err.data && !strstr(err.data, "AKIDSECRET"), "messages never quote the file's text");
    gls_awsconfig_free(c);
  }
  ok(gls_awsconfig_load_files(cfg_path, NULL, NULL) == NULL, "a NULL err buffer is fine on error");

  /* ---- missing files are empty */
  unlink(cfg_path);
  unlink(cred_path);
  gls_buf_reset(&err);
  c = gls_awsconfig_load_files(cfg_path, cred_path, &err);
  ok(c != NULL && !gls_awsconfig_has_profile(c, "default") && err.len == 0, "missing files are empty");
  gls_awsconfig_free(c);
  c = gls_awsconfig_load_files(NULL, NULL, &err);
  ok(c != NULL, "NULL paths are no files");
  gls_awsconfig_free(c);
  c = gls_awsconfig_load_files(dir, dir, &err);
  ok(c != NULL && !gls_awsconfig_has_profile(c, "default"), "a directory is no file (os.path.isfile)");
  gls_awsconfig_free(c);
  c = load("", "", &err);
  ok(c != NULL && !gls_awsconfig_has_profile(c, "default"), "empty files are empty");
  gls_awsconfig_free(c);

  /* ---- gls_awsconfig_load: the environment, '~' and $VAR */
  {
    char aws[128], path[160];
    snprintf(aws, sizeof aws, "%s/.aws", dir);
    mkdir(aws, 0700);
    snprintf(path, sizeof path, "%s/config", aws);
    write_file(path, "[default]\nregion = home-config\n");
    snprintf(path, sizeof path, "%s/credentials", aws);
    write_file(path, "[default]\naws_access_key_id = HOMEKEY\n");
    const char *env1[] = {"HOME", dir, NULL};
    c = gls_awsconfig_load(fake_getenv, (void *)env1, &err);
    is_str(GET(c, "default", "region"), "home-config", "default config path ~/.aws/config under HOME");
    is_str(GET(c, "default", "aws_access_key_id"), "HOMEKEY", "default credentials path ~/.aws/credentials");
    gls_awsconfig_free(c);

    char home_slash[80];
    snprintf(home_slash, sizeof home_slash, "%s//", dir);
    write_file(cfg_path, "[profile env]\nregion = from-env\n");
    const char *env2[] = {"HOME", home_slash, "AWS_CONFIG_FILE", "~/config",
                          "AWS_SHARED_CREDENTIALS_FILE", "$GLSDIR/nothing-here", "GLSDIR", dir, NULL};
    c = gls_awsconfig_load(fake_getenv, (void *)env2, &err);
    is_str(GET(c, "env", "region"), "from-env", "AWS_CONFIG_FILE with '~' (HOME's trailing '/' dropped)");
    ok(c && !gls_awsconfig_has_profile(c, "default"), "AWS_SHARED_CREDENTIALS_FILE naming a missing file");
    gls_awsconfig_free(c);

    const char *env3[] = {"HOME", "/nonexistent", "AWS_CONFIG_FILE", "${GLSDIR}/config",
                          "GLSDIR", dir, NULL};
    c = gls_awsconfig_load(fake_getenv, (void *)env3, &err);
    is_str(GET(c, "env", "region"), "from-env", "${VAR} in AWS_CONFIG_FILE is expanded");
    gls_awsconfig_free(c);

    write_file(cfg_path, "oops\n");
    const char *env4[] = {"AWS_CONFIG_FILE", cfg_path, "AWS_SHARED_CREDENTIALS_FILE", "", NULL};
    gls_buf_reset(&err);
    c = gls_awsconfig_load(fake_getenv, (void *)env4, &err);
    ok(c == NULL && err.data && strstr(err.data, cfg_path), "load reports a bad file by its path");
    gls_awsconfig_free(c);

    snprintf(path, sizeof path, "%s/config", aws);
    unlink(path);
    snprintf(path, sizeof path, "%s/credentials", aws);
    unlink(path);
    rmdir(aws);
  }

  unlink(cfg_path);
  unlink(cred_path);
  rmdir(dir);
  gls_buf_free(&err);
  return done_testing();
}
