/* Real clients read what `graphpipe save` writes: skopeo (inspect, copy to
 * an OCI layout) and podman (load into a throwaway vfs store), on single-
 * and multi-image tarballs.  What they report (config digest = image ID,
 * layer digests = DiffIDs) is checked against the store itself: the image
 * ID is the sha256 of the imagedb file, the DiffIDs are read from it with
 * json-glib.  Each test skips when its tool is not installed (fails under
 * GP_REQUIRE_ALL); a client that refuses our tarball fails the test
 * (podman may skip only when it refuses Docker 1.10.3's own save too: it
 * cannot run here).
 */
#include "config.h"

#include <string.h>
#include <zlib.h>
#include <json-glib/json-glib.h>

#include "gp-test-util.h"
#include "save-util.h"

typedef struct {
  const char *ref;   /* as saved and as given to the clients */
  const char *repo;  /* podman's name: localhost/<repo>:<tag> */
} ClientImage;

typedef struct {
  const char *path;
  const char *golden; /* Docker 1.10.3's save of the same images */
  ClientImage images[3];
} ClientCase;

static const ClientCase client_cases[] = {
  { "single", "save-busybox_latest.tar.gz", { { "busybox:latest", "busybox:latest" } } },
  { "multi", "save-myapp_v1+busybox_1.0.variant1.tar.gz",
    { { "myapp:v1", "myapp:v1" }, { "busybox:1.0", "busybox:1.0" } } },
};

/* The image a reference points at in the golden store, and its DiffIDs,
 * read without graphpipe. */
static char *
store_image_id (const char *root, const char *ref)
{
  g_autofree char *path = g_build_filename (root, "image/vfs/repositories.json", NULL);
  g_autoptr (JsonParser) p = json_parser_new ();
  g_autoptr (GError) error = NULL;
  g_assert_true (json_parser_load_from_file (p, path, &error));
  JsonObject *repos = json_object_get_object_member (json_node_get_object (json_parser_get_root (p)),
                                                     "Repositories");
  const char *colon = strrchr (ref, ':');
  g_autofree char *name = g_strndup (ref, colon - ref);
  JsonObject *r = json_object_get_object_member (repos, name);
  g_assert_nonnull (r);
  return g_strdup (json_object_get_string_member (r, ref));
}

static GPtrArray *
store_diff_ids (const char *root, const char *image_id)
{
  g_autofree char *path = g_build_filename (root, "image/vfs/imagedb/content/sha256",
                                            image_id + strlen ("sha256:"), NULL);
  g_autofree char *data = NULL;
  gsize len;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_get_contents (path, &data, &len, &error));
  g_autofree char *hex = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) data, len);
  g_assert_cmpstr (hex, ==, image_id + strlen ("sha256:"));

  g_autoptr (JsonParser) p = json_parser_new ();
  g_assert_true (json_parser_load_from_data (p, data, (gssize) len, &error));
  JsonObject *rootfs = json_object_get_object_member (json_node_get_object (json_parser_get_root (p)),
                                                      "rootfs");
  JsonArray *ids = json_object_get_array_member (rootfs, "diff_ids");
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < json_array_get_length (ids); i++)
    g_ptr_array_add (out, g_strdup (json_array_get_string_element (ids, i)));
  return out;
}

static JsonNode *
parse_json (const char *text)
{
  g_autoptr (JsonParser) p = json_parser_new ();
  g_autoptr (GError) error = NULL;
  if (!json_parser_load_from_data (p, text, -1, &error))
    g_error ("not JSON (%s): %s", error->message, text);
  return json_node_copy (json_parser_get_root (p));
}

static void
assert_string_array (JsonArray *a, GPtrArray *want, const char *what)
{
  g_assert_nonnull (a);
  if (json_array_get_length (a) != want->len)
    g_error ("%s: %u entries, expected %u", what, json_array_get_length (a), want->len);
  for (guint i = 0; i < want->len; i++)
    g_assert_cmpstr (json_array_get_string_element (a, i), ==, g_ptr_array_index (want, i));
}

