/* Test module: a valid stage without options that records its run in the
 * slot "good.runs" (a counter). */
#include <graphpipe.h>

static gboolean
good_run (GpStage *stage, GpContext *ctx, GError **error)
{
  gp_context_add_counter (ctx, "good.runs", 1);
  return TRUE;
}

GP_STAGE_DEFINE (
  .name = "good",
  .description = "does nothing, successfully",
  .provides = GP_STAGE_STRV ("good"),
  .run = good_run)
