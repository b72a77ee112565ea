/* The output file or stream of the save sinks (tar-export, oci-export).
 *
 * A file is written as an unnamed file in its target directory (O_TMPFILE)
 * and only given a name, a temporary one renamed over the target, when it
 * is complete and flushed to disk: a failed or killed save leaves nothing
 * (a kill between naming and renaming leaves `.<name>.<pid>-<random>.gp-tmp`,
 * which the next save to that name removes).  Where O_TMPFILE is not
 * available it is written under that temporary name, removed on failure.
 * The temporary name is this run's own and flocked until it is renamed:
 * concurrent saves to one name never remove or publish each other's
 * file; each publishes its own whole file.  Standard output is refused when it is a
 * terminal.  Bytes pass through a 1 MiB buffer, optionally through the
 * parallel gzip writer first.
 *
 * An uncompressed output that is a regular file (a file named with -o, or
 * standard output redirected to one, not in append mode) is "positioned":
 * every byte's offset is known in advance, so te_output_reserve() can set
 * aside a layer tar's span in the stream, which workers then fill in with
 * te_output_pwrite() from several threads while the rest of the stream
 * is written around it.
 */
#include "config.h"

#include "te-output.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include <glib/gstdio.h>

#define TE_OUTPUT_BUFFER (1024 * 1024)
/* Chunks at least this large are written from where they are. */
#define TE_OUTPUT_DIRECT (64 * 1024)

struct _TeOutput {
  char *path;     /* final path, NULL for standard output */
  char *dir;      /* its directory */
  char *base;     /* its base name */
  char *tmp_path; /* named temporary file, removed unless committed */
  gboolean unnamed; /* an O_TMPFILE file, linked in at commit */
  char *display;  /* for messages */
  int fd;
  gboolean owns_fd;
  guint8 *buf;
  gsize len;
  guint64 bytes; /* bytes given to te_output_write (the tar stream) */
  GpPgzip *gz;
  gboolean committed;
  gboolean positioned; /* a regular file written with pwrite() */
  guint64 start;       /* its offset when opened */
  int rfd;             /* for te_output_copy(): reads it; -1: not yet, -2: cannot */
  guint64 sink_pos;    /* sink offset of buf[0]: bytes written or reserved */

  /* Other sequential outputs (a pipe, say) with --jobs > 1: full buffers
   * are written by a writer thread, while the next one fills. */
  GThread *writer;
  GMutex lock;
  GCond cond;
  guint8 *other;       /* the second buffer */
  guint8 *pending;     /* handed to the writer; NULL when it is idle */
  gsize pending_len;
  gboolean stop;
  GError *write_error; /* the writer's failure, reported on the next call */
};

/**
 * te_output_check:
 * @output: a path or `-`
 * @check_tty: refuse standard output when it is a terminal
 * @error: return location for a #GError
 *
 * Checks, without writing anything, that @output can be written: standard
 * output must not be a terminal; a file's directory must exist and the
 * file must not be a directory.
 */
gboolean
te_output_check (const char *output, gboolean check_tty, GError **error)
{
  if (g_strcmp0 (output, "-") == 0)
    {
      if (check_tty && isatty (STDOUT_FILENO))
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                               "output: cowardly refusing to write a tar archive to a terminal; "
                               "use -o FILE or redirect standard output");
          return FALSE;
        }
      return TRUE;
    }

  g_autofree char *dir = g_path_get_dirname (output);
  struct stat st;
  if (stat (dir, &st) != 0 || !S_ISDIR (st.st_mode))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "%s: directory %s does not exist", output, dir);
      return FALSE;
    }
  if (stat (output, &st) == 0 && S_ISDIR (st.st_mode))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_IS_DIRECTORY, "%s: is a directory", output);
      return FALSE;
    }
  return TRUE;
}

/**
 * te_output_wants_gzip:
 * @output: a path or `-`
 * @compress: `none`, `gzip` or `auto`
 *
 * Returns: whether to compress: `gzip`, or `auto` and a name ending in
 *   `.gz` or `.tgz`.
 */
