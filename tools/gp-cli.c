/* graphpipe - the command line: shared parts of the subcommands. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "gp-cli.h"

/* ---- signals ----
 *
 * SIGINT and SIGTERM are blocked in every thread (main blocks them before
 * any thread exists, and threads inherit the mask); one watcher thread
 * takes them with sigwait().  The first signal during a run cancels the
 * run's GCancellable: stages stop at their next safe point and the command
 * exits 130.  A second signal, or one outside a run, exits 130 at once.
 */

static GMutex signal_lock;
static GCancellable *signal_cancellable;

static gpointer
signal_watcher (gpointer data)
{
  sigset_t set;

  sigemptyset (&set);
  sigaddset (&set, SIGINT);
  sigaddset (&set, SIGTERM);
  for (;;)
    {
      int sig = 0;
      if (sigwait (&set, &sig) != 0)
        continue;

      gboolean cancelled = FALSE;
      g_mutex_lock (&signal_lock);
      if (signal_cancellable != NULL && !g_cancellable_is_cancelled (signal_cancellable))
        {
          g_cancellable_cancel (signal_cancellable);
          cancelled = TRUE;
        }
      g_mutex_unlock (&signal_lock);

      if (!cancelled)
        _exit (GP_EXIT_INTERRUPTED);
      if (gp_cli_output_is_json ())
        continue;

      static const char msg[] =
        "graphpipe: interrupted, stopping at the next safe point (again to exit now)\n";
      if (write (STDERR_FILENO, msg, sizeof msg - 1) < 0)
        {
          /* nothing to do */
        }
    }
  return NULL;
}

void
gp_cli_signals_init (void)
{
  sigset_t set;

  sigemptyset (&set);
  sigaddset (&set, SIGINT);
  sigaddset (&set, SIGTERM);
  pthread_sigmask (SIG_BLOCK, &set, NULL);
  g_thread_unref (g_thread_new ("gp-signals", signal_watcher, NULL));
}

/* The cancellable the next signal cancels; NULL: signals exit at once. */
void
gp_cli_signals_set_cancellable (GCancellable *cancellable)
{
  g_mutex_lock (&signal_lock);
  GCancellable *old = signal_cancellable;
  signal_cancellable = cancellable != NULL ? g_object_ref (cancellable) : NULL;
  g_mutex_unlock (&signal_lock);
  g_clear_object (&old);
}

/* ---- options ---- */

void
gp_cli_options_clear (GpCliOptions *opts)
{
  g_clear_pointer (&opts->root, g_free);
  g_clear_pointer (&opts->driver, g_free);
  g_clear_pointer (&opts->sets, g_strfreev);
  g_clear_pointer (&opts->plugin_dirs, g_strfreev);
  g_clear_pointer (&opts->roots, g_strfreev);
  g_clear_pointer (&opts->roots_from, g_free);
  g_clear_pointer (&opts->target, g_free);
  g_clear_pointer (&opts->layers_from, g_free);
  g_clear_pointer (&opts->report, g_free);
  g_clear_pointer (&opts->progress, g_free);
  g_clear_pointer (&opts->events, g_free);
  g_clear_pointer (&opts->sync, g_free);
}

/* --root DIR, repeatable: a batch when given more than once. */
static gboolean
root_arg (const char *name, const char *value, gpointer data, GError **error)
{
  GpCliOptions *opts = data;
  guint n = opts->roots != NULL ? g_strv_length (opts->roots) : 0;

  opts->roots = g_renew (char *, opts->roots, n + 2);
  opts->roots[n] = g_strdup (value);
  opts->roots[n + 1] = NULL;
  g_free (opts->root);
  opts->root = g_strdup (value);
  return TRUE;
}

