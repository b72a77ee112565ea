/* graphpipe - the write session of a run, on its context.
 *
 * The session itself (lock, recovery, batched durability) is the store's:
 * core/store/gp-sync.c.  It reports through the GpSyncSink it is handed;
 * this file fills one from a GpContext: messages become
 * %GP_EVENT_ITEM_DONE events, warnings the context's warnings, counters the context's counters, and the
 * store to sweep is the context's.
 */
#include "config.h"

#include "gp-sync-session.h"

#include <string.h>

#include "gp-sync-private.h"

static void
sink_info (gpointer user_data, const char *message)
{
  GpEvent event = { .kind = GP_EVENT_ITEM_DONE, .message = message };
  gp_context_emit (user_data, &event);
}

static void
sink_warn (gpointer user_data, const char *item, const char *message)
{
  gp_context_report (user_data, GP_REPORT_WARNING, item, "%s", message);
}

static void
sink_add_counter (gpointer user_data, const char *name, gint64 delta)
{
  gp_context_add_counter (user_data, name, delta);
}

static GpStore *
sink_get_store (gpointer user_data, GError **error)
{
  return gp_context_get_store (user_data, error);
}

static GpSyncSink
sink_of (GpContext *ctx)
{
  return (GpSyncSink) {
    .store_root = gp_context_get_store_root (ctx),
    .root = gp_context_get_root (ctx),
    .cancellable = gp_context_get_cancellable (ctx),
    .info = sink_info,
    .warn = sink_warn,
    .add_counter = sink_add_counter,
    .get_store = sink_get_store,
    .user_data = ctx,
  };
}

/**
 * gp_sync_session_begin:
 * @ctx: the context of a run that writes the store at
 *   gp_context_get_store_root()
 * @error: return location for a #GError
 *
 * gp_sync_session_begin_full() with %GP_SYNC_BATCH and no waiting.
 *
 * Returns: %TRUE when the session started.
 */
gboolean
gp_sync_session_begin (GpContext *ctx, GError **error)
{
  return gp_sync_session_begin_full (ctx, GP_SYNC_BATCH, GP_SYNC_DEFAULT, error);
}

/**
 * gp_sync_session_begin_full:
 * @ctx: the context of a run that writes the store at
 *   gp_context_get_store_root() (an existing directory)
 * @mode: how the writes are made durable
 * @flags: #GpSyncFlags
 * @error: return location for a #GError
 *
 * Starts the write session of a run, before it writes anything:
 * - takes the store's write lock (gp_lock_dir()): another run writing the
 *   same store makes this fail at once with %G_IO_ERROR_BUSY naming it,
 *   or with %GP_SYNC_WAIT wait for it;
 * - checks the marker an earlier batch session may have left; if that
 *   session ended with a machine crash, removes what it may have left torn
 *   (see the top of gp-sync.c), in either mode;
 * - with %GP_SYNC_BATCH, starts deferral (gp_safeio_defer_begin()): the
 *   marker, with this boot's ID, is written durably just before the first
 *   deferred write, so a run with nothing to do writes nothing.
 * Call gp_sync_session_end() when the run ends, whether it succeeded or
 * not; it releases the lock.
 *
 * Returns: %TRUE when the session started.
 */
gboolean
gp_sync_session_begin_full (GpContext *ctx, GpSyncMode mode, GpSyncFlags flags, GError **error)
{
  GpSyncSink sink = sink_of (ctx);
  return _gp_sync_session_begin (&sink, mode, flags, error);
}

/**
 * gp_sync_session_end:
 * @ctx: the context given to gp_sync_session_begin()
 * @error: return location for a #GError
 *
 * Syncs every file system the run wrote to (one syncfs() each), then
 * removes the marker durably.  When the sync fails the marker stays.
 *
 * Returns: %TRUE when everything the run wrote is durable.
 */
gboolean
gp_sync_session_end (GpContext *ctx, GError **error)
{
  GpSyncSink sink = sink_of (ctx);
  return _gp_sync_session_end (&sink, error);
}

/**
 * gp_sync_pipeline_writes:
 * @pipeline: a pipeline
 *
 * Whether running @pipeline writes the store at the context's store root,
 * so that it needs a write session (gp_sync_session_begin_full()): one of
 * its stages provides `layers`, `images`, `tags` or `store-writes` (the
 * capability a third-party stage that writes the store declares), and no
 * stage sets a `target` option of its own (a private store, such as the
 * temporary one of the `export-legacy` preset, is nobody else's).
 *
 * Returns: %TRUE when it writes the shared store
 */
gboolean
gp_sync_pipeline_writes (GpPipeline *pipeline)
{
  static const char *const writes[] = { "layers", "images", "tags", "store-writes", NULL };
  gboolean found = FALSE;
  for (guint i = 0; i < gp_pipeline_get_n_stages (pipeline); i++)
    {
      GpStage *stage = gp_pipeline_get_stage (pipeline, i);
      const GpStageDesc *desc = gp_stage_get_desc (stage);
      for (const GpOption *o = desc->options; o != NULL && o->key != NULL; o++)
        if (strcmp (o->key, "target") == 0)
          {
            const char *t = gp_stage_get_string (stage, "target");
            if (t != NULL && *t != '\0')
              return FALSE;
          }
      for (const char *const *p = desc->provides; p != NULL && *p != NULL; p++)
        found = found || g_strv_contains (writes, *p);
    }
  return found;
}
