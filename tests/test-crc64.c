/* Tests for gp-crc64: Go hash/crc64 (ISO table) check values, slicing. */
#include "config.h"

#include <string.h>

#include "gp-crc64.h"
#include "gp-crc64-private.h"

typedef struct {
  const char *input;
  guint64 crc;
} CrcCase;

/* FORMATS.md §3.3 and moby-vectors.md G1 */
static const CrcCase crc_cases[] = {
  { "123456789", G_GUINT64_CONSTANT (0xb90956c775a41001) },
  { "", 0 },
  { "x\n", G_GUINT64_CONSTANT (0x6153100000000000) },
  { "#!/bin/true\n", G_GUINT64_CONSTANT (0xa70cb303e4003d89) },
  { "bonjour", G_GUINT64_CONSTANT (0x2dd9dc3b4d8c36f0) },
  { "imma hurr til I derp", G_GUINT64_CONSTANT (0x0274a4b1abec6b4e) },
  { "caf\xc3\xa9 con leche, por favor", G_GUINT64_CONSTANT (0x7e4859efe6fca0bb) },
  { "imma derp til I hurr", G_GUINT64_CONSTANT (0x0114bfb861f83472) },
  { "caf\xc3\xa9 sans leche, por favor", G_GUINT64_CONSTANT (0x79daf68ac5f8c844) },
};

static void
test_check_values (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (crc_cases); i++)
    {
      const CrcCase *c = &crc_cases[i];
      gsize len = strlen (c->input);
      g_assert_cmphex (gp_crc64_update (0, c->input, len), ==, c->crc);
      g_assert_cmphex (gp_crc64_update_bytewise (0, c->input, len), ==, c->crc);
      /* incremental: any split gives the same value */
      for (gsize k = 0; k <= len; k++)
        g_assert_cmphex (gp_crc64_update (gp_crc64_update (0, c->input, k), c->input + k, len - k), ==, c->crc);
    }
}

static void
test_to_bytes (void)
{
  guint8 b[8];
  static const guint8 want[8] = { 0x61, 0x53, 0x10, 0, 0, 0, 0, 0 };

  gp_crc64_to_bytes (G_GUINT64_CONSTANT (0x6153100000000000), b);
  g_assert_cmpmem (b, 8, want, 8);
}

static void
test_sliced_vs_bytewise (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (4242);
  gsize n = 1 << 20;
  g_autofree guint8 *buf = g_malloc (n + 16);

  for (gsize i = 0; i < n + 16; i++)
    buf[i] = g_rand_int (rand) & 0xff;

  /* every length 0..64 at every misalignment 0..15 */
  for (gsize off = 0; off < 16; off++)
    for (gsize len = 0; len <= 64; len++)
      {
        guint64 seed = g_rand_int (rand);
        g_assert_cmphex (gp_crc64_update (seed, buf + off, len), ==,
                         gp_crc64_update_bytewise (seed, buf + off, len));
      }
  /* large random buffers */
  for (int k = 0; k < 8; k++)
    {
      gsize off = g_rand_int_range (rand, 0, 16);
      gsize len = g_rand_int_range (rand, 0, n);
      g_assert_cmphex (gp_crc64_update (0, buf + off, len), ==, gp_crc64_update_bytewise (0, buf + off, len));
    }
}

/* Every length 0..1100 (the folding path starts at 128 bytes and works in
 * 64-byte blocks) at misalignments 0..15, chained updates split at every
 * point of a 700-byte buffer, and large buffers: against the bytewise
 * reference, with @table_only choosing the path. */
static void
check_path (gboolean table_only)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (777);
  gsize n = (1 << 22) + 3;
  g_autofree guint8 *buf = g_malloc (n + 16);

  for (gsize i = 0; i < n + 16; i++)
    buf[i] = g_rand_int (rand) & 0xff;
  _gp_crc64_set_table_only (table_only);
  for (gsize off = 0; off < 16; off++)
    for (gsize len = 0; len <= 1100; len += (off == 0 ? 1 : 7))
      {
        guint64 seed = ((guint64) g_rand_int (rand) << 32) | g_rand_int (rand);
        g_assert_cmphex (gp_crc64_update (seed, buf + off, len), ==,
                         gp_crc64_update_bytewise (seed, buf + off, len));
      }
  guint64 whole = gp_crc64_update_bytewise (0, buf, 700);
  for (gsize k = 0; k <= 700; k++)
    g_assert_cmphex (gp_crc64_update (gp_crc64_update (0, buf, k), buf + k, 700 - k), ==, whole);
  for (int k = 0; k < 6; k++)
    {
      gsize off = g_rand_int_range (rand, 0, 16);
      gsize len = k == 0 ? n : (gsize) g_rand_int_range (rand, 0, (gint32) n);
      g_assert_cmphex (gp_crc64_update (0, buf + off, len), ==, gp_crc64_update_bytewise (0, buf + off, len));
    }
  /* all-zero and all-ones data: the folding constants with no mixing */
  memset (buf, 0, 4096);
  g_assert_cmphex (gp_crc64_update (0, buf, 4096), ==, gp_crc64_update_bytewise (0, buf, 4096));
  memset (buf, 0xff, 4096);
  g_assert_cmphex (gp_crc64_update (0, buf, 4096), ==, gp_crc64_update_bytewise (0, buf, 4096));
  _gp_crc64_set_table_only (FALSE);
}

static void
test_clmul_vs_bytewise (void)
{
  if (!_gp_crc64_has_clmul ())
    {
      /* The hardware's: no prerequisite a machine could install. */
      g_test_skip ("no carry-less multiply on this CPU");
      return;
    }
  check_path (FALSE);
}

static void
test_table_vs_bytewise (void)
{
  check_path (TRUE);
}

static gpointer
thread_func (gpointer data)
{
  return GSIZE_TO_POINTER (gp_crc64_update (0, "123456789", 9) == G_GUINT64_CONSTANT (0xb90956c775a41001));
}

static void
test_threads (void)
{
  GThread *t[8];
  for (int i = 0; i < 8; i++)
    t[i] = g_thread_new ("crc", thread_func, NULL);
  for (int i = 0; i < 8; i++)
    g_assert_true (GPOINTER_TO_SIZE (g_thread_join (t[i])));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/crc64/threads/first-use", test_threads);
  g_test_add_func ("/crc64/check/values", test_check_values);
  g_test_add_func ("/crc64/check/big-endian", test_to_bytes);
  g_test_add_func ("/crc64/slicing/vs-bytewise", test_sliced_vs_bytewise);
  g_test_add_func ("/crc64/clmul/vs-bytewise", test_clmul_vs_bytewise);
  g_test_add_func ("/crc64/table-only/vs-bytewise", test_table_vs_bytewise);
  return g_test_run ();
}
