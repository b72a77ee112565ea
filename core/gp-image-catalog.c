/* graphpipe - resolving image names against what a source holds (see
 * gp-image-catalog.h).
 *
 * The catalog keeps every image ID (for IDs and ID prefixes) and every
 * reference, grouped by repository name and sorted bytewise within it, as
 * Docker's reference store lists them.  Each rule set has its own
 * resolve_*() function; they share the candidate search, the prefix search
 * and the error messages, which list what there is.  The result is the
 * list of images in the order they were first reached, each with the
 * references the names reached.
 */
#include "config.h"

#include "gp-image-catalog.h"

#include <string.h>

#include "gp-digest.h"
#include "gp-error.h"
#include "gp-reference.h"

/* How many candidates an error message lists at most. */
#define MAX_CANDIDATES 12

static gint
cmp_keys (gconstpointer a, gconstpointer b, gpointer data)
{
  return strcmp (a, b);
}

struct _GpImageCatalog {
  GpImageNameRules rules;
  GPtrArray *ids;     /* char *, every image ID once */
  gboolean ids_sorted;
  GHashTable *id_set; /* ID (borrowed from ids) -> itself */
  GHashTable *rank;   /* ID (borrowed) -> order of addition (podman: the store's order) */
  GTree *repos;       /* repository name -> GTree (reference -> image ID) */
};

/**
 * gp_image_catalog_new:
 * @rules: whose rules names are matched by
 *
 * Returns: (transfer full): an empty catalog; free with
 *   gp_image_catalog_free()
 */
GpImageCatalog *
gp_image_catalog_new (GpImageNameRules rules)
{
  GpImageCatalog *c = g_new0 (GpImageCatalog, 1);
  c->rules = rules;
  c->ids = g_ptr_array_new_with_free_func (g_free);
  c->id_set = g_hash_table_new (g_str_hash, g_str_equal);
  c->rank = g_hash_table_new (g_str_hash, g_str_equal);
  c->repos = g_tree_new_full (cmp_keys, NULL, g_free, (GDestroyNotify) g_tree_unref);
  return c;
}

/**
 * gp_image_catalog_free:
 * @catalog: (nullable): a catalog
 */
void
gp_image_catalog_free (GpImageCatalog *catalog)
{
  if (catalog == NULL)
    return;
  g_hash_table_unref (catalog->id_set);
  g_hash_table_unref (catalog->rank);
  g_ptr_array_unref (catalog->ids);
  g_tree_unref (catalog->repos);
  g_free (catalog);
}

/**
 * gp_image_catalog_add_image:
 * @catalog: a catalog
 * @image_id: an image ID the store holds, `sha256:<hex>`
 *
 * Lists an image (once; adding it again does nothing).
 */
void
gp_image_catalog_add_image (GpImageCatalog *catalog, const char *image_id)
{
  if (g_hash_table_contains (catalog->id_set, image_id))
    return;
  char *id = g_strdup (image_id);
  g_ptr_array_add (catalog->ids, id);
  g_hash_table_add (catalog->id_set, id);
  g_hash_table_insert (catalog->rank, id, GUINT_TO_POINTER (catalog->ids->len));
  catalog->ids_sorted = FALSE;
}

/**
 * gp_image_catalog_add_repositories:
 * @catalog: a catalog
 * @repos: a Docker repositories.json (#GpRepositories)
 *
 * Adds every reference of @repos (gp_image_catalog_add_reference()).
 */
void
gp_image_catalog_add_repositories (GpImageCatalog *catalog, GpRepositories *repos)
{
  g_autoptr (GPtrArray) names = gp_repositories_list_names (repos);
  for (guint i = 0; i < names->len; i++)
    {
      g_autoptr (GPtrArray) entries = gp_repositories_list_by_name (repos, names->pdata[i]);
      for (guint j = 0; j < entries->len; j++)
        {
          const GpRepositoryEntry *e = entries->pdata[j];
          gp_image_catalog_add_reference (catalog, e->reference, e->image_id);
        }
    }
}

