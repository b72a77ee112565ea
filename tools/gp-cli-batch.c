/* graphpipe - the command line: one preset over many data roots.
 *
 * `--root` given several times, or `--roots-from FILE`, runs the command
 * on each data root in turn, in the order given (the --root options
 * first, then the file's lines).  A root that fails does not stop the
 * others; an interrupt (SIGINT/SIGTERM) stops the batch after the root
 * it cut short.  One summary at the end, on standard error; the exit
 * status is 0 when every root succeeded, 130 when interrupted, else 1.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "gp-cli.h"

static void
root_result_free (GpCliRootResult *result)
{
  g_free (result->root);
  g_free (result->report_json);
  g_free (result);
}

/* The lines of --roots-from: blank lines and `#` comments skipped,
 * surrounding white space removed. */
static gboolean
read_roots_file (const char *path, GPtrArray *roots, GError **error)
{
  g_autofree char *data = NULL;
  gsize len;

  if (strcmp (path, "-") == 0)
    {
      GString *in = g_string_new (NULL);
      char buf[4096];
      size_t n;
      while ((n = fread (buf, 1, sizeof buf, stdin)) > 0)
        g_string_append_len (in, buf, n);
      len = in->len;
      data = g_string_free (in, FALSE);
    }
  else if (!g_file_get_contents (path, &data, &len, error))
    return FALSE;

  g_auto (GStrv) lines = g_strsplit (data, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *line = g_strstrip (lines[i]);
      if (*line == '\0' || *line == '#')
        continue;
      g_ptr_array_add (roots, g_strdup (line));
    }
  return TRUE;
}

/**
 * gp_cli_is_batch:
 * @opts: parsed options
 *
 * Returns: whether the command runs over several data roots
 */
gboolean
gp_cli_is_batch (GpCliOptions *opts)
{
  return opts->roots_from != NULL || (opts->roots != NULL && g_strv_length (opts->roots) > 1);
}

/* The summary: a report event in JSON mode (--progress=json, --events),
 * text on standard error otherwise. */
static void
print_summary (const char *command, GPtrArray *results, guint n_roots)
{
  guint n_ok = 0;
  for (guint i = 0; i < results->len; i++)
    if (((GpCliRootResult *) results->pdata[i])->status == GP_EXIT_OK)
      n_ok++;

  g_autoptr (GString) text = g_string_new (NULL);
  g_string_append_printf (text, "graphpipe %s: summary: %u root%s, %u succeeded, %u failed%s\n",
                          command, n_roots, n_roots == 1 ? "" : "s", n_ok, results->len - n_ok,
                          results->len < n_roots ? ", the rest not run (interrupted)" : "");
  for (guint i = 0; i < results->len; i++)
    {
      GpCliRootResult *r = results->pdata[i];
      g_autofree char *status = r->status == GP_EXIT_OK ? g_strdup ("ok")
                                : g_strdup_printf ("FAILED (exit %d)", r->status);
      g_string_append_printf (text, "  %-16s %8.1f s  %s\n", status, r->elapsed_us / 1e6, r->root);
    }
  if (!gp_cli_output_message (GP_EVENT_REPORT, text->str))
    g_printerr ("%s", text->str);
}

/* The batch's --report: one object holding each root's report. */
static char *
batch_report (const char *command, GPtrArray *results, guint n_roots, int status)
{
  GString *out = g_string_new ("{\"command\":");
  gp_json_append_string (out, command, strlen (command));
  guint n_ok = 0;
  for (guint i = 0; i < results->len; i++)
    if (((GpCliRootResult *) results->pdata[i])->status == GP_EXIT_OK)
      n_ok++;
  g_string_append_printf (out, ",\"batch\":true,\"exit_code\":%d,\"roots_total\":%u,"
                          "\"roots_succeeded\":%u,\"roots_failed\":%u,\"roots\":[",
                          status, n_roots, n_ok, results->len - n_ok);
  for (guint i = 0; i < results->len; i++)
    {
      GpCliRootResult *r = results->pdata[i];
      if (i > 0)
        g_string_append_c (out, ',');
      if (r->report_json != NULL)
        g_string_append (out, r->report_json);
      else
        {
          /* The root stopped before its pipeline ran (usage error, or
           * nothing to do). */
          g_string_append (out, "{\"root\":");
          gp_json_append_string (out, r->root, strlen (r->root));
          g_string_append_printf (out, ",\"exit_code\":%d,\"status\":\"%s\"}", r->status,
                                  r->status == GP_EXIT_OK ? "ok"
                                  : r->status == GP_EXIT_USAGE ? "usage" : "failed");
        }
    }
  g_string_append (out, "]}\n");
  return g_string_free (out, FALSE);
}

