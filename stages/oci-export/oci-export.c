/* oci-export: write the images a source stage selected (the `image-set`
 * capability) as an OCI image layout (image-spec 1.0): `oci-layout`,
 * `index.json` with one manifest descriptor per tag (annotation
 * `org.opencontainers.image.ref.name`), `blobs/sha256/`.
 *
 * The config blob is the source's config bytes exactly; layers are the
 * uncompressed tars (blob digest = DiffID) or, with compress=gzip, their
 * gzip.  A source that kept the registry's bytes (the manifest, the
 * index it came through, every layer's blob: containerd) has them
 * written as they are instead, whatever compress says: an exact
 * re-export, index.json pointing at the index when there is one.  Each
 * blob is written once however many images share it, and
 * each layer's bytes are streamed once from the source, checked against
 * the DiffID on the way.
 *
 * format=oci-dir: the layout is built in `.<name>.<pid>-<random>.gp-tmp`
 * beside the output, flocked while the run lives, and renamed to the
 * output when complete (an existing output is never replaced).  A run
 * removes the unlocked temporaries of its output name that killed runs
 * left.  Layer blobs are written by up to --jobs workers at once.
 *
 * format=oci-archive: the tar is written straight to tar-export's output
 * (an unnamed file linked in when complete, or standard output), with no
 * copy of the layout on disk.  The entries: `oci-layout`, `blobs/`,
 * `blobs/sha256/`, the layer blobs in the order the images first use
 * them, the config and manifest blobs, `index.json`.  A layer blob whose
 * digest and length are known before it is written (uncompressed, and
 * the source knows the tar's length: digest = DiffID) is, in a file,
 * given its span and written by a worker with positioned writes while the
 * stream goes on, as tar-export does; to a pipe, streamed in place.  A
 * gzip blob's length and digest are only known once it is compressed: in
 * a file, its header block is set aside, the gzip streamed after it
 * (compressed on --jobs threads) and the header filled in afterwards; to
 * a pipe, where nothing can be filled in later, each gzip blob is first
 * compressed into an unnamed temporary file under $TMPDIR and then copied
 * into the stream (the one case with an extra copy; nothing is left if
 * the run is killed).  Both ways give the same bytes.
 */
#include "config.h"

#include <graphpipe.h>

#include "te-output.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>

#define MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_LAYER "application/vnd.oci.image.layer.v1.tar"
#define MT_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define REF_NAME "org.opencontainers.image.ref.name"
#define BLOB_PREFIX "blobs/sha256/"
/* Workers writing layer blobs: at most this many, whatever --jobs says. */
#define MAX_WORKERS 8
/* A blob writer's buffer; chunks at least DIRECT_MIN long bypass it. */
#define SINK_BUFFER (256 * 1024)
#define DIRECT_MIN (64 * 1024)
#define PROGRESS_STEP (64 * 1024 * 1024)
#define GZIP_LEVEL 6

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

typedef struct _Oci Oci;

/* One layer blob to write (one per DiffID). */
typedef struct {
  GpImageLayer *source;  /* a reference */
  const char *image_id;  /* the first image that uses it, for messages */
  const char *diff_id;   /* the source's */
  guint index;           /* first-use order */
  gboolean known;        /* digest and size known before writing */
  gboolean kept;         /* the source's own blob, written as it is */
  const char *media_type; /* kept: the blob's */
  char *digest;          /* the blob's: known, or set once written */
  guint64 size;
  /* a worker's job */
  guint64 offset;        /* oci-archive: the span of its bytes */
  gboolean done;
  GError *error;
} OciLayer;

struct _Oci {
  GpContext *ctx;
  GCancellable *cancellable;
  gboolean gzip;
  guint jobs;
  GPtrArray *layers;     /* OciLayer *, first-use order */
  GHashTable *by_diff;   /* DiffID -> OciLayer * */
  GHashTable *by_blob;   /* kept blob digest -> OciLayer * */
  GHashTable *written;   /* digests of the config and manifest blobs written */
  guint64 layer_bytes;   /* known layer bytes, for progress */
  /* oci-dir */
  char *dir;             /* the layout being built */
  char *blobs;           /* <dir>/blobs/sha256 */
  int dir_fd;            /* flocked while we live */
  /* oci-archive */
  TeOutput *out;
  GpTarWriter *tar;
  /* workers */
  GThreadPool *threads;
  GPtrArray *queued;     /* OciLayer *, pushed to the workers, in order */
  GMutex lock;
  GCond cond;
  gint fail_index;       /* lowest index of a failed job; G_MAXINT: none */
  gint stop;             /* the main thread failed: drop all */
  guint pgzip_jobs;      /* compression threads per gzip blob */
  guint layers_done;
  guint64 bytes_done;
  guint64 next_progress;
};

static void
oci_layer_free (OciLayer *l)
{
  g_clear_pointer (&l->source, gp_image_layer_unref);
  g_free (l->digest);
  g_clear_error (&l->error);
  g_free (l);
}

