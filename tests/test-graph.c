/* Tests for gp-graph: scanning graph/, parent resolution, Docker's
 * migration order, missing parents, cycles, the mapping file. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "gp-error.h"
#include "gp-graph.h"

typedef struct {
  char *root;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  f->root = g_dir_make_tmp ("gp-test-graph-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *graph = g_build_filename (f->root, "graph", NULL);
  g_assert_cmpint (g_mkdir (graph, 0700), ==, 0);
}

static void
remove_tree (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  if (dir != NULL)
    {
      const char *name;
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
            remove_tree (child);
          else
            g_unlink (child);
        }
    }
  g_rmdir (path);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  remove_tree (f->root);
  g_free (f->root);
}

/* A valid v1 ID made from a label. */
static char *
id_for (const char *label)
{
  return g_compute_checksum_for_string (G_CHECKSUM_SHA256, label, -1);
}

static void
write_file (const char *dir, const char *name, const char *content, gssize len)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_file_set_contents (path, content, len, &error);
  g_assert_no_error (error);
}

static char *
image_dir (Fixture *f, const char *id)
{
  g_autofree char *dir = g_build_filename (f->root, "graph", id, NULL);
  g_mkdir_with_parents (dir, 0700);
  return g_steal_pointer (&dir);
}

/* graph/<id>/json = {"id":"<id>","parent":"<parent>"} (no parent key for
 * NULL). */
static void
add_image (Fixture *f, const char *id, const char *parent)
{
  g_autofree char *dir = image_dir (f, id);
  g_autofree char *json = parent ? g_strdup_printf ("{\"id\":\"%s\",\"parent\":\"%s\",\"docker_version\":\"1.9.1\"}", id, parent)
                                 : g_strdup_printf ("{\"id\":\"%s\",\"docker_version\":\"1.9.1\"}", id);
  write_file (dir, "json", json, -1);
}

static void
add_image_json (Fixture *f, const char *id, const char *json)
{
  g_autofree char *dir = image_dir (f, id);
  write_file (dir, "json", json, -1);
}

static GpGraph *
scan (Fixture *f)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GpGraph) graph = gp_graph_new (f->root);

  g_assert_true (gp_graph_load_mapping (graph, &error));
  g_assert_no_error (error);
  g_assert_true (gp_graph_scan (graph, NULL, &error));
  g_assert_no_error (error);
  return g_steal_pointer (&graph);
}

/* The structure of the golden legacy root (shared/golden/public,
 * expected/legacy-images.txt) and the order in which Docker 1.10.3
 * migrated it (expected/migrate.log, "migrated image" lines). */
static const struct {
  const char *id;
  const char *parent;
} golden_images[] = {
  { "b8c623c7f7a274969d324ba5bb8e5abe7c7af5b58732d96604e112957a5bb11a", "4b76eed557ad19ca2b41ca6f50a71d0b5f71378f5bf2725e02f2e885fefa0e67" },
  { "27b068109c662b438b57f93926ed7ea5c2a6a8a1fb22687195be60b5fa188fc8", "b8c623c7f7a274969d324ba5bb8e5abe7c7af5b58732d96604e112957a5bb11a" },
  { "46ff78b3a42eba7e50665a489e94c201450bb7cd638cb8eddd05b5f48a00a4c9", NULL },
  { "f7fa71605f257674adff225a3dce9fab6256172ff8d39dd6385ca654ee4714b1", "46ff78b3a42eba7e50665a489e94c201450bb7cd638cb8eddd05b5f48a00a4c9" },
  { "4b76eed557ad19ca2b41ca6f50a71d0b5f71378f5bf2725e02f2e885fefa0e67", "f7fa71605f257674adff225a3dce9fab6256172ff8d39dd6385ca654ee4714b1" },
  { "7b316fc6845eecf7f19e341bb2fa2908d448267ae8695e08afef4f189f83344e", NULL },
  { "9578410875509e08f749af9cd03f9b2c908776b8f04d1589e3f7229dc6fc9134", "4b76eed557ad19ca2b41ca6f50a71d0b5f71378f5bf2725e02f2e885fefa0e67" },
  { "fc05d707464e2c5c0114cdf1d122c67567532bbe22bbe6ce4cc0737bb56bbdb9", NULL },
  { "a9e1c0aa8a826e836027934ea566c2b2fc80f795440cbfc39f8a8ad6ba036534", "fc05d707464e2c5c0114cdf1d122c67567532bbe22bbe6ce4cc0737bb56bbdb9" },
};

