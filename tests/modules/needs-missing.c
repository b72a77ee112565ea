/* Test module: requires a capability nobody provides. */
#include <graphpipe.h>

static gboolean
run (GpStage *stage, GpContext *ctx, GError **error)
{
  return TRUE;
}

GP_STAGE_DEFINE (
  .name = "needs-missing",
  .description = "requires what nobody provides",
  .requires = GP_STAGE_STRV ("root", "unobtainium"),
  .run = run)
