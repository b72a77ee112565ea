/* graphpipe - error domains and codes. */
#pragma once

#include "gp-macros.h"

G_BEGIN_DECLS

/**
 * GpLoaderError:
 * @GP_LOADER_ERROR_NOT_FOUND: no module file of that name in the search path
 * @GP_LOADER_ERROR_NOT_MODULE: the file is not a loadable shared object
 * @GP_LOADER_ERROR_NO_SYMBOL: the module lacks the descriptor getter symbol
 * @GP_LOADER_ERROR_ABI_MISMATCH: built for another stage ABI version
 * @GP_LOADER_ERROR_INVALID_DESCRIPTOR: a descriptor field is missing or wrong
 * @GP_LOADER_ERROR_DUPLICATE: two modules declare the same stage name
 *
 * Errors from loading stage plugins.  Messages name the file.
 */
typedef enum {
  GP_LOADER_ERROR_NOT_FOUND,
  GP_LOADER_ERROR_NOT_MODULE,
  GP_LOADER_ERROR_NO_SYMBOL,
  GP_LOADER_ERROR_ABI_MISMATCH,
  GP_LOADER_ERROR_INVALID_DESCRIPTOR,
  GP_LOADER_ERROR_DUPLICATE,
} GpLoaderError;

/**
 * GpPresetError:
 * @GP_PRESET_ERROR_PARSE: the preset file is not a valid key file
 * @GP_PRESET_ERROR_UNKNOWN_STAGE: a stage named in the pipeline is not found
 * @GP_PRESET_ERROR_UNKNOWN_OPTION: a key the stage does not accept
 * @GP_PRESET_ERROR_BAD_VALUE: a value of the wrong type or out of range
 * @GP_PRESET_ERROR_UNMET_REQUIRES: a required capability nobody provides
 * @GP_PRESET_ERROR_UNDEFINED_VARIABLE: `${var}` with no value
 *
 * Errors from reading and validating preset pipelines.  Messages name the
 * file, the group and the key.
 */
typedef enum {
  GP_PRESET_ERROR_PARSE,
  GP_PRESET_ERROR_UNKNOWN_STAGE,
  GP_PRESET_ERROR_UNKNOWN_OPTION,
  GP_PRESET_ERROR_BAD_VALUE,
  GP_PRESET_ERROR_UNMET_REQUIRES,
  GP_PRESET_ERROR_UNDEFINED_VARIABLE,
} GpPresetError;

/**
 * GpDataError:
 * @GP_DATA_ERROR_INVALID: malformed input not covered by a finer code
 * @GP_DATA_ERROR_JSON: JSON syntax error or a value of the wrong type
 * @GP_DATA_ERROR_DIGEST: not a valid digest string or v1 ID
 * @GP_DATA_ERROR_GZIP: corrupt gzip stream
 * @GP_DATA_ERROR_TARSPLIT: malformed tar-split entry stream
 * @GP_DATA_ERROR_TAR: malformed tar stream
 * @GP_DATA_ERROR_CRC: a file's CRC-64 differs from the tar-split record
 * @GP_DATA_ERROR_SIZE: a file or value is shorter, longer or larger than recorded or allowed
 * @GP_DATA_ERROR_UNSAFE_PATH: a name would leave its base directory
 * @GP_DATA_ERROR_NOT_REGULAR: a regular file was expected (FIFO, device, symlink, directory…)
 * @GP_DATA_ERROR_MISSING: a file or record that must exist does not
 * @GP_DATA_ERROR_CYCLE: a parent chain loops
 * @GP_DATA_ERROR_VERIFY: recomputed digest differs from the recorded one
 * @GP_DATA_ERROR_UNSUPPORTED: valid but not supported (driver, format)
 * @GP_DATA_ERROR_REFERENCE: invalid repository name, tag or reference
 * @GP_DATA_ERROR_CONFLICT: a record exists with different content
 *
 * Errors caused by the data being read (a data root, a tar, a JSON file).
 * Messages name the file and the problem.
 */
typedef enum {
  GP_DATA_ERROR_INVALID,
  GP_DATA_ERROR_JSON,
  GP_DATA_ERROR_DIGEST,
  GP_DATA_ERROR_GZIP,
  GP_DATA_ERROR_TARSPLIT,
  GP_DATA_ERROR_TAR,
  GP_DATA_ERROR_CRC,
  GP_DATA_ERROR_SIZE,
  GP_DATA_ERROR_UNSAFE_PATH,
  GP_DATA_ERROR_NOT_REGULAR,
  GP_DATA_ERROR_MISSING,
  GP_DATA_ERROR_CYCLE,
  GP_DATA_ERROR_VERIFY,
  GP_DATA_ERROR_UNSUPPORTED,
  GP_DATA_ERROR_REFERENCE,
  GP_DATA_ERROR_CONFLICT,
} GpDataError;

#define GP_LOADER_ERROR (gp_loader_error_quark ())
#define GP_PRESET_ERROR (gp_preset_error_quark ())
#define GP_DATA_ERROR (gp_data_error_quark ())

GP_API GQuark gp_loader_error_quark (void);
GP_API GQuark gp_preset_error_quark (void);
GP_API GQuark gp_data_error_quark (void);

G_END_DECLS