static gboolean
set_errno_error (GError **error, int e, const char *what, const char *path)
{
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "%s: %s: %s", path, what,
               g_strerror (e));
  return FALSE;
}

/* ---- blob writers -------------------------------------------------------- */

typedef enum {
  SINK_FD,     /* a file of its own */
  SINK_SPAN,   /* a span of the positioned archive (pwrite) */
  SINK_STREAM, /* the archive's stream, in place */
} SinkKind;

/* Where one blob's bytes go, hashed (unless known) and counted. */
typedef struct {
  Oci *oci;
  OciLayer *layer;
  SinkKind kind;
  gboolean hash;
  GpSha256 sha;
  guint64 len;
  int fd;                /* SINK_FD */
  const char *path;      /* SINK_FD, for messages */
  guint64 pos;           /* SINK_SPAN: where buf[0] goes */
  guint8 *buf;           /* SINK_FD, SINK_SPAN */
  gsize buf_len;
  guint64 unreported;    /* bytes not yet counted in the progress */
} BlobSink;

static gboolean
fd_write_all (int fd, const char *path, const guint8 *p, gsize len, GError **error)
{
  while (len > 0)
    {
      ssize_t n = write (fd, p, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return set_errno_error (error, errno, "cannot write", path);
      p += n;
      len -= (gsize) n;
    }
  return TRUE;
}

static gboolean
sink_put (BlobSink *s, const guint8 *p, gsize len, GError **error)
{
  if (s->kind == SINK_FD)
    return fd_write_all (s->fd, s->path, p, len, error);
  guint64 pos = s->pos;
  s->pos += len;
  if (!te_output_pwrite (s->oci->out, pos, p, len, error))
    return FALSE;
  te_output_start_writeback (s->oci->out, pos, len);
  return TRUE;
}

static gboolean
sink_flush (BlobSink *s, GError **error)
{
  if (s->buf_len == 0)
    return TRUE;
  gsize n = s->buf_len;
  s->buf_len = 0;
  return sink_put (s, s->buf, n, error);
}

static void
add_progress (Oci *oci, OciLayer *layer, guint64 len)
{
  g_mutex_lock (&oci->lock);
  oci->bytes_done += len;
  if (oci->bytes_done >= oci->next_progress)
    {
      oci->next_progress = oci->bytes_done + PROGRESS_STEP;
      gp_context_emit_progress (oci->ctx, layer->diff_id, oci->bytes_done, oci->layer_bytes,
                                oci->bytes_done);
    }
  g_mutex_unlock (&oci->lock);
}

static gboolean
sink_write (gpointer user_data, const void *buf, gsize len, GError **error)
{
  BlobSink *s = user_data;
  Oci *oci = s->oci;

  if (g_atomic_int_get (&oci->stop)
      || (guint) g_atomic_int_get (&oci->fail_index) < s->layer->index)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                           "abandoned after an earlier failure");
      return FALSE;
    }
  if (s->hash)
    gp_sha256_update (&s->sha, buf, len);
  s->len += len;
  s->unreported += len;
  if (s->unreported >= 4 * 1024 * 1024)
    {
      add_progress (oci, s->layer, s->unreported);
      s->unreported = 0;
    }
  if (s->kind == SINK_STREAM)
    return te_output_write (oci->out, buf, len, error);
  if (len >= DIRECT_MIN || s->buf_len + len > SINK_BUFFER)
    {
      if (!sink_flush (s, error))
        return FALSE;
      if (len >= DIRECT_MIN)
        return sink_put (s, buf, len, error);
    }
  memcpy (s->buf + s->buf_len, buf, len);
  s->buf_len += len;
  return TRUE;
}

/* Streams @layer's blob into @s: the tar (checked against the DiffID by
 * the image model) or its gzip.  Sets the layer's digest and size when
 * they were not known. */
static gboolean
sink_layer (BlobSink *s, guint pgzip_jobs, GError **error)
{
  Oci *oci = s->oci;
  OciLayer *layer = s->layer;
  s->hash = !layer->known;
  if (s->hash)
    gp_sha256_init (&s->sha);
  if (s->kind != SINK_STREAM)
    s->buf = g_malloc (SINK_BUFFER);

  gboolean ok;
  if (layer->kept)
    ok = gp_image_layer_stream_blob (layer->source, layer->image_id, sink_write, s,
                                     oci->cancellable, error);
  else if (oci->gzip)
    {
      g_autoptr (GpPgzip) z = gp_pgzip_new (sink_write, s, pgzip_jobs, GZIP_LEVEL,
                                            GP_PGZIP_DEFAULT_BLOCK_SIZE, oci->cancellable, error);
      ok = z != NULL
           && gp_image_layer_stream (layer->source, layer->image_id, gp_pgzip_write, z,
                                     oci->cancellable, error)
           && gp_pgzip_finish (z, error);
    }
  else
    ok = gp_image_layer_stream (layer->source, layer->image_id, sink_write, s, oci->cancellable,
                                error);
  ok = ok && sink_flush (s, error);
  g_clear_pointer (&s->buf, g_free);
  add_progress (oci, layer, s->unreported);
  s->unreported = 0;
  if (!ok)
    return FALSE;

  if (layer->known)
    {
      if (s->len != layer->size)
        {
          g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_SIZE,
                       "image %s: layer %s: %" G_GUINT64_FORMAT " bytes streamed, %"
                       G_GUINT64_FORMAT " expected", layer->image_id, layer->diff_id, s->len,
                       layer->size);
          return FALSE;
        }
      return TRUE;
    }
  layer->digest = g_malloc (GP_DIGEST_SHA256_LEN + 1);
  gp_sha256_finish_digest (&s->sha, layer->digest);
  layer->size = s->len;
  return TRUE;
}

