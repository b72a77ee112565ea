/* graphpipe - one writer at a time on a store.
 *
 * A run that writes a store first takes an exclusive flock(2) on the
 * store's directory itself, opened read-only: nothing is written into the
 * store for it (the trees graphpipe writes stay byte for byte Docker's,
 * and a read-only mount can still be locked), and the kernel drops the
 * lock when the process ends in any way (exit, SIGKILL, OOM; a crashed
 * machine has no locks), so a run killed at any moment can be run again
 * at once.  Readers (save, verify) take no lock.
 *
 * A directory that does not exist yet (a --target) is locked through a
 * file beside it, `<parent>/.<name>.gp-lock`: created if missing, locked,
 * then checked to be still the file at that name (a holder unlinks it
 * before it releases it, so a waiter may have locked a file that is gone:
 * it tries again).  Two different targets in one parent have two lock
 * files and never wait for each other.
 *
 * The process holding a lock is found in /proc/locks (the device and inode
 * of the locked file), its command line in /proc/PID/cmdline; the lock
 * file also holds the holder's pid, for systems without /proc/locks.
 *
 * Where the file system refuses flock (some NFS setups refuse it on a
 * descriptor opened read-only), the run goes on unlocked, as it did
 * before locks existed; a debug message says so.
 */
#include "config.h"

#include "gp-lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "gp-error.h"

struct _GpLock {
  char *path;      /* what was locked: the directory or the lock file */
  gboolean unlink; /* a lock file, removed before the release */
  int fd;          /* -1: not locked (flock unsupported there) */
  int unsupported; /* then flock's errno */
};

/* The first process /proc/locks names as holding a lock on @st's file
 * (0: none found). */
static int
holder_pid (const struct stat *st)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents ("/proc/locks", &text, NULL, NULL))
    return 0;
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  int by_inode = 0;
  for (guint i = 0; lines[i] != NULL; i++)
    {
      /* "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"; waiters have
       * "->" after the number. */
      if (strstr (lines[i], "->") != NULL)
        continue;
      g_auto (GStrv) f = g_strsplit_set (lines[i], " \t", -1);
      GPtrArray *w = g_ptr_array_new ();
      for (guint j = 0; f[j] != NULL; j++)
        if (*f[j] != '\0')
          g_ptr_array_add (w, f[j]);
      int pid = 0;
      if (w->len >= 6)
        {
          unsigned maj = 0, min = 0;
          unsigned long long ino = 0;
          if (sscanf (w->pdata[5], "%x:%x:%llu", &maj, &min, &ino) == 3 && ino == (unsigned long long) st->st_ino)
            {
              int p = (int) g_ascii_strtoll (w->pdata[4], NULL, 10);
              if (maj == major (st->st_dev) && min == minor (st->st_dev))
                pid = p;
              else if (by_inode == 0)
                by_inode = p; /* (overlay and btrfs report other devices) */
            }
        }
      g_ptr_array_free (w, TRUE);
      if (pid > 0)
        return pid;
    }
  return by_inode;
}

static char *
describe_pid (int pid)
{
  g_autofree char *proc = g_strdup_printf ("/proc/%d/cmdline", pid);
  g_autofree char *cmd = NULL;
  gsize len = 0;
  if (g_file_get_contents (proc, &cmd, &len, NULL) && len > 0)
    {
      for (gsize i = 0; i + 1 < len; i++)
        if (cmd[i] == '\0')
          cmd[i] = ' ';
      return g_strdup_printf ("pid %d: %s", pid, g_strstrip (cmd));
    }
  return g_strdup_printf ("pid %d", pid);
}

