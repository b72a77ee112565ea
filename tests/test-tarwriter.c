/* Tests for core/tar/gp-tarwriter: Go 1.5 archive/tar header bytes. */
#include "config.h"

#include "gp-tarwriter.h"

#include "gp-error.h"
#include "gp-test-util.h"

#include <archive.h>
#include <archive_entry.h>
#include <locale.h>
#include <string.h>

/* Independent checksum: unsigned sum, checksum field as spaces. */
static guint
sum_header (const guint8 *h)
{
  guint s = 0;
  for (int i = 0; i < 512; i++)
    s += (i >= 148 && i < 156) ? 0x20 : h[i];
  return s;
}

static void
assert_field (const guint8 *h, gsize off, const char *expected, gsize len)
{
  if (memcmp (h + off, expected, len) != 0)
    {
      g_error ("field at %" G_GSIZE_FORMAT ": expected '%s', got '%.*s'",
               off, expected, (int) len, h + off);
    }
}

static gboolean
all_zero (const guint8 *p, gsize len)
{
  for (gsize i = 0; i < len; i++)
    if (p[i] != 0)
      return FALSE;
  return TRUE;
}

static void
assert_checksum (const guint8 *h)
{
  char expected[9];
  g_snprintf (expected, sizeof expected, "%06o", sum_header (h));
  expected[6] = '\0';
  expected[7] = ' ';
  assert_field (h, 148, expected, 8);
}

