/* containers-storage records: images.json and layers.json (see cs-store.h).
 *
 * Both files are a JSON array of objects written by Go's encoding/json.
 * Members we do not use are ignored, as containers/storage ignores
 * unknown ones; a member we use with the wrong type is an error naming
 * the file, the entry and the member.
 */
#include "config.h"

#include "cs-store.h"

#include <string.h>
#include <json-glib/json-glib.h>

#include <graphpipe.h>

/* Longest ID accepted (containers/storage IDs are 64 hex digits; names
 * given with --id may be other strings, kept short). */
#define CS_MAX_ID 255

void
cs_image_free (CsImage *image)
{
  if (image == NULL)
    return;
  g_free (image->id);
  g_free (image->top_layer);
  g_strfreev (image->names);
  g_strfreev (image->digests);
  g_strfreev (image->big_data_names);
  g_clear_pointer (&image->big_data_digests, g_hash_table_unref);
  g_free (image);
}

void
cs_layer_free (CsLayer *layer)
{
  if (layer == NULL)
    return;
  g_free (layer->id);
  g_free (layer->parent);
  g_free (layer->diff_digest);
  g_free (layer->compressed_digest);
  g_free (layer);
}

/**
 * cs_check_id:
 * @id: an image or layer ID from a record or a tar-split name
 * @what: what it is, for the message
 *
 * IDs become path components (`overlay/<id>/diff`, `<id>.tar-split.gz`):
 * only letters, digits, `-`, `_` and `.` not first, at most CS_MAX_ID
 * bytes.  That keeps every path we build beneath the store's root.
 */
gboolean
cs_check_id (const char *id, const char *what, GError **error)
{
  gsize len = id != NULL ? strlen (id) : 0;
  gboolean ok = len > 0 && len <= CS_MAX_ID && id[0] != '.';
  for (gsize i = 0; ok && i < len; i++)
    ok = g_ascii_isalnum (id[i]) || id[i] == '-' || id[i] == '_' || id[i] == '.';
  if (!ok)
    {
      g_autofree char *shown = id != NULL ? g_strescape (id, NULL) : g_strdup ("(none)");
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_UNSAFE_PATH,
                   "%s \"%.300s\" is not a valid ID (letters, digits, '-', '_', '.')", what, shown);
      return FALSE;
    }
  return TRUE;
}

/**
 * cs_big_data_file_name:
 * @key: a big-data key of an image ("manifest", "sha256:<hex>", ...)
 *
 * The file name containers/storage stores @key's value under, in the
 * image's directory: @key itself when it is made of `.`, digits and
 * lowercase letters only, else `=` and its standard base64.  A name that
 * is not one path component (empty, `.`, `..`, holding `/`) is refused.
 *
 * Returns: (transfer full): the file name, or %NULL with @error set
 */
char *
cs_big_data_file_name (const char *key, GError **error)
{
  gboolean plain = TRUE;
  for (const char *p = key; plain && *p != '\0'; p++)
    plain = *p == '.' || g_ascii_isdigit (*p) || (*p >= 'a' && *p <= 'z');
  g_autofree char *name = plain ? g_strdup (key) : NULL;
  if (name == NULL)
    {
      g_autofree char *b64 = g_base64_encode ((const guchar *) key, strlen (key));
      name = g_strconcat ("=", b64, NULL);
    }
  if (*name == '\0' || strcmp (name, ".") == 0 || strcmp (name, "..") == 0
      || strchr (name, '/') != NULL)
    {
      g_autofree char *shown = g_strescape (key, NULL);
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_UNSAFE_PATH,
                   "big-data key \"%.300s\" does not name a file in the image directory", shown);
      return NULL;
    }
  return g_steal_pointer (&name);
}

/* Member @name of @o as a string: NULL and TRUE when absent or null. */
static gboolean
get_string (JsonObject *o, const char *name, char **out, const char *display, guint index,
            GError **error)
{
  JsonNode *n = json_object_get_member (o, name);
  *out = NULL;
  if (n == NULL || JSON_NODE_HOLDS_NULL (n))
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_JSON,
                   "%s: entry %u: \"%s\" is not a string", display, index, name);
      return FALSE;
    }
  *out = g_strdup (json_node_get_string (n));
  return TRUE;
}

