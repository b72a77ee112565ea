/* graphpipe - durable, crash-safe file writes. */
#include "config.h"

#include "gp-safeio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <gio/gio.h>

/* Bytes of directory entries read at once by gp_safeio_clean_stale(). */
#define DIRENT_BUFFER 32768

#include "gp-error.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

#define COPY_CHUNK (128 * 1024)

static void
close_fd (int fd)
{
  if (fd >= 0)
    {
      int errsv = errno;
      close (fd);
      errno = errsv;
    }
}

typedef int SafeFd;
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (SafeFd, close_fd, -1)

static gboolean
set_errno_error (GError **error, int errsv, const char *path, const char *what)
{
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv), "%s: %s: %s",
               path, what, g_strerror (errsv));
  return FALSE;
}

static gboolean
write_all (int fd, const void *buf, gsize len, const char *path, GError **error)
{
  const guint8 *p = buf;

  gp_safeio_crash_write (fd, buf, len);
  while (len > 0)
    {
      ssize_t n = write (fd, p, MIN (len, (gsize) G_MAXSSIZE));
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return set_errno_error (error, errno, path, "write failed");
        }
      p += n;
      len -= (gsize) n;
    }
  return TRUE;
}

static gboolean
fsync_fd_dir (int dfd, const char *path, GError **error)
{
  /* Some file systems refuse fsync on a directory; that is not an error. */
  if (fsync (dfd) < 0 && errno != EINVAL && errno != EROFS)
    return set_errno_error (error, errno, path, "cannot sync directory");
  return TRUE;
}

/* ---- deferred durability (gp_safeio_defer_begin) ----
 *
 * While deferral is on, writes of new names skip their fsyncs; the file
 * system of each one is remembered (one descriptor per device) and
 * gp_safeio_defer_end() makes them all durable with one syncfs() each.
 * Replacing an existing name keeps the full per-file protocol, so that
 * what was there before is never lost to a crash. */
static gint defer_depth;
/* Changes whenever the noted file systems are forgotten (a flush, a new
 * outermost begin): a #GpSafeDir notes its own again then. */
static gint defer_gen = 1;
/* Under deferral, the umask read once (-1: not read yet); see
 * current_umask(). */
static gint defer_umask = -1;
static GMutex defer_lock;
static GArray *defer_devs;  /* dev_t */
static GArray *defer_fds;   /* a directory descriptor on each */
static GRecMutex hook_lock;
static GpSafeioDeferFunc defer_hook;
static gpointer defer_hook_data;
static gboolean defer_hook_done;

static gboolean
deferring (void)
{
  return g_atomic_int_get (&defer_depth) > 0;
}

/* Before the first deferred write of a name: the hook given to
 * gp_safeio_defer_begin() runs once (it writes the caller's marker). */
static gboolean
defer_enter (GError **error)
{
  gboolean ok = TRUE;
  g_rec_mutex_lock (&hook_lock);
  if (!defer_hook_done && defer_hook != NULL)
    {
      ok = defer_hook (defer_hook_data, error);
      defer_hook_done = ok;
    }
  g_rec_mutex_unlock (&hook_lock);
  return ok;
}

/* Remembers the file system @dev of the directory @dfd for the syncfs at
 * the end. */
static void
defer_note_dev (int dfd, dev_t dev)
{
  g_mutex_lock (&defer_lock);
  gboolean known = FALSE;
  for (guint i = 0; defer_devs != NULL && i < defer_devs->len && !known; i++)
    known = g_array_index (defer_devs, dev_t, i) == dev;
  if (!known && defer_devs != NULL)
    {
      int fd = fcntl (dfd, F_DUPFD_CLOEXEC, 0);
      if (fd >= 0)
        {
          g_array_append_val (defer_devs, dev);
          g_array_append_val (defer_fds, fd);
        }
    }
  g_mutex_unlock (&defer_lock);
}

/* Remembers the file system of @dfd for the syncfs at the end. */
static void
defer_note (int dfd)
{
  struct stat st;
  if (fstat (dfd, &st) < 0)
    return;
  defer_note_dev (dfd, st.st_dev);
}

static gboolean
defer_dev_known (dev_t dev)
{
  g_mutex_lock (&defer_lock);
  gboolean known = FALSE;
  for (guint i = 0; defer_devs != NULL && i < defer_devs->len && !known; i++)
    known = g_array_index (defer_devs, dev_t, i) == dev;
  g_mutex_unlock (&defer_lock);
  return known;
}

static void
defer_note_path (const char *path)
{
  /* one stat() when its file system is already noted (the usual case),
   * not an open, fstat and close */
  struct stat st;
  if (stat (path, &st) == 0 && S_ISDIR (st.st_mode) && defer_dev_known (st.st_dev))
    return;
  int fd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0)
    {
      defer_note (fd);
      close (fd);
    }
}

/**
 * gp_safeio_defer_begin:
 * @first_write: (nullable): called once, before the first name is written
 *   under deferral (not before temporaries), with deferral suspended for
 *   what it writes with %GP_SAFE_SYNC; when it fails, that write fails
 * @user_data: for @first_write
 *
 * Starts deferred durability for the whole process: from now on, a file
 * or directory written under a new name is complete and atomic as before
 * (temp + rename) but not fsync'ed one by one; gp_safeio_defer_end() syncs
 * every file system written to at once.  Writes that replace an existing
 * name stay fsync'ed one by one.  A process killed in between loses
 * nothing (the page cache survives it); after a machine crash, new names
 * written since the begin may be missing or empty, which the caller must
 * detect on the next run (graphpipe migrate keeps a marker with the boot
 * ID, see gp_sync_session_begin()).  Calls nest.
 *
 * Until the outermost end, the process umask is read once, at the first
 * write that needs it, and taken as unchanged since: a program must not
 * change its umask while deferral is on (files and directories created
 * with a mode the umask keeps whole then skip their fchmod()).
 */
void
gp_safeio_defer_begin (GpSafeioDeferFunc first_write, gpointer user_data)
{
  g_rec_mutex_lock (&hook_lock);
  if (!deferring ())
    {
      defer_hook = first_write;
      defer_hook_data = user_data;
      defer_hook_done = FALSE;
      g_atomic_int_set (&defer_umask, -1);
      g_atomic_int_inc (&defer_gen);
    }
  g_rec_mutex_unlock (&hook_lock);
  g_mutex_lock (&defer_lock);
  if (defer_devs == NULL)
    {
      defer_devs = g_array_new (FALSE, FALSE, sizeof (dev_t));
      defer_fds = g_array_new (FALSE, FALSE, sizeof (int));
    }
  g_mutex_unlock (&defer_lock);
  g_atomic_int_inc (&defer_depth);
}

/**
 * gp_safeio_defer_end:
 * @error: return location for a #GError
 *
 * Ends one gp_safeio_defer_begin(); the outermost end syncs (syncfs) every
 * file system written to under deferral, so that everything written since
 * the begin is durable when it returns %TRUE.
 *
 * Returns: %TRUE on success.
 */
