/* containerd: a source of `graphpipe save` reading a containerd root
 * (Kubernetes nodes, Docker's containerd image store) with no containerd
 * running.
 *
 * The names and targets are in the bbolt database
 * io.containerd.metadata.v1.bolt/meta.db (read with gp-bbolt.h):
 *   v1/<namespace>/images/<name>/target/{digest, mediatype, size}
 * (size a Go varint), the blobs in
 * io.containerd.content.v1.content/blobs/sha256/<hex>.  Each name's target
 * (an index or manifest list: the manifest for the platform asked for, by
 * default the host's) leads to a manifest, its config and its layers
 * (read by gp-oci-manifest.h: known media types, sha256 digests only).
 * Every blob read is checked against its digest and size; each layer is
 * decompressed (gzip, zstd) once before any sink runs, to learn its tar's
 * length and check it against the config's DiffID, and again when a sink
 * streams it.  The manifest and index bytes and the layer blobs go to the
 * sinks as they are (gp_image_set_manifest(), gp_image_set_target(),
 * gp_image_layer_set_blob()): the OCI sink re-exports them byte for byte.
 *
 * The root is --root itself, or found under it: <root>/containerd/daemon
 * (a Docker data root whose dockerd ran its own containerd),
 * <root>/containerd and <root>/docker/containerd/daemon (a disk's
 * /var/lib).  Context variables (CLI options): `namespace` (default: the
 * one holding the name; several = an error listing them), `platform`
 * (os/arch[/variant]), `allow_rebuild`.
 */
#include "config.h"

#include <graphpipe.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <zlib.h>
#include <zstd.h>

#define META_DB "io.containerd.metadata.v1.bolt/meta.db"
#define BLOBS "io.containerd.content.v1.content/blobs/sha256"
/* Manifests, indexes and configs are read whole: at most this long. */
#define MAX_JSON_BLOB (16 * 1024 * 1024)
#define CHUNK (256 * 1024)
#define MAX_WORKERS 8

static const GpOption options[] = {
  { .key = "images", .type = GP_OPTION_STRING, .flags = GP_OPTION_FLAG_REQUIRED,
    .help = "Names to select, separated by spaces or ';': the image name as containerd "
            "records it (docker.io/library/busybox:latest) or as Docker shows it "
            "(busybox:latest, busybox), name@digest, image ID or unique ID prefix" },
  { NULL }
};

/* ---- descriptors and blobs ---- */

typedef struct {
  char *media_type;
  char *digest;
  gint64 size;
} Desc;

static void
desc_clear (Desc *d)
{
  g_clear_pointer (&d->media_type, g_free);
  g_clear_pointer (&d->digest, g_free);
}

static void
desc_free (Desc *d)
{
  desc_clear (d);
  g_free (d);
}

typedef struct {
  char *dir;   /* the containerd root */
  char *blobs; /* its content store's blobs/sha256 */
  GpBolt *db;
  GpBolt *snap_db; /* the overlayfs snapshotter's metadata.db, once opened */
} CRoot;

static void
croot_free (CRoot *r)
{
  g_free (r->dir);
  g_free (r->blobs);
  g_clear_pointer (&r->db, gp_bolt_free);
  g_clear_pointer (&r->snap_db, gp_bolt_free);
  g_free (r);
}

static char *
blob_path (const char *blobs, const char *digest)
{
  return g_build_filename (blobs, digest + strlen ("sha256:"), NULL);
}

/* Opens a blob of the content store; a missing one is GP_DATA_ERROR_MISSING. */
static int
open_blob (const char *path, const char *digest, struct stat *st, GError **error)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
  if (fd < 0)
    {
      int e = errno;
      if (e == ENOENT)
        g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING,
                     "blob %s is not in the content store (%s: %s)", digest, path,
                     g_strerror (e));
      else
        g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "%s: cannot open: %s", path,
                     g_strerror (e));
      return -1;
    }
  if (fstat (fd, st) != 0 || !S_ISREG (st->st_mode))
    {
      close (fd);
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_NOT_REGULAR,
                   "%s: blob %s is not a regular file", path, digest);
      return -1;
    }
  return fd;
}

static gboolean
read_all (int fd, guint8 *buf, gsize len, gsize *out_got, const char *path, GError **error)
{
  gsize got = 0;
  while (got < len)
    {
      ssize_t n = read (fd, buf + got, len - got);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int e = errno;
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "%s: cannot read: %s", path,
                       g_strerror (e));
          return FALSE;
        }
      if (n == 0)
        break;
      got += (gsize) n;
    }
  *out_got = got;
  return TRUE;
}

/* A small blob (manifest, index, config), whole, checked against its
 * descriptor's size and digest. */
static GBytes *
read_blob (CRoot *r, const Desc *d, GError **error)
{
  if (!gp_digest_check_sha256 (d->digest, -1, error))
    {
      g_prefix_error (error, "%s: descriptor digest: ", r->dir);
      return NULL;
    }
  g_autofree char *path = blob_path (r->blobs, d->digest);
  struct stat st;
  int fd = open_blob (path, d->digest, &st, error);
  if (fd < 0)
    return NULL;
  if (st.st_size > MAX_JSON_BLOB || (d->size >= 0 && st.st_size != d->size))
    {
      close (fd);
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_SIZE,
                   "%s: blob %s has %" G_GINT64_FORMAT " bytes, its descriptor says %" G_GINT64_FORMAT
                   "%s", path, d->digest, (gint64) st.st_size, d->size,
                   st.st_size > MAX_JSON_BLOB ? " (too large for a manifest or config)" : "");
      return NULL;
    }
  gsize len = (gsize) st.st_size, got;
  guint8 *buf = g_malloc (len + 1);
  gboolean ok = read_all (fd, buf, len, &got, path, error);
  close (fd);
  if (ok && got != len)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_SIZE, "%s: shrank while read", path);
      ok = FALSE;
    }
  if (ok)
    {
      g_autofree char *digest = gp_sha256_digest_of (buf, len);
      if (strcmp (digest, d->digest) != 0)
        {
          g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_VERIFY,
                       "%s: blob %s hashes to %s", path, d->digest, digest);
          ok = FALSE;
        }
    }
  if (!ok)
    {
      g_free (buf);
      return NULL;
    }
  return g_bytes_new_take (buf, len);
}

/* ---- manifests and indexes (core/format/gp-oci-manifest) ---- */

typedef GpOciPlatform Platform;
#define platform_clear gp_oci_platform_clear
#define platform_host gp_oci_platform_host

