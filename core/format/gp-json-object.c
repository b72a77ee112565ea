/* graphpipe - a JSON object of raw values: Go's
 * map[string]*json.RawMessage, decoded and marshalled as Go does. */
#include "config.h"

#include "gp-json.h"
#include "gp-json-private.h"
#include "gp-error.h"

#include <string.h>

/* ------------------------------------------------------------------ */
/* Object of raw values                                                */
/* ------------------------------------------------------------------ */

struct _GpJsonRawObject {
  gboolean is_nil;
  GHashTable *members; /* GString key -> GString raw value */
  GHashTable *compact; /* (nullable) GString keys whose value is already
                        * compact and HTML-escaped (copied as it is) */
};

static void
string_free_full (gpointer s)
{
  g_string_free (s, TRUE);
}

/**
 * gp_json_raw_object_new:
 *
 * Returns: (transfer full): an empty, non-nil object.  Free with
 *   gp_json_raw_object_free().
 */
GpJsonRawObject *
gp_json_raw_object_new (void)
{
  GpJsonRawObject *obj = g_new0 (GpJsonRawObject, 1);

  obj->members = g_hash_table_new_full ((GHashFunc) g_string_hash, (GEqualFunc) g_string_equal,
                                        string_free_full, string_free_full);
  return obj;
}

/**
 * gp_json_raw_object_free:
 * @obj: (nullable): an object
 *
 * Frees @obj and everything in it.
 */
void
gp_json_raw_object_free (GpJsonRawObject *obj)
{
  if (obj == NULL)
    return;
  g_hash_table_unref (obj->members);
  g_clear_pointer (&obj->compact, g_hash_table_unref);
  g_free (obj);
}

/**
 * gp_json_raw_object_parse:
 * @data: a JSON document
 * @len: its length
 * @error: return location for a #GError
 *
 * Decodes @data like Go's json.Unmarshal into a map[string]*json.RawMessage
 * (FORMATS.md §6.5): the document must be valid with nothing but
 * whitespace after the value; keys are unescaped; for duplicate keys the
 * last one wins; each value's text is kept exactly.  A top-level `null`
 * gives an empty object flagged as nil (gp_json_raw_object_is_nil(); it
 * marshals as `null`); any other non-object is a type error.
 *
 * Returns: (transfer full) (nullable): the object, or %NULL with a
 *   %GP_DATA_ERROR_JSON error.
 */
GpJsonRawObject *
gp_json_raw_object_parse (const char *data, gsize len, GError **error)
{
  if (!gp_json_validate (data, len, error))
    return NULL;
  return _gp_json_raw_object_parse_valid (data, len, error);
}

GpJsonRawObject *
_gp_json_raw_object_parse_valid (const char *data, gsize len, GError **error)
{
  g_autoptr(GpJsonRawObject) obj = gp_json_raw_object_new ();
  GpJsonKind kind = gp_json_kind (data, len);
  if (kind == GP_JSON_KIND_NULL)
    {
      obj->is_nil = TRUE;
      return g_steal_pointer (&obj);
    }
  if (kind != GP_JSON_KIND_OBJECT)
    {
      _gp_json_type_error (error, data, len, "map[string]*json.RawMessage");
      return NULL;
    }

  GpJsonIter iter;
  GString *key;
  const char *value;
  gsize value_len;
  gp_json_object_iter_init (&iter, data, len);
  while (gp_json_object_iter_next (&iter, &key, &value, &value_len))
    g_hash_table_replace (obj->members, key, g_string_new_len (value, value_len));
  return g_steal_pointer (&obj);
}

/**
 * gp_json_raw_object_is_nil:
 * @obj: an object
 *
 * Returns: %TRUE if @obj was parsed from a top-level `null` (a nil Go map)
 *   and nothing was set on it since.
 */
gboolean
gp_json_raw_object_is_nil (const GpJsonRawObject *obj)
{
  return obj->is_nil;
}

/**
 * gp_json_raw_object_size:
 * @obj: an object
 *
 * Returns: the number of members.
 */
guint
gp_json_raw_object_size (const GpJsonRawObject *obj)
{
  return g_hash_table_size (obj->members);
}

/**
 * gp_json_raw_object_get:
 * @obj: an object
 * @key: the exact (unescaped) key
 * @out_len: (out) (optional): length of the raw value
 *
 * Returns: (transfer none) (nullable): the raw value text as parsed or
 *   set (NUL-terminated, owned by @obj), or %NULL if there is no such key.
 *   A member whose value is `null` returns "null".
 */
const char *
gp_json_raw_object_get (const GpJsonRawObject *obj, const char *key, gsize *out_len)
{
  GString k = { (char *) key, strlen (key), 0 };
  GString *v = g_hash_table_lookup (obj->members, &k);

  if (v == NULL)
    return NULL;
  if (out_len)
    *out_len = v->len;
  return v->str;
}

