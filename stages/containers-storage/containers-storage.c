/* containers-storage: the source of `graphpipe save` for podman, CRI-O
 * and buildah stores (github.com/containers/storage), rootful
 * (/var/lib/containers/storage) or rootless
 * (~/.local/share/containers/storage): the layout is the same.
 *
 *   <root>/<driver>-images/images.json        names, digests, top layer
 *   <root>/<driver>-images/<id>/<big-data>    config ("sha256:<id>"), manifests
 *   <root>/<driver>-layers/layers.json        parent chain, diff digests
 *   <root>/<driver>-layers/<id>.tar-split.gz  the layer tar's headers
 *   <root>/overlay/<id>/diff, <root>/vfs/dir/<id>,
 *   <root>/btrfs/subvolumes/<id>              the layer's files
 *
 * (vfs and btrfs keep each layer's complete tree, btrfs as a subvolume
 * snapshotted from its parent's; overlay only its changes.  The files
 * are read as plain files: a btrfs root copied to another file system
 * reads the same.)
 *
 * Each layer's tar is rebuilt by the core tar-split assembler from its
 * tar-split and the driver directory (only regular files with data are
 * read; whiteouts, opaque markers, links and directories come from the
 * tar-split's recorded headers), and checked against the layer's diff
 * digest as it streams.  Nothing is written and no lock is taken: the
 * store may be on a read-only mount, left by a crash, with its engine
 * gone.  Images that cannot be read (incomplete layer, missing
 * tar-split, wrong config digest...) are reported one by one with the
 * reason, and the run fails before any sink opens its output.
 *
 * With check=true the stage is the verifier of `graphpipe verify` on
 * such a root: every image (or those named), every config digest, every
 * layer rebuilt and hashed; each problem reported, nothing published.
 */
#include "config.h"

#include <graphpipe.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "cs-store.h"

/* Threads measuring or checking layers: at most this many. */
#define MAX_WORKERS 8
/* Largest images.json, layers.json or big-data item read. */
#define MAX_RECORD_FILE (512 * 1024 * 1024)

static const char *const drivers[] = { "overlay", "vfs", "btrfs", NULL };
/* For messages. */
#define DRIVER_LIST "overlay, vfs, btrfs"

static const GpOption options[] = {
  { .key = "images", .type = GP_OPTION_STRING,
    .help = "Names to select, separated by spaces or ';', matched as podman does: "
            "name[:tag] (localhost/ and registry-qualified short names), name@digest, "
            "image ID or unique ID prefix; with check=true, empty means every image" },
  { .key = "check", .type = GP_OPTION_BOOL, .default_value = "false",
    .help = "Verify instead of selecting: every config digest and every layer rebuilt and "
            "hashed against its diff digest; each problem reported, nothing published" },
  { NULL }
};

/* What a layer's stream function needs; shared by the images holding it. */
typedef struct {
  char *root;
  char *layer_dir;      /* relative to root: overlay/<id>/diff, vfs/dir/<id> or
                           btrfs/subvolumes/<id> */
  char *tar_split;      /* relative to root: <driver>-layers/<id>.tar-split.gz */
  char *id;
  char *diff_id;
  gint64 recorded_size; /* diff-size, -1 if absent */
  guint64 tar_size;
  GError *error;        /* measuring it failed */
  GCancellable *cancellable;
} CsLayerSrc;

static void
cs_layer_src_free (CsLayerSrc *l)
{
  g_free (l->root);
  g_free (l->layer_dir);
  g_free (l->tar_split);
  g_free (l->id);
  g_free (l->diff_id);
  g_clear_error (&l->error);
  g_clear_object (&l->cancellable);
  g_free (l);
}

/* Opens @rel (a regular file) beneath @root, never leaving it. */
static int
open_beneath (const char *root, const char *rel, GError **error)
{
  g_autoptr (GpLayerDir) dir = gp_layer_dir_open (root, error);
  if (dir == NULL)
    return -1;
  int fd = gp_layer_dir_open_file (dir, rel, strlen (rel), NULL, error);
  return fd;
}

