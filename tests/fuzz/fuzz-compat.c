/* libFuzzer target: the fields of Docker 20.10's image structs that
 * tar-export's compat=20.10 decodes from an image config
 * (stages/tar-export/te-compat.c, doc/docker-save-20.10.md).  A config
 * graphpipe's model parses is decoded; when that succeeds, the top
 * layer's v1 ID and json file are built: the json must be valid JSON,
 * an object, and the ID a sha256 digest. */
#include "config.h"

#include <string.h>

#include "te-private.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

#define CHAIN "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"
#define PARENT_HEX "fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9"

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  GError *error = NULL;
  if (!gp_json_validate ((const char *) data, size, NULL))
    return 0;
  GpImageConfig *config = gp_image_config_parse ((const char *) data, size, NULL);
  if (config == NULL)
    return 0;
  GBytes *raw = g_bytes_new (data, size);
  TeCompat2010 *c = te_compat_2010_new (raw, &error);
  if (c == NULL)
    {
      g_assert (error != NULL);
      g_clear_error (&error);
    }
  else
    {
      char *id = te_compat_2010_create_id (c, &config->v1, CHAIN, "sha256:" PARENT_HEX, &error);
      if (id != NULL)
        {
          g_assert (gp_digest_check_sha256 (id, -1, NULL));
          GBytes *json = te_compat_2010_layer_json (c, &config->v1, id + strlen ("sha256:"),
                                                    PARENT_HEX, &error);
          g_assert (json != NULL);
          gsize len;
          const char *p = g_bytes_get_data (json, &len);
          g_assert (gp_json_validate (p, len, NULL));
          g_assert (gp_json_kind (p, len) == GP_JSON_KIND_OBJECT);
          g_bytes_unref (json);
          g_free (id);
        }
      else
        g_clear_error (&error); /* `created` out of Go's range */
      te_compat_2010_free (c);
    }
  g_bytes_unref (raw);
  gp_image_config_free (config);
  return 0;
}
