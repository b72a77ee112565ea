/* Tests for gp-tarsplit: reader, reassembly, writer, disassembly.
 *
 * Expected values come from FORMATS.md §3 and §9.2, moby-vectors.md (G1-G3,
 * F2) and the golden legacy root produced by Docker 1.10.3, never from the
 * code under test.
 */
#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "gp-crc64.h"
#include "gp-digest.h"
#include "gp-error.h"
#include "gp-tarsplit.h"
#include "gp-test-util.h"

/* ---------- helpers ---------- */

/* A path under the shared-data directory (gp_test_shared_dir()), whether
 * or not it exists. */
static char *
shared_path (const char *first, ...)
{
  va_list ap;
  va_start (ap, first);
  g_autoptr(GPtrArray) parts = g_ptr_array_new ();
  g_ptr_array_add (parts, (gpointer) gp_test_shared_dir ());
  for (const char *p = first; p; p = va_arg (ap, const char *))
    g_ptr_array_add (parts, (gpointer) p);
  g_ptr_array_add (parts, NULL);
  va_end (ap);
  return g_build_filenamev ((char **) parts->pdata);
}

/* The data is part of the tree: a missing file fails the test. */
#define NEED_SHARED(path)                                                 \
  if (!g_file_test ((path), G_FILE_TEST_EXISTS))                          \
    {                                                                     \
      gp_test_fail_no_shared (path);                                      \
      return;                                                             \
    }

static GBytes *
gunzip_file (const char *path)
{
  gzFile gz = gzopen (path, "rb");
  g_assert_nonnull (gz);
  GByteArray *a = g_byte_array_new ();
  guint8 buf[65536];
  int n;
  while ((n = gzread (gz, buf, sizeof buf)) > 0)
    g_byte_array_append (a, buf, n);
  g_assert_cmpint (n, ==, 0);
  gzclose (gz);
  return g_byte_array_free_to_bytes (a);
}

static GBytes *
gzip_data (const void *data, gsize len)
{
  z_stream zs = { 0 };
  g_assert_cmpint (deflateInit2 (&zs, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), ==, Z_OK);
  gsize cap = deflateBound (&zs, len) + 64;
  guint8 *out = g_malloc (cap);
  zs.next_in = (guint8 *) data;
  zs.avail_in = len;
  zs.next_out = out;
  zs.avail_out = cap;
  g_assert_cmpint (deflate (&zs, Z_FINISH), ==, Z_STREAM_END);
  gsize n = cap - zs.avail_out;
  deflateEnd (&zs);
  return g_bytes_new_take (out, n);
}

static int
fd_from_data (const void *data, gsize len)
{
  g_autofree char *path = NULL;
  int fd = g_file_open_tmp ("gp-test-XXXXXX", &path, NULL);
  g_assert_cmpint (fd, >=, 0);
  unlink (path);
  g_assert_cmpint (write (fd, data, len), ==, (gssize) len);
  g_assert_cmpint (lseek (fd, 0, SEEK_SET), ==, 0);
  return fd;
}

static char *
sha256_hex (const void *data, gsize len)
{
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, data, len);
}

/* Disassembles @tar pushed in pieces of @chunk bytes. */
static GBytes *
disassemble (const guint8 *tar, gsize len, gsize chunk, GpTarSplitFlags flags, GpTarSplitStats *stats, GError **error)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(GpTarSplitDisassembler) d = gp_tar_split_disassembler_new (gp_test_collect_bytes, out, flags);

  for (gsize off = 0; off < len; off += chunk)
    if (!gp_tar_split_disassembler_push (d, tar + off, MIN (chunk, len - off), error))
      return NULL;
  if (!gp_tar_split_disassembler_finish (d, stats, error))
    return NULL;
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

/* An opener serving files from a name -> path table. */
static int
open_from_table (gpointer user_data, const char *name, gsize name_len, GError **error)
{
  GHashTable *files = user_data;
  g_autofree char *key = g_strndup (name, name_len);
  const char *path = g_hash_table_lookup (files, key);

  if (path == NULL)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING, "no file \"%s\"", key);
      return -1;
    }
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);
  return fd;
}

/* An opener serving in-memory contents through a pipe. */
static int
open_from_memory (gpointer user_data, const char *name, gsize name_len, GError **error)
{
  GHashTable *files = user_data;
  g_autofree char *key = g_strndup (name, name_len);
  const char *content = g_hash_table_lookup (files, key);
  int p[2];

  if (content == NULL)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING, "no file \"%s\"", key);
      return -1;
    }
  g_assert_cmpint (pipe (p), ==, 0);
  g_assert_cmpint (write (p[1], content, strlen (content)), ==, (gssize) strlen (content));
  close (p[1]);
  return p[0];
}

/* An opener for a layer directory (test only: no beneath checks). */
static int
open_in_dir (gpointer user_data, const char *name, gsize name_len, GError **error)
{
  int dirfd = GPOINTER_TO_INT (user_data);
  const char *rel = name;

  while (*rel == '/')
    rel++;
  if (*rel == '\0')
    rel = ".";
  int fd = openat (dirfd, rel, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    {
      int e = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "open %s: %s", name, g_strerror (e));
    }
  return fd;
}

/* Extracts the contents of every member with data into @dir with
 * libarchive; returns pathname -> file. */
static GHashTable *
extract_with_libarchive (const guint8 *tar, gsize len, const char *dir)
{
  GHashTable *files = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  struct archive *a = archive_read_new ();
  struct archive_entry *entry;
  guint n = 0;

  if (len == 0)
    {
      archive_read_free (a);
      return files;
    }
  archive_read_support_format_tar (a);
  archive_read_support_format_gnutar (a);
  g_assert_cmpint (archive_read_open_memory (a, tar, len), ==, ARCHIVE_OK);
  while (archive_read_next_header (a, &entry) == ARCHIVE_OK)
    {
      if (archive_entry_size (entry) <= 0)
        continue;
      g_autofree char *path = g_strdup_printf ("%s/f%u", dir, n++);
      int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      g_assert_cmpint (fd, >=, 0);
      char buf[65536];
      la_ssize_t r;
      while ((r = archive_read_data (a, buf, sizeof buf)) > 0)
        g_assert_cmpint (write (fd, buf, r), ==, r);
      g_assert_cmpint (r, ==, 0);
      close (fd);
      g_hash_table_insert (files, g_strdup (archive_entry_pathname (entry)), g_steal_pointer (&path));
    }
  archive_read_free (a);
  return files;
}

/* Reassembles a tar-split stream held in @ts (gzip unless @flags). */
static GBytes *
assemble (GBytes *ts, GpTarSplitFlags flags, GpOpenFileFunc opener, gpointer opener_data,
          GpTarSplitStats *stats, GError **error)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (ts, &len);
  int fd = fd_from_data (data, len);
  g_autoptr(GpTarSplitReader) r = gp_tar_split_reader_new (fd, "test.json.gz", flags);
  g_autoptr(GByteArray) out = g_byte_array_new ();
  gboolean ok = gp_tar_split_assemble (r, opener, opener_data, gp_test_collect_bytes, out, NULL, stats, error);

  close (fd);
  if (!ok)
    return NULL;
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

static guint
count_substr (const char *hay, gsize len, const char *needle)
{
  guint n = 0;
  gsize nl = strlen (needle);
  for (const char *p = hay; (p = g_strstr_len (p, hay + len - p, needle)) != NULL; p += nl)
    n++;
  return n;
}

/* ---------- fixtures: tar-split v0.9.11 test data, emptyLayer.tar ---------- */

typedef struct {
  const char *file;
  gboolean gzipped;
  guint64 tar_size;
  const char *tar_sha256;
  guint64 entries;     /* 0: not given */
  gint64 size_sum;
  gsize json_len;
  const char *json_sha256;
} FixtureCase;

static const FixtureCase fixture_cases[] = {
  { "tar-split-v0.9.11/t.tar.gz", TRUE, 10240,
    "c666bbea03bcb5405b235554a14c243f85af23ba905f7414f68043825c2505ac", 6, 46, 13907,
    "ed32f7c701abf6bbcd521240a21d3f8f6c09fbd4a2ed35164a9d34e3cf67e71d" },
  { "tar-split-v0.9.11/longlink.tar.gz", TRUE, 20480,
    "ee2820b48ba5811e01132ae8344eee15a6da0b1d4662fa012be29ccbb4bb61e3", 38, 0, 29909,
    "45bbf0e81a2d312e5efee657da94366a0cd7a306863525341681017a49257397" },
  { "tar-split-v0.9.11/fatlonglink.tar.gz", TRUE, 26234880,
    "448906c4b60e2319dfb16f886b01d8dd12801a11f02a6c6bb8be32c455a632c0", 46, 26214400, 30864,
    "ab8784eb4c05d477c236559a5560f68c02f255e9a5ccb975fa2e1f876fee77c2" },
  { "tar-split-v0.9.11/iso-8859.tar.gz", TRUE, 10240,
    "f383240b7f184f68859cb47d86dbdd9e6aa9dae84496bb856ca4006af9c10ebc", 6, 15, 13955,
    "293a99856e398ba0dddb911762442fb6e6a2aee399e971850332a2e95a0d30cf" },
  { "moby-integration-cli/emptyLayer.tar", FALSE, 30720,
    "ee8b68761b9503149aa8262ae1f91feee36b653f061f52313f930fc906ed3f6b", 0, 0, 0, NULL },
};

/* GP_TAR_SPLIT_FLAGS_SIZES_ONLY gives every entry's type, size, position
 * and payload length as a full read does, and their sum is the size of
 * the tar (@tar_size, from the test vectors). */
