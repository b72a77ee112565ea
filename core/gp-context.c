/* graphpipe - the context passed down a pipeline. */
#include "config.h"

#include "gp-context.h"
#include "gp-context-private.h"

#include <string.h>

#include "gp-error.h"

static void
gp_slot_free (GpSlot *slot)
{
  if (slot->destroy != NULL)
    slot->destroy (slot->data);
  g_free (slot);
}

/**
 * gp_report_entry_free:
 * @entry: (transfer full) (nullable): an entry
 *
 * Frees a report entry from gp_context_dup_report().
 *
 * Since: 0.1
 */
void
gp_report_entry_free (GpReportEntry *entry)
{
  if (entry == NULL)
    return;
  g_free (entry->stage);
  g_free (entry->item);
  g_free (entry->message);
  g_free (entry);
}

/**
 * gp_context_new:
 *
 * Creates a context with default settings: no root, no driver, as many
 * jobs as the machine has processors, every flag off.
 *
 * Returns: (transfer full): a new context; free with gp_context_unref()
 *
 * Since: 0.1
 */
GpContext *
gp_context_new (void)
{
  GpContext *ctx = g_new0 (GpContext, 1);

  g_atomic_ref_count_init (&ctx->ref_count);
  ctx->jobs = MAX (1, g_get_num_processors ());
  ctx->variables = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  ctx->cancellable = g_cancellable_new ();
  g_mutex_init (&ctx->lock);
  ctx->image_ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  ctx->counters = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  ctx->report = g_ptr_array_new_with_free_func ((GDestroyNotify) gp_report_entry_free);
  ctx->slots = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                      (GDestroyNotify) gp_slot_free);
  g_rec_mutex_init (&ctx->emit_lock);
  ctx->sinks = g_array_new (FALSE, TRUE, sizeof (GpSink));
  ctx->next_sink_id = 1;
  return ctx;
}

/**
 * gp_context_ref:
 * @ctx: a context
 *
 * Takes a reference.
 *
 * Returns: (transfer full): @ctx
 *
 * Since: 0.1
 */
GpContext *
gp_context_ref (GpContext *ctx)
{
  g_return_val_if_fail (ctx != NULL, NULL);
  g_atomic_ref_count_inc (&ctx->ref_count);
  return ctx;
}

/**
 * gp_context_unref:
 * @ctx: (transfer full) (nullable): a context
 *
 * Drops a reference; the last one destroys every slot (calling its destroy
 * notify), then the sinks (calling theirs), then the rest.
 *
 * Since: 0.1
 */
void
gp_context_unref (GpContext *ctx)
{
  if (ctx == NULL || !g_atomic_ref_count_dec (&ctx->ref_count))
    return;

  g_hash_table_unref (ctx->slots);
  for (guint i = 0; i < ctx->sinks->len; i++)
    {
      GpSink *sink = &g_array_index (ctx->sinks, GpSink, i);
      if (sink->destroy != NULL)
        sink->destroy (sink->user_data);
    }
  g_array_unref (ctx->sinks);
  g_rec_mutex_clear (&ctx->emit_lock);
  g_ptr_array_unref (ctx->report);
  g_hash_table_unref (ctx->counters);
  g_hash_table_unref (ctx->image_ids);
  g_free (ctx->current_stage);
  g_mutex_clear (&ctx->lock);
  g_object_unref (ctx->cancellable);
  g_hash_table_unref (ctx->variables);
  g_clear_pointer (&ctx->store, gp_store_unref);
  g_free (ctx->root);
  g_free (ctx->driver);
  g_free (ctx->output);
  g_free (ctx->target);
  g_free (ctx->layers_root);
  g_free (ctx);
}

/* ---- run settings ---- */

/**
 * gp_context_get_root:
 * @ctx: a context
 *
 * Returns: (nullable) (transfer none): the Docker data root, or %NULL
 *
 * Since: 0.1
 */
const char *
gp_context_get_root (GpContext *ctx)
{
  g_return_val_if_fail (ctx != NULL, NULL);
  return ctx->root;
}