/* Who holds the lock on @fd's file: "pid N: COMMAND LINE", or NULL. */
static char *
describe_fd (int fd, gboolean lock_file)
{
  struct stat st;
  if (fstat (fd, &st) < 0)
    return NULL;
  int pid = holder_pid (&st);
  if (pid <= 0 && lock_file)
    {
      char buf[32] = "";
      ssize_t n = pread (fd, buf, sizeof buf - 1, 0);
      if (n > 0)
        {
          buf[n] = '\0';
          pid = (int) g_ascii_strtoll (buf, NULL, 10);
        }
    }
  return pid > 0 ? describe_pid (pid) : NULL;
}

/**
 * gp_lock_describe_holder:
 * @path: a directory or a lock file
 *
 * Returns: (transfer full) (nullable): "pid N: COMMAND LINE" of the process
 *   that holds a lock on @path, %NULL when none is found; free with
 *   g_free().
 */
char *
gp_lock_describe_holder (const char *path)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    return NULL;
  char *who = describe_fd (fd, !g_file_test (path, G_FILE_TEST_IS_DIR));
  close (fd);
  return who;
}

static gboolean
unsupported (int errsv)
{
  return errsv == EBADF || errsv == ENOLCK || errsv == EOPNOTSUPP || errsv == ENOSYS || errsv == EINVAL;
}

/* flock(LOCK_EX) on @fd: at once, or polling until it is free when
 * @flags has GP_LOCK_WAIT (a blocking flock could not be cancelled).
 * 1: locked, 0: not supported here (flock's errno in @why), -1: @error
 * set. */
static int
take (int fd, const char *path, gboolean lock_file, GpLockFlags flags, int *why,
      GCancellable *cancellable, GError **error)
{
  gulong delay = 10000;
  /* Test only: a file system without flock (NFS without a lock manager). */
  gboolean no_flock = g_strcmp0 (g_getenv ("GRAPHPIPE_TEST_NO_FLOCK"), "1") == 0;
  for (;;)
    {
      if (!no_flock && flock (fd, LOCK_EX | LOCK_NB) == 0)
        return 1;
      int errsv = no_flock ? ENOLCK : errno;
      if (errsv == EINTR)
        continue;
      if (unsupported (errsv))
        {
          g_debug ("%s: cannot lock (%s): going on without a lock", path, g_strerror (errsv));
          *why = errsv;
          return 0;
        }
      if (errsv != EWOULDBLOCK)
        {
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv), "%s: cannot lock: %s", path,
                       g_strerror (errsv));
          return -1;
        }
      if (!(flags & GP_LOCK_WAIT))
        {
          g_autofree char *who = describe_fd (fd, lock_file);
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_BUSY,
                       "%s: another graphpipe run is writing this store (%s); nothing was done "
                       "(wait for it to end, or use --wait)",
                       path, who != NULL ? who : "process unknown");
          return -1;
        }
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return -1;
      g_usleep (delay);
      delay = MIN (delay * 2, 200000);
    }
}

/**
 * gp_lock_dir:
 * @dir: an existing directory: the store (or data root) about to be written
 * @flags: #GpLockFlags
 * @cancellable: (nullable): stops a wait
 * @error: return location for a #GError
 *
 * Takes the exclusive write lock of @dir: flock(2) on the directory
 * itself; nothing is written.  Another process holding it makes this fail
 * with %G_IO_ERROR_BUSY and a message naming that process (pid and
 * command line), or, with %GP_LOCK_WAIT, wait for it.  Two locks on one
 * directory conflict even within a process.  Where the file system does
 * not support flock, an unlocked handle is returned.
 *
 * Returns: (transfer full) (nullable): the lock; release it with
 *   gp_lock_release() (the kernel releases it when the process dies)
 */
GpLock *
gp_lock_dir (const char *dir, GpLockFlags flags, GCancellable *cancellable, GError **error)
{
  int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    {
      int errsv = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv), "%s: cannot open directory: %s", dir,
                   g_strerror (errsv));
      return NULL;
    }
  int why = 0;
  int r = take (fd, dir, FALSE, flags, &why, cancellable, error);
  if (r < 0)
    {
      close (fd);
      return NULL;
    }
  GpLock *lock = g_new0 (GpLock, 1);
  lock->path = g_strdup (dir);
  lock->fd = fd;
  if (r == 0)
    {
      close (fd);
      lock->fd = -1;
      lock->unsupported = why;
    }
  return lock;
}

