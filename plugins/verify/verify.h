/* verify - the parts of the verify stage shared by its source files.
 *
 * Public API only (<graphpipe.h>), like any third-party stage.
 */
#pragma once

#include <graphpipe.h>

G_BEGIN_DECLS

/* Counters of the final report. */
#define VERIFY_LAYERS "layers checked"
#define VERIFY_IMAGES "images checked"
#define VERIFY_REFERENCES "references checked"
#define VERIFY_MOUNTS "mounts checked"
#define VERIFY_DIST "distribution files checked"
#define VERIFY_BYTES "bytes hashed"
#define VERIFY_PROBLEMS "problems found"

/* One problem: where (a path) and what. */
typedef struct {
  char *item;
  char *message;
} VerifyProblem;

/* Lists of VerifyProblem.  Workers fill their own list; the stage reports
 * the lists in a fixed order, so that the report does not depend on
 * thread timing. */
GPtrArray *verify_problems_new (void);
void verify_problems_add (GPtrArray *list, const char *item, const char *format, ...)
  G_GNUC_PRINTF (3, 4);
void verify_problems_add_error (GPtrArray *list, const char *item, const GError *error);
void verify_problems_report (GPtrArray *list, GpContext *ctx);

/* The state of one layer record of layerdb. */
typedef struct {
  char *chain_id;
  char *dir;                /* layerdb/sha256/<hex> */
  GpLayerRecord *record;    /* NULL: the record does not load (reported) */
  GPtrArray *problems;      /* VerifyProblem: found by the content check */
  guint64 bytes;            /* tar bytes rebuilt and hashed */
} VerifyLayer;

typedef struct {
  GpContext *ctx;
  GpStore *store;
  const GpDriver *driver; /* NULL: layer files cannot be read (reported) */
  const char *root;
  const char *dir;        /* <root>/image/<driver> */
  gboolean contents;      /* rebuild every layer's tar */
  guint jobs;
  GHashTable *layers;     /* chain ID -> VerifyLayer */
  gint n_done;            /* layers whose check finished (atomic) */
  guint n_total;
} Verify;

gboolean verify_layers (Verify *v, GPtrArray *problems, GError **error);

G_END_DECLS
