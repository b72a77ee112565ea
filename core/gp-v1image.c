/* graphpipe - Docker's image structs with Go's JSON rules. */
#include "config.h"

#include "gp-v1image.h"

#include <string.h>

#include "gp-error.h"

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

static void
gstring_free (gpointer s)
{
  if (s != NULL)
    g_string_free (s, TRUE);
}

static void
replace_gstring (GString **field, GString *value)
{
  gstring_free (*field);
  *field = value;
}

static gboolean
gstring_empty (const GString *s)
{
  return s == NULL || s->len == 0;
}

static void
append_gstring (GString *out, const GString *s)
{
  if (s == NULL)
    gp_json_append_string (out, "", 0);
  else
    gp_json_append_string (out, s->str, s->len);
}

static GString *
gstring_copy (const GString *s)
{
  return s == NULL ? NULL : g_string_new_len (s->str, s->len);
}

static GHashTable *
gstring_table_new (gboolean with_values)
{
  return g_hash_table_new_full ((GHashFunc) g_string_hash, (GEqualFunc) g_string_equal,
                                gstring_free, with_values ? gstring_free : NULL);
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

static GPtrArray *
sorted_table_keys (GHashTable *table)
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

/* Go map[string]struct{} / map[string]string: null for nil, sorted keys. */
static void
append_gstring_table (GString *out, GHashTable *table, gboolean with_values)
{
  if (table == NULL)
    {
      g_string_append (out, "null");
      return;
    }
  g_autoptr(GPtrArray) keys = sorted_table_keys (table);
  g_string_append_c (out, '{');
  for (guint i = 0; i < keys->len; i++)
    {
      if (i > 0)
        g_string_append_c (out, ',');
      append_gstring (out, keys->pdata[i]);
      g_string_append_c (out, ':');
      if (with_values)
        append_gstring (out, g_hash_table_lookup (table, keys->pdata[i]));
      else
        g_string_append (out, "{}");
    }
  g_string_append_c (out, '}');
}

/* Go []string: null for nil. */
static void
append_gstring_array (GString *out, const GPtrArray *array)
{
  if (array == NULL)
    {
      g_string_append (out, "null");
      return;
    }
  g_string_append_c (out, '[');
  for (guint i = 0; i < array->len; i++)
    {
      if (i > 0)
        g_string_append_c (out, ',');
      append_gstring (out, array->pdata[i]);
    }
  g_string_append_c (out, ']');
}

static GPtrArray *
gstring_array_new (void)
{
  return g_ptr_array_new_with_free_func (gstring_free);
}

/* Writes `"name":` with a leading comma unless it is the first member. */
static void
member (GString *out, gboolean *first, const char *name)
{
  if (!*first)
    g_string_append_c (out, ',');
  *first = FALSE;
  g_string_append_c (out, '"');
  g_string_append (out, name);
  g_string_append (out, "\":");
}

static void
member_string (GString *out, gboolean *first, const char *name, const GString *value,
               gboolean omitempty)
{
  if (omitempty && gstring_empty (value))
    return;
  member (out, first, name);
  append_gstring (out, value);
}

static void
member_bool (GString *out, gboolean *first, const char *name, gboolean value,
             gboolean omitempty)
{
  if (omitempty && !value)
    return;
  member (out, first, name);
  g_string_append (out, value ? "true" : "false");
}

/* ------------------------------------------------------------------ */
/* Field decoders (validated text)                                     */
/* ------------------------------------------------------------------ */

static gboolean
field_error (GError **error, const char *name)
{
  g_prefix_error (error, "%s: ", name);
  return FALSE;
}

static gboolean
decode_string_field (GString **field, const char *raw, gsize len, const char *name,
                     GError **error)
{
  GString *s;

  if (gp_json_is_null (raw, len))
    return TRUE;
  if (!gp_json_decode_string (raw, len, &s, error))
    return field_error (error, name);
  replace_gstring (field, s);
  return TRUE;
}

static gboolean
decode_bool_field (gboolean *field, const char *raw, gsize len, const char *name,
                   GError **error)
{
  if (gp_json_is_null (raw, len))
    return TRUE;
  if (!gp_json_decode_bool (raw, len, field, error))
    return field_error (error, name);
  return TRUE;
}

static gboolean
decode_time_field (GpGoTime *field, const char *raw, gsize len, const char *name,
                   GError **error)
{
  if (!gp_go_time_parse_json (raw, len, field, error))
    return field_error (error, name);
  return TRUE;
}

/* Go's decoding of a JSON array into an existing []string: existing
 * elements are decoded into (so `null` keeps them), the slice is then cut
 * to the new length; an empty array gives a new empty slice. */
static gboolean
decode_string_slice (GPtrArray **field, const char *raw, gsize len, const char *name,
                     GError **error)
{
  GpJsonIter iter;
  const char *elem;
  gsize elem_len;
  guint i = 0;

  if (gp_json_is_null (raw, len))
    {
      g_clear_pointer (field, g_ptr_array_unref);
      return TRUE;
    }
  if (!gp_json_array_iter_init (&iter, raw, len))
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_JSON,
                   "%s: cannot unmarshal %s into Go value of type []string", name,
                   gp_json_kind (raw, len) == GP_JSON_KIND_OBJECT ? "object"
                   : gp_json_kind (raw, len) == GP_JSON_KIND_STRING ? "string"
                   : gp_json_kind (raw, len) == GP_JSON_KIND_NUMBER ? "number" : "bool");
      return FALSE;
    }
  if (*field == NULL)
    *field = gstring_array_new ();
  GPtrArray *array = *field;
  while (gp_json_array_iter_next (&iter, &elem, &elem_len))
    {
      if (i >= array->len)
        g_ptr_array_add (array, g_string_new (NULL));
      if (!decode_string_field ((GString **) &array->pdata[i], elem, elem_len, name, error))
        return FALSE;
      i++;
    }
  if (i == 0)
    {
      g_ptr_array_unref (array);
      *field = gstring_array_new ();
    }
  else
    g_ptr_array_set_size (array, i);
  return TRUE;
}

/* strslice.StrSlice (Cmd, Entrypoint): null -> nil; an array of strings
 * (decoded into a fresh slice) or a single string. */
