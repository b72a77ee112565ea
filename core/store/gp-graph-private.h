/* graphpipe - the legacy graph's handle, shared by gp-graph.c and
 * gp-graph-build.c (never installed). */
#pragma once

#include "gp-graph.h"

G_BEGIN_DECLS

struct _GpGraph
{
  gint ref_count;
  char *root;
  char *mapping_root; /* NULL: root */
  gboolean has_graph_dir;
  gboolean scanned;
  GPtrArray *images;  /* GpGraphImage*, owned, sorted by id */
  GHashTable *by_id;  /* id -> GpGraphImage* (borrowed) */
  GPtrArray *order;   /* GpGraphImage* (borrowed), Docker's §4.9 D order */
  GHashTable *mapping;/* v1 ID -> image ID, both owned */
  guint n_restored;
  GHashTable *mapped_configs; /* image ID -> GpImageConfig of mapped parents */
  GMutex mapped_lock;          /* mapping and mapped_configs: configs may be built in threads */
};

G_END_DECLS
