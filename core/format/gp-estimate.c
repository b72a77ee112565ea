/* graphpipe - how long hashing will take on this machine. */
#include "config.h"

#include "gp-estimate.h"

#include <string.h>

#include "gp-digest.h"

#define CHUNK (256 * 1024)
#define MIN_SAMPLE (1024 * 1024)
/* Stop measuring after this long (µs), whatever the sample size. */
#define MAX_MEASURE_USEC (G_USEC_PER_SEC / 2)

/**
 * gp_estimate_sha256_rate:
 * @sample_bytes: how many bytes to hash at most (0: the default,
 *   %GP_ESTIMATE_SAMPLE_BYTES; at least 1 MiB is hashed)
 *
 * Measures the SHA-256 throughput of one thread on this machine by
 * hashing a buffer of pseudo-random bytes in 256 KiB chunks (the size the
 * layer readers use), for at most @sample_bytes or half a second.
 *
 * Returns: bytes per second, always > 0
 */
double
gp_estimate_sha256_rate (guint64 sample_bytes)
{
  if (sample_bytes == 0)
    sample_bytes = GP_ESTIMATE_SAMPLE_BYTES;
  sample_bytes = MAX (sample_bytes, MIN_SAMPLE);

  g_autofree guint32 *buf = g_new (guint32, CHUNK / sizeof (guint32));
  guint32 x = 2463534242u;
  for (gsize i = 0; i < CHUNK / sizeof (guint32); i++)
    {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      buf[i] = x;
    }

  GpSha256 s;
  char hex[GP_HEX_SHA256_LEN + 1];
  guint64 done = 0;
  gp_sha256_init (&s);
  gint64 start = g_get_monotonic_time ();
  gint64 elapsed = 0;
  while (done < sample_bytes)
    {
      gp_sha256_update (&s, buf, CHUNK);
      done += CHUNK;
      elapsed = g_get_monotonic_time () - start;
      if (elapsed >= MAX_MEASURE_USEC && done >= MIN_SAMPLE)
        break;
    }
  gp_sha256_finish_hex (&s, hex);
  elapsed = MAX (elapsed, 1);
  return (double) done * G_USEC_PER_SEC / (double) elapsed;
}

/**
 * gp_estimate_hash_seconds:
 * @bytes: bytes to hash in all
 * @largest_item: the largest single item (one worker hashes it alone)
 * @n_items: how many items (layers) share @bytes
 * @jobs: worker threads
 * @rate: bytes per second of one thread (gp_estimate_sha256_rate())
 *
 * The expected time of hashing @n_items items with @jobs workers: the
 * bytes spread over min(@jobs, @n_items, processors) threads, but never
 * less than the time of the largest item.
 *
 * Returns: seconds
 */
double
gp_estimate_hash_seconds (guint64 bytes, guint64 largest_item, guint n_items, guint jobs, double rate)
{
  if (bytes == 0 || n_items == 0 || rate <= 0)
    return 0;
  guint threads = MIN (MAX (jobs, 1), n_items);
  threads = MIN (threads, (guint) MAX (g_get_num_processors (), 1));
  double spread = (double) bytes / (rate * threads);
  double longest = (double) largest_item / rate;
  return MAX (spread, longest);
}

/**
 * gp_estimate_format_seconds:
 * @seconds: a duration
 *
 * Formats a duration for people: `6 ms`, `0.4 s`, `12 s`, `3 min 5 s`,
 * `2 h 10 min`.
 *
 * Returns: (transfer full): the text; free with g_free()
 */
char *
gp_estimate_format_seconds (double seconds)
{
  if (seconds < 0.1)
    return g_strdup_printf ("%.0f ms", seconds * 1000);
  if (seconds < 10)
    return g_strdup_printf ("%.1f s", seconds);
  guint64 s = (guint64) (seconds + 0.5);
  if (s < 60)
    return g_strdup_printf ("%" G_GUINT64_FORMAT " s", s);
  if (s < 3600)
    return g_strdup_printf ("%" G_GUINT64_FORMAT " min %" G_GUINT64_FORMAT " s", s / 60, s % 60);
  return g_strdup_printf ("%" G_GUINT64_FORMAT " h %" G_GUINT64_FORMAT " min", s / 3600, (s % 3600) / 60);
}
