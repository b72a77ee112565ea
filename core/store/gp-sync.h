/* graphpipe - a write session on a store: one writer at a time, recovery
 * from a crashed run, batched durability (gp-sync.c says how it stays
 * crash-safe). */
#pragma once


#include "gp-macros.h"
#include "gp-context.h"
#include "gp-lock.h"
#include "gp-pipeline.h"

G_BEGIN_DECLS

/**
 * GpSyncMode:
 * @GP_SYNC_BATCH: new files are not fsync'ed one by one; the session ends
 *   with one syncfs() per file system written (`--sync batch`)
 * @GP_SYNC_EACH: every file and directory is fsync'ed as it is written
 *   (`--sync each`); the session only locks and recovers
 *
 * How a write session makes the store's writes durable.
 */
typedef enum {
  GP_SYNC_BATCH = 0,
  GP_SYNC_EACH = 1,
} GpSyncMode;

/**
 * GpSyncFlags:
 * @GP_SYNC_DEFAULT: refuse at once when another run writes the store
 * @GP_SYNC_WAIT: wait for the other run to end
 *
 * Flags for gp_sync_session_begin_full().
 */
typedef enum {
  GP_SYNC_DEFAULT = 0,
  GP_SYNC_WAIT = 1 << 0,
} GpSyncFlags;

GP_API gboolean gp_sync_session_begin (GpContext *ctx, GError **error);
GP_API gboolean gp_sync_session_begin_full (GpContext *ctx, GpSyncMode mode, GpSyncFlags flags,
                                            GError **error);
GP_API gboolean gp_sync_session_end (GpContext *ctx, GError **error);
GP_API gboolean gp_sync_pipeline_writes (GpPipeline *pipeline);

G_END_DECLS
