/* graphpipe - small I/O types shared by the streaming modules. */
#pragma once

#include "gp-macros.h"

#include <errno.h>
#include <unistd.h>

G_BEGIN_DECLS

/**
 * GpWriteFunc:
 * @user_data: the data given together with the callback
 * @buf: (array length=len): bytes to consume
 * @len: number of bytes at @buf (may be 0)
 * @error: return location for a #GError
 *
 * Consumer of a byte stream (a tar being produced, a file being written).
 * It must take all @len bytes or fail.
 *
 * Returns: %TRUE on success, %FALSE with @error set on failure
 */
typedef gboolean (*GpWriteFunc) (gpointer     user_data,
                                 const void  *buf,
                                 gsize        len,
                                 GError     **error);

/**
 * GpFd:
 *
 * A file descriptor owned by a scope: `g_auto (GpFd) fd = -1;` closes it
 * (when >= 0) on scope exit.  Hand it out with gp_fd_steal().
 */
typedef int GpFd;

static inline void
gp_fd_close (GpFd fd)
{
  if (fd >= 0)
    {
      int saved = errno;
      (void) close (fd);
      errno = saved;
    }
}

static inline int
gp_fd_steal (GpFd *fdp)
{
  int fd = *fdp;
  *fdp = -1;
  return fd;
}

G_DEFINE_AUTO_CLEANUP_FREE_FUNC (GpFd, gp_fd_close, -1)

G_END_DECLS