static void
check_sizes_only (GBytes *json, guint64 tar_size)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (json, &len);
  int fd_full = fd_from_data (data, len);
  int fd_sizes = fd_from_data (data, len);
  g_autoptr(GpTarSplitReader) full = gp_tar_split_reader_new (fd_full, "full", GP_TAR_SPLIT_FLAGS_PLAIN);
  g_autoptr(GpTarSplitReader) sizes = gp_tar_split_reader_new (fd_sizes, "sizes",
                                                              GP_TAR_SPLIT_FLAGS_PLAIN | GP_TAR_SPLIT_FLAGS_SIZES_ONLY);
  guint64 sum = 0, n = 0;
  for (;;)
    {
      const GpTarSplitEntry *a = NULL, *b = NULL;
      g_autoptr(GError) error = NULL;
      g_assert_true (gp_tar_split_reader_next (full, &a, &error));
      g_assert_no_error (error);
      g_assert_true (gp_tar_split_reader_next (sizes, &b, &error));
      g_assert_no_error (error);
      g_assert_true ((a == NULL) == (b == NULL));
      if (a == NULL)
        break;
      g_assert_cmpint (a->type, ==, b->type);
      g_assert_cmpint (a->size, ==, b->size);
      g_assert_cmpint (a->position, ==, b->position);
      g_assert_cmpuint (a->payload_len, ==, b->payload_len);
      g_assert_cmpuint (b->name_len, ==, 0);
      sum += b->type == GP_TAR_SPLIT_ENTRY_SEGMENT ? b->payload_len : (guint64) b->size;
      n++;
    }
  g_assert_cmpuint (sum, ==, tar_size);
  g_assert_cmpuint (n, >, 0);
  close (fd_full);
  close (fd_sizes);
}

static void
test_fixture (gconstpointer data)
{
  const FixtureCase *c = data;
  g_autofree char *path = shared_path ("spec", "fixtures", c->file, NULL);
  NEED_SHARED (path);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) tar_b = NULL;

  if (c->gzipped)
    tar_b = gunzip_file (path);
  else
    {
      char *contents;
      gsize n;
      g_assert_true (g_file_get_contents (path, &contents, &n, NULL));
      tar_b = g_bytes_new_take (contents, n);
    }
  gsize tar_len;
  const guint8 *tar = g_bytes_get_data (tar_b, &tar_len);
  g_assert_cmpuint (tar_len, ==, c->tar_size);
  g_autofree char *tar_sha = sha256_hex (tar, tar_len);
  g_assert_cmpstr (tar_sha, ==, c->tar_sha256);

  /* disassemble, in several chunkings: identical output */
  GpTarSplitStats st;
  g_autoptr(GBytes) json = disassemble (tar, tar_len, tar_len ? tar_len : 1, GP_TAR_SPLIT_FLAGS_PLAIN, &st, &error);
  g_assert_no_error (error);
  static const gsize chunks[] = { 1, 511, 513, 4096, 65536 };
  for (gsize i = 0; i < G_N_ELEMENTS (chunks); i++)
    {
      if (chunks[i] == 1 && tar_len > (1 << 20))
        continue;
      GpTarSplitStats st2;
      g_autoptr(GBytes) json2 = disassemble (tar, tar_len, chunks[i], GP_TAR_SPLIT_FLAGS_PLAIN, &st2, &error);
      g_assert_no_error (error);
      g_assert_true (g_bytes_equal (json, json2));
      g_assert_cmpstr (st2.diff_id, ==, st.diff_id);
    }

  g_autofree char *want_id = g_strconcat ("sha256:", c->tar_sha256, NULL);
  g_assert_cmpstr (st.diff_id, ==, want_id);
  g_assert_cmpuint (st.tar_size, ==, c->tar_size);
  check_sizes_only (json, c->tar_size);
  gsize jlen;
  const char *j = g_bytes_get_data (json, &jlen);
  if (c->json_sha256)
    {
      g_assert_cmpuint (st.n_entries, ==, c->entries);
      g_assert_cmpint (st.size, ==, c->size_sum);
      g_assert_cmpuint (jlen, ==, c->json_len);
      g_autofree char *jsha = sha256_hex (j, jlen);
      g_assert_cmpstr (jsha, ==, c->json_sha256);
    }
  if (strstr (c->file, "iso-8859"))
    g_assert_nonnull (g_strstr_len (j, jlen, "{\"type\":1,\"name_raw\":\"ZGF0YS9maWxlLXdpdGgtZ2VybWFuLXVtbGF1dC1hZS3k\",\"size\":15,\"payload\":\"045asuUM8Hs=\","));
  if (strstr (c->file, "/t.tar"))
    {
      g_assert_nonnull (g_strstr_len (j, jlen, "{\"type\":1,\"name\":\"./hurr.txt\",\"size\":19,\"payload\":\"GDjfYKCbTjE=\","));
      g_assert_nonnull (g_strstr_len (j, jlen, "{\"type\":1,\"name\":\"./ermahgerd.txt\",\"size\":27,\"payload\":\"m15IWe/m/KA=\","));
    }
  if (strstr (c->file, "fatlonglink"))
    g_assert_cmpuint (count_substr (j, jlen, "\"size\":5242880,\"payload\":\"N3uq+MFP+Zc=\""), ==, 5);

  /* gzip output: Go's header bytes; reassemble from it */
  g_autoptr(GBytes) gz = disassemble (tar, tar_len, 65536, GP_TAR_SPLIT_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  static const guint8 go_header[10] = { 0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff };
  g_assert_cmpmem (g_bytes_get_data (gz, NULL), 10, go_header, 10);

  g_autofree char *dir = g_dir_make_tmp ("gp-tarsplit-XXXXXX", NULL);
  g_autoptr(GHashTable) files = extract_with_libarchive (tar, tar_len, dir);
  GpTarSplitStats st3;
  g_autoptr(GBytes) back = assemble (gz, GP_TAR_SPLIT_FLAGS_NONE, open_from_table, files, &st3, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (back, tar_b));
  g_assert_cmpstr (st3.diff_id, ==, want_id);
  g_assert_cmpuint (st3.tar_size, ==, tar_len);
  g_assert_cmpint (st3.size, ==, st.size);
  g_assert_cmpuint (st3.n_entries, ==, st.n_entries);
  gp_test_rm_rf (dir);
}

