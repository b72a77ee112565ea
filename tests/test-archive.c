/* Tests for core/tar/gp-archive: Docker's archiver and the fallback Diff. */
#include "config.h"

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "gp-layerfs-archive.h"

#include "gp-error.h"
#include "gp-test-util.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <json-glib/json-glib.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

#define GOLDEN_ID "7b316fc6845eecf7f19e341bb2fa2908d448267ae8695e08afef4f189f83344e"

/* ---- helpers ---- */

typedef struct {
  GByteArray *data;
  gsize       max_write;
} Sink;

static gboolean
collect (gpointer user_data, const void *buf, gsize len, GError **error)
{
  Sink *sink = user_data;
  g_byte_array_append (sink->data, buf, len);
  sink->max_write = MAX (sink->max_write, len);
  return TRUE;
}

static void
sink_init (Sink *sink)
{
  sink->data = g_byte_array_new ();
  sink->max_write = 0;
}

static void
sink_clear (Sink *sink)
{
  g_clear_pointer (&sink->data, g_byte_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Sink, sink_clear)

/* Creates @path (relative to @base) with content, mode, owner, mtime. */
static void
make_file (const char *base, const char *rel, const char *content,
           mode_t mode, gint64 mtime)
{
  g_autofree char *p = g_build_filename (base, rel, NULL);
  g_autoptr(GError) error = NULL;
  g_file_set_contents (p, content, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (chown (p, 0, 0), ==, 0);
  g_assert_cmpint (chmod (p, mode), ==, 0);
  struct timespec ts[2] = { { mtime, 0 }, { mtime, 0 } };
  g_assert_cmpint (utimensat (AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW), ==, 0);
}

static void
make_dir (const char *base, const char *rel, mode_t mode, gint64 mtime)
{
  g_autofree char *p = g_build_filename (base, rel, NULL);
  if (mkdir (p, mode) != 0)
    g_assert_cmpint (errno, ==, EEXIST);
  g_assert_cmpint (chown (p, 0, 0), ==, 0);
  g_assert_cmpint (chmod (p, mode), ==, 0);
  struct timespec ts[2] = { { mtime, 0 }, { mtime, 0 } };
  g_assert_cmpint (utimensat (AT_FDCWD, p, ts, 0), ==, 0);
}

static void
set_mtime (const char *base, const char *rel, gint64 mtime)
{
  g_autofree char *p = g_build_filename (base, rel, NULL);
  struct timespec ts[2] = { { mtime, 0 }, { mtime, 0 } };
  g_assert_cmpint (utimensat (AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW), ==, 0);
}

static void
make_hardlink (const char *from_base, const char *from, const char *to_base,
               const char *to)
{
  g_autofree char *a = g_build_filename (from_base, from, NULL);
  g_autofree char *b = g_build_filename (to_base, to, NULL);
  g_assert_cmpint (link (a, b), ==, 0);
}

static char *
tmp_dir (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("gp-archive-XXXXXX", &error);
  g_assert_no_error (error);
  return dir;
}

static GpLayerDir *
open_dir (const char *path)
{
  g_autoptr(GError) error = NULL;
  GpLayerDir *dir = gp_layer_dir_open (path, &error);
  g_assert_no_error (error);
  return dir;
}

static char *
sha256_hex (GByteArray *data)
{
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, data->data, data->len);
}

/* Independent raw ustar walk (no PAX support needed by its callers):
 * one line per entry, "<name> <typeflag-char or \\0> <mode field> <size>". */
static char *
raw_listing (GByteArray *tar)
{
  GString *out = g_string_new (NULL);
  gsize off = 0;
  while (off + 512 <= tar->len)
    {
      const guint8 *h = tar->data + off;
      gboolean zero = TRUE;
      for (int i = 0; i < 512; i++)
        zero = zero && h[i] == 0;
      if (zero)
        break;
      char name[257] = { 0 };
      if (h[345])
        g_snprintf (name, sizeof name, "%.155s/%.100s", h + 345, h);
      else
        g_snprintf (name, sizeof name, "%.100s", h);
      char mode[8] = { 0 };
      memcpy (mode, h + 100, 7);
      gint64 size = g_ascii_strtoll ((const char *) h + 124, NULL, 8);
      g_string_append_printf (out, "%s %s %s %" G_GINT64_FORMAT "\n", name,
                              h[156] ? (char[]) { (char) h[156], 0 } : "\\0",
                              mode, size);
      off += 512 + ((size + 511) / 512) * 512;
    }
  g_assert_cmpuint (off + 1024, ==, tar->len);
  return g_string_free (out, FALSE);
}

/* libarchive's view: "<path> <type> <perm> <uid>:<gid> <size> [extra]". */
static char *
libarchive_listing (GByteArray *tar)
{
  struct archive *ar = archive_read_new ();
  archive_read_support_format_tar (ar);
  g_assert_cmpint (archive_read_open_memory (ar, tar->data, tar->len), ==,
                   ARCHIVE_OK);
  GString *out = g_string_new (NULL);
  struct archive_entry *e;
  int r;
  while ((r = archive_read_next_header (ar, &e)) == ARCHIVE_OK)
    {
      char type = '?';
      switch (archive_entry_filetype (e))
        {
        case AE_IFREG: type = 'f'; break;
        case AE_IFDIR: type = 'd'; break;
        case AE_IFLNK: type = 'l'; break;
        case AE_IFCHR: type = 'c'; break;
        case AE_IFBLK: type = 'b'; break;
        case AE_IFIFO: type = 'p'; break;
        case AE_IFSOCK: type = 's'; break;
        }
      if (archive_entry_hardlink (e))
        type = 'h';
      g_string_append_printf (out, "%s %c %04o %d:%d %" G_GINT64_FORMAT,
                              archive_entry_pathname (e), type,
                              (unsigned) archive_entry_perm (e),
                              (int) archive_entry_uid (e),
                              (int) archive_entry_gid (e),
                              (gint64) archive_entry_size (e));
      if (archive_entry_hardlink (e))
        g_string_append_printf (out, " => %s", archive_entry_hardlink (e));
      if (archive_entry_symlink (e))
        g_string_append_printf (out, " -> %s", archive_entry_symlink (e));
      if (type == 'c' || type == 'b')
        g_string_append_printf (out, " %u,%u",
                                (unsigned) archive_entry_rdevmajor (e),
                                (unsigned) archive_entry_rdevminor (e));
      archive_entry_xattr_reset (e);
      const char *xname;
      const void *xval;
      size_t xlen;
      while (archive_entry_xattr_next (e, &xname, &xval, &xlen) == ARCHIVE_OK)
        {
          g_string_append_printf (out, " xattr:%s=", xname);
          for (size_t i = 0; i < xlen; i++)
            g_string_append_printf (out, "%02x", ((const guint8 *) xval)[i]);
        }
      if (type == 'f' && archive_entry_size (e) > 0
          && archive_entry_size (e) < 64)
        {
          char buf[64] = { 0 };
          la_ssize_t n = archive_read_data (ar, buf, sizeof buf - 1);
          g_assert_cmpint (n, ==, archive_entry_size (e));
          g_string_append_printf (out, " \"%s\"", buf);
        }
      g_string_append_c (out, '\n');
    }
  if (r != ARCHIVE_EOF)
    g_error ("libarchive: %s", archive_error_string (ar));
  archive_read_free (ar);
  return g_string_free (out, FALSE);
}

/* ---- §9.2 vector ---- */

static void
build_vector_layer (const char *layer)
{
  make_dir (layer, "data", 0755, 1446330174);
  make_file (layer, "data/x", "x\n", 0644, 1446330174);
  set_mtime (layer, "data", 1446330174);
}

static void
test_vector_9_2 (void)
{
  g_autofree char *tmp = tmp_dir ();
  build_vector_layer (tmp);
  g_autoptr(GpLayerDir) dir = open_dir (tmp);
  g_autoptr(GError) error = NULL;

  g_auto(Sink) a;
  sink_init (&a);
  g_assert_true (gp_archive_tar_dir (dir, GP_ARCHIVE_NONE, collect, &a, NULL,
                                     &error));
  g_assert_no_error (error);
  g_assert_cmpuint (a.data->len, ==, 2560);
  g_autofree char *sum = sha256_hex (a.data);
  g_assert_cmpstr (sum, ==,
                   "e54c0ca04a16798bfd518dd5c4acf5589d18b8826fa9c08e7123e43ad3271b31");
  g_autofree char *raw = raw_listing (a.data);
  g_assert_cmpstr (raw, ==, "data/ 5 0040755 0\ndata/x 0 0100644 2\n");

  /* The vfs fallback Diff of a base layer is the same tar. */
  const GpDriver *vfs = gp_driver_lookup ("vfs", &error);
  g_auto(Sink) b;
  sink_init (&b);
  g_assert_true (gp_archive_driver_diff (vfs, dir, NULL, collect, &b, NULL,
                                         &error));
  g_assert_no_error (error);
  g_assert_cmpmem (a.data->data, a.data->len, b.data->data, b.data->len);
  gp_test_rm_rf (tmp);
}

/* ---- golden legacy root ---- */

static gint64
tardata_tar_size (const char *path)
{
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  gint64 total = 0;
  for (guint i = 0; lines[i]; i++)
    {
      if (lines[i][0] == '\0')
        continue;
      g_autoptr(JsonParser) parser = json_parser_new ();
      g_assert_true (json_parser_load_from_data (parser, lines[i], -1, &error));
      JsonObject *o = json_node_get_object (json_parser_get_root (parser));
      if (json_object_get_int_member (o, "type") == 2)
        {
          gsize n = 0;
          g_free (g_base64_decode (json_object_get_string_member (o, "payload"),
                                   &n));
          total += (gint64) n;
        }
      else if (json_object_has_member (o, "size"))
        total += json_object_get_int_member (o, "size");
    }
  return total;
}

static void
test_golden_legacy_root (void)
{
  g_autofree char *tarball = g_build_filename (gp_test_shared_dir (), "golden", "public",
                                               "legacy-root.tar.gz", NULL);
  if (!g_file_test (tarball, G_FILE_TEST_EXISTS))
    {
      gp_test_fail_no_shared (tarball);
      return;
    }
  if (geteuid () != 0)
    {
      gp_test_skip_required ("extracting with owners and xattrs needs root");
      return;
    }
  g_autofree char *tmp = tmp_dir ();
  g_autoptr(GError) error = NULL;
  const char *argv[] = { "tar", "--numeric-owner", "-p", "--xattrs",
                         "--xattrs-include=*", "-xzf", tarball, "-C", tmp,
                         NULL };
  int status = 0;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH,
                               NULL, NULL, NULL, NULL, &status, &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, &error));
  g_assert_no_error (error);

  g_autofree char *layer = g_build_filename (tmp, "vfs", "dir", GOLDEN_ID, NULL);
  g_autoptr(GpLayerDir) dir = open_dir (layer);
  g_auto(Sink) s;
  sink_init (&s);
  const GpDriver *vfs = gp_driver_lookup ("vfs", &error);
  g_assert_true (gp_archive_driver_diff (vfs, dir, NULL, collect, &s, NULL,
                                         &error));
  g_assert_no_error (error);

  /* expected/ids.txt: diff=sha256:9557…141a for this v1 image. */
  g_autofree char *ids_path = g_build_filename (gp_test_shared_dir (), "golden",
                                                "public", "expected", "ids.txt",
                                                NULL);
  g_autofree char *ids = NULL;
  g_assert_true (g_file_get_contents (ids_path, &ids, NULL, NULL));
  g_autofree char *sum = sha256_hex (s.data);
  g_autofree char *needle = g_strdup_printf ("diff=sha256:%s\tchain=", sum);
  g_assert_nonnull (strstr (ids, needle));
  g_assert_cmpstr (sum, ==,
                   "9557245093c19eb29b37d4dedb701b1c9821a906d8724bd4fa8ef05f32be141a");

  /* Size: what Docker's tar-split of this layer adds up to. */
  g_autofree char *tardata = g_build_filename (
      gp_test_shared_dir (), "golden", "public", "expected", "files", "graph",
      GOLDEN_ID, ".migration-tardata.gunzipped", NULL);
  g_assert_cmpint ((gint64) s.data->len, ==, tardata_tar_size (tardata));
  gp_test_rm_rf (tmp);
}