gboolean
gp_safeio_defer_end (GError **error)
{
  g_return_val_if_fail (deferring (), FALSE);
  if (!g_atomic_int_dec_and_test (&defer_depth))
    return TRUE;
  g_rec_mutex_lock (&hook_lock);
  defer_hook = NULL;
  defer_hook_data = NULL;
  g_rec_mutex_unlock (&hook_lock);
  return gp_safeio_defer_flush (error);
}

/**
 * gp_safeio_defer_flush:
 * @error: return location for a #GError
 *
 * Makes durable, with one syncfs() per file system, everything written
 * under deferral so far.  Deferral stays as it is.
 *
 * Returns: %TRUE on success.
 */
gboolean
gp_safeio_defer_flush (GError **error)
{
  gboolean ok = TRUE;
  g_mutex_lock (&defer_lock);
  for (guint i = 0; defer_fds != NULL && i < defer_fds->len; i++)
    {
      int fd = g_array_index (defer_fds, int, i);
      if (ok && syncfs (fd) < 0)
        ok = set_errno_error (error, errno, "the written file systems", "cannot sync");
      close (fd);
    }
  if (defer_fds != NULL)
    {
      g_array_set_size (defer_fds, 0);
      g_array_set_size (defer_devs, 0);
    }
  g_atomic_int_inc (&defer_gen);
  g_mutex_unlock (&defer_lock);
  return ok;
}

/* fsync of a directory entry change, or under deferral a note of its file
 * system. */
static gboolean
sync_dir_fd (int dfd, const char *path, GError **error)
{
  if (deferring ())
    {
      defer_note (dfd);
      return TRUE;
    }
  return fsync_fd_dir (dfd, path, error);
}

static gboolean
sync_dir_path (const char *dir, GError **error)
{
  if (deferring ())
    {
      defer_note_path (dir);
      return TRUE;
    }
  return gp_safeio_fsync_dir (dir, error);
}

static int
rename_noreplace (int olddfd, const char *oldname, int newdfd, const char *newname)
{
#ifdef SYS_renameat2
  return (int) syscall (SYS_renameat2, olddfd, oldname, newdfd, newname, RENAME_NOREPLACE);
#else
  errno = ENOSYS;
  return -1;
#endif
}

