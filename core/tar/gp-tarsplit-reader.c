/* graphpipe - tar-split entry stream reader (FORMATS.md §3.1, §3.2). */
#include "config.h"

#include "gp-tarsplit.h"
#include "gp-tarsplit-private.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "gp-error.h"

#define IN_CHUNK (64 * 1024)
#define OUT_CHUNK (64 * 1024)


struct _GpTarSplitReader {
  int fd;
  char *display_name;
  GpTarSplitFlags flags;

  /* gzip */
  z_stream zs;
  gboolean z_ready;
  gboolean member_end;   /* inflate reported the end of a member */
  gboolean any_input;
  gboolean in_eof;
  guint8 *in;

  /* decompressed bytes: [start, end) of buf are unparsed */
  guint8 *buf;
  gsize cap, start, end;
  gboolean out_eof;

  /* scanner state for the object being delimited, relative to start */
  gsize scan;
  int depth;
  gboolean in_str, esc;

  guint64 index;
  gint64 size_sum;
  GHashTable *seen;

  GByteArray *name, *name_raw, *payload;
  gboolean payload_null;
  gsize payload_len;  /* with GP_TAR_SPLIT_FLAGS_SIZES_ONLY */
  GpTarSplitEntry entry;
};

/**
 * gp_tar_split_reader_new:
 * @fd: a readable file descriptor, borrowed (the caller closes it after
 *   freeing the reader)
 * @display_name: the file's name for error messages (e.g.
 *   `graph/<id>/tar-data.json.gz`)
 * @flags: %GP_TAR_SPLIT_FLAGS_PLAIN if @fd holds the uncompressed JSON
 *   lines, else gzip (one or more members)
 *
 * Creates a reader.  Nothing is read until gp_tar_split_reader_next().
 * Memory use is bounded by %GP_TAR_SPLIT_MAX_LINE plus fixed buffers,
 * whatever the input; the duplicate-path table grows with the number of
 * file entries.
 *
 * Returns: (transfer full): a reader; free with gp_tar_split_reader_free().
 *
 * Since: 0.1
 */
GpTarSplitReader *
gp_tar_split_reader_new (int fd, const char *display_name, GpTarSplitFlags flags)
{
  GpTarSplitReader *r = g_new0 (GpTarSplitReader, 1);

  r->fd = fd;
  r->display_name = g_strdup (display_name ? display_name : "tar-split stream");
  r->flags = flags;
  r->in = g_malloc (IN_CHUNK);
  r->cap = 2 * OUT_CHUNK;
  r->buf = g_malloc (r->cap);
  r->seen = _gp_tar_split_seen_new ();
  r->name = g_byte_array_new ();
  r->name_raw = g_byte_array_new ();
  r->payload = g_byte_array_new ();
  return r;
}

/**
 * gp_tar_split_reader_free:
 * @reader: (nullable): a reader
 *
 * Frees @reader (not its file descriptor).
 */
void
gp_tar_split_reader_free (GpTarSplitReader *reader)
{
  if (reader == NULL)
    return;
  if (reader->z_ready)
    inflateEnd (&reader->zs);
  g_free (reader->display_name);
  g_free (reader->in);
  g_free (reader->buf);
  g_hash_table_unref (reader->seen);
  g_byte_array_unref (reader->name);
  g_byte_array_unref (reader->name_raw);
  g_byte_array_unref (reader->payload);
  g_free (reader);
}

/**
 * gp_tar_split_reader_get_size_sum:
 * @reader: a reader
 *
 * Returns: the sum of the `size` of every entry read so far, including
 *   entries of unknown type that were skipped (Docker's layer size, §3.6).
 */
gint64
gp_tar_split_reader_get_size_sum (GpTarSplitReader *reader)
{
  return reader->size_sum;
}

/**
 * gp_tar_split_reader_get_n_entries:
 * @reader: a reader
 *
 * Returns: the number of entry objects read so far (skipped ones included).
 */
guint64
gp_tar_split_reader_get_n_entries (GpTarSplitReader *reader)
{
  return reader->index;
}

static gboolean
read_in (GpTarSplitReader *r, guint8 *dst, gsize len, gsize *out_n, GError **error)
{
  for (;;)
    {
      gssize n = read (r->fd, dst, len);
      if (n >= 0)
        {
          *out_n = n;
          return TRUE;
        }
      if (errno == EINTR)
        continue;
      int e = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e),
                   "%s: read failed: %s", r->display_name, g_strerror (e));
      return FALSE;
    }
}

