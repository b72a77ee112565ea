/* graphpipe - internals shared by gp-archive.c and gp-changes.c.
 * Never installed. */
#pragma once

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
