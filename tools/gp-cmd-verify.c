/* graphpipe verify: the shipped preset 'verify'. */
#include "config.h"

#include "gp-cli.h"

#include <string.h>

/* The drivers of @found that have an image store under @root. */
static char **
with_store (const char *root, char **found)
{
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  for (guint i = 0; found[i] != NULL; i++)
    {
      g_autofree char *dir = g_build_filename (root, "image", found[i], NULL);
      if (g_file_test (dir, G_FILE_TEST_IS_DIR))
        g_strv_builder_add (b, found[i]);
    }
  return g_strv_builder_end (b);
}

static int verify_root (GpCliOptions *opts, gpointer user_data);

int
gp_cmd_verify (int argc, char **argv)
{
  g_auto (GpCliOptions) opts = { 0 };
  gboolean check = FALSE;
  const GOptionEntry entries[] = {
    { "check", 'c', 0, G_OPTION_ARG_NONE, &check,
      "Validate the pipeline and print the plan; run nothing", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) oc = gp_cli_option_context_new (
    "verify", NULL,
    "Check the Docker 1.10+ image store of the data root (--root) without\n"
    "writing anything: every layer rebuilt and hashed, chains, image configs,\n"
    "references, container mounts.  Each problem is listed with its path;\n"
    "exit status 1 when any is found: 'graphpipe run verify'.  A podman,\n"
    "CRI-O or buildah root (overlay-images/, vfs-images/ or btrfs-images/)\n"
    "is checked by 'graphpipe run verify-containers-storage': every config\n"
    "digest, every layer rebuilt and hashed, each problem listed per image.",
    &opts, entries);

  int status = gp_cli_parse (oc, "verify", &argc, &argv);
  if (status != GP_EXIT_OK)
    return status;
  if (argc != 1)
    return gp_cli_usage_error ("verify", "unexpected argument '%s'", argv[1]);
  return gp_cli_for_each_root ("verify", &opts, verify_root, &check);
}

/* One data root (each root of a batch in turn). */
static int
verify_root (GpCliOptions *opts_, gpointer user_data)
{
  GpCliOptions opts = *opts_;
  gboolean check = *(gboolean *) user_data;
  g_autofree char *detected = NULL;

  /* A podman, CRI-O or buildah root: the containers-storage source's
   * check mode (preset verify-containers-storage); its driver is the
   * one of <driver>-images/ there, or --driver. */
  if (opts.root != NULL
      && strcmp (gp_cli_detect_source (opts.root), "containers-storage") == 0)
    return gp_cli_run_preset ("verify", &opts, "verify-containers-storage", check, NULL);

  if (opts.root != NULL)
    {
      g_autoptr (GError) error = NULL;
      g_auto (GStrv) probed = gp_driver_probe (opts.root, &error);
      if (probed == NULL)
        return gp_cli_fail ("verify", &opts, "%s", error->message);
      int status = gp_cli_check_driver_store ("verify", &opts, TRUE);
      if (status != GP_EXIT_OK)
        return status;
    }

  /* Without --driver: the one driver the data root holds data of (as
   * migrate), or the one of those with an image store. */
  if (opts.driver == NULL && opts.root != NULL)
    {
      g_auto (GStrv) found = gp_driver_detect (opts.root);
      if (g_strv_length (found) > 1)
        {
          g_auto (GStrv) stores = with_store (opts.root, found);
          if (g_strv_length (stores) >= 1)
            {
              g_strfreev (found);
              found = g_steal_pointer (&stores);
            }
        }
      guint n = g_strv_length (found);
      if (n == 1)
        opts.driver = detected = g_strdup (found[0]);
      else if (n > 1)
        {
          g_autofree char *list = g_strjoinv (", ", found);
          return gp_cli_usage_error ("verify", "%s holds data of several storage drivers (%s); "
                                     "choose one with --driver", opts.root, list);
        }
      else
        return gp_cli_usage_error ("verify", "cannot tell the storage driver of %s (no "
                                   "repositories-<driver> file, no driver directory); "
                                   "give --driver", opts.root);
    }
  return gp_cli_run_preset ("verify", &opts, "verify", check, NULL);
}
