/* graphpipe - the write session of a run (see gp-sync.h): begun and
 * ended on the run's context, and whether a pipeline needs one. */
#pragma once

#include "gp-macros.h"
#include "gp-context.h"
#include "gp-pipeline.h"
#include "gp-sync.h"

G_BEGIN_DECLS

GP_API gboolean gp_sync_session_begin (GpContext *ctx, GError **error);
GP_API gboolean gp_sync_session_begin_full (GpContext *ctx, GpSyncMode mode, GpSyncFlags flags,
                                            GError **error);
GP_API gboolean gp_sync_session_end (GpContext *ctx, GError **error);
GP_API gboolean gp_sync_pipeline_writes (GpPipeline *pipeline);

G_END_DECLS
