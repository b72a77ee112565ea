/* Helpers for the save tests. */
#include "config.h"

#include "save-util.h"
#include "gp-test-util.h"

#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <gio/gio.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <json-glib/json-glib.h>

static char *migrated_root_dir;
static GPtrArray *tmpdirs;

/**
 * save_util_shared_dir:
 *
 * Returns: the shared-data directory, gp_test_shared_dir()
 */
const char *
save_util_shared_dir (void)
{
  return gp_test_shared_dir ();
}

char *
save_util_golden_path (const char *name)
{
  return g_build_filename (save_util_shared_dir (), "golden", "public", name, NULL);
}

gboolean
save_util_have_golden (void)
{
  g_autofree char *p = save_util_golden_path ("migrated-root.tar.gz");
  return g_file_test (p, G_FILE_TEST_IS_REGULAR);
}

/**
 * save_util_require_golden:
 *
 * The golden data is part of the tree: when it is not there, fails the
 * running test with a message naming the missing file.
 *
 * Returns: whether the golden data is there
 */
gboolean
save_util_require_golden (void)
{
  if (save_util_have_golden ())
    return TRUE;
  g_autofree char *p = save_util_golden_path ("migrated-root.tar.gz");
  gp_test_fail_no_shared (p);
  return FALSE;
}

char *
save_util_make_tmpdir (const char *prefix)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *tmpl = g_strdup_printf ("%s-XXXXXX", prefix);
  char *dir = g_dir_make_tmp (tmpl, &error);
  g_assert_no_error (error);
  if (tmpdirs == NULL)
    tmpdirs = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (tmpdirs, g_strdup (dir));
  return dir;
}

void
save_util_rm_rf (const char *path)
{
  gp_test_rm_rf (path);
}

/* Extracted as the golden README says: numeric owners, permissions,
 * nanosecond mtimes and xattrs kept. */
gboolean
save_util_extract_root (const char *tarball, const char *dest, GError **error)
{
  const char *argv[] = { "tar", "--numeric-owner", "-p", "--xattrs", "--xattrs-include=*",
                         "-xzf", tarball, "-C", dest, NULL };
  int status;
  g_autofree char *err = NULL;
  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                     NULL, NULL, NULL, &err, &status, error))
    return FALSE;
  if (!g_spawn_check_wait_status (status, error))
    {
      g_prefix_error (error, "tar -xzf %s: %s: ", tarball, err);
      return FALSE;
    }
  return TRUE;
}

/**
 * save_util_migrated_root:
 *
 * Returns: the golden migrated root, extracted once per test program into
 *   a temporary directory (tests must not modify it)
 */
const char *
save_util_migrated_root (void)
{
  if (migrated_root_dir == NULL)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *tarball = save_util_golden_path ("migrated-root.tar.gz");
      g_autofree char *dir = save_util_make_tmpdir ("test-save-root");
      g_assert_true (save_util_extract_root (tarball, dir, &error));
      g_assert_no_error (error);
      migrated_root_dir = g_steal_pointer (&dir);
    }
  return migrated_root_dir;
}

void
save_util_cleanup (void)
{
  if (tmpdirs == NULL || g_getenv ("SAVE_TEST_KEEP") != NULL)
    return;
  for (guint i = 0; i < tmpdirs->len; i++)
    save_util_rm_rf (g_ptr_array_index (tmpdirs, i));
  g_clear_pointer (&tmpdirs, g_ptr_array_unref);
  g_clear_pointer (&migrated_root_dir, g_free);
}

GBytes *
save_util_gunzip_file (const char *path, GError **error)
{
  gzFile gz = gzopen (path, "rb");
  if (gz == NULL)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: cannot open", path);
      return NULL;
    }
  GByteArray *out = g_byte_array_new ();
  guint8 buf[65536];
  int n;
  while ((n = gzread (gz, buf, sizeof buf)) > 0)
    g_byte_array_append (out, buf, (guint) n);
  int errnum = 0;
  const char *msg = gzerror (gz, &errnum);
  if (n < 0 || errnum != Z_OK)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: gunzip failed: %s", path, msg);
      gzclose (gz);
      g_byte_array_unref (out);
      return NULL;
    }
  gzclose (gz);
  return g_byte_array_free_to_bytes (out);
}

GBytes *
save_util_read_file (const char *path)
{
  g_autoptr (GError) error = NULL;
  char *data;
  gsize len;
  if (!g_file_get_contents (path, &data, &len, &error))
    return NULL;
  return g_bytes_new_take (data, len);
}

static void
member_free (SaveMember *m)
{
  g_free (m->name);
  g_free (m);
}

static guint64
parse_octal (const guint8 *p, gsize len)
{
  guint64 v = 0;
  for (gsize i = 0; i < len && p[i] >= '0' && p[i] <= '7'; i++)
    v = v * 8 + (p[i] - '0');
  return v;
}

/**
 * save_util_tar_members:
 * @tar: a plain ustar stream (no PAX/GNU extensions are interpreted)
 *
 * Returns: (element-type SaveMember): its members, pointing into @tar
 */
