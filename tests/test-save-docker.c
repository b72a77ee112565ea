/* `graphpipe save` against Docker itself (also alone: make check-docker).
 *
 * Debian's docker.io (Docker 20.10) daemon runs without network set-up on
 * a vfs data root of its own:
 *
 * 1. a fresh daemon `docker load`s the golden save tarballs, `docker save`s
 *    them again for reference, and is stopped (by its pid);
 * 2. `graphpipe save` reads that Docker 20.10 data root (tar-split files
 *    from a newer tar-split, familiar reference names) with no daemon;
 * 3. ours and Docker's tarballs have the same images, tags, config bytes
 *    and layer bytes (the v1 directory names differ by design: the default
 *    save writes Docker 1.10.3's, FORMATS.md §5.7; `--compat 20.10`, which
 *    writes Docker 20.10's bytes, is compared byte for byte in
 *    tests/test-save-compat.sh);
 * 4. a second fresh daemon `docker load`s our tarballs: the images come up
 *    with their IDs, tags and layers.
 *
 * Skips when dockerd or the docker client is missing, when not root, and
 * with GP_SKIP_DOCKERD=1 (as tests/migrate-docker.sh does); under
 * GP_REQUIRE_ALL each of these fails instead.  A daemon that refuses to
 * load our tarball fails the test.
 */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "gp-test-util.h"
#include "save-util.h"

typedef struct {
  char *dir;
  char *data;
  char *sock;
  char *host;
  GSubprocess *proc;
} Daemon;

static const char *docker_client;

static gboolean
docker_ok (const Daemon *d, const char *const *args, char **out_stdout, char **out_stderr)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) docker_client);
  g_ptr_array_add (argv, (gpointer) "-H");
  g_ptr_array_add (argv, d->host);
  for (const char *const *a = args; *a; a++)
    g_ptr_array_add (argv, (gpointer) *a);
  g_ptr_array_add (argv, NULL);
  return save_util_run ((const char *const *) argv->pdata, NULL, out_stdout, out_stderr) == 0;
}

static void
docker_run (const Daemon *d, const char *const *args, char **out_stdout)
{
  g_autofree char *err = NULL;
  if (!docker_ok (d, args, out_stdout, &err))
    g_error ("docker %s failed: %s", args[0], err);
}

/* A failed assertion aborts the test program: the daemon must not outlive
 * it. */
static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

static void
daemon_start (Daemon *d, const char *dir)
{
  g_autoptr (GError) error = NULL;
  d->dir = g_strdup (dir);
  d->data = g_build_filename (dir, "data", NULL);
  d->sock = g_build_filename (dir, "docker.sock", NULL);
  d->host = g_strconcat ("unix://", d->sock, NULL);
  g_autofree char *exec_root = g_build_filename (dir, "exec", NULL);
  g_autofree char *pidfile = g_build_filename (dir, "docker.pid", NULL);
  g_autofree char *log = g_build_filename (dir, "dockerd.log", NULL);

  g_autoptr (GSubprocessLauncher) l = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_INHERIT);
  g_subprocess_launcher_set_stdout_file_path (l, log);
  g_subprocess_launcher_set_stderr_file_path (l, log);
  g_subprocess_launcher_set_child_setup (l, die_with_parent, NULL, NULL);
  d->proc = g_subprocess_launcher_spawn (l, &error, "dockerd", "--storage-driver", "vfs",
                                         "--iptables=false", "--ip-masq=false", "--bridge=none",
                                         "--data-root", d->data, "--exec-root", exec_root,
                                         "--pidfile", pidfile, "--host", d->host, NULL);
  g_assert_no_error (error);

  const char *version[] = { "version", NULL };
  for (int i = 0; i < 600; i++)
    {
      if (g_file_test (d->sock, G_FILE_TEST_EXISTS) && docker_ok (d, version, NULL, NULL))
        return;
      if (g_subprocess_get_identifier (d->proc) == NULL)
        break;
      g_usleep (100 * 1000);
    }
  g_autofree char *text = NULL;
  g_file_get_contents (log, &text, NULL, NULL);
  g_error ("dockerd did not come up: %s", text ? text : "(no log)");
}