/* The scan keeps what it saw in graph/<id>; a parent file it did not
 * list is not read, one it listed still replaces the JSON's. */
static void
test_scan_entries (Fixture *f, gconstpointer data)
{
  const char *a = "1111111111111111111111111111111111111111111111111111111111111111";
  const char *b = "2222222222222222222222222222222222222222222222222222222222222222";
  add_image (f, a, NULL);
  add_image (f, b, NULL);
  g_autofree char *bdir = image_dir (f, b);
  write_file (bdir, "parent", a, -1);
  write_file (bdir, "..migration-size.gp-tmp", "1", -1);

  g_autoptr (GpGraph) graph = scan (f);
  GpGraphImage *ia = gp_graph_lookup (graph, a);
  GpGraphImage *ib = gp_graph_lookup (graph, b);
  const char *const *ea = gp_graph_image_get_entries (ia);
  const char *const *eb = gp_graph_image_get_entries (ib);
  g_assert_nonnull (ea);
  g_assert_cmpuint (g_strv_length ((char **) ea), ==, 1);
  g_assert_cmpstr (ea[0], ==, "json");
  g_assert_nonnull (eb);
  g_assert_cmpuint (g_strv_length ((char **) eb), ==, 3);
  g_assert_true (g_strv_contains (eb, "parent"));
  g_assert_true (g_strv_contains (eb, "..migration-size.gp-tmp"));
  g_assert_null (ia->parent);
  g_assert_cmpstr (ib->parent, ==, a);
}

static const char *const golden_order[] = {
  "46ff78b3a42eba7e50665a489e94c201450bb7cd638cb8eddd05b5f48a00a4c9",
  "f7fa71605f257674adff225a3dce9fab6256172ff8d39dd6385ca654ee4714b1",
  "4b76eed557ad19ca2b41ca6f50a71d0b5f71378f5bf2725e02f2e885fefa0e67",
  "b8c623c7f7a274969d324ba5bb8e5abe7c7af5b58732d96604e112957a5bb11a",
  "27b068109c662b438b57f93926ed7ea5c2a6a8a1fb22687195be60b5fa188fc8",
  "7b316fc6845eecf7f19e341bb2fa2908d448267ae8695e08afef4f189f83344e",
  "9578410875509e08f749af9cd03f9b2c908776b8f04d1589e3f7229dc6fc9134",
  "fc05d707464e2c5c0114cdf1d122c67567532bbe22bbe6ce4cc0737bb56bbdb9",
  "a9e1c0aa8a826e836027934ea566c2b2fc80f795440cbfc39f8a8ad6ba036534",
};

static void
test_order_golden (Fixture *f, gconstpointer data)
{
  for (guint i = 0; i < G_N_ELEMENTS (golden_images); i++)
    add_image (f, golden_images[i].id, golden_images[i].parent);
  /* Entries that are not v1 IDs are ignored. */
  g_autofree char *tmp = g_build_filename (f->root, "graph", "_tmp", NULL);
  g_mkdir (tmp, 0700);
  add_image (f, "A9E1C0AA8A826E836027934EA566C2B2FC80F795440CBFC39F8A8AD6BA036534", NULL);
  add_image (f, "a9e1c0aa8a826e836027934ea566c2b2fc80f795440cbfc39f8a8ad6ba03653", NULL);

  g_autoptr (GpGraph) graph = scan (f);
  g_assert_true (gp_graph_has_graph_dir (graph));
  g_assert_cmpuint (gp_graph_get_n_images (graph), ==, G_N_ELEMENTS (golden_images));
  GPtrArray *order = gp_graph_get_order (graph);
  g_assert_cmpuint (order->len, ==, G_N_ELEMENTS (golden_order));
  for (guint i = 0; i < order->len; i++)
    {
      GpGraphImage *image = order->pdata[i];
      g_assert_cmpstr (image->id, ==, golden_order[i]);
      g_assert_no_error (image->error);
      g_assert_true (image->parent_resolved);
    }
  GpGraphImage *b8 = gp_graph_lookup (graph, golden_images[0].id);
  g_assert_cmpstr (b8->parent, ==, golden_images[0].parent);
  g_assert_true (b8->parent_image == gp_graph_lookup (graph, golden_images[0].parent));
  g_assert_null (gp_graph_lookup (graph, golden_order[0])->parent);
}