static GByteArray *
write_one (const GpTarHeader *hdr, const char *content)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GpTarWriter) w = gp_tar_writer_new (gp_test_collect_bytes, out);
  g_assert_true (gp_tar_writer_write_header (w, hdr, &error));
  g_assert_no_error (error);
  if (content)
    {
      g_assert_true (gp_tar_writer_write_data (w, content, strlen (content),
                                               &error));
      g_assert_no_error (error);
    }
  g_assert_true (gp_tar_writer_close (w, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (gp_tar_writer_get_offset (w), ==, out->len);
  return g_steal_pointer (&out);
}

/* ---- hand-derived layouts ---- */

static void
test_header_regular (void)
{
  GpTarHeader hdr = {
    .name = "hello.txt", .mode = 0100644, .size = 6, .mtime = 1446330174,
    .typeflag = GP_TAR_TYPE_REG,
  };
  g_autoptr(GByteArray) out = write_one (&hdr, "hello\n");
  g_assert_cmpuint (out->len, ==, 512 * 4);
  const guint8 *h = out->data;
  assert_field (h, 0, "hello.txt", 10);
  g_assert_true (all_zero (h + 9, 91));
  assert_field (h, 100, "0100644\0", 8);
  assert_field (h, 108, "0000000\0", 8);
  assert_field (h, 116, "0000000\0", 8);
  assert_field (h, 124, "00000000006\0", 12);
  assert_field (h, 136, "12615237476\0", 12); /* §9.2 */
  g_assert_cmpint (h[156], ==, '0');
  g_assert_true (all_zero (h + 157, 100));
  assert_field (h, 257, "ustar\0" "00", 8);
  g_assert_true (all_zero (h + 265, 64));
  assert_field (h, 329, "0000000\0", 8);
  assert_field (h, 337, "0000000\0", 8);
  g_assert_true (all_zero (h + 345, 167));
  assert_checksum (h);
  assert_field (h, 512, "hello\n", 6);
  g_assert_true (all_zero (h + 518, 512 - 6 + 1024));
}

static void
test_header_directory (void)
{
  GpTarHeader hdr = {
    .name = "data/", .mode = 040755, .mtime = 1446330174,
    .typeflag = GP_TAR_TYPE_DIR,
  };
  g_autoptr(GByteArray) out = write_one (&hdr, NULL);
  g_assert_cmpuint (out->len, ==, 512 * 3);
  assert_field (out->data, 0, "data/\0", 6);
  assert_field (out->data, 100, "0040755\0", 8);
  assert_field (out->data, 124, "00000000000\0", 12);
  g_assert_cmpint (out->data[156], ==, '5');
  assert_checksum (out->data);
}

static char *
repeat (char c, gsize n)
{
  char *s = g_malloc (n + 1);
  memset (s, c, n);
  s[n] = '\0';
  return s;
}

typedef struct {
  const char *id;
  gsize       prefix_len; /* 0: no split */
  gboolean    pax;
} SplitCase;

static void
check_name (const char *name, gsize split, gboolean pax)
{
  GpTarHeader hdr = { .name = name, .mode = 0100644, .typeflag = '0' };
  g_autoptr(GByteArray) out = write_one (&hdr, NULL);
  const guint8 *h = out->data;
  gsize len = strlen (name);

  if (pax)
    {
      /* x header, records, then the entry with an all-NUL name. */
      g_assert_cmpint (h[156], ==, 'x');
      gsize msg = strlen ("path=") + len;
      gsize rec = msg + 3;
      for (;; rec++)
        {
          char lenbuf[24];
          if ((gsize) g_snprintf (lenbuf, sizeof lenbuf, "%" G_GSIZE_FORMAT,
                                  rec) + msg + 2 == rec)
            break;
        }
      g_autofree char *record = g_strdup_printf ("%" G_GSIZE_FORMAT " path=%s\n",
                                                 rec, name);
      g_assert_cmpuint (strlen (record), ==, rec);
      char size_field[13];
      g_snprintf (size_field, sizeof size_field, "%011" G_GSIZE_MODIFIER "o", rec);
      assert_field (h, 124, size_field, 12);
      assert_field (h, 512, record, rec);
      gsize body_blocks = (rec + 511) / 512;
      const guint8 *e = h + 512 + body_blocks * 512;
      g_assert_true (all_zero (e, 100));
      g_assert_true (all_zero (e + 345, 155));
      g_assert_cmpint (e[156], ==, '0');
      assert_checksum (e);
      return;
    }
  g_assert_cmpint (h[156], ==, '0');
  if (split == 0)
    {
      assert_field (h, 0, name, len);
      g_assert_true (all_zero (h + 345, 155));
    }
  else
    {
      assert_field (h, 0, name + split + 1, len - split - 1);
      assert_field (h, 345, name, split);
      if (len - split - 1 < 100)
        g_assert_cmpint (h[len - split - 1], ==, 0);
      if (split < 155)
        g_assert_cmpint (h[345 + split], ==, 0);
    }
  assert_field (h, 257, "ustar\0" "00", 8);
  assert_checksum (h);
}

static void
test_name_split (void)
{
  g_autofree char *n100 = repeat ('a', 100);
  check_name (n100, 0, FALSE);

  g_autofree char *n101 = repeat ('a', 101);
  check_name (n101, 0, TRUE); /* no slash to split at */

  /* 120-byte prefix + "/" + 29-byte name. */
  g_autofree char *p120 = repeat ('p', 120);
  g_autofree char *n29 = repeat ('n', 29);
  g_autofree char *s150 = g_strconcat (p120, "/", n29, NULL);
  check_name (s150, 120, FALSE);

  /* Last slash within the first 156 bytes wins. */
  g_autofree char *two = g_strconcat ("d1/", p120, "/", n29, NULL);
  check_name (two, 123, FALSE);

  /* Prefix exactly 155. */
  g_autofree char *p155 = repeat ('p', 155);
  g_autofree char *s155 = g_strconcat (p155, "/", n29, NULL);
  check_name (s155, 155, FALSE);

  /* Prefix 156: no slash within the first 156 characters -> PAX. */
  g_autofree char *p156 = repeat ('p', 156);
  g_autofree char *s156 = g_strconcat (p156, "/", n29, NULL);
  check_name (s156, 0, TRUE);

  /* Name part 101 -> PAX. */
  g_autofree char *n101b = repeat ('n', 101);
  g_autofree char *sbig = g_strconcat ("dir/", n101b, NULL);
  check_name (sbig, 0, TRUE);

  /* Directory of 150 characters with trailing slash: the final slash is
   * ignored when looking for the split point. */
  g_autofree char *d = g_strconcat (p120, "/", n29, "/", NULL);
  check_name (d, 120, FALSE);

  /* > 256 bytes -> PAX. */
  g_autofree char *p200 = repeat ('q', 200);
  g_autofree char *n80 = repeat ('r', 80);
  g_autofree char *s281 = g_strconcat (p200, "/", n80, NULL);
  check_name (s281, 0, TRUE);

  /* Leading slash only: i == 0 -> no split. */
  g_autofree char *lead = g_strconcat ("/", n101b, NULL);
  check_name (lead, 0, TRUE);
}

/* Non-ASCII name: PAX record, x entry named <dir>/PaxHeaders.0/<ascii>. */
static void
test_pax_non_ascii (void)
{
  GpTarHeader hdr = {
    .name = "dir/\xc3\xa9t\xc3\xa9", .mode = 0100644, .mtime = 1446330174,
    .typeflag = '0',
  };
  g_autoptr(GByteArray) out = write_one (&hdr, NULL);
  const guint8 *h = out->data;
  g_assert_cmpuint (out->len, ==, 512 * 5);
  /* x header */
  assert_field (h, 0, "dir/PaxHeaders.0/t\0", 19);
  assert_field (h, 100, "0000000\0", 8);
  assert_field (h, 124, "00000000022\0", 12); /* 18 bytes */
  assert_field (h, 136, "12615237476\0", 12);
  g_assert_cmpint (h[156], ==, 'x');
  assert_field (h, 257, "ustar\0" "00", 8);
  assert_checksum (h);
  /* "path=dir/été" is 14 bytes, + " " + "\n" + two digits = 18 */
  assert_field (h, 512, "18 path=dir/\xc3\xa9t\xc3\xa9\n", 18);
  g_assert_true (all_zero (h + 512 + 18, 512 - 18));
  g_assert_true (all_zero (h + 1024, 100));
  assert_field (h + 1024, 100, "0100644\0", 8);
  assert_checksum (h + 1024);
}

static void
test_pax_sorted_records (void)
{
  g_autofree char *longlink = repeat ('l', 120);
  g_autofree char *longname = repeat ('n', 101);
  const guint8 cap[] = { 0x01, 0x00, 0x00, 0x02, 0xff };
  GpTarXattr x = { "security.capability", cap, sizeof cap };
  GpTarHeader hdr = {
    .name = longname, .linkname = longlink, .uname = "\xc3\xbcser",
    .mode = 0120777, .typeflag = '2', .xattrs = &x, .n_xattrs = 1,
  };
  g_autoptr(GByteArray) out = write_one (&hdr, NULL);
  const guint8 *h = out->data;
  g_assert_cmpint (h[156], ==, 'x');
  assert_field (h, 0, "PaxHeaders.0/", 13);
  g_autofree char *body = g_strdup_printf (
      "42 SCHILY.xattr.security.capability=\x01%c%c\x02\xff\n"
      "134 linkpath=%s\n"
      "111 path=%s\n"
      "15 uname=\xc3\xbcser\n", 0, 0, longlink, longname);
  gsize body_len = 42 + 134 + 111 + 15;
  char size_field[13];
  g_snprintf (size_field, sizeof size_field, "%011" G_GSIZE_MODIFIER "o",
              body_len);
  assert_field (h, 124, size_field, 12);
  assert_field (h, 512, body, body_len);
  const guint8 *e = h + 1024;
  g_assert_true (all_zero (e, 100));      /* name in PAX */
  g_assert_true (all_zero (e + 157, 100)); /* linkname in PAX */
  g_assert_true (all_zero (e + 265, 32)); /* uname in PAX */
  g_assert_cmpint (e[156], ==, '2');
  assert_checksum (e);
}

/* A long name that could be split still gets a PAX header for its xattr,
 * but the name itself is split (xattrs are added after the split). */
static void
test_pax_xattr_with_split (void)
{
  g_autofree char *p = repeat ('p', 120);
  g_autofree char *name = g_strconcat (p, "/file", NULL);
  const guint8 cap[] = { 0x41 };
  GpTarXattr x = { "security.capability", cap, 1 };
  GpTarHeader hdr = { .name = name, .mode = 0100755, .typeflag = '0',
                      .xattrs = &x, .n_xattrs = 1 };
  g_autoptr(GByteArray) out = write_one (&hdr, NULL);
  const guint8 *h = out->data;
  g_assert_cmpint (h[156], ==, 'x');
  /* path.Join(dir, "PaxHeaders.0", base) truncated to 100 bytes */
  g_autofree char *xname = g_strconcat (p, "/PaxHeaders.0/file", NULL);
  assert_field (h, 0, xname, 100);
  assert_field (h, 512, "38 SCHILY.xattr.security.capability=A\n", 38);
  const guint8 *e = h + 1024;
  assert_field (e, 0, "file\0", 5);
  assert_field (e, 345, p, 120);
}

static void
test_base256_size (void)
{
  GpTarHeader hdr = {
    .name = "big", .mode = 0100644,
    .size = (G_GINT64_CONSTANT (8) << 30) + 1, /* 8 GiB + 1 */
    .typeflag = '0',
  };
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(GpTarWriter) w = gp_tar_writer_new (gp_test_collect_bytes, out);
  g_assert_true (gp_tar_writer_write_header (w, &hdr, NULL));
  const guint8 *h = out->data;
  static const guint8 expected[12] = { 0x80, 0, 0, 0, 0, 0, 0, 0x02,
                                       0, 0, 0, 0x01 };
  g_assert_cmpmem (h + 124, 12, expected, 12);
  assert_field (h, 257, "ustar  \0", 8);
  assert_checksum (h);

  /* 8 GiB - 1 still fits in 11 octal digits. */
  g_autoptr(GByteArray) out2 = g_byte_array_new ();
  g_autoptr(GpTarWriter) w2 = gp_tar_writer_new (gp_test_collect_bytes, out2);
  hdr.size = (G_GINT64_CONSTANT (8) << 30) - 1;
  g_assert_true (gp_tar_writer_write_header (w2, &hdr, NULL));
  assert_field (out2->data, 124, "77777777777\0", 12);
  assert_field (out2->data, 257, "ustar\0" "00", 8);
}

/* The GNU magic is sticky: set by the first base-256 value, kept for every
 * later header, including PAX headers. */
static void
test_base256_sticky (void)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(GpTarWriter) w = gp_tar_writer_new (gp_test_collect_bytes, out);
  GpTarHeader a = { .name = "a", .mode = 0100644, .typeflag = '0' };
  GpTarHeader b = { .name = "b", .mode = 0100644, .uid = 2097152,
                    .typeflag = '0' };
  GpTarHeader c = { .name = "c\xc3\xa9", .mode = 0100644, .uid = 7,
                    .typeflag = '0' };
  g_assert_true (gp_tar_writer_write_header (w, &a, NULL));
  g_assert_true (gp_tar_writer_write_header (w, &b, NULL));
  g_assert_true (gp_tar_writer_write_header (w, &c, NULL));
  g_assert_true (gp_tar_writer_close (w, NULL));
  g_assert_cmpuint (out->len, ==, 512 * 7);
  const guint8 *h = out->data;
  assert_field (h, 257, "ustar\0" "00", 8);
  static const guint8 uid[8] = { 0x80, 0, 0, 0, 0, 0x20, 0, 0 };
  g_assert_cmpmem (h + 512 + 108, 8, uid, 8);
  assert_field (h + 512, 257, "ustar  \0", 8);
  assert_checksum (h + 512);
  assert_field (h + 1024, 257, "ustar  \0", 8);  /* PAX x header */
  g_assert_cmpint (h[1024 + 156], ==, 'x');
  assert_field (h + 2048, 257, "ustar  \0", 8);
  assert_field (h + 2048, 108, "0000007\0", 8);

  /* libarchive reads the values back. */
  struct archive *ar = archive_read_new ();
  archive_read_support_format_tar (ar);
  g_assert_cmpint (archive_read_open_memory (ar, out->data, out->len), ==,
                   ARCHIVE_OK);
  struct archive_entry *entry;
  const char *names[] = { "a", "b", "c\xc3\xa9" };
  gint64 uids[] = { 0, 2097152, 7 };
  for (int i = 0; i < 3; i++)
    {
      int r = archive_read_next_header (ar, &entry);
      if (r != ARCHIVE_OK)
        g_test_message ("libarchive: %s", archive_error_string (ar));
      g_assert_cmpint (r, ==, ARCHIVE_OK);
      g_assert_cmpstr (archive_entry_pathname (entry), ==, names[i]);
      g_assert_cmpint (archive_entry_uid (entry), ==, uids[i]);
    }
  g_assert_cmpint (archive_read_next_header (ar, &entry), ==, ARCHIVE_EOF);
  archive_read_free (ar);
}