gboolean
te_output_wants_gzip (const char *output, const char *compress)
{
  if (g_strcmp0 (compress, "gzip") == 0)
    return TRUE;
  if (g_strcmp0 (compress, "auto") != 0 || g_strcmp0 (output, "-") == 0)
    return FALSE;
  return g_str_has_suffix (output, ".gz") || g_str_has_suffix (output, ".tgz");
}

/* Writes @len bytes at stream offset @pos (positioned outputs) or at the
 * file position. */
static gboolean
write_at (TeOutput *out, guint64 pos, const guint8 *p, gsize len, GError **error)
{
  gp_safeio_crash_write (out->fd, p, len); /* test hook */
  while (len > 0)
    {
      gsize k = MIN (len, (gsize) G_MAXSSIZE);
      ssize_t n = out->positioned ? pwrite (out->fd, p, k, (off_t) (out->start + pos))
                                  : write (out->fd, p, k);
      if (n < 0)
        {
          int errsv = errno;
          if (errsv == EINTR)
            continue;
          if (errsv == EAGAIN)
            {
              struct pollfd pfd = { .fd = out->fd, .events = POLLOUT };
              (void) poll (&pfd, 1, -1);
              continue;
            }
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
                       "%s: write failed: %s", out->display, g_strerror (errsv));
          return FALSE;
        }
      p += n;
      pos += (guint64) n;
      len -= (gsize) n;
    }
  return TRUE;
}

/* Writes @len bytes at the sink's position. */
static gboolean
write_all (TeOutput *out, const guint8 *p, gsize len, GError **error)
{
  guint64 pos = out->sink_pos;
  out->sink_pos += len;
  return write_at (out, pos, p, len, error);
}

static gpointer
writer_main (gpointer data)
{
  TeOutput *out = data;
  g_mutex_lock (&out->lock);
  for (;;)
    {
      while (out->pending == NULL && !out->stop)
        g_cond_wait (&out->cond, &out->lock);
      if (out->pending == NULL)
        break;
      guint8 *p = out->pending;
      gsize n = out->pending_len;
      g_mutex_unlock (&out->lock);
      GError *error = NULL;
      gboolean ok = out->write_error != NULL || write_all (out, p, n, &error);
      g_mutex_lock (&out->lock);
      if (!ok)
        out->write_error = error;
      out->pending = NULL;
      g_cond_broadcast (&out->cond);
    }
  g_mutex_unlock (&out->lock);
  return NULL;
}

/* Waits until the writer thread is idle; reports its failure. */
static gboolean
writer_wait (TeOutput *out, GError **error)
{
  g_mutex_lock (&out->lock);
  while (out->pending != NULL)
    g_cond_wait (&out->cond, &out->lock);
  gboolean ok = out->write_error == NULL;
  if (!ok)
    g_propagate_error (error, g_error_copy (out->write_error));
  g_mutex_unlock (&out->lock);
  return ok;
}

static gboolean
flush_buffer (TeOutput *out, GError **error)
{
  if (out->writer != NULL)
    {
      /* hand the buffer over and go on filling the other one */
      if (!writer_wait (out, error))
        return FALSE;
      if (out->len == 0)
        return TRUE;
      g_mutex_lock (&out->lock);
      out->pending = out->buf;
      out->pending_len = out->len;
      g_cond_broadcast (&out->cond);
      g_mutex_unlock (&out->lock);
      guint8 *next = out->other;
      out->other = out->buf;
      out->buf = next;
      out->len = 0;
      return TRUE;
    }
  if (out->len == 0)
    return TRUE;
  gsize n = out->len;
  out->len = 0;
  return write_all (out, out->buf, n, error);
}

/* Everything written, the writer thread (if any) idle. */
static gboolean
flush_all (TeOutput *out, GError **error)
{
  return flush_buffer (out, error) && (out->writer == NULL || writer_wait (out, error));
}