static void
test_no_graph_dir (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *root = g_dir_make_tmp ("gp-test-graph-XXXXXX", &error);
  g_autoptr (GpGraph) graph = gp_graph_new (root);

  g_assert_true (gp_graph_load_mapping (graph, &error));
  g_assert_true (gp_graph_scan (graph, NULL, &error));
  g_assert_no_error (error);
  g_assert_false (gp_graph_has_graph_dir (graph));
  g_assert_cmpuint (gp_graph_get_n_images (graph), ==, 0);
  g_rmdir (root);
}

static void
assert_failed (GpGraph *graph, const char *id, GQuark domain, int code, const char *fragment)
{
  GpGraphImage *image = gp_graph_lookup (graph, id);
  g_assert_nonnull (image);
  g_assert_error (image->error, domain, code);
  g_autofree char *prefix = g_strdup_printf ("graph/%s", id);
  g_assert_true (g_str_has_prefix (image->error->message, prefix));
  if (fragment != NULL && strstr (image->error->message, fragment) == NULL)
    g_error ("error of %s: \"%s\" lacks \"%s\"", id, image->error->message, fragment);
}

static void
test_missing_parent (Fixture *f, gconstpointer data)
{
  g_autofree char *a = id_for ("a"), *b = id_for ("b"), *c = id_for ("c"), *gone = id_for ("gone");
  g_autofree char *ok = id_for ("ok");

  add_image (f, a, gone);
  add_image (f, b, a);
  add_image (f, c, b);
  add_image (f, ok, NULL);
  g_autoptr (GpGraph) graph = scan (f);

  assert_failed (graph, a, GP_DATA_ERROR, GP_DATA_ERROR_MISSING, gone);
  /* Descendants inherit: one error each, naming the image, its parent and
   * the cause. */
  assert_failed (graph, b, GP_DATA_ERROR, GP_DATA_ERROR_MISSING, a);
  assert_failed (graph, c, GP_DATA_ERROR, GP_DATA_ERROR_MISSING, b);
  g_assert_nonnull (strstr (gp_graph_lookup (graph, c)->error->message, gone));
  g_assert_true (gp_graph_lookup (graph, c)->failed_at == gp_graph_lookup (graph, a));
  g_assert_no_error (gp_graph_lookup (graph, ok)->error);
  /* A missing parent is the graph's own doing: no rerun changes it, and
   * descendants carry the class of the cause. */
  g_assert_cmpint (gp_graph_image_get_failure (gp_graph_lookup (graph, a)), ==, GP_GRAPH_FAILURE_PERMANENT);
  g_assert_cmpint (gp_graph_image_get_failure (gp_graph_lookup (graph, c)), ==, GP_GRAPH_FAILURE_PERMANENT);
  g_assert_cmpint (gp_graph_image_get_failure (gp_graph_lookup (graph, ok)), ==, GP_GRAPH_FAILURE_NONE);
  /* The checksum step still runs for them (Docker's step C does not look
   * at the parent's directory). */
  g_assert_true (gp_graph_lookup (graph, b)->parent_resolved);
  g_assert_cmpuint (gp_graph_get_order (graph)->len, ==, 4);
}

static void
test_self_parent (Fixture *f, gconstpointer data)
{
  g_autofree char *a = id_for ("a"), *child = id_for ("child");

  add_image (f, a, a);
  add_image (f, child, a);
  g_autoptr (GpGraph) graph = scan (f);

  assert_failed (graph, a, GP_DATA_ERROR, GP_DATA_ERROR_CYCLE, "own parent");
  assert_failed (graph, child, GP_DATA_ERROR, GP_DATA_ERROR_CYCLE, a);
  g_assert_cmpuint (gp_graph_get_order (graph)->len, ==, 2);
}

