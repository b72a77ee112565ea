/* graphpipe - the legacy (pre-1.10) image graph of a data root.
 *
 * FORMATS.md §1 and §4.9.  scan-graph fills a #GpGraph from `<root>/graph`
 * (every valid v1 ID, its JSON, its resolved parent, the parent DAG, the
 * images that cannot be migrated and why) and from the mapping file of an
 * earlier run; the later migration stages walk it in Docker's order and
 * record what they did in the same nodes.
 */
#pragma once

#include "gp-macros.h"
#include "gp-store.h"
#include "gp-layerfs.h"
#include "gp-reference.h"
#include "gp-tarsplit.h"

#include <gio/gio.h>

G_BEGIN_DECLS

/* Name of the mapping file under the data root (§4.9 A, E). */
#define GP_GRAPH_MAPPING_FILE ".migration-v1-images.json"
/* The other names the migration writes and trusts on a rerun: the tags
 * marker beside the mapping file, the helper files Docker keeps in
 * graph/<id>/, and the directory (under image/<driver>/) that holds them
 * with --read-only-source. */
#define GP_GRAPH_TAGS_MARKER ".migration-v1-tags"
#define GP_GRAPH_HELPER_DIFFID ".migration-diffid"
#define GP_GRAPH_HELPER_SIZE ".migration-size"
#define GP_GRAPH_HELPER_TARDATA ".migration-tardata"
#define GP_GRAPH_HELPER_DIR "graphpipe-migration"
/* The tar-split data of a legacy layer, graph/<id>/ (Docker >= 1.8). */
#define GP_GRAPH_LEGACY_TARDATA "tar-data.json.gz"

/* Largest graph/<id>/json, parent file or mapping file read (bytes). */
#define GP_GRAPH_MAX_JSON_SIZE (64 * 1024 * 1024)

typedef struct _GpGraph GpGraph;
typedef struct _GpGraphImage GpGraphImage;

/**
 * GpGraphFailure:
 * @GP_GRAPH_FAILURE_NONE: the image has not failed
 * @GP_GRAPH_FAILURE_PERMANENT: the legacy graph's own metadata rules the
 *   image out (unreadable or invalid JSON, a parent that is missing, not
 *   an image ID or part of a cycle, a config Docker refuses to build):
 *   every later run fails the same way, as Docker skips it for good
 * @GP_GRAPH_FAILURE_TRANSIENT: the environment failed this run (I/O
 *   error, no space, permissions, a read-only file system, missing or
 *   damaged layer files, a store object that could not be written or
 *   read): a rerun once that is fixed may migrate the image
 *
 * Why an image failed, as far as the next run is concerned.  migrate-tags
 * writes the tags marker only when no tag waits on a transient failure.
 */
typedef enum {
  GP_GRAPH_FAILURE_NONE,
  GP_GRAPH_FAILURE_PERMANENT,
  GP_GRAPH_FAILURE_TRANSIENT,
} GpGraphFailure;

/**
 * GpGraphImage:
 * @id: the v1 ID, i.e. the name of the `graph/` entry
 * @index: position in gp_graph_get_images() (sorted by @id)
 * @json: (nullable): the bytes of `graph/<id>/json`; %NULL for mapped
 *   images (never read) and when the file could not be read
 * @parent: (nullable): the parent's v1 ID as resolved by §1.5, %NULL for a
 *   base image or when resolution failed
 * @parent_image: (nullable): the node of @parent when `graph/` holds it
 * @parent_mapped: @parent is in the mapping of an earlier run, so the
 *   parent image is taken from the image store, not from @parent_image
 * @mapped: the image itself is in the mapping of an earlier run: the
 *   migration skips it (§4.9 A)
 * @parent_resolved: §1.5 succeeded (the checksum step may run, §4.9 C.2)
 * @error: (nullable): why the image cannot be migrated; %NULL while it can
 * @failed_at: (nullable): the image where the failure started (@self when
 *   the error is the image's own, an ancestor when inherited)
 * @diff_id: (nullable): DiffID from the checksum step (register-layers)
 * @size: layer size from the checksum step (register-layers)
 * @chain_id: (nullable): ChainID of the image's layer chain once its layer
 *   is registered (register-layers)
 * @image_id: (nullable): the new image ID once the image was created
 *   (build-configs)
 *
 * One image of the legacy graph.  The graph owns every node and every
 * string in it; stages set the fields documented as theirs, always from
 * the thread that runs the stage except @diff_id and @size, which the
 * checksum workers set for their own node only.
 */
struct _GpGraphImage
{
  char *id;
  guint index;
  GBytes *json;
  char *parent;
  GpGraphImage *parent_image;
  gboolean parent_mapped;
  gboolean mapped;
  gboolean parent_resolved;
  GError *error;
  GpGraphImage *failed_at;

