/* Helpers for the save tests. */
#include "config.h"

#include "save-util.h"
#include "gp-test-util.h"

#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <gio/gio.h>

static char *migrated_root_dir;
static GPtrArray *tmpdirs;

/**
 * save_util_shared_dir:
 *
 * Returns: the shared-data directory, gp_test_shared_dir()
 */
const char *
save_util_shared_dir (void)
{
  return gp_test_shared_dir ();
}

char *
save_util_golden_path (const char *name)
{
  return g_build_filename (save_util_shared_dir (), "golden", "public", name, NULL);
}

gboolean
save_util_have_golden (void)
{
  g_autofree char *p = save_util_golden_path ("migrated-root.tar.gz");
  return g_file_test (p, G_FILE_TEST_IS_REGULAR);
}

/**
 * save_util_require_golden:
 *
 * The golden data is part of the tree: when it is not there, fails the
 * running test with a message naming the missing file.
 *
 * Returns: whether the golden data is there
 */
gboolean
save_util_require_golden (void)
{
  if (save_util_have_golden ())
    return TRUE;
  g_autofree char *p = save_util_golden_path ("migrated-root.tar.gz");
  gp_test_fail_no_shared (p);
  return FALSE;
}

char *
save_util_make_tmpdir (const char *prefix)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *tmpl = g_strdup_printf ("%s-XXXXXX", prefix);
  char *dir = g_dir_make_tmp (tmpl, &error);
  g_assert_no_error (error);
  if (tmpdirs == NULL)
    tmpdirs = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (tmpdirs, g_strdup (dir));
  return dir;
}

void
save_util_rm_rf (const char *path)
{
  gp_test_rm_rf (path);
}

/* Extracted as the golden README says: numeric owners, permissions,
 * nanosecond mtimes and xattrs kept. */
gboolean
save_util_extract_root (const char *tarball, const char *dest, GError **error)
{
  const char *argv[] = { "tar", "--numeric-owner", "-p", "--xattrs", "--xattrs-include=*",
                         "-xzf", tarball, "-C", dest, NULL };
  int status;
  g_autofree char *err = NULL;
  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                     NULL, NULL, NULL, &err, &status, error))
    return FALSE;
  if (!g_spawn_check_wait_status (status, error))
    {
      g_prefix_error (error, "tar -xzf %s: %s: ", tarball, err);
      return FALSE;
    }
  return TRUE;
}

/**
 * save_util_migrated_root:
 *
 * Returns: the golden migrated root, extracted once per test program into
 *   a temporary directory (tests must not modify it)
 */
const char *
save_util_migrated_root (void)
{
  if (migrated_root_dir == NULL)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *tarball = save_util_golden_path ("migrated-root.tar.gz");
      g_autofree char *dir = save_util_make_tmpdir ("test-save-root");
      g_assert_true (save_util_extract_root (tarball, dir, &error));
      g_assert_no_error (error);
      migrated_root_dir = g_steal_pointer (&dir);
    }
  return migrated_root_dir;
}

void
save_util_cleanup (void)
{
  if (tmpdirs == NULL || g_getenv ("SAVE_TEST_KEEP") != NULL)
    return;
  for (guint i = 0; i < tmpdirs->len; i++)
    save_util_rm_rf (g_ptr_array_index (tmpdirs, i));
  g_clear_pointer (&tmpdirs, g_ptr_array_unref);
  g_clear_pointer (&migrated_root_dir, g_free);
}

GBytes *
save_util_gunzip_file (const char *path, GError **error)
{
  gzFile gz = gzopen (path, "rb");
  if (gz == NULL)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: cannot open", path);
      return NULL;
    }
  GByteArray *out = g_byte_array_new ();
  guint8 buf[65536];
  int n;
  while ((n = gzread (gz, buf, sizeof buf)) > 0)
    g_byte_array_append (out, buf, (guint) n);
  int errnum = 0;
  const char *msg = gzerror (gz, &errnum);
  if (n < 0 || errnum != Z_OK)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: gunzip failed: %s", path, msg);
      gzclose (gz);
      g_byte_array_unref (out);
      return NULL;
    }
  gzclose (gz);
  return g_byte_array_free_to_bytes (out);
}

GBytes *
save_util_read_file (const char *path)
{
  g_autoptr (GError) error = NULL;
  char *data;
  gsize len;
  if (!g_file_get_contents (path, &data, &len, &error))
    return NULL;
  return g_bytes_new_take (data, len);
}

static void
member_free (SaveMember *m)
{
  g_free (m->name);
  g_free (m);
}

static guint64
parse_octal (const guint8 *p, gsize len)
{
  guint64 v = 0;
  for (gsize i = 0; i < len && p[i] >= '0' && p[i] <= '7'; i++)
    v = v * 8 + (p[i] - '0');
  return v;
}

