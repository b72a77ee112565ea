/* The bbolt reader (core/format/gp-bbolt.c) on the small database of the
 * fuzz seed (tests/fuzz/make-bolt-seed.py: 512-byte pages; page 3 the
 * root leaf holding bucket v1, whose root is branch page 4 over leaves 5
 * and 6; leaf 5 holds the inline bucket `default` with the inline bucket
 * `images` inside; leaf 6 spans an overflow page) and on damaged copies
 * of it, each with the error code it must give.  Databases containerd
 * writes are read in tests/containerd-bolt.sh.
 */
#include "config.h"

#include <graphpipe.h>

#include <string.h>

#define PS 512

static GBytes *
load_seed (void)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "fuzz", "corpus", "bbolt", "seed",
                                                 NULL);
  g_autoptr (GError) error = NULL;
  char *data;
  gsize len;
  g_assert_true (g_file_get_contents (path, &data, &len, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (len, ==, 10 * PS);
  return g_bytes_new_take (data, len);
}

static void
put64 (guint8 *p, guint64 v)
{
  v = GUINT64_TO_LE (v);
  memcpy (p, &v, 8);
}

static guint64
fnv1a64 (const guint8 *p, gsize len)
{
  guint64 h = G_GUINT64_CONSTANT (14695981039346656037);
  for (gsize i = 0; i < len; i++)
    h = (h ^ p[i]) * G_GUINT64_CONSTANT (1099511628211);
  return h;
}

/* Sets a meta page's root bucket page and re-seals its checksum. */
static void
meta_set_root (guint8 *db, guint page, guint64 root)
{
  guint8 *m = db + page * PS + 16;
  put64 (m + 16, root);
  put64 (m + 56, fnv1a64 (m, 56));
}

/* The inline page of bucket `default` (in leaf page 5). */
static guint8 *
default_inline_page (guint8 *db)
{
  guint8 *p = db + 5 * PS;
  for (gsize i = 16; i + 7 < PS; i++)
    if (memcmp (p + i, "default", 7) == 0)
      return p + i + 7 + 16;
  g_assert_not_reached ();
}

static gboolean
collect (const guint8 *key, gsize key_len, const guint8 *value, gsize value_len,
         gboolean is_bucket, gpointer user_data, GError **error)
{
  GString *s = user_data;
  g_string_append_printf (s, "%.*s%s=%" G_GSIZE_FORMAT ";", (int) key_len, key,
                          is_bucket ? "/" : "", value_len);
  return TRUE;
}

static void
test_seed_read (void)
{
  g_autoptr (GBytes) seed = load_seed ();
  g_autoptr (GError) error = NULL;
  gsize len;
  const guint8 *data = g_bytes_get_data (seed, &len);
  g_autoptr (GpBolt) db = gp_bolt_new_from_data (data, len, "seed.db", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (gp_bolt_get_page_size (db), ==, PS);
  g_assert_cmpuint (gp_bolt_get_txid (db), ==, 2);

  GpBoltStats stats;
  g_assert_true (gp_bolt_check (db, &stats, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (stats.branch_pages, ==, 1);
  g_assert_cmpuint (stats.leaf_pages, ==, 5);
  g_assert_cmpuint (stats.overflow_pages, ==, 1);
  g_assert_cmpuint (stats.buckets, ==, 4);
  g_assert_cmpuint (stats.inline_buckets, ==, 2);
  g_assert_cmpuint (stats.keys, ==, 3);

  GpBoltBucket root, v1, def, images;
  gp_bolt_root (db, &root);
  g_assert_true (gp_bolt_bucket_get_bucket (db, &root, "v1", &v1, &error));
  g_autoptr (GString) s = g_string_new (NULL);
  g_assert_true (gp_bolt_bucket_foreach (db, &v1, collect, s, &error));
  /* default's value: bucket header 16 + inline page header 16 + two
   * elements 32 + "images" 6 + its own inline bucket (16 + 16) + "k" "v" */
  g_assert_cmpstr (s->str, ==, "a=1;default/=104;m=600;");

  const guint8 *v;
  gsize vlen;
  gboolean is_bucket;
  g_assert_true (gp_bolt_bucket_get (db, &v1, "m", &v, &vlen, &is_bucket, &error));
  g_assert_false (is_bucket);
  g_assert_cmpuint (vlen, ==, 600);
  for (gsize i = 0; i < vlen; i++)
    g_assert_cmpint (v[i], ==, 'y');

  g_assert_true (gp_bolt_bucket_get_bucket (db, &v1, "default", &def, &error));
  g_assert_cmpuint (def.root, ==, 0);
  g_assert_cmpstr (def.name, ==, "v1/default");
  g_assert_true (gp_bolt_bucket_get (db, &def, "k", &v, &vlen, &is_bucket, &error));
  g_assert_cmpmem (v, vlen, "v", 1);
  g_assert_true (gp_bolt_bucket_get_bucket (db, &def, "images", &images, &error));
  g_string_truncate (s, 0);
  g_assert_true (gp_bolt_bucket_foreach (db, &images, collect, s, &error));
  g_assert_cmpstr (s->str, ==, "");
  g_assert_no_error (error);

  /* a missing key, a value asked for as a bucket */
  g_assert_false (gp_bolt_bucket_get (db, &v1, "nothing", &v, &vlen, &is_bucket, &error));
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING);
  g_assert_nonnull (strstr (error->message, "seed.db: bucket v1 has no key nothing"));
  g_clear_error (&error);
  g_assert_false (gp_bolt_bucket_get_bucket (db, &v1, "a", &images, &error));
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_INVALID);
}

/* The current meta page broken: the other one (txid 1) is used, as bbolt
 * does. */
static void
test_seed_meta_fallback (void)
{
  g_autoptr (GBytes) seed = load_seed ();
  gsize len;
  const guint8 *orig = g_bytes_get_data (seed, &len);
  g_autofree guint8 *db = g_memdup2 (orig, len);
  db[16 + 48] ^= 0x01;
  g_autoptr (GError) error = NULL;
  g_autoptr (GpBolt) bolt = gp_bolt_new_from_data (db, len, "seed.db", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (gp_bolt_get_txid (bolt), ==, 1);
  g_assert_true (gp_bolt_check (bolt, NULL, &error));
}

typedef struct {
  const char *path;
  void (*damage) (guint8 *db, gsize *len);
  int code;
  const char *message; /* part of the error message */
} Case;

static void d_empty (guint8 *db, gsize *len) { *len = 0; }
static void d_truncated (guint8 *db, gsize *len) { *len = 8 * PS; }
static void d_magic (guint8 *db, gsize *len) { db[16] ^= 1; db[PS + 16] ^= 1; }
static void d_checksums (guint8 *db, gsize *len) { db[16 + 60] ^= 1; db[PS + 16 + 60] ^= 1; }
static void d_meta_root (guint8 *db, gsize *len) { meta_set_root (db, 0, 10); meta_set_root (db, 1, 1); }
static void d_header (guint8 *db, gsize *len) { put64 (db + 5 * PS, 77); }
static void d_self (guint8 *db, gsize *len) { put64 (db + 4 * PS + 16 + 8, 4); }
static void d_back (guint8 *db, gsize *len) { put64 (db + 4 * PS + 16 + 16 + 8, 3); }
static void d_beyond (guint8 *db, gsize *len) { put64 (db + 4 * PS + 16 + 8, 50); }
static void d_meta_page (guint8 *db, gsize *len) { put64 (db + 4 * PS + 16 + 8, 1); }
static void d_overflow (guint8 *db, gsize *len) { db[6 * PS + 12] = 100; }
static void d_count (guint8 *db, gsize *len) { db[3 * PS + 10] = 0xff; db[3 * PS + 11] = 0xff; }
static void d_flags (guint8 *db, gsize *len) { db[4 * PS + 8] = 0x10; }
static void d_element (guint8 *db, gsize *len) { db[5 * PS + 16 + 4] = 0xff; db[5 * PS + 16 + 5] = 0x7f; }
static void d_inline_branch (guint8 *db, gsize *len) { default_inline_page (db)[8] = 0x01; }
static void d_inline_count (guint8 *db, gsize *len) { default_inline_page (db)[10] = 0x40; }

static const Case cases[] = {
  { "/bbolt/bad/empty", d_empty, GP_DATA_ERROR_INVALID, "seed.db: not a bbolt database (0 bytes)" },
  { "/bbolt/bad/truncated", d_truncated, GP_DATA_ERROR_SIZE,
    "seed.db: truncated: meta page 0 (txid 2) counts 10 pages of 512 bytes, the file has 4096 bytes" },
  { "/bbolt/bad/magic", d_magic, GP_DATA_ERROR_INVALID,
    "(meta page 0: no bbolt magic number; meta page 1: no bbolt magic number)" },
  { "/bbolt/bad/checksums", d_checksums, GP_DATA_ERROR_INVALID,
    "(meta page 0: checksum mismatch; meta page 1: checksum mismatch)" },
  { "/bbolt/bad/meta-root", d_meta_root, GP_DATA_ERROR_INVALID,
    "root or freelist page outside the pages in use" },
  { "/bbolt/bad/page-header", d_header, GP_DATA_ERROR_INVALID,
    "bucket v1: page 5 has the header of page 77" },
  { "/bbolt/bad/cycle-self", d_self, GP_DATA_ERROR_CYCLE,
    "bucket v1: page 4: element 0 points to page 4, reached already (a cycle of pages)" },
  { "/bbolt/bad/cycle-parent", d_back, GP_DATA_ERROR_CYCLE, "points to page 3, reached already" },
  { "/bbolt/bad/beyond", d_beyond, GP_DATA_ERROR_INVALID,
    "page 50 is beyond the pages in use (10 pages in use)" },
  { "/bbolt/bad/meta-as-child", d_meta_page, GP_DATA_ERROR_INVALID, "page 1 is a meta page" },
  { "/bbolt/bad/overflow", d_overflow, GP_DATA_ERROR_INVALID, "page 6 overflows by 100 pages" },
  { "/bbolt/bad/count", d_count, GP_DATA_ERROR_INVALID,
    "bucket (root): page 3: 65535 elements do not fit in 512 bytes" },
  { "/bbolt/bad/flags", d_flags, GP_DATA_ERROR_INVALID, "page 4: flags 0x10, not a branch or leaf page" },
  { "/bbolt/bad/element", d_element, GP_DATA_ERROR_INVALID, "page 5: element 0 lies outside the page" },
  { "/bbolt/bad/inline-branch", d_inline_branch, GP_DATA_ERROR_INVALID,
    "bucket v1/default: inline page: flags 0x1, not a leaf (inline buckets hold one leaf)" },
  { "/bbolt/bad/inline-count", d_inline_count, GP_DATA_ERROR_INVALID,
    "bucket v1/default: inline page: 64 elements do not fit" },
};

static void
test_bad (gconstpointer data)
{
  const Case *c = data;
  g_autoptr (GBytes) seed = load_seed ();
  gsize len;
  const guint8 *orig = g_bytes_get_data (seed, &len);
  g_autofree guint8 *db = g_memdup2 (orig, len);
  c->damage (db, &len);
  g_autoptr (GError) error = NULL;
  g_autoptr (GpBolt) bolt = gp_bolt_new_from_data (db, len, "seed.db", &error);
  if (bolt != NULL)
    {
      g_assert_no_error (error);
      g_assert_false (gp_bolt_check (bolt, NULL, &error));
    }
  g_assert_error (error, GP_DATA_ERROR, c->code);
  if (strstr (error->message, c->message) == NULL)
    g_error ("%s: message '%s' lacks '%s'", c->path, error->message, c->message);
  g_assert_true (g_str_has_prefix (error->message, "seed.db: "));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/bbolt/seed/read", test_seed_read);
  g_test_add_func ("/bbolt/seed/meta-fallback", test_seed_meta_fallback);
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    g_test_add_data_func (cases[i].path, &cases[i], test_bad);
  return g_test_run ();
}