static gboolean
platform_parse (const char *s, Platform *p, GError **error)
{
  g_auto (GStrv) parts = g_strsplit (s, "/", -1);
  guint n = g_strv_length (parts);
  if (n < 2 || n > 3 || *parts[0] == '\0' || *parts[1] == '\0' || (n == 3 && *parts[2] == '\0'))
    {
      g_set_error (error, GP_PRESET_ERROR, GP_PRESET_ERROR_BAD_VALUE,
                   "platform %s: expected os/arch or os/arch/variant (linux/arm64/v8)", s);
      return FALSE;
    }
  p->os = g_ascii_strdown (parts[0], -1);
  p->architecture = g_ascii_strdown (parts[1], -1);
  p->variant = n == 3 ? g_ascii_strdown (parts[2], -1) : NULL;
  return TRUE;
}

/* ---- an image name's target, resolved to one manifest ---- */

typedef struct {
  char *name;
  char *target_digest; /* the record's target: the image ID `docker images` shows */
  GBytes *target;  /* the index it was reached through, or NULL */
  char *target_mt;
  GBytes *manifest;
  char *manifest_mt;
  Desc config;
  GPtrArray *layers; /* Desc * */
} Resolved;

static void
resolved_free (Resolved *r)
{
  g_free (r->name);
  g_free (r->target_digest);
  g_clear_pointer (&r->target, g_bytes_unref);
  g_free (r->target_mt);
  g_clear_pointer (&r->manifest, g_bytes_unref);
  g_free (r->manifest_mt);
  desc_clear (&r->config);
  g_clear_pointer (&r->layers, g_ptr_array_unref);
  g_free (r);
}

static void
desc_copy (Desc *out, const GpOciDescriptor *d)
{
  out->media_type = g_strdup (d->media_type);
  out->digest = g_strdup (d->digest);
  out->size = d->size;
}

static gboolean
parse_manifest (Resolved *res, GBytes *bytes, const char *digest, GError **error)
{
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);
  g_autoptr (GpOciManifest) m = gp_oci_manifest_parse (data, len, res->manifest_mt, error);
  if (m == NULL)
    {
      g_prefix_error (error, "%s: ", digest);
      return FALSE;
    }
  desc_copy (&res->config, &m->config);
  res->layers = g_ptr_array_new_with_free_func ((GDestroyNotify) desc_free);
  for (guint i = 0; i < m->layers->len; i++)
    {
      Desc *d = g_new0 (Desc, 1);
      desc_copy (d, &g_array_index (m->layers, GpOciDescriptor, i));
      g_ptr_array_add (res->layers, d);
    }
  return TRUE;
}

/* Reads @target and, for an index, the manifest for @platform. */
static Resolved *
resolve_target (CRoot *root, const char *name, const Desc *target, const Platform *platform,
                GError **error)
{
  g_autoptr (GBytes) bytes = read_blob (root, target, error);
  if (bytes == NULL)
    return NULL;
  Resolved *res = g_new0 (Resolved, 1);
  res->name = g_strdup (name);
  res->target_digest = g_strdup (target->digest);
  const char *manifest_digest = target->digest;
  g_autofree char *chosen_digest = NULL;
  if (gp_oci_is_index_type (target->media_type))
    {
      res->target = g_bytes_ref (bytes);
      res->target_mt = g_strdup (target->media_type);
      gsize len;
      const char *data = g_bytes_get_data (bytes, &len);
      g_autoptr (GpOciIndex) index = gp_oci_index_parse (data, len, target->media_type, error);
      const GpOciDescriptor *entry = index != NULL ? gp_oci_index_select (index, platform, error)
                                                   : NULL;
      if (entry == NULL)
        {
          if (index != NULL && error != NULL && *error != NULL)
            {
              char *msg = g_strdup_printf ("%s; choose one with --platform", (*error)->message);
              g_free ((*error)->message);
              (*error)->message = msg;
            }
          g_prefix_error (error, "%s: %s: ", name, target->digest);
          resolved_free (res);
          return NULL;
        }
      Desc chosen = { 0 };
      desc_copy (&chosen, entry);
      g_clear_pointer (&bytes, g_bytes_unref);
      bytes = read_blob (root, &chosen, error);
      res->manifest_mt = g_strdup (chosen.media_type);
      chosen_digest = g_strdup (chosen.digest);
      manifest_digest = chosen_digest;
      desc_clear (&chosen);
      if (bytes == NULL)
        {
          g_prefix_error (error, "%s: ", name);
          resolved_free (res);
          return NULL;
        }
    }
  else if (gp_oci_is_manifest_type (target->media_type))
    res->manifest_mt = g_strdup (target->media_type);
  else
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_UNSUPPORTED,
                   "%s: target %s has media type %s: not an image index or a schema 2 / OCI "
                   "manifest", name, target->digest, target->media_type);
      resolved_free (res);
      return NULL;
    }
  res->manifest = g_steal_pointer (&bytes);
  if (!parse_manifest (res, res->manifest, manifest_digest, error))
    {
      g_prefix_error (error, "%s: ", name);
      resolved_free (res);
      return NULL;
    }
  return res;
}

/* ---- the metadata database ---- */

/* Go's binary.Varint. */
static gboolean
decode_varint (const guint8 *p, gsize len, gint64 *out)
{
  guint64 u = 0;
  for (gsize i = 0; i < len && i < 10; i++)
    {
      u |= (guint64) (p[i] & 0x7f) << (7 * i);
      if ((p[i] & 0x80) == 0)
        {
          if (i + 1 != len)
            return FALSE;
          *out = (gint64) (u >> 1) ^ -(gint64) (u & 1);
          return TRUE;
        }
    }
  return FALSE;
}

static char *
value_string (const guint8 *v, gsize len)
{
  return g_strndup ((const char *) v, len);
}

/* One namespace of one root: its names, resolved. */
typedef struct {
  CRoot *root;
  char *ns;
  GpImageCatalog *catalog;
  GHashTable *by_name; /* name -> Resolved * */
  GHashTable *by_id;   /* config digest -> Resolved * (borrowed: the first) */
  GHashTable *failed;  /* name -> why it cannot be read */
  const Platform *platform;
  GpBoltBucket ns_bucket;
  GpBoltBucket images;
} Space;

static void
space_free (Space *s)
{
  g_free (s->ns);
  g_clear_pointer (&s->catalog, gp_image_catalog_free);
  g_clear_pointer (&s->by_name, g_hash_table_unref);
  g_clear_pointer (&s->by_id, g_hash_table_unref);
  g_clear_pointer (&s->failed, g_hash_table_unref);
  g_free (s);
}

/* An image record's target.  *fatal: the database itself is damaged
 * (else only this record is bad, or lacks a key). */
