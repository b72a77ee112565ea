/* libFuzzer target: the bbolt reader (core/format/gp-bbolt.c) on any
 * bytes: open (meta pages), walk every bucket with gp_bolt_check(), and
 * look up a few keys as the containerd source does.  Seed: a small
 * database written from the format's description
 * (tests/fuzz/make-bolt-seed.py). */
#include "config.h"

#include "gp-bbolt.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  GError *error = NULL;
  GpBolt *db = gp_bolt_new_from_data (data, size, "fuzz.db", &error);
  if (db == NULL)
    {
      g_assert (error != NULL);
      g_error_free (error);
      return 0;
    }
  if (!gp_bolt_check (db, NULL, &error))
    g_clear_error (&error);
  GpBoltBucket root, v1, ns;
  gp_bolt_root (db, &root);
  if (gp_bolt_bucket_get_bucket (db, &root, "v1", &v1, &error)
      && gp_bolt_bucket_get_bucket (db, &v1, "default", &ns, &error))
    {
      const guint8 *value;
      gsize len;
      gboolean is_bucket;
      if (!gp_bolt_bucket_get (db, &ns, "k", &value, &len, &is_bucket, &error))
        g_clear_error (&error);
    }
  g_clear_error (&error);
  gp_bolt_free (db);
  return 0;
}
