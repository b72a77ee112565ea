/* Tests for `graphpipe save` (the tar-export stage), end to end through
 * the command:
 *
 * - golden: on the store Docker 1.10.3 migrated (golden/public/
 *   migrated-root.tar.gz), each save-*.txt case (its first line names the
 *   arguments) gives exactly the bytes of save-*.tar.gz gunzipped (one of
 *   the stored variants where Docker varies), the same on every run, also
 *   through gzip and standard output;
 * - names: image IDs, unique prefixes, digest references;
 * - errors: unknown, ambiguous and invalid names, images without layers, a
 *   layer file altered after migration (refused, the layer named, no output
 *   file left), a terminal as output;
 * - overlay2: a data root laid out as Docker 20+ lays it out.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <gio/gio.h>
#include <glib/gstdio.h>

#include "gp-test-util.h"
#include "save-util.h"

/* The golden data is part of the tree: without it the test fails. */
#define REQUIRE_GOLDEN()                                                  \
  G_STMT_START                                                               \
  {                                                                          \
    if (!save_util_require_golden ())                                        \
      return;                                                                \
  }                                                                          \
  G_STMT_END

/* ---- golden cases ------------------------------------------------------ */

typedef struct {
  char *name;      /* e.g. save-busybox_latest */
  char **args;     /* from the first line of the .txt */
  GPtrArray *variants; /* paths of the .tar.gz files */
} GoldenCase;

static GPtrArray *golden_cases;

static void
golden_case_free (GoldenCase *c)
{
  g_free (c->name);
  g_strfreev (c->args);
  g_ptr_array_unref (c->variants);
  g_free (c);
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static void
load_golden_cases (void)
{
  golden_cases = g_ptr_array_new_with_free_func ((GDestroyNotify) golden_case_free);
  g_autofree char *dir = save_util_golden_path ("");
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  if (d == NULL)
    return;

  g_autoptr (GPtrArray) txts = g_ptr_array_new_with_free_func (g_free);
  const char *entry;
  while ((entry = g_dir_read_name (d)) != NULL)
    if (g_str_has_prefix (entry, "save-") && g_str_has_suffix (entry, ".txt"))
      g_ptr_array_add (txts, g_strdup (entry));
  g_ptr_array_sort (txts, compare_strings);

  for (guint i = 0; i < txts->len; i++)
    {
      const char *txt = g_ptr_array_index (txts, i);
      g_autofree char *path = g_build_filename (dir, txt, NULL);
      g_autofree char *text = NULL;
      if (!g_file_get_contents (path, &text, NULL, NULL))
        continue;
      char *nl = strchr (text, '\n');
      if (nl)
        *nl = '\0';
      const char *of = strstr (text, " of: ");
      if (of == NULL)
        continue;

      GoldenCase *c = g_new0 (GoldenCase, 1);
      c->name = g_strndup (txt, strlen (txt) - 4);
      c->args = g_strsplit (of + 5, " ", -1);
      c->variants = g_ptr_array_new_with_free_func (g_free);
      g_autofree char *single = g_strconcat (c->name, ".tar.gz", NULL);
      g_autofree char *single_path = g_build_filename (dir, single, NULL);
      if (g_file_test (single_path, G_FILE_TEST_EXISTS))
        g_ptr_array_add (c->variants, g_steal_pointer (&single_path));
      for (guint v = 1; v < 100; v++)
        {
          g_autofree char *vname = g_strdup_printf ("%s.variant%u.tar.gz", c->name, v);
          g_autofree char *vpath = g_build_filename (dir, vname, NULL);
          if (!g_file_test (vpath, G_FILE_TEST_EXISTS))
            break;
          g_ptr_array_add (c->variants, g_steal_pointer (&vpath));
        }
      g_ptr_array_add (golden_cases, c);
    }
}

/* Runs `graphpipe save --root ROOT [extra...] -o OUT ARGS...`. */
static int
run_save (const char *root, const char *const *extra, const char *out,
          const char *const *names, char **out_stderr)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  g_ptr_array_add (args, (gpointer) "save");
  g_ptr_array_add (args, (gpointer) "--root");
  g_ptr_array_add (args, (gpointer) root);
  for (const char *const *e = extra; e && *e; e++)
    g_ptr_array_add (args, (gpointer) *e);
  if (out != NULL)
    {
      g_ptr_array_add (args, (gpointer) "-o");
      g_ptr_array_add (args, (gpointer) out);
    }
  for (const char *const *n = names; *n; n++)
    g_ptr_array_add (args, (gpointer) *n);
  g_ptr_array_add (args, NULL);
  return save_util_run_graphpipe ((const char *const *) args->pdata, NULL, out_stderr);
}

