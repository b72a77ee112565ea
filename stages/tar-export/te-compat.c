/* tar-export: Docker 20.10's image structs, for compat=20.10
 * (doc/docker-save-20.10.md).
 *
 * graphpipe's GpV1Image models Docker 1.10.3's V1Image and
 * container.Config (FORMATS.md §6.9).  Docker 20.10's differ by a few
 * fields: V1Image gained `variant` (before `os`); container.Config lost
 * `PublishService` and gained `Healthcheck` (after `Cmd`), `StopTimeout`
 * and `Shell` (at the end), all `omitempty`.  This file decodes those
 * fields from the raw config as Go's encoding/json does and turns the
 * 1.10.3 encoding of a V1Image into the 20.10 one: the top layer's v1 ID
 * and json file come from it.
 */
#include "config.h"

#include "te-private.h"

#include <string.h>

/* HealthConfig: Test []string, Interval, Timeout, StartPeriod
 * time.Duration, Retries int; all omitempty. */
typedef struct {
  GPtrArray *test; /* GString *, NULL: nil */
  gint64 interval;
  gint64 timeout;
  gint64 start_period;
  gint64 retries;
} TeHealth;

/* The 20.10-only fields of one container.Config. */
typedef struct {
  TeHealth *health;     /* NULL: nil */
  gboolean has_stop_timeout;
  gint64 stop_timeout;
  GPtrArray *shell;     /* GString *, NULL: nil */
} TeConfigExtra;

struct _TeCompat2010 {
  GString *variant;            /* NULL: "" */
  TeConfigExtra container_config;
  TeConfigExtra config;
};

static void
health_free (TeHealth *h)
{
  if (h == NULL)
    return;
  g_clear_pointer (&h->test, g_ptr_array_unref);
  g_free (h);
}

static void
extra_clear (TeConfigExtra *x)
{
  g_clear_pointer (&x->health, health_free);
  g_clear_pointer (&x->shell, g_ptr_array_unref);
  x->has_stop_timeout = FALSE;
  x->stop_timeout = 0;
}

void
te_compat_2010_free (TeCompat2010 *c)
{
  if (c == NULL)
    return;
  if (c->variant != NULL)
    g_string_free (c->variant, TRUE);
  extra_clear (&c->container_config);
  extra_clear (&c->config);
  g_free (c);
}

static void
string_free (gpointer s)
{
  g_string_free (s, TRUE);
}

/* A []string (@str_slice FALSE) or a StrSlice (TRUE: a lone string is a
 * one-element list) into *@out; `null` sets nil. */
static gboolean
decode_strings (const char *raw, gsize len, gboolean str_slice, GPtrArray **out,
                const char *what, GError **error)
{
  GpJsonKind kind = gp_json_kind (raw, len);
  if (kind == GP_JSON_KIND_NULL)
    {
      g_clear_pointer (out, g_ptr_array_unref);
      return TRUE;
    }
  g_autoptr (GPtrArray) list = g_ptr_array_new_with_free_func (string_free);
  if (kind == GP_JSON_KIND_STRING && str_slice)
    {
      GString *s = NULL;
      if (!gp_json_decode_string (raw, len, &s, error))
        return FALSE;
      g_ptr_array_add (list, s);
    }
  else if (kind == GP_JSON_KIND_ARRAY)
    {
      GpJsonIter it;
      const char *v;
      gsize vlen;
      gp_json_array_iter_init (&it, raw, len);
      while (gp_json_array_iter_next (&it, &v, &vlen))
        {
          GString *s = NULL;
          if (gp_json_is_null (v, vlen))
            s = g_string_new (NULL); /* null leaves the zero string */
          else if (!gp_json_decode_string (v, vlen, &s, error))
            {
              g_prefix_error (error, "%s: ", what);
              return FALSE;
            }
          g_ptr_array_add (list, s);
        }
    }
  else
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_JSON,
                   "%s: expected a list of strings", what);
      return FALSE;
    }
  g_clear_pointer (out, g_ptr_array_unref);
  *out = g_steal_pointer (&list);
  return TRUE;
}

