/* register-layers - checksum the legacy layers and write layerdb records.
 *
 * FORMATS.md §4.9 B-C and D.1-5.  First every legacy layer not migrated
 * yet is checksummed, in parallel (`jobs`): its tar is rebuilt from
 * `tar-data.json.gz` and the driver's files (§3.4) and hashed; where that
 * fails the tar is regenerated from the driver (§2.3) with a fresh
 * tar-split file, and a warning names the image and the file (`strict`
 * refuses instead).  The helper files are written as Docker writes them:
 * `.migration-tardata` (a hard link to `tar-data.json.gz`, or the new
 * file), `.migration-size`, then `.migration-diffid`.  Then, in Docker's
 * order (parents first), each image's layer is registered in layerdb
 * (ChainID of the parent chain + DiffID, cache-id = v1 ID) and its image
 * config is built and checked, so that an image whose config fails keeps
 * its layer while its descendants get none, as with Docker.  With parallel
 * checksums and build-configs in the pipeline, each image whose config
 * passed goes, in that order, to a writer thread that does build-configs'
 * writes for it meanwhile (stages/common/migrate-ahead.c).
 *
 * With --read-only-source the helper files go to
 * `image/<driver>/graphpipe-migration/<v1id>/` and nothing is written
 * inside graph/.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <graphpipe.h>

#include "migrate-common.h"

#define HELPER_DIFFID GP_GRAPH_HELPER_DIFFID
#define HELPER_SIZE GP_GRAPH_HELPER_SIZE
#define HELPER_TARDATA GP_GRAPH_HELPER_TARDATA
#define LEGACY_TARDATA GP_GRAPH_LEGACY_TARDATA

static const GpOption register_layers_options[] = {
  { .key = "jobs", .type = GP_OPTION_INT, .default_value = "0",
    .help = "Layers checksummed in parallel (0: --jobs, else twice the number of CPUs, at most 8 more)" },
  { .key = "strict", .type = GP_OPTION_BOOL, .default_value = "false",
    .help = "Refuse a layer whose tar-split data does not match its files instead of "
            "regenerating it from the driver (--strict sets it too)" },
  { NULL }
};

typedef struct {
  GpContext *ctx;
  const GpDriver *driver;
  const char *root;
  gboolean strict;
  gboolean read_only_source;
  gint n_done;
  guint n_total;
  guint64 bytes_seen; /* atomic: bytes hashed so far, for progress events */
  /* Task.done is set under lock; cond wakes the registration waiting
   * for it (see register_layers_run) */
  GMutex lock;
  GCond cond;
} Job;

typedef struct {
  GpGraphImage *image;
  GError *error;   /* the checksum failed: the image fails in D */
  gboolean regenerated;
  char *diff_id;   /* what this run wrote into .migration-diffid, */
  gint64 size;     /* and .migration-size (D.3 takes them from here) */
  guint64 bytes;
  guint64 estimate; /* the JSON's Size: larger layers start first */
  gboolean big;     /* started first, largest first (see the queue) */
  guint order_pos;  /* position in Docker's order (step D) */
  gboolean done;    /* under Job.lock: the checksum step ended */
} Task;

static void
task_free (Task *task)
{
  g_clear_error (&task->error);
  g_free (task->diff_id);
  g_free (task);
}

/* ---- the checksum of one layer (§4.9 C) ---- */

/* Progress within big layers, for the bar: every 16 MiB of a layer, an
 * event with the bytes hashed so far by all workers. */
#define PROGRESS_STEP ((guint64) 16 << 20)

typedef struct {
  Job *job;
  const char *id;
  guint64 bytes;   /* of this layer */
} Ticker;

static void
ticker_add (Ticker *t, gsize len)
{
  guint64 before = t->bytes;
  guint64 all = __atomic_add_fetch (&t->job->bytes_seen, (guint64) len, __ATOMIC_RELAXED);
  t->bytes += len;
  if (before / PROGRESS_STEP != t->bytes / PROGRESS_STEP)
    gp_context_emit_progress (t->job->ctx, t->id, 0, 0, all);
}

static gboolean
ticker_write (gpointer user_data, const void *buf, gsize len, GError **error)
{
  ticker_add (user_data, len);
  return TRUE;
}

/* The tar-split route (C.3): rebuild, hash, link.  FALSE with @error when
 * the route does not work for this layer. */