static char *
blob_path (Oci *oci, const char *digest)
{
  return g_build_filename (oci->blobs, digest + strlen ("sha256:"), NULL);
}

/* oci-dir: a layer blob as a file (any thread). */
static gboolean
dir_write_layer (Oci *oci, OciLayer *layer, GError **error)
{
  g_autofree char *tmp = g_strdup_printf ("%s/.layer-%u%s", oci->blobs, layer->index,
                                          GP_SAFEIO_TEMP_SUFFIX);
  int fd = open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0)
    return set_errno_error (error, errno, "cannot create", tmp);
  BlobSink s = { .oci = oci, .layer = layer, .kind = SINK_FD, .fd = fd, .path = tmp };
  gboolean ok = sink_layer (&s, oci->pgzip_jobs, error);
  if (close (fd) != 0 && ok)
    ok = set_errno_error (error, errno, "cannot close", tmp);
  if (!ok)
    return FALSE;
  gp_safeio_crash_point ("oci-export: layer blob written");
  g_autofree char *path = blob_path (oci, layer->digest);
  if (g_rename (tmp, path) != 0)
    return set_errno_error (error, errno, "cannot rename", tmp);
  return TRUE;
}

/* ---- workers ------------------------------------------------------------- */

static void
job_run (gpointer data, gpointer user_data)
{
  OciLayer *layer = data;
  Oci *oci = user_data;
  GError *error = NULL;
  gboolean ok;

  if (g_atomic_int_get (&oci->stop)
      || (guint) g_atomic_int_get (&oci->fail_index) < layer->index)
    {
      ok = FALSE;
      g_set_error_literal (&error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                           "skipped after an earlier failure");
    }
  else if (oci->out != NULL)
    {
      BlobSink s = { .oci = oci, .layer = layer, .kind = SINK_SPAN, .pos = layer->offset };
      ok = sink_layer (&s, oci->pgzip_jobs, &error);
    }
  else
    ok = dir_write_layer (oci, layer, &error);

  g_mutex_lock (&oci->lock);
  layer->done = TRUE;
  if (!ok && (gint) layer->index < g_atomic_int_get (&oci->fail_index))
    g_atomic_int_set (&oci->fail_index, (gint) layer->index);
  layer->error = error;
  g_cond_broadcast (&oci->cond);
  g_mutex_unlock (&oci->lock);
}

static void
layer_done (Oci *oci, OciLayer *layer)
{
  oci->layers_done++;
  gp_context_add_counter (oci->ctx, "layers", 1);
  gp_context_add_counter (oci->ctx, "layer-bytes", (gint64) layer->size);
  gp_context_emit_item_done (oci->ctx, layer->diff_id, oci->layers_done, oci->layers->len,
                             layer->size, "layer %s: blob %s (%" G_GUINT64_FORMAT " bytes)",
                             layer->diff_id, layer->digest, layer->size);
}

static gboolean
pool_start (Oci *oci, guint n_layers, GError **error)
{
  guint n = MIN (MIN (MAX (oci->jobs, 1), MAX_WORKERS), MAX (n_layers, 1));
  oci->pgzip_jobs = MAX (1, oci->jobs / n);
  oci->queued = g_ptr_array_new ();
  oci->threads = g_thread_pool_new (job_run, oci, (gint) n, FALSE, error);
  return oci->threads != NULL;
}

static gboolean
pool_push (Oci *oci, OciLayer *layer, GError **error)
{
  g_ptr_array_add (oci->queued, layer);
  return g_thread_pool_push (oci->threads, layer, error);
}

/* Makes the workers drop what is left and waits for them. */
static void
pool_stop (Oci *oci)
{
  if (oci->threads == NULL)
    return;
  g_atomic_int_set (&oci->stop, 1);
  g_thread_pool_free (g_steal_pointer (&oci->threads), FALSE, TRUE);
}

/* Waits for the queued layers in order, reporting each as done; returns
 * the first failed layer's error. */
