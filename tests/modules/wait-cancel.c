/* Test module: waits until the run is cancelled (at most "timeout"
 * seconds), after creating "ready-file" if set. */
#include <graphpipe.h>

static const GpOption options[] = {
  { .key = "ready-file", .type = GP_OPTION_PATH, .help = "created once waiting" },
  { .key = "timeout", .type = GP_OPTION_INT, .default_value = "60",
    .help = "seconds to wait at most" },
  { NULL }
};

static gboolean
wait_run (GpStage *stage, GpContext *ctx, GError **error)
{
  const char *ready = gp_stage_get_string (stage, "ready-file");
  gint64 deadline = g_get_monotonic_time ()
                    + gp_stage_get_int (stage, "timeout") * G_USEC_PER_SEC;

  gp_context_add_counter (ctx, "wait-cancel.started", 1);
  if (ready != NULL && !g_file_set_contents (ready, "waiting\n", -1, error))
    return FALSE;
  while (g_get_monotonic_time () < deadline)
    {
      if (gp_context_set_error_if_cancelled (ctx, error))
        return FALSE;
      g_usleep (10 * 1000);
    }
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "never cancelled");
  return FALSE;
}

GP_STAGE_DEFINE (
  .name = "wait-cancel",
  .description = "waits until the run is cancelled",
  .options = options,
  .run = wait_run)