static gboolean
checksum_from_tar_split (const Job *job, Task *task, GpSafeDir *helper_dir, GpTarSplitStats *stats,
                         gboolean *out_absent, GError **error)
{
  const char *id = task->image->id;
  Ticker ticker = { (Job *) job, id, 0 };
  if (!gp_graph_layer_tar_split (job->driver, job->root, id, ticker_write, &ticker,
                                 gp_context_get_cancellable (job->ctx), stats, out_absent, error))
    return FALSE;

  g_autofree char *td_path = g_build_filename (job->root, "graph", id, LEGACY_TARDATA, NULL);
  if (job->read_only_source)
    {
      g_autofree char *dest = g_build_filename (gp_safe_dir_get_path (helper_dir), HELPER_TARDATA, NULL);
      return gp_safeio_copy_file (td_path, dest, 0600, GP_SAFE_DEFAULT, error);
    }
  return gp_safeio_link_in (helper_dir, td_path, HELPER_TARDATA, error);
}

typedef struct {
  GpTarSplitDisassembler *dis;
  guint64 bytes;
  GCancellable *cancellable;
  Ticker ticker;
} DiffSink;

static gboolean
diff_sink_write (gpointer user_data, const void *buf, gsize len, GError **error)
{
  DiffSink *sink = user_data;

  sink->bytes += len;
  ticker_add (&sink->ticker, len);
  return gp_tar_split_disassembler_push (sink->dis, buf, len, error);
}

/* The driver's Diff of @image's layer (§2.3), streamed to @write_func. */
static gboolean
driver_diff (const GpDriver *driver, const char *root, GpGraphImage *image, GpWriteFunc write_func,
             gpointer user_data, GCancellable *cancellable, GError **error)
{
  return gp_graph_layer_driver_diff (driver, root, image->id, image->parent, write_func, user_data,
                                     cancellable, error);
}

/* The fallback route (C.4): the driver's Diff, disassembled into a new
 * `.migration-tardata`. */
static gboolean
checksum_from_driver (const Job *job, Task *task, GpSafeDir *helper_dir, GpTarSplitStats *stats,
                      GError **error)
{
  g_autoptr (GpSafeFile) out = gp_safe_file_new_in (helper_dir, HELPER_TARDATA, 0644, GP_SAFE_DEFAULT, error);
  if (out == NULL)
    return FALSE;
  g_autoptr (GpTarSplitDisassembler) dis = gp_tar_split_disassembler_new (gp_safe_file_write, out,
                                                                          GP_TAR_SPLIT_FLAGS_NONE);
  DiffSink sink = { dis, 0, gp_context_get_cancellable (job->ctx), { (Job *) job, task->image->id, 0 } };
  if (!driver_diff (job->driver, job->root, task->image, diff_sink_write, &sink, sink.cancellable, error))
    return FALSE;
  if (!gp_tar_split_disassembler_finish (dis, stats, error))
    return FALSE;
  mig_crash_point (job->ctx, "checksum: regenerated tardata not committed yet");
  return gp_safe_file_commit (out, error);
}