/* The layer tars inside emptyLayer.tar (moby-vectors F2). */
static void
test_empty_layer_members (void)
{
  g_autofree char *path = shared_path ("spec", "fixtures", "moby-integration-cli", "emptyLayer.tar", NULL);
  NEED_SHARED (path);
  char *contents;
  gsize n;
  g_assert_true (g_file_get_contents (path, &contents, &n, NULL));
  g_autoptr(GBytes) all = g_bytes_new_take (contents, n);
  struct archive *a = archive_read_new ();
  struct archive_entry *entry;
  guint seen = 0;

  archive_read_support_format_tar (a);
  g_assert_cmpint (archive_read_open_memory (a, contents, n), ==, ARCHIVE_OK);
  while (archive_read_next_header (a, &entry) == ARCHIVE_OK)
    {
      const char *name = archive_entry_pathname (entry);
      if (!g_str_has_suffix (name, "/layer.tar"))
        continue;
      gsize len = archive_entry_size (entry);
      g_autofree guint8 *layer = g_malloc (len + 1);
      g_assert_cmpint (archive_read_data (a, layer, len), ==, (la_ssize_t) len);
      const char *want;
      if (g_str_has_prefix (name, "17d1436e"))
        want = "sha256:f624397841595b2369935cbd47fde10171ff91347afa9a5c793275d3765e8e0d";
      else if (g_str_has_prefix (name, "9c7cb910"))
        want = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
      else
        want = "sha256:3b90aed61465a1f294fdd312108c1e7f476b3e1b7246c8eebc0f537dec42f2de";
      g_autoptr(GError) error = NULL;
      GpTarSplitStats st;
      g_autoptr(GBytes) json = disassemble (layer, len, 100, GP_TAR_SPLIT_FLAGS_PLAIN, &st, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (st.diff_id, ==, want);
      if (len == 0)
        g_assert_cmpmem (g_bytes_get_data (json, NULL), g_bytes_get_size (json),
                         "{\"type\":2,\"payload\":\"\",\"position\":0}\n", 37);
      /* round trip through the plain form */
      g_autofree char *dir = g_dir_make_tmp ("gp-tarsplit-XXXXXX", NULL);
      g_autoptr(GHashTable) files = extract_with_libarchive (layer, len, dir);
      g_autoptr(GBytes) back = assemble (json, GP_TAR_SPLIT_FLAGS_PLAIN, open_from_table, files, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpmem (g_bytes_get_data (back, NULL), g_bytes_get_size (back), layer, len);
      gp_test_rm_rf (dir);
      seen++;
    }
  archive_read_free (a);
  g_assert_cmpuint (seen, ==, 3);
}

/* ---------- hand-built tars ---------- */

static void
put_octal (guint8 *field, gsize width, guint64 v)
{
  g_autofree char *s = g_strdup_printf ("%0*" G_GINT64_MODIFIER "o", (int) width - 1, v);
  memcpy (field, s, width - 1);
  field[width - 1] = 0;
}

static void
set_checksum (guint8 *h)
{
  guint sum = 0;
  memset (h + 148, ' ', 8);
  for (int i = 0; i < 512; i++)
    sum += h[i];
  put_octal (h + 148, 7, sum);
  h[155] = ' ';
}

/* A header as Go 1.5's archive/tar writes it. */
static void
make_header (guint8 *h, const char *name, guint mode, gint64 size, char type)
{
  memset (h, 0, 512);
  memcpy (h, name, strlen (name));
  put_octal (h + 100, 8, mode);
  put_octal (h + 108, 8, 0);
  put_octal (h + 116, 8, 0);
  put_octal (h + 124, 12, size);
  put_octal (h + 136, 12, 012615237476);
  h[156] = type;
  memcpy (h + 257, "ustar\0" "00", 8);
  put_octal (h + 329, 8, 0);
  put_octal (h + 337, 8, 0);
  set_checksum (h);
}

/* §9.2: data/ and data/x ("x\n"), two zero blocks: 2560 bytes. */
static GByteArray *
worked_example_tar (void)
{
  GByteArray *t = g_byte_array_new ();
  guint8 b[512];

  make_header (b, "data/", 040755, 0, '5');
  g_byte_array_append (t, b, 512);
  make_header (b, "data/x", 0100644, 2, '0');
  g_byte_array_append (t, b, 512);
  memset (b, 0, 512);
  memcpy (b, "x\n", 2);
  g_byte_array_append (t, b, 512);
  memset (b, 0, 512);
  g_byte_array_append (t, b, 512);
  g_byte_array_append (t, b, 512);
  return t;
}

static void
test_worked_example (void)
{
  g_autoptr(GByteArray) t = worked_example_tar ();
  g_autoptr(GError) error = NULL;
  GpTarSplitStats st;

  g_assert_cmpuint (t->len, ==, 2560);
  g_autofree char *tsha = sha256_hex (t->data, t->len);
  g_assert_cmpstr (tsha, ==, "e54c0ca04a16798bfd518dd5c4acf5589d18b8826fa9c08e7123e43ad3271b31");

  g_autoptr(GBytes) json = disassemble (t->data, t->len, 512, GP_TAR_SPLIT_FLAGS_PLAIN, &st, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (json), ==, 3692);
  g_autofree char *jsha = sha256_hex (g_bytes_get_data (json, NULL), g_bytes_get_size (json));
  g_assert_cmpstr (jsha, ==, "2c2576b0a775e1d7eb0e9a5253118a3be93ba4e5f8e87d2b0a5f3455c4fbc56f");
  g_assert_cmpstr (st.diff_id, ==, "sha256:e54c0ca04a16798bfd518dd5c4acf5589d18b8826fa9c08e7123e43ad3271b31");
  g_assert_cmpint (st.size, ==, 2);
  g_assert_cmpuint (st.n_entries, ==, 6);

  /* read it back: the six entries of the table in §9.2 */
  int fd = fd_from_data (g_bytes_get_data (json, NULL), g_bytes_get_size (json));
  g_autoptr(GpTarSplitReader) r = gp_tar_split_reader_new (fd, "x", GP_TAR_SPLIT_FLAGS_PLAIN);
  static const struct { int type; const char *name; gint64 size; gssize payload_len; } want[] = {
    { 2, "", 0, 512 }, { 1, "data/", 0, -1 }, { 2, "", 0, 512 },
    { 1, "data/x", 2, 8 }, { 2, "", 0, 1534 }, { 2, "", 0, 0 },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (want); i++)
    {
      const GpTarSplitEntry *e;
      g_assert_true (gp_tar_split_reader_next (r, &e, &error));
      g_assert_no_error (error);
      g_assert_nonnull (e);
      g_assert_cmpint (e->type, ==, want[i].type);
      g_assert_cmpstr (e->name, ==, want[i].name);
      g_assert_cmpint (e->size, ==, want[i].size);
      g_assert_cmpint (e->position, ==, (gint64) i);
      if (want[i].payload_len < 0)
        g_assert_null (e->payload);
      else
        {
          g_assert_nonnull (e->payload);
          g_assert_cmpuint (e->payload_len, ==, (gsize) want[i].payload_len);
        }
      if (i == 3)
        g_assert_cmpmem (e->payload, 8, "\x61\x53\x10\0\0\0\0\0", 8);
    }
  const GpTarSplitEntry *e;
  g_assert_true (gp_tar_split_reader_next (r, &e, &error));
  g_assert_null (e);
  close (fd);
}

static char *
b64 (const guint8 *p, gsize n)
{
  return g_base64_encode (p, n);
}

/* Quirks of v0.9.11 at the end of the stream (§3.5). */
typedef enum {
  END_NONE,        /* no end-of-archive blocks */
  END_ONE_ZERO,    /* one zero block */
  END_TWO_ZERO,    /* proper end */
  END_GARBAGE,     /* proper end + trailing garbage */
  END_RECORD,      /* proper end + padding to a 10240-byte record */
  END_PAD_CUT,     /* stream ends inside the content padding */
} EndKind;

static void
test_quirk_end (gconstpointer data)
{
  EndKind kind = GPOINTER_TO_INT (data);
  g_autoptr(GByteArray) t = g_byte_array_new ();
  guint8 h[512], blk[512] = { 0 };
  g_autoptr(GError) error = NULL;

  make_header (h, "a", 0100644, 2, '0');
  g_byte_array_append (t, h, 512);
  memcpy (blk, "x\n", 2);
  gsize content_end = t->len + 2;
  g_byte_array_append (t, blk, kind == END_PAD_CUT ? 100 : 512);
  memset (blk, 0, 512);
  if (kind == END_ONE_ZERO || kind == END_TWO_ZERO || kind == END_GARBAGE || kind == END_RECORD)
    g_byte_array_append (t, blk, 512);
  if (kind == END_TWO_ZERO || kind == END_GARBAGE || kind == END_RECORD)
    g_byte_array_append (t, blk, 512);
  gsize end_blocks = t->len;
  if (kind == END_GARBAGE)
    g_byte_array_append (t, (const guint8 *) "garbage!", 8);
  if (kind == END_RECORD)
    while (t->len < 10240)
      g_byte_array_append (t, blk, 512);

  g_autofree char *s0 = b64 (h, 512);
  g_autoptr(GString) want = g_string_new (NULL);
  g_string_append_printf (want, "{\"type\":2,\"payload\":\"%s\",\"position\":0}\n", s0);
  g_string_append (want, "{\"type\":1,\"name\":\"a\",\"size\":2,\"payload\":\"YVMQAAAAAAA=\",\"position\":1}\n");
  switch (kind)
    {
    case END_NONE:
    case END_ONE_ZERO:
      /* pending padding (and the zero block) are discarded */
      g_string_append (want, "{\"type\":2,\"payload\":\"\",\"position\":2}\n");
      break;
    case END_PAD_CUT:
      {
        g_autofree char *s = b64 (t->data + content_end, t->len - content_end);
        g_string_append_printf (want, "{\"type\":2,\"payload\":\"%s\",\"position\":2}\n", s);
        g_string_append (want, "{\"type\":2,\"payload\":\"\",\"position\":3}\n");
        break;
      }
    default:
      {
        g_autofree char *s = b64 (t->data + content_end, end_blocks - content_end);
        g_autofree char *r = b64 (t->data + end_blocks, t->len - end_blocks);
        g_string_append_printf (want, "{\"type\":2,\"payload\":\"%s\",\"position\":2}\n", s);
        g_string_append_printf (want, "{\"type\":2,\"payload\":\"%s\",\"position\":3}\n", r);
        break;
      }
    }

  for (gsize chunk = 1; chunk <= 1024; chunk = chunk * 4 + 1)
    {
      GpTarSplitStats st;
      g_autoptr(GBytes) json = disassemble (t->data, t->len, chunk, GP_TAR_SPLIT_FLAGS_PLAIN, &st, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (g_bytes_get_data (json, NULL) ? (const char *) g_bytes_get_data (json, NULL) : "", !=, NULL);
      g_assert_cmpmem (g_bytes_get_data (json, NULL), g_bytes_get_size (json), want->str, want->len);
      g_assert_cmpuint (st.tar_size, ==, t->len);
      g_assert_cmpint (st.size, ==, 2);
      g_autofree char *id = gp_sha256_digest_of (t->data, t->len);
      g_assert_cmpstr (st.diff_id, ==, id);
    }
}

static void
test_quirk_empty_input (void)
{
  g_autoptr(GError) error = NULL;
  GpTarSplitStats st;
  g_autoptr(GBytes) json = disassemble ((const guint8 *) "", 0, 1, GP_TAR_SPLIT_FLAGS_PLAIN, &st, &error);

  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (json, NULL), g_bytes_get_size (json),
                   "{\"type\":2,\"payload\":\"\",\"position\":0}\n", 37);
  g_assert_cmpstr (st.diff_id, ==, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  g_assert_cmpuint (st.n_entries, ==, 1);
  g_assert_cmpint (st.size, ==, 0);
}

/* PAX path/size, GNU long name, base-256 size, signed checksum. */
static void
test_headers (void)
{
  g_autoptr(GByteArray) t = g_byte_array_new ();
  guint8 h[512], blk[512];
  g_autoptr(GError) error = NULL;

  /* PAX header renaming the next entry */
  const char *pax = "31 path=pax/renamed-by-pax.txt\n";
  g_assert_cmpuint (strlen (pax), ==, 31);
  make_header (h, "PaxHeaders.0/x", 0644, 31, 'x');
  g_byte_array_append (t, h, 512);
  memset (blk, 0, 512);
  memcpy (blk, pax, 31);
  g_byte_array_append (t, blk, 512);
  make_header (h, "short", 0100644, 3, '0');
  g_byte_array_append (t, h, 512);
  memset (blk, 0, 512);
  memcpy (blk, "abc", 3);
  g_byte_array_append (t, blk, 512);
  /* GNU long name */
  make_header (h, "././@LongLink", 0, 8, 'L');
  memcpy (h + 257, "ustar  \0", 8);
  set_checksum (h);
  g_byte_array_append (t, h, 512);
  memset (blk, 0, 512);
  memcpy (blk, "gnu/long", 8);
  g_byte_array_append (t, blk, 512);
  make_header (h, "gnu/lon", 0100644, 0, '0');
  g_byte_array_append (t, h, 512);
  /* base-256 size and a signed checksum (a byte >= 0x80 in the name) */
  make_header (h, "b256-\xe9", 0100644, 0, '0');
  memset (h + 124, 0, 12);
  h[124] = 0x80;
  h[135] = 4;
  {
    gint sum = 0;
    memset (h + 148, ' ', 8);
    for (int i = 0; i < 512; i++)
      sum += (gint8) h[i];
    put_octal (h + 148, 7, sum);
    h[155] = ' ';
  }
  g_byte_array_append (t, h, 512);
  memset (blk, 0, 512);
  memcpy (blk, "data", 4);
  g_byte_array_append (t, blk, 512);
  memset (blk, 0, 512);
  g_byte_array_append (t, blk, 512);
  g_byte_array_append (t, blk, 512);

  GpTarSplitStats st;
  g_autoptr(GBytes) json = disassemble (t->data, t->len, 7, GP_TAR_SPLIT_FLAGS_PLAIN, &st, &error);
  g_assert_no_error (error);
  gsize jl;
  const char *j = g_bytes_get_data (json, &jl);
  g_autofree char *s0 = b64 (t->data, 1536);
  g_autofree char *want0 = g_strdup_printf ("{\"type\":2,\"payload\":\"%s\",\"position\":0}\n", s0);
  g_assert_true (g_str_has_prefix (j, want0));
  /* abc: CRC-64 via the bytewise reference */
  guint8 crc[8];
  gp_crc64_to_bytes (gp_crc64_update_bytewise (0, "abc", 3), crc);
  g_autofree char *crc_b64 = b64 (crc, 8);
  g_autofree char *want1 = g_strdup_printf ("{\"type\":1,\"name\":\"pax/renamed-by-pax.txt\",\"size\":3,\"payload\":\"%s\",\"position\":1}\n", crc_b64);
  g_assert_nonnull (g_strstr_len (j, jl, want1));
  g_assert_nonnull (g_strstr_len (j, jl, "{\"type\":1,\"name\":\"gnu/long\",\"payload\":null,\"position\":3}\n"));
  /* "b256-\xe9" is not UTF-8: name_raw */
  g_autofree char *raw = b64 ((const guint8 *) "b256-\xe9", 6);
  g_autofree char *want5 = g_strdup_printf ("{\"type\":1,\"name_raw\":\"%s\",\"size\":4,", raw);
  g_assert_nonnull (g_strstr_len (j, jl, want5));
  g_assert_cmpint (st.size, ==, 7);

  /* round trip */
  g_autoptr(GHashTable) mem = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (mem, (gpointer) "pax/renamed-by-pax.txt", (gpointer) "abc");
  g_hash_table_insert (mem, (gpointer) "b256-\xe9", (gpointer) "data");
  g_autoptr(GBytes) back = assemble (json, GP_TAR_SPLIT_FLAGS_PLAIN, open_from_memory, mem, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (back, NULL), g_bytes_get_size (back), t->data, t->len);
}

/* Old GNU sparse member made by GNU tar: the file entry records the size
 * and CRC-64 of the expanded content (§3.5). */
static void
test_old_gnu_sparse (void)
{
  g_autofree char *tar_prog = g_find_program_in_path ("tar");
  if (tar_prog == NULL)
    {
      gp_test_skip_required ("no tar program (Debian package tar)");
      return;
    }
  g_autofree char *dir = g_dir_make_tmp ("gp-tarsplit-XXXXXX", NULL);
  g_autofree char *f = g_build_filename (dir, "f", NULL);
  g_autofree char *out = g_build_filename (dir, "o.tar", NULL);
  gsize n = 2 * 1024 * 1024;
  g_autofree guint8 *content = g_malloc0 (n);
  memcpy (content, "abc", 3);
  memcpy (content + n / 2, "xyz", 3);
  int fd = open (f, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  g_assert_cmpint (pwrite (fd, "abc", 3, 0), ==, 3);
  g_assert_cmpint (pwrite (fd, "xyz", 3, n / 2), ==, 3);
  g_assert_cmpint (ftruncate (fd, n), ==, 0);
  close (fd);
  const char *argv[] = { tar_prog, "--format=gnu", "-S", "-cf", out, "-C", dir, "f", NULL };
  int status;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, 0, NULL, NULL, NULL, NULL, &status, NULL));
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  char *tar;
  gsize tar_len;
  g_assert_true (g_file_get_contents (out, &tar, &tar_len, NULL));
  g_autoptr(GBytes) tar_b = g_bytes_new_take (tar, tar_len);
  if (tar_len < 512 || tar[156] != 'S')
    {
      /* GNU tar writes one only where the file system of TMPDIR reports
       * holes: the machine's, not a prerequisite. */
      g_test_skip ("this tar does not write old GNU sparse members (no holes reported in TMPDIR?)");
      gp_test_rm_rf (dir);
      return;
    }

  g_autoptr(GError) error = NULL;
  GpTarSplitStats st;
  g_autoptr(GBytes) json = disassemble ((const guint8 *) tar, tar_len, 1000, GP_TAR_SPLIT_FLAGS_PLAIN, &st, &error);
  g_assert_no_error (error);
  guint8 crc[8];
  gp_crc64_to_bytes (gp_crc64_update_bytewise (0, content, n), crc);
  g_autofree char *crc_b64 = b64 (crc, 8);
  g_autofree char *want = g_strdup_printf ("{\"type\":1,\"name\":\"f\",\"size\":%" G_GSIZE_FORMAT ",\"payload\":\"%s\",\"position\":1}\n", n, crc_b64);
  gsize jl;
  const char *j = g_bytes_get_data (json, &jl);
  g_assert_nonnull (g_strstr_len (j, jl, want));
  g_assert_cmpint (st.size, ==, (gint64) n);
  g_assert_cmpuint (st.tar_size, ==, tar_len);
  gp_test_rm_rf (dir);
}

/* ---------- disassembly errors ---------- */

typedef enum {
  BAD_TRUNC_HEADER,
  BAD_TRUNC_CONTENT,
  BAD_CHECKSUM,
  BAD_ZERO_THEN_DATA,
  BAD_NEGATIVE_SIZE,
  BAD_OCTAL,
  BAD_DUPLICATE,
  BAD_LONGNAME_EOF,
} BadTar;

typedef struct {
  const char *path;
  BadTar kind;
  gint code;
} BadTarCase;

static const BadTarCase bad_tar_cases[] = {
  { "/tarsplit/disassemble/error/truncated-header", BAD_TRUNC_HEADER, GP_DATA_ERROR_TAR },
  { "/tarsplit/disassemble/error/truncated-content", BAD_TRUNC_CONTENT, GP_DATA_ERROR_TAR },
  { "/tarsplit/disassemble/error/bad-checksum", BAD_CHECKSUM, GP_DATA_ERROR_TAR },
  { "/tarsplit/disassemble/error/zero-then-nonzero", BAD_ZERO_THEN_DATA, GP_DATA_ERROR_TAR },
  { "/tarsplit/disassemble/error/negative-size", BAD_NEGATIVE_SIZE, GP_DATA_ERROR_TAR },
  { "/tarsplit/disassemble/error/bad-octal", BAD_OCTAL, GP_DATA_ERROR_TAR },
  { "/tarsplit/disassemble/error/duplicate-name", BAD_DUPLICATE, GP_DATA_ERROR_TARSPLIT },
  { "/tarsplit/disassemble/error/eof-after-longname", BAD_LONGNAME_EOF, GP_DATA_ERROR_TAR },
};

static void
test_bad_tar (gconstpointer data)
{
  const BadTarCase *c = data;
  g_autoptr(GByteArray) t = g_byte_array_new ();
  guint8 h[512], z[512] = { 0 };
  g_autoptr(GError) error = NULL;

  make_header (h, "a", 0100644, 0, '0');
  switch (c->kind)
    {
    case BAD_TRUNC_HEADER:
      g_byte_array_append (t, h, 100);
      break;
    case BAD_TRUNC_CONTENT:
      make_header (h, "a", 0100644, 2000, '0');
      g_byte_array_append (t, h, 512);
      g_byte_array_append (t, z, 512);
      break;
    case BAD_CHECKSUM:
      h[0] = 'b';
      g_byte_array_append (t, h, 512);
      break;
    case BAD_ZERO_THEN_DATA:
      g_byte_array_append (t, z, 512);
      g_byte_array_append (t, h, 512);
      break;
    case BAD_NEGATIVE_SIZE:
      memset (h + 124, 0xff, 12);
      set_checksum (h);
      g_byte_array_append (t, h, 512);
      break;
    case BAD_OCTAL:
      memcpy (h + 136, "0000000009\0", 12);
      set_checksum (h);
      g_byte_array_append (t, h, 512);
      break;
    case BAD_DUPLICATE:
      g_byte_array_append (t, h, 512);
      make_header (h, "./a/", 040755, 0, '5');
      g_byte_array_append (t, h, 512);
      break;
    case BAD_LONGNAME_EOF:
      make_header (h, "././@LongLink", 0, 3, 'L');
      g_byte_array_append (t, h, 512);
      memcpy (z, "abc", 3);
      g_byte_array_append (t, z, 512);
      break;
    }
  g_byte_array_append (t, (guint8[512]) { 0 }, 512);
  if (c->kind != BAD_TRUNC_HEADER && c->kind != BAD_TRUNC_CONTENT && c->kind != BAD_LONGNAME_EOF)
    g_byte_array_append (t, (guint8[512]) { 0 }, 512);
  if (c->kind == BAD_TRUNC_HEADER || c->kind == BAD_LONGNAME_EOF)
    g_byte_array_set_size (t, c->kind == BAD_TRUNC_HEADER ? 100 : 1024);

  g_autoptr(GBytes) json = disassemble (t->data, t->len, 13, GP_TAR_SPLIT_FLAGS_PLAIN, NULL, &error);
  g_assert_null (json);
  g_assert_error (error, GP_DATA_ERROR, c->code);
}

/* ---------- writer ---------- */

static void
test_writer_packer_vectors (void)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(GpTarSplitWriter) w = gp_tar_split_writer_new (gp_test_collect_bytes, out, GP_TAR_SPLIT_FLAGS_PLAIN);
  g_autoptr(GError) error = NULL;
  const GpTarSplitEntry entries[] = {
    { GP_TAR_SPLIT_ENTRY_SEGMENT, "", 0, 0, (const guint8 *) "how", 3, 0 },
    { GP_TAR_SPLIT_ENTRY_SEGMENT, "", 0, 0, (const guint8 *) "y'all", 5, 0 },
    { GP_TAR_SPLIT_ENTRY_FILE, "./hurr.txt", 10, 0, (const guint8 *) "deadbeef", 8, 0 },
    { GP_TAR_SPLIT_ENTRY_SEGMENT, "", 0, 0, (const guint8 *) "doin", 4, 0 },
  };
  const char *want =
    "{\"type\":2,\"payload\":\"aG93\",\"position\":0}\n"
    "{\"type\":2,\"payload\":\"eSdhbGw=\",\"position\":1}\n"
    "{\"type\":1,\"name\":\"./hurr.txt\",\"payload\":\"ZGVhZGJlZWY=\",\"position\":2}\n"
    "{\"type\":2,\"payload\":\"ZG9pbg==\",\"position\":3}\n";

  for (gsize i = 0; i < G_N_ELEMENTS (entries); i++)
    {
      g_assert_true (gp_tar_split_writer_add (w, &entries[i], &error));
      g_assert_no_error (error);
    }
  g_assert_true (gp_tar_split_writer_finish (w, &error));
  g_assert_cmpuint (strlen (want), ==, 200);
  g_assert_cmpmem (out->data, out->len, want, strlen (want));

  /* G3 TestDuplicateFail */
  g_autoptr(GpTarSplitWriter) w2 = gp_tar_split_writer_new (gp_test_collect_bytes, out, GP_TAR_SPLIT_FLAGS_PLAIN);
  GpTarSplitEntry f = { GP_TAR_SPLIT_ENTRY_FILE, "./hurr.txt", 10, 0, NULL, 0, 0 };
  g_assert_true (gp_tar_split_writer_add (w2, &f, &error));
  g_assert_false (gp_tar_split_writer_add (w2, &f, &error));
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_TARSPLIT);
  g_assert_nonnull (strstr (error->message, "duplicates of file paths not supported"));
  g_clear_error (&error);
  f.name = "hurr.txt";
  f.name_len = 8;
  g_assert_false (gp_tar_split_writer_add (w2, &f, &error));
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_TARSPLIT);
  g_clear_error (&error);

  /* G1: the raw-name line */
  g_autoptr(GByteArray) out3 = g_byte_array_new ();
  g_autoptr(GpTarSplitWriter) w3 = gp_tar_split_writer_new (gp_test_collect_bytes, out3, GP_TAR_SPLIT_FLAGS_PLAIN);
  const char *body = "caf\xc3\xa9 con leche, por favor";
  guint8 crc[8];
  gp_crc64_to_bytes (G_GUINT64_CONSTANT (0x7e4859efe6fca0bb), crc);
  GpTarSplitEntry r = { GP_TAR_SPLIT_ENTRY_FILE, "file-\xe4", 6, (gint64) strlen (body), crc, 8, 0 };
  g_assert_true (gp_tar_split_writer_add (w3, &r, &error));
  g_assert_true (gp_tar_split_writer_finish (w3, &error));
  const char *want3 = "{\"type\":1,\"name_raw\":\"ZmlsZS3k\",\"size\":26,\"payload\":\"fkhZ7+b8oLs=\",\"position\":0}\n";
  g_assert_cmpmem (out3->data, out3->len, want3, strlen (want3));

  /* gzip form: Go's header, and it decompresses to the same lines */
  g_autoptr(GByteArray) gz = g_byte_array_new ();
  g_autoptr(GpTarSplitWriter) w4 = gp_tar_split_writer_new (gp_test_collect_bytes, gz, GP_TAR_SPLIT_FLAGS_NONE);
  g_assert_true (gp_tar_split_writer_add (w4, &r, &error));
  g_assert_true (gp_tar_split_writer_finish (w4, &error));
  g_assert_cmpmem (gz->data, 10, "\x1f\x8b\x08\0\0\0\0\0\0\xff", 10);
  guint8 plain[256];
  z_stream zs = { 0 };
  g_assert_cmpint (inflateInit2 (&zs, 31), ==, Z_OK);
  zs.next_in = gz->data;
  zs.avail_in = gz->len;
  zs.next_out = plain;
  zs.avail_out = sizeof plain;
  g_assert_cmpint (inflate (&zs, Z_FINISH), ==, Z_STREAM_END);
  g_assert_cmpmem (plain, sizeof plain - zs.avail_out, want3, strlen (want3));
  inflateEnd (&zs);
}

