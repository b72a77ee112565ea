/* graphpipe stages [NAME]: list the stage modules, or describe one. */
#include "config.h"

#include "gp-cli.h"

static char *
join_strv (const char *const *strv)
{
  if (strv == NULL || strv[0] == NULL)
    return g_strdup ("-");
  return g_strjoinv (", ", (char **) strv);
}

/* A stage's role in the image model: a source publishes the image set,
 * a sink consumes it (gp-images.h); NULL for the others. */
static const char *
role_of (const GpStageDesc *desc)
{
  if (desc->provides != NULL && g_strv_contains (desc->provides, GP_IMAGES_CAPABILITY))
    return "source";
  if (desc->requires != NULL && g_strv_contains (desc->requires, GP_IMAGES_CAPABILITY))
    return "sink";
  return NULL;
}

static void
describe_stage (const GpStageInfo *info)
{
  const GpStageDesc *desc = gp_stage_info_get_desc (info);
  g_autofree char *requires = join_strv (desc->requires);
  g_autofree char *provides = join_strv (desc->provides);

  g_print ("%s: %s\n", desc->name, desc->description);
  g_print ("module:   %s\n", gp_stage_info_get_path (info));
  if (role_of (desc) != NULL)
    g_print ("role:     image %s\n", role_of (desc));
  g_print ("requires: %s\n", requires);
  g_print ("provides: %s\n", provides);
  if (desc->options == NULL || desc->options[0].key == NULL)
    {
      g_print ("options:  none\n");
      return;
    }
  g_print ("options:\n");
  for (const GpOption *o = desc->options; o->key != NULL; o++)
    {
      g_autofree char *type = NULL;
      if (o->type == GP_OPTION_ENUM)
        {
          g_autofree char *choices = g_strjoinv ("|", (char **) o->choices);
          type = g_strdup_printf ("enum: %s", choices);
        }
      else
        type = g_strdup (gp_option_type_to_string (o->type));

      g_autofree char *def = NULL;
      if (o->flags & GP_OPTION_FLAG_REQUIRED)
        def = g_strdup ("required");
      else if (o->default_value != NULL)
        def = g_strdup_printf ("default: %s", o->default_value);
      else
        def = g_strdup ("no default");
      g_print ("  %s (%s; %s)\n      %s\n", o->key, type, def, o->help);
    }
}

int
gp_cmd_stages (int argc, char **argv)
{
  g_auto (GpCliOptions) opts = { 0 };
  g_autoptr (GOptionContext) oc = gp_cli_option_context_new (
    "stages", "[NAME]",
    "Without NAME, list every stage module on the search path with its\n"
    "description, requires and provides.  With NAME, describe that stage:\n"
    "every option with type, default and help, and the module's path.",
    &opts, NULL);

  int status = gp_cli_parse (oc, "stages", &argc, &argv);
  if (status != GP_EXIT_OK)
    return status;
  if (argc > 2)
    return gp_cli_usage_error ("stages", "at most one stage name expected");

  g_autoptr (GpLoader) loader = gp_cli_make_loader (&opts);
  if (argc == 2)
    {
      g_autoptr (GError) error = NULL;
      const GpStageInfo *info = gp_loader_find (loader, argv[1], &error);
      if (info == NULL)
        {
          gp_cli_print_error (error);
          return GP_EXIT_USAGE;
        }
      describe_stage (info);
      return GP_EXIT_OK;
    }

  g_autoptr (GPtrArray) errors = NULL;
  g_autoptr (GPtrArray) infos = gp_loader_list (loader, &errors);
  for (guint i = 0; i < infos->len; i++)
    {
      const GpStageDesc *desc = gp_stage_info_get_desc (infos->pdata[i]);
      g_autofree char *requires = join_strv (desc->requires);
      g_autofree char *provides = join_strv (desc->provides);
      g_print ("%-20s %s\n", desc->name, desc->description);
      const char *role = role_of (desc);
      g_print ("%-20s %s%s%srequires: %s; provides: %s\n", "", role != NULL ? "image " : "",
               role != NULL ? role : "", role != NULL ? "; " : "", requires, provides);
    }
  if (infos->len == 0 && errors->len == 0)
    {
      g_auto (GStrv) dirs = gp_loader_get_search_path (loader);
      g_autofree char *joined = g_strjoinv (":", dirs);
      g_printerr ("graphpipe: no stage modules found in %s\n", joined);
    }
  for (guint i = 0; i < errors->len; i++)
    gp_cli_print_error (errors->pdata[i]);
  return errors->len > 0 ? GP_EXIT_USAGE : GP_EXIT_OK;
}