static char *
save_case (const ClientCase *c, const char *dir)
{
  const char *root = save_util_migrated_root ();
  g_autofree char *out = g_build_filename (dir, "save.tar", NULL);
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  g_ptr_array_add (args, (gpointer) "save");
  g_ptr_array_add (args, (gpointer) "--root");
  g_ptr_array_add (args, (gpointer) root);
  g_ptr_array_add (args, (gpointer) "-o");
  g_ptr_array_add (args, out);
  for (guint i = 0; i < G_N_ELEMENTS (c->images) && c->images[i].ref; i++)
    g_ptr_array_add (args, (gpointer) c->images[i].ref);
  g_ptr_array_add (args, NULL);
  g_autofree char *err = NULL;
  int status = save_util_run_graphpipe ((const char *const *) args->pdata, NULL, &err);
  if (status != 0)
    g_error ("graphpipe save failed: %s", err);
  return g_steal_pointer (&out);
}

static guint
n_images (const ClientCase *c)
{
  guint n = 0;
  while (n < G_N_ELEMENTS (c->images) && c->images[n].ref)
    n++;
  return n;
}

static char *
run_capture (const char *const *argv)
{
  g_autofree char *out = NULL, *err = NULL;
  int status = save_util_run (argv, NULL, &out, &err);
  if (status != 0)
    g_error ("%s %s failed (%d): %s", argv[0], argv[1], status, err);
  return g_steal_pointer (&out);
}

/* skopeo inspect (and --raw): layers = DiffIDs, config digest = image ID. */
static void
test_skopeo_inspect (gconstpointer data)
{
  const ClientCase *c = data;
  if (!save_util_require_golden ())
    return;
  if (!save_util_have_program ("skopeo"))
    {
      gp_test_skip_required ("skopeo not installed (Debian package skopeo)");
      return;
    }
  g_autofree char *dir = save_util_make_tmpdir ("test-save-skopeo");
  g_autofree char *tar = save_case (c, dir);
  const char *root = save_util_migrated_root ();
  guint n = n_images (c);

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *id = store_image_id (root, c->images[i].ref);
      g_autoptr (GPtrArray) diff_ids = store_diff_ids (root, id);
      /* A multi-image archive needs the reference to pick the image. */
      g_autofree char *src = n == 1 ? g_strconcat ("docker-archive:", tar, NULL)
                                    : g_strconcat ("docker-archive:", tar, ":", c->images[i].ref, NULL);

      const char *inspect[] = { "skopeo", "inspect", src, NULL };
      g_autofree char *text = run_capture (inspect);
      g_autoptr (JsonNode) info = parse_json (text);
      assert_string_array (json_object_get_array_member (json_node_get_object (info), "Layers"),
                           diff_ids, "skopeo inspect Layers");

      const char *raw[] = { "skopeo", "inspect", "--raw", src, NULL };
      g_autofree char *mtext = run_capture (raw);
      g_autoptr (JsonNode) manifest = parse_json (mtext);
      JsonObject *m = json_node_get_object (manifest);
      g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (m, "config"), "digest"),
                       ==, id);
      JsonArray *layers = json_object_get_array_member (m, "layers");
      g_assert_cmpuint (json_array_get_length (layers), ==, diff_ids->len);
      for (guint j = 0; j < diff_ids->len; j++)
        g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (layers, j), "digest"),
                         ==, g_ptr_array_index (diff_ids, j));
    }
}

static char *
gunzip_sha256 (const char *path)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) data = save_util_gunzip_file (path, &error);
  g_assert_no_error (error);
  gsize len;
  const guchar *p = g_bytes_get_data (data, &len);
  g_autofree char *hex = g_compute_checksum_for_data (G_CHECKSUM_SHA256, p, len);
  return g_strconcat ("sha256:", hex, NULL);
}

/* skopeo copy to an OCI layout: every image copies; the OCI config keeps
 * our DiffIDs and each (re-compressed) layer blob unpacks to its DiffID. */
