/* graphpipe - batched durability for a run that writes a store
 * (gp-sync.c says how it stays crash-safe). */
#pragma once


#include "gp-macros.h"
#include "gp-context.h"

G_BEGIN_DECLS

GP_API gboolean gp_sync_session_begin (GpContext *ctx, GError **error);
GP_API gboolean gp_sync_session_end (GpContext *ctx, GError **error);

G_END_DECLS
