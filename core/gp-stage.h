/* graphpipe - the stage plugin ABI.
 *
 * A stage module (`<name>.so`) exports exactly one symbol,
 * GP_STAGE_SYMBOL, a function returning a pointer to a constant
 * #GpStageDesc.  GP_STAGE_DEFINE() writes both:
 *
 *   static const GpOption options[] = {
 *     { .key = "path", .type = GP_OPTION_PATH, .default_value = "${root}",
 *       .help = "Directory to walk" },
 *     { .key = "sort", .type = GP_OPTION_ENUM, .default_value = "name",
 *       .choices = GP_STAGE_STRV ("name", "bytes"), .help = "Order" },
 *     { NULL }
 *   };
 *
 *   GP_STAGE_DEFINE (
 *     .name = "example",
 *     .description = "Count files and bytes per top-level directory",
 *     .requires = GP_STAGE_STRV ("root"),
 *     .provides = GP_STAGE_STRV ("example-counts"),
 *     .options = options,
 *     .prepare = example_prepare,
 *     .run = example_run)
 *
 * The ABI version is the first field, so the loader checks it before it
 * trusts anything else; new fields are only ever added at the end, taken
 * from the reserved tail.
 */
#pragma once

#include "gp-macros.h"
#include "gp-context.h"

G_BEGIN_DECLS

/**
 * GP_STAGE_ABI_VERSION:
 *
 * The stage ABI this graphpipe implements.  A module built for another
 * version is refused.
 */
#define GP_STAGE_ABI_VERSION 1

/**
 * GP_STAGE_SYMBOL:
 *
 * The name of the one symbol a stage module exports.
 */
#define GP_STAGE_SYMBOL "gp_stage_get_descriptor"

/**
 * GpOptionType:
 * @GP_OPTION_STRING: any text
 * @GP_OPTION_INT: a decimal 64-bit signed integer
 * @GP_OPTION_BOOL: `true` or `false` (also `yes`/`no`, `1`/`0`)
 * @GP_OPTION_PATH: a non-empty file name; a relative one is made absolute
 *   against the working directory, `-` is kept as is (standard stream)
 * @GP_OPTION_ENUM: one of the option's @choices
 *
 * Option value types; values are checked before any stage runs.
 */
typedef enum {
  GP_OPTION_STRING = 1,
  GP_OPTION_INT,
  GP_OPTION_BOOL,
  GP_OPTION_PATH,
  GP_OPTION_ENUM,
} GpOptionType;

/**
 * GpOptionFlags:
 * @GP_OPTION_FLAG_NONE: no flag
 * @GP_OPTION_FLAG_REQUIRED: the preset must give a value (the option has
 *   no default)
 *
 * Flags of a #GpOption.
 */
typedef enum {
  GP_OPTION_FLAG_NONE = 0,
  GP_OPTION_FLAG_REQUIRED = 1 << 0,
} GpOptionFlags;

/**
 * GpOption:
 * @key: the key in the stage's preset group (lowercase-hyphenated)
 * @type: the value type
 * @default_value: (nullable): default as text, may use `${var}`; %NULL
 *   for none (gp_stage_get_string() then returns %NULL)
 * @help: one line for `graphpipe stages NAME`
 * @choices: for %GP_OPTION_ENUM, the allowed values, %NULL-terminated
 * @flags: #GpOptionFlags
 *
 * One option a stage accepts.  The options array ends with a zeroed entry.
 */
typedef struct {
  const char *key;
  GpOptionType type;
  const char *default_value;
  const char *help;
  const char *const *choices;
  guint flags;
  /*< private >*/
  gpointer reserved[2];
} GpOption;

typedef struct _GpStage GpStage;

/**
 * GpStagePrepareFunc:
 * @stage: the stage instance (options resolved)
 * @ctx: the run's context
 * @error: return location for a #GError
 *
 * Checks the options and the context before anything runs; called for
 * every stage of a pipeline before the first stage runs.  Must not write
 * anything.  May keep per-instance data with gp_stage_set_data().
 *
 * Returns: %TRUE on success, %FALSE with @error set
 */
