/* graphpipe - shared macros for the public headers.
 *
 * Every public sub-header includes this file first.  Third parties include
 * only <graphpipe.h>; the guard below refuses direct inclusion of a
 * sub-header unless graphpipe.h (GP_INSIDE_GRAPHPIPE_H) or the library's own
 * build (GP_COMPILATION) includes it.
 */
#pragma once

#if !defined(GP_INSIDE_GRAPHPIPE_H) && !defined(GP_COMPILATION)
#error "Only <graphpipe.h> can be included directly."
#endif

#include <glib.h>

/* GP_API marks a symbol exported from libgraphpipe (the library is built
 * with -fvisibility=hidden). */
#if defined(__GNUC__)
#define GP_API __attribute__((visibility("default"))) extern
#else
#define GP_API extern
#endif