static gboolean
pool_finish (Oci *oci, GError **error)
{
  GError *failure = NULL;
  for (guint i = 0; i < oci->queued->len && failure == NULL; i++)
    {
      OciLayer *layer = g_ptr_array_index (oci->queued, i);
      g_mutex_lock (&oci->lock);
      while (!layer->done)
        g_cond_wait (&oci->cond, &oci->lock);
      g_mutex_unlock (&oci->lock);
      if (layer->error != NULL)
        failure = g_steal_pointer (&layer->error);
      else
        layer_done (oci, layer);
    }
  if (failure != NULL)
    g_atomic_int_set (&oci->stop, 1);
  g_thread_pool_free (g_steal_pointer (&oci->threads), FALSE, TRUE);
  if (failure != NULL)
    {
      g_propagate_error (error, failure);
      return FALSE;
    }
  return TRUE;
}

/* ---- planning and JSON --------------------------------------------------- */

/* Whether the source kept @image's manifest and every layer's blob: then
 * they are written as they are. */
static gboolean
image_is_kept (GpImage *image)
{
  const char *mt = NULL;
  if (gp_image_get_manifest (image, &mt) == NULL || mt == NULL)
    return FALSE;
  GPtrArray *layers = gp_image_get_layers (image);
  for (guint i = 0; i < layers->len; i++)
    {
      GpImageLayer *l = g_ptr_array_index (layers, i);
      const char *digest = gp_image_layer_get_blob_digest (l);
      if (digest == NULL || gp_image_layer_get_blob_media_type (l) == NULL
          || !gp_digest_check_sha256 (digest, -1, NULL))
        return FALSE;
    }
  return TRUE;
}

/* The plan's layer of an image's layer: its kept blob, or its tar. */
static OciLayer *
plan_lookup (Oci *oci, gboolean kept, GpImageLayer *source)
{
  return kept ? g_hash_table_lookup (oci->by_blob, gp_image_layer_get_blob_digest (source))
              : g_hash_table_lookup (oci->by_diff, gp_image_layer_get_diff_id (source));
}

/* Checks every image and collects the layers, before anything is
 * written. */
static gboolean
plan_layers (Oci *oci, GPtrArray *images, GError **error)
{
  for (guint i = 0; i < images->len; i++)
    {
      GpImage *image = g_ptr_array_index (images, i);
      const char *id = gp_image_get_id (image);
      GBytes *config = gp_image_get_config (image);
      if (config == NULL)
        {
          g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING, "image %s: no config", id);
          return FALSE;
        }
      gsize len;
      const void *data = g_bytes_get_data (config, &len);
      g_autofree char *digest = gp_sha256_digest_of (data, len);
      if (strcmp (digest, id) != 0)
        {
          g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_VERIFY,
                       "image %s: its config hashes to %s", id, digest);
          return FALSE;
        }
      GPtrArray *layers = gp_image_get_layers (image);
      gboolean kept = image_is_kept (image);
      for (guint j = 0; j < layers->len; j++)
        {
          GpImageLayer *source = g_ptr_array_index (layers, j);
          const char *diff_id = gp_image_layer_get_diff_id (source);
          if (plan_lookup (oci, kept, source) != NULL)
            continue;
          if (!gp_digest_check_sha256 (diff_id, -1, error))
            {
              g_prefix_error (error, "image %s: layer %u: ", id, j);
              return FALSE;
            }
          OciLayer *l = g_new0 (OciLayer, 1);
          l->source = gp_image_layer_ref (source);
          l->image_id = id;
          l->diff_id = diff_id;
          l->index = oci->layers->len;
          gint64 size = kept ? gp_image_layer_get_blob_size (source)
                             : gp_image_layer_get_size (source);
          l->kept = kept;
          l->known = (kept || !oci->gzip) && size >= 0;
          if (kept)
            l->media_type = gp_image_layer_get_blob_media_type (source);
          if (l->known)
            {
              l->digest = g_strdup (kept ? gp_image_layer_get_blob_digest (source) : diff_id);
              l->size = (guint64) size;
              oci->layer_bytes += l->size;
            }
          g_ptr_array_add (oci->layers, l);
          if (kept)
            g_hash_table_insert (oci->by_blob, (gpointer) gp_image_layer_get_blob_digest (source), l);
          else
            g_hash_table_insert (oci->by_diff, (gpointer) diff_id, l);
        }
    }
  return TRUE;
}

static void
append_desc (GString *s, const char *media_type, const char *digest, guint64 size)
{
  g_string_append (s, "{\"mediaType\":");
  gp_json_append_string (s, media_type, strlen (media_type));
  g_string_append (s, ",\"digest\":");
  gp_json_append_string (s, digest, strlen (digest));
  g_string_append_printf (s, ",\"size\":%" G_GUINT64_FORMAT, size);
}

/* The image's manifest; every layer blob is written by now.  A kept one
 * as the source has it. */