static void
writer_stop (TeOutput *out)
{
  if (out->writer == NULL)
    return;
  g_mutex_lock (&out->lock);
  out->stop = TRUE;
  g_cond_broadcast (&out->cond);
  g_mutex_unlock (&out->lock);
  g_thread_join (g_steal_pointer (&out->writer));
}

/* The byte sink below the optional gzip writer. */
static gboolean
sink_write (gpointer user_data, const void *buf, gsize len, GError **error)
{
  TeOutput *out = user_data;

  if (len >= TE_OUTPUT_DIRECT && out->writer == NULL)
    return flush_buffer (out, error) && write_all (out, buf, len, error);
  if (out->writer != NULL)
    {
      /* the caller's buffer is reused once we return: copy */
      const guint8 *p = buf;
      while (out->len + len > TE_OUTPUT_BUFFER)
        {
          gsize k = TE_OUTPUT_BUFFER - out->len;
          memcpy (out->buf + out->len, p, k);
          out->len += k;
          p += k;
          len -= k;
          if (!flush_buffer (out, error))
            return FALSE;
        }
      memcpy (out->buf + out->len, p, len);
      out->len += len;
      return TRUE;
    }
  if (out->len + len > TE_OUTPUT_BUFFER && !flush_buffer (out, error))
    return FALSE;
  memcpy (out->buf + out->len, buf, len);
  out->len += len;
  return TRUE;
}

/* The temporary name next to the output, `.<name>.<pid>-<random>.gp-tmp`:
 * one of this run's own.  Two saves to one name (no store lock covers an
 * output file) never write, remove or publish each other's file. */
static char *
temp_name (TeOutput *out)
{
  return te_output_temp_name (out->dir, out->base);
}

/**
 * te_output_temp_name:
 * @dir: the output's directory
 * @base: the output's base name
 *
 * Returns: (transfer full): a fresh temporary name for the output, one of
 *   this run's own: `<dir>/.<base>.<pid>-<random>.gp-tmp` (oci-export
 *   names its layout directory so too)
 */
char *
te_output_temp_name (const char *dir, const char *base)
{
  g_autofree char *name = g_strdup_printf (".%s.%d-%08x%s", base, (int) getpid (), g_random_int (),
                                           GP_SAFEIO_TEMP_SUFFIX);
  return g_build_filename (dir, name, NULL);
}

/**
 * te_output_is_temp_of:
 * @name: a directory entry's name
 * @base: an output's base name
 *
 * Returns: whether @name is a temporary of the output @base: this
 *   format (te_output_temp_name()), or the fixed `.<base>.gp-tmp` of older
 *   versions
 */
gboolean
te_output_is_temp_of (const char *name, const char *base)
{
  gsize nb = strlen (base), ns = strlen (GP_SAFEIO_TEMP_SUFFIX), n = strlen (name);
  if (n < nb + ns + 2 || name[0] != '.' || strncmp (name + 1, base, nb) != 0 || name[nb + 1] != '.'
      || strcmp (name + n - ns, GP_SAFEIO_TEMP_SUFFIX) != 0)
    return FALSE;
  const char *mid = name + nb + 1; /* ".<pid>-<hex>.gp-tmp" or ".gp-tmp" */
  gsize m = n - (nb + 1) - ns;
  if (m == 0)
    return TRUE;
  gsize i = 1, digits = 0, hex = 0;
  while (i < m && g_ascii_isdigit (mid[i]))
    i++, digits++;
  if (i >= m || mid[i] != '-')
    return FALSE;
  for (i++; i < m && g_ascii_isxdigit (mid[i]); i++)
    hex++;
  return mid[0] == '.' && i == m && digits > 0 && hex > 0;
}

/* Removes the temporaries of this output that a killed save left.  A live
 * save holds an flock on its temporary from its creation to its rename,
 * so only the unlocked ones are removed.  Best effort: what cannot be
 * removed (a read-only directory, no flock there) stays. */
