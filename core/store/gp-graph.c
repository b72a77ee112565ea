/* graphpipe - the legacy (pre-1.10) image graph of a data root. */
#include "config.h"

#include "gp-graph.h"
#include "gp-graph-private.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include "gp-digest.h"
#include "gp-error.h"
#include "gp-json.h"
#include "gp-safeio.h"
#include "gp-store.h"
#include "gp-v1image.h"

/* Visit marks of the order walk. */
enum
{
  VISIT_NONE,
  VISIT_ON_STACK,
  VISIT_DONE,
};

static void
graph_image_free (gpointer data)
{
  GpGraphImage *image = data;

  g_free (image->id);
  g_clear_pointer (&image->json, g_bytes_unref);
  g_free (image->parent);
  g_clear_error (&image->error);
  g_free (image->diff_id);
  g_free (image->chain_id);
  g_free (image->image_id);
  if (image->history != NULL)
    g_string_free (image->history, TRUE);
  g_free (image->checked_config);
  g_strfreev (image->entries);
  g_free (image);
}

/**
 * gp_graph_new:
 * @root: the data root (the directory holding `graph/`)
 *
 * Creates an empty graph for @root.  Nothing is read until
 * gp_graph_load_mapping() and gp_graph_scan().
 *
 * Returns: (transfer full): a new graph; release with gp_graph_unref().
 *
 * Since: 0.1
 */
GpGraph *
gp_graph_new (const char *root)
{
  GpGraph *graph = g_new0 (GpGraph, 1);

  graph->ref_count = 1;
  graph->root = g_strdup (root);
  graph->images = g_ptr_array_new_with_free_func (graph_image_free);
  graph->by_id = g_hash_table_new (g_str_hash, g_str_equal);
  graph->order = g_ptr_array_new ();
  graph->mapping = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_mutex_init (&graph->mapped_lock);
  graph->mapped_configs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                 (GDestroyNotify) gp_image_config_free);
  return graph;
}

/**
 * gp_graph_ref:
 * @graph: a graph
 *
 * Returns: (transfer full): @graph with one more reference.
 *
 * Since: 0.1
 */
GpGraph *
gp_graph_ref (GpGraph *graph)
{
  g_atomic_int_inc (&graph->ref_count);
  return graph;
}

/**
 * gp_graph_unref:
 * @graph: (transfer full): a graph
 *
 * Drops a reference; the last one frees the graph, its nodes and its
 * mapping.
 *
 * Since: 0.1
 */
void
gp_graph_unref (GpGraph *graph)
{
  if (!g_atomic_int_dec_and_test (&graph->ref_count))
    return;
  g_ptr_array_unref (graph->order);
  g_hash_table_unref (graph->by_id);
  g_ptr_array_unref (graph->images);
  g_hash_table_unref (graph->mapping);
  g_hash_table_unref (graph->mapped_configs);
  g_mutex_clear (&graph->mapped_lock);
  g_free (graph->root);
  g_free (graph->mapping_root);
  g_free (graph);
}

/**
 * gp_graph_get_root:
 * @graph: a graph
 *
 * Returns: (transfer none): the data root given to gp_graph_new().
 *
 * Since: 0.1
 */
const char *
gp_graph_get_root (GpGraph *graph)
{
  return graph->root;
}

/**
 * gp_graph_set_mapping_root:
 * @graph: a graph whose mapping is not loaded yet
 * @dir: (nullable): the directory holding the mapping file of this
 *   migration, or %NULL for the data root
 *
 * Where gp_graph_load_mapping() looks for `.migration-v1-images.json`:
 * a migration that writes its store elsewhere (`--target`) keeps its
 * mapping there.  A missing @dir is an empty mapping.
 *
 * Since: 0.2
 */
void
gp_graph_set_mapping_root (GpGraph *graph, const char *dir)
{
  g_free (graph->mapping_root);
  graph->mapping_root = g_strdup (dir);
}

/**
 * gp_graph_has_graph_dir:
 * @graph: a scanned graph
 *
 * Returns: whether `<root>/graph` exists.  Without it there is nothing
 *   to migrate and the migration writes nothing (FORMATS.md §8).
 *
 * Since: 0.1
 */
gboolean
gp_graph_has_graph_dir (GpGraph *graph)
{
  return graph->has_graph_dir;
}

/* ---- reading files beneath graph/ ---- */

