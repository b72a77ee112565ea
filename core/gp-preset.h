/* graphpipe - preset pipelines (GKeyFile `.conf` files). */
#pragma once

#include "gp-macros.h"
#include "gp-context.h"

G_BEGIN_DECLS

/**
 * GP_PRESET_SUFFIX:
 *
 * The file name suffix of presets.
 */
#define GP_PRESET_SUFFIX ".conf"

typedef struct _GpPreset GpPreset;

GP_API GpPreset *gp_preset_load_file (const char *path, GError **error);
GP_API GpPreset *gp_preset_load_data (const char *data, gssize length,
                                      const char *display_name, GError **error);
GP_API GpPreset *gp_preset_lookup (const char *name_or_path, GError **error);
GP_API char **gp_preset_get_search_path (void);
GP_API GPtrArray *gp_preset_list (GPtrArray **out_errors);
GP_API GpPreset *gp_preset_ref (GpPreset *preset);
GP_API void gp_preset_unref (GpPreset *preset);
GP_API const char *gp_preset_get_name (GpPreset *preset);
GP_API const char *gp_preset_get_path (GpPreset *preset);
GP_API const char *gp_preset_get_description (GpPreset *preset);
GP_API const char *const *gp_preset_get_stages (GpPreset *preset);
GP_API GKeyFile *gp_preset_get_key_file (GpPreset *preset);

GP_API char *gp_expand_variables (const char *text, GpContext *ctx, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GpPreset, gp_preset_unref)

G_END_DECLS