/* Index of the variant @got equals, or -1. */
static int
matching_variant (const GoldenCase *c, GBytes *got)
{
  for (guint v = 0; v < c->variants->len; v++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GBytes) want = save_util_gunzip_file (g_ptr_array_index (c->variants, v), &error);
      g_assert_no_error (error);
      if (g_bytes_equal (got, want))
        return (int) v;
    }
  return -1;
}

static void
assert_matches_golden (const GoldenCase *c, GBytes *got, const char *what)
{
  if (matching_variant (c, got) >= 0)
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) want = save_util_gunzip_file (g_ptr_array_index (c->variants, 0), &error);
  save_util_assert_bytes_equal (got, want, what);
}

static void
test_golden (gconstpointer data)
{
  const GoldenCase *c = data;
  REQUIRE_GOLDEN ();
  g_assert_cmpuint (c->variants->len, >, 0);

  const char *root = save_util_migrated_root ();
  g_autofree char *dir = save_util_make_tmpdir ("test-save-out");
  int first_variant = -1;

  /* Twice: the same bytes every run. */
  for (int run = 0; run < 2; run++)
    {
      /* the second run writes through a named temporary file */
      g_autofree char *out = g_strdup_printf ("%s/run%d.tar", dir, run);
      g_autofree char *err = NULL;
      if (run == 1)
        g_setenv ("GP_SAVE_NO_O_TMPFILE", "1", TRUE);
      int status = run_save (root, NULL, out, (const char *const *) c->args, &err);
      g_unsetenv ("GP_SAVE_NO_O_TMPFILE");
      g_assert_cmpint (status, ==, 0);
      g_autoptr (GBytes) got = save_util_read_file (out);
      g_assert_nonnull (got);
      assert_matches_golden (c, got, c->name);
      int v = matching_variant (c, got);
      if (run == 0)
        first_variant = v;
      else
        g_assert_cmpint (v, ==, first_variant);
    }
}

/* From the legacy root: graphpipe migrate, then graphpipe save gives
 * what Docker 1.10.3 saved from its own migration of that root. */
static void
test_golden_after_migrate (void)
{
  REQUIRE_GOLDEN ();
  if (geteuid () != 0)
    {
      gp_test_skip_required ("the golden legacy root must be extracted as root (owners, xattrs)");
      return;
    }
  g_autoptr (GError) error = NULL;
  g_autofree char *root = save_util_make_tmpdir ("test-save-legacy");
  g_autofree char *tarball = save_util_golden_path ("legacy-root.tar.gz");
  g_assert_true (save_util_extract_root (tarball, root, &error));
  g_assert_no_error (error);

  const char *migrate[] = { "migrate", "-q", "--root", root, NULL };
  g_autofree char *merr = NULL;
  int status = save_util_run_graphpipe (migrate, NULL, &merr);
  if (status != 0)
    g_error ("graphpipe migrate failed: %s", merr);

  g_autofree char *dir = save_util_make_tmpdir ("test-save-legacy-out");
  for (guint i = 0; i < golden_cases->len; i++)
    {
      const GoldenCase *c = g_ptr_array_index (golden_cases, i);
      g_autofree char *out = g_build_filename (dir, "out.tar", NULL);
      g_autofree char *err = NULL;
      status = run_save (root, NULL, out, (const char *const *) c->args, &err);
      if (status != 0)
        g_error ("%s after migrate: %s", c->name, err);
      g_autoptr (GBytes) got = save_util_read_file (out);
      assert_matches_golden (c, got, c->name);
    }
}

/* --compress=gzip, and auto-detected gzip for a .tar.gz / .tgz name: the
 * file gunzips (one valid gzip stream) to the golden bytes. */
static void
test_golden_gzip (void)
{
  REQUIRE_GOLDEN ();
  const GoldenCase *c = g_ptr_array_index (golden_cases, 0);
  const char *root = save_util_migrated_root ();
  g_autofree char *dir = save_util_make_tmpdir ("test-save-gz");

  struct {
    const char *file;
    const char *option;
  } cases[] = {
    { "explicit.tar", "--compress=gzip" },
    { "auto.tar.gz", NULL },
    { "auto.tgz", NULL },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *out = g_build_filename (dir, cases[i].file, NULL);
      const char *extra[] = { cases[i].option, NULL };
      int status = run_save (root, extra, out, (const char *const *) c->args, NULL);
      g_assert_cmpint (status, ==, 0);

      g_autoptr (GBytes) raw = save_util_read_file (out);
      const guint8 *p = g_bytes_get_data (raw, NULL);
      g_assert_cmphex (p[0], ==, 0x1f);
      g_assert_cmphex (p[1], ==, 0x8b);
      g_autoptr (GError) error = NULL;
      g_autoptr (GBytes) got = save_util_gunzip_file (out, &error);
      g_assert_no_error (error);
      assert_matches_golden (c, got, cases[i].file);

      if (save_util_have_program ("gzip"))
        {
          const char *argv[] = { "gzip", "-t", out, NULL };
          g_assert_cmpint (save_util_run (argv, NULL, NULL, NULL), ==, 0);
        }
      else if (gp_test_require_all ())
        g_test_fail_printf ("gzip not installed: %s not checked with gzip -t (GP_REQUIRE_ALL is set)", out);
      else
        g_test_message ("gzip not installed: %s not checked with gzip -t", out);
    }

  /* --compress=none with a .tar.gz name stays uncompressed. */
  g_autofree char *out = g_build_filename (dir, "plain.tar.gz", NULL);
  const char *extra[] = { "--compress=none", NULL };
  g_assert_cmpint (run_save (root, extra, out, (const char *const *) c->args, NULL), ==, 0);
  g_autoptr (GBytes) got = save_util_read_file (out);
  assert_matches_golden (c, got, "plain.tar.gz");
}

