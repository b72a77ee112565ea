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
#include "gp-io.h"
#include "gp-json.h"
#include "gp-v1image.h"
#include "gp-digest.h"
#include "gp-estimate.h"
#include "gp-crc64.h"
#include "gp-bbolt.h"
#include "gp-oci-manifest.h"
#include "gp-tarsplit.h"
#include "gp-layerfs.h"
#include "gp-tarwriter.h"
#include "gp-pgzip.h"
#include "gp-archive.h"
#include "gp-layerfs-archive.h"
#include "gp-safeio.h"
#include "gp-reference.h"
#include "gp-store.h"
#include "gp-graph.h"
#include "gp-event.h"
#include "gp-context.h"
#include "gp-images.h"
#include "gp-image-catalog.h"
#include "gp-progress.h"
#include "gp-stage.h"
#include "gp-loader.h"
#include "gp-preset.h"
#include "gp-pipeline.h"
#include "gp-sync.h"
#include "gp-sync-session.h"

#undef GP_INSIDE_GRAPHPIPE_H