/* Appends decompressed bytes at buf[end..cap); sets out_eof at the end. */
static gboolean
fill (GpTarSplitReader *r, GError **error)
{
  gsize room = r->cap - r->end;

  g_assert (room > 0);
  if (r->flags & GP_TAR_SPLIT_FLAGS_PLAIN)
    {
      gsize n;
      if (!read_in (r, r->buf + r->end, room, &n, error))
        return FALSE;
      if (n == 0)
        r->out_eof = TRUE;
      r->end += n;
      return TRUE;
    }

  if (!r->z_ready)
    {
      memset (&r->zs, 0, sizeof r->zs);
      if (inflateInit2 (&r->zs, 15 + 16) != Z_OK)
        g_error ("inflateInit2 failed");
      r->z_ready = TRUE;
    }

  for (;;)
    {
      if (r->zs.avail_in == 0 && !r->in_eof)
        {
          gsize n;
          if (!read_in (r, r->in, IN_CHUNK, &n, error))
            return FALSE;
          if (n == 0)
            r->in_eof = TRUE;
          else
            r->any_input = TRUE;
          r->zs.next_in = r->in;
          r->zs.avail_in = n;
        }
      if (r->member_end)
        {
          if (r->zs.avail_in == 0 && r->in_eof)
            {
              r->out_eof = TRUE;
              return TRUE;
            }
          if (r->zs.avail_in == 0)
            continue;
          /* another gzip member follows */
          inflateReset (&r->zs);
          r->member_end = FALSE;
        }
      if (r->zs.avail_in == 0 && r->in_eof)
        {
          if (!r->any_input)
            g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_GZIP,
                         "%s: not in gzip format: the file is empty", r->display_name);
          else
            g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_GZIP,
                         "%s: truncated gzip stream (unexpected end of file)", r->display_name);
          return FALSE;
        }

      r->zs.next_out = r->buf + r->end;
      r->zs.avail_out = room;
      int ret = inflate (&r->zs, Z_NO_FLUSH);
      gsize got = room - r->zs.avail_out;
      r->end += got;
      if (ret == Z_STREAM_END)
        r->member_end = TRUE;
      else if (ret != Z_OK && ret != Z_BUF_ERROR)
        {
          g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_GZIP,
                       "%s: corrupt gzip stream: %s", r->display_name,
                       r->zs.msg ? r->zs.msg : "invalid data");
          return FALSE;
        }
      if (got > 0)
        return TRUE;
    }
}

/* Makes room behind end: compacts, then grows up to the line limit. */
static gboolean
make_room (GpTarSplitReader *r, GError **error)
{
  if (r->start > 0)
    {
      memmove (r->buf, r->buf + r->start, r->end - r->start);
      r->end -= r->start;
      r->start = 0;
    }
  if (r->cap - r->end >= OUT_CHUNK / 2)
    return TRUE;
  if (r->end >= GP_TAR_SPLIT_MAX_LINE)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_TARSPLIT,
                   "%s: entry %" G_GUINT64_FORMAT ": JSON object longer than %d bytes",
                   r->display_name, r->index, GP_TAR_SPLIT_MAX_LINE);
      return FALSE;
    }
  r->cap = MIN (r->cap * 2, (gsize) GP_TAR_SPLIT_MAX_LINE + OUT_CHUNK);
  r->buf = g_realloc (r->buf, r->cap);
  return TRUE;
}

