/* Tests of what a run prints: JSON events, plain lines, the progress bar
 * (under a pseudo-terminal), --quiet. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <json-glib/json-glib.h>

#include "gp-progress.h"
#include "gp-test-util.h"

/* A small legacy root: three images in a chain, four tags, a container,
 * and one layer whose files no longer match its tar-split data (a
 * warning: the layer is rebuilt from the driver). */
static const char fixture_ini[] =
  "[root]\n"
  "driver=vfs\n"
  "\n"
  "[image base]\n"
  "created=2015-11-01T10:00:00Z\n"
  "files=d bin 0755;z bin/big 0755 300000;f bin/sh 0755 #!/bin/sh\\n\n"
  "tags=t/base:latest\n"
  "\n"
  "[image mid]\n"
  "parent=@base\n"
  "created=2015-11-01T10:00:01Z\n"
  "files=d etc 0755;f etc/motd 0644 hello\\n\n"
  "break=crc\n"
  "tags=t/mid:1;t/mid:2\n"
  "\n"
  "[image top]\n"
  "parent=@mid\n"
  "created=2015-11-01T10:00:02Z\n"
  "files=f etc/top 0644 top\\n\n"
  "tags=t/top:latest\n"
  "\n"
  "[container c1]\n"
  "image=@top\n";

static const char *const migrate_stages[] = {
  "scan-graph", "register-layers", "build-configs", "rewrite-containers", "migrate-tags", NULL
};

typedef struct {
  char *tmp;
  char *root;
} Fixture;

static void
fixture_setup (Fixture *fx, gconstpointer data)
{
  fx->tmp = gp_test_make_tmpdir ();
  fx->root = g_build_filename (fx->tmp, "root", NULL);
}

static void
fixture_teardown (Fixture *fx, gconstpointer data)
{
  gp_test_rm_rf (fx->tmp);
  g_free (fx->tmp);
  g_free (fx->root);
}

/* Writes the legacy root with tests/gp-mklegacy; FALSE (test skipped) when
 * the tool is not there. */
static gboolean
make_root (Fixture *fx)
{
  const char *builddir = g_getenv ("GP_TOP_BUILDDIR");
  g_autofree char *tool = g_build_filename (builddir != NULL ? builddir : ".", "tests",
                                            "gp-mklegacy", NULL);
  if (!g_file_test (tool, G_FILE_TEST_IS_EXECUTABLE))
    {
      gp_test_skip_required ("tests/gp-mklegacy not built (GP_TOP_BUILDDIR unset?)");
      return FALSE;
    }
  g_autofree char *ini = gp_test_write_file (fx->tmp, "root.ini", fixture_ini);
  const char *argv[] = { tool, ini, fx->root, NULL };
  int wait_status = 0;
  g_autoptr (GError) error = NULL;
  g_autofree char *err = NULL;
  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, &err,
                &wait_status, &error);
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (wait_status, NULL))
    g_error ("gp-mklegacy failed: %s", err);
  return TRUE;
}

/* Parses every line of @text as a JSON object; fails the test on the
 * first line that is not one.  Returns the objects (JsonNode*). */
static GPtrArray *
parse_json_lines (const char *text)
{
  GPtrArray *objects = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  guint n = g_strv_length (lines);

  g_assert_cmpuint (n, >=, 2);
  g_assert_cmpstr (lines[n - 1], ==, ""); /* ends with a newline */
  for (guint i = 0; i + 1 < n; i++)
    {
      g_autoptr (JsonParser) parser = json_parser_new ();
      g_autoptr (GError) error = NULL;
      if (!json_parser_load_from_data (parser, lines[i], -1, &error))
        g_error ("line %u is not JSON: %s: %s", i + 1, error->message, lines[i]);
      JsonNode *root = json_parser_get_root (parser);
      g_assert_nonnull (root);
      g_assert_true (JSON_NODE_HOLDS_OBJECT (root));
      JsonObject *obj = json_node_get_object (root);
      g_assert_true (json_object_has_member (obj, "event"));
      g_assert_true (json_object_has_member (obj, "time"));
      g_assert_true (json_object_has_member (obj, "stage"));
      g_ptr_array_add (objects, json_node_copy (root));
    }
  return objects;
}

