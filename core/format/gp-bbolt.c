/* graphpipe - a read-only bbolt reader (see gp-bbolt.h).
 *
 * The file format, as bbolt 1.3 writes it (all integers little-endian):
 *
 *   page      = id u64, flags u16, count u16, overflow u32, then the body;
 *               a page spans (overflow + 1) * page_size bytes at
 *               id * page_size.  Flags: 0x01 branch, 0x02 leaf, 0x04 meta,
 *               0x10 freelist.
 *   meta      = (body of pages 0 and 1) magic u32 0xED0CDAED, version u32 2,
 *               page_size u32, flags u32, root bucket {root u64, sequence
 *               u64}, freelist u64, pgid u64 (the high-water mark: pages
 *               >= pgid are unused), txid u64, checksum u64 = FNV-1a 64 of
 *               the 56 bytes before it.  The valid meta with the larger
 *               txid is the current one.
 *   branch    = count elements {pos u32, ksize u32, pgid u64}: the key is at
 *               the element's address + pos, the child page is pgid.
 *   leaf      = count elements {flags u32, pos u32, ksize u32, vsize u32}:
 *               key at the element's address + pos, the value right after
 *               it; flags 0x01 = the value is a nested bucket.
 *   bucket    = (a value) root u64, sequence u64; root 0 = an inline
 *               bucket: a leaf page (header + elements) follows in the
 *               value.
 */
#include "config.h"

#include "gp-bbolt.h"
#include "gp-error.h"

#include <gio/gio.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BOLT_MAGIC 0xED0CDAEDu
#define BOLT_VERSION 2u
#define PAGE_HEADER 16
#define ELEMENT_SIZE 16
#define META_CHECKSUMMED 56
#define BUCKET_HEADER 16

#define FLAG_BRANCH 0x01
#define FLAG_LEAF 0x02
#define FLAG_META 0x04
#define FLAG_FREELIST 0x10
#define LEAF_BUCKET 0x01

#define NO_FREELIST G_GUINT64_CONSTANT (0xffffffffffffffff)

struct _GpBolt {
  char *path;
  guint8 *data;
  gsize len;
  guint32 page_size;
  guint64 hwm;
  guint64 root;
  guint64 txid;
  guint meta_page;
};

static guint16
rd16 (const guint8 *p)
{
  guint16 v;
  memcpy (&v, p, sizeof v);
  return GUINT16_FROM_LE (v);
}

static guint32
rd32 (const guint8 *p)
{
  guint32 v;
  memcpy (&v, p, sizeof v);
  return GUINT32_FROM_LE (v);
}

static guint64
rd64 (const guint8 *p)
{
  guint64 v;
  memcpy (&v, p, sizeof v);
  return GUINT64_FROM_LE (v);
}

static guint64
fnv1a64 (const guint8 *p, gsize len)
{
  guint64 h = G_GUINT64_CONSTANT (14695981039346656037);
  for (gsize i = 0; i < len; i++)
    {
      h ^= p[i];
      h *= G_GUINT64_CONSTANT (1099511628211);
    }
  return h;
}

typedef struct {
  guint32 page_size;
  guint64 root, freelist, pgid, txid;
} Meta;

