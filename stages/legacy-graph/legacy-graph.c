/* legacy-graph: a source of `graphpipe save --source legacy`.  Selects
 * images of a legacy (Docker <= 1.9) data root by name and publishes
 * them (the `image-set` capability) as a migration followed by a save
 * would give them, writing nothing anywhere: no migrated store, no
 * helper files.
 *
 * What the migration computes is computed the same way, by the same core
 * code (FORMATS.md §4.9): the graph is read and checked by gp_graph_scan()
 * (every image not ruled out, in Docker's order); each layer's tar is
 * rebuilt from `graph/<id>/tar-data.json.gz` and the driver's files, or,
 * when that file is missing or does not match, from the driver's Diff
 * (§2.3; with a warning, refused under --strict), and hashed on --jobs
 * threads: its DiffID and tar length; each image config is built by
 * gp_graph_image_build_config() (its sha256 is the image ID); the tags of
 * `repositories-<driver>` become references as migrate-tags makes them
 * (sorted names and keys, the first entry normalising to a reference
 * wins).  Names are then resolved by Docker's rules (GpImageCatalog), as
 * docker-store resolves them in the migrated store.  A layer reached by
 * several images (one ChainID) is one object, streamed from the files of
 * the first image that has it in Docker's order, as the migrated layer
 * store would record it; a sink streams it again (the tar rebuilt the
 * same way, checked against the DiffID on the way).
 *
 * Differences from a migration in place: helper files a partial earlier
 * migration left in graph/ (`.migration-diffid`) and its mapping file are
 * not trusted; every layer is checksummed again, as
 * `--preset export-legacy` (a migration into a temporary store) does.
 */
#include "config.h"

#include <graphpipe.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

/* Threads checksumming layers: at most this many, whatever --jobs says. */
#define MAX_WORKERS 8

static const GpOption options[] = {
  { .key = "images", .type = GP_OPTION_STRING, .flags = GP_OPTION_FLAG_REQUIRED,
    .help = "Names to select, separated by spaces or ';': name (all its tags), name:tag, "
            "name@digest, image ID or unique ID prefix (the IDs a migration would give)" },
  { NULL }
};

/* One legacy image's layer: how its tar is rebuilt.  Shared by the images
 * that hold it through their GpImageLayer. */
typedef struct {
  char *root;
  const GpDriver *driver;
  char *v1_id;
  char *parent_v1_id;    /* for the driver's Diff of a full-rootfs driver */
  gboolean from_driver;  /* no usable tar-data.json.gz: the driver's Diff */
  char *diff_id;
  guint64 tar_size;
  GError *error;         /* the checksum failed */
  char *warning;         /* tar-data.json.gz present but unusable */
} LgLayer;

static void
lg_layer_free (LgLayer *l)
{
  g_free (l->root);
  g_free (l->v1_id);
  g_free (l->parent_v1_id);
  g_free (l->diff_id);
  g_clear_error (&l->error);
  g_free (l->warning);
  g_free (l);
}

/* The driver's Diff of the layer (§2.3), hashed. */
static gboolean
stream_driver_diff (const LgLayer *l, GpWriteFunc write, gpointer write_data,
                    GCancellable *cancellable, char **out_diff_id, guint64 *out_len,
                    GError **error)
{
  GpSha256Writer h;
  gp_sha256_writer_init (&h, write, write_data);
  if (!gp_graph_layer_driver_diff (l->driver, l->root, l->v1_id, l->parent_v1_id,
                                   gp_sha256_writer_write,
                                   &h, cancellable, error))
    return FALSE;
  *out_diff_id = g_malloc (GP_DIGEST_SHA256_LEN + 1);
  gp_sha256_finish_digest (&h.sha, *out_diff_id);
  *out_len = h.len;
  return TRUE;
}

/* A sink's stream: the tar rebuilt the way the checksum pass did.  Any
 * thread. */
