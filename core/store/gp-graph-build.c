/* graphpipe - the legacy graph: the per-image steps of a migration
 * (FORMATS.md §4.9 D): the parent's image and chain IDs, the image config. */
#include "config.h"

#include "gp-graph.h"
#include "gp-graph-private.h"
#include "gp-digest.h"
#include "gp-error.h"
#include "gp-json.h"
#include "gp-store.h"
#include "gp-v1image.h"

#include <string.h>

/* ---- per-image steps of §4.9 D ---- */

/* The config of a mapped parent image (Docker's is.Get(parentID)), loaded
 * once per image ID. */
static GpImageConfig *
get_mapped_config (GpGraph *graph, GpGraphImage *image, GpStore *store, GError **error)
{
  g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&graph->mapped_lock);
  const char *image_id = g_hash_table_lookup (graph->mapping, image->parent);
  GpImageConfig *config = g_hash_table_lookup (graph->mapped_configs, image_id);

  if (config != NULL)
    return config;

  g_autoptr (GError) local_error = NULL;
  g_autoptr (GBytes) data = gp_store_get_image_config (store, image_id, &local_error);
  if (data != NULL)
    config = gp_image_config_parse (g_bytes_get_data (data, NULL), g_bytes_get_size (data),
                                    &local_error);
  if (config == NULL)
    {
      g_set_error (error, local_error->domain, local_error->code,
                   "graph/%s: parent %s migrated earlier to %s, which cannot be loaded: %s",
                   image->id, image->parent, image_id, local_error->message);
      return NULL;
    }
  g_hash_table_insert (graph->mapped_configs, g_strdup (image_id), config);
  return config;
}

/**
 * gp_graph_image_parent_image_id:
 * @graph: a graph
 * @image: a node
 *
 * Returns: (transfer none) (nullable): the image ID of @image's parent
 *   image (from the mapping of an earlier run, or the parent node's
 *   #GpGraphImage.image_id), %NULL for a base image or a parent not
 *   created (yet).
 *
 * Since: 0.1
 */
const char *
gp_graph_image_parent_image_id (GpGraph *graph, GpGraphImage *image)
{
  if (image->parent == NULL)
    return NULL;
  if (image->parent_mapped)
    return g_hash_table_lookup (graph->mapping, image->parent);
  return image->parent_image != NULL ? image->parent_image->image_id : NULL;
}

/**
 * gp_graph_image_parent_chain_id:
 * @graph: a graph
 * @image: a node whose parent (if any) has been handled
 * @store: the store (for a parent migrated by an earlier run)
 * @error: return location for a #GError
 *
 * Steps D.1-2: the ChainID of the parent image's layers, the parent
 * image's config being loaded from the store when it was migrated by an
 * earlier run.
 *
 * Returns: (transfer full) (nullable): the parent's ChainID, "" for a
 *   base image (or a parent without layers); %NULL with @error set.
 *
 * Since: 0.1
 */
char *
gp_graph_image_parent_chain_id (GpGraph *graph, GpGraphImage *image, GpStore *store, GError **error)
{
  if (image->parent == NULL)
    return g_strdup ("");
  if (image->parent_mapped)
    {
      GpImageConfig *config = get_mapped_config (graph, image, store, error);
      if (config == NULL)
        return NULL;
      if (config->diff_ids == NULL || config->diff_ids->len == 0)
        return g_strdup ("");
      g_autoptr (GPtrArray) ids = g_ptr_array_new ();
      for (guint i = 0; i < config->diff_ids->len; i++)
        g_ptr_array_add (ids, ((GString *) config->diff_ids->pdata[i])->str);
      return gp_chain_id_for_list ((const char *const *) ids->pdata, ids->len);
    }
  if (image->parent_image == NULL || image->parent_image->chain_id == NULL)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING,
                   "graph/%s: parent %s has no layer", image->id, image->parent);
      return NULL;
    }
  return g_strdup (image->parent_image->chain_id);
}

/**
 * gp_graph_image_build_config:
 * @graph: a graph
 * @image: a node with #GpGraphImage.diff_id set, its parents handled
 * @store: the store (for a parent migrated by an earlier run)
 * @error: return location for a #GError
 *
 * Steps D.2, D.5 and the checks of D.6: the history entry of @image
 * (HistoryFromConfig, §5.5), appended to the parent image's history; the
 * DiffID appended to the parent's `rootfs`; the config built by
 * MakeConfigFromV1Config (§5.6) and parsed back as Docker's image store
 * does before creating it (no `rootfs`, invalid JSON, or more non-empty
 * history entries than layers fail).  In-run ancestors are walked
 * iteratively; their history entries are kept marshalled in the nodes,
 * and a config that passed the checks is not parsed again when built
 * again with the same bytes.
 *
 * Configs of different images may be built in several threads at once
 * once every node of their chains went through a first call (which sets
 * the node's history entry): a call writes only @image's private fields
 * and the locked table of mapped parents.
 *
 * Returns: (transfer full) (nullable): the exact config bytes (their
 *   sha256 is the image ID); %NULL with @error naming the image.
 *
 * Since: 0.1
 */
