/* docker-store: the source of `graphpipe save`.  Resolves the names given
 * against a Docker 1.10+ store (any driver with tar-split data: vfs, aufs,
 * overlay, overlay2, btrfs; the driver files under --layers-from when set)
 * and publishes the images (the `image-set` capability): config bytes as
 * stored, references, and layers whose tar is rebuilt from tar-split data
 * and the driver's files when a sink streams it.
 *
 * Everything that can fail on the store's content (configs, layer
 * records, the tar-split metadata giving each tar's length) is checked
 * here, before any sink opens its output.
 */
#include "config.h"

#include <graphpipe.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* Threads measuring layers: at most this many, whatever --jobs says. */
#define MAX_WORKERS 8

static const GpOption options[] = {
  { .key = "images", .type = GP_OPTION_STRING, .flags = GP_OPTION_FLAG_REQUIRED,
    .help = "Names to select, separated by spaces or ';': name (all its tags), name:tag, "
            "name@digest, image ID or unique ID prefix" },
  { NULL }
};

/* What a layer's stream function needs: shared by the images holding it. */
typedef struct {
  GpStore *store;
  const GpDriver *driver;
  char *diff_id;
  char *cache_id;
  char *tar_split_path;
  guint64 tar_size;
  GError *measure_error;
  GCancellable *cancellable;
} DsLayer;

static void
ds_layer_free (DsLayer *l)
{
  g_clear_pointer (&l->store, gp_store_unref);
  g_free (l->diff_id);
  g_free (l->cache_id);
  g_free (l->tar_split_path);
  g_clear_error (&l->measure_error);
  g_clear_object (&l->cancellable);
  g_free (l);
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* Without --driver: the driver whose 1.10+ image store is under
 * <root>/image/ (a directory holding imagedb/ or repositories.json).  With
 * several, the one whose driver directory <root>/<driver> exists; if that
 * does not single one out, the user must choose. */
static gboolean
ensure_driver (GpContext *ctx, GError **error)
{
  const char *driver = gp_context_get_driver (ctx);
  /* The store's root (--target of an earlier run, or the data root) and
   * the root holding the driver's directories (--layers-from). */
  const char *root = gp_context_get_store_root (ctx);
  const char *layers_root = gp_context_get_layers_root (ctx);
  if (root == NULL || *root == '\0')
    return TRUE; /* gp_context_get_store() reports a missing root */

  g_autofree char *image = g_build_filename (root, "image", NULL);
  if (driver != NULL && *driver != '\0')
    {
      /* A driver whose store is not there, named with what is. */
      g_autofree char *store = g_build_filename (image, driver, NULL);
      gboolean exists;
      if (!gp_path_probe (store, &exists, error))
        return FALSE;
      if (!exists)
        {
          g_auto (GStrv) found = gp_driver_list_stores (root);
          g_autofree char *list = g_strjoinv (", ", found);
          g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING, "%s: no image/%s store (it holds: %s)",
                       root, driver, found[0] != NULL ? list : "no image store");
          return FALSE;
        }
      return TRUE;
    }

  g_autoptr (GPtrArray) stores = g_ptr_array_new_with_free_func (g_free);
  int fd = open (image, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 && errno != ENOENT)
    {
      int e = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "%s: cannot read it: %s", image,
                   g_strerror (e));
      return FALSE;
    }
  if (fd >= 0)
    close (fd);
  g_autoptr (GDir) dir = g_dir_open (image, 0, NULL);
  const char *name;
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *imagedb = g_build_filename (image, name, "imagedb", NULL);
      g_autofree char *repos = g_build_filename (image, name, "repositories.json", NULL);
      if (g_file_test (imagedb, G_FILE_TEST_IS_DIR) || g_file_test (repos, G_FILE_TEST_IS_REGULAR))
        g_ptr_array_add (stores, g_strdup (name));
    }
  g_ptr_array_sort (stores, compare_strings);

  if (stores->len == 0)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING,
                   "%s: no Docker 1.10+ image store found (expected image/<driver>/imagedb)", root);
      return FALSE;
    }
  const char *chosen = NULL;
  if (stores->len == 1)
    chosen = g_ptr_array_index (stores, 0);
  else
    {
      guint n_homes = 0;
      for (guint i = 0; i < stores->len; i++)
        {
          g_autofree char *home = g_build_filename (layers_root, g_ptr_array_index (stores, i), NULL);
          if (g_file_test (home, G_FILE_TEST_IS_DIR))
            {
              chosen = g_ptr_array_index (stores, i);
              n_homes++;
            }
        }
      if (n_homes != 1)
        {
          g_ptr_array_add (stores, NULL);
          g_autofree char *list = g_strjoinv (", ", (char **) stores->pdata);
          g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_CONFLICT,
                       "%s: image stores of several drivers (%s): choose one with --driver",
                       root, list);
          return FALSE;
        }
    }
  gp_context_set_driver (ctx, chosen);
  return TRUE;
}