/* Checks the meta page at @off; on failure sets @why (static text). */
static gboolean
read_meta (const guint8 *data, gsize len, gsize off, Meta *m, const char **why)
{
  if (off > len || len - off < PAGE_HEADER + META_CHECKSUMMED + 8)
    {
      *why = "beyond the end of the file";
      return FALSE;
    }
  const guint8 *p = data + off;
  const guint8 *b = p + PAGE_HEADER;
  if (rd32 (b) != BOLT_MAGIC)
    {
      *why = "no bbolt magic number";
      return FALSE;
    }
  if (rd32 (b + 4) != BOLT_VERSION)
    {
      *why = "not bbolt format version 2";
      return FALSE;
    }
  if (rd64 (b + META_CHECKSUMMED) != fnv1a64 (b, META_CHECKSUMMED))
    {
      *why = "checksum mismatch";
      return FALSE;
    }
  if ((rd16 (p + 8) & FLAG_META) == 0)
    {
      *why = "not flagged as a meta page";
      return FALSE;
    }
  m->page_size = rd32 (b + 8);
  m->root = rd64 (b + 16);
  m->freelist = rd64 (b + 32);
  m->pgid = rd64 (b + 40);
  m->txid = rd64 (b + 48);
  if (m->page_size < 512 || m->page_size > (1u << 20) || (m->page_size & (m->page_size - 1)) != 0)
    {
      *why = "page size not a power of two between 512 and 1 MiB";
      return FALSE;
    }
  if (m->pgid < 3 || m->root < 2 || m->root >= m->pgid
      || (m->freelist != NO_FREELIST && (m->freelist < 2 || m->freelist >= m->pgid)))
    {
      *why = "root or freelist page outside the pages in use";
      return FALSE;
    }
  return TRUE;
}

static gboolean
setup (GpBolt *db, GError **error)
{
  Meta m0 = { 0 }, m1 = { 0 };
  const char *why0 = NULL, *why1 = NULL;
  gboolean ok0 = read_meta (db->data, db->len, 0, &m0, &why0);
  gboolean ok1 = FALSE;
  /* Meta page 1 is one page in: at the size meta 0 records (even when its
   * checksum fails), else at the first plausible size where one is. */
  guint32 ps0 = ok0 ? m0.page_size
                    : db->len >= PAGE_HEADER + 12 ? rd32 (db->data + PAGE_HEADER + 8) : 0;
  if (ps0 >= 512 && ps0 <= (1u << 20) && (ps0 & (ps0 - 1)) == 0)
    {
      ok1 = read_meta (db->data, db->len, ps0, &m1, &why1);
      if (ok1 && m1.page_size != ps0)
        {
          ok1 = FALSE;
          why1 = "page size differs from meta page 0";
        }
    }
  else
    {
      why1 = "not found at any page size";
      for (guint32 ps = 512; ps <= (1u << 20) && !ok1; ps <<= 1)
        {
          const char *w = NULL;
          if (read_meta (db->data, db->len, ps, &m1, &w) && m1.page_size == ps)
            ok1 = TRUE;
        }
    }
  if (!ok0 && !ok1)
    {
      if (db->len < PAGE_HEADER + META_CHECKSUMMED + 8)
        g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_INVALID,
                     "%s: not a bbolt database (%" G_GSIZE_FORMAT " bytes)", db->path, db->len);
      else
        g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_INVALID,
                     "%s: not a bbolt database, or both meta pages are damaged "
                     "(meta page 0: %s; meta page 1: %s)",
                     db->path, why0, why1);
      return FALSE;
    }
  const Meta *m = !ok1 || (ok0 && m0.txid >= m1.txid) ? &m0 : &m1;
  db->meta_page = m == &m0 ? 0 : 1;
  db->page_size = m->page_size;
  db->hwm = m->pgid;
  db->root = m->root;
  db->txid = m->txid;
  if (db->hwm > db->len / db->page_size)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_SIZE,
                   "%s: truncated: meta page %u (txid %" G_GUINT64_FORMAT ") counts %" G_GUINT64_FORMAT
                   " pages of %u bytes, the file has %" G_GSIZE_FORMAT " bytes",
                   db->path, db->meta_page, db->txid, db->hwm, db->page_size, db->len);
      return FALSE;
    }
  return TRUE;
}

/**
 * gp_bolt_new_from_data:
 * @data: (array length=len): the bytes of a database file
 * @len: their length
 * @name: (nullable): what errors call it (a file name)
 * @error: return location for a #GError
 *
 * Reads a database from memory (a copy is kept), as gp_bolt_open() does.
 *
 * Returns: (transfer full): the database, free with gp_bolt_free(); %NULL
 *   with @error set (%GP_DATA_ERROR) when neither meta page is valid or
 *   the data is shorter than the pages the current one counts
 * Since: 0.1
 */
