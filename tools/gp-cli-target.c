/* graphpipe - the command line: writing the store to a --target.
 *
 * `graphpipe migrate --root SRC --target DIR` builds the new store in a
 * work directory beside DIR, `<parent>/.<name>.gp-target`, and renames it
 * to DIR once the pipeline has run to its end without failures (or with
 * --publish-partial): DIR appears complete or not at all.  A run killed before that leaves the work directory, and the
 * next run resumes in it (every stage skips what is done).  A DIR that
 * exists and is not empty is an earlier result: the run updates it in
 * place, each file atomically, as an in-place rerun would.  SRC is only
 * read.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gp-cli.h"

#define WORK_SUFFIX ".gp-target"

/* An absolute path with the symbolic links of its existing part resolved,
 * so that "inside the root" can be decided. */
static char *
resolve (const char *path)
{
  g_autofree char *abs = g_canonicalize_filename (path, NULL);
  char buf[PATH_MAX];

  if (realpath (abs, buf) != NULL)
    return g_strdup (buf);
  g_autofree char *dir = g_path_get_dirname (abs);
  g_autofree char *base = g_path_get_basename (abs);
  if (strcmp (dir, abs) != 0)
    {
      g_autofree char *rdir = resolve (dir);
      return g_build_filename (rdir, base, NULL);
    }
  return g_steal_pointer (&abs);
}

static gboolean
is_inside (const char *path, const char *dir)
{
  gsize n = strlen (dir);
  if (strcmp (dir, "/") == 0)
    return TRUE;
  return strncmp (path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* 1 when @path is a directory with entries, 0 when empty, -1 with @error
 * when it is not a directory or unreadable. */
static int
dir_has_entries (const char *path, GError **error)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, error);
  if (dir == NULL)
    return -1;
  return g_dir_read_name (dir) != NULL ? 1 : 0;
}

/**
 * gp_cli_target_prepare:
 * @opts: options with opts->target set
 * @ctx: the run's context, its root set
 * @target: (out caller-allocates): filled in; clear with gp_cli_target_clear()
 * @error: return location for a #GError
 *
 * Checks --target against the root (not the root, not inside it, not
 * around it), chooses the directory the run writes to and sets it as the
 * context's target; creates it unless the run is a dry run.
 *
 * Returns: %TRUE on success
 */
gboolean
gp_cli_target_prepare (GpCliOptions *opts, GpContext *ctx, GpCliTarget *target, GError **error)
{
  const char *root_arg = gp_context_get_root (ctx);
  if (root_arg == NULL)
    {
      g_set_error (error, GP_PRESET_ERROR, GP_PRESET_ERROR_BAD_VALUE,
                   "--target needs the source data root (--root)");
      return FALSE;
    }
  g_autofree char *root = resolve (root_arg);
  g_autofree char *final = resolve (opts->target);
  if (is_inside (final, root) || is_inside (root, final))
    {
      g_set_error (error, GP_PRESET_ERROR, GP_PRESET_ERROR_BAD_VALUE,
                   "--target %s: must lie outside the data root %s (and not contain it)", final, root);
      return FALSE;
    }

  g_autofree char *parent = g_path_get_dirname (final);
  g_autofree char *base = g_path_get_basename (final);
  g_autofree char *work_name = g_strconcat (".", base, WORK_SUFFIX, NULL);
  g_autofree char *work = g_build_filename (parent, work_name, NULL);
  gboolean publish = TRUE;

  /* One writer at a time on a target (and its work directory), taken
   * before looking at what is there: a run publishing its work directory
   * is never seen half-way.  Runs into other targets of the same parent
   * have other lock files. */
  if (!gp_context_get_dry_run (ctx))
    {
      if (!gp_safeio_mkdir_p (parent, 0700, error))
        return FALSE;
      g_autoptr (GError) busy = NULL;
      target->lock = gp_lock_beside (final, GP_LOCK_DEFAULT, NULL, &busy);
      if (target->lock == NULL && opts->wait && g_error_matches (busy, G_IO_ERROR, G_IO_ERROR_BUSY))
        {
          g_autofree char *msg = g_strdup_printf ("--target %s: waiting for the graphpipe run writing it", final);
          if (!opts->quiet && !gp_cli_output_message (GP_EVENT_ITEM_DONE, msg))
            g_printerr ("%s\n", msg);
          target->lock = gp_lock_beside (final, GP_LOCK_WAIT, gp_context_get_cancellable (ctx), error);
        }
      else if (target->lock == NULL)
        g_propagate_error (error, g_steal_pointer (&busy));
      if (target->lock == NULL)
        return FALSE;
    }

  if (g_file_test (final, G_FILE_TEST_EXISTS))
    {
      g_autoptr (GError) local_error = NULL;
      int has = dir_has_entries (final, &local_error);
      if (has < 0)
        {
          g_set_error (error, GP_PRESET_ERROR, GP_PRESET_ERROR_BAD_VALUE, "--target %s: %s", final,
                       local_error->message);
          return FALSE;
        }
      if (has > 0)
        {
          /* An earlier result: updated in place. */
          g_clear_pointer (&work, g_free);
          work = g_strdup (final);
          publish = FALSE;
        }
    }

  if (!gp_context_get_dry_run (ctx) && !gp_safeio_mkdir_p (work, 0700, error))
    return FALSE;
  gp_context_set_target (ctx, work);
  target->final = g_steal_pointer (&final);
  target->work = g_steal_pointer (&work);
  target->publish = publish;
  return TRUE;
}

