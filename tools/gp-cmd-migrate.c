/* graphpipe migrate: the shipped preset 'migrate'. */
#include "config.h"

#include <errno.h>
#include <unistd.h>

#include "gp-cli.h"

static int migrate_root (GpCliOptions *opts, gpointer user_data);

int
gp_cmd_migrate (int argc, char **argv)
{
  g_auto (GpCliOptions) opts = { 0 };
  gboolean check = FALSE;
  const GOptionEntry entries[] = {
    { "check", 'c', 0, G_OPTION_ARG_NONE, &check,
      "Validate the pipeline and print the plan; run nothing", NULL },
    { "target", 't', 0, G_OPTION_ARG_FILENAME, &opts.target,
      "Build the new store in DIR (published by rename at the end); the root is only read", "DIR" },
    { "publish-partial", 0, 0, G_OPTION_ARG_NONE, &opts.publish_partial,
      "With --target: publish the store even when images or containers failed", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) oc = gp_cli_option_context_new (
    "migrate", NULL,
    "Migrate the legacy graph of the data root (--root) to the content-\n"
    "addressable store of Docker 1.10: 'graphpipe run migrate'.",
    &opts, entries);

  int status = gp_cli_parse (oc, "migrate", &argc, &argv);
  if (status != GP_EXIT_OK)
    return status;
  if (argc != 1)
    return gp_cli_usage_error ("migrate", "unexpected argument '%s'", argv[1]);
  return gp_cli_for_each_root ("migrate", &opts, migrate_root, &check);
}

/* One data root (each root of a batch in turn). */
static int
migrate_root (GpCliOptions *opts_, gpointer user_data)
{
  GpCliOptions opts = *opts_;
  gboolean check = *(gboolean *) user_data;
  g_autofree char *detected = NULL;

  if (opts.root != NULL && !g_file_test (opts.root, G_FILE_TEST_IS_DIR))
    return gp_cli_usage_error ("migrate", "--root %s: not a directory", opts.root);

  /* What the root holds, an unreadable root, graph/ or driver file being
   * an error, never "nothing to migrate". */
  g_auto (GStrv) found = NULL;
  gboolean has_graph = FALSE;
  if (opts.root != NULL)
    {
      g_autoptr (GError) error = NULL;
      found = gp_driver_probe (opts.root, &error);
      if (found == NULL)
        return gp_cli_fail ("migrate", &opts, "%s", error->message);
      int status = gp_cli_probe_readable_dir ("migrate", &opts, "graph", "the legacy graph",
                                              &has_graph);
      if (status != GP_EXIT_OK)
        return status;
    }

  /* A --driver the root holds no data of, while it holds another's. */
  if (opts.driver != NULL && found != NULL && found[0] != NULL
      && !g_strv_contains ((const char *const *) found, opts.driver))
    {
      g_autofree char *holds = gp_cli_describe_root (opts.root);
      return gp_cli_usage_error ("migrate", "--driver %s: no %s data under %s (%s)", opts.driver,
                                 opts.driver, opts.root, holds);
    }

  /* Without --driver: the one driver the data root holds data of. */
  if (opts.driver == NULL && opts.root != NULL)
    {
      guint n = g_strv_length (found);
      if (n == 1)
        opts.driver = detected = g_strdup (found[0]);
      else if (n > 1)
        {
          g_autofree char *list = g_strjoinv (", ", found);
          return gp_cli_usage_error ("migrate", "%s holds data of several storage drivers (%s); "
                                     "choose one with --driver", opts.root, list);
        }
      else if (has_graph)
        return gp_cli_usage_error ("migrate", "cannot tell the storage driver of %s (no "
                                   "repositories-<driver> file, no driver directory); "
                                   "give --driver", opts.root);
      else
        {
          /* No graph/: nothing to migrate, and Docker writes nothing (§8). */
          return gp_cli_report_nothing ("migrate", &opts, "graphpipe migrate: %s has no legacy "
                                        "graph/ directory: nothing to migrate", opts.root);
        }
    }
  return gp_cli_run_preset ("migrate", &opts, "migrate", check, NULL);
}
