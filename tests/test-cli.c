/* Tests of the graphpipe command: exit codes, messages, SIGINT/SIGTERM. */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gp-test-util.h"

typedef struct {
  char *tmp;
  char *modules;
} Fixture;

static void
fixture_setup (Fixture *fx, gconstpointer data)
{
  fx->tmp = gp_test_make_tmpdir ();
  fx->modules = gp_test_modules_dir ();
}

static void
fixture_teardown (Fixture *fx, gconstpointer data)
{
  gp_test_rm_rf (fx->tmp);
  g_free (fx->tmp);
  g_free (fx->modules);
}

static char *
write_preset (Fixture *fx, const char *name, const char *text)
{
  return gp_test_write_file (fx->tmp, name, text);
}

static void
test_version_help (Fixture *fx, gconstpointer data)
{
  g_autofree char *out = NULL;
  g_assert_cmpint (gp_test_run_cli (&out, NULL, "--version", NULL), ==, 0);
  g_assert_true (g_str_has_prefix (out, "graphpipe " PACKAGE_VERSION));
  g_clear_pointer (&out, g_free);

  g_assert_cmpint (gp_test_run_cli (&out, NULL, "--help", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "Usage: graphpipe COMMAND"));
  for (const char *const *c = (const char *const[]) { "run", "migrate", "save", "stages",
                                                      "presets", NULL }; *c != NULL; c++)
    {
      g_assert_nonnull (strstr (out, *c));
      g_autofree char *cmd_out = NULL;
      g_assert_cmpint (gp_test_run_cli (&cmd_out, NULL, *c, "--help", NULL), ==, 0);
      g_autofree char *usage = g_strdup_printf ("graphpipe %s [OPTION", *c);
      g_assert_nonnull (strstr (cmd_out, usage));
      g_assert_nonnull (strstr (cmd_out, "--plugin-dir"));
    }
}

static void
test_usage_errors (Fixture *fx, gconstpointer data)
{
  g_autofree char *err = NULL;

  g_assert_cmpint (gp_test_run_cli (NULL, NULL, NULL), ==, 2);
  g_assert_cmpint (gp_test_run_cli (NULL, &err, "frobnicate", NULL), ==, 2);
  g_assert_nonnull (strstr (err, "unknown command 'frobnicate'"));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (gp_test_run_cli (NULL, &err, "run", NULL), ==, 2);
  g_assert_nonnull (strstr (err, "no preset given"));
  g_assert_cmpint (gp_test_run_cli (NULL, NULL, "run", "--bogus", "x", NULL), ==, 2);
  g_assert_cmpint (gp_test_run_cli (NULL, NULL, "run", "a", "b", NULL), ==, 2);
  g_assert_cmpint (gp_test_run_cli (NULL, NULL, "run", "--jobs=-1", "example", NULL), ==, 2);
  g_assert_cmpint (gp_test_run_cli (NULL, NULL, "run", "--set", "novalue", "example", NULL), ==, 2);
  g_assert_cmpint (gp_test_run_cli (NULL, NULL, "stages", "a", "b", NULL), ==, 2);
  g_assert_cmpint (gp_test_run_cli (NULL, NULL, "presets", "x", NULL), ==, 2);
  g_assert_cmpint (gp_test_run_cli (NULL, NULL, "save", NULL), ==, 2);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (gp_test_run_cli (NULL, &err, "save", "--compress=xz", "img", NULL), ==, 2);
  g_assert_nonnull (strstr (err, "expected none, gzip or auto"));
}

static void
test_preset_not_found (Fixture *fx, gconstpointer data)
{
  g_autofree char *err = NULL;

  g_assert_cmpint (gp_test_run_cli (NULL, &err, "run", "no-such-preset", NULL), ==, 2);
  g_assert_nonnull (strstr (err, "preset 'no-such-preset' not found"));
  g_clear_pointer (&err, g_free);
  /* migrate on a root without graph/: nothing to do, nothing written. */
  g_assert_cmpint (gp_test_run_cli (NULL, &err, "migrate", "--root", fx->tmp, NULL), ==, 0);
  g_assert_nonnull (strstr (err, "nothing to migrate"));
}

