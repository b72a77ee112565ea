/* `graphpipe save --format oci-dir|oci-archive` (the oci-export sink),
 * checked against the golden migrated root read without graphpipe and
 * against real clients: skopeo inspects and copies every image of the
 * layout, umoci unpacks each into exactly the files of the store's top
 * layer directory, podman loads the archive and gets the image IDs.  The
 * config blobs must be the store's config bytes, uncompressed layer blob
 * digests the config's DiffIDs, and with --compress gzip the blobs gunzip
 * to the DiffIDs.  A client that rejects our output is a failure; a
 * missing client is a skip (a failure under GP_REQUIRE_ALL).
 */
#include "config.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "gp-test-util.h"
#include "save-util.h"

#define REF_NAME "org.opencontainers.image.ref.name"

static JsonNode *
parse_file (const char *path)
{
  g_autoptr (JsonParser) p = json_parser_new ();
  g_autoptr (GError) error = NULL;
  if (!json_parser_load_from_file (p, path, &error))
    g_error ("%s: %s", path, error->message);
  return json_node_copy (json_parser_get_root (p));
}

static JsonNode *
parse_text (const char *text)
{
  g_autoptr (JsonParser) p = json_parser_new ();
  g_autoptr (GError) error = NULL;
  if (!json_parser_load_from_data (p, text, -1, &error))
    g_error ("not JSON: %s: %s", error->message, text);
  return json_node_copy (json_parser_get_root (p));
}

/* The image ID a tag names in the store's repositories.json. */
static char *
store_image_id (const char *root, const char *ref)
{
  g_autofree char *path = g_build_filename (root, "image/vfs/repositories.json", NULL);
  g_autoptr (JsonNode) n = parse_file (path);
  JsonObject *repos = json_object_get_object_member (json_node_get_object (n), "Repositories");
  g_autofree char *name = g_strndup (ref, strrchr (ref, ':') - ref);
  return g_strdup (json_object_get_string_member (json_object_get_object_member (repos, name), ref));
}

static GBytes *
store_config (const char *root, const char *id)
{
  g_autofree char *path = g_build_filename (root, "image/vfs/imagedb/content/sha256", id + 7, NULL);
  return save_util_read_file (path);
}

static GPtrArray *
config_diff_ids (GBytes *config)
{
  g_autofree char *text = g_strndup (g_bytes_get_data (config, NULL), g_bytes_get_size (config));
  g_autoptr (JsonNode) n = parse_text (text);
  JsonArray *a = json_object_get_array_member (
    json_object_get_object_member (json_node_get_object (n), "rootfs"), "diff_ids");
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < json_array_get_length (a); i++)
    g_ptr_array_add (out, g_strdup (json_array_get_string_element (a, i)));
  return out;
}

static char *
sha256_of (GBytes *b)
{
  g_autofree char *hex = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, b);
  return g_strconcat ("sha256:", hex, NULL);
}

static GBytes *
read_blob (const char *layout, const char *digest)
{
  g_autofree char *path = g_build_filename (layout, "blobs/sha256", digest + 7, NULL);
  GBytes *b = save_util_read_file (path);
  if (b == NULL)
    g_error ("%s: missing blob", path);
  g_autofree char *got = sha256_of (b);
  g_assert_cmpstr (got, ==, digest);
  return b;
}

static void
save_oci_jobs (const char *root, const char *format, const char *compress, const char *out,
               GPtrArray *refs, const char *jobs)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  const char *head[] = { "save", "--format", format, "--root", root, "-o", out };
  for (guint i = 0; i < G_N_ELEMENTS (head); i++)
    g_ptr_array_add (args, (gpointer) head[i]);
  if (jobs != NULL)
    {
      g_ptr_array_add (args, (gpointer) "--jobs");
      g_ptr_array_add (args, (gpointer) jobs);
    }
  if (compress != NULL)
    {
      g_ptr_array_add (args, (gpointer) "--compress");
      g_ptr_array_add (args, (gpointer) compress);
    }
  for (guint i = 0; i < refs->len; i++)
    g_ptr_array_add (args, g_ptr_array_index (refs, i));
  g_ptr_array_add (args, NULL);
  g_autofree char *err = NULL;
  if (save_util_run_graphpipe ((const char *const *) args->pdata, NULL, &err) != 0)
    g_error ("graphpipe save --format %s failed: %s", format, err);
}

