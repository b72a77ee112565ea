/* graphpipe - tar-split duplicate-path detection (Go path cleaning). */
#include "config.h"

#include "gp-tarsplit.h"
#include "gp-tarsplit-private.h"

#include <string.h>

/**
 * gp_tar_split_clean_path:
 * @path: a path (bytes, need not be NUL-terminated)
 * @len: its length
 * @out_len: (out) (optional): length of the result
 *
 * Cleans @path lexically like Go's `path.Clean` (which is `filepath.Clean`
 * on Unix): repeated `/` collapse, `.` components go, `..` removes the
 * previous component (or stays at the start of a relative path, or
 * vanishes at the root), a trailing `/` goes, and an empty result is `.`.
 * This is the key tar-split uses to refuse duplicate paths (§3.4).
 *
 * Returns: (transfer full): the cleaned path, NUL-terminated (free with
 *   g_free()); it contains NUL bytes only if @path did.
 *
 * Since: 0.1
 */
char *
gp_tar_split_clean_path (const char *path, gsize len, gsize *out_len)
{
  char *out = g_malloc (len + 2);
  gsize w = 0, r = 0, dotdot = 0;
  gboolean rooted = len > 0 && path[0] == '/';

  if (len == 0)
    {
      out[0] = '.';
      out[1] = '\0';
      if (out_len)
        *out_len = 1;
      return out;
    }
  if (rooted)
    {
      out[w++] = '/';
      r = 1;
      dotdot = 1;
    }
  while (r < len)
    {
      if (path[r] == '/')
        r++;
      else if (path[r] == '.' && (r + 1 == len || path[r + 1] == '/'))
        r++;
      else if (path[r] == '.' && path[r + 1] == '.' && (r + 2 == len || path[r + 2] == '/'))
        {
          r += 2;
          if (w > dotdot)
            {
              w--;
              while (w > dotdot && out[w] != '/')
                w--;
            }
          else if (!rooted)
            {
              if (w > 0)
                out[w++] = '/';
              out[w++] = '.';
              out[w++] = '.';
              dotdot = w;
            }
        }
      else
        {
          if ((rooted && w != 1) || (!rooted && w != 0))
            out[w++] = '/';
          for (; r < len && path[r] != '/'; r++)
            out[w++] = path[r];
        }
    }
  if (w == 0)
    out[w++] = '.';
  out[w] = '\0';
  if (out_len)
    *out_len = w;
  return out;
}

static guint
bytes_hash (gconstpointer p)
{
  return g_bytes_hash (p);
}

static gboolean
bytes_equal (gconstpointer a, gconstpointer b)
{
  return g_bytes_equal (a, b);
}

GHashTable *
_gp_tar_split_seen_new (void)
{
  return g_hash_table_new_full (bytes_hash, bytes_equal, (GDestroyNotify) g_bytes_unref, NULL);
}

/* Records the cleaned @name; FALSE if it was there already. */
gboolean
_gp_tar_split_seen_add (GHashTable *seen, const char *name, gsize len)
{
  gsize clen;
  char *clean = gp_tar_split_clean_path (name, len, &clen);
  GBytes *key = g_bytes_new_take (clean, clen);

  if (g_hash_table_contains (seen, key))
    {
      g_bytes_unref (key);
      return FALSE;
    }
  g_hash_table_add (seen, key);
  return TRUE;
}
