/* graphpipe - CRC-64/ISO exactly as Go's hash/crc64 with the ISO table.
 *
 * FORMATS.md §3.3: reflected polynomial 0xD800000000000000, bytes processed
 * LSB-first, the running value complemented before and after each update
 * (Go's crc64.Update), so a computation starts from 0 and the value after
 * any number of updates is the checksum of everything fed so far.
 * tar-split stores it big-endian (gp_crc64_to_bytes()).
 */
#pragma once

#include "gp-macros.h"

G_BEGIN_DECLS

#define GP_CRC64_ISO_POLY G_GUINT64_CONSTANT (0xD800000000000000)

GP_API guint64 gp_crc64_update (guint64 crc, const void *buf, gsize len);
GP_API guint64 gp_crc64_update_bytewise (guint64 crc, const void *buf, gsize len);
GP_API void gp_crc64_to_bytes (guint64 crc, guint8 out[8]);

G_END_DECLS