/**
 * gp_image_catalog_has_image:
 * @catalog: a catalog
 * @image_id: an image ID
 *
 * Returns: whether the image was listed
 */
gboolean
gp_image_catalog_has_image (GpImageCatalog *catalog, const char *image_id)
{
  return g_hash_table_contains (catalog->id_set, image_id);
}

/* The repository part of a stored reference, by the catalog's rules:
 * Docker's normalised name, or (podman, containerd) the text before the
 * digest or tag as it is stored. */
static char *
repository_of (GpImageCatalog *c, const char *reference)
{
  if (c->rules == GP_IMAGE_NAMES_DOCKER)
    {
      g_autoptr (GpReference) ref = gp_reference_parse (reference, NULL);
      return ref != NULL ? g_strdup (ref->name) : NULL;
    }
  const char *at = strchr (reference, '@');
  if (at != NULL)
    return g_strndup (reference, at - reference);
  const char *slash = strrchr (reference, '/');
  const char *colon = strrchr (reference, ':');
  if (colon != NULL && (slash == NULL || colon > slash))
    return g_strndup (reference, colon - reference);
  return g_strdup (reference);
}

/**
 * gp_image_catalog_add_reference:
 * @catalog: a catalog
 * @reference: a reference exactly as the store records it: `name:tag` or
 *   `name@digest` (Docker: the repositories.json key, podman: an entry of
 *   the image's `names` or `digests`, containerd: the image name)
 * @image_id: the image it points at (also listed as an image)
 *
 * Returns: %FALSE (and lists nothing) when @reference is not a valid
 *   reference under the catalog's rules
 */
gboolean
gp_image_catalog_add_reference (GpImageCatalog *catalog, const char *reference,
                                const char *image_id)
{
  g_autofree char *name = repository_of (catalog, reference);
  if (name == NULL || *name == '\0')
    return FALSE;
  GTree *refs = g_tree_lookup (catalog->repos, name);
  if (refs == NULL)
    {
      refs = g_tree_new_full (cmp_keys, NULL, g_free, g_free);
      g_tree_insert (catalog->repos, g_steal_pointer (&name), refs);
    }
  g_autofree char *stored = NULL;
  if (catalog->rules == GP_IMAGE_NAMES_DOCKER)
    {
      /* re-normalised: `<name>:<tag>` or `<name>@<digest>` */
      g_autoptr (GpReference) ref = gp_reference_parse (reference, NULL);
      if (ref->digest == NULL && ref->tag == NULL)
        return FALSE;
      stored = gp_reference_to_string (ref);
    }
  else
    stored = g_strdup (reference);
  g_tree_insert (refs, g_steal_pointer (&stored), g_strdup (image_id));
  gp_image_catalog_add_image (catalog, image_id);
  return TRUE;
}

/* ---- resolving ---------------------------------------------------------- */

typedef struct {
  GpImageCatalog *catalog;
  GPtrArray *images;  /* GpImage *, in order of first addition */
  GHashTable *by_id;  /* id -> GpImage * (borrowed) */
} Resolver;

static void
add_image (Resolver *r, const char *id, const char *reference)
{
  GpImage *image = g_hash_table_lookup (r->by_id, id);
  if (image == NULL)
    {
      image = gp_image_new (id);
      g_ptr_array_add (r->images, image);
      g_hash_table_insert (r->by_id, (gpointer) gp_image_get_id (image), image);
    }
  if (reference != NULL)
    gp_image_add_reference (image, reference);
}

/* Appends " (<what>: a, b, c, …)" listing up to MAX_CANDIDATES strings. */
static void
append_candidates (GString *msg, const char *what, GPtrArray *list)
{
  if (list == NULL || list->len == 0)
    {
      g_string_append_printf (msg, " (%s: none)", what);
      return;
    }
  g_string_append_printf (msg, " (%s: ", what);
  for (guint i = 0; i < list->len && i < MAX_CANDIDATES; i++)
    {
      if (i > 0)
        g_string_append (msg, ", ");
      g_string_append (msg, g_ptr_array_index (list, i));
    }
  if (list->len > MAX_CANDIDATES)
    g_string_append_printf (msg, ", and %u more", list->len - MAX_CANDIDATES);
  g_string_append_c (msg, ')');
}

