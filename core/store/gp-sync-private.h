/* graphpipe - the write session as the store level runs it (never
 * installed).  The runtime (core/gp-sync-session.c) hands it a GpSyncSink
 * filled from its GpContext; the store level knows no context. */
#pragma once

#include "gp-sync.h"
#include "gp-store.h"

#include <gio/gio.h>

G_BEGIN_DECLS

/* What a write session works on and reports through.  The caller fills
 * it for each call; the strings and the callbacks' data stay valid for
 * the call.  @user_data also names the session's owner: the end must
 * come with the user_data the beginning had. */
typedef struct {
  const char   *store_root;   /* the store's directory (it exists) */
  const char   *root;         /* (nullable) the data root the run reads */
  GCancellable *cancellable;  /* (nullable) stops a wait for the lock */
  /* A line for the user (what the sweep removed, whom it waits for). */
  void     (*info)        (gpointer user_data, const char *message);
  /* A warning about the store (@item: its path): the run goes on. */
  void     (*warn)        (gpointer user_data, const char *item, const char *message);
  /* Adds @delta to the run's counter @name. */
  void     (*add_counter) (gpointer user_data, const char *name, gint64 delta);
  /* The store to sweep after a crash (opened when first needed);
   * (transfer none), %NULL with @error set when it cannot be opened. */
  GpStore *(*get_store)   (gpointer user_data, GError **error);
  gpointer      user_data;
} GpSyncSink;

gboolean _gp_sync_session_begin (const GpSyncSink *sink, GpSyncMode mode, GpSyncFlags flags,
                                 GError **error);
gboolean _gp_sync_session_end   (const GpSyncSink *sink, GError **error);

G_END_DECLS
