/* graphpipe - finding and loading stage modules.
 *
 * Search order.  A stage named NAME is the file NAME.so in the first of
 * these directories that has one:
 *
 *   1. each --plugin-dir, in the order given (gp_loader_new()'s list);
 *   2. each directory of GRAPHPIPE_PLUGIN_PATH (colon-separated), in order;
 *   3. when running uninstalled (see gp-paths.c), the build tree's
 *      stages/<name>/.libs and plugins/<name>/.libs folders;
 *   4. the installed stage directory, $(pkglibdir)/stages, unless
 *      GRAPHPIPE_NO_SYSTEM_PLUGINS=1 (the test suite sets it).
 *
 * A file found in an earlier group shadows the same name in a later group;
 * the same name twice within one group (two --plugin-dir directories, say)
 * is refused as a duplicate naming both files, and so is a second file
 * whose descriptor repeats a name already loaded.  The same file reached
 * twice (one directory listed twice, a symlink) counts once.
 *
 * Loading: g_module_open_full (G_MODULE_BIND_LOCAL, immediate binding) ->
 * the GP_STAGE_SYMBOL getter -> a non-NULL descriptor -> its ABI version
 * (checked before any other field is read) -> every field -> the name
 * equals the file's basename -> no duplicate.  Loaded modules stay
 * resident.  Each failure is a GP_LOADER_ERROR naming the file.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <gmodule.h>

#include "gp-loader.h"
#include "gp-error.h"
#include "gp-stage-private.h"
#include "gp-paths-private.h"

#define MODULE_SUFFIX ".so"

typedef enum {
  TIER_EXPLICIT = -1,  /* gp_loader_load_file() */
  TIER_PLUGIN_DIR = 0,
  TIER_ENV,
  TIER_BUILD_TREE,
  TIER_INSTALLED,
} Tier;

typedef struct {
  char *dir;
  Tier tier;
} SearchDir;

struct _GpStageInfo {
  char *name;
  char *path;       /* as found */
  char *realpath;   /* canonical, to recognise the same file */
  Tier tier;
  GModule *module;
  const GpStageDesc *desc;
};

struct _GpLoader {
  gatomicrefcount ref_count;
  GArray *search;            /* SearchDir */
  GHashTable *by_name;       /* name -> GpStageInfo* (owned) */
  GHashTable *by_realpath;   /* realpath -> GpStageInfo* */
};

static void
stage_info_free (GpStageInfo *info)
{
  /* The module stays resident: it is never closed. */
  g_free (info->name);
  g_free (info->path);
  g_free (info->realpath);
  g_free (info);
}

static void
search_dir_clear (SearchDir *sd)
{
  g_free (sd->dir);
}

static void
add_search_dir (GpLoader *loader, const char *dir, Tier tier)
{
  SearchDir sd = { g_canonicalize_filename (dir, NULL), tier };

  /* A directory listed twice counts once, at its first place. */
  for (guint i = 0; i < loader->search->len; i++)
    if (strcmp (g_array_index (loader->search, SearchDir, i).dir, sd.dir) == 0)
      {
        g_free (sd.dir);
        return;
      }
  g_array_append_val (loader->search, sd);
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* <top>/<sub>/<each folder>/.libs, in name order. */
static void
add_build_tree_dirs (GpLoader *loader, const char *sub)
{
  g_autofree char *parent = g_build_filename (_gp_top_builddir (), sub, NULL);
  g_autoptr (GDir) dir = g_dir_open (parent, 0, NULL);
  if (dir == NULL)
    return;

  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_strings);

  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *libs = g_build_filename (parent, names->pdata[i], ".libs", NULL);
      if (g_file_test (libs, G_FILE_TEST_IS_DIR))
        add_search_dir (loader, libs, TIER_BUILD_TREE);
    }
}

