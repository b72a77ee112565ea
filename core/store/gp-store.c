/* graphpipe - the Docker 1.10+ store: layout, layerdb (layer and mount
 * records); the imagedb is in gp-store-images.c. */
#include "config.h"

#include "gp-store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>

#include "gp-digest.h"
#include "gp-error.h"
#include "gp-safeio.h"
#include "gp-store-private.h"

#define SMALL_FILE_MAX (64 * 1024)
#define COPY_CHUNK (128 * 1024)

static const char *const stale_tmp_prefixes[] = { "layer-", "mount-", NULL };

/* ---- helpers ---- */

gboolean
_gp_store_check_sha256 (const char *s, const char *what, GError **error)
{
  if (s == NULL || !gp_digest_check_sha256 (s, -1, error))
    {
      if (s == NULL)
        g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_DIGEST, "%s: missing", what);
      else
        g_prefix_error (error, "%s: ", what);
      return FALSE;
    }
  return TRUE;
}

static gboolean
is_empty (const char *s)
{
  return s == NULL || *s == '\0';
}

/* `^[a-f0-9]{64}(-init)?$`: cache-id, mount-id, init-id. */
static gboolean
string_id_ok (const char *s)
{
  gsize n = strlen (s);
  if (n == GP_HEX_SHA256_LEN + 5 && strcmp (s + GP_HEX_SHA256_LEN, "-init") == 0)
    n = GP_HEX_SHA256_LEN;
  else if (n != GP_HEX_SHA256_LEN)
    return FALSE;
  return gp_hex_is_lower (s, n);
}

/* A single safe path component for mount names. */
static gboolean
component_ok (const char *s)
{
  return !is_empty (s) && s[0] != '.' && strchr (s, '/') == NULL && strlen (s) <= 255;
}

static gboolean
path_exists (const char *path)
{
  struct stat st;
  return lstat (path, &st) == 0;
}

static gboolean
is_dir_nofollow (const char *path)
{
  struct stat st;
  return lstat (path, &st) == 0 && S_ISDIR (st.st_mode);
}

/* Reads a small store file; a missing one sets %G_IO_ERROR_NOT_FOUND. */
char *
_gp_store_read_small (const char *path, gsize *out_len, GError **error)
{
  return gp_safeio_read_file (path, SMALL_FILE_MAX, out_len, error);
}

/* Reads a store object of at most @max_size bytes; a missing one is
 * %GP_DATA_ERROR_MISSING "<path>: <missing> <name>". */
char *
_gp_store_read_object (const char *path, gsize max_size, gsize *out_len, const char *missing,
                       const char *name, GError **error)
{
  g_autoptr (GError) local = NULL;
  char *data = gp_safeio_read_file (path, max_size, out_len, &local);
  if (data == NULL)
    {
      if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING, "%s: %s %s", path, missing, name);
      else
        g_propagate_error (error, g_steal_pointer (&local));
    }
  return data;
}

/* Go's strconv.ParseInt(s, 10, 64), no trimming. */
static gboolean
parse_go_int64 (const char *s, gsize len, gint64 *out)
{
  gsize i = 0;
  gboolean neg = FALSE;

  if (len > 0 && (s[0] == '+' || s[0] == '-'))
    {
      neg = s[0] == '-';
      i = 1;
    }
  if (i == len)
    return FALSE;
  guint64 v = 0;
  guint64 limit = neg ? (guint64) G_MAXINT64 + 1 : (guint64) G_MAXINT64;
  for (; i < len; i++)
    {
      if (!g_ascii_isdigit (s[i]))
        return FALSE;
      guint d = (guint) (s[i] - '0');
      if (v > (limit - d) / 10)
        return FALSE;
      v = v * 10 + d;
    }
  *out = neg ? (gint64) (0 - v) : (gint64) v;
  return TRUE;
}

/* At most this many entries in each known_* set of a store; a full set
 * is emptied (then things are read again: only speed changes). */
#define KNOWN_MAX 65536

void
_gp_store_remember (GpStore *store, GHashTable *table, const char *key)
{
  g_mutex_lock (&store->known_lock);
  if (g_hash_table_size (table) >= KNOWN_MAX)
    g_hash_table_remove_all (table);
  g_hash_table_add (table, g_strdup (key));
  g_mutex_unlock (&store->known_lock);
}

gboolean
_gp_store_is_known (GpStore *store, GHashTable *table, const char *key)
{
  g_mutex_lock (&store->known_lock);
  gboolean known = g_hash_table_contains (table, key);
  g_mutex_unlock (&store->known_lock);
  return known;
}

static gboolean
ensure_dir_known (GpStore *store, const char *path, guint mode, GError **error)
{
  if (_gp_store_is_known (store, store->known_dirs, path))
    return TRUE;
  if (!gp_safeio_mkdir_p (path, mode, error))
    return FALSE;
  _gp_store_remember (store, store->known_dirs, path);
  return TRUE;
}

/* Creates <store>/<top>/<rest> with @mode, creating the store directories above
 * it with their own modes first (image/, image/<driver>/ and the first
 * level below are 0700). */
