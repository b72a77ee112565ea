/* graphpipe - storage-driver layouts and safe file access beneath a layer. */
#include "config.h"

/* O_PATH, AT_* and friends (configure normally defines this through
 * AC_USE_SYSTEM_EXTENSIONS). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "gp-layerfs.h"

#include "gp-error.h"

#include <gio/gio.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#endif

#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef RESOLVE_BENEATH
struct open_how {
  guint64 flags;
  guint64 mode;
  guint64 resolve;
};
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_BENEATH       0x08
#endif

#define MAX_SYMLINKS 40

/* ------------------------------------------------------------------------
 * Driver table
 * ------------------------------------------------------------------------ */

typedef char    *(*GpDriverLayerDirFunc) (const char *home, const char *id);
typedef gboolean (*GpDriverExistsFunc)   (const char *home, const char *id);

struct _GpDriver {
  const char          *name;
  const char          *needs_mount; /* non-NULL: refused; what it needs */
  gboolean             full_rootfs; /* TRUE: complete root filesystems */
  GpDriverLayerDirFunc layer_dir;
  GpDriverExistsFunc   exists;
};

static gboolean
path_stat_exists (const char *path, gboolean follow)
{
  struct stat st;
  return (follow ? stat (path, &st) : lstat (path, &st)) == 0;
}

static char *
vfs_layer_dir (const char *home, const char *id)
{
  return g_build_filename (home, "dir", id, NULL);
}

static gboolean
vfs_exists (const char *home, const char *id)
{
  g_autofree char *p = g_build_filename (home, "dir", id, NULL);
  return path_stat_exists (p, TRUE);
}

static char *
aufs_layer_dir (const char *home, const char *id)
{
  return g_build_filename (home, "diff", id, NULL);
}

static gboolean
aufs_exists (const char *home, const char *id)
{
  g_autofree char *p = g_build_filename (home, "layers", id, NULL);
  return path_stat_exists (p, FALSE);
}

static char *
overlay_layer_dir (const char *home, const char *id)
{
  return g_build_filename (home, id, "root", NULL);
}

static gboolean
home_id_exists (const char *home, const char *id)
{
  g_autofree char *p = g_build_filename (home, id, NULL);
  return path_stat_exists (p, TRUE);
}

static char *
overlay2_layer_dir (const char *home, const char *id)
{
  return g_build_filename (home, id, "diff", NULL);
}

static char *
btrfs_layer_dir (const char *home, const char *id)
{
  return g_build_filename (home, "subvolumes", id, NULL);
}

static gboolean
btrfs_exists (const char *home, const char *id)
{
  g_autofree char *p = g_build_filename (home, "subvolumes", id, NULL);
  return path_stat_exists (p, TRUE);
}

static const GpDriver drivers[] = {
  { "aufs", NULL, FALSE, aufs_layer_dir, aufs_exists },
  { "btrfs", NULL, TRUE, btrfs_layer_dir, btrfs_exists },
  { "devicemapper", "an activated and mounted device-mapper thin device",
    TRUE, NULL, NULL },
  { "overlay", NULL, TRUE, overlay_layer_dir, home_id_exists },
  { "overlay2", NULL, FALSE, overlay2_layer_dir, home_id_exists },
  { "vfs", NULL, TRUE, vfs_layer_dir, vfs_exists },
  { "zfs", "a mounted ZFS dataset", TRUE, NULL, NULL },
  { NULL, NULL, FALSE, NULL, NULL }
};

/**
 * gp_driver_lookup:
 * @name: a storage driver name as Docker prints it (`vfs`, `aufs`, …)
 * @error: return location for a #GError
 *
 * Finds the layout of a storage driver.  vfs, aufs, overlay, overlay2 and
 * btrfs are readable offline; devicemapper and zfs are recognised but
 * refused because their layers can only be read through a mount.
 *
 * Returns: (transfer none): the static driver description, or %NULL with
 *   %GP_DATA_ERROR_UNSUPPORTED set (`no such driver 'x'`, or
 *   `storage driver 'zfs' needs a mount …`)
 * Since: 0.1
 */
const GpDriver *
gp_driver_lookup (const char *name, GError **error)
{
  g_return_val_if_fail (name != NULL, NULL);

  for (const GpDriver *d = drivers; d->name != NULL; d++)
    {
      if (strcmp (d->name, name) != 0)
        continue;
      if (d->needs_mount != NULL)
        {
          g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_UNSUPPORTED,
                       "storage driver '%s' needs a mount (%s); graphpipe "
                       "reads layers offline only (vfs, aufs, overlay, "
                       "overlay2, btrfs)", name, d->needs_mount);
          return NULL;
        }
      return d;
    }
  g_autofree char *shown = g_strescape (name, NULL);
  g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_UNSUPPORTED,
               "no such driver '%s'", shown);
  return NULL;
}