static void
test_clean_path (void)
{
  static const char *cases[][2] = {
    { "", "." }, { ".", "." }, { "./a", "a" }, { "a/", "a" }, { "a//b", "a/b" },
    { "/a", "/a" }, { "/../a", "/a" }, { "../a", "../a" }, { "a/../..", ".." },
    { "a/./b/../c/", "a/c" }, { "//", "/" }, { "./", "." }, { "a/b/../../../c", "../c" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *c = gp_tar_split_clean_path (cases[i][0], strlen (cases[i][0]), NULL);
      g_assert_cmpstr (c, ==, cases[i][1]);
    }
}

/* ---------- reader and reassembly: successes ---------- */

typedef struct {
  const char *path;
  const char *json;        /* plain JSON text */
  const char *want;        /* expected tar bytes (text) */
  gint64 size_sum;
} GoodCase;

#define F_A "\"payload\":\"YVMQAAAAAAA=\""   /* CRC-64 of "x\n" */

static const GoodCase good_cases[] = {
  { "/tarsplit/read/unknown-type-skipped",
    "{\"type\":2,\"payload\":\"aG93\",\"position\":0}\n"
    "{\"type\":3,\"name\":\"zz\",\"size\":5,\"payload\":\"eA==\",\"position\":1}\n"
    "{\"type\":1,\"name\":\"a\",\"size\":2," F_A ",\"position\":2}\n",
    "howx\n", 7 },
  { "/tarsplit/read/case-insensitive-keys",
    "{\"TYPE\":2,\"PayLoad\":\"aG93\",\"Position\":0}\n"
    "{\"Type\":1,\"NAME\":\"a\",\"\xc5\xbfize\":2," "\"PAYLOAD\":\"YVMQAAAAAAA=\",\"POSITION\":1}\n",
    "howx\n", 2 },
  { "/tarsplit/read/v094-form",
    "{\"type\":2,\"name\":\"\",\"size\":0,\"payload\":\"aG93\",\"position\":0}\n"
    "{\"type\":1,\"name\":\"./d/\",\"size\":0,\"payload\":null,\"position\":1}\n"
    "{\"type\":1,\"name\":\"a\",\"size\":2," F_A ",\"position\":2}\n",
    "howx\n", 2 },
  { "/tarsplit/read/whitespace",
    "  {\"type\":2,\"payload\":\"aG93\",\"position\":0}\t\r\n\n"
    "{\n  \"type\": 1,\n  \"name\": \"a\",\n  \"size\": 2,\n  " F_A ",\n  \"position\": 1\n}"
    "{\"type\":2,\"payload\":\"\",\"position\":2}",
    "howx\n", 2 },
  { "/tarsplit/read/unknown-keys-and-escapes",
    "{\"extra\":{\"a\":[1,2.5e3,true,null,\"}\"]},\"type\":2,\"payload\":\"aG9\\u0033\",\"position\":0}\n"
    "{\"type\":1,\"name\":\"\\u0061\",\"size\":2," F_A ",\"position\":1,\"more\":\"x\"}\n",
    "howx\n", 2 },
  { "/tarsplit/read/base64-newlines",
    "{\"type\":2,\"payload\":\"aG\\r\\n93Z\\nHk=\\r\\n\",\"position\":0}\n"
    "{\"type\":2,\"payload\":\"aG93\\naG93aG93\",\"position\":1}\n"
    "{\"type\":1,\"name\":\"a\",\"size\":2," F_A ",\"position\":2}\n",
    "howdyhowhowhowx\n", 2 },
  { "/tarsplit/read/size-zero-not-opened",
    "{\"type\":1,\"name\":\"missing\",\"payload\":null,\"position\":0}\n"
    "{\"type\":1,\"name\":\"missing2\",\"size\":0,\"payload\":\"AAAAAAAAAAA=\",\"position\":1}\n",
    "", 0 },
};

static void
test_good (gconstpointer data)
{
  const GoodCase *c = data;
  g_autoptr(GHashTable) mem = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GError) error = NULL;
  GpTarSplitStats st;

  g_hash_table_insert (mem, (gpointer) "a", (gpointer) "x\n");
  for (int gz = 0; gz < 2; gz++)
    {
      g_autoptr(GBytes) in = gz ? gzip_data (c->json, strlen (c->json)) : g_bytes_new_static (c->json, strlen (c->json));
      g_autoptr(GBytes) out = assemble (in, gz ? GP_TAR_SPLIT_FLAGS_NONE : GP_TAR_SPLIT_FLAGS_PLAIN,
                                        open_from_memory, mem, &st, &error);
      g_assert_no_error (error);
      g_assert_cmpmem (g_bytes_get_data (out, NULL), g_bytes_get_size (out), c->want, strlen (c->want));
      g_assert_cmpint (st.size, ==, c->size_sum);
      g_assert_cmpuint (st.tar_size, ==, strlen (c->want));
      g_autofree char *id = gp_sha256_digest_of (c->want, strlen (c->want));
      g_assert_cmpstr (st.diff_id, ==, id);
    }
}

