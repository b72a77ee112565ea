/* graphpipe - repositories.json (FORMATS.md §4.5). */
#include "config.h"

#include "gp-store.h"

#include <string.h>

#include <gio/gio.h>

#include "gp-digest.h"
#include "gp-error.h"
#include "gp-json.h"
#include "gp-safeio.h"
#include "gp-store-private.h"

#define REPOS_MAX (256 * 1024 * 1024)

typedef struct {
  gboolean is_null;  /* JSON null: marshalled back as null */
  GTree *refs;       /* reference string -> image ID */
} Repo;

struct _GpRepositories {
  GTree *repos;      /* name -> Repo */
};

static gint
cmp_bytes (gconstpointer a, gconstpointer b, gpointer user_data)
{
  return strcmp (a, b);
}

static void
repo_free (gpointer p)
{
  Repo *r = p;
  g_tree_unref (r->refs);
  g_free (r);
}

static Repo *
repo_new (void)
{
  Repo *r = g_new0 (Repo, 1);
  r->refs = g_tree_new_full (cmp_bytes, NULL, g_free, g_free);
  return r;
}

/**
 * gp_repository_entry_free:
 * @entry: (nullable): an entry
 *
 * Frees @entry.
 */
void
gp_repository_entry_free (GpRepositoryEntry *entry)
{
  if (entry == NULL)
    return;
  g_free (entry->reference);
  g_free (entry->image_id);
  g_free (entry);
}

/**
 * gp_repositories_new:
 *
 * Returns: (transfer full): an empty reference store; free with
 *   gp_repositories_free().
 */
GpRepositories *
gp_repositories_new (void)
{
  GpRepositories *r = g_new0 (GpRepositories, 1);
  r->repos = g_tree_new_full (cmp_bytes, NULL, g_free, repo_free);
  return r;
}

/**
 * gp_repositories_free:
 * @repos: (nullable): a reference store
 *
 * Frees @repos.
 */
void
gp_repositories_free (GpRepositories *repos)
{
  if (repos == NULL)
    return;
  g_tree_unref (repos->repos);
  g_free (repos);
}

static gboolean
no_nul (const char *what, const GString *str, GError **error)
{
  if (memchr (str->str, '\0', str->len) != NULL)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_JSON,
                   "%s: NUL character in a repository name or reference is not supported", what);
      return FALSE;
    }
  return TRUE;
}

/* One repository: reference -> image ID (null reads as ""). */
static gboolean
parse_repo (const char *what, const char *data, const char *raw, gsize len, Repo *repo,
            GError **error)
{
  GpJsonIter iter;
  GString *k;
  const char *value;
  gsize value_len;

  gp_json_object_iter_init (&iter, raw, len);
  while (gp_json_object_iter_next (&iter, &k, &value, &value_len))
    {
      g_autoptr (GString) key = k;
      g_autofree char *id = NULL;
      if (!no_nul (what, key, error)
          || !_gp_store_json_string (what, data, value, value_len, "an image ID string", &id,
                                     error))
        return FALSE;
      g_tree_replace (repo->refs, g_strdup (key->str), id ? g_steal_pointer (&id) : g_strdup (""));
    }
  return TRUE;
}

static gboolean
parse_repositories (const char *what, const char *data, const char *raw, gsize len,
                    GpRepositories *repos, GError **error)
{
  GpJsonIter iter;
  GString *k;
  const char *value;
  gsize value_len;

  gp_json_object_iter_init (&iter, raw, len);
  while (gp_json_object_iter_next (&iter, &k, &value, &value_len))
    {
      g_autoptr (GString) key = k;
      if (!no_nul (what, key, error))
        return FALSE;
      Repo *repo = repo_new ();
      switch (gp_json_kind (value, value_len))
        {
        case GP_JSON_KIND_OBJECT:
          if (!parse_repo (what, data, value, value_len, repo, error))
            {
              repo_free (repo);
              return FALSE;
            }
          break;
        case GP_JSON_KIND_NULL:
          repo->is_null = TRUE;
          break;
        default:
          repo_free (repo);
          return _gp_store_json_type_error (what, data, value, "an object of references", error);
        }
      /* A repeated name replaces the earlier map (Go decodes into a fresh
       * map element). */
      g_tree_replace (repos->repos, g_strdup (key->str), repo);
    }
  return TRUE;
}