GOptionContext *
gp_cli_option_context_new (const char *command, const char *parameter,
                           const char *summary, GpCliOptions *opts,
                           const GOptionEntry *extra)
{
  const GOptionEntry common[] = {
    { "root", 'r', G_OPTION_FLAG_FILENAME, G_OPTION_ARG_CALLBACK, root_arg,
      "Docker data root (sets ${root}); several: run on each in turn", "DIR" },
    { "roots-from", 0, 0, G_OPTION_ARG_FILENAME, &opts->roots_from,
      "Run on each data root listed in FILE (one per line, '#' comments)", "FILE" },
    { "report", 0, 0, G_OPTION_ARG_FILENAME, &opts->report,
      "Write a JSON report of the run to FILE ('-': standard output)", "FILE" },
    { "driver", 'd', 0, G_OPTION_ARG_STRING, &opts->driver,
      "Storage driver: vfs, aufs, overlay, overlay2, btrfs (sets ${driver})", "NAME" },
    { "set", 's', 0, G_OPTION_ARG_STRING_ARRAY, &opts->sets,
      "Define the preset variable ${VAR} (repeatable)", "VAR=VALUE" },
    { "plugin-dir", 'P', 0, G_OPTION_ARG_FILENAME_ARRAY, &opts->plugin_dirs,
      "Search DIR for stage modules first (repeatable)", "DIR" },
    { "jobs", 'j', 0, G_OPTION_ARG_INT, &opts->jobs,
      "Worker threads (default: number of CPUs; migrate's layer checksums: twice that, at most 8 more)", "N" },
    { "dry-run", 'n', 0, G_OPTION_ARG_NONE, &opts->dry_run,
      "Report what would be done, write nothing", NULL },
    { "read-only-source", 0, 0, G_OPTION_ARG_NONE, &opts->read_only_source,
      "Never write into the source graph", NULL },
    { "strict", 0, 0, G_OPTION_ARG_NONE, &opts->strict,
      "Treat warnings as failures", NULL },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &opts->quiet,
      "Print only warnings and errors", NULL },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &opts->verbose,
      "Also print every finished item and progress", NULL },
    { "progress", 0, 0, G_OPTION_ARG_STRING, &opts->progress,
      "Standard error shows: auto (a bar on a terminal, else lines), bar, plain, "
      "json (one JSON object per line) or none", "MODE" },
    { "events", 0, 0, G_OPTION_ARG_FILENAME, &opts->events,
      "Also write the events as JSON lines to FILE", "FILE" },
    { "sync", 0, 0, G_OPTION_ARG_STRING, &opts->sync,
      "How the store's writes are made durable: batch (one sync of each file system at the end; "
      "the default of migrate) or each (an fsync per file, the default of run)", "MODE" },
    { "wait", 0, 0, G_OPTION_ARG_NONE, &opts->wait,
      "When another graphpipe run writes the same store, wait for it to end instead of failing", NULL },
    { NULL }
  };
  g_autofree char *prgname = g_strdup_printf ("graphpipe %s", command);
  g_set_prgname (prgname);
  GOptionContext *oc = g_option_context_new (parameter);

  g_option_context_set_summary (oc, summary);
  /* One main group whose callbacks get @opts. */
  GOptionGroup *group = g_option_group_new (NULL, NULL, NULL, opts, NULL);
  if (extra != NULL)
    g_option_group_add_entries (group, extra);
  g_option_group_add_entries (group, common);
  g_option_context_set_main_group (oc, group);
  g_option_context_set_description (oc,
    "Exit status: 0 success, 1 run failed, 2 usage or configuration error,\n"
    "130 interrupted.");
  return oc;
}

int
gp_cli_usage_error (const char *command, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *message = g_strdup_vprintf (format, args);
  va_end (args);
  g_autofree char *full = g_strdup_printf ("graphpipe %s: %s", command, message);
  if (gp_cli_output_message (GP_EVENT_ERROR, full))
    return GP_EXIT_USAGE;
  g_printerr ("%s\n", full);
  g_printerr ("Try 'graphpipe %s --help'.\n", command);
  return GP_EXIT_USAGE;
}

/* Returns GP_EXIT_OK or GP_EXIT_USAGE (message printed). */
int
gp_cli_parse (GOptionContext *oc, const char *command, int *argc, char ***argv)
{
  g_autoptr (GError) error = NULL;

  if (!g_option_context_parse (oc, argc, argv, &error))
    return gp_cli_usage_error (command, "%s", error->message);
  return GP_EXIT_OK;
}

void
gp_cli_print_error (const GError *error)
{
  if (gp_cli_output_message (GP_EVENT_ERROR, error->message))
    return;
  g_printerr ("graphpipe: error: %s\n", error->message);
}