static GBytes *
image_manifest (Oci *oci, GpImage *image, const char **out_media_type)
{
  if (image_is_kept (image))
    return g_bytes_ref (gp_image_get_manifest (image, out_media_type));
  *out_media_type = MT_MANIFEST;
  GBytes *config = gp_image_get_config (image);
  GPtrArray *layers = gp_image_get_layers (image);
  g_autoptr (GString) m = g_string_new ("{\"schemaVersion\":2,\"mediaType\":\"" MT_MANIFEST
                                        "\",\"config\":");
  append_desc (m, MT_CONFIG, gp_image_get_id (image), g_bytes_get_size (config));
  g_string_append (m, "},\"layers\":[");
  for (guint i = 0; i < layers->len; i++)
    {
      OciLayer *l = plan_lookup (oci, FALSE, g_ptr_array_index (layers, i));
      if (i > 0)
        g_string_append_c (m, ',');
      append_desc (m, oci->gzip ? MT_LAYER_GZIP : MT_LAYER, l->digest, l->size);
      g_string_append_c (m, '}');
    }
  g_string_append (m, "]}");
  return g_string_free_to_bytes (g_steal_pointer (&m));
}

/* Calls @put for each config and manifest blob (once per digest) and
 * returns index.json. */
typedef gboolean (*PutBlobFunc) (Oci *oci, const char *digest, GBytes *bytes, GError **error);

static GBytes *
put_images (Oci *oci, GPtrArray *images, PutBlobFunc put, GError **error)
{
  g_autoptr (GString) index = g_string_new ("{\"schemaVersion\":2,\"manifests\":[");
  gboolean first = TRUE;
  for (guint i = 0; i < images->len; i++)
    {
      GpImage *image = g_ptr_array_index (images, i);
      GBytes *config = gp_image_get_config (image);
      const char *mt = NULL;
      g_autoptr (GBytes) manifest = image_manifest (oci, image, &mt);
      gsize mlen;
      const void *mdata = g_bytes_get_data (manifest, &mlen);
      g_autofree char *mdigest = gp_sha256_digest_of (mdata, mlen);
      if (!put (oci, gp_image_get_id (image), config, error) || !put (oci, mdigest, manifest, error))
        return NULL;
      /* a kept image reached through an index: index.json names the index */
      const char *tmt = NULL;
      GBytes *target = image_is_kept (image) ? gp_image_get_target (image, &tmt) : NULL;
      if (target != NULL && tmt != NULL)
        {
          g_free (mdigest);
          const void *tdata = g_bytes_get_data (target, &mlen);
          mdigest = gp_sha256_digest_of (tdata, mlen);
          mt = tmt;
          if (!put (oci, mdigest, target, error))
            return NULL;
        }

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
          append_desc (index, mt, mdigest, mlen);
          if (ref != NULL)
            {
              n_tags++;
              g_string_append (index, ",\"annotations\":{\"" REF_NAME "\":");
              gp_json_append_string (index, ref, strlen (ref));
              g_string_append_c (index, '}');
            }
          g_string_append_c (index, '}');
        }
    }
  g_string_append (index, "]}");
  return g_string_free_to_bytes (g_steal_pointer (&index));
}

#define OCI_LAYOUT "{\"imageLayoutVersion\":\"1.0.0\"}"

/* ---- oci-dir ------------------------------------------------------------- */

static gboolean
dir_put_blob (Oci *oci, const char *digest, GBytes *bytes, GError **error)
{
  if (g_hash_table_contains (oci->written, digest))
    return TRUE;
  g_autofree char *path = blob_path (oci, digest);
  gsize len;
  const void *data = g_bytes_get_data (bytes, &len);
  if (!g_file_set_contents_full (path, data, (gssize) len, G_FILE_SET_CONTENTS_NONE, 0644, error))
    return FALSE;
  g_hash_table_add (oci->written, g_strdup (digest));
  return TRUE;
}

/* Removes the layout temporaries of @output that killed runs left: the
 * ones no live run holds the flock of. */
static void
dir_sweep (const char *parent, const char *base)
{
  g_autoptr (GDir) d = g_dir_open (parent, 0, NULL);
  const char *name;
  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      if (!te_output_is_temp_of (name, base))
        continue;
      g_autofree char *path = g_build_filename (parent, name, NULL);
      int fd = open (path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0)
        continue; /* not a directory: te-output's business */
      struct stat a, b;
      if (flock (fd, LOCK_EX | LOCK_NB) == 0 && fstat (fd, &a) == 0 && lstat (path, &b) == 0
          && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
        (void) gp_safeio_remove_tree (path, NULL);
      close (fd);
    }
}