static void
checksum_task (Task *task, Job *job)
{
  GpGraphImage *image = task->image;
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) route_error = NULL;
  GpTarSplitStats stats;
  g_autofree char *helper_path = mig_helper_dir (job->ctx, image->id);

  if (gp_context_is_cancelled (job->ctx))
    {
      g_set_error (&task->error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "cancelled");
      return;
    }
  if (job->read_only_source && !gp_safeio_mkdir_p (helper_path, 0700, &task->error))
    return;
  /* The helper files are written through one descriptor. */
  g_autoptr (GpSafeDir) helper_dir = gp_safe_dir_open (helper_path, &task->error);
  if (helper_dir == NULL)
    return;

  gboolean absent = FALSE;
  gboolean ok = checksum_from_tar_split (job, task, helper_dir, &stats, &absent, &route_error);
  if (!ok)
    {
      g_autofree char *warning = NULL;
      if (!gp_graph_layer_fallback (image->id, gp_driver_get_name (job->driver),
                                    g_steal_pointer (&route_error), absent, job->strict, &warning,
                                    &task->error))
        return;
      if (warning != NULL)
        gp_context_report (job->ctx, GP_REPORT_WARNING, NULL, "%s", warning);
      task->regenerated = TRUE;
      if (!checksum_from_driver (job, task, helper_dir, &stats, &error))
        {
          task->error = g_error_new (error->domain, error->code, "graph/%s: cannot compute the layer checksum: %s",
                                     image->id, error->message);
          return;
        }
    }

  mig_crash_point (job->ctx, "checksum: tardata written");
  g_autofree char *size = g_strdup_printf ("%" G_GINT64_FORMAT, stats.size);
  if (!gp_safeio_write_file_in (helper_dir, HELPER_SIZE, size, strlen (size), 0600, GP_SAFE_DEFAULT, &error))
    {
      task->error = g_steal_pointer (&error);
      return;
    }
  mig_crash_point (job->ctx, "checksum: size written");
  if (!gp_safeio_write_file_in (helper_dir, HELPER_DIFFID, stats.diff_id, strlen (stats.diff_id), 0600,
                                GP_SAFE_DEFAULT, &error))
    {
      task->error = g_steal_pointer (&error);
      return;
    }
  mig_crash_point (job->ctx, "checksum: diffid written");
  task->diff_id = g_strdup (stats.diff_id);
  task->size = stats.size;
  task->bytes = stats.tar_size;

  gint done = g_atomic_int_add (&job->n_done, 1) + 1;
  gp_context_add_counter (job->ctx, MIG_BYTES_HASHED, (gint64) stats.tar_size);
  gp_context_add_counter (job->ctx, MIG_LAYERS_CHECKSUMMED, 1);
  if (task->regenerated)
    gp_context_add_counter (job->ctx, MIG_LAYERS_REGENERATED, 1);
  gp_context_emit_item_done (job->ctx, image->id, (guint64) done, job->n_total, stats.tar_size,
                             "calculated checksum for layer %s: %s%s", image->id, stats.diff_id,
                             task->regenerated ? " (rebuilt from the driver)" : "");
}

static void
checksum_worker (gpointer data, gpointer user_data)
{
  Task *task = data;
  Job *job = user_data;

  checksum_task (task, job);
  g_mutex_lock (&job->lock);
  task->done = TRUE;
  g_cond_broadcast (&job->cond);
  g_mutex_unlock (&job->lock);
}

static void
wait_task (Job *job, Task *task)
{
  g_mutex_lock (&job->lock);
  while (!task->done)
    g_cond_wait (&job->cond, &job->lock);
  g_mutex_unlock (&job->lock);
}

/* ---- helpers ---- */

/* The layer size recorded in the image JSON (`"Size":N`, the last one),
 * 0 if none: only to start the largest layers first, so that the jobs
 * end together instead of one large layer finishing alone. */
static guint64
json_size_estimate (GBytes *json)
{
  gsize len;
  const char *p = json ? g_bytes_get_data (json, &len) : NULL;
  static const char key[] = "\"Size\":";
  guint64 v = 0;

  if (p == NULL || len < sizeof key)
    return 0;
  for (gsize i = len - (sizeof key - 1) + 1; i-- > 0;)
    if (p[i] == '"' && memcmp (p + i, key, sizeof key - 1) == 0)
      {
        for (gsize k = i + sizeof key - 1; k < len && g_ascii_isdigit (p[k]) && v < G_MAXUINT64 / 10 - 9; k++)
          v = v * 10 + (guint64) (p[k] - '0');
        break;
      }
  return v;
}

/* The big layers first, the largest first; then the others in Docker's
 * order, the order step D registers them in. */
static gint
task_cmp_queue (gconstpointer a, gconstpointer b)
{
  const Task *x = *(Task *const *) a, *y = *(Task *const *) b;
  if (x->big != y->big)
    return x->big ? -1 : 1;
  if (x->big && x->estimate != y->estimate)
    return x->estimate > y->estimate ? -1 : 1;
  return x->order_pos < y->order_pos ? -1 : x->order_pos > y->order_pos;
}

static gboolean
helper_exists (GpContext *ctx, const char *id, const char *name)
{
  g_autofree char *path = mig_helper_path (ctx, id, name);
  struct stat st;
  return stat (path, &st) == 0;
}

