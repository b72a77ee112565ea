/* The OCI / Docker schema 2 manifest and index reader
 * (core/format/gp-oci-manifest.c) shared by the containerd and
 * containers-storage sources: documents as registries and engines write
 * them, then bad input (wrong types, huge or negative sizes, bad digests,
 * nested indexes, missing fields), each with the error code and message
 * it must give. */
#include "config.h"

#include <string.h>

#include "gp-error.h"
#include "gp-oci-manifest.h"

#define D1 "sha256:0000000000000000000000000000000000000000000000000000000000000001"
#define D2 "sha256:0000000000000000000000000000000000000000000000000000000000000002"
#define D3 "sha256:0000000000000000000000000000000000000000000000000000000000000003"
#define OCI_CONFIG "{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" D1 "\",\"size\":1258}"
#define OCI_LAYER "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"" D2 "\",\"size\":1984512}"

/* `docker manifest inspect` style, indented, Docker media types. */
static const char docker_manifest[] =
  "{\n   \"schemaVersion\": 2,\n"
  "   \"mediaType\": \"application/vnd.docker.distribution.manifest.v2+json\",\n"
  "   \"config\": {\n      \"mediaType\": \"application/vnd.docker.container.image.v1+json\",\n"
  "      \"size\": 1457,\n      \"digest\": \"" D1 "\"\n   },\n"
  "   \"layers\": [\n      {\n"
  "         \"mediaType\": \"application/vnd.docker.image.rootfs.diff.tar.gzip\",\n"
  "         \"size\": 2152262,\n         \"digest\": \"" D2 "\"\n      },\n      {\n"
  "         \"mediaType\": \"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip\",\n"
  "         \"size\": 0,\n         \"digest\": \"" D3 "\",\n"
  "         \"urls\": [\"https://example.invalid/x\"]\n      }\n   ]\n}\n";

