/* graphpipe - preset pipelines.
 *
 * A preset is a GKeyFile:
 *
 *   [pipeline]
 *   description=Count files per top-level directory
 *   stages=example;other
 *
 *   [example]
 *   path=${root}
 *
 * Lookup by name: NAME.conf in the first of
 *   1. each directory of GRAPHPIPE_PRESET_PATH (colon-separated);
 *   2. when running uninstalled, the source tree's data/presets;
 *   3. the installed $(pkgdatadir)/presets, unless
 *      GRAPHPIPE_NO_SYSTEM_PRESETS=1.
 * An argument containing `/` or ending in `.conf` is a file name instead.
 *
 * Loading checks only the [pipeline] group; the stages and their options
 * are checked against the loaded modules by gp_pipeline_new().
 */
#include "config.h"

#include <string.h>
#include <gio/gio.h>

#include "gp-preset.h"
#include "gp-error.h"
#include "gp-paths-private.h"

struct _GpPreset {
  gatomicrefcount ref_count;
  char *name;
  char *path;
  char *description;
  char **stages;
  GKeyFile *key_file;
};

static GpPreset *
preset_from_key_file (GKeyFile *kf, const char *path, GError **error)
{
  if (!g_key_file_has_group (kf, "pipeline"))
    {
      g_set_error (error, GP_PRESET_ERROR, GP_PRESET_ERROR_PARSE,
                   "%s: no [pipeline] group", path);
      return NULL;
    }

  g_auto (GStrv) keys = g_key_file_get_keys (kf, "pipeline", NULL, NULL);
  for (guint i = 0; keys != NULL && keys[i] != NULL; i++)
    if (strcmp (keys[i], "stages") != 0 && strcmp (keys[i], "description") != 0)
      {
        g_set_error (error, GP_PRESET_ERROR, GP_PRESET_ERROR_UNKNOWN_OPTION,
                     "%s: [pipeline] %s: unknown key (known: stages, description)",
                     path, keys[i]);
        return NULL;
      }

  g_autoptr (GError) local_error = NULL;
  g_auto (GStrv) raw = g_key_file_get_string_list (kf, "pipeline", "stages", NULL,
                                                   &local_error);
  if (raw == NULL)
    {
      g_set_error (error, GP_PRESET_ERROR, GP_PRESET_ERROR_PARSE,
                   "%s: [pipeline] stages: %s", path,
                   g_error_matches (local_error, G_KEY_FILE_ERROR,
                                    G_KEY_FILE_ERROR_KEY_NOT_FOUND)
                   ? "missing" : local_error->message);
      return NULL;
    }

  GPtrArray *stages = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; raw[i] != NULL; i++)
    {
      char *name = g_strstrip (raw[i]);
      if (*name == '\0')
        continue;
      for (guint j = 0; j < stages->len; j++)
        if (strcmp (stages->pdata[j], name) == 0)
          {
            g_set_error (error, GP_PRESET_ERROR, GP_PRESET_ERROR_PARSE,
                         "%s: [pipeline] stages: stage '%s' listed twice", path, name);
            g_ptr_array_unref (stages);
            return NULL;
          }
      g_ptr_array_add (stages, g_strdup (name));
    }
  if (stages->len == 0)
    {
      g_set_error (error, GP_PRESET_ERROR, GP_PRESET_ERROR_PARSE,
                   "%s: [pipeline] stages: no stage listed", path);
      g_ptr_array_unref (stages);
      return NULL;
    }
  g_ptr_array_add (stages, NULL);

  GpPreset *preset = g_new0 (GpPreset, 1);
  g_atomic_ref_count_init (&preset->ref_count);
  preset->path = g_strdup (path);
  g_autofree char *base = g_path_get_basename (path);
  if (g_str_has_suffix (base, GP_PRESET_SUFFIX))
    base[strlen (base) - strlen (GP_PRESET_SUFFIX)] = '\0';
  preset->name = g_steal_pointer (&base);
  preset->description = g_key_file_get_string (kf, "pipeline", "description", NULL);
  if (preset->description == NULL)
    preset->description = g_strdup ("");
  preset->stages = (char **) g_ptr_array_free (stages, FALSE);
  preset->key_file = g_key_file_ref (kf);
  return preset;
}