/* Reads the regular file @name beneath @dir_fd without following a final
 * symlink.  Returns NULL with errno-style *out_errno on failure (the GError
 * then says the rest); *out_errno is ENOENT when there is no such file. */
static GBytes *
read_small_file_at (int dir_fd, const char *name, const char *display, gsize max_size,
                    int *out_errno, GError **error)
{
  g_auto (GpFd) fd = openat (dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  struct stat st;

  *out_errno = 0;
  if (fd < 0)
    {
      int e = errno;
      *out_errno = e;
      if (e == ELOOP)
        g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_UNSAFE_PATH,
                     "%s: is a symbolic link, refusing to follow it", display);
      else
        g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "%s: %s", display,
                     g_strerror (e));
      return NULL;
    }
  if (fstat (fd, &st) < 0)
    {
      int e = errno;
      *out_errno = e;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "%s: %s", display, g_strerror (e));
      return NULL;
    }
  if (!S_ISREG (st.st_mode))
    {
      *out_errno = S_ISDIR (st.st_mode) ? EISDIR : EINVAL;
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_NOT_REGULAR, "%s: not a regular file", display);
      return NULL;
    }
  if ((guint64) st.st_size > max_size)
    {
      *out_errno = EFBIG;
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_SIZE,
                   "%s: %" G_GUINT64_FORMAT " bytes, larger than the %" G_GSIZE_FORMAT " allowed",
                   display, (guint64) st.st_size, max_size);
      return NULL;
    }

  GByteArray *buf = g_byte_array_sized_new ((guint) st.st_size + 1);
  guint8 chunk[65536];
  for (;;)
    {
      ssize_t n = read (fd, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int e = errno;
          *out_errno = e;
          g_byte_array_unref (buf);
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "%s: %s", display,
                       g_strerror (e));
          return NULL;
        }
      if (n == 0)
        break;
      if (buf->len + (gsize) n > max_size)
        {
          *out_errno = EFBIG;
          g_byte_array_unref (buf);
          g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_SIZE,
                       "%s: larger than the %" G_GSIZE_FORMAT " bytes allowed", display, max_size);
          return NULL;
        }
      g_byte_array_append (buf, chunk, (guint) n);
      /* A short read that brings the file to its fstat size is its end. */
      if ((gsize) n < sizeof chunk && st.st_size > 0 && buf->len == (guint64) st.st_size)
        break;
    }
  return g_byte_array_free_to_bytes (buf);
}

/* ---- parent resolution (§1.5) ---- */

static char *
escape_for_message (const char *s, gsize len)
{
  g_autoptr (GString) out = g_string_new (NULL);

  gp_json_append_string (out, s, len);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* §1.5 for one image.  On success sets image->parent (NULL for a base
 * image) and image->parent_resolved. */
static gboolean
resolve_parent (GpGraphImage *image, int image_dir_fd, GError **error)
{
  g_autoptr (GString) parent = NULL;
  g_autoptr (GString) parent_id = NULL;
  const char *source = "json";

  if (!gp_v1_json_parent_fields (g_bytes_get_data (image->json, NULL), g_bytes_get_size (image->json),
                                 &parent, &parent_id, error))
    {
      g_prefix_error (error, "graph/%s/json: ", image->id);
      return FALSE;
    }

  /* v1.9: the parent's graph directory is the hex of parent_id. */
  if (parent->len == 0 && parent_id->len > 0)
    {
      const char *colon = memchr (parent_id->str, ':', parent_id->len);
      if (colon == NULL)
        {
          g_autofree char *shown = escape_for_message (parent_id->str, parent_id->len);
          g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_DIGEST,
                       "graph/%s/json: parent_id %s has no ':' (not a digest)", image->id, shown);
          return FALSE;
        }
      g_string_assign (parent, "");
      g_string_append_len (parent, colon + 1, parent_id->str + parent_id->len - (colon + 1));
    }

  /* A non-empty `parent` file replaces what the JSON says, byte for byte;
   * Docker ignores it when it cannot be read (and so when the listing of
   * the directory has no such name: nothing to open). */
  int err_no;
  g_autofree char *display = g_strdup_printf ("graph/%s/parent", image->id);
  g_autoptr (GError) file_error = NULL;
  g_autoptr (GBytes) file = NULL;
  if (image->entries == NULL || g_strv_contains ((const char *const *) image->entries, "parent"))
    file = read_small_file_at (image_dir_fd, "parent", display, GP_GRAPH_MAX_JSON_SIZE, &err_no,
                               &file_error);
  if (file == NULL && g_error_matches (file_error, GP_DATA_ERROR, GP_DATA_ERROR_UNSAFE_PATH))
    {
      g_propagate_error (error, g_steal_pointer (&file_error));
      return FALSE;
    }
  if (file != NULL && g_bytes_get_size (file) > 0)
    {
      gsize n;
      const char *p = g_bytes_get_data (file, &n);
      g_string_truncate (parent, 0);
      g_string_append_len (parent, p, (gssize) n);
      source = "parent";
    }

  if (parent->len == 0)
    {
      image->parent = NULL;
      image->parent_resolved = TRUE;
      return TRUE;
    }

  if (!gp_v1_id_is_valid (parent->str, (gssize) parent->len))
    {
      g_autofree char *shown = escape_for_message (parent->str, parent->len);
      gboolean escapes = memchr (parent->str, '/', parent->len) != NULL || strcmp (parent->str, ".") == 0
                         || strcmp (parent->str, "..") == 0;
      g_set_error (error, GP_DATA_ERROR, escapes ? GP_DATA_ERROR_UNSAFE_PATH : GP_DATA_ERROR_DIGEST,
                   "graph/%s/%s: parent %s is not a valid image ID%s", image->id, source, shown,
                   escapes ? " (it would leave graph/)" : "");
      return FALSE;
    }

  image->parent = g_string_free (g_steal_pointer (&parent), FALSE);
  image->parent_resolved = TRUE;
  return TRUE;
}

