/* oci-export: write the images a source stage selected (the `image-set`
 * capability) as an OCI image layout (image-spec 1.0): `oci-layout`,
 * `index.json` with one manifest descriptor per tag (annotation
 * `org.opencontainers.image.ref.name`), `blobs/sha256/`.
 *
 * The config blob is the source's config bytes exactly; layers are the
 * uncompressed tars (blob digest = DiffID) or, with compress=gzip, their
 * gzip (on --jobs threads).  A source that kept the registry's bytes (the
 * manifest, the index it came through, every layer's blob: containerd)
 * has them written as they are instead, whatever compress says: an exact
 * re-export, index.json pointing at the index when there is one.  Each blob is written once however many
 * images share it.  The layout is built in a private directory: beside
 * the output for format=oci-dir, renamed to it when complete (an existing
 * output is never replaced); under $TMPDIR for format=oci-archive, then
 * written as a tar through tar-export's output (an unnamed file linked
 * in when complete, or standard output).
 */
#include "config.h"

#include <graphpipe.h>

#include "te-output.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#define MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_LAYER "application/vnd.oci.image.layer.v1.tar"
#define MT_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define REF_NAME "org.opencontainers.image.ref.name"
#define COPY_BUFFER (1024 * 1024)

static const GpOption options[] = {
  { .key = "output", .type = GP_OPTION_PATH, .flags = GP_OPTION_FLAG_REQUIRED,
    .help = "The layout directory (oci-dir, must not exist), or the tar file or - (oci-archive)" },
  { .key = "format", .type = GP_OPTION_ENUM, .default_value = "oci-archive",
    .choices = GP_STAGE_STRV ("oci-archive", "oci-dir"),
    .help = "A directory, or a tar of it" },
  { .key = "compress", .type = GP_OPTION_ENUM, .default_value = "none",
    .choices = GP_STAGE_STRV ("auto", "none", "gzip"),
    .help = "gzip the layer blobs (media type ...tar+gzip); auto: none" },
  { NULL }
};

/* A blob descriptor. */
typedef struct {
  const char *media_type;
  char *digest;
  guint64 size;
} Desc;

static void
desc_free (Desc *d)
{
  g_free (d->digest);
  g_free (d);
}

typedef struct {
  GpContext *ctx;
  char *dir;          /* the layout being built */
  char *blobs;        /* <dir>/blobs/sha256 */
  gboolean gzip;
  GHashTable *layers; /* DiffID -> Desc * */
  GHashTable *written; /* digest -> NULL: blobs present */
  guint n_tmp;
} Oci;

/* A file being written: hashed and counted on the way. */
typedef struct {
  int fd;
  const char *path;
  GpSha256 sha;
  guint64 len;
} BlobFile;

static gboolean
blob_file_write (gpointer user_data, const void *buf, gsize len, GError **error)
{
  BlobFile *f = user_data;
  gp_sha256_update (&f->sha, buf, len);
  f->len += len;
  const char *p = buf;
  while (len > 0)
    {
      ssize_t n = write (f->fd, p, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int e = errno;
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "%s: cannot write: %s",
                       f->path, g_strerror (e));
          return FALSE;
        }
      p += n;
      len -= (gsize) n;
    }
  return TRUE;
}

static char *
blob_path (Oci *oci, const char *digest)
{
  return g_build_filename (oci->blobs, digest + strlen ("sha256:"), NULL);
}

/* Writes bytes as a blob (once); returns its descriptor. */
static Desc *
put_bytes (Oci *oci, const char *media_type, GBytes *bytes, GError **error)
{
  gsize len;
  const void *data = g_bytes_get_data (bytes, &len);
  Desc *d = g_new0 (Desc, 1);
  d->media_type = media_type;
  d->digest = gp_sha256_digest_of (data, len);
  d->size = len;
  if (g_hash_table_contains (oci->written, d->digest))
    return d;
  g_autofree char *path = blob_path (oci, d->digest);
  if (!g_file_set_contents_full (path, data, (gssize) len, G_FILE_SET_CONTENTS_NONE, 0644, error))
    {
      desc_free (d);
      return NULL;
    }
  g_hash_table_add (oci->written, g_strdup (d->digest));
  return d;
}