/**
 * gp_driver_get_name:
 * @driver: a driver from gp_driver_lookup()
 *
 * Returns: (transfer none): the driver's name
 * Since: 0.1
 */
const char *
gp_driver_get_name (const GpDriver *driver)
{
  g_return_val_if_fail (driver != NULL, NULL);
  return driver->name;
}

/**
 * gp_driver_has_full_rootfs:
 * @driver: a driver from gp_driver_lookup()
 *
 * Whether a layer directory of this driver holds the complete root
 * filesystem of the layer (vfs, overlay, btrfs) rather than only the
 * layer's own changes (aufs, overlay2).  Decides the fallback Diff
 * (FORMATS.md §2.3): naive diff against the parent, or a plain tar.
 *
 * Returns: %TRUE for complete root filesystems
 * Since: 0.1
 */
gboolean
gp_driver_has_full_rootfs (const GpDriver *driver)
{
  g_return_val_if_fail (driver != NULL, FALSE);
  return driver->full_rootfs;
}

static gboolean
check_id (const char *id, GError **error)
{
  if (id[0] == '\0' || strcmp (id, ".") == 0 || strcmp (id, "..") == 0
      || strchr (id, '/') != NULL)
    {
      g_autofree char *shown = g_strescape (id, NULL);
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_UNSAFE_PATH,
                   "layer ID '%s' is not a plain file name", shown);
      return FALSE;
    }
  return TRUE;
}

/**
 * gp_driver_get_layer_dir:
 * @driver: a driver from gp_driver_lookup()
 * @root: the Docker data root (e.g. `/var/lib/docker`)
 * @id: the driver ID of the layer (legacy v1 ID, `<cid>-init`, or a 1.10
 *   cache ID)
 * @error: return location for a #GError
 *
 * Builds the path of the directory holding the layer's files:
 * vfs `<root>/vfs/dir/<id>`, aufs `<root>/aufs/diff/<id>`, overlay
 * `<root>/overlay/<id>/root`, overlay2 `<root>/overlay2/<id>/diff`, btrfs
 * `<root>/btrfs/subvolumes/<id>`.  Does not touch the file system.
 *
 * Returns: (transfer full): the path, free with g_free(); %NULL with
 *   %GP_DATA_ERROR_UNSAFE_PATH if @id is empty, `.`, `..` or contains `/`
 * Since: 0.1
 */
char *
gp_driver_get_layer_dir (const GpDriver *driver,
                         const char     *root,
                         const char     *id,
                         GError        **error)
{
  g_return_val_if_fail (driver != NULL && driver->layer_dir != NULL, NULL);
  g_return_val_if_fail (root != NULL && id != NULL, NULL);

  if (!check_id (id, error))
    return NULL;
  g_autofree char *home = g_build_filename (root, driver->name, NULL);
  return driver->layer_dir (home, id);
}

/**
 * gp_driver_layer_exists:
 * @driver: a driver from gp_driver_lookup()
 * @root: the Docker data root
 * @id: the driver ID (for container mounts also `<cid>-init`)
 *
 * The driver's Exists(id) test of FORMATS.md §2.1: aufs lstat
 * `<home>/layers/<id>`; overlay and overlay2 stat `<home>/<id>`; vfs stat
 * `<home>/dir/<id>`; btrfs stat `<home>/subvolumes/<id>`.
 *
 * Returns: %TRUE if the layer exists; %FALSE otherwise, including for an
 *   @id that is not a plain file name
 * Since: 0.1
 */
gboolean
gp_driver_layer_exists (const GpDriver *driver,
                        const char     *root,
                        const char     *id)
{
  g_return_val_if_fail (driver != NULL && driver->exists != NULL, FALSE);
  g_return_val_if_fail (root != NULL && id != NULL, FALSE);

  if (!check_id (id, NULL))
    return FALSE;
  g_autofree char *home = g_build_filename (root, driver->name, NULL);
  return driver->exists (home, id);
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* Whether @path exists and is of the file type @type (S_IFREG, S_IFDIR;
 * 0: any), following symbolic links.  @strict: a path that cannot be
 * looked at (permissions, I/O) fails with @error set; otherwise it counts
 * as not there. */
static gboolean
path_is (const char *path, mode_t type, gboolean strict, gboolean *is, GError **error)
{
  struct stat st;
  *is = FALSE;
  if (stat (path, &st) == 0)
    {
      *is = type == 0 || (st.st_mode & S_IFMT) == type;
      return TRUE;
    }
  int e = errno;
  if (!strict || e == ENOENT || e == ENOTDIR)
    return TRUE;
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "%s: cannot look at it: %s", path,
               g_strerror (e));
  return FALSE;
}