/* ---- special files ---- */

static void
make_socket (const char *path)
{
  int fd = socket (AF_UNIX, SOCK_STREAM, 0);
  g_assert_cmpint (fd, >=, 0);
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  g_assert_cmpuint (strlen (path), <, sizeof sa.sun_path);
  strcpy (sa.sun_path, path);
  g_assert_cmpint (bind (fd, (struct sockaddr *) &sa, sizeof sa), ==, 0);
  close (fd);
}

static void
test_special_files (void)
{
  if (geteuid () != 0)
    {
      gp_test_skip_required ("mknod and chown need root");
      return;
    }
  g_autofree char *tmp = tmp_dir ();
  const gint64 t = 1446330174;
  g_autofree char *p = NULL;

  p = g_build_filename (tmp, "blk", NULL);
  g_assert_cmpint (mknod (p, S_IFBLK | 0640, makedev (7, 0)), ==, 0);
  g_clear_pointer (&p, g_free);
  make_file (tmp, "cap", "c", 0755, t);
  /* v2 capability data: CAP_NET_BIND_SERVICE permitted. */
  static const guint8 capdata[20] = { 0x00, 0x00, 0x00, 0x02, 0x00, 0x04 };
  p = g_build_filename (tmp, "cap", NULL);
  gboolean have_cap = setxattr (p, "security.capability", capdata,
                                sizeof capdata, 0) == 0;
  g_clear_pointer (&p, g_free);
  p = g_build_filename (tmp, "chr", NULL);
  g_assert_cmpint (mknod (p, S_IFCHR | 0600, makedev (259, 70000)), ==, 0);
  g_clear_pointer (&p, g_free);
  p = g_build_filename (tmp, "fifo", NULL);
  g_assert_cmpint (mkfifo (p, 0644), ==, 0);
  g_clear_pointer (&p, g_free);
  make_file (tmp, "h1", "hard", 0644, t);
  make_hardlink (tmp, "h1", tmp, "h2");
  p = g_build_filename (tmp, "link", NULL);
  g_assert_cmpint (symlink ("target/x", p), ==, 0);
  g_clear_pointer (&p, g_free);
  p = g_build_filename (tmp, "root", NULL);
  g_assert_cmpint (symlink ("/", p), ==, 0);
  g_clear_pointer (&p, g_free);
  p = g_build_filename (tmp, "sock", NULL);
  make_socket (p);
  g_assert_cmpint (chmod (p, 0755), ==, 0);
  g_clear_pointer (&p, g_free);
  make_file (tmp, "suid", "", 04755, t);
  make_file (tmp, "z\xc3\xa9", "e", 0644, t);
  p = g_build_filename (tmp, "owned", NULL);
  g_assert_cmpint (mkdir (p, 0700), ==, 0);
  g_assert_cmpint (chown (p, 1000, 2000), ==, 0);
  g_clear_pointer (&p, g_free);

  g_autoptr(GpLayerDir) dir = open_dir (tmp);
  g_autoptr(GError) error = NULL;
  g_auto(Sink) s;
  sink_init (&s);
  g_assert_true (gp_archive_tar_dir (dir, GP_ARCHIVE_NONE, collect, &s, NULL,
                                     &error));
  g_assert_no_error (error);

  g_autofree char *list = libarchive_listing (s.data);
  g_autofree char *expected = g_strdup_printf (
      "blk b 0640 0:0 0 7,0\n"
      "cap f 0755 0:0 1%s \"c\"\n"
      "chr c 0600 0:0 0 259,70000\n"
      "fifo p 0644 0:0 0\n"
      "h1 f 0644 0:0 4 \"hard\"\n"
      "h2 h 0644 0:0 0 => h1\n"
      "link l 0777 0:0 0 -> target/x\n"
      "owned/ d 0700 1000:2000 0\n"
      "root l 0777 0:0 0 -> /\n"
      "sock f 0755 0:0 0\n" /* type byte 0x00 reads as a file */
      "suid f 4755 0:0 0\n"
      "z\xc3\xa9 f 0644 0:0 1 \"e\"\n",
      have_cap ? " xattr:security.capability=0000000200040000000000000000000000000000" : "");
  g_assert_cmpstr (list, ==, expected);

  /* Raw fields libarchive does not show: mode type bits, socket type byte,
   * device numbers as Docker computes them. */
  const guint8 *h = s.data->data;
  gsize off = 0;
  gboolean saw_sock = FALSE, saw_chr = FALSE;
  while (off + 512 <= s.data->len && h[off])
    {
      const guint8 *b = h + off;
      gint64 size = g_ascii_strtoll ((const char *) b + 124, NULL, 8);
      if (strcmp ((const char *) b, "sock") == 0)
        {
          g_assert_cmpint (b[156], ==, 0);
          g_assert_cmpmem (b + 100, 8, "0140755", 8);
          saw_sock = TRUE;
        }
      if (strcmp ((const char *) b, "chr") == 0)
        {
          g_assert_cmpmem (b + 100, 8, "0020600", 8);
          g_assert_cmpmem (b + 329, 8, "0000403", 8);
          g_assert_cmpmem (b + 337, 8, "0210560", 8);
          saw_chr = TRUE;
        }
      if (strcmp ((const char *) b, "h2") == 0)
        g_assert_cmpmem (b + 100, 8, "0100644", 8);
      if (strcmp ((const char *) b, "suid") == 0)
        g_assert_cmpmem (b + 100, 8, "0104755", 8);
      off += 512 + ((size + 511) / 512) * 512;
    }
  g_assert_true (saw_sock && saw_chr);
  if (!have_cap)
    g_test_message ("security.capability not settable here; PAX xattr "
                    "part not checked");
  gp_test_rm_rf (tmp);
}

