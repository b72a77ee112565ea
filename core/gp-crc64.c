/* graphpipe - CRC-64/ISO (Go hash/crc64, ISO table), slicing-by-16. */
#include "config.h"

#include "gp-crc64.h"

#include <string.h>

/* tables[0] is the classic bytewise table; tables[k][i] is the CRC of byte
 * i followed by k zero bytes, which lets sixteen bytes be folded at once. */
#define SLICES 16
static guint64 tables[SLICES][256];

static gpointer
build_tables (gpointer data)
{
  for (guint i = 0; i < 256; i++)
    {
      guint64 c = i;
      for (int j = 0; j < 8; j++)
        c = (c & 1) ? (c >> 1) ^ GP_CRC64_ISO_POLY : c >> 1;
      tables[0][i] = c;
    }
  for (guint i = 0; i < 256; i++)
    for (int k = 1; k < SLICES; k++)
      tables[k][i] = (tables[k - 1][i] >> 8) ^ tables[0][tables[k - 1][i] & 0xff];
  return NULL;
}

static void
ensure_tables (void)
{
  static GOnce once = G_ONCE_INIT;

  g_once (&once, build_tables, NULL);
}

/**
 * gp_crc64_update:
 * @crc: the checksum so far (0 to start)
 * @buf: bytes
 * @len: their number
 *
 * Adds @len bytes to a CRC-64/ISO computation with the semantics of Go's
 * `crc64.Update (crc, crc64.MakeTable (crc64.ISO), buf)`.  Thread-safe;
 * the tables are built once on first use.
 *
 * Returns: the checksum of everything fed so far.
 *
 * Since: 0.1
 */
guint64
gp_crc64_update (guint64 crc, const void *buf, gsize len)
{
  const guint8 *p = buf;

  ensure_tables ();
  crc = ~crc;
  while (len > 0 && ((guintptr) p & 7) != 0)
    {
      crc = tables[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
      len--;
    }
  while (len >= 16)
    {
      guint64 a, b;
      memcpy (&a, p, 8);
      memcpy (&b, p + 8, 8);
      a = GUINT64_FROM_LE (a) ^ crc;
      b = GUINT64_FROM_LE (b);
      crc = tables[15][a & 0xff]
            ^ tables[14][(a >> 8) & 0xff]
            ^ tables[13][(a >> 16) & 0xff]
            ^ tables[12][(a >> 24) & 0xff]
            ^ tables[11][(a >> 32) & 0xff]
            ^ tables[10][(a >> 40) & 0xff]
            ^ tables[9][(a >> 48) & 0xff]
            ^ tables[8][a >> 56]
            ^ tables[7][b & 0xff]
            ^ tables[6][(b >> 8) & 0xff]
            ^ tables[5][(b >> 16) & 0xff]
            ^ tables[4][(b >> 24) & 0xff]
            ^ tables[3][(b >> 32) & 0xff]
            ^ tables[2][(b >> 40) & 0xff]
            ^ tables[1][(b >> 48) & 0xff]
            ^ tables[0][b >> 56];
      p += 16;
      len -= 16;
    }
  while (len > 0)
    {
      crc = tables[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
      len--;
    }
  return ~crc;
}

/**
 * gp_crc64_update_bytewise:
 * @crc: the checksum so far (0 to start)
 * @buf: bytes
 * @len: their number
 *
 * The same as gp_crc64_update(), one table lookup per byte.  A reference
 * for tests; use gp_crc64_update().
 *
 * Returns: the checksum of everything fed so far.
 *
 * Since: 0.1
 */
guint64
gp_crc64_update_bytewise (guint64 crc, const void *buf, gsize len)
{
  const guint8 *p = buf;

  ensure_tables ();
  crc = ~crc;
  for (gsize i = 0; i < len; i++)
    crc = tables[0][(crc ^ p[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

/**
 * gp_crc64_to_bytes:
 * @crc: a checksum
 * @out: (out caller-allocates): 8 bytes
 *
 * Writes @crc big-endian, the form tar-split stores as a file entry's
 * payload (Go's `hash.Sum (nil)`).
 *
 * Since: 0.1
 */
void
gp_crc64_to_bytes (guint64 crc, guint8 out[8])
{
  for (int i = 0; i < 8; i++)
    out[i] = (guint8) (crc >> (56 - 8 * i));
}
