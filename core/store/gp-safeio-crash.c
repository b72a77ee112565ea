/* graphpipe - the crash points of safe I/O, for the kill-and-rerun tests
 * (make check-crash): where a run can be made to die, and how. */
#include "config.h"

#include "gp-safeio.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- crash points for the kill-and-rerun tests ----
 *
 * Test only, read once from the environment:
 *   GRAPHPIPE_TEST_CRASH_AT=N     SIGKILL at the N-th crash point (1-based)
 *                                 passed in this process
 *   GRAPHPIPE_TEST_CRASH_BYTES=N  SIGKILL once N bytes were written in all
 *                                 (the write that crosses N writes its
 *                                 first bytes up to N, then the process dies)
 *   GRAPHPIPE_TEST_CRASH_LOG=1    print every point, with the bytes written
 *                                 so far, and the total at exit, to stderr
 * Points sit inside every durable write of this file (after a temporary is
 * created, before and after each rename, after each mkdir) and wherever a
 * caller adds one.  Without these variables a point costs one load of an
 * initialised flag. */

static gboolean crash_on;
static gboolean crash_log;
static gint64 crash_at = -1;
static gint64 crash_at_bytes = -1;
static gint64 crash_passed;
static gint64 crash_bytes;

static void
crash_log_total (void)
{
  fprintf (stderr, "crash bytes total: %" G_GINT64_FORMAT "\n", __atomic_load_n (&crash_bytes, __ATOMIC_SEQ_CST));
}

static gint64
crash_env (const char *name)
{
  const char *v = g_getenv (name);
  if (v == NULL || *v == '\0')
    return -1;
  return g_ascii_strtoll (v, NULL, 10);
}

static inline gboolean
crash_enabled (void)
{
  static gsize once = 0;
  if (g_once_init_enter (&once))
    {
      crash_at = crash_env ("GRAPHPIPE_TEST_CRASH_AT");
      crash_at_bytes = crash_env ("GRAPHPIPE_TEST_CRASH_BYTES");
      crash_log = g_strcmp0 (g_getenv ("GRAPHPIPE_TEST_CRASH_LOG"), "1") == 0;
      crash_on = crash_at > 0 || crash_at_bytes >= 0 || crash_log;
      if (crash_log)
        atexit (crash_log_total);
      g_once_init_leave (&once, 1);
    }
  return crash_on;
}

static void G_GNUC_NORETURN
crash_now (void)
{
  kill (getpid (), SIGKILL);
  for (;;)
    pause ();
}

/**
 * gp_safeio_crash_point:
 * @label: what was just done, for the log
 *
 * A point where the kill-and-rerun tests may kill the process (test only:
 * see `GRAPHPIPE_TEST_CRASH_AT` at the top of this section).  Does nothing
 * unless one of the test variables is set.
 */
void
gp_safeio_crash_point (const char *label)
{
  if (G_LIKELY (!crash_enabled ()))
    return;
  gint64 n = __atomic_add_fetch (&crash_passed, 1, __ATOMIC_SEQ_CST);
  if (crash_log)
    fprintf (stderr, "crash point %" G_GINT64_FORMAT " (bytes %" G_GINT64_FORMAT "): %s\n", n,
             __atomic_load_n (&crash_bytes, __ATOMIC_SEQ_CST), label);
  if (n == crash_at)
    crash_now ();
}

/**
 * gp_safeio_crash_active:
 *
 * Whether a crash test variable is set (test only): writers that would
 * bypass gp_safeio_crash_write() (in-kernel copies) write through it then.
 *
 * Returns: %TRUE under a crash test
 */
gboolean
gp_safeio_crash_active (void)
{
  return crash_enabled ();
}

/**
 * gp_safeio_crash_write:
 * @fd: the descriptor about to be written
 * @buf: the bytes
 * @len: their number
 *
 * Called by a writer before it writes @len bytes to @fd (test only).
 * Counts them; when they reach `GRAPHPIPE_TEST_CRASH_BYTES` in all, writes
 * the bytes up to that count to @fd and kills the process, leaving a torn
 * file behind.  Does nothing unless one of the test variables is set.
 */
void
gp_safeio_crash_write (int fd, const void *buf, gsize len)
{
  if (G_LIKELY (!crash_enabled ()))
    return;
  gint64 before = __atomic_fetch_add (&crash_bytes, (gint64) len, __ATOMIC_SEQ_CST);
  if (crash_at_bytes < 0 || before + (gint64) len < crash_at_bytes || before >= crash_at_bytes)
    return;
  if (crash_at_bytes == 0 && len == 0)
    return;
  gsize part = (gsize) (crash_at_bytes - before);
  if (crash_log)
    fprintf (stderr, "crash after %" G_GINT64_FORMAT " bytes\n", crash_at_bytes);
  if (part > 0 && write (fd, buf, part) < 0)
    {
      /* dying anyway */
    }
  crash_now ();
}
