/* libFuzzer target: reading a saved tarball back as the save tests do
 * (tests/save-util.c): the tar members, then `manifest.json` (json-glib)
 * and every member it names (Config, Layers, following symbolic links
 * as Docker 20.10 writes them), and the `repositories` file. */
#include "config.h"

#include <string.h>
#include <json-glib/json-glib.h>

#include "save-util.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static void
touch_member (GPtrArray *members, const char *name)
{
  const SaveMember *m = save_util_find_member (members, name);
  for (int depth = 0; m != NULL && m->typeflag == '2' && depth < 8; depth++)
    {
      char *target = g_strndup ((const char *) m->header + 157, 100);
      m = save_util_find_member (members, target);
      g_free (target);
    }
  if (m != NULL)
    {
      char *sum = g_compute_checksum_for_data (G_CHECKSUM_SHA256, m->data, m->size);
      g_free (sum);
    }
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  GBytes *tar = g_bytes_new_static (data, size);
  GError *error = NULL;
  GPtrArray *members = save_util_tar_members (tar, &error);
  if (members == NULL)
    {
      g_clear_error (&error);
      g_bytes_unref (tar);
      return 0;
    }
  for (guint i = 0; i < members->len; i++)
    {
      const SaveMember *m = members->pdata[i];
      g_assert (m->data >= data && m->data + m->size <= data + size);
    }
  const char *files[] = { "manifest.json", "repositories" };
  for (guint f = 0; f < G_N_ELEMENTS (files); f++)
    {
      const SaveMember *m = save_util_find_member (members, files[f]);
      if (m == NULL)
        continue;
      JsonParser *p = json_parser_new ();
      if (json_parser_load_from_data (p, (const char *) m->data, (gssize) m->size, NULL))
        {
          JsonNode *root = json_parser_get_root (p);
          if (root != NULL && JSON_NODE_HOLDS_ARRAY (root))
            {
              JsonArray *items = json_node_get_array (root);
              for (guint i = 0; i < json_array_get_length (items); i++)
                {
                  JsonNode *n = json_array_get_element (items, i);
                  if (!JSON_NODE_HOLDS_OBJECT (n))
                    continue;
                  JsonObject *o = json_node_get_object (n);
                  JsonNode *c = json_object_get_member (o, "Config");
                  if (c != NULL && JSON_NODE_HOLDS_VALUE (c) && json_node_get_value_type (c) == G_TYPE_STRING)
                    touch_member (members, json_node_get_string (c));
                  JsonNode *l = json_object_get_member (o, "Layers");
                  if (l != NULL && JSON_NODE_HOLDS_ARRAY (l))
                    {
                      JsonArray *layers = json_node_get_array (l);
                      for (guint k = 0; k < json_array_get_length (layers); k++)
                        {
                          JsonNode *e = json_array_get_element (layers, k);
                          if (JSON_NODE_HOLDS_VALUE (e) && json_node_get_value_type (e) == G_TYPE_STRING)
                            touch_member (members, json_node_get_string (e));
                        }
                    }
                }
            }
        }
      g_object_unref (p);
    }
  g_ptr_array_unref (members);
  g_bytes_unref (tar);
  return 0;
}
