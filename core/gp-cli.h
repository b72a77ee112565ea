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
} GpCliOptions;

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
void gp_cli_print_error (const GError *error);
GpLoader *gp_cli_make_loader (GpCliOptions *opts);
int gp_cli_run_preset (const char *command, GpCliOptions *opts, const char *preset_arg,
                       gboolean check_only, const char *const *extra_vars);

void gp_cli_signals_init (void);
void gp_cli_signals_set_cancellable (GCancellable *cancellable);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (GpCliOptions, gp_cli_options_clear)

G_END_DECLS
