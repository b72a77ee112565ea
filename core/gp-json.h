/* graphpipe - JSON that is byte-compatible with Go's encoding/json (Go 1.5).
 *
 * See spec/FORMATS.md §6.  This header grows with the Go-compatible encoder
 * and decoder; the string escaper below is the primitive everything else
 * uses.
 */
#pragma once

#include "gp-macros.h"

G_BEGIN_DECLS

GP_API gsize gp_utf8_decode_go (const guchar *p, gsize len, gunichar *out_rune);
GP_API void gp_json_append_string (GString *out, const char *s, gsize len);

G_END_DECLS