/* -o - (and no -o): the tarball on standard output. */
static void
test_golden_stdout (void)
{
  REQUIRE_GOLDEN ();
  const GoldenCase *c = g_ptr_array_index (golden_cases, golden_cases->len - 1);
  const char *root = save_util_migrated_root ();
  g_autofree char *dir = save_util_make_tmpdir ("test-save-stdout");

  for (int i = 0; i < 2; i++)
    {
      g_autofree char *out = g_build_filename (dir, "stdout.tar", NULL);
      g_autoptr (GPtrArray) args = g_ptr_array_new ();
      g_ptr_array_add (args, (gpointer) "save");
      g_ptr_array_add (args, (gpointer) "--root");
      g_ptr_array_add (args, (gpointer) root);
      if (i == 0)
        {
          g_ptr_array_add (args, (gpointer) "-o");
          g_ptr_array_add (args, (gpointer) "-");
        }
      for (char **n = c->args; *n; n++)
        g_ptr_array_add (args, *n);
      g_ptr_array_add (args, NULL);
      g_assert_cmpint (save_util_run_graphpipe ((const char *const *) args->pdata, out, NULL), ==, 0);
      g_autoptr (GBytes) got = save_util_read_file (out);
      assert_matches_golden (c, got, "standard output");
    }
}

/* Standard output as a regular file opened at an offset (layer tars are
 * then written by several workers with pwrite), in append mode, and with
 * the positioned writes turned off: each time the bytes follow what was
 * in the file, and the file position ends after them. */
static void
test_golden_stdout_layouts (void)
{
  REQUIRE_GOLDEN ();
  const GoldenCase *c = g_ptr_array_index (golden_cases, golden_cases->len - 1);
  const char *root = save_util_migrated_root ();
  g_autofree char *dir = save_util_make_tmpdir ("test-save-stdout-layouts");
  static const char prefix[] = "bytes that were already there";
  static const struct {
    const char *what;
    int flags;
    const char *no_pwrite;
    const char *jobs;
  } modes[] = {
    { "positioned, 3 jobs", 0, NULL, "3" },
    { "positioned, 1 job", 0, NULL, "1" },
    { "append, 1 job", O_APPEND, NULL, "1" },
    { "sequential, writer thread", 0, "1", "2" },
  };

  for (gsize m = 0; m < G_N_ELEMENTS (modes); m++)
    {
      g_autofree char *out = g_build_filename (dir, "stdout.tar", NULL);
      g_assert_true (g_file_set_contents (out, prefix, -1, NULL));
      int fd = open (out, O_WRONLY | O_CLOEXEC | modes[m].flags);
      g_assert_cmpint (fd, >=, 0);
      g_assert_cmpint (lseek (fd, 0, SEEK_END), ==, (off_t) strlen (prefix));
      int child_fd = dup (fd);
      g_assert_cmpint (child_fd, >=, 0);

      g_autoptr (GPtrArray) args = g_ptr_array_new ();
      g_autofree char *graphpipe = save_util_graphpipe_path ();
      g_ptr_array_add (args, graphpipe);
      g_ptr_array_add (args, (gpointer) "save");
      g_ptr_array_add (args, (gpointer) "--root");
      g_ptr_array_add (args, (gpointer) root);
      g_ptr_array_add (args, (gpointer) "--jobs");
      g_ptr_array_add (args, (gpointer) modes[m].jobs);
      for (char **n = c->args; *n; n++)
        g_ptr_array_add (args, *n);
      g_ptr_array_add (args, NULL);
      g_autoptr (GSubprocessLauncher) l = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_PIPE);
      g_subprocess_launcher_take_stdout_fd (l, child_fd);
      if (modes[m].no_pwrite != NULL)
        g_subprocess_launcher_setenv (l, "GP_SAVE_NO_PWRITE", modes[m].no_pwrite, TRUE);
      g_autoptr (GError) error = NULL;
      g_autoptr (GSubprocess) p = g_subprocess_launcher_spawnv (l, (const char *const *) args->pdata,
                                                                &error);
      g_assert_no_error (error);
      g_autofree char *err = NULL;
      g_assert_true (g_subprocess_communicate_utf8 (p, NULL, NULL, NULL, &err, &error));
      g_assert_no_error (error);
      if (!g_subprocess_get_if_exited (p) || g_subprocess_get_exit_status (p) != 0)
        g_error ("%s: graphpipe save failed: %s", modes[m].what, err);

      g_autoptr (GBytes) all = save_util_read_file (out);
      gsize len;
      const char *data = g_bytes_get_data (all, &len);
      g_assert_cmpuint (len, >, strlen (prefix));
      g_assert_cmpmem (data, strlen (prefix), prefix, strlen (prefix));
      g_assert_cmpint (lseek (fd, 0, SEEK_CUR), ==, (off_t) len);
      close (fd);
      g_autoptr (GBytes) got = g_bytes_new_from_bytes (all, strlen (prefix), len - strlen (prefix));
      assert_matches_golden (c, got, modes[m].what);
    }
}

