/* graphpipe - distribution metadata (FORMATS.md §4.6). */
#include "config.h"

#include "gp-store.h"

#include <string.h>

#include <gio/gio.h>

#include "gp-digest.h"
#include "gp-error.h"
#include "gp-json.h"
#include "gp-safeio.h"
#include "gp-store-private.h"

#define METADATA_MAX (16 * 1024 * 1024)

/**
 * gp_v2_metadata_free:
 * @meta: (nullable): an element
 *
 * Frees @meta.
 */
void
gp_v2_metadata_free (GpV2Metadata *meta)
{
  if (meta == NULL)
    return;
  g_free (meta->digest);
  g_free (meta->source_repository);
  g_free (meta);
}

static GpV2Metadata *
meta_new (const char *digest, const char *source)
{
  GpV2Metadata *m = g_new0 (GpV2Metadata, 1);
  m->digest = g_strdup (digest ? digest : "");
  m->source_repository = g_strdup (source ? source : "");
  return m;
}

/**
 * gp_v2_metadata_parse:
 * @data: the bytes of a `v2metadata-by-diffid` file
 * @len: their number
 * @what: the file name for messages
 * @error: return location for a #GError
 *
 * Go's `json.Unmarshal` into `[]V2Metadata`: an array (or `null`) of
 * objects whose `Digest` and `SourceRepository` members (matched
 * case-insensitively, unknown ones ignored) are strings; trailing
 * non-whitespace is an error.
 *
 * Returns: (transfer full) (nullable) (element-type GpV2Metadata): the
 *   elements; free with g_ptr_array_unref().
 */
GPtrArray *
gp_v2_metadata_parse (const char *data, gsize len, const char *what, GError **error)
{
  static const char *const fields[] = { "Digest", "SourceRepository" };
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) gp_v2_metadata_free);

  if (!gp_json_validate (data, len, error))
    {
      g_prefix_error (error, "%s: ", what);
      return NULL;
    }
  GpJsonIter iter;
  const char *elem;
  gsize elem_len;
  if (gp_json_is_null (data, len))
    return g_steal_pointer (&out);
  if (!gp_json_array_iter_init (&iter, data, len))
    {
      gsize start;
      gp_json_value_end (data, len, &start, NULL, NULL);
      _gp_store_json_type_error (what, data, data + start, "an array", error);
      return NULL;
    }
  while (gp_json_array_iter_next (&iter, &elem, &elem_len))
    {
      GpV2Metadata *m = meta_new ("", "");
      g_ptr_array_add (out, m);
      if (gp_json_is_null (elem, elem_len))
        continue;
      GpJsonIter members;
      if (!gp_json_object_iter_init (&members, elem, elem_len))
        {
          _gp_store_json_type_error (what, data, elem, "an object", error);
          return NULL;
        }
      GString *k;
      const char *value;
      gsize value_len;
      while (gp_json_object_iter_next (&members, &k, &value, &value_len))
        {
          g_autoptr (GString) key = k;
          char **field = NULL;
          switch (gp_json_match_field (fields, G_N_ELEMENTS (fields), key->str, key->len))
            {
            case 0:
              field = &m->digest;
              break;
            case 1:
              field = &m->source_repository;
              break;
            default:
              continue;
            }
          if (!_gp_store_json_string (what, data, value, value_len, "a string", field, error))
            return NULL;
        }
    }
  return g_steal_pointer (&out);
}

/**
 * gp_v2_metadata_to_json:
 * @list: (element-type GpV2Metadata): elements
 * @out_len: (out) (optional): the length
 *
 * Go's `json.Marshal` of `[]V2Metadata`:
 * `[{"Digest":"…","SourceRepository":"…"},…]`, no newline.
 *
 * Returns: (transfer full): the bytes; free with g_free().
 */
char *
gp_v2_metadata_to_json (GPtrArray *list, gsize *out_len)
{
  GString *out = g_string_new ("[");
  for (guint i = 0; i < list->len; i++)
    {
      GpV2Metadata *m = list->pdata[i];
      if (i)
        g_string_append_c (out, ',');
      g_string_append (out, "{\"Digest\":");
      gp_json_append_string (out, m->digest, strlen (m->digest));
      g_string_append (out, ",\"SourceRepository\":");
      gp_json_append_string (out, m->source_repository, strlen (m->source_repository));
      g_string_append_c (out, '}');
    }
  g_string_append_c (out, ']');
  if (out_len)
    *out_len = out->len;
  return g_string_free (out, FALSE);
}

static char *
diffid_path (GpStore *store, const char *diff_id)
{
  return g_build_filename (store->dir, "distribution", "v2metadata-by-diffid", "sha256", diff_id + 7, NULL);
}

/* distribution/diffid-by-digest/<alg>/<hex>, alg and hex verbatim. */
static char *
digest_path (GpStore *store, const char *digest, GError **error)
{
  GpDigest d;
  if (!gp_digest_parse (digest, -1, &d, error))
    return NULL;
  g_autofree char *alg = g_strndup (digest, (gsize) (d.hex - 1 - digest));
  return g_build_filename (store->dir, "distribution", "diffid-by-digest", alg, d.hex, NULL);
}