GpBolt *
gp_bolt_new_from_data (const guint8 *data, gsize len, const char *name, GError **error)
{
  GpBolt *db = g_new0 (GpBolt, 1);
  db->path = g_strdup (name != NULL ? name : "bbolt database");
  db->data = g_memdup2 (data != NULL ? data : (const guint8 *) "", len);
  db->len = len;
  if (!setup (db, error))
    {
      gp_bolt_free (db);
      return NULL;
    }
  return db;
}

/**
 * gp_bolt_open:
 * @path: a bbolt database file
 * @error: return location for a #GError
 *
 * Reads the whole file into memory (it is never written or locked) and
 * picks its current meta page: of the two whose magic, version and FNV-1a
 * checksum are right, the one with the larger txid.
 *
 * Returns: (transfer full): the database, free with gp_bolt_free(); %NULL
 *   with @error set (%GP_DATA_ERROR_MISSING, %G_IO_ERROR, or
 *   %GP_DATA_ERROR_INVALID / %GP_DATA_ERROR_SIZE naming @path)
 * Since: 0.1
 */
GpBolt *
gp_bolt_open (const char *path, GError **error)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  struct stat st;
  if (fd < 0 || fstat (fd, &st) != 0)
    {
      int e = errno;
      if (fd >= 0)
        close (fd);
      g_set_error (error, e == ENOENT ? GP_DATA_ERROR : G_IO_ERROR,
                   e == ENOENT ? GP_DATA_ERROR_MISSING : g_io_error_from_errno (e),
                   "%s: cannot open: %s", path, g_strerror (e));
      return NULL;
    }
  if (!S_ISREG (st.st_mode))
    {
      close (fd);
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_NOT_REGULAR,
                   "%s: not a regular file", path);
      return NULL;
    }
  if ((guint64) st.st_size > G_MAXSIZE / 2)
    {
      close (fd);
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_SIZE, "%s: too large", path);
      return NULL;
    }
  gsize want = (gsize) st.st_size, got = 0;
  guint8 *buf = g_malloc (want > 0 ? want : 1);
  while (got < want)
    {
      ssize_t n = read (fd, buf + got, want - got);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int e = errno;
          close (fd);
          g_free (buf);
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "%s: cannot read: %s",
                       path, g_strerror (e));
          return NULL;
        }
      if (n == 0)
        break; /* shrank while read: check what is there */
      got += (gsize) n;
    }
  close (fd);
  GpBolt *db = g_new0 (GpBolt, 1);
  db->path = g_strdup (path);
  db->data = buf;
  db->len = got;
  if (!setup (db, error))
    {
      gp_bolt_free (db);
      return NULL;
    }
  return db;
}

/**
 * gp_bolt_free:
 * @db: (nullable): a database
 *
 * Frees @db; the buckets and values read from it are invalid afterwards.
 * Since: 0.1
 */
void
gp_bolt_free (GpBolt *db)
{
  if (db == NULL)
    return;
  g_free (db->path);
  g_free (db->data);
  g_free (db);
}

/**
 * gp_bolt_get_path:
 * @db: a database
 *
 * Returns: (transfer none): the name errors give it (its file name)
 * Since: 0.1
 */
const char *
gp_bolt_get_path (GpBolt *db)
{
  return db->path;
}

/**
 * gp_bolt_get_txid:
 * @db: a database
 *
 * Returns: the transaction ID of the meta page in use
 * Since: 0.1
 */
guint64
gp_bolt_get_txid (GpBolt *db)
{
  return db->txid;
}

/**
 * gp_bolt_get_page_size:
 * @db: a database
 *
 * Returns: its page size in bytes
 * Since: 0.1
 */
guint32
gp_bolt_get_page_size (GpBolt *db)
{
  return db->page_size;
}

/**
 * gp_bolt_root:
 * @db: a database
 * @out: (out caller-allocates): the root bucket
 *
 * The root bucket, whose keys are the top-level buckets.
 * Since: 0.1
 */
