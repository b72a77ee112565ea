/* build-configs - create the migrated images.
 *
 * FORMATS.md §4.9 D.5-9 and E.  For every image whose layer
 * register-layers registered, in Docker's order: the image config
 * (history from the v1 JSON, the pre-1.8.3 re-encoding path, rootfs;
 * §5.5-5.6), its ID, `imagedb/content`, the parent metadata, the
 * distribution metadata from a valid `checksum` file (§4.6), and the
 * mapping entry.  Finally the mapping file `.migration-v1-images.json`
 * (written atomically; left alone when its bytes would not change).
 * The config and parent writes of images register-layers handed to its
 * writer thread (stages/common/migrate-ahead.c) are done already: their
 * outcome is taken from there, in the same order.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <graphpipe.h>

#include "migrate-common.h"

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
    {
      /* Nothing to write means no write at all: a fully migrated root
       * mounted read-only reruns fine. */
      g_autofree char *tmp = gp_safeio_temp_path_for (path);
      if (lstat (tmp, &st) < 0 && errno == ENOENT)
        return TRUE;
      return gp_safeio_discard_temp_for (path, error);
    }
  return gp_safeio_write_file (path, json->str, json->len, 0600, GP_SAFE_DEFAULT, error);
}

/* ---- configs built ahead in threads ----
 *
 * Building a config and its digest is CPU work with no side effect, so
 * with --jobs > 1 worker threads build those of the next images in
 * Docker's order while this thread writes, strictly in order, exactly
 * what it wrote without them.  At most WINDOW configs are held. */

#define WINDOW 64

typedef struct {
  GpGraph *graph;
  GpStore *store;
  const char *root;
  MigAhead *written; /* (nullable): what register-layers' writer did */
  GMutex lock;
  GCond cond;
} Ahead;

typedef struct {
  Ahead *ahead;
  GpGraphImage *image;
  GBytes *config;
  GError *error;
  char *blob;
  gboolean done; /* under ahead->lock */
} Slot;

static void
slot_compute (Slot *slot)
{
  Ahead *a = slot->ahead;
  slot->config = gp_graph_image_build_config (a->graph, slot->image, a->store, &slot->error);
  slot->blob = mig_read_blob_digest (a->root, slot->image->id);
}

static void
slot_worker (gpointer data, gpointer user_data)
{
  Slot *slot = data;
  Ahead *a = slot->ahead;

  slot_compute (slot);
  g_mutex_lock (&a->lock);
  slot->done = TRUE;
  g_cond_broadcast (&a->cond);
  g_mutex_unlock (&a->lock);
}

static void
slot_wait (Slot *slot)
{
  Ahead *a = slot->ahead;

  g_mutex_lock (&a->lock);
  while (!slot->done)
    g_cond_wait (&a->cond, &a->lock);
  g_mutex_unlock (&a->lock);
}

static void
slot_clear (Slot *slot)
{
  g_clear_pointer (&slot->config, g_bytes_unref);
  g_clear_error (&slot->error);
  g_clear_pointer (&slot->blob, g_free);
  slot->image = NULL;
  slot->done = FALSE;
}

/* Whether build_configs_run() builds @image's config (not the failures,
 * which are only known in order, nor those written ahead). */
static gboolean
wants_config (MigAhead *written, GpGraphImage *image)
{
  return image->chain_id != NULL && image->error == NULL && mig_ahead_lookup (written, image) == NULL;
}

/* Queues the image at @index of @order, if any, into its slot. */
static void
slot_start (GThreadPool *pool, Slot *slots, GPtrArray *order, guint index)
{
  if (index >= order->len || !wants_config (slots[0].ahead->written, order->pdata[index]))
    return;
  Slot *slot = &slots[index % WINDOW];
  slot->image = order->pdata[index];
  g_thread_pool_push (pool, slot, NULL);
}

static gboolean run_in_order (GpContext *ctx, GpGraph *graph, GpStore *store, const char *root,
                              GPtrArray *order, GThreadPool *pool, Slot *slots, MigAhead *written,
                              GError **error);

static gboolean write_image (GpContext *ctx, GpGraph *graph, GpStore *store, const char *root,
                             GpGraphImage *image, Slot *slot, GBytes **ahead_config, GError **ahead_error,
                             char **ahead_blob, char **out_image_id, char **out_blob);

/* The configs register-layers may write ahead are taken here. */
static gboolean
build_configs_prepare (GpStage *stage, GpContext *ctx, GError **error)
{
  mig_ahead_want (ctx);
  return TRUE;
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

  /* What register-layers' writer did, once it is done. */
  g_autoptr (MigAhead) written = mig_ahead_take (ctx);
  Ahead ahead = { graph, store, root, written };
  g_autofree Slot *slots = g_new0 (Slot, WINDOW);
  for (guint k = 0; k < WINDOW; k++)
    slots[k].ahead = &ahead;
  GThreadPool *pool = NULL;
  /* This thread writes; jobs - 1 others build. */
  guint jobs = MIN (gp_context_get_jobs (ctx), 16);
  if (jobs > 1 && order->len > 1)
    {
      g_mutex_init (&ahead.lock);
      g_cond_init (&ahead.cond);
      pool = g_thread_pool_new (slot_worker, NULL, (gint) jobs - 1, FALSE, error);
      if (pool == NULL)
        return FALSE;
      for (guint k = 0; k < WINDOW; k++)
        slot_start (pool, slots, order, k);
    }
  gboolean ok = run_in_order (ctx, graph, store, root, order, pool, slots, written, error);
  if (pool != NULL)
    {
      /* Let the queued ones finish (they have no side effect). */
      g_thread_pool_free (pool, FALSE, TRUE);
      for (guint k = 0; k < WINDOW; k++)
        slot_clear (&slots[k]);
      g_mutex_clear (&ahead.lock);
      g_cond_clear (&ahead.cond);
    }
  if (!ok)
    return FALSE;

  if (!save_mapping (ctx, graph, error))
    return FALSE;
  mig_crash_point (ctx, "mapping written");
  mig_update_clock (ctx);
  return TRUE;
}