/**
 * gp_loader_new:
 * @plugin_dirs: (nullable) (array zero-terminated=1): directories from
 *   `--plugin-dir`, searched first, in order
 *
 * Creates a loader with the search path described at the top of
 * gp-loader.c: @plugin_dirs, then `GRAPHPIPE_PLUGIN_PATH`, then the build
 * tree when running uninstalled, then the installed stage directory
 * (unless `GRAPHPIPE_NO_SYSTEM_PLUGINS=1`).  Nothing is loaded yet.
 *
 * Returns: (transfer full): a new loader; free with gp_loader_unref()
 *
 * Since: 0.1
 */
GpLoader *
gp_loader_new (const char *const *plugin_dirs)
{
  GpLoader *loader = g_new0 (GpLoader, 1);

  g_atomic_ref_count_init (&loader->ref_count);
  loader->search = g_array_new (FALSE, TRUE, sizeof (SearchDir));
  g_array_set_clear_func (loader->search, (GDestroyNotify) search_dir_clear);
  loader->by_name = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                           (GDestroyNotify) stage_info_free);
  loader->by_realpath = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; plugin_dirs != NULL && plugin_dirs[i] != NULL; i++)
    add_search_dir (loader, plugin_dirs[i], TIER_PLUGIN_DIR);

  g_auto (GStrv) env_dirs = _gp_env_path_list ("GRAPHPIPE_PLUGIN_PATH");
  for (guint i = 0; env_dirs[i] != NULL; i++)
    add_search_dir (loader, env_dirs[i], TIER_ENV);

  if (_gp_running_uninstalled ())
    {
      add_build_tree_dirs (loader, "stages");
      add_build_tree_dirs (loader, "plugins");
    }

  if (!_gp_env_flag ("GRAPHPIPE_NO_SYSTEM_PLUGINS"))
    add_search_dir (loader, _gp_installed_stagedir (), TIER_INSTALLED);

  return loader;
}

/**
 * gp_loader_ref:
 * @loader: a loader
 *
 * Returns: (transfer full): @loader
 *
 * Since: 0.1
 */
GpLoader *
gp_loader_ref (GpLoader *loader)
{
  g_return_val_if_fail (loader != NULL, NULL);
  g_atomic_ref_count_inc (&loader->ref_count);
  return loader;
}

/**
 * gp_loader_unref:
 * @loader: (transfer full) (nullable): a loader
 *
 * Drops a reference.  The stage infos it handed out become invalid with
 * the last one; the modules themselves stay loaded.
 *
 * Since: 0.1
 */
void
gp_loader_unref (GpLoader *loader)
{
  if (loader == NULL || !g_atomic_ref_count_dec (&loader->ref_count))
    return;
  g_hash_table_unref (loader->by_realpath);
  g_hash_table_unref (loader->by_name);
  g_array_unref (loader->search);
  g_free (loader);
}

/**
 * gp_loader_get_search_path:
 * @loader: a loader
 *
 * Returns: (transfer full): the directories searched, in order; free with
 *   g_strfreev()
 *
 * Since: 0.1
 */
char **
gp_loader_get_search_path (GpLoader *loader)
{
  g_return_val_if_fail (loader != NULL, NULL);
  char **dirs = g_new0 (char *, loader->search->len + 1);
  for (guint i = 0; i < loader->search->len; i++)
    dirs[i] = g_strdup (g_array_index (loader->search, SearchDir, i).dir);
  return dirs;
}

static gboolean
valid_identifier (const char *s)
{
  if (s == NULL || *s == '\0')
    return FALSE;
  for (const char *p = s; *p != '\0'; p++)
    if (!(g_ascii_islower (*p) || g_ascii_isdigit (*p) || *p == '-' || *p == '_'
          || *p == '.'))
      return FALSE;
  return TRUE;
}

static gboolean
check_strv (const char *path, const char *field, const char *const *strv,
            GError **error)
{
  for (guint i = 0; strv != NULL && strv[i] != NULL; i++)
    if (!valid_identifier (strv[i]))
      {
        g_set_error (error, GP_LOADER_ERROR, GP_LOADER_ERROR_INVALID_DESCRIPTOR,
                     "%s: invalid descriptor: %s[%u] '%s' is not a lowercase-hyphenated word",
                     path, field, i, strv[i]);
        return FALSE;
      }
  return TRUE;
}

