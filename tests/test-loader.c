/* Tests of the stage loader: every error case, search order, duplicates. */
#include "config.h"

#include <string.h>

#include "gp-loader.h"
#include "gp-error.h"
#include <glib/gstdio.h>

#include "gp-test-util.h"

typedef struct {
  const char *path;      /* test path */
  const char *module;    /* tests/modules/<module>.so */
  GpLoaderError code;
  const char *message;   /* expected in the message, after the file name */
} LoadErrorCase;

static const LoadErrorCase load_error_cases[] = {
  { "/loader/error/abi-mismatch", "abi-mismatch", GP_LOADER_ERROR_ABI_MISMATCH,
    "built for stage ABI 2, this graphpipe supports 1" },
  { "/loader/error/no-symbol", "no-symbol", GP_LOADER_ERROR_NO_SYMBOL,
    "no symbol gp_stage_get_descriptor" },
  { "/loader/error/null-descriptor", "null-desc", GP_LOADER_ERROR_INVALID_DESCRIPTOR,
    "gp_stage_get_descriptor() returned NULL" },
  { "/loader/error/empty-name", "empty-name", GP_LOADER_ERROR_INVALID_DESCRIPTOR,
    "empty stage name" },
  { "/loader/error/wrong-name", "wrong-name", GP_LOADER_ERROR_INVALID_DESCRIPTOR,
    "stage name 'other-name' differs from the file name 'wrong-name'" },
  { "/loader/error/no-run", "no-run", GP_LOADER_ERROR_INVALID_DESCRIPTOR,
    "no run function" },
  { "/loader/error/bad-option", "bad-option", GP_LOADER_ERROR_INVALID_DESCRIPTOR,
    "option 1 ('mode'): an enum option needs choices" },
  { "/loader/error/bad-default", "bad-default", GP_LOADER_ERROR_INVALID_DESCRIPTOR,
    "option 0 ('count'): default 'many' is not an integer" },
};

static void
test_load_error (gconstpointer data)
{
  const LoadErrorCase *tc = data;
  g_autofree char *path = gp_test_module_path (tc->module);
  g_autoptr (GpLoader) loader = gp_loader_new (NULL);
  g_autoptr (GError) error = NULL;

  g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));
  const GpStageInfo *info = gp_loader_load_file (loader, path, &error);
  g_assert_null (info);
  g_assert_error (error, GP_LOADER_ERROR, (gint) tc->code);
  g_test_message ("%s", error->message);
  /* The message names the file first, then the problem. */
  g_autofree char *expected = g_strdup_printf ("%s: ", path);
  g_assert_true (g_str_has_prefix (error->message, expected));
  g_assert_nonnull (strstr (error->message, tc->message));
}

static void
test_load_not_found (void)
{
  g_autoptr (GpLoader) loader = gp_loader_new (NULL);
  g_autoptr (GError) error = NULL;

  g_assert_null (gp_loader_load_file (loader, "/nonexistent/dir/x.so", &error));
  g_assert_error (error, GP_LOADER_ERROR, GP_LOADER_ERROR_NOT_FOUND);
  g_assert_true (g_str_has_prefix (error->message, "/nonexistent/dir/x.so: "));
}

static void
test_find_not_found (void)
{
  g_autofree char *modules = gp_test_modules_dir ();
  const char *dirs[] = { modules, NULL };
  g_autoptr (GpLoader) loader = gp_loader_new (dirs);
  g_autoptr (GError) error = NULL;

  g_assert_null (gp_loader_find (loader, "no-such-stage", &error));
  g_assert_error (error, GP_LOADER_ERROR, GP_LOADER_ERROR_NOT_FOUND);
  g_assert_true (g_str_has_prefix (error->message, "no-such-stage.so: "));
  /* It says where it looked. */
  g_assert_nonnull (strstr (error->message, modules));
}

static void
test_not_module (void)
{
  g_autofree char *tmp = gp_test_make_tmpdir ();
  g_autofree char *path = gp_test_write_file (tmp, "garbage.so", "this is not ELF\n");
  g_autoptr (GpLoader) loader = gp_loader_new (NULL);
  g_autoptr (GError) error = NULL;

  g_assert_null (gp_loader_load_file (loader, path, &error));
  g_assert_error (error, GP_LOADER_ERROR, GP_LOADER_ERROR_NOT_MODULE);
  g_assert_true (g_str_has_prefix (error->message, path));
  g_assert_nonnull (strstr (error->message, "not a loadable module"));

  /* A directory named like a module is not one either. */
  g_autofree char *dir = g_build_filename (tmp, "dir.so", NULL);
  g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
  g_clear_error (&error);
  g_assert_null (gp_loader_load_file (loader, dir, &error));
  g_assert_error (error, GP_LOADER_ERROR, GP_LOADER_ERROR_NOT_MODULE);
  gp_test_rm_rf (tmp);
}