static gboolean
decode_strslice (GPtrArray **field, const char *raw, gsize len, const char *name,
                 GError **error)
{
  GpJsonKind kind = gp_json_kind (raw, len);

  if (kind == GP_JSON_KIND_NULL)
    {
      g_clear_pointer (field, g_ptr_array_unref);
      return TRUE;
    }
  if (kind == GP_JSON_KIND_STRING)
    {
      GString *s;
      if (!gp_json_decode_string (raw, len, &s, error))
        return field_error (error, name);
      GPtrArray *array = gstring_array_new ();
      g_ptr_array_add (array, s);
      g_clear_pointer (field, g_ptr_array_unref);
      *field = array;
      return TRUE;
    }
  if (kind != GP_JSON_KIND_ARRAY)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_JSON,
                   "%s: cannot unmarshal %s into Go value of type string", name,
                   kind == GP_JSON_KIND_OBJECT ? "object"
                   : kind == GP_JSON_KIND_NUMBER ? "number" : "bool");
      return FALSE;
    }
  GPtrArray *fresh = NULL;
  if (!decode_string_slice (&fresh, raw, len, name, error))
    {
      g_clear_pointer (&fresh, g_ptr_array_unref);
      return FALSE;
    }
  g_clear_pointer (field, g_ptr_array_unref);
  *field = fresh;
  return TRUE;
}

/* map[string]struct{} (with_values FALSE) or map[string]string.  Go
 * decodes into the existing map, so duplicate keys merge. */
static gboolean
decode_table (GHashTable **field, gboolean with_values, const char *raw, gsize len,
              const char *name, GError **error)
{
  GpJsonIter iter;
  GString *key;
  const char *value;
  gsize value_len;
  const char *go_type = with_values ? "map[string]string" : "map[string]struct {}";

  if (gp_json_is_null (raw, len))
    {
      g_clear_pointer (field, g_hash_table_unref);
      return TRUE;
    }
  if (!gp_json_object_iter_init (&iter, raw, len))
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_JSON,
                   "%s: cannot unmarshal %s into Go value of type %s", name,
                   gp_json_kind (raw, len) == GP_JSON_KIND_ARRAY ? "array"
                   : gp_json_kind (raw, len) == GP_JSON_KIND_STRING ? "string"
                   : gp_json_kind (raw, len) == GP_JSON_KIND_NUMBER ? "number" : "bool",
                   go_type);
      return FALSE;
    }
  if (*field == NULL)
    *field = gstring_table_new (with_values);
  while (gp_json_object_iter_next (&iter, &key, &value, &value_len))
    {
      GpJsonKind kind = gp_json_kind (value, value_len);
      if (with_values)
        {
          GString *s = g_string_new (NULL);
          if (!decode_string_field (&s, value, value_len, name, error))
            {
              gstring_free (s);
              gstring_free (key);
              return FALSE;
            }
          g_hash_table_replace (*field, key, s);
        }
      else
        {
          if (kind != GP_JSON_KIND_OBJECT && kind != GP_JSON_KIND_NULL)
            {
              g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_JSON,
                           "%s: cannot unmarshal %s into Go value of type struct {}", name,
                           kind == GP_JSON_KIND_ARRAY ? "array"
                           : kind == GP_JSON_KIND_STRING ? "string"
                           : kind == GP_JSON_KIND_NUMBER ? "number" : "bool");
              gstring_free (key);
              return FALSE;
            }
          g_hash_table_replace (*field, key, NULL);
        }
    }
  return TRUE;
}

static gboolean
struct_type_error (GError **error, const char *raw, gsize len, const char *go_type)
{
  GpJsonKind kind = gp_json_kind (raw, len);

  g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_JSON,
               "cannot unmarshal %s into Go value of type %s",
               kind == GP_JSON_KIND_ARRAY ? "array"
               : kind == GP_JSON_KIND_STRING ? "string"
               : kind == GP_JSON_KIND_NUMBER ? "number" : "bool", go_type);
  return FALSE;
}

/* ------------------------------------------------------------------ */
/* Container config                                                    */
/* ------------------------------------------------------------------ */

enum {
  CF_HOSTNAME, CF_DOMAINNAME, CF_USER, CF_ATTACH_STDIN, CF_ATTACH_STDOUT, CF_ATTACH_STDERR,
  CF_EXPOSED_PORTS, CF_PUBLISH_SERVICE, CF_TTY, CF_OPEN_STDIN, CF_STDIN_ONCE, CF_ENV, CF_CMD,
  CF_ARGS_ESCAPED, CF_IMAGE, CF_VOLUMES, CF_WORKING_DIR, CF_ENTRYPOINT, CF_NETWORK_DISABLED,
  CF_MAC_ADDRESS, CF_ON_BUILD, CF_LABELS, CF_STOP_SIGNAL, CF_N
};

static const char *const config_fields[CF_N] = {
  "Hostname", "Domainname", "User", "AttachStdin", "AttachStdout", "AttachStderr",
  "ExposedPorts", "PublishService", "Tty", "OpenStdin", "StdinOnce", "Env", "Cmd",
  "ArgsEscaped", "Image", "Volumes", "WorkingDir", "Entrypoint", "NetworkDisabled",
  "MacAddress", "OnBuild", "Labels", "StopSignal",
};

/**
 * gp_container_config_new:
 *
 * Returns: (transfer full): a zero Config.  Free with
 *   gp_container_config_free().
 */
GpContainerConfig *
gp_container_config_new (void)
{
  return g_new0 (GpContainerConfig, 1);
}

/**
 * gp_container_config_clear:
 * @config: a Config
 *
 * Frees the members of @config and zeroes it (for embedded values).
 */
void
gp_container_config_clear (GpContainerConfig *config)
{
  gstring_free (config->hostname);
  gstring_free (config->domainname);
  gstring_free (config->user);
  g_clear_pointer (&config->exposed_ports, g_hash_table_unref);
  gstring_free (config->publish_service);
  g_clear_pointer (&config->env, g_ptr_array_unref);
  g_clear_pointer (&config->cmd, g_ptr_array_unref);
  gstring_free (config->image);
  g_clear_pointer (&config->volumes, g_hash_table_unref);
  gstring_free (config->working_dir);
  g_clear_pointer (&config->entrypoint, g_ptr_array_unref);
  gstring_free (config->mac_address);
  g_clear_pointer (&config->on_build, g_ptr_array_unref);
  g_clear_pointer (&config->labels, g_hash_table_unref);
  gstring_free (config->stop_signal);
  memset (config, 0, sizeof *config);
}

/**
 * gp_container_config_free:
 * @config: (nullable): a Config
 *
 * Frees @config.
 */
void
gp_container_config_free (GpContainerConfig *config)
{
  if (config == NULL)
    return;
  gp_container_config_clear (config);
  g_free (config);
}