static gboolean
collect_key (gpointer key, gpointer value, gpointer data)
{
  g_ptr_array_add (data, key);
  return FALSE;
}

/* (transfer container) every repository name, sorted */
static GPtrArray *
repository_names (GpImageCatalog *c)
{
  GPtrArray *out = g_ptr_array_new ();
  g_tree_foreach (c->repos, collect_key, out);
  return out;
}

/* (transfer container) the references of one repository, sorted */
static GPtrArray *
references_of (GpImageCatalog *c, const char *name)
{
  GPtrArray *out = g_ptr_array_new ();
  GTree *refs = g_tree_lookup (c->repos, name);
  if (refs != NULL)
    g_tree_foreach (refs, collect_key, out);
  return out;
}

static const char *
lookup (GpImageCatalog *c, const char *name, const char *reference)
{
  GTree *refs = g_tree_lookup (c->repos, name);
  return refs != NULL ? g_tree_lookup (refs, reference) : NULL;
}

static gint
cmp_strv_items (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* Docker's image store `Search` (a digest set lookup): a unique prefix of
 * the lowercase hex, case-sensitive, with an algorithm only `sha256`.
 * Sets *out_id, or returns FALSE with MISSING (no match: message left to
 * the caller, error unset) or REFERENCE (ambiguous: error set). */
static gboolean
search_prefix (GpImageCatalog *c, const char *term, const char **out_id, GError **error)
{
  *out_id = NULL;
  if (!c->ids_sorted)
    {
      g_ptr_array_sort (c->ids, cmp_strv_items);
      c->ids_sorted = TRUE;
    }
  return gp_image_ids_search_prefix (c->ids, term, out_id, error);
}

static gboolean
no_such_image (Resolver *r, const char *name, GError **error)
{
  g_autoptr (GString) msg = g_string_new (NULL);
  g_string_printf (msg, "No such image: %s", name);
  g_autoptr (GPtrArray) names = repository_names (r->catalog);
  append_candidates (msg, "repositories", names);
  g_set_error_literal (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING, msg->str);
  return FALSE;
}

/* An image ID or unique prefix of one; else "No such image". */
static gboolean
resolve_prefix (Resolver *r, const char *name, GError **error)
{
  const char *id;
  if (!search_prefix (r->catalog, name, &id, error))
    return FALSE;
  if (id == NULL)
    return no_such_image (r, name, error);
  add_image (r, id, NULL);
  return TRUE;
}

/* A bare 64-hex argument is an image ID (Docker 1.11, podman, nerdctl). */
static gboolean
is_full_hex_id (const char *name)
{
  return strlen (name) == GP_HEX_SHA256_LEN && gp_hex_is_lower (name, GP_HEX_SHA256_LEN);
}

static gboolean
resolve_full_hex_id (Resolver *r, const char *name, GError **error)
{
  g_autofree char *id = g_strconcat ("sha256:", name, NULL);
  if (!gp_image_catalog_has_image (r->catalog, id))
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING, "No such image: %s", name);
      return FALSE;
    }
  add_image (r, id, NULL);
  return TRUE;
}

/* ---- Docker ---- */