static void
save_oci (const char *root, const char *format, const char *compress, const char *out,
          GPtrArray *refs)
{
  save_oci_jobs (root, format, compress, out, refs, NULL);
}

/* Checks the layout against the store (read without graphpipe): one
 * named manifest per tag, blobs matching their digests, the configs the
 * store's bytes, the layers its DiffIDs, each blob once and no other. */
static void
check_layout (const char *layout, const char *root, GPtrArray *tags, gboolean gzip)
{
  g_autofree char *lpath = g_build_filename (layout, "oci-layout", NULL);
  g_autoptr (JsonNode) ln = parse_file (lpath);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (ln), "imageLayoutVersion"),
                   ==, "1.0.0");

  g_autofree char *ipath = g_build_filename (layout, "index.json", NULL);
  g_autoptr (JsonNode) in = parse_file (ipath);
  JsonObject *index = json_node_get_object (in);
  g_assert_cmpint (json_object_get_int_member (index, "schemaVersion"), ==, 2);
  JsonArray *manifests = json_object_get_array_member (index, "manifests");
  g_assert_cmpuint (json_array_get_length (manifests), ==, tags->len);

  g_autoptr (GHashTable) referenced = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint t = 0; t < tags->len; t++)
    {
      const char *tag = g_ptr_array_index (tags, t);
      JsonObject *desc = NULL;
      for (guint i = 0; i < json_array_get_length (manifests); i++)
        {
          JsonObject *d = json_array_get_object_element (manifests, i);
          JsonObject *ann = json_object_get_object_member (d, "annotations");
          if (ann != NULL && g_strcmp0 (json_object_get_string_member (ann, REF_NAME), tag) == 0)
            desc = d;
        }
      if (desc == NULL)
        g_error ("index.json: no manifest named %s", tag);
      g_assert_cmpstr (json_object_get_string_member (desc, "mediaType"), ==,
                       "application/vnd.oci.image.manifest.v1+json");
      const char *mdigest = json_object_get_string_member (desc, "digest");
      g_autoptr (GBytes) mbytes = read_blob (layout, mdigest);
      g_assert_cmpint (json_object_get_int_member (desc, "size"), ==, g_bytes_get_size (mbytes));
      g_hash_table_add (referenced, g_strdup (mdigest));

      g_autofree char *mtext = g_strndup (g_bytes_get_data (mbytes, NULL), g_bytes_get_size (mbytes));
      g_autoptr (JsonNode) mn = parse_text (mtext);
      JsonObject *m = json_node_get_object (mn);
      g_assert_cmpint (json_object_get_int_member (m, "schemaVersion"), ==, 2);
      JsonObject *config = json_object_get_object_member (m, "config");
      g_assert_cmpstr (json_object_get_string_member (config, "mediaType"), ==,
                       "application/vnd.oci.image.config.v1+json");

      /* the config blob is the store's config, byte for byte */
      g_autofree char *id = store_image_id (root, tag);
      g_autoptr (GBytes) want = store_config (root, id);
      g_assert_nonnull (want);
      g_assert_cmpstr (json_object_get_string_member (config, "digest"), ==, id);
      g_autoptr (GBytes) got = read_blob (layout, id);
      save_util_assert_bytes_equal (got, want, "config blob");
      g_hash_table_add (referenced, g_strdup (id));

      g_autoptr (GPtrArray) diff_ids = config_diff_ids (want);
      JsonArray *layers = json_object_get_array_member (m, "layers");
      g_assert_cmpuint (json_array_get_length (layers), ==, diff_ids->len);
      for (guint i = 0; i < diff_ids->len; i++)
        {
          JsonObject *l = json_array_get_object_element (layers, i);
          const char *digest = json_object_get_string_member (l, "digest");
          const char *diff_id = g_ptr_array_index (diff_ids, i);
          g_autoptr (GBytes) blob = read_blob (layout, digest);
          g_assert_cmpint (json_object_get_int_member (l, "size"), ==, g_bytes_get_size (blob));
          g_hash_table_add (referenced, g_strdup (digest));
          if (!gzip)
            {
              g_assert_cmpstr (json_object_get_string_member (l, "mediaType"), ==,
                               "application/vnd.oci.image.layer.v1.tar");
              g_assert_cmpstr (digest, ==, diff_id);
            }
          else
            {
              g_assert_cmpstr (json_object_get_string_member (l, "mediaType"), ==,
                               "application/vnd.oci.image.layer.v1.tar+gzip");
              g_assert_cmpstr (digest, !=, diff_id);
              g_autofree char *path = g_build_filename (layout, "blobs/sha256", digest + 7, NULL);
              g_autoptr (GError) error = NULL;
              g_autoptr (GBytes) tar = save_util_gunzip_file (path, &error);
              g_assert_no_error (error);
              g_autofree char *tar_digest = sha256_of (tar);
              g_assert_cmpstr (tar_digest, ==, diff_id);
            }
        }
    }

  /* every blob once, nothing else (no temporaries left) */
  g_autofree char *bdir = g_build_filename (layout, "blobs/sha256", NULL);
  g_autoptr (GDir) d = g_dir_open (bdir, 0, NULL);
  g_assert_nonnull (d);
  guint n = 0;
  const char *name;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *digest = g_strconcat ("sha256:", name, NULL);
      if (!g_hash_table_contains (referenced, digest))
        g_error ("blobs/sha256/%s: not referenced", name);
      n++;
    }
  g_assert_cmpuint (n, ==, g_hash_table_size (referenced));
}