/* Streams a layer into a blob: its tar, or the tar's gzip. */
static gboolean
put_layer (Oci *oci, GpImage *image, GpImageLayer *layer, GError **error)
{
  const char *diff_id = gp_image_layer_get_diff_id (layer);
  if (g_hash_table_contains (oci->layers, diff_id))
    return TRUE;

  g_autofree char *tmp = g_strdup_printf ("%s/.layer-%u%s", oci->blobs, oci->n_tmp++,
                                          GP_SAFEIO_TEMP_SUFFIX);
  int fd = open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0)
    {
      int e = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "%s: cannot create: %s", tmp,
                   g_strerror (e));
      return FALSE;
    }
  BlobFile f = { .fd = fd, .path = tmp };
  gp_sha256_init (&f.sha);
  gboolean ok;
  if (oci->gzip)
    {
      g_autoptr (GpPgzip) z = gp_pgzip_new (blob_file_write, &f, gp_context_get_jobs (oci->ctx),
                                            6, GP_PGZIP_DEFAULT_BLOCK_SIZE,
                                            gp_context_get_cancellable (oci->ctx), error);
      ok = z != NULL
           && gp_image_layer_stream (layer, gp_image_get_id (image), gp_pgzip_write, z,
                                     gp_context_get_cancellable (oci->ctx), error)
           && gp_pgzip_finish (z, error);
    }
  else
    ok = gp_image_layer_stream (layer, gp_image_get_id (image), blob_file_write, &f,
                                gp_context_get_cancellable (oci->ctx), error);
  close (fd);
  if (!ok)
    return FALSE;

  Desc *d = g_new0 (Desc, 1);
  d->media_type = oci->gzip ? MT_LAYER_GZIP : MT_LAYER;
  d->digest = g_malloc (GP_DIGEST_SHA256_LEN + 1);
  gp_sha256_finish_digest (&f.sha, d->digest);
  d->size = f.len;
  g_hash_table_insert (oci->layers, g_strdup (diff_id), d);

  g_autofree char *path = blob_path (oci, d->digest);
  if (g_hash_table_contains (oci->written, d->digest))
    {
      /* the same blob from another DiffID: keep the one written */
      (void) g_unlink (tmp);
      return TRUE;
    }
  if (g_rename (tmp, path) != 0)
    {
      int e = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "%s: cannot rename: %s", tmp,
                   g_strerror (e));
      return FALSE;
    }
  g_hash_table_add (oci->written, g_strdup (d->digest));
  gp_context_emit_item_done (oci->ctx, diff_id, g_hash_table_size (oci->layers), 0, d->size,
                             "layer %s: blob %s (%" G_GUINT64_FORMAT " bytes)", diff_id,
                             d->digest, d->size);
  return TRUE;
}

/* The source's own blob of a layer (contract: gp_image_layer_set_blob()),
 * copied as it is, checked against its digest on the way. */
static gboolean
put_kept_layer (Oci *oci, GpImage *image, GpImageLayer *layer, GError **error)
{
  const char *digest = gp_image_layer_get_blob_digest (layer);
  if (g_hash_table_contains (oci->written, digest))
    return TRUE;
  if (!gp_digest_check_sha256 (digest, -1, error))
    return FALSE;
  g_autofree char *tmp = g_strdup_printf ("%s/.layer-%u%s", oci->blobs, oci->n_tmp++,
                                          GP_SAFEIO_TEMP_SUFFIX);
  int fd = open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0)
    {
      int e = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "%s: cannot create: %s", tmp,
                   g_strerror (e));
      return FALSE;
    }
  BlobFile f = { .fd = fd, .path = tmp };
  gp_sha256_init (&f.sha);
  gboolean ok = gp_image_layer_stream_blob (layer, gp_image_get_id (image), blob_file_write, &f,
                                            gp_context_get_cancellable (oci->ctx), error);
  close (fd);
  g_autofree char *path = blob_path (oci, digest);
  if (ok && g_rename (tmp, path) != 0)
    {
      int e = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "%s: cannot rename: %s", tmp,
                   g_strerror (e));
      ok = FALSE;
    }
  if (!ok)
    return FALSE;
  g_hash_table_add (oci->written, g_strdup (digest));
  gp_context_emit_item_done (oci->ctx, digest, g_hash_table_size (oci->written), 0, f.len,
                             "layer %s: blob %s kept (%" G_GUINT64_FORMAT " bytes)",
                             gp_image_layer_get_diff_id (layer), digest, f.len);
  return TRUE;
}