static void
test_multi_member (void)
{
  const char *l1 = "{\"type\":2,\"payload\":\"aG93\",\"position\":0}\n";
  const char *l2 = "{\"type\":2,\"payload\":\"eSdhbGw=\",\"position\":1}\n";
  g_autoptr(GBytes) g1 = gzip_data (l1, strlen (l1));
  g_autoptr(GBytes) g2 = gzip_data (l2, strlen (l2));
  g_autoptr(GByteArray) both = g_byte_array_new ();
  g_autoptr(GError) error = NULL;

  g_byte_array_append (both, g_bytes_get_data (g1, NULL), g_bytes_get_size (g1));
  g_byte_array_append (both, g_bytes_get_data (g2, NULL), g_bytes_get_size (g2));
  g_autoptr(GBytes) in = g_byte_array_free_to_bytes (g_steal_pointer (&both));
  g_autoptr(GBytes) out = assemble (in, GP_TAR_SPLIT_FLAGS_NONE, open_from_memory, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (out, NULL), g_bytes_get_size (out), "howy'all", 8);
}

/* A gzip bomb-like stream (one long run of spaces) is read in bounded memory. */
static void
test_long_whitespace (void)
{
  gsize n = 64 * 1024 * 1024;
  g_autofree char *big = g_malloc (n);
  memset (big, ' ', n);
  memcpy (big + n - 40, "{\"type\":2,\"payload\":\"aG93\",\"position\":0}", 40);
  g_autoptr(GBytes) in = gzip_data (big, n);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) out = assemble (in, GP_TAR_SPLIT_FLAGS_NONE, open_from_memory, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (out, NULL), g_bytes_get_size (out), "how", 3);
}

/* ---------- reader and reassembly: errors ---------- */

typedef enum {
  IN_GZIP,       /* the JSON gzip'd */
  IN_PLAIN,      /* the bytes as they are, read as gzip */
  IN_TRUNCATED,  /* the JSON gzip'd, then cut in half */
} InputKind;

typedef struct {
  const char *path;
  InputKind kind;
  const char *json;
  const char *file_a;      /* content served for "a" */
  gint code;
  const char *msg_part;
} BadCase;