static void
sweep_dead_temps (TeOutput *out)
{
  g_autoptr (GDir) d = g_dir_open (out->dir, 0, NULL);
  const char *name;
  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      if (!te_output_is_temp_of (name, out->base))
        continue;
      g_autofree char *path = g_build_filename (out->dir, name, NULL);
      int fd = open (path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
      if (fd < 0)
        continue;
      struct stat a, b;
      if (flock (fd, LOCK_EX | LOCK_NB) == 0 && fstat (fd, &a) == 0 && lstat (path, &b) == 0
          && a.st_dev == b.st_dev && a.st_ino == b.st_ino && S_ISREG (a.st_mode))
        (void) unlink (path);
      close (fd);
    }
}

/* Locks the output's file (held until it is renamed into place), so that
 * no other save's sweep takes it for a dead one. */
static gboolean
lock_output (TeOutput *out)
{
  return flock (out->fd, LOCK_EX | LOCK_NB) == 0 || errno != EWOULDBLOCK;
}

/* Both open with mode 0666 minus the umask, as open(2) and docker save -o
 * do. */
static gboolean
open_file (TeOutput *out, GError **error)
{
  sweep_dead_temps (out);
  /* Naming the unnamed file later goes through /proc/self/fd, or needs
   * CAP_DAC_READ_SEARCH (AT_EMPTY_PATH): use O_TMPFILE only when one of
   * them will work.  GP_SAVE_NO_O_TMPFILE=1 forces the fallback (tests). */
  if (g_strcmp0 (g_getenv ("GP_SAVE_NO_O_TMPFILE"), "1") != 0
      && (g_file_test ("/proc/self/fd", G_FILE_TEST_IS_DIR) || geteuid () == 0))
    {
      out->fd = open (out->dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
      if (out->fd >= 0)
        {
          out->unnamed = TRUE;
          (void) lock_output (out);
          return TRUE;
        }
    }

  /* Filesystems without O_TMPFILE support (and old kernels): a temporary
   * name of this run's own, locked at once and checked to be still ours
   * (a sweep of another save may have come between the two). */
  for (int attempt = 0; attempt < 100; attempt++)
    {
      g_autofree char *tmp = temp_name (out);
      out->fd = open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
      if (out->fd < 0)
        {
          if (errno == EEXIST)
            continue;
          break;
        }
      struct stat a, b;
      gboolean locked = lock_output (out);
      gboolean ours = fstat (out->fd, &a) == 0 && lstat (tmp, &b) == 0 && a.st_ino == b.st_ino
                      && a.st_dev == b.st_dev;
      if (!locked || !ours)
        {
          if (ours)
            (void) unlink (tmp);
          close (out->fd);
          out->fd = -1;
          continue;
        }
      out->tmp_path = g_steal_pointer (&tmp);
      return TRUE;
    }
  int errsv = errno;
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv), "%s: cannot create: %s", out->display,
               g_strerror (errsv));
  return FALSE;
}

/* Gives the unnamed file a temporary name in its directory. */
static gboolean
link_unnamed (TeOutput *out, GError **error)
{
  g_autofree char *proc = g_strdup_printf ("/proc/self/fd/%d", out->fd);
  for (int attempt = 0; attempt < 100; attempt++)
    {
      g_autofree char *tmp = temp_name (out);
      int rc = linkat (AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW);
      if (rc != 0 && errno != EEXIST)
        rc = linkat (out->fd, "", AT_FDCWD, tmp, AT_EMPTY_PATH);
      if (rc == 0)
        {
          out->tmp_path = g_steal_pointer (&tmp);
          return TRUE;
        }
      if (errno != EEXIST)
        break;
    }
  int errsv = errno;
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
               "%s: cannot link the written file into %s: %s", out->display, out->dir,
               g_strerror (errsv));
  return FALSE;
}

/**
 * te_output_open:
 * @output: a path or `-` for standard output
 * @gzip: compress with the parallel gzip writer
 * @jobs: compression threads (0 = all CPUs)
 * @cancellable: (nullable): for the gzip writer
 * @error: return location for a #GError
 *
 * Opens the output.  For a file, creates an unnamed (or temporary) file
 * in its directory.
 *
 * Returns: (transfer full): the output; finish with te_output_commit(),
 *   te_output_free() removes the temporary file if not committed.
 */