/* Creates and locks this run's layout directory beside @output. */
static gboolean
dir_create (Oci *oci, const char *output, GError **error)
{
  g_autofree char *parent = g_path_get_dirname (output);
  g_autofree char *base = g_path_get_basename (output);
  dir_sweep (parent, base);
  for (int attempt = 0; attempt < 100; attempt++)
    {
      g_autofree char *tmp = te_output_temp_name (parent, base);
      if (g_mkdir (tmp, 0755) != 0)
        {
          if (errno == EEXIST)
            continue;
          return set_errno_error (error, errno, "cannot create", tmp);
        }
      int fd = open (tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      struct stat a, b;
      if (fd < 0 || flock (fd, LOCK_EX | LOCK_NB) != 0 || fstat (fd, &a) != 0
          || lstat (tmp, &b) != 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino)
        {
          /* another run's sweep took it between mkdir and flock */
          if (fd >= 0)
            close (fd);
          continue;
        }
      oci->dir = g_steal_pointer (&tmp);
      oci->dir_fd = fd;
      oci->blobs = g_build_filename (oci->dir, "blobs", "sha256", NULL);
      if (g_mkdir_with_parents (oci->blobs, 0755) != 0)
        return set_errno_error (error, errno, "cannot create", oci->blobs);
      return TRUE;
    }
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS, "%s: cannot create a temporary beside it",
               output);
  return FALSE;
}

static gboolean
write_dir (Oci *oci, GPtrArray *images, const char *output, GError **error)
{
  if (!dir_create (oci, output, error) || !pool_start (oci, oci->layers->len, error))
    return FALSE;
  for (guint i = 0; i < oci->layers->len; i++)
    if (!pool_push (oci, g_ptr_array_index (oci->layers, i), error))
      return FALSE;
  if (!pool_finish (oci, error))
    return FALSE;

  g_autoptr (GBytes) index = put_images (oci, images, dir_put_blob, error);
  g_autofree char *index_path = g_build_filename (oci->dir, "index.json", NULL);
  g_autofree char *layout_path = g_build_filename (oci->dir, "oci-layout", NULL);
  if (index == NULL
      || !g_file_set_contents_full (index_path, g_bytes_get_data (index, NULL),
                                    (gssize) g_bytes_get_size (index), G_FILE_SET_CONTENTS_NONE,
                                    0644, error)
      || !g_file_set_contents_full (layout_path, OCI_LAYOUT, -1, G_FILE_SET_CONTENTS_NONE, 0644,
                                    error))
    return FALSE;

  /* one sync of the file system, not one fsync per file */
  (void) syncfs (oci->dir_fd);
  gp_safeio_crash_point ("oci-export: layout complete under its temporary name");
  gboolean existed = FALSE;
  if (!gp_safeio_publish_dir (oci->dir, output, &existed, error))
    return FALSE;
  if (existed)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                   "%s: exists already (an oci-dir output is never replaced)", output);
      return FALSE;
    }
  g_clear_pointer (&oci->dir, g_free); /* published */
  return TRUE;
}

/* ---- oci-archive --------------------------------------------------------- */

static gboolean
archive_put_blob (Oci *oci, const char *digest, GBytes *bytes, GError **error)
{
  if (g_hash_table_contains (oci->written, digest))
    return TRUE;
  g_autofree char *name = g_strconcat (BLOB_PREFIX, digest + strlen ("sha256:"), NULL);
  gsize len;
  const void *data = g_bytes_get_data (bytes, &len);
  GpTarHeader h = { .name = name, .mode = 0100644, .size = (gint64) len,
                    .typeflag = GP_TAR_TYPE_REG };
  if (!gp_tar_writer_write_header (oci->tar, &h, error)
      || !gp_tar_writer_write_data (oci->tar, data, len, error))
    return FALSE;
  g_hash_table_add (oci->written, g_strdup (digest));
  return TRUE;
}

static gboolean
collect_bytes (gpointer user_data, const void *buf, gsize len, GError **error)
{
  g_byte_array_append (user_data, buf, (guint) len);
  return TRUE;
}

/* The header block of a layer blob's entry: what the stream's tar writer
 * would write for it. */
static GByteArray *
layer_header (OciLayer *layer, GError **error)
{
  g_autofree char *name = g_strconcat (BLOB_PREFIX, layer->digest + strlen ("sha256:"), NULL);
  GByteArray *bytes = g_byte_array_new ();
  g_autoptr (GpTarWriter) w = gp_tar_writer_new (collect_bytes, bytes);
  GpTarHeader h = { .name = name, .mode = 0100644, .size = (gint64) layer->size,
                    .typeflag = GP_TAR_TYPE_REG };
  if (!gp_tar_writer_write_header (w, &h, error))
    {
      g_byte_array_unref (bytes);
      return NULL;
    }
  return bytes;
}

static const guint8 zero_block[GP_TAR_BLOCK_SIZE];

/* A blob whose length is not known yet, into a positioned archive: its
 * header block set aside, the bytes streamed after it, padded, and the
 * header filled in.  The stream's tar writer has nothing pending (this
 * comes after directory headers or other such blobs). */
