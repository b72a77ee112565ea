/* gp-cs-images - what the containers-storage source publishes.
 *
 * Usage: gp-cs-images ROOT NAME...
 *
 * A test tool on the public API: runs the containers-storage stage alone
 * on ROOT and prints one line per image it publishes:
 *
 *   <image ID> <manifest media type or -> <sha256 of the manifest or ->
 *     <blob digests of the layers, or - for a layer without one>...
 *
 * so that tests/save-containers-storage.sh can compare the manifest
 * attached to an image with podman's own manifest digest.
 */
#include "config.h"

#include <graphpipe.h>

int
main (int argc, char **argv)
{
  if (argc < 3)
    {
      g_printerr ("usage: gp-cs-images ROOT NAME...\n");
      return 2;
    }
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) names = g_string_new (NULL);
  for (int i = 2; i < argc; i++)
    g_string_append_printf (names, "%s%s", i > 2 ? " " : "", argv[i]);
  g_autofree char *conf = g_strdup_printf ("[pipeline]\n"
                                           "description=test\n"
                                           "stages=containers-storage\n"
                                           "[containers-storage]\n"
                                           "images=${images}\n");
  g_autoptr (GpPreset) preset = gp_preset_load_data (conf, -1, "gp-cs-images", &error);
  if (preset == NULL)
    {
      g_printerr ("gp-cs-images: %s\n", error->message);
      return 2;
    }
  g_autoptr (GpContext) ctx = gp_context_new ();
  gp_context_set_root (ctx, argv[1]);
  gp_context_set_variable (ctx, "images", names->str);
  g_autoptr (GpLoader) loader = gp_loader_new (NULL);
  g_autoptr (GpPipeline) pipeline = gp_pipeline_new (preset, loader, ctx, &error);
  if (pipeline == NULL || !gp_pipeline_prepare (pipeline, &error)
      || !gp_pipeline_run (pipeline, &error))
    {
      g_printerr ("gp-cs-images: %s\n", error->message);
      return 1;
    }
  GPtrArray *images = gp_context_get_images (ctx, &error);
  if (images == NULL)
    {
      g_printerr ("gp-cs-images: %s\n", error->message);
      return 1;
    }
  for (guint i = 0; i < images->len; i++)
    {
      GpImage *image = images->pdata[i];
      const char *media_type = NULL;
      GBytes *manifest = gp_image_get_manifest (image, &media_type);
      g_autofree char *digest = NULL;
      if (manifest != NULL)
        {
          gsize len;
          const void *data = g_bytes_get_data (manifest, &len);
          digest = gp_sha256_digest_of (data, len);
        }
      g_print ("%s %s %s", gp_image_get_id (image), media_type != NULL ? media_type : "-",
               digest != NULL ? digest : "-");
      GPtrArray *layers = gp_image_get_layers (image);
      for (guint j = 0; j < layers->len; j++)
        {
          const char *blob = gp_image_layer_get_blob_digest (layers->pdata[j]);
          g_print (" %s", blob != NULL ? blob : "-");
        }
      g_print ("\n");
    }
  return 0;
}
