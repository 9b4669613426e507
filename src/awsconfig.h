/* awsconfig.h - the AWS shared config and credentials files, read the way
 * the AWS CLI v2 (botocore's configloader) reads them. Internal. */
#ifndef GLS_AWSCONFIG_H
#define GLS_AWSCONFIG_H

#include "gls_private.h" /* gls.h: gls_getenv_fn, the injectable environment getter */

/* Both files, parsed. Profiles merge as botocore does: the config file's
 * "[profile NAME]" (or "[default]") section, then the credentials file's
 * "[NAME]" section on top (credentials win for the same key). Also
 * "[services NAME]" and "[sso-session NAME]" sections. Sub-sections
 * ("s3 =" followed by indented "key = value" lines) are kept as
 * "parent.key". Comments start with '#' or ';' at the start of a line (and
 * after whitespace inside a value line: "key = v ;c" keeps "v ;c" as
 * botocore does, so only full-line comments). Option names are lower-cased
 * on load (as configparser does) and looked up exactly; values are trimmed.
 * Owns all its strings (wiped when freed). */
typedef struct gls_awsconfig gls_awsconfig;

/* Loads the files named by AWS_CONFIG_FILE (default ~/.aws/config) and
 * AWS_SHARED_CREDENTIALS_FILE (default ~/.aws/credentials), '~' expanded
 * with HOME. A missing file is not an error (empty). A file that cannot be
 * parsed gives NULL and a message naming the file and line in err.
 * getenv/ud are used only during the call. */
gls_awsconfig *gls_awsconfig_load(gls_getenv_fn getenv_fn, void *ud, gls_buf *err);

/* As above from explicit paths (either may be NULL = none). */
gls_awsconfig *gls_awsconfig_load_files(const char *config_path, const char *credentials_path,
                                        gls_buf *err);
/* As above from the files' texts (borrowed; NULL = empty; NUL bytes are
 * refused as in a file). Messages name them "config" and "credentials". */
gls_awsconfig *gls_awsconfig_load_texts(const char *config_text, size_t config_len,
                                        const char *credentials_text, size_t credentials_len,
                                        gls_buf *err);
void gls_awsconfig_free(gls_awsconfig *c);

/* Whether a profile exists in either file. */
int gls_awsconfig_has_profile(const gls_awsconfig *c, const char *profile);

/* A profile's value for key ("region", "role_arn", "s3.max_concurrent_requests"
 * for a sub-section key), or NULL. Borrowed from c. */
const char *gls_awsconfig_get(const gls_awsconfig *c, const char *profile, const char *key);

/* A [services NAME] section's value for service.key, e.g.
 * ("my-services", "gameliftstreams", "endpoint_url"), or NULL. The service
 * key is matched as botocore does (lower case, '-' and ' ' as '_'). */
const char *gls_awsconfig_service(const gls_awsconfig *c, const char *section,
                                  const char *service, const char *key);

#endif
