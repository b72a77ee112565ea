/* Tests for core/store/gp-layerfs: driver layouts and the safe open beneath a
 * layer directory (both the openat2 path and the fallback walk). */
#include "config.h"

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "gp-layerfs.h"

#include "gp-error.h"
#include "gp-test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static char *fixture_dir; /* temp dir: layer/ and outside/ */

static void
write_file (const char *path, const char *content)
{
  g_autoptr(GError) error = NULL;
  g_file_set_contents (path, content, -1, &error);
  g_assert_no_error (error);
}

static char *
fx (const char *rel)
{
  return g_build_filename (fixture_dir, rel, NULL);
}

#define MKDIR(rel) G_STMT_START { g_autofree char *p_ = fx (rel); \
  g_assert_cmpint (mkdir (p_, 0755), ==, 0); } G_STMT_END
#define SYMLINK(target, rel) G_STMT_START { g_autofree char *p_ = fx (rel); \
  g_assert_cmpint (symlink (target, p_), ==, 0); } G_STMT_END
#define FILE_(rel, content) G_STMT_START { g_autofree char *p_ = fx (rel); \
  write_file (p_, content); } G_STMT_END

static void
build_fixture (void)
{
  g_autoptr(GError) error = NULL;
  fixture_dir = g_dir_make_tmp ("gp-layerfs-XXXXXX", &error);
  g_assert_no_error (error);

  MKDIR ("outside");
  FILE_ ("outside/secret", "secret\n");
  MKDIR ("layer");
  FILE_ ("layer/file", "hello\n");
  MKDIR ("layer/dir");
  FILE_ ("layer/dir/inner", "inner\n");
  MKDIR ("layer/etc");
  FILE_ ("layer/etc/passwd", "inside\n");
  FILE_ ("layer/\xff\xfe-latin1-\xe9", "bytes\n");
  SYMLINK ("/", "layer/to_root");
  SYMLINK ("..", "layer/to_parent");
  SYMLINK ("../outside", "layer/up");
  SYMLINK ("/etc", "layer/abs");
  SYMLINK ("file", "layer/final_link");
  SYMLINK ("dir", "layer/inner_link");
  SYMLINK ("dir/../dir", "layer/wiggle");
  SYMLINK ("loop", "layer/loop");
  SYMLINK ("pong", "layer/ping");
  SYMLINK ("ping", "layer/pong");

  g_autofree char *fifo = fx ("layer/fifo");
  g_assert_cmpint (mkfifo (fifo, 0644), ==, 0);
  g_autofree char *dev = fx ("layer/dev");
  if (mknod (dev, S_IFCHR | 0644, makedev (1, 3)) != 0)
    g_printerr ("# mknod failed (%s): device case will check MISSING\n",
                g_strerror (errno));
}

typedef struct {
  const char *id;       /* test path component */
  const char *base;     /* "layer", or an absolute path */
  const char *name;
  gssize      name_len; /* -1: strlen */
  gint        code;     /* -1: success */
  const char *content;  /* expected content on success */
} OpenCase;

