/* Tests of presets: whole-pipeline validation errors, ${var} substitution,
 * option resolution, lookup by name. */
#include "config.h"

#include <string.h>
#include <gio/gio.h>

#include "gp-pipeline.h"
#include "gp-error.h"
#include "gp-test-util.h"

#define FILE_NAME "presets/t.conf"

typedef struct {
  const char *path;
  const char *text;
  GQuark (*domain) (void);
  int code;
  const char *message;   /* expected after "presets/t.conf: " */
  gboolean no_root;      /* leave ${root} undefined */
} ValidateCase;

static const ValidateCase validate_cases[] = {
  { "/preset/validate/parse-syntax", "[pipeline\nstages=good\n",
    gp_preset_error_quark, GP_PRESET_ERROR_PARSE, "" },
  { "/preset/validate/parse-no-pipeline", "[good]\n",
    gp_preset_error_quark, GP_PRESET_ERROR_PARSE, "no [pipeline] group" },
  { "/preset/validate/parse-no-stages", "[pipeline]\ndescription=x\n",
    gp_preset_error_quark, GP_PRESET_ERROR_PARSE, "[pipeline] stages: missing" },
  { "/preset/validate/parse-empty-stages", "[pipeline]\nstages=\n",
    gp_preset_error_quark, GP_PRESET_ERROR_PARSE, "[pipeline] stages: no stage listed" },
  { "/preset/validate/parse-stage-twice", "[pipeline]\nstages=good;good\n",
    gp_preset_error_quark, GP_PRESET_ERROR_PARSE,
    "[pipeline] stages: stage 'good' listed twice" },
  { "/preset/validate/pipeline-unknown-key", "[pipeline]\nstages=good\nstage=x\n",
    gp_preset_error_quark, GP_PRESET_ERROR_UNKNOWN_OPTION, "[pipeline] stage: unknown key" },
  { "/preset/validate/unknown-stage", "[pipeline]\nstages=good;nope\n",
    gp_preset_error_quark, GP_PRESET_ERROR_UNKNOWN_STAGE,
    "[pipeline] stages: unknown stage 'nope'" },
  { "/preset/validate/stray-group", "[pipeline]\nstages=good\n[godo]\n",
    gp_preset_error_quark, GP_PRESET_ERROR_UNKNOWN_STAGE,
    "[godo]: group of a stage that is not in [pipeline] stages" },
  { "/preset/validate/unknown-option", "[pipeline]\nstages=options\n[options]\nmust=x\nbogus=1\n",
    gp_preset_error_quark, GP_PRESET_ERROR_UNKNOWN_OPTION,
    "[options] bogus: unknown option (stage 'options' accepts: text, count," },
  { "/preset/validate/no-options", "[pipeline]\nstages=good\n[good]\nx=1\n",
    gp_preset_error_quark, GP_PRESET_ERROR_UNKNOWN_OPTION,
    "[good] x: unknown option (stage 'good' accepts: no options)" },
  { "/preset/validate/bad-int", "[pipeline]\nstages=options\n[options]\nmust=x\ncount=abc\n",
    gp_preset_error_quark, GP_PRESET_ERROR_BAD_VALUE,
    "[options] count: 'abc' is not an integer" },
  { "/preset/validate/int-overflow",
    "[pipeline]\nstages=options\n[options]\nmust=x\ncount=99999999999999999999\n",
    gp_preset_error_quark, GP_PRESET_ERROR_BAD_VALUE, "[options] count: '9999" },
  { "/preset/validate/bad-bool", "[pipeline]\nstages=options\n[options]\nmust=x\nflag=maybe\n",
    gp_preset_error_quark, GP_PRESET_ERROR_BAD_VALUE,
    "[options] flag: 'maybe' is not a boolean (true or false)" },
  { "/preset/validate/bad-enum", "[pipeline]\nstages=options\n[options]\nmust=x\nmode=medium\n",
    gp_preset_error_quark, GP_PRESET_ERROR_BAD_VALUE,
    "[options] mode: 'medium' is not one of: fast, slow" },
  { "/preset/validate/empty-path", "[pipeline]\nstages=options\n[options]\nmust=x\ndir=\n",
    gp_preset_error_quark, GP_PRESET_ERROR_BAD_VALUE, "[options] dir: empty path" },
  { "/preset/validate/required-missing", "[pipeline]\nstages=options\n",
    gp_preset_error_quark, GP_PRESET_ERROR_BAD_VALUE,
    "[options] must: required option not set" },
  { "/preset/validate/undefined-variable",
    "[pipeline]\nstages=options\n[options]\nmust=${nope}/x\n",
    gp_preset_error_quark, GP_PRESET_ERROR_UNDEFINED_VARIABLE,
    "[options] must: undefined variable ${nope}" },
  { "/preset/validate/undefined-in-default", "[pipeline]\nstages=options\n[options]\nmust=x\n",
    gp_preset_error_quark, GP_PRESET_ERROR_UNDEFINED_VARIABLE,
    "[options] dir (default): undefined variable ${root}", TRUE },
  { "/preset/validate/unterminated-reference",
    "[pipeline]\nstages=options\n[options]\nmust=${root\n",
    gp_preset_error_quark, GP_PRESET_ERROR_BAD_VALUE,
    "[options] must: malformed variable reference at offset 0" },
  { "/preset/validate/stray-dollar", "[pipeline]\nstages=options\n[options]\nmust=a$b\n",
    gp_preset_error_quark, GP_PRESET_ERROR_BAD_VALUE,
    "[options] must: stray '$' at offset 1 (write $$ for a literal $)" },
  { "/preset/validate/unmet-requires", "[pipeline]\nstages=consumer\n",
    gp_preset_error_quark, GP_PRESET_ERROR_UNMET_REQUIRES,
    "[pipeline] stages: stage 'consumer' requires 'words', which neither the core "
    "nor an earlier stage provides" },
  { "/preset/validate/requires-from-later-stage", "[pipeline]\nstages=consumer;producer\n",
    gp_preset_error_quark, GP_PRESET_ERROR_UNMET_REQUIRES,
    "[pipeline] stages: stage 'consumer' requires 'words'" },
  { "/preset/validate/unmet-requires-second", "[pipeline]\nstages=needs-missing\n",
    gp_preset_error_quark, GP_PRESET_ERROR_UNMET_REQUIRES,
    "[pipeline] stages: stage 'needs-missing' requires 'unobtainium'" },
  { "/preset/validate/broken-module", "[pipeline]\nstages=good;abi-mismatch\n",
    gp_loader_error_quark, GP_LOADER_ERROR_ABI_MISMATCH,
    "[pipeline] stages: stage 'abi-mismatch': " },
};