/* An image whose source kept its manifest (and the index it was reached
 * through) and every layer's blob: all of them written byte for byte, an
 * exact re-export; the descriptor index.json names is the index's when
 * there is one.  NULL with *kept FALSE when the source kept less. */
static Desc *
put_kept_image (Oci *oci, GpImage *image, gboolean *kept, GError **error)
{
  const char *manifest_mt = NULL, *target_mt = NULL;
  GBytes *manifest = gp_image_get_manifest (image, &manifest_mt);
  GBytes *target = gp_image_get_target (image, &target_mt);
  GPtrArray *layers = gp_image_get_layers (image);
  *kept = FALSE;
  if (manifest == NULL || manifest_mt == NULL || gp_image_get_config (image) == NULL)
    return NULL;
  for (guint i = 0; i < layers->len; i++)
    if (gp_image_layer_get_blob_digest (g_ptr_array_index (layers, i)) == NULL)
      return NULL;
  *kept = TRUE;
  Desc *c = put_bytes (oci, MT_CONFIG, gp_image_get_config (image), error);
  if (c == NULL)
    return NULL;
  gboolean same = strcmp (c->digest, gp_image_get_id (image)) == 0;
  if (!same)
    g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_VERIFY,
                 "image %s: its config hashes to %s", gp_image_get_id (image), c->digest);
  desc_free (c);
  if (!same)
    return NULL;
  for (guint i = 0; i < layers->len; i++)
    if (gp_context_set_error_if_cancelled (oci->ctx, error)
        || !put_kept_layer (oci, image, g_ptr_array_index (layers, i), error))
      return NULL;
  Desc *m = put_bytes (oci, g_intern_string (manifest_mt), manifest, error);
  if (m == NULL || target == NULL || target_mt == NULL)
    return m;
  desc_free (m);
  return put_bytes (oci, g_intern_string (target_mt), target, error);
}

static void
append_desc (GString *s, const Desc *d)
{
  g_string_append (s, "{\"mediaType\":");
  gp_json_append_string (s, d->media_type, strlen (d->media_type));
  g_string_append (s, ",\"digest\":");
  gp_json_append_string (s, d->digest, strlen (d->digest));
  g_string_append_printf (s, ",\"size\":%" G_GUINT64_FORMAT, d->size);
}

/* The image's manifest blob. */
static Desc *
put_image (Oci *oci, GpImage *image, GError **error)
{
  gboolean kept;
  Desc *k = put_kept_image (oci, image, &kept, error);
  if (kept)
    return k;
  GBytes *config = gp_image_get_config (image);
  GPtrArray *layers = gp_image_get_layers (image);
  if (config == NULL)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING, "image %s: no config",
                   gp_image_get_id (image));
      return NULL;
    }
  g_autoptr (GString) m = g_string_new ("{\"schemaVersion\":2,\"mediaType\":\"" MT_MANIFEST
                                        "\",\"config\":");
  Desc *c = put_bytes (oci, MT_CONFIG, config, error);
  if (c == NULL)
    return NULL;
  if (strcmp (c->digest, gp_image_get_id (image)) != 0)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_VERIFY,
                   "image %s: its config hashes to %s", gp_image_get_id (image), c->digest);
      desc_free (c);
      return NULL;
    }
  append_desc (m, c);
  desc_free (c);
  g_string_append (m, "},\"layers\":[");
  for (guint i = 0; i < layers->len; i++)
    {
      GpImageLayer *layer = g_ptr_array_index (layers, i);
      if (gp_context_set_error_if_cancelled (oci->ctx, error)
          || !put_layer (oci, image, layer, error))
        return NULL;
      if (i > 0)
        g_string_append_c (m, ',');
      append_desc (m, g_hash_table_lookup (oci->layers, gp_image_layer_get_diff_id (layer)));
      g_string_append_c (m, '}');
    }
  g_string_append (m, "]}");
  g_autoptr (GBytes) bytes = g_string_free_to_bytes (g_steal_pointer (&m));
  return put_bytes (oci, MT_MANIFEST, bytes, error);
}