static const OpenCase open_cases[] = {
  { "plain", "layer", "file", -1, -1, "hello\n" },
  { "nested", "layer", "dir/inner", -1, -1, "inner\n" },
  { "leading-slash", "layer", "/etc/passwd", -1, -1, "inside\n" },
  { "dot-segments", "layer", "./dir/../file", -1, -1, "hello\n" },
  { "double-slash", "layer", "dir//inner", -1, -1, "inner\n" },
  { "inner-symlink-dir", "layer", "inner_link/inner", -1, -1, "inner\n" },
  { "symlink-with-dotdot", "layer", "wiggle/inner", -1, -1, "inner\n" },
  { "non-utf8", "layer", "\xff\xfe-latin1-\xe9", -1, -1, "bytes\n" },
  { "dotdot-escape", "layer", "../../etc/passwd", -1,
    GP_DATA_ERROR_UNSAFE_PATH, NULL },
  { "dotdot-inner-escape", "layer", "a/../../x", -1,
    GP_DATA_ERROR_UNSAFE_PATH, NULL },
  { "dotdot-back-in", "layer", "../layer/file", -1,
    GP_DATA_ERROR_UNSAFE_PATH, NULL },
  { "symlink-to-root", "layer", "to_root/etc/passwd", -1,
    GP_DATA_ERROR_UNSAFE_PATH, NULL },
  { "symlink-to-parent", "layer", "to_parent/outside/secret", -1,
    GP_DATA_ERROR_UNSAFE_PATH, NULL },
  { "symlink-relative-out", "layer", "up/secret", -1,
    GP_DATA_ERROR_UNSAFE_PATH, NULL },
  { "symlink-absolute", "layer", "abs/passwd", -1,
    GP_DATA_ERROR_UNSAFE_PATH, NULL },
  { "symlink-loop", "layer", "loop/x", -1, GP_DATA_ERROR_UNSAFE_PATH, NULL },
  { "symlink-ping-pong", "layer", "ping/x", -1, GP_DATA_ERROR_UNSAFE_PATH,
    NULL },
  { "symlink-final", "layer", "final_link", -1, GP_DATA_ERROR_NOT_REGULAR,
    NULL },
  { "symlink-final-loop", "layer", "loop", -1, GP_DATA_ERROR_NOT_REGULAR,
    NULL },
  { "magic-link-root", "/proc/self", "root/etc/passwd", -1,
    GP_DATA_ERROR_UNSAFE_PATH, NULL },
  { "magic-link-cwd", "/proc/self", "cwd/x", -1, GP_DATA_ERROR_UNSAFE_PATH,
    NULL },
  { "magic-link-final", "/proc/self/fd", "0", -1, GP_DATA_ERROR_NOT_REGULAR,
    NULL },
  { "fifo", "layer", "fifo", -1, GP_DATA_ERROR_NOT_REGULAR, NULL },
  { "device", "layer", "dev", -1, GP_DATA_ERROR_NOT_REGULAR, NULL },
  { "directory", "layer", "dir", -1, GP_DATA_ERROR_NOT_REGULAR, NULL },
  { "directory-slash", "layer", "dir/", -1, GP_DATA_ERROR_NOT_REGULAR, NULL },
  { "base-itself", "layer", "/", -1, GP_DATA_ERROR_NOT_REGULAR, NULL },
  { "empty", "layer", "", -1, GP_DATA_ERROR_NOT_REGULAR, NULL },
  { "missing", "layer", "missing", -1, GP_DATA_ERROR_MISSING, NULL },
  { "missing-dir", "layer", "nodir/file", -1, GP_DATA_ERROR_MISSING, NULL },
  { "file-as-dir", "layer", "file/x", -1, GP_DATA_ERROR_MISSING, NULL },
  { "nul-byte", "layer", "file\0/../../x", 13, GP_DATA_ERROR_UNSAFE_PATH,
    NULL },
};

static gboolean
kernel_has_openat2 (void)
{
  struct open_how how = { .flags = O_PATH | O_DIRECTORY };
  long fd = syscall (SYS_openat2, AT_FDCWD, "/", &how, sizeof how);
  if (fd >= 0)
    close ((int) fd);
  return fd >= 0 || errno != ENOSYS;
}

static void
check_open (const OpenCase *tc, gboolean fallback)
{
  if (!fallback && !kernel_has_openat2 ())
    {
      /* The kernel's (Linux >= 5.6): the fallback is tested either way. */
      g_test_skip ("kernel has no openat2");
      return;
    }
  if (fallback)
    g_setenv ("GP_LAYERFS_NO_OPENAT2", "1", TRUE);
  else
    g_unsetenv ("GP_LAYERFS_NO_OPENAT2");

  g_autoptr(GError) error = NULL;
  g_autofree char *base = g_path_is_absolute (tc->base)
                          ? g_strdup (tc->base) : fx (tc->base);
  g_autoptr(GpLayerDir) dir = gp_layer_dir_open (base, &error);
  g_assert_no_error (error);

  gsize len = tc->name_len < 0 ? strlen (tc->name) : (gsize) tc->name_len;
  struct stat st;
  int fd = gp_layer_dir_open_file (dir, tc->name, len, &st, &error);
  g_unsetenv ("GP_LAYERFS_NO_OPENAT2");

  if (tc->code < 0)
    {
      g_assert_no_error (error);
      g_assert_cmpint (fd, >=, 0);
      g_assert_true (S_ISREG (st.st_mode));
      char buf[64] = { 0 };
      ssize_t n = read (fd, buf, sizeof buf - 1);
      close (fd);
      g_assert_cmpint (n, ==, (gssize) strlen (tc->content));
      g_assert_cmpstr (buf, ==, tc->content);
      return;
    }

  gint code = tc->code;
  if (g_str_equal (tc->id, "device"))
    {
      g_autofree char *dev = fx ("layer/dev");
      struct stat dst;
      if (lstat (dev, &dst) != 0)
        code = GP_DATA_ERROR_MISSING;
    }
  g_assert_error (error, GP_DATA_ERROR, code);
  g_assert_cmpint (fd, ==, -1);
  /* The message names the layer directory. */
  g_assert_nonnull (strstr (error->message, base));
}

