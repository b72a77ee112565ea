/* graphpipe - gp-json internals shared with other core modules (never
 * installed, not exported). */
#pragma once

#include "gp-json.h"

G_BEGIN_DECLS

/* "cannot unmarshal <kind of raw> into Go value of type <go_type>"
 * (%GP_DATA_ERROR_JSON); returns %FALSE. */
gboolean _gp_json_type_error (GError **error, const char *raw, gsize len, const char *go_type);

/* gp_json_match_field() over names found every @stride bytes from @names
 * (the name member of an array of structs). */
gint _gp_json_match_field_stride (const char *const *names, gsize stride, guint n_names,
                                  const char *key, gsize key_len);

/* The keys of a hash table keyed by GString, sorted byte-wise (Go's map
 * key order); the array does not own them. */
GPtrArray *_gp_json_sorted_gstring_keys (GHashTable *table);

/* gp_json_raw_object_parse() of a document known to be valid (checked
 * with gp_json_validate() already): not scanned again. */
GpJsonRawObject *_gp_json_raw_object_parse_valid (const char *data, gsize len, GError **error);

/* gp_json_raw_object_set() of a value that is already what Go's
 * compaction would make of it (compact, `<>&` and U+2028/9 escaped, as
 * gp_json_append_string() and the struct marshallers write): marshalled
 * as it is. */
void _gp_json_raw_object_set_compact (GpJsonRawObject *obj, const char *key, const char *raw,
                                      gsize raw_len);

/* gp_json_object_iter_next() giving the key's raw text, quotes included,
 * instead of unescaping it. */
gboolean _gp_json_object_iter_next_raw (GpJsonIter *iter, const char **out_key, gsize *out_key_len,
                                        const char **out_value, gsize *out_value_len);

/* Whether the raw key text (quotes included) unescapes to the bytes
 * between its quotes: no escape, only ASCII. */
gboolean _gp_json_key_is_plain (const char *raw, gsize len);

/* Go's compact(dst, src, escape=true) of @data, known to be valid JSON:
 * appended to @out (gp_json_append_compact() without the check). */
void _gp_json_append_compact_valid (GString *out, const char *data, gsize len);

/* Go's getu4: the UTF-16 code unit of the `\uXXXX` escape at @p (@len
 * bytes available), or -1 when there is none. */
gint32 _gp_json_getu4 (const guchar *p, gsize len);

G_END_DECLS
