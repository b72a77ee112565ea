/* tar-export: write images of a Docker 1.10+ store as a `docker save`
 * tarball, streaming, without a daemon (FORMATS.md §7). */
#include "config.h"

#include "te-private.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static const GpOption options[] = {
  { .key = "images", .type = GP_OPTION_STRING, .flags = GP_OPTION_FLAG_REQUIRED,
    .help = "Names to save, separated by spaces or ';': name (all its tags), name:tag, "
            "name@digest, image ID or unique ID prefix" },
  { .key = "output", .type = GP_OPTION_PATH, .default_value = "-",
    .help = "Output file, or - for standard output (refused when it is a terminal)" },
  { .key = "compress", .type = GP_OPTION_ENUM, .default_value = "auto",
    .choices = GP_STAGE_STRV ("auto", "none", "gzip"),
    .help = "gzip the tarball on all cores; auto: when the output name ends in .gz or .tgz" },
  { NULL }
};

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* Without --driver: the driver whose 1.10+ image store is under
 * <root>/image/ (a directory holding imagedb/ or repositories.json).  With
 * several, the one whose driver directory <root>/<driver> exists; if that
 * does not single one out, the user must choose. */
static gboolean
ensure_driver (GpContext *ctx, GError **error)
{
  const char *driver = gp_context_get_driver (ctx);
  /* The store's root (--target of an earlier run, or the data root) and
   * the root holding the driver's directories (--layers-from). */
  const char *root = gp_context_get_store_root (ctx);
  const char *layers_root = gp_context_get_layers_root (ctx);
  if (root == NULL || *root == '\0')
    return TRUE; /* gp_context_get_store() reports a missing root */

  g_autofree char *image = g_build_filename (root, "image", NULL);
  if (driver != NULL && *driver != '\0')
    {
      /* A driver whose store is not there, named with what is. */
      g_autofree char *store = g_build_filename (image, driver, NULL);
      gboolean exists;
      if (!gp_path_probe (store, &exists, error))
        return FALSE;
      if (!exists)
        {
          g_auto (GStrv) found = gp_driver_list_stores (root);
          g_autofree char *list = g_strjoinv (", ", found);
          g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING, "%s: no image/%s store (it holds: %s)",
                       root, driver, found[0] != NULL ? list : "no image store");
          return FALSE;
        }
      return TRUE;
    }

  g_autoptr (GPtrArray) stores = g_ptr_array_new_with_free_func (g_free);
  int fd = open (image, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 && errno != ENOENT)
    {
      int e = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "%s: cannot read it: %s", image,
                   g_strerror (e));
      return FALSE;
    }
  if (fd >= 0)
    close (fd);
  g_autoptr (GDir) dir = g_dir_open (image, 0, NULL);
  const char *name;
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *imagedb = g_build_filename (image, name, "imagedb", NULL);
      g_autofree char *repos = g_build_filename (image, name, "repositories.json", NULL);
      if (g_file_test (imagedb, G_FILE_TEST_IS_DIR) || g_file_test (repos, G_FILE_TEST_IS_REGULAR))
        g_ptr_array_add (stores, g_strdup (name));
    }
  g_ptr_array_sort (stores, compare_strings);

  if (stores->len == 0)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING,
                   "%s: no Docker 1.10+ image store found (expected image/<driver>/imagedb)", root);
      return FALSE;
    }
  const char *chosen = NULL;
  if (stores->len == 1)
    chosen = g_ptr_array_index (stores, 0);
  else
    {
      guint n_homes = 0;
      for (guint i = 0; i < stores->len; i++)
        {
          g_autofree char *home = g_build_filename (layers_root, g_ptr_array_index (stores, i), NULL);
          if (g_file_test (home, G_FILE_TEST_IS_DIR))
            {
              chosen = g_ptr_array_index (stores, i);
              n_homes++;
            }
        }
      if (n_homes != 1)
        {
          g_ptr_array_add (stores, NULL);
          g_autofree char *list = g_strjoinv (", ", (char **) stores->pdata);
          g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_CONFLICT,
                       "%s: image stores of several drivers (%s): choose one with --driver",
                       root, list);
          return FALSE;
        }
    }
  gp_context_set_driver (ctx, chosen);
  return TRUE;
}

static gboolean
tar_export_prepare (GpStage *stage, GpContext *ctx, GError **error)
{
  const char *images = gp_stage_get_string (stage, "images");
  g_auto (GStrv) names = te_split_names (images);
  if (names[0] == NULL)
    {
      g_set_error_literal (error, GP_PRESET_ERROR, GP_PRESET_ERROR_BAD_VALUE,
                           "images: no image names given");
      return FALSE;
    }
  const char *output = gp_stage_get_string (stage, "output");
  return te_output_check (output, !gp_context_get_dry_run (ctx), error);
}

static gboolean
tar_export_run (GpStage *stage, GpContext *ctx, GError **error)
{
  g_auto (GStrv) names = te_split_names (gp_stage_get_string (stage, "images"));
  const char *output = gp_stage_get_string (stage, "output");
  const char *compress = gp_stage_get_string (stage, "compress");

  if (!ensure_driver (ctx, error))
    return FALSE;
  GpStore *store = gp_context_get_store (ctx, error);
  if (store == NULL)
    return FALSE;

  /* Every name is resolved before anything is opened or written. */
  g_autoptr (GPtrArray) images = te_resolve_names (store, (const char *const *) names, error);
  if (images == NULL)
    return FALSE;

  return te_export (ctx, store, images, output, te_output_wants_gzip (output, compress), error);
}

GP_STAGE_DEFINE (
  .name = "tar-export",
  .description = "Write images of a Docker 1.10+ store as a docker save tarball",
  .requires = GP_STAGE_STRV ("store"),
  .options = options,
  .prepare = tar_export_prepare,
  .run = tar_export_run)
