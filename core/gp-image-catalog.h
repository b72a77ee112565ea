/* graphpipe - resolving the names a user gives to images, for any source.
 *
 * A source lists what its store holds (every image ID, every reference
 * exactly as the store records it) in a catalog, then asks the catalog to
 * resolve the command line's names.  The matching rules are the engine's
 * whose store it is: Docker's (FORMATS.md §7.1), podman's or containerd's.
 * The catalog reads nothing itself, so a source is free to keep its store
 * however it likes.
 */
#pragma once

#include "gp-macros.h"
#include "gp-images.h"
#include "gp-store.h"

G_BEGIN_DECLS

/**
 * GpImageNameRules:
 * @GP_IMAGE_NAMES_DOCKER: Docker 1.10.3's rules plus 1.11's bare 64-hex ID:
 *   `name` is every reference of the repository (names normalised the
 *   Docker way: `busybox`, `user/repo`, `host:5000/repo`), `name:tag`,
 *   `name@digest`, an image ID with or without `sha256:`, or a unique
 *   prefix of one
 * @GP_IMAGE_NAMES_PODMAN: podman 4.3's local lookup (containers-storage
 *   names are fully qualified: `localhost/foo:latest`,
 *   `docker.io/library/busybox:latest`): a full ID, the exact name
 *   (`:latest` when no tag is given), for a name without a registry
 *   `localhost/NAME` then NAME normalised to `docker.io`, a unique ID
 *   prefix, then any stored name whose repository path ends in `/NAME`
 *   (several: the image added first, as podman takes the first its store
 *   lists; a short `NAME@digest`: any image recording the digest).  Add
 *   images in the store's order.
 * @GP_IMAGE_NAMES_CONTAINERD: containerd's image names are full
 *   references (`docker.io/library/busybox:latest`): the exact name, then
 *   the name normalised as Docker does (`busybox` =
 *   `docker.io/library/busybox:latest`), or an ID / unique ID prefix
 *
 * Which engine's rules a catalog matches names by.
 */
typedef enum {
  GP_IMAGE_NAMES_DOCKER,
  GP_IMAGE_NAMES_PODMAN,
  GP_IMAGE_NAMES_CONTAINERD,
} GpImageNameRules;

typedef struct _GpImageCatalog GpImageCatalog;

GP_API GpImageCatalog *gp_image_catalog_new (GpImageNameRules rules);
GP_API void gp_image_catalog_free (GpImageCatalog *catalog);
GP_API void gp_image_catalog_add_image (GpImageCatalog *catalog, const char *image_id);
GP_API gboolean gp_image_catalog_add_reference (GpImageCatalog *catalog, const char *reference,
                                                const char *image_id);
GP_API void gp_image_catalog_add_repositories (GpImageCatalog *catalog, GpRepositories *repos);
GP_API gboolean gp_image_catalog_has_image (GpImageCatalog *catalog, const char *image_id);
GP_API GPtrArray *gp_image_catalog_resolve (GpImageCatalog *catalog, const char *const *names,
                                            GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GpImageCatalog, gp_image_catalog_free)

G_END_DECLS
