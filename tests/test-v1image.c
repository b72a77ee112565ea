/* Tests for core/format/gp-v1image: Docker's image structs, config building,
 * save v1 IDs and container rewrite (FORMATS.md §4.7, §5.5-§5.7, §6.8,
 * §6.9, §7.2-§7.3, §9), against spec vectors and Docker 1.10.3 golden data. */
#include "config.h"

#include <string.h>

#include "gp-error.h"
#include "gp-json.h"
#include "gp-v1image.h"
#include "gp-test-util.h"

/* ---- helpers ------------------------------------------------------------ */

static char *
sha256_hex (const void *data, gsize len)
{
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, data, len);
}

static char *
digest_of_bytes (GBytes *bytes)
{
  gsize len;
  const guchar *p = g_bytes_get_data (bytes, &len);
  g_autofree char *hex = sha256_hex (p, len);
  return g_strconcat ("sha256:", hex, NULL);
}

static char *
chain_id (const char *parent_chain, const char *diff_id)
{
  if (parent_chain == NULL)
    return g_strdup (diff_id);
  g_autofree char *joined = g_strconcat (parent_chain, " ", diff_id, NULL);
  g_autofree char *hex = sha256_hex (joined, strlen (joined));
  return g_strconcat ("sha256:", hex, NULL);
}

static void
assert_bytes_eq (GBytes *bytes, const char *expected, gsize expected_len)
{
  gsize len;
  const char *p = g_bytes_get_data (bytes, &len);
  g_autofree char *got = g_strndup (p, len);
  g_autofree char *want = g_strndup (expected, expected_len);
  g_assert_cmpstr (got, ==, want);
  g_assert_cmpuint (len, ==, expected_len);
}

/* Reads a file under the shared dir; fails the test if it is absent (the
 * data is part of the tree). */
static GBytes *
shared_file (const char *relpath)
{
  g_autofree char *path = g_build_filename (gp_test_shared_dir (), relpath, NULL);
  char *data = NULL;
  gsize len = 0;

  if (!g_file_get_contents (path, &data, &len, NULL))
    {
      gp_test_fail_no_shared (path);
      return NULL;
    }
  return g_bytes_new_take (data, len);
}

/* The n-th ```json block after the heading `heading` in moby-vectors.md. */
static GBytes *
vector_block (const char *heading, guint n)
{
  g_autoptr(GBytes) md = shared_file ("spec/moby-vectors.md");
  if (md == NULL)
    return NULL;
  const char *text = g_bytes_get_data (md, NULL);
  const char *p = strstr (text, heading);
  g_assert_nonnull (p);
  for (guint i = 0;; i++)
    {
      p = strstr (p, "```json\n");
      g_assert_nonnull (p);
      p += strlen ("```json\n");
      const char *end = strstr (p, "\n```");
      g_assert_nonnull (end);
      if (i == n)
        return g_bytes_new (p, end - p);
      p = end + 4;
    }
}

static GPtrArray *
history_list (GPtrArray *parent_history, GpHistory *own)
{
  GPtrArray *list = g_ptr_array_new ();
  if (parent_history)
    for (guint i = 0; i < parent_history->len; i++)
      g_ptr_array_add (list, parent_history->pdata[i]);
  g_ptr_array_add (list, own);
  return list;
}

#define EMPTY_DIFF "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"

#define ZERO_CONFIG \
  "{\"Hostname\":\"\",\"Domainname\":\"\",\"User\":\"\",\"AttachStdin\":false,\"AttachStdout\":false," \
  "\"AttachStderr\":false,\"Tty\":false,\"OpenStdin\":false,\"StdinOnce\":false,\"Env\":null," \
  "\"Cmd\":null,\"Image\":\"\",\"Volumes\":null,\"WorkingDir\":\"\",\"Entrypoint\":null," \
  "\"OnBuild\":null,\"Labels\":null}"

/* ---- V1Image decode + marshal (§6.8, §6.9) ------------------------------ */

typedef struct {
  const char *name;
  const char *in;
  const char *out;
} RoundCase;

static const RoundCase v1_round_cases[] = {
  { "null-is-zero", "null", "{\"created\":\"0001-01-01T00:00:00Z\",\"container_config\":" ZERO_CONFIG "}" },
  { "empty-object", "{}", "{\"created\":\"0001-01-01T00:00:00Z\",\"container_config\":" ZERO_CONFIG "}" },
  { "field-order-omitempty",
    "{\"Size\":5,\"os\":\"linux\",\"architecture\":\"amd64\",\"config\":{},\"author\":\"a\","
    "\"docker_version\":\"1.9.1\",\"container\":\"c\",\"created\":\"2015-01-01T00:00:00Z\","
    "\"comment\":\"m\",\"parent\":\"p\",\"id\":\"i\",\"unknown\":[1,{\"x\":2}]}",
    "{\"id\":\"i\",\"parent\":\"p\",\"comment\":\"m\",\"created\":\"2015-01-01T00:00:00Z\",\"container\":\"c\","
    "\"container_config\":" ZERO_CONFIG ",\"docker_version\":\"1.9.1\",\"author\":\"a\",\"config\":" ZERO_CONFIG
    ",\"architecture\":\"amd64\",\"os\":\"linux\",\"Size\":5}" },
  { "case-insensitive-keys",
    "{\"ID\":\"x\",\"CREATED\":\"2015-01-01T00:00:00Z\",\"SIZE\":7,\"o\xc5\xbf\":\"linux\",\"Container_Config\":{\"hostname\":\"h\"}}",
    "{\"id\":\"x\",\"created\":\"2015-01-01T00:00:00Z\",\"container_config\":{\"Hostname\":\"h\",\"Domainname\":\"\","
    "\"User\":\"\",\"AttachStdin\":false,\"AttachStdout\":false,\"AttachStderr\":false,\"Tty\":false,\"OpenStdin\":false,"
    "\"StdinOnce\":false,\"Env\":null,\"Cmd\":null,\"Image\":\"\",\"Volumes\":null,\"WorkingDir\":\"\",\"Entrypoint\":null,"
    "\"OnBuild\":null,\"Labels\":null},\"os\":\"linux\",\"Size\":7}" },
  { "duplicates-in-order-null-keeps",
    "{\"author\":\"a\",\"author\":null,\"os\":\"x\",\"OS\":\"y\",\"Size\":3,\"Size\":null,\"config\":{\"User\":\"u\"},"
    "\"config\":{\"Tty\":true},\"created\":\"2015-01-01T00:00:00Z\"}",
    "{\"created\":\"2015-01-01T00:00:00Z\",\"container_config\":" ZERO_CONFIG ",\"author\":\"a\",\"config\":"
    "{\"Hostname\":\"\",\"Domainname\":\"\",\"User\":\"u\",\"AttachStdin\":false,\"AttachStdout\":false,\"AttachStderr\":false,"
    "\"Tty\":true,\"OpenStdin\":false,\"StdinOnce\":false,\"Env\":null,\"Cmd\":null,\"Image\":\"\",\"Volumes\":null,"
    "\"WorkingDir\":\"\",\"Entrypoint\":null,\"OnBuild\":null,\"Labels\":null},\"os\":\"y\",\"Size\":3}" },
  { "config-null-omitted", "{\"config\":{\"User\":\"u\"},\"config\":null}",
    "{\"created\":\"0001-01-01T00:00:00Z\",\"container_config\":" ZERO_CONFIG "}" },
  { "container-config-null-unchanged", "{\"container_config\":{\"User\":\"u\"},\"container_config\":null}",
    "{\"created\":\"0001-01-01T00:00:00Z\",\"container_config\":{\"Hostname\":\"\",\"Domainname\":\"\",\"User\":\"u\","
    "\"AttachStdin\":false,\"AttachStdout\":false,\"AttachStderr\":false,\"Tty\":false,\"OpenStdin\":false,\"StdinOnce\":false,"
    "\"Env\":null,\"Cmd\":null,\"Image\":\"\",\"Volumes\":null,\"WorkingDir\":\"\",\"Entrypoint\":null,\"OnBuild\":null,"
    "\"Labels\":null}}" },
  { "strings-reencoded",
    "{\"author\":\"J\\u00f6rg \\/ <a> \\ud83d\xff\",\"comment\":\"\\b\\f\"}",
    "{\"comment\":\"\\u0008\\u000c\",\"created\":\"0001-01-01T00:00:00Z\",\"container_config\":" ZERO_CONFIG
    ",\"author\":\"J\xc3\xb6rg / \\u003ca\\u003e \xef\xbf\xbd\xef\xbf\xbd\"}" },
  { "created-normalised", "{\"created\":\"2015-01-02T03:04:05.100+00:00\"}",
    "{\"created\":\"2015-01-02T03:04:05.1Z\",\"container_config\":" ZERO_CONFIG "}" },
  { "config-fields",
    "{\"container_config\":{\"ExposedPorts\":{\"80/tcp\":{\"x\":1},\"443/tcp\":null},\"PublishService\":\"s\","
    "\"Env\":[],\"Cmd\":\"echo hi\",\"ArgsEscaped\":true,\"Volumes\":{\"/v\":null,\"/a\":{}},\"Entrypoint\":[],"
    "\"NetworkDisabled\":true,\"MacAddress\":\"m\",\"OnBuild\":[\"a\",null],\"Labels\":{\"b\":\"2\",\"a\":null},"
    "\"StopSignal\":\"SIGTERM\",\"VolumeDriver\":\"x\",\"Memory\":0,\"Image\":\"i\"}}",
    "{\"created\":\"0001-01-01T00:00:00Z\",\"container_config\":{\"Hostname\":\"\",\"Domainname\":\"\",\"User\":\"\","
    "\"AttachStdin\":false,\"AttachStdout\":false,\"AttachStderr\":false,\"ExposedPorts\":{\"443/tcp\":{},\"80/tcp\":{}},"
    "\"PublishService\":\"s\",\"Tty\":false,\"OpenStdin\":false,\"StdinOnce\":false,\"Env\":[],\"Cmd\":[\"echo hi\"],"
    "\"ArgsEscaped\":true,\"Image\":\"i\",\"Volumes\":{\"/a\":{},\"/v\":{}},\"WorkingDir\":\"\",\"Entrypoint\":[],"
    "\"NetworkDisabled\":true,\"MacAddress\":\"m\",\"OnBuild\":[\"a\",\"\"],\"Labels\":{\"a\":\"\",\"b\":\"2\"},"
    "\"StopSignal\":\"SIGTERM\"}}" },
  { "empty-maps",
    "{\"container_config\":{\"ExposedPorts\":{},\"Volumes\":{},\"Labels\":{}}}",
    "{\"created\":\"0001-01-01T00:00:00Z\",\"container_config\":{\"Hostname\":\"\",\"Domainname\":\"\",\"User\":\"\","
    "\"AttachStdin\":false,\"AttachStdout\":false,\"AttachStderr\":false,\"Tty\":false,\"OpenStdin\":false,"
    "\"StdinOnce\":false,\"Env\":null,\"Cmd\":null,\"Image\":\"\",\"Volumes\":{},\"WorkingDir\":\"\",\"Entrypoint\":null,"
    "\"OnBuild\":null,\"Labels\":{}}}" },
  { "maps-merge-slices-replace",
    "{\"container_config\":{\"Labels\":{\"a\":\"1\"},\"Labels\":{\"b\":\"2\"},\"Env\":[\"x\",\"y\"],\"Env\":[null],"
    "\"Cmd\":[\"a\",\"b\"],\"Cmd\":[\"c\"],\"Volumes\":{\"/a\":{}},\"Volumes\":null,\"Volumes\":{\"/b\":{}}}}",
    "{\"created\":\"0001-01-01T00:00:00Z\",\"container_config\":{\"Hostname\":\"\",\"Domainname\":\"\",\"User\":\"\","
    "\"AttachStdin\":false,\"AttachStdout\":false,\"AttachStderr\":false,\"Tty\":false,\"OpenStdin\":false,"
    "\"StdinOnce\":false,\"Env\":[\"x\"],\"Cmd\":[\"c\"],\"Image\":\"\",\"Volumes\":{\"/b\":{}},\"WorkingDir\":\"\","
    "\"Entrypoint\":null,\"OnBuild\":null,\"Labels\":{\"a\":\"1\",\"b\":\"2\"}}}" },
};

