/* rewrite-containers - point legacy containers at the migrated images.
 *
 * FORMATS.md §4.9 F, §4.3, §4.7.  For every `containers/<id>` (sorted)
 * without a `config.v2.json`: the legacy `config.json` with `Image`
 * replaced by the new image ID becomes `config.v2.json`, and a layerdb
 * mount record (`mount-id`, `init-id`, `parent`) is created for its
 * read-write layer.  A container whose image did not migrate is reported
 * and left as it was.  A config without an `Image` key (or with
 * `"Image":null`) stops the migration here, as Docker does: neither the
 * remaining containers nor the tags are migrated.
 *
 * With a target (--target) the legacy containers are read from the
 * source root and each `config.v2.json` is written to
 * `<target>/containers/<id>/`.
 *
 * Crash safety: the mount record is written before `config.v2.json`,
 * whose presence marks a container as done, so a killed run leaves no
 * container marked done without its mount.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <graphpipe.h>

#include "migrate-common.h"

#define CONFIG_LEGACY "config.json"
#define CONFIG_V2 "config.v2.json"

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static void
container_warning (GpContext *ctx, const char *counter, const char *format, ...) G_GNUC_PRINTF (3, 4);

static void
container_warning (GpContext *ctx, const char *counter, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *message = g_strdup_vprintf (format, args);
  va_end (args);
  gp_context_report (ctx, GP_REPORT_WARNING, NULL, "%s", message);
  gp_context_add_counter (ctx, counter, 1);
}

/* The ChainID of an image's layers ("" without layers); FALSE when the
 * image cannot be loaded (Docker then aborts). */
static gboolean
image_chain_id (GpStore *store, const char *image_id, char **out_chain, GError **error)
{
  g_autoptr (GBytes) data = gp_store_get_image_config (store, image_id, error);
  if (data == NULL)
    return FALSE;
  g_autoptr (GpImageConfig) config = gp_image_config_parse (g_bytes_get_data (data, NULL),
                                                            g_bytes_get_size (data), error);
  if (config == NULL)
    return FALSE;
  if (config->diff_ids == NULL || config->diff_ids->len == 0)
    {
      *out_chain = g_strdup ("");
      return TRUE;
    }
  g_autoptr (GPtrArray) ids = g_ptr_array_new ();
  for (guint i = 0; i < config->diff_ids->len; i++)
    g_ptr_array_add (ids, ((GString *) config->diff_ids->pdata[i])->str);
  *out_chain = gp_chain_id_for_list ((const char *const *) ids->pdata, ids->len);
  return TRUE;
}

/* A container done by an earlier run whose read-write layer the driver
 * lacked then (Docker writes config.v2.json without the mount record and
 * never comes back to it): once the layer is there, the record an
 * uninterrupted run would have written.  FALSE (with @error) when it
 * cannot be written. */
static gboolean
restore_mount (GpContext *ctx, GpStore *store, const GpDriver *driver, const char *v2_path,
               const char *id, GError **error)
{
  g_autofree char *mount_dir = g_build_filename (gp_store_get_dir (store), "layerdb", "mounts", id, NULL);
  struct stat st;
  if (lstat (mount_dir, &st) == 0 || errno != ENOENT
      || !gp_driver_layer_exists (driver, gp_context_get_root (ctx), id))
    return TRUE;

  gsize len;
  g_autofree char *data = gp_safeio_read_file (v2_path, GP_GRAPH_MAX_JSON_SIZE, &len, NULL);
  g_autoptr (GpJsonRawObject) obj = data != NULL ? gp_json_raw_object_parse (data, len, NULL) : NULL;
  g_autoptr (GString) image = NULL;
  g_autofree char *chain = NULL;
  if (obj == NULL || gp_container_json_get_image (obj, &image) != GP_CONTAINER_IMAGE_STRING
      || memchr (image->str, '\0', image->len) != NULL || !image_chain_id (store, image->str, &chain, NULL)
      || (chain[0] != '\0' && !gp_store_has_layer (store, chain)))
    return TRUE; /* not one of ours to complete */

  g_autofree char *init_id = g_strconcat (id, "-init", NULL);
  gboolean has_init = gp_driver_layer_exists (driver, gp_context_get_root (ctx), init_id);
  if (!gp_store_create_mount (store, id, id, has_init, chain[0] ? chain : NULL, NULL, error))
    {
      g_prefix_error (error, "containers/%s: ", id);
      return FALSE;
    }
  mig_crash_point (ctx, "container mount written");
  mig_info (ctx, id, "created the read-write layer record of container %s, whose layer is back", id);
  return TRUE;
}

