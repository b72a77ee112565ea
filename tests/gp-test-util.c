/* graphpipe - helpers for the test programs. */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/wait.h>

#include "gp-test-util.h"

/* A fresh directory under $TMPDIR; remove it with gp_test_rm_rf(). */
char *
gp_test_make_tmpdir (void)
{
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp ("gp-test-XXXXXX", &error);

  g_assert_no_error (error);
  return dir;
}

/* Removes path and everything beneath it, without following symlinks. */
void
gp_test_rm_rf (const char *path)
{
  GStatBuf st;

  if (g_lstat (path, &st) != 0)
    return;
  if (S_ISDIR (st.st_mode))
    {
      g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
      const char *name;
      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          gp_test_rm_rf (child);
        }
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

/* Where libtool puts the test-only modules of tests/modules/. */
char *
gp_test_modules_dir (void)
{
  return g_test_build_filename (G_TEST_BUILT, "modules", ".libs", NULL);
}

char *
gp_test_module_path (const char *name)
{
  g_autofree char *file = g_strconcat (name, ".so", NULL);
  return g_test_build_filename (G_TEST_BUILT, "modules", ".libs", file, NULL);
}

/* The build tree's graphpipe (libtool wrapper). */
char *
gp_test_graphpipe_path (void)
{
  return g_test_build_filename (G_TEST_BUILT, "..", "graphpipe", NULL);
}

/* $GP_SHARED_DIR, default <top_srcdir>/../shared (whether or not it
 * exists); owned by this module. */
const char *
gp_test_shared_dir (void)
{
  static char *dir;

  if (dir == NULL)
    {
      const char *env = g_getenv ("GP_SHARED_DIR");
      dir = env != NULL && *env != '\0'
        ? g_strdup (env)
        : g_test_build_filename (G_TEST_DIST, "..", "..", "shared", NULL);
    }
  return dir;
}

/* A file under gp_test_shared_dir(), or NULL after g_test_skip() when it
 * does not exist. */
char *
gp_test_shared_path (const char *first_element, ...)
{
  va_list args;
  va_start (args, first_element);
  g_autoptr (GString) path = g_string_new (gp_test_shared_dir ());
  for (const char *e = first_element; e != NULL; e = va_arg (args, const char *))
    g_string_append_printf (path, "/%s", e);
  va_end (args);

  if (!g_file_test (path->str, G_FILE_TEST_EXISTS))
    {
      g_autofree char *msg = g_strdup_printf ("%s not found (set GP_SHARED_DIR)", path->str);
      g_test_skip (msg);
      return NULL;
    }
  return g_string_free (g_steal_pointer (&path), FALSE);
}

/* Writes dir/name and returns its path. */
char *
gp_test_write_file (const char *dir, const char *name, const char *contents)
{
  g_autoptr (GError) error = NULL;
  char *path = g_build_filename (dir, name, NULL);

  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
  return path;
}

gboolean
gp_test_under_valgrind (void)
{
  return g_getenv ("GP_UNDER_VALGRIND") != NULL;
}

/* Runs the build tree's graphpipe with the arguments (NULL-terminated),
 * logging the command and its output with g_test_message().  Stores what
 * it wrote in *out and *err (either may be NULL: discarded; free with
 * g_free()).  Fails the test unless graphpipe exited normally.  Returns
 * its exit status. */
int
gp_test_run_cli (char **out, char **err, const char *first, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (argv, gp_test_graphpipe_path ());
  va_list args;
  va_start (args, first);
  for (const char *a = first; a != NULL; a = va_arg (args, const char *))
    g_ptr_array_add (argv, g_strdup (a));
  va_end (args);
  g_ptr_array_add (argv, NULL);

  g_autofree char *cmd = g_strjoinv (" ", (char **) argv->pdata);
  g_test_message ("$ %s", cmd);

  int wait_status = 0;
  g_autoptr (GError) error = NULL;
  char *o = NULL, *e = NULL;
  g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                &o, &e, &wait_status, &error);
  g_assert_no_error (error);
  g_test_message ("stdout: %s\nstderr: %s", o, e);
  if (out != NULL)
    *out = o;
  else
    g_free (o);
  if (err != NULL)
    *err = e;
  else
    g_free (e);
  g_assert_true (WIFEXITED (wait_status));
  return WEXITSTATUS (wait_status);
}

/* A write callback (GpWriteFunc and the like) appending to the GByteArray
 * @byte_array. */
gboolean
gp_test_collect_bytes (gpointer byte_array, const void *buf, gsize len, GError **error)
{
  g_byte_array_append (byte_array, buf, len);
  return TRUE;
}