gboolean
_gp_store_ensure_dir (GpStore *store, const char *top, const char *rest, guint mode, GError **error)
{
  g_autofree char *top_path = g_build_filename (store->dir, top, NULL);
  g_autofree char *path = rest ? g_build_filename (top_path, rest, NULL) : NULL;
  /* A directory made or found before is taken as still there (a run
   * owns the store); stat'ing every component again costs more than the
   * writes themselves. */
  if (_gp_store_is_known (store, store->known_dirs, path ? path : top_path))
    return TRUE;
  g_autofree char *image_dir = g_path_get_dirname (store->dir);
  if (!ensure_dir_known (store, image_dir, 0700, error)
      || !ensure_dir_known (store, store->dir, 0700, error)
      || !ensure_dir_known (store, top_path, 0700, error))
    return FALSE;
  if (rest == NULL)
    return TRUE;
  return ensure_dir_known (store, path, mode, error);
}

/* ---- the store object ---- */

/**
 * gp_store_open:
 * @root: the Docker data root (e.g. `/var/lib/docker`)
 * @driver: the storage driver name (`vfs`, `aufs`, `overlay`, `overlay2`, …)
 * @error: return location for a #GError
 *
 * Creates a handle on `<root>/image/<driver>/`.  Nothing is read or
 * written yet; use gp_store_exists() to know whether a store is there and
 * gp_store_init_layout() before writing a new one.
 *
 * Returns: (transfer full) (nullable): the store; release with
 *   gp_store_unref().  %NULL with %GP_DATA_ERROR_INVALID for an unusable
 *   driver name.
 */
GpStore *
gp_store_open (const char *root, const char *driver, GError **error)
{
  gboolean ok = !is_empty (driver) && strlen (driver) <= 64;
  for (const char *p = driver; ok && *p; p++)
    ok = g_ascii_isalnum (*p) || *p == '-' || *p == '_';
  if (!ok)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_INVALID, "invalid storage driver name \"%s\"",
                   driver ? driver : "");
      return NULL;
    }
  if (is_empty (root))
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_INVALID, "empty data root");
      return NULL;
    }

  GpStore *store = g_new0 (GpStore, 1);
  g_atomic_ref_count_init (&store->ref_count);
  store->root = g_strdup (root);
  store->driver = g_strdup (driver);
  store->dir = g_build_filename (root, "image", driver, NULL);
  store->containers_dir = g_build_filename (root, "containers", NULL);
  g_mutex_init (&store->lock);
  g_mutex_init (&store->known_lock);
  g_mutex_init (&store->imagedb_lock);
  store->known_dirs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  store->known_layers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  store->known_images = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  return store;
}

/**
 * gp_store_ref:
 * @store: a store
 *
 * Returns: (transfer full): @store with one more reference.
 */
GpStore *
gp_store_ref (GpStore *store)
{
  g_atomic_ref_count_inc (&store->ref_count);
  return store;
}

/**
 * gp_store_unref:
 * @store: (nullable): a store
 *
 * Drops a reference; the last one frees the handle.
 */
void
gp_store_unref (GpStore *store)
{
  if (store == NULL || !g_atomic_ref_count_dec (&store->ref_count))
    return;
  g_free (store->root);
  g_free (store->driver);
  g_free (store->dir);
  g_free (store->containers_dir);
  g_free (store->layers_root);
  g_mutex_clear (&store->lock);
  g_mutex_clear (&store->known_lock);
  g_mutex_clear (&store->imagedb_lock);
  gp_safe_dir_free (store->content_dir);
  gp_safe_dir_free (store->metadata_dir);
  g_hash_table_unref (store->known_dirs);
  g_hash_table_unref (store->known_layers);
  g_hash_table_unref (store->known_images);
  if (store->repos)
    gp_repositories_free (store->repos);
  g_free (store);
}

/**
 * gp_store_get_root:
 * @store: a store
 *
 * Returns: (transfer none): the data root.
 */
const char *
gp_store_get_root (GpStore *store)
{
  return store->root;
}

/**
 * gp_store_get_layers_root:
 * @store: a store
 *
 * The data root whose driver directories (`<root>/vfs/dir/<cache-id>`,
 * `<root>/overlay2/<cache-id>/diff`, ...) hold the files of the store's
 * layers.  It is the store's own root unless gp_store_set_layers_root()
 * said otherwise: a store written elsewhere (`graphpipe migrate --target`)
 * keeps its layer files in the source root.
 *
 * Returns: (transfer none): the root to open layer directories under.
 */
const char *
gp_store_get_layers_root (GpStore *store)
{
  return store->layers_root != NULL ? store->layers_root : store->root;
}

/**
 * gp_store_set_layers_root:
 * @store: a store
 * @layers_root: (nullable): the data root holding the driver's layer
 *   directories; %NULL: the store's own root
 *
 * Sets what gp_store_get_layers_root() returns.  Call it before the store
 * is shared between threads.
 */
void
gp_store_set_layers_root (GpStore *store, const char *layers_root)
{
  g_free (store->layers_root);
  store->layers_root = g_strdup (layers_root);
}

/**
 * gp_store_get_driver:
 * @store: a store
 *
 * Returns: (transfer none): the driver name.
 */
const char *
gp_store_get_driver (GpStore *store)
{
  return store->driver;
}

/**
 * gp_store_get_dir:
 * @store: a store
 *
 * Returns: (transfer none): `<root>/image/<driver>`.
 */
const char *
gp_store_get_dir (GpStore *store)
{
  return store->dir;
}

/**
 * gp_store_get_containers_dir:
 * @store: a store
 *
 * Returns: (transfer none): `<root>/containers`.
 */
