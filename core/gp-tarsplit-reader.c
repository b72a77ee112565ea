/* graphpipe - tar-split entry stream reader (FORMATS.md §3.1, §3.2). */
#include "config.h"

#include "gp-tarsplit.h"
#include "gp-tarsplit-private.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "gp-error.h"
#include "gp-json.h"

#define IN_CHUNK (64 * 1024)
#define OUT_CHUNK (64 * 1024)
#define MAX_DEPTH 512

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

/* ---- parsing one complete object held in memory ---- */

typedef struct {
  const guint8 *p, *end;
  const char *err;   /* static message on failure */
} Parse;

static void
skip_ws (Parse *ps)
{
  while (ps->p < ps->end && is_ws (*ps->p))
    ps->p++;
}

static int
hexval (guint8 c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

static gboolean
get_u4 (const guint8 *p, const guint8 *end, gunichar *out)
{
  if (end - p < 6 || p[0] != '\\' || p[1] != 'u')
    return FALSE;
  gunichar v = 0;
  for (int i = 2; i < 6; i++)
    {
      int h = hexval (p[i]);
      if (h < 0)
        return FALSE;
      v = v * 16 + h;
    }
  *out = v;
  return TRUE;
}

static void
append_rune (GByteArray *out, gunichar r)
{
  char tmp[6];
  int n = g_unichar_to_utf8 (r, tmp);
  g_byte_array_append (out, (const guint8 *) tmp, n);
}

/* Parses a JSON string at ps->p (on the opening quote) into @out (may be
 * NULL to only validate), decoding like Go's encoding/json: invalid UTF-8
 * bytes and unpaired surrogates become U+FFFD. */
static gboolean
parse_string (Parse *ps, GByteArray *out)
{
  if (ps->p >= ps->end || *ps->p != '"')
    {
      ps->err = "expected a string";
      return FALSE;
    }
  ps->p++;
  if (out)
    g_byte_array_set_size (out, 0);
  while (ps->p < ps->end)
    {
      guint8 c = *ps->p;
      if (c == '"')
        {
          ps->p++;
          return TRUE;
        }
      if (c < 0x20)
        {
          ps->err = "control character in string";
          return FALSE;
        }
      if (c == '\\')
        {
          if (ps->end - ps->p < 2)
            break;
          guint8 e = ps->p[1];
          char simple = 0;
          switch (e)
            {
            case '"': simple = '"'; break;
            case '\\': simple = '\\'; break;
            case '/': simple = '/'; break;
            case 'b': simple = '\b'; break;
            case 'f': simple = '\f'; break;
            case 'n': simple = '\n'; break;
            case 'r': simple = '\r'; break;
            case 't': simple = '\t'; break;
            case 'u':
              {
                gunichar u;
                if (!get_u4 (ps->p, ps->end, &u))
                  {
                    ps->err = "invalid \\u escape";
                    return FALSE;
                  }
                ps->p += 6;
                if (u >= 0xD800 && u < 0xE000)
                  {
                    gunichar u2;
                    if (u < 0xDC00 && get_u4 (ps->p, ps->end, &u2) && u2 >= 0xDC00 && u2 < 0xE000)
                      {
                        ps->p += 6;
                        u = 0x10000 + ((u - 0xD800) << 10) + (u2 - 0xDC00);
                      }
                    else
                      u = 0xFFFD;
                  }
                if (out)
                  append_rune (out, u);
                continue;
              }
            default:
              ps->err = "invalid escape in string";
              return FALSE;
            }
          if (out)
            g_byte_array_append (out, (const guint8 *) &simple, 1);
          ps->p += 2;
          continue;
        }
      if (c < 0x80)
        {
          if (out)
            g_byte_array_append (out, &c, 1);
          ps->p++;
          continue;
        }
      gunichar rune;
      gsize n = gp_utf8_decode_go (ps->p, ps->end - ps->p, &rune);
      if (out)
        {
          if (n == 1 && rune == 0xFFFD)
            append_rune (out, 0xFFFD);
          else
            g_byte_array_append (out, ps->p, n);
        }
      ps->p += n;
    }
  ps->err = "unterminated string";
  return FALSE;
}

/* Validates a JSON number; returns its extent. */
static gboolean
scan_number (Parse *ps, const guint8 **out_start, gsize *out_len, gboolean *out_is_int)
{
  const guint8 *s = ps->p, *p = ps->p, *end = ps->end;
  gboolean is_int = TRUE;

  if (p < end && *p == '-')
    p++;
  if (p >= end)
    goto bad;
  if (*p == '0')
    p++;
  else if (*p >= '1' && *p <= '9')
    while (p < end && g_ascii_isdigit (*p))
      p++;
  else
    goto bad;
  if (p < end && *p == '.')
    {
      is_int = FALSE;
      p++;
      if (p >= end || !g_ascii_isdigit (*p))
        goto bad;
      while (p < end && g_ascii_isdigit (*p))
        p++;
    }
  if (p < end && (*p == 'e' || *p == 'E'))
    {
      is_int = FALSE;
      p++;
      if (p < end && (*p == '+' || *p == '-'))
        p++;
      if (p >= end || !g_ascii_isdigit (*p))
        goto bad;
      while (p < end && g_ascii_isdigit (*p))
        p++;
    }
  ps->p = p;
  *out_start = s;
  *out_len = p - s;
  *out_is_int = is_int;
  return TRUE;
bad:
  ps->err = "invalid number";
  return FALSE;
}

static gboolean
parse_literal (Parse *ps, const char *lit)
{
  gsize n = strlen (lit);
  if ((gsize) (ps->end - ps->p) < n || memcmp (ps->p, lit, n) != 0)
    {
      ps->err = "invalid literal";
      return FALSE;
    }
  ps->p += n;
  return TRUE;
}

static gboolean
skip_value (Parse *ps, int depth)
{
  skip_ws (ps);
  if (ps->p >= ps->end)
    {
      ps->err = "unexpected end of object";
      return FALSE;
    }
  if (depth > MAX_DEPTH)
    {
      ps->err = "nested too deeply";
      return FALSE;
    }
  switch (*ps->p)
    {
    case '"':
      return parse_string (ps, NULL);
    case 't':
      return parse_literal (ps, "true");
    case 'f':
      return parse_literal (ps, "false");
    case 'n':
      return parse_literal (ps, "null");
    case '{':
    case '[':
      {
        guint8 close = *ps->p == '{' ? '}' : ']';
        gboolean obj = close == '}';
        ps->p++;
        skip_ws (ps);
        if (ps->p < ps->end && *ps->p == close)
          {
            ps->p++;
            return TRUE;
          }
        for (;;)
          {
            if (obj)
              {
                skip_ws (ps);
                if (!parse_string (ps, NULL))
                  return FALSE;
                skip_ws (ps);
                if (ps->p >= ps->end || *ps->p != ':')
                  {
                    ps->err = "expected ':'";
                    return FALSE;
                  }
                ps->p++;
              }
            if (!skip_value (ps, depth + 1))
              return FALSE;
            skip_ws (ps);
            if (ps->p < ps->end && *ps->p == ',')
              {
                ps->p++;
                continue;
              }
            if (ps->p < ps->end && *ps->p == close)
              {
                ps->p++;
                return TRUE;
              }
            ps->err = "expected ',' or closing bracket";
            return FALSE;
          }
      }
    default:
      {
        const guint8 *s;
        gsize len;
        gboolean is_int;
        return scan_number (ps, &s, &len, &is_int);
      }
    }
}

/* Go's case-insensitive field match for the ASCII lowercase @field,
 * including the Unicode folds of 's' (U+017F) and 'k' (U+212A). */
static gboolean
key_matches (const guint8 *key, gsize len, const char *field)
{
  gsize i = 0;
  for (const char *f = field; *f; f++)
    {
      if (i >= len)
        return FALSE;
      if (key[i] < 0x80)
        {
          if (g_ascii_tolower (key[i]) != *f)
            return FALSE;
          i++;
          continue;
        }
      gunichar r;
      gsize n = gp_utf8_decode_go (key + i, len - i, &r);
      if (!((*f == 's' && r == 0x17F) || (*f == 'k' && r == 0x212A)))
        return FALSE;
      i += n;
    }
  return i == len;
}

/* Decodes an integer field value (number or null) like Go's decoding into
 * an int64: only integer literals that fit. */
static gboolean
parse_int_field (Parse *ps, gint64 *out)
{
  if (ps->p < ps->end && *ps->p == 'n')
    return parse_literal (ps, "null");
  if (ps->p >= ps->end || !(*ps->p == '-' || g_ascii_isdigit (*ps->p)))
    {
      ps->err = "expected a number";
      return FALSE;
    }
  const guint8 *s;
  gsize len;
  gboolean is_int;
  if (!scan_number (ps, &s, &len, &is_int))
    return FALSE;
  if (!is_int || len > 20)
    {
      ps->err = "number is not a 64-bit integer";
      return FALSE;
    }
  char tmp[24];
  memcpy (tmp, s, len);
  tmp[len] = '\0';
  gint64 v;
  if (!g_ascii_string_to_signed (tmp, 10, G_MININT64, G_MAXINT64, &v, NULL))
    {
      ps->err = "number is not a 64-bit integer";
      return FALSE;
    }
  *out = v;
  return TRUE;
}

static int
b64val (guint8 c)
{
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+')
    return 62;
  if (c == '/')
    return 63;
  return -1;
}

/* Standard base64 with padding, in place (output is never longer than the
 * input); '\r' and '\n' are skipped like Go 1.5 does. */
static gboolean
base64_decode_inplace (GByteArray *a)
{
  guint8 *d = a->data;
  gsize n = a->len, w = 0, q = 0, pad = 0;
  guint32 acc = 0;

  for (gsize i = 0; i < n; i++)
    {
      guint8 c = d[i];
      if (c == '\r' || c == '\n')
        continue;
      if (c == '=')
        {
          if (q < 2 || pad + q >= 4)
            return FALSE;
          pad++;
          if (q + pad == 4)
            {
              /* flush the partial quantum */
              acc <<= 6 * pad;
              d[w++] = acc >> 16;
              if (q == 3)
                d[w++] = (acc >> 8) & 0xff;
              q = 0;
              acc = 0;
              /* only newlines may follow */
              for (i++; i < n; i++)
                if (d[i] != '\r' && d[i] != '\n')
                  return FALSE;
              g_byte_array_set_size (a, w);
              return TRUE;
            }
          continue;
        }
      if (pad > 0)
        return FALSE;
      int v = b64val (c);
      if (v < 0)
        return FALSE;
      acc = (acc << 6) | v;
      if (++q == 4)
        {
          d[w++] = acc >> 16;
          d[w++] = (acc >> 8) & 0xff;
          d[w++] = acc & 0xff;
          q = 0;
          acc = 0;
        }
    }
  if (q != 0 || pad != 0)
    return FALSE;
  g_byte_array_set_size (a, w);
  return TRUE;
}

/* A string field decoded as Go's []byte (base64) or null. */
static gboolean
parse_bytes_field (Parse *ps, GByteArray *out, gboolean *is_null)
{
  if (ps->p < ps->end && *ps->p == 'n')
    {
      if (!parse_literal (ps, "null"))
        return FALSE;
      g_byte_array_set_size (out, 0);
      *is_null = TRUE;
      return TRUE;
    }
  if (!parse_string (ps, out))
    return FALSE;
  if (!base64_decode_inplace (out))
    {
      ps->err = "invalid base64 data";
      return FALSE;
    }
  *is_null = FALSE;
  return TRUE;
}

typedef struct {
  gint64 type, size, position;
  gboolean name_raw_null;
} Fields;

static gboolean
parse_entry (GpTarSplitReader *r, Parse *ps, Fields *f)
{
  gboolean dummy;
  g_autoptr(GByteArray) key = g_byte_array_new ();

  skip_ws (ps);
  if (ps->p >= ps->end || *ps->p != '{')
    {
      ps->err = "expected a JSON object";
      return FALSE;
    }
  ps->p++;
  skip_ws (ps);
  if (ps->p < ps->end && *ps->p == '}')
    {
      ps->p++;
      return TRUE;
    }
  for (;;)
    {
      skip_ws (ps);
      if (!parse_string (ps, key))
        return FALSE;
      skip_ws (ps);
      if (ps->p >= ps->end || *ps->p != ':')
        {
          ps->err = "expected ':'";
          return FALSE;
        }
      ps->p++;
      skip_ws (ps);
      gboolean ok;
      if (key_matches (key->data, key->len, "type"))
        ok = parse_int_field (ps, &f->type);
      else if (key_matches (key->data, key->len, "name"))
        {
          if (ps->p < ps->end && *ps->p == 'n')
            ok = parse_literal (ps, "null");   /* null leaves a string alone */
          else
            ok = parse_string (ps, r->name);
        }
      else if (key_matches (key->data, key->len, "name_raw"))
        ok = parse_bytes_field (ps, r->name_raw, &dummy);
      else if (key_matches (key->data, key->len, "size"))
        ok = parse_int_field (ps, &f->size);
      else if (key_matches (key->data, key->len, "payload"))
        ok = parse_bytes_field (ps, r->payload, &r->payload_null);
      else if (key_matches (key->data, key->len, "position"))
        ok = parse_int_field (ps, &f->position);
      else
        ok = skip_value (ps, 1);
      if (!ok)
        return FALSE;
      skip_ws (ps);
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
      while (r->scan < avail)
        {
          guint8 c = b[r->scan++];
          if (r->in_str)
            {
              if (r->esc)
                r->esc = FALSE;
              else if (c == '\\')
                r->esc = TRUE;
              else if (c == '"')
                r->in_str = FALSE;
              continue;
            }
          if (c == '"')
            r->in_str = TRUE;
          else if (c == '{' || c == '[')
            {
              if (++r->depth > MAX_DEPTH)
                {
                  g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_TARSPLIT,
                               "%s: entry %" G_GUINT64_FORMAT ": invalid JSON: nested too deeply",
                               r->display_name, r->index);
                  return FALSE;
                }
            }
          else if (c == '}' || c == ']')
            {
              if (--r->depth == 0)
                {
                  *out_len = r->scan;
                  return TRUE;
                }
            }
        }
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