static void
test_manifests (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GpOciManifest) m = gp_oci_manifest_parse (docker_manifest, strlen (docker_manifest),
                                                       NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (m->media_type, ==, GP_OCI_MT_DOCKER_MANIFEST);
  g_assert_cmpstr (m->config.digest, ==, D1);
  g_assert_cmpint (m->config.size, ==, 1457);
  g_assert_cmpuint (m->layers->len, ==, 2);
  g_assert_cmpint (g_array_index (m->layers, GpOciDescriptor, 0).size, ==, 2152262);
  g_assert_cmpstr (g_array_index (m->layers, GpOciDescriptor, 1).digest, ==, D3);

  /* OCI without mediaType: inferred from the config, or the caller's. */
  const char *oci = "{\"schemaVersion\":2,\"config\":" OCI_CONFIG ",\"layers\":[" OCI_LAYER "]}";
  g_autoptr (GpOciManifest) o = gp_oci_manifest_parse (oci, strlen (oci), NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (o->media_type, ==, GP_OCI_MT_OCI_MANIFEST);
  g_autoptr (GpOciManifest) o2 = gp_oci_manifest_parse (oci, strlen (oci),
                                                        GP_OCI_MT_DOCKER_MANIFEST, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (o2->media_type, ==, GP_OCI_MT_DOCKER_MANIFEST);

  /* Go's field matching: case-insensitive keys, the last duplicate wins,
   * null is absent, unknown members ignored. */
  const char *go = "{\"SchemaVersion\":2,\"MEDIATYPE\":null,\"annotations\":{\"a\":\"b\"},"
                   "\"config\":{\"MediaType\":\"application/vnd.oci.image.config.v1+json\","
                   "\"DIGEST\":\"" D3 "\",\"digest\":\"" D1 "\",\"size\":5},\"layers\":[]}";
  g_autoptr (GpOciManifest) g = gp_oci_manifest_parse (go, strlen (go), NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g->config.digest, ==, D1);
  g_assert_cmpuint (g->layers->len, ==, 0);
}

typedef struct {
  const char *json;
  const char *expected_type;
  gint code;
  const char *message;
} BadCase;

#define M(cfg, layers) "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":" cfg ",\"layers\":" layers "}"
#define DESC(mt, digest, size) "{\"mediaType\":\"" mt "\",\"digest\":" digest ",\"size\":" size "}"
#define LT "application/vnd.oci.image.layer.v1.tar"

static const BadCase bad_manifests[] = {
  { "", NULL, GP_DATA_ERROR_JSON, "manifest: " },
  { "{\"schemaVersion\":2,", NULL, GP_DATA_ERROR_JSON, "manifest: " },
  { M (OCI_CONFIG, "[]") "x", NULL, GP_DATA_ERROR_JSON, "manifest: " },
  { "[]", NULL, GP_DATA_ERROR_JSON, "manifest: not a JSON object" },
  { "{\"schemaVersion\":1,\"name\":\"x\",\"fsLayers\":[]}", NULL, GP_DATA_ERROR_UNSUPPORTED,
    "schemaVersion is not 2" },
  { "{\"config\":" OCI_CONFIG ",\"layers\":[]}", NULL, GP_DATA_ERROR_UNSUPPORTED,
    "schemaVersion is not 2" },
  { "{\"schemaVersion\":\"2\"}", NULL, GP_DATA_ERROR_JSON, "schemaVersion is not an integer" },
  { "{\"schemaVersion\":2.0}", NULL, GP_DATA_ERROR_JSON, "schemaVersion is not an integer" },
  { "{\"schemaVersion\":2,\"mediaType\":7}", NULL, GP_DATA_ERROR_JSON, "mediaType" },
  { "{\"schemaVersion\":2,\"layers\":[]}", NULL, GP_DATA_ERROR_MISSING, "no config" },
  { "{\"schemaVersion\":2,\"config\":" OCI_CONFIG "}", NULL, GP_DATA_ERROR_MISSING, "no layers" },
  { "{\"schemaVersion\":2,\"config\":" OCI_CONFIG ",\"layers\":{}}", NULL, GP_DATA_ERROR_JSON,
    "layers is not an array" },
  { M ("\"" D1 "\"", "[]"), NULL, GP_DATA_ERROR_JSON, "config: descriptor: it is not an object" },
  { M (OCI_CONFIG, "[\"" D2 "\"]"), NULL, GP_DATA_ERROR_JSON, "layers[0]: descriptor" },
  { M (OCI_CONFIG, "[" DESC (LT, "\"" D2 "\"", "\"12\"") "]"), NULL, GP_DATA_ERROR_SIZE,
    "layers[0]: descriptor: size is not an integer" },
  { M (OCI_CONFIG, "[" DESC (LT, "\"" D2 "\"", "1.5") "]"), NULL, GP_DATA_ERROR_SIZE,
    "size is not an integer" },
  { M (OCI_CONFIG, "[" DESC (LT, "\"" D2 "\"", "1e3") "]"), NULL, GP_DATA_ERROR_SIZE,
    "size is not an integer" },
  { M (OCI_CONFIG, "[" DESC (LT, "\"" D2 "\"", "9223372036854775808") "]"), NULL,
    GP_DATA_ERROR_SIZE, "size is not an integer that fits in 64 bits" },
  { M (OCI_CONFIG, "[" OCI_LAYER "," DESC (LT, "\"" D2 "\"", "-1") "]"), NULL,
    GP_DATA_ERROR_SIZE, "layers[1]: descriptor: size -1 is negative" },
  { M (OCI_CONFIG, "[{\"mediaType\":\"" LT "\",\"digest\":\"" D2 "\"}]"), NULL,
    GP_DATA_ERROR_MISSING, "layers[0]: descriptor: no size" },
  { M (OCI_CONFIG, "[{\"mediaType\":\"" LT "\",\"size\":3}]"), NULL, GP_DATA_ERROR_MISSING,
    "no digest" },
  { M (OCI_CONFIG, "[{\"digest\":\"" D2 "\",\"size\":3}]"), NULL, GP_DATA_ERROR_MISSING,
    "no mediaType" },
  { M (OCI_CONFIG, "[" DESC (LT, "\"md5:1\"", "3") "]"), NULL, GP_DATA_ERROR_DIGEST,
    "layers[0]: descriptor: digest: " },
  { M (OCI_CONFIG, "[" DESC (LT, "\"sha256:../../../../etc/passwd\"", "3") "]"), NULL,
    GP_DATA_ERROR_DIGEST, "digest: " },
  { M (OCI_CONFIG, "[" DESC (LT, "\"SHA256:0000000000000000000000000000000000000000000000000000000000000001\"", "3") "]"),
    NULL, GP_DATA_ERROR_DIGEST, "digest: " },
  { M (OCI_CONFIG, "[" DESC (LT, "\"sha256:000000000000000000000000000000000000000000000000000000000000000A\"", "3") "]"),
    NULL, GP_DATA_ERROR_DIGEST, "digest: " },
  { M (OCI_CONFIG, "[" DESC (LT, "\"" D2 "\\u0000x\"", "3") "]"), NULL, GP_DATA_ERROR_JSON,
    "digest holds a NUL byte" },
  { M (OCI_CONFIG, "[" DESC (LT, "null", "3") "]"), NULL, GP_DATA_ERROR_MISSING, "no digest" },
  { M (OCI_CONFIG, "[" DESC ("text/plain", "\"" D2 "\"", "3") "]"), NULL,
    GP_DATA_ERROR_UNSUPPORTED, "layers[0] has media type text/plain, not a layer's" },
  { M (OCI_LAYER, "[]"), NULL, GP_DATA_ERROR_UNSUPPORTED, "not an image config's" },
  { "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"config\":"
    OCI_CONFIG ",\"layers\":[]}", NULL, GP_DATA_ERROR_UNSUPPORTED,
    "mediaType application/vnd.oci.image.index.v1+json is not a schema 2 or OCI image manifest" },
  { "{\"schemaVersion\":2,\"manifests\":[],\"config\":" OCI_CONFIG ",\"layers\":[]}", NULL,
    GP_DATA_ERROR_UNSUPPORTED, "an index, not an image manifest" },
  { M (OCI_CONFIG, "[]"), GP_OCI_MT_DOCKER_MANIFEST, GP_DATA_ERROR_CONFLICT,
    "but its descriptor says application/vnd.docker.distribution.manifest.v2+json" },
  { M (OCI_CONFIG, "[]"), GP_OCI_MT_OCI_INDEX, GP_DATA_ERROR_UNSUPPORTED,
    "is not an image manifest's" },
  { "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/vnd.docker.container.image.v1+json\","
    "\"digest\":\"" D1 "\",\"size\":1},\"layers\":[]}", NULL, GP_DATA_ERROR_MISSING,
    "no mediaType (required for a Docker schema 2 manifest)" },
};

static void
test_bad_manifests (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (bad_manifests); i++)
    {
      const BadCase *c = &bad_manifests[i];
      g_autoptr (GError) error = NULL;
      g_test_message ("case %zu: %s", i, c->json);
      g_autoptr (GpOciManifest) m = gp_oci_manifest_parse (c->json, strlen (c->json),
                                                           c->expected_type, &error);
      g_assert_null (m);
      g_assert_error (error, GP_DATA_ERROR, c->code);
      if (strstr (error->message, c->message) == NULL)
        g_error ("case %zu: message \"%s\" lacks \"%s\"", i, error->message, c->message);
    }
}

#define E(mt, d, plat) "{\"mediaType\":\"" mt "\",\"digest\":\"" d "\",\"size\":10" plat "}"
#define P(os, arch, rest) ",\"platform\":{\"os\":\"" os "\",\"architecture\":\"" arch "\"" rest "}"
#define OM GP_OCI_MT_OCI_MANIFEST

static const char multi[] =
  "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":["
  E (OM, D1, P ("linux", "amd64", "")) ","
  E (OM, D2, P ("linux", "arm64", "")) ","
  E (OM, D3, P ("linux", "arm", ",\"variant\":\"v7\"")) ","
  E (OM, D1, P ("unknown", "unknown", "")) "]}";

static void
select_one (const GpOciIndex *idx, const char *os, const char *arch, const char *variant,
            const char *want_digest)
{
  GpOciPlatform p = { (char *) os, (char *) arch, (char *) variant };
  g_autoptr (GError) error = NULL;
  const GpOciDescriptor *d = gp_oci_index_select (idx, &p, &error);
  if (want_digest == NULL)
    {
      g_assert_null (d);
      g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING);
      return;
    }
  g_assert_no_error (error);
  g_assert_cmpstr (d->digest, ==, want_digest);
}

static void
test_index (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GpOciIndex) idx = gp_oci_index_parse (multi, strlen (multi), NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (idx->media_type, ==, GP_OCI_MT_OCI_INDEX);
  g_assert_cmpuint (idx->manifests->len, ==, 4);
  select_one (idx, "linux", "amd64", NULL, D1);
  select_one (idx, "linux", "arm64", NULL, D2);
  select_one (idx, "linux", "arm64", "v8", D2); /* arm64's default variant */
  select_one (idx, "linux", "arm", "v7", D3);
  select_one (idx, "linux", "arm", "v6", NULL);
  select_one (idx, "linux", "s390x", NULL, NULL);
  GpOciPlatform p = { (char *) "linux", (char *) "s390x", NULL };
  gp_oci_index_select (idx, &p, &error);
  g_assert_cmpstr (error->message, ==,
                   "no manifest for platform linux/s390x in the index (it has: linux/amd64, "
                   "linux/arm64, linux/arm/v7, unknown/unknown)");
  g_clear_error (&error);

  /* A Docker manifest list; a nested index is listed but not followed. */
  const char *list = "{\"schemaVersion\":2,\"manifests\":["
                     E (GP_OCI_MT_OCI_INDEX, D1, P ("linux", "amd64", "")) "]}";
  g_autoptr (GpOciIndex) l = gp_oci_index_parse (list, strlen (list), GP_OCI_MT_DOCKER_LIST,
                                                 &error);
  g_assert_no_error (error);
  g_assert_cmpstr (l->media_type, ==, GP_OCI_MT_DOCKER_LIST);
  GpOciPlatform amd = { (char *) "linux", (char *) "amd64", NULL };
  g_assert_null (gp_oci_index_select (l, &amd, &error));
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING);
  g_assert_nonnull (strstr (error->message, "nested indexes are not followed"));
}