/* A failure found while reading graph/<id>: what the legacy metadata says
 * (a data error) rules the image out for good; an error of the file
 * system (permissions, I/O) may not be there next time. */
static void
scan_fail (GpGraphImage *image, GError *error)
{
  gp_graph_image_fail_as (image, error->domain == GP_DATA_ERROR ? GP_GRAPH_FAILURE_PERMANENT
                                                                 : GP_GRAPH_FAILURE_TRANSIENT,
                          error);
}

/* Reads graph/<id>/json and resolves the parent of one image; keeps the
 * names in graph/<id> (gp_graph_image_get_entries()). */
static void
scan_image (GpGraphImage *image, int graph_fd)
{
  g_autoptr (GError) error = NULL;
  g_auto (GpFd) dir_fd = openat (graph_fd, image->id,
                                 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

  if (dir_fd < 0)
    {
      int e = errno;
      struct stat st;
      if (fstatat (graph_fd, image->id, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK (st.st_mode))
        g_set_error (&error, GP_DATA_ERROR, GP_DATA_ERROR_UNSAFE_PATH,
                     "graph/%s: is a symbolic link, refusing to follow it", image->id);
      else if (e == ENOTDIR)
        g_set_error (&error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING,
                     "graph/%s/json: cannot read: graph/%s is not a directory", image->id, image->id);
      else
        g_set_error (&error, G_IO_ERROR, g_io_error_from_errno (e), "graph/%s: %s", image->id,
                     g_strerror (e));
      scan_fail (image, g_steal_pointer (&error));
      return;
    }

  /* (NULL when it cannot be listed: then every name is looked for) */
  image->entries = gp_safeio_list_fd (dir_fd, NULL, NULL);
  int err_no;
  g_autofree char *display = g_strdup_printf ("graph/%s/json", image->id);
  image->json = read_small_file_at (dir_fd, "json", display, GP_GRAPH_MAX_JSON_SIZE, &err_no, &error);
  if (image->json == NULL)
    {
      if (err_no == ENOENT)
        {
          g_clear_error (&error);
          g_set_error (&error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING, "%s: no such file", display);
        }
      scan_fail (image, g_steal_pointer (&error));
      return;
    }

  if (!resolve_parent (image, dir_fd, &error))
    scan_fail (image, g_steal_pointer (&error));
}

/* ---- the order of §4.9 D, cycles, missing parents ---- */

static char *
describe_cycle (GPtrArray *stack, guint from)
{
  g_autoptr (GString) s = g_string_new (NULL);
  guint n = stack->len - from;
  const guint max_shown = 8;

  for (guint i = from; i < stack->len && i - from < max_shown; i++)
    {
      GpGraphImage *m = stack->pdata[i];
      g_string_append_printf (s, "%.12s -> ", m->id);
    }
  if (n > max_shown)
    g_string_append (s, "... -> ");
  g_string_append_printf (s, "%.12s", ((GpGraphImage *) stack->pdata[from])->id);
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static gboolean
parent_is_mapped (GpGraph *graph, GpGraphImage *image)
{
  return image->parent != NULL && g_hash_table_contains (graph->mapping, image->parent);
}

/* Docker's migrateImages (§4.9 D): for each v1 ID in sorted order that is
 * not mapped, migrate its parents first, then itself.  Computed here once,
 * without recursion, as a list in which every pending image appears once
 * after its parent; images that cannot be migrated for reasons known now
 * (unreadable JSON, missing parent, cycle) get their error, and their
 * descendants inherit it. */
static void
compute_order (GpGraph *graph)
{
  g_autoptr (GPtrArray) stack = g_ptr_array_new ();

  g_ptr_array_set_size (graph->order, 0);
  for (guint i = 0; i < graph->images->len; i++)
    {
      GpGraphImage *start = graph->images->pdata[i];
      GpGraphImage *cur = start;

      if (start->mapped || start->visit == VISIT_DONE)
        continue;

      g_ptr_array_set_size (stack, 0);
      for (;;)
        {
          if (cur->visit == VISIT_DONE)
            break;
          if (cur->visit == VISIT_ON_STACK)
            {
              /* cur .. top of the stack is a loop. */
              guint from = 0;
              while (stack->pdata[from] != cur)
                from++;
              guint n = stack->len - from;
              g_autofree char *loop = describe_cycle (stack, from);
              for (guint j = from; j < stack->len; j++)
                {
                  GpGraphImage *m = stack->pdata[j];
                  if (n == 1)
                    gp_graph_image_fail (m, g_error_new (GP_DATA_ERROR, GP_DATA_ERROR_CYCLE,
                                                         "graph/%s: the image is its own parent",
                                                         m->id));
                  else
                    gp_graph_image_fail (m, g_error_new (GP_DATA_ERROR, GP_DATA_ERROR_CYCLE,
                                                         "graph/%s: parent chain is a cycle of %u images (%s)",
                                                         m->id, n, loop));
                }
              break;
            }
          cur->visit = VISIT_ON_STACK;
          g_ptr_array_add (stack, cur);
          if (cur->error != NULL || cur->parent == NULL || parent_is_mapped (graph, cur))
            break;
          if (cur->parent_image == NULL)
            {
              gp_graph_image_fail_as (cur, GP_GRAPH_FAILURE_PERMANENT,
                                      g_error_new (GP_DATA_ERROR, GP_DATA_ERROR_MISSING,
                                                     "graph/%s: parent %s does not exist in graph/",
                                                     cur->id, cur->parent));
              break;
            }
          cur = cur->parent_image;
        }

      /* Parents first: the top of the stack is the oldest ancestor. */
      for (guint j = stack->len; j-- > 0;)
        {
          GpGraphImage *m = stack->pdata[j];
          m->visit = VISIT_DONE;
          g_ptr_array_add (graph->order, m);
        }
      for (guint j = stack->len; j-- > 0;)
        gp_graph_image_inherit_failure (stack->pdata[j]);
    }
}

static int
compare_image_ids (gconstpointer a, gconstpointer b)
{
  const GpGraphImage *ia = *(GpGraphImage *const *) a;
  const GpGraphImage *ib = *(GpGraphImage *const *) b;

  return strcmp (ia->id, ib->id);
}

/**
 * gp_graph_scan:
 * @graph: a graph, its mapping already loaded with gp_graph_load_mapping()
 *   (or deliberately left empty)
 * @cancellable: (nullable): a cancellable
 * @error: return location for a #GError
 *
 * Reads `<root>/graph`: every entry whose name is a v1 ID (§1.2), in
 * sorted order, becomes a node.  For each node that is not mapped, reads
 * `json`, resolves the parent (§1.5; a parent that is not a v1 ID is
 * refused), links it to its parent node, and computes Docker's migration
 * order (§4.9 D) without recursion.  Images that cannot be migrated get
 * their #GpGraphImage.error (unreadable or invalid JSON, `parent_id`
 * without `:`, bad parent, missing parent, parent cycle including an
 * image that is its own parent), and every descendant inherits one error
 * naming it, its parent and the original cause.  Such per-image problems
 * do not make the scan fail.
 *
 * A missing `<root>/graph` is not an error: the graph is then empty and
 * gp_graph_has_graph_dir() returns %FALSE.
 *
 * Returns: %TRUE on success; %FALSE with @error set when the data root or
 *   `graph/` itself cannot be read, or on cancellation.
 *
 * Since: 0.1
 */
gboolean
gp_graph_scan (GpGraph *graph, GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (!graph->scanned, FALSE);

  g_auto (GpFd) root_fd = open (graph->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0)
    {
      int e = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "%s: %s", graph->root,
                   g_strerror (e));
      return FALSE;
    }

  struct stat st;
  if (fstatat (root_fd, "graph", &st, AT_SYMLINK_NOFOLLOW) < 0)
    {
      int e = errno;
      if (e == ENOENT)
        {
          graph->scanned = TRUE;
          graph->has_graph_dir = FALSE;
          return TRUE;
        }
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "%s/graph: %s", graph->root,
                   g_strerror (e));
      return FALSE;
    }

  g_auto (GpFd) graph_fd = openat (root_fd, "graph", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (graph_fd < 0)
    {
      int e = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "%s/graph: %s", graph->root,
                   g_strerror (e));
      return FALSE;
    }

  int list_fd = dup (graph_fd);
  DIR *dir = list_fd >= 0 ? fdopendir (list_fd) : NULL;
  if (dir == NULL)
    {
      int e = errno;
      if (list_fd >= 0)
        close (list_fd);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "%s/graph: %s", graph->root,
                   g_strerror (e));
      return FALSE;
    }
  for (;;)
    {
      errno = 0;
      struct dirent *de = readdir (dir);
      if (de == NULL)
        {
          int e = errno;
          if (e != 0)
            {
              closedir (dir);
              g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "%s/graph: %s",
                           graph->root, g_strerror (e));
              return FALSE;
            }
          break;
        }
      if (!gp_v1_id_is_valid (de->d_name, -1))
        continue;
      GpGraphImage *image = g_new0 (GpGraphImage, 1);
      image->id = g_strdup (de->d_name);
      image->size = -1;
      g_ptr_array_add (graph->images, image);
    }
  closedir (dir);

  g_ptr_array_sort (graph->images, compare_image_ids);
  for (guint i = 0; i < graph->images->len; i++)
    {
      GpGraphImage *image = graph->images->pdata[i];
      image->index = i;
      image->mapped = g_hash_table_contains (graph->mapping, image->id);
      g_hash_table_insert (graph->by_id, image->id, image);
    }

  for (guint i = 0; i < graph->images->len; i++)
    {
      GpGraphImage *image = graph->images->pdata[i];
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      /* Docker never reads the JSON of an image it migrated before. */
      if (image->mapped)
        continue;
      scan_image (image, graph_fd);
    }

  for (guint i = 0; i < graph->images->len; i++)
    {
      GpGraphImage *image = graph->images->pdata[i];
      if (image->parent == NULL)
        continue;
      image->parent_image = g_hash_table_lookup (graph->by_id, image->parent);
      image->parent_mapped = g_hash_table_contains (graph->mapping, image->parent);
    }

  compute_order (graph);
  graph->has_graph_dir = TRUE;
  graph->scanned = TRUE;
  return TRUE;
}

