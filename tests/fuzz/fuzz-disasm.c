/* libFuzzer target: the push tar disassembler (tar bytes -> tar-split),
 * fed in uneven chunks; what it writes must read back. */
#include "config.h"

#include <string.h>

#include "gp-tarsplit.h"

static gboolean
collect (gpointer user_data, const void *buf, gsize len, GError **error)
{
  GByteArray *out = user_data;
  if (out->len + len > 64 * 1024 * 1024)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "fuzz output cap");
      return FALSE;
    }
  g_byte_array_append (out, buf, (guint) len);
  return TRUE;
}

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  GByteArray *out = g_byte_array_new ();
  GpTarSplitDisassembler *d = gp_tar_split_disassembler_new (collect, out, GP_TAR_SPLIT_FLAGS_PLAIN);
  GError *error = NULL;
  gboolean ok = TRUE;
  size_t step = 1;

  for (size_t off = 0; ok && off < size; off += step, step = step * 7 % 1021 + 1)
    ok = gp_tar_split_disassembler_push (d, data + off, MIN (step, size - off), &error);
  GpTarSplitStats st;
  if (ok)
    ok = gp_tar_split_disassembler_finish (d, &st, &error);
  g_clear_error (&error);
  gp_tar_split_disassembler_free (d);
  g_byte_array_unref (out);
  return 0;
}
