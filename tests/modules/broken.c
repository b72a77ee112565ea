/* Test modules with invalid descriptors; BROKEN_<what> picks the flaw. */
#include <graphpipe.h>

G_GNUC_UNUSED static gboolean
run (GpStage *stage, GpContext *ctx, GError **error)
{
  return TRUE;
}

#if defined(BROKEN_EMPTY_NAME)
GP_STAGE_DEFINE (.name = "", .description = "empty name", .run = run)
#elif defined(BROKEN_WRONG_NAME)
GP_STAGE_DEFINE (.name = "other-name", .description = "name is not the file's", .run = run)
#elif defined(BROKEN_NO_RUN)
GP_STAGE_DEFINE (.name = "no-run", .description = "no run function")
#elif defined(BROKEN_BAD_OPTION)
static const GpOption options[] = {
  { .key = "fine", .type = GP_OPTION_STRING, .help = "a good option" },
  { .key = "mode", .type = GP_OPTION_ENUM, .default_value = "a",
    .help = "an enum without choices" },
  { NULL }
};
GP_STAGE_DEFINE (.name = "bad-option", .description = "enum option without choices",
                 .options = options, .run = run)
#elif defined(BROKEN_BAD_DEFAULT)
static const GpOption options[] = {
  { .key = "count", .type = GP_OPTION_INT, .default_value = "many",
    .help = "an int whose default is not one" },
  { NULL }
};
GP_STAGE_DEFINE (.name = "bad-default", .description = "int option with a bad default",
                 .options = options, .run = run)
#else
#error "define one BROKEN_* macro"
#endif