/**
 * gp_graph_get_n_images:
 * @graph: a scanned graph
 *
 * Returns: the number of v1 IDs found in `graph/`, mapped ones included.
 *
 * Since: 0.1
 */
guint
gp_graph_get_n_images (GpGraph *graph)
{
  return graph->images->len;
}

/**
 * gp_graph_get_image:
 * @graph: a scanned graph
 * @index: 0 to gp_graph_get_n_images() - 1
 *
 * Returns: (transfer none): the node at @index in sorted ID order.
 *
 * Since: 0.1
 */
GpGraphImage *
gp_graph_get_image (GpGraph *graph, guint index)
{
  g_return_val_if_fail (index < graph->images->len, NULL);
  return graph->images->pdata[index];
}

/**
 * gp_graph_lookup:
 * @graph: a scanned graph
 * @id: a v1 ID
 *
 * Returns: (transfer none) (nullable): the node of @id, or %NULL.
 *
 * Since: 0.1
 */
GpGraphImage *
gp_graph_lookup (GpGraph *graph, const char *id)
{
  return g_hash_table_lookup (graph->by_id, id);
}

/**
 * gp_graph_get_order:
 * @graph: a scanned graph
 *
 * Docker's image migration order (FORMATS.md §4.9 D): every image that is
 * not mapped exactly once, each after its parent.  Images that fail are in
 * the list too (at the place Docker first attempts them).  The order
 * decides which v1 ID becomes the cache-id of a layer chain several images
 * share and the order of distribution metadata arrays, so stages must
 * write in this order.
 *
 * Returns: (transfer none) (element-type GpGraphImage): the order.
 *
 * Since: 0.1
 */
