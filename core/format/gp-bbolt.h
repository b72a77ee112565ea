/* graphpipe - a read-only reader of bbolt database files (go.etcd.io/bbolt,
 * the key/value store of containerd's meta.db and its snapshotters).
 *
 * The whole file is read into memory once; nothing is ever written.  Every
 * page reached is checked against the file's size and the meta page's
 * high-water mark, and a walk that would revisit a page or go deeper than
 * GP_BOLT_MAX_DEPTH fails: a damaged file gives a GError naming the file
 * and the page, never a read outside the buffer or a loop.
 *
 * A bucket is a small value (GpBoltBucket) pointing into the database's
 * buffer: valid while the GpBolt lives.
 */
#pragma once

#include "gp-macros.h"

G_BEGIN_DECLS

/* Branch pages deep in one bucket, and buckets nested in each other. */
#define GP_BOLT_MAX_DEPTH 64

typedef struct _GpBolt GpBolt;

/**
 * GpBoltBucket:
 *
 * A bucket: its root page, or for an inline bucket the page bytes kept in
 * its parent's value.  Filled by gp_bolt_root() and gp_bolt_bucket_get_bucket().
 */
typedef struct {
  guint64 root;             /* root page id; 0 = inline */
  const guint8 *inline_page; /* inline: the page bytes */
  gsize inline_len;
  guint depth;              /* nesting level (the root bucket is 0) */
  char name[128];           /* for messages: the bucket's path (cut when long) */
} GpBoltBucket;

/**
 * GpBoltForeachFunc:
 * @key: the key (not NUL-terminated)
 * @value: the value; for a nested bucket, its header and inline page
 * @is_bucket: the entry is a nested bucket
 * @user_data: data given to gp_bolt_bucket_foreach()
 * @error: return location for a #GError
 *
 * Returns: %FALSE with @error set to stop the walk with that error
 */
typedef gboolean (*GpBoltForeachFunc) (const guint8 *key, gsize key_len, const guint8 *value,
                                       gsize value_len, gboolean is_bucket, gpointer user_data,
                                       GError **error);

GP_API GpBolt *gp_bolt_open (const char *path, GError **error);
GP_API GpBolt *gp_bolt_new_from_data (const guint8 *data, gsize len, const char *name,
                                      GError **error);
GP_API void gp_bolt_free (GpBolt *db);
GP_API const char *gp_bolt_get_path (GpBolt *db);
GP_API guint64 gp_bolt_get_txid (GpBolt *db);
GP_API guint32 gp_bolt_get_page_size (GpBolt *db);
GP_API void gp_bolt_root (GpBolt *db, GpBoltBucket *out);
GP_API gboolean gp_bolt_bucket_foreach (GpBolt *db, const GpBoltBucket *bucket,
                                        GpBoltForeachFunc func, gpointer user_data,
                                        GError **error);
GP_API gboolean gp_bolt_bucket_get (GpBolt *db, const GpBoltBucket *bucket, const char *key,
                                    const guint8 **value, gsize *value_len, gboolean *is_bucket,
                                    GError **error);
GP_API gboolean gp_bolt_bucket_get_bucket (GpBolt *db, const GpBoltBucket *bucket,
                                           const char *key, GpBoltBucket *out, GError **error);
GP_API gboolean gp_bolt_bucket_open_value (GpBolt *db, const GpBoltBucket *parent,
                                           const char *name, const guint8 *value, gsize len,
                                           GpBoltBucket *out, GError **error);
/**
 * GpBoltStats:
 *
 * What gp_bolt_check() walked: pages of each kind (overflow pages are
 * those a page spans beyond its first), buckets (the root one too) and
 * those of them kept inline.
 */
typedef struct {
  guint64 branch_pages;
  guint64 leaf_pages;
  guint64 overflow_pages;
  guint64 buckets;
  guint64 inline_buckets;
  guint64 keys;
} GpBoltStats;

GP_API gboolean gp_bolt_check (GpBolt *db, GpBoltStats *out_stats, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GpBolt, gp_bolt_free)

G_END_DECLS
