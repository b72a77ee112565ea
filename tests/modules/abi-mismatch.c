/* Test module: claims a stage ABI this graphpipe does not implement. */
#include <graphpipe.h>

static gboolean
run (GpStage *stage, GpContext *ctx, GError **error)
{
  return TRUE;
}

static const GpStageDesc desc = {
  .abi_version = GP_STAGE_ABI_VERSION + 1,
  .name = "abi-mismatch",
  .description = "built for the next ABI",
  .run = run,
};

GP_STAGE_EXPORT const GpStageDesc *gp_stage_get_descriptor (void);
GP_STAGE_EXPORT const GpStageDesc *
gp_stage_get_descriptor (void)
{
  return &desc;
}
