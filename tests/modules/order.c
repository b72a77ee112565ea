/* Test modules order-a, order-b, order-c (STAGE_NAME): each appends
 * "prepare:NAME " and "run:NAME " to the GString in the slot "trace". */
#include <graphpipe.h>

static void
string_free (gpointer s)
{
  g_string_free (s, TRUE);
}

static void
trace (GpContext *ctx, const char *what)
{
  GString *s = gp_context_get_slot (ctx, "trace");
  if (s == NULL)
    {
      s = g_string_new (NULL);
      gp_context_set_slot (ctx, "trace", s, string_free);
    }
  g_string_append_printf (s, "%s:%s ", what, STAGE_NAME);
}

static gboolean
order_prepare (GpStage *stage, GpContext *ctx, GError **error)
{
  trace (ctx, "prepare");
  return TRUE;
}

static gboolean
order_run (GpStage *stage, GpContext *ctx, GError **error)
{
  trace (ctx, "run");
  /* The pipeline names the running stage. */
  if (g_strcmp0 (gp_context_get_current_stage (ctx), STAGE_NAME) != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "current stage is %s",
                   gp_context_get_current_stage (ctx));
      return FALSE;
    }
  return TRUE;
}

GP_STAGE_DEFINE (
  .name = STAGE_NAME,
  .description = "records the order of prepare and run",
  .provides = GP_STAGE_STRV (STAGE_NAME),
  .prepare = order_prepare,
  .run = order_run)