void
gp_bolt_root (GpBolt *db, GpBoltBucket *out)
{
  memset (out, 0, sizeof *out);
  out->root = db->root;
  g_strlcpy (out->name, "(root)", sizeof out->name);
}

/* A bucket's name for messages. */
static const char *
bucket_name (const GpBoltBucket *b)
{
  return b->name[0] != '\0' ? b->name : "?";
}

/* The page @pgid of @db, checked: in the file, under the high-water mark,
 * its header naming it. */
static gboolean
get_page (GpBolt *db, const GpBoltBucket *b, guint64 pgid, const guint8 **out, gsize *out_span,
          GError **error)
{
  if (pgid < 2 || pgid >= db->hwm)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_INVALID,
                   "%s: bucket %s: page %" G_GUINT64_FORMAT " is %s (%" G_GUINT64_FORMAT
                   " pages in use)",
                   db->path, bucket_name (b), pgid, pgid < 2 ? "a meta page" : "beyond the pages in use",
                   db->hwm);
      return FALSE;
    }
  /* hwm <= len / page_size (setup), so the header is in the file */
  const guint8 *p = db->data + pgid * db->page_size;
  guint64 overflow = rd32 (p + 12);
  if (overflow >= db->hwm - pgid)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_INVALID,
                   "%s: bucket %s: page %" G_GUINT64_FORMAT " overflows by %" G_GUINT64_FORMAT
                   " pages, beyond the %" G_GUINT64_FORMAT " pages in use",
                   db->path, bucket_name (b), pgid, overflow, db->hwm);
      return FALSE;
    }
  guint64 id = rd64 (p);
  if (id != pgid)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_INVALID,
                   "%s: bucket %s: page %" G_GUINT64_FORMAT " has the header of page %" G_GUINT64_FORMAT,
                   db->path, bucket_name (b), pgid, id);
      return FALSE;
    }
  *out = p;
  *out_span = (gsize) ((overflow + 1) * db->page_size);
  return TRUE;
}

typedef struct {
  GpBolt *db;
  const GpBoltBucket *bucket;
  GHashTable *visited;
  GpBoltForeachFunc func;
  gpointer user_data;
  /* gp_bolt_bucket_get(): the key sought, and what was found */
  const char *want;
  gsize want_len;
  GpBoltStats *stats; /* gp_bolt_check(): counts, or NULL */
  gboolean found;
  const guint8 *value;
  gsize value_len;
  gboolean is_bucket;
} Walk;

/* Walks one page (span bytes at p; pgid 0 = inline).  Returns -1 on
 * error, 0 to stop (found), 1 to go on. */