/* ---- names ----------------------------------------------------------------- */

#define BUSYBOX_ID "d2db4a9a5c80ec23993d3a8fca1876bdc318af17541c8cf750dd7ed5c451d611"
#define MYAPP_DIGEST_REF "myapp@sha256:10bd8682466e953c773eb37b7de780ed0e40b92e54f4d5938eeaf459a6725208"
#define MYAPP_ID "b640614c99aca33266bbf1101528bf77cc44f47c9c4e6d02fc4ebc7d5ff6a825"

typedef struct {
  const char *path;
  const char *args[4];
  const char *config;    /* the one image saved */
  const char *repo_tags; /* manifest RepoTags, as JSON */
} NameCase;

static const NameCase name_cases[] = {
  { "/save/names/full-id", { BUSYBOX_ID }, BUSYBOX_ID, "null" },
  { "/save/names/sha256-id", { "sha256:" BUSYBOX_ID }, BUSYBOX_ID, "null" },
  { "/save/names/short-id", { "d2db4a9a5c80" }, BUSYBOX_ID, "null" },
  { "/save/names/sha256-prefix", { "sha256:d2db4a" }, BUSYBOX_ID, "null" },
  { "/save/names/digest-reference", { MYAPP_DIGEST_REF }, MYAPP_ID, "null" },
  { "/save/names/docker-io-name", { "docker.io/library/busybox:latest" }, BUSYBOX_ID,
    "[\"busybox:latest\"]" },
  { "/save/names/repeated", { "busybox:latest", BUSYBOX_ID, "busybox:latest" }, BUSYBOX_ID,
    "[\"busybox:latest\"]" },
  { "/save/names/name-and-id", { "myapp", MYAPP_ID }, MYAPP_ID, "[\"myapp:v1\"]" },
};

static void
test_names (gconstpointer data)
{
  const NameCase *c = data;
  REQUIRE_GOLDEN ();
  const char *root = save_util_migrated_root ();
  g_autofree char *dir = save_util_make_tmpdir ("test-save-names");
  g_autofree char *out = g_build_filename (dir, "out.tar", NULL);

  g_autofree char *err = NULL;
  g_assert_cmpint (run_save (root, NULL, out, c->args, &err), ==, 0);
  g_autoptr (GBytes) tar = save_util_read_file (out);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) members = save_util_tar_members (tar, &error);
  g_assert_no_error (error);

  const SaveMember *manifest = save_util_find_member (members, "manifest.json");
  g_assert_nonnull (manifest);
  g_autofree char *want = g_strdup_printf ("[{\"Config\":\"%s.json\",\"RepoTags\":%s,", c->config,
                                           c->repo_tags);
  g_assert_true (manifest->size > strlen (want));
  g_assert_cmpmem (manifest->data, strlen (want), want, strlen (want));
  g_assert_cmpint (manifest->data[manifest->size - 1], ==, '\n');
  /* exactly one image */
  g_autofree char *mtext = g_strndup ((const char *) manifest->data, manifest->size);
  g_assert_null (strstr (mtext + 2, "{\"Config\""));

  /* No tag, no `repositories` member (Docker writes it only for tags). */
  const SaveMember *repos = save_util_find_member (members, "repositories");
  if (strcmp (c->repo_tags, "null") == 0)
    g_assert_null (repos);
  else
    g_assert_nonnull (repos);
}

/* ---- errors ---------------------------------------------------------------- */

typedef struct {
  const char *path;
  const char *args[4];
  const char *message; /* substring of standard error */
  const char *message2;
} ErrorCase;

