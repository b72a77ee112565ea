/* The output file or stream of the save sinks (tar-export, oci-export):
 * an atomically published file or standard output (te-output.c).
 * Compiled into each of them (public API only). */
#pragma once

#include <graphpipe.h>

G_BEGIN_DECLS

typedef struct _TeOutput TeOutput;

gboolean te_output_check (const char *output, gboolean check_tty, GError **error);
char *te_output_temp_name (const char *dir, const char *base);
gboolean te_output_is_temp_of (const char *name, const char *base);
gboolean te_output_wants_gzip (const char *output, const char *compress);
TeOutput *te_output_open (const char *output, gboolean gzip, guint jobs,
                          GCancellable *cancellable, GError **error);
gboolean te_output_write (gpointer out, const void *buf, gsize len, GError **error);
guint64 te_output_get_bytes (TeOutput *out);
gboolean te_output_is_positioned (TeOutput *out);
gboolean te_output_reserve (TeOutput *out, guint64 len, guint64 *out_offset, GError **error);
gboolean te_output_pwrite (TeOutput *out, guint64 offset, const void *buf, gsize len,
                           GError **error);
gboolean te_output_can_copy (TeOutput *out);
gboolean te_output_copy (TeOutput *out, guint64 from, guint64 to, guint64 len,
                         GError **error);
void te_output_start_writeback (TeOutput *out, guint64 offset, guint64 len);
gboolean te_output_commit (TeOutput *out, GError **error);
void te_output_free (TeOutput *out);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TeOutput, te_output_free)

G_END_DECLS
