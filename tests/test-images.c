/* Tests for the image model (core/gp-images.c): streaming a layer checks
 * its length and DiffID whichever side hashes, errors name image and
 * layer, refcounts, references, splitting names. */
#include "config.h"

#include <string.h>

#include "graphpipe.h"

/* A source layer backed by a string. */
typedef struct {
  const char *bytes;
  gboolean report_digest; /* pretend to hash: report this digest */
  const char *claimed;    /* what it reports (may be wrong) */
  gint *freed;
} Fake;

static gboolean
fake_stream (GpImageLayer *layer, GpWriteFunc write, gpointer write_data,
             GCancellable *cancellable, char **out_diff_id, GError **error)
{
  Fake *f = gp_image_layer_get_data (layer);
  gsize len = strlen (f->bytes);
  /* in two pieces, as a real source writes in chunks */
  if (!write (write_data, f->bytes, len / 2, error)
      || !write (write_data, f->bytes + len / 2, len - len / 2, error))
    return FALSE;
  if (out_diff_id != NULL)
    *out_diff_id = g_strdup (f->claimed);
  return TRUE;
}

static void
fake_free (gpointer data)
{
  Fake *f = data;
  (*f->freed)++;
  g_free (f);
}

static const GpImageLayerFuncs self_hashing = { .stream_tar = fake_stream, .stream_blob = fake_stream,
                                                .computes_digest = TRUE };
static const GpImageLayerFuncs plain = { .stream_tar = fake_stream };
static const GpImageLayerFuncs with_blob = { .stream_tar = fake_stream, .stream_blob = fake_stream };

static gboolean
collect (gpointer user_data, const void *buf, gsize len, GError **error)
{
  g_string_append_len (user_data, buf, len);
  return TRUE;
}

/* sha256 of the bytes, computed by GLib, not by the code under test. */
static char *
digest_of (const char *s)
{
  g_autofree char *hex = g_compute_checksum_for_string (G_CHECKSUM_SHA256, s, -1);
  return g_strconcat ("sha256:", hex, NULL);
}

static GpImageLayer *
fake_layer (const GpImageLayerFuncs *funcs, const char *bytes, const char *diff_id, gint64 size,
            const char *claimed, gint *freed)
{
  Fake *f = g_new0 (Fake, 1);
  f->bytes = bytes;
  f->claimed = claimed;
  f->freed = freed;
  return gp_image_layer_new (diff_id, size, funcs, f, fake_free);
}

static void
test_stream_ok (void)
{
  const char *bytes = "layer tar bytes, not really a tar";
  g_autofree char *d = digest_of (bytes);
  gint freed = 0;
  for (int self = 0; self < 2; self++)
    {
      g_autoptr (GpImageLayer) layer = fake_layer (self ? &self_hashing : &plain, bytes, d,
                                                   (gint64) strlen (bytes), d, &freed);
      g_autoptr (GString) out = g_string_new (NULL);
      g_autoptr (GError) error = NULL;
      g_assert_true (gp_image_layer_stream (layer, "sha256:img", collect, out, NULL, &error));
      g_assert_no_error (error);
      g_assert_cmpstr (out->str, ==, bytes);
      g_assert_cmpstr (gp_image_layer_get_diff_id (layer), ==, d);
    }
  g_assert_cmpint (freed, ==, 2);
}

static void
test_stream_mismatch (void)
{
  const char *bytes = "the bytes the source has now";
  g_autofree char *actual = digest_of (bytes);
  g_autofree char *recorded = digest_of ("the bytes recorded earlier");
  gint freed = 0;

  /* gp_image_layer_stream() hashes */
  {
    g_autoptr (GpImageLayer) layer = fake_layer (&plain, bytes, recorded, -1, NULL, &freed);
    g_autoptr (GString) out = g_string_new (NULL);
    g_autoptr (GError) error = NULL;
    g_assert_false (gp_image_layer_stream (layer, "sha256:myimage", collect, out, NULL, &error));
    g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_VERIFY);
    g_assert_nonnull (strstr (error->message, "sha256:myimage"));
    g_assert_nonnull (strstr (error->message, recorded));
    g_assert_nonnull (strstr (error->message, actual));
  }
  /* the source hashes and reports what it got */
  {
    g_autoptr (GpImageLayer) layer = fake_layer (&self_hashing, bytes, recorded, -1, actual, &freed);
    g_autoptr (GString) out = g_string_new (NULL);
    g_autoptr (GError) error = NULL;
    g_assert_false (gp_image_layer_stream (layer, "sha256:myimage", collect, out, NULL, &error));
    g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_VERIFY);
    g_assert_nonnull (strstr (error->message, "sha256:myimage"));
    g_assert_nonnull (strstr (error->message, recorded));
  }
  /* right digest, wrong length announced */
  {
    g_autoptr (GpImageLayer) layer = fake_layer (&plain, bytes, actual, (gint64) strlen (bytes) + 1,
                                                 NULL, &freed);
    g_autoptr (GString) out = g_string_new (NULL);
    g_autoptr (GError) error = NULL;
    g_assert_false (gp_image_layer_stream (layer, "sha256:myimage", collect, out, NULL, &error));
    g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_SIZE);
    g_assert_nonnull (strstr (error->message, actual));
  }
  g_assert_cmpint (freed, ==, 3);
}