/**
 * gp_store_get_v2_metadata:
 * @store: a store
 * @diff_id: a DiffID
 * @error: return location for a #GError
 *
 * Reads `distribution/v2metadata-by-diffid/sha256/<hex>`.
 *
 * Returns: (transfer full) (nullable) (element-type GpV2Metadata): the
 *   elements in file order; free with g_ptr_array_unref().
 *   %GP_DATA_ERROR_MISSING if there is no file.
 */
GPtrArray *
gp_store_get_v2_metadata (GpStore *store, const char *diff_id, GError **error)
{
  if (diff_id == NULL || !gp_digest_check_sha256 (diff_id, -1, error))
    {
      if (diff_id == NULL)
        g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_DIGEST, "missing DiffID");
      return NULL;
    }
  g_autofree char *path = diffid_path (store, diff_id);
  gsize len;
  g_autofree char *data = _gp_store_read_object (path, METADATA_MAX, &len, "no metadata for", diff_id,
                                                 error);
  if (data == NULL)
    return NULL;
  return gp_v2_metadata_parse (data, len, path, error);
}

/**
 * gp_store_add_v2_metadata:
 * @store: a store
 * @diff_id: the layer's DiffID
 * @digest: the blob digest (a valid digest string, §5.1; its algorithm and
 *   hex are used verbatim in the file name, upper case included)
 * @source_repository: (nullable): the source repository (`""`/%NULL for
 *   migrated data)
 * @error: return location for a #GError
 *
 * Docker's `V2MetadataService.Add` (FORMATS.md §4.6): reads the DiffID's
 * array (unreadable or invalid counts as empty), drops elements equal to the
 * new one, appends it, keeps the last %GP_V2_METADATA_MAX, writes
 * `v2metadata-by-diffid/sha256/<hex>`, then `diffid-by-digest/<alg>/<hex>` =
 * @diff_id.  Files 0644, directories 0755, each via temp + rename.
 * Migration treats failures as warnings.
 *
 * Returns: %TRUE on success.
 */
gboolean
gp_store_add_v2_metadata (GpStore *store, const char *diff_id, const char *digest,
                          const char *source_repository, GError **error)
{
  if (diff_id == NULL || !gp_digest_check_sha256 (diff_id, -1, error))
    {
      if (diff_id == NULL)
        g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_DIGEST, "missing DiffID");
      return FALSE;
    }
  g_autofree char *rev_path = digest_path (store, digest, error);
  if (rev_path == NULL)
    return FALSE;
  if (source_repository == NULL)
    source_repository = "";

  g_autofree char *path = diffid_path (store, diff_id);
  g_mutex_lock (&store->lock);
  g_autoptr (GPtrArray) old = NULL;
  {
    gsize len;
    g_autofree char *data = gp_safeio_read_file (path, METADATA_MAX, &len, NULL);
    if (data)
      old = gp_v2_metadata_parse (data, len, path, NULL);
  }
  g_autoptr (GPtrArray) list = g_ptr_array_new_with_free_func ((GDestroyNotify) gp_v2_metadata_free);
  for (guint i = 0; old && i < old->len; i++)
    {
      GpV2Metadata *m = old->pdata[i];
      if (strcmp (m->digest, digest) == 0 && strcmp (m->source_repository, source_repository) == 0)
        continue;
      g_ptr_array_add (list, meta_new (m->digest, m->source_repository));
    }
  g_ptr_array_add (list, meta_new (digest, source_repository));
  if (list->len > GP_V2_METADATA_MAX)
    g_ptr_array_remove_range (list, 0, list->len - GP_V2_METADATA_MAX);

  gsize json_len;
  g_autofree char *json = gp_v2_metadata_to_json (list, &json_len);
  g_autofree char *rev_dir = g_path_get_dirname (rev_path);
  g_autofree char *rev_rel = g_path_get_basename (rev_dir);
  g_autofree char *rev_sub = g_build_filename ("diffid-by-digest", rev_rel, NULL);
  gboolean ok = _gp_store_ensure_dir (store, "distribution", "v2metadata-by-diffid/sha256", 0755, error)
                && gp_safeio_write_file (path, json, json_len, 0644, GP_SAFE_DEFAULT, error)
                && _gp_store_ensure_dir (store, "distribution", rev_sub, 0755, error)
                && gp_safeio_write_file (rev_path, diff_id, strlen (diff_id), 0644, GP_SAFE_DEFAULT, error);
  g_mutex_unlock (&store->lock);
  return ok;
}

/**
 * gp_store_get_diff_id_by_digest:
 * @store: a store
 * @digest: a blob digest
 * @error: return location for a #GError
 *
 * Reads `distribution/diffid-by-digest/<alg>/<hex>`.
 *
 * Returns: (transfer full) (nullable): its content as stored; free with
 *   g_free().  %GP_DATA_ERROR_MISSING if absent.
 */
char *
gp_store_get_diff_id_by_digest (GpStore *store, const char *digest, GError **error)
{
  g_autofree char *path = digest_path (store, digest, error);
  if (path == NULL)
    return NULL;
  g_autoptr (GError) local = NULL;
  char *data = gp_safeio_read_file (path, 4096, NULL, &local);
  if (data == NULL)
    {
      if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING, "%s: no DiffID for %s", path, digest);
      else
        g_propagate_error (error, g_steal_pointer (&local));
    }
  return data;
}
