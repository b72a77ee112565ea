/* graphpipe - the Docker 1.10+ content-addressable store (FORMATS.md §4).
 *
 * `<root>/image/<driver>/`: layerdb (layer and mount records), imagedb
 * (configs and parent metadata), repositories.json, distribution metadata;
 * plus `<root>/containers/`.  Read access works on stores written by Docker
 * 1.10 to 20.10 (vfs, aufs, overlay, overlay2, …); write access produces
 * exactly the files, bytes and modes Docker 1.10.3 produces, durably (every
 * write through gp-safeio), whatever the umask.
 *
 * Digest arguments (image IDs, ChainIDs, DiffIDs) are `sha256:` + 64
 * lowercase hex unless said otherwise.
 */
#pragma once

#include "gp-macros.h"
#include "gp-reference.h"

G_BEGIN_DECLS

typedef struct _GpStore GpStore;

GP_API GpStore *gp_store_open (const char *root, const char *driver, GError **error);
GP_API GpStore *gp_store_ref (GpStore *store);
GP_API void gp_store_unref (GpStore *store);
GP_API const char *gp_store_get_root (GpStore *store);
GP_API const char *gp_store_get_driver (GpStore *store);
GP_API const char *gp_store_get_dir (GpStore *store);
GP_API const char *gp_store_get_containers_dir (GpStore *store);
GP_API const char *gp_store_get_layers_root (GpStore *store);
GP_API void gp_store_set_layers_root (GpStore *store, const char *layers_root);
GP_API gboolean gp_store_exists (GpStore *store);
GP_API gboolean gp_store_init_layout (GpStore *store, GError **error);
GP_API gboolean gp_store_clean_stale (GpStore *store, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GpStore, gp_store_unref)

/* ---- layerdb: layer records ---- */

/**
 * GpLayerRecord:
 * @chain_id: `sha256:<hex>`, the record's name
 * @diff_id: content of `diff` (trimmed, a valid digest)
 * @parent: (nullable): content of `parent` (trimmed), %NULL for a base layer
 * @cache_id: content of `cache-id` (trimmed): the driver's layer ID
 * @size: content of `size`
 * @tar_split_path: path of the record's `tar-split.json.gz` (not checked)
 */
typedef struct {
  char *chain_id;
  char *diff_id;
  char *parent;
  char *cache_id;
  gint64 size;
  char *tar_split_path;
} GpLayerRecord;

GP_API void gp_layer_record_free (GpLayerRecord *record);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GpLayerRecord, gp_layer_record_free)

GP_API gboolean gp_store_has_layer (GpStore *store, const char *chain_id);
GP_API GpLayerRecord *gp_store_get_layer (GpStore *store, const char *chain_id, GError **error);
GP_API GPtrArray *gp_store_list_layers (GpStore *store, GError **error);

typedef struct _GpLayerTx GpLayerTx;

GP_API GpLayerTx *gp_store_begin_layer (GpStore *store, GError **error);
GP_API gboolean gp_layer_tx_write (gpointer tx, const void *buf, gsize len, GError **error);
GP_API gboolean gp_layer_tx_copy_tar_split (GpLayerTx *tx, const char *src_path, GError **error);
GP_API gboolean gp_layer_tx_commit (GpLayerTx *tx, const char *parent_chain_id, const char *diff_id,
                                    const char *cache_id, gint64 size, char **out_chain_id,
                                    gboolean *out_existed, GError **error);
GP_API void gp_layer_tx_free (GpLayerTx *tx);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GpLayerTx, gp_layer_tx_free)

GP_API gboolean gp_store_register_layer (GpStore *store, const char *parent_chain_id, const char *diff_id,
                                         const char *cache_id, gint64 size, const char *tar_split_path,
                                         char **out_chain_id, gboolean *out_existed, GError **error);

/* ---- layerdb: mount records ---- */

/**
 * GpMountRecord:
 * @name: the mount's name (the container ID)
 * @mount_id: content of `mount-id` (trimmed)
 * @init_id: (nullable): content of `init-id` (trimmed), %NULL if absent
 * @parent: (nullable): content of `parent` (trimmed), %NULL if absent
 */
typedef struct {
  char *name;
  char *mount_id;
  char *init_id;
  char *parent;
} GpMountRecord;

GP_API void gp_mount_record_free (GpMountRecord *record);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GpMountRecord, gp_mount_record_free)