static void
test_v1_round (gconstpointer data)
{
  const RoundCase *c = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GpV1Image) img = gp_v1image_parse (c->in, strlen (c->in), &error);

  g_assert_no_error (error);
  g_assert_nonnull (img);
  g_autoptr(GString) out = g_string_new (NULL);
  g_assert_true (gp_v1image_append_json (out, img, NULL));
  g_assert_cmpstr (out->str, ==, c->out);
}

typedef struct {
  const char *name;
  const char *in;
  const char *msg;
} ErrorCase;

static const ErrorCase v1_error_cases[] = {
  { "invalid-json", "{\"id\":}", "invalid JSON at byte 6" },
  { "trailing-garbage", "{} x", "after top-level value" },
  { "array-top", "[]", "cannot unmarshal array" },
  { "string-top", "\"x\"", "cannot unmarshal string" },
  { "created-null", "{\"created\":null}", "created" },
  { "created-bad", "{\"created\":\"2015-01-01\"}", "created" },
  { "created-number", "{\"created\":1}", "created" },
  { "created-later-null", "{\"created\":\"2015-01-01T00:00:00Z\",\"created\":null}", "created" },
  { "size-float", "{\"Size\":1.0}", "Size" },
  { "size-exponent", "{\"Size\":1e3}", "Size" },
  { "size-string", "{\"Size\":\"1\"}", "Size" },
  { "size-overflow", "{\"Size\":9223372036854775808}", "Size" },
  { "id-number", "{\"id\":5}", "id" },
  { "author-bool", "{\"AUTHOR\":true}", "author" },
  { "container-config-array", "{\"container_config\":[]}", "container_config" },
  { "config-string", "{\"config\":\"x\"}", "config" },
  { "tty-string", "{\"container_config\":{\"Tty\":\"true\"}}", "Tty" },
  { "tty-number", "{\"config\":{\"Tty\":1}}", "Tty" },
  { "cmd-number", "{\"container_config\":{\"Cmd\":5}}", "Cmd" },
  { "cmd-object", "{\"container_config\":{\"Cmd\":{}}}", "Cmd" },
  { "cmd-bad-element", "{\"container_config\":{\"Cmd\":[\"a\",1]}}", "Cmd" },
  { "env-string", "{\"container_config\":{\"Env\":\"A=1\"}}", "Env" },
  { "env-element", "{\"container_config\":{\"Env\":[true]}}", "Env" },
  { "exposed-port-number", "{\"container_config\":{\"ExposedPorts\":{\"80/tcp\":1}}}", "ExposedPorts" },
  { "exposed-port-array", "{\"container_config\":{\"ExposedPorts\":{\"80/tcp\":[]}}}", "ExposedPorts" },
  { "volumes-string", "{\"container_config\":{\"Volumes\":\"/v\"}}", "Volumes" },
  { "label-number", "{\"container_config\":{\"Labels\":{\"a\":1}}}", "Labels" },
  { "labels-array", "{\"container_config\":{\"Labels\":[]}}", "Labels" },
};

static void
test_v1_error (gconstpointer data)
{
  const ErrorCase *c = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GpV1Image) img = gp_v1image_parse (c->in, strlen (c->in), &error);

  g_assert_null (img);
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_JSON);
  if (strstr (error->message, c->msg) == NULL)
    g_error ("message \"%s\" lacks \"%s\"", error->message, c->msg);
}

static void
test_v1_marshal_fails (void)
{
  const char *in = "{\"created\":\"0000-01-00T00:00:00Z\"}";
  g_autoptr(GpV1Image) img = gp_v1image_parse (in, strlen (in), NULL);
  g_autoptr(GString) out = g_string_new ("x");
  g_autoptr(GError) error = NULL;

  g_assert_nonnull (img);
  g_assert_false (gp_v1image_append_json (out, img, &error));
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_INVALID);
  g_assert_cmpstr (out->str, ==, "x");
}

/* ---- History (§5.5) ----------------------------------------------------- */