TeOutput *
te_output_open (const char *output, gboolean gzip, guint jobs, GCancellable *cancellable,
                GError **error)
{
  if (!te_output_check (output, TRUE, error))
    return NULL;

  g_autoptr (TeOutput) out = g_new0 (TeOutput, 1);
  out->fd = -1;
  out->rfd = -1;
  g_mutex_init (&out->lock);
  g_cond_init (&out->cond);
  if (g_strcmp0 (output, "-") == 0)
    {
      out->fd = STDOUT_FILENO;
      out->display = g_strdup ("standard output");
    }
  else
    {
      out->path = g_strdup (output);
      out->dir = g_path_get_dirname (output);
      out->base = g_path_get_basename (output);
      out->display = g_strdup (output);
      if (!open_file (out, error))
        return NULL;
      out->owns_fd = TRUE;
    }
  out->buf = g_malloc (TE_OUTPUT_BUFFER);

  /* GP_SAVE_NO_PWRITE=1 keeps the plain sequential writes (tests). */
  struct stat st;
  if (!gzip && g_strcmp0 (g_getenv ("GP_SAVE_NO_PWRITE"), "1") != 0
      && fstat (out->fd, &st) == 0 && S_ISREG (st.st_mode))
    {
      int flags = fcntl (out->fd, F_GETFL);
      off_t pos = lseek (out->fd, 0, SEEK_CUR);
      if (flags >= 0 && (flags & O_APPEND) == 0 && pos >= 0)
        {
          out->positioned = TRUE;
          out->start = (guint64) pos;
        }
    }

  if (!gzip && !out->positioned && jobs > 1)
    {
      out->other = g_malloc (TE_OUTPUT_BUFFER);
      out->writer = g_thread_try_new ("gp-save-write", writer_main, out, NULL);
    }

  if (gzip)
    {
      out->gz = gp_pgzip_new (sink_write, out, jobs, -1, 0, cancellable, error);
      if (out->gz == NULL)
        return NULL;
    }
  return g_steal_pointer (&out);
}

/**
 * te_output_write:
 * @user_data: (type TeOutput): the output
 *
 * A #GpWriteFunc taking the uncompressed tar stream.
 */
gboolean
te_output_write (gpointer user_data, const void *buf, gsize len, GError **error)
{
  TeOutput *out = user_data;

  out->bytes += len;
  if (out->gz != NULL)
    return gp_pgzip_write (out->gz, buf, len, error);
  return sink_write (out, buf, len, error);
}

/**
 * te_output_is_positioned:
 * @out: the output
 *
 * Returns: whether te_output_reserve() and te_output_pwrite() may be used:
 *   the output is an uncompressed regular file, not in append mode
 */
gboolean
te_output_is_positioned (TeOutput *out)
{
  return out->positioned;
}

/**
 * te_output_reserve:
 * @out: a positioned output
 * @len: number of bytes
 * @out_offset: (out): where in the stream the span starts
 * @error: return location for a #GError
 *
 * Sets aside the next @len bytes of the stream, to be filled in with
 * te_output_pwrite(); the stream continues after them.
 *
 * Returns: %TRUE on success (the buffered bytes before the span were
 *   written), %FALSE with @error set
 */
gboolean
te_output_reserve (TeOutput *out, guint64 len, guint64 *out_offset, GError **error)
{
  g_return_val_if_fail (out->positioned, FALSE);
  if (!flush_buffer (out, error))
    return FALSE;
  *out_offset = out->sink_pos;
  out->sink_pos += len;
  out->bytes += len;
  return TRUE;
}

/**
 * te_output_pwrite:
 * @out: a positioned output
 * @offset: stream offset of the first byte
 * @buf: (array length=len): bytes
 * @len: their number
 * @error: return location for a #GError
 *
 * Writes into a span set aside with te_output_reserve().  May be called
 * from any thread, concurrently with everything but te_output_commit()
 * and te_output_free().
 *
 * Returns: %TRUE on success, %FALSE with @error set
 */
