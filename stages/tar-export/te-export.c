/* tar-export: the `docker save` stream (FORMATS.md §7.2-§7.5).
 *
 * The images come from a source stage (the `image-set` capability, see
 * gp-images.h: docker-store for a Docker 1.10+ store), which checked the
 * store's content and knows every layer tar's length.  What this stage
 * derives (v1 IDs, layer json) is checked in a planning pass before the
 * output is opened.  The stream is
 * then written in the order Docker's archiver walks its temporary
 * directory: top-level names sorted byte-wise (layer directories with
 * VERSION, json, layer.tar; `<image-id>.json` configs), manifest.json,
 * repositories.  Each layer tar is streamed once by the source straight
 * into the output, checked against its DiffID on the way.  When the output is a regular file (positioned), the
 * planning pass has given every layer tar's offset, so up to --jobs
 * workers stream layers at once, each into its own span (pwrite), while
 * the main thread writes the rest of the stream around the spans; other
 * outputs get the layers one after the other.
 *
 * compat=20.10 writes Docker 20.10's bytes instead (doc/docker-save-20.10.md):
 * other v1 IDs and json files (te-compat.c), a DiffID's tar written once
 * and later layer directories holding it given a symlink, owner names,
 * and the saved parent images in manifest.json.
 */
#include "config.h"

#include "te-private.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* Threads measuring or rebuilding layers: at most this many, whatever
 * --jobs says (each holds a few buffers). */
#define MAX_WORKERS 8

typedef struct _TeLayer TeLayer;
struct _TeLayer {
  char *v1_id;
  char *diff_id;
  char *chain_id;
  GpImageLayer *source;  /* the source's layer (a reference) */
  const char *image_id;  /* the first image that reached it, for messages */
  guint64 tar_size;
  GBytes *json;
  gint64 mtime;
  guint32 mtime_nsec;
  /* --compat 20.10: an earlier layer directory of the save holding the
   * same DiffID; this one's layer.tar is a symlink to that one's */
  TeLayer *link_to;
};

typedef struct {
  GpImage *image; /* borrowed */
  GPtrArray *tags; /* char *, borrowed: its references that are tags */
  const char *hex;
  char *config_name; /* <hex>.json */
  GBytes *config_raw;
  GpImageConfig *config;
  GPtrArray *layers; /* TeLayer *, borrowed from the plan, bottom first */
  gint64 mtime;
  guint32 mtime_nsec;
  char *parent;      /* --compat 20.10: the store's parent image when saved too */
} TePlanImage;

typedef struct {
  const char *name; /* top-level name: v1 ID or <hex>.json */
  TeLayer *layer;
  TePlanImage *image;
} TeTop;

typedef struct {
  GpContext *ctx;
  TeCompat compat;
  gint64 now;            /* --compat 20.10: the save time (symlinked layers) */
  gint32 epoch_offset;   /* --compat 20.10: the local zone's offset at the epoch */
  GPtrArray *images;     /* TePlanImage * */
  GHashTable *layers;    /* v1 ID -> TeLayer * (owned) */
  GHashTable *by_diff;   /* DiffID -> first TeLayer * with it, save order */
  guint n_streamed;      /* layers whose tar is written (not symlinks) */
  GArray *top;           /* TeTop */
  GBytes *manifest;
  GBytes *repositories;  /* NULL when no tag was attached */
  guint jobs;            /* worker threads */
  guint64 layer_bytes;
} TePlan;

static void
te_layer_free (TeLayer *layer)
{
  g_free (layer->v1_id);
  g_free (layer->diff_id);
  g_free (layer->chain_id);
  g_clear_pointer (&layer->source, gp_image_layer_unref);
  g_clear_pointer (&layer->json, g_bytes_unref);
  g_free (layer);
}

static void
te_plan_image_free (TePlanImage *pi)
{
  g_free (pi->config_name);
  g_free (pi->parent);
  g_clear_pointer (&pi->tags, g_ptr_array_unref);
  g_clear_pointer (&pi->config_raw, g_bytes_unref);
  g_clear_pointer (&pi->config, gp_image_config_free);
  g_clear_pointer (&pi->layers, g_ptr_array_unref);
  g_free (pi);
}

static void
te_plan_clear (TePlan *plan)
{
  g_clear_pointer (&plan->images, g_ptr_array_unref);
  g_clear_pointer (&plan->layers, g_hash_table_unref);
  g_clear_pointer (&plan->by_diff, g_hash_table_unref);
  g_clear_pointer (&plan->top, g_array_unref);
  g_clear_pointer (&plan->manifest, g_bytes_unref);
  g_clear_pointer (&plan->repositories, g_bytes_unref);
}

/* Go's time range rule lives in the tar writer; we hand it seconds
 * (floor) and nanoseconds. */
static void
go_time_split (const GpGoTime *t, gint64 *out_sec, guint32 *out_nsec)
{
  *out_sec = gp_go_time_to_unix (t);
  *out_nsec = (guint32) t->nsec;
}

/* ---- planning ------------------------------------------------------------ */

/* @v1 is the record the layer's `json` file is written from (%NULL: the
 * zero V1Image); with --compat 20.10 it may differ from the one its v1 ID
 * was computed from (see plan_image). */