static gboolean
read_target (CRoot *root, const GpBoltBucket *image, const char *name, Desc *out,
             gboolean *fatal, GError **error)
{
  GpBoltBucket target;
  const guint8 *v;
  gsize len;
  gboolean is_bucket;
  const char *keys[] = { "digest", "mediatype", "size" };
  const guint8 *vals[3];
  gsize lens[3];
  memset (out, 0, sizeof *out);
  *fatal = FALSE;
  gboolean ok = gp_bolt_bucket_get (root->db, image, "target", &v, &len, &is_bucket, error);
  if (ok && !is_bucket)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_INVALID,
                   "%s: image %s: target is a value, not a bucket", gp_bolt_get_path (root->db),
                   name);
      return FALSE;
    }
  ok = ok && gp_bolt_bucket_open_value (root->db, image, "target", v, len, &target, error);
  for (guint i = 0; ok && i < 3; i++)
    {
      ok = gp_bolt_bucket_get (root->db, &target, keys[i], &v, &len, &is_bucket, error);
      vals[i] = v;
      lens[i] = len;
      if (ok && is_bucket)
        {
          g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_INVALID,
                       "%s: image %s: target/%s is a bucket, not a value",
                       gp_bolt_get_path (root->db), name, keys[i]);
          return FALSE;
        }
    }
  if (!ok)
    {
      *fatal = !g_error_matches (*error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING);
      return FALSE;
    }
  out->digest = value_string (vals[0], lens[0]);
  out->media_type = value_string (vals[1], lens[1]);
  if (!decode_varint (vals[2], lens[2], &out->size) || out->size < 0)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_INVALID,
                   "%s: image %s: target size is not a valid varint", gp_bolt_get_path (root->db),
                   name);
      return FALSE;
    }
  if (!gp_digest_check_sha256 (out->digest, -1, error))
    {
      g_prefix_error (error, "%s: image %s: target digest: ", gp_bolt_get_path (root->db), name);
      return FALSE;
    }
  return TRUE;
}

static gboolean
list_image (const guint8 *key, gsize key_len, const guint8 *value, gsize value_len,
            gboolean is_bucket, gpointer user_data, GError **error)
{
  Space *s = user_data;
  if (!is_bucket)
    return TRUE;
  g_autofree char *name = value_string (key, key_len);
  /* a key with a NUL byte (not a name) or seen already: left out */
  if (memchr (key, 0, key_len) != NULL || g_hash_table_contains (s->by_name, name))
    return TRUE;
  GpBoltBucket image;
  if (!gp_bolt_bucket_open_value (s->root->db, &s->images, name, value, value_len, &image, error))
    return FALSE;
  Desc target = { 0 };
  g_autoptr (GError) local = NULL;
  gboolean fatal;
  if (!read_target (s->root, &image, name, &target, &fatal, &local))
    {
      desc_clear (&target);
      /* a damaged database stops everything; a bad record fails only when
       * it is asked for */
      if (fatal)
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
      g_hash_table_insert (s->failed, g_strdup (name), g_strdup (local->message));
      return TRUE;
    }
  /* an image whose blobs cannot be read fails only when asked for */
  Resolved *res = resolve_target (s->root, name, &target, s->platform, &local);
  desc_clear (&target);
  if (res == NULL)
    {
      g_hash_table_insert (s->failed, g_strdup (name), g_strdup (local->message));
      return TRUE;
    }
  if (!gp_image_catalog_add_reference (s->catalog, name, res->config.digest))
    {
      g_hash_table_insert (s->failed, g_strdup (name),
                           g_strdup_printf ("%s: not a valid image reference", name));
      resolved_free (res);
      return TRUE;
    }
  if (!g_hash_table_contains (s->by_id, res->config.digest))
    g_hash_table_insert (s->by_id, res->config.digest, res);
  g_hash_table_insert (s->by_name, res->name, res);
  return TRUE;
}

typedef struct {
  CRoot *root;
  GPtrArray *spaces;
  const char *only_ns;
  const Platform *platform;
  GpBoltBucket v1;
} ListNs;

static gboolean
list_namespace (const guint8 *key, gsize key_len, const guint8 *value, gsize value_len,
                gboolean is_bucket, gpointer user_data, GError **error)
{
  ListNs *l = user_data;
  if (!is_bucket)
    return TRUE;
  g_autofree char *ns = value_string (key, key_len);
  if (l->only_ns != NULL && strcmp (ns, l->only_ns) != 0)
    return TRUE;
  GpBoltBucket nsb;
  if (!gp_bolt_bucket_open_value (l->root->db, &l->v1, ns, value, value_len, &nsb, error))
    return FALSE;
  Space *s = g_new0 (Space, 1);
  s->root = l->root;
  s->ns = g_strdup (ns);
  s->platform = l->platform;
  s->catalog = gp_image_catalog_new (GP_IMAGE_NAMES_CONTAINERD);
  s->by_name = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) resolved_free);
  s->by_id = g_hash_table_new (g_str_hash, g_str_equal);
  s->failed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_ptr_array_add (l->spaces, s);
  s->ns_bucket = nsb;
  const guint8 *v;
  gsize len;
  gboolean images_is_bucket;
  g_autoptr (GError) local = NULL;
  if (!gp_bolt_bucket_get (l->root->db, &nsb, "images", &v, &len, &images_is_bucket, &local))
    {
      if (g_error_matches (local, GP_DATA_ERROR, GP_DATA_ERROR_MISSING))
        return TRUE; /* a namespace without images */
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  if (!images_is_bucket)
    return TRUE;
  if (!gp_bolt_bucket_open_value (l->root->db, &nsb, "images", v, len, &s->images, error))
    return FALSE;
  return gp_bolt_bucket_foreach (l->root->db, &s->images, list_image, s, error);
}

/* Opens a root's meta.db and lists its namespaces (only @only_ns when set). */
static gboolean
list_spaces (CRoot *root, const char *only_ns, const Platform *platform, GPtrArray *spaces,
             GError **error)
{
  ListNs l = { .root = root, .spaces = spaces, .only_ns = only_ns, .platform = platform };
  GpBoltBucket top;
  gp_bolt_root (root->db, &top);
  const guint8 *v;
  gsize len;
  gboolean is_bucket;
  g_autoptr (GError) local = NULL;
  if (!gp_bolt_bucket_get (root->db, &top, "v1", &v, &len, &is_bucket, &local))
    {
      if (!g_error_matches (local, GP_DATA_ERROR, GP_DATA_ERROR_MISSING))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
      return TRUE; /* an empty database */
    }
  if (!is_bucket)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_INVALID,
                   "%s: v1 is a value, not containerd's schema bucket", gp_bolt_get_path (root->db));
      return FALSE;
    }
  return gp_bolt_bucket_open_value (root->db, &top, "v1", v, len, &l.v1, error)
         && gp_bolt_bucket_foreach (root->db, &l.v1, list_namespace, &l, error);
}

/* ---- finding the containerd roots ---- */

static gboolean
has_meta_db (const char *dir)
{
  g_autofree char *p = g_build_filename (dir, META_DB, NULL);
  return g_file_test (p, G_FILE_TEST_EXISTS);
}