/**
 * gp_preset_load_data:
 * @data: the preset's text
 * @length: its length, or -1 if nul-terminated
 * @display_name: the file name errors and gp_preset_get_path() show; its
 *   basename less `.conf` is the preset's name
 * @error: return location for a #GError
 *
 * Parses a preset held in memory.
 *
 * Returns: (transfer full): the preset; %NULL with @error
 *   (%GP_PRESET_ERROR_PARSE or %GP_PRESET_ERROR_UNKNOWN_OPTION) on failure
 *
 * Since: 0.1
 */
GpPreset *
gp_preset_load_data (const char *data, gssize length, const char *display_name,
                     GError **error)
{
  g_return_val_if_fail (data != NULL, NULL);
  g_return_val_if_fail (display_name != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GError) local_error = NULL;
  if (!g_key_file_load_from_data (kf, data, length < 0 ? (gsize) -1 : (gsize) length,
                                  G_KEY_FILE_NONE, &local_error))
    {
      g_set_error (error, GP_PRESET_ERROR, GP_PRESET_ERROR_PARSE, "%s: %s",
                   display_name, local_error->message);
      return NULL;
    }
  return preset_from_key_file (kf, display_name, error);
}

/**
 * gp_preset_load_file:
 * @path: a preset file
 * @error: return location for a #GError
 *
 * Reads and parses a preset file.
 *
 * Returns: (transfer full): the preset; %NULL with @error on failure: a
 *   #GIOError when the file cannot be read (%G_IO_ERROR_NOT_FOUND if it
 *   does not exist), otherwise as gp_preset_load_data()
 *
 * Since: 0.1
 */
GpPreset *
gp_preset_load_file (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_autofree char *data = NULL;
  gsize len = 0;
  g_autoptr (GError) local_error = NULL;
  if (!g_file_get_contents (path, &data, &len, &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                     "%s: preset not found: no such file", path);
      else
        g_set_error (error, G_IO_ERROR, g_io_error_from_file_error (local_error->code),
                     "%s: cannot read preset: %s", path, local_error->message);
      return NULL;
    }
  return gp_preset_load_data (data, (gssize) len, path, error);
}

/**
 * gp_preset_get_search_path:
 *
 * Returns: (transfer full): the directories searched for presets by name,
 *   in order (see gp_preset_lookup()); free with g_strfreev()
 *
 * Since: 0.1
 */
char **
gp_preset_get_search_path (void)
{
  GPtrArray *dirs = g_ptr_array_new ();
  g_auto (GStrv) env = _gp_env_path_list ("GRAPHPIPE_PRESET_PATH");

  for (guint i = 0; env[i] != NULL; i++)
    g_ptr_array_add (dirs, g_canonicalize_filename (env[i], NULL));
  if (_gp_running_uninstalled ())
    {
      g_autofree char *presets = g_build_filename (_gp_top_srcdir (), "data", "presets", NULL);
      g_ptr_array_add (dirs, g_canonicalize_filename (presets, NULL));
    }
  if (!_gp_env_flag ("GRAPHPIPE_NO_SYSTEM_PRESETS"))
    g_ptr_array_add (dirs, g_strdup (_gp_installed_presetdir ()));
  g_ptr_array_add (dirs, NULL);
  return (char **) g_ptr_array_free (dirs, FALSE);
}

static gboolean
is_path_argument (const char *arg)
{
  return strchr (arg, '/') != NULL || g_str_has_suffix (arg, GP_PRESET_SUFFIX);
}

/**
 * gp_preset_lookup:
 * @name_or_path: a preset name (`migrate`) or a file name (anything with a
 *   `/` or ending in `.conf`)
 * @error: return location for a #GError
 *
 * Finds and loads a preset: a file name is loaded as is; a name is looked
 * for as NAME.conf along gp_preset_get_search_path().
 *
 * Returns: (transfer full): the preset; %NULL with @error on failure,
 *   %G_IO_ERROR_NOT_FOUND when there is no such preset
 *
 * Since: 0.1
 */
