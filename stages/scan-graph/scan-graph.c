/* scan-graph - read the legacy graph of a Docker <= 1.9 data root.
 *
 * FORMATS.md §1 and §4.9 A: restores the mapping file of an earlier run,
 * lists `<root>/graph`, reads and checks every image (ID form, JSON, parent
 * file, v1.9 parent_id), builds the parent DAG and Docker's migration
 * order, and reports the images that cannot be migrated (unreadable JSON,
 * missing parent, cycles) by name.  Writes nothing.
 *
 * Option `target`: empty (default) keeps the run's setting (`--target`,
 * or the data root itself); `temporary` makes the run write its store
 * into a fresh private directory under $TMPDIR that is removed when the
 * run ends (the export-legacy preset); any other value is a directory to
 * write the store into, as `--target` (no publishing step).
 *
 * Provides `legacy-graph` (the #GpGraph, gp_context_get_graph()) and
 * `v1-mapping` (the context's v1 ID -> image ID mapping, restored).
 */
#include <string.h>

#include <graphpipe.h>

#include "migrate-common.h"

#define TARGET_TEMPORARY "temporary"
#define SLOT_TEMP_TARGET MIG_SLOT_TEMP_TARGET

static const GpOption scan_graph_options[] = {
  { .key = "target", .type = GP_OPTION_STRING, .default_value = "",
    .help = "Where the store is written: empty for the run's setting (--target or the root), "
            "'temporary' for a private directory under $TMPDIR removed at the end, or a directory" },
  { NULL }
};

static gboolean
scan_graph_prepare (GpStage *stage, GpContext *ctx, GError **error)
{
  const char *target = gp_stage_get_string (stage, "target");

  if (gp_context_get_root (ctx) == NULL)
    {
      g_set_error (error, GP_PRESET_ERROR, GP_PRESET_ERROR_BAD_VALUE,
                   "scan-graph: no data root given (--root)");
      return FALSE;
    }
  if (target != NULL && *target != '\0' && gp_context_get_target (ctx) != NULL)
    {
      g_set_error (error, GP_PRESET_ERROR, GP_PRESET_ERROR_BAD_VALUE,
                   "scan-graph: the preset sets target=%s; --target cannot be used with it", target);
      return FALSE;
    }
  return TRUE;
}

static void
remove_temp_target (gpointer data)
{
  char *dir = data;
  g_autoptr (GError) error = NULL;

  if (!gp_safeio_remove_tree (dir, &error))
    g_warning ("cannot remove the temporary store %s: %s", dir, error->message);
  g_free (dir);
}

/* Applies the `target` option: a directory, or a temporary one that the
 * context removes when it is freed. */
static gboolean
apply_target (GpStage *stage, GpContext *ctx, GError **error)
{
  const char *target = gp_stage_get_string (stage, "target");

  if (target == NULL || *target == '\0')
    return TRUE;
  if (strcmp (target, TARGET_TEMPORARY) != 0)
    {
      g_autofree char *dir = g_canonicalize_filename (target, NULL);
      gp_context_set_target (ctx, dir);
      return TRUE;
    }
  if (gp_context_has_slot (ctx, SLOT_TEMP_TARGET))
    return TRUE;
  g_autofree char *dir = g_dir_make_tmp ("graphpipe-store-XXXXXX", error);
  if (dir == NULL)
    return FALSE;
  gp_context_set_target (ctx, dir);
  gp_context_set_slot (ctx, SLOT_TEMP_TARGET, g_steal_pointer (&dir), remove_temp_target);
  mig_info (ctx, NULL, "temporary store in %s (removed at the end)", gp_context_get_target (ctx));
  return TRUE;
}

static gboolean
scan_graph_run (GpStage *stage, GpContext *ctx, GError **error)
{
  const char *root = gp_context_get_root (ctx);
  g_autoptr (GpGraph) graph = gp_graph_new (root);

  mig_start_clock (ctx);
  if (!apply_target (stage, ctx, error))
    return FALSE;
  /* With a target, the mapping of an earlier run is the target's. */
  if (gp_context_get_target (ctx) != NULL)
    gp_graph_set_mapping_root (graph, gp_context_get_target (ctx));

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
      g_prefix_error (error, "%s/", mig_dest_root (ctx));
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
  .options = scan_graph_options,
  .prepare = scan_graph_prepare,
  .run = scan_graph_run)
