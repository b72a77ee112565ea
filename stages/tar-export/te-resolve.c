/* tar-export: resolving the name arguments (FORMATS.md §7.1).
 *
 * Docker 1.10.3's rules, plus the 1.11 rule for a bare 64-hex image ID.
 * The result is the list of images in the order they were first reached,
 * each with the tagged references attached to it.  Nothing is written
 * before every name is resolved; an unknown or ambiguous name is an error
 * that lists what there is.
 */
#include "config.h"

#include "te-private.h"

#include <string.h>

/* How many candidates an error message lists at most. */
#define MAX_CANDIDATES 12

void
te_image_free (TeImage *image)
{
  if (image == NULL)
    return;
  g_free (image->id);
  g_clear_pointer (&image->tags, g_ptr_array_unref);
  g_free (image);
}

/**
 * te_split_names:
 * @images: names separated by white space or `;`
 *
 * Returns: (transfer full): the non-empty names, in order
 */
char **
te_split_names (const char *images)
{
  g_autoptr (GPtrArray) b = g_ptr_array_new ();
  const char *p = images ? images : "";

  while (*p)
    {
      while (*p && (g_ascii_isspace (*p) || *p == ';'))
        p++;
      const char *start = p;
      while (*p && !g_ascii_isspace (*p) && *p != ';')
        p++;
      if (p > start)
        g_ptr_array_add (b, g_strndup (start, p - start));
    }
  g_ptr_array_add (b, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&b), FALSE);
}

typedef struct {
  GpStore *store;
  GpRepositories *repos;
  GPtrArray *images;   /* TeImage *, in order of first addition */
  GHashTable *by_id;   /* id -> TeImage * (borrowed) */
} Resolver;

static void
add_image (Resolver *r, const char *id, const char *tag)
{
  TeImage *image = g_hash_table_lookup (r->by_id, id);
  if (image == NULL)
    {
      image = g_new0 (TeImage, 1);
      image->id = g_strdup (id);
      image->tags = g_ptr_array_new_with_free_func (g_free);
      g_ptr_array_add (r->images, image);
      g_hash_table_insert (r->by_id, image->id, image);
    }
  if (tag == NULL)
    return;
  for (guint i = 0; i < image->tags->len; i++)
    if (strcmp (g_ptr_array_index (image->tags, i), tag) == 0)
      return;
  g_ptr_array_add (image->tags, g_strdup (tag));
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

/* An image ID or unique prefix of one (Docker's image store Search). */
static gboolean
resolve_prefix (Resolver *r, const char *name, GError **error)
{
  GError *local = NULL;
  g_autofree char *id = gp_store_search_image (r->store, name, &local);
  if (id != NULL)
    {
      add_image (r, id, NULL);
      return TRUE;
    }
  if (!g_error_matches (local, GP_DATA_ERROR, GP_DATA_ERROR_MISSING))
    {
      /* ambiguous: the store's message lists every candidate */
      g_propagate_error (error, local);
      return FALSE;
    }
  g_clear_error (&local);

  g_autoptr (GString) msg = g_string_new (NULL);
  g_string_printf (msg, "No such image: %s", name);
  g_autoptr (GPtrArray) names = gp_repositories_list_names (r->repos);
  append_candidates (msg, "repositories", names);
  g_set_error_literal (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING, msg->str);
  return FALSE;
}

/* "<name>:<tag>" of a stored reference string, re-normalised. */
static char *
tagged_string (const char *reference)
{
  g_autoptr (GpReference) ref = gp_reference_parse (reference, NULL);
  if (ref == NULL || ref->tag == NULL || ref->digest != NULL)
    return NULL;
  return g_strconcat (ref->name, ":", ref->tag, NULL);
}

static gboolean
resolve_one (Resolver *r, const char *name, GError **error)
{
  gsize len = strlen (name);

  /* Docker 1.11: a bare 64-hex argument is an image ID. */
  if (len == GP_HEX_SHA256_LEN && gp_hex_is_lower (name, len))
    {
      g_autofree char *id = g_strconcat ("sha256:", name, NULL);
      if (!gp_store_has_image (r->store, id))
        {
          g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING, "No such image: %s", name);
          return FALSE;
        }
      add_image (r, id, NULL);
      return TRUE;
    }

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
      g_autoptr (GPtrArray) entries = gp_repositories_list_by_name (r->repos, ref->name);
      if (entries == NULL || entries->len == 0)
        return resolve_prefix (r, name, error);
      for (guint i = 0; i < entries->len; i++)
        {
          GpRepositoryEntry *e = g_ptr_array_index (entries, i);
          g_autofree char *tag = tagged_string (e->reference);
          add_image (r, e->image_id, tag);
        }
      return TRUE;
    }

  const char *id = gp_repositories_lookup (r->repos, ref);
  if (id == NULL)
    {
      g_autofree char *full = gp_reference_to_string (ref);
      g_autoptr (GString) msg = g_string_new (NULL);
      g_string_printf (msg, "%s: reference does not exist", full);
      g_autoptr (GPtrArray) entries = gp_repositories_list_by_name (r->repos, ref->name);
      if (entries != NULL && entries->len > 0)
        {
          g_autoptr (GPtrArray) refs = g_ptr_array_new ();
          for (guint i = 0; i < entries->len; i++)
            g_ptr_array_add (refs, ((GpRepositoryEntry *) g_ptr_array_index (entries, i))->reference);
          g_autofree char *what = g_strdup_printf ("%s has", ref->name);
          append_candidates (msg, what, refs);
        }
      else
        {
          g_autoptr (GPtrArray) names = gp_repositories_list_names (r->repos);
          append_candidates (msg, "repositories", names);
        }
      g_set_error_literal (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING, msg->str);
      return FALSE;
    }
  g_autofree char *tag = ref->tag && !ref->digest ? g_strconcat (ref->name, ":", ref->tag, NULL)
                                                  : NULL;
  add_image (r, id, tag);
  return TRUE;
}

/**
 * te_resolve_names:
 * @store: the store
 * @names: the arguments, %NULL-terminated
 * @error: return location for a #GError
 *
 * Resolves every name (FORMATS.md §7.1).
 *
 * Returns: (transfer full) (element-type TeImage): the images in the order
 *   they were first reached, or %NULL with @error set
 */
GPtrArray *
te_resolve_names (GpStore *store, const char *const *names, GError **error)
{
  GpRepositories *repos = gp_store_get_repositories (store, error);
  if (repos == NULL)
    return NULL;

  g_autoptr (GPtrArray) images = g_ptr_array_new_with_free_func ((GDestroyNotify) te_image_free);
  g_autoptr (GHashTable) by_id = g_hash_table_new (g_str_hash, g_str_equal);
  Resolver r = { .store = store, .repos = repos, .images = images, .by_id = by_id };

  gboolean ok = TRUE;
  for (const char *const *n = names; ok && *n != NULL; n++)
    ok = resolve_one (&r, *n, error);
  if (!ok)
    return NULL;
  return g_steal_pointer (&images);
}