static const BadCase bad_cases[] = {
  { "/tarsplit/read/error/bad-gzip", IN_PLAIN, "this is not gzip data at all", NULL, GP_DATA_ERROR_GZIP, NULL },
  { "/tarsplit/read/error/empty-file", IN_PLAIN, "", NULL, GP_DATA_ERROR_GZIP, NULL },
  { "/tarsplit/read/error/truncated-gzip", IN_TRUNCATED,
    "{\"type\":2,\"payload\":\"aG93\",\"position\":0}\n{\"type\":2,\"payload\":\"aG93\",\"position\":1}\n",
    NULL, GP_DATA_ERROR_GZIP, NULL },
  { "/tarsplit/read/error/bad-json-line", IN_GZIP,
    "{\"type\":2,\"payload\":\"aG93\",\"position\":0}\n{\"type\":2,\"payload\":,\"position\":1}\n",
    NULL, GP_DATA_ERROR_TARSPLIT, "entry 1" },
  { "/tarsplit/read/error/trailing-garbage", IN_GZIP,
    "{\"type\":2,\"payload\":\"aG93\",\"position\":0}\nxyz\n", NULL, GP_DATA_ERROR_TARSPLIT, "entry 1" },
  { "/tarsplit/read/error/truncated-object", IN_GZIP,
    "{\"type\":2,\"payload\":\"aG93\",\"position\":0}\n{\"type\":2,", NULL, GP_DATA_ERROR_TARSPLIT, "entry 1" },
  { "/tarsplit/read/error/bad-base64", IN_GZIP,
    "{\"type\":2,\"payload\":\"aG9\",\"position\":0}\n", NULL, GP_DATA_ERROR_TARSPLIT, "entry 0" },
  { "/tarsplit/read/error/type-is-string", IN_GZIP,
    "{\"type\":\"2\",\"payload\":\"aG93\",\"position\":0}\n", NULL, GP_DATA_ERROR_TARSPLIT, "entry 0" },
  { "/tarsplit/read/error/float-size", IN_GZIP,
    "{\"type\":1,\"name\":\"a\",\"size\":2.0,\"payload\":null,\"position\":0}\n", NULL, GP_DATA_ERROR_TARSPLIT, "entry 0" },
  { "/tarsplit/read/error/position-out-of-order", IN_GZIP,
    "{\"type\":2,\"payload\":\"aG93\",\"position\":0}\n{\"type\":2,\"payload\":\"aG93\",\"position\":2}\n",
    NULL, GP_DATA_ERROR_TARSPLIT, "position 2" },
  { "/tarsplit/read/error/position-missing", IN_GZIP,
    "{\"type\":2,\"payload\":\"aG93\",\"position\":0}\n{\"type\":2,\"payload\":\"aG93\"}\n",
    NULL, GP_DATA_ERROR_TARSPLIT, "entry 1" },
  { "/tarsplit/read/error/negative-size", IN_GZIP,
    "{\"type\":1,\"name\":\"a\",\"size\":-1,\"payload\":null,\"position\":0}\n", NULL, GP_DATA_ERROR_SIZE, "entry 0" },
  { "/tarsplit/read/error/size-above-2^62", IN_GZIP,
    "{\"type\":1,\"name\":\"a\",\"size\":4611686018427387905,\"payload\":null,\"position\":0}\n",
    NULL, GP_DATA_ERROR_SIZE, "entry 0" },
  { "/tarsplit/read/error/size-overflows-int64", IN_GZIP,
    "{\"type\":1,\"name\":\"a\",\"size\":9223372036854775808,\"payload\":null,\"position\":0}\n",
    NULL, GP_DATA_ERROR_TARSPLIT, "entry 0" },
  { "/tarsplit/read/error/duplicate-path", IN_GZIP,
    "{\"type\":1,\"name\":\"./a\",\"payload\":null,\"position\":0}\n{\"type\":1,\"name\":\"a/\",\"payload\":null,\"position\":1}\n",
    NULL, GP_DATA_ERROR_TARSPLIT, "duplicates of file paths not supported" },
  { "/tarsplit/assemble/error/crc-mismatch", IN_GZIP,
    "{\"type\":1,\"name\":\"a\",\"size\":2," F_A ",\"position\":0}\n", "y\n", GP_DATA_ERROR_CRC,
    "file integrity checksum failed for \"a\"" },
  { "/tarsplit/assemble/error/crc-null-payload", IN_GZIP,
    "{\"type\":1,\"name\":\"a\",\"size\":2,\"payload\":null,\"position\":0}\n", "x\n", GP_DATA_ERROR_CRC, "\"a\"" },
  { "/tarsplit/assemble/error/file-shorter", IN_GZIP,
    "{\"type\":1,\"name\":\"a\",\"size\":3," F_A ",\"position\":0}\n", "x\n", GP_DATA_ERROR_SIZE, "\"a\" is shorter" },
  { "/tarsplit/assemble/error/file-longer", IN_GZIP,
    "{\"type\":1,\"name\":\"a\",\"size\":1," F_A ",\"position\":0}\n", "x\n", GP_DATA_ERROR_SIZE, "\"a\" is longer" },
  { "/tarsplit/assemble/error/file-missing", IN_GZIP,
    "{\"type\":1,\"name\":\"b\",\"size\":1," F_A ",\"position\":0}\n", "x\n", GP_DATA_ERROR_MISSING, "\"b\"" },
};

static void
test_bad (gconstpointer data)
{
  const BadCase *c = data;
  g_autoptr(GHashTable) mem = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) in = NULL;

  if (c->file_a)
    g_hash_table_insert (mem, (gpointer) "a", (gpointer) c->file_a);
  switch (c->kind)
    {
    case IN_PLAIN:
      in = g_bytes_new_static (c->json, strlen (c->json));
      break;
    case IN_GZIP:
      in = gzip_data (c->json, strlen (c->json));
      break;
    case IN_TRUNCATED:
      {
        g_autoptr(GBytes) full = gzip_data (c->json, strlen (c->json));
        in = g_bytes_new_from_bytes (full, 0, g_bytes_get_size (full) / 2);
        break;
      }
    }
  g_autoptr(GBytes) out = assemble (in, GP_TAR_SPLIT_FLAGS_NONE, open_from_memory, mem, NULL, &error);
  g_assert_null (out);
  g_assert_error (error, GP_DATA_ERROR, c->code);
  if (c->msg_part)
    g_assert_nonnull (strstr (error->message, c->msg_part));
  g_assert_nonnull (strstr (error->message, c->code == GP_DATA_ERROR_CRC || c->code == GP_DATA_ERROR_MISSING
                                            || (c->code == GP_DATA_ERROR_SIZE && c->file_a) ? "" : "test.json.gz"));
}

/* The fstat() path of the length check: regular files on disk. */
static void
test_length_regular_file (void)
{
  g_autofree char *dir = g_dir_make_tmp ("gp-tarsplit-XXXXXX", NULL);
  g_autofree char *a = g_build_filename (dir, "a", NULL);
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_set_contents (a, "x\n", 2, NULL));
  int dfd = open (dir, O_RDONLY | O_DIRECTORY);
  const char *j = "{\"type\":1,\"name\":\"a\",\"size\":3," F_A ",\"position\":0}\n";
  g_autoptr(GBytes) in = g_bytes_new_static (j, strlen (j));
  g_autoptr(GBytes) out = assemble (in, GP_TAR_SPLIT_FLAGS_PLAIN, open_in_dir, GINT_TO_POINTER (dfd), NULL, &error);
  g_assert_null (out);
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_SIZE);
  g_assert_nonnull (strstr (error->message, "\"a\" is shorter"));
  close (dfd);
  gp_test_rm_rf (dir);
}