static const ErrorCase error_cases[] = {
  { "/save/error/unknown-name", { "nosuchimage" }, "No such image: nosuchimage", "busybox" },
  { "/save/error/unknown-tag", { "busybox:2.0" }, "busybox:2.0: reference does not exist",
    "busybox:latest" },
  { "/save/error/unknown-digest",
    { "busybox@sha256:0000000000000000000000000000000000000000000000000000000000000000" },
    "reference does not exist", "busybox:1.0" },
  { "/save/error/unknown-id", { "0000000000000000000000000000000000000000000000000000000000000000" },
    "No such image", NULL },
  { "/save/error/unknown-prefix", { "sha256:0000" }, "No such image: sha256:0000", NULL },
  { "/save/error/invalid-name", { "BusyBox" }, "BusyBox", "not a valid repository/tag" },
  { "/save/error/second-name-unknown", { "busybox:latest", "nosuchimage" }, "nosuchimage", NULL },
};

static void
assert_dir_empty (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  g_assert_nonnull (d);
  const char *name = g_dir_read_name (d);
  if (name != NULL)
    g_error ("%s: unexpected file %s left behind", dir, name);
}

static void
test_error (gconstpointer data)
{
  const ErrorCase *c = data;
  REQUIRE_GOLDEN ();
  const char *root = save_util_migrated_root ();
  g_autofree char *dir = save_util_make_tmpdir ("test-save-err");
  g_autofree char *out = g_build_filename (dir, "out.tar", NULL);

  g_autofree char *err = NULL;
  int status = run_save (root, NULL, out, c->args, &err);
  g_assert_cmpint (status, !=, 0);
  if (strstr (err, c->message) == NULL || (c->message2 && strstr (err, c->message2) == NULL))
    g_error ("stderr does not mention '%s'%s%s: %s", c->message, c->message2 ? " and " : "",
             c->message2 ? c->message2 : "", err);
  assert_dir_empty (dir);
}

/* Two image IDs sharing a first hex digit: that digit alone is ambiguous,
 * and the error lists both. */
static void
test_error_ambiguous (void)
{
  REQUIRE_GOLDEN ();
  const char *root = save_util_migrated_root ();
  g_autofree char *content = g_build_filename (root, "image/vfs/imagedb/content/sha256", NULL);
  g_autoptr (GDir) d = g_dir_open (content, 0, NULL);
  g_assert_nonnull (d);
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  const char *name;
  char *first = NULL, *second = NULL;
  while ((name = g_dir_read_name (d)) != NULL && first == NULL)
    {
      g_autofree char *digit = g_strndup (name, 1);
      const char *other = g_hash_table_lookup (seen, digit);
      if (other != NULL)
        {
          first = g_strdup (other);
          second = g_strdup (name);
        }
      else
        g_hash_table_insert (seen, g_strdup (digit), g_strdup (name));
    }
  if (first == NULL)
    {
      /* Fixed by the golden data, not by the machine. */
      g_test_fail_printf ("no two image IDs of the golden store share a first digit");
      return;
    }

  g_autofree char *dir = save_util_make_tmpdir ("test-save-amb");
  g_autofree char *out = g_build_filename (dir, "out.tar", NULL);
  g_autofree char *prefix = g_strndup (first, 1);
  const char *args[] = { prefix, NULL };
  g_autofree char *err = NULL;
  g_assert_cmpint (run_save (root, NULL, out, args, &err), !=, 0);
  g_assert_nonnull (strstr (err, "ambiguous"));
  g_assert_nonnull (strstr (err, first));
  g_assert_nonnull (strstr (err, second));
  assert_dir_empty (dir);
  g_free (first);
  g_free (second);
}

/* An image whose config has no layers: refused as Docker refuses it. */
static void
test_error_no_layers (void)
{
  REQUIRE_GOLDEN ();
  g_autoptr (GError) error = NULL;
  g_autofree char *root = save_util_make_tmpdir ("test-save-empty");
  g_autofree char *tarball = save_util_golden_path ("migrated-root.tar.gz");
  g_assert_true (save_util_extract_root (tarball, root, &error));

  const char *config = "{\"architecture\":\"amd64\",\"config\":{},\"created\":\"2016-01-01T00:00:00Z\","
                       "\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\"}}";
  g_autofree char *hex = g_compute_checksum_for_string (G_CHECKSUM_SHA256, config, -1);
  g_autofree char *path = g_build_filename (root, "image/vfs/imagedb/content/sha256", hex, NULL);
  g_assert_true (g_file_set_contents (path, config, -1, &error));

  g_autofree char *dir = save_util_make_tmpdir ("test-save-empty-out");
  g_autofree char *out = g_build_filename (dir, "out.tar", NULL);
  const char *args[] = { "busybox:latest", hex, NULL };
  g_autofree char *err = NULL;
  g_assert_cmpint (run_save (root, NULL, out, args, &err), !=, 0);
  g_assert_nonnull (strstr (err, "empty export - not implemented"));
  g_assert_nonnull (strstr (err, hex));
  assert_dir_empty (dir);
}

/* A layer file changed after migration: the rebuilt layer does not hash to
 * its DiffID (or its CRC-64 fails first); the save is refused naming the
 * layer, and neither the output nor a temporary file is left. */
