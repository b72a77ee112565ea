/* graphpipe - CRC-64 internals for tests. */
#pragma once

#include "gp-crc64.h"

G_BEGIN_DECLS

/* TRUE: gp_crc64_update() uses the slicing-by-16 tables even where the
 * CPU has carry-less multiply, so tests cover both paths. */
void _gp_crc64_set_table_only (gboolean table_only);
gboolean _gp_crc64_has_clmul (void);

G_END_DECLS
