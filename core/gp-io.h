/* graphpipe - byte stream callback types shared by the streaming modules. */
#pragma once

#include "gp-macros.h"

G_BEGIN_DECLS

/**
 * GpWriteFunc:
 * @user_data: the sink's data
 * @buf: bytes to consume
 * @len: their number (may be 0)
 * @error: return location for a #GError
 *
 * A sink for a byte stream (a tar being produced, a gzip stream, a hash).
 *
 * Returns: %TRUE if all @len bytes were consumed; %FALSE with @error set.
 */
typedef gboolean (*GpWriteFunc) (gpointer user_data, const void *buf, gsize len, GError **error);

G_END_DECLS
