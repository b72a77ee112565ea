/* graphpipe - the image model: what a source hands a sink.
 *
 * A source stage (docker-store, ...) resolves the names the user gave and
 * puts the images it found into the context (the `image-set` capability); a
 * sink stage (tar-export, ...) reads them from there and writes them out.
 * An image is its ID, its config bytes exactly as stored, the references
 * the source attached to it and its layers, bottom first.  A layer is its
 * DiffID, the length of its tar stream when the source knows it, and a
 * small vtable that streams the uncompressed tar (checked against the
 * DiffID on the way by gp_image_layer_stream()) and, optionally, a
 * compressed blob.  A source that keeps the original manifest (and the
 * index it was reached through) attaches those bytes too, for sinks that
 * re-export them as they are.  Names are resolved by a #GpImageCatalog
 * (gp-image-catalog.h).  Images and layers are refcounted and immutable once
 * published; a layer shared by several images is one object.
 */
#pragma once

#include <gio/gio.h>

#include "gp-macros.h"
#include "gp-io.h"
#include "gp-store.h"
#include "gp-context.h"

G_BEGIN_DECLS

/**
 * GP_IMAGES_CAPABILITY:
 *
 * The capability a source provides and a sink requires: the context's
 * image set (gp_context_set_images(), gp_context_get_images()).  Not
 * `images`: that one says a stage writes image configs into the store
 * (build-configs), which makes a run take the store's write lock.
 */
#define GP_IMAGES_CAPABILITY "image-set"

typedef struct _GpImageLayer GpImageLayer;
typedef struct _GpImage GpImage;

/**
 * GpImageLayerStreamFunc:
 * @layer: the layer
 * @write: where the bytes go
 * @write_data: data for @write
 * @cancellable: (nullable): a #GCancellable
 * @out_diff_id: (out) (optional) (transfer full): %NULL unless the vtable
 *   says @computes_digest; then the function sets it to the `sha256:<hex>`
 *   of the bytes it wrote
 * @error: return location for a #GError
 *
 * Writes a layer's bytes (the uncompressed tar, or the compressed blob)
 * to @write.  Called from any thread, possibly for several layers at once.
 *
 * Returns: %TRUE when every byte was written
 */
typedef gboolean (*GpImageLayerStreamFunc) (GpImageLayer  *layer,
                                            GpWriteFunc    write,
                                            gpointer       write_data,
                                            GCancellable  *cancellable,
                                            char         **out_diff_id,
                                            GError       **error);

/**
 * GpImageLayerFuncs:
 * @stream_tar: writes the uncompressed layer tar (required)
 * @stream_blob: (nullable): writes the compressed blob described by
 *   gp_image_layer_set_blob()
 * @computes_digest: the stream functions hash what they write and return
 *   the digest (else gp_image_layer_stream() hashes on the way)
 *
 * The vtable of a layer; its source keeps it in static storage.
 */
typedef struct {
  GpImageLayerStreamFunc stream_tar;
  GpImageLayerStreamFunc stream_blob;
  gboolean computes_digest;
} GpImageLayerFuncs;

GP_API GpImageLayer *gp_image_layer_new (const char *diff_id, gint64 size,
                                         const GpImageLayerFuncs *funcs, gpointer data,
                                         GDestroyNotify destroy);
GP_API GpImageLayer *gp_image_layer_ref (GpImageLayer *layer);
GP_API void gp_image_layer_unref (GpImageLayer *layer);
GP_API const char *gp_image_layer_get_diff_id (GpImageLayer *layer);
GP_API gint64 gp_image_layer_get_size (GpImageLayer *layer);
GP_API gpointer gp_image_layer_get_data (GpImageLayer *layer);
GP_API void gp_image_layer_set_blob (GpImageLayer *layer, const char *digest,
                                     const char *media_type, gint64 size);
GP_API const char *gp_image_layer_get_blob_digest (GpImageLayer *layer);
GP_API const char *gp_image_layer_get_blob_media_type (GpImageLayer *layer);
GP_API gint64 gp_image_layer_get_blob_size (GpImageLayer *layer);
GP_API gboolean gp_image_layer_stream (GpImageLayer *layer, const char *image_id,
                                       GpWriteFunc write, gpointer write_data,
                                       GCancellable *cancellable, GError **error);
GP_API gboolean gp_image_layer_stream_blob (GpImageLayer *layer, const char *image_id,
                                            GpWriteFunc write, gpointer write_data,
                                            GCancellable *cancellable, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GpImageLayer, gp_image_layer_unref)

GP_API GpImage *gp_image_new (const char *id);
GP_API GpImage *gp_image_ref (GpImage *image);
GP_API void gp_image_unref (GpImage *image);
GP_API const char *gp_image_get_id (GpImage *image);
GP_API void gp_image_set_config (GpImage *image, GBytes *config);
GP_API GBytes *gp_image_get_config (GpImage *image);
GP_API void gp_image_add_reference (GpImage *image, const char *reference);
GP_API GPtrArray *gp_image_get_references (GpImage *image);
GP_API void gp_image_add_layer (GpImage *image, GpImageLayer *layer);
GP_API GPtrArray *gp_image_get_layers (GpImage *image);
GP_API void gp_image_set_parent (GpImage *image, const char *parent_id);
GP_API const char *gp_image_get_parent (GpImage *image);
GP_API void gp_image_set_manifest (GpImage *image, GBytes *manifest, const char *media_type);
GP_API GBytes *gp_image_get_manifest (GpImage *image, const char **out_media_type);
GP_API void gp_image_set_target (GpImage *image, GBytes *target, const char *media_type);
GP_API GBytes *gp_image_get_target (GpImage *image, const char **out_media_type);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GpImage, gp_image_unref)

GP_API char **gp_image_names_split (const char *names);
GP_API gboolean gp_image_names_check (const char *names, GError **error);
GP_API GPtrArray *gp_image_names_resolve (GpStore *store, const char *const *names,
                                          GError **error);

GP_API void gp_context_set_images (GpContext *ctx, GPtrArray *images);
GP_API GPtrArray *gp_context_get_images (GpContext *ctx, GError **error);

G_END_DECLS