/* Member @name of @o as a string array (absent or null: empty), its
 * strings appended to @b unless already there. */
static gboolean
get_strings (JsonObject *o, const char *name, GPtrArray *b, const char *display, guint index,
             GError **error)
{
  JsonNode *n = json_object_get_member (o, name);
  if (n == NULL || JSON_NODE_HOLDS_NULL (n))
    return TRUE;
  if (!JSON_NODE_HOLDS_ARRAY (n))
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_JSON,
                   "%s: entry %u: \"%s\" is not an array", display, index, name);
      return FALSE;
    }
  JsonArray *a = json_node_get_array (n);
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      JsonNode *e = json_array_get_element (a, i);
      if (!JSON_NODE_HOLDS_VALUE (e) || json_node_get_value_type (e) != G_TYPE_STRING)
        {
          g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_JSON,
                       "%s: entry %u: \"%s\"[%u] is not a string", display, index, name, i);
          return FALSE;
        }
      const char *s = json_node_get_string (e);
      gboolean seen = FALSE;
      for (guint k = 0; !seen && k < b->len; k++)
        seen = strcmp (g_ptr_array_index (b, k), s) == 0;
      if (!seen)
        g_ptr_array_add (b, g_strdup (s));
    }
  return TRUE;
}

static char **
steal_strv (GPtrArray *b)
{
  g_ptr_array_add (b, NULL);
  return (char **) g_ptr_array_free (b, FALSE);
}

/* The array of objects both files hold. */
static JsonArray *
parse_array (JsonParser *parser, const char *data, gsize len, const char *display,
             GError **error)
{
  g_autoptr (GError) local = NULL;
  if (len > G_MAXSSIZE
      || !json_parser_load_from_data (parser, data, (gssize) len, &local))
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_JSON, "%s: not valid JSON: %s", display,
                   local != NULL ? local->message : "too large");
      return NULL;
    }
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_ARRAY (root))
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_JSON, "%s: not a JSON array", display);
      return NULL;
    }
  JsonArray *a = json_node_get_array (root);
  for (guint i = 0; i < json_array_get_length (a); i++)
    if (!JSON_NODE_HOLDS_OBJECT (json_array_get_element (a, i)))
      {
        g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_JSON, "%s: entry %u is not an object",
                     display, i);
        return NULL;
      }
  return a;
}

/* The entry's "id", checked, for messages and paths. */
static char *
get_id (JsonObject *o, const char *display, guint index, GError **error)
{
  g_autofree char *id = NULL;
  if (!get_string (o, "id", &id, display, index, error))
    return NULL;
  if (!cs_check_id (id, "id", error))
    {
      g_prefix_error (error, "%s: entry %u: ", display, index);
      return NULL;
    }
  return g_steal_pointer (&id);
}

/**
 * cs_parse_images:
 * @data: the bytes of an images.json
 * @display: its path, for messages
 *
 * Returns: (transfer full) (element-type CsImage): the images in file
 *   order, or %NULL with @error set (GP_DATA_ERROR_JSON, or
 *   GP_DATA_ERROR_UNSAFE_PATH for an ID that cannot be a file name)
 */
