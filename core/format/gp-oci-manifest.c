/* graphpipe - OCI and Docker schema 2 manifests, indexes and descriptors.
 * See gp-oci-manifest.h for the rules. */
#include "config.h"

#include "gp-oci-manifest.h"

#include <string.h>
#include <sys/utsname.h>

#include "gp-digest.h"
#include "gp-error.h"
#include "gp-json.h"

static const char *const layer_types[] = {
  "application/vnd.docker.image.rootfs.diff.tar.gzip",
  "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
  "application/vnd.docker.image.rootfs.diff.tar",
  "application/vnd.oci.image.layer.v1.tar",
  "application/vnd.oci.image.layer.v1.tar+gzip",
  "application/vnd.oci.image.layer.v1.tar+zstd",
  "application/vnd.oci.image.layer.nondistributable.v1.tar",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
};

gboolean
gp_oci_is_manifest_type (const char *media_type)
{
  return media_type != NULL && (strcmp (media_type, GP_OCI_MT_DOCKER_MANIFEST) == 0
                                || strcmp (media_type, GP_OCI_MT_OCI_MANIFEST) == 0);
}

gboolean
gp_oci_is_index_type (const char *media_type)
{
  return media_type != NULL && (strcmp (media_type, GP_OCI_MT_DOCKER_LIST) == 0
                                || strcmp (media_type, GP_OCI_MT_OCI_INDEX) == 0);
}

gboolean
gp_oci_is_config_type (const char *media_type)
{
  return media_type != NULL && (strcmp (media_type, GP_OCI_MT_DOCKER_CONFIG) == 0
                                || strcmp (media_type, GP_OCI_MT_OCI_CONFIG) == 0);
}

gboolean
gp_oci_is_layer_type (const char *media_type)
{
  for (gsize i = 0; media_type != NULL && i < G_N_ELEMENTS (layer_types); i++)
    if (strcmp (media_type, layer_types[i]) == 0)
      return TRUE;
  return FALSE;
}

void
gp_oci_descriptor_clear (GpOciDescriptor *desc)
{
  if (desc == NULL)
    return;
  g_clear_pointer (&desc->media_type, g_free);
  g_clear_pointer (&desc->digest, g_free);
  g_clear_pointer (&desc->os, g_free);
  g_clear_pointer (&desc->architecture, g_free);
  g_clear_pointer (&desc->variant, g_free);
  desc->size = 0;
}

/* ---- JSON helpers ---- */

/* A string member: NUL bytes and non-strings are errors, null leaves
 * *out as it is (Go). */
static gboolean
take_string (const char *raw, gsize len, char **out, const char *what, const char *field,
             GError **error)
{
  if (gp_json_is_null (raw, len))
    return TRUE;
  GString *s = NULL;
  if (!gp_json_decode_string (raw, len, &s, error))
    {
      g_prefix_error (error, "%s: %s: ", what, field);
      return FALSE;
    }
  if (memchr (s->str, '\0', s->len) != NULL)
    {
      g_string_free (s, TRUE);
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_JSON, "%s: %s holds a NUL byte", what,
                   field);
      return FALSE;
    }
  g_free (*out);
  *out = g_string_free (s, FALSE);
  return TRUE;
}

/* The text of a whole document's single value, which must be an object. */
static gboolean
document_object (const char *data, gsize len, const char *what, const char **out,
                 gsize *out_len, GError **error)
{
  gsize start, end;
  if (data == NULL || !gp_json_validate (data, len, error)
      || !gp_json_value_end (data, len, &start, &end, error))
    {
      if (data == NULL)
        g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_JSON, "%s: no data", what);
      g_prefix_error (error, "%s: ", what);
      return FALSE;
    }
  if (gp_json_kind (data + start, end - start) != GP_JSON_KIND_OBJECT)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_JSON, "%s: not a JSON object", what);
      return FALSE;
    }
  *out = data + start;
  *out_len = end - start;
  return TRUE;
}