static gboolean
plan_layer (TePlan *plan, TePlanImage *pi, guint i, const char *v1_id, const char *chain_id,
            const GpV1Image *v1, const TeCompat2010 *v1_2010, const char *parent_v1_id,
            GError **error)
{
  TeLayer *layer = g_hash_table_lookup (plan->layers, v1_id);
  if (layer != NULL)
    {
      g_ptr_array_add (pi->layers, layer);
      return TRUE;
    }

  const GString *diff_id = g_ptr_array_index (pi->config->diff_ids, i);
  GpImageLayer *source = g_ptr_array_index (gp_image_get_layers (pi->image), i);
  layer = g_new0 (TeLayer, 1);
  layer->v1_id = g_strdup (v1_id);
  layer->diff_id = g_strndup (diff_id->str, diff_id->len);
  layer->chain_id = g_strdup (chain_id);
  layer->source = gp_image_layer_ref (source);
  layer->image_id = gp_image_get_id (pi->image);
  layer->mtime = pi->mtime;
  layer->mtime_nsec = pi->mtime_nsec;
  g_hash_table_insert (plan->layers, layer->v1_id, layer);
  g_ptr_array_add (pi->layers, layer);

  layer->json = v1_2010 != NULL
                  ? te_compat_2010_layer_json (v1_2010, v1, v1_id, parent_v1_id, error)
                  : gp_v1image_layer_json (v1, v1_id, parent_v1_id, error);
  if (layer->json == NULL)
    return FALSE;

  if (g_strcmp0 (gp_image_layer_get_diff_id (source), layer->diff_id) != 0)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_VERIFY,
                   "image %s: layer %u: the source's layer has diff %s, the config says %s",
                   gp_image_get_id (pi->image), i, gp_image_layer_get_diff_id (source),
                   layer->diff_id);
      return FALSE;
    }
  /* Docker 20.10 writes each DiffID's tar once: later layer directories
   * holding it get a symlink to the first one's layer.tar, and the save
   * time as the mtime of everything in them (Docker sets no time there). */
  if (plan->compat == TE_COMPAT_20_10)
    {
      TeLayer *first = g_hash_table_lookup (plan->by_diff, layer->diff_id);
      if (first != NULL)
        {
          layer->link_to = first;
          layer->mtime = plan->now;
          layer->mtime_nsec = 0;
          return TRUE;
        }
      g_hash_table_insert (plan->by_diff, layer->diff_id, layer);
    }
  plan->n_streamed++;

  /* the header precedes the data: the length must be known */
  gint64 size = gp_image_layer_get_size (source);
  if (size < 0)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_UNSUPPORTED,
                   "image %s: layer %s: its length is not known before streaming "
                   "- not implemented", gp_image_get_id (pi->image), layer->diff_id);
      return FALSE;
    }
  layer->tar_size = (guint64) size;
  plan->layer_bytes += layer->tar_size;
  return TRUE;
}

/* ---- --compat 20.10 ---------------------------------------------------- */

/* Seconds from Go's internal epoch (0001-01-01) to the Unix epoch. */
#define GO_UNIX_EPOCH G_GINT64_CONSTANT (62135596800)

/* The offset from UTC of Go's time.Local at the Unix epoch, as the daemon
 * would have it on this machine: the zone of TZ (empty: UTC, as Go reads
 * it), else of /etc/localtime. */
static gint32
local_offset_at_epoch (void)
{
  const char *tz = g_getenv ("TZ");
  GTimeZone *zone = tz != NULL && *tz == '\0' ? g_time_zone_new_utc () : g_time_zone_new_local ();
  gint interval = g_time_zone_find_interval (zone, G_TIME_TYPE_UNIVERSAL, 0);
  gint32 offset = interval >= 0 ? g_time_zone_get_offset (zone, interval) : 0;
  g_time_zone_unref (zone);
  return offset;
}

/* Docker 20.10's record for a layer below an image's top:
 * V1Image{Created: time.Unix(0, 0)}, a time in the daemon's local zone
 * (doc/docker-save-20.10.md), with @os copied in for the json file only. */
static GpV1Image *
epoch_v1image (const GString *os, gint32 offset)
{
  GpV1Image *img = gp_v1image_new ();
  img->created.sec = GO_UNIX_EPOCH;
  img->created.offset = offset;
  if (os != NULL && os->len > 0)
    img->os = g_string_new_len (os->str, (gssize) os->len);
  return img;
}

/* Docker 20.10 names an image's parent (the source's record:
 * gp_image_get_parent()) in the manifest when the parent is saved too. */
static gboolean
compat_2010_parents (TePlan *plan, GError **error)
{
  for (guint i = 0; i < plan->images->len; i++)
    {
      TePlanImage *pi = g_ptr_array_index (plan->images, i);
      const char *parent = gp_image_get_parent (pi->image);
      if (parent == NULL || strcmp (parent, gp_image_get_id (pi->image)) == 0)
        continue;
      for (guint j = 0; j < plan->images->len; j++)
        {
          TePlanImage *pj = g_ptr_array_index (plan->images, j);
          if (strcmp (gp_image_get_id (pj->image), parent) == 0)
            {
              pi->parent = g_strdup (parent);
              break;
            }
        }
    }
  return TRUE;
}