/* Step D.3: `.migration-diffid` and `.migration-size`, no trimming. */
static gboolean
read_checksum (GpContext *ctx, GpGraphImage *image, char **out_diff_id, gint64 *out_size, GError **error)
{
  g_autofree char *diffid_path = mig_helper_path (ctx, image->id, HELPER_DIFFID);
  g_autofree char *size_path = mig_helper_path (ctx, image->id, HELPER_SIZE);
  gsize len;

  g_autofree char *diff_id = gp_safeio_read_file (diffid_path, 1024, &len, error);
  if (diff_id == NULL)
    return FALSE;
  if (!gp_digest_check_sha256 (diff_id, (gssize) len, error))
    {
      g_prefix_error (error, "%s: ", diffid_path);
      return FALSE;
    }
  g_autofree char *size = gp_safeio_read_file (size_path, 64, &len, error);
  if (size == NULL)
    return FALSE;
  gint64 v = 0;
  gboolean valid = len > 0 && strlen (size) == len;
  for (gsize i = (size[0] == '-' || size[0] == '+') ? 1 : 0; valid && i < len; i++)
    valid = g_ascii_isdigit (size[i]);
  if (!valid || !g_ascii_string_to_signed (size, 10, G_MININT64, G_MAXINT64, &v, NULL))
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_INVALID, "%s: not a decimal size that fits 64 bits", size_path);
      return FALSE;
    }
  *out_diff_id = g_steal_pointer (&diff_id);
  *out_size = v;
  return TRUE;
}

/* Removes the temporaries a killed run left in one helper directory:
 * ours and Docker's own `.migration-diffid.tmp`. */
static gboolean
clean_helper_dir (GpContext *ctx, const char *id, GError **error)
{
  g_autofree char *dir = mig_helper_dir (ctx, id);
  static const char *const docker_tmp[] = { HELPER_DIFFID ".tmp", NULL };
  return gp_safeio_clean_stale (dir, docker_tmp, error);
}

/* Whether @entries (of graph/<id>) name a temporary clean_helper_dir()
 * removes. */
static gboolean
lists_temporary (const char *const *entries)
{
  for (const char *const *e = entries; *e != NULL; e++)
    if (gp_safeio_is_temp_name (*e) || strcmp (*e, HELPER_DIFFID ".tmp") == 0)
      return TRUE;
  return FALSE;
}

static gboolean
count_bytes (gpointer user_data, const void *buf, gsize len, GError **error)
{
  *(guint64 *) user_data += len;
  return TRUE;
}

/* What a dry run can tell without hashing: the bytes of the layer's tar,
 * the sum of the segments and file sizes of `tar-data.json.gz`.  A layer
 * without one (Docker < 1.8) is rebuilt from the driver into a counter:
 * its files are read but not hashed.  When neither works, the recorded
 * `layersize` (an approximation). */
static guint64
estimate_bytes (const Job *job, GpGraphImage *image)
{
  g_autofree char *td = g_build_filename (job->root, "graph", image->id, LEGACY_TARDATA, NULL);
  int fd = open (td, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd >= 0)
    {
      g_autoptr (GpTarSplitReader) reader = gp_tar_split_reader_new (fd, td, GP_TAR_SPLIT_FLAGS_NONE);
      const GpTarSplitEntry *e;
      guint64 n = 0;
      while (gp_tar_split_reader_next (reader, &e, NULL) && e != NULL)
        n += e->type == GP_TAR_SPLIT_ENTRY_SEGMENT ? e->payload_len : (guint64) e->size;
      return n;
    }
  guint64 counted = 0;
  if (driver_diff (job->driver, job->root, image, count_bytes, &counted,
                   gp_context_get_cancellable (job->ctx), NULL))
    return counted;
  g_autofree char *ls = g_build_filename (job->root, "graph", image->id, "layersize", NULL);
  g_autofree char *text = gp_safeio_read_file (ls, 64, NULL, NULL);
  guint64 v = 0;
  if (text != NULL)
    g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT64, &v, NULL);
  return v;
}

/* The dry run's report: what would be hashed, and how long that takes
 * here (a short SHA-256 measurement). */
