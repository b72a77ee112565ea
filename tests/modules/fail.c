/* Test module: fails in prepare or run, as option "when" says. */
#include <graphpipe.h>

static const GpOption options[] = {
  { .key = "when", .type = GP_OPTION_ENUM, .default_value = "run",
    .choices = GP_STAGE_STRV ("prepare", "run", "silently"),
    .help = "where to fail; silently: run returns FALSE without an error" },
  { NULL }
};

static gboolean
fail_prepare (GpStage *stage, GpContext *ctx, GError **error)
{
  gp_context_add_counter (ctx, "fail.prepared", 1);
  if (g_strcmp0 (gp_stage_get_string (stage, "when"), "prepare") == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "refusing in prepare");
      return FALSE;
    }
  return TRUE;
}

static gboolean
fail_run (GpStage *stage, GpContext *ctx, GError **error)
{
  gp_context_add_counter (ctx, "fail.ran", 1);
  gp_context_report (ctx, GP_REPORT_FAILURE, "thing", "could not do it");
  if (g_strcmp0 (gp_stage_get_string (stage, "when"), "silently") == 0)
    return FALSE;
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "failing in run");
  return FALSE;
}

GP_STAGE_DEFINE (
  .name = "fail",
  .description = "always fails",
  .options = options,
  .prepare = fail_prepare,
  .run = fail_run)
