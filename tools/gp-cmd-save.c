/* graphpipe save [-o FILE|-] [--compress=none|gzip|auto] [--format=F]
 * [--source=KIND] [--compat=1.10|20.10] NAME...: the shipped preset 'save'
 * (--format docker-archive, the default; ${compat} picks whose bytes) or
 * 'save-oci' (oci-archive, oci-dir: with ${format} set too), with the
 * variables output, compress, images (the names joined by single spaces)
 * and source (the source stage, or `auto`: told per root by
 * gp_cli_detect_source()). */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "gp-cli.h"

int
gp_cmd_save (int argc, char **argv)
{
  g_auto (GpCliOptions) opts = { 0 };
  g_autofree char *output = NULL;
  g_autofree char *compress = NULL;
  g_autofree char *preset = NULL;
  g_autofree char *format = NULL;
  g_autofree char *source = NULL;
  g_autofree char *ns = NULL;
  g_autofree char *platform = NULL;
  gboolean allow_rebuild = FALSE;
  g_autofree char *compat = NULL;
  gboolean check = FALSE;
  const GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
      "Write the tarball to FILE, '-' for standard output (default)", "FILE|-" },
    { "compress", 0, 0, G_OPTION_ARG_STRING, &compress,
      "gzip the tarball on all cores: gzip, none, or auto (default: gzip when FILE ends "
      "in .gz or .tgz)", "none|gzip|auto" },
    { "format", 0, 0, G_OPTION_ARG_STRING, &format,
      "docker-archive (default: docker save of Docker 1.10.3), oci-archive (an OCI image "
      "layout as a tar) or oci-dir (an OCI image layout directory, -o DIR)",
      "docker-archive|oci-archive|oci-dir" },
    { "source", 0, 0, G_OPTION_ARG_STRING, &source,
      "What kind of store --root is: docker (a Docker 1.10+ data root), containers-storage "
      "(podman, CRI-O, buildah), containerd, legacy (a Docker <= 1.9 graph), or auto "
      "(default: told by what the root holds)",
      "auto|docker|containers-storage|containerd|legacy" },
    { "namespace", 0, 0, G_OPTION_ARG_STRING, &ns,
      "containerd: the namespace to read (default: the one holding each name; k8s.io, "
      "moby, default, ...)", "NS" },
    { "platform", 0, 0, G_OPTION_ARG_STRING, &platform,
      "containerd: the platform an image index is resolved for (default: this host's)",
      "OS/ARCH[/VARIANT]" },
    { "allow-rebuild", 0, 0, G_OPTION_ARG_NONE, &allow_rebuild,
      "containerd: a layer blob that is gone may be rebuilt from its snapshot", NULL },
    { "compat", 0, 0, G_OPTION_ARG_STRING, &compat,
      "With --format docker-archive: write the docker save bytes of Docker 1.10.3 "
      "(default) or of Docker 20.10", "1.10|20.10" },
    { "check", 'c', 0, G_OPTION_ARG_NONE, &check,
      "Validate the pipeline and print the plan; run nothing", NULL },
    { "layers-from", 0, 0, G_OPTION_ARG_FILENAME, &opts.layers_from,
      "Read the layer files from the driver directories of data root SRC (a store "
      "built by 'migrate --target')", "SRC" },
    { "preset", 0, 0, G_OPTION_ARG_STRING, &preset,
      "Run this preset instead of 'save' (export-legacy: save straight from a legacy "
      "root, writing nothing under it)", "NAME" },
    { NULL }
  };
  g_autoptr (GOptionContext) oc = gp_cli_option_context_new (
    "save", "NAME...",
    "Write images of the data root (--root) as a 'docker save' tarball:\n"
    "'graphpipe run save' with ${output}, ${compress} and ${images} set.\n"
    "NAME is name, name:tag, an image ID or unique prefix, or a digest reference.",
    &opts, entries);

  int status = gp_cli_parse (oc, "save", &argc, &argv);
  if (status != GP_EXIT_OK)
    return status;
  if (argc < 2)
    return gp_cli_usage_error ("save", "no image name given");
  if (compress == NULL)
    compress = g_strdup ("auto");
  if (strcmp (compress, "none") != 0 && strcmp (compress, "gzip") != 0
      && strcmp (compress, "auto") != 0)
    return gp_cli_usage_error ("save", "--compress=%s: expected none, gzip or auto", compress);
  gboolean oci = FALSE;
  if (format != NULL && strcmp (format, "docker-archive") != 0)
    {
      if (strcmp (format, "oci-archive") != 0 && strcmp (format, "oci-dir") != 0)
        return gp_cli_usage_error ("save", "--format=%s: expected docker-archive, oci-archive "
                                   "or oci-dir", format);
      if (preset != NULL)
        return gp_cli_usage_error ("save", "--format=%s: not with --preset", format);
      if (strcmp (format, "oci-dir") == 0 && (output == NULL || strcmp (output, "-") == 0))
        return gp_cli_usage_error ("save", "--format=oci-dir: give the directory with -o DIR");
      oci = TRUE;
    }
  const char *source_stage = gp_cli_source_stage (source != NULL ? source : "auto");
  if (source_stage == NULL)
    return gp_cli_usage_error ("save", "--source=%s: expected auto, docker, containers-storage, "
                               "containerd or legacy", source);
  if (compat != NULL)
    {
      if (strcmp (compat, "1.10") != 0 && strcmp (compat, "20.10") != 0)
        return gp_cli_usage_error ("save", "--compat=%s: expected 1.10 or 20.10", compat);
      if (oci)
        return gp_cli_usage_error ("save", "--compat: only with --format docker-archive");
      if (preset != NULL)
        return gp_cli_usage_error ("save", "--compat: not with --preset");
    }
  if (output == NULL)
    output = g_strdup ("-");
  else if (*output == '\0')
    return gp_cli_usage_error ("save", "--output: empty file name");

  /* A root that cannot be read, or a --driver whose store it lacks, is
   * said so here, not as a missing store or reference later. */
  gboolean docker_root = opts.root != NULL && !gp_cli_is_batch (&opts)
                         && strcmp (strcmp (source_stage, "auto") == 0
                                      ? gp_cli_detect_source (opts.root) : source_stage,
                                    "docker-store") == 0;
  if (docker_root)
    {
      g_autoptr (GError) error = NULL;
      g_auto (GStrv) probed = gp_driver_probe (opts.root, &error);
      if (probed == NULL)
        return gp_cli_fail ("save", &opts, "%s", error->message);
      gboolean exists;
      if ((status = gp_cli_probe_readable_dir ("save", &opts, "image", "the image stores",
                                               &exists)) != GP_EXIT_OK)
        return status;
      if (preset == NULL && (status = gp_cli_check_driver_store ("save", &opts, FALSE)) != GP_EXIT_OK)
        return status;
    }

  /* Another preset (export-legacy) may migrate first, which needs the
   * driver before anything runs: the one driver of a legacy root. */
  if (preset != NULL && opts.driver == NULL && opts.root != NULL && !gp_cli_is_batch (&opts))
    {
      g_auto (GStrv) found = gp_driver_detect (opts.root);
      if (g_strv_length (found) == 1)
        opts.driver = g_strdup (found[0]);
    }

  g_autofree char *images = g_strjoinv (" ", argv + 1);
  const char *vars[] = {
    "output", output,
    "compress", compress,
    "images", images,
    "source", source_stage,
    "namespace", ns != NULL ? ns : "",
    "platform", platform != NULL ? platform : "",
    "allow_rebuild", allow_rebuild ? "1" : "",
    oci ? "format" : compat != NULL ? "compat" : NULL, oci ? format : compat,
    NULL
  };
  return gp_cli_run_preset ("save", &opts,
                            oci ? "save-oci" : preset != NULL ? preset : "save",
                            check, vars);
}
