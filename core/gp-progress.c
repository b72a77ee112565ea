/* graphpipe - the progress bar and the JSON-lines event writer.
 *
 * Both are event sinks (gp_context_add_sink()): the context calls them one
 * event at a time under its emit lock, from whichever thread emitted, so
 * their state needs no lock of its own.
 */
#include "config.h"

#include "gp-progress.h"

#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "gp-json.h"

/* At most one bar redraw, and one JSON progress line, per interval. */
#define BAR_REDRAW_US (G_USEC_PER_SEC / 10)
#define JSON_PROGRESS_US (G_USEC_PER_SEC / 4)
#define BAR_CELLS 20

/**
 * gp_progress_bar_supported:
 * @stream: an output stream, e.g. `stderr`
 *
 * Whether a redrawn progress bar makes sense on @stream: it is a terminal
 * and `TERM` is set and not `dumb`.
 *
 * Returns: %TRUE when gp_context_add_progress_bar() may draw on @stream
 *
 * Since: 0.1
 */
gboolean
gp_progress_bar_supported (FILE *stream)
{
  g_return_val_if_fail (stream != NULL, FALSE);
  const char *term = g_getenv ("TERM");
  if (term == NULL || *term == '\0' || strcmp (term, "dumb") == 0)
    return FALSE;
  int fd = fileno (stream);
  return fd >= 0 && isatty (fd);
}

/* ---- the bar ---- */

typedef struct {
  FILE *stream;
  GpVerbosity verbosity;
  char *stage;           /* NULL: no stage running, nothing to draw */
  gint64 stage_start;
  /* Items (item-done events): done/total; a new total starts a new phase
   * for the ETA. */
  guint64 done;
  guint64 total;
  gint64 phase_start;
  guint64 phase_done0;
  /* Units of progress events with a total (e.g. bytes of all layers). */
  guint64 units_done;
  guint64 units_total;
  gint64 units_start;
  guint64 units_done0;
  guint64 item_bytes;    /* sum of item-done bytes */
  guint64 stage_bytes;   /* the largest bytes of a progress event */
  gint64 last_draw;
  gboolean drawn;
} ProgressBar;

static void
progress_bar_free (gpointer data)
{
  ProgressBar *bar = data;
  if (bar->drawn)
    {
      fputs ("\r\033[K", bar->stream);
      fflush (bar->stream);
    }
  g_free (bar->stage);
  g_free (bar);
}

static void
bar_clear (ProgressBar *bar)
{
  if (!bar->drawn)
    return;
  fputs ("\r\033[K", bar->stream);
  bar->drawn = FALSE;
}

static guint64
bar_bytes (ProgressBar *bar)
{
  return MAX (bar->item_bytes, bar->stage_bytes);
}

static void
append_duration (GString *out, double seconds)
{
  guint64 s = seconds < 0 ? 0 : (guint64) (seconds + 0.5);
  if (s >= 3600)
    g_string_append_printf (out, "%" G_GUINT64_FORMAT ":%02u:%02u", s / 3600,
                            (guint) (s / 60 % 60), (guint) (s % 60));
  else
    g_string_append_printf (out, "%u:%02u", (guint) (s / 60), (guint) (s % 60));
}

/* 1023 B, 1.5 KiB, 12.0 MiB: ASCII only (g_format_size() puts a
 * no-break space in). */
static void
append_size (GString *out, guint64 bytes)
{
  static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
  if (bytes < 1024)
    {
      g_string_append_printf (out, "%" G_GUINT64_FORMAT " B", bytes);
      return;
    }
  double v = bytes / 1024.0;
  guint u = 0;
  while (v >= 1024.0 && u + 1 < G_N_ELEMENTS (units))
    {
      v /= 1024.0;
      u++;
    }
  g_string_append_printf (out, "%.1f %s", v, units[u]);
}