/* gp_driver_detect() and gp_driver_probe(): with @strict, a path that
 * cannot be looked at fails the detection. */
static char **
detect_drivers (const char *root, gboolean strict, GError **error)
{
  g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func (g_free);
  for (const GpDriver *d = drivers; d->name != NULL; d++)
    {
      g_autofree char *repos_name = g_strconcat ("repositories-", d->name, NULL);
      g_autofree char *repos = g_build_filename (root, repos_name, NULL);
      g_autofree char *home = g_build_filename (root, d->name, NULL);
      gboolean is_file, is_dir;
      if (!path_is (repos, S_IFREG, strict, &is_file, error)
          || !path_is (home, S_IFDIR, strict, &is_dir, error))
        return NULL;
      if (is_file || is_dir)
        g_ptr_array_add (found, g_strdup (d->name));
    }
  g_ptr_array_add (found, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&found), FALSE);
}

/**
 * gp_driver_detect:
 * @root: a Docker data root
 *
 * Lists the storage drivers a data root holds data of: every known driver
 * (including devicemapper and zfs, which gp_driver_lookup() then refuses)
 * for which `<root>/repositories-<driver>` is a file or `<root>/<driver>` is
 * a directory.  When several are listed the caller should report them all
 * and ask for an explicit choice.
 *
 * Returns: (transfer full) (array zero-terminated=1): driver names in
 *   byte-wise order, possibly empty; free with g_strfreev()
 * Since: 0.1
 */
char **
gp_driver_detect (const char *root)
{
  g_return_val_if_fail (root != NULL, NULL);
  return detect_drivers (root, FALSE, NULL);
}

/**
 * gp_path_probe:
 * @path: a path
 * @exists: (out): whether @path exists
 * @error: return location for a #GError
 *
 * Finds out whether @path exists, telling "it does not" (%ENOENT,
 * %ENOTDIR) from "it cannot be looked at" (%EACCES, %EIO, ...), which
 * g_file_test() merges.
 *
 * Returns: %FALSE with @error ("PATH: cannot look at it: REASON") when
 *   the answer is unknown
 * Since: 0.1
 */
gboolean
gp_path_probe (const char *path, gboolean *exists, GError **error)
{
  g_return_val_if_fail (path != NULL && exists != NULL, FALSE);
  return path_is (path, 0, TRUE, exists, error);
}

/**
 * gp_driver_probe:
 * @root: a Docker data root
 * @error: return location for a #GError
 *
 * gp_driver_detect(), failing instead of finding nothing when the root,
 * a `repositories-<driver>` file or a driver directory cannot be looked
 * at (permissions, I/O), with an error naming the path and the reason.
 * A root that does not exist (or is not a directory) holds nothing.
 *
 * Returns: (transfer full) (array zero-terminated=1) (nullable): as
 *   gp_driver_detect(); %NULL with @error set
 * Since: 0.1
 */
char **
gp_driver_probe (const char *root, GError **error)
{
  g_return_val_if_fail (root != NULL, NULL);

  int fd = open (root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
    return gp_driver_detect (root); /* nothing there: the caller says so */
  if (fd < 0)
    {
      int e = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "%s: cannot read the data root: %s",
                   root, g_strerror (e));
      return NULL;
    }
  close (fd);
  return detect_drivers (root, TRUE, error);
}

/**
 * gp_driver_list_stores:
 * @root: a data root
 *
 * Returns: (transfer full) (array zero-terminated=1): the names of the
 *   directories under `<root>/image/` (the 1.10+ image stores, one per
 *   driver), in byte-wise order, possibly empty; free with g_strfreev()
 * Since: 0.1
 */
char **
gp_driver_list_stores (const char *root)
{
  g_return_val_if_fail (root != NULL, NULL);
  g_autofree char *image = g_build_filename (root, "image", NULL);
  g_autoptr (GPtrArray) found = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GDir) dir = g_dir_open (image, 0, NULL);
  const char *name;
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (image, name, NULL);
      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        g_ptr_array_add (found, g_strdup (name));
    }
  g_ptr_array_sort (found, compare_names);
  g_ptr_array_add (found, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&found), FALSE);
}

/* ------------------------------------------------------------------------
 * Layer directories and safe open
 * ------------------------------------------------------------------------ */