static gboolean
plan_image (TePlan *plan, GpImage *gimage, GError **error)
{
  const char *image_id = gp_image_get_id (gimage);
  /* sources check IDs; they are sliced here, so check again */
  if (!gp_digest_check_sha256 (image_id, -1, error))
    {
      g_prefix_error (error, "image ID %s: ", image_id);
      return FALSE;
    }
  TePlanImage *pi = g_new0 (TePlanImage, 1);
  g_ptr_array_add (plan->images, pi);
  pi->image = gimage;
  pi->hex = image_id + strlen ("sha256:");
  pi->config_name = g_strconcat (pi->hex, ".json", NULL);
  pi->layers = g_ptr_array_new ();
  pi->tags = g_ptr_array_new ();
  GPtrArray *refs = gp_image_get_references (gimage);
  for (guint i = 0; i < refs->len; i++)
    if (strchr (g_ptr_array_index (refs, i), '@') == NULL)
      g_ptr_array_add (pi->tags, g_ptr_array_index (refs, i));

  if (gp_image_get_config (gimage) == NULL)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING, "image %s: no config",
                   image_id);
      return FALSE;
    }
  pi->config_raw = g_bytes_ref (gp_image_get_config (gimage));
  gsize len;
  const char *data = g_bytes_get_data (pi->config_raw, &len);
  pi->config = gp_image_config_parse (data, len, error);
  if (pi->config == NULL)
    {
      g_prefix_error (error, "image %s: ", image_id);
      return FALSE;
    }
  guint n = pi->config->diff_ids ? pi->config->diff_ids->len : 0;
  if (n == 0)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_UNSUPPORTED,
                   "image %s has no layers: empty export - not implemented "
                   "(docker save refuses images without layers too)", image_id);
      return FALSE;
    }
  if (gp_image_get_layers (gimage)->len != n)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_VERIFY,
                   "image %s: the source gives %u layers, the config %u diff_ids", image_id,
                   gp_image_get_layers (gimage)->len, n);
      return FALSE;
    }
  go_time_split (&pi->config->v1.created, &pi->mtime, &pi->mtime_nsec);

  g_autoptr (GpV1Image) lower_id = NULL;
  g_autoptr (GpV1Image) lower_json = NULL;
  g_autoptr (TeCompat2010) top_2010 = NULL;
  if (plan->compat == TE_COMPAT_20_10)
    {
      /* Docker 20.10 dates its files with `created`, clamped to the epoch
       * outside [1970, 2262); a time past what the ustar field holds
       * (2242) it writes with a PAX record, which we do not. */
      if (pi->mtime > G_GINT64_CONSTANT (077777777777)
          && pi->mtime < G_GINT64_CONSTANT (9223372036))
        {
          g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_UNSUPPORTED,
                       "image %s: created %" G_GINT64_FORMAT " s after 1970, past what a "
                       "ustar header holds: Docker 20.10's PAX mtime record - not implemented",
                       image_id, pi->mtime);
          return FALSE;
        }
      top_2010 = te_compat_2010_new (pi->config_raw, error);
      if (top_2010 == NULL)
        {
          g_prefix_error (error, "image %s: config: ", image_id);
          return FALSE;
        }
      lower_id = epoch_v1image (NULL, plan->epoch_offset);
      lower_json = epoch_v1image (pi->config->v1.os, plan->epoch_offset);
    }

  g_autofree char *chain = NULL;
  g_autofree char *parent_digest = NULL; /* previous layer's v1 digest */
  for (guint i = 0; i < n; i++)
    {
      const GString *diff_id = g_ptr_array_index (pi->config->diff_ids, i);
      if (!gp_digest_check_sha256 (diff_id->str, diff_id->len, error))
        {
          g_prefix_error (error, "image %s: diff_ids[%u]: ", image_id, i);
          return FALSE;
        }
      char *next = i == 0 ? g_strndup (diff_id->str, diff_id->len)
                          : gp_chain_id (chain, diff_id->str);
      g_free (chain);
      chain = next;

      /* the image's own V1Image for the top layer, the zero one below;
       * Docker 20.10's lower record is created at the Unix epoch and its
       * json file (not its ID) carries the image's os */
      const GpV1Image *v1 = i == n - 1 ? &pi->config->v1 : lower_id;
      const GpV1Image *json_v1 = i == n - 1 ? &pi->config->v1 : lower_json;
      const TeCompat2010 *v1_2010 = i == n - 1 ? top_2010 : NULL;
      g_autofree char *digest = v1_2010 != NULL
                                  ? te_compat_2010_create_id (v1_2010, v1, chain, parent_digest,
                                                              error)
                                  : gp_v1image_create_id (v1, chain, parent_digest, error);
      if (digest == NULL)
        {
          g_prefix_error (error, "image %s: layer %u: ", image_id, i);
          return FALSE;
        }
      const char *parent_v1 = parent_digest ? parent_digest + strlen ("sha256:") : NULL;
      if (!plan_layer (plan, pi, i, digest + strlen ("sha256:"), chain, json_v1, v1_2010,
                       parent_v1, error))
        return FALSE;
      g_free (parent_digest);
      parent_digest = g_steal_pointer (&digest);
    }
  return TRUE;
}