/* The whole of @rel beneath @root. */
static GBytes *
read_beneath (const char *root, const char *rel, GError **error)
{
  int fd = open_beneath (root, rel, error);
  if (fd < 0)
    return NULL;
  g_autoptr (GByteArray) buf = g_byte_array_new ();
  guint8 chunk[65536];
  for (;;)
    {
      ssize_t n = read (fd, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int errsv = errno;
          close (fd);
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv), "%s/%s: %s", root, rel,
                       g_strerror (errsv));
          return NULL;
        }
      if (n == 0)
        break;
      if (buf->len + (gsize) n > MAX_RECORD_FILE)
        {
          close (fd);
          g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_SIZE, "%s/%s: larger than %d bytes",
                       root, rel, MAX_RECORD_FILE);
          return NULL;
        }
      g_byte_array_append (buf, chunk, (guint) n);
    }
  close (fd);
  return g_byte_array_free_to_bytes (g_steal_pointer (&buf));
}

/* ---- layers ---- */

static int
open_layer_file (gpointer user_data, const char *name, gsize name_len, GError **error)
{
  return gp_layer_dir_open_file (user_data, name, name_len, NULL, error);
}

static GpTarSplitReader *
open_tar_split (CsLayerSrc *l, GpTarSplitFlags flags, GError **error)
{
  int fd = open_beneath (l->root, l->tar_split, error);
  if (fd < 0)
    return NULL;
  g_autofree char *display = g_build_filename (l->root, l->tar_split, NULL);
  return gp_tar_split_reader_new (fd, display, flags);
}

/* Length of the tar the tar-split describes (metadata only), and that
 * the layer's directory is there (a crash may leave the record without
 * it): either missing is the image's reason before any output. */
static gboolean
measure_layer (CsLayerSrc *l, GError **error)
{
  g_autoptr (GpLayerDir) dir = gp_layer_dir_open_beneath (l->root, l->layer_dir, error);
  if (dir == NULL)
    return FALSE;
  g_autoptr (GpTarSplitReader) reader = open_tar_split (l, GP_TAR_SPLIT_FLAGS_SIZES_ONLY, error);
  if (reader == NULL)
    return FALSE;
  guint64 size = 0;
  for (;;)
    {
      const GpTarSplitEntry *entry = NULL;
      if (!gp_tar_split_reader_next (reader, &entry, error))
        return FALSE;
      if (entry == NULL)
        break;
      size += entry->type == GP_TAR_SPLIT_ENTRY_SEGMENT ? entry->payload_len : (guint64) entry->size;
      if ((gp_tar_split_reader_get_n_entries (reader) & 4095) == 0
          && g_cancellable_set_error_if_cancelled (l->cancellable, error))
        return FALSE;
    }
  if (l->recorded_size >= 0 && (guint64) l->recorded_size != size)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_SIZE,
                   "%s/%s describes a tar of %" G_GUINT64_FORMAT " bytes, layers.json records "
                   "%" G_GINT64_FORMAT, l->root, l->tar_split, size, l->recorded_size);
      return FALSE;
    }
  l->tar_size = size;
  return TRUE;
}

/* The layer tar, rebuilt from its tar-split and the driver's files.  Any
 * thread. */
static gboolean
cs_stream_tar (GpImageLayer *layer, GpWriteFunc write, gpointer write_data,
               GCancellable *cancellable, char **out_diff_id, GError **error)
{
  CsLayerSrc *l = gp_image_layer_get_data (layer);
  g_autoptr (GpLayerDir) dir = gp_layer_dir_open_beneath (l->root, l->layer_dir, error);
  if (dir == NULL)
    {
      g_prefix_error (error, "layer %s: ", l->id);
      return FALSE;
    }
  g_autoptr (GpTarSplitReader) reader = open_tar_split (l, GP_TAR_SPLIT_FLAGS_NONE, error);
  if (reader == NULL)
    return FALSE;
  GpTarSplitStats stats = { 0 };
  if (!gp_tar_split_assemble (reader, open_layer_file, dir, write, write_data, cancellable,
                              &stats, error))
    {
      g_prefix_error (error, "layer %s: ", l->id);
      return FALSE;
    }
  *out_diff_id = g_strdup (stats.diff_id);
  return TRUE;
}

/* The blob, when the stored manifest names the uncompressed tar itself
 * (images buildah or podman committed), is that tar. */
static const GpImageLayerFuncs cs_layer_funcs = {
  .stream_tar = cs_stream_tar,
  .stream_blob = cs_stream_tar,
  .computes_digest = TRUE,
};

static gboolean
is_uncompressed_layer (const char *media_type)
{
  return g_strcmp0 (media_type, "application/vnd.oci.image.layer.v1.tar") == 0
         || g_strcmp0 (media_type, "application/vnd.docker.image.rootfs.diff.tar") == 0;
}

