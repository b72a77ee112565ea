/* graphpipe - the image model a source hands a sink (see gp-images.h),
 * and resolving the names the user gave (FORMATS.md §7.1).
 * Name resolution itself is gp-image-catalog.c's.
 */
#include "config.h"

#include "gp-images.h"

#include <string.h>

#include "gp-digest.h"
#include "gp-error.h"
#include "gp-image-catalog.h"

struct _GpImageLayer {
  gint ref_count;
  char *diff_id;
  gint64 size;
  char *blob_digest;
  char *blob_media_type;
  gint64 blob_size;
  const GpImageLayerFuncs *funcs;
  gpointer data;
  GDestroyNotify destroy;
};

struct _GpImage {
  gint ref_count;
  char *id;
  GBytes *config;
  GPtrArray *references; /* char * */
  GPtrArray *layers;     /* GpImageLayer * */
  char *parent;
  GBytes *manifest;
  char *manifest_media_type;
  GBytes *target;
  char *target_media_type;
};

/* ---- layers ------------------------------------------------------------- */

/**
 * gp_image_layer_new:
 * @diff_id: the DiffID, `sha256:<hex>`
 * @size: the length of the uncompressed tar, or -1 when the source does
 *   not know it before streaming
 * @funcs: the layer's vtable (static storage)
 * @data: (nullable): the source's data for @funcs
 * @destroy: (nullable): frees @data with the layer
 *
 * Returns: (transfer full): a new layer
 */
GpImageLayer *
gp_image_layer_new (const char *diff_id, gint64 size, const GpImageLayerFuncs *funcs,
                    gpointer data, GDestroyNotify destroy)
{
  g_return_val_if_fail (diff_id != NULL && funcs != NULL && funcs->stream_tar != NULL, NULL);
  GpImageLayer *layer = g_new0 (GpImageLayer, 1);
  layer->ref_count = 1;
  layer->diff_id = g_strdup (diff_id);
  layer->size = size;
  layer->blob_size = -1;
  layer->funcs = funcs;
  layer->data = data;
  layer->destroy = destroy;
  return layer;
}

/**
 * gp_image_layer_ref:
 * @layer: a layer
 *
 * Returns: (transfer full): @layer
 */
GpImageLayer *
gp_image_layer_ref (GpImageLayer *layer)
{
  g_atomic_int_inc (&layer->ref_count);
  return layer;
}

/**
 * gp_image_layer_unref:
 * @layer: (nullable): a layer
 *
 * Drops a reference; the last one frees the layer and its source data.
 */
void
gp_image_layer_unref (GpImageLayer *layer)
{
  if (layer == NULL || !g_atomic_int_dec_and_test (&layer->ref_count))
    return;
  if (layer->destroy != NULL)
    layer->destroy (layer->data);
  g_free (layer->diff_id);
  g_free (layer->blob_digest);
  g_free (layer->blob_media_type);
  g_free (layer);
}

/**
 * gp_image_layer_get_diff_id:
 * @layer: a layer
 *
 * Returns: the DiffID, `sha256:<hex>` of the uncompressed tar
 */
const char *
gp_image_layer_get_diff_id (GpImageLayer *layer)
{
  return layer->diff_id;
}

/**
 * gp_image_layer_get_size:
 * @layer: a layer
 *
 * Returns: the length of the uncompressed tar, or -1 if unknown
 */
gint64
gp_image_layer_get_size (GpImageLayer *layer)
{
  return layer->size;
}

/**
 * gp_image_layer_get_data:
 * @layer: a layer
 *
 * Returns: (nullable): the source's data given to gp_image_layer_new()
 */
gpointer
gp_image_layer_get_data (GpImageLayer *layer)
{
  return layer->data;
}

/**
 * gp_image_layer_set_blob:
 * @layer: a layer whose vtable has @stream_blob
 * @digest: the blob's digest, `sha256:<hex>`
 * @media_type: its media type as the source records it
 * @size: its length, or -1 if unknown
 *
 * Describes the compressed blob the source holds for the layer.  Only
 * before the layer is published.
 */
