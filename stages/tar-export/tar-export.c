/* tar-export: write the images a source stage selected (the `image-set`
 * capability) as a `docker save` tarball, streaming, without a daemon
 * (FORMATS.md §7). */
#include "config.h"

#include "te-private.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static const GpOption options[] = {
  { .key = "output", .type = GP_OPTION_PATH, .default_value = "-",
    .help = "Output file, or - for standard output (refused when it is a terminal)" },
  { .key = "compress", .type = GP_OPTION_ENUM, .default_value = "auto",
    .choices = GP_STAGE_STRV ("auto", "none", "gzip"),
    .help = "gzip the tarball on all cores; auto: when the output name ends in .gz or .tgz" },
  { .key = "compat", .type = GP_OPTION_ENUM, .default_value = "1.10",
    .choices = GP_STAGE_STRV ("1.10", "20.10"),
    .help = "Whose docker save bytes to write: Docker 1.10.3's or Docker 20.10's" },
  { NULL }
};

static gboolean
tar_export_prepare (GpStage *stage, GpContext *ctx, GError **error)
{
  const char *output = gp_stage_get_string (stage, "output");
  return te_output_check (output, !gp_context_get_dry_run (ctx), error);
}

static gboolean
tar_export_run (GpStage *stage, GpContext *ctx, GError **error)
{
  const char *output = gp_stage_get_string (stage, "output");
  const char *compress = gp_stage_get_string (stage, "compress");
  const char *compat = gp_stage_get_string (stage, "compat");

  GPtrArray *images = gp_context_get_images (ctx, error);
  if (images == NULL)
    return FALSE;
  return te_export (ctx, images, output, te_output_wants_gzip (output, compress),
                    g_strcmp0 (compat, "20.10") == 0 ? TE_COMPAT_20_10 : TE_COMPAT_1_10, error);
}

GP_STAGE_DEFINE (
  .name = "tar-export",
  .description = "Write the selected images as a docker save tarball",
  .requires = GP_STAGE_STRV (GP_IMAGES_CAPABILITY),
  .options = options,
  .prepare = tar_export_prepare,
  .run = tar_export_run)
