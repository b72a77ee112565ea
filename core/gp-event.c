/* graphpipe - events and the plain-line logger. */
#include "config.h"

#include "gp-event.h"
#include "gp-context.h"

/**
 * gp_event_kind_to_string:
 * @kind: an event kind
 *
 * Returns: (transfer none): the kind's lowercase-hyphenated name
 *   (`stage-started`, `item-done`, ...), or `unknown`
 *
 * Since: 0.1
 */
const char *
gp_event_kind_to_string (GpEventKind kind)
{
  switch (kind)
    {
    case GP_EVENT_STAGE_STARTED:
      return "stage-started";
    case GP_EVENT_STAGE_FINISHED:
      return "stage-finished";
    case GP_EVENT_ITEM_DONE:
      return "item-done";
    case GP_EVENT_PROGRESS:
      return "progress";
    case GP_EVENT_WARNING:
      return "warning";
    case GP_EVENT_ERROR:
      return "error";
    case GP_EVENT_REPORT:
      return "report";
    }
  return "unknown";
}

/**
 * gp_event_format_line:
 * @event: an event
 *
 * Formats @event as the plain text the line logger prints:
 * `[stage] started`, `[stage] finished (0.12 s)`, `[stage] item: message`, `[stage] warning: item:
 * message`, or the report's own text.
 *
 * Returns: (transfer full): the text without a final newline; free with
 *   g_free()
 *
 * Since: 0.1
 */
char *
gp_event_format_line (const GpEvent *event)
{
  g_return_val_if_fail (event != NULL, NULL);
  GString *line = g_string_new (NULL);

  if (event->kind == GP_EVENT_REPORT)
    {
      g_string_append (line, event->message != NULL ? event->message : "");
      while (line->len > 0 && line->str[line->len - 1] == '\n')
        g_string_truncate (line, line->len - 1);
      return g_string_free (line, FALSE);
    }

  if (event->stage != NULL)
    g_string_append_printf (line, "[%s] ", event->stage);

  switch (event->kind)
    {
    case GP_EVENT_STAGE_STARTED:
    case GP_EVENT_STAGE_FINISHED:
      g_string_append (line, event->kind == GP_EVENT_STAGE_STARTED ? "started" : "finished");
      if (event->message != NULL)
        g_string_append_printf (line, " (%s)", event->message);
      break;
    case GP_EVENT_WARNING:
    case GP_EVENT_ERROR:
      g_string_append (line, event->kind == GP_EVENT_WARNING ? "warning: " : "error: ");
      if (event->item != NULL)
        g_string_append_printf (line, "%s: ", event->item);
      g_string_append (line, event->message != NULL ? event->message : "(no message)");
      break;
    case GP_EVENT_ITEM_DONE:
      if (event->item != NULL)
        g_string_append_printf (line, "%s: ", event->item);
      if (event->message != NULL)
        g_string_append (line, event->message);
      else if (event->total > 0)
        g_string_append_printf (line, "done (%" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT ")",
                                event->done, event->total);
      else
        g_string_append (line, "done");
      break;
    case GP_EVENT_PROGRESS:
      if (event->item != NULL)
        g_string_append_printf (line, "%s: ", event->item);
      g_string_append_printf (line, "%" G_GUINT64_FORMAT, event->done);
      if (event->total > 0)
        g_string_append_printf (line, "/%" G_GUINT64_FORMAT, event->total);
      if (event->bytes > 0)
        g_string_append_printf (line, ", %" G_GUINT64_FORMAT " bytes", event->bytes);
      break;
    case GP_EVENT_REPORT:
      break;
    }

  return g_string_free (line, FALSE);
}

typedef struct {
  FILE *stream;
  GpVerbosity verbosity;
} GpLineLogger;

static gboolean
line_logger_wants (GpVerbosity verbosity, GpEventKind kind)
{
  switch (kind)
    {
    case GP_EVENT_WARNING:
    case GP_EVENT_ERROR:
      return TRUE;
    case GP_EVENT_STAGE_STARTED:
    case GP_EVENT_STAGE_FINISHED:
    case GP_EVENT_ITEM_DONE:
    case GP_EVENT_REPORT:
      return verbosity >= GP_VERBOSITY_NORMAL;
    case GP_EVENT_PROGRESS:
      return verbosity >= GP_VERBOSITY_VERBOSE;
    }
  return FALSE;
}

static void
line_logger_func (const GpEvent *event, gpointer user_data)
{
  GpLineLogger *logger = user_data;

  if (!line_logger_wants (logger->verbosity, event->kind))
    return;
  g_autofree char *line = gp_event_format_line (event);
  fprintf (logger->stream, "%s\n", line);
  fflush (logger->stream);
}

/**
 * gp_context_add_line_logger:
 * @ctx: a context
 * @stream: where to print, e.g. `stderr`; must outlive @ctx
 * @verbosity: how much to print
 *
 * Adds the plain logger: one line per event (gp_event_format_line()),
 * flushed at once.  Warnings and errors are always printed.
 *
 * Returns: the sink ID
 *
 * Since: 0.1
 */
guint
gp_context_add_line_logger (GpContext *ctx, FILE *stream, GpVerbosity verbosity)
{
  g_return_val_if_fail (ctx != NULL, 0);
  g_return_val_if_fail (stream != NULL, 0);
  GpLineLogger *logger = g_new0 (GpLineLogger, 1);
  logger->stream = stream;
  logger->verbosity = verbosity;
  return gp_context_add_sink (ctx, line_logger_func, logger, g_free);
}