static int
walk_page (Walk *w, const guint8 *p, gsize span, guint64 pgid, guint depth, GError **error)
{
  GpBolt *db = w->db;
  const char *name = bucket_name (w->bucket);
  g_autofree char *where = pgid != 0 ? g_strdup_printf ("page %" G_GUINT64_FORMAT, pgid)
                                     : g_strdup ("inline page");
  guint16 flags = rd16 (p + 8);
  guint64 count = rd16 (p + 10);
  if (PAGE_HEADER + count * ELEMENT_SIZE > span)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_INVALID,
                   "%s: bucket %s: %s: %" G_GUINT64_FORMAT " elements do not fit in %" G_GSIZE_FORMAT
                   " bytes",
                   db->path, name, where, count, span);
      return -1;
    }
  if (w->stats != NULL && pgid != 0)
    w->stats->overflow_pages += span / db->page_size - 1;
  if (flags & FLAG_LEAF)
    {
      if (w->stats != NULL)
        w->stats->leaf_pages++;
      for (guint64 i = 0; i < count; i++)
        {
          gsize at = PAGE_HEADER + (gsize) i * ELEMENT_SIZE;
          const guint8 *e = p + at;
          guint32 eflags = rd32 (e);
          guint64 pos = rd32 (e + 4), ksize = rd32 (e + 8), vsize = rd32 (e + 12);
          if (at + pos + ksize + vsize > span)
            {
              g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_INVALID,
                           "%s: bucket %s: %s: element %" G_GUINT64_FORMAT
                           " lies outside the page", db->path, name, where, i);
              return -1;
            }
          const guint8 *key = e + pos;
          const guint8 *val = key + ksize;
          gboolean is_bucket = (eflags & LEAF_BUCKET) != 0;
          if (w->want != NULL)
            {
              if (ksize == w->want_len && memcmp (key, w->want, ksize) == 0)
                {
                  w->found = TRUE;
                  w->value = val;
                  w->value_len = vsize;
                  w->is_bucket = is_bucket;
                  return 0;
                }
              continue;
            }
          if (!w->func (key, ksize, val, vsize, is_bucket, w->user_data, error))
            return -1;
        }
      return 1;
    }
  if (!(flags & FLAG_BRANCH) || pgid == 0)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_INVALID,
                   "%s: bucket %s: %s: flags 0x%x, not a %s page", db->path, name, where, flags,
                   pgid == 0 ? "leaf (inline buckets hold one leaf)" : "branch or leaf");
      return -1;
    }
  if (depth >= GP_BOLT_MAX_DEPTH)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_CYCLE,
                   "%s: bucket %s: %s: branch pages nested deeper than %d", db->path, name, where,
                   GP_BOLT_MAX_DEPTH);
      return -1;
    }
  if (w->stats != NULL)
    w->stats->branch_pages++;
  for (guint64 i = 0; i < count; i++)
    {
      gsize at = PAGE_HEADER + (gsize) i * ELEMENT_SIZE;
      const guint8 *e = p + at;
      guint64 pos = rd32 (e), ksize = rd32 (e + 4);
      guint64 child = rd64 (e + 8);
      if (at + pos + ksize > span)
        {
          g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_INVALID,
                       "%s: bucket %s: %s: element %" G_GUINT64_FORMAT " lies outside the page",
                       db->path, name, where, i);
          return -1;
        }
      if (g_hash_table_contains (w->visited, &child))
        {
          g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_CYCLE,
                       "%s: bucket %s: %s: element %" G_GUINT64_FORMAT " points to page %"
                       G_GUINT64_FORMAT ", reached already (a cycle of pages)",
                       db->path, name, where, i, child);
          return -1;
        }
      const guint8 *cp;
      gsize cspan;
      if (!get_page (db, w->bucket, child, &cp, &cspan, error))
        return -1;
      guint64 *key = g_new (guint64, 1);
      *key = child;
      g_hash_table_add (w->visited, key);
      int r = walk_page (w, cp, cspan, child, depth + 1, error);
      if (r <= 0)
        return r;
    }
  return 1;
}

/* Walks a bucket's pages; @shared: pages reached already (all buckets of
 * gp_bolt_check(), where no page may belong to two), or NULL. */
static int
walk_bucket (Walk *w, GHashTable *shared, GError **error)
{
  const GpBoltBucket *b = w->bucket;
  g_autoptr (GHashTable) own = shared == NULL
    ? g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL) : NULL;
  GHashTable *visited = shared != NULL ? shared : own;
  w->visited = visited;
  if (b->root == 0)
    {
      if (b->inline_page == NULL || b->inline_len < PAGE_HEADER)
        {
          g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_INVALID,
                       "%s: bucket %s: inline page shorter than a page header", w->db->path,
                       bucket_name (b));
          return -1;
        }
      return walk_page (w, b->inline_page, b->inline_len, 0, 0, error);
    }
  const guint8 *p;
  gsize span;
  if (!get_page (w->db, b, b->root, &p, &span, error))
    return -1;
  if (g_hash_table_contains (visited, &b->root))
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_CYCLE,
                   "%s: bucket %s: root page %" G_GUINT64_FORMAT " reached already (pages shared "
                   "or a cycle)", w->db->path, bucket_name (b), b->root);
      return -1;
    }
  guint64 *key = g_new (guint64, 1);
  *key = b->root;
  g_hash_table_add (visited, key);
  return walk_page (w, p, span, b->root, 0, error);
}