static void
test_history (void)
{
  const char *in = "{\"created\":\"2015-01-02T03:04:05.100+00:00\",\"author\":\"J\\u00f6rg \\/ <a>\","
                   "\"container_config\":{\"Cmd\":[\"/bin/sh\",\"-c\",\"echo <hi> && true\"]},\"comment\":\"c\"}";
  g_autoptr(GpHistory) h = gp_history_from_v1_json (in, strlen (in), NULL);
  g_autoptr(GString) out = g_string_new (NULL);

  g_assert_nonnull (h);
  g_assert_true (gp_history_append_json (out, h, NULL));
  g_assert_cmpstr (out->str, ==,
                   "{\"created\":\"2015-01-02T03:04:05.1Z\",\"author\":\"J\xc3\xb6rg / \\u003ca\\u003e\","
                   "\"created_by\":\"/bin/sh -c echo \\u003chi\\u003e \\u0026\\u0026 true\",\"comment\":\"c\"}");

  /* Cmd as one string, empty Cmd, missing everything. */
  const char *one = "{\"created\":\"2015-10-31T22:22:54.690851953Z\",\"container_config\":{\"Cmd\":\"ls -l\"}}";
  g_autoptr(GpHistory) h1 = gp_history_from_v1_json (one, strlen (one), NULL);
  g_string_truncate (out, 0);
  g_assert_true (gp_history_append_json (out, h1, NULL));
  g_assert_cmpstr (out->str, ==, "{\"created\":\"2015-10-31T22:22:54.690851953Z\",\"created_by\":\"ls -l\"}");
  const char *empty_cmd = "{\"container_config\":{\"Cmd\":[]}}";
  g_autoptr(GpHistory) h2 = gp_history_from_v1_json (empty_cmd, strlen (empty_cmd), NULL);
  g_assert_nonnull (h2);
  g_string_truncate (out, 0);
  g_assert_true (gp_history_append_json (out, h2, NULL));
  g_assert_cmpstr (out->str, ==, "{\"created\":\"0001-01-01T00:00:00Z\"}");
  h2->empty_layer = TRUE;
  g_string_truncate (out, 0);
  g_assert_true (gp_history_append_json (out, h2, NULL));
  g_assert_cmpstr (out->str, ==, "{\"created\":\"0001-01-01T00:00:00Z\",\"empty_layer\":true}");

  g_autoptr(GError) error = NULL;
  g_assert_null (gp_history_from_v1_json ("{\"created\":null}", 16, &error));
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_JSON);

  g_autoptr(GPtrArray) empty = g_ptr_array_new ();
  g_string_truncate (out, 0);
  g_assert_true (gp_history_array_append_json (out, NULL, NULL));
  g_assert_true (gp_history_array_append_json (out, empty, NULL));
  g_assert_cmpstr (out->str, ==, "null[]");

  const char *diff_ids[] = { "sha256:a", "sha256:b", NULL };
  const char *none[] = { NULL };
  g_string_truncate (out, 0);
  gp_rootfs_append_json (out, "layers", diff_ids);
  gp_rootfs_append_json (out, "layers", none);
  gp_rootfs_append_json (out, "layers", NULL);
  g_assert_cmpstr (out->str, ==,
                   "{\"type\":\"layers\",\"diff_ids\":[\"sha256:a\",\"sha256:b\"]}{\"type\":\"layers\"}{\"type\":\"layers\"}");
}

/* ---- Docker version comparison (§5.6 step 1) ---------------------------- */

typedef struct {
  const char *name;
  const char *a, *b;
  gint cmp;
} VersionCase;

static const VersionCase version_cases[] = {
  { "equal", "1.8.3", "1.8.3", 0 },
  { "older-patch", "1.8.2", "1.8.3", -1 },
  { "rc-is-zero", "1.8.3-rc1", "1.8.3", -1 },
  { "rc-equals-zero", "1.8.3-rc1", "1.8.0", 0 },
  { "empty", "", "1.8.3", -1 },
  { "ancient", "0.4.0", "1.8.3", -1 },
  { "newer-patch", "1.9.1", "1.8.3", 1 },
  { "dev-suffix", "1.10.0-dev", "1.8.3", 1 },
  { "numeric-not-lexical", "1.10", "1.9", 1 },
  { "plus-sign", "+5", "4", 1 },
  { "plus-component", "1.8.+3", "1.8.3", 0 },
  { "minus-component", "1.-1", "1.0", -1 },
  { "extra-zero", "1.8.3.0", "1.8.3", 0 },
  { "extra-one", "1.8.3.1", "1.8.3", 1 },
  { "empty-component", "1..3", "1.0.3", 0 },
  { "letters", "a.b", "0.0", 0 },
  { "hex-not-parsed", "0x10", "0", 0 },
  { "saturate-max", "99999999999999999999", "9223372036854775807", 0 },
  { "saturate-min", "-99999999999999999999", "-9223372036854775808", 0 },
  { "overflow-before-garbage", "99999999999999999999x", "9223372036854775807", 0 },
  { "garbage-before-overflow", "9999999999999999999x", "0", 0 },
  { "max-vs-max-minus-one", "9223372036854775807", "9223372036854775806", 1 },
  { "space-is-error", " 2", "0", 0 },
  { "sign-alone", "+", "0", 0 },
};

static void
test_version (gconstpointer data)
{
  const VersionCase *c = data;

  g_assert_cmpint (gp_docker_version_compare (c->a, c->b), ==, c->cmp);
  g_assert_cmpint (gp_docker_version_compare (c->b, c->a), ==, -c->cmp);
}

/* ---- MakeConfigFromV1Config (§5.6, §9.3, A3) ---------------------------- */

static GBytes *
make_config (const char *v1, gsize len, const char *const *diff_ids, GPtrArray *parent_history,
             GpHistory **out_own)
{
  g_autoptr(GError) error = NULL;
  GpHistory *own = gp_history_from_v1_json (v1, len, &error);
  g_assert_no_error (error);
  g_autoptr(GPtrArray) history = history_list (parent_history, own);
  GBytes *config = gp_make_config_from_v1 (v1, len, diff_ids, history, &error);
  g_assert_no_error (error);
  g_assert_nonnull (config);
  if (out_own)
    *out_own = own;
  else
    gp_history_free (own);
  return config;
}

static void
test_make_config_5_6 (void)
{
  g_autofree char *ones = g_strnfill (64, '1');
  g_autofree char *v1 = g_strdup_printf (
    "{\"id\":\"%s\",\"created\":\"2015-10-31T22:22:54.690851953Z\",\"container_config\":{\"Hostname\":\"\","
    "\"Domainname\":\"\",\"User\":\"\",\"AttachStdin\":false,\"AttachStdout\":false,\"AttachStderr\":false,"
    "\"ExposedPorts\":null,\"PublishService\":\"\",\"Tty\":false,\"OpenStdin\":false,\"StdinOnce\":false,"
    "\"Env\":null,\"Cmd\":null,\"Image\":\"\",\"Volumes\":null,\"VolumeDriver\":\"\",\"WorkingDir\":\"\","
    "\"Entrypoint\":null,\"NetworkDisabled\":false,\"MacAddress\":\"\",\"OnBuild\":null,\"Labels\":null},"
    "\"docker_version\":\"1.7.1\",\"architecture\":\"amd64\",\"os\":\"linux\",\"Size\":1108935}", ones);
  const char *diff_ids[] = { "sha256:9e98980bb7b5f56a3d265dcda1294479dc2683d6a41ea44beb293495d87e7d83", NULL };
  const char *expected =
    "{\"architecture\":\"amd64\",\"container_config\":{\"Hostname\":\"\",\"Domainname\":\"\",\"User\":\"\","
    "\"AttachStdin\":false,\"AttachStdout\":false,\"AttachStderr\":false,\"Tty\":false,\"OpenStdin\":false,"
    "\"StdinOnce\":false,\"Env\":null,\"Cmd\":null,\"Image\":\"\",\"Volumes\":null,\"WorkingDir\":\"\","
    "\"Entrypoint\":null,\"OnBuild\":null,\"Labels\":null},\"created\":\"2015-10-31T22:22:54.690851953Z\","
    "\"docker_version\":\"1.7.1\",\"history\":[{\"created\":\"2015-10-31T22:22:54.690851953Z\"}],\"os\":\"linux\","
    "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:9e98980bb7b5f56a3d265dcda1294479dc2683d6a41ea44beb293495d87e7d83\"]}}";
  g_autoptr(GBytes) config = make_config (v1, strlen (v1), diff_ids, NULL, NULL);

  assert_bytes_eq (config, expected, strlen (expected));
  g_autofree char *id = digest_of_bytes (config);
  g_assert_cmpstr (id, ==, "sha256:703431e581620538eeb23d7c582382cb65022c1ea3843b1cc5e65889af169b1e");
}

#define V1_9_1 \
  "{\"id\":\"4444444444444444444444444444444444444444444444444444444444444444\",\"comment\":\"Imported from -\"," \
  "\"created\":\"2014-06-13T14:03:50.821769-07:00\",\"container_config\":{\"Hostname\":\"\",\"Domainname\":\"\"," \
  "\"User\":\"\",\"AttachStdin\":false,\"AttachStdout\":false,\"AttachStderr\":false,\"Tty\":false,\"OpenStdin\":false," \
  "\"StdinOnce\":false,\"Env\":null,\"Cmd\":null,\"Image\":\"\",\"Volumes\":null,\"WorkingDir\":\"\",\"Entrypoint\":null," \
  "\"OnBuild\":null},\"docker_version\":\"1.0.0\",\"architecture\":\"amd64\",\"os\":\"linux\",\"Size\":2}"
