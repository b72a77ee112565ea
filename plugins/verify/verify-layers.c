/* verify - layerdb layer records: each record as Docker loads it, its
 * DiffID and size recomputed from tar-split and the driver's files (in
 * parallel), its directory name equal to chain(parent, diff), its parent
 * present.  Nothing is written. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "verify.h"

/* Deepest directory nesting walked when measuring a diff directory. */
#define DIR_SIZE_MAX_DEPTH 512

typedef struct {
  Verify *v;
  VerifyLayer *layer;
  GpLayerDir *dir;
  char *files_dir;       /* the driver's directory of the layer's files */
  char *last_name;       /* the last entry name asked for */
  gboolean open_failed;  /* the last error came from opening a file */
} Opener;

static int
open_layer_file (gpointer user_data, const char *name, gsize name_len, GError **error)
{
  Opener *o = user_data;

  g_free (o->last_name);
  o->last_name = gp_tar_split_clean_path (name, name_len, NULL);
  if (o->dir == NULL)
    {
      o->dir = gp_layer_dir_open (o->files_dir, error);
      if (o->dir == NULL)
        {
          o->open_failed = TRUE;
          g_clear_pointer (&o->last_name, g_free);
          return -1;
        }
    }
  int fd = gp_layer_dir_open_file (o->dir, name, name_len, NULL, error);
  if (fd < 0)
    o->open_failed = TRUE;
  return fd;
}

/* Docker's directory.Size (what aufs and overlay2 record as a layer's size
 * since Docker 1.12): every non-directory of non-zero lstat size, each
 * inode once.  FALSE if the tree cannot be read completely. */