static void
check_cycle (Fixture *f, guint n, guint n_below)
{
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *base = id_for ("base");

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *label = g_strdup_printf ("cycle-%u", i);
      g_ptr_array_add (ids, id_for (label));
    }
  for (guint i = 0; i < n; i++)
    add_image (f, ids->pdata[i], ids->pdata[(i + 1) % n]);
  /* A chain hanging below the cycle, and an independent good image. */
  const char *above = ids->pdata[n / 2];
  g_autoptr (GPtrArray) below = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < n_below; i++)
    {
      g_autofree char *label = g_strdup_printf ("below-%u", i);
      char *id = id_for (label);
      add_image (f, id, i == 0 ? above : below->pdata[i - 1]);
      g_ptr_array_add (below, id);
    }
  add_image (f, base, NULL);

  g_autoptr (GpGraph) graph = scan (f);
  g_autofree char *count = g_strdup_printf ("cycle of %u images", n);
  for (guint i = 0; i < n; i++)
    assert_failed (graph, ids->pdata[i], GP_DATA_ERROR, GP_DATA_ERROR_CYCLE, count);
  for (guint i = 0; i < n_below; i++)
    assert_failed (graph, below->pdata[i], GP_DATA_ERROR, GP_DATA_ERROR_CYCLE, "was not migrated");
  g_assert_no_error (gp_graph_lookup (graph, base)->error);
  g_assert_cmpuint (gp_graph_get_order (graph)->len, ==, n + n_below + 1);
}

static void
test_cycle_2 (Fixture *f, gconstpointer data)
{
  check_cycle (f, 2, 3);
}

static void
test_cycle_50 (Fixture *f, gconstpointer data)
{
  check_cycle (f, 50, 10);
}

/* A chain 5000 deep, entered at its bottom: no recursion, parents first. */
static void
test_deep_chain (Fixture *f, gconstpointer data)
{
  const guint n = 5000;
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *label = g_strdup_printf ("deep-%u", i);
      char *id = id_for (label);
      add_image (f, id, i == 0 ? NULL : ids->pdata[i - 1]);
      g_ptr_array_add (ids, id);
    }
  g_autoptr (GpGraph) graph = scan (f);
  GPtrArray *order = gp_graph_get_order (graph);
  g_assert_cmpuint (order->len, ==, n);
  for (guint i = 0; i < n; i++)
    {
      GpGraphImage *image = order->pdata[i];
      g_assert_cmpstr (image->id, ==, ids->pdata[i]);
      g_assert_no_error (image->error);
    }
}

/* A 5000-deep chain under a missing parent: every image fails, each with
 * its own bounded message. */
static void
test_deep_chain_failure (Fixture *f, gconstpointer data)
{
  const guint n = 5000;
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *gone = id_for ("gone");

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *label = g_strdup_printf ("deep-%u", i);
      char *id = id_for (label);
      add_image (f, id, i == 0 ? gone : ids->pdata[i - 1]);
      g_ptr_array_add (ids, id);
    }
  g_autoptr (GpGraph) graph = scan (f);
  GpGraphImage *last = gp_graph_lookup (graph, ids->pdata[n - 1]);
  g_assert_error (last->error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING);
  g_assert_cmpuint (strlen (last->error->message), <, 512);
  g_assert_nonnull (strstr (last->error->message, gone));
}

/* Parent resolution (§1.5), case by case. */
typedef struct {
  const char *name;
  const char *json;           /* %s = the parent's ID where needed */
  const char *parent_file;    /* NULL: none */
  gssize parent_file_len;
  gboolean ok;
  gboolean has_parent;        /* expect the parent "p" */
  GQuark (*domain) (void);
  int code;
} ParentCase;

static const ParentCase parent_cases[] = {
  { "parent-key", "{\"parent\":\"%s\"}", NULL, 0, TRUE, TRUE, NULL, 0 },
  { "parent-key-folded", "{\"PaReNt\":\"%s\"}", NULL, 0, TRUE, TRUE, NULL, 0 },
  { "parent-id", "{\"parent_id\":\"sha256:%s\"}", NULL, 0, TRUE, TRUE, NULL, 0 },
  { "parent-id-other-alg", "{\"parent_id\":\"x:%s\"}", NULL, 0, TRUE, TRUE, NULL, 0 },
  { "parent-wins-over-parent-id", "{\"parent\":\"%s\",\"parent_id\":\"sha256:0000\"}", NULL, 0, TRUE, TRUE, NULL, 0 },
  { "parent-file-wins", "{\"parent_id\":\"sha256:0000000000000000000000000000000000000000000000000000000000000000\"}", "P", -1, TRUE, TRUE, NULL, 0 },
  { "empty-parent-file-ignored", "{\"parent\":\"%s\"}", "", 0, TRUE, TRUE, NULL, 0 },
  { "base", "{\"id\":\"x\",\"Size\":3}", NULL, 0, TRUE, FALSE, NULL, 0 },
  { "null-parent", "{\"parent\":null}", NULL, 0, TRUE, FALSE, NULL, 0 },
  { "parent-id-no-colon", "{\"parent_id\":\"%s\"}", NULL, 0, FALSE, FALSE, gp_data_error_quark, GP_DATA_ERROR_DIGEST },
  { "parent-not-string", "{\"parent\":42}", NULL, 0, FALSE, FALSE, gp_data_error_quark, GP_DATA_ERROR_JSON },
  { "invalid-json", "{\"parent\":", NULL, 0, FALSE, FALSE, gp_data_error_quark, GP_DATA_ERROR_JSON },
  { "parent-escapes", "{\"parent\":\"../../etc\"}", NULL, 0, FALSE, FALSE, gp_data_error_quark, GP_DATA_ERROR_UNSAFE_PATH },
  { "parent-upper-hex", "{\"parent\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}", NULL, 0, FALSE, FALSE, gp_data_error_quark, GP_DATA_ERROR_DIGEST },
  { "parent-file-newline", "{}", "P\n", -1, FALSE, FALSE, gp_data_error_quark, GP_DATA_ERROR_DIGEST },
};

