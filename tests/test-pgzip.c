/* Tests for gp-pgzip: the parallel gzip writer.
 *
 * Every stream is checked by decompressing it with zlib's own gzip reader
 * (which verifies CRC-32 and ISIZE and must end exactly at the end of the
 * data: one member) and, when gzip(1) is installed, with `gzip -t` and
 * `gzip -dc`.
 */
#include "config.h"

#include <string.h>
#include <zlib.h>
#include <glib/gstdio.h>

#include "gp-pgzip.h"
#include "gp-test-util.h"

/* ---- inputs ---------------------------------------------------------- */

typedef enum { FILL_ZERO, FILL_RANDOM, FILL_TEXT } Fill;

static GBytes *
make_input (gsize len, Fill fill, guint32 seed)
{
  guint8 *buf = g_malloc (MAX (len, 1));
  g_autoptr (GRand) rand = g_rand_new_with_seed (seed);

  switch (fill)
    {
    case FILL_ZERO:
      memset (buf, 0, len);
      break;
    case FILL_RANDOM:
      for (gsize i = 0; i < len; i++)
        buf[i] = (guint8) g_rand_int (rand);
      break;
    case FILL_TEXT:
      {
        static const char *const words[] = { "layer", "image", "tar", "split", "docker",
                                             "sha256", "json", "graph", "root", "\n" };
        gsize i = 0;
        while (i < len)
          {
            const char *w = words[g_rand_int_range (rand, 0, G_N_ELEMENTS (words))];
            for (; *w && i < len; w++)
              buf[i++] = (guint8) *w;
            if (i < len)
              buf[i++] = ' ';
          }
      }
      break;
    }
  return g_bytes_new_take (buf, len);
}

/* ---- sinks ----------------------------------------------------------- */

typedef struct {
  GByteArray *out;
  gsize fail_after; /* G_MAXSIZE: never */
  guint calls;
} Sink;

static gboolean
sink_write (gpointer user_data, const void *buf, gsize len, GError **error)
{
  Sink *s = user_data;
  s->calls++;
  if (s->out->len + len > s->fail_after)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "test sink: no space left");
      return FALSE;
    }
  g_byte_array_append (s->out, buf, (guint) len);
  return TRUE;
}