#define CONFIG_9_3 \
  "{\"architecture\":\"amd64\",\"comment\":\"Imported from -\",\"container_config\":{\"Hostname\":\"\",\"Domainname\":\"\"," \
  "\"User\":\"\",\"AttachStdin\":false,\"AttachStdout\":false,\"AttachStderr\":false,\"Tty\":false,\"OpenStdin\":false," \
  "\"StdinOnce\":false,\"Env\":null,\"Cmd\":null,\"Image\":\"\",\"Volumes\":null,\"WorkingDir\":\"\",\"Entrypoint\":null," \
  "\"OnBuild\":null,\"Labels\":null},\"created\":\"2014-06-13T14:03:50.821769-07:00\",\"docker_version\":\"1.0.0\"," \
  "\"history\":[{\"created\":\"2014-06-13T14:03:50.821769-07:00\",\"comment\":\"Imported from -\"}],\"os\":\"linux\"," \
  "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:e54c0ca04a16798bfd518dd5c4acf5589d18b8826fa9c08e7123e43ad3271b31\"]}}"
#define DIFF_9 "sha256:e54c0ca04a16798bfd518dd5c4acf5589d18b8826fa9c08e7123e43ad3271b31"

static void
test_make_config_9_3 (void)
{
  const char *diff_ids[] = { DIFF_9, NULL };
  g_autoptr(GBytes) config = make_config (V1_9_1, strlen (V1_9_1), diff_ids, NULL, NULL);

  assert_bytes_eq (config, CONFIG_9_3, strlen (CONFIG_9_3));
  g_autofree char *id = digest_of_bytes (config);
  g_assert_cmpstr (id, ==, "sha256:2934ad62bd641a433c126c31eab000a114bf54653d7bb54999783a3e986e1cea");
}

static void
test_make_config_non_fallback (void)
{
  /* §5.6 "Consequences": raw top-level values kept, history normalised,
   * unknown keys kept, the six keys removed, rootfs/history replaced. */
  const char *v1 = "{\"docker_version\":\"1.9.1\",\"created\":\"2015-01-02T03:04:05.100+00:00\","
                   "\"weird\":{\"a\":[1,2.50,1e3]},\"author\":\"J\\u00f6rg \\/ \\u003ca\\u003e\",\"id\":\"x\","
                   "\"parent\":\"p\",\"Size\":5,\"parent_id\":\"sha256:p\",\"layer_id\":\"sha256:l\",\"throwaway\":true,"
                   "\"size\":3,\"Parent\":\"kept\",\"rootfs\":{\"old\":1},\"history\":[],\"checksum\":\"c\"}";
  const char *diff_ids[] = { "sha256:aa", "sha256:bb", NULL };
  const char *expected =
    "{\"Parent\":\"kept\",\"author\":\"J\\u00f6rg \\/ \\u003ca\\u003e\",\"checksum\":\"c\","
    "\"created\":\"2015-01-02T03:04:05.100+00:00\",\"docker_version\":\"1.9.1\","
    "\"history\":[{\"created\":\"2015-01-02T03:04:05.1Z\",\"author\":\"J\xc3\xb6rg / \\u003ca\\u003e\"}],"
    "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:aa\",\"sha256:bb\"]},\"size\":3,"
    "\"weird\":{\"a\":[1,2.50,1e3]}}";
  g_autoptr(GBytes) config = make_config (v1, strlen (v1), diff_ids, NULL, NULL);

  assert_bytes_eq (config, expected, strlen (expected));
}

static void
test_make_config_history_null (void)
{
  /* Non-fallback: a history time that cannot be marshalled makes Docker's
   * rawJSON return nil, written as null. */
  const char *v1 = "{\"docker_version\":\"1.9.1\",\"created\":\"0000-01-00T00:00:00Z\"}";
  const char *diff_ids[] = { EMPTY_DIFF, NULL };
  const char *expected = "{\"created\":\"0000-01-00T00:00:00Z\",\"docker_version\":\"1.9.1\",\"history\":null,"
                         "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" EMPTY_DIFF "\"]}}";
  g_autoptr(GBytes) config = make_config (v1, strlen (v1), diff_ids, NULL, NULL);

  assert_bytes_eq (config, expected, strlen (expected));

  /* The same in the fallback path fails. */
  const char *old = "{\"docker_version\":\"1.8.2\",\"created\":\"0000-01-00T00:00:00Z\"}";
  g_autoptr(GError) error = NULL;
  g_autoptr(GpHistory) h = gp_history_from_v1_json (old, strlen (old), NULL);
  g_autoptr(GPtrArray) history = history_list (NULL, h);
  g_assert_null (gp_make_config_from_v1 (old, strlen (old), diff_ids, history, &error));
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_INVALID);
}

static const ErrorCase make_config_errors[] = {
  { "invalid", "{", "unexpected end" },
  { "trailing", "{\"docker_version\":\"1.9.1\"} {}", "after top-level value" },
  { "version-number", "{\"docker_version\":1.9}", "docker_version" },
  { "version-case-insensitive", "{\"Docker_Version\":true}", "docker_version" },
  { "array", "[]", "cannot unmarshal array" },
  { "fallback-type-error", "{\"docker_version\":\"1.8.2\",\"Size\":\"x\"}", "Size" },
  { "fallback-created-null", "{\"created\":null}", "created" },
};

static void
test_make_config_error (gconstpointer data)
{
  const ErrorCase *c = data;
  const char *diff_ids[] = { EMPTY_DIFF, NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) history = g_ptr_array_new ();
  g_autoptr(GBytes) config = gp_make_config_from_v1 (c->in, strlen (c->in), diff_ids, history, &error);

  g_assert_null (config);
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_JSON);
  if (strstr (error->message, c->msg) == NULL)
    g_error ("message \"%s\" lacks \"%s\"", error->message, c->msg);
}

static void
test_make_config_null_v1 (void)
{
  /* `null` decodes to a zero V1Image (no docker_version: fallback). */
  const char *diff_ids[] = { EMPTY_DIFF, NULL };
  g_autoptr(GBytes) config = make_config ("null", 4, diff_ids, NULL, NULL);
  const char *expected = "{\"container_config\":" ZERO_CONFIG ",\"created\":\"0001-01-01T00:00:00Z\","
                         "\"history\":[{\"created\":\"0001-01-01T00:00:00Z\"}],"
                         "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" EMPTY_DIFF "\"]}}";
  assert_bytes_eq (config, expected, strlen (expected));
}