static gboolean
check_option (const char *path, guint index, const GpOption *o, GError **error)
{
  const char *key = o->key;

#define BAD_OPTION(fmt, ...)                                                  \
  G_STMT_START {                                                              \
    g_set_error (error, GP_LOADER_ERROR, GP_LOADER_ERROR_INVALID_DESCRIPTOR,  \
                 "%s: invalid descriptor: option %u ('%s'): " fmt,            \
                 path, index, key, ##__VA_ARGS__);                            \
    return FALSE;                                                             \
  } G_STMT_END

  if (!valid_identifier (key))
    BAD_OPTION ("the key is not a lowercase-hyphenated word");
  if (o->type < GP_OPTION_STRING || o->type > GP_OPTION_ENUM)
    BAD_OPTION ("unknown type %d", (int) o->type);
  if (o->help == NULL)
    BAD_OPTION ("no help text");
  if (o->type == GP_OPTION_ENUM && (o->choices == NULL || o->choices[0] == NULL))
    BAD_OPTION ("an enum option needs choices");
  if (o->type != GP_OPTION_ENUM && o->choices != NULL)
    BAD_OPTION ("only enum options have choices");
  if ((o->flags & GP_OPTION_FLAG_REQUIRED) && o->default_value != NULL)
    BAD_OPTION ("a required option cannot have a default");
  if ((o->flags & ~(guint) GP_OPTION_FLAG_REQUIRED) != 0)
    BAD_OPTION ("unknown flags 0x%x", o->flags);

  /* Defaults without variables can be checked now. */
  const char *def = o->default_value;
  if (def != NULL && strchr (def, '$') == NULL)
    {
      gint64 i64;
      gboolean b;
      if (o->type == GP_OPTION_INT && !_gp_option_parse_int (def, &i64))
        BAD_OPTION ("default '%s' is not an integer", def);
      if (o->type == GP_OPTION_BOOL && !_gp_option_parse_bool (def, &b))
        BAD_OPTION ("default '%s' is not true or false", def);
      if (o->type == GP_OPTION_ENUM && !g_strv_contains (o->choices, def))
        BAD_OPTION ("default '%s' is not one of its choices", def);
    }
#undef BAD_OPTION
  return TRUE;
}

static gboolean
check_descriptor (const char *path, const GpStageDesc *desc, GError **error)
{
  g_autofree char *base = g_path_get_basename (path);
  if (g_str_has_suffix (base, MODULE_SUFFIX))
    base[strlen (base) - strlen (MODULE_SUFFIX)] = '\0';

  if (desc->name == NULL || *desc->name == '\0')
    {
      g_set_error (error, GP_LOADER_ERROR, GP_LOADER_ERROR_INVALID_DESCRIPTOR,
                   "%s: invalid descriptor: empty stage name", path);
      return FALSE;
    }
  if (strcmp (desc->name, base) != 0)
    {
      g_set_error (error, GP_LOADER_ERROR, GP_LOADER_ERROR_INVALID_DESCRIPTOR,
                   "%s: invalid descriptor: stage name '%s' differs from the file name '%s'",
                   path, desc->name, base);
      return FALSE;
    }
  if (!valid_identifier (desc->name))
    {
      g_set_error (error, GP_LOADER_ERROR, GP_LOADER_ERROR_INVALID_DESCRIPTOR,
                   "%s: invalid descriptor: stage name '%s' is not a lowercase-hyphenated word",
                   path, desc->name);
      return FALSE;
    }
  if (desc->description == NULL)
    {
      g_set_error (error, GP_LOADER_ERROR, GP_LOADER_ERROR_INVALID_DESCRIPTOR,
                   "%s: invalid descriptor: no description", path);
      return FALSE;
    }
  if (desc->run == NULL)
    {
      g_set_error (error, GP_LOADER_ERROR, GP_LOADER_ERROR_INVALID_DESCRIPTOR,
                   "%s: invalid descriptor: no run function", path);
      return FALSE;
    }
  if (!check_strv (path, "requires", desc->requires, error)
      || !check_strv (path, "provides", desc->provides, error))
    return FALSE;

  g_autoptr (GHashTable) keys = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; desc->options != NULL && desc->options[i].key != NULL; i++)
    {
      const GpOption *o = &desc->options[i];
      if (!check_option (path, i, o, error))
        return FALSE;
      if (!g_hash_table_add (keys, (gpointer) o->key))
        {
          g_set_error (error, GP_LOADER_ERROR, GP_LOADER_ERROR_INVALID_DESCRIPTOR,
                       "%s: invalid descriptor: option %u ('%s'): key declared twice",
                       path, i, o->key);
          return FALSE;
        }
    }
  return TRUE;
}

