/* gp-mklegacy - write a legacy (Docker <= 1.9) data root from a description.
 *
 * Usage: gp-mklegacy DESCRIPTION.ini ROOT
 *
 * A developer and test tool.  The description is a key file:
 *
 *   [root]
 *   driver=vfs                 vfs (complete rootfs per layer) or aufs
 *   mtime=1446330174           mtime of every file written (default)
 *   repositories=RAW           raw repositories-<driver> content; default:
 *                              built from the images' tags= keys; "none":
 *                              no file
 *
 *   [image LABEL]              images in parent-first order
 *   id=HEX                     v1 ID (default: sha256 of LABEL)
 *   parent=@LABEL|RAW          the parent (written into the JSON)
 *   docker_version=1.9.1
 *   created=2015-10-31T22:22:54.690851953Z
 *   cmd=JSON                   container_config.Cmd, raw JSON (default null)
 *   author=, comment=          strings
 *   json=RAW                   the whole graph/<id>/json instead
 *   parent_file=RAW            write graph/<id>/parent
 *   checksum=RAW               write graph/<id>/checksum
 *   tarsplit=yes|no            write tar-data.json.gz (Docker >= 1.8)
 *   tags=busybox:latest;...    tags for the default repositories file
 *   mtime=N                    mtime of this layer's files
 *   files=ENTRY;ENTRY;...      what the layer adds/changes/deletes:
 *      d PATH MODE             directory
 *      f PATH MODE CONTENT     regular file (CONTENT after the 3rd space)
 *      z PATH MODE SIZE        regular file of SIZE pattern bytes
 *      l PATH TARGET           symbolic link
 *      h PATH TARGET           hard link to an earlier path of the layer
 *      p PATH                  FIFO
 *      rm PATH                 delete (aufs: a .wh. whiteout)
 *     PATH and TARGET are percent-decoded (%ff for non-UTF-8 bytes).
 *   break=crc|missing|fifo|escape|gzip|dir
 *                              damage the layer after tar-data.json.gz
 *                              was written: change a file's bytes, delete
 *                              it, replace it by a FIFO, rename an entry
 *                              of the tar-split data to ../escape, corrupt
 *                              the gzip stream, delete the layer directory
 *
 *   [container LABEL]
 *   id=HEX                     container ID (default: sha256 of LABEL)
 *   image=@LABEL|RAW           the Image value (a string)
 *   config=RAW                 the whole config.json instead
 *   rwlayer=yes|no|noinit      driver dirs <cid> and <cid>-init
 *
 *   [file PATH]                any other file under ROOT
 *   content=RAW                (@LABEL replaced by the v1 ID everywhere in
 *   mode=0600                   raw values)
 *
 * Layer tars are produced the way Docker 1.9 produced them for committed
 * layers: the driver's Diff (our archiver, naive diff for vfs), recorded
 * with our tar-split disassembler, so tar-data.json.gz holds what Docker
 * 1.8/1.9 stored.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "gp-layerfs-archive.h"
#include "gp-error.h"
#include "gp-json.h"
#include "gp-layerfs.h"
#include "gp-tarsplit.h"

typedef struct {
  char *root;
  char *driver;
  gint64 mtime;
  GKeyFile *kf;
  GHashTable *ids;    /* label -> v1 ID */
  GHashTable *parents;/* v1 ID -> parent v1 ID (for aufs layers files) */
} Ctx;

static void G_GNUC_NORETURN G_GNUC_PRINTF (1, 2)
die (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  fprintf (stderr, "gp-mklegacy: ");
  vfprintf (stderr, fmt, ap);
  fprintf (stderr, "\n");
  va_end (ap);
  exit (1);
}

static char *
percent_decode (const char *s)
{
  GString *out = g_string_new (NULL);
  for (const char *p = s; *p; p++)
    {
      if (p[0] == '%' && g_ascii_isxdigit (p[1]) && g_ascii_isxdigit (p[2]))
        {
          g_string_append_c (out, (char) (g_ascii_xdigit_value (p[1]) * 16 + g_ascii_xdigit_value (p[2])));
          p += 2;
        }
      else
        g_string_append_c (out, *p);
    }
  return g_string_free (out, FALSE);
}

