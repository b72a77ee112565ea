/* graphpipe run [--check] PRESET|FILE */
#include "config.h"

#include "gp-cli.h"

int
gp_cmd_run (int argc, char **argv)
{
  g_auto (GpCliOptions) opts = { 0 };
  gboolean check = FALSE;
  const GOptionEntry entries[] = {
    { "check", 'c', 0, G_OPTION_ARG_NONE, &check,
      "Validate the whole pipeline and print the plan; run nothing", NULL },
    { "target", 't', 0, G_OPTION_ARG_FILENAME, &opts.target,
      "Write the store to DIR (published by rename at the end); the root is only read", "DIR" },
    { "publish-partial", 0, 0, G_OPTION_ARG_NONE, &opts.publish_partial,
      "With --target: publish the store even when the run reported failures", NULL },
    { "layers-from", 0, 0, G_OPTION_ARG_FILENAME, &opts.layers_from,
      "Read the layer files from the driver directories of data root DIR", "DIR" },
    { NULL }
  };
  g_autoptr (GOptionContext) oc = gp_cli_option_context_new (
    "run", "PRESET|FILE",
    "Run the pipeline of a preset, given by name (see 'graphpipe presets') or\n"
    "as a file name (anything containing '/' or ending in '.conf').",
    &opts, entries);

  int status = gp_cli_parse (oc, "run", &argc, &argv);
  if (status != GP_EXIT_OK)
    return status;
  if (argc != 2)
    return gp_cli_usage_error ("run", argc < 2 ? "no preset given"
                                                : "exactly one preset expected");
  return gp_cli_run_preset ("run", &opts, argv[1], check, NULL);
}