/* An integer field: `null` leaves it as it is. */
static gboolean
decode_int (const char *raw, gsize len, gint64 *out, const char *what, GError **error)
{
  if (gp_json_is_null (raw, len))
    return TRUE;
  if (!gp_json_decode_int64 (raw, len, out, error))
    {
      g_prefix_error (error, "%s: ", what);
      return FALSE;
    }
  return TRUE;
}

static gboolean
decode_health (const char *raw, gsize len, TeHealth **out, GError **error)
{
  GpJsonKind kind = gp_json_kind (raw, len);
  if (kind == GP_JSON_KIND_NULL)
    {
      g_clear_pointer (out, health_free);
      return TRUE;
    }
  if (kind != GP_JSON_KIND_OBJECT)
    {
      g_set_error_literal (error, GP_DATA_ERROR, GP_DATA_ERROR_JSON,
                           "Healthcheck: expected an object");
      return FALSE;
    }
  if (*out == NULL)
    *out = g_new0 (TeHealth, 1); /* else Go decodes into the one there */
  TeHealth *h = *out;
  GpJsonIter it;
  GString *key = NULL;
  const char *v;
  gsize vlen;
  gboolean ok = TRUE;
  gp_json_object_iter_init (&it, raw, len);
  while (ok && gp_json_object_iter_next (&it, &key, &v, &vlen))
    {
      if (gp_json_key_equal_fold ("Test", key->str, key->len))
        ok = decode_strings (v, vlen, FALSE, &h->test, "Healthcheck.Test", error);
      else if (gp_json_key_equal_fold ("Interval", key->str, key->len))
        ok = decode_int (v, vlen, &h->interval, "Healthcheck.Interval", error);
      else if (gp_json_key_equal_fold ("Timeout", key->str, key->len))
        ok = decode_int (v, vlen, &h->timeout, "Healthcheck.Timeout", error);
      else if (gp_json_key_equal_fold ("StartPeriod", key->str, key->len))
        ok = decode_int (v, vlen, &h->start_period, "Healthcheck.StartPeriod", error);
      else if (gp_json_key_equal_fold ("Retries", key->str, key->len))
        ok = decode_int (v, vlen, &h->retries, "Healthcheck.Retries", error);
      g_string_free (key, TRUE);
      key = NULL;
    }
  return ok;
}

/* One `config` or `container_config` object, decoded into @x the way Go
 * decodes into the struct already there (a repeated key: the last wins). */
static gboolean
decode_config (const char *raw, gsize len, TeConfigExtra *x, GError **error)
{
  GpJsonIter it;
  GString *key = NULL;
  const char *v;
  gsize vlen;
  gboolean ok = TRUE;
  gp_json_object_iter_init (&it, raw, len);
  while (ok && gp_json_object_iter_next (&it, &key, &v, &vlen))
    {
      if (gp_json_key_equal_fold ("Healthcheck", key->str, key->len))
        ok = decode_health (v, vlen, &x->health, error);
      else if (gp_json_key_equal_fold ("StopTimeout", key->str, key->len))
        {
          if (gp_json_is_null (v, vlen))
            x->has_stop_timeout = FALSE;
          else if ((ok = decode_int (v, vlen, &x->stop_timeout, "StopTimeout", error)))
            x->has_stop_timeout = TRUE;
        }
      else if (gp_json_key_equal_fold ("Shell", key->str, key->len))
        ok = decode_strings (v, vlen, TRUE, &x->shell, "Shell", error);
      g_string_free (key, TRUE);
      key = NULL;
    }
  return ok;
}

/**
 * te_compat_2010_new:
 * @config: an image config (validated JSON: the source parsed it)
 * @error: return location for a #GError
 *
 * Decodes the fields Docker 20.10's structs have and 1.10.3's lack.
 *
 * Returns: (transfer full) (nullable): them, or %NULL when one cannot be
 *   decoded (Docker would not have loaded the image).
 */
