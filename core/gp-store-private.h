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
};

/* A minimal JSON reader with Go 1.5 encoding/json decoding semantics, for
 * the few fixed shapes the store reads (repositories.json, v2metadata). */
typedef struct {
  const char *start;
  const char *p;
  const char *end;
  const char *what;  /* file name for messages */
  guint depth;
} GpJScan;

void _gp_jscan_init (GpJScan *s, const char *data, gsize len, const char *what);
void _gp_jscan_ws (GpJScan *s);
int _gp_jscan_peek (GpJScan *s);
gboolean _gp_jscan_error (GpJScan *s, GError **error, const char *fmt, ...) G_GNUC_PRINTF (3, 4);
gboolean _gp_jscan_string (GpJScan *s, GString *out, GError **error);
gboolean _gp_jscan_skip_value (GpJScan *s, GError **error);
gboolean _gp_jscan_null (GpJScan *s);
gboolean _gp_jscan_expect (GpJScan *s, char c, GError **error);
gboolean _gp_jscan_object_next (GpJScan *s, gboolean *first, GString *key, gboolean *out_done,
                                GError **error);
gboolean _gp_jscan_array_next (GpJScan *s, gboolean *first, gboolean *out_done, GError **error);
gboolean _gp_go_field_match (const char *key, gsize key_len, const char *field);
gboolean _gp_jscan_type_error (GpJScan *s, GError **error, const char *want);

char *_gp_go_trim_space (const char *s, gsize len);

gboolean _gp_store_ensure_dir (GpStore *store, const char *top, const char *rest, guint mode,
                               GError **error);

G_END_DECLS