static GpLoader *
test_loader_new (void)
{
  g_autofree char *modules = gp_test_modules_dir ();
  const char *dirs[] = { modules, NULL };
  return gp_loader_new (dirs);
}

static GpContext *
test_context_new (gboolean with_root)
{
  GpContext *ctx = gp_context_new ();
  if (with_root)
    gp_context_set_variable (ctx, "root", "/data");
  gp_context_set_variable (ctx, "driver", "vfs");
  return ctx;
}

/* Loads and validates text; returns the pipeline or NULL with error. */
static GpPipeline *
build (const char *text, GpContext *ctx, GError **error)
{
  g_autoptr (GpPreset) preset = gp_preset_load_data (text, -1, FILE_NAME, error);
  if (preset == NULL)
    return NULL;
  g_autoptr (GpLoader) loader = test_loader_new ();
  return gp_pipeline_new (preset, loader, ctx, error);
}

static void
test_validate_error (gconstpointer data)
{
  const ValidateCase *tc = data;
  g_autoptr (GpContext) ctx = test_context_new (!tc->no_root);
  g_autoptr (GError) error = NULL;
  g_autoptr (GpPipeline) pipeline = build (tc->text, ctx, &error);

  g_assert_null (pipeline);
  g_assert_error (error, tc->domain (), tc->code);
  g_test_message ("%s", error->message);
  g_autofree char *expected = g_strconcat (FILE_NAME ": ", tc->message, NULL);
  g_assert_true (g_str_has_prefix (error->message, expected));
}

typedef struct {
  const char *text;
  const char *expected;
} ExpandCase;