/**
 * gp_bolt_bucket_foreach:
 * @db: a database
 * @bucket: one of its buckets
 * @func: (scope call): called for each key, in page order
 * @user_data: passed to @func
 * @error: return location for a #GError
 *
 * Walks the pages of @bucket (not of the buckets nested in it), checking
 * each as it is reached; the key and value pointers given to @func point
 * into @db's buffer.
 *
 * Returns: %FALSE with @error set when a page is damaged (naming the file,
 *   bucket and page; %GP_DATA_ERROR_CYCLE for a page reached twice or too
 *   deep a tree) or @func failed
 * Since: 0.1
 */
gboolean
gp_bolt_bucket_foreach (GpBolt *db, const GpBoltBucket *bucket, GpBoltForeachFunc func,
                        gpointer user_data, GError **error)
{
  Walk w = { .db = db, .bucket = bucket, .func = func, .user_data = user_data };
  return walk_bucket (&w, NULL, error) >= 0;
}

/**
 * gp_bolt_bucket_get:
 * @db: a database
 * @bucket: one of its buckets
 * @key: the key sought (a string)
 * @value: (out) (optional) (transfer none): its value, in @db's buffer
 * @value_len: (out) (optional): the value's length
 * @is_bucket: (out) (optional): whether it is a nested bucket
 * @error: return location for a #GError
 *
 * Returns: %FALSE with @error set: %GP_DATA_ERROR_MISSING when there is no
 *   such key, as gp_bolt_bucket_foreach() for a damaged page
 * Since: 0.1
 */
gboolean
gp_bolt_bucket_get (GpBolt *db, const GpBoltBucket *bucket, const char *key,
                    const guint8 **value, gsize *value_len, gboolean *is_bucket, GError **error)
{
  Walk w = { .db = db, .bucket = bucket, .want = key, .want_len = strlen (key) };
  if (walk_bucket (&w, NULL, error) < 0)
    return FALSE;
  if (!w.found)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING, "%s: bucket %s has no key %s",
                   db->path, bucket_name (bucket), key);
      return FALSE;
    }
  if (value != NULL)
    *value = w.value;
  if (value_len != NULL)
    *value_len = w.value_len;
  if (is_bucket != NULL)
    *is_bucket = w.is_bucket;
  return TRUE;
}

/* A bucket's path for messages, cut to fit. */
static void
set_name (GpBoltBucket *out, const GpBoltBucket *parent, const char *name)
{
  if (parent == NULL || parent->depth == 0)
    g_snprintf (out->name, sizeof out->name, "%s", name);
  else
    g_snprintf (out->name, sizeof out->name, "%s/%s", parent->name, name);
}

/**
 * gp_bolt_bucket_open_value:
 * @db: a database
 * @parent: (nullable): the bucket holding the value
 * @name: the key, for messages (the new bucket's path is @parent's/@name)
 * @value: (array length=len): a nested bucket's value
 * @len: its length
 * @out: (out caller-allocates): the bucket
 * @error: return location for a #GError
 *
 * Reads a bucket header (and for an inline bucket the page after it).
 *
 * Returns: %FALSE with @error set when the value is too short or the
 *   nesting deeper than %GP_BOLT_MAX_DEPTH
 * Since: 0.1
 */
gboolean
gp_bolt_bucket_open_value (GpBolt *db, const GpBoltBucket *parent, const char *name,
                           const guint8 *value, gsize len, GpBoltBucket *out, GError **error)
{
  guint depth = parent != NULL ? parent->depth + 1 : 1;
  memset (out, 0, sizeof *out);
  set_name (out, parent, name);
  const char *full = out->name;
  if (depth > GP_BOLT_MAX_DEPTH)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_CYCLE,
                   "%s: bucket %s: buckets nested deeper than %d", db->path, full,
                   GP_BOLT_MAX_DEPTH);
      return FALSE;
    }
  if (len < BUCKET_HEADER)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_INVALID,
                   "%s: bucket %s: its record has %" G_GSIZE_FORMAT " bytes, less than a bucket header",
                   db->path, full, len);
      return FALSE;
    }
  out->root = rd64 (value);
  out->depth = depth;
  if (out->root == 0)
    {
      out->inline_page = value + BUCKET_HEADER;
      out->inline_len = len - BUCKET_HEADER;
      if (out->inline_len < PAGE_HEADER)
        {
          g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_INVALID,
                       "%s: bucket %s: inline page shorter than a page header", db->path, full);
          return FALSE;
        }
    }
  return TRUE;
}