static void
test_parent_case (gconstpointer data)
{
  const ParentCase *c = data;
  Fixture fx, *f = &fx;
  g_autofree char *id = id_for ("child"), *p = id_for ("p");

  fixture_setup (f, NULL);
  add_image (f, p, NULL);
  /* %s in the case's JSON stands for the parent's ID. */
  g_auto (GStrv) parts = g_strsplit (c->json, "%s", -1);
  g_autofree char *json = g_strjoinv (p, parts);
  add_image_json (f, id, json);
  if (c->parent_file != NULL)
    {
      g_autofree char *dir = image_dir (f, id);
      g_autoptr (GString) content = g_string_new (c->parent_file);
      if (content->len > 0 && content->str[0] == 'P')
        {
          g_string_erase (content, 0, 1);
          g_string_prepend (content, p);
        }
      write_file (dir, "parent", content->str, (gssize) content->len);
    }

  g_autoptr (GpGraph) graph = scan (f);
  GpGraphImage *image = gp_graph_lookup (graph, id);
  if (c->ok)
    {
      g_assert_no_error (image->error);
      g_assert_true (image->parent_resolved);
      if (c->has_parent)
        {
          g_assert_cmpstr (image->parent, ==, p);
          g_assert_true (image->parent_image == gp_graph_lookup (graph, p));
        }
      else
        g_assert_null (image->parent);
    }
  else
    {
      g_assert_error (image->error, c->domain (), c->code);
      g_assert_true (g_str_has_prefix (image->error->message, "graph/"));
      g_assert_nonnull (strstr (image->error->message, id));
      g_assert_false (image->parent_resolved);
    }
  fixture_teardown (f, NULL);
}

static void
test_unreadable_images (Fixture *f, gconstpointer data)
{
  g_autofree char *nojson = id_for ("nojson"), *file = id_for ("file"), *link = id_for ("link");
  g_autofree char *ok = id_for ("ok"), *jsonlink = id_for ("jsonlink");

  g_autofree char *d1 = image_dir (f, nojson);
  g_autofree char *graphdir = g_build_filename (f->root, "graph", NULL);
  write_file (graphdir, file, "not a directory", -1);
  add_image (f, ok, NULL);
  g_autofree char *okdir = g_build_filename (graphdir, ok, NULL);
  g_autofree char *linkpath = g_build_filename (graphdir, link, NULL);
  g_assert_cmpint (symlink (okdir, linkpath), ==, 0);
  g_autofree char *d2 = image_dir (f, jsonlink);
  g_autofree char *okjson = g_build_filename (okdir, "json", NULL);
  g_autofree char *jl = g_build_filename (d2, "json", NULL);
  g_assert_cmpint (symlink (okjson, jl), ==, 0);

  g_autoptr (GpGraph) graph = scan (f);
  assert_failed (graph, nojson, GP_DATA_ERROR, GP_DATA_ERROR_MISSING, "json");
  assert_failed (graph, file, GP_DATA_ERROR, GP_DATA_ERROR_MISSING, "not a directory");
  assert_failed (graph, link, GP_DATA_ERROR, GP_DATA_ERROR_UNSAFE_PATH, "symbolic link");
  assert_failed (graph, jsonlink, GP_DATA_ERROR, GP_DATA_ERROR_UNSAFE_PATH, "symbolic link");
  g_assert_no_error (gp_graph_lookup (graph, ok)->error);
  g_assert_cmpint (gp_graph_image_get_failure (gp_graph_lookup (graph, nojson)), ==, GP_GRAPH_FAILURE_PERMANENT);
  g_assert_cmpint (gp_graph_image_get_failure (gp_graph_lookup (graph, link)), ==, GP_GRAPH_FAILURE_PERMANENT);
}

