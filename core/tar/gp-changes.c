/* graphpipe - the fallback layer Diff (Docker's ChangesDirs, ExportChanges
 * and the storage drivers' Diff). */
#include "config.h"

/* O_PATH, AT_* and friends (configure normally defines this through
 * AC_USE_SYSTEM_EXTENSIONS). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "gp-archive.h"
#include "gp-archive-private.h"

#include "gp-error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#define WHITEOUT_PREFIX ".wh."

/* ------------------------------------------------------------------------
 * Naive diff (Docker's ChangesDirs + ExportChanges)
 * ------------------------------------------------------------------------ */

typedef struct _Node Node;
struct _Node {
  char       *name;
  Node       *parent;
  GHashTable *children; /* name -> Node*, owned; NULL when empty */
  guint32     mode;
  guint32     uid;
  guint32     gid;
  guint64     rdev;
  gint64      size;
  gint64      mtime_sec;
  glong       mtime_nsec;
  GpXattrValue  cap;
  gboolean    added;
};

static void
node_free (gpointer p)
{
  Node *node = p;
  if (node == NULL)
    return;
  g_clear_pointer (&node->children, g_hash_table_unref);
  _gp_xattr_value_clear (&node->cap);
  g_free (node->name);
  g_free (node);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Node, node_free)

static Node *
node_new_root (void)
{
  return g_new0 (Node, 1);
}

static Node *
node_add_child (Node *parent, const char *name, const struct stat *st)
{
  Node *node = g_new0 (Node, 1);
  node->name = g_strdup (name);
  node->parent = parent;
  node->mode = st->st_mode;
  node->uid = st->st_uid;
  node->gid = st->st_gid;
  node->rdev = st->st_rdev;
  node->size = st->st_size;
  node->mtime_sec = st->st_mtim.tv_sec;
  node->mtime_nsec = st->st_mtim.tv_nsec;
  if (parent->children == NULL)
    parent->children = g_hash_table_new_full (g_str_hash, g_str_equal,
                                              NULL, node_free);
  g_hash_table_replace (parent->children, node->name, node);
  return node;
}

/* Docker's FileInfo.isDir: the root, or the S_IFDIR bit set (sic). */
static gboolean
node_is_dir (const Node *node)
{
  return node->parent == NULL || (node->mode & S_IFDIR) != 0;
}

static char *
node_path (const Node *node)
{
  if (node->parent == NULL)
    return g_strdup ("/");
  g_autoptr(GPtrArray) parts = g_ptr_array_new ();
  for (const Node *n = node; n->parent != NULL; n = n->parent)
    g_ptr_array_add (parts, n->name);
  GString *s = g_string_new (NULL);
  for (guint i = parts->len; i-- > 0;)
    {
      g_string_append_c (s, '/');
      g_string_append (s, parts->pdata[i]);
    }
  return g_string_free (s, FALSE);
}

typedef struct {
  int           base1; /* old (parent layer) */
  int           base2; /* new (this layer) */
  const char   *path1;
  const char   *path2;
  GCancellable *cancellable;
} Walker;

/* One side of the parallel walk: registers @name (found under @dir_fd,
 * full path @what) in the tree below @parent, with its capability. */
static Node *
walk_register (Node *parent, int dir_fd, const char *name,
               const struct stat *st, const char *what)
{
  Node *node = node_add_child (parent, name, st);
  _gp_archive_read_capability (dir_fd, name, -1, what, &node->cap);
  return node;
}

static gboolean
lstat_optional (int dir_fd, const char *name, struct stat *st,
                gboolean *exists, const char *what, GError **error)
{
  if (fstatat (dir_fd, name, st, AT_SYMLINK_NOFOLLOW) == 0)
    {
      *exists = TRUE;
      return TRUE;
    }
  if (errno == ENOENT)
    {
      *exists = FALSE;
      return TRUE;
    }
  return _gp_archive_set_errno_error (error, errno, what, "cannot lstat");
}