/**
 * gp_context_set_root:
 * @ctx: a context
 * @root: (nullable): the Docker data root
 *
 * Sets the data root the run works on.  This does not define the preset
 * variable `${root}`; the caller sets that too if it wants it
 * (gp_context_set_variable()).
 *
 * Since: 0.1
 */
void
gp_context_set_root (GpContext *ctx, const char *root)
{
  g_return_if_fail (ctx != NULL);
  g_free (ctx->root);
  ctx->root = g_strdup (root);
}

/**
 * gp_context_get_driver:
 * @ctx: a context
 *
 * Returns: (nullable) (transfer none): the storage driver name, or %NULL
 *   when not set
 *
 * Since: 0.1
 */
const char *
gp_context_get_driver (GpContext *ctx)
{
  g_return_val_if_fail (ctx != NULL, NULL);
  return ctx->driver;
}

/**
 * gp_context_set_driver:
 * @ctx: a context
 * @driver: (nullable): a storage driver name (`vfs`, `overlay2`, ...)
 *
 * Sets the storage driver.
 *
 * Since: 0.1
 */
void
gp_context_set_driver (GpContext *ctx, const char *driver)
{
  g_return_if_fail (ctx != NULL);
  g_free (ctx->driver);
  ctx->driver = g_strdup (driver);
}

/**
 * gp_context_get_jobs:
 * @ctx: a context
 *
 * Returns: how many worker threads stages may use (at least 1)
 *
 * Since: 0.1
 */
guint
gp_context_get_jobs (GpContext *ctx)
{
  g_return_val_if_fail (ctx != NULL, 1);
  return ctx->jobs;
}

/**
 * gp_context_for_each_parallel:
 * @ctx: a context
 * @items: the work items
 * @max_threads: at most this many threads, whatever --jobs says
 * @func: called as `func (item, NULL)` once for each item, from any
 *   thread
 *
 * Runs @func over @items on up to MIN (--jobs, @max_threads, the number of
 * items) threads, in this thread when that is 1 (or no pool can be made),
 * and returns when every call has returned.  @func reports failure in its
 * item, for the caller to read in order afterwards.
 */
void
gp_context_for_each_parallel (GpContext *ctx, GPtrArray *items, guint max_threads, GFunc func)
{
  guint n = items->len;
  guint threads = MIN (MIN (gp_context_get_jobs (ctx), max_threads), n);
  GThreadPool *pool = threads > 1 ? g_thread_pool_new (func, NULL, (gint) threads, FALSE, NULL)
                                  : NULL;
  for (guint i = 0; i < n; i++)
    {
      if (pool != NULL)
        g_thread_pool_push (pool, g_ptr_array_index (items, i), NULL);
      else
        func (g_ptr_array_index (items, i), NULL);
    }
  if (pool != NULL)
    g_thread_pool_free (pool, FALSE, TRUE);
}

/**
 * gp_context_set_jobs:
 * @ctx: a context
 * @jobs: number of worker threads; 0 means the number of processors
 *
 * Sets the parallelism stages may use.
 *
 * Since: 0.1
 */
void
gp_context_set_jobs (GpContext *ctx, guint jobs)
{
  g_return_if_fail (ctx != NULL);
  ctx->jobs = jobs > 0 ? jobs : (guint) MAX (1, g_get_num_processors ());
  ctx->jobs_given = jobs > 0;
}

/**
 * gp_context_get_io_jobs:
 * @ctx: a context
 *
 * How many worker threads a stage may use for work that waits on files as
 * much as it computes (layers read from a disk whose pages are not cached,
 * many small files created): gp_context_get_jobs() when a number of jobs
 * was set (`--jobs N`, gp_context_set_jobs() above 0), else twice the
 * number of processors (at most 8 more than them), so that a thread
 * waiting on the disk leaves its processor to another.
 *
 * Returns: the number of threads (at least 1)
 *
 * Since: 0.2
 */
guint
gp_context_get_io_jobs (GpContext *ctx)
{
  g_return_val_if_fail (ctx != NULL, 1);
  if (ctx->jobs_given)
    return ctx->jobs;
  guint n = (guint) MAX (1, g_get_num_processors ());
  return n + MIN (n, 8);
}