/* Replaces @LABEL by the label's v1 ID (labels are [A-Za-z0-9_.-]+). */
static char *
substitute (Ctx *c, const char *raw)
{
  GString *out = g_string_new (NULL);
  for (const char *p = raw; *p;)
    {
      if (*p == '@')
        {
          const char *q = p + 1;
          while (g_ascii_isalnum (*q) || *q == '_' || *q == '-' || *q == '.')
            q++;
          g_autofree char *label = g_strndup (p + 1, (gsize) (q - p - 1));
          const char *id = g_hash_table_lookup (c->ids, label);
          if (id != NULL)
            {
              g_string_append (out, id);
              p = q;
              continue;
            }
        }
      g_string_append_c (out, *p++);
    }
  return g_string_free (out, FALSE);
}

static char *
get (Ctx *c, const char *group, const char *key, const char *def)
{
  g_autofree char *v = g_key_file_get_string (c->kf, group, key, NULL);
  if (v == NULL)
    return def ? g_strdup (def) : NULL;
  return substitute (c, v);
}

static void
write_file (const char *path, const char *data, gssize len, guint mode)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_path_get_dirname (path);
  g_mkdir_with_parents (dir, 0700);
  if (!g_file_set_contents (path, data, len, &error))
    die ("%s", error->message);
  chmod (path, mode);
}

static void
set_mtime (const char *path, gint64 mtime)
{
  struct timespec ts[2] = { { mtime, 0 }, { mtime, 0 } };
  utimensat (AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW);
}

/* cp -a of a tree, preserving hard links within it. */
static void
copy_tree (const char *src, const char *dst, GHashTable *inodes)
{
  struct stat st;
  if (lstat (src, &st) < 0)
    die ("%s: %s", src, g_strerror (errno));
  if (S_ISDIR (st.st_mode))
    {
      if (mkdir (dst, 0700) < 0 && errno != EEXIST)
        die ("%s: %s", dst, g_strerror (errno));
      g_autoptr (GDir) d = g_dir_open (src, 0, NULL);
      const char *name;
      while (d && (name = g_dir_read_name (d)) != NULL)
        {
          g_autofree char *s = g_build_filename (src, name, NULL);
          g_autofree char *t = g_build_filename (dst, name, NULL);
          copy_tree (s, t, inodes);
        }
      chmod (dst, st.st_mode & 07777);
    }
  else
    {
      char *key = g_strdup_printf ("%lu:%lu", (gulong) st.st_dev, (gulong) st.st_ino);
      const char *first = st.st_nlink > 1 ? g_hash_table_lookup (inodes, key) : NULL;
      if (first != NULL)
        {
          if (link (first, dst) < 0)
            die ("link %s: %s", dst, g_strerror (errno));
          g_free (key);
          return;
        }
      if (S_ISREG (st.st_mode))
        {
          g_autofree char *data = NULL;
          gsize len;
          if (!g_file_get_contents (src, &data, &len, NULL))
            die ("cannot read %s", src);
          write_file (dst, data, (gssize) len, st.st_mode & 07777);
        }
      else if (S_ISLNK (st.st_mode))
        {
          g_autofree char *target = g_file_read_link (src, NULL);
          if (symlink (target, dst) < 0)
            die ("symlink %s: %s", dst, g_strerror (errno));
        }
      else if (S_ISFIFO (st.st_mode))
        mkfifo (dst, st.st_mode & 07777);
      if (st.st_nlink > 1)
        g_hash_table_insert (inodes, key, g_strdup (dst));
      else
        g_free (key);
    }
  if (lchown (dst, st.st_uid, st.st_gid) < 0)
    {
      /* not root: keep our own */
    }
  struct timespec ts[2] = { st.st_atim, st.st_mtim };
  utimensat (AT_FDCWD, dst, ts, AT_SYMLINK_NOFOLLOW);
}

static void
remove_tree (const char *path)
{
  struct stat st;
  if (lstat (path, &st) < 0)
    return;
  if (S_ISDIR (st.st_mode))
    {
      g_autoptr (GDir) d = g_dir_open (path, 0, NULL);
      const char *name;
      while (d && (name = g_dir_read_name (d)) != NULL)
        {
          g_autofree char *s = g_build_filename (path, name, NULL);
          remove_tree (s);
        }
      rmdir (path);
    }
  else
    unlink (path);
}