  char *diff_id;
  gint64 size;
  char *chain_id;
  char *image_id;

  /*< private >*/
  guint visit;
  gboolean reported;
  gpointer history;
  char *checked_config;
  GpGraphFailure failure;
  char **entries;
  gpointer reserved[5];
};

GP_API GpGraph *gp_graph_new (const char *root);
GP_API GpGraph *gp_graph_ref (GpGraph *graph);
GP_API void gp_graph_unref (GpGraph *graph);

GP_API const char *gp_graph_get_root (GpGraph *graph);
GP_API void gp_graph_set_mapping_root (GpGraph *graph, const char *dir);
GP_API gboolean gp_graph_load_mapping (GpGraph *graph, GError **error);
GP_API gboolean gp_graph_scan (GpGraph *graph, GCancellable *cancellable, GError **error);
GP_API gboolean gp_graph_has_graph_dir (GpGraph *graph);

GP_API guint gp_graph_get_n_images (GpGraph *graph);
GP_API GpGraphImage *gp_graph_get_image (GpGraph *graph, guint index);
GP_API GpGraphImage *gp_graph_lookup (GpGraph *graph, const char *id);
GP_API GPtrArray *gp_graph_get_order (GpGraph *graph);

GP_API void gp_graph_image_fail (GpGraphImage *image, GError *error);
GP_API void gp_graph_image_fail_as (GpGraphImage *image, GpGraphFailure failure, GError *error);
GP_API GpGraphFailure gp_graph_image_get_failure (GpGraphImage *image);
GP_API GpGraphFailure gp_graph_classify_error (const GError *error);
GP_API gboolean gp_graph_image_inherit_failure (GpGraphImage *image);
GP_API gboolean gp_graph_image_is_pending (GpGraphImage *image);

GP_API gboolean gp_graph_image_take_report (GpGraphImage *image);
GP_API const char *const *gp_graph_image_get_entries (GpGraphImage *image);

/* Docker's per-image migration steps (§4.9 D) over a store. */
GP_API char *gp_graph_image_parent_chain_id (GpGraph *graph, GpGraphImage *image, GpStore *store,
                                             GError **error);
GP_API const char *gp_graph_image_parent_image_id (GpGraph *graph, GpGraphImage *image);
GP_API GBytes *gp_graph_image_build_config (GpGraph *graph, GpGraphImage *image, GpStore *store,
                                            GError **error);

GP_API GHashTable *gp_graph_get_mapping (GpGraph *graph);
GP_API guint gp_graph_get_n_restored (GpGraph *graph);
GP_API const char *gp_graph_mapping_lookup (GpGraph *graph, const char *v1_id);
GP_API void gp_graph_mapping_insert (GpGraph *graph, const char *v1_id, const char *image_id);
GP_API GString *gp_graph_mapping_to_json (GpGraph *graph);

/* How a migration rebuilds each legacy layer and makes references of the
 * legacy tags (gp-graph-legacy.c). */
GP_API gboolean gp_graph_layer_tar_split (const GpDriver *driver, const char *root, const char *v1_id,
                                          GpWriteFunc write, gpointer write_data,
                                          GCancellable *cancellable, GpTarSplitStats *stats,
                                          gboolean *out_absent, GError **error);
GP_API gboolean gp_graph_layer_driver_diff (const GpDriver *driver, const char *root,
                                            const char *v1_id, const char *parent_v1_id,
                                            GpWriteFunc write, gpointer write_data,
                                            GCancellable *cancellable, GError **error);
GP_API gboolean gp_graph_layer_fallback (const char *v1_id, const char *driver_name,
                                         GError *route_error, gboolean absent, gboolean strict,
                                         char **out_warning, GError **error);

/**
 * GpGraphLegacyTag:
 * @name: the repository name, as in `repositories-<driver>`
 * @key: the tag or digest under it
 * @v1_id: the v1 ID it points at
 */
typedef struct {
  char *name;
  char *key;
  char *v1_id;
} GpGraphLegacyTag;

GP_API void gp_graph_legacy_tag_free (GpGraphLegacyTag *tag);
GP_API GPtrArray *gp_graph_load_legacy_tags (const char *root, const char *driver,
                                             gboolean *out_absent, GError **error);
GP_API GpReference *gp_graph_legacy_tag_reference (const GpGraphLegacyTag *tag,
                                                   gboolean *out_is_digest,
                                                   gboolean *out_bad_name, GError **error);
GP_API gboolean gp_graph_legacy_tag_add (GpRepositories *repos, const GpReference *ref,
                                         gboolean is_digest, const char *image_id,
                                         GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GpGraph, gp_graph_unref)

G_END_DECLS