GpPreset *
gp_preset_lookup (const char *name_or_path, GError **error)
{
  g_return_val_if_fail (name_or_path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (is_path_argument (name_or_path))
    return gp_preset_load_file (name_or_path, error);

  if (*name_or_path == '\0')
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "empty preset name");
      return NULL;
    }

  g_auto (GStrv) dirs = gp_preset_get_search_path ();
  g_autofree char *file = g_strconcat (name_or_path, GP_PRESET_SUFFIX, NULL);
  for (guint i = 0; dirs[i] != NULL; i++)
    {
      g_autofree char *path = g_build_filename (dirs[i], file, NULL);
      if (g_file_test (path, G_FILE_TEST_EXISTS))
        return gp_preset_load_file (path, error);
    }

  g_autofree char *joined = g_strjoinv (":", dirs);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
               "preset '%s' not found (searched %s)", name_or_path,
               *joined != '\0' ? joined : "no directory");
  return NULL;
}

static int
compare_presets (gconstpointer a, gconstpointer b)
{
  GpPreset *pa = *(GpPreset *const *) a;
  GpPreset *pb = *(GpPreset *const *) b;
  return strcmp (pa->name, pb->name);
}

/**
 * gp_preset_list:
 * @out_errors: (out) (optional) (transfer full) (element-type GError):
 *   errors of preset files that failed to load
 *
 * Loads every preset reachable by name (the first of each name along the
 * search path).
 *
 * Returns: (transfer full) (element-type GpPreset): the presets sorted by
 *   name; free with g_ptr_array_unref()
 *
 * Since: 0.1
 */
GPtrArray *
gp_preset_list (GPtrArray **out_errors)
{
  GPtrArray *presets = g_ptr_array_new_with_free_func ((GDestroyNotify) gp_preset_unref);
  g_autoptr (GPtrArray) errors = g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_auto (GStrv) dirs = gp_preset_get_search_path ();

  for (guint i = 0; dirs[i] != NULL; i++)
    {
      g_autoptr (GDir) dir = g_dir_open (dirs[i], 0, NULL);
      if (dir == NULL)
        continue;
      g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
      const char *file;
      while ((file = g_dir_read_name (dir)) != NULL)
        if (g_str_has_suffix (file, GP_PRESET_SUFFIX))
          g_ptr_array_add (files, g_strdup (file));

      for (guint j = 0; j < files->len; j++)
        {
          const char *f = files->pdata[j];
          if (!g_hash_table_add (seen, g_strndup (f, strlen (f) - strlen (GP_PRESET_SUFFIX))))
            continue;
          g_autofree char *path = g_build_filename (dirs[i], f, NULL);
          GError *error = NULL;
          GpPreset *preset = gp_preset_load_file (path, &error);
          if (preset != NULL)
            g_ptr_array_add (presets, preset);
          else
            g_ptr_array_add (errors, error);
        }
    }
  g_ptr_array_sort (presets, compare_presets);
  if (out_errors != NULL)
    *out_errors = g_steal_pointer (&errors);
  return presets;
}

/**
 * gp_preset_ref:
 * @preset: a preset
 *
 * Returns: (transfer full): @preset
 *
 * Since: 0.1
 */
GpPreset *
gp_preset_ref (GpPreset *preset)
{
  g_return_val_if_fail (preset != NULL, NULL);
  g_atomic_ref_count_inc (&preset->ref_count);
  return preset;
}

/**
 * gp_preset_unref:
 * @preset: (transfer full) (nullable): a preset
 *
 * Drops a reference.
 *
 * Since: 0.1
 */
void
gp_preset_unref (GpPreset *preset)
{
  if (preset == NULL || !g_atomic_ref_count_dec (&preset->ref_count))
    return;
  g_free (preset->name);
  g_free (preset->path);
  g_free (preset->description);
  g_strfreev (preset->stages);
  g_key_file_unref (preset->key_file);
  g_free (preset);
}

/**
 * gp_preset_get_name:
 * @preset: a preset
 *
 * Returns: (transfer none): the preset's name: its file's basename less
 *   `.conf`
 *
 * Since: 0.1
 */
const char *
gp_preset_get_name (GpPreset *preset)
{
  g_return_val_if_fail (preset != NULL, NULL);
  return preset->name;
}

/**
 * gp_preset_get_path:
 * @preset: a preset
 *
 * Returns: (transfer none): the file it was read from (the name errors
 *   show)
 *
 * Since: 0.1
 */