static int
top_compare (gconstpointer a, gconstpointer b)
{
  return strcmp (((const TeTop *) a)->name, ((const TeTop *) b)->name);
}

static GBytes *
build_manifest (TePlan *plan)
{
  GString *s = g_string_new ("[");
  for (guint i = 0; i < plan->images->len; i++)
    {
      TePlanImage *pi = g_ptr_array_index (plan->images, i);
      if (i > 0)
        g_string_append_c (s, ',');
      g_string_append (s, "{\"Config\":");
      gp_json_append_string (s, pi->config_name, strlen (pi->config_name));
      g_string_append (s, ",\"RepoTags\":");
      if (pi->tags->len == 0)
        g_string_append (s, "null");
      else
        {
          g_string_append_c (s, '[');
          for (guint j = 0; j < pi->tags->len; j++)
            {
              const char *tag = g_ptr_array_index (pi->tags, j);
              if (j > 0)
                g_string_append_c (s, ',');
              gp_json_append_string (s, tag, strlen (tag));
            }
          g_string_append_c (s, ']');
        }
      g_string_append (s, ",\"Layers\":[");
      for (guint j = 0; j < pi->layers->len; j++)
        {
          TeLayer *layer = g_ptr_array_index (pi->layers, j);
          g_autofree char *path = g_strconcat (layer->v1_id, "/layer.tar", NULL);
          if (j > 0)
            g_string_append_c (s, ',');
          gp_json_append_string (s, path, strlen (path));
        }
      g_string_append_c (s, ']');
      if (pi->parent != NULL)
        {
          g_string_append (s, ",\"Parent\":");
          gp_json_append_string (s, pi->parent, strlen (pi->parent));
        }
      g_string_append_c (s, '}');
    }
  g_string_append (s, "]\n");
  return g_string_free_to_bytes (s);
}

/* `repositories`: {"<name>":{"<tag>":"<top v1 id>"}} with sorted keys, or
 * NULL when no tag was attached. */
static int
compare_keys (gconstpointer a, gconstpointer b, gpointer user_data)
{
  return strcmp (a, b);
}

static GBytes *
build_repositories (TePlan *plan)
{
  g_autoptr (GTree) repos = g_tree_new_full (compare_keys, NULL, g_free,
                                             (GDestroyNotify) g_tree_unref);
  for (guint i = 0; i < plan->images->len; i++)
    {
      TePlanImage *pi = g_ptr_array_index (plan->images, i);
      TeLayer *top = g_ptr_array_index (pi->layers, pi->layers->len - 1);
      for (guint j = 0; j < pi->tags->len; j++)
        {
          const char *ref = g_ptr_array_index (pi->tags, j);
          const char *colon = strrchr (ref, ':');
          g_assert (colon != NULL);
          g_autofree char *name = g_strndup (ref, colon - ref);
          GTree *tags = g_tree_lookup (repos, name);
          if (tags == NULL)
            {
              tags = g_tree_new_full (compare_keys, NULL, g_free, NULL);
              g_tree_insert (repos, g_strdup (name), tags);
            }
          g_tree_replace (tags, g_strdup (colon + 1), top->v1_id);
        }
    }
  if (g_tree_nnodes (repos) == 0)
    return NULL;

  GString *s = g_string_new ("{");
  gboolean first_repo = TRUE;
  for (GTreeNode *rn = g_tree_node_first (repos); rn; rn = g_tree_node_next (rn))
    {
      const char *name = g_tree_node_key (rn);
      GTree *tags = g_tree_node_value (rn);
      if (!first_repo)
        g_string_append_c (s, ',');
      first_repo = FALSE;
      gp_json_append_string (s, name, strlen (name));
      g_string_append (s, ":{");
      gboolean first_tag = TRUE;
      for (GTreeNode *tn = g_tree_node_first (tags); tn; tn = g_tree_node_next (tn))
        {
          const char *tag = g_tree_node_key (tn);
          const char *v1 = g_tree_node_value (tn);
          if (!first_tag)
            g_string_append_c (s, ',');
          first_tag = FALSE;
          gp_json_append_string (s, tag, strlen (tag));
          g_string_append_c (s, ':');
          gp_json_append_string (s, v1, strlen (v1));
        }
      g_string_append_c (s, '}');
    }
  g_string_append (s, "}\n");
  return g_string_free_to_bytes (s);
}

