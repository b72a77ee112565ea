/* graphpipe - tar-split internals shared by its source files. */
#pragma once

#include "gp-tarsplit.h"

G_BEGIN_DECLS

GHashTable *_gp_tar_split_seen_new (void);
gboolean _gp_tar_split_seen_add (GHashTable *seen, const char *name, gsize len);

G_END_DECLS