const char *
gp_store_get_containers_dir (GpStore *store)
{
  return store->containers_dir;
}

/**
 * gp_store_exists:
 * @store: a store
 *
 * Returns: %TRUE if `<root>/image/<driver>/` is a directory.
 */
gboolean
gp_store_exists (GpStore *store)
{
  struct stat st;
  return stat (store->dir, &st) == 0 && S_ISDIR (st.st_mode);
}

/**
 * gp_store_init_layout:
 * @store: a store
 * @error: return location for a #GError
 *
 * Creates what the Docker 1.10.3 daemon creates before migrating, each
 * only if missing (FORMATS.md §4.1): `image/`, `image/<driver>/`,
 * `layerdb/`, `imagedb/content/sha256/`, `imagedb/metadata/sha256/`,
 * `distribution/` (all 0700), `repositories.json` = `{"Repositories":{}}`
 * (0600) and `<root>/containers/` (0700).  Then removes the temporaries a
 * killed earlier run left behind (gp_store_clean_stale()).
 *
 * Returns: %TRUE on success.
 */
gboolean
gp_store_init_layout (GpStore *store, GError **error)
{
  if (!_gp_store_ensure_dir (store, "layerdb", NULL, 0700, error)
      || !_gp_store_ensure_dir (store, "imagedb", "content", 0700, error)
      || !_gp_store_ensure_dir (store, "imagedb", "content/sha256", 0700, error)
      || !_gp_store_ensure_dir (store, "imagedb", "metadata", 0700, error)
      || !_gp_store_ensure_dir (store, "imagedb", "metadata/sha256", 0700, error)
      || !_gp_store_ensure_dir (store, "distribution", NULL, 0700, error))
    return FALSE;

  g_autofree char *repos = g_build_filename (store->dir, "repositories.json", NULL);
  if (!path_exists (repos))
    {
      static const char empty[] = "{\"Repositories\":{}}";
      g_autoptr (GError) local = NULL;
      if (!gp_safeio_write_file (repos, empty, sizeof empty - 1, 0600, GP_SAFE_NO_REPLACE, &local)
          && !g_error_matches (local, G_IO_ERROR, G_IO_ERROR_EXISTS))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
    }
  if (!gp_safeio_mkdir_p (store->containers_dir, 0700, error))
    return FALSE;
  return gp_store_clean_stale (store, error);
}

static gboolean
clean_subdirs (const char *dir, int levels, GError **error)
{
  /* Sweeps @dir and its subdirectories @levels deep. */
  if (!gp_safeio_clean_stale (dir, NULL, error))
    return FALSE;
  if (levels == 0)
    return TRUE;
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  if (d == NULL)
    return TRUE;
  const char *name;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *sub = g_build_filename (dir, name, NULL);
      if (is_dir_nofollow (sub) && !clean_subdirs (sub, levels - 1, error))
        return FALSE;
    }
  return TRUE;
}

/**
 * gp_store_clean_stale:
 * @store: a store
 *
 * @error: return location for a #GError
 *
 * Removes what a killed run can leave behind: `layerdb/tmp/layer-*` and
 * `mount-*` directories (graphpipe's and Docker's own) and every
 * `.<name>.gp-tmp` temporary in the store's directories, in
 * `imagedb/metadata/sha256/<id>/`, in the two levels below `distribution/`, in `<root>` and in
 * `<root>/containers/<id>/`.  Call it before writing, never while another
 * writer works on the store.
 *
 * Returns: %TRUE on success.
 */
gboolean
gp_store_clean_stale (GpStore *store, GError **error)
{
  g_autofree char *layer_tmp = g_build_filename (store->dir, "layerdb", "tmp", NULL);
  g_autofree char *content = g_build_filename (store->dir, "imagedb", "content", "sha256", NULL);
  g_autofree char *metadata = g_build_filename (store->dir, "imagedb", "metadata", "sha256", NULL);
  g_autofree char *dist = g_build_filename (store->dir, "distribution", NULL);

  return gp_safeio_clean_stale (store->root, NULL, error)
         && gp_safeio_clean_stale (store->dir, NULL, error)
         && gp_safeio_clean_stale (layer_tmp, stale_tmp_prefixes, error)
         && gp_safeio_clean_stale (content, NULL, error)
         && clean_subdirs (metadata, 1, error)
         && clean_subdirs (dist, 2, error)
         && clean_subdirs (store->containers_dir, 1, error);
}

/* ---- layerdb: layer records ---- */

static char *
layer_dir (GpStore *store, const char *chain_id)
{
  return g_build_filename (store->dir, "layerdb", "sha256", chain_id + 7, NULL);
}

/**
 * gp_layer_record_free:
 * @record: (nullable): a record
 *
 * Frees @record.
 */
void
gp_layer_record_free (GpLayerRecord *record)
{
  if (record == NULL)
    return;
  g_free (record->chain_id);
  g_free (record->diff_id);
  g_free (record->parent);
  g_free (record->cache_id);
  g_free (record->tar_split_path);
  g_free (record);
}

/**
 * gp_store_has_layer:
 * @store: a store
 * @chain_id: a ChainID
 *
 * Returns: %TRUE if `layerdb/sha256/<hex>/` exists (a record there is
 *   never replaced: first writer wins).
 */