static void
test_validation_error (Fixture *fx, gconstpointer data)
{
  g_autofree char *preset = write_preset (fx, "bad.conf",
                                          "[pipeline]\nstages=good\n[good]\nbogus=1\n");
  g_autofree char *err = NULL;

  g_assert_cmpint (gp_test_run_cli (NULL, &err, "run", "--plugin-dir", fx->modules, preset, NULL), ==, 2);
  g_autofree char *expected = g_strdup_printf ("graphpipe: error: %s: [good] bogus: unknown option",
                                               preset);
  g_assert_nonnull (strstr (err, expected));
}

static void
test_run_ok_and_check (Fixture *fx, gconstpointer data)
{
  g_autofree char *preset = write_preset (fx, "ok.conf",
                                          "[pipeline]\nstages=producer;consumer\n");
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  g_assert_cmpint (gp_test_run_cli (&out, &err, "run", "-P", fx->modules, preset, NULL), ==, 0);
  g_assert_nonnull (strstr (err, "[producer] started\n"));
  g_assert_nonnull (strstr (err, "[producer] words: 2 words\n"));
  g_assert_nonnull (strstr (err, "consumer.words: 2\n"));
  g_assert_nonnull (strstr (err, "0 warnings, 0 failures\n"));
  g_assert_cmpstr (out, ==, "");
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* --quiet prints nothing on success */
  g_assert_cmpint (gp_test_run_cli (&out, &err, "run", "-q", "-P", fx->modules, preset, NULL), ==, 0);
  g_assert_cmpstr (err, ==, "");
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* --check prints the plan and runs nothing */
  g_assert_cmpint (gp_test_run_cli (&out, &err, "run", "--check", "-P", fx->modules, preset, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "1. producer: "));
  g_assert_nonnull (strstr (out, "2. consumer: "));
  g_assert_nonnull (strstr (out, "     words = alpha beta  (default)\n"));
  g_assert_nonnull (strstr (out, "pipeline is valid: 2 stages\n"));
  g_assert_null (strstr (err, "started"));
}

static void
test_run_failed (Fixture *fx, gconstpointer data)
{
  g_autofree char *fails = write_preset (fx, "fails.conf", "[pipeline]\nstages=good;fail\n");
  g_autofree char *prep = write_preset (fx, "prep.conf",
                                        "[pipeline]\nstages=fail\n[fail]\nwhen=prepare\n");
  g_autofree char *err = NULL;

  g_assert_cmpint (gp_test_run_cli (NULL, &err, "run", "-P", fx->modules, fails, NULL), ==, 1);
  g_assert_nonnull (strstr (err, "graphpipe: error: fail: failing in run\n"));
  g_clear_pointer (&err, g_free);
  /* A prepare failure is a configuration error: nothing ran. */
  g_assert_cmpint (gp_test_run_cli (NULL, &err, "run", "-P", fx->modules, prep, NULL), ==, 2);
  g_assert_nonnull (strstr (err, "graphpipe: error: fail: refusing in prepare\n"));
}