static gboolean
build_layout (Oci *oci, GPtrArray *images, GError **error)
{
  oci->blobs = g_build_filename (oci->dir, "blobs", "sha256", NULL);
  if (g_mkdir_with_parents (oci->blobs, 0755) != 0)
    {
      int e = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "%s: %s", oci->blobs,
                   g_strerror (e));
      return FALSE;
    }
  g_autoptr (GString) index = g_string_new ("{\"schemaVersion\":2,\"manifests\":[");
  gboolean first = TRUE;
  for (guint i = 0; i < images->len; i++)
    {
      GpImage *image = g_ptr_array_index (images, i);
      Desc *d = put_image (oci, image, error);
      if (d == NULL)
        return FALSE;
      /* one descriptor per tag; an untagged image gets one without name */
      GPtrArray *refs = gp_image_get_references (image);
      guint n_tags = 0;
      for (guint j = 0; j <= refs->len; j++)
        {
          const char *ref = j < refs->len ? g_ptr_array_index (refs, j) : NULL;
          if ((ref != NULL && strchr (ref, '@') != NULL) || (ref == NULL && n_tags > 0))
            continue;
          if (!first)
            g_string_append_c (index, ',');
          first = FALSE;
          append_desc (index, d);
          if (ref != NULL)
            {
              n_tags++;
              g_string_append (index, ",\"annotations\":{\"" REF_NAME "\":");
              gp_json_append_string (index, ref, strlen (ref));
              g_string_append_c (index, '}');
            }
          g_string_append_c (index, '}');
        }
      desc_free (d);
    }
  g_string_append (index, "]}");
  g_autofree char *index_path = g_build_filename (oci->dir, "index.json", NULL);
  g_autofree char *layout_path = g_build_filename (oci->dir, "oci-layout", NULL);
  return g_file_set_contents_full (index_path, index->str, (gssize) index->len,
                                   G_FILE_SET_CONTENTS_NONE, 0644, error)
         && g_file_set_contents_full (layout_path, "{\"imageLayoutVersion\":\"1.0.0\"}", -1,
                                      G_FILE_SET_CONTENTS_NONE, 0644, error);
}

/* ---- oci-archive: the layout as a tar ---- */

static gboolean
tar_file (GpTarWriter *tar, const char *dir, const char *name, guint8 *buf,
          GCancellable *cancellable, GError **error)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  struct stat st;
  if (fd < 0 || fstat (fd, &st) != 0)
    {
      int e = errno;
      if (fd >= 0)
        close (fd);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "%s: %s", path, g_strerror (e));
      return FALSE;
    }
  GpTarHeader h = { .name = name, .mode = 0100644, .size = st.st_size,
                    .typeflag = GP_TAR_TYPE_REG };
  gboolean ok = gp_tar_writer_write_header (tar, &h, error);
  while (ok)
    {
      ssize_t n = read (fd, buf, COPY_BUFFER);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int e = errno;
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "%s: %s", path,
                       g_strerror (e));
          ok = FALSE;
        }
      else if (n == 0)
        break;
      else
        ok = gp_tar_writer_write_data (tar, buf, (gsize) n, error)
             && !g_cancellable_set_error_if_cancelled (cancellable, error);
    }
  close (fd);
  return ok;
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static gboolean
write_archive (Oci *oci, const char *output, GError **error)
{
  GCancellable *cancellable = gp_context_get_cancellable (oci->ctx);
  g_autoptr (TeOutput) out = te_output_open (output, FALSE, gp_context_get_jobs (oci->ctx),
                                             cancellable, error);
  if (out == NULL)
    return FALSE;
  g_autoptr (GpTarWriter) tar = gp_tar_writer_new (te_output_write, out);
  g_autofree guint8 *buf = g_malloc (COPY_BUFFER);

  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GDir) d = g_dir_open (oci->blobs, 0, error);
  if (d == NULL)
    return FALSE;
  const char *name;
  while ((name = g_dir_read_name (d)) != NULL)
    g_ptr_array_add (names, g_strconcat ("blobs/sha256/", name, NULL));
  g_ptr_array_sort (names, compare_strings);

  GpTarHeader blobs = { .name = "blobs/", .mode = 040755, .typeflag = GP_TAR_TYPE_DIR };
  GpTarHeader sha = { .name = "blobs/sha256/", .mode = 040755, .typeflag = GP_TAR_TYPE_DIR };
  if (!tar_file (tar, oci->dir, "oci-layout", buf, cancellable, error)
      || !tar_file (tar, oci->dir, "index.json", buf, cancellable, error)
      || !gp_tar_writer_write_header (tar, &blobs, error)
      || !gp_tar_writer_write_header (tar, &sha, error))
    return FALSE;
  for (guint i = 0; i < names->len; i++)
    if (!tar_file (tar, oci->dir, g_ptr_array_index (names, i), buf, cancellable, error))
      return FALSE;
  return gp_tar_writer_close (tar, error) && te_output_commit (out, error);
}

