/* graphpipe - stage instances, library-internal part. */
#pragma once

#include "gp-stage.h"

G_BEGIN_DECLS

GpStage *_gp_stage_new (const GpStageDesc *desc, const char *module_path);
void _gp_stage_free (GpStage *stage);
void _gp_stage_set_value (GpStage *stage, const char *key, const char *value,
                          gboolean is_default);
const GpOption *_gp_stage_desc_find_option (const GpStageDesc *desc, const char *key);
gboolean _gp_option_parse_bool (const char *text, gboolean *out_value);
gboolean _gp_option_parse_int (const char *text, gint64 *out_value);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GpStage, _gp_stage_free)

G_END_DECLS