gboolean
gp_store_has_layer (GpStore *store, const char *chain_id)
{
  if (chain_id == NULL || !gp_digest_check_sha256 (chain_id, -1, NULL))
    return FALSE;
  g_autofree char *dir = layer_dir (store, chain_id);
  return path_exists (dir);
}

/* Reads a digest file as Docker does: TrimSpace, then ParseDigest. */
static char *
read_digest_file (const char *path, GError **error)
{
  gsize len;
  g_autofree char *raw = _gp_store_read_small (path, &len, error);
  if (raw == NULL)
    return NULL;
  g_autofree char *trimmed = _gp_go_trim_space (raw, len);
  if (memchr (raw, '\0', len) != NULL || !gp_digest_parse (trimmed, -1, NULL, error))
    {
      if (error && *error == NULL)
        g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_DIGEST, "invalid digest");
      g_prefix_error (error, "%s: ", path);
      return NULL;
    }
  return g_steal_pointer (&trimmed);
}

static char *
read_string_id_file (const char *path, GError **error)
{
  gsize len;
  g_autofree char *raw = _gp_store_read_small (path, &len, error);
  if (raw == NULL)
    return NULL;
  g_autofree char *trimmed = _gp_go_trim_space (raw, len);
  if (memchr (raw, '\0', len) != NULL || !string_id_ok (trimmed))
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_INVALID,
                   "%s: invalid ID value (expected 64 lowercase hex digits)", path);
      return NULL;
    }
  return g_steal_pointer (&trimmed);
}

/**
 * gp_store_get_layer:
 * @store: a store
 * @chain_id: a ChainID
 * @error: return location for a #GError
 *
 * Loads a layer record with the checks Docker applies when it loads one
 * (FORMATS.md §4.1): `diff` and `parent` are trimmed and must be valid
 * digests, `size` is a signed decimal without trimming, `cache-id` is
 * trimmed and must match `^[a-f0-9]{64}(-init)?$`.  Docker ignores a layer
 * failing these checks; so should the caller.
 *
 * Returns: (transfer full) (nullable): the record; free with
 *   gp_layer_record_free().  %GP_DATA_ERROR_MISSING if there is no record,
 *   other codes naming the file for a bad one.
 */
GpLayerRecord *
gp_store_get_layer (GpStore *store, const char *chain_id, GError **error)
{
  if (!_gp_store_check_sha256 (chain_id, "layer ChainID", error))
    return NULL;
  g_autofree char *dir = layer_dir (store, chain_id);
  if (!is_dir_nofollow (dir))
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING, "%s: layer %s does not exist", dir, chain_id);
      return NULL;
    }

  g_autoptr (GpLayerRecord) rec = g_new0 (GpLayerRecord, 1);
  rec->chain_id = g_strdup (chain_id);
  g_autofree char *diff_path = g_build_filename (dir, "diff", NULL);
  rec->diff_id = read_digest_file (diff_path, error);
  if (rec->diff_id == NULL)
    return NULL;

  g_autofree char *size_path = g_build_filename (dir, "size", NULL);
  gsize len;
  g_autofree char *size = _gp_store_read_small (size_path, &len, error);
  if (size == NULL)
    return NULL;
  if (!parse_go_int64 (size, len, &rec->size))
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_INVALID, "%s: not a decimal integer", size_path);
      return NULL;
    }

  g_autofree char *cache_path = g_build_filename (dir, "cache-id", NULL);
  rec->cache_id = read_string_id_file (cache_path, error);
  if (rec->cache_id == NULL)
    return NULL;

  g_autofree char *parent_path = g_build_filename (dir, "parent", NULL);
  g_autoptr (GError) local = NULL;
  rec->parent = read_digest_file (parent_path, &local);
  if (rec->parent == NULL && !g_error_matches (local, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  rec->tar_split_path = g_build_filename (dir, "tar-split.json.gz", NULL);
  _gp_store_remember (store, store->known_layers, chain_id);
  return g_steal_pointer (&rec);
}

GPtrArray *
_gp_store_list_hex_entries (const char *dir, gboolean want_dir, GError **error)
{
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) local = NULL;
  g_autoptr (GDir) d = g_dir_open (dir, 0, &local);
  if (d == NULL)
    {
      if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return g_steal_pointer (&out);
      g_propagate_prefixed_error (error, g_steal_pointer (&local), "%s: ", dir);
      return NULL;
    }
  const char *name;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      if (!gp_v1_id_is_valid (name, -1))
        continue;
      g_autofree char *path = g_build_filename (dir, name, NULL);
      struct stat st;
      if (lstat (path, &st) < 0 || (want_dir ? !S_ISDIR (st.st_mode) : !S_ISREG (st.st_mode)))
        continue;
      g_ptr_array_add (out, g_strconcat ("sha256:", name, NULL));
    }
  return g_steal_pointer (&out);
}

