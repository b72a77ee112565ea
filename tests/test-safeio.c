/* Tests for gp-safeio: durable writes, exact modes, temporaries, crashes. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gio/gio.h>

#include "gp-error.h"
#include "gp-io.h"
#include "gp-safeio.h"
#include "gp-lock.h"
#include "gp-sync-session.h"

typedef struct {
  char *dir;
  mode_t old_umask;
} Fixture;

static void
setup (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  fx->dir = g_dir_make_tmp ("gp-safeio-XXXXXX", &error);
  g_assert_no_error (error);
  fx->old_umask = umask (022);
}

static void
teardown (Fixture *fx, gconstpointer data)
{
  umask (fx->old_umask);
  g_assert_true (gp_safeio_remove_tree (fx->dir, NULL));
  g_free (fx->dir);
}

static guint
mode_of (const char *path)
{
  struct stat st;
  g_assert_cmpint (lstat (path, &st), ==, 0);
  return st.st_mode & 07777;
}

static gint
cmp_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* Names in @dir, sorted, joined by spaces. */
static char *
listing (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  g_assert_nonnull (d);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *n;
  while ((n = g_dir_read_name (d)) != NULL)
    g_ptr_array_add (names, g_strdup (n));
  g_ptr_array_sort (names, cmp_names);
  g_autoptr (GString) out = g_string_new (NULL);
  for (guint i = 0; i < names->len; i++)
    g_string_append_printf (out, "%s%s", i ? " " : "", (char *) names->pdata[i]);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static void
check_modes (Fixture *fx, mode_t mask)
{
  umask (mask);
  static const guint modes[] = { 0644, 0600, 0755, 0700, 0444 };
  for (gsize i = 0; i < G_N_ELEMENTS (modes); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *name = g_strdup_printf ("f%04o", modes[i]);
      g_autofree char *path = g_build_filename (fx->dir, name, NULL);
      g_assert_true (gp_safeio_write_file (path, "abc", 3, modes[i], GP_SAFE_DEFAULT, &error));
      g_assert_no_error (error);
      g_assert_cmphex (mode_of (path), ==, modes[i]);

      g_autofree char *dname = g_strdup_printf ("d%04o/x/y", modes[i]);
      g_autofree char *dpath = g_build_filename (fx->dir, dname, NULL);
      g_assert_true (gp_safeio_mkdir_p (dpath, modes[i] | 0700, &error));
      g_assert_no_error (error);
      g_assert_cmphex (mode_of (dpath), ==, modes[i] | 0700);
      g_autofree char *mid = g_path_get_dirname (dpath);
      g_assert_cmphex (mode_of (mid), ==, modes[i] | 0700);

      g_autofree char *tmp = NULL;
      g_assert_true (gp_safeio_make_temp_dir (fx->dir, "t-", modes[i] | 0700, &tmp, &error));
      g_assert_no_error (error);
      g_assert_cmphex (mode_of (tmp), ==, modes[i] | 0700);
    }
  /* mkdir -p leaves an existing directory's mode alone. */
  g_autofree char *existing = g_build_filename (fx->dir, "d0644", NULL);
  g_assert_true (gp_safeio_mkdir_p (existing, 0700, NULL));
  g_assert_cmphex (mode_of (existing), ==, 0744);
}

static void
test_modes_umask_077 (Fixture *fx, gconstpointer data)
{
  check_modes (fx, 077);
}

static void
test_modes_umask_000 (Fixture *fx, gconstpointer data)
{
  check_modes (fx, 0);
}

/* The GpSafeDir writers, with and without deferral (@data): exact modes
 * under umasks that keep or cut them, names through a subdirectory, new
 * and replaced names, links, mkdir, publish. */
static void
check_dir_writers (Fixture *fx, gboolean defer, mode_t mask)
{
  g_autoptr (GError) error = NULL;
  umask (mask);
  if (defer)
    gp_safeio_defer_begin (NULL, NULL);
  g_autoptr (GpSafeDir) dir = gp_safe_dir_open (fx->dir, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (gp_safe_dir_get_path (dir), ==, fx->dir);

  static const guint modes[] = { 0644, 0600, 0755, 0444 };
  for (gsize i = 0; i < G_N_ELEMENTS (modes); i++)
    {
      g_autofree char *name = g_strdup_printf ("f%04o", modes[i]);
      g_autofree char *path = g_build_filename (fx->dir, name, NULL);
      g_assert_true (gp_safeio_write_file_in (dir, name, "abc", 3, modes[i], GP_SAFE_DEFAULT, &error));
      g_assert_no_error (error);
      g_assert_cmphex (mode_of (path), ==, modes[i]);
      /* Replacing it: new content and mode, no temporary left. */
      g_assert_true (gp_safeio_write_file_in (dir, name, "defg", 4, 0600, GP_SAFE_DEFAULT, &error));
      g_assert_no_error (error);
      g_autofree char *content = NULL;
      g_assert_true (g_file_get_contents (path, &content, NULL, NULL));
      g_assert_cmpstr (content, ==, "defg");
      g_assert_cmphex (mode_of (path), ==, 0600);
    }
  /* NO_REPLACE refuses an existing name and leaves no temporary. */
  g_assert_false (gp_safeio_write_file_in (dir, "f0644", "x", 1, 0644, GP_SAFE_NO_REPLACE, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_clear_error (&error);

  /* mkdir: made once, then found; a file in it through a relative name. */
  gboolean created = FALSE;
  g_assert_true (gp_safeio_mkdir_in (dir, "sub", 0700, &created, &error));
  g_assert_no_error (error);
  g_assert_true (created);
  g_assert_true (gp_safeio_mkdir_in (dir, "sub", 0700, &created, &error));
  g_assert_false (created);
  g_autofree char *sub = g_build_filename (fx->dir, "sub", NULL);
  g_assert_cmphex (mode_of (sub), ==, 0700);
  g_assert_false (gp_safeio_mkdir_in (dir, "f0644", 0700, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_DIRECTORY);
  g_clear_error (&error);
  g_assert_true (gp_safeio_write_file_in (dir, "sub/parent", "p", 1, 0600, GP_SAFE_DEFAULT, &error));
  g_assert_true (gp_safeio_write_file_in (dir, "sub/parent", "pq", 2, 0600, GP_SAFE_DEFAULT, &error));
  g_assert_no_error (error);
  g_autofree char *sub_names = listing (sub);
  g_assert_cmpstr (sub_names, ==, "parent");

  /* A link: new name linked, same inode left, another one replaced. */
  g_autofree char *f1 = g_build_filename (fx->dir, "f0644", NULL);
  g_autofree char *f2 = g_build_filename (fx->dir, "f0600", NULL);
  g_autofree char *ln = g_build_filename (fx->dir, "ln", NULL);
  struct stat a, b;
  for (int round = 0; round < 2; round++)
    {
      g_assert_true (gp_safeio_link_in (dir, f1, "ln", &error));
      g_assert_no_error (error);
      g_assert_cmpint (stat (f1, &a), ==, 0);
      g_assert_cmpint (stat (ln, &b), ==, 0);
      g_assert_true (a.st_ino == b.st_ino);
    }
  g_assert_true (gp_safeio_link_in (dir, f2, "ln", &error));
  g_assert_no_error (error);
  g_assert_cmpint (stat (f2, &a), ==, 0);
  g_assert_cmpint (stat (ln, &b), ==, 0);
  g_assert_true (a.st_ino == b.st_ino);

  /* A directory published through its descriptor, then one whose name
   * exists (removed, the existing one wins). */
  for (int round = 0; round < 2; round++)
    {
      g_autofree char *tmp = NULL;
      g_assert_true (gp_safeio_make_temp_dir (fx->dir, "t-", 0700, &tmp, &error));
      g_autoptr (GpSafeDir) td = gp_safe_dir_open (tmp, &error);
      g_assert_no_error (error);
      g_assert_true (gp_safeio_write_file_in (td, "diff", round ? "2" : "1", 1, 0644, GP_SAFE_DIRECT, &error));
      g_autofree char *final = g_build_filename (fx->dir, "layer", NULL);
      gboolean existed = TRUE;
      g_assert_true (gp_safeio_publish_dir_in (td, final, &existed, &error));
      g_assert_no_error (error);
      g_assert_true (existed == (round == 1));
      g_assert_false (g_file_test (tmp, G_FILE_TEST_EXISTS));
      g_autofree char *diff = g_build_filename (final, "diff", NULL);
      g_autofree char *content = NULL;
      g_assert_true (g_file_get_contents (diff, &content, NULL, NULL));
      g_assert_cmpstr (content, ==, "1");
      g_assert_cmphex (mode_of (diff), ==, 0644);
    }
  if (defer)
    {
      g_assert_true (gp_safeio_defer_end (&error));
      g_assert_no_error (error);
    }
  g_autofree char *names = listing (fx->dir);
  g_assert_cmpstr (names, ==, "f0444 f0600 f0644 f0755 layer ln sub");
}

static void
test_dir_writers (Fixture *fx, gconstpointer data)
{
  check_dir_writers (fx, FALSE, 022);
}

static void
test_dir_writers_deferred (Fixture *fx, gconstpointer data)
{
  check_dir_writers (fx, TRUE, 022);
}

static void
test_dir_writers_deferred_077 (Fixture *fx, gconstpointer data)
{
  check_dir_writers (fx, TRUE, 077);
}

static void
test_no_temp_left (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = g_build_filename (fx->dir, "file", NULL);

  g_assert_true (gp_safeio_write_file (path, "one", 3, 0644, GP_SAFE_DEFAULT, &error));
  g_assert_true (gp_safeio_write_file (path, "two!", 4, 0600, GP_SAFE_DEFAULT, &error));
  g_assert_no_error (error);
  g_autofree char *names = listing (fx->dir);
  g_assert_cmpstr (names, ==, "file");
  g_autofree char *content = NULL;
  g_assert_true (g_file_get_contents (path, &content, NULL, NULL));
  g_assert_cmpstr (content, ==, "two!");
  g_assert_cmphex (mode_of (path), ==, 0600);
}

static void
test_stream_commit (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = g_build_filename (fx->dir, "stream", NULL);
  g_autoptr (GpSafeFile) f = gp_safe_file_new (path, 0644, GP_SAFE_DEFAULT, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gp_safe_file_get_fd (f), >=, 0);

  /* Nothing under the final name before the commit. */
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  GpWriteFunc w = gp_safe_file_write;
  for (int i = 0; i < 1000; i++)
    g_assert_true (w (f, "0123456789", 10, &error));
  g_assert_cmpuint (gp_safe_file_get_written (f), ==, 10000);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_assert_true (gp_safe_file_commit (f, &error));
  g_assert_no_error (error);
  struct stat st;
  g_assert_cmpint (stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_size, ==, 10000);
  g_autofree char *names = listing (fx->dir);
  g_assert_cmpstr (names, ==, "stream");
  /* Writing after commit fails. */
  g_assert_false (gp_safe_file_write (f, "x", 1, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED);
}

static void
test_stream_abort (Fixture *fx, gconstpointer data)
{
  g_autofree char *path = g_build_filename (fx->dir, "aborted", NULL);
  GpSafeFile *f = gp_safe_file_new (path, 0644, GP_SAFE_DEFAULT, NULL);
  g_assert_nonnull (f);
  g_assert_true (gp_safe_file_write (f, "partial", 7, NULL));
  gp_safe_file_abort (f);
  gp_safe_file_free (f);
  g_autofree char *names = listing (fx->dir);
  g_assert_cmpstr (names, ==, "");

  /* Freed without commit: the same; an existing file stays as it was. */
  g_assert_true (gp_safeio_write_file (path, "old", 3, 0644, GP_SAFE_DEFAULT, NULL));
  f = gp_safe_file_new (path, 0644, GP_SAFE_DEFAULT, NULL);
  g_assert_true (gp_safe_file_write (f, "new", 3, NULL));
  gp_safe_file_free (f);
  g_autofree char *names2 = listing (fx->dir);
  g_assert_cmpstr (names2, ==, "aborted");
  g_autofree char *content = NULL;
  g_assert_true (g_file_get_contents (path, &content, NULL, NULL));
  g_assert_cmpstr (content, ==, "old");
}

static void
test_no_replace (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = g_build_filename (fx->dir, "once", NULL);
  g_assert_true (gp_safeio_write_file (path, "first", 5, 0600, GP_SAFE_NO_REPLACE, &error));
  g_assert_false (gp_safeio_write_file (path, "second", 6, 0600, GP_SAFE_NO_REPLACE, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_assert_nonnull (strstr (error->message, path));
  g_autofree char *content = NULL;
  g_assert_true (g_file_get_contents (path, &content, NULL, NULL));
  g_assert_cmpstr (content, ==, "first");
  g_autofree char *names = listing (fx->dir);
  g_assert_cmpstr (names, ==, "once");
}

static void
test_stale_cleanup (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = g_build_filename (fx->dir, "target", NULL);
  g_autofree char *tmp = gp_safeio_temp_path_for (path);
  g_assert_true (g_str_has_suffix (tmp, "/.target.gp-tmp"));
  g_assert_true (gp_safeio_is_temp_name (".target.gp-tmp"));
  g_assert_false (gp_safeio_is_temp_name ("target.gp-tmp"));
  g_assert_false (gp_safeio_is_temp_name (".gp-tmp"));

  /* A stale temporary (as a killed run leaves it) is replaced by the next
   * write of the same name, and nothing is left over. */
  g_assert_true (g_file_set_contents (tmp, "torn", 4, NULL));
  g_assert_true (gp_safeio_write_file (path, "whole", 5, 0644, GP_SAFE_DEFAULT, &error));
  g_assert_no_error (error);
  g_autofree char *names = listing (fx->dir);
  g_assert_cmpstr (names, ==, "target");

  /* A stale temporary directory, a stale file and a stale layer-* dir. */
  g_autofree char *d1 = g_build_filename (fx->dir, ".x.gp-tmp", "sub", NULL);
  g_assert_true (gp_safeio_mkdir_p (d1, 0700, NULL));
  g_autofree char *f1 = g_build_filename (d1, "f", NULL);
  g_assert_true (g_file_set_contents (f1, "x", 1, NULL));
  g_autofree char *f2 = g_build_filename (fx->dir, ".y.gp-tmp", NULL);
  g_assert_true (g_file_set_contents (f2, "y", 1, NULL));
  g_autofree char *d3 = g_build_filename (fx->dir, "layer-1234", NULL);
  g_assert_true (gp_safeio_mkdir_p (d3, 0700, NULL));
  g_autofree char *keep = g_build_filename (fx->dir, "layerkeep", NULL);
  g_assert_true (g_file_set_contents (keep, "k", 1, NULL));
  const char *const prefixes[] = { "layer-", NULL };
  g_assert_true (gp_safeio_clean_stale (fx->dir, prefixes, &error));
  g_assert_no_error (error);
  g_autofree char *names2 = listing (fx->dir);
  g_assert_cmpstr (names2, ==, "layerkeep target");

  /* discard_temp_for */
  g_assert_true (g_file_set_contents (tmp, "torn", 4, NULL));
  g_assert_true (gp_safeio_discard_temp_for (path, &error));
  g_autofree char *names3 = listing (fx->dir);
  g_assert_cmpstr (names3, ==, "layerkeep target");

  /* A missing directory is fine. */
  g_autofree char *missing = g_build_filename (fx->dir, "nope", NULL);
  g_assert_true (gp_safeio_clean_stale (missing, NULL, &error));
  g_assert_no_error (error);
}

static void
test_symlink_replaced (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *secret = g_build_filename (fx->dir, "secret", NULL);
  g_autofree char *path = g_build_filename (fx->dir, "final", NULL);
  g_autofree char *tmp = gp_safeio_temp_path_for (path);
  g_assert_true (g_file_set_contents (secret, "keep me", 7, NULL));
  g_assert_cmpint (symlink (secret, path), ==, 0);
  /* Even a symlink planted at the temporary name is not written through. */
  g_assert_cmpint (symlink (secret, tmp), ==, 0);

  g_assert_true (gp_safeio_write_file (path, "new", 3, 0644, GP_SAFE_DEFAULT, &error));
  g_assert_no_error (error);
  struct stat st;
  g_assert_cmpint (lstat (path, &st), ==, 0);
  g_assert_true (S_ISREG (st.st_mode));
  g_autofree char *c1 = NULL, *c2 = NULL;
  g_assert_true (g_file_get_contents (secret, &c1, NULL, NULL));
  g_assert_cmpstr (c1, ==, "keep me");
  g_assert_true (g_file_get_contents (path, &c2, NULL, NULL));
  g_assert_cmpstr (c2, ==, "new");
  g_autofree char *names = listing (fx->dir);
  g_assert_cmpstr (names, ==, "final secret");

  /* Reading refuses a symlink, a FIFO and a directory. */
  g_autofree char *link = g_build_filename (fx->dir, "link", NULL);
  g_assert_cmpint (symlink (secret, link), ==, 0);
  g_assert_null (gp_safeio_read_file (link, 100, NULL, &error));
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_NOT_REGULAR);
  g_clear_error (&error);
  g_autofree char *fifo = g_build_filename (fx->dir, "fifo", NULL);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  g_assert_null (gp_safeio_read_file (fifo, 100, NULL, &error));
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_NOT_REGULAR);
  g_clear_error (&error);
  g_assert_null (gp_safeio_read_file (fx->dir, 100, NULL, &error));
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_NOT_REGULAR);
  g_clear_error (&error);
  g_assert_null (gp_safeio_read_file (secret, 6, NULL, &error));
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_SIZE);
  g_clear_error (&error);
  g_autofree char *missing = g_build_filename (fx->dir, "missing", NULL);
  g_assert_null (gp_safeio_read_file (missing, 6, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, missing));
}

static void
test_publish_dir (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *final = g_build_filename (fx->dir, "record", NULL);
  g_autofree char *t1 = NULL, *t2 = NULL;
  gboolean existed = TRUE;

  g_assert_true (gp_safeio_make_temp_dir (fx->dir, "layer-", 0700, &t1, &error));
  g_autofree char *f1 = g_build_filename (t1, "cache-id", NULL);
  g_assert_true (gp_safeio_write_file (f1, "first", 5, 0644, GP_SAFE_DIRECT, &error));
  g_assert_true (gp_safeio_publish_dir (t1, final, &existed, &error));
  g_assert_no_error (error);
  g_assert_false (existed);

  g_assert_true (gp_safeio_make_temp_dir (fx->dir, "layer-", 0700, &t2, &error));
  g_autofree char *f2 = g_build_filename (t2, "cache-id", NULL);
  g_assert_true (gp_safeio_write_file (f2, "second", 6, 0644, GP_SAFE_DIRECT, &error));
  /* GP_SAFE_DIRECT never replaces. */
  g_assert_false (gp_safeio_write_file (f2, "third", 5, 0644, GP_SAFE_DIRECT, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_clear_error (&error);
  g_assert_true (gp_safeio_publish_dir (t2, final, &existed, &error));
  g_assert_no_error (error);
  g_assert_true (existed);
  g_assert_false (g_file_test (t2, G_FILE_TEST_EXISTS));

  g_autofree char *cache = g_build_filename (final, "cache-id", NULL);
  g_autofree char *c = NULL;
  g_assert_true (g_file_get_contents (cache, &c, NULL, NULL));
  g_assert_cmpstr (c, ==, "first");
  g_assert_cmphex (mode_of (final), ==, 0700);
  g_assert_cmphex (mode_of (cache), ==, 0644);
  g_autofree char *names = listing (fx->dir);
  g_assert_cmpstr (names, ==, "record");
}

static void
test_link_replace (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *src = g_build_filename (fx->dir, "tar-data.json.gz", NULL);
  g_autofree char *dest = g_build_filename (fx->dir, ".migration-tardata", NULL);
  g_assert_true (g_file_set_contents (src, "gz", 2, NULL));
  g_assert_true (g_file_set_contents (dest, "stale", 5, NULL));

  for (int round = 0; round < 2; round++)
    {
      g_assert_true (gp_safeio_link_replace (src, dest, &error));
      g_assert_no_error (error);
      struct stat s1, s2;
      g_assert_cmpint (lstat (src, &s1), ==, 0);
      g_assert_cmpint (lstat (dest, &s2), ==, 0);
      g_assert_cmpuint (s1.st_ino, ==, s2.st_ino);
      g_assert_cmpuint (s1.st_nlink, ==, 2);
      g_autofree char *names = listing (fx->dir);
      g_assert_cmpstr (names, ==, ".migration-tardata tar-data.json.gz");
    }
}

static void
test_mkdir_p_not_dir (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *file = g_build_filename (fx->dir, "file", NULL);
  g_assert_true (g_file_set_contents (file, "", 0, NULL));
  g_autofree char *below = g_build_filename (file, "sub", NULL);
  g_assert_false (gp_safeio_mkdir_p (file, 0755, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_DIRECTORY);
  g_clear_error (&error);
  g_assert_false (gp_safeio_mkdir_p (below, 0755, &error));
  g_assert_nonnull (error);
}

#define CRASH_SIZE (4 * 1024 * 1024)

/* Child: rewrites @path again and again, each version CRASH_SIZE bytes of
 * one value, until killed; or _exit()s in the middle of a write. */
static void G_GNUC_NORETURN
crash_child (const char *path, gboolean exit_mid_write)
{
  static guint8 buf[64 * 1024];
  for (guint version = 1;; version++)
    {
      GpSafeFile *f = gp_safe_file_new (path, 0644, GP_SAFE_DEFAULT, NULL);
      if (f == NULL)
        _exit (3);
      memset (buf, (int) (version & 0xFF), sizeof buf);
      for (gsize off = 0; off < CRASH_SIZE; off += sizeof buf)
        {
          if (!gp_safe_file_write (f, buf, sizeof buf, NULL))
            _exit (4);
          if (exit_mid_write && off >= CRASH_SIZE / 2)
            _exit (0);
        }
      if (!gp_safe_file_commit (f, NULL))
        _exit (5);
      gp_safe_file_free (f);
    }
}

static void
check_whole_or_absent (const char *path)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return;
  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  g_assert_cmpuint (len, ==, CRASH_SIZE);
  for (gsize i = 1; i < len; i++)
    if (data[i] != data[0])
      g_error ("torn file: byte %zu differs", i);
  g_assert_cmphex (mode_of (path), ==, 0644);
}

static void
test_crash_kill (Fixture *fx, gconstpointer data)
{
  g_autofree char *path = g_build_filename (fx->dir, "victim", NULL);
  guint seen_file = 0;

  for (int round = 0; round < 12; round++)
    {
      pid_t pid = fork ();
      g_assert_cmpint (pid, >=, 0);
      if (pid == 0)
        crash_child (path, FALSE);
      g_usleep ((gulong) (round < 3 ? g_test_rand_int_range (0, 1500) : g_test_rand_int_range (2000, 40000)));
      g_assert_cmpint (kill (pid, SIGKILL), ==, 0);
      int status;
      g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
      g_assert_true (WIFSIGNALED (status));
      check_whole_or_absent (path);
      seen_file += g_file_test (path, G_FILE_TEST_EXISTS);
    }
  /* The second, complete run: stale temporaries are gone, the file whole. */
  g_assert_true (gp_safeio_write_file (path, "done", 4, 0644, GP_SAFE_DEFAULT, NULL));
  g_autofree char *names = listing (fx->dir);
  g_assert_cmpstr (names, ==, "victim");
  g_test_message ("final file present after %u of 12 kills", seen_file);
}

static void
test_crash_exit (Fixture *fx, gconstpointer data)
{
  g_autofree char *path = g_build_filename (fx->dir, "victim", NULL);
  pid_t pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    crash_child (path, TRUE);
  int status;
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
  /* Nothing under the final name; only the temporary, which a sweep removes. */
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_autofree char *names = listing (fx->dir);
  g_assert_cmpstr (names, ==, ".victim.gp-tmp");
  g_assert_true (gp_safeio_clean_stale (fx->dir, NULL, NULL));
  g_autofree char *names2 = listing (fx->dir);
  g_assert_cmpstr (names2, ==, "");
}

/* A run killed right after mkdir_p created a directory: the directory has
 * its final mode already (a rerun keeps existing directories), and no
 * temporary is left.  The child is killed by its first crash point
 * (GRAPHPIPE_TEST_CRASH_AT=1, read once per process: hence a subprocess). */
static void
test_mkdir_p_killed (gconstpointer data)
{
  guint child_umask = GPOINTER_TO_UINT (data);
  if (g_test_subprocess ())
    {
      umask (child_umask);
      g_autofree char *path = g_build_filename (g_getenv ("GP_TEST_MKDIR_DIR"), "a", "b", NULL);
      gp_safeio_mkdir_p (path, 0755, NULL);
      g_assert_not_reached ();
    }
  g_autofree char *dir = g_dir_make_tmp ("gp-safeio-XXXXXX", NULL);
  g_assert_nonnull (dir);
  g_setenv ("GP_TEST_MKDIR_DIR", dir, TRUE);
  g_setenv ("GRAPHPIPE_TEST_CRASH_AT", "1", TRUE);
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_unsetenv ("GRAPHPIPE_TEST_CRASH_AT");
  g_test_trap_assert_failed ();
  g_autofree char *a = g_build_filename (dir, "a", NULL);
  g_assert_cmphex (mode_of (a), ==, 0755);
  g_autofree char *names = listing (dir);
  g_assert_cmpstr (names, ==, "a");
  g_autofree char *inner = listing (a);
  g_assert_cmpstr (inner, ==, "");
  g_assert_true (gp_safeio_remove_tree (dir, NULL));
}

/* ---- gp-lock: one writer at a time ---- */

/* A child that takes the lock of @dir (beside: through a lock file), says
 * so on a pipe, and waits to be killed; returns its pid. */
static pid_t
lock_holder (const char *dir, gboolean beside)
{
  int p[2];
  g_assert_cmpint (pipe (p), ==, 0);
  pid_t pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      close (p[0]);
      GpLock *lock = beside ? gp_lock_beside (dir, GP_LOCK_DEFAULT, NULL, NULL)
                            : gp_lock_dir (dir, GP_LOCK_DEFAULT, NULL, NULL);
      char c = lock != NULL ? 'y' : 'n';
      if (write (p[1], &c, 1) != 1)
        _exit (1);
      for (;;)
        pause ();
    }
  close (p[1]);
  char c = 0;
  g_assert_cmpint (read (p[0], &c, 1), ==, 1);
  close (p[0]);
  g_assert_cmpint (c, ==, 'y');
  return pid;
}

static void
kill_and_reap (pid_t pid)
{
  int status;
  kill (pid, SIGKILL);
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
}

/* A second writer is refused at once, with the holder's pid and command
 * line; once the holder is killed, the lock is free (the kernel's). */
static void
test_lock_dir_busy (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  pid_t pid = lock_holder (fx->dir, FALSE);
  g_autoptr (GpLock) second = gp_lock_dir (fx->dir, GP_LOCK_DEFAULT, NULL, &error);
  g_assert_null (second);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_BUSY);
  g_autofree char *pid_text = g_strdup_printf ("(pid %d: ", (int) pid);
  g_assert_nonnull (strstr (error->message, pid_text));
  g_assert_nonnull (strstr (error->message, "test-safeio"));
  g_assert_true (g_str_has_prefix (error->message, fx->dir));
  g_autofree char *who = gp_lock_describe_holder (fx->dir);
  g_assert_nonnull (who);
  g_assert_true (g_str_has_prefix (who, pid_text + 1));
  kill_and_reap (pid);
  g_clear_error (&error);
  g_autofree char *nobody = gp_lock_describe_holder (fx->dir);
  g_assert_null (nobody);
  second = gp_lock_dir (fx->dir, GP_LOCK_DEFAULT, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (second);
  /* Nothing was written into the directory. */
  g_autofree char *names = listing (fx->dir);
  g_assert_cmpstr (names, ==, "");
}

/* Two locks in one process conflict as well; a release frees it. */
static void
test_lock_dir_same_process (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  GpLock *first = gp_lock_dir (fx->dir, GP_LOCK_DEFAULT, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (GpLock) second = gp_lock_dir (fx->dir, GP_LOCK_DEFAULT, NULL, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_BUSY);
  g_assert_null (second);
  g_clear_error (&error);
  gp_lock_release (first);
  second = gp_lock_dir (fx->dir, GP_LOCK_DEFAULT, NULL, &error);
  g_assert_no_error (error);
}

/* Where flock(2) is not supported (GRAPHPIPE_TEST_NO_FLOCK=1 stands for
 * an NFS mount without a lock manager) the lock is handed out but says
 * it holds nothing, and why; a real one says it is held. */
static void
test_lock_dir_unsupported (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  int why = -1;
  g_autoptr (GpLock) held = gp_lock_dir (fx->dir, GP_LOCK_DEFAULT, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (gp_lock_is_held (held, &why));
  g_assert_cmpint (why, ==, 0);
  g_clear_pointer (&held, gp_lock_release);

  g_setenv ("GRAPHPIPE_TEST_NO_FLOCK", "1", TRUE);
  g_autoptr (GpLock) none = gp_lock_dir (fx->dir, GP_LOCK_DEFAULT, NULL, &error);
  g_autofree char *target = g_build_filename (fx->dir, "target", NULL);
  g_autoptr (GpLock) beside = gp_lock_beside (target, GP_LOCK_DEFAULT, NULL, &error);
  g_unsetenv ("GRAPHPIPE_TEST_NO_FLOCK");
  g_assert_no_error (error);
  g_assert_false (gp_lock_is_held (none, &why));
  g_assert_cmpint (why, ==, ENOLCK);
  g_assert_false (gp_lock_is_held (beside, NULL));
}

/* A lock file per target: the same target is refused, another target of
 * the same parent is not; the file goes with the release; one left by a
 * killed holder is reused. */
static void
test_lock_beside (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *t = g_build_filename (fx->dir, "t", NULL);
  g_autofree char *u = g_build_filename (fx->dir, "u", NULL);
  pid_t pid = lock_holder (t, TRUE);
  g_autofree char *names = listing (fx->dir);
  g_assert_cmpstr (names, ==, ".t.gp-lock");
  g_autoptr (GpLock) again = gp_lock_beside (t, GP_LOCK_DEFAULT, NULL, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_BUSY);
  g_assert_null (again);
  g_autofree char *pid_text = g_strdup_printf ("(pid %d: ", (int) pid);
  g_assert_nonnull (strstr (error->message, pid_text));
  g_clear_error (&error);
  GpLock *other = gp_lock_beside (u, GP_LOCK_DEFAULT, NULL, &error);
  g_assert_no_error (error);
  g_autofree char *u_lock = g_build_filename (fx->dir, ".u.gp-lock", NULL);
  g_assert_cmpstr (gp_lock_get_path (other), ==, u_lock);
  gp_lock_release (other);
  kill_and_reap (pid);
  g_autofree char *stale = listing (fx->dir);
  g_assert_cmpstr (stale, ==, ".t.gp-lock");
  again = gp_lock_beside (t, GP_LOCK_DEFAULT, NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&again, gp_lock_release);
  g_autofree char *after = listing (fx->dir);
  g_assert_cmpstr (after, ==, "");
}

/* GP_LOCK_WAIT: waits for the holder to end. */
static void
test_lock_wait (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  pid_t pid = lock_holder (fx->dir, FALSE);
  pid_t killer = fork ();
  g_assert_cmpint (killer, >=, 0);
  if (killer == 0)
    {
      g_usleep (300000);
      kill (pid, SIGKILL);
      _exit (0);
    }
  gint64 start = g_get_monotonic_time ();
  g_autoptr (GpLock) lock = gp_lock_dir (fx->dir, GP_LOCK_WAIT, NULL, &error);
  gint64 waited = g_get_monotonic_time () - start;
  g_assert_no_error (error);
  g_assert_nonnull (lock);
  g_assert_cmpint (waited, >=, 250000);
  int status;
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_cmpint (waitpid (killer, &status, 0), ==, killer);
}

static gpointer
cancel_later (gpointer data)
{
  g_usleep (100000);
  g_cancellable_cancel (data);
  return NULL;
}

/* A wait can be cancelled. */
static void
test_lock_wait_cancelled (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GpLock) holder = gp_lock_dir (fx->dir, GP_LOCK_DEFAULT, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  GThread *t = g_thread_new ("cancel", cancel_later, cancellable);
  g_autoptr (GpLock) lock = gp_lock_dir (fx->dir, GP_LOCK_WAIT, cancellable, &error);
  g_thread_join (t);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (lock);
}

/* ---- gp-sync: the write session ---- */

static GpContext *
session_context (const char *root)
{
  GpContext *ctx = gp_context_new ();
  gp_context_set_root (ctx, root);
  gp_context_set_driver (ctx, "vfs");
  return ctx;
}

/* A session holds the store's lock from begin to end, in both modes;
 * a session on a store locked elsewhere is refused, naming the holder. */
static void
test_session_locks (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GpContext) ctx = session_context (fx->dir);
  for (int mode = GP_SYNC_BATCH; mode <= GP_SYNC_EACH; mode++)
    {
      pid_t pid = lock_holder (fx->dir, FALSE);
      g_assert_false (gp_sync_session_begin_full (ctx, mode, GP_SYNC_DEFAULT, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_BUSY);
      g_autofree char *pid_text = g_strdup_printf ("(pid %d: ", (int) pid);
      g_assert_nonnull (strstr (error->message, pid_text));
      g_clear_error (&error);
      kill_and_reap (pid);
      g_assert_true (gp_sync_session_begin_full (ctx, mode, GP_SYNC_DEFAULT, &error));
      g_assert_no_error (error);
      g_autoptr (GpLock) other = gp_lock_dir (fx->dir, GP_LOCK_DEFAULT, NULL, &error);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_BUSY);
      g_clear_error (&error);
      g_assert_true (gp_sync_session_end (ctx, &error));
      g_assert_no_error (error);
      other = gp_lock_dir (fx->dir, GP_LOCK_DEFAULT, NULL, &error);
      g_assert_no_error (error);
      g_assert_nonnull (other);
      /* A session with nothing to do writes nothing. */
      g_autofree char *names = listing (fx->dir);
      g_assert_cmpstr (names, ==, "");
    }
}

/* --sync each recovers from a crashed batch run as batch does: the
 * checkpoints go, the marker names this boot until the end, then goes;
 * a marker of this boot (a killed run) is trusted and removed. */
static void
test_session_each_recovers (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GpContext) ctx = session_context (fx->dir);
  g_autofree char *marker = g_build_filename (fx->dir, ".graphpipe-unsynced", NULL);
  g_autofree char *mapping = g_build_filename (fx->dir, ".migration-v1-images.json", NULL);
  g_autofree char *tags = g_build_filename (fx->dir, ".migration-v1-tags", NULL);

  g_setenv ("GRAPHPIPE_TEST_BOOT_ID", "after", TRUE);
  g_assert_true (g_file_set_contents (marker, "boot_id before\npid 1\n", -1, NULL));
  g_assert_true (g_file_set_contents (mapping, "", 0, NULL));
  g_assert_true (g_file_set_contents (tags, "", 0, NULL));
  g_assert_true (gp_sync_session_begin_full (ctx, GP_SYNC_EACH, GP_SYNC_DEFAULT, &error));
  g_assert_no_error (error);
  g_autofree char *during = listing (fx->dir);
  g_assert_cmpstr (during, ==, ".graphpipe-unsynced");
  g_autofree char *content = NULL;
  g_assert_true (g_file_get_contents (marker, &content, NULL, NULL));
  g_assert_true (g_str_has_prefix (content, "boot_id after\n"));
  g_assert_true (gp_sync_session_end (ctx, &error));
  g_assert_no_error (error);
  g_autofree char *after = listing (fx->dir);
  g_assert_cmpstr (after, ==, "");

  /* Killed on this boot: nothing is removed, the marker goes at the end. */
  g_assert_true (g_file_set_contents (marker, "boot_id after\npid 1\n", -1, NULL));
  g_assert_true (g_file_set_contents (mapping, "{}", -1, NULL));
  g_assert_true (gp_sync_session_begin_full (ctx, GP_SYNC_EACH, GP_SYNC_DEFAULT, &error));
  g_assert_no_error (error);
  g_assert_true (gp_sync_session_end (ctx, &error));
  g_assert_no_error (error);
  g_autofree char *kept = listing (fx->dir);
  g_assert_cmpstr (kept, ==, ".migration-v1-images.json");
  g_unsetenv ("GRAPHPIPE_TEST_BOOT_ID");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, setup, fn, teardown)
  ADD ("/safeio/write/modes-umask-077", test_modes_umask_077);
  ADD ("/safeio/write/modes-umask-000", test_modes_umask_000);
  ADD ("/safeio/write/no-temp-left", test_no_temp_left);
  ADD ("/safeio/write/no-replace", test_no_replace);
  ADD ("/safeio/dir/writers", test_dir_writers);
  ADD ("/safeio/dir/writers-deferred", test_dir_writers_deferred);
  ADD ("/safeio/dir/writers-deferred-umask-077", test_dir_writers_deferred_077);
  ADD ("/safeio/stream/commit", test_stream_commit);
  ADD ("/safeio/stream/abort", test_stream_abort);
  ADD ("/safeio/stale/cleanup", test_stale_cleanup);
  ADD ("/safeio/symlink/replaced-not-followed", test_symlink_replaced);
  ADD ("/safeio/dir/publish-exists", test_publish_dir);
  ADD ("/safeio/link/replace", test_link_replace);
  ADD ("/safeio/mkdir-p/not-dir", test_mkdir_p_not_dir);
  ADD ("/safeio/crash/sigkill", test_crash_kill);
  ADD ("/safeio/crash/exit-mid-write", test_crash_exit);
  ADD ("/lock/dir/busy-names-holder", test_lock_dir_busy);
  ADD ("/lock/dir/same-process", test_lock_dir_same_process);
  ADD ("/lock/dir/unsupported", test_lock_dir_unsupported);
  ADD ("/lock/beside/per-target", test_lock_beside);
  ADD ("/lock/wait/holder-ends", test_lock_wait);
  ADD ("/lock/wait/cancelled", test_lock_wait_cancelled);
  ADD ("/sync/session/locks", test_session_locks);
  ADD ("/sync/session/each-recovers", test_session_each_recovers);
  g_test_add_data_func ("/safeio/crash/mkdir-p-umask-022", GUINT_TO_POINTER (022), test_mkdir_p_killed);
  g_test_add_data_func ("/safeio/crash/mkdir-p-umask-077", GUINT_TO_POINTER (077), test_mkdir_p_killed);
  return g_test_run ();
}