TeCompat2010 *
te_compat_2010_new (GBytes *config, GError **error)
{
  gsize len;
  const char *raw = g_bytes_get_data (config, &len);
  g_autoptr (TeCompat2010) c = g_new0 (TeCompat2010, 1);
  GpJsonIter it;
  GString *key = NULL;
  const char *v;
  gsize vlen;
  gboolean ok = TRUE;

  if (!gp_json_object_iter_init (&it, raw, len))
    {
      g_set_error_literal (error, GP_DATA_ERROR, GP_DATA_ERROR_JSON, "not a JSON object");
      return NULL;
    }
  while (ok && gp_json_object_iter_next (&it, &key, &v, &vlen))
    {
      GpJsonKind kind = gp_json_kind (v, vlen);
      if (gp_json_key_equal_fold ("variant", key->str, key->len))
        {
          if (kind != GP_JSON_KIND_NULL)
            {
              GString *s = NULL;
              if ((ok = gp_json_decode_string (v, vlen, &s, error)))
                {
                  if (c->variant != NULL)
                    g_string_free (c->variant, TRUE);
                  c->variant = s;
                }
              else
                g_prefix_error (error, "variant: ");
            }
        }
      else if (gp_json_key_equal_fold ("container_config", key->str, key->len))
        {
          /* a struct: null leaves it as it is */
          if (kind == GP_JSON_KIND_OBJECT)
            ok = decode_config (v, vlen, &c->container_config, error);
        }
      else if (gp_json_key_equal_fold ("config", key->str, key->len))
        {
          /* a pointer: null makes it nil, an object fills the one there */
          if (kind == GP_JSON_KIND_NULL)
            extra_clear (&c->config);
          else if (kind == GP_JSON_KIND_OBJECT)
            ok = decode_config (v, vlen, &c->config, error);
        }
      g_string_free (key, TRUE);
      key = NULL;
    }
  if (!ok)
    return NULL;
  return g_steal_pointer (&c);
}

static void
append_strings (GString *out, GPtrArray *list)
{
  g_string_append_c (out, '[');
  for (guint i = 0; i < list->len; i++)
    {
      const GString *s = g_ptr_array_index (list, i);
      if (i > 0)
        g_string_append_c (out, ',');
      gp_json_append_string (out, s->str, s->len);
    }
  g_string_append_c (out, ']');
}

static void
append_member_int (GString *out, gboolean *first, const char *name, gint64 v)
{
  if (v == 0)
    return;
  if (!*first)
    g_string_append_c (out, ',');
  *first = FALSE;
  g_string_append_printf (out, "\"%s\":", name);
  gp_json_append_int64 (out, v);
}

static void
append_health (GString *out, const TeHealth *h)
{
  gboolean first = TRUE;
  g_string_append_c (out, '{');
  if (h->test != NULL && h->test->len > 0)
    {
      g_string_append (out, "\"Test\":");
      append_strings (out, h->test);
      first = FALSE;
    }
  append_member_int (out, &first, "Interval", h->interval);
  append_member_int (out, &first, "Timeout", h->timeout);
  append_member_int (out, &first, "StartPeriod", h->start_period);
  append_member_int (out, &first, "Retries", h->retries);
  g_string_append_c (out, '}');
}

static void
append_raw_member (GString *out, gboolean *first, const GString *key, const char *v, gsize vlen)
{
  if (!*first)
    g_string_append_c (out, ',');
  *first = FALSE;
  gp_json_append_string (out, key->str, key->len);
  g_string_append_c (out, ':');
  g_string_append_len (out, v, (gssize) vlen);
}

/* A container.Config as 1.10.3 encodes it, re-encoded as 20.10 does. */
static void
append_config (GString *out, const char *raw, gsize len, const TeConfigExtra *x)
{
  GpJsonIter it;
  GString *key = NULL;
  const char *v;
  gsize vlen;
  gboolean first = TRUE;

  g_string_append_c (out, '{');
  gp_json_object_iter_init (&it, raw, len);
  while (gp_json_object_iter_next (&it, &key, &v, &vlen))
    {
      if (strcmp (key->str, "PublishService") != 0)
        append_raw_member (out, &first, key, v, vlen);
      if (strcmp (key->str, "Cmd") == 0 && x->health != NULL)
        {
          g_string_append (out, ",\"Healthcheck\":");
          append_health (out, x->health);
        }
      g_string_free (key, TRUE);
      key = NULL;
    }
  if (x->has_stop_timeout)
    {
      g_string_append (out, ",\"StopTimeout\":");
      gp_json_append_int64 (out, x->stop_timeout);
    }
  if (x->shell != NULL && x->shell->len > 0)
    {
      g_string_append (out, ",\"Shell\":");
      append_strings (out, x->shell);
    }
  g_string_append_c (out, '}');
}