/* What a failure's class is: the environment's errors and damaged or
 * missing files are transient, malformed metadata permanent; an explicit
 * class wins, the first failure wins, and descendants inherit it. */
static void
test_failure_classes (void)
{
  static const struct {
    GQuark domain;
    int code;
    GpGraphFailure want;
  } cases[] = {
    { 0, G_IO_ERROR_NO_SPACE, GP_GRAPH_FAILURE_TRANSIENT },
    { 0, G_IO_ERROR_PERMISSION_DENIED, GP_GRAPH_FAILURE_TRANSIENT },
    { 1, G_FILE_ERROR_ROFS, GP_GRAPH_FAILURE_TRANSIENT },
    { 2, GP_DATA_ERROR_MISSING, GP_GRAPH_FAILURE_TRANSIENT },
    { 2, GP_DATA_ERROR_CRC, GP_GRAPH_FAILURE_TRANSIENT },
    { 2, GP_DATA_ERROR_GZIP, GP_GRAPH_FAILURE_TRANSIENT },
    { 2, GP_DATA_ERROR_JSON, GP_GRAPH_FAILURE_PERMANENT },
    { 2, GP_DATA_ERROR_CYCLE, GP_GRAPH_FAILURE_PERMANENT },
    { 2, GP_DATA_ERROR_DIGEST, GP_GRAPH_FAILURE_PERMANENT },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      GQuark domain = cases[i].domain == 0 ? G_IO_ERROR : cases[i].domain == 1 ? G_FILE_ERROR : GP_DATA_ERROR;
      g_autoptr (GError) error = g_error_new (domain, cases[i].code, "case %u", i);
      g_assert_cmpint (gp_graph_classify_error (error), ==, cases[i].want);
    }

  GpGraphImage parent = { .id = (char *) "p" };
  GpGraphImage child = { .id = (char *) "c", .parent = (char *) "p", .parent_image = &parent };
  gp_graph_image_fail_as (&parent, GP_GRAPH_FAILURE_TRANSIENT,
                          g_error_new (GP_DATA_ERROR, GP_DATA_ERROR_JSON, "p: store"));
  gp_graph_image_fail (&parent, g_error_new (GP_DATA_ERROR, GP_DATA_ERROR_CYCLE, "later"));
  g_assert_cmpint (gp_graph_image_get_failure (&parent), ==, GP_GRAPH_FAILURE_TRANSIENT);
  g_assert_true (gp_graph_image_inherit_failure (&child));
  g_assert_cmpint (gp_graph_image_get_failure (&child), ==, GP_GRAPH_FAILURE_TRANSIENT);
  g_clear_error (&parent.error);
  g_clear_error (&child.error);
}

static void
test_mapping_json (void)
{
  g_autoptr (GpGraph) graph = gp_graph_new ("/nonexistent");
  g_autoptr (GString) empty = gp_graph_mapping_to_json (graph);
  g_assert_cmpstr (empty->str, ==, "{}\n");

  /* §9.3 */
  gp_graph_mapping_insert (graph, "4444444444444444444444444444444444444444444444444444444444444444",
                           "sha256:2934ad62bd641a433c126c31eab000a114bf54653d7bb54999783a3e986e1cea");
  gp_graph_mapping_insert (graph, "1111111111111111111111111111111111111111111111111111111111111111",
                           "x<y>");
  g_autoptr (GString) one = gp_graph_mapping_to_json (graph);
  g_assert_cmpstr (one->str, ==,
                   "{\"1111111111111111111111111111111111111111111111111111111111111111\":\"x\\u003cy\\u003e\","
                   "\"4444444444444444444444444444444444444444444444444444444444444444\":"
                   "\"sha256:2934ad62bd641a433c126c31eab000a114bf54653d7bb54999783a3e986e1cea\"}\n");
}


/* §4.9 A: the mapping of an earlier run. */
typedef struct {
  const char *name;
  const char *content;
  gboolean ok;
  guint n;
} MappingCase;