/* The containerd roots under --root: the root itself, or Docker's own
 * containerd, or a disk's /var/lib/containerd.  A Docker data root (it
 * has image/) with none of these has its images in the system's
 * containerd when Docker uses the containerd image store with the
 * distribution's containerd (Docker 29's packages): that root is the
 * sibling directory containerd/ (/var/lib/docker beside
 * /var/lib/containerd), read and named in an event. */
static GPtrArray *
find_roots (GpContext *ctx, const char *root, GError **error)
{
  g_autoptr (GPtrArray) dirs = g_ptr_array_new_with_free_func (g_free);
  if (has_meta_db (root))
    g_ptr_array_add (dirs, g_strdup (root));
  else
    {
      const char *const under[] = { "containerd/daemon", "containerd", "docker/containerd/daemon",
                                    NULL };
      for (const char *const *u = under; *u != NULL; u++)
        {
          g_autofree char *d = g_build_filename (root, *u, NULL);
          if (has_meta_db (d))
            g_ptr_array_add (dirs, g_steal_pointer (&d));
        }
    }
  if (dirs->len == 0)
    {
      g_autofree char *sibling = gp_store_containerd_sibling (root);
      if (sibling != NULL && has_meta_db (sibling))
        {
          gp_context_emit_item_done (ctx, sibling, 0, 0, 0,
                                     "%s: a Docker data root without images of its own; "
                                     "reading its containerd image store %s", root, sibling);
          g_ptr_array_add (dirs, g_steal_pointer (&sibling));
        }
    }
  if (dirs->len == 0)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING,
                   "%s: no containerd root found (expected %s in it, or under containerd/daemon/, "
                   "containerd/ or docker/containerd/daemon/, or for a Docker data root in the "
                   "containerd/ beside it)", root, META_DB);
      return NULL;
    }
  GPtrArray *roots = g_ptr_array_new_with_free_func ((GDestroyNotify) croot_free);
  for (guint i = 0; i < dirs->len; i++)
    {
      CRoot *r = g_new0 (CRoot, 1);
      r->dir = g_strdup (dirs->pdata[i]);
      r->blobs = g_build_filename (r->dir, BLOBS, NULL);
      g_ptr_array_add (roots, r);
      g_autofree char *db = g_build_filename (r->dir, META_DB, NULL);
      r->db = gp_bolt_open (db, error);
      if (r->db == NULL)
        {
          g_ptr_array_unref (roots);
          return NULL;
        }
    }
  return roots;
}

/* ---- layers ---- */

typedef enum { COMP_NONE, COMP_GZIP, COMP_ZSTD } Compression;

typedef struct {
  char *snapshot; /* rebuilt from this snapshot's fs directory (no blob) */
  guint whiteouts; /* the snapshot's overlayfs whiteouts (0/0 char devices) */
  guint opaques;   /* and opaque directories (overlay.opaque=y) */
  char *path;     /* the blob */
  char *blob_digest;
  char *media_type;
  gint64 blob_size;
  Compression comp;
  char *diff_id;
  guint64 tar_size;
  GError *measure_error;
  GCancellable *cancellable;
} CtrLayer;

static void
ctr_layer_free (CtrLayer *l)
{
  g_free (l->snapshot);
  g_free (l->path);
  g_free (l->blob_digest);
  g_free (l->media_type);
  g_free (l->diff_id);
  g_clear_error (&l->measure_error);
  g_clear_object (&l->cancellable);
  g_free (l);
}

static gboolean
compression_of (const char *mt, Compression *out)
{
  if (g_str_has_suffix (mt, "+gzip") || g_str_has_suffix (mt, ".tar.gzip"))
    *out = COMP_GZIP;
  else if (g_str_has_suffix (mt, "+zstd"))
    *out = COMP_ZSTD;
  else if (g_str_has_suffix (mt, ".tar") || g_str_has_suffix (mt, "layer.v1.tar"))
    *out = COMP_NONE;
  else
    return FALSE;
  return TRUE;
}

/* Streams the blob (@raw) or its decompressed tar to @write, hashing the
 * blob on the way: its digest and length must be the descriptor's. */
