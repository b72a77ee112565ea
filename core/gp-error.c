/* graphpipe - error domains. */
#include "config.h"

#include "gp-error.h"

G_DEFINE_QUARK (gp-loader-error-quark, gp_loader_error)
G_DEFINE_QUARK (gp-preset-error-quark, gp_preset_error)
G_DEFINE_QUARK (gp-data-error-quark, gp_data_error)
