/* graphpipe - SHA-256 internals (gp-sha256-ni.c) and test hooks. */
#pragma once

#include "gp-digest.h"

G_BEGIN_DECLS

/* TRUE where the CPU has the SHA extensions (x86-64). */
gboolean _gp_sha256_ni_available (void);
/* Runs @n_blocks 64-byte blocks through the compression function; @h is
 * the state A..H.  Only where _gp_sha256_ni_available(). */
void _gp_sha256_ni_blocks (guint32 h[8], const guint8 *data, gsize n_blocks);
/* TRUE: gp_sha256_update() leaves everything to nettle (tests). */
void _gp_sha256_set_nettle_only (gboolean nettle_only);

G_END_DECLS