void
gp_image_layer_set_blob (GpImageLayer *layer, const char *digest, const char *media_type,
                         gint64 size)
{
  g_return_if_fail (layer->funcs->stream_blob != NULL);
  g_free (layer->blob_digest);
  g_free (layer->blob_media_type);
  layer->blob_digest = g_strdup (digest);
  layer->blob_media_type = g_strdup (media_type);
  layer->blob_size = size;
}

/**
 * gp_image_layer_get_blob_digest:
 * @layer: a layer
 *
 * Returns: (nullable): the compressed blob's digest, %NULL without a blob
 */
const char *
gp_image_layer_get_blob_digest (GpImageLayer *layer)
{
  return layer->blob_digest;
}

/**
 * gp_image_layer_get_blob_media_type:
 * @layer: a layer
 *
 * Returns: (nullable): the compressed blob's media type, %NULL without a blob
 */
const char *
gp_image_layer_get_blob_media_type (GpImageLayer *layer)
{
  return layer->blob_media_type;
}

/**
 * gp_image_layer_get_blob_size:
 * @layer: a layer
 *
 * Returns: the compressed blob's length, -1 if unknown or without a blob
 */
gint64
gp_image_layer_get_blob_size (GpImageLayer *layer)
{
  return layer->blob_size;
}

/* Counts only: for a source that hashes what it writes itself. */
static gboolean
counting_write (gpointer user_data, const void *buf, gsize len, GError **error)
{
  GpSha256Writer *h = user_data;
  h->len += len;
  return h->next (h->next_data, buf, len, error);
}

/* Streams through @func and checks the length and digest of what went. */
static gboolean
stream_checked (GpImageLayer *layer, GpImageLayerStreamFunc func, const char *what,
                const char *expect_digest, gint64 expect_size, const char *image_id,
                GpWriteFunc write, gpointer write_data, GCancellable *cancellable,
                GError **error)
{
  GpSha256Writer h;
  gp_sha256_writer_init (&h, write, write_data);
  g_autofree char *digest = NULL;
  /* A source that hashes on the way saves the second hash; the length is
   * counted either way. */
  gboolean hashes = layer->funcs->computes_digest;
  if (!func (layer, hashes ? counting_write : gp_sha256_writer_write, &h, cancellable,
             hashes ? &digest : NULL, error))
    {
      g_prefix_error (error, "image %s: layer %s: ", image_id ? image_id : "?", layer->diff_id);
      return FALSE;
    }
  if (!hashes)
    {
      digest = g_malloc (GP_DIGEST_SHA256_LEN + 1);
      gp_sha256_finish_digest (&h.sha, digest);
    }
  else if (digest == NULL)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_VERIFY,
                   "image %s: layer %s: the source did not hash the %s", image_id ? image_id : "?",
                   layer->diff_id, what);
      return FALSE;
    }
  if (expect_size >= 0 && h.len != (guint64) expect_size)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_SIZE,
                   "image %s: layer %s: the %s has %" G_GUINT64_FORMAT " bytes, the source said %"
                   G_GINT64_FORMAT, image_id ? image_id : "?", layer->diff_id, what, h.len,
                   expect_size);
      return FALSE;
    }
  if (strcmp (digest, expect_digest) != 0)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_VERIFY,
                   "image %s: layer %s: could not verify layer data: the %s hashes to %s",
                   image_id ? image_id : "?", layer->diff_id, what, digest);
      return FALSE;
    }
  return TRUE;
}

/**
 * gp_image_layer_stream:
 * @layer: a layer
 * @image_id: (nullable): the image it is streamed for, named in errors
 * @write: where the uncompressed tar goes
 * @write_data: data for @write
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Streams the layer's uncompressed tar to @write and checks its digest
 * against the DiffID (and its length against the size, when known): a
 * mismatch is a %GP_DATA_ERROR_VERIFY (%GP_DATA_ERROR_SIZE) error naming
 * the image and the layer, after the bytes were written.  Thread-safe.
 *
 * Returns: %TRUE when the whole, verified tar was written
 */
gboolean
gp_image_layer_stream (GpImageLayer *layer, const char *image_id, GpWriteFunc write,
                       gpointer write_data, GCancellable *cancellable, GError **error)
{
  return stream_checked (layer, layer->funcs->stream_tar, "layer tar", layer->diff_id,
                         layer->size, image_id, write, write_data, cancellable, error);
}

