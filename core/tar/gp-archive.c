/* graphpipe - Docker's archiver and the fallback layer Diff. */
#include "config.h"

/* O_PATH, AT_* and friends (configure normally defines this through
 * AC_USE_SYSTEM_EXTENSIONS). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "gp-archive.h"
#include "gp-archive-private.h"

#include "gp-error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#define WHITEOUT_META_PREFIX ".wh..wh."
#define WHITEOUT_OPAQUE ".wh..wh..opq"

/* ------------------------------------------------------------------------
 * Small file-system helpers
 * ------------------------------------------------------------------------ */

void
_gp_xattr_value_clear (GpXattrValue *v)
{
  g_clear_pointer (&v->data, g_free);
  v->present = FALSE;
  v->len = 0;
}

/* Reads security.capability of @name in the directory @dir_fd without
 * following a final symlink (Docker's lgetxattr).  @fd, when >= 0, is the
 * entry itself opened for reading; @path is its full path, used only when
 * /proc is not mounted.  Like Docker, which ignores lgetxattr errors, any
 * failure means "not set". */
void
_gp_archive_read_capability (int           dir_fd,
                             const char   *name,
                             int           fd,
                             const char   *path,
                             GpXattrValue *out)
{
  guint8 buf[256];
  ssize_t n;

  memset (out, 0, sizeof *out);
  if (fd >= 0)
    n = fgetxattr (fd, GP_CAP_XATTR, buf, sizeof buf);
  else
    {
      /* Through the pinned directory, so no path component is re-resolved. */
      g_autofree char *proc = g_strdup_printf ("/proc/self/fd/%d/%s",
                                               dir_fd, name);
      n = lgetxattr (proc, GP_CAP_XATTR, buf, sizeof buf);
      if (n < 0 && errno == ENOENT && access ("/proc/self/fd", F_OK) != 0)
        n = lgetxattr (path, GP_CAP_XATTR, buf, sizeof buf);
    }
  if (n < 0)
    return;
  out->present = TRUE;
  out->len = (gsize) n;
  out->data = g_memdup2 (buf, (gsize) n);
}

gboolean
_gp_archive_set_errno_error (GError    **error,
                             int         errsv,
                             const char *what,
                             const char *action)
{
  if (errsv == ENOENT)
    g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING,
                 "%s: vanished while archiving", what);
  else
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
                 "%s: %s: %s", what, action, g_strerror (errsv));
  return FALSE;
}

static void
dir_entry_clear (gpointer p)
{
  g_free (((GpDirEntry *) p)->name);
}

static int
compare_dir_entries (gconstpointer a, gconstpointer b)
{
  return strcmp (((const GpDirEntry *) a)->name, ((const GpDirEntry *) b)->name);
}

/* Opens the directory @name under @parent_fd (not following a symlink)
 * and reads its entries, sorted byte-wise, with their d_ino.  The opened
 * directory is returned in @out_fd for opening entries relative to it. */
GArray *
_gp_archive_read_dir_sorted (int          parent_fd,
                             const char  *name,
                             const char  *what,
                             int         *out_fd,
                             GError     **error)
{
  g_auto(GpFd) dir_fd = openat (parent_fd, name,
                                O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dir_fd < 0)
    {
      _gp_archive_set_errno_error (error, errno, what, "cannot open directory");
      return NULL;
    }
  int fd = fcntl (dir_fd, F_DUPFD_CLOEXEC, 0);
  if (fd < 0)
    {
      _gp_archive_set_errno_error (error, errno, what, "cannot open directory");
      return NULL;
    }
  DIR *d = fdopendir (fd);
  if (d == NULL)
    {
      _gp_archive_set_errno_error (error, errno, what, "cannot read directory");
      close (fd);
      return NULL;
    }

  g_autoptr(GArray) entries = g_array_new (FALSE, FALSE, sizeof (GpDirEntry));
  g_array_set_clear_func (entries, dir_entry_clear);
  for (;;)
    {
      errno = 0;
      struct dirent *de = readdir (d);
      if (de == NULL)
        {
          if (errno != 0)
            {
              _gp_archive_set_errno_error (error, errno, what,
                                           "cannot read directory");
              closedir (d);
              return NULL;
            }
          break;
        }
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      GpDirEntry e = { g_strdup (de->d_name), de->d_ino };
      g_array_append_val (entries, e);
    }
  closedir (d);
  g_array_sort (entries, compare_dir_entries);
  *out_fd = gp_fd_steal (&dir_fd);
  return g_steal_pointer (&entries);
}