/* ---- the store ---- */

typedef struct {
  GpContext *ctx;
  char *root;
  const char *driver;
  GPtrArray *images;        /* CsImage */
  GHashTable *image_by_id;  /* "sha256:<id>" -> CsImage (borrowed) */
  GPtrArray *layers;        /* CsLayer */
  GHashTable *layer_by_id;  /* id -> CsLayer (borrowed) */
  GHashTable *sources;      /* layer id -> CsLayerSrc (owned until made objects) */
  GHashTable *objects;      /* layer id -> GpImageLayer (owned) */
  GPtrArray *order;         /* CsLayerSrc, borrowed, first reached first */
} Store;

static void
store_clear (Store *s)
{
  g_free (s->root);
  g_clear_pointer (&s->images, g_ptr_array_unref);
  g_clear_pointer (&s->image_by_id, g_hash_table_unref);
  g_clear_pointer (&s->layers, g_ptr_array_unref);
  g_clear_pointer (&s->layer_by_id, g_hash_table_unref);
  g_clear_pointer (&s->sources, g_hash_table_unref);
  g_clear_pointer (&s->objects, g_hash_table_unref);
  g_clear_pointer (&s->order, g_ptr_array_unref);
}

/* The driver: --driver, else the one <driver>-images/images.json there. */
static gboolean
choose_driver (Store *s, GError **error)
{
  const char *given = gp_context_get_driver (s->ctx);
  if (given != NULL && *given != '\0')
    {
      if (!g_strv_contains (drivers, given))
        {
          g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_UNSUPPORTED,
                       "%s: containers-storage driver '%s' is not supported (" DRIVER_LIST ")",
                       s->root, given);
          return FALSE;
        }
      g_autofree char *images = g_strdup_printf ("%s/%s-images", s->root, given);
      if (!g_file_test (images, G_FILE_TEST_IS_DIR))
        {
          g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING,
                       "%s: no %s-images store (--driver %s)", s->root, given, given);
          return FALSE;
        }
      s->driver = g_intern_string (given);
      return TRUE;
    }
  g_autoptr (GPtrArray) found = g_ptr_array_new ();
  for (guint i = 0; drivers[i] != NULL; i++)
    {
      g_autofree char *p = g_strdup_printf ("%s/%s-images/images.json", s->root, drivers[i]);
      if (g_file_test (p, G_FILE_TEST_EXISTS))
        g_ptr_array_add (found, (gpointer) drivers[i]);
    }
  if (found->len == 1)
    {
      s->driver = found->pdata[0];
      gp_context_set_driver (s->ctx, s->driver); /* for the report */
      return TRUE;
    }
  if (found->len == 0)
    {
      /* /var/lib/containers or ~/.local/share/containers given for the
       * storage directory below it */
      g_autofree char *below = g_build_filename (s->root, "storage", NULL);
      gboolean hint = FALSE;
      for (guint i = 0; drivers[i] != NULL && !hint; i++)
        {
          g_autofree char *d = g_strdup_printf ("%s/%s-images", below, drivers[i]);
          hint = g_file_test (d, G_FILE_TEST_IS_DIR);
        }
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING,
                   "%s: no containers-storage image store (expected overlay-images/images.json, "
                   "vfs-images/images.json or btrfs-images/images.json)%s%s", s->root,
                   hint ? "; did you mean " : "", hint ? below : "");
    }
  else
    {
      g_ptr_array_add (found, NULL);
      g_autofree char *names = g_strjoinv (", ", (char **) found->pdata);
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_CONFLICT,
                   "%s: image stores of several drivers (%s): choose one with --driver",
                   s->root, names);
    }
  return FALSE;
}

