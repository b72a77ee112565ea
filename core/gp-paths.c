/* graphpipe - where things are: installed directories and the build tree.
 *
 * A program "runs uninstalled" when its executable (/proc/self/exe) lives
 * beneath the build tree it was configured in (GP_ABS_TOP_BUILDDIR).  Then
 * the loader also searches the build tree's stage and plugin folders, and
 * preset lookup also searches the source tree's data/presets.  The
 * environment variable GRAPHPIPE_UNINSTALLED=1 or =0 overrides the
 * detection.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "gp-paths-private.h"

#ifndef GP_ABS_TOP_BUILDDIR
#error "GP_ABS_TOP_BUILDDIR must be defined by the build system"
#endif

static gboolean
path_is_beneath (const char *path, const char *dir)
{
  gsize len = strlen (dir);

  while (len > 1 && dir[len - 1] == '/')
    len--;
  return strncmp (path, dir, len) == 0 && path[len] == '/';
}

static gboolean
detect_uninstalled (void)
{
  const char *force = g_getenv ("GRAPHPIPE_UNINSTALLED");
  if (force != NULL && *force != '\0')
    return strcmp (force, "0") != 0;

  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
  if (exe == NULL)
    return FALSE;

  g_autofree char *builddir = realpath (GP_ABS_TOP_BUILDDIR, NULL);
  if (builddir == NULL)
    return FALSE;
  return path_is_beneath (exe, builddir);
}

/* Whether the running executable lives in the build tree. */
gboolean
_gp_running_uninstalled (void)
{
  static gsize once = 0;
  static gboolean uninstalled;

  if (g_once_init_enter (&once))
    {
      uninstalled = detect_uninstalled ();
      g_once_init_leave (&once, 1);
    }
  return uninstalled;
}

const char *
_gp_top_builddir (void)
{
  return GP_ABS_TOP_BUILDDIR;
}

const char *
_gp_top_srcdir (void)
{
  return GP_ABS_TOP_SRCDIR;
}

const char *
_gp_installed_stagedir (void)
{
  return GP_STAGEDIR;
}

const char *
_gp_installed_presetdir (void)
{
  return GP_PRESETDIR;
}

/* TRUE when the environment variable is set to something other than
 * "" or "0". */
gboolean
_gp_env_flag (const char *name)
{
  const char *value = g_getenv (name);
  return value != NULL && *value != '\0' && strcmp (value, "0") != 0;
}

/* A colon-separated list from the environment, empty entries dropped. */
char **
_gp_env_path_list (const char *name)
{
  const char *value = g_getenv (name);
  GPtrArray *dirs = g_ptr_array_new ();

  if (value != NULL)
    {
      g_auto (GStrv) parts = g_strsplit (value, G_SEARCHPATH_SEPARATOR_S, -1);
      for (guint i = 0; parts[i] != NULL; i++)
        if (*parts[i] != '\0')
          g_ptr_array_add (dirs, g_strdup (parts[i]));
    }
  g_ptr_array_add (dirs, NULL);
  return (char **) g_ptr_array_free (dirs, FALSE);
}