/* Removes @name beneath @dfd, recursively, never following a symlink. */
static gboolean
remove_at (int dfd, const char *name, const char *what, GError **error)
{
  if (unlinkat (dfd, name, 0) == 0 || errno == ENOENT)
    return TRUE;
  if (errno != EISDIR && errno != EPERM)
    return set_errno_error (error, errno, what, "cannot remove");

  g_auto (SafeFd) sub = openat (dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (sub < 0)
    {
      if (errno == ENOENT)
        return TRUE;
      return set_errno_error (error, errno, what, "cannot open directory");
    }
  int dup_fd = dup (sub);
  if (dup_fd < 0)
    return set_errno_error (error, errno, what, "dup failed");
  DIR *d = fdopendir (dup_fd);
  if (d == NULL)
    {
      close_fd (dup_fd);
      return set_errno_error (error, errno, what, "cannot read directory");
    }
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
      g_ptr_array_add (names, g_strdup (de->d_name));
  closedir (d);
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *child = g_build_filename (what, names->pdata[i], NULL);
      if (!remove_at (sub, names->pdata[i], child, error))
        return FALSE;
    }
  if (unlinkat (dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
    return set_errno_error (error, errno, what, "cannot remove directory");
  return TRUE;
}

/**
 * gp_safeio_temp_path_for:
 * @path: a final file name
 *
 * Returns: (transfer full): the temporary name graphpipe writes @path
 *   under: `<dir>/.<base>.gp-tmp`; free with g_free().
 */
char *
gp_safeio_temp_path_for (const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *tmp = g_strconcat (".", base, GP_SAFEIO_TEMP_SUFFIX, NULL);
  return g_build_filename (dir, tmp, NULL);
}

/**
 * gp_safeio_is_temp_name:
 * @name: a directory entry name (no `/`)
 *
 * Returns: %TRUE if @name is one of graphpipe's temporary names.
 */
gboolean
gp_safeio_is_temp_name (const char *name)
{
  gsize n = strlen (name);
  gsize s = strlen (GP_SAFEIO_TEMP_SUFFIX);
  return n > s + 1 && name[0] == '.' && strcmp (name + n - s, GP_SAFEIO_TEMP_SUFFIX) == 0;
}

struct _GpSafeDir {
  int fd;
  char *path;
  gboolean have_dev;
  dev_t dev;
  gint noted_gen;   /* defer_gen when its file system was last noted */
};

struct _GpSafeFile {
  char *path;       /* final name, for messages */
  char *dir;        /* its directory */
  char *name;       /* final name, relative to dfd */
  char *tmp_name;   /* name written, relative to dfd (== name for GP_SAFE_DIRECT) */
  GpSafeDir *in;    /* (nullable): the borrowed directory dfd belongs to */
  int dfd;          /* owned unless @in is set */
  int fd;
  GpSafeFlags flags;
  guint64 written;
  gboolean done;    /* committed or aborted */
};

/* Remembers @dir's file system for the syncfs at the end, with no system
 * call when it did so since the last flush. */
static void
dir_note (GpSafeDir *dir)
{
  gint gen = g_atomic_int_get (&defer_gen);
  if (dir->noted_gen == gen)
    return;
  if (!dir->have_dev)
    {
      struct stat st;
      if (fstat (dir->fd, &st) < 0)
        return;
      dir->dev = st.st_dev;
      dir->have_dev = TRUE;
    }
  defer_note_dev (dir->fd, dir->dev);
  dir->noted_gen = gen;
}

/**
 * gp_safe_dir_open:
 * @path: a directory
 * @error: return location for a #GError
 *
 * Opens @path for writing files beneath it with gp_safe_file_new_in(),
 * gp_safeio_write_file_in() and gp_safeio_link_in(): one descriptor for
 * many files, and under deferral one note of its file system, where
 * gp_safe_file_new() opens the directory, and notes it, for each file.
 * A #GpSafeDir is used by one thread at a time and must outlive the files
 * written in it.
 *
 * Returns: (transfer full) (nullable): the directory; free with
 *   gp_safe_dir_free().
 */
GpSafeDir *
gp_safe_dir_open (const char *path, GError **error)
{
  int fd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    {
      set_errno_error (error, errno, path, "cannot open directory");
      return NULL;
    }
  GpSafeDir *dir = g_new0 (GpSafeDir, 1);
  dir->fd = fd;
  dir->path = g_strdup (path);
  return dir;
}

/**
 * gp_safe_dir_get_fd:
 * @dir: a directory
 *
 * Returns: its descriptor (owned by @dir).
 */
int
gp_safe_dir_get_fd (GpSafeDir *dir)
{
  return dir->fd;
}

/**
 * gp_safe_dir_get_path:
 * @dir: a directory
 *
 * Returns: (transfer none): the path it was opened with.
 */
const char *
gp_safe_dir_get_path (GpSafeDir *dir)
{
  return dir->path;
}

/**
 * gp_safe_dir_free:
 * @dir: (nullable): a directory
 *
 * Closes and frees it.
 */
void
gp_safe_dir_free (GpSafeDir *dir)
{
  if (dir == NULL)
    return;
  close_fd (dir->fd);
  g_free (dir->path);
  g_free (dir);
}

static gboolean
split_path (const char *path, char **out_dir, char **out_base, GError **error)
{
  g_autofree char *base = g_path_get_basename (path);
  if (*path == '\0' || g_str_has_suffix (path, "/") || strcmp (base, ".") == 0 || strcmp (base, "..") == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_FILENAME, "%s: not a file name", path);
      return FALSE;
    }
  *out_dir = g_path_get_dirname (path);
  *out_base = g_steal_pointer (&base);
  return TRUE;
}

static gboolean umask_keeps (guint mode);

/* The temporary of @rel (a name relative to a directory, maybe through
 * subdirectories): `.<base>.gp-tmp` beside it. */
static char *
temp_name_for (const char *rel)
{
  const char *slash = strrchr (rel, '/');
  if (slash == NULL)
    return g_strconcat (".", rel, GP_SAFEIO_TEMP_SUFFIX, NULL);
  return g_strdup_printf ("%.*s/.%s%s", (int) (slash - rel), rel, slash + 1, GP_SAFEIO_TEMP_SUFFIX);
}

/* Creates the writer of @rel beneath @dfd (owned by the result unless
 * @in is given); takes @shown_dir and @path. */
static GpSafeFile *
safe_file_create (GpSafeDir *in, int dfd, char *shown_dir, const char *rel, char *path, guint mode,
                  GpSafeFlags flags, GError **error)
{
  g_autofree char *dir = shown_dir;
  g_autofree char *final_path = path;
  g_autofree char *tmp = (flags & GP_SAFE_DIRECT) ? g_strdup (rel) : temp_name_for (rel);
  int oflags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  /* Under deferral the umask is known without a system call: a mode it
   * keeps whole is given to open() and needs no fchmod(). */
  gboolean chmod_after = !(deferring () && umask_keeps (mode & 07777));
  guint create_mode = chmod_after ? 0600 : (mode & 0777);
  int fd = openat (dfd, tmp, oflags, create_mode);
  if (fd < 0 && errno == EEXIST && !(flags & GP_SAFE_DIRECT))
    {
      g_autofree char *tmp_path = g_build_filename (dir, tmp, NULL);
      if (!remove_at (dfd, tmp, tmp_path, error))
        return NULL;
      fd = openat (dfd, tmp, oflags, create_mode);
    }
  if (fd < 0)
    {
      g_autofree char *tmp_path = g_build_filename (dir, strrchr (tmp, '/') ? strrchr (tmp, '/') + 1 : tmp, NULL);
      set_errno_error (error, errno, tmp_path, "cannot create");
      return NULL;
    }
  if (chmod_after && fchmod (fd, mode & 07777) < 0)
    {
      int errsv = errno;
      close (fd);
      unlinkat (dfd, tmp, 0);
      set_errno_error (error, errsv, final_path, "cannot set mode");
      return NULL;
    }

  GpSafeFile *f = g_new0 (GpSafeFile, 1);
  f->path = g_steal_pointer (&final_path);
  f->dir = g_steal_pointer (&dir);
  f->name = g_strdup (rel);
  f->tmp_name = g_steal_pointer (&tmp);
  f->in = in;
  f->dfd = dfd;
  f->fd = fd;
  f->flags = flags;
  gp_safeio_crash_point ("safeio: temporary created");
  return f;
}

/**
 * gp_safe_file_new:
 * @path: the final file name
 * @mode: its exact permission bits (e.g. 0644); the umask does not apply
 * @flags: #GpSafeFlags
 * @error: return location for a #GError
 *
 * Starts writing @path.  The bytes go to `.<name>.gp-tmp` beside it (or to
 * @path itself with %GP_SAFE_DIRECT), created with O_EXCL|O_NOFOLLOW; a stale
 * temporary left by a killed run is removed first.  Nothing appears under
 * @path before gp_safe_file_commit().  Freeing the object without a commit
 * removes what was written.
 *
 * Returns: (transfer full) (nullable): the writer; free with
 *   gp_safe_file_free().  %NULL with @error (a %G_IO_ERROR naming the path).
 */
GpSafeFile *
gp_safe_file_new (const char *path, guint mode, GpSafeFlags flags, GError **error)
{
  g_autofree char *dir = NULL;
  g_autofree char *base = NULL;
  if (!split_path (path, &dir, &base, error))
    return NULL;

  g_auto (SafeFd) dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    {
      set_errno_error (error, errno, dir, "cannot open directory");
      return NULL;
    }
  GpSafeFile *f = safe_file_create (NULL, dfd, g_steal_pointer (&dir), base, g_strdup (path), mode, flags,
                                    error);
  if (f != NULL)
    dfd = -1;
  return f;
}

/**
 * gp_safe_file_new_in:
 * @dir: the directory, opened with gp_safe_dir_open()
 * @name: the final name in @dir; it may go through subdirectories of
 *   @dir on the same file system (`sub/name`)
 * @mode: its exact permission bits
 * @flags: #GpSafeFlags
 * @error: return location for a #GError
 *
 * gp_safe_file_new() of `<dir>/<name>`, through @dir's descriptor.
 *
 * Returns: (transfer full) (nullable): the writer; free with
 *   gp_safe_file_free() before @dir.
 */
GpSafeFile *
gp_safe_file_new_in (GpSafeDir *dir, const char *name, guint mode, GpSafeFlags flags, GError **error)
{
  g_autofree char *path = g_build_filename (dir->path, name, NULL);
  g_autofree char *sub = NULL;
  g_autofree char *base = NULL;
  if (!split_path (name, &sub, &base, error))
    return NULL;
  char *shown_dir = strcmp (sub, ".") == 0 ? g_strdup (dir->path) : g_build_filename (dir->path, sub, NULL);
  g_autofree char *rel = strcmp (sub, ".") == 0 ? g_strdup (base) : g_build_filename (sub, base, NULL);
  return safe_file_create (dir, dir->fd, shown_dir, rel, g_steal_pointer (&path), mode, flags, error);
}

/**
 * gp_safe_file_get_fd:
 * @file: a #GpSafeFile
 *
 * Returns: the descriptor being written (owned by @file; do not close it),
 *   or -1 after commit/abort.
 */
int
gp_safe_file_get_fd (GpSafeFile *file)
{
  return file->fd;
}

/**
 * gp_safe_file_get_path:
 * @file: a #GpSafeFile
 *
 * Returns: (transfer none): the final path.
 */
const char *
gp_safe_file_get_path (GpSafeFile *file)
{
  return file->path;
}

/**
 * gp_safe_file_get_written:
 * @file: a #GpSafeFile
 *
 * Returns: the number of bytes passed to gp_safe_file_write() so far.
 */
guint64
gp_safe_file_get_written (GpSafeFile *file)
{
  return file->written;
}

/**
 * gp_safe_file_write:
 * @file: (type GpSafeFile): the writer
 * @buf: bytes
 * @len: their number
 * @error: return location for a #GError
 *
 * Appends bytes.  Has the #GpWriteFunc signature, so `gp_safe_file_write`
 * with the file as user data can be handed to any producer.
 *
 * Returns: %TRUE on success.
 */
gboolean
gp_safe_file_write (gpointer file, const void *buf, gsize len, GError **error)
{
  GpSafeFile *f = file;

  if (f->fd < 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED, "%s: already committed or aborted", f->path);
      return FALSE;
    }
  if (!write_all (f->fd, buf, len, f->path, error))
    return FALSE;
  f->written += len;
  return TRUE;
}