static gboolean
lg_stream_tar (GpImageLayer *layer, GpWriteFunc write, gpointer write_data,
               GCancellable *cancellable, char **out_diff_id, GError **error)
{
  LgLayer *l = gp_image_layer_get_data (layer);
  gboolean ok;
  if (l->from_driver)
    {
      guint64 len = 0;
      ok = stream_driver_diff (l, write, write_data, cancellable, out_diff_id, &len, error);
    }
  else
    {
      GpTarSplitStats stats = { 0 };
      ok = gp_graph_layer_tar_split (l->driver, l->root, l->v1_id, write, write_data, cancellable,
                                     &stats, NULL, error);
      if (ok)
        *out_diff_id = g_strdup (stats.diff_id);
      else
        g_prefix_error (error, "%s: ", GP_GRAPH_LEGACY_TARDATA);
    }
  if (!ok)
    g_prefix_error (error, "graph/%s: ", l->v1_id);
  return ok;
}

static const GpImageLayerFuncs lg_layer_funcs = {
  .stream_tar = lg_stream_tar,
  .computes_digest = TRUE,
};

static gboolean
discard (gpointer user_data, const void *buf, gsize len, GError **error)
{
  return TRUE;
}

typedef struct {
  GpContext *ctx;
  GCancellable *cancellable;
  gboolean strict;
  guint n_total;
  gint n_done;
} Job;

static void
checksum_done (Job *job, LgLayer *l)
{
  guint done = (guint) g_atomic_int_add (&job->n_done, 1) + 1;
  gp_context_add_counter (job->ctx, "layers checksummed", 1);
  gp_context_add_counter (job->ctx, "bytes hashed", (gint64) l->tar_size);
  gp_context_emit_item_done (job->ctx, l->v1_id, done, job->n_total, l->tar_size,
                             "calculated checksum for layer %s: %s%s", l->v1_id, l->diff_id,
                             l->from_driver ? " (rebuilt from the driver)" : "");
}

/* §4.9 C: the layer's DiffID and tar length. */
static void
checksum_worker (gpointer data, gpointer user_data)
{
  LgLayer *l = data;
  Job *job = user_data;
  g_autoptr (GError) route_error = NULL;
  gboolean absent = FALSE;
  GpTarSplitStats stats = { 0 };

  if (g_cancellable_set_error_if_cancelled (job->cancellable, &l->error))
    return;
  if (gp_graph_layer_tar_split (l->driver, l->root, l->v1_id, discard, NULL, job->cancellable,
                                &stats, &absent, &route_error))
    {
      l->diff_id = g_strdup (stats.diff_id);
      l->tar_size = stats.tar_size;
      checksum_done (job, l);
      return;
    }
  if (!gp_graph_layer_fallback (l->v1_id, gp_driver_get_name (l->driver),
                                g_steal_pointer (&route_error), absent, job->strict, &l->warning,
                                &l->error))
    return;
  l->from_driver = TRUE;
  g_autoptr (GError) error = NULL;
  if (!stream_driver_diff (l, NULL, NULL, job->cancellable, &l->diff_id, &l->tar_size, &error))
    l->error = g_error_new (error->domain, error->code,
                            "graph/%s: cannot compute the layer checksum: %s", l->v1_id,
                            error->message);
  else
    checksum_done (job, l);
}

/* Without --driver: the one driver the legacy root holds data of. */
static const GpDriver *
find_driver (GpContext *ctx, const char *root, GError **error)
{
  const char *name = gp_context_get_driver (ctx);
  if (name != NULL && *name != '\0')
    return gp_driver_lookup (name, error);
  g_auto (GStrv) found = gp_driver_probe (root, error);
  if (found == NULL)
    return NULL;
  if (found[0] == NULL)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING,
                   "%s: no legacy driver data (repositories-<driver> or <driver>/)", root);
      return NULL;
    }
  if (found[1] != NULL)
    {
      g_autofree char *list = g_strjoinv (", ", found);
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_CONFLICT,
                   "%s: data of several drivers (%s): choose one with --driver", root, list);
      return NULL;
    }
  gp_context_set_driver (ctx, found[0]);
  return gp_driver_lookup (found[0], error);
}

/* repositories-<driver> as migrate-tags turns it into repositories.json
 * (§4.9 G): each entry whose image was built normalised to a tag or
 * digest reference; invalid ones are skipped with a warning, a reference
 * already taken keeps its first image. */
