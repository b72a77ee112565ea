/* graphpipe - the one header third parties include.
 *
 *   #include <graphpipe.h>
 *
 * with the flags from `pkg-config --cflags graphpipe-1.0`.  The
 * sub-headers refuse direct inclusion.
 */
#pragma once

#define GP_INSIDE_GRAPHPIPE_H

#include "gp-macros.h"
#include "gp-error.h"
#include "gp-json.h"
#include "gp-event.h"
#include "gp-context.h"
#include "gp-stage.h"
#include "gp-loader.h"
#include "gp-preset.h"
#include "gp-pipeline.h"

#undef GP_INSIDE_GRAPHPIPE_H