static inline gboolean
is_ws (guint8 c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

typedef struct {
  gint64 type, size, position;
} Fields;

static gboolean
parse_entry (GpTarSplitReader *r, Parse *ps, Fields *f)
{
  gboolean dummy;
  g_autoptr(GByteArray) key = g_byte_array_new ();

  _gp_ts_json_skip_ws (ps);
  if (ps->p >= ps->end || *ps->p != '{')
    {
      ps->err = "expected a JSON object";
      return FALSE;
    }
  ps->p++;
  _gp_ts_json_skip_ws (ps);
  if (ps->p < ps->end && *ps->p == '}')
    {
      ps->p++;
      return TRUE;
    }
  for (;;)
    {
      if (!_gp_ts_json_parse_key (ps, key))
        return FALSE;
      _gp_ts_json_skip_ws (ps);
      gboolean ok;
      if (_gp_ts_json_key_matches (key->data, key->len, "type"))
        ok = _gp_ts_json_parse_int_field (ps, &f->type);
      else if ((r->flags & GP_TAR_SPLIT_FLAGS_SIZES_ONLY)
               && (_gp_ts_json_key_matches (key->data, key->len, "name")
                   || _gp_ts_json_key_matches (key->data, key->len, "name_raw")))
        ok = _gp_ts_json_skip_value (ps, 1);
      else if ((r->flags & GP_TAR_SPLIT_FLAGS_SIZES_ONLY)
               && _gp_ts_json_key_matches (key->data, key->len, "payload"))
        ok = _gp_ts_json_bytes_field_len (ps, r->payload, &r->payload_len, &r->payload_null);
      else if (_gp_ts_json_key_matches (key->data, key->len, "name"))
        {
          if (ps->p < ps->end && *ps->p == 'n')
            ok = _gp_ts_json_parse_literal (ps, "null");   /* null leaves a string alone */
          else
            ok = _gp_ts_json_parse_string (ps, r->name);
        }
      else if (_gp_ts_json_key_matches (key->data, key->len, "name_raw"))
        ok = _gp_ts_json_parse_bytes_field (ps, r->name_raw, &dummy);
      else if (_gp_ts_json_key_matches (key->data, key->len, "size"))
        ok = _gp_ts_json_parse_int_field (ps, &f->size);
      else if (_gp_ts_json_key_matches (key->data, key->len, "payload"))
        ok = _gp_ts_json_parse_bytes_field (ps, r->payload, &r->payload_null);
      else if (_gp_ts_json_key_matches (key->data, key->len, "position"))
        ok = _gp_ts_json_parse_int_field (ps, &f->position);
      else
        ok = _gp_ts_json_skip_value (ps, 1);
      if (!ok)
        return FALSE;
      _gp_ts_json_skip_ws (ps);
      if (ps->p < ps->end && *ps->p == ',')
        {
          ps->p++;
          continue;
        }
      if (ps->p < ps->end && *ps->p == '}')
        {
          ps->p++;
          return TRUE;
        }
      ps->err = "expected ',' or '}'";
      return FALSE;
    }
}

/* Delimits the next top-level object in the buffer, reading as needed.
 * Returns TRUE with *out_len = 0 at a clean end of stream. */
static gboolean
next_object (GpTarSplitReader *r, gsize *out_len, GError **error)
{
  /* skip whitespace between objects */
  for (;;)
    {
      while (r->start < r->end && is_ws (r->buf[r->start]))
        r->start++;
      if (r->start < r->end)
        break;
      r->start = r->end = 0;
      if (r->out_eof)
        {
          *out_len = 0;
          return TRUE;
        }
      if (!fill (r, error))
        return FALSE;
    }
  if (r->buf[r->start] != '{')
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_TARSPLIT,
                   "%s: entry %" G_GUINT64_FORMAT ": invalid JSON: expected an object, found '%c'",
                   r->display_name, r->index,
                   g_ascii_isprint (r->buf[r->start]) ? r->buf[r->start] : '?');
      return FALSE;
    }

  r->scan = 0;
  r->depth = 0;
  r->in_str = r->esc = FALSE;
  for (;;)
    {
      const guint8 *b = r->buf + r->start;
      gsize avail = r->end - r->start;
      /* the state in locals while scanning (stores through r would alias
       * the bytes), back in r when more input is needed */
      gsize scan = r->scan;
      int depth = r->depth;
      gboolean in_str = r->in_str, esc = r->esc;
      while (scan < avail)
        {
          if (in_str)
            {
              if (esc)
                {
                  esc = FALSE;
                  scan++;
                  continue;
                }
              /* the run up to the next quote or backslash */
              while (scan < avail && b[scan] != '"' && b[scan] != '\\')
                scan++;
              if (scan == avail)
                break;
              if (b[scan++] == '\\')
                esc = TRUE;
              else
                in_str = FALSE;
              continue;
            }
          guint8 c = b[scan++];
          if (c == '"')
            in_str = TRUE;
          else if (c == '{' || c == '[')
            {
              if (++depth > _GP_TS_JSON_MAX_DEPTH)
                {
                  g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_TARSPLIT,
                               "%s: entry %" G_GUINT64_FORMAT ": invalid JSON: nested too deeply",
                               r->display_name, r->index);
                  return FALSE;
                }
            }
          else if (c == '}' || c == ']')
            {
              if (--depth == 0)
                {
                  *out_len = scan;
                  return TRUE;
                }
            }
        }
      r->scan = scan;
      r->depth = depth;
      r->in_str = in_str;
      r->esc = esc;
      if (r->out_eof)
        {
          g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_TARSPLIT,
                       "%s: entry %" G_GUINT64_FORMAT ": invalid JSON: unexpected end of data",
                       r->display_name, r->index);
          return FALSE;
        }
      if (!make_room (r, error) || !fill (r, error))
        return FALSE;
    }
}