static gboolean
resolve_docker (Resolver *r, const char *name, GError **error)
{
  GpImageCatalog *c = r->catalog;

  if (is_full_hex_id (name))
    return resolve_full_hex_id (r, name, error);

  g_autoptr (GpReference) ref = gp_reference_parse (name, error);
  if (ref == NULL)
    {
      g_prefix_error (error, "%s: ", name);
      return FALSE;
    }

  /* `sha256:<hex prefix>`: an image ID or unique prefix. */
  if (strcmp (ref->name, "sha256") == 0)
    return resolve_prefix (r, name, error);

  if (gp_reference_is_name_only (ref))
    {
      g_autoptr (GPtrArray) refs = references_of (c, ref->name);
      if (refs->len == 0)
        return resolve_prefix (r, name, error);
      for (guint i = 0; i < refs->len; i++)
        add_image (r, lookup (c, ref->name, refs->pdata[i]), refs->pdata[i]);
      return TRUE;
    }

  g_autofree char *reference = ref->digest != NULL
                                 ? g_strconcat (ref->name, "@", ref->digest, NULL)
                                 : g_strconcat (ref->name, ":", ref->tag, NULL);
  const char *id = lookup (c, ref->name, reference);
  if (id == NULL)
    {
      g_autofree char *full = gp_reference_to_string (ref);
      g_autoptr (GString) msg = g_string_new (NULL);
      g_string_printf (msg, "%s: reference does not exist", full);
      g_autoptr (GPtrArray) refs = references_of (c, ref->name);
      if (refs->len > 0)
        {
          g_autofree char *what = g_strdup_printf ("%s has", ref->name);
          append_candidates (msg, what, refs);
        }
      else
        {
          g_autoptr (GPtrArray) names = repository_names (c);
          append_candidates (msg, "repositories", names);
        }
      g_set_error_literal (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING, msg->str);
      return FALSE;
    }
  add_image (r, id, reference);
  return TRUE;
}

/* ---- podman and containerd: fully qualified names ---- */

/* Splits a name as given into repository, tag and digest (tag `latest`
 * when neither is given). */
static void
split_name (const char *name, char **out_repo, char **out_tag, char **out_digest)
{
  const char *at = strchr (name, '@');
  g_autofree char *base = at != NULL ? g_strndup (name, at - name) : g_strdup (name);
  *out_digest = at != NULL ? g_strdup (at + 1) : NULL;
  *out_tag = NULL;
  const char *slash = strrchr (base, '/');
  char *colon = strrchr (base, ':');
  if (colon != NULL && (slash == NULL || colon > slash))
    {
      *out_tag = g_strdup (colon + 1);
      *colon = '\0';
    }
  if (*out_tag == NULL && *out_digest == NULL)
    *out_tag = g_strdup (GP_REFERENCE_DEFAULT_TAG);
  *out_repo = g_steal_pointer (&base);
}

/* Whether the first path component of a name is a registry (it holds a
 * `.` or `:` or is `localhost`), as containers/image decides. */
static gboolean
has_domain (const char *repo)
{
  const char *slash = strchr (repo, '/');
  if (slash == NULL)
    return FALSE;
  g_autofree char *first = g_strndup (repo, slash - repo);
  return strchr (first, '.') != NULL || strchr (first, ':') != NULL
         || strcmp (first, "localhost") == 0;
}

static char *
stored_form (const char *repo, const char *tag, const char *digest)
{
  return digest != NULL ? g_strconcat (repo, "@", digest, NULL) : g_strconcat (repo, ":", tag, NULL);
}

/* Tries one candidate repository; adds the image it names. */
static gboolean
try_candidate (Resolver *r, const char *repo, const char *tag, const char *digest)
{
  g_autofree char *reference = stored_form (repo, tag, digest);
  const char *id = lookup (r->catalog, repo, reference);
  if (id == NULL)
    return FALSE;
  add_image (r, id, reference);
  return TRUE;
}

static gboolean
reference_missing (Resolver *r, const char *name, const char *repo, GError **error)
{
  g_autoptr (GString) msg = g_string_new (NULL);
  g_string_printf (msg, "%s: image not known", name);
  g_autoptr (GPtrArray) refs = references_of (r->catalog, repo);
  if (refs->len > 0)
    {
      g_autofree char *what = g_strdup_printf ("%s has", repo);
      append_candidates (msg, what, refs);
    }
  else
    {
      g_autoptr (GPtrArray) names = repository_names (r->catalog);
      append_candidates (msg, "repositories", names);
    }
  g_set_error_literal (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING, msg->str);
  return FALSE;
}

/* Looks for an ID prefix when the name could be one; TRUE when it found
 * one or set an error (ambiguous). */