static GpRepositories *
load_tags (GpContext *ctx, GpGraph *graph, const char *root, const char *driver,
           GHashTable *v1_to_id, GHashTable *unavailable, GError **error)
{
  g_autoptr (GPtrArray) tags = gp_graph_load_legacy_tags (root, driver, NULL, error);
  if (tags == NULL)
    return NULL;
  g_autoptr (GpRepositories) repos = gp_repositories_new ();
  for (guint i = 0; i < tags->len; i++)
    {
      const GpGraphLegacyTag *tag = tags->pdata[i];
      const char *image_id = g_hash_table_lookup (v1_to_id, tag->v1_id);
      g_autoptr (GError) local_error = NULL;
      gboolean is_digest;
      g_autoptr (GpReference) ref = gp_graph_legacy_tag_reference (tag, &is_digest, NULL,
                                                                   &local_error);
      if (image_id == NULL)
        {
          /* not built (a warning said why): kept to explain a name */
          GpGraphImage *node = gp_graph_lookup (graph, tag->v1_id);
          if (ref != NULL && node != NULL && node->error != NULL)
            g_hash_table_insert (unavailable, gp_reference_to_string (ref),
                                 g_strdup_printf ("image %s not migrated: %s", node->id,
                                                  node->error->message));
          continue;
        }
      if (ref != NULL && gp_repositories_lookup (repos, ref) != NULL)
        continue;
      if (ref == NULL
          || !gp_graph_legacy_tag_add (repos, ref, is_digest, image_id, &local_error))
        gp_context_report (ctx, GP_REPORT_WARNING, NULL, "repositories-%s: %s:%s skipped: %s",
                           driver, tag->name, tag->key, local_error->message);
    }
  return g_steal_pointer (&repos);
}

/* Checksums every layer the migration would (the images gp_graph_scan()
 * did not rule out) on up to --jobs threads. */
static gboolean
checksum_layers (GpContext *ctx, GPtrArray *layers, gboolean strict, GError **error)
{
  Job job = { .ctx = ctx, .cancellable = gp_context_get_cancellable (ctx), .strict = strict,
              .n_total = layers->len };
  guint n = MIN (MIN (MAX (gp_context_get_jobs (ctx), 1), MAX_WORKERS), layers->len);
  if (n > 1)
    {
      GThreadPool *pool = g_thread_pool_new (checksum_worker, &job, (gint) n, FALSE, error);
      if (pool == NULL)
        return FALSE;
      for (guint i = 0; i < layers->len; i++)
        g_thread_pool_push (pool, layers->pdata[i], NULL);
      g_thread_pool_free (pool, FALSE, TRUE);
    }
  else
    for (guint i = 0; i < layers->len; i++)
      checksum_worker (layers->pdata[i], &job);
  return !gp_context_set_error_if_cancelled (ctx, error);
}

static gboolean
legacy_graph_prepare (GpStage *stage, GpContext *ctx, GError **error)
{
  if (!gp_image_names_check (gp_stage_get_string (stage, "images"), error))
    return FALSE;
  if (gp_context_get_root (ctx) == NULL)
    {
      g_set_error_literal (error, GP_PRESET_ERROR, GP_PRESET_ERROR_BAD_VALUE,
                           "legacy-graph: no data root given (--root)");
      return FALSE;
    }
  return TRUE;
}