/**
 * gp_bolt_bucket_get_bucket:
 * @db: a database
 * @bucket: one of its buckets
 * @key: the nested bucket's key
 * @out: (out caller-allocates): the nested bucket
 * @error: return location for a #GError
 *
 * Returns: %FALSE with @error set: as gp_bolt_bucket_get(), or
 *   %GP_DATA_ERROR_INVALID when @key holds a plain value
 * Since: 0.1
 */
gboolean
gp_bolt_bucket_get_bucket (GpBolt *db, const GpBoltBucket *bucket, const char *key,
                           GpBoltBucket *out, GError **error)
{
  const guint8 *value;
  gsize len;
  gboolean is_bucket;
  if (!gp_bolt_bucket_get (db, bucket, key, &value, &len, &is_bucket, error))
    return FALSE;
  if (!is_bucket)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_INVALID,
                   "%s: bucket %s: key %s is a value, not a bucket", db->path,
                   bucket_name (bucket), key);
      return FALSE;
    }
  return gp_bolt_bucket_open_value (db, bucket, key, value, len, out, error);
}

/* ---- gp_bolt_check(): every bucket, recursively ---- */

typedef struct {
  GpBolt *db;
  const GpBoltBucket *bucket;
  GHashTable *visited; /* every page reached, in all buckets */
  GpBoltStats *stats;
} Check;

static gboolean check_bucket (GpBolt *db, const GpBoltBucket *b, GHashTable *visited,
                              GpBoltStats *stats, GError **error);

static gboolean
check_entry (const guint8 *key, gsize key_len, const guint8 *value, gsize value_len,
             gboolean is_bucket, gpointer user_data, GError **error)
{
  Check *c = user_data;
  if (!is_bucket)
    {
      c->stats->keys++;
      return TRUE;
    }
  g_autofree char *name = g_utf8_make_valid ((const char *) key, (gssize) key_len);
  GpBoltBucket child;
  return gp_bolt_bucket_open_value (c->db, c->bucket, name, value, value_len, &child, error)
         && check_bucket (c->db, &child, c->visited, c->stats, error);
}

static gboolean
check_bucket (GpBolt *db, const GpBoltBucket *b, GHashTable *visited, GpBoltStats *stats,
              GError **error)
{
  Check c = { .db = db, .bucket = b, .visited = visited, .stats = stats };
  Walk w = { .db = db, .bucket = b, .func = check_entry, .user_data = &c, .stats = stats };
  stats->buckets++;
  if (b->root == 0)
    stats->inline_buckets++;
  return walk_bucket (&w, visited, error) >= 0;
}

/**
 * gp_bolt_check:
 * @db: a database
 * @out_stats: (out caller-allocates) (optional): what was walked
 * @error: return location for a #GError
 *
 * Walks every page of every bucket, checking each as it is reached; no
 * page may be reached twice.
 *
 * Returns: %FALSE with @error set at the first damaged page
 * Since: 0.1
 */
gboolean
gp_bolt_check (GpBolt *db, GpBoltStats *out_stats, GError **error)
{
  GpBoltStats stats = { 0 };
  GpBoltBucket root;
  gp_bolt_root (db, &root);
  g_autoptr (GHashTable) visited = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                                          NULL);
  if (!check_bucket (db, &root, visited, &stats, error))
    return FALSE;
  if (out_stats != NULL)
    *out_stats = stats;
  return TRUE;
}
