/* global.c - the one documented process-wide initialisation (gls_global_init). */
#include <stdio.h>
#include <curl/curl.h>
#include <openssl/crypto.h>
#include "gls_private.h"

/* The only process-global mutable state: whether curl/OpenSSL are set up.
 * Written only by gls_global_init/cleanup, which are documented as not
 * thread-safe (as curl_global_init is). */
static int g_initialised;

gls_status gls_global_init(void) {
  if (g_initialised) return GLS_OK;
  if (!OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CRYPTO_STRINGS, NULL)) return GLS_E_CRYPTO;
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return GLS_E_TRANSPORT;
  const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
  if (!(v->features & CURL_VERSION_ASYNCHDNS))
    fprintf(stderr, "gls: warning: libcurl %s has no asynchronous DNS; name lookups "
                    "will block the non-blocking interface\n", v->version);
  g_initialised = 1;
  return GLS_OK;
}

void gls_global_cleanup(void) {
  if (!g_initialised) return;
  curl_global_cleanup();
  g_initialised = 0;
}
