/* graphpipe - a validated pipeline of stage instances, and running it. */
#pragma once

#include "gp-macros.h"
#include "gp-context.h"
#include "gp-stage.h"
#include "gp-loader.h"
#include "gp-preset.h"

G_BEGIN_DECLS

/**
 * GP_CORE_PROVIDES:
 *
 * The capabilities the core provides before any stage runs: `root` (the
 * data root setting) and `store` (the 1.10+ store handle, opened lazily).
 */
#define GP_CORE_PROVIDES ((const char *const[]) { "root", "store", NULL })

typedef struct _GpPipeline GpPipeline;

GP_API GpPipeline *gp_pipeline_new (GpPreset *preset, GpLoader *loader, GpContext *ctx,
                                    GError **error);
GP_API void gp_pipeline_free (GpPipeline *pipeline);
GP_API guint gp_pipeline_get_n_stages (GpPipeline *pipeline);
GP_API GpStage *gp_pipeline_get_stage (GpPipeline *pipeline, guint index);
GP_API GpPreset *gp_pipeline_get_preset (GpPipeline *pipeline);
GP_API GpContext *gp_pipeline_get_context (GpPipeline *pipeline);
GP_API char *gp_pipeline_format_plan (GpPipeline *pipeline);
GP_API gboolean gp_pipeline_prepare (GpPipeline *pipeline, GError **error);
GP_API gboolean gp_pipeline_run (GpPipeline *pipeline, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GpPipeline, gp_pipeline_free)

G_END_DECLS
