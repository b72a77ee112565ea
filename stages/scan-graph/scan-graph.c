/* scan-graph - read the legacy graph of a Docker <= 1.9 data root.
 *
 * FORMATS.md §1 and §4.9 A: restores the mapping file of an earlier run,
 * lists `<root>/graph`, reads and checks every image (ID form, JSON, parent
 * file, v1.9 parent_id), builds the parent DAG and Docker's migration
 * order, and reports the images that cannot be migrated (unreadable JSON,
 * missing parent, cycles) by name.  Writes nothing.
 *
 * Provides `legacy-graph` (the #GpGraph, gp_context_get_graph()) and
 * `v1-mapping` (the context's v1 ID -> image ID mapping, restored).
 */
#include <graphpipe.h>

#include "migrate-common.h"

static gboolean
scan_graph_prepare (GpStage *stage, GpContext *ctx, GError **error)
{
  if (gp_context_get_root (ctx) == NULL)
    {
      g_set_error (error, GP_PRESET_ERROR, GP_PRESET_ERROR_BAD_VALUE,
                   "scan-graph: no data root given (--root)");
      return FALSE;
    }
  return TRUE;
}

static gboolean
scan_graph_run (GpStage *stage, GpContext *ctx, GError **error)
{
  const char *root = gp_context_get_root (ctx);
  g_autoptr (GpGraph) graph = gp_graph_new (root);

  mig_start_clock (ctx);
  mig_crash_init (ctx);

  /* Docker looks at nothing else when there is no graph/ (§8). */
  g_autofree char *graph_dir = g_build_filename (root, "graph", NULL);
  if (!g_file_test (graph_dir, G_FILE_TEST_EXISTS) && !g_file_test (graph_dir, G_FILE_TEST_IS_SYMLINK))
    {
      if (!gp_graph_scan (graph, gp_context_get_cancellable (ctx), error))
        return FALSE;
      mig_set_graph (ctx, graph);
      mig_info (ctx, NULL, "%s: no legacy graph directory, nothing to migrate", root);
      return TRUE;
    }

  if (!gp_graph_load_mapping (graph, error))
    {
      g_prefix_error (error, "%s/", root);
      return FALSE;
    }
  if (!gp_graph_scan (graph, gp_context_get_cancellable (ctx), error))
    return FALSE;

  /* The restored mapping is the v1-mapping capability. */
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, gp_graph_get_mapping (graph));
  while (g_hash_table_iter_next (&it, &k, &v))
    gp_context_set_image_id (ctx, k, v);

  guint n = gp_graph_get_n_images (graph);
  guint n_mapped = 0, n_failed = 0;
  for (guint i = 0; i < n; i++)
    {
      GpGraphImage *image = gp_graph_get_image (graph, i);
      if (image->mapped)
        n_mapped++;
    }
  GPtrArray *order = gp_graph_get_order (graph);
  for (guint i = 0; i < order->len; i++)
    {
      GpGraphImage *image = order->pdata[i];
      if (gp_graph_image_take_report (image))
        {
          n_failed++;
          mig_fail (ctx, image);
        }
    }

  gp_context_add_counter (ctx, MIG_IMAGES_SKIPPED, n_mapped);
  gp_context_add_counter (ctx, MIG_IMAGES_FAILED, n_failed);
  mig_info (ctx, NULL, "%u legacy images in graph/: %u migrated by an earlier run, %u to migrate, "
            "%u cannot be migrated", n, n_mapped, order->len - n_failed, n_failed);
  mig_set_graph (ctx, graph);
  return TRUE;
}

GP_STAGE_DEFINE (
  .name = "scan-graph",
  .description = "Read and check the legacy graph/ of a Docker <= 1.9 data root (no writes)",
  .requires = GP_STAGE_STRV ("root"),
  .provides = GP_STAGE_STRV ("legacy-graph", "v1-mapping"),
  .prepare = scan_graph_prepare,
  .run = scan_graph_run)