static gboolean
stream_layer (CtrLayer *l, gboolean raw, GpWriteFunc write, gpointer write_data,
              GCancellable *cancellable, GError **error)
{
  if (l->snapshot != NULL)
    {
      /* the blob is gone: Docker's archiver on the snapshot's files */
      g_autoptr (GpLayerDir) dir = gp_layer_dir_open (l->snapshot, error);
      if (dir == NULL || raw)
        {
          if (dir != NULL)
            g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING,
                         "blob %s is gone (the layer was rebuilt from %s)", l->blob_digest,
                         l->snapshot);
          return FALSE;
        }
      return gp_archive_tar_dir (dir, GP_ARCHIVE_NONE, write, write_data, cancellable, error);
    }
  struct stat st;
  int fd = open_blob (l->path, l->blob_digest, &st, error);
  if (fd < 0)
    return FALSE;
  GpSha256 sha;
  gp_sha256_init (&sha);
  guint64 blob_len = 0;
  g_autofree guint8 *in = g_malloc (CHUNK);
  g_autofree guint8 *out = g_malloc (CHUNK);
  Compression comp = raw ? COMP_NONE : l->comp;
  z_stream z = { 0 };
  ZSTD_DStream *zs = NULL;
  gboolean ok = TRUE, ended = comp == COMP_NONE;
  if (comp == COMP_GZIP && inflateInit2 (&z, 15 + 32) != Z_OK)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_GZIP, "%s: zlib: cannot start", l->path);
      close (fd);
      return FALSE;
    }
  if (comp == COMP_ZSTD)
    zs = ZSTD_createDStream ();
  while (ok)
    {
      ssize_t n = read (fd, in, CHUNK);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int e = errno;
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "%s: cannot read: %s",
                       l->path, g_strerror (e));
          ok = FALSE;
          break;
        }
      if (n == 0)
        break;
      gp_sha256_update (&sha, in, (gsize) n);
      blob_len += (guint64) n;
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        {
          ok = FALSE;
          break;
        }
      if (comp == COMP_NONE)
        {
          ok = write (write_data, in, (gsize) n, error);
          continue;
        }
      if (comp == COMP_GZIP)
        {
          z.next_in = in;
          z.avail_in = (uInt) n;
          for (;;)
            {
              if (ended && z.avail_in > 0)
                {
                  /* another gzip member follows (Go's reader reads them all) */
                  inflateReset (&z);
                  ended = FALSE;
                }
              z.next_out = out;
              z.avail_out = CHUNK;
              int r = inflate (&z, Z_NO_FLUSH);
              if (r != Z_OK && r != Z_STREAM_END && r != Z_BUF_ERROR)
                {
                  g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_GZIP,
                               "%s: blob %s: corrupt gzip: %s", l->path, l->blob_digest,
                               z.msg != NULL ? z.msg : "inflate failed");
                  ok = FALSE;
                  break;
                }
              gsize have = CHUNK - z.avail_out;
              if (have > 0 && !(ok = write (write_data, out, have, error)))
                break;
              if (r == Z_STREAM_END)
                ended = TRUE;
              /* on while input is left or the output filled up */
              if (z.avail_in == 0 && z.avail_out != 0)
                break;
              if (r == Z_BUF_ERROR && have == 0)
                break;
            }
          continue;
        }
      /* zstd */
      ZSTD_inBuffer ib = { in, (size_t) n, 0 };
      while (ok && ib.pos < ib.size)
        {
          ZSTD_outBuffer ob = { out, CHUNK, 0 };
          size_t r = ZSTD_decompressStream (zs, &ob, &ib);
          if (ZSTD_isError (r))
            {
              g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_INVALID, "%s: blob %s: corrupt zstd: %s",
                           l->path, l->blob_digest, ZSTD_getErrorName (r));
              ok = FALSE;
              break;
            }
          if (ob.pos > 0)
            ok = write (write_data, out, ob.pos, error);
          ended = r == 0;
        }
      /* flush what the decoder holds */
      while (ok && !ended)
        {
          ZSTD_inBuffer empty = { in, 0, 0 };
          ZSTD_outBuffer ob = { out, CHUNK, 0 };
          size_t r = ZSTD_decompressStream (zs, &ob, &empty);
          if (ZSTD_isError (r) || ob.pos == 0)
            break;
          ok = write (write_data, out, ob.pos, error);
          ended = r == 0;
        }
    }
  close (fd);
  if (comp == COMP_GZIP)
    inflateEnd (&z);
  if (zs != NULL)
    ZSTD_freeDStream (zs);
  if (!ok)
    return FALSE;
  if (!ended)
    {
      g_set_error (error, GP_DATA_ERROR, comp == COMP_GZIP ? GP_DATA_ERROR_GZIP : GP_DATA_ERROR_INVALID,
                   "%s: blob %s: the %s stream is truncated", l->path, l->blob_digest,
                   comp == COMP_GZIP ? "gzip" : "zstd");
      return FALSE;
    }
  char digest[GP_DIGEST_SHA256_LEN + 1];
  gp_sha256_finish_digest (&sha, digest);
  if (l->blob_size >= 0 && blob_len != (guint64) l->blob_size)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_SIZE,
                   "%s: blob %s has %" G_GUINT64_FORMAT " bytes, the manifest says %" G_GINT64_FORMAT,
                   l->path, l->blob_digest, blob_len, l->blob_size);
      return FALSE;
    }
  if (strcmp (digest, l->blob_digest) != 0)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_VERIFY, "%s: blob %s hashes to %s",
                   l->path, l->blob_digest, digest);
      return FALSE;
    }
  return TRUE;
}

static gboolean
ctr_stream_tar (GpImageLayer *layer, GpWriteFunc write, gpointer write_data,
                GCancellable *cancellable, char **out_diff_id, GError **error)
{
  return stream_layer (gp_image_layer_get_data (layer), FALSE, write, write_data, cancellable,
                       error);
}

static gboolean
ctr_stream_blob (GpImageLayer *layer, GpWriteFunc write, gpointer write_data,
                 GCancellable *cancellable, char **out_diff_id, GError **error)
{
  return stream_layer (gp_image_layer_get_data (layer), TRUE, write, write_data, cancellable,
                       error);
}

static const GpImageLayerFuncs ctr_layer_funcs = {
  .stream_tar = ctr_stream_tar,
  .stream_blob = ctr_stream_blob,
  .computes_digest = FALSE,
};

/* Decompresses a layer once: its tar's length, checked against the DiffID. */
static void
measure_worker (gpointer data, gpointer user_data)
{
  CtrLayer *l = data;
  GpSha256Writer m;
  gp_sha256_writer_init (&m, NULL, NULL);
  if (!stream_layer (l, FALSE, gp_sha256_writer_write, &m, l->cancellable, &l->measure_error))
    return;
  char digest[GP_DIGEST_SHA256_LEN + 1];
  gp_sha256_finish_digest (&m.sha, digest);
  if (strcmp (digest, l->diff_id) != 0)
    {
      if (l->snapshot != NULL)
        g_set_error (&l->measure_error, GP_DATA_ERROR, GP_DATA_ERROR_VERIFY,
                     "layer %s rebuilt from snapshot %s: its tar hashes to %s, not the "
                     "config's DiffID (its blob %s is gone)%s", l->diff_id, l->snapshot, digest,
                     l->blob_digest,
                     l->whiteouts + l->opaques > 0
                     ? "; the snapshot holds overlayfs whiteouts or opaque directories, of "
                       "which containerd keeps no tar header (a whiteout device has the time of "
                       "the unpacking), so this layer cannot be rebuilt byte for byte" : "");
      else
        g_set_error (&l->measure_error, GP_DATA_ERROR, GP_DATA_ERROR_VERIFY,
                     "blob %s (%s): its tar hashes to %s, the config's DiffID is %s",
                     l->blob_digest, l->path, digest, l->diff_id);
      return;
    }
  l->tar_size = m.len;
}

/* ---- the stage ---- */

typedef struct {
  GpContext *ctx;
  GPtrArray *spaces;
  GHashTable *layers;  /* blob digest -> CtrLayer * (owned until the layer objects exist) */
  GPtrArray *order;    /* CtrLayer *, borrowed, in the order first reached */
  GHashTable *objects; /* blob digest -> GpImageLayer * */
} Source;

static const char *
space_label (Source *src, Space *s, GString *buf)
{
  g_string_assign (buf, s->ns);
  gboolean several_roots = FALSE;
  for (guint i = 0; i < src->spaces->len; i++)
    several_roots |= ((Space *) src->spaces->pdata[i])->root != s->root;
  if (several_roots)
    g_string_append_printf (buf, " (%s)", s->root->dir);
  return buf->str;
}

/* Why a name that the catalog did not find cannot be read, when an image
 * of that name exists but failed to resolve. */
static const char *
failure_of (Space *s, const char *name)
{
  const char *why = g_hash_table_lookup (s->failed, name);
  if (why != NULL)
    return why;
  g_autoptr (GpReference) ref = gp_reference_parse (name, NULL);
  if (ref == NULL)
    return NULL;
  g_autofree char *full = gp_reference_full_name (ref);
  g_autofree char *stored = ref->digest != NULL
    ? g_strconcat (full, "@", ref->digest, NULL)
    : g_strconcat (full, ":", ref->tag != NULL ? ref->tag : GP_REFERENCE_DEFAULT_TAG, NULL);
  return g_hash_table_lookup (s->failed, stored);
}

