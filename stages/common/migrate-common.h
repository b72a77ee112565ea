/* Helpers shared by the five migration stages (compiled into each module;
 * public API only). */
#pragma once

#include <graphpipe.h>

G_BEGIN_DECLS

/* Counters of the final report. */
#define MIG_IMAGES_MIGRATED "images migrated"
#define MIG_IMAGES_SKIPPED "images skipped"
#define MIG_IMAGES_FAILED "images failed"
#define MIG_LAYERS_MIGRATED "layers migrated"
#define MIG_LAYERS_SKIPPED "layers skipped"
#define MIG_LAYERS_FAILED "layers failed"
#define MIG_LAYERS_REGENERATED "layers regenerated"
#define MIG_LAYERS_CHECKSUMMED "layers checksummed"
#define MIG_BYTES_HASHED "bytes hashed"
#define MIG_CONTAINERS_MIGRATED "containers migrated"
#define MIG_CONTAINERS_SKIPPED "containers skipped"
#define MIG_CONTAINERS_FAILED "containers failed"
#define MIG_TAGS_MIGRATED "tags migrated"
#define MIG_TAGS_SKIPPED "tags skipped"
#define MIG_TAGS_FAILED "tags failed"
#define MIG_TAGS_PENDING "tags pending"
#define MIG_ELAPSED_MS "elapsed ms"

/* Where Docker's per-image helper files live with --read-only-source or
 * --target. */
#define MIG_HELPER_DIR GP_GRAPH_HELPER_DIR

/* The data root's mode after a migration in place (mig_set_root_mode()). */
#define MIG_ROOT_MODE 0701

/* The slot scan-graph keeps its private store's directory in (option
 * target=temporary). */
#define MIG_SLOT_TEMP_TARGET "scan-graph.temporary-target"

GpGraph *mig_get_graph (GpContext *ctx, GError **error);
void mig_set_graph (GpContext *ctx, GpGraph *graph);
GpStore *mig_get_store (GpContext *ctx, GError **error);

void mig_start_clock (GpContext *ctx);
void mig_update_clock (GpContext *ctx);

void mig_info (GpContext *ctx, const char *item, const char *format, ...) G_GNUC_PRINTF (3, 4);
void mig_fail (GpContext *ctx, GpGraphImage *image);
void mig_image_failed (GpContext *ctx, GpGraphImage *image);

void mig_crash_point (GpContext *ctx, const char *label);

gboolean mig_source_read_only (GpContext *ctx);
gboolean mig_set_root_mode (GpContext *ctx, GError **error);
const char *mig_dest_root (GpContext *ctx);
char *mig_helper_dir (GpContext *ctx, const char *v1_id);
char *mig_helper_path (GpContext *ctx, const char *v1_id, const char *name);
char *mig_read_blob_digest (const char *root, const char *v1_id);
char *mig_write_image (GpContext *ctx, GpStore *store, GBytes *config, const char *parent_id,
                       GError **error);

/* Image configs written ahead by register-layers for build-configs
 * (migrate-ahead.c). */
typedef struct _MigAhead MigAhead;
typedef struct {
  char *image_id;  /* the config and its parent link are written; NULL: */
  GError *error;   /* why not (a store error: a transient failure) */
  char *blob;      /* (nullable): graph/<id>/checksum, when image_id is set */
} MigAheadResult;

void mig_ahead_want (GpContext *ctx);
MigAhead *mig_ahead_start (GpContext *ctx, GpGraph *graph, GpStore *store);
void mig_ahead_push (MigAhead *a, GpGraphImage *image, GBytes *config);
MigAhead *mig_ahead_take (GpContext *ctx);
MigAheadResult *mig_ahead_lookup (MigAhead *a, GpGraphImage *image);
void mig_ahead_free (MigAhead *a);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MigAhead, mig_ahead_free)

G_END_DECLS