static guint
terminal_width (FILE *stream)
{
  struct winsize ws;
  if (ioctl (fileno (stream), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
    return ws.ws_col;
  const char *columns = g_getenv ("COLUMNS");
  guint64 n = 0;
  if (columns != NULL && g_ascii_string_to_unsigned (columns, 10, 1, 1000, &n, NULL))
    return (guint) n;
  return 80;
}

/* The bar's text: stage, [cells], done/total, bytes, rate, ETA. */
static char *
bar_format (ProgressBar *bar, gint64 now)
{
  GString *line = g_string_new (bar->stage);
  double elapsed = (now - bar->stage_start) / (double) G_USEC_PER_SEC;
  guint64 bytes = bar_bytes (bar);

  /* The cells: units when the stage counts them, else items. */
  guint64 cells_done = bar->units_total > 0 ? bar->units_done : bar->done;
  guint64 cells_total = bar->units_total > 0 ? bar->units_total : bar->total;
  if (cells_total > 0)
    {
      guint filled = (guint) (MIN (cells_done, cells_total) * BAR_CELLS / cells_total);
      g_string_append (line, "  [");
      for (guint i = 0; i < BAR_CELLS; i++)
        g_string_append_c (line, i < filled ? '#' : '-');
      g_string_append_c (line, ']');
    }
  if (bar->total > 0)
    g_string_append_printf (line, " %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT,
                            bar->done, bar->total);
  else if (bar->done > 0)
    g_string_append_printf (line, "  %" G_GUINT64_FORMAT " done", bar->done);

  if (bytes > 0)
    {
      g_string_append (line, "  ");
      append_size (line, bytes);
      if (elapsed >= 0.5)
        {
          g_string_append (line, "  ");
          append_size (line, (guint64) (bytes / elapsed));
          g_string_append (line, "/s");
        }
    }
  else if (bar->done > 0 && elapsed >= 0.5)
    g_string_append_printf (line, "  %.1f/s", bar->done / elapsed);

  /* ETA: from the units when counted, else from the items of this phase. */
  double left = -1;
  if (bar->units_total > bar->units_done && bar->units_done > bar->units_done0)
    {
      double t = (now - bar->units_start) / (double) G_USEC_PER_SEC;
      if (t >= 0.5)
        left = t / (double) (bar->units_done - bar->units_done0)
               * (double) (bar->units_total - bar->units_done);
    }
  else if (bar->total > bar->done && bar->done > bar->phase_done0)
    {
      double t = (now - bar->phase_start) / (double) G_USEC_PER_SEC;
      if (t >= 0.5)
        left = t / (double) (bar->done - bar->phase_done0) * (double) (bar->total - bar->done);
    }
  g_string_append (line, left >= 0 ? "  ETA " : "  ");
  append_duration (line, left >= 0 ? left : elapsed);
  return g_string_free (line, FALSE);
}

static void
bar_draw (ProgressBar *bar, gboolean force)
{
  if (bar->stage == NULL)
    return;
  gint64 now = g_get_monotonic_time ();
  if (!force && bar->drawn && now - bar->last_draw < BAR_REDRAW_US)
    return;

  g_autofree char *text = bar_format (bar, now);
  guint width = terminal_width (bar->stream);
  gsize len = strlen (text);
  /* One column short of the width: no automatic wrap. */
  if (width > 1 && len > width - 1)
    len = width - 1;
  fputc ('\r', bar->stream);
  fwrite (text, 1, len, bar->stream);
  fputs ("\033[K", bar->stream);
  fflush (bar->stream);
  bar->drawn = TRUE;
  bar->last_draw = now;
}

/* A permanent line above the bar. */
static void
bar_print_line (ProgressBar *bar, const GpEvent *event)
{
  g_autofree char *line = gp_event_format_line (event);
  bar_clear (bar);
  fprintf (bar->stream, "%s\n", line);
}

static void
bar_reset_stage (ProgressBar *bar, const char *stage)
{
  g_free (bar->stage);
  bar->stage = g_strdup (stage);
  bar->stage_start = bar->phase_start = bar->units_start = g_get_monotonic_time ();
  bar->done = bar->total = bar->phase_done0 = 0;
  bar->units_done = bar->units_total = bar->units_done0 = 0;
  bar->item_bytes = bar->stage_bytes = 0;
}

/* done/total of an item-done event: a different total (or a count going
 * back) starts a new phase for the ETA. */
static void
bar_count (ProgressBar *bar, guint64 done, guint64 total)
{
  if (total != bar->total || done < bar->done)
    {
      bar->phase_start = g_get_monotonic_time ();
      bar->phase_done0 = done > 0 ? done - 1 : 0;
    }
  bar->done = done;
  bar->total = total;
}

/* done/total of a progress event, the same way. */
static void
bar_count_units (ProgressBar *bar, guint64 done, guint64 total)
{
  if (total != bar->units_total || done < bar->units_done)
    {
      bar->units_start = g_get_monotonic_time ();
      bar->units_done0 = done;
    }
  bar->units_done = done;
  bar->units_total = total;
}

static void
progress_bar_func (const GpEvent *event, gpointer user_data)
{
  ProgressBar *bar = user_data;
  gboolean normal = bar->verbosity >= GP_VERBOSITY_NORMAL;

  switch (event->kind)
    {
    case GP_EVENT_STAGE_STARTED:
      bar_clear (bar);
      bar_reset_stage (bar, event->stage != NULL ? event->stage : "");
      if (normal)
        bar_draw (bar, TRUE);
      break;
    case GP_EVENT_STAGE_FINISHED:
      if (normal)
        bar_print_line (bar, event);
      else
        bar_clear (bar);
      g_clear_pointer (&bar->stage, g_free);
      break;
    case GP_EVENT_ITEM_DONE:
      if (event->done > 0 || event->total > 0)
        bar_count (bar, event->done, event->total);
      bar->item_bytes += event->bytes;
      if (bar->verbosity >= GP_VERBOSITY_VERBOSE)
        bar_print_line (bar, event);
      if (normal)
        bar_draw (bar, bar->verbosity >= GP_VERBOSITY_VERBOSE);
      break;
    case GP_EVENT_PROGRESS:
      bar->stage_bytes = MAX (bar->stage_bytes, event->bytes);
      if (event->total > 0)
        bar_count_units (bar, event->done, event->total);
      if (normal)
        bar_draw (bar, FALSE);
      break;
    case GP_EVENT_WARNING:
    case GP_EVENT_ERROR:
      bar_print_line (bar, event);
      if (normal)
        bar_draw (bar, TRUE);
      break;
    case GP_EVENT_REPORT:
      bar_clear (bar);
      g_clear_pointer (&bar->stage, g_free);
      if (normal)
        {
          g_autofree char *text = gp_event_format_line (event);
          fprintf (bar->stream, "%s\n", text);
        }
      break;
    }
  fflush (bar->stream);
}

/**
 * gp_context_add_progress_bar:
 * @ctx: a context
 * @stream: a terminal, e.g. `stderr` (see gp_progress_bar_supported());
 *   must outlive @ctx
 * @verbosity: %GP_VERBOSITY_QUIET draws no bar and prints only warnings
 *   and errors; %GP_VERBOSITY_NORMAL draws the bar and prints finished
 *   stages, warnings, errors and the report as lines above it;
 *   %GP_VERBOSITY_VERBOSE also prints each finished item
 *
 * Adds a sink that keeps one line of @stream redrawn (at most ten times a
 * second) with the running stage's name, items done/total, bytes, rate
 * and ETA.  The line is cleared before any other line is printed, at the
 * end of each stage and at the report, so that the terminal is left clean.
 *
 * Returns: the sink ID
 *
 * Since: 0.1
 */
guint
gp_context_add_progress_bar (GpContext *ctx, FILE *stream, GpVerbosity verbosity)
{
  g_return_val_if_fail (ctx != NULL, 0);
  g_return_val_if_fail (stream != NULL, 0);
  ProgressBar *bar = g_new0 (ProgressBar, 1);
  bar->stream = stream;
  bar->verbosity = verbosity;
  return gp_context_add_sink (ctx, progress_bar_func, bar, progress_bar_free);
}

/* ---- JSON lines ---- */

static void
append_key (GString *out, const char *key)
{
  g_string_append_c (out, ',');
  gp_json_append_string (out, key, strlen (key));
  g_string_append_c (out, ':');
}

static void
append_string_or_null (GString *out, const char *s)
{
  if (s == NULL)
    g_string_append (out, "null");
  else
    gp_json_append_string (out, s, strlen (s));
}

static void
append_uint64 (GString *out, guint64 v)
{
  g_string_append_printf (out, "%" G_GUINT64_FORMAT, v);
}

static void
append_seconds (GString *out, gint64 usec)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  g_string_append (out, g_ascii_formatd (buf, sizeof buf, "%.6f", usec / (double) G_USEC_PER_SEC));
}

/* `{"event":...,"time":...,"stage":...` and the kind's fields, without
 * the closing brace. */
static void
append_event_head (GString *out, const GpEvent *event)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *time = g_date_time_format (now, "%Y-%m-%dT%H:%M:%S.%fZ");
  const char *kind = gp_event_kind_to_string (event->kind);

  g_string_append (out, "{\"event\":");
  gp_json_append_string (out, kind, strlen (kind));
  append_key (out, "time");
  gp_json_append_string (out, time, strlen (time));
  append_key (out, "stage");
  append_string_or_null (out, event->stage);
  if (event->item != NULL)
    {
      append_key (out, "item");
      gp_json_append_string (out, event->item, strlen (event->item));
    }
  if (event->kind == GP_EVENT_ITEM_DONE || event->kind == GP_EVENT_PROGRESS)
    {
      append_key (out, "done");
      append_uint64 (out, event->done);
      append_key (out, "total");
      append_uint64 (out, event->total);
      append_key (out, "bytes");
      append_uint64 (out, event->bytes);
    }
  if (event->message != NULL)
    {
      append_key (out, "message");
      gp_json_append_string (out, event->message, strlen (event->message));
    }
}