/**
 * gp_repositories_load_data:
 * @data: the bytes of a repositories.json
 * @len: their number
 * @what: the file name for messages
 * @error: return location for a #GError
 *
 * Decodes like Docker's reference store (a Go stream decoder): the first
 * JSON value must be an object; what follows it is ignored; its member
 * matching `Repositories` case-insensitively (Go's field matching) is read
 * as name → (reference string → image ID); other members are skipped.
 * Any syntax or type error, or a truncated file, fails with
 * %GP_DATA_ERROR_JSON.
 *
 * Returns: (transfer full) (nullable): the reference store; free with
 *   gp_repositories_free().
 */
GpRepositories *
gp_repositories_load_data (const char *data, gsize len, const char *what, GError **error)
{
  g_autoptr (GpRepositories) repos = gp_repositories_new ();
  gsize start, end;

  if (!gp_json_value_end (data, len, &start, &end, error))
    {
      g_prefix_error (error, "%s: ", what);
      return NULL;
    }
  const char *top = data + start;
  gsize top_len = end - start;
  if (gp_json_kind (top, top_len) != GP_JSON_KIND_OBJECT)
    {
      _gp_store_json_type_error (what, data, top, "an object", error);
      return NULL;
    }

  GpJsonIter iter;
  GString *k;
  const char *value;
  gsize value_len;
  gp_json_object_iter_init (&iter, top, top_len);
  while (gp_json_object_iter_next (&iter, &k, &value, &value_len))
    {
      g_autoptr (GString) key = k;
      if (!gp_json_key_equal_fold ("Repositories", key->str, key->len))
        continue;
      switch (gp_json_kind (value, value_len))
        {
        case GP_JSON_KIND_NULL:
          g_tree_destroy (repos->repos);
          repos->repos = g_tree_new_full (cmp_bytes, NULL, g_free, repo_free);
          break;
        case GP_JSON_KIND_OBJECT:
          if (!parse_repositories (what, data, value, value_len, repos, error))
            return NULL;
          break;
        default:
          _gp_store_json_type_error (what, data, value, "an object of repositories", error);
          return NULL;
        }
    }
  return g_steal_pointer (&repos);
}

/**
 * gp_repositories_load:
 * @path: a repositories.json
 * @error: return location for a #GError
 *
 * Reads and decodes @path (gp_repositories_load_data()).  A missing file
 * gives %G_IO_ERROR_NOT_FOUND.
 *
 * Returns: (transfer full) (nullable): the reference store; free with
 *   gp_repositories_free().
 */
GpRepositories *
gp_repositories_load (const char *path, GError **error)
{
  gsize len;
  g_autofree char *data = gp_safeio_read_file (path, REPOS_MAX, &len, error);
  if (data == NULL)
    return NULL;
  return gp_repositories_load_data (data, len, path, error);
}

static gboolean
add_reference (GpRepositories *repos, const char *name, const char *ref_str, const char *digest,
               const char *image_id, GError **error)
{
  if (strcmp (name, "sha256") == 0)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_REFERENCE,
                   "refusing to create an ambiguous tag using digest algorithm as name");
      return FALSE;
    }
  if (image_id == NULL || !gp_digest_check_sha256 (image_id, -1, error))
    {
      if (image_id == NULL)
        g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_DIGEST, "missing image ID");
      g_prefix_error (error, "%s: ", ref_str);
      return FALSE;
    }
  Repo *repo = g_tree_lookup (repos->repos, name);
  if (repo == NULL)
    {
      repo = repo_new ();
      g_tree_insert (repos->repos, g_strdup (name), repo);
    }
  repo->is_null = FALSE;
  const char *old = g_tree_lookup (repo->refs, ref_str);
  if (old != NULL)
    {
      if (digest)
        g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_CONFLICT, "Cannot overwrite digest %s", digest);
      else
        g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_CONFLICT,
                     "Conflict: Tag %s is already set to image %s, if you want to replace it, please use -f option",
                     ref_str, old);
      return FALSE;
    }
  g_tree_insert (repo->refs, g_strdup (ref_str), g_strdup (image_id));
  return TRUE;
}