static void
test_expand (void)
{
  static const ExpandCase cases[] = {
    { "", "" },
    { "plain", "plain" },
    { "${root}", "/data" },
    { "${root}/image/${driver}", "/data/image/vfs" },
    { "$$", "$" },
    { "$${root}", "${root}" },
    { "a$$b$$$$", "a$b$$" },
    { "${with-dash_1}", "ok" },
    { "${indirect}", "${root}" },  /* values are not expanded again */
    { "${source:-docker-store}", "docker-store" },
    { "${root:-/elsewhere}/x", "/data/x" },
    { "${unset:-}", "" },
    { "a${unset:-b c:-d}e", "ab c:-de" },
  };
  g_autoptr (GpContext) ctx = test_context_new (TRUE);
  gp_context_set_variable (ctx, "with-dash_1", "ok");
  gp_context_set_variable (ctx, "indirect", "${root}");

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *out = gp_expand_variables (cases[i].text, ctx, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (out, ==, cases[i].expected);
    }

  static const char *const bad[] = { "${}", "${a b}", "$", "x$y", "${root",
                                     "${:-x}", "${a:-b", "${a:-$b}", "${a:x}" };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *out = gp_expand_variables (bad[i], ctx, &error);
      g_assert_null (out);
      g_assert_error (error, GP_PRESET_ERROR, GP_PRESET_ERROR_BAD_VALUE);
    }
}