typedef gboolean (*GpStagePrepareFunc) (GpStage *stage, GpContext *ctx, GError **error);

/**
 * GpStageRunFunc:
 * @stage: the stage instance
 * @ctx: the run's context
 * @error: return location for a #GError
 *
 * Does the stage's work: reports through gp_context_emit() and friends,
 * checks gp_context_set_error_if_cancelled() at safe points and returns
 * %G_IO_ERROR_CANCELLED when cancelled.
 *
 * Returns: %TRUE on success, %FALSE with @error set
 */
typedef gboolean (*GpStageRunFunc) (GpStage *stage, GpContext *ctx, GError **error);

/**
 * GpStageDesc:
 * @abi_version: %GP_STAGE_ABI_VERSION, always first
 * @name: the stage's name, equal to the module's basename
 * @description: one line
 * @requires: (nullable): capabilities needed from the core or an earlier
 *   stage, %NULL-terminated
 * @provides: (nullable): capabilities provided to later stages
 * @options: (nullable): accepted options, ending with a zeroed entry
 * @prepare: (nullable): validation before anything runs
 * @run: the work
 *
 * A stage's constant descriptor.  Write it with GP_STAGE_DEFINE().
 */
typedef struct {
  guint32 abi_version;
  const char *name;
  const char *description;
  const char *const *requires;
  const char *const *provides;
  const GpOption *options;
  GpStagePrepareFunc prepare;
  GpStageRunFunc run;
  /*< private >*/
  gpointer reserved[8];
} GpStageDesc;

/**
 * GpStageGetDescriptorFunc:
 *
 * The type of the exported getter.
 *
 * Returns: (transfer none): the module's descriptor
 */
typedef const GpStageDesc *(*GpStageGetDescriptorFunc) (void);

/**
 * GP_STAGE_STRV:
 * @...: string literals
 *
 * A constant %NULL-terminated string array for @requires, @provides and
 * @choices.
 */
#define GP_STAGE_STRV(...) ((const char *const[]) { __VA_ARGS__, NULL })

#if defined(__GNUC__)
#define GP_STAGE_EXPORT __attribute__((visibility ("default")))
#else
#define GP_STAGE_EXPORT
#endif

/**
 * GP_STAGE_DEFINE:
 * @...: designated initialisers for the #GpStageDesc fields other than
 *   @abi_version (`.name = "x", .run = x_run, ...`)
 *
 * Writes the module's static constant descriptor and the one exported
 * getter, GP_STAGE_SYMBOL.  Use once per module, at file scope.
 */
#define GP_STAGE_DEFINE(...)                                                 \
  static const GpStageDesc gp_stage_descriptor_ = {                          \
    .abi_version = GP_STAGE_ABI_VERSION,                                     \
    __VA_ARGS__                                                              \
  };                                                                         \
  GP_STAGE_EXPORT const GpStageDesc *gp_stage_get_descriptor (void);         \
  GP_STAGE_EXPORT const GpStageDesc *                                        \
  gp_stage_get_descriptor (void)                                             \
  {                                                                          \
    return &gp_stage_descriptor_;                                            \
  }

GP_API const char *gp_option_type_to_string (GpOptionType type);

GP_API const GpStageDesc *gp_stage_get_desc (GpStage *stage);
GP_API const char *gp_stage_get_name (GpStage *stage);
GP_API const char *gp_stage_get_module_path (GpStage *stage);
GP_API const char *gp_stage_get_string (GpStage *stage, const char *key);
GP_API gint64 gp_stage_get_int (GpStage *stage, const char *key);
GP_API gboolean gp_stage_get_bool (GpStage *stage, const char *key);
GP_API gboolean gp_stage_option_is_default (GpStage *stage, const char *key);
GP_API guint gp_stage_get_jobs (GpStage *stage, GpContext *ctx);
GP_API void gp_stage_set_data (GpStage *stage, gpointer data, GDestroyNotify destroy);
GP_API gpointer gp_stage_get_data (GpStage *stage);

G_END_DECLS
