/* graphpipe - the context passed down a pipeline.
 *
 * One GpContext per run: the run's settings, the variables presets refer
 * to, the v1-ID -> image-ID mapping, the cancellable, counters and the
 * warning/failure report for the end of the run, the event sinks, and a
 * keyed slot table through which stages pass data to later stages.
 * Refcounted and opaque; everything that stages may call from worker
 * threads (counters, report, events, slots) is thread-safe.
 */
#pragma once

#include <stdio.h>
#include <gio/gio.h>

#include "gp-macros.h"
#include "gp-event.h"
#include "gp-store.h"

G_BEGIN_DECLS

typedef struct _GpContext GpContext;

/**
 * GpReportKind:
 * @GP_REPORT_WARNING: the item was handled, with a problem worth telling
 * @GP_REPORT_FAILURE: the item could not be handled
 * @GP_REPORT_PENDING: the item was left for the next run: what it needs
 *   failed in this run for a reason that a rerun, once the cause is
 *   fixed, can overcome (the failure itself is reported as such)
 *
 * The kind of an entry in the end-of-run report.
 */
typedef enum {
  GP_REPORT_WARNING,
  GP_REPORT_FAILURE,
  GP_REPORT_PENDING,
} GpReportKind;

/**
 * GpReportEntry:
 * @kind: warning, failure or pending
 * @stage: (nullable): the stage that recorded it
 * @item: (nullable): what it is about
 * @message: what happened
 *
 * One entry of the report; see gp_context_dup_report().
 */
typedef struct {
  GpReportKind kind;
  char *stage;
  char *item;
  char *message;
} GpReportEntry;

GP_API void gp_report_entry_free (GpReportEntry *entry);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GpReportEntry, gp_report_entry_free)

GP_API GpContext *gp_context_new (void);
GP_API GpContext *gp_context_ref (GpContext *ctx);
GP_API void gp_context_unref (GpContext *ctx);

/* Run settings */
GP_API const char *gp_context_get_root (GpContext *ctx);
GP_API void gp_context_set_root (GpContext *ctx, const char *root);
GP_API const char *gp_context_get_driver (GpContext *ctx);
GP_API void gp_context_set_driver (GpContext *ctx, const char *driver);
GP_API guint gp_context_get_jobs (GpContext *ctx);
GP_API void gp_context_for_each_parallel (GpContext *ctx, GPtrArray *items, guint max_threads,
                                          GFunc func);
GP_API void gp_context_set_jobs (GpContext *ctx, guint jobs);
GP_API guint gp_context_get_io_jobs (GpContext *ctx);
GP_API gboolean gp_context_get_dry_run (GpContext *ctx);
GP_API void gp_context_set_dry_run (GpContext *ctx, gboolean dry_run);
GP_API gboolean gp_context_get_read_only_source (GpContext *ctx);
GP_API void gp_context_set_read_only_source (GpContext *ctx, gboolean read_only);
GP_API gboolean gp_context_get_strict (GpContext *ctx);
GP_API void gp_context_set_strict (GpContext *ctx, gboolean strict);
GP_API const char *gp_context_get_output (GpContext *ctx);
GP_API void gp_context_set_output (GpContext *ctx, const char *output);
GP_API const char *gp_context_get_target (GpContext *ctx);
GP_API void gp_context_set_target (GpContext *ctx, const char *target);
GP_API const char *gp_context_get_store_root (GpContext *ctx);
GP_API const char *gp_context_get_layers_root (GpContext *ctx);
GP_API void gp_context_set_layers_root (GpContext *ctx, const char *layers_root);

/* Variables for ${name} in presets */
GP_API void gp_context_set_variable (GpContext *ctx, const char *name, const char *value);
GP_API const char *gp_context_get_variable (GpContext *ctx, const char *name);
GP_API char **gp_context_list_variables (GpContext *ctx);

/* v1 ID -> image ID mapping */
GP_API void gp_context_set_image_id (GpContext *ctx, const char *v1_id, const char *image_id);
GP_API const char *gp_context_lookup_image_id (GpContext *ctx, const char *v1_id);
GP_API guint gp_context_get_n_image_ids (GpContext *ctx);
GP_API char **gp_context_list_v1_ids (GpContext *ctx);

/* Cancellation */
GP_API GCancellable *gp_context_get_cancellable (GpContext *ctx);
GP_API gboolean gp_context_is_cancelled (GpContext *ctx);
GP_API gboolean gp_context_set_error_if_cancelled (GpContext *ctx, GError **error);

/* Counters for the final report (thread-safe) */
GP_API gint64 gp_context_add_counter (GpContext *ctx, const char *name, gint64 delta);
GP_API gint64 gp_context_get_counter (GpContext *ctx, const char *name);
GP_API char **gp_context_list_counters (GpContext *ctx);

/* Warnings and failures (thread-safe) */
GP_API void gp_context_report (GpContext *ctx, GpReportKind kind, const char *item,
                               const char *format, ...) G_GNUC_PRINTF (4, 5);
GP_API guint gp_context_get_n_reported (GpContext *ctx, GpReportKind kind);
GP_API GPtrArray *gp_context_dup_report (GpContext *ctx);
GP_API char *gp_context_format_report (GpContext *ctx);

/* Events (thread-safe) */
GP_API guint gp_context_add_sink (GpContext *ctx, GpEventFunc func, gpointer user_data,
                                  GDestroyNotify destroy);
GP_API void gp_context_remove_sink (GpContext *ctx, guint sink_id);
GP_API guint gp_context_add_line_logger (GpContext *ctx, FILE *stream, GpVerbosity verbosity);
GP_API void gp_context_emit (GpContext *ctx, const GpEvent *event);
GP_API void gp_context_emit_item_done (GpContext *ctx, const char *item, guint64 done,
                                       guint64 total, guint64 bytes,
                                       const char *format, ...) G_GNUC_PRINTF (6, 7);
GP_API void gp_context_emit_progress (GpContext *ctx, const char *item, guint64 done,
                                      guint64 total, guint64 bytes);
GP_API const char *gp_context_get_current_stage (GpContext *ctx);
GP_API void gp_context_set_current_stage (GpContext *ctx, const char *stage);

/* Keyed slots: data stages pass to later stages (thread-safe) */
GP_API void gp_context_set_slot (GpContext *ctx, const char *key, gpointer data,
                                 GDestroyNotify destroy);
GP_API gpointer gp_context_get_slot (GpContext *ctx, const char *key);
GP_API gpointer gp_context_steal_slot (GpContext *ctx, const char *key);
GP_API gboolean gp_context_has_slot (GpContext *ctx, const char *key);

/* The 1.10+ store under root + driver, opened on first use. */
GP_API GpStore *gp_context_get_store (GpContext *ctx, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GpContext, gp_context_unref)

G_END_DECLS