/* Compresses @input, writing it in pieces of varying size. */
static GByteArray *
pgzip_all (GBytes *input, guint jobs, int level, gsize block_size)
{
  Sink sink = { g_byte_array_new (), G_MAXSIZE, 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (GpPgzip) z = gp_pgzip_new (sink_write, &sink, jobs, level, block_size, NULL, &error);
  g_assert_no_error (error);

  gsize len;
  const guint8 *p = g_bytes_get_data (input, &len);
  gsize off = 0, step = 1;
  while (off < len)
    {
      gsize n = MIN (step, len - off);
      g_assert_true (gp_pgzip_write (z, p + off, n, &error));
      g_assert_no_error (error);
      off += n;
      step = step * 5 % 200003 + 1;
    }
  g_assert_true (gp_pgzip_write (z, "", 0, &error));
  g_assert_true (gp_pgzip_finish (z, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (gp_pgzip_get_bytes_in (z), ==, len);
  g_assert_cmpuint (gp_pgzip_get_bytes_out (z), ==, sink.out->len);
  return sink.out;
}

/* zlib's gzip reader: one member, exactly the input, nothing after it. */
static void
assert_gunzips_to (GByteArray *gz, GBytes *input)
{
  z_stream strm = { 0 };
  g_assert_cmpint (inflateInit2 (&strm, 16 + 15), ==, Z_OK);

  gsize want_len;
  const guint8 *want = g_bytes_get_data (input, &want_len);
  g_autofree guint8 *out = g_malloc (want_len + 1);

  strm.next_in = gz->data;
  strm.avail_in = gz->len;
  strm.next_out = out;
  strm.avail_out = (uInt) (want_len + 1);
  int rc = inflate (&strm, Z_FINISH);
  g_assert_cmpint (rc, ==, Z_STREAM_END);
  g_assert_cmpuint (strm.avail_in, ==, 0);
  g_assert_cmpuint (strm.total_out, ==, want_len);
  g_assert_true (memcmp (out, want, want_len) == 0);
  inflateEnd (&strm);
}

static void
assert_gzip_tool_accepts (GByteArray *gz, GBytes *input)
{
  g_autofree char *gzip = g_find_program_in_path ("gzip");
  if (gzip == NULL)
    {
      /* Part of a check, not a test of its own: said in the log, and a
       * failure where nothing may be left out. */
      if (gp_test_require_all ())
        g_test_fail_printf ("gzip not installed: output not checked with gzip -t "
                            "(GP_REQUIRE_ALL is set)");
      else
        g_test_message ("gzip not installed: output not checked with gzip -t");
      return;
    }

  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("test-pgzip-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *path = g_build_filename (dir, "out.gz", NULL);
  g_assert_true (g_file_set_contents (path, (const char *) gz->data, gz->len, &error));

  const char *test_argv[] = { gzip, "-t", path, NULL };
  int status;
  g_assert_true (g_spawn_sync (NULL, (char **) test_argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                               NULL, NULL, &status, &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));

  g_autofree char *out = NULL;
  gsize want_len;
  const guint8 *want = g_bytes_get_data (input, &want_len);
  /* Output through a file: g_spawn_sync's stdout capture has no length. */
  g_autofree char *outpath = g_build_filename (dir, "out", NULL);
  g_autofree char *cmd = g_strdup_printf ("'%s' -dc '%s' > '%s'", gzip, path, outpath);
  const char *sh_argv[] = { "/bin/sh", "-c", cmd, NULL };
  g_assert_true (g_spawn_sync (NULL, (char **) sh_argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                               NULL, NULL, &status, &error));
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  gsize got_len;
  g_assert_true (g_file_get_contents (outpath, &out, &got_len, &error));
  g_assert_cmpuint (got_len, ==, want_len);
  g_assert_true (memcmp (out, want, want_len) == 0);

  g_unlink (outpath);
  g_unlink (path);
  g_rmdir (dir);
}

/* ---- round trips ------------------------------------------------------ */

typedef struct {
  const char *name;
  gsize len;
  Fill fill;
  gsize block_size; /* 0 = default */
  gboolean gzip_tool;
} RoundTrip;

#define KIB 1024
#define MIB (1024 * 1024)

static const RoundTrip round_trips[] = {
  { "empty", 0, FILL_ZERO, 0, TRUE },
  { "one-byte", 1, FILL_RANDOM, 0, TRUE },
  { "tiny", 100, FILL_TEXT, 0, TRUE },
  { "block-exact", 4 * KIB, FILL_RANDOM, 4 * KIB, TRUE },
  { "block-minus-one", 4 * KIB - 1, FILL_TEXT, 4 * KIB, FALSE },
  { "block-plus-one", 4 * KIB + 1, FILL_TEXT, 4 * KIB, FALSE },
  { "two-blocks-exact", 8 * KIB, FILL_TEXT, 4 * KIB, TRUE },
  { "default-block-exact", GP_PGZIP_DEFAULT_BLOCK_SIZE, FILL_TEXT, 0, FALSE },
  { "default-blocks-plus-one", 3 * GP_PGZIP_DEFAULT_BLOCK_SIZE + 1, FILL_RANDOM, 0, FALSE },
  { "random-5mib", 5 * MIB + 123, FILL_RANDOM, 0, TRUE },
  { "text-5mib", 5 * MIB + 77, FILL_TEXT, 0, TRUE },
  { "zero-3mib", 3 * MIB, FILL_ZERO, 0, FALSE },
  { "text-small-blocks", 3 * MIB + 5, FILL_TEXT, GP_PGZIP_MIN_BLOCK_SIZE, TRUE },
  { "random-small-blocks", 1 * MIB + 3, FILL_RANDOM, GP_PGZIP_MIN_BLOCK_SIZE, FALSE },
};

typedef struct {
  const RoundTrip *rt;
  guint jobs;
} RoundTripCase;

static void
test_round_trip (gconstpointer data)
{
  const RoundTripCase *c = data;
  g_autoptr (GBytes) input = make_input (c->rt->len, c->rt->fill, 42);
  g_autoptr (GByteArray) gz = pgzip_all (input, c->jobs, -1, c->rt->block_size);

  assert_gunzips_to (gz, input);
  if (c->rt->gzip_tool)
    assert_gzip_tool_accepts (gz, input);
}

static void
test_header_trailer (void)
{
  g_autoptr (GBytes) input = make_input (300 * KIB, FILL_TEXT, 7);
  g_autoptr (GByteArray) gz = pgzip_all (input, 2, -1, 64 * KIB);
  static const guint8 header[10] = { 0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff };

  g_assert_cmpuint (gz->len, >, 18);
  g_assert_cmpmem (gz->data, 10, header, 10);

  /* Trailer: CRC-32 and ISIZE of the input, little-endian, computed here
   * with zlib's one-shot crc32 rather than the writer's combined one. */
  gsize len;
  const guint8 *p = g_bytes_get_data (input, &len);
  guint32 crc = (guint32) crc32 (0, p, (uInt) len);
  const guint8 *t = gz->data + gz->len - 8;
  g_assert_cmphex (t[0] | t[1] << 8 | t[2] << 16 | (guint32) t[3] << 24, ==, crc);
  g_assert_cmpuint (t[4] | t[5] << 8 | t[6] << 16 | (guint32) t[7] << 24, ==, len);
}

static void
test_empty_bytes (void)
{
  /* Empty input: header, one empty final block, CRC 0, ISIZE 0. */
  g_autoptr (GBytes) input = make_input (0, FILL_ZERO, 1);
  g_autoptr (GByteArray) gz = pgzip_all (input, 1, -1, 0);
  static const guint8 want[] = { 0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff,
                                 0x03, 0x00, 0, 0, 0, 0, 0, 0, 0, 0 };
  g_assert_cmpmem (gz->data, gz->len, want, sizeof want);
}

static void
test_independent_of_jobs (void)
{
  /* The bytes depend on the input, level and block size only, never on
   * thread count or scheduling: reproducible output. */
  g_autoptr (GBytes) input = make_input (2 * MIB + 999, FILL_TEXT, 3);
  g_autoptr (GByteArray) a = pgzip_all (input, 1, 6, 128 * KIB);
  g_autoptr (GByteArray) b = pgzip_all (input, 8, 6, 128 * KIB);
  g_autoptr (GByteArray) c = pgzip_all (input, 3, 6, 128 * KIB);

  g_assert_cmpmem (a->data, a->len, b->data, b->len);
  g_assert_cmpmem (a->data, a->len, c->data, c->len);
}

static void
test_dictionary_helps (void)
{
  /* Text compresses well even with small blocks because each block is
   * primed with the previous one's tail: close to single-stream zlib. */
  g_autoptr (GBytes) input = make_input (2 * MIB, FILL_TEXT, 9);
  g_autoptr (GByteArray) gz = pgzip_all (input, 4, 6, 16 * KIB);

  gsize len;
  const guint8 *p = g_bytes_get_data (input, &len);
  uLongf ref_len = compressBound (len);
  g_autofree guint8 *ref = g_malloc (ref_len);
  g_assert_cmpint (compress2 (ref, &ref_len, p, len, 6), ==, Z_OK);
  g_assert_cmpuint (gz->len, <, ref_len + ref_len / 20);
}

static void
test_levels (void)
{
  g_autoptr (GBytes) input = make_input (1 * MIB, FILL_TEXT, 5);
  g_autoptr (GByteArray) l0 = pgzip_all (input, 2, 0, 0);
  g_autoptr (GByteArray) l1 = pgzip_all (input, 2, 1, 0);
  g_autoptr (GByteArray) l9 = pgzip_all (input, 2, 9, 0);

  assert_gunzips_to (l0, input);
  assert_gunzips_to (l1, input);
  assert_gunzips_to (l9, input);
  g_assert_cmpuint (l0->len, >, 1 * MIB);
  g_assert_cmpuint (l9->len, <=, l1->len);
}

/* ---- errors ----------------------------------------------------------- */

typedef struct {
  const char *name;
  gsize fail_after; /* bytes the sink accepts */
} SinkFailCase;

static const SinkFailCase sink_fail_cases[] = {
  { "header", 0 },
  { "first-block", 12 },
  { "middle", 200 * KIB },
  { "trailer", G_MAXSIZE - 1 }, /* replaced by total - 4 */
};

static void
test_sink_error (gconstpointer data)
{
  const SinkFailCase *c = data;
  g_autoptr (GBytes) input = make_input (2 * MIB, FILL_RANDOM, 11);
  gsize fail_after = c->fail_after;
  if (fail_after == G_MAXSIZE - 1)
    {
      g_autoptr (GByteArray) full = pgzip_all (input, 2, -1, 64 * KIB);
      fail_after = full->len - 4;
    }

  Sink sink = { g_byte_array_new (), fail_after, 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (GpPgzip) z = gp_pgzip_new (sink_write, &sink, 4, -1, 64 * KIB, NULL, &error);
  g_assert_no_error (error);

  gsize len;
  const guint8 *p = g_bytes_get_data (input, &len);
  gboolean ok = TRUE;
  for (gsize off = 0; off < len && ok; off += 10000)
    ok = gp_pgzip_write (z, p + off, MIN (10000, len - off), &error);
  if (ok)
    ok = gp_pgzip_finish (z, &error);

  g_assert_false (ok);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE);
  g_assert_cmpuint (sink.out->len, <=, fail_after);

  /* Sticky: later calls fail the same way without calling the sink. */
  guint calls = sink.calls;
  g_clear_error (&error);
  g_assert_false (gp_pgzip_write (z, "x", 1, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE);
  g_clear_error (&error);
  g_assert_false (gp_pgzip_finish (z, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE);
  g_assert_cmpuint (sink.calls, ==, calls);
  g_byte_array_unref (sink.out);
}

static void
test_cancelled (void)
{
  Sink sink = { g_byte_array_new (), G_MAXSIZE, 0 };
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GpPgzip) z = gp_pgzip_new (sink_write, &sink, 2, -1, 0, cancellable, &error);
  g_assert_no_error (error);

  g_assert_true (gp_pgzip_write (z, "abc", 3, &error));
  g_cancellable_cancel (cancellable);
  g_assert_false (gp_pgzip_write (z, "abc", 3, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_false (gp_pgzip_finish (z, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_byte_array_unref (sink.out);
}

static void
test_after_finish (void)
{
  Sink sink = { g_byte_array_new (), G_MAXSIZE, 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (GpPgzip) z = gp_pgzip_new (sink_write, &sink, 1, -1, 0, NULL, &error);

  g_assert_true (gp_pgzip_finish (z, &error));
  g_assert_false (gp_pgzip_write (z, "x", 1, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED);
  g_byte_array_unref (sink.out);
}

typedef struct {
  const char *name;
  int level;
  gsize block_size;
} BadArgCase;

static const BadArgCase bad_arg_cases[] = {
  { "level-10", 10, 0 },
  { "level-minus-2", -2, 0 },
  { "block-too-small", -1, GP_PGZIP_MIN_BLOCK_SIZE - 1 },
};

static void
test_bad_args (gconstpointer data)
{
  const BadArgCase *c = data;
  Sink sink = { NULL, 0, 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (GpPgzip) z = gp_pgzip_new (sink_write, &sink, 1, c->level, c->block_size, NULL, &error);

  g_assert_null (z);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
}

static void
test_abort (void)
{
  /* Freed with many blocks in flight and no finish: no hang, no leak, and
   * the sink got less than the complete stream (no trailer). */
  g_autoptr (GBytes) input = make_input (1 * MIB, FILL_RANDOM, 13);
  g_autoptr (GByteArray) full = pgzip_all (input, 8, 9, GP_PGZIP_MIN_BLOCK_SIZE);
  Sink sink = { g_byte_array_new (), G_MAXSIZE, 0 };
  g_autoptr (GError) error = NULL;
  GpPgzip *z = gp_pgzip_new (sink_write, &sink, 8, 9, GP_PGZIP_MIN_BLOCK_SIZE, NULL, &error);
  gsize len;
  const guint8 *p = g_bytes_get_data (input, &len);

  g_assert_true (gp_pgzip_write (z, p, len, &error));
  gp_pgzip_free (z);
  g_assert_cmpuint (sink.out->len, <, full->len);
  g_assert_cmpmem (sink.out->data, sink.out->len, full->data, sink.out->len);
  g_byte_array_unref (sink.out);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  static const guint jobs[] = { 1, 2, 8 };
  static RoundTripCase rt_cases[G_N_ELEMENTS (round_trips) * G_N_ELEMENTS (jobs)];
  guint n = 0;
  for (gsize i = 0; i < G_N_ELEMENTS (round_trips); i++)
    for (gsize j = 0; j < G_N_ELEMENTS (jobs); j++)
      {
        RoundTripCase *c = &rt_cases[n++];
        c->rt = &round_trips[i];
        c->jobs = jobs[j];
        g_autofree char *path = g_strdup_printf ("/pgzip/round-trip/%s/jobs-%u", c->rt->name, c->jobs);
        g_test_add_data_func (path, c, test_round_trip);
      }

  g_test_add_func ("/pgzip/format/header-trailer", test_header_trailer);
  g_test_add_func ("/pgzip/format/empty", test_empty_bytes);
  g_test_add_func ("/pgzip/format/independent-of-jobs", test_independent_of_jobs);
  g_test_add_func ("/pgzip/format/dictionary", test_dictionary_helps);
  g_test_add_func ("/pgzip/format/levels", test_levels);

  for (gsize i = 0; i < G_N_ELEMENTS (sink_fail_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/pgzip/error/sink/%s", sink_fail_cases[i].name);
      g_test_add_data_func (path, &sink_fail_cases[i], test_sink_error);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (bad_arg_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/pgzip/error/args/%s", bad_arg_cases[i].name);
      g_test_add_data_func (path, &bad_arg_cases[i], test_bad_args);
    }
  g_test_add_func ("/pgzip/error/cancelled", test_cancelled);
  g_test_add_func ("/pgzip/error/after-finish", test_after_finish);
  g_test_add_func ("/pgzip/error/abort", test_abort);

  return g_test_run ();
}