static void
test_mtime_range (void)
{
  struct { gint64 sec; guint32 nsec; const char *field; } cases[] = {
    { -1, 0, "00000000000\0" },
    { 0, 5, "00000000000\0" },
    { (G_GINT64_CONSTANT (1) << 33) - 1, 0, "77777777777\0" },
    { (G_GINT64_CONSTANT (1) << 33) - 1, 1, "00000000000\0" },
    { G_GINT64_CONSTANT (1) << 33, 0, "00000000000\0" },
    { 1446330174, 999999999, "12615237476\0" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      GpTarHeader hdr = { .name = "t", .mode = 0100644, .typeflag = '0',
                          .mtime = cases[i].sec,
                          .mtime_nsec = cases[i].nsec };
      g_autoptr(GByteArray) out = g_byte_array_new ();
      g_autoptr(GpTarWriter) w = gp_tar_writer_new (gp_test_collect_bytes, out);
      g_assert_true (gp_tar_writer_write_header (w, &hdr, NULL));
      assert_field (out->data, 136, cases[i].field, 12);
      assert_field (out->data, 257, "ustar\0" "00", 8);
    }
}

static void
test_devices (void)
{
  GpTarHeader hdr = { .name = "dev/null", .mode = 020666, .typeflag = '3',
                      .devmajor = 1, .devminor = 0xfffff };
  g_autoptr(GByteArray) out = write_one (&hdr, NULL);
  assert_field (out->data, 329, "0000001\0", 8);
  assert_field (out->data, 337, "3777777\0", 8);
  assert_field (out->data, 100, "0020666\0", 8);
  assert_checksum (out->data);
}

typedef struct {
  const char *id;
  gint64      size;
  const char *data;
  gboolean    second_header; /* else close */
  gint        code;
} SizeErrorCase;

static const SizeErrorCase size_error_cases[] = {
  { "write-too-long", 2, "abc", FALSE, GP_DATA_ERROR_SIZE },
  { "missed-bytes-header", 4, "abc", TRUE, GP_DATA_ERROR_SIZE },
  { "missed-bytes-close", 4, "abc", FALSE, GP_DATA_ERROR_SIZE },
  { "negative-size", -1, NULL, FALSE, GP_DATA_ERROR_INVALID },
};

static void
test_size_errors (gconstpointer data)
{
  const SizeErrorCase *tc = data;
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(GpTarWriter) w = gp_tar_writer_new (gp_test_collect_bytes, out);
  g_autoptr(GError) error = NULL;
  GpTarHeader hdr = { .name = "f", .mode = 0100644, .size = tc->size,
                      .typeflag = '0' };
  if (!gp_tar_writer_write_header (w, &hdr, &error))
    {
      g_assert_error (error, GP_DATA_ERROR, tc->code);
      return;
    }
  if (!gp_tar_writer_write_data (w, tc->data, strlen (tc->data), &error))
    {
      g_assert_error (error, GP_DATA_ERROR, tc->code);
      g_assert_cmpuint (out->len, ==, 512); /* nothing of the data */
      return;
    }
  gboolean ok = tc->second_header ? gp_tar_writer_write_header (w, &hdr, &error)
                                  : gp_tar_writer_close (w, &error);
  g_assert_false (ok);
  g_assert_error (error, GP_DATA_ERROR, tc->code);
  g_clear_error (&error);
  /* The writer is unusable afterwards. */
  g_assert_false (gp_tar_writer_close (w, &error));
  g_assert_nonnull (error);
}

/* Skipped content is not handed to the write function but counts like
 * written content: offset, padding, and the size checks. */
static void
test_skip_data (void)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(GpTarWriter) w = gp_tar_writer_new (gp_test_collect_bytes, out);
  g_autoptr(GError) error = NULL;
  GpTarHeader hdr = { .name = "f", .mode = 0100644, .size = 700, .typeflag = '0' };

  g_assert_true (gp_tar_writer_write_header (w, &hdr, &error));
  g_assert_true (gp_tar_writer_write_data (w, "ab", 2, &error));
  g_assert_true (gp_tar_writer_skip_data (w, 698, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (out->len, ==, 512 + 2);
  g_assert_cmpuint (gp_tar_writer_get_offset (w), ==, 512 + 700);
  g_assert_true (gp_tar_writer_close (w, &error));
  /* 324 bytes of padding to 1024, then the two zero blocks */
  g_assert_cmpuint (out->len, ==, 512 + 2 + 324 + 1024);
  g_assert_cmpuint (gp_tar_writer_get_offset (w), ==, 512 + 1024 + 1024);

  g_autoptr(GpTarWriter) w2 = gp_tar_writer_new (gp_test_collect_bytes, out);
  g_assert_true (gp_tar_writer_write_header (w2, &hdr, &error));
  g_assert_false (gp_tar_writer_skip_data (w2, 701, &error));
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_SIZE);
}

static gboolean
failing_write (gpointer user_data, const void *buf, gsize len, GError **error)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "disk full");
  return FALSE;
}