/* Applies one files= entry to the layer directory @dir.  @aufs: deletions
 * become whiteouts. */
static void
apply_entry (const char *dir, const char *entry, gint64 mtime, gboolean aufs, gint64 *size,
             GPtrArray *touched)
{
  g_auto (GStrv) f = g_strsplit (entry, " ", 4);
  guint n = g_strv_length (f);
  if (n < 2)
    die ("bad files entry '%s'", entry);
  g_autofree char *rel = percent_decode (f[1]);
  g_autofree char *path = g_build_filename (dir, rel, NULL);
  g_autofree char *parent = g_path_get_dirname (path);
  g_mkdir_with_parents (parent, 0755);

  if (strcmp (f[0], "d") == 0)
    {
      if (mkdir (path, 0755) < 0 && errno != EEXIST)
        die ("%s: %s", path, g_strerror (errno));
      chmod (path, n > 2 ? (guint) strtoul (f[2], NULL, 8) : 0755);
    }
  else if (strcmp (f[0], "f") == 0 || strcmp (f[0], "z") == 0)
    {
      if (n < 3)
        die ("bad files entry '%s'", entry);
      unlink (path);
      if (f[0][0] == 'f')
        {
          const char *content = n > 3 ? f[3] : "";
          write_file (path, content, -1, (guint) strtoul (f[2], NULL, 8));
          *size += (gint64) strlen (content);
        }
      else
        {
          gint64 len = n > 3 ? g_ascii_strtoll (f[3], NULL, 10) : 0;
          int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
          if (fd < 0)
            die ("%s: %s", path, g_strerror (errno));
          char buf[65536];
          for (gsize i = 0; i < sizeof buf; i++)
            buf[i] = (char) ('a' + (i * 7 + i / 61) % 26);
          for (gint64 done = 0; done < len;)
            {
              gsize k = (gsize) MIN ((gint64) sizeof buf, len - done);
              if (write (fd, buf, k) != (ssize_t) k)
                die ("%s: short write", path);
              done += (gint64) k;
            }
          close (fd);
          chmod (path, (guint) strtoul (f[2], NULL, 8));
          *size += len;
        }
    }
  else if (strcmp (f[0], "l") == 0)
    {
      if (n < 3)
        die ("bad files entry '%s'", entry);
      g_autofree char *target = percent_decode (f[2]);
      unlink (path);
      if (symlink (target, path) < 0)
        die ("%s: %s", path, g_strerror (errno));
    }
  else if (strcmp (f[0], "h") == 0)
    {
      if (n < 3)
        die ("bad files entry '%s'", entry);
      g_autofree char *trel = percent_decode (f[2]);
      g_autofree char *target = g_build_filename (dir, trel, NULL);
      unlink (path);
      if (link (target, path) < 0)
        die ("%s: %s", path, g_strerror (errno));
    }
  else if (strcmp (f[0], "p") == 0)
    {
      unlink (path);
      if (mkfifo (path, 0644) < 0)
        die ("%s: %s", path, g_strerror (errno));
    }
  else if (strcmp (f[0], "rm") == 0)
    {
      if (aufs)
        {
          g_autofree char *base = g_path_get_basename (path);
          g_autofree char *wh_name = g_strconcat (".wh.", base, NULL);
          g_autofree char *wh = g_build_filename (parent, wh_name, NULL);
          write_file (wh, "", 0, 0444);
          g_ptr_array_add (touched, g_strdup (wh));
        }
      else
        remove_tree (path);
      g_ptr_array_add (touched, g_strdup (parent));
      return;
    }
  else
    die ("unknown files entry type '%s'", f[0]);

  g_ptr_array_add (touched, g_strdup (path));
  /* Every directory above a change: fixed mtime too. */
  char *p = g_strdup (parent);
  gsize dlen = strlen (dir);
  while (strlen (p) >= dlen)
    {
      g_ptr_array_add (touched, g_strdup (p));
      char *up = g_path_get_dirname (p);
      gboolean top = strcmp (up, p) == 0;
      g_free (p);
      p = up;
      if (top)
        break;
    }
  g_free (p);
}

