/* graphpipe - JSON that is byte-compatible with Go's encoding/json (Go 1.5).
 *
 * See spec/FORMATS.md §6.  Three layers:
 *
 * - a strict scanner of our own (validation with Go's syntax rules, a
 *   nesting limit, byte offsets in errors) and iterators over the raw text
 *   of values it validated;
 * - decoding helpers with Go semantics (strings, int64, bool, null,
 *   case-insensitive key matching, time.Time);
 * - writers: the Go string escaper, the compactor used for raw values,
 *   sorted maps, string arrays, and the "object of raw values" round trip
 *   (§6.5).
 *
 * Every iterator and decoder that takes raw value text expects text that
 * gp_json_validate() or gp_json_value_end() accepted (or a span handed out
 * by an iterator over such text).
 */
#pragma once

#include "gp-macros.h"

G_BEGIN_DECLS

/**
 * GP_JSON_MAX_DEPTH:
 *
 * Deepest nesting of arrays and objects the scanner accepts.  Go has no
 * limit; we refuse deeper documents with an error instead of risking the
 * stack of any later consumer.
 */
#define GP_JSON_MAX_DEPTH 10000

/**
 * GpJsonKind:
 *
 * The kind of a JSON value, read from its first byte.
 */
typedef enum {
  GP_JSON_KIND_INVALID,
  GP_JSON_KIND_NULL,
  GP_JSON_KIND_BOOL,
  GP_JSON_KIND_NUMBER,
  GP_JSON_KIND_STRING,
  GP_JSON_KIND_ARRAY,
  GP_JSON_KIND_OBJECT,
} GpJsonKind;

/* Strings (§6.1). */
GP_API gsize gp_utf8_decode_go (const guchar *p, gsize len, gunichar *out_rune);
GP_API void gp_json_append_string (GString *out, const char *s, gsize len);

/* Scanner. */
GP_API gboolean gp_json_validate (const char *data, gsize len, GError **error);
GP_API gboolean gp_json_value_end (const char *data, gsize len, gsize *out_start,
                                   gsize *out_end, GError **error);

/* Raw value text (validated input only). */
GP_API GpJsonKind gp_json_kind (const char *raw, gsize len);
GP_API gboolean gp_json_is_null (const char *raw, gsize len);

typedef struct {
  /*< private >*/
  const char *data;
  gsize len;
  gsize pos;
  gboolean first;
} GpJsonIter;

GP_API gboolean gp_json_object_iter_init (GpJsonIter *iter, const char *raw, gsize len);
GP_API gboolean gp_json_object_iter_next (GpJsonIter *iter, GString **out_key,
                                          const char **out_value, gsize *out_value_len);
GP_API gboolean gp_json_array_iter_init (GpJsonIter *iter, const char *raw, gsize len);
GP_API gboolean gp_json_array_iter_next (GpJsonIter *iter, const char **out_value,
                                         gsize *out_value_len);

/* Decoding helpers. */
GP_API GString *gp_json_unquote (const char *raw, gsize len);
GP_API gboolean gp_json_decode_string (const char *raw, gsize len, GString **out, GError **error);
GP_API gboolean gp_json_decode_int64 (const char *raw, gsize len, gint64 *out, GError **error);
GP_API gboolean gp_json_decode_bool (const char *raw, gsize len, gboolean *out, GError **error);
GP_API gboolean gp_json_key_equal_fold (const char *name, const char *key, gsize key_len);
GP_API gint gp_json_match_field (const char *const *names, guint n_names,
                                 const char *key, gsize key_len);

/* Compaction (§6.5). */
GP_API gboolean gp_json_append_compact (GString *out, const char *data, gsize len,
                                        GError **error);

/* Writers. */
GP_API void gp_json_append_int64 (GString *out, gint64 v);
GP_API void gp_json_append_strv (GString *out, const char *const *strv);

/**
 * GpJsonValueFunc:
 * @out: where to append the value
 * @value: the map value
 * @user_data: data passed to gp_json_append_map()
 *
 * Appends one map value as JSON.
 */
typedef void (*GpJsonValueFunc) (GString *out, gconstpointer value, gpointer user_data);

GP_API void gp_json_append_map (GString *out, GHashTable *map, GpJsonValueFunc value_func,
                                gpointer user_data);

/* Object of raw values (§6.5). */
typedef struct _GpJsonRawObject GpJsonRawObject;

GP_API GpJsonRawObject *gp_json_raw_object_new (void);
GP_API GpJsonRawObject *gp_json_raw_object_parse (const char *data, gsize len, GError **error);
GP_API void gp_json_raw_object_free (GpJsonRawObject *obj);
GP_API gboolean gp_json_raw_object_is_nil (const GpJsonRawObject *obj);
GP_API guint gp_json_raw_object_size (const GpJsonRawObject *obj);
GP_API const char *gp_json_raw_object_get (const GpJsonRawObject *obj, const char *key,
                                           gsize *out_len);
GP_API void gp_json_raw_object_set (GpJsonRawObject *obj, const char *key, const char *raw,
                                    gssize raw_len);
GP_API void gp_json_raw_object_set_string (GpJsonRawObject *obj, const char *key,
                                           const char *value);
GP_API gboolean gp_json_raw_object_remove (GpJsonRawObject *obj, const char *key);
GP_API GPtrArray *gp_json_raw_object_sorted_keys (const GpJsonRawObject *obj);
GP_API void gp_json_raw_object_append (GString *out, const GpJsonRawObject *obj);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GpJsonRawObject, gp_json_raw_object_free)

/* Go time.Time (§6.7). */

/**
 * GpGoTime:
 * @sec: seconds since 0001-01-01T00:00:00Z (Go's internal epoch)
 * @nsec: nanoseconds, 0 to 999999999
 * @offset: the zone's offset east of UTC in seconds (0 is written as `Z`)
 *
 * A Go time.Time as far as JSON can tell.  An all-zero value is Go's zero
 * time, 0001-01-01T00:00:00Z.
 */
typedef struct {
  gint64 sec;
  gint32 nsec;
  gint32 offset;
} GpGoTime;

GP_API gboolean gp_go_time_parse_json (const char *raw, gsize len, GpGoTime *out, GError **error);
GP_API gboolean gp_go_time_append_json (GString *out, const GpGoTime *t, GError **error);
GP_API gint64 gp_go_time_to_unix (const GpGoTime *t);

G_END_DECLS
