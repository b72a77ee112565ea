/* graphpipe - parallel gzip writer (one gzip member, blocks deflated on
 * all cores, as pigz does it). */
#pragma once

#include "gp-macros.h"
#include "gp-io.h"

#include <gio/gio.h>

G_BEGIN_DECLS

/* Default input block size: each block is deflated by one worker. */
#define GP_PGZIP_DEFAULT_BLOCK_SIZE (256 * 1024)
/* Smallest accepted block size. */
#define GP_PGZIP_MIN_BLOCK_SIZE 1024

/**
 * GpPgzip:
 *
 * A gzip compressor that cuts its input into blocks, deflates them on
 * worker threads and writes the results in order to a #GpWriteFunc, as one
 * valid gzip member.  Not thread-safe: one thread writes; the sink is only
 * ever called from that thread.
 */
typedef struct _GpPgzip GpPgzip;

GP_API GpPgzip *gp_pgzip_new (GpWriteFunc sink,
                              gpointer sink_data,
                              guint jobs,
                              int level,
                              gsize block_size,
                              GCancellable *cancellable,
                              GError **error);
GP_API gboolean gp_pgzip_write (gpointer pgzip, const void *buf, gsize len, GError **error);
GP_API gboolean gp_pgzip_finish (GpPgzip *z, GError **error);
GP_API guint64 gp_pgzip_get_bytes_in (GpPgzip *z);
GP_API guint64 gp_pgzip_get_bytes_out (GpPgzip *z);
GP_API void gp_pgzip_free (GpPgzip *z);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GpPgzip, gp_pgzip_free)

G_END_DECLS
