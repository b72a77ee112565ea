/* graphpipe - the command line: the JSON report of a run (--report FILE).
 *
 * One JSON object per data root (a batch wraps them, gp-cli-batch.c):
 * the settings, the exit status, every counter, the v1 ID -> image ID
 * mapping, each legacy image with its outcome, what was skipped and why,
 * and every warning and failure.  The fields are documented in README.md
 * ("JSON report").  Strings are escaped as Go's encoder does (invalid
 * UTF-8 becomes U+FFFD), so the file always parses.
 */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include "gp-cli.h"

/* The slot scan-graph leaves the legacy graph in (its capability). */
#define SLOT_LEGACY_GRAPH "legacy-graph"

static void
append_string (GString *out, const char *s)
{
  if (s == NULL)
    g_string_append (out, "null");
  else
    gp_json_append_string (out, s, strlen (s));
}

static void
append_key (GString *out, gboolean *first, const char *key)
{
  if (!*first)
    g_string_append_c (out, ',');
  *first = FALSE;
  append_string (out, key);
  g_string_append_c (out, ':');
}

static const char *
status_name (int status)
{
  switch (status)
    {
    case GP_EXIT_OK:
      return "ok";
    case GP_EXIT_USAGE:
      return "usage";
    case GP_EXIT_INTERRUPTED:
      return "interrupted";
    default:
      return "failed";
    }
}

/* What a report entry of a stage is about, for "skipped". */
static const char *
entry_kind (const GpReportEntry *e)
{
  if (g_strcmp0 (e->stage, "rewrite-containers") == 0)
    return "container";
  if (g_strcmp0 (e->stage, "migrate-tags") == 0)
    return "tag";
  return NULL;
}

static void
append_skip (GString *out, gboolean *first, const char *kind, const char *stage, const char *item,
             const char *reason)
{
  if (!*first)
    g_string_append_c (out, ',');
  *first = FALSE;
  g_string_append (out, "{\"kind\":");
  append_string (out, kind);
  g_string_append (out, ",\"stage\":");
  append_string (out, stage);
  g_string_append (out, ",\"item\":");
  append_string (out, item);
  g_string_append (out, ",\"reason\":");
  append_string (out, reason);
  g_string_append_c (out, '}');
}

/* "images" and the image part of "skipped", from the legacy graph. */
static void
append_images (GString *out, GString *skipped, gboolean *skipped_first, GpContext *ctx, GpGraph *graph)
{
  gboolean dry_run = gp_context_get_dry_run (ctx);

  g_string_append (out, ",\"images\":[");
  for (guint i = 0; graph != NULL && i < gp_graph_get_n_images (graph); i++)
    {
      GpGraphImage *image = gp_graph_get_image (graph, i);
      const char *image_id = image->image_id;
      const char *status;
      const char *reason = NULL;

      if (image->mapped)
        {
          image_id = gp_graph_mapping_lookup (graph, image->id);
          status = "earlier-run";
          reason = "migrated by an earlier run (in the mapping file)";
        }
      else if (image_id != NULL)
        status = "migrated";
      else if (image->error != NULL)
        {
          status = "failed";
          reason = image->error->message;
        }
      else
        {
          status = "not-migrated";
          reason = dry_run ? "dry run" : "the pipeline did not reach it";
        }

      if (i > 0)
        g_string_append_c (out, ',');
      g_string_append (out, "{\"v1_id\":");
      append_string (out, image->id);
      g_string_append (out, ",\"image_id\":");
      append_string (out, image_id);
      g_string_append (out, ",\"status\":");
      append_string (out, status);
      g_string_append (out, ",\"reason\":");
      append_string (out, reason);
      g_string_append (out, ",\"failure\":");
      switch (gp_graph_image_get_failure (image))
        {
        case GP_GRAPH_FAILURE_PERMANENT:
          append_string (out, "permanent");
          break;
        case GP_GRAPH_FAILURE_TRANSIENT:
          append_string (out, "transient");
          break;
        default:
          append_string (out, NULL);
          break;
        }
      g_string_append_c (out, '}');
      if (reason != NULL)
        append_skip (skipped, skipped_first, "image", NULL,
                     image->id, reason);
    }
  g_string_append_c (out, ']');
}

static void
append_entries (GString *out, GPtrArray *report, GpReportKind kind)
{
  gboolean first = TRUE;
  g_string_append_c (out, '[');
  for (guint i = 0; i < report->len; i++)
    {
      const GpReportEntry *e = report->pdata[i];
      if (e->kind != kind)
        continue;
      if (!first)
        g_string_append_c (out, ',');
      first = FALSE;
      g_string_append (out, "{\"stage\":");
      append_string (out, e->stage);
      g_string_append (out, ",\"item\":");
      append_string (out, e->item);
      g_string_append (out, ",\"message\":");
      append_string (out, e->message);
      g_string_append_c (out, '}');
    }
  g_string_append_c (out, ']');
}

/* Appends `{"key":value,...}` for @keys, each value by @value. */
static void
append_object (GString *out, GpContext *ctx, char **keys,
               void (*value) (GString *out, GpContext *ctx, const char *key))
{
  g_string_append_c (out, '{');
  for (guint i = 0; keys[i] != NULL; i++)
    {
      if (i > 0)
        g_string_append_c (out, ',');
      append_string (out, keys[i]);
      g_string_append_c (out, ':');
      value (out, ctx, keys[i]);
    }
  g_string_append_c (out, '}');
}

