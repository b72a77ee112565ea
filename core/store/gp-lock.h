/* graphpipe - one writer at a time on a store (gp-lock.c says how). */
#pragma once

#include <gio/gio.h>

#include "gp-macros.h"

G_BEGIN_DECLS

/* Suffix of the lock file beside a directory that may not exist yet
 * (`<parent>/.<name>` + this), see gp_lock_beside(). */
#define GP_LOCK_FILE_SUFFIX ".gp-lock"

/**
 * GpLockFlags:
 * @GP_LOCK_DEFAULT: fail at once with %G_IO_ERROR_BUSY when another
 *   process holds the lock
 * @GP_LOCK_WAIT: wait until the other process releases it (or dies)
 *
 * Flags for gp_lock_dir() and gp_lock_beside().
 */
typedef enum {
  GP_LOCK_DEFAULT = 0,
  GP_LOCK_WAIT = 1 << 0,
} GpLockFlags;

typedef struct _GpLock GpLock;

GP_API GpLock *gp_lock_dir (const char *dir, GpLockFlags flags, GCancellable *cancellable, GError **error);
GP_API GpLock *gp_lock_beside (const char *path, GpLockFlags flags, GCancellable *cancellable,
                               GError **error);
GP_API const char *gp_lock_get_path (GpLock *lock);
GP_API gboolean gp_lock_is_held (GpLock *lock, int *why);
GP_API void gp_lock_release (GpLock *lock);
GP_API char *gp_lock_describe_holder (const char *path);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GpLock, gp_lock_release)

G_END_DECLS
