/* graphpipe - the Docker 1.10+ store: imagedb (image configs by content
 * digest, their parent links). */
#include "config.h"

#include "gp-store.h"
#include "gp-digest.h"
#include "gp-error.h"
#include "gp-safeio.h"
#include "gp-store-private.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>

#define CONFIG_MAX (128 * 1024 * 1024)

/* ---- imagedb ---- */

/* imagedb/<kind>/sha256, opened once into *@slot (the caller holds
 * imagedb_lock and made the directory). */
static GpSafeDir *
imagedb_dir (GpStore *store, GpSafeDir **slot, const char *kind, GError **error)
{
  if (*slot == NULL)
    {
      g_autofree char *path = g_build_filename (store->dir, "imagedb", kind, "sha256", NULL);
      *slot = gp_safe_dir_open (path, error);
    }
  return *slot;
}

static char *
content_path (GpStore *store, const char *image_id)
{
  return g_build_filename (store->dir, "imagedb", "content", "sha256", image_id + 7, NULL);
}

static char *
metadata_dir (GpStore *store, const char *image_id)
{
  return g_build_filename (store->dir, "imagedb", "metadata", "sha256", image_id + 7, NULL);
}

/**
 * gp_store_get_image_config:
 * @store: a store
 * @image_id: an image ID
 * @error: return location for a #GError
 *
 * Reads `imagedb/content/sha256/<hex>` and checks that it hashes to its
 * name, as Docker does on every read.
 *
 * Returns: (transfer full) (nullable): the exact config bytes; free with
 *   g_bytes_unref().  %GP_DATA_ERROR_MISSING if absent,
 *   %GP_DATA_ERROR_VERIFY if the content does not match its name.
 */
GBytes *
gp_store_get_image_config (GpStore *store, const char *image_id, GError **error)
{
  if (!_gp_store_check_sha256 (image_id, "image ID", error))
    return NULL;
  g_autofree char *path = content_path (store, image_id);
  gsize len;
  g_autofree char *data = _gp_store_read_object (path, CONFIG_MAX, &len, "no such image", image_id,
                                                 error);
  if (data == NULL)
    return NULL;
  g_autofree char *digest = gp_sha256_digest_of (data, len);
  if (strcmp (digest, image_id) != 0)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_VERIFY,
                   "%s: failed to verify image: content hashes to %s", path, digest);
      return NULL;
    }
  _gp_store_remember (store, store->known_images, image_id);
  return g_bytes_new_take (g_steal_pointer (&data), len);
}

/**
 * gp_store_has_image:
 * @store: a store
 * @image_id: an image ID
 *
 * Returns: %TRUE if the image's config exists (not verified).
 */
gboolean
gp_store_has_image (GpStore *store, const char *image_id)
{
  if (image_id == NULL || !gp_digest_check_sha256 (image_id, -1, NULL))
    return FALSE;
  g_autofree char *path = content_path (store, image_id);
  struct stat st;
  return lstat (path, &st) == 0 && S_ISREG (st.st_mode);
}

/**
 * gp_store_put_image_config:
 * @store: a store
 * @data: exact config bytes (not empty)
 * @len: their number
 * @error: return location for a #GError
 *
 * Stores a config under its sha256 in `imagedb/content/sha256/` (0600,
 * durably, temp + rename).  If the file exists with the same bytes nothing
 * is written.
 *
 * Returns: (transfer full) (nullable): the image ID; free with g_free().
 */
char *
gp_store_put_image_config (GpStore *store, const void *data, gsize len, GError **error)
{
  if (len == 0)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_INVALID, "Invalid empty data");
      return NULL;
    }
  g_autofree char *id = gp_sha256_digest_of (data, len);
  g_autofree char *path = content_path (store, id);
  g_autoptr (GBytes) have = gp_store_get_image_config (store, id, NULL);
  if (have != NULL)
    {
      if (!gp_safeio_discard_temp_for (path, error))
        return NULL;
      return g_steal_pointer (&id);
    }
  if (!_gp_store_ensure_dir (store, "imagedb", "content", 0700, error)
      || !_gp_store_ensure_dir (store, "imagedb", "content/sha256", 0700, error))
    return NULL;
  g_mutex_lock (&store->imagedb_lock);
  GpSafeDir *dir = imagedb_dir (store, &store->content_dir, "content", error);
  gboolean ok = dir != NULL && gp_safeio_write_file_in (dir, id + 7, data, len, 0600, GP_SAFE_DEFAULT, error);
  g_mutex_unlock (&store->imagedb_lock);
  if (!ok)
    return NULL;
  _gp_store_remember (store, store->known_images, id);
  return g_steal_pointer (&id);
}