static void
test_cancel (void)
{
  const char *j = "{\"type\":2,\"payload\":\"aG93\",\"position\":0}\n";
  int fd = fd_from_data (j, strlen (j));
  g_autoptr(GpTarSplitReader) r = gp_tar_split_reader_new (fd, "c", GP_TAR_SPLIT_FLAGS_PLAIN);
  g_autoptr(GCancellable) cancel = g_cancellable_new ();
  g_autoptr(GError) error = NULL;

  g_cancellable_cancel (cancel);
  g_assert_false (gp_tar_split_assemble (r, open_from_memory, NULL, NULL, NULL, cancel, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  close (fd);
}

/* ---------- golden legacy root (Docker 1.10.3) ---------- */

/* ---------- large streams: the hashing thread ---------- */

/* Files of 3 MiB, 700 KiB, 300 KiB ... and small ones, so that the stream
 * passes the ring of buffers several times over and reads end inside and
 * across buffer boundaries. */
static const gsize large_sizes[] = { 3 << 20, 1, 700 << 10, 0, 300 << 10, 511, 512, 513, 262144, 262143,
                                     262145, 65536, 5, 1 << 20, 77777 };

typedef struct {
  char *dir;
  GByteArray *tar;
} LargeLayer;

static void
large_layer_free (LargeLayer *l)
{
  gp_test_rm_rf (l->dir);
  g_free (l->dir);
  g_byte_array_unref (l->tar);
  g_free (l);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LargeLayer, large_layer_free)

static LargeLayer *
large_layer_new (void)
{
  LargeLayer *l = g_new0 (LargeLayer, 1);
  g_autoptr(GRand) rand = g_rand_new_with_seed (31337);
  l->dir = g_dir_make_tmp ("gp-large-XXXXXX", NULL);
  g_assert_nonnull (l->dir);
  l->tar = g_byte_array_new ();
  for (gsize i = 0; i < G_N_ELEMENTS (large_sizes); i++)
    {
      gsize n = large_sizes[i];
      g_autofree char *name = g_strdup_printf ("f%02u", (guint) i);
      g_autofree char *path = g_build_filename (l->dir, name, NULL);
      g_autofree guint8 *data = g_malloc (n + 1);
      for (gsize k = 0; k < n; k++)
        data[k] = (guint8) g_rand_int (rand);
      g_assert_true (g_file_set_contents (path, (const char *) data, (gssize) n, NULL));
      guint8 h[512];
      make_header (h, name, 0100644, (gint64) n, '0');
      g_byte_array_append (l->tar, h, 512);
      g_byte_array_append (l->tar, data, (guint) n);
      memset (h, 0, 512);
      if (n % 512)
        g_byte_array_append (l->tar, h, (guint) (512 - n % 512));
    }
  guint8 z[1024] = { 0 };
  g_byte_array_append (l->tar, z, sizeof z);
  return l;
}

static void
test_large_threaded (void)
{
  g_autoptr(LargeLayer) l = large_layer_new ();
  g_autoptr(GError) error = NULL;
  GpTarSplitStats st, st2;
  g_autoptr(GBytes) ts = disassemble (l->tar->data, l->tar->len, 100000, GP_TAR_SPLIT_FLAGS_PLAIN, &st, &error);
  g_assert_no_error (error);
  g_autofree char *hex = sha256_hex (l->tar->data, l->tar->len);
  g_autofree char *want = g_strconcat ("sha256:", hex, NULL);
  g_assert_cmpstr (st.diff_id, ==, want);

  int dfd = open (l->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  g_assert_cmpint (dfd, >=, 0);
  g_autoptr(GBytes) out = assemble (ts, GP_TAR_SPLIT_FLAGS_PLAIN, open_in_dir, GINT_TO_POINTER (dfd), &st2, &error);
  g_assert_no_error (error);
  g_assert_nonnull (out);
  /* the exact bytes, and the digest of an independent SHA-256 */
  g_assert_cmpmem (g_bytes_get_data (out, NULL), g_bytes_get_size (out), l->tar->data, l->tar->len);
  g_assert_cmpstr (st2.diff_id, ==, want);
  g_assert_cmpuint (st2.tar_size, ==, l->tar->len);

  /* measuring only (no write function), as the migration does */
  gsize tslen;
  const guint8 *tsdata = g_bytes_get_data (ts, &tslen);
  int fd = fd_from_data (tsdata, tslen);
  g_autoptr(GpTarSplitReader) r = gp_tar_split_reader_new (fd, "t", GP_TAR_SPLIT_FLAGS_PLAIN);
  GpTarSplitStats st3;
  g_assert_true (gp_tar_split_assemble (r, open_in_dir, GINT_TO_POINTER (dfd), NULL, NULL, NULL, &st3, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (st3.diff_id, ==, want);
  close (fd);
  close (dfd);
}

typedef enum { LATE_CRC, LATE_MISSING, LATE_WRITE } LateFailure;

static gboolean
sink_fail_late (gpointer user_data, const void *buf, gsize len, GError **error)
{
  gsize *n = user_data;
  *n += len;
  if (*n > (2u << 20))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "disk full");
      return FALSE;
    }
  return TRUE;
}

/* Failures after the hashing thread has started: reported, no hang, and
 * (under valgrind or ASan) nothing leaked. */
static void
test_large_late_failure (gconstpointer data)
{
  LateFailure what = GPOINTER_TO_INT (data);
  g_autoptr(LargeLayer) l = large_layer_new ();
  g_autoptr(GError) error = NULL;
  GpTarSplitStats st;
  g_autoptr(GBytes) ts = disassemble (l->tar->data, l->tar->len, 1 << 20, GP_TAR_SPLIT_FLAGS_PLAIN, &st, &error);
  g_assert_no_error (error);
  /* f13 (1 MiB) comes after more than 4 MiB of stream */
  g_autofree char *victim = g_build_filename (l->dir, "f13", NULL);
  if (what == LATE_CRC)
    {
      g_autofree char *c = NULL;
      gsize n;
      g_assert_true (g_file_get_contents (victim, &c, &n, NULL));
      c[n - 1] ^= 1;
      g_assert_true (g_file_set_contents (victim, c, (gssize) n, NULL));
    }
  else if (what == LATE_MISSING)
    g_assert_cmpint (unlink (victim), ==, 0);

  int dfd = open (l->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  gsize tslen;
  const guint8 *tsdata = g_bytes_get_data (ts, &tslen);
  int fd = fd_from_data (tsdata, tslen);
  g_autoptr(GpTarSplitReader) r = gp_tar_split_reader_new (fd, "t", GP_TAR_SPLIT_FLAGS_PLAIN);
  gsize written = 0;
  gboolean ok = gp_tar_split_assemble (r, open_in_dir, GINT_TO_POINTER (dfd),
                                       what == LATE_WRITE ? sink_fail_late : NULL, &written, NULL, &st, &error);
  g_assert_false (ok);
  if (what == LATE_CRC)
    g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_CRC);
  else if (what == LATE_MISSING)
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  else
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE);
  close (fd);
  close (dfd);
}

/* ---------- many small files: the hashing thread and the parsing ahead ---------- */

/* A 3 MiB file first (the threads start early), then @n_small small files
 * in a few directories: more entries than the parsing-ahead batches hold
 * (4 x 512), names and payloads of every length. */
static LargeLayer *
many_layer_new (guint n_small)
{
  LargeLayer *l = g_new0 (LargeLayer, 1);
  g_autoptr(GRand) rand = g_rand_new_with_seed (4242);
  l->dir = g_dir_make_tmp ("gp-many-XXXXXX", NULL);
  g_assert_nonnull (l->dir);
  l->tar = g_byte_array_new ();
  for (guint i = 0; i <= n_small; i++)
    {
      gsize n = i == 0 ? 3 << 20 : g_rand_int_range (rand, 0, 3000);
      g_autofree char *sub = g_strdup_printf ("d%u", i % 7);
      g_autofree char *subdir = g_build_filename (l->dir, sub, NULL);
      (void) mkdir (subdir, 0755);
      g_autofree char *name = g_strdup_printf ("%s/file-%0*u", sub, (int) (1 + i % 40), i);
      g_autofree char *path = g_build_filename (l->dir, name, NULL);
      g_autofree guint8 *data = g_malloc (n + 1);
      for (gsize k = 0; k < n; k++)
        data[k] = (guint8) g_rand_int (rand);
      g_assert_true (g_file_set_contents (path, (const char *) data, (gssize) n, NULL));
      guint8 h[512];
      make_header (h, name, 0100644, (gint64) n, '0');
      g_byte_array_append (l->tar, h, 512);
      g_byte_array_append (l->tar, data, (guint) n);
      memset (h, 0, 512);
      if (n % 512)
        g_byte_array_append (l->tar, h, (guint) (512 - n % 512));
    }
  guint8 z[1024] = { 0 };
  g_byte_array_append (l->tar, z, sizeof z);
  return l;
}

/* The same bytes, digest and stats with the threads forced on and off;
 * then a tar-split stream cut short and a file changed near the end: the
 * same errors either way. */
static void
test_many_small_threads (void)
{
  g_autoptr(LargeLayer) l = many_layer_new (3000);
  g_autoptr(GError) error = NULL;
  GpTarSplitStats st;
  g_autoptr(GBytes) ts = disassemble (l->tar->data, l->tar->len, 65536, GP_TAR_SPLIT_FLAGS_PLAIN, &st, &error);
  g_assert_no_error (error);
  g_autofree char *hex = sha256_hex (l->tar->data, l->tar->len);
  g_autofree char *want = g_strconcat ("sha256:", hex, NULL);
  int dfd = open (l->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  g_assert_cmpint (dfd, >=, 0);
  gsize tslen;
  const guint8 *tsdata = g_bytes_get_data (ts, &tslen);

  static const char *const modes[] = { "1", "0" };
  char *errors[2][2] = { { NULL } };
  for (guint m = 0; m < G_N_ELEMENTS (modes); m++)
    {
      g_setenv ("GP_TAR_SPLIT_THREADS", modes[m], TRUE);
      GpTarSplitStats st2;
      g_autoptr(GBytes) out = assemble (ts, GP_TAR_SPLIT_FLAGS_PLAIN, open_in_dir, GINT_TO_POINTER (dfd), &st2, &error);
      g_assert_no_error (error);
      g_assert_cmpmem (g_bytes_get_data (out, NULL), g_bytes_get_size (out), l->tar->data, l->tar->len);
      g_assert_cmpstr (st2.diff_id, ==, want);
      g_assert_cmpuint (st2.n_entries, ==, st.n_entries);
      g_assert_cmpint (st2.size, ==, st.size);

      /* cut inside the last entries (the very last line, an empty
       * segment, is 40 bytes): a reader error at the end */
      g_autoptr(GBytes) cut = g_bytes_new (tsdata, tslen - 100);
      g_autoptr(GBytes) out2 = assemble (cut, GP_TAR_SPLIT_FLAGS_PLAIN, open_in_dir, GINT_TO_POINTER (dfd), NULL, &error);
      g_assert_nonnull (error);
      errors[m][0] = g_strdup_printf ("%s %d %s", g_quark_to_string (error->domain), error->code, error->message);
      g_clear_error (&error);
    }
  /* the last non-empty file changed (same length): the CRC error names it */
  g_autofree char *victim_name = NULL;
  for (guint i = 3000; i > 0 && victim_name == NULL; i--)
    {
      g_autofree char *name = g_strdup_printf ("d%u/file-%0*u", i % 7, (int) (1 + i % 40), i);
      g_autofree char *path = g_build_filename (l->dir, name, NULL);
      g_autofree char *c = NULL;
      gsize n = 0;
      g_assert_true (g_file_get_contents (path, &c, &n, NULL));
      if (n == 0)
        continue;
      c[0] ^= 1;
      g_assert_true (g_file_set_contents (path, c, (gssize) n, NULL));
      victim_name = g_steal_pointer (&name);
    }
  g_assert_nonnull (victim_name);
  for (guint m = 0; m < G_N_ELEMENTS (modes); m++)
    {
      g_setenv ("GP_TAR_SPLIT_THREADS", modes[m], TRUE);
      g_autoptr(GBytes) out = assemble (ts, GP_TAR_SPLIT_FLAGS_PLAIN, open_in_dir, GINT_TO_POINTER (dfd), NULL, &error);
      g_assert_nonnull (error);
      errors[m][1] = g_strdup_printf ("%s %d %s", g_quark_to_string (error->domain), error->code, error->message);
      g_clear_error (&error);
    }
  g_unsetenv ("GP_TAR_SPLIT_THREADS");
  g_assert_cmpstr (errors[0][0], ==, errors[1][0]);
  g_assert_cmpstr (errors[0][1], ==, errors[1][1]);
  g_assert_nonnull (strstr (errors[0][1], victim_name));
  g_assert_nonnull (strstr (errors[0][1], "checksum"));
  for (guint m = 0; m < 2; m++)
    for (guint k = 0; k < 2; k++)
      g_free (errors[m][k]);
  close (dfd);
}

static char *golden_root;

/* The golden legacy root, extracted once; NULL after failing the test
 * (data missing) or skipping it (not root: fails under GP_REQUIRE_ALL). */
static const char *
golden_extract (void)
{
  if (golden_root)
    return golden_root;
  g_autofree char *tgz = shared_path ("golden", "public", "legacy-root.tar.gz", NULL);
  if (!g_file_test (tgz, G_FILE_TEST_EXISTS))
    {
      gp_test_fail_no_shared (tgz);
      return NULL;
    }
  if (geteuid () != 0)
    {
      gp_test_skip_required ("the golden legacy root must be extracted as root (owners, xattrs)");
      return NULL;
    }
  char *dir = g_dir_make_tmp ("gp-golden-XXXXXX", NULL);
  const char *argv[] = { "tar", "--numeric-owner", "-p", "--xattrs", "--xattrs-include=*",
                         "-xzf", tgz, "-C", dir, NULL };
  int status;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, &status, NULL));
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  golden_root = dir;
  return golden_root;
}

/* The DiffID Docker computed for v1 id @id: its last layer in ids.txt. */
static char *
expected_diff_id (const char *ids_txt, const char *id)
{
  g_auto(GStrv) lines = g_strsplit (ids_txt, "\n", -1);
  char *last = NULL;
  gboolean in = FALSE;
  for (char **l = lines; *l; l++)
    {
      if (g_str_has_prefix (*l, id))
        in = TRUE;
      else if (**l != '\t' && **l != '\0')
        {
          if (in)
            break;
        }
      else if (in)
        {
          const char *d = strstr (*l, "diff=");
          if (d)
            {
              g_free (last);
              last = g_strndup (d + 5, GP_DIGEST_SHA256_LEN);
            }
        }
    }
  return last;
}

static void
test_golden (void)
{
  const char *root = golden_extract ();
  if (root == NULL)
    return;
  g_autofree char *exp = shared_path ("golden", "public", "expected", NULL);
  g_autofree char *ids_path = g_build_filename (exp, "ids.txt", NULL);
  g_autofree char *ids_txt = NULL;
  g_assert_true (g_file_get_contents (ids_path, &ids_txt, NULL, NULL));
  g_autofree char *graph = g_build_filename (root, "graph", NULL);
  g_autoptr(GDir) gd = g_dir_open (graph, 0, NULL);
  const char *id;
  guint n_tarsplit = 0, n_fallback = 0;

  while ((id = g_dir_read_name (gd)) != NULL)
    {
      g_autofree char *td = g_build_filename (graph, id, "tar-data.json.gz", NULL);
      g_autofree char *layer_dir = g_build_filename (root, "vfs", "dir", id, NULL);
      g_autofree char *want_id = expected_diff_id (ids_txt, id);
      g_autofree char *size_path = g_build_filename (exp, "files", "graph", id, ".migration-size", NULL);
      g_autofree char *want_size = NULL;
      g_autoptr(GError) error = NULL;
      gboolean fallback = !g_file_test (td, G_FILE_TEST_EXISTS);
      g_autofree char *ts_path = fallback
        ? g_build_filename (exp, "files", "graph", id, ".migration-tardata.gunzipped", NULL)
        : g_strdup (td);

      if (want_id == NULL)
        continue;   /* NOT-MIGRATED */
      g_assert_true (g_file_get_contents (size_path, &want_size, NULL, NULL));
      int dfd = open (layer_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      g_assert_cmpint (dfd, >=, 0);
      int fd = open (ts_path, O_RDONLY | O_CLOEXEC);
      g_assert_cmpint (fd, >=, 0);
      g_autoptr(GpTarSplitReader) r = gp_tar_split_reader_new (fd, ts_path, fallback ? GP_TAR_SPLIT_FLAGS_PLAIN : GP_TAR_SPLIT_FLAGS_NONE);
      g_autoptr(GByteArray) tar = g_byte_array_new ();
      GpTarSplitStats st;
      g_assert_true (gp_tar_split_assemble (r, open_in_dir, GINT_TO_POINTER (dfd), gp_test_collect_bytes, tar, NULL, &st, &error));
      g_assert_no_error (error);
      close (fd);
      close (dfd);
      g_test_message ("%s: %s, %" G_GINT64_FORMAT " (%s)", id, st.diff_id, st.size, fallback ? "fallback" : "tar-split");
      g_assert_cmpstr (st.diff_id, ==, want_id);
      g_autofree char *size_str = g_strdup_printf ("%" G_GINT64_FORMAT, st.size);
      g_assert_cmpstr (size_str, ==, want_size);
      g_assert_cmpuint (st.tar_size, ==, tar->len);

      /* disassembling the rebuilt stream gives the legacy JSON back */
      g_autoptr(GBytes) legacy = fallback ? NULL : gunzip_file (ts_path);
      if (fallback)
        {
          char *c;
          gsize n;
          g_assert_true (g_file_get_contents (ts_path, &c, &n, NULL));
          legacy = g_bytes_new_take (c, n);
        }
      GpTarSplitStats st2;
      g_autoptr(GBytes) json = disassemble (tar->data, tar->len, 65536, GP_TAR_SPLIT_FLAGS_PLAIN, &st2, &error);
      g_assert_no_error (error);
      g_assert_cmpmem (g_bytes_get_data (json, NULL), g_bytes_get_size (json),
                       g_bytes_get_data (legacy, NULL), g_bytes_get_size (legacy));
      g_assert_cmpstr (st2.diff_id, ==, want_id);
      g_assert_cmpint (st2.size, ==, st.size);
      if (fallback)
        n_fallback++;
      else
        n_tarsplit++;
    }
  g_assert_cmpuint (n_tarsplit, ==, 8);
  g_assert_cmpuint (n_fallback, ==, 1);
}

static void
test_golden_fallback_id (void)
{
  /* FORMATS brief: reassembling the expected .migration-tardata of the
   * image without tar-data gives Docker's DiffID; checked in test_golden,
   * asserted here by value. */
  const char *root = golden_extract ();
  if (root == NULL)
    return;
  const char *id = "7b316fc6845eecf7f19e341bb2fa2908d448267ae8695e08afef4f189f83344e";
  g_autofree char *ts = shared_path ("golden", "public", "expected", "files", "graph", id, ".migration-tardata.gunzipped", NULL);
  g_autofree char *layer_dir = g_build_filename (root, "vfs", "dir", id, NULL);
  int dfd = open (layer_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int fd = open (ts, O_RDONLY | O_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);
  g_autoptr(GpTarSplitReader) r = gp_tar_split_reader_new (fd, ts, GP_TAR_SPLIT_FLAGS_PLAIN);
  g_autoptr(GError) error = NULL;
  GpTarSplitStats st;
  g_assert_true (gp_tar_split_assemble (r, open_in_dir, GINT_TO_POINTER (dfd), NULL, NULL, NULL, &st, &error));
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (st.diff_id, "sha256:95572450"));
  g_assert_cmpstr (st.diff_id, ==, "sha256:9557245093c19eb29b37d4dedb701b1c9821a906d8724bd4fa8ef05f32be141a");
  close (fd);
  close (dfd);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (fixture_cases); i++)
    {
      g_autofree char *base = g_path_get_basename (fixture_cases[i].file);
      g_autofree char *p = g_strdup_printf ("/tarsplit/fixture/%s", base);
      g_test_add_data_func (p, &fixture_cases[i], test_fixture);
    }
  g_test_add_func ("/tarsplit/fixture/empty-layer-members", test_empty_layer_members);
  g_test_add_func ("/tarsplit/disassemble/worked-example", test_worked_example);
  g_test_add_func ("/tarsplit/disassemble/quirk/empty-input", test_quirk_empty_input);
  g_test_add_data_func ("/tarsplit/disassemble/quirk/no-end-blocks", GINT_TO_POINTER (END_NONE), test_quirk_end);
  g_test_add_data_func ("/tarsplit/disassemble/quirk/one-zero-block", GINT_TO_POINTER (END_ONE_ZERO), test_quirk_end);
  g_test_add_data_func ("/tarsplit/disassemble/quirk/two-zero-blocks", GINT_TO_POINTER (END_TWO_ZERO), test_quirk_end);
  g_test_add_data_func ("/tarsplit/disassemble/quirk/trailing-garbage", GINT_TO_POINTER (END_GARBAGE), test_quirk_end);
  g_test_add_data_func ("/tarsplit/disassemble/quirk/record-padding", GINT_TO_POINTER (END_RECORD), test_quirk_end);
  g_test_add_data_func ("/tarsplit/disassemble/quirk/eof-in-padding", GINT_TO_POINTER (END_PAD_CUT), test_quirk_end);
  g_test_add_func ("/tarsplit/disassemble/headers", test_headers);
  g_test_add_func ("/tarsplit/disassemble/old-gnu-sparse", test_old_gnu_sparse);
  for (gsize i = 0; i < G_N_ELEMENTS (bad_tar_cases); i++)
    g_test_add_data_func (bad_tar_cases[i].path, &bad_tar_cases[i], test_bad_tar);
  g_test_add_func ("/tarsplit/writer/packer-vectors", test_writer_packer_vectors);
  g_test_add_func ("/tarsplit/path/clean", test_clean_path);
  for (gsize i = 0; i < G_N_ELEMENTS (good_cases); i++)
    g_test_add_data_func (good_cases[i].path, &good_cases[i], test_good);
  g_test_add_func ("/tarsplit/read/multi-member", test_multi_member);
  g_test_add_func ("/tarsplit/read/long-whitespace", test_long_whitespace);
  for (gsize i = 0; i < G_N_ELEMENTS (bad_cases); i++)
    g_test_add_data_func (bad_cases[i].path, &bad_cases[i], test_bad);
  g_test_add_func ("/tarsplit/assemble/error/length-regular-file", test_length_regular_file);
  g_test_add_func ("/tarsplit/assemble/cancel", test_cancel);
  g_test_add_func ("/tarsplit/assemble/large/threaded", test_large_threaded);
  g_test_add_func ("/tarsplit/assemble/large/many-small-threads", test_many_small_threads);
  g_test_add_data_func ("/tarsplit/assemble/large/late-crc", GINT_TO_POINTER (LATE_CRC), test_large_late_failure);
  g_test_add_data_func ("/tarsplit/assemble/large/late-missing", GINT_TO_POINTER (LATE_MISSING), test_large_late_failure);
  g_test_add_data_func ("/tarsplit/assemble/large/late-write", GINT_TO_POINTER (LATE_WRITE), test_large_late_failure);
  g_test_add_func ("/tarsplit/golden/legacy-root", test_golden);
  g_test_add_func ("/tarsplit/golden/fallback-diffid", test_golden_fallback_id);

  int ret = g_test_run ();
  if (golden_root)
    {
      gp_test_rm_rf (golden_root);
      g_free (golden_root);
    }
  return ret;
}