/* Resolves one name in the namespaces listed; exactly one must hold it. */
static gboolean
resolve_name (Source *src, const char *name, Space **out_space, GPtrArray **out_images,
              GError **error)
{
  const char *const one[] = { name, NULL };
  g_autoptr (GPtrArray) hits = g_ptr_array_new ();
  g_autoptr (GPtrArray) found = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  GError *first_error = NULL;
  const char *failure = NULL;
  for (guint i = 0; i < src->spaces->len; i++)
    {
      Space *s = src->spaces->pdata[i];
      g_autoptr (GError) local = NULL;
      GPtrArray *images = gp_image_catalog_resolve (s->catalog, one, &local);
      if (images != NULL)
        {
          g_ptr_array_add (hits, s);
          g_ptr_array_add (found, images);
          continue;
        }
      if (!g_error_matches (local, GP_DATA_ERROR, GP_DATA_ERROR_MISSING))
        {
          g_propagate_prefixed_error (error, g_steal_pointer (&local), "namespace %s: ", s->ns);
          g_clear_error (&first_error);
          return FALSE;
        }
      if (failure == NULL)
        failure = failure_of (s, name);
      if (first_error == NULL)
        first_error = g_steal_pointer (&local);
    }
  g_autoptr (GString) label = g_string_new (NULL);
  if (hits->len == 0 && failure == NULL)
    {
      /* Docker's containerd image store shows the target's digest as the
       * image ID: an ID or unique prefix of one names that image (untagged,
       * as an ID does) */
      const char *hex;
      if (gp_digest_prefix_term (name, &hex) && *hex != '\0' && gp_hex_is_lower (hex, strlen (hex)))
        for (guint i = 0; i < src->spaces->len; i++)
          {
            Space *s = src->spaces->pdata[i];
            const Resolved *hit = NULL;
            GHashTableIter it;
            gpointer value;
            g_hash_table_iter_init (&it, s->by_name);
            while (g_hash_table_iter_next (&it, NULL, &value))
              {
                const Resolved *r = value;
                if (!g_str_has_prefix (r->target_digest + strlen ("sha256:"), hex))
                  continue;
                if (hit != NULL && strcmp (hit->config.digest, r->config.digest) != 0)
                  {
                    g_clear_error (&first_error);
                    g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_REFERENCE,
                                 "%s: namespace %s: the ID prefix of several images' targets (%s, %s)",
                                 name, s->ns, hit->target_digest, r->target_digest);
                    return FALSE;
                  }
                hit = r;
              }
            if (hit == NULL)
              continue;
            const char *const by_id[] = { hit->config.digest, NULL };
            GPtrArray *images = gp_image_catalog_resolve (s->catalog, by_id, error);
            if (images == NULL)
              {
                g_clear_error (&first_error);
                return FALSE;
              }
            g_ptr_array_add (hits, s);
            g_ptr_array_add (found, images);
          }
    }
  if (hits->len == 1)
    {
      g_clear_error (&first_error);
      *out_space = hits->pdata[0];
      *out_images = g_ptr_array_ref (found->pdata[0]);
      return TRUE;
    }
  if (hits->len > 1)
    {
      g_clear_error (&first_error);
      g_autoptr (GString) list = g_string_new (NULL);
      for (guint i = 0; i < hits->len; i++)
        g_string_append_printf (list, "%s%s", i > 0 ? ", " : "",
                                space_label (src, hits->pdata[i], label));
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_REFERENCE,
                   "%s: in several namespaces (%s): choose one with --namespace", name, list->str);
      return FALSE;
    }
  if (failure != NULL)
    {
      g_clear_error (&first_error);
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING, "%s: cannot be read: %s", name,
                   failure);
      return FALSE;
    }
  if (src->spaces->len == 1)
    {
      g_propagate_prefixed_error (error, first_error, "namespace %s: ",
                                  ((Space *) src->spaces->pdata[0])->ns);
      return FALSE;
    }
  g_clear_error (&first_error);
  g_autoptr (GString) list = g_string_new (NULL);
  for (guint i = 0; i < src->spaces->len; i++)
    g_string_append_printf (list, "%s%s", i > 0 ? ", " : "",
                            space_label (src, src->spaces->pdata[i], label));
  g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING, "%s: image not known in %s%s", name,
               src->spaces->len > 0 ? "any namespace: " : "this containerd root (no namespace)",
               list->str);
  return FALSE;
}

/* Go's binary.Uvarint, the whole value. */
static gboolean
decode_uvarint (const guint8 *p, gsize len, guint64 *out)
{
  guint64 u = 0;
  for (gsize i = 0; i < len && i < 10; i++)
    {
      u |= (guint64) (p[i] & 0x7f) << (7 * i);
      if ((p[i] & 0x80) == 0)
        {
          *out = u;
          return i + 1 == len;
        }
    }
  return FALSE;
}

/* Counts the overlayfs whiteouts (0/0 character devices) and opaque
 * directories (trusted. or user.overlay.opaque = "y") beneath @dir, an
 * overlayfs snapshot's upper directory.  Nothing is followed but
 * directories; unreadable entries are skipped (the archiver reports them). */
static void
count_overlay_marks (const char *dir, guint depth, guint *whiteouts, guint *opaques)
{
  if (depth > 4096)
    return;
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *p = g_build_filename (dir, name, NULL);
      struct stat st;
      if (lstat (p, &st) != 0)
        continue;
      if (S_ISCHR (st.st_mode) && major (st.st_rdev) == 0 && minor (st.st_rdev) == 0)
        (*whiteouts)++;
      else if (S_ISDIR (st.st_mode))
        {
          char v[2];
          if (lgetxattr (p, "trusted.overlay.opaque", v, sizeof v) == 1 && v[0] == 'y')
            (*opaques)++;
          else if (lgetxattr (p, "user.overlay.opaque", v, sizeof v) == 1 && v[0] == 'y')
            (*opaques)++;
          count_overlay_marks (p, depth + 1, whiteouts, opaques);
        }
    }
}

/* The fs directory of the overlayfs snapshot named @chain_id in @s's
 * namespace: meta.db v1/<ns>/snapshots/overlayfs/<chain>/name is the
 * snapshotter's key, whose record in its own metadata.db
 * (v1/snapshots/<key>/id) numbers the directory snapshots/<id>/fs. */