/**
 * gp_image_layer_stream_blob:
 * @layer: a layer with a blob (gp_image_layer_get_blob_digest())
 * @image_id: (nullable): the image it is streamed for, named in errors
 * @write: where the compressed blob goes
 * @write_data: data for @write
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Like gp_image_layer_stream() for the compressed blob, checked against
 * the blob's digest.  %GP_DATA_ERROR_MISSING without a blob.
 *
 * Returns: %TRUE when the whole, verified blob was written
 */
gboolean
gp_image_layer_stream_blob (GpImageLayer *layer, const char *image_id, GpWriteFunc write,
                            gpointer write_data, GCancellable *cancellable, GError **error)
{
  if (layer->blob_digest == NULL || layer->funcs->stream_blob == NULL)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING,
                   "image %s: layer %s: the source has no compressed blob",
                   image_id ? image_id : "?", layer->diff_id);
      return FALSE;
    }
  return stream_checked (layer, layer->funcs->stream_blob, "blob", layer->blob_digest,
                         layer->blob_size, image_id, write, write_data, cancellable, error);
}

/* ---- images ------------------------------------------------------------- */

/**
 * gp_image_new:
 * @id: the image ID, `sha256:<hex>`
 *
 * Returns: (transfer full): a new image without config, references or
 *   layers
 */
GpImage *
gp_image_new (const char *id)
{
  GpImage *image = g_new0 (GpImage, 1);
  image->ref_count = 1;
  image->id = g_strdup (id);
  image->references = g_ptr_array_new_with_free_func (g_free);
  image->layers = g_ptr_array_new_with_free_func ((GDestroyNotify) gp_image_layer_unref);
  return image;
}

/**
 * gp_image_ref:
 * @image: an image
 *
 * Returns: (transfer full): @image
 */
GpImage *
gp_image_ref (GpImage *image)
{
  g_atomic_int_inc (&image->ref_count);
  return image;
}

/**
 * gp_image_unref:
 * @image: (nullable): an image
 *
 * Drops a reference; the last one frees the image.
 */
void
gp_image_unref (GpImage *image)
{
  if (image == NULL || !g_atomic_int_dec_and_test (&image->ref_count))
    return;
  g_free (image->id);
  g_clear_pointer (&image->config, g_bytes_unref);
  g_ptr_array_unref (image->references);
  g_ptr_array_unref (image->layers);
  g_free (image->parent);
  g_clear_pointer (&image->manifest, g_bytes_unref);
  g_free (image->manifest_media_type);
  g_clear_pointer (&image->target, g_bytes_unref);
  g_free (image->target_media_type);
  g_free (image);
}

/**
 * gp_image_get_id:
 * @image: an image
 *
 * Returns: the image ID, `sha256:<hex>`
 */
const char *
gp_image_get_id (GpImage *image)
{
  return image->id;
}

/**
 * gp_image_set_config:
 * @image: an image
 * @config: the config bytes exactly as the source stores them
 *
 * Sets the config (a reference is taken).
 */
void
gp_image_set_config (GpImage *image, GBytes *config)
{
  g_bytes_ref (config);
  g_clear_pointer (&image->config, g_bytes_unref);
  image->config = config;
}

/**
 * gp_image_get_config:
 * @image: an image
 *
 * Returns: (transfer none) (nullable): the raw config bytes, never
 *   re-encoded: their sha256 is the image ID
 */
GBytes *
gp_image_get_config (GpImage *image)
{
  return image->config;
}

/**
 * gp_image_add_reference:
 * @image: an image
 * @reference: `<name>:<tag>` or `<name>@<digest>`, as the source records it
 *
 * Attaches a reference, unless it is attached already.
 */
void
gp_image_add_reference (GpImage *image, const char *reference)
{
  for (guint i = 0; i < image->references->len; i++)
    if (strcmp (g_ptr_array_index (image->references, i), reference) == 0)
      return;
  g_ptr_array_add (image->references, g_strdup (reference));
}

/**
 * gp_image_get_references:
 * @image: an image
 *
 * Returns: (transfer none) (element-type utf8): the references, in the
 *   order they were attached (tags contain no `@`, digests do)
 */
