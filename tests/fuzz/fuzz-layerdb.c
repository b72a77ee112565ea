/* libFuzzer target: the record files of a 1.10 store as the library
 * loads them: a layer record (`diff`, `size`, `cache-id`, `parent`), a
 * mount record (`mount-id`, `init-id`, `parent`) and distribution
 * metadata (`v2metadata-by-diffid`).  The input is split at "|\n" into
 * the files, in that order; a missing part is a missing file. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gp-digest.h"
#include "gp-safeio.h"
#include "gp-store.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

#define CHAIN "5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"
#define MOUNT "1111111111111111111111111111111111111111111111111111111111111111"

static char *root;
static GpStore *store;

static void
put (const char *dir, const char *name, const guint8 *data, gssize len)
{
  char *path = g_build_filename (dir, name, NULL);
  unlink (path);
  if (len >= 0)
    {
      FILE *f = fopen (path, "wb");
      g_assert (f != NULL);
      g_assert (len == 0 || fwrite (data, 1, (gsize) len, f) == (gsize) len);
      fclose (f);
    }
  g_free (path);
}

static void
remove_root (void)
{
  gp_safeio_remove_tree (root, NULL);
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  static char *layer, *mount;
  if (root == NULL)
    {
      root = g_dir_make_tmp ("gp-fuzz-layerdb-XXXXXX", NULL);
      g_assert (root != NULL);
      atexit (remove_root);
      layer = g_build_filename (root, "image", "vfs", "layerdb", "sha256", CHAIN, NULL);
      mount = g_build_filename (root, "image", "vfs", "layerdb", "mounts", MOUNT, NULL);
      g_assert (g_mkdir_with_parents (layer, 0755) == 0 && g_mkdir_with_parents (mount, 0755) == 0);
      store = gp_store_open (root, "vfs", NULL);
      g_assert (store != NULL);
    }

  /* Split at "|\n". */
  const guint8 *part[8] = { 0 };
  gssize len[8];
  guint n = 0;
  gsize start = 0;
  for (gsize i = 0; n < 8 && i <= size; i++)
    if (i == size || (i + 1 < size && data[i] == '|' && data[i + 1] == '\n'))
      {
        part[n] = data + start;
        len[n] = (gssize) (i - start);
        n++;
        start = i + 2;
        i++;
      }
  for (guint k = n; k < 8; k++)
    len[k] = -1;

  GError *error = NULL;
  put (layer, "diff", part[0], len[0]);
  put (layer, "size", part[1], len[1]);
  put (layer, "cache-id", part[2], len[2]);
  put (layer, "parent", part[3], len[3]);
  GpLayerRecord *rec = gp_store_get_layer (store, "sha256:" CHAIN, &error);
  g_assert ((rec == NULL) == (error != NULL));
  if (rec != NULL)
    {
      g_assert (gp_digest_parse (rec->diff_id, -1, NULL, NULL));
      g_assert (rec->parent == NULL || gp_digest_parse (rec->parent, -1, NULL, NULL));
      g_assert (strlen (rec->cache_id) >= 64);
      gp_layer_record_free (rec);
    }
  g_clear_error (&error);

  put (mount, "mount-id", part[4], len[4]);
  put (mount, "init-id", part[5], len[5]);
  put (mount, "parent", part[6], len[6]);
  GpMountRecord *m = gp_store_get_mount (store, MOUNT, &error);
  g_assert ((m == NULL) == (error != NULL));
  if (m != NULL)
    gp_mount_record_free (m);
  g_clear_error (&error);

  if (len[7] >= 0)
    {
      GPtrArray *list = gp_v2_metadata_parse ((const char *) part[7], (gsize) len[7], "v2metadata", &error);
      g_assert ((list == NULL) == (error != NULL));
      if (list != NULL)
        {
          gsize a_len, b_len;
          char *a = gp_v2_metadata_to_json (list, &a_len);
          GPtrArray *again = gp_v2_metadata_parse (a, a_len, "round trip", NULL);
          g_assert (again != NULL);
          char *b = gp_v2_metadata_to_json (again, &b_len);
          g_assert (a_len == b_len && memcmp (a, b, a_len) == 0);
          g_free (a);
          g_free (b);
          g_ptr_array_unref (again);
          g_ptr_array_unref (list);
        }
      g_clear_error (&error);
    }
  return 0;
}