static gboolean
try_prefix (Resolver *r, const char *name, gboolean *out_done, GError **error)
{
  *out_done = FALSE;
  const char *hex;
  if (!gp_digest_prefix_term (name, &hex) || *hex == '\0' || !gp_hex_is_lower (hex, strlen (hex)))
    return TRUE;
  const char *id;
  if (!search_prefix (r->catalog, name, &id, error))
    {
      *out_done = TRUE;
      return FALSE;
    }
  if (id != NULL)
    {
      add_image (r, id, NULL);
      *out_done = TRUE;
    }
  return TRUE;
}

/* ---- podman ---- */

/* Of @hits (pairs: image ID, reference or NULL), the one whose image the
 * store lists first: podman 4.3 (libimage's lookupImageInDigestsAndRepoTags)
 * walks its images in images.json order and takes the first that matches,
 * however many do.  The catalog's order of gp_image_catalog_add_image()
 * is the store's. */
static guint
podman_first (GpImageCatalog *c, GPtrArray *hits)
{
  guint best = 0, best_rank = G_MAXUINT;
  for (guint i = 0; i < hits->len; i += 2)
    {
      guint rank = GPOINTER_TO_UINT (g_hash_table_lookup (c->rank, hits->pdata[i]));
      if (rank < best_rank)
        {
          best_rank = rank;
          best = i;
        }
    }
  return best;
}

typedef struct {
  const char *suffix; /* "@<digest>" */
  GPtrArray *hits;    /* image ID, NULL pairs */
} DigestSearch;

static gboolean
collect_digest (gpointer key, gpointer value, gpointer data)
{
  DigestSearch *d = data;
  if (g_str_has_suffix (key, d->suffix))
    {
      g_ptr_array_add (d->hits, value);
      g_ptr_array_add (d->hits, NULL);
    }
  return FALSE;
}

/* podman 4.3's LookupImage (containers/common libimage, runtime.go), on
 * names stored fully qualified:
 *  1. a full ID (64 hex, or sha256:<64 hex>);
 *  2. the candidates: the name itself (`:latest` added when it has no tag
 *     or digest), and for a short name `localhost/NAME`, then NAME as
 *     Docker normalises it (`docker.io/library/busybox`); a digested
 *     candidate matches an image holding that digest under that
 *     repository (the source adds `repo@digest` for each);
 *  3. a unique ID prefix;
 *  4. for a short name, the first image in the store's order with a name
 *     whose repository is NAME or ends in `/NAME` and the same tag, or
 *     with a digested NAME, the first image recording that digest. */
static gboolean
resolve_podman (Resolver *r, const char *name, GError **error)
{
  GpImageCatalog *c = r->catalog;
  if (is_full_hex_id (name))
    return resolve_full_hex_id (r, name, error);

  g_autofree char *repo = NULL, *tag = NULL, *digest = NULL;
  split_name (name, &repo, &tag, &digest);
  if (*repo == '\0')
    return no_such_image (r, name, error);
  if (try_candidate (r, repo, tag, digest))
    return TRUE;

  gboolean is_short = !has_domain (repo);
  if (is_short)
    {
      g_autofree char *local = g_strconcat ("localhost/", repo, NULL);
      if (try_candidate (r, local, tag, digest))
        return TRUE;
      g_autoptr (GpReference) ref = gp_reference_parse (name, NULL);
      if (ref != NULL && strcmp (ref->name, "sha256") != 0)
        {
          g_autofree char *full = gp_reference_full_name (ref);
          if (strcmp (full, repo) != 0 && try_candidate (r, full, tag, digest))
            return TRUE;
        }
    }

  /* An ID prefix; an ambiguous one only fails when nothing else matches. */
  g_autoptr (GError) ambiguous = NULL;
  gboolean done;
  if (!try_prefix (r, name, &done, &ambiguous))
    done = FALSE;
  if (done)
    return TRUE;

  if (is_short)
    {
      g_autoptr (GPtrArray) hits = g_ptr_array_new_with_free_func (g_free);
      if (digest != NULL)
        {
          /* any image with that digest, whatever its repository */
          g_autoptr (GPtrArray) found = g_ptr_array_new ();
          g_autofree char *suffix = g_strconcat ("@", digest, NULL);
          DigestSearch d = { .suffix = suffix, .hits = found };
          g_autoptr (GPtrArray) names = repository_names (c);
          for (guint i = 0; i < names->len; i++)
            {
              GTree *refs = g_tree_lookup (c->repos, names->pdata[i]);
              g_tree_foreach (refs, collect_digest, &d);
            }
          if (found->len > 0)
            {
              add_image (r, found->pdata[podman_first (c, found)], NULL);
              return TRUE;
            }
        }
      else
        {
          g_autofree char *suffix = g_strconcat ("/", repo, NULL);
          g_autoptr (GPtrArray) names = repository_names (c);
          for (guint i = 0; i < names->len; i++)
            {
              const char *stored = names->pdata[i];
              if (!g_str_has_suffix (stored, suffix))
                continue;
              g_autofree char *reference = stored_form (stored, tag, NULL);
              const char *id = lookup (c, stored, reference);
              if (id == NULL)
                continue;
              g_ptr_array_add (hits, g_strdup (id));
              g_ptr_array_add (hits, g_steal_pointer (&reference));
            }
          if (hits->len > 0)
            {
              guint i = podman_first (c, hits);
              add_image (r, hits->pdata[i], hits->pdata[i + 1]);
              return TRUE;
            }
        }
    }
  if (ambiguous != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&ambiguous));
      return FALSE;
    }
  return reference_missing (r, name, repo, error);
}