gint
_gp_store_cmp_strv_items (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/**
 * gp_store_list_layers:
 * @store: a store
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (element-type utf8): the ChainIDs of every
 *   `layerdb/sha256/<hex>/` directory, sorted; free with
 *   g_ptr_array_unref().  Empty if there is no layerdb.
 */
GPtrArray *
gp_store_list_layers (GpStore *store, GError **error)
{
  g_autofree char *dir = g_build_filename (store->dir, "layerdb", "sha256", NULL);
  GPtrArray *out = _gp_store_list_hex_entries (dir, TRUE, error);
  if (out)
    g_ptr_array_sort (out, _gp_store_cmp_strv_items);
  return out;
}

struct _GpLayerTx {
  GpStore *store;
  char *tmp_dir;
  GpSafeDir *dir;   /* tmp_dir, open: its files are written through it */
  GpSafeFile *tar_split;
  gboolean done;
};

/**
 * gp_store_begin_layer:
 * @store: a store
 * @error: return location for a #GError
 *
 * Starts registering a layer (FORMATS.md §4.2): creates
 * `layerdb/tmp/layer-<random>/` (0700; `layerdb/tmp/` 0755 if missing) and
 * opens its `tar-split.json.gz` (0644) for gp_layer_tx_write() or
 * gp_layer_tx_copy_tar_split().  Finish with gp_layer_tx_commit(); freeing
 * the transaction without a commit removes the temporary directory.
 *
 * Returns: (transfer full) (nullable): the transaction; free with
 *   gp_layer_tx_free().
 */
GpLayerTx *
gp_store_begin_layer (GpStore *store, GError **error)
{
  if (!_gp_store_ensure_dir (store, "layerdb", "tmp", 0755, error))
    return NULL;
  g_autofree char *tmp_parent = g_build_filename (store->dir, "layerdb", "tmp", NULL);
  g_autofree char *tmp_dir = NULL;
  if (!gp_safeio_make_temp_dir (tmp_parent, "layer-", 0700, &tmp_dir, error))
    return NULL;
  GpSafeDir *dir = gp_safe_dir_open (tmp_dir, error);
  GpSafeFile *f = dir ? gp_safe_file_new_in (dir, "tar-split.json.gz", 0644, GP_SAFE_DIRECT, error) : NULL;
  if (f == NULL)
    {
      gp_safe_dir_free (dir);
      gp_safeio_remove_tree (tmp_dir, NULL);
      return NULL;
    }
  GpLayerTx *tx = g_new0 (GpLayerTx, 1);
  tx->store = gp_store_ref (store);
  tx->tmp_dir = g_steal_pointer (&tmp_dir);
  tx->dir = dir;
  tx->tar_split = f;
  return tx;
}

/**
 * gp_layer_tx_write:
 * @tx: (type GpLayerTx): a transaction
 * @buf: bytes of `tar-split.json.gz`
 * @len: their number
 * @error: return location for a #GError
 *
 * Appends to the layer's `tar-split.json.gz` (stored as given, not
 * compressed here).  Has the #GpWriteFunc signature.
 *
 * Returns: %TRUE on success.
 */
gboolean
gp_layer_tx_write (gpointer tx, const void *buf, gsize len, GError **error)
{
  GpLayerTx *t = tx;
  if (t->done || t->tar_split == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED, "%s: layer transaction is finished", t->tmp_dir);
      return FALSE;
    }
  return gp_safe_file_write (t->tar_split, buf, len, error);
}

/**
 * gp_layer_tx_copy_tar_split:
 * @tx: a transaction
 * @src_path: a regular file (e.g. `graph/<id>/.migration-tardata`)
 * @error: return location for a #GError
 *
 * Appends the bytes of @src_path to the layer's `tar-split.json.gz`,
 * streamed in bounded chunks.
 *
 * Returns: %TRUE on success.
 */
gboolean
gp_layer_tx_copy_tar_split (GpLayerTx *tx, const char *src_path, GError **error)
{
  int fd = open (src_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0)
    {
      int errsv = errno;
      if (errsv == ELOOP)
        g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_NOT_REGULAR, "%s: is a symbolic link", src_path);
      else
        g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv), "%s: cannot open: %s", src_path,
                     g_strerror (errsv));
      return FALSE;
    }
  struct stat st;
  if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode))
    {
      close (fd);
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_NOT_REGULAR, "%s: not a regular file", src_path);
      return FALSE;
    }
  /* O_NONBLOCK stays: reads of a regular file ignore it. */
  g_autofree guint8 *buf = g_malloc (COPY_CHUNK);
  guint64 copied = 0;
  for (;;)
    {
      ssize_t n = read (fd, buf, COPY_CHUNK);
      if (n < 0)
        {
          int errsv = errno;
          if (errsv == EINTR)
            continue;
          close (fd);
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv), "%s: read failed: %s", src_path,
                       g_strerror (errsv));
          return FALSE;
        }
      if (n == 0)
        break;
      if (!gp_layer_tx_write (tx, buf, (gsize) n, error))
        {
          close (fd);
          return FALSE;
        }
      copied += (guint64) n;
      /* A short read that reaches the size fstat gave is the end. */
      if (n < COPY_CHUNK && st.st_size > 0 && copied == (guint64) st.st_size)
        break;
    }
  close (fd);
  return TRUE;
}

static gboolean
write_record_file (GpSafeDir *dir, const char *name, const char *content, GError **error)
{
  return gp_safeio_write_file_in (dir, name, content, strlen (content), 0644, GP_SAFE_DIRECT, error);
}