static gboolean
have_clients (void)
{
  if (!save_util_require_golden ())
    return FALSE;
  const char *need[] = { "skopeo", "umoci" };
  for (guint i = 0; i < G_N_ELEMENTS (need); i++)
    if (!save_util_have_program (need[i]))
      {
        g_autofree char *msg = g_strdup_printf ("%s not installed", need[i]);
        gp_test_skip_required (msg);
        return FALSE;
      }
  return TRUE;
}

static void
test_oci_dir (gconstpointer data)
{
  gboolean gzip = GPOINTER_TO_INT (data);
  if (!have_clients ())
    return;
  gboolean as_root = geteuid () == 0;
  const char *root = save_util_migrated_root ();
  g_autoptr (GPtrArray) tags = save_util_store_tags (root);
  g_assert_cmpuint (tags->len, >, 1);

  g_autofree char *dir = save_util_make_tmpdir ("test-save-oci");
  g_autofree char *layout = g_build_filename (dir, "layout", NULL);
  save_oci (root, "oci-dir", gzip ? "gzip" : NULL, layout, tags);
  check_layout (layout, root, tags, gzip);

  for (guint i = 0; i < tags->len; i++)
    {
      const char *ref = g_ptr_array_index (tags, i);
      g_autofree char *src = g_strconcat ("oci:", layout, ":", ref, NULL);
      const char *inspect[] = { "skopeo", "inspect", src, NULL };
      g_autofree char *out = NULL, *err = NULL;
      if (save_util_run (inspect, NULL, &out, &err) != 0)
        g_error ("skopeo inspect %s rejects our layout: %s", src, err);
      g_autoptr (JsonNode) n = parse_text (out);
      g_autofree char *id = store_image_id (root, ref);
      g_autoptr (GBytes) config = store_config (root, id);
      g_autoptr (GPtrArray) diff_ids = config_diff_ids (config);
      JsonArray *layers = json_object_get_array_member (json_node_get_object (n), "Layers");
      g_assert_cmpuint (json_array_get_length (layers), ==, diff_ids->len);

      /* umoci: the rootfs equals the store's files of the top layer */
      g_autofree char *image = g_strconcat (layout, ":", ref, NULL);
      g_autofree char *bundle = g_strdup_printf ("%s/bundle%u", dir, i);
      const char *unpack[] = { "umoci", "unpack", "--image", image, bundle, NULL };
      const char *unpack_rootless[] = { "umoci", "unpack", "--rootless", "--image", image, bundle, NULL };
      save_util_run_ok (as_root ? unpack : unpack_rootless);
      g_autofree char *layer_dir = save_util_store_top_layer_dir (root, ref);
      g_autofree char *rootfs = g_build_filename (bundle, "rootfs", NULL);
      g_autofree char *want = save_util_tree_listing (layer_dir, as_root);
      g_autofree char *got = save_util_tree_listing (rootfs, as_root);
      if (strcmp (want, got) != 0)
        {
          g_autofree char *diff = save_util_listing_diff (want, got);
          g_error ("%s: umoci's rootfs differs from the store's files (%s):%s", ref, layer_dir, diff);
        }
      g_assert_cmpstr (want, !=, "");
    }

  /* an existing directory is never replaced */
  const char *again[] = { "save", "--format", "oci-dir", "--root", root, "-o", layout,
                          g_ptr_array_index (tags, 0), NULL };
  g_autofree char *err = NULL;
  g_assert_cmpint (save_util_run_graphpipe (again, NULL, &err), !=, 0);
  g_assert_nonnull (strstr (err, "exists"));
  check_layout (layout, root, tags, gzip);
  save_util_rm_rf (dir);
}

