/* graphpipe - the command line: shared parts of the subcommands. */
#pragma once

#include <graphpipe.h>

G_BEGIN_DECLS

/* Exit codes, documented in README.md. */
enum {
  GP_EXIT_OK = 0,
  GP_EXIT_FAILED = 1,        /* the run failed */
  GP_EXIT_USAGE = 2,         /* usage or configuration error */
  GP_EXIT_INTERRUPTED = 130, /* SIGINT/SIGTERM cancelled the run */
};

typedef int (*GpCmdFunc) (int argc, char **argv);

typedef struct {
  const char *name;
  GpCmdFunc func;
  const char *summary;
} GpCommand;

/* Options every command accepts. */
typedef struct {
  char *root;
  char *driver;
  char **sets;
  char **plugin_dirs;
  int jobs;
  gboolean dry_run;
  gboolean read_only_source;
  gboolean strict;
  gboolean quiet;
  gboolean verbose;
  char *progress;
  char *events;
  char *sync;             /* --sync batch|each (NULL: the command's default) */
  gboolean wait;          /* --wait: wait for another run writing the store */

  /* Batches, targets, reports (gp-cli-batch.c, gp-cli-target.c,
   * gp-cli-report.c). */
  char **roots;           /* every --root, in order (root: the last) */
  char *roots_from;       /* --roots-from FILE */
  char *target;           /* --target DIR (migrate, run) */
  gboolean publish_partial; /* --publish-partial: publish a --target with failures */
  char *layers_from;      /* --layers-from DIR (save, run) */
  char *report;           /* --report FILE */
  GPtrArray *batch;       /* GpCliRootResult* while a batch runs, else NULL */
} GpCliOptions;

/* What one data root of a batch ended with. */
typedef struct {
  char *root;
  int status;
  gint64 elapsed_us;
  char *report_json;      /* the root's --report object, or NULL */
} GpCliRootResult;

/* A --target being built: the store goes to @work, renamed to @final at
 * the end when @publish. */
typedef struct {
  char *final;
  char *work;
  gboolean publish;
  GpLock *lock;           /* the target's write lock (gp_lock_beside()) */
} GpCliTarget;

typedef int (*GpCliRootFunc) (GpCliOptions *opts, gpointer user_data);

int gp_cmd_run (int argc, char **argv);
int gp_cmd_migrate (int argc, char **argv);
int gp_cmd_save (int argc, char **argv);
int gp_cmd_verify (int argc, char **argv);
int gp_cmd_stages (int argc, char **argv);
int gp_cmd_presets (int argc, char **argv);

GOptionContext *gp_cli_option_context_new (const char *command, const char *parameter,
                                           const char *summary, GpCliOptions *opts,
                                           const GOptionEntry *extra);
int gp_cli_parse (GOptionContext *oc, const char *command, int *argc, char ***argv);
void gp_cli_options_clear (GpCliOptions *opts);
int gp_cli_usage_error (const char *command, const char *format, ...) G_GNUC_PRINTF (2, 3);
int gp_cli_fail (const char *command, GpCliOptions *opts, const char *format, ...) G_GNUC_PRINTF (3, 4);
int gp_cli_probe_readable_dir (const char *command, GpCliOptions *opts, const char *name,
                               const char *what, gboolean *out_exists);
char *gp_cli_describe_root (const char *root);
const char *gp_cli_source_stage (const char *kind);
const char *gp_cli_detect_source (const char *root);
int gp_cli_check_driver_store (const char *command, GpCliOptions *opts, gboolean when_holding);
void gp_cli_print_error (const GError *error);
GpLoader *gp_cli_make_loader (GpCliOptions *opts);
int gp_cli_run_preset (const char *command, GpCliOptions *opts, const char *preset_arg,
                       gboolean check_only, const char *const *extra_vars);

int gp_cli_output_init (const char *command, GpCliOptions *opts);
gboolean gp_cli_output_is_json (void);
void gp_cli_output_attach (GpContext *ctx, GpCliOptions *opts);
gboolean gp_cli_output_message (GpEventKind kind, const char *message);
int gp_cli_report_nothing (const char *command, GpCliOptions *opts,
                           const char *format, ...) G_GNUC_PRINTF (3, 4);

gboolean gp_cli_is_batch (GpCliOptions *opts);
int gp_cli_for_each_root (const char *command, GpCliOptions *opts, GpCliRootFunc func,
                          gpointer user_data);

gboolean gp_cli_target_prepare (GpCliOptions *opts, GpContext *ctx, GpCliTarget *target,
                                GError **error);
gboolean gp_cli_target_publish (GpCliTarget *target, GError **error);
gboolean gp_cli_target_finish (GpCliTarget *target, gboolean publish, GError **error);
void gp_cli_target_clear (GpCliTarget *target);

char *gp_cli_report_build (const char *command, const char *preset, GpCliOptions *opts,
                           GpContext *ctx, const GpCliTarget *target, int status,
                           const char *error_message);
gboolean gp_cli_report_write (const char *path, const char *json, GError **error);
void gp_cli_report_finish (const char *command, GpCliOptions *opts, char *report_json, int *status);

void gp_cli_signals_init (void);
void gp_cli_signals_set_cancellable (GCancellable *cancellable);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (GpCliOptions, gp_cli_options_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (GpCliTarget, gp_cli_target_clear)

G_END_DECLS
