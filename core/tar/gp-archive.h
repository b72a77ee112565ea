/* graphpipe - Docker's archiver and the fallback layer Diff.
 *
 * See spec/FORMATS.md §2.3 and §7.6.  Everything streams through a
 * #GpWriteFunc; file contents are copied in bounded chunks.  The functions
 * that archive a layer directory are in gp-layerfs-archive.h: the tar
 * level reads a directory it is handed and knows no storage driver.
 */
#pragma once

#include "gp-macros.h"
#include "gp-io.h"
#include "gp-tarwriter.h"

#include <gio/gio.h>

G_BEGIN_DECLS

/**
 * GpArchiveFlags:
 * @GP_ARCHIVE_NONE: archive every path
 * @GP_ARCHIVE_AUFS_EXCLUDES: leave out top-level `.wh..wh.*` paths (and
 *   everything below them) except `.wh..wh..opq`, as aufs's Diff does
 *
 * Options of gp_archive_write_dir().
 */
typedef enum {
  GP_ARCHIVE_NONE = 0,
  GP_ARCHIVE_AUFS_EXCLUDES = 1 << 0,
} GpArchiveFlags;

G_END_DECLS