static void
test_stages (Fixture *fx, gconstpointer data)
{
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  /* The broken test modules make the listing fail, naming each file. */
  g_assert_cmpint (gp_test_run_cli (&out, &err, "stages", "-P", fx->modules, NULL), ==, 2);
  g_assert_nonnull (strstr (out, "good "));
  g_assert_nonnull (strstr (out, "example "));
  g_assert_nonnull (strstr (err, "abi-mismatch.so: built for stage ABI 2, this graphpipe supports 1"));
  g_assert_nonnull (strstr (err, "wrong-name.so: invalid descriptor"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* Without them, all is well. */
  g_assert_cmpint (gp_test_run_cli (&out, NULL, "stages", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "example "));
  g_assert_nonnull (strstr (out, "requires: root; provides: example-counts"));
  /* Sources (they provide the image set) and sinks (they require it) are
   * named so: docker-store provides it, tar-export requires it. */
  g_assert_nonnull (strstr (out, "image source; requires: store; provides: image-set\n"));
  g_assert_nonnull (strstr (out, "image sink; requires: image-set; provides: -\n"));
  g_assert_null (strstr (out, "image source; requires: root; provides: example-counts"));
  g_clear_pointer (&out, g_free);

  g_assert_cmpint (gp_test_run_cli (&out, NULL, "stages", "-P", fx->modules, "options", NULL), ==, 0);
  g_autofree char *module = gp_test_module_path ("options");
  g_autofree char *line = g_strdup_printf ("module:   %s\n", module);
  g_assert_nonnull (strstr (out, line));
  g_assert_nonnull (strstr (out, "  mode (enum: fast|slow; default: fast)\n      an enum\n"));
  g_assert_nonnull (strstr (out, "  must (string; required)\n"));
  g_clear_pointer (&out, g_free);

  g_assert_cmpint (gp_test_run_cli (NULL, &err, "stages", "nope", NULL), ==, 2);
  g_assert_nonnull (strstr (err, "nope.so: stage 'nope' not found"));
}

static void
test_presets (Fixture *fx, gconstpointer data)
{
  g_autofree char *out = NULL;

  g_assert_cmpint (gp_test_run_cli (&out, NULL, "presets", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "example "));
  g_assert_nonnull (strstr (out, "example.conf\n"));
}

static void
test_signal (Fixture *fx, gconstpointer data)
{
  int sig = GPOINTER_TO_INT (data);
  g_autofree char *ready = g_build_filename (fx->tmp, "ready", NULL);
  g_autofree char *text = g_strdup_printf ("[pipeline]\nstages=wait-cancel;good\n"
                                           "[wait-cancel]\nready-file=%s\n", ready);
  g_autofree char *preset = write_preset (fx, "wait.conf", text);
  g_autofree char *graphpipe = gp_test_graphpipe_path ();
  const char *argv[] = { graphpipe, "run", "-P", fx->modules, preset, NULL };
  g_autoptr (GError) error = NULL;
  GPid pid;
  int err_fd;

  g_assert_true (g_spawn_async_with_pipes (NULL, (char **) argv, NULL,
                                           G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                                           &pid, NULL, NULL, &err_fd, &error));
  g_assert_no_error (error);

  /* Wait until the stage runs (the libtool wrapper execs the binary, so
   * pid is graphpipe itself). */
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while (!g_file_test (ready, G_FILE_TEST_EXISTS) && g_get_monotonic_time () < deadline)
    g_usleep (10 * 1000);
  g_assert_true (g_file_test (ready, G_FILE_TEST_EXISTS));
  g_assert_cmpint (kill (pid, sig), ==, 0);

  int status = 0;
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_spawn_close_pid (pid);

  GString *err = g_string_new (NULL);
  char buf[4096];
  gssize n;
  while ((n = read (err_fd, buf, sizeof buf)) > 0)
    g_string_append_len (err, buf, n);
  close (err_fd);
  g_test_message ("stderr: %s", err->str);

  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 130);
  g_assert_nonnull (strstr (err->str, "graphpipe: interrupted\n"));
  /* The next stage never started. */
  g_assert_null (strstr (err->str, "[good] started"));
  g_string_free (err, TRUE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, data, func) \
  g_test_add (path, Fixture, data, fixture_setup, func, fixture_teardown)
  ADD ("/cli/help/version-and-help", NULL, test_version_help);
  ADD ("/cli/exit/usage", NULL, test_usage_errors);
  ADD ("/cli/exit/preset-not-found", NULL, test_preset_not_found);
  ADD ("/cli/exit/validation", NULL, test_validation_error);
  ADD ("/cli/exit/success", NULL, test_run_ok_and_check);
  ADD ("/cli/exit/run-failed", NULL, test_run_failed);
  ADD ("/cli/stages/list-and-describe", NULL, test_stages);
  ADD ("/cli/presets/list", NULL, test_presets);
  ADD ("/cli/signal/sigint", GINT_TO_POINTER (SIGINT), test_signal);
  ADD ("/cli/signal/sigterm", GINT_TO_POINTER (SIGTERM), test_signal);
#undef ADD
  return g_test_run ();
}