/**
 * gp_lock_beside:
 * @path: a directory that may not exist yet (a --target)
 * @flags: #GpLockFlags
 * @cancellable: (nullable): stops a wait
 * @error: return location for a #GError
 *
 * Takes the exclusive write lock of @path through the lock file
 * `<parent>/.<name>.gp-lock` (created 0600, holding the holder's pid).
 * The parent must exist.  gp_lock_release() removes the file before it
 * releases the lock; one left by a killed process is reused.
 *
 * Returns: (transfer full) (nullable): the lock, or %NULL with @error as
 *   gp_lock_dir()
 */
GpLock *
gp_lock_beside (const char *path, GpLockFlags flags, GCancellable *cancellable, GError **error)
{
  g_autofree char *parent = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *name = g_strconcat (".", base, GP_LOCK_FILE_SUFFIX, NULL);
  g_autofree char *file = g_build_filename (parent, name, NULL);

  for (int attempt = 0; attempt < 1000; attempt++)
    {
      int fd = open (file, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (fd < 0)
        {
          int errsv = errno;
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv), "%s: cannot create lock file: %s",
                       file, g_strerror (errsv));
          return NULL;
        }
      int why = 0;
      int r = take (fd, path, TRUE, flags, &why, cancellable, error);
      if (r < 0)
        {
          close (fd);
          return NULL;
        }
      /* Still the file at that name?  (Its holder unlinks it before
       * releasing it; then lock the new one.) */
      struct stat a, b;
      if (r > 0 && (fstat (fd, &a) < 0 || lstat (file, &b) < 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino))
        {
          close (fd);
          continue;
        }
      if (r > 0)
        {
          g_autofree char *pid = g_strdup_printf ("%d\n", (int) getpid ());
          if (ftruncate (fd, 0) < 0 || pwrite (fd, pid, strlen (pid), 0) < 0)
            {
              /* (the pid is only a hint for messages) */
            }
        }
      GpLock *lock = g_new0 (GpLock, 1);
      lock->path = g_steal_pointer (&file);
      lock->unlink = TRUE;
      lock->fd = fd;
      lock->unsupported = r == 0 ? why : 0;
      return lock;
    }
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_BUSY, "%s: cannot lock: the lock file keeps changing", file);
  return NULL;
}

/**
 * gp_lock_is_held:
 * @lock: a lock
 * @why: (out) (optional): when it is not held, flock's errno
 *
 * Whether @lock really excludes other writers: %FALSE where the file
 * system does not support flock(2) (some NFS mounts, FUSE file systems),
 * where gp_lock_dir() and gp_lock_beside() hand out a lock that holds
 * nothing.  The caller should say so: nothing keeps a second run out.
 *
 * Returns: %TRUE when the lock is held
 */
gboolean
gp_lock_is_held (GpLock *lock, int *why)
{
  if (why != NULL)
    *why = lock->unsupported;
  return lock->unsupported == 0;
}

/**
 * gp_lock_get_path:
 * @lock: a lock
 *
 * Returns: (transfer none): the directory or lock file locked
 */
const char *
gp_lock_get_path (GpLock *lock)
{
  return lock->path;
}

/**
 * gp_lock_release:
 * @lock: (nullable): a lock
 *
 * Releases the lock (a lock file is removed first) and frees @lock.
 */
void
gp_lock_release (GpLock *lock)
{
  if (lock == NULL)
    return;
  if (lock->fd >= 0)
    {
      if (lock->unlink)
        (void) unlink (lock->path);
      close (lock->fd);
    }
  g_free (lock->path);
  g_free (lock);
}