static const GpStageInfo *
load_file (GpLoader *loader, const char *path, Tier tier, GError **error)
{
  g_autofree char *real = realpath (path, NULL);
  if (real == NULL)
    {
      int saved_errno = errno;
      g_set_error (error, GP_LOADER_ERROR, GP_LOADER_ERROR_NOT_FOUND,
                   "%s: %s", path, g_strerror (saved_errno));
      return NULL;
    }

  GpStageInfo *known = g_hash_table_lookup (loader->by_realpath, real);
  if (known != NULL)
    return known;

  if (!g_file_test (real, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, GP_LOADER_ERROR, GP_LOADER_ERROR_NOT_MODULE,
                   "%s: not a loadable module: not a regular file", path);
      return NULL;
    }

  g_autoptr (GError) local_error = NULL;
  GModule *module = g_module_open_full (real, G_MODULE_BIND_LOCAL, &local_error);
  if (module == NULL)
    {
      g_set_error (error, GP_LOADER_ERROR, GP_LOADER_ERROR_NOT_MODULE,
                   "%s: not a loadable module: %s", path, local_error->message);
      return NULL;
    }

  gpointer symbol = NULL;
  if (!g_module_symbol (module, GP_STAGE_SYMBOL, &symbol) || symbol == NULL)
    {
      g_module_close (module);
      g_set_error (error, GP_LOADER_ERROR, GP_LOADER_ERROR_NO_SYMBOL,
                   "%s: no symbol %s: not a graphpipe stage module",
                   path, GP_STAGE_SYMBOL);
      return NULL;
    }

  const GpStageDesc *desc = ((GpStageGetDescriptorFunc) symbol) ();
  if (desc == NULL)
    {
      g_module_close (module);
      g_set_error (error, GP_LOADER_ERROR, GP_LOADER_ERROR_INVALID_DESCRIPTOR,
                   "%s: invalid descriptor: %s() returned NULL", path, GP_STAGE_SYMBOL);
      return NULL;
    }

  /* The first field, checked before anything else is trusted. */
  if (desc->abi_version != GP_STAGE_ABI_VERSION)
    {
      guint32 abi = desc->abi_version;
      g_module_close (module);
      g_set_error (error, GP_LOADER_ERROR, GP_LOADER_ERROR_ABI_MISMATCH,
                   "%s: built for stage ABI %" G_GUINT32_FORMAT
                   ", this graphpipe supports %d",
                   path, abi, GP_STAGE_ABI_VERSION);
      return NULL;
    }

  if (!check_descriptor (path, desc, error))
    {
      g_module_close (module);
      return NULL;
    }

  GpStageInfo *other = g_hash_table_lookup (loader->by_name, desc->name);
  if (other != NULL)
    {
      g_set_error (error, GP_LOADER_ERROR, GP_LOADER_ERROR_DUPLICATE,
                   "%s: stage '%s' is already loaded from %s",
                   path, desc->name, other->path);
      g_module_close (module);
      return NULL;
    }

  g_module_make_resident (module);

  GpStageInfo *info = g_new0 (GpStageInfo, 1);
  info->name = g_strdup (desc->name);
  info->path = g_strdup (path);
  info->realpath = g_steal_pointer (&real);
  info->tier = tier;
  info->module = module;
  info->desc = desc;
  g_hash_table_insert (loader->by_name, info->name, info);
  g_hash_table_insert (loader->by_realpath, info->realpath, info);
  g_debug ("loaded stage '%s' from %s", info->name, info->path);
  return info;
}