static gboolean
store_load (Store *s, GError **error)
{
  if (!choose_driver (s, error))
    return FALSE;
  g_autofree char *images_rel = g_strdup_printf ("%s-images/images.json", s->driver);
  g_autofree char *layers_rel = g_strdup_printf ("%s-layers/layers.json", s->driver);
  g_autofree char *images_path = g_build_filename (s->root, images_rel, NULL);
  g_autofree char *layers_path = g_build_filename (s->root, layers_rel, NULL);

  g_autoptr (GBytes) images = read_beneath (s->root, images_rel, error);
  if (images == NULL)
    return FALSE;
  gsize len;
  const char *data = g_bytes_get_data (images, &len);
  s->images = cs_parse_images (data, len, images_path, error);
  if (s->images == NULL)
    return FALSE;

  /* A store whose images have no layers may lack layers.json. */
  g_autoptr (GError) local = NULL;
  g_autoptr (GBytes) layers = read_beneath (s->root, layers_rel, &local);
  if (layers == NULL && !g_error_matches (local, GP_DATA_ERROR, GP_DATA_ERROR_MISSING))
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  if (layers != NULL)
    {
      data = g_bytes_get_data (layers, &len);
      s->layers = cs_parse_layers (data, len, layers_path, error);
      if (s->layers == NULL)
        return FALSE;
    }
  else
    s->layers = g_ptr_array_new ();

  s->image_by_id = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < s->images->len; i++)
    {
      CsImage *im = s->images->pdata[i];
      g_hash_table_replace (s->image_by_id, g_strconcat ("sha256:", im->id, NULL), im);
    }
  s->layer_by_id = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < s->layers->len; i++)
    {
      CsLayer *l = s->layers->pdata[i];
      g_hash_table_replace (s->layer_by_id, l->id, l);
    }
  return TRUE;
}

/* Podman's names: every stored name, and repository@digest for every
 * repository of the image's names and every digest it records (podman
 * finds an image by such a reference through its digests). */
static GpImageCatalog *
store_catalog (Store *s)
{
  GpImageCatalog *cat = gp_image_catalog_new (GP_IMAGE_NAMES_PODMAN);
  for (guint i = 0; i < s->images->len; i++)
    {
      CsImage *im = s->images->pdata[i];
      g_autofree char *id = g_strconcat ("sha256:", im->id, NULL);
      gp_image_catalog_add_image (cat, id);
      for (char **n = im->names; *n != NULL; n++)
        {
          /* names that are not references are left out, as podman skips them */
          if (!gp_image_catalog_add_reference (cat, *n, id))
            continue;
          if (strchr (*n, '@') != NULL)
            continue;
          g_autofree char *repo = g_strdup (*n);
          char *slash = strrchr (repo, '/');
          char *colon = strrchr (repo, ':');
          if (colon != NULL && (slash == NULL || colon > slash))
            *colon = '\0';
          for (char **d = im->digests; *d != NULL; d++)
            {
              g_autofree char *ref = g_strconcat (repo, "@", *d, NULL);
              gp_image_catalog_add_reference (cat, ref, id);
            }
        }
    }
  return cat;
}

/* The config: big-data "sha256:<id>", whose digest must be the ID. */
static GBytes *
load_config (Store *s, CsImage *im, GError **error)
{
  g_autofree char *key = g_strconcat ("sha256:", im->id, NULL);
  if (!g_strv_contains ((const char *const *) im->big_data_names, key))
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING,
                   "no config (big-data item %s not recorded in images.json)", key);
      return NULL;
    }
  g_autofree char *file = cs_big_data_file_name (key, error);
  if (file == NULL)
    return NULL;
  g_autofree char *rel = g_strdup_printf ("%s-images/%s/%s", s->driver, im->id, file);
  g_autoptr (GBytes) config = read_beneath (s->root, rel, error);
  if (config == NULL)
    return NULL;
  gsize len;
  const char *data = g_bytes_get_data (config, &len);
  g_autofree char *digest = gp_sha256_digest_of (data, len);
  if (strcmp (digest, key) != 0)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_VERIFY,
                   "%s/%s: config digest is %s, not the image ID", s->root, rel, digest);
      return NULL;
    }
  return g_steal_pointer (&config);
}

/* The layer's source record, made once per layer. */
static CsLayerSrc *
layer_source (Store *s, CsLayer *cl, const char *diff_id, GError **error)
{
  CsLayerSrc *l = g_hash_table_lookup (s->sources, cl->id);
  if (l != NULL)
    return l;
  if (cl->incomplete)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING,
                   "layer %s is flagged incomplete in %s-layers/layers.json (left by a crash "
                   "while it was written)", cl->id, s->driver);
      return NULL;
    }
  l = g_new0 (CsLayerSrc, 1);
  l->root = g_strdup (s->root);
  l->id = g_strdup (cl->id);
  l->diff_id = g_strdup (diff_id);
  l->recorded_size = cl->diff_size;
  if (strcmp (s->driver, "vfs") == 0)
    l->layer_dir = g_strdup_printf ("vfs/dir/%s", cl->id);
  else if (strcmp (s->driver, "btrfs") == 0)
    l->layer_dir = g_strdup_printf ("btrfs/subvolumes/%s", cl->id);
  else
    l->layer_dir = g_strdup_printf ("overlay/%s/diff", cl->id);
  l->tar_split = g_strdup_printf ("%s-layers/%s.tar-split.gz", s->driver, cl->id);
  l->cancellable = g_object_ref (gp_context_get_cancellable (s->ctx));
  g_hash_table_insert (s->sources, l->id, l);
  g_ptr_array_add (s->order, l);
  return l;
}