GpLoader *
gp_cli_make_loader (GpCliOptions *opts)
{
  return gp_loader_new ((const char *const *) opts->plugin_dirs);
}

static gboolean
valid_variable_name (const char *name, gsize len)
{
  if (len == 0)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!(g_ascii_isalnum (name[i]) || name[i] == '_' || name[i] == '-'))
      return FALSE;
  return TRUE;
}

/* VAR=VALUE into the context; FALSE with a usage message printed. */
static gboolean
set_variable_arg (GpContext *ctx, const char *command, const char *arg)
{
  const char *eq = strchr (arg, '=');

  if (eq == NULL || !valid_variable_name (arg, eq - arg))
    {
      gp_cli_usage_error (command, "--set %s: expected VAR=VALUE with VAR made of "
                          "letters, digits, '-' and '_'", arg);
      return FALSE;
    }
  g_autofree char *name = g_strndup (arg, eq - arg);
  gp_context_set_variable (ctx, name, eq + 1);
  return TRUE;
}

static GpContext *
make_context (const char *command, GpCliOptions *opts, const char *const *extra_vars)
{
  if (opts->jobs < 0)
    {
      gp_cli_usage_error (command, "--jobs must be 0 or more");
      return NULL;
    }
  if (opts->quiet && opts->verbose)
    {
      gp_cli_usage_error (command, "--quiet and --verbose exclude each other");
      return NULL;
    }

  g_autoptr (GpContext) ctx = gp_context_new ();
  gp_context_set_jobs (ctx, (guint) opts->jobs);
  gp_context_set_dry_run (ctx, opts->dry_run);
  gp_context_set_read_only_source (ctx, opts->read_only_source);
  gp_context_set_strict (ctx, opts->strict);

  /* Later definitions win: --set, then --root/--driver, then the
   * command's own (save's -o and names). */
  for (guint i = 0; opts->sets != NULL && opts->sets[i] != NULL; i++)
    if (!set_variable_arg (ctx, command, opts->sets[i]))
      return NULL;
  if (opts->root != NULL)
    {
      g_autofree char *root = g_canonicalize_filename (opts->root, NULL);
      gp_context_set_root (ctx, root);
      gp_context_set_variable (ctx, "root", root);
    }
  if (opts->driver != NULL)
    {
      gp_context_set_driver (ctx, opts->driver);
      gp_context_set_variable (ctx, "driver", opts->driver);
    }
  for (guint i = 0; extra_vars != NULL && extra_vars[i] != NULL; i += 2)
    gp_context_set_variable (ctx, extra_vars[i], extra_vars[i + 1]);
  /* ${output} (save's -o, or --set output=...) is also the run's output
   * setting. */
  gp_context_set_output (ctx, gp_context_get_variable (ctx, "output"));
  return g_steal_pointer (&ctx);
}

static int
exit_code_for_run_error (const GError *error, int otherwise)
{
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      if (!gp_cli_output_message (GP_EVENT_ERROR, "interrupted"))
        g_printerr ("graphpipe: interrupted\n");
      return GP_EXIT_INTERRUPTED;
    }
  gp_cli_print_error (error);
  return otherwise;
}

typedef struct {
  const char *command;
  const char *preset_arg;
  gboolean check_only;
  const char *const *extra_vars;
} RunArgs;

static int run_one_root (const char *command, GpCliOptions *opts, const char *preset_arg,
                         gboolean check_only, const char *const *extra_vars);

static int
run_root_cb (GpCliOptions *opts, gpointer user_data)
{
  RunArgs *args = user_data;
  return run_one_root (args->command, opts, args->preset_arg, args->check_only, args->extra_vars);
}

/* Runs (or with check_only, validates and prints) a preset, on each data
 * root in turn when several are given (gp_cli_for_each_root()).
 * extra_vars holds name, value pairs, NULL-terminated. */
