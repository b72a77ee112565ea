/* graphpipe - helpers for the test programs. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

char *gp_test_make_tmpdir (void);
void gp_test_rm_rf (const char *path);
char *gp_test_modules_dir (void);
char *gp_test_module_path (const char *name);
char *gp_test_graphpipe_path (void);
const char *gp_test_shared_dir (void);
char *gp_test_shared_path (const char *first_element, ...) G_GNUC_NULL_TERMINATED;
void gp_test_fail_no_shared (const char *path);
gboolean gp_test_require_all (void);
void gp_test_skip_required (const char *reason);
char *gp_test_write_file (const char *dir, const char *name, const char *contents);
gboolean gp_test_under_valgrind (void);
int gp_test_run_cli (char **out, char **err, const char *first, ...);
gboolean gp_test_collect_bytes (gpointer byte_array, const void *buf, gsize len, GError **error);

/* Adds one data test per element of the array @table (elements with a
 * `name` member): path "@prefix/<name>", data a pointer to the element. */
#define GP_TEST_ADD_TABLE(prefix, table, func)                                  \
  for (gsize i = 0; i < G_N_ELEMENTS (table); i++)                              \
    {                                                                           \
      g_autofree char *path = g_strdup_printf ("%s/%s", prefix, table[i].name); \
      g_test_add_data_func (path, &table[i], func);                             \
    }

G_END_DECLS
