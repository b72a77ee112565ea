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
  g_autoptr (GPtrArray) tags = save_util_store_tags (root);
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
      save_util_run_ok (copy);

      g_autofree char *image = g_strconcat (oci, ":", tag, NULL);
      g_autofree char *bundle = g_build_filename (dir, tag, NULL);
      const char *unpack[] = { "umoci", "unpack", "--image", image, bundle, NULL };
      const char *unpack_rootless[] = { "umoci", "unpack", "--rootless", "--image", image, bundle, NULL };
      save_util_run_ok (as_root ? unpack : unpack_rootless);

      g_autofree char *layer_dir = save_util_store_top_layer_dir (root, ref);
      g_autofree char *rootfs = g_build_filename (bundle, "rootfs", NULL);
      g_autofree char *want = save_util_tree_listing (layer_dir, as_root);
      g_autofree char *got = save_util_tree_listing (rootfs, as_root);
      guint n = 0;
      for (const char *p = want; *p; p++)
        n += *p == '\n';
      if (strcmp (want, got) != 0)
        {
          g_autofree char *diff = save_util_listing_diff (want, got);
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
          g_autofree char *changed = save_util_tree_listing (rootfs, as_root);
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
              g_autofree char *unlinked = save_util_tree_listing (rootfs, as_root);
              g_autofree char *ldiff = save_util_listing_diff (want, unlinked);
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