/**
 * gp_cli_target_publish:
 * @target: a prepared target
 * @error: return location for a #GError
 *
 * Renames the work directory to the final name (replacing an empty
 * directory there) and flushes both, unless the run wrote in place.
 *
 * Returns: %TRUE on success
 */
gboolean
gp_cli_target_publish (GpCliTarget *target, GError **error)
{
  if (target->work == NULL || !target->publish)
    return TRUE;
  if (!gp_safeio_fsync_dir (target->work, error))
    return FALSE;
  if (rename (target->work, target->final) < 0)
    {
      int e = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e),
                   "cannot rename %s to %s: %s (the store is complete in %s; rerun to retry)",
                   target->work, target->final, g_strerror (e), target->work);
      return FALSE;
    }
  g_autofree char *parent = g_path_get_dirname (target->final);
  if (!gp_safeio_fsync_dir (parent, error))
    return FALSE;
  target->publish = FALSE;
  g_free (target->work);
  target->work = g_strdup (target->final);
  return TRUE;
}

/**
 * gp_cli_target_finish:
 * @target: a prepared target whose pipeline ran to its end
 * @publish: whether the store may be published: the run had no failures,
 *   or --publish-partial was given
 * @error: return location for a #GError
 *
 * Publishes the work directory (gp_cli_target_publish()) when @publish;
 * otherwise leaves it where a rerun resumes and says so on stderr.
 *
 * Returns: %TRUE on success
 */
gboolean
gp_cli_target_finish (GpCliTarget *target, gboolean publish, GError **error)
{
  if (publish)
    return gp_cli_target_publish (target, error);
  if (target->work == NULL || !target->publish)
    return TRUE; /* an earlier result, updated in place */
  g_autofree char *message = g_strdup_printf (
    "--target %s: not published, the run had failures; the store so far is in %s, where a "
    "rerun resumes once they are fixed (--publish-partial publishes it as it is)",
    target->final, target->work);
  if (!gp_cli_output_message (GP_EVENT_WARNING, message))
    g_printerr ("graphpipe: warning: %s\n", message);
  return TRUE;
}

void
gp_cli_target_clear (GpCliTarget *target)
{
  g_clear_pointer (&target->final, g_free);
  g_clear_pointer (&target->work, g_free);
  g_clear_pointer (&target->lock, gp_lock_release);
}