/* ---- the stage ---- */

static gboolean
oci_export_prepare (GpStage *stage, GpContext *ctx, GError **error)
{
  const char *output = gp_stage_get_string (stage, "output");
  if (strcmp (gp_stage_get_string (stage, "format"), "oci-dir") == 0)
    {
      if (output == NULL || *output == '\0' || strcmp (output, "-") == 0)
        {
          g_set_error_literal (error, GP_PRESET_ERROR, GP_PRESET_ERROR_BAD_VALUE,
                               "output: the oci-dir format needs a directory name (-o DIR)");
          return FALSE;
        }
      if (g_file_test (output, G_FILE_TEST_EXISTS | G_FILE_TEST_IS_SYMLINK))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                       "%s: exists already (an oci-dir output is never replaced)", output);
          return FALSE;
        }
      return TRUE;
    }
  return te_output_check (output, !gp_context_get_dry_run (ctx), error);
}

static gboolean
oci_export_run (GpStage *stage, GpContext *ctx, GError **error)
{
  const char *output = gp_stage_get_string (stage, "output");
  gboolean as_dir = strcmp (gp_stage_get_string (stage, "format"), "oci-dir") == 0;
  GPtrArray *images = gp_context_get_images (ctx, error);
  if (images == NULL)
    return FALSE;
  if (gp_context_get_dry_run (ctx))
    {
      gp_context_emit_item_done (ctx, output, images->len, images->len, 0,
                                 "dry run: would write %u images as %s to %s", images->len,
                                 as_dir ? "an OCI layout directory" : "an OCI layout archive",
                                 output);
      return TRUE;
    }

  g_autoptr (GHashTable) layers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                         (GDestroyNotify) desc_free);
  g_autoptr (GHashTable) written = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  Oci oci = { .ctx = ctx, .layers = layers, .written = written,
              .gzip = strcmp (gp_stage_get_string (stage, "compress"), "gzip") == 0 };

  gboolean ok;
  if (as_dir)
    {
      g_autofree char *parent = g_path_get_dirname (output);
      g_autofree char *base = g_path_get_basename (output);
      g_autofree char *prefix = g_strconcat (".", base, ".oci-", NULL);
      ok = gp_safeio_make_temp_dir (parent, prefix, 0755, &oci.dir, error);
    }
  else
    {
      oci.dir = g_dir_make_tmp ("graphpipe-oci-XXXXXX", error);
      ok = oci.dir != NULL;
    }
  ok = ok && build_layout (&oci, images, error);
  if (ok && as_dir)
    {
      /* one sync of the file system, not one fsync per file */
      int fd = open (oci.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fd >= 0)
        {
          syncfs (fd);
          close (fd);
        }
      gboolean existed = FALSE;
      ok = gp_safeio_publish_dir (oci.dir, output, &existed, error);
      if (ok && existed)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                       "%s: exists already (an oci-dir output is never replaced)", output);
          ok = FALSE;
        }
      if (ok)
        g_clear_pointer (&oci.dir, g_free); /* published */
    }
  else if (ok)
    ok = write_archive (&oci, output, error);

  if (oci.dir != NULL)
    gp_safeio_remove_tree (oci.dir, NULL);
  g_free (oci.dir);
  g_free (oci.blobs);
  if (ok)
    gp_context_add_counter (ctx, "images", images->len);
  return ok;
}

GP_STAGE_DEFINE (
  .name = "oci-export",
  .description = "Write the selected images as an OCI image layout (directory or tar)",
  .requires = GP_STAGE_STRV (GP_IMAGES_CAPABILITY),
  .options = options,
  .prepare = oci_export_prepare,
  .run = oci_export_run)