static gboolean
wrong_type (const char *what, const char *field, const char *want, GError **error)
{
  g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_JSON, "%s: %s is not %s", what, field, want);
  return FALSE;
}

/* ---- descriptors ---- */

enum { D_MEDIA_TYPE, D_DIGEST, D_SIZE, D_PLATFORM };
static const char *const desc_fields[] = { "mediaType", "digest", "size", "platform" };
enum { P_OS, P_ARCH, P_VARIANT };
static const char *const platform_fields[] = { "os", "architecture", "variant" };

static gboolean
parse_platform (const char *raw, gsize len, GpOciDescriptor *out, const char *what,
                GError **error)
{
  if (gp_json_is_null (raw, len))
    return TRUE;
  if (gp_json_kind (raw, len) != GP_JSON_KIND_OBJECT)
    return wrong_type (what, "platform", "an object", error);
  GpJsonIter it;
  gp_json_object_iter_init (&it, raw, len);
  GString *key;
  const char *v;
  gsize vlen;
  while (gp_json_object_iter_next (&it, &key, &v, &vlen))
    {
      gint f = gp_json_match_field (platform_fields, G_N_ELEMENTS (platform_fields), key->str,
                                    key->len);
      g_string_free (key, TRUE);
      char **slot = f == P_OS ? &out->os : f == P_ARCH ? &out->architecture
                    : f == P_VARIANT ? &out->variant : NULL;
      if (slot != NULL && !take_string (v, vlen, slot, what, platform_fields[f], error))
        return FALSE;
    }
  return TRUE;
}

/**
 * gp_oci_descriptor_parse:
 * @raw: the text of a validated JSON value
 * @len: its length
 * @with_platform: also read `platform` (index entries)
 * @out: (out caller-allocates): the descriptor; cleared on failure
 * @error: return location for a #GError
 *
 * Reads a descriptor: `mediaType` (any non-empty string here; callers
 * check the kinds they accept), `digest` (sha256 only) and `size`, all
 * required.
 *
 * Returns: %TRUE on success.
 */
gboolean
gp_oci_descriptor_parse (const char *raw, gsize len, gboolean with_platform,
                         GpOciDescriptor *out, GError **error)
{
  memset (out, 0, sizeof *out);
  const char *what = "descriptor";
  if (gp_json_kind (raw, len) != GP_JSON_KIND_OBJECT)
    return wrong_type (what, "it", "an object", error);
  gboolean have_size = FALSE;
  GpJsonIter it;
  gp_json_object_iter_init (&it, raw, len);
  GString *key;
  const char *v;
  gsize vlen;
  while (gp_json_object_iter_next (&it, &key, &v, &vlen))
    {
      gint f = gp_json_match_field (desc_fields, G_N_ELEMENTS (desc_fields), key->str, key->len);
      g_string_free (key, TRUE);
      gboolean ok = TRUE;
      switch (f)
        {
        case D_MEDIA_TYPE:
          ok = take_string (v, vlen, &out->media_type, what, "mediaType", error);
          break;
        case D_DIGEST:
          ok = take_string (v, vlen, &out->digest, what, "digest", error);
          break;
        case D_SIZE:
          if (gp_json_is_null (v, vlen))
            break;
          if (gp_json_kind (v, vlen) != GP_JSON_KIND_NUMBER
              || !gp_json_decode_int64 (v, vlen, &out->size, NULL))
            {
              g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_SIZE,
                           "%s: size is not an integer that fits in 64 bits", what);
              ok = FALSE;
            }
          have_size = ok;
          break;
        case D_PLATFORM:
          if (with_platform)
            ok = parse_platform (v, vlen, out, what, error);
          break;
        default:
          break;
        }
      if (!ok)
        {
          gp_oci_descriptor_clear (out);
          return FALSE;
        }
    }
  if (out->media_type == NULL || *out->media_type == '\0')
    g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING, "%s: no mediaType", what);
  else if (out->digest == NULL)
    g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING, "%s: no digest", what);
  else if (!have_size)
    g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING, "%s: no size", what);
  else if (out->size < 0)
    g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_SIZE, "%s: size %" G_GINT64_FORMAT
                 " is negative", what, out->size);
  else if (!gp_digest_check_sha256 (out->digest, -1, error))
    g_prefix_error (error, "%s: digest: ", what);
  else if (with_platform && (out->os == NULL) != (out->architecture == NULL))
    g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING,
                 "%s: platform needs both os and architecture", what);
  else
    return TRUE;
  gp_oci_descriptor_clear (out);
  return FALSE;
}