static gboolean
check_layer_args (GpStore *store, const char *parent_chain_id, const char *diff_id, const char *cache_id,
                  gint64 size, GError **error)
{
  if (!_gp_store_check_sha256 (diff_id, "DiffID", error))
    return FALSE;
  if (!is_empty (parent_chain_id) && !_gp_store_check_sha256 (parent_chain_id, "parent ChainID", error))
    return FALSE;
  if (cache_id == NULL || !string_id_ok (cache_id))
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_INVALID,
                   "invalid cache ID \"%s\" (expected 64 lowercase hex digits)", cache_id ? cache_id : "");
      return FALSE;
    }
  if (size < 0)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_SIZE, "negative layer size %" G_GINT64_FORMAT, size);
      return FALSE;
    }
  if (!is_empty (parent_chain_id))
    {
      /* A parent this handle wrote or loaded whole is not read again: as
       * with the directories it made, a run owns the store. */
      if (_gp_store_is_known (store, store->known_layers, parent_chain_id))
        return TRUE;
      g_autoptr (GpLayerRecord) parent = gp_store_get_layer (store, parent_chain_id, error);
      if (parent == NULL)
        {
          g_prefix_error (error, "parent layer %s: ", parent_chain_id);
          return FALSE;
        }
    }
  return TRUE;
}

/**
 * gp_layer_tx_commit:
 * @tx: a transaction whose `tar-split.json.gz` is complete
 * @parent_chain_id: (nullable): ChainID of the parent layer, which must
 *   exist in layerdb; %NULL or "" for a base layer
 * @diff_id: the layer's DiffID
 * @cache_id: the driver's ID of the layer (legacy: the v1 ID)
 * @size: the layer size (§3.6)
 * @out_chain_id: (out) (optional) (transfer full): the ChainID
 * @out_existed: (out) (optional): %TRUE if a record with that ChainID
 *   existed already: nothing was written, the existing record wins
 * @error: return location for a #GError
 *
 * Writes `diff`, `size`, `cache-id` and `parent` (0644, no newline) into the
 * temporary directory, then `mkdir -p layerdb/sha256` (0755) and renames
 * the directory to `layerdb/sha256/<chain-hex>`, durably.  The transaction
 * is finished either way.
 *
 * Returns: %TRUE if the record is in place (written now or before).
 */
static gboolean tx_commit (GpLayerTx *tx, gboolean registering, const char *parent_chain_id, const char *diff_id,
                           const char *cache_id, gint64 size, char **out_chain_id, gboolean *out_existed,
                           GError **error);

gboolean
gp_layer_tx_commit (GpLayerTx *tx, const char *parent_chain_id, const char *diff_id, const char *cache_id,
                    gint64 size, char **out_chain_id, gboolean *out_existed, GError **error)
{
  return tx_commit (tx, FALSE, parent_chain_id, diff_id, cache_id, size, out_chain_id, out_existed, error);
}

/* gp_layer_tx_commit(); @registering: for gp_store_register_layer(), which
 * checked the arguments and looked for the record just before. */
static gboolean
tx_commit (GpLayerTx *tx, gboolean registering, const char *parent_chain_id, const char *diff_id,
           const char *cache_id, gint64 size, char **out_chain_id, gboolean *out_existed, GError **error)
{
  GpStore *store = tx->store;

  if (tx->done)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED, "%s: layer transaction is finished", tx->tmp_dir);
      return FALSE;
    }
  tx->done = TRUE;
  if (!registering && !check_layer_args (store, parent_chain_id, diff_id, cache_id, size, error))
    return FALSE;
  g_autofree char *chain_id = gp_chain_id (is_empty (parent_chain_id) ? NULL : parent_chain_id, diff_id);

  if (!gp_safe_file_commit (tx->tar_split, error))
    return FALSE;
  g_autofree char *size_str = g_strdup_printf ("%" G_GINT64_FORMAT, size);
  if (!write_record_file (tx->dir, "diff", diff_id, error)
      || !write_record_file (tx->dir, "size", size_str, error)
      || !write_record_file (tx->dir, "cache-id", cache_id, error)
      || (!is_empty (parent_chain_id) && !write_record_file (tx->dir, "parent", parent_chain_id, error)))
    return FALSE;

  gboolean existed = FALSE;
  g_mutex_lock (&store->lock);
  g_autofree char *final = layer_dir (store, chain_id);
  gboolean ok = TRUE;
  /* (A record that appeared since the caller looked is found by the
   * publish, which never replaces anything.) */
  if (!registering && path_exists (final))
    existed = TRUE;
  else
    ok = _gp_store_ensure_dir (store, "layerdb", "sha256", 0755, error)
         && gp_safeio_publish_dir_in (tx->dir, final, &existed, error);
  g_mutex_unlock (&store->lock);
  if (!ok)
    return FALSE;
  if (existed && !gp_safeio_remove_tree (tx->tmp_dir, error))
    return FALSE;
  if (!existed)
    _gp_store_remember (store, store->known_layers, chain_id);
  if (out_chain_id)
    *out_chain_id = g_steal_pointer (&chain_id);
  if (out_existed)
    *out_existed = existed;
  g_clear_pointer (&tx->tmp_dir, g_free);
  return TRUE;
}

/**
 * gp_layer_tx_free:
 * @tx: (nullable): a transaction
 *
 * Frees it; an uncommitted (or failed) transaction's temporary directory
 * is removed.
 */
void
gp_layer_tx_free (GpLayerTx *tx)
{
  if (tx == NULL)
    return;
  gp_safe_file_free (tx->tar_split);
  gp_safe_dir_free (tx->dir);
  if (tx->tmp_dir)
    gp_safeio_remove_tree (tx->tmp_dir, NULL);
  g_free (tx->tmp_dir);
  gp_store_unref (tx->store);
  g_free (tx);
}