GPtrArray *
gp_graph_get_order (GpGraph *graph)
{
  return graph->order;
}

/**
 * gp_graph_classify_error:
 * @error: why an image could not be migrated
 *
 * The class of a failure whose origin the caller does not know better:
 * errors of the file system and of I/O (#G_IO_ERROR, #G_FILE_ERROR) and
 * data errors that damaged or missing files cause (a CRC, size or digest
 * mismatch, a truncated gzip or tar-split stream, a missing file) are
 * transient; malformed JSON, digests and IDs, cycles and other invalid
 * metadata are permanent.
 *
 * Returns: %GP_GRAPH_FAILURE_PERMANENT or %GP_GRAPH_FAILURE_TRANSIENT
 *
 * Since: 0.1
 */
GpGraphFailure
gp_graph_classify_error (const GError *error)
{
  g_return_val_if_fail (error != NULL, GP_GRAPH_FAILURE_TRANSIENT);
  if (error->domain != GP_DATA_ERROR)
    return GP_GRAPH_FAILURE_TRANSIENT;
  switch (error->code)
    {
    case GP_DATA_ERROR_INVALID:
    case GP_DATA_ERROR_JSON:
    case GP_DATA_ERROR_DIGEST:
    case GP_DATA_ERROR_CYCLE:
    case GP_DATA_ERROR_REFERENCE:
      return GP_GRAPH_FAILURE_PERMANENT;
    default:
      return GP_GRAPH_FAILURE_TRANSIENT;
    }
}