/* The image's stored manifest ("manifest" big-data item), attached with
 * its layers' blobs when those blobs are the uncompressed layer tars we
 * rebuild (its digest the one images.json records, config digest the ID,
 * each layer's digest its DiffID and size the tar's): a sink that keeps
 * manifests then writes podman's own bytes.
 * A manifest naming compressed blobs is not attached: containers-storage
 * keeps no compressed blobs.  Never an error: the image stays whole. */
static void
attach_manifest (Store *s, GpImage *image, CsImage *im)
{
  if (!g_strv_contains ((const char *const *) im->big_data_names, "manifest"))
    return;
  g_autofree char *rel = g_strdup_printf ("%s-images/%s/manifest", s->driver, im->id);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = read_beneath (s->root, rel, &error);
  if (bytes == NULL)
    return;
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);
  /* the digest images.json records for it, when it does */
  const char *recorded = g_hash_table_lookup (im->big_data_digests, "manifest");
  g_autofree char *digest = gp_sha256_digest_of (data, len);
  if (recorded != NULL && strcmp (recorded, digest) != 0)
    return;
  g_autoptr (GpOciManifest) m = gp_oci_manifest_parse (data, len, NULL, &error);
  GPtrArray *layers = gp_image_get_layers (image);
  if (m == NULL || strcmp (m->config.digest, gp_image_get_id (image)) != 0
      || m->layers->len != layers->len)
    return;
  for (guint i = 0; i < layers->len; i++)
    {
      const GpOciDescriptor *d = &g_array_index (m->layers, GpOciDescriptor, i);
      GpImageLayer *layer = layers->pdata[i];
      const char *blob = gp_image_layer_get_blob_digest (layer);
      if (!is_uncompressed_layer (d->media_type)
          || strcmp (d->digest, gp_image_layer_get_diff_id (layer)) != 0
          || d->size != gp_image_layer_get_size (layer)
          || (blob != NULL && g_strcmp0 (gp_image_layer_get_blob_media_type (layer), d->media_type) != 0))
        return;
    }
  for (guint i = 0; i < layers->len; i++)
    {
      const GpOciDescriptor *d = &g_array_index (m->layers, GpOciDescriptor, i);
      GpImageLayer *layer = layers->pdata[i];
      if (gp_image_layer_get_blob_digest (layer) == NULL)
        gp_image_layer_set_blob (layer, d->digest, d->media_type, gp_image_layer_get_size (layer));
    }
  gp_image_set_manifest (image, bytes, m->media_type);
}

/* Fills @image's config and records its layers' IDs in @chain, bottom
 * first.  Fails with the reason the image cannot be read. */