int
gp_cli_run_preset (const char *command, GpCliOptions *opts, const char *preset_arg,
                   gboolean check_only, const char *const *extra_vars)
{
  if (opts->batch == NULL && gp_cli_is_batch (opts))
    {
      RunArgs args = { command, preset_arg, check_only, extra_vars };
      return gp_cli_for_each_root (command, opts, run_root_cb, &args);
    }
  return run_one_root (command, opts, preset_arg, check_only, extra_vars);
}

static int
run_one_root (const char *command, GpCliOptions *opts, const char *preset_arg,
              gboolean check_only, const char *const *extra_vars)
{
  int output_status = gp_cli_output_init (command, opts);
  if (output_status != GP_EXIT_OK)
    return output_status;
  if (opts->sync != NULL && strcmp (opts->sync, "batch") != 0 && strcmp (opts->sync, "each") != 0)
    return gp_cli_usage_error (command, "--sync %s: must be batch or each", opts->sync);
  g_autoptr (GpContext) ctx = make_context (command, opts, extra_vars);
  if (ctx == NULL)
    return GP_EXIT_USAGE;
  /* source=auto: the source stage for this root's kind (per root in a
   * batch). */
  const char *source = gp_context_get_variable (ctx, "source");
  if (source != NULL && strcmp (source, "auto") == 0)
    gp_context_set_variable (ctx, "source", gp_cli_detect_source (opts->root));

  g_autoptr (GError) error = NULL;
  g_auto (GpCliTarget) target = { 0 };
  if (opts->layers_from != NULL)
    {
      g_autofree char *layers = g_canonicalize_filename (opts->layers_from, NULL);
      if (!g_file_test (layers, G_FILE_TEST_IS_DIR))
        return gp_cli_usage_error (command, "--layers-from %s: not a directory", opts->layers_from);
      gp_context_set_layers_root (ctx, layers);
    }
  if (opts->target != NULL && !gp_cli_target_prepare (opts, ctx, &target, &error))
    {
      /* Another run writing that target: a failed run, not a usage error. */
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_BUSY))
        return exit_code_for_run_error (error, GP_EXIT_FAILED);
      return gp_cli_usage_error (command, "%s", error->message);
    }

  g_autoptr (GpPreset) preset = gp_preset_lookup (preset_arg, &error);
  if (preset == NULL)
    {
      gp_cli_print_error (error);
      return GP_EXIT_USAGE;
    }

  g_autoptr (GpLoader) loader = gp_cli_make_loader (opts);
  g_autoptr (GpPipeline) pipeline = gp_pipeline_new (preset, loader, ctx, &error);
  if (pipeline == NULL)
    {
      gp_cli_print_error (error);
      if (g_error_matches (error, GP_PRESET_ERROR, GP_PRESET_ERROR_UNDEFINED_VARIABLE)
          && !gp_cli_output_is_json ())
        g_printerr ("hint: --root and --driver define ${root} and ${driver}; "
                    "--set NAME=VALUE defines ${NAME}\n");
      return GP_EXIT_USAGE;
    }

  if (check_only)
    {
      g_autofree char *plan = gp_pipeline_format_plan (pipeline);
      g_print ("%s", plan);
      g_print ("\npipeline is valid: %u stage%s\n", gp_pipeline_get_n_stages (pipeline),
               gp_pipeline_get_n_stages (pipeline) == 1 ? "" : "s");
      return GP_EXIT_OK;
    }

  gp_cli_output_attach (ctx, opts);

  gp_cli_signals_set_cancellable (gp_context_get_cancellable (ctx));
  int status = GP_EXIT_OK;
  gboolean ran = FALSE;
  /* A write session (gp-sync.c: the store's lock, recovery from a crashed
   * run, batched durability) for the runs that write a store. */
  gboolean batch = g_strcmp0 (opts->sync, "batch") == 0
                   || (opts->sync == NULL && strcmp (command, "migrate") == 0);
  gboolean writes = !opts->dry_run && gp_context_get_root (ctx) != NULL;
  gboolean synced = TRUE, session = FALSE;
  if (!gp_pipeline_prepare (pipeline, &error))
    status = exit_code_for_run_error (error, GP_EXIT_USAGE);
  else if (writes && (gp_sync_pipeline_writes (pipeline) || g_strcmp0 (opts->sync, "batch") == 0)
           && !(session = gp_sync_session_begin_full (ctx, batch ? GP_SYNC_BATCH : GP_SYNC_EACH,
                                                      opts->wait ? GP_SYNC_WAIT : GP_SYNC_DEFAULT, &error)))
    status = exit_code_for_run_error (error, GP_EXIT_FAILED);
  else if (!gp_pipeline_run (pipeline, &error))
    status = exit_code_for_run_error (error, GP_EXIT_FAILED);
  else
    {
      ran = TRUE;
      if (gp_context_get_n_reported (ctx, GP_REPORT_FAILURE) > 0)
        status = GP_EXIT_FAILED;
      else if (opts->strict && gp_context_get_n_reported (ctx, GP_REPORT_WARNING) > 0)
        {
          const char *strict = "warnings reported and --strict given";
          if (!gp_cli_output_message (GP_EVENT_ERROR, strict))
            g_printerr ("graphpipe: error: %s\n", strict);
          status = GP_EXIT_FAILED;
        }
    }
  /* Whatever the run ended with, what it wrote is made durable. */
  if (session)
    {
      g_autoptr (GError) sync_error = NULL;
      if (!gp_sync_session_end (ctx, &sync_error))
        {
          gp_cli_print_error (sync_error);
          if (error == NULL)
            error = g_steal_pointer (&sync_error);
          status = GP_EXIT_FAILED;
          synced = FALSE;
        }
    }
  gp_cli_signals_set_cancellable (NULL);

  /* A target whose pipeline ran to its end without failures is
   * published; one with failures (unless --publish-partial) or cut short
   * stays where a rerun resumes. */
  if (ran && synced && opts->target != NULL && !opts->dry_run
      && !gp_cli_target_finish (&target, status == GP_EXIT_OK || opts->publish_partial, &error))
    status = exit_code_for_run_error (error, GP_EXIT_FAILED);

  if (opts->report != NULL)
    gp_cli_report_finish (command, opts,
                          gp_cli_report_build (command, preset_arg, opts, ctx, &target, status,
                                               error != NULL ? error->message : NULL),
                          &status);
  return status;
}