static gboolean
archive_backfill_layer (Oci *oci, OciLayer *layer, GError **error)
{
  guint64 header_at;
  if (!te_output_reserve (oci->out, GP_TAR_BLOCK_SIZE, &header_at, error))
    return FALSE;
  BlobSink s = { .oci = oci, .layer = layer, .kind = SINK_STREAM };
  if (!sink_layer (&s, oci->jobs, error))
    return FALSE;
  gsize pad = (GP_TAR_BLOCK_SIZE - layer->size % GP_TAR_BLOCK_SIZE) % GP_TAR_BLOCK_SIZE;
  g_autoptr (GByteArray) header = layer_header (layer, error);
  if (header == NULL || !te_output_write (oci->out, zero_block, pad, error))
    return FALSE;
  if (header->len != GP_TAR_BLOCK_SIZE)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_UNSUPPORTED,
                   "layer %s: its tar header takes %u bytes", layer->diff_id, header->len);
      return FALSE;
    }
  return te_output_pwrite (oci->out, header_at, header->data, header->len, error);
}

/* A blob whose length is not known yet, to a pipe: compressed into an
 * unnamed temporary file first, then copied into the stream. */
static gboolean
archive_spool_layer (Oci *oci, OciLayer *layer, GError **error)
{
  const char *tmpdir = g_get_tmp_dir ();
  int fd = open (tmpdir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      g_autofree char *templ = g_build_filename (tmpdir, "graphpipe-oci-XXXXXX", NULL);
      fd = g_mkstemp_full (templ, O_RDWR | O_CLOEXEC, 0600);
      if (fd < 0)
        return set_errno_error (error, errno, "cannot create a temporary file", tmpdir);
      (void) g_unlink (templ);
    }
  g_autofree char *what = g_strdup_printf ("%s (temporary file of layer %s)", tmpdir,
                                           layer->diff_id);
  BlobSink s = { .oci = oci, .layer = layer, .kind = SINK_FD, .fd = fd, .path = what };
  gboolean ok = sink_layer (&s, oci->jobs, error);
  if (ok && lseek (fd, 0, SEEK_SET) != 0)
    ok = set_errno_error (error, errno, "cannot seek", what);
  g_autofree char *name = ok ? g_strconcat (BLOB_PREFIX, layer->digest + strlen ("sha256:"), NULL)
                             : NULL;
  GpTarHeader h = { .name = name, .mode = 0100644, .size = (gint64) layer->size,
                    .typeflag = GP_TAR_TYPE_REG };
  ok = ok && gp_tar_writer_write_header (oci->tar, &h, error)
       && gp_tar_writer_copy_fd (oci->tar, fd, what, oci->cancellable, error);
  close (fd);
  return ok;
}

static gboolean
tar_data_write (gpointer user_data, const void *buf, gsize len, GError **error)
{
  return gp_tar_writer_write_data (user_data, buf, len, error);
}

/* A blob of known length: its header, then its bytes in place, or (a
 * positioned archive) its span, handed to a worker. */
static gboolean
archive_known_layer (Oci *oci, OciLayer *layer, GError **error)
{
  g_autofree char *name = g_strconcat (BLOB_PREFIX, layer->digest + strlen ("sha256:"), NULL);
  GpTarHeader h = { .name = name, .mode = 0100644, .size = (gint64) layer->size,
                    .typeflag = GP_TAR_TYPE_REG };
  if (!gp_tar_writer_write_header (oci->tar, &h, error))
    return FALSE;
  if (oci->threads != NULL)
    return gp_tar_writer_skip_data (oci->tar, layer->size, error)
           && te_output_reserve (oci->out, layer->size, &layer->offset, error)
           && pool_push (oci, layer, error);
  /* the bytes go through the tar writer, which counts and pads them */
  if (layer->kept)
    return gp_image_layer_stream_blob (layer->source, layer->image_id, tar_data_write, oci->tar,
                                       oci->cancellable, error);
  return gp_image_layer_stream (layer->source, layer->image_id, tar_data_write, oci->tar,
                                oci->cancellable, error);
}

