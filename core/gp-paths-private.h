/* graphpipe - where things are: installed directories and the build tree. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

gboolean _gp_running_uninstalled (void);
const char *_gp_top_builddir (void);
const char *_gp_top_srcdir (void);
const char *_gp_installed_stagedir (void);
const char *_gp_installed_presetdir (void);
gboolean _gp_env_flag (const char *name);
char **_gp_env_path_list (const char *name);

G_END_DECLS