GPtrArray *
gp_image_get_references (GpImage *image)
{
  return image->references;
}

/**
 * gp_image_add_layer:
 * @image: an image
 * @layer: the next layer up (a reference is taken)
 *
 * Appends a layer; layers are added bottom first.
 */
void
gp_image_add_layer (GpImage *image, GpImageLayer *layer)
{
  g_ptr_array_add (image->layers, gp_image_layer_ref (layer));
}

/**
 * gp_image_get_layers:
 * @image: an image
 *
 * Returns: (transfer none) (element-type GpImageLayer): the layers,
 *   bottom first; their DiffIDs are the config's rootfs.diff_ids
 */
GPtrArray *
gp_image_get_layers (GpImage *image)
{
  return image->layers;
}

/**
 * gp_image_set_parent:
 * @image: an image
 * @parent_id: (nullable): the ID of the image the store records as its
 *   parent (Docker's `imagedb/metadata/sha256/<hex>/parent`, a migrated
 *   legacy image's parent), or %NULL
 *
 * Records the image's parent, when the source's store keeps one.  Docker
 * 20.10's save names it in `manifest.json` when the parent is saved too.
 */
void
gp_image_set_parent (GpImage *image, const char *parent_id)
{
  g_free (image->parent);
  image->parent = g_strdup (parent_id);
}

/**
 * gp_image_get_parent:
 * @image: an image
 *
 * Returns: (nullable): the parent's image ID, or %NULL when the source
 *   records none
 */
const char *
gp_image_get_parent (GpImage *image)
{
  return image->parent;
}

static void
set_bytes (GBytes **slot, char **slot_type, GBytes *bytes, const char *media_type)
{
  if (bytes != NULL)
    g_bytes_ref (bytes);
  g_clear_pointer (slot, g_bytes_unref);
  *slot = bytes;
  g_free (*slot_type);
  *slot_type = bytes != NULL ? g_strdup (media_type) : NULL;
}

/**
 * gp_image_set_manifest:
 * @image: an image
 * @manifest: (nullable): the image manifest exactly as the source keeps it
 *   (a registry's or an engine's bytes), or %NULL to unset
 * @media_type: its media type (`application/vnd.oci.image.manifest.v1+json`,
 *   `application/vnd.docker.distribution.manifest.v2+json`)
 *
 * Attaches the manifest the source holds for the image.  Its config
 * descriptor names the config set with gp_image_set_config() and its
 * layers are the image's layers' blobs (gp_image_layer_set_blob()); a sink
 * that keeps original bytes (OCI) writes it as it is, with those blobs.
 */
void
gp_image_set_manifest (GpImage *image, GBytes *manifest, const char *media_type)
{
  set_bytes (&image->manifest, &image->manifest_media_type, manifest, media_type);
}

/**
 * gp_image_get_manifest:
 * @image: an image
 * @out_media_type: (out) (optional) (transfer none): its media type
 *
 * Returns: (transfer none) (nullable): the source's manifest bytes, or
 *   %NULL when the source keeps none (a sink then writes its own)
 */
GBytes *
gp_image_get_manifest (GpImage *image, const char **out_media_type)
{
  if (out_media_type != NULL)
    *out_media_type = image->manifest_media_type;
  return image->manifest;
}

/**
 * gp_image_set_target:
 * @image: an image
 * @target: (nullable): the index or manifest list the image was reached
 *   through, exactly as the source keeps it, or %NULL when the name
 *   pointed at the manifest itself
 * @media_type: its media type
 *
 * Attaches the top-level object a name points at when it is not the
 * manifest (a multi-platform index of which the manifest is one entry).
 * A sink that keeps original bytes lists it in its own index instead of
 * the manifest.
 */
void
gp_image_set_target (GpImage *image, GBytes *target, const char *media_type)
{
  set_bytes (&image->target, &image->target_media_type, target, media_type);
}

/**
 * gp_image_get_target:
 * @image: an image
 * @out_media_type: (out) (optional) (transfer none): its media type
 *
 * Returns: (transfer none) (nullable): the index the image was reached
 *   through, or %NULL
 */