/* Whether renameat2(RENAME_NOREPLACE) works here (cleared the first time
 * it does not). */
static gint noreplace_works = TRUE;

/* Under deferral: notes the file system of @f's directory. */
static void
safe_file_note (GpSafeFile *f)
{
  if (f->in != NULL)
    dir_note (f->in);
  else
    defer_note (f->dfd);
}

/* fsync of the directory @f's name is in. */
static gboolean
safe_file_sync_dir (GpSafeFile *f, GError **error)
{
  const char *slash = strrchr (f->name, '/');
  if (slash == NULL)
    return fsync_fd_dir (f->dfd, f->dir, error);
  g_autofree char *sub = g_strndup (f->name, (gsize) (slash - f->name));
  g_auto (SafeFd) sfd = openat (f->dfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (sfd < 0)
    return set_errno_error (error, errno, f->dir, "cannot open directory");
  return fsync_fd_dir (sfd, f->dir, error);
}

/* fsync of @f's temporary, already closed; on failure it is removed. */
static gboolean
sync_temp (GpSafeFile *f, GError **error)
{
  int fd = openat (f->dfd, f->tmp_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  int errsv = 0;
  if (fd < 0 || fsync (fd) < 0)
    errsv = errno;
  close_fd (fd);
  if (errsv != 0)
    {
      gp_safe_file_abort (f);
      return set_errno_error (error, errsv, f->path, "cannot sync");
    }
  return TRUE;
}

/**
 * gp_safe_file_commit:
 * @file: the writer
 * @error: return location for a #GError
 *
 * fsyncs the file, renames it to its final name (replacing a file or a
 * symlink there, never writing through it) and fsyncs the directory.
 * With %GP_SAFE_NO_REPLACE an existing final name makes this fail with
 * %G_IO_ERROR_EXISTS and the temporary is removed.  On any failure the
 * temporary is removed.
 *
 * Returns: %TRUE when the complete file is durably in place.
 */
gboolean
gp_safe_file_commit (GpSafeFile *file, GError **error)
{
  GpSafeFile *f = file;

  if (f->done || f->fd < 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED, "%s: already committed or aborted", f->path);
      return FALSE;
    }
  /* Under deferral a new name is not fsync'ed here; one that replaces a
   * file is (the old content must survive a crash).  Whether the name is
   * new, renameat2(RENAME_NOREPLACE) tells below, in the rename itself;
   * where it does not work, a stat first. */
  struct stat st;
  gboolean defer = deferring () && !(f->flags & GP_SAFE_SYNC);
  gboolean try_new = defer && !(f->flags & GP_SAFE_DIRECT) && g_atomic_int_get (&noreplace_works);
  if (defer && !(f->flags & GP_SAFE_DIRECT) && !try_new)
    defer = fstatat (f->dfd, f->name, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT;
  if (defer && !defer_enter (error))
    {
      gp_safe_file_abort (f);
      return FALSE;
    }
  if (!defer && fsync (f->fd) < 0)
    {
      int errsv = errno;
      gp_safe_file_abort (f);
      return set_errno_error (error, errsv, f->path, "cannot sync");
    }
  gp_safeio_crash_point ("safeio: file synced");
  int fd = f->fd;
  f->fd = -1;
  if (close (fd) < 0)
    {
      int errsv = errno;
      gp_safe_file_abort (f);
      return set_errno_error (error, errsv, f->path, "close failed");
    }
  if (f->flags & GP_SAFE_DIRECT)
    {
      f->done = TRUE;
      if (defer)
        safe_file_note (f);
      return TRUE;
    }

  int r;
  if (try_new)
    {
      r = rename_noreplace (f->dfd, f->tmp_name, f->dfd, f->name);
      if (r == 0)
        {
          f->done = TRUE;
          gp_safeio_crash_point ("safeio: file renamed");
          safe_file_note (f);
          return TRUE;
        }
      int errsv = errno;
      if (errsv == ENOSYS || errsv == EINVAL)
        {
          g_atomic_int_set (&noreplace_works, FALSE);
          defer = fstatat (f->dfd, f->name, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT;
        }
      else if (errsv == EEXIST && !(f->flags & GP_SAFE_NO_REPLACE))
        defer = FALSE;
      else
        {
          gp_safe_file_abort (f);
          return set_errno_error (error, errsv, f->path, "cannot rename into place");
        }
      /* The name exists: it is replaced the careful way, the new content
       * synced first. */
      if (!defer && !sync_temp (f, error))
        return FALSE;
    }
  if (f->flags & GP_SAFE_NO_REPLACE)
    {
      r = rename_noreplace (f->dfd, f->tmp_name, f->dfd, f->name);
      if (r < 0 && (errno == ENOSYS || errno == EINVAL))
        {
          /* No RENAME_NOREPLACE here: link() never replaces either. */
          r = linkat (f->dfd, f->tmp_name, f->dfd, f->name, 0);
          if (r == 0)
            unlinkat (f->dfd, f->tmp_name, 0);
        }
    }
  else
    r = renameat (f->dfd, f->tmp_name, f->dfd, f->name);
  if (r < 0)
    {
      int errsv = errno;
      gp_safe_file_abort (f);
      return set_errno_error (error, errsv, f->path, "cannot rename into place");
    }
  f->done = TRUE;
  gp_safeio_crash_point ("safeio: file renamed");
  if (defer)
    {
      safe_file_note (f);
      return TRUE;
    }
  return safe_file_sync_dir (f, error);
}

/**
 * gp_safe_file_abort:
 * @file: the writer
 *
 * Closes and removes what was written.  Nothing changes under the final
 * name.  Does nothing after a commit.
 */
void
gp_safe_file_abort (GpSafeFile *file)
{
  if (file->done)
    return;
  file->done = TRUE;
  close_fd (file->fd);
  file->fd = -1;
  unlinkat (file->dfd, file->tmp_name, 0);
}

/**
 * gp_safe_file_free:
 * @file: (nullable): the writer
 *
 * Aborts it unless committed, and frees it.
 */
void
gp_safe_file_free (GpSafeFile *file)
{
  if (file == NULL)
    return;
  gp_safe_file_abort (file);
  if (file->in == NULL)
    close_fd (file->dfd);
  g_free (file->path);
  g_free (file->dir);
  g_free (file->name);
  g_free (file->tmp_name);
  g_free (file);
}

/**
 * gp_safeio_write_file:
 * @path: the final file name
 * @data: the bytes
 * @len: their number
 * @mode: exact permission bits
 * @flags: #GpSafeFlags
 * @error: return location for a #GError
 *
 * Writes a whole file durably (temp, fsync, fchmod, rename, fsync dir).
 *
 * Returns: %TRUE on success.
 */
gboolean
gp_safeio_write_file (const char *path, const void *data, gsize len, guint mode, GpSafeFlags flags,
                      GError **error)
{
  g_autoptr (GpSafeFile) f = gp_safe_file_new (path, mode, flags, error);
  if (f == NULL)
    return FALSE;
  if (!gp_safe_file_write (f, data, len, error))
    return FALSE;
  return gp_safe_file_commit (f, error);
}

/**
 * gp_safeio_write_file_in:
 * @dir: the directory, opened with gp_safe_dir_open()
 * @name: the final name in @dir (see gp_safe_file_new_in())
 * @data: the bytes
 * @len: their number
 * @mode: exact permission bits
 * @flags: #GpSafeFlags
 * @error: return location for a #GError
 *
 * gp_safeio_write_file() of `<dir>/<name>`, through @dir's descriptor.
 *
 * Returns: %TRUE on success.
 */
gboolean
gp_safeio_write_file_in (GpSafeDir *dir, const char *name, const void *data, gsize len, guint mode,
                         GpSafeFlags flags, GError **error)
{
  g_autoptr (GpSafeFile) f = gp_safe_file_new_in (dir, name, mode, flags, error);
  if (f == NULL)
    return FALSE;
  if (!gp_safe_file_write (f, data, len, error))
    return FALSE;
  return gp_safe_file_commit (f, error);
}

/* Opens @path for reading if it is a regular file, and fstats it into
 * @st.  O_NONBLOCK keeps a FIFO from blocking the open; it is left set,
 * as reads of a regular file ignore it. */
static int
open_regular_stat (const char *path, struct stat *st, GError **error)
{
  int fd = open (path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0)
    {
      if (errno == ELOOP)
        g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_NOT_REGULAR, "%s: is a symbolic link", path);
      else
        set_errno_error (error, errno, path, "cannot open");
      return -1;
    }
  if (fstat (fd, st) < 0)
    {
      set_errno_error (error, errno, path, "cannot stat");
      close_fd (fd);
      return -1;
    }
  if (!S_ISREG (st->st_mode))
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_NOT_REGULAR, "%s: not a regular file", path);
      close_fd (fd);
      return -1;
    }
  return fd;
}