/* moby-vectors A3: both batches, chained through the parent's config. */
static void
run_a3_chain (GBytes *v1_first, GBytes *v1_second, GBytes *want1, GBytes *want2)
{
  const char *diff1[] = { EMPTY_DIFF, NULL };
  const char *diff2[] = { EMPTY_DIFF, EMPTY_DIFF, NULL };
  gsize len1, len2;
  const char *j1 = g_bytes_get_data (v1_first, &len1);
  const char *j2 = g_bytes_get_data (v1_second, &len2);

  g_autoptr(GBytes) c1 = make_config (j1, len1, diff1, NULL, NULL);
  g_assert_true (g_bytes_equal (c1, want1));
  g_autofree char *id1 = digest_of_bytes (c1);
  g_assert_cmpstr (id1, ==, "sha256:ca406eaf9c26898414ff5b7b3a023c33310759d6203be0663dbf1b3a712f432d");

  /* Image 2 uses image 1's stored config: its diff IDs and history. */
  gsize clen;
  const char *cdata = g_bytes_get_data (c1, &clen);
  g_autoptr(GError) error = NULL;
  g_autoptr(GpImageConfig) parent = gp_image_config_parse (cdata, clen, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (parent->diff_ids->len, ==, 1);
  g_assert_cmpstr (((GString *) parent->diff_ids->pdata[0])->str, ==, EMPTY_DIFF);
  g_autoptr(GBytes) c2 = make_config (j2, len2, diff2, parent->history, NULL);
  g_assert_true (g_bytes_equal (c2, want2));
  g_autofree char *id2 = digest_of_bytes (c2);
  g_assert_cmpstr (id2, ==, "sha256:a488bec94bb96b26a968f913d25ef7d8d204d727ca328b52b4b059c7d03260b6");
}

static void
test_a3_batch1 (void)
{
  g_autoptr(GBytes) img1 = vector_block ("### A3", 0);
  if (img1 == NULL)
    return;
  g_autoptr(GBytes) img2 = vector_block ("### A3", 1);
  g_autoptr(GBytes) want1 = vector_block ("### A3", 2);
  g_autoptr(GBytes) want2 = vector_block ("### A3", 3);
  run_a3_chain (img1, img2, want1, want2);
}

static void
test_a3_batch2 (void)
{
  g_autoptr(GBytes) want1 = vector_block ("### A3", 2);
  if (want1 == NULL)
    return;
  g_autoptr(GBytes) want2 = vector_block ("### A3", 3);
  g_autoptr(GBytes) img17 = vector_block ("### A3", 4);
  g_autoptr(GBytes) imgd1 = vector_block ("### A3", 5);
  run_a3_chain (imgd1, img17, want1, want2);

  /* Parent record of the legacy child names d1592a71…. */
  gsize len;
  const char *j = g_bytes_get_data (img17, &len);
  g_autoptr(GString) parent = NULL;
  g_autoptr(GString) parent_id = NULL;
  g_assert_true (gp_v1_json_parent_fields (j, len, &parent, &parent_id, NULL));
  g_assert_cmpstr (parent->str, ==, "d1592a710ac323612bd786fa8ac20727c58d8a67847e5a65177c594f43919498");
  g_assert_cmpuint (parent_id->len, ==, 0);
}

/* ---- image config parse (imagedb), B3, A2 ------------------------------- */

static void
test_image_config (void)
{
  g_autoptr(GBytes) tj = vector_block ("### B3", 0);
  if (tj == NULL)
    return;
  gsize len;
  const char *data = g_bytes_get_data (tj, &len);
  g_assert_nonnull (memchr (data, '\t', len));
  g_autoptr(GError) error = NULL;
  g_autoptr(GpImageConfig) cfg = gp_image_config_parse (data, len, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (cfg->raw, tj));
  g_assert_cmpstr (cfg->rootfs_type->str, ==, "layers");
  g_assert_nonnull (cfg->diff_ids);
  g_assert_cmpuint (cfg->diff_ids->len, ==, 0);
  g_assert_cmpstr (cfg->v1.architecture->str, ==, "amd64");
  g_assert_nonnull (cfg->v1.config);

  /* A2's image config: unusual key order is part of the bytes. */
  g_autoptr(GBytes) a2 = vector_block ("### A2", 2);
  data = g_bytes_get_data (a2, &len);
  g_autoptr(GpImageConfig) c2 = gp_image_config_parse (data, len, &error);
  g_assert_no_error (error);
  g_autofree char *id = digest_of_bytes (c2->raw);
  g_assert_cmpstr (id, ==, "sha256:32ef8bbc595aad206c91d61fe6446f292852cf0d7c6baf00f0f8b9cd4069d6f6");
  g_assert_cmpuint (c2->history->len, ==, 2);
  g_assert_cmpstr (((GpHistory *) c2->history->pdata[1])->created_by->str, ==, "/bin/sh -c #(nop) CMD [\"sh\"]");
  g_assert_cmpuint (c2->diff_ids->len, ==, 2);
}

typedef struct {
  const char *name;
  const char *in;
  gint code;
} CodeCase;

static const CodeCase image_config_errors[] = {
  { "empty-object", "{}", GP_DATA_ERROR_INVALID },
  { "null", "null", GP_DATA_ERROR_INVALID },
  { "rootfs-null", "{\"rootfs\":null}", GP_DATA_ERROR_INVALID },
  { "rootfs-then-null", "{\"rootfs\":{\"type\":\"layers\"},\"rootfs\":null}", GP_DATA_ERROR_INVALID },
  { "invalid", "{\"rootfs\":", GP_DATA_ERROR_JSON },
  { "rootfs-array", "{\"rootfs\":[]}", GP_DATA_ERROR_JSON },
  { "diff-ids-number", "{\"rootfs\":{\"diff_ids\":[1]}}", GP_DATA_ERROR_JSON },
  { "history-created-null", "{\"rootfs\":{},\"history\":[{\"created\":null}]}", GP_DATA_ERROR_JSON },
  { "history-object", "{\"rootfs\":{},\"history\":{}}", GP_DATA_ERROR_JSON },
  { "parent-number", "{\"rootfs\":{},\"parent\":1}", GP_DATA_ERROR_JSON },
  { "case-variant-rootfs", "{\"ROOTFS\":5,\"rootfs\":{}}", GP_DATA_ERROR_JSON },
};

static void
test_image_config_error (gconstpointer data)
{
  const CodeCase *c = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GpImageConfig) cfg = gp_image_config_parse (c->in, strlen (c->in), &error);

  g_assert_null (cfg);
  g_assert_error (error, GP_DATA_ERROR, c->code);
}

static void
test_image_config_fields (void)
{
  const char *in = "{\"id\":\"i\",\"parent\":\"sha256:p\",\"created\":\"2015-01-01T00:00:00Z\","
                   "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"a\",\"b\"]},\"rootfs\":{\"diff_ids\":[\"c\"]},"
                   "\"history\":[{\"author\":\"x\"},{}],\"history\":[{\"comment\":\"y\"}]}";
  g_autoptr(GpImageConfig) cfg = gp_image_config_parse (in, strlen (in), NULL);

  g_assert_nonnull (cfg);
  g_assert_cmpstr (cfg->parent->str, ==, "sha256:p");
  g_assert_null (cfg->v1.parent); /* shadowed by Image.Parent */
  g_assert_cmpstr (cfg->v1.id->str, ==, "i");
  g_assert_cmpstr (cfg->rootfs_type->str, ==, "layers"); /* merged */
  g_assert_cmpuint (cfg->diff_ids->len, ==, 1);
  g_assert_cmpstr (((GString *) cfg->diff_ids->pdata[0])->str, ==, "c");
  g_assert_cmpuint (cfg->history->len, ==, 1);
  GpHistory *h = cfg->history->pdata[0];
  g_assert_cmpstr (h->author->str, ==, "x"); /* Go decodes into the existing element */
  g_assert_cmpstr (h->comment->str, ==, "y");
  g_assert_cmpint (gp_go_time_to_unix (&cfg->v1.created), ==, 1420070400);
}

/* ---- CreateID and layer json (§5.7, §9.4) ------------------------------- */

static void
test_create_id_5_7 (void)
{
  const char *expected =
    "{\"container_config\":" ZERO_CONFIG ",\"created\":\"0001-01-01T00:00:00Z\","
    "\"layer_id\":\"sha256:033c6110fdde85c0111d92c00b21107c4b2f439a49929d760184e5221aa64d6e\","
    "\"parent\":\"sha256:ef7d97366e3d6dc6c99da23c6d0a17d9eb4f49486897938cac7737518c547f67\"}";
  const char *chain = "sha256:033c6110fdde85c0111d92c00b21107c4b2f439a49929d760184e5221aa64d6e";
  const char *parent = "sha256:ef7d97366e3d6dc6c99da23c6d0a17d9eb4f49486897938cac7737518c547f67";
  g_autoptr(GString) json = gp_v1image_create_id_json (NULL, chain, parent, NULL);

  g_assert_cmpstr (json->str, ==, expected);
  g_autofree char *id = gp_v1image_create_id (NULL, chain, parent, NULL);
  g_assert_cmpstr (id, ==, "sha256:75da539011f51227eadd3824408df6e837ff946ffb56b52ed383ad9718360d6d");

  /* Lower-layer json of §7.3. */
  g_autoptr(GBytes) lj = gp_v1image_layer_json (NULL, "75da", "ef7d", NULL);
  const char *want = "{\"id\":\"75da\",\"parent\":\"ef7d\",\"created\":\"0001-01-01T00:00:00Z\",\"container_config\":"
                     ZERO_CONFIG "}";
  assert_bytes_eq (lj, want, strlen (want));
  g_autoptr(GBytes) bottom = gp_v1image_layer_json (NULL, "ef7d", NULL, NULL);
  want = "{\"id\":\"ef7d\",\"created\":\"0001-01-01T00:00:00Z\",\"container_config\":" ZERO_CONFIG "}";
  assert_bytes_eq (bottom, want, strlen (want));
}

static void
test_create_id_9_4 (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GpImageConfig) cfg = gp_image_config_parse (CONFIG_9_3, strlen (CONFIG_9_3), &error);
  g_assert_no_error (error);

  g_autoptr(GString) json = gp_v1image_create_id_json (&cfg->v1, DIFF_9, NULL, NULL);
  const char *hashed =
    "{\"architecture\":\"amd64\",\"comment\":\"Imported from -\",\"container_config\":" ZERO_CONFIG ","
    "\"created\":\"2014-06-13T14:03:50.821769-07:00\",\"docker_version\":\"1.0.0\","
    "\"layer_id\":\"" DIFF_9 "\",\"os\":\"linux\"}";
  g_assert_cmpstr (json->str, ==, hashed);
  g_autofree char *id = gp_v1image_create_id (&cfg->v1, DIFF_9, "", NULL);
  g_assert_cmpstr (id, ==, "sha256:b72d98193752f03c467a16f16957257025da361c0b587e610a6be900a3da9d66");

  g_autoptr(GBytes) lj = gp_v1image_layer_json (&cfg->v1, id + 7, NULL, NULL);
  const char *want =
    "{\"id\":\"b72d98193752f03c467a16f16957257025da361c0b587e610a6be900a3da9d66\",\"comment\":\"Imported from -\","
    "\"created\":\"2014-06-13T14:03:50.821769-07:00\",\"container_config\":" ZERO_CONFIG ","
    "\"docker_version\":\"1.0.0\",\"architecture\":\"amd64\",\"os\":\"linux\"}";
  assert_bytes_eq (lj, want, strlen (want));
  g_assert_cmpuint (g_bytes_get_size (lj), ==, 489);
  g_assert_cmpint (gp_go_time_to_unix (&cfg->v1.created), ==, 1402693430);
}