/**
 * gp_repositories_add_tag:
 * @repos: a reference store
 * @ref: a tagged or name-only reference (name-only means `latest`)
 * @image_id: the image ID
 * @error: return location for a #GError
 *
 * Docker 1.10.3's `AddTag` without force, in memory: `<name>:<tag>` →
 * @image_id.  Refused: a digest reference, the name `sha256`
 * (%GP_DATA_ERROR_REFERENCE); an existing reference string, even to the same
 * image (%GP_DATA_ERROR_CONFLICT, `Conflict: Tag <ref> is already set to
 * image <id>, …`): the first writer wins.
 *
 * Returns: %TRUE if added.
 */
gboolean
gp_repositories_add_tag (GpRepositories *repos, const GpReference *ref, const char *image_id, GError **error)
{
  if (ref->digest)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_REFERENCE,
                   "refusing to create a tag with a digest reference");
      return FALSE;
    }
  g_autofree char *ref_str = g_strconcat (ref->name, ":", ref->tag ? ref->tag : GP_REFERENCE_DEFAULT_TAG, NULL);
  return add_reference (repos, ref->name, ref_str, NULL, image_id, error);
}

/**
 * gp_repositories_add_digest:
 * @repos: a reference store
 * @ref: a digest reference
 * @image_id: the image ID
 * @error: return location for a #GError
 *
 * Docker 1.10.3's `AddDigest` without force, in memory: `<name>@<digest>`
 * → @image_id.  An existing reference string fails with
 * %GP_DATA_ERROR_CONFLICT `Cannot overwrite digest <digest>`.
 *
 * Returns: %TRUE if added.
 */
gboolean
gp_repositories_add_digest (GpRepositories *repos, const GpReference *ref, const char *image_id,
                            GError **error)
{
  if (ref->digest == NULL)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_REFERENCE, "reference %s has no digest", ref->name);
      return FALSE;
    }
  g_autofree char *ref_str = g_strconcat (ref->name, "@", ref->digest, NULL);
  return add_reference (repos, ref->name, ref_str, ref->digest, image_id, error);
}

static void
remove_reference (GpRepositories *repos, const char *name, const char *ref_str)
{
  Repo *repo = g_tree_lookup (repos->repos, name);
  if (repo)
    {
      g_tree_remove (repo->refs, ref_str);
      if (g_tree_nnodes (repo->refs) == 0)
        g_tree_remove (repos->repos, name);
    }
}

/**
 * gp_repositories_lookup_string:
 * @repos: a reference store
 * @name: the repository name (the key in repositories.json)
 * @reference: the full reference string
 *
 * Returns: (transfer none) (nullable): the image ID stored for
 *   @reference, or %NULL.
 */
const char *
gp_repositories_lookup_string (GpRepositories *repos, const char *name, const char *reference)
{
  Repo *repo = g_tree_lookup (repos->repos, name);
  return repo ? g_tree_lookup (repo->refs, reference) : NULL;
}

/**
 * gp_repositories_lookup:
 * @repos: a reference store
 * @ref: a reference (name-only means `:latest`; with a digest, the digest)
 *
 * Docker's reference store `Get`.
 *
 * Returns: (transfer none) (nullable): the image ID, or %NULL if the
 *   reference does not exist.
 */
const char *
gp_repositories_lookup (GpRepositories *repos, const GpReference *ref)
{
  g_autofree char *ref_str = ref->digest ? g_strconcat (ref->name, "@", ref->digest, NULL)
                             : g_strconcat (ref->name, ":", ref->tag ? ref->tag : GP_REFERENCE_DEFAULT_TAG, NULL);
  return gp_repositories_lookup_string (repos, ref->name, ref_str);
}

static gboolean
collect_names (gpointer key, gpointer value, gpointer data)
{
  g_ptr_array_add (data, g_strdup (key));
  return FALSE;
}

/**
 * gp_repositories_list_names:
 * @repos: a reference store
 *
 * Returns: (transfer full) (element-type utf8): every repository name,
 *   sorted bytewise; free with g_ptr_array_unref().
 */
