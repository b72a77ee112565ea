/* example-layers - a minimal graphpipe sink stage to copy.
 *
 * A sink reads the images a source stage (docker-store, ...) put into the
 * context (the `image-set` capability, see gp-images.h) and writes them
 * out somewhere.  This one writes a listing, one line per layer of each
 * image, bottom layer first:
 *
 *   <image ID> <layer number, from 1> <DiffID> <length of the layer tar>
 *
 * The length is what the source knows; with measure=true (or when the
 * source does not know it) the layer tar is streamed from the source,
 * checked against its DiffID on the way, and its bytes counted.
 *
 * It uses only <graphpipe.h>, so it builds in the graphpipe tree and out
 * of tree alike (see Makefile beside it):
 *
 *   cc -shared -fPIC -o example-layers.so example-layers.c \
 *      $(pkg-config --cflags --libs graphpipe-1.0)
 *
 * and runs after any source, from a preset such as
 *
 *   [pipeline]
 *   stages=docker-store;example-layers
 *   [docker-store]
 *   images=${images}
 *   [example-layers]
 *   output=-
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <graphpipe.h>

static const GpOption layers_options[] = {
  { .key = "output", .type = GP_OPTION_PATH, .default_value = "-",
    .help = "Where the listing goes: a file (replaced when complete) or - for standard output" },
  { .key = "measure", .type = GP_OPTION_BOOL, .default_value = "false",
    .help = "Stream every layer tar (checked against its DiffID) to count its bytes" },
  { NULL }
};

/* A GpWriteFunc that only counts. */
static gboolean
count_bytes (gpointer user_data, const void *buf, gsize len, GError **error)
{
  *(guint64 *) user_data += len;
  return TRUE;
}

static gboolean
layers_run (GpStage *stage, GpContext *ctx, GError **error)
{
  const char *output = gp_stage_get_string (stage, "output");
  gboolean measure = gp_stage_get_bool (stage, "measure");
  GPtrArray *images = gp_context_get_images (ctx, error);
  if (images == NULL)
    return FALSE;

  g_autoptr (GString) listing = g_string_new (NULL);
  for (guint i = 0; i < images->len; i++)
    {
      GpImage *image = g_ptr_array_index (images, i);
      const char *id = gp_image_get_id (image);
      GPtrArray *layers = gp_image_get_layers (image);
      guint64 total = 0;
      for (guint j = 0; j < layers->len; j++)
        {
          GpImageLayer *layer = g_ptr_array_index (layers, j);
          gint64 size = gp_image_layer_get_size (layer);
          if (measure || size < 0)
            {
              guint64 n = 0;
              if (!gp_image_layer_stream (layer, id, count_bytes, &n,
                                          gp_context_get_cancellable (ctx), error))
                return FALSE;
              size = (gint64) n;
            }
          total += (guint64) size;
          g_string_append_printf (listing, "%s %u %s %" G_GINT64_FORMAT "\n", id, j + 1,
                                  gp_image_layer_get_diff_id (layer), size);
          gp_context_add_counter (ctx, "example-layers.layers", 1);
        }
      gp_context_emit_item_done (ctx, id, i + 1, images->len, total,
                                 "%u layers, %" G_GUINT64_FORMAT " bytes", layers->len, total);
    }

  if (gp_context_get_dry_run (ctx))
    return TRUE;
  if (strcmp (output, "-") == 0)
    {
      if (fwrite (listing->str, 1, listing->len, stdout) != listing->len || fflush (stdout) != 0)
        {
          int e = errno;
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e),
                       "standard output: write failed: %s", g_strerror (e));
          return FALSE;
        }
      return TRUE;
    }
  /* written beside it and renamed: never half a listing */
  return g_file_set_contents (output, listing->str, (gssize) listing->len, error);
}

GP_STAGE_DEFINE (
  .name = "example-layers",
  .description = "List each selected image's layers with DiffID and size (an example sink)",
  .requires = GP_STAGE_STRV (GP_IMAGES_CAPABILITY),
  .options = layers_options,
  .run = layers_run)