/* ---- container config.v2.json (§4.7, A2) -------------------------------- */

static void
test_container_a2 (void)
{
  g_autoptr(GBytes) in = vector_block ("### A2", 0);
  if (in == NULL)
    return;
  g_autoptr(GBytes) want = vector_block ("### A2", 3);
  gsize len;
  const char *data = g_bytes_get_data (in, &len);
  g_autoptr(GError) error = NULL;
  g_autoptr(GpJsonRawObject) obj = gp_json_raw_object_parse (data, len, &error);
  g_assert_no_error (error);
  g_autoptr(GString) image = NULL;
  g_assert_cmpint (gp_container_json_get_image (obj, &image), ==, GP_CONTAINER_IMAGE_STRING);
  g_assert_cmpstr (image->str, ==, "2c5ac3f849df8627fcf2822727f87c57f38b7129d3604fbc11d861fe856ff093");
  g_autoptr(GBytes) out = gp_container_json_set_image (
    obj, "sha256:32ef8bbc595aad206c91d61fe6446f292852cf0d7c6baf00f0f8b9cd4069d6f6");
  g_assert_true (g_bytes_equal (out, want));
}

typedef struct {
  const char *name;
  const char *in;
  GpContainerImage state;
  const char *image;
  const char *rewritten;
} ContainerCase;

static const ContainerCase container_cases[] = {
  { "string-escaped", "{\"Image\":\"a\\u0062\",\"Name\":\"/x<y>\",  \"Args\":[ ]}", GP_CONTAINER_IMAGE_STRING, "ab",
    "{\"Args\":[],\"Image\":\"sha256:1\",\"Name\":\"/x\\u003cy\\u003e\"}" },
  { "absent", "{\"image\":\"x\"}", GP_CONTAINER_IMAGE_ABSENT, NULL,
    "{\"Image\":\"sha256:1\",\"image\":\"x\"}" },
  { "null", "{\"Image\":null}", GP_CONTAINER_IMAGE_NULL, NULL, "{\"Image\":\"sha256:1\"}" },
  { "number", "{\"Image\":5}", GP_CONTAINER_IMAGE_NOT_STRING, NULL, "{\"Image\":\"sha256:1\"}" },
  { "object", "{\"Image\":{}}", GP_CONTAINER_IMAGE_NOT_STRING, NULL, "{\"Image\":\"sha256:1\"}" },
  { "top-null", "null", GP_CONTAINER_IMAGE_ABSENT, NULL, "{\"Image\":\"sha256:1\"}" },
};

static void
test_container (gconstpointer data)
{
  const ContainerCase *c = data;
  g_autoptr(GpJsonRawObject) obj = gp_json_raw_object_parse (c->in, strlen (c->in), NULL);
  g_autoptr(GString) image = NULL;

  g_assert_nonnull (obj);
  g_assert_cmpint (gp_container_json_get_image (obj, &image), ==, c->state);
  if (c->image)
    g_assert_cmpstr (image->str, ==, c->image);
  else
    g_assert_null (image);
  g_autoptr(GBytes) out = gp_container_json_set_image (obj, "sha256:1");
  assert_bytes_eq (out, c->rewritten, strlen (c->rewritten));
}

/* ---- parent record (§1.5) ----------------------------------------------- */

typedef struct {
  const char *name;
  const char *in;
  gboolean ok;
  const char *parent, *parent_id;
} ParentCase;

static const ParentCase parent_cases[] = {
  { "legacy", "{\"id\":\"x\",\"parent\":\"abc\",\"Size\":\"not checked\"}", TRUE, "abc", "" },
  { "v1.9", "{\"parent_id\":\"sha256:def\",\"layer_id\":5}", TRUE, "", "sha256:def" },
  { "last-match-wins", "{\"parent\":\"a\",\"PARENT\":\"b\",\"Parent_ID\":\"c\"}", TRUE, "b", "c" },
  { "null-keeps", "{\"parent\":\"a\",\"parent\":null}", TRUE, "a", "" },
  { "escaped", "{\"p\\u0061rent\":\"\\u0061\"}", TRUE, "a", "" },
  { "top-null", "null", TRUE, "", "" },
  { "non-string", "{\"Parent\":5}", FALSE, NULL, NULL },
  { "non-string-id", "{\"parent_id\":[]}", FALSE, NULL, NULL },
  { "array", "[]", FALSE, NULL, NULL },
  { "trailing", "{} x", FALSE, NULL, NULL },
  { "invalid", "{\"parent\":\"a}", FALSE, NULL, NULL },
};

static void
test_parent (gconstpointer data)
{
  const ParentCase *c = data;
  GString *parent = NULL, *parent_id = NULL;
  g_autoptr(GError) error = NULL;
  gboolean ok = gp_v1_json_parent_fields (c->in, strlen (c->in), &parent, &parent_id, &error);

  g_assert_cmpint (ok, ==, c->ok);
  if (!ok)
    {
      g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_JSON);
      g_assert_null (parent);
      return;
    }
  g_assert_cmpstr (parent->str, ==, c->parent);
  g_assert_cmpstr (parent_id->str, ==, c->parent_id);
  g_string_free (parent, TRUE);
  g_string_free (parent_id, TRUE);
}

/* ---- golden data (Docker 1.10.3) ---------------------------------------- */

static GPtrArray *
list_files (const char *reldir)
{
  g_autofree char *path = g_build_filename (gp_test_shared_dir (), reldir, NULL);
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  if (dir == NULL)
    return names;
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  return names;
}

#define GOLDEN "golden/public/expected/files/"

static void
test_golden_imagedb_roundtrip (void)
{
  g_autoptr(GPtrArray) names = list_files (GOLDEN "image/vfs/imagedb/content/sha256");
  if (names->len == 0)
    {
      g_autofree char *path = g_build_filename (gp_test_shared_dir (), GOLDEN, NULL);
      gp_test_fail_no_shared (path);
      return;
    }
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *rel = g_build_filename (GOLDEN "image/vfs/imagedb/content/sha256", names->pdata[i], NULL);
      g_autoptr(GBytes) bytes = shared_file (rel);
      gsize len;
      const char *data = g_bytes_get_data (bytes, &len);
      g_autofree char *hex = sha256_hex (data, len);
      g_assert_cmpstr (hex, ==, names->pdata[i]);

      g_autoptr(GError) error = NULL;
      g_autoptr(GpImageConfig) cfg = gp_image_config_parse (data, len, &error);
      g_assert_no_error (error);
      g_assert_true (g_bytes_equal (cfg->raw, bytes));

      g_autoptr(GpJsonRawObject) obj = gp_json_raw_object_parse (data, len, &error);
      g_assert_no_error (error);
      g_autoptr(GString) out = g_string_new (NULL);
      gp_json_raw_object_append (out, obj);
      g_assert_cmpuint (out->len, ==, len);
      g_assert_true (memcmp (out->str, data, len) == 0);

      /* Re-marshalling the history entries gives the stored text. */
      g_autoptr(GString) hist = g_string_new (NULL);
      g_assert_true (gp_history_array_append_json (hist, cfg->history, NULL));
      g_assert_cmpstr (hist->str, ==, gp_json_raw_object_get (obj, "history", NULL));
    }
}

static void
append_string_map (GString *out, gconstpointer value, gpointer user_data)
{
  gp_json_append_map (out, (GHashTable *) value, NULL, NULL);
}

/* Decodes an object of strings (or of objects of strings if nested). */
static GHashTable *
decode_map (const char *raw, gsize len, gboolean nested)
{
  GHashTable *map = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                           nested ? (GDestroyNotify) g_hash_table_unref : g_free);
  GpJsonIter it;
  GString *key;
  const char *v;
  gsize vlen;

  g_assert_true (gp_json_object_iter_init (&it, raw, len));
  while (gp_json_object_iter_next (&it, &key, &v, &vlen))
    {
      gpointer value;
      if (nested)
        value = decode_map (v, vlen, FALSE);
      else
        {
          GString *s = NULL;
          g_assert_true (gp_json_decode_string (v, vlen, &s, NULL));
          value = g_string_free (s, FALSE);
        }
      g_hash_table_insert (map, g_string_free (key, FALSE), value);
    }
  return map;
}