/* ------------------------------------------------------------------------
 * The tar appender (Docker's tarAppender.addTarFile)
 * ------------------------------------------------------------------------ */

void
_gp_appender_init (GpAppender   *app,
                   GpTarWriter  *writer,
                   const char   *base_path,
                   GCancellable *cancellable)
{
  app->writer = writer;
  app->seen = g_hash_table_new_full (g_int64_hash, g_int64_equal,
                                     g_free, g_free);
  app->cancellable = cancellable;
  app->base_path = base_path;
}

void
_gp_appender_clear (GpAppender *app)
{
  g_clear_pointer (&app->seen, g_hash_table_unref);
}

static char
type_flag (mode_t mode)
{
  switch (mode & S_IFMT)
    {
    case S_IFREG:  return GP_TAR_TYPE_REG;
    case S_IFDIR:  return GP_TAR_TYPE_DIR;
    case S_IFLNK:  return GP_TAR_TYPE_SYMLINK;
    case S_IFCHR:  return GP_TAR_TYPE_CHAR;
    case S_IFBLK:  return GP_TAR_TYPE_BLOCK;
    case S_IFIFO:  return GP_TAR_TYPE_FIFO;
    default:       return GP_TAR_TYPE_NONE; /* socket */
    }
}

/* Writes the entry @name of directory @dir_fd as @rel (relative tar name
 * without trailing slash) following FORMATS.md §7.6. */