struct _GpLayerDir {
  gint  ref_count;
  int   fd;   /* O_PATH | O_DIRECTORY */
  char *path;
  /* The parent directory of the last file opened (tar streams list the
   * files of a directory together): its components joined with '/' and
   * its O_PATH descriptor, resolved beneath fd like any other; -1 if
   * none.  Taken out under the lock while in use, so that threads sharing
   * the layer directory never close each other's descriptor. */
  GMutex lock;
  char  *cached_rel;
  int    cached_fd;
};

static int open_dir_beneath (int base_fd, GPtrArray *components);

/**
 * gp_layer_dir_open:
 * @path: a directory
 * @error: return location for a #GError
 *
 * Opens a layer directory (an O_PATH descriptor of it) as the base of
 * gp_layer_dir_open_file().  Symbolic links in @path itself are followed:
 * @path is trusted, names opened beneath it are not.
 *
 * Returns: (transfer full): the directory, release with
 *   gp_layer_dir_unref(); %NULL with %GP_DATA_ERROR_MISSING if @path does
 *   not exist or is not a directory, a #GIOError otherwise
 * Since: 0.1
 */
GpLayerDir *
gp_layer_dir_open (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);

  int fd = open (path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    {
      int errsv = errno;
      if (errsv == ENOENT || errsv == ENOTDIR)
        g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING,
                     "%s: layer directory %s", path,
                     errsv == ENOENT ? "does not exist" : "is not a directory");
      else
        g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
                     "%s: cannot open layer directory: %s", path,
                     g_strerror (errsv));
      return NULL;
    }
  GpLayerDir *dir = g_new0 (GpLayerDir, 1);
  dir->ref_count = 1;
  dir->fd = fd;
  dir->cached_fd = -1;
  g_mutex_init (&dir->lock);
  dir->path = g_strdup (path);
  return dir;
}

/**
 * gp_layer_dir_open_driver:
 * @driver: a driver from gp_driver_lookup()
 * @root: the Docker data root
 * @id: the layer's driver ID
 * @error: return location for a #GError
 *
 * gp_driver_get_layer_dir() followed by gp_layer_dir_open(), except that
 * only @root is trusted: the path below it is resolved beneath @root
 * (symbolic links that stay inside are followed), and a layer or driver
 * directory leading out of it fails with %GP_DATA_ERROR_UNSAFE_PATH.
 *
 * Returns: (transfer full): the directory, or %NULL with @error set
 * Since: 0.1
 */
GpLayerDir *
gp_layer_dir_open_driver (const GpDriver *driver,
                          const char     *root,
                          const char     *id,
                          GError        **error)
{
  g_autofree char *path = gp_driver_get_layer_dir (driver, root, id, error);
  if (path == NULL)
    return NULL;
  g_autofree char *rel = driver->layer_dir (driver->name, id);
  return gp_layer_dir_open_beneath (root, rel, error);
}

/**
 * gp_layer_dir_open_beneath:
 * @root: a trusted directory (a data root)
 * @rel: a relative path of `/`-separated components below @root
 * @error: return location for a #GError
 *
 * Opens the layer directory @root/@rel, resolving @rel beneath @root:
 * symbolic links that stay inside are followed, a path leading out of
 * @root (a `..` above it, a symbolic link outside, a magic link) fails
 * with %GP_DATA_ERROR_UNSAFE_PATH.  For sources whose layer directories
 * are not those of a #GpDriver (containers-storage's `overlay/<id>/diff`).
 *
 * Returns: (transfer full): the directory, or %NULL with @error set
 * Since: 0.1
 */
GpLayerDir *
gp_layer_dir_open_beneath (const char *root, const char *rel, GError **error)
{
  g_return_val_if_fail (root != NULL && rel != NULL, NULL);

  g_autofree char *path = g_build_filename (root, rel, NULL);
  /* The root is trusted; what lies below it is not: resolved beneath the
   * root, so that a layer directory (or a driver directory) that is a
   * symbolic link leading out of the data root is refused. */
  int root_fd = open (root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0)
    return gp_layer_dir_open (path, error); /* the same error */
  g_auto(GStrv) parts = g_strsplit (rel, "/", -1);
  g_autoptr(GPtrArray) components = g_ptr_array_new ();
  for (guint i = 0; parts[i] != NULL; i++)
    if (*parts[i] != '\0')
      g_ptr_array_add (components, parts[i]);
  int fd = open_dir_beneath (root_fd, components);
  int errsv = errno;
  gp_fd_close (root_fd);
  if (fd < 0)
    {
      if (errsv == ENOENT || errsv == ENOTDIR)
        g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING, "%s: layer directory %s", path,
                     errsv == ENOENT ? "does not exist" : "is not a directory");
      else if (errsv == EXDEV || errsv == ELOOP)
        g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_UNSAFE_PATH,
                     "%s: layer directory leads out of the data root %s (symbolic link)", path, root);
      else
        g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
                     "%s: cannot open layer directory: %s", path, g_strerror (errsv));
      return NULL;
    }
  GpLayerDir *dir = g_new0 (GpLayerDir, 1);
  dir->ref_count = 1;
  dir->fd = fd;
  dir->cached_fd = -1;
  g_mutex_init (&dir->lock);
  dir->path = g_steal_pointer (&path);
  return dir;
}