static gboolean
resolve_containerd (Resolver *r, const char *name, GError **error)
{
  if (is_full_hex_id (name))
    return resolve_full_hex_id (r, name, error);

  g_autofree char *repo = NULL, *tag = NULL, *digest = NULL;
  split_name (name, &repo, &tag, &digest);
  if (*repo != '\0' && try_candidate (r, repo, tag, digest))
    return TRUE;

  /* The name normalised as Docker does: docker.io/library/busybox:latest */
  g_autoptr (GpReference) ref = gp_reference_parse (name, NULL);
  g_autofree char *full = NULL;
  if (ref != NULL && strcmp (ref->name, "sha256") != 0)
    {
      full = gp_reference_full_name (ref);
      if (try_candidate (r, full, ref->tag != NULL ? ref->tag : GP_REFERENCE_DEFAULT_TAG,
                         ref->digest))
        return TRUE;
    }

  gboolean done;
  if (!try_prefix (r, name, &done, error))
    return FALSE;
  if (done)
    return TRUE;
  return reference_missing (r, name, full != NULL ? full : repo, error);
}

/**
 * gp_image_catalog_resolve:
 * @catalog: a catalog
 * @names: the arguments, %NULL-terminated
 * @error: return location for a #GError
 *
 * Resolves every name by the catalog's rules (#GpImageNameRules).  An
 * unknown name is %GP_DATA_ERROR_MISSING, an ambiguous one
 * %GP_DATA_ERROR_REFERENCE; both messages list what the store holds.
 *
 * Returns: (transfer full) (element-type GpImage): the images in the
 *   order they were first reached, each with its ID and the references
 *   the names reached (as the store records them), or %NULL with @error
 *   set
 */
GPtrArray *
gp_image_catalog_resolve (GpImageCatalog *catalog, const char *const *names, GError **error)
{
  g_autoptr (GPtrArray) images = g_ptr_array_new_with_free_func ((GDestroyNotify) gp_image_unref);
  g_autoptr (GHashTable) by_id = g_hash_table_new (g_str_hash, g_str_equal);
  Resolver r = { .catalog = catalog, .images = images, .by_id = by_id };

  for (const char *const *n = names; *n != NULL; n++)
    {
      gboolean ok;
      switch (catalog->rules)
        {
        case GP_IMAGE_NAMES_PODMAN:
          ok = resolve_podman (&r, *n, error);
          break;
        case GP_IMAGE_NAMES_CONTAINERD:
          ok = resolve_containerd (&r, *n, error);
          break;
        case GP_IMAGE_NAMES_DOCKER:
        default:
          ok = resolve_docker (&r, *n, error);
          break;
        }
      if (!ok)
        return NULL;
    }
  return g_steal_pointer (&images);
}