static void
descriptor_array_clear (gpointer p)
{
  gp_oci_descriptor_clear (p);
}

/* ---- manifests and indexes ---- */

enum { M_SCHEMA, M_MEDIA_TYPE, M_CONFIG, M_LAYERS, M_MANIFESTS };
static const char *const doc_fields[] = { "schemaVersion", "mediaType", "config", "layers",
                                          "manifests" };

typedef struct {
  gint64 schema;
  gboolean have_schema;
  char *media_type;
  const char *config;
  gsize config_len;
  const char *layers;
  gsize layers_len;
  const char *manifests;
  gsize manifests_len;
} Doc;

static gboolean
read_doc (const char *data, gsize len, const char *what, Doc *doc, GError **error)
{
  const char *raw;
  gsize raw_len;
  if (!document_object (data, len, what, &raw, &raw_len, error))
    return FALSE;
  GpJsonIter it;
  gp_json_object_iter_init (&it, raw, raw_len);
  GString *key;
  const char *v;
  gsize vlen;
  while (gp_json_object_iter_next (&it, &key, &v, &vlen))
    {
      gint f = gp_json_match_field (doc_fields, G_N_ELEMENTS (doc_fields), key->str, key->len);
      g_string_free (key, TRUE);
      gboolean null = gp_json_is_null (v, vlen);
      switch (f)
        {
        case M_SCHEMA:
          if (null)
            break;
          if (gp_json_kind (v, vlen) != GP_JSON_KIND_NUMBER
              || !gp_json_decode_int64 (v, vlen, &doc->schema, NULL))
            return wrong_type (what, "schemaVersion", "an integer", error);
          doc->have_schema = TRUE;
          break;
        case M_MEDIA_TYPE:
          if (!take_string (v, vlen, &doc->media_type, what, "mediaType", error))
            return FALSE;
          break;
        case M_CONFIG:
          doc->config = null ? NULL : v;
          doc->config_len = vlen;
          break;
        case M_LAYERS:
          if (!null && gp_json_kind (v, vlen) != GP_JSON_KIND_ARRAY)
            return wrong_type (what, "layers", "an array", error);
          doc->layers = null ? NULL : v;
          doc->layers_len = vlen;
          break;
        case M_MANIFESTS:
          if (!null && gp_json_kind (v, vlen) != GP_JSON_KIND_ARRAY)
            return wrong_type (what, "manifests", "an array", error);
          doc->manifests = null ? NULL : v;
          doc->manifests_len = vlen;
          break;
        default:
          break;
        }
    }
  if (!doc->have_schema || doc->schema != 2)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_UNSUPPORTED,
                   "%s: schemaVersion is not 2 (only schema 2 and OCI documents are read)", what);
      return FALSE;
    }
  return TRUE;
}

/* Each element of a validated array, as a descriptor appended to @out. */
static gboolean
parse_descriptors (const char *raw, gsize len, gboolean with_platform, GArray *out,
                   const char *what, const char *field, GError **error)
{
  GpJsonIter it;
  gp_json_array_iter_init (&it, raw, len);
  const char *v;
  gsize vlen;
  for (guint i = 0; gp_json_array_iter_next (&it, &v, &vlen); i++)
    {
      GpOciDescriptor d;
      if (!gp_oci_descriptor_parse (v, vlen, with_platform, &d, error))
        {
          g_prefix_error (error, "%s: %s[%u]: ", what, field, i);
          return FALSE;
        }
      g_array_append_val (out, d);
    }
  return TRUE;
}

