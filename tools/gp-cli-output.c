/* graphpipe - the command line: what a run prints (--progress, --events,
 * --quiet, --verbose).
 *
 * Standard error shows, by --progress: a live bar on a terminal and plain
 * lines elsewhere (auto, the default), always the bar, always plain lines,
 * JSON lines (json) or nothing but warnings and errors (none).  --events
 * FILE writes JSON lines to FILE as well, whatever stderr shows.  When
 * stderr takes JSON, every message the command itself prints (errors, the
 * interruption notice) is a JSON line too, so that a batch job can parse
 * every line.  The events file is opened once per process and shared by
 * every run, so a batch of runs writes one stream.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "gp-cli.h"

typedef enum {
  MODE_AUTO,
  MODE_BAR,
  MODE_PLAIN,
  MODE_JSON,
  MODE_NONE,
} OutputMode;

static const char *const mode_names[] = { "auto", "bar", "plain", "json", "none", NULL };

static gboolean output_ready;

static int
compare_strptr (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static OutputMode output_mode;
static FILE *events_file;
static gint json_on_stderr; /* atomic: read by the signal thread */

/* Parses --progress and opens --events FILE, once.  Returns GP_EXIT_OK or
 * GP_EXIT_USAGE with the message printed. */
int
gp_cli_output_init (const char *command, GpCliOptions *opts)
{
  if (output_ready)
    return GP_EXIT_OK;

  OutputMode mode = MODE_AUTO;
  if (opts->progress != NULL)
    {
      guint i;
      for (i = 0; mode_names[i] != NULL; i++)
        if (strcmp (opts->progress, mode_names[i]) == 0)
          break;
      if (mode_names[i] == NULL)
        return gp_cli_usage_error (command, "--progress=%s: expected auto, bar, plain, json "
                                   "or none", opts->progress);
      mode = (OutputMode) i;
    }
  if (opts->events != NULL)
    {
      if (*opts->events == '\0')
        return gp_cli_usage_error (command, "--events: empty file name");
      events_file = fopen (opts->events, "we");
      if (events_file == NULL)
        {
          int e = errno;
          return gp_cli_usage_error (command, "--events %s: cannot create: %s", opts->events,
                                     g_strerror (e));
        }
    }
  if (mode == MODE_AUTO)
    mode = gp_progress_bar_supported (stderr) ? MODE_BAR : MODE_PLAIN;
  output_mode = mode;
  output_ready = TRUE;
  g_atomic_int_set (&json_on_stderr, mode == MODE_JSON);
  return GP_EXIT_OK;
}

/* Whether stderr takes JSON lines (then plain text must not go there). */
gboolean
gp_cli_output_is_json (void)
{
  return g_atomic_int_get (&json_on_stderr);
}

/* Adds the sinks --progress, --events, --quiet and --verbose ask for. */
void
gp_cli_output_attach (GpContext *ctx, GpCliOptions *opts)
{
  GpVerbosity verbosity = opts->quiet ? GP_VERBOSITY_QUIET
                          : opts->verbose ? GP_VERBOSITY_VERBOSE
                          : GP_VERBOSITY_NORMAL;
  g_assert (output_ready);

  switch (output_mode)
    {
    case MODE_BAR:
      gp_context_add_progress_bar (ctx, stderr, verbosity);
      break;
    case MODE_AUTO:
    case MODE_PLAIN:
      gp_context_add_line_logger (ctx, stderr, verbosity);
      break;
    case MODE_JSON:
      gp_context_add_json_writer (ctx, stderr);
      break;
    case MODE_NONE:
      gp_context_add_line_logger (ctx, stderr, GP_VERBOSITY_QUIET);
      break;
    }
  if (events_file != NULL)
    gp_context_add_json_writer (ctx, events_file);
}

/* Writes a message of the command itself (not of a stage) as a JSON event
 * to the events file and, in JSON mode, to stderr.  Returns TRUE when
 * stderr got it, so that the caller prints no text. */
gboolean
gp_cli_output_message (GpEventKind kind, const char *message)
{
  if (events_file == NULL && !gp_cli_output_is_json ())
    return FALSE;
  GpEvent event = { .kind = kind, .message = message };
  g_autofree char *line = gp_event_format_json (&event);
  if (events_file != NULL)
    {
      fprintf (events_file, "%s\n", line);
      fflush (events_file);
    }
  if (!gp_cli_output_is_json ())
    return FALSE;
  fprintf (stderr, "%s\n", line);
  fflush (stderr);
  return TRUE;
}

/* Ends a command that ran no pipeline but has something to say (e.g.
 * nothing to migrate): a report event with @message and zero counters,
 * printed as the sinks print reports.  Returns the exit status. */
/* The prologue of the two below: the output set up, then @format's
 * message; NULL (with *out_status) when the output cannot be set up. */
static char *
init_and_format (const char *command, GpCliOptions *opts, int *out_status, const char *format,
                 va_list args) G_GNUC_PRINTF (4, 0);

