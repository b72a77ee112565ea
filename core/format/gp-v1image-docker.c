/* graphpipe - Docker's functions on image structs: version comparison,
 * MakeConfigFromV1Config, v1.CreateID, the layer json of docker save,
 * the container json's Image, the legacy parent fields. */
#include "config.h"

#include "gp-v1image.h"
#include "gp-v1image-private.h"
#include "gp-digest.h"
#include "gp-error.h"
#include "gp-json-private.h"

#include <string.h>

static void
gstring_free (gpointer s)
{
  if (s != NULL)
    g_string_free (s, TRUE);
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

/* The number of the dot-separated part of @s (@len bytes) at *@pos;
 * moves *@pos past it, or sets *@done after the last part. */
static gint64
next_version_part (const char *s, gsize len, gsize *pos, gboolean *done)
{
  const char *dot = memchr (s + *pos, '.', len - *pos);
  gsize end = dot ? (gsize) (dot - s) : len;
  gint64 v = go_atoi_lenient (s + *pos, end - *pos);
  if (dot)
    *pos = end + 1;
  else
    *done = TRUE;
  return v;
}

static gint
version_compare_len (const char *a, gsize alen, const char *b, gsize blen)
{
  gsize ai = 0, bi = 0;
  gboolean a_done = FALSE, b_done = FALSE;

  /* strings.Split always yields at least one (possibly empty) part. */
  while (!a_done || !b_done)
    {
      gint64 av = a_done ? 0 : next_version_part (a, alen, &ai, &a_done);
      gint64 bv = b_done ? 0 : next_version_part (b, blen, &bi, &b_done);
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

typedef struct {
  GString *docker_version;
} DockerVersion;

static const Field docker_version_fields[] = {
  FIELD (DockerVersion, docker_version, "docker_version", F_STRING, FALSE),
};

/* json.Unmarshal into struct { DockerVersion string `json:"docker_version"` }. */
static gboolean
decode_docker_version (const char *data, gsize len, GString **out, GError **error)
{
  DockerVersion v = { g_string_new (NULL) };

  if (!gp_json_validate (data, len, error)
      || !_gp_v1image_decode_struct (&v, docker_version_fields, G_N_ELEMENTS (docker_version_fields),
                         "struct { DockerVersion string }", data, len, DECODE_FULL, error))
    {
      gstring_free (v.docker_version);
      return FALSE;
    }
  *out = v.docker_version;
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
  g_autoptr(GString) value = g_string_new (NULL);

  if (!gp_history_array_append_json (value, history, NULL))
    g_string_assign (value, "null");
  return gp_make_config_from_v1_history_json (v1_json, len, diff_ids, value->str, value->len, error);
}

/**
 * gp_make_config_from_v1_history_json:
 * @v1_json: the legacy image JSON (`graph/<id>/json`)
 * @len: its length
 * @diff_ids: (array zero-terminated=1): all diff IDs of the image, bottom
 *   first
 * @history_json: the `history` value as gp_history_array_append_json()
 *   writes it (`null` if that failed), so that callers building many
 *   configs can marshal each entry once
 * @history_len: its length
 * @error: return location for a #GError
 *
 * gp_make_config_from_v1() with the history already marshalled.
 *
 * Returns: (transfer full) (nullable): the config bytes, or %NULL with a
 *   %GP_DATA_ERROR_JSON or %GP_DATA_ERROR_INVALID error.
 */
GBytes *
gp_make_config_from_v1_history_json (const char *v1_json, gsize len, const char *const *diff_ids,
                                     const char *history_json, gsize history_len, GError **error)
{
  g_autoptr(GString) version = NULL;
  g_autoptr(GString) reencoded = NULL;
  const char *src = v1_json;
  gsize src_len = len;

  /* This validates @v1_json, so that it is not scanned again below. */
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

  g_autoptr(GpJsonRawObject) obj = _gp_json_raw_object_parse_valid (src, src_len, error);
  if (obj == NULL)
    return NULL;
  static const char *const removed[] = {
    "id", "parent", "Size", "parent_id", "layer_id", "throwaway",
  };
  for (guint i = 0; i < G_N_ELEMENTS (removed); i++)
    gp_json_raw_object_remove (obj, removed[i]);

  /* Both values are written by our marshallers: compact and escaped
   * already, so not compacted again. */
  g_autoptr(GString) value = g_string_new (NULL);
  gp_rootfs_append_json (value, "layers", diff_ids);
  _gp_json_raw_object_set_compact (obj, "rootfs", value->str, value->len);
  _gp_json_raw_object_set_compact (obj, "history", history_json, history_len);

  GString *out = g_string_sized_new (src_len + value->len + history_len + 64);
  gp_json_raw_object_append (out, obj);
  return g_string_free_to_bytes (out);
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
  if (!_gp_v1image_append_json_full (v1, img, NULL, img->parent, error))
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
  if (!_gp_v1image_append_json_full (out, img, &id,
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

typedef struct {
  GString *parent;
  GString *parent_id;
} ParentFields;

static const Field parent_fields[] = {
  FIELD (ParentFields, parent, "parent", F_STRING, FALSE),
  FIELD (ParentFields, parent_id, "parent_id", F_STRING, FALSE),
};

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
  ParentFields f = { g_string_new (NULL), g_string_new (NULL) };

  if (!gp_json_validate (data, len, error)
      || !_gp_v1image_decode_struct (&f, parent_fields, G_N_ELEMENTS (parent_fields),
                         "struct { Parent string; ParentID string }", data, len, DECODE_FULL,
                         error))
    {
      _gp_v1image_clear_struct (&f, parent_fields, G_N_ELEMENTS (parent_fields));
      return FALSE;
    }
  *out_parent = f.parent;
  *out_parent_id = f.parent_id;
  return TRUE;
}