/* Docker's walker.walk for the pair of directories @rel in both trees.
 * @pfd1/@pfd2 are the parent directories (or -1), @name the entry in
 * them; @node1/@node2 the registered nodes (or NULL); s1/s2 their stat. */
static gboolean
walk_pair (Walker            *w,
           const char        *rel,
           int                pfd1,
           int                pfd2,
           const char        *name,
           Node              *node1,
           Node              *node2,
           const struct stat *s1,
           const struct stat *s2,
           GError           **error)
{
  gboolean is1dir = s1 != NULL && S_ISDIR (s1->st_mode);
  gboolean is2dir = s2 != NULL && S_ISDIR (s2->st_mode);
  gboolean same_device = s1 != NULL && s2 != NULL && s1->st_dev == s2->st_dev;

  if (!is1dir && !is2dir)
    return TRUE;
  if (g_cancellable_set_error_if_cancelled (w->cancellable, error))
    return FALSE;

  g_autofree char *what1 = g_strconcat (w->path1, rel, NULL);
  g_autofree char *what2 = g_strconcat (w->path2, rel, NULL);
  g_autoptr(GArray) names1 = NULL;
  g_autoptr(GArray) names2 = NULL;
  g_auto(GpFd) dfd1 = -1;
  g_auto(GpFd) dfd2 = -1;
  if (is1dir)
    {
      names1 = _gp_archive_read_dir_sorted (pfd1, name, what1, &dfd1, error);
      if (names1 == NULL)
        return FALSE;
    }
  if (is2dir)
    {
      names2 = _gp_archive_read_dir_sorted (pfd2, name, what2, &dfd2, error);
      if (names2 == NULL)
        return FALSE;
    }

  /* Merge; a name in both with the same inode on the same device is
   * unchanged and pruned from both trees. */
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  guint n1 = names1 ? names1->len : 0, n2 = names2 ? names2->len : 0;
  guint i1 = 0, i2 = 0;
  while (i1 < n1 && i2 < n2)
    {
      GpDirEntry *e1 = &g_array_index (names1, GpDirEntry, i1);
      GpDirEntry *e2 = &g_array_index (names2, GpDirEntry, i2);
      int c = strcmp (e1->name, e2->name);
      if (c < 0)
        {
          g_ptr_array_add (names, e1->name);
          i1++;
        }
      else if (c > 0)
        {
          g_ptr_array_add (names, e2->name);
          i2++;
        }
      else
        {
          if (e1->ino != e2->ino || !same_device)
            g_ptr_array_add (names, e1->name);
          i1++;
          i2++;
        }
    }
  for (; i1 < n1; i1++)
    g_ptr_array_add (names, g_array_index (names1, GpDirEntry, i1).name);
  for (; i2 < n2; i2++)
    g_ptr_array_add (names, g_array_index (names2, GpDirEntry, i2).name);

  for (guint i = 0; i < names->len; i++)
    {
      const char *child = names->pdata[i];
      g_autofree char *crel = g_strconcat (rel, "/", child, NULL);
      g_autofree char *cwhat1 = g_strconcat (w->path1, crel, NULL);
      g_autofree char *cwhat2 = g_strconcat (w->path2, crel, NULL);
      struct stat c1, c2;
      gboolean has1 = FALSE, has2 = FALSE;
      if (is1dir && !lstat_optional (dfd1, child, &c1, &has1, cwhat1, error))
        return FALSE;
      if (is2dir && !lstat_optional (dfd2, child, &c2, &has2, cwhat2, error))
        return FALSE;

      Node *cn1 = has1 ? walk_register (node1, dfd1, child, &c1, cwhat1) : NULL;
      Node *cn2 = has2 ? walk_register (node2, dfd2, child, &c2, cwhat2) : NULL;
      if (!walk_pair (w, crel, dfd1, dfd2, child, cn1, cn2,
                      has1 ? &c1 : NULL, has2 ? &c2 : NULL, error))
        return FALSE;
    }
  return TRUE;
}

