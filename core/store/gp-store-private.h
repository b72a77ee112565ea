/* graphpipe - internals shared by gp-store*.c (never installed). */
#pragma once

#include "gp-store.h"

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

G_END_DECLS