/**
 * gp_event_format_json:
 * @event: an event
 *
 * Formats @event as one JSON object on one line: `event` (the kind, see
 * gp_event_kind_to_string()), `time` (now, UTC, RFC 3339 with
 * microseconds), `stage` (a string or null), then `item`, `message` when
 * set, and `done`, `total`, `bytes` for item-done and progress events.
 * Strings are escaped as Go's encoding/json does, so that invalid UTF-8
 * in a path still gives valid JSON.
 *
 * Returns: (transfer full): the object without a newline; free with g_free()
 *
 * Since: 0.1
 */
char *
gp_event_format_json (const GpEvent *event)
{
  g_return_val_if_fail (event != NULL, NULL);
  GString *out = g_string_new (NULL);
  append_event_head (out, event);
  g_string_append_c (out, '}');
  return g_string_free (out, FALSE);
}

typedef struct {
  char *name;
  gint64 start;
  gint64 end;       /* 0 while running or when it did not finish */
} StageTime;

typedef struct {
  GpContext *ctx;   /* borrowed: the sink lives no longer than the context */
  FILE *stream;
  gint64 start;     /* monotonic time of the first event */
  GArray *stages;   /* StageTime */
  gint64 last_progress;
} JsonWriter;

static void
stage_time_clear (gpointer data)
{
  g_free (((StageTime *) data)->name);
}