static gboolean
make_plan (TePlan *plan, GPtrArray *images, GError **error)
{
  plan->images = g_ptr_array_new_with_free_func ((GDestroyNotify) te_plan_image_free);
  plan->layers = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                        (GDestroyNotify) te_layer_free);
  plan->by_diff = g_hash_table_new (g_str_hash, g_str_equal);
  plan->top = g_array_new (FALSE, TRUE, sizeof (TeTop));
  plan->now = g_get_real_time () / G_USEC_PER_SEC;
  if (plan->compat == TE_COMPAT_20_10)
    plan->epoch_offset = local_offset_at_epoch ();

  for (guint i = 0; i < images->len; i++)
    if (!plan_image (plan, g_ptr_array_index (images, i), error))
      return FALSE;
  if (plan->compat == TE_COMPAT_20_10 && !compat_2010_parents (plan, error))
    return FALSE;

  for (guint i = 0; i < plan->images->len; i++)
    {
      TePlanImage *pi = g_ptr_array_index (plan->images, i);
      TeTop t = { .name = pi->config_name, .image = pi };
      g_array_append_val (plan->top, t);
    }
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init (&it, plan->layers);
  while (g_hash_table_iter_next (&it, NULL, &value))
    {
      TeLayer *layer = value;
      TeTop t = { .name = layer->v1_id, .layer = layer };
      g_array_append_val (plan->top, t);
    }
  g_array_sort (plan->top, top_compare);

  plan->manifest = build_manifest (plan);
  plan->repositories = build_repositories (plan);
  return TRUE;
}

/* ---- writing ------------------------------------------------------------- */

/* Progress events within layers, every this many bytes. */
#define PROGRESS_STEP (64 * 1024 * 1024)
/* A worker's write buffer; chunks at least DIRECT_MIN long bypass it. */
#define SINK_BUFFER (256 * 1024)
#define DIRECT_MIN (64 * 1024)
/* -o files: start writeback every this many bytes of a layer. */
#define WRITEBACK_STEP (32 * 1024 * 1024)

typedef struct _TePool TePool;

typedef struct {
  TePlan *plan;
  TeOutput *out;
  GpTarWriter *tar;
  TePool *pool;           /* positioned output: layers written by workers */
  TeLayer *layer;         /* being written (sequential) */
  guint64 layers_done;
  guint64 bytes_done;     /* layer bytes written so far */
  guint64 next_progress;
} TeWriter;

/* One layer tar, written by a worker into its span of a positioned
 * output. */
typedef struct _TeJob {
  TePool *pool;
  TeLayer *layer;
  guint index;            /* in stream order */
  guint64 offset;         /* stream offset of its first byte */
  guint64 pos;            /* where buf[0] goes */
  guint64 synced;         /* writeback started up to here */
  guint8 *buf;
  gsize len;
  gboolean done;
  GError *error;
  /* an earlier job writing the same DiffID: its span is copied, not
   * rebuilt (Docker 1.10.3's layout holds a layer once per v1 ID) */
  struct _TeJob *copy_of;
} TeJob;

struct _TePool {
  TeWriter *w;
  GThreadPool *threads;
  GPtrArray *jobs;        /* TeJob *, stream order */
  GMutex lock;
  GCond cond;
  guint fail_index;       /* lowest index of a failed job; G_MAXINT: none */
  gint stop;              /* the stream failed around the layers: drop all */
  GPtrArray *spare;       /* free write buffers */
  GHashTable *first_job;  /* DiffID -> the first TeJob * writing it */
};

/* Docker 20.10's archiver looks the owner names up (root); 1.10.3's left
 * them empty. */
static const char *
owner_name (TeWriter *w)
{
  return w->plan->compat == TE_COMPAT_20_10 ? "root" : NULL;
}

static gboolean
write_file (TeWriter *w, const char *name, GBytes *content, gint64 mtime, guint32 nsec,
            GError **error)
{
  gsize len;
  const void *data = g_bytes_get_data (content, &len);
  GpTarHeader h = {
    .name = name,
    .uname = owner_name (w),
    .gname = owner_name (w),
    .mode = 0100644,
    .size = (gint64) len,
    .mtime = mtime,
    .mtime_nsec = nsec,
    .typeflag = GP_TAR_TYPE_REG,
  };
  return gp_tar_writer_write_header (w->tar, &h, error)
         && gp_tar_writer_write_data (w->tar, data, len, error);
}

static gboolean
write_dir (TeWriter *w, const char *name, gint64 mtime, guint32 nsec, GError **error)
{
  GpTarHeader h = {
    .name = name,
    .uname = owner_name (w),
    .gname = owner_name (w),
    .mode = 040755,
    .mtime = mtime,
    .mtime_nsec = nsec,
    .typeflag = GP_TAR_TYPE_DIR,
  };
  return gp_tar_writer_write_header (w->tar, &h, error);
}

/* Streams @layer's tar from the source into @write, verified against
 * its length and DiffID.  Any thread. */
static gboolean
assemble_layer (TePlan *plan, TeLayer *layer, GpWriteFunc write, gpointer write_data,
                GError **error)
{
  return gp_image_layer_stream (layer->source, layer->image_id, write, write_data,
                                gp_context_get_cancellable (plan->ctx), error);
}

static void
layer_done (TeWriter *w, TeLayer *layer)
{
  TePlan *plan = w->plan;
  w->layers_done++;
  gp_context_add_counter (plan->ctx, "layers", 1);
  gp_context_add_counter (plan->ctx, "layer-bytes", (gint64) layer->tar_size);
  gp_context_emit_item_done (plan->ctx, layer->diff_id, w->layers_done,
                             plan->n_streamed, layer->tar_size,
                             "layer %s/layer.tar (%" G_GUINT64_FORMAT " bytes)",
                             layer->v1_id, layer->tar_size);
}

