/* libFuzzer target: the Go-compatible JSON scanner, raw objects and the
 * V1Image struct codec.  Round trips must be stable: marshalling what was
 * parsed and parsing it again gives the same bytes. */
#include "config.h"

#include <string.h>

#include "gp-json.h"
#include "gp-v1image.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  const char *s = (const char *) data;
  GError *error = NULL;

  if (!gp_json_validate (s, size, &error))
    {
      g_clear_error (&error);
      gsize start, end;
      if (gp_json_value_end (s, size, &start, &end, &error))
        g_assert (start <= end && end <= size);
      g_clear_error (&error);
      return 0;
    }

  GpJsonRawObject *obj = gp_json_raw_object_parse (s, size, &error);
  if (obj != NULL)
    {
      GString *a = g_string_new (NULL);
      gp_json_raw_object_append (a, obj);
      g_assert (gp_json_validate (a->str, a->len, NULL));
      GpJsonRawObject *again = gp_json_raw_object_parse (a->str, a->len, NULL);
      g_assert (again != NULL);
      GString *b = g_string_new (NULL);
      gp_json_raw_object_append (b, again);
      g_assert (a->len == b->len && memcmp (a->str, b->str, a->len) == 0);
      g_string_free (a, TRUE);
      g_string_free (b, TRUE);
      gp_json_raw_object_free (again);
      gp_json_raw_object_free (obj);
    }
  g_clear_error (&error);

  GpV1Image *img = gp_v1image_parse (s, size, &error);
  if (img != NULL)
    {
      GString *a = g_string_new (NULL);
      if (gp_v1image_append_json (a, img, NULL))
        {
          GpV1Image *img2 = gp_v1image_parse (a->str, a->len, NULL);
          g_assert (img2 != NULL);
          GString *b = g_string_new (NULL);
          g_assert (gp_v1image_append_json (b, img2, NULL));
          g_assert (a->len == b->len && memcmp (a->str, b->str, a->len) == 0);
          g_string_free (b, TRUE);
          gp_v1image_free (img2);
        }
      g_string_free (a, TRUE);
      gp_v1image_free (img);
    }
  g_clear_error (&error);

  GpImageConfig *cfg = gp_image_config_parse (s, size, &error);
  if (cfg != NULL)
    gp_image_config_free (cfg);
  g_clear_error (&error);
  return 0;
}