static char *
init_and_format (const char *command, GpCliOptions *opts, int *out_status, const char *format,
                 va_list args)
{
  *out_status = gp_cli_output_init (command, opts);
  if (*out_status != GP_EXIT_OK)
    return NULL;
  return g_strdup_vprintf (format, args);
}

int
gp_cli_report_nothing (const char *command, GpCliOptions *opts, const char *format, ...)
{
  int status;
  va_list args;
  va_start (args, format);
  g_autofree char *message = init_and_format (command, opts, &status, format, args);
  va_end (args);
  if (message == NULL)
    return status;

  g_autoptr (GpContext) ctx = gp_context_new ();
  gp_cli_output_attach (ctx, opts);
  GpEvent event = { .kind = GP_EVENT_REPORT, .message = message };
  gp_context_emit (ctx, &event);
  return GP_EXIT_OK;
}

/* Ends a command that fails before its pipeline runs for a reason of the
 * system, not of its usage (a data root that cannot be read): prints
 * "graphpipe COMMAND: error: MESSAGE" (a JSON error event in JSON mode)
 * and returns GP_EXIT_FAILED. */
int
gp_cli_fail (const char *command, GpCliOptions *opts, const char *format, ...)
{
  int status;
  va_list args;
  va_start (args, format);
  g_autofree char *message = init_and_format (command, opts, &status, format, args);
  va_end (args);
  if (message == NULL)
    return status;
  g_autofree char *full = g_strdup_printf ("graphpipe %s: error: %s", command, message);
  if (!gp_cli_output_message (GP_EVENT_ERROR, full))
    g_printerr ("%s\n", full);
  return GP_EXIT_FAILED;
}

/* A directory of the root the command reads (graph/, image/): whether it
 * exists, and when it does, that it can be read ("PATH: cannot read
 * WHAT: why", exit 1), so that an unreadable root is said so and not
 * taken for an empty one.  Returns GP_EXIT_OK to go on, else the exit
 * status (the message printed). */
int
gp_cli_probe_readable_dir (const char *command, GpCliOptions *opts, const char *name,
                           const char *what, gboolean *out_exists)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = g_build_filename (opts->root, name, NULL);
  if (!gp_path_probe (path, out_exists, &error))
    return gp_cli_fail (command, opts, "%s", error->message);
  if (*out_exists && access (path, R_OK | X_OK) != 0)
    {
      int e = errno;
      return gp_cli_fail (command, opts, "%s: cannot read %s: %s", path, what, g_strerror (e));
    }
  return GP_EXIT_OK;
}

/* "it holds: overlay2, vfs": the drivers whose data (legacy files, driver
 * directories, image/<driver>/ stores) @root holds, for the message that
 * refuses a --driver it does not hold. */
char *
gp_cli_describe_root (const char *root)
{
  g_auto (GStrv) detected = gp_driver_detect (root);
  g_auto (GStrv) stores = gp_driver_list_stores (root);
  g_autoptr (GPtrArray) all = g_ptr_array_new ();
  for (guint i = 0; detected[i] != NULL; i++)
    g_ptr_array_add (all, detected[i]);
  for (guint i = 0; stores[i] != NULL; i++)
    if (!g_strv_contains ((const char *const *) detected, stores[i]))
      g_ptr_array_add (all, stores[i]);
  if (all->len == 0)
    return g_strdup ("it holds no data of any storage driver");
  g_ptr_array_sort (all, (GCompareFunc) compare_strptr);
  g_ptr_array_add (all, NULL);
  g_autofree char *list = g_strjoinv (", ", (char **) all->pdata);
  return g_strconcat ("it holds: ", list, NULL);
}

/* With --driver D on a root: refuses a D that has no image/D store under
 * the root ("--driver D: no image/D store under ROOT (it holds: ...)",
 * exit 2); with @when_holding, only when the root holds data of some
 * driver.  A store that cannot be looked at fails the command (exit 1).
 * Returns GP_EXIT_OK to go on, else the exit status (the message printed). */
int
gp_cli_check_driver_store (const char *command, GpCliOptions *opts, gboolean when_holding)
{
  if (opts->root == NULL || opts->driver == NULL)
    return GP_EXIT_OK;
  g_autoptr (GError) error = NULL;
  g_autofree char *store = g_build_filename (opts->root, "image", opts->driver, NULL);
  gboolean exists;
  if (!gp_path_probe (store, &exists, &error))
    return gp_cli_fail (command, opts, "%s", error->message);
  if (exists)
    return GP_EXIT_OK;
  if (when_holding)
    {
      g_auto (GStrv) detected = gp_driver_detect (opts->root);
      g_auto (GStrv) stores = gp_driver_list_stores (opts->root);
      if (detected[0] == NULL && stores[0] == NULL)
        return GP_EXIT_OK;
    }
  g_autofree char *holds = gp_cli_describe_root (opts->root);
  return gp_cli_usage_error (command, "--driver %s: no image/%s store under %s (%s)", opts->driver,
                             opts->driver, opts->root, holds);
}