/**
 * gp_store_register_layer:
 * @store: a store
 * @parent_chain_id: (nullable): ChainID of the parent layer (must exist),
 *   %NULL or "" for a base layer
 * @diff_id: the DiffID
 * @cache_id: the driver's layer ID
 * @size: the layer size
 * @tar_split_path: the `tar-split.json.gz` to copy byte for byte
 * @out_chain_id: (out) (optional) (transfer full): the ChainID
 * @out_existed: (out) (optional): %TRUE if the ChainID existed already
 * @error: return location for a #GError
 *
 * Docker's `RegisterByGraphID`: checks the parent, returns at once if the
 * ChainID exists (nothing written, first writer wins), else runs a whole
 * layer transaction copying @tar_split_path.
 *
 * Returns: %TRUE if the record is in place.
 */
gboolean
gp_store_register_layer (GpStore *store, const char *parent_chain_id, const char *diff_id,
                         const char *cache_id, gint64 size, const char *tar_split_path,
                         char **out_chain_id, gboolean *out_existed, GError **error)
{
  if (!check_layer_args (store, parent_chain_id, diff_id, cache_id, size, error))
    return FALSE;
  g_autofree char *chain_id = gp_chain_id (is_empty (parent_chain_id) ? NULL : parent_chain_id, diff_id);
  if (gp_store_has_layer (store, chain_id))
    {
      if (out_chain_id)
        *out_chain_id = g_steal_pointer (&chain_id);
      if (out_existed)
        *out_existed = TRUE;
      return TRUE;
    }
  g_autoptr (GpLayerTx) tx = gp_store_begin_layer (store, error);
  if (tx == NULL || !gp_layer_tx_copy_tar_split (tx, tar_split_path, error))
    return FALSE;
  return tx_commit (tx, TRUE, parent_chain_id, diff_id, cache_id, size, out_chain_id, out_existed, error);
}

/* ---- layerdb: mount records ---- */

/**
 * gp_mount_record_free:
 * @record: (nullable): a record
 *
 * Frees @record.
 */
void
gp_mount_record_free (GpMountRecord *record)
{
  if (record == NULL)
    return;
  g_free (record->name);
  g_free (record->mount_id);
  g_free (record->init_id);
  g_free (record->parent);
  g_free (record);
}

/**
 * gp_store_get_mount:
 * @store: a store
 * @name: the mount name (container ID)
 * @error: return location for a #GError
 *
 * Loads `layerdb/mounts/<name>/` as Docker does: `mount-id` required,
 * `init-id` and `parent` optional, all trimmed and validated.
 *
 * Returns: (transfer full) (nullable): the record; free with
 *   gp_mount_record_free().  %GP_DATA_ERROR_MISSING if absent.
 */
GpMountRecord *
gp_store_get_mount (GpStore *store, const char *name, GError **error)
{
  if (!component_ok (name))
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_UNSAFE_PATH, "invalid mount name \"%s\"", name ? name : "");
      return NULL;
    }
  g_autofree char *dir = g_build_filename (store->dir, "layerdb", "mounts", name, NULL);
  if (!is_dir_nofollow (dir))
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING, "%s: mount %s does not exist", dir, name);
      return NULL;
    }
  g_autoptr (GpMountRecord) rec = g_new0 (GpMountRecord, 1);
  rec->name = g_strdup (name);
  g_autofree char *mount_path = g_build_filename (dir, "mount-id", NULL);
  rec->mount_id = read_string_id_file (mount_path, error);
  if (rec->mount_id == NULL)
    return NULL;

  g_autoptr (GError) local = NULL;
  g_autofree char *init_path = g_build_filename (dir, "init-id", NULL);
  rec->init_id = read_string_id_file (init_path, &local);
  if (rec->init_id == NULL && !g_error_matches (local, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  g_clear_error (&local);
  g_autofree char *parent_path = g_build_filename (dir, "parent", NULL);
  rec->parent = read_digest_file (parent_path, &local);
  if (rec->parent == NULL && !g_error_matches (local, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  return g_steal_pointer (&rec);
}

static gboolean
compare_mount (GpMountRecord *have, const char *dir, const char *mount_id, const char *parent, GError **error)
{
  if (g_strcmp0 (have->parent, is_empty (parent) ? NULL : parent) != 0)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_CONFLICT,
                   "%s: name conflict, mismatched parent (has %s, wanted %s)", dir,
                   have->parent ? have->parent : "none", is_empty (parent) ? "none" : parent);
      return FALSE;
    }
  if (strcmp (have->mount_id, mount_id) != 0)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_CONFLICT,
                   "%s: mount already exists with mount ID %s", dir, have->mount_id);
      return FALSE;
    }
  return TRUE;
}

/**
 * gp_store_create_mount:
 * @store: a store
 * @name: the mount name (for migrated containers: the container ID)
 * @mount_id: the driver's ID of the container's RW layer (legacy: the
 *   container ID); 64 lowercase hex digits
 * @has_init: %TRUE if the driver has a layer `<mount_id>-init` (the caller
 *   asks the driver): `init-id` is then written
 * @parent_chain_id: (nullable): ChainID of the image's top layer (must
 *   exist), %NULL or "" if the image has no layers
 * @out_existed: (out) (optional): %TRUE if an identical mount existed
 * @error: return location for a #GError
 *
 * Docker's `CreateRWLayerByGraphID` (FORMATS.md §4.3): writes
 * `layerdb/mounts/<name>/` (0755) with `mount-id`, `init-id`, `parent`
 * (0644, no newline).  The directory is built in `layerdb/tmp/` and renamed
 * into place, so a partial mount record never exists.  If the mount
 * exists with the same mount ID and parent nothing is written; with a
 * different one it is %GP_DATA_ERROR_CONFLICT.  An existing record that
 * cannot be loaded (Docker would ignore it) is replaced.  Whether the
 * driver has @mount_id at all is the caller's check.
 *
 * Returns: %TRUE if the mount record is in place.
 */