/* Counts @len more layer bytes written; called with the pool's lock held
 * when there is a pool. */
static void
add_progress (TeWriter *w, TeLayer *layer, guint64 len)
{
  w->bytes_done += len;
  if (w->bytes_done >= w->next_progress)
    {
      w->next_progress = w->bytes_done + PROGRESS_STEP;
      gp_context_emit_progress (w->plan->ctx, layer->diff_id, w->bytes_done,
                                w->plan->layer_bytes, w->bytes_done);
    }
}

/* ---- sequential: the layer tar goes through the tar writer ---- */

static gboolean
tar_data_write (gpointer user_data, const void *buf, gsize len, GError **error)
{
  TeWriter *w = user_data;
  if (!gp_tar_writer_write_data (w->tar, buf, len, error))
    return FALSE;
  add_progress (w, w->layer, len);
  return TRUE;
}

/* ---- positioned: layer tars written by workers into their spans ---- */

static gboolean
job_flush (TeJob *job, GError **error)
{
  if (job->len == 0)
    return TRUE;
  gsize n = job->len;
  job->len = 0;
  guint64 pos = job->pos;
  job->pos += n;
  return te_output_pwrite (job->pool->w->out, pos, job->buf, n, error);
}

/* Reports written bytes; starts writeback of -o files every so often. */
static void
job_account (TeJob *job, guint64 len)
{
  TePool *pool = job->pool;
  g_mutex_lock (&pool->lock);
  add_progress (pool->w, job->layer, len);
  g_mutex_unlock (&pool->lock);
  if (job->pos - job->synced >= WRITEBACK_STEP)
    {
      te_output_start_writeback (pool->w->out, job->synced, job->pos - job->synced);
      job->synced = job->pos;
    }
}

static gboolean
job_write (gpointer user_data, const void *buf, gsize len, GError **error)
{
  TeJob *job = user_data;
  TePool *pool = job->pool;

  if ((guint) g_atomic_int_get (&pool->fail_index) < job->index
      || g_atomic_int_get (&pool->stop))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                           "abandoned after an earlier failure");
      return FALSE;
    }
  if (len >= DIRECT_MIN || job->len + len > SINK_BUFFER)
    {
      guint64 before = job->pos;
      if (!job_flush (job, error))
        return FALSE;
      if (len >= DIRECT_MIN)
        {
          guint64 pos = job->pos;
          job->pos += len;
          if (!te_output_pwrite (pool->w->out, pos, buf, len, error))
            return FALSE;
        }
      job_account (job, job->pos - before);
      if (len >= DIRECT_MIN)
        return TRUE;
    }
  memcpy (job->buf + job->len, buf, len);
  job->len += len;
  return TRUE;
}

/* A layer tar the stream already holds under another v1 ID: once the
 * earlier job has written (and verified) its span, the same bytes are
 * copied from there (in the kernel where it can) instead of being
 * rebuilt and hashed again.  The earlier job cannot be waiting behind
 * this one: the pool hands jobs out in the order they were pushed. */
static gboolean
job_copy (TeJob *job, GError **error)
{
  TePool *pool = job->pool;
  TeJob *src = job->copy_of;
  g_mutex_lock (&pool->lock);
  while (!src->done)
    g_cond_wait (&pool->cond, &pool->lock);
  g_mutex_unlock (&pool->lock);
  if ((guint) g_atomic_int_get (&pool->fail_index) < job->index
      || g_atomic_int_get (&pool->stop))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                           "abandoned after an earlier failure");
      return FALSE;
    }
  guint64 len = job->layer->tar_size;
  if (!te_output_copy (pool->w->out, src->offset, job->offset, len, error))
    return FALSE;
  job->pos = job->offset + len;
  job_account (job, len);
  return TRUE;
}

static void
job_run (gpointer data, gpointer user_data)
{
  TeJob *job = data;
  TePool *pool = user_data;
  GError *error = NULL;
  gboolean ok = TRUE;

  if ((guint) g_atomic_int_get (&pool->fail_index) < job->index
      || g_atomic_int_get (&pool->stop))
    {
      ok = FALSE;
      g_set_error_literal (&error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                           "skipped after an earlier failure");
    }
  else
    {
      g_mutex_lock (&pool->lock);
      job->buf = pool->spare->len > 0 ? g_ptr_array_steal_index_fast (pool->spare,
                                                                       pool->spare->len - 1)
                                      : NULL;
      g_mutex_unlock (&pool->lock);
      job->pos = job->synced = job->offset;
      if (job->copy_of != NULL)
        ok = job_copy (job, &error);
      else
        {
          if (job->buf == NULL)
            job->buf = g_malloc (SINK_BUFFER);
          ok = assemble_layer (pool->w->plan, job->layer, job_write, job, &error);
        }
      if (ok)
        {
          guint64 before = job->pos;
          ok = job_flush (job, &error);
          job_account (job, job->pos - before);
        }
      if (ok)
        te_output_start_writeback (pool->w->out, job->synced, job->pos - job->synced);
    }

  g_mutex_lock (&pool->lock);
  if (job->buf != NULL)
    g_ptr_array_add (pool->spare, g_steal_pointer (&job->buf));
  job->done = TRUE;
  if (!ok && job->index < (guint) g_atomic_int_get (&pool->fail_index))
    g_atomic_int_set (&pool->fail_index, (gint) job->index);
  job->error = error;
  g_cond_broadcast (&pool->cond);
  g_mutex_unlock (&pool->lock);
}

