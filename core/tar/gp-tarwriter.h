/* graphpipe - tar header writer, byte-compatible with Go 1.5's archive/tar.
 *
 * See spec/FORMATS.md §7.5 and §7.6.  The writer emits ustar headers exactly
 * as the Go 1.5 writer Docker 1.10/1.11 were built with: octal fields,
 * ustar long-name splitting, PAX `x` headers for names that do not fit or
 * are not ASCII, base-256 numbers with the sticky GNU magic, and two zero
 * blocks at the end (no record padding).  Two deliberate, documented
 * choices where Go 1.5 is not deterministic: PAX header entries are named
 * `<dir>/PaxHeaders.0/<base>` (Go 1.5 used the PID) and their records are
 * sorted by key (Go 1.5 used map order).
 */
#pragma once

#include "gp-macros.h"
#include "gp-io.h"

#include <gio/gio.h>

G_BEGIN_DECLS

/* Type flags (byte 156 of a header). */
#define GP_TAR_TYPE_REG     '0'
#define GP_TAR_TYPE_LINK    '1'
#define GP_TAR_TYPE_SYMLINK '2'
#define GP_TAR_TYPE_CHAR    '3'
#define GP_TAR_TYPE_BLOCK   '4'
#define GP_TAR_TYPE_DIR     '5'
#define GP_TAR_TYPE_FIFO    '6'
#define GP_TAR_TYPE_XHEADER 'x'
/* Sockets and whiteouts: Go's zero Typeflag, a 0x00 byte. */
#define GP_TAR_TYPE_NONE    '\0'

#define GP_TAR_BLOCK_SIZE 512

/**
 * GpTarXattr:
 * @key: attribute name without the `SCHILY.xattr.` prefix
 *   (e.g. `security.capability`), NUL-terminated
 * @value: (array length=value_len): raw value bytes (may contain NULs)
 * @value_len: length of @value
 *
 * One extended attribute, written as PAX record
 * `SCHILY.xattr.<key>=<value>`.
 */
typedef struct {
  const char   *key;
  const guint8 *value;
  gsize         value_len;
} GpTarXattr;

/**
 * GpTarHeader:
 * @name: entry name (raw bytes, NUL-terminated; need not be UTF-8);
 *   directories carry a trailing `/`
 * @linkname: (nullable): link target for hard links and symlinks
 * @uname: (nullable): user name (Docker: always empty)
 * @gname: (nullable): group name (Docker: always empty)
 * @mode: mode field value, including file-type bits as Docker writes them
 *   (e.g. `0100644`, `040755`)
 * @uid: owner
 * @gid: group
 * @size: content size (0 for everything but regular files)
 * @mtime: modification time, seconds since the epoch (floor)
 * @mtime_nsec: nanoseconds of @mtime (only used for Go's range rule:
 *   times before 1970 or after 2^33-1 s are written as 0)
 * @devmajor: device major number (character/block devices)
 * @devminor: device minor number
 * @typeflag: one of the `GP_TAR_TYPE_*` values
 * @xattrs: (array length=n_xattrs) (nullable): extended attributes
 * @n_xattrs: number of @xattrs
 *
 * Values of one tar entry.  Zero-initialise and fill in what applies;
 * the struct is only read during gp_tar_writer_write_header().
 */
typedef struct {
  const char       *name;
  const char       *linkname;
  const char       *uname;
  const char       *gname;
  gint64            mode;
  gint64            uid;
  gint64            gid;
  gint64            size;
  gint64            mtime;
  guint32           mtime_nsec;
  gint64            devmajor;
  gint64            devminor;
  char              typeflag;
  const GpTarXattr *xattrs;
  gsize             n_xattrs;
} GpTarHeader;

typedef struct _GpTarWriter GpTarWriter;

GP_API GpTarWriter *gp_tar_writer_new          (GpWriteFunc        write_func,
                                                gpointer           user_data);
GP_API void         gp_tar_writer_free         (GpTarWriter       *writer);
GP_API gboolean     gp_tar_writer_write_header (GpTarWriter       *writer,
                                                const GpTarHeader *header,
                                                GError           **error);
GP_API gboolean     gp_tar_writer_write_data   (GpTarWriter       *writer,
                                                const void        *buf,
                                                gsize              len,
                                                GError           **error);
GP_API gboolean     gp_tar_writer_skip_data    (GpTarWriter       *writer,
                                                guint64            len,
                                                GError           **error);
GP_API gboolean     gp_tar_writer_copy_fd      (GpTarWriter       *writer,
                                                int                fd,
                                                const char        *what,
                                                GCancellable      *cancellable,
                                                GError           **error);
GP_API gboolean     gp_tar_writer_close        (GpTarWriter       *writer,
                                                GError           **error);
GP_API guint64      gp_tar_writer_get_offset   (GpTarWriter       *writer);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GpTarWriter, gp_tar_writer_free)

G_END_DECLS