static char *
find_snapshot (Space *s, const char *chain_id, GError **error)
{
  CRoot *r = s->root;
  GpBoltBucket snaps, overlay, snap, top, v1, all, rec;
  const guint8 *v;
  gsize len;
  gboolean is_bucket;
  g_autoptr (GError) local = NULL;
  if (!gp_bolt_bucket_get_bucket (r->db, &s->ns_bucket, "snapshots", &snaps, error))
    return NULL;
  if (!gp_bolt_bucket_get_bucket (r->db, &snaps, "overlayfs", &overlay, &local)
      || !gp_bolt_bucket_get_bucket (r->db, &overlay, chain_id, &snap, &local))
    {
      if (!g_error_matches (local, GP_DATA_ERROR, GP_DATA_ERROR_MISSING))
        g_propagate_error (error, g_steal_pointer (&local));
      else
        g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_UNSUPPORTED,
                     "no overlayfs snapshot %s (only overlayfs snapshots, whose fs directory "
                     "holds the layer's own files, can be rebuilt; not native or others): %s",
                     chain_id, local->message);
      return NULL;
    }
  if (!gp_bolt_bucket_get (r->db, &snap, "name", &v, &len, &is_bucket, error)
      || !gp_bolt_bucket_get (r->db, &snap, "name", &v, &len, &is_bucket, error))
    return NULL;
  g_autofree char *key = value_string (v, len);
  g_autofree char *sdir = g_build_filename (r->dir, "io.containerd.snapshotter.v1.overlayfs", NULL);
  if (r->snap_db == NULL)
    {
      g_autofree char *path = g_build_filename (sdir, "metadata.db", NULL);
      r->snap_db = gp_bolt_open (path, error);
      if (r->snap_db == NULL)
        return NULL;
    }
  gp_bolt_root (r->snap_db, &top);
  guint64 id;
  if (!gp_bolt_bucket_get_bucket (r->snap_db, &top, "v1", &v1, error)
      || !gp_bolt_bucket_get_bucket (r->snap_db, &v1, "snapshots", &all, error)
      || !gp_bolt_bucket_get_bucket (r->snap_db, &all, key, &rec, error)
      || !gp_bolt_bucket_get (r->snap_db, &rec, "id", &v, &len, &is_bucket, error))
    return NULL;
  if (!decode_uvarint (v, len, &id) || id == 0)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_INVALID, "%s: snapshot %s: id is not a "
                   "valid uvarint", gp_bolt_get_path (r->snap_db), key);
      return NULL;
    }
  g_autofree char *idstr = g_strdup_printf ("%" G_GUINT64_FORMAT, id);
  char *fs = g_build_filename (sdir, "snapshots", idstr, "fs", NULL);
  if (!g_file_test (fs, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING, "%s: snapshot %s has no directory",
                   fs, key);
      g_free (fs);
      return NULL;
    }
  return fs;
}

static gboolean
allow_rebuild (GpContext *ctx)
{
  const char *v = gp_context_get_variable (ctx, "allow_rebuild");
  return v != NULL && *v != '\0' && strcmp (v, "0") != 0 && strcmp (v, "false") != 0
         && strcmp (v, "no") != 0;
}

static gboolean
add_layers (Source *src, Space *s, GpImage *image, const Resolved *res, GPtrArray *blobs,
            GError **error)
{
  const char *id = gp_image_get_id (image);
  g_autoptr (GBytes) config = read_blob (s->root, &res->config, error);
  if (config == NULL)
    {
      g_prefix_error (error, "image %s (%s): config: ", id, res->name);
      return FALSE;
    }
  gp_image_set_config (image, config);
  gsize len;
  const char *data = g_bytes_get_data (config, &len);
  g_autoptr (GpImageConfig) parsed = gp_image_config_parse (data, len, error);
  if (parsed == NULL)
    {
      g_prefix_error (error, "image %s (%s): config: ", id, res->name);
      return FALSE;
    }
  guint n = parsed->diff_ids != NULL ? parsed->diff_ids->len : 0;
  if (n != res->layers->len)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_INVALID,
                   "image %s (%s): the manifest has %u layers, the config %u DiffIDs", id,
                   res->name, res->layers->len, n);
      return FALSE;
    }
  g_autofree char *chain = NULL;
  for (guint i = 0; i < n; i++)
    {
      const GString *diff_id = g_ptr_array_index (parsed->diff_ids, i);
      const Desc *d = g_ptr_array_index (res->layers, i);
      if (!gp_digest_check_sha256 (diff_id->str, diff_id->len, error))
        {
          g_prefix_error (error, "image %s: diff_ids[%u]: ", id, i);
          return FALSE;
        }
      char *next = i == 0 ? g_strndup (diff_id->str, diff_id->len)
                          : gp_chain_id (chain, diff_id->str);
      g_free (chain);
      chain = next;
      g_ptr_array_add (blobs, g_strdup (d->digest));
      CtrLayer *l = g_hash_table_lookup (src->layers, d->digest);
      if (l != NULL)
        {
          if (strcmp (l->diff_id, diff_id->str) != 0)
            {
              g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_CONFLICT,
                           "image %s: layer %u: blob %s has DiffID %s in another image, %s here",
                           id, i, d->digest, l->diff_id, diff_id->str);
              return FALSE;
            }
          continue;
        }
      Compression comp;
      if (!compression_of (d->media_type, &comp))
        {
          g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_UNSUPPORTED,
                       "image %s: layer %u: media type %s is not a tar, tar+gzip or tar+zstd layer",
                       id, i, d->media_type);
          return FALSE;
        }
      l = g_new0 (CtrLayer, 1);
      l->path = blob_path (s->root->blobs, d->digest);
      l->blob_digest = g_strdup (d->digest);
      l->media_type = g_strdup (d->media_type);
      l->blob_size = d->size;
      l->comp = comp;
      l->diff_id = g_strndup (diff_id->str, diff_id->len);
      l->cancellable = g_object_ref (gp_context_get_cancellable (src->ctx));
      g_hash_table_insert (src->layers, g_strdup (d->digest), l);
      g_ptr_array_add (src->order, l);
      if (access (l->path, F_OK) == 0)
        continue;
      if (!allow_rebuild (src->ctx))
        {
          g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING,
                       "image %s (%s): layer %u: blob %s is not in the content store (%s: "
                       "garbage-collected?); --allow-rebuild rebuilds it from its snapshot",
                       id, res->name, i, d->digest, l->path);
          return FALSE;
        }
      g_autoptr (GError) local = NULL;
      l->snapshot = find_snapshot (s, chain, &local);
      if (l->snapshot == NULL)
        {
          g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING,
                       "image %s (%s): layer %u: blob %s is not in the content store, and its "
                       "snapshot %s cannot be read: %s", id, res->name, i, d->digest, chain,
                       local->message);
          return FALSE;
        }
      count_overlay_marks (l->snapshot, 0, &l->whiteouts, &l->opaques);
      gp_context_report (src->ctx, GP_REPORT_WARNING, d->digest,
                         "image %s (%s): layer %u: blob %s is gone; rebuilt from snapshot %s "
                         "(the bytes differ from the registry's; the DiffID is checked)",
                         id, res->name, i, d->digest, l->snapshot);
    }
  return TRUE;
}

