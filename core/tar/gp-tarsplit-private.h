/* graphpipe - tar-split internals shared by its source files. */
#pragma once

#include "gp-tarsplit.h"

G_BEGIN_DECLS

/* gp-tarsplit-path.c */
GHashTable *_gp_tar_split_seen_new (void);
gboolean _gp_tar_split_seen_add (GHashTable *seen, const char *name, gsize len);

#define _GP_TS_JSON_MAX_DEPTH 512

/* gp-tarsplit-json.c: a cursor over one complete JSON object in memory */
typedef struct {
  const guint8 *p, *end;
  const char *err;   /* static message on failure */
} Parse;

void _gp_ts_json_skip_ws (Parse *ps);
gboolean _gp_ts_json_parse_string (Parse *ps, GByteArray *out);
/* A member's key (into @key, or only checked when NULL) and its colon,
 * with the whitespace around them. */
gboolean _gp_ts_json_parse_key (Parse *ps, GByteArray *key);
gboolean _gp_ts_json_parse_literal (Parse *ps, const char *lit);
gboolean _gp_ts_json_skip_value (Parse *ps, int depth);
gboolean _gp_ts_json_key_matches (const guint8 *key, gsize len, const char *field);
gboolean _gp_ts_json_parse_int_field (Parse *ps, gint64 *out);
gboolean _gp_ts_json_parse_bytes_field (Parse *ps, GByteArray *out, gboolean *is_null);
gboolean _gp_ts_json_bytes_field_len (Parse *ps, GByteArray *scratch, gsize *out_len, gboolean *is_null);

G_END_DECLS
