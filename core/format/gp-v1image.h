/* graphpipe - Docker's image structs as Go encodes and decodes them.
 *
 * FORMATS.md §6.9 (struct catalogue) and the Docker functions built on it:
 * HistoryFromConfig (§5.5), MakeConfigFromV1Config (§5.6), v1.CreateID and
 * the save `json` files (§5.7, §7.2, §7.3), the container config.v2.json
 * rewrite (§4.7) and the parent record of a legacy image (§1.5).
 *
 * String members are GString pointers where %NULL means the empty Go
 * string, so a zero-filled struct is Go's zero value.  Strings may hold
 * any bytes, NUL included.  Nullable containers (%NULL = Go nil) are
 * GPtrArray of GString (slices) and GHashTable keyed by GString (maps).
 */
#pragma once

#include "gp-macros.h"
#include "gp-json.h"

G_BEGIN_DECLS

/**
 * GpContainerConfig:
 *
 * engine-api's container.Config (23 fields), in struct order.
 * @exposed_ports and @volumes are sets (GString key, %NULL value);
 * @labels maps GString to GString.  @cmd and @entrypoint are %NULL for
 * JSON `null`.
 */
typedef struct {
  GString *hostname;
  GString *domainname;
  GString *user;
  gboolean attach_stdin;
  gboolean attach_stdout;
  gboolean attach_stderr;
  GHashTable *exposed_ports;
  GString *publish_service;
  gboolean tty;
  gboolean open_stdin;
  gboolean stdin_once;
  GPtrArray *env;
  GPtrArray *cmd;
  gboolean args_escaped;
  GString *image;
  GHashTable *volumes;
  GString *working_dir;
  GPtrArray *entrypoint;
  gboolean network_disabled;
  GString *mac_address;
  GPtrArray *on_build;
  GHashTable *labels;
  GString *stop_signal;
} GpContainerConfig;

/**
 * GpV1Image:
 *
 * Docker's image.V1Image (12 fields).  @config is %NULL when absent or
 * `null`; @container_config is always present.
 */
typedef struct {
  GString *id;
  GString *parent;
  GString *comment;
  GpGoTime created;
  GString *container;
  GpContainerConfig container_config;
  GString *docker_version;
  GString *author;
  GpContainerConfig *config;
  GString *architecture;
  GString *os;
  gint64 size;
} GpV1Image;

/**
 * GpHistory:
 *
 * Docker's image.History.
 */
typedef struct {
  GpGoTime created;
  GString *author;
  GString *created_by;
  GString *comment;
  gboolean empty_layer;
} GpHistory;

/**
 * GpImageConfig:
 * @v1: the V1Image fields (its @parent is always empty: Image.Parent
 *   shadows it)
 * @parent: Image.Parent (`parent` key)
 * @rootfs_type: RootFS.Type
 * @diff_ids: (element-type GString) (nullable): RootFS.DiffIDs
 * @history: (element-type GpHistory) (nullable): the history
 * @raw: the exact bytes the config was parsed from
 *
 * An image config from imagedb (Docker's image.Image).
 */
typedef struct {
  GpV1Image v1;
  GString *parent;
  GString *rootfs_type;
  GPtrArray *diff_ids;
  GPtrArray *history;
  GBytes *raw;
} GpImageConfig;

/**
 * GpContainerImage:
 * @GP_CONTAINER_IMAGE_ABSENT: no `Image` key (or the document is `null`)
 * @GP_CONTAINER_IMAGE_NULL: `"Image":null` (Docker 1.10.3 crashes here)
 * @GP_CONTAINER_IMAGE_NOT_STRING: a value that is not a JSON string
 * @GP_CONTAINER_IMAGE_STRING: a string
 *
 * What a legacy container config.json holds under `Image`.
 */
typedef enum {
  GP_CONTAINER_IMAGE_ABSENT,
  GP_CONTAINER_IMAGE_NULL,
  GP_CONTAINER_IMAGE_NOT_STRING,
  GP_CONTAINER_IMAGE_STRING,
} GpContainerImage;

/* Container config. */
GP_API GpContainerConfig *gp_container_config_new (void);
GP_API void gp_container_config_free (GpContainerConfig *config);
GP_API void gp_container_config_clear (GpContainerConfig *config);
GP_API gboolean gp_container_config_decode (GpContainerConfig *config, const char *raw,
                                            gsize len, GError **error);
GP_API void gp_container_config_append_json (GString *out, const GpContainerConfig *config);

/* V1Image. */
GP_API GpV1Image *gp_v1image_new (void);
GP_API void gp_v1image_free (GpV1Image *img);
GP_API void gp_v1image_clear (GpV1Image *img);
GP_API GpV1Image *gp_v1image_parse (const char *data, gsize len, GError **error);
GP_API gboolean gp_v1image_decode (GpV1Image *img, const char *data, gsize len,
                                   GError **error);
GP_API gboolean gp_v1image_append_json (GString *out, const GpV1Image *img, GError **error);

/* History and RootFS. */
GP_API GpHistory *gp_history_new (void);
GP_API void gp_history_free (GpHistory *history);
GP_API GpHistory *gp_history_from_v1_json (const char *data, gsize len, GError **error);
GP_API gboolean gp_history_append_json (GString *out, const GpHistory *history, GError **error);
GP_API gboolean gp_history_array_append_json (GString *out, GPtrArray *history, GError **error);
GP_API void gp_rootfs_append_json (GString *out, const char *type,
                                   const char *const *diff_ids);

/* Docker functions. */
GP_API gint gp_docker_version_compare (const char *a, const char *b);
GP_API GBytes *gp_make_config_from_v1 (const char *v1_json, gsize len,
                                       const char *const *diff_ids, GPtrArray *history,
                                       GError **error);
GP_API GBytes *gp_make_config_from_v1_history_json (const char *v1_json, gsize len,
                                                   const char *const *diff_ids,
                                                   const char *history_json, gsize history_len,
                                                   GError **error);
GP_API GpImageConfig *gp_image_config_parse (const char *data, gsize len, GError **error);
GP_API gboolean gp_image_config_check (const char *data, gsize len, guint *out_n_layers,
                                       guint *out_n_nonempty, GError **error);
GP_API void gp_image_config_free (GpImageConfig *config);
GP_API GString *gp_v1image_create_id_json (const GpV1Image *img, const char *chain_id,
                                           const char *parent, GError **error);
GP_API char *gp_v1image_create_id (const GpV1Image *img, const char *chain_id,
                                   const char *parent, GError **error);
GP_API GBytes *gp_v1image_layer_json (const GpV1Image *img, const char *v1_id,
                                      const char *parent_v1_id, GError **error);
GP_API GpContainerImage gp_container_json_get_image (const GpJsonRawObject *obj,
                                                     GString **out_image);
GP_API GBytes *gp_container_json_set_image (GpJsonRawObject *obj, const char *image_id);
GP_API gboolean gp_v1_json_parent_fields (const char *data, gsize len, GString **out_parent,
                                          GString **out_parent_id, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GpContainerConfig, gp_container_config_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GpV1Image, gp_v1image_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GpHistory, gp_history_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GpImageConfig, gp_image_config_free)

G_END_DECLS
