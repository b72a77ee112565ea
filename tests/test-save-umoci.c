/* umoci unpacks what `graphpipe save` writes, and gets the files of the
 * store we saved from.  Every tagged image of the golden migrated root is
 * saved (all in one tarball), converted by skopeo to an OCI layout
 * (`skopeo copy docker-archive:TAR:REF oci:DIR:TAG`) and unpacked by
 * `umoci unpack`; the rootfs must equal the vfs directory of the image's
 * top layer (found without graphpipe: config -> DiffIDs -> ChainID ->
 * layerdb cache-id), which holds the whole filesystem of the image as
 * Docker extracted it.  Compared: names, types, permission and special
 * bits, owners (as root), sizes, mtimes (seconds), content hashes,
 * symbolic link targets, device numbers and which names are hard links
 * of each other.  A client that fails or disagrees is a failure; the test
 * skips only when skopeo or umoci is missing (or the golden data).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <json-glib/json-glib.h>

#include "gp-test-util.h"
#include "save-util.h"

typedef struct {
  char *path;
  struct stat st;
  char *target;  /* symlinks */
  char *sha256;  /* regular files */
} TreeEntry;

static void
tree_entry_free (TreeEntry *e)
{
  g_free (e->path);
  g_free (e->target);
  g_free (e->sha256);
  g_free (e);
}

static char *
file_sha256 (int dfd, const char *name)
{
  int fd = openat (dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    g_error ("%s: cannot open: %s", name, g_strerror (errno));
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  guchar buf[65536];
  ssize_t n;
  while ((n = read (fd, buf, sizeof buf)) > 0)
    g_checksum_update (sum, buf, n);
  if (n < 0)
    g_error ("%s: cannot read: %s", name, g_strerror (errno));
  close (fd);
  return g_strdup (g_checksum_get_string (sum));
}

/* Every entry beneath @dfd (opened on the tree's @prefix), depth first,
 * symbolic links not followed. */
static void
tree_walk (int dfd, const char *prefix, GPtrArray *out)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  int dup_fd = dup (dfd);
  g_assert_cmpint (dup_fd, >=, 0);
  DIR *d = fdopendir (dup_fd);
  g_assert_nonnull (d);
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
      g_ptr_array_add (names, g_strdup (de->d_name));
  closedir (d);

  for (guint i = 0; i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);
      TreeEntry *e = g_new0 (TreeEntry, 1);
      e->path = *prefix ? g_strconcat (prefix, "/", name, NULL) : g_strdup (name);
      if (fstatat (dfd, name, &e->st, AT_SYMLINK_NOFOLLOW) < 0)
        g_error ("%s: cannot stat: %s", e->path, g_strerror (errno));
      g_ptr_array_add (out, e);
      if (S_ISLNK (e->st.st_mode))
        {
          char buf[4096];
          ssize_t n = readlinkat (dfd, name, buf, sizeof buf - 1);
          g_assert_cmpint (n, >=, 0);
          buf[n] = '\0';
          e->target = g_strdup (buf);
        }
      else if (S_ISREG (e->st.st_mode))
        e->sha256 = file_sha256 (dfd, name);
      else if (S_ISDIR (e->st.st_mode))
        {
          int sub = openat (dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (sub < 0)
            g_error ("%s: cannot open: %s", e->path, g_strerror (errno));
          tree_walk (sub, e->path, out);
          close (sub);
        }
    }
}

static int
entry_cmp (gconstpointer a, gconstpointer b)
{
  const TreeEntry *x = *(TreeEntry *const *) a, *y = *(TreeEntry *const *) b;
  return strcmp (x->path, y->path);
}

static char
type_char (mode_t m)
{
  if (S_ISREG (m)) return 'f';
  if (S_ISDIR (m)) return 'd';
  if (S_ISLNK (m)) return 'l';
  if (S_ISCHR (m)) return 'c';
  if (S_ISBLK (m)) return 'b';
  if (S_ISFIFO (m)) return 'p';
  if (S_ISSOCK (m)) return 's';
  return '?';
}

/* The tree under @dir as text, one line per entry in path order: path,
 * type, mode, owner (when @owners), size, mtime, content hash, link
 * target or device, and for a name hard-linked to others in the tree the
 * first of them (inode numbers differ between trees, the grouping must
 * not). */