void
gp_oci_manifest_free (GpOciManifest *manifest)
{
  if (manifest == NULL)
    return;
  g_free (manifest->media_type);
  gp_oci_descriptor_clear (&manifest->config);
  g_clear_pointer (&manifest->layers, g_array_unref);
  g_free (manifest);
}

/**
 * gp_oci_manifest_parse:
 * @data: the manifest's bytes
 * @len: their length
 * @expected_type: (nullable): the media type the manifest was reached
 *   through (its descriptor's), or %NULL
 * @error: return location for a #GError
 *
 * Reads a Docker schema 2 or OCI image manifest.  Its `mediaType`, when
 * present, must be a manifest type and equal @expected_type; without it
 * the type is @expected_type, else OCI's when the config is an OCI config.
 * The config must have a config media type and every layer a layer media
 * type.  A document with a `manifests` member (an index) is refused.
 *
 * Returns: (transfer full): the manifest, or %NULL with @error set
 */
GpOciManifest *
gp_oci_manifest_parse (const char *data, gsize len, const char *expected_type, GError **error)
{
  const char *what = "manifest";
  Doc doc = { 0 };
  g_autoptr (GpOciManifest) m = g_new0 (GpOciManifest, 1);
  m->layers = g_array_new (FALSE, TRUE, sizeof (GpOciDescriptor));
  g_array_set_clear_func (m->layers, descriptor_array_clear);
  gboolean ok = read_doc (data, len, what, &doc, error);
  m->media_type = g_steal_pointer (&doc.media_type);
  if (!ok)
    return NULL;
  if (expected_type != NULL && !gp_oci_is_manifest_type (expected_type))
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_UNSUPPORTED,
                   "%s: media type %s is not an image manifest's", what, expected_type);
      return NULL;
    }
  if (doc.manifests != NULL)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_UNSUPPORTED,
                   "%s: holds a manifests list: an index, not an image manifest", what);
      return NULL;
    }
  if (m->media_type != NULL && !gp_oci_is_manifest_type (m->media_type))
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_UNSUPPORTED,
                   "%s: mediaType %s is not a schema 2 or OCI image manifest", what,
                   m->media_type);
      return NULL;
    }
  if (m->media_type != NULL && expected_type != NULL && strcmp (m->media_type, expected_type) != 0)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_CONFLICT,
                   "%s: mediaType %s, but its descriptor says %s", what, m->media_type,
                   expected_type);
      return NULL;
    }
  if (doc.config == NULL)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING, "%s: no config", what);
      return NULL;
    }
  if (doc.layers == NULL)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING, "%s: no layers", what);
      return NULL;
    }
  if (!gp_oci_descriptor_parse (doc.config, doc.config_len, FALSE, &m->config, error))
    {
      g_prefix_error (error, "%s: config: ", what);
      return NULL;
    }
  if (!gp_oci_is_config_type (m->config.media_type))
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_UNSUPPORTED,
                   "%s: config has media type %s, not an image config's", what,
                   m->config.media_type);
      return NULL;
    }
  if (!parse_descriptors (doc.layers, doc.layers_len, FALSE, m->layers, what, "layers", error))
    return NULL;
  for (guint i = 0; i < m->layers->len; i++)
    {
      const GpOciDescriptor *d = &g_array_index (m->layers, GpOciDescriptor, i);
      if (!gp_oci_is_layer_type (d->media_type))
        {
          g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_UNSUPPORTED,
                       "%s: layers[%u] has media type %s, not a layer's", what, i, d->media_type);
          return NULL;
        }
    }
  if (m->media_type == NULL)
    m->media_type = g_strdup (expected_type != NULL ? expected_type
                              : strcmp (m->config.media_type, GP_OCI_MT_OCI_CONFIG) == 0
                                ? GP_OCI_MT_OCI_MANIFEST : NULL);
  if (m->media_type == NULL)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING,
                   "%s: no mediaType (required for a Docker schema 2 manifest)", what);
      return NULL;
    }
  return g_steal_pointer (&m);
}