static void
json_writer_free (gpointer data)
{
  JsonWriter *writer = data;
  g_array_unref (writer->stages);
  g_free (writer);
}

static StageTime *
find_running_stage (JsonWriter *writer, const char *name)
{
  for (guint i = writer->stages->len; i > 0; i--)
    {
      StageTime *t = &g_array_index (writer->stages, StageTime, i - 1);
      if (t->end == 0 && g_strcmp0 (t->name, name) == 0)
        return t;
    }
  return NULL;
}

static void
append_report (GString *out, JsonWriter *writer, gint64 now)
{
  GpContext *ctx = writer->ctx;
  g_autoptr (GPtrArray) problems = gp_context_dup_report (ctx);
  guint n_warnings = 0, n_failures = 0, n_pending = 0;
  gboolean unfinished = FALSE;

  for (guint i = 0; i < problems->len; i++)
    switch (((GpReportEntry *) problems->pdata[i])->kind)
      {
      case GP_REPORT_WARNING:
        n_warnings++;
        break;
      case GP_REPORT_PENDING:
        n_pending++;
        break;
      default:
        n_failures++;
        break;
      }
  for (guint i = 0; i < writer->stages->len; i++)
    if (g_array_index (writer->stages, StageTime, i).end == 0)
      unfinished = TRUE;

  const char *status = "ok";
  if (unfinished && gp_context_is_cancelled (ctx))
    status = "cancelled";
  else if (unfinished || n_failures > 0 || (gp_context_get_strict (ctx) && n_warnings > 0))
    status = "failed";
  append_key (out, "status");
  gp_json_append_string (out, status, strlen (status));
  append_key (out, "seconds");
  append_seconds (out, now - writer->start);

  append_key (out, "counters");
  g_string_append_c (out, '{');
  g_auto (GStrv) names = gp_context_list_counters (ctx);
  for (guint i = 0; names[i] != NULL; i++)
    {
      if (i > 0)
        g_string_append_c (out, ',');
      gp_json_append_string (out, names[i], strlen (names[i]));
      g_string_append_c (out, ':');
      gp_json_append_int64 (out, gp_context_get_counter (ctx, names[i]));
    }
  g_string_append_c (out, '}');

  append_key (out, "warnings");
  append_uint64 (out, n_warnings);
  append_key (out, "failures");
  append_uint64 (out, n_failures);
  append_key (out, "pending");
  append_uint64 (out, n_pending);

  append_key (out, "problems");
  g_string_append_c (out, '[');
  for (guint i = 0; i < problems->len; i++)
    {
      const GpReportEntry *e = problems->pdata[i];
      const char *kind = e->kind == GP_REPORT_WARNING   ? "warning"
                         : e->kind == GP_REPORT_PENDING ? "pending"
                                                        : "failure";
      g_string_append (out, i > 0 ? ",{\"kind\":" : "{\"kind\":");
      gp_json_append_string (out, kind, strlen (kind));
      append_key (out, "stage");
      append_string_or_null (out, e->stage);
      append_key (out, "item");
      append_string_or_null (out, e->item);
      append_key (out, "message");
      append_string_or_null (out, e->message);
      g_string_append_c (out, '}');
    }
  g_string_append_c (out, ']');

  append_key (out, "stages");
  g_string_append_c (out, '[');
  for (guint i = 0; i < writer->stages->len; i++)
    {
      const StageTime *t = &g_array_index (writer->stages, StageTime, i);
      const char *st = t->end != 0 ? "ok" : gp_context_is_cancelled (ctx) ? "cancelled" : "failed";
      g_string_append (out, i > 0 ? ",{\"stage\":" : "{\"stage\":");
      gp_json_append_string (out, t->name, strlen (t->name));
      append_key (out, "status");
      gp_json_append_string (out, st, strlen (st));
      append_key (out, "seconds");
      append_seconds (out, (t->end != 0 ? t->end : now) - t->start);
      g_string_append_c (out, '}');
    }
  g_string_append_c (out, ']');
}

