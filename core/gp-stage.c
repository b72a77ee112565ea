/* graphpipe - stage instances: a descriptor plus resolved option values. */
#include "config.h"

#include "gp-stage.h"
#include "gp-stage-private.h"

struct _GpStage {
  const GpStageDesc *desc;
  char *module_path;
  GHashTable *values;     /* key -> resolved value text */
  GHashTable *defaulted;  /* keys whose value is the default */
  gpointer data;
  GDestroyNotify data_destroy;
};

GpStage *
_gp_stage_new (const GpStageDesc *desc, const char *module_path)
{
  GpStage *stage = g_new0 (GpStage, 1);

  stage->desc = desc;
  stage->module_path = g_strdup (module_path);
  stage->values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  stage->defaulted = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  return stage;
}

void
_gp_stage_free (GpStage *stage)
{
  if (stage == NULL)
    return;
  if (stage->data_destroy != NULL)
    stage->data_destroy (stage->data);
  g_hash_table_unref (stage->values);
  g_hash_table_unref (stage->defaulted);
  g_free (stage->module_path);
  g_free (stage);
}

void
_gp_stage_set_value (GpStage *stage, const char *key, const char *value,
                     gboolean is_default)
{
  g_hash_table_insert (stage->values, g_strdup (key), g_strdup (value));
  if (is_default)
    g_hash_table_add (stage->defaulted, g_strdup (key));
  else
    g_hash_table_remove (stage->defaulted, key);
}

const GpOption *
_gp_stage_desc_find_option (const GpStageDesc *desc, const char *key)
{
  if (desc->options == NULL)
    return NULL;
  for (const GpOption *o = desc->options; o->key != NULL; o++)
    if (strcmp (o->key, key) == 0)
      return o;
  return NULL;
}