void
gp_oci_index_free (GpOciIndex *index)
{
  if (index == NULL)
    return;
  g_free (index->media_type);
  g_clear_pointer (&index->manifests, g_array_unref);
  g_free (index);
}

/**
 * gp_oci_index_parse:
 * @data: the index's bytes
 * @len: their length
 * @expected_type: (nullable): the media type it was reached through
 * @error: return location for a #GError
 *
 * Reads an OCI image index or a Docker manifest list: its entries are
 * descriptors with their platforms.  `mediaType`, when present, must be an
 * index type equal to @expected_type; without both it is OCI's.  A
 * document with `layers` or `config` (a manifest) is refused.
 *
 * Returns: (transfer full): the index, or %NULL with @error set
 */
GpOciIndex *
gp_oci_index_parse (const char *data, gsize len, const char *expected_type, GError **error)
{
  const char *what = "index";
  Doc doc = { 0 };
  g_autoptr (GpOciIndex) idx = g_new0 (GpOciIndex, 1);
  idx->manifests = g_array_new (FALSE, TRUE, sizeof (GpOciDescriptor));
  g_array_set_clear_func (idx->manifests, descriptor_array_clear);
  gboolean ok = read_doc (data, len, what, &doc, error);
  idx->media_type = g_steal_pointer (&doc.media_type);
  if (!ok)
    return NULL;
  if (expected_type != NULL && !gp_oci_is_index_type (expected_type))
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_UNSUPPORTED,
                   "%s: media type %s is not an index's", what, expected_type);
      return NULL;
    }
  if (doc.layers != NULL || doc.config != NULL)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_UNSUPPORTED,
                   "%s: holds layers or a config: an image manifest, not an index", what);
      return NULL;
    }
  if (idx->media_type != NULL && !gp_oci_is_index_type (idx->media_type))
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_UNSUPPORTED,
                   "%s: mediaType %s is not an image index or manifest list", what,
                   idx->media_type);
      return NULL;
    }
  if (idx->media_type != NULL && expected_type != NULL
      && strcmp (idx->media_type, expected_type) != 0)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_CONFLICT,
                   "%s: mediaType %s, but its descriptor says %s", what, idx->media_type,
                   expected_type);
      return NULL;
    }
  if (doc.manifests == NULL)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING, "%s: no manifests", what);
      return NULL;
    }
  if (!parse_descriptors (doc.manifests, doc.manifests_len, TRUE, idx->manifests, what,
                          "manifests", error))
    return NULL;
  if (idx->media_type == NULL)
    idx->media_type = g_strdup (expected_type != NULL ? expected_type : GP_OCI_MT_OCI_INDEX);
  return g_steal_pointer (&idx);
}

/* ---- platforms ---- */

void
gp_oci_platform_clear (GpOciPlatform *platform)
{
  g_clear_pointer (&platform->os, g_free);
  g_clear_pointer (&platform->architecture, g_free);
  g_clear_pointer (&platform->variant, g_free);
}

/**
 * gp_oci_platform_format:
 * @os: the os
 * @architecture: the architecture
 * @variant: (nullable): the variant
 *
 * Returns: (transfer full): `os/arch` or `os/arch/variant`
 */
char *
gp_oci_platform_format (const char *os, const char *architecture, const char *variant)
{
  if (variant != NULL && *variant != '\0')
    return g_strdup_printf ("%s/%s/%s", os, architecture, variant);
  return g_strdup_printf ("%s/%s", os, architecture);
}