/* One container.  FALSE (with @error) aborts the rest of the migration. */
static gboolean
migrate_container (GpContext *ctx, GpStore *store, const GpDriver *driver, const char *dir,
                   const char *id, GError **error)
{
  gboolean dry_run = gp_context_get_dry_run (ctx);
  g_autofree char *source_v2_path = g_build_filename (dir, id, CONFIG_V2, NULL);
  g_autofree char *v2_path = g_build_filename (gp_store_get_containers_dir (store), id, CONFIG_V2, NULL);
  g_autofree char *legacy_path = g_build_filename (dir, id, CONFIG_LEGACY, NULL);
  g_autoptr (GError) local_error = NULL;
  struct stat st;

  /* F.1 (stat follows symlinks, as Go's os.Stat); with --target, a
   * container the source root already has a config.v2.json for is done
   * too. */
  if (stat (v2_path, &st) == 0 || stat (source_v2_path, &st) == 0)
    {
      gp_context_add_counter (ctx, MIG_CONTAINERS_SKIPPED, 1);
      if (!dry_run && stat (v2_path, &st) == 0
          && (strcmp (v2_path, source_v2_path) == 0 || stat (source_v2_path, &st) < 0))
        return restore_mount (ctx, store, driver, v2_path, id, error);
      return TRUE;
    }
  if (dry_run)
    {
      gp_context_add_counter (ctx, "dry run: containers to migrate", 1);
      return TRUE;
    }

  /* F.2 */
  gsize len;
  g_autofree char *data = gp_safeio_read_file (legacy_path, GP_GRAPH_MAX_JSON_SIZE, &len, &local_error);
  g_autoptr (GpJsonRawObject) obj = NULL;
  if (data != NULL)
    obj = gp_json_raw_object_parse (data, len, &local_error);
  if (obj == NULL)
    {
      container_warning (ctx, MIG_CONTAINERS_FAILED, "containers/%s: not migrated: %s", id,
                         local_error->message);
      return TRUE;
    }

  /* F.3 */
  g_autoptr (GString) old_image = NULL;
  switch (gp_container_json_get_image (obj, &old_image))
    {
    case GP_CONTAINER_IMAGE_ABSENT:
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_INVALID,
                   "containers/%s/%s: no \"Image\" key: invalid container configuration; "
                   "as Docker, the remaining containers and the tags are not migrated", id,
                   CONFIG_LEGACY);
      return FALSE;
    case GP_CONTAINER_IMAGE_NULL:
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_INVALID,
                   "containers/%s/%s: \"Image\" is null (Docker 1.10.3 crashes here); "
                   "the remaining containers and the tags are not migrated", id, CONFIG_LEGACY);
      return FALSE;
    case GP_CONTAINER_IMAGE_NOT_STRING:
      container_warning (ctx, MIG_CONTAINERS_FAILED, "containers/%s/%s: \"Image\" is not a string; "
                         "container not migrated", id, CONFIG_LEGACY);
      return TRUE;
    case GP_CONTAINER_IMAGE_STRING:
    default:
      break;
    }

  /* F.4 */
  const char *image_id = memchr (old_image->str, '\0', old_image->len) == NULL
                           ? gp_context_lookup_image_id (ctx, old_image->str) : NULL;
  if (image_id == NULL)
    {
      g_autoptr (GString) shown = g_string_new (NULL);
      gp_json_append_string (shown, old_image->str, old_image->len);
      container_warning (ctx, MIG_CONTAINERS_SKIPPED,
                         "containers/%s: image %s was not migrated; the container is left as it was",
                         id, shown->str);
      return TRUE;
    }

  /* F.6: the image must load (Docker aborts otherwise). */
  g_autofree char *chain = NULL;
  if (!image_chain_id (store, image_id, &chain, error))
    {
      g_prefix_error (error, "containers/%s: image %s: ", id, image_id);
      return FALSE;
    }

  /* F.7 first (see the top comment), F.5 last. */
  gboolean mounted = FALSE;
  if (!gp_driver_layer_exists (driver, gp_context_get_root (ctx), id))
    g_set_error (&local_error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING,
                 "the %s driver has no layer %s", gp_driver_get_name (driver), id);
  else if (chain[0] != '\0' && !gp_store_has_layer (store, chain))
    g_set_error (&local_error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING, "layer %s does not exist", chain);
  else
    {
      g_autofree char *init_id = g_strconcat (id, "-init", NULL);
      gboolean has_init = gp_driver_layer_exists (driver, gp_context_get_root (ctx), init_id);
      mounted = gp_store_create_mount (store, id, id, has_init, chain[0] ? chain : NULL, NULL, &local_error);
      /* A write that failed (disk full, read-only file system) is not
       * Docker's "cannot create the layer": config.v2.json would mark the
       * container as done and a later run would never write the mount. */
      if (!mounted && local_error->domain == G_IO_ERROR)
        {
          g_propagate_prefixed_error (error, g_steal_pointer (&local_error), "containers/%s: ", id);
          return FALSE;
        }
    }

  mig_crash_point (ctx, "container mount written");
  g_autoptr (GBytes) v2 = gp_container_json_set_image (obj, image_id);
  g_autofree char *v2_dir = g_path_get_dirname (v2_path);
  if (gp_context_get_target (ctx) != NULL && !gp_safeio_mkdir_p (v2_dir, 0700, error))
    return FALSE;
  if (!gp_safeio_write_file (v2_path, g_bytes_get_data (v2, NULL), g_bytes_get_size (v2), 0600,
                             GP_SAFE_DEFAULT, error))
    return FALSE;

  mig_crash_point (ctx, "container config.v2.json written");
  if (!mounted)
    {
      container_warning (ctx, MIG_CONTAINERS_FAILED, "containers/%s: could not create its read-write "
                         "layer record: %s (%s written, as Docker does)", id, local_error->message,
                         CONFIG_V2);
      return TRUE;
    }
  gp_context_add_counter (ctx, MIG_CONTAINERS_MIGRATED, 1);
  mig_info (ctx, id, "migrated container %s to point to %s", id, image_id);
  return TRUE;
}