/* Length of the tar stream a tar-split file describes: every segment's
 * bytes plus every file entry's recorded size.  Reads metadata only. */
static gboolean
measure_tar_split (const char *path, guint64 *out_size, GCancellable *cancellable,
                   GError **error)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    {
      int errsv = errno;
      g_set_error (error, errsv == ENOENT ? GP_DATA_ERROR : G_IO_ERROR,
                   errsv == ENOENT ? GP_DATA_ERROR_MISSING : g_io_error_from_errno (errsv),
                   "%s: cannot open: %s", path, g_strerror (errsv));
      return FALSE;
    }
  g_autoptr (GpTarSplitReader) reader = gp_tar_split_reader_new (fd, path, GP_TAR_SPLIT_FLAGS_SIZES_ONLY);
  guint64 size = 0;
  for (;;)
    {
      const GpTarSplitEntry *entry = NULL;
      if (!gp_tar_split_reader_next (reader, &entry, error))
        return FALSE;
      if (entry == NULL)
        break;
      if (entry->type == GP_TAR_SPLIT_ENTRY_SEGMENT)
        size += entry->payload_len;
      else
        size += (guint64) entry->size;
      if ((gp_tar_split_reader_get_n_entries (reader) & 4095) == 0
          && g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
    }
  *out_size = size;
  return TRUE;
}

static int
open_layer_file (gpointer user_data, const char *name, gsize name_len, struct stat *out_stat, GError **error)
{
  GpLayerDir *dir = user_data;
  return gp_layer_dir_open_file_full (dir, name, name_len, GP_LAYER_OPEN_KEEP_NONBLOCK, out_stat, error);
}

/* The layer tar, rebuilt from its tar-split data and the driver's files.
 * Any thread. */
static gboolean
ds_stream_tar (GpImageLayer *layer, GpWriteFunc write, gpointer write_data,
               GCancellable *cancellable, char **out_diff_id, GError **error)
{
  DsLayer *l = gp_image_layer_get_data (layer);
  g_autoptr (GpLayerDir) dir = gp_layer_dir_open_driver (l->driver,
                                                        gp_store_get_layers_root (l->store),
                                                        l->cache_id, error);
  if (dir == NULL)
    {
      g_prefix_error (error, "cache-id %s: ", l->cache_id);
      return FALSE;
    }
  int fd = open (l->tar_split_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    {
      int errsv = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv), "%s: %s",
                   l->tar_split_path, g_strerror (errsv));
      return FALSE;
    }
  g_autoptr (GpTarSplitReader) reader = gp_tar_split_reader_new (fd, l->tar_split_path,
                                                                 GP_TAR_SPLIT_FLAGS_NONE);
  GpTarSplitStats stats = { 0 };
  if (!gp_tar_split_assemble_stat (reader, open_layer_file, dir, write, write_data, cancellable,
                              &stats, error))
    {
      g_prefix_error (error, "cache-id %s: ", l->cache_id);
      return FALSE;
    }
  *out_diff_id = g_strdup (stats.diff_id);
  return TRUE;
}