static int
open_regular (const char *path, GError **error)
{
  struct stat st;
  return open_regular_stat (path, &st, error);
}

/**
 * gp_safeio_copy_file:
 * @src: a regular file (a symlink is refused)
 * @dest: the final name
 * @mode: exact permission bits of @dest
 * @flags: #GpSafeFlags for @dest
 * @error: return location for a #GError
 *
 * Copies @src to @dest in bounded chunks, durably.
 *
 * Returns: %TRUE on success.
 */
gboolean
gp_safeio_copy_file (const char *src, const char *dest, guint mode, GpSafeFlags flags, GError **error)
{
  g_auto (SafeFd) in = open_regular (src, error);
  if (in < 0)
    return FALSE;
  g_autoptr (GpSafeFile) f = gp_safe_file_new (dest, mode, flags, error);
  if (f == NULL)
    return FALSE;
  g_autofree guint8 *buf = g_malloc (COPY_CHUNK);
  for (;;)
    {
      ssize_t n = read (in, buf, COPY_CHUNK);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return set_errno_error (error, errno, src, "read failed");
        }
      if (n == 0)
        break;
      if (!gp_safe_file_write (f, buf, (gsize) n, error))
        return FALSE;
    }
  return gp_safe_file_commit (f, error);
}

/**
 * gp_safeio_read_file:
 * @path: a regular file
 * @max_size: refuse files larger than this
 * @out_len: (out) (optional): the length read
 * @error: return location for a #GError
 *
 * Reads a small file whole.  A symlink at @path, a FIFO, a device or a
 * directory is refused with %GP_DATA_ERROR_NOT_REGULAR (a FIFO never
 * blocks), a larger file with %GP_DATA_ERROR_SIZE; a missing one gives
 * %G_IO_ERROR_NOT_FOUND.
 *
 * Returns: (transfer full) (nullable): the bytes plus a NUL; free with
 *   g_free().
 */
char *
gp_safeio_read_file (const char *path, gsize max_size, gsize *out_len, GError **error)
{
  struct stat st;
  g_auto (SafeFd) fd = open_regular_stat (path, &st, error);
  if (fd < 0)
    return NULL;
  /* Room for the whole file as fstat saw it plus one byte, so that one
   * short read normally ends it; the buffer grows if the file does. */
  gsize limit = max_size < G_MAXSIZE - 1 ? max_size + 1 : max_size;
  gsize cap = st.st_size > 0 && (guint64) st.st_size < limit ? (gsize) st.st_size + 1 : MIN (limit, 16384);
  gsize len = 0;
  g_autofree char *buf = g_malloc (cap + 1);
  for (;;)
    {
      if (len == cap)
        {
          cap = cap <= limit / 2 ? cap * 2 : limit;
          buf = g_realloc (buf, cap + 1);
        }
      gsize want = cap - len;
      ssize_t n = read (fd, buf + len, want);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          set_errno_error (error, errno, path, "read failed");
          return NULL;
        }
      if (n == 0)
        break;
      len += (gsize) n;
      if (len > max_size)
        {
          g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_SIZE,
                       "%s: larger than %" G_GSIZE_FORMAT " bytes", path, max_size);
          return NULL;
        }
      /* A short read that brings the file to its fstat size is its end. */
      if ((gsize) n < want && st.st_size > 0 && len == (gsize) st.st_size)
        break;
    }
  if (out_len)
    *out_len = len;
  buf[len] = '\0';
  return g_steal_pointer (&buf);
}

/**
 * gp_safeio_fsync_dir:
 * @dir: a directory
 * @error: return location for a #GError
 *
 * Flushes a directory's entries to disk.
 *
 * Returns: %TRUE on success.
 */
gboolean
gp_safeio_fsync_dir (const char *dir, GError **error)
{
  g_auto (SafeFd) dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return set_errno_error (error, errno, dir, "cannot open directory");
  return fsync_fd_dir (dfd, dir, error);
}