gboolean
gp_store_create_mount (GpStore *store, const char *name, const char *mount_id, gboolean has_init,
                       const char *parent_chain_id, gboolean *out_existed, GError **error)
{
  if (!component_ok (name))
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_UNSAFE_PATH, "invalid mount name \"%s\"", name ? name : "");
      return FALSE;
    }
  if (mount_id == NULL || !gp_v1_id_is_valid (mount_id, -1))
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_INVALID,
                   "invalid mount ID \"%s\" (expected 64 lowercase hex digits)", mount_id ? mount_id : "");
      return FALSE;
    }
  if (!is_empty (parent_chain_id))
    {
      if (!_gp_store_check_sha256 (parent_chain_id, "mount parent", error))
        return FALSE;
      g_autoptr (GpLayerRecord) parent = gp_store_get_layer (store, parent_chain_id, error);
      if (parent == NULL)
        return FALSE;
    }
  if (out_existed)
    *out_existed = FALSE;

  g_autofree char *dir = g_build_filename (store->dir, "layerdb", "mounts", name, NULL);
  g_mutex_lock (&store->lock);
  g_autoptr (GError) local = NULL;
  g_autoptr (GpMountRecord) have = NULL;
  gboolean ok = TRUE;
  if (path_exists (dir))
    {
      have = gp_store_get_mount (store, name, &local);
      if (have == NULL)
        {
          /* Unloadable: move it out of the way (into layerdb/tmp, swept). */
          g_autofree char *tmp_parent = g_build_filename (store->dir, "layerdb", "tmp", NULL);
          g_autofree char *junk = NULL;
          ok = _gp_store_ensure_dir (store, "layerdb", "tmp", 0755, error)
               && gp_safeio_make_temp_dir (tmp_parent, "mount-", 0700, &junk, error);
          if (ok && rename (dir, junk) < 0)
            {
              int errsv = errno;
              g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv), "%s: cannot replace: %s", dir,
                           g_strerror (errsv));
              ok = FALSE;
            }
          if (ok)
            ok = gp_safeio_remove_tree (junk, error);
        }
    }
  if (ok && have == NULL)
    {
      g_autofree char *tmp_parent = g_build_filename (store->dir, "layerdb", "tmp", NULL);
      g_autofree char *tmp = NULL;
      g_autofree char *init_id = g_strconcat (mount_id, "-init", NULL);
      gboolean existed = FALSE;
      ok = _gp_store_ensure_dir (store, "layerdb", "tmp", 0755, error)
           && gp_safeio_make_temp_dir (tmp_parent, "mount-", 0755, &tmp, error);
      if (ok)
        {
          g_autoptr (GpSafeDir) tmp_dir = gp_safe_dir_open (tmp, error);
          ok = tmp_dir != NULL
               && write_record_file (tmp_dir, "mount-id", mount_id, error)
               && (!has_init || write_record_file (tmp_dir, "init-id", init_id, error))
               && (is_empty (parent_chain_id) || write_record_file (tmp_dir, "parent", parent_chain_id, error))
               && _gp_store_ensure_dir (store, "layerdb", "mounts", 0755, error)
               && gp_safeio_publish_dir_in (tmp_dir, dir, &existed, error);
          if (!ok)
            gp_safeio_remove_tree (tmp, NULL);
        }
      if (ok && existed)
        {
          have = gp_store_get_mount (store, name, error);
          ok = have != NULL;
        }
    }
  g_mutex_unlock (&store->lock);
  if (!ok)
    return FALSE;
  if (have)
    {
      if (!compare_mount (have, dir, mount_id, parent_chain_id, error))
        return FALSE;
      if (out_existed)
        *out_existed = TRUE;
    }
  return TRUE;
}

/**
 * gp_store_containerd_sibling:
 * @root: a data root, as given
 *
 * Docker with the containerd image store and the distribution's own
 * containerd (Docker 29's packages) keeps its images in that containerd,
 * /var/lib/containerd, beside its data root /var/lib/docker, not under
 * it.  For a Docker data root (a directory with image/ in it) this is the
 * directory containerd/ beside it, by the path as given (on a mounted
 * disk, the disk's own /var/lib/containerd); whether it holds a
 * containerd root is for the caller to see.
 *
 * Returns: (transfer full) (nullable): the path, or %NULL when @root is
 * not a Docker data root
 */
char *
gp_store_containerd_sibling (const char *root)
{
  g_autofree char *image = g_build_filename (root, "image", NULL);
  if (!g_file_test (image, G_FILE_TEST_IS_DIR))
    return NULL;
  g_autofree char *abs = g_canonicalize_filename (root, NULL);
  g_autofree char *parent = g_path_get_dirname (abs);
  if (strcmp (parent, abs) == 0)
    return NULL;
  return g_build_filename (parent, "containerd", NULL);
}