/* A V1Image as 1.10.3 encodes it (@raw: our own output), re-encoded as
 * 20.10 does. */
static GString *
to_2010 (const TeCompat2010 *c, const char *raw, gsize len)
{
  GString *out = g_string_new ("{");
  GpJsonIter it;
  GString *key = NULL;
  const char *v;
  gsize vlen;
  gboolean first = TRUE;
  gboolean variant_done = c->variant == NULL || c->variant->len == 0;

  gp_json_object_iter_init (&it, raw, len);
  while (gp_json_object_iter_next (&it, &key, &v, &vlen))
    {
      if (!variant_done && (strcmp (key->str, "os") == 0 || strcmp (key->str, "Size") == 0))
        {
          g_string_append (out, ",\"variant\":");
          gp_json_append_string (out, c->variant->str, c->variant->len);
          variant_done = TRUE;
        }
      if (strcmp (key->str, "container_config") == 0 || strcmp (key->str, "config") == 0)
        {
          if (!first)
            g_string_append_c (out, ',');
          first = FALSE;
          gp_json_append_string (out, key->str, key->len);
          g_string_append_c (out, ':');
          append_config (out, v, vlen,
                         strcmp (key->str, "config") == 0 ? &c->config : &c->container_config);
        }
      else
        append_raw_member (out, &first, key, v, vlen);
      g_string_free (key, TRUE);
      key = NULL;
    }
  if (!variant_done)
    {
      g_string_append (out, ",\"variant\":");
      gp_json_append_string (out, c->variant->str, c->variant->len);
    }
  g_string_append_c (out, '}');
  return out;
}

/**
 * te_compat_2010_create_id:
 * @c: the image's 20.10-only fields
 * @img: the image's V1Image
 * @chain_id: the top layer's chain ID
 * @parent: (nullable): the layer below's v1 digest
 * @error: return location for a #GError
 *
 * Docker 20.10's v1.CreateID for an image's top layer: the sha256 of the
 * V1Image (20.10 struct, `id` cleared) as a map with `layer_id` and
 * `parent` set, keys sorted.
 *
 * Returns: (transfer full) (nullable): `sha256:<hex>`
 */
char *
te_compat_2010_create_id (const TeCompat2010 *c, const GpV1Image *img, const char *chain_id,
                          const char *parent, GError **error)
{
  GpV1Image copy = *img; /* shares img's members: not freed */
  copy.id = NULL;
  g_autoptr (GString) v110 = g_string_new (NULL);
  if (!gp_v1image_append_json (v110, &copy, error))
    return NULL;
  g_autoptr (GString) v2010 = to_2010 (c, v110->str, v110->len);
  g_autoptr (GpJsonRawObject) obj = gp_json_raw_object_parse (v2010->str, v2010->len, error);
  if (obj == NULL)
    return NULL;
  gp_json_raw_object_set_string (obj, "layer_id", chain_id);
  if (parent != NULL && *parent != '\0')
    gp_json_raw_object_set_string (obj, "parent", parent);
  g_autoptr (GString) json = g_string_new (NULL);
  gp_json_raw_object_append (json, obj);
  g_autofree char *hex = g_compute_checksum_for_data (G_CHECKSUM_SHA256,
                                                      (const guchar *) json->str, json->len);
  return g_strconcat ("sha256:", hex, NULL);
}

/**
 * te_compat_2010_layer_json:
 * @c: the image's 20.10-only fields
 * @img: the image's V1Image
 * @v1_id: the top layer's v1 ID (hex)
 * @parent_v1_id: (nullable): the layer below's (hex)
 * @error: return location for a #GError
 *
 * The top layer's `json` file as Docker 20.10 writes it.
 *
 * Returns: (transfer full) (nullable): the bytes
 */
GBytes *
te_compat_2010_layer_json (const TeCompat2010 *c, const GpV1Image *img, const char *v1_id,
                           const char *parent_v1_id, GError **error)
{
  g_autoptr (GBytes) v110 = gp_v1image_layer_json (img, v1_id, parent_v1_id, error);
  if (v110 == NULL)
    return NULL;
  gsize len;
  const char *raw = g_bytes_get_data (v110, &len);
  GString *out = to_2010 (c, raw, len);
  return g_string_free_to_bytes (out);
}