static void
report_dry_run (GpContext *ctx, guint n_pending, guint n_layers, guint64 bytes, guint64 largest,
                guint jobs)
{
  double rate = n_layers > 0 ? gp_estimate_sha256_rate (0) : 0;
  double seconds = gp_estimate_hash_seconds (bytes, largest, n_layers, jobs, rate);
  g_autofree char *shown = gp_estimate_format_seconds (seconds);

  mig_info (ctx, NULL, "dry run: %u images to migrate, %u layers to checksum "
            "(%" G_GUINT64_FORMAT " bytes to hash), nothing written", n_pending, n_layers, bytes);
  guint threads = MIN (MIN (jobs, n_layers), (guint) MAX (g_get_num_processors (), 1));
  if (n_layers > 0)
    mig_info (ctx, NULL, "estimate: %" G_GUINT64_FORMAT " bytes to hash at %.0f MB/s per thread "
              "(SHA-256 measured on this machine), %u thread%s: expected %s (hashing only; "
              "slow disks take longer)", bytes, rate / 1e6, threads, threads == 1 ? "" : "s", shown);
  gp_context_add_counter (ctx, "dry run: layers to checksum", n_layers);
  gp_context_add_counter (ctx, "dry run: bytes to hash", (gint64) bytes);
  gp_context_add_counter (ctx, "dry run: images to migrate", n_pending);
  gp_context_add_counter (ctx, "dry run: expected ms", (gint64) (seconds * 1000 + 0.5));
}

/* ---- the stage ---- */

/* The checksum workers: the `jobs` option, else --jobs, else twice the
 * CPUs, at most 8 more (gp_context_get_io_jobs(): on a cold page cache
 * the workers wait on the disk as much as they hash). */
static guint
checksum_jobs (GpStage *stage, GpContext *ctx)
{
  if (gp_stage_get_int (stage, "jobs") > 0)
    return gp_stage_get_jobs (stage, ctx);
  return CLAMP (gp_context_get_io_jobs (ctx), 1, 256);
}

static void wait_pool (GThreadPool *pool);
static gboolean register_in_order (Job *job, GpGraph *graph, GpStore *store, GHashTable *tasks,
                                   MigAhead *ahead, GError **error);

static gboolean
register_layers_prepare (GpStage *stage, GpContext *ctx, GError **error)
{
  if (gp_stage_get_int (stage, "jobs") < 0)
    {
      g_set_error (error, GP_PRESET_ERROR, GP_PRESET_ERROR_BAD_VALUE,
                   "register-layers: jobs must be 0 or more");
      return FALSE;
    }
  const char *driver = gp_context_get_driver (ctx);
  if (driver == NULL)
    {
      g_set_error (error, GP_PRESET_ERROR, GP_PRESET_ERROR_BAD_VALUE,
                   "register-layers: no storage driver given (--driver)");
      return FALSE;
    }
  return gp_driver_lookup (driver, error) != NULL;
}