static gboolean
write_archive (Oci *oci, GPtrArray *images, const char *output, GError **error)
{
  oci->out = te_output_open (output, FALSE, oci->jobs, oci->cancellable, error);
  if (oci->out == NULL)
    return FALSE;
  gboolean positioned = te_output_is_positioned (oci->out);
  oci->tar = gp_tar_writer_new (te_output_write, oci->out);

  g_autoptr (GBytes) layout = g_bytes_new_static (OCI_LAYOUT, strlen (OCI_LAYOUT));
  GpTarHeader oci_layout = { .name = "oci-layout", .mode = 0100644,
                             .size = (gint64) g_bytes_get_size (layout),
                             .typeflag = GP_TAR_TYPE_REG };
  GpTarHeader blobs = { .name = "blobs/", .mode = 040755, .typeflag = GP_TAR_TYPE_DIR };
  GpTarHeader sha = { .name = BLOB_PREFIX, .mode = 040755, .typeflag = GP_TAR_TYPE_DIR };
  if (!gp_tar_writer_write_header (oci->tar, &oci_layout, error)
      || !gp_tar_writer_write_data (oci->tar, OCI_LAYOUT, strlen (OCI_LAYOUT), error)
      || !gp_tar_writer_write_header (oci->tar, &blobs, error)
      || !gp_tar_writer_write_header (oci->tar, &sha, error))
    return FALSE;

  /* Blobs of unknown length first: a positioned archive writes their
   * headers itself, right after the directory headers. */
  for (guint i = 0; i < oci->layers->len; i++)
    {
      OciLayer *layer = g_ptr_array_index (oci->layers, i);
      if (layer->known)
        continue;
      if (gp_context_set_error_if_cancelled (oci->ctx, error)
          || !(positioned ? archive_backfill_layer (oci, layer, error)
                          : archive_spool_layer (oci, layer, error)))
        return FALSE;
      layer_done (oci, layer);
    }

  guint n_known = 0;
  for (guint i = 0; i < oci->layers->len; i++)
    n_known += ((OciLayer *) g_ptr_array_index (oci->layers, i))->known;
  if (positioned && n_known > 0 && !pool_start (oci, n_known, error))
    return FALSE;
  for (guint i = 0; i < oci->layers->len; i++)
    {
      OciLayer *layer = g_ptr_array_index (oci->layers, i);
      if (!layer->known)
        continue;
      if (gp_context_set_error_if_cancelled (oci->ctx, error)
          || !archive_known_layer (oci, layer, error))
        return FALSE;
      if (oci->threads == NULL)
        {
          add_progress (oci, layer, layer->size);
          layer_done (oci, layer);
        }
    }

  g_autoptr (GBytes) index = put_images (oci, images, archive_put_blob, error);
  if (index == NULL)
    return FALSE;
  GpTarHeader h = { .name = "index.json", .mode = 0100644,
                    .size = (gint64) g_bytes_get_size (index), .typeflag = GP_TAR_TYPE_REG };
  if (!gp_tar_writer_write_header (oci->tar, &h, error)
      || !gp_tar_writer_write_data (oci->tar, g_bytes_get_data (index, NULL),
                                    g_bytes_get_size (index), error)
      || !gp_tar_writer_close (oci->tar, error))
    return FALSE;
  if (oci->threads != NULL && !pool_finish (oci, error))
    return FALSE;
  if (!te_output_commit (oci->out, error))
    return FALSE;
  gp_context_add_counter (oci->ctx, "tar-bytes", (gint64) te_output_get_bytes (oci->out));
  return TRUE;
}

/* ---- the stage ----------------------------------------------------------- */

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

  Oci oci = {
    .ctx = ctx,
    .cancellable = gp_context_get_cancellable (ctx),
    .jobs = gp_context_get_jobs (ctx),
    .gzip = strcmp (gp_stage_get_string (stage, "compress"), "gzip") == 0,
    .layers = g_ptr_array_new_with_free_func ((GDestroyNotify) oci_layer_free),
    .by_diff = g_hash_table_new (g_str_hash, g_str_equal),
    .by_blob = g_hash_table_new (g_str_hash, g_str_equal),
    .written = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL),
    .dir_fd = -1,
    .fail_index = G_MAXINT,
  };
  if (oci.jobs == 0)
    oci.jobs = MAX (1, g_get_num_processors ());
  g_mutex_init (&oci.lock);
  g_cond_init (&oci.cond);

  gboolean ok = plan_layers (&oci, images, error);
  if (ok && gp_context_get_dry_run (ctx))
    gp_context_emit_item_done (ctx, output, images->len, images->len, 0,
                               "dry run: would write %u images (%u layers) as %s to %s",
                               images->len, oci.layers->len,
                               as_dir ? "an OCI layout directory" : "an OCI layout archive",
                               output);
  else if (ok)
    ok = as_dir ? write_dir (&oci, images, output, error)
                : write_archive (&oci, images, output, error);

  pool_stop (&oci);
  g_clear_pointer (&oci.queued, g_ptr_array_unref);
  g_clear_pointer (&oci.tar, gp_tar_writer_free);
  g_clear_pointer (&oci.out, te_output_free); /* removes an uncommitted file */
  if (oci.dir != NULL)
    gp_safeio_remove_tree (oci.dir, NULL);
  if (oci.dir_fd >= 0)
    close (oci.dir_fd);
  g_free (oci.dir);
  g_free (oci.blobs);
  g_ptr_array_unref (oci.layers);
  g_hash_table_unref (oci.by_diff);
  g_hash_table_unref (oci.by_blob);
  g_hash_table_unref (oci.written);
  g_mutex_clear (&oci.lock);
  g_cond_clear (&oci.cond);
  if (ok && !gp_context_get_dry_run (ctx))
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
