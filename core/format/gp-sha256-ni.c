/* graphpipe - SHA-256 block function with the x86 SHA extensions.
 *
 * nettle 3.8 uses the SHA instructions too, but one 64-byte block per
 * call, reloading and reshuffling the state each time; this processes a
 * run of blocks with the state kept in registers (about 10% faster here,
 * on par with OpenSSL; bench/gp-hashspeed measures both).  gp_sha256_update() uses it for the whole blocks of large
 * updates, on nettle's own context (state words, block count), and
 * leaves partial blocks and padding to nettle.
 */
#include "config.h"

#include "gp-digest-private.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>

static const guint32 K[64] = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

gboolean
_gp_sha256_ni_available (void)
{
  static gint state; /* 0 unknown, 1 yes, 2 no */
  gint s = g_atomic_int_get (&state);
  if (s == 0)
    {
      /* CPUID directly: clang's __builtin_cpu_supports() knows no "sha".
       * SSE4.1: leaf 1, ECX bit 19; SHA: leaf 7 subleaf 0, EBX bit 29. */
      unsigned a, b, c, d;
      gboolean sse41 = __get_cpuid (1, &a, &b, &c, &d) && (c & (1u << 19));
      gboolean sha = __get_cpuid_count (7, 0, &a, &b, &c, &d) && (b & (1u << 29));
      s = sse41 && sha ? 1 : 2;
      g_atomic_int_set (&state, s);
    }
  return s == 1;
}

/* Four rounds: state1 (CDGH) and state0 (ABEF) advanced with the message
 * words in @w plus the round constants at @k. */
#define ROUNDS4(w, k)                                                      \
  do                                                                       \
    {                                                                      \
      __m128i wk = _mm_add_epi32 ((w), _mm_loadu_si128 ((const __m128i *) (k))); \
      state1 = _mm_sha256rnds2_epu32 (state1, state0, wk);                 \
      wk = _mm_shuffle_epi32 (wk, 0x0E);                                   \
      state0 = _mm_sha256rnds2_epu32 (state0, state1, wk);                 \
    }                                                                      \
  while (0)

/* W[i+16..i+19] from W[i..i+3] (a), W[i+4..] (b), W[i+8..] (c), W[i+12..] (d). */
#define SCHEDULE(a, b, c, d) \
  _mm_sha256msg2_epu32 (_mm_add_epi32 (_mm_sha256msg1_epu32 ((a), (b)), _mm_alignr_epi8 ((d), (c), 4)), (d))

__attribute__ ((target ("sha,sse4.1")))
void
_gp_sha256_ni_blocks (guint32 h[8], const guint8 *data, gsize n_blocks)
{
  const __m128i bswap = _mm_set_epi64x (0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
  /* h[0..7] = A..H to the ABEF / CDGH lane order of the instructions */
  __m128i abcd = _mm_loadu_si128 ((const __m128i *) h);
  __m128i efgh = _mm_loadu_si128 ((const __m128i *) (h + 4));
  abcd = _mm_shuffle_epi32 (abcd, 0xB1);      /* B A D C */
  efgh = _mm_shuffle_epi32 (efgh, 0x1B);      /* H G F E */
  __m128i state0 = _mm_alignr_epi8 (abcd, efgh, 8);    /* F E B A: ABEF */
  __m128i state1 = _mm_blend_epi16 (efgh, abcd, 0xF0); /* H G D C: CDGH */

  for (; n_blocks > 0; n_blocks--, data += 64)
    {
      const __m128i save0 = state0, save1 = state1;
      __m128i w0 = _mm_shuffle_epi8 (_mm_loadu_si128 ((const __m128i *) data), bswap);
      __m128i w1 = _mm_shuffle_epi8 (_mm_loadu_si128 ((const __m128i *) (data + 16)), bswap);
      __m128i w2 = _mm_shuffle_epi8 (_mm_loadu_si128 ((const __m128i *) (data + 32)), bswap);
      __m128i w3 = _mm_shuffle_epi8 (_mm_loadu_si128 ((const __m128i *) (data + 48)), bswap);

      ROUNDS4 (w0, K + 0);
      ROUNDS4 (w1, K + 4);
      ROUNDS4 (w2, K + 8);
      ROUNDS4 (w3, K + 12);
      for (int i = 16; i < 64; i += 16)
        {
          w0 = SCHEDULE (w0, w1, w2, w3);
          ROUNDS4 (w0, K + i);
          w1 = SCHEDULE (w1, w2, w3, w0);
          ROUNDS4 (w1, K + i + 4);
          w2 = SCHEDULE (w2, w3, w0, w1);
          ROUNDS4 (w2, K + i + 8);
          w3 = SCHEDULE (w3, w0, w1, w2);
          ROUNDS4 (w3, K + i + 12);
        }
      state0 = _mm_add_epi32 (state0, save0);
      state1 = _mm_add_epi32 (state1, save1);
    }

  __m128i t = _mm_shuffle_epi32 (state0, 0x1B);       /* A B E F */
  state1 = _mm_shuffle_epi32 (state1, 0xB1);          /* G H C D */
  abcd = _mm_blend_epi16 (t, state1, 0xF0);           /* A B C D */
  efgh = _mm_alignr_epi8 (state1, t, 8);              /* E F G H */
  _mm_storeu_si128 ((__m128i *) h, abcd);
  _mm_storeu_si128 ((__m128i *) (h + 4), efgh);
}

#else

gboolean
_gp_sha256_ni_available (void)
{
  return FALSE;
}

void
_gp_sha256_ni_blocks (guint32 h[8], const guint8 *data, gsize n_blocks)
{
  g_assert_not_reached ();
}

#endif
