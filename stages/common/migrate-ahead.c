/* Image configs written ahead: register-layers hands build-configs'
 * writes to a thread of their own.
 *
 * build-configs writes, for every image in Docker's order, its config
 * (imagedb/content) and its parent link (imagedb/metadata): a few file
 * creations per image, serial by nature, that used to run alone after
 * the checksums ended.  When build-configs is in the pipeline (its
 * prepare calls mig_ahead_want()) and register-layers runs its checksums
 * in parallel, register-layers gives each image whose layer it registered
 * and whose config it checked to one writer thread, in Docker's order;
 * the writer does exactly what build-configs would do with it, in the
 * same order (an image whose parent it could not create gets nothing
 * written), while the checksums of the later layers go on.
 * build-configs then takes the outcome of each image from here, in order,
 * and does the rest itself (failures, distribution metadata, the
 * mapping, events), as before.
 */
#include "migrate-common.h"

#include <string.h>

#define SLOT_WANT "build-configs.takes-configs-ahead"
#define SLOT_AHEAD "register-layers.configs-ahead"

typedef struct {
  GpGraphImage *image;
  GBytes *config;
} AheadItem;

struct _MigAhead {
  GpContext *ctx;
  GpGraph *graph;
  GpStore *store;
  GAsyncQueue *queue;  /* AheadItem*, then the end marker (the queue itself) */
  GThread *thread;
  GHashTable *done;    /* GpGraphImage* -> MigAheadResult* (the writer's until it ended) */
};

static void
result_free (MigAheadResult *r)
{
  g_free (r->image_id);
  g_free (r->blob);
  g_clear_error (&r->error);
  g_free (r);
}

static void
item_free (AheadItem *it)
{
  g_bytes_unref (it->config);
  g_free (it);
}

/* build-configs' D.5-7 for one image (stages/build-configs). */
static void
ahead_write (MigAhead *a, AheadItem *it)
{
  GpGraphImage *image = it->image;
  const char *parent_id = NULL;

  if (image->parent != NULL && image->parent_mapped)
    parent_id = gp_graph_mapping_lookup (a->graph, image->parent);
  else if (image->parent != NULL)
    {
      MigAheadResult *pr = image->parent_image ? g_hash_table_lookup (a->done, image->parent_image) : NULL;
      /* Not created: build-configs fails the image as its descendant. */
      if (pr == NULL || pr->image_id == NULL)
        return;
      parent_id = pr->image_id;
    }

  MigAheadResult *r = g_new0 (MigAheadResult, 1);
  r->image_id = mig_write_image (a->ctx, a->store, it->config, parent_id, &r->error);
  if (r->image_id == NULL)
    g_prefix_error (&r->error, "graph/%s: cannot create the image: ", image->id);
  else
    r->blob = mig_read_blob_digest (gp_context_get_root (a->ctx), image->id);
  g_hash_table_insert (a->done, image, r);
}

static gpointer
ahead_thread (gpointer data)
{
  MigAhead *a = data;

  for (;;)
    {
      gpointer p = g_async_queue_pop (a->queue);
      if (p == a->queue)
        break;
      AheadItem *it = p;
      /* Cancelled: what is left goes back to build-configs, which stops. */
      if (!gp_context_is_cancelled (a->ctx))
        ahead_write (a, it);
      item_free (it);
    }
  return NULL;
}

/* Ends the writer (after what was pushed) and frees everything. */
static void
ahead_free (gpointer data)
{
  MigAhead *a = data;

  if (a == NULL)
    return;
  if (a->thread != NULL)
    {
      g_async_queue_push (a->queue, a->queue);
      g_thread_join (a->thread);
    }
  g_async_queue_unref (a->queue);
  g_hash_table_unref (a->done);
  g_free (a);
}

/* build-configs' prepare: it takes configs written ahead. */
void
mig_ahead_want (GpContext *ctx)
{
  gp_context_set_slot (ctx, SLOT_WANT, GINT_TO_POINTER (1), NULL);
}

/* register-layers: the writer of this run, or NULL (build-configs does
 * not follow, a dry run, no parallel checksums); kept in the context for
 * build-configs (freed with it otherwise). */
MigAhead *
mig_ahead_start (GpContext *ctx, GpGraph *graph, GpStore *store)
{
  if (!gp_context_has_slot (ctx, SLOT_WANT) || gp_context_get_dry_run (ctx))
    return NULL;
  MigAhead *a = g_new0 (MigAhead, 1);
  a->ctx = ctx;
  a->graph = graph;
  a->store = store;
  a->queue = g_async_queue_new_full ((GDestroyNotify) item_free);
  a->done = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, (GDestroyNotify) result_free);
  a->thread = g_thread_try_new ("gp-configs", ahead_thread, a, NULL);
  if (a->thread == NULL)
    {
      ahead_free (a);
      return NULL;
    }
  gp_context_set_slot (ctx, SLOT_AHEAD, a, ahead_free);
  return a;
}

/* register-layers, in Docker's order: @image's layer is registered and
 * @config is its checked config. */
void
mig_ahead_push (MigAhead *a, GpGraphImage *image, GBytes *config)
{
  AheadItem *it = g_new0 (AheadItem, 1);
  it->image = image;
  it->config = g_bytes_ref (config);
  g_async_queue_push (a->queue, it);
}

/* build-configs: the outcomes of the writer, once it wrote everything it
 * was given; NULL when there was none.  Free with mig_ahead_free(). */
MigAhead *
mig_ahead_take (GpContext *ctx)
{
  MigAhead *a = gp_context_steal_slot (ctx, SLOT_AHEAD);
  if (a == NULL)
    return NULL;
  g_async_queue_push (a->queue, a->queue);
  g_thread_join (a->thread);
  a->thread = NULL;
  return a;
}

/* What the writer did for @image: NULL when it was not given the image
 * or did not write it (its parent was not created, cancelled). */
MigAheadResult *
mig_ahead_lookup (MigAhead *a, GpGraphImage *image)
{
  return a ? g_hash_table_lookup (a->done, image) : NULL;
}

void
mig_ahead_free (MigAhead *a)
{
  ahead_free (a);
}