/**
 * gp_context_get_dry_run:
 * @ctx: a context
 *
 * Returns: %TRUE when stages must not write anything
 *
 * Since: 0.1
 */
gboolean
gp_context_get_dry_run (GpContext *ctx)
{
  g_return_val_if_fail (ctx != NULL, FALSE);
  return ctx->dry_run;
}

/**
 * gp_context_set_dry_run:
 * @ctx: a context
 * @dry_run: whether stages only report what they would do
 *
 * Since: 0.1
 */
void
gp_context_set_dry_run (GpContext *ctx, gboolean dry_run)
{
  g_return_if_fail (ctx != NULL);
  ctx->dry_run = !!dry_run;
}

/**
 * gp_context_get_read_only_source:
 * @ctx: a context
 *
 * Returns: %TRUE when the source graph must not be written to at all
 *
 * Since: 0.1
 */
gboolean
gp_context_get_read_only_source (GpContext *ctx)
{
  g_return_val_if_fail (ctx != NULL, FALSE);
  return ctx->read_only_source;
}

/**
 * gp_context_set_read_only_source:
 * @ctx: a context
 * @read_only: whether helper files go elsewhere than the source graph
 *
 * Since: 0.1
 */
void
gp_context_set_read_only_source (GpContext *ctx, gboolean read_only)
{
  g_return_if_fail (ctx != NULL);
  ctx->read_only_source = !!read_only;
}

/**
 * gp_context_get_strict:
 * @ctx: a context
 *
 * Returns: %TRUE when problems that are normally warnings fail the run
 *
 * Since: 0.1
 */
gboolean
gp_context_get_strict (GpContext *ctx)
{
  g_return_val_if_fail (ctx != NULL, FALSE);
  return ctx->strict;
}

/**
 * gp_context_set_strict:
 * @ctx: a context
 * @strict: whether warnings become failures
 *
 * Since: 0.1
 */
void
gp_context_set_strict (GpContext *ctx, gboolean strict)
{
  g_return_if_fail (ctx != NULL);
  ctx->strict = !!strict;
}

/**
 * gp_context_get_output:
 * @ctx: a context
 *
 * Returns: (nullable) (transfer none): the output path (`-` for standard
 *   output), or %NULL
 *
 * Since: 0.1
 */
const char *
gp_context_get_output (GpContext *ctx)
{
  g_return_val_if_fail (ctx != NULL, NULL);
  return ctx->output;
}

/**
 * gp_context_set_output:
 * @ctx: a context
 * @output: (nullable): the output path, `-` for standard output
 *
 * Since: 0.1
 */
void
gp_context_set_output (GpContext *ctx, const char *output)
{
  g_return_if_fail (ctx != NULL);
  g_free (ctx->output);
  ctx->output = g_strdup (output);
}

/**
 * gp_context_get_target:
 * @ctx: a context
 *
 * Returns: (nullable) (transfer none): the directory the run writes its
 *   store into instead of the data root, or %NULL (the root itself)
 *
 * Since: 0.2
 */
const char *
gp_context_get_target (GpContext *ctx)
{
  g_return_val_if_fail (ctx != NULL, NULL);
  return ctx->target;
}

/**
 * gp_context_set_target:
 * @ctx: a context
 * @target: (nullable): a directory, or %NULL to write into the root
 *
 * Makes the run build its 1.10+ store (`image/<driver>/`, `containers/`,
 * the migration's mapping file and tag marker, its helper files) under
 * @target while the data root is only read (`graphpipe migrate
 * --target`).  Layer files stay in the root: the store's layers root is
 * the data root (gp_store_get_layers_root()).
 *
 * Since: 0.2
 */
void
gp_context_set_target (GpContext *ctx, const char *target)
{
  g_return_if_fail (ctx != NULL);
  g_free (ctx->target);
  ctx->target = g_strdup (target);
}

/**
 * gp_context_get_store_root:
 * @ctx: a context
 *
 * Returns: (nullable) (transfer none): where the store lives: the target
 *   when one is set, else the data root
 *
 * Since: 0.2
 */