/**
 * gp_graph_image_fail_as:
 * @image: a node
 * @failure: %GP_GRAPH_FAILURE_PERMANENT or %GP_GRAPH_FAILURE_TRANSIENT
 * @error: (transfer full): why @image cannot be migrated; its message
 *   names the image
 *
 * Marks @image as failed, for the reason class @failure.  The first
 * failure wins: a later call frees @error.  Descendants visited later in
 * gp_graph_get_order() inherit the failure (and its class) through
 * gp_graph_image_inherit_failure().
 *
 * Since: 0.1
 */
void
gp_graph_image_fail_as (GpGraphImage *image, GpGraphFailure failure, GError *error)
{
  g_return_if_fail (error != NULL);
  g_return_if_fail (failure != GP_GRAPH_FAILURE_NONE);
  if (image->error != NULL)
    {
      g_error_free (error);
      return;
    }
  image->error = error;
  image->failure = failure;
  image->failed_at = image;
}

/**
 * gp_graph_image_fail:
 * @image: a node
 * @error: (transfer full): why @image cannot be migrated; its message
 *   names the image
 *
 * gp_graph_image_fail_as() with the class gp_graph_classify_error()
 * gives @error.
 *
 * Since: 0.1
 */
void
gp_graph_image_fail (GpGraphImage *image, GError *error)
{
  g_return_if_fail (error != NULL);
  gp_graph_image_fail_as (image, gp_graph_classify_error (error), error);
}

/**
 * gp_graph_image_get_failure:
 * @image: a node
 *
 * Returns: why @image failed: %GP_GRAPH_FAILURE_NONE while it has not,
 *   else the class of the failure where it started (an inherited failure
 *   has its ancestor's class)
 *
 * Since: 0.1
 */
GpGraphFailure
gp_graph_image_get_failure (GpGraphImage *image)
{
  if (image->error == NULL)
    return GP_GRAPH_FAILURE_NONE;
  GpGraphImage *root = image->failed_at != NULL ? image->failed_at : image;
  if (root->failure != GP_GRAPH_FAILURE_NONE)
    return root->failure;
  return image->failure != GP_GRAPH_FAILURE_NONE ? image->failure : GP_GRAPH_FAILURE_TRANSIENT;
}

/**
 * gp_graph_image_inherit_failure:
 * @image: a node
 *
 * If @image has not failed but its parent (taken from `graph/`, not from
 * the mapping) has, fails @image with an error naming @image, its parent
 * and the original cause (domain, code and class of the original error).
 *
 * Returns: %TRUE if @image has failed (now or before).
 *
 * Since: 0.1
 */
