/* Test module: the getter returns NULL. */
#include <graphpipe.h>

GP_STAGE_EXPORT const GpStageDesc *gp_stage_get_descriptor (void);
GP_STAGE_EXPORT const GpStageDesc *
gp_stage_get_descriptor (void)
{
  return NULL;
}
