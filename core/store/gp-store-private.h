/* graphpipe - internals shared by gp-store*.c (never installed). */
#pragma once

#include "gp-store.h"
#include "gp-safeio.h"

G_BEGIN_DECLS

struct _GpStore {
  gatomicrefcount ref_count;
  char *root;
  char *driver;
  char *dir;             /* <root>/image/<driver> */
  char *containers_dir;  /* <root>/containers */
  char *layers_root;     /* where the driver's layer directories are; NULL: root */
  GMutex lock;           /* layer commits, mounts, repositories, distribution */
  GpRepositories *repos; /* loaded on first use */
  /* What this handle wrote or checked itself, so that a run does not
   * read it back (bounded: cleared when full).  Under known_lock. */
  GMutex known_lock;
  GHashTable *known_dirs;   /* directories made or found by _gp_store_ensure_dir */
  GHashTable *known_layers; /* ChainIDs of records written or loaded whole */
  GHashTable *known_images; /* image IDs of configs written or verified */
  /* imagedb/content/sha256 and imagedb/metadata/sha256, opened at their
   * first write through this handle; under imagedb_lock. */
  GMutex imagedb_lock;
  GpSafeDir *content_dir;
  GpSafeDir *metadata_dir;
};

/* Remembers @key in @table (one of the known_* sets of @store). */
void _gp_store_remember (GpStore *store, GHashTable *table, const char *key);
/* Whether @key is in @table. */
gboolean _gp_store_is_known (GpStore *store, GHashTable *table, const char *key);

/* The store's JSON files are read with gp-json (validate, then iterate);
 * these add the store's messages: "<what>: JSON value at byte N is not …". */
gboolean _gp_store_json_type_error (const char *what, const char *data, const char *value,
                                    const char *want, GError **error);
gboolean _gp_store_json_string (const char *what, const char *data, const char *raw, gsize len,
                                const char *want, char **field, GError **error);

char *_gp_go_trim_space (const char *s, gsize len);

gboolean _gp_store_ensure_dir (GpStore *store, const char *top, const char *rest, guint mode,
                               GError **error);

/* @s is a `sha256:<hex>` digest; otherwise %GP_DATA_ERROR_DIGEST (or the
 * digest's own error) prefixed with @what. */
gboolean _gp_store_check_sha256 (const char *s, const char *what, GError **error);

/* A small store file read whole (at most 64 KiB); a missing one sets
 * %G_IO_ERROR_NOT_FOUND. */
char *_gp_store_read_small (const char *path, gsize *out_len, GError **error);

/* A store object of at most @max_size bytes read whole; a missing one is
 * %GP_DATA_ERROR_MISSING "<path>: <missing> <name>". */
char *_gp_store_read_object (const char *path, gsize max_size, gsize *out_len, const char *missing,
                             const char *name, GError **error);

/* `sha256:<hex>` for each entry of @dir named by 64 hex digits that is a
 * directory (@want_dir) or a regular file; none when @dir is missing. */
GPtrArray *_gp_store_list_hex_entries (const char *dir, gboolean want_dir, GError **error);

/* strcmp() of two elements of a GPtrArray of strings (g_ptr_array_sort). */
gint _gp_store_cmp_strv_items (gconstpointer a, gconstpointer b);

G_END_DECLS