GPtrArray *
gp_repositories_list_names (GpRepositories *repos)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  g_tree_foreach (repos->repos, collect_names, out);
  return out;
}

static gboolean
collect_entries (gpointer key, gpointer value, gpointer data)
{
  GpRepositoryEntry *e = g_new0 (GpRepositoryEntry, 1);
  e->reference = g_strdup (key);
  e->image_id = g_strdup (value);
  g_ptr_array_add (data, e);
  return FALSE;
}

/**
 * gp_repositories_list_by_name:
 * @repos: a reference store
 * @name: a normalised repository name
 *
 * Docker's `ReferencesByName`: every entry of that repository, sorted
 * bytewise by reference string.
 *
 * Returns: (transfer full) (element-type GpRepositoryEntry): the entries
 *   (possibly none); free with g_ptr_array_unref().
 */
GPtrArray *
gp_repositories_list_by_name (GpRepositories *repos, const char *name)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) gp_repository_entry_free);
  Repo *repo = g_tree_lookup (repos->repos, name);
  if (repo)
    g_tree_foreach (repo->refs, collect_entries, out);
  return out;
}

typedef struct {
  const char *image_id;
  GPtrArray *out;
} RefsFor;

static gboolean
refs_for_ref (gpointer key, gpointer value, gpointer data)
{
  RefsFor *rf = data;
  if (strcmp (value, rf->image_id) != 0)
    return FALSE;
  g_autoptr (GpReference) parsed = gp_reference_parse (key, NULL);
  if (parsed)
    g_ptr_array_add (rf->out, g_strdup (key));
  return FALSE;
}

static gboolean
refs_for_repo (gpointer key, gpointer value, gpointer data)
{
  Repo *repo = value;
  g_tree_foreach (repo->refs, refs_for_ref, data);
  return FALSE;
}