static gboolean
write_fd (gpointer data, const void *buf, gsize len, GError **error)
{
  int fd = GPOINTER_TO_INT (data);
  const guint8 *p = buf;
  while (len > 0)
    {
      ssize_t n = write (fd, p, len);
      if (n < 0)
        {
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "write: %s", g_strerror (errno));
          return FALSE;
        }
      p += n;
      len -= (gsize) n;
    }
  return TRUE;
}

/* tar-data.json.gz of the layer: Diff(id, parent) disassembled. */
static void
write_tar_data (Ctx *c, const GpDriver *driver, const char *id, const char *parent, const char *out_path)
{
  g_autoptr (GError) error = NULL;
  int fd = open (out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    die ("%s: %s", out_path, g_strerror (errno));
  g_autoptr (GpTarSplitDisassembler) dis = gp_tar_split_disassembler_new (write_fd, GINT_TO_POINTER (fd), GP_TAR_SPLIT_FLAGS_NONE);
  g_autoptr (GpLayerDir) layer = gp_layer_dir_open_driver (driver, c->root, id, &error);
  if (layer == NULL)
    die ("%s", error->message);
  g_autoptr (GpLayerDir) pdir = NULL;
  if (parent != NULL && gp_driver_has_full_rootfs (driver))
    {
      pdir = gp_layer_dir_open_driver (driver, c->root, parent, &error);
      if (pdir == NULL)
        die ("%s", error->message);
    }
  if (!gp_archive_driver_diff (driver, layer, pdir, gp_tar_split_disassembler_push, dis, NULL, &error))
    die ("diff of %s: %s", id, error->message);
  GpTarSplitStats stats;
  if (!gp_tar_split_disassembler_finish (dis, &stats, &error))
    die ("tar-split of %s: %s", id, error->message);
  close (fd);
}

/* Rewrites a tar-split file, renaming its first non-empty file entry. */
static void
rename_first_file_entry (const char *path, const char *new_name)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *tmp = g_strconcat (path, ".new", NULL);
  int in = open (path, O_RDONLY | O_CLOEXEC);
  int out = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (in < 0 || out < 0)
    die ("%s: cannot rewrite", path);
  g_autoptr (GpTarSplitReader) r = gp_tar_split_reader_new (in, path, GP_TAR_SPLIT_FLAGS_NONE);
  g_autoptr (GpTarSplitWriter) w = gp_tar_split_writer_new (write_fd, GINT_TO_POINTER (out), GP_TAR_SPLIT_FLAGS_NONE);
  const GpTarSplitEntry *e;
  gboolean done = FALSE;
  while (gp_tar_split_reader_next (r, &e, &error) && e != NULL)
    {
      GpTarSplitEntry copy = *e;
      if (!done && e->type == GP_TAR_SPLIT_ENTRY_FILE && e->size > 0)
        {
          copy.name = new_name;
          copy.name_len = strlen (new_name);
          done = TRUE;
        }
      if (!gp_tar_split_writer_add (w, &copy, &error))
        die ("%s", error->message);
    }
  if (error != NULL)
    die ("%s", error->message);
  if (!gp_tar_split_writer_finish (w, &error))
    die ("%s", error->message);
  close (in);
  close (out);
  if (rename (tmp, path) < 0)
    die ("%s: %s", path, g_strerror (errno));
}

/* The first regular file (sorted walk) of a layer dir, relative. */
static char *
first_regular_file (const char *dir, const char *rel)
{
  g_autofree char *path = rel[0] ? g_build_filename (dir, rel, NULL) : g_strdup (dir);
  g_autoptr (GDir) d = g_dir_open (path, 0, NULL);
  if (d == NULL)
    return NULL;
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  while ((name = g_dir_read_name (d)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, (GCompareFunc) g_strcmp0);
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *sub = rel[0] ? g_build_filename (rel, names->pdata[i], NULL) : g_strdup (names->pdata[i]);
      g_autofree char *full = g_build_filename (dir, sub, NULL);
      struct stat st;
      if (lstat (full, &st) < 0)
        continue;
      if (S_ISREG (st.st_mode) && st.st_size > 0)
        return g_steal_pointer (&sub);
      if (S_ISDIR (st.st_mode))
        {
          char *r = first_regular_file (dir, sub);
          if (r != NULL)
            return r;
        }
    }
  return NULL;
}

