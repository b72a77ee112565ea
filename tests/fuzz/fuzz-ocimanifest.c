/* libFuzzer target: the OCI / Docker schema 2 manifest and index reader
 * (core/format/gp-oci-manifest.c), the input read as a manifest and as an
 * index, with and without an expected media type, and an index's platform
 * selection.  Whatever the bytes: an error or a result whose every digest
 * is sha256:<64 lowercase hex> (safe as a file name) and every size >= 0. */
#include "config.h"

#include <string.h>

#include "gp-digest.h"
#include "gp-oci-manifest.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static void
check_desc (const GpOciDescriptor *d)
{
  g_assert (d->media_type != NULL && d->digest != NULL && d->size >= 0);
  g_assert (gp_digest_check_sha256 (d->digest, -1, NULL));
  g_assert (strlen (d->digest) == 71 && strchr (d->digest, '/') == NULL);
}

static void
try_manifest (const char *data, gsize len, const char *expected)
{
  GError *error = NULL;
  GpOciManifest *m = gp_oci_manifest_parse (data, len, expected, &error);
  if (m == NULL)
    {
      g_assert (error != NULL);
      g_clear_error (&error);
      return;
    }
  g_assert (error == NULL && gp_oci_is_manifest_type (m->media_type));
  g_assert (expected == NULL || strcmp (expected, m->media_type) == 0);
  check_desc (&m->config);
  g_assert (gp_oci_is_config_type (m->config.media_type));
  for (guint i = 0; i < m->layers->len; i++)
    {
      check_desc (&g_array_index (m->layers, GpOciDescriptor, i));
      g_assert (gp_oci_is_layer_type (g_array_index (m->layers, GpOciDescriptor, i).media_type));
    }
  gp_oci_manifest_free (m);
}

static void
try_index (const char *data, gsize len, const char *expected)
{
  GError *error = NULL;
  GpOciIndex *idx = gp_oci_index_parse (data, len, expected, &error);
  if (idx == NULL)
    {
      g_assert (error != NULL);
      g_clear_error (&error);
      return;
    }
  g_assert (gp_oci_is_index_type (idx->media_type));
  for (guint i = 0; i < idx->manifests->len; i++)
    check_desc (&g_array_index (idx->manifests, GpOciDescriptor, i));
  GpOciPlatform want = { (char *) "linux", (char *) "arm64", (char *) "v8" };
  const GpOciDescriptor *d = gp_oci_index_select (idx, &want, &error);
  g_assert ((d == NULL) == (error != NULL));
  g_assert (d == NULL || gp_oci_is_manifest_type (d->media_type));
  g_clear_error (&error);
  gp_oci_index_free (idx);
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  const char *s = (const char *) data;
  try_manifest (s, size, NULL);
  try_manifest (s, size, GP_OCI_MT_DOCKER_MANIFEST);
  try_index (s, size, NULL);
  try_index (s, size, GP_OCI_MT_DOCKER_LIST);
  return 0;
}
