/* graphpipe - helpers for the test programs. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

char *gp_test_make_tmpdir (void);
void gp_test_rm_rf (const char *path);
char *gp_test_modules_dir (void);
char *gp_test_module_path (const char *name);
char *gp_test_graphpipe_path (void);
char *gp_test_shared_path (const char *first_element, ...) G_GNUC_NULL_TERMINATED;
char *gp_test_write_file (const char *dir, const char *name, const char *contents);
gboolean gp_test_under_valgrind (void);

G_END_DECLS