#define ID_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define ID_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static const MappingCase mapping_cases[] = {
  { "object", "{\"" ID_A "\":\"sha256:1\",\"" ID_B "\":\"x\"}\n", TRUE, 2 },
  { "trailing-garbage-ignored", " {\"" ID_A "\":\"sha256:1\"}\n{{{ garbage", TRUE, 1 },
  { "empty-object", "{}\n", TRUE, 0 },
  { "null", "null", TRUE, 0 },
  { "null-value", "{\"" ID_A "\":null}", TRUE, 1 },
  { "empty-file", "", FALSE, 0 },
  { "torn", "{\"" ID_A "\":\"sha2", FALSE, 0 },
  { "array", "[]", FALSE, 0 },
  { "number-value", "{\"" ID_A "\":1}", FALSE, 0 },
};

static void
test_mapping_case (gconstpointer data)
{
  const MappingCase *c = data;
  Fixture fx, *f = &fx;
  g_autoptr (GError) error = NULL;

  fixture_setup (f, NULL);
  write_file (f->root, GP_GRAPH_MAPPING_FILE, c->content, -1);
  g_autoptr (GpGraph) graph = gp_graph_new (f->root);
  gboolean ok = gp_graph_load_mapping (graph, &error);
  if (c->ok)
    {
      g_assert_no_error (error);
      g_assert_true (ok);
      g_assert_cmpuint (gp_graph_get_n_restored (graph), ==, c->n);
    }
  else
    {
      g_assert_false (ok);
      g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_JSON);
      g_assert_true (g_str_has_prefix (error->message, GP_GRAPH_MAPPING_FILE ": "));
    }
  fixture_teardown (f, NULL);
}

/* Mapped images are skipped (their JSON is not even read); their children
 * take the parent from the mapping. */
static void
test_mapping_skips (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *a = id_for ("a"), *b = id_for ("b"), *c = id_for ("c");
  g_autofree char *gone = id_for ("gone");

  add_image_json (f, a, "{not json at all");
  add_image (f, b, a);
  add_image (f, c, gone);
  g_autofree char *content = g_strdup_printf ("{\"%s\":\"sha256:aa\",\"%s\":\"sha256:gone\"}\n", a, gone);
  write_file (f->root, GP_GRAPH_MAPPING_FILE, content, -1);

  g_autoptr (GpGraph) graph = scan (f);
  GpGraphImage *ia = gp_graph_lookup (graph, a);
  g_assert_true (ia->mapped);
  g_assert_null (ia->json);
  g_assert_no_error (ia->error);
  GpGraphImage *ib = gp_graph_lookup (graph, b);
  g_assert_no_error (ib->error);
  g_assert_true (ib->parent_mapped);
  /* The parent directory is gone, but the mapping knows it. */
  GpGraphImage *ic = gp_graph_lookup (graph, c);
  g_assert_no_error (ic->error);
  g_assert_true (ic->parent_mapped);
  g_assert_null (ic->parent_image);
  g_assert_cmpuint (gp_graph_get_order (graph)->len, ==, 2);
  g_assert_cmpstr (gp_graph_mapping_lookup (graph, gone), ==, "sha256:gone");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/graph/order/golden", test_order_golden);
  ADD ("/graph/order/deep-chain", test_deep_chain);
  ADD ("/graph/order/deep-chain-failure", test_deep_chain_failure);
  ADD ("/graph/fail/missing-parent", test_missing_parent);
  ADD ("/graph/fail/self-parent", test_self_parent);
  ADD ("/graph/fail/cycle-2", test_cycle_2);
  ADD ("/graph/fail/cycle-50", test_cycle_50);
  ADD ("/graph/fail/unreadable", test_unreadable_images);
  ADD ("/graph/mapping/skips", test_mapping_skips);
  ADD ("/graph/scan/entries", test_scan_entries);
#undef ADD
  g_test_add_func ("/graph/scan/no-graph-dir", test_no_graph_dir);
  g_test_add_func ("/graph/mapping/to-json", test_mapping_json);
  g_test_add_func ("/graph/fail/classes", test_failure_classes);
  for (guint i = 0; i < G_N_ELEMENTS (parent_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/graph/parent/%s", parent_cases[i].name);
      g_test_add_data_func (path, &parent_cases[i], test_parent_case);
    }
  for (guint i = 0; i < G_N_ELEMENTS (mapping_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/graph/mapping/load/%s", mapping_cases[i].name);
      g_test_add_data_func (path, &mapping_cases[i], test_mapping_case);
    }
  return g_test_run ();
}
