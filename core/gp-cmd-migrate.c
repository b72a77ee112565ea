/* graphpipe migrate: the shipped preset 'migrate'. */
#include "config.h"

#include "gp-cli.h"

int
gp_cmd_migrate (int argc, char **argv)
{
  g_auto (GpCliOptions) opts = { 0 };
  gboolean check = FALSE;
  const GOptionEntry entries[] = {
    { "check", 'c', 0, G_OPTION_ARG_NONE, &check,
      "Validate the pipeline and print the plan; run nothing", NULL },
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
  return gp_cli_run_preset ("migrate", &opts, "migrate", check, NULL);
}
