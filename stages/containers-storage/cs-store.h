/* containers-storage records: what images.json and layers.json of a
 * podman, CRI-O or buildah store say (github.com/containers/storage,
 * images.go and layers.go), parsed with json-glib into plain structs.
 * Read-only: nothing here writes or locks anything.  The fuzz target
 * tests/fuzz/fuzz-cstore.c runs these parsers on arbitrary bytes.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* One entry of <driver>-images/images.json. */
typedef struct {
  char *id;              /* 64 hex digits in practice; checked by cs_check_id() */
  char *top_layer;       /* "layer": NULL for an image with no layers */
  char **names;          /* "names": references, NULL-terminated, maybe empty */
  char **digests;        /* "digest" then "digests" (manifest digests), deduplicated */
  char **big_data_names; /* "big-data-names" */
  GHashTable *big_data_digests; /* "big-data-digests": key -> digest */
} CsImage;

/* One entry of <driver>-layers/layers.json. */
typedef struct {
  char *id;
  char *parent;           /* NULL for a bottom layer */
  char *diff_digest;      /* "diff-digest": sha256 of the uncompressed tar */
  gint64 diff_size;       /* "diff-size", -1 when absent */
  char *compressed_digest;/* "compressed-diff-digest" */
  gboolean incomplete;    /* "flags": {"incomplete": true}: left by a crash */
} CsLayer;

void cs_image_free (CsImage *image);
void cs_layer_free (CsLayer *layer);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CsImage, cs_image_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CsLayer, cs_layer_free)

GPtrArray *cs_parse_images (const char *data, gsize len, const char *display, GError **error);
GPtrArray *cs_parse_layers (const char *data, gsize len, const char *display, GError **error);

gboolean cs_check_id (const char *id, const char *what, GError **error);
char *cs_big_data_file_name (const char *key, GError **error);

G_END_DECLS