const char *
gp_context_get_store_root (GpContext *ctx)
{
  g_return_val_if_fail (ctx != NULL, NULL);
  return ctx->target != NULL ? ctx->target : ctx->root;
}

/**
 * gp_context_get_layers_root:
 * @ctx: a context
 *
 * Returns: (nullable) (transfer none): the data root whose driver
 *   directories hold the layer files: the one set with
 *   gp_context_set_layers_root(), else the data root
 *
 * Since: 0.2
 */
const char *
gp_context_get_layers_root (GpContext *ctx)
{
  g_return_val_if_fail (ctx != NULL, NULL);
  return ctx->layers_root != NULL ? ctx->layers_root : ctx->root;
}

/**
 * gp_context_set_layers_root:
 * @ctx: a context
 * @layers_root: (nullable): a data root, or %NULL for the run's root
 *
 * Reads layer files from @layers_root's driver directories while the
 * store is the root's (`graphpipe save --layers-from`).
 *
 * Since: 0.2
 */
void
gp_context_set_layers_root (GpContext *ctx, const char *layers_root)
{
  g_return_if_fail (ctx != NULL);
  g_free (ctx->layers_root);
  ctx->layers_root = g_strdup (layers_root);
}

/**
 * gp_context_get_current_stage:
 * @ctx: a context
 *
 * Returns: (nullable) (transfer none): the name of the stage the pipeline
 *   is running, or %NULL between stages
 *
 * Since: 0.1
 */
const char *
gp_context_get_current_stage (GpContext *ctx)
{
  g_return_val_if_fail (ctx != NULL, NULL);
  return ctx->current_stage;
}

/**
 * gp_context_set_current_stage:
 * @ctx: a context
 * @stage: (nullable): a stage name
 *
 * Sets the stage events and report entries are attributed to when they
 * name none.  The pipeline calls this around each stage; call it only
 * while no stage is running.
 *
 * Since: 0.1
 */
void
gp_context_set_current_stage (GpContext *ctx, const char *stage)
{
  g_return_if_fail (ctx != NULL);
  g_mutex_lock (&ctx->lock);
  g_free (ctx->current_stage);
  ctx->current_stage = g_strdup (stage);
  g_mutex_unlock (&ctx->lock);
}

/* ---- variables ---- */

/**
 * gp_context_set_variable:
 * @ctx: a context
 * @name: a variable name (letters, digits, `-`, `_`)
 * @value: (nullable): its value; %NULL removes it
 *
 * Defines the value `${name}` takes in presets.  Set variables before the
 * pipeline is built: substitution happens while it is validated.
 *
 * Since: 0.1
 */
void
gp_context_set_variable (GpContext *ctx, const char *name, const char *value)
{
  g_return_if_fail (ctx != NULL);
  g_return_if_fail (name != NULL);
  if (value == NULL)
    g_hash_table_remove (ctx->variables, name);
  else
    g_hash_table_insert (ctx->variables, g_strdup (name), g_strdup (value));
}

/**
 * gp_context_get_variable:
 * @ctx: a context
 * @name: a variable name
 *
 * Returns: (nullable) (transfer none): the value, or %NULL if undefined
 *
 * Since: 0.1
 */