static char *
tree_listing (const char *dir, gboolean owners)
{
  int dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    g_error ("%s: cannot open: %s", dir, g_strerror (errno));
  g_autoptr (GPtrArray) entries = g_ptr_array_new_with_free_func ((GDestroyNotify) tree_entry_free);
  tree_walk (dfd, "", entries);
  close (dfd);
  g_ptr_array_sort (entries, entry_cmp);

  /* inode -> its names in the tree (path order) */
  g_autoptr (GHashTable) first = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GHashTable) count = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < entries->len; i++)
    {
      TreeEntry *e = g_ptr_array_index (entries, i);
      if (S_ISDIR (e->st.st_mode))
        continue;
      g_autofree char *key = g_strdup_printf ("%ju:%ju", (uintmax_t) e->st.st_dev, (uintmax_t) e->st.st_ino);
      if (!g_hash_table_contains (first, key))
        g_hash_table_insert (first, g_strdup (key), e->path);
      g_hash_table_insert (count, g_strdup (key),
                           GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (count, key)) + 1));
    }

  GString *s = g_string_new (NULL);
  for (guint i = 0; i < entries->len; i++)
    {
      TreeEntry *e = g_ptr_array_index (entries, i);
      const struct stat *st = &e->st;
      g_autofree char *key = g_strdup_printf ("%ju:%ju", (uintmax_t) st->st_dev, (uintmax_t) st->st_ino);
      const char *group = "-";
      if (!S_ISDIR (st->st_mode) && GPOINTER_TO_UINT (g_hash_table_lookup (count, key)) > 1)
        group = g_hash_table_lookup (first, key);
      g_autofree char *extra = NULL;
      if (S_ISLNK (st->st_mode))
        extra = g_strdup (e->target);
      else if (S_ISCHR (st->st_mode) || S_ISBLK (st->st_mode))
        extra = g_strdup_printf ("%u,%u", major (st->st_rdev), minor (st->st_rdev));
      else if (S_ISREG (st->st_mode))
        extra = g_strdup (e->sha256);
      else
        extra = g_strdup ("-");
      g_autofree char *owner = owners ? g_strdup_printf ("%u:%u", st->st_uid, st->st_gid) : g_strdup ("-");
      g_autofree char *size = S_ISDIR (st->st_mode) ? g_strdup ("-")
                                                    : g_strdup_printf ("%jd", (intmax_t) st->st_size);
      g_string_append_printf (s, "%s\t%c\t%04o\t%s\t%s\t%jd\t%s\tlink=%s\n", e->path, type_char (st->st_mode),
                              (unsigned) (st->st_mode & 07777), owner, size, (intmax_t) st->st_mtim.tv_sec,
                              extra, group);
    }
  return g_string_free (s, FALSE);
}

/* Line-by-line difference, for the failure message. */
static char *
listing_diff (const char *want, const char *got)
{
  g_auto (GStrv) w = g_strsplit (want, "\n", -1);
  g_auto (GStrv) g = g_strsplit (got, "\n", -1);
  g_autoptr (GHashTable) ws = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GHashTable) gs = g_hash_table_new (g_str_hash, g_str_equal);
  for (char **p = w; *p; p++)
    g_hash_table_add (ws, *p);
  for (char **p = g; *p; p++)
    g_hash_table_add (gs, *p);
  GString *s = g_string_new (NULL);
  guint n = 0;
  for (char **p = w; *p && n < 20; p++)
    if (**p && !g_hash_table_contains (gs, *p))
      g_string_append_printf (s, "\n  store:  %s", *p), n++;
  for (char **p = g; *p && n < 40; p++)
    if (**p && !g_hash_table_contains (ws, *p))
      g_string_append_printf (s, "\n  umoci:  %s", *p), n++;
  return g_string_free (s, FALSE);
}

static JsonObject *
load_object (JsonParser *p, const char *path)
{
  g_autoptr (GError) error = NULL;
  if (!json_parser_load_from_file (p, path, &error))
    g_error ("%s: %s", path, error->message);
  return json_node_get_object (json_parser_get_root (p));
}

static int
str_ptr_cmp (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* The tags of the store (name:tag -> image ID), without digest references. */
static GPtrArray *
store_tags (const char *root)
{
  g_autofree char *path = g_build_filename (root, "image/vfs/repositories.json", NULL);
  g_autoptr (JsonParser) p = json_parser_new ();
  JsonObject *repos = json_object_get_object_member (load_object (p, path), "Repositories");
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GList) names = json_object_get_members (repos);
  for (GList *l = names; l; l = l->next)
    {
      g_autoptr (GList) refs = json_object_get_members (json_object_get_object_member (repos, l->data));
      for (GList *r = refs; r; r = r->next)
        if (strchr (r->data, '@') == NULL)
          g_ptr_array_add (out, g_strdup (r->data));
    }
  g_ptr_array_sort (out, str_ptr_cmp);
  return out;
}