typedef enum {
  CHANGE_MODIFY,
  CHANGE_ADD,
  CHANGE_DELETE,
} ChangeKind;

typedef struct {
  char      *path;
  ChangeKind kind;
} Change;

static void
change_clear (gpointer p)
{
  g_free (((Change *) p)->path);
}

static void
add_change (GArray *changes, const Node *node, ChangeKind kind)
{
  Change c = { node_path (node), kind };
  g_array_append_val (changes, c);
}

/* Docker's sameFsTimeSpec and statDifferent. */
static gboolean
stat_different (const Node *o, const Node *n)
{
  gboolean same_time = o->mtime_sec == n->mtime_sec
                       && (o->mtime_nsec == n->mtime_nsec || o->mtime_nsec == 0
                           || n->mtime_nsec == 0);
  return o->mode != n->mode || o->uid != n->uid || o->gid != n->gid
         || o->rdev != n->rdev
         || ((o->mode & S_IFDIR) != S_IFDIR
             && (!same_time || o->size != n->size));
}

static gboolean
cap_different (const GpXattrValue *a, const GpXattrValue *b)
{
  gsize la = a->present ? a->len : 0, lb = b->present ? b->len : 0;
  return la != lb || (la > 0 && memcmp (a->data, b->data, la) != 0);
}

/* Docker's FileInfo.addChanges (order does not matter: sorted later). */
static void
add_changes (Node *info, Node *old, GArray *changes)
{
  guint size_at_entry = changes->len;

  if (old == NULL)
    {
      add_change (changes, info, CHANGE_ADD);
      info->added = TRUE;
    }

  g_autoptr(GHashTable) old_children = g_hash_table_new (g_str_hash,
                                                         g_str_equal);
  if (old != NULL && node_is_dir (info) && old->children != NULL)
    {
      GHashTableIter it;
      gpointer k, v;
      g_hash_table_iter_init (&it, old->children);
      while (g_hash_table_iter_next (&it, &k, &v))
        g_hash_table_insert (old_children, k, v);
    }

  if (info->children != NULL)
    {
      GHashTableIter it;
      gpointer k, v;
      g_hash_table_iter_init (&it, info->children);
      while (g_hash_table_iter_next (&it, &k, &v))
        {
          Node *new_child = v;
          Node *old_child = g_hash_table_lookup (old_children, k);
          if (old_child != NULL)
            {
              if (stat_different (old_child, new_child)
                  || cap_different (&old_child->cap, &new_child->cap))
                {
                  add_change (changes, new_child, CHANGE_MODIFY);
                  new_child->added = TRUE;
                }
              g_hash_table_remove (old_children, k);
            }
          add_changes (new_child, old_child, changes);
        }
    }

  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, old_children);
  while (g_hash_table_iter_next (&it, &k, &v))
    add_change (changes, v, CHANGE_DELETE);

  /* A directory containing changes is listed as modified. */
  if (changes->len > size_at_entry && node_is_dir (info) && !info->added
      && info->parent != NULL)
    add_change (changes, info, CHANGE_MODIFY);
}

static int
compare_changes (gconstpointer a, gconstpointer b)
{
  return strcmp (((const Change *) a)->path, ((const Change *) b)->path);
}

/* Opens the directory @rel_dir ("/a/b" or "/") beneath @base_fd without
 * following any symlink. */