static gboolean
dir_size (int dfd, GHashTable *inodes, gint64 *size, guint depth)
{
  if (depth > DIR_SIZE_MAX_DEPTH)
    return FALSE;
  int fd = dup (dfd);
  if (fd < 0)
    return FALSE;
  DIR *d = fdopendir (fd);
  if (d == NULL)
    {
      close (fd);
      return FALSE;
    }
  gboolean ok = TRUE;
  struct dirent *de;
  while (ok && (de = readdir (d)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      struct stat st;
      if (fstatat (dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        {
          ok = FALSE;
          break;
        }
      if (S_ISDIR (st.st_mode))
        {
          int sub = openat (dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          ok = sub >= 0 && dir_size (sub, inodes, size, depth + 1);
          if (sub >= 0)
            close (sub);
          continue;
        }
      if (st.st_size == 0)
        continue;
      guint64 key = (guint64) st.st_ino;
      if (g_hash_table_contains (inodes, &key))
        continue;
      g_hash_table_add (inodes, g_memdup2 (&key, sizeof key));
      *size += st.st_size;
    }
  closedir (d);
  return ok;
}

static gboolean
measure_dir (const char *path, gint64 *out_size)
{
  int fd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return FALSE;
  g_autoptr (GHashTable) inodes = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  gint64 size = 0;
  gboolean ok = dir_size (fd, inodes, &size, 0);
  close (fd);
  if (ok)
    *out_size = size;
  return ok;
}

/* Rebuilds the layer's tar from tar-split + the driver's files and
 * compares its DiffID and size with the record. */
static void
check_content (Verify *v, VerifyLayer *layer)
{
  GpLayerRecord *rec = layer->record;
  const char *driver = gp_driver_get_name (v->driver);
  g_autofree char *cache_path = g_build_filename (layer->dir, "cache-id", NULL);

  if (!gp_driver_layer_exists (v->driver, v->root, rec->cache_id))
    {
      verify_problems_add (layer->problems, cache_path, "the %s driver has no layer %s", driver, rec->cache_id);
      return;
    }
  g_autoptr (GError) error = NULL;
  g_autofree char *files_dir = gp_driver_get_layer_dir (v->driver, v->root, rec->cache_id, &error);
  if (files_dir == NULL)
    {
      verify_problems_add_error (layer->problems, cache_path, error);
      return;
    }

  int fd = open (rec->tar_split_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  struct stat st;
  if (fd < 0 || fstat (fd, &st) < 0 || !S_ISREG (st.st_mode))
    {
      int e = errno;
      if (fd >= 0)
        close (fd);
      verify_problems_add (layer->problems, rec->tar_split_path, "%s",
                           fd >= 0 ? "not a regular file"
                           : e == ENOENT ? "missing: the layer cannot be rebuilt"
                           : e == ELOOP ? "is a symbolic link" : g_strerror (e));
      return;
    }

  g_autoptr (GpTarSplitReader) reader = gp_tar_split_reader_new (fd, rec->tar_split_path, GP_TAR_SPLIT_FLAGS_NONE);
  Opener opener = { v, layer, NULL, files_dir, NULL, FALSE };
  GpTarSplitStats stats;
  gboolean ok = gp_tar_split_assemble (reader, open_layer_file, &opener, NULL, NULL,
                                       gp_context_get_cancellable (v->ctx), &stats, &error);
  g_clear_pointer (&reader, gp_tar_split_reader_free);
  close (fd);
  g_clear_pointer (&opener.dir, gp_layer_dir_unref);
  g_autofree char *last_name = g_steal_pointer (&opener.last_name);

  if (!ok)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      const char *item = rec->tar_split_path;
      g_autofree char *file = NULL;
      if (last_name != NULL
          && (opener.open_failed || g_error_matches (error, GP_DATA_ERROR, GP_DATA_ERROR_SIZE)
              || g_error_matches (error, GP_DATA_ERROR, GP_DATA_ERROR_CRC)))
        {
          g_autofree char *raw = g_build_filename (files_dir, last_name, NULL);
          item = file = g_utf8_make_valid (raw, -1);
        }
      else if (opener.open_failed)
        item = files_dir;
      verify_problems_add_error (layer->problems, item, error);
      return;
    }

  layer->bytes = stats.tar_size;
  gp_context_add_counter (v->ctx, VERIFY_BYTES, (gint64) stats.tar_size);
  if (strcmp (stats.diff_id, rec->diff_id) != 0)
    {
      g_autofree char *path = g_build_filename (layer->dir, "diff", NULL);
      verify_problems_add (layer->problems, path, "records %s, but the layer's content hashes to %s",
                           rec->diff_id, stats.diff_id);
    }
  if (stats.size != rec->size)
    {
      /* aufs and overlay2 daemons since 1.12 record the size of the diff
       * directory instead. */
      gint64 on_disk = -1;
      if (!gp_driver_has_full_rootfs (v->driver) && measure_dir (files_dir, &on_disk) && on_disk == rec->size)
        return;
      g_autofree char *path = g_build_filename (layer->dir, "size", NULL);
      verify_problems_add (layer->problems, path,
                           "records %" G_GINT64_FORMAT ", but the layer's files add up to %" G_GINT64_FORMAT
                           " bytes", rec->size, stats.size);
    }
}

static void
emit_done (Verify *v, VerifyLayer *layer)
{
  guint n = (guint) g_atomic_int_add (&v->n_done, 1) + 1;
  guint n_problems = layer->problems->len;
  if (n_problems == 0)
    gp_context_emit_item_done (v->ctx, layer->chain_id, n, v->n_total, layer->bytes, "layer ok");
  else
    gp_context_emit_item_done (v->ctx, layer->chain_id, n, v->n_total, layer->bytes, "layer: %u problem%s",
                               n_problems, n_problems == 1 ? "" : "s");
}

static void
content_worker (gpointer data, gpointer user_data)
{
  VerifyLayer *layer = data;
  Verify *v = user_data;

  if (gp_context_is_cancelled (v->ctx))
    return;
  check_content (v, layer);
  emit_done (v, layer);
}

static void
layer_free (VerifyLayer *layer)
{
  g_free (layer->chain_id);
  g_free (layer->dir);
  gp_layer_record_free (layer->record);
  g_ptr_array_unref (layer->problems);
  g_free (layer);
}

/* What depends only on the records: the directory name, the parent. */
static void
check_links (Verify *v, VerifyLayer *layer)
{
  GpLayerRecord *rec = layer->record;

  g_autofree char *chain = gp_chain_id (rec->parent, rec->diff_id);
  if (strcmp (chain, layer->chain_id) != 0)
    verify_problems_add (layer->problems, layer->dir,
                         "the directory is not named by its ChainID: diff %s on parent %s gives %s",
                         rec->diff_id, rec->parent ? rec->parent : "(none)", chain);
  if (rec->parent != NULL)
    {
      VerifyLayer *parent = g_hash_table_lookup (v->layers, rec->parent);
      g_autofree char *path = g_build_filename (layer->dir, "parent", NULL);
      if (parent == NULL)
        verify_problems_add (layer->problems, path, "parent layer %s does not exist in layerdb", rec->parent);
      else if (parent->record == NULL)
        verify_problems_add (layer->problems, path, "parent layer %s has an invalid record", rec->parent);
    }
}

/**
 * verify_layers:
 * @v: the run
 * @problems: where the problems go, in ChainID order
 * @error: return location for a #GError
 *
 * Loads every layer record into @v->layers and checks it.
 *
 * Returns: %FALSE only when layerdb cannot be listed or the run was
 *   cancelled; problems with the store are added to @problems.
 */
gboolean
verify_layers (Verify *v, GPtrArray *problems, GError **error)
{
  g_autoptr (GPtrArray) ids = gp_store_list_layers (v->store, error);
  if (ids == NULL)
    return FALSE;

  g_autoptr (GPtrArray) order = g_ptr_array_new ();
  v->layers = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) layer_free);
  for (guint i = 0; i < ids->len; i++)
    {
      const char *chain_id = ids->pdata[i];
      VerifyLayer *layer = g_new0 (VerifyLayer, 1);
      layer->chain_id = g_strdup (chain_id);
      layer->dir = g_build_filename (v->dir, "layerdb", "sha256", chain_id + 7, NULL);
      layer->problems = verify_problems_new ();
      g_autoptr (GError) local = NULL;
      layer->record = gp_store_get_layer (v->store, chain_id, &local);
      if (layer->record == NULL)
        verify_problems_add_error (layer->problems, layer->dir, local);
      g_hash_table_insert (v->layers, layer->chain_id, layer);
      g_ptr_array_add (order, layer);
    }

  v->n_total = order->len;
  g_autoptr (GPtrArray) queue = g_ptr_array_new ();
  for (guint i = 0; i < order->len; i++)
    {
      VerifyLayer *layer = order->pdata[i];
      if (layer->record != NULL)
        check_links (v, layer);
      if (layer->record != NULL && v->contents && v->driver != NULL)
        g_ptr_array_add (queue, layer);
      else
        emit_done (v, layer);
    }
  if (queue->len > 0)
    {
      guint n_threads = MIN (v->jobs, queue->len);
      GThreadPool *pool = g_thread_pool_new (content_worker, v, (gint) n_threads, FALSE, error);
      if (pool == NULL)
        return FALSE;
      for (guint i = 0; i < queue->len; i++)
        g_thread_pool_push (pool, queue->pdata[i], NULL);
      g_thread_pool_free (pool, FALSE, TRUE);
    }
  if (gp_context_set_error_if_cancelled (v->ctx, error))
    return FALSE;

  for (guint i = 0; i < order->len; i++)
    {
      VerifyLayer *layer = order->pdata[i];
      gp_context_add_counter (v->ctx, VERIFY_LAYERS, 1);
      gsize n = 0;
      gpointer *found = g_ptr_array_steal (layer->problems, &n);
      for (gsize j = 0; j < n; j++)
        g_ptr_array_add (problems, found[j]);
      g_free (found);
    }
  return TRUE;
}