static gboolean
set_dir_mode (const char *path, guint mode, GError **error)
{
  g_auto (SafeFd) fd = open (path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return set_errno_error (error, errno, path, "cannot open directory");
  if (fchmod (fd, mode & 07777) < 0)
    return set_errno_error (error, errno, path, "cannot set mode");
  return TRUE;
}

/* The process's umask, read without changing it (/proc/self/status);
 * 0777 when unknown, so that callers take the careful way.  It can
 * change at any time (a program using the library may set it), so it is
 * read every time, but through a descriptor kept open: one pread() where
 * opening, reading and closing the file were five system calls per
 * directory made.  A forked child opens its own (the kept one shows the
 * parent). */
static gint umask_fd = -1;

static void
umask_fd_after_fork (void)
{
  int fd = umask_fd;
  umask_fd = -1;
  if (fd >= 0)
    close (fd);
}

static guint read_umask (void);

/* The umask: read every time, except under deferral, where the first read
 * holds until the end (see gp_safeio_defer_begin()). */
static guint
current_umask (void)
{
  if (!deferring ())
    return read_umask ();
  gint u = g_atomic_int_get (&defer_umask);
  if (u < 0)
    {
      u = (gint) read_umask ();
      g_atomic_int_set (&defer_umask, u);
    }
  return (guint) u;
}

/* Whether a file or directory created with @mode keeps it whole under
 * the current umask, so that no fchmod() is needed after the create. */
static gboolean
umask_keeps (guint mode)
{
  return (mode & 07000) == 0 && (mode & ~current_umask () & 0777) == (mode & 0777);
}

static guint
read_umask (void)
{
  int fd = g_atomic_int_get (&umask_fd);
  if (fd < 0)
    {
      static gsize registered = 0;
      if (g_once_init_enter (&registered))
        {
          (void) pthread_atfork (NULL, NULL, umask_fd_after_fork);
          g_once_init_leave (&registered, 1);
        }
      int nfd = open ("/proc/self/status", O_RDONLY | O_CLOEXEC);
      if (nfd < 0)
        return 0777;
      if (!g_atomic_int_compare_and_exchange (&umask_fd, -1, nfd))
        close (nfd);
      fd = g_atomic_int_get (&umask_fd);
    }
  /* "Umask:" is the second line, after the (short) name */
  char buf[512];
  ssize_t n;
  do
    n = pread (fd, buf, sizeof buf - 1, 0);
  while (n < 0 && errno == EINTR);
  if (n <= 0)
    return 0777;
  buf[n] = '\0';
  const char *p = strstr (buf, "\nUmask:");
  if (p == NULL)
    return 0777;
  return (guint) g_ascii_strtoull (p + 7, NULL, 8) & 0777;
}

static GMutex mkdir_lock;

/* Creates @path with exactly @mode, atomically: a directory that exists
 * under its final name already has its final mode, even if the process is
 * killed in between (a rerun leaves existing directories as they are).
 * When the umask keeps all of @mode, mkdir() alone does it; otherwise the
 * directory is made as `.<name>.gp-tmp`, chmod'ed and renamed into place
 * (a stale temporary of a killed run is removed first). */
static gboolean
mkdir_exact (const char *path, guint mode, GError **error)
{
  mode &= 07777;
  if (umask_keeps (mode))
    {
      if (mkdir (path, mode) < 0)
        return set_errno_error (error, errno, path, "cannot create directory");
      return TRUE;
    }

  g_mutex_lock (&mkdir_lock);
  g_autofree char *tmp = gp_safeio_temp_path_for (path);
  gboolean ok = remove_at (AT_FDCWD, tmp, tmp, error);
  if (ok && mkdir (tmp, 0700) < 0)
    ok = set_errno_error (error, errno, path, "cannot create directory");
  else if (ok && !set_dir_mode (tmp, mode, error))
    {
      rmdir (tmp);
      ok = FALSE;
    }
  else if (ok && rename_noreplace (AT_FDCWD, tmp, AT_FDCWD, path) < 0)
    {
      int errsv = errno;
      if ((errsv == ENOSYS || errsv == EINVAL) && rename (tmp, path) == 0)
        errsv = 0; /* (no RENAME_NOREPLACE: an empty directory there is replaced) */
      if (errsv != 0)
        {
          rmdir (tmp);
          errno = errsv;
          ok = set_errno_error (error, errsv, path, "cannot create directory");
        }
    }
  g_mutex_unlock (&mkdir_lock);
  return ok;
}

/**
 * gp_safeio_mkdir_p:
 * @path: a directory
 * @mode: exact permission bits of every component created
 * @error: return location for a #GError
 *
 * Like `mkdir -p`, except that each directory it creates gets exactly
 * @mode whatever the umask, already under its final name (a run killed at
 * any point never leaves a directory with another mode), and its parent
 * is fsync'ed.  Existing directories (also reached through symlinks) are
 * left as they are; an existing non-directory is an error
 * (%G_IO_ERROR_NOT_DIRECTORY).
 *
 * Returns: %TRUE when @path is a directory.
 */
gboolean
gp_safeio_mkdir_p (const char *path, guint mode, GError **error)
{
  struct stat st;

  if (stat (path, &st) == 0)
    {
      if (S_ISDIR (st.st_mode))
        return TRUE;
      return set_errno_error (error, ENOTDIR, path, "cannot create directory");
    }
  if (errno != ENOENT)
    return set_errno_error (error, errno, path, "cannot stat");

  g_autofree char *parent = g_path_get_dirname (path);
  if (strcmp (parent, path) != 0 && !gp_safeio_mkdir_p (parent, mode, error))
    return FALSE;
  g_autoptr (GError) local = NULL;
  if (!mkdir_exact (path, mode, &local))
    {
      if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_EXISTS) && stat (path, &st) == 0 && S_ISDIR (st.st_mode))
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  gp_safeio_crash_point ("safeio: directory created");
  return sync_dir_path (parent, error);
}

/**
 * gp_safeio_mkdir_in:
 * @dir: the parent, opened with gp_safe_dir_open()
 * @name: the directory to make in @dir (one component)
 * @mode: its exact permission bits
 * @out_created: (out) (optional): whether it was made now
 * @error: return location for a #GError
 *
 * gp_safeio_mkdir_p() of `<dir>/<name>` whose parent exists: one mkdirat()
 * through @dir's descriptor when the umask keeps @mode whole (and the
 * parent is synced, or noted under deferral, through it too).
 *
 * Returns: %TRUE when `<dir>/<name>` is a directory.
 */