static void
append_default_config (GString *out, const char *cmd)
{
  g_string_append (out, "{\"Hostname\":\"\",\"Domainname\":\"\",\"User\":\"\",\"AttachStdin\":false,\"AttachStdout\":false,"
         "\"AttachStderr\":false,\"ExposedPorts\":null,\"PublishService\":\"\",\"Tty\":false,\"OpenStdin\":false,"
         "\"StdinOnce\":false,\"Env\":null,\"Cmd\":");
  g_string_append (out, cmd);
  g_string_append (out, ",\"Image\":\"\",\"Volumes\":null,\"VolumeDriver\":\"\","
         "\"WorkingDir\":\"\",\"Entrypoint\":null,\"NetworkDisabled\":false,\"MacAddress\":\"\",\"OnBuild\":null,"
         "\"Labels\":{}}");
}

static void
make_image (Ctx *c, const GpDriver *driver, const char *group, GHashTable *tags)
{
  const char *label = group + strlen ("image ");
  const char *id = g_hash_table_lookup (c->ids, label);
  g_autofree char *parent = get (c, group, "parent", NULL);
  g_autofree char *graph_dir = g_build_filename (c->root, "graph", id, NULL);
  gboolean aufs = strcmp (c->driver, "aufs") == 0;
  gint64 mtime = g_key_file_has_key (c->kf, group, "mtime", NULL)
                   ? g_key_file_get_int64 (c->kf, group, "mtime", NULL) : c->mtime;
  g_autoptr (GError) error = NULL;

  g_mkdir_with_parents (graph_dir, 0700);
  chmod (graph_dir, 0700);

  /* The layer directory. */
  g_autofree char *layer_dir = gp_driver_get_layer_dir (driver, c->root, id, &error);
  if (layer_dir == NULL)
    die ("%s", error->message);
  g_autofree char *layer_parent = g_path_get_dirname (layer_dir);
  g_mkdir_with_parents (layer_parent, 0700);
  const char *pid = parent && g_hash_table_contains (c->parents, parent) ? parent : NULL;
  if (!aufs && pid != NULL)
    {
      g_autofree char *pdir = gp_driver_get_layer_dir (driver, c->root, pid, NULL);
      g_autoptr (GHashTable) inodes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
      copy_tree (pdir, layer_dir, inodes);
    }
  else
    {
      mkdir (layer_dir, 0755);
      chmod (layer_dir, 0755);
      set_mtime (layer_dir, mtime);
    }
  if (aufs)
    {
      g_autofree char *layers = g_build_filename (c->root, "aufs", "layers", id, NULL);
      g_autoptr (GString) list = g_string_new (NULL);
      for (const char *p = pid; p != NULL; p = g_hash_table_lookup (c->parents, p))
        g_string_append_printf (list, "%s\n", p);
      write_file (layers, list->str, (gssize) list->len, 0644);
      g_autofree char *mnt = g_build_filename (c->root, "aufs", "mnt", id, NULL);
      g_mkdir_with_parents (mnt, 0755);
    }
  g_hash_table_insert (c->parents, g_strdup (id), pid ? g_strdup (pid) : NULL);

  gint64 size = 0;
  g_auto (GStrv) files = g_key_file_get_string_list (c->kf, group, "files", NULL, NULL);
  g_autoptr (GPtrArray) touched = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; files && files[i]; i++)
    if (files[i][0] != '\0')
      apply_entry (layer_dir, files[i], mtime, aufs, &size, touched);
  for (guint i = touched->len; i-- > 0;)
    set_mtime (touched->pdata[i], mtime);

  /* graph/<id>/json */
  g_autofree char *json = get (c, group, "json", NULL);
  if (json == NULL)
    {
      g_autofree char *version = get (c, group, "docker_version", "1.9.1");
      g_autofree char *created = get (c, group, "created", "2015-10-31T22:22:54.690851953Z");
      g_autofree char *cmd = get (c, group, "cmd", "null");
      g_autofree char *author = get (c, group, "author", "");
      g_autofree char *comment = get (c, group, "comment", "");
      g_autoptr (GString) j = g_string_new ("{\"id\":");
      gp_json_append_string (j, id, strlen (id));
      if (parent != NULL)
        {
          g_string_append (j, ",\"parent\":");
          gp_json_append_string (j, parent, strlen (parent));
        }
      if (comment[0])
        {
          g_string_append (j, ",\"comment\":");
          gp_json_append_string (j, comment, strlen (comment));
        }
      g_string_append_printf (j, ",\"created\":\"%s\",\"container\":\"%.64s\",\"container_config\":", created,
                              "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00");
      append_default_config (j, cmd);
      g_string_append (j, ",\"docker_version\":");
      gp_json_append_string (j, version, strlen (version));
      if (author[0])
        {
          g_string_append (j, ",\"author\":");
          gp_json_append_string (j, author, strlen (author));
        }
      g_string_append (j, ",\"config\":");
      append_default_config (j, "[\"sh\"]");
      g_string_append_printf (j, ",\"architecture\":\"amd64\",\"os\":\"linux\",\"Size\":%" G_GINT64_FORMAT "}", size);
      json = g_string_free (g_steal_pointer (&j), FALSE);
    }
  g_autofree char *json_path = g_build_filename (graph_dir, "json", NULL);
  write_file (json_path, json, -1, 0600);
  g_autofree char *ls_path = g_build_filename (graph_dir, "layersize", NULL);
  g_autofree char *ls = g_strdup_printf ("%" G_GINT64_FORMAT, size);
  write_file (ls_path, ls, -1, 0600);

  g_autofree char *parent_file = get (c, group, "parent_file", NULL);
  if (parent_file != NULL)
    {
      g_autofree char *p = g_build_filename (graph_dir, "parent", NULL);
      write_file (p, parent_file, -1, 0600);
    }
  g_autofree char *checksum = get (c, group, "checksum", NULL);
  if (checksum != NULL)
    {
      g_autofree char *p = g_build_filename (graph_dir, "checksum", NULL);
      write_file (p, checksum, -1, 0600);
    }

  g_autofree char *tarsplit = get (c, group, "tarsplit", "yes");
  g_autofree char *td_path = g_build_filename (graph_dir, "tar-data.json.gz", NULL);
  if (strcmp (tarsplit, "yes") == 0)
    write_tar_data (c, driver, id, pid, td_path);

  g_auto (GStrv) tag_list = g_key_file_get_string_list (c->kf, group, "tags", NULL, NULL);
  for (guint i = 0; tag_list && tag_list[i]; i++)
    g_hash_table_insert (tags, g_strdup (tag_list[i]), g_strdup (id));

  g_autofree char *brk = get (c, group, "break", NULL);
  if (brk != NULL)
    {
      /* The layer's own first non-empty file (vfs dirs hold the parents'
       * files too, which this layer's tar-split does not name). */
      g_autofree char *victim = NULL;
      for (guint i = 0; files && files[i] && victim == NULL; i++)
        {
          g_auto (GStrv) f = g_strsplit (files[i], " ", 4);
          if (g_strv_length (f) >= 4 && (strcmp (f[0], "f") == 0 || strcmp (f[0], "z") == 0) && f[3][0] != '\0'
              && strcmp (f[3], "0") != 0)
            victim = percent_decode (f[1]);
        }
      if (victim == NULL)
        victim = first_regular_file (layer_dir, "");
      g_autofree char *vpath = victim ? g_build_filename (layer_dir, victim, NULL) : NULL;
      if (strcmp (brk, "crc") == 0 && vpath)
        {
          g_autofree char *data = NULL;
          gsize len;
          g_file_get_contents (vpath, &data, &len, NULL);
          data[0] ^= 0x20;
          write_file (vpath, data, (gssize) len, 0644);
        }
      else if (strcmp (brk, "missing") == 0 && vpath)
        unlink (vpath);
      else if (strcmp (brk, "fifo") == 0 && vpath)
        {
          unlink (vpath);
          mkfifo (vpath, 0644);
        }
      else if (strcmp (brk, "escape") == 0)
        rename_first_file_entry (td_path, "../../../../etc/passwd");
      else if (strcmp (brk, "gzip") == 0)
        {
          g_autofree char *data = NULL;
          gsize len;
          g_file_get_contents (td_path, &data, &len, NULL);
          for (gsize i = 12; i < len && i < 40; i++)
            data[i] ^= 0x5a;
          write_file (td_path, data, (gssize) len, 0600);
        }
      else if (strcmp (brk, "dir") == 0)
        remove_tree (layer_dir);
      else
        die ("[%s] break=%s: not applicable", group, brk);
    }
}