/* Copies tests/modules/<module>.so to dir/<module>.so. */
static char *
copy_module (const char *module, const char *dir)
{
  g_autofree char *src = gp_test_module_path (module);
  g_autofree char *data = NULL;
  gsize len = 0;
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_true (g_file_get_contents (src, &data, &len, &error));
  g_autofree char *file = g_strconcat (module, ".so", NULL);
  char *dst = g_build_filename (dir, file, NULL);
  g_assert_true (g_file_set_contents (dst, data, (gssize) len, &error));
  g_assert_no_error (error);
  return dst;
}

static void
test_duplicate_same_group (void)
{
  g_autofree char *tmp = gp_test_make_tmpdir ();
  g_autofree char *a = g_build_filename (tmp, "a", NULL);
  g_autofree char *b = g_build_filename (tmp, "b", NULL);
  g_autofree char *pa = copy_module ("good", a);
  g_autofree char *pb = copy_module ("good", b);
  const char *dirs[] = { a, b, NULL };
  g_autoptr (GpLoader) loader = gp_loader_new (dirs);
  g_autoptr (GError) error = NULL;

  g_assert_null (gp_loader_find (loader, "good", &error));
  g_assert_error (error, GP_LOADER_ERROR, GP_LOADER_ERROR_DUPLICATE);
  g_test_message ("%s", error->message);
  /* Both files are named. */
  g_assert_nonnull (strstr (error->message, pa));
  g_assert_nonnull (strstr (error->message, pb));
  gp_test_rm_rf (tmp);
}

static void
test_duplicate_loaded_name (void)
{
  g_autofree char *tmp = gp_test_make_tmpdir ();
  g_autofree char *copy = copy_module ("good", tmp);
  g_autofree char *orig = gp_test_module_path ("good");
  g_autoptr (GpLoader) loader = gp_loader_new (NULL);
  g_autoptr (GError) error = NULL;

  g_assert_nonnull (gp_loader_load_file (loader, orig, &error));
  g_assert_no_error (error);
  /* The same file again is the same stage, not a duplicate. */
  g_assert_nonnull (gp_loader_load_file (loader, orig, &error));
  g_assert_no_error (error);

  g_assert_null (gp_loader_load_file (loader, copy, &error));
  g_assert_error (error, GP_LOADER_ERROR, GP_LOADER_ERROR_DUPLICATE);
  g_assert_true (g_str_has_prefix (error->message, copy));
  g_assert_nonnull (strstr (error->message, orig));
  gp_test_rm_rf (tmp);
}

static void
test_search_order (void)
{
  g_autofree char *tmp = gp_test_make_tmpdir ();
  g_autofree char *first = g_build_filename (tmp, "first", NULL);
  g_autofree char *env = g_build_filename (tmp, "env", NULL);
  g_autofree char *in_first = copy_module ("good", first);
  g_autofree char *in_env = copy_module ("good", env);
  g_autofree char *saved = g_strdup (g_getenv ("GRAPHPIPE_PLUGIN_PATH"));
  g_autoptr (GError) error = NULL;

  g_setenv ("GRAPHPIPE_PLUGIN_PATH", env, TRUE);

  /* --plugin-dir comes before GRAPHPIPE_PLUGIN_PATH and shadows it. */
  {
    const char *dirs[] = { first, NULL };
    g_autoptr (GpLoader) loader = gp_loader_new (dirs);
    g_auto (GStrv) path = gp_loader_get_search_path (loader);
    g_assert_cmpstr (path[0], ==, first);
    g_assert_cmpstr (path[1], ==, env);
    const GpStageInfo *info = gp_loader_find (loader, "good", &error);
    g_assert_no_error (error);
    g_assert_cmpstr (gp_stage_info_get_path (info), ==, in_first);
    g_assert_cmpstr (gp_stage_info_get_name (info), ==, "good");
    g_assert_cmpstr (gp_stage_info_get_desc (info)->description, ==,
                     "does nothing, successfully");
  }
  /* Without it, the environment's directory. */
  {
    g_autoptr (GpLoader) loader = gp_loader_new (NULL);
    const GpStageInfo *info = gp_loader_find (loader, "good", &error);
    g_assert_no_error (error);
    g_assert_cmpstr (gp_stage_info_get_path (info), ==, in_env);
  }
  /* Running uninstalled, the build tree comes next; the installed
   * directory is off (GRAPHPIPE_NO_SYSTEM_PLUGINS=1 in make check). */
  {
    g_autoptr (GpLoader) loader = gp_loader_new (NULL);
    g_auto (GStrv) path = gp_loader_get_search_path (loader);
    g_autofree char *example = g_test_build_filename (G_TEST_BUILT, "..", "plugins",
                                                      "example", ".libs", NULL);
    g_autofree char *example_canon = g_canonicalize_filename (example, NULL);
    g_assert_cmpstr (path[0], ==, env);
    g_assert_true (g_strv_contains ((const char *const *) path, example_canon));
    if (g_getenv ("GRAPHPIPE_NO_SYSTEM_PLUGINS") != NULL)
      g_assert_false (g_strv_contains ((const char *const *) path, GP_STAGEDIR));
  }

  if (saved != NULL)
    g_setenv ("GRAPHPIPE_PLUGIN_PATH", saved, TRUE);
  else
    g_unsetenv ("GRAPHPIPE_PLUGIN_PATH");
  gp_test_rm_rf (tmp);
}

