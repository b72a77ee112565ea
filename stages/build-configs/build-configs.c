/* build-configs - create the migrated images.
 *
 * FORMATS.md §4.9 D.5-9 and E.  For every image whose layer
 * register-layers registered, in Docker's order: the image config
 * (history from the v1 JSON, the pre-1.8.3 re-encoding path, rootfs;
 * §5.5-5.6), its ID, `imagedb/content`, the parent metadata, the
 * distribution metadata from a valid `checksum` file (§4.6), and the
 * mapping entry.  Finally the mapping file `.migration-v1-images.json`
 * (written atomically; left alone when its bytes would not change).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <graphpipe.h>

#include "migrate-common.h"

/* graph/<id>/checksum, raw bytes (no trimming); NULL if unreadable or not
 * a valid digest (§1.4: ignored silently). */
static char *
read_blob_digest (const char *root, const char *id)
{
  g_autofree char *path = g_build_filename (root, "graph", id, "checksum", NULL);
  gsize len;
  g_autofree char *data = gp_safeio_read_file (path, 4096, &len, NULL);
  GpDigest digest;

  if (data == NULL || strlen (data) != len || !gp_digest_parse (data, (gssize) len, &digest, NULL))
    return NULL;
  return g_steal_pointer (&data);
}

/* §4.9 E: the mapping file, unless it holds these bytes already. */
static gboolean
save_mapping (GpContext *ctx, GpGraph *graph, GError **error)
{
  g_autofree char *path = g_build_filename (mig_dest_root (ctx), GP_GRAPH_MAPPING_FILE, NULL);
  g_autoptr (GString) json = gp_graph_mapping_to_json (graph);
  gsize len;
  g_autofree char *old = gp_safeio_read_file (path, GP_GRAPH_MAX_JSON_SIZE, &len, NULL);
  struct stat st;

  if (old != NULL && len == json->len && memcmp (old, json->str, len) == 0
      && stat (path, &st) == 0 && (st.st_mode & 07777) == 0600)
    return gp_safeio_discard_temp_for (path, error);
  return gp_safeio_write_file (path, json->str, json->len, 0600, GP_SAFE_DEFAULT, error);
}

static gboolean
build_configs_run (GpStage *stage, GpContext *ctx, GError **error)
{
  GpGraph *graph = mig_get_graph (ctx, error);
  if (graph == NULL)
    return FALSE;
  if (!gp_graph_has_graph_dir (graph))
    return TRUE;

  gp_context_add_counter (ctx, MIG_IMAGES_MIGRATED, 0);
  if (gp_context_get_dry_run (ctx))
    return TRUE;

  GpStore *store = mig_get_store (ctx, error);
  if (store == NULL)
    return FALSE;
  const char *root = gp_context_get_root (ctx);
  GPtrArray *order = gp_graph_get_order (graph);

  for (guint i = 0; i < order->len; i++)
    {
      GpGraphImage *image = order->pdata[i];
      g_autoptr (GError) local_error = NULL;

      if (gp_context_set_error_if_cancelled (ctx, error))
        return FALSE;
      if (gp_graph_image_inherit_failure (image))
        {
          mig_image_failed (ctx, image);
          continue;
        }
      if (image->chain_id == NULL)
        continue; /* register-layers did not run */

      /* D.5-6 */
      g_autoptr (GBytes) config = gp_graph_image_build_config (graph, image, store, &local_error);
      g_autofree char *image_id = NULL;
      if (config != NULL)
        image_id = gp_store_put_image_config (store, g_bytes_get_data (config, NULL),
                                              g_bytes_get_size (config), &local_error);
      if (image_id != NULL)
        mig_crash_point (ctx, "image config written");
      /* D.7 */
      const char *parent_id = gp_graph_image_parent_image_id (graph, image);
      if (image_id != NULL && parent_id != NULL
          && !gp_store_set_image_parent (store, image_id, parent_id, &local_error))
        g_clear_pointer (&image_id, g_free);
      if (image_id == NULL)
        {
          g_prefix_error (&local_error, "graph/%s: cannot create the image: ", image->id);
          gp_graph_image_fail (image, g_steal_pointer (&local_error));
          mig_image_failed (ctx, image);
          continue;
        }

      mig_crash_point (ctx, "image parent written");
      /* D.8: best effort, as Docker. */
      g_autofree char *blob = read_blob_digest (root, image->id);
      if (blob != NULL && !gp_store_add_v2_metadata (store, image->diff_id, blob, "", &local_error))
        {
          gp_context_report (ctx, GP_REPORT_WARNING, NULL,
                             "graph/%s: distribution metadata not written: %s", image->id,
                             local_error->message);
          g_clear_error (&local_error);
        }

      if (blob != NULL)
        mig_crash_point (ctx, "distribution metadata written");
      /* D.9 */
      image->image_id = g_steal_pointer (&image_id);
      gp_graph_mapping_insert (graph, image->id, image->image_id);
      gp_context_set_image_id (ctx, image->id, image->image_id);
      gp_context_add_counter (ctx, MIG_IMAGES_MIGRATED, 1);
      gp_context_emit_item_done (ctx, image->id, i + 1, order->len, 0, "migrated image %s to %s",
                                 image->id, image->image_id);
    }

  if (!save_mapping (ctx, graph, error))
    return FALSE;
  mig_crash_point (ctx, "mapping written");
  mig_update_clock (ctx);
  return TRUE;
}

GP_STAGE_DEFINE (
  .name = "build-configs",
  .description = "Create the image configs, parent and distribution metadata and the v1 mapping file",
  .requires = GP_STAGE_STRV ("legacy-graph", "layers"),
  .provides = GP_STAGE_STRV ("images"),
  .run = build_configs_run)