static void
make_container (Ctx *c, const GpDriver *driver, const char *group)
{
  const char *label = group + strlen ("container ");
  g_autofree char *id = get (c, group, "id", NULL);
  if (id == NULL)
    id = g_compute_checksum_for_string (G_CHECKSUM_SHA256, label, -1);
  g_autofree char *dir = g_build_filename (c->root, "containers", id, NULL);
  g_mkdir_with_parents (dir, 0700);
  g_autofree char *config = get (c, group, "config", NULL);
  if (config == NULL)
    {
      g_autofree char *image = get (c, group, "image", "");
      g_autoptr (GString) j = g_string_new ("{\"State\":{\"Running\":false,\"Pid\":0,\"ExitCode\":0},\"ID\":");
      gp_json_append_string (j, id, strlen (id));
      g_string_append (j, ",\"Created\":\"2015-11-10T21:42:40.433831551Z\",\"Path\":\"sh\",\"Args\":[],"
                          "\"Config\":{\"Hostname\":\"f780ee3f80e6\",\"Cmd\":[\"sh\"],\"Image\":\"busybox\"},\"Image\":");
      gp_json_append_string (j, image, strlen (image));
      g_string_append_printf (j, ",\"Name\":\"/%s\",\"Driver\":\"%s\",\"MountPoints\":{},\"Volumes\":{}}", label, c->driver);
      config = g_string_free (g_steal_pointer (&j), FALSE);
    }
  g_autofree char *path = g_build_filename (dir, "config.json", NULL);
  write_file (path, config, -1, 0600);
  g_autofree char *hc = g_build_filename (dir, "hostconfig.json", NULL);
  write_file (hc, "{}", -1, 0644);

  g_autofree char *rw = get (c, group, "rwlayer", "yes");
  if (strcmp (rw, "no") != 0)
    {
      g_autofree char *init_id = g_strconcat (id, "-init", NULL);
      const char *ids[] = { id, strcmp (rw, "noinit") == 0 ? NULL : init_id, NULL };
      for (guint i = 0; ids[i]; i++)
        {
          g_autofree char *ld = gp_driver_get_layer_dir (driver, c->root, ids[i], NULL);
          g_mkdir_with_parents (ld, 0755);
          if (strcmp (c->driver, "aufs") == 0)
            {
              g_autofree char *layers = g_build_filename (c->root, "aufs", "layers", ids[i], NULL);
              write_file (layers, "", 0, 0644);
            }
        }
    }
}

