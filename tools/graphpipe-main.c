/* graphpipe - command line entry point: dispatches to gp-cmd-*.c. */
#include "config.h"

#include <locale.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "gp-cli.h"

static const GpCommand commands[] = {
  { "run", gp_cmd_run, "Run a preset pipeline (or check it with --check)" },
  { "migrate", gp_cmd_migrate, "Migrate a legacy graph to the 1.10 store (preset 'migrate')" },
  { "save", gp_cmd_save, "Write images as a docker save tarball (preset 'save')" },
  { "verify", gp_cmd_verify, "Check a 1.10+ image store read-only (preset 'verify')" },
  { "stages", gp_cmd_stages, "List stage modules, or describe one" },
  { "presets", gp_cmd_presets, "List the presets found by name" },
  { NULL, NULL, NULL }
};

static void
print_usage (FILE *stream)
{
  fprintf (stream,
           "Usage: graphpipe COMMAND [OPTION...] [ARG...]\n"
           "\n"
           "Reads a Docker data root with no daemon running: migrates a legacy\n"
           "graph to the 1.10 store, or saves images as a tarball.\n"
           "\n"
           "Commands:\n");
  for (const GpCommand *c = commands; c->name != NULL; c++)
    fprintf (stream, "  %-10s %s\n", c->name, c->summary);
  fprintf (stream,
           "\n"
           "Options:\n"
           "  -h, --help     Show this help; 'graphpipe COMMAND --help' for a command\n"
           "  -V, --version  Show the version\n"
           "\n"
           "Exit status: 0 success, 1 run failed, 2 usage or configuration error,\n"
           "130 interrupted.\n");
}

int
main (int argc, char **argv)
{
  /* Before any thread exists, so every thread inherits the blocked mask. */
  gp_cli_signals_init ();
  setlocale (LC_ALL, "");
#ifdef __GLIBC__
  /* Each layer allocates the same few buffers of 64-256 KiB (the ring of
   * the reassembly, the tar-split reader's, zlib's) and frees them at its
   * end.  By default glibc maps such blocks afresh, or trims the heap
   * they came from, so every layer of a root of hundreds of small layers
   * paid its page faults again (about 10 per file).  Kept in the heap and
   * reused instead; the peak stays what it was (a few MiB per thread). */
  mallopt (M_MMAP_THRESHOLD, 4 << 20);
  mallopt (M_TRIM_THRESHOLD, 32 << 20);
#endif

  if (argc < 2)
    {
      print_usage (stderr);
      return GP_EXIT_USAGE;
    }

  const char *arg = argv[1];
  if (strcmp (arg, "--help") == 0 || strcmp (arg, "-h") == 0 || strcmp (arg, "help") == 0)
    {
      print_usage (stdout);
      return GP_EXIT_OK;
    }
  if (strcmp (arg, "--version") == 0 || strcmp (arg, "-V") == 0)
    {
      g_print ("graphpipe %s (stage ABI %d)\n", PACKAGE_VERSION, GP_STAGE_ABI_VERSION);
      return GP_EXIT_OK;
    }

  for (const GpCommand *c = commands; c->name != NULL; c++)
    if (strcmp (arg, c->name) == 0)
      return c->func (argc - 1, argv + 1);

  g_printerr ("graphpipe: unknown command '%s'\n", arg);
  g_printerr ("Try 'graphpipe --help'.\n");
  return GP_EXIT_USAGE;
}