static void
daemon_stop (Daemon *d)
{
  if (d->proc == NULL)
    return;
  const char *pid = g_subprocess_get_identifier (d->proc);
  if (pid != NULL)
    {
      g_subprocess_send_signal (d->proc, SIGTERM);
      g_subprocess_wait (d->proc, NULL, NULL);
    }
  g_clear_object (&d->proc);
}

static void
daemon_clear (Daemon *d)
{
  daemon_stop (d);
  g_free (d->dir);
  g_free (d->data);
  g_free (d->sock);
  g_free (d->host);
}

/* ---- comparing tarballs ------------------------------------------------ */

typedef struct {
  GBytes *tar;
  GPtrArray *members;
  JsonNode *manifest;
} Tarball;

static void
tarball_load (Tarball *t, const char *path)
{
  g_autoptr (GError) error = NULL;
  t->tar = save_util_read_file (path);
  g_assert_nonnull (t->tar);
  t->members = save_util_tar_members (t->tar, &error);
  g_assert_no_error (error);
  const SaveMember *m = save_util_find_member (t->members, "manifest.json");
  g_assert_nonnull (m);
  g_autoptr (JsonParser) p = json_parser_new ();
  g_assert_true (json_parser_load_from_data (p, (const char *) m->data, (gssize) m->size, &error));
  t->manifest = json_node_copy (json_parser_get_root (p));
}

static void
tarball_clear (Tarball *t)
{
  g_clear_pointer (&t->members, g_ptr_array_unref);
  g_clear_pointer (&t->tar, g_bytes_unref);
  g_clear_pointer (&t->manifest, json_node_unref);
}

/* Docker 20.10 writes a layer that appears twice once and the second
 * layer.tar as a relative symbolic link to the first. */
static const SaveMember *
find_following_links (const Tarball *t, const char *name)
{
  g_autofree char *path = g_strdup (name);
  for (int depth = 0; depth < 8; depth++)
    {
      const SaveMember *m = save_util_find_member (t->members, path);
      if (m == NULL || m->typeflag != '2')
        return m;
      g_autofree char *target = g_strndup ((const char *) m->header + 157, 100);
      g_autofree char *dir = g_path_get_dirname (path);
      g_autofree char *joined = g_build_filename ("/", dir, target, NULL);
      g_autofree char *clean = g_canonicalize_filename (joined, "/");
      g_free (path);
      path = g_strdup (clean + 1);
    }
  return NULL;
}

static char *
member_sha256 (const Tarball *t, const char *name)
{
  const SaveMember *m = find_following_links (t, name);
  if (m == NULL)
    g_error ("member %s missing", name);
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, m->data, m->size);
}