static void
write_repositories (Ctx *c, GHashTable *tags)
{
  g_autofree char *raw = get (c, "root", "repositories", NULL);
  g_autofree char *name = g_strconcat ("repositories-", c->driver, NULL);
  g_autofree char *path = g_build_filename (c->root, name, NULL);

  if (raw != NULL)
    {
      if (strcmp (raw, "none") != 0)
        write_file (path, raw, -1, 0600);
      return;
    }
  /* repo -> (tag -> id), sorted. */
  g_autoptr (GHashTable) repos = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_hash_table_unref);
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, tags);
  while (g_hash_table_iter_next (&it, &k, &v))
    {
      const char *ref = k;
      const char *at = strchr (ref, '@');
      const char *colon = at ? at : strrchr (ref, ':');
      if (colon == NULL || (strchr (colon, '/') != NULL))
        die ("tag '%s' has no ':tag' or '@digest'", ref);
      g_autofree char *repo = g_strndup (ref, (gsize) (colon - ref));
      GHashTable *m = g_hash_table_lookup (repos, repo);
      if (m == NULL)
        {
          m = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
          g_hash_table_insert (repos, g_strdup (repo), m);
        }
      g_hash_table_insert (m, g_strdup (colon + 1), g_strdup (v));
    }
  g_autoptr (GString) out = g_string_new ("{\"Repositories\":");
  GList *names = g_list_sort (g_hash_table_get_keys (repos), (GCompareFunc) strcmp);
  g_string_append_c (out, '{');
  for (GList *l = names; l; l = l->next)
    {
      if (l != names)
        g_string_append_c (out, ',');
      gp_json_append_string (out, l->data, strlen (l->data));
      g_string_append (out, ":{");
      GHashTable *m = g_hash_table_lookup (repos, l->data);
      GList *keys = g_list_sort (g_hash_table_get_keys (m), (GCompareFunc) strcmp);
      for (GList *t = keys; t; t = t->next)
        {
          if (t != keys)
            g_string_append_c (out, ',');
          gp_json_append_string (out, t->data, strlen (t->data));
          g_string_append_c (out, ':');
          const char *id = g_hash_table_lookup (m, t->data);
          gp_json_append_string (out, id, strlen (id));
        }
      g_list_free (keys);
      g_string_append_c (out, '}');
    }
  g_list_free (names);
  g_string_append (out, "}}");
  write_file (path, out->str, (gssize) out->len, 0600);
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  Ctx c = { 0 };

  if (argc != 3)
    {
      fprintf (stderr, "usage: gp-mklegacy DESCRIPTION ROOT\n");
      return 2;
    }
  umask (022);
  c.kf = g_key_file_new ();
  if (!g_key_file_load_from_file (c.kf, argv[1], G_KEY_FILE_NONE, &error))
    die ("%s: %s", argv[1], error->message);
  c.root = g_canonicalize_filename (argv[2], NULL);
  c.driver = g_key_file_get_string (c.kf, "root", "driver", NULL);
  if (c.driver == NULL)
    c.driver = g_strdup ("vfs");
  c.mtime = g_key_file_has_key (c.kf, "root", "mtime", NULL)
              ? g_key_file_get_int64 (c.kf, "root", "mtime", NULL) : 1446330174;
  c.ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  c.parents = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  const GpDriver *driver = gp_driver_lookup (c.driver, &error);
  if (driver == NULL)
    die ("%s", error->message);

  g_mkdir_with_parents (c.root, 0700);
  chmod (c.root, 0700);
  const char *const dirs[] = { "graph", "containers", c.driver, NULL };
  for (guint i = 0; dirs[i]; i++)
    {
      g_autofree char *d = g_build_filename (c.root, dirs[i], NULL);
      g_mkdir_with_parents (d, 0700);
    }

  gsize n_groups;
  g_auto (GStrv) groups = g_key_file_get_groups (c.kf, &n_groups);
  /* IDs first, so that @LABEL works anywhere. */
  for (gsize i = 0; i < n_groups; i++)
    {
      if (!g_str_has_prefix (groups[i], "image "))
        continue;
      const char *label = groups[i] + strlen ("image ");
      char *id = g_key_file_get_string (c.kf, groups[i], "id", NULL);
      if (id == NULL)
        id = g_compute_checksum_for_string (G_CHECKSUM_SHA256, label, -1);
      g_hash_table_insert (c.ids, g_strdup (label), id);
    }
  g_autoptr (GHashTable) tags = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  for (gsize i = 0; i < n_groups; i++)
    if (g_str_has_prefix (groups[i], "image "))
      make_image (&c, driver, groups[i], tags);
  for (gsize i = 0; i < n_groups; i++)
    if (g_str_has_prefix (groups[i], "container "))
      make_container (&c, driver, groups[i]);
  for (gsize i = 0; i < n_groups; i++)
    if (g_str_has_prefix (groups[i], "file "))
      {
        g_autofree char *rel = substitute (&c, groups[i] + strlen ("file "));
        g_autofree char *path = g_build_filename (c.root, rel, NULL);
        g_autofree char *content = get (&c, groups[i], "content", "");
        g_autofree char *mode = get (&c, groups[i], "mode", "0600");
        write_file (path, content, -1, (guint) strtoul (mode, NULL, 8));
      }
  write_repositories (&c, tags);

  g_hash_table_unref (c.ids);
  g_hash_table_unref (c.parents);
  g_key_file_unref (c.kf);
  g_free (c.root);
  g_free (c.driver);
  return 0;
}
