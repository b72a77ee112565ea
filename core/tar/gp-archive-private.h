/* graphpipe - internals shared by gp-archive.c and gp-changes.c, and the
 * directory interface the store level hands them.  Never installed. */
#pragma once

#include "gp-archive.h"
#include "gp-io.h"
#include "gp-tarwriter.h"

#include <gio/gio.h>
#include <sys/stat.h>

G_BEGIN_DECLS

#define GP_CAP_XATTR "security.capability"

/* An extended attribute value; present == FALSE when not set. */
typedef struct {
  gboolean present;
  gsize    len;
  guint8  *data;
} GpXattrValue;

typedef struct {
  char  *name;
  ino_t  ino;
} GpDirEntry;

typedef struct {
  GpTarWriter  *writer;
  GHashTable   *seen;        /* inode (guint64*) -> first name */
  GCancellable *cancellable;
  const char   *base_path;   /* for messages */
} GpAppender;

/* A directory the archiver reads beneath, as the layer above hands it
 * over (core/store/gp-layerfs-archive.c fills it from a GpLayerDir): an
 * open directory fd, everything below it opened with *at() calls that
 * never follow a symlink, and its path, used only in messages.  The
 * caller keeps both valid for the call. */
typedef struct {
  int         fd;
  const char *path;
} GpArchiveDir;

gboolean _gp_archive_write_dir_at     (GpTarWriter        *writer,
                                       const GpArchiveDir *dir,
                                       GpArchiveFlags      flags,
                                       GCancellable       *cancellable,
                                       GError            **error);
gboolean _gp_archive_tar_dir_at       (const GpArchiveDir *dir,
                                       GpArchiveFlags      flags,
                                       GpWriteFunc         write_func,
                                       gpointer            user_data,
                                       GCancellable       *cancellable,
                                       GError            **error);
gboolean _gp_archive_naive_diff_at    (const GpArchiveDir *layer,
                                       const GpArchiveDir *parent,
                                       GpWriteFunc         write_func,
                                       gpointer            user_data,
                                       GCancellable       *cancellable,
                                       GError            **error);

void     _gp_xattr_value_clear        (GpXattrValue  *v);
void     _gp_archive_read_capability  (int            dir_fd,
                                       const char    *name,
                                       int            fd,
                                       const char    *path,
                                       GpXattrValue  *out);
gboolean _gp_archive_set_errno_error  (GError       **error,
                                       int            errsv,
                                       const char    *what,
                                       const char    *action);
GArray  *_gp_archive_read_dir_sorted  (int            parent_fd,
                                       const char    *name,
                                       const char    *what,
                                       int           *out_fd,
                                       GError       **error);
void     _gp_appender_init            (GpAppender    *app,
                                       GpTarWriter   *writer,
                                       const char    *base_path,
                                       GCancellable  *cancellable);
void     _gp_appender_clear           (GpAppender    *app);
gboolean _gp_appender_add             (GpAppender    *app,
                                       int            dir_fd,
                                       const char    *name,
                                       const char    *rel,
                                       mode_t        *out_mode,
                                       GError       **error);

G_END_DECLS