static const GpImageLayerFuncs ds_layer_funcs = {
  .stream_tar = ds_stream_tar,
  .computes_digest = TRUE,
};

typedef struct {
  GpContext *ctx;
  GpStore *store;
  const GpDriver *driver;
  GHashTable *layers;  /* chain ID -> DsLayer * (borrowed from their GpImageLayer) */
  GHashTable *objects; /* chain ID -> GpImageLayer * (owned) */
  GPtrArray *order;    /* DsLayer *, borrowed, in the order first reached */
} Source;

static gboolean
add_layer (Source *src, GpImage *image, guint i, const char *diff_id, const char *chain_id,
           GError **error)
{
  g_autoptr (GpLayerRecord) rec = gp_store_get_layer (src->store, chain_id, error);
  if (rec == NULL)
    {
      g_prefix_error (error, "image %s: layer %u (%s): ", gp_image_get_id (image), i, diff_id);
      return FALSE;
    }
  if (g_strcmp0 (rec->diff_id, diff_id) != 0)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_VERIFY,
                   "image %s: layer %u: layerdb record %s has diff %s, the config says %s",
                   gp_image_get_id (image), i, chain_id, rec->diff_id, diff_id);
      return FALSE;
    }
  DsLayer *l = g_new0 (DsLayer, 1);
  l->store = gp_store_ref (src->store);
  l->driver = src->driver;
  l->diff_id = g_strdup (diff_id);
  l->cache_id = g_strdup (rec->cache_id);
  l->tar_split_path = g_strdup (rec->tar_split_path);
  l->cancellable = g_object_ref (gp_context_get_cancellable (src->ctx));
  g_ptr_array_add (src->order, l);
  /* the layer object is made once its size is measured */
  g_hash_table_insert (src->layers, g_strdup (chain_id), l);
  return TRUE;
}

static gboolean
load_image (Source *src, GpImage *image, GPtrArray *chains, GError **error)
{
  const char *id = gp_image_get_id (image);
  /* IDs come from repositories.json too: check before using them */
  if (!gp_digest_check_sha256 (id, -1, error))
    {
      g_prefix_error (error, "image ID %s: ", id);
      return FALSE;
    }
  g_autoptr (GBytes) raw = gp_store_get_image_config (src->store, id, error);
  if (raw == NULL)
    return FALSE;
  gp_image_set_config (image, raw);
  /* The parent record, as Docker 20.10's save reads it (GetParent): one
   * that cannot be read or parsed is no parent, not an error. */
  g_autofree char *parent = NULL;
  if (gp_store_get_image_parent (src->store, id, &parent, NULL) && parent != NULL
      && strcmp (parent, id) != 0)
    gp_image_set_parent (image, parent);
  gsize len;
  const char *data = g_bytes_get_data (raw, &len);
  g_autoptr (GpImageConfig) config = gp_image_config_parse (data, len, error);
  if (config == NULL)
    {
      g_prefix_error (error, "image %s: ", id);
      return FALSE;
    }
  guint n = config->diff_ids ? config->diff_ids->len : 0;
  g_autofree char *chain = NULL;
  for (guint i = 0; i < n; i++)
    {
      const GString *diff_id = g_ptr_array_index (config->diff_ids, i);
      if (!gp_digest_check_sha256 (diff_id->str, diff_id->len, error))
        {
          g_prefix_error (error, "image %s: diff_ids[%u]: ", id, i);
          return FALSE;
        }
      char *next = i == 0 ? g_strndup (diff_id->str, diff_id->len)
                          : gp_chain_id (chain, diff_id->str);
      g_free (chain);
      chain = next;
      if (!g_hash_table_contains (src->layers, chain)
          && !add_layer (src, image, i, diff_id->str, chain, error))
        return FALSE;
      g_ptr_array_add (chains, g_strdup (chain));
    }
  return TRUE;
}

