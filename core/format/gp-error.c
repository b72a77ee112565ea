/* graphpipe - error domains. */
#include "config.h"

#include "gp-error.h"

G_DEFINE_QUARK (gp-loader-error-quark, gp_loader_error)
G_DEFINE_QUARK (gp-preset-error-quark, gp_preset_error)
G_DEFINE_QUARK (gp-data-error-quark, gp_data_error)

/* GLib sets up the C locale behind g_ascii_strtoll() on its first call.
 * Threads making that first call at the same time were seen to fail now
 * and then with "number is not a 64-bit integer" on valid tar-split data
 * (about 1 run in 100 of a parallel save): an errno left by the wait for
 * one another is taken for an overflow by g_ascii_string_to_signed().
 * The library makes the first call when it is loaded, before any thread
 * of ours exists. */
__attribute__ ((constructor)) static void
gp_warm_up_c_locale (void)
{
  (void) g_ascii_strtoll ("0", NULL, 10);
}