static gboolean
load_image (Store *s, GpImage *image, GPtrArray *chain, GError **error)
{
  CsImage *im = g_hash_table_lookup (s->image_by_id, gp_image_get_id (image));
  g_autoptr (GBytes) config = load_config (s, im, error);
  if (config == NULL)
    return FALSE;
  gp_image_set_config (image, config);
  gsize len;
  const char *data = g_bytes_get_data (config, &len);
  g_autoptr (GpImageConfig) parsed = gp_image_config_parse (data, len, error);
  if (parsed == NULL)
    {
      g_prefix_error (error, "config: ");
      return FALSE;
    }

  /* The layer chain, top to bottom, through the parent links. */
  g_autoptr (GPtrArray) layers = g_ptr_array_new ();
  for (const char *id = im->top_layer; id != NULL;)
    {
      CsLayer *cl = g_hash_table_lookup (s->layer_by_id, id);
      if (cl == NULL)
        {
          g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING,
                       "layer %s is not in %s-layers/layers.json", id, s->driver);
          return FALSE;
        }
      if (layers->len > s->layers->len)
        {
          g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_CYCLE,
                       "the parent chain of layer %s loops", im->top_layer);
          return FALSE;
        }
      g_ptr_array_add (layers, cl);
      id = cl->parent;
    }
  guint n = parsed->diff_ids != NULL ? parsed->diff_ids->len : 0;
  if (n != layers->len)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_VERIFY,
                   "the config lists %u layers, the layer chain from %s has %u", n,
                   im->top_layer != NULL ? im->top_layer : "(none)", layers->len);
      return FALSE;
    }
  for (guint i = 0; i < n; i++)
    {
      const GString *diff_id = g_ptr_array_index (parsed->diff_ids, i);
      CsLayer *cl = g_ptr_array_index (layers, n - 1 - i);
      if (!gp_digest_check_sha256 (diff_id->str, diff_id->len, error))
        {
          g_prefix_error (error, "config: diff_ids[%u]: ", i);
          return FALSE;
        }
      if (g_strcmp0 (cl->diff_digest, diff_id->str) != 0)
        {
          g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_VERIFY,
                       "layer %u (%s) has diff digest %s, the config says %s", i, cl->id,
                       cl->diff_digest != NULL ? cl->diff_digest : "(none)", diff_id->str);
          return FALSE;
        }
      if (layer_source (s, cl, diff_id->str, error) == NULL)
        return FALSE;
      g_ptr_array_add (chain, g_strdup (cl->id));
    }
  return TRUE;
}

static void
measure_worker (gpointer data, gpointer user_data)
{
  CsLayerSrc *l = data;
  if (!measure_layer (l, &l->error))
    g_prefix_error (&l->error, "layer %s: ", l->id);
}

/* Measures every layer's tar on up to --jobs threads. */
static void
measure_layers (Store *s)
{
  gp_context_for_each_parallel (s->ctx, s->order, MAX_WORKERS, measure_worker);
}

/* The name an image is reported under: the first reference reached, or
 * its ID. */
static const char *
image_label (GpImage *image)
{
  GPtrArray *refs = gp_image_get_references (image);
  return refs != NULL && refs->len > 0 ? g_ptr_array_index (refs, 0) : gp_image_get_id (image);
}

static gboolean
count_discard (gpointer user_data, const void *buf, gsize len, GError **error)
{
  return TRUE;
}

/* check=true: streams a layer and compares its digest. */
static void
check_worker (gpointer data, gpointer user_data)
{
  GpImageLayer *layer = data;
  CsLayerSrc *l = gp_image_layer_get_data (layer);
  if (l->error == NULL)
    gp_image_layer_stream (layer, NULL, count_discard, NULL, l->cancellable, &l->error);
}

static gboolean
containers_storage_prepare (GpStage *stage, GpContext *ctx, GError **error)
{
  /* (verify-containers-storage checks every image: no names needed) */
  return gp_stage_get_bool (stage, "check")
         || gp_image_names_check (gp_stage_get_string (stage, "images"), error);
}

