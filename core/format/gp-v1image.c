/* graphpipe - Docker's image structs with Go's JSON rules. */
#include "config.h"

#include "gp-v1image.h"

#include <string.h>

#include "gp-error.h"
#include "gp-json-private.h"
#include "gp-v1image-private.h"

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

/* Go map[string]struct{} / map[string]string: null for nil, sorted keys. */
static void
append_gstring_table (GString *out, GHashTable *table, gboolean with_values)
{
  if (table == NULL)
    {
      g_string_append (out, "null");
      return;
    }
  g_autoptr(GPtrArray) keys = _gp_json_sorted_gstring_keys (table);
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

/* ------------------------------------------------------------------ */
/* Struct descriptions                                                 */
/* ------------------------------------------------------------------ */

static const Field config_fields[] = {
  FIELD (GpContainerConfig, hostname, "Hostname", F_STRING, FALSE),
  FIELD (GpContainerConfig, domainname, "Domainname", F_STRING, FALSE),
  FIELD (GpContainerConfig, user, "User", F_STRING, FALSE),
  FIELD (GpContainerConfig, attach_stdin, "AttachStdin", F_BOOL, FALSE),
  FIELD (GpContainerConfig, attach_stdout, "AttachStdout", F_BOOL, FALSE),
  FIELD (GpContainerConfig, attach_stderr, "AttachStderr", F_BOOL, FALSE),
  FIELD (GpContainerConfig, exposed_ports, "ExposedPorts", F_SET, TRUE),
  FIELD (GpContainerConfig, publish_service, "PublishService", F_STRING, TRUE),
  FIELD (GpContainerConfig, tty, "Tty", F_BOOL, FALSE),
  FIELD (GpContainerConfig, open_stdin, "OpenStdin", F_BOOL, FALSE),
  FIELD (GpContainerConfig, stdin_once, "StdinOnce", F_BOOL, FALSE),
  FIELD (GpContainerConfig, env, "Env", F_STRINGS, FALSE),
  FIELD (GpContainerConfig, cmd, "Cmd", F_STRSLICE, FALSE),
  FIELD (GpContainerConfig, args_escaped, "ArgsEscaped", F_BOOL, TRUE),
  FIELD (GpContainerConfig, image, "Image", F_STRING, FALSE),
  FIELD (GpContainerConfig, volumes, "Volumes", F_SET, FALSE),
  FIELD (GpContainerConfig, working_dir, "WorkingDir", F_STRING, FALSE),
  FIELD (GpContainerConfig, entrypoint, "Entrypoint", F_STRSLICE, FALSE),
  FIELD (GpContainerConfig, network_disabled, "NetworkDisabled", F_BOOL, TRUE),
  FIELD (GpContainerConfig, mac_address, "MacAddress", F_STRING, TRUE),
  FIELD (GpContainerConfig, on_build, "OnBuild", F_STRINGS, FALSE),
  FIELD (GpContainerConfig, labels, "Labels", F_MAP, FALSE),
  FIELD (GpContainerConfig, stop_signal, "StopSignal", F_STRING, TRUE),
};

static const Field history_fields[] = {
  FIELD (GpHistory, created, "created", F_TIME, FALSE),
  FIELD (GpHistory, author, "author", F_STRING, TRUE),
  FIELD (GpHistory, created_by, "created_by", F_STRING, TRUE),
  FIELD (GpHistory, comment, "comment", F_STRING, TRUE),
  FIELD (GpHistory, empty_layer, "empty_layer", F_BOOL, TRUE),
};

static const Field v1image_fields[] = {
  FIELD (GpV1Image, id, "id", F_STRING, TRUE),
  FIELD (GpV1Image, parent, "parent", F_STRING, TRUE),
  FIELD (GpV1Image, comment, "comment", F_STRING, TRUE),
  FIELD (GpV1Image, created, "created", F_TIME, FALSE),
  FIELD (GpV1Image, container, "container", F_STRING, TRUE),
  FIELD (GpV1Image, container_config, "container_config", F_CONFIG, FALSE),
  FIELD (GpV1Image, docker_version, "docker_version", F_STRING, TRUE),
  FIELD (GpV1Image, author, "author", F_STRING, TRUE),
  FIELD (GpV1Image, config, "config", F_CONFIG_PTR, TRUE),
  FIELD (GpV1Image, architecture, "architecture", F_STRING, TRUE),
  FIELD (GpV1Image, os, "os", F_STRING, TRUE),
  FIELD (GpV1Image, size, "Size", F_INT64, TRUE),
};

/* An Image being decoded: Docker's image.Image and whether it had a
 * non-null `rootfs`. */
typedef struct {
  GpImageConfig cfg;
  gboolean has_rootfs;
} ImageDecode;

/* Image: V1Image's fields with `parent` shadowed by Image.Parent, then
 * rootfs and history (decoded only; the config's bytes are kept). */
static const Field image_fields[] = {
  FIELD (ImageDecode, cfg.v1.id, "id", F_STRING, TRUE),
  FIELD (ImageDecode, cfg.v1.comment, "comment", F_STRING, TRUE),
  FIELD (ImageDecode, cfg.v1.created, "created", F_TIME, FALSE),
  FIELD (ImageDecode, cfg.v1.container, "container", F_STRING, TRUE),
  FIELD (ImageDecode, cfg.v1.container_config, "container_config", F_CONFIG, FALSE),
  FIELD (ImageDecode, cfg.v1.docker_version, "docker_version", F_STRING, TRUE),
  FIELD (ImageDecode, cfg.v1.author, "author", F_STRING, TRUE),
  FIELD (ImageDecode, cfg.v1.config, "config", F_CONFIG_PTR, TRUE),
  FIELD (ImageDecode, cfg.v1.architecture, "architecture", F_STRING, TRUE),
  FIELD (ImageDecode, cfg.v1.os, "os", F_STRING, TRUE),
  FIELD (ImageDecode, cfg.v1.size, "Size", F_INT64, TRUE),
  FIELD (ImageDecode, cfg.parent, "parent", F_STRING, TRUE),
  { "rootfs", F_ROOTFS, TRUE, 0 },
  FIELD (ImageDecode, cfg.history, "history", F_HISTORY, TRUE),
};

static const Field rootfs_fields[] = {
  FIELD (ImageDecode, cfg.rootfs_type, "type", F_STRING, FALSE),
  FIELD (ImageDecode, cfg.diff_ids, "diff_ids", F_STRINGS, TRUE),
};

/* ------------------------------------------------------------------ */
/* Member decoders (validated text; errors without the member name)    */
/* ------------------------------------------------------------------ */

static gboolean
decode_string (GString **field, const char *raw, gsize len, DecodeMode mode, GError **error)
{
  GString *s;

  if (gp_json_is_null (raw, len))
    return TRUE;
  if (mode == DECODE_CHECK)
    return gp_json_kind (raw, len) == GP_JSON_KIND_STRING
           || _gp_json_type_error (error, raw, len, "string");
  if (!gp_json_decode_string (raw, len, &s, error))
    return FALSE;
  replace_gstring (field, s);
  return TRUE;
}

static gboolean
decode_bool (gboolean *field, const char *raw, gsize len, GError **error)
{
  return gp_json_is_null (raw, len) || gp_json_decode_bool (raw, len, field, error);
}

static gboolean
decode_int64 (gint64 *field, const char *raw, gsize len, GError **error)
{
  return gp_json_is_null (raw, len) || gp_json_decode_int64 (raw, len, field, error);
}

/* Go's decoding of a JSON array into an existing slice: existing elements
 * are decoded into (so `null` keeps them), the slice is then cut to the
 * new length; an empty array gives a new empty slice.  Elements are
 * strings (@history FALSE) or image.History structs. */
static gboolean
decode_slice (GPtrArray **field, gboolean history, const char *raw, gsize len, DecodeMode mode,
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
    return _gp_json_type_error (error, raw, len, history ? "[]image.History" : "[]string");
  GDestroyNotify free_func = history ? (GDestroyNotify) gp_history_free : gstring_free;
  if (*field == NULL)
    *field = g_ptr_array_new_with_free_func (free_func);
  GPtrArray *array = *field;
  while (gp_json_array_iter_next (&iter, &elem, &elem_len))
    {
      if (i >= array->len)
        g_ptr_array_add (array, history ? (gpointer) gp_history_new ()
                                : mode == DECODE_CHECK ? NULL : g_string_new (NULL));
      gboolean ok = history
        ? _gp_v1image_decode_struct (array->pdata[i], history_fields, G_N_ELEMENTS (history_fields),
                         "image.History", elem, elem_len, mode, error)
        : decode_string ((GString **) &array->pdata[i], elem, elem_len, mode, error);
      if (!ok)
        return FALSE;
      i++;
    }
  if (i == 0)
    {
      g_ptr_array_unref (array);
      *field = g_ptr_array_new_with_free_func (free_func);
    }
  else
    g_ptr_array_set_size (array, i);
  return TRUE;
}

/* strslice.StrSlice (Cmd, Entrypoint): null -> nil; an array of strings
 * (decoded into a fresh slice) or a single string. */
static gboolean
decode_strslice (GPtrArray **field, const char *raw, gsize len, DecodeMode mode, GError **error)
{
  GpJsonKind kind = gp_json_kind (raw, len);

  if (kind == GP_JSON_KIND_NULL)
    {
      g_clear_pointer (field, g_ptr_array_unref);
      return TRUE;
    }
  if (kind == GP_JSON_KIND_STRING)
    {
      GString *s = NULL;
      if (mode == DECODE_FULL && !gp_json_decode_string (raw, len, &s, error))
        return FALSE;
      GPtrArray *array = gstring_array_new ();
      g_ptr_array_add (array, s);
      g_clear_pointer (field, g_ptr_array_unref);
      *field = array;
      return TRUE;
    }
  if (kind != GP_JSON_KIND_ARRAY)
    return _gp_json_type_error (error, raw, len, "string");
  GPtrArray *fresh = NULL;
  if (!decode_slice (&fresh, FALSE, raw, len, mode, error))
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
              DecodeMode mode, GError **error)
{
  GpJsonIter iter;
  GString *key;
  const char *value;
  gsize value_len;

  if (gp_json_is_null (raw, len))
    {
      g_clear_pointer (field, g_hash_table_unref);
      return TRUE;
    }
  if (!gp_json_object_iter_init (&iter, raw, len))
    return _gp_json_type_error (error, raw, len,
                                with_values ? "map[string]string" : "map[string]struct {}");
  if (mode == DECODE_CHECK)
    {
      while (gp_json_object_iter_next (&iter, NULL, &value, &value_len))
        {
          GpJsonKind kind = gp_json_kind (value, value_len);
          gboolean ok = with_values ? decode_string (NULL, value, value_len, mode, error)
                        : kind == GP_JSON_KIND_OBJECT || kind == GP_JSON_KIND_NULL
                        || _gp_json_type_error (error, value, value_len, "struct {}");
          if (!ok)
            return FALSE;
        }
      return TRUE;
    }
  if (*field == NULL)
    *field = gstring_table_new (with_values);
  while (gp_json_object_iter_next (&iter, &key, &value, &value_len))
    {
      GString *s = with_values ? g_string_new (NULL) : NULL;
      GpJsonKind kind = gp_json_kind (value, value_len);
      gboolean ok = with_values ? decode_string (&s, value, value_len, mode, error)
                    : kind == GP_JSON_KIND_OBJECT || kind == GP_JSON_KIND_NULL
                    || _gp_json_type_error (error, value, value_len, "struct {}");
      if (!ok)
        {
          gstring_free (s);
          gstring_free (key);
          return FALSE;
        }
      g_hash_table_replace (*field, key, s);
    }
  return TRUE;
}

static gboolean
decode_config_ptr (GpContainerConfig **field, const char *raw, gsize len, DecodeMode mode,
                   GError **error)
{
  if (gp_json_is_null (raw, len))
    {
      g_clear_pointer (field, gp_container_config_free);
      return TRUE;
    }
  if (gp_json_kind (raw, len) != GP_JSON_KIND_OBJECT)
    return _gp_json_type_error (error, raw, len, "container.Config");
  if (*field == NULL)
    *field = gp_container_config_new ();
  return _gp_v1image_decode_struct (*field, config_fields, G_N_ELEMENTS (config_fields), "container.Config",
                        raw, len, mode, error);
}

static gboolean
decode_rootfs (ImageDecode *d, const char *raw, gsize len, DecodeMode mode, GError **error)
{
  if (gp_json_is_null (raw, len))
    {
      d->has_rootfs = FALSE;
      g_clear_pointer (&d->cfg.rootfs_type, gstring_free);
      g_clear_pointer (&d->cfg.diff_ids, g_ptr_array_unref);
      return TRUE;
    }
  if (gp_json_kind (raw, len) != GP_JSON_KIND_OBJECT)
    return _gp_json_type_error (error, raw, len, "image.RootFS");
  d->has_rootfs = TRUE;
  return _gp_v1image_decode_struct (d, rootfs_fields, G_N_ELEMENTS (rootfs_fields), "image.RootFS", raw, len,
                        mode, error);
}

/* Decodes one member; a failure is prefixed with the member's name. */
static gboolean
decode_field (gpointer base, const Field *field, const char *raw, gsize len, DecodeMode mode,
              GError **error)
{
  gpointer p = G_STRUCT_MEMBER_P (base, field->offset);
  gboolean ok = FALSE;

  switch (field->kind)
    {
    case F_STRING:
      ok = decode_string (p, raw, len, mode, error);
      break;
    case F_BOOL:
      ok = decode_bool (p, raw, len, error);
      break;
    case F_INT64:
      ok = decode_int64 (p, raw, len, error);
      break;
    case F_TIME:
      ok = gp_go_time_parse_json (raw, len, p, error);
      break;
    case F_STRINGS:
      ok = decode_slice (p, FALSE, raw, len, mode, error);
      break;
    case F_STRSLICE:
      ok = decode_strslice (p, raw, len, mode, error);
      break;
    case F_SET:
    case F_MAP:
      ok = decode_table (p, field->kind == F_MAP, raw, len, mode, error);
      break;
    case F_CONFIG:
      ok = _gp_v1image_decode_struct (p, config_fields, G_N_ELEMENTS (config_fields), "container.Config",
                          raw, len, mode, error);
      break;
    case F_CONFIG_PTR:
      ok = decode_config_ptr (p, raw, len, mode, error);
      break;
    case F_HISTORY:
      ok = decode_slice (p, TRUE, raw, len, mode, error);
      break;
    case F_ROOTFS:
      ok = decode_rootfs (p, raw, len, mode, error);
      break;
    }
  if (!ok)
    g_prefix_error (error, "%s: ", field->name);
  return ok;
}

/* json.Unmarshal of a validated value into the struct at @base: null
 * leaves it as it is; keys are matched exactly, else case-insensitively
 * (Go's rules); unknown keys are ignored; duplicates apply in order. */
gboolean
_gp_v1image_decode_struct (gpointer base, const Field *fields, guint n_fields, const char *go_type,
                           const char *raw, gsize len, DecodeMode mode, GError **error)
{
  GpJsonIter iter;
  const char *v;
  gsize vlen;

  if (gp_json_is_null (raw, len))
    return TRUE;
  if (!gp_json_object_iter_init (&iter, raw, len))
    return _gp_json_type_error (error, raw, len, go_type);
  for (;;)
    {
      g_autoptr(GString) key = NULL;
      const char *raw_key, *k;
      gsize raw_key_len, klen;
      if (!_gp_json_object_iter_next_raw (&iter, &raw_key, &raw_key_len, &v, &vlen))
        break;
      /* Most keys are plain: matched in place, not unescaped. */
      if (_gp_json_key_is_plain (raw_key, raw_key_len))
        {
          k = raw_key + 1;
          klen = raw_key_len - 2;
        }
      else
        {
          key = gp_json_unquote (raw_key, raw_key_len);
          k = key->str;
          klen = key->len;
        }
      gint f = _gp_json_match_field_stride (&fields[0].name, sizeof (Field), n_fields, k, klen);
      if (f >= 0 && !decode_field (base, &fields[f], v, vlen, mode, error))
        return FALSE;
    }
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* Marshalling and freeing by description                              */
/* ------------------------------------------------------------------ */

/* Go's omitempty: false, 0, "", and nil or empty slices and maps. */
static gboolean
field_is_empty (const Field *field, gconstpointer p)
{
  switch (field->kind)
    {
    case F_STRING:
      return *(GString *const *) p == NULL || (*(GString *const *) p)->len == 0;
    case F_BOOL:
      return !*(const gboolean *) p;
    case F_INT64:
      return *(const gint64 *) p == 0;
    case F_STRINGS:
    case F_STRSLICE:
    case F_HISTORY:
      return *(GPtrArray *const *) p == NULL || (*(GPtrArray *const *) p)->len == 0;
    case F_SET:
    case F_MAP:
      return *(GHashTable *const *) p == NULL || g_hash_table_size (*(GHashTable *const *) p) == 0;
    case F_CONFIG_PTR:
      return *(GpContainerConfig *const *) p == NULL;
    case F_TIME:
    case F_CONFIG:
    case F_ROOTFS:
    default:
      return FALSE;
    }
}

static gboolean
append_field (GString *out, const Field *field, gconstpointer p, GError **error)
{
  switch (field->kind)
    {
    case F_STRING:
      append_gstring (out, *(GString *const *) p);
      return TRUE;
    case F_BOOL:
      g_string_append (out, *(const gboolean *) p ? "true" : "false");
      return TRUE;
    case F_INT64:
      gp_json_append_int64 (out, *(const gint64 *) p);
      return TRUE;
    case F_TIME:
      return gp_go_time_append_json (out, p, error);
    case F_STRINGS:
    case F_STRSLICE:
      append_gstring_array (out, *(GPtrArray *const *) p);
      return TRUE;
    case F_SET:
    case F_MAP:
      append_gstring_table (out, *(GHashTable *const *) p, field->kind == F_MAP);
      return TRUE;
    case F_CONFIG:
      gp_container_config_append_json (out, p);
      return TRUE;
    case F_CONFIG_PTR:
      if (*(GpContainerConfig *const *) p == NULL)
        g_string_append (out, "null");
      else
        gp_container_config_append_json (out, *(GpContainerConfig *const *) p);
      return TRUE;
    case F_HISTORY:
      return gp_history_array_append_json (out, *(GPtrArray *const *) p, error);
    case F_ROOTFS:
    default:
      g_assert_not_reached ();
    }
}

/* json.Marshal of the struct at @base: members in order, `"name":value`,
 * omitempty ones left out when empty.  Fails (with @out holding a partial
 * object) only when a time cannot be marshalled. */
static gboolean
append_struct (GString *out, gconstpointer base, const Field *fields, guint n_fields,
               GError **error)
{
  gboolean first = TRUE;

  g_string_append_c (out, '{');
  for (guint i = 0; i < n_fields; i++)
    {
      gconstpointer p = G_STRUCT_MEMBER_P (base, fields[i].offset);
      if (fields[i].omitempty && field_is_empty (&fields[i], p))
        continue;
      if (!first)
        g_string_append_c (out, ',');
      first = FALSE;
      g_string_append_c (out, '"');
      g_string_append (out, fields[i].name);
      g_string_append (out, "\":");
      if (!append_field (out, &fields[i], p, error))
        return FALSE;
    }
  g_string_append_c (out, '}');
  return TRUE;
}

/* Frees the members of the struct at @base (it is not zeroed). */
void
_gp_v1image_clear_struct (gpointer base, const Field *fields, guint n_fields)
{
  for (guint i = 0; i < n_fields; i++)
    {
      gpointer p = G_STRUCT_MEMBER_P (base, fields[i].offset);
      switch (fields[i].kind)
        {
        case F_STRING:
          gstring_free (*(GString **) p);
          break;
        case F_STRINGS:
        case F_STRSLICE:
        case F_HISTORY:
          g_clear_pointer ((GPtrArray **) p, g_ptr_array_unref);
          break;
        case F_SET:
        case F_MAP:
          g_clear_pointer ((GHashTable **) p, g_hash_table_unref);
          break;
        case F_CONFIG:
          gp_container_config_clear (p);
          break;
        case F_CONFIG_PTR:
          g_clear_pointer ((GpContainerConfig **) p, gp_container_config_free);
          break;
        case F_BOOL:
        case F_INT64:
        case F_TIME:
        case F_ROOTFS:
        default:
          break;
        }
    }
}

/* ------------------------------------------------------------------ */
/* Container config                                                    */
/* ------------------------------------------------------------------ */

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
  _gp_v1image_clear_struct (config, config_fields, G_N_ELEMENTS (config_fields));
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
  return _gp_v1image_decode_struct (config, config_fields, G_N_ELEMENTS (config_fields), "container.Config",
                        raw, len, DECODE_FULL, error);
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
  /* No time member, so this cannot fail. */
  append_struct (out, c, config_fields, G_N_ELEMENTS (config_fields), NULL);
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
  _gp_v1image_clear_struct (history, history_fields, G_N_ELEMENTS (history_fields));
  g_free (history);
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
  return append_struct (out, h, history_fields, G_N_ELEMENTS (history_fields), error);
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
  _gp_v1image_clear_struct (img, v1image_fields, G_N_ELEMENTS (v1image_fields));
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
  return _gp_v1image_decode_struct (img, v1image_fields, G_N_ELEMENTS (v1image_fields), "image.V1Image",
                        data, len, DECODE_FULL, error);
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

/* Marshals @img with @id and @parent in place of its own; on failure @out
 * is left as it was. */
gboolean
_gp_v1image_append_json_full (GString *out, const GpV1Image *img, const GString *id,
                              const GString *parent, GError **error)
{
  GpV1Image with = *img;
  gsize mark = out->len;

  with.id = (GString *) id;
  with.parent = (GString *) parent;
  if (!append_struct (out, &with, v1image_fields, G_N_ELEMENTS (v1image_fields), error))
    {
      g_string_truncate (out, mark);
      return FALSE;
    }
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
  return _gp_v1image_append_json_full (out, img, img->id, img->parent, error);
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

/**
 * gp_image_config_free:
 * @config: (nullable): an image config
 *
 * Frees @config.
 */
static void
image_config_clear (GpImageConfig *config)
{
  gp_v1image_clear (&config->v1);
  gstring_free (config->parent);
  gstring_free (config->rootfs_type);
  g_clear_pointer (&config->diff_ids, g_ptr_array_unref);
  g_clear_pointer (&config->history, g_ptr_array_unref);
  g_clear_pointer (&config->raw, g_bytes_unref);
}

void
gp_image_config_free (GpImageConfig *config)
{
  if (config == NULL)
    return;
  image_config_clear (config);
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
static gboolean
image_config_decode (ImageDecode *d, const char *data, gsize len, DecodeMode mode, GError **error)
{
  if (!gp_json_validate (data, len, error))
    return FALSE;
  if (!_gp_v1image_decode_struct (d, image_fields, G_N_ELEMENTS (image_fields), "image.Image", data, len,
                      mode, error))
    return FALSE;
  if (!d->has_rootfs)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_INVALID,
                   "invalid image JSON, no RootFS key");
      return FALSE;
    }
  return TRUE;
}

GpImageConfig *
gp_image_config_parse (const char *data, gsize len, GError **error)
{
  ImageDecode d = { { { 0 } }, FALSE };

  if (!image_config_decode (&d, data, len, DECODE_FULL, error))
    {
      image_config_clear (&d.cfg);
      return NULL;
    }
  GpImageConfig *cfg = g_new (GpImageConfig, 1);
  *cfg = d.cfg;
  cfg->raw = g_bytes_new (data, len);
  return cfg;
}

/**
 * gp_image_config_check:
 * @data: an image config
 * @len: its length
 * @out_n_layers: (out) (optional): the number of `rootfs.diff_ids`
 * @out_n_nonempty: (out) (optional): the number of `history` entries
 *   without `empty_layer`
 * @error: return location for a #GError
 *
 * gp_image_config_parse() without keeping the result: the same checks
 * and the same errors, but strings and maps are only checked, not
 * decoded (what creating an image needs to know, at less cost).
 *
 * Returns: %TRUE if gp_image_config_parse() would succeed.
 */
gboolean
gp_image_config_check (const char *data, gsize len, guint *out_n_layers, guint *out_n_nonempty,
                       GError **error)
{
  ImageDecode d = { { { 0 } }, FALSE };
  gboolean ok = image_config_decode (&d, data, len, DECODE_CHECK, error);

  if (ok)
    {
      guint n_nonempty = 0;
      for (guint i = 0; d.cfg.history != NULL && i < d.cfg.history->len; i++)
        if (!((GpHistory *) d.cfg.history->pdata[i])->empty_layer)
          n_nonempty++;
      if (out_n_layers)
        *out_n_layers = d.cfg.diff_ids != NULL ? d.cfg.diff_ids->len : 0;
      if (out_n_nonempty)
        *out_n_nonempty = n_nonempty;
    }
  image_config_clear (&d.cfg);
  return ok;
}