static gboolean
register_layers_run (GpStage *stage, GpContext *ctx, GError **error)
{
  GpGraph *graph = mig_get_graph (ctx, error);
  if (graph == NULL)
    return FALSE;
  if (!gp_graph_has_graph_dir (graph))
    return TRUE;

  const char *root = gp_context_get_root (ctx);
  gboolean dry_run = gp_context_get_dry_run (ctx);
  GpStore *store = mig_get_store (ctx, error);
  if (store == NULL)
    return FALSE;
  Job job = {
    .ctx = ctx,
    .driver = gp_driver_lookup (gp_context_get_driver (ctx), error),
    .root = root,
    .strict = gp_stage_get_bool (stage, "strict") || gp_context_get_strict (ctx),
    .read_only_source = mig_source_read_only (ctx),
  };
  if (job.driver == NULL)
    return FALSE;

  gp_context_add_counter (ctx, MIG_LAYERS_MIGRATED, 0);
  gp_context_add_counter (ctx, MIG_LAYERS_SKIPPED, 0);
  gp_context_add_counter (ctx, MIG_LAYERS_FAILED, 0);
  gp_context_add_counter (ctx, MIG_BYTES_HASHED, 0);

  /* What the daemon sets and creates before migrating (in place: the
   * root's mode 0701), then the temporaries of a killed run go. */
  if (!mig_set_root_mode (ctx, error))
    return FALSE;
  if (!dry_run && !gp_store_init_layout (store, error))
    return FALSE;
  if (!dry_run)
    mig_crash_point (ctx, "store layout created");

  /* B: every v1 ID not in the mapping, sorted; C.1 skips those whose
   * checksum is done; C.2 needs the parent resolved. */
  g_autoptr (GHashTable) tasks = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) task_free);
  g_autoptr (GPtrArray) queue = g_ptr_array_new ();
  guint64 bytes_planned = 0, largest = 0;
  for (guint i = 0; i < gp_graph_get_n_images (graph); i++)
    {
      GpGraphImage *image = gp_graph_get_image (graph, i);
      if (image->mapped || !image->parent_resolved)
        continue;
      /* What the scan saw in graph/<id>, when the helper files are there:
       * no temporary means nothing to sweep, no .migration-diffid nothing
       * to stat. */
      const char *const *entries = job.read_only_source ? NULL : gp_graph_image_get_entries (image);
      if (!dry_run && (entries == NULL || lists_temporary (entries)) && !clean_helper_dir (ctx, image->id, error))
        return FALSE;
      if ((entries == NULL || g_strv_contains (entries, HELPER_DIFFID))
          && helper_exists (ctx, image->id, HELPER_DIFFID))
        continue;
      Task *task = g_new0 (Task, 1);
      task->image = image;
      task->estimate = json_size_estimate (image->json);
      g_hash_table_insert (tasks, image->id, task);
      g_ptr_array_add (queue, task);
      if (dry_run)
        {
          guint64 n = estimate_bytes (&job, image);
          bytes_planned += n;
          largest = MAX (largest, n);
        }
    }

  if (dry_run)
    {
      GPtrArray *order = gp_graph_get_order (graph);
      guint n_pending = 0;
      for (guint i = 0; i < order->len; i++)
        if (((GpGraphImage *) order->pdata[i])->error == NULL)
          n_pending++;
      report_dry_run (ctx, n_pending, queue->len, bytes_planned, largest, gp_stage_get_jobs (stage, ctx));
      mig_update_clock (ctx);
      return TRUE;
    }

  /* C with several workers: D below runs on this thread meanwhile,
   * each image waiting for its own checksum only, so that the
   * registration (a few dozen small writes per layer, serial by nature)
   * overlaps the hashing instead of following it: on hundreds of small
   * layers it was a quarter of the run.  With one worker, C ends before
   * D starts, as before (the order of the writes stays the same from run
   * to run: the crash tests count on it). */
  job.n_total = queue->len;
  g_mutex_init (&job.lock);
  g_cond_init (&job.cond);
  GThreadPool *pool = NULL;
  MigAhead *ahead = NULL;
  if (queue->len > 0)
    {
      guint n_threads = MIN (checksum_jobs (stage, ctx), queue->len);
      if (n_threads > 1)
        {
          /* Big layers (an eighth of a worker's share of the bytes or
           * more) start first, the largest first, so that no large layer
           * ends alone; the others follow in Docker's order, so that D
           * below finds them done as it goes instead of waiting for a
           * small layer queued last. */
          GPtrArray *order = gp_graph_get_order (graph);
          guint64 total = 0;
          for (guint i = 0; i < order->len; i++)
            {
              Task *task = g_hash_table_lookup (tasks, ((GpGraphImage *) order->pdata[i])->id);
              if (task != NULL)
                task->order_pos = i + 1;
            }
          for (guint i = 0; i < queue->len; i++)
            total += ((Task *) queue->pdata[i])->estimate;
          for (guint i = 0; i < queue->len; i++)
            {
              Task *task = queue->pdata[i];
              task->big = task->estimate > 0 && task->estimate >= total / (8 * n_threads);
            }
          g_ptr_array_sort (queue, task_cmp_queue);
        }
      pool = g_thread_pool_new (checksum_worker, &job, (gint) n_threads, FALSE, error);
      if (pool == NULL)
        {
          g_mutex_clear (&job.lock);
          g_cond_clear (&job.cond);
          return FALSE;
        }
      for (guint i = 0; i < queue->len; i++)
        g_thread_pool_push (pool, queue->pdata[i], NULL);
      if (n_threads == 1)
        g_clear_pointer (&pool, wait_pool);
      else
        ahead = mig_ahead_start (ctx, graph, store); /* (owned by the context) */
    }
  gboolean ok = register_in_order (&job, graph, store, tasks, ahead, error);
  /* (on an early return, the workers end first: they use job and tasks) */
  g_clear_pointer (&pool, wait_pool);
  g_mutex_clear (&job.lock);
  g_cond_clear (&job.cond);
  if (!ok)
    return FALSE;
  for (guint i = 0; i < queue->len; i++)
    {
      Task *task = queue->pdata[i];
      if (task->error != NULL)
        gp_context_add_counter (ctx, MIG_LAYERS_FAILED, 1);
    }

  mig_update_clock (ctx);
  return TRUE;
}