GPtrArray *
cs_parse_images (const char *data, gsize len, const char *display, GError **error)
{
  g_autoptr (GPtrArray) images = g_ptr_array_new_with_free_func ((GDestroyNotify) cs_image_free);
  /* containers/storage takes an empty file for an empty store */
  if (len == 0)
    return g_steal_pointer (&images);
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  JsonArray *a = parse_array (parser, data, len, display, error);
  if (a == NULL)
    return NULL;
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      JsonObject *o = json_array_get_object_element (a, i);
      g_autoptr (CsImage) image = g_new0 (CsImage, 1);
      image->id = get_id (o, display, i, error);
      if (image->id == NULL)
        return NULL;
      if (!get_string (o, "layer", &image->top_layer, display, i, error))
        return NULL;
      if (image->top_layer != NULL && *image->top_layer == '\0')
        g_clear_pointer (&image->top_layer, g_free);
      if (image->top_layer != NULL && !cs_check_id (image->top_layer, "layer", error))
        {
          g_prefix_error (error, "%s: image %s: ", display, image->id);
          return NULL;
        }
      g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
      g_autoptr (GPtrArray) digests = g_ptr_array_new_with_free_func (g_free);
      g_autoptr (GPtrArray) big = g_ptr_array_new_with_free_func (g_free);
      g_autofree char *digest = NULL;
      if (!get_strings (o, "names", names, display, i, error)
          || !get_string (o, "digest", &digest, display, i, error))
        return NULL;
      if (digest != NULL && *digest != '\0')
        g_ptr_array_add (digests, g_steal_pointer (&digest));
      if (!get_strings (o, "digests", digests, display, i, error)
          || !get_strings (o, "big-data-names", big, display, i, error))
        return NULL;
      image->names = steal_strv (g_steal_pointer (&names));
      image->digests = steal_strv (g_steal_pointer (&digests));
      image->big_data_names = steal_strv (g_steal_pointer (&big));
      image->big_data_digests = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
      JsonNode *bd = json_object_get_member (o, "big-data-digests");
      if (bd != NULL && JSON_NODE_HOLDS_OBJECT (bd))
        {
          JsonObject *bo = json_node_get_object (bd);
          g_autoptr (GList) members = json_object_get_members (bo);
          for (GList *m = members; m != NULL; m = m->next)
            {
              g_autofree char *value = NULL;
              if (!get_string (bo, m->data, &value, display, i, error))
                return NULL;
              if (value != NULL)
                g_hash_table_replace (image->big_data_digests, g_strdup (m->data),
                                      g_steal_pointer (&value));
            }
        }
      else if (bd != NULL && !JSON_NODE_HOLDS_NULL (bd))
        {
          g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_JSON,
                       "%s: entry %u: \"big-data-digests\" is not an object", display, i);
          return NULL;
        }
      g_ptr_array_add (images, g_steal_pointer (&image));
    }
  return g_steal_pointer (&images);
}

/**
 * cs_parse_layers:
 * @data: the bytes of a layers.json
 * @display: its path, for messages
 *
 * Returns: (transfer full) (element-type CsLayer): the layers in file
 *   order, or %NULL with @error set
 */
GPtrArray *
cs_parse_layers (const char *data, gsize len, const char *display, GError **error)
{
  g_autoptr (GPtrArray) layers = g_ptr_array_new_with_free_func ((GDestroyNotify) cs_layer_free);
  if (len == 0)
    return g_steal_pointer (&layers);
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  JsonArray *a = parse_array (parser, data, len, display, error);
  if (a == NULL)
    return NULL;
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      JsonObject *o = json_array_get_object_element (a, i);
      g_autoptr (CsLayer) layer = g_new0 (CsLayer, 1);
      layer->id = get_id (o, display, i, error);
      if (layer->id == NULL)
        return NULL;
      if (!get_string (o, "parent", &layer->parent, display, i, error)
          || !get_string (o, "diff-digest", &layer->diff_digest, display, i, error)
          || !get_string (o, "compressed-diff-digest", &layer->compressed_digest, display, i,
                          error))
        return NULL;
      if (layer->parent != NULL && *layer->parent == '\0')
        g_clear_pointer (&layer->parent, g_free);
      if (layer->parent != NULL && !cs_check_id (layer->parent, "parent", error))
        {
          g_prefix_error (error, "%s: layer %s: ", display, layer->id);
          return NULL;
        }
      layer->diff_size = -1;
      JsonNode *n = json_object_get_member (o, "diff-size");
      if (n != NULL && !JSON_NODE_HOLDS_NULL (n))
        {
          if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64
              || json_node_get_int (n) < 0)
            {
              g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_JSON,
                           "%s: layer %s: \"diff-size\" is not a size", display, layer->id);
              return NULL;
            }
          layer->diff_size = json_node_get_int (n);
        }
      JsonNode *flags = json_object_get_member (o, "flags");
      if (flags != NULL && JSON_NODE_HOLDS_OBJECT (flags))
        {
          JsonNode *inc = json_object_get_member (json_node_get_object (flags), "incomplete");
          /* as containers/storage's layerHasIncompleteFlag(): a true boolean */
          layer->incomplete = inc != NULL && JSON_NODE_HOLDS_VALUE (inc)
                              && json_node_get_value_type (inc) == G_TYPE_BOOLEAN
                              && json_node_get_boolean (inc);
        }
      g_ptr_array_add (layers, g_steal_pointer (&layer));
    }
  return g_steal_pointer (&layers);
}