static void
test_oci_archive (void)
{
  if (!have_clients ())
    return;
  const char *root = save_util_migrated_root ();
  g_autoptr (GPtrArray) tags = save_util_store_tags (root);
  g_autofree char *dir = save_util_make_tmpdir ("test-save-oci-archive");
  g_autofree char *tar = g_build_filename (dir, "images.tar", NULL);
  save_oci (root, "oci-archive", NULL, tar, tags);

  /* the archive holds the same layout as the directory format */
  g_autofree char *unpacked = g_build_filename (dir, "unpacked", NULL);
  g_assert_cmpint (g_mkdir (unpacked, 0755), ==, 0);
  const char *untar[] = { "tar", "-xf", tar, "-C", unpacked, NULL };
  save_util_run_ok (untar);
  check_layout (unpacked, root, tags, FALSE);

  for (guint i = 0; i < tags->len; i++)
    {
      const char *ref = g_ptr_array_index (tags, i);
      g_autofree char *src = g_strconcat ("oci-archive:", tar, ":", ref, NULL);
      g_autofree char *dest = g_strdup_printf ("docker-archive:%s/copy%u.tar:%s", dir, i, ref);
      const char *copy[] = { "skopeo", "copy", "-q", src, dest, NULL };
      save_util_run_ok (copy);
    }

  if (!save_util_have_program ("podman"))
    {
      gp_test_skip_required ("podman not installed");
      return;
    }
  g_autofree char *proot = g_build_filename (dir, "root", NULL);
  g_autofree char *prun = g_build_filename (dir, "run", NULL);
  /* podman's own runtime files: private (default /run/libpod is shared,
   * and "system reset" of another test removes it) */
  g_autofree char *ptmp = g_build_filename (dir, "run-tmp", NULL);
  for (guint i = 0; i < tags->len; i++)
    {
      const char *ref = g_ptr_array_index (tags, i);
      /* one image at a time: podman loads one image of an oci-archive */
      g_autofree char *one = g_strdup_printf ("%s/one%u.tar", dir, i);
      g_autoptr (GPtrArray) single = g_ptr_array_new ();
      g_ptr_array_add (single, (gpointer) ref);
      save_oci (root, "oci-archive", NULL, one, single);
      const char *load[] = { "podman", "--root", proot, "--runroot", prun,
                             "--tmpdir", ptmp, "--storage-driver", "vfs",
                             "load", "-q", "-i", one, NULL };
      g_autofree char *out = NULL, *err = NULL;
      if (save_util_run (load, NULL, &out, &err) != 0)
        g_error ("podman load rejects our oci-archive of %s: %s", ref, err);
      g_autofree char *id = store_image_id (root, ref);
      const char *inspect[] = { "podman", "--root", proot, "--runroot", prun,
                                "--tmpdir", ptmp, "--storage-driver", "vfs",
                                "image", "inspect", "--format", "{{.Id}}", id + 7, NULL };
      g_autofree char *iout = NULL, *ierr = NULL;
      if (save_util_run (inspect, NULL, &iout, &ierr) != 0)
        g_error ("podman has no image %s after loading our oci-archive of %s: %s", id, ref, ierr);
      g_assert_cmpstr (g_strstrip (iout), ==, id + 7);
    }
  const char *reset[] = { "podman", "--root", proot, "--runroot", prun,
                          "--tmpdir", ptmp, "--storage-driver", "vfs",
                          "system", "reset", "-f", NULL };
  save_util_run (reset, NULL, NULL, NULL);
  save_util_rm_rf (dir);
}