static void
test_golden_repositories (void)
{
  g_autoptr(GBytes) bytes = shared_file (GOLDEN "image/vfs/repositories.json");
  if (bytes == NULL)
    return;
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);
  g_assert_true (gp_json_validate (data, len, NULL));
  g_autoptr(GpJsonRawObject) top = gp_json_raw_object_parse (data, len, NULL);
  gsize rlen;
  const char *repos = gp_json_raw_object_get (top, "Repositories", &rlen);
  g_autoptr(GHashTable) map = decode_map (repos, rlen, TRUE);
  g_autoptr(GString) out = g_string_new ("{\"Repositories\":");
  gp_json_append_map (out, map, append_string_map, NULL);
  g_string_append_c (out, '}');
  g_assert_cmpuint (out->len, ==, len);
  g_assert_true (memcmp (out->str, data, len) == 0);

  /* The mapping file: a stream-encoded map (trailing newline). */
  g_autoptr(GBytes) mapping = shared_file (GOLDEN ".migration-v1-images.json");
  data = g_bytes_get_data (mapping, &len);
  gsize start, end;
  g_assert_true (gp_json_value_end (data, len, &start, &end, NULL));
  g_autoptr(GHashTable) m = decode_map (data + start, end - start, FALSE);
  g_string_truncate (out, 0);
  gp_json_append_map (out, m, NULL, NULL);
  g_string_append_c (out, '\n');
  g_assert_cmpuint (out->len, ==, len);
  g_assert_true (memcmp (out->str, data, len) == 0);
}

static void
test_golden_distribution (void)
{
  const char *dir = GOLDEN "image/vfs/distribution/v2metadata-by-diffid/sha256";
  g_autoptr(GPtrArray) names = list_files (dir);
  if (names->len == 0)
    {
      g_autofree char *path = g_build_filename (gp_test_shared_dir (), GOLDEN, NULL);
      gp_test_fail_no_shared (path);
      return;
    }
  const char *fields[] = { "Digest", "SourceRepository" };
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *rel = g_build_filename (dir, names->pdata[i], NULL);
      g_autoptr(GBytes) bytes = shared_file (rel);
      gsize len;
      const char *data = g_bytes_get_data (bytes, &len);
      g_assert_true (gp_json_validate (data, len, NULL));
      g_autoptr(GString) out = g_string_new ("[");
      GpJsonIter arr;
      const char *elem;
      gsize elen;
      g_assert_true (gp_json_array_iter_init (&arr, data, len));
      for (guint n = 0; gp_json_array_iter_next (&arr, &elem, &elen); n++)
        {
          g_autoptr(GString) digest = g_string_new (NULL);
          g_autoptr(GString) source = g_string_new (NULL);
          GString **values[2] = { &digest, &source };
          GpJsonIter obj;
          GString *key;
          const char *v;
          gsize vlen;
          g_assert_true (gp_json_object_iter_init (&obj, elem, elen));
          while (gp_json_object_iter_next (&obj, &key, &v, &vlen))
            {
              gint f = gp_json_match_field (fields, 2, key->str, key->len);
              g_string_free (key, TRUE);
              g_assert_cmpint (f, >=, 0);
              g_string_free (*values[f], TRUE);
              g_assert_true (gp_json_decode_string (v, vlen, values[f], NULL));
            }
          if (n > 0)
            g_string_append_c (out, ',');
          g_string_append (out, "{\"Digest\":");
          gp_json_append_string (out, digest->str, digest->len);
          g_string_append (out, ",\"SourceRepository\":");
          gp_json_append_string (out, source->str, source->len);
          g_string_append_c (out, '}');
        }
      g_string_append_c (out, ']');
      g_assert_cmpuint (out->len, ==, len);
      g_assert_true (memcmp (out->str, data, len) == 0);
    }
}

static GBytes *
legacy_member (const char *member)
{
  g_autofree char *tarball = g_build_filename (gp_test_shared_dir (), "golden/public/legacy-root.tar.gz", NULL);
  const char *argv[] = { "tar", "-xzOf", tarball, member, NULL };
  char *out = NULL;
  gsize len;
  gint status;
  g_autoptr(GError) error = NULL;

  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL,
                               NULL, NULL, &out, NULL, &status, &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  len = strlen (out); /* JSON members have no NUL */
  return g_bytes_new_take (out, len);
}

typedef struct {
  char *v1id;
  char *image;
  char *parent; /* NULL for none */
  GPtrArray *diffs;
} IdsEntry;

static void
ids_entry_free (IdsEntry *e)
{
  g_free (e->v1id);
  g_free (e->image);
  g_free (e->parent);
  g_ptr_array_unref (e->diffs);
  g_free (e);
}

static GPtrArray *
read_ids (void)
{
  g_autoptr(GBytes) ids = shared_file ("golden/public/expected/ids.txt");
  if (ids == NULL)
    return NULL;
  GPtrArray *entries = g_ptr_array_new_with_free_func ((GDestroyNotify) ids_entry_free);
  g_auto(GStrv) lines = g_strsplit (g_bytes_get_data (ids, NULL), "\n", -1);
  IdsEntry *cur = NULL;
  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *l = lines[i];
      if (l[0] == '#' || l[0] == '\0')
        continue;
      g_auto(GStrv) f = g_strsplit (l, "\t", -1);
      if (l[0] != '\t')
        {
          cur = NULL;
          if (strstr (l, "NOT-MIGRATED"))
            continue;
          cur = g_new0 (IdsEntry, 1);
          cur->v1id = g_strdup (f[0]);
          cur->image = g_strdup (f[1] + strlen ("image="));
          if (strcmp (f[2], "parent=-") != 0)
            cur->parent = g_strdup (f[2] + strlen ("parent="));
          cur->diffs = g_ptr_array_new_with_free_func (g_free);
          g_ptr_array_add (entries, cur);
        }
      else if (cur != NULL)
        {
          g_assert_true (g_str_has_prefix (f[2], "diff="));
          g_ptr_array_add (cur->diffs, g_strdup (f[2] + strlen ("diff=")));
        }
    }
  return entries;
}

static GBytes *
expected_config (const char *image_id)
{
  g_autofree char *rel = g_strconcat (GOLDEN "image/vfs/imagedb/content/sha256/", image_id + 7, NULL);
  return shared_file (rel);
}

static void
test_golden_rebuild_configs (void)
{
  g_autoptr(GPtrArray) entries = read_ids ();
  if (entries == NULL)
    return;
  g_assert_cmpuint (entries->len, >=, 9);
  for (guint i = 0; i < entries->len; i++)
    {
      IdsEntry *e = entries->pdata[i];
      g_autofree char *member = g_strdup_printf ("./graph/%s/json", e->v1id);
      g_autoptr(GBytes) v1 = legacy_member (member);
      g_autoptr(GBytes) want = expected_config (e->image);
      g_autoptr(GpImageConfig) parent = NULL;
      if (e->parent)
        {
          g_autoptr(GBytes) pbytes = expected_config (e->parent);
          gsize plen;
          const char *pdata = g_bytes_get_data (pbytes, &plen);
          parent = gp_image_config_parse (pdata, plen, NULL);
          g_assert_nonnull (parent);
          g_assert_cmpuint (parent->diff_ids->len + 1, ==, e->diffs->len);
        }
      g_ptr_array_add (e->diffs, NULL);
      gsize len;
      const char *data = g_bytes_get_data (v1, &len);
      g_autoptr(GBytes) config = make_config (data, len, (const char *const *) e->diffs->pdata,
                                              parent ? parent->history : NULL, NULL);
      g_ptr_array_remove_index (e->diffs, e->diffs->len - 1);
      if (!g_bytes_equal (config, want))
        g_error ("%s: config differs:\n got  %.*s\n want %.*s", e->v1id,
                 (int) g_bytes_get_size (config), (const char *) g_bytes_get_data (config, NULL),
                 (int) g_bytes_get_size (want), (const char *) g_bytes_get_data (want, NULL));
      g_autofree char *id = digest_of_bytes (config);
      g_assert_cmpstr (id, ==, e->image);
    }
}

