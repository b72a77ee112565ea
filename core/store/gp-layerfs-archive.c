/* graphpipe - Docker's archiver and fallback Diff of a layer directory.
 *
 * The store level's side of core/tar/gp-archive: it fills the directory
 * interface the archiver is handed (GpArchiveDir: an fd and a path) from a
 * #GpLayerDir, and picks the Diff a storage driver calls for.
 */
#include "config.h"

#include "gp-layerfs-archive.h"

#include "gp-archive-private.h"
#include "gp-error.h"

#include <string.h>

static GpArchiveDir
archive_dir_of (GpLayerDir *dir)
{
  return (GpArchiveDir) {
    .fd = gp_layer_dir_get_fd (dir),
    .path = gp_layer_dir_get_path (dir),
  };
}

/**
 * gp_archive_write_dir:
 * @writer: the tar writer to append to
 * @dir: the directory to archive
 * @flags: #GpArchiveFlags
 * @cancellable: (nullable): checked between files and between chunks
 * @error: return location for a #GError
 *
 * Appends the entries of Docker's archiver for @dir (FORMATS.md §7.6): a
 * depth-first walk with names sorted byte-wise, names relative to @dir
 * (directories with a trailing `/`, @dir itself not an entry), lstat
 * values, symlinks never followed, devices and FIFOs as headers only (never
 * opened), hard links by inode, `security.capability` as PAX record.
 * Regular files are streamed in bounded chunks.  Does not close @writer.
 *
 * Returns: %TRUE on success, %FALSE with @error set (naming the file)
 * Since: 0.1
 */
gboolean
gp_archive_write_dir (GpTarWriter    *writer,
                      GpLayerDir     *dir,
                      GpArchiveFlags  flags,
                      GCancellable   *cancellable,
                      GError        **error)
{
  g_return_val_if_fail (writer != NULL && dir != NULL, FALSE);

  GpArchiveDir d = archive_dir_of (dir);
  return _gp_archive_write_dir_at (writer, &d, flags, cancellable, error);
}

/**
 * gp_archive_tar_dir:
 * @dir: the directory to archive
 * @flags: #GpArchiveFlags
 * @write_func: (scope call): receives the tar bytes
 * @user_data: passed to @write_func
 * @cancellable: (nullable): checked between files and between chunks
 * @error: return location for a #GError
 *
 * Produces the complete tar Docker's `archive.Tar` (or, with
 * %GP_ARCHIVE_AUFS_EXCLUDES, aufs's Diff) makes of @dir, including the
 * two end-of-archive blocks.
 *
 * Returns: %TRUE on success, %FALSE with @error set
 * Since: 0.1
 */
gboolean
gp_archive_tar_dir (GpLayerDir     *dir,
                    GpArchiveFlags  flags,
                    GpWriteFunc     write_func,
                    gpointer        user_data,
                    GCancellable   *cancellable,
                    GError        **error)
{
  g_return_val_if_fail (dir != NULL, FALSE);

  GpArchiveDir d = archive_dir_of (dir);
  return _gp_archive_tar_dir_at (&d, flags, write_func, user_data,
                                 cancellable, error);
}

/**
 * gp_archive_naive_diff:
 * @layer: the layer's complete root filesystem
 * @parent: (nullable): the parent layer's complete root filesystem
 * @write_func: (scope call): receives the tar bytes
 * @user_data: passed to @write_func
 * @cancellable: (nullable): checked between files and between chunks
 * @error: return location for a #GError
 *
 * Docker's NaiveDiffDriver.Diff (FORMATS.md §2.3) for drivers that keep
 * complete root filesystems.  Without @parent: the archiver tar of @layer.
 * With @parent: the change set between the two trees (paths with the same
 * inode on the same device are unchanged; added, modified, deleted as the
 * spec says; a directory containing a change is listed), sorted byte-wise
 * by `/`-prefixed path, each deletion as a whiteout `<dir>/.wh.<base>`
 * (mode 0, type byte 0x00, size 0) and everything else with the archiver's
 * header rules.  The tar ends with two zero blocks.
 *
 * Docker stamps whiteouts with the wall-clock time of the export; this
 * function writes mtime 0 instead, so a layer with deletions cannot match
 * Docker's bytes (neither can two Docker runs).
 *
 * Returns: %TRUE on success, %FALSE with @error set
 * Since: 0.1
 */
gboolean
gp_archive_naive_diff (GpLayerDir   *layer,
                       GpLayerDir   *parent,
                       GpWriteFunc   write_func,
                       gpointer      user_data,
                       GCancellable *cancellable,
                       GError      **error)
{
  g_return_val_if_fail (layer != NULL && write_func != NULL, FALSE);

  GpArchiveDir l = archive_dir_of (layer);
  if (parent == NULL)
    return _gp_archive_naive_diff_at (&l, NULL, write_func, user_data,
                                      cancellable, error);
  GpArchiveDir p = archive_dir_of (parent);
  return _gp_archive_naive_diff_at (&l, &p, write_func, user_data,
                                    cancellable, error);
}

/**
 * gp_archive_driver_diff:
 * @driver: the storage driver holding the layers
 * @layer: the layer directory (gp_driver_get_layer_dir())
 * @parent: (nullable): the parent layer's directory (ignored by aufs)
 * @write_func: (scope call): receives the tar bytes
 * @user_data: passed to @write_func
 * @cancellable: (nullable): checked between files and between chunks
 * @error: return location for a #GError
 *
 * The fallback Diff of FORMATS.md §2.3: for aufs the archiver tar of the
 * diff directory with aufs's excludes; for drivers keeping complete root
 * filesystems (vfs, overlay, btrfs) gp_archive_naive_diff().
 *
 * Returns: %TRUE on success; %FALSE with @error set
 *   (%GP_DATA_ERROR_UNSUPPORTED for overlay2, whose Diff is not needed by
 *   migration)
 * Since: 0.1
 */
gboolean
gp_archive_driver_diff (const GpDriver *driver,
                        GpLayerDir     *layer,
                        GpLayerDir     *parent,
                        GpWriteFunc     write_func,
                        gpointer        user_data,
                        GCancellable   *cancellable,
                        GError        **error)
{
  g_return_val_if_fail (driver != NULL && layer != NULL, FALSE);

  if (gp_driver_has_full_rootfs (driver))
    return gp_archive_naive_diff (layer, parent, write_func, user_data,
                                  cancellable, error);
  if (strcmp (gp_driver_get_name (driver), "aufs") == 0)
    return gp_archive_tar_dir (layer, GP_ARCHIVE_AUFS_EXCLUDES, write_func,
                               user_data, cancellable, error);
  g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_UNSUPPORTED,
               "%s: regenerating a layer tar is not supported for storage "
               "driver '%s'", gp_layer_dir_get_path (layer),
               gp_driver_get_name (driver));
  return FALSE;
}
