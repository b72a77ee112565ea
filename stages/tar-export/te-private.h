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

G_END_DECLS