/* ---- streaming ---- */

static void
test_streaming (void)
{
  g_autofree char *tmp = tmp_dir ();
  g_autofree char *p = g_build_filename (tmp, "big", NULL);
  /* 3 MiB + 7 of pattern bytes. */
  gsize size = 3 * 1024 * 1024 + 7;
  {
    FILE *f = fopen (p, "wb");
    g_assert_nonnull (f);
    for (gsize i = 0; i < size; i++)
      fputc ((int) (i * 7 % 251), f);
    fclose (f);
  }
  g_autoptr(GpLayerDir) dir = open_dir (tmp);
  g_autoptr(GError) error = NULL;
  g_auto(Sink) s;
  sink_init (&s);
  g_assert_true (gp_archive_tar_dir (dir, GP_ARCHIVE_NONE, collect, &s, NULL,
                                     &error));
  g_assert_no_error (error);
  g_assert_cmpuint (s.max_write, <=, 128 * 1024);
  g_assert_cmpuint (s.data->len, ==, 512 + ((size + 511) / 512) * 512 + 1024);
  for (gsize i = 0; i < size; i += 4099)
    g_assert_cmpint (s.data->data[512 + i], ==, (guint8) (i * 7 % 251));

  /* Cancellation is checked between files. */
  g_autoptr(GCancellable) c = g_cancellable_new ();
  g_cancellable_cancel (c);
  g_auto(Sink) s2;
  sink_init (&s2);
  g_assert_false (gp_archive_tar_dir (dir, GP_ARCHIVE_NONE, collect, &s2, c,
                                      &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  gp_test_rm_rf (tmp);
}

/* ---- aufs excludes ---- */

static void
test_aufs_excludes (void)
{
  g_autofree char *tmp = tmp_dir ();
  const gint64 t = 1446330174;
  make_file (tmp, ".wh..wh.aufs", "", 0644, t);
  make_dir (tmp, ".wh..wh.orph", 0755, t);
  make_file (tmp, ".wh..wh.orph/f", "x", 0644, t);
  make_dir (tmp, ".wh..wh.plnk", 0755, t);
  make_dir (tmp, ".wh..wh.plnk/sub", 0755, t);
  make_file (tmp, ".wh..wh..opq", "", 0644, t);
  make_file (tmp, ".wh.deleted", "", 0644, t);
  make_file (tmp, "file", "f", 0644, t);
  make_dir (tmp, "sub", 0755, t);
  make_file (tmp, "sub/.wh..wh.aufs", "", 0644, t);
  make_file (tmp, "sub/.wh..wh..opq", "", 0644, t);
  set_mtime (tmp, "sub", t);

  g_autoptr(GpLayerDir) dir = open_dir (tmp);
  g_autoptr(GError) error = NULL;
  const GpDriver *aufs = gp_driver_lookup ("aufs", &error);
  g_auto(Sink) s;
  sink_init (&s);
  g_assert_true (gp_archive_driver_diff (aufs, dir, dir, collect, &s, NULL,
                                         &error));
  g_assert_no_error (error);
  g_autofree char *raw = raw_listing (s.data);
  g_assert_cmpstr (raw, ==,
                   ".wh..wh..opq 0 0100644 0\n"
                   ".wh.deleted 0 0100644 0\n"
                   "file 0 0100644 1\n"
                   "sub/ 5 0040755 0\n"
                   "sub/.wh..wh..opq 0 0100644 0\n"
                   "sub/.wh..wh.aufs 0 0100644 0\n");

  /* Without the excludes everything is there. */
  g_auto(Sink) all;
  sink_init (&all);
  g_assert_true (gp_archive_tar_dir (dir, GP_ARCHIVE_NONE, collect, &all, NULL,
                                     &error));
  g_autofree char *raw_all = raw_listing (all.data);
  g_assert_nonnull (strstr (raw_all, ".wh..wh.orph/f 0 0100644 1\n"));
  g_assert_nonnull (strstr (raw_all, ".wh..wh.plnk/sub/ 5"));

  /* overlay2 has no fallback Diff. */
  const GpDriver *o2 = gp_driver_lookup ("overlay2", &error);
  g_auto(Sink) none;
  sink_init (&none);
  g_assert_false (gp_archive_driver_diff (o2, dir, NULL, collect, &none, NULL,
                                          &error));
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_UNSUPPORTED);
  gp_test_rm_rf (tmp);
}

/* ---- naive diff ---- */

static void
test_naive_diff (void)
{
  g_autofree char *root = tmp_dir ();
  g_autofree char *par = g_build_filename (root, "parent", NULL);
  g_autofree char *lay = g_build_filename (root, "layer", NULL);
  const gint64 t = 1446330174;
  make_dir (par, "", 0755, t);
  make_dir (lay, "", 0755, t);

  /* parent */
  make_dir (par, "a", 0755, t);
  make_file (par, "a/b", "old", 0644, t);
  make_file (par, "keep", "k", 0644, t);
  make_file (par, "copy", "same", 0644, t);
  make_file (par, "mod", "m1", 0644, t);
  make_file (par, "del", "d", 0644, t);
  make_dir (par, "deldir", 0755, t);
  make_file (par, "deldir/f", "f", 0644, t);
  make_dir (par, "sub", 0755, t);
  make_file (par, "sub/unchanged", "u", 0644, t);
  make_file (par, "sub/gone", "g", 0644, t);
  make_dir (par, "x", 0755, t);
  make_file (par, "x/y", "y", 0644, t);
  make_file (par, "z", "z", 0644, t);

  /* layer: a copy with changes; unchanged files hard-linked */
  make_dir (lay, "a", 0755, t);
  make_file (lay, "a/b", "newer", 0644, t);
  make_file (lay, "a.b", "ab", 0644, t);
  make_hardlink (par, "keep", lay, "keep");
  make_file (lay, "copy", "same", 0644, t);      /* new inode, same stat */
  make_file (lay, "mod", "m2", 0644, t + 1);     /* same size, new mtime */
  make_file (lay, "new", "n", 0644, t);
  make_dir (lay, "newdir", 0755, t);
  make_file (lay, "newdir/f", "nf", 0600, t);
  make_dir (lay, "sub", 0755, t);
  make_hardlink (par, "sub/unchanged", lay, "sub/unchanged");
  make_file (lay, "x", "now a file", 0644, t);   /* dir -> file */
  make_dir (lay, "z", 0755, t);                  /* file -> dir */
  make_file (lay, "z/c", "c", 0644, t);
  set_mtime (lay, "z", t);
  set_mtime (lay, "a", t);
  set_mtime (lay, "newdir", t);
  set_mtime (lay, "sub", t);

  g_autoptr(GpLayerDir) pdir = open_dir (par);
  g_autoptr(GpLayerDir) ldir = open_dir (lay);
  g_autoptr(GError) error = NULL;
  g_auto(Sink) s;
  sink_init (&s);
  const GpDriver *vfs = gp_driver_lookup ("vfs", &error);
  g_assert_true (gp_archive_driver_diff (vfs, ldir, pdir, collect, &s, NULL,
                                         &error));
  g_assert_no_error (error);

  g_autofree char *raw = raw_listing (s.data);
  g_assert_cmpstr (raw, ==,
                   "a/ 5 0040755 0\n"
                   "a.b 0 0100644 2\n"
                   "a/b 0 0100644 5\n"
                   ".wh.del \\0 0000000 0\n"
                   ".wh.deldir \\0 0000000 0\n"
                   "mod 0 0100644 2\n"
                   "new 0 0100644 1\n"
                   "newdir/ 5 0040755 0\n"
                   "newdir/f 0 0100600 2\n"
                   "sub/ 5 0040755 0\n"
                   "sub/.wh.gone \\0 0000000 0\n"
                   "x 0 0100644 10\n"
                   "z/ 5 0040755 0\n"
                   "z/c 0 0100644 1\n");

  /* Whiteouts (5th header: a/, a.b + data, a/b + data before it):
   * mtime 0, uid/gid 0, mode 0, type byte 0. */
  const guint8 *wh = s.data->data + 5 * 512;
  g_assert_cmpstr ((const char *) wh, ==, ".wh.del");
  g_assert_cmpmem (wh + 136, 12, "00000000000", 12);
  g_assert_cmpmem (wh + 108, 16, "0000000\0" "0000000", 16);
  g_assert_cmpint (wh[156], ==, 0);

  /* libarchive agrees on names and contents. */
  g_autofree char *list = libarchive_listing (s.data);
  g_assert_cmpstr (list, ==,
                   "a/ d 0755 0:0 0\n"
                   "a.b f 0644 0:0 2 \"ab\"\n"
                   "a/b f 0644 0:0 5 \"newer\"\n"
                   ".wh.del f 0000 0:0 0\n"
                   ".wh.deldir f 0000 0:0 0\n"
                   "mod f 0644 0:0 2 \"m2\"\n"
                   "new f 0644 0:0 1 \"n\"\n"
                   "newdir/ d 0755 0:0 0\n"
                   "newdir/f f 0600 0:0 2 \"nf\"\n"
                   "sub/ d 0755 0:0 0\n"
                   "sub/.wh.gone f 0000 0:0 0\n"
                   "x f 0644 0:0 10 \"now a file\"\n"
                   "z/ d 0755 0:0 0\n"
                   "z/c f 0644 0:0 1 \"c\"\n");

  /* Identical trees: no changes, just the end blocks. */
  g_auto(Sink) same;
  sink_init (&same);
  g_assert_true (gp_archive_naive_diff (pdir, pdir, collect, &same, NULL,
                                        &error));
  g_assert_no_error (error);
  g_assert_cmpuint (same.data->len, ==, 1024);
  gp_test_rm_rf (root);
}

/* Modification rules: nanoseconds, uid, mode, xattr. */
static void
test_naive_diff_rules (void)
{
  g_autofree char *root = tmp_dir ();
  g_autofree char *par = g_build_filename (root, "parent", NULL);
  g_autofree char *lay = g_build_filename (root, "layer", NULL);
  const gint64 t = 1446330174;
  make_dir (par, "", 0755, t);
  make_dir (lay, "", 0755, t);
  const char *names[] = { "nsec-zero", "nsec-diff", "owner", "perm",
                          "dirmtime" };
  for (gsize i = 0; i < G_N_ELEMENTS (names) - 1; i++)
    {
      make_file (par, names[i], "v", 0644, t);
      make_file (lay, names[i], "v", 0644, t);
    }
  make_dir (par, "dirmtime", 0755, t);
  make_dir (lay, "dirmtime", 0755, t + 100); /* dirs: mtime ignored */

  g_autofree char *p1 = g_build_filename (par, "nsec-zero", NULL);
  struct timespec ts1[2] = { { t, 5 }, { t, 5 } };
  g_assert_cmpint (utimensat (AT_FDCWD, p1, ts1, 0), ==, 0); /* other is 0 */
  g_autofree char *p2 = g_build_filename (par, "nsec-diff", NULL);
  g_autofree char *l2 = g_build_filename (lay, "nsec-diff", NULL);
  struct timespec ts2[2] = { { t, 5 }, { t, 5 } };
  struct timespec ts3[2] = { { t, 6 }, { t, 6 } };
  g_assert_cmpint (utimensat (AT_FDCWD, p2, ts2, 0), ==, 0);
  g_assert_cmpint (utimensat (AT_FDCWD, l2, ts3, 0), ==, 0);
  g_autofree char *l3 = g_build_filename (lay, "owner", NULL);
  g_assert_cmpint (chown (l3, 1, 0), ==, 0);
  g_autofree char *l4 = g_build_filename (lay, "perm", NULL);
  g_assert_cmpint (chmod (l4, 0600), ==, 0);

  g_autoptr(GpLayerDir) pdir = open_dir (par);
  g_autoptr(GpLayerDir) ldir = open_dir (lay);
  g_autoptr(GError) error = NULL;
  g_auto(Sink) s;
  sink_init (&s);
  g_assert_true (gp_archive_naive_diff (ldir, pdir, collect, &s, NULL, &error));
  g_assert_no_error (error);
  g_autofree char *raw = raw_listing (s.data);
  g_assert_cmpstr (raw, ==,
                   "nsec-diff 0 0100644 1\n"
                   "owner 0 0100644 1\n"
                   "perm 0 0100600 1\n");
  gp_test_rm_rf (root);
}

/* Symlinks are archived as links, never followed, in both walks. */
static void
test_symlinks_not_followed (void)
{
  g_autofree char *root = tmp_dir ();
  g_autofree char *par = g_build_filename (root, "parent", NULL);
  g_autofree char *lay = g_build_filename (root, "layer", NULL);
  make_dir (par, "", 0755, 1);
  make_dir (lay, "", 0755, 1);
  g_autofree char *l = g_build_filename (lay, "etc", NULL);
  g_assert_cmpint (symlink ("/etc", l), ==, 0);
  g_autofree char *pl = g_build_filename (par, "etc", NULL);
  g_assert_cmpint (symlink ("/", pl), ==, 0);

  g_autoptr(GpLayerDir) pdir = open_dir (par);
  g_autoptr(GpLayerDir) ldir = open_dir (lay);
  g_autoptr(GError) error = NULL;
  g_auto(Sink) s;
  sink_init (&s);
  g_assert_true (gp_archive_naive_diff (ldir, pdir, collect, &s, NULL, &error));
  g_assert_no_error (error);
  g_autofree char *list = libarchive_listing (s.data);
  g_assert_cmpstr (list, ==, "etc l 0777 0:0 0 -> /etc\n");
  gp_test_rm_rf (root);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  setlocale (LC_ALL, "C.UTF-8");
  umask (022);
  g_test_add_func ("/archive/tar/vector-9-2", test_vector_9_2);
  g_test_add_func ("/archive/tar/golden-legacy-root", test_golden_legacy_root);
  g_test_add_func ("/archive/tar/special-files", test_special_files);
  g_test_add_func ("/archive/tar/streaming", test_streaming);
  g_test_add_func ("/archive/diff/aufs-excludes", test_aufs_excludes);
  g_test_add_func ("/archive/diff/naive", test_naive_diff);
  g_test_add_func ("/archive/diff/naive-rules", test_naive_diff_rules);
  g_test_add_func ("/archive/diff/symlinks-not-followed",
                   test_symlinks_not_followed);
  return g_test_run ();
}