/* Decodes a validated object (or null) into the existing struct. */
static gboolean
config_decode_valid (GpContainerConfig *c, const char *raw, gsize len, GError **error)
{
  GpJsonIter iter;
  const char *v;
  gsize vlen;

  if (gp_json_is_null (raw, len))
    return TRUE;
  if (!gp_json_object_iter_init (&iter, raw, len))
    return struct_type_error (error, raw, len, "container.Config");

  for (;;)
    {
      g_autoptr(GString) key = NULL;
      if (!gp_json_object_iter_next (&iter, &key, &v, &vlen))
        break;
      gint f = gp_json_match_field (config_fields, CF_N, key->str, key->len);
      const char *name = f >= 0 ? config_fields[f] : NULL;
      gboolean ok = TRUE;
      switch (f)
        {
        case CF_HOSTNAME:
          ok = decode_string_field (&c->hostname, v, vlen, name, error);
          break;
        case CF_DOMAINNAME:
          ok = decode_string_field (&c->domainname, v, vlen, name, error);
          break;
        case CF_USER:
          ok = decode_string_field (&c->user, v, vlen, name, error);
          break;
        case CF_ATTACH_STDIN:
          ok = decode_bool_field (&c->attach_stdin, v, vlen, name, error);
          break;
        case CF_ATTACH_STDOUT:
          ok = decode_bool_field (&c->attach_stdout, v, vlen, name, error);
          break;
        case CF_ATTACH_STDERR:
          ok = decode_bool_field (&c->attach_stderr, v, vlen, name, error);
          break;
        case CF_EXPOSED_PORTS:
          ok = decode_table (&c->exposed_ports, FALSE, v, vlen, name, error);
          break;
        case CF_PUBLISH_SERVICE:
          ok = decode_string_field (&c->publish_service, v, vlen, name, error);
          break;
        case CF_TTY:
          ok = decode_bool_field (&c->tty, v, vlen, name, error);
          break;
        case CF_OPEN_STDIN:
          ok = decode_bool_field (&c->open_stdin, v, vlen, name, error);
          break;
        case CF_STDIN_ONCE:
          ok = decode_bool_field (&c->stdin_once, v, vlen, name, error);
          break;
        case CF_ENV:
          ok = decode_string_slice (&c->env, v, vlen, name, error);
          break;
        case CF_CMD:
          ok = decode_strslice (&c->cmd, v, vlen, name, error);
          break;
        case CF_ARGS_ESCAPED:
          ok = decode_bool_field (&c->args_escaped, v, vlen, name, error);
          break;
        case CF_IMAGE:
          ok = decode_string_field (&c->image, v, vlen, name, error);
          break;
        case CF_VOLUMES:
          ok = decode_table (&c->volumes, FALSE, v, vlen, name, error);
          break;
        case CF_WORKING_DIR:
          ok = decode_string_field (&c->working_dir, v, vlen, name, error);
          break;
        case CF_ENTRYPOINT:
          ok = decode_strslice (&c->entrypoint, v, vlen, name, error);
          break;
        case CF_NETWORK_DISABLED:
          ok = decode_bool_field (&c->network_disabled, v, vlen, name, error);
          break;
        case CF_MAC_ADDRESS:
          ok = decode_string_field (&c->mac_address, v, vlen, name, error);
          break;
        case CF_ON_BUILD:
          ok = decode_string_slice (&c->on_build, v, vlen, name, error);
          break;
        case CF_LABELS:
          ok = decode_table (&c->labels, TRUE, v, vlen, name, error);
          break;
        case CF_STOP_SIGNAL:
          ok = decode_string_field (&c->stop_signal, v, vlen, name, error);
          break;
        default:
          break; /* unknown keys are ignored */
        }
      if (!ok)
        return FALSE;
    }
  return TRUE;
}

/**
 * gp_container_config_decode:
 * @config: the Config to decode into (existing members are kept or
 *   merged as Go does)
 * @raw: a JSON document
 * @len: its length
 * @error: return location for a #GError
 *
 * json.Unmarshal into a container.Config (FORMATS.md §6.8, §6.9).
 *
 * Returns: %TRUE on success; %FALSE with %GP_DATA_ERROR_JSON (then
 *   @config may be partly decoded).
 */
gboolean
gp_container_config_decode (GpContainerConfig *config, const char *raw, gsize len,
                            GError **error)
{
  if (!gp_json_validate (raw, len, error))
    return FALSE;
  return config_decode_valid (config, raw, len, error);
}

/**
 * gp_container_config_append_json:
 * @out: where to append
 * @config: a Config
 *
 * Marshals @config with Go's struct rules: engine-api field order,
 * omitempty on ExposedPorts, PublishService, ArgsEscaped, NetworkDisabled,
 * MacAddress and StopSignal; nil slices and maps as `null`; set members
 * as `{}`; map keys sorted.
 */
void
gp_container_config_append_json (GString *out, const GpContainerConfig *c)
{
  gboolean first = TRUE;

  g_string_append_c (out, '{');
  member_string (out, &first, "Hostname", c->hostname, FALSE);
  member_string (out, &first, "Domainname", c->domainname, FALSE);
  member_string (out, &first, "User", c->user, FALSE);
  member_bool (out, &first, "AttachStdin", c->attach_stdin, FALSE);
  member_bool (out, &first, "AttachStdout", c->attach_stdout, FALSE);
  member_bool (out, &first, "AttachStderr", c->attach_stderr, FALSE);
  if (c->exposed_ports != NULL && g_hash_table_size (c->exposed_ports) > 0)
    {
      member (out, &first, "ExposedPorts");
      append_gstring_table (out, c->exposed_ports, FALSE);
    }
  member_string (out, &first, "PublishService", c->publish_service, TRUE);
  member_bool (out, &first, "Tty", c->tty, FALSE);
  member_bool (out, &first, "OpenStdin", c->open_stdin, FALSE);
  member_bool (out, &first, "StdinOnce", c->stdin_once, FALSE);
  member (out, &first, "Env");
  append_gstring_array (out, c->env);
  member (out, &first, "Cmd");
  append_gstring_array (out, c->cmd);
  member_bool (out, &first, "ArgsEscaped", c->args_escaped, TRUE);
  member_string (out, &first, "Image", c->image, FALSE);
  member (out, &first, "Volumes");
  append_gstring_table (out, c->volumes, FALSE);
  member_string (out, &first, "WorkingDir", c->working_dir, FALSE);
  member (out, &first, "Entrypoint");
  append_gstring_array (out, c->entrypoint);
  member_bool (out, &first, "NetworkDisabled", c->network_disabled, TRUE);
  member_string (out, &first, "MacAddress", c->mac_address, TRUE);
  member (out, &first, "OnBuild");
  append_gstring_array (out, c->on_build);
  member (out, &first, "Labels");
  append_gstring_table (out, c->labels, TRUE);
  member_string (out, &first, "StopSignal", c->stop_signal, TRUE);
  g_string_append_c (out, '}');
}

/* ------------------------------------------------------------------ */
/* History                                                             */
/* ------------------------------------------------------------------ */

/**
 * gp_history_new:
 *
 * Returns: (transfer full): a zero History.  Free with gp_history_free().
 */
GpHistory *
gp_history_new (void)
{
  return g_new0 (GpHistory, 1);
}

/**
 * gp_history_free:
 * @history: (nullable): a History
 *
 * Frees @history.
 */
void
gp_history_free (GpHistory *history)
{
  if (history == NULL)
    return;
  gstring_free (history->author);
  gstring_free (history->created_by);
  gstring_free (history->comment);
  g_free (history);
}