static gboolean
measure_layers (Source *src, GError **error)
{
  gp_context_for_each_parallel (src->ctx, src->order, MAX_WORKERS, measure_worker);
  for (guint i = 0; i < src->order->len; i++)
    {
      CtrLayer *l = g_ptr_array_index (src->order, i);
      if (l->measure_error != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&l->measure_error));
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
containerd_prepare (GpStage *stage, GpContext *ctx, GError **error)
{
  if (!gp_image_names_check (gp_stage_get_string (stage, "images"), error))
    return FALSE;
  const char *platform = gp_context_get_variable (ctx, "platform");
  Platform p = { 0 };
  gboolean ok = platform == NULL || *platform == '\0' || platform_parse (platform, &p, error);
  platform_clear (&p);
  return ok;
}

static gboolean
containerd_run (GpStage *stage, GpContext *ctx, GError **error)
{
  g_auto (GStrv) names = gp_image_names_split (gp_stage_get_string (stage, "images"));
  const char *root = gp_context_get_root (ctx);
  if (root == NULL || *root == '\0')
    {
      g_set_error_literal (error, GP_PRESET_ERROR, GP_PRESET_ERROR_BAD_VALUE,
                           "no root given (--root: a containerd root, a Docker data root or a "
                           "disk's /var/lib)");
      return FALSE;
    }
  const char *ns = gp_context_get_variable (ctx, "namespace");
  if (ns != NULL && *ns == '\0')
    ns = NULL;
  const char *platform_s = gp_context_get_variable (ctx, "platform");
  Platform platform = { 0 };
  if (platform_s != NULL && *platform_s != '\0')
    {
      if (!platform_parse (platform_s, &platform, error))
        return FALSE;
    }
  else
    platform_host (&platform);

  g_autoptr (GPtrArray) roots = find_roots (ctx, root, error);
  if (roots == NULL)
    {
      platform_clear (&platform);
      return FALSE;
    }
  g_autoptr (GPtrArray) spaces = g_ptr_array_new_with_free_func ((GDestroyNotify) space_free);
  gboolean ok = TRUE;
  for (guint i = 0; ok && i < roots->len; i++)
    ok = list_spaces (roots->pdata[i], ns, &platform, spaces, error);
  platform_clear (&platform);
  if (!ok)
    return FALSE;
  if (ns != NULL && spaces->len == 0)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING, "%s: no namespace %s",
                   ((CRoot *) roots->pdata[0])->dir, ns);
      return FALSE;
    }

  g_autoptr (GHashTable) layers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GHashTable) objects = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                          (GDestroyNotify) gp_image_layer_unref);
  g_autoptr (GPtrArray) order = g_ptr_array_new ();
  Source src = { .ctx = ctx, .spaces = spaces, .layers = layers, .order = order,
                 .objects = objects };

  /* Every name is resolved before any layer is read. */
  g_autoptr (GPtrArray) images = g_ptr_array_new_with_free_func ((GDestroyNotify) gp_image_unref);
  g_autoptr (GPtrArray) image_spaces = g_ptr_array_new ();
  g_autoptr (GHashTable) by_key = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (char **n = names; ok && *n != NULL; n++)
    {
      Space *s;
      GPtrArray *found;
      if (!resolve_name (&src, *n, &s, &found, error))
        return FALSE;
      for (guint i = 0; i < found->len; i++)
        {
          GpImage *img = found->pdata[i];
          g_autofree char *key = g_strdup_printf ("%p %s", (void *) s, gp_image_get_id (img));
          GpImage *have = g_hash_table_lookup (by_key, key);
          if (have == NULL)
            {
              g_hash_table_insert (by_key, g_steal_pointer (&key), img);
              g_ptr_array_add (images, gp_image_ref (img));
              g_ptr_array_add (image_spaces, s);
              continue;
            }
          GPtrArray *refs = gp_image_get_references (img);
          GPtrArray *had = gp_image_get_references (have);
          for (guint j = 0; j < refs->len; j++)
            {
              gboolean dup = FALSE;
              for (guint k = 0; k < had->len && !dup; k++)
                dup = strcmp (had->pdata[k], refs->pdata[j]) == 0;
              if (!dup)
                gp_image_add_reference (have, refs->pdata[j]);
            }
        }
      g_ptr_array_unref (found);
    }

  /* Each image: manifest (and index), config, layers. */
  g_autoptr (GPtrArray) blob_lists = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  for (guint i = 0; ok && i < images->len; i++)
    {
      GpImage *img = images->pdata[i];
      Space *s = image_spaces->pdata[i];
      GPtrArray *refs = gp_image_get_references (img);
      const Resolved *res = NULL;
      for (guint j = 0; res == NULL && j < refs->len; j++)
        res = g_hash_table_lookup (s->by_name, refs->pdata[j]);
      if (res == NULL)
        res = g_hash_table_lookup (s->by_id, gp_image_get_id (img));
      if (res == NULL)
        {
          g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING,
                       "image %s: no name of namespace %s leads to it", gp_image_get_id (img), s->ns);
          ok = FALSE;
          break;
        }
      gp_image_set_manifest (img, res->manifest, res->manifest_mt);
      if (res->target != NULL)
        gp_image_set_target (img, res->target, res->target_mt);
      GPtrArray *blobs = g_ptr_array_new_with_free_func (g_free);
      g_ptr_array_add (blob_lists, blobs);
      ok = add_layers (&src, s, img, res, blobs, error);
    }
  ok = ok && measure_layers (&src, error);

  /* The layer objects own their CtrLayer from here on. */
  GHashTableIter it;
  gpointer key, value;
  g_hash_table_iter_init (&it, layers);
  while (g_hash_table_iter_next (&it, &key, &value))
    {
      CtrLayer *l = value;
      GpImageLayer *layer = gp_image_layer_new (l->diff_id, (gint64) l->tar_size, &ctr_layer_funcs,
                                                l, (GDestroyNotify) ctr_layer_free);
      if (l->snapshot == NULL)
        gp_image_layer_set_blob (layer, l->blob_digest, l->media_type, l->blob_size);
      g_hash_table_insert (objects, g_strdup (key), layer);
    }
  if (!ok)
    return FALSE;

  for (guint i = 0; i < images->len; i++)
    {
      GPtrArray *blobs = blob_lists->pdata[i];
      for (guint j = 0; j < blobs->len; j++)
        gp_image_add_layer (images->pdata[i], g_hash_table_lookup (objects, blobs->pdata[j]));
    }
  gp_context_set_images (ctx, images);
  return TRUE;
}

GP_STAGE_DEFINE (
  .name = "containerd",
  .description = "Select images of a containerd root (Kubernetes nodes, Docker's containerd "
                 "image store) by name, offline (source of save)",
  .provides = GP_STAGE_STRV (GP_IMAGES_CAPABILITY),
  .options = options,
  .prepare = containerd_prepare,
  .run = containerd_run)