gboolean
_gp_appender_add (GpAppender *app,
                  int         dir_fd,
                  const char *name,
                  const char *rel,
                  mode_t     *out_mode,
                  GError    **error)
{
  g_autofree char *what = g_build_filename (app->base_path, rel, NULL);

  if (g_cancellable_set_error_if_cancelled (app->cancellable, error))
    return FALSE;

  struct stat st;
  if (fstatat (dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return _gp_archive_set_errno_error (error, errno, what, "cannot lstat");
  if (out_mode != NULL)
    *out_mode = st.st_mode;

  GpTarHeader hdr = { 0 };
  g_autofree char *tar_name = S_ISDIR (st.st_mode) ? g_strconcat (rel, "/", NULL)
                                                   : g_strdup (rel);
  g_autofree char *link = NULL;
  hdr.name = tar_name;
  hdr.typeflag = type_flag (st.st_mode);

  if (S_ISLNK (st.st_mode))
    {
      gsize cap = (gsize) st.st_size + 1;
      if (cap < 256)
        cap = 256;
      for (;;)
        {
          link = g_malloc (cap);
          ssize_t n = readlinkat (dir_fd, name, link, cap);
          if (n < 0)
            return _gp_archive_set_errno_error (error, errno, what,
                                                "cannot read link");
          if ((gsize) n < cap)
            {
              link[n] = '\0';
              break;
            }
          g_clear_pointer (&link, g_free);
          cap *= 2;
        }
      hdr.linkname = link;
    }

  /* Docker: Mode&S_IFBLK != 0 || Mode&S_IFCHR != 0 (sic: bit tests). */
  if ((st.st_mode & S_IFBLK) != 0 || (st.st_mode & S_IFCHR) != 0)
    {
      guint64 rdev = (guint64) st.st_rdev;
      hdr.devmajor = (gint64) ((rdev >> 8) & 0xfff);
      hdr.devminor = (gint64) ((rdev & 0xff) | ((rdev >> 12) & 0xfff00));
    }

  if (!S_ISDIR (st.st_mode) && st.st_nlink > 1)
    {
      guint64 ino = (guint64) st.st_ino;
      const char *first = g_hash_table_lookup (app->seen, &ino);
      if (first != NULL)
        {
          hdr.typeflag = GP_TAR_TYPE_LINK;
          hdr.linkname = first;
        }
      else
        g_hash_table_insert (app->seen, g_memdup2 (&ino, sizeof ino),
                             g_strdup (tar_name));
    }

  /* Regular content: open first (never a device: we know the type). */
  g_auto(GpFd) fd = -1;
  if (hdr.typeflag == GP_TAR_TYPE_REG)
    {
      fd = openat (dir_fd, name,
                   O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
      if (fd < 0)
        return _gp_archive_set_errno_error (error, errno, what, "cannot open");
      struct stat fst;
      if (fstat (fd, &fst) < 0)
        return _gp_archive_set_errno_error (error, errno, what, "cannot stat");
      if (!S_ISREG (fst.st_mode) || fst.st_ino != st.st_ino
          || fst.st_dev != st.st_dev)
        {
          g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_NOT_REGULAR,
                       "%s: replaced while archiving", what);
          return FALSE;
        }
      st = fst;
      /* blocking from now on: of the status flags F_SETFL changes, we
       * set only O_NONBLOCK (one system call, no F_GETFL) */
      (void) fcntl (fd, F_SETFL, 0);
    }

  hdr.mode = (gint64) st.st_mode;
  hdr.uid = (gint64) st.st_uid;
  hdr.gid = (gint64) st.st_gid;
  hdr.size = hdr.typeflag == GP_TAR_TYPE_REG ? (gint64) st.st_size : 0;
  hdr.mtime = (gint64) st.st_mtim.tv_sec;
  hdr.mtime_nsec = (guint32) st.st_mtim.tv_nsec;

  GpXattrValue cap;
  _gp_archive_read_capability (dir_fd, name, fd, what, &cap);
  GpTarXattr xattr = { GP_CAP_XATTR, cap.data, cap.len };
  if (cap.present)
    {
      hdr.xattrs = &xattr;
      hdr.n_xattrs = 1;
    }

  gboolean ok = gp_tar_writer_write_header (app->writer, &hdr, error);
  _gp_xattr_value_clear (&cap);
  if (!ok)
    return FALSE;

  if (hdr.typeflag == GP_TAR_TYPE_REG)
    return gp_tar_writer_copy_fd (app->writer, fd, what, app->cancellable,
                                  error);
  return TRUE;
}

/* ------------------------------------------------------------------------
 * archive.Tar / TarWithOptions over a directory
 * ------------------------------------------------------------------------ */

static gboolean
aufs_excluded (const char *rel)
{
  const char *slash = strchr (rel, '/');
  gsize top_len = slash ? (gsize) (slash - rel) : strlen (rel);
  gsize meta_len = strlen (WHITEOUT_META_PREFIX);
  if (top_len < meta_len || strncmp (rel, WHITEOUT_META_PREFIX, meta_len) != 0)
    return FALSE;
  return !(top_len == strlen (WHITEOUT_OPAQUE)
           && strncmp (rel, WHITEOUT_OPAQUE, top_len) == 0);
}

static gboolean
walk_dir (GpAppender      *app,
          int            parent_fd,
          const char    *name,
          const char    *rel_prefix,
          GpArchiveFlags flags,
          GError       **error)
{
  g_autofree char *what = rel_prefix[0] ? g_build_filename (app->base_path,
                                                            rel_prefix, NULL)
                                        : g_strdup (app->base_path);
  g_auto(GpFd) dir_fd = -1;
  g_autoptr(GArray) entries = _gp_archive_read_dir_sorted (parent_fd, name,
                                                           what, &dir_fd,
                                                           error);
  if (entries == NULL)
    return FALSE;

  for (guint i = 0; i < entries->len; i++)
    {
      const char *child = g_array_index (entries, GpDirEntry, i).name;
      g_autofree char *rel = rel_prefix[0]
                             ? g_strconcat (rel_prefix, "/", child, NULL)
                             : g_strdup (child);

      /* Docker keeps walking into an excluded directory but skips every
       * path below it too: the same as not descending. */
      if ((flags & GP_ARCHIVE_AUFS_EXCLUDES) && aufs_excluded (rel))
        continue;

      mode_t mode;
      if (!_gp_appender_add (app, dir_fd, child, rel, &mode, error))
        return FALSE;
      if (S_ISDIR (mode) && !walk_dir (app, dir_fd, child, rel, flags, error))
        return FALSE;
    }
  return TRUE;
}

/* The archiver's entries for @dir (gp_archive_write_dir()). */
gboolean
_gp_archive_write_dir_at (GpTarWriter        *writer,
                          const GpArchiveDir *dir,
                          GpArchiveFlags      flags,
                          GCancellable       *cancellable,
                          GError            **error)
{
  g_return_val_if_fail (writer != NULL && dir != NULL, FALSE);

  GpAppender app;
  _gp_appender_init (&app, writer, dir->path, cancellable);
  gboolean ok = walk_dir (&app, dir->fd, ".", "", flags, error);
  _gp_appender_clear (&app);
  return ok;
}

/* The complete archiver tar of @dir (gp_archive_tar_dir()). */
gboolean
_gp_archive_tar_dir_at (const GpArchiveDir *dir,
                        GpArchiveFlags      flags,
                        GpWriteFunc         write_func,
                        gpointer            user_data,
                        GCancellable       *cancellable,
                        GError            **error)
{
  g_autoptr(GpTarWriter) writer = gp_tar_writer_new (write_func, user_data);
  return _gp_archive_write_dir_at (writer, dir, flags, cancellable, error)
         && gp_tar_writer_close (writer, error);
}