static const BadCase bad_indexes[] = {
  { "{}", NULL, GP_DATA_ERROR_UNSUPPORTED, "index: schemaVersion is not 2" },
  { "{\"schemaVersion\":2}", NULL, GP_DATA_ERROR_MISSING, "index: no manifests" },
  { "{\"schemaVersion\":2,\"manifests\":{}}", NULL, GP_DATA_ERROR_JSON,
    "manifests is not an array" },
  { "{\"schemaVersion\":2,\"manifests\":[7]}", NULL, GP_DATA_ERROR_JSON,
    "index: manifests[0]: descriptor" },
  { "{\"schemaVersion\":2,\"manifests\":[" E (OM, D1, ",\"platform\":\"linux/amd64\"") "]}", NULL,
    GP_DATA_ERROR_JSON, "platform is not an object" },
  { "{\"schemaVersion\":2,\"manifests\":[" E (OM, D1, ",\"platform\":{\"os\":\"linux\"}") "]}",
    NULL, GP_DATA_ERROR_MISSING, "platform needs both os and architecture" },
  { "{\"schemaVersion\":2,\"manifests\":[" E (OM, D1, ",\"platform\":{\"os\":1,\"architecture\":\"x\"}") "]}",
    NULL, GP_DATA_ERROR_JSON, "os" },
  { "{\"schemaVersion\":2,\"manifests\":[" E (OM, "sha256:1", "") "]}", NULL,
    GP_DATA_ERROR_DIGEST, "manifests[0]: descriptor: digest" },
  { "{\"schemaVersion\":2,\"manifests\":[],\"layers\":[]}", NULL, GP_DATA_ERROR_UNSUPPORTED,
    "an image manifest, not an index" },
  { "{\"schemaVersion\":2,\"mediaType\":\"" OM "\",\"manifests\":[]}", NULL,
    GP_DATA_ERROR_UNSUPPORTED, "is not an image index or manifest list" },
  { "{\"schemaVersion\":2,\"mediaType\":\"" GP_OCI_MT_OCI_INDEX "\",\"manifests\":[]}",
    GP_OCI_MT_DOCKER_LIST, GP_DATA_ERROR_CONFLICT, "but its descriptor says" },
  { "{\"schemaVersion\":2,\"manifests\":[]}", OM, GP_DATA_ERROR_UNSUPPORTED,
    "is not an index's" },
};

