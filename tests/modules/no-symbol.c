/* Test module: a shared object without the descriptor getter. */
#include <graphpipe.h>

GP_STAGE_EXPORT int gp_not_a_stage (void);
GP_STAGE_EXPORT int
gp_not_a_stage (void)
{
  return 42;
}