static const char *const history_fields[] = {
  "created", "author", "created_by", "comment", "empty_layer",
};

static gboolean
history_decode_valid (GpHistory *h, const char *raw, gsize len, GError **error)
{
  GpJsonIter iter;
  const char *v;
  gsize vlen;

  if (gp_json_is_null (raw, len))
    return TRUE;
  if (!gp_json_object_iter_init (&iter, raw, len))
    return struct_type_error (error, raw, len, "image.History");
  for (;;)
    {
      g_autoptr(GString) key = NULL;
      if (!gp_json_object_iter_next (&iter, &key, &v, &vlen))
        break;
      gint f = gp_json_match_field (history_fields, G_N_ELEMENTS (history_fields),
                                    key->str, key->len);
      gboolean ok = TRUE;
      switch (f)
        {
        case 0:
          ok = decode_time_field (&h->created, v, vlen, "created", error);
          break;
        case 1:
          ok = decode_string_field (&h->author, v, vlen, "author", error);
          break;
        case 2:
          ok = decode_string_field (&h->created_by, v, vlen, "created_by", error);
          break;
        case 3:
          ok = decode_string_field (&h->comment, v, vlen, "comment", error);
          break;
        case 4:
          ok = decode_bool_field (&h->empty_layer, v, vlen, "empty_layer", error);
          break;
        default:
          break;
        }
      if (!ok)
        return FALSE;
    }
  return TRUE;
}

/**
 * gp_history_append_json:
 * @out: where to append
 * @history: a History
 * @error: return location for a #GError
 *
 * Marshals @history: `created` always, then `author`, `created_by`,
 * `comment`, `empty_layer` when not empty.
 *
 * Returns: %FALSE (with %GP_DATA_ERROR_INVALID) if the time cannot be
 *   marshalled; @out may then hold a partial member.
 */
gboolean
gp_history_append_json (GString *out, const GpHistory *h, GError **error)
{
  gboolean first = TRUE;

  g_string_append_c (out, '{');
  member (out, &first, "created");
  if (!gp_go_time_append_json (out, &h->created, error))
    return FALSE;
  member_string (out, &first, "author", h->author, TRUE);
  member_string (out, &first, "created_by", h->created_by, TRUE);
  member_string (out, &first, "comment", h->comment, TRUE);
  member_bool (out, &first, "empty_layer", h->empty_layer, TRUE);
  g_string_append_c (out, '}');
  return TRUE;
}

/**
 * gp_history_array_append_json:
 * @out: where to append
 * @history: (nullable) (element-type GpHistory): the entries
 * @error: return location for a #GError
 *
 * Marshals a Go []History: `null` for %NULL, `[]` when empty.
 *
 * Returns: %FALSE if an entry cannot be marshalled (@out unchanged).
 */
gboolean
gp_history_array_append_json (GString *out, GPtrArray *history, GError **error)
{
  if (history == NULL)
    {
      g_string_append (out, "null");
      return TRUE;
    }
  gsize mark = out->len;
  g_string_append_c (out, '[');
  for (guint i = 0; i < history->len; i++)
    {
      if (i > 0)
        g_string_append_c (out, ',');
      if (!gp_history_append_json (out, history->pdata[i], error))
        {
          g_string_truncate (out, mark);
          return FALSE;
        }
    }
  g_string_append_c (out, ']');
  return TRUE;
}

/**
 * gp_rootfs_append_json:
 * @out: where to append
 * @type: the RootFS type (`layers`)
 * @diff_ids: (nullable) (array zero-terminated=1): the diff IDs
 *
 * Marshals a RootFS: `{"type":…,"diff_ids":[…]}`, `diff_ids` omitted when
 * %NULL or empty.
 */
void
gp_rootfs_append_json (GString *out, const char *type, const char *const *diff_ids)
{
  g_string_append (out, "{\"type\":");
  gp_json_append_string (out, type, strlen (type));
  if (diff_ids != NULL && diff_ids[0] != NULL)
    {
      g_string_append (out, ",\"diff_ids\":");
      gp_json_append_strv (out, diff_ids);
    }
  g_string_append_c (out, '}');
}

/* ------------------------------------------------------------------ */
/* V1Image and Image                                                   */
/* ------------------------------------------------------------------ */

enum {
  VF_ID, VF_COMMENT, VF_CREATED, VF_CONTAINER, VF_CONTAINER_CONFIG, VF_DOCKER_VERSION,
  VF_AUTHOR, VF_CONFIG, VF_ARCHITECTURE, VF_OS, VF_SIZE, VF_PARENT, VF_ROOTFS, VF_HISTORY,
  VF_N
};

/* V1Image: `parent` is its second field.  Image: V1Image's fields with
 * `parent` shadowed by Image.Parent, then rootfs and history. */
static const char *const v1image_fields[] = {
  "id", "parent", "comment", "created", "container", "container_config", "docker_version",
  "author", "config", "architecture", "os", "Size",
};
static const int v1image_map[] = {
  VF_ID, VF_PARENT, VF_COMMENT, VF_CREATED, VF_CONTAINER, VF_CONTAINER_CONFIG,
  VF_DOCKER_VERSION, VF_AUTHOR, VF_CONFIG, VF_ARCHITECTURE, VF_OS, VF_SIZE,
};
static const char *const image_fields[] = {
  "id", "comment", "created", "container", "container_config", "docker_version", "author",
  "config", "architecture", "os", "Size", "parent", "rootfs", "history",
};

typedef struct {
  GpImageConfig *cfg;
  gboolean has_rootfs;
} ImageDecode;

static const char *const rootfs_fields[] = { "type", "diff_ids" };