gboolean
_gp_option_parse_bool (const char *text, gboolean *out_value)
{
  static const struct {
    const char *text;
    gboolean value;
  } words[] = {
    { "true", TRUE }, { "yes", TRUE }, { "1", TRUE },
    { "false", FALSE }, { "no", FALSE }, { "0", FALSE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (words); i++)
    if (strcmp (text, words[i].text) == 0)
      {
        *out_value = words[i].value;
        return TRUE;
      }
  return FALSE;
}

gboolean
_gp_option_parse_int (const char *text, gint64 *out_value)
{
  gint64 value;

  if (!g_ascii_string_to_signed (text, 10, G_MININT64, G_MAXINT64, &value, NULL))
    return FALSE;
  *out_value = value;
  return TRUE;
}

/**
 * gp_option_type_to_string:
 * @type: an option type
 *
 * Returns: (transfer none): `string`, `int`, `bool`, `path`, `enum`, or
 *   `invalid`
 *
 * Since: 0.1
 */
const char *
gp_option_type_to_string (GpOptionType type)
{
  switch (type)
    {
    case GP_OPTION_STRING:
      return "string";
    case GP_OPTION_INT:
      return "int";
    case GP_OPTION_BOOL:
      return "bool";
    case GP_OPTION_PATH:
      return "path";
    case GP_OPTION_ENUM:
      return "enum";
    }
  return "invalid";
}

/**
 * gp_stage_get_desc:
 * @stage: a stage instance
 *
 * Returns: (transfer none): the stage's descriptor
 *
 * Since: 0.1
 */
const GpStageDesc *
gp_stage_get_desc (GpStage *stage)
{
  g_return_val_if_fail (stage != NULL, NULL);
  return stage->desc;
}

/**
 * gp_stage_get_name:
 * @stage: a stage instance
 *
 * Returns: (transfer none): the stage's name
 *
 * Since: 0.1
 */
const char *
gp_stage_get_name (GpStage *stage)
{
  g_return_val_if_fail (stage != NULL, NULL);
  return stage->desc->name;
}

/**
 * gp_stage_get_module_path:
 * @stage: a stage instance
 *
 * Returns: (transfer none): the file the stage was loaded from
 *
 * Since: 0.1
 */
const char *
gp_stage_get_module_path (GpStage *stage)
{
  g_return_val_if_fail (stage != NULL, NULL);
  return stage->module_path;
}

static const GpOption *
lookup_option (GpStage *stage, const char *key, const char *func)
{
  const GpOption *option = _gp_stage_desc_find_option (stage->desc, key);

  if (option == NULL)
    g_critical ("%s: stage '%s' has no option '%s'", func, stage->desc->name, key);
  return option;
}

/* The value text of @key, an option of @type (@what names the type in
 * the message); %NULL when it has none, or, with a critical, when the
 * stage has no such option or it is of another type. */
static const char *
typed_value (GpStage *stage, const char *key, GpOptionType type, const char *what,
             const char *func)
{
  const GpOption *option = lookup_option (stage, key, func);
  if (option == NULL)
    return NULL;
  if (option->type != type)
    {
      g_critical ("%s: option '%s' of stage '%s' is not %s", func, key, stage->desc->name, what);
      return NULL;
    }
  return g_hash_table_lookup (stage->values, key);
}

/**
 * gp_stage_get_string:
 * @stage: a stage instance
 * @key: one of the stage's option keys
 *
 * The resolved value of an option of any type, as text: variables
 * substituted, paths made absolute.  Asking for a key the stage does not
 * declare is a programmer error.
 *
 * Returns: (nullable) (transfer none): the value, owned by @stage; %NULL
 *   when the option has neither a value nor a default
 *
 * Since: 0.1
 */
const char *
gp_stage_get_string (GpStage *stage, const char *key)
{
  g_return_val_if_fail (stage != NULL, NULL);
  g_return_val_if_fail (key != NULL, NULL);
  if (lookup_option (stage, key, G_STRFUNC) == NULL)
    return NULL;
  return g_hash_table_lookup (stage->values, key);
}

/**
 * gp_stage_get_int:
 * @stage: a stage instance
 * @key: the key of a %GP_OPTION_INT option
 *
 * Returns: the option's value; 0 when it has none
 *
 * Since: 0.1
 */
gint64
gp_stage_get_int (GpStage *stage, const char *key)
{
  g_return_val_if_fail (stage != NULL, 0);
  g_return_val_if_fail (key != NULL, 0);
  const char *text = typed_value (stage, key, GP_OPTION_INT, "an int", G_STRFUNC);
  gint64 value = 0;
  if (text != NULL)
    _gp_option_parse_int (text, &value);
  return value;
}

/**
 * gp_stage_get_bool:
 * @stage: a stage instance
 * @key: the key of a %GP_OPTION_BOOL option
 *
 * Returns: the option's value; %FALSE when it has none
 *
 * Since: 0.1
 */
gboolean
gp_stage_get_bool (GpStage *stage, const char *key)
{
  g_return_val_if_fail (stage != NULL, FALSE);
  g_return_val_if_fail (key != NULL, FALSE);
  const char *text = typed_value (stage, key, GP_OPTION_BOOL, "a bool", G_STRFUNC);
  gboolean value = FALSE;
  if (text != NULL)
    _gp_option_parse_bool (text, &value);
  return value;
}

/**
 * gp_stage_option_is_default:
 * @stage: a stage instance
 * @key: an option key
 *
 * Returns: %TRUE if the option's value comes from its default rather than
 *   from the preset
 *
 * Since: 0.1
 */
gboolean
gp_stage_option_is_default (GpStage *stage, const char *key)
{
  g_return_val_if_fail (stage != NULL, FALSE);
  g_return_val_if_fail (key != NULL, FALSE);
  return g_hash_table_contains (stage->defaulted, key)
         || !g_hash_table_contains (stage->values, key);
}

/**
 * gp_stage_get_jobs:
 * @stage: a stage instance with a %GP_OPTION_INT option `jobs`
 * @ctx: the run's context
 *
 * How many worker threads the stage should use: its `jobs` option when it
 * is above 0, else gp_context_get_jobs() (`--jobs`, by default the number
 * of processors); never more than 256.  A negative `jobs` is the stage's
 * to refuse in its prepare function.
 *
 * Returns: the number of threads, 1 to 256
 *
 * Since: 0.2
 */
guint
gp_stage_get_jobs (GpStage *stage, GpContext *ctx)
{
  g_return_val_if_fail (stage != NULL, 1);
  g_return_val_if_fail (ctx != NULL, 1);
  gint64 jobs = gp_stage_get_int (stage, "jobs");
  if (jobs <= 0)
    jobs = gp_context_get_jobs (ctx);
  return (guint) CLAMP (jobs, 1, 256);
}

/**
 * gp_stage_set_data:
 * @stage: a stage instance
 * @data: (nullable): per-instance data, e.g. from prepare for run
 * @destroy: (nullable): frees @data when replaced or when the pipeline is
 *   freed
 *
 * Keeps data with this stage instance (replacing and destroying earlier
 * data).  Data meant for other stages belongs in a context slot.
 *
 * Since: 0.1
 */
void
gp_stage_set_data (GpStage *stage, gpointer data, GDestroyNotify destroy)
{
  g_return_if_fail (stage != NULL);
  gpointer old = stage->data;
  GDestroyNotify old_destroy = stage->data_destroy;

  stage->data = data;
  stage->data_destroy = destroy;
  if (old_destroy != NULL)
    old_destroy (old);
}

/**
 * gp_stage_get_data:
 * @stage: a stage instance
 *
 * Returns: (nullable) (transfer none): the data set with
 *   gp_stage_set_data()
 *
 * Since: 0.1
 */
gpointer
gp_stage_get_data (GpStage *stage)
{
  g_return_val_if_fail (stage != NULL, NULL);
  return stage->data;
}