static void
test_skopeo_copy (gconstpointer data)
{
  const ClientCase *c = data;
  if (!save_util_require_golden ())
    return;
  if (!save_util_have_program ("skopeo"))
    {
      gp_test_skip_required ("skopeo not installed (Debian package skopeo)");
      return;
    }
  g_autofree char *dir = save_util_make_tmpdir ("test-save-skopeo-copy");
  g_autofree char *tar = save_case (c, dir);
  const char *root = save_util_migrated_root ();
  g_autofree char *oci = g_build_filename (dir, "oci", NULL);
  guint n = n_images (c);

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *id = store_image_id (root, c->images[i].ref);
      g_autoptr (GPtrArray) diff_ids = store_diff_ids (root, id);
      g_autofree char *src = n == 1 ? g_strconcat ("docker-archive:", tar, NULL)
                                    : g_strconcat ("docker-archive:", tar, ":", c->images[i].ref, NULL);
      g_autofree char *tag = g_strdup_printf ("img%u", i);
      g_autofree char *dest = g_strconcat ("oci:", oci, ":", tag, NULL);
      const char *copy[] = { "skopeo", "copy", "-q", src, dest, NULL };
      g_free (run_capture (copy));

      /* index.json -> manifest -> config, layers */
      g_autofree char *index_path = g_build_filename (oci, "index.json", NULL);
      g_autofree char *index_text = NULL;
      g_assert_true (g_file_get_contents (index_path, &index_text, NULL, NULL));
      g_autoptr (JsonNode) index = parse_json (index_text);
      JsonArray *manifests = json_object_get_array_member (json_node_get_object (index), "manifests");
      const char *mdigest = NULL;
      for (guint j = 0; j < json_array_get_length (manifests); j++)
        {
          JsonObject *d = json_array_get_object_element (manifests, j);
          JsonObject *ann = json_object_get_object_member (d, "annotations");
          if (g_strcmp0 (json_object_get_string_member (ann, "org.opencontainers.image.ref.name"), tag) == 0)
            mdigest = json_object_get_string_member (d, "digest");
        }
      g_assert_nonnull (mdigest);
      g_autofree char *mpath = g_build_filename (oci, "blobs/sha256", mdigest + 7, NULL);
      g_autofree char *mtext = NULL;
      g_assert_true (g_file_get_contents (mpath, &mtext, NULL, NULL));
      g_autoptr (JsonNode) manifest = parse_json (mtext);
      JsonObject *m = json_node_get_object (manifest);

      const char *cdigest = json_object_get_string_member (json_object_get_object_member (m, "config"), "digest");
      g_autofree char *cpath = g_build_filename (oci, "blobs/sha256", cdigest + 7, NULL);
      g_autofree char *ctext = NULL;
      g_assert_true (g_file_get_contents (cpath, &ctext, NULL, NULL));
      g_autoptr (JsonNode) config = parse_json (ctext);
      JsonObject *rootfs = json_object_get_object_member (json_node_get_object (config), "rootfs");
      assert_string_array (json_object_get_array_member (rootfs, "diff_ids"), diff_ids, "OCI config diff_ids");

      JsonArray *layers = json_object_get_array_member (m, "layers");
      g_assert_cmpuint (json_array_get_length (layers), ==, diff_ids->len);
      for (guint j = 0; j < diff_ids->len; j++)
        {
          JsonObject *l = json_array_get_object_element (layers, j);
          const char *ldigest = json_object_get_string_member (l, "digest");
          g_autofree char *lpath = g_build_filename (oci, "blobs/sha256", ldigest + 7, NULL);
          g_autofree char *unpacked = gunzip_sha256 (lpath);
          g_assert_cmpstr (unpacked, ==, g_ptr_array_index (diff_ids, j));
        }
    }
}

/* Whether podman loads Docker 1.10.3's own save of @c's images (the
 * control when it refuses ours), in a store of its own under @dir. */
static gboolean
podman_loads_golden (const ClientCase *c, const char *dir)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *gz = save_util_golden_path (c->golden);
  g_autoptr (GBytes) tar = save_util_gunzip_file (gz, &error);
  g_assert_no_error (error);
  g_autofree char *path = g_build_filename (dir, "docker-1.10.3.tar", NULL);
  g_assert_true (g_file_set_contents (path, g_bytes_get_data (tar, NULL), (gssize) g_bytes_get_size (tar),
                                      &error));
  g_assert_no_error (error);
  g_autofree char *proot = g_build_filename (dir, "control-root", NULL);
  g_autofree char *prun = g_build_filename (dir, "control-run", NULL);
  /* podman's own runtime files: private (default /run/libpod is shared,
   * and "system reset" of another test removes it) */
  g_autofree char *ptmp = g_build_filename (dir, "control-run-tmp", NULL);
  const char *load[] = { "podman", "--root", proot, "--runroot", prun,
                         "--tmpdir", ptmp, "--storage-driver", "vfs",
                         "load", "-i", path, NULL };
  g_autofree char *err = NULL;
  gboolean ok = save_util_run (load, NULL, NULL, &err) == 0;
  g_test_message ("control: podman load of Docker 1.10.3's %s: %s", c->golden, ok ? "loaded" : err);
  const char *reset[] = { "podman", "--root", proot, "--runroot", prun,
                          "--tmpdir", ptmp, "--storage-driver", "vfs",
                          "system", "reset", "-f", NULL };
  save_util_run (reset, NULL, NULL, NULL);
  return ok;
}