/**
 * gp_cli_for_each_root:
 * @command: the command's name, for messages
 * @opts: parsed options; opts->root is set to each root in turn (and
 *   opts->driver reset to what the user gave) while @func runs
 * @func: runs the command on opts->root and returns its exit status
 * @user_data: for @func
 *
 * Runs @func once, or once per data root of a batch (gp_cli_is_batch()),
 * then prints the summary and writes the batch's --report.
 *
 * Returns: the exit status of the command
 */
int
gp_cli_for_each_root (const char *command, GpCliOptions *opts, GpCliRootFunc func, gpointer user_data)
{
  if (!gp_cli_is_batch (opts))
    return func (opts, user_data);

  g_autoptr (GPtrArray) roots = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; opts->roots != NULL && opts->roots[i] != NULL; i++)
    g_ptr_array_add (roots, g_strdup (opts->roots[i]));
  if (opts->roots_from != NULL)
    {
      g_autoptr (GError) error = NULL;
      if (!read_roots_file (opts->roots_from, roots, &error))
        return gp_cli_usage_error (command, "--roots-from: %s", error->message);
    }
  if (roots->len == 0)
    return gp_cli_usage_error (command, "--roots-from %s: no data root listed", opts->roots_from);
  if (opts->target != NULL && roots->len > 1)
    return gp_cli_usage_error (command, "--target takes one data root, %u given", roots->len);

  int output_status = gp_cli_output_init (command, opts);
  if (output_status != GP_EXIT_OK)
    return output_status;

  g_autofree char *user_driver = g_strdup (opts->driver);
  g_autoptr (GPtrArray) results = g_ptr_array_new_with_free_func ((GDestroyNotify) root_result_free);
  opts->batch = results;
  int status = GP_EXIT_OK;
  for (guint i = 0; i < roots->len; i++)
    {
      const char *root = roots->pdata[i];
      GpCliRootResult *r = g_new0 (GpCliRootResult, 1);
      r->root = g_strdup (root);
      g_ptr_array_add (results, r);
      g_autofree char *header = g_strdup_printf ("graphpipe %s: [%u/%u] %s", command, i + 1,
                                                 roots->len, root);
      if (!gp_cli_output_message (GP_EVENT_ITEM_DONE, header) && !opts->quiet)
        g_printerr ("%s\n", header);

      g_free (opts->root);
      opts->root = g_strdup (root);
      g_free (opts->driver);
      opts->driver = g_strdup (user_driver);
      gint64 start = g_get_monotonic_time ();
      r->status = func (opts, user_data);
      r->elapsed_us = g_get_monotonic_time () - start;
      if (r->status == GP_EXIT_INTERRUPTED)
        {
          status = GP_EXIT_INTERRUPTED;
          break;
        }
      if (r->status != GP_EXIT_OK)
        status = GP_EXIT_FAILED;
    }
  opts->batch = NULL;

  print_summary (command, results, roots->len);
  if (opts->report != NULL)
    {
      g_autofree char *report = batch_report (command, results, roots->len, status);
      g_autoptr (GError) error = NULL;
      if (!gp_cli_report_write (opts->report, report, &error))
        {
          gp_cli_print_error (error);
          if (status == GP_EXIT_OK)
            status = GP_EXIT_FAILED;
        }
    }
  return status;
}