static void
test_open_openat2 (gconstpointer data)
{
  check_open (data, FALSE);
}

static void
test_open_fallback (gconstpointer data)
{
  check_open (data, TRUE);
}

static void
test_open_message (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *base = fx ("layer");
  g_autoptr(GpLayerDir) dir = gp_layer_dir_open (base, &error);
  g_assert_no_error (error);
  int fd = gp_layer_dir_open_file (dir, "../\xff" "x", 5, NULL, &error);
  g_assert_cmpint (fd, ==, -1);
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_UNSAFE_PATH);
  g_autofree char *expected = g_strdup_printf ("%s: entry '../\\xffx': ", base);
  g_assert_true (g_str_has_prefix (error->message, expected));
}

static void
test_layer_dir_missing (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = fx ("nope");
  GpLayerDir *dir = gp_layer_dir_open (path, &error);
  g_assert_null (dir);
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING);
  g_clear_error (&error);

  g_autofree char *file = fx ("layer/file");
  dir = gp_layer_dir_open (file, &error);
  g_assert_null (dir);
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING);
}


/* The driver's layer directory is resolved beneath the root: a layer
 * directory that is a symlink out of the root is refused, one that stays
 * inside it is followed. */
static void
test_layer_dir_beneath_root (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *top = g_dir_make_tmp ("gp-layerfs-XXXXXX", NULL);
  g_autofree char *root = g_build_filename (top, "root", NULL);
  g_autofree char *outside = g_build_filename (top, "outside", NULL);
  g_autofree char *vfs = g_build_filename (root, "vfs", "dir", NULL);
  g_autofree char *inside = g_build_filename (root, "elsewhere", NULL);
  g_assert_cmpint (g_mkdir_with_parents (vfs, 0755), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (outside, 0755), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (inside, 0755), ==, 0);
  const char *out_id = "1111111111111111111111111111111111111111111111111111111111111111";
  const char *in_id = "2222222222222222222222222222222222222222222222222222222222222222";
  g_autofree char *out_link = g_build_filename (vfs, out_id, NULL);
  g_autofree char *in_link = g_build_filename (vfs, in_id, NULL);
  g_assert_cmpint (symlink (outside, out_link), ==, 0);
  g_assert_cmpint (symlink ("../../elsewhere", in_link), ==, 0);
  const GpDriver *d = gp_driver_lookup ("vfs", &error);
  g_assert_no_error (error);

  GpLayerDir *dir = gp_layer_dir_open_driver (d, root, out_id, &error);
  g_assert_null (dir);
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_UNSAFE_PATH);
  g_autofree char *expected = g_strdup_printf ("%s: layer directory leads out of the data root %s", out_link, root);
  g_assert_true (g_str_has_prefix (error->message, expected));
  g_clear_error (&error);

  dir = gp_layer_dir_open_driver (d, root, in_id, &error);
  g_assert_no_error (error);
  g_assert_nonnull (dir);
  gp_layer_dir_unref (dir);
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", top);
  g_assert_cmpint (system (cmd), ==, 0);
}

/* ---- drivers ---- */

typedef struct {
  const char *driver;
  const char *layer_dir;   /* relative to root; NULL = refused */
  gboolean    full_rootfs;
  const char *exists_path; /* what makes Exists true */
  gboolean    exists_is_file;
} DriverCase;

