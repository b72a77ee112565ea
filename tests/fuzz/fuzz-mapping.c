/* libFuzzer target: the mapping file `<root>/.migration-v1-images.json` of
 * an earlier migration, restored by gp_graph_load_mapping() (the first
 * JSON value: an object of strings or null).  A mapping that loaded must
 * be written back (gp_graph_mapping_to_json) as a file that loads to the
 * same mapping. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gp-graph.h"
#include "gp-safeio.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static char *root;
static char *file;

static void
put (const void *data, gsize len)
{
  FILE *f = fopen (file, "wb");
  g_assert (f != NULL);
  g_assert (len == 0 || fwrite (data, 1, len, f) == len);
  fclose (f);
}

static void
remove_root (void)
{
  gp_safeio_remove_tree (root, NULL);
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  if (root == NULL)
    {
      root = g_dir_make_tmp ("gp-fuzz-mapping-XXXXXX", NULL);
      g_assert (root != NULL);
      atexit (remove_root);
      file = g_build_filename (root, ".migration-v1-images.json", NULL);
    }
  put (data, size);
  GError *error = NULL;
  GpGraph *graph = gp_graph_new (root);
  if (!gp_graph_load_mapping (graph, &error))
    {
      g_assert (error != NULL && strstr (error->message, ".migration-v1-images.json") != NULL);
      g_clear_error (&error);
      gp_graph_unref (graph);
      return 0;
    }
  guint n = g_hash_table_size (gp_graph_get_mapping (graph));
  GString *json = gp_graph_mapping_to_json (graph);
  gp_graph_unref (graph);

  put (json->str, json->len);
  graph = gp_graph_new (root);
  g_assert (gp_graph_load_mapping (graph, &error));
  g_assert_no_error (error);
  g_assert (g_hash_table_size (gp_graph_get_mapping (graph)) == n);
  GString *again = gp_graph_mapping_to_json (graph);
  g_assert (again->len == json->len && memcmp (again->str, json->str, json->len) == 0);
  g_string_free (again, TRUE);
  g_string_free (json, TRUE);
  gp_graph_unref (graph);
  return 0;
}
