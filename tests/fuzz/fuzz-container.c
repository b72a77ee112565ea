/* libFuzzer target: a legacy container `config.json` rewritten to
 * `config.v2.json` (FORMATS.md §4.7): parsed as an object of raw values,
 * its Image read and replaced; the result must be valid JSON that parses
 * again with the new Image. */
#include "config.h"

#include <string.h>

#include "gp-json.h"
#include "gp-v1image.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

#define NEW_ID "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  GError *error = NULL;
  GpJsonRawObject *obj = gp_json_raw_object_parse ((const char *) data, size, &error);
  if (obj == NULL)
    {
      g_assert (error != NULL);
      g_clear_error (&error);
      return 0;
    }
  GString *image = NULL;
  GpContainerImage kind = gp_container_json_get_image (obj, &image);
  if (kind == GP_CONTAINER_IMAGE_STRING)
    {
      g_assert (image != NULL);
      GBytes *v2 = gp_container_json_set_image (obj, NEW_ID);
      gsize len;
      const char *p = g_bytes_get_data (v2, &len);
      g_assert (gp_json_validate (p, len, NULL));
      GpJsonRawObject *again = gp_json_raw_object_parse (p, len, NULL);
      g_assert (again != NULL);
      GString *got = NULL;
      g_assert (gp_container_json_get_image (again, &got) == GP_CONTAINER_IMAGE_STRING);
      g_assert (strcmp (got->str, NEW_ID) == 0);
      g_string_free (got, TRUE);
      gp_json_raw_object_free (again);
      g_bytes_unref (v2);
    }
  if (image != NULL)
    g_string_free (image, TRUE);
  gp_json_raw_object_free (obj);
  return 0;
}
