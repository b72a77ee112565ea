/* graphpipe - storage-driver layouts and safe file access beneath a layer.
 *
 * See spec/FORMATS.md §2.  A #GpDriver describes where one storage driver
 * keeps a layer's files; a #GpLayerDir is an open layer directory beneath
 * which tar-split entry names are opened without ever leaving it.
 */
#pragma once

#include "gp-macros.h"
#include "gp-io.h"

#include <sys/stat.h>

G_BEGIN_DECLS

typedef struct _GpDriver GpDriver;

GP_API const GpDriver *gp_driver_lookup           (const char     *name,
                                                   GError        **error);
GP_API const char     *gp_driver_get_name         (const GpDriver *driver);
GP_API gboolean        gp_driver_has_full_rootfs  (const GpDriver *driver);
GP_API char           *gp_driver_get_layer_dir    (const GpDriver *driver,
                                                   const char     *root,
                                                   const char     *id,
                                                   GError        **error);
GP_API gboolean        gp_driver_layer_exists     (const GpDriver *driver,
                                                   const char     *root,
                                                   const char     *id);
GP_API char          **gp_driver_detect           (const char     *root);
GP_API char          **gp_driver_probe            (const char     *root,
                                                   GError        **error);
GP_API char          **gp_driver_list_stores      (const char     *root);
GP_API gboolean        gp_path_probe              (const char     *path,
                                                   gboolean       *exists,
                                                   GError        **error);

typedef struct _GpLayerDir GpLayerDir;

GP_API GpLayerDir *gp_layer_dir_open          (const char     *path,
                                               GError        **error);
GP_API GpLayerDir *gp_layer_dir_open_driver   (const GpDriver *driver,
                                               const char     *root,
                                               const char     *id,
                                               GError        **error);
GP_API GpLayerDir *gp_layer_dir_open_beneath  (const char     *root,
                                               const char     *rel,
                                               GError        **error);
GP_API GpLayerDir *gp_layer_dir_ref           (GpLayerDir     *dir);
GP_API void        gp_layer_dir_unref         (GpLayerDir     *dir);
GP_API const char *gp_layer_dir_get_path      (GpLayerDir     *dir);
GP_API int         gp_layer_dir_get_fd        (GpLayerDir     *dir);
GP_API int         gp_layer_dir_open_file     (GpLayerDir     *dir,
                                               const char     *name,
                                               gsize           name_len,
                                               struct stat    *out_stat,
                                               GError        **error);

/**
 * GpLayerOpenFlags:
 * @GP_LAYER_OPEN_DEFAULT: a blocking descriptor
 * @GP_LAYER_OPEN_KEEP_NONBLOCK: leave O_NONBLOCK set (see
 *   gp_layer_dir_open_file_full())
 */
typedef enum {
  GP_LAYER_OPEN_DEFAULT = 0,
  GP_LAYER_OPEN_KEEP_NONBLOCK = 1 << 0,
} GpLayerOpenFlags;

GP_API int gp_layer_dir_open_file_full (GpLayerDir *dir, const char *name, gsize name_len, GpLayerOpenFlags flags,
                                        struct stat *out_stat, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GpLayerDir, gp_layer_dir_unref)

G_END_DECLS