static gboolean
rootfs_decode_valid (ImageDecode *d, const char *raw, gsize len, GError **error)
{
  GpJsonIter iter;
  const char *v;
  gsize vlen;

  if (gp_json_is_null (raw, len))
    {
      d->has_rootfs = FALSE;
      g_clear_pointer (&d->cfg->rootfs_type, gstring_free);
      g_clear_pointer (&d->cfg->diff_ids, g_ptr_array_unref);
      return TRUE;
    }
  if (!gp_json_object_iter_init (&iter, raw, len))
    return struct_type_error (error, raw, len, "image.RootFS");
  d->has_rootfs = TRUE;
  for (;;)
    {
      g_autoptr(GString) key = NULL;
      if (!gp_json_object_iter_next (&iter, &key, &v, &vlen))
        break;
      gint f = gp_json_match_field (rootfs_fields, 2, key->str, key->len);
      if (f == 0 && !decode_string_field (&d->cfg->rootfs_type, v, vlen, "type", error))
        return FALSE;
      if (f == 1 && !decode_string_slice (&d->cfg->diff_ids, v, vlen, "diff_ids", error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
history_slice_decode_valid (GPtrArray **field, const char *raw, gsize len, GError **error)
{
  GpJsonIter iter;
  const char *elem;
  gsize elem_len;
  guint i = 0;

  if (gp_json_is_null (raw, len))
    {
      g_clear_pointer (field, g_ptr_array_unref);
      return TRUE;
    }
  if (!gp_json_array_iter_init (&iter, raw, len))
    return struct_type_error (error, raw, len, "[]image.History");
  if (*field == NULL)
    *field = g_ptr_array_new_with_free_func ((GDestroyNotify) gp_history_free);
  GPtrArray *array = *field;
  while (gp_json_array_iter_next (&iter, &elem, &elem_len))
    {
      if (i >= array->len)
        g_ptr_array_add (array, gp_history_new ());
      if (!history_decode_valid (array->pdata[i], elem, elem_len, error))
        return FALSE;
      i++;
    }
  if (i == 0)
    {
      g_ptr_array_unref (array);
      *field = g_ptr_array_new_with_free_func ((GDestroyNotify) gp_history_free);
    }
  else
    g_ptr_array_set_size (array, i);
  return TRUE;
}

/* Decodes a validated document into a V1Image (d == NULL) or an Image. */
static gboolean
v1image_decode_valid (GpV1Image *img, ImageDecode *d, const char *raw, gsize len,
                      GError **error)
{
  GpJsonIter iter;
  const char *v;
  gsize vlen;

  if (gp_json_is_null (raw, len))
    return TRUE;
  if (!gp_json_object_iter_init (&iter, raw, len))
    return struct_type_error (error, raw, len, d ? "image.Image" : "image.V1Image");

  for (;;)
    {
      g_autoptr(GString) key = NULL;
      if (!gp_json_object_iter_next (&iter, &key, &v, &vlen))
        break;
      gint f;
      if (d != NULL)
        f = gp_json_match_field (image_fields, G_N_ELEMENTS (image_fields), key->str, key->len);
      else
        {
          f = gp_json_match_field (v1image_fields, G_N_ELEMENTS (v1image_fields), key->str,
                                   key->len);
          f = f >= 0 ? v1image_map[f] : -1;
        }
      gboolean ok = TRUE;
      switch (f)
        {
        case VF_ID:
          ok = decode_string_field (&img->id, v, vlen, "id", error);
          break;
        case VF_PARENT:
          ok = decode_string_field (d ? &d->cfg->parent : &img->parent, v, vlen, "parent",
                                    error);
          break;
        case VF_COMMENT:
          ok = decode_string_field (&img->comment, v, vlen, "comment", error);
          break;
        case VF_CREATED:
          ok = decode_time_field (&img->created, v, vlen, "created", error);
          break;
        case VF_CONTAINER:
          ok = decode_string_field (&img->container, v, vlen, "container", error);
          break;
        case VF_CONTAINER_CONFIG:
          ok = config_decode_valid (&img->container_config, v, vlen, error)
               || field_error (error, "container_config");
          break;
        case VF_DOCKER_VERSION:
          ok = decode_string_field (&img->docker_version, v, vlen, "docker_version", error);
          break;
        case VF_AUTHOR:
          ok = decode_string_field (&img->author, v, vlen, "author", error);
          break;
        case VF_CONFIG:
          if (gp_json_is_null (v, vlen))
            g_clear_pointer (&img->config, gp_container_config_free);
          else if (gp_json_kind (v, vlen) != GP_JSON_KIND_OBJECT)
            ok = struct_type_error (error, v, vlen, "container.Config")
                 || field_error (error, "config");
          else
            {
              if (img->config == NULL)
                img->config = gp_container_config_new ();
              ok = config_decode_valid (img->config, v, vlen, error)
                   || field_error (error, "config");
            }
          break;
        case VF_ARCHITECTURE:
          ok = decode_string_field (&img->architecture, v, vlen, "architecture", error);
          break;
        case VF_OS:
          ok = decode_string_field (&img->os, v, vlen, "os", error);
          break;
        case VF_SIZE:
          if (!gp_json_is_null (v, vlen))
            ok = gp_json_decode_int64 (v, vlen, &img->size, error) || field_error (error, "Size");
          break;
        case VF_ROOTFS:
          ok = rootfs_decode_valid (d, v, vlen, error) || field_error (error, "rootfs");
          break;
        case VF_HISTORY:
          ok = history_slice_decode_valid (&d->cfg->history, v, vlen, error)
               || field_error (error, "history");
          break;
        default:
          break;
        }
      if (!ok)
        return FALSE;
    }
  return TRUE;
}

/**
 * gp_v1image_new:
 *
 * Returns: (transfer full): a zero V1Image.  Free with gp_v1image_free().
 */
GpV1Image *
gp_v1image_new (void)
{
  return g_new0 (GpV1Image, 1);
}

/**
 * gp_v1image_clear:
 * @img: a V1Image
 *
 * Frees the members of @img and zeroes it (for embedded values).
 */
void
gp_v1image_clear (GpV1Image *img)
{
  gstring_free (img->id);
  gstring_free (img->parent);
  gstring_free (img->comment);
  gstring_free (img->container);
  gp_container_config_clear (&img->container_config);
  gstring_free (img->docker_version);
  gstring_free (img->author);
  gp_container_config_free (img->config);
  gstring_free (img->architecture);
  gstring_free (img->os);
  memset (img, 0, sizeof *img);
}

/**
 * gp_v1image_free:
 * @img: (nullable): a V1Image
 *
 * Frees @img.
 */
void
gp_v1image_free (GpV1Image *img)
{
  if (img == NULL)
    return;
  gp_v1image_clear (img);
  g_free (img);
}

/**
 * gp_v1image_decode:
 * @img: the V1Image to decode into
 * @data: a JSON document
 * @len: its length
 * @error: return location for a #GError
 *
 * json.Unmarshal into an image.V1Image (FORMATS.md §6.8): the whole
 * document must be valid; keys match exactly, else case-insensitively;
 * unknown keys are ignored; duplicates are applied in order; `null`
 * leaves strings, bools and numbers unchanged and clears `config` and the
 * slices and maps; `null` or a bad time in `created` fails; any type
 * mismatch fails.
 *
 * Returns: %TRUE on success; %FALSE with %GP_DATA_ERROR_JSON (@img may be
 *   partly decoded).
 */
gboolean
gp_v1image_decode (GpV1Image *img, const char *data, gsize len, GError **error)
{
  if (!gp_json_validate (data, len, error))
    return FALSE;
  return v1image_decode_valid (img, NULL, data, len, error);
}

/**
 * gp_v1image_parse:
 * @data: a JSON document (e.g. `graph/<id>/json`)
 * @len: its length
 * @error: return location for a #GError
 *
 * Like gp_v1image_decode() into a new zero V1Image.
 *
 * Returns: (transfer full) (nullable): the image, or %NULL on error.
 */
GpV1Image *
gp_v1image_parse (const char *data, gsize len, GError **error)
{
  g_autoptr(GpV1Image) img = gp_v1image_new ();

  if (!gp_v1image_decode (img, data, len, error))
    return NULL;
  return g_steal_pointer (&img);
}

static gboolean
v1image_append_json_full (GString *out, const GpV1Image *img, const GString *id,
                          const GString *parent, GError **error)
{
  gboolean first = TRUE;
  gsize mark = out->len;

  g_string_append_c (out, '{');
  member_string (out, &first, "id", id, TRUE);
  member_string (out, &first, "parent", parent, TRUE);
  member_string (out, &first, "comment", img->comment, TRUE);
  member (out, &first, "created");
  if (!gp_go_time_append_json (out, &img->created, error))
    {
      g_string_truncate (out, mark);
      return FALSE;
    }
  member_string (out, &first, "container", img->container, TRUE);
  member (out, &first, "container_config");
  gp_container_config_append_json (out, &img->container_config);
  member_string (out, &first, "docker_version", img->docker_version, TRUE);
  member_string (out, &first, "author", img->author, TRUE);
  if (img->config != NULL)
    {
      member (out, &first, "config");
      gp_container_config_append_json (out, img->config);
    }
  member_string (out, &first, "architecture", img->architecture, TRUE);
  member_string (out, &first, "os", img->os, TRUE);
  if (img->size != 0)
    {
      member (out, &first, "Size");
      gp_json_append_int64 (out, img->size);
    }
  g_string_append_c (out, '}');
  return TRUE;
}

/**
 * gp_v1image_append_json:
 * @out: where to append
 * @img: a V1Image
 * @error: return location for a #GError
 *
 * Marshals @img with Go's struct rules (FORMATS.md §6.9): `id`, `parent`,
 * `comment`, `created`, `container`, `container_config`,
 * `docker_version`, `author`, `config`, `architecture`, `os`, `Size`;
 * empty omitempty members left out; `created` and `container_config`
 * always written; `config` only when non-%NULL.  No newline.
 *
 * Returns: %FALSE with %GP_DATA_ERROR_INVALID (and @out unchanged) if
 *   `created` is outside years 0000-9999.
 */
gboolean
gp_v1image_append_json (GString *out, const GpV1Image *img, GError **error)
{
  return v1image_append_json_full (out, img, img->id, img->parent, error);
}

/**
 * gp_history_from_v1_json:
 * @data: a legacy v1 image JSON
 * @len: its length
 * @error: return location for a #GError
 *
 * Docker's HistoryFromConfig (FORMATS.md §5.5): decodes @data as a
 * V1Image and takes `created`, `author`, `comment` and
 * `container_config.Cmd` joined with spaces; `empty_layer` is false.
 *
 * Returns: (transfer full) (nullable): the entry, or %NULL with the
 *   decoding error.
 */
GpHistory *
gp_history_from_v1_json (const char *data, gsize len, GError **error)
{
  g_autoptr(GpV1Image) img = gp_v1image_parse (data, len, error);

  if (img == NULL)
    return NULL;
  GpHistory *h = gp_history_new ();
  h->created = img->created;
  h->author = gstring_copy (img->author);
  h->comment = gstring_copy (img->comment);
  GPtrArray *cmd = img->container_config.cmd;
  if (cmd != NULL && cmd->len > 0)
    {
      h->created_by = g_string_new (NULL);
      for (guint i = 0; i < cmd->len; i++)
        {
          const GString *part = cmd->pdata[i];
          if (i > 0)
            g_string_append_c (h->created_by, ' ');
          if (part != NULL)
            g_string_append_len (h->created_by, part->str, part->len);
        }
    }
  return h;
}

/* ------------------------------------------------------------------ */
/* Docker functions                                                    */
/* ------------------------------------------------------------------ */

/* Go's strconv.Atoi as Docker uses it (errors ignored): syntax errors give
 * 0, out-of-range values saturate, a leading `+` or `-` is allowed. */
static gint64
go_atoi_lenient (const char *s, gsize n)
{
  gboolean neg = FALSE;

  if (n == 0)
    return 0;
  if (s[0] == '+' || s[0] == '-')
    {
      neg = s[0] == '-';
      s++;
      n--;
    }
  if (n == 0)
    return 0;

  const guint64 cutoff = G_MAXUINT64 / 10 + 1;
  guint64 un = 0;
  gboolean range = FALSE;
  for (gsize i = 0; i < n; i++)
    {
      guchar c = s[i];
      guint v;
      if (c >= '0' && c <= '9')
        v = c - '0';
      else
        return 0; /* letters are >= base 10, others invalid: syntax error */
      if (un >= cutoff)
        {
          range = TRUE;
          break;
        }
      un *= 10;
      guint64 un1 = un + v;
      if (un1 < un)
        {
          range = TRUE;
          break;
        }
      un = un1;
    }
  if (range)
    un = G_MAXUINT64;
  const guint64 limit = (guint64) 1 << 63;
  if (!neg && un >= limit)
    return G_MAXINT64;
  if (neg && un > limit)
    return G_MININT64;
  return neg ? (gint64) (0 - un) : (gint64) un;
}

static gint
version_compare_len (const char *a, gsize alen, const char *b, gsize blen)
{
  gsize ai = 0, bi = 0;
  gboolean a_done = FALSE, b_done = FALSE;

  /* strings.Split always yields at least one (possibly empty) part. */
  while (!a_done || !b_done)
    {
      gint64 av = 0, bv = 0;
      if (!a_done)
        {
          const char *dot = memchr (a + ai, '.', alen - ai);
          gsize end = dot ? (gsize) (dot - a) : alen;
          av = go_atoi_lenient (a + ai, end - ai);
          if (dot)
            ai = end + 1;
          else
            a_done = TRUE;
        }
      if (!b_done)
        {
          const char *dot = memchr (b + bi, '.', blen - bi);
          gsize end = dot ? (gsize) (dot - b) : blen;
          bv = go_atoi_lenient (b + bi, end - bi);
          if (dot)
            bi = end + 1;
          else
            b_done = TRUE;
        }
      if (av > bv)
        return 1;
      if (bv > av)
        return -1;
    }
  return 0;
}

/**
 * gp_docker_version_compare:
 * @a: a version string
 * @b: another
 *
 * Docker's version comparison (pkg/version, FORMATS.md §5.6): both are
 * split on `.` and compared component-wise as integers converted with Go's
 * strconv.Atoi, failures counting as 0, out-of-range values saturating,
 * missing components as 0.
 *
 * Returns: -1, 0 or 1 as @a is less than, equal to or greater than @b.
 */
gint
gp_docker_version_compare (const char *a, const char *b)
{
  return version_compare_len (a, strlen (a), b, strlen (b));
}

static const char *const docker_version_field[] = { "docker_version" };

/* json.Unmarshal into struct { DockerVersion string `json:"docker_version"` }. */
static gboolean
decode_docker_version (const char *data, gsize len, GString **out, GError **error)
{
  GpJsonIter iter;
  const char *v;
  gsize vlen;
  g_autoptr(GString) version = g_string_new (NULL);

  if (!gp_json_validate (data, len, error))
    return FALSE;
  if (!gp_json_is_null (data, len))
    {
      if (!gp_json_object_iter_init (&iter, data, len))
        return struct_type_error (error, data, len, "struct { DockerVersion string }");
      for (;;)
        {
          g_autoptr(GString) key = NULL;
          if (!gp_json_object_iter_next (&iter, &key, &v, &vlen))
            break;
          if (gp_json_match_field (docker_version_field, 1, key->str, key->len) == 0
              && !decode_string_field (&version, v, vlen, "docker_version", error))
            return FALSE;
        }
    }
  *out = g_steal_pointer (&version);
  return TRUE;
}

/**
 * gp_make_config_from_v1:
 * @v1_json: the legacy image JSON (`graph/<id>/json`)
 * @len: its length
 * @diff_ids: (array zero-terminated=1): all diff IDs of the image, bottom
 *   first (the parent's, then this layer's)
 * @history: (element-type GpHistory): all history entries (the parent's,
 *   then this image's)
 * @error: return location for a #GError
 *
 * Docker's MakeConfigFromV1Config (FORMATS.md §5.6).  If `docker_version`
 * is below 1.8.3 the JSON is first decoded into a V1Image and re-marshalled.
 * Then it is handled as an object of raw values: `id`, `parent`, `Size`,
 * `parent_id`, `layer_id`, `throwaway` removed, `rootfs` and `history`
 * set, keys sorted, values compacted.  If the history cannot be
 * marshalled (a time outside years 0000-9999) it is written as `null`, as
 * Docker does.
 *
 * Returns: (transfer full) (nullable): the config bytes (no newline; the
 *   image ID is their sha256), or %NULL with a %GP_DATA_ERROR_JSON or
 *   %GP_DATA_ERROR_INVALID error.
 */
GBytes *
gp_make_config_from_v1 (const char *v1_json, gsize len, const char *const *diff_ids,
                        GPtrArray *history, GError **error)
{
  g_autoptr(GString) version = NULL;
  g_autoptr(GString) reencoded = NULL;
  const char *src = v1_json;
  gsize src_len = len;

  if (!decode_docker_version (v1_json, len, &version, error))
    return NULL;
  if (version_compare_len (version->str, version->len, "1.8.3", 5) < 0)
    {
      g_autoptr(GpV1Image) img = gp_v1image_parse (v1_json, len, error);
      if (img == NULL)
        return NULL;
      reencoded = g_string_new (NULL);
      if (!gp_v1image_append_json (reencoded, img, error))
        return NULL;
      src = reencoded->str;
      src_len = reencoded->len;
    }

  g_autoptr(GpJsonRawObject) obj = gp_json_raw_object_parse (src, src_len, error);
  if (obj == NULL)
    return NULL;
  static const char *const removed[] = {
    "id", "parent", "Size", "parent_id", "layer_id", "throwaway",
  };
  for (guint i = 0; i < G_N_ELEMENTS (removed); i++)
    gp_json_raw_object_remove (obj, removed[i]);

  g_autoptr(GString) value = g_string_new (NULL);
  gp_rootfs_append_json (value, "layers", diff_ids);
  gp_json_raw_object_set (obj, "rootfs", value->str, value->len);
  g_string_truncate (value, 0);
  if (!gp_history_array_append_json (value, history, NULL))
    g_string_assign (value, "null");
  gp_json_raw_object_set (obj, "history", value->str, value->len);

  GString *out = g_string_new (NULL);
  gp_json_raw_object_append (out, obj);
  return g_string_free_to_bytes (out);
}

/**
 * gp_image_config_free:
 * @config: (nullable): an image config
 *
 * Frees @config.
 */
void
gp_image_config_free (GpImageConfig *config)
{
  if (config == NULL)
    return;
  gp_v1image_clear (&config->v1);
  gstring_free (config->parent);
  gstring_free (config->rootfs_type);
  g_clear_pointer (&config->diff_ids, g_ptr_array_unref);
  g_clear_pointer (&config->history, g_ptr_array_unref);
  g_clear_pointer (&config->raw, g_bytes_unref);
  g_free (config);
}

/**
 * gp_image_config_parse:
 * @data: an image config (imagedb `content/sha256/<hex>`)
 * @len: its length
 * @error: return location for a #GError
 *
 * Docker's image.NewFromJSON: decodes @data into the Image struct with
 * Go's rules and keeps the exact bytes.  A missing or `null` `rootfs` is
 * an error (%GP_DATA_ERROR_INVALID), as are invalid JSON and type
 * mismatches (%GP_DATA_ERROR_JSON).
 *
 * Returns: (transfer full) (nullable): the config; free with
 *   gp_image_config_free().
 */
GpImageConfig *
gp_image_config_parse (const char *data, gsize len, GError **error)
{
  g_autoptr(GpImageConfig) cfg = g_new0 (GpImageConfig, 1);
  ImageDecode d = { cfg, FALSE };

  if (!gp_json_validate (data, len, error))
    return NULL;
  if (!v1image_decode_valid (&cfg->v1, &d, data, len, error))
    return NULL;
  if (!d.has_rootfs)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_INVALID,
                   "invalid image JSON, no RootFS key");
      return NULL;
    }
  cfg->raw = g_bytes_new (data, len);
  return g_steal_pointer (&cfg);
}

/**
 * gp_v1image_create_id_json:
 * @img: (nullable): the V1Image of the layer (%NULL: the zero V1Image)
 * @chain_id: the layer's chain ID (digest string)
 * @parent: (nullable): the previous layer's full v1 digest
 *   (`sha256:<hex>`), %NULL or empty for the bottom layer
 * @error: return location for a #GError
 *
 * The bytes Docker's v1.CreateID hashes (FORMATS.md §5.7): @img with an
 * empty `id` marshalled with the struct rules, then as raw object with
 * `layer_id` and `parent` set, keys sorted.
 *
 * Returns: (transfer full) (nullable): the bytes, or %NULL if @img cannot
 *   be marshalled.
 */
GString *
gp_v1image_create_id_json (const GpV1Image *img, const char *chain_id, const char *parent,
                           GError **error)
{
  GpV1Image zero = { 0 };
  g_autoptr(GString) v1 = g_string_new (NULL);

  if (img == NULL)
    img = &zero;
  if (!v1image_append_json_full (v1, img, NULL, img->parent, error))
    return NULL;
  g_autoptr(GpJsonRawObject) obj = gp_json_raw_object_parse (v1->str, v1->len, error);
  if (obj == NULL)
    return NULL;
  gp_json_raw_object_set_string (obj, "layer_id", chain_id);
  if (parent != NULL && parent[0] != '\0')
    gp_json_raw_object_set_string (obj, "parent", parent);
  GString *out = g_string_new (NULL);
  gp_json_raw_object_append (out, obj);
  return out;
}

/**
 * gp_v1image_create_id:
 * @img: (nullable): as for gp_v1image_create_id_json()
 * @chain_id: the layer's chain ID
 * @parent: (nullable): the previous layer's full v1 digest
 * @error: return location for a #GError
 *
 * Docker's v1.CreateID: the sha256 of gp_v1image_create_id_json().
 *
 * Returns: (transfer full) (nullable): the v1 digest `sha256:<hex>` (the
 *   v1 ID is the part after the colon; pass the whole string as @parent of
 *   the next layer).  Free with g_free().
 */
char *
gp_v1image_create_id (const GpV1Image *img, const char *chain_id, const char *parent,
                      GError **error)
{
  g_autoptr(GString) json = gp_v1image_create_id_json (img, chain_id, parent, error);

  if (json == NULL)
    return NULL;
  g_autofree char *hex = g_compute_checksum_for_data (G_CHECKSUM_SHA256,
                                                      (const guchar *) json->str, json->len);
  return g_strconcat ("sha256:", hex, NULL);
}

/**
 * gp_v1image_layer_json:
 * @img: (nullable): the image's V1Image for the top layer, %NULL (zero
 *   V1Image) for lower layers
 * @v1_id: this layer's v1 ID (hex)
 * @parent_v1_id: (nullable): the previous layer's v1 ID (hex), %NULL or
 *   empty for the bottom layer
 * @error: return location for a #GError
 *
 * The `<v1id>/json` file of a `docker save` layer directory (FORMATS.md
 * §7.2, §7.3): @img with `id` = @v1_id and, when given, `parent` =
 * @parent_v1_id, marshalled with the struct rules.  No newline.
 *
 * Returns: (transfer full) (nullable): the bytes, or %NULL if `created`
 *   cannot be marshalled.
 */
GBytes *
gp_v1image_layer_json (const GpV1Image *img, const char *v1_id, const char *parent_v1_id,
                       GError **error)
{
  GpV1Image zero = { 0 };
  GString id = { (char *) v1_id, strlen (v1_id), 0 };
  GString parent = { (char *) parent_v1_id, parent_v1_id ? strlen (parent_v1_id) : 0, 0 };
  GString *out = g_string_new (NULL);

  if (img == NULL)
    img = &zero;
  if (!v1image_append_json_full (out, img, &id,
                                 parent.len > 0 ? &parent : img->parent, error))
    {
      g_string_free (out, TRUE);
      return NULL;
    }
  return g_string_free_to_bytes (out);
}

/**
 * gp_container_json_get_image:
 * @obj: a legacy container `config.json` parsed with
 *   gp_json_raw_object_parse()
 * @out_image: (out) (optional) (transfer full): the unescaped string when
 *   the result is %GP_CONTAINER_IMAGE_STRING
 *
 * Looks at the exact key `Image` as Docker's container migration does
 * (FORMATS.md §4.7).
 *
 * Returns: what `Image` holds.
 */
GpContainerImage
gp_container_json_get_image (const GpJsonRawObject *obj, GString **out_image)
{
  gsize len;
  const char *raw = gp_json_raw_object_get (obj, "Image", &len);

  if (raw == NULL)
    return GP_CONTAINER_IMAGE_ABSENT;
  switch (gp_json_kind (raw, len))
    {
    case GP_JSON_KIND_NULL:
      return GP_CONTAINER_IMAGE_NULL;
    case GP_JSON_KIND_STRING:
      if (out_image)
        *out_image = gp_json_unquote (raw, len);
      return GP_CONTAINER_IMAGE_STRING;
    default:
      return GP_CONTAINER_IMAGE_NOT_STRING;
    }
}

/**
 * gp_container_json_set_image:
 * @obj: a legacy container config parsed with gp_json_raw_object_parse()
 * @image_id: the new image ID (`sha256:<hex>`)
 *
 * Sets `Image` to the JSON string @image_id and marshals the object with
 * sorted keys and compacted, HTML-escaped values: the bytes of
 * `config.v2.json` (FORMATS.md §4.7), no newline.
 *
 * Returns: (transfer full): the bytes.
 */
GBytes *
gp_container_json_set_image (GpJsonRawObject *obj, const char *image_id)
{
  GString *out = g_string_new (NULL);

  gp_json_raw_object_set_string (obj, "Image", image_id);
  gp_json_raw_object_append (out, obj);
  return g_string_free_to_bytes (out);
}

static const char *const parent_fields[] = { "parent", "parent_id" };

/**
 * gp_v1_json_parent_fields:
 * @data: a legacy image JSON
 * @len: its length
 * @out_parent: (out) (transfer full): the `parent` string (empty if none)
 * @out_parent_id: (out) (transfer full): the `parent_id` string (empty if
 *   none)
 * @error: return location for a #GError
 *
 * Step 1 of parent resolution (FORMATS.md §1.5): json.Unmarshal into a
 * record of two strings matched by `parent` and `parent_id`
 * (case-insensitive; the last match wins; `null` leaves a value
 * unchanged).  Invalid JSON, trailing garbage, a non-object top level or a
 * non-string value for these keys fail; other keys are not checked.
 *
 * Returns: %TRUE on success; %FALSE with %GP_DATA_ERROR_JSON (outputs
 *   untouched).
 */
gboolean
gp_v1_json_parent_fields (const char *data, gsize len, GString **out_parent,
                          GString **out_parent_id, GError **error)
{
  g_autoptr(GString) parent = g_string_new (NULL);
  g_autoptr(GString) parent_id = g_string_new (NULL);
  GpJsonIter iter;
  const char *v;
  gsize vlen;

  if (!gp_json_validate (data, len, error))
    return FALSE;
  if (!gp_json_is_null (data, len))
    {
      if (!gp_json_object_iter_init (&iter, data, len))
        return struct_type_error (error, data, len, "struct { Parent string; ParentID string }");
      for (;;)
        {
          g_autoptr(GString) key = NULL;
          if (!gp_json_object_iter_next (&iter, &key, &v, &vlen))
            break;
          gint f = gp_json_match_field (parent_fields, 2, key->str, key->len);
          if (f == 0 && !decode_string_field (&parent, v, vlen, "parent", error))
            return FALSE;
          if (f == 1 && !decode_string_field (&parent_id, v, vlen, "parent_id", error))
            return FALSE;
        }
    }
  *out_parent = g_steal_pointer (&parent);
  *out_parent_id = g_steal_pointer (&parent_id);
  return TRUE;
}