static void
test_resolve_options (void)
{
  g_autoptr (GpContext) ctx = test_context_new (TRUE);
  g_autoptr (GError) error = NULL;
  g_autoptr (GpPipeline) pipeline = build (
    "[pipeline]\nstages=options\n"
    "[options]\nmust=${driver}-$$\ncount=-5\nflag=yes\ndir=rel/./path\nmode=slow\n",
    ctx, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (gp_pipeline_get_n_stages (pipeline), ==, 1);
  GpStage *stage = gp_pipeline_get_stage (pipeline, 0);
  g_assert_cmpstr (gp_stage_get_name (stage), ==, "options");
  g_assert_cmpstr (gp_stage_get_string (stage, "must"), ==, "vfs-$");
  g_assert_cmpint (gp_stage_get_int (stage, "count"), ==, -5);
  g_assert_true (gp_stage_get_bool (stage, "flag"));
  g_assert_cmpstr (gp_stage_get_string (stage, "flag"), ==, "true");
  g_autofree char *cwd = g_get_current_dir ();
  g_autofree char *dir = g_build_filename (cwd, "rel", "path", NULL);
  g_assert_cmpstr (gp_stage_get_string (stage, "dir"), ==, dir);
  g_assert_cmpstr (gp_stage_get_string (stage, "mode"), ==, "slow");
  g_assert_false (gp_stage_option_is_default (stage, "mode"));
  /* Defaults */
  g_assert_cmpstr (gp_stage_get_string (stage, "text"), ==, "hello");
  g_assert_true (gp_stage_option_is_default (stage, "text"));
  g_assert_null (gp_stage_get_string (stage, "maybe"));
}

static void
test_resolve_defaults (void)
{
  g_autoptr (GpContext) ctx = test_context_new (TRUE);
  g_autoptr (GError) error = NULL;
  g_autoptr (GpPipeline) pipeline = build (
    "[pipeline]\nstages=options\n[options]\nmust=-\nmaybe=\n", ctx, &error);

  g_assert_no_error (error);
  GpStage *stage = gp_pipeline_get_stage (pipeline, 0);
  g_assert_cmpint (gp_stage_get_int (stage, "count"), ==, 3);
  g_assert_false (gp_stage_get_bool (stage, "flag"));
  g_assert_cmpstr (gp_stage_get_string (stage, "dir"), ==, "/data/sub");
  g_assert_cmpstr (gp_stage_get_string (stage, "mode"), ==, "fast");
  g_assert_cmpstr (gp_stage_get_string (stage, "must"), ==, "-");
  g_assert_cmpstr (gp_stage_get_string (stage, "maybe"), ==, "");
}

/* gp_stage_get_jobs(): the stage's `jobs` above 0, else the context's,
 * at most 256. */
static void
test_stage_jobs (void)
{
  static const struct {
    const char *jobs;
    guint context_jobs;
    guint expected;
  } cases[] = {
    { "0", 3, 3 }, { "-2", 5, 5 }, { "7", 3, 7 }, { "1000", 3, 256 }, { "0", 999, 256 },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GpContext) ctx = test_context_new (TRUE);
      g_autoptr (GError) error = NULL;
      g_autofree char *text = g_strdup_printf ("[pipeline]\nstages=options\n"
                                               "[options]\nmust=x\njobs=%s\n", cases[i].jobs);
      gp_context_set_jobs (ctx, cases[i].context_jobs);
      g_autoptr (GpPipeline) pipeline = build (text, ctx, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (gp_stage_get_jobs (gp_pipeline_get_stage (pipeline, 0), ctx), ==,
                        cases[i].expected);
    }
}

static void
test_path_dash (void)
{
  g_autoptr (GpContext) ctx = test_context_new (TRUE);
  g_autoptr (GError) error = NULL;
  g_autoptr (GpPipeline) pipeline = build (
    "[pipeline]\nstages=options\n[options]\nmust=x\ndir=-\n", ctx, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (gp_stage_get_string (gp_pipeline_get_stage (pipeline, 0), "dir"), ==, "-");
}

static void
test_preset_fields (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GpPreset) preset = gp_preset_load_data (
    "# comment\n[pipeline]\ndescription=Does things\nstages= order-a ; order-b;\n",
    -1, "some/dir/mine.conf", &error);

  g_assert_no_error (error);
  g_assert_cmpstr (gp_preset_get_name (preset), ==, "mine");
  g_assert_cmpstr (gp_preset_get_path (preset), ==, "some/dir/mine.conf");
  g_assert_cmpstr (gp_preset_get_description (preset), ==, "Does things");
  const char *const *stages = gp_preset_get_stages (preset);
  g_assert_cmpstr (stages[0], ==, "order-a");
  g_assert_cmpstr (stages[1], ==, "order-b");
  g_assert_null (stages[2]);
}

static void
test_lookup (void)
{
  g_autofree char *tmp = gp_test_make_tmpdir ();
  g_autofree char *file = gp_test_write_file (tmp, "mine.conf",
                                              "[pipeline]\ndescription=Mine\nstages=good\n");
  g_autoptr (GError) error = NULL;

  /* A path */
  {
    g_autoptr (GpPreset) p = gp_preset_lookup (file, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (gp_preset_get_name (p), ==, "mine");
  }
  /* A missing path */
  {
    g_autofree char *missing = g_build_filename (tmp, "missing.conf", NULL);
    g_autoptr (GpPreset) p = gp_preset_lookup (missing, &error);
    g_assert_null (p);
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
    g_assert_true (g_str_has_prefix (error->message, missing));
    g_clear_error (&error);
  }
  /* A name: not found without GRAPHPIPE_PRESET_PATH */
  {
    g_autoptr (GpPreset) p = gp_preset_lookup ("mine", &error);
    g_assert_null (p);
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
    g_assert_true (g_str_has_prefix (error->message, "preset 'mine' not found"));
    g_clear_error (&error);
  }
  /* ... found with it */
  g_setenv ("GRAPHPIPE_PRESET_PATH", tmp, TRUE);
  {
    g_autoptr (GpPreset) p = gp_preset_lookup ("mine", &error);
    g_assert_no_error (error);
    g_assert_cmpstr (gp_preset_get_path (p), ==, file);
  }
  /* The source tree's presets, since tests run uninstalled */
  {
    g_autoptr (GpPreset) p = gp_preset_lookup ("example", &error);
    g_assert_no_error (error);
    g_autofree char *src = g_test_build_filename (G_TEST_DIST, "..", "data", "presets",
                                                  "example.conf", NULL);
    g_autofree char *canon = g_canonicalize_filename (src, NULL);
    g_assert_cmpstr (gp_preset_get_path (p), ==, canon);
  }
  /* Listing finds both */
  {
    g_autoptr (GPtrArray) errors = NULL;
    g_autoptr (GPtrArray) list = gp_preset_list (&errors);
    g_assert_cmpuint (errors->len, ==, 0);
    g_assert_cmpuint (list->len, >=, 2);
    gboolean mine = FALSE, example = FALSE;
    for (guint i = 0; i < list->len; i++)
      {
        mine |= strcmp (gp_preset_get_name (list->pdata[i]), "mine") == 0;
        example |= strcmp (gp_preset_get_name (list->pdata[i]), "example") == 0;
      }
    g_assert_true (mine && example);
  }
  g_unsetenv ("GRAPHPIPE_PRESET_PATH");
  gp_test_rm_rf (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_unsetenv ("GRAPHPIPE_PRESET_PATH");

  for (gsize i = 0; i < G_N_ELEMENTS (validate_cases); i++)
    g_test_add_data_func (validate_cases[i].path, &validate_cases[i], test_validate_error);
  g_test_add_func ("/preset/variables/expand", test_expand);
  g_test_add_func ("/preset/options/resolve", test_resolve_options);
  g_test_add_func ("/preset/options/defaults", test_resolve_defaults);
  g_test_add_func ("/preset/options/path-dash", test_path_dash);
  g_test_add_func ("/preset/options/jobs", test_stage_jobs);
  g_test_add_func ("/preset/parse/fields", test_preset_fields);
  g_test_add_func ("/preset/lookup/search", test_lookup);
  return g_test_run ();
}