static void
wait_pool (GThreadPool *pool)
{
  g_thread_pool_free (pool, FALSE, TRUE);
}

/* D.1-5 in Docker's order, each image once its checksum step (if it had
 * one in this run) ended. */
static gboolean
register_in_order (Job *job, GpGraph *graph, GpStore *store, GHashTable *tasks, MigAhead *ahead,
                   GError **error)
{
  GpContext *ctx = job->ctx;
  GPtrArray *order = gp_graph_get_order (graph);
  for (guint i = 0; i < order->len; i++)
    {
      GpGraphImage *image = order->pdata[i];
      g_autoptr (GError) local_error = NULL;

      Task *task = g_hash_table_lookup (tasks, image->id);
      if (task != NULL)
        wait_task (job, task);
      if (gp_context_set_error_if_cancelled (ctx, error))
        return FALSE;
      if (gp_graph_image_inherit_failure (image))
        {
          mig_image_failed (ctx, image);
          continue;
        }

      g_autofree char *parent_chain = gp_graph_image_parent_chain_id (graph, image, store, &local_error);
      g_autofree char *diff_id = NULL;
      gint64 size = 0;
      /* D.3 reads the helper files; those this run wrote hold what the
       * task kept. */
      if (parent_chain != NULL && task != NULL && task->diff_id != NULL)
        {
          diff_id = g_strdup (task->diff_id);
          size = task->size;
        }
      else if (parent_chain != NULL && !read_checksum (ctx, image, &diff_id, &size, &local_error))
        {
          /* The checksum step's failure is the cause; otherwise the helper
           * files of an earlier run are unreadable, and the error says which. */
          if (task != NULL && task->error != NULL)
            {
              g_clear_error (&local_error);
              local_error = g_error_copy (task->error);
            }
        }
      if (local_error == NULL)
        {
          g_autofree char *tardata = mig_helper_path (ctx, image->id, HELPER_TARDATA);
          g_autofree char *chain_id = NULL;
          gboolean existed = FALSE;
          if (gp_store_register_layer (store, parent_chain[0] ? parent_chain : NULL, diff_id, image->id,
                                       size, tardata, &chain_id, &existed, &local_error))
            {
              g_free (image->diff_id);
              image->diff_id = g_steal_pointer (&diff_id);
              image->size = size;
              g_free (image->chain_id);
              image->chain_id = g_steal_pointer (&chain_id);
              gp_context_add_counter (ctx, existed ? MIG_LAYERS_SKIPPED : MIG_LAYERS_MIGRATED, 1);
              mig_crash_point (ctx, "layer registered");
              gp_context_emit_item_done (ctx, image->id, i + 1, order->len, 0, "migrated layer %s to %s",
                                         image->id, image->diff_id);
            }
          else
            g_prefix_error (&local_error, "graph/%s: cannot register the layer: ", image->id);
        }
      /* Whatever failed so far is the environment's doing (layer files,
       * helper files, the store); the config is built from the legacy
       * JSON, whose errors are the graph's own (gp_graph_classify_error). */
      GpGraphFailure failure = GP_GRAPH_FAILURE_TRANSIENT;
      if (parent_chain == NULL && local_error != NULL)
        failure = gp_graph_classify_error (local_error);
      /* D.5-6: the layer stays even when the config then fails.  A
       * config that passed goes to the writer of build-configs' D.5-7,
       * when there is one. */
      if (local_error == NULL)
        {
          g_autoptr (GBytes) config = gp_graph_image_build_config (graph, image, store, &local_error);
          if (config == NULL)
            failure = gp_graph_classify_error (local_error);
          else if (ahead != NULL)
            mig_ahead_push (ahead, image, config);
        }
      if (local_error != NULL)
        {
          gp_graph_image_fail_as (image, failure, g_steal_pointer (&local_error));
          mig_image_failed (ctx, image);
        }
    }

  return TRUE;
}

GP_STAGE_DEFINE (
  .name = "register-layers",
  .description = "Checksum legacy layers in parallel and write their layerdb records (FORMATS.md 4.9 B-D)",
  .requires = GP_STAGE_STRV ("legacy-graph"),
  .provides = GP_STAGE_STRV ("layers"),
  .options = register_layers_options,
  .prepare = register_layers_prepare,
  .run = register_layers_run)
