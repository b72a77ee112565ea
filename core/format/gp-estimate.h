/* graphpipe - how long hashing will take on this machine.
 *
 * A dry run tells the bytes a run will hash; gp_estimate_sha256_rate()
 * measures how fast this machine's SHA-256 goes (a short, bounded
 * measurement), and gp_estimate_hash_seconds() turns both into the
 * expected time of parallel workers.  Hashing speed only: reading the
 * data from a slow disk can make the real run longer.
 */
#pragma once

#include "gp-macros.h"

G_BEGIN_DECLS

/* Default sample for gp_estimate_sha256_rate(): 32 MiB, well under a
 * second on anything current. */
#define GP_ESTIMATE_SAMPLE_BYTES (32 * 1024 * 1024)

GP_API double gp_estimate_sha256_rate (guint64 sample_bytes);
GP_API double gp_estimate_hash_seconds (guint64 bytes, guint64 largest_item, guint n_items,
                                        guint jobs, double rate);
GP_API char *gp_estimate_format_seconds (double seconds);

G_END_DECLS