static void
json_writer_func (const GpEvent *event, gpointer user_data)
{
  JsonWriter *writer = user_data;
  gint64 now = g_get_monotonic_time ();

  if (writer->start == 0)
    writer->start = now;
  if (event->kind == GP_EVENT_PROGRESS)
    {
      if (writer->last_progress != 0 && now - writer->last_progress < JSON_PROGRESS_US)
        return;
      writer->last_progress = now;
    }

  g_autoptr (GString) out = g_string_new (NULL);
  append_event_head (out, event);
  switch (event->kind)
    {
    case GP_EVENT_STAGE_STARTED:
      {
        StageTime t = { g_strdup (event->stage != NULL ? event->stage : ""), now, 0 };
        g_array_append_val (writer->stages, t);
      }
      break;
    case GP_EVENT_STAGE_FINISHED:
      {
        StageTime *t = find_running_stage (writer, event->stage != NULL ? event->stage : "");
        if (t != NULL)
          {
            t->end = MAX (now, t->start + 1);
            append_key (out, "seconds");
            append_seconds (out, now - t->start);
          }
      }
      break;
    case GP_EVENT_REPORT:
      append_report (out, writer, now);
      break;
    case GP_EVENT_ITEM_DONE:
    case GP_EVENT_PROGRESS:
    case GP_EVENT_WARNING:
    case GP_EVENT_ERROR:
      break;
    }
  g_string_append (out, "}\n");
  fwrite (out->str, 1, out->len, writer->stream);
  fflush (writer->stream);
}

/**
 * gp_context_add_json_writer:
 * @ctx: a context
 * @stream: where to write, e.g. `stderr` or a file; must outlive @ctx
 *
 * Adds a sink writing one JSON object per line per event
 * (gp_event_format_json()), flushed at once.  Progress events are
 * thinned out to at most four a second.  `stage-finished` objects add
 * `seconds`, the stage's run time.  The `report` object that ends a
 * pipeline run adds `status` (`ok`, `failed` or `cancelled`), `seconds`
 * since the first event, `counters` (every counter of @ctx by name),
 * `warnings` and `failures` (numbers), `problems` (an array of objects
 * with `kind`, `stage`, `item`, `message`) and `stages` (an array of
 * objects with `stage`, `status` and `seconds`, in run order).
 *
 * Returns: the sink ID
 *
 * Since: 0.1
 */
guint
gp_context_add_json_writer (GpContext *ctx, FILE *stream)
{
  g_return_val_if_fail (ctx != NULL, 0);
  g_return_val_if_fail (stream != NULL, 0);
  JsonWriter *writer = g_new0 (JsonWriter, 1);
  writer->ctx = ctx;
  writer->stream = stream;
  writer->stages = g_array_new (FALSE, TRUE, sizeof (StageTime));
  g_array_set_clear_func (writer->stages, stage_time_clear);
  return gp_context_add_sink (ctx, json_writer_func, writer, json_writer_free);
}
