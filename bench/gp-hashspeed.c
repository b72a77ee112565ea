/* gp-hashspeed - throughput of graphpipe's SHA-256 (its SHA-extension
 * block path, and nettle alone) and CRC-64
 * (carry-less multiply and table paths) over a cache-hot 1 MiB buffer,
 * for `make bench`.  Prints one line per function: name and MB/s of CPU
 * time (as `openssl speed` counts), so that other load on the machine
 * does not lower the figures. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gp-crc64.h"
#include "gp-crc64-private.h"
#include "gp-digest.h"
#include "gp-digest-private.h"

#define BUF (1 << 20)

static volatile guint64 sink;

static gint64
cpu_usec (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return (gint64) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static double
rate (void (*fn) (const guint8 *, gsize), const guint8 *buf)
{
  gsize total = 0;
  gint64 t0 = cpu_usec (), t1;
  do
    {
      for (int i = 0; i < 16; i++)
        fn (buf, BUF);
      total += (gsize) 16 * BUF;
      t1 = cpu_usec ();
    }
  while (t1 - t0 < 500000);
  return (double) total / (double) (t1 - t0); /* bytes per µs = MB/s */
}

static void
sha (const guint8 *buf, gsize len)
{
  GpSha256 s;
  char out[GP_HEX_SHA256_LEN + 1];
  gp_sha256_init (&s);
  gp_sha256_update (&s, buf, len);
  gp_sha256_finish_hex (&s, out);
  sink += (guint8) out[0];
}

static void
crc (const guint8 *buf, gsize len)
{
  sink += gp_crc64_update (0, buf, len);
}

int
main (void)
{
  g_autofree guint8 *buf = g_malloc (BUF);
  for (gsize i = 0; i < BUF; i++)
    buf[i] = (guint8) (i * 2654435761u >> 13);
  printf ("sha256-graphpipe %.0f\n", rate (sha, buf));
  _gp_sha256_set_nettle_only (TRUE);
  printf ("sha256-nettle %.0f\n", rate (sha, buf));
  if (_gp_crc64_has_clmul ())
    printf ("crc64-clmul %.0f\n", rate (crc, buf));
  _gp_crc64_set_table_only (TRUE);
  printf ("crc64-table %.0f\n", rate (crc, buf));
  return 0;
}