GBytes *
gp_graph_image_build_config (GpGraph *graph, GpGraphImage *image, GpStore *store, GError **error)
{
  g_return_val_if_fail (image->diff_id != NULL && image->json != NULL, NULL);

  /* The node keeps its history entry marshalled (empty if it cannot be:
   * then the whole history is written as `null`), as every descendant's
   * config repeats it. */
  if (image->history == NULL)
    {
      g_autoptr (GpHistory) entry = gp_history_from_v1_json (g_bytes_get_data (image->json, NULL),
                                                             g_bytes_get_size (image->json), error);
      if (entry == NULL)
        {
          g_prefix_error (error, "graph/%s/json: ", image->id);
          return NULL;
        }
      GString *json = g_string_new (NULL);
      if (!gp_history_append_json (json, entry, NULL))
        g_string_truncate (json, 0);
      image->history = json;
    }

  /* The in-run ancestors, image first, then what the chain starts from. */
  g_autoptr (GPtrArray) chain = g_ptr_array_new ();
  GpImageConfig *base = NULL;
  for (GpGraphImage *cur = image;;)
    {
      if (cur->history == NULL || cur->diff_id == NULL)
        {
          g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING,
                       "graph/%s: ancestor %s has not been migrated", image->id, cur->id);
          return NULL;
        }
      g_ptr_array_add (chain, cur);
      if (cur->parent == NULL)
        break;
      if (cur->parent_mapped)
        {
          base = get_mapped_config (graph, cur, store, error);
          if (base == NULL)
            return NULL;
          break;
        }
      cur = cur->parent_image;
      if (cur == NULL)
        {
          g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING,
                       "graph/%s: an ancestor is missing", image->id);
          return NULL;
        }
    }

  /* The history as gp_history_array_append_json() writes it: the base
   * image's entries, then the chain's; `null` if one cannot be written. */
  g_autoptr (GPtrArray) diff_ids = g_ptr_array_new ();
  g_autoptr (GString) history = g_string_new ("[");
  gboolean history_ok = TRUE;
  if (base != NULL)
    {
      for (guint i = 0; base->diff_ids != NULL && i < base->diff_ids->len; i++)
        g_ptr_array_add (diff_ids, ((GString *) base->diff_ids->pdata[i])->str);
      for (guint i = 0; history_ok && base->history != NULL && i < base->history->len; i++)
        {
          if (history->len > 1)
            g_string_append_c (history, ',');
          history_ok = gp_history_append_json (history, base->history->pdata[i], NULL);
        }
    }
  for (guint i = chain->len; i-- > 0;)
    {
      GpGraphImage *m = chain->pdata[i];
      GString *entry = m->history;
      g_ptr_array_add (diff_ids, m->diff_id);
      if (entry->len == 0)
        history_ok = FALSE;
      if (!history_ok)
        continue;
      if (history->len > 1)
        g_string_append_c (history, ',');
      g_string_append_len (history, entry->str, entry->len);
    }
  g_ptr_array_add (diff_ids, NULL);
  g_string_append_c (history, ']');
  if (!history_ok)
    g_string_assign (history, "null");

  g_autoptr (GBytes) config = gp_make_config_from_v1_history_json (g_bytes_get_data (image->json, NULL),
                                                                   g_bytes_get_size (image->json),
                                                                   (const char *const *) diff_ids->pdata,
                                                                   history->str, history->len, error);
  if (config == NULL)
    {
      g_prefix_error (error, "graph/%s/json: ", image->id);
      return NULL;
    }

  /* Docker's image store parses the config before creating the image.
   * The outcome depends on the bytes only: a config that passed these
   * checks before (register-layers checks what build-configs then
   * writes) is not parsed again. */
  g_autofree char *digest = gp_sha256_digest_of (g_bytes_get_data (config, NULL),
                                                 g_bytes_get_size (config));
  if (g_strcmp0 (digest, image->checked_config) == 0)
    return g_steal_pointer (&config);
  guint n_layers = 0, n_nonempty = 0;
  if (!gp_image_config_check (g_bytes_get_data (config, NULL), g_bytes_get_size (config), &n_layers,
                              &n_nonempty, error))
    {
      g_prefix_error (error, "graph/%s: the new image config is invalid: ", image->id);
      return NULL;
    }
  if (n_nonempty > n_layers)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_INVALID,
                   "graph/%s: the new image config has too many non-empty layers in its history "
                   "(%u entries, %u layers)", image->id, n_nonempty, n_layers);
      return NULL;
    }
  g_free (image->checked_config);
  image->checked_config = g_steal_pointer (&digest);
  return g_steal_pointer (&config);
}