gboolean
gp_graph_image_inherit_failure (GpGraphImage *image)
{
  if (image->error != NULL)
    return TRUE;
  GpGraphImage *parent = image->parent_image;
  if (parent == NULL || image->parent_mapped || parent->error == NULL)
    return FALSE;

  GpGraphImage *root = parent->failed_at ? parent->failed_at : parent;
  image->error = g_error_new (root->error->domain, root->error->code,
                              "graph/%s: parent %s was not migrated (cause: %s)", image->id,
                              parent->id, root->error->message);
  image->failed_at = root;
  image->failure = gp_graph_image_get_failure (root);
  return TRUE;
}

/**
 * gp_graph_image_is_pending:
 * @image: a node
 *
 * Returns: whether @image is still to be migrated: not mapped, not failed,
 *   no image ID yet.
 *
 * Since: 0.1
 */
gboolean
gp_graph_image_is_pending (GpGraphImage *image)
{
  return !image->mapped && image->error == NULL && image->image_id == NULL;
}

/**
 * gp_graph_image_take_report:
 * @image: a failed node
 *
 * Lets exactly one stage report each failure: the first call for a failed
 * image returns %TRUE, later calls %FALSE.
 *
 * Returns: whether the caller should report @image's error now.
 *
 * Since: 0.1
 */
gboolean
gp_graph_image_take_report (GpGraphImage *image)
{
  if (image->error == NULL || image->reported)
    return FALSE;
  image->reported = TRUE;
  return TRUE;
}

/**
 * gp_graph_image_get_entries:
 * @image: a node
 *
 * What gp_graph_scan() saw in `graph/<id>` when it read the image (not
 * for a mapped image, nor when the directory could not be listed): the
 * names in it, `.` and `..` left out, in directory order.  The migration
 * owns the data root while it runs, so that a stage can take a name
 * missing here as missing (no stale temporary to remove, no helper file
 * of an earlier run) without looking again.
 *
 * Returns: (transfer none) (nullable) (array zero-terminated=1): the
 *   names, or %NULL when the scan did not list the directory.
 *
 * Since: 0.2
 */
const char *const *
gp_graph_image_get_entries (GpGraphImage *image)
{
  return (const char *const *) image->entries;
}

/* ---- the v1 ID -> image ID mapping (§4.9 A, E) ---- */

/**
 * gp_graph_get_mapping:
 * @graph: a graph
 *
 * Returns: (transfer none) (element-type utf8 utf8): the mapping from v1
 *   IDs to image IDs: the entries restored from an earlier run plus those
 *   added with gp_graph_mapping_insert().
 *
 * Since: 0.1
 */
GHashTable *
gp_graph_get_mapping (GpGraph *graph)
{
  return graph->mapping;
}

/**
 * gp_graph_get_n_restored:
 * @graph: a graph
 *
 * Returns: how many entries gp_graph_load_mapping() restored.
 *
 * Since: 0.1
 */
guint
gp_graph_get_n_restored (GpGraph *graph)
{
  return graph->n_restored;
}

/**
 * gp_graph_mapping_lookup:
 * @graph: a graph
 * @v1_id: a v1 ID
 *
 * Returns: (transfer none) (nullable): the image ID @v1_id maps to.
 *
 * Since: 0.1
 */
const char *
gp_graph_mapping_lookup (GpGraph *graph, const char *v1_id)
{
  return g_hash_table_lookup (graph->mapping, v1_id);
}

/**
 * gp_graph_mapping_insert:
 * @graph: a graph
 * @v1_id: a v1 ID
 * @image_id: the image ID it migrated to
 *
 * Records that @v1_id migrated to @image_id (replacing an older entry).
 *
 * Since: 0.1
 */