static void
test_blob (void)
{
  const char *tar = "uncompressed";
  const char *blob = "pretend-gzip";
  g_autofree char *dt = digest_of (tar);
  g_autofree char *db = digest_of (blob);
  gint freed = 0;
  g_autoptr (GpImageLayer) layer = fake_layer (&plain, blob, dt, -1, NULL, &freed);
  g_autoptr (GString) out = g_string_new (NULL);
  g_autoptr (GError) error = NULL;
  /* without a blob described */
  g_assert_null (gp_image_layer_get_blob_digest (layer));
  g_assert_false (gp_image_layer_stream_blob (layer, "sha256:i", collect, out, NULL, &error));
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING);
  g_clear_error (&error);


  /* a blob described: streamed and checked against its own digest */
  g_autoptr (GpImageLayer) with = fake_layer (&with_blob, blob, dt, -1, NULL, &freed);
  gp_image_layer_set_blob (with, db, "application/vnd.oci.image.layer.v1.tar+gzip",
                           (gint64) strlen (blob));
  g_assert_cmpstr (gp_image_layer_get_blob_digest (with), ==, db);
  g_assert_cmpstr (gp_image_layer_get_blob_media_type (with), ==,
                   "application/vnd.oci.image.layer.v1.tar+gzip");
  g_assert_cmpint (gp_image_layer_get_blob_size (with), ==, (gint64) strlen (blob));
  g_assert_true (gp_image_layer_stream_blob (with, "sha256:i", collect, out, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (out->str, ==, blob);

  /* the same bytes are not the layer tar */
  g_string_truncate (out, 0);
  g_assert_false (gp_image_layer_stream (with, "sha256:i", collect, out, NULL, &error));
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_VERIFY);
  g_clear_error (&error);

  gp_image_layer_set_blob (with, dt, "application/vnd.oci.image.layer.v1.tar+gzip", -1);
  g_assert_false (gp_image_layer_stream_blob (with, "sha256:i", collect, out, NULL, &error));
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_VERIFY);
}

static void
test_image (void)
{
  gint freed = 0;
  g_autofree char *d = digest_of ("x");
  GpImageLayer *layer = fake_layer (&plain, "x", d, 1, NULL, &freed);
  GpImage *a = gp_image_new ("sha256:aaaa");
  GpImage *b = gp_image_new ("sha256:bbbb");
  gp_image_add_layer (a, layer);
  gp_image_add_layer (b, layer);
  gp_image_layer_unref (layer);
  gp_image_add_reference (a, "busybox:latest");
  gp_image_add_reference (a, "busybox@sha256:0123");
  gp_image_add_reference (a, "busybox:latest");
  g_assert_cmpuint (gp_image_get_references (a)->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (gp_image_get_references (a), 1), ==, "busybox@sha256:0123");
  g_autoptr (GBytes) config = g_bytes_new_static ("{\"a\": 1}", 8);
  gp_image_set_config (a, config);
  g_assert_true (gp_image_get_config (a) == config);
  g_assert_true (g_ptr_array_index (gp_image_get_layers (b), 0)
                 == g_ptr_array_index (gp_image_get_layers (a), 0));
  gp_image_unref (a);
  g_assert_cmpint (freed, ==, 0); /* b still holds the layer */
  gp_image_unref (b);
  g_assert_cmpint (freed, ==, 1);
}

static void
test_split (void)
{
  g_auto (GStrv) n = gp_image_names_split ("  a;b:1 ;;\tsha256:ab  ");
  g_assert_cmpuint (g_strv_length (n), ==, 3);
  g_assert_cmpstr (n[0], ==, "a");
  g_assert_cmpstr (n[1], ==, "b:1");
  g_assert_cmpstr (n[2], ==, "sha256:ab");
  g_auto (GStrv) e = gp_image_names_split (" ; ");
  g_assert_null (e[0]);
}

/* A source's `images` option must name something: blank or separators
 * only is the preset error every source reports. */
