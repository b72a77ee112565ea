/* graphpipe - the context passed down a pipeline: the run's report, and
 * its events and the sinks they go to. */
#include "config.h"

#include "gp-context.h"
#include "gp-context-private.h"
#include "gp-error.h"

#include <string.h>

/* ---- report ---- */

/**
 * gp_context_report:
 * @ctx: a context
 * @kind: warning or failure
 * @item: (nullable): what it is about
 * @format: printf-style message
 * @...: arguments
 *
 * Records a warning, failure or pending item for the end-of-run report
 * and emits it as a %GP_EVENT_WARNING (pending: with the message
 * prefixed "left for the next run: ") or %GP_EVENT_ERROR event.
 * Thread-safe.
 *
 * Since: 0.1
 */
void
gp_context_report (GpContext *ctx, GpReportKind kind, const char *item,
                   const char *format, ...)
{
  g_return_if_fail (ctx != NULL);
  g_return_if_fail (format != NULL);

  va_list args;
  va_start (args, format);
  g_autofree char *message = g_strdup_vprintf (format, args);
  va_end (args);

  GpReportEntry *entry = g_new0 (GpReportEntry, 1);
  entry->kind = kind;
  entry->item = g_strdup (item);
  entry->message = g_strdup (message);
  g_mutex_lock (&ctx->lock);
  entry->stage = g_strdup (ctx->current_stage);
  g_ptr_array_add (ctx->report, entry);
  g_mutex_unlock (&ctx->lock);

  g_autofree char *pending = kind == GP_REPORT_PENDING
                               ? g_strconcat ("left for the next run: ", message, NULL)
                               : NULL;
  GpEvent event = {
    .kind = kind == GP_REPORT_FAILURE ? GP_EVENT_ERROR : GP_EVENT_WARNING,
    .item = item,
    .message = pending != NULL ? pending : message,
  };
  gp_context_emit (ctx, &event);
}

/**
 * gp_context_get_n_reported:
 * @ctx: a context
 * @kind: warning or failure
 *
 * Returns: how many entries of @kind the report holds
 *
 * Since: 0.1
 */
guint
gp_context_get_n_reported (GpContext *ctx, GpReportKind kind)
{
  g_return_val_if_fail (ctx != NULL, 0);
  guint n = 0;
  g_mutex_lock (&ctx->lock);
  for (guint i = 0; i < ctx->report->len; i++)
    if (((GpReportEntry *) ctx->report->pdata[i])->kind == kind)
      n++;
  g_mutex_unlock (&ctx->lock);
  return n;
}

/**
 * gp_context_dup_report:
 * @ctx: a context
 *
 * Returns: (transfer full) (element-type GpReportEntry): a copy of the
 *   report in the order entries were recorded; free with
 *   g_ptr_array_unref(), which frees the entries
 *
 * Since: 0.1
 */
GPtrArray *
gp_context_dup_report (GpContext *ctx)
{
  g_return_val_if_fail (ctx != NULL, NULL);
  GPtrArray *copy = g_ptr_array_new_with_free_func ((GDestroyNotify) gp_report_entry_free);
  g_mutex_lock (&ctx->lock);
  for (guint i = 0; i < ctx->report->len; i++)
    {
      const GpReportEntry *src = ctx->report->pdata[i];
      GpReportEntry *dst = g_new0 (GpReportEntry, 1);
      dst->kind = src->kind;
      dst->stage = g_strdup (src->stage);
      dst->item = g_strdup (src->item);
      dst->message = g_strdup (src->message);
      g_ptr_array_add (copy, dst);
    }
  g_mutex_unlock (&ctx->lock);
  return copy;
}

/**
 * gp_context_format_report:
 * @ctx: a context
 *
 * Formats the final report: one `name: value` line per counter (sorted),
 * then one line per warning, failure and pending item, then a closing line with their
 * numbers.
 *
 * Returns: (transfer full): the text, ending in a newline; free with g_free()
 *
 * Since: 0.1
 */
char *
gp_context_format_report (GpContext *ctx)
{
  g_return_val_if_fail (ctx != NULL, NULL);
  GString *out = g_string_new (NULL);
  g_auto (GStrv) names = gp_context_list_counters (ctx);

  for (guint i = 0; names[i] != NULL; i++)
    g_string_append_printf (out, "%s: %" G_GINT64_FORMAT "\n", names[i],
                            gp_context_get_counter (ctx, names[i]));

  g_autoptr (GPtrArray) report = gp_context_dup_report (ctx);
  guint n_warnings = 0, n_failures = 0, n_pending = 0;
  for (guint i = 0; i < report->len; i++)
    {
      const GpReportEntry *e = report->pdata[i];
      const char *label = "failed";
      if (e->kind == GP_REPORT_WARNING)
        {
          n_warnings++;
          label = "warning";
        }
      else if (e->kind == GP_REPORT_PENDING)
        {
          n_pending++;
          label = "pending";
        }
      else
        n_failures++;
      g_string_append_printf (out, "%s: %s%s%s%s%s%s\n", label,
                              e->stage != NULL ? "[" : "",
                              e->stage != NULL ? e->stage : "",
                              e->stage != NULL ? "] " : "",
                              e->item != NULL ? e->item : "",
                              e->item != NULL ? ": " : "",
                              e->message);
    }
  g_string_append_printf (out, "%u warning%s, %u failure%s",
                          n_warnings, n_warnings == 1 ? "" : "s",
                          n_failures, n_failures == 1 ? "" : "s");
  if (n_pending > 0)
    g_string_append_printf (out, ", %u left for the next run", n_pending);
  g_string_append_c (out, '\n');
  return g_string_free (out, FALSE);
}

