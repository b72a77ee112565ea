/* example - a minimal graphpipe stage to copy.
 *
 * It walks a directory (by default the data root), counts the files,
 * directories and bytes under each top-level entry, reports each entry as
 * an item-done event, adds the totals to the run's counters, and leaves
 * the counts for later stages in the context slot "example.counts": a
 * GVariant of type a{s(ttt)} (entry name -> files, directories, bytes).
 *
 * It uses only <graphpipe.h>, so it builds in the graphpipe tree and out
 * of tree alike (see Makefile beside it):
 *
 *   cc -shared -fPIC -o example.so example.c \
 *      $(pkg-config --cflags --libs graphpipe-1.0)
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <graphpipe.h>

#define SLOT_KEY "example.counts"

typedef struct {
  char *name;
  guint64 files;   /* everything that is not a directory */
  guint64 dirs;
  guint64 bytes;   /* sizes of regular files */
} Entry;

static void
entry_free (Entry *e)
{
  g_free (e->name);
  g_free (e);
}

static const GpOption example_options[] = {
  { .key = "path", .type = GP_OPTION_PATH, .default_value = "${root}",
    .help = "Directory to walk" },
  { .key = "sort", .type = GP_OPTION_ENUM, .default_value = "name",
    .choices = GP_STAGE_STRV ("name", "bytes"),
    .help = "Report entries by name or by decreasing size" },
  { .key = "include-hidden", .type = GP_OPTION_BOOL, .default_value = "false",
    .help = "Also count top-level entries whose name starts with a dot" },
  { .key = "limit", .type = GP_OPTION_INT, .default_value = "0",
    .help = "Report at most this many entries (0: all)" },
  { NULL }
};

static gboolean
example_prepare (GpStage *stage, GpContext *ctx, GError **error)
{
  const char *path = gp_stage_get_string (stage, "path");

  if (!g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_DIRECTORY,
                   "%s: not a directory", path);
      return FALSE;
    }
  if (gp_stage_get_int (stage, "limit") < 0)
    {
      g_set_error (error, GP_PRESET_ERROR, GP_PRESET_ERROR_BAD_VALUE,
                   "limit: must be 0 or more");
      return FALSE;
    }
  return TRUE;
}

/* Adds everything beneath dir (not following symlinks) to e. */
static gboolean
walk (GpContext *ctx, const char *dir, Entry *e, GError **error)
{
  if (gp_context_set_error_if_cancelled (ctx, error))
    return FALSE;

  g_autoptr (GError) dir_error = NULL;
  g_autoptr (GDir) d = g_dir_open (dir, 0, &dir_error);
  if (d == NULL)
    {
      gp_context_report (ctx, GP_REPORT_WARNING, dir, "cannot read: %s",
                         dir_error->message);
      return TRUE;
    }

  const char *name;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      struct stat st;
      if (lstat (path, &st) != 0)
        {
          gp_context_report (ctx, GP_REPORT_WARNING, path, "%s", g_strerror (errno));
          continue;
        }
      if (S_ISDIR (st.st_mode))
        {
          e->dirs++;
          if (!walk (ctx, path, e, error))
            return FALSE;
        }
      else
        {
          e->files++;
          if (S_ISREG (st.st_mode))
            e->bytes += (guint64) st.st_size;
        }
    }
  return TRUE;
}

static int
compare_by_name (gconstpointer a, gconstpointer b)
{
  const Entry *ea = *(const Entry *const *) a;
  const Entry *eb = *(const Entry *const *) b;
  return strcmp (ea->name, eb->name);
}

static int
compare_by_bytes (gconstpointer a, gconstpointer b)
{
  const Entry *ea = *(const Entry *const *) a;
  const Entry *eb = *(const Entry *const *) b;
  if (ea->bytes != eb->bytes)
    return ea->bytes > eb->bytes ? -1 : 1;
  return strcmp (ea->name, eb->name);
}

static gboolean
example_run (GpStage *stage, GpContext *ctx, GError **error)
{
  const char *root = gp_stage_get_string (stage, "path");
  gboolean hidden = gp_stage_get_bool (stage, "include-hidden");
  gint64 limit = gp_stage_get_int (stage, "limit");

  g_autoptr (GDir) d = g_dir_open (root, 0, error);
  if (d == NULL)
    return FALSE;

  g_autoptr (GPtrArray) entries = g_ptr_array_new_with_free_func ((GDestroyNotify) entry_free);
  const char *name;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      if (name[0] == '.' && !hidden)
        continue;
      g_autofree char *path = g_build_filename (root, name, NULL);
      struct stat st;
      if (lstat (path, &st) != 0)
        {
          gp_context_report (ctx, GP_REPORT_WARNING, name, "%s", g_strerror (errno));
          continue;
        }
      Entry *e = g_new0 (Entry, 1);
      e->name = g_strdup (name);
      g_ptr_array_add (entries, e);
      if (S_ISDIR (st.st_mode))
        {
          if (!walk (ctx, path, e, error))
            return FALSE;
        }
      else
        {
          e->files = 1;
          e->bytes = S_ISREG (st.st_mode) ? (guint64) st.st_size : 0;
        }
      gp_context_emit_progress (ctx, name, entries->len, 0, e->bytes);
    }

  gboolean by_bytes = g_strcmp0 (gp_stage_get_string (stage, "sort"), "bytes") == 0;
  g_ptr_array_sort (entries, by_bytes ? compare_by_bytes : compare_by_name);

  guint n = entries->len;
  if (limit > 0 && (guint64) limit < n)
    n = (guint) limit;

  GVariantBuilder builder;
  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a{s(ttt)}"));
  for (guint i = 0; i < n; i++)
    {
      const Entry *e = entries->pdata[i];
      gp_context_emit_item_done (ctx, e->name, i + 1, n, e->bytes,
                                 "%" G_GUINT64_FORMAT " files, %" G_GUINT64_FORMAT
                                 " directories, %" G_GUINT64_FORMAT " bytes",
                                 e->files, e->dirs, e->bytes);
      gp_context_add_counter (ctx, "example.entries", 1);
      gp_context_add_counter (ctx, "example.files", (gint64) e->files);
      gp_context_add_counter (ctx, "example.directories", (gint64) e->dirs);
      gp_context_add_counter (ctx, "example.bytes", (gint64) e->bytes);
      g_variant_builder_add (&builder, "{s(ttt)}", e->name, e->files, e->dirs, e->bytes);
    }

  gp_context_set_slot (ctx, SLOT_KEY, g_variant_ref_sink (g_variant_builder_end (&builder)),
                       (GDestroyNotify) g_variant_unref);
  return TRUE;
}

GP_STAGE_DEFINE (
  .name = "example",
  .description = "Count files and bytes per top-level directory of the data root",
  .requires = GP_STAGE_STRV ("root"),
  .provides = GP_STAGE_STRV ("example-counts"),
  .options = example_options,
  .prepare = example_prepare,
  .run = example_run)