static const DriverCase driver_cases[] = {
  { "vfs", "vfs/dir/ID", TRUE, "vfs/dir/ID", FALSE },
  { "aufs", "aufs/diff/ID", FALSE, "aufs/layers/ID", TRUE },
  { "overlay", "overlay/ID/root", TRUE, "overlay/ID", FALSE },
  { "overlay2", "overlay2/ID/diff", FALSE, "overlay2/ID", FALSE },
  { "btrfs", "btrfs/subvolumes/ID", TRUE, "btrfs/subvolumes/ID", FALSE },
};

static void
test_driver_layout (gconstpointer data)
{
  const DriverCase *tc = data;
  g_autoptr(GError) error = NULL;
  const GpDriver *d = gp_driver_lookup (tc->driver, &error);
  g_assert_no_error (error);
  g_assert_nonnull (d);
  g_assert_cmpstr (gp_driver_get_name (d), ==, tc->driver);
  g_assert_cmpint (gp_driver_has_full_rootfs (d), ==, tc->full_rootfs);

  g_autofree char *root = g_dir_make_tmp ("gp-root-XXXXXX", &error);
  g_assert_no_error (error);
  const char *ids[] = { "abc123", "abc123-init" };
  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      g_autofree char *dir = gp_driver_get_layer_dir (d, root, ids[i], &error);
      g_assert_no_error (error);
      g_auto(GStrv) parts = g_strsplit (tc->layer_dir, "ID", 2);
      g_autofree char *rel = g_strconcat (parts[0], ids[i], parts[1], NULL);
      g_autofree char *expected = g_build_filename (root, rel, NULL);
      g_assert_cmpstr (dir, ==, expected);

      g_assert_false (gp_driver_layer_exists (d, root, ids[i]));
      g_auto(GStrv) eparts = g_strsplit (tc->exists_path, "ID", 2);
      g_autofree char *erel = g_strconcat (eparts[0], ids[i], eparts[1], NULL);
      g_autofree char *epath = g_build_filename (root, erel, NULL);
      g_autofree char *eparent = g_path_get_dirname (epath);
      g_assert_cmpint (g_mkdir_with_parents (eparent, 0755), ==, 0);
      if (tc->exists_is_file)
        write_file (epath, "");
      else
        g_assert_cmpint (mkdir (epath, 0755), ==, 0);
      g_assert_true (gp_driver_layer_exists (d, root, ids[i]));
    }

  const char *bad_ids[] = { "", ".", "..", "../x", "a/b" };
  for (guint i = 0; i < G_N_ELEMENTS (bad_ids); i++)
    {
      char *dir = gp_driver_get_layer_dir (d, root, bad_ids[i], &error);
      g_assert_null (dir);
      g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_UNSAFE_PATH);
      g_clear_error (&error);
      g_assert_false (gp_driver_layer_exists (d, root, bad_ids[i]));
    }
  gp_test_rm_rf (root);
}

static void
test_driver_aufs_exists_lstat (void)
{
  /* aufs uses lstat: a dangling symlink counts as existing. */
  g_autoptr(GError) error = NULL;
  const GpDriver *d = gp_driver_lookup ("aufs", &error);
  g_assert_no_error (error);
  g_autofree char *root = g_dir_make_tmp ("gp-root-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *layers = g_build_filename (root, "aufs", "layers", NULL);
  g_assert_cmpint (g_mkdir_with_parents (layers, 0755), ==, 0);
  g_autofree char *link = g_build_filename (layers, "dangling", NULL);
  g_assert_cmpint (symlink ("/nonexistent/x", link), ==, 0);
  g_assert_true (gp_driver_layer_exists (d, root, "dangling"));

  const GpDriver *v = gp_driver_lookup ("vfs", &error);
  g_autofree char *vdir = g_build_filename (root, "vfs", "dir", NULL);
  g_assert_cmpint (g_mkdir_with_parents (vdir, 0755), ==, 0);
  g_autofree char *vlink = g_build_filename (vdir, "dangling", NULL);
  g_assert_cmpint (symlink ("/nonexistent/x", vlink), ==, 0);
  g_assert_false (gp_driver_layer_exists (v, root, "dangling"));
  gp_test_rm_rf (root);
}

typedef struct {
  const char *id;
  const char *name;
  const char *message_part;
} RefusedCase;

static const RefusedCase refused_cases[] = {
  { "devicemapper", "devicemapper",
    "storage driver 'devicemapper' needs a mount" },
  { "zfs", "zfs", "storage driver 'zfs' needs a mount" },
  { "unknown", "foo", "no such driver 'foo'" },
  { "empty", "", "no such driver ''" },
  { "upper-case", "VFS", "no such driver 'VFS'" },
};

static void
test_driver_refused (gconstpointer data)
{
  const RefusedCase *tc = data;
  g_autoptr(GError) error = NULL;
  const GpDriver *d = gp_driver_lookup (tc->name, &error);
  g_assert_null (d);
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, tc->message_part));
}

