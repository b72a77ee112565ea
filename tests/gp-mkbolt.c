/* gp-mkbolt OUT < DESCRIPTION: writes a small bbolt database (the format
 * described in core/format/gp-bbolt.c) for the bad-input cases of the
 * containerd source.  Each line of DESCRIPTION is TAB-separated:
 *
 *   B <bucket> <bucket> ...            a bucket (its parents made too)
 *   K <bucket> ... <key> <value>       a key of the innermost bucket
 *   !selfref <bucket> ...              that bucket's header points at its
 *                                      parent's page (a cycle)
 *   !pagesize N                        page size (default 4096)
 *
 * In values, \xNN is a byte and a whole value `varint:N` is N as a Go
 * binary.PutVarint.  Every bucket gets a leaf page of its own (spilling
 * onto overflow pages), keys sorted; blank lines and lines starting with
 * `#` are skipped.  A test helper: nothing of it is installed.
 */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct Node Node;
struct Node {
  GBytes *key;
  gboolean is_bucket;
  GBytes *value;     /* keys */
  GPtrArray *children; /* buckets: Node * */
  guint64 pgid;
  guint64 n_pages;
  gboolean selfref;
  Node *parent;
};

static guint32 page_size = 4096;

static Node *
node_new (GBytes *key, gboolean is_bucket, Node *parent)
{
  Node *n = g_new0 (Node, 1);
  n->key = key;
  n->is_bucket = is_bucket;
  n->parent = parent;
  if (is_bucket)
    n->children = g_ptr_array_new ();
  return n;
}

static void
node_free (Node *n)
{
  if (n->children != NULL)
    {
      for (guint i = 0; i < n->children->len; i++)
        node_free (n->children->pdata[i]);
      g_ptr_array_unref (n->children);
    }
  g_bytes_unref (n->key);
  if (n->value != NULL)
    g_bytes_unref (n->value);
  g_free (n);
}

static GBytes *
decode_value (const char *s)
{
  if (g_str_has_prefix (s, "varint:"))
    {
      gint64 v = g_ascii_strtoll (s + 7, NULL, 10);
      guint64 u = ((guint64) v << 1) ^ (guint64) (v >> 63);
      guint8 buf[10];
      gsize n = 0;
      while (u >= 0x80)
        {
          buf[n++] = (guint8) (u | 0x80);
          u >>= 7;
        }
      buf[n++] = (guint8) u;
      return g_bytes_new (buf, n);
    }
  GByteArray *b = g_byte_array_new ();
  for (const char *p = s; *p != '\0'; p++)
    {
      if (p[0] == '\\' && p[1] == 'x' && g_ascii_isxdigit (p[2]) && g_ascii_isxdigit (p[3]))
        {
          guint8 c = (guint8) (g_ascii_xdigit_value (p[2]) * 16 + g_ascii_xdigit_value (p[3]));
          g_byte_array_append (b, &c, 1);
          p += 3;
        }
      else
        g_byte_array_append (b, (const guint8 *) p, 1);
    }
  return g_byte_array_free_to_bytes (b);
}

static Node *
child (Node *parent, const char *name, gboolean is_bucket)
{
  GBytes *key = g_bytes_new (name, strlen (name));
  for (guint i = 0; i < parent->children->len; i++)
    {
      Node *c = parent->children->pdata[i];
      if (g_bytes_equal (c->key, key))
        {
          g_bytes_unref (key);
          return c;
        }
    }
  Node *c = node_new (key, is_bucket, parent);
  g_ptr_array_add (parent->children, c);
  return c;
}

static int
compare_nodes (gconstpointer a, gconstpointer b)
{
  const Node *x = *(Node *const *) a, *y = *(Node *const *) b;
  gsize lx, ly;
  const guint8 *px = g_bytes_get_data (x->key, &lx), *py = g_bytes_get_data (y->key, &ly);
  int c = memcmp (px, py, MIN (lx, ly));
  return c != 0 ? c : (lx < ly ? -1 : lx > ly);
}

static gsize
leaf_size (Node *b)
{
  gsize size = 16 + 16 * (gsize) b->children->len;
  for (guint i = 0; i < b->children->len; i++)
    {
      Node *c = b->children->pdata[i];
      size += g_bytes_get_size (c->key) + (c->is_bucket ? 16 : g_bytes_get_size (c->value));
    }
  return size;
}

/* Gives each bucket its pages, depth first. */
static void
allocate (Node *b, guint64 *next)
{
  g_ptr_array_sort (b->children, compare_nodes);
  b->pgid = *next;
  b->n_pages = (leaf_size (b) + page_size - 1) / page_size;
  *next += b->n_pages;
  for (guint i = 0; i < b->children->len; i++)
    {
      Node *c = b->children->pdata[i];
      if (c->is_bucket)
        allocate (c, next);
    }
}

