/* tar-export: declarations shared by the stage's source files. */
#pragma once

#include <graphpipe.h>

#include "te-output.h"

G_BEGIN_DECLS

/* ---- te-export.c: the docker save stream (FORMATS.md §7.2-§7.5) ---- */

/* Whose `docker save` bytes to write (the `compat` option). */
typedef enum {
  TE_COMPAT_1_10,  /* Docker 1.10.3's (the default) */
  TE_COMPAT_20_10, /* Docker 20.10's (doc/docker-save-20.10.md) */
} TeCompat;

gboolean te_export (GpContext *ctx, GPtrArray *images, const char *output, gboolean gzip,
                    TeCompat compat, GError **error);

/* ---- te-compat.c: Docker 20.10's image structs (compat=20.10) ---- */

typedef struct _TeCompat2010 TeCompat2010;

TeCompat2010 *te_compat_2010_new (GBytes *config, GError **error);
void te_compat_2010_free (TeCompat2010 *c);
char *te_compat_2010_create_id (const TeCompat2010 *c, const GpV1Image *img,
                                const char *chain_id, const char *parent, GError **error);
GBytes *te_compat_2010_layer_json (const TeCompat2010 *c, const GpV1Image *img,
                                   const char *v1_id, const char *parent_v1_id, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TeCompat2010, te_compat_2010_free)

G_END_DECLS
