/* graphpipe - Docker's image structs: the codec by description shared by
 * gp-v1image.c and gp-v1image-docker.c (never installed). */
#pragma once

#include "gp-v1image.h"

G_BEGIN_DECLS

/* How a struct member is held, decoded (FORMATS.md §6.8) and marshalled
 * (§6.9). */
typedef enum {
  F_STRING,     /* GString * (NULL is ""); null keeps the value */
  F_BOOL,       /* gboolean; null keeps the value */
  F_INT64,      /* gint64; null keeps the value */
  F_TIME,       /* GpGoTime; null fails, as in Go */
  F_STRINGS,    /* []string: GPtrArray of GString, NULL is nil */
  F_STRSLICE,   /* strslice.StrSlice: a []string, or one string */
  F_SET,        /* map[string]struct{}: GHashTable, GString keys, no values */
  F_MAP,        /* map[string]string: GHashTable of GString */
  F_CONFIG,     /* an embedded container.Config */
  F_CONFIG_PTR, /* *container.Config */
  F_HISTORY,    /* []image.History: GPtrArray of GpHistory */
  F_ROOTFS,     /* Image.RootFS, decoded into an ImageDecode (below) */
} FieldKind;

/* One member: its JSON key, kind, Go's omitempty and where it is. */
typedef struct {
  const char *name;
  FieldKind kind;
  gboolean omitempty;
  gsize offset;
} Field;

#define FIELD(type, member, name, kind, omitempty) \
  { name, kind, omitempty, G_STRUCT_OFFSET (type, member) }

/* How members are decoded: DECODE_CHECK makes the same checks and
 * decodes scalars, slices and structs, but leaves strings, string
 * elements and maps out (NULL): for a config that is only checked. */
typedef enum {
  DECODE_FULL,
  DECODE_CHECK,
} DecodeMode;

/* json.Unmarshal of a validated value into the struct at @base: null
 * leaves it as it is; keys are matched exactly, else case-insensitively
 * (Go's rules); unknown keys are ignored; duplicates apply in order. */
gboolean _gp_v1image_decode_struct (gpointer base, const Field *fields, guint n_fields,
                                    const char *go_type, const char *raw, gsize len,
                                    DecodeMode mode, GError **error);

/* Frees the members of the struct at @base (it is not zeroed). */
void _gp_v1image_clear_struct (gpointer base, const Field *fields, guint n_fields);

/* Marshals @img with @id and @parent in place of its own; on failure @out
 * is left as it was. */
gboolean _gp_v1image_append_json_full (GString *out, const GpV1Image *img, const GString *id,
                                       const GString *parent, GError **error);

G_END_DECLS