/* podman load into a throwaway vfs store: every image arrives with its ID,
 * name and layers. */
static void
test_podman_load (gconstpointer data)
{
  const ClientCase *c = data;
  if (!save_util_require_golden ())
    return;
  if (!save_util_have_program ("podman"))
    {
      gp_test_skip_required ("podman not installed (Debian package podman)");
      return;
    }
  g_autofree char *dir = save_util_make_tmpdir ("test-save-podman");
  g_autofree char *tar = save_case (c, dir);
  const char *root = save_util_migrated_root ();
  g_autofree char *proot = g_build_filename (dir, "root", NULL);
  g_autofree char *prun = g_build_filename (dir, "run", NULL);
  /* podman's own runtime files: private (default /run/libpod is shared,
   * and "system reset" of another test removes it) */
  g_autofree char *ptmp = g_build_filename (dir, "run-tmp", NULL);

  const char *load[] = { "podman", "--root", proot, "--runroot", prun,
                         "--tmpdir", ptmp, "--storage-driver", "vfs",
                         "load", "-i", tar, NULL };
  g_autofree char *out = NULL, *err = NULL;
  int status = save_util_run (load, NULL, &out, &err);
  if (status != 0)
    {
      /* Not every sandbox lets podman run (user namespaces, cgroups): a
       * skip only when it cannot load Docker 1.10.3's own save either.
       * Its error on one line: the reason ends up on a TAP line. */
      g_strstrip (g_strdelimit (err, "\r\n", ' '));
      if (podman_loads_golden (c, dir))
        g_test_fail_printf ("podman load rejects our tarball but loads Docker 1.10.3's %s: %s",
                            c->golden, err);
      else
        {
          g_autofree char *msg = g_strdup_printf (
            "podman load does not work here (not even on Docker 1.10.3's %s): %s", c->golden, err);
          gp_test_skip_required (msg);
        }
      return;
    }

  for (guint i = 0; i < n_images (c); i++)
    {
      g_autofree char *id = store_image_id (root, c->images[i].ref);
      g_autoptr (GPtrArray) diff_ids = store_diff_ids (root, id);
      g_autofree char *name = g_strconcat ("localhost/", c->images[i].repo, NULL);
      const char *inspect[] = { "podman", "--root", proot, "--runroot", prun,
                                "--tmpdir", ptmp, "--storage-driver", "vfs",
                                "image", "inspect", name, NULL };
      g_autofree char *text = run_capture (inspect);
      g_autoptr (JsonNode) node = parse_json (text);
      JsonObject *img = json_array_get_object_element (json_node_get_array (node), 0);
      g_assert_cmpstr (json_object_get_string_member (img, "Id"), ==, id + 7);
      JsonObject *rootfs = json_object_get_object_member (img, "RootFS");
      assert_string_array (json_object_get_array_member (rootfs, "Layers"), diff_ids, "podman RootFS.Layers");
    }
  const char *reset[] = { "podman", "--root", proot, "--runroot", prun,
                          "--tmpdir", ptmp, "--storage-driver", "vfs",
                          "system", "reset", "-f", NULL };
  save_util_run (reset, NULL, NULL, NULL);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (client_cases); i++)
    {
      const ClientCase *c = &client_cases[i];
      g_autofree char *a = g_strdup_printf ("/save-clients/skopeo/inspect/%s", c->path);
      g_autofree char *b = g_strdup_printf ("/save-clients/skopeo/copy-oci/%s", c->path);
      g_autofree char *p = g_strdup_printf ("/save-clients/podman/load/%s", c->path);
      g_test_add_data_func (a, c, test_skopeo_inspect);
      g_test_add_data_func (b, c, test_skopeo_copy);
      g_test_add_data_func (p, c, test_podman_load);
    }

  int ret = g_test_run ();
  save_util_cleanup ();
  return ret;
}