static int
open_dir_nofollow (int base_fd, const char *rel_dir)
{
  g_auto(GpFd) cur = fcntl (base_fd, F_DUPFD_CLOEXEC, 0);
  if (cur < 0)
    return -1;
  g_auto(GStrv) parts = g_strsplit (rel_dir, "/", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      if (parts[i][0] == '\0')
        continue;
      int next = openat (cur, parts[i],
                         O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (next < 0)
        return -1;
      gp_fd_close (cur);
      cur = next;
    }
  return gp_fd_steal (&cur);
}

static gboolean
export_changes (GpTarWriter        *writer,
                const GpArchiveDir *layer,
                GArray             *changes,
                GCancellable       *cancellable,
                GError            **error)
{
  GpAppender app;
  _gp_appender_init (&app, writer, layer->path, cancellable);
  g_autofree char *cached_dir = NULL;
  g_auto(GpFd) cached_fd = -1;
  gboolean ok = TRUE;

  for (guint i = 0; ok && i < changes->len; i++)
    {
      const Change *c = &g_array_index (changes, Change, i);
      const char *slash = strrchr (c->path, '/');
      g_autofree char *dir = g_strndup (c->path, (gsize) (slash - c->path));
      const char *base = slash + 1;

      if (c->kind == CHANGE_DELETE)
        {
          /* Docker stamps whiteouts with the wall clock; we use 0 so the
           * output is reproducible (FORMATS.md §2.3). */
          g_autofree char *wh = g_strconcat (dir[0] ? dir + 1 : "",
                                             dir[0] ? "/" : "",
                                             WHITEOUT_PREFIX, base, NULL);
          GpTarHeader hdr = { .name = wh, .typeflag = GP_TAR_TYPE_NONE };
          ok = !g_cancellable_set_error_if_cancelled (cancellable, error)
               && gp_tar_writer_write_header (writer, &hdr, error);
          continue;
        }

      if (cached_dir == NULL || strcmp (cached_dir, dir) != 0)
        {
          gp_fd_close (cached_fd);
          cached_fd = open_dir_nofollow (layer->fd, dir);
          if (cached_fd < 0)
            {
              g_autofree char *what = g_strconcat (app.base_path, dir, NULL);
              ok = _gp_archive_set_errno_error (error, errno, what,
                                                "cannot open directory");
              break;
            }
          g_free (cached_dir);
          cached_dir = g_strdup (dir);
        }
      ok = _gp_appender_add (&app, cached_fd, base, c->path + 1, NULL, error);
    }

  _gp_appender_clear (&app);
  return ok;
}

/* Docker's NaiveDiffDriver.Diff of @layer against @parent
 * (gp_archive_naive_diff()). */
gboolean
_gp_archive_naive_diff_at (const GpArchiveDir *layer,
                           const GpArchiveDir *parent,
                           GpWriteFunc         write_func,
                           gpointer            user_data,
                           GCancellable       *cancellable,
                           GError            **error)
{
  g_return_val_if_fail (layer != NULL && write_func != NULL, FALSE);

  if (parent == NULL)
    return _gp_archive_tar_dir_at (layer, GP_ARCHIVE_NONE, write_func,
                                   user_data, cancellable, error);

  Walker w = {
    .base1 = parent->fd,
    .base2 = layer->fd,
    .path1 = parent->path,
    .path2 = layer->path,
    .cancellable = cancellable,
  };
  g_autoptr(Node) root1 = node_new_root ();
  g_autoptr(Node) root2 = node_new_root ();

  struct stat s1, s2;
  if (fstat (w.base1, &s1) < 0)
    return _gp_archive_set_errno_error (error, errno, w.path1, "cannot stat");
  if (fstat (w.base2, &s2) < 0)
    return _gp_archive_set_errno_error (error, errno, w.path2, "cannot stat");
  if (!walk_pair (&w, "", w.base1, w.base2, ".", root1, root2, &s1, &s2,
                  error))
    return FALSE;

  g_autoptr(GArray) changes = g_array_new (FALSE, FALSE, sizeof (Change));
  g_array_set_clear_func (changes, change_clear);
  add_changes (root2, root1, changes);
  g_array_sort (changes, compare_changes);

  g_autoptr(GpTarWriter) writer = gp_tar_writer_new (write_func, user_data);
  return export_changes (writer, layer, changes, cancellable, error)
         && gp_tar_writer_close (writer, error);
}