GBytes *
gp_image_get_target (GpImage *image, const char **out_media_type)
{
  if (out_media_type != NULL)
    *out_media_type = image->target_media_type;
  return image->target;
}

/* ---- the context's image set -------------------------------------------- */

/**
 * gp_context_set_images:
 * @ctx: the run's context
 * @images: (element-type GpImage) (transfer none): the images selected, in
 *   the order they are to be written
 *
 * Publishes the image set (the `image-set` capability) for later stages.
 */
void
gp_context_set_images (GpContext *ctx, GPtrArray *images)
{
  gp_context_set_slot (ctx, GP_IMAGES_CAPABILITY, g_ptr_array_ref (images),
                       (GDestroyNotify) g_ptr_array_unref);
}

/**
 * gp_context_get_images:
 * @ctx: the run's context
 * @error: return location for a #GError
 *
 * Returns: (transfer none) (element-type GpImage): the image set an
 *   earlier source stage published, or %NULL with @error set
 */
GPtrArray *
gp_context_get_images (GpContext *ctx, GError **error)
{
  GPtrArray *images = gp_context_get_slot (ctx, GP_IMAGES_CAPABILITY);
  if (images == NULL)
    g_set_error_literal (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING,
                         "no images: no source stage published an image set");
  return images;
}

/* ---- names -------------------------------------------------------------- */

/**
 * gp_image_names_split:
 * @names: (nullable): names separated by white space or `;`
 *
 * Returns: (transfer full): the non-empty names, in order
 */
char **
gp_image_names_split (const char *names)
{
  g_autoptr (GPtrArray) b = g_ptr_array_new ();
  const char *p = names ? names : "";

  while (*p)
    {
      while (*p && (g_ascii_isspace (*p) || *p == ';'))
        p++;
      const char *start = p;
      while (*p && !g_ascii_isspace (*p) && *p != ';')
        p++;
      if (p > start)
        g_ptr_array_add (b, g_strndup (start, p - start));
    }
  g_ptr_array_add (b, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&b), FALSE);
}

/**
 * gp_image_names_check:
 * @names: (nullable): a source stage's `images` option
 * @error: return location for a #GError
 *
 * What every image source's prepare checks first: that @names names at
 * least one image (gp_image_names_split()).
 *
 * Returns: %TRUE when it does; else %FALSE with a %GP_PRESET_ERROR_BAD_VALUE
 */
gboolean
gp_image_names_check (const char *names, GError **error)
{
  g_auto (GStrv) split = gp_image_names_split (names);
  if (split[0] != NULL)
    return TRUE;
  g_set_error_literal (error, GP_PRESET_ERROR, GP_PRESET_ERROR_BAD_VALUE,
                       "images: no image names given");
  return FALSE;
}

/**
 * gp_image_names_resolve:
 * @store: the store whose repositories.json and image store are searched
 * @names: the arguments, %NULL-terminated
 * @error: return location for a #GError
 *
 * Resolves every name by Docker's rules (FORMATS.md §7.1; see
 * #GpImageCatalog, %GP_IMAGE_NAMES_DOCKER) against a Docker 1.10+ store.
 * The images returned have their ID and the references the names reached
 * (tags as `<name>:<tag>`, digests as `<name>@<digest>`), nothing else:
 * the source fills in config and layers.
 *
 * Returns: (transfer full) (element-type GpImage): the images in the
 *   order they were first reached, or %NULL with @error set
 */
GPtrArray *
gp_image_names_resolve (GpStore *store, const char *const *names, GError **error)
{
  GpRepositories *repos = gp_store_get_repositories (store, error);
  if (repos == NULL)
    return NULL;
  g_autoptr (GPtrArray) ids = gp_store_list_images (store, error);
  if (ids == NULL)
    return NULL;

  g_autoptr (GpImageCatalog) catalog = gp_image_catalog_new (GP_IMAGE_NAMES_DOCKER);
  for (guint i = 0; i < ids->len; i++)
    gp_image_catalog_add_image (catalog, ids->pdata[i]);
  gp_image_catalog_add_repositories (catalog, repos);
  return gp_image_catalog_resolve (catalog, names, error);
}
