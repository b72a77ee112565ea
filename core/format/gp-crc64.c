/* graphpipe - CRC-64/ISO (Go hash/crc64, ISO table): carry-less multiply
 * folding where the CPU has it (x86-64 PCLMULQDQ), else slicing-by-16. */
#include "config.h"

#include "gp-crc64.h"

#include <string.h>

#include "gp-crc64-private.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define GP_CRC64_HAVE_CLMUL 1
#endif

/* tables[0] is the classic bytewise table; tables[k][i] is the CRC of byte
 * i followed by k zero bytes, which lets sixteen bytes be folded at once. */
#define SLICES 16
static guint64 tables[SLICES][256];
static gboolean force_table; /* tests: _gp_crc64_set_table_only() */

/* One step of slicing-by-16: the state after 16 bytes (a: bytes 0-7,
 * b: bytes 8-15, little-endian) from state @crc (complemented form). */
static inline guint64
fold16_table (guint64 crc, guint64 a, guint64 b)
{
  a ^= crc;
  return tables[15][a & 0xff]
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
}

#ifdef GP_CRC64_HAVE_CLMUL
/* Carry-less multiply folding (reflected CRC).  16 input bytes loaded
 * little-endian form a 128-bit value T whose bit m is the coefficient of
 * x^(127-m); the CRC state is XORed into its low half.  Moving T forward
 * by d bits multiplies it by x^d: with A its low and B its high 64 bits
 * (each read as a 64-bit reflected polynomial), T x^d = A x^(64+d) + B x^d,
 * reduced mod P by multiplying A and B with x^(64+d) mod P and x^d mod P.
 * PCLMULQDQ of two reflected 64-bit values yields their product divided by
 * x in the 128-bit frame, hence the constants x^(63+d) and x^(d-1).  At the
 * end the state is the CRC of T's 16 bytes from 0: one table step. */
static gboolean have_clmul;
static guint64 k_fold4[2];   /* d = 512: four 128-bit lanes */
static guint64 k_fold1[2];   /* d = 128 */
static guint64 k_fold2[2];   /* d = 256 */
static guint64 k_fold3[2];   /* d = 384 */

/* x^n mod P, bit-reversed (reflected, bit i = coefficient of x^(63-i)). */
static guint64
xpow_mod_reflected (guint n)
{
  guint64 v = 1; /* normal order: bit j = coefficient of x^j */
  for (guint i = 0; i < n; i++)
    v = (v << 1) ^ ((v >> 63) ? G_GUINT64_CONSTANT (0x1B) : 0);
  guint64 r = 0;
  for (int j = 0; j < 64; j++)
    if (v & (G_GUINT64_CONSTANT (1) << j))
      r |= G_GUINT64_CONSTANT (1) << (63 - j);
  return r;
}

static void
set_fold (guint64 k[2], guint d)
{
  k[0] = xpow_mod_reflected (63 + d);
  k[1] = xpow_mod_reflected (d - 1);
}

static void
build_clmul_constants (void)
{
  __builtin_cpu_init ();
  have_clmul = __builtin_cpu_supports ("pclmul") && __builtin_cpu_supports ("sse4.1");
  set_fold (k_fold1, 128);
  set_fold (k_fold2, 256);
  set_fold (k_fold3, 384);
  set_fold (k_fold4, 512);
}

__attribute__ ((target ("pclmul,sse4.1")))
static inline __m128i
fold (__m128i t, __m128i k, __m128i next)
{
  return _mm_xor_si128 (_mm_xor_si128 (_mm_clmulepi64_si128 (t, k, 0x00), _mm_clmulepi64_si128 (t, k, 0x11)),
                        next);
}

static inline __m128i
load_k (const guint64 k[2])
{
  return _mm_set_epi64x ((long long) k[1], (long long) k[0]);
}

/* The state (complemented form) after @n64 64-byte blocks at @p. */
__attribute__ ((target ("pclmul,sse4.1")))
static guint64
crc_clmul (guint64 crc, const guint8 *p, gsize n64)
{
  __m128i x0 = _mm_loadu_si128 ((const __m128i *) p);
  __m128i x1 = _mm_loadu_si128 ((const __m128i *) (p + 16));
  __m128i x2 = _mm_loadu_si128 ((const __m128i *) (p + 32));
  __m128i x3 = _mm_loadu_si128 ((const __m128i *) (p + 48));
  x0 = _mm_xor_si128 (x0, _mm_set_epi64x (0, (long long) GUINT64_TO_LE (crc)));
  p += 64;
  const __m128i k4 = load_k (k_fold4);
  for (gsize i = 1; i < n64; i++, p += 64)
    {
      x0 = fold (x0, k4, _mm_loadu_si128 ((const __m128i *) p));
      x1 = fold (x1, k4, _mm_loadu_si128 ((const __m128i *) (p + 16)));
      x2 = fold (x2, k4, _mm_loadu_si128 ((const __m128i *) (p + 32)));
      x3 = fold (x3, k4, _mm_loadu_si128 ((const __m128i *) (p + 48)));
    }
  /* the four lanes into one: lane i moves forward by (3 - i) x 128 bits */
  __m128i t = fold (x0, load_k (k_fold3), x3);
  t = fold (x1, load_k (k_fold2), t);
  t = fold (x2, load_k (k_fold1), t);
  guint64 a = (guint64) _mm_extract_epi64 (t, 0);
  guint64 b = (guint64) _mm_extract_epi64 (t, 1);
  return fold16_table (0, a, b);
}
#endif

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
#ifdef GP_CRC64_HAVE_CLMUL
  build_clmul_constants ();
#endif
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
#ifdef GP_CRC64_HAVE_CLMUL
  if (have_clmul && !force_table && len >= 128)
    {
      gsize n64 = len / 64;
      crc = crc_clmul (crc, p, n64);
      p += n64 * 64;
      len -= n64 * 64;
    }
#endif
  while (len >= 16)
    {
      guint64 a, b;
      memcpy (&a, p, 8);
      memcpy (&b, p + 8, 8);
      crc = fold16_table (crc, GUINT64_FROM_LE (a), GUINT64_FROM_LE (b));
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

void
_gp_crc64_set_table_only (gboolean table_only)
{
  force_table = table_only;
}

gboolean
_gp_crc64_has_clmul (void)
{
  ensure_tables ();
#ifdef GP_CRC64_HAVE_CLMUL
  return have_clmul;
#else
  return FALSE;
#endif
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