/**
 * gp_tar_split_reader_next:
 * @reader: a reader
 * @out_entry: (out) (transfer none): the next entry, or %NULL at the end of
 *   the stream; valid until the next call or gp_tar_split_reader_free()
 * @error: return location for a #GError
 *
 * Reads the next file or segment entry.  Entries of other types are
 * skipped (their size still counts in the size sum).  Keys are matched
 * case-insensitively as Go does, unknown keys are ignored, and both the
 * omitempty form and the 1.8.0–1.8.2 `"name":"","size":0` form are read.
 *
 * Errors: %GP_DATA_ERROR_GZIP for a corrupt, truncated or empty gzip
 * stream; %GP_DATA_ERROR_TARSPLIT for invalid JSON, a wrong value type, a
 * position that is not the entry's index, or a duplicate file path (§3.4);
 * %GP_DATA_ERROR_SIZE for a negative size, one above 2^62, or a size sum
 * that overflows.  Messages name the file and the entry index.
 *
 * Returns: %TRUE on success (including the end of the stream), %FALSE with
 *   @error set.
 *
 * Since: 0.1
 */
gboolean
gp_tar_split_reader_next (GpTarSplitReader *reader, const GpTarSplitEntry **out_entry, GError **error)
{
  GpTarSplitReader *r = reader;

  for (;;)
    {
      gsize len;
      if (!next_object (r, &len, error))
        return FALSE;
      if (len == 0)
        {
          *out_entry = NULL;
          return TRUE;
        }

      Fields f = { 0 };
      g_byte_array_set_size (r->name, 0);
      g_byte_array_set_size (r->name_raw, 0);
      g_byte_array_set_size (r->payload, 0);
      r->payload_null = TRUE;
      r->payload_len = 0;
      Parse ps = { r->buf + r->start, r->buf + r->start + len, NULL };
      if (!parse_entry (r, &ps, &f))
        {
          g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_TARSPLIT,
                       "%s: entry %" G_GUINT64_FORMAT ": invalid JSON at byte %" G_GSIZE_FORMAT " of the object: %s",
                       r->display_name, r->index, (gsize) (ps.p - (r->buf + r->start)), ps.err);
          return FALSE;
        }
      r->start += len;
      guint64 idx = r->index++;

      if (f.position < 0 || (guint64) f.position != idx)
        {
          g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_TARSPLIT,
                       "%s: entry %" G_GUINT64_FORMAT ": position %" G_GINT64_FORMAT " out of order",
                       r->display_name, idx, f.position);
          return FALSE;
        }
      if (f.size < 0 || f.size > GP_TAR_SPLIT_MAX_SIZE)
        {
          g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_SIZE,
                       "%s: entry %" G_GUINT64_FORMAT ": invalid size %" G_GINT64_FORMAT,
                       r->display_name, idx, f.size);
          return FALSE;
        }
      if (r->size_sum > G_MAXINT64 - f.size)
        {
          g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_SIZE,
                       "%s: entry %" G_GUINT64_FORMAT ": sum of sizes overflows",
                       r->display_name, idx);
          return FALSE;
        }
      r->size_sum += f.size;

      if (f.type != GP_TAR_SPLIT_ENTRY_FILE && f.type != GP_TAR_SPLIT_ENTRY_SEGMENT)
        continue;

      /* GetName(): name_raw when non-empty, else name */
      GByteArray *nm = r->name_raw->len > 0 ? r->name_raw : r->name;
      if (r->flags & GP_TAR_SPLIT_FLAGS_SIZES_ONLY)
        {
          r->entry.type = f.type;
          r->entry.name = "";
          r->entry.name_len = 0;
          r->entry.size = f.size;
          r->entry.payload = NULL;
          r->entry.payload_len = r->payload_null ? 0 : r->payload_len;
          r->entry.position = f.position;
          *out_entry = &r->entry;
          return TRUE;
        }
      if (f.type == GP_TAR_SPLIT_ENTRY_FILE && !_gp_tar_split_seen_add (r->seen, (const char *) nm->data, nm->len))
        {
          g_autofree char *shown = g_strndup ((const char *) nm->data, nm->len);
          g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_TARSPLIT,
                       "%s: entry %" G_GUINT64_FORMAT ": duplicates of file paths not supported: \"%s\"",
                       r->display_name, idx, shown);
          return FALSE;
        }
      /* NUL-terminate without changing len */
      g_byte_array_append (nm, (const guint8 *) "", 1);
      g_byte_array_set_size (nm, nm->len - 1);
      g_byte_array_append (r->payload, (const guint8 *) "", 1);
      g_byte_array_set_size (r->payload, r->payload->len - 1);

      r->entry.type = f.type;
      r->entry.name = (const char *) nm->data;
      r->entry.name_len = nm->len;
      r->entry.size = f.size;
      r->entry.payload = r->payload_null ? NULL : r->payload->data;
      r->entry.payload_len = r->payload_null ? 0 : r->payload->len;
      r->entry.position = f.position;
      *out_entry = &r->entry;
      return TRUE;
    }
}
