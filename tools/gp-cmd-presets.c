/* graphpipe presets: name, description and path of each preset. */
#include "config.h"

#include "gp-cli.h"

int
gp_cmd_presets (int argc, char **argv)
{
  g_auto (GpCliOptions) opts = { 0 };
  g_autoptr (GOptionContext) oc = gp_cli_option_context_new (
    "presets", NULL,
    "List the presets 'graphpipe run NAME' finds: GRAPHPIPE_PRESET_PATH, the\n"
    "source tree's data/presets when run uninstalled, the installed presets.",
    &opts, NULL);

  int status = gp_cli_parse (oc, "presets", &argc, &argv);
  if (status != GP_EXIT_OK)
    return status;
  if (argc != 1)
    return gp_cli_usage_error ("presets", "unexpected argument '%s'", argv[1]);

  g_autoptr (GPtrArray) errors = NULL;
  g_autoptr (GPtrArray) presets = gp_preset_list (&errors);
  for (guint i = 0; i < presets->len; i++)
    {
      GpPreset *p = presets->pdata[i];
      g_print ("%-16s %s\n", gp_preset_get_name (p), gp_preset_get_description (p));
      g_print ("%-16s %s\n", "", gp_preset_get_path (p));
    }
  if (presets->len == 0)
    {
      g_auto (GStrv) dirs = gp_preset_get_search_path ();
      g_autofree char *joined = g_strjoinv (":", dirs);
      g_printerr ("graphpipe: no presets found in %s\n", joined);
    }
  for (guint i = 0; i < errors->len; i++)
    gp_cli_print_error (errors->pdata[i]);
  return errors->len > 0 ? GP_EXIT_USAGE : GP_EXIT_OK;
}