/* ---- events ---- */

/**
 * gp_context_add_sink:
 * @ctx: a context
 * @func: called for each event
 * @user_data: passed to @func
 * @destroy: (nullable): frees @user_data when the sink is removed or @ctx
 *   is freed
 *
 * Adds an event sink.  Sinks run in the order they were added, one event
 * at a time, in the emitting thread.  A sink may emit further events (they
 * are delivered recursively) but must not add or remove sinks.
 *
 * Returns: an ID for gp_context_remove_sink(), never 0
 *
 * Since: 0.1
 */
guint
gp_context_add_sink (GpContext *ctx, GpEventFunc func, gpointer user_data,
                     GDestroyNotify destroy)
{
  g_return_val_if_fail (ctx != NULL, 0);
  g_return_val_if_fail (func != NULL, 0);
  g_rec_mutex_lock (&ctx->emit_lock);
  GpSink sink = { ctx->next_sink_id++, func, user_data, destroy };
  g_array_append_val (ctx->sinks, sink);
  g_rec_mutex_unlock (&ctx->emit_lock);
  return sink.id;
}

/**
 * gp_context_remove_sink:
 * @ctx: a context
 * @sink_id: an ID from gp_context_add_sink()
 *
 * Removes a sink and calls its destroy notify.
 *
 * Since: 0.1
 */
void
gp_context_remove_sink (GpContext *ctx, guint sink_id)
{
  g_return_if_fail (ctx != NULL);
  GpSink removed = { 0 };

  g_rec_mutex_lock (&ctx->emit_lock);
  for (guint i = 0; i < ctx->sinks->len; i++)
    if (g_array_index (ctx->sinks, GpSink, i).id == sink_id)
      {
        removed = g_array_index (ctx->sinks, GpSink, i);
        g_array_remove_index (ctx->sinks, i);
        break;
      }
  g_rec_mutex_unlock (&ctx->emit_lock);

  if (removed.id == 0)
    g_critical ("%s: no sink with ID %u", G_STRFUNC, sink_id);
  else if (removed.destroy != NULL)
    removed.destroy (removed.user_data);
}

/**
 * gp_context_emit:
 * @ctx: a context
 * @event: the event; its strings are only borrowed
 *
 * Hands @event to every sink, filling in the running stage's name when
 * @event->stage is %NULL.  Thread-safe: events from several threads are
 * delivered one at a time.
 *
 * Since: 0.1
 */
void
gp_context_emit (GpContext *ctx, const GpEvent *event)
{
  g_return_if_fail (ctx != NULL);
  g_return_if_fail (event != NULL);

  GpEvent copy = *event;
  g_autofree char *stage = NULL;
  if (copy.stage == NULL)
    {
      g_mutex_lock (&ctx->lock);
      stage = g_strdup (ctx->current_stage);
      g_mutex_unlock (&ctx->lock);
      copy.stage = stage;
    }

  g_rec_mutex_lock (&ctx->emit_lock);
  for (guint i = 0; i < ctx->sinks->len; i++)
    {
      GpSink sink = g_array_index (ctx->sinks, GpSink, i);
      sink.func (&copy, sink.user_data);
    }
  g_rec_mutex_unlock (&ctx->emit_lock);
}

/* Emits an event of @kind that counts: @item, @done of @total, @bytes. */
static void
emit_counts (GpContext *ctx, GpEventKind kind, const char *item, guint64 done,
             guint64 total, guint64 bytes, const char *message)
{
  GpEvent event = {
    .kind = kind,
    .item = item,
    .done = done,
    .total = total,
    .bytes = bytes,
    .message = message,
  };
  gp_context_emit (ctx, &event);
}

/**
 * gp_context_emit_item_done:
 * @ctx: a context
 * @item: (nullable): the item finished
 * @done: items done so far
 * @total: items in all, 0 if unknown
 * @bytes: bytes the item held or produced
 * @format: (nullable): printf-style summary of the item
 * @...: arguments
 *
 * Emits a %GP_EVENT_ITEM_DONE event.
 *
 * Since: 0.1
 */
void
gp_context_emit_item_done (GpContext *ctx, const char *item, guint64 done,
                           guint64 total, guint64 bytes, const char *format, ...)
{
  g_return_if_fail (ctx != NULL);
  g_autofree char *message = NULL;

  if (format != NULL)
    {
      va_list args;
      va_start (args, format);
      message = g_strdup_vprintf (format, args);
      va_end (args);
    }

  emit_counts (ctx, GP_EVENT_ITEM_DONE, item, done, total, bytes, message);
}

/**
 * gp_context_emit_progress:
 * @ctx: a context
 * @item: (nullable): what is in progress
 * @done: units done
 * @total: units in all, 0 if unknown
 * @bytes: bytes processed so far
 *
 * Emits a %GP_EVENT_PROGRESS event.
 *
 * Since: 0.1
 */
void
gp_context_emit_progress (GpContext *ctx, const char *item, guint64 done,
                          guint64 total, guint64 bytes)
{
  g_return_if_fail (ctx != NULL);
  emit_counts (ctx, GP_EVENT_PROGRESS, item, done, total, bytes, NULL);
}