/**
 * gp_layer_dir_ref:
 * @dir: a layer directory
 *
 * Returns: (transfer full): @dir with one more reference; directories may
 *   be shared between threads
 * Since: 0.1
 */
GpLayerDir *
gp_layer_dir_ref (GpLayerDir *dir)
{
  g_return_val_if_fail (dir != NULL, NULL);
  g_atomic_int_inc (&dir->ref_count);
  return dir;
}

/**
 * gp_layer_dir_unref:
 * @dir: (nullable) (transfer full): a layer directory
 *
 * Drops a reference; the descriptor is closed with the last one.
 *
 * Since: 0.1
 */
void
gp_layer_dir_unref (GpLayerDir *dir)
{
  if (dir == NULL || !g_atomic_int_dec_and_test (&dir->ref_count))
    return;
  close (dir->fd);
  if (dir->cached_fd >= 0)
    close (dir->cached_fd);
  g_free (dir->cached_rel);
  g_mutex_clear (&dir->lock);
  g_free (dir->path);
  g_free (dir);
}

/**
 * gp_layer_dir_get_path:
 * @dir: a layer directory
 *
 * Returns: (transfer none): the path it was opened with
 * Since: 0.1
 */
const char *
gp_layer_dir_get_path (GpLayerDir *dir)
{
  g_return_val_if_fail (dir != NULL, NULL);
  return dir->path;
}

/**
 * gp_layer_dir_get_fd:
 * @dir: a layer directory
 *
 * Returns: (transfer none): the O_PATH directory descriptor; owned by
 *   @dir, do not close
 * Since: 0.1
 */
int
gp_layer_dir_get_fd (GpLayerDir *dir)
{
  g_return_val_if_fail (dir != NULL, -1);
  return dir->fd;
}

/* Printable form of a raw entry name: printable ASCII kept, everything
 * else as \xNN. */
static char *
escape_name (const char *name, gsize len)
{
  GString *s = g_string_sized_new (len + 8);
  for (gsize i = 0; i < len; i++)
    {
      guchar c = (guchar) name[i];
      if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'')
        g_string_append_c (s, (char) c);
      else
        g_string_append_printf (s, "\\x%02x", c);
    }
  return g_string_free (s, FALSE);
}

static void
set_entry_error (GError    **error,
                 GpLayerDir *dir,
                 const char *name,
                 gsize       name_len,
                 gint        code,
                 const char *what)
{
  g_autofree char *shown = escape_name (name, name_len);
  g_set_error (error, GP_DATA_ERROR, code, "%s: entry '%s': %s",
               dir->path, shown, what);
}

static void
set_entry_errno (GError    **error,
                 GpLayerDir *dir,
                 const char *name,
                 gsize       name_len,
                 int         errsv)
{
  switch (errsv)
    {
    case ENOENT:
      set_entry_error (error, dir, name, name_len, GP_DATA_ERROR_MISSING,
                       "no such file");
      break;
    case ENOTDIR:
      set_entry_error (error, dir, name, name_len, GP_DATA_ERROR_MISSING,
                       "a parent component is not a directory");
      break;
    case ENAMETOOLONG:
      set_entry_error (error, dir, name, name_len, GP_DATA_ERROR_MISSING,
                       "name too long");
      break;
    case EXDEV:
      set_entry_error (error, dir, name, name_len, GP_DATA_ERROR_UNSAFE_PATH,
                       "resolves outside the layer directory");
      break;
    case ELOOP:
      set_entry_error (error, dir, name, name_len, GP_DATA_ERROR_UNSAFE_PATH,
                       "symbolic link loop or magic link");
      break;
    default:
      {
        g_autofree char *shown = escape_name (name, name_len);
        g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
                     "%s: entry '%s': %s", dir->path, shown,
                     g_strerror (errsv));
      }
    }
}

/* Splits @name into components after Docker's lexical cleaning of
 * join(base, name): empty and `.` components vanish, `..` removes the
 * previous one; a leading `/` is relative to the base.  A `..` that would
 * climb above the base fails (even if later components came back). */
