/* libFuzzer target: the tar-split entry stream reader (plain JSON lines,
 * and the same bytes as a gzip stream), then reassembly against an opener
 * that serves every file as empty. */
#include "config.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gp-tarsplit.h"

static int
memfd_with (const guint8 *data, size_t size)
{
  int fd = memfd_create ("fuzz", MFD_CLOEXEC);
  if (fd < 0)
    abort ();
  for (size_t off = 0; off < size;)
    {
      ssize_t n = write (fd, data + off, size - off);
      if (n <= 0)
        abort ();
      off += (size_t) n;
    }
  lseek (fd, 0, SEEK_SET);
  return fd;
}

static int
open_empty (gpointer user_data, const char *name, gsize name_len, GError **error)
{
  return memfd_create ("empty", MFD_CLOEXEC);
}

static gboolean
discard (gpointer user_data, const void *buf, gsize len, GError **error)
{
  return TRUE;
}

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  for (int flags = 0; flags < 2; flags++)
    {
      int fd = memfd_with (data, size);
      GpTarSplitFlags f = flags == 0 ? GP_TAR_SPLIT_FLAGS_PLAIN : GP_TAR_SPLIT_FLAGS_NONE;
      GpTarSplitReader *r = gp_tar_split_reader_new (fd, "fuzz", f);
      GError *error = NULL;
      GpTarSplitStats st;
      gp_tar_split_assemble (r, open_empty, NULL, discard, NULL, NULL, &st, &error);
      g_clear_error (&error);
      gp_tar_split_reader_free (r);
      close (fd);
    }
  return 0;
}