/**
 * save_util_tar_members:
 * @tar: a plain ustar stream (no PAX/GNU extensions are interpreted)
 *
 * Returns: (element-type SaveMember): its members, pointing into @tar
 */
GPtrArray *
save_util_tar_members (GBytes *tar, GError **error)
{
  gsize len;
  const guint8 *p = g_bytes_get_data (tar, &len);
  g_autoptr (GPtrArray) members = g_ptr_array_new_with_free_func ((GDestroyNotify) member_free);
  static const guint8 zero[512];
  gsize off = 0;

  while (off + 512 <= len)
    {
      const guint8 *h = p + off;
      if (memcmp (h, zero, 512) == 0)
        return g_steal_pointer (&members);
      SaveMember *m = g_new0 (SaveMember, 1);
      m->name = g_strndup ((const char *) h, 100);
      m->typeflag = (char) h[156];
      m->header_offset = off;
      m->header = h;
      m->size = parse_octal (h + 124, 12);
      m->data = h + 512;
      g_ptr_array_add (members, m);
      off += 512 + (m->size + 511) / 512 * 512;
    }
  g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "tar stream truncated at %" G_GSIZE_FORMAT, off);
  return NULL;
}

const SaveMember *
save_util_find_member (GPtrArray *members, const char *name)
{
  for (guint i = 0; i < members->len; i++)
    {
      const SaveMember *m = g_ptr_array_index (members, i);
      if (strcmp (m->name, name) == 0)
        return m;
    }
  return NULL;
}

char *
save_util_graphpipe_path (void)
{
  const char *env = g_getenv ("GRAPHPIPE");
  if (env && *env)
    return g_strdup (env);
  return gp_test_graphpipe_path ();
}

gboolean
save_util_have_program (const char *name)
{
  g_autofree char *p = g_find_program_in_path (name);
  return p != NULL;
}

/**
 * save_util_run:
 * @argv: the command
 * @stdout_path: (nullable): file to send standard output to; else captured
 * @out_stdout: (out) (optional): captured standard output
 * @out_stderr: (out) (optional): captured standard error
 *
 * Returns: the exit status, or -1 if it did not exit normally
 */
int
save_util_run (const char *const *argv, const char *stdout_path, char **out_stdout,
               char **out_stderr)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocessLauncher) l = g_subprocess_launcher_new (
    G_SUBPROCESS_FLAGS_STDERR_PIPE | (stdout_path ? 0 : G_SUBPROCESS_FLAGS_STDOUT_PIPE));
  if (stdout_path != NULL)
    g_subprocess_launcher_set_stdout_file_path (l, stdout_path);
  g_autoptr (GSubprocess) p = g_subprocess_launcher_spawnv (l, argv, &error);
  g_assert_no_error (error);

  g_autofree char *out = NULL, *err = NULL;
  g_subprocess_communicate_utf8 (p, NULL, NULL, stdout_path ? NULL : &out, &err, &error);
  g_assert_no_error (error);
  if (out_stdout)
    *out_stdout = g_steal_pointer (&out);
  if (out_stderr)
    *out_stderr = g_steal_pointer (&err);
  if (!g_subprocess_get_if_exited (p))
    return -1;
  return g_subprocess_get_exit_status (p);
}

int
save_util_run_graphpipe (const char *const *args, const char *stdout_path, char **out_stderr)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (argv, save_util_graphpipe_path ());
  for (const char *const *a = args; *a; a++)
    g_ptr_array_add (argv, g_strdup (*a));
  g_ptr_array_add (argv, NULL);
  g_autofree char *err = NULL;
  int status = save_util_run ((const char *const *) argv->pdata, stdout_path, NULL, &err);
  if (g_test_verbose () && err && *err)
    g_test_message ("graphpipe stderr: %s", err);
  if (out_stderr)
    *out_stderr = g_steal_pointer (&err);
  return status;
}

/* Byte equality with a useful message: the first differing offset and the
 * tar member it falls in. */
void
save_util_assert_bytes_equal (GBytes *got, GBytes *want, const char *what)
{
  gsize glen, wlen;
  const guint8 *g = g_bytes_get_data (got, &glen);
  const guint8 *w = g_bytes_get_data (want, &wlen);
  if (glen == wlen && memcmp (g, w, glen) == 0)
    return;

  gsize off = 0;
  while (off < glen && off < wlen && g[off] == w[off])
    off++;
  const char *member = "?";
  g_autoptr (GPtrArray) members = save_util_tar_members (want, NULL);
  if (members != NULL)
    for (guint i = 0; i < members->len; i++)
      {
        const SaveMember *m = g_ptr_array_index (members, i);
        if (m->header_offset <= off)
          member = m->name;
      }
  g_error ("%s: %" G_GSIZE_FORMAT " bytes, expected %" G_GSIZE_FORMAT
           "; first difference at offset %" G_GSIZE_FORMAT " (in or after member %s)",
           what, glen, wlen, off, member);
}