gboolean
te_output_pwrite (TeOutput *out, guint64 offset, const void *buf, gsize len, GError **error)
{
  g_return_val_if_fail (out->positioned, FALSE);
  return write_at (out, offset, buf, len, error);
}

/**
 * te_output_start_writeback:
 * @out: a positioned output
 * @offset: stream offset
 * @len: number of bytes
 *
 * For a file named with -o, which is synced before it is renamed into
 * place: starts writing the given span, already written, to disk now, so
 * that the final fsync() has less left to wait for.  Any thread.
 */
/* Bytes per step of te_output_copy() through a buffer. */
#define COPY_BUFFER (1024 * 1024)

/**
 * te_output_can_copy:
 * @out: an output
 *
 * Whether te_output_copy() can be used: a positioned output that can be
 * read back (opened for reading and writing, or opened again for
 * reading through /proc/self/fd).  Call it before handing the output to
 * other threads (it opens the descriptor the copies read).
 *
 * Returns: %TRUE when it can
 */
gboolean
te_output_can_copy (TeOutput *out)
{
  if (!out->positioned)
    return FALSE;
  if (out->rfd == -1)
    {
      int flags = fcntl (out->fd, F_GETFL);
      if (flags >= 0 && (flags & O_ACCMODE) == O_RDWR)
        out->rfd = out->fd;
      else
        {
          g_autofree char *proc = g_strdup_printf ("/proc/self/fd/%d", out->fd);
          struct stat a, b;
          int fd = open (proc, O_RDONLY | O_CLOEXEC | O_NOCTTY);
          /* the very file, not what a name now points at */
          if (fd >= 0 && (fstat (fd, &a) < 0 || fstat (out->fd, &b) < 0
                          || a.st_dev != b.st_dev || a.st_ino != b.st_ino))
            {
              close (fd);
              fd = -1;
            }
          out->rfd = fd >= 0 ? fd : -2;
        }
    }
  return out->rfd >= 0;
}

/**
 * te_output_copy:
 * @out: a positioned output
 * @from: stream offset of bytes already written
 * @to: stream offset of a reserved span, not overlapping theirs
 * @len: the number of bytes
 * @error: return location for a #GError
 *
 * Writes the @len bytes at @from again at @to (te_output_can_copy()
 * must have said yes): in the kernel
 * (copy_file_range(), which shares the blocks where the file system
 * can), else, or under the crash tests' byte counter, through a buffer.
 *
 * Returns: %FALSE with @error set on a failure
 */
gboolean
te_output_copy (TeOutput *out, guint64 from, guint64 to, guint64 len, GError **error)
{
  g_return_val_if_fail (out->positioned && out->rfd >= 0, FALSE);
  gboolean kernel = !gp_safeio_crash_active ();
  g_autofree guint8 *buf = NULL;

  while (len > 0)
    {
      if (kernel)
        {
          off64_t src = (off64_t) (out->start + from), dst = (off64_t) (out->start + to);
          ssize_t n = copy_file_range (out->rfd, &src, out->fd, &dst,
                                       (size_t) MIN (len, (guint64) 1 << 30), 0);
          if (n > 0)
            {
              from += (guint64) n;
              to += (guint64) n;
              len -= (guint64) n;
              continue;
            }
          int errsv = n < 0 ? errno : 0;
          if (errsv == EINTR)
            continue;
          if (errsv != 0 && errsv != ENOSYS && errsv != EXDEV && errsv != EINVAL
              && errsv != EOPNOTSUPP && errsv != EBADF && errsv != EPERM)
            {
              g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
                           "%s: copy within the file failed: %s", out->display,
                           g_strerror (errsv));
              return FALSE;
            }
          kernel = FALSE; /* not supported here (or 0: checked below) */
          continue;
        }
      if (buf == NULL)
        buf = g_malloc (COPY_BUFFER);
      gsize k = (gsize) MIN (len, (guint64) COPY_BUFFER), got = 0;
      while (got < k)
        {
          ssize_t n = pread (out->rfd, buf + got, k - got, (off_t) (out->start + from + got));
          if (n < 0 && errno == EINTR)
            continue;
          if (n <= 0)
            {
              int errsv = n < 0 ? errno : EIO;
              g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
                           "%s: cannot read back what was written: %s", out->display,
                           n < 0 ? g_strerror (errsv) : "the file is shorter");
              return FALSE;
            }
          got += (gsize) n;
        }
      if (!write_at (out, to, buf, k, error))
        return FALSE;
      from += k;
      to += k;
      len -= k;
    }
  return TRUE;
}