GPtrArray *
save_util_tar_members (GBytes *tar, GError **error)
{
  gsize len;
  const guint8 *p = g_bytes_get_data (tar, &len);
  g_autoptr (GPtrArray) members = g_ptr_array_new_with_free_func ((GDestroyNotify) member_free);
  static const guint8 zero[512];
  gsize off = 0;

  while (off + 512 <= len)
    {
      const guint8 *h = p + off;
      if (memcmp (h, zero, 512) == 0)
        return g_steal_pointer (&members);
      SaveMember *m = g_new0 (SaveMember, 1);
      m->name = g_strndup ((const char *) h, 100);
      m->typeflag = (char) h[156];
      m->header_offset = off;
      m->header = h;
      m->size = parse_octal (h + 124, 12);
      m->data = h + 512;
      g_ptr_array_add (members, m);
      off += 512 + (m->size + 511) / 512 * 512;
    }
  g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "tar stream truncated at %" G_GSIZE_FORMAT, off);
  return NULL;
}

const SaveMember *
save_util_find_member (GPtrArray *members, const char *name)
{
  for (guint i = 0; i < members->len; i++)
    {
      const SaveMember *m = g_ptr_array_index (members, i);
      if (strcmp (m->name, name) == 0)
        return m;
    }
  return NULL;
}

char *
save_util_graphpipe_path (void)
{
  const char *env = g_getenv ("GRAPHPIPE");
  if (env && *env)
    return g_strdup (env);
  return gp_test_graphpipe_path ();
}

gboolean
save_util_have_program (const char *name)
{
  g_autofree char *p = g_find_program_in_path (name);
  return p != NULL;
}

/**
 * save_util_run:
 * @argv: the command
 * @stdout_path: (nullable): file to send standard output to; else captured
 * @out_stdout: (out) (optional): captured standard output
 * @out_stderr: (out) (optional): captured standard error
 *
 * Returns: the exit status, or -1 if it did not exit normally
 */
int
save_util_run (const char *const *argv, const char *stdout_path, char **out_stdout,
               char **out_stderr)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocessLauncher) l = g_subprocess_launcher_new (
    G_SUBPROCESS_FLAGS_STDERR_PIPE | (stdout_path ? 0 : G_SUBPROCESS_FLAGS_STDOUT_PIPE));
  if (stdout_path != NULL)
    g_subprocess_launcher_set_stdout_file_path (l, stdout_path);
  g_autoptr (GSubprocess) p = g_subprocess_launcher_spawnv (l, argv, &error);
  g_assert_no_error (error);

  g_autofree char *out = NULL, *err = NULL;
  g_subprocess_communicate_utf8 (p, NULL, NULL, stdout_path ? NULL : &out, &err, &error);
  g_assert_no_error (error);
  if (out_stdout)
    *out_stdout = g_steal_pointer (&out);
  if (out_stderr)
    *out_stderr = g_steal_pointer (&err);
  if (!g_subprocess_get_if_exited (p))
    return -1;
  return g_subprocess_get_exit_status (p);
}

/**
 * save_util_run_ok:
 * @argv: the command
 *
 * Runs @argv and fails the test (naming the command, its exit status and
 * its standard error) unless it exits 0; where @argv is a client reading
 * what graphpipe wrote, that failure is the client rejecting it.
 */
void
save_util_run_ok (const char *const *argv)
{
  g_autofree char *err = NULL;
  int status = save_util_run (argv, NULL, NULL, &err);
  if (status != 0)
    g_error ("%s %s failed (exit %d): %s", argv[0], argv[1] ? argv[1] : "", status, err);
}

int
save_util_run_graphpipe (const char *const *args, const char *stdout_path, char **out_stderr)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (argv, save_util_graphpipe_path ());
  for (const char *const *a = args; *a; a++)
    g_ptr_array_add (argv, g_strdup (*a));
  g_ptr_array_add (argv, NULL);
  g_autofree char *err = NULL;
  int status = save_util_run ((const char *const *) argv->pdata, stdout_path, NULL, &err);
  if (g_test_verbose () && err && *err)
    g_test_message ("graphpipe stderr: %s", err);
  if (out_stderr)
    *out_stderr = g_steal_pointer (&err);
  return status;
}

/* Byte equality with a useful message: the first differing offset and the
 * tar member it falls in. */
void
save_util_assert_bytes_equal (GBytes *got, GBytes *want, const char *what)
{
  gsize glen, wlen;
  const guint8 *g = g_bytes_get_data (got, &glen);
  const guint8 *w = g_bytes_get_data (want, &wlen);
  if (glen == wlen && memcmp (g, w, glen) == 0)
    return;

  gsize off = 0;
  while (off < glen && off < wlen && g[off] == w[off])
    off++;
  const char *member = "?";
  g_autoptr (GPtrArray) members = save_util_tar_members (want, NULL);
  if (members != NULL)
    for (guint i = 0; i < members->len; i++)
      {
        const SaveMember *m = g_ptr_array_index (members, i);
        if (m->header_offset <= off)
          member = m->name;
      }
  g_error ("%s: %" G_GSIZE_FORMAT " bytes, expected %" G_GSIZE_FORMAT
           "; first difference at offset %" G_GSIZE_FORMAT " (in or after member %s)",
           what, glen, wlen, off, member);
}

/* ---- comparing a tree with the store's files (umoci, OCI tests) ---- */

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
char *
save_util_tree_listing (const char *dir, gboolean owners)
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
char *
save_util_listing_diff (const char *want, const char *got)
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
      g_string_append_printf (s, "\n  got:    %s", *p), n++;
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
GPtrArray *
save_util_store_tags (const char *root)
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
char *
save_util_store_top_layer_dir (const char *root, const char *ref)
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

