/* Helpers shared by the five migration stages. */
#include "migrate-common.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SLOT_CLOCK "migrate.start-time"

/* The legacy graph travels in this slot (the capability's name) until the
 * context has a typed accessor for it. */
#define SLOT_GRAPH "legacy-graph"

GpGraph *
mig_get_graph (GpContext *ctx, GError **error)
{
  GpGraph *graph = gp_context_get_slot (ctx, SLOT_GRAPH);
  if (graph == NULL)
    g_set_error (error, GP_PRESET_ERROR, GP_PRESET_ERROR_UNMET_REQUIRES,
                 "no legacy graph in the context (run scan-graph first)");
  return graph;
}

void
mig_set_graph (GpContext *ctx, GpGraph *graph)
{
  gp_context_set_slot (ctx, SLOT_GRAPH, gp_graph_ref (graph), (GDestroyNotify) gp_graph_unref);
}

GpStore *
mig_get_store (GpContext *ctx, GError **error)
{
  return gp_context_get_store (ctx, error);
}

void
mig_start_clock (GpContext *ctx)
{
  if (gp_context_has_slot (ctx, SLOT_CLOCK))
    return;
  gint64 *t = g_new (gint64, 1);
  *t = g_get_monotonic_time ();
  gp_context_set_slot (ctx, SLOT_CLOCK, t, g_free);
}

/* Sets the "elapsed ms" counter to the time since scan-graph started. */
void
mig_update_clock (GpContext *ctx)
{
  gint64 *t = gp_context_get_slot (ctx, SLOT_CLOCK);
  if (t == NULL)
    return;
  gint64 ms = (g_get_monotonic_time () - *t) / 1000;
  gp_context_add_counter (ctx, MIG_ELAPSED_MS, ms - gp_context_get_counter (ctx, MIG_ELAPSED_MS));
}

void
mig_info (GpContext *ctx, const char *item, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *message = g_strdup_vprintf (format, args);
  va_end (args);
  GpEvent event = {
    .kind = GP_EVENT_ITEM_DONE,
    .item = item,
    .message = message,
  };
  gp_context_emit (ctx, &event);
}

/* Reports a failed image once (the caller checked
 * gp_graph_image_take_report()).  Into a private store (export-legacy)
 * every legacy image is migrated on the way, not only those asked for:
 * there a failed image is a warning, and the sink fails on the names
 * that need it. */
void
mig_fail (GpContext *ctx, GpGraphImage *image)
{
  if (gp_context_has_slot (ctx, MIG_SLOT_TEMP_TARGET))
    gp_context_report (ctx, GP_REPORT_WARNING, NULL,
                       "image %s not migrated (an error only for the names that need it): %s",
                       image->id, image->error->message);
  else
    gp_context_report (ctx, GP_REPORT_FAILURE, NULL, "image %s not migrated: %s", image->id,
                       image->error->message);
}

/* Counts and reports a failed image, the first time only. */
void
mig_image_failed (GpContext *ctx, GpGraphImage *image)
{
  if (!gp_graph_image_take_report (image))
    return;
  gp_context_add_counter (ctx, MIG_IMAGES_FAILED, 1);
  mig_fail (ctx, image);
}

/* Whether nothing may be written inside graph/: --read-only-source, or a
 * store written to a --target. */
gboolean
mig_source_read_only (GpContext *ctx)
{
  return gp_context_get_read_only_source (ctx) || gp_context_get_target (ctx) != NULL;
}

/* A migration in place leaves the data root at mode 0701, as the Docker
 * 1.10.3 daemon does: it sets that mode on its root at every start, before
 * it migrates (setupDaemonRoot: o+x, so that processes of other users can
 * reach the mounted layers).  Not with --target (the root is only read) and
 * not in a dry run.  Only when the mode differs, so that a rerun changes
 * nothing, not even the root's ctime; then the root is flushed at once (one
 * fsync, whatever the sync mode), so the mode is durable before the store
 * is written, and a crash before that fsync only leaves it to the rerun. */
