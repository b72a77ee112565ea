/* Compile test: <graphpipe.h> alone, as a third party includes it (built
 * without GP_COMPILATION), and a sub-header refusing direct inclusion. */
#include <graphpipe.h>

/* Each public type and macro a stage needs is visible. */
static const GpOption options[] = {
  { .key = "k", .type = GP_OPTION_ENUM, .default_value = "a",
    .choices = GP_STAGE_STRV ("a", "b"), .help = "h" },
  { NULL }
};

int
main (int argc, char **argv)
{
  GpEvent event = { .kind = GP_EVENT_PROGRESS };
  GpContext *ctx = gp_context_new ();

  gp_context_emit (ctx, &event);
  gp_context_unref (ctx);
  /* TAP: the test is that this file compiled and linked. */
  g_print ("1..1\nok 1 /include/graphpipe-h %s %d\n", options[0].key,
           GP_STAGE_ABI_VERSION);
  return 0;
}