GP_API GpMountRecord *gp_store_get_mount (GpStore *store, const char *name, GError **error);
GP_API gboolean gp_store_create_mount (GpStore *store, const char *name, const char *mount_id,
                                       gboolean has_init, const char *parent_chain_id,
                                       gboolean *out_existed, GError **error);

/* ---- imagedb ---- */

GP_API GBytes *gp_store_get_image_config (GpStore *store, const char *image_id, GError **error);
GP_API char *gp_store_put_image_config (GpStore *store, const void *data, gsize len, GError **error);
GP_API gboolean gp_store_has_image (GpStore *store, const char *image_id);
GP_API gboolean gp_store_get_image_parent (GpStore *store, const char *image_id, char **out_parent,
                                           GError **error);
GP_API gboolean gp_store_set_image_parent (GpStore *store, const char *image_id, const char *parent_id,
                                           GError **error);
GP_API GPtrArray *gp_store_list_images (GpStore *store, GError **error);
GP_API char *gp_store_search_image (GpStore *store, const char *term, GError **error);
GP_API gboolean gp_image_ids_search_prefix (GPtrArray *ids, const char *term, const char **out_id,
                                            GError **error);

/* ---- repositories.json ---- */

typedef struct _GpRepositories GpRepositories;

/**
 * GpRepositoryEntry:
 * @reference: the full reference string (`busybox:latest`, `busybox@sha256:…`)
 * @image_id: the image ID it points at, as stored
 */
typedef struct {
  char *reference;
  char *image_id;
} GpRepositoryEntry;

GP_API void gp_repository_entry_free (GpRepositoryEntry *entry);

GP_API GpRepositories *gp_repositories_new (void);
GP_API GpRepositories *gp_repositories_load_data (const char *data, gsize len, const char *what,
                                                  GError **error);
GP_API GpRepositories *gp_repositories_load (const char *path, GError **error);
GP_API void gp_repositories_free (GpRepositories *repos);
GP_API gboolean gp_repositories_add_tag (GpRepositories *repos, const GpReference *ref, const char *image_id,
                                         GError **error);
GP_API gboolean gp_repositories_add_digest (GpRepositories *repos, const GpReference *ref,
                                            const char *image_id, GError **error);
GP_API const char *gp_repositories_lookup (GpRepositories *repos, const GpReference *ref);
GP_API const char *gp_repositories_lookup_string (GpRepositories *repos, const char *name,
                                                  const char *reference);
GP_API GPtrArray *gp_repositories_list_names (GpRepositories *repos);
GP_API GPtrArray *gp_repositories_list_by_name (GpRepositories *repos, const char *name);
GP_API GPtrArray *gp_repositories_references_for_image (GpRepositories *repos, const char *image_id);
GP_API char *gp_repositories_to_json (GpRepositories *repos, gsize *out_len);
GP_API gboolean gp_repositories_save (GpRepositories *repos, const char *path, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GpRepositories, gp_repositories_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GpRepositoryEntry, gp_repository_entry_free)

GP_API GpRepositories *gp_store_get_repositories (GpStore *store, GError **error);
GP_API gboolean gp_store_add_tag (GpStore *store, const GpReference *ref, const char *image_id,
                                  GError **error);
GP_API gboolean gp_store_add_digest (GpStore *store, const GpReference *ref, const char *image_id,
                                     GError **error);

/* ---- distribution metadata ---- */

#define GP_V2_METADATA_MAX 50

/**
 * GpV2Metadata:
 * @digest: the blob digest, as stored
 * @source_repository: the repository it came from (`""` for migrated data)
 */
typedef struct {
  char *digest;
  char *source_repository;
} GpV2Metadata;

GP_API void gp_v2_metadata_free (GpV2Metadata *meta);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GpV2Metadata, gp_v2_metadata_free)

GP_API GPtrArray *gp_v2_metadata_parse (const char *data, gsize len, const char *what, GError **error);
GP_API char *gp_v2_metadata_to_json (GPtrArray *list, gsize *out_len);
GP_API GPtrArray *gp_store_get_v2_metadata (GpStore *store, const char *diff_id, GError **error);
GP_API gboolean gp_store_add_v2_metadata (GpStore *store, const char *diff_id, const char *digest,
                                          const char *source_repository, GError **error);
GP_API char *gp_store_get_diff_id_by_digest (GpStore *store, const char *digest, GError **error);

/* ---- Docker's containerd image store ---- */

GP_API char *gp_store_containerd_sibling (const char *root);

G_END_DECLS
