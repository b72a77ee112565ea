/* graphpipe - a write session on a store: one writer at a time, recovery
 * from a crashed run, batched durability (gp-sync.c says how it stays
 * crash-safe).  A run begins and ends one with gp_sync_session_begin_full()
 * and gp_sync_session_end() of gp-sync-session.h. */
#pragma once

#include "gp-macros.h"
#include "gp-lock.h"

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

G_END_DECLS
