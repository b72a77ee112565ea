/* gp-bolt-dump FILE: every bucket and key of a bbolt database, one line
 * each, through graphpipe's reader (gp-bbolt.h):
 *
 *   B <path>                a bucket (path: keys joined by '/')
 *   K <path> <value>        a key; the value printable as is, else hex:<hex>
 *
 * gp-bolt-dump --check FILE: gp_bolt_check() only, printing what it
 * walked (`branch N leaf N overflow N buckets N inline N keys N`).  Errors go to stderr
 * and exit 1.  A test helper (tests/containerd-bolt.sh).
 */
#include "config.h"

#include <graphpipe.h>

#include <stdio.h>
#include <string.h>

typedef struct {
  GpBolt *db;
  const GpBoltBucket *bucket;
  const char *path;
} Dump;

static gboolean dump_bucket (GpBolt *db, const GpBoltBucket *b, const char *path, GError **error);

static char *
printable (const guint8 *p, gsize len)
{
  gboolean plain = TRUE;
  for (gsize i = 0; i < len && plain; i++)
    plain = p[i] >= 0x21 && p[i] < 0x7f;
  if (plain)
    return g_strndup ((const char *) p, len);
  GString *s = g_string_new ("hex:");
  for (gsize i = 0; i < len; i++)
    g_string_append_printf (s, "%02x", p[i]);
  return g_string_free (s, FALSE);
}

static gboolean
dump_entry (const guint8 *key, gsize key_len, const guint8 *value, gsize value_len,
            gboolean is_bucket, gpointer user_data, GError **error)
{
  Dump *d = user_data;
  g_autofree char *k = printable (key, key_len);
  g_autofree char *path = *d->path != '\0' ? g_strconcat (d->path, "/", k, NULL) : g_strdup (k);
  if (!is_bucket)
    {
      g_autofree char *v = printable (value, value_len);
      printf ("K %s %s\n", path, v);
      return TRUE;
    }
  printf ("B %s\n", path);
  GpBoltBucket child;
  return gp_bolt_bucket_open_value (d->db, d->bucket, k, value, value_len, &child, error)
         && dump_bucket (d->db, &child, path, error);
}

static gboolean
dump_bucket (GpBolt *db, const GpBoltBucket *b, const char *path, GError **error)
{
  Dump d = { .db = db, .bucket = b, .path = path };
  return gp_bolt_bucket_foreach (db, b, dump_entry, &d, error);
}

int
main (int argc, char **argv)
{
  gboolean check = argc == 3 && strcmp (argv[1], "--check") == 0;
  if (argc != 2 && !check)
    {
      fprintf (stderr, "usage: gp-bolt-dump [--check] FILE\n");
      return 2;
    }
  g_autoptr (GError) error = NULL;
  g_autoptr (GpBolt) db = gp_bolt_open (argv[argc - 1], &error);
  gboolean ok = db != NULL;
  GpBoltStats stats;
  if (ok && check && (ok = gp_bolt_check (db, &stats, &error)))
    printf ("branch %" G_GUINT64_FORMAT " leaf %" G_GUINT64_FORMAT " overflow %" G_GUINT64_FORMAT
            " buckets %" G_GUINT64_FORMAT " inline %" G_GUINT64_FORMAT " keys %" G_GUINT64_FORMAT
            "\n", stats.branch_pages, stats.leaf_pages, stats.overflow_pages, stats.buckets,
            stats.inline_buckets, stats.keys);
  else if (ok)
    {
      GpBoltBucket root;
      gp_bolt_root (db, &root);
      ok = dump_bucket (db, &root, "", &error);
    }
  if (!ok)
    {
      fprintf (stderr, "gp-bolt-dump: %s\n", error->message);
      return 1;
    }
  return 0;
}
