/* graphpipe - the legacy graph: how a migration rebuilds each legacy
 * layer's tar and turns the legacy tags into references (FORMATS.md §4.9
 * C and G).  Shared by the migration stages (register-layers,
 * migrate-tags) and by the legacy-graph source, which must give the same
 * DiffIDs, warnings and references without writing anything. */
#include "config.h"

#include "gp-graph.h"
#include "gp-digest.h"
#include "gp-error.h"
#include "gp-layerfs-archive.h"
#include "gp-reference.h"
#include "gp-safeio.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

/* ---- layers (§4.9 C) ---- */

typedef struct {
  const GpDriver *driver;
  const char *root;
  const char *v1_id;
  GpLayerDir *dir; /* opened on the first file: an aufs layer with only
                    * empty files needs no diff directory (§8) */
} Opener;

static int
open_layer_file (gpointer user_data, const char *name, gsize name_len, struct stat *out_stat,
                 GError **error)
{
  Opener *o = user_data;
  if (o->dir == NULL)
    {
      o->dir = gp_layer_dir_open_driver (o->driver, o->root, o->v1_id, error);
      if (o->dir == NULL)
        return -1;
    }
  return gp_layer_dir_open_file_full (o->dir, name, name_len, GP_LAYER_OPEN_KEEP_NONBLOCK, out_stat,
                                      error);
}

/**
 * gp_graph_layer_tar_split:
 * @out_absent: (optional): on failure, whether `tar-data.json.gz` does
 *   not exist at all (the fallback is then silent)
 *
 * The tar of legacy layer @v1_id rebuilt from
 * `<root>/graph/<v1_id>/tar-data.json.gz` and @driver's files of the
 * layer (§3.4), streamed to @write; @stats gets its DiffID and sizes.
 * The error messages do not name the file (see
 * gp_graph_layer_fallback()).
 */