static void
test_error_tampered (void)
{
  REQUIRE_GOLDEN ();
  g_autoptr (GError) error = NULL;
  g_autofree char *root = save_util_make_tmpdir ("test-save-tamper");
  g_autofree char *tarball = save_util_golden_path ("migrated-root.tar.gz");
  g_assert_true (save_util_extract_root (tarball, root, &error));

  /* busybox's base layer: the record whose diff is the first diff ID. */
  const char *diff_id = "sha256:5f09de076ad6475c0b6bb7b4961b973bf2e9f5b69c582b23d98c85c3ef1402b5";
  g_autofree char *cache_path = g_build_filename (root, "image/vfs/layerdb/sha256",
                                                  diff_id + 7, "cache-id", NULL);
  g_autofree char *cache_id = NULL;
  g_assert_true (g_file_get_contents (cache_path, &cache_id, NULL, &error));
  g_autofree char *file = g_build_filename (root, "vfs/dir", cache_id, "bin/busybox", NULL);
  if (!g_file_test (file, G_FILE_TEST_IS_REGULAR))
    {
      g_free (file);
      file = g_build_filename (root, "vfs/dir", cache_id, "etc/passwd", NULL);
    }
  g_autofree char *content = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (file, &content, &len, &error));
  g_assert_cmpuint (len, >, 0);
  content[len / 2] ^= 0x20; /* same size, one byte changed */
  g_assert_true (g_file_set_contents (file, content, len, &error));

  /* Both ways of writing the output file: an unnamed O_TMPFILE file, and
   * the fallback, a temporary name removed on failure. */
  g_autofree char *dir = save_util_make_tmpdir ("test-save-tamper-out");
  const char *outs[] = { "out.tar", "out.tar.gz" };
  for (int fallback = 0; fallback < 2; fallback++)
    for (gsize i = 0; i < G_N_ELEMENTS (outs); i++)
      {
        g_autofree char *out = g_build_filename (dir, outs[i], NULL);
        const char *args[] = { "busybox:latest", NULL };
        g_autofree char *err = NULL;
        if (fallback)
          g_setenv ("GP_SAVE_NO_O_TMPFILE", "1", TRUE);
        int status = run_save (root, NULL, out, args, &err);
        g_unsetenv ("GP_SAVE_NO_O_TMPFILE");
        g_assert_cmpint (status, !=, 0);
        if (strstr (err, diff_id) == NULL)
          g_error ("the error does not name layer %s: %s", diff_id, err);
        assert_dir_empty (dir);
      }
}

/* Standard output on a terminal is refused before anything is written. */
static void
test_error_terminal (void)
{
  REQUIRE_GOLDEN ();
  int master = posix_openpt (O_RDWR | O_NOCTTY);
  if (master < 0 || grantpt (master) != 0 || unlockpt (master) != 0)
    {
      /* The machine's, not a prerequisite the CI run could lack. */
      g_test_skip ("no pseudo-terminal available");
      return;
    }
  int slave = open (ptsname (master), O_RDWR | O_NOCTTY);
  g_assert_cmpint (slave, >=, 0);

  g_autofree char *graphpipe = save_util_graphpipe_path ();
  g_autoptr (GSubprocessLauncher) l = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_take_stdout_fd (l, slave);
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) p = g_subprocess_launcher_spawn (l, &error, graphpipe, "save", "--root",
                                                           save_util_migrated_root (), "busybox:latest",
                                                           NULL);
  g_assert_no_error (error);
  g_autofree char *err = NULL;
  g_assert_true (g_subprocess_communicate_utf8 (p, NULL, NULL, NULL, &err, &error));
  g_assert_true (g_subprocess_get_if_exited (p));
  g_assert_cmpint (g_subprocess_get_exit_status (p), !=, 0);
  g_assert_nonnull (strstr (err, "terminal"));

  /* nothing reached the terminal */
  g_assert_cmpint (fcntl (master, F_SETFL, O_NONBLOCK), ==, 0);
  char buf[64];
  g_assert_cmpint (read (master, buf, sizeof buf), <=, 0);
  close (master);
}

/* --dry-run resolves and checks everything, then writes nothing. */
static void
test_dry_run (void)
{
  REQUIRE_GOLDEN ();
  const char *root = save_util_migrated_root ();
  g_autofree char *dir = save_util_make_tmpdir ("test-save-dry");
  g_autofree char *out = g_build_filename (dir, "out.tar", NULL);
  const char *extra[] = { "--dry-run", NULL };
  const char *names[] = { "myapp:v1", "busybox", NULL };
  g_autofree char *err = NULL;
  g_assert_cmpint (run_save (root, extra, out, names, &err), ==, 0);
  assert_dir_empty (dir);

  /* ... but still fails on what it can check */
  const char *bad[] = { "busybox:2.0", NULL };
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_save (root, extra, out, bad, &err), !=, 0);
  g_assert_nonnull (strstr (err, "reference does not exist"));
}