/**
 * gp_oci_platform_host:
 * @platform: (out caller-allocates): filled with this machine's platform
 *   as Go names it (GOOS linux, GOARCH, the GOARM variant on 32-bit arm)
 */
void
gp_oci_platform_host (GpOciPlatform *platform)
{
  struct utsname u;
  const char *m = uname (&u) == 0 ? u.machine : "x86_64";
  platform->os = g_strdup ("linux");
  platform->variant = NULL;
  static const struct {
    const char *machine, *arch, *variant;
  } map[] = {
    { "x86_64", "amd64", NULL }, { "aarch64", "arm64", NULL }, { "armv8l", "arm64", NULL },
    { "armv7l", "arm", "v7" },   { "armv6l", "arm", "v6" },    { "i686", "386", NULL },
    { "i386", "386", NULL },     { "ppc64le", "ppc64le", NULL }, { "s390x", "s390x", NULL },
    { "riscv64", "riscv64", NULL }, { "mips64", "mips64", NULL },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (map); i++)
    if (strcmp (m, map[i].machine) == 0)
      {
        platform->architecture = g_strdup (map[i].arch);
        platform->variant = g_strdup (map[i].variant);
        return;
      }
  platform->architecture = g_strdup (m);
}

/**
 * gp_oci_platform_matches:
 * @want: the platform asked for
 * @entry: an index entry
 *
 * Same os and architecture (ASCII case-insensitive); a variant asked for
 * must match (arm64's default variant is v8).
 *
 * Returns: whether @entry is for @want
 */
gboolean
gp_oci_platform_matches (const GpOciPlatform *want, const GpOciDescriptor *entry)
{
  if (entry->os == NULL || entry->architecture == NULL
      || g_ascii_strcasecmp (entry->os, want->os) != 0
      || g_ascii_strcasecmp (entry->architecture, want->architecture) != 0)
    return FALSE;
  if (want->variant == NULL)
    return TRUE;
  const char *v = entry->variant != NULL && *entry->variant != '\0' ? entry->variant
                  : g_ascii_strcasecmp (want->architecture, "arm64") == 0 ? "v8" : "";
  return g_ascii_strcasecmp (v, want->variant) == 0;
}

/**
 * gp_oci_index_select:
 * @index: an index
 * @want: the platform
 * @error: return location for a #GError
 *
 * The first image manifest entry for @want.  Entries that are indexes
 * themselves are not followed.
 *
 * Returns: (transfer none): the entry, or %NULL with a
 *   %GP_DATA_ERROR_MISSING error listing the platforms the index has
 */
const GpOciDescriptor *
gp_oci_index_select (const GpOciIndex *index, const GpOciPlatform *want, GError **error)
{
  g_autoptr (GPtrArray) seen = g_ptr_array_new_with_free_func (g_free);
  gboolean nested = FALSE;
  for (guint i = 0; i < index->manifests->len; i++)
    {
      const GpOciDescriptor *d = &g_array_index (index->manifests, GpOciDescriptor, i);
      if (gp_oci_is_manifest_type (d->media_type) && gp_oci_platform_matches (want, d))
        return d;
      nested = nested || gp_oci_is_index_type (d->media_type);
      if (d->os != NULL && d->architecture != NULL)
        g_ptr_array_add (seen, gp_oci_platform_format (d->os, d->architecture, d->variant));
    }
  g_autofree char *wanted = gp_oci_platform_format (want->os, want->architecture, want->variant);
  g_ptr_array_add (seen, NULL);
  g_autofree char *list = g_strjoinv (", ", (char **) seen->pdata);
  g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING,
               "no manifest for platform %s in the index (it has: %s%s)", wanted,
               seen->len > 1 ? list : "none",
               nested ? "; nested indexes are not followed" : "");
  return NULL;
}