/* The vfs directory of the image's top layer, read from the store alone. */
static char *
store_top_layer_dir (const char *root, const char *ref)
{
  g_autofree char *rpath = g_build_filename (root, "image/vfs/repositories.json", NULL);
  g_autoptr (JsonParser) rp = json_parser_new ();
  JsonObject *repos = json_object_get_object_member (load_object (rp, rpath), "Repositories");
  g_autofree char *name = g_strndup (ref, strrchr (ref, ':') - ref);
  const char *id = json_object_get_string_member (json_object_get_object_member (repos, name), ref);
  g_assert_true (g_str_has_prefix (id, "sha256:"));

  g_autofree char *cpath = g_build_filename (root, "image/vfs/imagedb/content/sha256", id + 7, NULL);
  g_autoptr (JsonParser) cp = json_parser_new ();
  JsonArray *diff_ids = json_object_get_array_member (
    json_object_get_object_member (load_object (cp, cpath), "rootfs"), "diff_ids");
  guint n = json_array_get_length (diff_ids);
  g_assert_cmpuint (n, >, 0);

  /* ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)) */
  g_autofree char *chain = g_strdup (json_array_get_string_element (diff_ids, 0));
  for (guint i = 1; i < n; i++)
    {
      g_autofree char *s = g_strconcat (chain, " ", json_array_get_string_element (diff_ids, i), NULL);
      g_autofree char *hex = g_compute_checksum_for_string (G_CHECKSUM_SHA256, s, -1);
      g_free (chain);
      chain = g_strconcat ("sha256:", hex, NULL);
    }
  g_autofree char *idpath = g_build_filename (root, "image/vfs/layerdb/sha256", chain + 7, "cache-id", NULL);
  g_autofree char *cache_id = NULL;
  g_autoptr (GError) error = NULL;
  if (!g_file_get_contents (idpath, &cache_id, NULL, &error))
    g_error ("%s: %s", idpath, error->message);
  return g_build_filename (root, "vfs/dir", cache_id, NULL);
}

static void
run_ok (const char *const *argv)
{
  g_autofree char *err = NULL;
  int status = save_util_run (argv, NULL, NULL, &err);
  if (status != 0)
    g_error ("%s %s failed (exit %d), so it rejects what graphpipe save wrote: %s", argv[0], argv[1],
             status, err);
}