static void
test_list (void)
{
  g_autofree char *modules = gp_test_modules_dir ();
  const char *dirs[] = { modules, NULL };
  g_autoptr (GpLoader) loader = gp_loader_new (dirs);
  g_autoptr (GPtrArray) errors = NULL;
  g_autoptr (GPtrArray) infos = gp_loader_list (loader, &errors);

  /* The good test modules and the example plugin load; each broken
   * module gives one error naming its file. */
  g_autoptr (GPtrArray) names = g_ptr_array_new ();
  for (guint i = 0; i < infos->len; i++)
    g_ptr_array_add (names, (gpointer) gp_stage_info_get_name (infos->pdata[i]));
  g_ptr_array_add (names, NULL);
  const char *const *n = (const char *const *) names->pdata;
  g_assert_true (g_strv_contains (n, "good"));
  g_assert_true (g_strv_contains (n, "order-b"));
  g_assert_true (g_strv_contains (n, "example"));
  g_assert_false (g_strv_contains (n, "abi-mismatch"));
  /* Sorted by name. */
  for (guint i = 1; i + 1 < names->len; i++)
    g_assert_cmpint (strcmp (n[i - 1], n[i]), <, 0);

  g_assert_cmpuint (errors->len, ==, G_N_ELEMENTS (load_error_cases));
  for (guint i = 0; i < errors->len; i++)
    {
      const GError *e = errors->pdata[i];
      g_assert_true (e->domain == GP_LOADER_ERROR);
      g_assert_true (g_str_has_prefix (e->message, modules));
    }
}

static void
test_descriptor_fields (void)
{
  g_autofree char *path = gp_test_module_path ("options");
  g_autoptr (GpLoader) loader = gp_loader_new (NULL);
  g_autoptr (GError) error = NULL;
  const GpStageInfo *info = gp_loader_load_file (loader, path, &error);

  g_assert_no_error (error);
  const GpStageDesc *desc = gp_stage_info_get_desc (info);
  g_assert_cmpuint (desc->abi_version, ==, GP_STAGE_ABI_VERSION);
  g_assert_cmpstr (desc->requires[0], ==, "root");
  g_assert_null (desc->requires[1]);
  g_assert_null (desc->provides);
  g_assert_cmpstr (desc->options[4].key, ==, "mode");
  g_assert_cmpint (desc->options[4].type, ==, GP_OPTION_ENUM);
  g_assert_cmpstr (desc->options[4].choices[1], ==, "slow");
  g_assert_cmpstr (gp_option_type_to_string (desc->options[3].type), ==, "path");
  /* Found by name afterwards without searching. */
  g_assert_true (gp_loader_find (loader, "options", &error) == info);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (load_error_cases); i++)
    g_test_add_data_func (load_error_cases[i].path, &load_error_cases[i], test_load_error);
  g_test_add_func ("/loader/error/not-found-file", test_load_not_found);
  g_test_add_func ("/loader/error/not-found-name", test_find_not_found);
  g_test_add_func ("/loader/error/not-module", test_not_module);
  g_test_add_func ("/loader/error/duplicate-in-group", test_duplicate_same_group);
  g_test_add_func ("/loader/error/duplicate-name", test_duplicate_loaded_name);
  g_test_add_func ("/loader/search/order", test_search_order);
  g_test_add_func ("/loader/list/all", test_list);
  g_test_add_func ("/loader/descriptor/fields", test_descriptor_fields);
  return g_test_run ();
}