static JsonObject *
find_item (const Tarball *t, const char *config)
{
  JsonArray *items = json_node_get_array (t->manifest);
  for (guint i = 0; i < json_array_get_length (items); i++)
    {
      JsonObject *o = json_array_get_object_element (items, i);
      if (g_strcmp0 (json_object_get_string_member (o, "Config"), config) == 0)
        return o;
    }
  return NULL;
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* RepoTags as a sorted, comma-separated list ("" for null). */
static char *
join_string_array (JsonObject *o, const char *member)
{
  JsonNode *n = json_object_get_member (o, member);
  if (n == NULL || JSON_NODE_HOLDS_NULL (n))
    return g_strdup ("");
  JsonArray *a = json_node_get_array (n);
  g_autoptr (GPtrArray) v = g_ptr_array_new ();
  for (guint i = 0; i < json_array_get_length (a); i++)
    g_ptr_array_add (v, (gpointer) json_array_get_string_element (a, i));
  g_ptr_array_sort (v, compare_strings);
  g_ptr_array_add (v, NULL);
  return g_strjoinv (",", (char **) v->pdata);
}

/* Same images (configs byte for byte), same tags, same layer bytes in the
 * same order. */
static void
assert_same_images (const char *ours_path, const char *docker_path)
{
  Tarball ours = { 0 }, theirs = { 0 };
  tarball_load (&ours, ours_path);
  tarball_load (&theirs, docker_path);

  JsonArray *items = json_node_get_array (ours.manifest);
  g_assert_cmpuint (json_array_get_length (items), ==,
                    json_array_get_length (json_node_get_array (theirs.manifest)));
  for (guint i = 0; i < json_array_get_length (items); i++)
    {
      JsonObject *o = json_array_get_object_element (items, i);
      const char *config = json_object_get_string_member (o, "Config");
      JsonObject *t = find_item (&theirs, config);
      if (t == NULL)
        g_error ("docker save has no config %s", config);

      g_autofree char *a = member_sha256 (&ours, config);
      g_autofree char *b = member_sha256 (&theirs, config);
      g_assert_cmpstr (a, ==, b);
      g_autofree char *tags_a = join_string_array (o, "RepoTags");
      g_autofree char *tags_b = join_string_array (t, "RepoTags");
      g_assert_cmpstr (tags_a, ==, tags_b);

      JsonArray *la = json_object_get_array_member (o, "Layers");
      JsonArray *lb = json_object_get_array_member (t, "Layers");
      g_assert_cmpuint (json_array_get_length (la), ==, json_array_get_length (lb));
      for (guint j = 0; j < json_array_get_length (la); j++)
        {
          g_autofree char *ha = member_sha256 (&ours, json_array_get_string_element (la, j));
          g_autofree char *hb = member_sha256 (&theirs, json_array_get_string_element (lb, j));
          g_assert_cmpstr (ha, ==, hb);
        }
    }

  /* Same kinds of members in the same numbers: per layer directory
   * VERSION, json and layer.tar; one config per image; manifest.json;
   * repositories when tagged. */
  g_assert_cmpuint (ours.members->len, ==, theirs.members->len);
  g_assert_nonnull (save_util_find_member (ours.members, "repositories"));
  g_assert_nonnull (save_util_find_member (theirs.members, "repositories"));
  tarball_clear (&ours);
  tarball_clear (&theirs);
}

/* ---- the test ------------------------------------------------------------ */

typedef struct {
  const char *name;
  const char *golden;      /* golden tarball to load */
  const char *args[3];
} DockerCase;

static const DockerCase docker_cases[] = {
  { "single", "save-busybox_latest.tar.gz", { "busybox:latest" } },
  { "all-tags", "save-busybox.tar.gz", { "busybox" } },
  { "multi", "save-myapp_v1+busybox_1.0.variant1.tar.gz", { "myapp:v1", "busybox:1.0" } },
};

static void
test_docker_round_trip (void)
{
  if (g_strcmp0 (g_getenv ("GP_SKIP_DOCKERD"), "1") == 0)
    {
      gp_test_skip_required ("GP_SKIP_DOCKERD=1");
      return;
    }
  if (!save_util_require_golden ())
    return;
  if (!save_util_have_program ("dockerd"))
    {
      gp_test_skip_required ("dockerd not installed (Debian package docker.io)");
      return;
    }
  docker_client = g_file_test ("/usr/bin/docker", G_FILE_TEST_IS_EXECUTABLE) ? "/usr/bin/docker" : "docker";
  if (!save_util_have_program ("docker"))
    {
      gp_test_skip_required ("docker client not installed (Debian package docker.io)");
      return;
    }
  if (geteuid () != 0)
    {
      gp_test_skip_required ("dockerd needs root");
      return;
    }

  g_autoptr (GError) error = NULL;
  g_autofree char *work = save_util_make_tmpdir ("gp-dk");
  g_autofree char *dir_a = g_build_filename (work, "a", NULL);
  g_autofree char *dir_b = g_build_filename (work, "b", NULL);
  g_assert_cmpint (g_mkdir (dir_a, 0700), ==, 0);
  g_assert_cmpint (g_mkdir (dir_b, 0700), ==, 0);

  /* 1. Docker loads the golden tarballs and saves them for reference. */
  Daemon a = { 0 };
  daemon_start (&a, dir_a);
  for (gsize i = 0; i < G_N_ELEMENTS (docker_cases); i++)
    {
      const DockerCase *c = &docker_cases[i];
      g_autofree char *gz = save_util_golden_path (c->golden);
      g_autoptr (GBytes) tar = save_util_gunzip_file (gz, &error);
      g_assert_no_error (error);
      g_autofree char *in = g_strdup_printf ("%s/in-%s.tar", work, c->name);
      g_assert_true (g_file_set_contents (in, g_bytes_get_data (tar, NULL), (gssize) g_bytes_get_size (tar),
                                          &error));
      const char *load[] = { "load", "-i", in, NULL };
      docker_run (&a, load, NULL);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (docker_cases); i++)
    {
      const DockerCase *c = &docker_cases[i];
      g_autofree char *ref = g_strdup_printf ("%s/docker-%s.tar", work, c->name);
      const char *save[] = { "save", "-o", ref, c->args[0], c->args[1], NULL };
      docker_run (&a, save, NULL);
    }
  daemon_stop (&a);

  /* 2 and 3. graphpipe saves from the stopped daemon's data root. */
  for (gsize i = 0; i < G_N_ELEMENTS (docker_cases); i++)
    {
      const DockerCase *c = &docker_cases[i];
      g_autofree char *ours = g_strdup_printf ("%s/ours-%s.tar", work, c->name);
      g_autofree char *ref = g_strdup_printf ("%s/docker-%s.tar", work, c->name);
      const char *args[] = { "save", "--root", a.data, "--driver", "vfs", "-o", ours,
                             c->args[0], c->args[1], NULL };
      g_autofree char *err = NULL;
      int status = save_util_run_graphpipe (args, NULL, &err);
      if (status != 0)
        g_error ("graphpipe save %s from the Docker 20.10 root: %s", c->args[0], err);
      assert_same_images (ours, ref);
    }

  /* 4. A fresh daemon loads what we wrote. */
  Daemon b = { 0 };
  daemon_start (&b, dir_b);
  for (gsize i = 0; i < G_N_ELEMENTS (docker_cases); i++)
    {
      const DockerCase *c = &docker_cases[i];
      g_autofree char *ours = g_strdup_printf ("%s/ours-%s.tar", work, c->name);
      const char *load[] = { "load", "-i", ours, NULL };
      g_autofree char *out = NULL;
      docker_run (&b, load, &out);
      g_test_message ("docker load %s: %s", c->name, out);
    }
  const char *images[] = { "images", "--no-trunc", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}", NULL };
  g_autofree char *list = NULL;
  docker_run (&b, images, &list);
  g_test_message ("%s", list);
  g_assert_nonnull (strstr (list, "busybox:latest sha256:d2db4a9a5c80ec23993d3a8fca1876bdc318af17541c8cf750dd7ed5c451d611"));
  g_assert_nonnull (strstr (list, "busybox:1.0 sha256:d2db4a9a5c80ec23993d3a8fca1876bdc318af17541c8cf750dd7ed5c451d611"));
  g_assert_nonnull (strstr (list, "myapp:v1 sha256:b640614c99aca33266bbf1101528bf77cc44f47c9c4e6d02fc4ebc7d5ff6a825"));

  /* The loaded layers are the ones we wrote: Docker checked each DiffID
   * while loading; the RootFS it reports is the config's. */
  const char *inspect[] = { "image", "inspect", "--format", "{{json .RootFS.Layers}}", "myapp:v1", NULL };
  g_autofree char *layers = NULL;
  docker_run (&b, inspect, &layers);
  g_assert_nonnull (strstr (layers, "sha256:5f09de076ad6475c0b6bb7b4961b973bf2e9f5b69c582b23d98c85c3ef1402b5"));
  daemon_stop (&b);

  daemon_clear (&a);
  daemon_clear (&b);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/save-docker/round-trip", test_docker_round_trip);
  int ret = g_test_run ();
  save_util_cleanup ();
  return ret;
}