/**
 * gp_loader_load_file:
 * @loader: a loader
 * @path: a module file
 *
 * Loads and checks one module file, whatever its directory.  Loading the
 * same file again returns the same info.
 *
 * Returns: (transfer none): the stage's info, valid as long as @loader;
 *   %NULL with @error (%GP_LOADER_ERROR, naming @path) on failure
 *
 * Since: 0.1
 */
const GpStageInfo *
gp_loader_load_file (GpLoader *loader, const char *path, GError **error)
{
  g_return_val_if_fail (loader != NULL, NULL);
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  return load_file (loader, path, TIER_EXPLICIT, error);
}

typedef struct {
  char *path;
  char *realpath;
  Tier tier;
} Candidate;

static void
candidate_free (Candidate *c)
{
  g_free (c->path);
  g_free (c->realpath);
  g_free (c);
}

/* Every <dir>/<name>.so in search order, each file once. */
static GPtrArray *
find_candidates (GpLoader *loader, const char *name)
{
  GPtrArray *found = g_ptr_array_new_with_free_func ((GDestroyNotify) candidate_free);
  g_autofree char *file = g_strconcat (name, MODULE_SUFFIX, NULL);

  for (guint i = 0; i < loader->search->len; i++)
    {
      const SearchDir *sd = &g_array_index (loader->search, SearchDir, i);
      g_autofree char *path = g_build_filename (sd->dir, file, NULL);
      g_autofree char *real = realpath (path, NULL);
      if (real == NULL)
        continue;

      gboolean seen = FALSE;
      for (guint j = 0; j < found->len && !seen; j++)
        seen = strcmp (((Candidate *) found->pdata[j])->realpath, real) == 0;
      if (seen)
        continue;

      Candidate *c = g_new0 (Candidate, 1);
      c->path = g_steal_pointer (&path);
      c->realpath = g_steal_pointer (&real);
      c->tier = sd->tier;
      g_ptr_array_add (found, c);
    }
  return found;
}

static char *
search_path_string (GpLoader *loader)
{
  g_auto (GStrv) dirs = gp_loader_get_search_path (loader);
  if (dirs[0] == NULL)
    return g_strdup ("(empty search path)");
  return g_strjoinv (":", dirs);
}

/**
 * gp_loader_find:
 * @loader: a loader
 * @name: a stage name
 *
 * Finds and loads the stage @name along the search path (see
 * gp_loader_new()), or returns it if already loaded.
 *
 * Returns: (transfer none): the stage's info, valid as long as @loader;
 *   %NULL with @error on failure: %GP_LOADER_ERROR_NOT_FOUND,
 *   %GP_LOADER_ERROR_DUPLICATE (two files in one group of the search path)
 *   or any error of gp_loader_load_file()
 *
 * Since: 0.1
 */