gboolean
gp_safeio_mkdir_in (GpSafeDir *dir, const char *name, guint mode, gboolean *out_created, GError **error)
{
  g_autofree char *path = g_build_filename (dir->path, name, NULL);
  if (out_created)
    *out_created = FALSE;
  if (!umask_keeps (mode & 07777))
    {
      struct stat st;
      gboolean existed = fstatat (dir->fd, name, &st, 0) == 0 && S_ISDIR (st.st_mode);
      if (!gp_safeio_mkdir_p (path, mode, error))
        return FALSE;
      if (out_created)
        *out_created = !existed;
      return TRUE;
    }
  if (mkdirat (dir->fd, name, mode & 0777) < 0)
    {
      int errsv = errno;
      struct stat st;
      if (errsv == EEXIST && fstatat (dir->fd, name, &st, 0) == 0 && S_ISDIR (st.st_mode))
        return TRUE;
      if (errsv == EEXIST)
        errsv = ENOTDIR;
      return set_errno_error (error, errsv, path, "cannot create directory");
    }
  if (out_created)
    *out_created = TRUE;
  gp_safeio_crash_point ("safeio: directory created");
  if (deferring ())
    {
      dir_note (dir);
      return TRUE;
    }
  return fsync_fd_dir (dir->fd, dir->path, error);
}

/**
 * gp_safeio_make_temp_dir:
 * @parent: an existing directory
 * @prefix: name prefix, e.g. `layer-`
 * @mode: exact permission bits
 * @out_path: (out) (transfer full): the new directory; free with g_free()
 * @error: return location for a #GError
 *
 * Creates a fresh directory `<parent>/<prefix><16 random hex>`.  It is meant
 * to be filled and then published with gp_safeio_publish_dir(); stale ones
 * are removed with gp_safeio_clean_stale() given @prefix.
 *
 * Returns: %TRUE on success.
 */
gboolean
gp_safeio_make_temp_dir (const char *parent, const char *prefix, guint mode, char **out_path,
                         GError **error)
{
  for (int attempt = 0; attempt < 100; attempt++)
    {
      g_autofree char *name = g_strdup_printf ("%s%08x%08x", prefix, g_random_int (), g_random_int ());
      g_autofree char *path = g_build_filename (parent, name, NULL);
      /* A mode the umask keeps whole is given to mkdir() alone. */
      gboolean exact = umask_keeps (mode & 07777);
      if (mkdir (path, exact ? (mode & 0777) : 0700) < 0)
        {
          if (errno == EEXIST)
            continue;
          return set_errno_error (error, errno, path, "cannot create directory");
        }
      if (!exact && !set_dir_mode (path, mode, error))
        {
          rmdir (path);
          return FALSE;
        }
      *out_path = g_steal_pointer (&path);
      gp_safeio_crash_point ("safeio: temporary directory created");
      return TRUE;
    }
  return set_errno_error (error, EEXIST, parent, "cannot create a temporary directory");
}

/**
 * gp_safeio_publish_dir:
 * @tmp_dir: a filled directory (its files already fsync'ed)
 * @final_path: its final name, on the same file system
 * @out_existed: (out) (optional): set to %TRUE if @final_path existed
 * @error: return location for a #GError
 *
 * fsyncs @tmp_dir and renames it to @final_path without ever replacing
 * anything there, then fsyncs both parents.  If @final_path exists already
 * (another writer was first), @tmp_dir is removed, @out_existed is set and
 * the call succeeds: the caller reuses the existing record.
 *
 * Returns: %TRUE if @final_path now holds a complete directory.
 */
gboolean
gp_safeio_publish_dir (const char *tmp_dir, const char *final_path, gboolean *out_existed, GError **error)
{
  if (out_existed)
    *out_existed = FALSE;
  if (deferring () && !defer_enter (error))
    return FALSE;
  if (!sync_dir_path (tmp_dir, error))
    return FALSE;
  gp_safeio_crash_point ("safeio: directory about to be published");

  gboolean existed = FALSE;
  if (rename_noreplace (AT_FDCWD, tmp_dir, AT_FDCWD, final_path) < 0)
    {
      int errsv = errno;
      if (errsv == ENOSYS || errsv == EINVAL)
        {
          struct stat st;
          if (lstat (final_path, &st) == 0)
            existed = TRUE;
          else if (rename (tmp_dir, final_path) < 0)
            {
              errsv = errno;
              if (errsv == EEXIST || errsv == ENOTEMPTY)
                existed = TRUE;
              else
                return set_errno_error (error, errsv, final_path, "cannot rename into place");
            }
        }
      else if (errsv == EEXIST || errsv == ENOTEMPTY)
        existed = TRUE;
      else
        return set_errno_error (error, errsv, final_path, "cannot rename into place");
    }

  gp_safeio_crash_point ("safeio: directory published");
  g_autofree char *tmp_parent = g_path_get_dirname (tmp_dir);
  if (existed)
    {
      if (!gp_safeio_remove_tree (tmp_dir, error))
        return FALSE;
      if (out_existed)
        *out_existed = TRUE;
      return sync_dir_path (tmp_parent, error);
    }
  g_autofree char *final_parent = g_path_get_dirname (final_path);
  if (!sync_dir_path (final_parent, error))
    return FALSE;
  if (strcmp (tmp_parent, final_parent) != 0 && !sync_dir_path (tmp_parent, error))
    return FALSE;
  return TRUE;
}

/**
 * gp_safeio_publish_dir_in:
 * @tmp_dir: a filled directory, opened with gp_safe_dir_open()
 * @final_path: its final name, on the same file system
 * @out_existed: (out) (optional): set to %TRUE if @final_path existed
 * @error: return location for a #GError
 *
 * gp_safeio_publish_dir() of @tmp_dir's path, syncing it through its
 * descriptor (under deferral, the parents are on the file system @tmp_dir
 * noted: the rename succeeded).  @tmp_dir stays open, under its old path.
 *
 * Returns: %TRUE if @final_path now holds a complete directory.
 */
gboolean
gp_safeio_publish_dir_in (GpSafeDir *tmp_dir, const char *final_path, gboolean *out_existed,
                          GError **error)
{
  if (out_existed)
    *out_existed = FALSE;
  gboolean defer = deferring ();
  if (defer && !defer_enter (error))
    return FALSE;
  if (defer)
    dir_note (tmp_dir);
  else if (!fsync_fd_dir (tmp_dir->fd, tmp_dir->path, error))
    return FALSE;
  if (defer && !tmp_dir->have_dev)
    return gp_safeio_publish_dir (tmp_dir->path, final_path, out_existed, error);
  gp_safeio_crash_point ("safeio: directory about to be published");

  if (rename_noreplace (AT_FDCWD, tmp_dir->path, AT_FDCWD, final_path) == 0)
    {
      gp_safeio_crash_point ("safeio: directory published");
      if (defer)
        return TRUE;
      g_autofree char *tmp_parent = g_path_get_dirname (tmp_dir->path);
      g_autofree char *final_parent = g_path_get_dirname (final_path);
      if (!gp_safeio_fsync_dir (final_parent, error))
        return FALSE;
      return strcmp (tmp_parent, final_parent) == 0 || gp_safeio_fsync_dir (tmp_parent, error);
    }
  /* Anything else (the name exists, no RENAME_NOREPLACE): the path way. */
  return gp_safeio_publish_dir (tmp_dir->path, final_path, out_existed, error);
}