/**
 * gp_store_get_image_parent:
 * @store: a store
 * @image_id: an image ID
 * @out_parent: (out) (transfer full) (nullable): the parent image ID, or
 *   %NULL if the image has no `parent` metadata; free with g_free()
 * @error: return location for a #GError
 *
 * Reads `imagedb/metadata/sha256/<hex>/parent` (other metadata keys that
 * later daemons write are ignored).
 *
 * Returns: %TRUE on success (also when there is no parent).
 */
gboolean
gp_store_get_image_parent (GpStore *store, const char *image_id, char **out_parent, GError **error)
{
  if (!_gp_store_check_sha256 (image_id, "image ID", error))
    return FALSE;
  g_autofree char *dir = metadata_dir (store, image_id);
  g_autofree char *path = g_build_filename (dir, "parent", NULL);
  g_autoptr (GError) local = NULL;
  gsize len;
  g_autofree char *data = _gp_store_read_small (path, &len, &local);
  if (data == NULL)
    {
      if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_NOT_FOUND)
          || g_error_matches (local, G_IO_ERROR, G_IO_ERROR_NOT_DIRECTORY))
        {
          *out_parent = NULL;
          return TRUE;
        }
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  if (strlen (data) != len || !gp_digest_check_sha256 (data, -1, error))
    {
      if (error && *error == NULL)
        g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_DIGEST, "NUL byte in digest");
      g_prefix_error (error, "%s: ", path);
      return FALSE;
    }
  *out_parent = g_steal_pointer (&data);
  return TRUE;
}

/* The image's config exists and verifies: read and hashed unless this
 * handle wrote or verified it before (then it only has to be there). */
static gboolean
image_is_there (GpStore *store, const char *image_id, GError **error)
{
  /* As with its directories and layers, a run owns the store. */
  if (_gp_store_is_known (store, store->known_images, image_id))
    return TRUE;
  g_autoptr (GBytes) config = gp_store_get_image_config (store, image_id, error);
  return config != NULL;
}

/**
 * gp_store_set_image_parent:
 * @store: a store
 * @image_id: an image ID (its config must exist and verify)
 * @parent_id: the parent image ID (must exist too)
 * @error: return location for a #GError
 *
 * Writes `imagedb/metadata/sha256/<hex>/parent` (dir 0700, file 0600, no
 * newline) durably; a later call for the same image replaces it (Docker:
 * two legacy images with the same config, the later parent wins).  Same
 * content: nothing written.
 *
 * Returns: %TRUE on success.
 */
gboolean
gp_store_set_image_parent (GpStore *store, const char *image_id, const char *parent_id, GError **error)
{
  if (!_gp_store_check_sha256 (image_id, "image ID", error) || !_gp_store_check_sha256 (parent_id, "parent image ID", error))
    return FALSE;
  if (!image_is_there (store, image_id, error))
    return FALSE;
  if (!image_is_there (store, parent_id, error))
    {
      g_prefix_error (error, "unknown parent image ID %s: ", parent_id);
      return FALSE;
    }
  g_autofree char *dir = metadata_dir (store, image_id);
  g_autofree char *path = g_build_filename (dir, "parent", NULL);
  if (!_gp_store_ensure_dir (store, "imagedb", "metadata", 0700, error)
      || !_gp_store_ensure_dir (store, "imagedb", "metadata/sha256", 0700, error))
    return FALSE;
  /* The image's own directory is made once: not remembered.  Made now,
   * it holds no parent to compare with. */
  g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&store->imagedb_lock);
  GpSafeDir *md = imagedb_dir (store, &store->metadata_dir, "metadata", error);
  gboolean created = FALSE;
  if (md == NULL || !gp_safeio_mkdir_in (md, image_id + 7, 0700, &created, error))
    return FALSE;
  g_autofree char *have = NULL;
  if (!created && gp_store_get_image_parent (store, image_id, &have, NULL) && g_strcmp0 (have, parent_id) == 0)
    return gp_safeio_discard_temp_for (path, error);
  g_autofree char *rel = g_build_filename (image_id + 7, "parent", NULL);
  return gp_safeio_write_file_in (md, rel, parent_id, strlen (parent_id), 0600, GP_SAFE_DEFAULT, error);
}