static void
append_counter (GString *out, GpContext *ctx, const char *name)
{
  g_string_append_printf (out, "%" G_GINT64_FORMAT, gp_context_get_counter (ctx, name));
}

static void
append_image_id (GString *out, GpContext *ctx, const char *v1_id)
{
  append_string (out, gp_context_lookup_image_id (ctx, v1_id));
}

/**
 * gp_cli_report_build:
 * @command: the command (`migrate`, `run`, `save`)
 * @preset: the preset name or file
 * @opts: the options
 * @ctx: the run's context
 * @target: (nullable): the --target, if any
 * @status: the exit status
 * @error_message: (nullable): the error that stopped the run
 *
 * Returns: (transfer full): the report object, one line of JSON
 */
char *
gp_cli_report_build (const char *command, const char *preset, GpCliOptions *opts, GpContext *ctx,
                     const GpCliTarget *target, int status, const char *error_message)
{
  GString *out = g_string_new ("{");
  gboolean first = TRUE;

  append_key (out, &first, "command");
  append_string (out, command);
  append_key (out, &first, "preset");
  append_string (out, preset);
  append_key (out, &first, "root");
  append_string (out, gp_context_get_root (ctx));
  append_key (out, &first, "target");
  append_string (out, target != NULL ? target->final : NULL);
  append_key (out, &first, "layers_from");
  append_string (out, opts->layers_from != NULL ? gp_context_get_layers_root (ctx) : NULL);
  append_key (out, &first, "driver");
  append_string (out, gp_context_get_driver (ctx));
  append_key (out, &first, "dry_run");
  g_string_append (out, gp_context_get_dry_run (ctx) ? "true" : "false");
  append_key (out, &first, "exit_code");
  g_string_append_printf (out, "%d", status);
  append_key (out, &first, "status");
  append_string (out, status_name (status));
  append_key (out, &first, "error");
  append_string (out, error_message);

  append_key (out, &first, "counters");
  g_auto (GStrv) names = gp_context_list_counters (ctx);
  append_object (out, ctx, names, append_counter);

  append_key (out, &first, "mapping");
  g_auto (GStrv) v1_ids = gp_context_list_v1_ids (ctx);
  append_object (out, ctx, v1_ids, append_image_id);

  GpGraph *graph = gp_context_get_slot (ctx, SLOT_LEGACY_GRAPH);
  g_autoptr (GString) skipped = g_string_new (NULL);
  gboolean skipped_first = TRUE;
  append_images (out, skipped, &skipped_first, ctx, graph);

  g_autoptr (GPtrArray) report = gp_context_dup_report (ctx);
  for (guint i = 0; i < report->len; i++)
    {
      const GpReportEntry *e = report->pdata[i];
      const char *kind = e->kind != GP_REPORT_PENDING ? entry_kind (e) : NULL;
      if (kind != NULL)
        append_skip (skipped, &skipped_first, kind, e->stage, e->item, e->message);
    }
  append_key (out, &first, "skipped");
  g_string_append_c (out, '[');
  g_string_append_len (out, skipped->str, skipped->len);
  g_string_append_c (out, ']');

  append_key (out, &first, "warnings");
  append_entries (out, report, GP_REPORT_WARNING);
  append_key (out, &first, "failures");
  append_entries (out, report, GP_REPORT_FAILURE);
  append_key (out, &first, "pending");
  append_entries (out, report, GP_REPORT_PENDING);
  g_string_append_c (out, '}');
  return g_string_free (out, FALSE);
}

/**
 * gp_cli_report_write:
 * @path: a file name, or `-` for standard output
 * @json: the text
 * @error: return location for a #GError
 *
 * Writes the report durably (temporary name, fsync, rename).
 *
 * Returns: %TRUE on success
 */
gboolean
gp_cli_report_write (const char *path, const char *json, GError **error)
{
  if (strcmp (path, "-") == 0)
    {
      fputs (json, stdout);
      if (fflush (stdout) != 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "--report -: cannot write");
          return FALSE;
        }
      return TRUE;
    }
  if (!gp_safeio_write_file (path, json, strlen (json), 0644, GP_SAFE_DEFAULT, error))
    {
      g_prefix_error (error, "--report: ");
      return FALSE;
    }
  return TRUE;
}

/**
 * gp_cli_report_finish:
 * @command: the command
 * @opts: the options
 * @report_json: (transfer full): one root's report object
 * @status: (inout): the exit status; a report that cannot be written
 *   fails the run
 *
 * In a batch, keeps the report for the batch's file; else writes it.
 */
void
gp_cli_report_finish (const char *command, GpCliOptions *opts, char *report_json, int *status)
{
  g_autofree char *json = report_json;

  if (opts->batch != NULL && opts->batch->len > 0)
    {
      GpCliRootResult *r = opts->batch->pdata[opts->batch->len - 1];
      g_free (r->report_json);
      r->report_json = g_steal_pointer (&json);
      return;
    }
  g_autofree char *line = g_strconcat (json, "\n", NULL);
  g_autoptr (GError) error = NULL;
  if (!gp_cli_report_write (opts->report, line, &error))
    {
      gp_cli_print_error (error);
      if (*status == GP_EXIT_OK)
        *status = GP_EXIT_FAILED;
    }
}