gboolean
mig_set_root_mode (GpContext *ctx, GError **error)
{
  const char *root = gp_context_get_root (ctx);
  if (root == NULL || gp_context_get_target (ctx) != NULL || gp_context_get_dry_run (ctx))
    return TRUE;

  int fd = open (root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    {
      int e = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "%s: cannot open: %s", root,
                   g_strerror (e));
      return FALSE;
    }
  struct stat st;
  int e = 0;
  if (fstat (fd, &st) < 0)
    e = errno;
  else if ((st.st_mode & 07777) != MIG_ROOT_MODE
           && (fchmod (fd, MIG_ROOT_MODE) < 0 || (fsync (fd) < 0 && errno != EINVAL && errno != EROFS)))
    e = errno;
  close (fd);
  if (e != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "%s: cannot set mode %04o: %s", root,
                   MIG_ROOT_MODE, g_strerror (e));
      return FALSE;
    }
  return TRUE;
}

/* Where the migration writes its store, mapping file and tag marker: the
 * data root, or the --target. */
const char *
mig_dest_root (GpContext *ctx)
{
  return gp_context_get_store_root (ctx);
}

/* graph/<id>, or (mig_source_read_only())
 * <dest>/image/<driver>/graphpipe-migration/<id>. */
char *
mig_helper_dir (GpContext *ctx, const char *v1_id)
{
  if (mig_source_read_only (ctx))
    return g_build_filename (mig_dest_root (ctx), "image", gp_context_get_driver (ctx), MIG_HELPER_DIR,
                             v1_id, NULL);
  return g_build_filename (gp_context_get_root (ctx), "graph", v1_id, NULL);
}

char *
mig_helper_path (GpContext *ctx, const char *v1_id, const char *name)
{
  g_autofree char *dir = mig_helper_dir (ctx, v1_id);
  return g_build_filename (dir, name, NULL);
}

/* graph/<id>/checksum, raw bytes (no trimming); NULL if unreadable or not
 * a valid digest (§1.4: ignored silently). */
char *
mig_read_blob_digest (const char *root, const char *v1_id)
{
  g_autofree char *path = g_build_filename (root, "graph", v1_id, "checksum", NULL);
  gsize len;
  g_autofree char *data = gp_safeio_read_file (path, 4096, &len, NULL);
  GpDigest digest;

  if (data == NULL || strlen (data) != len || !gp_digest_parse (data, (gssize) len, &digest, NULL))
    return NULL;
  return g_steal_pointer (&data);
}

/* D.5-7's writes for one image, whose @config passed (build-configs, or
 * register-layers' writer ahead of it): the config into imagedb, then
 * the link to @parent_id (nullable), each followed by its crash point.
 * Returns the image ID, or NULL with @error set (a store error). */
char *
mig_write_image (GpContext *ctx, GpStore *store, GBytes *config, const char *parent_id, GError **error)
{
  g_autofree char *image_id = gp_store_put_image_config (store, g_bytes_get_data (config, NULL),
                                                         g_bytes_get_size (config), error);
  if (image_id == NULL)
    return NULL;
  mig_crash_point (ctx, "image config written");
  if (parent_id != NULL && !gp_store_set_image_parent (store, image_id, parent_id, error))
    return NULL;
  mig_crash_point (ctx, "image parent written");
  return g_steal_pointer (&image_id);
}

/* ---- crash points for the kill-and-rerun tests ----
 *
 * Points between the writes of the migration, where a killed run must be
 * resumable; counted together with the points inside the library's
 * durable writes (gp_safeio_crash_point(): GRAPHPIPE_TEST_CRASH_AT=N,
 * GRAPHPIPE_TEST_CRASH_BYTES=N, GRAPHPIPE_TEST_CRASH_LOG=1). */

void
mig_crash_point (GpContext *ctx, const char *label)
{
  gp_safeio_crash_point (label);
}