static void
put16 (guint8 *p, guint16 v)
{
  v = GUINT16_TO_LE (v);
  memcpy (p, &v, 2);
}
static void
put32 (guint8 *p, guint32 v)
{
  v = GUINT32_TO_LE (v);
  memcpy (p, &v, 4);
}
static void
put64 (guint8 *p, guint64 v)
{
  v = GUINT64_TO_LE (v);
  memcpy (p, &v, 8);
}

static void
write_leaf (guint8 *file, Node *b)
{
  guint8 *p = file + b->pgid * page_size;
  guint n = b->children->len;
  put64 (p, b->pgid);
  put16 (p + 8, 0x02);
  put16 (p + 10, (guint16) n);
  put32 (p + 12, (guint32) (b->n_pages - 1));
  gsize data = 16 + 16 * (gsize) n;
  for (guint i = 0; i < n; i++)
    {
      Node *c = b->children->pdata[i];
      gsize at = 16 + 16 * (gsize) i;
      gsize klen;
      const guint8 *k = g_bytes_get_data (c->key, &klen);
      guint8 hdr[16] = { 0 };
      const guint8 *v;
      gsize vlen;
      if (c->is_bucket)
        {
          put64 (hdr, c->selfref ? b->pgid : c->pgid);
          v = hdr;
          vlen = 16;
        }
      else
        v = g_bytes_get_data (c->value, &vlen);
      put32 (p + at, c->is_bucket ? 1 : 0);
      put32 (p + at + 4, (guint32) (data - at));
      put32 (p + at + 8, (guint32) klen);
      put32 (p + at + 12, (guint32) vlen);
      memcpy (p + data, k, klen);
      memcpy (p + data + klen, v, vlen);
      data += klen + vlen;
    }
  for (guint i = 0; i < n; i++)
    {
      Node *c = b->children->pdata[i];
      if (c->is_bucket)
        write_leaf (file, c);
    }
}

static guint64
fnv1a64 (const guint8 *p, gsize len)
{
  guint64 h = G_GUINT64_CONSTANT (14695981039346656037);
  for (gsize i = 0; i < len; i++)
    h = (h ^ p[i]) * G_GUINT64_CONSTANT (1099511628211);
  return h;
}

static void
write_meta (guint8 *file, guint64 pgid, guint64 root, guint64 hwm, guint64 txid)
{
  guint8 *p = file + pgid * page_size;
  put64 (p, pgid);
  put16 (p + 8, 0x04);
  guint8 *m = p + 16;
  put32 (m, 0xED0CDAEDu);
  put32 (m + 4, 2);
  put32 (m + 8, page_size);
  put32 (m + 12, 0);
  put64 (m + 16, root);
  put64 (m + 24, 0);
  put64 (m + 32, 2);
  put64 (m + 40, hwm);
  put64 (m + 48, txid);
  put64 (m + 56, fnv1a64 (m, 56));
}

int
main (int argc, char **argv)
{
  if (argc != 2)
    {
      fprintf (stderr, "usage: gp-mkbolt OUT < DESCRIPTION\n");
      return 2;
    }
  Node *root = node_new (g_bytes_new_static ("", 0), TRUE, NULL);
  char line[65536];
  while (fgets (line, sizeof line, stdin) != NULL)
    {
      g_strchomp (line);
      if (line[0] == '\0' || line[0] == '#')
        continue;
      g_auto (GStrv) f = g_strsplit (line, "\t", -1);
      guint n = g_strv_length (f);
      if (strcmp (f[0], "!pagesize") == 0 && n == 2)
        {
          page_size = (guint32) atoi (f[1]);
          continue;
        }
      gboolean key = strcmp (f[0], "K") == 0;
      guint n_buckets = key ? n - 3 : n - 1;
      if ((!key && strcmp (f[0], "B") != 0 && strcmp (f[0], "!selfref") != 0) || n < (key ? 4u : 2u))
        {
          fprintf (stderr, "gp-mkbolt: bad line: %s\n", line);
          return 2;
        }
      Node *b = root;
      for (guint i = 1; i <= n_buckets; i++)
        b = child (b, f[i], TRUE);
      if (strcmp (f[0], "!selfref") == 0)
        b->selfref = TRUE;
      if (key)
        {
          Node *k = child (b, f[n - 2], FALSE);
          if (k->value != NULL)
            g_bytes_unref (k->value);
          k->value = decode_value (f[n - 1]);
        }
    }
  guint64 next = 3;
  allocate (root, &next);
  gsize len = (gsize) next * page_size;
  guint8 *file = g_malloc0 (len);
  write_meta (file, 0, root->pgid, next, 2);
  write_meta (file, 1, root->pgid, next, 1);
  guint8 *fl = file + 2 * page_size;
  put64 (fl, 2);
  put16 (fl + 8, 0x10);
  write_leaf (file, root);
  GError *error = NULL;
  gboolean ok = g_file_set_contents (argv[1], (const char *) file, (gssize) len, &error);
  g_free (file);
  node_free (root);
  if (!ok)
    {
      fprintf (stderr, "gp-mkbolt: %s\n", error->message);
      g_error_free (error);
      return 1;
    }
  return 0;
}