static gboolean
rewrite_containers_run (GpStage *stage, GpContext *ctx, GError **error)
{
  GpGraph *graph = mig_get_graph (ctx, error);
  if (graph == NULL)
    return FALSE;
  if (!gp_graph_has_graph_dir (graph))
    return TRUE;

  gp_context_add_counter (ctx, MIG_CONTAINERS_MIGRATED, 0);
  gp_context_add_counter (ctx, MIG_CONTAINERS_SKIPPED, 0);
  gp_context_add_counter (ctx, MIG_CONTAINERS_FAILED, 0);

  GpStore *store = mig_get_store (ctx, error);
  if (store == NULL)
    return FALSE;
  const GpDriver *driver = gp_driver_lookup (gp_context_get_driver (ctx), error);
  if (driver == NULL)
    return FALSE;

  /* A missing directory counts as empty (the daemon always creates it). */
  g_autofree char *dir = g_build_filename (gp_context_get_root (ctx), "containers", NULL);
  g_autoptr (GError) list_error = NULL;
  g_autoptr (GDir) d = g_dir_open (dir, 0, &list_error);
  if (d == NULL)
    {
      if (g_error_matches (list_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return TRUE;
      g_propagate_prefixed_error (error, g_steal_pointer (&list_error), "%s: ", dir);
      return FALSE;
    }
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  while ((name = g_dir_read_name (d)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_strings);

  for (guint i = 0; i < names->len; i++)
    {
      if (gp_context_set_error_if_cancelled (ctx, error))
        return FALSE;
      if (!migrate_container (ctx, store, driver, dir, names->pdata[i], error))
        return FALSE;
    }
  mig_update_clock (ctx);
  return TRUE;
}

GP_STAGE_DEFINE (
  .name = "rewrite-containers",
  .description = "Point legacy containers at the migrated images (config.v2.json, layerdb mounts)",
  .requires = GP_STAGE_STRV ("images", "v1-mapping"),
  .run = rewrite_containers_run)