/* D.5-9 for every image, in Docker's order; with @pool, the configs
 * come from @slots. */
static gboolean
run_in_order (GpContext *ctx, GpGraph *graph, GpStore *store, const char *root, GPtrArray *order,
              GThreadPool *pool, Slot *slots, MigAhead *written, GError **error)
{
  for (guint i = 0; i < order->len; i++)
    {
      GpGraphImage *image = order->pdata[i];
      g_autoptr (GError) local_error = NULL;
      Slot *slot = NULL;

      if (pool != NULL && slots[i % WINDOW].image == image)
        {
          slot = &slots[i % WINDOW];
          slot_wait (slot);
        }
      /* What leaves the slot is freed with it; the next one is queued. */
      g_autoptr (GBytes) ahead_config = slot ? g_steal_pointer (&slot->config) : NULL;
      g_autoptr (GError) ahead_error = slot ? g_steal_pointer (&slot->error) : NULL;
      g_autofree char *ahead_blob = slot ? g_steal_pointer (&slot->blob) : NULL;
      if (slot != NULL)
        slot_clear (slot);
      if (pool != NULL)
        slot_start (pool, slots, order, i + WINDOW);

      if (gp_context_set_error_if_cancelled (ctx, error))
        return FALSE;
      if (gp_graph_image_inherit_failure (image))
        {
          mig_image_failed (ctx, image);
          continue;
        }
      if (image->chain_id == NULL)
        continue; /* register-layers did not run */

      /* D.5-7 written ahead by register-layers' writer (the same writes,
       * in the same order), or here. */
      MigAheadResult *done = mig_ahead_lookup (written, image);
      g_autofree char *image_id = NULL;
      g_autofree char *blob = NULL;
      if (done != NULL && done->image_id == NULL)
        {
          gp_graph_image_fail_as (image, GP_GRAPH_FAILURE_TRANSIENT, g_error_copy (done->error));
          mig_image_failed (ctx, image);
          continue;
        }
      if (done != NULL)
        {
          image_id = g_strdup (done->image_id);
          blob = g_strdup (done->blob);
        }
      else if (!write_image (ctx, graph, store, root, image, slot, &ahead_config, &ahead_error,
                             &ahead_blob, &image_id, &blob))
        continue;

      /* D.8: best effort, as Docker. */
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
  return TRUE;
}

/* D.5-7 for one image, here: FALSE when it failed (reported). */
static gboolean
write_image (GpContext *ctx, GpGraph *graph, GpStore *store, const char *root, GpGraphImage *image,
             Slot *slot, GBytes **ahead_config, GError **ahead_error, char **ahead_blob,
             char **out_image_id, char **out_blob)
{
  g_autoptr (GError) local_error = NULL;
  /* D.5-6 */
  g_autoptr (GBytes) config = NULL;
  if (slot != NULL)
    {
      config = g_steal_pointer (ahead_config);
      local_error = g_steal_pointer (ahead_error);
    }
  else
    config = gp_graph_image_build_config (graph, image, store, &local_error);
  /* A config refused is the legacy JSON's fault; one not written or
   * not linked to its parent, the store's. */
  GpGraphFailure failure = config == NULL ? gp_graph_classify_error (local_error)
                                          : GP_GRAPH_FAILURE_TRANSIENT;
  /* D.5-7: its writes */
  g_autofree char *image_id = NULL;
  if (config != NULL)
    image_id = mig_write_image (ctx, store, config, gp_graph_image_parent_image_id (graph, image),
                                &local_error);
  if (image_id == NULL)
    {
      g_prefix_error (&local_error, "graph/%s: cannot create the image: ", image->id);
      gp_graph_image_fail_as (image, failure, g_steal_pointer (&local_error));
      mig_image_failed (ctx, image);
      return FALSE;
    }
  *out_blob = slot ? g_steal_pointer (ahead_blob) : mig_read_blob_digest (root, image->id);
  *out_image_id = g_steal_pointer (&image_id);
  return TRUE;
}

GP_STAGE_DEFINE (
  .name = "build-configs",
  .description = "Create the image configs, parent and distribution metadata and the v1 mapping file",
  .requires = GP_STAGE_STRV ("legacy-graph", "layers"),
  .provides = GP_STAGE_STRV ("images"),
  .prepare = build_configs_prepare,
  .run = build_configs_run)