static void
te_job_free (TeJob *job)
{
  g_clear_error (&job->error);
  g_free (job->buf);
  g_free (job);
}

static TePool *
pool_new (TeWriter *w, GError **error)
{
  TePlan *plan = w->plan;
  guint n = MIN (MIN (plan->jobs, MAX_WORKERS), MAX (plan->n_streamed, 1));
  TePool *pool = g_new0 (TePool, 1);
  pool->w = w;
  pool->jobs = g_ptr_array_new_with_free_func ((GDestroyNotify) te_job_free);
  pool->spare = g_ptr_array_new_with_free_func (g_free);
  pool->first_job = g_hash_table_new (g_str_hash, g_str_equal);
  pool->fail_index = G_MAXINT;
  g_mutex_init (&pool->lock);
  g_cond_init (&pool->cond);
  pool->threads = g_thread_pool_new (job_run, pool, (gint) n, FALSE, error);
  if (pool->threads == NULL)
    {
      g_ptr_array_unref (pool->jobs);
      g_ptr_array_unref (pool->spare);
      g_hash_table_unref (pool->first_job);
      g_mutex_clear (&pool->lock);
      g_cond_clear (&pool->cond);
      g_free (pool);
      return NULL;
    }
  return pool;
}

/* Makes the workers drop what is left (after a failure of the stream
 * around the layers) and waits for them. */
static void
pool_stop (TePool *pool)
{
  if (pool->threads == NULL)
    return;
  g_atomic_int_set (&pool->stop, 1);
  g_thread_pool_free (g_steal_pointer (&pool->threads), FALSE, TRUE);
}

/* Waits for the layers in stream order, reporting each as done; on a
 * failure, waits for the rest and returns the first layer's error. */
static gboolean
pool_finish (TePool *pool, GError **error)
{
  TeWriter *w = pool->w;
  GError *failure = NULL;
  for (guint i = 0; i < pool->jobs->len && failure == NULL; i++)
    {
      TeJob *job = g_ptr_array_index (pool->jobs, i);
      g_mutex_lock (&pool->lock);
      while (!job->done)
        g_cond_wait (&pool->cond, &pool->lock);
      g_mutex_unlock (&pool->lock);
      if (job->error != NULL)
        failure = g_steal_pointer (&job->error);
      else
        {
          if (job->copy_of != NULL)
            gp_context_add_counter (w->plan->ctx, "layer-copies", 1);
          layer_done (w, job->layer);
        }
    }
  g_thread_pool_free (g_steal_pointer (&pool->threads), FALSE, TRUE);
  if (failure != NULL)
    {
      g_propagate_error (error, failure);
      return FALSE;
    }
  return TRUE;
}

static void
pool_free (TePool *pool)
{
  if (pool == NULL)
    return;
  pool_stop (pool);
  g_ptr_array_unref (pool->jobs);
  g_ptr_array_unref (pool->spare);
  g_hash_table_unref (pool->first_job);
  g_mutex_clear (&pool->lock);
  g_cond_clear (&pool->cond);
  g_free (pool);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TePool, pool_free)

static gboolean
write_layer_tar (TeWriter *w, TeLayer *layer, GError **error)
{
  g_autofree char *name = g_strconcat (layer->v1_id, "/layer.tar", NULL);
  if (layer->link_to != NULL)
    {
      g_autofree char *target = g_strconcat ("../", layer->link_to->v1_id, "/layer.tar", NULL);
      GpTarHeader link = {
        .name = name,
        .linkname = target,
        .uname = owner_name (w),
        .gname = owner_name (w),
        .mode = 0120777,
        .mtime = layer->mtime,
        .mtime_nsec = layer->mtime_nsec,
        .typeflag = GP_TAR_TYPE_SYMLINK,
      };
      return gp_tar_writer_write_header (w->tar, &link, error);
    }
  GpTarHeader h = {
    .name = name,
    .uname = owner_name (w),
    .gname = owner_name (w),
    .mode = 0100644,
    .size = (gint64) layer->tar_size,
    .mtime = layer->mtime,
    .mtime_nsec = layer->mtime_nsec,
    .typeflag = GP_TAR_TYPE_REG,
  };
  if (!gp_tar_writer_write_header (w->tar, &h, error))
    return FALSE;

  if (w->pool != NULL)
    {
      /* Set the span aside and go on with the stream: a worker fills it. */
      TeJob *job = g_new0 (TeJob, 1);
      job->pool = w->pool;
      job->layer = layer;
      job->index = w->pool->jobs->len;
      if (!gp_tar_writer_skip_data (w->tar, layer->tar_size, error)
          || !te_output_reserve (w->out, layer->tar_size, &job->offset, error))
        {
          g_free (job);
          return FALSE;
        }
      TeJob *first = g_hash_table_lookup (w->pool->first_job, layer->diff_id);
      if (first != NULL && first->layer->tar_size == layer->tar_size
          && te_output_can_copy (w->out))
        job->copy_of = first;
      else if (first == NULL)
        g_hash_table_insert (w->pool->first_job, layer->diff_id, job);
      g_ptr_array_add (w->pool->jobs, job);
      return g_thread_pool_push (w->pool->threads, job, error);
    }

  w->layer = layer;
  gboolean ok = assemble_layer (w->plan, layer, tar_data_write, w, error);
  w->layer = NULL;
  if (ok)
    layer_done (w, layer);
  return ok;
}