const GpStageInfo *
gp_loader_find (GpLoader *loader, const char *name, GError **error)
{
  g_return_val_if_fail (loader != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  GpStageInfo *known = g_hash_table_lookup (loader->by_name, name);
  if (known != NULL)
    return known;

  if (*name == '\0' || strchr (name, '/') != NULL)
    {
      g_set_error (error, GP_LOADER_ERROR, GP_LOADER_ERROR_NOT_FOUND,
                   "'%s': not a stage name", name);
      return NULL;
    }

  g_autoptr (GPtrArray) found = find_candidates (loader, name);
  if (found->len == 0)
    {
      g_autofree char *dirs = search_path_string (loader);
      g_set_error (error, GP_LOADER_ERROR, GP_LOADER_ERROR_NOT_FOUND,
                   "%s%s: stage '%s' not found in %s", name, MODULE_SUFFIX, name, dirs);
      return NULL;
    }

  const Candidate *first = found->pdata[0];
  for (guint i = 1; i < found->len; i++)
    {
      const Candidate *c = found->pdata[i];
      if (c->tier == first->tier)
        {
          g_set_error (error, GP_LOADER_ERROR, GP_LOADER_ERROR_DUPLICATE,
                       "%s: stage '%s' is also provided by %s; remove one or "
                       "change the search path", c->path, name, first->path);
          return NULL;
        }
    }

  return load_file (loader, first->path, first->tier, error);
}

static int
compare_infos (gconstpointer a, gconstpointer b)
{
  const GpStageInfo *ia = *(const GpStageInfo *const *) a;
  const GpStageInfo *ib = *(const GpStageInfo *const *) b;
  return strcmp (ia->name, ib->name);
}

/**
 * gp_loader_list:
 * @loader: a loader
 * @out_errors: (out) (optional) (transfer full) (element-type GError):
 *   the errors of modules that failed to load, in search order; free with
 *   g_ptr_array_unref()
 *
 * Loads every `*.so` along the search path, as gp_loader_find() would
 * resolve each name, and goes on past modules that fail.
 *
 * Returns: (transfer container) (element-type GpStageInfo): the loaded
 *   stages sorted by name; free the array with g_ptr_array_unref()
 *
 * Since: 0.1
 */
GPtrArray *
gp_loader_list (GpLoader *loader, GPtrArray **out_errors)
{
  g_return_val_if_fail (loader != NULL, NULL);
  g_autoptr (GPtrArray) errors = g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);
  g_autoptr (GHashTable) names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; i < loader->search->len; i++)
    {
      const SearchDir *sd = &g_array_index (loader->search, SearchDir, i);
      g_autoptr (GDir) dir = g_dir_open (sd->dir, 0, NULL);
      if (dir == NULL)
        continue;

      g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
      const char *file;
      while ((file = g_dir_read_name (dir)) != NULL)
        if (g_str_has_suffix (file, MODULE_SUFFIX) && strlen (file) > strlen (MODULE_SUFFIX))
          g_ptr_array_add (files, g_strdup (file));
      g_ptr_array_sort (files, compare_strings);

      for (guint j = 0; j < files->len; j++)
        {
          const char *f = files->pdata[j];
          g_autofree char *name = g_strndup (f, strlen (f) - strlen (MODULE_SUFFIX));
          if (!g_hash_table_add (names, g_strdup (name)))
            continue;  /* handled when first seen */
          GError *error = NULL;
          if (gp_loader_find (loader, name, &error) == NULL)
            g_ptr_array_add (errors, error);
        }
    }

  GPtrArray *infos = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer value;
  g_hash_table_iter_init (&iter, loader->by_name);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (infos, value);
  g_ptr_array_sort (infos, compare_infos);

  if (out_errors != NULL)
    *out_errors = g_steal_pointer (&errors);
  return infos;
}

/**
 * gp_stage_info_get_desc:
 * @info: a loaded stage
 *
 * Returns: (transfer none): its descriptor
 *
 * Since: 0.1
 */
const GpStageDesc *
gp_stage_info_get_desc (const GpStageInfo *info)
{
  g_return_val_if_fail (info != NULL, NULL);
  return info->desc;
}

/**
 * gp_stage_info_get_name:
 * @info: a loaded stage
 *
 * Returns: (transfer none): its name
 *
 * Since: 0.1
 */
const char *
gp_stage_info_get_name (const GpStageInfo *info)
{
  g_return_val_if_fail (info != NULL, NULL);
  return info->name;
}

/**
 * gp_stage_info_get_path:
 * @info: a loaded stage
 *
 * Returns: (transfer none): the module file it was loaded from
 *
 * Since: 0.1
 */
const char *
gp_stage_info_get_path (const GpStageInfo *info)
{
  g_return_val_if_fail (info != NULL, NULL);
  return info->path;
}