static void
test_names_check (void)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (gp_image_names_check ("busybox ;app:1", &error));
  g_assert_no_error (error);
  const char *const empty[] = { NULL, "", " ; \t;" };
  for (guint i = 0; i < G_N_ELEMENTS (empty); i++)
    {
      g_assert_false (gp_image_names_check (empty[i], &error));
      g_assert_error (error, GP_PRESET_ERROR, GP_PRESET_ERROR_BAD_VALUE);
      g_assert_cmpstr (error->message, ==, "images: no image names given");
      g_clear_error (&error);
    }
}

/* Resolves NAMES (space separated) and returns "ID=ref,ref ID=..." or the
 * error as "error:missing" or "error:reference". */
static char *
resolve (GpImageCatalog *catalog, const char *names)
{
  g_auto (GStrv) list = gp_image_names_split (names);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) images = gp_image_catalog_resolve (catalog, (const char *const *) list, &error);
  if (images == NULL)
    {
      g_assert_true (error->domain == GP_DATA_ERROR);
      return g_strdup (error->code == GP_DATA_ERROR_MISSING     ? "error:missing"
                       : error->code == GP_DATA_ERROR_REFERENCE ? "error:reference"
                                                                : "error:other");
    }
  g_autoptr (GString) out = g_string_new (NULL);
  for (guint i = 0; i < images->len; i++)
    {
      GpImage *image = images->pdata[i];
      g_string_append_printf (out, "%s%s=", i ? " " : "", gp_image_get_id (image) + 7);
      GPtrArray *refs = gp_image_get_references (image);
      for (guint j = 0; j < refs->len; j++)
        g_string_append_printf (out, "%s%s", j ? "," : "", (char *) refs->pdata[j]);
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

#define ID_A "sha256:aa11000000000000000000000000000000000000000000000000000000000000"
#define ID_B "sha256:aa22000000000000000000000000000000000000000000000000000000000000"
#define ID_C "sha256:cc00000000000000000000000000000000000000000000000000000000000000"

typedef struct {
  const char *names;
  const char *expected;
} ResolveCase;

static void
check_cases (GpImageCatalog *catalog, const ResolveCase *cases, gsize n)
{
  for (gsize i = 0; i < n; i++)
    {
      g_autofree char *got = resolve (catalog, cases[i].names);
      if (g_strcmp0 (got, cases[i].expected) != 0)
        g_error ("%s: got %s, expected %s", cases[i].names, got, cases[i].expected);
    }
}

static void
test_catalog_docker (void)
{
  g_autoptr (GpImageCatalog) c = gp_image_catalog_new (GP_IMAGE_NAMES_DOCKER);
  g_assert_true (gp_image_catalog_add_reference (c, "busybox:latest", ID_A));
  g_assert_true (gp_image_catalog_add_reference (c, "busybox:1", ID_B));
  g_assert_true (gp_image_catalog_add_reference (c, "docker.io/library/busybox:old", ID_B));
  g_assert_true (gp_image_catalog_add_reference (c, "busybox@sha256:" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", ID_A));
  g_assert_false (gp_image_catalog_add_reference (c, "Bad Name", ID_C));
  gp_image_catalog_add_image (c, ID_C);
  g_assert_true (gp_image_catalog_has_image (c, ID_C));
  static const ResolveCase cases[] = {
    /* a name alone is every reference of the repository, sorted */
    { "busybox", "aa22000000000000000000000000000000000000000000000000000000000000=busybox:1,busybox:old "
                 "aa11000000000000000000000000000000000000000000000000000000000000=busybox:latest,"
                 "busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" },
    { "busybox:latest", "aa11000000000000000000000000000000000000000000000000000000000000=busybox:latest" },
    { "docker.io/library/busybox:1", "aa22000000000000000000000000000000000000000000000000000000000000=busybox:1" },
    { "cc", "cc00000000000000000000000000000000000000000000000000000000000000=" },
    { "sha256:cc0", "cc00000000000000000000000000000000000000000000000000000000000000=" },
    { "cc00000000000000000000000000000000000000000000000000000000000000",
      "cc00000000000000000000000000000000000000000000000000000000000000=" },
    { "aa", "error:reference" },
    { "busybox:2", "error:missing" },
    { "nothere", "error:missing" },
    { "dd00000000000000000000000000000000000000000000000000000000000000",
      "error:missing" },
  };
  check_cases (c, cases, G_N_ELEMENTS (cases));
}

static void
test_catalog_podman (void)
{
  g_autoptr (GpImageCatalog) c = gp_image_catalog_new (GP_IMAGE_NAMES_PODMAN);
  gp_image_catalog_add_reference (c, "localhost/app:latest", ID_A);
  gp_image_catalog_add_reference (c, "docker.io/library/busybox:latest", ID_B);
  gp_image_catalog_add_reference (c, "quay.io/x/tool:1", ID_C);
  gp_image_catalog_add_reference (c, "registry.example/x/tool:1", ID_A);
  gp_image_catalog_add_reference (c, "quay.io/y/busybox:latest", ID_A);
  gp_image_catalog_add_reference (c, "docker.io/library/busybox@sha256:"
                                  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", ID_B);
  static const ResolveCase cases[] = {
    { "app", "aa11000000000000000000000000000000000000000000000000000000000000=localhost/app:latest" },
    { "localhost/app:latest", "aa11000000000000000000000000000000000000000000000000000000000000=localhost/app:latest" },
    { "busybox", "aa22000000000000000000000000000000000000000000000000000000000000=docker.io/library/busybox:latest" },
    { "library/busybox:latest", "aa22000000000000000000000000000000000000000000000000000000000000=docker.io/library/busybox:latest" },
    { "quay.io/x/tool:1", "cc00000000000000000000000000000000000000000000000000000000000000=quay.io/x/tool:1" },
    /* a short name held by two registries: the image the store lists
     * first, as podman 4.3 does (tests/save-containers-storage.sh) */
    { "x/tool:1", "aa11000000000000000000000000000000000000000000000000000000000000=registry.example/x/tool:1" },
    { "tool:1", "aa11000000000000000000000000000000000000000000000000000000000000=registry.example/x/tool:1" },
    /* docker.io is a candidate before the search by path */
    { "y/busybox", "aa11000000000000000000000000000000000000000000000000000000000000=quay.io/y/busybox:latest" },
    /* a digest: under its repository, else any image recording it */
    { "busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
      "aa22000000000000000000000000000000000000000000000000000000000000="
      "docker.io/library/busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" },
    { "other@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
      "aa22000000000000000000000000000000000000000000000000000000000000=" },
    { "busybox:1", "error:missing" },
    { "cc0", "cc00000000000000000000000000000000000000000000000000000000000000=" },
    { "aa", "error:reference" },
  };
  check_cases (c, cases, G_N_ELEMENTS (cases));
}

static void
test_catalog_containerd (void)
{
  g_autoptr (GpImageCatalog) c = gp_image_catalog_new (GP_IMAGE_NAMES_CONTAINERD);
  gp_image_catalog_add_reference (c, "docker.io/library/busybox:latest", ID_A);
  gp_image_catalog_add_reference (c, "docker.io/user/app:2", ID_B);
  gp_image_catalog_add_reference (c, "example.org/app:1", ID_C);
  static const ResolveCase cases[] = {
    { "docker.io/library/busybox:latest",
      "aa11000000000000000000000000000000000000000000000000000000000000=docker.io/library/busybox:latest" },
    { "busybox", "aa11000000000000000000000000000000000000000000000000000000000000=docker.io/library/busybox:latest" },
    { "user/app:2", "aa22000000000000000000000000000000000000000000000000000000000000=docker.io/user/app:2" },
    { "example.org/app:1", "cc00000000000000000000000000000000000000000000000000000000000000=example.org/app:1" },
    { "app:1", "error:missing" },
    { "sha256:cc", "cc00000000000000000000000000000000000000000000000000000000000000=" },
  };
  check_cases (c, cases, G_N_ELEMENTS (cases));
}

static void
test_manifest (void)
{
  g_autoptr (GpImage) image = gp_image_new (ID_A);
  const char *type = "x";
  g_assert_null (gp_image_get_manifest (image, &type));
  g_assert_null (type);
  g_autoptr (GBytes) m = g_bytes_new_static ("{}", 2);
  gp_image_set_manifest (image, m, "application/vnd.oci.image.manifest.v1+json");
  g_assert_true (gp_image_get_manifest (image, &type) == m);
  g_assert_cmpstr (type, ==, "application/vnd.oci.image.manifest.v1+json");
  g_assert_null (gp_image_get_target (image, NULL));
  gp_image_set_target (image, m, "application/vnd.oci.image.index.v1+json");
  g_assert_true (gp_image_get_target (image, &type) == m);
  g_assert_cmpstr (type, ==, "application/vnd.oci.image.index.v1+json");
  gp_image_set_target (image, NULL, NULL);
  g_assert_null (gp_image_get_target (image, &type));
  g_assert_null (type);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/images/stream/ok", test_stream_ok);
  g_test_add_func ("/images/stream/mismatch", test_stream_mismatch);
  g_test_add_func ("/images/stream/blob", test_blob);
  g_test_add_func ("/images/image", test_image);
  g_test_add_func ("/images/names/split", test_split);
  g_test_add_func ("/images/names/check", test_names_check);
  g_test_add_func ("/images/manifest", test_manifest);
  g_test_add_func ("/images/catalog/docker", test_catalog_docker);
  g_test_add_func ("/images/catalog/podman", test_catalog_podman);
  g_test_add_func ("/images/catalog/containerd", test_catalog_containerd);
  return g_test_run ();
}
