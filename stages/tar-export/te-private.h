/* tar-export: declarations shared by the stage's source files. */
#pragma once

#include <graphpipe.h>

#include "te-output.h"

G_BEGIN_DECLS

/* ---- te-export.c: the docker save stream (FORMATS.md §7.2-§7.5) ---- */

gboolean te_export (GpContext *ctx, GPtrArray *images, const char *output, gboolean gzip,
                    GError **error);

G_END_DECLS
