/* graphpipe - Docker's archiver and fallback Diff of a layer directory.
 *
 * See spec/FORMATS.md §2.3 and §7.6.  The archiver itself is in
 * core/tar/gp-archive.c and reads a directory it is handed; these are the
 * entry points on a #GpLayerDir and a #GpDriver.
 */
#pragma once

#include "gp-macros.h"
#include "gp-io.h"
#include "gp-archive.h"
#include "gp-layerfs.h"
#include "gp-tarwriter.h"

#include <gio/gio.h>

G_BEGIN_DECLS

GP_API gboolean gp_archive_write_dir   (GpTarWriter    *writer,
                                        GpLayerDir     *dir,
                                        GpArchiveFlags  flags,
                                        GCancellable   *cancellable,
                                        GError        **error);
GP_API gboolean gp_archive_tar_dir     (GpLayerDir     *dir,
                                        GpArchiveFlags  flags,
                                        GpWriteFunc     write_func,
                                        gpointer        user_data,
                                        GCancellable   *cancellable,
                                        GError        **error);
GP_API gboolean gp_archive_naive_diff  (GpLayerDir     *layer,
                                        GpLayerDir     *parent,
                                        GpWriteFunc     write_func,
                                        gpointer        user_data,
                                        GCancellable   *cancellable,
                                        GError        **error);
GP_API gboolean gp_archive_driver_diff (const GpDriver *driver,
                                        GpLayerDir     *layer,
                                        GpLayerDir     *parent,
                                        GpWriteFunc     write_func,
                                        gpointer        user_data,
                                        GCancellable   *cancellable,
                                        GError        **error);

G_END_DECLS
