/* graphpipe - Docker 1.10.3 image references (FORMATS.md §4.5, §7.1).
 *
 * Repository name normalisation (`reference.WithName`), tag and digest
 * validation, and parsing of `name[:tag][@digest]` (`reference.ParseNamed`),
 * with Docker's error wording.  The grammar is implemented by hand.
 */
#pragma once

#include "gp-macros.h"

G_BEGIN_DECLS

#define GP_REFERENCE_NAME_MAX 255
#define GP_REFERENCE_DEFAULT_TAG "latest"

/**
 * GpReference:
 * @name: the normalised repository name as Docker 1.10 stores it
 *   (`busybox`, `user/repo`, `localhost:5000/foo`): the repositories.json key
 * @hostname: `docker.io` for the default registry, else the host part
 * @remote: the name below the host (`library/busybox`)
 * @tag: (nullable): the tag, %NULL if none or if a digest is present
 * @digest: (nullable): the digest (`sha256:…`), %NULL if none
 *
 * A parsed, validated reference.  When both a tag and a digest were given
 * only the digest is kept (Docker 1.10.3).
 */
typedef struct {
  char *name;
  char *hostname;
  char *remote;
  char *tag;
  char *digest;
} GpReference;

GP_API GpReference *gp_reference_parse (const char *s, GError **error);
GP_API GpReference *gp_reference_with_name (const char *name, GError **error);
GP_API GpReference *gp_reference_with_tag (const char *name, const char *tag, GError **error);
GP_API GpReference *gp_reference_with_digest (const char *name, const char *digest, GError **error);
GP_API char *gp_reference_normalize_name (const char *name, GError **error);
GP_API gboolean gp_reference_validate_tag (const char *tag, GError **error);
GP_API gboolean gp_reference_validate_digest (const char *digest, GError **error);
GP_API gboolean gp_reference_is_name_only (const GpReference *ref);
GP_API char *gp_reference_to_string (const GpReference *ref);
GP_API char *gp_reference_full_name (const GpReference *ref);
GP_API GpReference *gp_reference_copy (const GpReference *ref);
GP_API void gp_reference_free (GpReference *ref);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GpReference, gp_reference_free)

G_END_DECLS
