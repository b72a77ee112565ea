/* graphpipe - tar-split entry stream writer (FORMATS.md §3.1, §3.2). */
#include "config.h"

#include "gp-tarsplit.h"
#include "gp-tarsplit-private.h"

#include <string.h>
#include <zlib.h>

#include "gp-error.h"
#include "gp-json.h"

#define FLUSH_AT (64 * 1024)

struct _GpTarSplitWriter {
  GpWriteFunc write;
  gpointer user_data;
  GpTarSplitFlags flags;
  z_stream zs;
  gboolean z_ready;
  gboolean header_done;
  gboolean finished;
  gboolean failed;
  guint32 crc;
  guint32 isize;
  GString *line;
  guint8 *zout;
  guint64 position;
  GHashTable *seen;
};

/**
 * gp_tar_split_writer_new:
 * @write: sink for the output bytes
 * @user_data: data for @write
 * @flags: %GP_TAR_SPLIT_FLAGS_PLAIN to write the JSON lines uncompressed;
 *   otherwise one gzip member with Go's header bytes
 *   `1f 8b 08 00 00 00 00 00 00 ff` and zlib's default-level deflate data
 *
 * Creates a writer of entry JSON lines.  Output is buffered; call
 * gp_tar_split_writer_finish() to flush it and write the gzip trailer.
 *
 * Returns: (transfer full): a writer; free with gp_tar_split_writer_free().
 *
 * Since: 0.1
 */
