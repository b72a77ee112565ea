/* graphpipe - tar-split reassembly: entries + layer files -> tar (§3.4). */
#include "config.h"

#include "gp-tarsplit.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gp-crc64.h"
#include "gp-error.h"

#define COPY_CHUNK (1024 * 1024)

typedef struct {
  GpWriteFunc write;
  gpointer write_data;
  GpSha256 sha;
  guint64 n;
} Out;

static gboolean
out_write (Out *o, const void *buf, gsize len, GError **error)
{
  gp_sha256_update (&o->sha, buf, len);
  o->n += len;
  if (o->write && len > 0)
    return o->write (o->write_data, buf, len, error);
  return TRUE;
}

static char *
printable_name (const GpTarSplitEntry *e)
{
  return g_strndup (e->name, e->name_len);
}

static gboolean
copy_file (const GpTarSplitEntry *e, int fd, guint8 *buf, Out *o, GCancellable *cancellable, GError **error)
{
  guint64 crc = 0;
  gint64 left = e->size;
  struct stat st;

  /* The length check comes first, so a file of the wrong length is
   * reported as such rather than as a checksum mismatch. */
  if (fstat (fd, &st) == 0 && S_ISREG (st.st_mode) && st.st_size != e->size)
    {
      g_autofree char *nm = printable_name (e);
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_SIZE,
                   "file \"%s\" is %s than recorded: %" G_GINT64_FORMAT " bytes instead of %" G_GINT64_FORMAT,
                   nm, st.st_size < e->size ? "shorter" : "longer", (gint64) st.st_size, e->size);
      return FALSE;
    }

  for (;;)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      /* read one byte past the recorded size to notice a longer file */
      gsize want = left > 0 ? (gsize) MIN ((gint64) COPY_CHUNK, left) : 1;
      gssize n = read (fd, buf, want);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          int err = errno;
          g_autofree char *nm = printable_name (e);
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (err),
                       "reading file \"%s\": %s", nm, g_strerror (err));
          return FALSE;
        }
      if (n == 0)
        {
          if (left > 0)
            {
              g_autofree char *nm = printable_name (e);
              g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_SIZE,
                           "file \"%s\" is shorter than recorded: %" G_GINT64_FORMAT " bytes instead of %" G_GINT64_FORMAT,
                           nm, e->size - left, e->size);
              return FALSE;
            }
          break;
        }
      if (left == 0)
        {
          g_autofree char *nm = printable_name (e);
          g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_SIZE,
                       "file \"%s\" is longer than recorded (%" G_GINT64_FORMAT " bytes)", nm, e->size);
          return FALSE;
        }
      crc = gp_crc64_update (crc, buf, n);
      if (!out_write (o, buf, n, error))
        return FALSE;
      left -= n;
    }

  guint8 want_crc[8];
  gp_crc64_to_bytes (crc, want_crc);
  if (e->payload == NULL || e->payload_len != 8 || memcmp (want_crc, e->payload, 8) != 0)
    {
      g_autofree char *nm = printable_name (e);
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_CRC,
                   "file integrity checksum failed for \"%s\"", nm);
      return FALSE;
    }
  return TRUE;
}

/**
 * gp_tar_split_assemble:
 * @reader: entries to read (positioned at the start)
 * @open_file: opens a layer file by entry name; called only for file
 *   entries with size > 0, each returned fd is closed here
 * @open_data: data for @open_file
 * @write: (nullable): sink for the tar stream; %NULL to only measure
 * @write_data: data for @write
 * @cancellable: (nullable): checked between entries and between chunks
 * @out_stats: (out caller-allocates) (optional): tar size, entry size sum,
 *   entry count and DiffID, set on success only
 * @error: return location for a #GError
 *
 * Rebuilds the tar stream of §3.4: segments verbatim, each file entry of
 * size > 0 replaced by the file's content, whose length must equal the
 * recorded size (%GP_DATA_ERROR_SIZE otherwise, checked first) and whose
 * CRC-64 must equal the payload (%GP_DATA_ERROR_CRC, `file integrity
 * checksum failed for "<name>"`).  Reader errors pass through.  Memory use
 * is one 1 MiB buffer, independent of layer and file sizes.
 *
 * Returns: %TRUE on success; %FALSE with @error set (some output may have
 *   been written).
 *
 * Since: 0.1
 */
gboolean
gp_tar_split_assemble (GpTarSplitReader *reader, GpOpenFileFunc open_file, gpointer open_data,
                       GpWriteFunc write, gpointer write_data, GCancellable *cancellable,
                       GpTarSplitStats *out_stats, GError **error)
{
  Out o;
  g_autofree guint8 *buf = NULL;

  o.write = write;
  o.write_data = write_data;
  o.n = 0;
  gp_sha256_init (&o.sha);
  for (;;)
    {
      const GpTarSplitEntry *e;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      if (!gp_tar_split_reader_next (reader, &e, error))
        return FALSE;
      if (e == NULL)
        break;
      if (e->type == GP_TAR_SPLIT_ENTRY_SEGMENT)
        {
          if (e->payload_len > 0 && !out_write (&o, e->payload, e->payload_len, error))
            return FALSE;
          continue;
        }
      if (e->size == 0)
        continue;

      int fd = open_file (open_data, e->name, e->name_len, error);
      if (fd < 0)
        return FALSE;
      if (buf == NULL)
        buf = g_malloc (COPY_CHUNK);
      gboolean ok = copy_file (e, fd, buf, &o, cancellable, error);
      close (fd);
      if (!ok)
        return FALSE;
    }

  if (out_stats)
    {
      out_stats->tar_size = o.n;
      out_stats->size = gp_tar_split_reader_get_size_sum (reader);
      out_stats->n_entries = gp_tar_split_reader_get_n_entries (reader);
      gp_sha256_finish_digest (&o.sha, out_stats->diff_id);
    }
  return TRUE;
}