static void
test_golden_containers (void)
{
  g_autoptr(GPtrArray) entries = read_ids ();
  if (entries == NULL)
    return;
  g_autoptr(GPtrArray) names = list_files (GOLDEN "containers");
  g_assert_cmpuint (names->len, >=, 1);
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *rel = g_build_filename (GOLDEN "containers", names->pdata[i], "config.v2.json", NULL);
      g_autoptr(GBytes) want = shared_file (rel);
      gsize wlen;
      const char *wdata = g_bytes_get_data (want, &wlen);

      /* Round trip of the written file. */
      g_autoptr(GpJsonRawObject) again = gp_json_raw_object_parse (wdata, wlen, NULL);
      g_autoptr(GString) out = g_string_new (NULL);
      gp_json_raw_object_append (out, again);
      g_assert_cmpuint (out->len, ==, wlen);
      g_assert_true (memcmp (out->str, wdata, wlen) == 0);

      /* Rebuilt from the legacy config.json and the mapping. */
      g_autofree char *member = g_strdup_printf ("./containers/%s/config.json", (char *) names->pdata[i]);
      g_autoptr(GBytes) legacy = legacy_member (member);
      gsize len;
      const char *data = g_bytes_get_data (legacy, &len);
      g_autoptr(GpJsonRawObject) obj = gp_json_raw_object_parse (data, len, NULL);
      g_assert_nonnull (obj);
      g_autoptr(GString) image = NULL;
      g_assert_cmpint (gp_container_json_get_image (obj, &image), ==, GP_CONTAINER_IMAGE_STRING);
      const char *image_id = NULL;
      for (guint j = 0; j < entries->len; j++)
        if (strcmp (((IdsEntry *) entries->pdata[j])->v1id, image->str) == 0)
          image_id = ((IdsEntry *) entries->pdata[j])->image;
      g_assert_nonnull (image_id);
      g_autoptr(GBytes) rewritten = gp_container_json_set_image (obj, image_id);
      g_assert_true (g_bytes_equal (rewritten, want));
    }
}

/* Members of a save listing: name -> verbatim bytes; manifests in order. */
static GHashTable *
read_listing (GBytes *listing, GPtrArray *manifests)
{
  GHashTable *members = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                               (GDestroyNotify) g_bytes_unref);
  gsize len;
  const char *text = g_bytes_get_data (listing, &len);
  const char *p = text;
  const char *marker = " bytes, verbatim between the markers) ===\n";

  while ((p = strstr (p, "\n=== ")) != NULL)
    {
      p += 5;
      const char *eol = strchr (p, '\n');
      const char *m = g_strstr_len (p, eol - p + 1, marker);
      if (m == NULL)
        continue;
      const char *paren = m;
      while (paren > p && *paren != '(')
        paren--;
      g_autofree char *name = g_strndup (p, paren - 1 - p);
      guint64 size = g_ascii_strtoull (paren + 1, NULL, 10);
      const char *content = m + strlen (marker);
      g_assert_cmpuint (content + size - text, <=, len);
      GBytes *b = g_bytes_new (content, size);
      if (strcmp (name, "manifest.json") == 0)
        g_ptr_array_add (manifests, g_bytes_ref (b));
      g_hash_table_replace (members, g_steal_pointer (&name), b);
      p = content + size;
    }
  return members;
}

static void
check_listing (const char *relpath)
{
  g_autoptr(GBytes) listing = shared_file (relpath);
  if (listing == NULL)
    return;
  g_autoptr(GPtrArray) manifests = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr(GHashTable) members = read_listing (listing, manifests);
  guint layers_checked = 0;

  g_assert_cmpuint (manifests->len, >=, 1);
  for (guint m = 0; m < manifests->len; m++)
    {
      gsize mlen;
      const char *mdata = g_bytes_get_data (manifests->pdata[m], &mlen);
      gsize start, end;
      g_assert_true (gp_json_value_end (mdata, mlen, &start, &end, NULL));
      GpJsonIter items;
      const char *item;
      gsize ilen;
      g_assert_true (gp_json_array_iter_init (&items, mdata + start, end - start));
      while (gp_json_array_iter_next (&items, &item, &ilen))
        {
          g_autoptr(GpJsonRawObject) obj = gp_json_raw_object_parse (item, ilen, NULL);
          gsize clen, llen;
          const char *craw = gp_json_raw_object_get (obj, "Config", &clen);
          const char *lraw = gp_json_raw_object_get (obj, "Layers", &llen);
          g_autoptr(GString) config_name = gp_json_unquote (craw, clen);
          GBytes *config = g_hash_table_lookup (members, config_name->str);
          g_assert_nonnull (config);
          gsize len;
          const char *data = g_bytes_get_data (config, &len);
          g_autoptr(GpImageConfig) cfg = gp_image_config_parse (data, len, NULL);
          g_assert_nonnull (cfg);

          GpJsonIter layers;
          const char *layer;
          gsize layer_len;
          g_autofree char *chain = NULL;
          g_autofree char *parent_digest = NULL;
          guint i = 0;
          g_assert_true (gp_json_array_iter_init (&layers, lraw, llen));
          while (gp_json_array_iter_next (&layers, &layer, &layer_len))
            {
              g_autoptr(GString) layer_name = gp_json_unquote (layer, layer_len);
              g_assert_cmpuint (i, <, cfg->diff_ids->len);
              char *next = chain_id (chain, ((GString *) cfg->diff_ids->pdata[i])->str);
              g_free (chain);
              chain = next;
              const GpV1Image *img = i == cfg->diff_ids->len - 1 ? &cfg->v1 : NULL;
              g_autoptr(GError) error = NULL;
              g_autofree char *digest = gp_v1image_create_id (img, chain, parent_digest, &error);
              g_assert_no_error (error);
              g_autofree char *want_name = g_strconcat (digest + 7, "/layer.tar", NULL);
              g_assert_cmpstr (layer_name->str, ==, want_name);

              g_autofree char *json_name = g_strconcat (digest + 7, "/json", NULL);
              GBytes *want_json = g_hash_table_lookup (members, json_name);
              g_assert_nonnull (want_json);
              g_autoptr(GBytes) json = gp_v1image_layer_json (img, digest + 7,
                                                              parent_digest ? parent_digest + 7 : NULL, NULL);
              g_assert_true (g_bytes_equal (json, want_json));
              g_free (parent_digest);
              parent_digest = g_steal_pointer (&digest);
              layers_checked++;
              i++;
            }
          g_assert_cmpuint (i, ==, cfg->diff_ids->len);
        }
    }
  g_assert_cmpuint (layers_checked, >, 0);
}

static void
test_golden_save (void)
{
  check_listing ("golden/public/save-busybox_latest.txt");
  check_listing ("golden/public/save-busybox.txt");
  check_listing ("golden/public/save-myapp_v1+busybox_1.0.txt");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  GP_TEST_ADD_TABLE ("/v1image/decode", v1_round_cases, test_v1_round);
  GP_TEST_ADD_TABLE ("/v1image/decode-error", v1_error_cases, test_v1_error);
  g_test_add_func ("/v1image/marshal/year-out-of-range", test_v1_marshal_fails);
  g_test_add_func ("/v1image/history/from-v1-json", test_history);
  GP_TEST_ADD_TABLE ("/v1image/version", version_cases, test_version);
  g_test_add_func ("/v1image/make-config/spec-5-6", test_make_config_5_6);
  g_test_add_func ("/v1image/make-config/spec-9-3", test_make_config_9_3);
  g_test_add_func ("/v1image/make-config/non-fallback", test_make_config_non_fallback);
  g_test_add_func ("/v1image/make-config/history-null", test_make_config_history_null);
  g_test_add_func ("/v1image/make-config/null-v1", test_make_config_null_v1);
  GP_TEST_ADD_TABLE ("/v1image/make-config/error", make_config_errors, test_make_config_error);
  g_test_add_func ("/v1image/make-config/moby-a3-batch1", test_a3_batch1);
  g_test_add_func ("/v1image/make-config/moby-a3-batch2", test_a3_batch2);
  g_test_add_func ("/v1image/image-config/moby-b3-a2", test_image_config);
  g_test_add_func ("/v1image/image-config/fields", test_image_config_fields);
  GP_TEST_ADD_TABLE ("/v1image/image-config/error", image_config_errors, test_image_config_error);
  g_test_add_func ("/v1image/create-id/spec-5-7", test_create_id_5_7);
  g_test_add_func ("/v1image/create-id/spec-9-4", test_create_id_9_4);
  g_test_add_func ("/v1image/container/moby-a2", test_container_a2);
  GP_TEST_ADD_TABLE ("/v1image/container", container_cases, test_container);
  GP_TEST_ADD_TABLE ("/v1image/parent", parent_cases, test_parent);
  g_test_add_func ("/v1image/golden/imagedb-roundtrip", test_golden_imagedb_roundtrip);
  g_test_add_func ("/v1image/golden/repositories", test_golden_repositories);
  g_test_add_func ("/v1image/golden/distribution", test_golden_distribution);
  g_test_add_func ("/v1image/golden/rebuild-configs", test_golden_rebuild_configs);
  g_test_add_func ("/v1image/golden/containers", test_golden_containers);
  g_test_add_func ("/v1image/golden/save-listings", test_golden_save);

  return g_test_run ();
}
