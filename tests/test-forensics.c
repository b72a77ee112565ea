/* Tests of the forensics helpers: hashing-time estimates, the context's
 * target and layers root, the graph's mapping root. */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "gp-context.h"
#include "gp-estimate.h"
#include "gp-graph.h"
#include "gp-store.h"
#include "gp-test-util.h"

typedef struct {
  double seconds;
  const char *text;
} FormatCase;

static void
test_estimate_format (void)
{
  static const FormatCase cases[] = {
    { 0.0, "0 ms" },
    { 0.006, "6 ms" },
    { 0.4, "0.4 s" },
    { 9.94, "9.9 s" },
    { 12.2, "12 s" },
    { 185, "3 min 5 s" },
    { 7800, "2 h 10 min" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = gp_estimate_format_seconds (cases[i].seconds);
      g_assert_cmpstr (text, ==, cases[i].text);
    }
}

typedef struct {
  guint64 bytes;
  guint64 largest;
  guint n_items;
  guint jobs;
  double rate;
  double seconds;
} SecondsCase;

static void
test_estimate_seconds (void)
{
  /* One job: the bytes at the rate; nothing to do: 0; the largest item
   * bounds the time from below. */
  static const SecondsCase cases[] = {
    { 1000, 500, 2, 1, 100, 10 },
    { 0, 0, 0, 4, 100, 0 },
    { 1000, 0, 0, 1, 100, 0 },
    { 1000, 900, 1, 1, 100, 10 },
    { 1000, 400, 3, 1, 0, 0 },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const SecondsCase *c = &cases[i];
      g_assert_cmpfloat_with_epsilon (gp_estimate_hash_seconds (c->bytes, c->largest, c->n_items,
                                                                c->jobs, c->rate),
                                      c->seconds, 1e-9);
    }
  /* Several jobs never take longer than one, nor less than the largest
   * item. */
  double one = gp_estimate_hash_seconds (4000, 1000, 4, 1, 100);
  double four = gp_estimate_hash_seconds (4000, 1000, 4, 4, 100);
  g_assert_cmpfloat (four, <=, one);
  g_assert_cmpfloat (four, >=, 10);
  guint n = g_get_num_processors ();
  if (n >= 4)
    g_assert_cmpfloat_with_epsilon (four, 10, 1e-9);
}

static void
test_estimate_rate (void)
{
  double rate = gp_estimate_sha256_rate (1);
  /* Any machine hashes more than 1 MB/s, and less than 1 TB/s. */
  g_assert_cmpfloat (rate, >, 1e6);
  g_assert_cmpfloat (rate, <, 1e12);
}

static void
test_context_target (void)
{
  g_autoptr (GpContext) ctx = gp_context_new ();
  g_autoptr (GError) error = NULL;

  g_assert_null (gp_context_get_store_root (ctx));
  gp_context_set_root (ctx, "/src");
  gp_context_set_driver (ctx, "vfs");
  g_assert_null (gp_context_get_target (ctx));
  g_assert_cmpstr (gp_context_get_store_root (ctx), ==, "/src");
  g_assert_cmpstr (gp_context_get_layers_root (ctx), ==, "/src");
  GpStore *store = gp_context_get_store (ctx, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (gp_store_get_root (store), ==, "/src");
  g_assert_cmpstr (gp_store_get_layers_root (store), ==, "/src");

  /* A target: the store moves there, its layers stay in the root. */
  gp_context_set_target (ctx, "/tgt");
  g_assert_cmpstr (gp_context_get_store_root (ctx), ==, "/tgt");
  store = gp_context_get_store (ctx, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (gp_store_get_root (store), ==, "/tgt");
  g_assert_cmpstr (gp_store_get_dir (store), ==, "/tgt/image/vfs");
  g_assert_cmpstr (gp_store_get_containers_dir (store), ==, "/tgt/containers");
  g_assert_cmpstr (gp_store_get_layers_root (store), ==, "/src");

  /* --layers-from: the root's store, another root's layers. */
  gp_context_set_target (ctx, NULL);
  gp_context_set_layers_root (ctx, "/layers");
  g_assert_cmpstr (gp_context_get_layers_root (ctx), ==, "/layers");
  store = gp_context_get_store (ctx, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (gp_store_get_root (store), ==, "/src");
  g_assert_cmpstr (gp_store_get_layers_root (store), ==, "/layers");

  gp_store_set_layers_root (store, NULL);
  g_assert_cmpstr (gp_store_get_layers_root (store), ==, "/src");
}

static void
test_graph_mapping_root (void)
{
  g_autofree char *tmp = gp_test_make_tmpdir ();
  g_autofree char *missing = g_build_filename (tmp, "missing", NULL);
  g_autoptr (GError) error = NULL;

  /* A target that does not exist yet: an empty mapping. */
  g_autoptr (GpGraph) empty = gp_graph_new (tmp);
  gp_graph_set_mapping_root (empty, missing);
  g_assert_true (gp_graph_load_mapping (empty, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (gp_graph_get_n_restored (empty), ==, 0);

  /* The mapping is read from the mapping root, not from the data root. */
  g_autofree char *tgt = g_build_filename (tmp, "tgt", NULL);
  g_assert_cmpint (g_mkdir (tgt, 0700), ==, 0);
  g_free (gp_test_write_file (tmp, GP_GRAPH_MAPPING_FILE, "{\"aa\":\"sha256:root\"}"));
  g_free (gp_test_write_file (tgt, GP_GRAPH_MAPPING_FILE,
                              "{\"bb\":\"sha256:target\",\"cc\":\"sha256:target2\"}"));
  g_autoptr (GpGraph) graph = gp_graph_new (tmp);
  gp_graph_set_mapping_root (graph, tgt);
  g_assert_true (gp_graph_load_mapping (graph, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (gp_graph_get_n_restored (graph), ==, 2);
  g_assert_cmpstr (gp_graph_mapping_lookup (graph, "bb"), ==, "sha256:target");
  g_assert_null (gp_graph_mapping_lookup (graph, "aa"));

  /* A mapping root that is a file is an error naming it. */
  g_autofree char *file = gp_test_write_file (tmp, "afile", "x");
  g_autoptr (GpGraph) bad = gp_graph_new (tmp);
  gp_graph_set_mapping_root (bad, file);
  g_assert_false (gp_graph_load_mapping (bad, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_DIRECTORY);
  g_assert_nonnull (strstr (error->message, "afile"));

  gp_test_rm_rf (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/forensics/estimate/format", test_estimate_format);
  g_test_add_func ("/forensics/estimate/seconds", test_estimate_seconds);
  g_test_add_func ("/forensics/estimate/rate", test_estimate_rate);
  g_test_add_func ("/forensics/context/target", test_context_target);
  g_test_add_func ("/forensics/graph/mapping-root", test_graph_mapping_root);
  return g_test_run ();
}
