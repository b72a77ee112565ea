/* graphpipe - OCI and Docker schema 2 manifests, indexes and descriptors.
 *
 * One strict reader shared by the sources that read manifests as a
 * registry served them (containerd's content store, containers-storage's
 * "manifest" big data):
 *
 * - media types are checked against the known ones (a manifest's own, its
 *   config's, every layer's; an index's);
 * - every digest is `sha256:` and 64 lowercase hex digits, so a digest can
 *   name a file (blobs/sha256/<hex>) without further checks;
 * - every size is an integer >= 0 (Go's int64; `1.0`, `1e3`, strings and
 *   out-of-range numbers are errors);
 * - JSON keys match as Go's encoding/json matches struct fields (exact,
 *   else case-insensitive; the last duplicate wins), `null` is absent.
 *
 * No string read from the JSON is used as a path by this module.
 */
#pragma once

#include "gp-macros.h"

G_BEGIN_DECLS

#define GP_OCI_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define GP_OCI_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define GP_OCI_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define GP_OCI_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define GP_OCI_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define GP_OCI_MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"

/**
 * GpOciDescriptor:
 * @media_type: the media type (a known one for configs and layers)
 * @digest: `sha256:<64 lowercase hex>`
 * @size: the blob's length in bytes, >= 0
 * @os: (nullable): index entries: the platform's os, %NULL without one
 * @architecture: (nullable): index entries: the platform's architecture
 * @variant: (nullable): index entries: the platform's variant
 */
typedef struct {
  char *media_type;
  char *digest;
  gint64 size;
  char *os;
  char *architecture;
  char *variant;
} GpOciDescriptor;

/**
 * GpOciManifest:
 * @media_type: the manifest's media type (its `mediaType` member, else
 *   the one expected by the caller, else OCI's when the config is OCI's)
 * @config: the config descriptor
 * @layers: (element-type GpOciDescriptor): the layers, base first
 */
typedef struct {
  char *media_type;
  GpOciDescriptor config;
  GArray *layers;
} GpOciManifest;

/**
 * GpOciIndex:
 * @media_type: an OCI index or a Docker manifest list
 * @manifests: (element-type GpOciDescriptor): the entries, in order
 */
typedef struct {
  char *media_type;
  GArray *manifests;
} GpOciIndex;

/**
 * GpOciPlatform:
 * @os: lowercase os (`linux`)
 * @architecture: lowercase GOARCH (`amd64`, `arm64`)
 * @variant: (nullable): variant (`v7`), %NULL for any
 */
typedef struct {
  char *os;
  char *architecture;
  char *variant;
} GpOciPlatform;

GP_API gboolean gp_oci_is_manifest_type (const char *media_type);
GP_API gboolean gp_oci_is_index_type (const char *media_type);
GP_API gboolean gp_oci_is_config_type (const char *media_type);
GP_API gboolean gp_oci_is_layer_type (const char *media_type);

GP_API void gp_oci_descriptor_clear (GpOciDescriptor *desc);
GP_API gboolean gp_oci_descriptor_parse (const char *raw, gsize len, gboolean with_platform,
                                         GpOciDescriptor *out, GError **error);

GP_API GpOciManifest *gp_oci_manifest_parse (const char *data, gsize len,
                                             const char *expected_type, GError **error);
GP_API void gp_oci_manifest_free (GpOciManifest *manifest);

GP_API GpOciIndex *gp_oci_index_parse (const char *data, gsize len, const char *expected_type,
                                       GError **error);
GP_API void gp_oci_index_free (GpOciIndex *index);

GP_API void gp_oci_platform_clear (GpOciPlatform *platform);
GP_API void gp_oci_platform_host (GpOciPlatform *platform);
GP_API char *gp_oci_platform_format (const char *os, const char *architecture,
                                     const char *variant);
GP_API gboolean gp_oci_platform_matches (const GpOciPlatform *want, const GpOciDescriptor *entry);
GP_API const GpOciDescriptor *gp_oci_index_select (const GpOciIndex *index,
                                                   const GpOciPlatform *want, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GpOciManifest, gp_oci_manifest_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GpOciIndex, gp_oci_index_free)

G_END_DECLS