static void
test_callback_error (void)
{
  g_autoptr(GpTarWriter) w = gp_tar_writer_new (failing_write, NULL);
  g_autoptr(GError) error = NULL;
  GpTarHeader hdr = { .name = "f", .mode = 0100644, .typeflag = '0' };
  g_assert_false (gp_tar_writer_write_header (w, &hdr, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE);
}

/* ---- golden: every header of Docker's docker-save output ---- */

static char *
unquote (const char *s)
{
  /* "..." with \xNN escapes */
  g_assert_true (s[0] == '"');
  GString *out = g_string_new (NULL);
  for (const char *p = s + 1; *p && *p != '"'; p++)
    {
      if (p[0] == '\\' && p[1] == 'x')
        {
          char hex[3] = { p[2], p[3], 0 };
          g_string_append_c (out, (char) strtol (hex, NULL, 16));
          p += 3;
        }
      else
        g_string_append_c (out, *p);
    }
  return g_string_free (out, FALSE);
}

static void
test_golden_save_headers (void)
{
  const char *files[] = { "save-busybox_latest.txt", "save-busybox.txt",
                          "save-myapp_v1+busybox_1.0.txt" };
  guint checked = 0;
  for (gsize f = 0; f < G_N_ELEMENTS (files); f++)
    {
      g_autofree char *path = g_build_filename (gp_test_shared_dir (), "golden",
                                                "public", files[f], NULL);
      g_autofree char *text = NULL;
      if (!g_file_get_contents (path, &text, NULL, NULL))
        {
          gp_test_fail_no_shared (path);
          return;
        }
      g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
      for (guint i = 0; lines[i]; i++)
        {
          if (!g_ascii_isdigit (lines[i][0]))
            continue;
          g_auto(GStrv) col = g_strsplit (lines[i], "\t", -1);
          if (g_strv_length (col) < 17)
            continue;
          g_autofree char *name = unquote (col[3]);
          GpTarHeader hdr = { .name = name };
          hdr.typeflag = col[2][0];
          hdr.mode = g_ascii_strtoll (col[4] + 5, NULL, 8);
          hdr.size = g_ascii_strtoll (col[9] + 5, NULL, 10);
          hdr.mtime = g_ascii_strtoll (col[10] + 6, NULL, 10);
          g_assert_true (g_str_has_prefix (col[16], "hdr="));

          g_autoptr(GByteArray) out = g_byte_array_new ();
          g_autoptr(GpTarWriter) w = gp_tar_writer_new (gp_test_collect_bytes, out);
          g_assert_true (gp_tar_writer_write_header (w, &hdr, NULL));
          g_assert_cmpuint (out->len, ==, 512);
          g_autofree char *sum = g_compute_checksum_for_data (G_CHECKSUM_SHA256,
                                                              out->data, 512);
          if (strcmp (sum, col[16] + 4) != 0)
            g_error ("%s line %u (%s): header sha256 %s, Docker wrote %s",
                     files[f], i + 1, name, sum, col[16] + 4);
          checked++;
        }
    }
  g_assert_cmpuint (checked, >, 30);
  g_test_message ("%u golden headers reproduced", checked);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* libarchive converts PAX UTF-8 names to the locale's charset. */
  setlocale (LC_ALL, "C.UTF-8");
  g_test_add_func ("/tarwriter/header/regular", test_header_regular);
  g_test_add_func ("/tarwriter/header/directory", test_header_directory);
  g_test_add_func ("/tarwriter/header/devices", test_devices);
  g_test_add_func ("/tarwriter/name/split", test_name_split);
  g_test_add_func ("/tarwriter/pax/non-ascii", test_pax_non_ascii);
  g_test_add_func ("/tarwriter/pax/sorted-records", test_pax_sorted_records);
  g_test_add_func ("/tarwriter/pax/xattr-with-split", test_pax_xattr_with_split);
  g_test_add_func ("/tarwriter/base256/size", test_base256_size);
  g_test_add_func ("/tarwriter/base256/sticky", test_base256_sticky);
  g_test_add_func ("/tarwriter/mtime/range", test_mtime_range);
  for (gsize i = 0; i < G_N_ELEMENTS (size_error_cases); i++)
    {
      g_autofree char *p = g_strdup_printf ("/tarwriter/error/%s",
                                            size_error_cases[i].id);
      g_test_add_data_func (p, &size_error_cases[i], test_size_errors);
    }
  g_test_add_func ("/tarwriter/error/callback", test_callback_error);
  g_test_add_func ("/tarwriter/skip-data", test_skip_data);
  g_test_add_func ("/tarwriter/golden/save-headers", test_golden_save_headers);
  return g_test_run ();
}
