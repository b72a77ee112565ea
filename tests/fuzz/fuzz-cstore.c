/* libFuzzer target: containers-storage records (stages/containers-storage/
 * cs-store.c), the input read as an images.json and as a layers.json
 * (manifests: fuzz-ocimanifest).  Whatever the bytes, every ID accepted and every big-data
 * file name derived stays one path component beneath the store. */
#include "config.h"

#include <string.h>

#include "cs-store.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static void
check_component (const char *name)
{
  g_assert (name != NULL && *name != '\0');
  g_assert (strcmp (name, ".") != 0 && strcmp (name, "..") != 0);
  g_assert (strchr (name, '/') == NULL);
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  GError *error = NULL;
  GPtrArray *images = cs_parse_images ((const char *) data, size, "images.json", &error);
  if (images == NULL)
    {
      g_assert (error != NULL);
      g_clear_error (&error);
    }
  else
    {
      for (guint i = 0; i < images->len; i++)
        {
          CsImage *im = images->pdata[i];
          check_component (im->id);
          g_assert (im->id[0] != '.');
          if (im->top_layer != NULL)
            check_component (im->top_layer);
          for (char **n = im->big_data_names; *n != NULL; n++)
            {
              char *file = cs_big_data_file_name (*n, &error);
              if (file != NULL)
                check_component (file);
              else
                g_clear_error (&error);
              g_free (file);
            }
        }
      g_ptr_array_unref (images);
    }
  GPtrArray *layers = cs_parse_layers ((const char *) data, size, "layers.json", &error);
  if (layers == NULL)
    {
      g_assert (error != NULL);
      g_clear_error (&error);
    }
  else
    {
      for (guint i = 0; i < layers->len; i++)
        {
          CsLayer *l = layers->pdata[i];
          check_component (l->id);
          if (l->parent != NULL)
            check_component (l->parent);
        }
      g_ptr_array_unref (layers);
    }
  return 0;
}