/* An output directory that does not exist: refused, nothing created. */
static void
test_error_output_dir (void)
{
  REQUIRE_GOLDEN ();
  const char *root = save_util_migrated_root ();
  g_autofree char *dir = save_util_make_tmpdir ("test-save-nodir");
  g_autofree char *out = g_build_filename (dir, "missing", "out.tar", NULL);
  const char *names[] = { "busybox:latest", NULL };
  g_autofree char *err = NULL;
  g_assert_cmpint (run_save (root, NULL, out, names, &err), !=, 0);
  g_assert_nonnull (strstr (err, "does not exist"));
  assert_dir_empty (dir);
}

/* ---- overlay2 ---------------------------------------------------------------- */

static char *
read_trimmed (const char *path)
{
  g_autofree char *s = NULL;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_get_contents (path, &s, NULL, &error));
  return g_strstrip (g_strdup (s));
}

/* A Docker 20+ overlay2 root built from the migrated vfs store: the same
 * imagedb and repositories.json, layerdb records with random 64-hex cache
 * IDs (as overlay2 uses), each layer's own files under
 * overlay2/<cache-id>/diff (unpacked from the layer tar, so only that
 * layer's files are there, with whiteouts as overlay2 keeps them), `link`
 * files and the l/ directory.  Saving from it gives the golden bytes. */