static gint
cmp_items (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/**
 * gp_repositories_references_for_image:
 * @repos: a reference store
 * @image_id: an image ID
 *
 * Docker's `References`: every valid reference string pointing at
 * @image_id, sorted bytewise.
 *
 * Returns: (transfer full) (element-type utf8): the references; free with
 *   g_ptr_array_unref().
 */
GPtrArray *
gp_repositories_references_for_image (GpRepositories *repos, const char *image_id)
{
  RefsFor rf = { image_id, g_ptr_array_new_with_free_func (g_free) };
  g_tree_foreach (repos->repos, refs_for_repo, &rf);
  g_ptr_array_sort (rf.out, cmp_items);
  return rf.out;
}

typedef struct {
  GString *out;
  gboolean first;
} Marshal;

static gboolean
marshal_ref (gpointer key, gpointer value, gpointer data)
{
  Marshal *m = data;
  if (!m->first)
    g_string_append_c (m->out, ',');
  m->first = FALSE;
  gp_json_append_string (m->out, key, strlen (key));
  g_string_append_c (m->out, ':');
  gp_json_append_string (m->out, value, strlen (value));
  return FALSE;
}

static gboolean
marshal_repo (gpointer key, gpointer value, gpointer data)
{
  Marshal *m = data;
  Repo *repo = value;
  if (!m->first)
    g_string_append_c (m->out, ',');
  m->first = FALSE;
  gp_json_append_string (m->out, key, strlen (key));
  g_string_append_c (m->out, ':');
  if (repo->is_null)
    {
      g_string_append (m->out, "null");
      return FALSE;
    }
  Marshal inner = { m->out, TRUE };
  g_string_append_c (m->out, '{');
  g_tree_foreach (repo->refs, marshal_ref, &inner);
  g_string_append_c (m->out, '}');
  return FALSE;
}

/**
 * gp_repositories_to_json:
 * @repos: a reference store
 * @out_len: (out) (optional): the length
 *
 * Go's `json.Marshal` of the store: `{"Repositories":{…}}`, names and
 * reference strings sorted bytewise, strings escaped as Go does, no
 * newline.
 *
 * Returns: (transfer full): the bytes (NUL-terminated); free with g_free().
 */
char *
gp_repositories_to_json (GpRepositories *repos, gsize *out_len)
{
  GString *out = g_string_new ("{\"Repositories\":{");
  Marshal m = { out, TRUE };
  g_tree_foreach (repos->repos, marshal_repo, &m);
  g_string_append (out, "}}");
  if (out_len)
    *out_len = out->len;
  return g_string_free (out, FALSE);
}

/**
 * gp_repositories_save:
 * @repos: a reference store
 * @path: where (normally `<store>/repositories.json`)
 * @error: return location for a #GError
 *
 * Writes gp_repositories_to_json() durably with mode 0600.
 *
 * Returns: %TRUE on success.
 */
gboolean
gp_repositories_save (GpRepositories *repos, const char *path, GError **error)
{
  gsize len;
  g_autofree char *json = gp_repositories_to_json (repos, &len);
  return gp_safeio_write_file (path, json, len, 0600, GP_SAFE_DEFAULT, error);
}

/* ---- store level ---- */

static GpRepositories *
ensure_loaded (GpStore *store, GError **error)
{
  if (store->repos)
    return store->repos;
  g_autofree char *path = g_build_filename (store->dir, "repositories.json", NULL);
  g_autoptr (GError) local = NULL;
  store->repos = gp_repositories_load (path, &local);
  if (store->repos == NULL)
    {
      if (!g_error_matches (local, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return NULL;
        }
      store->repos = gp_repositories_new ();
    }
  return store->repos;
}

/**
 * gp_store_get_repositories:
 * @store: a store
 * @error: return location for a #GError
 *
 * Loads `repositories.json` on first use (a missing file is an empty
 * store; an invalid one an error, as for Docker's daemon).
 *
 * Returns: (transfer none) (nullable): the store's references, owned by
 *   @store.
 */
GpRepositories *
gp_store_get_repositories (GpStore *store, GError **error)
{
  g_mutex_lock (&store->lock);
  GpRepositories *r = ensure_loaded (store, error);
  g_mutex_unlock (&store->lock);
  return r;
}

static gboolean
store_add (GpStore *store, const GpReference *ref, const char *image_id, gboolean digest, GError **error)
{
  g_mutex_lock (&store->lock);
  GpRepositories *repos = ensure_loaded (store, error);
  gboolean ok = repos != NULL;
  if (ok)
    ok = digest ? gp_repositories_add_digest (repos, ref, image_id, error)
                : gp_repositories_add_tag (repos, ref, image_id, error);
  if (ok)
    {
      g_autofree char *path = g_build_filename (store->dir, "repositories.json", NULL);
      g_autofree char *ref_str = digest ? g_strconcat (ref->name, "@", ref->digest, NULL)
                                 : g_strconcat (ref->name, ":", ref->tag ? ref->tag : GP_REFERENCE_DEFAULT_TAG, NULL);
      ok = _gp_store_ensure_dir (store, ".", NULL, 0700, error)
           && gp_repositories_save (repos, path, error);
      if (!ok)
        remove_reference (repos, ref->name, ref_str);
    }
  g_mutex_unlock (&store->lock);
  return ok;
}

/**
 * gp_store_add_tag:
 * @store: a store
 * @ref: a tagged or name-only reference
 * @image_id: the image ID
 * @error: return location for a #GError
 *
 * gp_repositories_add_tag() on the store's references, then rewrites
 * `repositories.json` (0600, durably), as Docker does after every
 * addition.  On a write failure the addition is undone in memory.
 *
 * Returns: %TRUE if added and saved.
 */
gboolean
gp_store_add_tag (GpStore *store, const GpReference *ref, const char *image_id, GError **error)
{
  return store_add (store, ref, image_id, FALSE, error);
}

/**
 * gp_store_add_digest:
 * @store: a store
 * @ref: a digest reference
 * @image_id: the image ID
 * @error: return location for a #GError
 *
 * gp_repositories_add_digest() then rewrites `repositories.json`.
 *
 * Returns: %TRUE if added and saved.
 */
gboolean
gp_store_add_digest (GpStore *store, const GpReference *ref, const char *image_id, GError **error)
{
  return store_add (store, ref, image_id, TRUE, error);
}
