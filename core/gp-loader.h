/* graphpipe - finding and loading stage modules. */
#pragma once

#include "gp-macros.h"
#include "gp-stage.h"

G_BEGIN_DECLS

typedef struct _GpLoader GpLoader;
typedef struct _GpStageInfo GpStageInfo;

GP_API GpLoader *gp_loader_new (const char *const *plugin_dirs);
GP_API GpLoader *gp_loader_ref (GpLoader *loader);
GP_API void gp_loader_unref (GpLoader *loader);
GP_API char **gp_loader_get_search_path (GpLoader *loader);
GP_API const GpStageInfo *gp_loader_load_file (GpLoader *loader, const char *path,
                                               GError **error);
GP_API const GpStageInfo *gp_loader_find (GpLoader *loader, const char *name,
                                          GError **error);
GP_API GPtrArray *gp_loader_list (GpLoader *loader, GPtrArray **out_errors);

GP_API const GpStageDesc *gp_stage_info_get_desc (const GpStageInfo *info);
GP_API const char *gp_stage_info_get_name (const GpStageInfo *info);
GP_API const char *gp_stage_info_get_path (const GpStageInfo *info);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GpLoader, gp_loader_unref)

G_END_DECLS