static gboolean
legacy_graph_run (GpStage *stage, GpContext *ctx, GError **error)
{
  g_auto (GStrv) names = gp_image_names_split (gp_stage_get_string (stage, "images"));
  const char *root = gp_context_get_root (ctx);

  g_autofree char *graph_dir = g_build_filename (root, "graph", NULL);
  struct stat st;
  if (stat (graph_dir, &st) != 0)
    {
      int e = errno;
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING,
                   "%s: no legacy graph (is it a Docker <= 1.9 data root?): %s", graph_dir,
                   g_strerror (e));
      return FALSE;
    }
  if (!S_ISDIR (st.st_mode))
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_NOT_REGULAR,
                   "%s: not a directory", graph_dir);
      return FALSE;
    }
  const GpDriver *driver = find_driver (ctx, root, error);
  if (driver == NULL)
    return FALSE;
  g_autoptr (GpGraph) graph = gp_graph_new (root);
  if (!gp_graph_scan (graph, gp_context_get_cancellable (ctx), error))
    return FALSE;

  /* C: every layer of an image the scan did not rule out. */
  g_autoptr (GHashTable) by_v1 = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                        (GDestroyNotify) lg_layer_free);
  g_autoptr (GPtrArray) queue = g_ptr_array_new ();
  for (guint i = 0; i < gp_graph_get_n_images (graph); i++)
    {
      GpGraphImage *image = gp_graph_get_image (graph, i);
      if (!image->parent_resolved)
        continue;
      LgLayer *l = g_new0 (LgLayer, 1);
      l->root = g_strdup (root);
      l->driver = driver;
      l->v1_id = g_strdup (image->id);
      l->parent_v1_id = g_strdup (image->parent);
      g_hash_table_insert (by_v1, l->v1_id, l);
      g_ptr_array_add (queue, l);
    }
  if (!checksum_layers (ctx, queue, gp_context_get_strict (ctx), error))
    return FALSE;

  /* D in Docker's order: chain IDs and configs; the first image of a
   * chain ID gives its layer.  A failed image fails its descendants. */
  g_autoptr (GHashTable) v1_to_id = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  g_autoptr (GHashTable) configs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                          (GDestroyNotify) g_bytes_unref);
  g_autoptr (GHashTable) node_of = g_hash_table_new (g_str_hash, g_str_equal); /* ID -> node */
  g_autoptr (GHashTable) layer_of_chain = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                                 (GDestroyNotify) gp_image_layer_unref);
  GPtrArray *order = gp_graph_get_order (graph);
  guint n_failed = 0;
  for (guint i = 0; i < order->len; i++)
    {
      GpGraphImage *image = order->pdata[i];
      g_autoptr (GError) local_error = NULL;
      if (gp_graph_image_inherit_failure (image))
        {
          n_failed++;
          continue;
        }
      LgLayer *l = g_hash_table_lookup (by_v1, image->id);
      g_autofree char *parent_chain = gp_graph_image_parent_chain_id (graph, image, NULL,
                                                                      &local_error);
      if (parent_chain != NULL && l != NULL && l->error != NULL)
        local_error = g_error_copy (l->error);
      else if (parent_chain != NULL && l == NULL)
        g_set_error (&local_error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING,
                     "graph/%s: no layer checksum", image->id);
      g_autoptr (GBytes) config = NULL;
      if (local_error == NULL)
        {
          if (l->warning != NULL)
            gp_context_report (ctx, GP_REPORT_WARNING, NULL, "%s", l->warning);
          g_free (image->diff_id);
          image->diff_id = g_strdup (l->diff_id);
          g_free (image->chain_id);
          image->chain_id = parent_chain[0] != '\0' ? gp_chain_id (parent_chain, l->diff_id)
                                                    : g_strdup (l->diff_id);
          if (!g_hash_table_contains (layer_of_chain, image->chain_id))
            {
              /* the layer object borrows @l: it stays in by_v1 until the
               * end of the run, after which only sinks hold the objects */
              g_hash_table_steal (by_v1, l->v1_id);
              g_hash_table_insert (layer_of_chain, g_strdup (image->chain_id),
                                   gp_image_layer_new (l->diff_id, (gint64) l->tar_size,
                                                       &lg_layer_funcs, l,
                                                       (GDestroyNotify) lg_layer_free));
            }
          config = gp_graph_image_build_config (graph, image, NULL, &local_error);
        }
      if (config == NULL)
        {
          gp_graph_image_fail (image, g_steal_pointer (&local_error));
          n_failed++;
          continue;
        }
      char *image_id = gp_sha256_digest_of (g_bytes_get_data (config, NULL),
                                            g_bytes_get_size (config));
      g_free (image->image_id);
      image->image_id = g_strdup (image_id);
      g_hash_table_insert (v1_to_id, image->id, image_id);
      if (!g_hash_table_contains (configs, image_id))
        {
          g_hash_table_insert (configs, g_strdup (image_id), g_bytes_ref (config));
          g_hash_table_insert (node_of, image->image_id, image);
        }
    }
  /* What cannot be had, said once (the names may not need it). */
  for (guint i = 0; i < gp_graph_get_n_images (graph); i++)
    {
      GpGraphImage *image = gp_graph_get_image (graph, i);
      if (image->error != NULL && gp_graph_image_take_report (image))
        gp_context_report (ctx, GP_REPORT_WARNING, NULL, "image %s not migrated: %s",
                           image->id, image->error->message);
    }
  gp_context_add_counter (ctx, "legacy images", order->len);
  if (n_failed > 0)
    gp_context_add_counter (ctx, "legacy images failed", n_failed);

  /* Names, by Docker's rules, over what a migration would have made. */
  g_autoptr (GHashTable) unavailable = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                             g_free);
  g_autoptr (GpRepositories) repos = load_tags (ctx, graph, root, gp_driver_get_name (driver),
                                                v1_to_id, unavailable, error);
  if (repos == NULL)
    return FALSE;
  g_autoptr (GpImageCatalog) catalog = gp_image_catalog_new (GP_IMAGE_NAMES_DOCKER);
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init (&it, configs);
  while (g_hash_table_iter_next (&it, &key, NULL))
    gp_image_catalog_add_image (catalog, key);
  gp_image_catalog_add_repositories (catalog, repos);
  g_autoptr (GError) resolve_error = NULL;
  g_autoptr (GPtrArray) images = gp_image_catalog_resolve (catalog, (const char *const *) names,
                                                           &resolve_error);
  if (images == NULL)
    {
      /* a tag of an image the migration would fail: say why */
      for (guint i = 0; names[i] != NULL; i++)
        {
          g_autoptr (GpReference) ref = gp_reference_parse (names[i], NULL);
          g_autofree char *full = ref != NULL ? gp_reference_to_string (ref) : NULL;
          g_autofree char *tagged = full != NULL ? g_strconcat (full, ":latest", NULL) : NULL;
          const char *why = full != NULL ? g_hash_table_lookup (unavailable, full) : NULL;
          if (why == NULL && tagged != NULL)
            why = g_hash_table_lookup (unavailable, tagged);
          if (why != NULL)
            {
              g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING, "%s not available: %s",
                           names[i], why);
              return FALSE;
            }
        }
      g_propagate_error (error, g_steal_pointer (&resolve_error));
      return FALSE;
    }

  for (guint i = 0; i < images->len; i++)
    {
      GpImage *image = g_ptr_array_index (images, i);
      GpGraphImage *node = g_hash_table_lookup (node_of, gp_image_get_id (image));
      g_return_val_if_fail (node != NULL, FALSE);
      gp_image_set_config (image, g_hash_table_lookup (configs, gp_image_get_id (image)));
      /* the parent a migration records (build-configs, D.7) */
      gp_image_set_parent (image, gp_graph_image_parent_image_id (graph, node));
      g_autoptr (GPtrArray) chain = g_ptr_array_new ();
      for (GpGraphImage *cur = node; cur != NULL; cur = cur->parent_image)
        g_ptr_array_add (chain, cur);
      for (guint j = chain->len; j-- > 0;)
        {
          GpGraphImage *cur = chain->pdata[j];
          gp_image_add_layer (image, g_hash_table_lookup (layer_of_chain, cur->chain_id));
        }
    }
  gp_context_set_images (ctx, images);
  return TRUE;
}

GP_STAGE_DEFINE (
  .name = "legacy-graph",
  .description = "Select images of a legacy (Docker <= 1.9) graph by name, as a migration "
                 "would give them (source of save --source legacy)",
  .requires = GP_STAGE_STRV ("root"),
  .provides = GP_STAGE_STRV (GP_IMAGES_CAPABILITY),
  .options = options,
  .prepare = legacy_graph_prepare,
  .run = legacy_graph_run)