/* oci-archive written to a file with --jobs 3 (layer spans filled by
 * workers, gzip headers filled in after the blob) and to a pipe with
 * --jobs 1 (streamed; gzip blobs spooled to a temporary first): the same
 * bytes, the same layout as oci-dir, and skopeo reads every image of it. */
static void
test_oci_archive_pipe (gconstpointer data)
{
  gboolean gzip = GPOINTER_TO_INT (data);
  if (!have_clients ())
    return;
  const char *root = save_util_migrated_root ();
  g_autoptr (GPtrArray) tags = save_util_store_tags (root);
  g_autofree char *dir = save_util_make_tmpdir ("test-save-oci-pipe");
  g_autofree char *file = g_build_filename (dir, "file.tar", NULL);
  g_autofree char *piped = g_build_filename (dir, "piped.tar", NULL);
  save_oci_jobs (root, "oci-archive", gzip ? "gzip" : "none", file, tags, "3");

  g_autofree char *graphpipe = save_util_graphpipe_path ();
  /* --jobs 1 to the pipe: the bytes must not depend on the jobs either */
  g_autoptr (GString) cmd = g_string_new ("set -e; \"$0\" save --format oci-archive --jobs 1 --root \"$1\" -o -");
  g_string_append (cmd, gzip ? " --compress gzip" : " --compress none");
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  const char *head[] = { "sh", "-c", NULL, graphpipe, root, piped };
  for (guint i = 0; i < tags->len; i++)
    g_string_append_printf (cmd, " \"${%u}\"", i + 3);
  g_string_append (cmd, " | cat > \"$2\"");
  head[2] = cmd->str;
  for (guint i = 0; i < G_N_ELEMENTS (head); i++)
    g_ptr_array_add (argv, (gpointer) head[i]);
  for (guint i = 0; i < tags->len; i++)
    g_ptr_array_add (argv, g_ptr_array_index (tags, i));
  g_ptr_array_add (argv, NULL);
  save_util_run_ok ((const char *const *) argv->pdata);

  g_autoptr (GBytes) a = save_util_read_file (file);
  g_autoptr (GBytes) b = save_util_read_file (piped);
  g_assert_nonnull (a);
  g_assert_nonnull (b);
  save_util_assert_bytes_equal (b, a, "oci-archive to a pipe vs. to a file");

  g_autofree char *unpacked = g_build_filename (dir, "unpacked", NULL);
  g_assert_cmpint (g_mkdir (unpacked, 0755), ==, 0);
  const char *untar[] = { "tar", "-xf", file, "-C", unpacked, NULL };
  save_util_run_ok (untar);
  check_layout (unpacked, root, tags, gzip);
  for (guint i = 0; i < tags->len; i++)
    {
      const char *ref = g_ptr_array_index (tags, i);
      g_autofree char *src = g_strconcat ("oci-archive:", file, ":", ref, NULL);
      g_autofree char *dest = g_strdup_printf ("docker-archive:%s/copy%u.tar:%s", dir, i, ref);
      const char *copy[] = { "skopeo", "copy", "-q", src, dest, NULL };
      save_util_run_ok (copy);
    }
  save_util_rm_rf (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/save-oci/dir/uncompressed", GINT_TO_POINTER (FALSE), test_oci_dir);
  g_test_add_data_func ("/save-oci/dir/gzip", GINT_TO_POINTER (TRUE), test_oci_dir);
  g_test_add_func ("/save-oci/archive", test_oci_archive);
  g_test_add_data_func ("/save-oci/archive/pipe/uncompressed", GINT_TO_POINTER (FALSE),
                        test_oci_archive_pipe);
  g_test_add_data_func ("/save-oci/archive/pipe/gzip", GINT_TO_POINTER (TRUE), test_oci_archive_pipe);
  int status = g_test_run ();
  save_util_cleanup ();
  return status;
}