static void
test_driver_detect (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *root = g_dir_make_tmp ("gp-root-XXXXXX", &error);
  g_assert_no_error (error);

  g_auto(GStrv) none = gp_driver_detect (root);
  g_assert_cmpuint (g_strv_length (none), ==, 0);

  g_autofree char *repos = g_build_filename (root, "repositories-vfs", NULL);
  write_file (repos, "{}");
  g_auto(GStrv) one = gp_driver_detect (root);
  g_assert_cmpuint (g_strv_length (one), ==, 1);
  g_assert_cmpstr (one[0], ==, "vfs");

  g_autofree char *aufs = g_build_filename (root, "aufs", NULL);
  g_assert_cmpint (mkdir (aufs, 0755), ==, 0);
  g_autofree char *dm = g_build_filename (root, "devicemapper", NULL);
  g_assert_cmpint (mkdir (dm, 0755), ==, 0);
  /* Unknown names and files named like a driver home are ignored. */
  g_autofree char *other = g_build_filename (root, "repositories-foo", NULL);
  write_file (other, "{}");
  g_autofree char *zfs = g_build_filename (root, "zfs", NULL);
  write_file (zfs, "");
  g_auto(GStrv) several = gp_driver_detect (root);
  g_assert_cmpuint (g_strv_length (several), ==, 3);
  g_assert_cmpstr (several[0], ==, "aufs");
  g_assert_cmpstr (several[1], ==, "devicemapper");
  g_assert_cmpstr (several[2], ==, "vfs");
  gp_test_rm_rf (root);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  build_fixture ();

  for (guint i = 0; i < G_N_ELEMENTS (open_cases); i++)
    {
      g_autofree char *p1 = g_strdup_printf ("/layerfs/open/openat2/%s",
                                             open_cases[i].id);
      g_autofree char *p2 = g_strdup_printf ("/layerfs/open/fallback/%s",
                                             open_cases[i].id);
      g_test_add_data_func (p1, &open_cases[i], test_open_openat2);
      g_test_add_data_func (p2, &open_cases[i], test_open_fallback);
    }
  g_test_add_func ("/layerfs/open/message", test_open_message);
  g_test_add_func ("/layerfs/layer-dir/missing", test_layer_dir_missing);
  g_test_add_func ("/layerfs/layer-dir/beneath-root", test_layer_dir_beneath_root);
  for (guint i = 0; i < G_N_ELEMENTS (driver_cases); i++)
    {
      g_autofree char *p = g_strdup_printf ("/layerfs/driver/layout/%s",
                                            driver_cases[i].driver);
      g_test_add_data_func (p, &driver_cases[i], test_driver_layout);
    }
  g_test_add_func ("/layerfs/driver/aufs-exists-lstat",
                   test_driver_aufs_exists_lstat);
  for (guint i = 0; i < G_N_ELEMENTS (refused_cases); i++)
    {
      g_autofree char *p = g_strdup_printf ("/layerfs/driver/refused/%s",
                                            refused_cases[i].id);
      g_test_add_data_func (p, &refused_cases[i], test_driver_refused);
    }
  g_test_add_func ("/layerfs/driver/detect", test_driver_detect);

  int ret = g_test_run ();
  gp_test_rm_rf (fixture_dir);
  g_free (fixture_dir);
  return ret;
}