static gboolean
clean_components (const char *name, gsize len, GPtrArray *out)
{
  gsize i = 0;
  while (i < len)
    {
      gsize j = i;
      while (j < len && name[j] != '/')
        j++;
      gsize n = j - i;
      if (n == 0 || (n == 1 && name[i] == '.'))
        ;
      else if (n == 2 && name[i] == '.' && name[i + 1] == '.')
        {
          if (out->len == 0)
            return FALSE;
          g_ptr_array_remove_index (out, out->len - 1);
        }
      else
        g_ptr_array_add (out, g_strndup (name + i, n));
      i = j + 1;
    }
  return TRUE;
}

/* Whether @name is already what clean_components() would make of it: no
 * leading or trailing '/', no empty, `.` or `..` component.  Sets
 * @out_last to the offset of the last component. */
static gboolean
name_is_clean (const char *name, gsize len, gsize *out_last)
{
  if (len == 0 || name[0] == '/' || name[len - 1] == '/')
    return FALSE;
  gsize start = 0, last = 0;
  for (gsize i = 0; i <= len; i++)
    if (i == len || name[i] == '/')
      {
        gsize n = i - start;
        if (n == 0 || (name[start] == '.' && (n == 1 || (n == 2 && name[start + 1] == '.'))))
          return FALSE;
        last = start;
        start = i + 1;
      }
  *out_last = last;
  return TRUE;
}

/* Set once the kernel answered ENOSYS. */
static gint openat2_missing = 0;

static gboolean
openat2_usable (void)
{
  const char *env = g_getenv ("GP_LAYERFS_NO_OPENAT2");
  if (env != NULL && strcmp (env, "1") == 0)
    return FALSE;
  return !g_atomic_int_get (&openat2_missing);
}

static gboolean
is_procfs (int fd)
{
  struct statfs sfs;
  return fstatfs (fd, &sfs) == 0 && sfs.f_type == PROC_SUPER_MAGIC;
}

static void
close_fd_elem (gpointer p)
{
  gp_fd_close (*(int *) p); /* keeps errno */
}

static int
fail_errno (int errsv)
{
  errno = errsv;
  return -1;
}

/* Component-by-component resolution of @components (relative to
 * @base_fd) to an O_PATH directory, following symbolic links only while
 * they stay beneath the base: `..` is handled lexically on the stack of
 * directories walked so far and can never pop the base; absolute links,
 * links inside procfs (magic links) and more than MAX_SYMLINKS links
 * fail.  Returns an fd (owned by the caller), or -1 with errno set
 * (EXDEV for an escape, ELOOP for loops and magic links). */