static void
measure_worker (gpointer data, gpointer user_data)
{
  DsLayer *l = data;
  if (!measure_tar_split (l->tar_split_path, &l->tar_size, l->cancellable, &l->measure_error))
    g_prefix_error (&l->measure_error, "layer %s: ", l->diff_id);
}

/* Measures every layer's tar (parsing its tar-split data: the bulk of the
 * work) on up to --jobs threads; reports the first failure in order. */
static gboolean
measure_layers (Source *src, GError **error)
{
  gp_context_for_each_parallel (src->ctx, src->order, MAX_WORKERS, measure_worker);
  for (guint i = 0; i < src->order->len; i++)
    {
      DsLayer *l = g_ptr_array_index (src->order, i);
      if (l->measure_error != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&l->measure_error));
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
docker_store_prepare (GpStage *stage, GpContext *ctx, GError **error)
{
  if (!gp_image_names_check (gp_stage_get_string (stage, "images"), error))
    return FALSE;
  return TRUE;
}

static gboolean
docker_store_run (GpStage *stage, GpContext *ctx, GError **error)
{
  g_auto (GStrv) names = gp_image_names_split (gp_stage_get_string (stage, "images"));

  if (!ensure_driver (ctx, error))
    return FALSE;
  GpStore *store = gp_context_get_store (ctx, error);
  if (store == NULL)
    return FALSE;

  /* Every name is resolved before anything is read. */
  g_autoptr (GPtrArray) images = gp_image_names_resolve (store, (const char *const *) names,
                                                         error);
  if (images == NULL)
    return FALSE;

  const GpDriver *driver = gp_driver_lookup (gp_store_get_driver (store), error);
  if (driver == NULL)
    return FALSE;

  g_autoptr (GHashTable) layers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                         NULL);
  g_autoptr (GHashTable) objects = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                          (GDestroyNotify) gp_image_layer_unref);
  g_autoptr (GPtrArray) order = g_ptr_array_new ();
  Source src = { .ctx = ctx, .store = store, .driver = driver, .layers = layers,
                 .objects = objects, .order = order };
  /* each image's chain IDs, bottom first, until the layers exist */
  g_autoptr (GPtrArray) chains = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  gboolean ok = TRUE;
  for (guint i = 0; ok && i < images->len; i++)
    {
      GPtrArray *c = g_ptr_array_new_with_free_func (g_free);
      g_ptr_array_add (chains, c);
      ok = load_image (&src, g_ptr_array_index (images, i), c, error);
    }
  ok = ok && measure_layers (&src, error);

  /* The layer objects own their DsLayer from here on. */
  GHashTableIter it;
  gpointer key, value;
  g_hash_table_iter_init (&it, layers);
  while (g_hash_table_iter_next (&it, &key, &value))
    {
      DsLayer *l = value;
      g_hash_table_insert (objects, g_strdup (key),
                           gp_image_layer_new (l->diff_id, (gint64) l->tar_size, &ds_layer_funcs,
                                               l, (GDestroyNotify) ds_layer_free));
    }
  if (!ok)
    return FALSE;

  for (guint i = 0; i < images->len; i++)
    {
      GpImage *image = g_ptr_array_index (images, i);
      GPtrArray *c = g_ptr_array_index (chains, i);
      for (guint j = 0; j < c->len; j++)
        gp_image_add_layer (image, g_hash_table_lookup (objects, g_ptr_array_index (c, j)));
    }
  gp_context_set_images (ctx, images);
  return TRUE;
}

GP_STAGE_DEFINE (
  .name = "docker-store",
  .description = "Select images of a Docker 1.10+ store by name (source of save)",
  .requires = GP_STAGE_STRV ("store"),
  .provides = GP_STAGE_STRV (GP_IMAGES_CAPABILITY),
  .options = options,
  .prepare = docker_store_prepare,
  .run = docker_store_run)