/**
 * gp_store_list_images:
 * @store: a store
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (element-type utf8): the image IDs of every
 *   regular file named by 64 lowercase hex digits in
 *   `imagedb/content/sha256/`, sorted (not verified); free with
 *   g_ptr_array_unref().  Empty if there is no imagedb.
 */
GPtrArray *
gp_store_list_images (GpStore *store, GError **error)
{
  g_autofree char *dir = g_build_filename (store->dir, "imagedb", "content", "sha256", NULL);
  GPtrArray *out = _gp_store_list_hex_entries (dir, FALSE, error);
  if (out)
    g_ptr_array_sort (out, _gp_store_cmp_strv_items);
  return out;
}

/**
 * gp_store_search_image:
 * @store: a store
 * @term: a full image ID or a unique prefix of its hex, with or without
 *   `sha256:` (`3a1b2c`, `sha256:3a1b2c`)
 * @error: return location for a #GError
 *
 * Docker's image store `Search` (a digest set lookup): a prefix of the
 * lowercase hex, case-sensitive; with an algorithm prefix it must be
 * `sha256`.  No match: %GP_DATA_ERROR_MISSING `No such image: <term>`;
 * several: %GP_DATA_ERROR_REFERENCE listing every candidate.
 *
 * Returns: (transfer full) (nullable): the image ID; free with g_free().
 */
char *
gp_store_search_image (GpStore *store, const char *term, GError **error)
{
  g_autoptr (GPtrArray) all = gp_store_list_images (store, error);
  if (all == NULL)
    return NULL;
  const char *id = NULL;
  if (!gp_image_ids_search_prefix (all, term, &id, error))
    return NULL;
  if (id == NULL)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING, "No such image: %s", term);
      return NULL;
    }
  return g_strdup (id);
}

/**
 * gp_image_ids_search_prefix:
 * @ids: (element-type utf8): image IDs (`sha256:<hex>`)
 * @out_id: (out) (transfer none): the one ID of @ids @term is a prefix
 *   of, NULL when there is none
 *
 * The lookup of gp_store_search_image() over a list of IDs (Docker's
 * digest set): a prefix of the lowercase hex, case-sensitive, with an
 * algorithm only `sha256`.
 *
 * Returns: %FALSE with %GP_DATA_ERROR_REFERENCE listing every candidate
 *   when the prefix is ambiguous
 */
gboolean
gp_image_ids_search_prefix (GPtrArray *ids, const char *term, const char **out_id, GError **error)
{
  const char *hex;
  gboolean alg_ok = gp_digest_prefix_term (term, &hex);
  gsize n = strlen (hex);
  g_autoptr (GPtrArray) hits = g_ptr_array_new ();
  *out_id = NULL;
  if (alg_ok && n > 0 && n <= GP_HEX_SHA256_LEN)
    for (guint i = 0; i < ids->len; i++)
      {
        const char *id = ids->pdata[i];
        if (g_str_has_prefix (id, "sha256:") && strncmp (id + 7, hex, n) == 0)
          g_ptr_array_add (hits, (gpointer) id);
      }
  if (hits->len > 1)
    {
      g_autoptr (GString) list = g_string_new (NULL);
      for (guint i = 0; i < hits->len; i++)
        g_string_append_printf (list, "%s%s", i ? ", " : "", (const char *) hits->pdata[i]);
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_REFERENCE,
                   "image ID prefix \"%s\" is ambiguous: %s", term, list->str);
      return FALSE;
    }
  if (hits->len == 1)
    *out_id = hits->pdata[0];
  return TRUE;
}