static const char *
event_kind (JsonNode *node)
{
  return json_object_get_string_member (json_node_get_object (node), "event");
}

static const char *
event_stage (JsonNode *node)
{
  JsonObject *obj = json_node_get_object (node);
  return json_object_get_null_member (obj, "stage") ? NULL
         : json_object_get_string_member (obj, "stage");
}

static guint
count_dir (const char *root, const char *rel)
{
  g_autofree char *path = g_build_filename (root, rel, NULL);
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  guint n = 0;
  if (dir == NULL)
    return 0;
  while (g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

/* The references in repositories.json. */
static guint
count_tags (const char *root)
{
  g_autofree char *path = g_build_filename (root, "image", "vfs", "repositories.json", NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  g_assert_true (json_parser_load_from_file (parser, path, &error));
  g_assert_no_error (error);
  JsonObject *repos = json_object_get_object_member (json_node_get_object (
                                                       json_parser_get_root (parser)), "Repositories");
  g_autoptr (GList) names = json_object_get_members (repos);
  guint n = 0;
  for (GList *l = names; l != NULL; l = l->next)
    n += json_object_get_size (json_object_get_object_member (repos, l->data));
  return n;
}

static gint64
counter (JsonObject *report, const char *name)
{
  JsonObject *counters = json_object_get_object_member (report, "counters");
  g_assert_true (json_object_has_member (counters, name));
  return json_object_get_int_member (counters, name);
}

/* The whole stream of a migrate run: kinds in order, stage names, item
 * events inside their stage, the warning, and a final report whose counts
 * equal what is on disk. */
static void
check_migrate_stream (Fixture *fx, GPtrArray *events)
{
  g_autoptr (GPtrArray) stage_order = g_ptr_array_new ();
  const char *running = NULL;
  guint n_items = 0, n_warnings = 0, n_reports = 0;

  for (guint i = 0; i < events->len; i++)
    {
      JsonNode *node = events->pdata[i];
      JsonObject *obj = json_node_get_object (node);
      const char *kind = event_kind (node);
      const char *stage = event_stage (node);

      g_assert_cmpuint (n_reports, ==, 0); /* the report is the last line */
      if (g_str_equal (kind, "stage-started"))
        {
          g_assert_null (running);
          g_assert_nonnull (stage);
          running = stage;
          g_ptr_array_add (stage_order, (gpointer) stage);
        }
      else if (g_str_equal (kind, "stage-finished"))
        {
          g_assert_cmpstr (stage, ==, running);
          g_assert_true (json_object_get_double_member (obj, "seconds") >= 0);
          running = NULL;
        }
      else if (g_str_equal (kind, "item-done") || g_str_equal (kind, "progress"))
        {
          g_assert_nonnull (running);
          g_assert_cmpstr (stage, ==, running);
          g_assert_true (json_object_has_member (obj, "done"));
          g_assert_true (json_object_has_member (obj, "total"));
          g_assert_true (json_object_has_member (obj, "bytes"));
          if (json_object_get_int_member (obj, "total") > 0)
            g_assert_cmpint (json_object_get_int_member (obj, "done"), <=,
                             json_object_get_int_member (obj, "total"));
          n_items += g_str_equal (kind, "item-done");
        }
      else if (g_str_equal (kind, "warning"))
        {
          g_assert_cmpstr (stage, ==, "register-layers");
          g_assert_nonnull (strstr (json_object_get_string_member (obj, "message"),
                                    "rebuilt from the vfs driver"));
          n_warnings++;
        }
      else if (g_str_equal (kind, "report"))
        n_reports++;
      else
        g_error ("unexpected event kind %s", kind);
    }

  g_ptr_array_add (stage_order, NULL);
  g_assert_cmpstrv ((const char *const *) stage_order->pdata, migrate_stages);
  g_assert_cmpuint (n_reports, ==, 1);
  g_assert_cmpuint (n_warnings, ==, 1);
  g_assert_cmpuint (n_items, >=, 3 + 3 + 3 + 1 + 4);

  JsonObject *report = json_node_get_object (events->pdata[events->len - 1]);
  g_assert_cmpstr (json_object_get_string_member (report, "status"), ==, "ok");
  g_assert_cmpint (json_object_get_int_member (report, "warnings"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (report, "failures"), ==, 0);
  JsonArray *problems = json_object_get_array_member (report, "problems");
  g_assert_cmpuint (json_array_get_length (problems), ==, 1);
  JsonObject *problem = json_array_get_object_element (problems, 0);
  g_assert_cmpstr (json_object_get_string_member (problem, "kind"), ==, "warning");
  g_assert_cmpstr (json_object_get_string_member (problem, "stage"), ==, "register-layers");

  /* The counts equal what was written. */
  guint images = count_dir (fx->root, "image/vfs/imagedb/content/sha256");
  guint layers = count_dir (fx->root, "image/vfs/layerdb/sha256");
  guint tags = count_tags (fx->root);
  g_assert_cmpuint (images, ==, 3);
  g_assert_cmpuint (layers, ==, 3);
  g_assert_cmpuint (tags, ==, 4);
  g_assert_cmpint (counter (report, "images migrated"), ==, images);
  g_assert_cmpint (counter (report, "layers migrated"), ==, layers);
  g_assert_cmpint (counter (report, "tags migrated"), ==, tags);
  g_assert_cmpint (counter (report, "containers migrated"), ==, 1);
  g_assert_cmpint (counter (report, "layers regenerated"), ==, 1);

  JsonArray *stages = json_object_get_array_member (report, "stages");
  g_assert_cmpuint (json_array_get_length (stages), ==, g_strv_length ((char **) migrate_stages));
  for (guint i = 0; migrate_stages[i] != NULL; i++)
    {
      JsonObject *s = json_array_get_object_element (stages, i);
      g_assert_cmpstr (json_object_get_string_member (s, "stage"), ==, migrate_stages[i]);
      g_assert_cmpstr (json_object_get_string_member (s, "status"), ==, "ok");
      g_assert_true (json_object_get_double_member (s, "seconds") >= 0);
    }
}

static void
test_cli_json_stderr (Fixture *fx, gconstpointer data)
{
  if (!make_root (fx))
    return;
  g_autofree char *out = NULL, *err = NULL;
  g_assert_cmpint (gp_test_run_cli (&out, &err, "migrate", "--root", fx->root, "--progress=json", NULL),
                   ==, 0);
  g_assert_cmpstr (out, ==, "");
  g_autoptr (GPtrArray) events = parse_json_lines (err);
  check_migrate_stream (fx, events);
}

static void
test_cli_json_events_file (Fixture *fx, gconstpointer data)
{
  if (!make_root (fx))
    return;
  g_autofree char *path = g_build_filename (fx->tmp, "events.json", NULL);
  g_autofree char *out = NULL, *err = NULL;
  g_assert_cmpint (gp_test_run_cli (&out, &err, "migrate", "--root", fx->root, "--events", path, NULL),
                   ==, 0);
  /* stderr: the plain lines (not a terminal); the file: JSON. */
  g_assert_nonnull (strstr (err, "[scan-graph] started\n"));
  g_assert_nonnull (strstr (err, "[migrate-tags] finished ("));
  g_assert_null (strchr (err, '{'));
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_autoptr (GPtrArray) events = parse_json_lines (text);
  check_migrate_stream (fx, events);
}

/* Errors of the command itself are JSON lines too. */
static void
test_cli_json_errors (Fixture *fx, gconstpointer data)
{
  g_autofree char *out = NULL, *err = NULL;
  g_assert_cmpint (gp_test_run_cli (&out, &err, "run", "--progress=json", "no-such-preset", NULL), ==, 2);
  g_autoptr (GPtrArray) events = parse_json_lines (err);
  g_assert_cmpuint (events->len, ==, 1);
  JsonObject *obj = json_node_get_object (events->pdata[0]);
  g_assert_cmpstr (event_kind (events->pdata[0]), ==, "error");
  g_assert_nonnull (strstr (json_object_get_string_member (obj, "message"),
                            "preset 'no-such-preset' not found"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* No graph/: nothing to do, said in a report with no counters. */
  g_assert_cmpint (gp_test_run_cli (&out, &err, "migrate", "--progress=json", "--root", fx->tmp, NULL),
                   ==, 0);
  g_autoptr (GPtrArray) nothing = parse_json_lines (err);
  g_assert_cmpuint (nothing->len, ==, 1);
  obj = json_node_get_object (nothing->pdata[0]);
  g_assert_cmpstr (event_kind (nothing->pdata[0]), ==, "report");
  g_assert_cmpstr (json_object_get_string_member (obj, "status"), ==, "ok");
  g_assert_nonnull (strstr (json_object_get_string_member (obj, "message"), "nothing to migrate"));
  g_assert_cmpuint (json_object_get_size (json_object_get_object_member (obj, "counters")), ==, 0);
}

static void
test_cli_plain (Fixture *fx, gconstpointer data)
{
  if (!make_root (fx))
    return;
  g_autofree char *out = NULL, *err = NULL;
  g_assert_cmpint (gp_test_run_cli (&out, &err, "migrate", "--root", fx->root, NULL), ==, 0);
  g_assert_cmpstr (out, ==, "");
  for (guint i = 0; migrate_stages[i] != NULL; i++)
    {
      g_autofree char *started = g_strdup_printf ("[%s] started\n", migrate_stages[i]);
      g_assert_nonnull (strstr (err, started));
    }
  g_assert_nonnull (strstr (err, "[register-layers] warning: graph/"));
  g_assert_nonnull (strstr (err, "images migrated: 3\n"));
  g_assert_true (g_str_has_suffix (err, "1 warning, 0 failures\n"));
  /* No bar: no carriage return, no escape sequence. */
  g_assert_null (strchr (err, '\r'));
  g_assert_null (strchr (err, '\033'));
}

static void
test_cli_quiet (Fixture *fx, gconstpointer data)
{
  g_autofree char *out = NULL, *err = NULL;
  /* Nothing to migrate: success, not a word. */
  g_assert_cmpint (gp_test_run_cli (&out, &err, "migrate", "--quiet", "--root", fx->tmp, NULL), ==, 0);
  g_assert_cmpstr (out, ==, "");
  g_assert_cmpstr (err, ==, "");
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  if (!make_root (fx))
    return;
  /* The fixture's one warning is printed, nothing else. */
  g_assert_cmpint (gp_test_run_cli (&out, &err, "migrate", "-q", "--root", fx->root, NULL), ==, 0);
  g_assert_cmpstr (out, ==, "");
  g_assert_true (g_str_has_prefix (err, "[register-layers] warning: graph/"));
  g_assert_null (strchr (strchr (err, '\n') + 1, '\n'));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* Run again: all done, no warning: not a word. */
  g_assert_cmpint (gp_test_run_cli (&out, &err, "migrate", "--quiet", "--root", fx->root, NULL), ==, 0);
  g_assert_cmpstr (out, ==, "");
  g_assert_cmpstr (err, ==, "");
}

static void
test_cli_bad_options (Fixture *fx, gconstpointer data)
{
  g_autofree char *out = NULL, *err = NULL;
  g_assert_cmpint (gp_test_run_cli (&out, &err, "migrate", "--progress=fancy", "--root", fx->tmp, NULL),
                   ==, 2);
  g_assert_nonnull (strstr (err, "--progress=fancy: expected auto, bar, plain, json or none"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_autofree char *bad = g_build_filename (fx->tmp, "no", "such", "dir", "events", NULL);
  g_assert_cmpint (gp_test_run_cli (&out, &err, "run", "--events", bad, "example", NULL), ==, 2);
  g_assert_nonnull (strstr (err, "cannot create"));
}

/* ---- the bar under a pseudo-terminal ---- */

/* Runs graphpipe with stderr on a pseudo-terminal (100 columns,
 * TERM=xterm); returns what the terminal received. */
static char *
run_in_pty (int *out_status, const char *term, const char *const *args)
{
  int master = posix_openpt (O_RDWR | O_NOCTTY | O_CLOEXEC);
  g_assert_cmpint (master, >=, 0);
  g_assert_cmpint (grantpt (master), ==, 0);
  g_assert_cmpint (unlockpt (master), ==, 0);
  g_autofree char *slave_name = g_strdup (ptsname (master));
  struct winsize ws = { .ws_row = 30, .ws_col = 100 };
  ioctl (master, TIOCSWINSZ, &ws);

  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (argv, gp_test_graphpipe_path ());
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, g_strdup (args[i]));
  g_ptr_array_add (argv, NULL);
  g_auto (GStrv) envp = g_environ_setenv (g_get_environ (), "TERM", term, TRUE);
  envp = g_environ_unsetenv (envp, "COLUMNS");

  pid_t pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      setsid ();
      int slave = open (slave_name, O_RDWR);
      int null = open ("/dev/null", O_RDWR);
      if (slave < 0 || null < 0)
        _exit (127);
      dup2 (null, 0);
      dup2 (null, 1);
      dup2 (slave, 2);
      execve (argv->pdata[0], (char **) argv->pdata, envp);
      _exit (127);
    }

  GString *got = g_string_new (NULL);
  for (;;)
    {
      char buf[4096];
      ssize_t n = read (master, buf, sizeof buf);
      if (n > 0)
        g_string_append_len (got, buf, n);
      else if (n < 0 && errno == EINTR)
        continue;
      else
        break; /* EIO: the last holder of the slave is gone */
    }
  close (master);
  int wait_status = 0;
  g_assert_cmpint (waitpid (pid, &wait_status, 0), ==, pid);
  g_assert_true (WIFEXITED (wait_status));
  *out_status = WEXITSTATUS (wait_status);
  g_autofree char *escaped = g_strescape (got->str, NULL);
  g_test_message ("terminal output: %s", escaped);
  return g_string_free (got, FALSE);
}

/* What a terminal shows after @text: \r, \n (after the pty's \r\n),
 * ESC [ K (erase to the end of line); no other control sequence is
 * expected.  Returns the lines. */
static GStrv
emulate_terminal (const char *text)
{
  g_autoptr (GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  GString *line = g_string_new (NULL);
  gsize col = 0;

  for (const char *p = text; *p != '\0'; p++)
    {
      if (*p == '\r')
        col = 0;
      else if (*p == '\n')
        {
          g_ptr_array_add (lines, g_string_free (line, FALSE));
          line = g_string_new (NULL);
          col = 0;
        }
      else if (*p == '\033')
        {
          g_assert_true (p[1] == '[' && p[2] == 'K');
          g_string_truncate (line, MIN (col, line->len));
          p += 2;
        }
      else
        {
          g_assert_true (g_ascii_isprint (*p) || (guchar) *p >= 0x80);
          if (col < line->len)
            line->str[col] = *p;
          else
            g_string_append_c (line, *p);
          col++;
        }
    }
  g_ptr_array_add (lines, g_string_free (line, FALSE));
  g_ptr_array_add (lines, NULL);
  return (GStrv) g_ptr_array_free (g_steal_pointer (&lines), FALSE);
}

static void
test_bar_pty (Fixture *fx, gconstpointer data)
{
  if (!make_root (fx))
    return;
  const char *args[] = { "migrate", "--root", fx->root, "--jobs", "1", NULL };
  int status = -1;
  g_autofree char *got = run_in_pty (&status, "xterm", args);
  g_assert_cmpint (status, ==, 0);

  /* The bar was drawn, with the stage's name, and redrawn in place. */
  g_assert_nonnull (strstr (got, "\rscan-graph  "));
  g_assert_nonnull (strstr (got, "\rregister-layers  "));
  g_assert_nonnull (strstr (got, "\033[K"));

  /* What stays on the screen: finished stages, the warning on a line of
   * its own, the report; no bar left behind. */
  g_auto (GStrv) screen = emulate_terminal (got);
  guint n = g_strv_length (screen);
  g_assert_cmpuint (n, >=, 2);
  g_assert_cmpstr (screen[n - 1], ==, ""); /* ends at the start of a line */
  g_assert_cmpstr (screen[n - 2], ==, "1 warning, 0 failures");
  gboolean warning_seen = FALSE;
  guint next_stage = 0;
  for (guint i = 0; i < n; i++)
    {
      g_assert_null (strstr (screen[i], "[#"));
      g_assert_null (strstr (screen[i], "-]"));
      if (g_str_has_prefix (screen[i], "[register-layers] warning: graph/"))
        warning_seen = TRUE;
      if (migrate_stages[next_stage] != NULL)
        {
          g_autofree char *finished = g_strdup_printf ("[%s] finished (", migrate_stages[next_stage]);
          if (g_str_has_prefix (screen[i], finished))
            next_stage++;
        }
    }
  g_assert_true (warning_seen);
  g_assert_cmpuint (next_stage, ==, g_strv_length ((char **) migrate_stages));
}

static void
test_bar_pty_quiet (Fixture *fx, gconstpointer data)
{
  const char *args[] = { "migrate", "--quiet", "--root", fx->tmp, NULL };
  int status = -1;
  g_autofree char *got = run_in_pty (&status, "xterm", args);
  g_assert_cmpint (status, ==, 0);
  g_assert_cmpstr (got, ==, "");
}

/* TERM=dumb: plain lines even on a terminal; a file is no terminal. */
static void
test_bar_pty_dumb (Fixture *fx, gconstpointer data)
{
  const char *args[] = { "migrate", "--root", fx->tmp, "--events", "/dev/null", NULL };
  int status = -1;
  g_autofree char *got = run_in_pty (&status, "dumb", args);
  g_assert_cmpint (status, ==, 0);
  g_assert_true (g_str_has_suffix (got, "nothing to migrate\r\n"));
  g_assert_null (strchr (got, '\033'));

  g_autofree char *file = g_build_filename (fx->tmp, "f", NULL);
  FILE *regular = fopen (file, "w");
  g_assert_nonnull (regular);
  g_assert_false (gp_progress_bar_supported (regular));
  fclose (regular);
}

/* ---- the sinks in-process ---- */

static void
test_json_format (void)
{
  static const struct {
    GpEvent event;
    const char *expected_tail;
  } cases[] = {
    { { .kind = GP_EVENT_STAGE_STARTED, .stage = "s" }, "\"stage\":\"s\"}" },
    { { .kind = GP_EVENT_ITEM_DONE, .stage = "s", .item = "i", .done = 2, .total = 5, .bytes = 7,
        .message = "m" },
      "\"stage\":\"s\",\"item\":\"i\",\"done\":2,\"total\":5,\"bytes\":7,\"message\":\"m\"}" },
    { { .kind = GP_EVENT_PROGRESS, .done = 1 },
      "\"stage\":null,\"done\":1,\"total\":0,\"bytes\":0}" },
    { { .kind = GP_EVENT_WARNING, .stage = "s", .item = "a\"b\\c\n<&>", .message = "bad \xff byte" },
      "\"stage\":\"s\",\"item\":\"a\\\"b\\\\c\\n\\u003c\\u0026\\u003e\","
      "\"message\":\"bad \\ufffd byte\"}" },
    { { .kind = GP_EVENT_ERROR, .message = "x" }, "\"stage\":null,\"message\":\"x\"}" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *json = gp_event_format_json (&cases[i].event);
      g_autofree char *head = g_strdup_printf ("{\"event\":\"%s\",\"time\":\"",
                                               gp_event_kind_to_string (cases[i].event.kind));
      g_test_message ("%s", json);
      g_assert_true (g_str_has_prefix (json, head));
      g_assert_true (g_str_has_suffix (json, cases[i].expected_tail));
      g_assert_null (strchr (json, '\n'));
      /* The time: RFC 3339, UTC, microseconds. */
      const char *t = json + strlen (head);
      g_autofree char *time = g_strndup (t, strchr (t, '"') - t);
      g_assert_cmpuint (strlen (time), ==, strlen ("2016-01-02T03:04:05.000000Z"));
      g_autoptr (GDateTime) parsed = g_date_time_new_from_iso8601 (time, NULL);
      g_assert_nonnull (parsed);

      g_autoptr (JsonParser) parser = json_parser_new ();
      g_assert_true (json_parser_load_from_data (parser, json, -1, NULL));
    }
}

/* The bar's line in-process: items from item-done events, bytes and the
 * cells from progress events, a warning printed on a line of its own. */
static void
test_bar_sink (Fixture *fx, gconstpointer data)
{
  g_autofree char *path = g_build_filename (fx->tmp, "bar", NULL);
  FILE *stream = fopen (path, "w");
  g_assert_nonnull (stream);
  g_autoptr (GpContext) ctx = gp_context_new ();
  gp_context_add_progress_bar (ctx, stream, GP_VERBOSITY_NORMAL);

  GpEvent started = { .kind = GP_EVENT_STAGE_STARTED, .stage = "copy" };
  gp_context_emit (ctx, &started);
  gp_context_set_current_stage (ctx, "copy");
  gp_context_emit_item_done (ctx, "one", 1, 4, 1024, NULL);
  gp_context_emit_progress (ctx, "two", 3 << 20, 6 << 20, 3 << 20);
  gp_context_report (ctx, GP_REPORT_WARNING, "two", "odd");
  gp_context_set_current_stage (ctx, NULL);
  GpEvent finished = { .kind = GP_EVENT_STAGE_FINISHED, .stage = "copy", .message = "1.00 s" };
  gp_context_emit (ctx, &finished);
  GpEvent report = { .kind = GP_EVENT_REPORT, .message = "all done\n" };
  gp_context_emit (ctx, &report);
  fclose (stream);

  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_autofree char *escaped = g_strescape (text, NULL);
  g_test_message ("%s", escaped);
  g_assert_true (g_str_has_prefix (text, "\rcopy  0:00\033[K"));
  /* Cleared, the warning, the bar again: half the units, 1 of 4 items,
   * the progress event's bytes. */
  g_assert_nonnull (strstr (text, "\r\033[K[copy] warning: two: odd\n"
                                  "\rcopy  [##########----------] 1/4  3.0 MiB  "));
  g_assert_true (g_str_has_suffix (text, "\033[K\r\033[K[copy] finished (1.00 s)\nall done\n"));
  g_auto (GStrv) screen = emulate_terminal (text);
  g_assert_cmpstrv (screen, ((const char *const[]) { "[copy] warning: two: odd",
                                                     "[copy] finished (1.00 s)", "all done",
                                                     "", NULL }));
}

typedef struct {
  GpContext *ctx;
  guint index;
} ThreadData;

#define N_THREADS 8
#define N_PER_THREAD 500

static gpointer
emit_thread (gpointer data)
{
  ThreadData *td = data;
  for (guint i = 0; i < N_PER_THREAD; i++)
    {
      g_autofree char *item = g_strdup_printf ("t%u-%u", td->index, i);
      gp_context_emit_item_done (td->ctx, item, i + 1, N_PER_THREAD, 100, "item %s", item);
      gp_context_emit_progress (td->ctx, item, 0, 0, 50);
      gp_context_add_counter (td->ctx, "items", 1);
    }
  return NULL;
}

/* Events from many threads: one whole line each, the report last with the
 * counter and the stage's timing. */
static void
test_json_writer_threads (Fixture *fx, gconstpointer data)
{
  g_autofree char *path = g_build_filename (fx->tmp, "events", NULL);
  FILE *stream = fopen (path, "w");
  g_assert_nonnull (stream);
  g_autoptr (GpContext) ctx = gp_context_new ();
  gp_context_add_json_writer (ctx, stream);

  gp_context_set_current_stage (ctx, "threads");
  GpEvent started = { .kind = GP_EVENT_STAGE_STARTED };
  gp_context_emit (ctx, &started);
  GThread *threads[N_THREADS];
  ThreadData td[N_THREADS];
  for (guint i = 0; i < N_THREADS; i++)
    {
      td[i] = (ThreadData) { ctx, i };
      threads[i] = g_thread_new ("emit", emit_thread, &td[i]);
    }
  for (guint i = 0; i < N_THREADS; i++)
    g_thread_join (threads[i]);
  gp_context_report (ctx, GP_REPORT_FAILURE, "it\xfe", "broken");
  GpEvent finished = { .kind = GP_EVENT_STAGE_FINISHED };
  gp_context_emit (ctx, &finished);
  gp_context_set_current_stage (ctx, NULL);
  GpEvent report = { .kind = GP_EVENT_REPORT, .message = "done" };
  gp_context_emit (ctx, &report);
  fclose (stream);

  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_autoptr (GPtrArray) events = parse_json_lines (text);
  guint n_items = 0;
  for (guint i = 0; i < events->len; i++)
    if (g_str_equal (event_kind (events->pdata[i]), "item-done"))
      {
        g_assert_cmpstr (event_stage (events->pdata[i]), ==, "threads");
        n_items++;
      }
  g_assert_cmpuint (n_items, ==, N_THREADS * N_PER_THREAD);
  g_assert_cmpstr (event_kind (events->pdata[0]), ==, "stage-started");
  g_assert_cmpstr (event_kind (events->pdata[events->len - 1]), ==, "report");
  JsonObject *r = json_node_get_object (events->pdata[events->len - 1]);
  g_assert_cmpstr (json_object_get_string_member (r, "status"), ==, "failed");
  g_assert_cmpint (counter (r, "items"), ==, N_THREADS * N_PER_THREAD);
  g_assert_cmpint (json_object_get_int_member (r, "failures"), ==, 1);
  JsonObject *p = json_array_get_object_element (json_object_get_array_member (r, "problems"), 0);
  g_assert_cmpstr (json_object_get_string_member (p, "kind"), ==, "failure");
  g_assert_cmpstr (json_object_get_string_member (p, "item"), ==, "it\xef\xbf\xbd");
  JsonArray *stages = json_object_get_array_member (r, "stages");
  g_assert_cmpuint (json_array_get_length (stages), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (stages, 0),
                                                  "status"), ==, "ok");
}

/* A stage that never finished makes the report say failed. */
static void
test_json_writer_unfinished (Fixture *fx, gconstpointer data)
{
  g_autofree char *path = g_build_filename (fx->tmp, "events", NULL);
  FILE *stream = fopen (path, "w");
  g_autoptr (GpContext) ctx = gp_context_new ();
  gp_context_add_json_writer (ctx, stream);
  GpEvent started = { .kind = GP_EVENT_STAGE_STARTED, .stage = "a" };
  gp_context_emit (ctx, &started);
  GpEvent report = { .kind = GP_EVENT_REPORT };
  gp_context_emit (ctx, &report);
  fclose (stream);

  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_autoptr (GPtrArray) events = parse_json_lines (text);
  g_assert_cmpuint (events->len, ==, 2);
  JsonObject *r = json_node_get_object (events->pdata[1]);
  g_assert_cmpstr (json_object_get_string_member (r, "status"), ==, "failed");
  JsonObject *s = json_array_get_object_element (json_object_get_array_member (r, "stages"), 0);
  g_assert_cmpstr (json_object_get_string_member (s, "stage"), ==, "a");
  g_assert_cmpstr (json_object_get_string_member (s, "status"), ==, "failed");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/progress/json/format", test_json_format);
#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/progress/json/writer-threads", test_json_writer_threads);
  ADD ("/progress/bar/sink", test_bar_sink);
  ADD ("/progress/json/writer-unfinished", test_json_writer_unfinished);
  ADD ("/progress/cli/json-stderr", test_cli_json_stderr);
  ADD ("/progress/cli/json-events-file", test_cli_json_events_file);
  ADD ("/progress/cli/json-errors", test_cli_json_errors);
  ADD ("/progress/cli/plain", test_cli_plain);
  ADD ("/progress/cli/quiet", test_cli_quiet);
  ADD ("/progress/cli/bad-options", test_cli_bad_options);
  ADD ("/progress/bar/pty", test_bar_pty);
  ADD ("/progress/bar/pty-quiet", test_bar_pty_quiet);
  ADD ("/progress/bar/pty-dumb", test_bar_pty_dumb);
#undef ADD
  return g_test_run ();
}