static gboolean
write_layer_dir (TeWriter *w, TeLayer *layer, GError **error)
{
  g_autofree char *dir = g_strconcat (layer->v1_id, "/", NULL);
  g_autofree char *version = g_strconcat (layer->v1_id, "/VERSION", NULL);
  g_autofree char *json = g_strconcat (layer->v1_id, "/json", NULL);
  g_autoptr (GBytes) v = g_bytes_new_static ("1.0", 3);

  return write_dir (w, dir, layer->mtime, layer->mtime_nsec, error)
         && write_file (w, version, v, layer->mtime, layer->mtime_nsec, error)
         && write_file (w, json, layer->json, layer->mtime, layer->mtime_nsec, error)
         && write_layer_tar (w, layer, error);
}

static gboolean
write_entries (TeWriter *w, GError **error)
{
  TePlan *plan = w->plan;
  for (guint i = 0; i < plan->top->len; i++)
    {
      TeTop *t = &g_array_index (plan->top, TeTop, i);
      if (gp_context_set_error_if_cancelled (plan->ctx, error))
        return FALSE;
      if (t->layer != NULL)
        {
          if (!write_layer_dir (w, t->layer, error))
            return FALSE;
        }
      else if (!write_file (w, t->name, t->image->config_raw, t->image->mtime,
                            t->image->mtime_nsec, error))
        return FALSE;
    }
  if (!write_file (w, "manifest.json", plan->manifest, 0, 0, error))
    return FALSE;
  if (plan->repositories != NULL
      && !write_file (w, "repositories", plan->repositories, 0, 0, error))
    return FALSE;
  return gp_tar_writer_close (w->tar, error);
}

/* Writes the stream.  To a positioned output, the layer tars (nearly all
 * the bytes) are rebuilt by up to --jobs workers at once, each into its
 * own span, while this thread writes everything around them; otherwise
 * (a pipe, gzip) they are rebuilt one after the other in stream order. */
static gboolean
write_stream (TePlan *plan, TeOutput *out, GError **error)
{
  g_autoptr (GpTarWriter) tar = gp_tar_writer_new (te_output_write, out);
  TeWriter w = { .plan = plan, .out = out, .tar = tar };
  g_autoptr (TePool) pool = NULL;

  if (te_output_is_positioned (out))
    {
      pool = pool_new (&w, error);
      if (pool == NULL)
        return FALSE;
      w.pool = pool;
    }
  if (!write_entries (&w, error))
    return FALSE; /* the pool's workers are stopped when it is freed */
  return pool == NULL || pool_finish (pool, error);
}

/**
 * te_export:
 * @ctx: the run's context
 * @images: (element-type GpImage): the source's images, in save order
 * @output: a file name or `-`
 * @gzip: compress the stream
 * @compat: whose `docker save` bytes: Docker 1.10.3's or 20.10's
 * @error: return location for a #GError
 *
 * Plans and writes the `docker save` tarball.
 */
gboolean
te_export (GpContext *ctx, GPtrArray *images, const char *output, gboolean gzip,
           TeCompat compat, GError **error)
{
  TePlan plan = { .ctx = ctx, .compat = compat, .jobs = gp_context_get_jobs (ctx) };

  if (!make_plan (&plan, images, error))
    {
      te_plan_clear (&plan);
      return FALSE;
    }

  if (gp_context_get_dry_run (ctx))
    {
      /* Everything was checked except the layer files' contents. */
      for (guint i = 0; i < plan.images->len; i++)
        {
          TePlanImage *pi = g_ptr_array_index (plan.images, i);
          gp_context_emit_item_done (ctx, gp_image_get_id (pi->image), i + 1, plan.images->len, 0,
                                     "would save image %s (%u layers)", gp_image_get_id (pi->image),
                                     pi->layers->len);
        }
      gp_context_emit_item_done (ctx, output, plan.images->len, plan.images->len,
                                 plan.layer_bytes,
                                 "dry run: would write %u layers, %" G_GUINT64_FORMAT
                                 " layer bytes, to %s%s",
                                 plan.n_streamed, plan.layer_bytes, output,
                                 gzip ? " (gzip)" : "");
      te_plan_clear (&plan);
      return TRUE;
    }

  g_autoptr (TeOutput) out = te_output_open (output, gzip, gp_context_get_jobs (ctx),
                                             gp_context_get_cancellable (ctx), error);
  gboolean ok = out != NULL && write_stream (&plan, out, error) && te_output_commit (out, error);
  if (ok)
    {
      gp_context_add_counter (ctx, "images", plan.images->len);
      gp_context_add_counter (ctx, "tar-bytes", (gint64) te_output_get_bytes (out));
    }
  te_plan_clear (&plan);
  return ok;
}