static gboolean
root_has (const char *root, const char *first, ...) G_GNUC_NULL_TERMINATED;

static gboolean
root_has (const char *root, const char *first, ...)
{
  va_list ap;
  va_start (ap, first);
  g_autoptr (GPtrArray) parts = g_ptr_array_new ();
  g_ptr_array_add (parts, (gpointer) root);
  for (const char *p = first; p != NULL; p = va_arg (ap, const char *))
    g_ptr_array_add (parts, (gpointer) p);
  va_end (ap);
  g_ptr_array_add (parts, NULL);
  g_autofree char *path = g_build_filenamev ((char **) parts->pdata);
  return g_file_test (path, G_FILE_TEST_EXISTS);
}

/* The source kinds `--source` names, and their stages. */
static const struct {
  const char *kind;
  const char *stage;
} source_kinds[] = {
  { "docker", "docker-store" },
  { "containers-storage", "containers-storage" },
  { "containerd", "containerd" },
  { "legacy", "legacy-graph" },
};

/**
 * gp_cli_source_stage:
 * @kind: a `--source` value: auto, docker, containers-storage, containerd
 *   or legacy
 *
 * Returns: (nullable): the source stage for @kind, `auto` for auto, or
 *   %NULL when @kind is none of these
 */
const char *
gp_cli_source_stage (const char *kind)
{
  if (strcmp (kind, "auto") == 0)
    return "auto";
  for (gsize i = 0; i < G_N_ELEMENTS (source_kinds); i++)
    if (strcmp (kind, source_kinds[i].kind) == 0)
      return source_kinds[i].stage;
  return NULL;
}