static void
test_bad_indexes (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (bad_indexes); i++)
    {
      const BadCase *c = &bad_indexes[i];
      g_autoptr (GError) error = NULL;
      g_test_message ("case %zu: %s", i, c->json);
      g_autoptr (GpOciIndex) idx = gp_oci_index_parse (c->json, strlen (c->json),
                                                       c->expected_type, &error);
      g_assert_null (idx);
      g_assert_error (error, GP_DATA_ERROR, c->code);
      if (strstr (error->message, c->message) == NULL)
        g_error ("case %zu: message \"%s\" lacks \"%s\"", i, error->message, c->message);
    }
}

/* Deep nesting and big documents stay errors or results, never a crash. */
static void
test_deep (void)
{
  GString *s = g_string_new ("{\"schemaVersion\":2,\"x\":");
  for (int i = 0; i < 20000; i++)
    g_string_append_c (s, '[');
  g_autoptr (GError) error = NULL;
  g_assert_null (gp_oci_manifest_parse (s->str, s->len, NULL, &error));
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_JSON);
  g_string_free (s, TRUE);
  g_clear_error (&error);

  GString *many = g_string_new ("{\"schemaVersion\":2,\"config\":" OCI_CONFIG ",\"layers\":[");
  for (int i = 0; i < 5000; i++)
    g_string_append (many, i ? "," OCI_LAYER : OCI_LAYER);
  g_string_append (many, "]}");
  g_autoptr (GpOciManifest) m = gp_oci_manifest_parse (many->str, many->len, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (m->layers->len, ==, 5000);
  g_string_free (many, TRUE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/oci-manifest/manifests", test_manifests);
  g_test_add_func ("/oci-manifest/bad-manifests", test_bad_manifests);
  g_test_add_func ("/oci-manifest/index", test_index);
  g_test_add_func ("/oci-manifest/bad-indexes", test_bad_indexes);
  g_test_add_func ("/oci-manifest/deep", test_deep);
  return g_test_run ();
}