void
gp_graph_mapping_insert (GpGraph *graph, const char *v1_id, const char *image_id)
{
  /* Under the lock: configs of other images may be built in threads
   * meanwhile (gp_graph_image_build_config() looks mapped parents up). */
  g_mutex_lock (&graph->mapped_lock);
  g_hash_table_insert (graph->mapping, g_strdup (v1_id), g_strdup (image_id));
  g_mutex_unlock (&graph->mapped_lock);
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/**
 * gp_graph_mapping_to_json:
 * @graph: a graph
 *
 * Serialises the mapping as Docker's stream encoder writes the mapping
 * file (§4.9 E): a JSON object with keys sorted byte-wise, Go string
 * escaping, followed by one newline.  An empty mapping is `{}\n`.
 *
 * Returns: (transfer full): the bytes; free with g_string_free().
 *
 * Since: 0.1
 */
GString *
gp_graph_mapping_to_json (GpGraph *graph)
{
  g_autoptr (GPtrArray) keys = g_ptr_array_new ();
  GHashTableIter it;
  gpointer key;
  GString *out = g_string_new ("{");

  g_hash_table_iter_init (&it, graph->mapping);
  while (g_hash_table_iter_next (&it, &key, NULL))
    g_ptr_array_add (keys, key);

  g_ptr_array_sort (keys, compare_strings);
  for (guint i = 0; i < keys->len; i++)
    {
      const char *k = keys->pdata[i];
      const char *v = g_hash_table_lookup (graph->mapping, k);
      if (i > 0)
        g_string_append_c (out, ',');
      gp_json_append_string (out, k, strlen (k));
      g_string_append_c (out, ':');
      gp_json_append_string (out, v, strlen (v));
    }
  g_string_append (out, "}\n");
  return out;
}

/**
 * gp_graph_load_mapping:
 * @graph: a graph not scanned yet
 * @error: return location for a #GError
 *
 * Restores the mapping of an earlier run from
 * `<root>/.migration-v1-images.json` (§4.9 A; see
 * gp_graph_set_mapping_root()): the first JSON value of the
 * file (the rest is ignored, as Go's stream decoder does) must be an
 * object of strings (or `null`, an empty mapping).  A missing file is an
 * empty mapping.  Values are not validated.
 *
 * Returns: %TRUE on success; %FALSE with @error set (naming the file)
 *   when the file cannot be read or decoded.  Docker then refuses to
 *   migrate anything, and so must the caller.
 *
 * Since: 0.1
 */
gboolean
gp_graph_load_mapping (GpGraph *graph, GError **error)
{
  g_return_val_if_fail (!graph->scanned, FALSE);

  const char *dir = graph->mapping_root != NULL ? graph->mapping_root : graph->root;
  g_auto (GpFd) root_fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0)
    {
      int e = errno;
      if (e == ENOENT && graph->mapping_root != NULL)
        return TRUE;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "%s: %s", dir,
                   g_strerror (e));
      return FALSE;
    }

  int err_no;
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GBytes) data = read_small_file_at (root_fd, GP_GRAPH_MAPPING_FILE, GP_GRAPH_MAPPING_FILE,
                                                GP_GRAPH_MAX_JSON_SIZE, &err_no, &local_error);
  if (data == NULL)
    {
      if (err_no == ENOENT)
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  gsize len;
  const char *text = g_bytes_get_data (data, &len);
  gsize start, end;
  if (!gp_json_value_end (text, len, &start, &end, error))
    {
      g_prefix_error (error, "%s: ", GP_GRAPH_MAPPING_FILE);
      return FALSE;
    }
  const char *value = text + start;
  gsize value_len = end - start;
  if (gp_json_is_null (value, value_len))
    return TRUE;
  GpJsonIter iter;
  if (!gp_json_object_iter_init (&iter, value, value_len))
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_JSON,
                   "%s: not a JSON object of v1 IDs and image IDs", GP_GRAPH_MAPPING_FILE);
      return FALSE;
    }
  g_autoptr (GHashTable) restored = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  for (;;)
    {
      g_autoptr (GString) key = NULL;
      g_autoptr (GString) image_id = NULL;
      const char *v;
      gsize vlen;
      if (!gp_json_object_iter_next (&iter, &key, &v, &vlen))
        break;
      /* Go decodes `null` into a map's string element as "". */
      if (gp_json_is_null (v, vlen))
        image_id = g_string_new (NULL);
      else if (!gp_json_decode_string (v, vlen, &image_id, error))
        {
          g_autofree char *shown = escape_for_message (key->str, key->len);
          g_prefix_error (error, "%s: value of %s: ", GP_GRAPH_MAPPING_FILE, shown);
          return FALSE;
        }
      if (memchr (key->str, '\0', key->len) != NULL || memchr (image_id->str, '\0', image_id->len) != NULL)
        {
          g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_JSON, "%s: NUL byte in an entry",
                       GP_GRAPH_MAPPING_FILE);
          return FALSE;
        }
      g_hash_table_insert (restored, g_string_free (g_steal_pointer (&key), FALSE),
                           g_string_free (g_steal_pointer (&image_id), FALSE));
    }

  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, restored);
  while (g_hash_table_iter_next (&it, &k, &v))
    {
      g_hash_table_iter_steal (&it);
      g_hash_table_insert (graph->mapping, k, v);
    }
  graph->n_restored = g_hash_table_size (graph->mapping);
  return TRUE;
}