/**
 * gp_safeio_link_in:
 * @dir: the directory, opened with gp_safe_dir_open()
 * @src: an existing file
 * @name: the name in @dir to point at it
 * @error: return location for a #GError
 *
 * gp_safeio_link_replace() of `<dir>/<name>`: a new name is linked
 * directly (a link appears whole or not at all), an existing one is
 * replaced as gp_safeio_link_replace() does.
 *
 * Returns: %TRUE on success.
 */
gboolean
gp_safeio_link_in (GpSafeDir *dir, const char *src, const char *name, GError **error)
{
  gboolean defer = deferring ();
  if (defer && !defer_enter (error))
    return FALSE;
  if (linkat (AT_FDCWD, src, dir->fd, name, 0) == 0)
    {
      gp_safeio_crash_point ("safeio: hard link created");
      if (defer)
        {
          dir_note (dir);
          return TRUE;
        }
      return fsync_fd_dir (dir->fd, dir->path, error);
    }
  g_autofree char *dest = g_build_filename (dir->path, name, NULL);
  if (errno != EEXIST)
    return set_errno_error (error, errno, dest, "cannot create hard link");
  return gp_safeio_link_replace (src, dest, error);
}

/**
 * gp_safeio_link_replace:
 * @src: an existing file
 * @dest: the name to point at it
 * @error: return location for a #GError
 *
 * Makes @dest a hard link to @src, atomically replacing whatever @dest was
 * (a file, a symlink: never followed): link to `.<name>.gp-tmp`, rename,
 * fsync the directory.  If @dest is already a link to @src nothing changes.
 *
 * Returns: %TRUE on success.
 */
gboolean
gp_safeio_link_replace (const char *src, const char *dest, GError **error)
{
  struct stat s1, s2;
  g_autofree char *tmp = gp_safeio_temp_path_for (dest);
  g_autofree char *dir = g_path_get_dirname (dest);

  if (lstat (src, &s1) < 0)
    return set_errno_error (error, errno, src, "cannot stat");
  gboolean replacing = lstat (dest, &s2) == 0;
  if (replacing && s1.st_dev == s2.st_dev && s1.st_ino == s2.st_ino)
    return gp_safeio_discard_temp_for (dest, error);

  if (unlink (tmp) < 0 && errno != ENOENT)
    return set_errno_error (error, errno, tmp, "cannot remove stale temporary");
  if (!replacing && deferring () && !defer_enter (error))
    return FALSE;
  if (linkat (AT_FDCWD, src, AT_FDCWD, tmp, 0) < 0)
    return set_errno_error (error, errno, dest, "cannot create hard link");
  gp_safeio_crash_point ("safeio: hard link created");
  if (rename (tmp, dest) < 0)
    {
      int errsv = errno;
      unlink (tmp);
      return set_errno_error (error, errsv, dest, "cannot rename into place");
    }
  gp_safeio_crash_point ("safeio: hard link renamed");
  if (replacing)
    return gp_safeio_fsync_dir (dir, error);
  return sync_dir_path (dir, error);
}

/**
 * gp_safeio_remove_tree:
 * @path: a file or directory
 * @error: return location for a #GError
 *
 * `rm -rf` that never follows a symlink.  A missing @path is success.
 *
 * Returns: %TRUE on success.
 */
gboolean
gp_safeio_remove_tree (const char *path, GError **error)
{
  return remove_at (AT_FDCWD, path, path, error);
}

/**
 * gp_safeio_discard_temp_for:
 * @path: a final file name
 * @error: return location for a #GError
 *
 * Removes the stale temporary of @path, if any.  For writers that decide
 * not to rewrite @path (its content is right already).
 *
 * Returns: %TRUE on success.
 */
gboolean
gp_safeio_discard_temp_for (const char *path, GError **error)
{
  g_autofree char *tmp = gp_safeio_temp_path_for (path);
  return gp_safeio_remove_tree (tmp, error);
}

/**
 * gp_safeio_clean_stale:
 * @dir: a directory (missing is fine)
 * @extra_prefixes: (nullable) (array zero-terminated=1): also remove
 *   entries whose names start with one of these (e.g. `layer-`)
 * @error: return location for a #GError
 *
 * Removes the temporaries a killed run left in @dir: every
 * `.<name>.gp-tmp` entry and every entry with one of @extra_prefixes, files
 * or whole directories (symlinks are removed, never followed).  Not
 * recursive otherwise.  Must not run while another writer uses @dir.
 *
 * Returns: %TRUE on success.
 */
gboolean
gp_safeio_clean_stale (const char *dir, const char *const *extra_prefixes, GError **error)
{
  g_auto (SafeFd) dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    {
      if (errno == ENOENT)
        return TRUE;
      return set_errno_error (error, errno, dir, "cannot open directory");
    }
  g_auto (GStrv) names = gp_safeio_list_fd (dfd, dir, error);
  if (names == NULL)
    return FALSE;
  gboolean removed = FALSE;
  for (char **name = names; *name != NULL; name++)
    {
      gboolean stale = gp_safeio_is_temp_name (*name);
      for (const char *const *p = extra_prefixes; !stale && p && *p; p++)
        stale = g_str_has_prefix (*name, *p);
      if (!stale)
        continue;
      g_autofree char *what = g_build_filename (dir, *name, NULL);
      if (!remove_at (dfd, *name, what, error))
        return FALSE;
      removed = TRUE;
    }
  if (removed)
    return sync_dir_fd (dfd, dir, error);
  return TRUE;
}

/**
 * gp_safeio_list_fd:
 * @dfd: a directory descriptor, read from where it is
 * @display: the directory's name, for the error
 * @error: return location for a #GError
 *
 * The names in a directory, `.` and `..` left out, in directory order,
 * read with getdents64() on @dfd itself: for a small directory two
 * system calls, where opendir() adds a dup, an fstat and fcntls (which
 * were most of the calls when this ran once per layer directory of a
 * migration).
 *
 * Returns: (transfer full) (array zero-terminated=1): the names, or
 *   %NULL with @error set
 */
char **
gp_safeio_list_fd (int dfd, const char *display, GError **error)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *buf = g_malloc (DIRENT_BUFFER);
  for (;;)
    {
      ssize_t n = getdents64 (dfd, buf, DIRENT_BUFFER);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          set_errno_error (error, errno, display, "cannot read directory");
          return NULL;
        }
      if (n == 0)
        break;
      for (ssize_t off = 0; off < n;)
        {
          const struct dirent64 *de = (const struct dirent64 *) (buf + off);
          off += de->d_reclen;
          if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
            g_ptr_array_add (names, g_strdup (de->d_name));
        }
    }
  g_ptr_array_add (names, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&names), FALSE);
}