const char *
gp_context_get_variable (GpContext *ctx, const char *name)
{
  g_return_val_if_fail (ctx != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);
  return g_hash_table_lookup (ctx->variables, name);
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* Sorted copy of a string-keyed table's keys. */
static char **
sorted_keys (GHashTable *table)
{
  guint n = 0;
  g_autofree gpointer *keys = g_hash_table_get_keys_as_array (table, &n);
  char **out = g_new0 (char *, n + 1);

  for (guint i = 0; i < n; i++)
    out[i] = g_strdup (keys[i]);
  qsort (out, n, sizeof (char *), compare_strings);
  return out;
}

/**
 * gp_context_list_variables:
 * @ctx: a context
 *
 * Returns: (transfer full): the defined variable names, sorted; free with
 *   g_strfreev()
 *
 * Since: 0.1
 */
char **
gp_context_list_variables (GpContext *ctx)
{
  g_return_val_if_fail (ctx != NULL, NULL);
  return sorted_keys (ctx->variables);
}

/* ---- v1 -> image ID mapping ---- */

/**
 * gp_context_set_image_id:
 * @ctx: a context
 * @v1_id: a legacy v1 image ID (64 hex digits)
 * @image_id: the content-addressable image ID (`sha256:...`)
 *
 * Records which image ID a legacy v1 ID became.  Thread-safe.
 *
 * Since: 0.1
 */
void
gp_context_set_image_id (GpContext *ctx, const char *v1_id, const char *image_id)
{
  g_return_if_fail (ctx != NULL);
  g_return_if_fail (v1_id != NULL && image_id != NULL);
  g_mutex_lock (&ctx->lock);
  g_hash_table_insert (ctx->image_ids, g_strdup (v1_id), g_strdup (image_id));
  g_mutex_unlock (&ctx->lock);
}

/**
 * gp_context_lookup_image_id:
 * @ctx: a context
 * @v1_id: a legacy v1 image ID
 *
 * Returns: (nullable) (transfer none): the image ID recorded for @v1_id,
 *   valid until it is replaced or @ctx is freed; %NULL if none
 *
 * Since: 0.1
 */
const char *
gp_context_lookup_image_id (GpContext *ctx, const char *v1_id)
{
  g_return_val_if_fail (ctx != NULL, NULL);
  g_return_val_if_fail (v1_id != NULL, NULL);
  g_mutex_lock (&ctx->lock);
  const char *image_id = g_hash_table_lookup (ctx->image_ids, v1_id);
  g_mutex_unlock (&ctx->lock);
  return image_id;
}

/**
 * gp_context_get_n_image_ids:
 * @ctx: a context
 *
 * Returns: how many v1 IDs have an image ID
 *
 * Since: 0.1
 */
guint
gp_context_get_n_image_ids (GpContext *ctx)
{
  g_return_val_if_fail (ctx != NULL, 0);
  g_mutex_lock (&ctx->lock);
  guint n = g_hash_table_size (ctx->image_ids);
  g_mutex_unlock (&ctx->lock);
  return n;
}

/**
 * gp_context_list_v1_ids:
 * @ctx: a context
 *
 * Returns: (transfer full): the mapped v1 IDs, sorted; free with
 *   g_strfreev()
 *
 * Since: 0.1
 */
char **
gp_context_list_v1_ids (GpContext *ctx)
{
  g_return_val_if_fail (ctx != NULL, NULL);
  g_mutex_lock (&ctx->lock);
  char **ids = sorted_keys (ctx->image_ids);
  g_mutex_unlock (&ctx->lock);
  return ids;
}

/* ---- cancellation ---- */

/**
 * gp_context_get_cancellable:
 * @ctx: a context
 *
 * The run's cancellable: the CLI cancels it on SIGINT/SIGTERM.  Stages
 * pass it to GIO calls and check it between items.
 *
 * Returns: (transfer none): the cancellable
 *
 * Since: 0.1
 */
GCancellable *
gp_context_get_cancellable (GpContext *ctx)
{
  g_return_val_if_fail (ctx != NULL, NULL);
  return ctx->cancellable;
}

/**
 * gp_context_is_cancelled:
 * @ctx: a context
 *
 * Returns: %TRUE once the run has been cancelled
 *
 * Since: 0.1
 */
gboolean
gp_context_is_cancelled (GpContext *ctx)
{
  g_return_val_if_fail (ctx != NULL, FALSE);
  return g_cancellable_is_cancelled (ctx->cancellable);
}

/**
 * gp_context_set_error_if_cancelled:
 * @ctx: a context
 * @error: return location for a #GError
 *
 * Sets %G_IO_ERROR_CANCELLED when the run has been cancelled: the check a
 * stage makes at each safe point.
 *
 * Returns: %TRUE (with @error set) if cancelled
 *
 * Since: 0.1
 */
gboolean
gp_context_set_error_if_cancelled (GpContext *ctx, GError **error)
{
  g_return_val_if_fail (ctx != NULL, FALSE);
  return g_cancellable_set_error_if_cancelled (ctx->cancellable, error);
}

/* ---- counters ---- */

/**
 * gp_context_add_counter:
 * @ctx: a context
 * @name: a counter name, e.g. `layers` or `example.bytes`
 * @delta: what to add (may be negative); a new counter starts at 0
 *
 * Adds to a named counter of the final report.  Thread-safe.
 *
 * Returns: the counter's new value
 *
 * Since: 0.1
 */
gint64
gp_context_add_counter (GpContext *ctx, const char *name, gint64 delta)
{
  g_return_val_if_fail (ctx != NULL, 0);
  g_return_val_if_fail (name != NULL, 0);
  g_mutex_lock (&ctx->lock);
  gint64 *value = g_hash_table_lookup (ctx->counters, name);
  if (value == NULL)
    {
      value = g_new0 (gint64, 1);
      g_hash_table_insert (ctx->counters, g_strdup (name), value);
    }
  *value += delta;
  gint64 result = *value;
  g_mutex_unlock (&ctx->lock);
  return result;
}

/**
 * gp_context_get_counter:
 * @ctx: a context
 * @name: a counter name
 *
 * Returns: the counter's value, 0 if it was never added to
 *
 * Since: 0.1
 */
gint64
gp_context_get_counter (GpContext *ctx, const char *name)
{
  g_return_val_if_fail (ctx != NULL, 0);
  g_return_val_if_fail (name != NULL, 0);
  g_mutex_lock (&ctx->lock);
  const gint64 *value = g_hash_table_lookup (ctx->counters, name);
  gint64 result = value != NULL ? *value : 0;
  g_mutex_unlock (&ctx->lock);
  return result;
}

/**
 * gp_context_list_counters:
 * @ctx: a context
 *
 * Returns: (transfer full): the counter names, sorted; free with
 *   g_strfreev()
 *
 * Since: 0.1
 */
char **
gp_context_list_counters (GpContext *ctx)
{
  g_return_val_if_fail (ctx != NULL, NULL);
  g_mutex_lock (&ctx->lock);
  char **names = sorted_keys (ctx->counters);
  g_mutex_unlock (&ctx->lock);
  return names;
}

/* ---- slots ---- */

/**
 * gp_context_set_slot:
 * @ctx: a context
 * @key: the slot's name; by convention `<stage>.<what>`
 * @data: (nullable): the data; the context owns it from now on
 * @destroy: (nullable): frees @data when the slot is replaced, cleared or
 *   the context is freed
 *
 * Stores data for later stages, replacing (and destroying) what the slot
 * held.  Setting %NULL data with a %NULL @destroy clears the slot.
 * Thread-safe.
 *
 * Since: 0.1
 */
void
gp_context_set_slot (GpContext *ctx, const char *key, gpointer data,
                     GDestroyNotify destroy)
{
  g_return_if_fail (ctx != NULL);
  g_return_if_fail (key != NULL);

  GpSlot *old = NULL;
  g_autofree char *old_key = NULL;
  g_mutex_lock (&ctx->lock);
  g_hash_table_steal_extended (ctx->slots, key, (gpointer *) &old_key, (gpointer *) &old);
  if (data != NULL || destroy != NULL)
    {
      GpSlot *slot = g_new0 (GpSlot, 1);
      slot->data = data;
      slot->destroy = destroy;
      g_hash_table_insert (ctx->slots, g_strdup (key), slot);
    }
  g_mutex_unlock (&ctx->lock);

  /* Destroy outside the lock: the notify may use the context. */
  if (old != NULL)
    gp_slot_free (old);
}

/**
 * gp_context_get_slot:
 * @ctx: a context
 * @key: a slot name
 *
 * Returns: (nullable) (transfer none): the slot's data, owned by the
 *   context; %NULL if the slot is empty
 *
 * Since: 0.1
 */
gpointer
gp_context_get_slot (GpContext *ctx, const char *key)
{
  g_return_val_if_fail (ctx != NULL, NULL);
  g_return_val_if_fail (key != NULL, NULL);
  g_mutex_lock (&ctx->lock);
  GpSlot *slot = g_hash_table_lookup (ctx->slots, key);
  gpointer data = slot != NULL ? slot->data : NULL;
  g_mutex_unlock (&ctx->lock);
  return data;
}

/**
 * gp_context_has_slot:
 * @ctx: a context
 * @key: a slot name
 *
 * Returns: %TRUE if the slot is set (even to %NULL data)
 *
 * Since: 0.1
 */
gboolean
gp_context_has_slot (GpContext *ctx, const char *key)
{
  g_return_val_if_fail (ctx != NULL, FALSE);
  g_return_val_if_fail (key != NULL, FALSE);
  g_mutex_lock (&ctx->lock);
  gboolean found = g_hash_table_contains (ctx->slots, key);
  g_mutex_unlock (&ctx->lock);
  return found;
}

/**
 * gp_context_steal_slot:
 * @ctx: a context
 * @key: a slot name
 *
 * Empties the slot without destroying its data.
 *
 * Returns: (nullable) (transfer full): the data, now owned by the caller;
 *   %NULL if the slot was empty
 *
 * Since: 0.1
 */
gpointer
gp_context_steal_slot (GpContext *ctx, const char *key)
{
  g_return_val_if_fail (ctx != NULL, NULL);
  g_return_val_if_fail (key != NULL, NULL);
  GpSlot *slot = NULL;
  g_autofree char *old_key = NULL;
  g_mutex_lock (&ctx->lock);
  g_hash_table_steal_extended (ctx->slots, key, (gpointer *) &old_key, (gpointer *) &slot);
  g_mutex_unlock (&ctx->lock);
  if (slot == NULL)
    return NULL;
  gpointer data = slot->data;
  g_free (slot);
  return data;
}

/**
 * gp_context_get_store:
 * @ctx: a #GpContext
 * @error: return location for a #GError
 *
 * Gives the 1.10+ content-addressable store of the run's data root (or its
 * target, gp_context_set_target()) and driver (`<root>/image/<driver>/`),
 * its layer files in gp_context_get_layers_root(), opened on first use and
 * shared by every stage afterwards.  Opening touches no file: stages that read check what
 * they need; stages that write call gp_store_init_layout().  A store is
 * reopened when the root, target, layers root or driver changed since it
 * was opened (scan-graph may detect the driver).
 *
 * Returns: (transfer none) (nullable): the store, owned by @ctx; %NULL with
 *   @error set when no root or driver is known or the driver is unknown.
 */
GpStore *
gp_context_get_store (GpContext *ctx, GError **error)
{
  g_return_val_if_fail (ctx != NULL, NULL);

  g_mutex_lock (&ctx->lock);
  const char *store_root = ctx->target != NULL ? ctx->target : ctx->root;
  const char *layers_root = ctx->layers_root != NULL ? ctx->layers_root : ctx->root;
  if (ctx->store != NULL
      && (g_strcmp0 (gp_store_get_root (ctx->store), store_root) != 0
          || g_strcmp0 (gp_store_get_layers_root (ctx->store), layers_root) != 0
          || g_strcmp0 (gp_store_get_driver (ctx->store), ctx->driver) != 0))
    g_clear_pointer (&ctx->store, gp_store_unref);
  if (ctx->store == NULL)
    {
      if (ctx->root == NULL || *ctx->root == '\0')
        g_set_error_literal (error, GP_PRESET_ERROR, GP_PRESET_ERROR_UNDEFINED_VARIABLE,
                             "no data root given (--root)");
      else if (ctx->driver == NULL || *ctx->driver == '\0')
        g_set_error (error, GP_PRESET_ERROR, GP_PRESET_ERROR_UNDEFINED_VARIABLE,
                     "%s: no storage driver given (--driver)", ctx->root);
      else if ((ctx->store = gp_store_open (store_root, ctx->driver, error)) != NULL
               && strcmp (layers_root, store_root) != 0)
        gp_store_set_layers_root (ctx->store, layers_root);
    }
  GpStore *store = ctx->store;
  g_mutex_unlock (&ctx->lock);
  return store;
}
