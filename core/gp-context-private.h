/* graphpipe - the context's insides, shared by gp-context.c and
 * gp-context-events.c (never installed). */
#pragma once

#include "gp-context.h"

G_BEGIN_DECLS

typedef struct {
  gpointer data;
  GDestroyNotify destroy;
} GpSlot;

typedef struct {
  guint id;
  GpEventFunc func;
  gpointer user_data;
  GDestroyNotify destroy;
} GpSink;

struct _GpContext {
  gatomicrefcount ref_count;

  /* Run settings: set before the run, read-only while it runs. */
  char *root;
  char *driver;
  char *output;
  char *target;               /* where the store is written; NULL: root */
  char *layers_root;          /* where layer files are read; NULL: root */
  guint jobs;
  gboolean jobs_given; /* gp_context_set_jobs() with a number above 0 */
  gboolean dry_run;
  gboolean read_only_source;
  gboolean strict;
  GHashTable *variables;      /* name -> value */
  GCancellable *cancellable;

  /* Everything below is guarded by @lock. */
  GMutex lock;
  GHashTable *image_ids;      /* v1 ID -> image ID */
  GHashTable *counters;       /* name -> gint64* */
  GPtrArray *report;          /* GpReportEntry* */
  GHashTable *slots;          /* key -> GpSlot* */
  char *current_stage;

  /* Sinks, guarded by @emit_lock, which is held while they run. */
  GRecMutex emit_lock;
  GArray *sinks;              /* GpSink */
  guint next_sink_id;

  /* The store handle, opened lazily from root + driver (guarded by @lock). */
  GpStore *store;
};

G_END_DECLS