const char *
gp_preset_get_path (GpPreset *preset)
{
  g_return_val_if_fail (preset != NULL, NULL);
  return preset->path;
}

/**
 * gp_preset_get_description:
 * @preset: a preset
 *
 * Returns: (transfer none): the `[pipeline] description`, or ""
 *
 * Since: 0.1
 */
const char *
gp_preset_get_description (GpPreset *preset)
{
  g_return_val_if_fail (preset != NULL, NULL);
  return preset->description;
}

/**
 * gp_preset_get_stages:
 * @preset: a preset
 *
 * Returns: (transfer none) (array zero-terminated=1): the stage names in
 *   pipeline order
 *
 * Since: 0.1
 */
const char *const *
gp_preset_get_stages (GpPreset *preset)
{
  g_return_val_if_fail (preset != NULL, NULL);
  return (const char *const *) preset->stages;
}

/**
 * gp_preset_get_key_file:
 * @preset: a preset
 *
 * Returns: (transfer none): the parsed key file; do not modify it
 *
 * Since: 0.1
 */
GKeyFile *
gp_preset_get_key_file (GpPreset *preset)
{
  g_return_val_if_fail (preset != NULL, NULL);
  return preset->key_file;
}

static gboolean
is_variable_char (char c)
{
  return g_ascii_isalnum (c) || c == '_' || c == '-';
}

/**
 * gp_expand_variables:
 * @text: text with `${name}` references
 * @ctx: the context holding the variables (gp_context_set_variable())
 * @error: return location for a #GError
 *
 * Replaces each `${name}` with the variable's value, each
 * `${name:-default}` with the value or, when the variable is undefined,
 * the default (literal text without `}` or `$`), and each `$$` with a
 * single `$`.  Values are inserted as they are (not expanded again).
 *
 * Returns: (transfer full): the expanded text; %NULL with @error on
 *   failure: %GP_PRESET_ERROR_UNDEFINED_VARIABLE, or
 *   %GP_PRESET_ERROR_BAD_VALUE for a malformed reference.  The message
 *   names the variable; callers prefix file, group and key.
 *
 * Since: 0.1
 */
char *
gp_expand_variables (const char *text, GpContext *ctx, GError **error)
{
  g_return_val_if_fail (text != NULL, NULL);
  g_return_val_if_fail (ctx != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_autoptr (GString) out = g_string_new (NULL);
  for (const char *p = text; *p != '\0'; p++)
    {
      if (*p != '$')
        {
          g_string_append_c (out, *p);
          continue;
        }
      if (p[1] == '$')
        {
          g_string_append_c (out, '$');
          p++;
          continue;
        }
      if (p[1] != '{')
        {
          g_set_error (error, GP_PRESET_ERROR, GP_PRESET_ERROR_BAD_VALUE,
                       "stray '$' at offset %d (write $$ for a literal $)",
                       (int) (p - text));
          return NULL;
        }
      const char *start = p + 2;
      const char *end = start;
      while (is_variable_char (*end))
        end++;
      /* ${name:-default}: the default, literal text without '}' or '$',
       * stands in for an undefined variable. */
      const char *fallback = NULL;
      const char *close = end;
      if (end > start && end[0] == ':' && end[1] == '-')
        {
          fallback = end + 2;
          close = fallback;
          while (*close != '\0' && *close != '}' && *close != '$')
            close++;
        }
      if (*close != '}' || end == start)
        {
          g_set_error (error, GP_PRESET_ERROR, GP_PRESET_ERROR_BAD_VALUE,
                       "malformed variable reference at offset %d (expected ${name} "
                       "or ${name:-default})",
                       (int) (p - text));
          return NULL;
        }
      g_autofree char *name = g_strndup (start, end - start);
      const char *value = gp_context_get_variable (ctx, name);
      if (value == NULL && fallback != NULL)
        g_string_append_len (out, fallback, close - fallback);
      else if (value == NULL)
        {
          g_set_error (error, GP_PRESET_ERROR, GP_PRESET_ERROR_UNDEFINED_VARIABLE,
                       "undefined variable ${%s}", name);
          return NULL;
        }
      else
        g_string_append (out, value);
      p = close;
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}