/**
 * gp_json_raw_object_set:
 * @obj: an object
 * @key: the (unescaped) key
 * @raw: the member's value as JSON text; the caller guarantees it is one
 *   valid JSON value
 * @raw_len: length of @raw, or -1 if NUL-terminated
 *
 * Adds or replaces a member.  Clears the nil flag.
 */
void
gp_json_raw_object_set (GpJsonRawObject *obj, const char *key, const char *raw, gssize raw_len)
{
  if (raw_len < 0)
    raw_len = strlen (raw);
  obj->is_nil = FALSE;
  if (obj->compact != NULL)
    {
      GString k = { (char *) key, strlen (key), 0 };
      g_hash_table_remove (obj->compact, &k);
    }
  g_hash_table_replace (obj->members, g_string_new (key), g_string_new_len (raw, raw_len));
}

void
_gp_json_raw_object_set_compact (GpJsonRawObject *obj, const char *key, const char *raw, gsize raw_len)
{
  gp_json_raw_object_set (obj, key, raw, (gssize) raw_len);
  if (obj->compact == NULL)
    obj->compact = g_hash_table_new_full ((GHashFunc) g_string_hash, (GEqualFunc) g_string_equal,
                                          string_free_full, NULL);
  g_hash_table_add (obj->compact, g_string_new (key));
}

/**
 * gp_json_raw_object_set_string:
 * @obj: an object
 * @key: the (unescaped) key
 * @value: a NUL-terminated string
 *
 * Sets @key to the Go JSON encoding of the string @value.
 */
void
gp_json_raw_object_set_string (GpJsonRawObject *obj, const char *key, const char *value)
{
  g_autoptr(GString) raw = g_string_new (NULL);

  gp_json_append_string (raw, value, strlen (value));
  gp_json_raw_object_set (obj, key, raw->str, raw->len);
}

/**
 * gp_json_raw_object_remove:
 * @obj: an object
 * @key: the exact key
 *
 * Returns: %TRUE if a member was removed.
 */
gboolean
gp_json_raw_object_remove (GpJsonRawObject *obj, const char *key)
{
  GString k = { (char *) key, strlen (key), 0 };

  if (obj->compact != NULL)
    g_hash_table_remove (obj->compact, &k);
  return g_hash_table_remove (obj->members, &k);
}

static gint
compare_gstring_ptr (gconstpointer a, gconstpointer b)
{
  const GString *x = *(const GString *const *) a;
  const GString *y = *(const GString *const *) b;
  int c = memcmp (x->str, y->str, MIN (x->len, y->len));

  if (c != 0)
    return c;
  return x->len < y->len ? -1 : x->len > y->len ? 1 : 0;
}

/**
 * gp_json_raw_object_sorted_keys:
 * @obj: an object
 *
 * Returns: (transfer container) (element-type GString): the keys sorted
 *   byte-wise; the GStrings are owned by @obj.  Free with
 *   g_ptr_array_unref().
 */
GPtrArray *
gp_json_raw_object_sorted_keys (const GpJsonRawObject *obj)
{
  return _gp_json_sorted_gstring_keys (obj->members);
}

GPtrArray *
_gp_json_sorted_gstring_keys (GHashTable *table)
{
  GPtrArray *keys = g_ptr_array_sized_new (g_hash_table_size (table));
  GHashTableIter it;
  gpointer k;

  g_hash_table_iter_init (&it, table);
  while (g_hash_table_iter_next (&it, &k, NULL))
    g_ptr_array_add (keys, k);
  g_ptr_array_sort (keys, compare_gstring_ptr);
  return keys;
}

/**
 * gp_json_raw_object_append:
 * @out: where to append
 * @obj: an object
 *
 * Marshals @obj as Go marshals a map[string]*json.RawMessage: keys sorted
 * byte-wise and escaped, each value compacted and HTML-escaped
 * (gp_json_append_compact()); `null` for a nil object.  No newline.
 */
void
gp_json_raw_object_append (GString *out, const GpJsonRawObject *obj)
{
  if (obj->is_nil)
    {
      g_string_append (out, "null");
      return;
    }
  g_autoptr(GPtrArray) keys = gp_json_raw_object_sorted_keys (obj);
  g_string_append_c (out, '{');
  for (guint i = 0; i < keys->len; i++)
    {
      GString *key = keys->pdata[i];
      GString *value = g_hash_table_lookup (obj->members, key);
      if (i > 0)
        g_string_append_c (out, ',');
      gp_json_append_string (out, key->str, key->len);
      g_string_append_c (out, ':');
      if (obj->compact != NULL && g_hash_table_contains (obj->compact, key))
        g_string_append_len (out, value->str, value->len);
      else
        _gp_json_append_compact_valid (out, value->str, value->len);
    }
  g_string_append_c (out, '}');
}