gboolean
gp_graph_layer_tar_split (const GpDriver *driver, const char *root, const char *v1_id,
                          GpWriteFunc write, gpointer write_data, GCancellable *cancellable,
                          GpTarSplitStats *stats, gboolean *out_absent, GError **error)
{
  g_autofree char *path = g_build_filename (root, "graph", v1_id, GP_GRAPH_LEGACY_TARDATA, NULL);
  int fd = open (path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  struct stat st;

  if (out_absent != NULL)
    *out_absent = FALSE;
  if (fd < 0 || fstat (fd, &st) < 0 || !S_ISREG (st.st_mode))
    {
      int e = errno;
      if (fd >= 0)
        {
          close (fd);
          e = EINVAL;
        }
      if (out_absent != NULL)
        *out_absent = e == ENOENT;
      g_set_error (error, GP_DATA_ERROR,
                   e == ENOENT ? GP_DATA_ERROR_MISSING : GP_DATA_ERROR_NOT_REGULAR, "%s",
                   e == ENOENT ? "no such file" : e == ELOOP ? "is a symbolic link"
                   : e == EINVAL ? "not a regular file" : g_strerror (e));
      return FALSE;
    }
  g_autofree char *display = g_strdup_printf ("graph/%s/%s", v1_id, GP_GRAPH_LEGACY_TARDATA);
  g_autoptr (GpTarSplitReader) reader = gp_tar_split_reader_new (fd, display,
                                                                 GP_TAR_SPLIT_FLAGS_NONE);
  Opener opener = { driver, root, v1_id, NULL };
  gboolean ok = gp_tar_split_assemble_stat (reader, open_layer_file, &opener, write, write_data,
                                            cancellable, stats, error);
  g_clear_pointer (&opener.dir, gp_layer_dir_unref);
  return ok;
}

/**
 * gp_graph_layer_driver_diff:
 * @parent_v1_id: (nullable): the parent layer, for a driver that keeps
 *   the full root file system in each layer
 *
 * The driver's Diff of legacy layer @v1_id (§2.3), streamed to @write:
 * the fallback when the tar-split data is missing or does not match.
 */
gboolean
gp_graph_layer_driver_diff (const GpDriver *driver, const char *root, const char *v1_id,
                            const char *parent_v1_id, GpWriteFunc write, gpointer write_data,
                            GCancellable *cancellable, GError **error)
{
  g_autoptr (GpLayerDir) layer = gp_layer_dir_open_driver (driver, root, v1_id, error);
  if (layer == NULL)
    return FALSE;
  g_autoptr (GpLayerDir) parent = NULL;
  if (parent_v1_id != NULL && gp_driver_has_full_rootfs (driver))
    {
      parent = gp_layer_dir_open_driver (driver, root, parent_v1_id, error);
      if (parent == NULL)
        {
          g_prefix_error (error, "parent layer %s: ", parent_v1_id);
          return FALSE;
        }
    }
  return gp_archive_driver_diff (driver, layer, parent, write, write_data, cancellable, error);
}

/**
 * gp_graph_layer_fallback:
 * @route_error: (transfer full): why gp_graph_layer_tar_split() failed
 * @absent: its *out_absent
 * @out_warning: (out) (nullable): the warning to report, NULL when the
 *   fallback is silent (no tar-split file, as Docker < 1.8 left it)
 *
 * Whether legacy layer @v1_id is rebuilt from the driver's files after
 * the tar-split route failed (§4.9 C.4): not when it was cancelled nor,
 * under @strict, when the tar-split file exists but does not work (Docker
 * regenerates silently; we warn, or refuse).
 */
gboolean
gp_graph_layer_fallback (const char *v1_id, const char *driver_name, GError *route_error,
                         gboolean absent, gboolean strict, char **out_warning, GError **error)
{
  g_autoptr (GError) route = route_error;
  *out_warning = NULL;
  if (g_error_matches (route, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_propagate_error (error, g_steal_pointer (&route));
      return FALSE;
    }
  if (absent)
    return TRUE;
  g_autofree char *where = g_strdup_printf ("graph/%s/%s", v1_id, GP_GRAPH_LEGACY_TARDATA);
  const char *what = route->message;
  if (g_str_has_prefix (what, where) && g_str_has_prefix (what + strlen (where), ": "))
    what += strlen (where) + 2;
  if (strict)
    {
      g_set_error (error, route->domain, route->code, "%s: %s (refused: strict mode)", where, what);
      return FALSE;
    }
  *out_warning = g_strdup_printf ("%s: %s; the layer is rebuilt from the %s driver's files instead",
                                  where, what, driver_name);
  return TRUE;
}

/* ---- tags (§4.9 G) ---- */

void
gp_graph_legacy_tag_free (GpGraphLegacyTag *tag)
{
  if (tag == NULL)
    return;
  g_free (tag->name);
  g_free (tag->key);
  g_free (tag->v1_id);
  g_free (tag);
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static int
compare_entries (gconstpointer a, gconstpointer b)
{
  const GpRepositoryEntry *ea = *(GpRepositoryEntry *const *) a;
  const GpRepositoryEntry *eb = *(GpRepositoryEntry *const *) b;
  return strcmp (ea->reference, eb->reference);
}

/**
 * gp_graph_load_legacy_tags:
 * @out_absent: (optional): set when there is no such file
 *
 * The entries of `<root>/repositories-<driver>` in the order a migration
 * takes them (§4.9 G: names sorted, then keys), as #GpGraphLegacyTag;
 * empty when the file does not exist.
 */
GPtrArray *
gp_graph_load_legacy_tags (const char *root, const char *driver, gboolean *out_absent,
                           GError **error)
{
  g_autofree char *legacy_name = g_strconcat ("repositories-", driver, NULL);
  g_autofree char *legacy = g_build_filename (root, legacy_name, NULL);
  g_autoptr (GPtrArray) tags = g_ptr_array_new_with_free_func ((GDestroyNotify) gp_graph_legacy_tag_free);
  struct stat st;

  if (out_absent != NULL)
    *out_absent = FALSE;
  if (lstat (legacy, &st) < 0 && errno == ENOENT)
    {
      if (out_absent != NULL)
        *out_absent = TRUE;
      return g_steal_pointer (&tags);
    }
  gsize len;
  g_autofree char *data = gp_safeio_read_file (legacy, 256 * 1024 * 1024, &len, error);
  if (data == NULL)
    return NULL;
  g_autoptr (GpRepositories) old = gp_repositories_load_data (data, len, legacy_name, error);
  if (old == NULL)
    return NULL;
  g_autoptr (GPtrArray) names = gp_repositories_list_names (old);
  g_ptr_array_sort (names, compare_strings);
  for (guint i = 0; i < names->len; i++)
    {
      g_autoptr (GPtrArray) entries = gp_repositories_list_by_name (old, names->pdata[i]);
      g_ptr_array_sort (entries, compare_entries);
      for (guint j = 0; j < entries->len; j++)
        {
          const GpRepositoryEntry *e = entries->pdata[j];
          GpGraphLegacyTag *tag = g_new0 (GpGraphLegacyTag, 1);
          tag->name = g_strdup (names->pdata[i]);
          tag->key = g_strdup (e->reference);
          tag->v1_id = g_strdup (e->image_id);
          g_ptr_array_add (tags, tag);
        }
    }
  return g_steal_pointer (&tags);
}

/**
 * gp_graph_legacy_tag_reference:
 * @out_is_digest: (out): whether the key is a digest (`name@digest`)
 * @out_bad_name: (out) (optional): on failure, whether the name (rather
 *   than the key) is invalid
 *
 * The reference a legacy entry makes (§4.9 G.2-3): the name normalised,
 * a digest key gives `<name>@<digest>`, anything else must be a valid tag.
 */
GpReference *
gp_graph_legacy_tag_reference (const GpGraphLegacyTag *tag, gboolean *out_is_digest,
                               gboolean *out_bad_name, GError **error)
{
  GpDigest digest;
  *out_is_digest = gp_digest_parse (tag->key, -1, &digest, NULL);
  if (out_bad_name != NULL)
    *out_bad_name = FALSE;
  g_autoptr (GpReference) named = gp_reference_with_name (tag->name, error);
  if (named == NULL)
    {
      if (out_bad_name != NULL)
        *out_bad_name = TRUE;
      return NULL;
    }
  return *out_is_digest ? gp_reference_with_digest (tag->name, tag->key, error)
                        : gp_reference_with_tag (tag->name, tag->key, error);
}

/**
 * gp_graph_legacy_tag_add:
 *
 * Adds @ref (made by gp_graph_legacy_tag_reference()) to @repos as a tag
 * or a digest reference to @image_id.
 */
gboolean
gp_graph_legacy_tag_add (GpRepositories *repos, const GpReference *ref, gboolean is_digest,
                         const char *image_id, GError **error)
{
  return is_digest ? gp_repositories_add_digest (repos, ref, image_id, error)
                   : gp_repositories_add_tag (repos, ref, image_id, error);
}
