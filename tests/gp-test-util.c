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

/* $GP_SHARED_DIR: make check sets it to the golden data it unpacked into
 * the build tree (tests/golden.am), or to configure's --with-shared-dir.
 * Default when run by hand: the build tree's tests/shared (whether or not
 * it exists).  Owned by this module. */
const char *
gp_test_shared_dir (void)
{
  static char *dir;

  if (dir == NULL)
    {
      const char *env = g_getenv ("GP_SHARED_DIR");
      dir = env != NULL && *env != '\0'
        ? g_strdup (env)
        : g_test_build_filename (G_TEST_BUILT, "shared", NULL);
    }
  return dir;
}

/* Fails the running test because the shared file @path is not there: the
 * data is part of the tree, so a missing file is a broken checkout or
 * --with-shared-dir, never a reason to skip. */
void
gp_test_fail_no_shared (const char *path)
{
  g_test_fail_printf ("%s not found: the golden data is unpacked by make check "
                      "from tests/golden/ (see tests/golden/README.md)", path);
}

/* A file under gp_test_shared_dir(), or NULL after failing the test (see
 * gp_test_fail_no_shared()) when it does not exist. */
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
      gp_test_fail_no_shared (path->str);
      return NULL;
    }
  return g_string_free (g_steal_pointer (&path), FALSE);
}

/* GP_REQUIRE_ALL=1 (set by quickstart.sh test as root, the CI case): the
 * machine has everything the exactness and real-client tests need, so
 * none of them may skip. */
gboolean
gp_test_require_all (void)
{
  const char *v = g_getenv ("GP_REQUIRE_ALL");
  return v != NULL && *v != '\0' && strcmp (v, "0") != 0;
}

/* Skips the running test with @reason, a prerequisite of an exactness or
 * real-client test that is missing here (root, an installed client, a
 * tool); under GP_REQUIRE_ALL fails it with the same reason instead.
 * Skips that depend on the hardware or kernel (CPU extensions, openat2)
 * use g_test_skip() itself. */
void
gp_test_skip_required (const char *reason)
{
  if (gp_test_require_all ())
    g_test_fail_printf ("%s (GP_REQUIRE_ALL is set: this test must run here)", reason);
  else
    g_test_skip (reason);
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