GpTarSplitWriter *
gp_tar_split_writer_new (GpWriteFunc write, gpointer user_data, GpTarSplitFlags flags)
{
  GpTarSplitWriter *w = g_new0 (GpTarSplitWriter, 1);

  w->write = write;
  w->user_data = user_data;
  w->flags = flags;
  w->line = g_string_sized_new (FLUSH_AT + 1024);
  w->seen = _gp_tar_split_seen_new ();
  w->crc = crc32 (0, NULL, 0);
  if (!(flags & GP_TAR_SPLIT_FLAGS_PLAIN))
    {
      w->zout = g_malloc (FLUSH_AT);
      if (deflateInit2 (&w->zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        g_error ("deflateInit2 failed");
      w->z_ready = TRUE;
    }
  return w;
}

/**
 * gp_tar_split_writer_free:
 * @writer: (nullable): a writer
 *
 * Frees @writer; unflushed output is dropped if it was not finished.
 */
void
gp_tar_split_writer_free (GpTarSplitWriter *writer)
{
  if (writer == NULL)
    return;
  if (writer->z_ready)
    deflateEnd (&writer->zs);
  g_string_free (writer->line, TRUE);
  g_free (writer->zout);
  g_hash_table_unref (writer->seen);
  g_free (writer);
}

/**
 * gp_tar_split_writer_get_n_entries:
 * @writer: a writer
 *
 * Returns: the number of entries added so far.
 */
guint64
gp_tar_split_writer_get_n_entries (GpTarSplitWriter *writer)
{
  return writer->position;
}

static gboolean
deflate_out (GpTarSplitWriter *w, const guint8 *data, gsize len, int flush, GError **error)
{
  w->zs.next_in = (guint8 *) data;
  w->zs.avail_in = len;
  do
    {
      w->zs.next_out = w->zout;
      w->zs.avail_out = FLUSH_AT;
      int ret = deflate (&w->zs, flush);
      if (ret == Z_STREAM_ERROR)
        g_error ("deflate failed");
      gsize n = FLUSH_AT - w->zs.avail_out;
      if (n > 0 && !w->write (w->user_data, w->zout, n, error))
        return FALSE;
    }
  while (w->zs.avail_out == 0 || w->zs.avail_in > 0);
  return TRUE;
}

static gboolean
flush_lines (GpTarSplitWriter *w, int flush, GError **error)
{
  if (w->flags & GP_TAR_SPLIT_FLAGS_PLAIN)
    {
      gboolean ok = w->line->len == 0 || w->write (w->user_data, w->line->str, w->line->len, error);
      g_string_truncate (w->line, 0);
      return ok;
    }
  if (!w->header_done)
    {
      static const guint8 hdr[10] = { 0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0x00, 0xff };
      if (!w->write (w->user_data, hdr, sizeof hdr, error))
        return FALSE;
      w->header_done = TRUE;
    }
  w->crc = crc32 (w->crc, (const guint8 *) w->line->str, w->line->len);
  w->isize += (guint32) w->line->len;
  gboolean ok = deflate_out (w, (const guint8 *) w->line->str, w->line->len, flush, error);
  g_string_truncate (w->line, 0);
  return ok;
}

static void
append_base64 (GString *s, const guint8 *p, gsize len)
{
  gsize old = s->len;
  gsize max = (len / 3 + 1) * 4 + 4;
  gint state = 0, save = 0;

  g_string_set_size (s, old + max);
  gsize n = g_base64_encode_step (p, len, FALSE, s->str + old, &state, &save);
  n += g_base64_encode_close (FALSE, s->str + old + n, &state, &save);
  g_string_set_size (s, old + n);
}

static gboolean
name_is_valid_utf8 (const char *s, gsize len)
{
  const guchar *p = (const guchar *) s;
  for (gsize i = 0; i < len;)
    {
      gunichar r;
      if (p[i] < 0x80)
        {
          i++;
          continue;
        }
      gsize n = gp_utf8_decode_go (p + i, len - i, &r);
      if (n == 1 && r == 0xFFFD)
        return FALSE;
      i += n;
    }
  return TRUE;
}

/**
 * gp_tar_split_writer_add:
 * @writer: a writer
 * @entry: the entry; its @position is ignored (the writer numbers entries
 *   from 0)
 * @error: return location for a #GError
 *
 * Writes one entry as tar-split v0.9.11's packer does: fields in the order
 * `type, name, name_raw, size, payload, position`, `name` when the name is
 * valid UTF-8 and `name_raw` (base64) otherwise, both omitted when empty,
 * `size` omitted when 0, `payload` base64 or `null`, then `\n`.  A file
 * entry whose cleaned name was already added fails with
 * %GP_DATA_ERROR_TARSPLIT ("duplicates of file paths not supported").
 *
 * Returns: %TRUE on success; %FALSE with @error set.
 *
 * Since: 0.1
 */
gboolean
gp_tar_split_writer_add (GpTarSplitWriter *writer, const GpTarSplitEntry *entry, GError **error)
{
  GpTarSplitWriter *w = writer;
  GString *s = w->line;

  g_return_val_if_fail (!w->finished && !w->failed, FALSE);

  if (entry->type == GP_TAR_SPLIT_ENTRY_FILE
      && !_gp_tar_split_seen_add (w->seen, entry->name, entry->name_len))
    {
      g_autofree char *nm = g_strndup (entry->name, entry->name_len);
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_TARSPLIT,
                   "duplicates of file paths not supported: \"%s\"", nm);
      return FALSE;
    }

  g_string_append_printf (s, "{\"type\":%d", (int) entry->type);
  if (entry->name_len > 0)
    {
      if (name_is_valid_utf8 (entry->name, entry->name_len))
        {
          g_string_append (s, ",\"name\":");
          gp_json_append_string (s, entry->name, entry->name_len);
        }
      else
        {
          g_string_append (s, ",\"name_raw\":\"");
          append_base64 (s, (const guint8 *) entry->name, entry->name_len);
          g_string_append_c (s, '"');
        }
    }
  if (entry->size != 0)
    g_string_append_printf (s, ",\"size\":%" G_GINT64_FORMAT, entry->size);
  if (entry->payload == NULL)
    g_string_append (s, ",\"payload\":null");
  else
    {
      g_string_append (s, ",\"payload\":\"");
      append_base64 (s, entry->payload, entry->payload_len);
      g_string_append_c (s, '"');
    }
  g_string_append_printf (s, ",\"position\":%" G_GUINT64_FORMAT "}\n", w->position);
  w->position++;

  if (s->len >= FLUSH_AT && !flush_lines (w, Z_NO_FLUSH, error))
    {
      w->failed = TRUE;
      return FALSE;
    }
  return TRUE;
}

/**
 * gp_tar_split_writer_finish:
 * @writer: a writer
 * @error: return location for a #GError
 *
 * Writes out everything buffered and, for gzip, the end of the deflate
 * stream and the trailer (CRC-32, length).  The writer accepts no more
 * entries afterwards.
 *
 * Returns: %TRUE on success; %FALSE with @error set.
 *
 * Since: 0.1
 */
gboolean
gp_tar_split_writer_finish (GpTarSplitWriter *writer, GError **error)
{
  GpTarSplitWriter *w = writer;

  g_return_val_if_fail (!w->finished && !w->failed, FALSE);
  w->finished = TRUE;
  if (!flush_lines (w, Z_FINISH, error))
    return FALSE;
  if (w->flags & GP_TAR_SPLIT_FLAGS_PLAIN)
    return TRUE;
  guint8 trailer[8];
  for (int i = 0; i < 4; i++)
    {
      trailer[i] = (w->crc >> (8 * i)) & 0xff;
      trailer[4 + i] = (w->isize >> (8 * i)) & 0xff;
    }
  return w->write (w->user_data, trailer, sizeof trailer, error);
}