static void
test_overlay2 (void)
{
  REQUIRE_GOLDEN ();
  const char *src = save_util_migrated_root ();
  g_autofree char *root = save_util_make_tmpdir ("test-save-overlay2");
  g_autofree char *work = save_util_make_tmpdir ("test-save-overlay2-work");
  g_autoptr (GError) error = NULL;

  /* Layer tars, from a save of everything tagged (checked against the
   * golden bytes by the other tests). */
  g_autofree char *all = g_build_filename (work, "all.tar", NULL);
  const char *names[] = { "busybox", "myapp", "legacy/tool", "localhost:5000/team/tool", NULL };
  g_assert_cmpint (run_save (src, NULL, all, names, NULL), ==, 0);
  g_autofree char *unpacked = g_build_filename (work, "all", NULL);
  g_assert_cmpint (g_mkdir (unpacked, 0700), ==, 0);
  const char *untar[] = { "tar", "-xf", all, "-C", unpacked, NULL };
  save_util_run_ok (untar);

  g_autofree char *img = g_build_filename (root, "image/overlay2", NULL);
  g_autofree char *ov = g_build_filename (root, "overlay2", NULL);
  g_autofree char *links = g_build_filename (ov, "l", NULL);
  g_assert_cmpint (g_mkdir_with_parents (links, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (img, 0700), ==, 0);
  g_autofree char *src_img = g_build_filename (src, "image/vfs", NULL);
  g_autofree char *src_imagedb = g_build_filename (src_img, "imagedb", NULL);
  g_autofree char *src_repos = g_build_filename (src_img, "repositories.json", NULL);
  const char *cp[] = { "cp", "-a", src_imagedb, src_repos, img, NULL };
  save_util_run_ok (cp);

  /* layerdb: every record, with a fresh cache-id; diff dirs from the layer
   * tars (manifest order gives layer.tar per diff ID via its sha256). */
  g_autofree char *src_layerdb = g_build_filename (src_img, "layerdb/sha256", NULL);
  g_autofree char *layerdb = g_build_filename (img, "layerdb/sha256", NULL);
  g_autofree char *tmp = g_build_filename (img, "layerdb/tmp", NULL);
  g_assert_cmpint (g_mkdir_with_parents (layerdb, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (tmp, 0700), ==, 0);

  /* diff ID -> layer.tar path in the unpacked save */
  g_autoptr (GHashTable) tars = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr (GDir) ud = g_dir_open (unpacked, 0, NULL);
  const char *e;
  while ((e = g_dir_read_name (ud)) != NULL)
    {
      g_autofree char *lt = g_build_filename (unpacked, e, "layer.tar", NULL);
      if (!g_file_test (lt, G_FILE_TEST_IS_REGULAR))
        continue;
      g_autoptr (GMappedFile) mf = g_mapped_file_new (lt, FALSE, &error);
      g_assert_no_error (error);
      g_autofree char *hex = g_compute_checksum_for_data (
        G_CHECKSUM_SHA256, (const guchar *) g_mapped_file_get_contents (mf),
        g_mapped_file_get_length (mf));
      g_hash_table_replace (tars, g_strconcat ("sha256:", hex, NULL), g_strdup (lt));
    }

  g_autoptr (GDir) ld = g_dir_open (src_layerdb, 0, NULL);
  g_autoptr (GRand) rand = g_rand_new_with_seed (2016);
  guint n_layers = 0;
  while ((e = g_dir_read_name (ld)) != NULL)
    {
      g_autofree char *from = g_build_filename (src_layerdb, e, NULL);
      g_autofree char *to = g_build_filename (layerdb, e, NULL);
      const char *cpl[] = { "cp", "-a", from, to, NULL };
      save_util_run_ok (cpl);

      g_autofree char *diff_path = g_build_filename (to, "diff", NULL);
      g_autofree char *diff_id = read_trimmed (diff_path);
      const char *layer_tar = g_hash_table_lookup (tars, diff_id);
      if (layer_tar == NULL)
        continue; /* a layer of an image without tags: not saved above */

      GString *cache_id = g_string_new (NULL);
      for (int i = 0; i < 32; i++)
        g_string_append_printf (cache_id, "%02x", g_rand_int_range (rand, 0, 256));
      g_autofree char *cache_path = g_build_filename (to, "cache-id", NULL);
      g_assert_true (g_file_set_contents (cache_path, cache_id->str, -1, &error));

      g_autofree char *layer_dir = g_build_filename (ov, cache_id->str, NULL);
      g_autofree char *diff_dir = g_build_filename (layer_dir, "diff", NULL);
      g_autofree char *work_dir = g_build_filename (layer_dir, "work", NULL);
      g_assert_cmpint (g_mkdir_with_parents (diff_dir, 0755), ==, 0);
      g_assert_cmpint (g_mkdir_with_parents (work_dir, 0700), ==, 0);
      const char *x[] = { "tar", "--numeric-owner", "-p", "-xf", layer_tar, "-C", diff_dir, NULL };
      save_util_run_ok (x);
      /* overlay2 bookkeeping: a short link name */
      g_autofree char *short_id = g_strndup (cache_id->str, 26);
      g_autofree char *link_file = g_build_filename (layer_dir, "link", NULL);
      g_assert_true (g_file_set_contents (link_file, short_id, -1, &error));
      g_autofree char *l = g_build_filename (links, short_id, NULL);
      g_autofree char *target = g_strconcat ("../", cache_id->str, "/diff", NULL);
      g_assert_cmpint (symlink (target, l), ==, 0);
      g_string_free (cache_id, TRUE);
      n_layers++;
    }
  g_assert_cmpuint (n_layers, >, 0);

  /* the vfs tree is gone from this root */
  g_autofree char *vfs = g_build_filename (root, "vfs", NULL);
  g_assert_false (g_file_test (vfs, G_FILE_TEST_EXISTS));

  for (guint i = 0; i < golden_cases->len; i++)
    {
      const GoldenCase *c = g_ptr_array_index (golden_cases, i);
      g_autofree char *out = g_build_filename (work, "ov.tar", NULL);
      const char *extra[] = { "--driver", "overlay2", NULL };
      g_autofree char *err = NULL;
      int status = run_save (root, extra, out, (const char *const *) c->args, &err);
      if (status != 0)
        g_error ("%s from overlay2: %s", c->name, err);
      g_autoptr (GBytes) got = save_util_read_file (out);
      assert_matches_golden (c, got, c->name);
    }
}

static void
test_golden_missing (void)
{
  g_autofree char *dir = save_util_golden_path ("save-busybox_latest.txt");
  gp_test_fail_no_shared (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  load_golden_cases ();

  for (guint i = 0; i < golden_cases->len; i++)
    {
      const GoldenCase *c = g_ptr_array_index (golden_cases, i);
      g_autofree char *path = g_strdup_printf ("/save/golden/%s", c->name + strlen ("save-"));
      g_test_add_data_func (path, c, test_golden);
    }
  if (golden_cases->len == 0)
    g_test_add_func ("/save/golden/missing", test_golden_missing);
  else
    {
      g_test_add_func ("/save/golden/gzip", test_golden_gzip);
      g_test_add_func ("/save/golden/after-migrate", test_golden_after_migrate);
      g_test_add_func ("/save/golden/stdout", test_golden_stdout);
      g_test_add_func ("/save/golden/stdout-layouts", test_golden_stdout_layouts);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (name_cases); i++)
    g_test_add_data_func (name_cases[i].path, &name_cases[i], test_names);
  for (gsize i = 0; i < G_N_ELEMENTS (error_cases); i++)
    g_test_add_data_func (error_cases[i].path, &error_cases[i], test_error);
  g_test_add_func ("/save/error/ambiguous-prefix", test_error_ambiguous);
  g_test_add_func ("/save/error/no-layers", test_error_no_layers);
  g_test_add_func ("/save/error/tampered-layer", test_error_tampered);
  g_test_add_func ("/save/error/terminal", test_error_terminal);
  g_test_add_func ("/save/error/output-dir", test_error_output_dir);
  g_test_add_func ("/save/dry-run", test_dry_run);
  g_test_add_func ("/save/overlay2/golden", test_overlay2);

  int ret = g_test_run ();
  save_util_cleanup ();
  g_clear_pointer (&golden_cases, g_ptr_array_unref);
  return ret;
}