void
te_output_start_writeback (TeOutput *out, guint64 offset, guint64 len)
{
#ifdef SYNC_FILE_RANGE_WRITE
  if (out->positioned && out->path != NULL && len > 0)
    (void) sync_file_range (out->fd, (off_t) (out->start + offset), (off_t) len,
                            SYNC_FILE_RANGE_WRITE);
#endif
}

/**
 * te_output_get_bytes:
 * @out: the output
 *
 * Returns: the number of tar bytes written so far (before compression)
 */
guint64
te_output_get_bytes (TeOutput *out)
{
  return out->bytes;
}

/**
 * te_output_commit:
 * @out: the output
 * @error: return location for a #GError
 *
 * Finishes compression, flushes, and for a file syncs it and renames it
 * into place (then syncs the directory).
 */
gboolean
te_output_commit (TeOutput *out, GError **error)
{
  if (out->gz != NULL && !gp_pgzip_finish (out->gz, error))
    return FALSE;
  if (!flush_all (out, error))
    return FALSE;
  /* leave the file position after the stream, as sequential writes do */
  if (out->positioned && lseek (out->fd, (off_t) (out->start + out->sink_pos), SEEK_SET) < 0)
    {
      int errsv = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv), "%s: seek failed: %s",
                   out->display, g_strerror (errsv));
      return FALSE;
    }
  if (out->path == NULL)
    {
      out->committed = TRUE;
      return TRUE;
    }

  if (fsync (out->fd) != 0)
    {
      int errsv = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv), "%s: fsync failed: %s",
                   out->display, g_strerror (errsv));
      return FALSE;
    }
  if (out->unnamed && !link_unnamed (out, error))
    return FALSE;
  gp_safeio_crash_point ("save: output complete under its temporary name");
  /* Renamed while still open: the flock on it keeps other saves' sweeps
   * off it until it has its final name. */
  if (g_rename (out->tmp_path, out->path) != 0)
    {
      int errsv = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
                   "%s: cannot rename %s into place: %s", out->display, out->tmp_path,
                   g_strerror (errsv));
      return FALSE;
    }
  int fd = out->fd;
  out->fd = -1;
  out->owns_fd = FALSE;
  if (close (fd) != 0)
    {
      int errsv = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv), "%s: close failed: %s",
                   out->display, g_strerror (errsv));
      g_clear_pointer (&out->tmp_path, g_free);
      return FALSE;
    }
  g_clear_pointer (&out->tmp_path, g_free);
  out->committed = TRUE;
  gp_safeio_crash_point ("save: output renamed into place");

  int dfd = open (out->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0)
    {
      (void) fsync (dfd);
      close (dfd);
    }
  return TRUE;
}

/**
 * te_output_free:
 * @out: (nullable): the output
 *
 * Closes the output; an uncommitted temporary file is removed.
 */
void
te_output_free (TeOutput *out)
{
  if (out == NULL)
    return;
  gp_pgzip_free (out->gz);
  writer_stop (out);
  g_clear_error (&out->write_error);
  g_mutex_clear (&out->lock);
  g_cond_clear (&out->cond);
  if (out->rfd >= 0 && out->rfd != out->fd)
    close (out->rfd);
  if (out->owns_fd && out->fd >= 0)
    close (out->fd);
  if (out->tmp_path != NULL)
    g_unlink (out->tmp_path);
  g_free (out->tmp_path);
  g_free (out->path);
  g_free (out->dir);
  g_free (out->base);
  g_free (out->display);
  g_free (out->buf);
  g_free (out->other);
  g_free (out);
}