static int
walk_beneath (int base_fd, GPtrArray *components)
{
  g_autoptr(GArray) stack = g_array_new (FALSE, FALSE, sizeof (int));
  g_array_set_clear_func (stack, close_fd_elem);
  g_autoptr(GPtrArray) todo = g_ptr_array_new_with_free_func (g_free);
  guint links = 0;

  /* todo is a stack: the next component is the last element. */
  for (guint i = components->len; i-- > 0;)
    g_ptr_array_add (todo, g_strdup (components->pdata[i]));

  while (todo->len > 0)
    {
      g_autofree char *comp = g_ptr_array_steal_index (todo, todo->len - 1);
      int cur = stack->len ? g_array_index (stack, int, stack->len - 1)
                           : base_fd;

      if (comp[0] == '\0' || strcmp (comp, ".") == 0)
        continue;
      if (strcmp (comp, "..") == 0)
        {
          if (stack->len == 0)
            return fail_errno (EXDEV);
          g_array_set_size (stack, stack->len - 1);
          continue;
        }

      struct stat st;
      if (fstatat (cur, comp, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return -1;
      if (S_ISLNK (st.st_mode))
        {
          if (++links > MAX_SYMLINKS || is_procfs (cur))
            return fail_errno (ELOOP);
          char target[4096];
          ssize_t n = readlinkat (cur, comp, target, sizeof target - 1);
          if (n < 0)
            return -1;
          target[n] = '\0';
          if (target[0] == '/')
            return fail_errno (EXDEV);
          g_auto(GStrv) parts = g_strsplit (target, "/", -1);
          for (guint k = g_strv_length (parts); k-- > 0;)
            g_ptr_array_add (todo, g_strdup (parts[k]));
          continue;
        }
      if (!S_ISDIR (st.st_mode))
        return fail_errno (ENOTDIR);
      int fd = openat (cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0)
        return -1;
      g_array_append_val (stack, fd);
    }

  if (stack->len == 0)
    return fcntl (base_fd, F_DUPFD_CLOEXEC, 0);
  int result = g_array_index (stack, int, stack->len - 1);
  g_array_index (stack, int, stack->len - 1) = -1;
  return result;
}

/* Opens the directory named by @components beneath @base_fd with
 * openat2 (RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS), or with the
 * fallback walk when openat2 is unavailable or disabled. */
static int
open_dir_beneath (int base_fd, GPtrArray *components)
{
  if (openat2_usable ())
    {
      g_autoptr(GString) rel = g_string_new (NULL);
      for (guint i = 0; i < components->len; i++)
        {
          if (i > 0)
            g_string_append_c (rel, '/');
          g_string_append (rel, components->pdata[i]);
        }
      struct open_how how = {
        .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
      };
      for (int attempt = 0; attempt < 16; attempt++)
        {
          long fd = syscall (SYS_openat2, base_fd, rel->str, &how, sizeof how);
          if (fd >= 0)
            return (int) fd;
          if (errno == EAGAIN || errno == EINTR)
            continue;
          if (errno != ENOSYS)
            return -1;
          g_atomic_int_set (&openat2_missing, 1);
          break;
        }
      if (!g_atomic_int_get (&openat2_missing))
        return -1; /* EAGAIN every time */
    }
  return walk_beneath (base_fd, components);
}

/**
 * gp_layer_dir_open_file:
 * @dir: a layer directory
 * @name: (array length=name_len): an entry name from tar-split data (raw
 *   bytes, need not be UTF-8 or NUL-terminated)
 * @name_len: length of @name
 * @out_stat: (out) (optional): the opened file's fstat
 * @error: return location for a #GError
 *
 * Opens a regular file for reading the way Docker locates it (join of the
 * layer directory and @name with lexical cleaning; a leading `/` is
 * relative to the layer directory), but never outside @dir: a `..` that
 * climbs above it, a symbolic link component that is absolute or leads
 * outside, a magic link (`/proc/…`) or a symlink loop fails with
 * %GP_DATA_ERROR_UNSAFE_PATH.  Only regular files are opened: a directory,
 * FIFO, device, socket, or a symbolic link as the last component fails with
 * %GP_DATA_ERROR_NOT_REGULAR (devices are never opened; FIFOs cannot hang).
 * A missing file or a non-directory parent component gives
 * %GP_DATA_ERROR_MISSING.  Messages name the layer directory and entry.
 *
 * Uses openat2(2) with `RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS`; on
 * kernels without it (ENOSYS), or when the environment variable
 * `GP_LAYERFS_NO_OPENAT2=1` is set, a component-by-component walk with
 * `O_NOFOLLOW` and the same rules.
 *
 * Returns: a read-only descriptor the caller closes, or -1 with @error set
 * Since: 0.1
 */
int
gp_layer_dir_open_file (GpLayerDir  *dir,
                        const char  *name,
                        gsize        name_len,
                        struct stat *out_stat,
                        GError     **error)
{
  return gp_layer_dir_open_file_full (dir, name, name_len, GP_LAYER_OPEN_DEFAULT, out_stat, error);
}

/**
 * gp_layer_dir_open_file_full:
 * @dir: a layer directory
 * @name: (array length=name_len): an entry name, as for
 *   gp_layer_dir_open_file()
 * @name_len: length of @name
 * @flags: %GP_LAYER_OPEN_KEEP_NONBLOCK leaves the descriptor in
 *   non-blocking mode (saves a system call per file; a read of a regular
 *   file does not block anyway, and a caller that sees EAGAIN clears the
 *   flag with fcntl)
 * @out_stat: (out) (optional): the opened file's fstat
 * @error: return location for a #GError
 *
 * gp_layer_dir_open_file() with @flags.
 *
 * Returns: a read-only descriptor the caller closes, or -1 with @error set
 * Since: 0.2
 */
int
gp_layer_dir_open_file_full (GpLayerDir      *dir,
                             const char      *name,
                             gsize            name_len,
                             GpLayerOpenFlags flags,
                             struct stat     *out_stat,
                             GError         **error)
{
  g_return_val_if_fail (dir != NULL, -1);
  g_return_val_if_fail (name != NULL || name_len == 0, -1);

  if (memchr (name, '\0', name_len) != NULL)
    {
      set_entry_error (error, dir, name, name_len, GP_DATA_ERROR_UNSAFE_PATH,
                       "name contains a NUL byte");
      return -1;
    }

  /* A name already clean (the usual case) is split in place; others go
   * through Docker's lexical cleaning into components. */
  char last_buf[256];
  g_autofree char *last_owned = NULL;
  g_autofree char *parent_rel = NULL;
  g_autoptr(GPtrArray) comps = NULL;
  const char *last;
  gsize last_off;
  if (name_is_clean (name, name_len, &last_off) && name_len - last_off < sizeof last_buf)
    {
      memcpy (last_buf, name + last_off, name_len - last_off);
      last_buf[name_len - last_off] = '\0';
      last = last_buf;
      if (last_off > 0)
        parent_rel = g_strndup (name, last_off - 1);
    }
  else
    {
      comps = g_ptr_array_new_with_free_func (g_free);
      if (!clean_components (name, name_len, comps))
        {
          set_entry_error (error, dir, name, name_len, GP_DATA_ERROR_UNSAFE_PATH,
                           "'..' leaves the layer directory");
          return -1;
        }
      if (comps->len == 0)
        {
          set_entry_error (error, dir, name, name_len, GP_DATA_ERROR_NOT_REGULAR,
                           "is the layer directory itself");
          return -1;
        }
      last = last_owned = g_strdup (comps->pdata[comps->len - 1]);
      g_ptr_array_set_size (comps, comps->len - 1);
      if (comps->len > 0)
        {
          g_ptr_array_add (comps, NULL);
          parent_rel = g_strjoinv ("/", (char **) comps->pdata);
          g_ptr_array_set_size (comps, comps->len - 1);
        }
    }

  g_auto(GpFd) parent_fd = -1;
  int parent = dir->fd;
  if (parent_rel != NULL)
    {
      g_mutex_lock (&dir->lock);
      if (dir->cached_fd >= 0 && strcmp (dir->cached_rel, parent_rel) == 0)
        {
          parent_fd = dir->cached_fd;
          dir->cached_fd = -1;
        }
      g_mutex_unlock (&dir->lock);
      if (parent_fd < 0)
        {
          if (comps == NULL)
            {
              comps = g_ptr_array_new_with_free_func (g_free);
              clean_components (parent_rel, strlen (parent_rel), comps); /* clean: cannot fail */
            }
          parent_fd = open_dir_beneath (dir->fd, comps);
        }
      if (parent_fd < 0)
        {
          set_entry_errno (error, dir, name, name_len, errno);
          return -1;
        }
      parent = parent_fd;
    }

  /* Classify before opening: devices are never opened. */
  struct stat st;
  if (fstatat (parent, last, &st, AT_SYMLINK_NOFOLLOW) < 0)
    {
      set_entry_errno (error, dir, name, name_len, errno);
      return -1;
    }
  if (!S_ISREG (st.st_mode))
    {
      const char *what = S_ISLNK (st.st_mode) ? "is a symbolic link"
                         : S_ISDIR (st.st_mode) ? "is a directory"
                         : S_ISFIFO (st.st_mode) ? "is a FIFO"
                         : S_ISCHR (st.st_mode) ? "is a character device"
                         : S_ISBLK (st.st_mode) ? "is a block device"
                         : S_ISSOCK (st.st_mode) ? "is a socket"
                         : "is not a regular file";
      set_entry_error (error, dir, name, name_len, GP_DATA_ERROR_NOT_REGULAR,
                       what);
      return -1;
    }

  /* O_NONBLOCK: should a FIFO have been swapped in meanwhile, the open
   * returns at once and the fstat below refuses it. */
  g_auto(GpFd) fd = openat (parent, last,
                            O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY
                            | O_CLOEXEC);
  if (fd < 0)
    {
      set_entry_errno (error, dir, name, name_len, errno);
      return -1;
    }
  if (fstat (fd, &st) < 0)
    {
      set_entry_errno (error, dir, name, name_len, errno);
      return -1;
    }
  if (!S_ISREG (st.st_mode))
    {
      set_entry_error (error, dir, name, name_len, GP_DATA_ERROR_NOT_REGULAR,
                       "is not a regular file");
      return -1;
    }
  /* F_SETFL changes only the status flags: of ours, O_NONBLOCK goes. */
  if (!(flags & GP_LAYER_OPEN_KEEP_NONBLOCK))
    (void) fcntl (fd, F_SETFL, 0);
  if (out_stat != NULL)
    *out_stat = st;
  if (parent_fd >= 0)
    {
      /* Kept for the next file of the same directory. */
      g_mutex_lock (&dir->lock);
      int old_fd = dir->cached_fd;
      dir->cached_fd = gp_fd_steal (&parent_fd);
      g_free (dir->cached_rel);
      dir->cached_rel = g_steal_pointer (&parent_rel);
      g_mutex_unlock (&dir->lock);
      if (old_fd >= 0)
        close (old_fd);
    }
  return gp_fd_steal (&fd);
}