/**
 * gp_cli_detect_source:
 * @root: (nullable): a data root
 *
 * Tells what kind of store @root is by what it holds, and returns the
 * source stage that reads it: `image/` (a Docker 1.10+ root) is
 * docker-store, unless no image/<driver>/imagedb holds an image config
 * and Docker's own containerd root (containerd/daemon/), or the
 * containerd root beside it (/var/lib/containerd beside /var/lib/docker:
 * the distribution's containerd), has a `moby` namespace: then the
 * images live in Docker's containerd image store (Docker 29's default)
 * and it is containerd; `overlay-images/`, `vfs-images/` or
 * `btrfs-images/` (podman, CRI-O, buildah) containers-storage;
 * `io.containerd.metadata.v1.bolt/` (a containerd root; or under
 * containerd/daemon/, containerd/ or docker/containerd/daemon/: a Docker
 * root, a disk's /var/lib) containerd; a legacy graph (`graph/` and a
 * `repositories-<driver>` file, no `image/`) legacy-graph.  Anything else is docker-store, whose
 * errors then say what is missing.
 *
 * Returns: (transfer none): a stage name
 */
/* Whether a Docker root's image/<driver>/imagedb/content/sha256/ holds
 * any image config (a file named by 64 hex digits), for any driver. */
static gboolean
docker_root_has_images (const char *root)
{
  g_autofree char *image = g_build_filename (root, "image", NULL);
  g_autoptr (GDir) drivers = g_dir_open (image, 0, NULL);
  const char *driver;
  while (drivers != NULL && (driver = g_dir_read_name (drivers)) != NULL)
    {
      g_autofree char *content = g_build_filename (image, driver, "imagedb", "content", "sha256",
                                                   NULL);
      g_autoptr (GDir) dir = g_dir_open (content, 0, NULL);
      const char *name;
      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        if (strlen (name) == 64 && gp_hex_is_lower (name, 64))
          return TRUE;
    }
  return FALSE;
}

/* Whether the containerd root @dir's meta.db has the namespace @ns (a
 * bucket v1/<ns>).  An unreadable database counts as no. */
static gboolean
containerd_has_namespace (const char *dir, const char *ns)
{
  g_autofree char *path = g_build_filename (dir, "io.containerd.metadata.v1.bolt", "meta.db",
                                            NULL);
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return FALSE;
  GpBolt *db = gp_bolt_open (path, NULL);
  if (db == NULL)
    return FALSE;
  GpBoltBucket top, v1;
  gp_bolt_root (db, &top);
  const guint8 *v;
  gsize len;
  gboolean is_bucket = FALSE, found = FALSE;
  if (gp_bolt_bucket_get (db, &top, "v1", &v, &len, &is_bucket, NULL) && is_bucket
      && gp_bolt_bucket_open_value (db, &top, "v1", v, len, &v1, NULL))
    found = gp_bolt_bucket_get (db, &v1, ns, &v, &len, &is_bucket, NULL) && is_bucket;
  gp_bolt_free (db);
  return found;
}

const char *
gp_cli_detect_source (const char *root)
{
  if (root == NULL)
    return "docker-store";
  if (root_has (root, "image", NULL))
    {
      /* Docker with the containerd image store keeps an image/ directory
       * without images; they are in its containerd's namespace moby. */
      g_autofree char *daemon = g_build_filename (root, "containerd", "daemon", NULL);
      g_autofree char *sibling = gp_store_containerd_sibling (root);
      if (!docker_root_has_images (root)
          && (containerd_has_namespace (daemon, "moby")
              || (sibling != NULL && containerd_has_namespace (sibling, "moby"))))
        return "containerd";
      return "docker-store";
    }
  if (root_has (root, "overlay-images", NULL) || root_has (root, "vfs-images", NULL)
      || root_has (root, "btrfs-images", NULL))
    return "containers-storage";
  if (root_has (root, "io.containerd.metadata.v1.bolt", NULL))
    return "containerd";
  if (root_has (root, "graph", NULL))
    {
      g_autoptr (GDir) dir = g_dir_open (root, 0, NULL);
      const char *name;
      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        if (g_str_has_prefix (name, "repositories-"))
          return "legacy-graph";
    }
  /* a Docker data root whose dockerd ran its own containerd, or a disk's
   * /var/lib with a containerd root */
  if (root_has (root, "containerd", "daemon", "io.containerd.metadata.v1.bolt", NULL)
      || root_has (root, "containerd", "io.containerd.metadata.v1.bolt", NULL)
      || root_has (root, "docker", "containerd", "daemon", "io.containerd.metadata.v1.bolt", NULL))
    return "containerd";
  return "docker-store";
}