static gboolean
containers_storage_run (GpStage *stage, GpContext *ctx, GError **error)
{
  gboolean check = gp_stage_get_bool (stage, "check");
  g_auto (GStrv) names = gp_image_names_split (gp_stage_get_string (stage, "images"));
  const char *root = gp_context_get_root (ctx);
  if (root == NULL || *root == '\0')
    {
      g_set_error_literal (error, GP_PRESET_ERROR, GP_PRESET_ERROR_BAD_VALUE,
                           "no data root given (--root)");
      return FALSE;
    }
  Store s = { .ctx = ctx, .root = g_strdup (root) };
  s.sources = g_hash_table_new (g_str_hash, g_str_equal); /* keys: the CsLayerSrc's id */
  s.objects = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                     (GDestroyNotify) gp_image_layer_unref);
  s.order = g_ptr_array_new ();
  gboolean ok = store_load (&s, error);

  /* Every name is resolved before anything else is read. */
  g_autoptr (GPtrArray) images = NULL;
  if (ok && names[0] != NULL)
    {
      g_autoptr (GpImageCatalog) cat = store_catalog (&s);
      images = gp_image_catalog_resolve (cat, (const char *const *) names, error);
      ok = images != NULL;
    }
  else if (ok)
    {
      images = g_ptr_array_new_with_free_func ((GDestroyNotify) gp_image_unref);
      for (guint i = 0; i < s.images->len; i++)
        {
          CsImage *im = s.images->pdata[i];
          g_autofree char *id = g_strconcat ("sha256:", im->id, NULL);
          GpImage *image = gp_image_new (id);
          for (char **n = im->names; *n != NULL; n++)
            gp_image_add_reference (image, *n);
          g_ptr_array_add (images, image);
        }
    }
  if (!ok)
    {
      store_clear (&s);
      return FALSE;
    }

  /* Each image's config and layer chain; a failure is the image's. */
  guint n_images = images->len;
  g_autoptr (GPtrArray) chains = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  g_autoptr (GPtrArray) reasons = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < n_images; i++)
    {
      GPtrArray *chain = g_ptr_array_new_with_free_func (g_free);
      g_ptr_array_add (chains, chain);
      g_autoptr (GError) local = NULL;
      if (!load_image (&s, images->pdata[i], chain, &local))
        g_ptr_array_add (reasons, g_strdup (local->message));
      else
        g_ptr_array_add (reasons, NULL);
    }
  measure_layers (&s);

  /* The layer objects own their CsLayerSrc from here on. */
  GHashTableIter it;
  gpointer key, value;
  g_hash_table_iter_init (&it, s.sources);
  while (g_hash_table_iter_next (&it, &key, &value))
    {
      CsLayerSrc *l = value;
      g_hash_table_insert (s.objects, g_strdup (l->id),
                           gp_image_layer_new (l->diff_id, (gint64) l->tar_size, &cs_layer_funcs,
                                               l, (GDestroyNotify) cs_layer_src_free));
    }
  g_hash_table_steal_all (s.sources);

  if (check)
    {
      /* every layer rebuilt and hashed, on up to --jobs threads */
      guint threads = MIN (gp_context_get_jobs (ctx), MAX_WORKERS);
      GThreadPool *pool = g_thread_pool_new (check_worker, NULL, (gint) MAX (threads, 1), FALSE,
                                             NULL);
      g_hash_table_iter_init (&it, s.objects);
      while (g_hash_table_iter_next (&it, &key, &value))
        g_thread_pool_push (pool, value, NULL);
      g_thread_pool_free (pool, FALSE, TRUE);
    }

  /* The first failing layer of each image is its reason. */
  guint n_failed = 0;
  for (guint i = 0; i < n_images; i++)
    {
      GpImage *image = images->pdata[i];
      GPtrArray *chain = chains->pdata[i];
      for (guint j = 0; reasons->pdata[i] == NULL && j < chain->len; j++)
        {
          GpImageLayer *layer = g_hash_table_lookup (s.objects, chain->pdata[j]);
          CsLayerSrc *l = gp_image_layer_get_data (layer);
          if (l->error != NULL)
            reasons->pdata[i] = g_strdup (l->error->message);
          else
            gp_image_add_layer (image, layer);
        }
      if (reasons->pdata[i] != NULL)
        {
          gp_context_report (ctx, GP_REPORT_FAILURE, image_label (image), "image %s: %s",
                             gp_image_get_id (image), (char *) reasons->pdata[i]);
          n_failed++;
        }
      else if (check)
        gp_context_emit_item_done (ctx, image_label (image), i + 1, n_images, 0, "checked image %s",
                                   gp_image_get_id (image));
    }
  if (g_cancellable_set_error_if_cancelled (gp_context_get_cancellable (ctx), error))
    ok = FALSE;
  else if (n_failed > 0)
    {
      guint first = 0;
      while (reasons->pdata[first] == NULL)
        first++;
      GpImage *image = images->pdata[first];
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_INVALID,
                   "%s: %u of %u images cannot be read%s%s (%s): %s", s.root, n_failed, n_images,
                   n_failed == 1 ? ": " : "; first: ", image_label (image), gp_image_get_id (image),
                   (char *) reasons->pdata[first]);
      ok = FALSE;
    }
  if (ok && !check)
    {
      for (guint i = 0; i < n_images; i++)
        attach_manifest (&s, images->pdata[i],
                         g_hash_table_lookup (s.image_by_id, gp_image_get_id (images->pdata[i])));
      gp_context_set_images (ctx, images);
    }
  store_clear (&s);
  return ok;
}

GP_STAGE_DEFINE (
  .name = "containers-storage",
  .description = "Select images of a podman, CRI-O or buildah store (containers-storage: "
                 DRIVER_LIST ") by name (source of save)",
  .provides = GP_STAGE_STRV (GP_IMAGES_CAPABILITY),
  .options = options,
  .prepare = containers_storage_prepare,
  .run = containers_storage_run)