static void
test_umoci_unpack (void)
{
  if (!save_util_require_golden ())
    return;
  if (!save_util_have_program ("skopeo"))
    {
      gp_test_skip_required ("skopeo not installed (Debian package skopeo)");
      return;
    }
  if (!save_util_have_program ("umoci"))
    {
      gp_test_skip_required ("umoci not installed (Debian package umoci)");
      return;
    }
  /* As root umoci restores owners; otherwise it unpacks --rootless, with
   * the files owned by the caller, and owners are not compared. */
  gboolean as_root = geteuid () == 0;
  const char *root = save_util_migrated_root ();
  g_autoptr (GPtrArray) tags = store_tags (root);
  g_assert_cmpuint (tags->len, >, 0);

  g_autofree char *dir = save_util_make_tmpdir ("test-save-umoci");
  g_autofree char *tar = g_build_filename (dir, "save.tar", NULL);
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  const char *head[] = { "save", "--root", root, "-o", tar };
  for (guint i = 0; i < G_N_ELEMENTS (head); i++)
    g_ptr_array_add (args, (gpointer) head[i]);
  for (guint i = 0; i < tags->len; i++)
    g_ptr_array_add (args, g_ptr_array_index (tags, i));
  g_ptr_array_add (args, NULL);
  g_autofree char *err = NULL;
  if (save_util_run_graphpipe ((const char *const *) args->pdata, NULL, &err) != 0)
    g_error ("graphpipe save failed: %s", err);

  g_autofree char *oci = g_build_filename (dir, "oci", NULL);
  gboolean checked_link = FALSE;
  for (guint i = 0; i < tags->len; i++)
    {
      const char *ref = g_ptr_array_index (tags, i);
      g_autofree char *tag = g_strdup_printf ("img%u", i);
      g_autofree char *src = g_strconcat ("docker-archive:", tar, ":", ref, NULL);
      g_autofree char *dest = g_strconcat ("oci:", oci, ":", tag, NULL);
      const char *copy[] = { "skopeo", "copy", "-q", src, dest, NULL };
      run_ok (copy);

      g_autofree char *image = g_strconcat (oci, ":", tag, NULL);
      g_autofree char *bundle = g_build_filename (dir, tag, NULL);
      const char *unpack[] = { "umoci", "unpack", "--image", image, bundle, NULL };
      const char *unpack_rootless[] = { "umoci", "unpack", "--rootless", "--image", image, bundle, NULL };
      run_ok (as_root ? unpack : unpack_rootless);

      g_autofree char *layer_dir = store_top_layer_dir (root, ref);
      g_autofree char *rootfs = g_build_filename (bundle, "rootfs", NULL);
      g_autofree char *want = tree_listing (layer_dir, as_root);
      g_autofree char *got = tree_listing (rootfs, as_root);
      guint n = 0;
      for (const char *p = want; *p; p++)
        n += *p == '\n';
      if (strcmp (want, got) != 0)
        {
          g_autofree char *diff = listing_diff (want, got);
          g_error ("%s: umoci's rootfs differs from the store's files (%s):%s", ref, layer_dir, diff);
        }
      g_assert_cmpuint (n, >, 0);
      g_test_message ("%s: %u entries as in the store's vfs/dir/%s", ref, n,
                      strrchr (layer_dir, '/') + 1);

      /* The comparison sees what it must: a changed mode and (in the first
       * image with hard links) a broken hard link both show. */
      if (i == 0 || !checked_link)
        {
          g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
          g_auto (GStrv) lines = g_strsplit (got, "\n", -1);
          const char *linked = NULL;
          for (char **l = lines; *l; l++)
            if (strstr (*l, "\tf\t") != NULL)
              {
                g_ptr_array_add (files, g_strndup (*l, strchr (*l, '\t') - *l));
                if (linked == NULL && !g_str_has_suffix (*l, "\tlink=-"))
                  linked = g_ptr_array_index (files, files->len - 1);
              }
          g_assert_cmpuint (files->len, >, 0);
          if (i > 0 && linked == NULL)
            continue;
          g_autofree char *f = g_build_filename (rootfs, g_ptr_array_index (files, 0), NULL);
          struct stat st;
          g_assert_cmpint (lstat (f, &st), ==, 0);
          g_assert_cmpint (chmod (f, (st.st_mode & 07777) ^ 0001), ==, 0);
          g_autofree char *changed = tree_listing (rootfs, as_root);
          g_assert_cmpstr (changed, !=, want);
          g_assert_cmpint (chmod (f, st.st_mode & 07777), ==, 0);
          if (linked != NULL)
            {
              g_autofree char *l = g_build_filename (rootfs, linked, NULL);
              g_autofree char *copy_path = g_strconcat (l, ".copy", NULL);
              g_autofree char *data = NULL;
              gsize len;
              g_assert_true (g_file_get_contents (l, &data, &len, NULL));
              g_assert_true (g_file_set_contents (copy_path, data, len, NULL));
              /* the same bytes, mode, owner and mtime: only the link differs */
              struct stat lst;
              g_assert_cmpint (lstat (l, &lst), ==, 0);
              g_assert_cmpint (chmod (copy_path, lst.st_mode & 07777), ==, 0);
              g_assert_cmpint (lchown (copy_path, lst.st_uid, lst.st_gid), ==, 0);
              struct timespec times[2] = { lst.st_atim, lst.st_mtim };
              g_assert_cmpint (utimensat (AT_FDCWD, copy_path, times, AT_SYMLINK_NOFOLLOW), ==, 0);
              g_assert_cmpint (rename (copy_path, l), ==, 0);
              g_autofree char *unlinked = tree_listing (rootfs, as_root);
              g_autofree char *ldiff = listing_diff (want, unlinked);
              g_assert_cmpstr (unlinked, !=, want);
              g_assert_nonnull (strstr (ldiff, "link="));
              g_test_message ("%s: a hard link broken by hand shows:%s", ref, ldiff);
              checked_link = TRUE;
            }
        }
    }
  /* the golden images have hard links (busybox's applets) */
  g_assert_true (checked_link);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/save-clients/umoci/unpack", test_umoci_unpack);
  int ret = g_test_run ();
  save_util_cleanup ();
  return ret;
}
